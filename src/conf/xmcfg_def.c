/*
 * xm domain configs, second half: the variables xmcfg_parse_vars read become the (vm ...)
 * S-expression create.py would have sent to xend.domain.create (domain_sxp.c gives it its
 * meaning), and xmcfg_format writes a def back as config text through domain_sxp_format.
 * Errors name the file and the variable or the disk/vif entry.
 */
#include "conf/xmcfg.h"

#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "util/alloc.h"
#include "util/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- variables -> def ---- */

typedef enum {
    XMCFG_VAR_STR,  /* a string */
    XMCFG_VAR_INT,  /* a whole number (or a string of digits, as Xen's int() took) */
    XMCFG_VAR_CPUS, /* a string, or one CPU number */
    XMCFG_VAR_FLAG, /* 0/1, True/False */
    XMCFG_VAR_LIST, /* a list of strings */
    XMCFG_VAR_STRS, /* a string or a list of strings */
} xmcfg_var_kind;

typedef enum {
    XMCFG_AT_TOP,
    XMCFG_AT_IMAGE,
    XMCFG_AT_BUILDER,
    XMCFG_AT_DISK,
    XMCFG_AT_VIF
} xmcfg_var_place;

/* The variables xend understands and where create.py put each in the (vm ...) sxp. */
static const struct {
    const char *name;
    xmcfg_var_kind kind;
    xmcfg_var_place place;
    const char *key; /* sxp key */
} xmcfg_vars[] = {
    {"name", XMCFG_VAR_STR, XMCFG_AT_TOP, "name"},
    {"uuid", XMCFG_VAR_STR, XMCFG_AT_TOP, "uuid"},
    {"memory", XMCFG_VAR_INT, XMCFG_AT_TOP, "memory"},
    {"maxmem", XMCFG_VAR_INT, XMCFG_AT_TOP, "maxmem"},
    {"vcpus", XMCFG_VAR_INT, XMCFG_AT_TOP, "vcpus"},
    {"vcpu_avail", XMCFG_VAR_INT, XMCFG_AT_TOP, "vcpu_avail"},
    {"cpus", XMCFG_VAR_CPUS, XMCFG_AT_TOP, "cpus"},
    {"builder", XMCFG_VAR_STR, XMCFG_AT_BUILDER, NULL},
    {"kernel", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "kernel"},
    {"ramdisk", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "ramdisk"},
    {"ip", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "ip"},
    {"root", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "root"},
    {"extra", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "args"},
    {"boot", XMCFG_VAR_STR, XMCFG_AT_IMAGE, "boot"},
    {"acpi", XMCFG_VAR_FLAG, XMCFG_AT_IMAGE, "acpi"},
    {"apic", XMCFG_VAR_FLAG, XMCFG_AT_IMAGE, "apic"},
    {"pae", XMCFG_VAR_FLAG, XMCFG_AT_IMAGE, "pae"},
    {"serial", XMCFG_VAR_STRS, XMCFG_AT_IMAGE, "serial"},
    {"on_poweroff", XMCFG_VAR_STR, XMCFG_AT_TOP, "on_poweroff"},
    {"on_reboot", XMCFG_VAR_STR, XMCFG_AT_TOP, "on_reboot"},
    {"on_crash", XMCFG_VAR_STR, XMCFG_AT_TOP, "on_crash"},
    {"disk", XMCFG_VAR_LIST, XMCFG_AT_DISK, NULL},
    {"vif", XMCFG_VAR_LIST, XMCFG_AT_VIF, NULL},
};
#define XMCFG_NVARS (sizeof(xmcfg_vars) / sizeof(xmcfg_vars[0]))

static const char *xmcfg_type_desc(const xmlrpc_value *v)
{
    if (v->type == XMLRPC_INT || v->type == XMLRPC_I8)
        return "an integer";
    return v->type == XMLRPC_DOUBLE   ? "a float"
           : v->type == XMLRPC_BOOL   ? "a boolean"
           : v->type == XMLRPC_STRING ? "a string"
           : v->type == XMLRPC_ARRAY  ? "a list"
                                      : "None";
}

