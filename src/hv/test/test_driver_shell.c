/*
 * The simulated guest's shell: what a busybox sh on the serial console does with what
 * domain.console_write types at it. The tty half echoes input as a line-disciplined serial
 * tty does (control characters as ^X, erasures as \erased/ because a console log cannot
 * move a cursor back) and hands complete lines to the shell half, which runs them:
 * `;`-separated commands, VAR=value assignments, $VAR ${VAR} $? expansion and a few
 * builtins whose files (test_driver_shell_fs.c) are derived from the live domain, so what a
 * command prints proves what the API did. Variables and $? belong to the guest: they are
 * saved, migrated and kept in the status file with the rest of its state.
 *
 * Everything is bounded so that no input can loop, allocate without bound or crash: a line
 * is at most TEST_DRV_SHELL_LINE_MAX bytes, variables are capped in number and size, an
 * expanded command in bytes, and one run's output in bytes (what is typed beyond that
 * waits in the typeahead). Only util/ is used: unit-tested and fuzzed alone.
 */
#include "test_driver_priv.h"

#include "util/alloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The bytes one command may expand to (its words together). */
#define SHELL_EXPAND_MAX (16u << 10)
/* Path arguments longer than this cannot name a file of the guest. */
#define SHELL_PATH_MAX 1024

/* ---- variables ---- */

static bool shell_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool shell_name_char(char c)
{
    return shell_name_start(c) || (c >= '0' && c <= '9');
}

/* Length of the name at s (at most n bytes), 0 if none starts there. */
static size_t shell_name_len(const char *s, size_t n)
{
    if (n == 0 || !shell_name_start(s[0]))
        return 0;
    size_t i = 1;
    while (i < n && shell_name_char(s[i]))
        i++;
    return i;
}

static bool shell_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= TEST_DRV_SHELL_NAME_MAX && shell_name_len(name, n) == n;
}

static long shell_var_index(const test_drv_shell *sh, const char *name)
{
    for (size_t i = 0; i < sh->nvars; i++)
        if (strcmp(sh->vars[i].name, name) == 0)
            return (long)i;
    return -1;
}

const test_drv_shell_var *test_drv_shell_var_get(const test_drv_shell *sh, const char *name)
{
    long i = shell_var_index(sh, name);
    return i < 0 ? NULL : &sh->vars[i];
}

int test_drv_shell_var_set(test_drv_shell *sh, const char *name, const char *value, size_t len,
                           bool exported, const char **why)
{
    if (!shell_name_valid(name)) {
        *why = "bad variable name";
        return -1;
    }
    if (len > TEST_DRV_SHELL_VALUE_MAX) {
        *why = "value too long";
        return -1;
    }
    if (memchr(value, '\0', len)) {
        *why = "NUL byte in the value";
        return -1;
    }
    long i = shell_var_index(sh, name);
    size_t old = i < 0 ? 0 : strlen(sh->vars[i].name) + strlen(sh->vars[i].value);
    size_t bytes = sh->var_bytes - old + strlen(name) + len;
    if (bytes > TEST_DRV_SHELL_VARS_BYTES) {
        *why = "out of memory for variables";
        return -1;
    }
    if (i < 0) {
        if (sh->nvars >= TEST_DRV_SHELL_VARS_MAX) {
            *why = "too many variables";
            return -1;
        }
        sh->vars = xrealloc(sh->vars, (sh->nvars + 1) * sizeof(*sh->vars));
        i = (long)sh->nvars++;
        sh->vars[i].name = xstrdup(name);
        sh->vars[i].value = NULL;
        sh->vars[i].exported = false;
    }
    free(sh->vars[i].value);
    sh->vars[i].value = xstrndup(value, len);
    sh->vars[i].exported |= exported;
    sh->var_bytes = bytes;
    return 0;
}

static void shell_var_unset(test_drv_shell *sh, const char *name)
{
    long i = shell_var_index(sh, name);
    if (i < 0)
        return;
    sh->var_bytes -= strlen(sh->vars[i].name) + strlen(sh->vars[i].value);
    free(sh->vars[i].name);
    free(sh->vars[i].value);
    memmove(&sh->vars[i], &sh->vars[i + 1], (sh->nvars - (size_t)i - 1) * sizeof(*sh->vars));
    sh->nvars--;
}

void test_drv_shell_clear(test_drv_shell *sh)
{
    for (size_t i = 0; i < sh->nvars; i++) {
        free(sh->vars[i].name);
        free(sh->vars[i].value);
    }
    free(sh->vars);
    free(sh->line);
    free(sh->typeahead);
    memset(sh, 0, sizeof(*sh));
}

void test_drv_shell_copy(test_drv_shell *dst, const test_drv_shell *src)
{
    memset(dst, 0, sizeof(*dst));
    if (src->nvars) {
        dst->vars = xcalloc(src->nvars, sizeof(*dst->vars));
        for (size_t i = 0; i < src->nvars; i++) {
            dst->vars[i].name = xstrdup(src->vars[i].name);
            dst->vars[i].value = xstrdup(src->vars[i].value);
            dst->vars[i].exported = src->vars[i].exported;
        }
    }
    dst->nvars = src->nvars;
    dst->var_bytes = src->var_bytes;
    dst->status = src->status;
    if (src->line_len) {
        dst->line = xmalloc(TEST_DRV_SHELL_LINE_MAX);
        memcpy(dst->line, src->line, src->line_len);
        dst->line_len = src->line_len;
    }
    if (src->typeahead_len) {
        dst->typeahead = xmalloc(src->typeahead_len);
        memcpy(dst->typeahead, src->typeahead, src->typeahead_len);
        dst->typeahead_len = src->typeahead_len;
    }
}

