/*
 * Handlers of the domain lifecycle methods: list, lookup, define, undefine, create, start,
 * shutdown, reboot, destroy, pause, unpause, save, restore, suspend, resume, get_xml,
 * rename, set_autostart. Each finds the domain, takes its job, checks that the operation
 * applies to the domain's state (with an OPERATION_INVALID fault that says what state it
 * is in), asks the driver for the effect and returns the domain's summary row.
 */
#include "api_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "xmlrpc/codec.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- shared helpers ---- */

const xmlrpc_value *api_arg(const xmlrpc_value *params, size_t i)
{
    return i < xmlrpc_array_size(params) ? xmlrpc_array_get(params, i) : NULL;
}

const char *api_arg_string(const xmlrpc_value *params, size_t i)
{
    const xmlrpc_value *v = api_arg(params, i);
    return v && v->type == XMLRPC_STRING ? v->u.s.ptr : NULL;
}

int64_t api_arg_int(const xmlrpc_value *params, size_t i, int64_t dflt)
{
    const xmlrpc_value *v = api_arg(params, i);
    return v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8) ? v->u.i : dflt;
}

bool api_arg_bool(const xmlrpc_value *params, size_t i, bool dflt)
{
    const xmlrpc_value *v = api_arg(params, i);
    return v && v->type == XMLRPC_BOOL ? v->u.b : dflt;
}

/* A boolean member of an optional flags struct. */
static int flag_get(const xmlrpc_value *flags, const char *name, int dflt)
{
    if (!flags)
        return dflt;
    const xmlrpc_value *v = xmlrpc_struct_get(flags, name);
    return v && v->type == XMLRPC_BOOL ? v->u.b : dflt;
}

/* Reject members of a flags struct that the method does not know, so typos are loud. */
static int flags_check(const xmlrpc_value *flags, const char *const *known)
{
    if (!flags)
        return 0;
    for (size_t i = 0; i < flags->u.st.n; i++) {
        const char *name = flags->u.st.m[i].name;
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(*k, name) == 0;
        if (!ok) {
            xend_error_report(XEND_ERR_INVALID_ARG, "unknown flag '%s'", name);
            return -1;
        }
        if (flags->u.st.m[i].value->type != XMLRPC_BOOL) {
            xend_error_report(XEND_ERR_INVALID_ARG, "flag '%s' must be a boolean", name);
            return -1;
        }
    }
    return 0;
}

xmlrpc_value *api_domain_row(api_ctx *ctx, domain_obj *dom)
{
    char uuid[37];
    const domain_def *def = dom->def;
    bool active = domain_state_is_active(dom->state);
    xmlrpc_value *r = xmlrpc_struct();
    domain_uuid_format(def->uuid, uuid);
    xmlrpc_struct_set(r, "id", xmlrpc_int(dom->id));
    xmlrpc_struct_set(r, "name", xmlrpc_string(def->name));
    xmlrpc_struct_set(r, "uuid", xmlrpc_string(uuid));
    xmlrpc_struct_set(r, "state", xmlrpc_string(domain_state_name(dom->state)));
    xmlrpc_struct_set(r, "reason", xmlrpc_string(domain_reason_name(dom->reason)));
    xmlrpc_struct_set(r, "memory", xmlrpc_i8((int64_t)def->current_memory_kib));
    xmlrpc_struct_set(r, "max_memory", xmlrpc_i8((int64_t)def->memory_kib));
    xmlrpc_struct_set(r, "vcpus", xmlrpc_int((int32_t)def->vcpus_current));
    xmlrpc_struct_set(r, "max_vcpus", xmlrpc_int((int32_t)def->vcpus));
    double cpu = 0;
    if (dom->is_host)
        cpu = (double)api_host_cpu_ns() / 1e9;
    else if (active && ctx->driver->domain_cpu_time)
        cpu = (double)ctx->driver->domain_cpu_time(ctx, dom) / 1e9;
    xmlrpc_struct_set(r, "cpu_time", xmlrpc_double(cpu));
    xmlrpc_struct_set(r, "autostart", xmlrpc_bool(dom->autostart));
    xmlrpc_struct_set(r, "persistent", xmlrpc_bool(dom->persistent || dom->is_host));
    xmlrpc_struct_set(r, "managed_save", xmlrpc_bool(dom->state == DOMAIN_STATE_SUSPENDED));
    xmlrpc_struct_set(r, "start_time", xmlrpc_i8(active ? (int64_t)dom->start_time : 0));
    return r;
}

