/*
 * Domain configs as Xend S-expressions (src/conf/domain_sxp.c): the (vm ...) create
 * config with string and int atoms, Linux and HVM images, devices, the (domain ...) record
 * with runtime facts in Xend's order (against tests/data/sxp/domain-guest.pretty), round
 * trips through domain_def_equal (shared cdroms among them, a fuzz-sxp finding), uname
 * parsing and every refusal.
 */
#include "check-data.h"
#include "check-error.h"
#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static domain_def *parse_text(const char *text)
{
    xend_error_reset();
    xmlrpc_value *v = sxp_parse(text, strlen(text), "test");
    if (!v)
        return NULL;
    domain_def *def = domain_sxp_parse(v);
    xmlrpc_value_free(v);
    return def;
}

static xmlrpc_value *sxp_text(const char *text)
{
    return sxp_parse(text, strlen(text), "dev");
}

static char *pretty(const xmlrpc_value *v)
{
    xbuf b = XBUF_INIT;
    if (sxp_format(v, &b, true) < 0)
        return NULL;
    return xbuf_steal(&b, NULL);
}

static const char *const create_sxp =
    "(vm (name guest1) (memory 64) (maxmem 128) (vcpus 2)"
    " (uuid 6a2f0c3e-1b4d-4f5e-9a7b-0c1d2e3f4a5b) (cpus 0-3,^1)"
    " (on_poweroff destroy) (on_reboot restart) (on_crash preserve)"
    " (ssidref 0) (bootloader '')"
    " (image (linux (kernel /boot/vmlinuz-2.6.18-xenU) (ramdisk /boot/initrd.img)"
    "   (root '/dev/xvda1 ro') (args 'console=hvc0 4') (ip 10.0.0.2)))"
    " (device (vbd (uname phy:vg0/guest1) (dev xvda1) (mode w) (backend 0)))"
    " (device (tap (uname tap:qcow2:/var/lib/xen/images/g.qcow2) (dev xvdb) (mode r)))"
    " (device (vbd (uname file:/iso/debian.iso) (dev hdc:cdrom) (mode r)))"
    " (device (vif (mac 00:16:3e:00:00:01) (bridge xenbr0) (model e1000) (script vif-bridge)))"
    " (device (vif))"
    " (device (vfb (type vnc))))";

static void test_parse_create(void)
{
    domain_def *def = parse_text(create_sxp);
    CHECK_MSG(def != NULL, "%s", xend_error_last()->message);
    if (!def)
        return;
    CHECK_STREQ(def->name, "guest1");
    CHECK_INTEQ(def->current_memory_kib, 64 * 1024);
    CHECK_INTEQ(def->memory_kib, 128 * 1024);
    CHECK_INTEQ(def->vcpus, 2);
    CHECK_INTEQ(def->vcpus_current, 2);
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);
    CHECK_STREQ(uuid, "6a2f0c3e-1b4d-4f5e-9a7b-0c1d2e3f4a5b");
    CHECK_STREQ(def->cpuset, "0-3,^1");
    CHECK_INTEQ(def->on_poweroff, DOMAIN_ACTION_DESTROY);
    CHECK_INTEQ(def->on_reboot, DOMAIN_ACTION_RESTART);
    CHECK_INTEQ(def->on_crash, DOMAIN_ACTION_PRESERVE);
    CHECK_STREQ(def->os.type, "linux");
    CHECK_STREQ(def->os.kernel, "/boot/vmlinuz-2.6.18-xenU");
    CHECK_STREQ(def->os.initrd, "/boot/initrd.img");
    /* Xend's image.py order: ip, root, args */
    CHECK_STREQ(def->os.cmdline, "ip=10.0.0.2 root=/dev/xvda1 ro console=hvc0 4");

    CHECK_INTEQ(def->ndisks, 3);
    if (def->ndisks == 3) {
        CHECK_INTEQ(def->disks[0].type, DOMAIN_DISK_BLOCK);
        CHECK_STREQ(def->disks[0].source, "/dev/vg0/guest1");
        CHECK_STREQ(def->disks[0].target, "xvda1");
        CHECK_INTEQ(def->disks[0].bus, DOMAIN_BUS_XEN);
        CHECK(!def->disks[0].readonly && !def->disks[0].shareable);
        CHECK_INTEQ(def->disks[1].type, DOMAIN_DISK_FILE);
        CHECK_INTEQ(def->disks[1].format, DOMAIN_DISK_QCOW2);
        CHECK_STREQ(def->disks[1].source, "/var/lib/xen/images/g.qcow2");
        CHECK(def->disks[1].readonly);
        CHECK_INTEQ(def->disks[2].device, DOMAIN_DISK_CDROM);
        CHECK_STREQ(def->disks[2].target, "hdc");
        CHECK_INTEQ(def->disks[2].bus, DOMAIN_BUS_IDE);
        CHECK(def->disks[2].readonly);
    }
    CHECK_INTEQ(def->nnics, 2);
    if (def->nnics == 2) {
        char mac[18];
        domain_mac_format(def->nics[0].mac, mac);
        CHECK_STREQ(mac, "00:16:3e:00:00:01");
        CHECK_INTEQ(def->nics[0].type, DOMAIN_NIC_BRIDGE);
        CHECK_STREQ(def->nics[0].source, "xenbr0");
        CHECK_STREQ(def->nics[0].model, "e1000");
        /* (vif) alone: user networking, a generated QEMU-range MAC */
        CHECK_INTEQ(def->nics[1].type, DOMAIN_NIC_USER);
        CHECK(def->nics[1].mac[0] == 0x52 && def->nics[1].mac[1] == 0x54);
    }
    domain_def_free(def);
}

