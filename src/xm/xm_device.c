/*
 * xm's device commands: block-attach/-detach/-list and network-attach/-detach/-list. The
 * Xen spellings users type (phy:/dev/x, file:/p, tap:aio:/p, xvda1, mode w!, vif key=value
 * options, device numbers like 51713) are turned into the <disk>/<interface> XML and the
 * target names, MACs and indexes of xend's domain.attach_device, domain.detach_device and
 * domain.devices; the listings show those devices the way Xen's xm showed its xenstore
 * view of them.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Xen's device numbers of targets that are no Linux disk name: past every real one, as
 * xend.domain.getDeviceSxprs numbers them. */
#define XM_DEVNUM_OTHER (1L << 29)
/* XenbusStateConnected / XenbusStateClosed: a running domain's devices are connected, a
 * stopped one's have no backend. */
#define XM_XENBUS_CONNECTED 4
#define XM_XENBUS_CLOSED 6

/* ---- shared helpers ---- */

/* Write s to f with the five XML special characters escaped (for attribute values). */
static void xm_xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
            break;
        }
    }
}

/* A device index or number: decimal digits without sign or leading zeros; else -1. */
static long xm_index(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    bool plain = isdigit((unsigned char)s[0]) && !(s[0] == '0' && s[1]);
    return plain && !*end && !errno && v <= (1L << 30) ? v : -1;
}

/* The device number of a disk row of domain.devices. */
static long xm_disk_devnum(const xmlrpc_value *disk)
{
    long n = xend_disk_devnum(xm_struct_str(disk, "target", ""));
    return n >= 0 ? n : XM_DEVNUM_OTHER + (long)xm_struct_int(disk, "index", 0);
}

/* The rows of domain.devices of one kind ("disk" or "interface"), in order. NULL after
 * printing the error. */
static xmlrpc_value *xm_devices(xm_ctx *x, const char *dom, const char *kind)
{
    xmlrpc_value *all = NULL;
    if (xm_call(x, "domain.devices", &all, "s", dom) < 0)
        return NULL;
    xmlrpc_value *out = xmlrpc_array();
    for (size_t i = 0; all->type == XMLRPC_ARRAY && i < all->u.a.n; i++)
        if (!strcmp(xm_struct_str(all->u.a.items[i], "kind", ""), kind))
            xmlrpc_array_append(out, xmlrpc_value_copy(all->u.a.items[i]));
    xmlrpc_value_free(all);
    return out;
}

static void xm_pair(xmlrpc_value *list, const char *key, const char *value)
{
    xmlrpc_value *p = xmlrpc_array();
    xmlrpc_array_append(p, xmlrpc_string(key));
    xmlrpc_array_append(p, xmlrpc_string(value));
    xmlrpc_array_append(list, p);
}

static void xm_pair_long(xmlrpc_value *list, const char *key, long value)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%ld", value);
    xm_pair(list, key, buf);
}

/* Print Xend's (devid ((key value) ...)) record of a device. Takes pairs. */
static void xm_device_sxp_print(long devid, xmlrpc_value *pairs)
{
    xmlrpc_value *rec = xmlrpc_array();
    char buf[24];
    snprintf(buf, sizeof(buf), "%ld", devid);
    xmlrpc_array_append(rec, xmlrpc_string(buf));
    xmlrpc_array_append(rec, pairs);
    xm_sxp_print(rec);
    xmlrpc_value_free(rec);
}

typedef struct {
    bool lng;
} xm_dev_list_opts;

static int xm_dev_list_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)opt, (void)arg;
    ((xm_dev_list_opts *)data)->lng = true;
    return 0;
}

/* The common start of block-list and network-list: options, the domain's row (for its id)
 * and its devices of kind. Returns 0 with *row and *devs set, 2 after --help, 1 after an
 * error. */
static int xm_dev_list_begin(xm_ctx *x, int argc, char **argv, const char *kind, bool *lng,
                             xmlrpc_value **row, xmlrpc_value **devs)
{
    static const xm_opt opts[] = {{"long", 'l', false}, {NULL, 0, false}};
    xm_dev_list_opts o = {false};
    int first, rc = xm_opts_parse(x, argc, argv, opts, xm_dev_list_opt, &o, &first);
    if (rc)
        return rc;
    if (xm_args_check(x, argc - first, 1, 1))
        return 1;
    *lng = o.lng;
    if (xm_call(x, "domain.lookup", row, "s", argv[first]) < 0)
        return 1;
    if (!(*devs = xm_devices(x, argv[first], kind))) {
        xmlrpc_value_free(*row);
        return 1;
    }
    return 0;
}

/* ---- block devices ---- */

