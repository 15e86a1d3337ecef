/*
 * Domain objects, the domain list and the context that holds them. Everything here is
 * hypervisor-independent: name/id/uuid indexes, reference counts, the per-domain job,
 * state changes with their events and status files, what happens when a guest goes away
 * (on_poweroff / on_crash), disk claims between running domains, and loading the store at
 * start-up (configs, status files of running domains, managed saves, autostart).
 */
#include "api_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- names ---- */

static const char *const state_names[DOMAIN_STATE_LAST] = {
    "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "suspended",
};
static const char *const state_flags[DOMAIN_STATE_LAST] = {
    "r-----", "-b----", "--p---", "---s--", "------", "----c-", "------",
};
static const char *const reason_names[DOMAIN_REASON_LAST] = {
    "unknown",   "booted",  "unpaused",  "restored", "migrated",  "rebooted",    "user",
    "save",      "migration", "starting-up", "shutdown", "destroyed", "crashed", "saved",
    "failed",    "daemon",  "panicked",  "managed-save", "defined",
};

const char *domain_state_name(domain_state s)
{
    return s < DOMAIN_STATE_LAST ? state_names[s] : "unknown";
}

int domain_state_parse(const char *s)
{
    for (int i = 0; i < DOMAIN_STATE_LAST; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

const char *domain_reason_name(domain_reason r)
{
    return r < DOMAIN_REASON_LAST ? reason_names[r] : "unknown";
}

int domain_reason_parse(const char *s)
{
    for (int i = 0; i < DOMAIN_REASON_LAST; i++)
        if (strcmp(s, reason_names[i]) == 0)
            return i;
    return -1;
}

const char *domain_state_flags(domain_state s)
{
    return s < DOMAIN_STATE_LAST ? state_flags[s] : "------";
}

bool domain_state_is_active(domain_state s)
{
    return s == DOMAIN_STATE_RUNNING || s == DOMAIN_STATE_BLOCKED || s == DOMAIN_STATE_PAUSED ||
           s == DOMAIN_STATE_SHUTDOWN;
}

/* ---- objects ---- */

void domain_obj_lock(domain_obj *dom)
{
    pthread_mutex_lock(&dom->lock);
}

void domain_obj_unlock(domain_obj *dom)
{
    pthread_mutex_unlock(&dom->lock);
}

void domain_obj_ref(domain_obj *dom)
{
    __atomic_add_fetch(&dom->refs, 1, __ATOMIC_ACQ_REL);
}

static const hv_driver *obj_driver; /* for priv_free; one driver per process */

void domain_obj_unref(domain_obj *dom)
{
    if (!dom || __atomic_sub_fetch(&dom->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (dom->priv && obj_driver && obj_driver->domain_priv_free)
        obj_driver->domain_priv_free(dom->priv);
    domain_def_free(dom->def);
    domain_def_free(dom->next_def);
    free(dom->list_name);
    pthread_mutex_destroy(&dom->lock);
    pthread_cond_destroy(&dom->job_cond);
    free(dom);
}

static domain_obj *domain_obj_new(domain_def *def, bool persistent)
{
    domain_obj *dom = xmalloc(sizeof(*dom));
    memset(dom, 0, sizeof(*dom));
    pthread_mutex_init(&dom->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&dom->job_cond, &ca);
    pthread_condattr_destroy(&ca);
    dom->refs = 1;
    dom->def = def;
    dom->persistent = persistent;
    dom->id = -1;
    dom->state = DOMAIN_STATE_SHUTOFF;
    dom->reason = DOMAIN_REASON_DEFINED;
    return dom;
}

static double elapsed_s(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

int domain_obj_begin_job(api_ctx *ctx, domain_obj *dom, const char *job, int wait_ms)
{
    (void)ctx;
    if (dom->job && wait_ms != 0) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        if (wait_ms > 0) {
            deadline.tv_sec += wait_ms / 1000;
            deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
        }
        while (dom->job) {
            if (wait_ms < 0) {
                pthread_cond_wait(&dom->job_cond, &dom->lock);
            } else if (pthread_cond_timedwait(&dom->job_cond, &dom->lock, &deadline) ==
                       ETIMEDOUT) {
                break;
            }
        }
    }
    if (dom->job) {
        xend_error_report(XEND_ERR_OPERATION_IN_PROGRESS,
                          "domain '%s' is busy with %s (running for %.0f s); try again later "
                          "or cancel it with domain.job_abort",
                          dom->def->name, dom->job, elapsed_s(&dom->job_start));
        return -1;
    }
    dom->job = job;
    clock_gettime(CLOCK_MONOTONIC, &dom->job_start);
    dom->job_total = dom->job_done = 0;
    dom->job_abort = false;
    dom->job_reported = -1;
    return 0;
}

void domain_obj_end_job(domain_obj *dom)
{
    dom->job = NULL;
    dom->job_abort = false;
    dom->managed_save = false;
    pthread_cond_broadcast(&dom->job_cond);
}

/* ---- the list ---- */

static void uuid_key(const uint8_t uuid[16], char out[37])
{
    domain_uuid_format(uuid, out);
}

/* Index of name in the sorted array, or the insertion point with *found false. */
static size_t list_find(api_ctx *ctx, const char *name, bool *found)
{
    size_t lo = 0, hi = ctx->nobjs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ctx->objs[mid]->list_name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Insert dom under name (list lock held; the list keeps its own copy of the name). */
static void list_insert(api_ctx *ctx, domain_obj *dom, const char *name)
{
    bool found;
    size_t at = list_find(ctx, name, &found);
    free(dom->list_name);
    dom->list_name = xstrdup(name);
    if (ctx->nobjs == ctx->cap) {
        ctx->cap = ctx->cap ? ctx->cap * 2 : 64;
        ctx->objs = xrealloc(ctx->objs, ctx->cap * sizeof(*ctx->objs));
    }
    memmove(ctx->objs + at + 1, ctx->objs + at, (ctx->nobjs - at) * sizeof(*ctx->objs));
    ctx->objs[at] = dom;
    ctx->nobjs++;
}

static void list_delete(api_ctx *ctx, const char *name)
{
    bool found;
    size_t at = list_find(ctx, name, &found);
    if (!found)
        return;
    memmove(ctx->objs + at, ctx->objs + at + 1, (ctx->nobjs - at - 1) * sizeof(*ctx->objs));
    ctx->nobjs--;
}

/* Is s all decimal digits (an id)? */
static bool is_id(const char *s)
{
    if (!*s || strlen(s) > 9)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

domain_obj *api_domain_find(api_ctx *ctx, const char *name)
{
    domain_obj *dom = NULL;
    pthread_mutex_lock(&ctx->list_lock);
    if (ctx->host && strcmp(name, ctx->host->def->name) == 0)
        dom = ctx->host;
    if (!dom)
        dom = xhash_get(ctx->by_name, name);
    if (!dom && is_id(name))
        dom = xhash_get(ctx->by_id, name);
    if (!dom) {
        uint8_t uuid[16];
        char key[37];
        if (domain_uuid_parse(name, uuid) == 0) {
            uuid_key(uuid, key);
            dom = xhash_get(ctx->by_uuid, key);
        }
    }
    if (dom)
        domain_obj_ref(dom);
    pthread_mutex_unlock(&ctx->list_lock);
    if (!dom)
        xend_error_report(XEND_ERR_NO_DOMAIN, "domain '%.*s%s' does not exist", API_ECHO(name));
    return dom;
}

void api_domain_foreach(api_ctx *ctx, void (*fn)(domain_obj *dom, void *opaque), void *opaque)
{
    /* Snapshot the list with references so fn runs without the list lock. */
    pthread_mutex_lock(&ctx->list_lock);
    size_t n = ctx->nobjs + (ctx->host ? 1 : 0);
    domain_obj **snap = xmalloc((n ? n : 1) * sizeof(*snap));
    size_t k = 0;
    if (ctx->host)
        snap[k++] = ctx->host;
    for (size_t i = 0; i < ctx->nobjs; i++)
        snap[k++] = ctx->objs[i];
    for (size_t i = 0; i < k; i++)
        domain_obj_ref(snap[i]);
    pthread_mutex_unlock(&ctx->list_lock);
    for (size_t i = 0; i < k; i++) {
        domain_obj_lock(snap[i]);
        if (!snap[i]->removed)
            fn(snap[i], opaque);
        domain_obj_unlock(snap[i]);
        domain_obj_unref(snap[i]);
    }
    free(snap);
}

size_t api_ctx_domain_count(api_ctx *ctx)
{
    pthread_mutex_lock(&ctx->list_lock);
    size_t n = ctx->nobjs + (ctx->host ? 1 : 0);
    pthread_mutex_unlock(&ctx->list_lock);
    return n;
}

domain_obj *api_domain_add(api_ctx *ctx, domain_def *def, bool persistent)
{
    char key[37];
    uuid_key(def->uuid, key);
    pthread_mutex_lock(&ctx->list_lock);
    domain_obj *other = xhash_get(ctx->by_name, def->name);
    if (other || (ctx->host && strcmp(def->name, ctx->host->def->name) == 0)) {
        pthread_mutex_unlock(&ctx->list_lock);
        xend_error_report(XEND_ERR_DOMAIN_EXISTS, "a domain named '%s' already exists",
                          def->name);
        domain_def_free(def);
        return NULL;
    }
    other = xhash_get(ctx->by_uuid, key);
    if (other) {
        xend_error_report(XEND_ERR_DOMAIN_EXISTS, "domain '%s' already has uuid %s",
                          other->list_name, key);
        pthread_mutex_unlock(&ctx->list_lock);
        domain_def_free(def);
        return NULL;
    }
    domain_obj *dom = domain_obj_new(def, persistent);
    xhash_set(ctx->by_name, def->name, dom);
    xhash_set(ctx->by_uuid, key, dom);
    list_insert(ctx, dom, def->name);
    domain_obj_ref(dom);
    pthread_mutex_unlock(&ctx->list_lock);
    return dom;
}

void api_domain_remove(api_ctx *ctx, domain_obj *dom)
{
    char key[37];
    if (dom->removed || dom->is_host)
        return;
    uuid_key(dom->def->uuid, key);
    pthread_mutex_lock(&ctx->list_lock);
    if (xhash_get(ctx->by_name, dom->def->name) == dom) {
        xhash_remove(ctx->by_name, dom->def->name);
        list_delete(ctx, dom->list_name);
    }
    if (xhash_get(ctx->by_uuid, key) == dom)
        xhash_remove(ctx->by_uuid, key);
    if (dom->id >= 0) {
        char idkey[16];
        snprintf(idkey, sizeof(idkey), "%d", dom->id);
        if (xhash_get(ctx->by_id, idkey) == dom)
            xhash_remove(ctx->by_id, idkey);
    }
    dom->removed = true;
    pthread_mutex_unlock(&ctx->list_lock);
    pthread_cond_broadcast(&dom->job_cond);
    /* The list's reference; the caller still holds its own. */
    domain_obj_unref(dom);
}

int api_domain_rename_index(api_ctx *ctx, domain_obj *dom, const char *new_name)
{
    pthread_mutex_lock(&ctx->list_lock);
    if (xhash_get(ctx->by_name, new_name) ||
        (ctx->host && strcmp(new_name, ctx->host->def->name) == 0)) {
        pthread_mutex_unlock(&ctx->list_lock);
        xend_error_report(XEND_ERR_DOMAIN_EXISTS, "a domain named '%s' already exists",
                          new_name);
        return -1;
    }
    xhash_remove(ctx->by_name, dom->def->name);
    list_delete(ctx, dom->list_name);
    free(dom->def->name);
    dom->def->name = xstrdup(new_name);
    if (dom->next_def) {
        free(dom->next_def->name);
        dom->next_def->name = xstrdup(new_name);
    }
    xhash_set(ctx->by_name, new_name, dom);
    list_insert(ctx, dom, new_name);
    pthread_mutex_unlock(&ctx->list_lock);
    return 0;
}

int api_domain_alloc_id(api_ctx *ctx, domain_obj *dom)
{
    char key[16];
    pthread_mutex_lock(&ctx->list_lock);
    if (ctx->next_id <= 0 || ctx->next_id > 999999999)
        ctx->next_id = 1;
    /* Ids are never reused while the daemon runs (like Xen's domids), except on wrap. */
    do {
        snprintf(key, sizeof(key), "%d", ctx->next_id++);
    } while (xhash_get(ctx->by_id, key));
    dom->id = atoi(key);
    xhash_set(ctx->by_id, key, dom);
    pthread_mutex_unlock(&ctx->list_lock);
    return dom->id;
}

int api_domain_relocated(api_ctx *ctx, domain_obj *dom)
{
    char key[16], old_key[16];
    int old_id = dom->id;
    if (old_id <= 0) {
        xend_error_report(XEND_ERR_INTERNAL, "domain '%s' has no id to replace", dom->def->name);
        return -1;
    }
    pthread_mutex_lock(&ctx->list_lock);
    if (ctx->next_id <= 0 || ctx->next_id > 999999999)
        ctx->next_id = 1;
    do {
        snprintf(key, sizeof(key), "%d", ctx->next_id++);
    } while (xhash_get(ctx->by_id, key));
    int new_id = atoi(key);
    /* Taken before the event, which names it; the old id goes once the event is posted
     * (the event carries the id the domain had). */
    xhash_set(ctx->by_id, key, dom);
    pthread_mutex_unlock(&ctx->list_lock);

    xmlrpc_value *extra = xmlrpc_struct();
    xmlrpc_struct_set(extra, "new_domid", xmlrpc_int(new_id));
    api_event_domain(ctx, dom, "lifecycle", "migrated", "relocated", extra);

    snprintf(old_key, sizeof(old_key), "%d", old_id);
    pthread_mutex_lock(&ctx->list_lock);
    if (xhash_get(ctx->by_id, old_key) == dom)
        xhash_remove(ctx->by_id, old_key);
    dom->id = new_id;
    pthread_mutex_unlock(&ctx->list_lock);
    dom->start_time = time(NULL);
    api_ctx_log(ctx, "domain %s relocated: id %d is now %d", dom->def->name, old_id, new_id);
    return new_id;
}

/* Re-register an id read from a status file. */
static int domain_claim_id(api_ctx *ctx, domain_obj *dom, int id)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", id);
    pthread_mutex_lock(&ctx->list_lock);
    if (id <= 0 || xhash_get(ctx->by_id, key)) {
        pthread_mutex_unlock(&ctx->list_lock);
        return -1;
    }
    dom->id = id;
    xhash_set(ctx->by_id, key, dom);
    if (id >= ctx->next_id)
        ctx->next_id = id + 1;
    pthread_mutex_unlock(&ctx->list_lock);
    return 0;
}

void api_domain_release_id(api_ctx *ctx, domain_obj *dom)
{
    if (dom->id <= 0)
        return;
    char key[16];
    snprintf(key, sizeof(key), "%d", dom->id);
    pthread_mutex_lock(&ctx->list_lock);
    if (xhash_get(ctx->by_id, key) == dom)
        xhash_remove(ctx->by_id, key);
    pthread_mutex_unlock(&ctx->list_lock);
    dom->id = -1;
}

/* ---- events and state ---- */

xmlrpc_value *api_event_device_extra(const char *kind, const char *id)
{
    xmlrpc_value *extra = xmlrpc_struct();
    xmlrpc_struct_set(extra, "device", xmlrpc_string(id));
    xmlrpc_struct_set(extra, "kind", xmlrpc_string(kind));
    return extra;
}

void api_event_domain(api_ctx *ctx, domain_obj *dom, const char *type, const char *event,
                      const char *detail, xmlrpc_value *extra)
{
    char uuid[37];
    xmlrpc_value *ev = xmlrpc_struct();
    domain_uuid_format(dom->def->uuid, uuid);
    xmlrpc_struct_set(ev, "class", xmlrpc_string("domain"));
    xmlrpc_struct_set(ev, "type", xmlrpc_string(type));
    xmlrpc_struct_set(ev, "event", xmlrpc_string(event));
    xmlrpc_struct_set(ev, "detail", xmlrpc_string(detail ? detail : ""));
    xmlrpc_struct_set(ev, "domain", xmlrpc_string(dom->def->name));
    xmlrpc_struct_set(ev, "uuid", xmlrpc_string(uuid));
    xmlrpc_struct_set(ev, "domid", xmlrpc_int(dom->id));
    xmlrpc_struct_set(ev, "state", xmlrpc_string(domain_state_name(dom->state)));
    xmlrpc_struct_set(ev, "reason", xmlrpc_string(domain_reason_name(dom->reason)));
    if (extra) {
        for (size_t i = 0; i < extra->u.st.n; i++)
            xmlrpc_struct_set(ev, extra->u.st.m[i].name,
                              xmlrpc_value_copy(extra->u.st.m[i].value));
        xmlrpc_value_free(extra);
    }
    event_ring_post(ctx->events, ev);
}

void api_job_progress(api_ctx *ctx, domain_obj *dom, uint64_t done, uint64_t total)
{
    dom->job_total = total;
    dom->job_done = done > total ? total : done;
    int decile = total ? (int)(dom->job_done * 10 / total) : 0;
    if (decile <= dom->job_reported)
        return;
    dom->job_reported = decile;
    xmlrpc_value *extra = xmlrpc_struct();
    xmlrpc_struct_set(extra, "job", xmlrpc_string(dom->job ? dom->job : ""));
    xmlrpc_struct_set(extra, "progress", xmlrpc_int(decile * 10));
    xmlrpc_struct_set(extra, "done", xmlrpc_i8((int64_t)dom->job_done));
    xmlrpc_struct_set(extra, "total", xmlrpc_i8((int64_t)total));
    api_event_domain(ctx, dom, "job", "progress", dom->job ? dom->job : "", extra);
}

void api_domain_set_state(api_ctx *ctx, domain_obj *dom, domain_state state,
                          domain_reason reason, const char *event, const char *detail)
{
    dom->state = state;
    dom->reason = reason;
    if (domain_state_is_active(state))
        api_domain_save_status(ctx, dom);
    else
        domain_store_delete_status(ctx->store, dom->def->name);
    if (event)
        api_event_domain(ctx, dom, "lifecycle", event, detail, NULL);
}

int api_domain_save_status(api_ctx *ctx, domain_obj *dom)
{
    if (dom->is_host || !domain_state_is_active(dom->state))
        return 0;
    xbuf text = XBUF_INIT;
    xbuf_printf(&text,
                "<domstatus state='%s' reason='%s' id='%d' start_time='%lld' persistent='%s'>\n",
                domain_state_name(dom->state), domain_reason_name(dom->reason), dom->id,
                (long long)dom->start_time, dom->persistent ? "yes" : "no");
    xml_node *drv = xml_node_new("driver");
    xml_node_set_attr(drv, "name", ctx->driver->name);
    if (ctx->driver->domain_status_format)
        ctx->driver->domain_status_format(ctx, dom, drv);
    xml_format(drv, &text, 1);
    xml_node_free(drv);
    domain_xml_format(dom->def, &text, 1);
    xbuf_adds(&text, "</domstatus>\n");
    /* Written as formatted: parsing it back into a tree here only to format it again
     * would double the cost of every state change. */
    int rc = domain_store_save_status_text(ctx->store, dom->def->name, text.data, text.len);
    xbuf_clear(&text);
    if (rc < 0)
        log_error("cannot write the status of domain '%s': %s", dom->def->name,
                  xend_error_last()->message);
    return rc;
}

domain_def *api_domain_persistent_def(domain_obj *dom)
{
    return dom->next_def ? dom->next_def : dom->def;
}

int api_domain_save_config(api_ctx *ctx, domain_obj *dom)
{
    if (!dom->persistent || dom->is_host)
        return 0;
    return domain_store_save_config(ctx->store, api_domain_persistent_def(dom));
}

int api_domain_refuse_host(domain_obj *dom, const char *what)
{
    if (!dom->is_host)
        return 0;
    xend_error_report(XEND_ERR_OPERATION_INVALID,
                      "cannot %s %s: it is the host itself (domain 0)", what, dom->def->name);
    return -1;
}

/* ---- disk claims: a writable, non-shareable disk belongs to one running domain ---- */

static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    unsigned exclusive, shared;
    char owner[DOMAIN_NAME_MAX + 1]; /* a domain using it, for messages */
} disk_use;

bool api_disk_is_exclusive(const domain_disk *d)
{
    return !d->readonly && !d->shareable && d->device != DOMAIN_DISK_CDROM;
}

static xhash *disk_uses; /* path -> disk_use; process-wide (one context per process) */

static int disk_claim_locked(const domain_disk *d, const char *owner)
{
    if (!d->source)
        return 0;
    if (!disk_uses)
        disk_uses = xhash_new();
    disk_use *u = xhash_get(disk_uses, d->source);
    if (u && (u->exclusive || (api_disk_is_exclusive(d) && u->shared)) &&
        strcmp(u->owner, owner) == 0) {
        xend_error_report(XEND_ERR_DISK_IN_USE,
                          "domain '%s' uses disk '%s' twice; an image can back two disks "
                          "only if both are readonly or shareable",
                          owner, d->source);
        return -1;
    }
    if (u && (u->exclusive || (api_disk_is_exclusive(d) && u->shared))) {
        xend_error_report(XEND_ERR_DISK_IN_USE,
                          "disk '%s' is in use by running domain '%s'%s", d->source, u->owner,
                          api_disk_is_exclusive(d) ? "; mark it shareable or readonly to share it"
                                               : "");
        return -1;
    }
    if (!u) {
        u = xmalloc(sizeof(*u));
        memset(u, 0, sizeof(*u));
        xhash_set(disk_uses, d->source, u);
    }
    if (api_disk_is_exclusive(d))
        u->exclusive++;
    else
        u->shared++;
    snprintf(u->owner, sizeof(u->owner), "%s", owner);
    return 0;
}

static void disk_release_locked(const domain_disk *d)
{
    if (!d->source || !disk_uses)
        return;
    disk_use *u = xhash_get(disk_uses, d->source);
    if (!u)
        return;
    if (api_disk_is_exclusive(d)) {
        if (u->exclusive)
            u->exclusive--;
    } else if (u->shared) {
        u->shared--;
    }
    if (!u->exclusive && !u->shared)
        free(xhash_remove(disk_uses, d->source));
}

int api_disk_claim(const domain_disk *d, const char *owner)
{
    pthread_mutex_lock(&disk_lock);
    int rc = disk_claim_locked(d, owner);
    pthread_mutex_unlock(&disk_lock);
    return rc;
}

void api_disk_release(const domain_disk *d)
{
    pthread_mutex_lock(&disk_lock);
    disk_release_locked(d);
    pthread_mutex_unlock(&disk_lock);
}

static int disks_claim(const domain_def *def)
{
    pthread_mutex_lock(&disk_lock);
    for (size_t i = 0; i < def->ndisks; i++) {
        if (disk_claim_locked(&def->disks[i], def->name) < 0) {
            while (i-- > 0)
                disk_release_locked(&def->disks[i]);
            pthread_mutex_unlock(&disk_lock);
            return -1;
        }
    }
    pthread_mutex_unlock(&disk_lock);
    return 0;
}

static void disks_release(const domain_def *def)
{
    pthread_mutex_lock(&disk_lock);
    for (size_t i = 0; i < def->ndisks; i++)
        disk_release_locked(&def->disks[i]);
    pthread_mutex_unlock(&disk_lock);
}

int api_disk_check_access(const domain_disk *d)
{
    if (!d->source)
        return 0;
    int fd = open(d->source, (d->readonly || d->device == DOMAIN_DISK_CDROM ? O_RDONLY : O_RDWR) |
                                 O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_DISK_ACCESS, errno, "cannot open disk '%s' (%s)",
                                d->source, d->target ? d->target : "?");
        return -1;
    }
    close(fd);
    return 0;
}

int api_domain_check_host(api_ctx *ctx, const domain_def *def, domain_obj *self)
{
    (void)self;
    hv_node_info ni;
    memset(&ni, 0, sizeof(ni));
    if (ctx->driver->node_info && ctx->driver->node_info(ctx->driver_priv, &ni) < 0)
        return -1;
    if (ni.memory_kib && def->memory_kib > ni.memory_kib) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "memory of %" PRIu64 " MiB exceeds the host's %" PRIu64 " MiB",
                          def->memory_kib / 1024, ni.memory_kib / 1024);
        return -1;
    }
    if (def->cpuset && ni.cpus) {
        uint8_t map[32];
        if (domain_cpulist_parse(def->cpuset, 256, map) < 0)
            return -1;
        for (unsigned c = ni.cpus; c < 256; c++) {
            if (map[c / 8] & (1u << (c % 8))) {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "cpuset '%s' names CPU %u but the host has %u CPUs",
                                  def->cpuset, c, ni.cpus);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- incoming guests ---- */

domain_obj *api_domain_incoming(api_ctx *ctx, const domain_def *def, const char *job,
                                bool *created)
{
    *created = false;
    domain_obj *dom = api_domain_find(ctx, def->name);
    if (dom) {
        domain_obj_lock(dom);
        bool same = !dom->is_host && memcmp(dom->def->uuid, def->uuid, 16) == 0;
        domain_obj_unlock(dom);
        if (!same) {
            xend_error_report(XEND_ERR_DOMAIN_EXISTS,
                              "a different domain named '%s' already exists", def->name);
            domain_obj_unref(dom);
            return NULL;
        }
    } else {
        xend_error_reset();
        dom = api_domain_add(ctx, domain_def_copy(def), false);
        if (!dom)
            return NULL;
        *created = true;
    }
    domain_obj_lock(dom);
    if (domain_obj_begin_job(ctx, dom, job, ctx->job_wait_ms) < 0) {
        if (*created)
            api_domain_remove(ctx, dom);
        domain_obj_unlock(dom);
        domain_obj_unref(dom);
        return NULL;
    }
    return dom;
}

/* ---- start and stop ---- */

/* Start dom from image (NULL: boot) with live as its live definition (taken; NULL: a copy
 * of the persistent one). */
static int domain_start_common(api_ctx *ctx, domain_obj *dom, const char *image,
                               domain_def *live, bool paused)
{
    if (!ctx->driver->domain_start) {
        xend_error_report(XEND_ERR_UNSUPPORTED, "the %s driver cannot start domains",
                          ctx->driver->name);
        domain_def_free(live);
        return -1;
    }
    domain_def *saved_def = dom->def;
    if (dom->persistent) {
        dom->next_def = dom->def;
        dom->def = live ? live : domain_def_copy(dom->def);
    } else if (live) {
        dom->def = live;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < dom->def->ndisks; i++)
        rc = api_disk_check_access(&dom->def->disks[i]);
    if (rc == 0)
        rc = disks_claim(dom->def);
    if (rc == 0) {
        rc = ctx->driver->domain_start(ctx, dom, image, paused);
        if (rc < 0)
            disks_release(dom->def);
    }
    if (rc < 0) {
        if (dom->def != saved_def)
            domain_def_free(dom->def);
        dom->def = saved_def;
        dom->next_def = NULL;
        if (dom->id >= 0)
            api_domain_release_id(ctx, dom);
        return -1;
    }
    if (!dom->persistent && saved_def != dom->def)
        domain_def_free(saved_def);
    dom->start_time = time(NULL);
    api_domain_save_status(ctx, dom);
    return 0;
}

int api_domain_start_locked(api_ctx *ctx, domain_obj *dom, bool paused, bool force_boot)
{
    char *image = NULL;
    domain_def *live = NULL;
    if (dom->persistent && domain_store_has_save(ctx->store, dom->def->name)) {
        if (force_boot) {
            domain_store_delete_save(ctx->store, dom->def->name);
        } else {
            image = domain_store_save_path(ctx->store, dom->def->name);
            /* The guest continues with the definition it was saved with. */
            if (ctx->driver->save_image_def &&
                !(live = ctx->driver->save_image_def(ctx->driver_priv, image))) {
                free(image);
                return -1;
            }
            /* The domain may have been renamed while suspended: it keeps its name. */
            if (live && strcmp(live->name, dom->def->name) != 0) {
                free(live->name);
                live->name = xstrdup(dom->def->name);
            }
        }
    }
    int rc = domain_start_common(ctx, dom, image, live, paused);
    if (rc == 0 && image)
        domain_store_delete_save(ctx->store, dom->def->name);
    free(image);
    return rc;
}

int api_domain_restore_locked(api_ctx *ctx, domain_obj *dom, const char *path, domain_def *live,
                              bool paused)
{
    return domain_start_common(ctx, dom, path, live, paused);
}

static void domain_stopped(api_ctx *ctx, domain_obj *dom, domain_reason reason, bool final)
{
    domain_action action = DOMAIN_ACTION_DESTROY;
    if (final)
        action = DOMAIN_ACTION_DESTROY;
    else if (reason == DOMAIN_REASON_SHUTDOWN)
        action = dom->def->on_poweroff;
    else if (reason == DOMAIN_REASON_CRASHED)
        action = dom->def->on_crash;

    disks_release(dom->def);
    api_domain_release_id(ctx, dom);
    domain_store_delete_status(ctx->store, dom->def->name);
    if (dom->next_def) {
        domain_def_free(dom->def);
        dom->def = dom->next_def;
        dom->next_def = NULL;
    }

    domain_state state = DOMAIN_STATE_SHUTOFF;
    if (reason == DOMAIN_REASON_CRASHED && action == DOMAIN_ACTION_PRESERVE)
        state = DOMAIN_STATE_CRASHED;
    if (reason == DOMAIN_REASON_SAVED && dom->managed_save) {
        state = DOMAIN_STATE_SUSPENDED;
        reason = DOMAIN_REASON_MANAGED_SAVE;
    }
    dom->state = state;
    dom->reason = reason == DOMAIN_REASON_CRASHED && state == DOMAIN_STATE_CRASHED
                      ? DOMAIN_REASON_PANICKED
                      : reason;
    api_event_domain(ctx, dom, "lifecycle",
                     state == DOMAIN_STATE_CRASHED     ? "crashed"
                     : state == DOMAIN_STATE_SUSPENDED ? "suspended"
                                                       : "stopped",
                     domain_reason_name(dom->reason), NULL);
    api_ctx_log(ctx, "domain %s stopped (%s)", dom->def->name, domain_reason_name(reason));

    bool restart = (action == DOMAIN_ACTION_RESTART || action == DOMAIN_ACTION_RENAME_RESTART) &&
                   (reason == DOMAIN_REASON_SHUTDOWN || reason == DOMAIN_REASON_CRASHED);
    if (restart) {
        if (api_domain_start_locked(ctx, dom, false, true) < 0) {
            log_error("cannot restart domain '%s': %s", dom->def->name,
                      xend_error_last()->message);
            dom->state = DOMAIN_STATE_SHUTOFF;
            dom->reason = DOMAIN_REASON_FAILED;
        }
        return;
    }
    if (!dom->persistent && state != DOMAIN_STATE_CRASHED)
        api_domain_remove(ctx, dom);
}

void api_domain_stopped(api_ctx *ctx, domain_obj *dom, domain_reason reason)
{
    domain_stopped(ctx, dom, reason, false);
}

void api_domain_stopped_final(api_ctx *ctx, domain_obj *dom, domain_reason reason)
{
    domain_stopped(ctx, dom, reason, true);
}

/* ---- the host's own domain ---- */

unsigned api_host_cpus(api_ctx *ctx)
{
    hv_node_info ni;
    memset(&ni, 0, sizeof(ni));
    if (ctx->driver->node_info && ctx->driver->node_info(ctx->driver_priv, &ni) == 0 && ni.cpus)
        return ni.cpus > 256 ? 256 : ni.cpus;
    return 1;
}

uint64_t api_host_cpu_ns(void)
{
    /* Domain-0 is the host: its cpu time is the host's busy time (user, nice, system,
     * irq, softirq, steal jiffies of /proc/stat's first line). */
    char buf[512];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long v[8] = {0};
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 4)
        return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (uint64_t)(busy * (1000000000ULL / (unsigned long long)hz)) : 0;
}

int api_domain_host_init(api_ctx *ctx)
{
    hv_node_info ni;
    memset(&ni, 0, sizeof(ni));
    if (ctx->driver->node_info && ctx->driver->node_info(ctx->driver_priv, &ni) < 0)
        return -1;
    domain_def *def = domain_def_new();
    free(def->name);
    def->name = xstrdup("Domain-0");
    memset(def->uuid, 0, sizeof(def->uuid));
    def->memory_kib = def->current_memory_kib = ni.host_domain_kib ? ni.host_domain_kib : 1024;
    def->vcpus = def->vcpus_current = ni.cpus ? ni.cpus : 1;
    free(def->virt_type);
    def->virt_type = xstrdup(ctx->driver->name);
    domain_obj *dom = domain_obj_new(def, false);
    dom->is_host = true;
    dom->id = 0;
    dom->state = DOMAIN_STATE_RUNNING;
    dom->reason = DOMAIN_REASON_BOOTED;
    dom->start_time = time(NULL);
    pthread_mutex_lock(&ctx->list_lock);
    ctx->host = dom;
    xhash_set(ctx->by_id, "0", dom);
    char key[37];
    uuid_key(def->uuid, key);
    xhash_set(ctx->by_uuid, key, dom);
    pthread_mutex_unlock(&ctx->list_lock);
    return 0;
}

/* ---- the context ---- */

void api_ctx_config_init(api_ctx_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->job_wait_ms = 30000;
    cfg->event_ring_size = EVENT_RING_DEFAULT;
    cfg->autostart = true;
}

api_ctx *api_ctx_new(const api_ctx_config *cfg)
{
    if (!cfg->driver || !cfg->config_dir || !cfg->save_dir || !cfg->run_dir) {
        xend_error_report(XEND_ERR_INTERNAL, "api context needs a driver and directories");
        return NULL;
    }
    api_ctx *ctx = xmalloc(sizeof(*ctx));
    memset(ctx, 0, sizeof(*ctx));
    ctx->driver = cfg->driver;
    obj_driver = cfg->driver;
    ctx->host_config = cfg->host_config ? xstrdup(cfg->host_config) : NULL;
    ctx->job_wait_ms = cfg->job_wait_ms;
    ctx->debug = cfg->debug;
    ctx->autostart = cfg->autostart;
    ctx->next_id = 1;
    pthread_mutex_init(&ctx->list_lock, NULL);
    pthread_mutex_init(&ctx->self_lock, NULL);
    ctx->by_name = xhash_new();
    ctx->by_uuid = xhash_new();
    ctx->by_id = xhash_new();
    ctx->events = event_ring_new(cfg->event_ring_size ? cfg->event_ring_size : EVENT_RING_DEFAULT);
    ctx->store = domain_store_open(cfg->config_dir, cfg->save_dir, cfg->run_dir);
    if (!ctx->store) {
        api_ctx_free(ctx);
        return NULL;
    }
    if (ctx->driver->open && ctx->driver->open(ctx, ctx->host_config, &ctx->driver_priv) < 0) {
        ctx->driver = NULL;
        api_ctx_free(ctx);
        return NULL;
    }
    if (api_domain_host_init(ctx) < 0) {
        api_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

static void load_config_cb(void *opaque, domain_def *def, bool autostart)
{
    api_ctx *ctx = opaque;
    char *name = xstrdup(def->name);
    domain_obj *dom = api_domain_add(ctx, def, true);
    if (!dom) {
        log_warn("stored domain '%s' not loaded: %s", name, xend_error_last()->message);
        free(name);
        return;
    }
    free(name);
    dom->autostart = autostart;
    if (domain_store_has_save(ctx->store, dom->def->name)) {
        dom->state = DOMAIN_STATE_SUSPENDED;
        dom->reason = DOMAIN_REASON_MANAGED_SAVE;
    }
    domain_obj_unref(dom);
}

static void load_status_cb(void *opaque, const char *name, xml_node *status)
{
    api_ctx *ctx = opaque;
    xml_node *dnode = xml_node_child(status, "domain");
    xml_node *drv = xml_node_child(status, "driver");
    const char *st = xml_node_attr(status, "state");
    const char *rs = xml_node_attr(status, "reason");
    const char *idtext = xml_node_attr(status, "id");
    const char *started = xml_node_attr(status, "start_time");
    int state = st ? domain_state_parse(st) : -1;
    int reason = rs ? domain_reason_parse(rs) : -1;
    int id = idtext && is_id(idtext) ? atoi(idtext) : -1;
    domain_def *live = dnode ? domain_xml_parse_node(dnode, NULL) : NULL;
    if (!live || state < 0 || !domain_state_is_active(state) || reason < 0 || id <= 0 ||
        strcmp(live->name, name) != 0) {
        log_warn("status file of domain '%s' is invalid; the domain is considered stopped",
                 name);
        domain_def_free(live);
        domain_store_delete_status(ctx->store, name);
        xml_node_free(status);
        return;
    }
    domain_obj *dom = api_domain_find(ctx, name);
    bool transient = false;
    if (!dom) {
        transient = true;
        dom = api_domain_add(ctx, domain_def_copy(live), false);
        if (!dom) {
            log_warn("running domain '%s' not re-attached: %s", name,
                     xend_error_last()->message);
            domain_def_free(live);
            xml_node_free(status);
            return;
        }
    }
    domain_obj_lock(dom);
    if (dom->persistent) {
        dom->next_def = dom->def;
        dom->def = live;
    } else {
        domain_def_free(dom->def);
        dom->def = live;
    }
    dom->state = state;
    dom->reason = reason;
    dom->start_time = started ? (time_t)strtoll(started, NULL, 10) : 0;
    bool ok = domain_claim_id(ctx, dom, id) == 0;
    if (ok)
        ok = disks_claim(dom->def) == 0;
    else
        xend_error_report(XEND_ERR_INTERNAL, "id %d is taken", id);
    if (ok && ctx->driver->domain_reattach &&
        ctx->driver->domain_reattach(ctx, dom, drv) < 0) {
        disks_release(dom->def);
        ok = false;
    }
    if (!ok) {
        log_warn("domain '%s' could not be re-attached (%s); it is shut off",
                 name, xend_error_last()->message);
        api_domain_release_id(ctx, dom);
        domain_store_delete_status(ctx->store, name);
        if (dom->next_def) {
            domain_def_free(dom->def);
            dom->def = dom->next_def;
            dom->next_def = NULL;
        }
        dom->state = DOMAIN_STATE_SHUTOFF;
        dom->reason = DOMAIN_REASON_DAEMON;
        if (transient)
            api_domain_remove(ctx, dom);
    } else {
        log_info("re-attached running domain '%s' (id %d)", name, dom->id);
    }
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    xml_node_free(status);
}

static void autostart_cb(domain_obj *dom, void *opaque)
{
    api_ctx *ctx = opaque;
    if (!dom->autostart || dom->is_host || domain_state_is_active(dom->state))
        return;
    if (domain_obj_begin_job(ctx, dom, "autostart", 0) < 0)
        return;
    if (api_domain_start_locked(ctx, dom, false, false) < 0)
        log_error("autostart of domain '%s' failed: %s", dom->def->name,
                  xend_error_last()->message);
    else
        log_info("autostarted domain '%s'", dom->def->name);
    domain_obj_end_job(dom);
}

int api_ctx_start(api_ctx *ctx)
{
    if (domain_store_load_configs(ctx->store, load_config_cb, ctx) < 0)
        return -1;
    if (domain_store_load_status(ctx->store, load_status_cb, ctx) < 0)
        return -1;
    if (ctx->autostart) {
        /* Once per host boot, like libvirt: the marker lives in the run directory. */
        char *marker = xasprintf("%s/autostarted", domain_store_run_dir(ctx->store));
        if (!xend_file_exists(marker)) {
            api_domain_foreach(ctx, autostart_cb, ctx);
            if (xend_file_write_atomic(marker, "", 0, 0600) < 0)
                log_warn("%s", xend_error_last()->message);
        }
        free(marker);
    }
    return 0;
}

void api_ctx_free(api_ctx *ctx)
{
    if (!ctx)
        return;
    /* Stop the driver first: its threads may still touch objects. */
    if (ctx->driver && ctx->driver->close && ctx->driver_priv)
        ctx->driver->close(ctx->driver_priv);
    for (size_t i = 0; i < ctx->nobjs; i++) {
        if (ctx->objs[i]->id > 0 && disk_uses)
            disks_release(ctx->objs[i]->def);
        domain_obj_unref(ctx->objs[i]);
    }
    free(ctx->objs);
    domain_obj_unref(ctx->host);
    xhash_free(ctx->by_name);
    xhash_free(ctx->by_uuid);
    xhash_free(ctx->by_id);
    event_ring_free(ctx->events);
    domain_store_free(ctx->store);
    pthread_mutex_destroy(&ctx->list_lock);
    api_self_clear(ctx);
    pthread_mutex_destroy(&ctx->self_lock);
    free(ctx->host_config);
    free(ctx);
}

void api_ctx_shutdown(api_ctx *ctx)
{
    __atomic_store_n(&ctx->stopping, true, __ATOMIC_RELEASE);
}

bool api_ctx_stopping(api_ctx *ctx)
{
    return __atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE);
}

bool api_job_should_stop(api_ctx *ctx, domain_obj *dom)
{
    return __atomic_load_n(&dom->job_abort, __ATOMIC_ACQUIRE) || api_ctx_stopping(ctx);
}

void *api_ctx_driver_priv(api_ctx *ctx)
{
    return ctx->driver_priv;
}

struct domain_store *api_ctx_store(api_ctx *ctx)
{
    return ctx->store;
}

struct event_ring *api_ctx_events(api_ctx *ctx)
{
    return ctx->events;
}

void api_ctx_log(api_ctx *ctx, const char *fmt, ...)
{
    (void)ctx;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_info("%s", msg);
}
