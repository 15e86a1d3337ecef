/*
 * Unit tests of the simulated host's self-contained parts (src/hv/test): the console ring
 * (absolute offsets, wrapping at a line, oversized writes, clamped reads, discard and
 * restore), the guest state's key=value form (round trip with binary console bytes, and
 * every refusal naming its line), and save images (round trip, and each way a file can
 * fail to be one: not an image, newer format, damaged headers, truncation, trailing data,
 * missing file, directory, FIFO, full disk). Writing an image replaces the file at its path
 * only once complete: a discarded or failed save leaves the old file as it was and no
 * temporary file behind; a FIFO is written in place.
 */
#include "check-error.h"
#include "check.h"
#include "hv/test/test_driver_priv.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

/* Entries in tmpdir: a failed save must leave no temporary file behind. */
static int dir_entries(void)
{
    DIR *d = opendir(tmpdir);
    CHECK(d != NULL);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void check_file(const char *path, const char *want)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
    if (fd >= 0)
        close(fd);
    CHECK_MEMEQ(buf, n < 0 ? 0 : (size_t)n, want, strlen(want));
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* ---- ring ---- */

static void test_ring_basic(void)
{
    xring r;
    xring_init(&r, 64);
    xbuf out = XBUF_INIT;
    uint64_t next = 99, start = 99;

    CHECK_INTEQ(xring_read(&r, 0, 100, &out, &next, &start), 0);
    CHECK_INTEQ(next, 0);
    CHECK_INTEQ(start, 0);

    xring_printf(&r, "hello %s\n", "world");
    CHECK_INTEQ(xring_end(&r), 12);
    CHECK_INTEQ(xring_read(&r, 0, 100, &out, &next, &start), 12);
    CHECK_STREQ(out.data, "hello world\n");
    CHECK_INTEQ(next, 12);

    /* From the middle, limited by max. */
    xbuf_reset(&out);
    CHECK_INTEQ(xring_read(&r, 6, 3, &out, &next, &start), 3);
    CHECK_STREQ(out.data, "wor");
    CHECK_INTEQ(next, 9);

    /* Past the end: nothing, next clamped to the end. */
    xbuf_reset(&out);
    CHECK_INTEQ(xring_read(&r, 500, 10, &out, &next, &start), 0);
    CHECK_INTEQ(next, 12);

    /* Discard keeps offsets going. */
    xring_discard(&r);
    CHECK_INTEQ(xring_end(&r), 12);
    CHECK_INTEQ(xring_read(&r, 0, 100, &out, &next, &start), 0);
    CHECK_INTEQ(start, 12);
    xring_append(&r, "x", 1);
    xbuf_reset(&out);
    CHECK_INTEQ(xring_read(&r, 0, 100, &out, &next, &start), 1);
    CHECK_STREQ(out.data, "x");
    CHECK_INTEQ(next, 13);

    xbuf_clear(&out);
    xring_free(&r);
}

static void test_ring_wrap(void)
{
    xring r;
    xring_init(&r, 100);
    uint64_t total = 0;
    char line[32];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof(line), "line %02d\n", i); /* 8 bytes */
        xring_append(&r, line, (size_t)n);
        total += (uint64_t)n;
        CHECK(r.len <= r.max);
        CHECK(r.cap <= r.max);
    }
    CHECK_INTEQ(xring_end(&r), total);
    CHECK(r.base > 0);
    CHECK_INTEQ(r.base % 8, 0); /* dropped whole lines */

    xbuf out = XBUF_INIT;
    uint64_t next, start;
    /* A reader that fell behind resumes at the oldest byte kept. */
    size_t n = xring_read(&r, 0, 1000, &out, &next, &start);
    CHECK_INTEQ(start, r.base);
    CHECK_INTEQ(n, total - r.base);
    CHECK_INTEQ(next, total);
    CHECK(strncmp(out.data, "line ", 5) == 0);
    CHECK(strstr(out.data, "line 49\n") != NULL);
    xbuf_clear(&out);

    /* A write bigger than the ring keeps its tail, and counts every byte. */
    char big[250];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    xring_append(&r, big, sizeof(big));
    CHECK_INTEQ(r.len, 100);
    CHECK_INTEQ(xring_end(&r), total + sizeof(big));
    CHECK_INTEQ(r.base, total + sizeof(big) - 100);
    CHECK(memcmp(r.data, big + 150, 100) == 0);

    /* Restore with a base. */
    xring_set(&r, 1000, "abc\n", 4);
    CHECK_INTEQ(r.base, 1000);
    CHECK_INTEQ(xring_end(&r), 1004);
    xring_set(&r, 7, big, sizeof(big));
    CHECK_INTEQ(r.base, 7 + sizeof(big) - 100);
    CHECK_INTEQ(r.len, 100);
    xring_free(&r);
}

