/*
 * xm's listing and host commands: list (the brief table from a single domain.list call,
 * the long S-expression form, JSON), vcpu-list, uptime, domid, domname, info, dmesg and
 * log. It also holds xm's S-expression reader and writer (the writer lays lists out as
 * Xend's PrettyPrint did, so `xm list --long` reads as it always has); xm_device.c uses the
 * writer for `block-list -l` and `network-list -l`.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define XM_METHOD_NOT_FOUND (-32601)

/* ---- S-expressions ---- */

/* PrettyPrint.prettyprint's width and indentation, which xm list --long used. */
#define XM_SXP_WIDTH 80
#define XM_SXP_INDENT 4
/* Deeper nesting is not an sxp xend writes; it bounds the recursion below. */
#define XM_SXP_DEPTH 64

/* sxp.py's atomp(): these atoms are written bare, all others quoted. The empty atom is
 * quoted too (sxp.py wrote nothing, which does not read back). */
static bool xm_sxp_bare(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '~'))
            return false;
    }
    return true;
}

/* Python repr()'s quoting of a string atom, written to out (NULL: only measured). Bytes
 * from 0x80 up are UTF-8 text and stay raw. Returns the width. */
static size_t xm_sxp_quoted(const char *s, size_t len, FILE *out)
{
    char q = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
    size_t w = 2;
    if (out)
        fputc(q, out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc = c == '\\' || c == (unsigned char)q ? (char)c
                   : c == '\n'                        ? 'n'
                   : c == '\t'                        ? 't'
                   : c == '\r'                        ? 'r'
                                                      : 0;
        if (esc) {
            w += 2;
            if (out)
                fprintf(out, "\\%c", esc);
        } else if (c < 0x20 || c == 0x7f) {
            w += 4;
            if (out)
                fprintf(out, "\\x%02x", c);
        } else {
            w++;
            if (out)
                fputc(c, out);
        }
    }
    if (out)
        fputc(q, out);
    return w;
}

/* An atom as written (to out unless NULL); returns its width. */
static size_t xm_sxp_atom(const xmlrpc_value *v, FILE *out)
{
    char buf[40];
    switch (v->type) {
    case XMLRPC_STRING:
        if (!xm_sxp_bare(v->u.s.ptr, v->u.s.len))
            return xm_sxp_quoted(v->u.s.ptr, v->u.s.len, out);
        if (out)
            fwrite(v->u.s.ptr, 1, v->u.s.len, out);
        return v->u.s.len;
    case XMLRPC_INT:
    case XMLRPC_I8:
        snprintf(buf, sizeof(buf), "%" PRId64, v->u.i);
        break;
    case XMLRPC_BOOL:
        snprintf(buf, sizeof(buf), "%d", v->u.b ? 1 : 0);
        break;
    case XMLRPC_DOUBLE:
        /* the shortest text that reads back the same, as Python's repr */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, v->u.d);
            if (strtod(buf, NULL) == v->u.d)
                break;
        }
        break;
    default: /* nothing else is an sxp atom; written as the empty atom */
        return xm_sxp_quoted("", 0, out);
    }
    if (out)
        fputs(buf, out);
    return strlen(buf);
}

/* Width of the one-line form. */
static size_t xm_sxp_width(const xmlrpc_value *v, unsigned depth)
{
    if (v->type != XMLRPC_ARRAY)
        return xm_sxp_atom(v, NULL);
    size_t w = 2;
    for (size_t i = 0; i < v->u.a.n && depth < XM_SXP_DEPTH; i++)
        w += (i ? 1 : 0) + xm_sxp_width(v->u.a.items[i], depth + 1);
    return w;
}

static void xm_sxp_newline(FILE *out, size_t *col, size_t indent)
{
    fputc('\n', out);
    for (size_t i = 0; i < indent; i++)
        fputc(' ', out);
    *col = indent;
}

