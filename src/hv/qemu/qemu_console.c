/*
 * The serial console of a QEMU guest: one thread per guest reads QEMU's serial socket for
 * as long as it is open and keeps the newest QEMU_CONSOLE_MAX bytes in a ring addressed by
 * absolute offsets (util/ring.h), which domain.console_read and the driver's own waits for
 * guest output read under a mutex.
 *
 * The reader never stops draining, whatever happens to the ring or to readers: QEMU sends
 * console output a byte per send(), and a connected client that does not read stalls the
 * guest after a few hundred bytes (a panic that never finishes printing, reboots twice as
 * slow). So the thread does nothing but read, append and signal; the lock is only held
 * for the copy.
 *
 * Typing at the guest is a non-blocking send from the caller's thread: a guest that does
 * not read its input must not hold up an XML-RPC worker, so the caller learns how many
 * bytes were taken and retries later.
 */
#include "hv/qemu/qemu_priv.h"

#include "util/alloc.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct qemu_console {
    int fd;
    int wake[2]; /* close writes wake[1]: the thread leaves its poll at once */
    char *what;  /* "domain 'x'", for messages */
    pthread_t thread;
    pthread_mutex_t lock; /* ring, eof */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC; broadcast on every append and at the end */
    xring ring;
    bool eof; /* the socket ended (or failed): nothing more will arrive */
};

static void *qemu_console_main(void *opaque)
{
    qemu_console *c = opaque;
    char buf[4096];
    for (;;) {
        struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                              {.fd = c->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLNVAL)
            break;
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            pthread_mutex_lock(&c->lock);
            xring_append(&c->ring, buf, (size_t)n);
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        break; /* end of file, or the connection failed */
    }
    pthread_mutex_lock(&c->lock);
    c->eof = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Frees c's own resources (not the thread, not fd). */
static void qemu_console_free(qemu_console *c)
{
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    xring_free(&c->ring);
    free(c->what);
    free(c);
}

/* Takes fd over: on failure it is closed too, so the caller never has to. Free with
 * qemu_console_close. */
qemu_console *qemu_console_open(int fd, const char *what, uint64_t base, const char *seed,
                                size_t len)
{
    qemu_console *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->wake[0] = c->wake[1] = -1;
    c->what = xstrdup(what ? what : "the guest");
    xring_init(&c->ring, QEMU_CONSOLE_MAX);
    xring_set(&c->ring, base, seed ? seed : "", seed ? len : 0);

    /* Non-blocking, so a readiness that turns out spurious never parks the thread in
     * read() where close could not wake it. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set up the console of %s", c->what);
        goto fail;
    }
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set up the console of %s", c->what);
        goto fail;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);

    /* The thread inherits a full signal mask: the daemon's signals belong to its own
     * threads, never to a reader that would only be interrupted by them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, qemu_console_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, rc, "cannot start the console reader of %s",
                                c->what);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        goto fail;
    }
    return c;

fail:
    close(fd);
    qemu_console_free(c);
    return NULL;
}

void qemu_console_close(qemu_console *c)
{
    if (!c)
        return;
    char b = 'x';
    while (write(c->wake[1], &b, 1) < 0 && errno == EINTR)
        ;
    pthread_join(c->thread, NULL);
    close(c->fd);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    qemu_console_free(c);
}

void qemu_console_read(qemu_console *c, uint64_t offset, size_t max, xbuf *out, uint64_t *next,
                       uint64_t *start)
{
    pthread_mutex_lock(&c->lock);
    xring_read(&c->ring, offset, max, out, next, start);
    pthread_mutex_unlock(&c->lock);
}

int qemu_console_write(qemu_console *c, const char *data, size_t len, size_t *accepted)
{
    *accepted = 0;
    pthread_mutex_lock(&c->lock);
    bool eof = c->eof;
    pthread_mutex_unlock(&c->lock);
    if (eof) {
        xend_error_report(XEND_ERR_HYPERVISOR, "the console of %s is gone", c->what);
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (done > 0)
            break; /* report what was taken; the next write learns the rest */
        xend_error_report_errno(XEND_ERR_HYPERVISOR, n < 0 ? errno : EPIPE,
                                "the console of %s is gone", c->what);
        return -1;
    }
    *accepted = done;
    return 0;
}

uint64_t qemu_console_end(qemu_console *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t end = xring_end(&c->ring);
    pthread_mutex_unlock(&c->lock);
    return end;
}

/* Returns early (0) once the console has ended: nothing more can arrive. An empty text
 * is never found. */
uint64_t qemu_console_wait(qemu_console *c, uint64_t offset, const char *text, int timeout_ms)
{
    size_t tl = text ? strlen(text) : 0;
    if (tl == 0)
        return 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms < 0)
        timeout_ms = 0;
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    uint64_t found = 0, from = offset;
    bool timed_out = false;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        const xring *r = &c->ring;
        uint64_t end = xring_end(r);
        if (from < r->base)
            from = r->base;
        if (end >= from && end - from >= tl) {
            const char *hay = r->data + (from - r->base);
            const char *p = memmem(hay, (size_t)(end - from), text, tl);
            if (p) {
                found = from + (uint64_t)(p - hay) + tl;
                break;
            }
            /* Only the last tl - 1 bytes can begin a match that later bytes complete. */
            if (end - (tl - 1) > from)
                from = end - (tl - 1);
        }
        if (c->eof || timed_out)
            break;
        timed_out = pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}
