/*
 * The files the simulated guest's shell shows: a small read-only tree whose /proc, /sys
 * and /etc entries are computed from the live domain each time they are read, so that what
 * `cat` prints proves what the API did, the way a Linux guest would show it: cpuinfo has
 * one block per online vCPU, meminfo and /proc/xen/balloon the current allocation,
 * partitions one line per attached disk with Linux's device numbers, uptime the time since
 * the guest last booted, /sys/class/net one directory per NIC with its MAC address, /dev
 * one node per disk, /etc/hostname the domain's name. The rest (bin, tmp, ...) is there so
 * `ls /` looks like a small busybox system.
 */
#include "test_driver_priv.h"

#include "util/alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths ---- */

bool test_drv_fs_path(const char *path, char *out, size_t cap)
{
    size_t len = 0;
    const char *p = path;
    if (cap < 2)
        return false;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t clen = (size_t)(e - p);
        if (clen == 0 || (clen == 1 && p[0] == '.')) {
            /* nothing */
        } else if (clen == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before the removed component */
        } else {
            if (len + 1 + clen + 1 > cap)
                return false;
            out[len++] = '/';
            memcpy(out + len, p, clen);
            len += clen;
        }
        p = e;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return true;
}

/* ---- what the guest reports, from the view ---- */

void test_drv_fs_memory_split(uint64_t total, uint64_t *used, uint64_t *cache)
{
    /* A small, stable share for the kernel and busybox, and a little page cache. */
    *used = total / 16 + 4096 < total / 2 ? total / 16 + 4096 : total / 2;
    *cache = total / 32;
}

static void fs_cpuinfo(const test_drv_shell_view *v, xbuf *out)
{
    unsigned n = v->vcpus_online;
    for (unsigned i = 0; i < n && out->len < TEST_DRV_SHELL_OUTPUT_MAX; i++) {
        xbuf_printf(out,
                    "processor\t: %u\n"
                    "vendor_id\t: GenuineIntel\n"
                    "cpu family\t: 6\n"
                    "model\t\t: 85\n"
                    "model name\t: %s\n"
                    "stepping\t: 4\n"
                    "cpu MHz\t\t: %u.000\n"
                    "cache size\t: 16384 KB\n"
                    "physical id\t: 0\n"
                    "siblings\t: %u\n"
                    "core id\t\t: %u\n"
                    "cpu cores\t: %u\n"
                    "apicid\t\t: %u\n"
                    "fpu\t\t: yes\n"
                    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
                    "pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc "
                    "rep_good nopl cpuid pni ssse3 cx16 sse4_1 sse4_2 x2apic popcnt "
                    "hypervisor lahf_lm\n"
                    "bogomips\t: %u.00\n"
                    "\n",
                    i, v->cpu_model && *v->cpu_model ? v->cpu_model : "QEMU Virtual CPU", v->mhz, n,
                    i, n, i, v->mhz * 2);
    }
}