/*
 * PrettyPrint.py's SXPPrettyPrinter (the same rule as xend's own sxp writer): a list that
 * fits in what is left of the 80-column line stays on one line; one that does not has each
 * element on its own line, indented 4 past the list's '(', and its ')' on a line of its own
 * under the '('. A list of atoms only is never broken.
 */
static void xm_sxp_pretty(const xmlrpc_value *v, FILE *out, size_t *col, unsigned depth)
{
    if (v->type != XMLRPC_ARRAY) {
        *col += xm_sxp_atom(v, out);
        return;
    }
    bool has_list = false;
    for (size_t i = 0; i < v->u.a.n; i++)
        has_list = has_list || v->u.a.items[i]->type == XMLRPC_ARRAY;
    size_t start = *col;
    bool broken = has_list && start + xm_sxp_width(v, depth) > XM_SXP_WIDTH;
    fputc('(', out);
    (*col)++;
    for (size_t i = 0; i < v->u.a.n && depth < XM_SXP_DEPTH; i++) {
        if (i && broken) {
            xm_sxp_newline(out, col, start + XM_SXP_INDENT);
        } else if (i) {
            fputc(' ', out);
            (*col)++;
        }
        xm_sxp_pretty(v->u.a.items[i], out, col, depth + 1);
    }
    if (broken)
        xm_sxp_newline(out, col, start);
    fputc(')', out);
    (*col)++;
}

void xm_sxp_print(const xmlrpc_value *v)
{
    size_t col = 0;
    xm_sxp_pretty(v, stdout, &col, 0);
    fputc('\n', stdout);
}

typedef struct {
    const char *p, *end;
    const char *error; /* set on the first error */
} xm_sxp_reader;

static void xm_sxp_skip(xm_sxp_reader *r)
{
    while (r->p < r->end) {
        if (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') {
            r->p++;
        } else if (*r->p == '#') { /* a comment runs to the end of the line */
            while (r->p < r->end && *r->p != '\n')
                r->p++;
        } else {
            break;
        }
    }
}

static int xm_sxp_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A quoted atom with sxp.py's escapes (\n \t \r \\ \' \" \xHH). */
static xmlrpc_value *xm_sxp_read_quoted(xm_sxp_reader *r)
{
    char q = *r->p++;
    char *buf = malloc((size_t)(r->end - r->p) + 1);
    size_t n = 0;
    if (!buf) {
        r->error = strerror(ENOMEM);
        return NULL;
    }
    while (r->p < r->end && *r->p != q) {
        char c = *r->p++;
        if (c == '\\' && r->p < r->end) {
            char e = *r->p++;
            if (e == 'x' && r->end - r->p >= 2 && xm_sxp_hex(r->p[0]) >= 0 &&
                xm_sxp_hex(r->p[1]) >= 0) {
                c = (char)(xm_sxp_hex(r->p[0]) * 16 + xm_sxp_hex(r->p[1]));
                r->p += 2;
            } else {
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            }
        }
        buf[n++] = c;
    }
    if (r->p >= r->end) {
        free(buf);
        r->error = _("a quoted atom is not closed");
        return NULL;
    }
    r->p++;
    xmlrpc_value *v = xmlrpc_string_n(buf, n);
    free(buf);
    return v;
}

static xmlrpc_value *xm_sxp_read(xm_sxp_reader *r, unsigned depth)
{
    xm_sxp_skip(r);
    if (r->p >= r->end) {
        r->error = _("unexpected end of text");
        return NULL;
    }
    char c = *r->p;
    if (c == ')') {
        r->error = _("unbalanced ')'");
        return NULL;
    }
    if (c == '\'' || c == '"')
        return xm_sxp_read_quoted(r);
    if (c != '(') {
        const char *b = r->p;
        while (r->p < r->end && !strchr(" \t\r\n()'\"", *r->p))
            r->p++;
        return xmlrpc_string_n(b, (size_t)(r->p - b));
    }
    if (depth >= XM_SXP_DEPTH) {
        r->error = _("lists nested too deeply");
        return NULL;
    }
    r->p++;
    xmlrpc_value *list = xmlrpc_array();
    for (;;) {
        xm_sxp_skip(r);
        if (r->p < r->end && *r->p == ')') {
            r->p++;
            return list;
        }
        xmlrpc_value *item = xm_sxp_read(r, depth + 1);
        if (!item) {
            xmlrpc_value_free(list);
            return NULL;
        }
        xmlrpc_array_append(list, item);
    }
}