int xm_cmd_block_attach(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 4, 4, &first, &rc))
        return rc;
    const char *dom = argv[first], *back = argv[first + 1], *front = argv[first + 2],
               *mode = argv[first + 3];

    /* BackDev: Xen's uname. phy:hda1 means /dev/hda1; file and tap paths are made
     * absolute against the current directory, as xm does for save files. */
    const char *type = "file", *format = "raw", *path = NULL;
    if (!strncmp(back, "phy:", 4)) {
        type = "block";
        path = back + 4;
    } else if (!strncmp(back, "file:", 5)) {
        path = back + 5;
    } else if (!strncmp(back, "tap:aio:", 8)) {
        path = back + 8;
    } else if (!strncmp(back, "tap:qcow2:", 10)) {
        format = "qcow2";
        path = back + 10;
    }
    if (!path || !*path)
        return xm_usage_error(x,
                              _("Invalid block device '%s' (expected phy:DEVICE, "
                                "file:PATH, tap:aio:PATH or tap:qcow2:PATH)."),
                              back);

    /* FrontDev: the target, with Xen's optional ioemu: prefix and :cdrom / :disk suffix. */
    const char *name = !strncmp(front, "ioemu:", 6) ? front + 6 : front;
    const char *colon = strchr(name, ':');
    bool cdrom = colon && !strcmp(colon, ":cdrom");
    size_t namelen = colon ? (size_t)(colon - name) : strlen(name);
    if (!strncmp(name, "/dev/", 5) && namelen > 5) {
        name += 5;
        namelen -= 5;
    }
    if (namelen == 0 || (colon && !cdrom && strcmp(colon, ":disk")))
        return xm_usage_error(x,
                              _("Invalid virtual device '%s' (a name like xvda1, hdb or "
                                "vdb, optionally with :cdrom)."),
                              front);

    bool readonly = !strcmp(mode, "r"), shareable = !strcmp(mode, "w!");
    if (!readonly && !shareable && strcmp(mode, "w"))
        return xm_usage_error(x,
                              _("Invalid mode '%s' (r for read-only, w for read-write or "
                                "w! for shared read-write)."),
                              mode);

    char *abs = strcmp(type, "block") ? xm_abs_path(path) : NULL;
    char *xml = NULL;
    size_t xmllen = 0;
    FILE *f = open_memstream(&xml, &xmllen);
    if (!f) {
        free(abs);
        return xm_error("%s", strerror(errno));
    }
    fprintf(f, "<disk type='%s' device='%s'>\n  <driver name='qemu' type='%s'/>\n", type,
            cdrom ? "cdrom" : "disk", format);
    fprintf(f, "  <source %s='", strcmp(type, "block") ? "file" : "dev");
    if (!strcmp(type, "block") && path[0] != '/')
        fputs("/dev/", f);
    xm_xml_escape(f, abs ? abs : path);
    fputs("'/>\n  <target dev='", f);
    char *target = strndup(name, namelen);
    xm_xml_escape(f, target ? target : "");
    fputs("'/>\n", f);
    if (readonly)
        fputs("  <readonly/>\n", f);
    if (shareable)
        fputs("  <shareable/>\n", f);
    fputs("</disk>\n", f);
    fclose(f);
    free(abs);
    free(target);
    rc = xm_call(x, "domain.attach_device", NULL, "ss", dom, xml) < 0 ? 1 : 0;
    free(xml);
    return rc;
}

int xm_cmd_block_detach(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    const char *dom = argv[first], *dev = argv[first + 1];
    /* DevId is a target name or Xen's device number; either way the disk is looked up
     * first, so that a name of some other device never detaches that device. */
    long num = xm_index(dev);
    const char *name = !strncmp(dev, "/dev/", 5) ? dev + 5 : dev;
    xmlrpc_value *disks = xm_devices(x, dom, "disk");
    if (!disks)
        return 1;
    const char *target = NULL;
    for (size_t i = 0; !target && i < disks->u.a.n; i++) {
        const xmlrpc_value *d = disks->u.a.items[i];
        const char *t = xm_struct_str(d, "target", "");
        if (num >= 0 ? xm_disk_devnum(d) == num : !strcmp(t, name))
            target = t;
    }
    if (!target)
        rc = xm_error(_("Domain '%s' has no block device '%s'."), dom, dev);
    else if (xm_call(x, "domain.detach_device", NULL, "ss", dom, target) < 0)
        rc = 1;
    xmlrpc_value_free(disks);
    return rc;
}

