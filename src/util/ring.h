/*
 * A bounded byte ring addressed by absolute offsets: the console history of a guest (real
 * or simulated) and the simulated host's dmesg. Readers poll with the offset they got last
 * and never see a byte twice; when the ring wraps they learn exactly how much they missed.
 * Storage grows on demand up to the bound, so an idle console costs a few hundred bytes.
 * Not thread-safe: callers lock.
 */
#ifndef XEND_UTIL_RING_H
#define XEND_UTIL_RING_H

#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Keeps the newest max bytes; data[0] is at absolute offset base. Storage grows on demand
 * so an idle console costs a few hundred bytes, not max. Not thread-safe (callers lock). */
typedef struct {
    char *data;
    size_t len, cap, max;
    uint64_t base;
} xring;

void xring_init(xring *r, size_t max);
void xring_free(xring *r); /* releases storage; offsets restart at 0 */
void xring_append(xring *r, const char *s, size_t n);
void xring_printf(xring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t xring_end(const xring *r); /* offset after the newest byte */
/* Append at most max bytes from offset (clamped to what is kept) to out; *next receives the
 * offset after the last byte returned, *start the oldest offset kept. Returns the count. */
size_t xring_read(const xring *r, uint64_t offset, size_t max, xbuf *out, uint64_t *next,
                  uint64_t *start);
/* Forget the contents; offsets continue from the end (dmesg -c). */
void xring_discard(xring *r);
/* Replace the contents with len bytes that began at offset base (restore, re-attach). */
void xring_set(xring *r, uint64_t base, const char *data, size_t len);

#endif