/* Parse one S-expression of Xend's text syntax into nested arrays of strings. NULL after
 * printing an error. */
static xmlrpc_value *xm_sxp_parse(const char *text, size_t len)
{
    xm_sxp_reader r = {text, text + len, NULL};
    xmlrpc_value *v = xm_sxp_read(&r, 0);
    if (v) {
        xm_sxp_skip(&r);
        if (r.p < r.end) {
            r.error = _("text after the S-expression");
            xmlrpc_value_free(v);
            v = NULL;
        }
    }
    if (!v)
        xm_error(_("Cannot read the S-expression xend sent: %s."), r.error);
    return v;
}

/* ---- list ---- */

/* Xend's six state letters r b p s c d from a v1 state name; inactive (shutoff) and
 * suspended domains have none set. */
static const char *xm_state_flags(const char *state)
{
    static const struct {
        const char *state, *flags;
    } map[] = {{"running", "r-----"},  {"blocked", "-b----"}, {"paused", "--p---"},
               {"shutdown", "---s--"}, {"crashed", "----c-"}, {"shutoff", "------"},
               {"suspended", "------"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(state, map[i].state))
            return map[i].flags;
    return "------";
}

/* The domain.list filter for the named domains (argv[first..argc-1]) and extra members;
 * NULL when nothing filters (an unfiltered call is the cheapest). */
static xmlrpc_value *xm_list_filter(int argc, char **argv, int first, const char *state,
                                    bool active_only)
{
    if (first >= argc && !state && !active_only)
        return NULL;
    xmlrpc_value *f = xmlrpc_struct();
    if (first < argc) {
        xmlrpc_value *names = xmlrpc_array();
        for (int i = first; i < argc; i++)
            xmlrpc_array_append(names, xmlrpc_string(argv[i]));
        xmlrpc_struct_set(f, "domains", names);
    } else if (active_only) {
        xmlrpc_struct_set(f, "active", xmlrpc_bool(true));
    }
    if (state)
        xmlrpc_struct_set(f, "state", xmlrpc_string(state));
    return f;
}

/* domain.list with the filter (taken); -1 after printing the error. */
static int xm_domain_list(xm_ctx *x, xmlrpc_value *filter, xmlrpc_value **rows)
{
    if (filter)
        return xm_call(x, "domain.list", rows, "v", filter);
    return xm_call(x, "domain.list", rows, "");
}

/* The (domain ...) sxp of an inactive domain: its configuration converted by xend, with
 * Xend's head for every domain record. Falls back to xend.domain when the daemon predates
 * domain.convert. NULL after printing the error. */
static xmlrpc_value *xm_inactive_sxp(xm_ctx *x, const char *name)
{
    xmlrpc_value *xml = NULL, *conv = NULL, *sxp = NULL;
    if (xm_call(x, "domain.get_xml", &xml, "s", name) < 0)
        return NULL;
    if (xml->type != XMLRPC_STRING) {
        xmlrpc_value_free(xml);
        xm_error(_("domain.get_xml returned no text."));
        return NULL;
    }
    int rc = xm_call_quiet(x, "domain.convert", &conv, "ssv", xml->u.s.ptr, "sxp", xmlrpc_struct());
    xmlrpc_value_free(xml);
    if (rc < 0) {
        if (xend_last_error(x->conn)->code != XM_METHOD_NOT_FOUND) {
            xm_print_last_error(x);
            return NULL;
        }
        return xm_call(x, "xend.domain", &sxp, "s", name) < 0 ? NULL : sxp;
    }
    /* {config: the (vm ...) text, from, name, warnings}; the warnings say what an sxp
     * cannot express, which is no news to someone listing the domain. */
    const char *config = xm_struct_str(conv, "config", NULL);
    if (config)
        sxp = xm_sxp_parse(config, strlen(config));
    else
        xm_error(_("domain.convert returned no S-expression."));
    xmlrpc_value_free(conv);
    if (sxp && sxp->type == XMLRPC_ARRAY && sxp->u.a.n &&
        sxp->u.a.items[0]->type == XMLRPC_STRING && !strcmp(sxp->u.a.items[0]->u.s.ptr, "vm")) {
        /* A config is a (vm ...); xm list --long shows every domain as (domain ...). */
        xmlrpc_value_free(sxp->u.a.items[0]);
        sxp->u.a.items[0] = xmlrpc_string("domain");
    }
    return sxp;
}

static int xm_list_long(xm_ctx *x, const xmlrpc_value *rows)
{
    for (size_t i = 0; i < rows->u.a.n; i++) {
        const xmlrpc_value *row = rows->u.a.items[i];
        const char *name = xm_struct_str(row, "name", "");
        xmlrpc_value *sxp = NULL;
        if (xm_struct_int(row, "id", -1) >= 0) {
            if (xm_call(x, "xend.domain", &sxp, "s", name) < 0)
                return 1;
        } else if (!(sxp = xm_inactive_sxp(x, name))) {
            return 1;
        }
        xm_sxp_print(sxp);
        xmlrpc_value_free(sxp);
    }
    return 0;
}

typedef struct {
    bool lng;
    const char *state;
} xm_list_opts;

static int xm_list_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x;
    xm_list_opts *o = data;
    if (opt == 'l')
        o->lng = true;
    else
        o->state = arg;
    return 0;
}

