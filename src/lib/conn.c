/*
 * The connection of libxend: a minimal HTTP/1.1 client of our own (no libcurl: over a
 * Unix socket a call should cost a write and a read, not a library's state machine) that
 * POSTs XML-RPC calls on one kept-alive stream, plus the public entry points. The stream is
 * a Unix socket, a TCP socket (with TLS for https://, tls.c), or the socketpair of an ssh
 * child (ssh.c). A dropped idle connection is reopened once, and only when the daemon
 * cannot have seen the request.
 */
#include "config.h"
#include "xend/xend.h"

#include "lib_priv.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "xmlrpc/base64.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIB_MAX_HEADER (16u << 10)
#define LIB_MAX_BODY (64u << 20)
/* How long a closed connection waits for its ssh child to exit before signalling it. */
#define LIB_CHILD_EXIT_MS 3000

struct xend_conn {
    char *uri; /* as given, less any password: for messages */
    lib_uri u;
    int fd;                   /* -1 when not connected */
    pid_t child;              /* SSH: the running ssh command, 0 when none */
    char *ssh_prog;           /* SSH: its program name, for messages */
    char child_how[128];      /* SSH: how the last child ended ("exited with status 255"), or "" */
    char note[192];           /* room for lib_conn_child_note's text */
    char *auth;               /* the Authorization header's value (TCP only), or NULL */
    char *auth_user;          /* its user name, for messages */
    lib_tls_creds *tls_creds; /* https://: the trust anchors, kept for reconnections */
    lib_tls *tls;             /* https://: the session on fd, NULL when not connected */
    unsigned requests;        /* sent on the current socket: > 0 means it was kept alive */
    int timeout_ms;           /* 0 = wait forever */
    xmlrpc_decoder *dec;
    xbuf out; /* the request being sent, reused */
    xbuf in;  /* the reply being read, reused */
    xend_client_error err;
};

/* Where xend_open failures land, as there is no connection to hold them. */
static __thread xend_client_error lib_open_error;

/* Copy the thread's util error (already reported, once) into a client error. */
static void lib_error_capture(xend_client_error *e)
{
    const xend_error *ue = xend_error_last();
    const xend_error_info *info = xend_error_lookup(ue->code);
    free(e->trace);
    e->trace = NULL;
    e->code = ue->code;
    e->name = info ? info->name : "UNKNOWN";
    snprintf(e->message, sizeof(e->message), "%s", ue->message);
}

static void lib_conn_disconnect(xend_conn *c)
{
    lib_tls_close(c->tls);
    c->tls = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->requests = 0;
    /* Closing our end is the child's end of input: ssh (or the relay) exits by itself. */
    if (c->child > 0) {
        lib_child_reap(c->child, LIB_CHILD_EXIT_MS, c->child_how, sizeof(c->child_how));
        c->child = 0;
    }
}

/* For a report about a stream that failed: with ssh, let go of the child now so that the
 * message can say how it ended (ssh's own complaint is on stderr already). "" otherwise. */
static const char *lib_conn_child_note(xend_conn *c)
{
    if (c->u.transport != LIB_TRANSPORT_SSH)
        return "";
    lib_conn_disconnect(c);
    if (!c->child_how[0])
        return "";
    snprintf(c->note, sizeof(c->note), " (the ssh transport '%s' %s)",
             c->ssh_prog ? c->ssh_prog : "ssh", c->child_how);
    return c->note;
}

int lib_conn_fail(xend_conn *c)
{
    lib_error_capture(c ? &c->err : &lib_open_error);
    return -1;
}

const char *lib_conn_uri(const xend_conn *c)
{
    return c->uri;
}

static int lib_ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms =
        (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 1000000000 ? 1000000000 : (int)ms;
}

static void lib_deadline_set(struct timespec *d, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += ms / 1000;
    d->tv_nsec += (long)(ms % 1000) * 1000000;
    if (d->tv_nsec >= 1000000000) {
        d->tv_sec++;
        d->tv_nsec -= 1000000000;
    }
}

