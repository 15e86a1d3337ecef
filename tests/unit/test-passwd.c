/*
 * Unit tests of the password store (daemon/passwd.h) on real files in a temporary
 * directory: files that load (comments, blank lines, CRLF, exactly the user limit), every
 * way a file is refused with CONFIG_INVALID naming path:line, the mode and file-type
 * checks, password checks against yescrypt and sha512crypt hashes made here with crypt_rn,
 * unknown users and over-long passwords, reloads when the file changes (and the previous
 * table kept, with one warning, when the new file is bad), and the cache of good checks
 * (emptied when the file changes, so a changed password stops matching at once).
 *
 * What the cache and the timing rule promise is only visible in how often crypt runs, so
 * this program defines crypt_rn(): the store, linked statically, calls it instead of
 * libcrypt's, and it counts the calls and remembers the method before passing them on.
 */
#include "check-error.h"
#include "check.h"

#include "daemon/passwd.h"
#include "util/log.h"

#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned crypt_calls;
static char crypt_last_method[8]; /* "$y$", "$6$": the setting's method of the last call */

char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
    static char *(*real)(const char *, const char *, void *, int);
    if (!real)
        real = (char *(*)(const char *, const char *, void *, int))dlsym(RTLD_NEXT, "crypt_rn");
    __atomic_add_fetch(&crypt_calls, 1, __ATOMIC_SEQ_CST);
    size_t n = strcspn(setting + (setting[0] == '$'), "$") + 2;
    if (n >= sizeof(crypt_last_method))
        n = sizeof(crypt_last_method) - 1;
    memcpy(crypt_last_method, setting, n);
    crypt_last_method[n] = '\0';
    return real(phrase, setting, data, size);
}

static char tmpdir[] = "/tmp/xend-test-passwd-XXXXXX";

static char *path_in(const char *name)
{
    static char buf[4][512];
    static unsigned next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* Write len bytes to path with exactly this mode, replacing it (a new inode). */
static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(fchmod(fd, mode) == 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
    CHECK(rename(tmp, path) == 0);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text), 0600);
}

/* A crypt(3) hash of pw: method "$y$" (yescrypt, default cost) or "$6$" (sha512crypt with
 * the minimum 1,000 rounds, so the many checks below stay fast under valgrind). Static
 * storage, one of eight rotating buffers. */
static const char *make_hash(const char *method, const char *pw)
{
    static char out[8][CRYPT_OUTPUT_SIZE];
    static unsigned next;
    char *setting = crypt_gensalt_ra(method, strcmp(method, "$6$") == 0 ? 1000 : 0, NULL, 0);
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h = crypt_rn(pw, setting, cd, sizeof(*cd));
    char *o = out[next++ % 8];
    snprintf(o, CRYPT_OUTPUT_SIZE, "%s", h ? h : "*");
    CHECK(h && h[0] == '$');
    free(cd);
    free(setting);
    return o;
}

/* ---- loading -------------------------------------------------------------------------- */

