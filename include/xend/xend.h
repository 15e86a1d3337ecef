/*
 * libxend: the C client library of xend. A connection speaks XML-RPC over HTTP/1.1 to one
 * daemon, over its Unix socket or TCP, keeping one connection alive between calls.
 *
 * Ownership in one sentence per kind: a connection is owned by whoever opened it (free with
 * xend_close); a result handed back through **result is owned by the caller (free with
 * xmlrpc_value_free); errors returned by xend_last_error are owned by the library and stay
 * valid until the next call on the same connection (or, for NULL, the next xend_open in the
 * same thread). A connection is not thread-safe: use one per thread.
 */
#ifndef XEND_XEND_H
#define XEND_XEND_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value model is xend's own (xmlrpc/value.h, installed as <xend/xmlrpc/value.h>);
 * only the type name is needed here. */
typedef struct xmlrpc_value xmlrpc_value;

typedef struct xend_conn xend_conn;

/* The last error of a connection (or of xend_open in this thread).
 * code: 0 when there is none; otherwise the server's faultCode for a fault, or a local code
 *       from the same table (12 SYSTEM: cannot connect or I/O failed, 23 NO_HOST: host not
 *       resolvable, -32603 PROTOCOL_INTERNAL: malformed or non-200 reply, 5 UNSUPPORTED:
 *       URI scheme not supported yet, 13 INVALID_ARG: bad URI or format string).
 * name: the symbolic name of code ("NO_DOMAIN"), "UNKNOWN" if not in the table. Static.
 * message: the fault string (without any server trace) or the local message.
 * trace: the server's call stack for INTERNAL faults, else NULL. Owned by the library. */
typedef struct {
    int code;
    const char *name;
    char message[1024];
    char *trace;
} xend_client_error;

/* Connect to a xend. uri is one of:
 *   unix:///abs/path/xend.sock      the daemon's Unix socket
 *   httpu:///abs/path/xend.sock     the same (Xen's Xend spelling)
 *   http://host:port[/path]         TCP; host numeric or resolvable; path defaults to /RPC2
 * https:// and ssh:// are recognised and refused (UNSUPPORTED) for now.
 * uri NULL or "" finds the daemon: $XM_SERVER, then $XEND_URI, then the `uri = ...` line of
 * the xm config file ($XM_CONFIG_FILE, else ~/.config/xm/xm.conf, else SYSCONFDIR/xend/xm.conf),
 * then the system socket (RUNSTATEDIR/xend/xend.sock), then $XDG_RUNTIME_DIR/xend/xend.sock.
 * Connects at once (5 s bound). Returns a connection the caller frees with xend_close, or
 * NULL with the reason in xend_last_error(NULL). uri is copied. */
xend_conn *xend_open(const char *uri);

/* Close the connection and free everything it owns (errors included). Accepts NULL. */
void xend_close(xend_conn *conn);

/* Bound every wait for the daemon's reply (and for sending) to ms milliseconds; 0 (the
 * default) waits forever, as event.next long-polls. Returns 0, or -1 if ms < 0. */
int xend_set_timeout(xend_conn *conn, int ms);

/* Call a method with arguments described by fmt, one character per argument:
 *   s const char *   string (copied)          i int      <int>
 *   I int64_t        <i8>                     b int      <boolean> (nonzero = true)
 *   d double         <double> (finite)        n (none)   <nil/>, takes no argument
 *   v xmlrpc_value * any value; ownership is taken (freed even when the call fails)
 * fmt is checked before any argument is read: an unknown character fails with INVALID_ARG
 * and takes ownership of nothing. On success returns 0 and, if result is not NULL, stores
 * the result, which the caller frees with xmlrpc_value_free; result may be NULL to discard
 * it. On failure (fault or transport) returns -1, leaves *result NULL and the reason in
 * xend_last_error(conn). */
int xend_call(xend_conn *conn, const char *method, xmlrpc_value **result, const char *fmt,
              ...);

/* The same with a ready parameter array (an XMLRPC_ARRAY value, or NULL for none), which
 * stays owned by the caller. */
int xend_call_value(xend_conn *conn, const char *method, const xmlrpc_value *params_array,
                    xmlrpc_value **result);

/* The last error of conn, or with conn NULL the last xend_open failure of this thread.
 * Never NULL; code 0 when no error. Valid until the next call on conn / xend_open. */
const xend_client_error *xend_last_error(const xend_conn *conn);

#ifdef __cplusplus
}
#endif

#endif
