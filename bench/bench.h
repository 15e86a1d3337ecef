/*
 * What the parts of xend-bench share: the options, the temp dir and the daemon it started
 * (so that bench_die can always stop it), timed series of calls with their statistics,
 * blocking socket I/O, the libcurl client and the raw HTTP client. xend-bench.c defines
 * all of it and measures round trips and the codec; bench-domains.c measures the daemon
 * with thousands of stored domains (start-up time, domain.list).
 */
#ifndef XEND_BENCH_H
#define XEND_BENCH_H

#include "util/buf.h"
#include "xmlrpc/codec.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    size_t calls;      /* measured calls (after warm-up) */
    size_t warmup;     /* unmeasured calls first */
    double codec_secs; /* minimum time spent on each codec figure */
    bool round_trips;  /* the floor and the raw/canned figures */
    bool real;         /* libcurl -> xend */
    bool codec;        /* codec figures */
    bool domains;      /* start-up and domain.list with thousands of domains */
    const char *cpus;  /* the -c CPU list, or NULL */
    const char *xm;    /* the xm binary for the `xm list` figure, or NULL to skip it */
} bench_options;

typedef struct {
    double calls_per_s;
    double mean_us;
    double p50_us;
    double p99_us;
    double client_cpu_us; /* CPU time of this process per call (user + system) */
    double server_cpu_us; /* CPU time of the serving process per call, all its threads */
} bench_stats;

/* One round trip: returns 0, or -1 after printing why. */
typedef int (*bench_call_fn)(void *ctx);

/* One figure: a call function and the latencies measured so far. */
typedef struct {
    const char *name;
    bench_call_fn fn;
    void *ctx;
    pid_t server;  /* the process answering, for its CPU time */
    uint64_t *lat; /* opt->calls entries */
    size_t n;
    uint64_t total_ns;
    uint64_t client_cpu_ns, server_cpu_ns;
    bench_stats st;
} bench_series;

/* The private temp dir (mkdtemp'd by main) and the xend running in it, or -1. */
#define BENCH_DIR_TEMPLATE "/tmp/xend-bench-XXXXXX"
extern char bench_dir[sizeof(BENCH_DIR_TEMPLATE)];
extern pid_t bench_xend_pid;

/* Print "xend-bench: MESSAGE", stop xend, keep the temp dir for a post-mortem, exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t bench_now_ns(void);
/* bench_dir/name in one of 8 rotating static buffers (name up to 31 bytes). */
char *bench_path(const char *name);
pid_t bench_fork_or_die(void);

/* ---- series: measure calls in BENCH_ROUNDS interleaved rounds ---- */

void bench_series_init(bench_series *s, const char *name, bench_call_fn fn, void *ctx, pid_t server,
                       const bench_options *opt);
/* opt->warmup unmeasured then opt->calls measured calls of every series; fills each st. */
void bench_series_measure(bench_series *series, size_t n, const bench_options *opt);

/* ---- blocking socket I/O ---- */

int bench_write_all(int fd, const char *p, size_t n);
/* Read one whole HTTP message (Content-Length framed) from fd into b (reset first). 0 / -1. */
int bench_read_http(int fd, xbuf *b);
int bench_unix_connect(const char *path);

/* ---- xend ---- */

/* Write a daemon configuration at path: socket, pid file and log in bench_dir (the paths
 * every started xend uses), then extra (whole lines) if not NULL. */
void bench_xend_write_conf(const char *path, const char *extra);
/* fork + exec xend --config conf [--root root], stdout and stderr to bench_path("stderr");
 * sets bench_xend_pid. Returns at once. */
pid_t bench_xend_spawn(const char *xend, const char *conf, const char *root);
/* Connect to the started xend's socket as soon as it accepts, trying every poll_us; dies
 * if xend exits or timeout_s pass first. Returns the connected fd. */
int bench_xend_connect_wait(unsigned poll_us, unsigned timeout_s);
/* SIGTERM the started xend and reap it (SIGKILL after 10 s). */
void bench_xend_stop(void);

/* ---- clients ---- */

/* libcurl: one easy handle, so one keep-alive connection, POSTing the same body. */
typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    xbuf reply;
    xmlrpc_decoder *dec;
    long connects;
    bool decode;
    xmlrpc_type expect; /* when decoding: the result's type (XMLRPC_STRUCT by default) */
    /* Capture of one exchange, filled while capture is set. */
    bool capture;
    xbuf sent;
    size_t received;
} bench_curl;

void bench_curl_init(bench_curl *bc, const char *socket_path, const char *body, size_t len,
                     bool decode);
/* The debug callback costs a little per call: only keep it for the capture. */
void bench_curl_quiet(bench_curl *bc);
void bench_curl_free(bench_curl *bc);
int bench_curl_call(void *ctx); /* a bench_call_fn on a bench_curl */

/* Raw clients: fixed request bytes on one connection. */
typedef struct {
    int fd;
    const char *req;
    size_t req_len;
    char *resp; /* floor: buffer of resp_len bytes */
    size_t resp_len;
    xbuf reply; /* raw HTTP client: the last reply */
} bench_raw;

/* The raw HTTP client: the request out, the reply read by Content-Length, no XML work. */
int bench_raw_http_call(void *ctx);

/* The floor: a child process that answers every req_len bytes with resp (a copy made at
 * fork), and fl set up as its client: moving exactly the bytes of one exchange, no HTTP,
 * no XML. Returns the child's pid for bench_floor_stop. */
pid_t bench_floor_start(bench_raw *fl, const char *req, size_t req_len, const char *resp,
                        size_t resp_len);
/* The floor's client side: the request bytes out, exactly resp_len bytes back. */
int bench_floor_call(void *ctx);
void bench_floor_stop(bench_raw *fl, pid_t pid);
/* SIGTERM a child of the bench and reap it. */
void bench_child_stop(pid_t pid);

/* ---- bench-domains.c ---- */

/* Start-up time with 0, 1,000 and 10,000 stored domains and domain.list with 1,000 and
 * 10,000 (10% of them running): prints its tables; the temp files it makes are removed. */
void bench_domains_figures(const bench_options *opt, const char *xend);

#endif