/* Atoms may arrive as XML-RPC ints or booleans; head 'domain' is accepted too. */
static void test_parse_int_atoms(void)
{
    xmlrpc_value *vm = sxp_list("domain");
    xmlrpc_value *p = sxp_list("memory");
    xmlrpc_array_append(p, xmlrpc_int(256));
    xmlrpc_array_append(vm, p);
    p = sxp_list("vcpus");
    xmlrpc_array_append(p, xmlrpc_i8(4));
    xmlrpc_array_append(vm, p);
    p = sxp_list("vcpu_avail");
    xmlrpc_array_append(p, xmlrpc_int(3));
    xmlrpc_array_append(vm, p);
    sxp_add(vm, "name", "ints");
    p = sxp_list("domid");
    xmlrpc_array_append(p, xmlrpc_int(7));
    xmlrpc_array_append(vm, p);
    xmlrpc_value *img = sxp_list("hvm");
    p = sxp_list("apic");
    xmlrpc_array_append(p, xmlrpc_bool(true));
    xmlrpc_array_append(img, p);
    p = sxp_list("image");
    xmlrpc_array_append(p, img);
    xmlrpc_array_append(vm, p);
    xend_error_reset();
    domain_def *def = domain_sxp_parse(vm);
    CHECK_MSG(def != NULL, "%s", xend_error_last()->message);
    if (def) {
        CHECK_INTEQ(def->current_memory_kib, 256 * 1024);
        CHECK_INTEQ(def->memory_kib, 256 * 1024); /* no maxmem: as much as memory */
        CHECK_INTEQ(def->vcpus, 4);
        CHECK_INTEQ(def->vcpus_current, 2);
        CHECK_STREQ(def->os.type, "hvm");
        CHECK(def->apic);
        CHECK(def->os.cmdline == NULL);
    }
    domain_def_free(def);
    xmlrpc_value_free(vm);
}

