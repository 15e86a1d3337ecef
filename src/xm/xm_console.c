/*
 * `xm console` (and `xm create -c` / `xm start -c`): a guest's serial console through the
 * API alone, so it works wherever xm can reach xend (Unix socket, TCP, ssh) with no
 * extra channel. The console is a log the daemon keeps per domain: domain.console_read
 * from an offset returns what came after it and the offset to continue from, so following
 * it is polling (every 100 ms while output flows, backing off to 250 ms when idle) and
 * nothing is lost between polls. What is typed goes to the guest with
 * domain.console_write, which may accept less than it is given; the rest is kept and sent
 * again. Every key travels: input that XML-RPC text can carry (UTF-8 with tab, Enter and
 * erase) is sent as a string, and input holding anything else (^C, ^D, Esc, cursor and
 * function keys, bytes that are not UTF-8) as the method's base64 form, byte for byte.
 *
 * On a terminal stdin is put in raw mode (restored on every exit, signals included) and
 * Ctrl-] detaches. Otherwise stdin is forwarded as it comes and, at its end, output is
 * still printed for one second (time for the guest to answer the last line) before exiting.
 * The domain stopping ends the session normally (exit 0).
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define XM_NO_DOMAIN 3          /* fault codes (src/util/errors.def) */
#define XM_OPERATION_INVALID 10 /* e.g. "it is not running" */

#define XM_CONSOLE_ESCAPE 0x1d     /* Ctrl-] */
#define XM_CONSOLE_FAST_MS 100     /* poll interval while output flows */
#define XM_CONSOLE_IDLE_MS 250     /* poll interval when the console is quiet */
#define XM_CONSOLE_ECHO_MS 30      /* read soon after sending input: the echo comes back */
#define XM_CONSOLE_LINGER_MS 1000  /* output still shown after the end of a non-tty stdin */
#define XM_CONSOLE_PENDING_MAX (64 * 1024) /* stop reading stdin while this much is unsent */
#define XM_CONSOLE_WRITE_MAX 4096  /* the most domain.console_write takes at once */

typedef struct {
    xm_ctx *x;
    const char *dom;
    int64_t offset; /* where the next console_read continues */
    char *pending;  /* input not yet accepted by the guest */
    size_t npending;
} xm_console;

/* How a step of the session went. */
enum { XM_CONSOLE_OK, XM_CONSOLE_STOPPED, XM_CONSOLE_ERROR };

/* ---- the terminal ---- */

static struct termios xm_console_saved;
static volatile sig_atomic_t xm_console_raw;

static void xm_console_tty_restore(void)
{
    if (xm_console_raw) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &xm_console_saved);
        xm_console_raw = 0;
    }
}

/* A signal while attached: give the terminal back, then die of the signal as if nothing
 * had been caught (tcsetattr and write are async-signal-safe). */
