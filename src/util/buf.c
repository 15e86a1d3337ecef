/*
 * Growable byte buffer (see buf.h). Appends grow geometrically so encoding a large reply
 * costs amortised O(n).
 */
#include "buf.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xbuf_init(xbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void xbuf_clear(xbuf *b)
{
    free(b->data);
    xbuf_init(b);
}

void xbuf_reset(xbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void xbuf_reserve(xbuf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t want = b->len + extra + 1;
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < want)
            ncap *= 2;
        b->data = xrealloc(b->data, ncap);
        b->cap = ncap;
    }
}

void xbuf_add(xbuf *b, const char *s, size_t n)
{
    xbuf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void xbuf_adds(xbuf *b, const char *s)
{
    xbuf_add(b, s, strlen(s));
}

void xbuf_addc(xbuf *b, char c)
{
    xbuf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void xbuf_vprintf(xbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        xbuf_add(b, tmp, (size_t)n);
        return;
    }
    xbuf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void xbuf_printf(xbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *xbuf_steal(xbuf *b, size_t *len)
{
    char *d = b->data ? b->data : xstrdup("");
    if (len)
        *len = b->len;
    xbuf_init(b);
    return d;
}