static void test_load_good(void)
{
    const char *p = path_in("good");
    char text[2048];
    snprintf(text, sizeof(text),
             "# xend users\n"
             "\n"
             "   \t\n"
             "  # an indented comment\n"
             "alice:write:%s\n"
             "bob.B_1-x:admin:%s   \n"
             "carol:read:%s\r\n"
             "dave:read:%s\n"
             "erin:write:%s", /* no newline at the end */
             make_hash("$6$", "a"), make_hash("$6$", "b"), make_hash("$6$", "c"),
             make_hash("$2b$", "d"), make_hash("$6$", "e"));
    write_text(p, text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    CHECK_INTEQ(passwd_store_count(ps), 5);
    xmlrpc_access a = XMLRPC_ACCESS_LAST;
    CHECK_INTEQ(passwd_store_check(ps, "alice", "a", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_WRITE);
    CHECK_INTEQ(passwd_store_check(ps, "bob.B_1-x", "b", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN);
    CHECK_INTEQ(passwd_store_check(ps, "carol", "c", &a), 0); /* CR and blanks cut */
    CHECK_INTEQ(a, XMLRPC_ACCESS_READ);
    CHECK_INTEQ(passwd_store_check(ps, "dave", "d", &a), 0); /* bcrypt */
    CHECK_INTEQ(passwd_store_check(ps, "erin", "e", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_WRITE);
    passwd_store_free(ps);

    /* Empty and comments-only files are valid: no users, and nobody gets in. */
    write_text(p, "");
    ps = passwd_store_open(p);
    CHECK(ps);
    CHECK_INTEQ(passwd_store_count(ps), 0);
    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "alice", "a", &a), -1);
    CHECK_INTEQ(crypt_calls, 1); /* the dummy hash still costs a crypt */
    CHECK_STREQ(crypt_last_method, "$y$");
    passwd_store_free(ps);
    write_text(p, "# nobody yet\n\n");
    ps = passwd_store_open(p);
    CHECK(ps && passwd_store_count(ps) == 0);
    passwd_store_free(ps);
    passwd_store_free(NULL);
    CHECK_INTEQ(passwd_store_count(NULL), 0);
}

typedef struct {
    const char *text; /* "%s" stands for a valid hash */
    unsigned line;
    const char *needle;
} bad_case;

static void test_load_bad(void)
{
    static const bad_case cases[] = {
        {"alice:read\n", 1, "NAME:CLASS:HASH"},
        {"alice\n", 1, "NAME:CLASS:HASH"},
        {"# ok\nbad name:read:%s\n", 2, "invalid user name 'bad name'"},
        {":read:%s\n", 1, "invalid user name"},
        {" alice:read:%s\n", 1, "invalid user name"},
        {"al/ice:read:%s\n", 1, "invalid user name"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:read:%s\n", 1,
         "invalid user name"}, /* 65 characters */
        {"alice:root:%s\n", 1, "unknown access class 'root'"},
        {"alice:Read:%s\n", 1, "unknown access class"},
        {"alice::%s\n", 1, "unknown access class"},
        {"alice:read:\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:*\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:!%s\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$6$\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$6$abcdefgh\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$6$rounds=1000$abcdefgh$\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$zz$abcdefgh$abcdefghijklmnop\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:%s:x\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:%s x\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:abcdefghijklm\n", 1, "deems legacy"},                      /* DES */
        {"alice:read:$1$abcdefgh$0123456789abcdefghijkl\n", 1, "deems legacy"}, /* MD5 */
        /* A setting without its checksum, and a checksum cut short. */
        {"alice:read:$6$rounds=1000$saltsalt\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$y$j9T$F5Jx5fExrKuJdjF8DLWbo.\n", 1, "not a complete crypt(3) hash"},
        {"alice:read:$y$j9T$F5Jx5fExrKuJdjF8DLWbo.$gnKZekeZqb2Rx7zFdH6KqVrdw97Dk3pQ.JvJ4iNFTe\n", 1,
         "not a complete crypt(3) hash"},
        {"alice:read:%s\nbob:read:%s\nalice:write:%s\n", 3, "listed twice (first on line 1)"},
    };
    const char *p = path_in("bad");
    const char *h = make_hash("$6$", "x");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024], where[600];
        snprintf(text, sizeof(text), cases[i].text, h, h, h);
        write_text(p, text);
        snprintf(where, sizeof(where), "%s:%u:", p, cases[i].line);
        xend_error_reset();
        passwd_store *ps = passwd_store_open(p);
        CHECK_MSG(!ps, "case %zu was accepted", i);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, where, cases[i].needle);
        passwd_store_free(ps);
    }

    /* A NUL byte, a line over 4 KiB, a file over 1 MiB. */
    write_file(p, "# a\nb\0c:read:x\n", 15, 0600);
    CHECK(!passwd_store_open(p));
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, ":2:", "NUL");
    char *big = malloc(PASSWD_MAX_FILE + 2);
    memset(big, '#', PASSWD_MAX_LINE + 1);
    big[PASSWD_MAX_LINE + 1] = '\n';
    write_file(p, big, PASSWD_MAX_LINE + 2, 0600);
    CHECK(!passwd_store_open(p));
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, ":1:", "longer than 4096");
    memset(big, '#', PASSWD_MAX_LINE); /* exactly the limit is fine */
    big[PASSWD_MAX_LINE] = '\n';
    write_file(p, big, PASSWD_MAX_LINE + 1, 0600);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    passwd_store_free(ps);
    for (size_t i = 0; i < PASSWD_MAX_FILE + 1; i++)
        big[i] = (i % 100 == 99) ? '\n' : '#';
    write_file(p, big, PASSWD_MAX_FILE + 1, 0600);
    CHECK(!passwd_store_open(p));
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, p, "larger than");
    free(big);

    /* Exactly the user limit loads; one more is refused on its line. (10,000 lines of
     * sha512crypt would not fit in 1 MiB: yescrypt hashes are shorter.) */
    h = make_hash("$y$", "x");
    size_t cap = (PASSWD_MAX_USERS + 1) * (strlen(h) + 24), len = 0;
    char *many = malloc(cap);
    for (unsigned i = 0; i < PASSWD_MAX_USERS; i++)
        len += (size_t)snprintf(many + len, cap - len, "u%u:read:%s\n", i, h);
    write_file(p, many, len, 0600);
    ps = passwd_store_open(p);
    CHECK(ps);
    CHECK_INTEQ(passwd_store_count(ps), PASSWD_MAX_USERS);
    passwd_store_free(ps);
    len += (size_t)snprintf(many + len, cap - len, "one-more:read:%s\n", h);
    write_file(p, many, len, 0600);
    CHECK(!passwd_store_open(p));
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, ":10001:", "more than 10000 users");
    free(many);
}

