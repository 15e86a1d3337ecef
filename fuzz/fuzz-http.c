/*
 * libFuzzer target for the daemon's HTTP request path: the bytes a client sends on the Unix
 * socket, through HTTP parsing, the XML-RPC pipeline and the real API registry, to the bytes
 * sent back. One server is started for the whole run (small limits, the read-write and
 * read-only Unix sockets in a private temp directory and a loopback TCP listener that asks
 * for HTTP Basic users of a password file there); each input is written to a fresh
 * socketpair handed to one of the three listeners with server_add_connection() (chosen by
 * the sum of the input's bytes, so mutations move inputs between them), followed by a
 * half-close, and the reply is read until EOF. The API behind it is real too: the simulated
 * host (test driver) with its domain store in the temp directory, so state-changing calls
 * reached with the admin or a write user change real (throw-away) state. The password file has the user "fuzz" with
 * the password "fuzz" (Authorization: Basic ZnV6ejpmdXp6), admin class.
 *
 * Properties: the server never crashes, leaks or hangs (it answers or closes within
 * FUZZ_HTTP_DEADLINE_MS after the client's half-close), and whatever it sends starts with an
 * HTTP/1.x status line. Any violation aborts. With XEND_FUZZ_HTTP_SHOW set in the
 * environment the start of every reply is printed (handy when replaying single inputs).
 */
#include "api/api.h"
#include "api/driver.h"
#include "daemon/server.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <crypt.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a reply may take after the client has sent everything. */
#define FUZZ_HTTP_DEADLINE_MS 5000
/* Bytes of reply kept for the checks; the rest is read and dropped. */
#define FUZZ_HTTP_KEEP 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static server *fuzz_server;
static bool fuzz_show;
static xmlrpc_registry *fuzz_registry;
static api_ctx *fuzz_ctx;
static char fuzz_dir[] = "/tmp/xend-fuzz-http-XXXXXX";
static char fuzz_socket[sizeof(fuzz_dir) + 16];
static char fuzz_socket_ro[sizeof(fuzz_dir) + 16];
static char fuzz_passwd[sizeof(fuzz_dir) + 16];

static void fuzz_http_fail(const char *why) __attribute__((noreturn));
static void fuzz_http_fail(const char *why)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz-http: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz-http: last error: %d: %s\n", err->code, err->message);
    abort();
}

static void fuzz_http_cleanup(void)
{
    server_stop(fuzz_server);
    fuzz_server = NULL;
    xmlrpc_registry_free(fuzz_registry);
    fuzz_registry = NULL;
    api_ctx_free(fuzz_ctx);
    fuzz_ctx = NULL;
    /* The simulated host's store: whatever the inputs defined. */
    char cmd[sizeof(fuzz_dir) + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/store", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz-http: could not remove %s/store\n", fuzz_dir);
    unlink(fuzz_socket);
    unlink(fuzz_socket_ro);
    unlink(fuzz_passwd);
    rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    server_config cfg;

    /* The client end sees EPIPE, never a signal, when the server has already closed. */
    signal(SIGPIPE, SIG_IGN);
    fuzz_show = getenv("XEND_FUZZ_HTTP_SHOW") != NULL;
    if (xend_log_open("stderr", XEND_LOG_ERROR) < 0)
        fuzz_http_fail("cannot open the log");
    if (!mkdtemp(fuzz_dir))
        fuzz_http_fail("mkdtemp failed");
    snprintf(fuzz_socket, sizeof(fuzz_socket), "%s/xend.sock", fuzz_dir);
    snprintf(fuzz_socket_ro, sizeof(fuzz_socket_ro), "%s/xend-ro.sock", fuzz_dir);
    snprintf(fuzz_passwd, sizeof(fuzz_passwd), "%s/passwd", fuzz_dir);
    /* A cheap hash (1,000 rounds), so a guessed password costs the fuzzer little. */
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    /* crypt_rn, not crypt_r: the sanitizers intercept crypt_r, and with the interceptor
     * satisfying the reference the real libcrypt is never linked in. */
    const char *hash = crypt_rn("fuzz", "$6$rounds=1000$xendfuzz$", &cd, sizeof(cd));
    if (!hash || hash[0] != '$')
        fuzz_http_fail("crypt_r failed");
    FILE *pw = fopen(fuzz_passwd, "w");
    if (!pw || fprintf(pw, "# fuzz-http\nfuzz:admin:%s\nreader:read:%s\n", hash, hash) < 0 ||
        fclose(pw) != 0)
        fuzz_http_fail("cannot write the password file");
    chmod(fuzz_passwd, 0600);

    fuzz_registry = api_registry_new();
    if (!fuzz_registry)
        fuzz_http_fail("api_registry_new failed");
    server_config_default(&cfg);
    cfg.socket_path = fuzz_socket;
    cfg.socket_ro_path = fuzz_socket_ro;
    cfg.tcp_listen = true;
    cfg.tcp_address = "127.0.0.1";
    cfg.tcp_port = 0;
    cfg.tcp_tls = false; /* TLS is GnuTLS's to fuzz; the HTTP and auth paths are ours */
    cfg.tcp_auth = true;
    cfg.passwd_file = fuzz_passwd;
    cfg.limits.max_body = 64 * 1024;
    cfg.limits.max_depth = 16;
    cfg.limits.max_elements = 4096;
    cfg.limits.max_string = 16 * 1024;
    cfg.max_header = 4096;
    cfg.max_connections = 64;
    /* Short: libmicrohttpd sometimes notices a half-close only at the idle timeout. */
    cfg.idle_timeout = 1;
    cfg.workers = 2;
    api_ctx_config acfg;
    api_ctx_config_init(&acfg);
    char store[3][sizeof(fuzz_dir) + 32];
    snprintf(store[0], sizeof(store[0]), "%s/store/domains", fuzz_dir);
    snprintf(store[1], sizeof(store[1]), "%s/store/save", fuzz_dir);
    snprintf(store[2], sizeof(store[2]), "%s/store/run", fuzz_dir);
    acfg.driver = &hv_test_driver;
    acfg.config_dir = store[0];
    acfg.save_dir = store[1];
    acfg.run_dir = store[2];
    acfg.job_wait_ms = 1000;
    fuzz_ctx = api_ctx_new(&acfg);
    if (!fuzz_ctx || api_ctx_start(fuzz_ctx) < 0)
        fuzz_http_fail("cannot start the API on the simulated host");
    fuzz_server = server_start(&cfg, fuzz_registry, fuzz_ctx);
    if (!fuzz_server)
        fuzz_http_fail("server_start failed");
    atexit(fuzz_http_cleanup);
    return 0;
}

