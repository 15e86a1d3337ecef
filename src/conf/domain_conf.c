/*
 * The domain model (see domain_conf.h): construction, deep copy and equality, device
 * arrays, the enum spellings shared by every format, UUIDs and MAC addresses, the domain
 * name rules, CPU lists, and domain_def_validate. Validation lives here rather than in
 * the parsers so that domain XML, xm configs and S-expressions are held to exactly the
 * same rules, and so that a def built in code (by a driver, by attach) is checked too.
 * Every string the model holds must be printable UTF-8 that XML 1.0 can carry, so that
 * any valid def can be written as domain XML and read back unchanged.
 */
#include "domain_conf.h"

#include "util/text.h"
#include "util/alloc.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* cpuset names host CPUs; this bounds the bitmap validation builds (not the host). */
#define DOMAIN_CPUSET_BITS 4096
#define DOMAIN_TARGET_MAX 32   /* "vda", "xvda1", "hdc" */
#define DOMAIN_TOKEN_MAX 64    /* virt type, arch, machine, model */
#define DOMAIN_BRIDGE_MAX 15   /* IFNAMSIZ - 1 */
#define DOMAIN_CHR_PORT_MAX 255
#define DOMAIN_MEMORY_SLOTS_MAX 256
#define DOMAIN_WARNINGS_MAX 1000

/* ---- warnings ---- */

void domain_warnings_add(domain_warnings *w, const char *fmt, ...)
{
    if (!w || w->n >= DOMAIN_WARNINGS_MAX)
        return;
    xbuf b = XBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    w->items = xrealloc(w->items, (w->n + 1) * sizeof(*w->items));
    w->items[w->n++] = xbuf_steal(&b, NULL);
}

void domain_warnings_clear(domain_warnings *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->items[i]);
    free(w->items);
    w->items = NULL;
    w->n = 0;
}

/* ---- helpers for kept XML ---- */

static xml_node *xml_list_copy(const xml_node *first)
{
    xml_node *head = NULL, **tail = &head;
    for (const xml_node *n = first; n; n = n->next) {
        *tail = xml_node_copy(n);
        tail = &(*tail)->next;
    }
    return head;
}

