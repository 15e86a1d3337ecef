/*
 * Unit tests of the QMP client (hv/qemu/qemu_monitor.h). The line parser is checked against
 * every message shape of reference/qemu.md section 5 and against malformed input. The
 * client is driven against a scripted fake QMP peer running in a thread on the other end of
 * a socketpair: negotiation and its failures, replies matched by id (also around events and
 * stray replies), errors, timeouts with late replies, the peer vanishing, overlong lines,
 * concurrent callers, qemu_mon_close under a waiting caller, fd passing and event waits.
 * When qemu-system-x86_64 is installed, the same client then drives a real QEMU (TCG,
 * stopped, no guest) through status, cont/stop events, an unknown command, getfd and quit.
 *
 * CHECK is only used on the main thread; helper threads record what they saw and the main
 * thread checks it after joining them.
 */
#include "check-error.h"

#include "hv/qemu/qemu_monitor.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WHAT "domain 'web'"
#define GREETING                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "             \
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define TS "\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}"
/* Bounds that only matter when something is broken; no check depends on them. */
#define LONG_MS 20000

/* ---- what the callbacks saw ---- */

typedef struct {
    pthread_mutex_t lock;
    int bad_opaque;
    int eofs;
    char why[256];
    int nevents;
    char names[256][32];
} recorder;

static recorder rec;

static void rec_reset(void)
{
    pthread_mutex_lock(&rec.lock);
    rec.eofs = 0;
    rec.why[0] = '\0';
    rec.nevents = 0;
    pthread_mutex_unlock(&rec.lock);
}

static void rec_event(void *opaque, const char *event, json_object *data)
{
    (void)data;
    pthread_mutex_lock(&rec.lock);
    rec.bad_opaque += opaque != &rec;
    if (rec.nevents < 256)
        snprintf(rec.names[rec.nevents], sizeof(rec.names[0]), "%s", event);
    rec.nevents++;
    pthread_mutex_unlock(&rec.lock);
}

static void rec_eof(void *opaque, const char *why)
{
    pthread_mutex_lock(&rec.lock);
    rec.bad_opaque += opaque != &rec;
    rec.eofs++;
    snprintf(rec.why, sizeof(rec.why), "%s", why);
    pthread_mutex_unlock(&rec.lock);
}

/* ---- the fake peer ---- */

typedef struct peer peer;
typedef void (*peer_script)(peer *p);

struct peer {
    int fd;
    pthread_t thread;
    peer_script script;
    char err[256]; /* first thing the peer found wrong, "" if none */
    char rbuf[1 << 16];
    size_t rlen;
    int passed_fd;        /* an fd received with SCM_RIGHTS, -1 if none */
    bool fd_with_command; /* it came in the same recvmsg as the start of a command */
    bool saw_eof;
    char names[8][64]; /* commands read, in order */
    int64_t ids[8];
    int ncmds;
    json_object *last_args;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int gate;     /* main -> peer */
    int progress; /* peer -> main */
};