int lib_fd_wait(int fd, short events, const struct timespec *deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, deadline ? lib_ms_left(deadline) : -1);
        if (r > 0)
            return 0;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* What follows the socket path in the EACCES message (xm words its own hint after it). */
#define LIB_EACCES_TAIL                                                                            \
    ": connecting needs write access to the socket: root, or membership of the group "             \
    "that owns it (see xend.conf(5) socket_group)"

static void lib_report_connect(const xend_conn *c, int err)
{
    if (err == EACCES && c->u.transport == LIB_TRANSPORT_UNIX)
        xend_error_report(XEND_ERR_SYSTEM, "Permission denied on %s" LIB_EACCES_TAIL,
                          c->u.socket_path);
    else
        xend_error_report(XEND_ERR_SYSTEM, "Unable to connect to xend at %s: %s", c->uri,
                          strerror(err));
}

/* Connect one non-blocking socket to addr by the deadline; fd or -1 with errno. */
static int lib_socket_connect(int family, const struct sockaddr *addr, socklen_t len,
                              const struct timespec *dl)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, addr, len) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (lib_fd_wait(fd, POLLOUT, dl) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0) {
            if (soerr == 0)
                return fd;
            errno = soerr;
        }
    } else if (errno == EAGAIN && family == AF_UNIX) {
        /* A full listen backlog on a Unix socket: the daemon is not accepting. */
        errno = ETIMEDOUT;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int lib_conn_connect_ssh(xend_conn *c)
{
    char **argv = lib_ssh_argv(&c->u, getenv("XEND_SSH"));
    if (!argv)
        return -1;
    free(c->ssh_prog);
    c->ssh_prog = xstrdup(argv[0]);
    c->child_how[0] = '\0';
    int rc = lib_child_spawn(argv, &c->fd, &c->child);
    lib_argv_free(argv);
    c->requests = 0;
    return rc;
}

static int lib_conn_connect(xend_conn *c)
{
    int fd;
    struct timespec dl;
    if (c->u.transport == LIB_TRANSPORT_SSH)
        return lib_conn_connect_ssh(c);
    if (c->u.transport == LIB_TRANSPORT_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, c->u.socket_path, strlen(c->u.socket_path) + 1);
        lib_deadline_set(&dl, LIB_CONNECT_TIMEOUT_MS);
        fd = lib_socket_connect(AF_UNIX, (struct sockaddr *)&sa, sizeof(sa), &dl);
        if (fd < 0) {
            lib_report_connect(c, errno);
            return -1;
        }
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int g = getaddrinfo(c->u.host, c->u.port, &hints, &res);
        if (g != 0) {
            if (g == EAI_SYSTEM)
                xend_error_report(XEND_ERR_NO_HOST, "Unable to resolve host '%s' of %s: %s",
                                  c->u.host, c->uri, strerror(errno));
            else
                xend_error_report(XEND_ERR_NO_HOST, "Unable to resolve host '%s' of %s: %s",
                                  c->u.host, c->uri, gai_strerror(g));
            return -1;
        }
        int err = ECONNREFUSED;
        fd = -1;
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            /* Each address has the whole bound: the first may be an unreachable one. */
            lib_deadline_set(&dl, LIB_CONNECT_TIMEOUT_MS);
            fd = lib_socket_connect(ai->ai_family, ai->ai_addr, ai->ai_addrlen, &dl);
            if (fd < 0)
                err = errno;
        }
        freeaddrinfo(res);
        if (fd < 0) {
            lib_report_connect(c, err);
            return -1;
        }
        /* The handshake shares the connect's bound. A failure is not tried on the next
         * address: the same server would show the same certificate. */
        if (c->u.tls &&
            !(c->tls = lib_tls_open(c->tls_creds, fd, c->u.host, c->u.port, c->uri, &dl))) {
            close(fd);
            return -1;
        }
    }
    c->fd = fd;
    c->requests = 0;
    return 0;
}

