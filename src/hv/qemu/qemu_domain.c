/*
 * QEMU guests, lifecycle: boot, shutdown and reboot requests, destroy, pause, and what
 * QEMU reports on its own (the guest powered off, rebooted or panicked; the process died).
 * States and lifecycle events follow the simulated driver (test_driver_domain.c) so the
 * API behaves the same with either driver:
 *   boot                     RUNNING/BOOTED started/booted (then PAUSED/STARTING_UP
 *                            suspended/paused when started paused)
 *   shutdown request         system_powerdown (the ACPI power button): SHUTDOWN/USER
 *                            shutdown/poweroff; when the guest powers off, shutdown/finished
 *                            and the guest is gone (on_poweroff applied by the API)
 *   reboot request           the same power button, then, when the guest has powered off,
 *                            system_reset + cont in the same QEMU: RUNNING/REBOOTED rebooted
 *                            (libvirt's "fake reboot": works with any guest that honours
 *                            ACPI, needs no guest agent)
 *   guest reboots itself     on_reboot=restart: RESET in place, RUNNING/REBOOTED rebooted;
 *                            otherwise QEMU runs with -action reboot=shutdown and the reboot
 *                            ends the guest (destroy) or keeps it stopped (preserve)
 *   guest panics (pvpanic)   CRASHED/PANICKED crashed/panicked, QEMU stopped, on_crash
 *                            applied by the API
 *   late device removal      a detach that timed out, completed by the guest later: the
 *                            device leaves the definition then (device/removed)
 *   QEMU dies unasked        killed by a signal or failing: CRASHED (on_crash applies);
 *                            stopped politely by someone else (SIGTERM, which with
 *                            -no-shutdown only pauses QEMU): DESTROYED
 *
 * QEMU runs with -no-shutdown, so a guest that powers off leaves its QEMU in status
 * "shutdown" and xend decides: that is what makes the fake reboot and on_reboot=preserve
 * possible.
 */
#include "qemu_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RESET events within this window count as one reboot (SeaBIOS resets twice more within
 * 50 ms; a guest's own reboot sends three in a row). */
#define QEMU_RESET_BURST_NS (2000ull * 1000000u)

static const char *qemu_shutdown_mode_name(hv_shutdown_mode mode)
{
    switch (mode) {
    case HV_SHUTDOWN_REBOOT:
        return "reboot";
    case HV_SHUTDOWN_HALT:
        return "halt";
    default:
        return "poweroff";
    }
}

void qemu_domain_stopped(api_ctx *ctx, domain_obj *dom, domain_reason reason, bool final)
{
    qemu_process_stop(ctx, dom);
    if (final)
        api_domain_stopped_final(ctx, dom, reason);
    else
        api_domain_stopped(ctx, dom, reason);
}

int qemu_domain_resume_launched(api_ctx *ctx, domain_obj *dom, bool paused,
                                domain_reason running_reason, const char *detail,
                                domain_reason paused_reason)
{
    domain_def *def = dom->def;
    /* A relocated guest already has its new id. */
    if (dom->id < 0 && api_domain_alloc_id(ctx, dom) < 0)
        goto fail;
    if (def->current_memory_kib && def->current_memory_kib < def->memory_kib) {
        json_object *args = json_object_new_object();
        json_object_object_add(args, "value",
                               json_object_new_int64((int64_t)def->current_memory_kib * 1024));
        int r = qemu_dom_command(dom, "balloon", args, NULL, NULL);
        json_object_put(args);
        if (r < 0)
            goto fail;
    }
    if (def->cpuset && qemu_domain_apply_cpuset(ctx, dom) < 0)
        goto fail;
    if (!paused && qemu_dom_command(dom, "cont", NULL, NULL, NULL) < 0)
        goto fail;
    dom->start_time = time(NULL);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, running_reason, "started", detail);
    if (paused)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, paused_reason, "suspended",
                             running_reason == DOMAIN_REASON_BOOTED ? "paused" : detail);
    return 0;
fail:;
    /* Keep the fault of the step that failed across the cleanup. */
    xend_error saved = *xend_error_last();
    qemu_process_stop(ctx, dom);
    if (dom->id >= 0)
        api_domain_release_id(ctx, dom);
    xend_error_report(saved.code, "%s", saved.message);
    return -1;
}

