/*
 * xend-bench, stored domains: how xend copes with many domains. It writes 0, 1,000 and
 * 10,000 domain XML files (about 1 KB each: 1-2 file disks, a NIC, a console) straight into
 * a fresh root's etc/xend/domains/, starts `xend --root ROOT --config CONF` and measures,
 * from fork until (a) its socket accepts a connection and (b) the first domain.list reply
 * naming every stored domain, the median of 3 starts (target: 10,000 in <= 1 s). Then, with
 * 1,000 and 10,000 domains of which every tenth was started by domain.start (a quarter of
 * those paused), it times domain.list through the raw HTTP client on one keep-alive
 * connection (the server's cost without a client library; target: 0.8 ms for 1,000) and
 * through libcurl with the reply decoded (what a real client pays), next to a floor that
 * moves the same bytes without HTTP or XML, and prints the reply size and the daemon's
 * VmRSS. Figures only: a missed target prints MISSED, never fails.
 *
 * Files live under bench_dir (disk images in disks/, one root per size), except run_dir,
 * which is on tmpfs as /run is on a real host; all are removed before returning and every
 * daemon is stopped by PID. About 20-30 s on an idle 2-core VM.
 */
#include "config.h"

#include "bench.h"
#include "util/buf.h"
#include "util/error.h"
#include "xmlrpc/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start-ups per size: the median of 3 resists one slow start (a build on the other core)
 * without making the 10,000 case cost much. */
#define BENCH_DOM_BOOT_RUNS 3
#define BENCH_DOM_BOOT_TARGET_MS 1000.0 /* for 10,000 stored domains */
#define BENCH_DOM_LIST_TARGET_MS 0.8    /* domain.list of 1,000 domains */
#define BENCH_DOM_XM_TARGET_MS 30.0     /* `xm list` as a whole process, 1,000 domains */
#define BENCH_DOM_XM_CALLS 40
#define BENCH_DOM_XM_WARMUP 4
#define BENCH_DOM_LIST_TARGET_N 1000u
/* Every BENCH_DOM_START_EVERY-th domain is started (10%), and every fourth of those paused,
 * so that the rows carry different states, ids and times as they would on a real host. */
#define BENCH_DOM_START_EVERY 10u
#define BENCH_DOM_MAX 10000u

/* The connect poll interval while xend starts: fine enough for a ~10 ms figure, coarse
 * enough that the poller takes little from a 2-core box that xend is starting on. */
#define BENCH_DOM_POLL_US 200u

/* The simulated host must hold 1,000 running guests of up to 2 GiB: 4 TiB. */
static const char bench_dom_host_conf[] = "memory_mib = 4194304\nhost_domain_mib = 4096\n";

static const unsigned bench_dom_boot_sizes[] = {0, 1000, BENCH_DOM_MAX};

/* Calls per figure: fewer for 10,000, where one reply is ~10 MB, and fewer through libcurl,
 * whose decoding of the reply costs 5x what xend spends on it. */
typedef struct {
    unsigned domains;
    size_t calls, warmup;           /* floor and raw HTTP client */
    size_t curl_calls, curl_warmup; /* libcurl + decode */
} bench_dom_list_size;

static const bench_dom_list_size bench_dom_list_sizes[] = {
    {BENCH_DOM_LIST_TARGET_N, 300, 30, 60, 5},
    {BENCH_DOM_MAX, 50, 5, 12, 2},
};

/* What one size's start-up runs and list figures found, printed at the end together. */
typedef struct {
    unsigned domains;
    double accept_ms[BENCH_DOM_BOOT_RUNS]; /* fork -> first successful connect */
    double list_ms[BENCH_DOM_BOOT_RUNS];   /* fork -> first complete domain.list reply */
    double stop_ms[BENCH_DOM_BOOT_RUNS];   /* SIGTERM -> reaped (10 ms resolution) */
    bool listed;                           /* the list figures below are filled */
    unsigned running, paused;              /* as domain.list reported them */
    double start_s;                        /* time to start the 10% */
    size_t reply_bytes, body_bytes;
    size_t rss_boot_kib, rss_start_kib, rss_list_kib;
    bench_stats floor, raw, curl;
    bool xm_listed;                   /* the `xm list` figures below are filled */
    bench_stats xm_floor, xm;         /* fork+exec of /bin/true; of `xm list` */
    size_t xm_lines;                  /* lines `xm list` printed */
} bench_dom_result;

/* ---- generated domains ------------------------------------------------------------------ */