static bool str_equal(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Trees compare by name, attributes (in order), text and children; lines are where a node
 * happened to be written, not part of its meaning. */
static bool xml_list_equal(const xml_node *a, const xml_node *b)
{
    for (; a && b; a = a->next, b = b->next) {
        if (!str_equal(a->name, b->name) || !str_equal(a->text, b->text) ||
            a->nattrs != b->nattrs)
            return false;
        for (size_t i = 0; i < a->nattrs; i++)
            if (!str_equal(a->attrs[i].name, b->attrs[i].name) ||
                !str_equal(a->attrs[i].value, b->attrs[i].value))
                return false;
        if (!xml_list_equal(a->children, b->children))
            return false;
    }
    return !a && !b;
}

static char *strdup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* ---- devices ---- */

void domain_disk_clear(domain_disk *disk)
{
    if (!disk)
        return;
    free(disk->source);
    free(disk->target);
    xml_node_free_list(disk->extra);
    memset(disk, 0, sizeof(*disk));
}

void domain_nic_clear(domain_nic *nic)
{
    if (!nic)
        return;
    free(nic->source);
    free(nic->model);
    xml_node_free_list(nic->extra);
    memset(nic, 0, sizeof(*nic));
}

void domain_chr_clear(domain_chr *chr)
{
    if (!chr)
        return;
    free(chr->path);
    xml_node_free_list(chr->extra);
    memset(chr, 0, sizeof(*chr));
}

void domain_disk_copy(domain_disk *dst, const domain_disk *src)
{
    *dst = *src;
    dst->source = strdup_or_null(src->source);
    dst->target = strdup_or_null(src->target);
    dst->extra = xml_list_copy(src->extra);
}

void domain_nic_copy(domain_nic *dst, const domain_nic *src)
{
    *dst = *src;
    dst->source = strdup_or_null(src->source);
    dst->model = strdup_or_null(src->model);
    dst->extra = xml_list_copy(src->extra);
}

static void domain_chr_copy(domain_chr *dst, const domain_chr *src)
{
    *dst = *src;
    dst->path = strdup_or_null(src->path);
    dst->extra = xml_list_copy(src->extra);
}

size_t domain_def_add_disk(domain_def *def, const domain_disk *disk)
{
    def->disks = xrealloc(def->disks, (def->ndisks + 1) * sizeof(*def->disks));
    domain_disk_copy(&def->disks[def->ndisks], disk);
    return def->ndisks++;
}

size_t domain_def_add_nic(domain_def *def, const domain_nic *nic)
{
    def->nics = xrealloc(def->nics, (def->nnics + 1) * sizeof(*def->nics));
    domain_nic_copy(&def->nics[def->nnics], nic);
    return def->nnics++;
}

void domain_def_remove_disk(domain_def *def, size_t i)
{
    if (i >= def->ndisks)
        return;
    domain_disk_clear(&def->disks[i]);
    memmove(&def->disks[i], &def->disks[i + 1], (def->ndisks - i - 1) * sizeof(*def->disks));
    def->ndisks--;
}

void domain_def_remove_nic(domain_def *def, size_t i)
{
    if (i >= def->nnics)
        return;
    domain_nic_clear(&def->nics[i]);
    memmove(&def->nics[i], &def->nics[i + 1], (def->nnics - i - 1) * sizeof(*def->nics));
    def->nnics--;
}

long domain_def_find_disk(const domain_def *def, const char *target)
{
    if (!target)
        return -1;
    for (size_t i = 0; i < def->ndisks; i++)
        if (def->disks[i].target && strcmp(def->disks[i].target, target) == 0)
            return (long)i;
    return -1;
}

static int mac_parse_quiet(const char *s, uint8_t mac[6]);

long domain_def_find_nic(const domain_def *def, const char *mac_or_index)
{
    if (!mac_or_index || !*mac_or_index)
        return -1;
    uint8_t mac[6];
    if (mac_parse_quiet(mac_or_index, mac) == 0) {
        for (size_t i = 0; i < def->nnics; i++)
            if (memcmp(def->nics[i].mac, mac, 6) == 0)
                return (long)i;
        return -1;
    }
    /* Only plain decimal digits are an index: "0x1" or " 1" name no NIC. */
    for (const char *p = mac_or_index; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long idx = strtoull(mac_or_index, NULL, 10);
    if (errno || idx >= def->nnics)
        return -1;
    return (long)idx;
}

/* ---- construction, copy, equality ---- */

domain_def *domain_def_new(void)
{
    domain_def *def = xcalloc(1, sizeof(*def));
    def->memory_kib = 128 * 1024;
    def->current_memory_kib = def->memory_kib;
    def->vcpus = 1;
    def->vcpus_current = 1;
    def->os.type = xstrdup("hvm");
    def->on_poweroff = DOMAIN_ACTION_DESTROY;
    def->on_reboot = DOMAIN_ACTION_RESTART;
    def->on_crash = DOMAIN_ACTION_DESTROY;
    def->acpi = true;
    domain_uuid_generate(def->uuid);
    return def;
}

void domain_def_free(domain_def *def)
{
    if (!def)
        return;
    free(def->virt_type);
    free(def->name);
    free(def->title);
    free(def->description);
    free(def->cpuset);
    free(def->os.type);
    free(def->os.arch);
    free(def->os.machine);
    free(def->os.kernel);
    free(def->os.initrd);
    free(def->os.cmdline);
    xml_node_free_list(def->os.extra);
    xml_node_free_list(def->features_extra);
    for (size_t i = 0; i < def->ndisks; i++)
        domain_disk_clear(&def->disks[i]);
    free(def->disks);
    for (size_t i = 0; i < def->nnics; i++)
        domain_nic_clear(&def->nics[i]);
    free(def->nics);
    for (size_t i = 0; i < def->nchrs; i++)
        domain_chr_clear(&def->chrs[i]);
    free(def->chrs);
    xml_node_free_list(def->devices_extra);
    xml_node_free_list(def->extra);
    free(def);
}

domain_def *domain_def_copy(const domain_def *def)
{
    domain_def *c = xmalloc(sizeof(*c));
    *c = *def;
    c->virt_type = strdup_or_null(def->virt_type);
    c->name = strdup_or_null(def->name);
    c->title = strdup_or_null(def->title);
    c->description = strdup_or_null(def->description);
    c->cpuset = strdup_or_null(def->cpuset);
    c->os.type = strdup_or_null(def->os.type);
    c->os.arch = strdup_or_null(def->os.arch);
    c->os.machine = strdup_or_null(def->os.machine);
    c->os.kernel = strdup_or_null(def->os.kernel);
    c->os.initrd = strdup_or_null(def->os.initrd);
    c->os.cmdline = strdup_or_null(def->os.cmdline);
    c->os.extra = xml_list_copy(def->os.extra);
    c->features_extra = xml_list_copy(def->features_extra);
    c->disks = def->ndisks ? xmalloc(def->ndisks * sizeof(*c->disks)) : NULL;
    for (size_t i = 0; i < def->ndisks; i++)
        domain_disk_copy(&c->disks[i], &def->disks[i]);
    c->nics = def->nnics ? xmalloc(def->nnics * sizeof(*c->nics)) : NULL;
    for (size_t i = 0; i < def->nnics; i++)
        domain_nic_copy(&c->nics[i], &def->nics[i]);
    c->chrs = def->nchrs ? xmalloc(def->nchrs * sizeof(*c->chrs)) : NULL;
    for (size_t i = 0; i < def->nchrs; i++)
        domain_chr_copy(&c->chrs[i], &def->chrs[i]);
    c->devices_extra = xml_list_copy(def->devices_extra);
    c->extra = xml_list_copy(def->extra);
    return c;
}

static bool disk_equal(const domain_disk *a, const domain_disk *b)
{
    return a->type == b->type && a->device == b->device && a->format == b->format &&
           str_equal(a->source, b->source) && str_equal(a->target, b->target) &&
           a->bus == b->bus && a->readonly == b->readonly && a->shareable == b->shareable &&
           xml_list_equal(a->extra, b->extra);
}

static bool nic_equal(const domain_nic *a, const domain_nic *b)
{
    return a->type == b->type && str_equal(a->source, b->source) &&
           memcmp(a->mac, b->mac, 6) == 0 && str_equal(a->model, b->model) &&
           xml_list_equal(a->extra, b->extra);
}

static bool chr_equal(const domain_chr *a, const domain_chr *b)
{
    return a->console == b->console && a->type == b->type && str_equal(a->path, b->path) &&
           a->port == b->port && xml_list_equal(a->extra, b->extra);
}

bool domain_def_equal(const domain_def *a, const domain_def *b)
{
    if (!a || !b)
        return a == b;
    if (!str_equal(a->virt_type, b->virt_type) || !str_equal(a->name, b->name) ||
        memcmp(a->uuid, b->uuid, 16) != 0 || !str_equal(a->title, b->title) ||
        !str_equal(a->description, b->description))
        return false;
    if (a->memory_kib != b->memory_kib || a->current_memory_kib != b->current_memory_kib ||
        a->max_memory_kib != b->max_memory_kib || a->max_memory_slots != b->max_memory_slots)
        return false;
    if (a->vcpus != b->vcpus || a->vcpus_current != b->vcpus_current ||
        !str_equal(a->cpuset, b->cpuset))
        return false;
    if (!str_equal(a->os.type, b->os.type) || !str_equal(a->os.arch, b->os.arch) ||
        !str_equal(a->os.machine, b->os.machine) || !str_equal(a->os.kernel, b->os.kernel) ||
        !str_equal(a->os.initrd, b->os.initrd) || !str_equal(a->os.cmdline, b->os.cmdline) ||
        a->os.nboot != b->os.nboot || !xml_list_equal(a->os.extra, b->os.extra))
        return false;
    for (size_t i = 0; i < a->os.nboot && i < 4; i++)
        if (a->os.boot[i] != b->os.boot[i])
            return false;
    if (a->acpi != b->acpi || a->apic != b->apic || a->pae != b->pae ||
        !xml_list_equal(a->features_extra, b->features_extra))
        return false;
    if (a->on_poweroff != b->on_poweroff || a->on_reboot != b->on_reboot ||
        a->on_crash != b->on_crash)
        return false;
    if (a->ndisks != b->ndisks || a->nnics != b->nnics || a->nchrs != b->nchrs)
        return false;
    for (size_t i = 0; i < a->ndisks; i++)
        if (!disk_equal(&a->disks[i], &b->disks[i]))
            return false;
    for (size_t i = 0; i < a->nnics; i++)
        if (!nic_equal(&a->nics[i], &b->nics[i]))
            return false;
    for (size_t i = 0; i < a->nchrs; i++)
        if (!chr_equal(&a->chrs[i], &b->chrs[i]))
            return false;
    return xml_list_equal(a->devices_extra, b->devices_extra) &&
           xml_list_equal(a->extra, b->extra);
}

/* ---- enum spellings ---- */

static const char *const action_names[] = {
    [DOMAIN_ACTION_DESTROY] = "destroy",
    [DOMAIN_ACTION_RESTART] = "restart",
    [DOMAIN_ACTION_PRESERVE] = "preserve",
    [DOMAIN_ACTION_RENAME_RESTART] = "rename-restart",
};
static const char *const disk_type_names[] = {
    [DOMAIN_DISK_FILE] = "file",
    [DOMAIN_DISK_BLOCK] = "block",
};
static const char *const disk_device_names[] = {
    [DOMAIN_DISK_DISK] = "disk",
    [DOMAIN_DISK_CDROM] = "cdrom",
};
static const char *const disk_format_names[] = {
    [DOMAIN_DISK_RAW] = "raw",
    [DOMAIN_DISK_QCOW2] = "qcow2",
};
static const char *const disk_bus_names[] = {
    [DOMAIN_BUS_VIRTIO] = "virtio", [DOMAIN_BUS_IDE] = "ide", [DOMAIN_BUS_SCSI] = "scsi",
    [DOMAIN_BUS_SATA] = "sata",     [DOMAIN_BUS_XEN] = "xen", [DOMAIN_BUS_USB] = "usb",
};
static const char *const nic_type_names[] = {
    [DOMAIN_NIC_USER] = "user",
    [DOMAIN_NIC_NETWORK] = "network",
    [DOMAIN_NIC_BRIDGE] = "bridge",
};
static const char *const chr_type_names[] = {
    [DOMAIN_CHR_PTY] = "pty",
    [DOMAIN_CHR_FILE] = "file",
    [DOMAIN_CHR_UNIX] = "unix",
    [DOMAIN_CHR_NULL] = "null",
};
static const char *const boot_dev_names[] = {
    [DOMAIN_BOOT_HD] = "hd",
    [DOMAIN_BOOT_CDROM] = "cdrom",
    [DOMAIN_BOOT_NETWORK] = "network",
    [DOMAIN_BOOT_FD] = "fd",
};

static const char *enum_name(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

static int enum_parse(const char *const *names, size_t n, const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

#define ENUM_FUNCS(prefix, type, table)                                                       \
    const char *prefix##_name(type v)                                                          \
    {                                                                                          \
        return enum_name(table, sizeof(table) / sizeof(table[0]), (int)v);                     \
    }                                                                                          \
    int prefix##_parse(const char *s)                                                          \
    {                                                                                          \
        return enum_parse(table, sizeof(table) / sizeof(table[0]), s);                         \
    }

ENUM_FUNCS(domain_action, domain_action, action_names)
ENUM_FUNCS(domain_disk_type, domain_disk_type, disk_type_names)
ENUM_FUNCS(domain_disk_device, domain_disk_device, disk_device_names)
ENUM_FUNCS(domain_disk_format, domain_disk_format, disk_format_names)
ENUM_FUNCS(domain_disk_bus, domain_disk_bus, disk_bus_names)
ENUM_FUNCS(domain_nic_type, domain_nic_type, nic_type_names)
ENUM_FUNCS(domain_chr_type, domain_chr_type, chr_type_names)
ENUM_FUNCS(domain_boot_dev, domain_boot_dev, boot_dev_names)

/* ---- UUID and MAC ---- */

/* Random bytes for identities. getrandom() first; /dev/urandom when the syscall is missing
 * (old kernels, seccomp); as a last resort the process aborts, because a predictable or
 * repeated UUID/MAC would silently collide with another domain. */
static void random_bytes(uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (fd >= 0)
        close(fd);
    if (got != n) {
        fprintf(stderr, "xend: no source of random bytes for UUIDs and MAC addresses\n");
        abort();
    }
}

void domain_uuid_format(const uint8_t uuid[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[uuid[i] >> 4];
        out[o++] = hex[uuid[i] & 15];
    }
    out[o] = '\0';
}

static int uuid_parse_quiet(const char *s, uint8_t uuid[16])
{
    if (!s)
        return -1;
    size_t len = strlen(s);
    bool dashed = len == 36;
    if (len != 36 && len != 32)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < 16; i++) {
        if (dashed && (i == 4 || i == 6 || i == 8 || i == 10)) {
            if (s[j++] != '-')
                return -1;
        }
        int hi = xend_hex_digit(s[j]), lo = xend_hex_digit(s[j + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        uuid[i] = (uint8_t)(hi << 4 | lo);
        j += 2;
    }
    return 0;
}

int domain_uuid_parse(const char *s, uint8_t uuid[16])
{
    uint8_t tmp[16];
    if (uuid_parse_quiet(s, tmp) < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "'%.64s' is not a UUID (expected 8-4-4-4-12 or 32 hex digits)",
                          s ? s : "");
        return -1;
    }
    memcpy(uuid, tmp, 16);
    return 0;
}

void domain_uuid_generate(uint8_t uuid[16])
{
    random_bytes(uuid, 16);
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4: random */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void domain_mac_format(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

static int mac_parse_quiet(const char *s, uint8_t mac[6])
{
    if (!s || strlen(s) != 17)
        return -1;
    for (size_t i = 0; i < 6; i++) {
        const char *p = s + i * 3;
        int hi = xend_hex_digit(p[0]), lo = xend_hex_digit(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int domain_mac_parse(const char *s, uint8_t mac[6])
{
    uint8_t tmp[6];
    if (mac_parse_quiet(s, tmp) < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "'%.64s' is not a MAC address (expected six hex pairs, "
                          "like 52:54:00:12:34:56)",
                          s ? s : "");
        return -1;
    }
    memcpy(mac, tmp, 6);
    return 0;
}

void domain_mac_generate(uint8_t mac[6])
{
    mac[0] = 0x52; /* QEMU's locally administered prefix, as libvirt uses */
    mac[1] = 0x54;
    mac[2] = 0x00;
    random_bytes(mac + 3, 3);
}

/* ---- names ---- */

int domain_name_check(const char *name)
{
    if (!name || !*name) {
        xend_error_report(XEND_ERR_INVALID_NAME, "domain name is empty");
        return -1;
    }
    size_t len = strlen(name);
    if (len > DOMAIN_NAME_MAX) {
        xend_error_report(XEND_ERR_INVALID_NAME,
                          "domain name '%.32s...' is %zu bytes long (at most %d)", name, len,
                          DOMAIN_NAME_MAX);
        return -1;
    }
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '+' || c == '-';
        if (!ok) {
            if (c >= 0x21 && c < 0x7f)
                xend_error_report(XEND_ERR_INVALID_NAME,
                                  "domain name '%s' contains '%c' (allowed: letters, digits and "
                                  "_ . : + -)",
                                  name, c);
            else
                xend_error_report(XEND_ERR_INVALID_NAME,
                                  "domain name contains a space, control or non-ASCII character "
                                  "(byte 0x%02x; allowed: letters, digits and _ . : + -)",
                                  c);
            return -1;
        }
        if (c < '0' || c > '9')
            digits = false;
    }
    if (name[0] == '-' || name[0] == '.') {
        xend_error_report(XEND_ERR_INVALID_NAME, "domain name '%s' must not start with '%c'",
                          name, name[0]);
        return -1;
    }
    if (digits) {
        xend_error_report(XEND_ERR_INVALID_NAME,
                          "domain name '%s' is all digits, which would read as a domain id",
                          name);
        return -1;
    }
    uint8_t uuid[16];
    if (uuid_parse_quiet(name, uuid) == 0) {
        xend_error_report(XEND_ERR_INVALID_NAME,
                          "domain name '%s' has the form of a UUID, which would be ambiguous",
                          name);
        return -1;
    }
    return 0;
}

/* ---- CPU lists ---- */

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* One CPU number: decimal digits only, below maxcpus. */
static int cpulist_number(const char **pp, unsigned maxcpus, unsigned *out, char *err,
                          size_t errlen)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9') {
        snprintf(err, errlen, "expected a CPU number at '%.16s'", p);
        return -1;
    }
    const char *start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p - start > 9) {
        snprintf(err, errlen, "CPU number '%.*s' is out of range", (int)(p - start), start);
        return -1;
    }
    unsigned long v = strtoul(start, NULL, 10);
    if (v >= maxcpus) {
        snprintf(err, errlen, "CPU %lu is out of range (0..%u)", v, maxcpus - 1);
        return -1;
    }
    *out = (unsigned)v;
    *pp = p;
    return 0;
}

/* "0-3,^2,5": items separated by commas; N, N-M, or ^N / ^N-M to take CPUs out again.
 * Spaces around items are allowed (libvirt allows them). */
static int cpulist_parse_impl(const char *s, unsigned maxcpus, uint8_t *bitmap, char *err,
                              size_t errlen)
{
    if (!s) {
        snprintf(err, errlen, "no CPU list");
        return -1;
    }
    if (strlen(s) > DOMAIN_TEXT_MAX) {
        snprintf(err, errlen, "CPU list is longer than %d bytes", DOMAIN_TEXT_MAX);
        return -1;
    }
    if (maxcpus == 0) {
        snprintf(err, errlen, "no CPU may be selected");
        return -1;
    }
    memset(bitmap, 0, (maxcpus + 7) / 8);
    const char *p = skip_spaces(s);
    if (!*p) {
        snprintf(err, errlen, "CPU list is empty");
        return -1;
    }
    for (;;) {
        bool negate = false;
        if (*p == '^') {
            negate = true;
            p++;
        }
        unsigned lo, hi;
        if (cpulist_number(&p, maxcpus, &lo, err, errlen) < 0)
            return -1;
        hi = lo;
        p = skip_spaces(p);
        if (*p == '-') {
            p = skip_spaces(p + 1);
            if (cpulist_number(&p, maxcpus, &hi, err, errlen) < 0)
                return -1;
            if (hi < lo) {
                snprintf(err, errlen, "range %u-%u runs backwards", lo, hi);
                return -1;
            }
            p = skip_spaces(p);
        }
        for (unsigned c = lo; c <= hi; c++) {
            if (negate)
                bitmap[c / 8] &= (uint8_t) ~(1u << (c % 8));
            else
                bitmap[c / 8] |= (uint8_t)(1u << (c % 8));
        }
        if (!*p)
            break;
        if (*p != ',') {
            snprintf(err, errlen, "unexpected '%c' (use N, N-M and ^N separated by commas)", *p);
            return -1;
        }
        p = skip_spaces(p + 1);
    }
    int count = 0;
    for (unsigned c = 0; c < maxcpus; c++)
        if (bitmap[c / 8] & (1u << (c % 8)))
            count++;
    return count;
}

int domain_cpulist_parse(const char *s, unsigned maxcpus, uint8_t *bitmap)
{
    char err[128];
    int n = cpulist_parse_impl(s, maxcpus, bitmap, err, sizeof(err));
    if (n < 0)
        xend_error_report(XEND_ERR_INVALID_ARG, "CPU list '%.64s': %s", s ? s : "", err);
    return n;
}

char *domain_cpulist_format(const uint8_t *bitmap, unsigned maxcpus)
{
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "");
    for (unsigned c = 0; c < maxcpus;) {
        if (!(bitmap[c / 8] & (1u << (c % 8)))) {
            c++;
            continue;
        }
        unsigned end = c;
        while (end + 1 < maxcpus && (bitmap[(end + 1) / 8] & (1u << ((end + 1) % 8))))
            end++;
        if (b.len)
            xbuf_addc(&b, ',');
        if (end > c)
            xbuf_printf(&b, "%u-%u", c, end);
        else
            xbuf_printf(&b, "%u", c);
        c = end + 1;
    }
    return xbuf_steal(&b, NULL);
}

/* ---- validation ---- */

/* Length in bytes of the UTF-8 sequence at s (at most n bytes available), or 0 if it is
 * not well-formed (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* A string the model may hold: at most DOMAIN_TEXT_MAX bytes of UTF-8 that XML 1.0 can
 * carry; single-line strings (everything but description) hold no control characters at
 * all. Reports CONFIG_INVALID naming what. */
static int text_check(const char *what, const char *s, bool multiline)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len > DOMAIN_TEXT_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s is %zu bytes long (at most %d)", what,
                          len, DOMAIN_TEXT_MAX);
        return -1;
    }
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_char(u + i, len - i, &cp);
        if (n == 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s is not valid UTF-8 (byte %zu)", what,
                              i);
            return -1;
        }
        bool control = cp < 0x20 && !(multiline && (cp == '\t' || cp == '\n' || cp == '\r'));
        if (control || cp == 0xfffe || cp == 0xffff) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s contains the character U+%04" PRIX32 ", which is not allowed%s",
                              what, cp, cp == '\n' ? " (it must be a single line)" : "");
            return -1;
        }
        i += n;
    }
    return 0;
}

