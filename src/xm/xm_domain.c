/*
 * xm's lifecycle and configuration commands: create/new from a config file (domain XML, an
 * xm python-syntax config or an sxp, turned into domain XML by the daemon's domain.convert),
 * start/delete, the shutdown family (with -w following the event stream rather than polling
 * as Xen's xm did), save/restore/migrate/suspend/resume (with a progress bar on a terminal),
 * and the small setters: memory, vCPUs, pinning, sysrq, rename, autostart, dumpxml. Each
 * command parses its arguments, makes its calls through xm_call (which prints a fault once)
 * and prints what Xen's xm printed.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XM_ERR_NO_DOMAIN 3    /* the fault code of an unknown domain */
#define XM_ERR_EVENTS_LOST 16 /* event.next: the listener fell behind the ring */
/* The daemon refuses config texts above 1 MiB (conf/xmcfg.h); reading more is pointless. */
#define XM_CONFIG_MAX (1u << 20)
/* How long one event.next waits before xm re-checks the domains it is waiting for. */
#define XM_WAIT_POLL_MS 10000
#define XM_MIGRATE_PORT 8006 /* xend's TCP port, as Xend's 3.0.4 legacy server */

/* ---- small shared pieces ---- */

/* Parse options that only set flags: each short option letter of opts sets the matching
 * bool of flags[] (same index). Long-only options use their index too. */
typedef struct {
    const xm_opt *opts;
    bool *flags;
} xm_flag_opts;

static int xm_flag_set(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)arg;
    xm_flag_opts *f = data;
    for (int i = 0; f->opts[i].name || f->opts[i].short_name; i++) {
        if ((f->opts[i].short_name && f->opts[i].short_name == opt) || opt == 256 + i) {
            f->flags[i] = true;
            return 0;
        }
    }
    return 0;
}

/* Options then exactly min..max positionals. Returns 0 with *first set, 2 after --help (the
 * caller exits 0), 1 after an error (printed). */
static int xm_parse(xm_ctx *x, int argc, char **argv, const xm_opt *opts, bool *flags, int min,
                    int max, int *first)
{
    static const xm_opt none[] = {{NULL, 0, false}};
    xm_flag_opts f = {opts ? opts : none, flags};
    int rc = xm_opts_parse(x, argc, argv, f.opts, xm_flag_set, &f, first);
    if (rc)
        return rc;
    return xm_args_check(x, argc - *first, min, max);
}

/* The exit status for a parse result that is not 0: 0 after --help, 1 after an error. */
static int xm_parse_status(int rc)
{
    return rc == 2 ? 0 : 1;
}

/* A command that takes one domain and makes one call with it. */
static int xm_dom_call(xm_ctx *x, int argc, char **argv, const char *method)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 1, 1, &first, &rc))
        return rc;
    return xm_call(x, method, NULL, "s", argv[first]) < 0 ? 1 : 0;
}

static const xmlrpc_value *xm_member_of(const xmlrpc_value *st, const char *name, int type)
{
    if (!st || st->type != XMLRPC_STRUCT)
        return NULL;
    const xmlrpc_value *v = xmlrpc_struct_get(st, name);
    return v && (int)v->type == type ? v : NULL;
}

static void xm_print_warning(const char *text)
{
    fflush(stdout);
    fprintf(stderr, _("Warning: %s"), text);
    fputc('\n', stderr);
}

/* Print the strings of the array `warnings` of st that are not in `seen` (may be NULL). */
static void xm_print_warnings(const xmlrpc_value *st, const xmlrpc_value *seen)
{
    const xmlrpc_value *w = xm_member_of(st, "warnings", XMLRPC_ARRAY);
    for (size_t i = 0; w && i < xmlrpc_array_size(w); i++) {
        const xmlrpc_value *s = xmlrpc_array_get(w, i);
        if (s->type != XMLRPC_STRING)
            continue;
        bool dup = false;
        for (size_t j = 0; seen && j < xmlrpc_array_size(seen) && !dup; j++)
            dup = xmlrpc_value_equal(s, xmlrpc_array_get(seen, j));
        if (!dup)
            xm_print_warning(s->u.s.ptr);
    }
}

