/*
 * Save images and migration of QEMU guests: domain.save / suspend (the guest's state into a
 * file), restore / resume (a new QEMU loading it), domain.migrate to another xend (live or
 * not) and to this very xend (relocation into a new QEMU process).
 *
 * Every transfer is QEMU's own migration stream, driven over QMP: the source gets "migrate"
 * with an fd (a save image), a tcp: address (another xend's QEMU, started by
 * domain.migrate_prepare there) or a unix: socket (relocation), and xend polls
 * query-migrate every QM_POLL_MS for progress (api_job_progress) and for domain.job_abort
 * (migrate_cancel). The receiving QEMU is always started with -S, so nothing runs until
 * xend says so: a guest must never run in two places, and a source is never continued
 * after its stream was completely sent unless the destination is known not to run it.
 *
 * A save image is a text header, then QEMU's stream at an aligned offset:
 *   XENDSAVE-QEMU 1\n             magic and format version
 *   xml <n>\n<n bytes>\n          the live domain XML
 *   slots <n>\n<n bytes>\n        PCI slots of disks and NICs (qemu_slots_format)
 *   paused 1\n<0|1>\n             the guest was paused by its user
 *   console_base <n>\n<decimal>\n  offset of the first console byte kept, and
 *   console <n>\n<n bytes>\n       the console history (at most QEMU_CONSOLE_MAX)
 *   stream <offset>\n             zero bytes up to offset (a multiple of 4096), where
 *                                 QEMU's stream ("QEVM") begins
 * Readers accept exactly this order, bounded sizes and nothing else. The image is written
 * under a temporary name in the same directory and renamed once complete and synced, so a
 * failed save never leaves a partial image under the name asked for (a path that exists
 * and is not a regular file, such as a device, is written in place and never removed).
 *
 * State changes follow the simulated driver (test_driver_domain.c):
 *   save of a running guest   PAUSED/SAVE suspended/paused; on failure the state it had,
 *                             resumed/unpaused; on success api_domain_stopped(SAVED)
 *   restore                   RUNNING/RESTORED started/restored (then PAUSED/USER
 *                             suspended/restored when asked to restore paused)
 *   offline migration         PAUSED/MIGRATION suspended/migrated first
 *   incoming migration        RUNNING/MIGRATED started/migrated (then PAUSED/MIGRATION
 *                             suspended/migrated when it was paused at the source)
 *   relocation                api_domain_relocated (migrated/relocated), then as incoming
 */
#include "qemu_priv.h"

#include "conf/xml.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QM_POLL_MS 50
#define QM_MAX_BANDWIDTH (10ull << 30) /* bytes/s: a local stream is never throttled */
#define QM_CANCEL_WAIT_MS 10000        /* migrate_cancel -> cancelled */
#define QM_FINISH_WAIT_MS 60000        /* source completed -> destination loaded */
#define QM_LOAD_WAIT_MS 30000          /* restore: plus QM_LOAD_MS_PER_GIB per GiB */
#define QM_LOAD_MS_PER_GIB 60000
#define QM_LOG_TAIL 1024

#define QM_IMAGE_MAGIC "XENDSAVE-QEMU 1\n"
#define QM_IMAGE_ALIGN 4096u
#define QM_SLOTS_MAX 1024u
/* The header's bound: the largest domain XML, a full console, the rest, aligned. */
#define QM_IMAGE_HEADER_MAX                                                                        \
    ((uint64_t)XML_MAX_DOCUMENT + QEMU_CONSOLE_MAX + QM_SLOTS_MAX + 2 * QM_IMAGE_ALIGN)
#define QM_STATE_MAGIC "XENDQEMU-STATE 1\n"
#define QM_STATE_MAX (QEMU_CONSOLE_MAX + QM_SLOTS_MAX + 1024u)

/* ---- small helpers ---- */

static void qm_sleep_unlocked(domain_obj *dom, unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    domain_obj_unlock(dom);
    nanosleep(&ts, NULL);
    domain_obj_lock(dom);
}

/* A QMP command to q, one of dom's QEMU processes (dom->priv, or the second one of a
 * relocation), with the object lock dropped (job held: nobody else frees q). */
static int qm_cmd_fd(domain_obj *dom, qemu_dom *q, const char *cmd, json_object *args, int fd,
                     json_object **ret)
{
    if (!q->mon) {
        xend_error_report(XEND_ERR_HYPERVISOR, "domain '%s' has no QEMU monitor", dom->def->name);
        return -1;
    }
    domain_obj_unlock(dom);
    int r = fd >= 0 ? qemu_mon_command_fd(q->mon, cmd, args, fd, QEMU_MONITOR_TIMEOUT_MS, ret, NULL)
                    : qemu_mon_command(q->mon, cmd, args, QEMU_MONITOR_TIMEOUT_MS, ret, NULL);
    domain_obj_lock(dom);
    return r;
}

static int qm_cmd(domain_obj *dom, qemu_dom *q, const char *cmd, json_object *args,
                  json_object **ret)
{
    return qm_cmd_fd(dom, q, cmd, args, -1, ret);
}

/* A command whose only argument is a string. */
static int qm_cmd_str(domain_obj *dom, qemu_dom *q, const char *cmd, const char *key,
                      const char *value)
{
    json_object *args = json_object_new_object();
    json_object_object_add(args, key, json_object_new_string(value));
    int r = qm_cmd(dom, q, cmd, args, NULL);
    json_object_put(args);
    return r;
}

static const char *qm_json_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static uint64_t qm_json_u64(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    int64_t n = json_object_get_int64(v);
    return n > 0 ? (uint64_t)n : 0;
}

/* The error just reported, kept while cleanup runs commands that report their own. */
typedef struct {
    int code;
    char msg[1024];
} qm_error;

static void qm_error_save(qm_error *e)
{
    e->code = xend_error_last()->code;
    snprintf(e->msg, sizeof(e->msg), "%s", xend_error_last()->message);
}

static void qm_error_restore(const qm_error *e)
{
    xend_error_report(e->code ? e->code : XEND_ERR_INTERNAL, "%s", e->msg);
}

/* QEMU's status ("running", "inmigrate"...) into st; -1 reported when QEMU is gone. */
static int qm_status(domain_obj *dom, qemu_dom *q, char st[32])
{
    json_object *ret = NULL;
    if (qm_cmd(dom, q, "query-status", NULL, &ret) < 0)
        return -1;
    snprintf(st, 32, "%s", qm_json_str(ret, "status"));
    json_object_put(ret);
    return 0;
}

/* ---- records: "key <n>\n" + n bytes + "\n" (save image header, migration state) ---- */

static void qm_rec_add(xbuf *b, const char *key, const char *data, size_t len)
{
    xbuf_printf(b, "%s %zu\n", key, len);
    xbuf_add(b, data ? data : "", len);
    xbuf_addc(b, '\n');
}

static void qm_rec_add_u64(xbuf *b, const char *key, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%" PRIu64, v);
    qm_rec_add(b, key, t, (size_t)n);
}

typedef struct {
    const char *buf;
    size_t size, pos;
    const char *what; /* "'/x.save': damaged save image", for messages */
} qm_reader;

