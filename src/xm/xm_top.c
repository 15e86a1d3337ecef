/*
 * `xm top`: a xentop-like view of the host and its running domains, refreshed every few
 * seconds. Each frame costs two round trips whatever the number of domains: domain.list,
 * then one system.multicall carrying node.info and domain.stats + domain.devices for every
 * running domain. CPU(%) is the growth of a domain's cpu_time between two frames over the
 * wall time between them (so it can exceed 100 with several vCPUs, as in xentop), 0 on the
 * first frame. On a terminal the screen is cleared and redrawn and `q` quits (stdin is put
 * in non-canonical mode and restored on every exit, signals included); -b (or output that
 * is not a terminal) prints plain frames separated by a blank line, --json one JSON object
 * per frame per line.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bool batch;
    double delay;     /* seconds between frames */
    long long iters;  /* 0: until q or a signal */
} xm_top_opts;

/* The previous frame's CPU counters, to turn cpu_time into a percentage. */
typedef struct {
    char *uuid;
    double cpu_time;
} xm_top_sample;

typedef struct {
    xm_top_sample *s;
    size_t n;
    double wall; /* monotonic seconds of the frame, 0 before the first */
} xm_top_history;

/* One row of the table, gathered from domain.list, domain.stats and domain.devices. */
typedef struct {
    const char *name, *uuid, *state;
    int64_t id, memory, max_memory, vcpus;
    double cpu_time, cpu_pct;
    int64_t nets, vbds, net_tx, net_rx, vbd_rd, vbd_wr;
} xm_top_row;

/* ---- the terminal ---- */

static struct termios xm_top_saved;
static volatile sig_atomic_t xm_top_tty_raw;

static void xm_top_tty_restore(void)
{
    if (xm_top_tty_raw) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &xm_top_saved);
        xm_top_tty_raw = 0;
    }
}

/* SIGINT/SIGTERM/SIGHUP while drawing: give the terminal back, then die of the signal as
 * if nothing had been caught (tcsetattr and write are async-signal-safe). */
static void xm_top_on_signal(int sig)
{
    xm_top_tty_restore();
    static const char reset[] = "\n";
    ssize_t w = write(STDOUT_FILENO, reset, sizeof(reset) - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Keys without Enter and without echo; ^C still signals. */
static void xm_top_tty_setup(bool keys)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = xm_top_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!keys || tcgetattr(STDIN_FILENO, &xm_top_saved) < 0)
        return;
    struct termios t = xm_top_saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
        xm_top_tty_raw = 1;
}

/* ---- options ---- */

static int xm_top_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    xm_top_opts *o = data;
    switch (opt) {
    case 'b': o->batch = true; return 0;
    case 'n': return xm_parse_int(x, arg, _("number of iterations"), 1, INT32_MAX, &o->iters);
    case 'd': {
        char *end;
        errno = 0;
        double d = strtod(arg, &end);
        if (!*arg || *end || errno || !isfinite(d) || d < 0.1 || d > 86400)
            return xm_usage_error(x, _("Invalid delay: '%s' (seconds, from 0.1 to 86400)."),
                                  arg);
        o->delay = d;
        return 0;
    }
    default: return 1;
    }
}

static double xm_top_now(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one frame ---- */

/* Xend's six state letters r b p s c d, '-' for each flag that is off. */
static const char *xm_top_flags(const char *state)
{
    static const struct {
        const char *name, *flags;
    } map[] = {{"running", "r-----"}, {"blocked", "-b----"}, {"paused", "--p---"},
               {"shutdown", "---s--"}, {"crashed", "----c-"}, {"dying", "-----d"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].name, state))
            return map[i].flags;
    return "------";
}

static void xm_top_add_call(xmlrpc_value *calls, const char *method, const char *dom)
{
    xmlrpc_value *c = xmlrpc_struct();
    xmlrpc_struct_set(c, "methodName", xmlrpc_string(method));
    xmlrpc_value *p = xmlrpc_array();
    if (dom)
        xmlrpc_array_append(p, xmlrpc_string(dom));
    xmlrpc_struct_set(c, "params", p);
    xmlrpc_array_append(calls, c);
}

