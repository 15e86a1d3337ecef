/*
 * The QEMU/KVM driver's host side: its configuration file (host_config in xend.conf), the
 * probe of the QEMU binary and of the accelerator, node information read from /proc, the
 * host console ring behind node.dmesg, and the event worker thread that acts on what QEMU
 * reports on its own (a guest powering off, rebooting, panicking, a process dying).
 *
 * Why KVM is not trusted on sight: /dev/kvm can come from a nested paravirtual module
 * (kvm_pvm) on which stock kernels hang forever (reference/qemu.md §0). KVM is used only
 * when kvm_intel or kvm_amd is loaded, or when the config forces it; otherwise TCG, and
 * node.info and the log say which and why.
 */
#include "qemu_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/keyfile.h"
#include "util/log.h"
#include "store/domain_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define QEMU_DEFAULT_BINARY "qemu-system-x86_64"
#define QEMU_PROBE_OUTPUT_MAX (256u << 10)
#define QEMU_LOG_RING_MAX (64u << 10)

struct qemu_event {
    qemu_event *next;
    domain_obj *dom; /* a reference */
    uint64_t incarnation;
    char name[32];
    json_object *data; /* a reference or NULL */
};

qemu_drv *qemu_drv_get(api_ctx *ctx)
{
    return api_ctx_driver_priv(ctx);
}

uint64_t qemu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void qemu_drv_log(qemu_drv *drv, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_info("qemu: %s", line);
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    pthread_mutex_lock(&drv->lock);
    xring_printf(&drv->log, "(XEND) [%s] %s\n", stamp, line);
    pthread_mutex_unlock(&drv->lock);
}

uint64_t qemu_drv_next_incarnation(qemu_drv *drv)
{
    pthread_mutex_lock(&drv->lock);
    uint64_t n = ++drv->incarnations;
    pthread_mutex_unlock(&drv->lock);
    return n;
}

/* ---- the event worker ---- */

void qemu_drv_queue_event(qemu_drv *drv, domain_obj *dom, uint64_t incarnation, const char *event,
                          json_object *data)
{
    qemu_event *ev = xcalloc(1, sizeof(*ev));
    domain_obj_ref(dom);
    ev->dom = dom;
    ev->incarnation = incarnation;
    snprintf(ev->name, sizeof(ev->name), "%s", event);
    /* A private copy: json-c reference counts are not atomic, and the monitor keeps its
     * own references to data on its reader thread. */
    ev->data = NULL;
    if (data && json_object_deep_copy(data, &ev->data, NULL) < 0)
        ev->data = NULL;
    pthread_mutex_lock(&drv->lock);
    if (drv->stop) {
        pthread_mutex_unlock(&drv->lock);
        json_object_put(ev->data);
        domain_obj_unref(ev->dom);
        free(ev);
        return;
    }
    if (drv->tail)
        drv->tail->next = ev;
    else
        drv->head = ev;
    drv->tail = ev;
    pthread_cond_signal(&drv->cond);
    pthread_mutex_unlock(&drv->lock);
}

static bool qemu_event_current(domain_obj *dom, uint64_t incarnation)
{
    const qemu_dom *p = dom->priv;
    return !dom->removed && p && p->incarnation == incarnation;
}

static void qemu_event_run(qemu_drv *drv, qemu_event *ev)
{
    domain_obj *dom = ev->dom;
    domain_obj_lock(dom);
    if (qemu_event_current(dom, ev->incarnation)) {
        /* Unbounded wait: a user's job on this domain ends in bounded time (every QMP
         * wait is bounded), and the event must be acted on. Check again afterwards: the
         * job may have stopped this run of the guest. */
        if (domain_obj_begin_job(drv->ctx, dom, "QEMU event", -1) == 0) {
            if (qemu_event_current(dom, ev->incarnation))
                qemu_domain_handle_event(drv->ctx, dom, ev->name, ev->data);
            domain_obj_end_job(dom);
        } else {
            log_warn("qemu: cannot act on %s of '%s': %s", ev->name, dom->def->name,
                     xend_error_last()->message);
        }
    }
    domain_obj_unlock(dom);
}