/* Re-report the pending error with the file (and what in it) in front. */
static void xmcfg_error_context(const char *what, const char *ctx)
{
    const xend_error *e = xend_error_last();
    int code = e->code ? e->code : XEND_ERR_CONFIG_INVALID;
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    if (ctx)
        xend_error_report(code, "%s: %s: %s", what, ctx, msg);
    else
        xend_error_report(code, "%s: %s", what, msg);
}

/* The variable's value as sxp text into buf (or borrowed from v). NULL with an error. */
static const char *xmcfg_var_text(const char *what, const char *name, xmcfg_var_kind kind,
                                  const xmlrpc_value *v, char buf[32])
{
    const char *want = "a string";
    switch (kind) {
    case XMCFG_VAR_STRS:
        want = "a string or a list of strings";
        /* fall through */
    case XMCFG_VAR_STR:
        if (v->type == XMLRPC_STRING)
            return v->u.s.ptr;
        break;
    case XMCFG_VAR_CPUS:
        want = "a string like \"0-3,^1\"";
        if (v->type == XMLRPC_STRING)
            return v->u.s.ptr;
        if ((v->type == XMLRPC_INT || v->type == XMLRPC_I8) && v->u.i >= 0) {
            snprintf(buf, 32, "%" PRId64, v->u.i);
            return buf;
        }
        break;
    case XMCFG_VAR_INT:
        want = "a whole number";
        if ((v->type == XMLRPC_INT || v->type == XMLRPC_I8) && v->u.i >= 0) {
            snprintf(buf, 32, "%" PRId64, v->u.i);
            return buf;
        }
        if (v->type == XMLRPC_STRING && v->u.s.len > 0 && v->u.s.len <= 20 &&
            strspn(v->u.s.ptr, "0123456789") == v->u.s.len)
            return v->u.s.ptr;
        break;
    case XMCFG_VAR_FLAG:
        want = "0 or 1";
        if (v->type == XMLRPC_BOOL)
            return v->u.b ? "1" : "0";
        if (v->type == XMLRPC_INT || v->type == XMLRPC_I8)
            return v->u.i ? "1" : "0"; /* Python truth, as create.py's int flags */
        break;
    case XMCFG_VAR_LIST:
        break;
    }
    if ((v->type == XMLRPC_INT || v->type == XMLRPC_I8) && v->u.i < 0 && kind != XMCFG_VAR_STR)
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: '%s' must not be negative", what, name);
    else
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: '%s' must be %s, not %s", what, name, want,
                          xmcfg_type_desc(v));
    return NULL;
}

/* entry split at commas, each part trimmed: xm's split(',') and strip(). */
static xmlrpc_value *xmcfg_split(const char *entry)
{
    xmlrpc_value *parts = xmlrpc_array();
    for (const char *p = entry;;) {
        const char *comma = strchr(p, ','), *b = p, *e = comma ? comma : p + strlen(p);
        xmcfg_trim(&b, &e);
        xmlrpc_array_append(parts, xmlrpc_string_n(b, (size_t)(e - b)));
        if (!comma)
            return parts;
        p = comma + 1;
    }
}

/* 'phy:DEV,VDEV,MODE[,DOMAIN]' -> (vbd (uname ..) (dev ..) (mode ..)). */
static xmlrpc_value *xmcfg_disk_sxp(const char *what, const char *entry, domain_warnings *w)
{
    xmlrpc_value *f = xmcfg_split(entry), *vbd = NULL;
    size_t n = f->u.a.n;
    const char *dom = n == 4 ? f->u.a.items[3]->u.s.ptr : "";
    if (n < 3 || n > 4) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s: disk entry '%.200s': expected 'TYPE:PATH,DEVICE,MODE' like "
                          "'phy:/dev/sdb1,xvda1,w' or 'file:/img,xvda,w'",
                          what, entry);
    } else {
        if (*dom && strcmp(dom, "0") != 0 && strcmp(dom, "Domain-0") != 0)
            domain_warnings_add(w,
                                "%s: disk '%.200s': the backend domain '%.64s' is ignored "
                                "(xend serves every disk itself)",
                                what, entry, dom);
        vbd = sxp_list("vbd");
        sxp_add(vbd, "uname", f->u.a.items[0]->u.s.ptr);
        sxp_add(vbd, "dev", f->u.a.items[1]->u.s.ptr);
        sxp_add(vbd, "mode", f->u.a.items[2]->u.s.ptr);
    }
    xmlrpc_value_free(f);
    return vbd;
}