/* A decimal without sign or leading zeros, all of s..end. */
static int qm_parse_u64(const char *s, const char *end, uint64_t *v)
{
    size_t n = (size_t)(end - s);
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t x = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return 0;
}

/* "key <decimal>\n" at the reader's position, the number at most max. */
static int qm_rec_line(qm_reader *r, const char *key, uint64_t max, uint64_t *v)
{
    size_t kl = strlen(key), left = r->size - r->pos;
    const char *p = r->buf + r->pos;
    const char *nl = memchr(p, '\n', left < kl + 23 ? left : kl + 23);
    if (!nl || left < kl + 2 || memcmp(p, key, kl) != 0 || p[kl] != ' ' ||
        qm_parse_u64(p + kl + 1, nl, v) < 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (no '%s' at byte %zu)", r->what, key,
                          r->pos);
        return -1;
    }
    if (*v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s ('%s' is %" PRIu64 ", at most %" PRIu64 ")",
                          r->what, key, *v, max);
        return -1;
    }
    r->pos = (size_t)(nl - r->buf) + 1;
    return 0;
}

/* The record key (at most max bytes) at the reader's position. */
static int qm_rec_get(qm_reader *r, const char *key, size_t max, const char **data, size_t *len)
{
    uint64_t v;
    if (qm_rec_line(r, key, max, &v) < 0)
        return -1;
    if (r->size - r->pos < v + 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (truncated in '%s')", r->what, key);
        return -1;
    }
    if (r->buf[r->pos + v] != '\n') {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s ('%s' does not end where it says)", r->what,
                          key);
        return -1;
    }
    *data = r->buf + r->pos;
    *len = (size_t)v;
    r->pos += (size_t)v + 1;
    return 0;
}

static int qm_rec_get_u64(qm_reader *r, const char *key, uint64_t max, uint64_t *v)
{
    const char *d;
    size_t n;
    if (qm_rec_get(r, key, 20, &d, &n) < 0)
        return -1;
    if (qm_parse_u64(d, d + n, v) < 0 || *v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (bad '%s')", r->what, key);
        return -1;
    }
    return 0;
}

static int qm_rec_get_slots(qm_reader *r, qemu_slots *slots)
{
    const char *d;
    size_t n;
    if (qm_rec_get(r, "slots", QM_SLOTS_MAX, &d, &n) < 0)
        return -1;
    char text[QM_SLOTS_MAX + 1];
    memcpy(text, d, n);
    text[n] = '\0';
    memset(slots, 0, sizeof(*slots));
    if (strlen(text) != n || qemu_slots_parse(slots, text) < 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (bad PCI slots '%.64s')", r->what, text);
        return -1;
    }
    return 0;
}

/* Each disk and NIC that qemu_slots_assign would give a slot has one in range, and no two
 * share one: a QEMU started with these slots gets the device layout of the source. */
static int qm_slots_check(const qemu_slots *s, const domain_def *def, const char *what)
{
    uint32_t used = 0;
    for (size_t i = 0; i < def->ndisks + def->nnics; i++) {
        bool disk = i < def->ndisks;
        size_t k = disk ? i : i - def->ndisks;
        unsigned slot = disk ? s->disk[k] : s->nic[k];
        bool pci = disk ? qemu_disk_is_pci(&def->disks[k]) : true;
        if (!pci && slot == 0)
            continue;
        if (!pci || slot < QEMU_PCI_SLOT_FIRST || slot > QEMU_PCI_SLOT_LAST ||
            (used & (1u << slot))) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: PCI slot %u of %s %zu does not fit the domain", what, slot,
                              disk ? "disk" : "NIC", k);
            return -1;
        }
        used |= 1u << slot;
    }
    return 0;
}

/* The console history of q: its newest bytes and the offset of the first. */
static void qm_console_snapshot(qemu_dom *q, xbuf *out, uint64_t *base)
{
    *base = 0;
    if (!q->con)
        return;
    uint64_t next = 0, start = 0;
    qemu_console_read(q->con, 0, QEMU_CONSOLE_MAX, out, &next, &start);
    *base = start;
}

/* Give q (started, its guest not yet run: nothing is printed meanwhile) a console that
 * continues the guest's history: len bytes of seed from offset base. The console QEMU was
 * started with is replaced by a new connection to its serial socket. 0 / -1 reported. */
static int qm_console_continue(domain_obj *dom, qemu_dom *q, uint64_t base, const char *seed,
                               size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/serial.sock", q->dir);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        xend_error_report(XEND_ERR_LIMIT, "the run directory %s is too long", q->dir);
        return -1;
    }
    domain_obj_unlock(dom);
    qemu_console_close(q->con);
    q->con = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        xend_error_report_errno(XEND_ERR_HYPERVISOR, errno,
                                "cannot connect to the console of domain '%s'", dom->def->name);
        if (fd >= 0)
            close(fd);
        domain_obj_lock(dom);
        return -1;
    }
    char what[DOMAIN_NAME_MAX + 16];
    snprintf(what, sizeof(what), "domain '%s'", dom->def->name);
    q->con = qemu_console_open(fd, what, base, seed, len);
    domain_obj_lock(dom);
    return q->con ? 0 : -1;
}

/* ---- outgoing streams ---- */

typedef struct {
    char status[24];
    uint64_t transferred, total, remaining;
    uint64_t total_time, downtime; /* ms */
    char error[256];
} qm_mig;

static int qm_query_migrate(domain_obj *dom, qemu_dom *q, qm_mig *m)
{
    json_object *ret = NULL;
    memset(m, 0, sizeof(*m));
    if (qm_cmd(dom, q, "query-migrate", NULL, &ret) < 0)
        return -1;
    snprintf(m->status, sizeof(m->status), "%s", qm_json_str(ret, "status"));
    json_object *ram = NULL;
    if (json_object_object_get_ex(ret, "ram", &ram)) {
        m->transferred = qm_json_u64(ram, "transferred");
        m->total = qm_json_u64(ram, "total");
        m->remaining = qm_json_u64(ram, "remaining");
    }
    m->total_time = qm_json_u64(ret, "total-time");
    m->downtime = qm_json_u64(ret, "downtime");
    snprintf(m->error, sizeof(m->error), "%s", qm_json_str(ret, "error-desc"));
    json_object_put(ret);
    return 0;
}

/* Migration events on (QEMU then also reports on the receiving side). */
static int qm_events_on(domain_obj *dom, qemu_dom *q)
{
    json_object *caps = json_object_new_object(), *list = json_object_new_array(),
                *cap = json_object_new_object();
    json_object_object_add(cap, "capability", json_object_new_string("events"));
    json_object_object_add(cap, "state", json_object_new_boolean(1));
    json_object_array_add(list, cap);
    json_object_object_add(caps, "capabilities", list);
    int r = qm_cmd(dom, q, "migrate-set-capabilities", caps, NULL);
    json_object_put(caps);
    return r;
}

