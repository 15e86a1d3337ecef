/*
 * The XML-RPC HTTP server (see server.h), built on libmicrohttpd 0.9.75. Each listener (the
 * Unix socket and the optional loopback TCP socket) is its own MHD daemon with a pool of
 * worker threads; the sockets are created and bound here so that we control the
 * socket file (mode, group, stale-file handling) and the TCP address policy. Every HTTP
 * rule is checked on the first call of the access handler, before any body byte is read;
 * the body is then collected up to the limit and handed to xmlrpc_registry_handle() with a
 * decoder owned by the worker thread and a caller filled from SO_PEERCRED.
 */
#include "server.h"

#include "config.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SERVER_SOFTWARE "xend/" XEND_VERSION

/* The header block is parsed inside libmicrohttpd's per-connection memory pool, which also
 * holds the header index and the reply's header lines. The pool gets room for twice the
 * configured header limit; anything larger is refused by MHD itself, anything between
 * max_header and that is refused exactly (431) by server_check_request. */
#define SERVER_POOL_SLACK 4096

typedef struct server_listener {
    server *srv;
    struct MHD_Daemon *mhd;
    int fd;           /* owned until MHD takes it; -1 afterwards or when absent */
    const char *name; /* "unix" or "tcp", for logs */
} server_listener;

struct server {
    server_config cfg;
    char *socket_path; /* owned copy; NULL without a Unix listener */
    char *tcp_address; /* owned copy */
    bool socket_bound; /* we created the socket file and may remove it */
    dev_t socket_dev;  /* identity of that file, so stop never removes a successor's */
    ino_t socket_ino;
    unsigned tcp_port; /* the bound port, 0 without TCP */
    xmlrpc_registry *reg;
    void *app;
    server_listener unix_l, tcp_l;
    pthread_key_t decoder_key; /* one xmlrpc_decoder per worker thread */
    bool decoder_key_made;
    atomic_uint connections; /* open connections over all listeners */

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
    struct server_queue *job_queue, *prio_queue;
    bool job_stop;
    pthread_t *job_threads;
    unsigned njob_threads;
};

/* Per connection (MHD's socket context): the caller identity, read once. */
typedef struct {
    xmlrpc_caller caller;
} server_conn;

/* Per request (MHD's con_cls). */
typedef struct server_request {
    xbuf body;
    struct MHD_Connection *conn;
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
    xbuf out;
    unsigned deferred_status; /* refused for what it asks, not how it is framed: the */
    char *deferred_msg;       /* reply waits until the body is read (see server_defer) */
    bool rejected;            /* a reply was queued before the body; drop whatever still arrives */
    bool too_big;             /* the body (chunked) outgrew max_body */
    size_t dropped;           /* bytes of a refused or too-big body read and dropped */
} server_request;

static int64_t server_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void server_config_default(server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->socket_path = NULL;
    cfg->socket_mode = 0600;
    cfg->socket_gid = (gid_t)-1;
    cfg->tcp_listen = false;
    cfg->tcp_address = "127.0.0.1";
    cfg->tcp_port = 8006;
    xmlrpc_limits_default(&cfg->limits);
    cfg->max_header = 16384;
    cfg->max_connections = 256;
    cfg->idle_timeout = 60;
    cfg->workers = 4;
    cfg->job_workers = 8;
    cfg->priority_workers = 2;
}

/* ---- replies ---------------------------------------------------------------------- */

static void server_response_headers(struct MHD_Response *resp, const char *type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, SERVER_SOFTWARE);
}

/* Queue an HTTP error with a one-line text/plain body. When the body of the request has not
 * been read, the connection must close after the reply: what follows on it is not a request. */