int xm_cmd_list(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"long", 'l', false}, {"state", 0, true}, {NULL, 0, false}};
    xm_list_opts o = {false, NULL};
    int first, rc = xm_opts_parse(x, argc, argv, opts, xm_list_opt, &o, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    xmlrpc_value *rows = NULL, *filter = xm_list_filter(argc, argv, first, o.state, false);
    if (!x->json && !o.lng) {
        /* The brief table needs 6 of the 14 members: asking for only those halves the
         * reply, whose decoding is most of what `xm list` costs with many domains. */
        static const char *const brief[] = {"name", "id", "memory", "vcpus", "state",
                                            "cpu_time"};
        xmlrpc_value *fields = xmlrpc_array();
        for (size_t i = 0; i < sizeof(brief) / sizeof(brief[0]); i++)
            xmlrpc_array_append(fields, xmlrpc_string(brief[i]));
        if (!filter)
            filter = xmlrpc_struct();
        xmlrpc_struct_set(filter, "fields", fields);
    }
    if (xm_domain_list(x, filter, &rows) < 0)
        return 1;
    if (rows->type != XMLRPC_ARRAY) {
        xmlrpc_value_free(rows);
        return xm_error(_("domain.list returned no list."));
    }
    if (x->json) {
        xm_print_json(rows);
    } else if (o.lng) {
        rc = xm_list_long(x, rows);
    } else {
        /* The brief table is the hot path (scripts run it in loops over many domains):
         * one call, one pass, no lookups per domain. */
        printf("%-40s %3s %5s %5s %10s %9s\n", _("Name"), _("ID"), _("Mem"), _("VCPUs"), _("State"),
               _("Time(s)"));
        for (size_t i = 0; i < rows->u.a.n; i++) {
            const xmlrpc_value *row = rows->u.a.items[i];
            int64_t id = xm_struct_int(row, "id", -1);
            char idtext[24] = "-";
            if (id >= 0)
                snprintf(idtext, sizeof(idtext), "%" PRId64, id);
            printf("%-40s %3s %5" PRId64 " %5" PRId64 " %10s %9.1f\n",
                   xm_struct_str(row, "name", ""), idtext, xm_struct_int(row, "memory", 0) / 1024,
                   xm_struct_int(row, "vcpus", 0), xm_state_flags(xm_struct_str(row, "state", "")),
                   xm_struct_double(row, "cpu_time", 0));
        }
    }
    xmlrpc_value_free(rows);
    return rc;
}

