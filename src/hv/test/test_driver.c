/*
 * The simulated host ("test" driver): a hypervisor that exists only in memory, so the
 * whole API (lifecycle, save/restore, migration, hot-plug, consoles, restart of the
 * daemon) can be used and tested on any machine. This file is the host itself: its
 * configuration file, node information, the Xen-style host console (node.dmesg), the
 * memory every running guest takes from it, and the one timer thread that completes
 * asynchronous work (a guest shutting down some time after it was asked to). The guests
 * live in test_driver_domain.c and test_driver_live.c; see test_driver_priv.h for the map
 * and the lock order.
 */
#include "test_driver_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/keyfile.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

struct test_drv_timer {
    test_drv_timer *next;
    domain_obj *dom;      /* a reference, dropped by the timer thread */
    uint64_t incarnation; /* which run of the guest it is for */
    uint64_t seq;         /* which shutdown request of that run */
    uint64_t due_ns;      /* CLOCK_MONOTONIC */
    bool cancelled;
};

test_drv *test_drv_get(api_ctx *ctx)
{
    return api_ctx_driver_priv(ctx);
}

uint64_t test_drv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t test_drv_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- host configuration ---- */

static int test_drv_config_uint(const keyfile *kf, const keyfile_entry *e, uint64_t min,
                                uint64_t max, uint64_t *out)
{
    const char *s = e->value;
    char *end = NULL;
    errno = 0;
    unsigned long long v = (*s >= '0' && *s <= '9') ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno || v < min || v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: %s must be an integer from %" PRIu64 " to %" PRIu64
                          ", not '%.64s'",
                          kf->path, e->line, e->key, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int test_drv_config_text(const keyfile *kf, const keyfile_entry *e, size_t max)
{
    size_t len = strlen(e->value);
    if (len == 0 || len > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: %s must be 1 to %zu characters",
                          kf->path, e->line, e->key, max);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)e->value[i] < 0x20 || e->value[i] == 0x7f) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: %s contains a control character",
                              kf->path, e->line, e->key);
            return -1;
        }
    }
    return 0;
}

static int test_drv_config_load(test_drv *drv, const char *path)
{
    keyfile kf;
    if (keyfile_load(&kf, path) < 0)
        return -1;
    const keyfile_entry *host_line = NULL, *memory_line = NULL;
    uint64_t memory_mib = drv->memory_kib / 1024, host_mib = drv->host_domain_kib / 1024;
    int ret = -1;
    for (size_t i = 0; i < kf.n; i++) {
        const keyfile_entry *e = &kf.entries[i];
        uint64_t v;
        if (strcmp(e->key, "cpus") == 0) {
            if (test_drv_config_uint(&kf, e, 1, TEST_DRV_CPUS_MAX, &v) < 0)
                goto out;
            drv->cpus = (unsigned)v;
        } else if (strcmp(e->key, "memory_mib") == 0) {
            if (test_drv_config_uint(&kf, e, 64, DOMAIN_MEMORY_MAX_KIB / 1024, &v) < 0)
                goto out;
            memory_mib = v;
            memory_line = e;
        } else if (strcmp(e->key, "host_domain_mib") == 0) {
            if (test_drv_config_uint(&kf, e, 0, DOMAIN_MEMORY_MAX_KIB / 1024, &v) < 0)
                goto out;
            host_mib = v;
            host_line = e;
        } else if (strcmp(e->key, "mhz") == 0) {
            if (test_drv_config_uint(&kf, e, 1, 1000000, &v) < 0)
                goto out;
            drv->mhz = (unsigned)v;
        } else if (strcmp(e->key, "model") == 0) {
            if (test_drv_config_text(&kf, e, sizeof(drv->model) - 1) < 0)
                goto out;
            snprintf(drv->model, sizeof(drv->model), "%s", e->value);
        } else if (strcmp(e->key, "shutdown_ms") == 0) {
            if (test_drv_config_uint(&kf, e, 0, 3600000, &v) < 0)
                goto out;
            drv->shutdown_ms = (unsigned)v;
        } else if (strcmp(e->key, "reboot_ms") == 0) {
            if (test_drv_config_uint(&kf, e, 0, 3600000, &v) < 0)
                goto out;
            drv->reboot_ms = (unsigned)v;
        } else if (strcmp(e->key, "save_ms_per_gib") == 0) {
            if (test_drv_config_uint(&kf, e, 0, 600000, &v) < 0)
                goto out;
            drv->save_ms_per_gib = (unsigned)v;
        } else if (strcmp(e->key, "guest_min_mib") == 0) {
            if (test_drv_config_uint(&kf, e, 0, DOMAIN_MEMORY_MAX_KIB / 1024, &v) < 0)
                goto out;
            drv->guest_min_mib = (unsigned)v;
        } else if (strcmp(e->key, "boot_console") == 0) {
            if (test_drv_config_text(&kf, e, 256) < 0)
                goto out;
            free(drv->boot_console);
            drv->boot_console = xstrdup(e->value);
        } else {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s:%u: unknown key '%s' (known: cpus, memory_mib, "
                              "host_domain_mib, mhz, model, shutdown_ms, reboot_ms, "
                              "save_ms_per_gib, guest_min_mib, boot_console)",
                              kf.path, e->line, e->key);
            goto out;
        }
    }
    if (host_mib >= memory_mib) {
        const keyfile_entry *e = host_line ? host_line : memory_line;
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: host_domain_mib (%" PRIu64
                          ") must be less than memory_mib (%" PRIu64 ")",
                          kf.path, e ? e->line : 0, host_mib, memory_mib);
        goto out;
    }
    drv->memory_kib = memory_mib * 1024;
    drv->host_domain_kib = host_mib * 1024;
    ret = 0;
out:
    keyfile_clear(&kf);
    return ret;
}

