/*
 * Unit tests of the file helpers (util/file.h) on a real temporary directory: atomic
 * replacement (contents, forced mode, no temp file left, stale temp files, failures leave
 * the old contents), bounded reads (limits enforced on what is read, not on st_size; FIFOs,
 * devices and directories refused without blocking), mkdir -p, remove, rename, exists.
 *
 * A full disk cannot be produced on demand without root, so the error mapping is tested by
 * fault injection at the system-call boundary: this program defines write() and fsync(),
 * which the statically linked util library then calls instead of libc's. They pass through
 * to the kernel unless a test arms them to fail once, or (write) to dribble a few bytes at
 * a time with EINTRs in between so the write loop is exercised.
 */
#include "check.h"

#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int inject_fsync_errno; /* fail the next fsync() with this errno, then disarm */
static int inject_write_errno; /* fail the next write() with this errno, then disarm */
static int dribble_writes;     /* write at most 3 bytes per call, EINTR every other call */
static unsigned dribble_calls;

ssize_t write(int fd, const void *buf, size_t n)
{
    if (inject_write_errno) {
        errno = inject_write_errno;
        inject_write_errno = 0;
        return -1;
    }
    if (dribble_writes) {
        if (dribble_calls++ % 2 == 0) {
            errno = EINTR;
            return -1;
        }
        if (n > 3)
            n = 3;
    }
    return syscall(SYS_write, fd, buf, n);
}

/* What was fsynced since the last fsync_log_reset(), as /proc/self/fd paths: durability
 * cannot be observed without crashing the machine, but the syncs it relies on can. */
#define FSYNC_LOG_MAX 16
static char fsync_log[FSYNC_LOG_MAX][512];
static unsigned fsync_log_n;

static void fsync_log_reset(void)
{
    fsync_log_n = 0;
}

static int fsync_logged(const char *path)
{
    for (unsigned i = 0; i < fsync_log_n && i < FSYNC_LOG_MAX; i++)
        if (strcmp(fsync_log[i], path) == 0)
            return 1;
    return 0;
}

