/*
 * xend-bench: figures for the XML-RPC path, printed as a table; nothing is asserted (a
 * benchmark never fails a build). In one run it measures, over AF_UNIX stream sockets:
 *
 *   - the floor: a raw ping-pong between two processes moving exactly the bytes of one real
 *     daemon.version exchange (the HTTP request libcurl sends, xend's whole HTTP reply);
 *   - a raw HTTP client replaying those request bytes to a real xend (server cost only);
 *   - libcurl against a server that answers with canned bytes (client cost only);
 *   - daemon.version through libcurl (one reused easy handle = one keep-alive connection)
 *     to a real xend, each reply decoded with xmlrpc_decode_response: the real thing, and
 *     its ratio to the floor (target <= 1.5x);
 *   - codec throughput on a 100-struct x 8-field reply (a 100-VM list) and a small call;
 *   - with thousands of stored domains (bench-domains.c): start-up time and domain.list.
 *
 * The bench starts xend itself in a private temp dir (socket, pid file and log there) and
 * stops it by PID with SIGTERM. usage: xend-bench [-n CALLS] [-w WARMUP] [-t SECONDS]
 * [-m all|curl|codec|domains] [-c CPUS] XEND. -m curl runs only the libcurl -> xend figure,
 * -m codec only the codec figures, which is what one wants under `perf record -g`, and
 * -m domains only the stored-domain figures. -c pins
 * the bench, xend and the fake servers to a CPU list: on a 2-core VM the scheduler otherwise
 * puts xend's worker on the client's core in some runs and on the other core in others, and
 * the cross-core wake-ups make the unpinned figures bimodal (about 2.5x apart).
 */
#include "config.h"

#include "bench.h"
#include "util/buf.h"
#include "util/error.h"
#include "xmlrpc/codec.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The round-trip figures are measured in this many interleaved rounds. */
#define BENCH_ROUNDS 10

char bench_dir[sizeof(BENCH_DIR_TEMPLATE)] = BENCH_DIR_TEMPLATE;
pid_t bench_xend_pid = -1;

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_xend_stop(void)
{
    if (bench_xend_pid <= 0)
        return;
    kill(bench_xend_pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        if (waitpid(bench_xend_pid, NULL, WNOHANG) == bench_xend_pid) {
            bench_xend_pid = -1;
            return;
        }
        usleep(10000);
    }
    fprintf(stderr, "xend-bench: xend (pid %d) ignored SIGTERM for 10 s: killing it\n",
            (int)bench_xend_pid);
    kill(bench_xend_pid, SIGKILL);
    waitpid(bench_xend_pid, NULL, 0);
    bench_xend_pid = -1;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    fputs("xend-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    bench_xend_stop();
    if (strcmp(bench_dir, BENCH_DIR_TEMPLATE) != 0) /* made by mkdtemp */
        fprintf(stderr, "xend-bench: the daemon's files are kept in %s\n", bench_dir);
    exit(1);
}

char *bench_path(const char *name)
{
    static char paths[8][sizeof(bench_dir) + 32];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", bench_dir, name);
    return p;
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* CPU time (user + system) used so far by this process. */
static uint64_t bench_self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* CPU time used so far by process pid, all threads (clock-tick resolution), or 0. */
static uint64_t bench_pid_cpu_ns(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces): state is field 3, utime 14. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * (1000000000u / (uint64_t)sysconf(_SC_CLK_TCK));
}

void bench_series_init(bench_series *s, const char *name, bench_call_fn fn, void *ctx, pid_t server,
                       const bench_options *opt)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->server = server;
    s->fn = fn;
    s->ctx = ctx;
    s->lat = malloc(opt->calls * sizeof(*s->lat));
    if (!s->lat)
        bench_die("out of memory");
}

/* Unmeasured calls. */
static void bench_series_warm(bench_series *s, size_t calls)
{
    for (size_t i = 0; i < calls; i++)
        if (s->fn(s->ctx) < 0)
            bench_die("%s: warm-up call %zu failed", s->name, i);
}

