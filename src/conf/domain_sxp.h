/*
 * Domain configs as S-expressions: the form Xend's xend.domain.create took and the form
 * `xm list --long` and xend.domain return (reference/xend-xm.md §1.2, §2.3).
 */
#ifndef XEND_CONF_DOMAIN_SXP_H
#define XEND_CONF_DOMAIN_SXP_H

#include "conf/domain_conf.h"
#include "xmlrpc/value.h"

#include <stdint.h>

/* Runtime facts appended to a domain's sxp by xend.domain / xm list --long. */
typedef struct {
    int domid;             /* -1 when not running (omitted) */
    const char *state;     /* six-letter Xend flags, e.g. "r-----" */
    double cpu_time;       /* seconds */
    unsigned online_vcpus;
    double up_time;        /* seconds; < 0 omitted */
    double start_time;     /* epoch seconds; < 0 omitted */
    const char *shutdown_reason; /* NULL omitted */
} domain_sxp_runtime;

/* ['vm', ['name',..], ['memory', MiB], ['maxmem', MiB], ['vcpus', n], ['uuid', ..],
 *  ['on_poweroff',..], ..., ['image', ['linux', ['kernel',..], ['ramdisk',..], ['args',..]]]
 *  or ['image', ['hvm', ...]], ['device', ['vbd', ['uname','file:/p'], ['dev','xvda'],
 *  ['mode','w']]], ['device', ['vif', ['mac',..], ['bridge',..]]]] -> def.
 * Accepts head 'vm' or 'domain'. Returns a validated def or NULL with CONFIG_INVALID. */
domain_def *domain_sxp_parse(const xmlrpc_value *sxp);

/* def (+ runtime facts when rt is not NULL) -> ['domain', ['domid', N], ['uuid', ..],
 * ['name', ..], ['vcpus', n], ['memory', MiB], ['maxmem', MiB], ..., ['image', ...],
 * ['device', ...]..., ['state', 'r-----'], ...]. Caller frees. */
xmlrpc_value *domain_sxp_format(const domain_def *def, const domain_sxp_runtime *rt);

/* One device as Xend's device sxp: ['vbd', ['uname','file:/p'], ['dev','xvda'], ['mode','w']]
 * or ['vif', ['mac',..], ['bridge',..], ['model',..]]. */
xmlrpc_value *domain_sxp_format_disk(const domain_disk *disk);
xmlrpc_value *domain_sxp_format_nic(const domain_nic *nic);
/* The reverse, for xend.domain.device_create. kind receives "vbd" or "vif". 0 / -1. */
int domain_sxp_parse_device(const xmlrpc_value *sxp, domain_disk *disk, domain_nic *nic,
                            const char **kind);

/* Xend disk spec "phy:/dev/x" / "file:/p" / "tap:aio:/p" / "tap:qcow2:/p" -> disk fields. */
int domain_sxp_parse_uname(const char *uname, domain_disk *disk);

#endif
