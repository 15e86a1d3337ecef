/*
 * The XML-RPC HTTP server (libmicrohttpd): a read-write Unix socket, a read-only Unix
 * socket and an optional TCP listener (TLS and HTTP Basic users by default) feeding request
 * bodies through an xmlrpc_registry. Used by xend and by the test servers (validator1), so
 * every transport rule (POST only, text/xml, Origin, size/idle/header/time limits,
 * connection caps, per-client request caps, SO_PEERCRED, authentication) lives in one
 * place.
 */
#ifndef XEND_DAEMON_SERVER_H
#define XEND_DAEMON_SERVER_H

#include "xmlrpc/codec.h"
#include "xmlrpc/dispatch.h"

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    const char *socket_path;  /* NULL: no Unix listener */
    mode_t socket_mode;       /* default 0600 */
    gid_t socket_gid;         /* (gid_t)-1: leave the group alone */
    const char *socket_ro_path; /* NULL: no read-only Unix listener */
    mode_t socket_ro_mode;      /* default 0666 */
    bool tcp_listen;
    const char *tcp_address;  /* default "127.0.0.1" */
    unsigned tcp_port;        /* 0 with tcp_listen: pick a free port (see server_tcp_port) */
    bool tcp_tls;             /* default true: needs tls_cert and tls_key */
    const char *tls_cert;     /* PEM files */
    const char *tls_key;
    const char *tls_priorities; /* GnuTLS priority string */
    bool tcp_auth;            /* default true: HTTP Basic against passwd_file */
    const char *passwd_file;
    const char *pam_service;  /* PAM service of the file's `pam` users (default "xend") */
    const char *pam_confdir;  /* their PAM configuration directory ("": the system's) */
    bool tcp_insecure;        /* allow plain TCP / no auth on a non-loopback address */
    unsigned auth_max_failures; /* failed logins per client address ... (default 5) */
    unsigned auth_fail_window;  /* ... within this many seconds (default 60) */
    unsigned max_unauth_connections; /* TCP connections not yet authenticated (32) */
    unsigned max_client_requests;    /* requests in progress per client, priority methods
                                        aside (default 32) */
    unsigned request_timeout; /* seconds to receive a whole request once it started (30) */
    const char *allowed_origins; /* space-separated extra Origin values, or NULL */
    xmlrpc_limits limits;     /* body/depth/elements/string limits */
    size_t max_header;        /* bytes of request line + headers (default 16 KiB) */
    unsigned max_connections; /* over all listeners (default 256) */
    unsigned idle_timeout;    /* seconds a connection may sit idle (default 60) */
    unsigned workers;         /* I/O threads per listener, which also run read-only calls
                                 (default 4) */
    unsigned job_workers;     /* threads running calls that may block (default 8) */
    unsigned priority_workers; /* threads for priority_methods only (default 2) */
    const char *const *priority_methods; /* NULL-terminated; run even when every job
                                            worker is busy (static, borrowed) */
    bool debug;               /* internal-error faults carry the server's backtrace to
                                 root callers on the Unix socket */
} server_config;

void server_config_default(server_config *cfg);

typedef struct server server;

typedef enum {
    SERVER_LISTEN_UNIX,    /* the read-write Unix socket */
    SERVER_LISTEN_UNIX_RO, /* the read-only Unix socket */
    SERVER_LISTEN_TCP,
    SERVER_LISTEN_LAST
} server_listen_kind;

/* Bind the listeners (removing a stale socket file first, refusing if a live server
 * answers on it) and start serving. reg is borrowed and must outlive the server; app is
 * stored in every request's xmlrpc_caller.app. Returns NULL with an error reported. */
server *server_start(const server_config *cfg, xmlrpc_registry *reg, void *app);
/* The bound TCP port (useful when tcp_port was 0), or 0. */
unsigned server_tcp_port(const server *srv);
/* Serve one already-connected stream socket (the server takes ownership of fd) as if it
 * had arrived on the listener of that kind, which must exist; used by the HTTP fuzz
 * target. Returns 0, or -1 with an error reported. */
int server_add_connection(server *srv, int fd, server_listen_kind kind);
/* Check that address is a numeric IPv4/IPv6 address (or "localhost"). Sets *loopback.
 * Returns 0, or -1 with CONFIG_INVALID reported. */
int server_tcp_address_check(const char *address, bool *loopback);
/* The address policy of the TCP listener, which needs several keys together: plain HTTP
 * (tcp_tls off) or no authentication (tcp_auth off) only on loopback, unless tcp_insecure.
 * Returns 0 (also when tcp_listen is off), or -1 with CONFIG_INVALID reported. */
int server_tcp_policy_check(const server_config *cfg);
/* Resume every parked long-poll request (an event was posted). Takes the server as void *
 * so it can be an event-ring listener directly. Thread-safe. */
void server_wake(void *srv);
/* Stop listening, close connections, remove the socket file, free. Accepts NULL. */
void server_stop(server *srv);

#endif