int test_drv_shell_line_set(test_drv_shell *sh, const char *line, size_t len, const char **why)
{
    /* One byte of the tty's line stays free, as typing leaves it (for the newline). */
    if (len >= TEST_DRV_SHELL_LINE_MAX) {
        *why = "line too long";
        return -1;
    }
    if (len && memchr(line, '\0', len)) {
        *why = "NUL byte in the line";
        return -1;
    }
    if (!sh->line)
        sh->line = xmalloc(TEST_DRV_SHELL_LINE_MAX);
    if (len)
        memcpy(sh->line, line, len);
    sh->line_len = len;
    return 0;
}

int test_drv_shell_typeahead_set(test_drv_shell *sh, const char *data, size_t len, const char **why)
{
    if (len > TEST_DRV_SHELL_TYPEAHEAD_MAX) {
        *why = "typeahead too long";
        return -1;
    }
    if (len && memchr(data, '\0', len)) {
        *why = "NUL byte in the typeahead";
        return -1;
    }
    free(sh->typeahead);
    sh->typeahead = len ? xmalloc(len) : NULL;
    if (len)
        memcpy(sh->typeahead, data, len);
    sh->typeahead_len = len;
    return 0;
}

size_t test_drv_shell_type(test_drv_shell *sh, const char *data, size_t len)
{
    size_t room = TEST_DRV_SHELL_TYPEAHEAD_MAX - sh->typeahead_len;
    /* A NUL (^@) is taken and dropped, as busybox's line editing ignores it: it never
     * reaches a shell line, which C strings could not hold. */
    size_t taken = 0, keep = 0;
    while (taken < len && (data[taken] == '\0' || keep < room))
        keep += data[taken++] != '\0';
    if (keep) {
        sh->typeahead = xrealloc(sh->typeahead, sh->typeahead_len + keep);
        for (size_t i = 0; i < taken; i++)
            if (data[i])
                sh->typeahead[sh->typeahead_len++] = data[i];
    }
    return taken;
}

/* ---- bounded output ---- */

typedef struct {
    xbuf *buf;
    size_t soft; /* past it, no more input is read in this run */
    size_t max;  /* what commands and echo print stops here (prompts still come) */
} shell_out;

static bool out_full(const shell_out *o)
{
    return o->buf->len >= o->max;
}

static void out_add(shell_out *o, const char *s, size_t n)
{
    if (out_full(o))
        return;
    size_t room = o->max - o->buf->len;
    xbuf_add(o->buf, s, n < room ? n : room);
}

static void out_adds(shell_out *o, const char *s)
{
    out_add(o, s, strlen(s));
}