static void test_parse_hvm(void)
{
    domain_def *def = parse_text(
        "(vm (name win) (memory 512)"
        " (image (hvm (kernel /usr/lib/xen/boot/hvmloader) (device_model /usr/lib/xen/bin/qemu-dm)"
        "  (boot dc) (acpi 1) (apic 0) (pae 1) (serial pty) (vnc 1)))"
        " (device (vbd (uname file:/img/win.img) (dev ioemu:hda) (mode w!))))");
    CHECK_MSG(def != NULL, "%s", xend_error_last()->message);
    if (!def)
        return;
    CHECK_STREQ(def->os.type, "hvm");
    CHECK(def->os.kernel == NULL); /* hvmloader is Xen's firmware, not a kernel */
    CHECK_INTEQ(def->os.nboot, 2);
    CHECK_INTEQ(def->os.boot[0], DOMAIN_BOOT_CDROM);
    CHECK_INTEQ(def->os.boot[1], DOMAIN_BOOT_HD);
    CHECK(def->acpi && !def->apic && def->pae);
    CHECK_INTEQ(def->nchrs, 1);
    if (def->nchrs == 1)
        CHECK(def->chrs[0].type == DOMAIN_CHR_PTY && !def->chrs[0].console);
    CHECK_INTEQ(def->ndisks, 1);
    if (def->ndisks == 1) {
        CHECK_STREQ(def->disks[0].target, "hda");
        CHECK_INTEQ(def->disks[0].bus, DOMAIN_BUS_IDE);
        CHECK(def->disks[0].shareable && !def->disks[0].readonly);
    }
    domain_def_free(def);
}

static void check_refused(const char *text, const char *needle)
{
    domain_def *def = parse_text(text);
    CHECK_MSG(def == NULL, "accepted: %s", text);
    domain_def_free(def);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, needle);
}

static void test_parse_errors(void)
{
    check_refused("(config (name x))", "(vm ...) or (domain ...)");
    check_refused("(vm (name x) (memory 64M))", "(memory 64M)");
    check_refused("(vm (name x) (memory -1))", "whole number");
    check_refused("(vm (name x) (memory 0))", "at least 1 MiB");
    check_refused("(vm (name x) (memory 99999999999))", "memory");
    check_refused("(vm (name x) (memory 64 65))", "exactly one atom");
    check_refused("(vm (name x) (memory (64)))", "exactly one atom");
    check_refused("(vm (name x) (memory 128) (maxmem 64))", "less than memory");
    check_refused("(vm (name x) (vcpus 0))", "vcpu");
    check_refused("(vm (name x) (vcpus 257))", "vcpus");
    check_refused("(vm (name x) (vcpus 2) (vcpu_avail 5))", "vcpu_avail");
    check_refused("(vm (name x) (vcpus 2) (vcpu_avail 7))", "vcpu_avail");
    check_refused("(vm (name x) (uuid not-a-uuid))", "(uuid not-a-uuid)");
    check_refused("(vm (name x) (on_crash coredump-destroy))", "on_crash");
    check_refused("(vm (name x) (image (plan9 (kernel /k))))", "plan9");
    check_refused("(vm (name x) (image linux))", "(image ...)");
    check_refused("(vm (name x) (image (hvm (boot z))))", "(boot z)");
    check_refused("(vm (name x) (image (hvm (boot cc))))", "twice");
    check_refused("(vm (name x) (image (hvm (acpi yes))))", "(acpi yes)");
    check_refused("(vm (name x) (image (hvm (serial tcp:1.2.3.4:5))))", "serial");
    /* the hvm image would drop the hvmloader the linux one kept: no def could say both */
    check_refused("(vm (name x) (image (linux (kernel /usr/lib/xen/boot/hvmloader)))"
                  " (image (hvm)))",
                  "(image ...) is given twice");
    check_refused("(vm (name x) (device (pci (dev 0000:00:1f.0))))", "'pci' is not supported");
    check_refused("(vm (name x) (device (vbd (uname phy:/dev/x))))", "(dev ...)");
    check_refused("(vm (name x) (device (vbd (uname phy:/dev/x) (dev xvda) (mode rw))))",
                  "mode 'rw'");
    check_refused("(vm (name x) (device (vbd (uname /dev/x) (dev xvda) (mode w))))",
                  "expected phy:");
    check_refused("(vm (name x) (device (vbd (uname phy:/dev/x) (dev floppy0) (mode w))))",
                  "floppy0");
    check_refused("(vm (name x) (device (vbd (uname phy:/dev/x) (dev xvda:tape) (mode w))))",
                  "xvda:tape");
    check_refused("(vm (name x) (device (vbd (uname file:) (dev xvda) (mode w))))", "no source");
    check_refused("(vm (name x) (device (vif (mac 01:00:5e:00:00:01))))", "multicast");
    check_refused("(vm (name x) (device (vif (mac zz))))", "(vif (mac zz))");
    check_refused("(vm (name x) (device (vif (bridge 'br 0'))))", "bridge");
    check_refused("(vm (name x) atom)", "element 2");
    check_refused("(vm (name x) (device (vbd (uname phy:/a) (dev xvda) (mode w)))"
                  " (device (vbd (uname phy:/b) (dev xvda) (mode w))))",
                  "used twice");
    /* the name rules are domain_conf's: INVALID_NAME */
    domain_def *def = parse_text("(vm (name 'bad name'))");
    CHECK(def == NULL);
    CHECK_ERROR(XEND_ERR_INVALID_NAME, "space");
    xmlrpc_value *v = xmlrpc_string("vm");
    CHECK(domain_sxp_parse(v) == NULL);
    xmlrpc_value_free(v);
    CHECK(domain_sxp_parse(NULL) == NULL);
}