static void fs_meminfo(const test_drv_shell_view *v, xbuf *out)
{
    uint64_t total = v->memory_kib, used, cache;
    test_drv_fs_memory_split(total, &used, &cache);
    uint64_t free_kib = total - used - cache;
    const struct {
        const char *name;
        uint64_t kib;
    } rows[] = {
        {"MemTotal:", total},
        {"MemFree:", free_kib},
        {"MemAvailable:", free_kib + cache},
        {"Buffers:", cache / 4},
        {"Cached:", cache - cache / 4},
        {"SwapCached:", 0},
        {"SwapTotal:", 0},
        {"SwapFree:", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        xbuf_printf(out, "%-16s%8" PRIu64 " kB\n", rows[i].name, rows[i].kib);
}

/* The IDE majors, two disks each (Documentation/admin-guide/devices.txt). */
static const unsigned ide_majors[] = {3, 22, 33, 34, 56, 57, 88, 89, 90, 91};

bool test_drv_fs_devnum(const char *name, unsigned *major, unsigned *minor)
{
    static const struct {
        const char *prefix;
        unsigned per_disk; /* minors per disk */
    } kinds[] = {{"xvd", 16}, {"hd", 64}, {"sd", 16}, {"vd", 16}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t plen = strlen(kinds[k].prefix);
        if (strncmp(name, kinds[k].prefix, plen) != 0)
            continue;
        const char *p = name + plen;
        /* Disk letters: a..z, then aa.. (sdaa is the 27th disk). */
        long idx = -1;
        size_t letters = 0;
        while (*p >= 'a' && *p <= 'z' && letters < 3) {
            idx = (idx + 1) * 26 + (*p - 'a');
            p++;
            letters++;
        }
        if (!letters)
            return false;
        unsigned part = 0;
        if (*p) {
            if (*p == '0')
                return false;
            while (*p >= '0' && *p <= '9' && part < 1000)
                part = part * 10 + (unsigned)(*p++ - '0');
            if (*p)
                return false;
        }
        if (part >= kinds[k].per_disk)
            return false;
        switch (k) {
        case 0: /* xvd: Xen's blkfront */
            *major = 202;
            *minor = (unsigned)idx * 16 + part;
            return true;
        case 1: /* hd: IDE */
            if ((size_t)idx / 2 >= sizeof(ide_majors) / sizeof(ide_majors[0]))
                return false;
            *major = ide_majors[idx / 2];
            *minor = (unsigned)(idx % 2) * 64 + part;
            return true;
        case 2: /* sd: SCSI: 8, then 65-71, then 128-135, 16 disks each */
            if (idx >= 256)
                return false;
            *major = idx < 16    ? 8
                     : idx < 128 ? 65 + (unsigned)(idx / 16 - 1)
                                 : 128 + (unsigned)(idx / 16 - 8);
            *minor = (unsigned)(idx % 16) * 16 + part;
            return true;
        default: /* vd: virtio-blk */
            *major = 254;
            *minor = (unsigned)idx * 16 + part;
            return true;
        }
    }
    return false;
}

static void fs_partitions(const test_drv_shell_view *v, xbuf *out)
{
    xbuf_adds(out, "major minor  #blocks  name\n\n");
    for (size_t i = 0; i < v->ndisks; i++) {
        unsigned major = 0, minor = (unsigned)i;
        /* A name Linux would not give a disk still shows, with an anonymous major. */
        test_drv_fs_devnum(v->disks[i].name, &major, &minor);
        xbuf_printf(out, "%4u  %7u %10" PRIu64 " %s\n", major, minor, v->disks[i].kib,
                    v->disks[i].name);
    }
}

static void fs_uptime(const test_drv_shell_view *v, xbuf *out)
{
    uint64_t cs = v->uptime_ns / 10000000u; /* centiseconds */
    /* Idle: each online vCPU runs 2% of the time (test_driver_domain.c). */
    uint64_t idle = cs * (v->vcpus_online ? v->vcpus_online : 1) * 98 / 100;
    xbuf_printf(out, "%" PRIu64 ".%02" PRIu64 " %" PRIu64 ".%02" PRIu64 "\n", cs / 100, cs % 100,
                idle / 100, idle % 100);
}

static void fs_loadavg(const test_drv_shell_view *v, xbuf *out)
{
    unsigned load = v->vcpus_online * 2;
    xbuf_printf(out, "%u.%02u %u.%02u %u.%02u 1/12 142\n", load / 100, load % 100, load / 100,
                load % 100, load / 100, load % 100);
}

static void fs_version(const test_drv_shell_view *v, xbuf *out)
{
    (void)v;
    xbuf_adds(out, "Linux version 6.1.0-xend-sim (xend@simulated) (gcc 12.2.0) #1 SMP "
                   "PREEMPT_DYNAMIC\n");
}

/* The Xen balloon driver's report: what the guest holds and what it gave back. */
static void fs_balloon(const test_drv_shell_view *v, xbuf *out)
{
    uint64_t ballooned = v->max_memory_kib > v->memory_kib ? v->max_memory_kib - v->memory_kib : 0;
    xbuf_printf(out,
                "Current allocation: %8" PRIu64 " kB\n"
                "Requested target:   %8" PRIu64 " kB\n"
                "Low-mem balloon:    %8" PRIu64 " kB\n"
                "High-mem balloon:   %8u kB\n"
                "Driver pages:       %8u kB\n",
                v->memory_kib, v->memory_kib, ballooned, 0u, 0u);
}

static void fs_hostname(const test_drv_shell_view *v, xbuf *out)
{
    xbuf_printf(out, "%s\n", v->hostname ? v->hostname : "(none)");
}

static void fs_issue(const test_drv_shell_view *v, xbuf *out)
{
    (void)v;
    xbuf_adds(out, "Welcome to xend simulated Linux 6.1.0!\n\n");
}

static void fs_os_release(const test_drv_shell_view *v, xbuf *out)
{
    (void)v;
    xbuf_adds(out, "NAME=\"xend simulated Linux\"\nID=xend-sim\nVERSION_ID=6.1\n"
                   "PRETTY_NAME=\"xend simulated Linux 6.1.0\"\n");
}

/* ---- the tree ---- */

/* Directories whose entries never change (space-separated, sorted) and files with
 * generated contents; every other file listed in a directory reads as empty. */
static const struct {
    const char *path;
    const char *entries;
} fs_dirs[] = {
    {"/", "bin dev etc home lib mnt proc root run sbin sys tmp usr var"},
    {"/bin", "busybox cat dmesg echo false hostname ls pwd sh sleep true uname"},
    {"/dev", NULL}, /* below: fixed nodes and the disks */
    {"/etc", "hostname issue os-release"},
    {"/home", ""},
    {"/lib", ""},
    {"/mnt", ""},
    {"/proc", "cpuinfo loadavg meminfo partitions uptime version xen"},
    {"/proc/xen", "balloon"},
    {"/root", ""},
    {"/run", ""},
    {"/sbin", "init"},
    {"/sys", "class"},
    {"/sys/class", "net"},
    {"/sys/class/net", NULL}, /* below: lo and the NICs */
    {"/tmp", ""},
    {"/usr", "bin sbin"},
    {"/usr/bin", "env free uptime whoami"},
    {"/usr/sbin", ""},
    {"/var", ""},
};

static const struct {
    const char *path;
    void (*gen)(const test_drv_shell_view *v, xbuf *out);
} fs_files[] = {
    {"/etc/hostname", fs_hostname},      {"/etc/issue", fs_issue},
    {"/etc/os-release", fs_os_release},  {"/proc/cpuinfo", fs_cpuinfo},
    {"/proc/loadavg", fs_loadavg},       {"/proc/meminfo", fs_meminfo},
    {"/proc/partitions", fs_partitions}, {"/proc/uptime", fs_uptime},
    {"/proc/version", fs_version},       {"/proc/xen/balloon", fs_balloon},
};

/* Longer than any directory of the tree ("/sys/class/net/eth31"). */
#define FS_DIR_MAX 64
#define FS_NDIRS (sizeof(fs_dirs) / sizeof(fs_dirs[0]))
#define FS_NFILES (sizeof(fs_files) / sizeof(fs_files[0]))

static const char fs_dev_nodes[] = "console null tty ttyS0 zero";

typedef struct {
    char **names;
    size_t n;
} fs_names;

static void names_add(fs_names *l, const char *s, size_t len)
{
    l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
    l->names[l->n++] = xstrndup(s, len);
}

static void names_add_words(fs_names *l, const char *words)
{
    const char *p = words;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        names_add(l, p, len);
        p += len + (sp ? 1 : 0);
    }
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool names_has(const fs_names *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

static void names_free(fs_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof(*l));
}

/* The NIC an interface name is: -1 for lo, 0.. for ethN; -2 if none. */
static long fs_netdev(const test_drv_shell_view *v, const char *name, size_t len)
{
    if (len == 2 && strncmp(name, "lo", 2) == 0)
        return -1;
    if (len < 4 || len > 6 || strncmp(name, "eth", 3) != 0 || (name[3] == '0' && len > 4))
        return -2;
    unsigned long n = 0;
    for (size_t i = 3; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -2;
        n = n * 10 + (unsigned long)(name[i] - '0');
    }
    return n < v->nnics ? (long)n : -2;
}

/* The entries of a directory into l; false if path is none. */
static bool fs_dir_entries(const test_drv_shell_view *v, const char *path, fs_names *l)
{
    for (size_t i = 0; i < FS_NDIRS; i++) {
        if (strcmp(path, fs_dirs[i].path) != 0)
            continue;
        if (fs_dirs[i].entries) {
            names_add_words(l, fs_dirs[i].entries);
        } else if (strcmp(path, "/dev") == 0) {
            names_add_words(l, fs_dev_nodes);
            for (size_t d = 0; d < v->ndisks; d++)
                if (!names_has(l, v->disks[d].name))
                    names_add(l, v->disks[d].name, strlen(v->disks[d].name));
        } else {
            names_add(l, "lo", 2);
            for (size_t n = 0; n < v->nnics; n++) {
                char eth[16];
                int len = snprintf(eth, sizeof(eth), "eth%zu", n);
                names_add(l, eth, (size_t)len);
            }
        }
        if (l->n > 1)
            qsort(l->names, l->n, sizeof(*l->names), names_cmp);
        return true;
    }
    static const char net[] = "/sys/class/net/";
    if (strncmp(path, net, sizeof(net) - 1) == 0 && !strchr(path + sizeof(net) - 1, '/') &&
        fs_netdev(v, path + sizeof(net) - 1, strlen(path + sizeof(net) - 1)) > -2) {
        names_add_words(l, "address mtu operstate");
        return true;
    }
    return false;
}

/* /sys/class/net/IF/ATTR */
static bool fs_net_attr(const test_drv_shell_view *v, const char *path, xbuf *out)
{
    static const char net[] = "/sys/class/net/";
    if (strncmp(path, net, sizeof(net) - 1) != 0)
        return false;
    const char *ifname = path + sizeof(net) - 1, *slash = strchr(ifname, '/');
    if (!slash || strchr(slash + 1, '/'))
        return false;
    long nic = fs_netdev(v, ifname, (size_t)(slash - ifname));
    const char *attr = slash + 1;
    if (nic < -1)
        return false;
    if (strcmp(attr, "address") == 0) {
        if (out && nic < 0) {
            xbuf_adds(out, "00:00:00:00:00:00\n");
        } else if (out) {
            const uint8_t *m = v->macs[nic];
            xbuf_printf(out, "%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
        }
    } else if (strcmp(attr, "mtu") == 0) {
        if (out)
            xbuf_adds(out, nic < 0 ? "65536\n" : "1500\n");
    } else if (strcmp(attr, "operstate") == 0) {
        if (out)
            xbuf_adds(out, nic < 0 ? "unknown\n" : "up\n");
    } else {
        return false;
    }
    return true;
}

test_drv_fs_kind test_drv_fs_lookup(const test_drv_shell_view *v, const char *path, xbuf *out)
{
    fs_names l = {NULL, 0};
    if (fs_dir_entries(v, path, &l)) {
        for (size_t i = 0; out && i < l.n; i++)
            xbuf_printf(out, "%s\n", l.names[i]);
        names_free(&l);
        return TEST_DRV_FS_DIR;
    }
    if (fs_net_attr(v, path, out))
        return TEST_DRV_FS_FILE;
    /* A file: listed in its directory; contents generated or empty (devices, programs). */
    const char *slash = strrchr(path, '/');
    if (!slash || !slash[1])
        return TEST_DRV_FS_NONE;
    char dir[FS_DIR_MAX];
    size_t dlen = (size_t)(slash - path);
    if (dlen >= sizeof(dir))
        return TEST_DRV_FS_NONE;
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    if (dlen == 0)
        strcpy(dir, "/");
    bool listed = fs_dir_entries(v, dir, &l) && names_has(&l, slash + 1);
    names_free(&l);
    if (!listed)
        return TEST_DRV_FS_NONE;
    for (size_t i = 0; out && i < FS_NFILES; i++)
        if (strcmp(path, fs_files[i].path) == 0)
            fs_files[i].gen(v, out);
    return TEST_DRV_FS_FILE;
}