static void peer_fail(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void peer_fail(peer *p, const char *fmt, ...)
{
    if (p->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
}

static void peer_send_raw(peer *p, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(p->fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the monitor closed: the test decides whether that was expected */
        s += n;
        len -= (size_t)n;
    }
}

static void peer_sendf(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void peer_sendf(peer *p, const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    peer_send_raw(p, s, (size_t)n);
    free(s);
}

/* Read one line into line (NUL-terminated). 1, or 0 at EOF. Any SCM_RIGHTS fd is kept. */
static int peer_read_line(peer *p, char *line, size_t max)
{
    for (;;) {
        char *nl = memchr(p->rbuf, '\n', p->rlen);
        if (nl) {
            size_t n = (size_t)(nl - p->rbuf);
            if (n >= max)
                n = max - 1;
            memcpy(line, p->rbuf, n);
            line[n] = '\0';
            size_t used = (size_t)(nl - p->rbuf) + 1;
            memmove(p->rbuf, p->rbuf + used, p->rlen - used);
            p->rlen -= used;
            return 1;
        }
        if (p->rlen == sizeof(p->rbuf)) {
            peer_fail(p, "command line longer than the peer's buffer");
            return 0;
        }
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = p->rbuf + p->rlen, .iov_len = sizeof(p->rbuf) - p->rlen};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t got = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            p->saw_eof = true;
            return 0;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                memcpy(&p->passed_fd, CMSG_DATA(c), sizeof(int));
                p->fd_with_command =
                    p->rlen == 0 && got > 12 && memcmp(p->rbuf, "{\"execute\":", 11) == 0;
            }
        p->rlen += (size_t)got;
    }
}

/* Read one command; its name and id are recorded. 0, or -1 at EOF / on garbage. */
static int peer_read_cmd(peer *p, const char *expect, int64_t *id)
{
    char line[4096];
    if (!peer_read_line(p, line, sizeof(line))) {
        if (expect)
            peer_fail(p, "EOF while waiting for '%s'", expect);
        return -1;
    }
    json_object *root = json_tokener_parse(line), *v;
    const char *name = NULL;
    int64_t cid = -1;
    if (root && json_object_object_get_ex(root, "execute", &v))
        name = json_object_get_string(v);
    if (root && json_object_object_get_ex(root, "id", &v) && json_object_is_type(v, json_type_int))
        cid = json_object_get_int64(v);
    if (!name || cid <= 0) {
        peer_fail(p, "not a command with an integer id: %s", line);
        json_object_put(root);
        return -1;
    }
    if (expect && strcmp(name, expect) != 0)
        peer_fail(p, "expected '%s', got '%s'", expect, name);
    if (p->ncmds < 8) {
        snprintf(p->names[p->ncmds], sizeof(p->names[0]), "%s", name);
        p->ids[p->ncmds] = cid;
        p->ncmds++;
    }
    json_object_put(p->last_args);
    p->last_args = NULL;
    if (json_object_object_get_ex(root, "arguments", &v))
        p->last_args = json_object_get(v);
    json_object_put(root);
    if (id)
        *id = cid;
    return 0;
}

static void peer_wait_gate(peer *p, int n)
{
    pthread_mutex_lock(&p->lock);
    while (p->gate < n)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void peer_set_progress(peer *p, int n)
{
    pthread_mutex_lock(&p->lock);
    p->progress = n;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void peer_open_gate(peer *p, int n)
{
    pthread_mutex_lock(&p->lock);
    p->gate = n;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void peer_wait_progress(peer *p, int n)
{
    pthread_mutex_lock(&p->lock);
    while (p->progress < n)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

/* Drain until the monitor closes its end. */
static void peer_wait_eof(peer *p)
{
    char line[4096];
    while (peer_read_line(p, line, sizeof(line)))
        ;
}

static int peer_negotiate(peer *p)
{
    int64_t id;
    peer_send_raw(p, GREETING, strlen(GREETING));
    if (peer_read_cmd(p, "qmp_capabilities", &id) < 0)
        return -1;
    if (p->last_args)
        peer_fail(p, "qmp_capabilities came with arguments");
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    return 0;
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    p->script(p);
    return NULL;
}

/* Start a peer running script; *mon_fd receives the monitor's end of the socketpair. */
static peer *peer_start(peer_script script, int *mon_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    peer *p = calloc(1, sizeof(*p));
    p->fd = sv[1];
    p->script = script;
    p->passed_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, peer_main, p) != 0)
        abort();
    *mon_fd = sv[0];
    return p;
}

/* Join the peer and check it found nothing wrong; its fields are safe to read after. */
static void peer_join(peer *p)
{
    pthread_join(p->thread, NULL);
    CHECK_MSG(p->err[0] == '\0', "fake peer: %s", p->err);
}

static void peer_free(peer *p)
{
    if (p->passed_fd >= 0)
        close(p->passed_fd);
    json_object_put(p->last_args);
    close(p->fd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

static void peer_finish(peer *p)
{
    peer_join(p);
    peer_free(p);
}

static qemu_mon *open_with(peer_script script, peer **pp)
{
    int fd;
    rec_reset();
    *pp = peer_start(script, &fd);
    xend_error_reset();
    qemu_mon *mon = qemu_mon_open(fd, WHAT, LONG_MS, rec_event, rec_eof, &rec);
    CHECK_MSG(mon != NULL, "open failed: %s", xend_error_last()->message);
    return mon;
}

static int rec_eofs(char *why, size_t len)
{
    pthread_mutex_lock(&rec.lock);
    int n = rec.eofs;
    if (why)
        snprintf(why, len, "%s", rec.why);
    pthread_mutex_unlock(&rec.lock);
    return n;
}

/* ---- the parser ---- */

typedef struct {
    const char *line;
    int rc;
    char kind;
    int64_t id;
    const char *name; /* event name or error class */
    bool has_data;
} parse_case;

static const parse_case parse_cases[] = {
    /* reference/qemu.md section 5: replies */
    {"{\"return\": {}, \"id\": 1}", 0, 'r', 1, NULL, false},
    {"{\"return\": {\"status\": \"running\", \"running\": true, \"singlestep\": false}, "
     "\"id\": 2}",
     0, 'r', 2, NULL, false},
    {"{\"return\": {\"actual\": 134217728}, \"id\": 3}", 0, 'r', 3, NULL, false},
    {"{\"return\": [{\"props\": {\"socket-id\": 0, \"core-id\": 1, \"thread-id\": 0}, "
     "\"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\"}], \"id\": 4}",
     0, 'r', 4, NULL, false},
    {"{\"return\": {\"status\": \"completed\", \"total-time\": 620, \"downtime\": 47, \"ram\": "
     "{\"transferred\": 93000000}}, \"id\": 5}",
     0, 'r', 5, NULL, false},
    {"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
     "negotiation with 'qmp_capabilities'\"}, \"id\": 6}",
     0, 'r', 6, "CommandNotFound", false},
    {"{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been "
     "activated\"}, \"id\": 7}",
     0, 'r', 7, "DeviceNotActive", false},
    {"{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'net1' not found\"}, "
     "\"id\": 8}",
     0, 'r', 8, "DeviceNotFound", false},
    {"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate device ID 'vdisk1'\"}, "
     "\"id\": 9}",
     0, 'r', 9, "GenericError", false},
    /* a parse error of ours comes back without an id */
    {"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword "
     "'x'\"}}",
     0, 'r', -1, "GenericError", false},
    /* section 5: events */
    {"{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, \"event\": \"RESUME\"}", 0,
     'e', -1, "RESUME", false},
    {"{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, \"event\": \"STOP\"}", 0, 'e',
     -1, "STOP", false},
    {"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"POWERDOWN\"}", 0, 'e', -1,
     "POWERDOWN", false},
    {"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}, " TS
     "}",
     0, 'e', -1, "SHUTDOWN", true},
    {"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}, " TS
     "}",
     0, 'e', -1, "SHUTDOWN", true},
    {"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-signal\"}, " TS "}",
     0, 'e', -1, "SHUTDOWN", true},
    {"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-panic\"}, " TS "}",
     0, 'e', -1, "SHUTDOWN", true},
    {"{\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
     "\"host-qmp-system-reset\"}, " TS "}",
     0, 'e', -1, "RESET", true},
    {"{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}, " TS "}", 0,
     'e', -1, "RESET", true},
    {"{\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 100663296}, " TS "}", 0, 'e', -1,
     "BALLOON_CHANGE", true},
    {"{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": "
     "\"/machine/peripheral/vdisk1/virtio-backend\"}, " TS "}",
     0, 'e', -1, "DEVICE_DELETED", true},
    {"{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"vdisk1\", \"path\": "
     "\"/machine/peripheral/vdisk1\"}, " TS "}",
     0, 'e', -1, "DEVICE_DELETED", true},
    {"{\"event\": \"NIC_RX_FILTER_CHANGED\", \"data\": {\"name\": \"nic1\", \"path\": "
     "\"/machine/peripheral/nic1/virtio-backend\"}, " TS "}",
     0, 'e', -1, "NIC_RX_FILTER_CHANGED", true},
    {"{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"info\": {\"device\": \"cpu1\", \"source\": 1, "
     "\"status\": 0, \"slot\": \"1\", \"slot-type\": \"CPU\"}}, " TS "}",
     0, 'e', -1, "ACPI_DEVICE_OST", true},
    {"{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"info\": {\"device\": \"cpu1\", \"source\": 3, "
     "\"status\": 132, \"slot\": \"1\", \"slot-type\": \"CPU\"}}, " TS "}",
     0, 'e', -1, "ACPI_DEVICE_OST", true},
    {"{\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}, " TS "}", 0, 'e', -1,
     "MIGRATION", true},
    {"{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}, " TS "}", 0, 'e', -1,
     "MIGRATION", true},
    {"{\"event\": \"MIGRATION_PASS\", \"data\": {\"pass\": 3}, " TS "}", 0, 'e', -1,
     "MIGRATION_PASS", true},
    {"{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"poweroff\"}, " TS "}", 0, 'e', -1,
     "GUEST_PANICKED", true},
    {"{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", \"info\": {\"type\": "
     "\"hyper-v\"}}, " TS "}",
     0, 'e', -1, "GUEST_PANICKED", true},
    /* line endings and whitespace */
    {"{\"return\": {}, \"id\": 10}\r\n", 0, 'r', 10, NULL, false},
    {"  {\"return\": {}, \"id\": 11}\n", 0, 'r', 11, NULL, false},
    /* odd but acceptable */
    {"{\"return\": {}, \"id\": \"abc\"}", 0, 'r', -1, NULL, false},
    {"{\"return\": {}, \"id\": -5}", 0, 'r', -1, NULL, false},
    {"{\"return\": {}}", 0, 'r', -1, NULL, false},
    {"{\"error\": {}, \"id\": 12}", 0, 'r', 12, "GenericError", false},
    {"{\"error\": {\"class\": 5, \"desc\": \"x\"}, \"return\": {}, \"id\": 13}", 0, 'r', 13,
     "GenericError", false},
    {"{\"event\": \"X\", \"data\": null}", 0, 'e', -1, "X", false},
    {"{\"QMP\": {}}", 0, 'g', -1, NULL, false},
    /* json-c takes single quotes, as QEMU's own parser does */
    {"{'return': {}, 'id': 14}", 0, 'r', 14, NULL, false},
    /* not QMP */
    {"", -1, 0, -1, NULL, false},
    {"\r\n", -1, 0, -1, NULL, false},
    {"{}", -1, 0, -1, NULL, false},
    {"[1, 2]", -1, 0, -1, NULL, false},
    {"\"return\"", -1, 0, -1, NULL, false},
    {"42", -1, 0, -1, NULL, false},
    {"null", -1, 0, -1, NULL, false},
    {"{\"event\": ", -1, 0, -1, NULL, false},
    {"{\"return\": {}, \"id\": 1} {\"return\": {}, \"id\": 2}", -1, 0, -1, NULL, false},
    {"{\"return\": {}, \"id\": 1}x", -1, 0, -1, NULL, false},
    {"{\"event\": 5}", -1, 0, -1, NULL, false},
    {"{\"event\": \"\"}", -1, 0, -1, NULL, false},
    {"{\"event\": \"RESU\\u0000ME\"}", -1, 0, -1, NULL, false},
    {"{\"error\": \"no\", \"id\": 1}", -1, 0, -1, NULL, false},
    {"{\"QMP\": 7}", -1, 0, -1, NULL, false},
    {"{\"return\": {}, \"id\": 1,}", -1, 0, -1, NULL, false},
    {"{\"event\": \"\xff\xfe\"}", -1, 0, -1, NULL, false},
    {"SSH-2.0-OpenSSH_9.2p1 Debian-2", -1, 0, -1, NULL, false},
};

static void test_parse_shapes(void)
{
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const parse_case *c = &parse_cases[i];
        json_object *root = (json_object *)1;
        qemu_mon_msg m;
        int rc = qemu_mon_parse_line(c->line, strlen(c->line), &root, &m);
        CHECK_MSG(rc == c->rc, "case %zu (%s): rc %d", i, c->line, rc);
        if (rc < 0) {
            CHECK_MSG(root == NULL, "case %zu: root left set on refusal", i);
            continue;
        }
        CHECK_MSG(m.kind == c->kind, "case %zu: kind '%c'", i, m.kind);
        if (c->kind == 'r') {
            CHECK_MSG(m.id == c->id, "case %zu: id %lld", i, (long long)m.id);
            if (c->name) {
                CHECK_STREQ(m.err_class, c->name);
                CHECK(m.err_desc != NULL);
                CHECK(m.ret == NULL);
            } else {
                CHECK(m.err_class == NULL);
                CHECK(m.ret != NULL);
            }
        } else if (c->kind == 'e') {
            CHECK_STREQ(m.event, c->name);
            CHECK_MSG((m.data != NULL) == c->has_data, "case %zu: data", i);
        }
        json_object_put(root);
    }

    /* Values, not just shapes. */
    json_object *root, *v;
    qemu_mon_msg m;
    const char *g = GREETING;
    CHECK_INTEQ(qemu_mon_parse_line(g, strlen(g), &root, &m), 0);
    CHECK_INTEQ(m.kind, 'g');
    CHECK_INTEQ(m.ver[0], 7);
    CHECK_INTEQ(m.ver[1], 2);
    CHECK_INTEQ(m.ver[2], 22);
    json_object_put(root);

    const char *st = parse_cases[1].line;
    CHECK_INTEQ(qemu_mon_parse_line(st, strlen(st), &root, &m), 0);
    CHECK(json_object_object_get_ex(m.ret, "status", &v));
    CHECK_STREQ(json_object_get_string(v), "running");
    json_object_put(root);

    const char *dd = parse_cases[21].line;
    CHECK_INTEQ(qemu_mon_parse_line(dd, strlen(dd), &root, &m), 0);
    CHECK(json_object_object_get_ex(m.data, "device", &v));
    CHECK_STREQ(json_object_get_string(v), "vdisk1");
    json_object_put(root);

    const char *err = parse_cases[7].line;
    CHECK_INTEQ(qemu_mon_parse_line(err, strlen(err), &root, &m), 0);
    CHECK_STREQ(m.err_desc, "Device 'net1' not found");
    json_object_put(root);

    /* A length, not a C string: the bytes after len do not count. */
    const char *cut = "{\"return\": {}, \"id\": 77}garbage";
    CHECK_INTEQ(qemu_mon_parse_line(cut, 24, &root, &m), 0);
    CHECK_INTEQ(m.id, 77);
    json_object_put(root);
    /* A NUL byte inside the length is refused, not read as the end. */
    CHECK_INTEQ(qemu_mon_parse_line("{\"return\": {}}\0x", 16, &root, &m), -1);

    /* Nesting: fine well below json-c's depth, refused beyond it. */
    char deep[256];
    for (int depth = 20; depth <= 40; depth += 20) {
        size_t o = (size_t)snprintf(deep, sizeof(deep), "{\"return\": ");
        for (int i = 0; i < depth; i++)
            deep[o++] = '[';
        for (int i = 0; i < depth; i++)
            deep[o++] = ']';
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, ", \"id\": 1}");
        CHECK_INTEQ(qemu_mon_parse_line(deep, o, &root, &m), depth == 20 ? 0 : -1);
        json_object_put(root);
    }

    /* Longer than QEMU_MON_LINE_MAX: refused without parsing. */
    size_t big = QEMU_MON_LINE_MAX + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "{\"return\": {}, \"id\": 1}", 23);
    huge[big - 1] = 'x';
    CHECK_INTEQ(qemu_mon_parse_line(huge, big, &root, &m), -1);
    free(huge);
}

/* ---- negotiation ---- */

static void script_open_ok(peer *p)
{
    if (peer_negotiate(p) == 0)
        peer_wait_eof(p);
}

static void test_open_ok(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_open_ok, &p);
    int ma = -1, mi = -1, mc = -1;
    qemu_mon_version(mon, &ma, &mi, &mc);
    CHECK_INTEQ(ma, 7);
    CHECK_INTEQ(mi, 2);
    CHECK_INTEQ(mc, 22);
    CHECK(qemu_mon_alive(mon));
    CHECK_INTEQ(qemu_mon_event_seq(mon), 0);
    qemu_mon_close(mon);
    peer_finish(p);
    CHECK_INTEQ(rec_eofs(NULL, 0), 0); /* closing is not an EOF */
    qemu_mon_close(NULL);
}

static void script_silent(peer *p)
{
    peer_wait_eof(p); /* the monitor must give up and close its end */
}

static void script_partial(peer *p)
{
    peer_sendf(p, "{\"QMP\": {\"version\"");
    peer_wait_eof(p);
}

static void script_garbage(peer *p)
{
    peer_sendf(p, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    peer_wait_eof(p);
}

static void script_event_first(peer *p)
{
    peer_sendf(p, "{\"event\": \"RESUME\", " TS "}\r\n");
    peer_wait_eof(p);
}

static void script_refuse(peer *p)
{
    int64_t id;
    peer_send_raw(p, GREETING, strlen(GREETING));
    if (peer_read_cmd(p, "qmp_capabilities", &id) < 0)
        return;
    peer_sendf(p,
               "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capabilities negotiation "
               "is already complete, command ignored\"}, \"id\": %lld}\r\n",
               (long long)id);
    peer_wait_eof(p);
}

static void script_hangup(peer *p)
{
    shutdown(p->fd, SHUT_RDWR);
}

static void script_greet_then_silent(peer *p)
{
    peer_send_raw(p, GREETING, strlen(GREETING));
    peer_wait_eof(p);
}

/* The open fails with code and a message naming the domain and containing needle; the
 * monitor closed the socket (the peer saw EOF, or peer_finish would never return) and
 * never called the eof callback. */
static void open_fails(peer_script script, int timeout_ms, int code, const char *needle)
{
    int fd;
    rec_reset();
    peer *p = peer_start(script, &fd);
    xend_error_reset();
    qemu_mon *mon = qemu_mon_open(fd, WHAT, timeout_ms, rec_event, rec_eof, &rec);
    CHECK(mon == NULL);
    CHECK_ERROR(code, WHAT, needle);
    peer_finish(p);
    CHECK_INTEQ(rec_eofs(NULL, 0), 0);
}

static void test_open_failures(void)
{
    open_fails(script_silent, 100, XEND_ERR_OPERATION_TIMEOUT, "no QMP greeting within 100 ms");
    open_fails(script_partial, 100, XEND_ERR_OPERATION_TIMEOUT, "{\"QMP\": {\"version\"");
    open_fails(script_garbage, LONG_MS, XEND_ERR_HYPERVISOR, "not a QMP monitor");
    open_fails(script_garbage, LONG_MS, XEND_ERR_HYPERVISOR, "SSH-2.0");
    open_fails(script_event_first, LONG_MS, XEND_ERR_HYPERVISOR, "expected a QMP greeting");
    open_fails(script_refuse, LONG_MS, XEND_ERR_HYPERVISOR, "already complete");
    open_fails(script_refuse, LONG_MS, XEND_ERR_HYPERVISOR, "refused QMP capabilities");
    open_fails(script_hangup, LONG_MS, XEND_ERR_HYPERVISOR, "before its QMP greeting");
    open_fails(script_greet_then_silent, 100, XEND_ERR_OPERATION_TIMEOUT,
               "negotiation within 100 ms");

    xend_error_reset();
    CHECK(qemu_mon_open(-1, WHAT, 100, NULL, NULL, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_INTERNAL, WHAT);
}

/* ---- replies ---- */

static void script_reply_by_id(peer *p)
{
    int64_t id;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "query-status", &id) < 0)
        return;
    /* A stray reply (as after a timeout) and an id-less error come first. */
    peer_sendf(p, "{\"return\": {\"status\": \"bogus\"}, \"id\": %lld}\r\n", (long long)id + 100);
    peer_sendf(p, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\n");
    peer_sendf(p, "{\"unknown\": true}\r\n\r\n");
    peer_sendf(p,
               "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": "
               "false}, \"id\": %lld}\r\n",
               (long long)id);
    peer_wait_eof(p);
}

static void test_reply_by_id(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_reply_by_id, &p);
    json_object *ret = NULL, *v;
    char cls[64] = "junk";
    CHECK_INTEQ(qemu_mon_command(mon, "query-status", NULL, LONG_MS, &ret, cls), 0);
    CHECK_STREQ(cls, "");
    CHECK(json_object_object_get_ex(ret, "status", &v));
    CHECK_STREQ(json_object_get_string(v), "prelaunch");
    json_object_put(ret);
    CHECK(qemu_mon_alive(mon)); /* none of the odd lines ended the connection */
    qemu_mon_close(mon);
    peer_join(p);
    /* ids are distinct integers from the monitor's counter */
    CHECK_INTEQ(p->ncmds, 2);
    CHECK(p->ids[1] > p->ids[0]);
    peer_free(p);
}

static void script_event_before_reply(peer *p)
{
    int64_t id;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "cont", &id) < 0)
        return;
    peer_sendf(p, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 424242}, "
                  "\"event\": \"RESUME\"}\r\n");
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    peer_wait_eof(p);
}

