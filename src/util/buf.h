/*
 * A growable byte buffer, always NUL-terminated, used by every encoder.
 */
#ifndef XEND_UTIL_BUF_H
#define XEND_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} xbuf;

#define XBUF_INIT {NULL, 0, 0}

void xbuf_init(xbuf *b);
/* Release the storage; the buffer is empty and reusable afterwards. */
void xbuf_clear(xbuf *b);
/* Forget the contents but keep the storage (for reuse across requests). */
void xbuf_reset(xbuf *b);
void xbuf_reserve(xbuf *b, size_t extra);
void xbuf_add(xbuf *b, const char *s, size_t n);
void xbuf_adds(xbuf *b, const char *s);
void xbuf_addc(xbuf *b, char c);
void xbuf_printf(xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xbuf_vprintf(xbuf *b, const char *fmt, va_list ap);
/* Hand the storage to the caller (who frees it) and leave the buffer empty. Never NULL. */
char *xbuf_steal(xbuf *b, size_t *len);

#endif
