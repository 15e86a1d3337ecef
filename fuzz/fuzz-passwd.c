/*
 * libFuzzer target for the password file (daemon/passwd.h). The input is written to a real
 * file (mode 0600) and loaded with passwd_store_open. A refusal must report CONFIG_INVALID
 * naming the file. An accepted file must hold exactly one user per line that is neither
 * blank nor a comment (counted here independently of the parser).
 *
 * An input containing the line "--reload--" is two files: the part after it replaces the
 * first on disk, and a check that costs no crypt (an over-long password) makes the store
 * look again. Afterwards the store holds the second file's users when that file loads by
 * itself, and the first file's users otherwise (a failed reload keeps the previous table).
 *
 * Then one real check: the user is the first line's text up to ':', the password the rest
 * of a line "#pw PASSWORD" (else "password"). Its result must be 0 with a valid class or
 * -1, and a success must repeat from the cache. To keep runs fast, the check is made only
 * when every hash in the current file is a sha256/sha512crypt of at most 5,000 rounds
 * (an unknown user is checked against the first user's hash): one cheap crypt per input.
 * XEND_FUZZ_PASSWD_SHOW=1 prints each check and its result.
 */
#include "daemon/passwd.h"
#include "util/error.h"
#include "util/log.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PASSWD_SEP "\n--reload--\n"

static char fuzz_dir[] = "/tmp/xend-fuzz-passwd-XXXXXX";
static char fuzz_path[64], fuzz_tmp[64];

static void fuzz_passwd_fail(const char *why)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    abort();
}

static void fuzz_passwd_cleanup(void)
{
    unlink(fuzz_path);
    unlink(fuzz_tmp);
    rmdir(fuzz_dir);
}

static void fuzz_passwd_init(void)
{
    if (fuzz_path[0])
        return;
    if (!mkdtemp(fuzz_dir))
        fuzz_passwd_fail("cannot create a temporary directory");
    snprintf(fuzz_path, sizeof(fuzz_path), "%s/passwd", fuzz_dir);
    snprintf(fuzz_tmp, sizeof(fuzz_tmp), "%s/passwd.tmp", fuzz_dir);
    atexit(fuzz_passwd_cleanup);
    /* Failed reloads warn; thousands of those per second are noise, not findings. */
    xend_log_set_level(XEND_LOG_ERROR);
}

/* Replace the file (a new inode, so the store always sees the change). */
static void fuzz_passwd_write(const uint8_t *data, size_t size)
{
    int fd = open(fuzz_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0 ||
        rename(fuzz_tmp, fuzz_path) < 0)
        fuzz_passwd_fail("cannot write the password file");
}

/* Calls fn(line, len, opaque) for every line that is neither blank nor a comment, with the
 * trailing blanks cut as the parser does; returns how many there were. */
static size_t fuzz_passwd_entries(const uint8_t *data, size_t size,
                                  void (*fn)(const char *, size_t, void *), void *opaque)
{
    size_t n = 0;
    for (size_t pos = 0; pos < size;) {
        const char *line = (const char *)data + pos;
        const char *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - line) : size - pos;
        pos += len + (nl ? 1 : 0);
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
            len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == len || line[lead] == '#')
            continue;
        n++;
        if (fn)
            fn(line, len, opaque);
    }
    return n;
}

/* A hash that costs little to check: sha256crypt or sha512crypt, at most 5,000 rounds. */
static void fuzz_passwd_cheap(const char *line, size_t len, void *opaque)
{
    bool *cheap = opaque;
    const char *c1 = memchr(line, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2) {
        *cheap = false;
        return;
    }
    const char *h = c2 + 1, *end = line + len;
    if (end - h < 3 || h[0] != '$' || (h[1] != '5' && h[1] != '6') || h[2] != '$') {
        *cheap = false;
        return;
    }
    h += 3;
    if (end - h >= 7 && memcmp(h, "rounds=", 7) == 0) {
        unsigned long rounds = 0;
        for (h += 7; h < end && *h >= '0' && *h <= '9' && rounds <= 5000; h++)
            rounds = rounds * 10 + (unsigned long)(*h - '0');
        if (rounds > 5000)
            *cheap = false;
    }
}

static bool fuzz_passwd_all_cheap(const uint8_t *data, size_t size)
{
    bool cheap = true;
    return fuzz_passwd_entries(data, size, fuzz_passwd_cheap, &cheap) > 0 && cheap;
}

