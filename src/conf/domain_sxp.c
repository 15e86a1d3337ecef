/*
 * Domain configurations as Xend S-expressions: the (vm ...) config that xm sent to
 * xend.domain.create and the (domain ...) record that xend.domain and `xm list --long`
 * return (reference/xend-xm.md §1.2, §2.3). This file holds the meaning of Xend's config
 * keys; xmcfg.c turns an xm config file into the same (vm ...) form, as xm's create.py
 * did, so both formats share one interpretation.
 *
 * Memory is MiB in sxp and KiB in the model: `memory` is the balloon target
 * (current_memory_kib), `maxmem` the boot maximum (memory_kib). Every atom is read as
 * text, so a client may send XML-RPC ints or strings; every atom written is a string, as
 * Xend's fixup_sxpr did to keep large numbers out of 32-bit <int>.
 *
 * What the model holds but Xend's sxp cannot say (title, description, virt type, arch,
 * machine, disk bus other than the one a device name implies, a disk other than a cdrom
 * that is both read-only and shared, a libvirt network, consoles, serial port numbers other
 * than 0, 1, ..., kept XML) is not written; parse(format(def)) equals def for every def
 * without those.
 */
#include "conf/domain_sxp.h"

#include "conf/sxp.h"
#include "util/alloc.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DSXP_MEMORY_MAX_MIB (DOMAIN_MEMORY_MAX_KIB / 1024)

/* ---- reading atoms ---- */

/* Text of an atom (STRING, or INT/I8 formatted into buf; BOOL as 0/1, as Python clients
 * send True), or NULL if v is not one. */
static const char *dsxp_atom_text(const xmlrpc_value *v, char buf[32])
{
    if (!v)
        return NULL;
    if (v->type == XMLRPC_STRING)
        return v->u.s.ptr;
    if (v->type == XMLRPC_BOOL)
        return v->u.b ? "1" : "0";
    if (v->type == XMLRPC_INT || v->type == XMLRPC_I8) {
        snprintf(buf, 32, "%" PRId64, v->u.i);
        return buf;
    }
    return NULL;
}

/* The value of a (key value) pair as text; (key) alone reads as "". NULL with
 * CONFIG_INVALID when the pair holds more, or something other than an atom. */
static const char *dsxp_pair_text(const xmlrpc_value *pair, const char *key, char buf[32])
{
    if (pair->u.a.n == 1) {
        buf[0] = '\0';
        return buf;
    }
    const char *text = pair->u.a.n == 2 ? dsxp_atom_text(pair->u.a.items[1], buf) : NULL;
    if (!text)
        xend_error_report(XEND_ERR_CONFIG_INVALID, "(%s ...) must hold exactly one atom", key);
    return text;
}

/* A whole decimal number 0..max, nothing else (no sign, no spaces, no 0x). */
static int dsxp_parse_uint(const char *key, const char *text, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    bool ok = *text != '\0' && strlen(text) <= 20;
    for (const char *p = text; ok && *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            ok = false;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!ok || v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(%s %.40s): expected a whole number from 0 to %" PRIu64, key, text, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int dsxp_parse_bool(const char *key, const char *text, bool *out)
{
    if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "(%s %.40s): expected 0 or 1", key, text);
        return -1;
    }
    *out = text[0] == '1';
    return 0;
}

/* Re-report the pending error (from a domain_conf helper) as CONFIG_INVALID with context. */
static void dsxp_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void dsxp_error_context(const char *fmt, ...)
{
    char msg[sizeof(xend_error_last()->message)];
    snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: %s", ctx, msg);
}

static void dsxp_set_str(char **field, const char *text)
{
    free(*field);
    *field = *text ? xstrdup(text) : NULL;
}

/* ---- disks ---- */

