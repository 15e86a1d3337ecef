/*
 * Internals of libxend shared by its files, the generated stubs and the unit tests: the
 * parsed URI, the argument format of xend_call, the ssh child process, TLS, the xm config
 * file and the runtime of the typed stubs. Not installed.
 */
#ifndef XEND_LIB_PRIV_H
#define XEND_LIB_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "xend/xend.h"
#include "xmlrpc/value.h"

typedef enum { LIB_TRANSPORT_UNIX, LIB_TRANSPORT_TCP, LIB_TRANSPORT_SSH } lib_transport;

typedef struct {
    lib_transport transport;
    char *socket_path; /* UNIX: absolute path of the socket; SSH: the remote daemon's socket,
                        * or NULL to let `xm serve` use its default */
    bool tls;          /* TCP: https:// (TLS with the server certificate verified) */
    char *host;        /* TCP, SSH: host name or address, without brackets */
    char *port;        /* TCP: port number as text (default 8006); SSH: NULL unless given */
    char *user;        /* TCP, SSH: the user of user[:password]@, percent-decoded, or NULL */
    char *password;    /* TCP: the password of user:password@, percent-decoded, or NULL */
    char *path;        /* HTTP request target ("/RPC2" by default) */
} lib_uri;

/* Parse uri into *out (free with lib_uri_clear). Returns 0, or -1 with INVALID_ARG (bad
 * syntax) reported, never showing a password, and *out left empty. */
int lib_uri_parse(const char *uri, lib_uri *out);
void lib_uri_clear(lib_uri *u);
/* uri without the password of its user:password@ part (for messages), malloc'd. */
char *lib_uri_redact(const char *uri);

/* The URI to use when the caller gives none (see discover.c for the order). A malloc'd
 * string, or NULL with SYSTEM reported ("no daemon found ... Is xend running?") or the
 * config file's error. When the URI is the config file's, *cfg receives that config (the
 * caller frees it with xend_client_config_free) so its credentials can be used; otherwise
 * *cfg is NULL. */
char *lib_uri_discover(xend_client_config **cfg);

/* The credentials an xm config file gives: 0 with *user and *password set (malloc'd, the
 * caller frees both) or both NULL when it names no username; -1 with an error reported
 * when its password_file cannot be read. */
int lib_client_config_credentials(const xend_client_config *cfg, char **user, char **password);
/* The path of the config file's ca_file (relative to the config file's folder), malloc'd,
 * or NULL when it names none. */
char *lib_client_config_ca_file(const xend_client_config *cfg);

/* 0 if every character of fmt is a known argument kind, else -1 with INVALID_ARG
 * reported naming the character and its position. */
int lib_fmt_check(const char *fmt);
/* Build the parameter array from a checked fmt, consuming the arguments (and owning every
 * 'v' value). Returns the array, or NULL with an error reported (a non-finite double, a
 * NULL string or value); the remaining 'v' values are freed in that case too. */
xmlrpc_value *lib_params_build(const char *fmt, va_list ap);

/* ---- the ssh transport (ssh.c) ---- */

/* The command line for an ssh:// URI: ssh_cmd ($XEND_SSH, split on spaces and tabs; NULL or
 * blank means "ssh") followed by [-p port] [-l user] host xm serve [--server unix://path].
 * NULL-terminated; free with lib_argv_free. NULL with INVALID_ARG reported if u is not ssh. */
char **lib_ssh_argv(const lib_uri *u, const char *ssh_cmd);
void lib_argv_free(char **argv);
/* Start argv[0] (searched in PATH, never through a shell) with one end of a socketpair as
 * its stdin and stdout. Returns 0 with *fd (our end: non-blocking, close-on-exec) and *pid
 * set, or -1 with SYSTEM reported (the program cannot be run). */
int lib_child_spawn(char *const argv[], int *fd, pid_t *pid);
/* Reap pid: wait up to wait_ms for it to exit by itself, then SIGTERM it, then SIGKILL it.
 * Writes how it ended into how ("exited with status 255", "was killed by signal 9").
 * Never leaves a zombie. */
void lib_child_reap(pid_t pid, int wait_ms, char *how, size_t how_len);

/* ---- TLS (tls.c) ---- */

/* Bound of a connection's TCP connect, and then of its TLS handshake. */
#define LIB_CONNECT_TIMEOUT_MS 5000

typedef struct lib_tls_creds lib_tls_creds;
typedef struct lib_tls lib_tls;