/* Find dom, lock it and take its job. NULL with the error reported. */
domain_obj *api_dom_begin(xmlrpc_caller *caller, const char *name, const char *job)
{
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_domain_find(ctx, name);
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    if (domain_obj_begin_job(ctx, dom, job, ctx->job_wait_ms) < 0) {
        domain_obj_unlock(dom);
        domain_obj_unref(dom);
        return NULL;
    }
    if (dom->removed) {
        xend_error_report(XEND_ERR_NO_DOMAIN, "domain '%.*s%s' does not exist", API_ECHO(name));
        domain_obj_end_job(dom);
        domain_obj_unlock(dom);
        domain_obj_unref(dom);
        return NULL;
    }
    return dom;
}

/* Finish: optionally build the row, end the job, unlock, unref. Returns row or NULL. */
xmlrpc_value *api_dom_end(api_ctx *ctx, domain_obj *dom, int rc, bool want_row)
{
    xmlrpc_value *res = NULL;
    if (rc == 0)
        res = want_row ? api_domain_row(ctx, dom) : xmlrpc_bool(true);
    domain_obj_end_job(dom);
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    return res;
}

/* Find and lock without a job (reads). */
static domain_obj *dom_read(xmlrpc_caller *caller, const char *name)
{
    domain_obj *dom = api_domain_find(api_ctx_of(caller), name);
    if (dom)
        domain_obj_lock(dom);
    return dom;
}

static void dom_read_end(domain_obj *dom)
{
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
}

int api_require_active(domain_obj *dom, const char *what)
{
    if (domain_state_is_active(dom->state))
        return 0;
    xend_error_report(XEND_ERR_OPERATION_INVALID, "cannot %s domain '%s': it is not running (%s)",
                      what, dom->def->name, domain_state_name(dom->state));
    return -1;
}

static int require_inactive(domain_obj *dom, const char *what)
{
    if (!domain_state_is_active(dom->state))
        return 0;
    xend_error_report(XEND_ERR_OPERATION_INVALID, "cannot %s domain '%s': it is already %s",
                      what, dom->def->name, domain_state_name(dom->state));
    return -1;
}

int api_require_driver(api_ctx *ctx, const void *slot, const char *what)
{
    if (slot)
        return 0;
    xend_error_report(XEND_ERR_UNSUPPORTED, "the %s driver cannot %s", ctx->driver->name, what);
    return -1;
}

static xmlrpc_value *warnings_value(const domain_warnings *w)
{
    xmlrpc_value *a = xmlrpc_array();
    for (size_t i = 0; i < w->n; i++)
        xmlrpc_array_append(a, xmlrpc_string(w->items[i]));
    return a;
}

/* ---- list and lookup ---- */

/* api_domain_row encoded straight into out: the same members in the same order, without
 * building a tree (a 1,000-domain list spent most of its time building, encoding and
 * freeing one), by copying literal chunks into a stack buffer. Names, uuids, states and
 * reasons never need escaping: names are limited to [A-Za-z0-9_.:+-] (domain_name_check).
 * cpu_time is written from whole microseconds as an exact decimal. */
typedef struct {
    char *p;
} row_writer;

#define ROW_LIT(w, lit)                                                                    \
    do {                                                                                   \
        memcpy((w)->p, lit, sizeof(lit) - 1);                                              \
        (w)->p += sizeof(lit) - 1;                                                         \
    } while (0)

static void row_str(row_writer *w, const char *s)
{
    size_t n = strlen(s);
    memcpy(w->p, s, n);
    w->p += n;
}

static void row_num(row_writer *w, int64_t v)
{
    char buf[24], *q = buf + sizeof(buf);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    size_t n = (size_t)(buf + sizeof(buf) - q);
    memcpy(w->p, q, n);
    w->p += n;
}

