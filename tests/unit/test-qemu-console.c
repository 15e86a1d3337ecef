/*
 * Unit tests of the QEMU serial console reader (qemu_console_* in hv/qemu/qemu_priv.h),
 * with a socketpair standing in for QEMU's serial socket: a seeded ring continues at its
 * base offset, reads across the ring's bound report exactly what was kept, waits find text
 * (also split across writes, also while they wait), time out, and stop at end of file;
 * typing is non-blocking and fails once the console is gone; close returns while the peer
 * is still open and hangs up on it.
 */
#include "check-error.h"
#include "check.h"
#include "hv/qemu/qemu_priv.h"
#include "util/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 20000 /* generous: only a failure ever waits this long */

static void peer_write(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            CHECK_MSG(0, "write to the console peer failed: %s", strerror(errno));
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void peer_writes(int fd, const char *s)
{
    peer_write(fd, s, strlen(s));
}

static char *console_text(qemu_console *c, uint64_t offset, size_t max, uint64_t *next,
                          uint64_t *start)
{
    xbuf b = XBUF_INIT;
    qemu_console_read(c, offset, max, &b, next, start);
    xbuf_adds(&b, "");
    return xbuf_steal(&b, NULL);
}

static qemu_console *open_pair(int sv[2], uint64_t base, const char *seed)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        CHECK_MSG(0, "socketpair: %s", strerror(errno));
        return NULL;
    }
    xend_error_reset();
    qemu_console *c = qemu_console_open(sv[0], "domain 'con'", base, seed, seed ? strlen(seed) : 0);
    CHECK_MSG(c != NULL, "open: %s", xend_error_last()->message);
    return c;
}

static void test_seed_and_read(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 1000, "boot log\n");
    if (!c)
        return;
    uint64_t next = 0, start = 0;
    char *t = console_text(c, 0, 1 << 20, &next, &start);
    CHECK_STREQ(t, "boot log\n");
    CHECK_INTEQ(start, 1000);
    CHECK_INTEQ(next, 1009);
    CHECK_INTEQ(qemu_console_end(c), 1009);
    free(t);

    peer_writes(sv[1], "abc");
    CHECK_INTEQ(qemu_console_wait(c, 1009, "abc", WAIT_MS), 1012);
    t = console_text(c, 1009, 1 << 20, &next, &start);
    CHECK_STREQ(t, "abc");
    CHECK_INTEQ(next, 1012);
    free(t);
    /* max bounds a read; an offset past the end gives nothing and the end. */
    t = console_text(c, 1000, 4, &next, &start);
    CHECK_STREQ(t, "boot");
    CHECK_INTEQ(next, 1004);
    free(t);
    t = console_text(c, 5000, 10, &next, &start);
    CHECK_STREQ(t, "");
    CHECK_INTEQ(next, 1012);
    free(t);

    /* Text before offset is not found again; text never written times out. */
    CHECK_INTEQ(qemu_console_wait(c, 1012, "abc", 50), 0);
    CHECK_INTEQ(qemu_console_wait(c, 1009, "never written", 50), 0);
    CHECK_INTEQ(qemu_console_wait(c, 1000, "", 50), 0);
    qemu_console_close(c);
    close(sv[1]);
}

/* A seed longer than the ring keeps its tail; offsets still count every byte. */
static void test_seed_oversized(void)
{
    size_t n = QEMU_CONSOLE_MAX + 5000;
    char *seed = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        seed[i] = (char)('a' + i % 26);
    seed[n] = '\0';
    int sv[2];
    qemu_console *c = open_pair(sv, 7, seed);
    if (c) {
        uint64_t next, start;
        char *t = console_text(c, 0, 1 << 20, &next, &start);
        CHECK_INTEQ(start, 7 + 5000);
        CHECK_INTEQ(next, 7 + n);
        CHECK_MEMEQ(t, strlen(t), seed + 5000, (size_t)QEMU_CONSOLE_MAX);
        free(t);
        qemu_console_close(c);
        close(sv[1]);
    }
    free(seed);
}

/* More than the ring holds: the oldest lines go, readers see exactly what is kept. */
static void test_wrap(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 0, "");
    if (!c)
        return;
    xbuf all = XBUF_INIT;
    for (unsigned i = 0; all.len < 100 * 1024; i++)
        xbuf_printf(&all, "line %06u of the guest's console output\n", i);
    xbuf_adds(&all, "END-OF-BIG\n");
    peer_write(sv[1], all.data, all.len);
    CHECK_INTEQ(qemu_console_wait(c, 0, "END-OF-BIG\n", WAIT_MS), all.len);
    CHECK_INTEQ(qemu_console_end(c), all.len);

    uint64_t next = 0, start = 0;
    char *t = console_text(c, 0, 1 << 20, &next, &start);
    CHECK(start > 0);
    CHECK(all.len - start <= QEMU_CONSOLE_MAX);
    CHECK_INTEQ(next, all.len);
    CHECK_MEMEQ(t, strlen(t), all.data + start, all.len - start);
    CHECK_MSG(start > 0 && all.data[start - 1] == '\n', "the oldest kept line is cut");
    free(t);

    /* Paging through from the oldest kept byte ends exactly at the end. */
    uint64_t off = start, got = 0;
    while (off < all.len) {
        char *part = console_text(c, off, 4096, &next, NULL);
        size_t pl = strlen(part);
        CHECK(pl > 0 && pl <= 4096);
        CHECK(memcmp(part, all.data + off, pl) == 0);
        free(part);
        if (pl == 0)
            break;
        got += pl;
        off = next;
    }
    CHECK_INTEQ(got, all.len - start);
    xbuf_clear(&all);
    qemu_console_close(c);
    close(sv[1]);
}

