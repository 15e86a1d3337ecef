/*
 * Migration between xend daemons: the destination's methods and the transport the source's
 * driver uses to call them.
 *
 * Two protocols share the transport (one XML-RPC call over HTTP, through libcurl, to a
 * unix://, httpu:// or http:// URI):
 *  - domain.migrate_receive: one call carries the guest's whole state (the simulated
 *    driver's); the destination starts the guest in the same call.
 *  - domain.migrate_prepare / domain.migrate_finish: for drivers whose guests travel as a
 *    stream of their own (QEMU's). prepare makes the destination start an instance that
 *    waits for the stream and answers where to send it; the source's driver sends it;
 *    finish tells the destination the outcome: start the guest, or discard it. Between
 *    the two calls the domain exists on the destination, inactive, with the driver's
 *    instance in dom->priv and its disks claimed; no job is held (the driver's event
 *    worker may need it: an instance that dies meanwhile is cleaned up through
 *    api_domain_stopped like any guest). finish(ok=false) by hand discards a migration
 *    whose source went away.
 * Both destination sides create the domain as a restore does (api_domain_incoming): a
 * persistent domain of the same name and uuid receives the guest, otherwise it arrives as a
 * transient one.
 */
#include "api_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "xmlrpc/codec.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a destination may answer; a xend's replies to these calls are a few KiB. */
#define MIGRATE_REPLY_MAX (64u << 20)
#define MIGRATE_URI_MAX 512

/* ---- the transport ---- */

static size_t curl_collect(char *p, size_t size, size_t n, void *opaque)
{
    xbuf *b = opaque;
    if (b->len + size * n > MIGRATE_REPLY_MAX)
        return 0; /* a reply this large is not a xend's */
    xbuf_add(b, p, size * n);
    return size * n;
}

typedef struct {
    api_ctx *ctx;
    domain_obj *dom;
    bool abortable;       /* stop on job_abort or when the daemon stops */
    bool upload_progress; /* the request body is the job's work (migrate_receive) */
} migrate_watch;

/* libcurl calls this at least once a second, also while waiting: stop on job_abort or when
 * the daemon stops, so neither waits for a silent destination's timeout. */
static int migrate_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    migrate_watch *w = opaque;
    if (w->upload_progress && ultotal > 0)
        __atomic_store_n(&w->dom->job_done, (uint64_t)ulnow, __ATOMIC_RELAXED);
    return w->abortable && api_job_should_stop(w->ctx, w->dom) ? 1 : 0;
}

/* Call method with params (taken) on the xend at uri for dom's job (object lock not held).
 * what names the operation in messages ("migration of domain 'web'"). On success *result
 * (if not NULL) is the reply value (caller frees). 0, or -1 reported: INVALID_ARG for an
 * unsupported URI, OPERATION_ABORTED, NO_HOST, or the destination's fault. */
