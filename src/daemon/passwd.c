/*
 * The password file (see passwd.h): parsing with every line checked up front, so a typo is
 * reported at start with its line instead of silently locking a user out; the store the
 * TCP listener checks HTTP Basic credentials against (reloaded when the file changes, with
 * a cache of successful checks because clients send credentials with every request); and
 * `xend passwd`, which edits the file in place of a text editor, keeping everything it
 * does not own byte for byte.
 */
#include "config.h"

#include "passwd.h"

#include "pam_auth.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PASSWD_DEFAULT_FILE XEND_SYSCONFDIR "/xend/passwd"
#define PASSWD_CACHE_MAX 256
#define PASSWD_DIGEST 32 /* SHA-256 */
#define PASSWD_PAM "pam" /* the hash field of a user whose password PAM checks */
#define PASSWD_PAM_SERVICE "xend"

/* Checked against when the file has no users, so that every name costs the same. A real
 * yescrypt hash with the default parameters (of a password nobody needs to know). */
static const char passwd_dummy_yescrypt[] =
    "$y$j9T$F5Jx5fExrKuJdjF8DLWbo.$gnKZekeZqb2Rx7zFdH6KqVrdw97Dk3pQ.JvJ4iNFTe3";

static const char *const passwd_class_names[] = {"read", "write", "admin"};

typedef struct {
    char *name;
    char *hash; /* a crypt(3) string, or PASSWD_PAM */
    bool pam;   /* the password is PAM's to check */
    xmlrpc_access access;
    unsigned line; /* where it is in the file, for the duplicate message */
} passwd_user;

typedef struct {
    passwd_user *users; /* in file order */
    size_t n, cap;
    xhash *index;           /* name -> index + 1 (as a pointer), so the array may grow */
    size_t n_pam;           /* users checked by PAM */
    const char *first_hash; /* the first crypt user's hash (in users[]), or NULL */
} passwd_table;

/* What identifies one version of the file. ctime is in because it also moves on chmod,
 * chown and on a rewrite that restores the old mtime (rsync -t, cp -p). */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    int err; /* stat failed with this errno (then the rest is zero) */
} passwd_ident;

typedef struct {
    uint8_t digest[PASSWD_DIGEST];
    xmlrpc_access access;
} passwd_cached;

struct passwd_store {
    char *path;
    pthread_mutex_t lock;
    passwd_table *table;
    passwd_ident loaded;  /* the version the table comes from */
    passwd_ident refused; /* the latest version that failed to load (warned about) */
    bool have_refused;
    int64_t looked_ms;    /* when the file was last stat'ed (CLOCK_MONOTONIC) */
    unsigned interval_ms; /* at least this long between two looks */
    uint64_t generation;  /* bumped whenever the file changes: in-flight checks of an
                             older generation must not fill the cache */
    uint8_t key[PASSWD_DIGEST];
    passwd_cached cache[PASSWD_CACHE_MAX];
    size_t cache_n, cache_next;
    char *pam_service; /* for the `pam` users */
    char *pam_confdir; /* "" = the system's */
};

/* ---- names, classes and hashes ------------------------------------------------------ */

static bool passwd_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > PASSWD_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int passwd_class_parse(const char *s, size_t n, xmlrpc_access *out)
{
    for (size_t i = 0; i < sizeof(passwd_class_names) / sizeof(passwd_class_names[0]); i++) {
        if (strlen(passwd_class_names[i]) == n && memcmp(s, passwd_class_names[i], n) == 0) {
            *out = (xmlrpc_access)i;
            return 0;
        }
    }
    return -1;
}

/* Copy at most 64 bytes of untrusted text into out for a message, '?' for anything that
 * is not printable ASCII, so a hostile file cannot put escapes into the log. */
