/*
 * Domain XML, the libvirt subset (see domain_conf.h): what `virsh dumpxml` and virt-install
 * write loads, what xend understands is mapped onto domain_def, and the rest is handled in
 * one of three ways. Elements xend does not use but that do no harm (clock, cpu, graphics,
 * <address> inside a disk...) are kept verbatim and written back, with a warning for the
 * top-level and device-level ones. Attributes xend does not use are dropped with a warning.
 * What xend cannot honour safely (device passthrough, raw QEMU arguments, network storage,
 * macvtap...) is refused, naming the element and its line, rather than silently ignored,
 * because a guest started without it would not be the guest the user described.
 *
 * The formatter writes a canonical form (known elements in a fixed order, memory in KiB,
 * kept elements after them in their original order) by building an element tree and
 * handing it to xml_format, so escaping is the tree formatter's one implementation.
 * parse(format(def)) gives back an equal def: the size limits below exist so that the
 * formatted form (indented, escaped, with generated elements added) always fits within the
 * element-tree parser's own limits, even when embedded one level deep in a status file.
 */
#include "domain_conf.h"

#include "util/alloc.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Escaping grows a document at most sixfold ("'" -> "&apos;") and indentation adds at most
 * 2 * depth + 1 bytes per element: 6 * 512 KiB + 10000 * 50 stays under XML_MAX_DOCUMENT. */
#define DOMAIN_XML_MAX_BYTES (512u << 10)
#define DOMAIN_XML_MAX_NODES 10000
#define DOMAIN_XML_MAX_DEPTH (XML_MAX_DEPTH - 8)
#define DOMAIN_MEMORY_SLOTS_LIMIT 256

typedef struct {
    domain_warnings w; /* moved to the caller's only when the whole parse succeeds */
    size_t kept;       /* elements copied into kept lists so far */
} parse_ctx;

/* ---- helpers ---- */

static int fail(const xml_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const xml_node *n, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n && n->line)
        xend_error_report(XEND_ERR_CONFIG_INVALID, "line %u: %s", n->line, msg);
    else
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s", msg);
    return -1;
}

/* Put the line of n in front of an error a model check just reported. A bad name keeps
 * its own code, so clients can tell it from other configuration errors. */
static int fail_relabel(const xml_node *n)
{
    const xend_error *e = xend_error_last();
    int code = e->code == XEND_ERR_INVALID_NAME ? XEND_ERR_INVALID_NAME : XEND_ERR_CONFIG_INVALID;
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    if (n && n->line)
        xend_error_report(code, "line %u: %.900s", n->line, msg);
    else
        xend_error_report(code, "%s", msg);
    return -1;
}

static void warn(parse_ctx *c, const xml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(parse_ctx *c, const xml_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    domain_warnings_add(&c->w, "line %u: %s", n->line, msg);
}

static void warn_kept(parse_ctx *c, const xml_node *n)
{
    warn(c, n, "<%.64s> is kept but not used by xend", n->name);
}

static bool name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

/* Attributes xend does not use are dropped; say so, so nobody relies on them silently. */
static void attrs_check(parse_ctx *c, const xml_node *n, const char *const *known)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!name_in(n->attrs[i].name, known))
            warn(c, n, "attribute '%.64s' of <%.64s> is ignored", n->attrs[i].name, n->name);
}

/* Children of an element xend reads only attributes from. */
static void children_ignored(parse_ctx *c, const xml_node *n)
{
    for (const xml_node *ch = n->children; ch; ch = ch->next)
        warn(c, ch, "<%.64s> inside <%.64s> is ignored", ch->name, n->name);
}

static int container_check(const xml_node *n)
{
    if (n->text)
        return fail(n, "<%.64s> holds text; it takes only child elements", n->name);
    return 0;
}

/* The text of an element that holds only text: borrowed, NULL when empty. */
static int text_of(const xml_node *n, const char **out)
{
    if (n->children)
        return fail(n, "<%.64s> must hold text, not the element <%.64s>", n->name,
                    n->children->name);
    if (n->text && strlen(n->text) > DOMAIN_TEXT_MAX)
        return fail(n, "<%.64s> is longer than %d bytes", n->name, DOMAIN_TEXT_MAX);
    *out = n->text;
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Text without surrounding layout whitespace, for values that are tokens or numbers;
 * NULL when empty. Caller frees. */
static int trimmed_text_of(const xml_node *n, char **out)
{
    const char *t;
    *out = NULL;
    if (text_of(n, &t) < 0)
        return -1;
    if (!t)
        return 0;
    while (is_space(*t))
        t++;
    size_t len = strlen(t);
    while (len && is_space(t[len - 1]))
        len--;
    if (len)
        *out = xstrndup(t, len);
    return 0;
}

static int required_text(const xml_node *n, char **out)
{
    if (trimmed_text_of(n, out) < 0)
        return -1;
    if (!*out)
        return fail(n, "<%.64s> is empty", n->name);
    return 0;
}

static int attr_text(const xml_node *n, const char *name, const char **out)
{
    const char *v = xml_node_attr(n, name);
    if (v && strlen(v) > DOMAIN_TEXT_MAX)
        return fail(n, "attribute '%s' of <%.64s> is longer than %d bytes", name, n->name,
                    DOMAIN_TEXT_MAX);
    *out = v && *v ? v : NULL;
    return 0;
}

/* An unsigned decimal number, digits only, at most max. */
static int parse_number(const xml_node *n, const char *what, const char *s, uint64_t max,
                        uint64_t *out)
{
    bool digits = *s != '\0';
    for (const char *p = s; *p; p++)
        digits = digits && *p >= '0' && *p <= '9';
    if (!digits)
        return fail(n, "%s '%.32s' is not a whole number", what, s);
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v > max)
        return fail(n, "%s %.32s is out of range (at most %" PRIu64 ")", what, s, max);
    *out = v;
    return 0;
}

/* Mark a singleton element as seen; a second one is refused. */
static int once(const xml_node *n, const xml_node **seen)
{
    if (*seen)
        return fail(n, "<%.64s> appears more than once (first on line %u)", n->name,
                    (*seen)->line);
    *seen = n;
    return 0;
}