/* 'mac=..,bridge=..,model=..' -> (vif (mac ..) ...); '' is a default interface. The keys
 * are xm's; those xend has no use for are accepted with a warning, as they were valid. */
static xmlrpc_value *xmcfg_vif_sxp(const char *what, const char *entry, domain_warnings *w)
{
    static const char *const keys[] = {"mac",  "bridge",  "model",   "ip",  "script",
                                       "type", "backend", "vifname", "rate"};
    const size_t nused = 3; /* the first three */
    xmlrpc_value *items = xmcfg_split(entry), *vif = sxp_list("vif");
    for (size_t i = 0; i < items->u.a.n; i++) {
        const char *item = items->u.a.items[i]->u.s.ptr, *eq = strchr(item, '=');
        if (!*item)
            continue;
        if (!eq) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: vif entry '%.200s': '%.64s' is not key=value", what, entry,
                              item);
            goto fail;
        }
        const char *kb = item, *ke = eq, *vb = eq + 1, *ve = eq + strlen(eq);
        xmcfg_trim(&kb, &ke);
        xmcfg_trim(&vb, &ve);
        size_t k = 0;
        while (k < sizeof(keys) / sizeof(keys[0]) &&
               (strlen(keys[k]) != (size_t)(ke - kb) || memcmp(keys[k], kb, (size_t)(ke - kb))))
            k++;
        if (k == sizeof(keys) / sizeof(keys[0])) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: Invalid vif option '%.*s' in '%.200s'",
                              what, (int)(ke - kb > 64 ? 64 : ke - kb), kb, entry);
            goto fail;
        }
        if (k < nused) {
            xmlrpc_value *pair = sxp_list(keys[k]);
            xmlrpc_array_append(pair, xmlrpc_string_n(vb, (size_t)(ve - vb)));
            xmlrpc_array_append(vif, pair);
        } else {
            domain_warnings_add(w, "%s: vif option '%s' is accepted but not used by xend", what,
                                keys[k]);
        }
    }
    xmlrpc_value_free(items);
    return vif;
fail:
    xmlrpc_value_free(items);
    xmlrpc_value_free(vif);
    return NULL;
}

/* Parse each disk or vif entry into def, naming the entry when one is wrong. */
static int xmcfg_add_devices(domain_def *def, const char *what, const char *name,
                             const xmlrpc_value *list, bool disks, domain_warnings *w)
{
    for (size_t i = 0; i < list->u.a.n; i++) {
        const xmlrpc_value *e = list->u.a.items[i];
        if (e->type != XMLRPC_STRING) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: '%s' entry %zu must be a string, not %s", what, name, i + 1,
                              xmcfg_type_desc(e));
            return -1;
        }
        if ((disks ? def->ndisks >= DOMAIN_DISKS_MAX : def->nnics >= DOMAIN_NICS_MAX)) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: more than %d '%s' entries", what,
                              disks ? DOMAIN_DISKS_MAX : DOMAIN_NICS_MAX, name);
            return -1;
        }
        xmlrpc_value *dev =
            disks ? xmcfg_disk_sxp(what, e->u.s.ptr, w) : xmcfg_vif_sxp(what, e->u.s.ptr, w);
        if (!dev)
            return -1;
        domain_disk disk;
        domain_nic nic;
        int rc = domain_sxp_parse_device(dev, &disk, &nic, NULL);
        xmlrpc_value_free(dev);
        if (rc < 0) {
            char ctx[256];
            snprintf(ctx, sizeof(ctx), "%s entry '%.200s'", name, e->u.s.ptr);
            xmcfg_error_context(what, ctx);
            return -1;
        }
        if (disks) {
            domain_def_add_disk(def, &disk);
            domain_disk_clear(&disk);
        } else {
            domain_def_add_nic(def, &nic);
            domain_nic_clear(&nic);
        }
    }
    return 0;
}

