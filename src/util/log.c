/*
 * Logging backend (see log.h). One global output guarded by a mutex; messages below the
 * configured level cost one comparison.
 */
#include "log.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

enum { OUT_STDERR, OUT_SYSLOG, OUT_FILE };

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_out = OUT_STDERR;
static FILE *log_file;
static char *log_path;
static volatile xend_log_level log_level = XEND_LOG_INFO;

static const char *const level_names[XEND_LOG_LAST] = {"error", "warn", "info", "debug"};

int xend_log_level_parse(const char *name)
{
    if (strcmp(name, "warning") == 0)
        return XEND_LOG_WARN;
    for (int i = 0; i < XEND_LOG_LAST; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *xend_log_level_name(xend_log_level level)
{
    return level < XEND_LOG_LAST ? level_names[level] : "?";
}

int xend_log_open(const char *output, xend_log_level level)
{
    int ret = 0;
    pthread_mutex_lock(&log_lock);
    if (strcmp(output, "stderr") == 0) {
        log_out = OUT_STDERR;
    } else if (strcmp(output, "syslog") == 0) {
        openlog("xend", LOG_PID, LOG_DAEMON);
        log_out = OUT_SYSLOG;
    } else if (strncmp(output, "file:", 5) == 0 && output[5] == '/') {
        FILE *f = fopen(output + 5, "ae");
        if (!f) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open log file %s",
                                    output + 5);
            ret = -1;
        } else {
            setvbuf(f, NULL, _IOLBF, 0);
            if (log_file)
                fclose(log_file);
            log_file = f;
            free(log_path);
            log_path = xstrdup(output + 5);
            log_out = OUT_FILE;
        }
    } else {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "log_output '%s' is not one of stderr, syslog, file:/absolute/path",
                          output);
        ret = -1;
    }
    if (ret == 0)
        log_level = level;
    pthread_mutex_unlock(&log_lock);
    return ret;
}

int xend_log_reopen(void)
{
    int ret = 0;
    pthread_mutex_lock(&log_lock);
    if (log_out == OUT_FILE) {
        FILE *f = fopen(log_path, "ae");
        if (!f) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot reopen log file %s",
                                    log_path);
            ret = -1;
        } else {
            setvbuf(f, NULL, _IOLBF, 0);
            fclose(log_file);
            log_file = f;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return ret;
}

void xend_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    free(log_path);
    log_path = NULL;
    if (log_out == OUT_SYSLOG)
        closelog();
    log_out = OUT_STDERR;
    pthread_mutex_unlock(&log_lock);
}

void xend_log_set_level(xend_log_level level)
{
    log_level = level;
}

/* The recent log, kept in memory for node.log whatever the output is: a ring of bytes
 * holding whole lines ("YYYY-mm-dd HH:MM:SS level: message\n"). */
#define LOG_RING_SIZE (256u * 1024u)
static char log_ring[LOG_RING_SIZE];
static size_t log_ring_head; /* next write position */
static bool log_ring_full;

static void log_ring_put(const char *s, size_t n)
{
    while (n) {
        size_t chunk = LOG_RING_SIZE - log_ring_head;
        if (chunk > n)
            chunk = n;
        memcpy(log_ring + log_ring_head, s, chunk);
        log_ring_head = (log_ring_head + chunk) % LOG_RING_SIZE;
        if (log_ring_head == 0)
            log_ring_full = true;
        s += chunk;
        n -= chunk;
    }
}

static void log_ring_add(xend_log_level level, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char head[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(head, sizeof(head), "%Y-%m-%d %H:%M:%S ", &tm);
    log_ring_put(head, n);
    log_ring_put(level_names[level], strlen(level_names[level]));
    log_ring_put(": ", 2);
    log_ring_put(msg, strnlen(msg, 2048));
    log_ring_put("\n", 1);
}

char *xend_log_tail(unsigned lines)
{
    pthread_mutex_lock(&log_lock);
    size_t len = log_ring_full ? LOG_RING_SIZE : log_ring_head;
    size_t start = log_ring_full ? log_ring_head : 0;
    char *all = malloc(len + 1);
    if (!all) {
        pthread_mutex_unlock(&log_lock);
        abort();
    }
    for (size_t i = 0; i < len; i++)
        all[i] = log_ring[(start + i) % LOG_RING_SIZE];
    all[len] = '\0';
    pthread_mutex_unlock(&log_lock);
    /* Drop a partial first line left by the wrap, then keep the last `lines` lines. */
    char *p = all;
    if (log_ring_full) {
        char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + len;
    }
    char *end = all + len, *q = end;
    unsigned seen = 0;
    while (q > p) {
        if (q[-1] == '\n' && q != end && ++seen == lines)
            break;
        q--;
    }
    if (lines == 0)
        q = p;
    memmove(all, q, (size_t)(end - q) + 1);
    return all;
}

void xend_log(xend_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    log_ring_add(level, msg);
    if (log_out == OUT_SYSLOG) {
        static const int prio[XEND_LOG_LAST] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[level], "%s", msg);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        FILE *f = log_out == OUT_FILE && log_file ? log_file : stderr;
        fprintf(f, "%s.%03ld xend %s: %s\n", when, ts.tv_nsec / 1000000L,
                level_names[level], msg);
    }
    pthread_mutex_unlock(&log_lock);
}