static const char *passwd_printable(const char *s, size_t n, char *out, size_t size)
{
    size_t i = 0;
    for (; i < n && i < 64 && i + 4 < size; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (i < n && i + 4 <= size) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

typedef enum { PASSWD_HASH_OK, PASSWD_HASH_BAD, PASSWD_HASH_LEGACY } passwd_hash_verdict;

static bool passwd_hash_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
}

/* Whether hash is a complete crypt(3) string of a method this libcrypt supports.
 * crypt_checksalt only looks at the method prefix, so the shape is checked as well: every
 * method it deems OK writes "$id$[params$]salt$checksum", which catches a truncated paste
 * or a bare "$6$" (those could never match, locking the user out without a word). */
static passwd_hash_verdict passwd_hash_check(const char *hash)
{
    size_t len = strlen(hash), dollars = 0;
    if (len == 0 || len >= CRYPT_OUTPUT_SIZE)
        return PASSWD_HASH_BAD;
    for (size_t i = 0; i < len; i++) {
        if (hash[i] == '$')
            dollars++;
        else if (!passwd_hash_char(hash[i]) && hash[i] != '=' && hash[i] != ',')
            return PASSWD_HASH_BAD;
    }
    int r = crypt_checksalt(hash);
    if (r == CRYPT_SALT_METHOD_LEGACY)
        return PASSWD_HASH_LEGACY;
    if (r != CRYPT_SALT_OK || hash[0] != '$' || dollars < 3)
        return PASSWD_HASH_BAD;
    const char *sum = strrchr(hash, '$') + 1;
    size_t sum_len = strlen(sum);
    if (sum_len == 0)
        return PASSWD_HASH_BAD;
    for (size_t i = 0; i < sum_len; i++)
        if (!passwd_hash_char(sum[i]))
            return PASSWD_HASH_BAD;
    /* The common methods write checksums of a fixed length: this is what tells a setting
     * with parameters ("$6$rounds=5000$salt") from a complete hash. */
    static const struct {
        const char *prefix;
        size_t sum_len;
    } known[] = {
        {"$y$", 43}, {"$gy$", 43}, {"$7$", 43},  {"$6$", 86},
        {"$5$", 43}, {"$2a$", 53}, {"$2b$", 53}, {"$2y$", 53},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(hash, known[i].prefix, strlen(known[i].prefix)) == 0 &&
            sum_len != known[i].sum_len)
            return PASSWD_HASH_BAD;
    return PASSWD_HASH_OK;
}

/* ---- the table ---------------------------------------------------------------------- */

static void passwd_table_free(passwd_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->users[i].name);
        free(t->users[i].hash);
    }
    free(t->users);
    xhash_free(t->index);
    free(t);
}

static const passwd_user *passwd_table_find(const passwd_table *t, const char *name)
{
    uintptr_t i = (uintptr_t)xhash_get(t->index, name);
    return i ? &t->users[i - 1] : NULL;
}

/* One non-comment line (NUL-terminated, trailing blanks already cut). 0 or -1 with
 * CONFIG_INVALID reported naming path:lineno. */
static int passwd_table_add_line(passwd_table *t, const char *path, unsigned lineno, char *line)
{
    char shown[80];
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: expected NAME:CLASS:HASH (see `xend passwd --help`)", path,
                          lineno);
        return -1;
    }
    size_t nlen = (size_t)(c1 - line);
    if (!passwd_name_valid(line, nlen)) {
        xend_error_report(
            XEND_ERR_CONFIG_INVALID, "%s:%u: invalid user name '%s' (1 to %d of A-Z a-z 0-9 . _ -)",
            path, lineno, passwd_printable(line, nlen, shown, sizeof(shown)), PASSWD_MAX_NAME);
        return -1;
    }
    *c1 = '\0';
    xmlrpc_access access;
    if (passwd_class_parse(c1 + 1, (size_t)(c2 - c1 - 1), &access) < 0) {
        xend_error_report(
            XEND_ERR_CONFIG_INVALID,
            "%s:%u: unknown access class '%s' for user '%s' (read, write or admin)", path, lineno,
            passwd_printable(c1 + 1, (size_t)(c2 - c1 - 1), shown, sizeof(shown)), line);
        return -1;
    }
    const char *hash = c2 + 1;
    bool pam = strcmp(hash, PASSWD_PAM) == 0;
    switch (pam ? PASSWD_HASH_OK : passwd_hash_check(hash)) {
    case PASSWD_HASH_OK:
        break;
    case PASSWD_HASH_LEGACY:
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: the password hash of user '%s' uses a method this system's "
                          "crypt(3) deems legacy (DES, MD5, ...): set a new password with "
                          "`xend passwd %s`",
                          path, lineno, line, line);
        return -1;
    default:
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: the password hash of user '%s' is not a complete crypt(3) "
                          "hash of a method this system supports (nor `pam`): set it with "
                          "`xend passwd %s`",
                          path, lineno, line, line);
        return -1;
    }
    uintptr_t prev = (uintptr_t)xhash_get(t->index, line);
    if (prev) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s:%u: user '%s' is listed twice (first on line %u)", path, lineno, line,
                          t->users[prev - 1].line);
        return -1;
    }
    if (t->n == PASSWD_MAX_USERS) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: more than %d users", path, lineno,
                          PASSWD_MAX_USERS);
        return -1;
    }
    t->users = xgrow(t->users, &t->cap, t->n + 1, sizeof(*t->users));
    passwd_user *u = &t->users[t->n++];
    u->name = xstrdup(line);
    u->hash = xstrdup(hash);
    u->pam = pam;
    u->access = access;
    u->line = lineno;
    xhash_set(t->index, u->name, (void *)(uintptr_t)t->n);
    if (pam)
        t->n_pam++;
    return 0;
}

/* Parse a whole file's text (len bytes; text is modified). NULL with CONFIG_INVALID
 * reported naming path:line. */