static void out_printf(shell_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(shell_out *o, const char *fmt, ...)
{
    if (out_full(o))
        return;
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(o->buf, fmt, ap);
    va_end(ap);
    if (o->buf->len > o->max) {
        o->buf->len = o->max;
        o->buf->data[o->max] = '\0';
    }
}

/* ---- the default environment (what init gave the shell) ---- */

static const struct {
    const char *name, *value;
} shell_env[] = {
    {"HOME", "/"},    {"LOGNAME", "root"},  {"PATH", "/sbin:/usr/sbin:/bin:/usr/bin"},
    {"PWD", "/"},     {"SHELL", "/bin/sh"}, {"TERM", "vt102"},
    {"USER", "root"},
};

#define SHELL_NENV (sizeof(shell_env) / sizeof(shell_env[0]))

/* A variable's value: the shell's own, else the environment's; NULL when unset. */
static const char *shell_lookup(const test_drv_shell *sh, const test_drv_shell_view *v,
                                const char *name)
{
    const test_drv_shell_var *var = test_drv_shell_var_get(sh, name);
    if (var)
        return var->value;
    if (strcmp(name, "HOSTNAME") == 0)
        return v->hostname;
    for (size_t i = 0; i < SHELL_NENV; i++)
        if (strcmp(name, shell_env[i].name) == 0)
            return shell_env[i].value;
    return NULL;
}

/* ---- syntax check of a whole line (sh parses a line before running any of it) ---- */

typedef enum { SCAN_OK, SCAN_MORE_QUOTE, SCAN_MORE_ESCAPE, SCAN_ERROR } shell_scan_result;

/* ${...} at s[i] == '$', s[i + 1] == '{': the index of its '}', or -1 with the reason. */
static long shell_scan_brace(const char *s, size_t n, size_t i, const char **err)
{
    const char *close = memchr(s + i + 2, '}', n - i - 2);
    if (!close) {
        *err = "unterminated ${name}";
        return -1;
    }
    size_t len = (size_t)(close - (s + i + 2));
    const char *name = s + i + 2;
    bool ok =
        (len == 1 && (name[0] == '?' || name[0] == '#' || (name[0] >= '0' && name[0] <= '9'))) ||
        (len > 0 && shell_name_len(name, len) == len);
    if (!ok) {
        *err = "bad substitution";
        return -1;
    }
    return close - s;
}

static shell_scan_result shell_scan(const char *s, size_t n, char *err, size_t errsz)
{
    bool in_word = false, have_word = false;
    const char *why = NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 == n)
                return SCAN_MORE_ESCAPE;
            i++;
            in_word = have_word = true;
        } else if (c == '\'') {
            const char *q = memchr(s + i + 1, '\'', n - i - 1);
            if (!q)
                return SCAN_MORE_QUOTE;
            i = (size_t)(q - s);
            in_word = have_word = true;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"') {
                if (s[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (s[j] == '`' || (s[j] == '$' && j + 1 < n && s[j + 1] == '(')) {
                    snprintf(err, errsz, "'%s' is not supported by this shell",
                             s[j] == '`' ? "`" : "$(");
                    return SCAN_ERROR;
                }
                if (s[j] == '$' && j + 1 < n && s[j + 1] == '{') {
                    long e = shell_scan_brace(s, n, j, &why);
                    if (e < 0)
                        goto error;
                    j = (size_t)e;
                }
                j++;
            }
            if (j >= n)
                return SCAN_MORE_QUOTE;
            i = j;
            in_word = have_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            in_word = false;
        } else if (c == '#' && !in_word) {
            break; /* a comment to the end of the line */
        } else if (c == ';') {
            if (!have_word) {
                bool twice = (i + 1 < n && s[i + 1] == ';') || (i > 0 && s[i - 1] == ';');
                snprintf(err, errsz, "unexpected \"%s\"", twice ? ";;" : ";");
                return SCAN_ERROR;
            }
            in_word = have_word = false;
        } else if (c && strchr("|&<>()`", c)) {
            snprintf(err, errsz, "'%c' is not supported by this shell", c);
            return SCAN_ERROR;
        } else if (c == '$' && i + 1 < n && s[i + 1] == '(') {
            snprintf(err, errsz, "'$(' is not supported by this shell");
            return SCAN_ERROR;
        } else if (c == '$' && i + 1 < n && s[i + 1] == '{') {
            long e = shell_scan_brace(s, n, i, &why);
            if (e < 0)
                goto error;
            i = (size_t)e;
            in_word = have_word = true;
        } else {
            in_word = have_word = true;
        }
    }
    return SCAN_OK;
error:
    snprintf(err, errsz, "%s", why);
    return SCAN_ERROR;
}

/* ---- one command: words with expansions ---- */

typedef struct {
    char **argv;
    size_t argc;
    size_t nassign; /* argv[0..nassign) are NAME=value assignments */
    size_t bytes;   /* expanded so far, at most SHELL_EXPAND_MAX */
    bool overflow;
    xbuf word;
    bool started; /* the word under construction exists, even if empty ('') */
} shell_cmd;

static void cmd_add(shell_cmd *c, const char *s, size_t n)
{
    if (c->bytes + n > SHELL_EXPAND_MAX) {
        c->overflow = true;
        return;
    }
    c->bytes += n;
    xbuf_add(&c->word, s, n);
    c->started = true;
}

static void cmd_end_word(shell_cmd *c)
{
    if (!c->started)
        return;
    c->argv = xrealloc(c->argv, (c->argc + 2) * sizeof(*c->argv));
    c->argv[c->argc++] = xbuf_steal(&c->word, NULL);
    c->argv[c->argc] = NULL;
    c->started = false;
}

static void cmd_free(shell_cmd *c)
{
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    xbuf_clear(&c->word);
    memset(c, 0, sizeof(*c));
}

/* Add an expansion's text: quoted as it is, unquoted split into words at blanks. */
static void cmd_add_expansion(shell_cmd *c, const char *s, bool quoted)
{
    if (quoted) {
        cmd_add(c, s, strlen(s));
        c->started = true;
        return;
    }
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n')
            cmd_end_word(c);
        else
            cmd_add(c, s, 1);
    }
}

/* $... at s[*i] == '$': expand and advance *i past it. The scan checked ${...}. */
static void cmd_dollar(shell_cmd *c, const test_drv_shell *sh, const test_drv_shell_view *v,
                       const char *s, size_t n, size_t *i, bool quoted)
{
    size_t p = *i + 1;
    char name[TEST_DRV_SHELL_NAME_MAX + 1];
    size_t len = 0;
    if (p < n && s[p] == '{') {
        const char *close = memchr(s + p, '}', n - p);
        len = close ? (size_t)(close - (s + p + 1)) : 0;
        if (len > TEST_DRV_SHELL_NAME_MAX)
            len = 0; /* a name longer than any variable's: unset */
        memcpy(name, s + p + 1, len);
        p = close ? (size_t)(close - s) + 1 : n;
    } else if (p < n && (s[p] == '?' || s[p] == '#' || (s[p] >= '0' && s[p] <= '9'))) {
        name[len++] = s[p++];
    } else {
        len = shell_name_len(s + p, n - p);
        if (len == 0) {
            cmd_add(c, "$", 1); /* a lone '$' is itself */
            *i = p;
            return;
        }
        size_t take = len > TEST_DRV_SHELL_NAME_MAX ? 0 : len;
        memcpy(name, s + p, take);
        p += len;
        len = take;
    }
    name[len] = '\0';
    *i = p;
    char num[16];
    const char *value = NULL;
    if (strcmp(name, "?") == 0) {
        snprintf(num, sizeof(num), "%u", sh->status);
        value = num;
    } else if (strcmp(name, "#") == 0) {
        value = "0";
    } else if (strcmp(name, "0") == 0) {
        value = "sh";
    } else if (len && shell_name_start(name[0])) {
        value = shell_lookup(sh, v, name);
    }
    cmd_add_expansion(c, value ? value : "", quoted);
}

