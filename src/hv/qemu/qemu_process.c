/*
 * One QEMU process per running guest: its run directory (<run_dir>/qemu/<uuid>: the QMP and
 * serial sockets, QEMU's stderr log, the serial log, the pid file), the start (sockets
 * bound by xend and handed over as file descriptors, so connecting never races QEMU's
 * start-up; no shell; a new session so a Ctrl-C aimed at xend never reaches guests), the
 * connection of the monitor and the console, the bounded stop (quit, SIGTERM, SIGKILL),
 * and the status file that lets a restarted xend find the same process again.
 *
 * QEMU is a child of xend while this daemon lives, so waitpid gives its exit status; after
 * a daemon restart it is not, and its end shows only as the monitor's end of file. The
 * pid alone is never trusted: the process start time from /proc/PID/stat must match too.
 */
#include "qemu_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define QEMU_LOG_TAIL_MAX 2048
#define QEMU_QUIT_WAIT_MS 3000
#define QEMU_REATTACH_TIMEOUT_MS 5000
/* The fds QEMU finds its sockets and an incoming stream on. */
#define QEMU_CHILD_FD_QMP 3
#define QEMU_CHILD_FD_SERIAL 4
#define QEMU_CHILD_FD_INCOMING 5

struct qemu_watch {
    qemu_drv *drv;
    domain_obj *dom;
    uint64_t incarnation;
};

qemu_dom *qemu_dom_get(domain_obj *dom)
{
    if (!dom->priv) {
        xend_error_report(XEND_ERR_OPERATION_INVALID, "domain '%s' is not running", dom->def->name);
        return NULL;
    }
    return dom->priv;
}

char *qemu_dom_dir_alt(qemu_drv *drv, const domain_obj *dom, bool alt)
{
    char uuid[37];
    domain_uuid_format(dom->def->uuid, uuid);
    return xasprintf("%s/%s%s", drv->dir, uuid, alt ? ".alt" : "");
}

char *qemu_dom_dir(qemu_drv *drv, const domain_obj *dom)
{
    return qemu_dom_dir_alt(drv, dom, false);
}

static char *qemu_path(const qemu_dom *p, const char *name)
{
    return xasprintf("%s/%s", p->dir, name);
}

/* ---- monitor commands with the object lock dropped ---- */

static qemu_mon *qemu_dom_mon(domain_obj *dom)
{
    qemu_dom *p = dom->priv;
    if (!p || !p->mon) {
        xend_error_report(XEND_ERR_HYPERVISOR, "domain '%s' has no QEMU monitor", dom->def->name);
        return NULL;
    }
    return p->mon;
}

int qemu_dom_command(domain_obj *dom, const char *cmd, json_object *args, json_object **ret,
                     char err_class[64])
{
    return qemu_dom_command_fd(dom, cmd, args, -1, ret, err_class);
}

int qemu_dom_command_fd(domain_obj *dom, const char *cmd, json_object *args, int fd,
                        json_object **ret, char err_class[64])
{
    qemu_mon *mon = qemu_dom_mon(dom);
    if (!mon)
        return -1;
    /* Safe to unlock: only the job holder (the caller) stops the process or frees priv. */
    domain_obj_unlock(dom);
    int r = fd >= 0
                ? qemu_mon_command_fd(mon, cmd, args, fd, QEMU_MONITOR_TIMEOUT_MS, ret, err_class)
                : qemu_mon_command(mon, cmd, args, QEMU_MONITOR_TIMEOUT_MS, ret, err_class);
    domain_obj_lock(dom);
    return r;
}

int64_t qemu_dom_event_wait(domain_obj *dom, uint64_t after, const char *event,
                            bool (*match)(json_object *data, void *opaque), void *opaque,
                            int timeout_ms, json_object **data)
{
    qemu_mon *mon = qemu_dom_mon(dom);
    if (!mon)
        return -1;
    domain_obj_unlock(dom);
    int64_t r = qemu_mon_event_wait(mon, after, event, match, opaque, timeout_ms, data);
    domain_obj_lock(dom);
    return r;
}

/* ---- monitor callbacks: queue what the worker must act on ---- */

