/*
 * Abort-on-OOM allocation wrappers (see alloc.h for why).
 */
#include "alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void alloc_die(size_t size)
{
    fprintf(stderr, "xend: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        alloc_die(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        alloc_die(n * size);
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        alloc_die(size);
    return q;
}

void *xgrow(void *p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2)
            alloc_die(SIZE_MAX);
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / size)
        alloc_die(SIZE_MAX);
    p = xrealloc(p, ncap * size);
    *cap = ncap;
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        alloc_die(strlen(fmt));
    return s;
}

void xend_autofree_cleanup(void *pp)
{
    free(*(void **)pp);
}
