/*
 * The QEMU command line of a guest and the JSON of every device it carries. Everything here
 * is a pure function of the domain model (no process, no monitor), so the unit test can
 * pin every argument, and hot-plug (qemu_live.c) reuses the same JSON builders so that a
 * device added later looks exactly like one given at start.
 *
 * Two rules keep a domain's text from turning into extra QEMU options: every value placed
 * inside a "key=value,key=value" list is escaped (commas doubled), and devices, block nodes
 * and netdevs are passed as JSON (QEMU 7.2 accepts JSON for -device, -blockdev and
 * -netdev), where a path is one string whatever it holds. Paths given as a whole argument
 * (-kernel, -initrd, -pidfile) are taken verbatim by QEMU.
 *
 * PCI slots are fixed per device and kept for the life of the guest (qemu_slots), because
 * a restored or migrated QEMU must find every device at the address the source had.
 */
#include "hv/qemu/qemu_priv.h"

#include "util/alloc.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest key a disk's target may give its ids: QEMU node names hold at most 31
 * characters and "file-" takes 5 of them. */
#define QEMU_DISK_KEY_MAX 26
#define QEMU_SERIAL_EXTRA_MAX 3 /* ISA serial ports after the managed console (COM2..COM4) */

/* ---- argument vectors ---- */

void qemu_strv_add(qemu_strv *sv, const char *s)
{
    sv->v = xgrow(sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
    sv->v[sv->n++] = xstrdup(s);
    sv->v[sv->n] = NULL;
}

void qemu_strv_addf(qemu_strv *sv, const char *fmt, ...)
{
    xbuf b = XBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    sv->v = xgrow(sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
    sv->v[sv->n++] = xbuf_steal(&b, NULL);
    sv->v[sv->n] = NULL;
}

void qemu_strv_free(qemu_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}

/* Moves every argument of from to the end of to; from is left empty. */
static void qemu_strv_move(qemu_strv *to, qemu_strv *from)
{
    for (size_t i = 0; i < from->n; i++) {
        to->v = xgrow(to->v, &to->cap, to->n + 2, sizeof(*to->v));
        to->v[to->n++] = from->v[i];
        to->v[to->n] = NULL;
    }
    free(from->v);
    memset(from, 0, sizeof(*from));
}

char *qemu_opt_escape(const char *s)
{
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "");
    for (; s && *s; s++) {
        if (*s == ',')
            xbuf_addc(&b, ',');
        xbuf_addc(&b, *s);
    }
    return xbuf_steal(&b, NULL);
}

/* A JSON argument as QEMU reads it; '/' unescaped so paths stay readable in logs. */
static void qemu_strv_add_json(qemu_strv *sv, json_object *obj)
{
    qemu_strv_add(sv, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- ids ---- */

static bool qemu_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The part of a disk's ids that comes from its target. conf allows targets of up to 32
 * letters, digits and '_', more than a node name can take after its prefix: such a target
 * (or, defensively, one with other characters) becomes its first 17 characters (others
 * replaced by '_') plus '-' and a hash of the whole target. The '-' never occurs in a
 * target used as is, so a derived key cannot collide with a real one, and the same target
 * always gives the same key (detach finds what attach created). */
static void qemu_disk_key(const domain_disk *d, char key[QEMU_DISK_KEY_MAX + 1])
{
    const char *t = d->target ? d->target : "";
    size_t len = strlen(t);
    bool plain = len > 0 && len <= QEMU_DISK_KEY_MAX;
    for (size_t i = 0; plain && i < len; i++)
        plain = qemu_key_char(t[i]);
    if (plain) {
        memcpy(key, t, len + 1);
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)t[i]) * 16777619u;
    size_t n = 0;
    for (; n < 17 && n < len; n++)
        key[n] = qemu_key_char(t[n]) ? t[n] : '_';
    snprintf(key + n, QEMU_DISK_KEY_MAX + 1 - n, "-%08" PRIx32, h);
}

void qemu_disk_ids(const domain_disk *d, char dev[40], char file_node[40], char fmt_node[40])
{
    char key[QEMU_DISK_KEY_MAX + 1];
    qemu_disk_key(d, key);
    snprintf(dev, 40, "disk-%s", key);
    snprintf(file_node, 40, "file-%s", key);
    snprintf(fmt_node, 40, "fmt-%s", key);
}

void qemu_nic_ids(const domain_nic *n, char dev[40], char netdev[40])
{
    const uint8_t *m = n->mac;
    snprintf(dev, 40, "nic-%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    snprintf(netdev, 40, "net-%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- disks ---- */

bool qemu_disk_is_pci(const domain_disk *d)
{
    return (d->bus == DOMAIN_BUS_VIRTIO || d->bus == DOMAIN_BUS_XEN) &&
           d->device != DOMAIN_DISK_CDROM;
}

json_object *qemu_disk_blockdev_json(const domain_disk *d)
{
    const char *t = d->target ? d->target : "";
    if (!d->source) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "disk '%s' is an empty cdrom: it has no block backend", t);
        return NULL;
    }
    if ((unsigned)d->format >= DOMAIN_DISK_FORMAT_LAST) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "disk '%s' has an invalid format", t);
        return NULL;
    }
    char dev[40], file_node[40], fmt_node[40];
    qemu_disk_ids(d, dev, file_node, fmt_node);
    bool ro = d->readonly || d->device == DOMAIN_DISK_CDROM;

    json_object *file = json_object_new_object();
    json_object_object_add(
        file, "driver",
        json_object_new_string(d->type == DOMAIN_DISK_BLOCK ? "host_device" : "file"));
    json_object_object_add(file, "node-name", json_object_new_string(file_node));
    json_object_object_add(file, "filename", json_object_new_string(d->source));
    json_object_object_add(file, "read-only", json_object_new_boolean(ro));

    /* The format is always explicit: QEMU never probes an image a guest could have
     * written a qcow2 header into. */
    json_object *fmt = json_object_new_object();
    json_object_object_add(
        fmt, "driver", json_object_new_string(d->format == DOMAIN_DISK_QCOW2 ? "qcow2" : "raw"));
    json_object_object_add(fmt, "node-name", json_object_new_string(fmt_node));
    json_object_object_add(fmt, "read-only", json_object_new_boolean(ro));
    json_object_object_add(fmt, "file", file);
    return fmt;
}

