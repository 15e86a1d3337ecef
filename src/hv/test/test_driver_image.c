/*
 * The simulated guest's state as data, and the save image that carries it. One set of
 * key/value pairs (cpu time per vCPU, balloon, online vCPUs, affinity, I/O counters, the
 * console tail, a pending shutdown, the console shell's variables, exit status and typed
 * input) is written three ways: as "key=value" lines in a save
 * image and in a migration stream, and as <key>value</key> children of the status file's
 * <driver> element. Every reader is strict and bounded: unknown or repeated keys, numbers
 * out of range, vCPU tables out of order and oversized consoles are refused with a message
 * naming the source, because these files outlive the process that wrote them.
 *
 * A save image is written to a temporary file next to the path asked for and renamed over
 * it only once complete and synced, so a failed or aborted save leaves whatever was there
 * (a save aimed at /etc/passwd that is aborted must not delete it). A path that is not a
 * regular file (a FIFO, a device) is written in place. Reading opens without blocking, so
 * a FIFO put where an image was cannot hang a job worker.
 *
 * Versioning: the pairs are self-describing, so the format grows by optional keys that
 * older readers refuse by name ("unknown key 'shell_var'"). The shell_* keys were added
 * this way; they are written only when the shell holds something, so the state of a guest
 * nobody typed at reads back in an xend that predates them. boot_panic likewise, only
 * for a guest whose kernel panics at boot (too little memory) and has not crashed yet.
 */
#include "test_driver_priv.h"

#include "conf/domain_conf.h"
#include "conf/xml.h"
#include "util/text.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "xmlrpc/base64.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    STATE_KEY_BALLOON = 1u << 0,
    STATE_KEY_ONLINE = 1u << 1,
    STATE_KEY_IO = 1u << 2,
    STATE_KEY_CONSOLE_BASE = 1u << 3,
    STATE_KEY_CONSOLE = 1u << 4,
    STATE_KEY_TAKEN = 1u << 5,
    STATE_KEY_SHUTDOWN = 1u << 6,
    STATE_KEY_UPTIME = 1u << 7,
    STATE_KEY_SHELL_STATUS = 1u << 8,
    STATE_KEY_SHELL_LINE = 1u << 9,
    STATE_KEY_SHELL_TYPEAHEAD = 1u << 10,
    STATE_KEY_BOOT_PANIC = 1u << 11,
};

static const char *const io_names[TEST_DRV_IO_LAST] = {
    "rd_bytes", "wr_bytes", "rd_reqs",    "wr_reqs",
    "rx_bytes", "tx_bytes", "rx_packets", "tx_packets",
};

const char *test_drv_mode_name(hv_shutdown_mode mode)
{
    switch (mode) {
    case HV_SHUTDOWN_REBOOT:
        return "reboot";
    case HV_SHUTDOWN_HALT:
        return "halt";
    case HV_SHUTDOWN_POWEROFF:
        break;
    }
    return "poweroff";
}

void test_drv_state_vcpus(test_drv_state *st, unsigned nvcpus)
{
    free(st->vcpu_ns);
    free(st->affinity);
    st->nvcpus = nvcpus;
    st->vcpu_ns = xcalloc(nvcpus, sizeof(*st->vcpu_ns));
    st->affinity = xcalloc(nvcpus, sizeof(*st->affinity));
}

void test_drv_state_clear(test_drv_state *st)
{
    free(st->vcpu_ns);
    free(st->affinity);
    free(st->console);
    test_drv_shell_clear(&st->shell);
    memset(st, 0, sizeof(*st));
}

/* ---- writing ---- */

static void state_emit_u64(void (*fn)(void *, const char *, const char *), void *opaque,
                           const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    fn(opaque, key, num);
}

static void state_emit_base64(void (*fn)(void *, const char *, const char *), void *opaque,
                              const char *key, const char *prefix, const char *data, size_t len)
{
    xbuf v = XBUF_INIT;
    xbuf_adds(&v, prefix);
    base64_encode(&v, (const unsigned char *)data, len);
    fn(opaque, key, v.data);
    xbuf_clear(&v);
}