/* Print text and a newline unless it ends with one. */
static void xm_print_text(const char *text)
{
    size_t n = strlen(text);
    fputs(text, stdout);
    if (!n || text[n - 1] != '\n')
        fputc('\n', stdout);
}

/* ---- create, new ---- */

/* The default domain name of a config file, as Xen's xm named it: the file's base name,
 * without a .cfg/.xml/.sxp extension. Caller frees. */
static char *xm_config_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *name = strdup(base);
    if (!name)
        return NULL;
    static const char *const exts[] = {".cfg", ".xml", ".sxp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && !strcmp(name + n - e, exts[i])) {
            name[n - e] = '\0';
            break;
        }
    }
    return name;
}

/* Read the config file and have the daemon convert it (with the VAR=VAL overrides) into
 * domain XML. Prints `Using config file` unless quiet (or the XML is all that is wanted)
 * and the conversion's warnings. Returns the domain.convert result (caller frees) or NULL
 * after printing the error. */
static xmlrpc_value *xm_config_convert(xm_ctx *x, const char *file, char **vars, int nvars,
                                       bool announce)
{
    for (int i = 0; i < nvars; i++) {
        const char *eq = strchr(vars[i], '=');
        if (!eq || eq == vars[i]) {
            xm_usage_error(x, _("Invalid variable: '%s' (VAR=VAL expected)."), vars[i]);
            return NULL;
        }
    }
    size_t len = 0;
    char *text = xm_read_file(file, XM_CONFIG_MAX, &len);
    if (!text) {
        xm_error(_("Unable to open config file: %s: %s"), file, strerror(errno));
        return NULL;
    }
    if (announce) {
        printf(_("Using config file \"%s\"."), file);
        putchar('\n');
        fflush(stdout);
    }
    char *name = xm_config_name(file);
    xmlrpc_value *opts = xmlrpc_struct();
    xmlrpc_value *va = xmlrpc_array();
    for (int i = 0; i < nvars; i++)
        xmlrpc_array_append(va, xmlrpc_string(vars[i]));
    xmlrpc_struct_set(opts, "vars", va);
    if (name && *name)
        xmlrpc_struct_set(opts, "name", xmlrpc_string(name));
    free(name);
    xmlrpc_value *res = NULL;
    /* The text goes with its length: a NUL byte must be refused, not cut the file short. */
    int rc = xm_call(x, "domain.convert", &res, "vsv", xmlrpc_string_n(text, len), "xml", opts);
    free(text);
    if (rc < 0)
        return NULL;
    if (!xm_member_of(res, "config", XMLRPC_STRING)) {
        xm_error(_("domain.convert returned no domain XML"));
        xmlrpc_value_free(res);
        return NULL;
    }
    xm_print_warnings(res, NULL);
    return res;
}

typedef struct {
    bool dryrun, paused, console, quiet;
} xm_create_opts;

static int xm_create_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)arg;
    xm_create_opts *o = data;
    switch (opt) {
    case 'n': o->dryrun = true; break;
    case 'p': o->paused = true; break;
    case 'c': o->console = true; break;
    case 'q': o->quiet = true; break;
    default: break;
    }
    return 0;
}

