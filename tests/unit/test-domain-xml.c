/*
 * Unit tests of domain XML (domain_xml_* in conf/domain_conf.h). Golden files under
 * tests/data/domain/: each NAME.xml must format byte-exactly as NAME.out.xml, which must
 * parse back to an equal def and format to itself. Every bad-*.xml must be refused with
 * CONFIG_INVALID (or INVALID_NAME), a message holding the fragment of the table below and
 * the line of the offending element. Then the details: memory units, defaults, warnings,
 * generated UUIDs and MACs, device documents, embedded <domain> elements, size limits.
 */
#include "check-error.h"
#include "check.h"
#include "check-data.h"
#include "conf/domain_conf.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A golden file of tests/data/domain/ (its length in *len), or NULL. */
static char *read_domain_file(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "domain/%s", name);
    char *text = read_data(rel);
    if (!text)
        fprintf(stderr, "cannot open tests/data/%s\n", rel);
    else if (len)
        *len = strlen(text);
    return text;
}

static domain_def *parse_str(const char *xml, domain_warnings *w)
{
    xend_error_reset();
    return domain_xml_parse(xml, strlen(xml), w);
}

static char *format_def(const domain_def *def)
{
    xbuf b = XBUF_INIT;
    domain_xml_format(def, &b, 0);
    return xbuf_steal(&b, NULL);
}

static void test_golden(const char *name, size_t want_warnings)
{
    char in_name[128], out_name[128];
    snprintf(in_name, sizeof(in_name), "%s.xml", name);
    snprintf(out_name, sizeof(out_name), "%s.out.xml", name);
    size_t in_len, out_len;
    char *in = read_domain_file(in_name, &in_len), *want = read_domain_file(out_name, &out_len);
    CHECK_MSG(in && want, "%s: data files missing", name);
    if (!in || !want) {
        free(in);
        free(want);
        return;
    }
    domain_warnings w = {NULL, 0};
    xend_error_reset();
    domain_def *def = domain_xml_parse(in, in_len, &w);
    CHECK_MSG(def != NULL, "%s: %s", name, xend_error_last()->message);
    CHECK_MSG(w.n == want_warnings, "%s: %zu warnings, expected %zu", name, w.n, want_warnings);
    domain_warnings_clear(&w);
    if (def) {
        char *out = format_def(def);
        CHECK_MSG(strcmp(out, want) == 0, "%s: output differs from %s:\n%s", name, out_name, out);
        domain_def *again = domain_xml_parse(out, strlen(out), &w);
        CHECK_MSG(again != NULL, "%s: formatted output does not parse: %s", name,
                  xend_error_last()->message);
        CHECK_MSG(domain_def_equal(def, again), "%s: parse(format(def)) != def", name);
        /* The canonical form drops what xend ignores: only "kept" warnings remain. */
        for (size_t i = 0; i < w.n; i++)
            CHECK_MSG(check_contains(w.items[i], "is kept but not used by xend"),
                      "%s: re-parse warns \"%s\"", name, w.items[i]);
        domain_warnings_clear(&w);
        if (again) {
            char *out2 = format_def(again);
            CHECK_MSG(strcmp(out, out2) == 0, "%s: format is not a fixed point", name);
            free(out2);
        }
        /* A copy formats the same. */
        domain_def *copy = domain_def_copy(def);
        char *out3 = format_def(copy);
        CHECK_STREQ(out3, out);
        free(out3);
        domain_def_free(copy);
        domain_def_free(again);
        free(out);
    }
    domain_def_free(def);
    free(in);
    free(want);
}

