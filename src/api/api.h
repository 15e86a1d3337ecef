/*
 * xend's API layer: the method table (methods.def) and its handlers, registered into an
 * XML-RPC registry, and the context they run in (api_ctx: the domain list, the store, the
 * event ring and the hypervisor driver). The daemon, the doc generator and the tests all
 * build their registry through api_registry_new() so they see exactly the same methods;
 * handlers find the context through caller->app.
 */
#ifndef XEND_API_API_H
#define XEND_API_API_H

#include "xmlrpc/dispatch.h"

#include <stdbool.h>

struct hv_driver;
typedef struct api_ctx api_ctx;

/* A registry holding system.* and every API method. Free with xmlrpc_registry_free.
 * NULL with an error reported if the table is inconsistent (a bug caught by the tests). */
xmlrpc_registry *api_registry_new(void);

/* Methods that must run even when every job worker is busy (NULL-terminated, static):
 * destroy, job_abort and the receiving side of a migration (whose sender holds a worker
 * while it waits for it). */
const char *const *api_priority_methods(void);

/* The hypervisor drivers compiled in, NULL-terminated (static). */
const char *const *api_driver_names(void);

typedef struct {
    const struct hv_driver *driver;
    const char *host_config;  /* driver's host description file, or NULL */
    const char *config_dir;   /* domain XML files */
    const char *save_dir;     /* managed-save images */
    const char *run_dir;      /* status files */
    int job_wait_ms;          /* how long a call waits for a busy domain */
    unsigned event_ring_size;
    bool debug;               /* internal errors carry a backtrace to local root callers */
    bool autostart;           /* start autostart domains in api_ctx_start */
} api_ctx_config;

void api_ctx_config_init(api_ctx_config *cfg); /* defaults; strings stay NULL */

/* Create the context: open the store and the driver. The strings in cfg are copied.
 * NULL with an error reported. Free with api_ctx_free. */
api_ctx *api_ctx_new(const api_ctx_config *cfg);
/* Load the stored configs and status files (re-attaching running domains), then start the
 * autostart domains. 0, or -1 with an error reported if the store cannot be read. */
int api_ctx_start(api_ctx *ctx);
/* Stop the driver and free everything. Running domains keep running (their status files
 * stay) so the next daemon re-attaches. Accepts NULL. */
void api_ctx_free(api_ctx *ctx);

/* The addresses the daemon listens on, once it does: socket_paths (NULL-terminated, may be
 * NULL) and the TCP listener (tcp_address NULL when TCP is off; tcp_port the bound port).
 * domain.migrate to one of them relocates the domain within this daemon instead of
 * sending it over a socket to itself. Copied; may be called again (replaces). Thread-safe. */
void api_ctx_set_self(api_ctx *ctx, const char *const *socket_paths, const char *tcp_address,
                      unsigned tcp_port);

/* For the server's long-poll support: the event ring (see api/event.h). */
struct event_ring *api_ctx_events(api_ctx *ctx);

/* The number of domains in the list (Domain-0 included). */
size_t api_ctx_domain_count(api_ctx *ctx);

#endif