static void qemu_watch_event(void *opaque, const char *event, json_object *data)
{
    struct qemu_watch *w = opaque;
    json_object *dev = NULL;
    if (strcmp(event, "SHUTDOWN") == 0 || strcmp(event, "RESET") == 0 ||
        strcmp(event, "GUEST_PANICKED") == 0 ||
        (strcmp(event, "DEVICE_DELETED") == 0 && data &&
         json_object_object_get_ex(data, "device", &dev)))
        qemu_drv_queue_event(w->drv, w->dom, w->incarnation, event, data);
}

static void qemu_watch_eof(void *opaque, const char *why)
{
    struct qemu_watch *w = opaque;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "why", json_object_new_string(why ? why : ""));
    qemu_drv_queue_event(w->drv, w->dom, w->incarnation, "EOF", data);
    json_object_put(data);
}

/* ---- processes ---- */

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 if the process is
 * gone or a zombie. Reports nothing and keeps the thread's last error (callers run it on
 * their failure paths). */
static uint64_t qemu_pid_start(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    /* The command name may contain spaces and parentheses: count from the last ')'. */
    const char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
        return 0;
    uint64_t start = 0;
    for (int field = 2; *p; p++) {
        if (*p == ' ' && ++field == 22) {
            start = strtoull(p + 1, NULL, 10);
            break;
        }
    }
    return start;
}

static bool qemu_pid_alive(const qemu_dom *p)
{
    if (p->pid <= 0)
        return false;
    if (p->is_child) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            return false;
        return true;
    }
    return qemu_pid_start(p->pid) == p->pid_start;
}

/* Wait at most ms for the process to end (reaping a child). */
static bool qemu_wait_exit(qemu_dom *p, unsigned ms)
{
    uint64_t deadline = qemu_now_ns() + (uint64_t)ms * 1000000u;
    unsigned step = 1;
    for (;;) {
        if (!qemu_pid_alive(p)) {
            p->pid = 0;
            return true;
        }
        if (qemu_now_ns() >= deadline)
            return false;
        usleep(step * 1000);
        if (step < 50)
            step *= 2;
    }
}