/* Index of a target "<prefix><letters>" counted like Linux names disks (a=0 .. z=25,
 * aa=26 ...), at most two letters; -1 if it is not of that form. */
static int qemu_target_index(const char *t, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (!t || strncmp(t, prefix, pl) != 0)
        return -1;
    const char *s = t + pl;
    size_t n = strlen(s);
    if (n == 0 || n > 2)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return -1;
    if (n == 1)
        return s[0] - 'a';
    return (s[0] - 'a' + 1) * 26 + (s[1] - 'a');
}

static bool qemu_slot_check(unsigned slot, const char *what)
{
    if (slot == 0 || (slot >= QEMU_PCI_SLOT_FIRST && slot <= QEMU_PCI_SLOT_LAST))
        return true;
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: PCI slot %u is outside %d..%d", what, slot,
                      QEMU_PCI_SLOT_FIRST, QEMU_PCI_SLOT_LAST);
    return false;
}

static void qemu_json_pci(json_object *o, unsigned slot)
{
    json_object_object_add(o, "bus", json_object_new_string("pci.0"));
    if (slot > 0) {
        char addr[16];
        snprintf(addr, sizeof(addr), "0x%x", slot);
        json_object_object_add(o, "addr", json_object_new_string(addr));
    }
}

json_object *qemu_disk_device_json(const domain_disk *d, unsigned slot)
{
    const char *t = d->target ? d->target : "";
    bool cdrom = d->device == DOMAIN_DISK_CDROM;
    char dev[40], file_node[40], fmt_node[40];
    qemu_disk_ids(d, dev, file_node, fmt_node);
    json_object *o = json_object_new_object();

    switch (d->bus) {
    case DOMAIN_BUS_VIRTIO:
    case DOMAIN_BUS_XEN: /* a Xen config's xvda is the guest's first paravirtual disk */
        if (cdrom) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "disk '%s': a cdrom needs bus ide or scsi (not %s)", t,
                              domain_disk_bus_name(d->bus));
            goto fail;
        }
        char what[64];
        snprintf(what, sizeof(what), "disk '%s'", t);
        if (!qemu_slot_check(slot, what))
            goto fail;
        json_object_object_add(o, "driver", json_object_new_string("virtio-blk-pci"));
        json_object_object_add(o, "id", json_object_new_string(dev));
        json_object_object_add(o, "drive", json_object_new_string(fmt_node));
        json_object_object_add(o, "serial", json_object_new_string(t));
        qemu_json_pci(o, slot);
        break;
    case DOMAIN_BUS_IDE: {
        int idx = qemu_target_index(t, "hd");
        if (idx < 0 || idx > 3) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "disk '%s': an ide disk must be hda, hdb, hdc or hdd", t);
            goto fail;
        }
        /* QEMU's ide-hd refuses a read-only drive ("Can't use a read-only drive"). */
        if (!cdrom && d->readonly) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "disk '%s': an ide disk cannot be read-only (only an ide cdrom "
                              "can); use bus virtio or scsi",
                              t);
            goto fail;
        }
        char bus[16];
        snprintf(bus, sizeof(bus), "ide.%d", idx / 2);
        json_object_object_add(o, "driver", json_object_new_string(cdrom ? "ide-cd" : "ide-hd"));
        json_object_object_add(o, "id", json_object_new_string(dev));
        if (d->source)
            json_object_object_add(o, "drive", json_object_new_string(fmt_node));
        json_object_object_add(o, "bus", json_object_new_string(bus));
        json_object_object_add(o, "unit", json_object_new_int(idx % 2));
        break;
    }
    case DOMAIN_BUS_SCSI: {
        int idx = qemu_target_index(t, "sd");
        if (idx < 0 || idx > 255) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "disk '%s': a scsi disk must be named sda to sdiv", t);
            goto fail;
        }
        json_object_object_add(o, "driver", json_object_new_string(cdrom ? "scsi-cd" : "scsi-hd"));
        json_object_object_add(o, "id", json_object_new_string(dev));
        if (d->source)
            json_object_object_add(o, "drive", json_object_new_string(fmt_node));
        json_object_object_add(o, "bus", json_object_new_string("scsi0.0"));
        json_object_object_add(o, "scsi-id", json_object_new_int(idx));
        json_object_object_add(o, "lun", json_object_new_int(0));
        break;
    }
    case DOMAIN_BUS_SATA:
    case DOMAIN_BUS_USB:
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "disk '%s': the qemu driver cannot attach a %s disk (bus %s); use "
                          "virtio, ide or scsi",
                          t, domain_disk_bus_name(d->bus), domain_disk_bus_name(d->bus));
        goto fail;
    default:
        xend_error_report(XEND_ERR_CONFIG_INVALID, "disk '%s' has an invalid bus", t);
        goto fail;
    }
    if (d->shareable)
        json_object_object_add(o, "share-rw", json_object_new_boolean(true));
    return o;