/* ---- host console ---- */

static void test_drv_dmesg_locked(test_drv *drv, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    xring_printf(&drv->dmesg, "(XEN) %s\n", line);
}

void test_drv_dmesg(test_drv *drv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&drv->lock);
    test_drv_dmesg_locked(drv, fmt, ap);
    pthread_mutex_unlock(&drv->lock);
    va_end(ap);
}

static void test_drv_dmesg_banner(test_drv *drv)
{
    test_drv_dmesg(drv, "Xen version %s (xend@simulated) (simulated host) debug=n", XEND_VERSION);
    test_drv_dmesg(drv, "Command line: dom0_mem=%" PRIu64 "M", drv->host_domain_kib / 1024);
    test_drv_dmesg(drv, "CPU: %s, %u CPUs at %u MHz", drv->model, drv->cpus, drv->mhz);
    test_drv_dmesg(drv, "System RAM: %" PRIu64 " MiB (Domain-0: %" PRIu64 " MiB)",
                   drv->memory_kib / 1024, drv->host_domain_kib / 1024);
    test_drv_dmesg(drv, "Using scheduler: SMP Credit Scheduler (credit)");
    if (drv->boot_console)
        test_drv_dmesg(drv, "%s", drv->boot_console);
    test_drv_dmesg(drv, "*** LOADING DOMAIN 0 ***");
    test_drv_dmesg(drv, "Xen is relinquishing VGA console.");
}

static char *test_drv_node_dmesg(void *priv, bool clear)
{
    test_drv *drv = priv;
    xbuf out = XBUF_INIT;
    pthread_mutex_lock(&drv->lock);
    xring_read(&drv->dmesg, 0, TEST_DRV_RING_MAX, &out, NULL, NULL);
    if (clear)
        xring_discard(&drv->dmesg);
    pthread_mutex_unlock(&drv->lock);
    return xbuf_steal(&out, NULL);
}

/* ---- memory ---- */

static uint64_t test_drv_free_kib_locked(const test_drv *drv)
{
    uint64_t avail = drv->memory_kib - drv->host_domain_kib;
    return drv->used_kib < avail ? avail - drv->used_kib : 0;
}

int test_drv_mem_reserve(test_drv *drv, uint64_t kib, const char *verb, const char *name)
{
    pthread_mutex_lock(&drv->lock);
    uint64_t free_kib = test_drv_free_kib_locked(drv);
    if (kib > free_kib) {
        pthread_mutex_unlock(&drv->lock);
        xend_error_report(XEND_ERR_INSUFFICIENT_MEMORY,
                          "cannot %s '%s': needs %" PRIu64 " MiB, %" PRIu64 " MiB free", verb, name,
                          (kib + 1023) / 1024, free_kib / 1024);
        return -1;
    }
    drv->used_kib += kib;
    pthread_mutex_unlock(&drv->lock);
    return 0;
}

void test_drv_mem_release(test_drv *drv, uint64_t kib)
{
    pthread_mutex_lock(&drv->lock);
    drv->used_kib = kib < drv->used_kib ? drv->used_kib - kib : 0;
    pthread_mutex_unlock(&drv->lock);
}

