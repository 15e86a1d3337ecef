/*
 * Simulated guests, live changes and reads: ballooning, vCPU hot-plug and pinning, disk
 * and NIC hot-plug, the serial console (read, and typed at: the shell of
 * test_driver_shell.c answers), magic SysRq keys, statistics and cpu time. Each change
 * shows up on the guest console the way a Linux guest would report it, and in the files
 * the console's shell shows. The API
 * rewrites the status file after memory, vCPU and device changes; pinning and SysRq
 * rewrite it here, so a restarted daemon finds the guest as it was.
 * Domain-0 (the host's own pseudo-domain, no dom->priv) answers the reads with figures
 * derived from the host.
 */
#include "test_driver_priv.h"

#include "conf/domain_conf.h"
#include "util/alloc.h"
#include "util/error.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- memory and vCPUs ---- */

int test_drv_domain_set_memory(api_ctx *ctx, domain_obj *dom, uint64_t kib)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    domain_def *def = dom->def;
    if (kib == 0 || kib > def->memory_kib) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "memory of '%s' must be from 1 to %" PRIu64 " KiB (its maximum), "
                          "not %" PRIu64,
                          def->name, def->memory_kib, kib);
        return -1;
    }
    if (kib > p->charged_kib) {
        if (test_drv_mem_reserve(drv, kib - p->charged_kib, "grow the memory of", def->name) < 0)
            return -1;
    } else {
        test_drv_mem_release(drv, p->charged_kib - kib);
    }
    p->charged_kib = kib;
    def->current_memory_kib = kib;
    test_drv_dom_klog(p, "xen:balloon: target set to %" PRIu64 " MiB", kib / 1024);
    return 0;
}

int test_drv_domain_set_vcpus(api_ctx *ctx, domain_obj *dom, unsigned n)
{
    (void)ctx;
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    if (n < 1 || n > p->nvcpus) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "vCPU count of '%s' must be from 1 to %u (its maximum), not %u",
                          dom->def->name, p->nvcpus, n);
        return -1;
    }
    /* Settle first: time so far belongs to the vCPUs online until now. */
    test_drv_dom_settle(p, dom->def, test_drv_now_ns());
    for (unsigned i = p->online; i > n; i--)
        test_drv_dom_klog(p, "smpboot: CPU %u is now offline", i - 1);
    for (unsigned i = p->online; i < n; i++)
        test_drv_dom_klog(p, "smpboot: Booting Node 0 Processor %u APIC 0x%x", i, i);
    p->online = n;
    dom->def->vcpus_current = n;
    return 0;
}

static unsigned test_drv_popcount(const uint8_t map[TEST_DRV_AFFINITY_BYTES])
{
    unsigned n = 0;
    for (int i = 0; i < TEST_DRV_AFFINITY_BYTES; i++)
        n += (unsigned)__builtin_popcount(map[i]);
    return n;
}

/* Where vCPU i "last ran": its affinity's CPUs taken in turn, so vCPUs spread out. */
static int test_drv_vcpu_cpu(const uint8_t map[TEST_DRV_AFFINITY_BYTES], unsigned i)
{
    unsigned n = test_drv_popcount(map);
    if (n == 0)
        return -1;
    unsigned k = i % n;
    for (unsigned bit = 0; bit < TEST_DRV_CPUS_MAX; bit++)
        if ((map[bit / 8] & (1u << (bit % 8))) && k-- == 0)
            return (int)bit;
    return -1;
}

int test_drv_domain_vcpu_info(api_ctx *ctx, domain_obj *dom, hv_vcpu_info *out, unsigned max)
{
    test_drv *drv = test_drv_get(ctx);
    uint64_t now = test_drv_now_ns();
    if (!dom->priv && dom->is_host) {
        unsigned n = drv->cpus < max ? drv->cpus : max;
        for (unsigned i = 0; i < n; i++) {
            memset(&out[i], 0, sizeof(out[i]));
            out[i].number = i;
            out[i].online = true;
            out[i].cpu = (int)i;
            out[i].cpu_time_ns = test_drv_host_cpu_ns(drv, now) / drv->cpus;
            snprintf(out[i].state, sizeof(out[i].state), "running");
            out[i].affinity[i / 8] = (uint8_t)(1u << (i % 8));
        }
        return (int)n;
    }
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    unsigned n = p->nvcpus < max ? p->nvcpus : max;
    for (unsigned i = 0; i < n; i++) {
        hv_vcpu_info *v = &out[i];
        memset(v, 0, sizeof(*v));
        v->number = i;
        v->online = i < p->online;
        v->cpu = v->online ? test_drv_vcpu_cpu(p->affinity[i], i) : -1;
        v->cpu_time_ns = test_drv_dom_vcpu_ns(p, i, now);
        snprintf(v->state, sizeof(v->state), "%s",
                 !v->online         ? "offline"
                 : p->clock_running ? "running"
                                    : "blocked");
        memcpy(v->affinity, p->affinity[i], sizeof(v->affinity));
    }
    return (int)n;
}

