/*
 * xend's API layer: the method table (methods.def) and its handlers, registered into an
 * XML-RPC registry. The daemon, the doc generator and the tests all build their registry
 * through api_registry_new() so they see exactly the same methods.
 */
#ifndef XEND_API_API_H
#define XEND_API_API_H

#include "xmlrpc/dispatch.h"

/* A registry holding system.* and every API method. Free with xmlrpc_registry_free.
 * NULL with an error reported if the table is inconsistent (a bug caught by the tests). */
xmlrpc_registry *api_registry_new(void);

/* The hypervisor drivers compiled in, NULL-terminated (static). */
const char *const *api_driver_names(void);

#endif
