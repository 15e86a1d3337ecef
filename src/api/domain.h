/*
 * Domain objects and the domain list: the runtime side of every domain xend knows
 * (persistent or transient, running or not), shared by the API handlers and the drivers.
 *
 * Locking, in this order only:  list lock -> object lock.
 *  - api_ctx.list_lock guards the indexes (name, uuid, id) and the array of objects.
 *  - domain_obj.lock guards every field of the object. Held only briefly: reads (list,
 *    lookup, get_xml) take it just long enough to copy what they need.
 *  - The job: one state-changing operation at a time per domain. A handler takes the object
 *    lock, then domain_obj_begin_job(), which waits (releasing the lock) at most
 *    job_wait_ms and otherwise fails with OPERATION_IN_PROGRESS naming the holder. Driver
 *    operations run with the job held and the object lock held; a driver that must wait
 *    (a slow save, a monitor reply) drops the object lock around the wait with
 *    domain_obj_unlock/lock, which is safe because only the job holder changes state.
 *
 * Lifetime: objects are reference counted. The list holds one reference; lookups return a
 * new reference the caller drops with domain_obj_unref (with the lock not held).
 */
#ifndef XEND_API_DOMAIN_H
#define XEND_API_DOMAIN_H

#include "conf/domain_conf.h"
#include "xmlrpc/value.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef enum {
    DOMAIN_STATE_RUNNING,
    DOMAIN_STATE_BLOCKED,
    DOMAIN_STATE_PAUSED,
    DOMAIN_STATE_SHUTDOWN, /* a shutdown is in progress */
    DOMAIN_STATE_SHUTOFF,
    DOMAIN_STATE_CRASHED,
    DOMAIN_STATE_SUSPENDED, /* offline with a managed-save image */
    DOMAIN_STATE_LAST
} domain_state;

/* Why a domain is in its state (one flat list; docs/api.md lists which go with which). */
typedef enum {
    DOMAIN_REASON_UNKNOWN,
    DOMAIN_REASON_BOOTED,
    DOMAIN_REASON_UNPAUSED,
    DOMAIN_REASON_RESTORED,
    DOMAIN_REASON_MIGRATED,
    DOMAIN_REASON_REBOOTED,
    DOMAIN_REASON_USER,        /* paused or shut down by a user request */
    DOMAIN_REASON_SAVE,        /* paused while saving */
    DOMAIN_REASON_MIGRATION,   /* paused while migrating */
    DOMAIN_REASON_STARTING_UP, /* started paused */
    DOMAIN_REASON_SHUTDOWN,    /* the guest powered off */
    DOMAIN_REASON_DESTROYED,
    DOMAIN_REASON_CRASHED,
    DOMAIN_REASON_SAVED,
    DOMAIN_REASON_FAILED,      /* failed to start or died unexpectedly */
    DOMAIN_REASON_DAEMON,      /* the daemon found it gone on restart */
    DOMAIN_REASON_PANICKED,
    DOMAIN_REASON_MANAGED_SAVE,
    DOMAIN_REASON_DEFINED,     /* shut off since it was defined */
    DOMAIN_REASON_LAST
} domain_reason;

const char *domain_state_name(domain_state s);   /* "running", "blocked", ... */
int domain_state_parse(const char *s);           /* -1 if unknown */
const char *domain_reason_name(domain_reason r); /* "booted", "user", ... */
int domain_reason_parse(const char *s);
/* Xend's six flag letters "rbpscd" with '-' for each flag off, e.g. "r-----". Static. */
const char *domain_state_flags(domain_state s);
/* Active = has a running instance with an id (running, blocked, paused, shutdown). A
 * crashed domain kept by on_crash=preserve is inactive: its state records what happened. */
bool domain_state_is_active(domain_state s);

typedef struct api_ctx api_ctx;

