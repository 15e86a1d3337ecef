/*
 * Simulated guests, lifecycle: boot, restore from a save image, incoming migration, the
 * clean shutdown/reboot that completes later on the timer thread, destroy, pause, save,
 * outgoing migration, a crash, and the status file that lets a restarted daemon pick a
 * running guest up where it was. A guest is a test_drv_dom in dom->priv while it runs:
 * per-vCPU cpu time and I/O counters that advance with wall time while its clock runs,
 * a console ring, its balloon charged to the host's memory.
 *
 * State changes and the lifecycle events they post (event, detail), as libvirt names them:
 *   boot                     RUNNING/BOOTED          started/booted
 *     ... started paused     then PAUSED/STARTING_UP suspended/paused
 *   restore                  RUNNING/RESTORED        started/restored
 *     ... started paused     then PAUSED/USER        suspended/restored
 *   incoming migration       RUNNING/MIGRATED        started/migrated
 *     ... started paused     then PAUSED/MIGRATION   suspended/migrated
 *   shutdown/reboot request  SHUTDOWN/USER           shutdown/poweroff|reboot|halt
 *                            (a paused guest stays PAUSED and acts once unpaused)
 *   poweroff/halt completes  event shutdown/finished, then api_domain_stopped(SHUTDOWN)
 *   reboot completes         RUNNING/REBOOTED        rebooted/""   (also sysrq b)
 *     on_reboot=destroy      api_domain_stopped_final(SHUTDOWN)
 *     on_reboot=preserve     SHUTDOWN/USER, guest stopped, kept until destroyed
 *   pause / unpause          PAUSED/USER suspended/paused; RUNNING/UNPAUSED resumed/unpaused
 *   save of a running guest  PAUSED/SAVE suspended/paused; if it fails or is aborted, the
 *                            state it had before with resumed/unpaused
 *   offline migration        PAUSED/MIGRATION suspended/migrated; on failure as for save
 *   crash (sysrq c)          CRASHED/PANICKED crashed/panicked, then api_domain_stopped
 *                            (CRASHED), which applies on_crash (for preserve the API keeps
 *                            it CRASHED and posts crashed/panicked itself, so the driver
 *                            does not post it first)
 *   destroy / save / migrate api_domain_stopped(DESTROYED / SAVED / MIGRATED)
 *   migration to this daemon the guest's state is serialised as for a migration and loaded
 *                            into a new instance (same domain object): "migrated"/
 *                            "relocated" with the old id (api_domain_relocated), then as an
 *                            incoming migration with the new id
 *   boot with less memory    no userspace: TEST_DRV_BOOT_PANIC_MS later the kernel panics
 *   than guest_min_mib       (out of memory) and spins; TEST_DRV_BOOT_PANIC_HANG_MS later a
 *                            crash as above; on_crash=restart boots it again, at most
 *                            TEST_DRV_BOOT_PANIC_RESTARTS times in a row before it stays
 *                            down (api_domain_stopped_final: shutoff/crashed)
 */
#include "test_driver_priv.h"

#include "conf/domain_conf.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An online vCPU of a running guest uses 1/50 (2%) of wall time: visible, never busy. */
#define TEST_DRV_CPU_SHARE 50
/* How long each sleep of a simulated transfer lasts, at most: bounds the delay of
 * job_abort and of readers waiting for the object lock. */
#define TEST_DRV_JOB_STEP_MS 50
/* Console bytes kept in the status file (save images and migrations carry the whole ring). */
#define TEST_DRV_STATUS_CONSOLE (16u << 10)
/* A guest booted with too little memory panics this long after its kernel starts, and
 * its crash is reported this long after that (while the kernel spins, the panic can be
 * read on its console). */
#define TEST_DRV_BOOT_PANIC_MS 200
#define TEST_DRV_BOOT_PANIC_HANG_MS 1000
/* Restarts (on_crash=restart) of a guest that keeps panicking at boot before it is left
 * down: Xend refused to restart a domain "restarting too fast" for the same reason. */
#define TEST_DRV_BOOT_PANIC_RESTARTS 3

typedef enum { LAUNCH_BOOT, LAUNCH_RESTORE, LAUNCH_MIGRATE, LAUNCH_RELOCATE } test_drv_launch;

/* ---- counters ---- */

/* Per-device rates while the guest runs, per second: reads and writes per disk, traffic
 * per NIC. Enough for `xm top`-style figures to move. */
static const struct {
    uint64_t per_sec;
    bool per_nic;
} io_rates[TEST_DRV_IO_LAST] = {
    [TEST_DRV_IO_RD_BYTES] = {49152, false}, [TEST_DRV_IO_WR_BYTES] = {16384, false},
    [TEST_DRV_IO_RD_REQS] = {12, false},     [TEST_DRV_IO_WR_REQS] = {4, false},
    [TEST_DRV_IO_RX_BYTES] = {8192, true},   [TEST_DRV_IO_TX_BYTES] = {2048, true},
    [TEST_DRV_IO_RX_PACKETS] = {16, true},   [TEST_DRV_IO_TX_PACKETS] = {8, true},
};

static uint64_t test_drv_dom_elapsed(const test_drv_dom *p, uint64_t now)
{
    return p->clock_running && now > p->since_ns ? now - p->since_ns : 0;
}

void test_drv_dom_io(const test_drv_dom *p, const domain_def *def, uint64_t now,
                     uint64_t io[TEST_DRV_IO_LAST])
{
    uint64_t ms = test_drv_dom_elapsed(p, now) / 1000000u;
    for (int i = 0; i < TEST_DRV_IO_LAST; i++) {
        uint64_t devs = io_rates[i].per_nic ? def->nnics : def->ndisks;
        uint64_t r = io_rates[i].per_sec * devs;
        io[i] = p->io[i] + ms / 1000 * r + ms % 1000 * r / 1000;
    }
}

uint64_t test_drv_dom_cpu_ns(const test_drv_dom *p, uint64_t now)
{
    return p->cpu_ns + test_drv_dom_elapsed(p, now) / TEST_DRV_CPU_SHARE * p->online;
}