fail:
    json_object_put(o);
    return NULL;
}

/* ---- NICs ---- */

json_object *qemu_nic_netdev_json(const domain_nic *n)
{
    char dev[40], netdev[40], mac[18];
    qemu_nic_ids(n, dev, netdev);
    domain_mac_format(n->mac, mac);
    json_object *o = json_object_new_object();
    switch (n->type) {
    case DOMAIN_NIC_USER:
        json_object_object_add(o, "type", json_object_new_string("user"));
        json_object_object_add(o, "id", json_object_new_string(netdev));
        return o;
    case DOMAIN_NIC_BRIDGE:
        if (!n->source || !*n->source) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "interface %s of type 'bridge' names no bridge", mac);
            break;
        }
        json_object_object_add(o, "type", json_object_new_string("bridge"));
        json_object_object_add(o, "id", json_object_new_string(netdev));
        json_object_object_add(o, "br", json_object_new_string(n->source));
        return o;
    case DOMAIN_NIC_NETWORK:
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "interface %s: the qemu driver supports interface types user and "
                          "bridge; network '%s' needs a virtual network service that xend "
                          "does not provide (use type 'bridge' with the network's bridge)",
                          mac, n->source ? n->source : "");
        break;
    default:
        xend_error_report(XEND_ERR_CONFIG_INVALID, "interface %s has an invalid type", mac);
        break;
    }
    json_object_put(o);
    return NULL;
}

/* The QEMU device of a NIC model; NULL if the driver does not offer it. */
static const char *qemu_nic_driver(const char *model)
{
    static const char *const map[][2] = {
        {"virtio", "virtio-net-pci"},
        {"e1000", "e1000"},
        {"rtl8139", "rtl8139"},
        {"ne2k_pci", "ne2k_pci"},
    };
    if (!model)
        return "virtio-net-pci";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(model, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

json_object *qemu_nic_device_json(const domain_nic *n, unsigned slot)
{
    char dev[40], netdev[40], mac[18];
    qemu_nic_ids(n, dev, netdev);
    domain_mac_format(n->mac, mac);
    const char *driver = qemu_nic_driver(n->model);
    if (!driver) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "interface %s: model '%.64s' is not supported by the qemu driver "
                          "(virtio, e1000, rtl8139 or ne2k_pci)",
                          mac, n->model);
        return NULL;
    }
    char what[64];
    snprintf(what, sizeof(what), "interface %s", mac);
    if (!qemu_slot_check(slot, what))
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "driver", json_object_new_string(driver));
    json_object_object_add(o, "id", json_object_new_string(dev));
    json_object_object_add(o, "netdev", json_object_new_string(netdev));
    json_object_object_add(o, "mac", json_object_new_string(mac));
    qemu_json_pci(o, slot);
    return o;
}