static void test_load_mode(void)
{
    const char *p = path_in("mode");
    char text[256];
    snprintf(text, sizeof(text), "alice:read:%s\n", make_hash("$6$", "a"));
    static const struct {
        mode_t mode;
        const char *needle; /* NULL: accepted */
    } modes[] = {
        {0600, NULL},
        {0400, NULL},
        {0640, NULL},
        {0644, "accessible by other users"},
        {0604, "accessible by other users"},
        {0601, "accessible by other users"},
        {0602, "accessible by other users"},
        {0660, "writable by its group"},
        {0620, "writable by its group"},
        {0666, "accessible by other users"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        write_file(p, text, strlen(text), modes[i].mode);
        passwd_store *ps = passwd_store_open(p);
        if (!modes[i].needle) {
            CHECK_MSG(ps && passwd_store_count(ps) == 1, "mode %04o refused",
                      (unsigned)modes[i].mode);
        } else {
            CHECK_MSG(!ps, "mode %04o accepted", (unsigned)modes[i].mode);
            CHECK_ERROR(XEND_ERR_CONFIG_INVALID, p, modes[i].needle, "chmod 600");
        }
        passwd_store_free(ps);
    }

    /* Not there, a directory, a FIFO (which must not block the open). */
    CHECK(!passwd_store_open(path_in("missing")));
    CHECK_ERROR(XEND_ERR_SYSTEM, "missing", "cannot open");
    CHECK(mkdir(path_in("dir"), 0700) == 0);
    CHECK(!passwd_store_open(path_in("dir")));
    CHECK_ERROR(XEND_ERR_SYSTEM, "dir", "not a regular file");
    CHECK(mkfifo(path_in("fifo"), 0600) == 0);
    CHECK(!passwd_store_open(path_in("fifo")));
    CHECK_ERROR(XEND_ERR_SYSTEM, "fifo", "not a regular file");
}

/* ---- checking ------------------------------------------------------------------------- */

static void test_check(void)
{
    const char *p = path_in("check");
    /* The longest password crypt can hash, and one byte more. */
    char pw_max[PASSWD_MAX_PASSWORD + 1], pw_over[PASSWD_MAX_PASSWORD + 2], pw_1025[1026];
    memset(pw_max, 'p', sizeof(pw_max) - 1);
    pw_max[sizeof(pw_max) - 1] = '\0';
    memset(pw_over, 'p', sizeof(pw_over) - 1);
    pw_over[sizeof(pw_over) - 1] = '\0';
    memset(pw_1025, 'p', sizeof(pw_1025) - 1);
    pw_1025[sizeof(pw_1025) - 1] = '\0';
    char *text = NULL;
    CHECK(asprintf(&text, "yes:write:%s\nsha:admin:%s\nedge:read:%s\nempty:read:%s\n",
                   make_hash("$y$", "yes pass"), make_hash("$6$", "sha:pass"),
                   make_hash("$6$", pw_max), make_hash("$6$", "")) > 0);
    write_text(p, text);
    free(text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    if (!ps)
        return;
    xmlrpc_access a = XMLRPC_ACCESS_LAST;

    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "yes", "yes pass", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_WRITE);
    CHECK_INTEQ(crypt_calls, 1);
    CHECK_STREQ(crypt_last_method, "$y$");
    a = XMLRPC_ACCESS_LAST;
    CHECK_INTEQ(passwd_store_check(ps, "sha", "sha:pass", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN);
    CHECK_STREQ(crypt_last_method, "$6$");
    CHECK_INTEQ(crypt_calls, 2);

    /* Successful checks are cached: the same credentials again cost no crypt. */
    CHECK_INTEQ(passwd_store_check(ps, "yes", "yes pass", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_WRITE);
    CHECK_INTEQ(passwd_store_check(ps, "sha", "sha:pass", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN);
    CHECK_INTEQ(crypt_calls, 2);

    /* Wrong passwords are never cached and always cost a crypt. */
    a = XMLRPC_ACCESS_ADMIN;
    CHECK_INTEQ(passwd_store_check(ps, "yes", "yes pass ", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "yes", "", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "sha", "sha", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "sha", "yes pass", &a), -1); /* another user's */
    CHECK_INTEQ(passwd_store_check(ps, "sha", "sha:pass", &a), 0);  /* still fine */
    CHECK_INTEQ(crypt_calls, 6);
    CHECK_INTEQ(passwd_store_check(ps, "sha", "sha", &a), -1);
    CHECK_INTEQ(crypt_calls, 7);
    /* A cached user with a different password is not a hit. */
    CHECK_INTEQ(passwd_store_check(ps, "yes", "sha:pass", &a), -1);
    CHECK_INTEQ(crypt_calls, 8);

    /* Unknown and invalid names cost one crypt too, against the first user's method. */
    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "nobody", "yes pass", &a), -1);
    CHECK_INTEQ(crypt_calls, 1);
    CHECK_STREQ(crypt_last_method, "$y$");
    CHECK_INTEQ(passwd_store_check(ps, "YES", "yes pass", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "bad name", "yes pass", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "", "yes pass", &a), -1);
    CHECK_INTEQ(crypt_calls, 4);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN); /* untouched by failures */

    /* 511 bytes is the longest password that can match; longer ones never do (crypt could
     * not hash them) and cost nothing. */
    CHECK_INTEQ(passwd_store_check(ps, "edge", pw_max, &a), 0);
    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "edge", pw_over, &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "edge", pw_1025, &a), -1);
    CHECK_INTEQ(crypt_calls, 0);
    /* An empty password is just a password (`xend passwd` never sets one). */
    CHECK_INTEQ(passwd_store_check(ps, "empty", "", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "empty", " ", &a), -1);

    CHECK_INTEQ(passwd_store_check(ps, NULL, "x", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "yes", NULL, &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "yes", "yes pass", NULL), -1);
    CHECK_INTEQ(passwd_store_check(NULL, "yes", "yes pass", &a), -1);
    passwd_store_free(ps);
}

