/*
 * libFuzzer target for the QMP client (hv/qemu/qemu_monitor.h). The input is what QEMU, or
 * something pretending to be it, sends on the monitor socket.
 *
 * Every line goes through qemu_mon_parse_line: a refusal leaves no object behind; an
 * accepted message is consistent (a reply has an error class exactly when it has no return
 * value, an event has a non-empty name) and, written out by json-c and parsed again, is
 * classified the same way.
 *
 * Then the whole input is streamed by a peer thread into a real monitor over a socketpair,
 * and the peer hangs up: qemu_mon_open either fails with an error reported or returns a
 * monitor whose reader parses the rest; that monitor must notice the end of the connection
 * (an event wait returns -1, not a timeout), fail later commands with HYPERVISOR, still
 * find its newest logged event, call the eof callback exactly once and the event callback
 * at most once per logged event. Hangs, crashes and leaks are caught by libFuzzer itself.
 * Any violation aborts.
 */
#include "hv/qemu/qemu_monitor.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Long enough never to fire on a healthy run, short enough to beat libFuzzer's timeout. */
#define FUZZ_QMP_WAIT_MS 10000

static void fuzz_qmp_fail(const char *why, const char *text)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    if (text)
        fprintf(stderr, "fuzz: text:\n%s\n", text);
    abort();
}

static void fuzz_qmp_check_msg(const qemu_mon_msg *m, const char *line)
{
    switch (m->kind) {
    case 'g':
        if (m->ver[0] < 0 || m->ver[1] < 0 || m->ver[2] < 0)
            fuzz_qmp_fail("negative version in a greeting", line);
        break;
    case 'r':
        if (m->id < -1)
            fuzz_qmp_fail("a reply id below -1", line);
        if (m->err_class && (!*m->err_class || !m->err_desc))
            fuzz_qmp_fail("an error reply without class or description", line);
        if (m->err_class && m->ret)
            fuzz_qmp_fail("an error reply with a return value", line);
        break;
    case 'e':
        if (!m->event || !*m->event)
            fuzz_qmp_fail("an event without a name", line);
        break;
    default:
        fuzz_qmp_fail("accepted with an unknown kind", line);
    }
}

static void fuzz_qmp_line(const char *line, size_t len)
{
    json_object *root = (json_object *)1;
    qemu_mon_msg m;
    if (qemu_mon_parse_line(line, len, &root, &m) < 0) {
        if (root)
            fuzz_qmp_fail("a refused line left an object behind", NULL);
        return;
    }
    fuzz_qmp_check_msg(&m, NULL);

    size_t tlen;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &tlen);
    json_object *again = NULL;
    qemu_mon_msg m2;
    if (qemu_mon_parse_line(text, tlen, &again, &m2) < 0)
        fuzz_qmp_fail("json-c's own output of an accepted message is refused", text);
    if (m2.kind != m.kind || m2.id != m.id || (m.event && strcmp(m.event, m2.event) != 0) ||
        (!m.err_class != !m2.err_class) || (m.err_class && strcmp(m.err_class, m2.err_class)) ||
        memcmp(m.ver, m2.ver, sizeof(m.ver)) != 0 || (!m.data != !m2.data) || (!m.ret != !m2.ret))
        fuzz_qmp_fail("the message is classified differently after a round trip", text);
    json_object_put(again);
    json_object_put(root);
}

/* ---- the stream through a real monitor ---- */

typedef struct {
    int fd;
    const uint8_t *data;
    size_t size;
} fuzz_qmp_peer;