/* The shell's part: "shell_var=NAME x|- BASE64" (x: exported; no BASE64 for an empty
 * value), shell_status and the tty's buffers, each only when it holds something. */
static void state_emit_shell(const test_drv_shell *sh,
                             void (*fn)(void *, const char *, const char *), void *opaque)
{
    for (size_t i = 0; i < sh->nvars; i++) {
        const test_drv_shell_var *v = &sh->vars[i];
        char prefix[TEST_DRV_SHELL_NAME_MAX + 8];
        size_t vlen = strlen(v->value);
        snprintf(prefix, sizeof(prefix), "%s %c%s", v->name, v->exported ? 'x' : '-',
                 vlen ? " " : "");
        state_emit_base64(fn, opaque, "shell_var", prefix, v->value, vlen);
    }
    if (sh->status)
        state_emit_u64(fn, opaque, "shell_status", sh->status);
    if (sh->line_len)
        state_emit_base64(fn, opaque, "shell_line", "", sh->line, sh->line_len);
    if (sh->typeahead_len)
        state_emit_base64(fn, opaque, "shell_typeahead", "", sh->typeahead, sh->typeahead_len);
}

void test_drv_state_emit(const test_drv_state *st,
                         void (*fn)(void *opaque, const char *key, const char *value), void *opaque)
{
    state_emit_u64(fn, opaque, "balloon_kib", st->balloon_kib);
    state_emit_u64(fn, opaque, "vcpus_online", st->vcpus_online);
    for (unsigned i = 0; i < st->nvcpus; i++) {
        /* Affinity as hex bytes, lowest CPUs first, trailing zero bytes left out. */
        size_t nbytes = TEST_DRV_AFFINITY_BYTES;
        while (nbytes > 1 && st->affinity[i][nbytes - 1] == 0)
            nbytes--;
        char line[32 + 2 * TEST_DRV_AFFINITY_BYTES + 1];
        int n = snprintf(line, sizeof(line), "%u %" PRIu64 " ", i, st->vcpu_ns[i]);
        for (size_t b = 0; b < nbytes; b++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", st->affinity[i][b]);
        fn(opaque, "vcpu", line);
    }
    char io[TEST_DRV_IO_LAST * 21 + 1];
    int n = 0;
    for (int i = 0; i < TEST_DRV_IO_LAST; i++)
        n += snprintf(io + n, sizeof(io) - (size_t)n, "%s%" PRIu64, i ? " " : "", st->io[i]);
    fn(opaque, "io", io);
    state_emit_u64(fn, opaque, "console_base", st->console_base);
    xbuf b64 = XBUF_INIT;
    base64_encode(&b64, (const unsigned char *)(st->console ? st->console : ""), st->console_len);
    fn(opaque, "console", b64.data);
    xbuf_clear(&b64);
    state_emit_u64(fn, opaque, "uptime_ns", st->uptime_ns);
    if (st->taken_ms > 0)
        state_emit_u64(fn, opaque, "taken_ms", (uint64_t)st->taken_ms);
    if (st->shutdown_pending) {
        char sd[64];
        snprintf(sd, sizeof(sd), "%s %" PRId64, test_drv_mode_name(st->shutdown_mode),
                 st->shutdown_due_ms);
        fn(opaque, "shutdown", sd);
    }
    if (st->boot_panic_ns) {
        char bp[48];
        snprintf(bp, sizeof(bp), "%" PRIu64 "%s", st->boot_panic_ns,
                 st->boot_panicked ? " panicked" : "");
        fn(opaque, "boot_panic", bp);
    }
    state_emit_shell(&st->shell, fn, opaque);
}

static void state_format_pair(void *opaque, const char *key, const char *value)
{
    xbuf_printf(opaque, "%s=%s\n", key, value);
}

void test_drv_state_format(const test_drv_state *st, xbuf *out)
{
    test_drv_state_emit(st, state_format_pair, out);
}

/* ---- reading ---- */

static void state_error(const char *what, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void state_error(const char *what, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line)
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: line %u: %s", what, line, msg);
    else
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: %s", what, msg);
}

/* Strict decimal: digits only, no sign, no overflow. *end receives the first byte after. */
static int state_parse_u64(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    if (end)
        *end = p;
    else if (*p)
        return -1;
    return 0;
}

/* "IDX NS HEX": the next vCPU in order. */
static int state_set_vcpu(test_drv_state *st, const char *value, const char *what, unsigned line)
{
    uint64_t idx, ns;
    const char *p;
    if (state_parse_u64(value, &idx, &p) < 0 || *p != ' ' || state_parse_u64(p + 1, &ns, &p) < 0 ||
        *p != ' ') {
        state_error(what, line, "vcpu: expected 'INDEX CPU_NS AFFINITY_HEX', got '%.64s'", value);
        return -1;
    }
    if (idx != st->nvcpus) {
        state_error(what, line, "vcpu %" PRIu64 " is out of order (expected vcpu %u)", idx,
                    st->nvcpus);
        return -1;
    }
    if (idx >= DOMAIN_VCPUS_MAX) {
        state_error(what, line, "more than %d vCPUs", DOMAIN_VCPUS_MAX);
        return -1;
    }
    const char *hex = p + 1;
    size_t hlen = strlen(hex);
    if (hlen == 0 || hlen % 2 || hlen > 2 * TEST_DRV_AFFINITY_BYTES) {
        state_error(what, line, "vcpu %" PRIu64 ": affinity must be 2 to %d hex digits", idx,
                    2 * TEST_DRV_AFFINITY_BYTES);
        return -1;
    }
    uint8_t aff[TEST_DRV_AFFINITY_BYTES] = {0};
    for (size_t i = 0; i < hlen; i += 2) {
        int hi = xend_hex_digit(hex[i]), lo = xend_hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            state_error(what, line, "vcpu %" PRIu64 ": affinity '%.64s' is not hex", idx, hex);
            return -1;
        }
        aff[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    unsigned n = st->nvcpus + 1;
    st->vcpu_ns = xrealloc(st->vcpu_ns, n * sizeof(*st->vcpu_ns));
    st->affinity = xrealloc(st->affinity, n * sizeof(*st->affinity));
    st->vcpu_ns[idx] = ns;
    memcpy(st->affinity[idx], aff, sizeof(aff));
    st->nvcpus = n;
    return 0;
}

static int state_set_io(test_drv_state *st, const char *value, const char *what, unsigned line)
{
    const char *p = value;
    for (int i = 0; i < TEST_DRV_IO_LAST; i++) {
        if (state_parse_u64(p, &st->io[i], &p) < 0 ||
            (i + 1 < TEST_DRV_IO_LAST ? *p != ' ' : *p != '\0')) {
            state_error(what, line, "io: expected %d counters (%s ... %s)", TEST_DRV_IO_LAST,
                        io_names[0], io_names[TEST_DRV_IO_LAST - 1]);
            return -1;
        }
        p++;
    }
    return 0;
}

static int state_set_console(test_drv_state *st, const char *value, const char *what, unsigned line)
{
    size_t len = strlen(value);
    if (len > (TEST_DRV_RING_MAX / 3 + 1) * 4) {
        state_error(what, line, "console: more than %u bytes", TEST_DRV_RING_MAX);
        return -1;
    }
    char *data = NULL;
    long n = base64_decode(value, len, &data);
    if (n < 0) {
        state_error(what, line, "console: not valid base64");
        return -1;
    }
    if ((size_t)n > TEST_DRV_RING_MAX) {
        free(data);
        state_error(what, line, "console: more than %u bytes", TEST_DRV_RING_MAX);
        return -1;
    }
    free(st->console);
    st->console = data;
    st->console_len = (size_t)n;
    return 0;
}

static int state_set_shutdown(test_drv_state *st, const char *value, const char *what,
                              unsigned line)
{
    static const hv_shutdown_mode modes[] = {HV_SHUTDOWN_POWEROFF, HV_SHUTDOWN_REBOOT,
                                             HV_SHUTDOWN_HALT};
    const char *sp = strchr(value, ' ');
    uint64_t due;
    if (sp && state_parse_u64(sp + 1, &due, NULL) == 0 && due <= INT64_MAX) {
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
            const char *name = test_drv_mode_name(modes[i]);
            if (strlen(name) == (size_t)(sp - value) && strncmp(value, name, strlen(name)) == 0) {
                st->shutdown_pending = true;
                st->shutdown_mode = modes[i];
                st->shutdown_due_ms = (int64_t)due;
                return 0;
            }
        }
    }
    state_error(what, line, "shutdown: expected 'poweroff|reboot|halt EPOCH_MS', got '%.64s'",
                value);
    return -1;
}

/* "UPTIME_NS" (the kernel panics then) or "UPTIME_NS panicked" (it did; the crash is
 * reported then). */
static int state_set_boot_panic(test_drv_state *st, const char *value, const char *what,
                                unsigned line)
{
    const char *end;
    uint64_t ns;
    if (state_parse_u64(value, &ns, &end) < 0 || ns == 0 ||
        (*end && strcmp(end, " panicked") != 0)) {
        state_error(what, line, "boot_panic: expected 'UPTIME_NS [panicked]', got '%.64s'", value);
        return -1;
    }
    st->boot_panic_ns = ns;
    st->boot_panicked = *end != '\0';
    return 0;
}

/* base64 text of at most max decoded bytes; *out (caller frees) and *len. */
static int state_decode(const char *key, const char *value, size_t max, char **out, size_t *len,
                        const char *what, unsigned line)
{
    size_t vlen = strlen(value);
    if (vlen > (max / 3 + 1) * 4) {
        state_error(what, line, "%s: more than %zu bytes", key, max);
        return -1;
    }
    long n = base64_decode(value, vlen, out);
    if (n < 0) {
        state_error(what, line, "%s: not valid base64", key);
        return -1;
    }
    if ((size_t)n > max) {
        free(*out);
        *out = NULL;
        state_error(what, line, "%s: more than %zu bytes", key, max);
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

/* "NAME x|- [BASE64]": the next shell variable. */
static int state_set_shell_var(test_drv_state *st, const char *value, const char *what,
                               unsigned line)
{
    const char *sp = strchr(value, ' ');
    size_t nlen = sp ? (size_t)(sp - value) : 0;
    if (!sp || nlen == 0 || nlen > TEST_DRV_SHELL_NAME_MAX || (sp[1] != 'x' && sp[1] != '-') ||
        (sp[2] != '\0' && (sp[2] != ' ' || sp[3] == '\0'))) {
        state_error(what, line, "shell_var: expected 'NAME x|- BASE64', got '%.64s'", value);
        return -1;
    }
    char name[TEST_DRV_SHELL_NAME_MAX + 1];
    memcpy(name, value, nlen);
    name[nlen] = '\0';
    if (test_drv_shell_var_get(&st->shell, name)) {
        state_error(what, line, "shell_var '%s' is given twice", name);
        return -1;
    }
    char *data = NULL;
    size_t len = 0;
    if (sp[2] &&
        state_decode("shell_var", sp + 3, TEST_DRV_SHELL_VALUE_MAX, &data, &len, what, line) < 0)
        return -1;
    const char *why = NULL;
    int r = test_drv_shell_var_set(&st->shell, name, data ? data : "", len, sp[1] == 'x', &why);
    free(data);
    if (r < 0)
        state_error(what, line, "shell_var '%.64s': %s", name, why);
    return r;
}

/* shell_line, shell_typeahead: the tty's buffers. */
static int state_set_shell_buffer(test_drv_state *st, const char *key, const char *value,
                                  const char *what, unsigned line)
{
    bool is_line = strcmp(key, "shell_line") == 0;
    char *data = NULL;
    size_t len = 0;
    if (state_decode(key, value, is_line ? TEST_DRV_SHELL_LINE_MAX : TEST_DRV_SHELL_TYPEAHEAD_MAX,
                     &data, &len, what, line) < 0)
        return -1;
    const char *why = NULL;
    int r = is_line ? test_drv_shell_line_set(&st->shell, data ? data : "", len, &why)
                    : test_drv_shell_typeahead_set(&st->shell, data ? data : "", len, &why);
    free(data);
    if (r < 0)
        state_error(what, line, "%s: %s", key, why);
    return r;
}

int test_drv_state_set(test_drv_state *st, const char *key, const char *value, const char *what,
                       unsigned line)
{
    if (strcmp(key, "vcpu") == 0)
        return state_set_vcpu(st, value, what, line);
    if (strcmp(key, "shell_var") == 0)
        return state_set_shell_var(st, value, what, line);

    static const struct {
        const char *key;
        unsigned bit;
    } keys[] = {
        {"balloon_kib", STATE_KEY_BALLOON},
        {"vcpus_online", STATE_KEY_ONLINE},
        {"io", STATE_KEY_IO},
        {"console_base", STATE_KEY_CONSOLE_BASE},
        {"console", STATE_KEY_CONSOLE},
        {"taken_ms", STATE_KEY_TAKEN},
        {"shutdown", STATE_KEY_SHUTDOWN},
        {"uptime_ns", STATE_KEY_UPTIME},
        {"shell_status", STATE_KEY_SHELL_STATUS},
        {"shell_line", STATE_KEY_SHELL_LINE},
        {"shell_typeahead", STATE_KEY_SHELL_TYPEAHEAD},
        {"boot_panic", STATE_KEY_BOOT_PANIC},
    };
    unsigned bit = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i].key) == 0)
            bit = keys[i].bit;
    if (!bit) {
        state_error(what, line, "unknown key '%.64s'", key);
        return -1;
    }
    if (st->seen & bit) {
        state_error(what, line, "'%s' is given twice", key);
        return -1;
    }
    st->seen |= bit;

    uint64_t v = 0;
    switch (bit) {
    case STATE_KEY_IO:
        return state_set_io(st, value, what, line);
    case STATE_KEY_CONSOLE:
        return state_set_console(st, value, what, line);
    case STATE_KEY_SHUTDOWN:
        return state_set_shutdown(st, value, what, line);
    case STATE_KEY_SHELL_LINE:
    case STATE_KEY_SHELL_TYPEAHEAD:
        return state_set_shell_buffer(st, key, value, what, line);
    case STATE_KEY_BOOT_PANIC:
        return state_set_boot_panic(st, value, what, line);
    default:
        break;
    }
    if (state_parse_u64(value, &v, NULL) < 0) {
        state_error(what, line, "%s: '%.64s' is not a non-negative integer", key, value);
        return -1;
    }
    switch (bit) {
    case STATE_KEY_BALLOON:
        if (v == 0 || v > DOMAIN_MEMORY_MAX_KIB) {
            state_error(what, line, "balloon_kib %" PRIu64 " is out of range", v);
            return -1;
        }
        st->balloon_kib = v;
        break;
    case STATE_KEY_ONLINE:
        if (v == 0 || v > DOMAIN_VCPUS_MAX) {
            state_error(what, line, "vcpus_online %" PRIu64 " is out of range", v);
            return -1;
        }
        st->vcpus_online = (unsigned)v;
        break;
    case STATE_KEY_CONSOLE_BASE:
        if (v > (UINT64_MAX >> 1)) {
            state_error(what, line, "console_base %" PRIu64 " is out of range", v);
            return -1;
        }
        st->console_base = v;
        break;
    case STATE_KEY_UPTIME:
        st->uptime_ns = v;
        break;
    case STATE_KEY_SHELL_STATUS:
        if (v > 255) {
            state_error(what, line, "shell_status %" PRIu64 " is out of range (0 to 255)", v);
            return -1;
        }
        st->shell.status = (unsigned)v;
        break;
    case STATE_KEY_TAKEN:
        if (v > INT64_MAX) {
            state_error(what, line, "taken_ms %" PRIu64 " is out of range", v);
            return -1;
        }
        st->taken_ms = (int64_t)v;
        break;
    default:
        break;
    }
    return 0;
}

