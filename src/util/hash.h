/*
 * A string-keyed hash table (open hashing with chaining, grows at load factor 1). Used for
 * the domain lists' name/uuid/id indexes, so lookups stay O(1) at 10,000 domains. Not
 * thread-safe: the owner locks.
 *
 * Ownership: keys are copied; values are borrowed (the table never frees them).
 */
#ifndef XEND_UTIL_HASH_H
#define XEND_UTIL_HASH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct xhash xhash;

xhash *xhash_new(void);
void xhash_free(xhash *h); /* accepts NULL; values are not freed */
/* Add or replace. */
void xhash_set(xhash *h, const char *key, void *value);
void *xhash_get(const xhash *h, const char *key); /* NULL if absent */
/* Remove; returns the value that was there or NULL. */
void *xhash_remove(xhash *h, const char *key);
size_t xhash_count(const xhash *h);
/* Call fn for every entry (order unspecified); fn must not modify the table. */
void xhash_foreach(const xhash *h, void (*fn)(const char *key, void *value, void *opaque),
                   void *opaque);

#endif
