/*
 * The QMP client (see qemu_monitor.h for the contract). The greeting is read on the caller's
 * thread with poll() so a silent peer cannot hang qemu_mon_open; after that one reader
 * thread per monitor owns the receiving side of the socket: it splits the stream into
 * lines, hands each reply to the caller waiting for its id and logs each event. Callers
 * register their id before sending, so a reply that overtakes the sender's return is never
 * lost, and they wait on a CLOCK_MONOTONIC condition variable so wall-clock jumps do not
 * stretch or cut timeouts.
 *
 * json-c's reference counts are not atomic, so no json_object is ever reachable from two
 * threads at once: a reply travels whole from the reader to its one waiter under the lock,
 * the event log's objects are touched only under the lock, and qemu_mon_event_wait hands
 * out deep copies.
 */
#include "hv/qemu/qemu_monitor.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The event log also has a byte budget (sum of the events' line lengths), so 128 huge
 * events cannot pin gigabytes; the newest event is always kept. */
#define QEMU_MON_EVENT_LOG_BYTES QEMU_MON_LINE_MAX
/* The receive buffer starts small and shrinks back once a large message is consumed. */
#define QEMU_MON_BUF_INITIAL (8u << 10)
#define QEMU_MON_BUF_MAX (QEMU_MON_LINE_MAX + 2) /* room for the line plus "\r\n" */

/* One caller blocked in qemu_mon_command; lives on that caller's stack. */
typedef struct qemu_mon_pending {
    int64_t id;
    bool done;          /* the reader answered or failed it and unlinked it */
    json_object *reply; /* the whole reply message, handed over by the reader */
    struct qemu_mon_pending *next;
} qemu_mon_pending;

typedef struct {
    uint64_t seq;
    char *name;
    json_object *data;
    size_t bytes;
} qemu_mon_logged;

struct qemu_mon {
    int fd;
    char *what;
    int ver[3];
    qemu_mon_event_cb on_event;
    qemu_mon_eof_cb on_eof;
    void *opaque;

    /* Receive buffer: bytes [start, end) are received but not yet consumed. Used by the
     * opening thread until the reader starts, then by the reader alone. */
    char *buf;
    size_t start, end, cap;

    pthread_mutex_t send_lock; /* one command's bytes at a time on the socket */

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* replies, events, the end of the connection, users leaving */
    pthread_t reader;
    bool reader_started;
    bool opened;  /* qemu_mon_open succeeded: callbacks may run */
    bool closing; /* qemu_mon_close started: the end is not reported through on_eof */
    bool dead;
    char why[256]; /* why the connection ended */
    int64_t next_id;
    qemu_mon_pending *pending;
    unsigned users; /* callers inside command/event functions; close waits for them */
    qemu_mon_logged log[QEMU_MON_EVENT_LOG];
    size_t log_first, log_count, log_bytes;
    uint64_t seq;
};

/* ---- the line parser ---- */

/* Parse one line as a JSON document. 0 with *root set, or -1 with *err describing why
 * (static text). */
static int qemu_mon_json_parse(const char *line, size_t len, json_object **root, const char **err)
{
    *root = NULL;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
        len--;
    if (len == 0) {
        *err = "empty line";
        return -1;
    }
    if (len > QEMU_MON_LINE_MAX) {
        *err = "message too long";
        return -1;
    }
    /* json-c would stop at a NUL byte and leave the rest unchecked. */
    if (memchr(line, '\0', len)) {
        *err = "NUL byte in the message";
        return -1;
    }
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok) {
        *err = "out of memory";
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue) {
        json_object_put(obj);
        *err = "incomplete JSON";
        return -1;
    }
    if (!obj || jerr != json_tokener_success) {
        json_object_put(obj);
        *err = json_tokener_error_desc(jerr);
        return -1;
    }
    if (end != len) {
        json_object_put(obj);
        *err = "trailing characters after the JSON object";
        return -1;
    }
    *root = obj;
    return 0;
}