static int migrate_call(api_ctx *ctx, domain_obj *dom, const char *uri, const char *method,
                        xmlrpc_value *params, const migrate_watch *how, long timeout_ms,
                        const char *what, xmlrpc_value **result)
{
    if (result)
        *result = NULL;
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
        xmlrpc_value_free(params);
        return -1;
    }
    xbuf body = XBUF_INIT, reply = XBUF_INIT;
    int rc = xmlrpc_encode_call(&body, method, params);
    xmlrpc_value_free(params);

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
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        migrate_watch watch = *how;
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, migrate_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &watch);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        if (how->upload_progress) {
            domain_obj_lock(dom);
            dom->job_total = body.len; /* makes the job abortable and its progress visible */
            dom->job_done = 0;
            domain_obj_unlock(dom);
        }
        CURLcode cc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_ABORTED_BY_CALLBACK) {
            xend_error_report(XEND_ERR_OPERATION_ABORTED, "%s to '%s' %s", what, uri,
                              api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                    : "was aborted");
            rc = -1;
        } else if (cc != CURLE_OK) {
            xend_error_report(XEND_ERR_NO_HOST, "cannot reach the destination '%s': %s", uri,
                              curl_easy_strerror(cc));
            rc = -1;
        } else if (status != 200) {
            xend_error_report(XEND_ERR_NO_HOST,
                              "the destination '%s' is not a xend (HTTP status %ld)", uri, status);
            rc = -1;
        } else {
            xmlrpc_decoder *dec = xmlrpc_decoder_new(NULL);
            xmlrpc_response resp;
            memset(&resp, 0, sizeof(resp));
            if (xmlrpc_decode_response(dec, reply.data ? reply.data : "", reply.len, &resp) < 0) {
                xend_error_report(XEND_ERR_NO_HOST, "the destination '%s' did not answer as a xend",
                                  uri);
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
            } else if (result) {
                *result = resp.result;
                resp.result = NULL;
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

static char *migrate_what(const domain_def *def)
{
    size_t n = strlen(def->name) + 32;
    char *s = xmalloc(n);
    snprintf(s, n, "migration of domain '%s'", def->name);
    return s;
}

int api_migrate_send(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                     const void *state, size_t len, bool paused)
{
    xbuf xml = XBUF_INIT;
    domain_xml_format(def, &xml, 0);
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, xmlrpc_string(xml.data ? xml.data : ""));
    xmlrpc_array_append(params, xmlrpc_base64(state, len));
    xmlrpc_array_append(params, xmlrpc_bool(paused));
    xbuf_clear(&xml);
    char *what = migrate_what(def);
    migrate_watch how = {ctx, dom, true, true};
    int rc =
        migrate_call(ctx, dom, uri, "domain.migrate_receive", params, &how, 120000L, what, NULL);
    free(what);
    return rc;
}

int api_migrate_prepare(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                        const void *state, size_t len, char **dest_uri)
{
    *dest_uri = NULL;
    xbuf xml = XBUF_INIT;
    domain_xml_format(def, &xml, 0);
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, xmlrpc_string(xml.data ? xml.data : ""));
    xmlrpc_array_append(params, xmlrpc_base64(state, len));
    xbuf_clear(&xml);
    char *what = migrate_what(def);
    /* Not abortable: the destination may have started its instance by the time an abort
     * cut the call, and only an answer says so. The driver checks for an abort next. */
    migrate_watch how = {ctx, dom, false, false};
    xmlrpc_value *res = NULL;
    int rc =
        migrate_call(ctx, dom, uri, "domain.migrate_prepare", params, &how, 120000L, what, &res);
    free(what);
    if (rc < 0)
        return -1;
    const xmlrpc_value *u =
        res && res->type == XMLRPC_STRUCT ? xmlrpc_struct_get(res, "uri") : NULL;
    if (!u || u->type != XMLRPC_STRING || u->u.s.len == 0 || u->u.s.len > MIGRATE_URI_MAX ||
        strlen(u->u.s.ptr) != u->u.s.len) {
        xend_error_report(XEND_ERR_NO_HOST,
                          "the destination '%s' answered domain.migrate_prepare without a "
                          "stream address",
                          uri);
        xmlrpc_value_free(res);
        return -1;
    }
    *dest_uri = xstrdup(u->u.s.ptr);
    xmlrpc_value_free(res);
    return 0;
}

int api_migrate_finish(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                       bool ok, bool paused, const void *state, size_t len)
{
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);
    xmlrpc_value *params = xmlrpc_array();
    /* By uuid: the name is the one thing a user on the destination could change. */
    xmlrpc_array_append(params, xmlrpc_string(uuid));
    xmlrpc_array_append(params, xmlrpc_bool(ok));
    xmlrpc_array_append(params, xmlrpc_bool(paused));
    xmlrpc_array_append(params, xmlrpc_base64(state, len));
    char *what = migrate_what(def);
    /* Not abortable: once the stream is across, only the destination's answer tells
     * whether the guest runs there. */
    migrate_watch how = {ctx, dom, false, false};
    int rc =
        migrate_call(ctx, dom, uri, "domain.migrate_finish", params, &how, 120000L, what, NULL);
    free(what);
    return rc;
}