int qemu_domain_start(api_ctx *ctx, domain_obj *dom, const char *restore_path, bool paused)
{
    if (dom->priv) {
        /* Inactive with a QEMU: an incoming migration waits for its finish. */
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is being received from a migration; it starts when the "
                          "migration finishes",
                          dom->def->name);
        return -1;
    }
    if (restore_path)
        return qemu_domain_restore(ctx, dom, restore_path, paused);
    qemu_launch how = {.incoming_fd = -1};
    if (qemu_process_start(ctx, dom, &how, NULL) < 0)
        return -1;
    return qemu_domain_resume_launched(ctx, dom, paused, DOMAIN_REASON_BOOTED, "booted",
                                       DOMAIN_REASON_STARTING_UP);
}

int qemu_domain_destroy(api_ctx *ctx, domain_obj *dom)
{
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' destroyed", dom->def->name);
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_DESTROYED, false);
    return 0;
}

int qemu_domain_shutdown(api_ctx *ctx, domain_obj *dom, hv_shutdown_mode mode)
{
    qemu_dom *p = qemu_dom_get(dom);
    if (!p)
        return -1;
    if (strcmp(p->shutdown_reason, "guest-reset") == 0 && dom->state == DOMAIN_STATE_SHUTDOWN) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is halted and kept for inspection (on_reboot=preserve); "
                          "destroy it instead",
                          dom->def->name);
        return -1;
    }
    if (qemu_dom_command(dom, "system_powerdown", NULL, NULL, NULL) < 0)
        return -1;
    /* The guest may have gone while the lock was dropped. */
    if (dom->priv != p)
        return 0;
    p->fake_reboot = mode == HV_SHUTDOWN_REBOOT;
    /* A paused guest acts on the button once unpaused; it stays paused meanwhile. */
    if (dom->state != DOMAIN_STATE_PAUSED)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_SHUTDOWN, DOMAIN_REASON_USER, "shutdown",
                             qemu_shutdown_mode_name(mode));
    else
        api_domain_save_status(ctx, dom);
    return 0;
}

int qemu_domain_pause(api_ctx *ctx, domain_obj *dom)
{
    if (!qemu_dom_get(dom) || qemu_dom_command(dom, "stop", NULL, NULL, NULL) < 0)
        return -1;
    api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_USER, "suspended", "paused");
    return 0;
}

int qemu_domain_unpause(api_ctx *ctx, domain_obj *dom)
{
    if (!qemu_dom_get(dom) || qemu_dom_command(dom, "cont", NULL, NULL, NULL) < 0)
        return -1;
    api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_UNPAUSED, "resumed",
                         "unpaused");
    return 0;
}

/* ---- what QEMU reports ---- */

static const char *qemu_json_str(json_object *data, const char *key)
{
    json_object *v = NULL;
    if (!data || !json_object_object_get_ex(data, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static bool qemu_json_bool(json_object *data, const char *key)
{
    json_object *v = NULL;
    return data && json_object_object_get_ex(data, key, &v) && json_object_get_boolean(v);
}

/* The guest rebooted in place (same QEMU): a fresh boot for everyone watching. */
static void qemu_domain_rebooted(api_ctx *ctx, domain_obj *dom, qemu_dom *p)
{
    p->last_reset_ns = qemu_now_ns();
    p->fake_reboot = false;
    p->shutdown_reason[0] = '\0';
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' rebooted", dom->def->name);
    api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_REBOOTED, "rebooted", "");
}

static void qemu_domain_guest_off(api_ctx *ctx, domain_obj *dom, qemu_dom *p)
{
    if (p->fake_reboot) {
        /* Our reboot request: the guest is down, start it again in the same QEMU. */
        p->last_reset_ns = qemu_now_ns();
        if (qemu_dom_command(dom, "system_reset", NULL, NULL, NULL) == 0 && dom->priv == p &&
            qemu_dom_command(dom, "cont", NULL, NULL, NULL) == 0 && dom->priv == p) {
            qemu_domain_rebooted(ctx, dom, p);
            return;
        }
        log_warn("qemu: reboot of '%s' failed: %s; it stays off", dom->def->name,
                 xend_error_last()->message);
        if (dom->priv != p)
            return;
    }
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' shut down", dom->def->name);
    api_event_domain(ctx, dom, "lifecycle", "shutdown", "finished", NULL);
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_SHUTDOWN, false);
}

/* With -action reboot=shutdown (on_reboot is not restart) a guest's reboot ends here. */
static void qemu_domain_guest_reboot_off(api_ctx *ctx, domain_obj *dom)
{
    qemu_drv *drv = qemu_drv_get(ctx);
    if (dom->def->on_reboot == DOMAIN_ACTION_PRESERVE) {
        qemu_drv_log(drv, "domain '%s' rebooted; preserved (on_reboot)", dom->def->name);
        api_domain_set_state(ctx, dom, DOMAIN_STATE_SHUTDOWN, DOMAIN_REASON_USER, "shutdown",
                             "reboot");
        return;
    }
    qemu_drv_log(drv, "domain '%s' rebooted; destroyed (on_reboot)", dom->def->name);
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_SHUTDOWN, true);
}