/* A short identifier: non-empty, at most max bytes of letters, digits and extra. */
static int token_check(const char *what, const char *s, size_t max, const char *extra)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len == 0 || len > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s must be 1 to %zu characters long", what,
                          max);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c)))) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s '%.64s' may only hold letters, digits and '%s'", what, s,
                              extra);
            return -1;
        }
    }
    return 0;
}

/* Memory amounts in messages: MiB when both are whole MiB, otherwise KiB. */
static void memory_pair(uint64_t a, uint64_t b, char *sa, char *sb, size_t size)
{
    if (a % 1024 == 0 && b % 1024 == 0) {
        snprintf(sa, size, "%" PRIu64 " MiB", a / 1024);
        snprintf(sb, size, "%" PRIu64 " MiB", b / 1024);
    } else {
        snprintf(sa, size, "%" PRIu64 " KiB", a);
        snprintf(sb, size, "%" PRIu64 " KiB", b);
    }
}

int domain_disk_validate(const domain_disk *disk)
{
    const char *t = disk->target ? disk->target : "";
    if (!disk->target || !*disk->target) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "a disk has no target device name");
        return -1;
    }
    if (token_check("disk target", disk->target, DOMAIN_TARGET_MAX, "_") < 0)
        return -1;
    if ((unsigned)disk->type >= DOMAIN_DISK_TYPE_LAST ||
        (unsigned)disk->device >= DOMAIN_DISK_DEVICE_LAST ||
        (unsigned)disk->format >= DOMAIN_DISK_FORMAT_LAST ||
        (unsigned)disk->bus >= DOMAIN_BUS_LAST) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "disk '%s' has an invalid type, device, "
                          "format or bus", t);
        return -1;
    }
    if (disk->source && !*disk->source) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "disk '%s' has an empty source path", t);
        return -1;
    }
    if (!disk->source && disk->device != DOMAIN_DISK_CDROM) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk '%s' has no source path (only a cdrom may be empty)", t);
        return -1;
    }
    char what[80];
    snprintf(what, sizeof(what), "source of disk '%s'", t);
    return text_check(what, disk->source, false);
}