uint64_t test_drv_dom_vcpu_ns(const test_drv_dom *p, unsigned vcpu, uint64_t now)
{
    uint64_t ns = p->vcpu_ns[vcpu];
    if (vcpu < p->online)
        ns += test_drv_dom_elapsed(p, now) / TEST_DRV_CPU_SHARE;
    return ns;
}

void test_drv_dom_settle(test_drv_dom *p, const domain_def *def, uint64_t now)
{
    uint64_t io[TEST_DRV_IO_LAST];
    test_drv_dom_io(p, def, now, io);
    memcpy(p->io, io, sizeof(io));
    uint64_t d = test_drv_dom_elapsed(p, now) / TEST_DRV_CPU_SHARE;
    for (unsigned i = 0; i < p->online; i++)
        p->vcpu_ns[i] += d;
    p->cpu_ns += d * p->online;
    p->since_ns = now;
}

void test_drv_dom_clock(test_drv_dom *p, const domain_def *def, bool running)
{
    test_drv_dom_settle(p, def, test_drv_now_ns());
    p->clock_running = running;
}

/* ---- the guest console ---- */

static uint64_t test_drv_dom_uptime(const test_drv_dom *p, uint64_t now)
{
    return p->uptime_base_ns + (now - p->boot_ns);
}

static void test_drv_dom_vklog(test_drv_dom *p, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    uint64_t t = test_drv_dom_uptime(p, test_drv_now_ns());
    xring_printf(&p->console, "[%5" PRIu64 ".%06" PRIu64 "] %s\n", t / 1000000000u,
                         t % 1000000000u / 1000u, text);
}

void test_drv_dom_klog(test_drv_dom *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test_drv_dom_vklog(p, fmt, ap);
    va_end(ap);
}

/* Consecutive boot panics of dom, for the restart bound: counts this one and tells whether
 * on_crash=restart must give up now. Forgets the count when no restart follows. */
static bool test_drv_boot_panic_final(test_drv *drv, const domain_obj *dom, bool restart)
{
    char key[37];
    domain_uuid_format(dom->def->uuid, key);
    pthread_mutex_lock(&drv->lock);
    uintptr_t n = (uintptr_t)xhash_get(drv->boot_panics, key) + 1;
    bool final = restart && n > TEST_DRV_BOOT_PANIC_RESTARTS;
    if (!restart || final)
        xhash_remove(drv->boot_panics, key);
    else
        xhash_set(drv->boot_panics, key, (void *)n);
    pthread_mutex_unlock(&drv->lock);
    return final;
}

/* The guest came up (or was destroyed): a later boot panic starts a new count. */
static void test_drv_boot_panic_forget(test_drv *drv, const domain_obj *dom)
{
    char key[37];
    domain_uuid_format(dom->def->uuid, key);
    pthread_mutex_lock(&drv->lock);
    xhash_remove(drv->boot_panics, key);
    pthread_mutex_unlock(&drv->lock);
}

void test_drv_dom_boot(test_drv *drv, domain_obj *dom, test_drv_dom *p)
{
    const domain_def *def = dom->def;
    test_drv_dom_klog(p, "Linux version 6.1.0-xend-sim (xend@simulated) (gcc 12.2.0) #1 SMP "
                         "PREEMPT_DYNAMIC");
    test_drv_dom_klog(p, "Command line: %.400s",
                      def->os.cmdline ? def->os.cmdline : "root=/dev/vda1 console=ttyS0");
    test_drv_dom_klog(p, "Booting '%s' with %u vCPUs and %" PRIu64 " MiB", def->name, p->online,
                      p->charged_kib / 1024);
    test_drv_dom_klog(p, "smp: Brought up 1 node, %u CPUs", p->online);
    test_drv_dom_klog(p, "Memory: %" PRIu64 "K/%" PRIu64 "K available", p->charged_kib,
                      def->memory_kib);
    for (size_t i = 0; i < def->ndisks; i++)
        test_drv_dom_klog(p, "blkfront: %s: %s%s", def->disks[i].target,
                          def->disks[i].source ? def->disks[i].source : "(no medium)",
                          def->disks[i].readonly ? " (read-only)" : "");
    for (size_t i = 0; i < def->nnics; i++) {
        char mac[18];
        domain_mac_format(def->nics[i].mac, mac);
        test_drv_dom_klog(p, "eth%zu: %s NIC, MAC %s", i,
                          def->nics[i].model ? def->nics[i].model : "virtio", mac);
    }
    test_drv_dom_klog(p, "Run /sbin/init as init process");
    p->boot_panic_ns = 0;
    p->boot_panicked = false;
    if (drv->guest_min_mib && p->charged_kib < (uint64_t)drv->guest_min_mib * 1024) {
        /* init cannot even be paged in: the kernel runs out of memory before a shell
         * exists, so nothing answers the console until it panics. */
        p->boot_panic_ns = test_drv_dom_uptime(p, test_drv_now_ns()) +
                           (uint64_t)TEST_DRV_BOOT_PANIC_MS * 1000000u;
        test_drv_dom_panic_arm(drv, dom, p);
        return;
    }
    test_drv_boot_panic_forget(drv, dom);
    xring_printf(&p->console, "\nWelcome to xend simulated Linux 6.1.0!\n\n%s login: \n",
                         def->name);
}

void test_drv_dom_panic_arm(test_drv *drv, domain_obj *dom, test_drv_dom *p)
{
    if (!p->boot_panic_ns || !p->clock_running)
        return;
    uint64_t now = test_drv_now_ns(), up = test_drv_dom_uptime(p, now);
    uint64_t left = p->boot_panic_ns > up ? p->boot_panic_ns - up : 0;
    test_drv_timer_add(drv, dom, p->incarnation, TEST_DRV_TIMER_PANIC, now + left);
}

/* ---- guest objects ---- */

test_drv_dom *test_drv_dom_get(domain_obj *dom)
{
    if (!dom->priv) {
        xend_error_report(XEND_ERR_OPERATION_INVALID, "domain '%s' is not running", dom->def->name);
        return NULL;
    }
    return dom->priv;
}

void test_drv_domain_priv_free(void *priv)
{
    test_drv_dom *p = priv;
    if (!p)
        return;
    free(p->vcpu_ns);
    free(p->affinity);
    xring_free(&p->console);
    test_drv_shell_clear(&p->shell);
    free(p);
}