/* Xend's uname of a disk row: phy:/dev/x, tap:qcow2:/p or file:/p. */
static void xm_disk_uname(const xmlrpc_value *d, char *buf, size_t size)
{
    const char *prefix = !strcmp(xm_struct_str(d, "format", ""), "qcow2") ? "tap:qcow2:"
                         : !strcmp(xm_struct_str(d, "type", ""), "block") ? "phy:"
                                                                          : "file:";
    snprintf(buf, size, "%s%s", prefix, xm_struct_str(d, "source", ""));
}

int xm_cmd_block_list(xm_ctx *x, int argc, char **argv)
{
    bool lng = false;
    xmlrpc_value *row = NULL, *disks = NULL;
    int rc = xm_dev_list_begin(x, argc, argv, "disk", &lng, &row, &disks);
    if (rc)
        return rc == 2 ? 0 : rc;
    long domid = (long)xm_struct_int(row, "id", -1);
    for (size_t i = 0; !x->json && i < disks->u.a.n; i++) {
        const xmlrpc_value *d = disks->u.a.items[i];
        long devnum = xm_disk_devnum(d);
        char path[96] = "-";
        if (domid >= 0)
            snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%ld/%ld", domid, devnum);
        if (!lng) {
            /* Xen printed the header only above devices: a diskless domain lists nothing. */
            if (i == 0)
                printf("%s\n", _("Vdev  BE handle state evt-ch ring-ref BE-path"));
            printf("%-5ld %3d %6d %5d %6d %8d  %s\n", devnum, 0, 0,
                   domid >= 0 ? XM_XENBUS_CONNECTED : XM_XENBUS_CLOSED, -1, -1, path);
            continue;
        }
        /* What Xend's getDeviceSxprs read from xenstore; state and backend only exist
         * while the domain runs. */
        xmlrpc_value *pairs = xmlrpc_array();
        bool cdrom = !strcmp(xm_struct_str(d, "device", ""), "cdrom");
        char text[4200];
        xm_pair(pairs, "backend-id", "0");
        xm_pair_long(pairs, "virtual-device", devnum);
        xm_pair(pairs, "device-type", cdrom ? "cdrom" : "disk");
        if (domid >= 0) {
            xm_pair_long(pairs, "state", XM_XENBUS_CONNECTED);
            xm_pair(pairs, "backend", path);
        }
        xm_disk_uname(d, text, sizeof(text));
        xm_pair(pairs, "uname", text);
        snprintf(text, sizeof(text), "%s%s", xm_struct_str(d, "target", ""), cdrom ? ":cdrom" : "");
        xm_pair(pairs, "dev", text);
        xm_pair(pairs, "mode",
                xm_struct_bool(d, "readonly", false)    ? "r"
                : xm_struct_bool(d, "shareable", false) ? "w!"
                                                        : "w");
        xm_device_sxp_print(devnum, pairs);
    }
    if (x->json)
        xm_print_json(disks);
    xmlrpc_value_free(row);
    xmlrpc_value_free(disks);
    return 0;
}

/* ---- network devices ---- */

/* Xen's vif options; the first three are what xend's interfaces have. */
static const char *const xm_vif_keys[] = {"mac",  "bridge",  "model",   "ip",   "script",
                                          "type", "backend", "vifname", "rate", NULL};
#define XM_VIF_USED 3
#define XM_VIF_NKEYS 9

typedef struct {
    const char *values[XM_VIF_NKEYS];
} xm_vif;

static int xm_vif_set(xm_ctx *x, xm_vif *vif, const char *key, size_t keylen, const char *value)
{
    for (int k = 0; xm_vif_keys[k]; k++) {
        if (strlen(xm_vif_keys[k]) == keylen && !strncmp(xm_vif_keys[k], key, keylen)) {
            vif->values[k] = value;
            return 0;
        }
    }
    return xm_usage_error(x, _("Invalid vif option: %.*s"), (int)keylen, key);
}

static int xm_vif_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    /* --key=value: long-only options, numbered as in xm_vif_keys */
    const char *key = xm_vif_keys[opt - 256];
    if (!*arg)
        return xm_usage_error(x, _("Invalid argument: --%s="), key);
    return xm_vif_set(x, data, key, strlen(key), arg);
}