static void test_event_before_reply(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_event_before_reply, &p);
    uint64_t seq0 = qemu_mon_event_seq(mon);
    json_object *ret = NULL, *data = (json_object *)1;
    CHECK_INTEQ(qemu_mon_command(mon, "cont", NULL, LONG_MS, &ret, NULL), 0);
    CHECK(ret != NULL && json_object_is_type(ret, json_type_object));
    json_object_put(ret);
    /* The reader handled the event (callback included) before the reply behind it. */
    pthread_mutex_lock(&rec.lock);
    CHECK_INTEQ(rec.nevents, 1);
    CHECK_STREQ(rec.names[0], "RESUME");
    pthread_mutex_unlock(&rec.lock);
    int64_t seq = qemu_mon_event_wait(mon, seq0, "RESUME", NULL, NULL, 0, &data);
    CHECK_INTEQ(seq, (int64_t)seq0 + 1);
    CHECK(data == NULL); /* RESUME has no data */
    CHECK_INTEQ(qemu_mon_event_seq(mon), seq0 + 1);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq0, "STOP", NULL, NULL, 0, NULL), 0);
    CHECK_INTEQ(qemu_mon_event_wait(mon, (uint64_t)seq, "RESUME", NULL, NULL, 0, NULL), 0);
    qemu_mon_close(mon);
    peer_finish(p);
}