int domain_sxp_parse_uname(const char *uname, domain_disk *disk)
{
    const char *path;
    domain_disk_type type = DOMAIN_DISK_FILE;
    domain_disk_format format = DOMAIN_DISK_RAW;
    if (!uname) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "no disk uname given");
        return -1;
    }
    if (strncmp(uname, "phy:", 4) == 0) {
        type = DOMAIN_DISK_BLOCK;
        path = uname + 4;
    } else if (strncmp(uname, "file:", 5) == 0) {
        path = uname + 5;
    } else if (strncmp(uname, "tap:aio:", 8) == 0) {
        path = uname + 8;
    } else if (strncmp(uname, "tap:qcow2:", 10) == 0) {
        format = DOMAIN_DISK_QCOW2;
        path = uname + 10;
    } else if (strncmp(uname, "tap:", 4) == 0) {
        const char *end = strchr(uname + 4, ':');
        int n = end ? (int)(end - uname - 4) : (int)strlen(uname + 4);
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk '%.200s': tap driver '%.*s' is not supported (use tap:aio: or "
                          "tap:qcow2:)",
                          uname, n > 32 ? 32 : n, uname + 4);
        return -1;
    } else if (*uname == '\0') {
        path = uname; /* Xend's empty cdrom drive */
    } else {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk '%.200s': expected phy:DEVICE, file:PATH, tap:aio:PATH or "
                          "tap:qcow2:PATH",
                          uname);
        return -1;
    }
    free(disk->source);
    disk->source = NULL;
    if (*path) {
        /* xm's phy:hda1 means /dev/hda1. */
        disk->source = type == DOMAIN_DISK_BLOCK && path[0] != '/' ? xasprintf("/dev/%s", path)
                                                                   : xstrdup(path);
    }
    disk->type = type;
    disk->format = format;
    return 0;
}

/* Xend's device name: optional "ioemu:" (HVM configs), NAME, optional ":cdrom"/":disk".
 * The bus follows from the name, since xm has no other way to say it. */
static int dsxp_parse_vdev(const char *dev, domain_disk *disk)
{
    const char *name = dev;
    if (strncmp(name, "ioemu:", 6) == 0)
        name += 6;
    const char *colon = strchr(name, ':');
    size_t len = colon ? (size_t)(colon - name) : strlen(name);
    domain_disk_device device = DOMAIN_DISK_DISK;
    if (colon) {
        if (strcmp(colon, ":cdrom") == 0) {
            device = DOMAIN_DISK_CDROM;
        } else if (strcmp(colon, ":disk") != 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "disk device '%.64s': expected NAME, NAME:cdrom or NAME:disk", dev);
            return -1;
        }
    }
    static const struct {
        const char *prefix;
        domain_disk_bus bus;
    } buses[] = {{"xvd", DOMAIN_BUS_XEN},
                 {"hd", DOMAIN_BUS_IDE},
                 {"sd", DOMAIN_BUS_SCSI},
                 {"vd", DOMAIN_BUS_VIRTIO}};
    size_t i, plen = 0;
    for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
        plen = strlen(buses[i].prefix);
        if (len > plen && strncmp(name, buses[i].prefix, plen) == 0)
            break;
    }
    /* After the prefix: a drive letter run, then an optional partition number. */
    size_t j = plen;
    bool ok = i < sizeof(buses) / sizeof(buses[0]) && len <= 32;
    while (ok && j < len && name[j] >= 'a' && name[j] <= 'z')
        j++;
    ok = ok && j > plen;
    while (ok && j < len && name[j] >= '0' && name[j] <= '9')
        j++;
    if (!ok || j != len) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk device '%.64s': expected a name like xvda, hda, sda or vda "
                          "(optionally with a partition number)",
                          dev);
        return -1;
    }
    free(disk->target);
    disk->target = xstrndup(name, len);
    disk->bus = buses[i].bus;
    disk->device = device;
    return 0;
}