int domain_nic_validate(const domain_nic *nic)
{
    char mac[18];
    domain_mac_format(nic->mac, mac);
    if ((unsigned)nic->type >= DOMAIN_NIC_TYPE_LAST) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "interface %s has an invalid type", mac);
        return -1;
    }
    if (nic->mac[0] & 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "interface MAC address %s is a multicast address (the first byte "
                          "must be even)", mac);
        return -1;
    }
    if (nic->type == DOMAIN_NIC_USER && nic->source) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "interface %s of type 'user' takes no network or bridge", mac);
        return -1;
    }
    if (nic->type != DOMAIN_NIC_USER) {
        const char *what = nic->type == DOMAIN_NIC_BRIDGE ? "bridge" : "network";
        if (!nic->source || !*nic->source) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "interface %s of type '%s' names no %s",
                              mac, what, what);
            return -1;
        }
        char w[64];
        snprintf(w, sizeof(w), "%s name of interface %s", what, mac);
        if (token_check(w, nic->source,
                        nic->type == DOMAIN_NIC_BRIDGE ? DOMAIN_BRIDGE_MAX : DOMAIN_NAME_MAX,
                        nic->type == DOMAIN_NIC_BRIDGE ? "_.-" : "_.:+-") < 0)
            return -1;
    }
    if (nic->model && token_check("interface model", nic->model, DOMAIN_TOKEN_MAX, "_.-") < 0)
        return -1;
    return 0;
}

