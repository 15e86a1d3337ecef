/*
 * Handlers of the methods that change or read a domain's resources rather than its
 * lifecycle: memory, vCPUs and pinning, devices (attach, detach, list), the console log,
 * SysRq, statistics, jobs, and domain.migrate (the destination's side is api_migrate.c).
 * Live changes go through the driver; changes to a persistent domain's configuration are
 * written to the store in the same call.
 */
#include "api_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory and vCPUs ---- */

xmlrpc_value *api_domain_set_memory(xmlrpc_caller *caller, const xmlrpc_value *params,
                                    void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    int64_t kib = api_arg_int(params, 1, 0);
    if (kib <= 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "memory must be greater than 0 KiB");
        return NULL;
    }
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.set_memory");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "change the memory of");
    if (rc == 0 && (uint64_t)kib > dom->def->memory_kib) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "%" PRId64 " KiB exceeds the maximum memory of domain '%s' (%" PRIu64
                          " KiB); raise it with domain.set_max_memory",
                          kib, dom->def->name, dom->def->memory_kib);
        rc = -1;
    }
    bool active = domain_state_is_active(dom->state);
    if (rc == 0 && active) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_set_memory,
                                "change memory");
        if (rc == 0)
            rc = ctx->driver->domain_set_memory(ctx, dom, (uint64_t)kib);
        if (rc == 0)
            dom->def->current_memory_kib = (uint64_t)kib;
    }
    if (rc == 0) {
        domain_def *pdef = api_domain_persistent_def(dom);
        if (pdef != dom->def || !active) {
            uint64_t old = pdef->current_memory_kib;
            pdef->current_memory_kib =
                (uint64_t)kib < pdef->memory_kib ? (uint64_t)kib : pdef->memory_kib;
            rc = api_domain_save_config(ctx, dom);
            if (rc < 0)
                pdef->current_memory_kib = old;
        }
        if (rc == 0 && active)
            api_domain_save_status(ctx, dom);
    }
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_set_max_memory(xmlrpc_caller *caller, const xmlrpc_value *params,
                                        void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    int64_t kib = api_arg_int(params, 1, 0);
    if (kib <= 0 || (uint64_t)kib > DOMAIN_MEMORY_MAX_KIB) {
        xend_error_report(XEND_ERR_INVALID_ARG, "maximum memory must be between 1 KiB and %llu KiB",
                          (unsigned long long)DOMAIN_MEMORY_MAX_KIB);
        return NULL;
    }
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.set_max_memory");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "change the memory of");
    bool active = domain_state_is_active(dom->state);
    if (rc == 0 && active && (uint64_t)kib < dom->def->current_memory_kib) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "%" PRId64 " KiB is below the current memory of domain '%s' (%" PRIu64
                          " KiB); lower that first with domain.set_memory",
                          kib, dom->def->name, dom->def->current_memory_kib);
        rc = -1;
    }
    if (rc == 0) {
        domain_def probe_def = *api_domain_persistent_def(dom);
        probe_def.memory_kib = (uint64_t)kib;
        rc = api_domain_check_host(ctx, &probe_def, dom);
    }
    if (rc == 0) {
        domain_def *pdef = api_domain_persistent_def(dom);
        uint64_t old_max = pdef->memory_kib, old_cur = pdef->current_memory_kib;
        pdef->memory_kib = (uint64_t)kib;
        if (pdef->current_memory_kib > pdef->memory_kib)
            pdef->current_memory_kib = pdef->memory_kib;
        rc = api_domain_save_config(ctx, dom);
        if (rc < 0) {
            pdef->memory_kib = old_max;
            pdef->current_memory_kib = old_cur;
        } else if (active && (uint64_t)kib < dom->def->memory_kib) {
            /* Lowering the live ceiling is always safe; raising it waits for a reboot. */
            dom->def->memory_kib = (uint64_t)kib;
            api_domain_save_status(ctx, dom);
        }
    }
    return api_dom_end(ctx, dom, rc, true);
}