static int dsxp_parse_disk(const xmlrpc_value *vbd, domain_disk *disk)
{
    memset(disk, 0, sizeof(*disk));
    const char *uname = NULL, *dev = NULL, *mode = "r";
    char ubuf[32], dbuf[32], mbuf[32];
    for (size_t i = 1; i < vbd->u.a.n; i++) {
        const xmlrpc_value *pair = vbd->u.a.items[i];
        const char *key = sxp_name(pair);
        if (!key) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(vbd ...): element %zu is not a (key value) list", i);
            return -1;
        }
        /* backend, uuid, bootable...: Xend bookkeeping, skipped */
        if (strcmp(key, "uname") == 0 && !(uname = dsxp_pair_text(pair, key, ubuf)))
            return -1;
        if (strcmp(key, "dev") == 0 && !(dev = dsxp_pair_text(pair, key, dbuf)))
            return -1;
        if (strcmp(key, "mode") == 0 && !(mode = dsxp_pair_text(pair, key, mbuf)))
            return -1;
    }
    if (!uname || !dev) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(vbd ...) needs both (uname ...) and (dev ...)");
        return -1;
    }
    if (domain_sxp_parse_uname(uname, disk) < 0 || dsxp_parse_vdev(dev, disk) < 0)
        goto fail;
    if (strcmp(mode, "r") == 0) {
        disk->readonly = true;
    } else if (strcmp(mode, "w!") == 0) {
        disk->shareable = true;
    } else if (strcmp(mode, "w") != 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk '%.64s': mode '%.16s' is not r, w or w! (shared)", dev, mode);
        goto fail;
    }
    /* A cdrom is read-only whatever the mode says, as in libvirt and QEMU. It keeps a w!
     * (shareable: others may write the image while the guest has it), so a cdrom can be
     * both; domain_sxp_format_disk writes that back as w!. */
    if (disk->device == DOMAIN_DISK_CDROM)
        disk->readonly = true;
    if (domain_disk_validate(disk) < 0)
        goto fail;
    return 0;
fail:
    domain_disk_clear(disk);
    return -1;
}

static void dsxp_format_uname(const domain_disk *disk, xbuf *out)
{
    if (disk->format == DOMAIN_DISK_QCOW2)
        xbuf_adds(out, "tap:qcow2:");
    else if (disk->type == DOMAIN_DISK_BLOCK)
        xbuf_adds(out, "phy:");
    else
        xbuf_adds(out, "file:");
    if (disk->source)
        xbuf_adds(out, disk->source);
}

xmlrpc_value *domain_sxp_format_disk(const domain_disk *disk)
{
    xmlrpc_value *vbd = sxp_list("vbd");
    xbuf u = XBUF_INIT;
    dsxp_format_uname(disk, &u);
    xmlrpc_value *pair = sxp_list("uname");
    xmlrpc_array_append(pair, xmlrpc_string_take(xbuf_steal(&u, NULL)));
    xmlrpc_array_append(vbd, pair);
    sxp_addf(vbd, "dev", "%s%s", disk->target ? disk->target : "",
             disk->device == DOMAIN_DISK_CDROM ? ":cdrom" : "");
    /* A cdrom always reads back read-only, so its mode only has to carry the w!; any
     * other disk cannot be both in one mode and stays read-only, the safe side. */
    const char *mode = disk->readonly ? "r" : disk->shareable ? "w!" : "w";
    if (disk->device == DOMAIN_DISK_CDROM)
        mode = disk->shareable ? "w!" : "r";
    sxp_add(vbd, "mode", mode);
    return vbd;
}

/* ---- interfaces ---- */

static int dsxp_parse_nic(const xmlrpc_value *vif, domain_nic *nic)
{
    memset(nic, 0, sizeof(*nic));
    bool have_mac = false;
    for (size_t i = 1; i < vif->u.a.n; i++) {
        const xmlrpc_value *pair = vif->u.a.items[i];
        const char *key = sxp_name(pair);
        char buf[32];
        if (!key) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(vif ...): element %zu is not a (key value) list", i);
            goto fail;
        }
        bool mac = strcmp(key, "mac") == 0, bridge = strcmp(key, "bridge") == 0,
             model = strcmp(key, "model") == 0;
        if (!mac && !bridge && !model)
            continue; /* type, ip, script, vifname, rate, backend, uuid: Xen plumbing */
        const char *text = dsxp_pair_text(pair, key, buf);
        if (!text)
            goto fail;
        if (mac && *text) {
            if (domain_mac_parse(text, nic->mac) < 0) {
                dsxp_error_context("(vif (mac %.40s))", text);
                goto fail;
            }
            have_mac = true;
        } else if (bridge) {
            dsxp_set_str(&nic->source, text);
            nic->type = nic->source ? DOMAIN_NIC_BRIDGE : DOMAIN_NIC_USER;
        } else if (model) {
            dsxp_set_str(&nic->model, text);
        }
    }
    if (!have_mac)
        domain_mac_generate(nic->mac);
    if (domain_nic_validate(nic) < 0)
        goto fail;
    return 0;