static test_drv_dom *test_drv_dom_new(test_drv *drv, unsigned nvcpus)
{
    test_drv_dom *p = xcalloc(1, sizeof(*p));
    p->incarnation = test_drv_incarnation_next(drv);
    p->nvcpus = nvcpus;
    p->vcpu_ns = xcalloc(nvcpus, sizeof(*p->vcpu_ns));
    p->affinity = xcalloc(nvcpus, sizeof(*p->affinity));
    xring_init(&p->console, TEST_DRV_RING_MAX);
    p->since_ns = p->boot_ns = test_drv_now_ns();
    return p;
}

/* Keep only CPUs the host has; false if none is left. */
static bool test_drv_affinity_mask(uint8_t aff[TEST_DRV_AFFINITY_BYTES], unsigned cpus)
{
    bool any = false;
    for (unsigned bit = 0; bit < TEST_DRV_CPUS_MAX; bit++) {
        if (bit >= cpus)
            aff[bit / 8] &= (uint8_t) ~(1u << (bit % 8));
        else if (aff[bit / 8] & (1u << (bit % 8)))
            any = true;
    }
    return any;
}

/* The default affinity of every vCPU: def's cpuset, or all host CPUs. */
static int test_drv_dom_cpuset(const test_drv *drv, const domain_def *def,
                               uint8_t out[TEST_DRV_AFFINITY_BYTES])
{
    memset(out, 0, TEST_DRV_AFFINITY_BYTES);
    if (!def->cpuset) {
        for (unsigned i = 0; i < drv->cpus; i++)
            out[i / 8] |= (uint8_t)(1u << (i % 8));
        return 0;
    }
    if (domain_cpulist_parse(def->cpuset, TEST_DRV_CPUS_MAX, out) < 0)
        return -1;
    if (!test_drv_affinity_mask(out, drv->cpus)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "cpuset '%s' of '%s' names no CPU of this host (it has %u CPUs)",
                          def->cpuset, def->name, drv->cpus);
        return -1;
    }
    return 0;
}

/* A snapshot of the running guest. for_status: for the status file, which is rewritten at
 * every change: include a pending shutdown (a restored or migrated guest starts afresh)
 * and only the console's newest TEST_DRV_STATUS_CONSOLE bytes, to keep each write small.
 * st is cleared first. */
static void test_drv_dom_snapshot(const test_drv_dom *p, const domain_def *def, bool for_status,
                                  test_drv_state *st)
{
    uint64_t now = test_drv_now_ns();
    memset(st, 0, sizeof(*st));
    test_drv_state_vcpus(st, p->nvcpus);
    for (unsigned i = 0; i < p->nvcpus; i++) {
        st->vcpu_ns[i] = test_drv_dom_vcpu_ns(p, i, now);
        memcpy(st->affinity[i], p->affinity[i], TEST_DRV_AFFINITY_BYTES);
    }
    st->vcpus_online = p->online;
    st->balloon_kib = p->charged_kib;
    test_drv_dom_io(p, def, now, st->io);
    size_t skip = for_status && p->console.len > TEST_DRV_STATUS_CONSOLE
                      ? p->console.len - TEST_DRV_STATUS_CONSOLE
                      : 0;
    st->console_base = p->console.base + skip;
    st->console_len = p->console.len - skip;
    st->console = xmalloc(st->console_len + 1);
    if (st->console_len)
        memcpy(st->console, p->console.data + skip, st->console_len);
    st->uptime_ns = test_drv_dom_uptime(p, now);
    /* A kernel on its way to an out-of-memory panic gets there wherever it is moved. */
    st->boot_panic_ns = p->boot_panic_ns;
    st->boot_panicked = p->boot_panicked;
    test_drv_shell_copy(&st->shell, &p->shell);
    st->taken_ms = test_drv_epoch_ms();
    if (for_status && p->shutdown_pending) {
        st->shutdown_pending = true;
        st->shutdown_mode = p->shutdown_mode;
        st->shutdown_due_ms = st->taken_ms;
        if (p->shutdown_due_ns > now)
            st->shutdown_due_ms += (int64_t)((p->shutdown_due_ns - now) / 1000000u);
    }
}

/* A state read from outside must fit the domain it is applied to. */
static int test_drv_state_check_def(const test_drv_state *st, const domain_def *def,
                                    const char *what)
{
    if (st->nvcpus != def->vcpus) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s: the guest state has %u vCPUs but domain '%s' has %u", what,
                          st->nvcpus, def->name, def->vcpus);
        return -1;
    }
    if (st->balloon_kib > def->memory_kib) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s: the guest state uses %" PRIu64 " KiB but domain '%s' has at "
                          "most %" PRIu64 " KiB",
                          what, st->balloon_kib, def->name, def->memory_kib);
        return -1;
    }
    return 0;
}

static void test_drv_dom_load(test_drv_dom *p, const test_drv *drv, const test_drv_state *st,
                              const uint8_t cpuset[TEST_DRV_AFFINITY_BYTES])
{
    p->online = st->vcpus_online;
    p->cpu_ns = 0;
    for (unsigned i = 0; i < p->nvcpus; i++) {
        p->vcpu_ns[i] = st->vcpu_ns[i];
        p->cpu_ns += st->vcpu_ns[i];
        memcpy(p->affinity[i], st->affinity[i], TEST_DRV_AFFINITY_BYTES);
        /* The state may come from a host with more CPUs. */
        if (!test_drv_affinity_mask(p->affinity[i], drv->cpus))
            memcpy(p->affinity[i], cpuset, TEST_DRV_AFFINITY_BYTES);
    }
    memcpy(p->io, st->io, sizeof(p->io));
    xring_set(&p->console, st->console_base, st->console, st->console_len);
    /* The shell on the console too: its variables are the guest's memory. */
    test_drv_shell_clear(&p->shell);
    test_drv_shell_copy(&p->shell, &st->shell);
    /* The guest's kernel clock carries on where it was. */
    p->boot_ns = test_drv_now_ns();
    p->uptime_base_ns = st->uptime_ns;
    p->boot_panic_ns = st->boot_panic_ns;
    p->boot_panicked = st->boot_panicked;
}

/* ---- simulated transfers ---- */