xmlrpc_value *api_domain_set_vcpus(xmlrpc_caller *caller, const xmlrpc_value *params,
                                   void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    int64_t n = api_arg_int(params, 1, 0);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.set_vcpus");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "change the vCPUs of");
    if (rc == 0 && (n < 1 || n > (int64_t)dom->def->vcpus)) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "domain '%s' can have 1 to %u vCPUs online, not %" PRId64,
                          dom->def->name, dom->def->vcpus, n);
        rc = -1;
    }
    bool active = domain_state_is_active(dom->state);
    if (rc == 0 && active) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_set_vcpus, "change vCPUs");
        if (rc == 0)
            rc = ctx->driver->domain_set_vcpus(ctx, dom, (unsigned)n);
        if (rc == 0)
            dom->def->vcpus_current = (unsigned)n;
    }
    if (rc == 0) {
        domain_def *pdef = api_domain_persistent_def(dom);
        if ((pdef != dom->def || !active) && (unsigned)n <= pdef->vcpus) {
            unsigned old = pdef->vcpus_current;
            pdef->vcpus_current = (unsigned)n;
            rc = api_domain_save_config(ctx, dom);
            if (rc < 0)
                pdef->vcpus_current = old;
        }
        if (rc == 0 && active)
            api_domain_save_status(ctx, dom);
    }
    return api_dom_end(ctx, dom, rc, true);
}

static xmlrpc_value *vcpu_row(const hv_vcpu_info *v, unsigned maxcpus)
{
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "number", xmlrpc_int((int32_t)v->number));
    xmlrpc_struct_set(r, "online", xmlrpc_bool(v->online));
    xmlrpc_struct_set(r, "cpu", xmlrpc_int(v->online ? v->cpu : -1));
    xmlrpc_struct_set(r, "cpu_time", xmlrpc_double((double)v->cpu_time_ns / 1e9));
    xmlrpc_struct_set(r, "state", xmlrpc_string(v->state));
    xmlrpc_struct_set(r, "affinity",
                      xmlrpc_string_take(domain_cpulist_format(v->affinity, maxcpus)));
    return r;
}

xmlrpc_value *api_domain_vcpu_info(xmlrpc_caller *caller, const xmlrpc_value *params,
                                   void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    unsigned cpus = api_host_cpus(ctx);
    domain_obj *dom = api_domain_find(ctx, api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    xmlrpc_value *out = NULL;
    hv_vcpu_info *info = xcalloc(DOMAIN_VCPUS_MAX, sizeof(*info));
    int n = -1;
    if (dom->is_host) {
        /* The host's own CPUs: one vCPU per host CPU, each on its CPU. */
        n = (int)(dom->def->vcpus < DOMAIN_VCPUS_MAX ? dom->def->vcpus : DOMAIN_VCPUS_MAX);
        for (int i = 0; i < n; i++) {
            info[i].number = (unsigned)i;
            info[i].online = true;
            info[i].cpu = i % (int)cpus;
            snprintf(info[i].state, sizeof(info[i].state), "running");
            for (unsigned c = 0; c < cpus; c++)
                info[i].affinity[c / 8] |= (uint8_t)(1u << (c % 8));
        }
    } else if (api_require_active(dom, "get vCPU information of") == 0 &&
               api_require_driver(ctx, (const void *)ctx->driver->domain_vcpu_info,
                                  "report vCPUs") == 0) {
        n = ctx->driver->domain_vcpu_info(ctx, dom, info, DOMAIN_VCPUS_MAX);
    }
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    if (n >= 0) {
        out = xmlrpc_array();
        for (int i = 0; i < n; i++)
            xmlrpc_array_append(out, vcpu_row(&info[i], cpus));
    }
    free(info);
    return out;
}

xmlrpc_value *api_domain_pin_vcpu(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    unsigned cpus = api_host_cpus(ctx);
    int64_t vcpu = api_arg_int(params, 1, -1);
    uint8_t map[32];
    memset(map, 0, sizeof(map));
    int n = domain_cpulist_parse(api_arg_string(params, 2), 256, map);
    if (n < 0)
        return NULL;
    for (unsigned c = cpus; c < 256; c++) {
        if (map[c / 8] & (1u << (c % 8))) {
            xend_error_report(XEND_ERR_INVALID_ARG, "CPU %u does not exist (the host has %u)", c,
                              cpus);
            return NULL;
        }
    }
    if (n == 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "the CPU list is empty");
        return NULL;
    }
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.pin_vcpu");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "pin the vCPUs of");
    if (rc == 0)
        rc = api_require_active(dom, "pin vCPUs of");
    if (rc == 0 && (vcpu < 0 || vcpu >= (int64_t)dom->def->vcpus)) {
        xend_error_report(XEND_ERR_INVALID_ARG, "domain '%s' has no vCPU %" PRId64,
                          dom->def->name, vcpu);
        rc = -1;
    }
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_pin_vcpu, "pin vCPUs");
    if (rc == 0)
        rc = ctx->driver->domain_pin_vcpu(ctx, dom, (unsigned)vcpu, map, cpus);
    return api_dom_end(ctx, dom, rc, false);
}