/* The cache holds 256 entries: with more users than that, the oldest fall out and cost a
 * crypt again, and nothing is wrong either way. */
static void test_cache_bound(void)
{
    const char *p = path_in("cachebound");
    const char *h = make_hash("$6$", "same");
    size_t cap = 300 * 160, len = 0;
    char *text = malloc(cap);
    for (unsigned i = 0; i < 300; i++)
        len += (size_t)snprintf(text + len, cap - len, "u%u:write:%s\n", i, h);
    write_file(p, text, len, 0600);
    free(text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    xmlrpc_access a;
    crypt_calls = 0;
    for (unsigned i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "u%u", i);
        CHECK(passwd_store_check(ps, name, "same", &a) == 0 && a == XMLRPC_ACCESS_WRITE);
    }
    CHECK_INTEQ(crypt_calls, 300);
    /* The last 256 are cached, the first 44 were pushed out. */
    CHECK_INTEQ(passwd_store_check(ps, "u299", "same", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "u44", "same", &a), 0);
    CHECK_INTEQ(crypt_calls, 300);
    CHECK_INTEQ(passwd_store_check(ps, "u0", "same", &a), 0);
    CHECK_INTEQ(crypt_calls, 301);
    passwd_store_free(ps);
}

/* ---- reloading ------------------------------------------------------------------------ */