static void test_uname(void)
{
    domain_disk d = {0};
    CHECK(domain_sxp_parse_uname("phy:hda1", &d) == 0);
    CHECK(d.type == DOMAIN_DISK_BLOCK && d.format == DOMAIN_DISK_RAW);
    CHECK_STREQ(d.source, "/dev/hda1");
    CHECK(domain_sxp_parse_uname("phy:/dev/mapper/vg-lv", &d) == 0);
    CHECK_STREQ(d.source, "/dev/mapper/vg-lv");
    CHECK(domain_sxp_parse_uname("file:/var/img/a.img", &d) == 0);
    CHECK(d.type == DOMAIN_DISK_FILE && d.format == DOMAIN_DISK_RAW);
    CHECK_STREQ(d.source, "/var/img/a.img");
    CHECK(domain_sxp_parse_uname("tap:aio:/var/img/b.img", &d) == 0);
    CHECK(d.type == DOMAIN_DISK_FILE && d.format == DOMAIN_DISK_RAW);
    CHECK_STREQ(d.source, "/var/img/b.img");
    CHECK(domain_sxp_parse_uname("tap:qcow2:/var/img/c.qcow2", &d) == 0);
    CHECK(d.type == DOMAIN_DISK_FILE && d.format == DOMAIN_DISK_QCOW2);
    CHECK(domain_sxp_parse_uname("", &d) == 0);
    CHECK(d.source == NULL);
    CHECK(domain_sxp_parse_uname("phy:", &d) == 0);
    CHECK(d.source == NULL && d.type == DOMAIN_DISK_BLOCK);
    xend_error_reset();
    CHECK(domain_sxp_parse_uname("tap:vmdk:/x.vmdk", &d) == -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "tap driver 'vmdk'");
    CHECK(domain_sxp_parse_uname("iscsi:iqn.2001-04.com.example", &d) == -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "expected phy:");
    CHECK(domain_sxp_parse_uname(NULL, &d) == -1);
    domain_disk_clear(&d);
}