/* NAME= at s (the start of a word in assignment position): the length of "NAME=", or 0. */
static size_t shell_assignment_prefix(const char *s, size_t n)
{
    size_t len = shell_name_len(s, n);
    return len && len < n && s[len] == '=' ? len + 1 : 0;
}

/* Parse and expand the command at s[*pos] up to ';' or the end of the line; *pos is left
 * after the ';'. Returns false at the end of the line (no command). */
static bool shell_parse_command(const test_drv_shell *sh, const test_drv_shell_view *v,
                                const char *s, size_t n, size_t *pos, shell_cmd *c)
{
    size_t i = *pos;
    memset(c, 0, sizeof(*c));
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
        i++;
    if (i >= n || s[i] == '#') {
        *pos = n;
        return false;
    }
    while (i < n && s[i] != ';') {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
            i++;
            continue;
        }
        if (s[i] == '#') { /* at a word's start: a comment */
            i = n;
            break;
        }
        bool assign = false;
        if (c->argc == c->nassign) {
            size_t pre = shell_assignment_prefix(s + i, n - i);
            if (pre) {
                cmd_add(c, s + i, pre);
                i += pre;
                assign = true;
            }
        }
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != ';') {
            char ch = s[i];
            if (ch == '\\') {
                if (i + 1 < n)
                    cmd_add(c, s + i + 1, 1);
                i += 2;
            } else if (ch == '\'') {
                const char *q = memchr(s + i + 1, '\'', n - i - 1);
                size_t end = q ? (size_t)(q - s) : n;
                cmd_add(c, s + i + 1, end - i - 1);
                c->started = true;
                i = end + 1;
            } else if (ch == '"') {
                i++;
                c->started = true;
                while (i < n && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < n && s[i + 1] && strchr("$`\"\\\n", s[i + 1])) {
                        cmd_add(c, s + i + 1, 1);
                        i += 2;
                    } else if (s[i] == '$') {
                        cmd_dollar(c, sh, v, s, n, &i, true);
                    } else {
                        cmd_add(c, s + i, 1);
                        i++;
                    }
                }
                i++;
            } else if (ch == '$') {
                /* An assignment's value is never split into words. */
                cmd_dollar(c, sh, v, s, n, &i, assign);
            } else {
                cmd_add(c, s + i, 1);
                i++;
            }
        }
        cmd_end_word(c);
        if (assign && c->argc && c->argc - 1 == c->nassign)
            c->nassign++;
    }
    *pos = i < n ? i + 1 : n;
    return true;
}

/* ---- builtins ---- */

typedef struct {
    test_drv_shell *sh;
    const test_drv_shell_view *v;
    shell_out *o;
    char **assign; /* prefix assignments (NAME=value), for env */
    size_t nassign;
} shell_ctx;

typedef unsigned (*shell_builtin_fn)(shell_ctx *x, size_t argc, char **argv);

static unsigned bi_echo(shell_ctx *x, size_t argc, char **argv)
{
    size_t i = 1;
    bool newline = true;
    while (i < argc && strcmp(argv[i], "-n") == 0) {
        newline = false;
        i++;
    }
    for (size_t k = i; k < argc; k++) {
        if (k > i)
            out_add(x->o, " ", 1);
        out_adds(x->o, argv[k]);
    }
    if (newline)
        out_add(x->o, "\n", 1);
    return 0;
}

static unsigned bi_true(shell_ctx *x, size_t argc, char **argv)
{
    (void)x;
    (void)argc;
    (void)argv;
    return 0;
}

static unsigned bi_false(shell_ctx *x, size_t argc, char **argv)
{
    (void)x;
    (void)argc;
    (void)argv;
    return 1;
}

/* Resolve a path argument; false (with the tool's message printed) if it cannot be one. */
static bool shell_path(shell_ctx *x, const char *tool, const char *arg, char *out, size_t cap)
{
    if (strlen(arg) < SHELL_PATH_MAX && test_drv_fs_path(arg, out, cap))
        return true;
    out_printf(x->o, "%s: %.64s...: File name too long\n", tool, arg);
    return false;
}

