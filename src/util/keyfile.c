/*
 * `key = value` configuration parser (see keyfile.h). Deliberately small: no sections,
 * no includes, no escapes beyond \" and \\ inside quoted values.
 */
#include "keyfile.h"

#include "alloc.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void keyfile_clear(keyfile *kf)
{
    for (size_t i = 0; i < kf->n; i++) {
        free(kf->entries[i].key);
        free(kf->entries[i].value);
    }
    free(kf->entries);
    free(kf->path);
    memset(kf, 0, sizeof(*kf));
}

static int keyfile_parse_value(const char *path, unsigned line, const char *p, const char *end,
                               char **out)
{
    if (p < end && *p == '"') {
        p++;
        char *v = xmalloc((size_t)(end - p) + 1);
        size_t n = 0;
        while (p < end && *p != '"') {
            if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
                p++;
            v[n++] = *p++;
        }
        if (p >= end) {
            free(v);
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: unterminated quoted value",
                              path, line);
            return -1;
        }
        p++;
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p < end && *p != '#') {
            free(v);
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s:%u: unexpected text after the quoted value", path, line);
            return -1;
        }
        v[n] = '\0';
        *out = v;
        return 0;
    }
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash)
        end = hash;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    *out = xstrndup(p, (size_t)(end - p));
    return 0;
}

int keyfile_parse(keyfile *kf, const char *path, const char *text, size_t len)
{
    memset(kf, 0, sizeof(*kf));
    kf->path = xstrdup(path);
    const char *p = text, *stop = text + len;
    unsigned line = 0;
    while (p < stop) {
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *end = eol ? eol : stop;
        line++;
        if ((size_t)(end - p) > KEYFILE_MAX_LINE) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: line longer than %u bytes", path,
                              line, KEYFILE_MAX_LINE);
            goto fail;
        }
        if (memchr(p, '\0', (size_t)(end - p))) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: NUL byte in file", path, line);
            goto fail;
        }
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p < end && *p != '#') {
            const char *k = p;
            while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
                p++;
            const char *kend = p;
            while (p < end && isspace((unsigned char)*p))
                p++;
            if (kend == k || p >= end || *p != '=') {
                xend_error_report(XEND_ERR_CONFIG_INVALID,
                                  "%s:%u: expected 'key = value'", path, line);
                goto fail;
            }
            p++;
            while (p < end && isspace((unsigned char)*p))
                p++;
            char *key = xstrndup(k, (size_t)(kend - k));
            for (size_t i = 0; i < kf->n; i++) {
                if (strcmp(kf->entries[i].key, key) == 0) {
                    xend_error_report(XEND_ERR_CONFIG_INVALID,
                                      "%s:%u: '%s' is already set on line %u", path, line, key,
                                      kf->entries[i].line);
                    free(key);
                    goto fail;
                }
            }
            char *value;
            if (keyfile_parse_value(path, line, p, end, &value) < 0) {
                free(key);
                goto fail;
            }
            kf->entries = xgrow(kf->entries, &kf->cap, kf->n + 1, sizeof(*kf->entries));
            kf->entries[kf->n++] = (keyfile_entry){key, value, line};
        }
        p = eol ? eol + 1 : stop;
    }
    return 0;
fail:
    keyfile_clear(kf);
    return -1;
}

int keyfile_load(keyfile *kf, const char *path)
{
    memset(kf, 0, sizeof(*kf));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open config file %s", path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_size > (off_t)KEYFILE_MAX_SIZE) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s is larger than %u bytes", path,
                          KEYFILE_MAX_SIZE);
        close(fd);
        return -1;
    }
    char *text = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            xend_error_report_errno(XEND_ERR_SYSTEM, r < 0 ? errno : EIO, "cannot read %s",
                                    path);
            free(text);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    int ret = keyfile_parse(kf, path, text, got);
    free(text);
    return ret;
}