/* The certificates that may sign a server's: the PEM file ca_file (at most 4 MiB; origin
 * says where it was named, e.g. "XEND_CA_FILE", for messages), or the system's trust store
 * when ca_file is NULL. Returns credentials the caller frees with lib_tls_creds_free, or
 * NULL with an error reported (SYSTEM/LIMIT: unreadable, CONFIG_INVALID: no certificate). */
lib_tls_creds *lib_tls_creds_new(const char *ca_file, const char *origin);
void lib_tls_creds_free(lib_tls_creds *cr);
/* A TLS client session over fd, a connected non-blocking TCP socket that stays the
 * caller's (lib_tls_close does not close it). The handshake must end by deadline, and the
 * server's certificate must be signed by cr and valid for host (name or address). uri (no
 * password) names the daemon in messages. Returns the session (free with lib_tls_close) or
 * NULL with SYSTEM reported ("... the certificate of HOST:PORT is not trusted: ..."). */
lib_tls *lib_tls_open(const lib_tls_creds *cr, int fd, const char *host, const char *port,
                      const char *uri, const struct timespec *deadline);
/* send(2) and recv(2) through the session: > 0 bytes, 0 (recv) at the server's end of
 * stream, -1 with errno: EAGAIN (wait for lib_tls_events on the fd, then call again with
 * the same arguments), EINTR, ECONNRESET/EPIPE (the connection dropped), EPROTO (a TLS
 * error: lib_tls_strerror tells which). */
ssize_t lib_tls_send(lib_tls *t, const void *buf, size_t len);
ssize_t lib_tls_recv(lib_tls *t, void *buf, size_t len);
/* Decrypted bytes wait inside the session (poll would not see them). */
bool lib_tls_pending(const lib_tls *t);
/* POLLIN or POLLOUT: what the last EAGAIN is waiting for. */
short lib_tls_events(const lib_tls *t);
/* Send close_notify without waiting and free the session. Accepts NULL. */
void lib_tls_close(lib_tls *t);
/* strerror(errnum), or for EPROTO the text of this thread's last TLS error. */
const char *lib_tls_strerror(int errnum);

/* ---- helpers of conn.c for the other files ---- */

/* Wait until fd is ready for events; 0, or -1 with errno (ETIMEDOUT on expiry). A NULL
 * deadline (CLOCK_MONOTONIC) waits forever. */
int lib_fd_wait(int fd, short events, const struct timespec *deadline);

/* Copy the thread's util error (already reported) into conn's error, or with conn NULL
 * into the thread's xend_open error; returns -1 for `return lib_conn_fail(c);`. */
int lib_conn_fail(xend_conn *conn);
/* The URI conn was opened with (for messages). */
const char *lib_conn_uri(const xend_conn *conn);

/* ---- the runtime of the generated typed stubs (stubs.c) ---- */

typedef enum {
    LIB_ARG_STRING, /* u.s, const char * */
    LIB_ARG_INT,    /* u.i, sent as <int> */
    LIB_ARG_I8,     /* u.i, sent as <i8> */
    LIB_ARG_BOOL,   /* u.i, nonzero = true */
    LIB_ARG_DOUBLE, /* u.d, finite */
    LIB_ARG_BASE64, /* u.b, bytes */
    LIB_ARG_VALUE,  /* u.v, borrowed: copied into the call */
} lib_arg_kind;

typedef struct {
    lib_arg_kind kind;
    const char *name; /* as in the prototype, for messages */
    union {
        const char *s;
        int64_t i;
        double d;
        const xmlrpc_value *v;
        struct {
            const void *data;
            size_t len;
        } b;
    } u;
} lib_arg;

typedef enum {
    LIB_RESULT_ANY,    /* xmlrpc_value **, any type */
    LIB_RESULT_STRUCT, /* xmlrpc_value **, must be a struct */
    LIB_RESULT_ARRAY,  /* xmlrpc_value **, must be an array */
    LIB_RESULT_BOOL,   /* int *, from <boolean> */
    LIB_RESULT_STRING, /* char **, from <string>, malloc'd copy */
    LIB_RESULT_INT,    /* int64_t *, from <int> or <i8> */
} lib_result_kind;

/* Call method with the n arguments args. arities has bit k set when the method accepts
 * exactly k parameters: a NULL pointer argument (string, value, base64 data) at a position
 * k whose bit is set ends the call there (the shorter signature); anywhere else it is an
 * INVALID_ARG error. The result is converted to rk and stored in *result when result is
 * not NULL (set to 0/NULL first); a reply of another type is a PROTOCOL_INTERNAL error.
 * Returns 0, or -1 with the reason in xend_last_error(conn). */
int lib_stub_call(xend_conn *conn, const char *method, const lib_arg *args, size_t n,
                  uint32_t arities, lib_result_kind rk, void *result);

#endif
