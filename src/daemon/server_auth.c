/*
 * Who is calling the server, and what they may do (see server_priv.h). A Unix connection is
 * its SO_PEERCRED identity; the read-only socket only allows read methods, whoever the
 * caller is. A TCP connection on an authenticating listener starts with nothing and must
 * send HTTP Basic credentials that the password file accepts (over TLS: the listener
 * refuses plain text away from loopback); its user's access class then applies. Failed
 * logins are counted per client address and a client over the limit is told to wait (429)
 * even with a right password, so guessing costs the guesser time, not us. Requests in
 * progress are counted per client (uid or address), and every state-changing call leaves
 * one audit line in the log naming who made it.
 */
#include "server_priv.h"

#include "pam_auth.h"
#include "passwd.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "xmlrpc/base64.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define SERVER_PEM_MAX (1u << 20)
/* Failed-login records kept at most; older, expired ones are dropped first. */
#define SERVER_FAILURES_MAX 10000

typedef struct {
    unsigned count;
    int64_t since_ms; /* start of the window these failures fall in */
} server_failures;

/* ---- start and stop ---- */

/* Read a PEM file whole (bounded) into *out. */
static int server_read_pem(const char *key, const char *path, char **out)
{
    size_t len;
    *out = xend_file_read(path, SERVER_PEM_MAX, &len);
    if (!*out) {
        char msg[sizeof(xend_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: %s", key, msg);
        return -1;
    }
    return 0;
}

/* Load the certificate and key the way libmicrohttpd will, so a wrong file is refused at
 * start with GnuTLS's reason rather than as a listener that does not start. */
static int server_tls_load(server *srv)
{
    const server_config *cfg = &srv->cfg;
    if (server_read_pem("tls_cert", cfg->tls_cert, &srv->tls_cert_pem) < 0 ||
        server_read_pem("tls_key", cfg->tls_key, &srv->tls_key_pem) < 0)
        return -1;
    struct stat st;
    if (stat(cfg->tls_key, &st) == 0 && (st.st_mode & 0077))
        log_warn("tls_key %s can be read by others (mode %04o): chmod 600 it", cfg->tls_key,
                 (unsigned)(st.st_mode & 07777));
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot allocate TLS credentials");
        return -1;
    }
    gnutls_datum_t c = {(unsigned char *)srv->tls_cert_pem, (unsigned)strlen(srv->tls_cert_pem)};
    gnutls_datum_t k = {(unsigned char *)srv->tls_key_pem, (unsigned)strlen(srv->tls_key_pem)};
    int r = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if (r < 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "tls_cert %s and tls_key %s cannot be used: %s", cfg->tls_cert,
                          cfg->tls_key, gnutls_strerror(r));
        return -1;
    }
    gnutls_priority_t prio;
    const char *bad = NULL;
    r = gnutls_priority_init(&prio, cfg->tls_priorities, &bad);
    if (r < 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "tls_priorities '%s' is invalid near '%s': %s",
                          cfg->tls_priorities, bad ? bad : "", gnutls_strerror(r));
        return -1;
    }
    gnutls_priority_deinit(prio);
    return 0;
}

int server_auth_start(server *srv)
{
    const server_config *cfg = &srv->cfg;
    srv->inflight = xhash_new();
    srv->failures = xhash_new();
    if (cfg->tcp_listen && cfg->tcp_tls && server_tls_load(srv) < 0)
        return -1;
    if (cfg->tcp_listen && cfg->tcp_auth) {
        srv->passwd = passwd_store_open(cfg->passwd_file);
        if (!srv->passwd)
            return -1;
        passwd_store_set_pam(srv->passwd, cfg->pam_service, cfg->pam_confdir);
        if (passwd_store_count(srv->passwd) == 0)
            log_warn("%s has no users: nobody can sign in over TCP (add one with "
                     "`xend passwd USER`)",
                     cfg->passwd_file);
        size_t n_pam = passwd_store_pam_count(srv->passwd);
        if (n_pam && !pam_auth_available())
            log_warn("%s has %zu PAM users, but PAM support is not built in: they cannot "
                     "sign in",
                     cfg->passwd_file, n_pam);
    }
    if (cfg->allowed_origins && *cfg->allowed_origins) {
        size_t n = 0;
        char *copy = xstrdup(cfg->allowed_origins);
        for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t;
             t = strtok_r(NULL, " \t", &save)) {
            srv->origins = xrealloc(srv->origins, (n + 2) * sizeof(*srv->origins));
            srv->origins[n++] = xstrdup(t);
            srv->origins[n] = NULL;
        }
        free(copy);
    }
    return 0;
}