/* count more measured calls, each one timed. */
static void bench_series_run(bench_series *s, size_t count)
{
    uint64_t cpu0 = bench_self_cpu_ns(), srv0 = bench_pid_cpu_ns(s->server);
    uint64_t start = bench_now_ns();
    for (size_t i = 0; i < count; i++) {
        uint64_t t0 = bench_now_ns();
        if (s->fn(s->ctx) < 0)
            bench_die("%s: call %zu failed", s->name, s->n);
        s->lat[s->n++] = bench_now_ns() - t0;
    }
    s->total_ns += bench_now_ns() - start;
    s->client_cpu_ns += bench_self_cpu_ns() - cpu0;
    s->server_cpu_ns += bench_pid_cpu_ns(s->server) - srv0;
}

static void bench_series_finish(bench_series *s)
{
    qsort(s->lat, s->n, sizeof(*s->lat), bench_cmp_u64);
    s->st.calls_per_s = (double)s->n / ((double)s->total_ns / 1e9);
    s->st.mean_us = (double)s->total_ns / 1e3 / (double)s->n;
    s->st.p50_us = (double)s->lat[s->n / 2] / 1e3;
    s->st.p99_us = (double)s->lat[(size_t)((double)s->n * 0.99)] / 1e3;
    s->st.client_cpu_us = (double)s->client_cpu_ns / 1e3 / (double)s->n;
    s->st.server_cpu_us = (double)s->server_cpu_ns / 1e3 / (double)s->n;
    free(s->lat);
    s->lat = NULL;
}

/* Measure the figures in interleaved rounds, so that load from elsewhere on the machine
 * (this is a 2-core box shared with builds) hits all of them alike and the ratios hold. */
void bench_series_measure(bench_series *series, size_t n, const bench_options *opt)
{
    for (size_t i = 0; i < n; i++)
        bench_series_warm(&series[i], opt->warmup);
    size_t done = 0;
    for (unsigned r = 0; r < BENCH_ROUNDS; r++) {
        size_t chunk = (opt->calls - done) / (BENCH_ROUNDS - r);
        for (size_t i = 0; i < n; i++)
            bench_series_run(&series[i], chunk);
        done += chunk;
    }
    for (size_t i = 0; i < n; i++)
        bench_series_finish(&series[i]);
}

/* ---- blocking socket I/O ---------------------------------------------------------------- */

int bench_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int bench_read_exact(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Length of a complete HTTP message at the start of buf (head + Content-Length body), 0 if
 * more bytes are needed, -1 if there is no Content-Length. */
static long bench_http_message_len(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    for (const char *p = buf; p < end;) {
        if (strncasecmp(p, "Content-Length:", 15) == 0) {
            size_t total = head + strtoul(p + 15, NULL, 10);
            return total <= len ? (long)total : 0;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
    }
    return -1;
}

int bench_read_http(int fd, xbuf *b)
{
    xbuf_reset(b);
    for (;;) {
        long n = b->len ? bench_http_message_len(b->data, b->len) : 0;
        if (n < 0)
            return -1;
        if (n > 0)
            return (size_t)n == b->len ? 0 : -1; /* nothing may follow in a ping-pong */
        xbuf_reserve(b, 16384);
        ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b->len += (size_t)r;
        b->data[b->len] = '\0';
    }
}

int bench_unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bench_unix_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
        bench_die("cannot listen on %s: %s", path, strerror(errno));
    return fd;
}

/* ---- xend ------------------------------------------------------------------------------- */

void bench_xend_write_conf(const char *path, const char *extra)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "socket = %s\npid_file = %s\nlog_output = file:%s\nlog_level = warn\n",
            bench_path("xend.sock"), bench_path("xend.pid"), bench_path("xend.log"));
    if (extra)
        fputs(extra, f);
    if (fclose(f) != 0)
        bench_die("cannot write %s: %s", path, strerror(errno));
}