static void row_seconds(row_writer *w, uint64_t ns)
{
    uint64_t us = ns / 1000;
    row_num(w, (int64_t)(us / 1000000));
    char frac[7];
    uint64_t f = us % 1000000;
    for (int i = 5; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    int n = 6;
    while (n > 1 && frac[n - 1] == '0')
        n--;
    *w->p++ = '.';
    memcpy(w->p, frac, (size_t)n);
    w->p += n;
}

/* The members of a row, in order; a filter's 'fields' selects some by name. */
enum {
    ROW_ID, ROW_NAME, ROW_UUID, ROW_STATE, ROW_REASON, ROW_MEMORY, ROW_MAX_MEMORY, ROW_VCPUS,
    ROW_MAX_VCPUS, ROW_CPU_TIME, ROW_AUTOSTART, ROW_PERSISTENT, ROW_MANAGED_SAVE,
    ROW_START_TIME, ROW_LAST
};
static const char *const row_field_names[ROW_LAST] = {
    "id", "name", "uuid", "state", "reason", "memory", "max_memory", "vcpus", "max_vcpus",
    "cpu_time", "autostart", "persistent", "managed_save", "start_time"};
#define ROW_ALL ((1u << ROW_LAST) - 1)

/* <member><name>NAME</name><value><TYPE> ... </TYPE></value></member> around one value,
 * when the field is selected. */
#define ROW_MEMBER(w, mask, bit, name, type, emit)                                           \
    do {                                                                                   \
        if ((mask) & (1u << (bit))) {                                                      \
            ROW_LIT(w, "<member><name>" name "</name><value><" type ">");                  \
            emit;                                                                          \
            ROW_LIT(w, "</" type "></value></member>");                                   \
        }                                                                                  \
    } while (0)

static void row_encode(api_ctx *ctx, domain_obj *dom, xbuf *out, unsigned mask)
{
    /* Written in place: literals ~900 bytes, a name of at most 64 and a few numbers. */
    xbuf_reserve(out, 2048);
    row_writer w = {out->data + out->len};
    char uuid[37];
    const domain_def *def = dom->def;
    bool active = domain_state_is_active(dom->state);
    uint64_t cpu_ns = 0;
    if (mask & (1u << ROW_CPU_TIME)) {
        if (dom->is_host)
            cpu_ns = api_host_cpu_ns();
        else if (active && ctx->driver->domain_cpu_time)
            cpu_ns = ctx->driver->domain_cpu_time(ctx, dom);
    }
    if (mask & (1u << ROW_UUID))
        domain_uuid_format(def->uuid, uuid);

    ROW_LIT(&w, "<value><struct>");
    ROW_MEMBER(&w, mask, ROW_ID, "id", "int", row_num(&w, dom->id));
    ROW_MEMBER(&w, mask, ROW_NAME, "name", "string", row_str(&w, def->name));
    ROW_MEMBER(&w, mask, ROW_UUID, "uuid", "string", row_str(&w, uuid));
    ROW_MEMBER(&w, mask, ROW_STATE, "state", "string",
               row_str(&w, domain_state_name(dom->state)));
    ROW_MEMBER(&w, mask, ROW_REASON, "reason", "string",
               row_str(&w, domain_reason_name(dom->reason)));
    ROW_MEMBER(&w, mask, ROW_MEMORY, "memory", "i8",
               row_num(&w, (int64_t)def->current_memory_kib));
    ROW_MEMBER(&w, mask, ROW_MAX_MEMORY, "max_memory", "i8",
               row_num(&w, (int64_t)def->memory_kib));
    ROW_MEMBER(&w, mask, ROW_VCPUS, "vcpus", "int", row_num(&w, (int32_t)def->vcpus_current));
    ROW_MEMBER(&w, mask, ROW_MAX_VCPUS, "max_vcpus", "int", row_num(&w, (int32_t)def->vcpus));
    ROW_MEMBER(&w, mask, ROW_CPU_TIME, "cpu_time", "double", row_seconds(&w, cpu_ns));
    ROW_MEMBER(&w, mask, ROW_AUTOSTART, "autostart", "boolean",
               *w.p++ = dom->autostart ? '1' : '0');
    ROW_MEMBER(&w, mask, ROW_PERSISTENT, "persistent", "boolean",
               *w.p++ = dom->persistent || dom->is_host ? '1' : '0');
    ROW_MEMBER(&w, mask, ROW_MANAGED_SAVE, "managed_save", "boolean",
               *w.p++ = dom->state == DOMAIN_STATE_SUSPENDED ? '1' : '0');
    ROW_MEMBER(&w, mask, ROW_START_TIME, "start_time", "i8",
               row_num(&w, active ? (int64_t)dom->start_time : 0));
    ROW_LIT(&w, "</struct></value>");
    out->len = (size_t)(w.p - out->data);
    out->data[out->len] = '\0';
}

typedef struct {
    api_ctx *ctx;
    xbuf out;           /* encoded rows */
    uint8_t states;     /* bitmask of accepted states (when have_states) */
    bool have_states;
    int active, persistent, autostart; /* -1 = any */
    unsigned fields;                   /* ROW_* bits of the members each row carries */
} list_filter;

static void list_cb(domain_obj *dom, void *opaque)
{
    list_filter *f = opaque;
    if (f->have_states && !(f->states & (1u << dom->state)))
        return;
    if (f->active >= 0 && domain_state_is_active(dom->state) != (bool)f->active)
        return;
    if (f->persistent >= 0 && (dom->persistent || dom->is_host) != (bool)f->persistent)
        return;
    if (f->autostart >= 0 && dom->autostart != (bool)f->autostart)
        return;
    row_encode(f->ctx, dom, &f->out, f->fields);
}

/* Start the encoded array, with room for n rows so it is never copied while growing. */
static void list_begin(list_filter *f, size_t n)
{
    /* Room in front for the response's head, so the reply is built without a copy. */
    size_t head = xmlrpc_response_head_len();
    xbuf_reserve(&f->out, head + n * 1100 + 64);
    memset(f->out.data, ' ', head);
    f->out.len = head;
    xbuf_add(&f->out, "<value><array><data>", 20);
}

/* The result of domain.list as one pre-encoded value (takes f->out). */
static xmlrpc_value *list_result(list_filter *f)
{
    xbuf_add(&f->out, "</data></array></value>", 23);
    size_t len, head = xmlrpc_response_head_len();
    char *text = xbuf_steal(&f->out, &len);
    return xmlrpc_raw_take(text, head, len - head);
}

/* A domain of a named list with its name as it was when found: a reference does not keep
 * dom->def (another thread may stop the domain and free it, under the object lock). */
typedef struct {
    domain_obj *dom;
    char *name;
    bool is_host;
} list_entry;

/* Domain-0 first, then by name. */
static int list_order_cmp(const void *a, const void *b)
{
    const list_entry *x = a, *y = b;
    if (x->is_host != y->is_host)
        return x->is_host ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int filter_state(list_filter *f, const xmlrpc_value *v)
{
    if (v->type == XMLRPC_STRING) {
        int s = domain_state_parse(v->u.s.ptr);
        if (s < 0) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "unknown state '%s' (running, blocked, paused, shutdown, "
                              "shutoff, crashed, suspended)",
                              v->u.s.ptr);
            return -1;
        }
        f->states |= (uint8_t)(1u << s);
        return 0;
    }
    if (v->type == XMLRPC_ARRAY) {
        for (size_t i = 0; i < xmlrpc_array_size(v); i++)
            if (filter_state(f, xmlrpc_array_get(v, i)) < 0)
                return -1;
        return 0;
    }
    xend_error_report(XEND_ERR_INVALID_ARG, "filter 'state' must be a string or an array");
    return -1;
}