static void server_free_failure(const char *key, void *value, void *opaque)
{
    (void)key;
    (void)opaque;
    free(value);
}

void server_auth_stop(server *srv)
{
    free(srv->tls_cert_pem);
    if (srv->tls_key_pem) {
        explicit_bzero(srv->tls_key_pem, strlen(srv->tls_key_pem));
        free(srv->tls_key_pem);
    }
    passwd_store_free(srv->passwd);
    for (size_t i = 0; srv->origins && srv->origins[i]; i++)
        free(srv->origins[i]);
    free(srv->origins);
    if (srv->failures)
        xhash_foreach(srv->failures, server_free_failure, NULL);
    xhash_free(srv->failures);
    xhash_free(srv->inflight);
}

/* ---- connections ---- */

void server_auth_conn_init(server *srv, server_listener *l, server_conn *sc, int fd)
{
    sc->l = l;
    sc->fd = fd;
    sc->caller.app = srv->app;
    sc->caller.who = sc->who;
    sc->caller.transport = l->kind == SERVER_LISTEN_TCP ? "tcp" : "unix";
    /* The read-only socket allows reads whoever connects; the read-write one is guarded
     * by its file mode and group; TCP without authentication is loopback-only (or
     * tcp_insecure, said loudly at start). */
    sc->caller.max_access = l->kind == SERVER_LISTEN_UNIX_RO ? XMLRPC_ACCESS_READ
                            : l->auth                        ? XMLRPC_ACCESS_READ
                                                             : XMLRPC_ACCESS_ADMIN;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    /* The socket's own family, not the listener's: server_add_connection may hand either
     * kind to either daemon. */
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cl == sizeof(cred)) {
            sc->caller.have_cred = true;
            sc->caller.uid = cred.uid;
            sc->caller.gid = cred.gid;
            sc->caller.pid = cred.pid;
            snprintf(sc->client, sizeof(sc->client), "uid %u", (unsigned)cred.uid);
            snprintf(sc->who, sizeof(sc->who), "uid=%u gid=%u pid=%d (%s)", (unsigned)cred.uid,
                     (unsigned)cred.gid, (int)cred.pid, l->name);
        } else {
            snprintf(sc->client, sizeof(sc->client), "unix");
            snprintf(sc->who, sizeof(sc->who), "an unknown local process (%s)", l->name);
        }
    } else {
        char addr[INET6_ADDRSTRLEN] = "unknown";
        sl = sizeof(ss);
        if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
            else if (ss.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
        }
        snprintf(sc->client, sizeof(sc->client), "%s", addr);
        snprintf(sc->who, sizeof(sc->who), "addr=%s (%s)", addr, l->name);
    }
    if (l->auth) {
        sc->counted_unauth = true;
        atomic_fetch_add(&srv->unauth, 1);
        /* An unauthenticated connection must sign in promptly or give its slot back. */
        sc->deadline_ms = server_now_ms() + (int64_t)srv->cfg.request_timeout * 1000;
    }
}

/* ---- Origin ---- */

static bool server_host_is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "[::1]") == 0;
}

/* A browser's Origin (scheme://host[:port]) is ours when it names this TCP listener: its
 * scheme, its port, and its address (or, on loopback, any loopback name). */
static bool server_origin_ours(const server *srv, const server_listener *l, const char *origin)
{
    if (l->kind != SERVER_LISTEN_TCP)
        return false;
    const char *scheme = l->tls ? "https://" : "http://";
    size_t sn = strlen(scheme);
    if (strncasecmp(origin, scheme, sn) != 0)
        return false;
    const char *host = origin + sn;
    const char *colon = host[0] == '[' ? strchr(host, ']') : host;
    if (!colon)
        return false;
    colon = strchr(colon, ':');
    char hostbuf[80];
    size_t hn = colon ? (size_t)(colon - host) : strlen(host);
    if (hn == 0 || hn >= sizeof(hostbuf))
        return false;
    memcpy(hostbuf, host, hn);
    hostbuf[hn] = '\0';
    unsigned port = l->tls ? 443 : 80;
    if (colon) {
        char *end;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (*end || end == colon + 1 || p > 65535)
            return false;
        port = (unsigned)p;
    }
    if (port != srv->tcp_port)
        return false;
    char ours[80];
    if (strchr(srv->tcp_address, ':'))
        snprintf(ours, sizeof(ours), "[%s]", srv->tcp_address);
    else
        snprintf(ours, sizeof(ours), "%s", srv->tcp_address);
    if (strcasecmp(hostbuf, ours) == 0)
        return true;
    return server_host_is_loopback(ours) && server_host_is_loopback(hostbuf);
}