pid_t bench_xend_spawn(const char *xend, const char *conf, const char *root)
{
    pid_t pid = bench_fork_or_die();
    if (pid == 0) {
        int out = open(bench_path("stderr"), O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        if (in >= 0)
            dup2(in, 0);
        if (root)
            execl(xend, xend, "--root", root, "--config", conf, (char *)NULL);
        else
            execl(xend, xend, "--config", conf, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", xend, strerror(errno));
        _exit(127);
    }
    bench_xend_pid = pid;
    return pid;
}

int bench_xend_connect_wait(unsigned poll_us, unsigned timeout_s)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_s * 1000000000u;
    for (;;) {
        int status;
        if (waitpid(bench_xend_pid, &status, WNOHANG) == bench_xend_pid) {
            bench_xend_pid = -1;
            bench_die("xend exited during start-up (status 0x%x); see %s and %s", (unsigned)status,
                      bench_path("stderr"), bench_path("xend.log"));
        }
        int fd = bench_unix_connect(bench_path("xend.sock"));
        if (fd >= 0)
            return fd;
        if (bench_now_ns() > deadline)
            bench_die("xend did not listen on %s within %u s", bench_path("xend.sock"), timeout_s);
        usleep(poll_us);
    }
}

static void bench_xend_start(const char *xend)
{
    bench_xend_write_conf(bench_path("xend.conf"), NULL);
    bench_xend_spawn(xend, bench_path("xend.conf"), NULL);
    close(bench_xend_connect_wait(10000, 10));
}

static void bench_dir_remove(void)
{
    static const char *const names[] = {"xend.conf", "xend.sock", "xend.pid",
                                        "xend.log",  "stderr",    "canned.sock"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(bench_path(names[i]));
    rmdir(bench_dir);
}

/* ---- libcurl client --------------------------------------------------------------------- */

static size_t bench_curl_write(char *p, size_t size, size_t n, void *ctx)
{
    bench_curl *bc = ctx;
    xbuf_add(&bc->reply, p, size * n);
    return size * n;
}

static int bench_curl_debug(CURL *h, curl_infotype type, char *p, size_t n, void *ctx)
{
    (void)h;
    bench_curl *bc = ctx;
    if (!bc->capture)
        return 0;
    if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
        xbuf_add(&bc->sent, p, n);
    else if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN)
        bc->received += n;
    return 0;
}

void bench_curl_init(bench_curl *bc, const char *socket_path, const char *body, size_t len,
                     bool decode)
{
    memset(bc, 0, sizeof(*bc));
    bc->curl = curl_easy_init();
    if (!bc->curl)
        bench_die("curl_easy_init failed");
    bc->headers = curl_slist_append(bc->headers, "Content-Type: text/xml");
    bc->headers = curl_slist_append(bc->headers, "Expect:");
    bc->dec = xmlrpc_decoder_new(NULL);
    bc->decode = decode;
    bc->expect = XMLRPC_STRUCT;
    CURL *c = bc->curl;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/RPC2");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "xend-bench/" XEND_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, bc->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, bc);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, bench_curl_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, bc);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* the debug callback only runs in verbose mode */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

void bench_curl_quiet(bench_curl *bc)
{
    curl_easy_setopt(bc->curl, CURLOPT_VERBOSE, 0L);
}

void bench_curl_free(bench_curl *bc)
{
    curl_easy_cleanup(bc->curl);
    curl_slist_free_all(bc->headers);
    xmlrpc_decoder_free(bc->dec);
    xbuf_clear(&bc->reply);
    xbuf_clear(&bc->sent);
}

int bench_curl_call(void *ctx)
{
    bench_curl *bc = ctx;
    long code = 0, conns = 0;
    xbuf_reset(&bc->reply);
    CURLcode rc = curl_easy_perform(bc->curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "xend-bench: libcurl: %s\n", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(bc->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(bc->curl, CURLINFO_NUM_CONNECTS, &conns);
    bc->connects += conns;
    if (code != 200) {
        fprintf(stderr, "xend-bench: HTTP status %ld\n", code);
        return -1;
    }
    if (!bc->decode)
        return 0;
    xmlrpc_response resp;
    if (xmlrpc_decode_response(bc->dec, bc->reply.data, bc->reply.len, &resp) < 0) {
        fprintf(stderr, "xend-bench: bad reply: %s\n", xend_error_last()->message);
        return -1;
    }
    int ret = resp.is_fault || resp.result->type != bc->expect ? -1 : 0;
    if (ret < 0 && resp.is_fault)
        fprintf(stderr, "xend-bench: fault %d: %s\n", resp.fault_code, resp.fault_string);
    else if (ret < 0)
        fprintf(stderr, "xend-bench: the result is a %s, not a %s\n",
                xmlrpc_type_name(resp.result->type), xmlrpc_type_name(bc->expect));
    xmlrpc_response_clear(&resp);
    return ret;
}

/* ---- raw clients and servers ------------------------------------------------------------ */

int bench_floor_call(void *ctx)
{
    bench_raw *r = ctx;
    if (bench_write_all(r->fd, r->req, r->req_len) < 0 ||
        bench_read_exact(r->fd, r->resp, r->resp_len) < 0)
        return -1;
    return 0;
}

/* The floor's server side (a child process): req_len bytes in, resp_len bytes out. */
static void bench_floor_serve(int fd, size_t req_len, const char *resp, size_t resp_len)
{
    char *buf = malloc(req_len);
    while (buf && bench_read_exact(fd, buf, req_len) == 0)
        if (bench_write_all(fd, resp, resp_len) < 0)
            break;
    _exit(0);
}

int bench_raw_http_call(void *ctx)
{
    bench_raw *r = ctx;
    if (bench_write_all(r->fd, r->req, r->req_len) < 0 || bench_read_http(r->fd, &r->reply) < 0)
        return -1;
    return 0;
}

/* A server that answers every HTTP request on one connection with the same canned reply:
 * libcurl's own cost, without xend's. Runs in a child process. */
static void bench_canned_serve(int lfd, const char *resp, size_t resp_len)
{
    xbuf in = XBUF_INIT;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(1);
    for (;;) {
        long n = in.len ? bench_http_message_len(in.data, in.len) : 0;
        if (n < 0)
            _exit(1);
        if (n > 0) {
            if (bench_write_all(fd, resp, resp_len) < 0)
                _exit(1);
            memmove(in.data, in.data + n, in.len - (size_t)n);
            in.len -= (size_t)n;
            in.data[in.len] = '\0';
            continue;
        }
        xbuf_reserve(&in, 16384);
        ssize_t r = read(fd, in.data + in.len, in.cap - in.len - 1);
        if (r <= 0)
            _exit(0);
        in.len += (size_t)r;
        in.data[in.len] = '\0';
    }
}

pid_t bench_fork_or_die(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
    return pid;
}

void bench_child_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

pid_t bench_floor_start(bench_raw *fl, const char *req, size_t req_len, const char *resp,
                        size_t resp_len)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        bench_die("socketpair: %s", strerror(errno));
    pid_t pid = bench_fork_or_die();
    if (pid == 0) {
        close(sv[0]);
        bench_floor_serve(sv[1], req_len, resp, resp_len);
    }
    close(sv[1]);
    *fl = (bench_raw){.fd = sv[0], .req = req, .req_len = req_len, .resp_len = resp_len};
    fl->resp = malloc(resp_len);
    if (!fl->resp)
        bench_die("out of memory");
    return pid;
}

void bench_floor_stop(bench_raw *fl, pid_t pid)
{
    close(fl->fd);
    fl->fd = -1;
    free(fl->resp);
    fl->resp = NULL;
    bench_child_stop(pid);
}

/* ---- codec ------------------------------------------------------------------------------ */

/* A reply like a 100-VM list: 100 structs of 4 strings, 2 ints, a double and a boolean. */
static xmlrpc_value *bench_vm_list(void)
{
    static const char *const states[] = {"running", "blocked", "paused", "shutoff"};
    xmlrpc_value *list = xmlrpc_array();
    for (int i = 0; i < 100; i++) {
        char name[32], uuid[40];
        xmlrpc_value *vm = xmlrpc_struct();
        snprintf(name, sizeof(name), "guest-%03d", i);
        snprintf(uuid, sizeof(uuid), "4dea22b3-1d52-d8f3-2516-%012x", 0x782e98a0u + (unsigned)i);
        xmlrpc_struct_set(vm, "name", xmlrpc_string(name));
        xmlrpc_struct_set(vm, "uuid", xmlrpc_string(uuid));
        xmlrpc_struct_set(vm, "state", xmlrpc_string(states[i % 4]));
        xmlrpc_struct_set(vm, "os_type", xmlrpc_string(i % 3 ? "hvm" : "linux"));
        xmlrpc_struct_set(vm, "id", xmlrpc_int(i % 4 == 3 ? -1 : i + 1));
        xmlrpc_struct_set(vm, "memory", xmlrpc_int(524288 + 1024 * i));
        xmlrpc_struct_set(vm, "cpu_time", xmlrpc_double(1234.5678 + i * 0.25));
        xmlrpc_struct_set(vm, "persistent", xmlrpc_bool(i % 5 != 0));
        xmlrpc_array_append(list, vm);
    }
    return list;
}

typedef struct {
    double us_per_doc;
    double mb_per_s;
    size_t bytes;
} bench_codec_stats;

/* Repeat op until min_secs have passed (and at least 10 times). */
static bench_codec_stats bench_codec_time(int (*op)(void *), void *ctx, size_t bytes,
                                          double min_secs)
{
    bench_codec_stats st = {0, 0, bytes};
    size_t iters = 0;
    for (int i = 0; i < 10; i++) /* warm-up */
        if (op(ctx) < 0)
            bench_die("codec operation failed: %s", xend_error_last()->message);
    uint64_t start = bench_now_ns(), elapsed;
    do {
        for (int i = 0; i < 10; i++)
            if (op(ctx) < 0)
                bench_die("codec operation failed: %s", xend_error_last()->message);
        iters += 10;
        elapsed = bench_now_ns() - start;
    } while ((double)elapsed / 1e9 < min_secs);
    st.us_per_doc = (double)elapsed / 1e3 / (double)iters;
    st.mb_per_s = (double)bytes / st.us_per_doc; /* bytes per us = MB/s */
    return st;
}

typedef struct {
    const xmlrpc_value *value;
    const char *method;
    xbuf out;
    const char *doc;
    size_t doc_len;
    xmlrpc_decoder *dec;
} bench_codec;

static int bench_op_encode_response(void *ctx)
{
    bench_codec *c = ctx;
    xbuf_reset(&c->out);
    return xmlrpc_encode_response(&c->out, c->value);
}

static int bench_op_encode_call(void *ctx)
{
    bench_codec *c = ctx;
    xbuf_reset(&c->out);
    return xmlrpc_encode_call(&c->out, c->method, c->value);
}

static int bench_op_decode_response(void *ctx)
{
    bench_codec *c = ctx;
    xmlrpc_response resp;
    if (xmlrpc_decode_response(c->dec, c->doc, c->doc_len, &resp) < 0)
        return -1;
    xmlrpc_response_clear(&resp);
    return 0;
}

static int bench_op_decode_call(void *ctx)
{
    bench_codec *c = ctx;
    char *method;
    xmlrpc_value *params;
    if (xmlrpc_decode_call(c->dec, c->doc, c->doc_len, &method, &params) < 0)
        return -1;
    free(method);
    xmlrpc_value_free(params);
    return 0;
}

static void bench_print_codec(const char *what, bench_codec_stats st)
{
    printf("  %-44s %9zu %10.2f %10.1f\n", what, st.bytes, st.us_per_doc, st.mb_per_s);
}

static void bench_codec_figures(const bench_options *opt)
{
    bench_codec c;
    memset(&c, 0, sizeof(c));
    c.dec = xmlrpc_decoder_new(NULL);
    xmlrpc_value *list = bench_vm_list();
    xmlrpc_value *noparams = xmlrpc_array();
    xbuf doc = XBUF_INIT;

    printf("\n  %-44s %9s %10s %10s\n", "codec, one thread", "doc bytes", "us/doc", "MB/s");
    c.value = list;
    if (xmlrpc_encode_response(&doc, list) < 0)
        bench_die("cannot encode the 100-VM list: %s", xend_error_last()->message);
    bench_print_codec("xmlrpc_encode_response, 100 VMs x 8 fields",
                      bench_codec_time(bench_op_encode_response, &c, doc.len, opt->codec_secs));
    c.doc = doc.data;
    c.doc_len = doc.len;
    bench_print_codec("xmlrpc_decode_response, 100 VMs x 8 fields",
                      bench_codec_time(bench_op_decode_response, &c, doc.len, opt->codec_secs));

    /* The small exchange of the round-trip figures, for scale. */
    xbuf call = XBUF_INIT;
    xmlrpc_encode_call(&call, "daemon.version", noparams);
    c.value = noparams;
    c.method = "daemon.version";
    bench_print_codec("xmlrpc_encode_call, daemon.version",
                      bench_codec_time(bench_op_encode_call, &c, call.len, opt->codec_secs / 4));
    c.doc = call.data;
    c.doc_len = call.len;
    bench_print_codec("xmlrpc_decode_call, daemon.version",
                      bench_codec_time(bench_op_decode_call, &c, call.len, opt->codec_secs / 4));
    /* A reply shaped like daemon.version's: 5 scalars and an empty array. */
    xmlrpc_value *version = xmlrpc_struct();
    xmlrpc_struct_set(version, "product", xmlrpc_string("xend"));
    xmlrpc_struct_set(version, "version", xmlrpc_string("0.1.0"));
    xmlrpc_struct_set(version, "api", xmlrpc_string("1.0"));
    xmlrpc_struct_set(version, "api_major", xmlrpc_int(1));
    xmlrpc_struct_set(version, "api_minor", xmlrpc_int(0));
    xmlrpc_struct_set(version, "drivers", xmlrpc_array());
    xbuf vdoc = XBUF_INIT;
    xmlrpc_encode_response(&vdoc, version);
    c.value = version;
    bench_print_codec(
        "xmlrpc_encode_response, daemon.version reply",
        bench_codec_time(bench_op_encode_response, &c, vdoc.len, opt->codec_secs / 4));
    c.doc = vdoc.data;
    c.doc_len = vdoc.len;
    bench_print_codec(
        "xmlrpc_decode_response, daemon.version reply",
        bench_codec_time(bench_op_decode_response, &c, vdoc.len, opt->codec_secs / 4));
    xbuf_clear(&vdoc);
    xmlrpc_value_free(version);

    xbuf_clear(&call);
    xbuf_clear(&doc);
    xbuf_clear(&c.out);
    xmlrpc_value_free(list);
    xmlrpc_value_free(noparams);
    xmlrpc_decoder_free(c.dec);
}

/* ---- main ------------------------------------------------------------------------------- */

static void bench_print_row(const char *what, bench_stats st, const bench_stats *floor)
{
    printf("  %-44s %8.0f %7.1f %7.1f", what, st.calls_per_s, st.p50_us, st.p99_us);
    if (floor)
        printf(" %6.2fx %6.2fx", st.mean_us / floor->mean_us, st.p50_us / floor->p50_us);
    else
        printf(" %7s %7s", "-", "-");
    printf(" %8.1f %8.1f\n", st.client_cpu_us, st.server_cpu_us);
}

/* Start xend, measure the exchange's sizes, print the round-trip table, stop xend. */
static void bench_round_trips(const bench_options *opt, const char *xend)
{
    bench_xend_start(xend);

    /* The exchange: what libcurl really sends for daemon.version, what xend sends back. */
    xbuf body = XBUF_INIT;
    xmlrpc_value *noparams = xmlrpc_array();
    xmlrpc_encode_call(&body, "daemon.version", noparams);
    xmlrpc_value_free(noparams);
    bench_curl bc;
    bench_curl_init(&bc, bench_path("xend.sock"), body.data, body.len, true);
    bc.capture = true;
    if (bench_curl_call(&bc) < 0)
        bench_die("the first daemon.version call failed");
    bc.capture = false;
    bench_curl_quiet(&bc);
    size_t reply_body_len = bc.reply.len;

    bench_raw raw = {.req = bc.sent.data, .req_len = bc.sent.len};
    raw.fd = bench_unix_connect(bench_path("xend.sock"));
    if (raw.fd < 0 || bench_raw_http_call(&raw) < 0)
        bench_die("the raw HTTP client got no reply to libcurl's request bytes");
    /* Later raw calls reuse raw.reply: keep a copy of this reply for the fake servers. */
    size_t resp_len = raw.reply.len;
    char *resp = malloc(resp_len + 1);
    if (!resp)
        bench_die("out of memory");
    memcpy(resp, raw.reply.data, resp_len + 1);
    if (resp_len != bc.received)
        fprintf(stderr, "xend-bench: note: libcurl saw %zu reply bytes, the raw client %zu\n",
                bc.received, resp_len);

    printf("xend-bench: %s, %ld CPUs (%s%s), %zu calls per figure after %zu warm-up calls\n", xend,
           sysconf(_SC_NPROCESSORS_ONLN), opt->cpus ? "pinned to " : "not pinned",
           opt->cpus ? opt->cpus : "", opt->calls, opt->warmup);
    printf("exchange: daemon.version, request %zu bytes (libcurl: %zu head + %zu body), "
           "reply %zu bytes (xend: %zu head + %zu body)\n",
           bc.sent.len, bc.sent.len - body.len, body.len, resp_len, resp_len - reply_body_len,
           reply_body_len);
    printf("\n  %-44s %8s %7s %7s %7s %7s %8s %8s\n", "round trips over AF_UNIX, one client",
           "calls/s", "p50 us", "p99 us", "x floor", "x floor", "CPU us", "CPU us");
    printf("  %-44s %8s %7s %7s %7s %7s %8s %8s\n", "", "", "", "", "(mean)", "(p50)", "client",
           "server");

    bench_series series[4];
    size_t nseries = 0;
    pid_t floor_pid = -1, canned_pid = -1;
    bench_raw fl = {.fd = -1};
    bench_curl cc;
    if (opt->round_trips) {
        /* a. The floor: the same bytes between two processes, no HTTP, no XML. */
        floor_pid = bench_floor_start(&fl, raw.req, raw.req_len, resp, resp_len);
        bench_series_init(&series[nseries++], "floor: raw ping-pong, same byte counts",
                          bench_floor_call, &fl, floor_pid, opt);

        /* The server's share: replaying libcurl's bytes to xend without libcurl. */
        bench_series_init(&series[nseries++], "raw HTTP client -> xend (no XML decode)",
                          bench_raw_http_call, &raw, bench_xend_pid, opt);

        /* The client's share: libcurl against canned replies. */
        int lfd = bench_unix_listen(bench_path("canned.sock"));
        canned_pid = bench_fork_or_die();
        if (canned_pid == 0)
            bench_canned_serve(lfd, resp, resp_len);
        close(lfd);
        bench_curl_init(&cc, bench_path("canned.sock"), body.data, body.len, false);
        bench_curl_quiet(&cc);
        bench_series_init(&series[nseries++], "libcurl -> canned replies (no server work)",
                          bench_curl_call, &cc, canned_pid, opt);
    }
    /* b. The real thing. */
    bc.connects = 0;
    bench_series_init(&series[nseries++], "libcurl -> xend, daemon.version + decode",
                      bench_curl_call, &bc, bench_xend_pid, opt);

    bench_series_measure(series, nseries, opt);
    for (size_t i = 0; i < nseries; i++)
        bench_print_row(series[i].name, series[i].st, opt->round_trips ? &series[0].st : NULL);
    printf("  (libcurl opened %ld new connection(s) to xend during the measured calls; "
           "target <= 1.50x floor)\n",
           bc.connects);

    if (opt->round_trips) {
        bench_floor_stop(&fl, floor_pid);
        bench_curl_free(&cc);
        bench_child_stop(canned_pid);
    }
    close(raw.fd);
    xbuf_clear(&raw.reply);
    bench_curl_free(&bc);
    xbuf_clear(&body);
    free(resp);
    bench_xend_stop();
}

static void bench_usage(FILE *out)
{
    fprintf(out, "usage: xend-bench [-n CALLS] [-w WARMUP] [-t SECONDS] [-m MODE] [-c CPUS] [-x XM] XEND\n"
                 "  XEND        the xend binary to start (e.g. build/src/daemon/xend)\n"
                 "  -n CALLS    measured round trips per figure (default 20000)\n"
                 "  -w WARMUP   unmeasured round trips first (default 2000)\n"
                 "  -t SECONDS  minimum time per codec figure (default 1)\n"
                 "  -m MODE     all (default), curl (only libcurl -> xend), codec (only the codec\n"
                 "              figures: these two are for profiling with perf record) or domains\n"
                 "              (only start-up and domain.list with 1,000 and 10,000 domains)\n"
                 "  -c CPUS     pin everything to these CPUs, e.g. 0 or 0-1 or 0,2 (default: not\n"
                 "              pinned; pinned figures are steadier from run to run)\n"
                 "  -x XM       the xm binary: adds `xm list` as a whole process with 1,000\n"
                 "              domains to the domains figures\n");
}

/* Pin this process (and so xend and the fake servers it starts) to a CPU list. */
static void bench_pin(const char *list)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    const char *p = list;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p || lo < 0 || lo >= CPU_SETSIZE)
            bench_die("bad CPU list '%s'", list);
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p || hi < lo || hi >= CPU_SETSIZE)
                bench_die("bad CPU list '%s'", list);
        }
        for (long c = lo; c <= hi; c++)
            CPU_SET((int)c, &set);
        if (*end == ',')
            end++;
        else if (*end)
            bench_die("bad CPU list '%s'", list);
        p = end;
    }
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        bench_die("cannot pin to CPUs %s: %s", list, strerror(errno));
}