static void script_error_reply(peer *p)
{
    int64_t id;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "device_del", &id) < 0)
        return;
    json_object *v;
    if (!p->last_args || !json_object_object_get_ex(p->last_args, "id", &v) ||
        strcmp(json_object_get_string(v), "nic9") != 0)
        peer_fail(p, "device_del without its arguments");
    peer_sendf(p,
               "{\"id\": %lld, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device "
               "'nic9' not found\"}}\r\n",
               (long long)id);
    peer_wait_eof(p);
}

static void test_error_reply(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_error_reply, &p);
    json_object *args = json_object_new_object(), *ret = (json_object *)1;
    json_object_object_add(args, "id", json_object_new_string("nic9"));
    char cls[64] = "junk";
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "device_del", args, LONG_MS, &ret, cls), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "Device 'nic9' not found", WHAT, "device_del");
    CHECK_STREQ(cls, "DeviceNotFound");
    CHECK(ret == NULL);
    CHECK(qemu_mon_alive(mon));
    /* args stay the caller's, unchanged */
    CHECK_STREQ(json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN), "{\"id\":\"nic9\"}");
    json_object_put(args);
    qemu_mon_close(mon);
    peer_finish(p);
}

static void script_timeout(peer *p)
{
    int64_t id1, id2;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "query-slow", &id1) < 0)
        return;
    peer_wait_gate(p, 1); /* until the caller gave up */
    peer_sendf(p, "{\"return\": {\"which\": \"first\"}, \"id\": %lld}\r\n", (long long)id1);
    if (peer_read_cmd(p, "query-fast", &id2) < 0)
        return;
    if (id2 == id1)
        peer_fail(p, "the second command reused id %lld", (long long)id1);
    peer_sendf(p, "{\"return\": {\"which\": \"second\"}, \"id\": %lld}\r\n", (long long)id2);
    peer_wait_eof(p);
}