/* create.py's default name: the config file's name without directory and extension. */
static char *xmcfg_default_name(const char *what)
{
    if (!what)
        return NULL;
    const char *base = strrchr(what, '/');
    base = base ? base + 1 : what;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return len ? xstrndup(base, len) : NULL;
}

domain_def *xmcfg_to_def(const xmlrpc_value *vars, const char *what, domain_warnings *w)
{
    what = what ? what : "xm config";
    if (!vars || vars->type != XMLRPC_STRUCT) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: no variables", what);
        return NULL;
    }
    for (size_t i = 0; i < vars->u.st.n; i++) {
        const char *name = vars->u.st.m[i].name;
        size_t k = 0;
        while (k < XMCFG_NVARS && strcmp(name, xmcfg_vars[k].name) != 0)
            k++;
        if (k == XMCFG_NVARS)
            domain_warnings_add(w, "%s: '%.64s' is not an option xend uses; ignored", what, name);
    }

    xmlrpc_value *vm = sxp_list("vm");
    const char *builder = "linux";
    xmlrpc_value *image_items = xmlrpc_array();
    const xmlrpc_value *disk_list = NULL, *vif_list = NULL;
    domain_def *def = NULL;
    for (size_t k = 0; k < XMCFG_NVARS; k++) {
        const xmlrpc_value *v = xmlrpc_struct_get(vars, xmcfg_vars[k].name);
        if (!v || v->type == XMLRPC_NIL)
            continue; /* None means "the default", as it did for xm */
        if (xmcfg_vars[k].kind == XMCFG_VAR_LIST) {
            if (v->type != XMLRPC_ARRAY) {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "%s: '%s' must be a list of strings, "
                                  "not %s",
                                  what, xmcfg_vars[k].name, xmcfg_type_desc(v));
                goto out;
            }
            if (xmcfg_vars[k].place == XMCFG_AT_DISK)
                disk_list = v;
            else
                vif_list = v;
            continue;
        }
        if (xmcfg_vars[k].kind == XMCFG_VAR_STRS && v->type == XMLRPC_ARRAY) {
            /* serial = ['pty', 'file:/log']: one (serial ...) each */
            for (size_t i = 0; i < v->u.a.n; i++) {
                const xmlrpc_value *e = v->u.a.items[i];
                if (e->type != XMLRPC_STRING) {
                    xend_error_report(XEND_ERR_CONFIG_INVALID,
                                      "%s: '%s' entry %zu must be a "
                                      "string, not %s",
                                      what, xmcfg_vars[k].name, i + 1, xmcfg_type_desc(e));
                    goto out;
                }
                xmlrpc_value *pair = sxp_list(xmcfg_vars[k].key);
                xmlrpc_array_append(pair, xmlrpc_string(e->u.s.ptr));
                xmlrpc_array_append(image_items, pair);
            }
            continue;
        }
        char buf[32];
        const char *text = xmcfg_var_text(what, xmcfg_vars[k].name, xmcfg_vars[k].kind, v, buf);
        if (!text)
            goto out;
        if (xmcfg_vars[k].place == XMCFG_AT_BUILDER) {
            if (strcmp(text, "linux") != 0 && strcmp(text, "hvm") != 0 &&
                strcmp(text, "xen") != 0 && strcmp(text, "xenpvh") != 0) {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "%s: builder '%.32s' is not supported (linux or hvm)", what,
                                  text);
                goto out;
            }
            builder = v->u.s.ptr;
        } else if (xmcfg_vars[k].place == XMCFG_AT_IMAGE) {
            xmlrpc_value *pair = sxp_list(xmcfg_vars[k].key);
            xmlrpc_array_append(pair, xmlrpc_string(text));
            xmlrpc_array_append(image_items, pair);
        } else {
            sxp_add(vm, xmcfg_vars[k].key, text);
        }
    }
    if (!sxp_child(vm, "name")) {
        char *name = xmcfg_default_name(what);
        if (name)
            sxp_add(vm, "name", name);
        free(name);
    }
    xmlrpc_value *image = sxp_list("image"), *spec = sxp_list(builder);
    for (size_t i = 0; i < image_items->u.a.n; i++)
        xmlrpc_array_append(spec, image_items->u.a.items[i]);
    image_items->u.a.n = 0;
    xmlrpc_array_append(image, spec);
    xmlrpc_array_append(vm, image);

    def = domain_sxp_parse(vm);
    if (!def) {
        xmcfg_error_context(what, NULL);
        goto out;
    }
    if ((disk_list && xmcfg_add_devices(def, what, "disk", disk_list, true, w) < 0) ||
        (vif_list && xmcfg_add_devices(def, what, "vif", vif_list, false, w) < 0))
        goto fail;
    if (domain_def_validate(def) < 0) {
        xmcfg_error_context(what, NULL);
        goto fail;
    }
    goto out;