int test_drv_state_finish(test_drv_state *st, const char *what)
{
    if (!(st->seen & STATE_KEY_BALLOON)) {
        state_error(what, 0, "balloon_kib is missing");
        return -1;
    }
    if (!(st->seen & STATE_KEY_ONLINE)) {
        state_error(what, 0, "vcpus_online is missing");
        return -1;
    }
    if (st->nvcpus == 0) {
        state_error(what, 0, "no vcpu entries");
        return -1;
    }
    if (st->vcpus_online > st->nvcpus) {
        state_error(what, 0, "vcpus_online %u is more than the %u vCPUs listed", st->vcpus_online,
                    st->nvcpus);
        return -1;
    }
    return 0;
}

int test_drv_state_parse(test_drv_state *st, const char *text, size_t len, const char *what)
{
    memset(st, 0, sizeof(*st));
    if (len > TEST_DRV_STATE_MAX) {
        state_error(what, 0, "state is larger than %u bytes", TEST_DRV_STATE_MAX);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        state_error(what, 0, "NUL byte in the state");
        return -1;
    }
    const char *p = text, *stop = text + len;
    unsigned line = 0;
    while (p < stop) {
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *end = eol ? eol : stop;
        line++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || eq == p || eq - p > 32) {
            state_error(what, line, "expected 'key=value'");
            goto fail;
        }
        char key[33];
        memcpy(key, p, (size_t)(eq - p));
        key[eq - p] = '\0';
        char *value = xstrndup(eq + 1, (size_t)(end - eq - 1));
        int r = test_drv_state_set(st, key, value, what, line);
        free(value);
        if (r < 0)
            goto fail;
        p = eol ? eol + 1 : stop;
    }
    if (test_drv_state_finish(st, what) < 0)
        goto fail;
    return 0;
