/*
 * The Xend 3.x compatibility namespace (xend.*): the legacy XML-RPC calls Xen's xm and
 * scripts made to Xend 3.0.3/3.0.4 (reference/xend-xm.md §1.2), with their
 * S-expression-as-nested-arrays results and Xend's three fault codes: 3 with the faultString
 * exactly the dom the caller gave (xm prints "Error: Domain '<it>' does not exist."), 1 for
 * an internal error, 2 for everything else with the v1 message. Every method is a thin
 * adapter: it translates the arguments, calls the v1 handler (api_domain*.c, api_node.c) so
 * the semantics, locking, jobs and events are exactly those of the v1 API, and translates
 * the result and the error back. Only reads that have no v1 equivalent in Xend's shape (the
 * domain sxp, device lists) look at the domain objects directly, under the object lock.
 *
 * sxp atoms are written as strings, as Xend's fixup_sxpr did to keep big numbers out of
 * 32-bit <int>; clients (xm) convert them with int()/float() anyway.
 */
#include "api_priv.h"

#include "config.h"
#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "util/alloc.h"
#include "util/devnum.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

typedef xmlrpc_value *(*api_compat_v1_fn)(xmlrpc_caller *caller, const xmlrpc_value *params,
                                          void *data);

/* Xend's relocation clients named a host; xend's migration endpoint is its XML-RPC port. */
#define API_COMPAT_MIGRATE_PORT 8006
/* Disk targets that are no Linux device name get this plus their position as devid, far
 * from every real virtual-device number (the largest, xvd ext, is below 2^28 + 2^20). */
#define API_COMPAT_DEVID_OTHER (1L << 29)

/* ---- errors and calls into v1 ---- */

/* Re-report the error a v1 handler left with Xend's codes: NO_DOMAIN becomes 3 whose text
 * is the caller's dom (when the call named one), INTERNAL stays 1, anything else becomes
 * GENERIC (2) with the same message. */
static void api_compat_error_remap(const char *dom)
{
    const xend_error *e = xend_error_last();
    if (e->code == XEND_ERR_NO_DOMAIN && dom) {
        xend_error_report(XEND_ERR_NO_DOMAIN, "%s", dom);
        return;
    }
    if (e->code == XEND_ERR_INTERNAL || e->code == XEND_ERR_GENERIC ||
        e->code == XEND_ERR_NO_DOMAIN)
        return;
    if (e->code == 0) {
        xend_error_report(XEND_ERR_INTERNAL, "the operation failed without saying why");
        return;
    }
    /* The message lives in the buffer the new report writes: copy it first. */
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    xend_error_report(XEND_ERR_GENERIC, "%s", msg);
}

/* A params array from values (taken), NULL-terminated. */
static xmlrpc_value *api_compat_args(xmlrpc_value *first, ...)
{
    xmlrpc_value *a = xmlrpc_array();
    va_list ap;
    va_start(ap, first);
    for (xmlrpc_value *v = first; v; v = va_arg(ap, xmlrpc_value *))
        xmlrpc_array_append(a, v);
    va_end(ap);
    return a;
}

/* Call a v1 handler with args (taken). The result (caller frees), or NULL with the error
 * remapped for dom (may be NULL when the call names no domain). */
static xmlrpc_value *api_compat_v1(xmlrpc_caller *caller, api_compat_v1_fn fn, xmlrpc_value *args,
                                   const char *dom)
{
    xmlrpc_value *r = fn(caller, args, NULL);
    xmlrpc_value_free(args);
    if (!r)
        api_compat_error_remap(dom);
    return r;
}

/* Xend's void methods answered <nil/> (allow_none). Takes r. */
static xmlrpc_value *api_compat_nil(xmlrpc_value *r)
{
    if (!r)
        return NULL;
    xmlrpc_value_free(r);
    return xmlrpc_nil();
}

/* Xend's pincpu and maxmem_set passed libxc's return code through: 0 on success. */
static xmlrpc_value *api_compat_rc(xmlrpc_value *r)
{
    if (!r)
        return NULL;
    xmlrpc_value_free(r);
    return xmlrpc_int(0);
}

/* Find dom for a read; NULL with Xend's fault 3. The caller unlocks and unrefs. */
static domain_obj *api_compat_find(api_ctx *ctx, const char *dom)
{
    domain_obj *obj = api_domain_find(ctx, dom);
    if (!obj) {
        api_compat_error_remap(dom);
        return NULL;
    }
    domain_obj_lock(obj);
    return obj;
}

static void api_compat_release(domain_obj *obj)
{
    domain_obj_unlock(obj);
    domain_obj_unref(obj);
}

/* ---- arguments ---- */

/* A string-or-int argument as text: Xend took dom as a name or a numeric id, and device
 * ids as numbers or names, sent as strings or ints (the signatures allow both where they
 * fit). */
static const char *api_compat_arg_text(const xmlrpc_value *params, size_t i, char buf[24])
{
    const xmlrpc_value *v = api_arg(params, i);
    if (v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8)) {
        snprintf(buf, 24, "%" PRId64, v->u.i);
        return buf;
    }
    return v && v->type == XMLRPC_STRING ? v->u.s.ptr : "";
}

/* A flag Python clients sent as True/False or as 0/1. */
static bool api_compat_flag(const xmlrpc_value *params, size_t i, bool dflt)
{
    const xmlrpc_value *v = api_arg(params, i);
    if (v && v->type == XMLRPC_BOOL)
        return v->u.b;
    if (v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8))
        return v->u.i != 0;
    return dflt;
}

/* ---- the domain sxp ---- */

