/*
 * Unit tests of the `key = value` configuration reader (util/keyfile.h): comments, blank
 * lines, spacing, quoted values and their escapes, CRLF files, and every error (duplicate
 * key, missing '=', bad key, unterminated or trailing quote, over-long line, NUL byte,
 * missing, non-regular and oversized files), each of which must name file:line.
 */
#include "check-error.h"
#include "check.h"
#include "util/keyfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static const keyfile_entry *find(const keyfile *kf, const char *key)
{
    for (size_t i = 0; i < kf->n; i++)
        if (strcmp(kf->entries[i].key, key) == 0)
            return &kf->entries[i];
    return NULL;
}

#define CHECK_ENTRY(kf, k, v, ln)                                                                  \
    do {                                                                                           \
        const keyfile_entry *e_ = find((kf), (k));                                                 \
        CHECK_MSG(e_ != NULL, "key %s missing", (k));                                              \
        if (e_) {                                                                                  \
            CHECK_STREQ(e_->value, (v));                                                           \
            CHECK_INTEQ(e_->line, (ln));                                                           \
        }                                                                                          \
    } while (0)

static void test_parse_ok(void)
{
    static const char text[] = "# xend.conf\n"                            /* 1 */
                               "   # indented comment\n"                  /* 2 */
                               "\n"                                       /* 3 */
                               "name = value\n"                           /* 4 */
                               "spaced   =   some value with spaces   \n" /* 5 */
                               "tight=x\n"                                /* 6 */
                               "\t indented\t=\tv\t\n"                    /* 7 */
                               "quoted = \"  keep # this  \"\n"           /* 8 */
                               "esc = \"a \\\"b\\\" \\\\ c\"\n"           /* 9 */
                               "path = \"C:\\temp\\n\"\n"                 /* 10 */
                               "empty =\n"                                /* 11 */
                               "emptyq = \"\"\n"                          /* 12 */
                               "trail = value # comment\n"                /* 13 */
                               "qtrail = \"v\"   # comment\n"             /* 14 */
                               "dotted.key-name_2 = x=y\n"                /* 15 */
                               "crlf = v\r\n"                             /* 16 */
                               "    \n"                                   /* 17 */
                               "utf8 = caf\xc3\xa9\n"                     /* 18 */
                               "last = no newline";                       /* 19 */
    keyfile kf;
    xend_error_reset();
    int rc = keyfile_parse(&kf, "test.conf", text, sizeof(text) - 1);
    CHECK_MSG(rc == 0, "parse failed: %s", xend_error_last()->message);
    if (rc < 0)
        return;
    CHECK_STREQ(kf.path, "test.conf");
    CHECK_INTEQ(kf.n, 15);
    CHECK_ENTRY(&kf, "name", "value", 4);
    CHECK_ENTRY(&kf, "spaced", "some value with spaces", 5);
    CHECK_ENTRY(&kf, "tight", "x", 6);
    CHECK_ENTRY(&kf, "indented", "v", 7);
    CHECK_ENTRY(&kf, "quoted", "  keep # this  ", 8);
    CHECK_ENTRY(&kf, "esc", "a \"b\" \\ c", 9);
    CHECK_ENTRY(&kf, "path", "C:\\temp\\n", 10); /* only \" and \\ are escapes */
    CHECK_ENTRY(&kf, "empty", "", 11);
    CHECK_ENTRY(&kf, "emptyq", "", 12);
    CHECK_ENTRY(&kf, "trail", "value", 13);
    CHECK_ENTRY(&kf, "qtrail", "v", 14);
    CHECK_ENTRY(&kf, "dotted.key-name_2", "x=y", 15);
    CHECK_ENTRY(&kf, "crlf", "v", 16);
    CHECK_ENTRY(&kf, "utf8", "caf\xc3\xa9", 18);
    CHECK_ENTRY(&kf, "last", "no newline", 19);
    /* entries keep file order */
    CHECK_STREQ(kf.entries[0].key, "name");
    CHECK_STREQ(kf.entries[kf.n - 1].key, "last");
    keyfile_clear(&kf);
    CHECK(kf.n == 0 && kf.entries == NULL && kf.path == NULL);
    keyfile_clear(&kf); /* clearing twice is harmless */

    /* Empty and comment-only texts hold nothing. */
    CHECK_INTEQ(keyfile_parse(&kf, "e.conf", "", 0), 0);
    CHECK_INTEQ(kf.n, 0);
    keyfile_clear(&kf);
    CHECK_INTEQ(keyfile_parse(&kf, "e.conf", "# a\n\n  # b\n", 10), 0);
    CHECK_INTEQ(kf.n, 0);
    keyfile_clear(&kf);
    /* len is honoured: the text after it is not read */
    CHECK_INTEQ(keyfile_parse(&kf, "n.conf", "a = 1\nb = 2", 6), 0);
    CHECK_INTEQ(kf.n, 1);
    keyfile_clear(&kf);
}

/* Parsing text fails with CONFIG_INVALID; the message starts with "path:line:" and has
 * every needle. */
static void expect_parse_error(const char *text, size_t len, unsigned line, const char *n1,
                               const char *n2)
{
    keyfile kf;
    char where[32];
    snprintf(where, sizeof(where), "bad.conf:%u:", line);
    xend_error_reset();
    CHECK_INTEQ(keyfile_parse(&kf, "bad.conf", text, len), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, where, n1 ? n1 : "", n2 ? n2 : "");
    CHECK_MSG(strncmp(xend_error_last()->message, where, strlen(where)) == 0,
              "message does not start with %s: %s", where, xend_error_last()->message);
    /* nothing is left allocated or half-filled */
    CHECK(kf.n == 0 && kf.entries == NULL && kf.path == NULL);
}

