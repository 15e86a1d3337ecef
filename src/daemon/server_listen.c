/*
 * The listening sockets of the server (see server_priv.h): the read-write and read-only
 * Unix sockets, created here so that we control the file (mode, group, stale-file
 * handling), and the TCP socket with its address policy: any numeric address, but plain
 * HTTP or no authentication only on loopback unless tcp_insecure says otherwise.
 */
#include "server_priv.h"

#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Decide what is at path: nothing (0), a stale socket file removed (0), or a refusal (-1,
 * error reported) when a server answers there or the file is not a socket. */
static int server_clear_stale_socket(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot inspect socket path %s", path);
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        xend_error_report(XEND_ERR_SYSTEM,
                          "socket path %s exists and is not a socket; not removing it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a Unix socket");
        return -1;
    }
    int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int err = errno;
    close(fd);
    /* EAGAIN: a listener whose backlog is full is still a live server. */
    if (r == 0 || err == EAGAIN || err == EINPROGRESS) {
        xend_error_report(XEND_ERR_SYSTEM,
                          "another server is already listening on %s (is xend running?)", path);
        return -1;
    }
    if (err != ECONNREFUSED && err != ENOENT) {
        xend_error_report_errno(XEND_ERR_SYSTEM, err, "cannot probe existing socket %s", path);
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot remove stale socket %s", path);
        return -1;
    }
    log_info("removed stale socket %s", path);
    return 0;
}

/* Bind one Unix listener at l->path with the given mode and group; it listens now, or
 * later (server_listen_bind) when listen_now is false. */
static int server_bind_unix(server_listener *l, mode_t mode, gid_t gid, bool listen_now)
{
    const char *path = l->path;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "socket path '%s' is empty or longer than %zu bytes", path,
                          sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (server_clear_stale_socket(path, &sa) < 0)
        return -1;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a Unix socket");
        return -1;
    }
    /* Bind owner-only, then widen to the mode once the group is right: the file never
     * exists with more access than configured, not even for an instant. */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    umask(old);
    if (r < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, err, "cannot bind Unix socket %s", path);
        close(fd);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    l->bound = true;
    l->fd = fd;
    if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set the group of %s to %u", path,
                                (unsigned)gid);
        return -1;
    }
    if (chmod(path, mode & 07777) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set the mode of %s", path);
        return -1;
    }
    if (listen_now && listen(fd, SOMAXCONN) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot listen on %s", path);
        return -1;
    }
    return 0;
}

static int server_tcp_address_parse(const char *address, unsigned port, struct sockaddr_storage *ss,
                                    socklen_t *len, bool *is_loopback)
{
    memset(ss, 0, sizeof(*ss));
    if (port > 65535) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "TCP port %u is out of range", port);
        return -1;
    }
    if (strcmp(address, "localhost") == 0)
        address = "127.0.0.1";
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    bool loopback;
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        *len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
                   (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127);
        *len = sizeof(*sin6);
    } else {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "tcp_address '%s' is not a numeric IPv4 or IPv6 address", address);
        return -1;
    }
    if (is_loopback)
        *is_loopback = loopback;
    return 0;
}

int server_tcp_address_check(const char *address, bool *loopback)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return server_tcp_address_parse(address, 0, &ss, &len, loopback);
}

/* What the TCP listener would lack away from loopback, or NULL when nothing. */
static const char *server_tcp_lacks(const server_config *cfg)
{
    if (cfg->tcp_tls && cfg->tcp_auth)
        return NULL;
    return !cfg->tcp_tls && !cfg->tcp_auth ? "without TLS and without authentication"
           : !cfg->tcp_tls                ? "without TLS (passwords would cross in clear text)"
                                          : "without authentication";
}

int server_tcp_policy_check(const server_config *cfg)
{
    if (!cfg->tcp_listen)
        return 0;
    const char *address = cfg->tcp_address ? cfg->tcp_address : "127.0.0.1";
    bool loopback = false;
    if (server_tcp_address_check(address, &loopback) < 0)
        return -1;
    const char *lacks = server_tcp_lacks(cfg);
    if (loopback || !lacks || cfg->tcp_insecure)
        return 0;
    xend_error_report(XEND_ERR_CONFIG_INVALID,
                      "refusing to listen on %s, which is not a loopback address, %s: set "
                      "tcp_tls = yes and tcp_auth = basic, or tcp_insecure = yes if you really "
                      "mean it",
                      address, lacks);
    return -1;
}

static int server_bind_tcp(server *srv)
{
    server_listener *l = &srv->listeners[SERVER_LISTEN_TCP];
    struct sockaddr_storage ss;
    socklen_t sl;
    bool loopback = false;
    if (server_tcp_policy_check(&srv->cfg) < 0 ||
        server_tcp_address_parse(srv->tcp_address, srv->cfg.tcp_port, &ss, &sl, &loopback) < 0)
        return -1;
    const char *lacks = server_tcp_lacks(&srv->cfg);
    if (!loopback && lacks)
        log_warn("INSECURE: listening on %s port %u %s (tcp_insecure = yes): anyone who can "
                 "reach this address can %s",
                 srv->tcp_address, srv->cfg.tcp_port, lacks,
                 srv->cfg.tcp_auth ? "read the passwords sent to it" : "control every domain");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a TCP socket");
        return -1;
    }
    l->fd = fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot bind TCP %s port %u",
                                srv->tcp_address, srv->cfg.tcp_port);
        return -1;
    }
    if (listen(fd, SOMAXCONN) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot listen on TCP %s port %u",
                                srv->tcp_address, srv->cfg.tcp_port);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
        srv->tcp_port =
            ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}


int server_listen_bind(server *srv)
{
    const server_config *cfg = &srv->cfg;
    server_listener *rw = &srv->listeners[SERVER_LISTEN_UNIX];
    server_listener *ro = &srv->listeners[SERVER_LISTEN_UNIX_RO];
    /* The read-write socket is bound first (a second xend is told it is in use before
     * anything else) but listens last: a client that finds it accepting (xm, a service
     * manager, the tests) may rely on the other listeners being there with their modes. */
    if (rw->path && server_bind_unix(rw, cfg->socket_mode, cfg->socket_gid, false) < 0)
        return -1;
    if (ro->path && server_bind_unix(ro, cfg->socket_ro_mode, (gid_t)-1, true) < 0)
        return -1;
    if (cfg->tcp_listen && server_bind_tcp(srv) < 0)
        return -1;
    if (rw->path && listen(rw->fd, SOMAXCONN) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot listen on %s", rw->path);
        return -1;
    }
    return 0;
}

void server_listen_unlink(server *srv)
{
    for (int i = 0; i < SERVER_LISTEN_LAST; i++) {
        server_listener *l = &srv->listeners[i];
        struct stat st;
        if (l->bound && stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->path);
        l->bound = false;
    }
}