/* Before "migrate": events on, no bandwidth limit (QEMU's default is 128 MiB/s). */
static int qm_migrate_setup(domain_obj *dom, qemu_dom *q)
{
    if (qm_events_on(dom, q) < 0)
        return -1;
    json_object *par = json_object_new_object();
    json_object_object_add(par, "max-bandwidth", json_object_new_int64((int64_t)QM_MAX_BANDWIDTH));
    int r = qm_cmd(dom, q, "migrate-set-parameters", par, NULL);
    json_object_put(par);
    return r;
}

/* A MIGRATION event that ends a migration. */
static bool qm_mig_final(json_object *data, void *opaque)
{
    (void)opaque;
    const char *st = qm_json_str(data, "status");
    return strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
           strcmp(st, "cancelled") == 0;
}

/* Send q's state to uri ("migrate"). *seq: the monitor's event sequence number before it,
 * for qm_migrate_wait. 0 / -1 reported. */
static int qm_migrate_start(domain_obj *dom, qemu_dom *q, const char *uri, uint64_t *seq)
{
    *seq = q->mon ? qemu_mon_event_seq(q->mon) : 0;
    return qm_cmd_str(dom, q, "migrate", "uri", uri);
}

/* Follow q's outgoing migration until it ends: 0 when completed (*m: the last figures),
 * -1 reported when it failed, QEMU went away, or the job was aborted (cancelled first).
 * How it ended comes from QEMU's MIGRATION events after seq, not from query-migrate:
 * a QEMU that once received a migration itself answers "completed" there for ever (the
 * incoming side's status wins), also while it sends. query-migrate gives the figures. */
static int qm_migrate_wait(api_ctx *ctx, domain_obj *dom, qemu_dom *q, uint64_t seq,
                           const char *what, qm_mig *m)
{
    bool cancelled = false;
    uint64_t cancel_deadline = 0;
    api_job_progress(ctx, dom, 0, dom->def->memory_kib * 1024);
    for (;;) {
        if (!cancelled && api_job_should_stop(ctx, dom)) {
            if (qm_cmd(dom, q, "migrate_cancel", NULL, NULL) < 0)
                return -1;
            cancelled = true;
            cancel_deadline = qemu_now_ns() + (uint64_t)QM_CANCEL_WAIT_MS * 1000000u;
        }
        if (!q->mon) {
            xend_error_report(XEND_ERR_HYPERVISOR, "domain '%s' has no QEMU monitor",
                              dom->def->name);
            return -1;
        }
        json_object *ev = NULL;
        domain_obj_unlock(dom);
        int64_t r =
            qemu_mon_event_wait(q->mon, seq, "MIGRATION", qm_mig_final, NULL, QM_POLL_MS, &ev);
        domain_obj_lock(dom);
        if (r < 0)
            return -1;
        char status[24] = "";
        if (r > 0)
            snprintf(status, sizeof(status), "%s", qm_json_str(ev, "status"));
        json_object_put(ev);
        if (qm_query_migrate(dom, q, m) < 0)
            return -1;
        if (strcmp(status, "completed") == 0) {
            api_job_progress(ctx, dom, m->total, m->total);
            return 0;
        }
        if (strcmp(status, "failed") == 0) {
            xend_error_report(XEND_ERR_HYPERVISOR, "%s failed: QEMU: %s", what,
                              m->error[0] ? m->error : "no reason given");
            return -1;
        }
        if (strcmp(status, "cancelled") == 0 || (cancelled && qemu_now_ns() >= cancel_deadline)) {
            xend_error_report(XEND_ERR_OPERATION_ABORTED, "%s %s", what,
                              api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                    : "was aborted");
            return -1;
        }
        if (m->total)
            api_job_progress(ctx, dom, m->transferred, m->total);
    }
}

/* Wait until q has loaded an incoming stream (left "inmigrate"), at most timeout_ms;
 * abortable when abortable. progress_fd >= 0: the image being read, for progress
 * (QEMU shares its file offset). 0, or -1 reported. */
static int qm_wait_loaded(api_ctx *ctx, domain_obj *dom, qemu_dom *q, uint64_t timeout_ms,
                          bool abortable, int progress_fd, uint64_t stream_off, uint64_t stream_len,
                          const char *what)
{
    uint64_t deadline = qemu_now_ns() + timeout_ms * 1000000u;
    char st[32];
    for (;;) {
        if (abortable && api_job_should_stop(ctx, dom)) {
            xend_error_report(XEND_ERR_OPERATION_ABORTED, "%s %s", what,
                              api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                    : "was aborted");
            return -1;
        }
        if (qm_status(dom, q, st) < 0) {
            char *tail = qemu_process_log_tail(q->dir, QM_LOG_TAIL);
            xend_error_report(XEND_ERR_HYPERVISOR, "%s failed: QEMU: %s", what,
                              tail[0] ? tail : "it exited without a message");
            free(tail);
            return -1;
        }
        if (strcmp(st, "inmigrate") != 0)
            break;
        if (progress_fd >= 0 && stream_len) {
            off_t pos = lseek(progress_fd, 0, SEEK_CUR);
            uint64_t done = pos > (off_t)stream_off ? (uint64_t)pos - stream_off : 0;
            api_job_progress(ctx, dom, done, stream_len);
        }
        if (qemu_now_ns() >= deadline) {
            xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                              "%s: QEMU did not load the guest's state within %" PRIu64 " s", what,
                              timeout_ms / 1000);
            return -1;
        }
        qm_sleep_unlocked(dom, QM_POLL_MS);
    }
    /* "paused" after a stream (QEMU runs nothing under -S); "prelaunch" if there was
     * none. Anything else (postmigrate, internal-error) is not a loaded guest. */
    if (strcmp(st, "paused") != 0) {
        char *tail = qemu_process_log_tail(q->dir, QM_LOG_TAIL);
        xend_error_report(XEND_ERR_HYPERVISOR, "%s failed: QEMU is in status '%s'%s%s", what, st,
                          tail[0] ? ": " : "", tail);
        free(tail);
        return -1;
    }
    if (stream_len)
        api_job_progress(ctx, dom, stream_len, stream_len);
    return 0;
}

/* ---- save images ---- */

typedef struct {
    char *tmp; /* the temporary name written, renamed to path at the end; NULL when path
                  is written in place (not a regular file) */
    char *dir; /* path's directory */
    int fd;
} qm_target;

static void qm_target_report(const char *what, const char *path, int err)
{
    xend_error_report_errno(err == ENOSPC || err == EDQUOT ? XEND_ERR_NO_SPACE : XEND_ERR_SYSTEM,
                            err, "cannot %s save image '%s'", what, path);
}