typedef struct domain_obj {
    pthread_mutex_t lock;
    pthread_cond_t job_cond;
    unsigned refs;          /* atomic */

    domain_def *def;        /* the live definition while active, else the persistent one */
    domain_def *next_def;   /* while a persistent domain is active: its persistent
                               definition (what the next boot uses, what the config file
                               holds); NULL otherwise */
    bool persistent;
    bool autostart;
    bool is_host;           /* Domain-0: the host's own pseudo-domain */
    bool removed;           /* no longer in the list (undefined, transient stopped) */
    char *list_name;        /* the name the list is sorted by, guarded by the LIST lock
                               (def is replaced under the object lock alone, e.g. when a
                               domain stops and its next definition takes over) */

    int id;                 /* domain id while active, -1 otherwise */
    domain_state state;
    domain_reason reason;
    time_t start_time;      /* epoch seconds of the last start; 0 if never */

    /* The job (see above). */
    const char *job;        /* static name of the holder ("domain.save"), NULL if free */
    struct timespec job_start; /* CLOCK_MONOTONIC */
    uint64_t job_total;     /* units of work (bytes for save), 0 if unknown */
    uint64_t job_done;
    bool job_abort;         /* set by domain.job_abort; long jobs poll it */
    bool managed_save;      /* the save in progress is a managed save (domain.suspend) */
    int job_reported;       /* last progress decile posted as an event, -1 none */

    void *priv;             /* the driver's per-domain data */
} domain_obj;

void domain_obj_lock(domain_obj *dom);
void domain_obj_unlock(domain_obj *dom);
void domain_obj_ref(domain_obj *dom);
void domain_obj_unref(domain_obj *dom); /* frees on the last reference (lock not held) */

/* Take the domain's job (object lock held on entry and on return). wait_ms < 0 waits
 * without bound (driver-internal jobs). 0, or -1 with OPERATION_IN_PROGRESS reported:
 * "domain 'web' is busy with domain.save (running for 12 s)". */
int domain_obj_begin_job(api_ctx *ctx, domain_obj *dom, const char *job, int wait_ms);
void domain_obj_end_job(domain_obj *dom); /* object lock held */

/* ---- the context: the list, the store, the events and the driver ---- */

/* Find a domain by name, id (decimal) or UUID. Returns a new reference (caller unrefs) or
 * NULL with NO_DOMAIN reported ("domain 'X' does not exist"). */
domain_obj *api_domain_find(api_ctx *ctx, const char *dom);

/* Call fn on every domain (Domain-0 first, then by name) with the object locked. */
void api_domain_foreach(api_ctx *ctx, void (*fn)(domain_obj *dom, void *opaque), void *opaque);

/* Add a new object for def (which it takes) to the list. Fails with DOMAIN_EXISTS if the
 * name or uuid is taken. Returns a new reference, object unlocked. */
domain_obj *api_domain_add(api_ctx *ctx, domain_def *def, bool persistent);
/* Remove from the list (object lock held); the object lives on until its last unref. */
void api_domain_remove(api_ctx *ctx, domain_obj *dom);
/* Change name in the list indexes (object lock held); DOMAIN_EXISTS if taken. */
int api_domain_rename_index(api_ctx *ctx, domain_obj *dom, const char *new_name);
/* Record the id of a domain that became active (object lock held). */
int api_domain_alloc_id(api_ctx *ctx, domain_obj *dom);
void api_domain_release_id(api_ctx *ctx, domain_obj *dom);
/* The guest of an active dom now runs as a new instance on this host (a driver's
 * domain_relocate, for domain.migrate to this very daemon): posts lifecycle event
 * "migrated" (detail "relocated", with the old domid and member new_domid), then gives dom
 * the next free id in place of its old one (id index updated) and a new start time. Object
 * lock + job held. Returns the new id, or -1 with the error reported. */
int api_domain_relocated(api_ctx *ctx, domain_obj *dom);

/* State changes with their event: sets state+reason, posts a lifecycle event
 * (event, detail) and writes or removes the status file. Object lock + job held. */
void api_domain_set_state(api_ctx *ctx, domain_obj *dom, domain_state state,
                          domain_reason reason, const char *event, const char *detail);

/* Called by a driver when an active domain's guest is gone (object lock + job held), after
 * the driver released its resources: applies on_poweroff / on_crash (restart starts it
 * again through the driver), removes a transient domain, deletes the status file, frees
 * the id and posts the events. reason: SHUTDOWN, CRASHED, DESTROYED, SAVED, MIGRATED,
 * FAILED, DAEMON. */