static void test_device(void)
{
    domain_disk disk;
    domain_nic nic;
    const char *kind = NULL;
    xmlrpc_value *v = sxp_text("(vbd (uname phy:ram1) (dev xvda1) (mode w))");
    CHECK(v && domain_sxp_parse_device(v, &disk, &nic, &kind) == 0);
    CHECK_STREQ(kind, "vbd");
    CHECK_STREQ(disk.source, "/dev/ram1");
    xmlrpc_value *back = domain_sxp_format_disk(&disk);
    xbuf b = XBUF_INIT;
    CHECK(sxp_format(back, &b, false) == 0);
    CHECK_STREQ(b.data, "(vbd (uname phy:/dev/ram1) (dev xvda1) (mode w))");
    xbuf_reset(&b);
    xmlrpc_value_free(back);
    domain_disk_clear(&disk);
    xmlrpc_value_free(v);

    v = sxp_text("(vif (mac 00:16:3e:aa:bb:cc) (bridge br0) (type ioemu))");
    CHECK(v && domain_sxp_parse_device(v, &disk, &nic, &kind) == 0);
    CHECK_STREQ(kind, "vif");
    back = domain_sxp_format_nic(&nic);
    CHECK(sxp_format(back, &b, false) == 0);
    CHECK_STREQ(b.data, "(vif (mac 00:16:3e:aa:bb:cc) (bridge br0))");
    xbuf_reset(&b);
    xmlrpc_value_free(back);
    /* a disk where only an interface is wanted */
    xend_error_reset();
    CHECK(domain_sxp_parse_device(v, &disk, NULL, &kind) == -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "interface");
    domain_nic_clear(&nic);
    xmlrpc_value_free(v);

    v = sxp_text("(vtpm (instance 1))");
    CHECK(v && domain_sxp_parse_device(v, &disk, &nic, &kind) == -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "'vtpm'");
    xmlrpc_value_free(v);
    v = xmlrpc_string("vbd");
    CHECK(domain_sxp_parse_device(v, &disk, &nic, &kind) == -1);
    xmlrpc_value_free(v);

    /* empty cdrom: the uname keeps its type so it reads back the same */
    disk = (domain_disk){.type = DOMAIN_DISK_BLOCK,
                         .device = DOMAIN_DISK_CDROM,
                         .target = xstrdup("hdc"),
                         .bus = DOMAIN_BUS_IDE,
                         .readonly = true};
    back = domain_sxp_format_disk(&disk);
    CHECK(sxp_format(back, &b, false) == 0);
    CHECK_STREQ(b.data, "(vbd (uname phy:) (dev hdc:cdrom) (mode r))");
    domain_disk again;
    CHECK(domain_sxp_parse_device(back, &again, NULL, NULL) == 0);
    CHECK(again.type == DOMAIN_DISK_BLOCK && again.source == NULL &&
          again.device == DOMAIN_DISK_CDROM && again.readonly);
    domain_disk_clear(&again);
    domain_disk_clear(&disk);
    xmlrpc_value_free(back);
    xbuf_clear(&b);
}

/* A def with everything the sxp can say, built in code. */
static domain_def *full_def(void)
{
    domain_def *def = domain_def_new();
    def->name = xstrdup("web01");
    CHECK(domain_uuid_parse("11111111-2222-4333-8444-555555555555", def->uuid) == 0);
    def->memory_kib = 1024 * 1024;
    def->current_memory_kib = 512 * 1024;
    def->vcpus = 4;
    def->vcpus_current = 3;
    def->cpuset = xstrdup("0-1,3");
    free(def->os.type);
    def->os.type = xstrdup("hvm");
    def->os.kernel = xstrdup("/boot/vmlinuz");
    def->os.initrd = xstrdup("/boot/initrd");
    def->os.cmdline = xstrdup("root=/dev/vda1 console=ttyS0 quiet='a b'");
    def->os.boot[0] = DOMAIN_BOOT_NETWORK;
    def->os.boot[1] = DOMAIN_BOOT_HD;
    def->os.nboot = 2;
    def->acpi = true;
    def->apic = true;
    def->pae = false;
    def->on_poweroff = DOMAIN_ACTION_PRESERVE;
    def->on_reboot = DOMAIN_ACTION_RENAME_RESTART;
    def->on_crash = DOMAIN_ACTION_RESTART;
    domain_disk d = {.type = DOMAIN_DISK_FILE,
                     .format = DOMAIN_DISK_QCOW2,
                     .source = "/var/lib/xend/images/web01.qcow2",
                     .target = "vda",
                     .bus = DOMAIN_BUS_VIRTIO};
    domain_def_add_disk(def, &d);
    d = (domain_disk){.type = DOMAIN_DISK_BLOCK,
                      .source = "/dev/vg0/data",
                      .target = "sdb",
                      .bus = DOMAIN_BUS_SCSI,
                      .shareable = true};
    domain_def_add_disk(def, &d);
    d = (domain_disk){.type = DOMAIN_DISK_FILE,
                      .device = DOMAIN_DISK_CDROM,
                      .target = "hdc",
                      .bus = DOMAIN_BUS_IDE,
                      .readonly = true};
    domain_def_add_disk(def, &d);
    domain_nic n = {.type = DOMAIN_NIC_BRIDGE,
                    .source = "br0",
                    .mac = {0x52, 0x54, 0, 1, 2, 3},
                    .model = "virtio"};
    domain_def_add_nic(def, &n);
    n = (domain_nic){.type = DOMAIN_NIC_USER, .mac = {0x52, 0x54, 0, 1, 2, 4}};
    domain_def_add_nic(def, &n);
    def->chrs = xcalloc(1, sizeof(*def->chrs));
    def->chrs[0] = (domain_chr){.type = DOMAIN_CHR_FILE, .path = xstrdup("/var/log/web01.log")};
    def->nchrs = 1;
    CHECK_MSG(domain_def_validate(def) == 0, "%s", xend_error_last()->message);
    return def;
}