fail:
    domain_nic_clear(nic);
    return -1;
}

xmlrpc_value *domain_sxp_format_nic(const domain_nic *nic)
{
    xmlrpc_value *vif = sxp_list("vif");
    char mac[18];
    domain_mac_format(nic->mac, mac);
    sxp_add(vif, "mac", mac);
    if (nic->type == DOMAIN_NIC_BRIDGE && nic->source)
        sxp_add(vif, "bridge", nic->source);
    if (nic->model)
        sxp_add(vif, "model", nic->model);
    return vif;
}

int domain_sxp_parse_device(const xmlrpc_value *sxp, domain_disk *disk, domain_nic *nic,
                            const char **kind)
{
    const char *cls = sxp_name(sxp);
    if (!cls) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "a device must be a list like (vbd (uname ...) (dev ...) (mode ...)) "
                          "or (vif (mac ...))");
        return -1;
    }
    /* Xend's block-attach sent tap devices as their own class. */
    if (strcmp(cls, "vbd") == 0 || strcmp(cls, "tap") == 0) {
        if (!disk || dsxp_parse_disk(sxp, disk) < 0) {
            if (!disk)
                xend_error_report(XEND_ERR_CONFIG_INVALID, "a disk is not accepted here");
            return -1;
        }
        if (kind)
            *kind = "vbd";
        return 0;
    }
    if (strcmp(cls, "vif") == 0) {
        if (!nic || dsxp_parse_nic(sxp, nic) < 0) {
            if (!nic)
                xend_error_report(XEND_ERR_CONFIG_INVALID, "an interface is not accepted here");
            return -1;
        }
        if (kind)
            *kind = "vif";
        return 0;
    }
    xend_error_report(XEND_ERR_CONFIG_INVALID,
                      "device class '%.32s' is not supported (vbd, tap or vif)", cls);
    return -1;
}

/* ---- serial ports and boot order ---- */

/* Xend's HVM serial option: pty, null, file:PATH, unix:PATH[,options]; none or "" is no
 * port. Appends to def->chrs. */
static int dsxp_parse_serial(domain_def *def, const char *spec)
{
    domain_chr chr = {0};
    if (*spec == '\0' || strcmp(spec, "none") == 0)
        return 0;
    if (strcmp(spec, "pty") == 0) {
        chr.type = DOMAIN_CHR_PTY;
    } else if (strcmp(spec, "null") == 0) {
        chr.type = DOMAIN_CHR_NULL;
    } else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
        chr.type = DOMAIN_CHR_FILE;
        chr.path = xstrdup(spec + 5);
    } else if (strncmp(spec, "unix:", 5) == 0 && spec[5] && spec[5] != ',') {
        chr.type = DOMAIN_CHR_UNIX;
        chr.path = xstrndup(spec + 5, strcspn(spec + 5, ","));
    } else {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(serial %.64s): expected pty, null, file:PATH or unix:PATH", spec);
        return -1;
    }
    if (def->nchrs >= DOMAIN_CHARS_MAX) {
        free(chr.path);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "more than %d serial ports", DOMAIN_CHARS_MAX);
        return -1;
    }
    chr.port = (int)def->nchrs;
    def->chrs = xrealloc(def->chrs, (def->nchrs + 1) * sizeof(*def->chrs));
    def->chrs[def->nchrs++] = chr;
    return 0;
}

static const char dsxp_boot_letters[DOMAIN_BOOT_LAST] = {
    [DOMAIN_BOOT_HD] = 'c',
    [DOMAIN_BOOT_CDROM] = 'd',
    [DOMAIN_BOOT_NETWORK] = 'n',
    [DOMAIN_BOOT_FD] = 'a',
};