void api_domain_stopped(api_ctx *ctx, domain_obj *dom, domain_reason reason);
/* The same without applying on_poweroff / on_crash: the guest stays stopped (used when
 * on_reboot=destroy ends a reboot). */
void api_domain_stopped_final(api_ctx *ctx, domain_obj *dom, domain_reason reason);

/* Give up an active domain's claim on a disk image (its path may then be attached to
 * another domain). The API does this itself around start, stop and detach; a driver calls
 * it only for a disk it removes from the live definition on its own (a guest that
 * released a hot-unplugged disk after its detach timed out). */
void api_disk_release(const domain_disk *d);
/* Does a running domain using d keep its image to itself (writable, not shareable, not a
 * CD-ROM)? Two such disks can never use one image, not even in one domain. */
bool api_disk_is_exclusive(const domain_disk *d);

/* Write the status file of an active domain (object lock held). 0 / -1 (logged). */
int api_domain_save_status(api_ctx *ctx, domain_obj *dom);

/* A long job's progress (object lock + job held): updates job_done/job_total (what
 * domain.job_info reports) and posts a "job"/"progress" event at 0% and at every further
 * 10%, with members job, progress (percent), done and total. */
void api_job_progress(api_ctx *ctx, domain_obj *dom, uint64_t done, uint64_t total);

/* Events. Object lock held. extra (may be NULL) is a STRUCT whose members are added. */
void api_event_domain(api_ctx *ctx, domain_obj *dom, const char *type, const char *event,
                      const char *detail, xmlrpc_value *extra);
/* The extra members of a "device" event (added/removed): {device: id, kind: "disk" or
 * "interface"}. A new STRUCT for api_event_domain. */
xmlrpc_value *api_event_device_extra(const char *kind, const char *id);

/* Migration transport for drivers: call domain.migrate_receive on the xend at uri
 * ("unix:///path", "httpu:///path", "http://host:port/") with the domain XML and the driver's opaque state.
 * Called with dom's job held and its object lock NOT held (the destination may be this
 * daemon). The transfer stops early with OPERATION_ABORTED on domain.job_abort or when the
 * daemon stops. 0, or -1 with NO_HOST (cannot connect / not a xend) or the destination's
 * fault reported. */
int api_migrate_send(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                     const void *state, size_t len, bool paused);
/* Migration in phases (drivers with a stream of their own; hv_driver.domain_migrate_prepare
 * for the destination's side), locking as api_migrate_send. prepare: domain.migrate_prepare
 * with the domain XML and the driver's opaque state; on success *dest_uri (caller frees,
 * at most 512 bytes, otherwise unchecked: the driver validates it) is where the stream
 * goes. finish: domain.migrate_finish(uuid of def, ok, paused, state): with ok, 0 means
 * the guest runs at the destination; with !ok it discards the prepared instance. Neither
 * call is cut short by domain.job_abort (only an answer tells what the destination did).
 * 0, or -1 with the destination's fault, or NO_HOST when no answer came (for finish: the
 * outcome at the destination is then unknown). */
int api_migrate_prepare(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                        const void *state, size_t len, char **dest_uri);
int api_migrate_finish(api_ctx *ctx, domain_obj *dom, const char *uri, const domain_def *def,
                       bool ok, bool paused, const void *state, size_t len);

/* The daemon is stopping: long jobs give up (OPERATION_ABORTED) so it can exit. */
void api_ctx_shutdown(api_ctx *ctx);
bool api_ctx_stopping(api_ctx *ctx);
/* Whether the running job of dom should stop now (domain.job_abort, or the daemon is
 * stopping); reads without the object lock are fine. */
bool api_job_should_stop(api_ctx *ctx, domain_obj *dom);

/* The driver's private context and the host log (node.dmesg text is the driver's). */
void *api_ctx_driver_priv(api_ctx *ctx);
struct domain_store *api_ctx_store(api_ctx *ctx);
struct event_ring *api_ctx_events(api_ctx *ctx);
void api_ctx_log(api_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