int xm_cmd_create(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"dryrun", 'n', false},
                                  {"paused", 'p', false},
                                  {"console", 'c', false},
                                  {"quiet", 'q', false},
                                  {NULL, 0, false}};
    xm_create_opts o = {0};
    int first;
    int rc = xm_opts_parse(x, argc, argv, opts, xm_create_opt, &o, &first);
    if (rc)
        return xm_parse_status(rc);
    if (argc - first < 1)
        return xm_args_check(x, 0, 1, 1);
    const char *file = argv[first];
    xmlrpc_value *conv =
        xm_config_convert(x, file, argv + first + 1, argc - first - 1, !o.quiet && !o.dryrun);
    if (!conv)
        return 1;
    const char *xml = xm_struct_str(conv, "config", "");
    if (o.dryrun) {
        xm_print_text(xml);
        xmlrpc_value_free(conv);
        return 0;
    }
    xmlrpc_value *row = NULL;
    if (o.paused) {
        xmlrpc_value *flags = xmlrpc_struct();
        xmlrpc_struct_set(flags, "paused", xmlrpc_bool(true));
        rc = xm_call(x, "domain.create", &row, "sv", xml, flags);
    } else {
        rc = xm_call(x, "domain.create", &row, "s", xml);
    }
    if (rc < 0) {
        xmlrpc_value_free(conv);
        return 1;
    }
    xm_print_warnings(row, xm_member_of(conv, "warnings", XMLRPC_ARRAY));
    xmlrpc_value_free(conv);
    const char *name = xm_struct_str(row, "name", "");
    if (!o.quiet) {
        printf(_("Started domain %s"), name);
        putchar('\n');
    }
    rc = 0;
    if (o.console) {
        fflush(stdout);
        rc = xm_console_attach(x, name, false);
    }
    xmlrpc_value_free(row);
    return rc;
}

int xm_cmd_new(xm_ctx *x, int argc, char **argv)
{
    int first;
    int rc = xm_opts_none(x, argc, argv, &first);
    if (rc)
        return xm_parse_status(rc);
    if (argc - first < 1)
        return xm_args_check(x, 0, 1, 1);
    xmlrpc_value *conv = xm_config_convert(x, argv[first], argv + first + 1, argc - first - 1,
                                           false);
    if (!conv)
        return 1;
    xmlrpc_value *row = NULL;
    rc = xm_call(x, "domain.define", &row, "s", xm_struct_str(conv, "config", ""));
    if (rc == 0) {
        xm_print_warnings(row, xm_member_of(conv, "warnings", XMLRPC_ARRAY));
        printf(_("Domain %s defined."), xm_struct_str(row, "name", ""));
        putchar('\n');
    }
    xmlrpc_value_free(conv);
    xmlrpc_value_free(row);
    return rc < 0 ? 1 : 0;
}

int xm_cmd_delete(xm_ctx *x, int argc, char **argv)
{
    return xm_dom_call(x, argc, argv, "domain.undefine");
}

int xm_cmd_start(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {
        {"paused", 'p', false}, {"console", 'c', false}, {NULL, 0, false}};
    bool f[2] = {false, false};
    int first;
    int rc = xm_parse(x, argc, argv, opts, f, 1, 1, &first);
    if (rc)
        return xm_parse_status(rc);
    xmlrpc_value *row = NULL;
    if (xm_call(x, "domain.start", &row, "sb", argv[first], f[0]) < 0)
        return 1;
    rc = 0;
    if (f[1])
        rc = xm_console_attach(x, xm_struct_str(row, "name", argv[first]), false);
    xmlrpc_value_free(row);
    return rc;
}

/* ---- shutdown, reboot ---- */

typedef struct {
    char *name;
    char *uuid;
    bool done;
} xm_waited;

typedef struct {
    xm_waited *v;
    size_t n, pending;
    bool reboot; /* waiting for "rebooted" rather than for the domain to stop */
} xm_wait_set;

static void xm_wait_done(xm_wait_set *ws, xm_waited *w, bool rebooted)
{
    if (w->done)
        return;
    w->done = true;
    ws->pending--;
    if (rebooted)
        printf(_("Domain %s rebooted"), w->name);
    else
        printf(_("Domain %s terminated"), w->name);
    putchar('\n');
    fflush(stdout);
}