static unsigned bi_cat(shell_ctx *x, size_t argc, char **argv)
{
    unsigned rc = 0;
    for (size_t i = 1; i < argc && !out_full(x->o); i++) {
        char path[SHELL_PATH_MAX];
        if (!shell_path(x, "cat", argv[i], path, sizeof(path))) {
            rc = 1;
            continue;
        }
        switch (test_drv_fs_lookup(x->v, path, NULL)) {
        case TEST_DRV_FS_NONE:
            out_printf(x->o, "cat: can't open '%s': No such file or directory\n", argv[i]);
            rc = 1;
            break;
        case TEST_DRV_FS_DIR:
            out_adds(x->o, "cat: read error: Is a directory\n");
            rc = 1;
            break;
        case TEST_DRV_FS_FILE: {
            xbuf data = XBUF_INIT;
            test_drv_fs_lookup(x->v, path, &data);
            out_add(x->o, data.data ? data.data : "", data.len);
            xbuf_clear(&data);
            break;
        }
        }
    }
    return rc;
}

/* A directory's names ("a\nb\n") on one line, two spaces apart, or one a line. */
static void shell_ls_names(shell_ctx *x, const xbuf *names, bool one_per_line)
{
    if (!names->len)
        return;
    const char *p = names->data, *end = names->data + names->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (p != names->data)
            out_adds(x->o, one_per_line ? "\n" : "  ");
        out_add(x->o, p, len);
        p += len + 1;
    }
    out_add(x->o, "\n", 1);
}

static unsigned bi_ls(shell_ctx *x, size_t argc, char **argv)
{
    bool one = false;
    const char **paths = xcalloc(argc + 1, sizeof(*paths));
    size_t npaths = 0;
    for (size_t i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            one |= strchr(argv[i], '1') != NULL; /* other options change nothing here */
        else
            paths[npaths++] = argv[i];
    }
    if (npaths == 0)
        paths[npaths++] = ".";
    unsigned rc = 0;
    bool first = true;
    for (size_t i = 0; i < npaths && !out_full(x->o); i++) {
        char path[SHELL_PATH_MAX];
        if (!shell_path(x, "ls", paths[i], path, sizeof(path))) {
            rc = 1;
            continue;
        }
        xbuf names = XBUF_INIT;
        switch (test_drv_fs_lookup(x->v, path, &names)) {
        case TEST_DRV_FS_NONE:
            out_printf(x->o, "ls: %s: No such file or directory\n", paths[i]);
            rc = 1;
            break;
        case TEST_DRV_FS_FILE:
            out_printf(x->o, "%s\n", paths[i]);
            break;
        case TEST_DRV_FS_DIR:
            if (npaths > 1)
                out_printf(x->o, "%s%s:\n", first ? "" : "\n", paths[i]);
            shell_ls_names(x, &names, one);
            first = false;
            break;
        }
        xbuf_clear(&names);
    }
    free(paths);
    return rc;
}

static unsigned bi_uptime(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    time_t now = (time_t)x->v->now_s;
    struct tm tm;
    gmtime_r(&now, &tm);
    uint64_t up = x->v->uptime_ns / 1000000000u, mins = up / 60;
    out_printf(x->o, " %02d:%02d:%02d up ", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (mins >= 1440)
        out_printf(x->o, "%" PRIu64 " day%s, ", mins / 1440, mins / 1440 == 1 ? "" : "s");
    if (mins % 1440 >= 60)
        out_printf(x->o, "%2" PRIu64 ":%02" PRIu64 ", ", mins % 1440 / 60, mins % 60);
    else
        out_printf(x->o, "%" PRIu64 " min, ", mins % 60);
    /* Each online vCPU runs 2% of the time (test_driver_domain.c). */
    unsigned load = x->v->vcpus_online * 2;
    out_printf(x->o, " load average: %u.%02u, %u.%02u, %u.%02u\n", load / 100, load % 100,
               load / 100, load % 100, load / 100, load % 100);
    return 0;
}

static unsigned bi_dmesg(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (!x->v->console)
        return 0;
    xbuf log = XBUF_INIT;
    uint64_t next, start;
    xring_read(x->v->console, 0, TEST_DRV_RING_MAX, &log, &next, &start);
    /* The kernel's lines are the timestamped ones; the rest is user space on the tty. */
    const char *p = log.data ? log.data : "", *end = p + log.len;
    while (p < end && !out_full(x->o)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (p[0] == '[' && nl)
            out_add(x->o, p, len);
        p += len;
    }
    xbuf_clear(&log);
    return 0;
}

static unsigned bi_free(shell_ctx *x, size_t argc, char **argv)
{
    unsigned shift = 0; /* -k (the default), -m, -g */
    for (size_t i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-m") == 0)
            shift = 10;
        else if (strcmp(argv[i], "-g") == 0)
            shift = 20;
    }
    uint64_t total = x->v->memory_kib, used, cache;
    test_drv_fs_memory_split(total, &used, &cache);
    uint64_t free_kib = total - used - cache;
    out_printf(x->o, "%19s%12s%12s%12s%12s%12s\n", "total", "used", "free", "shared", "buff/cache",
               "available");
    out_printf(x->o,
               "Mem:   %12" PRIu64 "%12" PRIu64 "%12" PRIu64 "%12u%12" PRIu64 "%12" PRIu64 "\n",
               total >> shift, used >> shift, free_kib >> shift, 0u, cache >> shift,
               (free_kib + cache) >> shift);
    out_printf(x->o, "Swap:  %12u%12u%12u\n", 0u, 0u, 0u);
    return 0;
}

static unsigned bi_hostname(shell_ctx *x, size_t argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        out_adds(x->o, "hostname: sethostname: Operation not permitted\n");
        return 1;
    }
    out_printf(x->o, "%s\n", x->v->hostname ? x->v->hostname : "(none)");
    return 0;
}