static int qm_target_open(const char *path, qm_target *t)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    const char *slash = strrchr(path, '/');
    t->dir = !slash || slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* O_NONBLOCK: a FIFO without a reader fails at once instead of hanging. No O_CREAT
         * or O_TRUNC: nothing is created or emptied here. */
        t->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (t->fd < 0 && errno != ENOENT) {
            qm_target_report("create", path, errno);
            free(t->dir);
            return -1;
        }
        if (t->fd >= 0 && fstat(t->fd, &sb) < 0) {
            qm_target_report("create", path, errno);
            close(t->fd);
            free(t->dir);
            return -1;
        }
        /* Gone, or a regular file swapped in since the stat: never written in place, it
         * is replaced by rename like any other below. */
        if (t->fd >= 0 && !S_ISREG(sb.st_mode)) {
            int fl = fcntl(t->fd, F_GETFL);
            if (fl >= 0)
                fcntl(t->fd, F_SETFL, fl & ~O_NONBLOCK);
            return 0;
        }
        if (t->fd >= 0)
            close(t->fd);
        t->fd = -1;
    }
    t->tmp = xasprintf("%s/.%s.XXXXXX", t->dir, slash ? slash + 1 : path);
    t->fd = mkostemp(t->tmp, O_CLOEXEC);
    if (t->fd < 0) {
        qm_target_report("create", path, errno);
        free(t->tmp);
        free(t->dir);
        return -1;
    }
    return 0;
}

/* Sync and put the image in place. 0 / -1 reported (the caller then aborts). */
static int qm_target_commit(qm_target *t, const char *path)
{
    int r = 0;
    if (t->tmp && fsync(t->fd) < 0) {
        qm_target_report("write", path, errno);
        r = -1;
    }
    if (close(t->fd) < 0 && r == 0 && t->tmp) {
        qm_target_report("write", path, errno);
        r = -1;
    }
    t->fd = -1;
    if (r == 0 && t->tmp) {
        if (rename(t->tmp, path) < 0) {
            qm_target_report("write", path, errno);
            r = -1;
        } else {
            free(t->tmp);
            t->tmp = NULL;
            r = xend_dir_fsync(t->dir);
        }
    }
    return r;
}

/* Remove what a failed save wrote and free t. */
static void qm_target_abort(qm_target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->tmp)
        unlink(t->tmp);
    free(t->tmp);
    free(t->dir);
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

static void qm_target_free(qm_target *t)
{
    free(t->tmp);
    free(t->dir);
}

static int qm_write_all(int fd, const char *path, const char *data, size_t len)
{
    if (xend_fd_write_all(fd, data, len) < 0) {
        qm_target_report("write", path, errno);
        return -1;
    }
    return 0;
}

/* The header of a save image, up to and including the padding before the stream. */
static void qm_image_header(xbuf *h, const domain_def *def, const qemu_slots *slots, bool paused,
                            const char *console, size_t console_len, uint64_t console_base)
{
    xbuf xml = XBUF_INIT;
    domain_xml_format(def, &xml, 0);
    char *slot_text = qemu_slots_format(slots, def);
    xbuf_adds(h, QM_IMAGE_MAGIC);
    qm_rec_add(h, "xml", xml.data, xml.len);
    qm_rec_add(h, "slots", slot_text, strlen(slot_text));
    qm_rec_add_u64(h, "paused", paused ? 1 : 0);
    qm_rec_add_u64(h, "console_base", console_base);
    qm_rec_add(h, "console", console, console_len);
    /* "stream N\n" is at most 28 bytes: the offset is the next boundary after it. */
    size_t off = (h->len + 28 + QM_IMAGE_ALIGN - 1) / QM_IMAGE_ALIGN * QM_IMAGE_ALIGN;
    xbuf_printf(h, "stream %zu\n", off);
    while (h->len < off)
        xbuf_addc(h, '\0');
    xbuf_clear(&xml);
    free(slot_text);
}

typedef struct {
    domain_def *def;
    qemu_slots slots;
    bool paused;
    uint64_t console_base;
    char *console;
    size_t console_len;
    uint64_t stream_off, size;
} qm_image;

static void qm_image_clear(qm_image *img)
{
    domain_def_free(img->def);
    free(img->console);
    memset(img, 0, sizeof(*img));
}

static int qm_pread_all(int fd, const char *path, char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            xend_error_report_errno(XEND_ERR_SYSTEM, r < 0 ? errno : EIO,
                                    "cannot read save image '%s'", path);
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Parse the header in buf (the file's first size bytes; more may follow). */
static int qm_image_parse(const char *path, const char *buf, size_t size, qm_image *img)
{
    char what[4200];
    snprintf(what, sizeof(what), "'%s': damaged save image", path);
    qm_reader r = {buf, size, sizeof(QM_IMAGE_MAGIC) - 1, what};
    const char *xml, *con;
    size_t xml_len, con_len;
    uint64_t paused, off;
    if (qm_rec_get(&r, "xml", XML_MAX_DOCUMENT, &xml, &xml_len) < 0 ||
        qm_rec_get_slots(&r, &img->slots) < 0 || qm_rec_get_u64(&r, "paused", 1, &paused) < 0 ||
        qm_rec_get_u64(&r, "console_base", UINT64_MAX / 2, &img->console_base) < 0 ||
        qm_rec_get(&r, "console", QEMU_CONSOLE_MAX, &con, &con_len) < 0 ||
        qm_rec_line(&r, "stream", QM_IMAGE_HEADER_MAX, &off) < 0)
        return -1;
    if (off % QM_IMAGE_ALIGN != 0 || off < r.pos || off + 8 > size) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (stream offset %" PRIu64 ")", what, off);
        return -1;
    }
    for (size_t i = r.pos; i < off; i++) {
        if (buf[i] != '\0') {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s (garbage before the stream)", what);
            return -1;
        }
    }
    /* QEMU's stream: QEMU_VM_FILE_MAGIC "QEVM", then version 3. */
    if (memcmp(buf + off, "QEVM\0\0\0\3", 8) != 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s (no QEMU migration stream at byte %" PRIu64 ")", what, off);
        return -1;
    }
    img->def = domain_xml_parse(xml, xml_len, NULL);
    if (!img->def) {
        char msg[sizeof(xend_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "'%s': bad domain XML in save image: %s", path,
                          msg);
        return -1;
    }
    char slots_what[4200];
    snprintf(slots_what, sizeof(slots_what), "'%s'", path);
    if (qm_slots_check(&img->slots, img->def, slots_what) < 0)
        return -1;
    img->paused = paused == 1;
    img->console = xmalloc(con_len + 1);
    memcpy(img->console, con, con_len);
    img->console[con_len] = '\0';
    img->console_len = con_len;
    img->stream_off = off;
    return 0;
}

/* Open path read-only and read its header, checked against expect (may be NULL: any
 * domain). Returns the fd (at offset 0) with img filled, or -1 reported. */
static int qm_image_open(const char *path, const domain_def *expect, qm_image *img)
{
    memset(img, 0, sizeof(*img));
    /* The API checked that path is a regular file, but it may have been swapped for a FIFO
     * since: O_NONBLOCK keeps open from waiting for a writer that never comes (and blocking
     * a job worker for good), O_NOCTTY keeps a terminal from becoming ours. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open save image '%s'", path);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot stat save image '%s'", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s' is not a xend save image (not a regular file)", path);
        close(fd);
        return -1;
    }
    /* The fd goes to QEMU as its incoming stream, which expects blocking reads. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read save image '%s'", path);
        close(fd);
        return -1;
    }
    img->size = (uint64_t)sb.st_size;
    /* The magic and the xml record's length first, then the header as large as they say. */
    size_t first = img->size < 256 ? (size_t)img->size : 256;
    char head[256];
    if (qm_pread_all(fd, path, head, first, 0) < 0) {
        close(fd);
        return -1;
    }
    size_t ml = sizeof(QM_IMAGE_MAGIC) - 1;
    if (first < ml || memcmp(head, QM_IMAGE_MAGIC, ml) != 0) {
        if (first >= 11 && memcmp(head, "XENDSAVE 1\n", 11) == 0)
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "'%s' is a save image of the simulated (test) driver, not of qemu",
                              path);
        else if (first > 14 && memcmp(head, "XENDSAVE-QEMU ", 14) == 0)
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "'%s': save image format %.8s is not supported (this xend reads "
                              "format 1)",
                              path, head + 14);
        else
            xend_error_report(XEND_ERR_CONFIG_INVALID, "'%s' is not a xend save image", path);
        close(fd);
        return -1;
    }
    qm_reader r = {head, first, ml, ""};
    uint64_t xml_len = 0;
    char what[4200];
    snprintf(what, sizeof(what), "'%s': damaged save image", path);
    r.what = what;
    if (qm_rec_line(&r, "xml", XML_MAX_DOCUMENT, &xml_len) < 0) {
        close(fd);
        return -1;
    }
    uint64_t want = r.pos + xml_len + QM_SLOTS_MAX + QEMU_CONSOLE_MAX + 2 * QM_IMAGE_ALIGN;
    if (want > img->size)
        want = img->size;
    char *buf = xmalloc((size_t)want + 1);
    int ret = qm_pread_all(fd, path, buf, (size_t)want, 0);
    if (ret == 0)
        ret = qm_image_parse(path, buf, (size_t)want, img);
    free(buf);
    if (ret == 0 && expect && memcmp(expect->uuid, img->def->uuid, sizeof(expect->uuid)) != 0) {
        char uuid[37];
        domain_uuid_format(img->def->uuid, uuid);
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s' is a save image of domain '%s' (%s), not of '%s'", path,
                          img->def->name, uuid, expect->name);
        ret = -1;
    }
    if (ret < 0) {
        qm_image_clear(img);
        close(fd);
        return -1;
    }
    return fd;
}

