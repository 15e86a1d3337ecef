/*
 * The XML-RPC HTTP server (see server.h and server_priv.h), built on libmicrohttpd 0.9.75.
 * Each listener (the Unix sockets and the optional TCP socket, with TLS) is its own MHD
 * daemon with a pool of worker threads. Every HTTP rule is checked on the first call of
 * the access handler, before any body byte is read; the body is then collected up to the
 * limit and handed to xmlrpc_registry_handle() with a decoder owned by the worker thread
 * and the connection's caller (SO_PEERCRED or the authenticated user). Calls that may
 * block run in a job pool, long polls are parked without a thread, and one thread watches
 * the deadlines of both parked polls and slow requests.
 */
#include "server_priv.h"

#include "config.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcp_info with tcpi_bytes_received (glibc's lacks it) */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SERVER_SOFTWARE "xend/" XEND_VERSION

/* The header block is parsed inside libmicrohttpd's per-connection memory pool, which also
 * holds the header index and the reply's header lines. The pool gets room for twice the
 * configured header limit; anything larger is refused by MHD itself, anything between
 * max_header and that is refused exactly (431) by server_check_request. */
#define SERVER_POOL_SLACK 4096

int64_t server_now_ms(void)
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
    cfg->socket_ro_mode = 0666;
    cfg->tcp_tls = true;
    cfg->tls_cert = XEND_SYSCONFDIR "/xend/tls/server-cert.pem";
    cfg->tls_key = XEND_SYSCONFDIR "/xend/tls/server-key.pem";
    cfg->tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
    cfg->tcp_auth = true;
    cfg->passwd_file = XEND_SYSCONFDIR "/xend/passwd";
    cfg->pam_service = "xend";
    cfg->pam_confdir = "";
    cfg->auth_max_failures = 5;
    cfg->auth_fail_window = 60;
    cfg->max_unauth_connections = 32;
    cfg->max_client_requests = 32;
    cfg->request_timeout = 30;
    xmlrpc_limits_default(&cfg->limits);
    cfg->max_header = 16384;
    cfg->max_connections = 256;
    cfg->idle_timeout = 60;
    cfg->workers = 4;
    cfg->job_workers = 8;
    cfg->priority_workers = 2;
}

/* ---- replies ---------------------------------------------------------------------- */

void server_response_headers(struct MHD_Response *resp, const char *type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, SERVER_SOFTWARE);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

/* Replies that are not the page (XML-RPC answers, errors) are data: a browser that opens
 * one directly runs nothing in it and frames it nowhere. */
static void server_data_headers(struct MHD_Response *resp, const char *type)
{
    server_response_headers(resp, type);
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
}

/* Retry-After of the 429 being queued by this thread (set around server_reply_error). */
static __thread unsigned server_retry_after;

/* Queue an HTTP error with a one-line text/plain body. When the body of the request has not
 * been read, the connection must close after the reply: what follows on it is not a request. */
enum MHD_Result server_reply_error(struct MHD_Connection *c, unsigned status, bool close_after,
                                   const char *fmt, ...)
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
    server_data_headers(resp, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    /* The web page sends X-Xend-Client and signs in with its own form: a Basic challenge
     * would make the browser pop up its login dialog over it, so the page gets the same
     * credentials scheme under a name browsers do not act on. */
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(
            resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Xend-Client")
                ? "XendBasic realm=\"xend\", charset=\"UTF-8\""
                : "Basic realm=\"xend\", charset=\"UTF-8\"");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS && server_retry_after) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", server_retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
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
void server_defer(server_request *req, unsigned status, const char *fmt, ...)
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

    /* MHD hands us the target percent-decoded as a C string: an encoded NUL would cut
     * it short ("/RPC2%00x" would read as "/RPC2"), so such a target names nothing. */
    if (req->nul_in_target)
        server_defer(req, MHD_HTTP_BAD_REQUEST, "the request target has an encoded NUL (%%00)");
    /* The web page's files (GET or HEAD of anything but /RPC2) are public and change
     * nothing: served without credentials, after the body (if any) is read and dropped. */
    if ((strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) &&
        strcmp(url, "/RPC2") != 0) {
        req->web = true;
        return MHD_YES;
    }
    /* Who may ask comes before what is asked: an unauthenticated client learns nothing. */
    server_auth_request(srv, c, req);
    if (strcmp(url, "/RPC2") != 0 && strcmp(url, "/") != 0)
        server_defer(req, MHD_HTTP_NOT_FOUND,
                     "the XML-RPC endpoint is POST /RPC2 (or /); the web page is GET /");
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