/* ---- vcpu-list ---- */

/* Xend's three vCPU state letters: r running, b blocked, p offline ("paused"). */
static const char *xm_vcpu_flags(const xmlrpc_value *vcpu)
{
    if (!xm_struct_bool(vcpu, "online", false))
        return "--p";
    const char *s = xm_struct_str(vcpu, "state", "");
    return !strcmp(s, "running") ? "r--" : !strcmp(s, "blocked") ? "-b-" : "---";
}

int xm_cmd_vcpu_list(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 0, -1, &first, &rc))
        return rc;
    xmlrpc_value *rows = NULL, *node = NULL;
    if (xm_domain_list(x, xm_list_filter(argc, argv, first, NULL, true), &rows) < 0)
        return 1;
    if (xm_call(x, "node.info", &node, "") < 0) {
        xmlrpc_value_free(rows);
        return 1;
    }
    /* Affinity with every host CPU is Xend's "any cpu". */
    int64_t cpus = xm_struct_int(node, "cpus", 1);
    char all[32];
    if (cpus > 1)
        snprintf(all, sizeof(all), "0-%" PRId64, cpus - 1);
    else
        snprintf(all, sizeof(all), "0");
    xmlrpc_value_free(node);

    /* Every domain's vCPUs are read before anything is printed, so an error (a named
     * domain that is not running) leaves no half table behind. */
    xmlrpc_value *out = xmlrpc_array();
    for (size_t i = 0; rows->type == XMLRPC_ARRAY && i < rows->u.a.n; i++) {
        const xmlrpc_value *row = rows->u.a.items[i];
        const char *name = xm_struct_str(row, "name", "");
        xmlrpc_value *vcpus = NULL;
        if (xm_call(x, "domain.vcpu_info", &vcpus, "s", name) < 0) {
            rc = 1;
            break;
        }
        xmlrpc_value *entry = xmlrpc_struct();
        xmlrpc_struct_set(entry, "name", xmlrpc_string(name));
        xmlrpc_struct_set(entry, "id", xmlrpc_i8(xm_struct_int(row, "id", -1)));
        xmlrpc_struct_set(entry, "vcpus", vcpus);
        xmlrpc_array_append(out, entry);
    }
    xmlrpc_value_free(rows);
    if (rc == 0 && x->json) {
        xm_print_json(out);
    } else if (rc == 0) {
        printf("%-32s %3s %5s %5s %5s %9s %s\n", _("Name"), _("ID"), _("VCPU"), _("CPU"),
               _("State"), _("Time(s)"), _("CPU Affinity"));
        for (size_t i = 0; i < out->u.a.n; i++) {
            const xmlrpc_value *e = out->u.a.items[i];
            const xmlrpc_value *vcpus = xmlrpc_struct_get(e, "vcpus");
            for (size_t k = 0; vcpus && vcpus->type == XMLRPC_ARRAY && k < vcpus->u.a.n; k++) {
                const xmlrpc_value *v = vcpus->u.a.items[k];
                char cpu[24] = "-";
                if (xm_struct_bool(v, "online", false))
                    snprintf(cpu, sizeof(cpu), "%" PRId64, xm_struct_int(v, "cpu", -1));
                const char *aff = xm_struct_str(v, "affinity", "");
                printf("%-32s %3" PRId64 " %5" PRId64 " %5s %5s %9.1f %s\n",
                       xm_struct_str(e, "name", ""), xm_struct_int(e, "id", -1),
                       xm_struct_int(v, "number", 0), cpu, xm_vcpu_flags(v),
                       xm_struct_double(v, "cpu_time", 0), !strcmp(aff, all) ? _("any cpu") : aff);
            }
        }
    }
    xmlrpc_value_free(out);
    return rc;
}