domain_def *qemu_save_image_def(void *priv, const char *path)
{
    (void)priv;
    qm_image img;
    int fd = qm_image_open(path, NULL, &img);
    if (fd < 0)
        return NULL;
    close(fd);
    domain_def *def = img.def;
    img.def = NULL;
    qm_image_clear(&img);
    return def;
}

int qemu_save_image_open(const char *path, const domain_def *expect, qemu_slots *slots)
{
    qm_image img;
    int fd = qm_image_open(path, expect, &img);
    if (fd < 0)
        return -1;
    *slots = img.slots;
    if (lseek(fd, (off_t)img.stream_off, SEEK_SET) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read save image '%s'", path);
        close(fd);
        fd = -1;
    }
    qm_image_clear(&img);
    return fd;
}

/* Stop a running guest for a save or an offline migration, posting the state; whether it
 * was running. -1 reported if QEMU refused. */
static int qm_hold(api_ctx *ctx, domain_obj *dom, qemu_dom *q, domain_reason reason,
                   const char *detail, bool *held)
{
    *held = false;
    if (dom->state == DOMAIN_STATE_PAUSED)
        return 0;
    if (qm_cmd(dom, q, "stop", NULL, NULL) < 0)
        return -1;
    *held = true;
    api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, reason, "suspended", detail);
    return 0;
}

/* Undo qm_hold after a failure (the error reported before is kept). */
static void qm_release(api_ctx *ctx, domain_obj *dom, qemu_dom *q, domain_state state,
                       domain_reason reason)
{
    qm_error e;
    qm_error_save(&e);
    if (qm_cmd(dom, q, "cont", NULL, NULL) < 0)
        log_warn("qemu: cannot continue domain '%s' after a failed transfer: %s", dom->def->name,
                 xend_error_last()->message);
    else
        api_domain_set_state(ctx, dom, state, reason, "resumed", "unpaused");
    qm_error_restore(&e);
}

int qemu_domain_save(api_ctx *ctx, domain_obj *dom, const char *path)
{
    qemu_dom *p = qemu_dom_get(dom);
    if (!p)
        return -1;
    char what[DOMAIN_NAME_MAX + 32];
    snprintf(what, sizeof(what), "save of domain '%s'", dom->def->name);
    /* Create the file first: a bad path fails before the guest is disturbed. */
    qm_target t;
    if (qm_target_open(path, &t) < 0)
        return -1;
    domain_state prev_state = dom->state;
    domain_reason prev_reason = dom->reason;
    bool user_paused = dom->state == DOMAIN_STATE_PAUSED, held = false;
    uint64_t t0 = qemu_now_ns();
    if (qm_migrate_setup(dom, p) < 0 ||
        qm_hold(ctx, dom, p, DOMAIN_REASON_SAVE, "paused", &held) < 0)
        goto fail;
    /* The guest is stopped: its console says nothing more until it runs again. */
    xbuf con = XBUF_INIT, h = XBUF_INIT;
    uint64_t con_base;
    qm_console_snapshot(p, &con, &con_base);
    qm_image_header(&h, dom->def, &p->slots, user_paused, con.data, con.len, con_base);
    xbuf_clear(&con);
    int r = qm_write_all(t.fd, path, h.data, h.len);
    xbuf_clear(&h);
    if (r < 0)
        goto fail;
    json_object *args = json_object_new_object();
    json_object_object_add(args, "fdname", json_object_new_string("xendsave"));
    r = qm_cmd_fd(dom, p, "getfd", args, t.fd, NULL);
    json_object_put(args);
    if (r < 0)
        goto fail;
    uint64_t seq;
    if (qm_migrate_start(dom, p, "fd:xendsave", &seq) < 0) {
        qm_error e;
        qm_error_save(&e);
        qm_cmd_str(dom, p, "closefd", "fdname", "xendsave");
        qm_error_restore(&e);
        goto fail;
    }
    qm_mig m;
    if (qm_migrate_wait(ctx, dom, p, seq, what, &m) < 0 || qm_target_commit(&t, path) < 0)
        goto fail;
    qm_target_free(&t);
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' saved to %s (%" PRIu64 " MiB in %" PRIu64 " ms)",
                 dom->def->name, path, m.transferred >> 20, (qemu_now_ns() - t0) / 1000000u);
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_SAVED, false);
    return 0;
fail:
    qm_target_abort(&t);
    if (held)
        qm_release(ctx, dom, p, prev_state, prev_reason);
    return -1;
}