static passwd_table *passwd_table_parse(const char *path, char *text, size_t len)
{
    passwd_table *t = xcalloc(1, sizeof(*t));
    t->index = xhash_new();
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len;) {
        char *line = text + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > PASSWD_MAX_LINE) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: line longer than %d bytes", path,
                              lineno, PASSWD_MAX_LINE);
            goto fail;
        }
        if (memchr(line, '\0', n)) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: line contains a NUL byte", path,
                              lineno);
            goto fail;
        }
        /* Trailing blanks (and the CR of a CRLF file) are invisible in an editor; they
         * must not become part of a hash. */
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            n--;
        line[n] = '\0';
        size_t lead = strspn(line, " \t");
        if (line[lead] == '\0' || line[lead] == '#')
            continue;
        if (passwd_table_add_line(t, path, lineno, line) < 0)
            goto fail;
    }
    for (size_t i = 0; i < t->n && !t->first_hash; i++)
        if (!t->users[i].pam)
            t->first_hash = t->users[i].hash;
    return t;
fail:
    passwd_table_free(t);
    return NULL;
}

/* ---- loading -------------------------------------------------------------------------- */

static void passwd_ident_of(const struct stat *sb, passwd_ident *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = sb->st_dev;
    id->ino = sb->st_ino;
    id->size = sb->st_size;
    id->mtime = sb->st_mtim;
    id->ctime = sb->st_ctim;
}

static bool passwd_ident_equal(const passwd_ident *a, const passwd_ident *b)
{
    return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Read the file through one descriptor, so the mode checked, the identity recorded and the
 * bytes parsed all belong to the same file even if it is replaced meanwhile. */
static passwd_table *passwd_load(const char *path, passwd_ident *id)
{
    /* O_NONBLOCK: a FIFO put there must not hang the daemon; it is refused just below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open password file '%s'", path);
        return NULL;
    }
    struct stat sb;
    char *buf = NULL;
    size_t cap = 0, got = 0;
    passwd_table *t = NULL;
    if (fstat(fd, &sb) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot stat password file '%s'", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        xend_error_report(XEND_ERR_SYSTEM, "password file '%s' is not a regular file", path);
        goto out;
    }
    unsigned mode = (unsigned)sb.st_mode & 07777;
    if ((mode & 0007) || (mode & 0020)) {
        xend_error_report(
            XEND_ERR_CONFIG_INVALID, "password file '%s' is %s (mode %04o): run chmod 600 %s", path,
            (mode & 0007) ? "accessible by other users" : "writable by its group", mode, path);
        goto out;
    }
    if (sb.st_size > PASSWD_MAX_FILE) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "password file '%s' is larger than %d bytes",
                          path, PASSWD_MAX_FILE);
        goto out;
    }
    /* st_size is a hint only: read until end of file, enforcing the bound on what comes. */
    cap = (size_t)sb.st_size + 1;
    buf = xmalloc(cap + 1);
    for (;;) {
        if (got == cap) {
            if (got > PASSWD_MAX_FILE)
                break;
            cap = cap * 2 > PASSWD_MAX_FILE + 1 ? PASSWD_MAX_FILE + 1 : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot read password file '%s'", path);
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got > PASSWD_MAX_FILE) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "password file '%s' is larger than %d bytes",
                          path, PASSWD_MAX_FILE);
        goto out;
    }
    t = passwd_table_parse(path, buf, got);
    if (t)
        passwd_ident_of(&sb, id);
out:
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    close(fd);
    return t;
}

static int64_t passwd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

passwd_store *passwd_store_open(const char *path)
{
    passwd_ident id;
    passwd_table *t = passwd_load(path, &id);
    if (!t)
        return NULL;
    passwd_store *ps = xcalloc(1, sizeof(*ps));
    /* The cache key only has to be unpredictable to clients; a fresh one per store means
     * nothing computed with it outlives the process. */
    int r = gnutls_rnd(GNUTLS_RND_KEY, ps->key, sizeof(ps->key));
    if (r < 0) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot get random bytes for the password cache: %s",
                          gnutls_strerror(r));
        passwd_table_free(t);
        free(ps);
        return NULL;
    }
    ps->path = xstrdup(path);
    pthread_mutex_init(&ps->lock, NULL);
    ps->table = t;
    ps->loaded = id;
    ps->interval_ms = 1000;
    ps->looked_ms = passwd_now_ms();
    ps->pam_service = xstrdup(PASSWD_PAM_SERVICE);
    ps->pam_confdir = xstrdup("");
    return ps;
}

void passwd_store_free(passwd_store *ps)
{
    if (!ps)
        return;
    passwd_table_free(ps->table);
    pthread_mutex_destroy(&ps->lock);
    explicit_bzero(ps->key, sizeof(ps->key));
    explicit_bzero(ps->cache, sizeof(ps->cache));
    free(ps->path);
    free(ps->pam_service);
    free(ps->pam_confdir);
    free(ps);
}

size_t passwd_store_count(passwd_store *ps)
{
    if (!ps)
        return 0;
    pthread_mutex_lock(&ps->lock);
    size_t n = ps->table->n;
    pthread_mutex_unlock(&ps->lock);
    return n;
}

