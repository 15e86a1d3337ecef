/*
 * The method registry and dispatcher: one table of method descriptors drives dispatch,
 * argument-count and type checks, access classes and the system.* introspection methods
 * (listMethods, methodHelp, methodSignature, multicall, getCapabilities). The daemon and
 * the test servers build registries from their own tables.
 */
#ifndef XEND_XMLRPC_DISPATCH_H
#define XEND_XMLRPC_DISPATCH_H

#include "codec.h"
#include "value.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    XMLRPC_ACCESS_READ,  /* reads state only */
    XMLRPC_ACCESS_WRITE, /* changes domain state */
    XMLRPC_ACCESS_ADMIN, /* changes the daemon or host */
    XMLRPC_ACCESS_LAST
} xmlrpc_access;

const char *xmlrpc_access_name(xmlrpc_access a); /* "read", "write", "admin" */

/* Who is calling and what they may do; filled by the transport for each request. */
typedef struct {
    bool have_cred;           /* uid/gid/pid valid (SO_PEERCRED on Unix sockets) */
    uid_t uid;
    gid_t gid;
    pid_t pid;
    xmlrpc_access max_access; /* highest access class this caller may use */
    const char *transport;    /* "unix", "tcp", ... for logs */
    const char *who;          /* "uid=0 gid=0 pid=12 (unix)", "user=alice addr=::1 (tcp)":
                                 who is calling, for the audit log; NULL = unknown */
    void *app;                /* the application's context (the daemon) */
    /* Long polling: a transport that can park a request sets can_defer and first_ms (the
     * CLOCK_MONOTONIC milliseconds of the request's first dispatch). A handler that has
     * nothing to return yet may then return XMLRPC_DEFERRED after setting wake_ms (when
     * to retry at the latest); the transport parks the request without holding a thread
     * and dispatches it again when woken or at wake_ms. */
    bool trace_ok;     /* may see server backtraces of internal errors (debug mode,
                          privileged local caller) */
    bool can_defer;
    bool deferred;     /* out: set by xmlrpc_registry_handle when the handler deferred */
    int64_t first_ms;
    int64_t wake_ms;
} xmlrpc_caller;

/* The "not yet" result of a deferring handler (never freed, never encoded). */
extern xmlrpc_value xmlrpc_deferred_value;
#define XMLRPC_DEFERRED (&xmlrpc_deferred_value)


/* A method handler. params is the ARRAY of arguments, already checked against one of the
 * method's signatures. Returns a new value owned by the caller, or NULL with an error
 * reported (which becomes the fault). */
typedef xmlrpc_value *(*xmlrpc_method_fn)(xmlrpc_caller *caller, const xmlrpc_value *params,
                                          void *data);

typedef struct {
    const char *name;
    /* Signatures, return type first, types separated by spaces, alternatives by '|':
     * "struct string" or "array|array string". Type names as xmlrpc_type_name(); a
     * parameter declared "i8" also accepts an int. */
    const char *signature;
    xmlrpc_access access;
    const char *since;      /* API version that introduced it, e.g. "1.0" */
    const char *deprecated; /* NULL, or the version that deprecated it */
    const char *help;
    xmlrpc_method_fn fn;
    void *data;             /* passed to fn */
} xmlrpc_method;

/* Most calls one system.multicall may carry (more: fault LIMIT, nothing run). */
#define XMLRPC_MULTICALL_MAX 1000u

typedef struct xmlrpc_registry xmlrpc_registry;

/* A registry already holding the system.* methods. Free with xmlrpc_registry_free. */
xmlrpc_registry *xmlrpc_registry_new(void);
void xmlrpc_registry_free(xmlrpc_registry *reg);
/* Add methods (the table is copied by reference: it must outlive the registry). Returns 0,
 * or -1 with an error reported if a name is duplicate or a signature malformed. */
int xmlrpc_registry_add(xmlrpc_registry *reg, const xmlrpc_method *methods, size_t n);
/* Look up a method; borrowed, or NULL. */
const xmlrpc_method *xmlrpc_registry_find(const xmlrpc_registry *reg, const char *name);
/* All methods sorted by name; borrowed array of n pointers. */
const xmlrpc_method *const *xmlrpc_registry_list(const xmlrpc_registry *reg, size_t *n);

/* The audit hook: called after every call of a method whose access class is write or admin
 * (also inside system.multicall, and when the call was refused for its access class), with
 * fault 0 for success or the fault code. Runs in the calling thread; must not fail. */
typedef void (*xmlrpc_audit_fn)(void *data, const xmlrpc_caller *caller,
                                const xmlrpc_method *method, const xmlrpc_value *params,
                                int fault);
void xmlrpc_registry_set_audit(xmlrpc_registry *reg, xmlrpc_audit_fn fn, void *data);

/* Check arity/types/access and call. Returns the result (caller owns) or NULL with an error
 * reported. */
xmlrpc_value *xmlrpc_registry_call(xmlrpc_registry *reg, xmlrpc_caller *caller,
                                   const char *method, const xmlrpc_value *params);

/* The whole pipeline for one request body: decode, dispatch, encode. Always leaves a
 * complete <methodResponse> (result or fault) in out (which is reset first). Returns the
 * fault code written, or 0 for a successful result. When the handler deferred (only
 * possible with caller->can_defer) it returns 0 with caller->deferred set and out empty. */
int xmlrpc_registry_handle(xmlrpc_registry *reg, xmlrpc_decoder *dec, xmlrpc_caller *caller,
                           const char *body, size_t len, xbuf *out);

#endif