/* 'fields': the names of the members each row should carry (an empty array: none). */
static int filter_fields(list_filter *f, const xmlrpc_value *v)
{
    if (v->type != XMLRPC_ARRAY) {
        xend_error_report(XEND_ERR_INVALID_ARG, "filter 'fields' must be an array of names");
        return -1;
    }
    f->fields = 0;
    for (size_t i = 0; i < xmlrpc_array_size(v); i++) {
        const xmlrpc_value *n = xmlrpc_array_get(v, i);
        size_t b = 0;
        while (b < ROW_LAST && !(n->type == XMLRPC_STRING && !strcmp(n->u.s.ptr, row_field_names[b])))
            b++;
        if (b == ROW_LAST) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "unknown field %s%s%s in filter 'fields' (id, name, uuid, state, "
                              "reason, memory, max_memory, vcpus, max_vcpus, cpu_time, "
                              "autostart, persistent, managed_save, start_time)",
                              n->type == XMLRPC_STRING ? "'" : "",
                              n->type == XMLRPC_STRING ? n->u.s.ptr : "(not a string)",
                              n->type == XMLRPC_STRING ? "'" : "");
            return -1;
        }
        f->fields |= 1u << b;
    }
    return 0;
}

xmlrpc_value *api_domain_list(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    list_filter f = {ctx, XBUF_INIT, 0, false, -1, -1, -1, ROW_ALL};
    const xmlrpc_value *filter = api_arg(params, 0);
    const xmlrpc_value *names = NULL;
    if (filter) {
        for (size_t i = 0; i < filter->u.st.n; i++) {
            const char *k = filter->u.st.m[i].name;
            const xmlrpc_value *v = filter->u.st.m[i].value;
            int *flag = strcmp(k, "active") == 0       ? &f.active
                        : strcmp(k, "persistent") == 0 ? &f.persistent
                        : strcmp(k, "autostart") == 0  ? &f.autostart
                                                       : NULL;
            if (flag) {
                if (v->type != XMLRPC_BOOL) {
                    xend_error_report(XEND_ERR_INVALID_ARG, "filter '%s' must be a boolean", k);
                    return NULL;
                }

                *flag = v->u.b;
            } else if (strcmp(k, "state") == 0) {
                f.have_states = true; /* an empty list selects nothing */
                if (filter_state(&f, v) < 0)
                    return NULL;
            } else if (strcmp(k, "fields") == 0) {
                if (filter_fields(&f, v) < 0)
                    return NULL;
            } else if (strcmp(k, "domains") == 0) {
                if (v->type != XMLRPC_ARRAY) {
                    xend_error_report(XEND_ERR_INVALID_ARG, "filter 'domains' must be an array");
                    return NULL;
                }
                names = v;
            } else {
                xend_error_report(XEND_ERR_INVALID_ARG,
                                  "unknown filter '%s' (state, active, persistent, autostart, "
                                  "domains, fields)",
                                  k);
                return NULL;
            }
        }
    }
    if (!names) {
        list_begin(&f, api_ctx_domain_count(ctx));
        api_domain_foreach(ctx, list_cb, &f);
        return list_result(&f);
    }
    /* Named domains come back in list order (Domain-0 first, then by name), each once. */
    size_t count = xmlrpc_array_size(names), k = 0;
    list_entry *found = xcalloc(count ? count : 1, sizeof(*found));
    for (size_t i = 0; i < count; i++) {
        const xmlrpc_value *n = xmlrpc_array_get(names, i);
        domain_obj *dom = n->type == XMLRPC_STRING ? api_domain_find(ctx, n->u.s.ptr) : NULL;
        if (!dom) {
            if (n->type != XMLRPC_STRING)
                xend_error_report(XEND_ERR_INVALID_ARG, "filter 'domains' must hold strings");
            for (size_t j = 0; j < k; j++) {
                domain_obj_unref(found[j].dom);
                free(found[j].name);
            }
            free(found);
            xbuf_clear(&f.out);
            return NULL;
        }
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = found[j].dom == dom;
        if (dup) {
            domain_obj_unref(dom);
            continue;
        }
        domain_obj_lock(dom);
        found[k].name = xstrdup(dom->def->name);
        found[k].is_host = dom->is_host;
        domain_obj_unlock(dom);
        found[k++].dom = dom;
    }
    qsort(found, k, sizeof(*found), list_order_cmp);
    list_begin(&f, k);
    for (size_t i = 0; i < k; i++) {
        domain_obj_lock(found[i].dom);
        if (!found[i].dom->removed)
            list_cb(found[i].dom, &f);
        domain_obj_unlock(found[i].dom);
        domain_obj_unref(found[i].dom);
        free(found[i].name);
    }
    free(found);
    return list_result(&f);
}