size_t passwd_store_pam_count(passwd_store *ps)
{
    if (!ps)
        return 0;
    pthread_mutex_lock(&ps->lock);
    size_t n = ps->table->n_pam;
    pthread_mutex_unlock(&ps->lock);
    return n;
}

void passwd_store_set_pam(passwd_store *ps, const char *service, const char *confdir)
{
    pthread_mutex_lock(&ps->lock);
    free(ps->pam_service);
    free(ps->pam_confdir);
    ps->pam_service = xstrdup(service && *service ? service : PASSWD_PAM_SERVICE);
    ps->pam_confdir = xstrdup(confdir ? confdir : "");
    pthread_mutex_unlock(&ps->lock);
}

void passwd_store_set_interval(passwd_store *ps, unsigned ms)
{
    pthread_mutex_lock(&ps->lock);
    ps->interval_ms = ms;
    pthread_mutex_unlock(&ps->lock);
}

/* Reload when the file changed (ps->lock held). The error slot of the calling thread is
 * left as it was: the caller of passwd_store_check reports nothing. */
static void passwd_store_refresh(passwd_store *ps)
{
    int64_t now = passwd_now_ms();
    if (now - ps->looked_ms < (int64_t)ps->interval_ms)
        return;
    ps->looked_ms = now;
    passwd_ident cur;
    struct stat sb;
    if (stat(ps->path, &sb) == 0) {
        passwd_ident_of(&sb, &cur);
    } else {
        memset(&cur, 0, sizeof(cur));
        cur.err = errno;
    }
    if (passwd_ident_equal(&cur, &ps->loaded) ||
        (ps->have_refused && passwd_ident_equal(&cur, &ps->refused)))
        return;
    /* The file changed: whatever was verified against the old one is void. */
    ps->generation++;
    explicit_bzero(ps->cache, sizeof(ps->cache));
    ps->cache_n = ps->cache_next = 0;

    xend_error saved = *xend_error_last();
    passwd_ident id;
    passwd_table *t = cur.err ? NULL : passwd_load(ps->path, &id);
    if (t) {
        passwd_table_free(ps->table);
        ps->table = t;
        ps->loaded = id;
        ps->have_refused = false;
        log_info("password file %s reloaded: %zu users", ps->path, t->n);
    } else {
        if (cur.err)
            log_warn("password file %s: %s; keeping the %zu users loaded before", ps->path,
                     strerror(cur.err), ps->table->n);
        else
            log_warn("cannot reload the password file: %s; keeping the %zu users loaded before",
                     xend_error_last()->message, ps->table->n);
        ps->refused = cur;
        ps->have_refused = true;
    }
    if (saved.code)
        xend_error_report(saved.code, "%s", saved.message);
    else
        xend_error_reset();
}

/* The cached class of this digest, or -1; every entry is compared, in constant time, so
 * the time taken does not tell where (or whether) a digest sits. ps->lock held. */
static int passwd_cache_find(const passwd_store *ps, const uint8_t *digest)
{
    int found = -1;
    for (size_t i = 0; i < ps->cache_n; i++)
        if (gnutls_memcmp(ps->cache[i].digest, digest, PASSWD_DIGEST) == 0)
            found = (int)ps->cache[i].access;
    return found;
}

static void passwd_cache_add(passwd_store *ps, const uint8_t *digest, xmlrpc_access access)
{
    /* Oldest first out: recent logins are the ones that come back. */
    passwd_cached *c = &ps->cache[ps->cache_next];
    memcpy(c->digest, digest, PASSWD_DIGEST);
    c->access = access;
    ps->cache_next = (ps->cache_next + 1) % PASSWD_CACHE_MAX;
    if (ps->cache_n < PASSWD_CACHE_MAX)
        ps->cache_n++;
}