static void xm_console_on_signal(int sig)
{
    xm_console_tty_restore();
    ssize_t w = write(STDOUT_FILENO, "\n", 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Raw input (every key reaches the guest, ^C included) but output post-processing kept, so
 * a guest's bare "\n" still returns the cursor to the start of the line. */
static int xm_console_tty_setup(void)
{
    if (tcgetattr(STDIN_FILENO, &xm_console_saved) < 0)
        return xm_error(_("cannot get the terminal's settings: %s"), strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = xm_console_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    struct termios t = xm_console_saved;
    cfmakeraw(&t);
    t.c_oflag |= xm_console_saved.c_oflag & (OPOST | ONLCR);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
        return xm_error(_("cannot set the terminal to raw mode: %s"), strerror(errno));
    xm_console_raw = 1;
    return 0;
}

static long long xm_console_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- talking to the console ---- */

/* Classify the last error: the domain having stopped (or, being transient, vanished) ends
 * the session normally; anything else is printed. */
static int xm_console_failed(xm_console *c)
{
    const xend_client_error *e = xend_last_error(c->x->conn);
    if (e->code == XM_OPERATION_INVALID || e->code == XM_NO_DOMAIN)
        return XM_CONSOLE_STOPPED;
    xm_console_tty_restore();
    xm_print_last_error(c->x);
    return XM_CONSOLE_ERROR;
}

/* One console_read from c->offset; prints what came. *got tells whether there was any. */
static int xm_console_read(xm_console *c, bool *got)
{
    xmlrpc_value *r = NULL;
    *got = false;
    if (xm_call_quiet(c->x, "domain.console_read", &r, "sI", c->dom, c->offset) < 0)
        return xm_console_failed(c);
    const xmlrpc_value *data = xmlrpc_struct_get(r, "data");
    if (data && (data->type == XMLRPC_STRING || data->type == XMLRPC_BASE64) && data->u.s.len) {
        fwrite(data->u.s.ptr, 1, data->u.s.len, stdout);
        fflush(stdout);
        *got = true;
    }
    int64_t next = xm_struct_int(r, "offset", c->offset);
    if (next != c->offset)
        *got = true;
    c->offset = next;
    xmlrpc_value_free(r);
    return XM_CONSOLE_OK;
}

/* The length of the UTF-8 character at p (n bytes available) when XML can carry it: 1 to
 * 4; 0 when the bytes so far could still become one (wait for more); -1 when they cannot. */
static int xm_console_utf8(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : -1;
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (!len || c > 0xf4)
        return -1;
    for (size_t k = 1; k < len; k++) {
        if (k >= n)
            return 0;
        if ((p[k] & 0xc0) != 0x80)
            return -1;
    }
    uint32_t cp = len == 2 ? (c & 0x1fu) << 6 | (p[1] & 0x3fu)
                  : len == 3 ? (c & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
                             : (c & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
                                   (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xfffe)) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return -1;
    return (int)len;
}

/* How many leading bytes of pending the next domain.console_write sends (at most
 * XM_CONSOLE_WRITE_MAX), and in *text whether XML-RPC text can carry them all; if not they
 * go as base64. A character whose last bytes have not arrived yet waits for them, unless
 * final (stdin ended): then its bytes go as they are. */
static size_t xm_console_ready(const xm_console *c, bool final, bool *text)
{
    const unsigned char *p = (const unsigned char *)c->pending;
    size_t i = 0;
    *text = true;
    while (i < c->npending) {
        int len = xm_console_utf8(p + i, c->npending - i);
        if (len == 0 && !final)
            break;
        if (len <= 0) {
            *text = false;
            len = 1;
        }
        if (i + (size_t)len > XM_CONSOLE_WRITE_MAX)
            break;
        i += (size_t)len;
    }
    return i;
}

/* Send what is ready; keeps what the guest did not accept. *accepted tells whether it
 * took anything. */
static int xm_console_send(xm_console *c, bool final, bool *accepted)
{
    *accepted = false;
    bool text;
    size_t ready = xm_console_ready(c, final, &text);
    if (!ready)
        return XM_CONSOLE_OK;
    xmlrpc_value *r = NULL;
    int rc;
    if (text) {
        char *s = strndup(c->pending, ready);
        if (!s) {
            xm_console_tty_restore();
            xm_error("%s", strerror(ENOMEM));
            return XM_CONSOLE_ERROR;
        }
        rc = xm_call_quiet(c->x, "domain.console_write", &r, "ss", c->dom, s);
        free(s);
    } else {
        rc = xm_call_quiet(c->x, "domain.console_write", &r, "sv", c->dom,
                           xmlrpc_base64(c->pending, ready));
    }
    if (rc < 0)
        return xm_console_failed(c);
    int64_t n = (r->type == XMLRPC_INT || r->type == XMLRPC_I8) ? r->u.i : 0;
    xmlrpc_value_free(r);
    if (n <= 0)
        return XM_CONSOLE_OK;
    if ((size_t)n > ready)
        n = (int64_t)ready;
    memmove(c->pending, c->pending + n, c->npending - (size_t)n);
    c->npending -= (size_t)n;
    *accepted = true;
    return XM_CONSOLE_OK;
}

/* Queue typed bytes as they are, but for backspace, sent as DEL (both erase, and DEL
 * travels as text). */
static int xm_console_queue(xm_console *c, const char *buf, size_t n)
{
    char *p = realloc(c->pending, c->npending + n + 1);
    if (!p) {
        xm_console_tty_restore();
        xm_error("%s", strerror(ENOMEM));
        return XM_CONSOLE_ERROR;
    }
    c->pending = p;
    for (size_t i = 0; i < n; i++)
        p[c->npending++] = buf[i] == 0x08 ? 0x7f : buf[i];
    return XM_CONSOLE_OK;
}

/* The session after the first successful read. Returns the step result that ended it, or
 * XM_CONSOLE_OK for a detach or the end of stdin. */
static int xm_console_loop(xm_console *c, bool tty)
{
    bool eof = false;
    long long now = xm_console_now();
    long long next_read = now + XM_CONSOLE_FAST_MS, linger_until = 0;
    int interval = XM_CONSOLE_FAST_MS;
    for (;;) {
        now = xm_console_now();
        long long wait = next_read - now;
        if (c->npending && wait > XM_CONSOLE_FAST_MS)
            wait = XM_CONSOLE_FAST_MS; /* the guest was full: offer the rest again soon */
        if (eof && linger_until - now < wait)
            wait = linger_until - now;
        if (wait < 0)
            wait = 0;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        bool want_input = !eof && c->npending < XM_CONSOLE_PENDING_MAX;
        int pr = poll(&p, want_input ? 1 : 0, (int)wait);
        if (pr < 0 && errno != EINTR) {
            xm_console_tty_restore();
            return xm_error(_("poll: %s"), strerror(errno)), XM_CONSOLE_ERROR;
        }
        bool detach = false;
        if (pr > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0 && tty)
                return XM_CONSOLE_OK; /* the terminal went away: as a detach */
            if (n <= 0) {
                eof = true;
                linger_until = xm_console_now() + XM_CONSOLE_LINGER_MS;
            } else {
                char *esc = tty ? memchr(buf, XM_CONSOLE_ESCAPE, (size_t)n) : NULL;
                detach = esc != NULL;
                int rc = xm_console_queue(c, buf, esc ? (size_t)(esc - buf) : (size_t)n);
                if (rc != XM_CONSOLE_OK)
                    return rc;
            }
        }
        if (c->npending) {
            bool accepted;
            int rc = xm_console_send(c, eof, &accepted);
            if (rc != XM_CONSOLE_OK)
                return rc;
            now = xm_console_now();
            if (accepted) {
                /* The echo and the answer come soon: look for them sooner. */
                if (now + XM_CONSOLE_ECHO_MS < next_read)
                    next_read = now + XM_CONSOLE_ECHO_MS;
                interval = XM_CONSOLE_FAST_MS;
                if (eof)
                    linger_until = now + XM_CONSOLE_LINGER_MS;
            }
        }
        if (detach)
            return XM_CONSOLE_OK;
        now = xm_console_now();
        bool last = eof && now >= linger_until;
        if (now >= next_read || last) {
            bool got;
            int rc = xm_console_read(c, &got);
            if (rc != XM_CONSOLE_OK)
                return rc;
            interval = got ? XM_CONSOLE_FAST_MS
                           : (interval + 50 > XM_CONSOLE_IDLE_MS ? XM_CONSOLE_IDLE_MS
                                                                  : interval + 50);
            next_read = xm_console_now() + interval;
        }
        if (last)
            return XM_CONSOLE_OK;
    }
}

int xm_console_attach(xm_ctx *x, const char *dom, bool quiet)
{
    if (!xm_conn(x))
        return 1;
    xm_console c = {.x = x, .dom = dom, .offset = 0};

    /* The recent output first: everything the daemon still keeps (reading from 0 starts at
     * the oldest byte kept). A failure of this first read (no such domain, not running) is
     * an ordinary error; after it, the domain stopping is the end of the session. */
    xmlrpc_value *r = NULL;
    if (xm_call_quiet(x, "domain.console_read", &r, "sI", dom, c.offset) < 0) {
        /* Named as the user wrote it, whatever the server's message says. */
        if (xend_last_error(x->conn)->code == XM_NO_DOMAIN)
            return xm_error(_("Domain '%s' does not exist."), dom);
        xm_print_last_error(x);
        return 1;
    }
    bool tty = isatty(STDIN_FILENO);
    if (tty && !quiet) {
        printf(_("Connected to domain %s. Escape character is '^]'."), dom);
        fputc('\n', stdout);
    }
    const xmlrpc_value *data = xmlrpc_struct_get(r, "data");
    if (data && (data->type == XMLRPC_STRING || data->type == XMLRPC_BASE64))
        fwrite(data->u.s.ptr, 1, data->u.s.len, stdout);
    fflush(stdout);
    c.offset = xm_struct_int(r, "offset", 0);
    xmlrpc_value_free(r);
    /* Anything beyond one read's worth comes with the loop's first polls. */
    int rc = XM_CONSOLE_OK;
    if (tty && xm_console_tty_setup() != 0)
        rc = XM_CONSOLE_ERROR;
    if (rc == XM_CONSOLE_OK)
        rc = xm_console_loop(&c, tty);
    xm_console_tty_restore();
    if (tty && rc != XM_CONSOLE_ERROR) {
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(c.pending);
    if (rc == XM_CONSOLE_STOPPED && !quiet) {
        fflush(stdout);
        fprintf(stderr, _("Domain %s is not running any more; console closed."), dom);
        fputc('\n', stderr);
    }
    return rc == XM_CONSOLE_ERROR ? 1 : 0;
}

static int xm_console_opt(xm_ctx *x, int opt, const char *arg, void *data)
{
    (void)x, (void)arg;
    if (opt == 'q')
        *(bool *)data = true;
    return 0;
}

int xm_cmd_console(xm_ctx *x, int argc, char **argv)
{
    static const xm_opt opts[] = {{"quiet", 'q', false}, {NULL, 0, false}};
    bool quiet = false;
    int first;
    int rc = xm_opts_parse(x, argc, argv, opts, xm_console_opt, &quiet, &first);
    if (rc)
        return rc == 2 ? 0 : rc;
    if (xm_args_check(x, argc - first, 1, 1))
        return 1;
    return xm_console_attach(x, argv[first], quiet);
}