static void test_bad_files(void)
{
    static const struct {
        const char *file, *fragment;
        unsigned line;
        int code;
    } cases[] = {
        {"hostdev", "<hostdev> (device passthrough) cannot be honoured safely", 5, 0},
        {"qemu-commandline", "<qemu:commandline> (raw QEMU configuration) cannot be honoured", 4, 0},
        {"disk-network", "<disk type='network'> (network storage) cannot be honoured safely", 5, 0},
        {"disk-volume", "<disk type='volume'> (a storage pool volume) cannot be honoured", 5, 0},
        {"disk-nvme", "<disk type='nvme'> (NVMe device passthrough) cannot be honoured", 5, 0},
        {"disk-dir", "<disk type='dir'> (a host directory as a disk) cannot be honoured", 5, 0},
        {"interface-direct", "<interface type='direct'> (macvtap on a host interface) cannot", 5, 0},
        {"interface-hostdev", "<interface type='hostdev'> (device passthrough) cannot", 5, 0},
        {"interface-vhostuser", "<interface type='vhostuser'> (a vhost-user socket) cannot", 5, 0},
        {"interface-ethernet", "<interface type='ethernet'> (an unmanaged tap device", 5, 0},
        {"interface-vdpa", "<interface type='vdpa'> (vDPA device passthrough) cannot", 5, 0},
        {"filesystem", "<filesystem> (host directory sharing) cannot be honoured safely", 5, 0},
        {"smartcard", "<smartcard> (host smartcard passthrough) cannot be honoured safely", 5, 0},
        {"redirdev", "<redirdev> (USB redirection) cannot be honoured safely", 5, 0},
        {"on-crash-coredump", "<on_crash> 'coredump-destroy' cannot be honoured", 4, 0},
        {"action-unknown", "<on_reboot> 'reboot-twice' is not a valid action", 4, 0},
        {"disk-floppy", "<disk device='floppy'> is not supported (expected disk or cdrom)", 5, 0},
        {"driver-vmdk", "<driver type='vmdk'> is not supported (expected raw or qcow2)", 6, 0},
        {"disk-bus", "<target bus='virtio-blk'> is not supported", 7, 0},
        {"serial-tcp", "<serial type='tcp'> is not supported (expected pty, file, unix or null)", 5, 0},
        {"interface-type-unknown", "<interface type='mcast'> is not supported", 5, 0},
        {"boot-dev", "<boot dev='usb'> is not supported", 6, 0},
        {"boot-too-many", "more than 4 <boot> devices", 9, 0},
        {"os-type", "os type 'hmv' is not supported", 5, 0},
        {"memory-unit", "<memory> unit 'XB' is unknown", 3, 0},
        {"memory-value", "<memory> '1024MB' is not a whole number", 3, 0},
        {"memory-huge", "exceeds the limit of 17179869184 KiB (16 TiB)", 3, 0},
        {"memory-zero", "memory must be greater than 0", 3, 0},
        {"current-memory", "currentMemory (2048 MiB) exceeds memory (1024 MiB)", 4, 0},
        {"vcpu-current", "current vcpu count (4) exceeds vcpu count (2)", 4, 0},
        {"vcpu-too-many", "vcpu count (257) exceeds the limit of 256", 4, 0},
        {"vcpu-placement", "<vcpu placement='numad'> is not supported", 4, 0},
        {"cpuset", "'0-3,x': expected a CPU number", 4, 0},
        {"no-name", "<domain> has no <name>", 1, 0},
        {"name-invalid", "domain name contains a space", 2, XEND_ERR_INVALID_NAME},
        {"name-twice", "<name> appears more than once (first on line 2)", 4, 0},
        {"root", "the document element is <domains>", 2, 0},
        {"doctype", "DOCTYPE declarations are not allowed", 2, 0},
        {"malformed", "mismatched tag", 6, 0},
        {"mixed-content", "<os> (line 4) mixes text with child elements", 4, 0},
        {"uuid", "<uuid> 'not-a-uuid' is not a UUID", 3, 0},
        {"mac", "<mac address='52:54:00:zz:00:01'> is not a MAC address", 6, 0},
        {"mac-multicast", "01:00:5e:00:00:01 is a multicast address", 5, 0},
        {"mac-twice", "MAC address 52:54:00:00:00:01 is used by two interfaces", 8, 0},
        {"disk-target-twice", "disk target 'vda' is used twice", 9, 0},
        {"disk-no-target", "<disk> has no <target dev=...>", 5, 0},
        {"disk-no-source", "disk 'vda' has no source path (only a cdrom may be empty)", 5, 0},
        {"bridge-no-source", "<interface type='bridge'> has no <source bridge=...>", 5, 0},
        {"serial-file-no-path", "<serial type='file'> has no <source path=...>", 5, 0},
        {"title-multiline", "<title> must be a single line", 3, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "bad-%s.xml", cases[i].file);
        size_t len;
        char *xml = read_domain_file(name, &len);
        CHECK_MSG(xml != NULL, "%s missing", name);
        if (!xml)
            continue;
        domain_warnings w = {NULL, 0};
        domain_warnings_add(&w, "from before");
        xend_error_reset();
        domain_def *def = domain_xml_parse(xml, len, &w);
        CHECK_MSG(def == NULL, "%s was accepted", name);
        domain_def_free(def);
        int code = cases[i].code ? cases[i].code : XEND_ERR_CONFIG_INVALID;
        CHECK_MSG(xend_error_last()->code == code, "%s: code %d", name, xend_error_last()->code);
        CHECK_MSG(check_contains(xend_error_last()->message, cases[i].fragment),
                  "%s: \"%s\" lacks \"%s\"", name, xend_error_last()->message, cases[i].fragment);
        CHECK_MSG(check_msg_has_line(xend_error_last()->message, cases[i].line),
                  "%s: \"%s\" does not name line %u", name, xend_error_last()->message,
                  cases[i].line);
        /* A refused document adds no warnings. */
        CHECK_MSG(w.n == 1, "%s: %zu warnings after a refusal", name, w.n);
        domain_warnings_clear(&w);
        free(xml);
    }
}