static void qemu_event_free(qemu_event *ev)
{
    json_object_put(ev->data);
    domain_obj_unref(ev->dom);
    free(ev);
}

static void *qemu_drv_worker(void *arg)
{
    qemu_drv *drv = arg;
    pthread_mutex_lock(&drv->lock);
    while (!drv->stop) {
        qemu_event *ev = drv->head;
        if (!ev) {
            pthread_cond_wait(&drv->cond, &drv->lock);
            continue;
        }
        drv->head = ev->next;
        if (!drv->head)
            drv->tail = NULL;
        pthread_mutex_unlock(&drv->lock);
        qemu_event_run(drv, ev);
        qemu_event_free(ev);
        pthread_mutex_lock(&drv->lock);
    }
    pthread_mutex_unlock(&drv->lock);
    return NULL;
}

/* ---- configuration ---- */

static int qemu_config_uint(const keyfile *kf, const keyfile_entry *e, unsigned min, unsigned max,
                            unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = (e->value[0] >= '0' && e->value[0] <= '9') ? strtoul(e->value, &end, 10) : 0;
    if (!end || *end || errno || v < min || v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: %s must be an integer from %u to %u, not '%.64s'", kf->path,
                          e->line, e->key, min, max, e->value);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

typedef struct {
    char *binary;
    char accel[8];   /* auto kvm tcg */
    char sandbox[8]; /* auto on off */
    char *user;
    unsigned destroy_grace_s;
} qemu_config;

static int qemu_config_choice(const keyfile *kf, const keyfile_entry *e, const char *const *ok,
                              char *out, size_t size)
{
    for (size_t i = 0; ok[i]; i++) {
        if (strcmp(e->value, ok[i]) == 0) {
            snprintf(out, size, "%s", ok[i]);
            return 0;
        }
    }
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: %s must be one of %s|%s|%s, not '%.64s'",
                      kf->path, e->line, e->key, ok[0], ok[1], ok[2], e->value);
    return -1;
}

static int qemu_config_load(qemu_config *cfg, const char *path)
{
    static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
    static const char *const onoff[] = {"auto", "on", "off", NULL};
    keyfile kf;
    if (keyfile_load(&kf, path) < 0)
        return -1;
    int ret = -1;
    for (size_t i = 0; i < kf.n; i++) {
        const keyfile_entry *e = &kf.entries[i];
        if (strcmp(e->key, "binary") == 0) {
            if (e->value[0] != '/') {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "%s:%u: binary must be an absolute path, not '%.200s'", kf.path,
                                  e->line, e->value);
                goto out;
            }
            free(cfg->binary);
            cfg->binary = xstrdup(e->value);
        } else if (strcmp(e->key, "accel") == 0) {
            if (qemu_config_choice(&kf, e, accels, cfg->accel, sizeof(cfg->accel)) < 0)
                goto out;
        } else if (strcmp(e->key, "sandbox") == 0) {
            if (qemu_config_choice(&kf, e, onoff, cfg->sandbox, sizeof(cfg->sandbox)) < 0)
                goto out;
        } else if (strcmp(e->key, "user") == 0) {
            free(cfg->user);
            cfg->user = e->value[0] ? xstrdup(e->value) : NULL;
        } else if (strcmp(e->key, "destroy_grace_s") == 0) {
            if (qemu_config_uint(&kf, e, 1, 600, &cfg->destroy_grace_s) < 0)
                goto out;
        } else {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s:%u: unknown setting '%s' (the qemu driver knows binary, accel, "
                              "sandbox, user, destroy_grace_s)",
                              kf.path, e->line, e->key);
            goto out;
        }
    }
    ret = 0;
out:
    keyfile_clear(&kf);
    return ret;
}

/* ---- probe ---- */