typedef struct {
    qemu_console *c;
    uint64_t from;
    const char *text;
    uint64_t result;
} waiter;

static void *waiter_main(void *opaque)
{
    waiter *w = opaque;
    w->result = qemu_console_wait(w->c, w->from, w->text, WAIT_MS);
    return NULL;
}

/* Text split across two writes: found when it is complete, by a wait that began before
 * its first half and by one that began after. */
static void test_wait_split(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 50, "x");
    if (!c)
        return;
    waiter w = {c, 51, "TESTGUEST-READY", 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waiter_main, &w) == 0);
    peer_writes(sv[1], "noise TESTGU");
    CHECK_INTEQ(qemu_console_wait(c, 51, "TESTGU", WAIT_MS), 51 + 12);
    peer_writes(sv[1], "EST-READY kernel=1\n");
    pthread_join(th, NULL);
    CHECK_INTEQ(w.result, 51 + 21);
    CHECK_INTEQ(qemu_console_wait(c, 51, "TESTGUEST-READY", WAIT_MS), 51 + 21);
    /* The first of several occurrences after offset. */
    peer_writes(sv[1], "=42= and =42=\n");
    CHECK_INTEQ(qemu_console_wait(c, 51 + 21, "=42=", WAIT_MS), 51 + 31 + 4);
    qemu_console_close(c);
    close(sv[1]);
}

static void test_write_and_eof(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 0, NULL);
    if (!c)
        return;
    size_t acc = 99;
    CHECK_INTEQ(qemu_console_write(c, "dmesg\n", 6, &acc), 0);
    CHECK_INTEQ(acc, 6);
    char buf[16] = {0};
    CHECK_INTEQ(read(sv[1], buf, sizeof(buf)), 6);
    CHECK_STREQ(buf, "dmesg\n");
    CHECK_INTEQ(qemu_console_write(c, "", 0, &acc), 0);
    CHECK_INTEQ(acc, 0);

    /* A guest that reads nothing: the write takes what fits and does not block. */
    size_t big = 8u << 20;
    char *junk = xcalloc(1, big);
    CHECK_INTEQ(qemu_console_write(c, junk, big, &acc), 0);
    CHECK(acc > 0 && acc < big);
    CHECK_INTEQ(qemu_console_write(c, junk, big, &acc), 0);
    CHECK_INTEQ(acc, 0);
    free(junk);

    /* The guest's last words stay readable after the end. */
    peer_writes(sv[1], "last words\n");
    CHECK_INTEQ(qemu_console_wait(c, 0, "last words\n", WAIT_MS), 11);
    close(sv[1]);
    CHECK_INTEQ(qemu_console_wait(c, 11, "nothing more", WAIT_MS), 0);
    uint64_t next, start;
    char *t = console_text(c, 0, 100, &next, &start);
    CHECK_STREQ(t, "last words\n");
    free(t);
    xend_error_reset();
    CHECK_INTEQ(qemu_console_write(c, "x", 1, &acc), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "console of domain 'con' is gone");
    CHECK_INTEQ(acc, 0);
    qemu_console_close(c);
}

/* Close with the peer still connected and silent: returns, and the peer sees the end. */
static void test_close_peer_open(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 0, "seed");
    if (!c)
        return;
    peer_writes(sv[1], "more");
    CHECK_INTEQ(qemu_console_wait(c, 0, "seedmore", WAIT_MS), 8);
    qemu_console_close(c);
    char b;
    CHECK_INTEQ(read(sv[1], &b, 1), 0);
    close(sv[1]);
    qemu_console_close(NULL);
}

/* QEMU sends console output a byte at a time: every byte arrives, in order. */
static void test_bytewise(void)
{
    int sv[2];
    qemu_console *c = open_pair(sv, 0, NULL);
    if (!c)
        return;
    char want[2001];
    for (int i = 0; i < 2000; i++)
        want[i] = (char)('A' + i % 23);
    want[2000] = '\0';
    for (int i = 0; i < 2000; i++)
        peer_write(sv[1], want + i, 1);
    peer_writes(sv[1], "#");
    CHECK_INTEQ(qemu_console_wait(c, 0, "#", WAIT_MS), 2001);
    uint64_t next, start;
    char *t = console_text(c, 0, 2000, &next, &start);
    CHECK_STREQ(t, want);
    free(t);
    qemu_console_close(c);
    close(sv[1]);
}

int main(void)
{
    test_seed_and_read();
    test_seed_oversized();
    test_wrap();
    test_wait_split();
    test_write_and_eof();
    test_close_peer_open();
    test_bytewise();
    return check_summary("qemu-console");
}