static void *fuzz_qmp_peer_main(void *arg)
{
    fuzz_qmp_peer *p = arg;
    size_t off = 0;
    while (off < p->size) {
        ssize_t n = send(p->fd, p->data + off, p->size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the monitor gave up and closed: fine */
        off += (size_t)n;
    }
    shutdown(p->fd, SHUT_WR);
    /* Drain what the monitor sends until it closes its end. */
    char buf[4096];
    while (recv(p->fd, buf, sizeof(buf), 0) > 0)
        ;
    return NULL;
}

typedef struct {
    pthread_mutex_t lock;
    int events, eofs;
} fuzz_qmp_seen;

static void fuzz_qmp_on_event(void *opaque, const char *event, json_object *data)
{
    fuzz_qmp_seen *s = opaque;
    if (!event || !*event)
        fuzz_qmp_fail("an event callback without a name", NULL);
    /* Keep and drop a private copy, as a real callback does. */
    json_object *copy = NULL;
    if (data && json_object_deep_copy(data, &copy, NULL) < 0)
        fuzz_qmp_fail("the event data cannot be copied", NULL);
    json_object_put(copy);
    pthread_mutex_lock(&s->lock);
    s->events++;
    pthread_mutex_unlock(&s->lock);
}

static void fuzz_qmp_on_eof(void *opaque, const char *why)
{
    fuzz_qmp_seen *s = opaque;
    if (!why || !*why)
        fuzz_qmp_fail("the eof callback without a reason", NULL);
    pthread_mutex_lock(&s->lock);
    s->eofs++;
    pthread_mutex_unlock(&s->lock);
}

static void fuzz_qmp_stream(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        fuzz_qmp_fail("socketpair failed", NULL);
    fuzz_qmp_peer peer = {.fd = sv[1], .data = data, .size = size};
    pthread_t thread;
    if (pthread_create(&thread, NULL, fuzz_qmp_peer_main, &peer) != 0)
        fuzz_qmp_fail("pthread_create failed", NULL);

    fuzz_qmp_seen seen = {.events = 0};
    pthread_mutex_init(&seen.lock, NULL);
    xend_error_reset();
    qemu_mon *mon =
        qemu_mon_open(sv[0], "fuzz", FUZZ_QMP_WAIT_MS, fuzz_qmp_on_event, fuzz_qmp_on_eof, &seen);
    if (!mon) {
        const xend_error *err = xend_error_last();
        if (err->code != XEND_ERR_HYPERVISOR && err->code != XEND_ERR_OPERATION_TIMEOUT)
            fuzz_qmp_fail("a failed open reported no HYPERVISOR or OPERATION_TIMEOUT", NULL);
    } else {
        /* No event has an empty name, so this waits for the end of the connection. */
        int64_t r = qemu_mon_event_wait(mon, 0, "", NULL, NULL, FUZZ_QMP_WAIT_MS, NULL);
        if (r != -1)
            fuzz_qmp_fail("the monitor did not notice the peer hanging up", NULL);
        if (qemu_mon_alive(mon))
            fuzz_qmp_fail("a dead monitor says it is alive", NULL);
        xend_error_reset();
        char cls[64];
        if (qemu_mon_command(mon, "query-status", NULL, FUZZ_QMP_WAIT_MS, NULL, cls) != -1 ||
            xend_error_last()->code != XEND_ERR_HYPERVISOR || cls[0])
            fuzz_qmp_fail("a command on a dead monitor did not fail with HYPERVISOR", NULL);
        uint64_t seq = qemu_mon_event_seq(mon);
        if (seq > 0) {
            json_object *d = NULL;
            if (qemu_mon_event_wait(mon, seq - 1, NULL, NULL, NULL, 0, &d) != (int64_t)seq)
                fuzz_qmp_fail("the newest logged event is not found", NULL);
            json_object_put(d);
        }
        qemu_mon_close(mon);
        if (seen.eofs != 1)
            fuzz_qmp_fail("the eof callback did not run exactly once", NULL);
        /* Events before the negotiation completed are logged but not delivered. */
        if ((uint64_t)seen.events > seq)
            fuzz_qmp_fail("the callback saw more events than were logged", NULL);
    }
    if (!mon && seen.eofs != 0)
        fuzz_qmp_fail("the eof callback ran for a monitor that never opened", NULL);
    pthread_join(thread, NULL);
    close(sv[1]);
    pthread_mutex_destroy(&seen.lock);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Every run ends a connection, which the monitor logs at info level. SIGPIPE keeps its
     * default action: a send without MSG_NOSIGNAL would kill the fuzzer. */
    if (xend_log_open("stderr", XEND_LOG_ERROR) < 0)
        fuzz_qmp_fail("cannot open the log", NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || text[i] == '\n') {
            fuzz_qmp_line(text + start, i - start);
            start = i + 1;
        }
    fuzz_qmp_stream(data, size);
    return 0;
}