int test_drv_domain_pin_vcpu(api_ctx *ctx, domain_obj *dom, unsigned vcpu, const uint8_t *cpumap,
                             unsigned maxcpus)
{
    test_drv *drv = test_drv_get(ctx);
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    if (vcpu >= p->nvcpus) {
        xend_error_report(XEND_ERR_INVALID_ARG, "vCPU %u does not exist ('%s' has %u vCPUs)", vcpu,
                          dom->def->name, p->nvcpus);
        return -1;
    }
    uint8_t map[TEST_DRV_AFFINITY_BYTES] = {0};
    bool any = false;
    for (unsigned bit = 0; bit < maxcpus; bit++) {
        if (!(cpumap[bit / 8] & (1u << (bit % 8))))
            continue;
        if (bit >= drv->cpus) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "CPU %u does not exist on this host (it has %u CPUs)", bit,
                              drv->cpus);
            return -1;
        }
        map[bit / 8] |= (uint8_t)(1u << (bit % 8));
        any = true;
    }
    if (!any) {
        xend_error_report(XEND_ERR_INVALID_ARG, "the CPU map for vCPU %u of '%s' is empty", vcpu,
                          dom->def->name);
        return -1;
    }
    memcpy(p->affinity[vcpu], map, sizeof(map));
    api_domain_save_status(ctx, dom);
    return 0;
}

/* ---- hot-plug ---- */

/* The members the API's config-only device events carry too, so a client reads live and
 * config events alike (the detail is the device itself). */
int test_drv_domain_attach_disk(api_ctx *ctx, domain_obj *dom, const domain_disk *disk)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    domain_def *def = dom->def;
    if (!disk->target || !*disk->target) {
        xend_error_report(XEND_ERR_INVALID_ARG, "the disk has no target device name");
        return -1;
    }
    /* Duplicates and the device limit were refused by the API (def_check_new_device). */
    /* The I/O rates depend on the device count: close the books at the old rate. */
    test_drv_dom_settle(p, def, test_drv_now_ns());
    domain_def_add_disk(def, disk);
    test_drv_dom_klog(p, "blkfront: %s: attached %s%s", disk->target,
                      disk->source ? disk->source : "(no medium)",
                      disk->readonly ? " (read-only)" : "");
    api_event_domain(ctx, dom, "device", "added", disk->target,
                     api_event_device_extra("disk", disk->target));
    return 0;
}

int test_drv_domain_detach_disk(api_ctx *ctx, domain_obj *dom, size_t index)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    domain_def *def = dom->def;
    if (index >= def->ndisks) {
        xend_error_report(XEND_ERR_NO_DEVICE, "domain '%s' has no disk number %zu", def->name,
                          index);
        return -1;
    }
    test_drv_dom_settle(p, def, test_drv_now_ns());
    char *target = xstrdup(def->disks[index].target ? def->disks[index].target : "");
    domain_def_remove_disk(def, index);
    test_drv_dom_klog(p, "blkfront: %s: detached", target);
    api_event_domain(ctx, dom, "device", "removed", target, api_event_device_extra("disk", target));
    free(target);
    return 0;
}

int test_drv_domain_attach_nic(api_ctx *ctx, domain_obj *dom, const domain_nic *nic)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    domain_def *def = dom->def;
    /* Duplicates and the device limit were refused by the API (def_check_new_device). */
    char mac[18];
    domain_mac_format(nic->mac, mac);
    test_drv_dom_settle(p, def, test_drv_now_ns());
    domain_def_add_nic(def, nic);
    test_drv_dom_klog(p, "eth%zu: %s NIC, MAC %s, link up", def->nnics - 1,
                      nic->model ? nic->model : "virtio", mac);
    api_event_domain(ctx, dom, "device", "added", mac, api_event_device_extra("interface", mac));
    return 0;
}

int test_drv_domain_detach_nic(api_ctx *ctx, domain_obj *dom, size_t index)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    domain_def *def = dom->def;
    if (index >= def->nnics) {
        xend_error_report(XEND_ERR_NO_DEVICE, "domain '%s' has no network interface number %zu",
                          def->name, index);
        return -1;
    }
    test_drv_dom_settle(p, def, test_drv_now_ns());
    char mac[18];
    domain_mac_format(def->nics[index].mac, mac);
    domain_def_remove_nic(def, index);
    test_drv_dom_klog(p, "eth%zu: MAC %s removed", index, mac);
    api_event_domain(ctx, dom, "device", "removed", mac, api_event_device_extra("interface", mac));
    return 0;
}