static void test_timeout(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_timeout, &p);
    json_object *ret = (json_object *)1, *v;
    char cls[64] = "junk";
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "query-slow", NULL, 50, &ret, cls), -1);
    CHECK_ERROR(XEND_ERR_OPERATION_TIMEOUT, WHAT, "'query-slow'", "50 ms");
    CHECK_STREQ(cls, "");
    CHECK(ret == NULL);
    peer_open_gate(p, 1);
    /* The late reply to query-slow arrives first and must not be taken for this one. */
    CHECK_INTEQ(qemu_mon_command(mon, "query-fast", NULL, LONG_MS, &ret, cls), 0);
    CHECK(json_object_object_get_ex(ret, "which", &v));
    CHECK_STREQ(json_object_get_string(v), "second");
    json_object_put(ret);
    CHECK(qemu_mon_alive(mon));
    qemu_mon_close(mon);
    peer_finish(p);
}

/* ---- the end of the connection ---- */

static void script_eof_while_waiting(peer *p)
{
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "system_powerdown", NULL) < 0)
        return;
    peer_sendf(p, "{\"event\": \"POWERDOWN\", " TS "}\r\n");
    shutdown(p->fd, SHUT_RDWR);
}

static void test_eof_while_waiting(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_eof_while_waiting, &p);
    char cls[64] = "junk";
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "system_powerdown", NULL, LONG_MS, NULL, cls), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "QEMU of " WHAT " has gone away (end of file)");
    CHECK_STREQ(cls, "");
    CHECK(!qemu_mon_alive(mon));
    /* Later calls fail at once; an event logged before the end is still found. */
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "query-status", NULL, LONG_MS, NULL, NULL), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "gone away", "end of file");
    CHECK_INTEQ(qemu_mon_event_wait(mon, 0, "POWERDOWN", NULL, NULL, LONG_MS, NULL), 1);
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_event_wait(mon, 0, "SHUTDOWN", NULL, NULL, LONG_MS, NULL), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "gone away", WHAT);
    qemu_mon_close(mon);
    char why[256];
    CHECK_INTEQ(rec_eofs(why, sizeof(why)), 1);
    CHECK_STREQ(why, "end of file");
    peer_finish(p);
}

static char *big_event_line(const char *name, size_t total)
{
    char *s = malloc(total + 1);
    int o = snprintf(s, total + 1, "{\"event\": \"%s\", \"data\": {\"s\": \"", name);
    memset(s + o, 'a', total - (size_t)o - 3);
    memcpy(s + total - 3, "\"}}", 3);
    s[total] = '\0';
    return s;
}

static void script_overlong(peer *p)
{
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "query-big", NULL) < 0)
        return;
    /* Exactly at the limit (the "\r\n" does not count): accepted. */
    char *s = big_event_line("BIG", QEMU_MON_LINE_MAX);
    peer_send_raw(p, s, strlen(s));
    peer_send_raw(p, "\r\n", 2);
    free(s);
    /* One byte over: the connection ends (before the reader even sees the newline). */
    s = big_event_line("HUGE", QEMU_MON_LINE_MAX + 1);
    peer_send_raw(p, s, strlen(s));
    peer_send_raw(p, "\r\n", 2);
    free(s);
    peer_wait_eof(p);
}

