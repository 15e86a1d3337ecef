/*
 * libxend: the C client library of xend. A connection speaks XML-RPC over HTTP/1.1 to one
 * daemon, over its Unix socket, TCP, or an ssh tunnel, keeping one connection alive between
 * calls. Every API method has a typed function (xend_domain_list, xend_domain_start, ...;
 * see <xend/xend-methods.h>, included below); xend_call reaches any method by name.
 * docs/examples/list-domains.c is a complete program: open, one typed call, walk the
 * result, report errors. Link with -lxend (pkg-config xend).
 *
 * Ownership in one sentence per kind: a connection is owned by whoever opened it (free with
 * xend_close); a result handed back through **result is owned by the caller (free with
 * xmlrpc_value_free, or free() for a char *); a client config is owned by whoever loaded it
 * (xend_client_config_free); errors returned by xend_last_error are owned by the library and
 * stay valid until the next call on the same connection (or, for NULL, the next xend_open or
 * xend_client_config_load in the same thread). A connection is not thread-safe: use one per
 * thread.
 */
#ifndef XEND_XEND_H
#define XEND_XEND_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value model of arguments and results: xmlrpc_value, its constructors, accessors
 * and xmlrpc_value_free (installed as <xend/xmlrpc/value.h>). */
#include <xend/xmlrpc/value.h>

typedef struct xend_conn xend_conn;

/* The last error of a connection (or of xend_open in this thread).
 * code: 0 when there is none; otherwise the server's faultCode for a fault, or a local code
 *       from the same table (12 SYSTEM: cannot connect (an untrusted TLS certificate
 *       included), I/O failed or the ssh command died, 23 NO_HOST: host not resolvable,
 *       -32603 PROTOCOL_INTERNAL: malformed or non-200 reply, or a typed function got a
 *       result of the wrong type, 4 ACCESS_DENIED: credentials missing or refused (HTTP
 *       401), 11 LIMIT: too many failed logins (HTTP 429), 13 INVALID_ARG: bad URI, format
 *       string or argument, 6 CONFIG_INVALID: bad xm config file or CA file).
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
 *   http://[user[:password]@]host[:port][/path]
 *                                   TCP; host numeric or resolvable; port 8006 and path
 *                                   /RPC2 by default; user and password (%XX escapes
 *                                   allowed) are sent as HTTP Basic authentication
 *   https://[user[:password]@]host[:port][/path]
 *                                   the same over TLS (GnuTLS). The server's certificate
 *                                   is always verified, host name included, against the
 *                                   CA file named by the xm config file's ca_file (see
 *                                   xend_client_config_load; read for this even when uri
 *                                   is given), else by $XEND_CA_FILE, else the system's
 *                                   trusted certificates. An untrusted certificate fails
 *                                   the open with SYSTEM ("... the certificate of
 *                                   host:port is not trusted: <why>"); no request, so no
 *                                   password, is sent before it is verified
 *   ssh://[user@]host[:port][/path/of/xend.sock]
 *                                   runs `ssh [-p port] [-l user] host xm serve
 *                                   [--server unix:///path]` (no shell; the program is
 *                                   $XEND_SSH, split on spaces, else "ssh") and speaks over
 *                                   its stdin and stdout; ssh asks for any password itself.
 *                                   The command is reaped when the connection closes; if it
 *                                   dies, calls fail with SYSTEM giving its exit status.
 * uri NULL or "" finds the daemon: $XM_SERVER, then $XEND_URI, then the `uri` of the xm
 * config file (see xend_client_config_load), then the system socket
 * (RUNSTATEDIR/xend/xend.sock), then $XDG_RUNTIME_DIR/xend/xend.sock. When the URI comes
 * from the config file, so do the credentials (username with password or password_file),
 * used over TCP only. A password given in the URI never appears in messages, nor in
 * xend_conn_uri. HTTP 401 (credentials missing or refused) fails a call with ACCESS_DENIED,
 * HTTP 429 (too many failed logins) with LIMIT. Connects at once (5 s bound for the
 * connection and its TLS handshake; for ssh, starts the command). Returns a
 * connection the caller frees with xend_close, or NULL with the reason in
 * xend_last_error(NULL). uri is copied. */
xend_conn *xend_open(const char *uri);

/* The URI xend_open(NULL) would use (the discovery order above), without connecting: a
 * malloc'd string the caller frees, or NULL with the reason in xend_last_error(NULL). For
 * tools that need the address itself (xm serve relays bytes to the socket). */
char *xend_discover_uri(void);