/* ---- PCI slots ---- */

/* Marks the slots def's devices hold in s (bit i = slot i). */
static uint32_t qemu_slots_used(const qemu_slots *s, const domain_def *def)
{
    uint32_t used = 0;
    size_t nd = def->ndisks < DOMAIN_DISKS_MAX ? def->ndisks : DOMAIN_DISKS_MAX;
    size_t nn = def->nnics < DOMAIN_NICS_MAX ? def->nnics : DOMAIN_NICS_MAX;
    for (size_t i = 0; i < nd; i++)
        if (s->disk[i] && s->disk[i] <= QEMU_PCI_SLOT_LAST)
            used |= 1u << s->disk[i];
    for (size_t i = 0; i < nn; i++)
        if (s->nic[i] && s->nic[i] <= QEMU_PCI_SLOT_LAST)
            used |= 1u << s->nic[i];
    return used;
}

static int qemu_slot_lowest(uint32_t used)
{
    for (int slot = QEMU_PCI_SLOT_FIRST; slot <= QEMU_PCI_SLOT_LAST; slot++)
        if (!(used & (1u << slot)))
            return slot;
    return -1;
}

int qemu_slots_assign(qemu_slots *s, const domain_def *def)
{
    if (def->ndisks > DOMAIN_DISKS_MAX || def->nnics > DOMAIN_NICS_MAX) {
        xend_error_report(XEND_ERR_LIMIT,
                          "domain '%s' has more devices than the qemu driver "
                          "can place (%d disks, %d interfaces)",
                          def->name, DOMAIN_DISKS_MAX, DOMAIN_NICS_MAX);
        return -1;
    }
    /* A disk off PCI holds no slot, even if an older layout gave it one. */
    for (size_t i = 0; i < def->ndisks; i++)
        if (!qemu_disk_is_pci(&def->disks[i]))
            s->disk[i] = 0;
    uint32_t used = qemu_slots_used(s, def);
    int total = QEMU_PCI_SLOT_LAST - QEMU_PCI_SLOT_FIRST + 1;
    for (size_t i = 0; i < def->ndisks; i++) {
        if (!qemu_disk_is_pci(&def->disks[i]) || s->disk[i])
            continue;
        int slot = qemu_slot_lowest(used);
        if (slot < 0) {
            xend_error_report(XEND_ERR_LIMIT,
                              "domain '%s': no free PCI slot for disk %s (%d devices at most)",
                              def->name, def->disks[i].target, total);
            return -1;
        }
        s->disk[i] = (uint8_t)slot;
        used |= 1u << slot;
    }
    for (size_t i = 0; i < def->nnics; i++) {
        if (s->nic[i])
            continue;
        int slot = qemu_slot_lowest(used);
        if (slot < 0) {
            char mac[18];
            domain_mac_format(def->nics[i].mac, mac);
            xend_error_report(XEND_ERR_LIMIT,
                              "domain '%s': no free PCI slot for interface %s (%d devices at "
                              "most)",
                              def->name, mac, total);
            return -1;
        }
        s->nic[i] = (uint8_t)slot;
        used |= 1u << slot;
    }
    return 0;
}

int qemu_slots_free(const qemu_slots *s, const domain_def *def)
{
    int slot = qemu_slot_lowest(qemu_slots_used(s, def));
    if (slot < 0)
        xend_error_report(XEND_ERR_LIMIT, "domain '%s': no free PCI slot (%d devices at most)",
                          def->name, QEMU_PCI_SLOT_LAST - QEMU_PCI_SLOT_FIRST + 1);
    return slot;
}

static void qemu_slots_shift(uint8_t *a, size_t cap, size_t i, size_t n_before)
{
    if (n_before > cap)
        n_before = cap;
    if (i >= n_before)
        return;
    memmove(a + i, a + i + 1, n_before - i - 1);
    a[n_before - 1] = 0;
}

