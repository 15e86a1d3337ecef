/*
 * The bounded byte ring behind the simulated host console (node.dmesg) and every guest's
 * serial console. Readers address bytes by absolute offset since the ring was created, so
 * a client that polls domain.console_read with the last offset it got never sees a byte
 * twice and learns exactly how much it missed when the ring wrapped. Storage grows on
 * demand up to the bound: 10,000 idle consoles stay cheap.
 */
#include "util/ring.h"

#include "util/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xring_init(xring *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max ? max : 1;
}

void xring_free(xring *r)
{
    size_t max = r->max;
    free(r->data);
    xring_init(r, max);
}

uint64_t xring_end(const xring *r)
{
    return r->base + r->len;
}

/* Drop at least need bytes from the front. Dropping a quarter of the ring at a time keeps
 * the memmove amortised, and cutting after a newline keeps the oldest line whole. */
static void xring_drop(xring *r, size_t need)
{
    size_t drop = need;
    if (drop < r->max / 4)
        drop = r->max / 4;
    if (drop > r->len)
        drop = r->len;
    if (drop < r->len) {
        const char *nl = memchr(r->data + drop, '\n', r->len - drop);
        if (nl)
            drop = (size_t)(nl - r->data) + 1;
    }
    memmove(r->data, r->data + drop, r->len - drop);
    r->len -= drop;
    r->base += drop;
}

void xring_append(xring *r, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (n >= r->max) {
        /* Only the tail of an oversized write survives; offsets still count every byte. */
        r->base += r->len + (n - r->max);
        r->len = 0;
        s += n - r->max;
        n = r->max;
    } else if (r->len + n > r->max) {
        xring_drop(r, r->len + n - r->max);
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > r->max)
            cap = r->max;
        r->data = xrealloc(r->data, cap);
        r->cap = cap;
    }
    memcpy(r->data + r->len, s, n);
    r->len += n;
}

void xring_printf(xring *r, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        xring_append(r, tmp, (size_t)n);
        return;
    }
    char *big = NULL;
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n >= 0)
        xring_append(r, big, (size_t)n);
    free(big);
}

size_t xring_read(const xring *r, uint64_t offset, size_t max, xbuf *out, uint64_t *next,
                  uint64_t *start)
{
    uint64_t end = xring_end(r);
    if (start)
        *start = r->base;
    if (offset < r->base)
        offset = r->base;
    if (offset > end)
        offset = end;
    size_t n = (size_t)(end - offset);
    if (n > max)
        n = max;
    if (n)
        xbuf_add(out, r->data + (offset - r->base), n);
    if (next)
        *next = offset + n;
    return n;
}

void xring_discard(xring *r)
{
    r->base += r->len;
    r->len = 0;
}

void xring_set(xring *r, uint64_t base, const char *data, size_t len)
{
    r->len = 0;
    r->base = base;
    xring_append(r, data, len);
}
