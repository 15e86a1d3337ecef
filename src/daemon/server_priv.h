/*
 * Inside the XML-RPC HTTP server: the objects shared by its three files.
 *   server.c         the request pipeline (HTTP checks, body, dispatch, job pool, long polls)
 *   server_listen.c  the listening sockets (Unix rw and ro, TCP) and the address policy
 *   server_auth.c    who the caller is: TLS credentials, HTTP Basic against the password
 *                    file, failed-login limits, per-client request counts, Origin, audit
 * Nothing here is used outside src/daemon/server*.c.
 */
#ifndef XEND_DAEMON_SERVER_PRIV_H
#define XEND_DAEMON_SERVER_PRIV_H

#include "server.h"

#include "util/buf.h"
#include "util/hash.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct passwd_store;

typedef struct server_listener {
    server *srv;
    struct MHD_Daemon *mhd;
    int fd;           /* owned until MHD takes it; -1 afterwards or when absent */
    const char *name; /* "unix", "unix-ro" or "tcp", for logs */
    server_listen_kind kind;
    bool tls;         /* TCP with TLS */
    bool auth;        /* TCP with HTTP Basic: callers start unauthenticated */
    char *path;       /* Unix: the socket file (owned); NULL otherwise */
    bool bound;       /* Unix: we created the file and may remove it */
    dev_t dev;        /* Unix: identity of that file, so stop never removes a successor's */
    ino_t ino;
} server_listener;

/* Per connection (MHD's socket context), linked in srv->conns for the request-timeout
 * reaper. The caller identity is read once; Basic credentials are checked once per
 * distinct Authorization header. */
typedef struct server_conn {
    struct server_conn *prev, *next; /* srv->conns, under srv->conn_lock */
    server_listener *l;
    int fd;
    xmlrpc_caller caller;
    char client[64];   /* rate-limit key: "uid 1000" or the peer address */
    char who[160];     /* caller.who points here */
    char *auth_header; /* the Authorization value that authenticated this connection */
    bool authed;       /* tcp with auth: valid credentials seen */
    bool counted_unauth;
    /* CLOCK_MONOTONIC ms by which the current request (or, on an unauthenticated TCP
     * connection, its authentication) must be complete; 0 = no deadline. Set and read
     * under srv->conn_lock. */
    int64_t deadline_ms;
    /* TCP: the kernel's count of bytes received when the last request was complete (or
     * at open); more than this while there is no deadline means a request has begun, even
     * if libmicrohttpd has not seen its whole request line yet. Under srv->conn_lock. */
    uint64_t rx_mark;
    bool cut; /* the reaper shut it down */
} server_conn;

/* Per request (MHD's con_cls, created by the URI callback when the request line arrives). */
typedef struct server_request {
    xbuf body;
    struct MHD_Connection *conn;
    server_conn *sc;
    bool head_checked; /* server_check_request ran */
    int64_t first_ms;  /* first dispatch, for long-poll deadlines; 0 before */
    int64_t wake_ms;   /* parked: resume at the latest then */
    uint64_t park_gen; /* parked: srv->park_gen when parked */
    bool parked;
    struct server_request *next_parked;
    /* Run by the job pool (see server_job_main): the reply waits in out until the
     * connection is resumed and MHD calls server_access again. */
    struct server_request *next_job;
    xmlrpc_caller caller;
    bool done;
    bool counted; /* holds one of its client's max_client_requests slots */
    xbuf out;
    unsigned deferred_status; /* refused for what it asks, not how it is framed: the */
    char *deferred_msg;       /* reply waits until the body is read (see server_defer) */
    unsigned retry_after;     /* with a deferred 429: seconds */
    bool want_auth;           /* with a deferred 401: add WWW-Authenticate */
    bool web;                 /* a GET or HEAD of the web page's files (server_web.c) */
    bool nul_in_target;       /* the raw request target has %00 (refused: 400) */
    bool rejected;            /* a reply was queued before the body; drop whatever still arrives */
    bool too_big;             /* the body (chunked) outgrew max_body */
    size_t dropped;           /* bytes of a refused or too-big body read and dropped */
} server_request;