void qemu_slots_remove_disk(qemu_slots *s, size_t i, size_t ndisks_before)
{
    qemu_slots_shift(s->disk, DOMAIN_DISKS_MAX, i, ndisks_before);
}

void qemu_slots_remove_nic(qemu_slots *s, size_t i, size_t nnics_before)
{
    qemu_slots_shift(s->nic, DOMAIN_NICS_MAX, i, nnics_before);
}

char *qemu_slots_format(const qemu_slots *s, const domain_def *def)
{
    xbuf b = XBUF_INIT;
    size_t nd = def->ndisks < DOMAIN_DISKS_MAX ? def->ndisks : DOMAIN_DISKS_MAX;
    size_t nn = def->nnics < DOMAIN_NICS_MAX ? def->nnics : DOMAIN_NICS_MAX;
    xbuf_adds(&b, "d=");
    for (size_t i = 0; i < nd; i++)
        xbuf_printf(&b, "%s%u", i ? "," : "", s->disk[i]);
    xbuf_adds(&b, ";n=");
    for (size_t i = 0; i < nn; i++)
        xbuf_printf(&b, "%s%u", i ? "," : "", s->nic[i]);
    return xbuf_steal(&b, NULL);
}

/* One list "5,0,6" of at most max slots, up to the end of p or stop. Each value is 0 or a
 * slot of the range, written without leading zeros; a slot taken twice (in *used) is
 * refused. Returns the character after the list, or NULL. */
static const char *qemu_slots_parse_list(const char *p, char stop, uint8_t *out, size_t max,
                                         uint32_t *used)
{
    size_t n = 0;
    if (*p == stop)
        return p;
    for (;;) {
        if (n >= max || *p < '0' || *p > '9')
            return NULL;
        unsigned v = (unsigned)(*p++ - '0');
        if (*p >= '0' && *p <= '9') {
            if (v == 0)
                return NULL;
            v = v * 10 + (unsigned)(*p++ - '0');
        }
        if (v != 0 && (v < QEMU_PCI_SLOT_FIRST || v > QEMU_PCI_SLOT_LAST))
            return NULL;
        if (v) {
            if (*used & (1u << v))
                return NULL;
            *used |= 1u << v;
        }
        out[n++] = (uint8_t)v;
        if (*p == stop)
            return p;
        if (*p != ',')
            return NULL;
        p++;
    }
}

int qemu_slots_parse(qemu_slots *s, const char *text)
{
    qemu_slots tmp;
    memset(&tmp, 0, sizeof(tmp));
    uint32_t used = 0;
    if (!text || strncmp(text, "d=", 2) != 0)
        return -1;
    const char *p = qemu_slots_parse_list(text + 2, ';', tmp.disk, DOMAIN_DISKS_MAX, &used);
    if (!p || strncmp(p, ";n=", 3) != 0)
        return -1;
    p = qemu_slots_parse_list(p + 3, '\0', tmp.nic, DOMAIN_NICS_MAX, &used);
    if (!p)
        return -1;
    *s = tmp;
    return 0;
}

/* ---- the command line ---- */

static bool qemu_machine_check(const domain_def *def, const char *machine)
{
    if (strcmp(machine, "pc") == 0 || strncmp(machine, "pc-i440fx-", 10) == 0)
        return true;
    if (strcmp(machine, "q35") == 0 || strncmp(machine, "pc-q35-", 7) == 0)
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "domain '%s': machine type '%.64s' is not supported by the qemu "
                          "driver: hot-plug on q35 needs PCIe root ports; use machine 'pc'",
                          def->name, machine);
    else
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "domain '%s': machine type '%.64s' is not supported by the qemu "
                          "driver (use pc or pc-i440fx-*)",
                          def->name, machine);
    return false;
}

/* The extra serial ports (port > 0) by port: out[p - 1] for p in 1..*n. Ports must follow
 * the managed console without gaps, and a <console> that repeats a <serial> of the same
 * port (libvirt writes both) counts once. */