/* Spend ms "moving" bytes: sleep in short steps with the object lock dropped (reads and
 * domain.job_abort get through; the job keeps everyone else from changing the domain) and
 * keep job_done/job_total current. -1 with OPERATION_ABORTED when the job is aborted. */
static int test_drv_job_run(api_ctx *ctx, domain_obj *dom, uint64_t ms, uint64_t bytes,
                            const char *what)
{
    api_job_progress(ctx, dom, 0, bytes);
    uint64_t start = test_drv_now_ns(), total = ms * 1000000u;
    for (;;) {
        if (api_job_should_stop(ctx, dom)) {
            xend_error_report(XEND_ERR_OPERATION_ABORTED, "%s of domain '%s' %s", what,
                              dom->def->name,
                              api_ctx_stopping(ctx) ? "stopped: the daemon is stopping"
                                                    : "was aborted");
            return -1;
        }
        uint64_t el = test_drv_now_ns() - start;
        if (el >= total)
            break;
        api_job_progress(ctx, dom, (uint64_t)((double)bytes * (double)el / (double)total), bytes);
        uint64_t step = total - el;
        if (step > TEST_DRV_JOB_STEP_MS * 1000000u)
            step = TEST_DRV_JOB_STEP_MS * 1000000u;
        struct timespec ts = {(time_t)(step / 1000000000u), (long)(step % 1000000000u)};
        domain_obj_unlock(dom);
        nanosleep(&ts, NULL);
        domain_obj_lock(dom);
    }
    api_job_progress(ctx, dom, bytes, bytes);
    return 0;
}

static uint64_t test_drv_transfer_ms(const test_drv *drv, uint64_t kib)
{
    return (uint64_t)drv->save_ms_per_gib * kib / (1024u * 1024u);
}

/* ---- start ---- */

static int test_drv_dom_launch(api_ctx *ctx, domain_obj *dom, const test_drv_state *st,
                               test_drv_launch kind, bool paused, const char *what)
{
    static const char *const verbs[] = {"start", "restore", "receive", "relocate"};
    test_drv *drv = test_drv_get(ctx);
    domain_def *def = dom->def;
    if (def->vcpus == 0 || def->vcpus > DOMAIN_VCPUS_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "domain '%s' has %u vCPUs (1 to %d allowed)",
                          def->name, def->vcpus, DOMAIN_VCPUS_MAX);
        return -1;
    }
    if (st && test_drv_state_check_def(st, def, what) < 0)
        return -1;
    uint8_t cpuset[TEST_DRV_AFFINITY_BYTES];
    if (test_drv_dom_cpuset(drv, def, cpuset) < 0)
        return -1;
    uint64_t kib = st                        ? st->balloon_kib
                   : def->current_memory_kib ? def->current_memory_kib
                                             : def->memory_kib;
    if (test_drv_mem_reserve(drv, kib, verbs[kind], def->name) < 0)
        return -1;
    if (kind == LAUNCH_RESTORE &&
        test_drv_job_run(ctx, dom, test_drv_transfer_ms(drv, kib), kib * 1024, "restore") < 0) {
        test_drv_mem_release(drv, kib);
        return -1;
    }
    /* A relocated guest keeps its domain and gets a new id in place of the old one. */
    if ((kind == LAUNCH_RELOCATE ? api_domain_relocated(ctx, dom) : api_domain_alloc_id(ctx, dom)) <
        0) {
        test_drv_mem_release(drv, kib);
        return -1;
    }

    /* A stale guest cannot be here (the API only starts inactive domains, a relocation
     * sets the old instance aside first); be safe. */
    test_drv_domain_priv_free(dom->priv);
    test_drv_dom *p = test_drv_dom_new(drv, def->vcpus);
    p->charged_kib = kib;
    if (st) {
        test_drv_dom_load(p, drv, st, cpuset);
        def->vcpus_current = p->online;
        def->current_memory_kib = kib;
    } else {
        p->online = def->vcpus_current >= 1 && def->vcpus_current <= def->vcpus ? def->vcpus_current
                                                                                : def->vcpus;
        for (unsigned i = 0; i < p->nvcpus; i++)
            memcpy(p->affinity[i], cpuset, sizeof(cpuset));
    }
    dom->priv = p;
    dom->start_time = time(NULL);
    p->clock_running = !paused;

    switch (kind) {
    case LAUNCH_BOOT:
        test_drv_dom_boot(drv, dom, p);
        test_drv_dmesg(drv, "Domain %d (%s) started: %u vCPUs, %" PRIu64 " MiB", dom->id, def->name,
                       p->online, kib / 1024);
        api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_BOOTED, "started",
                             "booted");
        if (paused)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_STARTING_UP,
                                 "suspended", "paused");
        break;
    case LAUNCH_RESTORE:
        test_drv_dom_klog(p, "PM: restore of devices complete");
        test_drv_dmesg(drv, "Domain %d (%s) restored: %u vCPUs, %" PRIu64 " MiB", dom->id,
                       def->name, p->online, kib / 1024);
        api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_RESTORED, "started",
                             "restored");
        if (paused)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_USER, "suspended",
                                 "restored");
        break;
    case LAUNCH_MIGRATE:
    case LAUNCH_RELOCATE:
        test_drv_dom_klog(p, "xen: resumed after migration");
        if (kind == LAUNCH_MIGRATE)
            test_drv_dmesg(drv, "Domain %d (%s) migrated in: %u vCPUs, %" PRIu64 " MiB",
                           dom->id, def->name, p->online, kib / 1024);
        api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_MIGRATED, "started",
                             "migrated");
        if (paused)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_MIGRATION,
                                 "suspended", "migrated");
        break;
    }
    /* What was typed at a paused guest before it was saved or sent is read now. */
    if (st && !paused && test_drv_dom_console_drain(drv, dom, p) > 0)
        api_domain_save_status(ctx, dom);
    /* A state that was on its way to a boot panic still is (a boot arms its own). */
    if (st)
        test_drv_dom_panic_arm(drv, dom, p);
    return 0;
}