/* ---- console and sysrq ---- */

int test_drv_domain_console_read(api_ctx *ctx, domain_obj *dom, uint64_t offset, size_t max,
                                 xbuf *out, uint64_t *next, uint64_t *start)
{
    (void)ctx;
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    xring_read(&p->console, offset, max, out, next, start);
    return 0;
}

/* A disk's size as the guest sees it: the image file's, or the block device's; 0 for an
 * empty drive or what cannot be opened (the guest still lists it). */
static uint64_t test_drv_disk_kib(const domain_disk *d)
{
    struct stat sb;
    if (!d->source || stat(d->source, &sb) < 0)
        return 0;
    if (S_ISREG(sb.st_mode))
        return (uint64_t)sb.st_size / 1024;
    if (!S_ISBLK(sb.st_mode))
        return 0;
    int fd = open(d->source, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    off_t end = lseek(fd, 0, SEEK_END);
    close(fd);
    return end > 0 ? (uint64_t)end / 1024 : 0;
}

unsigned test_drv_dom_console_drain(test_drv *drv, domain_obj *dom, test_drv_dom *p)
{
    /* No shell yet on a kernel that will not reach userspace: input waits, unread. */
    if (!p->clock_running || !p->shell.typeahead_len || p->boot_panic_ns)
        return 0;
    const domain_def *def = dom->def;
    test_drv_shell_disk disks[DOMAIN_DISKS_MAX];
    uint8_t macs[DOMAIN_NICS_MAX][6];
    size_t ndisks = def->ndisks < DOMAIN_DISKS_MAX ? def->ndisks : DOMAIN_DISKS_MAX;
    size_t nnics = def->nnics < DOMAIN_NICS_MAX ? def->nnics : DOMAIN_NICS_MAX;
    for (size_t i = 0; i < ndisks; i++) {
        disks[i].name = def->disks[i].target ? def->disks[i].target : "";
        disks[i].kib = test_drv_disk_kib(&def->disks[i]);
    }
    for (size_t i = 0; i < nnics; i++)
        memcpy(macs[i], def->nics[i].mac, 6);
    test_drv_shell_view view = {
        .hostname = def->name,
        .cpu_model = drv->model,
        .arch = drv->arch,
        .mhz = drv->mhz,
        .vcpus_online = p->online,
        .memory_kib = p->charged_kib,
        .max_memory_kib = def->memory_kib,
        .disks = disks,
        .ndisks = ndisks,
        .macs = (const uint8_t(*)[6])macs,
        .nnics = nnics,
        .uptime_ns = p->uptime_base_ns + (test_drv_now_ns() - p->boot_ns),
        .now_s = test_drv_epoch_ms() / 1000,
        .console = &p->console,
    };
    xbuf out = XBUF_INIT;
    unsigned lines = test_drv_shell_run(&p->shell, &view, &out);
    if (out.len)
        xring_append(&p->console, out.data, out.len);
    xbuf_clear(&out);
    return lines;
}

int test_drv_domain_console_write(api_ctx *ctx, domain_obj *dom, const char *data, size_t len,
                                  size_t *accepted)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    /* Typed at a paused guest, it waits (as in a real tty's buffer) until the guest runs. */
    *accepted = test_drv_shell_type(&p->shell, data, len);
    unsigned lines = test_drv_dom_console_drain(test_drv_get(ctx), dom, p);
    /* Keep what the guest's shell now holds across a daemon restart; not for every key
     * typed in the middle of a line, which would write the status file per keystroke. */
    if (lines > 0 || (*accepted && !p->clock_running))
        api_domain_save_status(ctx, dom);
    return 0;
}