/* ---- uptime ---- */

/* Xend's uptime text: "[N day(s), ]H:MM" plus ":SS" in the long form. */
static void xm_uptime_text(int64_t up, bool seconds, char *buf, size_t size)
{
    int64_t days = up / 86400, hours = up % 86400 / 3600, minutes = up % 3600 / 60;
    size_t n = 0;
    if (days > 0)
        n = (size_t)snprintf(buf, size, ngettext("%lld day, ", "%lld days, ", (unsigned long)days),
                             (long long)days);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "%2" PRId64 ":%02" PRId64, hours, minutes);
    if (seconds && n < size)
        snprintf(buf + n, size - n, ":%02" PRId64, up % 60);
}

static int xm_uptime_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)opt, (void)arg;
    *(bool *)data = true;
    return 0;
}

int xm_cmd_uptime(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"short", 's', false}, {NULL, 0, false}};
    bool brief = false;
    int first, rc = xm_opts_parse(x, argc, argv, opts, xm_uptime_opt, &brief, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    xmlrpc_value *rows = NULL;
    if (xm_domain_list(x, xm_list_filter(argc, argv, first, NULL, true), &rows) < 0)
        return 1;
    /* Only running domains have an uptime; a named one that is not running is an error,
     * reported before anything is printed. */
    for (size_t i = 0; rows->type == XMLRPC_ARRAY && i < rows->u.a.n; i++) {
        if (xm_struct_int(rows->u.a.items[i], "id", -1) < 0) {
            xm_error(_("Domain '%s' is not running."),
                     xm_struct_str(rows->u.a.items[i], "name", ""));
            xmlrpc_value_free(rows);
            return 1;
        }
    }
    if (x->json) {
        xm_print_json(rows);
        xmlrpc_value_free(rows);
        return 0;
    }
    time_t now = time(NULL);
    if (!brief)
        printf("%s\n", _("Name                              ID Uptime"));
    for (size_t i = 0; rows->type == XMLRPC_ARRAY && i < rows->u.a.n; i++) {
        const xmlrpc_value *row = rows->u.a.items[i];
        int64_t start = xm_struct_int(row, "start_time", 0);
        int64_t up = start > 0 && (int64_t)now > start ? (int64_t)now - start : 0;
        const char *name = xm_struct_str(row, "name", "");
        int64_t id = xm_struct_int(row, "id", -1);
        char text[64];
        xm_uptime_text(up, !brief, text, sizeof(text));
        if (brief) {
            /* like uptime(1): " HH:MM:SS up TIME, NAME (ID)" */
            char clock[16];
            struct tm tm;
            strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
            printf(_(" %s up %s, %s (%lld)\n"), clock, text, name, (long long)id);
        } else {
            printf("%-32s %3" PRId64 " %s\n", name, id, text);
        }
    }
    xmlrpc_value_free(rows);
    return 0;
}

/* ---- domid, domname ---- */

/* domain.lookup of the single argument; NULL after printing the error. */
static xmlrpc_value *xm_lookup_arg(xm_ctx *x, int argc, char **argv, int *rc)
{
    int first;
    *rc = xm_opts_none(x, argc, argv, &first);
    if (*rc) {
        if (*rc == 2)
            *rc = 0;
        return NULL;
    }
    *rc = 1;
    if (xm_args_check(x, argc - first, 1, 1))
        return NULL;
    xmlrpc_value *row = NULL;
    if (xm_call(x, "domain.lookup", &row, "s", argv[first]) < 0)
        return NULL;
    *rc = 0;
    return row;
}

