/*
 * URI parsing (unix://, httpu://, http:// and https:// with optional user:password@, ssh://)
 * and the
 * argument format of xend_call: the parts of libxend that need no daemon, kept apart from
 * the transport so the unit test can check them exhaustively.
 */
#include "lib_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/text.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define LIB_DEFAULT_PATH "/RPC2"
/* xend's default tcp_port: http://host/ or https://host/ alone means the usual daemon. */
#define LIB_DEFAULT_PORT "8006"

void lib_uri_clear(lib_uri *u)
{
    free(u->socket_path);
    free(u->host);
    free(u->port);
    free(u->user);
    free(u->password);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

static int lib_uri_parse_unix(const char *uri, const char *rest, lib_uri *out)
{
    /* rest is what follows "scheme://": an absolute path, so the URI has three slashes. */
    if (rest[0] != '/') {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "invalid URI '%s': the socket path must be absolute "
                          "(unix:///path/to/xend.sock)",
                          uri);
        return -1;
    }
    /* sun_path must hold the path and its NUL. */
    if (strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "invalid URI '%s': socket path longer than %zu bytes", uri,
                          sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return -1;
    }
    out->transport = LIB_TRANSPORT_UNIX;
    out->socket_path = xstrdup(rest);
    out->path = xstrdup(LIB_DEFAULT_PATH);
    return 0;
}

/* Decode the %XX escapes of the n bytes at s into a new string; NULL if an escape is
 * malformed or decodes to a NUL byte. */