/* Xen's HVM boot letters: c disk, d cdrom, n network, a floppy; each once, at most 4. */
static int dsxp_parse_boot(domain_def *def, const char *letters)
{
    size_t n = 0;
    for (const char *p = letters; *p; p++) {
        const char *hit = memchr(dsxp_boot_letters, *p, sizeof(dsxp_boot_letters));
        if (!hit || n >= 4) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(boot %.16s): expected up to 4 of the letters c (disk), d (cdrom), "
                              "n (network) and a (floppy)",
                              letters);
            return -1;
        }
        domain_boot_dev dev = (domain_boot_dev)(hit - dsxp_boot_letters);
        for (size_t i = 0; i < n; i++) {
            if (def->os.boot[i] == dev) {
                xend_error_report(XEND_ERR_CONFIG_INVALID, "(boot %.16s): '%c' is given twice",
                                  letters, *p);
                return -1;
            }
        }
        def->os.boot[n++] = dev;
    }
    def->os.nboot = n;
    return 0;
}

/* ---- the whole config ---- */

/* Keys whose meaning depends on others, collected until the whole list is read. */
typedef struct {
    uint64_t memory_mib, maxmem_mib, avail_mask;
    bool have_memory, have_maxmem, have_avail, have_image;
    char *ip, *root, *args;
} dsxp_pending;

static void dsxp_pending_set(char **field, const char *text)
{
    free(*field);
    *field = xstrdup(text);
}

static void dsxp_pending_clear(dsxp_pending *pend)
{
    free(pend->ip);
    free(pend->root);
    free(pend->args);
}

static void dsxp_cmdline_part(xbuf *b, const char *prefix, const char *value)
{
    if (!value || !*value)
        return;
    if (b->len)
        xbuf_addc(b, ' ');
    /* create.py stripped a "root=" the user already wrote; do the same. */
    if (prefix && strncmp(value, prefix, strlen(prefix)) != 0)
        xbuf_adds(b, prefix);
    xbuf_adds(b, value);
}

static int dsxp_parse_image(domain_def *def, const xmlrpc_value *image, dsxp_pending *pend)
{
    /* A config has one builder; a second image would silently mix with the first (an hvm
     * one drops the hvmloader kernel a linux one kept), and Xend only read the first. */
    if (pend->have_image) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(image ...) is given twice; a domain has one image");
        return -1;
    }
    pend->have_image = true;
    const xmlrpc_value *spec = image->u.a.n == 2 ? image->u.a.items[1] : NULL;
    const char *type = sxp_name(spec);
    static const char *const types[] = {"linux", "hvm", "xen", "xenpvh"};
    size_t t = 0;
    while (type && t < sizeof(types) / sizeof(types[0]) && strcmp(type, types[t]) != 0)
        t++;
    if (!type || t == sizeof(types) / sizeof(types[0])) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(image ...) must hold one list (linux ...) or (hvm ...)%s%.32s",
                          type ? ", not " : "", type ? type : "");
        return -1;
    }
    dsxp_set_str(&def->os.type, type);
    for (size_t i = 1; i < spec->u.a.n; i++) {
        const xmlrpc_value *pair = spec->u.a.items[i];
        const char *key = sxp_name(pair);
        char buf[32];
        if (!key) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(image (%s ...)): element %zu is not a (key value) list", type, i);
            return -1;
        }
        static const char *const keys[] = {"kernel", "ramdisk", "root", "args", "ip",
                                           "boot",   "acpi",    "apic", "pae",  "serial"};
        size_t k = 0;
        while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[k]) != 0)
            k++;
        if (k == sizeof(keys) / sizeof(keys[0]))
            continue; /* device_model, vnc, display...: nothing xend acts on */
        const char *text = dsxp_pair_text(pair, key, buf);
        if (!text)
            return -1;
        int rc = 0;
        switch (k) {
        case 0: {
            /* Xen HVM guests name their firmware as the kernel; QEMU brings its own. */
            const char *base = strrchr(text, '/');
            if (t != 1 || strcmp(base ? base + 1 : text, "hvmloader") != 0)
                dsxp_set_str(&def->os.kernel, text);
            break;
        }
        case 1:
            dsxp_set_str(&def->os.initrd, text);
            break;
        case 2:
            dsxp_pending_set(&pend->root, text);
            break;
        case 3:
            dsxp_pending_set(&pend->args, text);
            break;
        case 4:
            dsxp_pending_set(&pend->ip, text);
            break;
        case 5:
            rc = dsxp_parse_boot(def, text);
            break;
        case 6:
            rc = dsxp_parse_bool(key, text, &def->acpi);
            break;
        case 7:
            rc = dsxp_parse_bool(key, text, &def->apic);
            break;
        case 8:
            rc = dsxp_parse_bool(key, text, &def->pae);
            break;
        default:
            rc = dsxp_parse_serial(def, text);
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int dsxp_parse_device_into(domain_def *def, const xmlrpc_value *device)
{
    const xmlrpc_value *spec = device->u.a.n == 2 ? device->u.a.items[1] : NULL;
    const char *cls = sxp_name(spec);
    if (!cls) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "(device ...) must hold one list like (vbd ...)");
        return -1;
    }
    /* Xend lists its framebuffer and console backends as devices; QEMU has its own. */
    if (strcmp(cls, "vfb") == 0 || strcmp(cls, "vkbd") == 0 || strcmp(cls, "console") == 0)
        return 0;
    domain_disk disk;
    domain_nic nic;
    const char *kind;
    if (domain_sxp_parse_device(spec, &disk, &nic, &kind) < 0)
        return -1;
    if (strcmp(kind, "vbd") == 0) {
        if (def->ndisks >= DOMAIN_DISKS_MAX) {
            domain_disk_clear(&disk);
            xend_error_report(XEND_ERR_CONFIG_INVALID, "more than %d disks", DOMAIN_DISKS_MAX);
            return -1;
        }
        domain_def_add_disk(def, &disk);
        domain_disk_clear(&disk);
    } else {
        if (def->nnics >= DOMAIN_NICS_MAX) {
            domain_nic_clear(&nic);
            xend_error_report(XEND_ERR_CONFIG_INVALID, "more than %d interfaces", DOMAIN_NICS_MAX);
            return -1;
        }
        domain_def_add_nic(def, &nic);
        domain_nic_clear(&nic);
    }
    return 0;
}

