/*
 * Handlers of the host and event methods (node.info, node.dmesg, node.log, event.next,
 * event.current_id) and the migration transport drivers use to reach another xend.
 *
 * event.next long-polls without holding a worker: when no event is ready it returns
 * XMLRPC_DEFERRED and the server parks the request until an event is posted or the
 * timeout passes (see xmlrpc_caller.can_defer); over a transport that cannot park it
 * answers at once with what there is.
 */
#include "api_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

xmlrpc_value *api_node_info(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)params;
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    hv_node_info ni;
    memset(&ni, 0, sizeof(ni));
    if (api_require_driver(ctx, (const void *)ctx->driver->node_info, "describe the host") < 0 ||
        ctx->driver->node_info(ctx->driver_priv, &ni) < 0)
        return NULL;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "hostname", xmlrpc_string(host));
    xmlrpc_struct_set(r, "model", xmlrpc_string(ni.model));
    xmlrpc_struct_set(r, "cpus", xmlrpc_int((int32_t)ni.cpus));
    xmlrpc_struct_set(r, "mhz", xmlrpc_int((int32_t)ni.mhz));
    xmlrpc_struct_set(r, "nodes", xmlrpc_int((int32_t)(ni.nodes ? ni.nodes : 1)));
    xmlrpc_struct_set(r, "sockets", xmlrpc_int((int32_t)(ni.sockets ? ni.sockets : 1)));
    xmlrpc_struct_set(r, "cores", xmlrpc_int((int32_t)(ni.cores ? ni.cores : ni.cpus)));
    xmlrpc_struct_set(r, "threads", xmlrpc_int((int32_t)(ni.threads ? ni.threads : 1)));
    xmlrpc_struct_set(r, "memory", xmlrpc_i8((int64_t)ni.memory_kib));
    xmlrpc_struct_set(r, "free_memory", xmlrpc_i8((int64_t)ni.free_kib));
    xmlrpc_struct_set(r, "hypervisor", xmlrpc_string(ni.hypervisor));
    xmlrpc_struct_set(r, "hypervisor_version", xmlrpc_string(ni.hv_version));
    xmlrpc_struct_set(r, "accel", xmlrpc_string(ni.accel));
    xmlrpc_struct_set(r, "arch", xmlrpc_string(ni.arch));
    xmlrpc_struct_set(r, "driver", xmlrpc_string(ctx->driver->name));
    xmlrpc_struct_set(r, "domains", xmlrpc_int((int32_t)api_ctx_domain_count(ctx)));
    return r;
}

xmlrpc_value *api_node_dmesg(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    bool clear = api_arg_bool(params, 0, false);
    if (clear && caller->max_access < XMLRPC_ACCESS_WRITE) {
        xend_error_report(XEND_ERR_ACCESS_DENIED,
                          "clearing the console ring needs write access; this connection "
                          "only allows %s access",
                          xmlrpc_access_name(caller->max_access));
        return NULL;
    }
    if (api_require_driver(ctx, (const void *)ctx->driver->node_dmesg, "read the console ring") <
        0)
        return NULL;
    char *text = ctx->driver->node_dmesg(ctx->driver_priv, clear);
    return text ? xmlrpc_string_take(text) : NULL;
}

xmlrpc_value *api_node_log(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    int64_t lines = api_arg_int(params, 0, 0);
    if (lines < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "the number of lines must not be negative");
        return NULL;
    }
    return xmlrpc_string_take(xend_log_tail(lines > 1000000 ? 1000000 : (unsigned)lines));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define EVENT_TIMEOUT_MAX_MS 60000

xmlrpc_value *api_event_next(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    int64_t since = api_arg_int(params, 0, 0);
    int64_t timeout = api_arg_int(params, 1, 0);
    if (since < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "the event id must not be negative");
        return NULL;
    }
    if (timeout < 0 || timeout > EVENT_TIMEOUT_MAX_MS) {
        xend_error_report(XEND_ERR_INVALID_ARG, "timeout_ms must be between 0 and %d",
                          EVENT_TIMEOUT_MAX_MS);
        return NULL;
    }
    xmlrpc_value *events = event_ring_since(ctx->events, (uint64_t)since, EVENT_NEXT_MAX);
    if (!events)
        return NULL;
    if (xmlrpc_array_size(events) == 0 && timeout > 0 && caller->can_defer) {
        int64_t deadline = caller->first_ms + timeout;
        if (now_ms() < deadline) {
            xmlrpc_value_free(events);
            caller->wake_ms = deadline;
            return XMLRPC_DEFERRED;
        }
    }
    size_t n = xmlrpc_array_size(events);
    int64_t last = since;
    if (n) {
        const xmlrpc_value *id = xmlrpc_struct_get(xmlrpc_array_get(events, n - 1), "id");
        if (id)
            last = id->u.i;
    }
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "events", events);
    xmlrpc_struct_set(r, "last_id", xmlrpc_i8(last));
    return r;
}