/* <memory> in each unit, as KiB (libvirt rounds up to whole KiB). */
static void test_memory_units(void)
{
    static const struct {
        const char *unit, *value;
        uint64_t kib;
    } cases[] = {
        {NULL, "1024", 1024},        {"b", "1", 1},
        {"bytes", "1024", 1},        {"byte", "1025", 2},
        {"KB", "1000", 977},         {"k", "7", 7},
        {"KiB", "7", 7},             {"kib", "7", 7},
        {"MB", "1", 977},            {"M", "1", 1024},
        {"MiB", "512", 524288},      {"GB", "1", 976563},
        {"G", "2", 2097152},         {"GiB", "2", 2097152},
        {"TB", "1", 976562500},      {"T", "1", 1073741824},
        {"TiB", "16", 17179869184ULL}, {"KiB", " 42\n", 42},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char xml[256];
        if (cases[i].unit)
            snprintf(xml, sizeof(xml), "<domain><name>m</name><memory unit='%s'>%s</memory></domain>",
                     cases[i].unit, cases[i].value);
        else
            snprintf(xml, sizeof(xml), "<domain><name>m</name><memory>%s</memory></domain>",
                     cases[i].value);
        domain_def *def = parse_str(xml, NULL);
        CHECK_MSG(def && def->memory_kib == cases[i].kib, "%s %s: got %llu (%s)", cases[i].value,
                  cases[i].unit ? cases[i].unit : "(none)",
                  def ? (unsigned long long)def->memory_kib : 0ULL, xend_error_last()->message);
        CHECK(def && def->current_memory_kib == def->memory_kib);
        domain_def_free(def);
    }
    static const struct {
        const char *unit, *value, *why;
    } bad[] = {
        {"KiB", "-1", "is not a whole number"},
        {"KiB", "1.5", "is not a whole number"},
        {"KiB", "", "<memory> is empty"},
        {"KiB", "18446744073709551616", "out of range"},
        {"TiB", "18446744073709551615", "too large"},
        {"PiB", "1", "exceeds the limit"},
        {"EiB", "16", "too large"},
        {"kibibytes", "1", "unit 'kibibytes' is unknown"},
        {"", "1", "unit '' is unknown"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char xml[256];
        snprintf(xml, sizeof(xml), "<domain>\n<name>m</name>\n<memory unit='%s'>%s</memory></domain>",
                 bad[i].unit, bad[i].value);
        domain_def *def = parse_str(xml, NULL);
        CHECK(def == NULL);
        domain_def_free(def);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "line 3", bad[i].why);
    }
    /* maxMemory keeps its slots; currentMemory converts too. */
    domain_def *def = parse_str("<domain><name>m</name><maxMemory slots='8' unit='G'>4</maxMemory>"
                                "<memory unit='M'>1024</memory>"
                                "<currentMemory unit='bytes'>536870912</currentMemory></domain>",
                                NULL);
    CHECK(def != NULL);
    if (def) {
        CHECK_INTEQ(def->max_memory_kib, 4194304);
        CHECK_INTEQ(def->max_memory_slots, 8);
        CHECK_INTEQ(def->current_memory_kib, 524288);
        char *s = format_def(def);
        CHECK(check_contains(s, "  <maxMemory slots='8' unit='KiB'>4194304</maxMemory>\n"
                                "  <memory unit='KiB'>1048576</memory>\n"
                                "  <currentMemory unit='KiB'>524288</currentMemory>\n"));
        free(s);
    }
    domain_def_free(def);
    def = parse_str("<domain><name>m</name><maxMemory slots='300'>4</maxMemory></domain>", NULL);
    CHECK(def == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "slots=...> 300 is out of range");
    def = parse_str("<domain><name>m</name><maxMemory>0</maxMemory></domain>", NULL);
    CHECK(def == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "<maxMemory> must be greater than 0");
    def = parse_str("<domain><name>m</name>\n<maxMemory>1024</maxMemory></domain>", NULL);
    CHECK(def == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "line 2", "maxMemory (1 MiB) is less than memory (128 MiB)");
}