/* The binary named by the config, or qemu-system-x86_64 found in PATH. Caller frees. */
static char *qemu_find_binary(const char *configured)
{
    if (configured) {
        if (access(configured, X_OK) < 0) {
            xend_error_report_errno(XEND_ERR_CONFIG_INVALID, errno,
                                    "qemu driver: cannot run the configured binary %s", configured);
            return NULL;
        }
        return xstrdup(configured);
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0 && n < 4000) {
            char *cand = xasprintf("%.*s/%s", (int)n, p, QEMU_DEFAULT_BINARY);
            if (cand[0] == '/' && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        p += n;
        if (*p == ':')
            p++;
    }
    xend_error_report(XEND_ERR_CONFIG_INVALID,
                      "qemu driver: %s was not found in PATH; install Debian's qemu-system-x86 "
                      "or set binary= in the host config",
                      QEMU_DEFAULT_BINARY);
    return NULL;
}

/* Run `binary arg` and capture its stdout (bounded). Caller frees; NULL reported. */
static char *qemu_probe_output(const char *binary, const char *arg)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "qemu driver: pipe");
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)binary, (char *)arg, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, binary, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (err) {
        close(pfd[0]);
        xend_error_report_errno(XEND_ERR_CONFIG_INVALID, err, "qemu driver: cannot run %s", binary);
        return NULL;
    }
    xbuf out;
    xbuf_init(&out);
    char chunk[4096];
    ssize_t n;
    while ((n = read(pfd[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (out.len + (size_t)n <= QEMU_PROBE_OUTPUT_MAX)
            xbuf_add(&out, chunk, (size_t)n);
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        xbuf_clear(&out);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "qemu driver: `%s %s` failed", binary, arg);
        return NULL;
    }
    return xbuf_steal(&out, NULL);
}

static int qemu_probe_version(qemu_drv *drv)
{
    char *out = qemu_probe_output(drv->binary, "-version");
    if (!out)
        return -1;
    const char *v = strstr(out, "version ");
    int n = v ? sscanf(v, "version %d.%d.%d", &drv->ver[0], &drv->ver[1], &drv->ver[2]) : 0;
    free(out);
    if (n < 2) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "qemu driver: %s -version does not print a QEMU version", drv->binary);
        return -1;
    }
    snprintf(drv->version, sizeof(drv->version), "%d.%d.%d", drv->ver[0], drv->ver[1], drv->ver[2]);
    if (drv->ver[0] < 6) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "qemu driver: QEMU %s is too old (JSON -device needs 6.2 or later)",
                          drv->version);
        return -1;
    }
    return 0;
}

/* Whether a kernel module is loaded (/proc/modules, or /sys/module in containers that
 * hide the former). */