typedef struct server_queue server_queue;

struct server {
    server_config cfg;
    char *tcp_address; /* owned copy */
    unsigned tcp_port; /* the bound port, 0 without TCP */
    xmlrpc_registry *reg;
    void *app;
    server_listener listeners[SERVER_LISTEN_LAST];
    pthread_key_t decoder_key; /* one xmlrpc_decoder per worker thread */
    bool decoder_key_made;
    atomic_uint connections; /* open connections over all listeners */
    atomic_uint unauth;      /* open TCP connections not yet authenticated */

    /* Every open connection, for the request-timeout reaper (the long-poll thread). */
    pthread_mutex_t conn_lock;
    server_conn *conns;

    /* Parked long-poll requests (see server_park): a list under park_lock, woken by
     * server_wake (an event was posted), their deadline, or server_stop. */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    struct server_request *parked;
    uint64_t park_gen; /* bumped by server_wake */
    bool park_stop;
    bool park_thread_started;
    pthread_t park_thread;

    /* The job pool: calls that may block (every method that is not a plain read) run
     * here, off the MHD threads, with their connection suspended, so a slow save never
     * delays other connections' requests. */
    pthread_mutex_t job_lock;
    pthread_cond_t job_cond;
    server_queue *job_queue, *prio_queue;
    bool job_stop;
    pthread_t *job_threads;
    unsigned njob_threads;

    /* server_auth.c */
    char *tls_cert_pem, *tls_key_pem; /* the PEM files, read at start */
    struct passwd_store *passwd;      /* tcp_auth = basic */
    char **origins;                   /* allowed Origin values, NULL-terminated */
    pthread_mutex_t client_lock;
    xhash *inflight; /* client key -> (uintptr_t) requests in progress */
    xhash *failures; /* client key -> server_failures * (failed logins) */
};

int64_t server_now_ms(void);

/* ---- server_listen.c ---- */

/* Bind every configured listener's socket (not yet served). Returns 0 or -1 with an error
 * reported; what was bound stays in srv->listeners for server_listen_close. */
int server_listen_bind(server *srv);
/* Remove the Unix socket files we created (only ours, never a successor's). */
void server_listen_unlink(server *srv);

/* ---- server_auth.c ---- */

/* Read the TLS credentials, open the password file, compute the allowed origins. Returns
 * 0 or -1 with CONFIG_INVALID/SYSTEM reported. Undone by server_auth_stop. */
int server_auth_start(server *srv);
void server_auth_stop(server *srv);
/* Fill a new connection's identity (caller, client key, who) from its socket. */
void server_auth_conn_init(server *srv, server_listener *l, server_conn *sc, int fd);
/* The head of a request is in: check Origin and, on an authenticating listener, the
 * credentials. A refusal is recorded on req (server_defer-style: status, message,
 * want_auth/retry_after) and answered after the body; returns false then. */
bool server_auth_request(server *srv, struct MHD_Connection *c, server_request *req);
/* Take one of the caller's max_client_requests slots; false (LIMIT reported) when all are
 * taken. server_client_release gives it back. */
bool server_client_acquire(server *srv, server_conn *sc);
void server_client_release(server *srv, server_conn *sc);
/* The registry's audit hook (see xmlrpc_registry_set_audit): one log line per call. */
void server_audit(void *srv, const xmlrpc_caller *caller, const xmlrpc_method *method,
                  const xmlrpc_value *params, int fault);
/* Record a refusal for req (first one wins); fmt is a printf format. */
/* Content-Type, Server and nosniff on a response being built. */
void server_response_headers(struct MHD_Response *resp, const char *type);
/* Queue an HTTP error with a one-line text/plain body (the message, after the status);
 * close_after when the request's body was not read. */
enum MHD_Result server_reply_error(struct MHD_Connection *c, unsigned status, bool close_after,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* server_web.c: the web page's files. server_web_reply queues the file for url (a 404
 * when there is none, a 304 for a matching If-None-Match). */
enum MHD_Result server_web_reply(struct MHD_Connection *c, const char *url);

void server_defer(server_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