/* ---- devices ---- */

static int device_flags(const xmlrpc_value *flags, domain_obj *dom, bool *live, bool *config)
{
    bool active = domain_state_is_active(dom->state);
    *live = active;
    *config = dom->persistent;
    if (flags) {
        for (size_t i = 0; i < flags->u.st.n; i++) {
            const char *k = flags->u.st.m[i].name;
            const xmlrpc_value *v = flags->u.st.m[i].value;
            if (v->type != XMLRPC_BOOL || (strcmp(k, "live") != 0 && strcmp(k, "config") != 0)) {
                xend_error_report(XEND_ERR_INVALID_ARG,
                                  "unknown or non-boolean flag '%s' (live, config)", k);
                return -1;
            }
            if (strcmp(k, "live") == 0)
                *live = v->u.b;
            else
                *config = v->u.b;
        }
    }
    if (*live && !active) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is not running: a live change is impossible",
                          dom->def->name);
        return -1;
    }
    if (*config && !dom->persistent) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "domain '%s' is transient: it has no configuration to change",
                          dom->def->name);
        return -1;
    }
    if (!*live && !*config) {
        xend_error_report(XEND_ERR_INVALID_ARG, "nothing to do: neither live nor config");
        return -1;
    }
    return 0;
}

static int def_check_new_device(const domain_def *def, const domain_disk *disk,
                                const domain_nic *nic)
{
    if (disk && domain_def_find_disk(def, disk->target) >= 0) {
        xend_error_report(XEND_ERR_DEVICE_EXISTS, "domain '%s' already has a disk '%s'",
                          def->name, disk->target);
        return -1;
    }
    /* Refused here, not only when the domain next starts and cannot claim the image. */
    for (size_t i = 0; disk && disk->source && i < def->ndisks; i++) {
        const domain_disk *d = &def->disks[i];
        if (d->source && strcmp(d->source, disk->source) == 0 &&
            (api_disk_is_exclusive(d) || api_disk_is_exclusive(disk))) {
            xend_error_report(XEND_ERR_DISK_IN_USE,
                              "domain '%s' already uses '%s' as disk '%s'; an image can back "
                              "two disks only if both are readonly or shareable",
                              def->name, disk->source, d->target);
            return -1;
        }
    }
    if (nic) {
        char mac[18];
        domain_mac_format(nic->mac, mac);
        if (domain_def_find_nic(def, mac) >= 0) {
            xend_error_report(XEND_ERR_DEVICE_EXISTS,
                              "domain '%s' already has an interface with MAC %s", def->name,
                              mac);
            return -1;
        }
    }
    if ((disk && def->ndisks >= DOMAIN_DISKS_MAX) || (nic && def->nnics >= DOMAIN_NICS_MAX)) {
        xend_error_report(XEND_ERR_LIMIT, "domain '%s' has the maximum number of %s", def->name,
                          disk ? "disks" : "interfaces");
        return -1;
    }
    return 0;
}