/* Read the image, check it belongs to this domain, parse its state. */
static int test_drv_image_load(const char *path, const domain_def *expect, domain_def **defp,
                               test_drv_state *st)
{
    test_drv_image img;
    if (test_drv_image_read(path, &img) < 0)
        return -1;
    domain_def *def = domain_xml_parse(img.xml, img.xml_len, NULL);
    if (!def) {
        char msg[sizeof(xend_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "'%s': bad domain XML in save image: %s", path,
                          msg);
        test_drv_image_clear(&img);
        return -1;
    }
    if (expect && memcmp(expect->uuid, def->uuid, sizeof(def->uuid)) != 0) {
        char uuid[37];
        domain_uuid_format(def->uuid, uuid);
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s' is a save image of domain '%s' (%s), not of '%s'", path, def->name,
                          uuid, expect->name);
        domain_def_free(def);
        test_drv_image_clear(&img);
        return -1;
    }
    int r = test_drv_state_parse(st, img.state, img.state_len, path);
    if (r == 0 && (r = test_drv_state_check_def(st, def, path)) < 0)
        test_drv_state_clear(st);
    test_drv_image_clear(&img);
    if (r < 0 || !defp)
        domain_def_free(def);
    else
        *defp = def;
    return r;
}

int test_drv_domain_start(api_ctx *ctx, domain_obj *dom, const char *restore_path, bool paused)
{
    if (!restore_path)
        return test_drv_dom_launch(ctx, dom, NULL, LAUNCH_BOOT, paused, NULL);
    test_drv_state st;
    if (test_drv_image_load(restore_path, dom->def, NULL, &st) < 0)
        return -1;
    int r = test_drv_dom_launch(ctx, dom, &st, LAUNCH_RESTORE, paused, restore_path);
    test_drv_state_clear(&st);
    return r;
}

domain_def *test_drv_save_image_def(void *priv, const char *path)
{
    (void)priv;
    domain_def *def = NULL;
    test_drv_state st;
    if (test_drv_image_load(path, NULL, &def, &st) < 0)
        return NULL;
    test_drv_state_clear(&st);
    return def;
}

int test_drv_domain_migrate_incoming(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                     bool paused)
{
    static const char what[] = "incoming migration state";
    test_drv_state st;
    if (test_drv_state_parse(&st, state, len, what) < 0)
        return -1;
    int r = test_drv_dom_launch(ctx, dom, &st, LAUNCH_MIGRATE, paused, what);
    test_drv_state_clear(&st);
    return r;
}

/* ---- stop ---- */

void test_drv_dom_stop(api_ctx *ctx, domain_obj *dom, domain_reason reason, const char *why,
                      bool final)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = dom->priv;
    if (p) {
        test_drv_timer_cancel(drv, p->incarnation);
        test_drv_mem_release(drv, p->charged_kib);
        test_drv_dmesg(drv, "Domain %d (%s) %s", dom->id, dom->def->name, why);
        test_drv_domain_priv_free(p);
        dom->priv = NULL;
    }
    /* Last: with on_poweroff=restart the API starts the domain again from here; a reboot
     * ended by on_reboot=destroy must not (on_poweroff does not apply to it). */
    if (final)
        api_domain_stopped_final(ctx, dom, reason);
    else
        api_domain_stopped(ctx, dom, reason);
}

int test_drv_domain_destroy(api_ctx *ctx, domain_obj *dom)
{
    /* Someone stepped in: a guest that kept panicking at boot starts a new count. */
    test_drv_boot_panic_forget(test_drv_get(ctx), dom);
    test_drv_dom_stop(ctx, dom, DOMAIN_REASON_DESTROYED, "destroyed", false);
    return 0;
}

/* A pending shutdown no longer applies (reset, crash, a new request): its timer will find
 * it stale. Cancelling goes by incarnation, so a pending boot panic's timer is queued
 * again. */
static void test_drv_dom_shutdown_forget(test_drv *drv, domain_obj *dom, test_drv_dom *p)
{
    if (p->shutdown_pending) {
        test_drv_timer_cancel(drv, p->incarnation);
        test_drv_dom_panic_arm(drv, dom, p);
    }
    p->shutdown_pending = false;
    p->shutdown_seq++;
}

void test_drv_dom_reboot(api_ctx *ctx, domain_obj *dom)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = dom->priv;
    domain_def *def = dom->def;
    test_drv_dom_shutdown_forget(drv, dom, p);
    test_drv_dom_klog(p, "reboot: Restarting system");
    switch (def->on_reboot) {
    case DOMAIN_ACTION_DESTROY:
        test_drv_dom_stop(ctx, dom, DOMAIN_REASON_SHUTDOWN, "rebooted; destroyed (on_reboot)",
                          true);
        return;
    case DOMAIN_ACTION_PRESERVE:
        /* As Xen does: the guest is kept, stopped, for inspection until destroyed. */
        test_drv_dom_clock(p, def, false);
        test_drv_dmesg(drv, "Domain %d (%s) rebooted; preserved (on_reboot)", dom->id, def->name);
        if (dom->state != DOMAIN_STATE_SHUTDOWN)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_SHUTDOWN, DOMAIN_REASON_USER, "shutdown",
                                 "reboot");
        else
            api_domain_save_status(ctx, dom);
        return;
    default:
        break;
    }
    /* Same instance, fresh boot: cpu time and counters carry on, the console continues;
     * the shell starts afresh (its variables were in the memory that was reset). */
    test_drv_dom_clock(p, def, true);
    test_drv_shell_clear(&p->shell);
    p->boot_ns = test_drv_now_ns();
    p->uptime_base_ns = 0;
    test_drv_dom_boot(drv, dom, p);
    test_drv_dmesg(drv, "Domain %d (%s) rebooted", dom->id, def->name);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_REBOOTED, "rebooted", "");
}

static void test_drv_dom_panic_print(test_drv_dom *p, const char *msg)
{
    test_drv_dom_klog(p, "Kernel panic - not syncing: %s", msg);
    test_drv_dom_klog(p, "---[ end Kernel panic - not syncing: %s ]---", msg);
}

/* The guest's kernel panicked and the hypervisor knows: the guest is gone as a crash
 * (final: on_crash is not applied, it stays down). */
