/*
 * The compiled method table and the handlers of the daemon-level methods. Handlers of
 * later object groups (domains, node, events) live in their own files next to this one.
 */
#include "api_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static const xmlrpc_method api_methods[] = {
#define XEND_METHOD(cname, wire, sig, acc, since, help)                                    \
    {wire, sig, XMLRPC_ACCESS_##acc, since, NULL, help, api_##cname, NULL},
#include "methods.def"
#undef XEND_METHOD
};

/* The drivers built into this daemon. */
static const char *const driver_names[] = {"test", "qemu", NULL};

/* The destination's side of a migration answers even when every job worker is busy: the
 * source waits for it with its own job held, and two daemons migrating to each other must
 * not wait on each other's workers. */
static const char *const priority_methods[] = {
    "domain.destroy",
    "domain.job_abort",
    "domain.migrate_receive",
    "domain.migrate_prepare",
    "domain.migrate_finish",
    "xend.domain.destroy",
    NULL,
};

const char *const *api_priority_methods(void)
{
    return priority_methods;
}

const char *const *api_driver_names(void)
{
    return driver_names;
}

xmlrpc_registry *api_registry_new(void)
{
    xmlrpc_registry *reg = xmlrpc_registry_new();
    if (xmlrpc_registry_add(reg, api_methods, sizeof(api_methods) / sizeof(api_methods[0])) <
        0) {
        xmlrpc_registry_free(reg);
        return NULL;
    }
    return reg;
}

xmlrpc_value *api_daemon_version(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    xmlrpc_value *v = xmlrpc_struct();
    xmlrpc_struct_set(v, "product", xmlrpc_string("xend"));
    xmlrpc_struct_set(v, "version", xmlrpc_string(XEND_VERSION));
    xmlrpc_struct_set(v, "api", xmlrpc_string(XEND_API_VERSION));
    xmlrpc_struct_set(v, "api_major", xmlrpc_int(atoi(XEND_API_VERSION)));
    xmlrpc_struct_set(v, "api_minor", xmlrpc_int(atoi(strchr(XEND_API_VERSION, '.') + 1)));
    xmlrpc_value *drivers = xmlrpc_array();
    for (const char *const *d = driver_names; *d; d++)
        xmlrpc_array_append(drivers, xmlrpc_string(*d));
    xmlrpc_struct_set(v, "drivers", drivers);
    return v;
}