/* Look at each domain still waited for: one that is gone or no longer active has stopped
 * (used when events may have been missed). Reboots leave no trace in the state, so only
 * their stops are found this way. */
static int xm_wait_recheck(xm_ctx *x, xm_wait_set *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        xm_waited *w = &ws->v[i];
        if (w->done)
            continue;
        xmlrpc_value *row = NULL;
        if (xm_call_quiet(x, "domain.lookup", &row, "s", w->uuid) < 0) {
            if (xend_last_error(x->conn)->code != XM_ERR_NO_DOMAIN) {
                xm_print_last_error(x);
                return -1;
            }
            xm_wait_done(ws, w, false);
            continue;
        }
        const char *st = xm_struct_str(row, "state", "");
        if (!strcmp(st, "shutoff") || !strcmp(st, "crashed") || !strcmp(st, "suspended"))
            xm_wait_done(ws, w, false);
        xmlrpc_value_free(row);
    }
    return 0;
}

/* Follow the event stream from `since` until every domain of ws has stopped (or rebooted).
 * Returns 0, or -1 after printing an error. */
static int xm_wait_events(xm_ctx *x, xm_wait_set *ws, int64_t since)
{
    while (ws->pending) {
        xmlrpc_value *res = NULL;
        if (xm_call_quiet(x, "event.next", &res, "Ii", since, XM_WAIT_POLL_MS) < 0) {
            if (xend_last_error(x->conn)->code != XM_ERR_EVENTS_LOST) {
                xm_print_last_error(x);
                return -1;
            }
            /* Fell behind the ring: start again from now and look at the domains. */
            xmlrpc_value *cur = NULL;
            if (xm_call(x, "event.current_id", &cur, "") < 0)
                return -1;
            since = cur->u.i;
            xmlrpc_value_free(cur);
            if (xm_wait_recheck(x, ws) < 0)
                return -1;
            continue;
        }
        const xmlrpc_value *evs = xm_member_of(res, "events", XMLRPC_ARRAY);
        size_t nev = evs ? xmlrpc_array_size(evs) : 0;
        for (size_t i = 0; i < nev; i++) {
            const xmlrpc_value *e = xmlrpc_array_get(evs, i);
            const char *uuid = xm_struct_str(e, "uuid", "");
            const char *ev = xm_struct_str(e, "event", "");
            for (size_t k = 0; k < ws->n; k++) {
                xm_waited *w = &ws->v[k];
                if (w->done || strcmp(w->uuid, uuid))
                    continue;
                if (ws->reboot && !strcmp(ev, "rebooted"))
                    xm_wait_done(ws, w, true);
                else if (!strcmp(ev, "stopped") || !strcmp(ev, "crashed") ||
                         !strcmp(ev, "suspended"))
                    xm_wait_done(ws, w, false);
            }
        }
        since = xm_struct_int(res, "last_id", since);
        xmlrpc_value_free(res);
        /* A quiet stream: make sure no stop went by unseen (shutdowns only). */
        if (!nev && !ws->reboot && xm_wait_recheck(x, ws) < 0)
            return -1;
    }
    return 0;
}

/* The names of every active domain but Domain-0 (id 0), as xm shutdown -a wants them.
 * Returns an array value (caller frees) or NULL after printing the error. */
static xmlrpc_value *xm_active_domains(xm_ctx *x)
{
    xmlrpc_value *filter = xmlrpc_struct();
    xmlrpc_struct_set(filter, "active", xmlrpc_bool(true));
    xmlrpc_value *rows = NULL;
    if (xm_call(x, "domain.list", &rows, "v", filter) < 0)
        return NULL;
    xmlrpc_value *names = xmlrpc_array();
    for (size_t i = 0; rows && rows->type == XMLRPC_ARRAY && i < xmlrpc_array_size(rows); i++) {
        const xmlrpc_value *r = xmlrpc_array_get(rows, i);
        if (xm_struct_int(r, "id", -1) == 0)
            continue;
        xmlrpc_array_append(names, xmlrpc_string(xm_struct_str(r, "name", "")));
    }
    xmlrpc_value_free(rows);
    return names;
}