int fsync(int fd)
{
    if (fsync_log_n < FSYNC_LOG_MAX) {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, fsync_log[fsync_log_n], sizeof(fsync_log[0]) - 1);
        fsync_log[fsync_log_n][n > 0 ? n : 0] = '\0';
    }
    fsync_log_n++;
    if (inject_fsync_errno) {
        errno = inject_fsync_errno;
        inject_fsync_errno = 0;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int mode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static void test_write_atomic(const char *dir)
{
    char path[512], tmp[512];
    snprintf(path, sizeof(path), "%s/a.xml", dir);
    snprintf(tmp, sizeof(tmp), "%s/a.xml.new", dir);

    fsync_log_reset();
    CHECK_INTEQ(xend_file_write_atomic(path, "first version\n", 14, 0600), 0);
    /* The data (still under its temp name) and then the directory were synced. */
    CHECK_INTEQ(fsync_log_n, 2);
    CHECK(fsync_logged(tmp));
    CHECK(fsync_logged(dir));
    CHECK_STREQ(slurp(path), "first version\n");
    CHECK_INTEQ(mode_of(path), 0600);
    CHECK(!xend_file_exists(tmp));

    /* Replacing with shorter contents must not leave a tail of the old ones. */
    mode_t old_umask = umask(077);
    CHECK_INTEQ(xend_file_write_atomic(path, "v2", 2, 0640), 0);
    umask(old_umask);
    CHECK_STREQ(slurp(path), "v2");
    /* The mode asked for wins over both the umask and the old file's mode. */
    CHECK_INTEQ(mode_of(path), 0640);
    CHECK(!xend_file_exists(tmp));

    /* Empty contents are a valid file. */
    CHECK_INTEQ(xend_file_write_atomic(path, "", 0, 0600), 0);
    CHECK_STREQ(slurp(path), "");
    CHECK_INTEQ(mode_of(path), 0600);

    /* A stale temp file from a crash, even one with other contents and mode, is replaced. */
    spit(tmp, "garbage from an interrupted write, longer than the new contents");
    chmod(tmp, 0666);
    CHECK_INTEQ(xend_file_write_atomic(path, "v3\n", 3, 0600), 0);
    CHECK_STREQ(slurp(path), "v3\n");
    CHECK_INTEQ(mode_of(path), 0600);
    CHECK(!xend_file_exists(tmp));

    /* Binary data with NUL bytes is written exactly. */
    static const char bin[] = {'a', '\0', 'b', '\n', '\0'};
    CHECK_INTEQ(xend_file_write_atomic(path, bin, sizeof(bin), 0600), 0);
    size_t len = 0;
    char *back = xend_file_read(path, 100, &len);
    CHECK_MEMEQ(back, len, bin, sizeof(bin));
    free(back);

    /* Short writes and EINTR: the loop must still write every byte, in order. */
    const char *big = "0123456789abcdefghijklmnopqrstuvwxyz-the-write-loop-must-continue";
    dribble_writes = 1;
    dribble_calls = 0;
    CHECK_INTEQ(xend_file_write_atomic(path, big, strlen(big), 0600), 0);
    dribble_writes = 0;
    CHECK(dribble_calls > 2 * (strlen(big) / 3));
    CHECK_STREQ(slurp(path), big);

    /* A directory that does not exist: SYSTEM, naming the path and the reason. */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/no/such/dir/x", dir);
    xend_error_reset();
    CHECK_INTEQ(xend_file_write_atomic(bad, "x", 1, 0600), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "no/such/dir/x.new");
    CHECK_CONTAINS(xend_error_last()->message, "No such file or directory");
}

static void test_write_errors(const char *dir)
{
    char path[512], tmp[512];
    snprintf(path, sizeof(path), "%s/b.xml", dir);
    snprintf(tmp, sizeof(tmp), "%s/b.xml.new", dir);
    CHECK_INTEQ(xend_file_write_atomic(path, "old", 3, 0600), 0);

    /* ENOSPC at fsync (delayed allocation): NO_SPACE, old contents intact, temp removed. */
    xend_error_reset();
    inject_fsync_errno = ENOSPC;
    CHECK_INTEQ(xend_file_write_atomic(path, "new contents", 12, 0600), -1);
    CHECK_INTEQ(inject_fsync_errno, 0);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_NO_SPACE);
    CHECK_CONTAINS(xend_error_last()->message, "b.xml.new");
    CHECK_CONTAINS(xend_error_last()->message, strerror(ENOSPC));
    CHECK_STREQ(slurp(path), "old");
    CHECK(!xend_file_exists(tmp));

    /* Over quota at write(): NO_SPACE as well. */
    xend_error_reset();
    inject_write_errno = EDQUOT;
    CHECK_INTEQ(xend_file_write_atomic(path, "new contents", 12, 0600), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_NO_SPACE);
    CHECK_CONTAINS(xend_error_last()->message, strerror(EDQUOT));
    CHECK_STREQ(slurp(path), "old");
    CHECK(!xend_file_exists(tmp));

    /* ENOSPC at write(). */
    xend_error_reset();
    inject_write_errno = ENOSPC;
    CHECK_INTEQ(xend_file_write_atomic(path, "new contents", 12, 0600), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_NO_SPACE);
    CHECK_STREQ(slurp(path), "old");

    /* Any other failure is SYSTEM. */
    xend_error_reset();
    inject_fsync_errno = EIO;
    CHECK_INTEQ(xend_file_write_atomic(path, "new contents", 12, 0600), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, strerror(EIO));
    CHECK_STREQ(slurp(path), "old");
    CHECK(!xend_file_exists(tmp));

    /* Renaming onto a directory fails after the temp file was written: SYSTEM, temp gone. */
    char sub[512], subtmp[512];
    snprintf(sub, sizeof(sub), "%s/isdir", dir);
    snprintf(subtmp, sizeof(subtmp), "%s/isdir.new", dir);
    CHECK_INTEQ(mkdir(sub, 0700), 0);
    xend_error_reset();
    CHECK_INTEQ(xend_file_write_atomic(sub, "x", 1, 0600), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "cannot rename");
    CHECK(!xend_file_exists(subtmp));
    rmdir(sub);

    /* After all that, a normal write works and the error injection is disarmed. */
    CHECK_INTEQ(xend_file_write_atomic(path, "new", 3, 0600), 0);
    CHECK_STREQ(slurp(path), "new");
}