static void test_defaults_and_generated(void)
{
    domain_def *a = parse_str("<domain><name>gen</name><devices>"
                              "<interface type='user'/><interface type='network'>"
                              "<source network='default'/></interface></devices></domain>",
                              NULL);
    domain_def *b = parse_str("<domain><name>gen</name></domain>", NULL);
    CHECK(a && b);
    if (!a || !b) {
        domain_def_free(a);
        domain_def_free(b);
        return;
    }
    CHECK(a->virt_type == NULL);
    CHECK_INTEQ(a->uuid[6] >> 4, 4); /* generated, version 4 */
    CHECK(memcmp(a->uuid, b->uuid, 16) != 0);
    CHECK_INTEQ(a->nnics, 2);
    CHECK(a->nics[0].mac[0] == 0x52 && a->nics[0].mac[1] == 0x54 && a->nics[0].mac[2] == 0);
    CHECK(memcmp(a->nics[0].mac, a->nics[1].mac, 6) != 0);
    CHECK(!a->acpi && !a->apic && !a->pae); /* XML without <features> has none */
    CHECK_INTEQ(a->memory_kib, 128 * 1024);
    CHECK_INTEQ(a->vcpus, 1);
    CHECK_INTEQ(a->vcpus_current, 1);
    CHECK_STREQ(a->os.type, "hvm");
    CHECK_INTEQ(a->on_reboot, DOMAIN_ACTION_RESTART);
    CHECK_STREQ(a->nics[1].source, "default");
    /* The generated identities survive a round trip. */
    char *s = format_def(a);
    domain_def *again = parse_str(s, NULL);
    CHECK(again && domain_def_equal(a, again));
    CHECK(!check_contains(s, "<domain type="));
    free(s);
    domain_def_free(again);
    domain_def_free(a);
    domain_def_free(b);

    /* Bus implied by the target name; cdrom without source; vcpu current. */
    a = parse_str("<domain type='kvm'><name>b</name><vcpu current='2'>4</vcpu><devices>"
                  "<disk><source file='/a'/><target dev='hda'/></disk>"
                  "<disk><source file='/b'/><target dev='sdb'/></disk>"
                  "<disk device='cdrom'><target dev='xvdc'/></disk>"
                  "</devices></domain>",
                  NULL);
    CHECK(a != NULL);
    if (a) {
        CHECK_INTEQ(a->disks[0].bus, DOMAIN_BUS_IDE);
        CHECK_INTEQ(a->disks[1].bus, DOMAIN_BUS_SCSI);
        CHECK_INTEQ(a->disks[2].bus, DOMAIN_BUS_XEN);
        CHECK(a->disks[2].source == NULL);
        CHECK_INTEQ(a->vcpus, 4);
        CHECK_INTEQ(a->vcpus_current, 2);
    }
    domain_def_free(a);
    a = parse_str("<domain><name>b</name><devices><disk>\n<source file='/a'/>"
                  "<target dev='foo'/></disk></devices></domain>",
                  NULL);
    CHECK(a == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "line 2", "<target dev='foo'> needs a bus attribute");
}