enum { XM_SD_WAIT, XM_SD_ALL, XM_SD_REBOOT, XM_SD_HALT, XM_SD_N };

static int xm_shutdown_common(xm_ctx *x, int argc, char **argv, bool reboot_cmd)
{
    static const xm_opt sd_opts[] = {{"wait", 'w', false},
                                     {"all", 'a', false},
                                     {"reboot", 'R', false},
                                     {"halt", 'H', false},
                                     {NULL, 0, false}};
    static const xm_opt rb_opts[] = {{"wait", 'w', false}, {"all", 'a', false}, {NULL, 0, false}};
    bool f[XM_SD_N] = {false};
    int first;
    int rc = xm_opts_parse(x, argc, argv, reboot_cmd ? rb_opts : sd_opts, xm_flag_set,
                           &(xm_flag_opts){reboot_cmd ? rb_opts : sd_opts, f}, &first);
    if (rc)
        return xm_parse_status(rc);
    if (f[XM_SD_REBOOT] && f[XM_SD_HALT])
        return xm_usage_error(x, _("-R and -H cannot be used together."));
    if (xm_args_check(x, argc - first, f[XM_SD_ALL] ? 0 : 1, f[XM_SD_ALL] ? 0 : 1))
        return 1;
    bool reboot = reboot_cmd || f[XM_SD_REBOOT];
    const char *method = reboot ? "domain.reboot" : "domain.shutdown";

    xmlrpc_value *names = NULL;
    if (f[XM_SD_ALL]) {
        names = xm_active_domains(x);
        if (!names)
            return 1;
    } else {
        names = xmlrpc_array();
        xmlrpc_array_append(names, xmlrpc_string(argv[first]));
    }

    /* The cursor comes first, so no event of these shutdowns can be missed. */
    int64_t since = 0;
    if (f[XM_SD_WAIT]) {
        xmlrpc_value *cur = NULL;
        if (xm_call(x, "event.current_id", &cur, "") < 0) {
            xmlrpc_value_free(names);
            return 1;
        }
        since = cur->u.i;
        xmlrpc_value_free(cur);
    }

    size_t n = xmlrpc_array_size(names);
    xm_wait_set ws = {calloc(n ? n : 1, sizeof(xm_waited)), 0, 0, reboot};
    rc = 0;
    for (size_t i = 0; ws.v && i < n; i++) {
        const char *dom = xmlrpc_array_get(names, i)->u.s.ptr;
        xmlrpc_value *row = NULL;
        /* With -a one domain's refusal must not spare the others. */
        if (xm_call(x, method, &row, "s", dom) < 0) {
            rc = 1;
            continue;
        }
        xm_waited *w = &ws.v[ws.n++];
        w->name = strdup(xm_struct_str(row, "name", dom));
        w->uuid = strdup(xm_struct_str(row, "uuid", dom));
        ws.pending++;
        xmlrpc_value_free(row);
    }
    if (!ws.v)
        rc = xm_error("%s", strerror(ENOMEM));
    xmlrpc_value_free(names);

    if (f[XM_SD_WAIT] && ws.n) {
        if (xm_wait_events(x, &ws, since) < 0)
            rc = 1;
        else if (reboot)
            printf("%s\n", _("All domains rebooted"));
        else
            printf("%s\n", _("All domains terminated"));
    }
    for (size_t i = 0; i < ws.n; i++) {
        free(ws.v[i].name);
        free(ws.v[i].uuid);
    }
    free(ws.v);
    return rc;
}

int xm_cmd_shutdown(xm_ctx *x, int argc, char **argv)
{
    return xm_shutdown_common(x, argc, argv, false);
}