/* busybox's sleep: N[.N][smhd]; nothing actually waits (the console must not block). */
static unsigned bi_sleep(shell_ctx *x, size_t argc, char **argv)
{
    if (argc < 2) {
        out_adds(x->o, "sleep: missing operand\n");
        return 1;
    }
    for (size_t i = 1; i < argc; i++) {
        const char *p = argv[i];
        bool digits = false;
        while (*p >= '0' && *p <= '9')
            p++, digits = true;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++)
                digits = true;
        if (*p && strchr("smhd", *p))
            p++;
        if (!digits || *p) {
            out_printf(x->o, "sleep: invalid number '%s'\n", argv[i]);
            return 1;
        }
    }
    return 0;
}

/* The console's shell is respawned by init: exiting it changes nothing. */
static unsigned bi_exit(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    return x->sh->status;
}

/* Single-quoted for sh, as set and export -p print values. */
static void out_quoted(shell_out *o, const char *s)
{
    out_add(o, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            out_adds(o, "'\\''");
        else
            out_add(o, s, 1);
    }
    out_add(o, "'", 1);
}

/* NAME=value or NAME: set (and export) or mark exported. */
static unsigned shell_assign_word(shell_ctx *x, const char *tool, const char *word, bool export)
{
    const char *eq = strchr(word, '=');
    size_t nlen = eq ? (size_t)(eq - word) : strlen(word);
    char name[TEST_DRV_SHELL_NAME_MAX + 1];
    if (nlen == 0 || nlen > TEST_DRV_SHELL_NAME_MAX || shell_name_len(word, nlen) != nlen) {
        out_printf(x->o, "sh: %s%s%.64s: bad variable name\n", tool ? tool : "", tool ? ": " : "",
                   word);
        return 1;
    }
    memcpy(name, word, nlen);
    name[nlen] = '\0';
    if (!eq) {
        test_drv_shell_var *var = (test_drv_shell_var *)test_drv_shell_var_get(x->sh, name);
        if (var)
            var->exported = true;
        return 0;
    }
    const char *why;
    if (test_drv_shell_var_set(x->sh, name, eq + 1, strlen(eq + 1), export, &why) < 0) {
        out_printf(x->o, "sh: %s: %s\n", name, why);
        return 1;
    }
    return 0;
}

static unsigned bi_export(shell_ctx *x, size_t argc, char **argv)
{
    if (argc == 1 || (argc == 2 && strcmp(argv[1], "-p") == 0)) {
        for (size_t i = 0; i < x->sh->nvars; i++) {
            if (!x->sh->vars[i].exported)
                continue;
            out_printf(x->o, "export %s=", x->sh->vars[i].name);
            out_quoted(x->o, x->sh->vars[i].value);
            out_add(x->o, "\n", 1);
        }
        return 0;
    }
    unsigned rc = 0;
    for (size_t i = 1; i < argc; i++)
        rc |= shell_assign_word(x, "export", argv[i], true);
    return rc;
}

static unsigned bi_unset(shell_ctx *x, size_t argc, char **argv)
{
    unsigned rc = 0;
    for (size_t i = 1; i < argc; i++) {
        if (!shell_name_valid(argv[i])) {
            out_printf(x->o, "sh: unset: %.64s: bad variable name\n", argv[i]);
            rc = 1;
            continue;
        }
        shell_var_unset(x->sh, argv[i]);
    }
    return rc;
}

static unsigned bi_env(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < SHELL_NENV; i++)
        if (!test_drv_shell_var_get(x->sh, shell_env[i].name))
            out_printf(x->o, "%s=%s\n", shell_env[i].name, shell_env[i].value);
    for (size_t i = 0; i < x->sh->nvars; i++)
        if (x->sh->vars[i].exported)
            out_printf(x->o, "%s=%s\n", x->sh->vars[i].name, x->sh->vars[i].value);
    for (size_t i = 0; i < x->nassign; i++)
        out_printf(x->o, "%s\n", x->assign[i]);
    return 0;
}

static int shell_var_cmp(const void *a, const void *b)
{
    return strcmp((*(const test_drv_shell_var *const *)a)->name,
                  (*(const test_drv_shell_var *const *)b)->name);
}

/* `set` without arguments: every variable, sorted, quoted for sh. */
static unsigned bi_set(shell_ctx *x, size_t argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return 0; /* options (set -e ...) change nothing in this shell */
    const test_drv_shell_var **all = xcalloc(x->sh->nvars + 1, sizeof(*all));
    for (size_t i = 0; i < x->sh->nvars; i++)
        all[i] = &x->sh->vars[i];
    qsort(all, x->sh->nvars, sizeof(*all), shell_var_cmp);
    for (size_t i = 0; i < x->sh->nvars; i++) {
        out_printf(x->o, "%s=", all[i]->name);
        out_quoted(x->o, all[i]->value);
        out_add(x->o, "\n", 1);
    }
    free(all);
    return 0;
}

static unsigned bi_pwd(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    out_adds(x->o, "/\n");
    return 0;
}

static unsigned bi_whoami(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    out_adds(x->o, "root\n");
    return 0;
}