static void test_format_golden(void)
{
    domain_def *def = full_def();
    domain_sxp_runtime rt = {.domid = 12,
                             .state = "-b----",
                             .cpu_time = 12.5,
                             .online_vcpus = 3,
                             .up_time = 3600.25,
                             .start_time = 1149686285.33,
                             .shutdown_reason = NULL};
    xmlrpc_value *v = domain_sxp_format(def, &rt);
    char *got = pretty(v);
    char *want = read_data("sxp/domain-guest.pretty");
    CHECK(want != NULL);
    CHECK_STREQ(got, want);
    /* Xend's order of keys */
    static const char *const order[] = {
        "domid",    "uuid",         "name",        "vcpus",     "vcpu_avail", "memory",
        "maxmem",   "cpus",         "on_poweroff", "on_reboot", "on_crash",   "image",
        "device",   "device",       "device",      "device",    "device",     "state",
        "cpu_time", "online_vcpus", "up_time",     "start_time"};
    CHECK_INTEQ(xmlrpc_array_size(v), 1 + sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && i + 1 < xmlrpc_array_size(v); i++)
        CHECK_STREQ(sxp_name(xmlrpc_array_get(v, i + 1)), order[i]);
    /* every atom is a string, as Xend's fixup_sxpr sent them */
    char buf[32];
    const xmlrpc_value *domid = sxp_child(v, "domid");
    CHECK(domid && xmlrpc_array_get(domid, 1)->type == XMLRPC_STRING);
    CHECK_STREQ(sxp_child_value(v, "memory", buf), "512");
    CHECK_STREQ(sxp_child_value(v, "maxmem", buf), "1024");

    /* the record reads back as the same def (runtime keys are skipped) */
    domain_def *back = domain_sxp_parse(v);
    CHECK_MSG(back != NULL, "%s", xend_error_last()->message);
    CHECK(domain_def_equal(def, back));
    domain_def_free(back);
    free(got);
    free(want);
    xmlrpc_value_free(v);

    /* and so does the text form, compact and pretty */
    v = domain_sxp_format(def, NULL);
    CHECK(sxp_child(v, "domid") == NULL && sxp_child(v, "state") == NULL);
    for (int p = 0; p < 2; p++) {
        xbuf b = XBUF_INIT;
        CHECK(sxp_format(v, &b, p) == 0);
        xmlrpc_value *t = sxp_parse(b.data, b.len, "text");
        domain_def *tdef = t ? domain_sxp_parse(t) : NULL;
        CHECK(tdef && domain_def_equal(def, tdef));
        domain_def_free(tdef);
        xmlrpc_value_free(t);
        xbuf_clear(&b);
    }
    xmlrpc_value_free(v);
    domain_def_free(def);
}