int xm_cmd_reboot(xm_ctx *x, int argc, char **argv)
{
    return xm_shutdown_common(x, argc, argv, true);
}

/* ---- one-call commands ---- */

int xm_cmd_destroy(xm_ctx *x, int argc, char **argv)
{
    return xm_dom_call(x, argc, argv, "domain.destroy");
}

int xm_cmd_pause(xm_ctx *x, int argc, char **argv)
{
    return xm_dom_call(x, argc, argv, "domain.pause");
}

int xm_cmd_unpause(xm_ctx *x, int argc, char **argv)
{
    return xm_dom_call(x, argc, argv, "domain.unpause");
}

/* ---- long jobs: suspend, resume, save, restore, migrate ---- */

int xm_cmd_suspend(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 1, 1, &first, &rc))
        return rc;
    return xm_call_progress(x, argv[first], _("Suspending"), "domain.suspend", NULL, "s",
                            argv[first]) < 0
               ? 1
               : 0;
}

int xm_cmd_resume(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"paused", 'p', false}, {NULL, 0, false}};
    bool paused = false;
    int first;
    int rc = xm_parse(x, argc, argv, opts, &paused, 1, 1, &first);
    if (rc)
        return xm_parse_status(rc);
    return xm_call_progress(x, argv[first], _("Resuming"), "domain.resume", NULL, "sb",
                            argv[first], paused) < 0
               ? 1
               : 0;
}

int xm_cmd_save(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    const char *dom = argv[first];
    char *path = xm_abs_path(argv[first + 1]);
    if (!path)
        return xm_error("%s", strerror(ENOMEM));
    /* As Xen's xm: refuse early, here, when the file cannot be created, rather than after
     * the daemon has paused the guest. The daemon checks again with its own rights. */
    char *dir = strdup(path);
    if (!dir) {
        free(path);
        return xm_error("%s", strerror(ENOMEM));
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    struct stat st;
    int e = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (access(dir, W_OK) != 0)
        e = errno;
    if (e) {
        rc = xm_error(_("xm save: Unable to create file %s: %s"), path, strerror(e));
    } else {
        rc = xm_call_progress(x, dom, _("Saving"), "domain.save", NULL, "ss", dom, path) < 0;
    }
    free(dir);
    free(path);
    return rc;
}

int xm_cmd_restore(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"paused", 'p', false}, {NULL, 0, false}};
    bool paused = false;
    int first;
    int rc = xm_parse(x, argc, argv, opts, &paused, 1, 1, &first);
    if (rc)
        return xm_parse_status(rc);
    char *path = xm_abs_path(argv[first]);
    if (!path)
        return xm_error("%s", strerror(ENOMEM));
    struct stat st;
    int e = 0;
    if (access(path, R_OK) != 0)
        e = errno;
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        e = EISDIR;
    if (e) {
        rc = xm_error(_("xm restore: Unable to read file %s: %s"), path, strerror(e));
    } else {
        /* The restored domain's name is not known yet: the progress comes from the job's
         * events (dom NULL). */
        rc = xm_call_progress(x, NULL, _("Restoring"), "domain.restore", NULL, "sb", path,
                              paused) < 0;
    }
    free(path);
    return rc;
}

/* True if host names this machine: localhost, a loopback address or the host name. */
static bool xm_host_is_local(const char *host)
{
    if (!strcmp(host, "localhost") || !strcmp(host, "localhost.localdomain") ||
        !strncmp(host, "127.", 4) || !strcmp(host, "::1"))
        return true;
    char name[HOST_NAME_MAX + 1];
    if (gethostname(name, sizeof(name)) != 0)
        return false;
    name[HOST_NAME_MAX] = '\0';
    if (!strcmp(host, name))
        return true;
    /* "myhost" for "myhost.example.com", and the other way round */
    size_t n = strlen(host), m = strlen(name);
    return (n < m && !strncmp(name, host, n) && name[n] == '.') ||
           (m < n && !strncmp(host, name, m) && host[m] == '.');
}