/* crypt(password, hash) == hash, compared in constant time. */
static bool passwd_verify(const char *password, const char *hash)
{
    struct crypt_data *cd = xcalloc(1, sizeof(*cd)); /* 32 KiB: too big for a worker stack */
    const char *out = crypt_rn(password, hash, cd, sizeof(*cd));
    size_t len = strlen(hash);
    bool ok = out && strlen(out) == len && gnutls_memcmp(out, hash, len) == 0;
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

int passwd_store_check(passwd_store *ps, const char *user, const char *password,
                       xmlrpc_access *access)
{
    if (!ps)
        return -1;
    size_t plen = password ? strnlen(password, PASSWD_MAX_PASSWORD + 1) : 0;
    if (!user || !password || !access || plen > PASSWD_MAX_PASSWORD) {
        /* No crypt for what can never match, but the file is still looked at, so every
         * call keeps the table as fresh as promised (the fuzz target drives reloads so). */
        pthread_mutex_lock(&ps->lock);
        passwd_store_refresh(ps);
        pthread_mutex_unlock(&ps->lock);
        return -1;
    }
    size_t ulen = strnlen(user, PASSWD_MAX_NAME + 1);
    bool named = passwd_name_valid(user, ulen);

    /* The cache key: only valid names get here, so the buffer is bounded. */
    uint8_t digest[PASSWD_DIGEST] = {0};
    if (named) {
        char msg[PASSWD_MAX_NAME + 1 + PASSWD_MAX_PASSWORD];
        memcpy(msg, user, ulen);
        msg[ulen] = '\0';
        memcpy(msg + ulen + 1, password, plen);
        int r = gnutls_hmac_fast(GNUTLS_MAC_SHA256, ps->key, sizeof(ps->key), msg, ulen + 1 + plen,
                                 digest);
        explicit_bzero(msg, sizeof(msg));
        if (r < 0)
            named = false; /* no cache then; the crypt below still decides */
    }

    pthread_mutex_lock(&ps->lock);
    passwd_store_refresh(ps);
    if (named) {
        int hit = passwd_cache_find(ps, digest);
        if (hit >= 0) {
            pthread_mutex_unlock(&ps->lock);
            *access = (xmlrpc_access)hit;
            return 0;
        }
    }
    const passwd_user *u = named ? passwd_table_find(ps->table, user) : NULL;
    if (u && u->pam) {
        /* Never cached: PAM may refuse tomorrow what it accepts today (a changed password,
         * a locked account), which the file would not show. The connection's own cache
         * (server_auth.c) still spares a keep-alive client a check per request. */
        xmlrpc_access cls = u->access;
        char *service = xstrdup(ps->pam_service), *confdir = xstrdup(ps->pam_confdir);
        pthread_mutex_unlock(&ps->lock);
        explicit_bzero(digest, sizeof(digest));
        int r = pam_auth_check(service, confdir, user, password);
        free(service);
        free(confdir);
        if (r < 0)
            return -1;
        *access = cls;
        return 0;
    }
    /* Copied out: the table may be replaced while crypt runs without the lock. */
    char *hash = xstrdup(u                       ? u->hash
                         : ps->table->first_hash ? ps->table->first_hash
                                                 : passwd_dummy_yescrypt);
    xmlrpc_access found = u ? u->access : XMLRPC_ACCESS_READ;
    uint64_t generation = ps->generation;
    pthread_mutex_unlock(&ps->lock);

    /* An unknown name is hashed too (and the result thrown away), at the same cost. */
    bool ok = passwd_verify(password, hash) && u;
    free(hash);
    if (!ok)
        return -1;
    pthread_mutex_lock(&ps->lock);
    if (ps->generation == generation)
        passwd_cache_add(ps, digest, found);
    pthread_mutex_unlock(&ps->lock);
    explicit_bzero(digest, sizeof(digest));
    *access = found;
    return 0;
}

/* ---- xend passwd ---------------------------------------------------------------------- */

static void passwd_usage(FILE *out)
{
    fprintf(out,
            "usage: xend passwd [OPTION]... USER\n"
            "Add USER to the password file of xend's TCP listener (HTTP Basic), change\n"
            "their password and access class, or delete them.\n"
            "\n"
            "  -f, --file FILE       the password file (default " PASSWD_DEFAULT_FILE ")\n"
            "  -a, --access CLASS    read, write or admin: the most USER may do (default: the\n"
            "                        class USER has now; read for a new user)\n"
            "  -d, --delete          remove USER from the file\n"
            "  -p, --pam             let PAM check USER's password (service pam_service of\n"
            "                        xend.conf); no password is asked for\n"
            "  -h, --help            print this help and exit\n"
            "\n"
            "The new password is read twice from the terminal without echo, or as one line\n"
            "from standard input when that is not a terminal. It is hashed with the system's\n"
            "default crypt(3) method (yescrypt). The file is rewritten atomically with mode\n"
            "0600, keeping comments and the other lines as they are; it is created if\n"
            "missing. Each line reads NAME:CLASS:HASH, HASH being `pam` for a PAM user.\n"
            "A running xend picks changes up within a second. See xend(8).\n");
}

static void passwd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void passwd_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("xend passwd: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int passwd_fail_last(void)
{
    const xend_error *e = xend_error_last();
    passwd_fail("%s", e->code ? e->message : "unknown error");
    return 1;
}

typedef enum { LINE_OK, LINE_EMPTY, LINE_TOO_LONG, LINE_NUL, LINE_ERROR } passwd_line_status;

/* One line from fd into buf (PASSWD_MAX_PASSWORD + 1 bytes), NUL-terminated, without its
 * newline. Read a byte at a time so nothing after the line is taken from a shared stdin. */
static passwd_line_status passwd_read_line(int fd, char *buf, size_t *len)
{
    size_t n = 0;
    bool too_long = false, nul = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return LINE_ERROR;
        if (r == 0 || c == '\n')
            break;
        if (c == '\0')
            nul = true;
        if (n < PASSWD_MAX_PASSWORD)
            buf[n++] = c;
        else
            too_long = true;
    }
    buf[n] = '\0';
    *len = n;
    if (too_long)
        return LINE_TOO_LONG;
    if (nul)
        return LINE_NUL;
    return n ? LINE_OK : LINE_EMPTY;
}

static int passwd_line_check(passwd_line_status st, const char *where)
{
    switch (st) {
    case LINE_OK:
        return 0;
    case LINE_EMPTY:
        passwd_fail("empty password refused");
        break;
    case LINE_TOO_LONG:
        passwd_fail("the password is longer than %d bytes", PASSWD_MAX_PASSWORD);
        break;
    case LINE_NUL:
        passwd_fail("the password contains a NUL byte");
        break;
    case LINE_ERROR:
        passwd_fail("cannot read the password from %s: %s", where, strerror(errno));
        break;
    }
    return -1;
}

/* The terminal state to put back if a signal ends the program while echo is off. */
static volatile sig_atomic_t passwd_tty_fd = -1;
static struct termios passwd_tty_saved;

static void passwd_tty_signal(int sig)
{
    if (passwd_tty_fd >= 0)
        tcsetattr(passwd_tty_fd, TCSAFLUSH, &passwd_tty_saved);
    /* SA_RESETHAND made the default action current; it runs once the handler returns. */
    raise(sig);
}

static const int passwd_tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define PASSWD_TTY_NSIG (sizeof(passwd_tty_signals) / sizeof(passwd_tty_signals[0]))

/* A prompt that cannot be shown changes nothing about what is read: no error. */
static void passwd_tty_write(int fd, const char *s)
{
    xend_fd_write_all(fd, s, strlen(s));
}

/* The password typed twice at the terminal without echo. 0, or -1 with the error printed. */
static int passwd_read_tty(const char *user, char *pw, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        passwd_fail("cannot open the terminal /dev/tty: %s", strerror(errno));
        return -1;
    }
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
        passwd_fail("cannot read the terminal settings: %s", strerror(errno));
        close(fd);
        return -1;
    }
    passwd_tty_saved = t;
    passwd_tty_fd = fd;
    struct sigaction sa, old[PASSWD_TTY_NSIG];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = passwd_tty_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < PASSWD_TTY_NSIG; i++)
        sigaction(passwd_tty_signals[i], &sa, &old[i]);
    /* ECHONL: the Enter key still moves to the next line, so the prompts do not pile up. */
    t.c_lflag &= ~(tcflag_t)ECHO;
    t.c_lflag |= ECHONL;
    int ret = -1;
    if (tcsetattr(fd, TCSAFLUSH, &t) < 0) {
        passwd_fail("cannot turn off the terminal's echo: %s", strerror(errno));
        goto out;
    }
    char again[PASSWD_MAX_PASSWORD + 1];
    size_t again_len = 0;
    char prompt[128];
    snprintf(prompt, sizeof(prompt), "New password for %s: ", user);
    passwd_tty_write(fd, prompt);
    if (passwd_line_check(passwd_read_line(fd, pw, len), "the terminal") < 0)
        goto out;
    passwd_tty_write(fd, "Retype the new password: ");
    passwd_line_status st = passwd_read_line(fd, again, &again_len);
    if (st == LINE_EMPTY || st == LINE_OK) {
        if (again_len != *len || memcmp(again, pw, *len) != 0)
            passwd_fail("the two passwords differ; nothing changed");
        else
            ret = 0;
    } else {
        passwd_line_check(st, "the terminal");
    }
    explicit_bzero(again, sizeof(again));