#define PARSE_ERROR(text, line, n1, n2) expect_parse_error((text), strlen(text), (line), (n1), (n2))

static void test_parse_errors(void)
{
    PARSE_ERROR("a = 1\n# c\nb = 2\n\na = 3\n", 5, "'a'", "line 1");
    PARSE_ERROR("x = 1\nb = 2\nb = \"2\"\n", 3, "'b'", "line 2");
    PARSE_ERROR("ok = 1\n\njustakey\n", 3, "key = value", NULL);
    PARSE_ERROR("= value\n", 1, "key = value", NULL);
    PARSE_ERROR("a b = c\n", 1, NULL, NULL);
    PARSE_ERROR("key: value\n", 1, NULL, NULL);
    PARSE_ERROR("k\xc3\xa9y = v\n", 1, NULL, NULL);
    PARSE_ERROR("ok = 1\nq = \"unterminated\n", 2, "unterminated", NULL);
    PARSE_ERROR("q = \"ends with backslash\\\"\n", 1, "unterminated", NULL);
    PARSE_ERROR("q = \"a\" b\n", 1, "after the quoted value", NULL);
    PARSE_ERROR("q = \"a\"\"b\"\n", 1, "after the quoted value", NULL);

    /* NUL bytes are refused, naming the line */
    static const char nul[] = "a = 1\nb = x\0y\n";
    expect_parse_error(nul, sizeof(nul) - 1, 2, "NUL", NULL);

    /* A line of exactly KEYFILE_MAX_LINE bytes is fine; one more is refused. */
    size_t max = KEYFILE_MAX_LINE;
    char *text = malloc(max + 16);
    memcpy(text, "ok = 1\nk = ", 11);
    memset(text + 11, 'v', max - 4);
    text[11 + max - 4] = '\n'; /* line 2 is "k = " + (max - 4) bytes = max bytes */
    keyfile kf;
    xend_error_reset();
    CHECK_INTEQ(keyfile_parse(&kf, "long.conf", text, 11 + max - 4 + 1), 0);
    if (kf.n == 2)
        CHECK_INTEQ(strlen(kf.entries[1].value), max - 4);
    keyfile_clear(&kf);
    memset(text + 11, 'v', max - 3);
    text[11 + max - 3] = '\n';
    char num[16];
    snprintf(num, sizeof(num), "%u", KEYFILE_MAX_LINE);
    expect_parse_error(text, 11 + max - 3 + 1, 2, "longer", num);
    free(text);
}

static char *write_file(const char *name, const char *content, size_t len)
{
    char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
    sprintf(path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_INTEQ(fwrite(content, 1, len, f), len);
        fclose(f);
    }
    return path;
}

static void test_load(void)
{
    keyfile kf;
    const char good[] = "# config\nlisten = /run/xend.sock\nlog_level = \"debug\"\n";
    char *path = write_file("good.conf", good, sizeof(good) - 1);
    xend_error_reset();
    CHECK_INTEQ(keyfile_load(&kf, path), 0);
    CHECK_STREQ(kf.path, path);
    CHECK_INTEQ(kf.n, 2);
    CHECK_ENTRY(&kf, "listen", "/run/xend.sock", 2);
    CHECK_ENTRY(&kf, "log_level", "debug", 3);
    keyfile_clear(&kf);
    free(path);

    /* Errors in a file name the file's path and the line. */
    const char bad[] = "a = 1\nb\n";
    path = write_file("bad.conf", bad, sizeof(bad) - 1);
    char where[256];
    snprintf(where, sizeof(where), "%s:2:", path);
    xend_error_reset();
    CHECK_INTEQ(keyfile_load(&kf, path), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, where);
    free(path);

    /* Missing file: a SYSTEM error naming the path and the OS reason. */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/does-not-exist.conf", tmpdir);
    xend_error_reset();
    CHECK_INTEQ(keyfile_load(&kf, missing), -1);
    CHECK_ERROR(XEND_ERR_SYSTEM, missing, "No such file");
    CHECK(kf.n == 0 && kf.entries == NULL);

    /* A directory is not a config file. */
    xend_error_reset();
    CHECK_INTEQ(keyfile_load(&kf, tmpdir), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, tmpdir, "regular");

    /* Exactly KEYFILE_MAX_SIZE bytes is fine; one more byte is refused before reading. */
    size_t size = KEYFILE_MAX_SIZE;
    char *big = malloc(size + 1);
    for (size_t i = 0; i < size; i += 64) {
        memset(big + i, '#', 63);
        big[i + 63] = '\n';
    }
    path = write_file("max.conf", big, size);
    xend_error_reset();
    CHECK_MSG(keyfile_load(&kf, path) == 0, "1 MiB file: %s", xend_error_last()->message);
    CHECK_INTEQ(kf.n, 0);
    keyfile_clear(&kf);
    free(path);
    big[size] = '\n';
    path = write_file("big.conf", big, size + 1);
    xend_error_reset();
    CHECK_INTEQ(keyfile_load(&kf, path), -1);
    char limit[16];
    snprintf(limit, sizeof(limit), "%u", KEYFILE_MAX_SIZE);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, path, limit);
    free(path);
    free(big);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xend-keyfile-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_parse_ok();
    test_parse_errors();
    test_load();
    /* remove what test_load wrote */
    static const char *const files[] = {"good.conf", "bad.conf", "max.conf", "big.conf"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return check_summary("test-keyfile");
}