static int chr_validate(const domain_chr *chr)
{
    const char *kind = chr->console ? "console" : "serial";
    if ((unsigned)chr->type >= DOMAIN_CHR_TYPE_LAST) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "a %s device has an invalid type", kind);
        return -1;
    }
    if (chr->port < 0 || chr->port > DOMAIN_CHR_PORT_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s port %d is out of range (0..%d)", kind,
                          chr->port, DOMAIN_CHR_PORT_MAX);
        return -1;
    }
    if ((chr->type == DOMAIN_CHR_FILE || chr->type == DOMAIN_CHR_UNIX) &&
        (!chr->path || !*chr->path)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s device of type '%s' needs a path", kind,
                          domain_chr_type_name(chr->type));
        return -1;
    }
    if ((chr->type == DOMAIN_CHR_PTY || chr->type == DOMAIN_CHR_NULL) && chr->path) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s device of type '%s' takes no path", kind,
                          domain_chr_type_name(chr->type));
        return -1;
    }
    char what[32];
    snprintf(what, sizeof(what), "%s path", kind);
    return text_check(what, chr->path, false);
}

static int validate_memory(const domain_def *def)
{
    char a[48], b[48];
    if (def->memory_kib == 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "memory must be greater than 0");
        return -1;
    }
    if (def->memory_kib > DOMAIN_MEMORY_MAX_KIB) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "memory (%" PRIu64 " KiB) exceeds the limit of %llu KiB (16 TiB)",
                          def->memory_kib, DOMAIN_MEMORY_MAX_KIB);
        return -1;
    }
    if (def->current_memory_kib == 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "currentMemory must be greater than 0");
        return -1;
    }
    if (def->current_memory_kib > def->memory_kib) {
        memory_pair(def->current_memory_kib, def->memory_kib, a, b, sizeof(a));
        xend_error_report(XEND_ERR_CONFIG_INVALID, "currentMemory (%s) exceeds memory (%s)", a,
                          b);
        return -1;
    }
    if (def->max_memory_kib) {
        if (def->max_memory_kib > DOMAIN_MEMORY_MAX_KIB) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "maxMemory (%" PRIu64 " KiB) exceeds the limit of %llu KiB "
                              "(16 TiB)", def->max_memory_kib, DOMAIN_MEMORY_MAX_KIB);
            return -1;
        }
        if (def->max_memory_kib < def->memory_kib) {
            memory_pair(def->max_memory_kib, def->memory_kib, a, b, sizeof(a));
            xend_error_report(XEND_ERR_CONFIG_INVALID, "maxMemory (%s) is less than memory (%s)",
                              a, b);
            return -1;
        }
    } else if (def->max_memory_slots) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "memory slots are set without maxMemory");
        return -1;
    }
    if (def->max_memory_slots > DOMAIN_MEMORY_SLOTS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "maxMemory slots (%u) exceed the limit of %d",
                          def->max_memory_slots, DOMAIN_MEMORY_SLOTS_MAX);
        return -1;
    }
    return 0;
}