static void server_reap_slow(server *srv, int64_t now);

static void *server_park_main(void *arg)
{
    server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    while (!srv->park_stop) {
        int64_t now = server_now_ms(), next = now + 1000;
        pthread_mutex_unlock(&srv->park_lock);
        server_reap_slow(srv, now);
        pthread_mutex_lock(&srv->park_lock);
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
    server_data_headers(resp, "text/xml; charset=utf-8");
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

struct server_queue {
    server *srv;
    struct server_request *head, *tail;
};

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
    server_conn *sc = req->sc;
    server_run_class cls = server_rpc_class(srv, req);
    if (!req->counted && !req->first_ms && cls != SERVER_RUN_PRIORITY && sc) {
        /* First dispatch (a parked request keeps its slot while it waits); the priority
         * methods stay usable by a client whose slots are all taken. */
        if (!server_client_acquire(srv, sc)) {
            xbuf_reset(&req->out);
            const xend_error *e = xend_error_last();
            xmlrpc_encode_fault(&req->out, e->code, e->message);
            return server_queue_rpc(c, &req->out);
        }
        req->counted = true;
    }
    xmlrpc_caller caller = {.max_access = XMLRPC_ACCESS_READ, .transport = "?"};
    if (sc)
        caller = sc->caller;
    caller.app = srv->app;
    caller.trace_ok = srv->cfg.debug && caller.have_cred && caller.uid == 0;
    if (!req->first_ms)
        req->first_ms = server_now_ms();
    caller.first_ms = req->first_ms;
    req->caller = caller;
    req->conn = c;

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

static server_conn *server_conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request line has arrived (MHD's URI log callback): the request exists from now on,
 * and the whole of it must arrive within request_timeout. The value returned becomes the
 * request's con_cls. */
static void *server_request_begin(void *cls, const char *uri, struct MHD_Connection *c)
{
    server_listener *l = cls;
    server *srv = l->srv;
    server_request *req = xcalloc(1, sizeof(*req));
    req->nul_in_target = uri && strstr(uri, "%00") != NULL; /* uri is still encoded here */
    req->sc = server_conn_of(c);
    if (req->sc) {
        int64_t deadline = server_now_ms() + (int64_t)srv->cfg.request_timeout * 1000;
        pthread_mutex_lock(&srv->conn_lock);
        if (!req->sc->deadline_ms || deadline < req->sc->deadline_ms)
            req->sc->deadline_ms = deadline;
        pthread_mutex_unlock(&srv->conn_lock);
    }
    return req;
}

/* Bytes the kernel has received on a TCP connection (0 for anything else). */
static uint64_t server_rx_bytes(const server_conn *sc)
{
    if (sc->l->kind != SERVER_LISTEN_TCP || sc->fd < 0)
        return 0;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(sc->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return 0;
    return ti.tcpi_bytes_received;
}

/* The whole request has been read: its connection has no deadline while it is served
 * (an unauthenticated one keeps the deadline to authenticate by). */
static void server_request_received(server *srv, server_request *req)
{
    server_conn *sc = req->sc;
    if (!sc || (sc->l->auth && !sc->authed))
        return;
    uint64_t rx = server_rx_bytes(sc);
    pthread_mutex_lock(&srv->conn_lock);
    sc->deadline_ms = 0;
    sc->rx_mark = rx;
    pthread_mutex_unlock(&srv->conn_lock);
}

/* The MHD access handler: called once with the head (upload_data_size 0), then with each
 * piece of the body, then once more with nothing left. */
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
        /* Only if MHD skipped the URI callback; keep going with a request of our own. */
        req = server_request_begin(l, url, c);
        *con_cls = req;
    }
    if (!req->head_checked) {
        req->head_checked = true;
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
    server_request_received(srv, req);
    if (req->deferred_status) {
        server_retry_after = req->retry_after;
        enum MHD_Result r =
            server_reply_error(c, req->deferred_status, false, "%s", req->deferred_msg);
        server_retry_after = 0;
        return r;
    }
    if (req->too_big)
        return server_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, false,
                                  "the chunked body has more than the limit of %zu bytes",
                                  srv->cfg.limits.max_body);
    if (req->web)
        return server_web_reply(c, url);
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
        if (req->counted)
            server_client_release(l->srv, req->sc);
        server_request_received(l->srv, req);
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
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        server_auth_conn_init(srv, l, sc, ci ? ci->connect_fd : -1);
        pthread_mutex_lock(&srv->conn_lock);
        sc->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = sc;
        srv->conns = sc;
        pthread_mutex_unlock(&srv->conn_lock);
        *socket_context = sc;
        unsigned n = atomic_fetch_add(&srv->connections, 1) + 1;
        log_debug("%s: connection opened by %s (%u open)", l->name, sc->who, n);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        server_conn *sc = *socket_context;
        if (sc) {
            pthread_mutex_lock(&srv->conn_lock);
            if (sc->prev)
                sc->prev->next = sc->next;
            else
                srv->conns = sc->next;
            if (sc->next)
                sc->next->prev = sc->prev;
            pthread_mutex_unlock(&srv->conn_lock);
            if (sc->counted_unauth)
                atomic_fetch_sub(&srv->unauth, 1);
            free(sc->auth_header);
            free(sc);
        }
        *socket_context = NULL;
        unsigned n = atomic_fetch_sub(&srv->connections, 1) - 1;
        log_debug("%s: connection closed (%u open)", l->name, n);
    }
}

/* Enforces max_connections over all listeners (MHD's own limit is per daemon and split
 * among its worker threads) and max_unauth_connections on an authenticating listener. A
 * refused connection is closed at once by MHD. */
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
    if (l->auth && atomic_load(&l->srv->unauth) >= l->srv->cfg.max_unauth_connections) {
        log_info("%s: refusing a connection: %u connections have not authenticated yet "
                 "(max_unauth_connections)",
                 l->name, l->srv->cfg.max_unauth_connections);
        return MHD_NO;
    }
    return MHD_YES;
}