/* ---- the destination ---- */

/* A guest arriving here: its domain (found or created) locked with the job, the arriving
 * definition live, its disks claimed. */
typedef struct {
    domain_obj *dom;
    bool created;
    size_t claimed; /* disks 0..claimed-1 are claimed */
} incoming;

/* Undo incoming_begin after a failure (object lock + job held). */
static void incoming_undo(api_ctx *ctx, incoming *in)
{
    domain_obj *dom = in->dom;
    for (size_t i = 0; i < in->claimed; i++)
        api_disk_release(&dom->def->disks[i]);
    in->claimed = 0;
    if (dom->next_def) {
        domain_def_free(dom->def);
        dom->def = dom->next_def;
        dom->next_def = NULL;
    }
    if (dom->id >= 0)
        api_domain_release_id(ctx, dom);
    if (in->created)
        api_domain_remove(ctx, dom);
    in->created = false;
}

/* Parse and check xml, find or create the domain with job, install the definition, claim
 * the disks. 0 with in->dom locked and the job held; -1 reported with everything undone
 * but the job: in->dom is NULL, or set, locked with the job held (the caller ends it). */
static int incoming_begin(api_ctx *ctx, const char *xml, const char *job, incoming *in)
{
    memset(in, 0, sizeof(*in));
    domain_def *def = domain_xml_parse(xml, strlen(xml), NULL);
    if (!def)
        return -1;
    if (api_domain_check_host(ctx, def, NULL) < 0) {
        domain_def_free(def);
        return -1;
    }
    domain_obj *dom = api_domain_incoming(ctx, def, job, &in->created);
    if (!dom) {
        domain_def_free(def);
        return -1;
    }
    in->dom = dom;
    if (domain_state_is_active(dom->state)) {
        xend_error_report(XEND_ERR_DOMAIN_EXISTS, "domain '%s' is already running here", def->name);
        domain_def_free(def);
        return -1;
    }
    if (dom->priv) {
        xend_error_report(XEND_ERR_DOMAIN_EXISTS,
                          "a migration of domain '%s' is already arriving here", def->name);
        domain_def_free(def);
        return -1;
    }
    /* The guest runs with the definition it brought; a persistent domain keeps its stored
     * configuration for the next boot. */
    if (dom->persistent) {
        dom->next_def = dom->def;
        dom->def = def;
    } else {
        domain_def_free(dom->def);
        dom->def = def;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < dom->def->ndisks; i++)
        rc = api_disk_check_access(&dom->def->disks[i]);
    while (rc == 0 && in->claimed < dom->def->ndisks) {
        if (api_disk_claim(&dom->def->disks[in->claimed], dom->def->name) < 0)
            rc = -1;
        else
            in->claimed++;
    }
    if (rc < 0)
        incoming_undo(ctx, in);
    return rc;
}

xmlrpc_value *api_domain_migrate_receive(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const xmlrpc_value *state = api_arg(params, 1);
    if (api_require_driver(ctx, (const void *)ctx->driver->domain_migrate_incoming,
                           "receive migrations") < 0)
        return NULL;
    incoming in;
    if (incoming_begin(ctx, api_arg_string(params, 0), "domain.migrate_receive", &in) < 0)
        return in.dom ? api_dom_end(ctx, in.dom, -1, false) : NULL;
    domain_obj *dom = in.dom;
    int rc = ctx->driver->domain_migrate_incoming(ctx, dom, state->u.s.ptr, state->u.s.len,
                                                  api_arg_bool(params, 2, false));
    if (rc == 0) {
        dom->start_time = time(NULL);
        api_domain_save_status(ctx, dom);
    } else {
        incoming_undo(ctx, &in);
    }
    return api_dom_end(ctx, dom, rc, true);
}