static void test_format_dom0(void)
{
    domain_def *def = domain_def_new();
    def->name = xstrdup("Domain-0");
    memset(def->uuid, 0, 16);
    def->memory_kib = def->current_memory_kib = 1000; /* not whole MiB: rounded up */
    domain_sxp_runtime rt = {.domid = 0,
                             .state = "r-----",
                             .cpu_time = 0,
                             .online_vcpus = 1,
                             .up_time = -1,
                             .start_time = -1,
                             .shutdown_reason = "poweroff"};
    xmlrpc_value *v = domain_sxp_format(def, &rt);
    char *s = pretty(v);
    CHECK(check_contains(s, "(domain\n"));
    CHECK(check_contains(s, "(domid 0)"));
    CHECK(check_contains(s, "(memory 1)"));
    CHECK(check_contains(s, "(uuid 00000000-0000-0000-0000-000000000000)"));
    CHECK(check_contains(s, "(shutdown_reason poweroff)"));
    CHECK(check_contains(s, "(cpu_time 0)"));
    CHECK(!check_contains(s, "up_time") && !check_contains(s, "start_time"));
    free(s);
    xmlrpc_value_free(v);
    /* not running: no domid */
    rt.domid = -1;
    v = domain_sxp_format(def, &rt);
    CHECK(sxp_child(v, "domid") == NULL);
    xmlrpc_value_free(v);
    domain_def_free(def);
}

/* fuzz-sxp found a cdrom with mode w! (here after an (mode r) the later key overrides):
 * read-only as every cdrom, and shareable. Its record used to say (mode r), which read back
 * without the shareable. */
static void test_cdrom_shared(void)
{
    domain_def *def = parse_text("(vm (name cd)"
                                 " (device (vbd (uname phy:) (dev hda:cdrom) (mode r) (mode w!)))"
                                 " (device (vbd (uname phy:/dev/sr0) (dev hdc:cdrom) (mode w))))");
    CHECK_MSG(def != NULL, "%s", xend_error_last()->message);
    if (!def)
        return;
    CHECK_INTEQ(def->ndisks, 2);
    if (def->ndisks == 2) {
        CHECK(def->disks[0].readonly && def->disks[0].shareable);
        CHECK(def->disks[0].source == NULL && def->disks[0].type == DOMAIN_DISK_BLOCK);
        CHECK(def->disks[1].readonly && !def->disks[1].shareable);
    }
    xmlrpc_value *v = domain_sxp_format(def, NULL);
    xbuf b = XBUF_INIT;
    CHECK(sxp_format(v, &b, false) == 0);
    CHECK(check_contains(b.data, "(device (vbd (uname phy:) (dev hda:cdrom) (mode 'w!')))"));
    CHECK(check_contains(b.data, "(device (vbd (uname phy:/dev/sr0) (dev hdc:cdrom) (mode r)))"));
    domain_def *back = domain_sxp_parse(v);
    CHECK_MSG(back != NULL, "%s", xend_error_last()->message);
    CHECK(domain_def_equal(def, back));
    domain_def_free(back);
    xbuf_clear(&b);
    xmlrpc_value_free(v);
    domain_def_free(def);

    /* Any other disk cannot be both in one mode: it stays read-only, never writable. */
    domain_disk d = {.type = DOMAIN_DISK_FILE,
                     .source = "/img/shared.img",
                     .target = "xvdb",
                     .bus = DOMAIN_BUS_XEN,
                     .readonly = true,
                     .shareable = true};
    v = domain_sxp_format_disk(&d);
    CHECK(sxp_format(v, &b, false) == 0);
    CHECK_STREQ(b.data, "(vbd (uname file:/img/shared.img) (dev xvdb) (mode r))");
    xbuf_clear(&b);
    xmlrpc_value_free(v);
}

int main(void)
{
    test_parse_create();
    test_parse_int_atoms();
    test_parse_hvm();
    test_parse_errors();
    test_uname();
    test_device();
    test_cdrom_shared();
    test_format_golden();
    test_format_dom0();
    return check_summary("domain-sxp");
}