static void test_overlong(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_overlong, &p);
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "query-big", NULL, LONG_MS, NULL, NULL), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "gone away", "protocol error", "longer than 4194304 bytes");
    json_object *data = NULL, *v;
    CHECK_INTEQ(qemu_mon_event_wait(mon, 0, "BIG", NULL, NULL, 0, &data), 1);
    CHECK(json_object_object_get_ex(data, "s", &v));
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "{\"event\": \"BIG\", \"data\": {\"s\": \"");
    CHECK_INTEQ(json_object_get_string_len(v), QEMU_MON_LINE_MAX - strlen(prefix) - 3);
    json_object_put(data);
    CHECK_INTEQ(qemu_mon_event_seq(mon), 1);
    qemu_mon_close(mon);
    char why[256];
    CHECK_INTEQ(rec_eofs(why, sizeof(why)), 1);
    CHECK_STREQ(why, "protocol error: message longer than 4194304 bytes");
    pthread_mutex_lock(&rec.lock);
    CHECK_INTEQ(rec.nevents, 1);
    pthread_mutex_unlock(&rec.lock);
    peer_finish(p);
}

static void script_bad_json(peer *p)
{
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "query-x", NULL) < 0)
        return;
    peer_sendf(p, "{\"return\": {}, \"id\": \r\n");
    peer_wait_eof(p);
}

static void test_bad_json(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_bad_json, &p);
    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "query-x", NULL, LONG_MS, NULL, NULL), -1);
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "protocol error", "invalid JSON");
    qemu_mon_close(mon);
    CHECK_INTEQ(rec_eofs(NULL, 0), 1);
    peer_finish(p);
}

/* ---- concurrency ---- */

typedef struct {
    qemu_mon *mon;
    const char *cmd;
    int rc;
    int code;
    char msg[1024];
    char echo[64];
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    json_object *ret = NULL, *v;
    xend_error_reset();
    c->rc = qemu_mon_command(c->mon, c->cmd, NULL, 60000, &ret, NULL);
    c->code = xend_error_last()->code;
    snprintf(c->msg, sizeof(c->msg), "%s", xend_error_last()->message);
    if (ret && json_object_object_get_ex(ret, "echo", &v))
        snprintf(c->echo, sizeof(c->echo), "%s", json_object_get_string(v));
    json_object_put(ret);
    return NULL;
}

static void script_concurrent(peer *p)
{
    int64_t ids[2];
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, NULL, &ids[0]) < 0 ||
        peer_read_cmd(p, NULL, &ids[1]) < 0)
        return;
    /* Both callers are waiting now; answer the later one first. */
    for (int i = 2; i-- > 0;)
        peer_sendf(p, "{\"return\": {\"echo\": \"%s\"}, \"id\": %lld}\r\n", p->names[i + 1],
                   (long long)ids[i]);
    peer_wait_eof(p);
}

static void test_concurrent(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_concurrent, &p);
    caller c[2] = {{.mon = mon, .cmd = "query-a"}, {.mon = mon, .cmd = "query-b"}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, caller_main, &c[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK_INTEQ(c[i].rc, 0);
        CHECK_STREQ(c[i].echo, c[i].cmd);
    }
    qemu_mon_close(mon);
    peer_join(p);
    CHECK_INTEQ(p->ncmds, 3);
    CHECK(p->ids[1] != p->ids[2]);
    peer_free(p);
}

static void script_close_while_waiting(peer *p)
{
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "query-never", NULL) < 0)
        return;
    peer_set_progress(p, 1);
    peer_wait_eof(p);
}

static void test_close_while_waiting(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_close_while_waiting, &p);
    caller c = {.mon = mon, .cmd = "query-never"};
    pthread_t t;
    pthread_create(&t, NULL, caller_main, &c);
    peer_wait_progress(p, 1); /* the command is on the wire: its caller is waiting */
    qemu_mon_close(mon);
    pthread_join(t, NULL);
    /* Woken by the close, not by its 60 s timeout. */
    CHECK_INTEQ(c.rc, -1);
    CHECK_INTEQ(c.code, XEND_ERR_HYPERVISOR);
    CHECK_CONTAINS(c.msg, "QEMU of " WHAT " has gone away (connection closed)");
    CHECK_INTEQ(rec_eofs(NULL, 0), 0);
    peer_join(p);
    CHECK(p->saw_eof);
    peer_free(p);
}

/* ---- fd passing ---- */

typedef struct {
    dev_t dev;
    ino_t ino;
} file_id;
static file_id passed_file;

static void script_command_fd(peer *p)
{
    int64_t id;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "getfd", &id) < 0)
        return;
    struct stat st;
    json_object *v;
    if (p->passed_fd < 0)
        peer_fail(p, "getfd arrived without a descriptor");
    else if (!p->fd_with_command)
        peer_fail(p, "the descriptor did not come with the command's first bytes");
    else if (fstat(p->passed_fd, &st) < 0 || st.st_ino != passed_file.ino ||
             st.st_dev != passed_file.dev)
        peer_fail(p, "the descriptor refers to another file");
    if (!p->last_args || !json_object_object_get_ex(p->last_args, "fdname", &v) ||
        strcmp(json_object_get_string(v), "savefd") != 0)
        peer_fail(p, "getfd without fdname");
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    peer_wait_eof(p);
}

static void test_command_fd(void)
{
    char path[] = "/tmp/xend-test-qmp-fd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    struct stat st;
    fstat(fd, &st);
    passed_file.dev = st.st_dev;
    passed_file.ino = st.st_ino;

    peer *p;
    qemu_mon *mon = open_with(script_command_fd, &p);
    json_object *args = json_object_new_object();
    json_object_object_add(args, "fdname", json_object_new_string("savefd"));
    CHECK_INTEQ(qemu_mon_command_fd(mon, "getfd", args, fd, LONG_MS, NULL, NULL), 0);
    CHECK(fcntl(fd, F_GETFD) != -1); /* still the caller's */
    xend_error_reset();
    char cls[64] = "junk";
    CHECK_INTEQ(qemu_mon_command_fd(mon, "getfd", args, -1, LONG_MS, NULL, cls), -1);
    CHECK_ERROR(XEND_ERR_INTERNAL, "getfd");
    CHECK_STREQ(cls, "");
    json_object_put(args);
    qemu_mon_close(mon);
    peer_finish(p);
    close(fd);
}

/* ---- event waits ---- */