static char *lib_uri_unescape(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? xend_hex_digit(s[i + 1]) : -1;
        int lo = hi >= 0 ? xend_hex_digit(s[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static bool lib_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            return true;
    return false;
}

/* The authority of a network URI, "[user[:password]@]host[:port]" (host possibly an [IPv6]
 * literal), from rest up to its first '/'. Sets out->user, password, host and port (NULL
 * when absent); *after points at the path. 0, or -1 without a report (the caller knows
 * which syntax it expected) and *out partly filled. */
static int lib_uri_parse_authority(const char *rest, lib_uri *out, const char **after)
{
    const char *slash = strchr(rest, '/');
    size_t authlen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *port = NULL;
    size_t hostlen;

    *after = rest + authlen;
    /* The last '@': a password may hold one, the host never does. */
    const char *at = NULL;
    for (const char *p = rest; p < rest + authlen; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *uend = colon ? colon : at;
        out->user = lib_uri_unescape(rest, (size_t)(uend - rest));
        if (colon)
            out->password = lib_uri_unescape(colon + 1, (size_t)(at - colon - 1));
        if (!out->user || !out->user[0] || strchr(out->user, ':') || lib_has_control(out->user) ||
            (colon && !out->password))
            return -1;
        authlen -= (size_t)(at + 1 - rest);
        rest = at + 1;
    }
    if (rest[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(rest, ']', authlen);
        if (!close || close == rest + 1)
            return -1;
        hostlen = (size_t)(close - rest - 1);
        if ((size_t)(close + 1 - rest) < authlen) {
            if (close[1] != ':')
                return -1;
            port = close + 2;
        }
        out->host = xstrndup(rest + 1, hostlen);
    } else {
        const char *colon = memchr(rest, ':', authlen);
        hostlen = colon ? (size_t)(colon - rest) : authlen;
        if (colon)
            port = colon + 1;
        if (hostlen == 0)
            return -1;
        out->host = xstrndup(rest, hostlen);
    }
    if (port) {
        size_t plen = (size_t)(rest + authlen - port);
        long v = 0;
        if (plen == 0 || plen > 5)
            return -1;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return -1;
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return -1;
        out->port = xstrndup(port, plen);
    }
    return 0;
}

char *lib_uri_redact(const char *uri)
{
    if (!uri)
        return xstrdup("");
    /* Without a scheme (a mistyped URI), the authority would start the string. */
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    size_t authlen = strcspn(p, "/");
    const char *at = NULL, *colon;
    for (const char *q = p; q < p + authlen; q++)
        if (*q == '@')
            at = q;
    if (!at || !(colon = memchr(p, ':', (size_t)(at - p))))
        return xstrdup(uri);
    return xasprintf("%.*s%s", (int)(colon - uri), uri, at);
}

static int lib_uri_parse_http(const char *uri, const char *rest, bool tls, lib_uri *out)
{
    const char *slash;
    if (lib_uri_parse_authority(rest, out, &slash) < 0)
        goto bad;
    if (!out->port)
        out->port = xstrdup(LIB_DEFAULT_PORT);
    /* "http://h:p" and "http://h:p/" both mean the standard endpoint. */
    if (!*slash || strcmp(slash, "/") == 0) {
        out->path = xstrdup(LIB_DEFAULT_PATH);
    } else {
        /* The path goes into the request line verbatim: no spaces or controls. */
        for (const char *p = slash; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f)
                goto bad;
        out->path = xstrdup(slash);
    }
    out->transport = LIB_TRANSPORT_TCP;
    out->tls = tls;
    return 0;
bad:
    lib_uri_clear(out);
    char *shown = lib_uri_redact(uri);
    xend_error_report(XEND_ERR_INVALID_ARG,
                      "invalid URI '%s': expected %s://[user[:password]@]host:port/[path] "
                      "with a port from 1 to 65535",
                      shown, tls ? "https" : "http");
    free(shown);
    return -1;
}

/* Characters a host name, user name or socket path of an ssh:// URI may use. They end up
 * as arguments of ssh, and the path in the command line the remote shell runs, so nothing
 * a shell or ssh's option parser would interpret gets through. */
static bool lib_ssh_word_ok(const char *s, const char *extra)
{
    if (!*s || *s == '-')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

static int lib_uri_parse_ssh(const char *uri, const char *rest, lib_uri *out)
{
    const char *path;
    const char *why = "expected ssh://[user@]host[:port][/path/of/xend.sock]";
    if (lib_uri_parse_authority(rest, out, &path) < 0)
        goto bad;
    if (out->password) {
        why = "an ssh:// URI carries no password (ssh asks for it, or use keys)";
        goto bad;
    }
    if (!lib_ssh_word_ok(out->host, strchr(rest, '[') ? ".-_:%" : ".-_") ||
        (out->user && !lib_ssh_word_ok(out->user, ".-_"))) {
        why = "the host and user of an ssh:// URI may only use letters, digits, '.', '-' and "
              "'_' (and not start with '-')";
        goto bad;
    }
    if (*path && strcmp(path, "/") != 0) {
        if (!lib_ssh_word_ok(path + 1, "/._+-,:@%")) {
            why = "the socket path of an ssh:// URI may only use letters, digits and "
                  "/ . _ + - , : @ %";
            goto bad;
        }
        if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            why = "socket path too long";
            goto bad;
        }
        out->socket_path = xstrdup(path);
    }
    out->path = xstrdup(LIB_DEFAULT_PATH);
    out->transport = LIB_TRANSPORT_SSH;
    return 0;
bad:
    lib_uri_clear(out);
    char *shown = lib_uri_redact(uri);
    xend_error_report(XEND_ERR_INVALID_ARG, "invalid URI '%s': %s", shown, why);
    free(shown);
    return -1;
}

int lib_uri_parse(const char *uri, lib_uri *out)
{
    memset(out, 0, sizeof(*out));
    if (!uri || !*uri) {
        xend_error_report(XEND_ERR_INVALID_ARG, "no URI given (e.g. unix:///run/xend/xend.sock)");
        return -1;
    }
    if (strncmp(uri, "unix://", 7) == 0)
        return lib_uri_parse_unix(uri, uri + 7, out);
    if (strncmp(uri, "httpu://", 8) == 0)
        return lib_uri_parse_unix(uri, uri + 8, out);
    if (strncmp(uri, "http://", 7) == 0)
        return lib_uri_parse_http(uri, uri + 7, false, out);
    if (strncmp(uri, "https://", 8) == 0)
        return lib_uri_parse_http(uri, uri + 8, true, out);
    if (strncmp(uri, "ssh://", 6) == 0)
        return lib_uri_parse_ssh(uri, uri + 6, out);
    /* A mistyped scheme may still carry a password. */
    char *shown = lib_uri_redact(uri);
    xend_error_report(XEND_ERR_INVALID_ARG,
                      "invalid URI '%s': expected unix:///path, httpu:///path, "
                      "http://host:port/[path], https://host:port/[path] or "
                      "ssh://[user@]host[:port][/path]",
                      shown);
    free(shown);
    return -1;
}

int lib_fmt_check(const char *fmt)
{
    if (!fmt) {
        xend_error_report(XEND_ERR_INVALID_ARG, "no argument format given (use \"\" for none)");
        return -1;
    }
    for (size_t i = 0; fmt[i]; i++) {
        if (!strchr("siIbdvn", fmt[i])) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "invalid argument format \"%s\": unknown character '%c' at "
                              "position %zu (known: s i I b d v n)",
                              fmt, fmt[i], i);
            return -1;
        }
    }
    return 0;
}

xmlrpc_value *lib_params_build(const char *fmt, va_list ap)
{
    xmlrpc_value *params = xmlrpc_array();
    bool failed = false;

    /* Once something is wrong, keep walking so that every 'v' value is still freed: the
     * caller was promised that ownership is taken whatever happens. */
    for (size_t i = 0; fmt[i]; i++) {
        xmlrpc_value *item = NULL;
        switch (fmt[i]) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s && !failed) {
                xend_error_report(XEND_ERR_INVALID_ARG, "argument %zu ('s') is NULL", i + 1);
                failed = true;
            }
            if (s && !failed)
                item = xmlrpc_string(s);
            break;
        }
        case 'i': {
            int v = va_arg(ap, int);
            if (!failed)
                item = xmlrpc_int(v);
            break;
        }
        case 'I': {
            int64_t v = va_arg(ap, int64_t);
            if (!failed)
                item = xmlrpc_i8(v);
            break;
        }
        case 'b': {
            int v = va_arg(ap, int);
            if (!failed)
                item = xmlrpc_bool(v != 0);
            break;
        }
        case 'd': {
            double v = va_arg(ap, double);
            if (!isfinite(v) && !failed) {
                xend_error_report(XEND_ERR_INVALID_ARG,
                                  "argument %zu ('d') is not finite: XML-RPC cannot carry it",
                                  i + 1);
                failed = true;
            }
            if (!failed)
                item = xmlrpc_double(v);
            break;
        }
        case 'v': {
            xmlrpc_value *v = va_arg(ap, xmlrpc_value *);
            if (!v && !failed) {
                xend_error_report(XEND_ERR_INVALID_ARG, "argument %zu ('v') is NULL", i + 1);
                failed = true;
            }
            if (failed)
                xmlrpc_value_free(v);
            else
                item = v;
            break;
        }
        case 'n':
            if (!failed)
                item = xmlrpc_nil();
            break;
        default: /* lib_fmt_check ran first */
            abort();
        }
        if (item)
            xmlrpc_array_append(params, item);
    }
    if (failed) {
        xmlrpc_value_free(params);
        return NULL;
    }
    return params;
}