static uint64_t bench_dom_mix(uint64_t x)
{
    /* splitmix64's finaliser: a bijection, so distinct inputs give distinct outputs. */
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static void bench_dom_name(char out[32], unsigned i)
{
    snprintf(out, 32, "guest-%05u", i);
}

/* A random-looking version-4 UUID; the low 24 bits hold i so that no two can collide. */
static void bench_dom_uuid(char out[37], unsigned i)
{
    uint64_t hi = bench_dom_mix(i), lo = bench_dom_mix(hi);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)(hi >> 16) & 0xffffu, (unsigned)hi & 0xfffu,
             0x8000u | ((unsigned)(lo >> 48) & 0x3fffu),
             (unsigned long long)(((lo & 0xffffff000000u) | i) & 0xffffffffffffu));
}

static unsigned bench_dom_ndisks(unsigned i)
{
    return 1 + i % 2;
}

static void bench_dom_disk_path(char *out, size_t size, unsigned i, unsigned disk)
{
    snprintf(out, size, "%s/disks/guest-%05u-%c.img", bench_dir, i, 'a' + disk);
}

/* One domain's XML, shaped like what virt-install or xm would leave for a Xen HVM guest:
 * memory from 256 MiB to 2 GiB, 1-4 vCPUs, a root disk, a data disk on every other guest, a
 * bridged NIC with a Xen OUI MAC, a console. About 1 KB. */
static void bench_dom_xml(xbuf *out, unsigned i)
{
    static const char *const tiers[] = {"web", "db", "cache", "batch", "build"};
    char name[32], uuid[37], path[PATH_MAX];
    bench_dom_name(name, i);
    bench_dom_uuid(uuid, i);
    unsigned mem_mib = 256u << (i % 4), vcpus = 1 + (i / 4) % 4;
    const char *tier = tiers[i % 5];
    xbuf_printf(out,
                "<domain type='xen'>\n"
                "  <name>%s</name>\n"
                "  <uuid>%s</uuid>\n"
                "  <title>%s server %u</title>\n"
                "  <description>Generated by xend-bench: %s tier, rack %u, slot %u"
                "</description>\n"
                "  <memory unit='MiB'>%u</memory>\n"
                "  <currentMemory unit='MiB'>%u</currentMemory>\n"
                "  <vcpu placement='static'>%u</vcpu>\n"
                "  <os>\n"
                "    <type>hvm</type>\n"
                "    <boot dev='hd'/>\n"
                "  </os>\n"
                "  <features>\n"
                "    <acpi/>\n"
                "    <apic/>\n"
                "    <pae/>\n"
                "  </features>\n"
                "  <on_poweroff>destroy</on_poweroff>\n"
                "  <on_reboot>restart</on_reboot>\n"
                "  <on_crash>destroy</on_crash>\n"
                "  <devices>\n",
                name, uuid, tier, i, tier, i / 40, i % 40, mem_mib, mem_mib, vcpus);
    for (unsigned d = 0; d < bench_dom_ndisks(i); d++) {
        bench_dom_disk_path(path, sizeof(path), i, d);
        xbuf_printf(out,
                    "    <disk type='file' device='disk'>\n"
                    "      <driver name='qemu' type='raw'/>\n"
                    "      <source file='%s'/>\n"
                    "      <target dev='xvd%c' bus='xen'/>\n"
                    "    </disk>\n",
                    path, 'a' + d);
    }
    xbuf_printf(out,
                "    <interface type='bridge'>\n"
                "      <mac address='00:16:3e:%02x:%02x:%02x'/>\n"
                "      <source bridge='xenbr0'/>\n"
                "    </interface>\n"
                "    <console type='pty'>\n"
                "      <target port='0'/>\n"
                "    </console>\n"
                "  </devices>\n"
                "</domain>\n",
                (i >> 16) & 0xffu, (i >> 8) & 0xffu, i & 0xffu);
}

static void bench_dom_mkdir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        bench_die("mkdir %s: %s", path, strerror(errno));
}

static void bench_dom_file_write(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        bench_die("cannot create %s: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            bench_die("cannot write %s: %s", path, w < 0 ? strerror(errno) : "short write");
        data += w;
        len -= (size_t)w;
    }
    close(fd);
}

/* The disk images of guests 0..count-1 (xend opens every disk of a guest it starts;
 * nothing reads them). Each is a hard link to one sparse 64 MiB image: xend claims disks by
 * path, so every guest still has disks of its own, and a link costs a directory entry where
 * 15,000 new inodes took 5 to 20 s on this VM's ext4. Returns how many paths were made. */