/* A listening Unix socket at path (stale file removed first). fd, or -1 reported. */
static int qemu_listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        xend_error_report(XEND_ERR_LIMIT,
                          "socket path %s is too long for a Unix socket (%zu bytes at most): "
                          "use a shorter run_dir",
                          path, sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot listen on %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int qemu_connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        xend_error_report_errno(XEND_ERR_HYPERVISOR, errno, "cannot connect to %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

char *qemu_process_log_tail(const char *dir, size_t max)
{
    char *path = xasprintf("%s/qemu.log", dir);
    size_t len = 0;
    char *text = xend_file_read(path, 1u << 20, &len);
    free(path);
    if (!text) {
        xend_error_reset();
        return xstrdup("");
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    const char *start = text;
    if (len > max) {
        start = text + len - max;
        const char *nl = strchr(start, '\n');
        if (nl)
            start = nl + 1;
    }
    char *out = xstrdup(start);
    free(text);
    /* One line in a fault reads better: newlines become "; ". */
    xbuf b;
    xbuf_init(&b);
    for (const char *c = out; *c; c++) {
        if (*c == '\n')
            xbuf_adds(&b, "; ");
        else if ((unsigned char)*c >= 0x20 || *c == '\t')
            xbuf_addc(&b, *c);
    }
    free(out);
    return xbuf_steal(&b, NULL);
}

/* Move fd to a number >= 10 (close-on-exec) so the dup2 of the spawn cannot clobber
 * another source fd. */
static int qemu_fd_high(int fd)
{
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return n;
}

static pid_t qemu_spawn(qemu_drv *drv, char **argv, int log_fd, int qmp_fd, int serial_fd,
                        int incoming_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    posix_spawn_file_actions_adddup2(&fa, qmp_fd, QEMU_CHILD_FD_QMP);
    posix_spawn_file_actions_adddup2(&fa, serial_fd, QEMU_CHILD_FD_SERIAL);
    if (incoming_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, incoming_fd, QEMU_CHILD_FD_INCOMING);
    /* Nothing else of the daemon (client connections, listeners) leaks into QEMU. */
    posix_spawn_file_actions_addclosefrom_np(&fa, QEMU_CHILD_FD_INCOMING + 1);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int err = posix_spawn(&pid, drv->binary, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (err) {
        xend_error_report_errno(XEND_ERR_HYPERVISOR, err, "cannot run %s", drv->binary);
        return -1;
    }
    return pid;
}

/* Wait until QEMU's monitor has something to say (its greeting) or the process is gone. */
static int qemu_wait_greeting(domain_obj *dom, qemu_dom *p, int fd)
{
    uint64_t deadline = qemu_now_ns() + (uint64_t)QEMU_START_TIMEOUT_MS * 1000000u;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, 50);
        char c;
        /* Readable with data: the greeting. Readable without (end of file, reset): QEMU
         * closed its monitor because it is exiting; give it a moment and quote why. */
        if (r > 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
            return 0;
        if (r > 0)
            qemu_wait_exit(p, 2000);
        if (!qemu_pid_alive(p)) {
            p->pid = 0;
            char *tail = qemu_process_log_tail(p->dir, QEMU_LOG_TAIL_MAX);
            xend_error_report(XEND_ERR_HYPERVISOR, "QEMU failed to start domain '%s': %s",
                              dom->def->name, tail[0] ? tail : "it exited without a message");
            free(tail);
            return -1;
        }
        if (qemu_now_ns() >= deadline) {
            xend_error_report(XEND_ERR_OPERATION_TIMEOUT,
                              "QEMU for domain '%s' did not open its monitor within %d s",
                              dom->def->name, QEMU_START_TIMEOUT_MS / 1000);
            return -1;
        }
    }
}

/* Close monitor and console (no callback runs afterwards); the process is left alone. */
static void qemu_dom_hang_up(qemu_dom *p)
{
    qemu_mon_close(p->mon);
    p->mon = NULL;
    qemu_console_close(p->con);
    p->con = NULL;
}

static void qemu_dom_free(qemu_dom *p)
{
    if (!p)
        return;
    qemu_dom_hang_up(p);
    free(p->watch);
    free(p->dir);
    free(p);
}

/* Kill a process that never became a guest (start failure). */
static void qemu_kill_now(qemu_dom *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        qemu_wait_exit(p, 5000);
    }
}

/* Connect monitor and console of p (process running, sockets in p->dir). */
static int qemu_connect(qemu_drv *drv, domain_obj *dom, qemu_dom *p, bool starting,
                        uint64_t console_base, const char *seed, size_t seed_len)
{
    char *qmp = qemu_path(p, "qmp.sock"), *ser = qemu_path(p, "serial.sock");
    char what[96];
    snprintf(what, sizeof(what), "domain '%s'", dom->def->name);
    int ret = -1;
    int fd = qemu_connect_unix(qmp);
    if (fd < 0)
        goto out;
    if (starting && qemu_wait_greeting(dom, p, fd) < 0) {
        close(fd);
        goto out;
    }
    p->watch = xcalloc(1, sizeof(*p->watch));
    p->watch->drv = drv;
    p->watch->dom = dom;
    p->watch->incarnation = p->incarnation;
    p->mon = qemu_mon_open(fd, what, starting ? QEMU_START_TIMEOUT_MS : QEMU_REATTACH_TIMEOUT_MS,
                           qemu_watch_event, qemu_watch_eof, p->watch);
    if (!p->mon)
        goto out;
    int cfd = qemu_connect_unix(ser);
    if (cfd < 0)
        goto out;
    p->con = qemu_console_open(cfd, what, console_base, seed, seed_len);
    if (!p->con)
        goto out;
    ret = 0;
out:
    free(qmp);
    free(ser);
    return ret;
}

int qemu_process_start(api_ctx *ctx, domain_obj *dom, const qemu_launch *how,
                       const qemu_slots *slots)
{
    qemu_dom *p = NULL;
    if (qemu_process_launch(ctx, dom, how, slots, &p) < 0)
        return -1;
    dom->priv = p;
    return 0;
}

int qemu_process_launch(api_ctx *ctx, domain_obj *dom, const qemu_launch *how,
                        const qemu_slots *slots, qemu_dom **out)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    qemu_dom *p = xcalloc(1, sizeof(*p));
    p->incarnation = qemu_drv_next_incarnation(drv);
    int qmp_fd = -1, ser_fd = -1, log_fd = -1, in_fd = -1;
    char *log = NULL, *serial_log = NULL, *pidfile = NULL, *qmp = NULL, *ser = NULL;
    qemu_strv argv = {0};
    if (slots)
        p->slots = *slots;
    else if (qemu_slots_assign(&p->slots, dom->def) < 0)
        goto fail;
    p->dir = qemu_dom_dir_alt(drv, dom, how->alt_dir);
    if (xend_dir_create(p->dir, 0700) < 0)
        goto fail;
    log = qemu_path(p, "qemu.log");
    serial_log = qemu_path(p, "serial.log");
    pidfile = qemu_path(p, "qemu.pid");
    qmp = qemu_path(p, "qmp.sock");
    ser = qemu_path(p, "serial.sock");
    if ((qmp_fd = qemu_listen_unix(qmp)) < 0 || (ser_fd = qemu_listen_unix(ser)) < 0)
        goto fail;
    log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create %s", log);
        goto fail;
    }
    qmp_fd = qemu_fd_high(qmp_fd);
    ser_fd = qemu_fd_high(ser_fd);
    log_fd = qemu_fd_high(log_fd);
    if (how->incoming_fd >= 0 && (in_fd = fcntl(how->incoming_fd, F_DUPFD_CLOEXEC, 10)) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "dup");
        goto fail;
    }
    if (qmp_fd < 0 || ser_fd < 0 || log_fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot prepare QEMU's descriptors");
        goto fail;
    }
    qemu_argv_opts o = {
        .binary = drv->binary,
        .accel = drv->kvm ? "kvm" : "tcg",
        .qmp_fd = QEMU_CHILD_FD_QMP,
        .serial_fd = QEMU_CHILD_FD_SERIAL,
        .incoming_fd = in_fd >= 0 ? QEMU_CHILD_FD_INCOMING : -1,
        .incoming_defer = how->incoming_defer,
        .serial_log = serial_log,
        .pidfile = pidfile,
        .sandbox = drv->sandbox,
        .runas = drv->runas,
        .slots = &p->slots,
    };
    if (qemu_argv_build(dom->def, &o, &argv) < 0)
        goto fail;
    {
        xbuf cmd;
        xbuf_init(&cmd);
        for (size_t i = 0; i < argv.n; i++)
            xbuf_printf(&cmd, "%s'%s'", i ? " " : "", argv.v[i]);
        log_debug("qemu: starting '%s': %s", dom->def->name, cmd.data);
        xbuf_clear(&cmd);
    }
    p->pid = qemu_spawn(drv, argv.v, log_fd, qmp_fd, ser_fd, in_fd);
    if (p->pid < 0) {
        p->pid = 0;
        goto fail;
    }
    p->is_child = true;
    p->pid_start = qemu_pid_start(p->pid);
    /* QEMU holds the listeners now; ours would answer connections after it died. */
    close(qmp_fd);
    close(ser_fd);
    close(log_fd);
    qmp_fd = ser_fd = log_fd = -1;
    if (in_fd >= 0)
        close(in_fd);
    in_fd = -1;
    domain_obj_unlock(dom);
    int r = qemu_connect(drv, dom, p, true, 0, NULL, 0);
    domain_obj_lock(dom);
    if (r < 0)
        goto fail;
    *out = p;
    qemu_drv_log(drv, "domain '%s' started: QEMU pid %d, %s", dom->def->name, (int)p->pid,
                 drv->kvm ? "KVM" : "TCG");
    qemu_strv_free(&argv);
    free(log);
    free(serial_log);
    free(pidfile);
    free(qmp);
    free(ser);
    return 0;