static unsigned count_in_log(const char *needle)
{
    char *log = xend_log_tail(0);
    unsigned n = 0;
    for (const char *s = log; s && (s = strstr(s, needle)) != NULL; s++)
        n++;
    free(log);
    return n;
}

/* Rewrite in place (same inode), with the same size, then give it an mtime of its own: a
 * change only the timestamps can reveal. */
static void rewrite_in_place(const char *path, const char *text, time_t mtime)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    CHECK(futimens(fd, ts) == 0);
    close(fd);
}

static void test_reload(void)
{
    const char *p = path_in("reload");
    char text[1024];
    const char *h_old = make_hash("$6$", "old"), *h_new = make_hash("$6$", "new");
    snprintf(text, sizeof(text), "alice:read:%s\n", h_old);
    write_text(p, text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    if (!ps)
        return;
    xmlrpc_access a;
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0); /* cached from now on */
    CHECK_INTEQ(a, XMLRPC_ACCESS_READ);

    /* While the store is not due to look at the file, nothing changes. */
    passwd_store_set_interval(ps, 3600 * 1000);
    snprintf(text, sizeof(text), "alice:admin:%s\nbob:write:%s\n", h_new, h_old);
    write_text(p, text);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "old", &a), -1);
    CHECK_INTEQ(passwd_store_count(ps), 1);

    /* Due: the replaced file (new inode, new size) is loaded, and the cached "old" for
     * alice no longer lets her in. */
    passwd_store_set_interval(ps, 0);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), -1);
    CHECK_INTEQ(passwd_store_count(ps), 2);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "new", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "old", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_WRITE);

    /* Same inode, same size, only the contents and mtime differ: alice and bob swap. */
    snprintf(text, sizeof(text), "alice:admin:%s\nbob:write:%s\n", h_old, h_new);
    rewrite_in_place(p, text, 1000000000);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "old", &a), -1); /* was cached */
    CHECK_INTEQ(passwd_store_check(ps, "alice", "new", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "new", &a), 0);

    /* A bad file: the previous table stays, with one warning however often it is looked
     * at; and the cache was emptied all the same (crypt runs again). */
    unsigned warned = count_in_log("cannot reload the password file");
    snprintf(text, sizeof(text), "alice:admin:%s\nbob:wrong:%s\n", h_new, h_new);
    write_text(p, text);
    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(crypt_calls, 1);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "new", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "new", &a), -1);
    CHECK_INTEQ(count_in_log("cannot reload the password file"), warned + 1);
    CHECK_INTEQ(count_in_log(":2: unknown access class 'wrong'"), 1);
    /* Made readable by others: another change, another warning. */
    CHECK(chmod(p, 0644) == 0);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(count_in_log("cannot reload the password file"), warned + 2);
    CHECK_INTEQ(count_in_log("chmod 600"), 1);
    /* Removed: still the old table, one warning. */
    CHECK(unlink(p) == 0);
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), 0);
    CHECK_INTEQ(passwd_store_check(ps, "bob", "new", &a), 0);
    CHECK_INTEQ(count_in_log("keeping the 2 users loaded before"), 3);
    /* The thread's error slot is not touched by any of it. */
    xend_error_report(XEND_ERR_NO_DOMAIN, "sentinel");
    write_text(p, "# empty\n");
    CHECK_INTEQ(passwd_store_check(ps, "alice", "old", &a), -1);
    CHECK_INTEQ(passwd_store_count(ps), 0);
    CHECK_ERROR(XEND_ERR_NO_DOMAIN, "sentinel");
    CHECK_INTEQ(count_in_log("keeping the 2 users"), 3);
    passwd_store_free(ps);
}