/* The URI the daemon xm talks to can be reached at from that daemon's own host (what
 * `xm migrate D localhost` means): the one libxend connected to. Caller frees; NULL if
 * none is known (the connection error is printed). */
static char *xm_self_uri(xm_ctx *x)
{
    if (!xm_conn(x))
        return NULL;
    const char *uri = xend_conn_uri(x->conn);
    char *out = NULL;
    /* The URI as the daemon itself knows it: Xen's httpu:// is its unix:// (the daemon
     * takes both), and an ssh:// daemon is reached on its own host through its socket. */
    if (!strncmp(uri, "httpu://", 8)) {
        if (asprintf(&out, "unix://%s", uri + 8) < 0)
            out = NULL;
    } else if (!strncmp(uri, "ssh://", 6)) {
        const char *path = strchr(uri + 6, '/');
        if (asprintf(&out, "unix://%s", path && path[1] ? path : XEND_RUNSTATEDIR
                                                                     "/xend/xend.sock") < 0)
            out = NULL;
    } else {
        out = strdup(uri);
    }
    return out;
}

/* The destination xend's URI for xm migrate's HOST argument. Caller frees. */
static char *xm_migrate_uri(xm_ctx *x, const char *host)
{
    char *out = NULL;
    if (strstr(host, "://"))
        return strdup(host);
    /* Only a bare name: "localhost:8006" asks for that TCP port explicitly. */
    if ((!strchr(host, ':') || !strcmp(host, "::1")) && xm_host_is_local(host)) {
        out = xm_self_uri(x);
        if (!out && x->conn)
            xm_error(_("Unable to tell which URI this xend has; give the destination as a URI."));
        return out;
    }
    const char *colon = strchr(host, ':');
    int r;
    if (colon && strchr(colon + 1, ':') && host[0] != '[') /* a bare IPv6 address */
        r = asprintf(&out, "http://[%s]:%d/", host, XM_MIGRATE_PORT);
    else if (colon || (host[0] == '[' && strstr(host, "]:")))
        r = asprintf(&out, "http://%s/", host);
    else
        r = asprintf(&out, "http://%s:%d/", host, XM_MIGRATE_PORT);
    if (r < 0) {
        xm_error("%s", strerror(ENOMEM));
        return NULL;
    }
    return out;
}

int xm_cmd_migrate(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"live", 'l', false}, {NULL, 0, false}};
    bool live = false;
    int first;
    int rc = xm_parse(x, argc, argv, opts, &live, 2, 2, &first);
    if (rc)
        return xm_parse_status(rc);
    const char *dom = argv[first];
    if (!*argv[first + 1])
        return xm_usage_error(x, _("Invalid host: ''."));
    char *uri = xm_migrate_uri(x, argv[first + 1]);
    if (!uri)
        return 1;
    rc = xm_call_progress(x, dom, _("Migrating"), "domain.migrate", NULL, "ssb", dom, uri,
                          live) < 0;
    free(uri);
    return rc;
}

/* ---- configuration ---- */

int xm_cmd_dumpxml(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"inactive", 0, false}, {NULL, 0, false}};
    bool inactive = false;
    int first;
    int rc = xm_parse(x, argc, argv, opts, &inactive, 1, 1, &first);
    if (rc)
        return xm_parse_status(rc);
    xmlrpc_value *xml = NULL;
    if (xm_call(x, "domain.get_xml", &xml, "sb", argv[first], inactive) < 0)
        return 1;
    if (xml->type == XMLRPC_STRING)
        xm_print_text(xml->u.s.ptr);
    xmlrpc_value_free(xml);
    return 0;
}

static int xm_memory(xm_ctx *x, int argc, char **argv, const char *method)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    int64_t kib;
    if (xm_parse_mem(x, argv[first + 1], &kib))
        return 1;
    return xm_call(x, method, NULL, "sI", argv[first], kib) < 0 ? 1 : 0;
}