/* Close the connections whose request (or authentication) is overdue: shutdown() makes
 * MHD's next read fail, and MHD closes the connection itself. Called by the long-poll
 * thread at least once a second. */
static void server_reap_slow(server *srv, int64_t now)
{
    pthread_mutex_lock(&srv->conn_lock);
    for (server_conn *sc = srv->conns; sc; sc = sc->next) {
        /* A TCP request that libmicrohttpd cannot see yet (its request line is still
         * arriving) is timed from when the reaper first notices its bytes. Unix sockets
         * have no such counter: there the request line is bounded by idle_timeout. */
        if (!sc->deadline_ms && !sc->cut && server_rx_bytes(sc) > sc->rx_mark)
            sc->deadline_ms = now + (int64_t)srv->cfg.request_timeout * 1000;
        if (!sc->deadline_ms || now < sc->deadline_ms || sc->cut || sc->fd < 0)
            continue;
        sc->cut = true;
        log_info("%s: closing the connection of %s: %s not complete within request_timeout "
                 "(%u s)",
                 sc->l->name, sc->who,
                 sc->l->auth && !sc->authed ? "authentication was" : "its request was",
                 srv->cfg.request_timeout);
        shutdown(sc->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->conn_lock);
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

static int server_listener_start(server *srv, server_listener *l)
{
    const server_config *cfg = &srv->cfg;
    /* poll(), not epoll: with 0.9.75's edge-triggered epoll path a worker sometimes
     * missed a client's half-close after an incomplete request (the connection then
     * lingered until idle_timeout) and woke once more per reply; poll's O(n) scan is
     * nothing at max_connections spread over the workers. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (l->tls)
        flags |= MHD_USE_TLS;
    /* The exact cap over all listeners is server_accept_policy's job. MHD's own limit
     * is split among the pool's threads, and a thread at its share stops accepting, which
     * would leave an over-cap client waiting in the backlog instead of being refused; with
     * shares adding up to more than max_connections, some thread always has room to
     * accept and refuse. */
    unsigned mhd_limit = cfg->max_connections + cfg->workers;
    size_t pool = cfg->max_header * 2 + SERVER_POOL_SLACK;
    struct MHD_OptionItem opts[] = {
        /* First, so that MHD's messages about the later options reach our log too. */
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)server_mhd_log, l},
        {MHD_OPTION_LISTEN_SOCKET, (intptr_t)l->fd, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->workers, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)mhd_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->idle_timeout, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)server_notify, l},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)server_completed, l},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)server_request_begin, l},
        /* The TLS items come last, so that without TLS the list simply ends before them. */
        /* (Options taking one pointer carry it in ptr_value.) */
        {l->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)cfg->tls_priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    l->mhd = MHD_start_daemon(flags, 0, server_accept_policy, l, server_access, l,
                              MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!l->mhd) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot start the HTTP server on the %s listener%s",
                          l->name, l->tls ? " (with TLS: is the key usable by GnuTLS?)" : "");
        return -1;
    }
    l->fd = -1; /* MHD owns it now and closes it in MHD_stop_daemon */
    return 0;
}