xmlrpc_value *api_domain_lookup_row(api_ctx *ctx, domain_obj *dom)
{
    xmlrpc_value *r = api_domain_row(ctx, dom);
    const domain_def *def = dom->def;
    xmlrpc_struct_set(r, "title", xmlrpc_string(def->title ? def->title : ""));
    xmlrpc_struct_set(r, "description", xmlrpc_string(def->description ? def->description : ""));
    xmlrpc_struct_set(r, "os_type", xmlrpc_string(def->os.type ? def->os.type : ""));
    xmlrpc_struct_set(r, "on_poweroff", xmlrpc_string(domain_action_name(def->on_poweroff)));
    xmlrpc_struct_set(r, "on_reboot", xmlrpc_string(domain_action_name(def->on_reboot)));
    xmlrpc_struct_set(r, "on_crash", xmlrpc_string(domain_action_name(def->on_crash)));
    xmlrpc_struct_set(r, "job", xmlrpc_string(dom->job ? dom->job : ""));
    return r;
}

xmlrpc_value *api_domain_lookup(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    domain_obj *dom = dom_read(caller, api_arg_string(params, 0));
    if (!dom)
        return NULL;
    xmlrpc_value *r = api_domain_lookup_row(api_ctx_of(caller), dom);
    dom_read_end(dom);
    return r;
}

/* ---- define, undefine, create ---- */

static domain_def *parse_checked(api_ctx *ctx, const char *xml, domain_warnings *w)
{
    domain_def *def = domain_xml_parse(xml, strlen(xml), w);
    if (!def)
        return NULL;
    if (api_domain_check_host(ctx, def, NULL) < 0) {
        domain_def_free(def);
        return NULL;
    }
    return def;
}

