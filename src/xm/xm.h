/*
 * xm, xend's command line: what its files share. One command table (xm.c) drives dispatch,
 * usage and help; each command is a function `xm_cmd_<name>(x, argc, argv)` in the file of
 * its group. Commands talk to xend only through libxend (include/xend/xend.h).
 *
 * Error rule: every failure is printed once, where it is detected, as `Error: <message>` on
 * stderr (xm_error, xm_usage_error, or xm_call printing a fault); the command then returns
 * 1, which becomes the exit status. Every user-facing string goes through _() (gettext).
 */
#ifndef XEND_XM_H
#define XEND_XM_H

#include "xend/xend.h"
#include "xmlrpc/value.h"

#include <libintl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define _(s) gettext(s)
#define N_(s) (s)

typedef struct xm_ctx xm_ctx;

/* Flags of a command table row. */
enum {
    XM_CMD_COMMON = 1 << 0, /* listed in the short help */
    XM_CMD_JSON = 1 << 1,   /* a read command: --json prints its result as JSON */
    XM_CMD_NOCONN = 1 << 2, /* runs without connecting (help, serve connects itself) */
};

typedef struct xm_cmd {
    const char *name;
    /* argv[0] is the command name; options start at argv[1]. Returns the exit status. */
    int (*run)(xm_ctx *x, int argc, char **argv);
    const char *args;     /* usage arguments, e.g. "<Domain> <Mem>" (N_) */
    const char *help;     /* one line (N_) */
    const char *options;  /* option lines for the long usage, "" if none (N_) */
    unsigned flags;
    const char *alias_of; /* deprecated alias: the command to run instead, else NULL */
} xm_cmd;

struct xm_ctx {
    const char *uri;            /* -s/--server, else NULL (libxend discovery) */
    bool json;                  /* --json given, or `format = json` in the config */
    xend_conn *conn;            /* opened on first use by xm_conn() */
    const xm_cmd *cmd;          /* the running command (for usage) */
    xend_client_config *config; /* the client config file (never NULL after start-up) */
};

/* The command table, terminated by a row with name NULL. */
extern const xm_cmd xm_commands[];
/* The row of name (exact), or NULL. */
const xm_cmd *xm_command_find(const char *name);