/* Linux's SysRq keys and what the kernel prints for them (drivers/tty/sysrq.c). */
static const struct {
    char key;
    const char *action;
} sysrq_keys[] = {
    {'b', "Resetting"},
    {'c', "Trigger a crash"},
    {'d', "Show Locks Held"},
    {'e', "Terminate All Tasks"},
    {'f', "Manual OOM execution"},
    {'h', "HELP : loglevel(0-9) reboot(b) crash(c) show-all-locks(d) terminate-all-tasks(e) "
          "memory-full-oom-kill(f) kill-all-tasks(i) thaw-filesystems(j) sak(k) "
          "show-backtrace-all-active-cpus(l) show-memory-usage(m) nice-all-RT-tasks(n) "
          "poweroff(o) show-registers(p) show-all-timers(q) unraw(r) sync(s) "
          "show-task-states(t) unmount(u) force-fb(v) show-blocked-tasks(w) "
          "dump-ftrace-buffer(z)"},
    {'i', "Kill All Tasks"},
    {'j', "Emergency Thaw of all frozen filesystems"},
    {'k', "SAK"},
    {'l', "Show backtrace of all active CPUs"},
    {'m', "Show Memory"},
    {'n', "Nice All RT Tasks"},
    {'o', "Power Off"},
    {'p', "Show Regs"},
    {'q', "Show clockevent devices & pending hrtimers (no others)"},
    {'r', "Keyboard mode set to system default"},
    {'s', "Emergency Sync"},
    {'t', "Show State"},
    {'u', "Emergency Remount R/O"},
    {'v', "Restore framebuffer console"},
    {'w', "Show Blocked State"},
    {'x', "Show global CPU Regs"},
    {'z', "Dump ftrace buffer"},
};

int test_drv_domain_sysrq(api_ctx *ctx, domain_obj *dom, char key)
{
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    const char *action = NULL;
    if (key >= '0' && key <= '9')
        action = "Changing Loglevel";
    for (size_t i = 0; !action && i < sizeof(sysrq_keys) / sizeof(sysrq_keys[0]); i++)
        if (sysrq_keys[i].key == key)
            action = sysrq_keys[i].action;
    if (!action) {
        char shown[8];
        if (key > 0x20 && key < 0x7f)
            snprintf(shown, sizeof(shown), "'%c'", key);
        else
            snprintf(shown, sizeof(shown), "0x%02x", (unsigned char)key);
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "%s is not a SysRq key (valid: b c d e f h i j k l m n o p q r s t u v "
                          "w x z 0-9)",
                          shown);
        return -1;
    }
    test_drv_dom_klog(p, "SysRq : %s", action);
    switch (key) {
    case 'b':
        test_drv_dom_reboot(ctx, dom);
        return 0;
    case 'c':
        test_drv_dom_crash(ctx, dom);
        return 0;
    case 'o':
        test_drv_dom_klog(p, "reboot: Power down");
        test_drv_dom_stop(ctx, dom, DOMAIN_REASON_SHUTDOWN, "powered off (sysrq)", false);
        return 0;
    case 's':
        test_drv_dom_klog(p, "Emergency Sync complete");
        break;
    case 'u':
        test_drv_dom_klog(p, "Emergency Remount complete");
        break;
    case 'm':
        test_drv_dom_klog(p, "Mem-Info:");
        test_drv_dom_klog(p, "%" PRIu64 " pages RAM", p->charged_kib / 4);
        break;
    default:
        if (key >= '0' && key <= '9')
            test_drv_dom_klog(p, "Loglevel set to %c", key);
        break;
    }
    api_domain_save_status(ctx, dom);
    return 0;
}

/* ---- reads ---- */

int test_drv_domain_stats(api_ctx *ctx, domain_obj *dom, hv_domain_stats *out)
{
    test_drv *drv = test_drv_get(ctx);
    uint64_t now = test_drv_now_ns();
    memset(out, 0, sizeof(*out));
    if (!dom->priv && dom->is_host) {
        out->cpu_time_ns = test_drv_host_cpu_ns(drv, now);
        out->memory_kib = drv->host_domain_kib;
        return 0;
    }
    test_drv_dom *p = test_drv_dom_get(dom);
    if (!p)
        return -1;
    uint64_t io[TEST_DRV_IO_LAST];
    test_drv_dom_io(p, dom->def, now, io);
    out->cpu_time_ns = test_drv_dom_cpu_ns(p, now);
    out->memory_kib = p->charged_kib;
    out->rd_bytes = io[TEST_DRV_IO_RD_BYTES];
    out->wr_bytes = io[TEST_DRV_IO_WR_BYTES];
    out->rd_reqs = io[TEST_DRV_IO_RD_REQS];
    out->wr_reqs = io[TEST_DRV_IO_WR_REQS];
    out->rx_bytes = io[TEST_DRV_IO_RX_BYTES];
    out->tx_bytes = io[TEST_DRV_IO_TX_BYTES];
    out->rx_packets = io[TEST_DRV_IO_RX_PACKETS];
    out->tx_packets = io[TEST_DRV_IO_TX_PACKETS];
    return 0;
}

uint64_t test_drv_domain_cpu_time(api_ctx *ctx, domain_obj *dom)
{
    const test_drv_dom *p = dom->priv;
    if (p)
        return test_drv_dom_cpu_ns(p, test_drv_now_ns());
    if (dom->is_host)
        return test_drv_host_cpu_ns(test_drv_get(ctx), test_drv_now_ns());
    return 0;
}
