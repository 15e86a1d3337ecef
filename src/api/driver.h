/*
 * The hypervisor driver interface. A driver is a struct of function pointers filled with
 * designated initializers; an empty slot means "this driver cannot do that" and the API
 * answers UNSUPPORTED. The API layer does everything that does not depend on the
 * hypervisor (lookup, jobs, state checks, persistence, events, validation); a driver
 * operation only produces the effect on the hypervisor and updates what only it knows.
 *
 * Contract for every domain operation: called with dom's object lock and job held
 * (api/domain.h), state already checked by the caller; returns 0, or -1 with an error
 * reported (the API passes it to the client unchanged). On success the driver has updated
 * dom->state/reason through api_domain_set_state where the operation changes state, and
 * dom->def where it changes the live definition. Drivers may post events of their own
 * (api_event_domain) and call api_domain_stopped for guests that go away asynchronously.
 */
#ifndef XEND_API_DRIVER_H
#define XEND_API_DRIVER_H

#include "api/domain.h"
#include "util/buf.h"
#include "xmlrpc/value.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char model[64];        /* CPU model name */
    unsigned cpus;         /* logical CPUs */
    unsigned mhz;
    unsigned nodes, sockets, cores, threads; /* sockets per node, cores per socket... */
    uint64_t memory_kib;   /* total host memory */
    uint64_t free_kib;     /* available for new domains */
    uint64_t host_domain_kib; /* memory Domain-0 (the host itself) is shown with */
    char hypervisor[32];   /* "simulated", "qemu" */
    char hv_version[32];   /* "7.2.0" */
    char accel[16];        /* "sim", "kvm", "tcg" */
    char arch[16];         /* "x86_64" */
} hv_node_info;

typedef struct {
    unsigned number;
    bool online;
    int cpu;               /* physical CPU it last ran on, -1 if offline */
    uint64_t cpu_time_ns;
    char state[16];        /* "running", "blocked", "offline" */
    uint8_t affinity[32];  /* bitmap of host CPUs, up to 256 */
} hv_vcpu_info;

typedef struct {
    uint64_t cpu_time_ns;
    uint64_t memory_kib;   /* current balloon size */
    uint64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs; /* summed over disks */
    uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* summed over NICs */
} hv_domain_stats;

typedef enum {
    HV_SHUTDOWN_POWEROFF,
    HV_SHUTDOWN_REBOOT,
    HV_SHUTDOWN_HALT,
} hv_shutdown_mode;