static int server_config_check(const server_config *cfg)
{
    if (!cfg->socket_path && !cfg->socket_ro_path && !cfg->tcp_listen) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "no listener configured");
        return -1;
    }
    if (cfg->workers < 1 || cfg->job_workers < 1 || cfg->priority_workers < 1 ||
        cfg->max_connections < 1 || cfg->idle_timeout < 1 || cfg->max_header < 256 ||
        cfg->limits.max_body < 1 || cfg->max_client_requests < 1 || cfg->request_timeout < 1 ||
        cfg->max_unauth_connections < 1 || cfg->auth_max_failures < 1 ||
        cfg->auth_fail_window < 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "server limits must be positive (workers, max_connections, "
                          "idle_timeout, max_header >= 256, max_body, max_client_requests, "
                          "request_timeout, max_unauth_connections, auth_max_failures, "
                          "auth_fail_window)");
        return -1;
    }
    if (cfg->socket_path && cfg->socket_ro_path && strcmp(cfg->socket_path, cfg->socket_ro_path) == 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "socket and socket_ro are the same path '%s'", cfg->socket_path);
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
    static const char *const names[SERVER_LISTEN_LAST] = {"unix", "unix-ro", "tcp"};
    for (int i = 0; i < SERVER_LISTEN_LAST; i++)
        srv->listeners[i] = (server_listener){.srv = srv, .fd = -1, .name = names[i], .kind = i};
    atomic_init(&srv->connections, 0);
    atomic_init(&srv->unauth, 0);
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->job_lock, NULL);
    pthread_mutex_init(&srv->conn_lock, NULL);
    pthread_mutex_init(&srv->client_lock, NULL);
    pthread_cond_init(&srv->job_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->park_cond, &ca);
    pthread_condattr_destroy(&ca);
    srv->tcp_address = xstrdup(cfg->tcp_address ? cfg->tcp_address : "127.0.0.1");
    srv->cfg.tcp_address = srv->tcp_address;
    if (cfg->socket_path)
        srv->listeners[SERVER_LISTEN_UNIX].path = xstrdup(cfg->socket_path);
    if (cfg->socket_ro_path)
        srv->listeners[SERVER_LISTEN_UNIX_RO].path = xstrdup(cfg->socket_ro_path);
    srv->cfg.socket_path = srv->listeners[SERVER_LISTEN_UNIX].path;
    srv->cfg.socket_ro_path = srv->listeners[SERVER_LISTEN_UNIX_RO].path;
    srv->listeners[SERVER_LISTEN_TCP].tls = cfg->tcp_listen && cfg->tcp_tls;
    srv->listeners[SERVER_LISTEN_TCP].auth = cfg->tcp_listen && cfg->tcp_auth;
    if (server_auth_start(srv) < 0)
        goto fail;
    xmlrpc_registry_set_audit(reg, server_audit, srv);
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
    if (server_listen_bind(srv) < 0)
        goto fail;
    for (int i = 0; i < SERVER_LISTEN_LAST; i++)
        if (srv->listeners[i].fd >= 0 && server_listener_start(srv, &srv->listeners[i]) < 0)
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

int server_add_connection(server *srv, int fd, server_listen_kind kind)
{
    server_listener *l = kind < SERVER_LISTEN_LAST ? &srv->listeners[kind] : NULL;
    if (!l || !l->mhd) {
        close(fd);
        xend_error_report(XEND_ERR_INTERNAL, "the server has no such listener");
        return -1;
    }
    bool is_unix = kind != SERVER_LISTEN_TCP;
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
    /* Remove the names first so new clients fail fast instead of queueing on a closing
     * socket. */
    server_listen_unlink(srv);
    for (int i = 0; i < SERVER_LISTEN_LAST; i++) {
        server_listener *l = &srv->listeners[i];
        if (l->mhd)
            MHD_stop_daemon(l->mhd);
        if (l->fd >= 0)
            close(l->fd);
        free(l->path);
    }
    xmlrpc_registry_set_audit(srv->reg, NULL, NULL);
    server_auth_stop(srv);
    if (srv->decoder_key_made)
        pthread_key_delete(srv->decoder_key);
    pthread_mutex_destroy(&srv->park_lock);
    pthread_cond_destroy(&srv->park_cond);
    pthread_mutex_destroy(&srv->job_lock);
    pthread_cond_destroy(&srv->job_cond);
    pthread_mutex_destroy(&srv->conn_lock);
    pthread_mutex_destroy(&srv->client_lock);
    free(srv->tcp_address);
    free(srv);
}