static int qemu_serial_extra(const domain_def *def, const domain_chr *out[QEMU_SERIAL_EXTRA_MAX],
                             int *n)
{
    int top = 0;
    for (int i = 0; i < QEMU_SERIAL_EXTRA_MAX; i++)
        out[i] = NULL;
    for (size_t i = 0; i < def->nchrs; i++) {
        const domain_chr *c = &def->chrs[i];
        if (c->port <= 0)
            continue;
        if (c->port > QEMU_SERIAL_EXTRA_MAX) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "domain '%s': serial port %d is out of range: QEMU has four "
                              "serial ports (0..%d)",
                              def->name, c->port, QEMU_SERIAL_EXTRA_MAX);
            return -1;
        }
        const domain_chr *prev = out[c->port - 1];
        if (prev) {
            bool same = prev->type == c->type &&
                        ((!prev->path && !c->path) ||
                         (prev->path && c->path && strcmp(prev->path, c->path) == 0));
            if (!same) {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "domain '%s': serial port %d is defined twice, differently",
                                  def->name, c->port);
                return -1;
            }
            continue;
        }
        out[c->port - 1] = c;
        if (c->port > top)
            top = c->port;
    }
    for (int p = 1; p <= top; p++) {
        if (!out[p - 1]) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "domain '%s': serial ports must be numbered without gaps after "
                              "the console (port 0): port %d is missing before port %d",
                              def->name, p, top);
            return -1;
        }
    }
    *n = top;
    return 0;
}

static int qemu_argv_serial_extra(const domain_def *def, qemu_strv *sv)
{
    const domain_chr *ports[QEMU_SERIAL_EXTRA_MAX];
    int n = 0;
    if (qemu_serial_extra(def, ports, &n) < 0)
        return -1;
    for (int p = 1; p <= n; p++) {
        const domain_chr *c = ports[p - 1];
        XEND_AUTOFREE char *path = qemu_opt_escape(c->path ? c->path : "");
        qemu_strv_add(sv, "-chardev");
        switch (c->type) {
        case DOMAIN_CHR_FILE:
            qemu_strv_addf(sv, "file,id=serial%d,path=%s", p, path);
            break;
        case DOMAIN_CHR_UNIX:
            qemu_strv_addf(sv, "socket,id=serial%d,path=%s,server=on,wait=off", p, path);
            break;
        case DOMAIN_CHR_NULL:
            qemu_strv_addf(sv, "null,id=serial%d", p);
            break;
        case DOMAIN_CHR_PTY:
            qemu_strv_addf(sv, "pty,id=serial%d", p);
            break;
        default:
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "domain '%s': serial port %d has an invalid type", def->name, p);
            return -1;
        }
    }
    for (int p = 1; p <= n; p++) {
        qemu_strv_add(sv, "-serial");
        qemu_strv_addf(sv, "chardev:serial%d", p);
    }
    return 0;
}

/* -boot order=... from os.boot (each device once: QEMU refuses a repeated one). */
static void qemu_argv_boot(const domain_def *def, qemu_strv *sv)
{
    static const char letters[DOMAIN_BOOT_LAST] = {[DOMAIN_BOOT_HD] = 'c',
                                                   [DOMAIN_BOOT_CDROM] = 'd',
                                                   [DOMAIN_BOOT_NETWORK] = 'n',
                                                   [DOMAIN_BOOT_FD] = 'a'};
    char order[DOMAIN_BOOT_LAST + 1];
    size_t n = 0;
    size_t nboot = def->os.nboot < 4 ? def->os.nboot : 4;
    for (size_t i = 0; i < nboot; i++) {
        if ((unsigned)def->os.boot[i] >= DOMAIN_BOOT_LAST)
            continue;
        char c = letters[def->os.boot[i]];
        if (!memchr(order, c, n))
            order[n++] = c;
    }
    if (n == 0)
        return;
    order[n] = '\0';
    qemu_strv_add(sv, "-boot");
    qemu_strv_addf(sv, "order=%s", order);
}

static int qemu_argv_disks(const domain_def *def, const qemu_slots *slots, qemu_strv *sv)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        if (def->disks[i].bus == DOMAIN_BUS_SCSI) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "driver", json_object_new_string("virtio-scsi-pci"));
            json_object_object_add(o, "id", json_object_new_string("scsi0"));
            qemu_json_pci(o, QEMU_PCI_SLOT_SCSI);
            qemu_strv_add(sv, "-device");
            qemu_strv_add_json(sv, o);
            json_object_put(o);
            break;
        }
    }
    for (size_t i = 0; i < def->ndisks && i < DOMAIN_DISKS_MAX; i++) {
        const domain_disk *d = &def->disks[i];
        /* The front end first: it holds the checks of what the driver can attach. */
        json_object *dev = qemu_disk_device_json(d, slots->disk[i]);
        if (!dev)
            return -1;
        if (d->source) {
            json_object *blk = qemu_disk_blockdev_json(d);
            if (!blk) {
                json_object_put(dev);
                return -1;
            }
            qemu_strv_add(sv, "-blockdev");
            qemu_strv_add_json(sv, blk);
            json_object_put(blk);
        }
        qemu_strv_add(sv, "-device");
        qemu_strv_add_json(sv, dev);
        json_object_put(dev);
    }
    return 0;
}

