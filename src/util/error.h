/*
 * Error reporting: report once, where it happens. A failing function calls
 * xend_error_report() with a code from errors.def and a message a user understands, then
 * returns -1 or NULL; callers just pass the failure up. The error lives in thread-local
 * storage until the next report or xend_error_reset().
 */
#ifndef XEND_UTIL_ERROR_H
#define XEND_UTIL_ERROR_H

#include <stddef.h>

typedef enum {
#define XEND_ERROR(sym, code, msg, doc) XEND_ERR_##sym = (code),
#include "errors.def"
#undef XEND_ERROR
} xend_error_code;

typedef struct {
    int code;         /* 0 when no error has been reported */
    char message[1024];
    char trace[2048]; /* INTERNAL errors: the reporting call stack, else "" */
} xend_error;

/* One row of the error table, for docs and clients. Static storage; never freed. */
typedef struct {
    const char *name; /* symbolic name without prefix, e.g. "NO_DOMAIN" */
    int code;
    const char *message;
    const char *doc;
} xend_error_info;

/* Record an error for this thread. The message is formatted printf-style and truncated
 * to fit; an empty fmt uses the table's default message. */
void xend_error_report(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like xend_error_report, appending ": strerror(errnum)". */
void xend_error_report_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The thread's last error; never NULL (code 0 if none). Owned by the thread. */
const xend_error *xend_error_last(void);
void xend_error_reset(void);

/* Table access: NULL when the code is unknown. */
const xend_error_info *xend_error_lookup(int code);
/* All rows; *n receives the count. */
const xend_error_info *xend_error_table(size_t *n);

#endif
