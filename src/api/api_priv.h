/*
 * Internals shared by the api/ sources: the context structure and helpers the method
 * handlers use (argument access, result rows, the common prologue that finds a domain and
 * takes its job). Not installed, not used outside src/api.
 */
#ifndef XEND_API_API_PRIV_H
#define XEND_API_API_PRIV_H

#include "api/api.h"
#include "api/domain.h"
#include "api/driver.h"
#include "api/event.h"
#include "store/domain_store.h"
#include "util/hash.h"
#include "xmlrpc/value.h"

#include <pthread.h>
#include <string.h>

/* Client text quoted in an error message: at most API_ECHO_MAX bytes of it, so that the
 * rest of the message (error messages hold 1024 bytes) still says what is wrong. Use as
 * "'%.*s%s'" with API_ECHO(s); s is evaluated more than once. */
#define API_ECHO_MAX 128
#define API_ECHO(s)                                                                                \
    (strlen(s) > API_ECHO_MAX ? API_ECHO_MAX : (int)strlen(s)), (s),                               \
        (strlen(s) > API_ECHO_MAX ? "..." : "")

struct api_ctx {
    const hv_driver *driver;
    void *driver_priv;
    domain_store *store;
    event_ring *events;
    char *host_config;
    int job_wait_ms;
    bool debug;
    bool autostart;
    bool stopping; /* atomic: api_ctx_shutdown */

    /* The list (list_lock). objs is sorted by name so listing needs no sort; host is
     * Domain-0, kept apart and listed first. */
    pthread_mutex_t list_lock;
    domain_obj **objs;
    size_t nobjs, cap;
    domain_obj *host;
    xhash *by_name, *by_uuid, *by_id;
    int next_id;

    /* The daemon's own addresses (api_ctx_set_self; self_lock): domain.migrate to one of
     * them relocates the domain in place instead of sending it. */
    pthread_mutex_t self_lock;
    char **self_sockets;    /* real paths of the Unix sockets, NULL-terminated (or NULL) */
    char *self_tcp_address; /* NULL when the daemon does not listen on TCP */
    unsigned self_tcp_port;
};

/* Every handler of the method table (methods.def): api_<c_name>. */
#define XEND_METHOD(cname, wire, sig, acc, since, help)                                    \
    xmlrpc_value *api_##cname(xmlrpc_caller *caller, const xmlrpc_value *params, void *data);
#include "methods.def"
#undef XEND_METHOD

/* The api_ctx of a call (caller->app). */
static inline api_ctx *api_ctx_of(xmlrpc_caller *caller)
{
    return (api_ctx *)caller->app;
}

/* Parameter access; the registry already checked types against the signature. */
const char *api_arg_string(const xmlrpc_value *params, size_t i);
int64_t api_arg_int(const xmlrpc_value *params, size_t i, int64_t dflt);
bool api_arg_bool(const xmlrpc_value *params, size_t i, bool dflt);
const xmlrpc_value *api_arg(const xmlrpc_value *params, size_t i); /* NULL if absent */

/* The summary row of a domain, as domain.list returns it (object lock held). */
xmlrpc_value *api_domain_row(api_ctx *ctx, domain_obj *dom);

/* The host's CPU count for cpu lists and pinning (at most 256; 1 if unknown). */
unsigned api_host_cpus(api_ctx *ctx);

/* The host's busy CPU time (Domain-0's cpu_time), 0 if unknown. */
uint64_t api_host_cpu_ns(void);

/* Create the Domain-0 object from the driver's node info. */
int api_domain_host_init(api_ctx *ctx);

/* Refuse an operation on Domain-0 with OPERATION_INVALID (object lock held). -1 if host. */
int api_domain_refuse_host(domain_obj *dom, const char *what);

/* Persist a persistent domain's config (next_def while active, else def). */
int api_domain_save_config(api_ctx *ctx, domain_obj *dom);
/* The persistent definition (next_def while active, else def); borrowed. */
domain_def *api_domain_persistent_def(domain_obj *dom);

/* Validation that needs the host and the other domains: vcpus and memory within host
 * limits, disks in use by other running domains, disk paths accessible. self may be NULL.
 * Called without any object lock held. */
int api_domain_check_host(api_ctx *ctx, const domain_def *def, domain_obj *self);

/* Start an inactive domain through the driver (object lock + job held): disk access and
 * claims, managed-save image (resumed unless force_boot, which discards it), live/persistent
 * definitions, status file. 0 / -1. */
int api_domain_start_locked(api_ctx *ctx, domain_obj *dom, bool paused, bool force_boot);

/* Start from a save image with its definition live (taken). 0 / -1. */
int api_domain_restore_locked(api_ctx *ctx, domain_obj *dom, const char *path, domain_def *live,
                              bool paused);

/* The prologue of a state-changing handler: find dom, lock it, take its job (NULL with the
 * error reported); and its epilogue: the row (want_row) or true when rc is 0, else NULL;
 * ends the job, unlocks and drops the reference. */
domain_obj *api_dom_begin(xmlrpc_caller *caller, const char *name, const char *job);
xmlrpc_value *api_dom_end(api_ctx *ctx, domain_obj *dom, int rc, bool want_row);

/* Handler helpers shared by api_domain*.c and the compatibility namespace. */
int api_require_active(domain_obj *dom, const char *what);
int api_require_driver(api_ctx *ctx, const void *slot, const char *what);
xmlrpc_value *api_domain_lookup_row(api_ctx *ctx, domain_obj *dom);
/* Define (or redefine) from a parsed def (taken); returns the row with warnings. */
xmlrpc_value *api_domain_define_def(api_ctx *ctx, domain_def *def, const domain_warnings *w);
xmlrpc_value *api_domain_shutdown_mode(xmlrpc_caller *caller, const char *name,
                                       hv_shutdown_mode mode);

/* A guest arriving with def (restore, incoming migration): the domain of the same name
 * and uuid if it exists here (the caller checks that it is not running), else a new
 * transient one (*created). Returned locked with its job taken; def is not taken. NULL
 * with the error reported (DOMAIN_EXISTS for another domain of that name). */
domain_obj *api_domain_incoming(api_ctx *ctx, const domain_def *def, const char *job,
                                bool *created);

/* Whether uri (a domain.migrate destination) names this daemon (api_self.c): a unix:// or
 * httpu:// path resolving to one of its sockets, or an http:// URI with its TCP port and a
 * host that reaches it (loopback, its listen address, an address of this host). May
 * resolve a host name: call it without an object lock held. */
bool api_self_is_uri(api_ctx *ctx, const char *uri);
/* Free the addresses set by api_ctx_set_self (self_lock held or the context unshared). */
void api_self_clear(api_ctx *ctx);

/* Disk claims between running domains (DISK_IN_USE) and the access check (DISK_ACCESS). */
int api_disk_claim(const domain_disk *d, const char *owner);
int api_disk_check_access(const domain_disk *d);

#endif