int xm_cmd_network_attach(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"mac", 0, true},     {"bridge", 0, true},  {"model", 0, true},
                                  {"ip", 0, true},      {"script", 0, true},  {"type", 0, true},
                                  {"backend", 0, true}, {"vifname", 0, true}, {"rate", 0, true},
                                  {NULL, 0, false}};
    xm_vif vif;
    memset(&vif, 0, sizeof(vif));
    int first, rc = xm_opts_parse(x, argc, argv, opts, xm_vif_opt, &vif, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 1, -1))
        return 1;
    const char *dom = argv[first];
    for (int i = first + 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1])
            return xm_usage_error(x, _("Invalid argument: %s"), argv[i]);
        if (xm_vif_set(x, &vif, argv[i], (size_t)(eq - argv[i]), eq + 1))
            return 1;
    }
    /* The plumbing options of Xen's hotplug scripts have no equivalent here: say so
     * rather than drop them silently. */
    for (int k = XM_VIF_USED; k < XM_VIF_NKEYS; k++)
        if (vif.values[k])
            fprintf(stderr, _("Warning: vif option '%s' is accepted but not used by xend.\n"),
                    xm_vif_keys[k]);

    const char *mac = vif.values[0], *bridge = vif.values[1], *model = vif.values[2];
    char *xml = NULL;
    size_t xmllen = 0;
    FILE *f = open_memstream(&xml, &xmllen);
    if (!f)
        return xm_error("%s", strerror(errno));
    /* A bridge makes a bridged interface; without one xend's default, user networking. */
    fprintf(f, "<interface type='%s'>\n", bridge ? "bridge" : "user");
    if (mac) {
        fputs("  <mac address='", f);
        xm_xml_escape(f, mac);
        fputs("'/>\n", f);
    }
    if (bridge) {
        fputs("  <source bridge='", f);
        xm_xml_escape(f, bridge);
        fputs("'/>\n", f);
    }
    if (model) {
        fputs("  <model type='", f);
        xm_xml_escape(f, model);
        fputs("'/>\n", f);
    }
    fputs("</interface>\n", f);
    fclose(f);
    rc = xm_call(x, "domain.attach_device", NULL, "ss", dom, xml) < 0 ? 1 : 0;
    free(xml);
    return rc;
}

/* A MAC address: six pairs of hex digits separated by ':'. */
static bool xm_is_mac(const char *s)
{
    for (int i = 0; i < 6; i++, s += 3) {
        if (!strchr("0123456789abcdefABCDEF", s[0]) || !s[0] ||
            !strchr("0123456789abcdefABCDEF", s[1]) || !s[1])
            return false;
        if (s[2] != (i < 5 ? ':' : '\0'))
            return false;
    }
    return true;
}

int xm_cmd_network_detach(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    const char *dom = argv[first], *dev = argv[first + 1];
    /* Only an index or a MAC names an interface: anything else could be a disk target,
     * which domain.detach_device would detach. */
    if (xm_index(dev) < 0 && !xm_is_mac(dev))
        return xm_usage_error(x,
                              _("Invalid network device '%s' (an index like 0 or a MAC "
                                "address)."),
                              dev);
    return xm_call(x, "domain.detach_device", NULL, "ss", dom, dev) < 0 ? 1 : 0;
}

int xm_cmd_network_list(xm_ctx *x, int argc, char **argv)
{
    bool lng = false;
    xmlrpc_value *row = NULL, *nics = NULL;
    int rc = xm_dev_list_begin(x, argc, argv, "interface", &lng, &row, &nics);
    if (rc)
        return rc == 2 ? 0 : rc;
    long domid = (long)xm_struct_int(row, "id", -1);
    for (size_t i = 0; !x->json && i < nics->u.a.n; i++) {
        const xmlrpc_value *n = nics->u.a.items[i];
        long idx = (long)xm_struct_int(n, "index", (int64_t)i);
        const char *mac = xm_struct_str(n, "mac", "");
        char path[96] = "-";
        if (domid >= 0)
            snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%ld/%ld", domid, idx);
        if (!lng) {
            if (i == 0)
                printf("%s\n", _("Idx BE     MAC Addr.     handle state evt-ch "
                                 "tx-/rx-ring-ref BE-path"));
            printf("%-3ld %-2d %-17s %6ld %5d %6d %7d/%-7d %s\n", idx, 0, mac, idx,
                   domid >= 0 ? XM_XENBUS_CONNECTED : XM_XENBUS_CLOSED, -1, -1, -1, path);
            continue;
        }
        xmlrpc_value *pairs = xmlrpc_array();
        xm_pair(pairs, "backend-id", "0");
        xm_pair_long(pairs, "handle", idx);
        if (domid >= 0) {
            xm_pair_long(pairs, "state", XM_XENBUS_CONNECTED);
            xm_pair(pairs, "backend", path);
        }
        xm_pair(pairs, "mac", mac);
        if (!strcmp(xm_struct_str(n, "type", ""), "bridge"))
            xm_pair(pairs, "bridge", xm_struct_str(n, "source", ""));
        if (*xm_struct_str(n, "model", ""))
            xm_pair(pairs, "model", xm_struct_str(n, "model", ""));
        xm_device_sxp_print(idx, pairs);
    }
    if (x->json)
        xm_print_json(nics);
    xmlrpc_value_free(row);
    xmlrpc_value_free(nics);
    return 0;
}