int qemu_domain_restore(api_ctx *ctx, domain_obj *dom, const char *path, bool paused)
{
    char what[DOMAIN_NAME_MAX + 4200];
    snprintf(what, sizeof(what), "restore of domain '%s' from '%s'", dom->def->name, path);
    qm_image img;
    int fd = qm_image_open(path, dom->def, &img);
    if (fd < 0)
        return -1;
    uint64_t len = img.size - img.stream_off, t0 = qemu_now_ns();
    if (lseek(fd, (off_t)img.stream_off, SEEK_SET) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read save image '%s'", path);
        goto fail;
    }
    api_job_progress(ctx, dom, 0, len);
    qemu_launch how = {.incoming_fd = fd};
    if (qemu_process_start(ctx, dom, &how, &img.slots) < 0)
        goto fail;
    qemu_dom *p = dom->priv;
    uint64_t timeout = QM_LOAD_WAIT_MS + len * QM_LOAD_MS_PER_GIB / (1ull << 30);
    if (qm_wait_loaded(ctx, dom, p, timeout, true, fd, img.stream_off, len, what) < 0 ||
        qm_console_continue(dom, p, img.console_base, img.console, img.console_len) < 0) {
        qm_error e;
        qm_error_save(&e);
        qemu_process_stop(ctx, dom);
        qm_error_restore(&e);
        goto fail;
    }
    close(fd);
    fd = -1;
    qemu_drv_log(qemu_drv_get(ctx),
                 "domain '%s' restored from %s (%" PRIu64 " MiB in %" PRIu64 " ms)", dom->def->name,
                 path, len >> 20, (qemu_now_ns() - t0) / 1000000u);
    /* As domain.restore documents and xm restore -p does (and the simulated driver): running
     * unless the caller asks for paused, whatever the state at save time (the header's
     * paused flag is informational). */
    qm_image_clear(&img);
    return qemu_domain_resume_launched(ctx, dom, paused, DOMAIN_REASON_RESTORED, "restored",
                                       DOMAIN_REASON_USER);
fail:
    if (fd >= 0)
        close(fd);
    qm_image_clear(&img);
    return -1;
}

/* ---- migration to another xend ---- */

/* The driver's state in domain.migrate_prepare (the PCI slots) and domain.migrate_finish
 * (the console history at the switch-over): QM_STATE_MAGIC, then records. */
static void qm_state_begin(xbuf *b)
{
    xbuf_adds(b, QM_STATE_MAGIC);
}

static int qm_state_reader(const void *state, size_t len, qm_reader *r)
{
    static const char what[] = "the migration state sent by the source is damaged";
    size_t ml = sizeof(QM_STATE_MAGIC) - 1;
    if (len > QM_STATE_MAX || len < ml || memcmp(state, QM_STATE_MAGIC, ml) != 0) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "the migration state sent by the source is not the qemu driver's "
                          "(the source must use the qemu driver too)");
        return -1;
    }
    *r = (qm_reader){state, len, ml, what};
    return 0;
}

static int qm_state_end(qm_reader *r)
{
    if (r->pos != r->size) {
        xend_error_report(XEND_ERR_INVALID_ARG, "%s (%zu bytes too many)", r->what,
                          r->size - r->pos);
        return -1;
    }
    return 0;
}

/* A host for a QEMU tcp: address: a name or IPv4 address, or an IPv6 address in brackets.
 * 0 / -1 (nothing reported). */
static int qm_host_check(const char *h, size_t n)
{
    if (n == 0 || n > 255)
        return -1;
    bool v6 = h[0] == '[';
    if (v6 && (n < 3 || h[n - 1] != ']'))
        return -1;
    for (size_t i = v6 ? 1 : 0; i < (v6 ? n - 1 : n); i++) {
        char c = h[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '-' || (v6 && c == ':');
        if (!ok)
            return -1;
    }
    return 0;
}

/* The address the destination's QEMU listens on: host (NULL: loopback) with an IPv6
 * address put in brackets, into out. 0 / -1 reported. */
static int qm_listen_host(const char *host, char out[260])
{
    if (!host || !host[0])
        host = "127.0.0.1";
    bool bare_v6 = strchr(host, ':') && host[0] != '[';
    snprintf(out, 260, bare_v6 ? "[%s]" : "%s", host);
    if (qm_host_check(out, strlen(out)) < 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "cannot listen for a migration on '%.64s': not an address", host);
        return -1;
    }
    return 0;
}

/* The host part of a xend URI: http://HOST[:port]/...; loopback for unix:// and
 * httpu://. Into out; 0 / -1. */
static int qm_xend_uri_host(const char *xend_uri, char out[260])
{
    if (strncmp(xend_uri, "http://", 7) != 0) {
        snprintf(out, 260, "127.0.0.1");
        return 0;
    }
    const char *h = xend_uri + 7;
    size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
    if (n >= 260 || qm_host_check(h, n) < 0)
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* The stream address the destination answered ("tcp:HOST:PORT"), checked; a wildcard
 * host (the destination listens everywhere) becomes the host of the xend URI. Caller
 * frees; NULL reported. */
static char *qm_stream_uri(const char *dest, const char *xend_uri)
{
    const char *colon = strrchr(dest, ':');
    uint64_t port = 0;
    char host[260];
    size_t hl = colon && colon > dest + 4 ? (size_t)(colon - (dest + 4)) : 0;
    if (strncmp(dest, "tcp:", 4) != 0 || hl == 0 || hl >= sizeof(host) ||
        qm_host_check(dest + 4, hl) < 0 ||
        qm_parse_u64(colon + 1, colon + strlen(colon), &port) < 0 || port == 0 || port > 65535) {
        xend_error_report(XEND_ERR_NO_HOST,
                          "the destination '%s' answered an unusable stream address '%.80s'",
                          xend_uri, dest);
        return NULL;
    }
    memcpy(host, dest + 4, hl);
    host[hl] = '\0';
    if ((strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0) &&
        qm_xend_uri_host(xend_uri, host) < 0) {
        xend_error_report(XEND_ERR_NO_HOST,
                          "the destination '%s' listens on every address: cannot tell which "
                          "one to send the stream to",
                          xend_uri);
        return NULL;
    }
    return xasprintf("tcp:%s:%u", host, (unsigned)port);
}

/* The port an incoming tcp: migration listens on (query-migrate's socket-address, which
 * QEMU 7.2 gives as a string). 0 if none. */
static unsigned qm_incoming_port(domain_obj *dom, qemu_dom *q)
{
    json_object *ret = NULL, *addrs = NULL;
    if (qm_cmd(dom, q, "query-migrate", NULL, &ret) < 0)
        return 0;
    unsigned port = 0;
    if (json_object_object_get_ex(ret, "socket-address", &addrs) &&
        json_object_is_type(addrs, json_type_array) && json_object_array_length(addrs) > 0) {
        json_object *a = json_object_array_get_idx(addrs, 0);
        const char *ps = qm_json_str(a, "port");
        uint64_t v = 0;
        if (strcmp(qm_json_str(a, "type"), "inet") == 0 &&
            qm_parse_u64(ps, ps + strlen(ps), &v) == 0 && v > 0 && v <= 65535)
            port = (unsigned)v;
    }
    json_object_put(ret);
    if (!port)
        xend_error_report(XEND_ERR_HYPERVISOR,
                          "QEMU of domain '%s' does not say where it waits for the migration",
                          dom->def->name);
    return port;
}

int qemu_domain_migrate_incoming(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                 bool paused)
{
    (void)ctx;
    (void)state;
    (void)len;
    (void)paused;
    xend_error_report(XEND_ERR_UNSUPPORTED,
                      "the qemu driver receives domain '%s' through domain.migrate_prepare and "
                      "domain.migrate_finish, not domain.migrate_receive (the source must use "
                      "the qemu driver too)",
                      dom->def->name);
    return -1;
}

int qemu_domain_migrate_prepare(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                const char *listen_host, char **uri)
{
    *uri = NULL;
    qm_reader r;
    qemu_slots slots;
    char host[260];
    if (qm_state_reader(state, len, &r) < 0 || qm_rec_get_slots(&r, &slots) < 0 ||
        qm_state_end(&r) < 0 ||
        qm_slots_check(&slots, dom->def, "the migration state sent by the source") < 0 ||
        qm_listen_host(listen_host, host) < 0)
        return -1;
    qemu_launch how = {.incoming_fd = -1, .incoming_defer = true};
    if (qemu_process_start(ctx, dom, &how, &slots) < 0)
        return -1;
    qemu_dom *p = dom->priv;
    /* Until finish this QEMU is no guest: its end is not a crash (see qemu_priv.h). */
    p->quitting = true;
    char *listen = xasprintf("tcp:%s:0", host);
    unsigned port = 0;
    if (qm_events_on(dom, p) < 0 || qm_cmd_str(dom, p, "migrate-incoming", "uri", listen) < 0 ||
        (port = qm_incoming_port(dom, p)) == 0) {
        qm_error e;
        qm_error_save(&e);
        qemu_process_stop(ctx, dom);
        qm_error_restore(&e);
        free(listen);
        return -1;
    }
    free(listen);
    *uri = xasprintf("tcp:%s:%u", host, port);
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s': waiting for its migration on %s", dom->def->name,
                 *uri);
    return 0;
}