/* The result of call i of a multicall reply ([value] or a fault struct), or NULL. */
static const xmlrpc_value *xm_top_multi(const xmlrpc_value *replies, size_t i)
{
    const xmlrpc_value *r = replies ? xmlrpc_array_get(replies, i) : NULL;
    if (!r || r->type != XMLRPC_ARRAY || xmlrpc_array_size(r) != 1)
        return NULL;
    return xmlrpc_array_get(r, 0);
}

static double xm_top_prev_cpu(const xm_top_history *h, const char *uuid, bool *found)
{
    for (size_t i = 0; i < h->n; i++) {
        if (!strcmp(h->s[i].uuid, uuid)) {
            *found = true;
            return h->s[i].cpu_time;
        }
    }
    *found = false;
    return 0;
}

static void xm_top_history_clear(xm_top_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->s[i].uuid);
    free(h->s);
    h->s = NULL;
    h->n = 0;
}

static void xm_top_print_text(const xmlrpc_value *host, const xmlrpc_value *list,
                              const xm_top_row *rows, size_t nrows, bool clear)
{
    static const char *const states[] = {"running", "blocked", "paused", "shutdown",
                                         "crashed", "shutoff", "suspended"};
    size_t count[7] = {0};
    size_t total = xmlrpc_array_size(list);
    for (size_t i = 0; i < total; i++) {
        const char *st = xm_struct_str(xmlrpc_array_get(list, i), "state", "");
        for (size_t k = 0; k < 7; k++)
            if (!strcmp(st, states[k]))
                count[k]++;
    }
    time_t now = time(NULL);
    struct tm tm;
    char clock[16] = "";
    if (localtime_r(&now, &tm))
        strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    int64_t mem = xm_struct_int(host, "memory", 0), mfree = xm_struct_int(host, "free_memory", 0);

    if (clear)
        fputs("\033[H\033[2J", stdout);
    printf(_("xm top - %s  %zu domains: %zu running, %zu blocked, %zu paused, %zu shutdown, "
             "%zu crashed, %zu inactive  Mem: %lldk total, %lldk used, %lldk free  CPUs: "
             "%lld @ %lldMHz"),
           clock, total, count[0], count[1], count[2], count[3], count[4], count[5] + count[6],
           (long long)mem, (long long)(mem - mfree), (long long)mfree,
           (long long)xm_struct_int(host, "cpus", 0), (long long)xm_struct_int(host, "mhz", 0));
    fputc('\n', stdout);
    printf("%10s %6s %10s %6s %10s %6s %10s %5s %4s %8s %8s %4s %8s %8s\n", "NAME", "STATE",
           "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "VCPUS", "NETS", "NETTX(k)",
           "NETRX(k)", "VBDS", "VBD_RD", "VBD_WR");
    for (size_t i = 0; i < nrows; i++) {
        const xm_top_row *r = &rows[i];
        printf("%10s %6s %10lld %6.1f %10lld %6.1f %10lld %5lld %4lld %8lld %8lld %4lld %8lld "
               "%8lld\n",
               r->name, xm_top_flags(r->state), (long long)r->cpu_time, r->cpu_pct,
               (long long)r->memory, mem > 0 ? 100.0 * (double)r->memory / (double)mem : 0.0,
               (long long)r->max_memory, (long long)r->vcpus, (long long)r->nets,
               (long long)(r->net_tx / 1024), (long long)(r->net_rx / 1024), (long long)r->vbds,
               (long long)r->vbd_rd, (long long)r->vbd_wr);
    }
    fflush(stdout);
}

