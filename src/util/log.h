/*
 * Logging with levels to stderr, syslog or a file. Thread-safe; the file output can be
 * reopened (SIGHUP) for log rotation.
 */
#ifndef XEND_UTIL_LOG_H
#define XEND_UTIL_LOG_H

typedef enum {
    XEND_LOG_ERROR,
    XEND_LOG_WARN,
    XEND_LOG_INFO,
    XEND_LOG_DEBUG,
    XEND_LOG_LAST
} xend_log_level;

/* Parse "error", "warn"/"warning", "info", "debug". Returns -1 on an unknown name. */
int xend_log_level_parse(const char *name);
const char *xend_log_level_name(xend_log_level level);

/* Configure the output: "stderr", "syslog" or "file:/path". Returns 0, or -1 with an
 * error reported (CONFIG_INVALID or SYSTEM). */
int xend_log_open(const char *output, xend_log_level level);
/* Reopen a file output (after rotation); no-op for the others. 0 or -1 (error reported). */
int xend_log_reopen(void);
void xend_log_close(void);
void xend_log_set_level(xend_log_level level);

/* The last `lines` lines of the log (0 = all kept, at most 256 KiB), whatever the output;
 * only lines that passed the level filter are kept.
 * Caller frees. */
char *xend_log_tail(unsigned lines);

void xend_log(xend_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) xend_log(XEND_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) xend_log(XEND_LOG_WARN, __VA_ARGS__)
#define log_info(...) xend_log(XEND_LOG_INFO, __VA_ARGS__)
#define log_debug(...) xend_log(XEND_LOG_DEBUG, __VA_ARGS__)

#endif