typedef struct hv_driver {
    const char *name; /* "test", "qemu" */

    /* Host. open is called once before any configs are loaded; opts is the driver's
     * section of the daemon config (may be NULL). */
    int (*open)(api_ctx *ctx, const char *host_config, void **priv);
    void (*close)(void *priv);
    int (*node_info)(void *priv, hv_node_info *out);
    /* The host's console ring (Xen's dmesg); clear empties it after reading. Caller frees. */
    char *(*node_dmesg)(void *priv, bool clear);

    /* Lifecycle. restore_path is NULL for a fresh boot, otherwise a save image (written by
     * domain_save of this driver) to resume from. On success the domain is active with
     * an id (api_domain_alloc_id), state running or paused. */
    int (*domain_start)(api_ctx *ctx, domain_obj *dom, const char *restore_path, bool paused);
    /* Ask the guest to shut down or reboot; returns at once. The driver moves the domain to
     * SHUTDOWN state and later calls api_domain_stopped (poweroff) or reports the reboot. */
    int (*domain_shutdown)(api_ctx *ctx, domain_obj *dom, hv_shutdown_mode mode);
    /* Pull the plug: when it returns the guest is gone and api_domain_stopped was called. */
    int (*domain_destroy)(api_ctx *ctx, domain_obj *dom);
    int (*domain_pause)(api_ctx *ctx, domain_obj *dom);
    int (*domain_unpause)(api_ctx *ctx, domain_obj *dom);
    /* Write the guest's state to path (header with the domain XML first); on success the
     * guest is gone (api_domain_stopped with SAVED). Long: update dom->job_total/job_done
     * and give up with OPERATION_ABORTED when dom->job_abort is set. */
    int (*domain_save)(api_ctx *ctx, domain_obj *dom, const char *path);
    /* Read the domain XML from a save image's header (for domain.restore). Caller frees. */
    domain_def *(*save_image_def)(void *priv, const char *path);

    /* Live changes (the API updates the persistent config itself). */
    int (*domain_set_memory)(api_ctx *ctx, domain_obj *dom, uint64_t kib);
    int (*domain_set_vcpus)(api_ctx *ctx, domain_obj *dom, unsigned n);
    /* Fill at most max entries; returns the count or -1. */
    int (*domain_vcpu_info)(api_ctx *ctx, domain_obj *dom, hv_vcpu_info *out, unsigned max);
    int (*domain_pin_vcpu)(api_ctx *ctx, domain_obj *dom, unsigned vcpu, const uint8_t *cpumap,
                           unsigned maxcpus);
    /* Hot-plug: the device is appended to / removed from dom->def by the driver on success. */
    int (*domain_attach_disk)(api_ctx *ctx, domain_obj *dom, const domain_disk *disk);
    int (*domain_detach_disk)(api_ctx *ctx, domain_obj *dom, size_t index);
    int (*domain_attach_nic)(api_ctx *ctx, domain_obj *dom, const domain_nic *nic);
    int (*domain_detach_nic)(api_ctx *ctx, domain_obj *dom, size_t index);
    /* Console log bytes from offset (absolute, since the domain started); appends to out
     * and sets *next to the offset after the last byte returned, *start to the oldest
     * offset still kept. */
    int (*domain_console_read)(api_ctx *ctx, domain_obj *dom, uint64_t offset, size_t max,
                               xbuf *out, uint64_t *next, uint64_t *start);
    /* Type len bytes at the guest's serial console, as a terminal would send them: UTF-8
     * text, or any bytes (control keys, escape sequences, NUL) from the base64 form of
     * domain.console_write. *accepted receives how many it took: fewer than len when the
     * guest's input buffer is full (the caller sends the rest later). What the guest
     * prints in answer shows up in domain_console_read. */
    int (*domain_console_write)(api_ctx *ctx, domain_obj *dom, const char *data, size_t len,
                                size_t *accepted);
    int (*domain_sysrq)(api_ctx *ctx, domain_obj *dom, char key);
    int (*domain_stats)(api_ctx *ctx, domain_obj *dom, hv_domain_stats *out);
    /* Cheap: cpu time for domain.list (object lock held, no job). */
    uint64_t (*domain_cpu_time)(api_ctx *ctx, domain_obj *dom);

    /* Migration, source side: send the running domain to the xend at uri (the driver does
     * the transfer); on success the domain is gone here (api_domain_stopped MIGRATED). */
    int (*domain_migrate)(api_ctx *ctx, domain_obj *dom, const char *uri, bool live);
    /* Destination side: accept an incoming domain's state (opaque bytes produced by the
     * source driver) and start it. */
    int (*domain_migrate_incoming)(api_ctx *ctx, domain_obj *dom, const void *state,
                                   size_t len, bool paused);
    /* Migration to this very daemon (domain.migrate to one of its own URIs, Xen's
     * `xm migrate D localhost`): move the running guest into a new instance on this host
     * with its state, as a migration out and back in would (job progress and abort as for
     * domain_migrate), keeping the domain object. Once the new instance runs the driver
     * calls api_domain_relocated (new id, event "migrated") and then sets the state as an
     * incoming migration does: RUNNING/MIGRATED "started"/"migrated", then PAUSED/
     * MIGRATION "suspended"/"migrated" if the guest was paused. On failure the guest runs
     * on in its old instance with its old id. Empty: UNSUPPORTED. */
    int (*domain_relocate)(api_ctx *ctx, domain_obj *dom, bool live);

    /* Daemon restart. status_format adds the driver's data (pid, sockets, simulated state)
     * as children of the <driver> element of the status file; reattach reads them back,
     * re-establishes control and returns 0, or -1 if the guest is gone (the API then marks
     * the domain shut off with reason DAEMON). */
    void (*domain_status_format)(api_ctx *ctx, domain_obj *dom, xml_node *driver_node);
    int (*domain_reattach)(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node);
    /* Free dom->priv when the object dies. */
    void (*domain_priv_free)(void *priv);

    /* Migration in phases, destination side, for drivers whose guests travel as a stream
     * of their own (QEMU's): domain.migrate_prepare and domain.migrate_finish, which the
     * source's domain_migrate calls through api_migrate_prepare / api_migrate_finish (and
     * sends the stream in between). Both empty: such migrations are UNSUPPORTED here.
     * prepare: dom is inactive with the arriving definition live and its disks claimed;
     * start an instance that waits for the stream (state: the source driver's opaque
     * bytes) and set *uri (caller frees) to where the source sends it, listening on
     * listen_host (NULL: loopback). The domain stays inactive with dom->priv set until
     * finish; no job is held in between (the driver keeps a dying instance from being
     * taken for a guest that crashed: only finish ends it). finish: ok (the source sent
     * the whole stream; state: the source driver's opaque bytes taken at the switch-over):
     * wait, bounded, until the guest's state is loaded, then start the guest as an
     * incoming migration does (RUNNING/MIGRATED "started"/"migrated", then PAUSED/
     * MIGRATION "suspended"/"migrated" if paused); on failure, or !ok: end the instance
     * (dom->priv NULL, no state change); the API then undoes the rest. */
    int (*domain_migrate_prepare)(api_ctx *ctx, domain_obj *dom, const void *state,
                                  size_t len, const char *listen_host, char **uri);
    int (*domain_migrate_finish)(api_ctx *ctx, domain_obj *dom, bool ok, bool paused,
                                 const void *state, size_t len);
} hv_driver;

/* The drivers compiled in (NULL-terminated) and lookup by name. */
extern const hv_driver hv_test_driver;
extern const hv_driver hv_qemu_driver;

#endif