static bool qemu_module_loaded(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/module/%s", name);
    if (access(path, F_OK) == 0)
        return true;
    size_t len = 0;
    char *mods = xend_file_read("/proc/modules", 4u << 20, &len);
    bool found = false;
    if (mods) {
        size_t n = strlen(name);
        for (const char *l = mods; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (strncmp(l, name, n) == 0 && l[n] == ' ')
                found = true;
        free(mods);
    }
    xend_error_reset();
    return found;
}

static void qemu_probe_accel(qemu_drv *drv, const char *want)
{
    bool dev = access("/dev/kvm", R_OK | W_OK) == 0;
    const char *mod = qemu_module_loaded("kvm_intel") ? "kvm_intel"
                      : qemu_module_loaded("kvm_amd") ? "kvm_amd"
                                                      : NULL;
    if (strcmp(want, "tcg") == 0) {
        drv->kvm = false;
        snprintf(drv->accel_why, sizeof(drv->accel_why), "TCG: accel = tcg in the host config");
    } else if (strcmp(want, "kvm") == 0) {
        drv->kvm = true;
        snprintf(drv->accel_why, sizeof(drv->accel_why), "KVM: accel = kvm in the host config%s",
                 dev ? "" : " (but /dev/kvm is not usable)");
    } else if (dev && mod) {
        drv->kvm = true;
        snprintf(drv->accel_why, sizeof(drv->accel_why), "KVM: %s is loaded", mod);
    } else if (dev) {
        drv->kvm = false;
        snprintf(drv->accel_why, sizeof(drv->accel_why),
                 "TCG: /dev/kvm exists but neither kvm_intel nor kvm_amd is loaded%s (a nested "
                 "or paravirtual KVM on which stock kernels can hang)",
                 qemu_module_loaded("kvm_pvm") ? "; it comes from kvm_pvm" : "");
    } else {
        drv->kvm = false;
        snprintf(drv->accel_why, sizeof(drv->accel_why), "TCG: /dev/kvm is not available");
    }
}

/* ---- node info ---- */

static uint64_t qemu_meminfo_kib(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    if (!p)
        return 0;
    p += strlen(key);
    while (*p == ' ' || *p == ':' || *p == '\t')
        p++;
    return strtoull(p, NULL, 10);
}

static int qemu_node_info(void *priv, hv_node_info *out)
{
    qemu_drv *drv = priv;
    memset(out, 0, sizeof(*out));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpus = cpus > 0 ? (unsigned)cpus : 1;
    out->nodes = 1;
    out->sockets = 1;
    out->cores = out->cpus;
    out->threads = 1;
    size_t len = 0;
    char *ci = xend_file_read("/proc/cpuinfo", 8u << 20, &len);
    const char *m = ci ? strstr(ci, "model name") : NULL;
    if (m && (m = strchr(m, ':'))) {
        m++;
        while (*m == ' ')
            m++;
        snprintf(out->model, sizeof(out->model), "%.*s", (int)strcspn(m, "\n"), m);
    } else {
        snprintf(out->model, sizeof(out->model), "unknown");
    }
    const char *mhz = ci ? strstr(ci, "cpu MHz") : NULL;
    if (mhz && (mhz = strchr(mhz, ':')))
        out->mhz = (unsigned)strtod(mhz + 1, NULL);
    free(ci);
    char *mi = xend_file_read("/proc/meminfo", 1u << 20, &len);
    out->memory_kib = qemu_meminfo_kib(mi, "MemTotal");
    out->free_kib = qemu_meminfo_kib(mi, "MemAvailable");
    free(mi);
    xend_error_reset();
    out->host_domain_kib = out->memory_kib > out->free_kib ? out->memory_kib - out->free_kib : 0;
    snprintf(out->hypervisor, sizeof(out->hypervisor), "qemu");
    snprintf(out->hv_version, sizeof(out->hv_version), "%s", drv->version);
    snprintf(out->accel, sizeof(out->accel), "%s", drv->kvm ? "kvm" : "tcg");
    struct utsname un;
    snprintf(out->arch, sizeof(out->arch), "%.15s", uname(&un) == 0 ? un.machine : "x86_64");
    return 0;
}

static char *qemu_node_dmesg(void *priv, bool clear)
{
    qemu_drv *drv = priv;
    xbuf out;
    xbuf_init(&out);
    uint64_t next, start;
    pthread_mutex_lock(&drv->lock);
    xring_read(&drv->log, 0, QEMU_LOG_RING_MAX, &out, &next, &start);
    if (clear)
        xring_discard(&drv->log);
    pthread_mutex_unlock(&drv->lock);
    return xbuf_steal(&out, NULL);
}

/* ---- open / close ---- */

static void qemu_drv_free(qemu_drv *drv)
{
    free(drv->binary);
    free(drv->runas);
    free(drv->dir);
    xring_free(&drv->log);
    pthread_mutex_destroy(&drv->lock);
    pthread_cond_destroy(&drv->cond);
    free(drv);
}

static int qemu_open(api_ctx *ctx, const char *host_config, void **privp)
{
    qemu_config cfg = {.accel = "auto", .sandbox = "auto", .destroy_grace_s = 5};
    if (host_config && qemu_config_load(&cfg, host_config) < 0) {
        free(cfg.binary);
        free(cfg.user);
        return -1;
    }
    qemu_drv *drv = xcalloc(1, sizeof(*drv));
    drv->ctx = ctx;
    pthread_mutex_init(&drv->lock, NULL);
    pthread_cond_init(&drv->cond, NULL);
    xring_init(&drv->log, QEMU_LOG_RING_MAX);
    drv->destroy_grace_ms = cfg.destroy_grace_s * 1000;
    drv->binary = qemu_find_binary(cfg.binary);
    free(cfg.binary);
    /* Only root can switch QEMU to another user; as an ordinary user QEMU runs as us. */
    drv->runas = geteuid() == 0 ? cfg.user : NULL;
    if (geteuid() != 0)
        free(cfg.user);
    if (!drv->binary || qemu_probe_version(drv) < 0) {
        qemu_drv_free(drv);
        return -1;
    }
    qemu_probe_accel(drv, cfg.accel);
    char *help = strcmp(cfg.sandbox, "auto") == 0 ? qemu_probe_output(drv->binary, "-help") : NULL;
    drv->sandbox = strcmp(cfg.sandbox, "on") == 0 || (help && strstr(help, "-sandbox"));
    free(help);
    xend_error_reset();
    drv->dir = xasprintf("%s/qemu", domain_store_run_dir(api_ctx_store(ctx)));
    if (xend_dir_create(drv->dir, 0700) < 0) {
        qemu_drv_free(drv);
        return -1;
    }
    int err = pthread_create(&drv->thread, NULL, qemu_drv_worker, drv);
    if (err) {
        xend_error_report_errno(XEND_ERR_SYSTEM, err, "qemu driver: cannot start its thread");
        qemu_drv_free(drv);
        return -1;
    }
    drv->thread_started = true;
    qemu_drv_log(drv, "QEMU %s (%s); %s; sandbox %s%s%s", drv->version, drv->binary, drv->accel_why,
                 drv->sandbox ? "on" : "off", drv->runas ? "; guests run as " : "",
                 drv->runas ? drv->runas : "");
    *privp = drv;
    return 0;
}

static void qemu_close(void *priv)
{
    qemu_drv *drv = priv;
    if (!drv)
        return;
    if (drv->thread_started) {
        pthread_mutex_lock(&drv->lock);
        drv->stop = true;
        pthread_cond_signal(&drv->cond);
        pthread_mutex_unlock(&drv->lock);
        pthread_join(drv->thread, NULL);
    }
    /* Guests keep running without us; their monitors must not call into a freed driver. */
    api_domain_foreach(drv->ctx, qemu_process_disconnect, NULL);
    while (drv->head) {
        qemu_event *ev = drv->head;
        drv->head = ev->next;
        qemu_event_free(ev);
    }
    qemu_drv_free(drv);
}

static void qemu_domain_status_format(api_ctx *ctx, domain_obj *dom, xml_node *driver_node)
{
    qemu_process_status_format(ctx, dom, driver_node);
}

static int qemu_domain_reattach(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node)
{
    return qemu_process_reattach(ctx, dom, driver_node);
}

const hv_driver hv_qemu_driver = {
    .name = "qemu",
    .open = qemu_open,
    .close = qemu_close,
    .node_info = qemu_node_info,
    .node_dmesg = qemu_node_dmesg,
    .domain_start = qemu_domain_start,
    .domain_shutdown = qemu_domain_shutdown,
    .domain_destroy = qemu_domain_destroy,
    .domain_pause = qemu_domain_pause,
    .domain_unpause = qemu_domain_unpause,
    .domain_save = qemu_domain_save,
    .save_image_def = qemu_save_image_def,
    .domain_set_memory = qemu_domain_set_memory,
    .domain_set_vcpus = qemu_domain_set_vcpus,
    .domain_vcpu_info = qemu_domain_vcpu_info,
    .domain_pin_vcpu = qemu_domain_pin_vcpu,
    .domain_attach_disk = qemu_domain_attach_disk,
    .domain_detach_disk = qemu_domain_detach_disk,
    .domain_attach_nic = qemu_domain_attach_nic,
    .domain_detach_nic = qemu_domain_detach_nic,
    .domain_console_read = qemu_domain_console_read,
    .domain_console_write = qemu_domain_console_write,
    .domain_sysrq = qemu_domain_sysrq,
    .domain_stats = qemu_domain_stats,
    .domain_cpu_time = qemu_domain_cpu_time,
    .domain_migrate = qemu_domain_migrate,
    .domain_relocate = qemu_domain_relocate,
    .domain_migrate_prepare = qemu_domain_migrate_prepare,
    .domain_migrate_finish = qemu_domain_migrate_finish,
    .domain_status_format = qemu_domain_status_format,
    .domain_reattach = qemu_domain_reattach,
    .domain_priv_free = qemu_domain_priv_free,
};