out:
    tcsetattr(fd, TCSAFLUSH, &passwd_tty_saved);
    for (size_t i = 0; i < PASSWD_TTY_NSIG; i++)
        sigaction(passwd_tty_signals[i], &old[i], NULL);
    passwd_tty_fd = -1;
    close(fd);
    return ret;
}

/* The new password: from the terminal when stdin is one, else one line of stdin. */
static int passwd_read_password(const char *user, char *pw, size_t *len)
{
    if (isatty(STDIN_FILENO))
        return passwd_read_tty(user, pw, len);
    return passwd_line_check(passwd_read_line(STDIN_FILENO, pw, len), "standard input");
}

/* A fresh hash of pw with the system's default method (caller frees), or NULL with the
 * error printed. */
static char *passwd_hash_new(const char *pw)
{
    char *setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
    if (!setting) {
        passwd_fail("cannot make a salt for the password: %s", strerror(errno));
        return NULL;
    }
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    const char *h = crypt_rn(pw, setting, cd, sizeof(*cd));
    char *hash = h && h[0] != '*' ? xstrdup(h) : NULL;
    if (!hash)
        passwd_fail("cannot hash the password (method %.8s): %s", setting, strerror(errno));
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    free(setting);
    return hash;
}

/* Whether the line [s, s+n) is an entry of user (name, then ':'). Lines with leading blanks
 * or other oddities are not: the editor leaves them alone like comments. */
static bool passwd_line_is_user(const char *s, size_t n, const char *user, size_t ulen)
{
    return n > ulen && memcmp(s, user, ulen) == 0 && s[ulen] == ':';
}