static enum MHD_Result server_reply_error(struct MHD_Connection *c, unsigned status,
                                          bool close_after, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result server_reply_error(struct MHD_Connection *c, unsigned status,
                                          bool close_after, const char *fmt, ...)
{
    xbuf b = XBUF_INIT;
    const char *reason = MHD_get_reason_phrase_for(status);
    xbuf_printf(&b, "%u %s: ", status, reason && *reason ? reason : "Error");
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    xbuf_addc(&b, '\n');
    log_debug("http: %s", b.data);
    size_t len;
    char *text = xbuf_steal(&b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    server_response_headers(resp, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    if (close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- per-thread decoder ----------------------------------------------------------- */

static void server_decoder_destroy(void *dec)
{
    xmlrpc_decoder_free(dec);
}

/* The calling worker thread's decoder, created on first use and freed when the thread
 * exits (MHD joins its threads in MHD_stop_daemon). Borrowed. */
static xmlrpc_decoder *server_decoder(server *srv)
{
    xmlrpc_decoder *dec = pthread_getspecific(srv->decoder_key);
    if (!dec) {
        dec = xmlrpc_decoder_new(&srv->cfg.limits);
        if (dec && pthread_setspecific(srv->decoder_key, dec) != 0) {
            xmlrpc_decoder_free(dec);
            return NULL;
        }
    }
    return dec;
}

/* ---- request checks --------------------------------------------------------------- */

typedef struct {
    unsigned content_length;
    unsigned transfer_encoding;
} server_header_count;

static enum MHD_Result server_count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    server_header_count *n = cls;
    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        n->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        n->transfer_encoding++;
    return MHD_YES;
}

/* "text/xml", optionally followed by parameters ("; charset=utf-8"), in any case. */
static bool server_content_type_ok(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, "text/xml", 8) != 0)
        return false;
    ct += 8;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* Strict decimal Content-Length; false on anything else. */
static bool server_parse_length(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Refuse a request whose framing is sound (its body can be read to the end) but whose
 * path, method or content type is wrong. The reply is sent after the body has been read,
 * on a connection that stays usable: a client that writes its whole body before reading
 * (Python's http.client does) would otherwise hit EPIPE on a Unix socket instead of
 * seeing the status. The first problem found is the one reported. */
static void server_defer(server_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void server_defer(server_request *req, unsigned status, const char *fmt, ...)
{
    if (req->deferred_status)
        return;
    xbuf b = XBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    req->deferred_status = status;
    req->deferred_msg = xbuf_steal(&b, NULL);
}

/* Every rule that can be decided from the request head. Framing errors (after which the
 * body cannot be delimited, or must not be read) are answered at once and close the
 * connection: *queued is set, or MHD_NO is returned when queueing failed. Other refusals
 * are recorded with server_defer and answered once the body has been read. */
static enum MHD_Result server_check_request(server *srv, struct MHD_Connection *c,
                                            server_request *req, const char *url,
                                            const char *method, bool *queued)
{
    *queued = true;
    const union MHD_ConnectionInfo *hs =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (hs && hs->header_size > srv->cfg.max_header)
        return server_reply_error(c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, true,
                                  "the request head has %zu bytes, the limit is %zu",
                                  hs->header_size, srv->cfg.max_header);

    server_header_count count = {0, 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, server_count_header, &count);
    if (count.content_length > 1)
        return server_reply_error(c, MHD_HTTP_BAD_REQUEST, true,
                                  "more than one Content-Length header");
    if (count.content_length && count.transfer_encoding)
        return server_reply_error(c, MHD_HTTP_BAD_REQUEST, true,
                                  "both Content-Length and Transfer-Encoding are present");
    if (count.transfer_encoding > 1)
        return server_reply_error(c, MHD_HTTP_BAD_REQUEST, true,
                                  "more than one Transfer-Encoding header");

    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te) {
        /* MHD decodes chunked bodies itself; every other coding is refused. */
        if (strcasecmp(te, "chunked") != 0)
            return server_reply_error(c, MHD_HTTP_NOT_IMPLEMENTED, true,
                                      "Transfer-Encoding '%s' is not supported", te);
    } else {
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t len;
        if (!cl) {
            /* without a length a POST body cannot be delimited; other methods have none */
            if (is_post)
                return server_reply_error(c, MHD_HTTP_LENGTH_REQUIRED, true,
                                          "a Content-Length header is required");
        } else if (!server_parse_length(cl, &len)) {
            return server_reply_error(c, MHD_HTTP_BAD_REQUEST, true, "invalid Content-Length '%s'",
                                      cl);
        } else if (len > srv->cfg.limits.max_body) {
            return server_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, true,
                                      "the body has %" PRIu64 " bytes, the limit is %zu", len,
                                      srv->cfg.limits.max_body);
        }
    }
    *queued = false;

    if (strcmp(url, "/RPC2") != 0 && strcmp(url, "/") != 0)
        server_defer(req, MHD_HTTP_NOT_FOUND, "the XML-RPC endpoint is /RPC2 (or /)");
    if (!is_post)
        server_defer(req, MHD_HTTP_METHOD_NOT_ALLOWED, "XML-RPC requests use POST, not %s", method);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!server_content_type_ok(ct))
        server_defer(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                     ct ? "Content-Type must be text/xml, not '%s'"
                        : "Content-Type text/xml is required%s",
                     ct ? ct : "");
    const char *ce =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (ce && strcasecmp(ce, "identity") != 0)
        server_defer(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Encoding '%s' is not supported",
                     ce);
    return MHD_YES;
}

/* ---- long polling ------------------------------------------------------------------ */

/* Park a request whose handler deferred: suspend its connection (no thread waits on it)
 * until server_wake, its deadline or server_stop; MHD then calls server_access again and
 * the request is dispatched afresh with the same first_ms. */
static void server_park(server *srv, struct MHD_Connection *c, server_request *req, int64_t wake,
                        bool suspend)
{
    pthread_mutex_lock(&srv->park_lock);
    req->conn = c;
    req->wake_ms = wake;
    req->park_gen = srv->park_gen;
    req->parked = true;
    req->next_parked = srv->parked;
    srv->parked = req;
    if (suspend)
        MHD_suspend_connection(c);
    pthread_cond_signal(&srv->park_cond);
    pthread_mutex_unlock(&srv->park_lock);
}

static void server_unpark_locked(server *srv, server_request *req)
{
    for (server_request **p = &srv->parked; *p; p = &(*p)->next_parked) {
        if (*p == req) {
            *p = req->next_parked;
            break;
        }
    }
    req->parked = false;
    req->next_parked = NULL;
}

static void *server_park_main(void *arg)
{
    server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    while (!srv->park_stop) {
        int64_t now = server_now_ms(), next = now + 1000;
        server_request **p = &srv->parked;
        while (*p) {
            server_request *req = *p;
            if (req->wake_ms <= now || req->park_gen != srv->park_gen) {
                *p = req->next_parked;
                req->parked = false;
                req->next_parked = NULL;
                MHD_resume_connection(req->conn);
                continue;
            }
            if (req->wake_ms < next)
                next = req->wake_ms;
            p = &req->next_parked;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = next - now;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->park_cond, &srv->park_lock, &ts);
    }
    pthread_mutex_unlock(&srv->park_lock);
    return NULL;
}

void server_wake(void *srv_)
{
    server *srv = srv_;
    pthread_mutex_lock(&srv->park_lock);
    srv->park_gen++;
    pthread_cond_signal(&srv->park_cond);
    pthread_mutex_unlock(&srv->park_lock);
}

/* ---- the XML-RPC call ------------------------------------------------------------- */

/* Queue the reply held in out (a complete <methodResponse>). */
static enum MHD_Result server_queue_rpc(struct MHD_Connection *c, xbuf *out)
{
    size_t len;
    char *xml = xbuf_steal(out, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, xml, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(xml);
        return MHD_NO;
    }
    server_response_headers(resp, "text/xml; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Dispatch the body (in whichever thread) with req->caller; the reply goes to req->out.
 * Returns true if the handler deferred (nothing in out). */
static bool server_run_rpc(server *srv, server_request *req)
{
    xmlrpc_caller *caller = &req->caller;
    pthread_mutex_lock(&srv->park_lock);
    caller->can_defer = !srv->park_stop;
    pthread_mutex_unlock(&srv->park_lock);
    xmlrpc_decoder *dec = server_decoder(srv);
    if (!dec) {
        xbuf_reset(&req->out);
        xmlrpc_encode_fault(&req->out, XEND_ERR_INTERNAL, "cannot create an XML decoder");
        return false;
    }
    int fault = xmlrpc_registry_handle(srv->reg, dec, caller, req->body.data ? req->body.data : "",
                                       req->body.len, &req->out);
    if (caller->deferred)
        return true;
    if (caller->have_cred)
        log_debug("%s uid=%u pid=%d: request of %zu bytes -> %s %d", caller->transport,
                  (unsigned)caller->uid, (int)caller->pid, req->body.len,
                  fault ? "fault" : "result", fault);
    else
        log_debug("%s: request of %zu bytes -> %s %d", caller->transport, req->body.len,
                  fault ? "fault" : "result", fault);
    xbuf_clear(&req->body); /* the body can be large: do not keep it until the reply is sent */
    return false;
}

/* Where a request runs: on the MHD thread (a method of the read class: they only take
 * object locks briefly and never wait for a job), in the priority pool (methods that must
 * run even when every job worker waits: domain.destroy, job_abort, the receiving side of a
 * migration whose sender occupies a job worker), or in the job pool. Found by a cheap scan
 * for the method name; the real dispatch decodes properly, so a wrong guess only costs a
 * thread hop. */
typedef enum { SERVER_RUN_INLINE, SERVER_RUN_PRIORITY, SERVER_RUN_POOL } server_run_class;

static server_run_class server_rpc_class(server *srv, const server_request *req)
{
    const char *body = req->body.data;
    if (!body)
        return SERVER_RUN_INLINE;
    const char *p = memmem(body, req->body.len, "<methodName>", 12);
    if (!p)
        return SERVER_RUN_INLINE;
    p += 12;
    const char *end = memchr(p, '<', req->body.len - (size_t)(p - body));
    while (end && p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    while (end && end > p &&
           (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    char name[128];
    if (!end || (size_t)(end - p) >= sizeof(name))
        return SERVER_RUN_INLINE;
    memcpy(name, p, (size_t)(end - p));
    name[end - p] = '\0';
    const xmlrpc_method *m = xmlrpc_registry_find(srv->reg, name);
    if (!m)
        return SERVER_RUN_INLINE;
    for (const char *const *q = srv->cfg.priority_methods; q && *q; q++)
        if (strcmp(*q, name) == 0)
            return SERVER_RUN_PRIORITY;
    if (m->access == XMLRPC_ACCESS_READ && strcmp(name, "system.multicall") != 0)
        return SERVER_RUN_INLINE;
    return SERVER_RUN_POOL;
}

typedef struct server_queue {
    server *srv;
    struct server_request *head, *tail;
} server_queue;

static void *server_job_main(void *arg)
{
    server_queue *qu = arg;
    server *srv = qu->srv;
    pthread_mutex_lock(&srv->job_lock);
    for (;;) {
        while (!qu->head && !srv->job_stop)
            pthread_cond_wait(&srv->job_cond, &srv->job_lock);
        server_request *req = qu->head;
        if (!req)
            break; /* stopping, and the queue is empty */
        qu->head = req->next_job;
        if (!qu->head)
            qu->tail = NULL;
        req->next_job = NULL;
        pthread_mutex_unlock(&srv->job_lock);
        if (server_run_rpc(srv, req)) {
            server_park(srv, req->conn, req, req->caller.wake_ms, false);
        } else {
            req->done = true;
            MHD_resume_connection(req->conn);
        }
        pthread_mutex_lock(&srv->job_lock);
    }
    pthread_mutex_unlock(&srv->job_lock);
    return NULL;
}

static enum MHD_Result server_reply_rpc(server *srv, struct MHD_Connection *c, server_request *req)
{
    if (req->done) {
        req->done = false;
        return server_queue_rpc(c, &req->out);
    }
    xmlrpc_caller caller = {.max_access = XMLRPC_ACCESS_ADMIN, .transport = "?"};
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context)
        caller = ((server_conn *)ci->socket_context)->caller;
    caller.app = srv->app;
    caller.trace_ok = srv->cfg.debug && caller.have_cred && caller.uid == 0;
    if (!req->first_ms)
        req->first_ms = server_now_ms();
    caller.first_ms = req->first_ms;
    req->caller = caller;
    req->conn = c;

    server_run_class cls = server_rpc_class(srv, req);
    pthread_mutex_lock(&srv->job_lock);
    if (srv->job_stop)
        cls = SERVER_RUN_INLINE;
    pthread_mutex_unlock(&srv->job_lock);
    if (cls != SERVER_RUN_INLINE) {
        server_queue *qu = cls == SERVER_RUN_PRIORITY ? srv->prio_queue : srv->job_queue;
        MHD_suspend_connection(c);
        pthread_mutex_lock(&srv->job_lock);
        if (qu->tail)
            qu->tail->next_job = req;
        else
            qu->head = req;
        qu->tail = req;
        pthread_cond_broadcast(&srv->job_cond);
        pthread_mutex_unlock(&srv->job_lock);
        return MHD_YES;
    }
    if (server_run_rpc(srv, req)) {
        server_park(srv, c, req, req->caller.wake_ms, true);
        return MHD_YES;
    }
    return server_queue_rpc(c, &req->out);
}

/* The MHD access handler: called once with the head (upload_data_size 0, *con_cls NULL),
 * then with each piece of the body, then once more with nothing left. */
static enum MHD_Result server_access(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    server_listener *l = cls;
    server *srv = l->srv;
    server_request *req = *con_cls;
    (void)version;

    if (!req) {
        req = xcalloc(1, sizeof(*req));
        *con_cls = req;
        bool queued;
        enum MHD_Result ret = server_check_request(srv, c, req, url, method, &queued);
        req->rejected = queued || ret == MHD_NO;
        return ret;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->rejected)
            return MHD_YES;
        bool discarding = req->deferred_status || req->too_big;
        if (!discarding && n <= srv->cfg.limits.max_body - req->body.len) {
            xbuf_add(&req->body, upload_data, n);
            return MHD_YES;
        }
        /* The body of a refused request, or a chunked body that outgrew max_body (a
         * Content-Length was checked up front). libmicrohttpd takes no reply in the middle
         * of a body, so the rest is read and dropped and the reply goes out at its end; a
         * body that goes on past twice max_body is cut off, or the limit would bound
         * nothing. */
        if (!discarding) {
            req->too_big = true;
            req->dropped = req->body.len;
            xbuf_clear(&req->body);
        }
        req->dropped += n;
        if (req->dropped / 2 > srv->cfg.limits.max_body) {
            log_debug("http: closing a connection whose body goes on past twice the limit");
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (req->rejected)
        return MHD_YES; /* the reply is queued already */
    if (req->deferred_status)
        return server_reply_error(c, req->deferred_status, false, "%s", req->deferred_msg);
    if (req->too_big)
        return server_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, false,
                                  "the chunked body has more than the limit of %zu bytes",
                                  srv->cfg.limits.max_body);
    return server_reply_rpc(srv, c, req);
}

static void server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    server_request *req = *con_cls;
    server_listener *l = cls;
    (void)c;
    (void)toe;
    if (req && req->parked) {
        pthread_mutex_lock(&l->srv->park_lock);
        server_unpark_locked(l->srv, req);
        pthread_mutex_unlock(&l->srv->park_lock);
    }
    if (req) {
        xbuf_clear(&req->out);
        xbuf_clear(&req->body);
        free(req->deferred_msg);
        free(req);
        *con_cls = NULL;
    }
}

/* ---- connections ------------------------------------------------------------------ */

static void server_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    server_listener *l = cls;
    server *srv = l->srv;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        server_conn *sc = xcalloc(1, sizeof(*sc));
        sc->caller.max_access = XMLRPC_ACCESS_ADMIN;
        sc->caller.transport = "tcp";
        sc->caller.app = srv->app;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            /* The socket's own family, not the listener's: server_add_connection may hand
             * either kind to either daemon. */
            if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) == 0 &&
                ss.ss_family == AF_UNIX) {
                struct ucred cred;
                socklen_t cl = sizeof(cred);
                sc->caller.transport = "unix";
                if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
                    cl == sizeof(cred)) {
                    sc->caller.have_cred = true;
                    sc->caller.uid = cred.uid;
                    sc->caller.gid = cred.gid;
                    sc->caller.pid = cred.pid;
                }
            }
        }
        *socket_context = sc;
        unsigned n = atomic_fetch_add(&srv->connections, 1) + 1;
        if (sc->caller.have_cred)
            log_debug("%s: connection opened by uid=%u gid=%u pid=%d (%u open)", l->name,
                      (unsigned)sc->caller.uid, (unsigned)sc->caller.gid, (int)sc->caller.pid, n);
        else
            log_debug("%s: connection opened (%u open)", l->name, n);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
        unsigned n = atomic_fetch_sub(&srv->connections, 1) - 1;
        log_debug("%s: connection closed (%u open)", l->name, n);
    }
}