/* Xend's power states (XendConstants, X3.0.4), the numbers xend.domains_with_state takes. */
typedef enum {
    API_COMPAT_POWER_HALTED,
    API_COMPAT_POWER_PAUSED,
    API_COMPAT_POWER_RUNNING,
    API_COMPAT_POWER_SUSPENDED,
    API_COMPAT_POWER_SHUTTINGDOWN,
    API_COMPAT_POWER_UNKNOWN,
    API_COMPAT_POWER_LAST
} api_compat_power;

static const char *const api_compat_power_names[API_COMPAT_POWER_LAST] = {
    "halted", "paused", "running", "suspended", "shuttingdown", "unknown"};

static api_compat_power api_compat_power_of(domain_state s)
{
    switch (s) {
    case DOMAIN_STATE_RUNNING:
    case DOMAIN_STATE_BLOCKED:
        return API_COMPAT_POWER_RUNNING;
    case DOMAIN_STATE_PAUSED:
        return API_COMPAT_POWER_PAUSED;
    case DOMAIN_STATE_SHUTDOWN:
        return API_COMPAT_POWER_SHUTTINGDOWN;
    case DOMAIN_STATE_SHUTOFF:
    case DOMAIN_STATE_CRASHED: /* inactive: nothing of it runs any more */
        return API_COMPAT_POWER_HALTED;
    case DOMAIN_STATE_SUSPENDED:
        return API_COMPAT_POWER_SUSPENDED;
    case DOMAIN_STATE_LAST:
        break;
    }
    return API_COMPAT_POWER_UNKNOWN;
}

/* Xend's shutdown_reason for a domain that stopped, NULL when it has none. */
static const char *api_compat_shutdown_reason(const domain_obj *obj)
{
    if (obj->state == DOMAIN_STATE_SUSPENDED)
        return "suspend";
    if (obj->state == DOMAIN_STATE_CRASHED)
        return "crash";
    if (obj->state != DOMAIN_STATE_SHUTOFF)
        return NULL;
    switch (obj->reason) {
    case DOMAIN_REASON_SHUTDOWN:
        return "poweroff";
    case DOMAIN_REASON_SAVED:
        return "suspend";
    case DOMAIN_REASON_CRASHED:
    case DOMAIN_REASON_PANICKED:
        return "crash";
    default:
        return NULL;
    }
}

/* Drop the top-level (key ...) pairs of list: Xend's fixup_sxpr removed vcpu_avail. */
static void api_compat_sxp_drop(xmlrpc_value *list, const char *key)
{
    size_t kept = 1;
    for (size_t i = 1; i < list->u.a.n; i++) {
        xmlrpc_value *item = list->u.a.items[i];
        const char *name = sxp_name(item);
        if (name && strcmp(name, key) == 0)
            xmlrpc_value_free(item);
        else
            list->u.a.items[kept++] = item;
    }
    list->u.a.n = kept;
}

/* The (domain ...) record of xend.domain (object lock held). */
static xmlrpc_value *api_compat_domain_sxp(api_ctx *ctx, domain_obj *obj)
{
    bool active = domain_state_is_active(obj->state);
    domain_sxp_runtime rt;
    memset(&rt, 0, sizeof(rt));
    rt.domid = active ? obj->id : -1;
    rt.state = domain_state_flags(obj->state);
    rt.cpu_time = 0;
    if (active && !obj->is_host && ctx->driver->domain_cpu_time)
        rt.cpu_time = (double)ctx->driver->domain_cpu_time(ctx, obj) / 1e9;
    rt.online_vcpus = obj->def->vcpus_current;
    rt.up_time = -1;
    rt.start_time = -1;
    if (active && obj->start_time > 0) {
        time_t now = time(NULL);
        rt.start_time = (double)obj->start_time;
        rt.up_time = now > obj->start_time ? (double)(now - obj->start_time) : 0;
    }
    rt.shutdown_reason = api_compat_shutdown_reason(obj);
    xmlrpc_value *sxp = domain_sxp_format(obj->def, &rt);
    api_compat_sxp_drop(sxp, "vcpu_avail");
    return sxp;
}

/* The sxp of the domain with this uuid (a v1 row's), for the methods that return it. */
static xmlrpc_value *api_compat_sxp_by_row(xmlrpc_caller *caller, xmlrpc_value *row)
{
    if (!row)
        return NULL;
    const xmlrpc_value *uuid = xmlrpc_struct_get(row, "uuid");
    domain_obj *obj = uuid && uuid->type == XMLRPC_STRING
                          ? api_domain_find(api_ctx_of(caller), uuid->u.s.ptr)
                          : NULL;
    xmlrpc_value_free(row);
    if (!obj) {
        /* It went away between the call and here (a racing destroy); Xend's own lookup
         * would have failed the same way. */
        xend_error_report(XEND_ERR_GENERIC, "the domain disappeared before it could be read");
        return NULL;
    }
    domain_obj_lock(obj);
    xmlrpc_value *sxp = api_compat_domain_sxp(api_ctx_of(caller), obj);
    api_compat_release(obj);
    return sxp;
}

/* ---- listing ---- */

typedef struct {
    char *name;
    xmlrpc_value *value; /* the name or the sxp */
} api_compat_entry;

typedef struct {
    api_ctx *ctx;
    int power; /* -1 = all */
    bool detail;
    api_compat_entry *items;
    size_t n, cap;
} api_compat_list;

static void api_compat_list_cb(domain_obj *obj, void *opaque)
{
    api_compat_list *l = opaque;
    if (obj->removed)
        return;
    if (l->power >= 0 && (int)api_compat_power_of(obj->state) != l->power)
        return;
    l->items = xgrow(l->items, &l->cap, l->n + 1, sizeof(*l->items));
    api_compat_entry *e = &l->items[l->n++];
    e->name = xstrdup(obj->def->name);
    e->value = l->detail ? api_compat_domain_sxp(l->ctx, obj) : xmlrpc_string(obj->def->name);
}