static int qemu_argv_nics(const domain_def *def, const qemu_argv_opts *o, const qemu_slots *slots,
                          qemu_strv *sv)
{
    for (size_t i = 0; i < def->nnics && i < DOMAIN_NICS_MAX; i++) {
        const domain_nic *n = &def->nics[i];
        /* A bridge netdev runs qemu-bridge-helper; under -sandbox spawn=deny that exec
         * kills QEMU with SIGSYS (measured with 7.2), so say why instead. */
        if (o->sandbox && n->type == DOMAIN_NIC_BRIDGE) {
            char mac[18];
            domain_mac_format(n->mac, mac);
            xend_error_report(XEND_ERR_UNSUPPORTED,
                              "domain '%s': interface %s of type bridge needs QEMU's bridge "
                              "helper, which the qemu driver's sandbox forbids (turn the "
                              "sandbox off to use bridges)",
                              def->name, mac);
            return -1;
        }
        json_object *dev = qemu_nic_device_json(n, slots->nic[i]);
        if (!dev)
            return -1;
        json_object *net = qemu_nic_netdev_json(n);
        if (!net) {
            json_object_put(dev);
            return -1;
        }
        qemu_strv_add(sv, "-netdev");
        qemu_strv_add_json(sv, net);
        qemu_strv_add(sv, "-device");
        qemu_strv_add_json(sv, dev);
        json_object_put(net);
        json_object_put(dev);
    }
    return 0;
}

/* Everything up to the devices: identity, machine, memory, CPUs, boot, actions. */
static int qemu_argv_machine(const domain_def *def, const qemu_argv_opts *o, qemu_strv *sv)
{
    if (def->os.arch && strcmp(def->os.arch, "x86_64") != 0) {
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "domain '%s': architecture '%.32s' is not supported by the qemu "
                          "driver (x86_64 only)",
                          def->name, def->os.arch);
        return -1;
    }
    const char *machine = def->os.machine ? def->os.machine : "pc";
    if (!qemu_machine_check(def, machine))
        return -1;
    if (!def->os.kernel && (def->os.initrd || def->os.cmdline)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "domain '%s': an initrd or kernel command line needs a kernel",
                          def->name);
        return -1;
    }
    bool kvm = o->accel && strcmp(o->accel, "kvm") == 0;
    XEND_AUTOFREE char *name = qemu_opt_escape(def->name);
    XEND_AUTOFREE char *mach = qemu_opt_escape(machine);
    XEND_AUTOFREE char *accel = qemu_opt_escape(o->accel ? o->accel : "tcg");
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);

    qemu_strv_add(sv, o->binary);
    qemu_strv_add(sv, "-name");
    qemu_strv_addf(sv, "guest=%s,debug-threads=on", name);
    qemu_strv_add(sv, "-uuid");
    qemu_strv_add(sv, uuid);
    qemu_strv_add(sv, "-nodefaults");
    qemu_strv_add(sv, "-no-user-config");
    qemu_strv_add(sv, "-display");
    qemu_strv_add(sv, "none");
    qemu_strv_add(sv, "-msg");
    qemu_strv_add(sv, "timestamp=on");
    qemu_strv_add(sv, "-machine");
    qemu_strv_addf(sv, "%s,accel=%s", mach, accel);
    if (kvm) {
        qemu_strv_add(sv, "-cpu");
        qemu_strv_add(sv, "host");
    }

    uint64_t mib = (def->memory_kib + 1023) / 1024;
    qemu_strv_add(sv, "-m");
    if (def->max_memory_slots && def->max_memory_kib)
        qemu_strv_addf(sv, "%" PRIu64 ",slots=%u,maxmem=%" PRIu64 "M", mib, def->max_memory_slots,
                       (def->max_memory_kib + 1023) / 1024);
    else
        qemu_strv_addf(sv, "%" PRIu64, mib);
    qemu_strv_add(sv, "-smp");
    qemu_strv_addf(sv, "%u,maxcpus=%u", def->vcpus_current, def->vcpus);

    if (def->os.kernel) {
        qemu_strv_add(sv, "-kernel");
        qemu_strv_add(sv, def->os.kernel);
        if (def->os.initrd) {
            qemu_strv_add(sv, "-initrd");
            qemu_strv_add(sv, def->os.initrd);
        }
        if (def->os.cmdline) {
            qemu_strv_add(sv, "-append");
            qemu_strv_add(sv, def->os.cmdline);
        }
    } else {
        qemu_argv_boot(def, sv);
    }

    /* The vCPUs wait for "cont"; a powered-off or panicked guest stays for xend to see
     * why, and a reboot the domain does not want becomes a shutdown xend acts on. */
    qemu_strv_add(sv, "-S");
    qemu_strv_add(sv, "-no-shutdown");
    qemu_strv_add(sv, "-action");
    qemu_strv_add(sv, "panic=pause");
    if (def->on_reboot != DOMAIN_ACTION_RESTART && def->on_reboot != DOMAIN_ACTION_RENAME_RESTART) {
        qemu_strv_add(sv, "-action");
        qemu_strv_add(sv, "reboot=shutdown");
    }
    return 0;
}