/* Enforces max_connections over all listeners (MHD's own limit is per daemon and split
 * among its worker threads). A refused connection is closed at once by MHD. */
static enum MHD_Result server_accept_policy(void *cls, const struct sockaddr *addr,
                                            socklen_t addrlen)
{
    server_listener *l = cls;
    (void)addr;
    (void)addrlen;
    if (atomic_load(&l->srv->connections) >= l->srv->cfg.max_connections) {
        log_debug("%s: refusing a connection: %u connections are open (max_connections)", l->name,
                  l->srv->cfg.max_connections);
        return MHD_NO;
    }
    return MHD_YES;
}

static void server_mhd_log(void *cls, const char *fmt, va_list ap)
{
    server_listener *l = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("%s: libmicrohttpd: %s", l->name, msg);
}

/* ---- listeners -------------------------------------------------------------------- */

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

static int server_bind_unix(server *srv)
{
    const char *path = srv->socket_path;
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
    /* Bind owner-only, then widen to socket_mode once the group is right: the file never
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
        srv->socket_dev = st.st_dev;
        srv->socket_ino = st.st_ino;
    }
    srv->socket_bound = true;
    srv->unix_l.fd = fd;
    if (srv->cfg.socket_gid != (gid_t)-1 && chown(path, (uid_t)-1, srv->cfg.socket_gid) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set the group of %s to %u", path,
                                (unsigned)srv->cfg.socket_gid);
        return -1;
    }
    if (chmod(path, srv->cfg.socket_mode & 07777) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set the mode of %s", path);
        return -1;
    }
    if (listen(fd, SOMAXCONN) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot listen on %s", path);
        return -1;
    }
    return 0;
}

static int server_tcp_address_parse(const char *address, unsigned port, struct sockaddr_storage *ss,
                                    socklen_t *len)
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
    if (!loopback) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "tcp_address '%s' is not a loopback address: without TLS and "
                          "authentication xend only listens on 127.0.0.0/8 or ::1",
                          address);
        return -1;
    }
    return 0;
}

int server_tcp_address_check(const char *address)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return server_tcp_address_parse(address, 0, &ss, &len);
}

static int server_bind_tcp(server *srv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (server_tcp_address_parse(srv->tcp_address, srv->cfg.tcp_port, &ss, &sl) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a TCP socket");
        return -1;
    }
    srv->tcp_l.fd = fd;
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

static int server_listener_start(server *srv, server_listener *l)
{
    const server_config *cfg = &srv->cfg;
    /* poll(), not epoll: with 0.9.75's edge-triggered epoll path a worker sometimes
     * missed a client's half-close after an incomplete request (the connection then
     * lingered until idle_timeout) and woke once more per reply; poll's O(n) scan is
     * nothing at max_connections spread over the workers. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    /* The exact cap over all listeners is server_accept_policy's job. MHD's own limit
     * is split among the pool's threads, and a thread at its share stops accepting, which
     * would leave an over-cap client waiting in the backlog instead of being refused; with
     * shares adding up to more than max_connections, some thread always has room to
     * accept and refuse. */
    unsigned mhd_limit = cfg->max_connections + cfg->workers;
    size_t pool = cfg->max_header * 2 + SERVER_POOL_SLACK;
    l->mhd = MHD_start_daemon(
        flags, 0, server_accept_policy, l, server_access, l,
        /* First, so that MHD's messages about the later options reach our log too. */
        MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, l, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->workers, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool, MHD_OPTION_NOTIFY_CONNECTION, server_notify, l,
        MHD_OPTION_NOTIFY_COMPLETED, server_completed, l, MHD_OPTION_END);
    if (!l->mhd) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot start the HTTP server on the %s listener",
                          l->name);
        return -1;
    }
    l->fd = -1; /* MHD owns it now and closes it in MHD_stop_daemon */
    return 0;
}