static int api_compat_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const api_compat_entry *)a)->name, ((const api_compat_entry *)b)->name);
}

/* Xend's list_sorted: the domains in one power state (or all), sorted by name bytewise. */
static xmlrpc_value *api_compat_list_domains(xmlrpc_caller *caller, int power, bool detail)
{
    api_compat_list l = {api_ctx_of(caller), power, detail, NULL, 0, 0};
    api_domain_foreach(l.ctx, api_compat_list_cb, &l);
    if (l.n)
        qsort(l.items, l.n, sizeof(*l.items), api_compat_entry_cmp);
    xmlrpc_value *out = xmlrpc_array();
    for (size_t i = 0; i < l.n; i++) {
        xmlrpc_array_append(out, l.items[i].value);
        free(l.items[i].name);
    }
    free(l.items);
    return out;
}

xmlrpc_value *api_compat_domains(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    return api_compat_list_domains(caller, API_COMPAT_POWER_RUNNING,
                                   api_compat_flag(params, 0, true));
}

xmlrpc_value *api_compat_domains_with_state(xmlrpc_caller *caller, const xmlrpc_value *params,
                                            void *data)
{
    (void)data;
    const xmlrpc_value *state = api_arg(params, 1);
    int power = -1;
    if (state->type == XMLRPC_STRING) {
        if (strcmp(state->u.s.ptr, "all") != 0) {
            for (int p = 0; p < API_COMPAT_POWER_LAST && power < 0; p++)
                if (strcmp(state->u.s.ptr, api_compat_power_names[p]) == 0)
                    power = p;
            if (power < 0) {
                xend_error_report(XEND_ERR_GENERIC,
                                  "Invalid state '%.64s' (all, halted, paused, running, "
                                  "suspended, shuttingdown, unknown, or 0 to 5)",
                                  state->u.s.ptr);
                return NULL;
            }
        }
    } else {
        if (state->u.i < 0 || state->u.i >= API_COMPAT_POWER_LAST) {
            xend_error_report(XEND_ERR_GENERIC,
                              "Invalid state %" PRId64 " (0 halted, 1 paused, 2 running, "
                              "3 suspended, 4 shuttingdown, 5 unknown, or 'all')",
                              state->u.i);
            return NULL;
        }
        power = (int)state->u.i;
    }
    return api_compat_list_domains(caller, power, api_compat_flag(params, 0, true));
}

xmlrpc_value *api_compat_domain(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    char buf[24];
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *obj = api_compat_find(ctx, api_compat_arg_text(params, 0, buf));
    if (!obj)
        return NULL;
    xmlrpc_value *sxp = api_compat_domain_sxp(ctx, obj);
    api_compat_release(obj);
    return sxp;
}

/* ---- create, define, lifecycle ---- */

/* The sxp config as domain XML for the v1 handlers, which validate it once more and check
 * it against the host. NULL with CONFIG_INVALID reported as 2. */
static char *api_compat_config_xml(const xmlrpc_value *config)
{
    domain_def *def = domain_sxp_parse(config);
    if (!def) {
        api_compat_error_remap(NULL);
        return NULL;
    }
    xbuf out = XBUF_INIT;
    domain_xml_format(def, &out, 0);
    domain_def_free(def);
    return xbuf_steal(&out, NULL);
}

xmlrpc_value *api_compat_domain_create(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    char *xml = api_compat_config_xml(api_arg(params, 0));
    if (!xml)
        return NULL;
    /* Xend created the domain paused; xm then waited for its devices and unpaused it. */
    xmlrpc_value *flags = xmlrpc_struct();
    xmlrpc_struct_set(flags, "paused", xmlrpc_bool(true));
    xmlrpc_value *row = api_compat_v1(caller, api_domain_create,
                                      api_compat_args(xmlrpc_string_take(xml), flags, NULL), NULL);
    return api_compat_sxp_by_row(caller, row);
}

xmlrpc_value *api_compat_domain_new(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    char *xml = api_compat_config_xml(api_arg(params, 0));
    if (!xml)
        return NULL;
    return api_compat_nil(api_compat_v1(caller, api_domain_define,
                                        api_compat_args(xmlrpc_string_take(xml), NULL), NULL));
}

/* The many methods that take only dom and map onto one v1 handler. */
static xmlrpc_value *api_compat_dom_call(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         api_compat_v1_fn fn)
{
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    return api_compat_nil(
        api_compat_v1(caller, fn, api_compat_args(xmlrpc_string(dom), NULL), dom));
}

xmlrpc_value *api_compat_domain_start(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    const char *dom = api_arg_string(params, 0);
    /* Xend's domain_start defaulted to start_paused=True. */
    bool paused = api_compat_flag(params, 1, true);
    return api_compat_nil(
        api_compat_v1(caller, api_domain_start,
                      api_compat_args(xmlrpc_string(dom), xmlrpc_bool(paused), NULL), dom));
}

xmlrpc_value *api_compat_domain_delete(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    const char *dom = api_arg_string(params, 0);
    /* v1 undefine turns a running domain transient; Xend refused to delete one that was not
     * halted, and old scripts rely on that refusal. */
    domain_obj *obj = api_compat_find(api_ctx_of(caller), dom);
    if (!obj)
        return NULL;
    bool active = domain_state_is_active(obj->state);
    api_compat_release(obj);
    if (active) {
        xend_error_report(XEND_ERR_GENERIC, "Domain '%s' is not halted.", dom);
        return NULL;
    }
    return api_compat_dom_call(caller, params, api_domain_undefine);
}