xmlrpc_value *api_domain_attach_device(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *xml = api_arg_string(params, 1);
    domain_disk disk;
    domain_nic nic;
    const char *kind = NULL;
    memset(&disk, 0, sizeof(disk));
    memset(&nic, 0, sizeof(nic));
    if (domain_xml_parse_device(xml, strlen(xml), &disk, &nic, &kind) < 0)
        return NULL;
    bool is_disk = strcmp(kind, "disk") == 0;
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.attach_device");
    if (!dom) {
        domain_disk_clear(&disk);
        domain_nic_clear(&nic);
        return NULL;
    }
    bool live = false, config = false;
    int rc = api_domain_refuse_host(dom, "attach devices to");
    if (rc == 0)
        rc = device_flags(api_arg(params, 2), dom, &live, &config);
    domain_def *pdef = api_domain_persistent_def(dom);
    if (rc == 0 && live)
        rc = def_check_new_device(dom->def, is_disk ? &disk : NULL, is_disk ? NULL : &nic);
    if (rc == 0 && config && (!live || pdef != dom->def))
        rc = def_check_new_device(pdef, is_disk ? &disk : NULL, is_disk ? NULL : &nic);
    if (rc == 0 && live) {
        if (is_disk) {
            rc = api_require_driver(ctx, (const void *)ctx->driver->domain_attach_disk,
                                    "hot-plug disks");
            if (rc == 0)
                rc = api_disk_check_access(&disk);
            if (rc == 0)
                rc = api_disk_claim(&disk, dom->def->name);
            if (rc == 0) {
                rc = ctx->driver->domain_attach_disk(ctx, dom, &disk);
                if (rc < 0)
                    api_disk_release(&disk);
            }
        } else {
            rc = api_require_driver(ctx, (const void *)ctx->driver->domain_attach_nic,
                                    "hot-plug interfaces");
            if (rc == 0)
                rc = ctx->driver->domain_attach_nic(ctx, dom, &nic);
        }
        if (rc == 0)
            api_domain_save_status(ctx, dom);
    }
    if (rc == 0 && config && (!live || pdef != dom->def)) {
        if (is_disk)
            domain_def_add_disk(pdef, &disk);
        else
            domain_def_add_nic(pdef, &nic);
        rc = api_domain_save_config(ctx, dom);
        if (rc < 0) {
            if (is_disk)
                domain_def_remove_disk(pdef, pdef->ndisks - 1);
            else
                domain_def_remove_nic(pdef, pdef->nnics - 1);
        }
        if (rc == 0 && !live) {
            char mac[18];
            domain_mac_format(nic.mac, mac);
            api_event_domain(ctx, dom, "device", "added", "config",
                             api_event_device_extra(kind, is_disk ? disk.target : mac));
        }
    }
    domain_disk_clear(&disk);
    domain_nic_clear(&nic);
    return api_dom_end(ctx, dom, rc, false);
}

/* Find a device by disk target, MAC or NIC index; *is_disk tells which. -1 with NO_DEVICE
 * reported if there is none. */
static long device_find(const domain_def *def, const char *id, bool *is_disk)
{
    long i = domain_def_find_disk(def, id);
    if (i >= 0) {
        *is_disk = true;
        return i;
    }
    *is_disk = false;
    i = domain_def_find_nic(def, id);
    if (i < 0)
        xend_error_report(XEND_ERR_NO_DEVICE, "domain '%s' has no device '%s'", def->name, id);
    return i;
}

xmlrpc_value *api_domain_detach_device(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *id = api_arg_string(params, 1);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.detach_device");
    if (!dom)
        return NULL;
    bool live = false, config = false, is_disk = false;
    int rc = api_domain_refuse_host(dom, "detach devices from");
    if (rc == 0)
        rc = device_flags(api_arg(params, 2), dom, &live, &config);
    domain_def *pdef = api_domain_persistent_def(dom);
    long li = -1, ci = -1;
    if (rc == 0 && live && (li = device_find(dom->def, id, &is_disk)) < 0)
        rc = -1;
    bool cfg_disk = false;
    if (rc == 0 && config && (!live || pdef != dom->def) &&
        (ci = device_find(pdef, id, &cfg_disk)) < 0)
        rc = -1;
    if (rc == 0 && live) {
        if (is_disk) {
            domain_disk copy;
            domain_disk_copy(&copy, &dom->def->disks[li]);
            rc = api_require_driver(ctx, (const void *)ctx->driver->domain_detach_disk,
                                    "unplug disks");
            if (rc == 0)
                rc = ctx->driver->domain_detach_disk(ctx, dom, (size_t)li);
            if (rc == 0)
                api_disk_release(&copy);
            domain_disk_clear(&copy);
        } else {
            rc = api_require_driver(ctx, (const void *)ctx->driver->domain_detach_nic,
                                    "unplug interfaces");
            if (rc == 0)
                rc = ctx->driver->domain_detach_nic(ctx, dom, (size_t)li);
        }
        if (rc == 0)
            api_domain_save_status(ctx, dom);
    }
    if (rc == 0 && ci >= 0) {
        domain_def *backup = domain_def_copy(pdef);
        if (cfg_disk)
            domain_def_remove_disk(pdef, (size_t)ci);
        else
            domain_def_remove_nic(pdef, (size_t)ci);
        rc = api_domain_save_config(ctx, dom);
        if (rc < 0) {
            /* Put the device back: the stored config did not change. */
            if (cfg_disk)
                domain_def_add_disk(pdef, &backup->disks[ci]);
            else
                domain_def_add_nic(pdef, &backup->nics[ci]);
        }
        domain_def_free(backup);
        if (rc == 0 && !live)
            api_event_domain(ctx, dom, "device", "removed", "config",
                             api_event_device_extra(cfg_disk ? "disk" : "interface", id));
    }
    return api_dom_end(ctx, dom, rc, false);
}