fail:
    test_drv_state_clear(st);
    return -1;
}

/* ---- save images ---- */

#define IMAGE_MAGIC_LEN (sizeof(TEST_DRV_IMAGE_MAGIC) - 1)
#define IMAGE_MAX ((off_t)IMAGE_MAGIC_LEN + 64 + XML_MAX_DOCUMENT + 64 + TEST_DRV_STATE_MAX)

static void image_report(const char *what, const char *path, int err)
{
    xend_error_report_errno(err == ENOSPC || err == EDQUOT ? XEND_ERR_NO_SPACE : XEND_ERR_SYSTEM,
                            err, "cannot %s save image '%s'", what, path);
}

/* path exists and is not a regular file: open it for writing in place. 1 when t is open, 0
 * when path turned out to be (or became) a regular file or went away, -1 reported. */
static int image_open_in_place(const char *path, test_drv_image_target *t)
{
    /* O_NONBLOCK: a FIFO without a reader fails at once instead of hanging the caller. No
     * O_CREAT or O_TRUNC: nothing is created or emptied here. */
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        image_report("create", path, errno);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        image_report("create", path, errno);
        close(fd);
        return -1;
    }
    /* A regular file swapped in since the stat is replaced by rename like any other. */
    if (S_ISREG(sb.st_mode)) {
        close(fd);
        return 0;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    t->fd = fd;
    return 1;
}

