/*
 * Internals of libxend shared by its files and its unit test: the parsed URI and the
 * argument format of xend_call. Not installed.
 */
#ifndef XEND_LIB_PRIV_H
#define XEND_LIB_PRIV_H

#include <stdarg.h>

#include "xmlrpc/value.h"

typedef enum { LIB_TRANSPORT_UNIX, LIB_TRANSPORT_TCP } lib_transport;

typedef struct {
    lib_transport transport;
    char *socket_path; /* UNIX: absolute path of the socket */
    char *host;        /* TCP: host name or address, without brackets */
    char *port;        /* TCP: port number as text */
    char *path;        /* HTTP request target ("/RPC2" by default) */
} lib_uri;

/* Parse uri into *out (free with lib_uri_clear). Returns 0, or -1 with INVALID_ARG (bad
 * syntax) or UNSUPPORTED (https, ssh) reported and *out left empty. */
int lib_uri_parse(const char *uri, lib_uri *out);
void lib_uri_clear(lib_uri *u);

/* The URI to use when the caller gives none (see discover.c for the order). A malloc'd
 * string, or NULL with SYSTEM reported ("no daemon found ... Is xend running?") or the
 * config file's error. */
char *lib_uri_discover(void);

/* 0 if every character of fmt is a known argument kind, else -1 with INVALID_ARG
 * reported naming the character and its position. */
int lib_fmt_check(const char *fmt);
/* Build the parameter array from a checked fmt, consuming the arguments (and owning every
 * 'v' value). Returns the array, or NULL with an error reported (a non-finite double, a
 * NULL string or value); the remaining 'v' values are freed in that case too. */
xmlrpc_value *lib_params_build(const char *fmt, va_list ap);

#endif