static int enum_refuse(const xml_node *n, const char *attr, const char *value,
                       const char *expected)
{
    return fail(n, "<%.64s %s='%.64s'> is not supported (expected %s)", n->name, attr, value,
                expected);
}

static size_t subtree_size(const xml_node *n)
{
    size_t count = 1;
    for (const xml_node *ch = n->children; ch; ch = ch->next)
        count += subtree_size(ch);
    return count;
}

/* Append a copy of n to a kept list (document order is preserved). Only kept elements
 * are counted against DOMAIN_XML_MAX_NODES: they are what the formatter writes back on
 * top of the bounded number of elements it generates for the model. */
static int keep(parse_ctx *c, xml_node ***tail, const xml_node *n)
{
    c->kept += subtree_size(n);
    if (c->kept > DOMAIN_XML_MAX_NODES)
        return fail(n, "domain XML keeps more than %d unknown elements", DOMAIN_XML_MAX_NODES);
    **tail = xml_node_copy(n);
    *tail = &(**tail)->next;
    return 0;
}

/* ---- whole-tree checks ---- */

static int tree_scan(const xml_node *n, unsigned depth)
{
    for (; n; n = n->next) {
        if (depth > DOMAIN_XML_MAX_DEPTH)
            return fail(n, "domain XML elements are nested deeper than %d levels",
                        DOMAIN_XML_MAX_DEPTH);
        /* Kept elements are never interpreted, but a user who wrote QEMU arguments
         * expects them to take effect: refuse wherever they appear. */
        if (strncmp(n->name, "qemu:", 5) == 0)
            return fail(n, "<%.64s> (raw QEMU configuration) cannot be honoured safely",
                        n->name);
        if (tree_scan(n->children, depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* ---- memory and CPUs ---- */

/* libvirt's unit rules (virScaleInteger): case-insensitive; b/byte/bytes; k, m, g, t, p, e
 * alone or with "iB" are powers of 1024, with "B" powers of 1000; no unit means KiB. */
static int unit_scale(const char *unit, uint64_t *scale)
{
    if (!unit) {
        *scale = 1024;
        return 0;
    }
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes")) {
        *scale = 1;
        return 0;
    }
    static const char powers[] = "kmgtpe";
    const char *p = unit[0] ? strchr(powers, unit[0] | 0x20) : NULL;
    if (!p)
        return -1;
    uint64_t base;
    if (unit[1] == '\0' || !strcasecmp(unit + 1, "ib"))
        base = 1024;
    else if (!strcasecmp(unit + 1, "b"))
        base = 1000;
    else
        return -1;
    uint64_t s = 1;
    for (long i = 0; i <= p - powers; i++)
        s *= base;
    *scale = s;
    return 0;
}

static int parse_memory(const xml_node *n, uint64_t *kib)
{
    XEND_AUTOFREE char *text = NULL;
    if (required_text(n, &text) < 0)
        return -1;
    const char *unit = xml_node_attr(n, "unit");
    uint64_t scale, value;
    if (unit_scale(unit, &scale) < 0)
        return fail(n, "<%.64s> unit '%.32s' is unknown (use b, KB, KiB, MB, MiB, GB, GiB, TB "
                    "or TiB)", n->name, unit);
    char what[80];
    snprintf(what, sizeof(what), "<%.64s>", n->name);
    if (parse_number(n, what, text, UINT64_MAX, &value) < 0)
        return -1;
    if (value > UINT64_MAX / scale)
        return fail(n, "<%.64s> %s %s is too large", n->name, text, unit);
    uint64_t bytes = value * scale;
    uint64_t k = bytes / 1024 + (bytes % 1024 != 0); /* libvirt rounds up to whole KiB */
    if (k > DOMAIN_MEMORY_MAX_KIB)
        return fail(n, "<%.64s> of %" PRIu64 " KiB exceeds the limit of %llu KiB (16 TiB)",
                    n->name, k, DOMAIN_MEMORY_MAX_KIB);
    *kib = k;
    return 0;
}

static int parse_vcpu(parse_ctx *c, const xml_node *n, domain_def *def, bool *has_current)
{
    static const char *const known[] = {"placement", "current", "cpuset", NULL};
    attrs_check(c, n, known);
    XEND_AUTOFREE char *text = NULL;
    uint64_t v;
    if (required_text(n, &text) < 0 || parse_number(n, "<vcpu>", text, UINT32_MAX, &v) < 0)
        return -1;
    def->vcpus = (unsigned)v;
    const char *placement = xml_node_attr(n, "placement");
    if (placement && strcmp(placement, "static") != 0) {
        if (strcmp(placement, "auto") != 0)
            return enum_refuse(n, "placement", placement, "static or auto");
        warn(c, n, "placement='auto' is not used by xend; vcpus are placed statically");
    }
    const char *current = xml_node_attr(n, "current");
    if (current) {
        if (parse_number(n, "<vcpu current=...>", current, UINT32_MAX, &v) < 0)
            return -1;
        def->vcpus_current = (unsigned)v;
        *has_current = true;
    }
    const char *cpuset;
    if (attr_text(n, "cpuset", &cpuset) < 0)
        return -1;
    if (cpuset) {
        uint8_t bitmap[4096 / 8];
        int count = domain_cpulist_parse(cpuset, 4096, bitmap);
        if (count < 0)
            return fail_relabel(n);
        if (count == 0)
            return fail(n, "vcpu cpuset '%.64s' selects no CPU", cpuset);
        def->cpuset = xstrdup(cpuset);
    }
    return 0;
}

/* ---- os, features, actions ---- */

static int parse_os(parse_ctx *c, const xml_node *os, domain_def *def)
{
    static const char *const os_known[] = {NULL};
    static const char *const type_known[] = {"arch", "machine", NULL};
    static const char *const boot_known[] = {"dev", NULL};
    const xml_node *seen_type = NULL, *seen_kernel = NULL, *seen_initrd = NULL,
                   *seen_cmdline = NULL;
    xml_node **tail = &def->os.extra;
    if (container_check(os) < 0)
        return -1;
    attrs_check(c, os, os_known);
    for (const xml_node *n = os->children; n; n = n->next) {
        const char *t;
        if (strcmp(n->name, "type") == 0) {
            char *type;
            if (once(n, &seen_type) < 0 || required_text(n, &type) < 0)
                return -1;
            free(def->os.type);
            def->os.type = type;
            if (!domain_os_type_known(type))
                return fail(n, "os type '%.32s' is not supported (expected hvm, linux, xen or "
                            "xenpvh)", type);
            attrs_check(c, n, type_known);
            const char *arch, *machine;
            if (attr_text(n, "arch", &arch) < 0 || attr_text(n, "machine", &machine) < 0)
                return -1;
            def->os.arch = arch ? xstrdup(arch) : NULL;
            def->os.machine = machine ? xstrdup(machine) : NULL;
        } else if (strcmp(n->name, "kernel") == 0) {
            if (once(n, &seen_kernel) < 0 || text_of(n, &t) < 0)
                return -1;
            def->os.kernel = t ? xstrdup(t) : NULL;
        } else if (strcmp(n->name, "initrd") == 0) {
            if (once(n, &seen_initrd) < 0 || text_of(n, &t) < 0)
                return -1;
            def->os.initrd = t ? xstrdup(t) : NULL;
        } else if (strcmp(n->name, "cmdline") == 0) {
            if (once(n, &seen_cmdline) < 0 || text_of(n, &t) < 0)
                return -1;
            def->os.cmdline = t ? xstrdup(t) : NULL;
        } else if (strcmp(n->name, "boot") == 0) {
            attrs_check(c, n, boot_known);
            children_ignored(c, n);
            const char *dev = xml_node_attr(n, "dev");
            if (!dev)
                return fail(n, "<boot> has no dev attribute");
            int b = domain_boot_dev_parse(dev);
            if (b < 0)
                return enum_refuse(n, "dev", dev, "hd, cdrom, network or fd");
            if (def->os.nboot >= 4)
                return fail(n, "more than 4 <boot> devices");
            def->os.boot[def->os.nboot++] = (domain_boot_dev)b;
        } else {
            warn_kept(c, n);
            if (keep(c, &tail, n) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_features(parse_ctx *c, const xml_node *features, domain_def *def)
{
    static const char *const none[] = {NULL};
    xml_node **tail = &def->features_extra;
    if (container_check(features) < 0)
        return -1;
    attrs_check(c, features, none);
    for (const xml_node *n = features->children; n; n = n->next) {
        bool *flag = strcmp(n->name, "acpi") == 0   ? &def->acpi
                     : strcmp(n->name, "apic") == 0 ? &def->apic
                     : strcmp(n->name, "pae") == 0  ? &def->pae
                                                    : NULL;
        if (flag) {
            attrs_check(c, n, none);
            children_ignored(c, n);
            *flag = true;
        } else {
            warn_kept(c, n);
            if (keep(c, &tail, n) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_action(const xml_node *n, domain_action *out)
{
    XEND_AUTOFREE char *text = NULL;
    if (required_text(n, &text) < 0)
        return -1;
    int a = domain_action_parse(text);
    if (a >= 0) {
        *out = (domain_action)a;
        return 0;
    }
    if (strcmp(n->name, "on_crash") == 0 &&
        (!strcmp(text, "coredump-destroy") || !strcmp(text, "coredump-restart")))
        return fail(n, "<on_crash> '%s' cannot be honoured: xend does not dump guest memory "
                    "(use destroy, restart, preserve or rename-restart)", text);
    return fail(n, "<%s> '%.64s' is not a valid action (expected destroy, restart, preserve or "
                "rename-restart)", n->name, text);
}

/* ---- devices ---- */

static int parse_disk_driver(parse_ctx *c, const xml_node *n, domain_disk *disk)
{
    static const char *const known[] = {"name", "type", NULL};
    attrs_check(c, n, known);
    children_ignored(c, n);
    const char *type = xml_node_attr(n, "type");
    if (type) {
        int f = domain_disk_format_parse(type);
        if (f < 0)
            return enum_refuse(n, "type", type, "raw or qcow2");
        disk->format = (domain_disk_format)f;
    }
    return 0;
}

static int parse_disk_source(parse_ctx *c, const xml_node *n, domain_disk *disk)
{
    const char *attr = disk->type == DOMAIN_DISK_BLOCK ? "dev" : "file";
    const char *const known[] = {attr, NULL};
    attrs_check(c, n, known);
    children_ignored(c, n);
    const char *path;
    if (attr_text(n, attr, &path) < 0)
        return -1;
    if (!path && n->nattrs)
        return fail(n, "<source> of a disk of type '%s' needs a %s attribute",
                    domain_disk_type_name(disk->type), attr);
    disk->source = path ? xstrdup(path) : NULL;
    return 0;
}

/* The bus a target name implies, as libvirt infers it when <target bus> is absent. */
static int bus_from_target(const char *dev)
{
    if (!strncmp(dev, "vd", 2))
        return DOMAIN_BUS_VIRTIO;
    if (!strncmp(dev, "hd", 2))
        return DOMAIN_BUS_IDE;
    if (!strncmp(dev, "sd", 2))
        return DOMAIN_BUS_SCSI;
    if (!strncmp(dev, "xvd", 3))
        return DOMAIN_BUS_XEN;
    return -1;
}

static int parse_disk_target(parse_ctx *c, const xml_node *n, domain_disk *disk)
{
    static const char *const known[] = {"dev", "bus", NULL};
    attrs_check(c, n, known);
    children_ignored(c, n);
    const char *dev, *bus = xml_node_attr(n, "bus");
    if (attr_text(n, "dev", &dev) < 0)
        return -1;
    if (!dev)
        return fail(n, "<target> of a disk has no dev attribute");
    int b = bus ? domain_disk_bus_parse(bus) : bus_from_target(dev);
    if (b < 0 && bus)
        return enum_refuse(n, "bus", bus, "virtio, ide, scsi, sata, xen or usb");
    if (b < 0)
        return fail(n, "<target dev='%.32s'> needs a bus attribute (the name implies none)",
                    dev);
    disk->target = xstrdup(dev);
    disk->bus = (domain_disk_bus)b;
    return 0;
}

static int parse_disk(parse_ctx *c, const xml_node *d, domain_disk *disk)
{
    static const char *const known[] = {"type", "device", NULL};
    static const char *const flag_known[] = {NULL};
    memset(disk, 0, sizeof(*disk));
    if (container_check(d) < 0)
        return -1;
    attrs_check(c, d, known);
    const char *type = xml_node_attr(d, "type"), *device = xml_node_attr(d, "device");
    if (type) {
        static const struct {
            const char *type, *why;
        } unsafe[] = {{"network", "network storage"},
                      {"volume", "a storage pool volume"},
                      {"nvme", "NVMe device passthrough"},
                      {"dir", "a host directory as a disk"}};
        for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
            if (strcmp(type, unsafe[i].type) == 0)
                return fail(d, "<disk type='%s'> (%s) cannot be honoured safely", type,
                            unsafe[i].why);
        int t = domain_disk_type_parse(type);
        if (t < 0)
            return enum_refuse(d, "type", type, "file or block");
        disk->type = (domain_disk_type)t;
    }
    if (device) {
        int dv = domain_disk_device_parse(device);
        if (dv < 0)
            return enum_refuse(d, "device", device, "disk or cdrom");
        disk->device = (domain_disk_device)dv;
    }
    const xml_node *seen_driver = NULL, *seen_source = NULL, *seen_target = NULL,
                   *seen_ro = NULL, *seen_share = NULL;
    xml_node **tail = &disk->extra;
    for (const xml_node *n = d->children; n; n = n->next) {
        int rc = 0;
        if (strcmp(n->name, "driver") == 0) {
            rc = once(n, &seen_driver) < 0 ? -1 : parse_disk_driver(c, n, disk);
        } else if (strcmp(n->name, "source") == 0) {
            rc = once(n, &seen_source) < 0 ? -1 : parse_disk_source(c, n, disk);
        } else if (strcmp(n->name, "target") == 0) {
            rc = once(n, &seen_target) < 0 ? -1 : parse_disk_target(c, n, disk);
        } else if (strcmp(n->name, "readonly") == 0 || strcmp(n->name, "shareable") == 0) {
            bool ro = n->name[0] == 'r';
            rc = once(n, ro ? &seen_ro : &seen_share);
            attrs_check(c, n, flag_known);
            children_ignored(c, n);
            *(ro ? &disk->readonly : &disk->shareable) = true;
        } else {
            rc = keep(c, &tail, n); /* <address>, <boot order>, <serial>, <alias>... */
        }
        if (rc < 0)
            return -1;
    }
    if (!seen_target)
        return fail(d, "<disk> has no <target dev=...>");
    if (domain_disk_validate(disk) < 0)
        return fail_relabel(d);
    return 0;
}

static int parse_nic(parse_ctx *c, const xml_node *e, domain_nic *nic)
{
    static const char *const known[] = {"type", NULL};
    static const char *const mac_known[] = {"address", NULL};
    static const char *const model_known[] = {"type", NULL};
    memset(nic, 0, sizeof(*nic));
    if (container_check(e) < 0)
        return -1;
    attrs_check(c, e, known);
    const char *type = xml_node_attr(e, "type");
    if (!type)
        return fail(e, "<interface> has no type attribute (user, network or bridge)");
    static const struct {
        const char *type, *why;
    } unsafe[] = {{"direct", "macvtap on a host interface"},
                  {"hostdev", "device passthrough"},
                  {"vhostuser", "a vhost-user socket"},
                  {"ethernet", "an unmanaged tap device and scripts"},
                  {"vdpa", "vDPA device passthrough"}};
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
        if (strcmp(type, unsafe[i].type) == 0)
            return fail(e, "<interface type='%s'> (%s) cannot be honoured safely", type,
                        unsafe[i].why);
    int t = domain_nic_type_parse(type);
    if (t < 0)
        return enum_refuse(e, "type", type, "user, network or bridge");
    nic->type = (domain_nic_type)t;

    const xml_node *seen_mac = NULL, *seen_source = NULL, *seen_model = NULL;
    xml_node **tail = &nic->extra;
    for (const xml_node *n = e->children; n; n = n->next) {
        if (strcmp(n->name, "mac") == 0) {
            if (once(n, &seen_mac) < 0)
                return -1;
            attrs_check(c, n, mac_known);
            children_ignored(c, n);
            const char *addr = xml_node_attr(n, "address");
            if (!addr)
                return fail(n, "<mac> has no address attribute");
            if (domain_mac_parse(addr, nic->mac) < 0)
                return fail(n, "<mac address='%.32s'> is not a MAC address (expected six hex "
                            "pairs, like 52:54:00:12:34:56)", addr);
        } else if (strcmp(n->name, "source") == 0) {
            if (once(n, &seen_source) < 0)
                return -1;
            if (nic->type == DOMAIN_NIC_USER) {
                warn(c, n, "<source> of an interface of type 'user' is ignored");
                continue;
            }
            const char *attr = nic->type == DOMAIN_NIC_BRIDGE ? "bridge" : "network";
            const char *const src_known[] = {attr, NULL};
            attrs_check(c, n, src_known);
            children_ignored(c, n);
            const char *v;
            if (attr_text(n, attr, &v) < 0)
                return -1;
            if (!v)
                return fail(n, "<source> of an interface of type '%s' needs a %s attribute",
                            type, attr);
            nic->source = xstrdup(v);
        } else if (strcmp(n->name, "model") == 0) {
            if (once(n, &seen_model) < 0)
                return -1;
            attrs_check(c, n, model_known);
            children_ignored(c, n);
            const char *v;
            if (attr_text(n, "type", &v) < 0)
                return -1;
            if (!v)
                return fail(n, "<model> has no type attribute");
            nic->model = xstrdup(v);
        } else {
            if (keep(c, &tail, n) < 0) /* <target>, <alias>, <address>, <link>... */
                return -1;
        }
    }
    if (!seen_mac)
        domain_mac_generate(nic->mac);
    if (nic->type != DOMAIN_NIC_USER && !nic->source)
        return fail(e, "<interface type='%s'> has no <source %s=...>", type,
                    nic->type == DOMAIN_NIC_BRIDGE ? "bridge" : "network");
    if (domain_nic_validate(nic) < 0)
        return fail_relabel(e);
    return 0;
}

/* <target port='N'/> and libvirt's default target types, which mean what xend does. */
static int parse_chr_target(parse_ctx *c, const xml_node *n, domain_chr *chr)
{
    static const char *const known[] = {"port", "type", NULL};
    attrs_check(c, n, known);
    const char *type = xml_node_attr(n, "type");
    if (type && strcmp(type, "serial") != 0 && strcmp(type, "isa-serial") != 0)
        warn(c, n, "target type '%.32s' of <%s> is ignored", type,
             chr->console ? "console" : "serial");
    for (const xml_node *ch = n->children; ch; ch = ch->next) {
        const char *name = xml_node_attr(ch, "name");
        if (strcmp(ch->name, "model") != 0 || !name || strcmp(name, "isa-serial") != 0)
            warn(c, ch, "<%.64s> inside <target> is ignored", ch->name);
    }
    const char *port = xml_node_attr(n, "port");
    if (port) {
        uint64_t v;
        if (parse_number(n, "<target port=...>", port, 255, &v) < 0)
            return -1;
        chr->port = (int)v;
    }
    return 0;
}

static int parse_chr(parse_ctx *c, const xml_node *e, domain_chr *chr)
{
    static const char *const known[] = {"type", NULL};
    memset(chr, 0, sizeof(*chr));
    chr->console = strcmp(e->name, "console") == 0;
    if (container_check(e) < 0)
        return -1;
    attrs_check(c, e, known);
    const char *type = xml_node_attr(e, "type");
    if (type) {
        int t = domain_chr_type_parse(type);
        if (t < 0)
            return enum_refuse(e, "type", type, "pty, file, unix or null");
        chr->type = (domain_chr_type)t;
    } else {
        chr->type = DOMAIN_CHR_PTY; /* libvirt's default */
    }
    bool has_path = chr->type == DOMAIN_CHR_FILE || chr->type == DOMAIN_CHR_UNIX;
    const xml_node *seen_source = NULL, *seen_target = NULL;
    xml_node **tail = &chr->extra;
    for (const xml_node *n = e->children; n; n = n->next) {
        if (strcmp(n->name, "source") == 0) {
            if (once(n, &seen_source) < 0)
                return -1;
            /* A pty's path is where a running guest's terminal happened to be. */
            if (!has_path)
                continue;
            static const char *const src_known[] = {"path", NULL};
            attrs_check(c, n, src_known);
            children_ignored(c, n);
            const char *path;
            if (attr_text(n, "path", &path) < 0)
                return -1;
            chr->path = path ? xstrdup(path) : NULL;
        } else if (strcmp(n->name, "target") == 0) {
            if (once(n, &seen_target) < 0 || parse_chr_target(c, n, chr) < 0)
                return -1;
        } else {
            if (keep(c, &tail, n) < 0) /* <log>, <alias>, <address>... */
                return -1;
        }
    }
    if (has_path && !chr->path)
        return fail(e, "<%s type='%s'> has no <source path=...>", e->name, type);
    return 0;
}

/* What is refused among <devices> children, and why it is unsafe. */
static const char *device_unsafe(const char *name)
{
    static const struct {
        const char *name, *why;
    } unsafe[] = {{"hostdev", "device passthrough"},
                  {"filesystem", "host directory sharing"},
                  {"smartcard", "host smartcard passthrough"},
                  {"redirdev", "USB redirection"}};
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
        if (strcmp(name, unsafe[i].name) == 0)
            return unsafe[i].why;
    return NULL;
}

static int parse_devices(parse_ctx *c, const xml_node *devices, domain_def *def)
{
    static const char *const none[] = {NULL};
    xml_node **tail = &def->devices_extra;
    if (container_check(devices) < 0)
        return -1;
    attrs_check(c, devices, none);
    for (const xml_node *n = devices->children; n; n = n->next) {
        const char *why = device_unsafe(n->name);
        if (why)
            return fail(n, "<%s> (%s) cannot be honoured safely", n->name, why);
        if (strcmp(n->name, "disk") == 0) {
            if (def->ndisks >= DOMAIN_DISKS_MAX)
                return fail(n, "more than %d disks", DOMAIN_DISKS_MAX);
            domain_disk disk;
            if (parse_disk(c, n, &disk) < 0) {
                domain_disk_clear(&disk);
                return -1;
            }
            if (domain_def_find_disk(def, disk.target) >= 0) {
                fail(n, "disk target '%s' is used twice", disk.target);
                domain_disk_clear(&disk);
                return -1;
            }
            def->disks = xrealloc(def->disks, (def->ndisks + 1) * sizeof(*def->disks));
            def->disks[def->ndisks++] = disk; /* moved, not copied */
        } else if (strcmp(n->name, "interface") == 0) {
            if (def->nnics >= DOMAIN_NICS_MAX)
                return fail(n, "more than %d interfaces", DOMAIN_NICS_MAX);
            domain_nic nic;
            if (parse_nic(c, n, &nic) < 0) {
                domain_nic_clear(&nic);
                return -1;
            }
            for (size_t i = 0; i < def->nnics; i++) {
                if (memcmp(def->nics[i].mac, nic.mac, 6) == 0) {
                    char mac[18];
                    domain_mac_format(nic.mac, mac);
                    fail(n, "MAC address %s is used by two interfaces", mac);
                    domain_nic_clear(&nic);
                    return -1;
                }
            }
            def->nics = xrealloc(def->nics, (def->nnics + 1) * sizeof(*def->nics));
            def->nics[def->nnics++] = nic;
        } else if (strcmp(n->name, "serial") == 0 || strcmp(n->name, "console") == 0) {
            if (def->nchrs >= DOMAIN_CHARS_MAX)
                return fail(n, "more than %d serial and console devices", DOMAIN_CHARS_MAX);
            domain_chr chr;
            if (parse_chr(c, n, &chr) < 0) {
                domain_chr_clear(&chr);
                return -1;
            }
            def->chrs = xrealloc(def->chrs, (def->nchrs + 1) * sizeof(*def->chrs));
            def->chrs[def->nchrs++] = chr;
        } else {
            warn_kept(c, n);
            if (keep(c, &tail, n) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- the domain ---- */

typedef struct {
    const xml_node *name, *uuid, *title, *description, *memory, *current_memory, *max_memory,
        *vcpu, *os, *features, *on_poweroff, *on_reboot, *on_crash, *devices;
} seen_elements;

static int parse_max_memory(parse_ctx *c, const xml_node *n, domain_def *def)
{
    static const char *const known[] = {"unit", "slots", NULL};
    attrs_check(c, n, known);
    if (parse_memory(n, &def->max_memory_kib) < 0)
        return -1;
    if (def->max_memory_kib == 0)
        return fail(n, "<maxMemory> must be greater than 0");
    const char *slots = xml_node_attr(n, "slots");
    if (slots) {
        uint64_t v;
        if (parse_number(n, "<maxMemory slots=...>", slots, DOMAIN_MEMORY_SLOTS_LIMIT, &v) < 0)
            return -1;
        def->max_memory_slots = (unsigned)v;
    }
    return 0;
}

static int parse_top(parse_ctx *c, const xml_node *n, domain_def *def, seen_elements *s,
                     xml_node ***tail)
{
    static const char *const mem_known[] = {"unit", NULL};
    static const char *const none[] = {NULL};
    const char *t;
    char *v;
    static const char *const text_elements[] = {"name", "uuid", "title", "description", NULL};
    if (name_in(n->name, text_elements))
        attrs_check(c, n, none);
    if (strcmp(n->name, "name") == 0) {
        if (once(n, &s->name) < 0 || required_text(n, &v) < 0)
            return -1;
        def->name = v;
    } else if (strcmp(n->name, "uuid") == 0) {
        if (once(n, &s->uuid) < 0 || required_text(n, &v) < 0)
            return -1;
        int rc = domain_uuid_parse(v, def->uuid);
        if (rc < 0)
            fail(n, "<uuid> '%.64s' is not a UUID (expected 8-4-4-4-12 or 32 hex digits)", v);
        free(v);
        return rc;
    } else if (strcmp(n->name, "title") == 0) {
        if (once(n, &s->title) < 0 || text_of(n, &t) < 0)
            return -1;
        for (const char *p = t; p && *p; p++)
            if ((unsigned char)*p < 0x20)
                return fail(n, "<title> must be a single line of text");
        def->title = t ? xstrdup(t) : NULL;
    } else if (strcmp(n->name, "description") == 0) {
        if (once(n, &s->description) < 0 || text_of(n, &t) < 0)
            return -1;
        def->description = t ? xstrdup(t) : NULL;
    } else if (strcmp(n->name, "memory") == 0) {
        if (once(n, &s->memory) < 0)
            return -1;
        attrs_check(c, n, mem_known);
        return parse_memory(n, &def->memory_kib);
    } else if (strcmp(n->name, "currentMemory") == 0) {
        if (once(n, &s->current_memory) < 0)
            return -1;
        attrs_check(c, n, mem_known);
        return parse_memory(n, &def->current_memory_kib);
    } else if (strcmp(n->name, "maxMemory") == 0) {
        if (once(n, &s->max_memory) < 0)
            return -1;
        return parse_max_memory(c, n, def);
    } else if (strcmp(n->name, "vcpu") == 0) {
        bool has_current = false;
        if (once(n, &s->vcpu) < 0 || parse_vcpu(c, n, def, &has_current) < 0)
            return -1;
        if (!has_current)
            def->vcpus_current = def->vcpus;
    } else if (strcmp(n->name, "os") == 0) {
        if (once(n, &s->os) < 0)
            return -1;
        return parse_os(c, n, def);
    } else if (strcmp(n->name, "features") == 0) {
        if (once(n, &s->features) < 0)
            return -1;
        return parse_features(c, n, def);
    } else if (strcmp(n->name, "on_poweroff") == 0) {
        attrs_check(c, n, none);
        return once(n, &s->on_poweroff) < 0 ? -1 : parse_action(n, &def->on_poweroff);
    } else if (strcmp(n->name, "on_reboot") == 0) {
        attrs_check(c, n, none);
        return once(n, &s->on_reboot) < 0 ? -1 : parse_action(n, &def->on_reboot);
    } else if (strcmp(n->name, "on_crash") == 0) {
        attrs_check(c, n, none);
        return once(n, &s->on_crash) < 0 ? -1 : parse_action(n, &def->on_crash);
    } else if (strcmp(n->name, "devices") == 0) {
        if (once(n, &s->devices) < 0)
            return -1;
        return parse_devices(c, n, def);
    } else {
        warn_kept(c, n);
        return keep(c, tail, n);
    }
    return 0;
}

/* Memory amounts in messages: MiB when both are whole MiB, otherwise KiB. */
static void memory_pair(uint64_t a, uint64_t b, char *sa, char *sb, size_t size)
{
    bool mib = a % 1024 == 0 && b % 1024 == 0;
    snprintf(sa, size, "%" PRIu64 " %s", mib ? a / 1024 : a, mib ? "MiB" : "KiB");
    snprintf(sb, size, "%" PRIu64 " %s", mib ? b / 1024 : b, mib ? "MiB" : "KiB");
}

/* The checks of domain_def_validate that relate several elements, made here first so the
 * message can name the line a user has to change; validate still runs afterwards. */
static int check_with_lines(const xml_node *root, const domain_def *def, const seen_elements *s)
{
    char a[48], b[48];
    if (domain_name_check(def->name) < 0)
        return fail_relabel(s->name);
    const xml_node *mem = s->memory ? s->memory : root;
    if (def->memory_kib == 0)
        return fail(mem, "memory must be greater than 0");
    if (def->current_memory_kib == 0)
        return fail(s->current_memory, "currentMemory must be greater than 0");
    if (def->current_memory_kib > def->memory_kib) {
        memory_pair(def->current_memory_kib, def->memory_kib, a, b, sizeof(a));
        return fail(s->current_memory ? s->current_memory : mem,
                    "currentMemory (%s) exceeds memory (%s)", a, b);
    }
    if (def->max_memory_kib && def->max_memory_kib < def->memory_kib) {
        memory_pair(def->max_memory_kib, def->memory_kib, a, b, sizeof(a));
        return fail(s->max_memory, "maxMemory (%s) is less than memory (%s)", a, b);
    }
    if (s->vcpu) {
        if (def->vcpus < 1)
            return fail(s->vcpu, "vcpu count must be at least 1");
        if (def->vcpus > DOMAIN_VCPUS_MAX)
            return fail(s->vcpu, "vcpu count (%u) exceeds the limit of %d", def->vcpus,
                        DOMAIN_VCPUS_MAX);
        if (def->vcpus_current < 1)
            return fail(s->vcpu, "current vcpu count must be at least 1");
        if (def->vcpus_current > def->vcpus)
            return fail(s->vcpu, "current vcpu count (%u) exceeds vcpu count (%u)",
                        def->vcpus_current, def->vcpus);
    }
    return 0;
}

static void warnings_move(domain_warnings *to, domain_warnings *from)
{
    if (to)
        for (size_t i = 0; i < from->n; i++)
            domain_warnings_add(to, "%s", from->items[i]);
    domain_warnings_clear(from);
}

domain_def *domain_xml_parse_node(const xml_node *root, domain_warnings *w)
{
    if (!root)
        return NULL;
    if (strcmp(root->name, "domain") != 0) {
        fail(root, "the document element is <%.64s>; domain XML starts with <domain>",
             root->name);
        return NULL;
    }
    if (container_check(root) < 0 || tree_scan(root->children, 1) < 0)
        return NULL;

    parse_ctx c = {{NULL, 0}, 0};
    domain_def *def = domain_def_new();
    /* In domain XML an absent <acpi/> means no ACPI, whatever the model's default. */
    def->acpi = false;
    for (size_t i = 0; i < root->nattrs; i++) {
        const char *a = root->attrs[i].name;
        /* id is a running domain's number, xmlns* are namespace declarations. */
        if (strcmp(a, "type") != 0 && strcmp(a, "id") != 0 && strncmp(a, "xmlns", 5) != 0)
            warn(&c, root, "attribute '%.64s' of <domain> is ignored", a);
    }
    const char *type;
    if (attr_text(root, "type", &type) < 0)
        goto fail;
    def->virt_type = type ? xstrdup(type) : NULL;

    seen_elements seen = {0};
    xml_node **tail = &def->extra;
    for (const xml_node *n = root->children; n; n = n->next)
        if (parse_top(&c, n, def, &seen, &tail) < 0)
            goto fail;
    if (!seen.name) {
        fail(root, "<domain> has no <name>");
        goto fail;
    }
    if (!seen.current_memory)
        def->current_memory_kib = def->memory_kib;
    if (check_with_lines(root, def, &seen) < 0 || domain_def_validate(def) < 0)
        goto fail;
    warnings_move(w, &c.w);
    return def;

fail:
    domain_warnings_clear(&c.w);
    domain_def_free(def);
    return NULL;
}

domain_def *domain_xml_parse(const char *xml, size_t len, domain_warnings *w)
{
    if (len > DOMAIN_XML_MAX_BYTES) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "domain XML of %zu bytes exceeds the limit of %u bytes", len,
                          DOMAIN_XML_MAX_BYTES);
        return NULL;
    }
    xml_node *root = xml_parse(xml, len, "domain XML");
    if (!root)
        return NULL;
    domain_def *def = domain_xml_parse_node(root, w);
    xml_node_free(root);
    return def;
}

int domain_xml_parse_device(const char *xml, size_t len, domain_disk *disk, domain_nic *nic,
                            const char **kind)
{
    if (len > DOMAIN_XML_MAX_BYTES) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "device XML of %zu bytes exceeds the limit of %u bytes", len,
                          DOMAIN_XML_MAX_BYTES);
        return -1;
    }
    xml_node *root = xml_parse(xml, len, "device XML");
    if (!root)
        return -1;
    parse_ctx c = {{NULL, 0}, 0};
    int rc = -1;
    if (tree_scan(root->children, 1) < 0)
        goto out;
    const char *why = device_unsafe(root->name);
    if (why) {
        fail(root, "<%s> (%s) cannot be honoured safely", root->name, why);
    } else if (strcmp(root->name, "disk") == 0 && disk) {
        rc = parse_disk(&c, root, disk);
        if (rc < 0)
            domain_disk_clear(disk);
        else if (kind)
            *kind = "disk";
    } else if (strcmp(root->name, "interface") == 0 && nic) {
        rc = parse_nic(&c, root, nic);
        if (rc < 0)
            domain_nic_clear(nic);
        else if (kind)
            *kind = "interface";
    } else {
        fail(root, "the document element is <%.64s>; expected %s", root->name,
             disk && nic ? "<disk> or <interface>" : disk ? "<disk>" : "<interface>");
    }
out:
    domain_warnings_clear(&c.w);
    xml_node_free(root);
    return rc;
}

/* ---- formatting ---- */

static xml_node *add_child(xml_node ***tail, const char *name, const char *text)
{
    xml_node *n = xml_node_new(name);
    if (text)
        n->text = xstrdup(text);
    **tail = n;
    *tail = &n->next;
    return n;
}

static void add_kept(xml_node ***tail, const xml_node *list)
{
    for (const xml_node *n = list; n; n = n->next) {
        **tail = xml_node_copy(n);
        *tail = &(**tail)->next;
    }
}

static xml_node *disk_node(const domain_disk *disk)
{
    xml_node *d = xml_node_new("disk");
    xml_node **tail = &d->children;
    xml_node_set_attr(d, "type", domain_disk_type_name(disk->type));
    xml_node_set_attr(d, "device", domain_disk_device_name(disk->device));
    xml_node_set_attr(add_child(&tail, "driver", NULL), "type",
                      domain_disk_format_name(disk->format));
    if (disk->source)
        xml_node_set_attr(add_child(&tail, "source", NULL),
                          disk->type == DOMAIN_DISK_BLOCK ? "dev" : "file", disk->source);
    xml_node *t = add_child(&tail, "target", NULL);
    xml_node_set_attr(t, "dev", disk->target ? disk->target : "");
    xml_node_set_attr(t, "bus", domain_disk_bus_name(disk->bus));
    if (disk->readonly)
        add_child(&tail, "readonly", NULL);
    if (disk->shareable)
        add_child(&tail, "shareable", NULL);
    add_kept(&tail, disk->extra);
    return d;
}

static xml_node *nic_node(const domain_nic *nic)
{
    char mac[18];
    xml_node *e = xml_node_new("interface");
    xml_node **tail = &e->children;
    xml_node_set_attr(e, "type", domain_nic_type_name(nic->type));
    domain_mac_format(nic->mac, mac);
    xml_node_set_attr(add_child(&tail, "mac", NULL), "address", mac);
    if (nic->source)
        xml_node_set_attr(add_child(&tail, "source", NULL),
                          nic->type == DOMAIN_NIC_BRIDGE ? "bridge" : "network", nic->source);
    if (nic->model)
        xml_node_set_attr(add_child(&tail, "model", NULL), "type", nic->model);
    add_kept(&tail, nic->extra);
    return e;
}

static xml_node *chr_node(const domain_chr *chr)
{
    char port[16];
    xml_node *e = xml_node_new(chr->console ? "console" : "serial");
    xml_node **tail = &e->children;
    xml_node_set_attr(e, "type", domain_chr_type_name(chr->type));
    if (chr->path)
        xml_node_set_attr(add_child(&tail, "source", NULL), "path", chr->path);
    snprintf(port, sizeof(port), "%d", chr->port);
    xml_node_set_attr(add_child(&tail, "target", NULL), "port", port);
    add_kept(&tail, chr->extra);
    return e;
}

static void add_memory(xml_node ***tail, const char *name, uint64_t kib)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, kib);
    xml_node_set_attr(add_child(tail, name, text), "unit", "KiB");
}

static void add_os(xml_node ***tail, const domain_def *def)
{
    xml_node *os = add_child(tail, "os", NULL);
    xml_node **ot = &os->children;
    xml_node *type = add_child(&ot, "type", def->os.type ? def->os.type : "hvm");
    if (def->os.arch)
        xml_node_set_attr(type, "arch", def->os.arch);
    if (def->os.machine)
        xml_node_set_attr(type, "machine", def->os.machine);
    if (def->os.kernel)
        add_child(&ot, "kernel", def->os.kernel);
    if (def->os.initrd)
        add_child(&ot, "initrd", def->os.initrd);
    if (def->os.cmdline)
        add_child(&ot, "cmdline", def->os.cmdline);
    for (size_t i = 0; i < def->os.nboot && i < 4; i++)
        xml_node_set_attr(add_child(&ot, "boot", NULL), "dev",
                          domain_boot_dev_name(def->os.boot[i]));
    add_kept(&ot, def->os.extra);
}

static xml_node *domain_node(const domain_def *def)
{
    char buf[64];
    xml_node *root = xml_node_new("domain");
    xml_node **tail = &root->children;
    if (def->virt_type)
        xml_node_set_attr(root, "type", def->virt_type);
    add_child(&tail, "name", def->name ? def->name : "");
    domain_uuid_format(def->uuid, buf);
    add_child(&tail, "uuid", buf);
    if (def->title)
        add_child(&tail, "title", def->title);
    if (def->description)
        add_child(&tail, "description", def->description);
    if (def->max_memory_kib) {
        snprintf(buf, sizeof(buf), "%" PRIu64, def->max_memory_kib);
        xml_node *m = add_child(&tail, "maxMemory", buf);
        if (def->max_memory_slots) {
            snprintf(buf, sizeof(buf), "%u", def->max_memory_slots);
            xml_node_set_attr(m, "slots", buf);
        }
        xml_node_set_attr(m, "unit", "KiB");
    }
    add_memory(&tail, "memory", def->memory_kib);
    add_memory(&tail, "currentMemory", def->current_memory_kib);
    snprintf(buf, sizeof(buf), "%u", def->vcpus);
    xml_node *vcpu = add_child(&tail, "vcpu", buf);
    xml_node_set_attr(vcpu, "placement", "static");
    if (def->cpuset)
        xml_node_set_attr(vcpu, "cpuset", def->cpuset);
    if (def->vcpus_current != def->vcpus) {
        snprintf(buf, sizeof(buf), "%u", def->vcpus_current);
        xml_node_set_attr(vcpu, "current", buf);
    }
    add_os(&tail, def);
    if (def->acpi || def->apic || def->pae || def->features_extra) {
        xml_node *f = add_child(&tail, "features", NULL);
        xml_node **ft = &f->children;
        if (def->acpi)
            add_child(&ft, "acpi", NULL);
        if (def->apic)
            add_child(&ft, "apic", NULL);
        if (def->pae)
            add_child(&ft, "pae", NULL);
        add_kept(&ft, def->features_extra);
    }
    add_child(&tail, "on_poweroff", domain_action_name(def->on_poweroff));
    add_child(&tail, "on_reboot", domain_action_name(def->on_reboot));
    add_child(&tail, "on_crash", domain_action_name(def->on_crash));
    if (def->ndisks || def->nnics || def->nchrs || def->devices_extra) {
        xml_node *d = add_child(&tail, "devices", NULL);
        xml_node **dt = &d->children;
        for (size_t i = 0; i < def->ndisks; i++) {
            *dt = disk_node(&def->disks[i]);
            dt = &(*dt)->next;
        }
        for (size_t i = 0; i < def->nnics; i++) {
            *dt = nic_node(&def->nics[i]);
            dt = &(*dt)->next;
        }
        for (size_t i = 0; i < def->nchrs; i++) {
            *dt = chr_node(&def->chrs[i]);
            dt = &(*dt)->next;
        }
        add_kept(&dt, def->devices_extra);
    }
    add_kept(&tail, def->extra);
    return root;
}

void domain_xml_format(const domain_def *def, xbuf *out, int indent)
{
    xml_node *root = domain_node(def);
    xml_format(root, out, indent);
    xml_node_free(root);
}

void domain_xml_format_disk(const domain_disk *disk, xbuf *out, int indent)
{
    xml_node *n = disk_node(disk);
    xml_format(n, out, indent);
    xml_node_free(n);
}

void domain_xml_format_nic(const domain_nic *nic, xbuf *out, int indent)
{
    xml_node *n = nic_node(nic);
    xml_format(n, out, indent);
    xml_node_free(n);
}