fail:
    qemu_kill_now(p);
    qemu_dom_free(p);
    qemu_strv_free(&argv);
    for (int *fdp[] = {&qmp_fd, &ser_fd, &log_fd, &in_fd}, i = 0; i < 4; i++)
        if (*fdp[i] >= 0)
            close(*fdp[i]);
    if (qmp)
        unlink(qmp);
    if (ser)
        unlink(ser);
    free(log);
    free(serial_log);
    free(pidfile);
    free(qmp);
    free(ser);
    return -1;
}

static void qemu_remove_runtime_files(const char *dir)
{
    static const char *const names[] = {"qmp.sock", "serial.sock", "qemu.pid"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        unlink(path);
        free(path);
    }
}

void qemu_process_stop(api_ctx *ctx, domain_obj *dom)
{
    qemu_dom *p = dom->priv;
    if (!p)
        return;
    p->quitting = true;
    /* Off the domain first: nothing looks at a process on its way out. */
    dom->priv = NULL;
    qemu_process_stop_detached(ctx, dom, p);
}

void qemu_process_stop_detached(api_ctx *ctx, domain_obj *dom, qemu_dom *p)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    p->quitting = true;
    domain_obj_unlock(dom);
    bool gone = !qemu_pid_alive(p);
    if (!gone && p->mon && qemu_mon_alive(p->mon)) {
        /* EOF after quit is success (the reply can be lost, reference §5). */
        qemu_mon_command(p->mon, "quit", NULL, QEMU_QUIT_WAIT_MS, NULL, NULL);
        xend_error_reset();
        gone = qemu_wait_exit(p, QEMU_QUIT_WAIT_MS);
    }
    if (!gone && p->pid > 0) {
        kill(p->pid, SIGTERM);
        gone = qemu_wait_exit(p, drv->destroy_grace_ms);
    }
    if (!gone && p->pid > 0) {
        log_warn("qemu: QEMU pid %d of '%s' ignored SIGTERM: killing it", (int)p->pid,
                 dom->def->name);
        kill(p->pid, SIGKILL);
        gone = qemu_wait_exit(p, 10000);
        if (!gone)
            log_error("qemu: QEMU pid %d of '%s' does not die", (int)p->pid, dom->def->name);
    }
    qemu_dom_hang_up(p);
    domain_obj_lock(dom);
    qemu_remove_runtime_files(p->dir);
    qemu_dom_free(p);
}