/* Send all of buf; 0, or -1 with errno. */
static int lib_send_all(xend_conn *c, const char *buf, size_t len, const struct timespec *dl)
{
    while (len > 0) {
        ssize_t n = c->tls ? lib_tls_send(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* TLS may need to read (a TLS 1.3 key update) before it can write. */
            if (lib_fd_wait(c->fd, c->tls ? lib_tls_events(c->tls) : POLLOUT, dl) < 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* Read more bytes into c->in; > 0 bytes read, 0 at EOF, -1 with errno. */
static ssize_t lib_recv_some(xend_conn *c, const struct timespec *dl)
{
    for (;;) {
        xbuf_reserve(&c->in, 65536);
        char *at = c->in.data + c->in.len;
        size_t room = c->in.cap - c->in.len - 1;
        ssize_t n = c->tls ? lib_tls_recv(c->tls, at, room) : recv(c->fd, at, room, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.data[c->in.len] = '\0';
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Bytes GnuTLS already decrypted are invisible to poll: read them first. */
            if (c->tls && lib_tls_pending(c->tls))
                continue;
            if (lib_fd_wait(c->fd, c->tls ? lib_tls_events(c->tls) : POLLIN, dl) < 0)
                return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
}

/* The value of header name in the header block hdr (NUL-terminated, lines ending CRLF),
 * copied into out; true if present. */
static bool lib_header_get(const char *hdr, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(hdr, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
            continue;
        p += nlen + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = strstr(p, "\r\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len >= outlen)
            len = outlen - 1;
        memcpy(out, p, len);
        out[len] = '\0';
        return true;
    }
    return false;
}

typedef enum { LIB_IO_OK, LIB_IO_FAILED, LIB_IO_DROPPED } lib_io;

/* An HTTP status other than 200 in the header block c->in.data, whose reason phrase starts
 * at off. The statuses of xend's TCP listener are told in words: 401 (credentials missing
 * or wrong) and 429 (too many failed logins from this address). */
static void lib_report_status(xend_conn *c, int status, int off)
{
    const char *reason = c->in.data + off + (c->in.data[off] == ' ');
    const char *eol = strstr(reason, "\r\n");
    int rlen = (int)(eol ? eol - reason : 0);
    char val[64];
    if (status == 401 && c->auth) {
        xend_error_report(XEND_ERR_ACCESS_DENIED,
                          "authentication failed at xend at %s (HTTP 401 %.*s): user '%s' "
                          "unknown or wrong password",
                          c->uri, rlen, reason, c->auth_user);
    } else if (status == 401) {
        xend_error_report(XEND_ERR_ACCESS_DENIED,
                          "xend at %s requires authentication (HTTP 401 %.*s): give "
                          "user:password@ in the URI, or username and password_file in the xm "
                          "config file",
                          c->uri, rlen, reason);
    } else if (status == 429) {
        bool after = lib_header_get(c->in.data, "Retry-After", val, sizeof(val)) && val[0] >= '0' &&
                     val[0] <= '9' && strspn(val, "0123456789") == strlen(val);
        xend_error_report(XEND_ERR_LIMIT,
                          "authentication refused by xend at %s (HTTP 429 %.*s): too many failed "
                          "logins from this address; try again in %s%s",
                          c->uri, rlen, reason, after ? val : "a while", after ? " s" : "");
    } else {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL, "xend at %s replied HTTP %d %.*s", c->uri,
                          status, rlen, reason);
    }
}

/* Read one reply into c->in; on success *body and *body_len point into it. LIB_IO_DROPPED
 * means the socket failed before any byte of the reply (the request may be retried on a
 * kept-alive socket); any other failure is reported. */
static lib_io lib_reply_read(xend_conn *c, const struct timespec *dl, const char **body,
                             size_t *body_len, bool *keep_alive)
{
    char *hdr_end = NULL;
    xbuf_reset(&c->in);
    while (!hdr_end) {
        ssize_t n = lib_recv_some(c, dl);
        if (n <= 0) {
            int e = n == 0 ? 0 : errno;
            if (c->in.len == 0 && (n == 0 || e == ECONNRESET || e == EPIPE))
                return LIB_IO_DROPPED;
            if (e == ETIMEDOUT)
                xend_error_report(XEND_ERR_SYSTEM, "xend at %s did not reply within %d ms", c->uri,
                                  c->timeout_ms);
            else if (n == 0)
                xend_error_report(XEND_ERR_SYSTEM,
                                  "xend at %s closed the connection in "
                                  "the middle of its reply%s",
                                  c->uri, lib_conn_child_note(c));
            else
                xend_error_report(XEND_ERR_SYSTEM,
                                  "Unable to read the reply of xend at %s: "
                                  "%s%s",
                                  c->uri, lib_tls_strerror(e), lib_conn_child_note(c));
            return LIB_IO_FAILED;
        }
        hdr_end = strstr(c->in.data, "\r\n\r\n");
        if ((hdr_end ? (size_t)(hdr_end - c->in.data) : c->in.len) > LIB_MAX_HEADER) {
            xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                              "reply of xend at %s: HTTP headers longer than %u bytes", c->uri,
                              LIB_MAX_HEADER);
            return LIB_IO_FAILED;
        }
    }
    size_t hdr_len = (size_t)(hdr_end - c->in.data) + 4;
    hdr_end[2] = '\0'; /* the header block now ends with its last CRLF */

    int major, minor, status, off = 0;
    if (sscanf(c->in.data, "HTTP/%d.%d %3d%n", &major, &minor, &status, &off) != 3 || major != 1 ||
        (c->in.data[off] != ' ' && c->in.data[off] != '\r')) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                          "reply of xend at %s is not HTTP/1.x (status line '%.60s')", c->uri,
                          c->in.data);
        return LIB_IO_FAILED;
    }
    char val[256];
    *keep_alive = minor >= 1;
    if (lib_header_get(c->in.data, "Connection", val, sizeof(val)))
        *keep_alive = strcasestr(val, "close")        ? false
                      : strcasestr(val, "keep-alive") ? true
                                                      : *keep_alive;
    if (status != 200) {
        lib_report_status(c, status, off);
        return LIB_IO_FAILED;
    }
    if (lib_header_get(c->in.data, "Transfer-Encoding", val, sizeof(val)) &&
        strcasecmp(val, "identity") != 0) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                          "reply of xend at %s uses Transfer-Encoding '%s', which libxend does "
                          "not accept (xend sends Content-Length)",
                          c->uri, val);
        return LIB_IO_FAILED;
    }
    if (!lib_header_get(c->in.data, "Content-Length", val, sizeof(val))) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL, "reply of xend at %s has no Content-Length",
                          c->uri);
        return LIB_IO_FAILED;
    }
    char *end;
    errno = 0;
    unsigned long long clen = strtoull(val, &end, 10);
    if (val[0] < '0' || val[0] > '9' || *end || errno || clen > LIB_MAX_BODY) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                          "reply of xend at %s has an invalid Content-Length '%s' (at most %u)",
                          c->uri, val, LIB_MAX_BODY);
        return LIB_IO_FAILED;
    }
    while (c->in.len - hdr_len < clen) {
        ssize_t n = lib_recv_some(c, dl);
        if (n <= 0) {
            int e = n == 0 ? 0 : errno;
            if (e == ETIMEDOUT)
                xend_error_report(XEND_ERR_SYSTEM, "xend at %s did not reply within %d ms", c->uri,
                                  c->timeout_ms);
            else
                xend_error_report(XEND_ERR_SYSTEM, "reply of xend at %s truncated: %s%s", c->uri,
                                  n == 0 ? "connection closed" : lib_tls_strerror(e),
                                  lib_conn_child_note(c));
            return LIB_IO_FAILED;
        }
    }
    if (c->in.len - hdr_len > clen || (c->tls && lib_tls_pending(c->tls)))
        *keep_alive = false; /* bytes we never asked for: do not trust this socket again */
    *body = c->in.data + hdr_len;
    *body_len = (size_t)clen;
    return LIB_IO_OK;
}