static void test_drv_dom_crashed(api_ctx *ctx, domain_obj *dom, const char *why, bool final)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = dom->priv;
    p->boot_panic_ns = 0;
    p->boot_panicked = false;
    test_drv_dom_shutdown_forget(drv, dom, p);
    test_drv_dom_clock(p, dom->def, false);
    /* With on_crash=preserve api_domain_stopped itself leaves the domain CRASHED/PANICKED
     * and posts crashed/panicked; post it here only when the stop will say "stopped". */
    if (dom->def->on_crash != DOMAIN_ACTION_PRESERVE)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_CRASHED, DOMAIN_REASON_PANICKED, "crashed",
                             "panicked");
    test_drv_dom_stop(ctx, dom, DOMAIN_REASON_CRASHED, why, final);
}

void test_drv_dom_crash(api_ctx *ctx, domain_obj *dom)
{
    test_drv_dom_panic_print(dom->priv, "sysrq triggered crash");
    test_drv_dom_crashed(ctx, dom, "crashed", false);
}

/* A guest booted with too little memory: at boot_panic_ns its kernel, unable to start
 * init, panics out of memory and spins; TEST_DRV_BOOT_PANIC_HANG_MS later the crash is
 * reported (object lock + job held). */
static void test_drv_dom_boot_panic(api_ctx *ctx, domain_obj *dom)
{
    static const char oom[] = "Out of memory and no killable processes...";
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = dom->priv;
    if (!p->boot_panicked) {
        test_drv_dom_klog(p, "init invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|"
                             "__GFP_COMP), order=0, oom_score_adj=0");
        test_drv_dom_klog(p, "Mem-Info:");
        test_drv_dom_klog(p, "%" PRIu64 " pages RAM", p->charged_kib / 4);
        test_drv_dom_klog(p, "%s", oom);
        test_drv_dom_panic_print(p, oom);
        p->boot_panicked = true;
        p->boot_panic_ns = test_drv_dom_uptime(p, test_drv_now_ns()) +
                           (uint64_t)TEST_DRV_BOOT_PANIC_HANG_MS * 1000000u;
        test_drv_dom_panic_arm(drv, dom, p);
        api_domain_save_status(ctx, dom);
        return;
    }
    domain_action a = dom->def->on_crash;
    bool restart = a == DOMAIN_ACTION_RESTART || a == DOMAIN_ACTION_RENAME_RESTART;
    bool final = test_drv_boot_panic_final(drv, dom, restart);
    if (final) {
        test_drv_dmesg(drv,
                       "Domain %d (%s) crashed at boot %d times in a row: not restarted "
                       "(on_crash=%s)",
                       dom->id, dom->def->name, TEST_DRV_BOOT_PANIC_RESTARTS + 1,
                       domain_action_name(a));
        api_ctx_log(ctx, "domain %s keeps crashing at boot (out of memory): not restarted",
                    dom->def->name);
    }
    test_drv_dom_crashed(ctx, dom, "crashed (out of memory at boot)", final);
}

/* ---- shutdown ---- */

static uint64_t test_drv_shutdown_ms(const test_drv *drv, hv_shutdown_mode mode)
{
    return mode == HV_SHUTDOWN_REBOOT ? drv->reboot_ms : drv->shutdown_ms;
}

int test_drv_domain_shutdown(api_ctx *ctx, domain_obj *dom, hv_shutdown_mode mode)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    if (!p->clock_running && dom->state == DOMAIN_STATE_SHUTDOWN) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is halted and kept for inspection (on_reboot=preserve); "
                          "destroy it instead",
                          dom->def->name);
        return -1;
    }
    /* A second request replaces the first (poweroff after a reboot request wins). */
    test_drv_dom_shutdown_forget(drv, dom, p);
    p->shutdown_pending = true;
    p->shutdown_mode = mode;
    p->shutdown_due_ns = test_drv_now_ns() + test_drv_shutdown_ms(drv, mode) * 1000000u;
    test_drv_timer_add(drv, dom, p->incarnation, p->shutdown_seq, p->shutdown_due_ns);
    static const char *const says[] = {"power off", "reboot", "halt"};
    xring_printf(&p->console, "\nThe system will %s now!\n",
                         says[mode <= HV_SHUTDOWN_HALT ? mode : 0]);
    /* A paused guest cannot act on the request yet: it stays paused (see the fire). */
    if (p->clock_running)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_SHUTDOWN, DOMAIN_REASON_USER, "shutdown",
                             test_drv_mode_name(mode));
    else
        api_domain_save_status(ctx, dom);
    return 0;
}

static bool test_drv_timer_current(domain_obj *dom, uint64_t incarnation, uint64_t seq)
{
    const test_drv_dom *p = dom->priv;
    if (dom->removed || !p || p->incarnation != incarnation)
        return false;
    if (seq == TEST_DRV_TIMER_PANIC)
        return p->boot_panic_ns != 0;
    return p->shutdown_pending && p->shutdown_seq == seq;
}

void test_drv_timer_fire(test_drv *drv, domain_obj *dom, uint64_t incarnation, uint64_t seq)
{
    api_ctx *ctx = drv->ctx;
    domain_obj_lock(dom);
    if (!test_drv_timer_current(dom, incarnation, seq)) {
        domain_obj_unlock(dom);
        return;
    }
    /* Unbounded wait: the completion must happen, and a user job (a save, say) holding
     * the domain finishes in bounded time. The domain may change meanwhile: check again. */
    if (domain_obj_begin_job(ctx, dom, "shutdown completion", -1) < 0) {
        log_warn("simulated host: cannot complete the shutdown of '%s': %s", dom->def->name,
                 xend_error_last()->message);
        domain_obj_unlock(dom);
        return;
    }
    if (test_drv_timer_current(dom, incarnation, seq)) {
        test_drv_dom *p = dom->priv;
        if (seq == TEST_DRV_TIMER_PANIC) {
            /* Paused, the kernel is not running: unpausing arms the panic again. A step
             * armed twice (paused and unpaused meanwhile) finds itself done the second
             * time: the next step is not due yet. */
            if (p->clock_running &&
                test_drv_dom_uptime(p, test_drv_now_ns()) >= p->boot_panic_ns)
                test_drv_dom_boot_panic(ctx, dom);
        } else if (!p->clock_running) {
            /* Paused: the guest gets its full time once it runs again. */
            p->shutdown_due_ns =
                test_drv_now_ns() + test_drv_shutdown_ms(drv, p->shutdown_mode) * 1000000u;
            test_drv_timer_add(drv, dom, incarnation, seq, p->shutdown_due_ns);
        } else if (p->shutdown_mode == HV_SHUTDOWN_REBOOT) {
            test_drv_dom_klog(p, "systemd-shutdown[1]: Syncing filesystems and block devices.");
            api_ctx_log(ctx, "domain %s rebooted", dom->def->name);
            test_drv_dom_reboot(ctx, dom);
        } else {
            bool halt = p->shutdown_mode == HV_SHUTDOWN_HALT;
            p->shutdown_pending = false;
            test_drv_dom_klog(p, "systemd-shutdown[1]: Syncing filesystems and block devices.");
            test_drv_dom_klog(p, halt ? "reboot: System halted" : "reboot: Power down");
            api_ctx_log(ctx, "domain %s shut down", dom->def->name);
            api_event_domain(ctx, dom, "lifecycle", "shutdown", "finished", NULL);
            test_drv_dom_stop(ctx, dom, DOMAIN_REASON_SHUTDOWN, halt ? "halted" : "shut down", false);
        }
    }
    domain_obj_end_job(dom);
    domain_obj_unlock(dom);
}