/* ---- state ---- */

static void make_state(test_drv_state *st)
{
    memset(st, 0, sizeof(*st));
    st->balloon_kib = 524288;
    test_drv_state_vcpus(st, 3);
    st->vcpus_online = 2;
    st->vcpu_ns[0] = 123456789;
    st->vcpu_ns[1] = 1;
    st->vcpu_ns[2] = 0;
    st->affinity[0][0] = 0x0f;
    st->affinity[1][0] = 0x02;
    st->affinity[2][31] = 0x80; /* CPU 255 */
    for (int i = 0; i < TEST_DRV_IO_LAST; i++)
        st->io[i] = (uint64_t)i * 1000 + 7;
    static const char console[] = "[    0.000000] Linux\nlogin: \0\xff\x01 bytes";
    st->console = malloc(sizeof(console));
    memcpy(st->console, console, sizeof(console));
    st->console_len = sizeof(console);
    st->console_base = 4096;
    st->uptime_ns = 98765432100;
    st->taken_ms = 1700000000123;
    st->shutdown_pending = true;
    st->shutdown_mode = HV_SHUTDOWN_REBOOT;
    st->shutdown_due_ms = 1700000000999;
    st->boot_panic_ns = 1200000000;
    st->boot_panicked = true;
}

static void check_same_state(const test_drv_state *a, const test_drv_state *b)
{
    CHECK_INTEQ(a->balloon_kib, b->balloon_kib);
    CHECK_INTEQ(a->nvcpus, b->nvcpus);
    CHECK_INTEQ(a->vcpus_online, b->vcpus_online);
    for (unsigned i = 0; i < a->nvcpus && i < b->nvcpus; i++) {
        CHECK_INTEQ(a->vcpu_ns[i], b->vcpu_ns[i]);
        CHECK(memcmp(a->affinity[i], b->affinity[i], TEST_DRV_AFFINITY_BYTES) == 0);
    }
    CHECK(memcmp(a->io, b->io, sizeof(a->io)) == 0);
    CHECK_MEMEQ(a->console, a->console_len, b->console, b->console_len);
    CHECK_INTEQ(a->console_base, b->console_base);
    CHECK_INTEQ(a->uptime_ns, b->uptime_ns);
    CHECK_INTEQ(a->taken_ms, b->taken_ms);
    CHECK_INTEQ(a->shutdown_pending, b->shutdown_pending);
    CHECK_INTEQ(a->shutdown_mode, b->shutdown_mode);
    CHECK_INTEQ(a->shutdown_due_ms, b->shutdown_due_ms);
    CHECK_INTEQ(a->boot_panic_ns, b->boot_panic_ns);
    CHECK_INTEQ(a->boot_panicked, b->boot_panicked);
}