/* One HTTP exchange: send the call in c->out's body, read the reply body. */
static int lib_http_exchange(xend_conn *c, const char *xml, size_t xml_len, const char **body,
                             size_t *body_len)
{
    xbuf head = XBUF_INIT;
    bool tcp = c->u.transport == LIB_TRANSPORT_TCP;
    xbuf_printf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libxend/" XEND_VERSION "\r\n",
                c->u.path, tcp ? c->u.host : "localhost");
    /* Credentials only where the daemon can ask for them: a Unix socket (local or at the
     * far end of ssh) is guarded by its permissions. */
    if (tcp && c->auth)
        xbuf_printf(&head, "Authorization: %s\r\n", c->auth);
    xbuf_printf(&head, "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n", xml_len);
    xbuf_add(&head, xml, xml_len);

    for (int attempt = 0;; attempt++) {
        struct timespec dl_store, *dl = NULL;
        bool keep_alive = true;
        if (c->fd < 0 && lib_conn_connect(c) < 0)
            break;
        /* Only a socket that already carried a request can have been closed by the
         * daemon's idle timeout; a fresh one failing is a real error. */
        bool reused = c->requests > 0;
        if (c->timeout_ms > 0) {
            lib_deadline_set(&dl_store, c->timeout_ms);
            dl = &dl_store;
        }
        c->requests++;
        if (lib_send_all(c, head.data, head.len, dl) < 0) {
            int e = errno;
            lib_conn_disconnect(c);
            if (reused && attempt == 0 && (e == EPIPE || e == ECONNRESET))
                continue;
            if (e == ETIMEDOUT)
                xend_error_report(XEND_ERR_SYSTEM,
                                  "xend at %s did not accept the request "
                                  "within %d ms",
                                  c->uri, c->timeout_ms);
            else
                xend_error_report(XEND_ERR_SYSTEM,
                                  "Unable to send the request to xend at %s: "
                                  "%s%s",
                                  c->uri, lib_tls_strerror(e), lib_conn_child_note(c));
            break;
        }
        lib_io r = lib_reply_read(c, dl, body, body_len, &keep_alive);
        if (r == LIB_IO_DROPPED) {
            lib_conn_disconnect(c);
            /* No byte of a reply came: the daemon closed the idle socket before reading
             * the request, so sending it again cannot run the method twice. */
            if (reused && attempt == 0)
                continue;
            xend_error_report(XEND_ERR_SYSTEM,
                              "xend at %s closed the connection without "
                              "replying%s",
                              c->uri, lib_conn_child_note(c));
            break;
        }
        if (r == LIB_IO_FAILED) {
            lib_conn_disconnect(c);
            break;
        }
        if (!keep_alive) {
            /* Connection: close: the body is in c->in, the stream is of no further use. */
            lib_conn_disconnect(c);
        }
        xbuf_clear(&head);
        return 0;
    }
    xbuf_clear(&head);
    return -1;
}