xmlrpc_value *api_compat_domain_pause(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    return api_compat_dom_call(caller, params, api_domain_pause);
}

xmlrpc_value *api_compat_domain_unpause(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    return api_compat_dom_call(caller, params, api_domain_unpause);
}

xmlrpc_value *api_compat_domain_destroy(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    return api_compat_dom_call(caller, params, api_domain_destroy);
}

xmlrpc_value *api_compat_domain_suspend(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    return api_compat_dom_call(caller, params, api_domain_suspend);
}

xmlrpc_value *api_compat_domain_resume(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    const char *dom = api_arg_string(params, 0);
    bool paused = api_compat_flag(params, 1, false);
    return api_compat_nil(
        api_compat_v1(caller, api_domain_resume,
                      api_compat_args(xmlrpc_string(dom), xmlrpc_bool(paused), NULL), dom));
}

xmlrpc_value *api_compat_domain_wait_for_devices(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                 void *data)
{
    (void)data;
    char buf[24];
    /* Devices are ready when a start returns; all there is to check is that dom exists. */
    domain_obj *obj = api_compat_find(api_ctx_of(caller), api_compat_arg_text(params, 0, buf));
    if (!obj)
        return NULL;
    api_compat_release(obj);
    return xmlrpc_nil();
}

xmlrpc_value *api_compat_domain_shutdown(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    const char *reason = api_arg_string(params, 1);
    if (strcmp(reason, "suspend") == 0) {
        /* Xend's suspend was the guest half of a save; here it is a managed save. */
        return api_compat_nil(api_compat_v1(caller, api_domain_suspend,
                                            api_compat_args(xmlrpc_string(dom), NULL), dom));
    }
    hv_shutdown_mode mode;
    if (strcmp(reason, "poweroff") == 0) {
        mode = HV_SHUTDOWN_POWEROFF;
    } else if (strcmp(reason, "halt") == 0) {
        mode = HV_SHUTDOWN_HALT;
    } else if (strcmp(reason, "reboot") == 0) {
        mode = HV_SHUTDOWN_REBOOT;
    } else if (strcmp(reason, "crash") == 0) {
        xend_error_report(XEND_ERR_GENERIC,
                          "shutdown reason 'crash' is not supported: xend cannot make a guest "
                          "crash (use destroy)");
        return NULL;
    } else {
        xend_error_report(XEND_ERR_GENERIC,
                          "Invalid reason: %.64s (poweroff, reboot, halt, suspend, crash)", reason);
        return NULL;
    }
    xmlrpc_value *row = api_domain_shutdown_mode(caller, dom, mode);
    if (!row)
        api_compat_error_remap(dom);
    return api_compat_nil(row);
}

xmlrpc_value *api_compat_domain_save(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    if (api_compat_flag(params, 2, false)) {
        xend_error_report(XEND_ERR_GENERIC,
                          "checkpoint saves (keeping the domain running) are not supported");
        return NULL;
    }
    return api_compat_nil(api_compat_v1(
        caller, api_domain_save,
        api_compat_args(xmlrpc_string(dom), xmlrpc_string(api_arg_string(params, 1)), NULL), dom));
}

xmlrpc_value *api_compat_domain_restore(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    xmlrpc_value *row =
        api_compat_v1(caller, api_domain_restore,
                      api_compat_args(xmlrpc_string(api_arg_string(params, 0)),
                                      xmlrpc_bool(api_compat_flag(params, 1, false)), NULL),
                      NULL);
    return api_compat_sxp_by_row(caller, row);
}

xmlrpc_value *api_compat_domain_set_name(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    return api_compat_nil(api_compat_v1(
        caller, api_domain_rename,
        api_compat_args(xmlrpc_string(dom), xmlrpc_string(api_arg_string(params, 1)), NULL), dom));
}

xmlrpc_value *api_compat_domain_send_sysrq(xmlrpc_caller *caller, const xmlrpc_value *params,
                                           void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    return api_compat_nil(api_compat_v1(
        caller, api_domain_sysrq,
        api_compat_args(xmlrpc_string(dom), xmlrpc_string(api_arg_string(params, 1)), NULL), dom));
}

/* Xend's destination: a host name (relocation server); ours: a xend URI. HOST and
 * HOST:PORT become http://HOST:PORT/ (port defaults to xend's TCP port, since Xend's
 * relocation port 8002 has no meaning here); URIs pass through to domain.migrate. */