static int validate_cpus(const domain_def *def)
{
    if (def->vcpus < 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "vcpu count must be at least 1");
        return -1;
    }
    if (def->vcpus > DOMAIN_VCPUS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "vcpu count (%u) exceeds the limit of %d",
                          def->vcpus, DOMAIN_VCPUS_MAX);
        return -1;
    }
    if (def->vcpus_current < 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "current vcpu count must be at least 1");
        return -1;
    }
    if (def->vcpus_current > def->vcpus) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "current vcpu count (%u) exceeds vcpu count (%u)", def->vcpus_current,
                          def->vcpus);
        return -1;
    }
    if (def->cpuset) {
        uint8_t bitmap[DOMAIN_CPUSET_BITS / 8];
        char err[128];
        int n = cpulist_parse_impl(def->cpuset, DOMAIN_CPUSET_BITS, bitmap, err, sizeof(err));
        if (n < 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "vcpu cpuset '%.64s': %s", def->cpuset,
                              err);
            return -1;
        }
        if (n == 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "vcpu cpuset '%.64s' selects no CPU",
                              def->cpuset);
            return -1;
        }
    }
    return 0;
}

bool domain_os_type_known(const char *type)
{
    static const char *const os_types[] = {"hvm", "linux", "xen", "xenpvh"};
    for (size_t i = 0; type && i < sizeof(os_types) / sizeof(os_types[0]); i++)
        if (strcmp(type, os_types[i]) == 0)
            return true;
    return false;
}