static void test_read(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/r.txt", dir);
    spit(path, "hello world");

    size_t len = 99;
    char *s = xend_file_read(path, 100, &len);
    CHECK_STREQ(s, "hello world");
    CHECK_INTEQ(len, 11);
    free(s);

    /* Exactly max bytes is allowed; one more is LIMIT. */
    s = xend_file_read(path, 11, &len);
    CHECK_STREQ(s, "hello world");
    free(s);
    xend_error_reset();
    len = 99;
    CHECK(xend_file_read(path, 10, &len) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_LIMIT);
    CHECK_CONTAINS(xend_error_last()->message, "r.txt");
    CHECK_INTEQ(len, 99);

    /* len may be NULL; an empty file reads as "". */
    s = xend_file_read(path, 100, NULL);
    CHECK_STREQ(s, "hello world");
    free(s);
    spit(path, "");
    s = xend_file_read(path, 0, &len);
    CHECK_STREQ(s, "");
    CHECK_INTEQ(len, 0);
    free(s);

    /* The size of a regular file is only a hint: /proc files report 0 yet have contents.
     * Everything is read, and the limit applies to what was actually read. */
    s = xend_file_read("/proc/self/status", 1 << 20, &len);
    CHECK(s != NULL);
    CHECK(len > 100);
    CHECK(s && strlen(s) == len);
    CHECK(s && strncmp(s, "Name:", 5) == 0);
    free(s);
    xend_error_reset();
    CHECK(xend_file_read("/proc/self/status", 10, &len) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_LIMIT);

    /* A larger file: every byte arrives, the buffer is NUL-terminated. */
    static char big[100000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    CHECK_INTEQ(xend_file_write_atomic(path, big, sizeof(big), 0600), 0);
    s = xend_file_read(path, sizeof(big), &len);
    CHECK_MEMEQ(s, len, big, sizeof(big));
    CHECK(s && s[len] == '\0');
    free(s);
    xend_error_reset();
    CHECK(xend_file_read(path, sizeof(big) - 1, &len) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_LIMIT);

    /* Not regular files: a directory, a character device, a FIFO with no writer (which
     * must not block the caller in open()). */
    xend_error_reset();
    CHECK(xend_file_read(dir, 100, &len) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "not a regular file");
    xend_error_reset();
    CHECK(xend_file_read("/dev/null", 100, &len) == NULL);
    CHECK_CONTAINS(xend_error_last()->message, "not a regular file");
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    CHECK_INTEQ(mkfifo(fifo, 0600), 0);
    alarm(10); /* a regression would hang here; fail loudly instead */
    xend_error_reset();
    CHECK(xend_file_read(fifo, 100, &len) == NULL);
    alarm(0);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "not a regular file");
    unlink(fifo);

    /* Missing file. */
    char missing[512];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    xend_error_reset();
    CHECK(xend_file_read(missing, 100, &len) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "missing");
    CHECK_CONTAINS(xend_error_last()->message, "No such file or directory");
    unlink(path);
}