static int server_config_check(const server_config *cfg)
{
    if (!cfg->socket_path && !cfg->tcp_listen) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "no listener configured");
        return -1;
    }
    if (cfg->workers < 1 || cfg->job_workers < 1 || cfg->priority_workers < 1 ||
        cfg->max_connections < 1 || cfg->idle_timeout < 1 || cfg->max_header < 256 ||
        cfg->limits.max_body < 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "server limits must be positive (workers, max_connections, "
                          "idle_timeout, max_header >= 256, max_body)");
        return -1;
    }
    return 0;
}

server *server_start(const server_config *cfg, xmlrpc_registry *reg, void *app)
{
    if (server_config_check(cfg) < 0)
        return NULL;
    server *srv = xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    srv->reg = reg;
    srv->app = app;
    srv->unix_l = (server_listener){srv, NULL, -1, "unix"};
    srv->tcp_l = (server_listener){srv, NULL, -1, "tcp"};
    atomic_init(&srv->connections, 0);
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->job_lock, NULL);
    pthread_cond_init(&srv->job_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->park_cond, &ca);
    pthread_condattr_destroy(&ca);
    srv->tcp_address = xstrdup(cfg->tcp_address ? cfg->tcp_address : "127.0.0.1");
    srv->cfg.tcp_address = srv->tcp_address;
    if (cfg->socket_path) {
        srv->socket_path = xstrdup(cfg->socket_path);
        srv->cfg.socket_path = srv->socket_path;
    }
    if (pthread_key_create(&srv->decoder_key, server_decoder_destroy) != 0) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot create a thread-local key");
        goto fail;
    }
    srv->decoder_key_made = true;

    /* The job pool exists before any listener serves, or the first state-changing call
     * could find no queue. */
    srv->job_queue = xcalloc(1, sizeof(*srv->job_queue));
    srv->prio_queue = xcalloc(1, sizeof(*srv->prio_queue));
    srv->job_queue->srv = srv->prio_queue->srv = srv;
    unsigned nthreads = cfg->job_workers + cfg->priority_workers;
    srv->job_threads = xcalloc(nthreads, sizeof(*srv->job_threads));
    for (unsigned i = 0; i < nthreads; i++) {
        server_queue *qu = i < cfg->job_workers ? srv->job_queue : srv->prio_queue;
        if (pthread_create(&srv->job_threads[i], NULL, server_job_main, qu) != 0) {
            xend_error_report(XEND_ERR_SYSTEM, "cannot start a job worker thread");
            goto fail;
        }
        srv->njob_threads++;
    }
    /* Bind everything before serving anything, so a failure leaves nothing running. */
    if (srv->socket_path && server_bind_unix(srv) < 0)
        goto fail;
    if (cfg->tcp_listen && server_bind_tcp(srv) < 0)
        goto fail;
    if (srv->socket_path && server_listener_start(srv, &srv->unix_l) < 0)
        goto fail;
    if (cfg->tcp_listen && server_listener_start(srv, &srv->tcp_l) < 0)
        goto fail;
    if (pthread_create(&srv->park_thread, NULL, server_park_main, srv) != 0) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot start the long-poll thread");
        goto fail;
    }
    srv->park_thread_started = true;
    return srv;