static void qemu_domain_panicked(api_ctx *ctx, domain_obj *dom)
{
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s' crashed (guest kernel panic)", dom->def->name);
    /* With on_crash=preserve api_domain_stopped keeps it CRASHED and posts the event. */
    if (dom->def->on_crash != DOMAIN_ACTION_PRESERVE)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_CRASHED, DOMAIN_REASON_PANICKED, "crashed",
                             "panicked");
    qemu_domain_stopped(ctx, dom, DOMAIN_REASON_CRASHED, false);
}

/* The monitor connection ended without our asking: QEMU is gone or going. */
static void qemu_domain_eof(api_ctx *ctx, domain_obj *dom, qemu_dom *p, json_object *data)
{
    if (p->quitting)
        return;
    const char *why = qemu_json_str(data, "why");
    const char *reason = p->shutdown_reason;
    domain_reason r = DOMAIN_REASON_CRASHED;
    if (strcmp(reason, "host-signal") == 0 || strcmp(reason, "host-qmp-quit") == 0)
        r = DOMAIN_REASON_DESTROYED;
    else if (strcmp(reason, "guest-shutdown") == 0)
        r = DOMAIN_REASON_SHUTDOWN;
    qemu_drv_log(qemu_drv_get(ctx), "domain '%s': QEMU (pid %d) went away (%s%s%s)", dom->def->name,
                 (int)p->pid, why, reason[0] ? "; last shutdown reason " : "", reason);
    if (r == DOMAIN_REASON_CRASHED && dom->def->on_crash != DOMAIN_ACTION_PRESERVE)
        api_domain_set_state(ctx, dom, DOMAIN_STATE_CRASHED, DOMAIN_REASON_CRASHED, "crashed",
                             "crashed");
    qemu_domain_stopped(ctx, dom, r, false);
}

/* After a daemon restart: QEMU's status against the state recorded in the status file. */
static void qemu_domain_reconcile(api_ctx *ctx, domain_obj *dom, qemu_dom *p, json_object *st)
{
    const char *status = qemu_json_str(st, "status");
    if (strcmp(status, "running") == 0) {
        if (dom->state == DOMAIN_STATE_PAUSED)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_RUNNING, DOMAIN_REASON_UNPAUSED, "resumed",
                                 "unpaused");
    } else if (strcmp(status, "paused") == 0) {
        if (dom->state != DOMAIN_STATE_PAUSED)
            api_domain_set_state(ctx, dom, DOMAIN_STATE_PAUSED, DOMAIN_REASON_USER, "suspended",
                                 "paused");
    } else if (strcmp(status, "shutdown") == 0) {
        if (dom->state == DOMAIN_STATE_SHUTDOWN && strcmp(p->shutdown_reason, "guest-reset") == 0)
            return; /* on_reboot=preserve, as it was */
        qemu_domain_guest_off(ctx, dom, p);
    } else if (strcmp(status, "guest-panicked") == 0) {
        qemu_domain_panicked(ctx, dom);
    } else {
        /* prelaunch, inmigrate, postmigrate...: a start or migration the previous daemon
         * never finished. The guest cannot be trusted to be whole. */
        qemu_drv_log(qemu_drv_get(ctx), "domain '%s': QEMU was left in status '%s'; stopping it",
                     dom->def->name, status);
        qemu_domain_stopped(ctx, dom, DOMAIN_REASON_DAEMON, true);
    }
}