#define SHELL_KERNEL_RELEASE "6.1.0-xend-sim"
#define SHELL_KERNEL_VERSION "#1 SMP PREEMPT_DYNAMIC"

static unsigned bi_uname(shell_ctx *x, size_t argc, char **argv)
{
    enum { U_S = 1, U_N = 2, U_R = 4, U_V = 8, U_M = 16, U_O = 32 };
    unsigned want = 0;
    for (size_t i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            out_printf(x->o, "uname: extra operand '%s'\n", argv[i]);
            return 1;
        }
        for (const char *p = argv[i] + 1; *p; p++) {
            const char *opts = "snrvmo", *hit = strchr(opts, *p);
            if (*p == 'a')
                want |= U_S | U_N | U_R | U_V | U_M | U_O;
            else if (hit)
                want |= 1u << (hit - opts);
            else {
                out_printf(x->o, "uname: invalid option -- '%c'\n", *p);
                return 1;
            }
        }
    }
    if (!want)
        want = U_S;
    const char *parts[] = {"Linux",
                           x->v->hostname ? x->v->hostname : "(none)",
                           SHELL_KERNEL_RELEASE,
                           SHELL_KERNEL_VERSION,
                           x->v->arch ? x->v->arch : "x86_64",
                           "GNU/Linux"};
    bool first = true;
    for (unsigned k = 0; k < 6; k++) {
        if (!(want & (1u << k)))
            continue;
        out_printf(x->o, "%s%s", first ? "" : " ", parts[k]);
        first = false;
    }
    out_add(x->o, "\n", 1);
    return 0;
}

static unsigned bi_help(shell_ctx *x, size_t argc, char **argv);

static const struct {
    const char *name;
    shell_builtin_fn fn;
} shell_builtins[] = {
    {"cat", bi_cat},     {"dmesg", bi_dmesg},       {"echo", bi_echo},     {"env", bi_env},
    {"exit", bi_exit},   {"export", bi_export},     {"false", bi_false},   {"free", bi_free},
    {"help", bi_help},   {"hostname", bi_hostname}, {"ls", bi_ls},         {"pwd", bi_pwd},
    {"set", bi_set},     {"sleep", bi_sleep},       {"true", bi_true},     {"uname", bi_uname},
    {"unset", bi_unset}, {"uptime", bi_uptime},     {"whoami", bi_whoami},
};

#define SHELL_NBUILTINS (sizeof(shell_builtins) / sizeof(shell_builtins[0]))

static unsigned bi_help(shell_ctx *x, size_t argc, char **argv)
{
    (void)argc;
    (void)argv;
    out_adds(x->o, "Built-in commands:\n------------------\n");
    for (size_t i = 0; i < SHELL_NBUILTINS; i++)
        out_printf(x->o, "%s%s", i ? " " : "\t", shell_builtins[i].name);
    out_add(x->o, "\n", 1);
    return 0;
}

/* The builtin a command word names: "ls", or "/bin/ls" and the like. */
static shell_builtin_fn shell_builtin_find(const char *word)
{
    const char *base = word;
    const char *slash = strrchr(word, '/');
    if (slash) {
        size_t dlen = (size_t)(slash - word);
        static const char *const dirs[] = {"/bin", "/sbin", "/usr/bin", "/usr/sbin"};
        bool ok = false;
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
            ok |= strlen(dirs[i]) == dlen && strncmp(word, dirs[i], dlen) == 0;
        if (!ok)
            return NULL;
        base = slash + 1;
    }
    for (size_t i = 0; i < SHELL_NBUILTINS; i++)
        if (strcmp(base, shell_builtins[i].name) == 0)
            return shell_builtins[i].fn;
    return NULL;
}

/* ---- running a line ---- */

static void shell_run_command(test_drv_shell *sh, const test_drv_shell_view *v, shell_out *o,
                              shell_cmd *c)
{
    if (c->overflow) {
        out_adds(o, "sh: Argument list too long\n");
        sh->status = 1;
        return;
    }
    if (c->argc == c->nassign) {
        /* Assignments only: they set shell variables. */
        shell_ctx x = {sh, v, o, NULL, 0};
        unsigned rc = 0;
        for (size_t i = 0; i < c->argc; i++)
            rc |= shell_assign_word(&x, NULL, c->argv[i], false);
        sh->status = rc;
        return;
    }
    const char *name = c->argv[c->nassign];
    shell_builtin_fn fn = shell_builtin_find(name);
    if (!fn) {
        out_printf(o, "sh: %.256s: not found\n", name);
        sh->status = 127;
        return;
    }
    /* Assignments before a command are its environment only (env shows them). */
    shell_ctx x = {sh, v, o, c->argv, c->nassign};
    sh->status = fn(&x, c->argc - c->nassign, c->argv + c->nassign) & 0xff;
}

static void shell_run_line(test_drv_shell *sh, const test_drv_shell_view *v, shell_out *o,
                           const char *s, size_t n)
{
    size_t pos = 0;
    shell_cmd c;
    while (pos < n && shell_parse_command(sh, v, s, n, &pos, &c)) {
        if (c.argc || c.overflow)
            shell_run_command(sh, v, o, &c);
        cmd_free(&c);
    }
}

