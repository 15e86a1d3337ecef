/*
 * File helpers with the durability and bounds xend needs everywhere: atomic replacement
 * (temp file, fsync, rename, fsync of the directory), bounded whole-file reads, and
 * directory creation. Errors are reported with SYSTEM (or NO_SPACE for ENOSPC/EDQUOT) and
 * name the path.
 */
#ifndef XEND_UTIL_FILE_H
#define XEND_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes to fd (retrying short writes and EINTR). 0, or -1 with errno set
 * (ENOSPC when the device takes no more); nothing reported. */
int xend_fd_write_all(int fd, const void *buf, size_t len);

/* Replace path with data atomically: write "path.new" (mode), fsync it, rename over path,
 * fsync the directory. After a crash at any moment either the old or the new contents are
 * at path; a stale "path.new" may remain and is harmless (the next write truncates it).
 * Returns 0 or -1 with an error reported. */
int xend_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Read a whole regular file of at most max bytes into a NUL-terminated malloc'd buffer
 * (caller frees); *len receives the size. NULL with SYSTEM reported (LIMIT if too big). */
char *xend_file_read(const char *path, size_t max, size_t *len);

/* mkdir -p with mode for the directories it creates. 0 or -1 with SYSTEM reported. */
int xend_dir_create(const char *path, mode_t mode);
/* fsync a directory. 0 or -1 with SYSTEM reported. */
int xend_dir_fsync(const char *path);
/* Remove path and fsync its directory; a missing file is not an error. 0 / -1. */
int xend_file_remove(const char *path);
/* rename + fsync of both directories. 0 / -1. */
int xend_file_rename(const char *from, const char *to);
/* Whether the name is taken (lstat: a dangling symlink counts). */
bool xend_file_exists(const char *path);

#endif