int xm_cmd_domid(xm_ctx *x, int argc, char **argv)
{
    int rc;
    xmlrpc_value *row = xm_lookup_arg(x, argc, argv, &rc);
    if (!row)
        return rc;
    int64_t id = xm_struct_int(row, "id", -1);
    if (id < 0)
        rc = xm_error(_("Domain '%s' is not running."), xm_struct_str(row, "name", ""));
    else if (x->json)
        xm_print_json(row);
    else
        printf("%" PRId64 "\n", id);
    xmlrpc_value_free(row);
    return rc;
}

int xm_cmd_domname(xm_ctx *x, int argc, char **argv)
{
    int rc;
    xmlrpc_value *row = xm_lookup_arg(x, argc, argv, &rc);
    if (!row)
        return rc;
    if (x->json)
        xm_print_json(row);
    else
        printf("%s\n", xm_struct_str(row, "name", ""));
    xmlrpc_value_free(row);
    return 0;
}

/* ---- info ---- */

/* The value of key in xend.node.info's [[key, value], ...], or NULL. */
static const char *xm_pairs_get(const xmlrpc_value *pairs, const char *key)
{
    for (size_t i = 0; pairs && pairs->type == XMLRPC_ARRAY && i < pairs->u.a.n; i++) {
        const xmlrpc_value *p = pairs->u.a.items[i];
        if (p->type == XMLRPC_ARRAY && p->u.a.n == 2 && p->u.a.items[0]->type == XMLRPC_STRING &&
            p->u.a.items[1]->type == XMLRPC_STRING && !strcmp(p->u.a.items[0]->u.s.ptr, key))
            return p->u.a.items[1]->u.s.ptr;
    }
    return NULL;
}

static void xm_info_line(const char *key, const char *value)
{
    printf("%-23s: %s\n", key, value);
}

static void xm_info_int(const char *key, int64_t value)
{
    printf("%-23s: %" PRId64 "\n", key, value);
}

/* A line whose value only the daemon's host knows (xend.node.info's), else here's. */
static void xm_info_host(const xmlrpc_value *compat, const char *key, const char *local)
{
    const char *v = xm_pairs_get(compat, key);
    xm_info_line(key, v ? v : local);
}

