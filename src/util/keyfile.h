/*
 * A reader for `key = value` configuration files (xend.conf, later xm.conf): one setting a
 * line, '#' comments, blank lines, values optionally in double quotes. Bounded: lines and
 * files have maximum sizes, and every error names the file and line.
 */
#ifndef XEND_UTIL_KEYFILE_H
#define XEND_UTIL_KEYFILE_H

#include <stddef.h>

#define KEYFILE_MAX_SIZE (1u << 20)
#define KEYFILE_MAX_LINE 4096

typedef struct {
    char *key;
    char *value;
    unsigned line;
} keyfile_entry;

typedef struct {
    char *path;
    keyfile_entry *entries;
    size_t n, cap;
} keyfile;

/* Parse a file. Returns 0, or -1 with CONFIG_INVALID/SYSTEM reported. On success the caller
 * frees kf with keyfile_clear. A duplicate key is an error. */
int keyfile_load(keyfile *kf, const char *path);
/* Parse text already in memory (path used in messages only). Same contract. */
int keyfile_parse(keyfile *kf, const char *path, const char *text, size_t len);
void keyfile_clear(keyfile *kf);

#endif