static void test_warnings_text(void)
{
    size_t len;
    char *xml = read_domain_file("virt-install.xml", &len);
    if (!xml)
        return;
    domain_warnings w = {NULL, 0};
    domain_def *def = domain_xml_parse(xml, len, &w);
    CHECK(def != NULL);
    static const char *const expected[] = {
        "line 4: <metadata> is kept but not used by xend",
        "line 25: <clock> is kept but not used by xend",
        "line 22: <vmport> is kept but not used by xend",
        "line 87: <graphics> is kept but not used by xend",
        "line 40: attribute 'discard' of <driver> is ignored",
        "line 69: attribute 'tty' of <console> is ignored",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        bool found = false;
        for (size_t j = 0; j < w.n; j++)
            found = found || strcmp(w.items[j], expected[i]) == 0;
        CHECK_MSG(found, "warning \"%s\" missing", expected[i]);
    }
    if (def) {
        CHECK_STREQ(def->name, "debian12");
        CHECK_STREQ(def->virt_type, "kvm");
        CHECK_INTEQ(def->memory_kib, 2097152);
        CHECK_INTEQ(def->current_memory_kib, 1048576);
        CHECK(def->acpi && def->apic && !def->pae);
        CHECK_STREQ(def->os.arch, "x86_64");
        CHECK_STREQ(def->os.machine, "pc-q35-7.2");
        CHECK_INTEQ(def->os.nboot, 1);
        CHECK_INTEQ(def->ndisks, 1);
        CHECK_INTEQ(def->disks[0].format, DOMAIN_DISK_QCOW2);
        CHECK_STREQ(def->disks[0].source, "/var/lib/libvirt/images/debian12.qcow2");
        CHECK(def->disks[0].extra && strcmp(def->disks[0].extra->name, "backingStore") == 0);
        CHECK_INTEQ(def->nnics, 1);
        CHECK_STREQ(def->nics[0].model, "virtio");
        CHECK_INTEQ(def->nchrs, 2);
        CHECK(!def->chrs[0].console && def->chrs[1].console);
        CHECK(def->chrs[0].path == NULL); /* a pty's runtime path is not configuration */
        size_t kept = 0;
        for (xml_node *n = def->devices_extra; n; n = n->next)
            kept++;
        CHECK_INTEQ(kept, 10);
    }
    domain_def_free(def);
    domain_warnings_clear(&w);
    /* NULL warnings: parse still works. */
    def = domain_xml_parse(xml, len, NULL);
    CHECK(def != NULL);
    domain_def_free(def);
    free(xml);
}

