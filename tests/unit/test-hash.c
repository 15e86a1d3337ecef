/*
 * Unit tests of the string-keyed hash table (util/hash.h): set/get/replace/remove, key
 * copying, values borrowed (never freed: valgrind would see a double free in main), growth
 * through many doublings with every key still found, foreach visiting each entry exactly
 * once, keys that differ only late or in length, and the empty key.
 */
#include "check.h"

#include "util/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANY 100000

static void count_entry(const char *key, void *value, void *opaque)
{
    size_t *sums = opaque;
    sums[0]++;
    /* The value stored for "k<i>" is i + 1: check the pairing survives growth. */
    unsigned long i = strtoul(key + 1, NULL, 10);
    if ((uintptr_t)value == i + 1)
        sums[1]++;
    sums[2] += i;
}

static void test_basic(void)
{
    xhash *h = xhash_new();
    int a = 1, b = 2, c = 3;
    CHECK_INTEQ(xhash_count(h), 0);
    CHECK(xhash_get(h, "alpha") == NULL);
    CHECK(xhash_remove(h, "alpha") == NULL);

    char key[16];
    strcpy(key, "alpha");
    xhash_set(h, key, &a);
    /* Keys are copied: changing the caller's buffer changes nothing in the table. */
    strcpy(key, "zzzzz");
    CHECK(xhash_get(h, "alpha") == &a);
    CHECK(xhash_get(h, "zzzzz") == NULL);
    CHECK_INTEQ(xhash_count(h), 1);

    xhash_set(h, "beta", &b);
    xhash_set(h, "", &c); /* the empty string is a key like any other */
    CHECK_INTEQ(xhash_count(h), 3);
    CHECK(xhash_get(h, "") == &c);
    CHECK(xhash_get(h, "beta") == &b);

    /* Replace keeps the count. */
    xhash_set(h, "alpha", &c);
    CHECK(xhash_get(h, "alpha") == &c);
    CHECK_INTEQ(xhash_count(h), 3);

    /* Near misses are different keys. */
    CHECK(xhash_get(h, "alph") == NULL);
    CHECK(xhash_get(h, "alphaa") == NULL);
    CHECK(xhash_get(h, "Alpha") == NULL);

    CHECK(xhash_remove(h, "alpha") == &c);
    CHECK(xhash_get(h, "alpha") == NULL);
    CHECK(xhash_remove(h, "alpha") == NULL);
    CHECK_INTEQ(xhash_count(h), 2);
    CHECK(xhash_get(h, "beta") == &b);

    /* A NULL value can be stored (get cannot tell it from absent; count can). */
    xhash_set(h, "nil", NULL);
    CHECK_INTEQ(xhash_count(h), 3);
    CHECK(xhash_remove(h, "nil") == NULL);
    CHECK_INTEQ(xhash_count(h), 2);

    /* Re-adding after removal works. */
    xhash_set(h, "alpha", &a);
    CHECK(xhash_get(h, "alpha") == &a);
    CHECK_INTEQ(xhash_count(h), 3);
    xhash_free(h);
    xhash_free(NULL);
}

static void test_values_borrowed(void)
{
    /* The table must not free values: these are malloc'd and freed here, once. */
    xhash *h = xhash_new();
    char *v1 = strdup("one"), *v2 = strdup("two");
    xhash_set(h, "1", v1);
    xhash_set(h, "2", v2);
    xhash_set(h, "1", v2); /* replacing does not free v1 either */
    CHECK(xhash_remove(h, "2") == v2);
    xhash_free(h);
    CHECK_STREQ(v1, "one");
    CHECK_STREQ(v2, "two");
    free(v1);
    free(v2);
}

static void test_many(void)
{
    xhash *h = xhash_new();
    char key[32];
    for (uintptr_t i = 0; i < MANY; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        xhash_set(h, key, (void *)(i + 1));
    }
    CHECK_INTEQ(xhash_count(h), MANY);

    size_t found = 0;
    for (uintptr_t i = 0; i < MANY; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        if (xhash_get(h, key) == (void *)(i + 1))
            found++;
    }
    CHECK_INTEQ(found, MANY);
    CHECK(xhash_get(h, "k100000") == NULL);
    CHECK(xhash_get(h, "k-1") == NULL);

    /* foreach: every entry once, each with its own value. */
    size_t sums[3] = {0, 0, 0};
    xhash_foreach(h, count_entry, sums);
    CHECK_INTEQ(sums[0], MANY);
    CHECK_INTEQ(sums[1], MANY);
    CHECK_INTEQ(sums[2], (size_t)MANY * (MANY - 1) / 2);

    /* Remove the even keys; the odd ones stay reachable. */
    size_t removed = 0;
    for (uintptr_t i = 0; i < MANY; i += 2) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        if (xhash_remove(h, key) == (void *)(i + 1))
            removed++;
    }
    CHECK_INTEQ(removed, MANY / 2);
    CHECK_INTEQ(xhash_count(h), MANY / 2);
    size_t ok = 0;
    for (uintptr_t i = 0; i < MANY; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        void *v = xhash_get(h, key);
        if (i % 2 ? v == (void *)(i + 1) : v == NULL)
            ok++;
    }
    CHECK_INTEQ(ok, MANY);
    sums[0] = sums[1] = sums[2] = 0;
    xhash_foreach(h, count_entry, sums);
    CHECK_INTEQ(sums[0], MANY / 2);
    CHECK_INTEQ(sums[1], MANY / 2);
    xhash_free(h);
}

static void test_long_keys(void)
{
    /* Keys longer than one 8-byte SipHash block, differing only in the last byte or only in
     * length, including lengths around block boundaries. */
    xhash *h = xhash_new();
    char key[80];
    size_t n = 0;
    for (size_t len = 1; len < sizeof(key); len++) {
        memset(key, 'x', len);
        key[len] = '\0';
        xhash_set(h, key, (void *)(uintptr_t)len);
        n++;
        key[len - 1] = 'y';
        xhash_set(h, key, (void *)(uintptr_t)(len + 1000));
        n++;
    }
    CHECK_INTEQ(xhash_count(h), n);
    size_t ok = 0;
    for (size_t len = 1; len < sizeof(key); len++) {
        memset(key, 'x', len);
        key[len] = '\0';
        if (xhash_get(h, key) == (void *)(uintptr_t)len)
            ok++;
        key[len - 1] = 'y';
        if (xhash_get(h, key) == (void *)(uintptr_t)(len + 1000))
            ok++;
    }
    CHECK_INTEQ(ok, n);
    /* Non-ASCII bytes hash like any others. */
    xhash_set(h, "\xc3\xa9t\xc3\xa9", (void *)1);
    CHECK(xhash_get(h, "\xc3\xa9t\xc3\xa9") == (void *)1);
    CHECK(xhash_get(h, "ete") == NULL);
    xhash_free(h);
}

int main(void)
{
    test_basic();
    test_values_borrowed();
    test_many();
    test_long_keys();
    return check_summary("hash");
}
