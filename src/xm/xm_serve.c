/*
 * `xm serve`: xend's XML-RPC over stdin/stdout, for what runs on the far side of an ssh://
 * URI (`ssh host xm serve [--server unix:///path]`). It does not parse anything: it opens
 * a stream to the daemon (its Unix socket, or TCP for an http:// URI) and relays bytes
 * both ways until the client's side ends and the daemon's answers are through, or either
 * side closes. Only protocol bytes ever go to stdout; errors go to stderr.
 *
 * Which daemon: -s/--server, else what libxend's discovery finds (xend_discover_uri).
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define XM_SERVE_BUF (64 * 1024)

/* One direction of the relay: bytes read from `from` waiting to be written to `to`. */
typedef struct {
    int from, to;
    bool from_sock, to_sock; /* sockets take MSG_DONTWAIT; pipes get PIPE_BUF-sized writes */
    bool eof;                /* `from` has ended */
    char buf[XM_SERVE_BUF];
    size_t len;
} xm_serve_dir;

static bool xm_serve_is_socket_fd(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The daemon's URI when none is given (caller frees); NULL after printing why. */
static char *xm_serve_discover(void)
{
    char *uri = xend_discover_uri();
    if (!uri)
        xm_error("%s", xend_last_error(NULL)->message);
    return uri;
}

static int xm_serve_connect_unix(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
        xm_error(_("Unable to connect to xend: invalid socket path '%s'. Is xend running?"),
                 path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == EACCES)
            xm_error(_("Permission denied on %s: run xm as root or as a member of the group "
                       "that owns the socket (see xend.conf(5) socket_group)."),
                     path);
        else
            xm_error(_("Unable to connect to xend: %s: %s. Is xend running?"), path,
                     strerror(e));
        return -1;
    }
    return fd;
}

/* http://host:port[/path]: a TCP stream to host:port (the request path is the client's
 * business: it is in the bytes relayed). */
static int xm_serve_connect_tcp(const char *uri, const char *hostport)
{
    char host[256], port[16] = "8006";
    const char *end = hostport + strcspn(hostport, "/");
    const char *h = hostport, *hend;
    if (*h == '[') {
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend)
            goto bad;
        h++;
    } else {
        hend = memchr(h, ':', (size_t)(end - h));
        if (!hend)
            hend = end;
    }
    if (hend == h || (size_t)(hend - h) >= sizeof(host))
        goto bad;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    const char *colon = memchr(hend, ':', (size_t)(end - hend));
    if (colon) {
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof(port))
            goto bad;
        memcpy(port, colon + 1, n);
        port[n] = '\0';
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        xm_error(_("Unable to connect to xend: %s: %s. Is xend running?"), host,
                 gai_strerror(g));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        xm_error(_("Unable to connect to xend: %s:%s: %s. Is xend running?"), host, port,
                 strerror(e ? e : errno));
    return fd;
bad:
    xm_error(_("Unable to connect to xend: invalid URI '%s'. Is xend running?"), uri);
    return -1;
}

static int xm_serve_connect(const char *uri)
{
    if (!strncmp(uri, "unix://", 7))
        return xm_serve_connect_unix(uri + 7);
    if (!strncmp(uri, "httpu://", 8))
        return xm_serve_connect_unix(uri + 8);
    if (!strncmp(uri, "http://", 7))
        return xm_serve_connect_tcp(uri, uri + 7);
    xm_error(_("xm serve relays to a local daemon: '%s' is not a unix://, httpu:// or "
               "http:// URI."),
             uri);
    return -1;
}

/* ---- the relay ---- */

/* Read what `from` has; 0, or -1 with errno on an error. Sets d->eof at its end. */
static int xm_serve_fill(xm_serve_dir *d)
{
    size_t room = sizeof(d->buf) - d->len;
    ssize_t n = d->from_sock ? recv(d->from, d->buf + d->len, room, MSG_DONTWAIT)
                             : read(d->from, d->buf + d->len, room);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (n == 0)
        d->eof = true;
    d->len += (size_t)n;
    return 0;
}

