/*
 * A minimal unit-test harness: CHECK() records a failure with file and line and carries on;
 * main() ends with `return check_summary("name");`, which prints "N checks, N failed" and
 * returns the exit status meson expects (0 pass, 1 fail). CHECK_INTEQ, CHECK_MEMEQ and
 * CHECK_CONTAINS print both sides when they fail.
 */
#ifndef XEND_TESTS_CHECK_H
#define XEND_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_count, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STREQ(a, b)                                                                          \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        CHECK_MSG(check_a_ &&check_b_ &&strcmp(check_a_, check_b_) == 0, "\"%s\" != \"%s\"",       \
                  check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                 \
    } while (0)

/* Integers compared as long long, both printed on failure. */
#define CHECK_INTEQ(a, b)                                                                          \
    do {                                                                                           \
        long long check_x_ = (long long)(a), check_y_ = (long long)(b);                            \
        CHECK_MSG(check_x_ == check_y_, "%lld != %lld", check_x_, check_y_);                       \
    } while (0)

/* Byte strings of known length compared exactly. */
#define CHECK_MEMEQ(a, alen, b, blen)                                                              \
    do {                                                                                           \
        const void *check_p_ = (a), *check_q_ = (b);                                               \
        size_t check_m_ = (alen), check_n_ = (blen);                                               \
        CHECK_MSG(check_p_ &&check_q_ &&check_m_ == check_n_ &&                                    \
                      memcmp(check_p_, check_q_, check_m_) == 0,                                   \
                  "lengths %zu and %zu, or contents differ", check_m_, check_n_);                  \
    } while (0)

/* needle occurs in haystack (case-insensitive, so messages may capitalise freely). */
static inline int check_contains(const char *haystack, const char *needle)
{
    if (!haystack || !needle)
        return 0;
    size_t n = strlen(needle);
    for (const char *p = haystack; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] &&
               (p[i] == needle[i] || (p[i] >= 'A' && p[i] <= 'Z' && p[i] + 32 == needle[i]) ||
                (p[i] >= 'a' && p[i] <= 'z' && p[i] - 32 == needle[i])))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *check_h_ = (hay), *check_n_ = (needle);                                        \
        CHECK_MSG(check_contains(check_h_, check_n_), "\"%s\" does not contain \"%s\"",            \
                  check_h_ ? check_h_ : "(null)", check_n_);                                       \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %u checks, %u failed\n", name, check_count, check_failed);
    return check_failed ? 1 : 0;
}

#endif