/* ---- pause ---- */

int test_drv_domain_pause(api_ctx *ctx, domain_obj *dom)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    test_drv_dom_clock(p, dom->def, false);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_USER, "suspended", "paused");
    return 0;
}

int test_drv_domain_unpause(api_ctx *ctx, domain_obj *dom)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    test_drv_dom_clock(p, dom->def, true);
    /* Typed while paused: the guest reads it now (the status write below records it). */
    test_drv_dom_console_drain(test_drv_get(ctx), dom, p);
    test_drv_dom_panic_arm(test_drv_get(ctx), dom, p);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_UNPAUSED, "resumed",
                         "unpaused");
    return 0;
}

/* ---- save ---- */

/* Stop a running guest's clock for a save or an offline migration, posting the state. */
static bool test_drv_dom_hold(api_ctx *ctx, domain_obj *dom, test_drv_dom *p, domain_reason reason,
                              const char *detail)
{
    if (!p->clock_running)
        return false;
    test_drv_dom_clock(p, dom->def, false);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, reason, "suspended", detail);
    return true;
}

/* Undo test_drv_dom_hold after a failure. */
static void test_drv_dom_release_hold(api_ctx *ctx, domain_obj *dom, test_drv_dom *p,
                                      domain_state state, domain_reason reason)
{
    test_drv_dom_clock(p, dom->def, true);
    test_drv_dom_panic_arm(test_drv_get(ctx), dom, p);
    api_domain_set_state(ctx, dom, state, reason, "resumed", "unpaused");
}

int test_drv_domain_save(api_ctx *ctx, domain_obj *dom, const char *path)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    /* Create the (temporary) file first: a bad path fails before the guest is disturbed.
     * Whatever is at path now stays until the image is complete and renamed over it. */
    test_drv_image_target t;
    if (test_drv_image_create(path, &t) < 0)
        return -1;
    domain_state prev_state = dom->state;
    domain_reason prev_reason = dom->reason;
    bool held = test_drv_dom_hold(ctx, dom, p, DOMAIN_REASON_SAVE, "paused");
    if (test_drv_job_run(ctx, dom, test_drv_transfer_ms(drv, p->charged_kib), p->charged_kib * 1024,
                         "save") < 0) {
        test_drv_image_discard(&t);
        goto fail;
    }
    xbuf xml = XBUF_INIT, state = XBUF_INIT;
    domain_xml_format(dom->def, &xml, 0);
    test_drv_state st;
    test_drv_dom_snapshot(p, dom->def, false, &st);
    test_drv_state_format(&st, &state);
    test_drv_state_clear(&st);
    int r = test_drv_image_write(&t, xml.data ? xml.data : "", xml.len,
                                 state.data ? state.data : "", state.len);
    xbuf_clear(&xml);
    xbuf_clear(&state);
    if (r < 0)
        goto fail;
    test_drv_dom_stop(ctx, dom, DOMAIN_REASON_SAVED, "saved", false);
    return 0;
fail:
    /* The temporary file is gone (discarded or removed by the write): what was at path,
     * say /etc/passwd, is still there and nothing half-written is. */
    if (held)
        test_drv_dom_release_hold(ctx, dom, p, prev_state, prev_reason);
    return -1;
}

/* ---- migration ---- */

/* One migration of a guest, to another daemon or in place (relocation). */
typedef struct {
    bool user_paused;  /* the guest was paused by the user: it arrives paused */
    domain_state prev_state;
    domain_reason prev_reason;
    bool held;         /* offline migration: the guest was suspended for it */
    bool running;      /* its clock ran until the stop-and-copy */
    xbuf blob;         /* the guest state in the migration stream's text */
} test_drv_migration;

/* What both kinds share up to the transfer: the job with its progress and abort, then the
 * stop-and-copy (the clock frozen, so what arrives is what ran here) and the state
 * written as the stream carries it. 0, or -1 with the guest as it was. */
static int test_drv_migration_begin(api_ctx *ctx, domain_obj *dom, test_drv_dom *p, bool live,
                                    test_drv_migration *m)
{
    test_drv *drv = test_drv_get(ctx);
    *m = (test_drv_migration){.user_paused = !p->clock_running,
                              .prev_state = dom->state,
                              .prev_reason = dom->reason,
                              .blob = XBUF_INIT};
    m->held = !live && test_drv_dom_hold(ctx, dom, p, DOMAIN_REASON_MIGRATION, "migrated");
    if (test_drv_job_run(ctx, dom, test_drv_transfer_ms(drv, p->charged_kib), p->charged_kib * 1024,
                         "migration") < 0) {
        if (m->held)
            test_drv_dom_release_hold(ctx, dom, p, m->prev_state, m->prev_reason);
        return -1;
    }
    m->running = p->clock_running;
    if (m->running)
        test_drv_dom_clock(p, dom->def, false);
    test_drv_state st;
    test_drv_dom_snapshot(p, dom->def, false, &st);
    test_drv_state_format(&st, &m->blob);
    test_drv_state_clear(&st);
    return 0;
}