static bool match_device(json_object *data, void *opaque)
{
    json_object *v;
    int *calls = opaque;
    (*calls)++;
    return data && json_object_object_get_ex(data, "device", &v) &&
           strcmp(json_object_get_string(v), "vdisk1") == 0;
}

static bool match_status_completed(json_object *data, void *opaque)
{
    json_object *v;
    (void)opaque;
    return data && json_object_object_get_ex(data, "status", &v) &&
           strcmp(json_object_get_string(v), "completed") == 0;
}

static void script_events(peer *p)
{
    int64_t id;
    if (peer_negotiate(p) < 0 || peer_read_cmd(p, "device_del", &id) < 0)
        return;
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    peer_sendf(p, "{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": "
                  "\"/machine/peripheral/vdisk1/virtio-backend\"}, " TS "}\r\n");
    peer_sendf(p, "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"vdisk1\", \"path\": "
                  "\"/machine/peripheral/vdisk1\"}, " TS "}\r\n");

    if (peer_read_cmd(p, "migrate", &id) < 0)
        return;
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    static const char *const steps[] = {"setup", "active", "completed"};
    for (int i = 0; i < 3; i++)
        peer_sendf(p, "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"%s\"}, " TS "}\n",
                   steps[i]);

    if (peer_read_cmd(p, "flood", &id) < 0)
        return;
    for (int i = 0; i < 200; i++)
        peer_sendf(p, "{\"event\": \"E\", \"data\": {\"n\": %d}}\n", i);
    peer_sendf(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    peer_wait_eof(p);
}

typedef struct {
    qemu_mon *mon;
    uint64_t after;
    int64_t seq;
    char status[32];
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    json_object *data = NULL, *v;
    w->seq = qemu_mon_event_wait(w->mon, w->after, "MIGRATION", match_status_completed, NULL,
                                 LONG_MS, &data);
    if (data && json_object_object_get_ex(data, "status", &v))
        snprintf(w->status, sizeof(w->status), "%s", json_object_get_string(v));
    json_object_put(data);
    return NULL;
}

static void test_event_wait(void)
{
    peer *p;
    qemu_mon *mon = open_with(script_events, &p);
    uint64_t seq0 = qemu_mon_event_seq(mon);
    json_object *args = json_object_new_object(), *data = NULL, *v;
    json_object_object_add(args, "id", json_object_new_string("vdisk1"));
    CHECK_INTEQ(qemu_mon_command(mon, "device_del", args, LONG_MS, NULL, NULL), 0);
    json_object_put(args);

    /* The events may still be on their way: the wait covers both cases. */
    int calls = 0;
    int64_t seq =
        qemu_mon_event_wait(mon, seq0, "DEVICE_DELETED", match_device, &calls, LONG_MS, &data);
    CHECK_INTEQ(seq, (int64_t)seq0 + 2);
    CHECK_INTEQ(calls, 2); /* the backend's event was offered and refused */
    CHECK(json_object_object_get_ex(data, "path", &v));
    CHECK_STREQ(json_object_get_string(v), "/machine/peripheral/vdisk1");
    json_object_put(data);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq0, "DEVICE_DELETED", NULL, NULL, 0, NULL),
                (int64_t)seq0 + 1);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq0, NULL, NULL, NULL, 0, NULL), (int64_t)seq0 + 1);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq0 + 2, "DEVICE_DELETED", NULL, NULL, 0, NULL), 0);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq0, "DEVICE_DELETED", match_device, &calls, 0, NULL),
                (int64_t)seq0 + 2);

    /* A waiter already blocked (most likely) when the events come. */
    waiter w = {.mon = mon, .after = qemu_mon_event_seq(mon)};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    CHECK_INTEQ(qemu_mon_command(mon, "migrate", NULL, LONG_MS, NULL, NULL), 0);
    pthread_join(t, NULL);
    CHECK_INTEQ(w.seq, (int64_t)w.after + 3);
    CHECK_STREQ(w.status, "completed");

    /* The log is bounded: of 200 events the oldest are gone, the last 128 remain. */
    uint64_t before = qemu_mon_event_seq(mon);
    CHECK_INTEQ(qemu_mon_command(mon, "flood", NULL, LONG_MS, NULL, NULL), 0);
    CHECK_INTEQ(qemu_mon_event_seq(mon), before + 200);
    seq = qemu_mon_event_wait(mon, before, "E", NULL, NULL, 0, &data);
    CHECK_INTEQ(seq, (int64_t)(before + 200 - QEMU_MON_EVENT_LOG + 1));
    CHECK(json_object_object_get_ex(data, "n", &v));
    CHECK_INTEQ(json_object_get_int(v), 200 - QEMU_MON_EVENT_LOG);
    json_object_put(data);
    pthread_mutex_lock(&rec.lock);
    CHECK_INTEQ(rec.nevents, 205); /* the callback saw every one */
    pthread_mutex_unlock(&rec.lock);
    qemu_mon_close(mon);
    peer_finish(p);
}

/* ---- real QEMU ---- */

static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char *full;
        if (asprintf(&full, "%.*s/%s", (int)n, path, name) < 0)
            abort();
        if (n > 0 && access(full, X_OK) == 0)
            return full;
        free(full);
        path += n;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* Wait for pid to exit (bounded), then make sure it is gone. Returns its wait status. */