static size_t bench_parse_count(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v == 0 || v > 100000000)
        bench_die("bad %s '%s'", what, s);
    return (size_t)v;
}

int main(int argc, char **argv)
{
    bench_options opt = {20000, 2000, 1.0, true, true, true, true, NULL, NULL};
    int ch;
    while ((ch = getopt(argc, argv, "n:w:t:m:c:x:h")) != -1) {
        switch (ch) {
        case 'n':
            opt.calls = bench_parse_count(optarg, "call count");
            break;
        case 'w':
            opt.warmup = bench_parse_count(optarg, "warm-up count");
            break;
        case 't':
            opt.codec_secs = atof(optarg);
            if (opt.codec_secs <= 0 || opt.codec_secs > 600)
                bench_die("bad codec time '%s'", optarg);
            break;
        case 'm':
            opt.round_trips = strcmp(optarg, "all") == 0;
            opt.real = opt.round_trips || strcmp(optarg, "curl") == 0;
            opt.codec = opt.round_trips || strcmp(optarg, "codec") == 0;
            opt.domains = opt.round_trips || strcmp(optarg, "domains") == 0;
            if (!opt.real && !opt.codec && !opt.domains)
                bench_die("bad mode '%s' (all, curl, codec or domains)", optarg);
            break;
        case 'c':
            opt.cpus = optarg;
            bench_pin(optarg);
            break;
        case 'x':
            opt.xm = optarg;
            break;
        case 'h':
            bench_usage(stdout);
            return 0;
        default:
            bench_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        bench_usage(stderr);
        return 2;
    }
    const char *xend = argv[optind];
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(bench_dir))
        bench_die("mkdtemp: %s", strerror(errno));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        bench_die("curl_global_init failed");

    if (opt.real)
        bench_round_trips(&opt, xend);
    if (opt.codec)
        bench_codec_figures(&opt);
    if (opt.domains)
        bench_domains_figures(&opt, xend);

    bench_xend_stop();
    bench_dir_remove();
    curl_global_cleanup();
    return 0;
}