static char *api_compat_migrate_uri(const char *dst, int64_t port)
{
    if (strstr(dst, "://"))
        return xstrdup(dst);
    size_t hostlen = strcspn(dst, ":");
    bool ok = hostlen > 0 && hostlen <= 253;
    for (size_t i = 0; ok && i < hostlen; i++) {
        char c = dst[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.' || c == '_';
    }
    long explicit_port = -1;
    if (ok && dst[hostlen] == ':') {
        explicit_port = xend_parse_index(dst + hostlen + 1, 65535);
        ok = explicit_port > 0;
    }
    if (!ok || port < 0 || port > 65535) {
        xend_error_report(XEND_ERR_GENERIC,
                          "invalid migration destination '%.200s' (a host name, HOST:PORT, "
                          "http://host:port/ or unix:///path)",
                          dst);
        return NULL;
    }
    long p = explicit_port > 0 ? explicit_port : port > 0 ? (long)port : API_COMPAT_MIGRATE_PORT;
    return xasprintf("http://%.*s:%ld/", (int)hostlen, dst, p);
}

xmlrpc_value *api_compat_domain_migrate(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    const char *dom = api_arg_string(params, 0);
    /* (dom, dst, live, resource, port): resource was a bandwidth hint Xend ignored too. */
    const xmlrpc_value *port = api_arg(params, 4);
    char *uri = api_compat_migrate_uri(api_arg_string(params, 1), port ? port->u.i : 0);
    if (!uri)
        return NULL;
    return api_compat_nil(
        api_compat_v1(caller, api_domain_migrate,
                      api_compat_args(xmlrpc_string(dom), xmlrpc_string_take(uri),
                                      xmlrpc_bool(api_compat_flag(params, 2, false)), NULL),
                      dom));
}

/* ---- memory and vCPUs ---- */

/* setMemoryTarget and maxmem_set: (dom, MiB) into a v1 memory method taking KiB; Xend
 * refused sizes <= 0 with 'Invalid memory size'. The v1 result, or NULL with the error. */
static xmlrpc_value *api_compat_memory(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       xmlrpc_method_fn v1)
{
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    int64_t mib = api_arg_int(params, 1, 0);
    if (mib <= 0) {
        xend_error_report(XEND_ERR_GENERIC, "Invalid memory size");
        return NULL;
    }
    return api_compat_v1(caller, v1,
                         api_compat_args(xmlrpc_string(dom), xmlrpc_i8(mib * 1024), NULL), dom);
}

xmlrpc_value *api_compat_domain_set_memory_target(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                  void *data)
{
    (void)data;
    return api_compat_nil(api_compat_memory(caller, params, api_domain_set_memory));
}

xmlrpc_value *api_compat_domain_maxmem_set(xmlrpc_caller *caller, const xmlrpc_value *params,
                                           void *data)
{
    (void)data;
    return api_compat_rc(api_compat_memory(caller, params, api_domain_set_max_memory));
}

xmlrpc_value *api_compat_domain_set_vcpu_count(xmlrpc_caller *caller, const xmlrpc_value *params,
                                               void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    return api_compat_nil(api_compat_v1(
        caller, api_domain_set_vcpus,
        api_compat_args(xmlrpc_string(dom), xmlrpc_int((int32_t)api_arg_int(params, 1, 0)), NULL),
        dom));
}

/* Xend's cpus argument as the CPU list text domain.pin_vcpu takes. xm sent a list of ints,
 * and for 'all' the list 0..63; libxc ignored CPUs the host lacks, so a list keeps only
 * existing CPUs. A string is a CPU list ("0-3,^2") or 'all', checked by domain.pin_vcpu.
 * NULL with fault 2 reported. */
static char *api_compat_cpus_text(const xmlrpc_value *cpus, unsigned host_cpus)
{
    if (cpus->type == XMLRPC_STRING) {
        if (strcmp(cpus->u.s.ptr, "all") == 0)
            return xasprintf("0-%u", host_cpus - 1);
        return xstrdup(cpus->u.s.ptr);
    }
    xbuf out = XBUF_INIT;
    for (size_t i = 0; i < xmlrpc_array_size(cpus); i++) {
        const xmlrpc_value *c = xmlrpc_array_get(cpus, i);
        long n = -1;
        if (c->type == XMLRPC_INT || c->type == XMLRPC_I8)
            n = c->u.i >= 0 && c->u.i <= 65535 ? (long)c->u.i : -1;
        else if (c->type == XMLRPC_STRING)
            n = xend_parse_index(c->u.s.ptr, 65535);
        if (n < 0) {
            xbuf_clear(&out);
            xend_error_report(XEND_ERR_GENERIC,
                              "cpus: element %zu is not a CPU number (a list of ints, a CPU "
                              "list like \"0-3,^2\", or 'all')",
                              i + 1);
            return NULL;
        }
        if ((unsigned long)n < host_cpus)
            xbuf_printf(&out, "%s%ld", out.len ? "," : "", n);
    }
    if (!out.len) {
        xbuf_clear(&out);
        xend_error_report(XEND_ERR_GENERIC, "cpus: none of the CPUs given exists (the host has %u)",
                          host_cpus);
        return NULL;
    }
    return xbuf_steal(&out, NULL);
}

xmlrpc_value *api_compat_domain_pincpu(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *dom = api_arg_string(params, 0);
    const xmlrpc_value *vcpu = api_arg(params, 1);
    long first = -1, last = -1;
    if (vcpu->type == XMLRPC_INT) {
        first = last = vcpu->u.i >= 0 ? (long)vcpu->u.i : -2;
    } else if (strcmp(vcpu->u.s.ptr, "all") != 0) {
        first = last = xend_parse_index(vcpu->u.s.ptr, DOMAIN_VCPUS_MAX);
        if (first < 0)
            first = last = -2;
    }
    if (first == -2) {
        xend_error_report(XEND_ERR_GENERIC, "vcpu must be a vCPU number or 'all'");
        return NULL;
    }
    char *cpus = api_compat_cpus_text(api_arg(params, 2), api_host_cpus(ctx));
    if (!cpus)
        return NULL;
    if (first < 0) {
        domain_obj *obj = api_compat_find(ctx, dom);
        if (!obj) {
            free(cpus);
            return NULL;
        }
        first = 0;
        last = (long)obj->def->vcpus - 1;
        api_compat_release(obj);
    }
    xmlrpc_value *r = NULL;
    for (long v = first; v <= last; v++) {
        xmlrpc_value_free(r);
        r = api_compat_v1(
            caller, api_domain_pin_vcpu,
            api_compat_args(xmlrpc_string(dom), xmlrpc_int((int32_t)v), xmlrpc_string(cpus), NULL),
            dom);
        if (!r)
            break;
    }
    free(cpus);
    return api_compat_rc(r);
}

/* One (vcpu ...) of getVCPUInfo from a domain.vcpu_info row. */
static xmlrpc_value *api_compat_vcpu_sxp(const xmlrpc_value *row)
{
    const xmlrpc_value *number = xmlrpc_struct_get(row, "number");
    const xmlrpc_value *online = xmlrpc_struct_get(row, "online");
    const xmlrpc_value *cpu = xmlrpc_struct_get(row, "cpu");
    const xmlrpc_value *cpu_time = xmlrpc_struct_get(row, "cpu_time");
    const xmlrpc_value *state = xmlrpc_struct_get(row, "state");
    const xmlrpc_value *affinity = xmlrpc_struct_get(row, "affinity");
    xmlrpc_value *v = sxp_list("vcpu");
    sxp_addf(v, "number", "%" PRId64, number ? number->u.i : 0);
    bool on = online && online->u.b;
    const char *st = state ? state->u.s.ptr : "";
    sxp_add(v, "online", on ? "1" : "0");
    sxp_add(v, "blocked", on && strcmp(st, "blocked") == 0 ? "1" : "0");
    sxp_add(v, "running", on && strcmp(st, "running") == 0 ? "1" : "0");
    sxp_addf(v, "cpu_time", "%.12g", cpu_time ? cpu_time->u.d : 0.0);
    sxp_addf(v, "cpu", "%" PRId64, cpu ? cpu->u.i : -1);
    /* Xend's cpumap was the list of CPU numbers in the affinity. */
    xmlrpc_value *map = sxp_list("cpumap");
    xmlrpc_value *cpus = xmlrpc_array();
    uint8_t bits[32];
    memset(bits, 0, sizeof(bits));
    if (affinity && domain_cpulist_parse(affinity->u.s.ptr, 256, bits) >= 0) {
        for (unsigned c = 0; c < 256; c++) {
            if (bits[c / 8] & (1u << (c % 8))) {
                char n[8];
                snprintf(n, sizeof(n), "%u", c);
                xmlrpc_array_append(cpus, xmlrpc_string(n));
            }
        }
    }
    xend_error_reset(); /* an unparsable affinity only leaves the map empty */
    xmlrpc_array_append(map, cpus);
    xmlrpc_array_append(v, map);
    return v;
}

xmlrpc_value *api_compat_domain_get_vcpu_info(xmlrpc_caller *caller, const xmlrpc_value *params,
                                              void *data)
{
    (void)data;
    char buf[24];
    api_ctx *ctx = api_ctx_of(caller);
    const char *dom = api_compat_arg_text(params, 0, buf);
    domain_obj *obj = api_compat_find(ctx, dom);
    if (!obj)
        return NULL;
    int domid = obj->id;
    char *name = xstrdup(obj->def->name);
    api_compat_release(obj);
    xmlrpc_value *rows =
        api_compat_v1(caller, api_domain_vcpu_info, api_compat_args(xmlrpc_string(dom), NULL), dom);
    if (!rows) {
        free(name);
        return NULL;
    }
    xmlrpc_value *out = sxp_list("domain");
    sxp_addf(out, "domid", "%d", domid);
    sxp_add(out, "name", name);
    sxp_addf(out, "vcpu_count", "%zu", xmlrpc_array_size(rows));
    for (size_t i = 0; i < xmlrpc_array_size(rows); i++)
        xmlrpc_array_append(out, api_compat_vcpu_sxp(xmlrpc_array_get(rows, i)));
    xmlrpc_value_free(rows);
    free(name);
    return out;
}

/* ---- devices ---- */

/* The devid of disk i of def: its virtual-device number, or a number past every real one
 * for targets that are no Linux disk name. */
static long api_compat_disk_devid(const domain_def *def, size_t i)
{
    long id = def->disks[i].target ? xend_disk_devnum(def->disks[i].target) : -1;
    return id >= 0 ? id : API_COMPAT_DEVID_OTHER + (long)i;
}

/* Append the (key value) pairs of a device sxp (vbd ...) / (vif ...) to list. Takes dev. */
static void api_compat_append_pairs(xmlrpc_value *list, xmlrpc_value *dev)
{
    for (size_t i = 1; i < dev->u.a.n; i++)
        xmlrpc_array_append(list, xmlrpc_value_copy(dev->u.a.items[i]));
    xmlrpc_value_free(dev);
}

xmlrpc_value *api_compat_domain_device_create(xmlrpc_caller *caller, const xmlrpc_value *params,
                                              void *data)
{
    (void)data;
    char buf[24];
    api_ctx *ctx = api_ctx_of(caller);
    const char *dom = api_compat_arg_text(params, 0, buf);
    const xmlrpc_value *spec = api_arg(params, 1);
    domain_disk disk;
    domain_nic nic;
    const char *kind = NULL;
    memset(&disk, 0, sizeof(disk));
    memset(&nic, 0, sizeof(nic));
    if (domain_sxp_parse_device(spec, &disk, &nic, &kind) < 0) {
        api_compat_error_remap(dom);
        return NULL;
    }
    bool is_disk = strcmp(kind, "vbd") == 0;
    char *cls = xstrdup(sxp_name(spec)); /* Xend answered with the class it was given */
    char *id = xstrdup(is_disk ? disk.target : "");
    char mac[18];
    domain_mac_format(nic.mac, mac);
    xbuf xml = XBUF_INIT;
    if (is_disk)
        domain_xml_format_disk(&disk, &xml, 0);
    else
        domain_xml_format_nic(&nic, &xml, 0);
    domain_disk_clear(&disk);
    domain_nic_clear(&nic);
    xmlrpc_value *r = api_compat_v1(
        caller, api_domain_attach_device,
        api_compat_args(xmlrpc_string(dom), xmlrpc_string_take(xbuf_steal(&xml, NULL)), NULL), dom);
    xmlrpc_value *out = NULL;
    domain_obj *obj = r ? api_compat_find(ctx, dom) : NULL;
    xmlrpc_value_free(r);
    if (obj) {
        /* The device is in the live definition when the domain runs, else in the stored one,
         * which is then dom->def: either way dom->def holds it. */
        long devid = -1;
        if (is_disk) {
            long i = domain_def_find_disk(obj->def, id);
            devid = i >= 0 ? api_compat_disk_devid(obj->def, (size_t)i) : -1;
        } else {
            devid = domain_def_find_nic(obj->def, mac);
        }
        int domid = domain_state_is_active(obj->state) ? obj->id : -1;
        api_compat_release(obj);
        if (devid < 0) {
            xend_error_report(XEND_ERR_GENERIC,
                              "the new device vanished before its id could be read");
        } else {
            out = sxp_list(cls);
            xmlrpc_value *ref = sxp_list("dom");
            char n[24];
            snprintf(n, sizeof(n), "%d", domid);
            xmlrpc_array_append(ref, xmlrpc_string(n));
            xmlrpc_array_append(ref, xmlrpc_string("id"));
            snprintf(n, sizeof(n), "%ld", devid);
            xmlrpc_array_append(ref, xmlrpc_string(n));
            xmlrpc_array_append(out, ref);
        }
    }
    free(cls);
    free(id);
    return out;
}

/* The classes Xend had controllers for that xend has no devices of: listing them is empty,
 * as for a Xen guest without such devices (xm vtpm-list asks for 'vtpm'). */
static bool api_compat_class_empty(const char *cls)
{
    static const char *const classes[] = {"tap",  "vtpm",    "pci",     "vscsi", "vfb",
                                          "vkbd", "console", "ioports", "irq",   "usb"};
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(cls, classes[i]) == 0)
            return true;
    return false;
}