uint64_t test_drv_incarnation_next(test_drv *drv)
{
    pthread_mutex_lock(&drv->lock);
    uint64_t n = ++drv->next_incarnation;
    pthread_mutex_unlock(&drv->lock);
    return n;
}

uint64_t test_drv_host_cpu_ns(const test_drv *drv, uint64_t now)
{
    /* Domain-0 idles at 1% of each host CPU: enough to show it is alive. */
    return (now - drv->open_ns) / 100 * drv->cpus;
}

static int test_drv_node_info(void *priv, hv_node_info *out)
{
    test_drv *drv = priv;
    memset(out, 0, sizeof(*out));
    snprintf(out->model, sizeof(out->model), "%s", drv->model);
    out->cpus = drv->cpus;
    out->mhz = drv->mhz;
    out->nodes = 1;
    out->sockets = 1;
    out->cores = drv->cpus;
    out->threads = 1;
    out->memory_kib = drv->memory_kib;
    out->host_domain_kib = drv->host_domain_kib;
    pthread_mutex_lock(&drv->lock);
    out->free_kib = test_drv_free_kib_locked(drv);
    pthread_mutex_unlock(&drv->lock);
    snprintf(out->hypervisor, sizeof(out->hypervisor), "simulated");
    snprintf(out->hv_version, sizeof(out->hv_version), "%s", XEND_VERSION);
    snprintf(out->accel, sizeof(out->accel), "sim");
    snprintf(out->arch, sizeof(out->arch), "%s", drv->arch);
    return 0;
}

/* ---- timers ---- */