fail:
    domain_def_free(def);
    def = NULL;
out:
    xmlrpc_value_free(image_items);
    xmlrpc_value_free(vm);
    return def;
}

domain_def *xmcfg_parse(const char *text, size_t len, const char *what,
                        const char *const *overrides, size_t n, domain_warnings *w)
{
    xmlrpc_value *vars = xmcfg_parse_vars(text, len, what, overrides, n);
    if (!vars)
        return NULL;
    domain_def *def = xmcfg_to_def(vars, what, w);
    xmlrpc_value_free(vars);
    return def;
}

/* ---- def -> config text ---- */

/* A Python string literal: readable (UTF-8 kept as it is), exact for every string. */
static void xmcfg_quote(xbuf *out, const char *s, char q)
{
    xbuf_addc(out, q);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == (unsigned char)q) {
            xbuf_addc(out, '\\');
            xbuf_addc(out, (char)c);
        } else if (c == '\n') {
            xbuf_adds(out, "\\n");
        } else if (c == '\t') {
            xbuf_adds(out, "\\t");
        } else if (c == '\r') {
            xbuf_adds(out, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            xbuf_printf(out, "\\x%02x", c);
        } else {
            xbuf_addc(out, (char)c);
        }
    }
    xbuf_addc(out, q);
}

static void xmcfg_emit_str(xbuf *out, const char *name, const char *value)
{
    if (!value)
        return;
    xbuf_printf(out, "%s = ", name);
    xmcfg_quote(out, value, '"');
    xbuf_addc(out, '\n');
}

/* Numbers come out of domain_sxp_format as decimal text. One past Python-literal range
 * here (a 64-bit vcpu_avail mask) is written as a string, which reads back as a number. */
static void xmcfg_emit_int(xbuf *out, const char *name, const char *value)
{
    size_t len = value ? strlen(value) : 0;
    if (len > 19 || (len == 19 && strcmp(value, "9223372036854775807") > 0))
        xbuf_printf(out, "%s = \"%s\"\n", name, value);
    else if (value)
        xbuf_printf(out, "%s = %s\n", name, value);
}

/* name = ['a', 'b']; nothing for an empty list. */
static void xmcfg_emit_list(xbuf *out, const char *name, const xmlrpc_value *items)
{
    if (!items->u.a.n)
        return;
    xbuf_printf(out, "%s = [", name);
    for (size_t i = 0; i < items->u.a.n; i++) {
        xbuf_adds(out, i ? ", " : "");
        xmcfg_quote(out, items->u.a.items[i]->u.s.ptr, '\'');
    }
    xbuf_adds(out, "]\n");
}