/* One top-level (key value) pair. Keys Xend knew but xend has no use for are skipped. */
static int dsxp_parse_pair(domain_def *def, const xmlrpc_value *pair, dsxp_pending *pend)
{
    const char *key = sxp_name(pair);
    char buf[32];
    if (strcmp(key, "image") == 0)
        return dsxp_parse_image(def, pair, pend);
    if (strcmp(key, "device") == 0)
        return dsxp_parse_device_into(def, pair);

    static const char *const keys[] = {"name",     "uuid",      "memory",      "maxmem",
                                       "vcpus",    "cpus",      "on_poweroff", "on_reboot",
                                       "on_crash", "vcpu_avail"};
    size_t k = 0;
    while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[k]) != 0)
        k++;
    if (k == sizeof(keys) / sizeof(keys[0]))
        return 0; /* domid, state, cpu_time, ssidref, bootloader, features... */
    const char *text = dsxp_pair_text(pair, key, buf);
    if (!text)
        return -1;
    uint64_t v;
    switch (k) {
    case 0:
        dsxp_set_str(&def->name, text);
        return 0;
    case 1:
        if (domain_uuid_parse(text, def->uuid) < 0) {
            dsxp_error_context("(uuid %.40s)", text);
            return -1;
        }
        return 0;
    case 2:
    case 3:
        if (dsxp_parse_uint(key, text, DSXP_MEMORY_MAX_MIB, &v) < 0)
            return -1;
        if (v == 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "(%s 0): memory must be at least 1 MiB",
                              key);
            return -1;
        }
        if (k == 2)
            pend->memory_mib = v, pend->have_memory = true;
        else
            pend->maxmem_mib = v, pend->have_maxmem = true;
        return 0;
    case 4:
        if (dsxp_parse_uint(key, text, DOMAIN_VCPUS_MAX, &v) < 0)
            return -1;
        if (v == 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "(vcpus 0): at least one vcpu is needed");
            return -1;
        }
        def->vcpus = (unsigned)v;
        return 0;
    case 5:
        dsxp_set_str(&def->cpuset, text);
        return 0;
    case 6:
    case 7:
    case 8: {
        int a = domain_action_parse(text);
        if (a < 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(%s %.40s): expected destroy, restart, preserve or rename-restart",
                              key, text);
            return -1;
        }
        domain_action *slot = k == 6   ? &def->on_poweroff
                              : k == 7 ? &def->on_reboot
                                       : &def->on_crash;
        *slot = (domain_action)a;
        return 0;
    }
    default:
        if (dsxp_parse_uint(key, text, UINT64_MAX, &pend->avail_mask) < 0)
            return -1;
        pend->have_avail = true;
        return 0;
    }
}

