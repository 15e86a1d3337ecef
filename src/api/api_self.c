/*
 * The daemon's own addresses, so that domain.migrate can tell a destination that is this
 * very daemon (Xen's `xm migrate D localhost`) from another xend: sending the domain to
 * ourselves over a socket would wait behind the domain's own migrate job and fail. The
 * daemon hands them down once it listens (api_ctx_set_self): the api layer never asks the
 * server. A unix:// or httpu:// URI is ours when its path resolves to one of our socket
 * files; an http:// URI when its port is our TCP port and its host is a loopback address,
 * our listen address, or a name resolving to one of those or to an address of this host.
 */
#include "api_priv.h"

#include "util/alloc.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void api_ctx_set_self(api_ctx *ctx, const char *const *socket_paths, const char *tcp_address,
                      unsigned tcp_port)
{
    size_t n = 0;
    while (socket_paths && socket_paths[n])
        n++;
    char **paths = xcalloc(n + 1, sizeof(*paths));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* Resolved now, while the socket file exists; a path that cannot be resolved
         * names no socket a client could reach either. */
        char *real = realpath(socket_paths[i], NULL);
        if (real)
            paths[k++] = real;
    }
    pthread_mutex_lock(&ctx->self_lock);
    api_self_clear(ctx);
    ctx->self_sockets = paths;
    ctx->self_tcp_address = tcp_address && tcp_port ? xstrdup(tcp_address) : NULL;
    ctx->self_tcp_port = tcp_address ? tcp_port : 0;
    pthread_mutex_unlock(&ctx->self_lock);
}

void api_self_clear(api_ctx *ctx)
{
    for (size_t i = 0; ctx->self_sockets && ctx->self_sockets[i]; i++)
        free(ctx->self_sockets[i]);
    free(ctx->self_sockets);
    free(ctx->self_tcp_address);
    ctx->self_sockets = NULL;
    ctx->self_tcp_address = NULL;
    ctx->self_tcp_port = 0;
}

/* ---- unix:// and httpu:// ---- */

static bool self_socket_match(api_ctx *ctx, const char *path)
{
    if (path[0] != '/')
        return false;
    char *real = realpath(path, NULL);
    if (!real)
        return false;
    bool match = false;
    pthread_mutex_lock(&ctx->self_lock);
    for (size_t i = 0; !match && ctx->self_sockets && ctx->self_sockets[i]; i++)
        match = strcmp(ctx->self_sockets[i], real) == 0;
    pthread_mutex_unlock(&ctx->self_lock);
    free(real);
    return match;
}

/* ---- http:// ---- */

/* Host and port of "http://[user[:pw]@]host[:port][/...]" (an IPv6 host in brackets, which
 * are dropped). The port defaults to HTTP's 80. false when malformed. */
static bool self_http_authority(const char *uri, char *host, size_t cap, unsigned *port)
{
    const char *a = uri + strlen("http://");
    size_t alen = strcspn(a, "/?#");
    for (size_t i = alen; i > 0; i--) {
        if (a[i - 1] == '@') {
            alen -= i;
            a += i;
            break;
        }
    }
    const char *h = a, *rest;
    size_t hlen;
    if (alen > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', alen);
        if (!close)
            return false;
        h = a + 1;
        hlen = (size_t)(close - h);
        rest = close + 1;
    } else {
        const char *colon = memchr(a, ':', alen);
        hlen = colon ? (size_t)(colon - a) : alen;
        rest = a + hlen;
    }
    if (hlen == 0 || hlen >= cap)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    size_t restlen = alen - (size_t)(rest - a);
    *port = 80;
    if (restlen == 0)
        return true;
    if (rest[0] != ':' || restlen < 2 || restlen > 6)
        return false;
    unsigned v = 0;
    for (size_t i = 1; i < restlen; i++) {
        if (rest[i] < '0' || rest[i] > '9')
            return false;
        v = v * 10 + (unsigned)(rest[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = v;
    return true;
}

static bool self_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Same address (the port is not compared). */
static bool self_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

static bool self_addr_in_list(const struct sockaddr *sa, const struct addrinfo *list)
{
    for (const struct addrinfo *l = list; l; l = l->ai_next)
        if (self_addr_equal(sa, l->ai_addr))
            return true;
    return false;
}

static bool self_addr_is_local(const struct sockaddr *sa, const struct ifaddrs *ifs)
{
    for (const struct ifaddrs *i = ifs; i; i = i->ifa_next)
        if (i->ifa_addr && self_addr_equal(sa, i->ifa_addr))
            return true;
    return false;
}

/* Whether host reaches this machine the way a client of listen would. Resolving a name
 * may take a moment: called without any lock held. */
static bool self_host_match(const char *host, const char *listen)
{
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, listen) == 0)
        return true;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *addrs = NULL, *listen_addrs = NULL;
    if (getaddrinfo(host, NULL, &hints, &addrs) != 0)
        return false;
    if (getaddrinfo(listen, NULL, &hints, &listen_addrs) != 0)
        listen_addrs = NULL;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        ifs = NULL;
    bool match = false;
    for (const struct addrinfo *a = addrs; a && !match; a = a->ai_next)
        match = self_addr_is_loopback(a->ai_addr) || self_addr_in_list(a->ai_addr, listen_addrs) ||
                self_addr_is_local(a->ai_addr, ifs);
    if (ifs)
        freeifaddrs(ifs);
    if (listen_addrs)
        freeaddrinfo(listen_addrs);
    freeaddrinfo(addrs);
    return match;
}

static bool self_http_match(api_ctx *ctx, const char *uri)
{
    char host[256];
    unsigned port;
    if (!self_http_authority(uri, host, sizeof(host), &port))
        return false;
    char listen[INET6_ADDRSTRLEN + 64] = "";
    pthread_mutex_lock(&ctx->self_lock);
    bool port_ok = ctx->self_tcp_address && ctx->self_tcp_port == port;
    if (port_ok)
        snprintf(listen, sizeof(listen), "%s", ctx->self_tcp_address);
    pthread_mutex_unlock(&ctx->self_lock);
    /* Another port is another server: no name lookup needed to know that. */
    return port_ok && self_host_match(host, listen);
}

bool api_self_is_uri(api_ctx *ctx, const char *uri)
{
    if (strncmp(uri, "unix://", 7) == 0)
        return self_socket_match(ctx, uri + 7);
    if (strncmp(uri, "httpu://", 8) == 0)
        return self_socket_match(ctx, uri + 8);
    if (strncmp(uri, "http://", 7) == 0)
        return self_http_match(ctx, uri);
    return false;
}