xmlrpc_value *api_domain_define_def(api_ctx *ctx, domain_def *def, const domain_warnings *w)
{
    /* Redefinition: same name and same uuid. */
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);
    domain_obj *dom = api_domain_find(ctx, def->name);
    if (!dom) {
        xend_error_reset();
        dom = api_domain_add(ctx, def, true);
        if (!dom)
            return NULL;
        domain_obj_lock(dom);
        if (domain_obj_begin_job(ctx, dom, "domain.define", ctx->job_wait_ms) < 0) {
            domain_obj_unlock(dom);
            domain_obj_unref(dom);
            return NULL;
        }
        if (api_domain_save_config(ctx, dom) < 0) {
            api_domain_remove(ctx, dom);
            return api_dom_end(ctx, dom, -1, false);
        }
        api_event_domain(ctx, dom, "lifecycle", "defined", "added", NULL);
    } else {
        domain_obj_lock(dom);
        if (dom->is_host || memcmp(dom->def->uuid, def->uuid, 16) != 0) {
            xend_error_report(XEND_ERR_DOMAIN_EXISTS,
                              "a domain named '%s' already exists with another uuid",
                              def->name);
            domain_obj_unlock(dom);
            domain_obj_unref(dom);
            domain_def_free(def);
            return NULL;
        }
        if (domain_obj_begin_job(ctx, dom, "domain.define", ctx->job_wait_ms) < 0) {
            domain_obj_unlock(dom);
            domain_obj_unref(dom);
            domain_def_free(def);
            return NULL;
        }
        bool active = domain_state_is_active(dom->state);
        domain_def *old = active ? dom->next_def : dom->def;
        bool was_persistent = dom->persistent;
        if (active)
            dom->next_def = def;
        else
            dom->def = def;
        dom->persistent = true;
        if (api_domain_save_config(ctx, dom) < 0) {
            if (active)
                dom->next_def = old;
            else
                dom->def = old;
            dom->persistent = was_persistent;
            domain_def_free(def);
            return api_dom_end(ctx, dom, -1, false);
        }
        domain_def_free(old);
        api_event_domain(ctx, dom, "lifecycle", "defined", "updated", NULL);
    }
    xmlrpc_value *row = api_dom_end(ctx, dom, 0, true);
    xmlrpc_struct_set(row, "warnings", warnings_value(w));
    return row;
}

xmlrpc_value *api_domain_define(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_warnings w = {0};
    domain_def *def = parse_checked(ctx, api_arg_string(params, 0), &w);
    xmlrpc_value *r = def ? api_domain_define_def(ctx, def, &w) : NULL;
    domain_warnings_clear(&w);
    return r;
}

xmlrpc_value *api_domain_undefine(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    static const char *const known[] = {"managed_save", NULL};
    const xmlrpc_value *flags = api_arg(params, 1);
    if (flags_check(flags, known) < 0)
        return NULL;
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.undefine");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "undefine");
    if (rc == 0 && !dom->persistent) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is transient: it has no configuration to remove",
                          dom->def->name);
        rc = -1;
    }
    if (rc == 0 && dom->state == DOMAIN_STATE_SUSPENDED) {
        if (!flag_get(flags, "managed_save", 0)) {
            xend_error_report(XEND_ERR_OPERATION_INVALID,
                              "domain '%s' is suspended: undefining it would discard its saved "
                              "state; resume it first, or pass {managed_save: true} to delete "
                              "the image too",
                              dom->def->name);
            rc = -1;
        } else {
            rc = domain_store_delete_save(ctx->store, dom->def->name);
        }
    }
    if (rc == 0)
        rc = domain_store_delete_config(ctx->store, dom->def->name);
    if (rc == 0) {
        dom->persistent = false;
        dom->autostart = false;
        domain_def_free(dom->next_def);
        dom->next_def = NULL;
        if (!domain_state_is_active(dom->state)) {
            dom->state = DOMAIN_STATE_SHUTOFF;
            api_event_domain(ctx, dom, "lifecycle", "undefined", "removed", NULL);
            api_domain_remove(ctx, dom);
        } else {
            api_domain_save_status(ctx, dom);
            api_event_domain(ctx, dom, "lifecycle", "undefined", "removed", NULL);
        }
    }
    return api_dom_end(ctx, dom, rc, false);
}

xmlrpc_value *api_domain_create(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    static const char *const known[] = {"paused", NULL};
    const xmlrpc_value *flags = api_arg(params, 1);
    if (flags_check(flags, known) < 0)
        return NULL;
    domain_warnings w = {0};
    domain_def *def = parse_checked(ctx, api_arg_string(params, 0), &w);
    if (!def) {
        domain_warnings_clear(&w);
        return NULL;
    }
    domain_obj *dom = api_domain_add(ctx, def, false);
    if (!dom) {
        domain_warnings_clear(&w);
        return NULL;
    }
    domain_obj_lock(dom);
    int rc = domain_obj_begin_job(ctx, dom, "domain.create", ctx->job_wait_ms);
    if (rc < 0) {
        domain_obj_unlock(dom);
        domain_obj_unref(dom);
        domain_warnings_clear(&w);
        return NULL;
    }
    rc = api_domain_start_locked(ctx, dom, flag_get(flags, "paused", 0), false);
    if (rc < 0)
        api_domain_remove(ctx, dom);
    xmlrpc_value *row = api_dom_end(ctx, dom, rc, true);
    if (row)
        xmlrpc_struct_set(row, "warnings", warnings_value(&w));
    domain_warnings_clear(&w);
    return row;
}