void qemu_process_disconnect(domain_obj *dom, void *opaque)
{
    (void)opaque;
    qemu_dom *p = dom->priv;
    if (!p)
        return;
    qemu_dom_hang_up(p);
    /* An inactive domain with a QEMU is an incoming migration still waiting for its
     * finish: no status file records it, so no daemon would ever find it again. */
    if (!domain_state_is_active(dom->state) && p->pid > 0) {
        log_warn("qemu: discarding the unfinished incoming migration of '%s'", dom->def->name);
        kill(p->pid, SIGKILL);
        qemu_wait_exit(p, 5000);
        qemu_remove_runtime_files(p->dir);
    }
}

void qemu_domain_priv_free(void *priv)
{
    /* The object dies (daemon exit): the guest keeps running for the next daemon. */
    qemu_dom_free(priv);
}

/* ---- status file and re-attach ---- */

static void qemu_status_add(xml_node *parent, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void qemu_status_add(xml_node *parent, const char *name, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    xml_node_new_child(parent, name, text);
}

void qemu_process_status_format(api_ctx *ctx, domain_obj *dom, xml_node *driver_node)
{
    (void)ctx;
    const qemu_dom *p = dom->priv;
    if (!p)
        return;
    char *slots = qemu_slots_format(&p->slots, dom->def);
    qemu_status_add(driver_node, "pid", "%d", (int)p->pid);
    qemu_status_add(driver_node, "pid_start", "%" PRIu64, p->pid_start);
    qemu_status_add(driver_node, "dir", "%s", p->dir);
    qemu_status_add(driver_node, "slots", "%s", slots);
    qemu_status_add(driver_node, "vcpu_unplugged", "%d", p->vcpu_unplugged ? 1 : 0);
    qemu_status_add(driver_node, "cpu_ns_base", "%" PRIu64, p->cpu_ns_base);
    free(slots);
}

static const char *qemu_status_text(const xml_node *driver_node, const char *name)
{
    const xml_node *n = xml_node_child(driver_node, name);
    return n && n->text ? n->text : NULL;
}

/* The newest console bytes from the serial log (QEMU writes every byte there). */
static char *qemu_console_seed(const qemu_dom *p, uint64_t *base, size_t *len)
{
    char *path = qemu_path(p, "serial.log");
    *base = 0;
    *len = 0;
    char *seed = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        uint64_t size = (uint64_t)st.st_size;
        size_t want = size > QEMU_CONSOLE_MAX ? QEMU_CONSOLE_MAX : (size_t)size;
        seed = xcalloc(1, want + 1);
        ssize_t n = pread(fd, seed, want, (off_t)(size - want));
        *len = n > 0 ? (size_t)n : 0;
        *base = size - want;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return seed;
}

int qemu_process_reattach(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    const char *pid_s = qemu_status_text(driver_node, "pid");
    const char *start_s = qemu_status_text(driver_node, "pid_start");
    const char *dir = qemu_status_text(driver_node, "dir");
    const char *slots_s = qemu_status_text(driver_node, "slots");
    if (!pid_s || !start_s || !dir || !slots_s) {
        xend_error_report(XEND_ERR_INTERNAL, "the status file of '%s' lacks QEMU's details",
                          dom->def->name);
        return -1;
    }
    qemu_dom *p = xcalloc(1, sizeof(*p));
    p->incarnation = qemu_drv_next_incarnation(drv);
    p->pid = (pid_t)strtol(pid_s, NULL, 10);
    p->pid_start = strtoull(start_s, NULL, 10);
    /* Either of the guest's two directories (see qemu_dom_dir_alt), nothing else. */
    p->dir = qemu_dom_dir_alt(drv, dom, true);
    if (strcmp(dir, p->dir) != 0) {
        free(p->dir);
        p->dir = qemu_dom_dir(drv, dom);
    }
    const char *unplugged = qemu_status_text(driver_node, "vcpu_unplugged");
    p->vcpu_unplugged = unplugged && strcmp(unplugged, "1") == 0;
    const char *base = qemu_status_text(driver_node, "cpu_ns_base");
    p->cpu_ns_base = base ? strtoull(base, NULL, 10) : 0;
    if (strcmp(dir, p->dir) != 0 || qemu_slots_parse(&p->slots, slots_s) < 0) {
        xend_error_report(XEND_ERR_INTERNAL, "the status file of '%s' does not match its domain",
                          dom->def->name);
        goto fail;
    }
    if (p->pid <= 1 || p->pid_start == 0 || !qemu_pid_alive(p)) {
        xend_error_report(XEND_ERR_HYPERVISOR, "QEMU (pid %s) of '%s' is gone", pid_s,
                          dom->def->name);
        p->pid = 0;
        goto fail;
    }
    uint64_t cbase = 0;
    size_t seed_len = 0;
    char *seed = qemu_console_seed(p, &cbase, &seed_len);
    int r = qemu_connect(drv, dom, p, false, cbase, seed, seed_len);
    free(seed);
    if (r < 0)
        goto fail;
    dom->priv = p;
    /* What happened while no daemon watched (events then are lost): the worker compares
     * QEMU's status with the recorded state, as if QEMU had just reported it. */
    json_object *st = NULL;
    if (qemu_mon_command(p->mon, "query-status", NULL, QEMU_MONITOR_TIMEOUT_MS, &st, NULL) < 0) {
        dom->priv = NULL;
        goto fail;
    }
    qemu_drv_queue_event(drv, dom, p->incarnation, "STATUS", st);
    json_object_put(st);
    qemu_drv_log(drv, "domain '%s' re-attached: QEMU pid %d", dom->def->name, (int)p->pid);
    return 0;
fail:
    /* A QEMU that is ours but cannot be controlled is not left running unseen. */
    if (p->pid > 0 && qemu_pid_alive(p)) {
        log_warn("qemu: stopping the QEMU of '%s' (pid %d) that cannot be re-attached",
                 dom->def->name, (int)p->pid);
        kill(p->pid, SIGTERM);
        if (!qemu_wait_exit(p, drv->destroy_grace_ms))
            kill(p->pid, SIGKILL);
    }
    qemu_remove_runtime_files(p->dir);
    qemu_dom_free(p);
    return -1;
}