fail:
    server_stop(srv);
    return NULL;
}

unsigned server_tcp_port(const server *srv)
{
    return srv ? srv->tcp_port : 0;
}

int server_add_connection(server *srv, int fd, bool is_unix)
{
    server_listener *l = is_unix ? &srv->unix_l : &srv->tcp_l;
    if (!l->mhd)
        l = l == &srv->unix_l ? &srv->tcp_l : &srv->unix_l;
    if (!l->mhd) {
        close(fd);
        xend_error_report(XEND_ERR_INTERNAL, "the server has no listener to add a connection to");
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 || sl == 0) {
        /* socketpair() peers have no name; MHD still wants an address. */
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = is_unix ? AF_UNIX : AF_INET;
        sl =
            is_unix ? (socklen_t)sizeof(struct sockaddr_un) : (socklen_t)sizeof(struct sockaddr_in);
    }
    /* MHD closes fd itself when it cannot take the connection. */
    if (MHD_add_connection(l->mhd, fd, (struct sockaddr *)&ss, sl) != MHD_YES) {
        xend_error_report_errno(XEND_ERR_LIMIT, errno, "the server refused a connection");
        return -1;
    }
    return 0;
}

void server_stop(server *srv)
{
    if (!srv)
        return;
    /* Refuse to park from now on, let the job pool finish what is queued (each job
     * resumes its connection), answer every parked request, then stop MHD. */
    pthread_mutex_lock(&srv->park_lock);
    srv->park_stop = true;
    pthread_mutex_unlock(&srv->park_lock);
    pthread_mutex_lock(&srv->job_lock);
    srv->job_stop = true;
    pthread_cond_broadcast(&srv->job_cond);
    pthread_mutex_unlock(&srv->job_lock);
    for (unsigned i = 0; i < srv->njob_threads; i++)
        pthread_join(srv->job_threads[i], NULL);
    free(srv->job_threads);
    free(srv->job_queue);
    free(srv->prio_queue);
    if (srv->park_thread_started) {
        pthread_mutex_lock(&srv->park_lock);
        srv->park_stop = true;
        while (srv->parked) {
            server_request *req = srv->parked;
            server_unpark_locked(srv, req);
            MHD_resume_connection(req->conn);
        }
        pthread_cond_signal(&srv->park_cond);
        pthread_mutex_unlock(&srv->park_lock);
        pthread_join(srv->park_thread, NULL);
        /* Give the workers a moment to send those answers before the sockets close. */
        usleep(50 * 1000);
    }
    /* Remove the name first so new clients fail fast instead of queueing on a closing
     * socket; only our own file, never one a successor has bound since. */
    if (srv->socket_bound) {
        struct stat st;
        if (stat(srv->socket_path, &st) == 0 && st.st_dev == srv->socket_dev &&
            st.st_ino == srv->socket_ino)
            unlink(srv->socket_path);
    }
    server_listener *ls[2] = {&srv->unix_l, &srv->tcp_l};
    for (int i = 0; i < 2; i++) {
        if (ls[i]->mhd)
            MHD_stop_daemon(ls[i]->mhd);
        if (ls[i]->fd >= 0)
            close(ls[i]->fd);
    }
    if (srv->decoder_key_made)
        pthread_key_delete(srv->decoder_key);
    pthread_mutex_destroy(&srv->park_lock);
    pthread_cond_destroy(&srv->park_cond);
    pthread_mutex_destroy(&srv->job_lock);
    pthread_cond_destroy(&srv->job_cond);
    free(srv->socket_path);
    free(srv->tcp_address);
    free(srv);
}
