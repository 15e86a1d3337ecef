/*
 * File helpers (see file.h): the one place that knows how to replace a file so that a crash
 * leaves either the old or the new contents, how to read a file without trusting its size
 * or type, and how to make directory changes durable. Every error is reported here, once,
 * naming the path; ENOSPC and EDQUOT become NO_SPACE so a client can tell "disk full" from
 * other failures, everything else is SYSTEM.
 */
#include "file.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The code for a failed write-side system call: a full disk or quota is an error the user
 * can fix and the API reports distinctly. */
static int file_errno_code(int err)
{
    return (err == ENOSPC || err == EDQUOT) ? XEND_ERR_NO_SPACE : XEND_ERR_SYSTEM;
}

/* The directory holding path ("." for a bare name, "/" for a file in the root). */
static char *file_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    /* "a//b" names the directory "a", and "/b" the root. */
    while (slash > path && slash[-1] == '/')
        slash--;
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int xend_dir_fsync(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open directory '%s'", path);
        return -1;
    }
    int ret = 0;
    /* Some file systems cannot fsync a directory at all and say so with EINVAL or ENOTSUP;
     * there is nothing more durable to do on them, so that is not a failure. */
    if (fsync(fd) < 0 && errno != EINVAL && errno != ENOTSUP) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot sync directory '%s'", path);
        ret = -1;
    }
    close(fd);
    return ret;
}

static int file_fsync_parent(const char *path)
{
    XEND_AUTOFREE char *dir = file_dirname(path);
    return xend_dir_fsync(dir);
}

int xend_fd_write_all(int fd, const void *buf, size_t len)
{
    const char *data = buf;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        /* write() returning 0 for a non-empty buffer means the device takes no more. */
        if (n == 0) {
            errno = ENOSPC;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int xend_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    XEND_AUTOFREE char *tmp = xasprintf("%s.new", path);
    /* O_TRUNC: a stale temp file from an earlier crash is simply overwritten. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot create '%s'", tmp);
        return -1;
    }
    /* The umask (or a stale temp file's own mode) must not decide who can read a domain's
     * configuration: force the mode asked for. */
    if (fchmod(fd, mode) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot set the mode of '%s'", tmp);
        goto fail_close;
    }
    if (xend_fd_write_all(fd, data, len) < 0) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot write '%s'", tmp);
        goto fail_close;
    }
    /* Without the fsync, rename could reach the disk before the data and a crash would
     * leave an empty file at path (the ext4 "zero-length file" problem). File systems with
     * delayed allocation report ENOSPC here rather than at write(). */
    if (fsync(fd) < 0) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot sync '%s'", tmp);
        goto fail_close;
    }
    /* close() can be the first to report a failed write-back (NFS, quotas). EINTR still
     * closes the descriptor on Linux and the data is already synced. */
    if (close(fd) < 0 && errno != EINTR) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot write '%s'", tmp);
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot rename '%s' to '%s'", tmp,
                                path);
        goto fail;
    }
    /* The rename is only durable once the directory entry is on disk. */
    return file_fsync_parent(path);

fail_close:
    close(fd);
fail:
    /* Best effort: a temp file left behind is harmless, but leaving none is tidier. */
    unlink(tmp);
    return -1;
}

char *xend_file_read(const char *path, size_t max, size_t *len)
{
    /* O_NONBLOCK so that a FIFO (or a device) at path cannot block the daemon in open();
     * anything that is not a regular file is refused right after. */
    /* No buffer can be larger than this anyway, and it keeps max + 1 from overflowing. */
    if (max > (size_t)SSIZE_MAX)
        max = (size_t)SSIZE_MAX;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open '%s'", path);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot stat '%s'", path);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot read '%s': not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)sb.st_size > (unsigned long long)max) {
        xend_error_report(XEND_ERR_LIMIT,
                          "cannot read '%s': %lld bytes is more than the %zu allowed", path,
                          (long long)sb.st_size, max);
        close(fd);
        return NULL;
    }
    /* st_size is only a hint (the file may grow meanwhile, and some regular files report 0),
     * so read until end of file and enforce max on what actually arrives. */
    size_t cap = (size_t)sb.st_size + 1, got = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (got == cap) {
            if (got > max)
                break;
            cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read '%s'", path);
            free(buf);
            close(fd);
            return NULL;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got > max) {
        xend_error_report(XEND_ERR_LIMIT,
                          "cannot read '%s': it is larger than the %zu bytes allowed", path, max);
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* mkdir one component; an existing directory is fine, anything else in the way is not. */
static int file_mkdir_one(const char *path, mode_t mode, int *created)
{
    if (mkdir(path, mode) == 0) {
        *created = 1;
        return 0;
    }
    int err = errno;
    struct stat sb;
    if (err == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    if (err == EEXIST)
        err = ENOTDIR;
    xend_error_report_errno(file_errno_code(err), err, "cannot create directory '%s'", path);
    return -1;
}

int xend_dir_create(const char *path, mode_t mode)
{
    if (!*path) {
        xend_error_report_errno(XEND_ERR_SYSTEM, ENOENT, "cannot create directory ''");
        return -1;
    }
    XEND_AUTOFREE char *copy = xstrdup(path);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
    /* Create each prefix in turn; the first component of an absolute path is the root. */
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        int created = 0;
        int ret = file_mkdir_one(copy, mode, &created);
        if (ret == 0 && created)
            ret = file_fsync_parent(copy);
        *p = '/';
        if (ret < 0)
            return -1;
    }
    int created = 0;
    if (file_mkdir_one(copy, mode, &created) < 0)
        return -1;
    /* A new directory that is not in its parent on disk could vanish with everything later
     * written into it. */
    return created ? file_fsync_parent(copy) : 0;
}

int xend_file_remove(const char *path)
{
    if (unlink(path) < 0) {
        if (errno == ENOENT)
            return 0;
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot remove '%s'", path);
        return -1;
    }
    return file_fsync_parent(path);
}

int xend_file_rename(const char *from, const char *to)
{
    if (rename(from, to) < 0) {
        xend_error_report_errno(file_errno_code(errno), errno, "cannot rename '%s' to '%s'", from,
                                to);
        return -1;
    }
    XEND_AUTOFREE char *dfrom = file_dirname(from);
    XEND_AUTOFREE char *dto = file_dirname(to);
    if (xend_dir_fsync(dto) < 0)
        return -1;
    /* Across directories the old entry's removal must be made durable too, or a crash could
     * show the file in both places. */
    if (strcmp(dfrom, dto) != 0 && xend_dir_fsync(dfrom) < 0)
        return -1;
    return 0;
}

bool xend_file_exists(const char *path)
{
    /* lstat: the question is whether the name is taken, so a dangling symlink counts. */
    struct stat sb;
    return lstat(path, &sb) == 0;
}