/* memory/maxmem, vcpu_avail and the kernel command line once every key is known. */
static int dsxp_finish(domain_def *def, const dsxp_pending *pend)
{
    uint64_t cur = pend->have_memory ? pend->memory_mib * 1024 : def->current_memory_kib;
    uint64_t max = pend->have_maxmem ? pend->maxmem_mib * 1024 : 0;
    if (!pend->have_maxmem)
        max = pend->have_memory ? cur : def->memory_kib;
    if (max < cur) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "maxmem (%" PRIu64 " MiB) is less than memory (%" PRIu64 " MiB)",
                          max / 1024, cur / 1024);
        return -1;
    }
    def->memory_kib = max;
    def->current_memory_kib = cur;

    def->vcpus_current = def->vcpus;
    if (pend->have_avail) {
        /* The model can only say "the first N vcpus are online". */
        uint64_t m = pend->avail_mask;
        unsigned n = 0;
        while (n < 64 && (m >> n) & 1)
            n++;
        if (n == 0 || (n < 64 && (m >> n) != 0) || n > def->vcpus) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(vcpu_avail %" PRIu64 "): expected a mask of the first N of the "
                              "%u vcpus (1, 3, 7, ...)",
                              m, def->vcpus);
            return -1;
        }
        def->vcpus_current = n;
    }

    xbuf cmd = XBUF_INIT;
    dsxp_cmdline_part(&cmd, "ip=", pend->ip);
    dsxp_cmdline_part(&cmd, "root=", pend->root);
    dsxp_cmdline_part(&cmd, NULL, pend->args);
    free(def->os.cmdline);
    def->os.cmdline = cmd.len ? xbuf_steal(&cmd, NULL) : NULL;
    xbuf_clear(&cmd);
    return 0;
}

domain_def *domain_sxp_parse(const xmlrpc_value *sxp)
{
    const char *head = sxp_name(sxp);
    if (!head || (strcmp(head, "vm") != 0 && strcmp(head, "domain") != 0)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "a domain sxp must be a list (vm ...) or (domain ...)%s%.32s",
                          head ? ", not " : "", head ? head : "");
        return NULL;
    }
    domain_def *def = domain_def_new();
    /* Xend's defaults: the linux builder (an (image (hvm ...)) changes it) and restart
     * after a crash, as xmdomain.cfg(5) documents. */
    dsxp_set_str(&def->os.type, "linux");
    def->on_crash = DOMAIN_ACTION_RESTART;
    dsxp_pending pend = {0};
    for (size_t i = 1; i < sxp->u.a.n; i++) {
        const xmlrpc_value *pair = sxp->u.a.items[i];
        if (!sxp_name(pair)) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "(%s ...): element %zu is not a (key value) list", head, i);
            goto fail;
        }
        if (dsxp_parse_pair(def, pair, &pend) < 0)
            goto fail;
    }
    if (dsxp_finish(def, &pend) < 0 || domain_def_validate(def) < 0)
        goto fail;
    dsxp_pending_clear(&pend);
    return def;
fail:
    dsxp_pending_clear(&pend);
    domain_def_free(def);
    return NULL;
}

/* ---- formatting ---- */

static uint64_t dsxp_kib_to_mib(uint64_t kib)
{
    return kib / 1024 + (kib % 1024 ? 1 : 0);
}