static void test_state_roundtrip(void)
{
    test_drv_state st, back;
    make_state(&st);
    xbuf text = XBUF_INIT;
    test_drv_state_format(&st, &text);
    CHECK_CONTAINS(text.data, "balloon_kib=524288\n");
    CHECK_CONTAINS(text.data, "vcpus_online=2\n");
    CHECK_CONTAINS(text.data, "vcpu=0 123456789 0f\n");
    CHECK_CONTAINS(text.data, "shutdown=reboot 1700000000999\n");
    CHECK_CONTAINS(text.data, "boot_panic=1200000000 panicked\n");
    CHECK_INTEQ(test_drv_state_parse(&back, text.data, text.len, "test"), 0);
    check_same_state(&st, &back);
    test_drv_state_clear(&back);
    /* A panic still to come. */
    st.boot_panicked = false;
    xbuf_reset(&text);
    test_drv_state_format(&st, &text);
    CHECK_CONTAINS(text.data, "boot_panic=1200000000\n");
    CHECK_INTEQ(test_drv_state_parse(&back, text.data, text.len, "test"), 0);
    check_same_state(&st, &back);
    test_drv_state_clear(&back);

    /* Without the optional keys, and with an empty console. */
    free(st.console);
    st.console = NULL;
    st.console_len = 0;
    st.shutdown_pending = false;
    st.taken_ms = 0;
    st.boot_panic_ns = 0;
    xbuf_reset(&text);
    test_drv_state_format(&st, &text);
    CHECK(strstr(text.data, "shutdown=") == NULL);
    CHECK(strstr(text.data, "boot_panic=") == NULL);
    CHECK_INTEQ(test_drv_state_parse(&back, text.data, text.len, "test"), 0);
    CHECK_INTEQ(back.console_len, 0);
    CHECK_INTEQ(back.shutdown_pending, 0);
    test_drv_state_clear(&back);

    xbuf_clear(&text);
    test_drv_state_clear(&st);
}

/* Pairs as the status file gives them (one per element, each with its line). */
static void test_state_pairs(void)
{
    test_drv_state st;
    memset(&st, 0, sizeof(st));
    CHECK_INTEQ(test_drv_state_set(&st, "vcpu", "0 5 01", "status of 'web'", 3), 0);
    CHECK_INTEQ(test_drv_state_set(&st, "balloon_kib", "1024", "status of 'web'", 4), 0);
    CHECK_INTEQ(test_drv_state_finish(&st, "status of 'web'"), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "status of 'web'", "vcpus_online");
    CHECK_INTEQ(test_drv_state_set(&st, "vcpus_online", "1", "status of 'web'", 5), 0);
    CHECK_INTEQ(test_drv_state_finish(&st, "status of 'web'"), 0);
    CHECK_INTEQ(test_drv_state_set(&st, "balloon_kib", "2048", "status of 'web'", 9), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "status of 'web'", "line 9", "twice");
    CHECK_INTEQ(test_drv_state_set(&st, "bogus", "1", "status of 'web'", 10), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "line 10", "unknown key 'bogus'");
    test_drv_state_clear(&st);
}

static void check_parse_fails(const char *text, unsigned line, const char *needle)
{
    test_drv_state st;
    xend_error_reset();
    int r = test_drv_state_parse(&st, text, strlen(text), "img");
    CHECK_MSG(r == -1, "parsed: %s", text);
    if (r == 0) {
        test_drv_state_clear(&st);
        return;
    }
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "img", needle);
    if (line)
        CHECK_ERROR_LINE(line);
    CHECK(st.vcpu_ns == NULL && st.console == NULL);
}

#define OK_HEAD "balloon_kib=1024\nvcpus_online=1\nvcpu=0 0 01\n"

