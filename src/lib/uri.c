/*
 * URI parsing and the argument format of xend_call: the parts of libxend that need no
 * daemon, kept apart from the transport so the unit test can check them exhaustively.
 */
#include "lib_priv.h"

#include "util/alloc.h"
#include "util/error.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define LIB_DEFAULT_PATH "/RPC2"
/* xend's default tcp_port: http://host/ alone means the usual daemon. */
#define LIB_DEFAULT_PORT "8006"

void lib_uri_clear(lib_uri *u)
{
    free(u->socket_path);
    free(u->host);
    free(u->port);
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
        xend_error_report(XEND_ERR_INVALID_ARG, "invalid URI '%s': socket path longer than %zu bytes",
                          uri, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return -1;
    }
    out->transport = LIB_TRANSPORT_UNIX;
    out->socket_path = xstrdup(rest);
    out->path = xstrdup(LIB_DEFAULT_PATH);
    return 0;
}

static int lib_uri_parse_http(const char *uri, const char *rest, lib_uri *out)
{
    const char *slash = strchr(rest, '/');
    size_t authlen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *port = NULL;
    size_t hostlen;

    if (rest[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(rest, ']', authlen);
        if (!close || close == rest + 1)
            goto bad;
        hostlen = (size_t)(close - rest - 1);
        if ((size_t)(close + 1 - rest) < authlen) {
            if (close[1] != ':')
                goto bad;
            port = close + 2;
        }
        out->host = xstrndup(rest + 1, hostlen);
    } else {
        const char *colon = memchr(rest, ':', authlen);
        hostlen = colon ? (size_t)(colon - rest) : authlen;
        if (colon)
            port = colon + 1;
        if (hostlen == 0)
            goto bad;
        out->host = xstrndup(rest, hostlen);
    }
    if (port) {
        size_t plen = (size_t)(rest + authlen - port);
        long v = 0;
        if (plen == 0 || plen > 5)
            goto bad;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                goto bad;
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            goto bad;
        out->port = xstrndup(port, plen);
    } else {
        out->port = xstrdup(LIB_DEFAULT_PORT);
    }
    /* "http://h:p" and "http://h:p/" both mean the standard endpoint. */
    if (!slash || strcmp(slash, "/") == 0) {
        out->path = xstrdup(LIB_DEFAULT_PATH);
    } else {
        /* The path goes into the request line verbatim: no spaces or controls. */
        for (const char *p = slash; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f)
                goto bad;
        out->path = xstrdup(slash);
    }
    out->transport = LIB_TRANSPORT_TCP;
    return 0;
bad:
    lib_uri_clear(out);
    xend_error_report(XEND_ERR_INVALID_ARG,
                      "invalid URI '%s': expected http://host:port/[path] with a port "
                      "from 1 to 65535",
                      uri);
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
        return lib_uri_parse_http(uri, uri + 7, out);
    if (strncmp(uri, "https://", 8) == 0) {
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "cannot use '%s': https:// (TLS) is not supported by this libxend "
                          "yet; use unix:// locally or http:// on a trusted network",
                          uri);
        return -1;
    }
    if (strncmp(uri, "ssh://", 6) == 0) {
        xend_error_report(XEND_ERR_UNSUPPORTED,
                          "cannot use '%s': ssh:// tunnels are not supported by this libxend "
                          "yet; use unix:// on the host itself",
                          uri);
        return -1;
    }
    xend_error_report(XEND_ERR_INVALID_ARG,
                      "invalid URI '%s': expected unix:///path, httpu:///path or "
                      "http://host:port/[path]",
                      uri);
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
                                  "argument %zu ('d') is not finite: XML-RPC cannot carry it", i + 1);
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