/* ---- lifecycle ---- */

xmlrpc_value *api_domain_start(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.start");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "start");
    if (rc == 0)
        rc = require_inactive(dom, "start");
    if (rc == 0)
        rc = api_domain_start_locked(ctx, dom, api_arg_bool(params, 1, false), false);
    return api_dom_end(ctx, dom, rc, true);
}

static xmlrpc_value *shutdown_common(xmlrpc_caller *caller, const char *name,
                                     hv_shutdown_mode mode, const char *job)
{
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, name, job);
    if (!dom)
        return NULL;
    const char *verb = mode == HV_SHUTDOWN_REBOOT ? "reboot" : "shut down";
    int rc = api_domain_refuse_host(dom, verb);
    if (rc == 0)
        rc = api_require_active(dom, verb);
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_shutdown, verb);
    if (rc == 0)
        rc = ctx->driver->domain_shutdown(ctx, dom, mode);
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_shutdown_mode(xmlrpc_caller *caller, const char *name,
                                       hv_shutdown_mode mode)
{
    return shutdown_common(caller, name, mode,
                           mode == HV_SHUTDOWN_REBOOT ? "domain.reboot" : "domain.shutdown");
}

xmlrpc_value *api_domain_shutdown(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    return shutdown_common(caller, api_arg_string(params, 0), HV_SHUTDOWN_POWEROFF,
                           "domain.shutdown");
}

xmlrpc_value *api_domain_reboot(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    return shutdown_common(caller, api_arg_string(params, 0), HV_SHUTDOWN_REBOOT,
                           "domain.reboot");
}

xmlrpc_value *api_domain_destroy(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.destroy");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "destroy");
    if (rc == 0 && dom->state == DOMAIN_STATE_CRASHED) {
        /* Kept by on_crash=preserve: destroying it clears it (a transient one goes). */
        api_domain_set_state(ctx, dom, DOMAIN_STATE_SHUTOFF, DOMAIN_REASON_DESTROYED, "stopped",
                             "destroyed");
        if (!dom->persistent)
            api_domain_remove(ctx, dom);
        return api_dom_end(ctx, dom, 0, true);
    }
    if (rc == 0)
        rc = api_require_active(dom, "destroy");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_destroy, "destroy");
    if (rc == 0)
        rc = ctx->driver->domain_destroy(ctx, dom);
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_pause(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.pause");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "pause");
    if (rc == 0)
        rc = api_require_active(dom, "pause");
    if (rc == 0 && dom->state != DOMAIN_STATE_PAUSED) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_pause, "pause");
        if (rc == 0)
            rc = ctx->driver->domain_pause(ctx, dom);
    }
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_unpause(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.unpause");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "unpause");
    if (rc == 0)
        rc = api_require_active(dom, "unpause");
    if (rc == 0 && dom->state == DOMAIN_STATE_PAUSED) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_unpause, "unpause");
        if (rc == 0)
            rc = ctx->driver->domain_unpause(ctx, dom);
    }
    return api_dom_end(ctx, dom, rc, true);
}

static int check_abs_path(const char *path)
{
    if (path[0] != '/') {
        xend_error_report(XEND_ERR_INVALID_ARG, "'%.*s%s' is not an absolute file path",
                          API_ECHO(path));
        return -1;
    }
    if (strlen(path) > 4096) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "the file path '%.*s%s' is %zu bytes long (at most 4096)", API_ECHO(path),
                          strlen(path));
        return -1;
    }
    return 0;
}

xmlrpc_value *api_domain_save(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *path = api_arg_string(params, 1);
    if (check_abs_path(path) < 0)
        return NULL;
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.save");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "save");
    if (rc == 0)
        rc = api_require_active(dom, "save");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_save, "save domains");
    if (rc == 0)
        rc = ctx->driver->domain_save(ctx, dom, path);
    return api_dom_end(ctx, dom, rc, false);
}

/* A save image is a regular file. Anything else is refused before a driver opens it: a
 * FIFO without a writer would block the driver's open() in a job worker for good (and
 * with it the daemon's shutdown), a device could be read forever. A path that cannot be
 * stat'ed is left to the driver, which names the system error. */
static int check_restore_file(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s' is not a xend save image (not a regular file)", path);
        return -1;
    }
    return 0;
}

