/*
 * Handlers of the host and event methods (node.info, node.dmesg, node.log, event.next,
 * event.current_id).
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
