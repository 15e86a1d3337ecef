/*
 * A progress bar for xm's long calls (save, restore, migrate, suspend, resume). The call
 * itself blocks on xm's connection; meanwhile a thread with a connection of its own (a
 * libxend connection is not thread-safe) asks domain.job_info every 200 ms and redraws
 * `label [#####.....]  42%` on stderr with a carriage return. When the domain is not known
 * beforehand (restore) the thread follows the job's progress events instead. Only on a
 * terminal: with stderr redirected nothing extra is done, so scripts see xm's usual output.
 * The thread never prints an error: if it cannot connect or poll, there is just no bar;
 * the call's own fault is printed by the main thread once the line is cleared.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XM_PROGRESS_POLL_MS 200
#define XM_PROGRESS_WIDTH 40
/* Bounds the thread's calls, so stopping it never waits for a stalled daemon for long. */
#define XM_PROGRESS_TIMEOUT_MS 5000

typedef struct {
    const char *uri;    /* xm's -s URI or NULL (libxend discovers the same daemon) */
    const char *dom;    /* the domain whose job_info to poll, or NULL: follow events */
    const char *job;    /* the method, as job events name the job */
    const char *label;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;          /* under lock */
    int drawn;          /* width of the widest line drawn (thread-owned until joined) */
    int last;           /* the percentage drawn last, -1 before any */
} xm_progress;

static void xm_progress_draw(xm_progress *p, int pct)
{
    if (pct < 0)
        return;
    if (pct > 100)
        pct = 100;
    if (pct == p->last)
        return;
    char bar[XM_PROGRESS_WIDTH + 1];
    int fill = pct * XM_PROGRESS_WIDTH / 100;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(XM_PROGRESS_WIDTH - fill));
    bar[XM_PROGRESS_WIDTH] = '\0';
    int n = fprintf(stderr, "\r%s [%s] %3d%%", p->label, bar, pct);
    fflush(stderr);
    if (n - 1 > p->drawn)
        p->drawn = n - 1;
    p->last = pct;
}

/* Wait up to ms for the stop request; true when stopping. */
static bool xm_progress_wait(xm_progress *p, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
            break;
    }
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

static bool xm_progress_stopping(xm_progress *p)
{
    pthread_mutex_lock(&p->lock);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/* Poll domain.job_info of a known domain. */
static void xm_progress_poll_job(xm_progress *p, xend_conn *c)
{
    do {
        xmlrpc_value *info = NULL;
        if (xend_call(c, "domain.job_info", &info, "s", p->dom) == 0) {
            const char *job = xm_struct_str(info, "job", "");
            if (*job)
                xm_progress_draw(p, (int)xm_struct_int(info, "progress", -1));
            xmlrpc_value_free(info);
        }
    } while (!xm_progress_wait(p, XM_PROGRESS_POLL_MS));
}

/* Follow the job events of the first domain that reports progress of p->job. */
static void xm_progress_follow_events(xm_progress *p, xend_conn *c)
{
    xmlrpc_value *cur = NULL;
    if (xend_call(c, "event.current_id", &cur, "") < 0)
        return;
    int64_t since = cur->type == XMLRPC_I8 || cur->type == XMLRPC_INT ? cur->u.i : 0;
    xmlrpc_value_free(cur);
    char *dom = NULL;
    while (!xm_progress_stopping(p)) {
        xmlrpc_value *r = NULL;
        if (xend_call(c, "event.next", &r, "Ii", since, XM_PROGRESS_POLL_MS) < 0) {
            /* Lost events or a transient failure: start again from now. */
            if (xm_progress_wait(p, XM_PROGRESS_POLL_MS) ||
                xend_call(c, "event.current_id", &cur, "") < 0)
                break;
            since = cur->u.i;
            xmlrpc_value_free(cur);
            continue;
        }
        const xmlrpc_value *evs = xmlrpc_struct_get(r, "events");
        for (size_t i = 0; evs && evs->type == XMLRPC_ARRAY && i < xmlrpc_array_size(evs);
             i++) {
            const xmlrpc_value *e = xmlrpc_array_get(evs, i);
            const char *name = xm_struct_str(e, "domain", "");
            if (strcmp(xm_struct_str(e, "type", ""), "job") ||
                strcmp(xm_struct_str(e, "job", ""), p->job) || (dom && strcmp(dom, name)))
                continue;
            if (!dom)
                dom = strdup(name);
            xm_progress_draw(p, (int)xm_struct_int(e, "progress", -1));
        }
        since = xm_struct_int(r, "last_id", since);
        xmlrpc_value_free(r);
    }
    free(dom);
}

static void *xm_progress_thread(void *opaque)
{
    xm_progress *p = opaque;
    xend_conn *c = xend_open(p->uri);
    if (!c)
        return NULL;
    xend_set_timeout(c, XM_PROGRESS_TIMEOUT_MS);
    if (p->dom)
        xm_progress_poll_job(p, c);
    else
        xm_progress_follow_events(p, c);
    xend_close(c);
    return NULL;
}

int xm_call_progress(xm_ctx *x, const char *dom, const char *label, const char *method,
                     xmlrpc_value **result, const char *fmt, ...)
{
    if (result)
        *result = NULL;
    va_list ap;
    va_start(ap, fmt);
    xmlrpc_value *params = xend_params_va(fmt, ap);
    va_end(ap);
    if (!params)
        return xm_error("internal: %s", xend_last_error(NULL)->message), -1;
    if (!xm_conn(x)) {
        xmlrpc_value_free(params);
        return -1;
    }
    xm_progress p = {.uri = x->uri, .dom = dom, .job = method, .label = label, .last = -1};
    pthread_t tid;
    bool threaded = false;
    if (isatty(STDERR_FILENO)) {
        pthread_mutex_init(&p.lock, NULL);
        pthread_cond_init(&p.cond, NULL);
        threaded = pthread_create(&tid, NULL, xm_progress_thread, &p) == 0;
        if (!threaded) {
            pthread_cond_destroy(&p.cond);
            pthread_mutex_destroy(&p.lock);
        }
    }
    int rc = xend_call_value(x->conn, method, params, result);
    xmlrpc_value_free(params);
    if (threaded) {
        pthread_mutex_lock(&p.lock);
        p.stop = true;
        pthread_cond_signal(&p.cond);
        pthread_mutex_unlock(&p.lock);
        pthread_join(tid, NULL);
        pthread_cond_destroy(&p.cond);
        pthread_mutex_destroy(&p.lock);
        if (p.drawn > 0) {
            fprintf(stderr, "\r%*s\r", p.drawn, "");
            fflush(stderr);
        }
    }
    if (rc < 0)
        xm_print_last_error(x);
    return rc;
}