static bool server_origin_ok(const server *srv, const server_listener *l, const char *origin)
{
    for (size_t i = 0; srv->origins && srv->origins[i]; i++)
        if (strcmp(srv->origins[i], origin) == 0)
            return true;
    return server_origin_ours(srv, l, origin);
}

/* ---- HTTP Basic ---- */

/* Split "Basic BASE64(user:password)" into owned user and password strings. */
static bool server_basic_parse(const char *header, char **user, char **password)
{
    if (strncasecmp(header, "Basic ", 6) != 0)
        return false;
    const char *b = header + 6;
    while (*b == ' ')
        b++;
    size_t n = strlen(b);
    while (n && b[n - 1] == ' ')
        n--;
    char *dec = NULL;
    long len = base64_decode(b, n, &dec);
    if (len < 0)
        return false;
    char *colon = memchr(dec, ':', (size_t)len);
    if (!colon || memchr(dec, '\0', (size_t)len)) {
        explicit_bzero(dec, (size_t)len);
        free(dec);
        return false;
    }
    *user = xstrndup(dec, (size_t)(colon - dec));
    *password = xstrndup(colon + 1, (size_t)(len - (colon + 1 - dec)));
    explicit_bzero(dec, (size_t)len);
    free(dec);
    return true;
}

/* Seconds the client must still wait, or 0 when it may try to sign in. */
static unsigned server_login_blocked(server *srv, const char *client, int64_t now)
{
    unsigned wait = 0;
    pthread_mutex_lock(&srv->client_lock);
    server_failures *f = xhash_get(srv->failures, client);
    int64_t window = (int64_t)srv->cfg.auth_fail_window * 1000;
    if (f && now - f->since_ms < window && f->count >= srv->cfg.auth_max_failures)
        wait = (unsigned)((f->since_ms + window - now + 999) / 1000);
    pthread_mutex_unlock(&srv->client_lock);
    return wait;
}

typedef struct {
    int64_t now, window;
    char **expired;
    size_t n;
} server_expire_scan;

static void server_find_expired(const char *key, void *value, void *opaque)
{
    server_expire_scan *s = opaque;
    const server_failures *f = value;
    if (s->now - f->since_ms >= s->window)
        s->expired[s->n++] = xstrdup(key);
}

/* Count a failed login; returns the failures in the current window. */
static unsigned server_login_failed(server *srv, const char *client, int64_t now)
{
    int64_t window = (int64_t)srv->cfg.auth_fail_window * 1000;
    pthread_mutex_lock(&srv->client_lock);
    server_failures *f = xhash_get(srv->failures, client);
    if (!f && xhash_count(srv->failures) >= SERVER_FAILURES_MAX) {
        server_expire_scan s = {now, window, xcalloc(xhash_count(srv->failures), sizeof(char *)),
                                0};
        xhash_foreach(srv->failures, server_find_expired, &s);
        for (size_t i = 0; i < s.n; i++) {
            free(xhash_remove(srv->failures, s.expired[i]));
            free(s.expired[i]);
        }
        free(s.expired);
    }
    if (!f && xhash_count(srv->failures) < SERVER_FAILURES_MAX) {
        f = xcalloc(1, sizeof(*f));
        xhash_set(srv->failures, client, f);
    }
    unsigned count = 0;
    if (f) {
        if (now - f->since_ms >= window) {
            f->count = 0;
            f->since_ms = now;
        }
        count = ++f->count;
    }
    pthread_mutex_unlock(&srv->client_lock);
    return count;
}

static void server_login_succeeded(server *srv, const char *client)
{
    pthread_mutex_lock(&srv->client_lock);
    free(xhash_remove(srv->failures, client));
    pthread_mutex_unlock(&srv->client_lock);
}