xmlrpc_value *api_compat_domain_get_device_sxprs(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                 void *data)
{
    (void)data;
    char buf[24];
    const char *dom = api_compat_arg_text(params, 0, buf);
    const char *cls = api_arg_string(params, 1);
    bool vbd = strcmp(cls, "vbd") == 0, vif = strcmp(cls, "vif") == 0;
    if (!vbd && !vif && !api_compat_class_empty(cls)) {
        xend_error_report(XEND_ERR_GENERIC, "unknown device class '%.32s' (vbd, vif)", cls);
        return NULL;
    }
    domain_obj *obj = api_compat_find(api_ctx_of(caller), dom);
    if (!obj)
        return NULL;
    const domain_def *def = obj->def;
    bool active = domain_state_is_active(obj->state);
    xmlrpc_value *out = xmlrpc_array();
    size_t n = vbd ? def->ndisks : vif ? def->nnics : 0;
    for (size_t i = 0; i < n; i++) {
        /* What Xend read from the frontend's xenstore directory; a domain that does not run
         * has no frontend, so it gets only its configuration, as Xend 3.1 answered. */
        long devid = vbd ? api_compat_disk_devid(def, i) : (long)i;
        xmlrpc_value *pairs = xmlrpc_array();
        sxp_add(pairs, "backend-id", "0");
        if (vbd) {
            sxp_addf(pairs, "virtual-device", "%ld", devid);
            sxp_add(pairs, "device-type",
                    def->disks[i].device == DOMAIN_DISK_CDROM ? "cdrom" : "disk");
        } else {
            sxp_addf(pairs, "handle", "%ld", devid);
        }
        if (active) {
            sxp_add(pairs, "state", "4"); /* XenbusStateConnected */
            sxp_addf(pairs, "backend", "/local/domain/0/backend/%s/%d/%ld", cls, obj->id, devid);
        }
        if (vbd)
            api_compat_append_pairs(pairs, domain_sxp_format_disk(&def->disks[i]));
        else
            api_compat_append_pairs(pairs, domain_sxp_format_nic(&def->nics[i]));
        xmlrpc_value *entry = xmlrpc_array();
        char num[24];
        snprintf(num, sizeof(num), "%ld", devid);
        xmlrpc_array_append(entry, xmlrpc_string(num));
        xmlrpc_array_append(entry, pairs);
        xmlrpc_array_append(out, entry);
    }
    api_compat_release(obj);
    return out;
}