/* A string member without embedded NUL bytes (json-c keeps "\u0000" inside strings, and
 * a name cut short at one would compare equal to something QEMU never sent). */
static const char *qemu_mon_member_string(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return NULL;
    return s;
}

static int qemu_mon_member_int(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    int64_t n = json_object_get_int64(v);
    return n < 0 || n > INT_MAX ? 0 : (int)n;
}

static int qemu_mon_classify(json_object *root, qemu_mon_msg *msg)
{
    json_object *v;
    memset(msg, 0, sizeof(*msg));
    msg->id = -1;
    if (!json_object_is_type(root, json_type_object))
        return -1;

    if (json_object_object_get_ex(root, "QMP", &v)) {
        if (!json_object_is_type(v, json_type_object))
            return -1;
        json_object *ver = NULL, *qemu = NULL;
        if (json_object_object_get_ex(v, "version", &ver) &&
            json_object_is_type(ver, json_type_object))
            json_object_object_get_ex(ver, "qemu", &qemu);
        if (qemu && json_object_is_type(qemu, json_type_object)) {
            msg->ver[0] = qemu_mon_member_int(qemu, "major");
            msg->ver[1] = qemu_mon_member_int(qemu, "minor");
            msg->ver[2] = qemu_mon_member_int(qemu, "micro");
        }
        msg->kind = 'g';
        return 0;
    }

    json_object *err = NULL, *ret = NULL;
    bool has_err = json_object_object_get_ex(root, "error", &err);
    bool has_ret = json_object_object_get_ex(root, "return", &ret);
    if (has_err || has_ret) {
        if (json_object_object_get_ex(root, "id", &v) && json_object_is_type(v, json_type_int)) {
            int64_t id = json_object_get_int64(v);
            msg->id = id < 0 ? -1 : id;
        }
        msg->kind = 'r';
        if (has_err) {
            /* An error always yields a class, so callers never mistake it for success. */
            if (!json_object_is_type(err, json_type_object))
                return -1;
            const char *cls = qemu_mon_member_string(err, "class");
            const char *desc = qemu_mon_member_string(err, "desc");
            msg->err_class = cls && *cls ? cls : "GenericError";
            msg->err_desc = desc ? desc : "(no description)";
        } else {
            msg->ret = ret;
        }
        return 0;
    }

    if (json_object_object_get_ex(root, "event", &v)) {
        const char *name = qemu_mon_member_string(root, "event");
        if (!name || !*name)
            return -1;
        msg->kind = 'e';
        msg->event = name;
        if (json_object_object_get_ex(root, "data", &v))
            msg->data = v;
        return 0;
    }
    return -1;
}

int qemu_mon_parse_line(const char *line, size_t len, json_object **root, qemu_mon_msg *msg)
{
    const char *why;
    memset(msg, 0, sizeof(*msg));
    msg->id = -1;
    if (!line || qemu_mon_json_parse(line, len, root, &why) < 0)
        return -1;
    if (qemu_mon_classify(*root, msg) < 0) {
        json_object_put(*root);
        *root = NULL;
        memset(msg, 0, sizeof(*msg));
        msg->id = -1;
        return -1;
    }
    return 0;
}

/* ---- time ---- */