static void server_check_credentials(server *srv, server_conn *sc, server_request *req,
                                     const char *header)
{
    if (!header) {
        req->want_auth = true;
        server_defer(req, MHD_HTTP_UNAUTHORIZED,
                     "authentication required: send HTTP Basic credentials of a user of "
                     "`xend passwd`");
        return;
    }
    if (sc->authed && sc->auth_header && strcmp(header, sc->auth_header) == 0)
        return;
    int64_t now = server_now_ms();
    unsigned wait = server_login_blocked(srv, sc->client, now);
    if (wait) {
        req->retry_after = wait;
        server_defer(req, MHD_HTTP_TOO_MANY_REQUESTS,
                     "too many failed logins from %s: try again in %u s", sc->client, wait);
        return;
    }
    char *user = NULL, *password = NULL;
    xmlrpc_access access = XMLRPC_ACCESS_READ;
    bool ok = server_basic_parse(header, &user, &password) &&
              passwd_store_check(srv->passwd, user, password, &access) == 0;
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    if (!ok) {
        unsigned n = server_login_failed(srv, sc->client, now);
        log_warn("tcp: failed login%s%s%s from %s (%u within %u s)", user ? " as '" : "",
                 user ? user : "", user ? "'" : "", sc->client, n, srv->cfg.auth_fail_window);
        free(user);
        sc->authed = false;
        sc->caller.max_access = XMLRPC_ACCESS_READ;
        req->want_auth = true;
        server_defer(req, MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
        return;
    }
    server_login_succeeded(srv, sc->client);
    free(sc->auth_header);
    sc->auth_header = xstrdup(header);
    sc->caller.max_access = access;
    snprintf(sc->who, sizeof(sc->who), "user=%s addr=%s (tcp)", user, sc->client);
    log_debug("tcp: %s signed in as %s (%s access)", sc->client, user, xmlrpc_access_name(access));
    free(user);
    if (!sc->authed && sc->counted_unauth) {
        sc->counted_unauth = false;
        atomic_fetch_sub(&srv->unauth, 1);
    }
    sc->authed = true;
}

bool server_auth_request(server *srv, struct MHD_Connection *c, server_request *req)
{
    server_conn *sc = req->sc;
    if (!sc)
        return true;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin && !server_origin_ok(srv, sc->l, origin))
        server_defer(req, MHD_HTTP_FORBIDDEN,
                     "Origin '%s' is not allowed here (allowed_origins in xend.conf)", origin);
    if (sc->l->auth)
        server_check_credentials(
            srv, sc, req,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
    return req->deferred_status == 0;
}

/* ---- requests in progress per client ---- */

bool server_client_acquire(server *srv, server_conn *sc)
{
    pthread_mutex_lock(&srv->client_lock);
    uintptr_t n = (uintptr_t)xhash_get(srv->inflight, sc->client);
    bool ok = n < srv->cfg.max_client_requests;
    if (ok)
        xhash_set(srv->inflight, sc->client, (void *)(n + 1));
    pthread_mutex_unlock(&srv->client_lock);
    if (!ok)
        xend_error_report(XEND_ERR_LIMIT,
                          "too many requests in progress from %s (max_client_requests = %u): "
                          "wait for one to finish",
                          sc->client, srv->cfg.max_client_requests);
    return ok;
}

void server_client_release(server *srv, server_conn *sc)
{
    pthread_mutex_lock(&srv->client_lock);
    uintptr_t n = (uintptr_t)xhash_get(srv->inflight, sc->client);
    if (n <= 1)
        xhash_remove(srv->inflight, sc->client);
    else
        xhash_set(srv->inflight, sc->client, (void *)(n - 1));
    pthread_mutex_unlock(&srv->client_lock);
}

/* ---- audit ---- */

void server_audit(void *srv, const xmlrpc_caller *caller, const xmlrpc_method *method,
                  const xmlrpc_value *params, int fault)
{
    (void)srv;
    /* The first parameter names the object in nearly every method (a domain); printed
     * bounded and with anything unprintable escaped, so a log line stays one line. */
    char arg[100] = "";
    if (params && params->type == XMLRPC_ARRAY && params->u.a.n > 0 &&
        params->u.a.items[0]->type == XMLRPC_STRING) {
        const char *s = params->u.a.items[0]->u.s.ptr;
        size_t o = 0;
        arg[o++] = '"';
        for (size_t i = 0; s[i] && o < sizeof(arg) - 8; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
                o += (size_t)snprintf(arg + o, sizeof(arg) - o, "\\x%02x", ch);
            else
                arg[o++] = (char)ch;
        }
        if (o >= sizeof(arg) - 8)
            o += (size_t)snprintf(arg + o, sizeof(arg) - o, "...");
        snprintf(arg + o, sizeof(arg) - o, "\"");
    }
    const char *who = caller->who ? caller->who : "an unknown caller";
    if (fault)
        log_info("audit: %s %s(%s) -> fault %d", who, method->name, arg, fault);
    else
        log_info("audit: %s %s(%s) -> ok", who, method->name, arg);
}