int xm_cmd_mem_set(xm_ctx *x, int argc, char **argv)
{
    return xm_memory(x, argc, argv, "domain.set_memory");
}

int xm_cmd_mem_max(xm_ctx *x, int argc, char **argv)
{
    return xm_memory(x, argc, argv, "domain.set_max_memory");
}

int xm_cmd_vcpu_set(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    long long n;
    if (xm_parse_int(x, argv[first + 1], _("number of VCPUs"), 1, INT_MAX, &n))
        return 1;
    return xm_call(x, "domain.set_vcpus", NULL, "si", argv[first], (int)n) < 0 ? 1 : 0;
}

/* "0-N" for every CPU of the host (vcpu-pin's `all`). Caller frees; NULL after an error. */
static char *xm_all_cpus(xm_ctx *x)
{
    xmlrpc_value *info = NULL;
    if (xm_call(x, "node.info", &info, "") < 0)
        return NULL;
    int64_t cpus = xm_struct_int(info, "cpus", 1);
    xmlrpc_value_free(info);
    char *out = NULL;
    int r = cpus > 1 ? asprintf(&out, "0-%lld", (long long)cpus - 1) : asprintf(&out, "0");
    if (r < 0) {
        xm_error("%s", strerror(ENOMEM));
        return NULL;
    }
    return out;
}

int xm_cmd_vcpu_pin(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 3, 3, &first, &rc))
        return rc;
    const char *dom = argv[first], *vcpu = argv[first + 1], *cpus = argv[first + 2];
    long long number = -1;
    if (strcmp(vcpu, "all") && xm_parse_int(x, vcpu, _("VCPU"), 0, INT_MAX, &number))
        return 1;
    if (!*cpus)
        return xm_usage_error(x, _("Invalid CPU list: '' (a list like 0-3,^2, or all)."));
    char *cpulist = !strcmp(cpus, "all") ? xm_all_cpus(x) : strdup(cpus);
    if (!cpulist)
        return 1;
    if (number >= 0) {
        rc = xm_call(x, "domain.pin_vcpu", NULL, "sis", dom, (int)number, cpulist) < 0;
    } else {
        xmlrpc_value *vcpus = NULL;
        rc = xm_call(x, "domain.vcpu_info", &vcpus, "s", dom) < 0;
        for (size_t i = 0; !rc && vcpus->type == XMLRPC_ARRAY && i < xmlrpc_array_size(vcpus);
             i++) {
            int64_t v = xm_struct_int(xmlrpc_array_get(vcpus, i), "number", (int64_t)i);
            rc = xm_call(x, "domain.pin_vcpu", NULL, "sis", dom, (int)v, cpulist) < 0;
        }
        xmlrpc_value_free(vcpus);
    }
    free(cpulist);
    return rc;
}

int xm_cmd_sysrq(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    const char *key = argv[first + 1];
    if (strlen(key) != 1)
        return xm_usage_error(x, _("Invalid sysrq key: '%s' (one character)."), key);
    return xm_call(x, "domain.sysrq", NULL, "ss", argv[first], key) < 0 ? 1 : 0;
}

int xm_cmd_rename(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    return xm_call(x, "domain.rename", NULL, "ss", argv[first], argv[first + 1]) < 0 ? 1 : 0;
}

int xm_cmd_autostart(xm_ctx *x, int argc, char **argv)
{
    int first, rc = 0;
    if (xm_args(x, argc, argv, 2, 2, &first, &rc))
        return rc;
    const char *v = argv[first + 1];
    bool on = !strcmp(v, "on");
    if (!on && strcmp(v, "off"))
        return xm_usage_error(x, _("Invalid value: '%s' (on or off)."), v);
    return xm_call(x, "domain.set_autostart", NULL, "sb", argv[first], on) < 0 ? 1 : 0;
}
