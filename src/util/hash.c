/*
 * The string-keyed hash table (see hash.h). Keys are hashed with SipHash-1-3 under a key
 * drawn once per process from getrandom(): domain names and UUIDs come from API callers,
 * and with a fixed, public hash function a caller could pick thousands of names that land
 * in one chain and turn every lookup into a list walk. Each entry keeps its full 64-bit
 * hash so growing never rehashes a key and most failed comparisons cost no strcmp.
 */
#include "hash.h"

#include "alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define XHASH_MIN_BUCKETS 16 /* a power of two: the bucket is hash & (nbuckets - 1) */

typedef struct xhash_entry {
    struct xhash_entry *next;
    uint64_t hash;
    void *value;
    char key[]; /* copied, NUL-terminated */
} xhash_entry;

struct xhash {
    xhash_entry **buckets;
    size_t nbuckets;
    size_t count;
};

static uint64_t hash_seed[2];
static pthread_once_t hash_seed_once = PTHREAD_ONCE_INIT;

static void hash_seed_init(void)
{
    if (getrandom(hash_seed, sizeof(hash_seed), GRND_NONBLOCK) == (ssize_t)sizeof(hash_seed))
        return;
    /* Very early at boot the entropy pool may not be ready. The tables still work with a
     * weaker seed; only the flooding resistance is reduced. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    hash_seed[0] = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    hash_seed[1] = (uint64_t)(uintptr_t)&ts ^ 0x9e3779b97f4a7c15ULL ^ ((uint64_t)getpid() << 17);
}

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

/* SipHash-1-3 (one compression round, three finalisation rounds: the variant CPython and
 * Rust use for their tables) of len bytes, little-endian words as in the reference. */
static uint64_t hash_siphash(const char *data, size_t len)
{
    uint64_t k0 = hash_seed[0], k1 = hash_seed[1];
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    const unsigned char *p = (const unsigned char *)data;
    size_t left = len;

    while (left >= 8) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++)
            m |= (uint64_t)p[i] << (8 * i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
        p += 8;
        left -= 8;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < left; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

xhash *xhash_new(void)
{
    pthread_once(&hash_seed_once, hash_seed_init);
    xhash *h = xmalloc(sizeof(*h));
    h->nbuckets = XHASH_MIN_BUCKETS;
    h->buckets = xcalloc(h->nbuckets, sizeof(*h->buckets));
    h->count = 0;
    return h;
}

void xhash_free(xhash *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nbuckets; i++) {
        xhash_entry *e = h->buckets[i];
        while (e) {
            xhash_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(h->buckets);
    free(h);
}

/* The slot pointing at key's entry (or at the NULL ending its chain), so callers can insert
 * or unlink without walking the chain twice. */
static xhash_entry **hash_find(const xhash *h, const char *key, uint64_t hv)
{
    xhash_entry **pp = &h->buckets[hv & (h->nbuckets - 1)];
    while (*pp && ((*pp)->hash != hv || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void hash_grow(xhash *h)
{
    size_t n = h->nbuckets * 2;
    xhash_entry **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < h->nbuckets; i++) {
        xhash_entry *e = h->buckets[i];
        while (e) {
            xhash_entry *next = e->next;
            xhash_entry **slot = &b[e->hash & (n - 1)];
            e->next = *slot;
            *slot = e;
            e = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

void xhash_set(xhash *h, const char *key, void *value)
{
    size_t klen = strlen(key);
    uint64_t hv = hash_siphash(key, klen);
    xhash_entry **pp = hash_find(h, key, hv);
    if (*pp) {
        (*pp)->value = value;
        return;
    }
    xhash_entry *e = xmalloc(sizeof(*e) + klen + 1);
    memcpy(e->key, key, klen + 1);
    e->hash = hv;
    e->value = value;
    e->next = NULL;
    *pp = e;
    /* Load factor 1: chains stay about one entry long, and doubling keeps the amortised
     * cost of an insert constant. */
    if (++h->count > h->nbuckets)
        hash_grow(h);
}

void *xhash_get(const xhash *h, const char *key)
{
    xhash_entry *e = *hash_find(h, key, hash_siphash(key, strlen(key)));
    return e ? e->value : NULL;
}

void *xhash_remove(xhash *h, const char *key)
{
    xhash_entry **pp = hash_find(h, key, hash_siphash(key, strlen(key)));
    xhash_entry *e = *pp;
    if (!e)
        return NULL;
    void *value = e->value;
    *pp = e->next;
    free(e);
    h->count--;
    return value;
}

size_t xhash_count(const xhash *h)
{
    return h->count;
}

void xhash_foreach(const xhash *h, void (*fn)(const char *key, void *value, void *opaque),
                   void *opaque)
{
    for (size_t i = 0; i < h->nbuckets; i++)
        for (const xhash_entry *e = h->buckets[i]; e; e = e->next)
            fn(e->key, e->value, opaque);
}