xmlrpc_value *api_domain_devices(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    domain_obj *dom = api_domain_find(api_ctx_of(caller), api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    const domain_def *def = dom->def;
    xmlrpc_value *out = xmlrpc_array();
    for (size_t i = 0; i < def->ndisks; i++) {
        const domain_disk *d = &def->disks[i];
        xmlrpc_value *r = xmlrpc_struct();
        xmlrpc_struct_set(r, "kind", xmlrpc_string("disk"));
        xmlrpc_struct_set(r, "index", xmlrpc_int((int32_t)i));
        xmlrpc_struct_set(r, "target", xmlrpc_string(d->target ? d->target : ""));
        xmlrpc_struct_set(r, "source", xmlrpc_string(d->source ? d->source : ""));
        xmlrpc_struct_set(r, "type", xmlrpc_string(domain_disk_type_name(d->type)));
        xmlrpc_struct_set(r, "device", xmlrpc_string(domain_disk_device_name(d->device)));
        xmlrpc_struct_set(r, "format", xmlrpc_string(domain_disk_format_name(d->format)));
        xmlrpc_struct_set(r, "bus", xmlrpc_string(domain_disk_bus_name(d->bus)));
        xmlrpc_struct_set(r, "readonly", xmlrpc_bool(d->readonly));
        xmlrpc_struct_set(r, "shareable", xmlrpc_bool(d->shareable));
        xmlrpc_array_append(out, r);
    }
    for (size_t i = 0; i < def->nnics; i++) {
        const domain_nic *n = &def->nics[i];
        char mac[18];
        domain_mac_format(n->mac, mac);
        xmlrpc_value *r = xmlrpc_struct();
        xmlrpc_struct_set(r, "kind", xmlrpc_string("interface"));
        xmlrpc_struct_set(r, "index", xmlrpc_int((int32_t)i));
        xmlrpc_struct_set(r, "mac", xmlrpc_string(mac));
        xmlrpc_struct_set(r, "type", xmlrpc_string(domain_nic_type_name(n->type)));
        xmlrpc_struct_set(r, "source", xmlrpc_string(n->source ? n->source : ""));
        xmlrpc_struct_set(r, "model", xmlrpc_string(n->model ? n->model : ""));
        xmlrpc_array_append(out, r);
    }
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    return out;
}

/* ---- console, sysrq, stats ---- */

/* Console bytes as an XML-safe string: invalid UTF-8 and characters XML 1.0 cannot carry
 * become U+FFFD, so a guest's escape sequences never break a reply. */
static xmlrpc_value *console_text(const char *p, size_t n)
{
    if (n == 0)
        return xmlrpc_string("");
    xbuf out = XBUF_INIT;
    xbuf_reserve(&out, n + 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            if (c >= 0x20 || c == '\n' || c == '\t' || c == '\r')
                xbuf_addc(&out, (char)c);
            else
                xbuf_adds(&out, "\xef\xbf\xbd");
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        bool ok = len && c < 0xf5 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)p[i + k] & 0xc0) == 0x80;
        if (ok && len == 3) {
            uint32_t cp = ((c & 0x0fu) << 12) | (((unsigned char)p[i + 1] & 0x3fu) << 6) |
                          ((unsigned char)p[i + 2] & 0x3fu);
            ok = cp >= 0x800 && !(cp >= 0xd800 && cp <= 0xdfff) && cp != 0xfffe && cp != 0xffff;
        } else if (ok && len == 4) {
            uint32_t cp = ((c & 0x07u) << 18) | (((unsigned char)p[i + 1] & 0x3fu) << 12);
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (ok) {
            xbuf_add(&out, p + i, len);
            i += len;
        } else {
            xbuf_adds(&out, "\xef\xbf\xbd");
            i++;
        }
    }
    size_t len;
    char *s = xbuf_steal(&out, &len);
    return xmlrpc_string_take(s);
}