/* Write what is buffered without blocking long: sockets with MSG_DONTWAIT, pipes at most
 * PIPE_BUF at a time (which a pipe reported writable always takes at once). */
static int xm_serve_drain(xm_serve_dir *d)
{
    ssize_t n = d->to_sock ? send(d->to, d->buf, d->len, MSG_DONTWAIT | MSG_NOSIGNAL)
                           : write(d->to, d->buf, d->len < PIPE_BUF ? d->len : PIPE_BUF);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    memmove(d->buf, d->buf + n, d->len - (size_t)n);
    d->len -= (size_t)n;
    return 0;
}

static int xm_serve_relay(int sock)
{
    /* Static: two 64 KiB buffers do not belong on the stack. */
    static xm_serve_dir up, down;
    up = (xm_serve_dir){.from = STDIN_FILENO, .to = sock, .to_sock = true};
    up.from_sock = xm_serve_is_socket_fd(STDIN_FILENO);
    down = (xm_serve_dir){.from = sock, .to = STDOUT_FILENO, .from_sock = true};
    down.to_sock = xm_serve_is_socket_fd(STDOUT_FILENO);
    bool half_closed = false;

    for (;;) {
        /* The client is done and everything it sent is with the daemon: tell the daemon,
         * which then finishes its answers and closes. */
        if (up.eof && !up.len && !half_closed) {
            shutdown(sock, SHUT_WR);
            half_closed = true;
        }
        if (down.eof && !down.len)
            return 0;
        struct pollfd p[4];
        int np = 0, iin = -1, isock = -1, iout = -1;
        if (!up.eof && up.len < sizeof(up.buf)) {
            p[np] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
            iin = np++;
        }
        short sev = 0;
        if (!down.eof && down.len < sizeof(down.buf))
            sev |= POLLIN;
        if (up.len)
            sev |= POLLOUT;
        if (sev) {
            p[np] = (struct pollfd){.fd = sock, .events = sev};
            isock = np++;
        }
        if (down.len) {
            p[np] = (struct pollfd){.fd = STDOUT_FILENO, .events = POLLOUT};
            iout = np++;
        }
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            return xm_error(_("poll: %s"), strerror(errno));
        }
        if (iin >= 0 && p[iin].revents) {
            if (xm_serve_fill(&up) < 0)
                up.eof = true; /* an unreadable stdin is the end of the client's side */
        }
        if (isock >= 0 && (p[isock].revents & (POLLIN | POLLHUP | POLLERR)) && !down.eof &&
            down.len < sizeof(down.buf)) {
            if (xm_serve_fill(&down) < 0)
                return xm_error(_("connection to xend: %s"), strerror(errno));
        }
        if (isock >= 0 && (p[isock].revents & (POLLOUT | POLLERR)) && up.len) {
            if (xm_serve_drain(&up) < 0) {
                if (errno != EPIPE && errno != ECONNRESET)
                    return xm_error(_("connection to xend: %s"), strerror(errno));
                up.len = 0; /* the daemon closed: relay what it said, then stop */
                up.eof = true;
            }
        }
        if (iout >= 0 && p[iout].revents) {
            if (xm_serve_drain(&down) < 0)
                return 0; /* the client went away: nothing left to serve */
        }
    }
}

/* -s after the subcommand is a command's own option in xm; for serve it means the same as
 * the global one, as `ssh host xm serve -s URI` reads naturally. */
static int xm_serve_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)data;
    if (opt == 's')
        x->uri = arg;
    return 0;
}

int xm_cmd_serve(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"server", 's', true}, {NULL, 0, false}};
    int first;
    int rc = xm_opts_parse(x, argc, argv, opts, xm_serve_opt, NULL, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 0, 0))
        return 1;
    char *owned = x->uri && *x->uri ? NULL : xm_serve_discover();
    const char *uri = owned ? owned : x->uri;
    if (!uri)
        return 1;
    int sock = xm_serve_connect(uri);
    free(owned);
    if (sock < 0)
        return 1;
    /* A vanished reader must be an EPIPE we handle, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    rc = xm_serve_relay(sock);
    close(sock);
    return rc;
}
