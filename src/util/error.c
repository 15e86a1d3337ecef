/*
 * The thread-local "last error" and the compiled error table (see errors.def). Each thread
 * holds at most one pending error, which the XML-RPC pipeline turns into a fault.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

static const xend_error_info error_table[] = {
#define XEND_ERROR(sym, code, msg, doc) {#sym, (code), msg, doc},
#include "errors.def"
#undef XEND_ERROR
};

static __thread xend_error last_error;

/* The call stack of an internal error, as function+offset names (no file access, no
 * allocation that could fail differently): shown to privileged local callers in debug
 * mode only, never otherwise. */
static void error_trace(void)
{
    void *frames[24];
    int n = backtrace(frames, 24);
    char **names = backtrace_symbols(frames, n);
    size_t len = 0;
    last_error.trace[0] = '\0';
    for (int i = 2; names && i < n && len + 2 < sizeof(last_error.trace); i++) {
        int w = snprintf(last_error.trace + len, sizeof(last_error.trace) - len, "%s%s",
                         len ? "\n" : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len >= sizeof(last_error.trace))
        last_error.trace[sizeof(last_error.trace) - 1] = '\0';
    free(names);
}

static void error_vset(int code, int errnum, const char *fmt, va_list ap)
{
    last_error.code = code;
    last_error.message[0] = '\0';
    last_error.trace[0] = '\0';
    if (code == XEND_ERR_INTERNAL)
        error_trace();
    if (fmt && *fmt) {
        vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    } else {
        const xend_error_info *info = xend_error_lookup(code);
        snprintf(last_error.message, sizeof(last_error.message), "%s",
                 info ? info->message : "unknown error");
    }
    if (errnum) {
        size_t len = strlen(last_error.message);
        snprintf(last_error.message + len, sizeof(last_error.message) - len, ": %s",
                 strerror(errnum));
    }
}

void xend_error_report(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, 0, fmt, ap);
    va_end(ap);
}

void xend_error_report_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, errnum, fmt, ap);
    va_end(ap);
}

const xend_error *xend_error_last(void)
{
    return &last_error;
}

void xend_error_reset(void)
{
    last_error.code = 0;
    last_error.message[0] = '\0';
}

const xend_error_info *xend_error_lookup(int code)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == code)
            return &error_table[i];
    return NULL;
}

const xend_error_info *xend_error_table(size_t *n)
{
    *n = sizeof(error_table) / sizeof(error_table[0]);
    return error_table;
}