#define CONSOLE_READ_MAX (256u * 1024u)

xmlrpc_value *api_domain_console_read(xmlrpc_caller *caller, const xmlrpc_value *params,
                                      void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    int64_t offset = api_arg_int(params, 1, 0);
    if (offset < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "offset must not be negative");
        return NULL;
    }
    domain_obj *dom = api_domain_find(ctx, api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    xbuf buf = XBUF_INIT;
    uint64_t next = 0, start = 0;
    int rc = api_domain_refuse_host(dom, "read the console of");
    if (rc == 0)
        rc = api_require_active(dom, "read the console of");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_console_read,
                                "read consoles");
    if (rc == 0)
        rc = ctx->driver->domain_console_read(ctx, dom, (uint64_t)offset, CONSOLE_READ_MAX, &buf,
                                              &next, &start);
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    xmlrpc_value *r = NULL;
    if (rc == 0) {
        r = xmlrpc_struct();
        xmlrpc_struct_set(r, "data", console_text(buf.data ? buf.data : "", buf.len));
        xmlrpc_struct_set(r, "offset", xmlrpc_i8((int64_t)next));
        xmlrpc_struct_set(r, "start", xmlrpc_i8((int64_t)start));
    }
    xbuf_clear(&buf);
    return r;
}

/* What one call may type: a terminal line's worth (a guest's tty buffers 4 KiB). */
#define CONSOLE_WRITE_MAX 4096u

xmlrpc_value *api_domain_console_write(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const xmlrpc_value *text = api_arg(params, 1);
    if (text->u.s.len > CONSOLE_WRITE_MAX) {
        xend_error_report(XEND_ERR_LIMIT,
                          "console input of %zu bytes is more than the %u one call may type",
                          text->u.s.len, CONSOLE_WRITE_MAX);
        return NULL;
    }
    /* The text form refuses NUL (no XML 1.0 text holds one; a decoder that let one through
     * must not make it reach the guest); the base64 form carries raw key bytes, NUL
     * included, and the guest's tty decides what to do with them. */
    if (text->type == XMLRPC_STRING && memchr(text->u.s.ptr, '\0', text->u.s.len)) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "console input must not contain a NUL character (send raw bytes "
                          "as base64)");
        return NULL;
    }
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.console_write");
    if (!dom)
        return NULL;
    size_t accepted = 0;
    int rc = api_domain_refuse_host(dom, "write to the console of");
    if (rc == 0)
        rc = api_require_active(dom, "write to the console of");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_console_write,
                                "write to consoles");
    if (rc == 0)
        rc = ctx->driver->domain_console_write(ctx, dom, text->u.s.ptr, text->u.s.len, &accepted);
    xmlrpc_value *ok = api_dom_end(ctx, dom, rc, false);
    if (!ok)
        return NULL;
    xmlrpc_value_free(ok);
    return xmlrpc_i8((int64_t)accepted);
}

xmlrpc_value *api_domain_sysrq(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *key = api_arg_string(params, 1);
    if (strlen(key) != 1) {
        xend_error_report(XEND_ERR_INVALID_ARG, "a SysRq key is one character, not '%s'", key);
        return NULL;
    }
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.sysrq");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "send SysRq to");
    if (rc == 0)
        rc = api_require_active(dom, "send SysRq to");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_sysrq, "send SysRq");
    if (rc == 0)
        rc = ctx->driver->domain_sysrq(ctx, dom, key[0]);
    return api_dom_end(ctx, dom, rc, false);
}