/* Checks from several threads while the file keeps changing: a user whose line never
 * changes is never refused, and one whose password flips is accepted only with one of
 * the two. (valgrind and the sanitizers watch the locking.) */
typedef struct {
    passwd_store *ps;
    unsigned failures;
} thread_arg;

static void *check_thread(void *opaque)
{
    thread_arg *t = opaque;
    for (int i = 0; i < 40; i++) {
        xmlrpc_access a;
        if (passwd_store_check(t->ps, "steady", "steady", &a) < 0 || a != XMLRPC_ACCESS_WRITE)
            t->failures++;
        int r1 = passwd_store_check(t->ps, "flip", "one", &a);
        int r2 = passwd_store_check(t->ps, "flip", "neither", &a);
        if (r2 == 0 || (r1 == 0 && a != XMLRPC_ACCESS_READ))
            t->failures++;
    }
    return NULL;
}

static void test_threads(void)
{
    const char *p = path_in("threads");
    const char *steady = make_hash("$6$", "steady");
    const char *one = make_hash("$6$", "one"), *two = make_hash("$6$", "two");
    char text[1024];
    snprintf(text, sizeof(text), "steady:write:%s\nflip:read:%s\n", steady, one);
    write_text(p, text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    if (!ps)
        return;
    passwd_store_set_interval(ps, 0);
    thread_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){ps, 0};
        CHECK(pthread_create(&th[i], NULL, check_thread, &args[i]) == 0);
    }
    for (int i = 0; i < 30; i++) {
        snprintf(text, sizeof(text), "# round %d\nflip:read:%s\nsteady:write:%s\n", i,
                 i % 2 ? one : two, steady);
        write_text(p, text);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INTEQ(args[i].failures, 0);
    }
    passwd_store_free(ps);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* `pam` users: the word instead of a hash loads (PAM is never asked here: the service
 * directory is empty, so the check fails before PAM starts), they cost no crypt, and an
 * unknown user is still checked against the first crypt user's hash, never "pam". */
static void test_pam_users(void)
{
    const char *p = path_in("pam");
    char text[512];
    snprintf(text, sizeof(text), "carol:write:pam\ndave:read:pam \nalice:admin:%s\n",
             make_hash("$6$", "a"));
    write_text(p, text);
    passwd_store *ps = passwd_store_open(p);
    CHECK(ps);
    CHECK_INTEQ(passwd_store_count(ps), 3);
    CHECK_INTEQ(passwd_store_pam_count(ps), 2);
    const char *confdir = path_in("pam.d");
    CHECK(mkdir(confdir, 0700) == 0);
    passwd_store_set_pam(ps, "xend-unit", confdir);
    xmlrpc_access a = XMLRPC_ACCESS_LAST;
    crypt_calls = 0;
    CHECK_INTEQ(passwd_store_check(ps, "carol", "pam", &a), -1);
    CHECK_INTEQ(passwd_store_check(ps, "dave", "x", &a), -1);
    CHECK_INTEQ(crypt_calls, 0);
    CHECK_INTEQ(passwd_store_check(ps, "nobody", "x", &a), -1);
    CHECK_INTEQ(crypt_calls, 1);
    CHECK_STREQ(crypt_last_method, "$6$");
    CHECK_INTEQ(passwd_store_check(ps, "alice", "a", &a), 0);
    CHECK_INTEQ(a, XMLRPC_ACCESS_ADMIN);
    passwd_store_free(ps);

    /* Only the exact word: anything else is a hash, and not a usable one (DES-shaped words
     * are called legacy, the rest incomplete). */
    static const char *const bad[] = {"carol:write:PAM\n", "carol:write:pam:\n",
                                      "carol:write: pam\n", "carol:write:pamx\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(p, bad[i]);
        CHECK(!passwd_store_open(p));
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, ":1:", "hash of user 'carol'");
    }
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_load_good();
    test_load_bad();
    test_load_mode();
    test_check();
    test_cache_bound();
    test_reload();
    test_threads();
    test_pam_users();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary("passwd");
}