/* The class on user's first line in text, or -1 when user has none. */
static int passwd_text_find(const char *text, size_t len, const char *user)
{
    size_t ulen = strlen(user);
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (!passwd_line_is_user(s, n, user, ulen))
            continue;
        const char *cls = s + ulen + 1, *end = memchr(cls, ':', n - ulen - 1);
        xmlrpc_access a;
        /* An entry with a class that makes no sense gets the least access. */
        if (!end || passwd_class_parse(cls, (size_t)(end - cls), &a) < 0)
            return XMLRPC_ACCESS_READ;
        return (int)a;
    }
    return -1;
}

/* text with user's lines replaced by entry (at the first one's place, or appended), or
 * dropped when entry is NULL. Every other byte is kept. */
static char *passwd_text_edit(const char *text, size_t len, const char *user, const char *entry,
                              size_t *out_len)
{
    size_t ulen = strlen(user);
    bool placed = false;
    xbuf b = XBUF_INIT;
    xbuf_reserve(&b, len + (entry ? strlen(entry) + 2 : 0));
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (!passwd_line_is_user(s, n, user, ulen)) {
            xbuf_add(&b, s, n + (nl ? 1 : 0));
            continue;
        }
        if (entry && !placed) {
            xbuf_adds(&b, entry);
            xbuf_addc(&b, '\n');
            placed = true;
        }
    }
    if (entry && !placed) {
        if (b.len && b.data[b.len - 1] != '\n')
            xbuf_addc(&b, '\n');
        xbuf_adds(&b, entry);
        xbuf_addc(&b, '\n');
    }
    xbuf_addc(&b, '\0'); /* so an empty result is still an allocated string */
    char *out = xbuf_steal(&b, out_len);
    (*out_len)--;
    return out;
}

/* Whether text would load (NULL) or the message saying why not (caller frees). */
static char *passwd_text_problem(const char *path, const char *text, size_t len)
{
    if (len > PASSWD_MAX_FILE)
        return xasprintf("password file '%s' would be larger than %d bytes", path, PASSWD_MAX_FILE);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    passwd_table *t = passwd_table_parse(path, copy, len);
    free(copy);
    if (t) {
        passwd_table_free(t);
        return NULL;
    }
    return xstrdup(xend_error_last()->message);
}

/* The directory holding path, opened so that it can be locked later (and a missing one
 * reported before the password is asked for). The descriptor, or -1 (printed). */
static int passwd_dir_open(const char *path)
{
    const char *slash = strrchr(path, '/');
    XEND_AUTOFREE char *dir = !slash          ? xstrdup(".")
                              : slash == path ? xstrdup("/")
                                              : xstrndup(path, (size_t)(slash - path));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        passwd_fail("cannot open directory '%s': %s", dir, strerror(errno));
    return fd;
}

/* Lock the directory against another `xend passwd`: a read-modify-write of the file must
 * not lose a concurrent one's change. Taken only once the password is known, so nobody
 * waits on someone typing. 0, or -1 (printed). */