static int validate_os(const domain_def *def)
{
    if (!domain_os_type_known(def->os.type)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "os type '%.32s' is not supported (expected hvm, linux, xen or xenpvh)",
                          def->os.type ? def->os.type : "");
        return -1;
    }
    if (token_check("os arch", def->os.arch, DOMAIN_TOKEN_MAX, "_") < 0 ||
        token_check("os machine", def->os.machine, DOMAIN_TOKEN_MAX, "_.-") < 0 ||
        text_check("kernel path", def->os.kernel, false) < 0 ||
        text_check("initrd path", def->os.initrd, false) < 0 ||
        text_check("kernel command line", def->os.cmdline, false) < 0)
        return -1;
    if (def->os.nboot > 4) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "at most 4 boot devices can be given");
        return -1;
    }
    for (size_t i = 0; i < def->os.nboot; i++) {
        if ((unsigned)def->os.boot[i] >= DOMAIN_BOOT_LAST) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "boot device %zu is invalid", i + 1);
            return -1;
        }
    }
    return 0;
}

static int validate_devices(const domain_def *def)
{
    if (def->ndisks > DOMAIN_DISKS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%zu disks exceed the limit of %d",
                          def->ndisks, DOMAIN_DISKS_MAX);
        return -1;
    }
    if (def->nnics > DOMAIN_NICS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%zu interfaces exceed the limit of %d",
                          def->nnics, DOMAIN_NICS_MAX);
        return -1;
    }
    if (def->nchrs > DOMAIN_CHARS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%zu serial and console devices exceed the limit of %d", def->nchrs,
                          DOMAIN_CHARS_MAX);
        return -1;
    }
    for (size_t i = 0; i < def->ndisks; i++) {
        if (domain_disk_validate(&def->disks[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(def->disks[i].target, def->disks[j].target) == 0) {
                xend_error_report(XEND_ERR_CONFIG_INVALID, "disk target '%s' is used twice",
                                  def->disks[i].target);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < def->nnics; i++) {
        if (domain_nic_validate(&def->nics[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (memcmp(def->nics[i].mac, def->nics[j].mac, 6) == 0) {
                char mac[18];
                domain_mac_format(def->nics[i].mac, mac);
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "MAC address %s is used by two interfaces", mac);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < def->nchrs; i++)
        if (chr_validate(&def->chrs[i]) < 0)
            return -1;
    return 0;
}

int domain_def_validate(const domain_def *def)
{
    if (!def->name) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "the domain has no name");
        return -1;
    }
    if (domain_name_check(def->name) < 0)
        return -1;
    if (def->virt_type && token_check("domain type", def->virt_type, DOMAIN_TOKEN_MAX, "_-") < 0)
        return -1;
    if (text_check("title", def->title, false) < 0 ||
        text_check("description", def->description, true) < 0)
        return -1;
    if (validate_memory(def) < 0 || validate_cpus(def) < 0 || validate_os(def) < 0)
        return -1;
    if ((unsigned)def->on_poweroff >= DOMAIN_ACTION_LAST ||
        (unsigned)def->on_reboot >= DOMAIN_ACTION_LAST ||
        (unsigned)def->on_crash >= DOMAIN_ACTION_LAST) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "a lifecycle action is invalid");
        return -1;
    }
    return validate_devices(def);
}
