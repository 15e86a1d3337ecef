/*
 * `xm events`: follow xend's event stream. It long-polls event.next from an id (the
 * newest one by default, so only what happens from now on is shown) and prints one line
 * per event, or one JSON object per line with --json, flushing after each so that a script
 * reading the pipe sees events as they happen. A listener that fell behind the daemon's
 * ring (EVENTS_LOST) is warned and continues from the current id rather than failing.
 */
#include "config.h"
#include "xm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define XM_EVENTS_LOST 16           /* fault code of EVENTS_LOST (src/util/errors.def) */
#define XM_EVENTS_POLL_MAX_MS 60000 /* the longest wait event.next accepts */
/* Extra time given to the daemon to answer a long-poll before the call is abandoned, so a
 * wedged daemon ends the command instead of hanging it. */
#define XM_EVENTS_GRACE_MS 30000

typedef struct {
    long long since;   /* -1: start from event.current_id */
    long long count;   /* 0: no limit */
    long long timeout; /* seconds without an event before stopping; 0: never */
} xm_events_opts;

static int xm_events_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    xm_events_opts *o = data;
    switch (opt) {
    case 'n': return xm_parse_int(x, arg, _("event count"), 1, INT32_MAX, &o->count);
    case 256: return xm_parse_int(x, arg, _("event id"), 0, INT64_MAX, &o->since);
    case 257: return xm_parse_int(x, arg, _("timeout"), 1, INT32_MAX / 1000, &o->timeout);
    default: return 1;
    }
}

static long long xm_events_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A field for the text line: "-" when empty, so that every line has all seven columns. */
static const char *xm_events_field(const xmlrpc_value *ev, const char *name)
{
    const char *s = xm_struct_str(ev, name, "");
    return *s ? s : "-";
}

/* `ID TIME CLASS TYPE EVENT DOMAIN DETAIL`, TIME in ISO 8601 local time with milliseconds. */
static void xm_events_print_line(const xmlrpc_value *ev)
{
    double t = xm_struct_double(ev, "time", 0);
    time_t secs = (time_t)t;
    int ms = (int)((t - (double)secs) * 1000);
    if (ms < 0 || ms > 999)
        ms = 0;
    struct tm tm;
    char when[64] = "-";
    if (localtime_r(&secs, &tm)) {
        size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof(when) - n, ".%03d", ms);
    }
    printf("%lld %s %s %s %s %s %s\n", (long long)xm_struct_int(ev, "id", 0), when,
           xm_events_field(ev, "class"), xm_events_field(ev, "type"),
           xm_events_field(ev, "event"), xm_events_field(ev, "domain"),
           xm_events_field(ev, "detail"));
    fflush(stdout);
}

/* event.current_id; -1 after printing the error. */
static long long xm_events_current(xm_ctx *x)
{
    xmlrpc_value *r = NULL;
    if (xm_call(x, "event.current_id", &r, "") < 0)
        return -1;
    long long id = (r->type == XMLRPC_INT || r->type == XMLRPC_I8) ? r->u.i : 0;
    xmlrpc_value_free(r);
    return id;
}

int xm_cmd_events(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {
        {"since", 0, true}, {"timeout", 0, true}, {"count", 'n', true}, {NULL, 0, false}};
    xm_events_opts o = {.since = -1, .count = 0, .timeout = 0};
    int first;
    int rc = xm_opts_parse(x, argc, argv, opts, xm_events_opt, &o, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 0, 0))
        return 1;
    if (!xm_conn(x))
        return 1;

    long long since = o.since >= 0 ? o.since : xm_events_current(x);
    if (since < 0)
        return 1;
    long long seen = 0;
    long long deadline = o.timeout ? xm_events_now_ms() + o.timeout * 1000 : 0;
    for (;;) {
        long long wait = XM_EVENTS_POLL_MAX_MS;
        if (deadline) {
            long long left = deadline - xm_events_now_ms();
            if (left <= 0)
                return 0;
            if (left < wait)
                wait = left;
        }
        xend_set_timeout(x->conn, (int)wait + XM_EVENTS_GRACE_MS);
        xmlrpc_value *r = NULL;
        if (xm_call_quiet(x, "event.next", &r, "Ii", (int64_t)since, (int)wait) < 0) {
            const xend_client_error *e = xend_last_error(x->conn);
            if (e->code != XM_EVENTS_LOST) {
                xm_print_last_error(x);
                return 1;
            }
            fprintf(stderr, _("Warning: %s; continuing from the newest event.\n"), e->message);
            since = xm_events_current(x);
            if (since < 0)
                return 1;
            continue;
        }
        const xmlrpc_value *evs = xmlrpc_struct_get(r, "events");
        size_t n = evs && evs->type == XMLRPC_ARRAY ? xmlrpc_array_size(evs) : 0;
        for (size_t i = 0; i < n; i++) {
            const xmlrpc_value *ev = xmlrpc_array_get(evs, i);
            if (x->json)
                xm_print_json_line(ev);
            else
                xm_events_print_line(ev);
            if (o.count && ++seen >= o.count) {
                xmlrpc_value_free(r);
                return 0;
            }
        }
        long long last = xm_struct_int(r, "last_id", since);
        if (last > since)
            since = last;
        xmlrpc_value_free(r);
        if (n && o.timeout)
            deadline = xm_events_now_ms() + o.timeout * 1000;
    }
}