void test_drv_timer_add(test_drv *drv, domain_obj *dom, uint64_t incarnation, uint64_t seq,
                        uint64_t due_ns)
{
    test_drv_timer *t = xcalloc(1, sizeof(*t));
    domain_obj_ref(dom);
    t->dom = dom;
    t->incarnation = incarnation;
    t->seq = seq;
    t->due_ns = due_ns;
    pthread_mutex_lock(&drv->lock);
    test_drv_timer **pp = &drv->timers;
    while (*pp && (*pp)->due_ns <= due_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    pthread_cond_signal(&drv->cond);
    pthread_mutex_unlock(&drv->lock);
}

void test_drv_timer_cancel(test_drv *drv, uint64_t incarnation)
{
    bool any = false;
    pthread_mutex_lock(&drv->lock);
    for (test_drv_timer *t = drv->timers; t; t = t->next) {
        if (t->incarnation == incarnation && !t->cancelled) {
            t->cancelled = true;
            any = true;
        }
    }
    /* The timer thread drops the references: the caller holds an object lock, and an
     * unref must not run under one. */
    if (any)
        pthread_cond_signal(&drv->cond);
    pthread_mutex_unlock(&drv->lock);
}

static test_drv_timer *test_drv_timer_take_cancelled(test_drv *drv)
{
    test_drv_timer *dead = NULL;
    test_drv_timer **pp = &drv->timers;
    while (*pp) {
        test_drv_timer *t = *pp;
        if (t->cancelled) {
            *pp = t->next;
            t->next = dead;
            dead = t;
        } else {
            pp = &t->next;
        }
    }
    return dead;
}

static void test_drv_timer_free_list(test_drv_timer *t)
{
    while (t) {
        test_drv_timer *next = t->next;
        domain_obj_unref(t->dom);
        free(t);
        t = next;
    }
}

static void *test_drv_timer_main(void *opaque)
{
    test_drv *drv = opaque;
    pthread_mutex_lock(&drv->lock);
    while (!drv->stop) {
        test_drv_timer *dead = test_drv_timer_take_cancelled(drv);
        if (dead) {
            pthread_mutex_unlock(&drv->lock);
            test_drv_timer_free_list(dead);
            pthread_mutex_lock(&drv->lock);
            continue;
        }
        test_drv_timer *t = drv->timers;
        if (!t) {
            pthread_cond_wait(&drv->cond, &drv->lock);
            continue;
        }
        if (t->due_ns > test_drv_now_ns()) {
            struct timespec until = {(time_t)(t->due_ns / 1000000000u),
                                     (long)(t->due_ns % 1000000000u)};
            pthread_cond_timedwait(&drv->cond, &drv->lock, &until);
            continue;
        }
        drv->timers = t->next;
        pthread_mutex_unlock(&drv->lock);
        test_drv_timer_fire(drv, t->dom, t->incarnation, t->seq);
        xend_error_reset();
        domain_obj_unref(t->dom);
        free(t);
        pthread_mutex_lock(&drv->lock);
    }
    pthread_mutex_unlock(&drv->lock);
    return NULL;
}

/* ---- open / close ---- */

static void test_drv_free(test_drv *drv)
{
    test_drv_timer_free_list(drv->timers);
    xring_free(&drv->dmesg);
    xhash_free(drv->boot_panics);
    pthread_cond_destroy(&drv->cond);
    pthread_mutex_destroy(&drv->lock);
    free(drv->boot_console);
    free(drv);
}

static int test_drv_open(api_ctx *ctx, const char *host_config, void **privp)
{
    test_drv *drv = xcalloc(1, sizeof(*drv));
    drv->ctx = ctx;
    drv->cpus = 4;
    drv->memory_kib = 16384ull * 1024;
    drv->host_domain_kib = 1024ull * 1024;
    drv->mhz = 2400;
    snprintf(drv->model, sizeof(drv->model), "Simulated CPU");
    drv->shutdown_ms = 300;
    drv->reboot_ms = 300;
    drv->save_ms_per_gib = 200;
    /* What a small Linux guest needs to reach userspace (xm-test's smallmem cases boot
     * 32 MiB and expect 16 MiB to fail). */
    drv->guest_min_mib = 24;
    drv->boot_panics = xhash_new();
    drv->open_ns = test_drv_now_ns();
    struct utsname un;
    snprintf(drv->arch, sizeof(drv->arch), "%.15s", uname(&un) == 0 ? un.machine : "x86_64");
    pthread_mutex_init(&drv->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&drv->cond, &ca);
    pthread_condattr_destroy(&ca);
    xring_init(&drv->dmesg, TEST_DRV_RING_MAX);

    if (host_config && test_drv_config_load(drv, host_config) < 0) {
        test_drv_free(drv);
        return -1;
    }
    test_drv_dmesg_banner(drv);
    int err = pthread_create(&drv->thread, NULL, test_drv_timer_main, drv);
    if (err) {
        xend_error_report_errno(XEND_ERR_SYSTEM, err,
                                "cannot start the simulated host's timer thread");
        test_drv_free(drv);
        return -1;
    }
    drv->thread_started = true;
    log_info("simulated host: %u CPUs, %" PRIu64 " MiB (%" PRIu64 " MiB for Domain-0)", drv->cpus,
             drv->memory_kib / 1024, drv->host_domain_kib / 1024);
    *privp = drv;
    return 0;
}

static void test_drv_close(void *priv)
{
    test_drv *drv = priv;
    if (!drv)
        return;
    if (drv->thread_started) {
        pthread_mutex_lock(&drv->lock);
        drv->stop = true;
        pthread_cond_signal(&drv->cond);
        pthread_mutex_unlock(&drv->lock);
        pthread_join(drv->thread, NULL);
    }
    test_drv_free(drv);
}

const hv_driver hv_test_driver = {
    .name = "test",
    .open = test_drv_open,
    .close = test_drv_close,
    .node_info = test_drv_node_info,
    .node_dmesg = test_drv_node_dmesg,
    .domain_start = test_drv_domain_start,
    .domain_shutdown = test_drv_domain_shutdown,
    .domain_destroy = test_drv_domain_destroy,
    .domain_pause = test_drv_domain_pause,
    .domain_unpause = test_drv_domain_unpause,
    .domain_save = test_drv_domain_save,
    .save_image_def = test_drv_save_image_def,
    .domain_set_memory = test_drv_domain_set_memory,
    .domain_set_vcpus = test_drv_domain_set_vcpus,
    .domain_vcpu_info = test_drv_domain_vcpu_info,
    .domain_pin_vcpu = test_drv_domain_pin_vcpu,
    .domain_attach_disk = test_drv_domain_attach_disk,
    .domain_detach_disk = test_drv_domain_detach_disk,
    .domain_attach_nic = test_drv_domain_attach_nic,
    .domain_detach_nic = test_drv_domain_detach_nic,
    .domain_console_read = test_drv_domain_console_read,
    .domain_console_write = test_drv_domain_console_write,
    .domain_sysrq = test_drv_domain_sysrq,
    .domain_stats = test_drv_domain_stats,
    .domain_cpu_time = test_drv_domain_cpu_time,
    .domain_migrate = test_drv_domain_migrate,
    .domain_migrate_incoming = test_drv_domain_migrate_incoming,
    .domain_relocate = test_drv_domain_relocate,
    .domain_status_format = test_drv_domain_status_format,
    .domain_reattach = test_drv_domain_reattach,
    .domain_priv_free = test_drv_domain_priv_free,
};