/* The v1 id (disk target, NIC index) of Xend's device id: a vbd by virtual-device number or
 * by name ("xvda1", "/dev/hda"), a vif by index or MAC. NULL with fault 2 or 3 reported;
 * caller frees. */
static char *api_compat_device_ref(api_ctx *ctx, const char *dom, const char *cls,
                                   const char *devid)
{
    bool vbd = strcmp(cls, "vbd") == 0 || strcmp(cls, "tap") == 0;
    if (!vbd && strcmp(cls, "vif") != 0) {
        xend_error_report(XEND_ERR_GENERIC, "unknown device class '%.32s' (vbd, vif)", cls);
        return NULL;
    }
    domain_obj *obj = api_compat_find(ctx, dom);
    if (!obj)
        return NULL;
    const domain_def *def = obj->def;
    char *ref = NULL;
    if (vbd) {
        long num = xend_parse_index(devid, 1L << 30);
        const char *name = strncmp(devid, "/dev/", 5) == 0 ? devid + 5 : devid;
        for (size_t i = 0; !ref && i < def->ndisks; i++)
            if (num >= 0 ? api_compat_disk_devid(def, i) == num
                         : (def->disks[i].target && strcmp(def->disks[i].target, name) == 0))
                ref = xstrdup(def->disks[i].target);
    } else {
        long i = domain_def_find_nic(def, devid);
        if (i >= 0)
            ref = xasprintf("%ld", i);
    }
    if (!ref)
        xend_error_report(XEND_ERR_GENERIC, "domain '%s' has no %s device '%.64s'", def->name, cls,
                          devid);
    api_compat_release(obj);
    return ref;
}