static xmlrpc_value *dsxp_format_image(const domain_def *def)
{
    xmlrpc_value *img = sxp_list(def->os.type ? def->os.type : "linux");
    if (def->os.kernel)
        sxp_add(img, "kernel", def->os.kernel);
    if (def->os.initrd)
        sxp_add(img, "ramdisk", def->os.initrd);
    if (def->os.cmdline)
        sxp_add(img, "args", def->os.cmdline);
    if (def->os.nboot) {
        char letters[5] = {0};
        for (size_t i = 0; i < def->os.nboot && i < 4; i++)
            letters[i] = (unsigned)def->os.boot[i] < DOMAIN_BOOT_LAST
                             ? dsxp_boot_letters[def->os.boot[i]]
                             : 'c';
        sxp_add(img, "boot", letters);
    }
    sxp_add(img, "acpi", def->acpi ? "1" : "0");
    sxp_add(img, "apic", def->apic ? "1" : "0");
    sxp_add(img, "pae", def->pae ? "1" : "0");
    for (size_t i = 0; i < def->nchrs; i++) {
        const domain_chr *chr = &def->chrs[i];
        const char *path = chr->path ? chr->path : "";
        if (chr->console)
            continue;
        switch (chr->type) {
        case DOMAIN_CHR_FILE:
            sxp_addf(img, "serial", "file:%s", path);
            break;
        case DOMAIN_CHR_UNIX:
            sxp_addf(img, "serial", "unix:%s", path);
            break;
        case DOMAIN_CHR_NULL:
            sxp_add(img, "serial", "null");
            break;
        default:
            sxp_add(img, "serial", "pty");
            break;
        }
    }
    xmlrpc_value *image = sxp_list("image");
    xmlrpc_array_append(image, img);
    return image;
}

/* Python's str() of a float, which is how Xend wrote times. */
static void dsxp_add_seconds(xmlrpc_value *list, const char *key, double secs)
{
    sxp_addf(list, key, "%.12g", secs);
}

xmlrpc_value *domain_sxp_format(const domain_def *def, const domain_sxp_runtime *rt)
{
    xmlrpc_value *d = sxp_list("domain");
    if (rt && rt->domid >= 0)
        sxp_addf(d, "domid", "%d", rt->domid);
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);
    sxp_add(d, "uuid", uuid);
    if (def->name)
        sxp_add(d, "name", def->name);
    sxp_addf(d, "vcpus", "%u", def->vcpus);
    if (def->vcpus_current < def->vcpus && def->vcpus_current > 0 && def->vcpus_current <= 64)
        sxp_addf(d, "vcpu_avail", "%" PRIu64,
                 def->vcpus_current == 64 ? UINT64_MAX : (UINT64_C(1) << def->vcpus_current) - 1);
    sxp_addf(d, "memory", "%" PRIu64, dsxp_kib_to_mib(def->current_memory_kib));
    sxp_addf(d, "maxmem", "%" PRIu64, dsxp_kib_to_mib(def->memory_kib));
    if (def->cpuset)
        sxp_add(d, "cpus", def->cpuset);
    const char *a;
    sxp_add(d, "on_poweroff", (a = domain_action_name(def->on_poweroff)) ? a : "destroy");
    sxp_add(d, "on_reboot", (a = domain_action_name(def->on_reboot)) ? a : "restart");
    sxp_add(d, "on_crash", (a = domain_action_name(def->on_crash)) ? a : "destroy");
    xmlrpc_array_append(d, dsxp_format_image(def));
    for (size_t i = 0; i < def->ndisks; i++) {
        xmlrpc_value *dev = sxp_list("device");
        xmlrpc_array_append(dev, domain_sxp_format_disk(&def->disks[i]));
        xmlrpc_array_append(d, dev);
    }
    for (size_t i = 0; i < def->nnics; i++) {
        xmlrpc_value *dev = sxp_list("device");
        xmlrpc_array_append(dev, domain_sxp_format_nic(&def->nics[i]));
        xmlrpc_array_append(d, dev);
    }
    if (rt) {
        if (rt->state)
            sxp_add(d, "state", rt->state);
        if (rt->shutdown_reason)
            sxp_add(d, "shutdown_reason", rt->shutdown_reason);
        dsxp_add_seconds(d, "cpu_time", rt->cpu_time);
        sxp_addf(d, "online_vcpus", "%u", rt->online_vcpus);
        if (rt->up_time >= 0)
            dsxp_add_seconds(d, "up_time", rt->up_time);
        if (rt->start_time >= 0)
            dsxp_add_seconds(d, "start_time", rt->start_time);
    }
    return d;
}