/* Where the destination's instance listens for the stream: the daemon's own TCP listen
 * address when the call came over TCP (the source reached it there), else loopback
 * (NULL). A wildcard address stays a wildcard: the source substitutes the host it
 * called. Caller frees. */
static char *migrate_listen_host(xmlrpc_caller *caller)
{
    api_ctx *ctx = api_ctx_of(caller);
    if (!caller->transport || strcmp(caller->transport, "tcp") != 0)
        return NULL;
    pthread_mutex_lock(&ctx->self_lock);
    char *host = ctx->self_tcp_address ? xstrdup(ctx->self_tcp_address) : NULL;
    pthread_mutex_unlock(&ctx->self_lock);
    return host;
}

xmlrpc_value *api_domain_migrate_prepare(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const xmlrpc_value *state = api_arg(params, 1);
    if (api_require_driver(ctx,
                           ctx->driver->domain_migrate_prepare && ctx->driver->domain_migrate_finish
                               ? (const void *)ctx->driver->domain_migrate_prepare
                               : NULL,
                           "receive migrations in phases (domain.migrate_prepare)") < 0)
        return NULL;
    incoming in;
    if (incoming_begin(ctx, api_arg_string(params, 0), "domain.migrate_prepare", &in) < 0)
        return in.dom ? api_dom_end(ctx, in.dom, -1, false) : NULL;
    domain_obj *dom = in.dom;
    char *listen_host = migrate_listen_host(caller);
    char *uri = NULL;
    int rc = ctx->driver->domain_migrate_prepare(ctx, dom, state->u.s.ptr, state->u.s.len,
                                                 listen_host, &uri);
    free(listen_host);
    if (rc < 0) {
        incoming_undo(ctx, &in);
        return api_dom_end(ctx, dom, -1, false);
    }
    char uuid[37];
    domain_uuid_format(dom->def->uuid, uuid);
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "uri", xmlrpc_string_take(uri));
    xmlrpc_struct_set(r, "name", xmlrpc_string(dom->def->name));
    xmlrpc_struct_set(r, "uuid", xmlrpc_string(uuid));
    log_info("migration of domain '%s' prepared: waiting for its stream", dom->def->name);
    xmlrpc_value_free(api_dom_end(ctx, dom, 0, false));
    return r;
}

xmlrpc_value *api_domain_migrate_finish(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    bool ok = api_arg_bool(params, 1, false);
    if (api_require_driver(ctx, (const void *)ctx->driver->domain_migrate_finish,
                           "receive migrations in phases (domain.migrate_finish)") < 0)
        return NULL;
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.migrate_finish");
    if (!dom)
        return NULL;
    /* Only a prepared migration leaves an inactive domain with a driver instance. */
    if (domain_state_is_active(dom->state) || !dom->priv) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "no migration of domain '%s' is arriving here (it is %s)", dom->def->name,
                          domain_state_name(dom->state));
        return api_dom_end(ctx, dom, -1, false);
    }
    incoming in = {dom, !dom->persistent, dom->def->ndisks};
    const xmlrpc_value *state = api_arg(params, 3);
    int rc = ctx->driver->domain_migrate_finish(ctx, dom, ok, api_arg_bool(params, 2, false),
                                                state->u.s.ptr, state->u.s.len);
    if (rc == 0 && ok) {
        dom->start_time = time(NULL);
        api_domain_save_status(ctx, dom);
        log_info("migration of domain '%s' arrived", dom->def->name);
    } else {
        /* A guest that was never started has no events to post: it just goes. */
        log_info("migration of domain '%s' %s", dom->def->name,
                 ok ? "failed at the destination" : "was called off by its source");
        incoming_undo(ctx, &in);
    }
    return api_dom_end(ctx, dom, rc, true);
}