xmlrpc_value *api_event_current_id(xmlrpc_caller *caller, const xmlrpc_value *params,
                                   void *data)
{
    (void)params;
    (void)data;
    return xmlrpc_i8((int64_t)event_ring_current_id(api_ctx_of(caller)->events));
}

/* ---- migration transport ---- */

static size_t curl_collect(char *p, size_t size, size_t n, void *opaque)
{
    xbuf *b = opaque;
    if (b->len + size * n > (64u << 20))
        return 0; /* a reply this large is not a xend's */
    xbuf_add(b, p, size * n);
    return size * n;
}

typedef struct {
    api_ctx *ctx;
    domain_obj *dom;
} migrate_watch;

/* libcurl calls this at least once a second, also while waiting: stop on job_abort or when
 * the daemon stops, so neither waits for a silent destination's timeout. */
static int migrate_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    migrate_watch *w = opaque;
    if (ultotal > 0)
        __atomic_store_n(&w->dom->job_done, (uint64_t)ulnow, __ATOMIC_RELAXED);
    return api_job_should_stop(w->ctx, w->dom) ? 1 : 0;
}

int api_migrate_send(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                     const void *state, size_t len, bool paused)
{
    char *url = NULL, *socket_path = NULL;
    /* httpu:// is Xen's name for HTTP over a Unix socket: the same as unix:// here. */
    const char *unix_path = strncmp(uri, "unix://", 7) == 0    ? uri + 7
                            : strncmp(uri, "httpu://", 8) == 0 ? uri + 8
                                                               : NULL;
    if (unix_path) {
        socket_path = xstrdup(unix_path);
        url = xstrdup("http://localhost/RPC2");
    } else if (strncmp(uri, "http://", 7) == 0) {
        url = xstrdup(uri);
    } else {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "unsupported destination '%s' (use unix:///path, httpu:///path or "
                          "http://host:port/)",
                          uri);
        return -1;
    }
    xbuf xml = XBUF_INIT, body = XBUF_INIT, reply = XBUF_INIT;
    domain_xml_format(def, &xml, 0);
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, xmlrpc_string(xml.data));
    xmlrpc_array_append(params, xmlrpc_base64(state, len));
    xmlrpc_array_append(params, xmlrpc_bool(paused));
    int rc = xmlrpc_encode_call(&body, "domain.migrate_receive", params);
    xmlrpc_value_free(params);
    xbuf_clear(&xml);

    CURL *curl = rc == 0 ? curl_easy_init() : NULL;
    if (rc == 0 && !curl) {
        xend_error_report(XEND_ERR_INTERNAL, "cannot initialise libcurl");
        rc = -1;
    }
    if (curl) {
        struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: text/xml");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        if (socket_path)
            curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 120000L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        migrate_watch watch = {ctx, dom};
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, migrate_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &watch);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        domain_obj_lock(dom);
        dom->job_total = body.len; /* makes the job abortable and its progress visible */
        dom->job_done = 0;
        domain_obj_unlock(dom);
        CURLcode cc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_ABORTED_BY_CALLBACK) {
            xend_error_report(XEND_ERR_OPERATION_ABORTED, "migration of domain '%s' to '%s' %s",
                              def->name, uri,
                              api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                    : "was aborted");
            rc = -1;
        } else if (cc != CURLE_OK) {
            xend_error_report(XEND_ERR_NO_HOST, "cannot reach the destination '%s': %s", uri,
                              curl_easy_strerror(cc));
            rc = -1;
        } else if (status != 200) {
            xend_error_report(XEND_ERR_NO_HOST,
                              "the destination '%s' is not a xend (HTTP status %ld)", uri,
                              status);
            rc = -1;
        } else {
            xmlrpc_decoder *dec = xmlrpc_decoder_new(NULL);
            xmlrpc_response resp;
            memset(&resp, 0, sizeof(resp));
            if (xmlrpc_decode_response(dec, reply.data ? reply.data : "", reply.len, &resp) <
                0) {
                xend_error_report(XEND_ERR_NO_HOST,
                                  "the destination '%s' did not answer as a xend", uri);
                rc = -1;
            } else if (resp.is_fault) {
                /* Pass the destination's fault on when it is one of ours (a newer xend
                 * may send codes this one does not know: those become GENERIC). */
                int code = resp.fault_code > 0 && xend_error_lookup(resp.fault_code)
                               ? resp.fault_code
                               : XEND_ERR_GENERIC;
                /* "No such domain" there must not read as "no such domain" here. */
                if (code == XEND_ERR_NO_DOMAIN)
                    code = XEND_ERR_GENERIC;
                xend_error_report(code, "destination '%s': %s", uri, resp.fault_string);
                rc = -1;
            }
            xmlrpc_response_clear(&resp);
            xmlrpc_decoder_free(dec);
        }
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
    }
    xbuf_clear(&body);
    xbuf_clear(&reply);
    free(url);
    free(socket_path);
    return rc;
}