xmlrpc_value *api_domain_stats(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    domain_obj *dom = api_domain_find(ctx, api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    hv_domain_stats st;
    memset(&st, 0, sizeof(st));
    int rc = 0;
    if (dom->is_host) {
        st.cpu_time_ns = api_host_cpu_ns();
        st.memory_kib = dom->def->current_memory_kib;
        goto done;
    }
    rc = api_require_active(dom, "get statistics of");
    if (rc == 0)
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_stats, "report statistics");
    if (rc == 0)
        rc = ctx->driver->domain_stats(ctx, dom, &st);
done:
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    if (rc < 0)
        return NULL;
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "cpu_time", xmlrpc_double((double)st.cpu_time_ns / 1e9));
    xmlrpc_struct_set(r, "memory", xmlrpc_i8((int64_t)st.memory_kib));
#define STAT(f) xmlrpc_struct_set(r, #f, xmlrpc_i8((int64_t)st.f))
    STAT(rd_bytes);
    STAT(wr_bytes);
    STAT(rd_reqs);
    STAT(wr_reqs);
    STAT(rx_bytes);
    STAT(tx_bytes);
    STAT(rx_packets);
    STAT(tx_packets);
#undef STAT
    return r;
}

/* ---- jobs ---- */

xmlrpc_value *api_domain_job_info(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    domain_obj *dom = api_domain_find(api_ctx_of(caller), api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "job", xmlrpc_string(dom->job ? dom->job : ""));
    double elapsed = 0;
    if (dom->job) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed = (double)(now.tv_sec - dom->job_start.tv_sec) +
                  (double)(now.tv_nsec - dom->job_start.tv_nsec) / 1e9;
    }
    xmlrpc_struct_set(r, "elapsed", xmlrpc_double(elapsed));
    xmlrpc_struct_set(r, "total", xmlrpc_i8(dom->job ? (int64_t)dom->job_total : 0));
    xmlrpc_struct_set(r, "done", xmlrpc_i8(dom->job ? (int64_t)dom->job_done : 0));
    int progress = -1;
    if (dom->job && dom->job_total)
        progress = (int)(dom->job_done * 100 / dom->job_total);
    xmlrpc_struct_set(r, "progress", xmlrpc_int(dom->job ? progress : -1));
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    return r;
}

xmlrpc_value *api_domain_job_abort(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    domain_obj *dom = api_domain_find(api_ctx_of(caller), api_arg_string(params, 0));
    if (!dom)
        return NULL;
    domain_obj_lock(dom);
    int rc = 0;
    if (!dom->job || !dom->job_total) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          dom->job ? "the job of domain '%s' (%s) cannot be aborted"
                                   : "domain '%s' has no job to abort%s",
                          dom->def->name, dom->job ? dom->job : "");
        rc = -1;
    } else {
        dom->job_abort = true;
    }
    domain_obj_unlock(dom);
    domain_obj_unref(dom);
    return rc == 0 ? xmlrpc_bool(true) : NULL;
}

/* ---- migration ---- */

xmlrpc_value *api_domain_migrate(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)data;
    api_ctx *ctx = api_ctx_of(caller);
    const char *uri = api_arg_string(params, 1);
    bool live = api_arg_bool(params, 2, false);
    /* Before the job: it may resolve a host name. Sent over a socket to ourselves, the
     * domain would wait for its own migrate job; it is relocated in place instead. */
    bool self = api_self_is_uri(ctx, uri);
    domain_obj *dom = api_dom_begin(caller, api_arg_string(params, 0), "domain.migrate");
    if (!dom)
        return NULL;
    int rc = api_domain_refuse_host(dom, "migrate");
    if (rc == 0)
        rc = api_require_active(dom, "migrate");
    if (rc == 0 && self) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_relocate,
                                "migrate a domain to the daemon it runs on (relocate it)");
        if (rc == 0)
            rc = ctx->driver->domain_relocate(ctx, dom, live);
    } else if (rc == 0) {
        rc = api_require_driver(ctx, (const void *)ctx->driver->domain_migrate, "migrate");
        if (rc == 0)
            rc = ctx->driver->domain_migrate(ctx, dom, uri, live);
    }
    return api_dom_end(ctx, dom, rc, false);
}