static void test_devices(void)
{
    domain_disk disk;
    domain_nic nic;
    const char *kind = NULL;
    static const char disk_xml[] = "<disk type='block' device='disk'>\n"
                                   "  <source dev='/dev/vg/data'/>\n"
                                   "  <target dev='vdb' bus='virtio'/>\n"
                                   "  <shareable/>\n"
                                   "  <address type='pci' slot='0x07'/>\n"
                                   "</disk>\n";
    xend_error_reset();
    CHECK_INTEQ(domain_xml_parse_device(disk_xml, strlen(disk_xml), &disk, &nic, &kind), 0);
    CHECK_STREQ(kind, "disk");
    xbuf b = XBUF_INIT;
    domain_xml_format_disk(&disk, &b, 1);
    CHECK_STREQ(b.data, "  <disk type='block' device='disk'>\n"
                        "    <driver type='raw'/>\n"
                        "    <source dev='/dev/vg/data'/>\n"
                        "    <target dev='vdb' bus='virtio'/>\n"
                        "    <shareable/>\n"
                        "    <address type='pci' slot='0x07'/>\n"
                        "  </disk>\n");
    domain_disk_clear(&disk);

    static const char nic_xml[] = "<interface type='bridge'><mac address='52:54:00:00:00:2A'/>"
                                  "<source bridge='br0'/><model type='virtio'/></interface>";
    kind = NULL;
    CHECK_INTEQ(domain_xml_parse_device(nic_xml, strlen(nic_xml), NULL, &nic, &kind), 0);
    CHECK_STREQ(kind, "interface");
    xbuf_reset(&b);
    domain_xml_format_nic(&nic, &b, 0);
    CHECK_STREQ(b.data, "<interface type='bridge'>\n"
                        "  <mac address='52:54:00:00:00:2a'/>\n"
                        "  <source bridge='br0'/>\n"
                        "  <model type='virtio'/>\n"
                        "</interface>\n");
    domain_nic_clear(&nic);
    xbuf_clear(&b);

    static const struct {
        const char *xml, *why;
        bool disk_ok, nic_ok;
    } bad[] = {
        {"<hostdev mode='subsystem'/>", "<hostdev> (device passthrough) cannot be honoured", 1, 1},
        {"<disk type='network'><target dev='vda'/></disk>", "network storage", 1, 1},
        {"<interface type='direct'/>", "macvtap", 1, 1},
        {"<graphics type='vnc'/>", "expected <disk> or <interface>", 1, 1},
        {"<interface type='user'/>", "expected <disk>", 1, 0},
        {"<disk><target dev='vda'/></disk>", "expected <interface>", 0, 1},
        {"<disk><target dev='vda'/></disk>", "has no source path", 1, 1},
        {"<disk><qemu:x/><source file='/a'/><target dev='vda'/></disk>", "raw QEMU", 1, 1},
        {"<disk", "unclosed token", 1, 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xend_error_reset();
        kind = NULL;
        CHECK_INTEQ(domain_xml_parse_device(bad[i].xml, strlen(bad[i].xml),
                                            bad[i].disk_ok ? &disk : NULL,
                                            bad[i].nic_ok ? &nic : NULL, &kind),
                    -1);
        CHECK(kind == NULL);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, bad[i].why, "line 1");
    }
}

