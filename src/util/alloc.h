/*
 * Allocation helpers. Out-of-memory aborts the process (as GLib and modern libvirt do):
 * a daemon that cannot allocate a few bytes cannot report anything useful, and checking
 * every small allocation hides real errors in noise. Sizes that come from outside the
 * process are bounded by limits long before they reach these functions.
 */
#ifndef XEND_UTIL_ALLOC_H
#define XEND_UTIL_ALLOC_H

#include <stddef.h>

/* Every function returns memory the caller frees with free(). Never NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* Grow an array of n elements of size each to hold at least want; updates *cap. */
void *xgrow(void *p, size_t *cap, size_t want, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For locals: `XEND_AUTOFREE char *s = ...;` frees s when it goes out of scope. */
void xend_autofree_cleanup(void *pp);
#define XEND_AUTOFREE __attribute__((cleanup(xend_autofree_cleanup)))

#endif