int qemu_domain_migrate_finish(api_ctx *ctx, domain_obj *dom, bool ok, bool paused,
                               const void *state, size_t len)
{
    qemu_dom *p = qemu_dom_get(dom);
    if (!p)
        return -1;
    if (!ok) {
        qemu_drv_log(qemu_drv_get(ctx), "domain '%s': incoming migration called off",
                     dom->def->name);
        qemu_process_stop(ctx, dom);
        return 0;
    }
    char what[DOMAIN_NAME_MAX + 40];
    snprintf(what, sizeof(what), "incoming migration of domain '%s'", dom->def->name);
    qm_reader r;
    const char *con = NULL;
    size_t con_len = 0;
    uint64_t con_base = 0;
    if (qm_state_reader(state, len, &r) < 0 ||
        qm_rec_get_u64(&r, "console_base", UINT64_MAX / 2, &con_base) < 0 ||
        qm_rec_get(&r, "console", QEMU_CONSOLE_MAX, &con, &con_len) < 0 || qm_state_end(&r) < 0 ||
        qm_wait_loaded(ctx, dom, p, QM_FINISH_WAIT_MS, false, -1, 0, 0, what) < 0 ||
        qm_console_continue(dom, p, con_base, con, con_len) < 0) {
        qm_error e;
        qm_error_save(&e);
        qemu_process_stop(ctx, dom);
        qm_error_restore(&e);
        return -1;
    }
    p->quitting = false;
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' migrated in", dom->def->name);
    return qemu_domain_resume_launched(ctx, dom, paused, DOMAIN_REASON_MIGRATED, "migrated",
                                       DOMAIN_REASON_MIGRATION);
}

/* The finish state: the console history at the switch-over. */
static void qm_state_finish(qemu_dom *q, xbuf *st)
{
    xbuf con = XBUF_INIT;
    uint64_t base;
    qm_console_snapshot(q, &con, &base);
    qm_state_begin(st);
    qm_rec_add_u64(st, "console_base", base);
    qm_rec_add(st, "console", con.data, con.len);
    xbuf_clear(&con);
}

/* After the stream was completely sent, finish(ok) failed with the error now reported:
 * whether the destination can be running the guest. A fault from the destination means
 * it ended its instance (finish(!ok) tidies up whatever is left); no answer leaves it
 * unknown until finish(!ok) is answered. Object lock held; dropped around the calls. */
static bool qm_destination_may_run(api_ctx *ctx, domain_obj *dom, const char *uri)
{
    bool unknown = xend_error_last()->code == XEND_ERR_NO_HOST;
    qm_error e;
    qm_error_save(&e);
    domain_obj_unlock(dom);
    int r = api_migrate_finish(ctx, dom, uri, dom->def, false, false, NULL, 0);
    domain_obj_lock(dom);
    qm_error_restore(&e);
    return unknown && r < 0;
}

int qemu_domain_migrate(api_ctx *ctx, domain_obj *dom, const char *uri, bool live)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    qemu_dom *p = qemu_dom_get(dom);
    if (!p)
        return -1;
    char what[DOMAIN_NAME_MAX + 40];
    snprintf(what, sizeof(what), "migration of domain '%s'", dom->def->name);
    domain_state prev_state = dom->state;
    domain_reason prev_reason = dom->reason;
    bool user_paused = dom->state == DOMAIN_STATE_PAUSED, held = false, prepared = false;
    char *dest = NULL, *stream = NULL;
    xbuf st = XBUF_INIT;
    /* Abortable from the start; an abort during prepare is acted on once it is answered. */
    api_job_progress(ctx, dom, 0, dom->def->memory_kib * 1024);
    uint64_t t0 = qemu_now_ns();
    char *slot_text = qemu_slots_format(&p->slots, dom->def);
    qm_state_begin(&st);
    qm_rec_add(&st, "slots", slot_text, strlen(slot_text));
    free(slot_text);
    /* Unlocked: readers should not wait behind the network; the job keeps dom->def. */
    domain_obj_unlock(dom);
    int r = api_migrate_prepare(ctx, dom, uri, dom->def, st.data, st.len, &dest);
    domain_obj_lock(dom);
    xbuf_clear(&st);
    if (r < 0)
        return -1;
    prepared = true;
    if (!(stream = qm_stream_uri(dest, uri)))
        goto fail;
    if (api_job_should_stop(ctx, dom)) {
        xend_error_report(XEND_ERR_OPERATION_ABORTED, "%s %s", what,
                          api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                : "was aborted");
        goto fail;
    }
    uint64_t seq = 0;
    if (qm_migrate_setup(dom, p) < 0 ||
        (!live && qm_hold(ctx, dom, p, DOMAIN_REASON_MIGRATION, "migrated", &held) < 0) ||
        qm_migrate_start(dom, p, stream, &seq) < 0)
        goto fail;
    qm_mig m;
    if (qm_migrate_wait(ctx, dom, p, seq, what, &m) < 0)
        goto fail;

    /* The whole state is across; the guest is stopped here (postmigrate). From now on it
     * runs again here only once the destination is known not to run it. */
    qm_state_finish(p, &st);
    domain_obj_unlock(dom);
    r = api_migrate_finish(ctx, dom, uri, dom->def, true, user_paused, st.data, st.len);
    domain_obj_lock(dom);
    xbuf_clear(&st);
    if (r < 0) {
        prepared = false;
        if (qm_destination_may_run(ctx, dom, uri)) {
            qm_error e;
            qm_error_save(&e);
            if (!held && !user_paused)
                api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_MIGRATION,
                                     "suspended", "migrated");
            xend_error_report(XEND_ERR_NO_HOST,
                              "%s to '%s': the guest's state was sent, but the destination did "
                              "not say whether it runs it (%s); the guest is left paused here: "
                              "unpause it only if it does not run there",
                              what, uri, e.msg);
            free(dest);
            free(stream);
            return -1;
        }
        goto fail;
    }
    qemu_drv_log(drv,
                 "domain '%s' migrated to %s (%s, %" PRIu64 " MiB, QEMU: %" PRIu64
                 " ms with %" PRIu64 " ms downtime; %" PRIu64 " ms in all)",
                 dom->def->name, uri, live ? "live" : "offline", m.transferred >> 20, m.total_time,
                 m.downtime, (qemu_now_ns() - t0) / 1000000u);
    free(dest);
    free(stream);
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_MIGRATED, false);
    return 0;