/* ---- messages (xm_util.c) ---- */
/* `Error: <fmt>` + newline on stderr. Returns 1 (the exit status) for `return xm_error(..)`. */
int xm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `Error: <fmt>`, a blank line and the running command's usage, on stderr. Returns 1. */
int xm_usage_error(xm_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print `Usage: xm <cmd> <args>`, the description and the options of cmd to stdout (to
 * stderr if err). */
void xm_usage_print(const xm_cmd *cmd, bool err);
/* Check the count of positional arguments n against min..max (max -1 = no limit); prints
 * xm's "'xm <cmd>' requires N argument(s)." usage error and returns 1 when wrong, else 0. */
int xm_args_check(xm_ctx *x, int n, int min, int max);

/* ---- options: a getopt_long wrapper that prints xm's errors ---- */
typedef struct {
    const char *name; /* long name without "--", or NULL */
    char short_name;  /* 0 if none */
    bool has_arg;
} xm_opt;
/* Parse options of argv (argv[0] = command name). For each option found calls
 * on_opt(x, short_name or the index in opts + 256 for long-only options, optarg, data),
 * which returns 0 or 1 (error already printed). `-h`/`--help` prints the usage and makes
 * xm_opts_parse return 2 (exit 0). Unknown options and missing arguments are usage errors
 * (`option -x not recognized`). On success returns 0 and sets *first to the index of the
 * first positional argument (options and positionals may be mixed: positionals are moved
 * to the end, as GNU getopt does). */
int xm_opts_parse(xm_ctx *x, int argc, char **argv, const xm_opt *opts,
                  int (*on_opt)(xm_ctx *x, int opt, const char *arg, void *data), void *data,
                  int *first);
/* For commands with no options but -h/--help: returns 0 and sets *first, 2 after help, 1
 * after an error. */
int xm_opts_none(xm_ctx *x, int argc, char **argv, int *first);
/* The usual frame of a command without options: -h/--help, then min..max positional
 * arguments (max -1: no limit). Returns false to go on (with *first set), or true when
 * the command must return *status at once (0 after help, 1 after an error, printed). */
bool xm_args(xm_ctx *x, int argc, char **argv, int min, int max, int *first, int *status);

/* ---- talking to xend ---- */
/* The connection, opened on first use. On failure prints `Error: Unable to connect to
 * xend: <reason>. Is xend running?` (or the permission message) and returns NULL. */
xend_conn *xm_conn(xm_ctx *x);
/* xend_call through xm_conn; on a fault or transport error prints it (NO_DOMAIN as
 * `Domain 'X' does not exist.`) and returns -1. *result as xend_call (caller frees). */
int xm_call(xm_ctx *x, const char *method, xmlrpc_value **result, const char *fmt, ...);
/* The same without printing: returns -1 with the error left in xend_last_error. */
int xm_call_quiet(xm_ctx *x, const char *method, xmlrpc_value **result, const char *fmt, ...);
/* The va_list form of both (print chooses which). */
int xm_call_va(xm_ctx *x, bool print, const char *method, xmlrpc_value **result,
               const char *fmt, va_list ap);
/* Print the last error of the connection as xm does. */
void xm_print_last_error(xm_ctx *x);

/* ---- values ---- */
/* Borrowed member of a struct result or NULL; typed getters with a default. */
const char *xm_struct_str(const xmlrpc_value *st, const char *name, const char *dflt);
int64_t xm_struct_int(const xmlrpc_value *st, const char *name, int64_t dflt);
double xm_struct_double(const xmlrpc_value *st, const char *name, double dflt);
bool xm_struct_bool(const xmlrpc_value *st, const char *name, bool dflt);
/* Print v as pretty JSON to stdout, with a newline. */
void xm_print_json(const xmlrpc_value *v);
/* One-line JSON (for streams such as `xm events --json`). */
void xm_print_json_line(const xmlrpc_value *v);

/* Print v (nested arrays of string atoms, as the xend.* calls return them) as an
 * S-expression pretty-printed the way Xend's PrettyPrint did, with a newline (xm_list.c). */
void xm_sxp_print(const xmlrpc_value *v);

/* Parse a memory size with an optional k/m/g suffix (default m) into KiB. Returns 0, or
 * prints a usage error and returns 1 when it is not a positive size. */
int xm_parse_mem(xm_ctx *x, const char *text, int64_t *kib);
/* Parse a decimal integer in [min, max]; usage error naming what and returns 1 if not. */
int xm_parse_int(xm_ctx *x, const char *text, const char *what, long long min, long long max,
                 long long *out);
/* An absolute copy of path against the current directory (caller frees). */
char *xm_abs_path(const char *path);
/* Read a whole file (≤ max bytes) into a NUL-terminated malloc'd buffer; NULL with errno. */
char *xm_read_file(const char *path, size_t max, size_t *len);

/* ---- progress (xm_progress.c) ---- */
/* Run `method` with fmt/args like xm_call while a one-line progress bar (from
 * domain.job_info of dom, polled over a second connection) is drawn on stderr when stderr
 * is a terminal; nothing extra otherwise. label is shown before the bar. */
int xm_call_progress(xm_ctx *x, const char *dom, const char *label, const char *method,
                     xmlrpc_value **result, const char *fmt, ...);

/* ---- the commands, by file ---- */
#define XM_COMMAND(fn) int xm_cmd_##fn(xm_ctx *x, int argc, char **argv);
/* xm.c */
XM_COMMAND(help)
/* xm_domain.c: lifecycle and configuration */
XM_COMMAND(create) XM_COMMAND(new) XM_COMMAND(delete) XM_COMMAND(start)
XM_COMMAND(shutdown) XM_COMMAND(reboot) XM_COMMAND(destroy) XM_COMMAND(pause)
XM_COMMAND(unpause) XM_COMMAND(suspend) XM_COMMAND(resume) XM_COMMAND(save)
XM_COMMAND(restore) XM_COMMAND(migrate) XM_COMMAND(dumpxml) XM_COMMAND(mem_set)
XM_COMMAND(mem_max) XM_COMMAND(vcpu_set) XM_COMMAND(vcpu_pin) XM_COMMAND(sysrq)
XM_COMMAND(rename) XM_COMMAND(autostart)
/* xm_list.c: listing and host information */
XM_COMMAND(list) XM_COMMAND(vcpu_list) XM_COMMAND(uptime) XM_COMMAND(domid)
XM_COMMAND(domname) XM_COMMAND(info) XM_COMMAND(dmesg) XM_COMMAND(log)
/* xm_device.c: block and network devices */
XM_COMMAND(block_attach) XM_COMMAND(block_detach) XM_COMMAND(block_list)
XM_COMMAND(network_attach) XM_COMMAND(network_detach) XM_COMMAND(network_list)
/* xm_console.c, xm_top.c, xm_events.c, xm_call.c, xm_serve.c */
XM_COMMAND(console) XM_COMMAND(top) XM_COMMAND(events) XM_COMMAND(call) XM_COMMAND(serve)
#undef XM_COMMAND

/* Attach to a domain's console (xm create -c, xm start -c). Returns the exit status. */
int xm_console_attach(xm_ctx *x, const char *dom, bool quiet);

#endif