static long fuzz_http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Check what the server sent: empty (it closed) or an HTTP/1.x status line first. */
static void fuzz_http_check_reply(const char *reply, size_t len)
{
    static const char prefix[] = "HTTP/1.";
    size_t n = len < sizeof(prefix) - 1 ? len : sizeof(prefix) - 1;
    if (memcmp(reply, prefix, n) != 0)
        fuzz_http_fail("the reply does not start with an HTTP/1.x status line");
    if (len > 0 && len < sizeof(prefix) - 1)
        fuzz_http_fail("the reply is cut short inside its status line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    char reply[FUZZ_HTTP_KEEP];
    size_t kept = 0, sent = 0;
    bool half_closed = false;
    long deadline = 0;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        fuzz_http_fail("socketpair failed");
    unsigned sum = 0;
    for (size_t i = 0; i < size; i++)
        sum += data[i];
    if (server_add_connection(fuzz_server, sv[1], (server_listen_kind)(sum % SERVER_LISTEN_LAST)) <
        0)
        fuzz_http_fail("server_add_connection refused a connection");
    int fd = sv[0];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    /* Write and read at once: the server may answer (and stop reading) before it has
     * seen the whole input, and then a blocking write would never finish. */
    for (;;) {
        if (!half_closed && sent == size) {
            shutdown(fd, SHUT_WR);
            half_closed = true;
            deadline = fuzz_http_now_ms() + FUZZ_HTTP_DEADLINE_MS;
        }
        struct pollfd p = {fd, POLLIN | (half_closed ? 0 : POLLOUT), 0};
        int wait = FUZZ_HTTP_DEADLINE_MS;
        if (half_closed) {
            wait = (int)(deadline - fuzz_http_now_ms());
            if (wait <= 0)
                fuzz_http_fail("the server neither answered nor closed after the request");
        }
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fuzz_http_fail("poll failed");
        if (r == 0) {
            if (half_closed)
                fuzz_http_fail("the server neither answered nor closed after the request");
            fuzz_http_fail("the server stopped reading and sent nothing");
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n == 0)
                break;
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                if (errno == ECONNRESET)
                    break;
                fuzz_http_fail("read failed");
            }
            if (n > 0 && kept < sizeof(reply)) {
                size_t take = (size_t)n < sizeof(reply) - kept ? (size_t)n : sizeof(reply) - kept;
                memcpy(reply + kept, buf, take);
                kept += take;
            }
        }
        if (!half_closed && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                sent = size; /* the server closed early: stop writing, read what it sent */
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                fuzz_http_fail("send failed");
        }
    }
    close(fd);
    if (fuzz_show)
        fprintf(stderr, "fuzz-http: %zu-byte input, reply:\n%.*s\n--\n", size, (int)kept, reply);
    fuzz_http_check_reply(reply, kept);
    return 0;
}