static void xm_top_print_json(const xmlrpc_value *host, const xm_top_row *rows, size_t nrows)
{
    xmlrpc_value *frame = xmlrpc_struct();
    xmlrpc_struct_set(frame, "time", xmlrpc_double(xm_top_now(CLOCK_REALTIME)));
    xmlrpc_struct_set(frame, "host", host ? xmlrpc_value_copy(host) : xmlrpc_struct());
    int64_t mem = xm_struct_int(host, "memory", 0);
    xmlrpc_value *doms = xmlrpc_array();
    for (size_t i = 0; i < nrows; i++) {
        const xm_top_row *r = &rows[i];
        xmlrpc_value *d = xmlrpc_struct();
        xmlrpc_struct_set(d, "name", xmlrpc_string(r->name));
        xmlrpc_struct_set(d, "id", xmlrpc_i8(r->id));
        xmlrpc_struct_set(d, "uuid", xmlrpc_string(r->uuid));
        xmlrpc_struct_set(d, "state", xmlrpc_string(r->state));
        xmlrpc_struct_set(d, "cpu_time", xmlrpc_double(r->cpu_time));
        xmlrpc_struct_set(d, "cpu_percent", xmlrpc_double(r->cpu_pct));
        xmlrpc_struct_set(d, "memory", xmlrpc_i8(r->memory));
        xmlrpc_struct_set(d, "memory_percent",
                          xmlrpc_double(mem > 0 ? 100.0 * (double)r->memory / (double)mem : 0));
        xmlrpc_struct_set(d, "max_memory", xmlrpc_i8(r->max_memory));
        xmlrpc_struct_set(d, "vcpus", xmlrpc_i8(r->vcpus));
        xmlrpc_struct_set(d, "nets", xmlrpc_i8(r->nets));
        xmlrpc_struct_set(d, "net_tx", xmlrpc_i8(r->net_tx));
        xmlrpc_struct_set(d, "net_rx", xmlrpc_i8(r->net_rx));
        xmlrpc_struct_set(d, "vbds", xmlrpc_i8(r->vbds));
        xmlrpc_struct_set(d, "vbd_rd", xmlrpc_i8(r->vbd_rd));
        xmlrpc_struct_set(d, "vbd_wr", xmlrpc_i8(r->vbd_wr));
        xmlrpc_array_append(doms, d);
    }
    xmlrpc_struct_set(frame, "domains", doms);
    xm_print_json_line(frame);
    xmlrpc_value_free(frame);
}