static int passwd_dir_lock(int fd, const char *path)
{
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        passwd_fail("cannot lock the directory of '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The file's current text ("" when absent; *exists tells). NULL with the error printed. */
static char *passwd_text_read(const char *path, size_t *len, bool *exists, struct stat *sb)
{
    if (stat(path, sb) < 0) {
        if (errno != ENOENT) {
            passwd_fail("cannot stat '%s': %s", path, strerror(errno));
            return NULL;
        }
        *exists = false;
        *len = 0;
        return xstrdup("");
    }
    *exists = true;
    char *text = xend_file_read(path, PASSWD_MAX_FILE, len);
    if (!text)
        passwd_fail_last();
    return text;
}

/* Make F.new ahead of xend_file_write_atomic (which reuses and truncates it) with the old
 * file's owner, so that a daemon running as another user can still read the file after
 * root edited it. Only needed, and only possible, when they differ. */
static void passwd_keep_owner(const char *path, const struct stat *sb)
{
    if (sb->st_uid == geteuid() && sb->st_gid == getegid())
        return;
    XEND_AUTOFREE char *tmp = xasprintf("%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || fchown(fd, sb->st_uid, sb->st_gid) < 0)
        fprintf(stderr,
                "xend passwd: warning: cannot give '%s' its owner back (uid %u gid %u): %s\n", path,
                (unsigned)sb->st_uid, (unsigned)sb->st_gid, strerror(errno));
    if (fd >= 0)
        close(fd);
}

typedef struct {
    const char *file;
    const char *user;
    int access; /* -1: keep / read */
    bool delete;
    bool pam; /* write PASSWD_PAM instead of a hash */
} passwd_opts;

/* 0, or the exit status of a usage error (printed). */
static int passwd_parse_args(int argc, char **argv, passwd_opts *o, bool *help)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"access", required_argument, NULL, 'a'},
        {"delete", no_argument, NULL, 'd'},
        {"pam", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->file = PASSWD_DEFAULT_FILE;
    o->access = -1;
    *help = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:a:dph", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->file = optarg;
            break;
        case 'a': {
            xmlrpc_access a;
            if (passwd_class_parse(optarg, strlen(optarg), &a) < 0) {
                char shown[80];
                passwd_fail("unknown access class '%s' (read, write or admin)",
                            passwd_printable(optarg, strlen(optarg), shown, sizeof(shown)));
                return 2;
            }
            o->access = (int)a;
            break;
        }
        case 'd':
            o->delete = true;
            break;
        case 'p':
            o->pam = true;
            break;
        case 'h':
            *help = true;
            return 0;
        case ':':
            passwd_fail("option '%s' needs a value (see xend passwd --help)", argv[optind - 1]);
            return 2;
        default:
            if (optopt)
                passwd_fail("unknown option '-%c' (see xend passwd --help)", optopt);
            else
                passwd_fail("unknown option '%s' (see xend passwd --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        passwd_fail("which user? (usage: xend passwd [OPTION]... USER)");
        return 2;
    }
    if (optind + 1 < argc) {
        passwd_fail("unexpected argument '%s' (see xend passwd --help)", argv[optind + 1]);
        return 2;
    }
    o->user = argv[optind];
    if (!passwd_name_valid(o->user, strlen(o->user))) {
        char shown[80];
        passwd_fail("invalid user name '%s' (1 to %d of A-Z a-z 0-9 . _ -)",
                    passwd_printable(o->user, strlen(o->user), shown, sizeof(shown)),
                    PASSWD_MAX_NAME);
        return 2;
    }
    if (o->delete &&o->access >= 0) {
        passwd_fail("--access and --delete cannot be used together");
        return 2;
    }
    if (o->delete && o->pam) {
        passwd_fail("--pam and --delete cannot be used together");
        return 2;
    }
    if (!*o->file) {
        passwd_fail("--file needs a file name");
        return 2;
    }
    return 0;
}

/* Write the edited text, refusing to turn a file that loads into one that does not. */
static int passwd_commit(const passwd_opts *o, const char *old, size_t old_len, bool exists,
                         const struct stat *sb, const char *entry)
{
    size_t len;
    XEND_AUTOFREE char *text = passwd_text_edit(old, old_len, o->user, entry, &len);
    XEND_AUTOFREE char *problem = passwd_text_problem(o->file, text, len);
    if (problem) {
        XEND_AUTOFREE char *before = exists ? passwd_text_problem(o->file, old, old_len) : NULL;
        if (!before) {
            passwd_fail("%s; nothing changed", problem);
            return 1;
        }
        /* Already broken before: the edit is still wanted, and the user must hear why the
         * daemon will not take the file. */
        fprintf(stderr, "xend passwd: warning: %s (xend refuses the file until it is fixed)\n",
                problem);
    }
    if (exists)
        passwd_keep_owner(o->file, sb);
    if (xend_file_write_atomic(o->file, text, len, 0600) < 0)
        return passwd_fail_last();
    return 0;
}

int passwd_main(int argc, char **argv)
{
    passwd_opts o;
    bool help;
    int rc = passwd_parse_args(argc, argv, &o, &help);
    if (rc)
        return rc;
    if (help) {
        passwd_usage(stdout);
        return 0;
    }
    int dir = passwd_dir_open(o.file);
    if (dir < 0)
        return 1;
    size_t len = 0;
    bool exists = false;
    struct stat sb;
    char *text = NULL, *hash = NULL, *entry = NULL;
    rc = 1;
    if (o.pam) {
        hash = xstrdup(PASSWD_PAM);
    } else if (!o.delete) {
        char pw[PASSWD_MAX_PASSWORD + 1];
        size_t pw_len = 0;
        if (passwd_read_password(o.user, pw, &pw_len) == 0)
            hash = passwd_hash_new(pw);
        explicit_bzero(pw, sizeof(pw));
        if (!hash)
            goto out;
    }
    if (passwd_dir_lock(dir, o.file) < 0)
        goto out;
    text = passwd_text_read(o.file, &len, &exists, &sb);
    if (!text)
        goto out;
    int current = passwd_text_find(text, len, o.user);
    if (o.delete) {
        if (current < 0) {
            passwd_fail("there is no user '%s' in %s", o.user, o.file);
            goto out;
        }
        rc = passwd_commit(&o, text, len, exists, &sb, NULL);
        if (rc == 0)
            printf("deleted user %s from %s\n", o.user, o.file);
        goto out;
    }
    int access = o.access >= 0 ? o.access : current >= 0 ? current : XMLRPC_ACCESS_READ;
    entry = xasprintf("%s:%s:%s", o.user, passwd_class_names[access], hash);
    rc = passwd_commit(&o, text, len, exists, &sb, entry);
    if (rc == 0)
        printf("%s user %s (access %s%s) in %s\n", current >= 0 ? "updated" : "added", o.user,
               passwd_class_names[access], o.pam ? ", password checked by PAM" : "", o.file);
out:
    free(text);
    free(hash);
    free(entry);
    close(dir); /* releases the lock */
    return rc;
}