/* ---- the tty ---- */

static void tty_end_erase(test_drv_shell *sh, shell_out *o)
{
    if (sh->erasing) {
        out_add(o, "/", 1);
        sh->erasing = false;
    }
}

/* Prompts are never cut off, so a reader can always tell where a command's output ends
 * (one per line read: bounded). */
static void tty_prompt(shell_out *o)
{
    xbuf_adds(o->buf, TEST_DRV_SHELL_PROMPT);
}

/* Where the physical line being edited starts (after the last newline of a continued
 * command): erase and kill stop there. */
static size_t tty_line_start(const test_drv_shell *sh)
{
    size_t i = sh->line_len;
    while (i > 0 && sh->line[i - 1] != '\n')
        i--;
    return i;
}

static void tty_erase(test_drv_shell *sh, shell_out *o)
{
    size_t start = tty_line_start(sh);
    if (sh->line_len == start)
        return;
    /* One character: a UTF-8 lead byte and its continuation bytes. */
    size_t i = sh->line_len - 1;
    while (i > start && ((unsigned char)sh->line[i] & 0xc0) == 0x80)
        i--;
    if (!sh->erasing) {
        out_add(o, "\\", 1);
        sh->erasing = true;
    }
    out_add(o, sh->line + i, sh->line_len - i);
    sh->line_len = i;
}

/* Enter: run the line if it is complete, else continue it (an open quote or a trailing
 * backslash) on the next line as sh does. Returns true if it ran. */
static bool tty_enter(test_drv_shell *sh, const test_drv_shell_view *v, shell_out *o)
{
    out_add(o, "\n", 1);
    char err[96];
    shell_scan_result r = shell_scan(sh->line ? sh->line : "", sh->line_len, err, sizeof(err));
    if (r == SCAN_MORE_ESCAPE && sh->line_len > 0) {
        sh->line_len--; /* backslash-newline joins the lines */
        xbuf_adds(o->buf, "> ");
        return false;
    }
    if (r == SCAN_MORE_QUOTE && sh->line_len + 1 < TEST_DRV_SHELL_LINE_MAX) {
        sh->line[sh->line_len++] = '\n';
        xbuf_adds(o->buf, "> ");
        return false;
    }
    if (r == SCAN_ERROR) {
        out_printf(o, "sh: syntax error: %s\n", err);
        sh->status = 2;
    } else if (r == SCAN_MORE_QUOTE) {
        out_adds(o, "sh: syntax error: unterminated quoted string\n");
        sh->status = 2;
    } else {
        /* Run a copy: nothing a command does can then touch the buffer being run. */
        char *line = xstrndup(sh->line ? sh->line : "", sh->line_len);
        shell_run_line(sh, v, o, line, sh->line_len);
        free(line);
    }
    sh->line_len = 0;
    tty_prompt(o);
    return true;
}

static void tty_add(test_drv_shell *sh, shell_out *o, char c, const char *echo, size_t elen)
{
    /* A full line takes nothing more but the end of line (and erasures). */
    if (sh->line_len + 1 >= TEST_DRV_SHELL_LINE_MAX)
        return;
    if (!sh->line)
        sh->line = xmalloc(TEST_DRV_SHELL_LINE_MAX);
    sh->line[sh->line_len++] = c;
    out_add(o, echo, elen);
}

unsigned test_drv_shell_run(test_drv_shell *sh, const test_drv_shell_view *view, xbuf *out)
{
    shell_out o = {out, out->len + TEST_DRV_SHELL_OUTPUT_MAX / 2,
                   out->len + TEST_DRV_SHELL_OUTPUT_MAX};
    unsigned lines = 0;
    size_t i = 0;
    while (i < sh->typeahead_len && o.buf->len < o.soft) {
        char c = sh->typeahead[i++];
        unsigned char u = (unsigned char)c;
        if (u == 0x7f || u == 0x08) { /* DEL, BS: erase */
            tty_erase(sh, &o);
            continue;
        }
        tty_end_erase(sh, &o);
        switch (u) {
        case '\r': /* ICRNL */
        case '\n':
            lines += tty_enter(sh, view, &o);
            break;
        case 0x03: /* ^C: the line is dropped */
            out_adds(&o, "^C\n");
            sh->line_len = 0;
            sh->status = 130;
            tty_prompt(&o);
            lines++;
            break;
        case 0x15: /* ^U: kill the physical line */
            out_adds(&o, "^U\n");
            sh->line_len = tty_line_start(sh);
            break;
        case 0x04: /* ^D: end of file on an empty line; init respawns the shell */
            break;
        case '\t':
            tty_add(sh, &o, c, "\t", 1);
            break;
        default:
            if (u < 0x20) {
                char echo[2] = {'^', (char)(u + 64)};
                tty_add(sh, &o, c, echo, 2);
            } else {
                tty_add(sh, &o, c, &c, 1);
            }
            break;
        }
    }
    if (i == sh->typeahead_len) {
        free(sh->typeahead);
        sh->typeahead = NULL;
        sh->typeahead_len = 0;
    } else if (i) {
        memmove(sh->typeahead, sh->typeahead + i, sh->typeahead_len - i);
        sh->typeahead_len -= i;
    }
    return lines;
}