static void test_state_errors(void)
{
    check_parse_fails(OK_HEAD "colour=blue\n", 4, "unknown key 'colour'");
    check_parse_fails(OK_HEAD "balloon_kib=5\n", 4, "twice");
    check_parse_fails(OK_HEAD "no equals sign\n", 4, "key=value");
    check_parse_fails(OK_HEAD "=1\n", 4, "key=value");
    check_parse_fails("balloon_kib=0\n", 1, "out of range");
    check_parse_fails("balloon_kib=-1\n", 1, "not a non-negative integer");
    check_parse_fails("balloon_kib=18446744073709551616\n", 1, "not a non-negative integer");
    check_parse_fails("balloon_kib=12abc\n", 1, "not a non-negative integer");
    check_parse_fails("balloon_kib= 12\n", 1, "not a non-negative integer");
    check_parse_fails("vcpus_online=257\n", 1, "out of range");
    check_parse_fails("vcpu=1 0 01\n", 1, "out of order");
    check_parse_fails("vcpu=0 0 01\nvcpu=0 0 01\n", 2, "out of order");
    check_parse_fails("vcpu=0 0 0g\n", 1, "not hex");
    check_parse_fails("vcpu=0 0 1\n", 1, "hex digits");
    check_parse_fails("vcpu=0 0\n", 1, "expected");
    check_parse_fails("vcpu=0 0 "
                      "000000000000000000000000000000000000000000000000000000000000000000\n",
                      1, "hex digits");
    check_parse_fails(OK_HEAD "io=1 2 3\n", 4, "counters");
    check_parse_fails(OK_HEAD "io=1 2 3 4 5 6 7 8 9\n", 4, "counters");
    check_parse_fails(OK_HEAD "console=@@@@\n", 4, "base64");
    check_parse_fails(OK_HEAD "shutdown=explode 5\n", 4, "shutdown");
    check_parse_fails(OK_HEAD "shutdown=reboot\n", 4, "shutdown");
    check_parse_fails(OK_HEAD "boot_panic=0\n", 4, "boot_panic");
    check_parse_fails(OK_HEAD "boot_panic=5 crashed\n", 4, "boot_panic");
    check_parse_fails(OK_HEAD "boot_panic=5 \n", 4, "boot_panic");
    check_parse_fails(OK_HEAD "boot_panic=5\nboot_panic=6\n", 5, "twice");
    check_parse_fails("vcpus_online=1\nvcpu=0 0 01\n", 0, "balloon_kib is missing");
    check_parse_fails("balloon_kib=1\nvcpu=0 0 01\n", 0, "vcpus_online is missing");
    check_parse_fails("balloon_kib=1\nvcpus_online=1\n", 0, "no vcpu");
    check_parse_fails("balloon_kib=1\nvcpus_online=2\nvcpu=0 0 01\n", 0, "more than the 1");

    /* A console bigger than the ring, and a NUL in the text. */
    xbuf big = XBUF_INIT;
    xbuf_adds(&big, OK_HEAD "console=");
    for (unsigned i = 0; i < (TEST_DRV_RING_MAX / 3 + 2) * 4; i++)
        xbuf_addc(&big, 'A');
    xbuf_addc(&big, '\n');
    check_parse_fails(big.data, 4, "more than");
    xbuf_clear(&big);
    test_drv_state st;
    CHECK_INTEQ(test_drv_state_parse(&st, "balloon_kib=1\0\n", 15, "img"), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "NUL");
    char *huge = calloc(1, TEST_DRV_STATE_MAX + 2);
    memset(huge, 'x', TEST_DRV_STATE_MAX + 1);
    CHECK_INTEQ(test_drv_state_parse(&st, huge, TEST_DRV_STATE_MAX + 1, "img"), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "larger than");
    free(huge);
}

/* ---- images ---- */

static const char xml_doc[] = "<domain type='test'>\n  <name>web</name>\n</domain>\n";

static void test_image_roundtrip(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/web.save", tmpdir);
    test_drv_state st;
    make_state(&st);
    xbuf text = XBUF_INIT;
    test_drv_state_format(&st, &text);

    test_drv_image_target t;
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    CHECK(t.tmp != NULL);
    CHECK_INTEQ(test_drv_image_write(&t, xml_doc, strlen(xml_doc), text.data, text.len), 0);
    CHECK(t.tmp == NULL && t.path == NULL && t.fd == -1);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

    test_drv_image img;
    CHECK_INTEQ(test_drv_image_read(path, &img), 0);
    CHECK_MEMEQ(img.xml, img.xml_len, xml_doc, strlen(xml_doc));
    CHECK_MEMEQ(img.state, img.state_len, text.data, text.len);
    test_drv_state back;
    CHECK_INTEQ(test_drv_state_parse(&back, img.state, img.state_len, path), 0);
    check_same_state(&st, &back);
    test_drv_state_clear(&back);
    test_drv_image_clear(&img);

    /* Writing again replaces the image. */
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    CHECK_INTEQ(test_drv_image_write(&t, "<domain/>", 9, "", 0), 0);
    CHECK_INTEQ(dir_entries(), 1);
    CHECK_INTEQ(test_drv_image_read(path, &img), 0);
    CHECK_STREQ(img.xml, "<domain/>");
    CHECK_INTEQ(img.state_len, 0);
    test_drv_image_clear(&img);

    xbuf_clear(&text);
    test_drv_state_clear(&st);
    unlink(path);
}

