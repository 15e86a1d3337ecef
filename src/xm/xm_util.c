/*
 * What every xm command shares: printing errors and usage the way xm always has, option
 * parsing with xm's messages, the lazily opened connection, calls that print their fault,
 * typed access to result structs, JSON output (json-c) and argument parsers. xm links only
 * the public libxend, so nothing here reaches into the daemon's or the library's insides.
 */
#include "config.h"
#include "xm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XM_NO_DOMAIN 3 /* Xend's and xend's fault code for an unknown domain */

int xm_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs(_("Error: "), stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

void xm_usage_print(const xm_cmd *cmd, bool err)
{
    FILE *f = err ? stderr : stdout;
    fprintf(f, _("Usage: xm %s %s"), cmd->name, cmd->args && *cmd->args ? _(cmd->args) : "");
    fprintf(f, "\n\n%s\n", _(cmd->help));
    if (cmd->options && *cmd->options)
        fprintf(f, "\n%s", _(cmd->options));
}

int xm_usage_error(xm_ctx *x, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs(_("Error: "), stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    if (x->cmd)
        xm_usage_print(x->cmd, true);
    return 1;
}

int xm_args_check(xm_ctx *x, int n, int min, int max)
{
    if (n >= min && (max < 0 || n <= max))
        return 0;
    const char *name = x->cmd ? x->cmd->name : "";
    if (min == max)
        return xm_usage_error(x, ngettext("'xm %s' requires %d argument.",
                                          "'xm %s' requires %d arguments.", (unsigned long)min),
                              name, min);
    if (max < 0)
        return xm_usage_error(x, ngettext("'xm %s' requires at least %d argument.",
                                          "'xm %s' requires at least %d arguments.",
                                          (unsigned long)min),
                              name, min);
    return xm_usage_error(x, _("'xm %s' requires between %d and %d arguments."), name, min,
                          max);
}

/* ---- options ---- */

static const xm_opt *xm_opt_long(const xm_opt *opts, const char *name, size_t len)
{
    for (const xm_opt *o = opts; o && (o->name || o->short_name); o++)
        if (o->name && strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static const xm_opt *xm_opt_short(const xm_opt *opts, char c)
{
    for (const xm_opt *o = opts; o && (o->name || o->short_name); o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

int xm_opts_parse(xm_ctx *x, int argc, char **argv, const xm_opt *opts,
                  int (*on_opt)(xm_ctx *x, int opt, const char *arg, void *data), void *data,
                  int *first)
{
    /* Positionals are gathered here and written back after the options, in order. */
    char **pos = calloc((size_t)argc + 1, sizeof(*pos));
    if (!pos)
        return xm_error("%s", strerror(ENOMEM));
    int npos = 0, rc = 0;
    int i = 1;
    for (; i < argc && rc == 0; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            xm_usage_print(x->cmd, false);
            rc = 2;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            pos[npos++] = a;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const xm_opt *o = xm_opt_long(opts, name, len);
            if (!o) {
                rc = xm_usage_error(x, _("option --%.*s not recognized"), (int)len, name);
                break;
            }
            const char *arg = NULL;
            if (o->has_arg) {
                if (eq)
                    arg = eq + 1;
                else if (i + 1 < argc)
                    arg = argv[++i];
                else {
                    rc = xm_usage_error(x, _("option --%s requires an argument"), o->name);
                    break;
                }
            } else if (eq) {
                rc = xm_usage_error(x, _("option --%s does not take an argument"), o->name);
                break;
            }
            int key = o->short_name ? o->short_name : 256 + (int)(o - opts);
            rc = on_opt(x, key, arg, data);
            continue;
        }
        for (const char *c = a + 1; *c && rc == 0; c++) {
            const xm_opt *o = xm_opt_short(opts, *c);
            if (!o) {
                rc = xm_usage_error(x, _("option -%c not recognized"), *c);
                break;
            }
            if (o->has_arg) {
                const char *arg = c[1] ? c + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!arg) {
                    rc = xm_usage_error(x, _("option -%c requires an argument"), *c);
                    break;
                }
                rc = on_opt(x, *c, arg, data);
                break;
            }
            rc = on_opt(x, *c, NULL, data);
        }
    }
    if (rc == 0) {
        for (; i < argc; i++)
            pos[npos++] = argv[i];
        int start = argc - npos;
        for (int k = 0; k < npos; k++)
            argv[start + k] = pos[k];
        *first = start;
    }
    free(pos);
    return rc;
}

static int xm_no_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)opt, (void)arg, (void)data;
    return 0;
}

int xm_opts_none(xm_ctx *x, int argc, char **argv, int *first)
{
    static const xm_opt none[] = {{NULL, 0, false}};
    return xm_opts_parse(x, argc, argv, none, xm_no_opt, NULL, first);
}

bool xm_args(xm_ctx *x, int argc, char **argv, int min, int max, int *first, int *status)
{
    int rc = xm_opts_none(x, argc, argv, first);
    if (rc == 0)
        rc = xm_args_check(x, argc - *first, min, max);
    *status = rc == 2 ? 0 : rc;
    return rc != 0;
}

/* ---- the connection ---- */

xend_conn *xm_conn(xm_ctx *x)
{
    if (x->conn)
        return x->conn;
    x->conn = xend_open(x->uri);
    if (!x->conn) {
        const xend_client_error *e = xend_last_error(NULL);
        const char *m = e->message;
        const char *tail = strstr(m, ": connecting needs write access");
        if (!strncmp(m, "Permission denied on ", 21) && tail)
            xm_error(_("Permission denied on %.*s: run xm as root or as a member of the group "
                       "that owns the socket (see xend.conf(5) socket_group)."),
                     (int)(tail - m - 21), m + 21);
        else if (strstr(m, "Is xend running?"))
            xm_error("%s", m); /* discovery found nothing: already says where it looked */
        else if (strstr(m, "certificate") || strstr(m, "TLS"))
            xm_error("%s", m); /* xend answered: the question would mislead */
        else if (!strncmp(m, "Unable to connect to xend", 25))
            xm_error(_("%s. Is xend running?"), m);
        else
            xm_error(_("Unable to connect to xend: %s. Is xend running?"), m);
    }
    return x->conn;
}

void xm_print_last_error(xm_ctx *x)
{
    const xend_client_error *e = xend_last_error(x->conn);
    if (e->code == XM_NO_DOMAIN && !strstr(e->message, "does not exist"))
        xm_error(_("Domain '%s' does not exist."), e->message); /* Xend's bare name */
    else if (e->code == XM_NO_DOMAIN) /* v1: "domain 'X' does not exist" */
        xm_error("%c%s%s", toupper((unsigned char)e->message[0]), e->message + 1,
                 e->message[strlen(e->message) - 1] == '.' ? "" : ".");
    else
        xm_error("%s", e->message);
    if (e->trace && getenv("XM_DEBUG"))
        fprintf(stderr, "%s\n", e->trace);
}

int xm_call_va(xm_ctx *x, bool print, const char *method, xmlrpc_value **result,
               const char *fmt, va_list ap)
{
    if (result)
        *result = NULL;
    /* Arguments are built before connecting so that 'v' values are always consumed. */
    xmlrpc_value *params = xend_params_va(fmt, ap);
    if (!params)
        return xm_error("internal: %s", xend_last_error(NULL)->message), -1;
    if (!xm_conn(x)) {
        xmlrpc_value_free(params);
        return -1;
    }
    int rc = xend_call_value(x->conn, method, params, result);
    xmlrpc_value_free(params);
    if (rc < 0 && print)
        xm_print_last_error(x);
    return rc;
}

int xm_call(xm_ctx *x, const char *method, xmlrpc_value **result, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = xm_call_va(x, true, method, result, fmt, ap);
    va_end(ap);
    return rc;
}

int xm_call_quiet(xm_ctx *x, const char *method, xmlrpc_value **result, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = xm_call_va(x, false, method, result, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- values ---- */

static const xmlrpc_value *xm_member(const xmlrpc_value *st, const char *name)
{
    if (!st || st->type != XMLRPC_STRUCT)
        return NULL;
    return xmlrpc_struct_get(st, name);
}

const char *xm_struct_str(const xmlrpc_value *st, const char *name, const char *dflt)
{
    const xmlrpc_value *v = xm_member(st, name);
    return v && v->type == XMLRPC_STRING ? v->u.s.ptr : dflt;
}

int64_t xm_struct_int(const xmlrpc_value *st, const char *name, int64_t dflt)
{
    const xmlrpc_value *v = xm_member(st, name);
    if (!v)
        return dflt;
    if (v->type == XMLRPC_INT || v->type == XMLRPC_I8)
        return v->u.i;
    if (v->type == XMLRPC_BOOL)
        return v->u.b;
    if (v->type == XMLRPC_DOUBLE)
        return (int64_t)v->u.d;
    return dflt;
}

double xm_struct_double(const xmlrpc_value *st, const char *name, double dflt)
{
    const xmlrpc_value *v = xm_member(st, name);
    if (!v)
        return dflt;
    if (v->type == XMLRPC_DOUBLE)
        return v->u.d;
    if (v->type == XMLRPC_INT || v->type == XMLRPC_I8)
        return (double)v->u.i;
    return dflt;
}

bool xm_struct_bool(const xmlrpc_value *st, const char *name, bool dflt)
{
    const xmlrpc_value *v = xm_member(st, name);
    if (!v)
        return dflt;
    if (v->type == XMLRPC_BOOL)
        return v->u.b;
    if (v->type == XMLRPC_INT || v->type == XMLRPC_I8)
        return v->u.i != 0;
    return dflt;
}

/* base64 of bytes for JSON output ({"base64": "..."}): json-c has no encoder. */
static char *xm_base64(const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static json_object *xm_to_json(const xmlrpc_value *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case XMLRPC_INT:
    case XMLRPC_I8: return json_object_new_int64(v->u.i);
    case XMLRPC_BOOL: return json_object_new_boolean(v->u.b);
    case XMLRPC_DOUBLE: return json_object_new_double(v->u.d);
    case XMLRPC_STRING:
    case XMLRPC_DATETIME: return json_object_new_string_len(v->u.s.ptr, (int)v->u.s.len);
    case XMLRPC_BASE64: {
        json_object *o = json_object_new_object();
        char *b = xm_base64((const unsigned char *)v->u.s.ptr, v->u.s.len);
        json_object_object_add(o, "base64", json_object_new_string(b ? b : ""));
        free(b);
        return o;
    }
    case XMLRPC_STRUCT: {
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < v->u.st.n; i++)
            json_object_object_add(o, v->u.st.m[i].name, xm_to_json(v->u.st.m[i].value));
        return o;
    }
    case XMLRPC_ARRAY: {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < v->u.a.n; i++)
            json_object_array_add(a, xm_to_json(v->u.a.items[i]));
        return a;
    }
    default: return NULL; /* nil */
    }
}

static void xm_json_out(const xmlrpc_value *v, int flags)
{
    json_object *o = xm_to_json(v);
    const char *s = json_object_to_json_string_ext(o, flags);
    fputs(s ? s : "null", stdout);
    fputc('\n', stdout);
    json_object_put(o);
}

void xm_print_json(const xmlrpc_value *v)
{
    xm_json_out(v, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                       JSON_C_TO_STRING_NOSLASHESCAPE);
}

void xm_print_json_line(const xmlrpc_value *v)
{
    xm_json_out(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    fflush(stdout);
}

/* ---- argument parsers ---- */

int xm_parse_int(xm_ctx *x, const char *text, const char *what, long long min, long long max,
                 long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < min || v > max || isspace((unsigned char)*text))
        return xm_usage_error(x, _("Invalid %s: '%s' (a whole number from %lld to %lld)."),
                              what, text, min, max);
    *out = v;
    return 0;
}

int xm_parse_mem(xm_ctx *x, const char *text, int64_t *kib)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    long long mult = 1024; /* m by default, as xm did */
    if (end != text && *end && !end[1]) {
        switch (tolower((unsigned char)*end)) {
        case 'k': mult = 1; end++; break;
        case 'm': mult = 1024; end++; break;
        case 'g': mult = 1024 * 1024; end++; break;
        default: break;
        }
    }
    if (!isdigit((unsigned char)*text) || *end || errno || v == 0 ||
        v > (unsigned long long)(INT64_MAX / 1024 / 1024 / 1024))
        return xm_usage_error(x, _("Invalid memory size: '%s' (a positive size with an "
                                   "optional k, m or g suffix)."),
                              text);
    *kib = (int64_t)v * mult;
    return 0;
}

char *xm_abs_path(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return strdup(path);
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
    return out;
}

char *xm_read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return NULL;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        errno = ENOMEM;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