int test_drv_image_create(const char *path, test_drv_image_target *t)
{
    *t = (test_drv_image_target){.fd = -1};
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        int r = image_open_in_place(path, t);
        if (r < 0)
            return -1;
        if (r > 0) {
            t->path = xstrdup(path);
            return 0;
        }
    }
    /* The temporary name only has to be unique in the directory; the base name is cut so a
     * long one (up to NAME_MAX) still leaves room for the suffix. mkostemp opens it with
     * O_CREAT | O_EXCL and mode 0600. */
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dir_len = slash ? (int)(slash - path) : 1;
    t->tmp = xasprintf("%.*s/.%.64s.XXXXXX", dir_len, slash ? path : ".", base);
    t->fd = mkostemp(t->tmp, O_CLOEXEC);
    if (t->fd < 0) {
        image_report("create", path, errno);
        free(t->tmp);
        t->tmp = NULL;
        return -1;
    }
    t->path = xstrdup(path);
    return 0;
}

void test_drv_image_discard(test_drv_image_target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    /* Only the temporary file is ours: whatever is at path stays. */
    if (t->tmp)
        unlink(t->tmp);
    free(t->tmp);
    free(t->path);
    *t = (test_drv_image_target){.fd = -1};
}

static int image_write_all(test_drv_image_target *t, const char *data, size_t len)
{
    if (xend_fd_write_all(t->fd, data, len) < 0) {
        image_report("write", t->path, errno);
        return -1;
    }
    return 0;
}