/* The expected number of users when the text loads, or -1 when it does not (checked with
 * a store of its own: loading costs no crypt). */
static long fuzz_passwd_expect(const uint8_t *data, size_t size)
{
    fuzz_passwd_write(data, size);
    passwd_store *ps = passwd_store_open(fuzz_path);
    if (!ps)
        return -1;
    size_t n = passwd_store_count(ps);
    passwd_store_free(ps);
    return (long)n;
}

static void fuzz_passwd_check_refusal(void)
{
    const xend_error *err = xend_error_last();
    if (err->code != XEND_ERR_CONFIG_INVALID)
        fuzz_passwd_fail("a refused file reported something other than CONFIG_INVALID");
    if (!strstr(err->message, fuzz_path))
        fuzz_passwd_fail("a refusal does not name the file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_passwd_init();
    const uint8_t *second = NULL;
    size_t first_size = size, second_size = 0;
    const uint8_t *sep = memmem(data, size, FUZZ_PASSWD_SEP, strlen(FUZZ_PASSWD_SEP));
    if (sep) {
        first_size = (size_t)(sep - data) + 1; /* keep the first part's last newline */
        second = sep + strlen(FUZZ_PASSWD_SEP);
        second_size = size - (size_t)(second - data);
    }

    /* The second file's verdict first, on its own, before the store under test exists. */
    long second_count = second ? fuzz_passwd_expect(second, second_size) : -1;

    xend_error_reset();
    fuzz_passwd_write(data, first_size);
    passwd_store *ps = passwd_store_open(fuzz_path);
    if (!ps) {
        fuzz_passwd_check_refusal();
        return 0;
    }
    size_t count = fuzz_passwd_entries(data, first_size, NULL, NULL);
    if (passwd_store_count(ps) != count)
        fuzz_passwd_fail("the user count is not the number of entry lines");
    const uint8_t *cur = data;
    size_t cur_size = first_size;
    passwd_store_set_interval(ps, 0);

    char name[101], password[PASSWD_MAX_PASSWORD + 2];
    xmlrpc_access access = XMLRPC_ACCESS_LAST;
    if (second) {
        fuzz_passwd_write(second, second_size);
        memset(password, 'x', sizeof(password) - 1);
        password[sizeof(password) - 1] = '\0';
        if (passwd_store_check(ps, "x", password, &access) != -1)
            fuzz_passwd_fail("an over-long password matched");
        size_t want = second_count >= 0 ? (size_t)second_count : count;
        if (passwd_store_count(ps) != want)
            fuzz_passwd_fail(second_count >= 0 ? "the changed file was not reloaded"
                                               : "a failed reload lost the previous table");
        if (second_count >= 0) {
            cur = second;
            cur_size = second_size;
        }
    }

    /* The user named on the first line, the password of a "#pw " line. */
    size_t n = 0;
    while (n < cur_size && n < sizeof(name) - 1 && cur[n] != ':' && cur[n] != '\n' && cur[n])
        n++;
    memcpy(name, cur, n);
    name[n] = '\0';
    snprintf(password, sizeof(password), "password");
    const uint8_t *pw = memmem(cur, cur_size, "#pw ", 4);
    if (pw) {
        pw += 4;
        size_t len = 0;
        while (pw + len < cur + cur_size && len < PASSWD_MAX_PASSWORD && pw[len] != '\n' && pw[len])
            len++;
        memcpy(password, pw, len);
        password[len] = '\0';
    }
    if (fuzz_passwd_all_cheap(cur, cur_size)) {
        int r = passwd_store_check(ps, name, password, &access);
        if (getenv("XEND_FUZZ_PASSWD_SHOW"))
            fprintf(stderr, "fuzz-passwd: %zu users; '%s' -> %d (%s)\n", passwd_store_count(ps),
                    name, r, r == 0 ? xmlrpc_access_name(access) : "-");
        if (r != 0 && r != -1)
            fuzz_passwd_fail("check returned neither 0 nor -1");
        if (r == 0) {
            if (access >= XMLRPC_ACCESS_LAST)
                fuzz_passwd_fail("a match without a valid access class");
            xmlrpc_access again = XMLRPC_ACCESS_LAST;
            if (passwd_store_check(ps, name, password, &again) != 0 || again != access)
                fuzz_passwd_fail("a match did not repeat the same (from the cache)");
        }
    }
    passwd_store_free(ps);
    return 0;
}