/* The URI conn speaks to (after discovery; any password removed). Owned by conn. */
const char *xend_conn_uri(const xend_conn *conn);

/* Xen's virtual-device number of a disk target name, as xm block-list shows it and the
 * xend.* calls use it: xvda1 is 51713 (202:1), hda 768, hdc 5632, sda 2048, vda 65024
 * (major * 256 + minor; xvd disks past the 16th use Xen's extended 2^28 + (disk << 8) +
 * partition). A leading "/dev/" is allowed. -1 for a name that is no disk name. */
long xend_disk_devnum(const char *target);

/* Close the connection and free everything it owns (errors included); an ssh command is
 * given 3 s to exit after its input closes, then terminated, and always reaped. Accepts
 * NULL. */
void xend_close(xend_conn *conn);

/* Bound every wait for the daemon's reply (and for sending) to ms milliseconds; 0 (the
 * default) waits forever, as event.next long-polls. Returns 0, or -1 if ms < 0. */
int xend_set_timeout(xend_conn *conn, int ms);

/* Send HTTP Basic authentication (RFC 7617) with every later request on a TCP (http://,
 * https://) connection; Unix-socket and ssh connections never send it. user NULL stops sending it;
 * password NULL means "". Both are copied (and wiped when replaced or closed). Returns 0,
 * or -1 with INVALID_ARG in xend_last_error(conn) if user is empty or holds ':' or a
 * control character. */
int xend_set_credentials(xend_conn *conn, const char *user, const char *password);

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

/* The parameter array xend_call would send for fmt and ap (same letters, same ownership:
 * every 'v' value is taken). Returns an XMLRPC_ARRAY the caller frees with
 * xmlrpc_value_free, or NULL with the reason in xend_last_error(NULL) (an unknown format
 * character, a NULL string or value, a non-finite double); 'v' values after an unknown
 * format character are not consumed. For wrappers that build a call before sending it. */
xmlrpc_value *xend_params_va(const char *fmt, va_list ap);

/* The same with a ready parameter array (an XMLRPC_ARRAY value, or NULL for none), which
 * stays owned by the caller. */
int xend_call_value(xend_conn *conn, const char *method, const xmlrpc_value *params_array,
                    xmlrpc_value **result);

/* The last error of conn, or with conn NULL the last xend_open (or xend_client_config_load)
 * failure of this thread. Never NULL; code 0 when no error. Valid until the next call on
 * conn / xend_open. */
const xend_client_error *xend_last_error(const xend_conn *conn);

/* ---- the xm client configuration ---- */

typedef struct xend_client_config xend_client_config;

/* Read an xm config file. path NULL searches $XM_CONFIG_FILE, else ~/.config/xm/xm.conf if
 * it exists, else SYSCONFDIR/xend/xm.conf. A missing file is not an error: the config is
 * empty and xend_client_config_path returns NULL. In that default search (not for a named
 * file), a file this user may not read (EACCES: another user's HOME, a 0700 directory) is
 * skipped as if missing. Two formats:
 *   `key = value` lines, '#' comments, values optionally "quoted"; keys uri, username,
 *   password_file (its first line is the password; relative to the config file's folder),
 *   ca_file (PEM certificates that may sign an https:// server's; relative likewise) and
 *   format (text or json);
 *   Xen 3.0.4's xm-config.xml, when the first non-blank character is '<':
 *   <xm><server type='Xen-API'|'LegacyXMLRPC' uri='..' username='..' password='..'/></xm>,
 *   giving keys uri, username, password and server_type; an invalid type is kept as
 *   LegacyXMLRPC with the key "warning" set to "Invalid server type X; using
 *   LegacyXMLRPC." (for the caller to print). DOCTYPEs and entities are refused.
 * At most 64 KiB a file and 4 KiB a line. Returns a config the caller frees with
 * xend_client_config_free, or NULL with the reason in xend_last_error(NULL): CONFIG_INVALID
 * naming file:line for a bad line, an unknown key or a bad value, SYSTEM if unreadable. */
xend_client_config *xend_client_config_load(const char *path);

/* The value of key, or NULL if the file does not set it. Owned by cfg. */
const char *xend_client_config_get(const xend_client_config *cfg, const char *key);

/* The path of the file that was read, or NULL when there was none. Owned by cfg. */
const char *xend_client_config_path(const xend_client_config *cfg);

/* Free cfg (wiping any password). Accepts NULL. */
void xend_client_config_free(xend_client_config *cfg);

#ifdef __cplusplus
}
#endif

/* The typed functions, generated from the method table. */
#include <xend/xend-methods.h>

#endif