static int reap(pid_t pid)
{
    int st = 0;
    for (int i = 0; i < 2000; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -1;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}

static bool match_quit(json_object *data, void *opaque)
{
    json_object *v;
    (void)opaque;
    return data && json_object_object_get_ex(data, "reason", &v) &&
           strcmp(json_object_get_string(v), "host-qmp-quit") == 0;
}

static void real_qemu_session(qemu_mon *mon)
{
    int ma, mi, mc;
    qemu_mon_version(mon, &ma, &mi, &mc);
    CHECK_MSG(ma >= 7, "QEMU %d.%d.%d", ma, mi, mc);

    json_object *ret = NULL, *v;
    char cls[64];
    CHECK_INTEQ(qemu_mon_command(mon, "query-status", NULL, LONG_MS, &ret, cls), 0);
    CHECK(json_object_object_get_ex(ret, "status", &v));
    CHECK_STREQ(json_object_get_string(v), "prelaunch");
    json_object_put(ret);

    uint64_t seq0 = qemu_mon_event_seq(mon);
    CHECK_INTEQ(qemu_mon_command(mon, "cont", NULL, LONG_MS, NULL, NULL), 0);
    int64_t resumed = qemu_mon_event_wait(mon, seq0, "RESUME", NULL, NULL, LONG_MS, NULL);
    CHECK(resumed > (int64_t)seq0);
    uint64_t seq1 = qemu_mon_event_seq(mon);
    CHECK_INTEQ(qemu_mon_command(mon, "stop", NULL, LONG_MS, NULL, NULL), 0);
    CHECK(qemu_mon_event_wait(mon, seq1, "STOP", NULL, NULL, LONG_MS, NULL) > (int64_t)seq1);
    CHECK_INTEQ(qemu_mon_command(mon, "query-status", NULL, LONG_MS, &ret, cls), 0);
    CHECK(json_object_object_get_ex(ret, "status", &v));
    CHECK_STREQ(json_object_get_string(v), "paused");
    json_object_put(ret);

    xend_error_reset();
    CHECK_INTEQ(qemu_mon_command(mon, "xend-no-such-command", NULL, LONG_MS, &ret, cls), -1);
    CHECK_STREQ(cls, "CommandNotFound");
    CHECK_ERROR(XEND_ERR_HYPERVISOR, "domain 'real'", "xend-no-such-command");

    /* A large reply stays well within the line limit. */
    CHECK_INTEQ(qemu_mon_command(mon, "query-qmp-schema", NULL, LONG_MS, &ret, cls), 0);
    CHECK(json_object_is_type(ret, json_type_array) && json_object_array_length(ret) > 100);
    json_object_put(ret);

    /* getfd takes the descriptor from the same sendmsg; closefd proves QEMU has it. */
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    json_object *args = json_object_new_object();
    json_object_object_add(args, "fdname", json_object_new_string("xendfd"));
    CHECK_INTEQ(qemu_mon_command_fd(mon, "getfd", args, fd, LONG_MS, NULL, cls), 0);
    CHECK_INTEQ(qemu_mon_command(mon, "closefd", args, LONG_MS, NULL, cls), 0);
    CHECK_INTEQ(qemu_mon_command(mon, "closefd", args, LONG_MS, NULL, cls), -1);
    CHECK_STREQ(cls, "GenericError");
    json_object_put(args);
    close(fd);

    /* quit: the reply may be lost to the EOF; the SHUTDOWN event and the EOF are not. */
    uint64_t seq2 = qemu_mon_event_seq(mon);
    int rc = qemu_mon_command(mon, "quit", NULL, LONG_MS, NULL, NULL);
    CHECK(rc == 0 || xend_error_last()->code == XEND_ERR_HYPERVISOR);
    CHECK(qemu_mon_event_wait(mon, seq2, "SHUTDOWN", match_quit, NULL, LONG_MS, NULL) >
          (int64_t)seq2);
    CHECK_INTEQ(qemu_mon_event_wait(mon, seq2, "NEVER", NULL, NULL, LONG_MS, NULL), -1);
    CHECK(!qemu_mon_alive(mon));
}

static void test_real_qemu(void)
{
    char *qemu = find_in_path("qemu-system-x86_64");
    if (!qemu) {
        printf("# SKIP real QEMU part: qemu-system-x86_64 not found\n");
        return;
    }
    char dir[] = "/tmp/xend-test-qmp-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
        free(qemu);
        return;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qmp.sock", dir);
    char logpath[64];
    snprintf(logpath, sizeof(logpath), "%s/qemu.log", dir);

    /* Pre-bound: connect() cannot race QEMU's start, and the fd goes to QEMU by number. */
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    CHECK_INTEQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_INTEQ(listen(lfd, 1), 0);
    char chardev[96];
    snprintf(chardev, sizeof(chardev), "socket,id=qmp,fd=%d,server=on,wait=off", lfd);
    char *argv[] = {qemu,
                    "-nodefaults",
                    "-no-user-config",
                    "-display",
                    "none",
                    "-machine",
                    "pc,accel=tcg",
                    "-m",
                    "64",
                    "-S",
                    "-chardev",
                    chardev,
                    "-mon",
                    "chardev=qmp,mode=control",
                    NULL};
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(qemu, argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    CHECK(pid > 0);

    int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK_INTEQ(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(lfd);
    rec_reset();
    xend_error_reset();
    qemu_mon *mon = qemu_mon_open(cfd, "domain 'real'", LONG_MS, rec_event, rec_eof, &rec);
    CHECK_MSG(mon != NULL, "open: %s", xend_error_last()->message);
    if (mon) {
        real_qemu_session(mon);
        qemu_mon_close(mon);
        char why[256];
        CHECK_INTEQ(rec_eofs(why, sizeof(why)), 1);
        CHECK_MSG(strcmp(why, "end of file") == 0 || strstr(why, "reset"), "why: %s", why);
        pthread_mutex_lock(&rec.lock);
        bool seen_resume = false;
        for (int i = 0; i < rec.nevents && i < 256; i++)
            seen_resume |= strcmp(rec.names[i], "RESUME") == 0;
        pthread_mutex_unlock(&rec.lock);
        CHECK(seen_resume);
    }
    if (pid > 0) {
        if (!mon)
            kill(pid, SIGKILL); /* no quit was sent: do not wait for an exit */
        int st = reap(pid);
        if (mon)
            CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "QEMU wait status %d", st);
    }
    if (check_failed) {
        char line[512];
        FILE *f = fopen(logpath, "r");
        while (f && fgets(line, sizeof(line), f))
            fprintf(stderr, "qemu: %s", line);
        if (f)
            fclose(f);
    }
    unlink(logpath);
    unlink(sa.sun_path);
    rmdir(dir);
    free(qemu);
}

int main(void)
{
    /* SIGPIPE keeps its default action: a send without MSG_NOSIGNAL in the monitor would
     * kill the test when a peer goes away. */
    /* Each test ends a connection, which the monitor logs at info level. */
    xend_log_open("stderr", XEND_LOG_WARN);
    pthread_mutex_init(&rec.lock, NULL);
    test_parse_shapes();
    test_open_ok();
    test_open_failures();
    test_reply_by_id();
    test_event_before_reply();
    test_error_reply();
    test_timeout();
    test_eof_while_waiting();
    test_overlong();
    test_bad_json();
    test_concurrent();
    test_close_while_waiting();
    test_command_fd();
    test_event_wait();
    test_real_qemu();
    CHECK_INTEQ(rec.bad_opaque, 0);
    pthread_mutex_destroy(&rec.lock);
    xend_log_close();
    return check_summary("qemu-monitor");
}