/* A device left QEMU. Usually the detach that asked for it has already taken it out of
 * the definition and there is nothing to do. What remains is a removal the guest finished
 * late, after its detach timed out: the definition follows QEMU, once QEMU confirms the
 * device is really gone (the id may belong to a device attached again since). */
static void qemu_domain_device_deleted(api_ctx *ctx, domain_obj *dom, qemu_dom *p,
                                       json_object *data)
{
    const char *id = qemu_json_str(data, "device");
    const domain_def *def = dom->def;
    char dev[40], a[40], b[40];
    long disk = -1, nic = -1;
    for (size_t i = 0; i < def->ndisks && disk < 0; i++) {
        qemu_disk_ids(&def->disks[i], dev, a, b);
        if (qemu_disk_is_pci(&def->disks[i]) && strcmp(dev, id) == 0)
            disk = (long)i;
    }
    for (size_t i = 0; i < def->nnics && disk < 0 && nic < 0; i++) {
        qemu_nic_ids(&def->nics[i], dev, a);
        if (strcmp(dev, id) == 0)
            nic = (long)i;
    }
    if (disk < 0 && nic < 0)
        return;
    json_object *args = json_object_new_object(), *list = NULL;
    json_object_object_add(args, "path", json_object_new_string("/machine/peripheral"));
    int r = qemu_dom_command(dom, "qom-list", args, &list, NULL);
    json_object_put(args);
    bool present = r < 0 || !json_object_is_type(list, json_type_array);
    for (size_t i = 0; !present && i < json_object_array_length(list); i++)
        present = strcmp(qemu_json_str(json_object_array_get_idx(list, i), "name"), id) == 0;
    json_object_put(list);
    if (r < 0)
        xend_error_reset();
    if (present || dom->priv != p)
        return;
    log_info("qemu: domain '%s': the guest released %s late; it is detached now", dom->def->name,
             id);
    if (disk >= 0) {
        api_disk_release(&dom->def->disks[disk]);
        qemu_domain_disk_gone(ctx, dom, (size_t)disk);
    } else
        qemu_domain_nic_gone(ctx, dom, (size_t)nic);
    api_domain_save_status(ctx, dom);
}

void qemu_domain_handle_event(api_ctx *ctx, domain_obj *dom, const char *event, json_object *data)
{
    qemu_dom *p = dom->priv;
    log_debug("qemu: '%s' event %s %s", dom->def->name, event,
              data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "");
    if (strcmp(event, "EOF") == 0) {
        qemu_domain_eof(ctx, dom, p, data);
    } else if (strcmp(event, "STATUS") == 0) {
        qemu_domain_reconcile(ctx, dom, p, data);
    } else if (p->quitting) {
        return;
    } else if (strcmp(event, "SHUTDOWN") == 0) {
        const char *reason = qemu_json_str(data, "reason");
        snprintf(p->shutdown_reason, sizeof(p->shutdown_reason), "%s", reason);
        if (!qemu_json_bool(data, "guest")) {
            /* Not us (we set quitting first): someone sent QEMU a SIGTERM or a quit of
             * their own. With -no-shutdown a signalled QEMU only stops; finish the job. */
            qemu_drv_log(qemu_drv_get(ctx), "domain '%s': QEMU was stopped from outside (%s)",
                         dom->def->name, reason);
            qemu_domain_stopped(ctx, dom, DOMAIN_REASON_DESTROYED, false);
            return;
        }
        if (strcmp(reason, "guest-reset") == 0)
            qemu_domain_guest_reboot_off(ctx, dom);
        else if (strcmp(reason, "guest-panic") == 0)
            qemu_domain_panicked(ctx, dom);
        else
            qemu_domain_guest_off(ctx, dom, p);
    } else if (strcmp(event, "RESET") == 0) {
        uint64_t now = qemu_now_ns();
        bool burst = p->last_reset_ns && now - p->last_reset_ns < QEMU_RESET_BURST_NS;
        if (!qemu_json_bool(data, "guest") || burst) {
            if (burst)
                p->last_reset_ns = now;
            return;
        }
        qemu_domain_rebooted(ctx, dom, p);
    } else if (strcmp(event, "GUEST_PANICKED") == 0) {
        qemu_domain_panicked(ctx, dom);
    } else if (strcmp(event, "DEVICE_DELETED") == 0) {
        qemu_domain_device_deleted(ctx, dom, p, data);
    }
}