static void test_dirs(const char *dir)
{
    char p[600];
    mode_t old = umask(0);
    snprintf(p, sizeof(p), "%s/d1//d2/d3/", dir);
    fsync_log_reset();
    CHECK_INTEQ(xend_dir_create(p, 0700), 0);
    /* Each new directory's entry was made durable in its parent. */
    CHECK_INTEQ(fsync_log_n, 3);
    CHECK(fsync_logged(dir));
    snprintf(p, sizeof(p), "%s/d1/d2/d3", dir);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_INTEQ(mode_of(p), 0700);
    snprintf(p, sizeof(p), "%s/d1", dir);
    CHECK_INTEQ(mode_of(p), 0700);
    /* Existing directories are fine; their mode is left alone. */
    CHECK_INTEQ(chmod(p, 0750), 0);
    snprintf(p, sizeof(p), "%s/d1/d2/d3", dir);
    CHECK_INTEQ(xend_dir_create(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/d1", dir);
    CHECK_INTEQ(mode_of(p), 0750);
    CHECK_INTEQ(xend_dir_create(dir, 0700), 0);
    CHECK_INTEQ(xend_dir_create("/", 0700), 0);
    umask(old);

    /* A file in the way, at the end or in the middle. */
    snprintf(p, sizeof(p), "%s/d1/file", dir);
    spit(p, "x");
    xend_error_reset();
    CHECK_INTEQ(xend_dir_create(p, 0700), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "Not a directory");
    snprintf(p, sizeof(p), "%s/d1/file/sub", dir);
    xend_error_reset();
    CHECK_INTEQ(xend_dir_create(p, 0700), -1);
    CHECK_CONTAINS(xend_error_last()->message, "d1/file");
    xend_error_reset();
    CHECK_INTEQ(xend_dir_create("", 0700), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);

    CHECK_INTEQ(xend_dir_fsync(dir), 0);
    snprintf(p, sizeof(p), "%s/nope", dir);
    xend_error_reset();
    CHECK_INTEQ(xend_dir_fsync(p), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "nope");
}

static void test_remove_rename_exists(const char *dir)
{
    char a[512], b[512], c[512], link[512];
    snprintf(a, sizeof(a), "%s/ra", dir);
    snprintf(b, sizeof(b), "%s/d1/d2/rb", dir);
    snprintf(c, sizeof(c), "%s/rc", dir);
    snprintf(link, sizeof(link), "%s/dangling", dir);

    char d2[512];
    snprintf(d2, sizeof(d2), "%s/d1/d2", dir);
    spit(a, "moving");
    CHECK(xend_file_exists(a));
    CHECK(!xend_file_exists(b));
    /* Across directories; both directories are synced. */
    fsync_log_reset();
    CHECK_INTEQ(xend_file_rename(a, b), 0);
    CHECK_INTEQ(fsync_log_n, 2);
    CHECK(fsync_logged(dir));
    CHECK(fsync_logged(d2));
    CHECK(!xend_file_exists(a));
    CHECK_STREQ(slurp(b), "moving");
    /* Within one directory, replacing an existing file. */
    spit(c, "old");
    CHECK_INTEQ(xend_file_rename(b, c), 0);
    CHECK_STREQ(slurp(c), "moving");
    CHECK(!xend_file_exists(b));
    /* Missing source. */
    xend_error_reset();
    CHECK_INTEQ(xend_file_rename(a, b), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "ra");

    fsync_log_reset();
    CHECK_INTEQ(xend_file_remove(c), 0);
    CHECK(!xend_file_exists(c));
    CHECK_INTEQ(fsync_log_n, 1);
    CHECK(fsync_logged(dir));
    CHECK_INTEQ(xend_file_remove(c), 0); /* missing is not an error */
    /* A directory is not removed. */
    snprintf(c, sizeof(c), "%s/d1", dir);
    xend_error_reset();
    CHECK_INTEQ(xend_file_remove(c), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK(xend_file_exists(c));

    /* exists asks whether the name is taken: a dangling symlink counts. */
    CHECK_INTEQ(symlink("no-such-target", link), 0);
    CHECK(xend_file_exists(link));
    CHECK_INTEQ(xend_file_remove(link), 0);
    CHECK(!xend_file_exists(link));
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[256];
    char *dir;
    snprintf(tmpl, sizeof(tmpl), "%s/xend-test-file-XXXXXX", base && *base ? base : "/tmp");
    /* The resolved path, so it compares equal to the /proc/self/fd links of the sync log. */
    if (!mkdtemp(tmpl) || !(dir = realpath(tmpl, NULL))) {
        perror("mkdtemp");
        return 1;
    }
    test_write_atomic(dir);
    test_write_errors(dir);
    test_read(dir);
    test_dirs(dir);
    test_remove_rename_exists(dir);
    rm_rf(dir);
    CHECK(!xend_file_exists(dir));
    free(dir);
    return check_summary("file");
}