fail:;
    qm_error e;
    qm_error_save(&e);
    /* QEMU restarts a source that was running when a migration fails; a guest stopped by
     * the migration's own end (completed, finish refused) is continued here. */
    if (!user_paused && dom->priv == p) {
        if (held)
            qm_release(ctx, dom, p, prev_state, prev_reason);
        else if (qm_cmd(dom, p, "cont", NULL, NULL) < 0)
            log_warn("qemu: cannot continue domain '%s' after a failed migration: %s",
                     dom->def->name, xend_error_last()->message);
    }
    if (prepared) {
        domain_obj_unlock(dom);
        api_migrate_finish(ctx, dom, uri, dom->def, false, false, NULL, 0);
        domain_obj_lock(dom);
    }
    qm_error_restore(&e);
    free(dest);
    free(stream);
    return -1;
}

/* ---- relocation: migration into a second QEMU of the same domain ---- */

/* The second QEMU is launched beside the first (qemu_process_launch) in the guest's other
 * run directory (qemu_dom_dir_alt), so neither one's sockets, pid file or logs are
 * touched by the other; the stream goes over a Unix socket in the new directory. */
int qemu_domain_relocate(api_ctx *ctx, domain_obj *dom, bool live)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    qemu_dom *old = qemu_dom_get(dom), *nw = NULL;
    if (!old)
        return -1;
    char what[DOMAIN_NAME_MAX + 40];
    snprintf(what, sizeof(what), "relocation of domain '%s'", dom->def->name);
    domain_state prev_state = dom->state;
    domain_reason prev_reason = dom->reason;
    bool user_paused = dom->state == DOMAIN_STATE_PAUSED, held = false;
    int old_id = dom->id;
    uint64_t t0 = qemu_now_ns();
    char *sock = NULL;
    qm_mig m;
    uint64_t seq = 0;
    api_job_progress(ctx, dom, 0, dom->def->memory_kib * 1024);

    char *alt_dir = qemu_dom_dir_alt(drv, dom, true);
    qemu_launch how = {
        .incoming_fd = -1, .incoming_defer = true, .alt_dir = strcmp(old->dir, alt_dir) != 0};
    free(alt_dir);
    if (qemu_process_launch(ctx, dom, &how, &old->slots, &nw) < 0)
        return -1;
    nw->quitting = true; /* no guest of its own until the switch */
    sock = xasprintf("unix:%s/mig.sock", nw->dir);
    if (qm_events_on(dom, nw) < 0 || qm_cmd_str(dom, nw, "migrate-incoming", "uri", sock) < 0 ||
        qm_migrate_setup(dom, old) < 0 ||
        (!live && qm_hold(ctx, dom, old, DOMAIN_REASON_MIGRATION, "migrated", &held) < 0) ||
        qm_migrate_start(dom, old, sock, &seq) < 0 ||
        qm_migrate_wait(ctx, dom, old, seq, what, &m) < 0 ||
        qm_wait_loaded(ctx, dom, nw, QM_FINISH_WAIT_MS, false, -1, 0, 0, what) < 0)
        goto fail;
    xbuf con = XBUF_INIT;
    uint64_t con_base;
    qm_console_snapshot(old, &con, &con_base);
    int r = qm_console_continue(dom, nw, con_base, con.data, con.len);
    xbuf_clear(&con);
    if (r < 0)
        goto fail;

    /* The switch: the new QEMU is the guest (the old one stays stopped in postmigrate
     * until the new one runs). */
    nw->cpu_ns_base = qemu_domain_cpu_time(ctx, dom);
    nw->quitting = false;
    dom->priv = nw;
    if (api_domain_relocated(ctx, dom) < 0) {
        dom->priv = old;
        goto fail;
    }
    if (qemu_domain_resume_launched(ctx, dom, user_paused, DOMAIN_REASON_MIGRATED, "migrated",
                                    DOMAIN_REASON_MIGRATION) < 0) {
        /* That stopped the new QEMU and released the id: the guest goes on in the old one,
         * with an id of its own again (the old one was announced gone). */
        qm_error e;
        qm_error_save(&e);
        nw = NULL;
        dom->priv = old;
        api_domain_alloc_id(ctx, dom);
        if (!user_paused)
            qm_release(ctx, dom, old, held ? prev_state : DOMAIN_STATE_RUNNING,
                       held ? prev_reason : DOMAIN_REASON_UNPAUSED);
        else
            api_domain_save_status(ctx, dom);
        qm_error_restore(&e);
        goto out;
    }
    qemu_process_stop_detached(ctx, dom, old);
    api_domain_save_status(ctx, dom);
    qemu_drv_log(drv,
                 "domain '%s' relocated: domain %d is now %d, QEMU pid %d (%s, %" PRIu64
                 " MiB, QEMU: %" PRIu64 " ms with %" PRIu64 " ms downtime; %" PRIu64 " ms in all)",
                 dom->def->name, old_id, dom->id, (int)nw->pid, live ? "live" : "offline",
                 m.transferred >> 20, m.total_time, m.downtime, (qemu_now_ns() - t0) / 1000000u);
    unlink(sock + 5);
    free(sock);
    return 0;

fail:;
    qm_error e;
    qm_error_save(&e);
    qemu_process_stop_detached(ctx, dom, nw);
    nw = NULL;
    /* QEMU restarts a source that was running when a migration fails; one stopped by the
     * migration's end (the new QEMU failed to take over) is continued here. */
    if (!user_paused) {
        if (held)
            qm_release(ctx, dom, old, prev_state, prev_reason);
        else if (qm_cmd(dom, old, "cont", NULL, NULL) < 0)
            log_warn("qemu: cannot continue domain '%s' after a failed relocation: %s",
                     dom->def->name, xend_error_last()->message);
    }
    qm_error_restore(&e);
out:
    if (sock)
        unlink(sock + 5);
    free(sock);
    return -1;
}