/* The temporary file is complete: make it durable, then the name. A crash before the rename
 * leaves the old file at path (and a stale temporary file); after the directory's fsync,
 * the new image. */
static int image_commit(test_drv_image_target *t)
{
    if (fsync(t->fd) < 0) {
        image_report("write", t->path, errno);
        return -1;
    }
    int r = close(t->fd);
    t->fd = -1;
    if (r < 0) {
        image_report("write", t->path, errno);
        return -1;
    }
    if (rename(t->tmp, t->path) < 0) {
        image_report("write", t->path, errno);
        return -1;
    }
    free(t->tmp);
    t->tmp = NULL;
    const char *slash = strrchr(t->path, '/');
    char *dir = !slash             ? xstrdup(".")
                : slash == t->path ? xstrdup("/")
                                   : xstrndup(t->path, (size_t)(slash - t->path));
    r = xend_dir_fsync(dir);
    free(dir);
    return r;
}

int test_drv_image_write(test_drv_image_target *t, const char *xml, size_t xml_len,
                         const char *state, size_t state_len)
{
    char head[64], mid[64];
    int hn = snprintf(head, sizeof(head), "%sxml %zu\n", TEST_DRV_IMAGE_MAGIC, xml_len);
    int mn = snprintf(mid, sizeof(mid), "state %zu\n", state_len);
    int ret = -1;
    if (image_write_all(t, head, (size_t)hn) < 0 || image_write_all(t, xml, xml_len) < 0 ||
        image_write_all(t, mid, (size_t)mn) < 0 || image_write_all(t, state, state_len) < 0 ||
        image_write_all(t, "end\n", 4) < 0)
        goto out;
    if (t->tmp) {
        ret = image_commit(t);
    } else {
        /* A FIFO or a device: nothing to sync or rename; a failed close still counts. */
        ret = close(t->fd);
        t->fd = -1;
        if (ret < 0)
            image_report("write", t->path, errno);
    }
out:
    test_drv_image_discard(t);
    return ret;
}