/* Fetch and print one frame; updates h. Returns 0, or 1 after printing an error. */
static int xm_top_frame(xm_ctx *x, xm_top_history *h, bool clear)
{
    xmlrpc_value *list = NULL;
    if (xm_call(x, "domain.list", &list, "") < 0)
        return 1;
    size_t total = list->type == XMLRPC_ARRAY ? xmlrpc_array_size(list) : 0;

    xmlrpc_value *calls = xmlrpc_array();
    xm_top_add_call(calls, "node.info", NULL);
    const xmlrpc_value **active = calloc(total + 1, sizeof(*active));
    size_t nactive = 0;
    for (size_t i = 0; active && i < total; i++) {
        const xmlrpc_value *d = xmlrpc_array_get(list, i);
        if (xm_struct_int(d, "id", -1) < 0)
            continue;
        const char *uuid = xm_struct_str(d, "uuid", "");
        const char *dom = *uuid ? uuid : xm_struct_str(d, "name", "");
        xm_top_add_call(calls, "domain.stats", dom);
        xm_top_add_call(calls, "domain.devices", dom);
        active[nactive++] = d;
    }
    xmlrpc_value *replies = NULL;
    if (!active || xm_call(x, "system.multicall", &replies, "v", calls) < 0) {
        free(active);
        xmlrpc_value_free(list);
        return 1;
    }

    double wall = xm_top_now(CLOCK_MONOTONIC);
    double dt = h->wall > 0 ? wall - h->wall : 0;
    xm_top_row *rows = calloc(nactive + 1, sizeof(*rows));
    xm_top_sample *samples = calloc(nactive + 1, sizeof(*samples));
    size_t nrows = 0;
    for (size_t i = 0; rows && samples && i < nactive; i++) {
        const xmlrpc_value *d = active[i];
        const xmlrpc_value *stats = xm_top_multi(replies, 1 + 2 * i);
        const xmlrpc_value *devs = xm_top_multi(replies, 2 + 2 * i);
        if (!stats || stats->type != XMLRPC_STRUCT)
            continue; /* it stopped between the two calls */
        xm_top_row *r = &rows[nrows++];
        r->name = xm_struct_str(d, "name", "?");
        r->uuid = xm_struct_str(d, "uuid", r->name);
        r->state = xm_struct_str(d, "state", "");
        r->id = xm_struct_int(d, "id", -1);
        r->memory = xm_struct_int(stats, "memory", xm_struct_int(d, "memory", 0));
        r->max_memory = xm_struct_int(d, "max_memory", 0);
        r->vcpus = xm_struct_int(d, "vcpus", 0);
        r->cpu_time = xm_struct_double(stats, "cpu_time", xm_struct_double(d, "cpu_time", 0));
        r->net_tx = xm_struct_int(stats, "tx_bytes", 0);
        r->net_rx = xm_struct_int(stats, "rx_bytes", 0);
        r->vbd_rd = xm_struct_int(stats, "rd_reqs", 0);
        r->vbd_wr = xm_struct_int(stats, "wr_reqs", 0);
        size_t ndev = devs && devs->type == XMLRPC_ARRAY ? xmlrpc_array_size(devs) : 0;
        for (size_t k = 0; k < ndev; k++) {
            const char *kind = xm_struct_str(xmlrpc_array_get(devs, k), "kind", "");
            if (!strcmp(kind, "disk"))
                r->vbds++;
            else if (!strcmp(kind, "interface"))
                r->nets++;
        }
        bool found;
        double prev = xm_top_prev_cpu(h, r->uuid, &found);
        if (found && dt > 0 && r->cpu_time >= prev)
            r->cpu_pct = 100.0 * (r->cpu_time - prev) / dt;
        samples[nrows - 1].uuid = strdup(r->uuid);
        samples[nrows - 1].cpu_time = r->cpu_time;
    }

    const xmlrpc_value *host = xm_top_multi(replies, 0);
    if (rows && samples) {
        if (x->json)
            xm_top_print_json(host, rows, nrows);
        else
            xm_top_print_text(host, list, rows, nrows, clear);
    }
    xm_top_history_clear(h);
    h->s = samples;
    h->n = samples ? nrows : 0;
    h->wall = wall;
    int rc = rows && samples ? 0 : xm_error("%s", strerror(ENOMEM));
    free(rows);
    free(active);
    xmlrpc_value_free(replies);
    xmlrpc_value_free(list);
    return rc;
}

/* Wait until the monotonic time `until`; true if `q` was pressed meanwhile. */
static bool xm_top_wait(double until, bool keys)
{
    for (;;) {
        double left = until - xm_top_now(CLOCK_MONOTONIC);
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, keys ? 1 : 0, (int)(left * 1000) + 1);
        if (r > 0) {
            char c;
            ssize_t n = read(STDIN_FILENO, &c, 1);
            if (n == 1 && (c == 'q' || c == 'Q'))
                return true;
            if (n == 0)
                keys = false; /* stdin closed: just keep time */
        }
    }
}

int xm_cmd_top(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"batch", 'b', false},
                                  {"delay", 'd', true},
                                  {"iterations", 'n', true},
                                  {NULL, 0, false}};
    xm_top_opts o = {.batch = false, .delay = 1, .iters = 0};
    int first;
    int rc = xm_opts_parse(x, argc, argv, opts, xm_top_opt, &o, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 0, 0))
        return 1;
    if (!xm_conn(x))
        return 1;

    bool screen = !o.batch && !x->json && isatty(STDOUT_FILENO);
    bool keys = screen && isatty(STDIN_FILENO);
    if (screen)
        xm_top_tty_setup(keys);

    xm_top_history h = {NULL, 0, 0};
    rc = 0;
    for (long long i = 0; !o.iters || i < o.iters; i++) {
        double start = xm_top_now(CLOCK_MONOTONIC);
        if (i > 0 && !screen && !x->json)
            fputc('\n', stdout);
        rc = xm_top_frame(x, &h, screen);
        if (rc || (o.iters && i + 1 >= o.iters))
            break;
        if (xm_top_wait(start + o.delay, keys))
            break;
    }
    xm_top_history_clear(&h);
    xm_top_tty_restore();
    return rc;
}