xmlrpc_value *api_compat_domain_destroy_device(xmlrpc_caller *caller, const xmlrpc_value *params,
                                               void *data)
{
    (void)data;
    char idbuf[24];
    const char *dom = api_arg_string(params, 0);
    /* The fourth argument (xm's force flag) changes nothing: the device goes at once. The
     * device id is the third, a number or a name. */
    char *ref = api_compat_device_ref(api_ctx_of(caller), dom, api_arg_string(params, 1),
                                      api_compat_arg_text(params, 2, idbuf));
    if (!ref)
        return NULL;
    return api_compat_nil(
        api_compat_v1(caller, api_domain_detach_device,
                      api_compat_args(xmlrpc_string(dom), xmlrpc_string_take(ref), NULL), dom));
}

/* ---- the host ---- */

/* A member of the node.info struct as text. */
static void api_compat_node_pair(xmlrpc_value *out, const char *key, const xmlrpc_value *info,
                                 const char *member)
{
    const xmlrpc_value *v = xmlrpc_struct_get(info, member);
    if (v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8))
        sxp_addf(out, key, "%" PRId64, v->u.i);
    else
        sxp_add(out, key, v && v->type == XMLRPC_STRING ? v->u.s.ptr : "");
}

xmlrpc_value *api_compat_node_info(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)params;
    (void)data;
    xmlrpc_value *info = api_compat_v1(caller, api_node_info, xmlrpc_array(), NULL);
    if (!info)
        return NULL;
    struct utsname un;
    if (uname(&un) < 0)
        memset(&un, 0, sizeof(un));
    const xmlrpc_value *mem = xmlrpc_struct_get(info, "memory");
    const xmlrpc_value *free_mem = xmlrpc_struct_get(info, "free_memory");
    const xmlrpc_value *arch = xmlrpc_struct_get(info, "arch");
    const char *version = XEND_VERSION;
    int major = atoi(version);
    const char *dot = strchr(version, '.');
    int minor = dot ? atoi(dot + 1) : 0;
    const char *extra = dot ? strchr(dot + 1, '.') : NULL;
    long pagesize = sysconf(_SC_PAGESIZE);

    /* Xend's order exactly: xm info prints the pairs after the first as they come. */
    xmlrpc_value *out = xmlrpc_array();
    sxp_add(out, "system", un.sysname);
    api_compat_node_pair(out, "host", info, "hostname");
    sxp_add(out, "release", un.release);
    sxp_add(out, "version", un.version);
    sxp_add(out, "machine", un.machine);
    api_compat_node_pair(out, "nr_cpus", info, "cpus");
    api_compat_node_pair(out, "nr_nodes", info, "nodes");
    api_compat_node_pair(out, "sockets_per_node", info, "sockets");
    api_compat_node_pair(out, "cores_per_socket", info, "cores");
    api_compat_node_pair(out, "threads_per_core", info, "threads");
    api_compat_node_pair(out, "cpu_mhz", info, "mhz");
    /* Xen's eight CPUID words; the model name is all xend knows of the CPU. */
    sxp_add(out, "hw_caps",
            "00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000");
    sxp_addf(out, "total_memory", "%" PRId64, mem ? mem->u.i / 1024 : 0);
    sxp_addf(out, "free_memory", "%" PRId64, free_mem ? free_mem->u.i / 1024 : 0);
    sxp_addf(out, "xen_major", "%d", major);
    sxp_addf(out, "xen_minor", "%d", minor);
    sxp_add(out, "xen_extra", extra ? extra : "");
    sxp_addf(out, "xen_caps", "hvm-%s-%s", XEND_API_VERSION,
             arch && arch->type == XMLRPC_STRING ? arch->u.s.ptr : un.machine);
    sxp_addf(out, "xen_pagesize", "%ld", pagesize > 0 ? pagesize : 4096);
    sxp_add(out, "platform_params", "virt_start=0x0");
    sxp_add(out, "xen_changeset", "unavailable");
    sxp_add(out, "cc_compiler", "gcc version " __VERSION__);
    sxp_add(out, "cc_compile_by", "xend");
    sxp_add(out, "cc_compile_domain", "localdomain");
    sxp_add(out, "cc_compile_date", __DATE__ " " __TIME__);
    sxp_add(out, "xend_config_format", "3");
    xmlrpc_value_free(info);
    return out;
}

xmlrpc_value *api_compat_node_log(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)params;
    (void)data;
    return api_compat_v1(caller, api_node_log, xmlrpc_array(), NULL);
}

xmlrpc_value *api_compat_node_dmesg_info(xmlrpc_caller *caller, const xmlrpc_value *params,
                                         void *data)
{
    (void)params;
    (void)data;
    return api_compat_v1(caller, api_node_dmesg, xmlrpc_array(), NULL);
}

xmlrpc_value *api_compat_node_dmesg_clear(xmlrpc_caller *caller, const xmlrpc_value *params,
                                          void *data)
{
    (void)params;
    (void)data;
    return api_compat_nil(
        api_compat_v1(caller, api_node_dmesg, api_compat_args(xmlrpc_bool(true), NULL), NULL));
}