void test_drv_image_clear(test_drv_image *img)
{
    free(img->xml);
    free(img->state);
    memset(img, 0, sizeof(*img));
}

static int image_read_all(int fd, const char *path, char *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t r = read(fd, buf + *got, len - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read save image '%s'", path);
            return -1;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* "<word> <decimal>\n" at *pos, the number at most max. */
static int image_section(const char *path, const char *buf, size_t size, size_t *pos,
                         const char *word, size_t max, size_t *out)
{
    size_t wl = strlen(word);
    const char *p = buf + *pos;
    size_t left = size - *pos;
    const char *nl = memchr(p, '\n', left < 32 ? left : 32);
    uint64_t v;
    const char *end;
    if (!nl || left < wl + 1 || memcmp(p, word, wl) != 0 || p[wl] != ' ' ||
        state_parse_u64(p + wl + 1, &v, &end) < 0 || end != nl) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s': damaged save image (bad '%s' header at byte %zu)", path, word,
                          *pos);
        return -1;
    }
    if (v > max) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s': damaged save image ('%s' section of %" PRIu64
                          " bytes, at most %zu allowed)",
                          path, word, v, max);
        return -1;
    }
    *pos = (size_t)(nl - buf) + 1;
    if (size - *pos < v) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s': save image is truncated (in the '%s' section)", path, word);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int test_drv_image_read(const char *path, test_drv_image *img)
{
    memset(img, 0, sizeof(*img));
    /* The API checked that path is a regular file, but it may have been swapped for a FIFO
     * since: O_NONBLOCK keeps open from waiting for a writer that never comes (and blocking
     * a job worker for good), O_NOCTTY keeps a terminal from becoming ours. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open save image '%s'", path);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot stat save image '%s'", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s' is not a xend save image (not a regular file)", path);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read save image '%s'", path);
        close(fd);
        return -1;
    }
    char magic[IMAGE_MAGIC_LEN];
    size_t got;
    if (image_read_all(fd, path, magic, sizeof(magic), &got) < 0) {
        close(fd);
        return -1;
    }
    if (got < sizeof(magic) || memcmp(magic, TEST_DRV_IMAGE_MAGIC, sizeof(magic)) != 0) {
        /* Name a newer format rather than calling it garbage. */
        size_t vlen = 0;
        while (got == sizeof(magic) && 9 + vlen < sizeof(magic) && magic[9 + vlen] >= '0' &&
               magic[9 + vlen] <= '9')
            vlen++;
        if (vlen && memcmp(magic, "XENDSAVE ", 9) == 0)
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "'%s': save image format %.*s is not supported (this xend "
                              "reads format 1)",
                              path, (int)vlen, magic + 9);
        else
            xend_error_report(XEND_ERR_CONFIG_INVALID, "'%s' is not a xend save image", path);
        close(fd);
        return -1;
    }
    if (sb.st_size > IMAGE_MAX) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s': save image is larger than the %lld bytes allowed", path,
                          (long long)IMAGE_MAX);
        close(fd);
        return -1;
    }
    /* Read one byte past the size stat gave, to notice a file that grew meanwhile. */
    size_t size = (size_t)sb.st_size;
    char *buf = xmalloc(size + 2);
    memcpy(buf, magic, sizeof(magic));
    int r = image_read_all(fd, path, buf + sizeof(magic), size + 1 - sizeof(magic), &got);
    close(fd);
    if (r < 0) {
        free(buf);
        return -1;
    }
    size = sizeof(magic) + got;
    buf[size] = '\0';

    size_t pos = sizeof(magic), xml_len, state_len;
    if (image_section(path, buf, size, &pos, "xml", XML_MAX_DOCUMENT, &xml_len) < 0)
        goto fail;
    size_t xml_pos = pos;
    pos += xml_len;
    if (image_section(path, buf, size, &pos, "state", TEST_DRV_STATE_MAX, &state_len) < 0)
        goto fail;
    size_t state_pos = pos;
    pos += state_len;
    if (size - pos < 4 || memcmp(buf + pos, "end\n", 4) != 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "'%s': save image is %s", path,
                          size - pos < 4 ? "truncated (no end marker)" : "damaged (no end marker)");
        goto fail;
    }
    if (size - pos > 4) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "'%s': save image is damaged (data after the end marker)", path);
        goto fail;
    }
    img->xml = xstrndup(buf + xml_pos, xml_len);
    img->xml_len = xml_len;
    img->state = xstrndup(buf + state_pos, state_len);
    img->state_len = state_len;
    free(buf);
    return 0;
fail:
    free(buf);
    return -1;
}