static void check_image_fails(const char *data, size_t len, int code, const char *needle)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/bad.save", tmpdir);
    write_file(path, data, len);
    test_drv_image img;
    xend_error_reset();
    CHECK_MSG(test_drv_image_read(path, &img) == -1, "accepted: %.40s", data);
    CHECK_ERROR(code, path, needle);
    CHECK(img.xml == NULL && img.state == NULL);
    unlink(path);
}

#define IMG(s) s, sizeof(s) - 1

static void test_image_errors(void)
{
    check_image_fails(IMG(""), XEND_ERR_CONFIG_INVALID, "is not a xend save image");
    check_image_fails(IMG("hello world, this is text\n"), XEND_ERR_CONFIG_INVALID,
                      "is not a xend save image");
    check_image_fails(IMG("XENDSAVE 2\nxml 0\nstate 0\nend\n"), XEND_ERR_CONFIG_INVALID,
                      "format 2 is not supported");
    check_image_fails(IMG("XENDSAVE 1\n"), XEND_ERR_CONFIG_INVALID, "'xml' header");
    check_image_fails(IMG("XENDSAVE 1\nxml abc\n"), XEND_ERR_CONFIG_INVALID, "'xml' header");
    check_image_fails(IMG("XENDSAVE 1\nxml -1\n"), XEND_ERR_CONFIG_INVALID, "'xml' header");
    check_image_fails(IMG("XENDSAVE 1\nxml 99999999999\n"), XEND_ERR_CONFIG_INVALID, "at most");
    check_image_fails(IMG("XENDSAVE 1\nxml 100\n<domain/>"), XEND_ERR_CONFIG_INVALID, "truncated");
    check_image_fails(IMG("XENDSAVE 1\nxml 9\n<domain/>stat 0\n"), XEND_ERR_CONFIG_INVALID,
                      "'state' header");
    check_image_fails(IMG("XENDSAVE 1\nxml 9\n<domain/>state 5\nab"), XEND_ERR_CONFIG_INVALID,
                      "truncated");
    check_image_fails(IMG("XENDSAVE 1\nxml 9\n<domain/>state 0\n"), XEND_ERR_CONFIG_INVALID,
                      "no end marker");
    check_image_fails(IMG("XENDSAVE 1\nxml 9\n<domain/>state 0\nEND\n"), XEND_ERR_CONFIG_INVALID,
                      "no end marker");
    check_image_fails(IMG("XENDSAVE 1\nxml 9\n<domain/>state 0\nend\nmore"),
                      XEND_ERR_CONFIG_INVALID, "after the end marker");

    test_drv_image img;
    char path[128];
    snprintf(path, sizeof(path), "%s/missing.save", tmpdir);
    CHECK_INTEQ(test_drv_image_read(path, &img), -1);
    CHECK_ERROR(XEND_ERR_SYSTEM, path);
    CHECK_INTEQ(test_drv_image_read(tmpdir, &img), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "not a xend save image");

    snprintf(path, sizeof(path), "%s/no/such/dir/x.save", tmpdir);
    test_drv_image_target t;
    CHECK_INTEQ(test_drv_image_create(path, &t), -1);
    CHECK_ERROR(XEND_ERR_SYSTEM, path);

    /* A FIFO nobody reads fails at once rather than blocking; nor does reading one block
     * (one swapped in after the API's check would otherwise hold a job worker for good). */
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_INTEQ(test_drv_image_create(path, &t), -1);
    CHECK_ERROR(XEND_ERR_SYSTEM, path);
    CHECK_INTEQ(test_drv_image_read(path, &img), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, path, "not a regular file");
    unlink(path);

    /* A full disk is NO_SPACE, not a generic failure; a device is written in place. */
    CHECK_INTEQ(test_drv_image_create("/dev/full", &t), 0);
    CHECK(t.tmp == NULL);
    CHECK_INTEQ(test_drv_image_write(&t, xml_doc, strlen(xml_doc), "", 0), -1);
    CHECK_ERROR(XEND_ERR_NO_SPACE, "/dev/full");
    CHECK_INTEQ(dir_entries(), 0);
}