/* A status file embeds <domain>; its siblings are not the domain's business. */
static void test_parse_node(void)
{
    static const char status[] = "<status>\n"
                                 "  <pid>1234</pid>\n"
                                 "  <domain type='kvm'>\n"
                                 "    <name>embedded</name>\n"
                                 "    <qemu:commandline/>\n"
                                 "  </domain>\n"
                                 "  <qemu:monitor path='/run/x.sock'/>\n"
                                 "</status>\n";
    xml_node *root = xml_parse(status, strlen(status), "status");
    CHECK(root != NULL);
    if (!root)
        return;
    xml_node *dom = xml_node_child(root, "domain");
    xend_error_reset();
    CHECK(domain_xml_parse_node(dom, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "line 5", "<qemu:commandline>");
    xml_node_free(dom->children->next);
    dom->children->next = NULL;
    domain_def *def = domain_xml_parse_node(dom, NULL);
    CHECK(def && strcmp(def->name, "embedded") == 0);
    domain_def_free(def);
    xend_error_reset();
    CHECK(domain_xml_parse_node(root, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "the document element is <status>");
    CHECK(domain_xml_parse_node(NULL, NULL) == NULL);
    xml_node_free(root);
}

static void test_limits(void)
{
    /* Over the domain XML size limit, though well under the tree parser's. */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<domain><name>big</name><description>");
    while (b.len < (600u << 10))
        xbuf_adds(&b, "padding padding padding padding ");
    xbuf_adds(&b, "</description></domain>");
    xend_error_reset();
    CHECK(domain_xml_parse(b.data, b.len, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "exceeds the limit of 524288 bytes");

    /* Kept elements are bounded, so the formatted form always re-parses. */
    xbuf_reset(&b);
    xbuf_adds(&b, "<domain><name>many</name><metadata>");
    for (int i = 0; i < 10000; i++)
        xbuf_adds(&b, "<m/>");
    xbuf_adds(&b, "</metadata></domain>");
    xend_error_reset();
    CHECK(domain_xml_parse(b.data, b.len, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "keeps more than 10000 unknown elements");

    /* Deep kept elements: 24 levels below <domain> are fine, 25 are not. */
    for (int depth = 24; depth <= 25; depth++) {
        xbuf_reset(&b);
        xbuf_adds(&b, "<domain><name>deep</name>");
        for (int i = 0; i < depth; i++)
            xbuf_adds(&b, "<x>");
        for (int i = 0; i < depth; i++)
            xbuf_adds(&b, "</x>");
        xbuf_adds(&b, "</domain>");
        xend_error_reset();
        domain_def *def = domain_xml_parse(b.data, b.len, NULL);
        CHECK_MSG((def != NULL) == (depth == 24), "depth %d: %s", depth,
                  xend_error_last()->message);
        domain_def_free(def);
    }

    /* Device counts. */
    xbuf_reset(&b);
    xbuf_adds(&b, "<domain><name>disks</name><devices>");
    for (int i = 0; i <= DOMAIN_DISKS_MAX; i++)
        xbuf_printf(&b, "<disk><source file='/d%d'/><target dev='xvd%d'/></disk>\n", i, i);
    xbuf_adds(&b, "</devices></domain>");
    xend_error_reset();
    CHECK(domain_xml_parse(b.data, b.len, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "more than 64 disks", "line 65");
    xbuf_clear(&b);

    /* Over-long text. */
    char *xml = xmalloc(DOMAIN_TEXT_MAX + 100);
    int n = snprintf(xml, 100, "<domain><name>t</name><title>");
    memset(xml + n, 't', DOMAIN_TEXT_MAX + 1);
    strcpy(xml + n + DOMAIN_TEXT_MAX + 1, "</title></domain>");
    xend_error_reset();
    CHECK(domain_xml_parse(xml, strlen(xml), NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "<title> is longer than 4096 bytes");
    free(xml);
}

/* Details of what is kept, ignored and escaped. */
static void test_round_trip_details(void)
{
    static const char xml[] =
        "<domain type='xen' id='7' xmlns:x='urn:x'>\n"
        "  <name> spaced </name>\n"
        "  <title>It's \"quoted\" &amp; &lt;odd&gt;</title>\n"
        "  <description>line 1&#13;\nline 2\t</description>\n"
        "  <vcpu cpuset='0,&#9;2'>2</vcpu>\n"
        "  <features><acpi/><hap state='on'/></features>\n"
        "  <x:meta a='&#10;'>text</x:meta>\n"
        "  <devices>\n"
        "    <serial><target port='3'/></serial>\n"
        "    <console type='file'><source path='/var/log/c &amp; d.log'/></console>\n"
        "  </devices>\n"
        "</domain>\n";
    domain_warnings w = {NULL, 0};
    domain_def *def = parse_str(xml, &w);
    CHECK_MSG(def != NULL, "%s", xend_error_last()->message);
    if (!def)
        return;
    CHECK_STREQ(def->name, "spaced");
    CHECK_STREQ(def->title, "It's \"quoted\" & <odd>");
    CHECK_STREQ(def->description, "line 1\r\nline 2\t");
    CHECK_STREQ(def->cpuset, "0,\t2");
    CHECK(def->features_extra && strcmp(def->features_extra->name, "hap") == 0);
    CHECK(def->extra && strcmp(def->extra->name, "x:meta") == 0);
    CHECK_INTEQ(def->nchrs, 2);
    CHECK_INTEQ(def->chrs[0].type, DOMAIN_CHR_PTY);
    CHECK_INTEQ(def->chrs[0].port, 3);
    CHECK_STREQ(def->chrs[1].path, "/var/log/c & d.log");
    CHECK_INTEQ(w.n, 2); /* <hap>, <x:meta> */
    domain_warnings_clear(&w);
    char *s = format_def(def);
    static const char head[] = "<domain type='xen'>\n  <name>spaced</name>\n  <uuid>";
    CHECK(strncmp(s, head, strlen(head)) == 0);
    const char *rest = strstr(s, "</uuid>\n");
    CHECK_STREQ(rest, "</uuid>\n"
                      "  <title>It&apos;s &quot;quoted&quot; &amp; &lt;odd&gt;</title>\n"
                      "  <description>line 1&#13;\nline 2\t</description>\n"
                      "  <memory unit='KiB'>131072</memory>\n"
                      "  <currentMemory unit='KiB'>131072</currentMemory>\n"
                      "  <vcpu placement='static' cpuset='0,&#9;2'>2</vcpu>\n"
                      "  <os>\n"
                      "    <type>hvm</type>\n"
                      "  </os>\n"
                      "  <features>\n"
                      "    <acpi/>\n"
                      "    <hap state='on'/>\n"
                      "  </features>\n"
                      "  <on_poweroff>destroy</on_poweroff>\n"
                      "  <on_reboot>restart</on_reboot>\n"
                      "  <on_crash>destroy</on_crash>\n"
                      "  <devices>\n"
                      "    <serial type='pty'>\n"
                      "      <target port='3'/>\n"
                      "    </serial>\n"
                      "    <console type='file'>\n"
                      "      <source path='/var/log/c &amp; d.log'/>\n"
                      "      <target port='0'/>\n"
                      "    </console>\n"
                      "  </devices>\n"
                      "  <x:meta a='&#10;'>text</x:meta>\n"
                      "</domain>\n");
    domain_def *again = parse_str(s, NULL);
    CHECK(again && domain_def_equal(def, again));
    domain_def_free(again);
    free(s);

    /* Indentation applies to the whole document. */
    xbuf b = XBUF_INIT;
    domain_xml_format(def, &b, 2);
    CHECK(strncmp(b.data, "    <domain type='xen'>\n      <name>spaced</name>\n", 50) == 0);
    CHECK(strstr(b.data, "\n    </domain>\n") != NULL);
    xbuf_clear(&b);
    domain_def_free(def);
}

int main(void)
{
    test_golden("minimal", 0);
    test_golden("virt-install", 22);
    test_golden("xm-pv", 0);
    test_golden("mixed-devices", 2);
    test_bad_files();
    test_memory_units();
    test_defaults_and_generated();
    test_warnings_text();
    test_devices();
    test_parse_node();
    test_limits();
    test_round_trip_details();
    return check_summary("domain-xml");
}
