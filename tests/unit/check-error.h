/*
 * Assertions on the thread's last reported error (util/error.h), shared by the unit tests:
 * the code must match exactly and the message must name what went wrong and, for the
 * decoder, where (a "line N" location).
 */
#ifndef XEND_TESTS_CHECK_ERROR_H
#define XEND_TESTS_CHECK_ERROR_H

#include "check.h"
#include "util/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>

/* msg says "line N" (any case) with exactly the number n (n == 0: any number). */
static inline int check_msg_has_line(const char *msg, unsigned n)
{
    for (const char *p = msg; p && *p; p++) {
        if (strncasecmp(p, "line ", 5) != 0 || p[5] < '0' || p[5] > '9')
            continue;
        if (n == 0 || strtoul(p + 5, NULL, 10) == n)
            return 1;
    }
    return 0;
}

/* The last error has `code` and its message contains every string of the NULL-terminated
 * list. Counts as one check. */
static inline void check_error_(const char *file, int line, int code, ...)
{
    const xend_error *e = xend_error_last();
    check_count++;
    int ok = e->code == code;
    va_list ap;
    va_start(ap, code);
    const char *needle, *missing = NULL;
    while ((needle = va_arg(ap, const char *)) != NULL)
        if (!check_contains(e->message, needle) && !missing)
            missing = needle;
    va_end(ap);
    if (!ok || missing) {
        check_failed++;
        fprintf(stderr, "%s:%d: CHECK failed: expected error %d%s%s%s, got %d \"%s\"\n", file, line,
                code, missing ? " mentioning \"" : "", missing ? missing : "", missing ? "\"" : "",
                e->code, e->message);
    }
}

#define CHECK_ERROR(code, ...) check_error_(__FILE__, __LINE__, (code), ##__VA_ARGS__, (char *)0)

/* The last error's message carries a location "line N" (n == 0: any line). */
#define CHECK_ERROR_LINE(n)                                                                        \
    CHECK_MSG(check_msg_has_line(xend_error_last()->message, (n)),                                 \
              "message \"%s\" does not name line %u", xend_error_last()->message, (unsigned)(n))

#endif
