/*
 * The XML-RPC HTTP server (libmicrohttpd): a Unix-socket listener and an optional loopback
 * TCP listener feeding request bodies through an xmlrpc_registry. Used by xend and by the
 * test servers (validator1), so every transport rule (POST only, text/xml, size/idle/header
 * limits, connection cap, SO_PEERCRED) lives in one place.
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
    bool tcp_listen;
    const char *tcp_address;  /* default "127.0.0.1" */
    unsigned tcp_port;        /* 0 with tcp_listen: pick a free port (see server_tcp_port) */
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

/* Bind the listeners (removing a stale socket file first, refusing if a live server
 * answers on it) and start serving. reg is borrowed and must outlive the server; app is
 * stored in every request's xmlrpc_caller.app. Returns NULL with an error reported. */
server *server_start(const server_config *cfg, xmlrpc_registry *reg, void *app);
/* The bound TCP port (useful when tcp_port was 0), or 0. */
unsigned server_tcp_port(const server *srv);
/* Serve one already-connected stream socket (the server takes ownership of fd); used by
 * the HTTP fuzz target. Returns 0, or -1 with an error reported. */
int server_add_connection(server *srv, int fd, bool is_unix);
/* Check that address is a numeric IPv4/IPv6 address (or "localhost") that the TCP listener
 * may bind: loopback only until TLS and authentication exist. Returns 0, or -1 with
 * CONFIG_INVALID reported. */
int server_tcp_address_check(const char *address);
/* Resume every parked long-poll request (an event was posted). Takes the server as void *
 * so it can be an event-ring listener directly. Thread-safe. */
void server_wake(void *srv);
/* Stop listening, close connections, remove the socket file, free. Accepts NULL. */
void server_stop(server *srv);

#endif