/* The transfer failed: the guest runs on here as before. Returns -1. */
static int test_drv_migration_fail(api_ctx *ctx, domain_obj *dom, test_drv_dom *p,
                                   test_drv_migration *m)
{
    xbuf_clear(&m->blob);
    if (m->running)
        test_drv_dom_clock(p, dom->def, true);
    if (m->held)
        test_drv_dom_release_hold(ctx, dom, p, m->prev_state, m->prev_reason);
    return -1;
}

int test_drv_domain_migrate(api_ctx *ctx, domain_obj *dom, const char *uri, bool live)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    test_drv_migration m;
    if (!p || test_drv_migration_begin(ctx, dom, p, live, &m) < 0)
        return -1;
    /* Unlocked: the destination may be this very daemon, and readers should not wait
     * behind the network. The job keeps dom->def stable. */
    domain_obj_unlock(dom);
    int r = api_migrate_send(ctx, dom, uri, dom->def, m.blob.data, m.blob.len, m.user_paused);
    domain_obj_lock(dom);
    if (r < 0)
        return test_drv_migration_fail(ctx, dom, p, &m);
    xbuf_clear(&m.blob);
    test_drv_dom_stop(ctx, dom, DOMAIN_REASON_MIGRATED, "migrated away", false);
    return 0;
}

int test_drv_domain_relocate(api_ctx *ctx, domain_obj *dom, bool live)
{
    static const char what[] = "relocated guest state";
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = test_drv_dom_get(dom);
    test_drv_migration m;
    if (!p || test_drv_migration_begin(ctx, dom, p, live, &m) < 0)
        return -1;
    /* Through the migration stream's own text, so the new instance holds exactly what a
     * migration would have carried, and nothing that only lived in the old one. */
    test_drv_state st;
    int r = test_drv_state_parse(&st, m.blob.data ? m.blob.data : "", m.blob.len, what);
    int old_id = dom->id;
    if (r == 0) {
        /* Both instances exist until the new one runs: its memory is reserved while the
         * old one still holds its own, as a localhost migration needs. */
        dom->priv = NULL;
        r = test_drv_dom_launch(ctx, dom, &st, LAUNCH_RELOCATE, m.user_paused, what);
        test_drv_state_clear(&st);
        if (r < 0)
            dom->priv = p;
    }
    if (r < 0)
        return test_drv_migration_fail(ctx, dom, p, &m);
    xbuf_clear(&m.blob);
    test_drv_timer_cancel(drv, p->incarnation);
    test_drv_mem_release(drv, p->charged_kib);
    test_drv_domain_priv_free(p);
    test_drv_dmesg(drv, "Domain %d (%s) migrated to this host as domain %d", old_id,
                   dom->def->name, dom->id);
    return 0;
}

/* ---- daemon restart ---- */

static void test_drv_status_pair(void *opaque, const char *key, const char *value)
{
    xml_node_new_child(opaque, key, value);
}

void test_drv_domain_status_format(api_ctx *ctx, domain_obj *dom, xml_node *driver_node)
{
    (void)ctx;
    const test_drv_dom *p = dom->priv;
    if (!p)
        return;
    test_drv_state st;
    test_drv_dom_snapshot(p, dom->def, true, &st);
    test_drv_state_emit(&st, test_drv_status_pair, driver_node);
    test_drv_state_clear(&st);
}

int test_drv_domain_reattach(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node)
{
    test_drv *drv = test_drv_get(ctx);
    domain_def *def = dom->def;
    char what[DOMAIN_NAME_MAX + 32];
    snprintf(what, sizeof(what), "status of '%s'", def->name);
    test_drv_state st;
    memset(&st, 0, sizeof(st));
    unsigned n = 0;
    for (const xml_node *c = driver_node ? driver_node->children : NULL; c; c = c->next) {
        if (++n > DOMAIN_VCPUS_MAX + TEST_DRV_SHELL_VARS_MAX + 16 || c->children) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: line %u: unexpected <%s>", what,
                              c->line, c->name);
            goto fail;
        }
        if (test_drv_state_set(&st, c->name, c->text ? c->text : "", what, c->line) < 0)
            goto fail;
    }
    if (test_drv_state_finish(&st, what) < 0 || test_drv_state_check_def(&st, def, what) < 0)
        goto fail;
    uint8_t cpuset[TEST_DRV_AFFINITY_BYTES];
    if (test_drv_dom_cpuset(drv, def, cpuset) < 0)
        goto fail;
    if (test_drv_mem_reserve(drv, st.balloon_kib, "re-attach", def->name) < 0)
        goto fail;

    test_drv_domain_priv_free(dom->priv);
    test_drv_dom *p = test_drv_dom_new(drv, def->vcpus);
    p->charged_kib = st.balloon_kib;
    test_drv_dom_load(p, drv, &st, cpuset);
    uint64_t now = test_drv_now_ns();
    int64_t now_ms = test_drv_epoch_ms();
    /* The guest kept running while the daemon was away: backdate the counters' base so
     * that time is credited like any other. */
    p->clock_running = dom->state == DOMAIN_STATE_RUNNING || dom->state == DOMAIN_STATE_BLOCKED ||
                       dom->state == DOMAIN_STATE_SHUTDOWN;
    uint64_t away_ns =
        st.taken_ms > 0 && now_ms > st.taken_ms ? (uint64_t)(now_ms - st.taken_ms) * 1000000u : 0;
    p->since_ns = away_ns < now ? now - away_ns : 0;
    p->uptime_base_ns += away_ns;
    dom->priv = p;
    if (st.shutdown_pending) {
        int64_t left_ms = st.shutdown_due_ms > now_ms ? st.shutdown_due_ms - now_ms : 0;
        p->shutdown_pending = true;
        p->shutdown_mode = st.shutdown_mode;
        p->shutdown_seq++;
        p->shutdown_due_ns = now + (uint64_t)left_ms * 1000000u;
        test_drv_timer_add(drv, dom, p->incarnation, p->shutdown_seq, p->shutdown_due_ns);
    }
    test_drv_dom_panic_arm(drv, dom, p);
    test_drv_dmesg(drv, "Domain %d (%s) re-attached", dom->id, def->name);
    test_drv_state_clear(&st);
    return 0;
fail:
    test_drv_state_clear(&st);
    return -1;
}