static unsigned bench_dom_disks_make(unsigned count)
{
    char path[PATH_MAX], image[PATH_MAX];
    unsigned made = 0;
    snprintf(path, sizeof(path), "%s/disks", bench_dir);
    bench_dom_mkdir(path);
    snprintf(image, sizeof(image), "%s/disks/image.img", bench_dir);
    int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 64 << 20) < 0)
        bench_die("cannot create %s: %s", image, strerror(errno));
    close(fd);
    for (unsigned i = 0; i < count; i++) {
        for (unsigned d = 0; d < bench_dom_ndisks(i); d++) {
            bench_dom_disk_path(path, sizeof(path), i, d);
            if (link(image, path) < 0)
                bench_die("cannot link %s: %s", path, strerror(errno));
            made++;
        }
    }
    return made;
}

/* A fresh root holding count domain configs in ROOT/etc/xend/domains (xend's --root layout).
 * Returns the bytes of XML written. */
static size_t bench_dom_root_make(const char *root, unsigned count)
{
    char path[PATH_MAX];
    static const char *const dirs[] = {"", "/etc", "/etc/xend", "/etc/xend/domains"};
    for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
        snprintf(path, sizeof(path), "%s%s", root, dirs[k]);
        bench_dom_mkdir(path);
    }
    xbuf xml = XBUF_INIT;
    size_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        char name[32];
        bench_dom_name(name, i);
        if (snprintf(path, sizeof(path), "%s/etc/xend/domains/%s.xml", root, name) >=
            (int)sizeof(path))
            bench_die("path too long under %s", root);
        xbuf_reset(&xml);
        bench_dom_xml(&xml, i);
        bench_dom_file_write(path, xml.data, xml.len);
        total += xml.len;
    }
    xbuf_clear(&xml);
    return total;
}