xmlrpc_value *api_domain_restore(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *path = api_arg_string(params, 0);
    if (check_abs_path(path) < 0 || check_restore_file(path) < 0 ||
        api_require_driver(ctx, (const void *)ctx->driver->save_image_def, "restore domains") < 0)
        return NULL;
    domain_def *def = ctx->driver->save_image_def(ctx->driver_priv, path);
    if (!def)
        return NULL;
    /* A persistent domain of the same name and uuid that is not running is restored in
     * place; otherwise the domain comes back as a transient one. */
    bool created;
    domain_obj *dom = api_domain_incoming(ctx, def, "domain.restore", &created);
    if (!dom) {
        domain_def_free(def);
        return NULL;
    }
    /* The guest runs with the image's definition (taken); a persistent domain keeps its
     * stored configuration for the next boot. */
    bool was_suspended = dom->state == DOMAIN_STATE_SUSPENDED;
    int rc = require_inactive(dom, "restore");
    if (rc == 0)
        rc = api_domain_restore_locked(ctx, dom, path, def, api_arg_bool(params, 1, false));
    else
        domain_def_free(def);
    /* The guest now runs from the file: a managed-save image would be stale state. */
    if (rc == 0 && was_suspended)
        domain_store_delete_save(ctx->store, dom->def->name);
    if (rc < 0 && created)
        api_domain_remove(ctx, dom);
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_suspend(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.suspend");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "suspend");
    if (rc == 0)
        rc = api_require_active(dom, "suspend");
    if (rc == 0 && !dom->persistent) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is transient: only persistent domains can be suspended "
                          "(use domain.save with a file)",
                          dom->def->name);
        rc = -1;
    }
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_save, "suspend domains");
    if (rc == 0) {
        char *path = domain_store_save_path(ctx->store, dom->def->name);
        dom->managed_save = true;
        rc = ctx->driver->domain_save(ctx, dom, path);
        free(path);
    }
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_resume(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.resume");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "resume");
    if (rc == 0 && dom->state != DOMAIN_STATE_SUSPENDED) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "cannot resume domain '%s': it is %s, not suspended", dom->def->name,
                          domain_state_name(dom->state));
        rc = -1;
    }
    if (rc == 0)
        rc = api_domain_start_locked(ctx, dom, api_arg_bool(params, 1, false), false);
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_get_xml(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    domain_obj *dom = dom_read(caller, api_arg_string(params, 0));
    if (!dom)
        return NULL;
    xbuf out = XBUF_INIT;
    domain_xml_format(api_arg_bool(params, 1, false) ? api_domain_persistent_def(dom) : dom->def,
                      &out, 0);
    dom_read_end(dom);
    size_t len;
    char *text = xbuf_steal(&out, &len);
    return xmlrpc_string_take(text);
}

xmlrpc_value *api_domain_rename(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *new_name = api_arg_string(params, 1);
    if (domain_name_check(new_name) < 0)
        return NULL;
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.rename");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "rename");
    if (rc == 0 && strcmp(dom->def->name, new_name) != 0) {
        char *old = xstrdup(dom->def->name);
        rc = api_domain_rename_index(ctx, dom, new_name);
        if (rc == 0 && (dom->persistent || domain_state_is_active(dom->state) ||
                        dom->state == DOMAIN_STATE_SUSPENDED)) {
            rc = domain_store_rename(ctx->store, old, new_name);
            if (rc == 0 && dom->persistent)
                rc = api_domain_save_config(ctx, dom);
            if (rc < 0) {
                /* Put the name back so memory and disk agree. */
                char *err = xstrdup(xend_error_last()->message);
                int code = xend_error_last()->code;
                api_domain_rename_index(ctx, dom, old);
                xend_error_report(code, "%s", err);
                free(err);
            }
        }
        if (rc == 0) {
            api_domain_save_status(ctx, dom);
            xmlrpc_value *extra = xmlrpc_struct();
            xmlrpc_struct_set(extra, "old_name", xmlrpc_string(old));
            api_event_domain(ctx, dom, "lifecycle", "defined", "renamed", extra);
        }
        free(old);
    }
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_set_autostart(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.set_autostart");
    if (!dom)
        return NULL;
    bool on = api_arg_bool(params, 1, false);
    int rc = api_domain_refuse_host(dom, "change autostart of");
    if (rc == 0 && !dom->persistent) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is transient: only persistent domains can autostart",
                          dom->def->name);
        rc = -1;
    }
    if (rc == 0 && dom->autostart != on) {
        rc = domain_store_set_autostart(ctx->store, dom->def->name, on);
        if (rc == 0) {
            dom->autostart = on;
            api_event_domain(ctx, dom, "config", "autostart", on ? "enabled" : "disabled", NULL);
        }
    }
    return api_dom_end(ctx, dom, rc, false);
}