int xm_cmd_info(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 0, 0, &first, &rc))
        return rc;
    xmlrpc_value *node = NULL, *version = NULL, *compat = NULL;
    if (xm_call(x, "node.info", &node, "") < 0)
        return 1;
    if (x->json) {
        xm_print_json(node);
        xmlrpc_value_free(node);
        return 0;
    }
    if (xm_call(x, "daemon.version", &version, "") < 0) {
        xmlrpc_value_free(node);
        return 1;
    }
    /* The kernel, page size and build of the daemon's host are only in the compatibility
     * call's answer; when it is unavailable xm's own host stands in. */
    if (xm_call_quiet(x, "xend.node.info", &compat, "") < 0)
        compat = NULL;

    struct utsname un;
    if (uname(&un) < 0)
        memset(&un, 0, sizeof(un));
    /* Xen's version triple is xend's: "1.2.3" is major 1, minor 2, extra ".3". */
    const char *ver = xm_struct_str(version, "version", "0.0");
    const char *dot = strchr(ver, '.');
    const char *extra = dot ? strchr(dot + 1, '.') : NULL;
    char text[160];

    xm_info_line("host", xm_struct_str(node, "hostname", ""));
    xm_info_host(compat, "release", un.release);
    xm_info_host(compat, "version", un.version);
    xm_info_host(compat, "machine", un.machine);
    xm_info_int("nr_cpus", xm_struct_int(node, "cpus", 0));
    xm_info_int("nr_nodes", xm_struct_int(node, "nodes", 1));
    xm_info_int("sockets_per_node", xm_struct_int(node, "sockets", 1));
    xm_info_int("cores_per_socket", xm_struct_int(node, "cores", 1));
    xm_info_int("threads_per_core", xm_struct_int(node, "threads", 1));
    xm_info_int("cpu_mhz", xm_struct_int(node, "mhz", 0));
    xm_info_host(compat, "hw_caps",
                 "00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000");
    xm_info_int("total_memory", xm_struct_int(node, "memory", 0) / 1024);
    xm_info_int("free_memory", xm_struct_int(node, "free_memory", 0) / 1024);
    xm_info_int("xen_major", strtol(ver, NULL, 10));
    xm_info_int("xen_minor", dot ? strtol(dot + 1, NULL, 10) : 0);
    xm_info_line("xen_extra", extra ? extra : "");
    snprintf(text, sizeof(text), "hvm-%s-%s", xm_struct_str(version, "api", "1.0"),
             xm_struct_str(node, "arch", un.machine));
    xm_info_host(compat, "xen_caps", text);
    long pagesize = sysconf(_SC_PAGESIZE);
    snprintf(text, sizeof(text), "%ld", pagesize > 0 ? pagesize : 4096);
    xm_info_host(compat, "xen_pagesize", text);
    xm_info_host(compat, "platform_params", "virt_start=0x0");
    xm_info_host(compat, "xen_changeset", "unavailable");
    /* cc_compiler is the compiler that built xend, from xend.node.info; only when the
     * daemon does not answer that is it the one that built this xm (__VERSION__). */
    xm_info_host(compat, "cc_compiler", "gcc version " __VERSION__);
    xm_info_host(compat, "cc_compile_by", "xend");
    xm_info_host(compat, "cc_compile_domain", "localdomain");
    xm_info_host(compat, "cc_compile_date", __DATE__ " " __TIME__);
    xm_info_host(compat, "xend_config_format", "3");
    /* xend's own: what runs the domains */
    const char *hv = xm_struct_str(node, "hypervisor", ""),
               *hvv = xm_struct_str(node, "hypervisor_version", "");
    snprintf(text, sizeof(text), "%s%s%s", hv, *hv && *hvv ? " " : "", hvv);
    xm_info_line("hypervisor", text);
    xm_info_line("accel", xm_struct_str(node, "accel", ""));
    xm_info_line("driver", xm_struct_str(node, "driver", ""));
    xmlrpc_value_free(node);
    xmlrpc_value_free(version);
    xmlrpc_value_free(compat);
    return 0;
}

/* ---- dmesg, log ---- */

/* Print a text result as is, ending it with a newline if it has none. */
static void xm_print_text(const xmlrpc_value *v)
{
    if (v->type != XMLRPC_STRING || v->u.s.len == 0)
        return;
    fwrite(v->u.s.ptr, 1, v->u.s.len, stdout);
    if (v->u.s.ptr[v->u.s.len - 1] != '\n')
        fputc('\n', stdout);
}

static int xm_dmesg_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)opt, (void)arg;
    *(bool *)data = true;
    return 0;
}

int xm_cmd_dmesg(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"clear", 'c', false}, {NULL, 0, false}};
    bool clear = false;
    int first, rc = xm_opts_parse(x, argc, argv, opts, xm_dmesg_opt, &clear, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 0, 0))
        return 1;
    xmlrpc_value *text = NULL;
    if (xm_call(x, "node.dmesg", &text, "b", clear) < 0)
        return 1;
    if (x->json)
        xm_print_json(text);
    else
        xm_print_text(text);
    xmlrpc_value_free(text);
    return 0;
}

int xm_cmd_log(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 0, 0, &first, &rc))
        return rc;
    xmlrpc_value *text = NULL;
    if (xm_call(x, "node.log", &text, "") < 0)
        return 1;
    if (x->json)
        xm_print_json(text);
    else
        xm_print_text(text);
    xmlrpc_value_free(text);
    return 0;
}