static int bench_dom_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        fprintf(stderr, "xend-bench: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* rm -rf path (depth first, never following symlinks). */
static void bench_dom_tree_remove(const char *path)
{
    nftw(path, bench_dom_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- calls ------------------------------------------------------------------------------ */

/* The bytes of an HTTP POST of an XML-RPC call: what libcurl sends, spelled out here so
 * that the request can be ready before xend is (the start-up figure polls with it). */
static void bench_dom_request(xbuf *req, const char *method, xmlrpc_value *params)
{
    xbuf body = XBUF_INIT;
    if (xmlrpc_encode_call(&body, method, params) < 0)
        bench_die("cannot encode %s: %s", method, xend_error_last()->message);
    xmlrpc_value_free(params);
    xbuf_reset(req);
    xbuf_printf(req,
                "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: xend-bench/" XEND_VERSION
                "\r\nAccept: */*\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
                body.len);
    xbuf_add(req, body.data, body.len);
    xbuf_clear(&body);
}

/* The body of an HTTP reply read by bench_read_http, or NULL if the status is not 200. */
static const char *bench_dom_reply_body(const xbuf *reply, size_t *len)
{
    if (reply->len < 12 || memcmp(reply->data + 8, " 200", 4) != 0)
        return NULL;
    const char *end = memmem(reply->data, reply->len, "\r\n\r\n", 4);
    if (!end)
        return NULL;
    *len = reply->len - (size_t)(end + 4 - reply->data);
    return end + 4;
}

/* Decode the XML-RPC reply in an HTTP reply; dies on a fault or anything else unexpected,
 * naming what. Returns the result (caller frees). */
static xmlrpc_value *bench_dom_reply_decode(xmlrpc_decoder *dec, const xbuf *reply,
                                            const char *what)
{
    size_t len;
    const char *body = bench_dom_reply_body(reply, &len);
    if (!body)
        bench_die("%s: HTTP error: %.40s", what, reply->data);
    xmlrpc_response resp;
    if (xmlrpc_decode_response(dec, body, len, &resp) < 0)
        bench_die("%s: bad reply: %s", what, xend_error_last()->message);
    if (resp.is_fault)
        bench_die("%s: fault %d: %s", what, resp.fault_code, resp.fault_string);
    xmlrpc_value *v = resp.result;
    resp.result = NULL;
    xmlrpc_response_clear(&resp);
    return v;
}

/* One call on the raw connection: 0, or -1 if the connection failed. */
static int bench_dom_raw_call(bench_raw *raw, const xbuf *req)
{
    raw->req = req->data;
    raw->req_len = req->len;
    return bench_raw_http_call(raw);
}

/* The rows of a domain.list result, and how many guests (not Domain-0) are running and
 * paused. */
static size_t bench_dom_rows_count(const xmlrpc_value *list, unsigned *running, unsigned *paused)
{
    if (list->type != XMLRPC_ARRAY)
        bench_die("domain.list: the result is a %s, not an array", xmlrpc_type_name(list->type));
    size_t n = xmlrpc_array_size(list);
    *running = *paused = 0;
    for (size_t i = 0; i < n; i++) {
        const xmlrpc_value *row = xmlrpc_array_get(list, i);
        const xmlrpc_value *state = xmlrpc_struct_get(row, "state");
        const xmlrpc_value *name = xmlrpc_struct_get(row, "name");
        if (!state || state->type != XMLRPC_STRING || !name || name->type != XMLRPC_STRING)
            bench_die("domain.list: row %zu has no state or name", i);
        if (strcmp(name->u.s.ptr, "Domain-0") == 0) /* the host: always running */
            continue;
        *running += strcmp(state->u.s.ptr, "running") == 0;
        *paused += strcmp(state->u.s.ptr, "paused") == 0;
    }
    return n;
}

/* VmRSS of pid in KiB, 0 if unknown. */
static size_t bench_dom_rss_kib(pid_t pid)
{
    char path[64], line[256];
    size_t kib = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %zu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- start-up --------------------------------------------------------------------------- */

/* Start xend on root and time it until it accepts and until domain.list names at least
 * `domains` domains (an xend that listened before loading everything would answer short
 * lists first: those do not count). Leaves xend running and raw connected to it, its reply
 * buffer holding that first full list. */
static void bench_dom_boot(const char *xend, const char *conf, const char *root, unsigned domains,
                           const xbuf *list_req, xmlrpc_decoder *dec, bench_raw *raw,
                           double *accept_ms, double *list_ms)
{
    uint64_t t0 = bench_now_ns();
    bench_xend_spawn(xend, conf, root);
    raw->fd = bench_xend_connect_wait(BENCH_DOM_POLL_US, 60);
    *accept_ms = (double)(bench_now_ns() - t0) / 1e6;
    for (;;) {
        if (bench_dom_raw_call(raw, list_req) < 0)
            bench_die("domain.list: the connection failed during start-up; see %s",
                      bench_path("xend.log"));
        *list_ms = (double)(bench_now_ns() - t0) / 1e6;
        xmlrpc_value *list = bench_dom_reply_decode(dec, &raw->reply, "domain.list");
        unsigned running, paused;
        size_t rows = bench_dom_rows_count(list, &running, &paused);
        xmlrpc_value_free(list);
        if (rows >= domains)
            return;
        if (bench_now_ns() - t0 > 60 * 1000000000ull)
            bench_die("domain.list names %zu domains, not %u, after 60 s: were configs set "
                      "aside? see %s",
                      rows, domains, bench_path("xend.log"));
        usleep(1000);
    }
}

static void bench_dom_stop(bench_raw *raw)
{
    if (raw->fd >= 0)
        close(raw->fd);
    raw->fd = -1;
    bench_xend_stop();
}

/* Start every BENCH_DOM_START_EVERY-th domain, every fourth of those paused. */
static void bench_dom_start_some(bench_raw *raw, unsigned count, xmlrpc_decoder *dec)
{
    xbuf req = XBUF_INIT;
    for (unsigned i = 0; i < count; i += BENCH_DOM_START_EVERY) {
        char name[32];
        bench_dom_name(name, i);
        xmlrpc_value *params = xmlrpc_array();
        xmlrpc_array_append(params, xmlrpc_string(name));
        xmlrpc_array_append(params, xmlrpc_bool((i / BENCH_DOM_START_EVERY) % 4 == 3));
        bench_dom_request(&req, "domain.start", params);
        if (bench_dom_raw_call(raw, &req) < 0)
            bench_die("domain.start %s: the connection failed", name);
        xmlrpc_value_free(bench_dom_reply_decode(dec, &raw->reply, name));
    }
    xbuf_clear(&req);
}

/* ---- `xm list` as a whole process ------------------------------------------------------ */

/* One run of a program with its stdout on a pipe that is read to the end (as `xm list |
 * less` would), stderr to the bench's stderr file; what a user waits for. */
typedef struct {
    const char *const *argv;
    const char *server; /* XM_SERVER for the child */
    size_t lines;       /* lines of the last run's output */
} bench_proc;

static int bench_proc_call(void *ctx)
{
    bench_proc *bp = ctx;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = bench_fork_or_die();
    if (pid == 0) {
        dup2(fds[1], 1);
        int err = open(bench_path("stderr"), O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (err >= 0)
            dup2(err, 2);
        setenv("XM_SERVER", bp->server, 1);
        setenv("XM_CONFIG_FILE", "/nonexistent/xm.conf", 1);
        execv(bp->argv[0], (char *const *)bp->argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[65536];
    size_t lines = 0;
    for (;;) {
        ssize_t r = read(fds[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    }
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    bp->lines = lines;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "xend-bench: %s exited with status %d; see %s\n", bp->argv[0],
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), bench_path("stderr"));
        return -1;
    }
    return 0;
}

/* `xm list` against the running daemon, with fork+exec of /bin/true as the floor. */
static void bench_dom_xm_measure(bench_dom_result *res, const bench_options *opt)
{
    char server[PATH_MAX + 8];
    snprintf(server, sizeof(server), "unix://%s", bench_path("xend.sock"));
    static const char *const true_argv[] = {"/bin/true", NULL};
    const char *xm_argv[] = {opt->xm, "list", NULL};
    bench_proc floor = {true_argv, server, 0}, xm = {xm_argv, server, 0};
    bench_options lopt = *opt;
    lopt.calls = BENCH_DOM_XM_CALLS;
    lopt.warmup = BENCH_DOM_XM_WARMUP;
    bench_series series[2];
    bench_series_init(&series[0], "fork+exec /bin/true", bench_proc_call, &floor, bench_xend_pid,
                      &lopt);
    bench_series_init(&series[1], "xm list", bench_proc_call, &xm, bench_xend_pid, &lopt);
    bench_series_measure(series, 2, &lopt);
    res->xm_floor = series[0].st;
    res->xm = series[1].st;
    res->xm_lines = xm.lines;
    res->xm_listed = true;
}

/* ---- domain.list ------------------------------------------------------------------------ */

/* With xend up on size->domains domains and raw connected to it: start 10% of them, then
 * time domain.list. */
static void bench_dom_list_measure(bench_dom_result *res, const bench_dom_list_size *size,
                                   const bench_options *opt, bench_raw *raw, const xbuf *list_req,
                                   xmlrpc_decoder *dec)
{
    res->rss_boot_kib = bench_dom_rss_kib(bench_xend_pid);
    uint64_t t0 = bench_now_ns();
    bench_dom_start_some(raw, size->domains, dec);
    res->start_s = (double)(bench_now_ns() - t0) / 1e9;
    res->rss_start_kib = bench_dom_rss_kib(bench_xend_pid);

    /* One list to check the states and size the reply. */
    if (bench_dom_raw_call(raw, list_req) < 0)
        bench_die("domain.list: the connection failed");
    xmlrpc_value *list = bench_dom_reply_decode(dec, &raw->reply, "domain.list");
    bench_dom_rows_count(list, &res->running, &res->paused);
    xmlrpc_value_free(list);
    res->reply_bytes = raw->reply.len;
    bench_dom_reply_body(&raw->reply, &res->body_bytes);

    /* libcurl POSTs the same body; its own head differs a little from ours. */
    bench_curl bc;
    const char *body = (const char *)memmem(list_req->data, list_req->len, "\r\n\r\n", 4) + 4;
    bench_curl_init(&bc, bench_path("xend.sock"), body,
                    list_req->len - (size_t)(body - list_req->data), true);
    bench_curl_quiet(&bc);
    bc.expect = XMLRPC_ARRAY;

    /* The floor moves the same request and reply bytes between two processes: what the
     * transport alone costs for a reply of this size, so that xend's share shows. */
    bench_raw fl;
    pid_t floor_pid =
        bench_floor_start(&fl, list_req->data, list_req->len, raw->reply.data, raw->reply.len);

    bench_options lopt = *opt;
    lopt.calls = size->calls;
    lopt.warmup = size->warmup;
    bench_series series[2];
    raw->req = list_req->data;
    raw->req_len = list_req->len;
    bench_series_init(&series[0], "floor", bench_floor_call, &fl, floor_pid, &lopt);
    bench_series_init(&series[1], "raw", bench_raw_http_call, raw, bench_xend_pid, &lopt);
    bench_series_measure(series, 2, &lopt);
    res->floor = series[0].st;
    res->raw = series[1].st;
    lopt.calls = size->curl_calls;
    lopt.warmup = size->curl_warmup;
    bench_series_init(&series[0], "curl", bench_curl_call, &bc, bench_xend_pid, &lopt);
    bench_series_measure(series, 1, &lopt);
    res->curl = series[0].st;
    res->rss_list_kib = bench_dom_rss_kib(bench_xend_pid);
    res->listed = true;
    if (opt->xm && size->domains == BENCH_DOM_LIST_TARGET_N)
        bench_dom_xm_measure(res, opt);
    bench_floor_stop(&fl, floor_pid);
    bench_curl_free(&bc);
}

/* ---- report ----------------------------------------------------------------------------- */

static int bench_dom_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_dom_median(const double *v)
{
    double s[BENCH_DOM_BOOT_RUNS];
    memcpy(s, v, sizeof(s));
    qsort(s, BENCH_DOM_BOOT_RUNS, sizeof(s[0]), bench_dom_cmp_double);
    return s[BENCH_DOM_BOOT_RUNS / 2];
}

/* "10,000": the sizes read better with a separator. */
static const char *bench_dom_count(char out[32], size_t n)
{
    if (n >= 1000)
        snprintf(out, 32, "%zu,%03zu", n / 1000, n % 1000);
    else
        snprintf(out, 32, "%zu", n);
    return out;
}

static void bench_dom_print_boot(const bench_dom_result *res, size_t n)
{
    printf("\n  %-44s %9s %9s %9s %9s %9s  %s\n", "start-up with stored domains", "accept ms",
           "list ms", "list ms", "list ms", "stop ms", "target");
    printf("  %-44s %9s %9s %9s %9s %9s  %s\n", "", "(median)", "(median)", "(min)", "(max)",
           "(median)", "(list)");
    for (size_t k = 0; k < n; k++) {
        const bench_dom_result *r = &res[k];
        char what[96], cnt[32];
        double lo = r->list_ms[0], hi = r->list_ms[0];
        for (int i = 1; i < BENCH_DOM_BOOT_RUNS; i++) {
            lo = r->list_ms[i] < lo ? r->list_ms[i] : lo;
            hi = r->list_ms[i] > hi ? r->list_ms[i] : hi;
        }
        double list = bench_dom_median(r->list_ms);
        snprintf(what, sizeof(what), "xend --root, %s domain configs",
                 bench_dom_count(cnt, r->domains));
        printf("  %-44s %9.1f %9.1f %9.1f %9.1f %9.0f", what, bench_dom_median(r->accept_ms), list,
               lo, hi, bench_dom_median(r->stop_ms));
        if (r->domains == BENCH_DOM_MAX)
            printf("  <= %.0f ms: %.2fx %s", BENCH_DOM_BOOT_TARGET_MS,
                   list / BENCH_DOM_BOOT_TARGET_MS,
                   list <= BENCH_DOM_BOOT_TARGET_MS ? "ok" : "MISSED");
        printf("\n");
    }
    printf("  (%d starts per size, timed from fork until the socket accepts and until the "
           "first domain.list reply\n   naming every domain; configs in the page cache; stop = "
           "SIGTERM until reaped, 10 ms steps)\n",
           BENCH_DOM_BOOT_RUNS);
}

static void bench_dom_print_list_row(const char *what, const bench_stats *st,
                                     const bench_stats *floor, unsigned domains, bool target)
{
    printf("  %-44s %7.3f %7.3f %7.3f", what, st->p50_us / 1e3, st->p99_us / 1e3,
           st->mean_us / 1e3);
    if (floor)
        printf(" %6.1fx", st->p50_us / floor->p50_us);
    else
        printf(" %7s", "-");
    printf(" %8.3f %8.3f %7.0f", st->client_cpu_us / 1e3, st->server_cpu_us / 1e3,
           st->p50_us * 1e3 / domains);
    if (target)
        printf("  %.2fx %s", st->p50_us / 1e3 / BENCH_DOM_LIST_TARGET_MS,
               st->p50_us / 1e3 <= BENCH_DOM_LIST_TARGET_MS ? "ok" : "MISSED");
    printf("\n");
}

static void bench_dom_print_list(const bench_dom_result *res, size_t n)
{
    printf("\n  %-44s %7s %7s %7s %7s %8s %8s %7s  %s\n", "domain.list, one keep-alive connection",
           "p50 ms", "p99 ms", "mean ms", "x floor", "CPU ms", "CPU ms", "ns/dom", "target");
    printf("  %-44s %7s %7s %7s %7s %8s %8s %7s  %s\n", "", "", "", "", "(p50)", "client", "server",
           "(p50)", "(p50)");
    for (size_t k = 0; k < n; k++) {
        const bench_dom_result *r = &res[k];
        if (!r->listed)
            continue;
        char what[96], cnt[32];
        bench_dom_count(cnt, r->domains);
        snprintf(what, sizeof(what), "floor: raw ping-pong, %zu B reply", r->reply_bytes);
        bench_dom_print_list_row(what, &r->floor, NULL, r->domains, false);
        snprintf(what, sizeof(what), "raw HTTP client -> xend, %s domains", cnt);
        bench_dom_print_list_row(what, &r->raw, &r->floor, r->domains,
                                 r->domains == BENCH_DOM_LIST_TARGET_N);
        snprintf(what, sizeof(what), "libcurl + decode, %s domains", cnt);
        bench_dom_print_list_row(what, &r->curl, &r->floor, r->domains, false);
    }
    printf("  (target: raw HTTP client p50 <= %.1f ms with 1,000 domains; server CPU of the floor "
           "row = its echo\n   process; ns/dom = p50 / domains)\n",
           BENCH_DOM_LIST_TARGET_MS);
    for (size_t k = 0; k < n; k++) {
        const bench_dom_result *r = &res[k];
        if (!r->xm_listed)
            continue;
        char cnt[32], what[96];
        printf("\n  %-44s %7s %7s %7s %7s %8s %8s  %s\n", "a whole process, output read from a pipe",
               "p50 ms", "p99 ms", "mean ms", "x floor", "CPU ms", "CPU ms", "target");
        printf("  %-44s %7s %7s %7s %7s %8s %8s  %s\n", "", "", "", "", "(p50)", "client",
               "xend", "(p50)");
        const bench_stats *rows[] = {&r->xm_floor, &r->xm};
        for (int i = 0; i < 2; i++) {
            const bench_stats *st = rows[i];
            if (i == 0)
                snprintf(what, sizeof(what), "floor: fork+exec /bin/true");
            else
                snprintf(what, sizeof(what), "xm list, %s domains (%zu lines)",
                         bench_dom_count(cnt, r->domains), r->xm_lines);
            printf("  %-44s %7.2f %7.2f %7.2f", what, st->p50_us / 1e3, st->p99_us / 1e3,
                   st->mean_us / 1e3);
            if (i == 1)
                printf(" %6.1fx", st->p50_us / r->xm_floor.p50_us);
            else
                printf(" %7s", "-");
            printf(" %8.2f %8.2f", st->client_cpu_us / 1e3, st->server_cpu_us / 1e3);
            if (i == 1)
                printf("  <= %.0f ms: %.2fx %s", BENCH_DOM_XM_TARGET_MS,
                       st->p50_us / 1e3 / BENCH_DOM_XM_TARGET_MS,
                       st->p50_us / 1e3 <= BENCH_DOM_XM_TARGET_MS ? "ok" : "MISSED");
            printf("\n");
        }
        printf("  (client CPU = the bench's own, children not included; %d runs each, "
               "interleaved)\n", BENCH_DOM_XM_CALLS);
    }
    for (size_t k = 0; k < n; k++) {
        const bench_dom_result *r = &res[k];
        if (!r->listed)
            continue;
        char cnt[32];
        printf("  %s domains: %u running + %u paused guests (started in %.2f s), reply body "
               "%zu B (%.0f B/row); xend VmRSS %.1f MiB after start-up, %.1f after the "
               "starts, %.1f after the lists\n",
               bench_dom_count(cnt, r->domains), r->running, r->paused, r->start_s, r->body_bytes,
               (double)r->body_bytes / (r->domains + 1), (double)r->rss_boot_kib / 1024,
               (double)r->rss_start_kib / 1024, (double)r->rss_list_kib / 1024);
    }
}

/* ---- the figures ------------------------------------------------------------------------ */

/* The daemons' run_dir parent on tmpfs: installed, run_dir is /run/xend, a tmpfs, where the
 * status file written by each domain.start costs no disk flush; under the --root on ext4
 * the two fsyncs per start made starting 1,000 guests take 18-36 s instead of 1-4 s. Only
 * status files live there, so unlike bench_dir it is removed even when the bench dies. */
static char bench_dom_shm[] = "/dev/shm/xend-bench-XXXXXX";
static bool bench_dom_shm_made;

static void bench_dom_shm_remove(void)
{
    if (bench_dom_shm_made)
        bench_dom_tree_remove(bench_dom_shm);
    bench_dom_shm_made = false;
}

void bench_domains_figures(const bench_options *opt, const char *xend)
{
    enum { NSIZES = sizeof(bench_dom_boot_sizes) / sizeof(bench_dom_boot_sizes[0]) };
    bench_dom_result res[NSIZES];
    memset(res, 0, sizeof(res));
    char conf[PATH_MAX], host[PATH_MAX], root[64], disks[PATH_MAX];
    snprintf(host, sizeof(host), "%s/host.conf", bench_dir);
    snprintf(conf, sizeof(conf), "%s/domains.conf", bench_dir);
    snprintf(disks, sizeof(disks), "%s/disks", bench_dir);
    bench_dom_file_write(host, bench_dom_host_conf, strlen(bench_dom_host_conf));
    if (mkdtemp(bench_dom_shm)) {
        bench_dom_shm_made = true;
        atexit(bench_dom_shm_remove);
    }

    uint64_t t_all = bench_now_ns(), t0 = t_all;
    unsigned ndisks = bench_dom_disks_make(BENCH_DOM_MAX);
    printf("\nstored domains: xend --root on a fresh root per size, run_dir %s; %u disk paths "
           "made in %.2f s\n",
           bench_dom_shm_made ? "on tmpfs (as /run)" : "under the root", ndisks,
           (double)(bench_now_ns() - t0) / 1e9);
    fflush(stdout);

    xbuf list_req = XBUF_INIT;
    bench_dom_request(&list_req, "domain.list", xmlrpc_array());
    xmlrpc_decoder *dec = xmlrpc_decoder_new(NULL);
    bench_raw raw = {.fd = -1};

    for (size_t k = 0; k < NSIZES; k++) {
        unsigned count = bench_dom_boot_sizes[k];
        bench_dom_result *r = &res[k];
        r->domains = count;
        const bench_dom_list_size *ls = NULL;
        for (size_t j = 0; j < sizeof(bench_dom_list_sizes) / sizeof(bench_dom_list_sizes[0]); j++)
            if (bench_dom_list_sizes[j].domains == count)
                ls = &bench_dom_list_sizes[j];

        snprintf(root, sizeof(root), "%s/root-%u", bench_dir, count);
        /* A run_dir per size: the status files a stopped daemon leaves for its running
         * guests would make the next one re-attach them. */
        char run[sizeof(bench_dom_shm) + 16], extra[2 * PATH_MAX];
        snprintf(run, sizeof(run), "%s/run-%u", bench_dom_shm, count);
        snprintf(extra, sizeof(extra), "host_config = %s\n%s%s%s", host,
                 bench_dom_shm_made ? "run_dir = " : "", bench_dom_shm_made ? run : "",
                 bench_dom_shm_made ? "\n" : "");
        bench_xend_write_conf(conf, extra);
        t0 = bench_now_ns();
        size_t bytes = bench_dom_root_make(root, count);
        char cnt[32];
        printf("  %s configs written (%.1f KB each) in %.2f s\n", bench_dom_count(cnt, count),
               count ? (double)bytes / count / 1000 : 0.0, (double)(bench_now_ns() - t0) / 1e9);
        fflush(stdout);
        for (int boot = 0; boot < BENCH_DOM_BOOT_RUNS; boot++) {
            bench_dom_boot(xend, conf, root, count, &list_req, dec, &raw, &r->accept_ms[boot],
                           &r->list_ms[boot]);
            /* The last start of a listed size stays up for the list figures. */
            if (ls && boot == BENCH_DOM_BOOT_RUNS - 1)
                bench_dom_list_measure(r, ls, opt, &raw, &list_req, dec);
            uint64_t t_stop = bench_now_ns();
            bench_dom_stop(&raw);
            r->stop_ms[boot] = (double)(bench_now_ns() - t_stop) / 1e6;
        }
        bench_dom_tree_remove(root);
        if (bench_dom_shm_made)
            bench_dom_tree_remove(run);
    }

    bench_dom_print_boot(res, NSIZES);
    bench_dom_print_list(res, NSIZES);
    printf("  (the stored-domain figures took %.0f s)\n", (double)(bench_now_ns() - t_all) / 1e9);

    xbuf_clear(&raw.reply);
    xmlrpc_decoder_free(dec);
    xbuf_clear(&list_req);
    bench_dom_tree_remove(disks);
    unlink(conf);
    unlink(host);
    bench_dom_shm_remove();
}