static void lib_fault_set(xend_conn *c, int code, const char *fault_string)
{
    static const char sep[] = "\nserver trace:\n";
    const char *t = strstr(fault_string, sep);
    const xend_error_info *info = xend_error_lookup(code);
    size_t mlen = t ? (size_t)(t - fault_string) : strlen(fault_string);

    /* Report once, so callers that use the util error see the fault too. */
    xend_error_report(code, "%.*s", (int)mlen, fault_string);
    free(c->err.trace);
    c->err.trace = t ? xstrdup(t + sizeof(sep) - 1) : NULL;
    c->err.code = code;
    c->err.name = info ? info->name : "UNKNOWN";
    if (mlen >= sizeof(c->err.message))
        mlen = sizeof(c->err.message) - 1;
    memcpy(c->err.message, fault_string, mlen);
    c->err.message[mlen] = '\0';
}

int xend_call_value(xend_conn *c, const char *method, const xmlrpc_value *params,
                    xmlrpc_value **result)
{
    const char *body;
    size_t body_len;
    xmlrpc_response resp;
    xmlrpc_value *empty = NULL;

    if (result)
        *result = NULL;
    if (!c)
        return -1;
    free(c->err.trace);
    memset(&c->err, 0, sizeof(c->err));
    xend_error_reset();
    if (!method || !*method) {
        xend_error_report(XEND_ERR_INVALID_ARG, "no method name given");
        goto fail;
    }
    if (!params)
        params = empty = xmlrpc_array();
    xbuf_reset(&c->out);
    int rc = xmlrpc_encode_call(&c->out, method, params);
    xmlrpc_value_free(empty);
    if (rc < 0)
        goto fail;
    if (lib_http_exchange(c, c->out.data, c->out.len, &body, &body_len) < 0)
        goto fail;
    if (xmlrpc_decode_response(c->dec, body, body_len, &resp) < 0) {
        char msg[sizeof(((xend_error *)0)->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL, "malformed reply from xend at %s: %s", c->uri,
                          msg);
        lib_conn_disconnect(c); /* the stream can no longer be trusted */
        goto fail;
    }
    if (resp.is_fault) {
        lib_fault_set(c, resp.fault_code, resp.fault_string ? resp.fault_string : "");
        xmlrpc_response_clear(&resp);
        return -1;
    }
    if (result) {
        *result = resp.result;
        resp.result = NULL;
    }
    xmlrpc_response_clear(&resp);
    return 0;
fail:
    lib_error_capture(&c->err);
    return -1;
}

xmlrpc_value *xend_params_va(const char *fmt, va_list ap)
{
    free(lib_open_error.trace);
    memset(&lib_open_error, 0, sizeof(lib_open_error));
    xend_error_reset();
    xmlrpc_value *params = NULL;
    if (lib_fmt_check(fmt) == 0)
        params = lib_params_build(fmt, ap);
    if (!params)
        lib_error_capture(&lib_open_error);
    return params;
}

int xend_call(xend_conn *c, const char *method, xmlrpc_value **result, const char *fmt, ...)
{
    va_list ap;
    if (result)
        *result = NULL;
    if (!c)
        return -1;
    if (lib_fmt_check(fmt) < 0) {
        lib_error_capture(&c->err);
        return -1;
    }
    va_start(ap, fmt);
    xmlrpc_value *params = lib_params_build(fmt, ap);
    va_end(ap);
    if (!params) {
        lib_error_capture(&c->err);
        return -1;
    }
    int rc = xend_call_value(c, method, params, result);
    xmlrpc_value_free(params);
    return rc;
}

/* Credentials for a new connection: those of an http(s)://user:password@ URI, else those of
 * the xm config file the URI came from (cfg, NULL if it came from elsewhere). */
static int lib_conn_credentials_init(xend_conn *c, const xend_client_config *cfg)
{
    if (c->u.user)
        return xend_set_credentials(c, c->u.user, c->u.password ? c->u.password : "");
    if (!cfg || c->u.transport != LIB_TRANSPORT_TCP)
        return 0;
    char *user = NULL, *password = NULL;
    if (lib_client_config_credentials(cfg, &user, &password) < 0)
        return -1;
    int rc = user ? xend_set_credentials(c, user, password) : 0;
    free(user);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    return rc;
}

/* The trust anchors of an https:// connection: the ca_file of the xm config file (cfg
 * when the URI came from it, else the file the usual search finds), else $XEND_CA_FILE,
 * else the system's trust store. */
static int lib_conn_tls_init(xend_conn *c, const xend_client_config *cfg)
{
    xend_client_config *own = NULL;
    if (!cfg && !(cfg = own = xend_client_config_load(NULL)))
        return -1;
    char *ca = lib_client_config_ca_file(cfg);
    char *origin = NULL;
    if (ca) {
        origin = xasprintf("ca_file in %s", xend_client_config_path(cfg));
    } else {
        const char *env = getenv("XEND_CA_FILE");
        if (env && *env) {
            ca = xstrdup(env);
            origin = xstrdup("XEND_CA_FILE");
        }
    }
    c->tls_creds = lib_tls_creds_new(ca, origin);
    free(ca);
    free(origin);
    xend_client_config_free(own);
    return c->tls_creds ? 0 : -1;
}

xend_conn *xend_open(const char *uri)
{
    xend_conn *c = xcalloc(1, sizeof(*c));
    xend_client_config *cfg = NULL;
    c->fd = -1;
    free(lib_open_error.trace);
    memset(&lib_open_error, 0, sizeof(lib_open_error));
    xend_error_reset();
    c->uri = uri && *uri ? xstrdup(uri) : lib_uri_discover(&cfg);
    if (!c->uri || lib_uri_parse(c->uri, &c->u) < 0)
        goto fail;
    if (c->u.password) {
        /* The password lives in c->u (then c->auth) only; messages show the rest. */
        char *shown = lib_uri_redact(c->uri);
        explicit_bzero(c->uri, strlen(c->uri));
        free(c->uri);
        c->uri = shown;
    }
    if (lib_conn_credentials_init(c, cfg) < 0 || (c->u.tls && lib_conn_tls_init(c, cfg) < 0))
        goto fail;
    c->dec = xmlrpc_decoder_new(NULL);
    if (!c->dec || lib_conn_connect(c) < 0)
        goto fail;
    xend_client_config_free(cfg);
    return c;
fail:
    lib_error_capture(&lib_open_error);
    xend_client_config_free(cfg);
    xend_close(c);
    return NULL;
}

char *xend_discover_uri(void)
{
    xend_client_config *cfg = NULL;
    free(lib_open_error.trace);
    memset(&lib_open_error, 0, sizeof(lib_open_error));
    xend_error_reset();
    char *uri = lib_uri_discover(&cfg);
    xend_client_config_free(cfg);
    if (!uri)
        lib_error_capture(&lib_open_error);
    return uri;
}

const char *xend_conn_uri(const xend_conn *c)
{
    return c->uri;
}

void xend_close(xend_conn *c)
{
    if (!c)
        return;
    lib_conn_disconnect(c);
    xmlrpc_decoder_free(c->dec);
    lib_uri_clear(&c->u);
    xbuf_clear(&c->out);
    xbuf_clear(&c->in);
    free(c->err.trace);
    free(c->ssh_prog);
    if (c->auth) {
        explicit_bzero(c->auth, strlen(c->auth));
        free(c->auth);
    }
    free(c->auth_user);
    lib_tls_creds_free(c->tls_creds);
    free(c->uri);
    free(c);
}

int xend_set_credentials(xend_conn *c, const char *user, const char *password)
{
    if (!c)
        return -1;
    if (user && (strchr(user, ':') || !*user)) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "invalid user name '%s' for HTTP Basic "
                          "authentication: it must be non-empty and hold no ':'",
                          user);
        return lib_conn_fail(c);
    }
    for (const char *p = user; p && *p; p++) {
        if ((unsigned char)*p < ' ' || *p == 0x7f) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "invalid user name for HTTP Basic "
                              "authentication: control character at position %zu",
                              (size_t)(p - user));
            return lib_conn_fail(c);
        }
    }
    if (c->auth) {
        explicit_bzero(c->auth, strlen(c->auth));
        free(c->auth);
        c->auth = NULL;
    }
    free(c->auth_user);
    c->auth_user = NULL;
    if (!user)
        return 0;
    c->auth_user = xstrdup(user);
    /* RFC 7617: "Basic " base64(user ":" password), UTF-8 as given. */
    char *plain = xasprintf("%s:%s", user, password ? password : "");
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "Basic ");
    base64_encode(&b, (const unsigned char *)plain, strlen(plain));
    explicit_bzero(plain, strlen(plain));
    free(plain);
    c->auth = xbuf_steal(&b, NULL);
    return 0;
}

int xend_set_timeout(xend_conn *c, int ms)
{
    if (!c || ms < 0)
        return -1;
    c->timeout_ms = ms;
    return 0;
}

const xend_client_error *xend_last_error(const xend_conn *c)
{
    return c ? &c->err : &lib_open_error;
}