static struct timespec qemu_mon_deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_ms < 0)
        timeout_ms = 0;
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Milliseconds left until deadline, rounded up, 0 once it passed. */
static int qemu_mon_remaining_ms(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns =
        (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000LL + (deadline->tv_nsec - now.tv_nsec);
    if (ns <= 0)
        return 0;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- receiving ---- */

enum {
    QEMU_MON_READ_LINE = 1,
    QEMU_MON_READ_EOF = 0,
    QEMU_MON_READ_ERROR = -1,
    QEMU_MON_READ_TIMEOUT = -2
};

/* The next line (without "\n" and a trailing "\r") into *line and *len, valid until the next
 * call. With a deadline, waits with poll() and gives QEMU_MON_READ_TIMEOUT when it passes;
 * without, blocks in recv(). On QEMU_MON_READ_ERROR, why says what happened. */
static int qemu_mon_read_line(qemu_mon *mon, const struct timespec *deadline, const char **line,
                              size_t *len, char *why, size_t whylen)
{
    for (;;) {
        char *nl = memchr(mon->buf + mon->start, '\n', mon->end - mon->start);
        if (nl) {
            size_t n = (size_t)(nl - (mon->buf + mon->start));
            *line = mon->buf + mon->start;
            mon->start += n + 1;
            if (n > 0 && (*line)[n - 1] == '\r')
                n--;
            if (n > QEMU_MON_LINE_MAX) {
                snprintf(why, whylen, "protocol error: message longer than %u bytes",
                         QEMU_MON_LINE_MAX);
                return QEMU_MON_READ_ERROR;
            }
            *len = n;
            return QEMU_MON_READ_LINE;
        }
        if (mon->end - mon->start >= QEMU_MON_BUF_MAX) {
            snprintf(why, whylen, "protocol error: message longer than %u bytes",
                     QEMU_MON_LINE_MAX);
            return QEMU_MON_READ_ERROR;
        }

        /* Make room: drop consumed bytes, give memory back after a big message, grow. */
        if (mon->start == mon->end) {
            mon->start = mon->end = 0;
            if (mon->cap > QEMU_MON_BUF_INITIAL) {
                free(mon->buf);
                mon->cap = QEMU_MON_BUF_INITIAL;
                mon->buf = xmalloc(mon->cap);
            }
        } else if (mon->start > 0 && mon->end == mon->cap) {
            memmove(mon->buf, mon->buf + mon->start, mon->end - mon->start);
            mon->end -= mon->start;
            mon->start = 0;
        }
        if (mon->end == mon->cap) {
            size_t cap = mon->cap * 2 > QEMU_MON_BUF_MAX ? QEMU_MON_BUF_MAX : mon->cap * 2;
            mon->buf = xrealloc(mon->buf, cap);
            mon->cap = cap;
        }

        int flags = 0;
        if (deadline) {
            struct pollfd pfd = {.fd = mon->fd, .events = POLLIN};
            int ms = qemu_mon_remaining_ms(deadline);
            int rc = ms > 0 ? poll(&pfd, 1, ms) : 0;
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc < 0) {
                snprintf(why, whylen, "%s", strerror(errno));
                return QEMU_MON_READ_ERROR;
            }
            if (rc == 0)
                return QEMU_MON_READ_TIMEOUT;
            flags = MSG_DONTWAIT;
        }
        ssize_t got = recv(mon->fd, mon->buf + mon->end, mon->cap - mon->end, flags);
        if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (got < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            return QEMU_MON_READ_ERROR;
        }
        if (got == 0)
            return QEMU_MON_READ_EOF;
        mon->end += (size_t)got;
    }
}

static void qemu_mon_log_drop_oldest(qemu_mon *mon)
{
    qemu_mon_logged *e = &mon->log[mon->log_first];
    free(e->name);
    json_object_put(e->data);
    mon->log_bytes -= e->bytes;
    memset(e, 0, sizeof(*e));
    mon->log_first = (mon->log_first + 1) % QEMU_MON_EVENT_LOG;
    mon->log_count--;
}

/* Log an event (lock held). Takes a deep copy of data so the log's objects stay private
 * to code holding the lock. */
static void qemu_mon_log_event(qemu_mon *mon, const char *name, json_object *data, size_t bytes)
{
    json_object *copy = NULL;
    if (data && json_object_deep_copy(data, &copy, NULL) < 0)
        copy = NULL;
    while (mon->log_count > 0 && (mon->log_count == QEMU_MON_EVENT_LOG ||
                                  mon->log_bytes + bytes > QEMU_MON_EVENT_LOG_BYTES))
        qemu_mon_log_drop_oldest(mon);
    size_t slot = (mon->log_first + mon->log_count) % QEMU_MON_EVENT_LOG;
    mon->log[slot].seq = ++mon->seq;
    mon->log[slot].name = xstrdup(name);
    mon->log[slot].data = copy;
    mon->log[slot].bytes = bytes;
    mon->log_bytes += bytes;
    mon->log_count++;
}

/* Mark the connection dead (lock held) and fail every waiting command. */
static void qemu_mon_set_dead(qemu_mon *mon, const char *why)
{
    if (mon->dead)
        return;
    mon->dead = true;
    snprintf(mon->why, sizeof(mon->why), "%s", why);
    for (qemu_mon_pending *p = mon->pending; p; p = p->next)
        p->done = true;
    mon->pending = NULL;
    pthread_cond_broadcast(&mon->cond);
}

/* Act on one line from QEMU (reader thread). -1 ends the connection with why set. */
static int qemu_mon_dispatch(qemu_mon *mon, const char *line, size_t len, char *why, size_t whylen)
{
    json_object *root;
    const char *err;
    qemu_mon_msg msg;
    if (qemu_mon_json_parse(line, len, &root, &err) < 0) {
        if (strcmp(err, "empty line") == 0)
            return 0;
        snprintf(why, whylen, "protocol error: invalid JSON (%s)", err);
        return -1;
    }
    if (qemu_mon_classify(root, &msg) < 0) {
        log_debug("QEMU of %s: ignoring a message that is not QMP", mon->what);
        json_object_put(root);
        return 0;
    }

    if (msg.kind == 'r') {
        pthread_mutex_lock(&mon->lock);
        qemu_mon_pending **pp = &mon->pending;
        while (*pp && (*pp)->id != msg.id)
            pp = &(*pp)->next;
        qemu_mon_pending *p = *pp;
        if (p) {
            *pp = p->next;
            p->reply = root; /* the waiter owns it now */
            p->done = true;
            root = NULL;
            pthread_cond_broadcast(&mon->cond);
        }
        pthread_mutex_unlock(&mon->lock);
        if (root) {
            /* A reply after its caller gave up, or an id-less error about input QEMU
             * could not parse: nobody waits for it. */
            log_debug("QEMU of %s: discarding a reply with id %" PRId64 " nobody waits for",
                      mon->what, msg.id);
            json_object_put(root);
        }
        return 0;
    }

    if (msg.kind == 'e') {
        pthread_mutex_lock(&mon->lock);
        qemu_mon_log_event(mon, msg.event, msg.data, len);
        bool deliver = mon->opened && !mon->closing;
        pthread_cond_broadcast(&mon->cond);
        pthread_mutex_unlock(&mon->lock);
        if (deliver && mon->on_event)
            mon->on_event(mon->opaque, msg.event, msg.data);
    }
    json_object_put(root); /* events, and a greeting out of place */
    return 0;
}

static void *qemu_mon_reader_main(void *arg)
{
    qemu_mon *mon = arg;
    char why[256] = "";
    for (;;) {
        const char *line;
        size_t len;
        int rc = qemu_mon_read_line(mon, NULL, &line, &len, why, sizeof(why));
        if (rc == QEMU_MON_READ_EOF) {
            snprintf(why, sizeof(why), "end of file");
            break;
        }
        if (rc != QEMU_MON_READ_LINE)
            break;
        if (qemu_mon_dispatch(mon, line, len, why, sizeof(why)) < 0)
            break;
    }

    pthread_mutex_lock(&mon->lock);
    bool report = mon->opened && !mon->closing;
    qemu_mon_set_dead(mon, mon->closing ? "connection closed" : why);
    pthread_mutex_unlock(&mon->lock);
    if (report) {
        log_info("QEMU of %s: monitor connection ended (%s)", mon->what, why);
        if (mon->on_eof)
            mon->on_eof(mon->opaque, why);
    }
    return NULL;
}

/* ---- sending and waiting ---- */

/* Send all of buf (the first chunk carrying fd as SCM_RIGHTS when fd >= 0) before deadline.
 * 0, or -1 with errno (ETIMEDOUT when the deadline passed). *sent counts the bytes that
 * left. */
static int qemu_mon_send_all(qemu_mon *mon, const char *buf, size_t len, int fd,
                             const struct timespec *deadline, size_t *sent)
{
    *sent = 0;
    while (*sent < len) {
        struct iovec iov = {.iov_base = (char *)buf + *sent, .iov_len = len - *sent};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        if (fd >= 0 && *sent == 0) {
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof(ctl.buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        ssize_t n = sendmsg(mon->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            *sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        /* The socket buffer is full (QEMU is not reading): wait, but not past the
         * caller's timeout. */
        struct pollfd pfd = {.fd = mon->fd, .events = POLLOUT};
        int ms = qemu_mon_remaining_ms(deadline);
        int rc = ms > 0 ? poll(&pfd, 1, ms) : 0;
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
    return 0;
}

static void qemu_mon_unlink_pending(qemu_mon *mon, qemu_mon_pending *p)
{
    for (qemu_mon_pending **pp = &mon->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void qemu_mon_user_leave(qemu_mon *mon)
{
    if (--mon->users == 0)
        pthread_cond_broadcast(&mon->cond);
}

static void qemu_mon_report_gone(qemu_mon *mon, const char *why)
{
    xend_error_report(XEND_ERR_HYPERVISOR, "QEMU of %s has gone away (%s)", mon->what, why);
}

/* qemu_mon_command and qemu_mon_command_fd; desc (optional) receives QEMU's error text. */
static int qemu_mon_run(qemu_mon *mon, const char *cmd, json_object *args, int fd, int timeout_ms,
                        json_object **ret, char *err_class, char *desc, size_t desclen)
{
    if (ret)
        *ret = NULL;
    if (err_class)
        err_class[0] = '\0';
    if (desc && desclen)
        desc[0] = '\0';
    if (!mon || !cmd || !*cmd) {
        xend_error_report(XEND_ERR_INTERNAL, "QMP command without a monitor or a name");
        return -1;
    }
    struct timespec deadline = qemu_mon_deadline(timeout_ms);
    qemu_mon_pending me = {.id = 0};

    pthread_mutex_lock(&mon->lock);
    if (mon->dead) {
        qemu_mon_report_gone(mon, mon->why);
        pthread_mutex_unlock(&mon->lock);
        return -1;
    }
    mon->users++;
    me.id = ++mon->next_id;
    me.next = mon->pending;
    mon->pending = &me; /* before sending: the reply may beat us back */
    pthread_mutex_unlock(&mon->lock);

    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(msg, "arguments", json_object_get(args));
    json_object_object_add(msg, "id", json_object_new_int64(me.id));
    size_t len;
    const char *text = json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *line = xmalloc(len + 2);
    memcpy(line, text, len);
    line[len++] = '\n';
    line[len] = '\0';
    json_object_put(msg);

    pthread_mutex_lock(&mon->send_lock);
    size_t sent;
    int rc = qemu_mon_send_all(mon, line, len, fd, &deadline, &sent);
    int send_errno = errno;
    if (rc < 0 && sent > 0)
        /* Half a command is on the wire: the stream cannot be trusted any more. */
        shutdown(mon->fd, SHUT_RDWR);
    pthread_mutex_unlock(&mon->send_lock);
    free(line);

    pthread_mutex_lock(&mon->lock);
    if (rc < 0) {
        if (!me.done)
            qemu_mon_unlink_pending(mon, &me);
        json_object_put(me.reply);
        if (send_errno == ETIMEDOUT)
            xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                              "QEMU of %s did not accept '%s' within %d ms", mon->what, cmd,
                              timeout_ms);
        else
            qemu_mon_report_gone(mon, mon->dead ? mon->why : strerror(send_errno));
        qemu_mon_user_leave(mon);
        pthread_mutex_unlock(&mon->lock);
        return -1;
    }
    while (!me.done) {
        int w = pthread_cond_timedwait(&mon->cond, &mon->lock, &deadline);
        if (w == ETIMEDOUT && !me.done) {
            /* The id stays unused: a late reply finds no waiter and is dropped. */
            qemu_mon_unlink_pending(mon, &me);
            xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                              "QEMU of %s did not answer '%s' within %d ms", mon->what, cmd,
                              timeout_ms);
            qemu_mon_user_leave(mon);
            pthread_mutex_unlock(&mon->lock);
            return -1;
        }
    }
    if (!me.reply) {
        qemu_mon_report_gone(mon, mon->why);
        qemu_mon_user_leave(mon);
        pthread_mutex_unlock(&mon->lock);
        return -1;
    }
    qemu_mon_user_leave(mon);
    pthread_mutex_unlock(&mon->lock);

    /* The reply is ours alone from here on. */
    qemu_mon_msg m;
    qemu_mon_classify(me.reply, &m);
    if (m.err_class) {
        xend_error_report(XEND_ERR_HYPERVISOR, "QEMU of %s refused '%s': %s", mon->what, cmd,
                          m.err_desc);
        if (err_class)
            snprintf(err_class, 64, "%s", m.err_class);
        if (desc && desclen)
            snprintf(desc, desclen, "%s", m.err_desc);
        json_object_put(me.reply);
        return -1;
    }
    if (ret)
        *ret = json_object_get(m.ret);
    json_object_put(me.reply);
    return 0;
}

int qemu_mon_command(qemu_mon *mon, const char *cmd, json_object *args, int timeout_ms,
                     json_object **ret, char err_class[64])
{
    return qemu_mon_run(mon, cmd, args, -1, timeout_ms, ret, err_class, NULL, 0);
}

int qemu_mon_command_fd(qemu_mon *mon, const char *cmd, json_object *args, int fd, int timeout_ms,
                        json_object **ret, char err_class[64])
{
    if (fd < 0) {
        if (ret)
            *ret = NULL;
        if (err_class)
            err_class[0] = '\0';
        xend_error_report(XEND_ERR_INTERNAL, "QMP command '%s' without a descriptor to pass",
                          cmd ? cmd : "?");
        return -1;
    }
    return qemu_mon_run(mon, cmd, args, fd, timeout_ms, ret, err_class, NULL, 0);
}

/* ---- events ---- */

uint64_t qemu_mon_event_seq(qemu_mon *mon)
{
    pthread_mutex_lock(&mon->lock);
    uint64_t seq = mon->seq;
    pthread_mutex_unlock(&mon->lock);
    return seq;
}

int64_t qemu_mon_event_wait(qemu_mon *mon, uint64_t after, const char *event,
                            bool (*match)(json_object *data, void *opaque), void *opaque,
                            int timeout_ms, json_object **data)
{
    if (data)
        *data = NULL;
    struct timespec deadline = qemu_mon_deadline(timeout_ms);
    uint64_t scanned = after;
    pthread_mutex_lock(&mon->lock);
    mon->users++;
    for (;;) {
        const qemu_mon_logged *hit = NULL;
        for (size_t i = 0; i < mon->log_count && !hit; i++) {
            const qemu_mon_logged *e = &mon->log[(mon->log_first + i) % QEMU_MON_EVENT_LOG];
            if (e->seq > scanned && (!event || strcmp(e->name, event) == 0))
                hit = e;
        }
        if (hit) {
            /* match runs unlocked, on a private copy: it may take its time. */
            uint64_t seq = hit->seq;
            json_object *copy = NULL;
            if (hit->data && json_object_deep_copy(hit->data, &copy, NULL) < 0)
                copy = NULL;
            pthread_mutex_unlock(&mon->lock);
            bool ok = !match || match(copy, opaque);
            pthread_mutex_lock(&mon->lock);
            if (ok) {
                qemu_mon_user_leave(mon);
                pthread_mutex_unlock(&mon->lock);
                if (data)
                    *data = copy;
                else
                    json_object_put(copy);
                return (int64_t)seq;
            }
            json_object_put(copy);
            scanned = seq;
            continue;
        }
        if (mon->seq > scanned)
            scanned = mon->seq;
        if (mon->dead) {
            qemu_mon_report_gone(mon, mon->why);
            qemu_mon_user_leave(mon);
            pthread_mutex_unlock(&mon->lock);
            return -1;
        }
        if (pthread_cond_timedwait(&mon->cond, &mon->lock, &deadline) == ETIMEDOUT &&
            mon->seq == scanned && !mon->dead) {
            qemu_mon_user_leave(mon);
            pthread_mutex_unlock(&mon->lock);
            return 0;
        }
    }
}

/* ---- open, close, accessors ---- */

/* Printable excerpt of what a peer sent instead of a greeting, for the error message. */
static void qemu_mon_excerpt(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outlen; i++)
        out[o++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    if (len > 0 && o < len && o + 4 <= outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int qemu_mon_read_greeting(qemu_mon *mon, int timeout_ms)
{
    struct timespec deadline = qemu_mon_deadline(timeout_ms);
    char why[256], got[64];
    for (;;) {
        const char *line;
        size_t len;
        int rc = qemu_mon_read_line(mon, &deadline, &line, &len, why, sizeof(why));
        if (rc == QEMU_MON_READ_TIMEOUT) {
            if (mon->end > mon->start) {
                qemu_mon_excerpt(mon->buf + mon->start, mon->end - mon->start, got, sizeof(got));
                xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                                  "QEMU of %s sent no QMP greeting within %d ms (only '%s' "
                                  "without an end of line)",
                                  mon->what, timeout_ms, got);
            } else {
                xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                                  "QEMU of %s sent no QMP greeting within %d ms", mon->what,
                                  timeout_ms);
            }
            return -1;
        }
        if (rc == QEMU_MON_READ_EOF) {
            xend_error_report(XEND_ERR_HYPERVISOR,
                              "QEMU of %s closed the monitor connection before its QMP greeting",
                              mon->what);
            return -1;
        }
        if (rc == QEMU_MON_READ_ERROR) {
            xend_error_report(XEND_ERR_HYPERVISOR, "reading the QMP greeting of %s failed: %s",
                              mon->what, why);
            return -1;
        }
        size_t skip = 0;
        while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (skip == len)
            continue; /* blank line */

        json_object *root;
        qemu_mon_msg msg;
        if (qemu_mon_parse_line(line, len, &root, &msg) < 0 || msg.kind != 'g') {
            json_object_put(root);
            qemu_mon_excerpt(line, len, got, sizeof(got));
            xend_error_report(XEND_ERR_HYPERVISOR,
                              "the monitor socket of %s is not a QMP monitor: expected a QMP "
                              "greeting, got '%s'",
                              mon->what, got);
            return -1;
        }
        memcpy(mon->ver, msg.ver, sizeof(mon->ver));
        json_object_put(root);
        return 0;
    }
}

static void qemu_mon_free(qemu_mon *mon)
{
    while (mon->log_count)
        qemu_mon_log_drop_oldest(mon);
    if (mon->fd >= 0)
        close(mon->fd);
    pthread_cond_destroy(&mon->cond);
    pthread_mutex_destroy(&mon->lock);
    pthread_mutex_destroy(&mon->send_lock);
    free(mon->buf);
    free(mon->what);
    free(mon);
}

qemu_mon *qemu_mon_open(int fd, const char *what, int timeout_ms, qemu_mon_event_cb on_event,
                        qemu_mon_eof_cb on_eof, void *opaque)
{
    if (fd < 0) {
        xend_error_report(XEND_ERR_INTERNAL, "no monitor socket for %s", what ? what : "a guest");
        return NULL;
    }
    qemu_mon *mon = xcalloc(1, sizeof(*mon));
    mon->fd = fd;
    mon->what = xstrdup(what ? what : "a guest");
    mon->on_event = on_event;
    mon->on_eof = on_eof;
    mon->opaque = opaque;
    mon->cap = QEMU_MON_BUF_INITIAL;
    mon->buf = xmalloc(mon->cap);
    pthread_mutex_init(&mon->send_lock, NULL);
    pthread_mutex_init(&mon->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mon->cond, &ca);
    pthread_condattr_destroy(&ca);

    struct timespec deadline = qemu_mon_deadline(timeout_ms);
    if (qemu_mon_read_greeting(mon, timeout_ms) < 0) {
        qemu_mon_free(mon);
        return NULL;
    }

    /* The reader must not take signals meant for the daemon's own handling threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&mon->reader, NULL, qemu_mon_reader_main, mon);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        xend_error_report_errno(XEND_ERR_SYSTEM, err, "cannot start the monitor thread of %s",
                                mon->what);
        qemu_mon_free(mon);
        return NULL;
    }
    mon->reader_started = true;

    char cls[64], desc[512];
    int left = qemu_mon_remaining_ms(&deadline);
    if (qemu_mon_run(mon, "qmp_capabilities", NULL, -1, left, NULL, cls, desc, sizeof(desc)) < 0) {
        if (cls[0])
            xend_error_report(XEND_ERR_HYPERVISOR,
                              "QEMU of %s refused QMP capabilities negotiation: %s", mon->what,
                              desc);
        else if (xend_error_last()->code == XEND_ERR_OPERATION_TIMEOUT)
            xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                              "QEMU of %s did not complete QMP capabilities negotiation within "
                              "%d ms",
                              mon->what, timeout_ms);
        qemu_mon_close(mon);
        return NULL;
    }
    pthread_mutex_lock(&mon->lock);
    if (mon->dead) {
        /* Lost between the reply and here: the caller would never hear of it otherwise. */
        qemu_mon_report_gone(mon, mon->why);
        pthread_mutex_unlock(&mon->lock);
        qemu_mon_close(mon);
        return NULL;
    }
    mon->opened = true;
    pthread_mutex_unlock(&mon->lock);
    return mon;
}

void qemu_mon_close(qemu_mon *mon)
{
    if (!mon)
        return;
    pthread_mutex_lock(&mon->lock);
    mon->closing = true;
    pthread_mutex_unlock(&mon->lock);
    /* Wakes the reader out of recv() and any sender out of poll(). */
    shutdown(mon->fd, SHUT_RDWR);
    if (mon->reader_started)
        pthread_join(mon->reader, NULL);
    pthread_mutex_lock(&mon->lock);
    qemu_mon_set_dead(mon, "connection closed");
    while (mon->users > 0)
        pthread_cond_wait(&mon->cond, &mon->lock);
    pthread_mutex_unlock(&mon->lock);
    qemu_mon_free(mon);
}

void qemu_mon_version(const qemu_mon *mon, int *major, int *minor, int *micro)
{
    if (major)
        *major = mon->ver[0];
    if (minor)
        *minor = mon->ver[1];
    if (micro)
        *micro = mon->ver[2];
}

bool qemu_mon_alive(qemu_mon *mon)
{
    pthread_mutex_lock(&mon->lock);
    bool alive = !mon->dead;
    pthread_mutex_unlock(&mon->lock);
    return alive;
}