int qemu_argv_build(const domain_def *def, const qemu_argv_opts *o, qemu_strv *out)
{
    qemu_strv sv = {NULL, 0, 0};
    qemu_slots own;
    const qemu_slots *slots = o->slots;
    if (!slots) {
        memset(&own, 0, sizeof(own));
        if (qemu_slots_assign(&own, def) < 0)
            return -1;
        slots = &own;
    }
    if (qemu_argv_machine(def, o, &sv) < 0)
        goto fail;

    qemu_strv_add(&sv, "-chardev");
    qemu_strv_addf(&sv, "socket,id=qmp,fd=%d,server=on,wait=off", o->qmp_fd);
    qemu_strv_add(&sv, "-mon");
    qemu_strv_add(&sv, "chardev=qmp,mode=control");

    /* The managed console is COM1 whatever the domain's port-0 entries say: xend always
     * drains it and keeps its log. */
    qemu_strv_add(&sv, "-chardev");
    if (o->serial_log) {
        char *log = qemu_opt_escape(o->serial_log);
        qemu_strv_addf(&sv, "socket,id=serial0,fd=%d,server=on,wait=off,logfile=%s,logappend=off",
                       o->serial_fd, log);
        free(log);
    } else {
        qemu_strv_addf(&sv, "socket,id=serial0,fd=%d,server=on,wait=off", o->serial_fd);
    }
    qemu_strv_add(&sv, "-serial");
    qemu_strv_add(&sv, "chardev:serial0");
    if (qemu_argv_serial_extra(def, &sv) < 0)
        goto fail;

    qemu_strv_add(&sv, "-device");
    qemu_strv_addf(&sv,
                   "{\"driver\":\"virtio-balloon-pci\",\"id\":\"balloon0\",\"bus\":\"pci.0\","
                   "\"addr\":\"0x%x\"}",
                   QEMU_PCI_SLOT_BALLOON);
    qemu_strv_add(&sv, "-device");
    qemu_strv_addf(&sv,
                   "{\"driver\":\"pvpanic-pci\",\"id\":\"panic0\",\"bus\":\"pci.0\","
                   "\"addr\":\"0x%x\"}",
                   QEMU_PCI_SLOT_PANIC);
    if (qemu_argv_disks(def, slots, &sv) < 0 || qemu_argv_nics(def, o, slots, &sv) < 0)
        goto fail;

    if (o->pidfile) {
        qemu_strv_add(&sv, "-pidfile");
        qemu_strv_add(&sv, o->pidfile);
    }
    if (o->sandbox) {
        qemu_strv_add(&sv, "-sandbox");
        /* -runas switches user after the sandbox is in place, which
         * elevateprivileges=deny forbids (QEMU dies at its setuid): with runas, the
         * switch itself drops the privileges that option guards. */
        qemu_strv_add(&sv, o->runas ? "on,obsolete=deny,spawn=deny,resourcecontrol=deny"
                                    : "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                                      "resourcecontrol=deny");
    }
    if (o->runas) {
        qemu_strv_add(&sv, "-runas");
        qemu_strv_add(&sv, o->runas);
    }
    if (o->incoming_fd >= 0) {
        qemu_strv_add(&sv, "-incoming");
        qemu_strv_addf(&sv, "fd:%d", o->incoming_fd);
    } else if (o->incoming_defer) {
        qemu_strv_add(&sv, "-incoming");
        qemu_strv_add(&sv, "defer");
    }
    qemu_strv_move(out, &sv);
    return 0;

fail:
    qemu_strv_free(&sv);
    return -1;
}