/* The devices of class cls as xm entries: "uname,dev,mode" or "mac=..,bridge=..". */
static void xmcfg_emit_devices(xbuf *out, const xmlrpc_value *d, const char *cls, const char *name)
{
    xmlrpc_value *entries = xmlrpc_array();
    for (size_t i = 1; i < d->u.a.n; i++) {
        const xmlrpc_value *item = d->u.a.items[i], *dev;
        const char *key = sxp_name(item);
        if (!key || strcmp(key, "device") != 0 || item->u.a.n != 2)
            continue;
        dev = item->u.a.items[1];
        if (!sxp_name(dev) || strcmp(sxp_name(dev), cls) != 0)
            continue;
        bool vbd = strcmp(cls, "vbd") == 0;
        xbuf entry = XBUF_INIT;
        xbuf_adds(&entry, "");
        for (size_t k = 1; k < dev->u.a.n; k++) {
            const xmlrpc_value *pair = dev->u.a.items[k];
            if (pair->type != XMLRPC_ARRAY || pair->u.a.n != 2 ||
                pair->u.a.items[1]->type != XMLRPC_STRING)
                continue;
            xbuf_adds(&entry, k > 1 ? "," : "");
            if (!vbd) /* a vbd is positional: uname, dev, mode */
                xbuf_printf(&entry, "%s=", sxp_name(pair));
            xbuf_adds(&entry, pair->u.a.items[1]->u.s.ptr);
        }
        xmlrpc_array_append(entries, xmlrpc_string_take(xbuf_steal(&entry, NULL)));
    }
    xmcfg_emit_list(out, name, entries);
    xmlrpc_value_free(entries);
}

/* serial = "pty" for one port, a list for several. */
static void xmcfg_emit_serial(xbuf *out, const xmlrpc_value *spec)
{
    xmlrpc_value *ports = xmlrpc_array();
    for (size_t i = 1; i < spec->u.a.n; i++) {
        const xmlrpc_value *pair = spec->u.a.items[i];
        const char *key = sxp_name(pair);
        if (key && strcmp(key, "serial") == 0 && pair->u.a.n == 2)
            xmlrpc_array_append(ports, xmlrpc_value_copy(pair->u.a.items[1]));
    }
    if (ports->u.a.n == 1)
        xmcfg_emit_str(out, "serial", ports->u.a.items[0]->u.s.ptr);
    else
        xmcfg_emit_list(out, "serial", ports);
    xmlrpc_value_free(ports);
}

/* One assignment a line, in the order of xmcfg_vars, from the (vm ...) xmcfg_to_def reads. */
void xmcfg_format(const domain_def *def, xbuf *out)
{
    xmlrpc_value *d = domain_sxp_format(def, NULL);
    const xmlrpc_value *image = sxp_child(d, "image");
    const xmlrpc_value *spec = image && image->u.a.n == 2 ? image->u.a.items[1] : NULL;
    char b1[32], b2[32];
    for (size_t k = 0; k < XMCFG_NVARS; k++) {
        const char *name = xmcfg_vars[k].name, *value = NULL;
        switch (xmcfg_vars[k].place) {
        case XMCFG_AT_TOP:
            value = sxp_child_value(d, xmcfg_vars[k].key, b1);
            /* maxmem only when it says more than memory */
            if (value && strcmp(name, "maxmem") == 0) {
                const char *mem = sxp_child_value(d, "memory", b2);
                value = mem && strcmp(mem, value) == 0 ? NULL : value;
            }
            break;
        case XMCFG_AT_BUILDER:
            value = sxp_name(spec);
            break;
        case XMCFG_AT_IMAGE:
            if (spec && xmcfg_vars[k].kind == XMCFG_VAR_STRS)
                xmcfg_emit_serial(out, spec);
            else
                value = sxp_child_value(spec, xmcfg_vars[k].key, b1);
            break;
        case XMCFG_AT_DISK:
        case XMCFG_AT_VIF:
            xmcfg_emit_devices(out, d, xmcfg_vars[k].place == XMCFG_AT_DISK ? "vbd" : "vif", name);
            break;
        }
        if (xmcfg_vars[k].kind == XMCFG_VAR_INT || xmcfg_vars[k].kind == XMCFG_VAR_FLAG)
            xmcfg_emit_int(out, name, value);
        else
            xmcfg_emit_str(out, name, value);
    }
    xmlrpc_value_free(d);
}