/* The file a save is aimed at stays as it was until the image is complete (as root,
 * domain.save(d, "/etc/passwd") then domain.job_abort(d) used to delete /etc/passwd). */
static void test_image_keeps_old_file(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/precious.conf", tmpdir);
    write_file(path, "precious\n", 9);
    struct stat before;
    CHECK(stat(path, &before) == 0);

    /* Aborted before anything was written. */
    test_drv_image_target t;
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    CHECK(t.tmp != NULL && strcmp(t.tmp, path) != 0);
    CHECK_INTEQ(dir_entries(), 2);
    test_drv_image_discard(&t);
    CHECK_INTEQ(dir_entries(), 1);
    check_file(path, "precious\n");

    /* Failed while writing: a file size limit makes the write fail with EFBIG. */
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 16;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int r = test_drv_image_write(&t, xml_doc, strlen(xml_doc), "", 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    CHECK_INTEQ(r, -1);
    CHECK_ERROR(XEND_ERR_SYSTEM, "cannot write save image", path);
    CHECK_INTEQ(dir_entries(), 1);
    check_file(path, "precious\n");
    struct stat after;
    CHECK(stat(path, &after) == 0 && after.st_ino == before.st_ino);

    /* Only a complete image replaces it (a new inode: the old file was never opened). */
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    CHECK_INTEQ(test_drv_image_write(&t, xml_doc, strlen(xml_doc), "", 0), 0);
    CHECK_INTEQ(dir_entries(), 1);
    test_drv_image img;
    CHECK_INTEQ(test_drv_image_read(path, &img), 0);
    CHECK_MEMEQ(img.xml, img.xml_len, xml_doc, strlen(xml_doc));
    test_drv_image_clear(&img);
    CHECK(stat(path, &after) == 0 && after.st_ino != before.st_ino &&
          (after.st_mode & 0777) == 0600);
    unlink(path);

    /* A FIFO with a reader is written in place, not replaced by a file. */
    snprintf(path, sizeof(path), "%s/pipe", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    int rfd = open(path, O_RDONLY | O_NONBLOCK);
    CHECK(rfd >= 0);
    CHECK_INTEQ(test_drv_image_create(path, &t), 0);
    CHECK(t.tmp == NULL);
    CHECK_INTEQ(test_drv_image_write(&t, "<domain/>", 9, "", 0), 0);
    char buf[128];
    ssize_t n = read(rfd, buf, sizeof(buf));
    static const char want[] = TEST_DRV_IMAGE_MAGIC "xml 9\n<domain/>state 0\nend\n";
    CHECK_MEMEQ(buf, n < 0 ? 0 : (size_t)n, want, sizeof(want) - 1);
    close(rfd);
    struct stat sb;
    CHECK(lstat(path, &sb) == 0 && S_ISFIFO(sb.st_mode));
    unlink(path);
    CHECK_INTEQ(dir_entries(), 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xend-test-image-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_ring_basic();
    test_ring_wrap();
    test_state_roundtrip();
    test_state_pairs();
    test_state_errors();
    test_image_roundtrip();
    test_image_errors();
    test_image_keeps_old_file();
    rmdir(tmpdir);
    return check_summary("driver-image");
}
