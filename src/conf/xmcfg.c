/*
 * xm domain configuration files (xmdomain.cfg(5)). Xen's xm ran them with execfile(); here
 * they are read as data: a tokenizer for the Python 3 lexical rules that matter (string
 * literals with every escape form and prefix, implicit concatenation, numbers, comments,
 * explicit and implicit line continuation) and a parser that accepts only
 * `NAME = literal` statements, where a literal is a string, number, True/False/None or a
 * list/tuple of literals. Names, calls, operators and every other statement are refused
 * with the line, so a config never runs code and never silently means something else.
 *
 * The variables then become the (vm ...) S-expression create.py would have sent to
 * xend.domain.create, and domain_sxp.c gives that its meaning; xmcfg_format goes the other
 * way through domain_sxp_format. Errors name the file, and the line or the variable.
 */
#include "conf/xmcfg.h"

#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "util/alloc.h"
#include "util/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XMCFG_MAX_DEPTH 32     /* nested brackets */
#define XMCFG_MAX_NODES 100000 /* values in one file */
#define XMCFG_NUMBER_MAX 128   /* characters in one number literal */
#define XMCFG_MAX_VARS 1000    /* distinct variables (a real config has a few dozen) */

#define XMCFG_REFUSAL "not a plain assignment; xm configs are read as data, never executed"

/* ---- tokens ---- */

typedef enum {
    XMCFG_TOK_EOF,
    XMCFG_TOK_NEWLINE, /* end of a logical line */
    XMCFG_TOK_NAME,
    XMCFG_TOK_INT,
    XMCFG_TOK_FLOAT,
    XMCFG_TOK_STRING,
    XMCFG_TOK_OP, /* operators and delimiters, brackets included */
} xmcfg_tok_kind;

typedef struct {
    xmcfg_tok_kind kind;
    unsigned line;
    const char *text; /* NAME and OP: where it is in the source */
    size_t len;
    uint64_t mag; /* INT: magnitude, at most 2^63 so that -2^63 can be written */
    double d;     /* FLOAT */
    xbuf str;     /* STRING: the decoded value */
} xmcfg_token;

typedef struct {
    const char *p, *end, *what;
    unsigned line;
    const char *line_start; /* first byte of the current physical line */
    bool line_has_tokens;   /* the logical line has produced a token */
    bool continued;         /* a backslash joined this physical line to the previous */
    char brackets[XMCFG_MAX_DEPTH];
    unsigned bracket_lines[XMCFG_MAX_DEPTH];
    unsigned depth;
    xmcfg_token tok;
    size_t nodes;
} xmcfg_lexer;

static void xmcfg_error(const xmcfg_lexer *lx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void xmcfg_error(const xmcfg_lexer *lx, unsigned line, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%u: %s", lx->what, line, reason);
}

/* Python 3 keywords, plus Python 2's print and exec, which old configs might use. */
static bool xmcfg_is_keyword(const char *s, size_t n)
{
    static const char *const kw[] = {
        "False",   "None",     "True",     "and",    "as",   "assert", "async",  "await",
        "break",   "class",    "continue", "def",    "del",  "elif",   "else",   "except",
        "finally", "for",      "from",     "global", "if",   "import", "in",     "is",
        "lambda",  "nonlocal", "not",      "or",     "pass", "raise",  "return", "try",
        "while",   "with",     "yield",    "print",  "exec"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
        if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
            return true;
    return false;
}

static bool xmcfg_is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool xmcfg_is_name_char(char c)
{
    return xmcfg_is_name_start(c) || (c >= '0' && c <= '9');
}

static int xmcfg_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

static void xmcfg_utf8_put(xbuf *b, uint32_t cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    xbuf_addc(b, (char)(n == 1 ? cp : (lead[n] | (cp >> (6 * (n - 1))))));
    for (int i = n - 2; i >= 0; i--)
        xbuf_addc(b, (char)(0x80 | ((cp >> (6 * i)) & 0x3f)));
}

/* Well-formed UTF-8: no overlongs, surrogates or values past U+10FFFF. */
static bool xmcfg_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (len == 0 || n - i < len)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Consume a newline (\n, \r\n or \r) at lx->p if there is one. */
static bool xmcfg_eat_newline(xmcfg_lexer *lx)
{
    if (lx->p >= lx->end || (*lx->p != '\n' && *lx->p != '\r'))
        return false;
    if (*lx->p == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n')
        lx->p++;
    lx->p++;
    lx->line++;
    lx->line_start = lx->p;
    return true;
}

/* \x, \u and \U: exactly n hex digits. */
static int xmcfg_lex_hex_escape(xmcfg_lexer *lx, char kind, int n, uint32_t *cp)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        int d = lx->p + i < lx->end ? xmcfg_digit_value(lx->p[i]) : 99;
        if (d >= 16) {
            xmcfg_error(lx, lx->line, "\\%c escape needs %d hex digits", kind, n);
            return -1;
        }
        v = v * 16 + (uint32_t)d;
    }
    lx->p += n;
    *cp = v;
    return 0;
}

/* One backslash escape of a non-raw string; lx->p is just past the backslash. */
static int xmcfg_lex_escape(xmcfg_lexer *lx, xbuf *out)
{
    if (lx->p >= lx->end) {
        xmcfg_error(lx, lx->line, "string is not closed");
        return -1;
    }
    if (xmcfg_eat_newline(lx))
        return 0; /* backslash-newline continues the string */
    char c = *lx->p++;
    static const char simple[] = "\\'\"abfnrtv", value[] = "\\'\"\a\b\f\n\r\t\v";
    const char *hit = c ? strchr(simple, c) : NULL;
    if (hit) {
        xbuf_addc(out, value[hit - simple]);
        return 0;
    }
    uint32_t cp;
    if (c == 'x' || c == 'u' || c == 'U') {
        if (xmcfg_lex_hex_escape(lx, c, c == 'x' ? 2 : c == 'u' ? 4 : 8, &cp) < 0)
            return -1;
    } else if (c >= '0' && c <= '7') {
        cp = (uint32_t)(c - '0');
        for (int i = 0; i < 2 && lx->p < lx->end && *lx->p >= '0' && *lx->p <= '7'; i++)
            cp = cp * 8 + (uint32_t)(*lx->p++ - '0');
    } else if (c == 'N') {
        xmcfg_error(lx, lx->line, "named escapes (\\N{...}) are not supported; use \\u");
        return -1;
    } else {
        /* Python keeps an unrecognised escape as it is written. */
        xbuf_addc(out, '\\');
        xbuf_addc(out, c);
        return 0;
    }
    if (cp == 0) {
        xmcfg_error(lx, lx->line, "NUL character in a string");
        return -1;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        xmcfg_error(lx, lx->line, "escape \\%c gives U+%04" PRIX32 ", which UTF-8 cannot hold", c,
                    cp);
        return -1;
    }
    xmcfg_utf8_put(out, cp);
    return 0;
}

/* A string literal; lx->p is at its opening quote. */
static int xmcfg_lex_string(xmcfg_lexer *lx, bool raw)
{
    char q = *lx->p;
    bool triple = lx->p + 2 < lx->end && lx->p[1] == q && lx->p[2] == q;
    unsigned start_line = lx->line;
    xbuf *out = &lx->tok.str;
    lx->p += triple ? 3 : 1;
    lx->tok.kind = XMCFG_TOK_STRING;
    xbuf_reset(out);
    xbuf_adds(out, "");
    for (;;) {
        if (lx->p >= lx->end) {
            xmcfg_error(lx, start_line, "%sstring is not closed", triple ? "triple-quoted " : "");
            return -1;
        }
        char c = *lx->p;
        if (c == q) {
            if (!triple) {
                lx->p++;
                break;
            }
            if (lx->p + 2 < lx->end && lx->p[1] == q && lx->p[2] == q) {
                lx->p += 3;
                break;
            }
            xbuf_addc(out, c);
            lx->p++;
        } else if (c == '\n' || c == '\r') {
            if (!triple) {
                xmcfg_error(lx, start_line, "string is not closed before the end of the line");
                return -1;
            }
            xmcfg_eat_newline(lx);
            xbuf_addc(out, '\n'); /* Python reads every newline form as \n */
        } else if (c == '\\') {
            lx->p++;
            if (!raw) {
                if (xmcfg_lex_escape(lx, out) < 0)
                    return -1;
                continue;
            }
            /* Raw: the backslash stays, and protects the next character (a quote does not
             * end the string, a newline does not end the line). */
            xbuf_addc(out, '\\');
            if (lx->p < lx->end && (*lx->p == '\n' || *lx->p == '\r')) {
                xmcfg_eat_newline(lx);
                xbuf_addc(out, '\n');
            } else if (lx->p < lx->end) {
                if (*lx->p == '\0') {
                    xmcfg_error(lx, lx->line, "NUL character in a string");
                    return -1;
                }
                xbuf_addc(out, *lx->p++);
            }
        } else if (c == '\0') {
            xmcfg_error(lx, lx->line, "NUL character in a string");
            return -1;
        } else {
            xbuf_addc(out, c);
            lx->p++;
        }
    }
    if (!xmcfg_utf8_valid(out->data, out->len)) {
        xmcfg_error(lx, start_line, "string is not valid UTF-8");
        return -1;
    }
    return 0;
}

/* Digits of one base with single underscores between them (Python 3.6+). Copies the
 * digits to buf; returns how many, or -1 with an error. */
static int xmcfg_lex_digits(xmcfg_lexer *lx, int base, char *buf, size_t *n, bool after_prefix)
{
    int count = 0;
    bool last_underscore = after_prefix; /* 0x_ff is allowed */
    if (after_prefix && lx->p < lx->end && *lx->p == '_') {
        lx->p++;
    } else {
        last_underscore = false;
    }
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '_') {
            if (last_underscore || count == 0)
                break;
            last_underscore = true;
            lx->p++;
            continue;
        }
        if (xmcfg_digit_value(c) >= base || !xmcfg_is_name_char(c))
            break;
        if (*n + 1 >= XMCFG_NUMBER_MAX) {
            xmcfg_error(lx, lx->line, "number literal is longer than %d characters",
                        XMCFG_NUMBER_MAX);
            return -1;
        }
        buf[(*n)++] = c;
        count++;
        last_underscore = false;
        lx->p++;
    }
    if (last_underscore) {
        xmcfg_error(lx, lx->line, "invalid number literal (misplaced '_')");
        return -1;
    }
    return count;
}

static int xmcfg_lex_number(xmcfg_lexer *lx)
{
    const char *start = lx->p;
    char buf[XMCFG_NUMBER_MAX + 8]; /* digits, then '.', 'e', a sign and the NUL */
    size_t n = 0;
    lx->tok.kind = XMCFG_TOK_INT;
    int base = 10;
    if (*lx->p == '0' && lx->p + 1 < lx->end && strchr("xXoObB", lx->p[1]) && lx->p[1]) {
        char b = lx->p[1];
        base = (b == 'x' || b == 'X') ? 16 : (b == 'o' || b == 'O') ? 8 : 2;
        lx->p += 2;
        int d = xmcfg_lex_digits(lx, base, buf, &n, true);
        if (d < 0)
            return -1;
        if (d == 0) {
            xmcfg_error(lx, lx->line, "invalid number literal '%.*s'", (int)(lx->p - start), start);
            return -1;
        }
    } else {
        int d = xmcfg_lex_digits(lx, 10, buf, &n, false);
        if (d < 0)
            return -1;
        bool is_float = false;
        if (lx->p < lx->end && *lx->p == '.') {
            is_float = true;
            buf[n++] = *lx->p++;
            if (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9' &&
                xmcfg_lex_digits(lx, 10, buf, &n, false) < 0)
                return -1;
        }
        if (lx->p < lx->end && (*lx->p == 'e' || *lx->p == 'E')) {
            is_float = true;
            buf[n++] = *lx->p++;
            if (lx->p < lx->end && (*lx->p == '+' || *lx->p == '-'))
                buf[n++] = *lx->p++;
            int e = lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9'
                        ? xmcfg_lex_digits(lx, 10, buf, &n, false)
                        : 0;
            if (e <= 0) {
                if (e == 0)
                    xmcfg_error(lx, lx->line, "invalid number literal (exponent without digits)");
                return -1;
            }
        }
        if (lx->p < lx->end && (*lx->p == 'j' || *lx->p == 'J')) {
            xmcfg_error(lx, lx->line, "complex numbers are not supported");
            return -1;
        }
        buf[n] = '\0';
        size_t zeros = strspn(buf, "0");
        if (is_float) {
            lx->tok.kind = XMCFG_TOK_FLOAT;
            lx->tok.d = strtod(buf, NULL);
            if (!isfinite(lx->tok.d)) {
                xmcfg_error(lx, lx->line, "number literal is out of range");
                return -1;
            }
        } else if (zeros && zeros < n) {
            xmcfg_error(lx, lx->line,
                        "leading zeros are not allowed in '%s' (write 0o%s for octal)", buf,
                        buf + zeros);
            return -1;
        }
    }
    if (lx->p < lx->end && (xmcfg_is_name_char(*lx->p) || *lx->p == '.')) {
        const char *e = lx->p;
        while (e < lx->end && (xmcfg_is_name_char(*e) || *e == '.') && e - start < 40)
            e++;
        xmcfg_error(lx, lx->line, "invalid number literal '%.*s'", (int)(e - start), start);
        return -1;
    }
    if (lx->tok.kind == XMCFG_TOK_INT) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t d = (uint64_t)xmcfg_digit_value(buf[i]);
            if (v > ((UINT64_C(1) << 63) - d) / (uint64_t)base) {
                xmcfg_error(lx, lx->line, "integer literal is too large (64 bits at most)");
                return -1;
            }
            v = v * (uint64_t)base + d;
        }
        lx->tok.mag = v;
    }
    return 0;
}

/* Python's operators, longest first: what is refused is named as the user wrote it. */
static size_t xmcfg_op_len(const char *p, size_t avail)
{
    static const char *const ops[] = {
        "**=", "//=", ">>=", "<<=", "...", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->",
        ":=",  "+=",  "-=",  "*=",  "/=",  "%=", "&=", "|=", "^=", "@=", "+",  "-",  "*",  "/",
        "%",   "&",   "|",   "^",   "~",   "<",  ">",  "=",  "@",  ":",  ".",  ",",  ";"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i]);
        if (n <= avail && memcmp(p, ops[i], n) == 0)
            return n;
    }
    return 0;
}

static int xmcfg_lex_bracket(xmcfg_lexer *lx)
{
    char c = *lx->p;
    lx->tok.kind = XMCFG_TOK_OP;
    lx->tok.text = lx->p;
    lx->tok.len = 1;
    if (c == '(' || c == '[' || c == '{') {
        if (lx->depth >= XMCFG_MAX_DEPTH) {
            xmcfg_error(lx, lx->line, "brackets nested deeper than %d", XMCFG_MAX_DEPTH);
            return -1;
        }
        lx->brackets[lx->depth] = c;
        lx->bracket_lines[lx->depth++] = lx->line;
    } else {
        char open = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (lx->depth == 0) {
            xmcfg_error(lx, lx->line, "unmatched '%c'", c);
            return -1;
        }
        if (lx->brackets[lx->depth - 1] != open) {
            xmcfg_error(lx, lx->line, "'%c' does not match '%c' on line %u", c,
                        lx->brackets[lx->depth - 1], lx->bracket_lines[lx->depth - 1]);
            return -1;
        }
        lx->depth--;
    }
    lx->p++;
    return 0;
}

/* A name, or a string with a prefix (r, u; b and f are refused). */
static int xmcfg_lex_name(xmcfg_lexer *lx)
{
    const char *s = lx->p;
    while (lx->p < lx->end && xmcfg_is_name_char(*lx->p))
        lx->p++;
    size_t n = (size_t)(lx->p - s);
    if (n <= 2 && lx->p < lx->end && (*lx->p == '\'' || *lx->p == '"')) {
        bool raw = false, bytes = false, fmt = false, other = false;
        for (size_t i = 0; i < n; i++) {
            char c = s[i] | 0x20;
            raw |= c == 'r';
            bytes |= c == 'b';
            fmt |= c == 'f';
            other |= c != 'r' && c != 'b' && c != 'f' && c != 'u';
        }
        if (fmt) {
            xmcfg_error(lx, lx->line, "f-strings are expressions: " XMCFG_REFUSAL);
            return -1;
        }
        if (bytes) {
            xmcfg_error(lx, lx->line, "bytes literals (b'...') are not supported; use a string");
            return -1;
        }
        if (!other && n == 1) /* r'' or u''; "ur", "rr" are not Python 3 */
            return xmcfg_lex_string(lx, raw);
    }
    lx->tok.kind = XMCFG_TOK_NAME;
    lx->tok.text = s;
    lx->tok.len = n;
    return 0;
}

/* The next token into lx->tok. */
static int xmcfg_lex(xmcfg_lexer *lx)
{
    for (;;) {
        if (lx->p >= lx->end) {
            if (lx->depth) {
                xmcfg_error(lx, lx->bracket_lines[lx->depth - 1], "'%c' is never closed",
                            lx->brackets[lx->depth - 1]);
                return -1;
            }
            lx->tok.line = lx->line;
            lx->tok.kind = lx->line_has_tokens ? XMCFG_TOK_NEWLINE : XMCFG_TOK_EOF;
            lx->line_has_tokens = false;
            return 0;
        }
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\f') {
            lx->p++;
            continue;
        }
        if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n' && *lx->p != '\r')
                lx->p++;
            continue;
        }
        if (c == '\n' || c == '\r') {
            unsigned line = lx->line;
            xmcfg_eat_newline(lx);
            if (lx->depth == 0 && lx->line_has_tokens) {
                lx->tok.kind = XMCFG_TOK_NEWLINE;
                lx->tok.line = line;
                lx->line_has_tokens = false;
                lx->continued = false;
                return 0;
            }
            continue;
        }
        if (c == '\\') {
            lx->p++;
            if (!xmcfg_eat_newline(lx)) {
                xmcfg_error(lx, lx->line,
                            lx->p >= lx->end ? "file ends after a line-continuation '\\'"
                                             : "unexpected character after a line-continuation "
                                               "'\\'");
                return -1;
            }
            lx->continued = true;
            continue;
        }
        if (!lx->line_has_tokens && lx->depth == 0 && !lx->continued && lx->p != lx->line_start) {
            xmcfg_error(lx, lx->line, "unexpected indentation");
            return -1;
        }
        lx->line_has_tokens = true;
        lx->tok.line = lx->line;
        if (xmcfg_is_name_start(c))
            return xmcfg_lex_name(lx);
        if ((c >= '0' && c <= '9') ||
            (c == '.' && lx->p + 1 < lx->end && lx->p[1] >= '0' && lx->p[1] <= '9'))
            return xmcfg_lex_number(lx);
        if (c == '\'' || c == '"')
            return xmcfg_lex_string(lx, false);
        if (strchr("()[]{}", c) && c)
            return xmcfg_lex_bracket(lx);
        size_t n = xmcfg_op_len(lx->p, (size_t)(lx->end - lx->p));
        if (n) {
            lx->tok.kind = XMCFG_TOK_OP;
            lx->tok.text = lx->p;
            lx->tok.len = n;
            lx->p += n;
            return 0;
        }
        unsigned char u = (unsigned char)c;
        if (u >= 0x80)
            xmcfg_error(lx, lx->line, "non-ASCII character outside a string");
        else if (u < 0x20 || u == 0x7f)
            xmcfg_error(lx, lx->line, "invalid character (code %u)", u);
        else
            xmcfg_error(lx, lx->line, "invalid character '%c'", c);
        return -1;
    }
}

/* ---- parser ---- */

static bool xmcfg_tok_is(const xmcfg_lexer *lx, const char *op)
{
    return lx->tok.kind == XMCFG_TOK_OP && lx->tok.len == strlen(op) &&
           memcmp(lx->tok.text, op, lx->tok.len) == 0;
}

static bool xmcfg_tok_is_name(const xmcfg_lexer *lx, const char *name)
{
    return lx->tok.kind == XMCFG_TOK_NAME && lx->tok.len == strlen(name) &&
           memcmp(lx->tok.text, name, lx->tok.len) == 0;
}

/* Refuse the current token as the expression syntax it is. */
static void xmcfg_refuse_token(xmcfg_lexer *lx, const char *var)
{
    const xmcfg_token *t = &lx->tok;
    int n = t->len > 40 ? 40 : (int)t->len;
    char where[96];
    snprintf(where, sizeof(where), "the value of '%s'", var);
    switch (t->kind) {
    case XMCFG_TOK_OP:
        if (strchr(",;)]}", t->text[0]) && t->len == 1)
            xmcfg_error(lx, t->line, "unexpected '%c' in the value of '%s'", t->text[0], var);
        else if (xmcfg_tok_is(lx, "("))
            xmcfg_error(lx, t->line, "%s has a call '(...)': " XMCFG_REFUSAL, where);
        else if (xmcfg_tok_is(lx, "["))
            xmcfg_error(lx, t->line, "%s has a subscript '[...]': " XMCFG_REFUSAL, where);
        else if (xmcfg_tok_is(lx, "."))
            xmcfg_error(lx, t->line, "%s has an attribute access '.': " XMCFG_REFUSAL, where);
        else if (xmcfg_tok_is(lx, "{"))
            xmcfg_error(lx, t->line,
                        "%s has a dict or set: xm configs hold strings, numbers "
                        "and lists",
                        where);
        else
            xmcfg_error(lx, t->line, "%s uses the operator '%.*s': " XMCFG_REFUSAL, where, n,
                        t->text);
        break;
    case XMCFG_TOK_NAME: {
        if (xmcfg_is_keyword(t->text, t->len)) {
            xmcfg_error(lx, t->line, "%s uses '%.*s': " XMCFG_REFUSAL, where, n, t->text);
            break;
        }
        /* Name what the user wrote: f(x), os.getenv(...), or a variable. */
        char name[48];
        unsigned line = t->line;
        snprintf(name, sizeof(name), "%.*s", n, t->text);
        if (xmcfg_lex(lx) == 0 && xmcfg_tok_is(lx, "("))
            xmcfg_error(lx, line, "%s calls '%s(...)': " XMCFG_REFUSAL, where, name);
        else if (xmcfg_tok_is(lx, "."))
            xmcfg_error(lx, line, "%s uses the attribute '%s.': " XMCFG_REFUSAL, where, name);
        else
            xmcfg_error(lx, line,
                        "%s refers to the name '%s' (only True, False and None may "
                        "appear): " XMCFG_REFUSAL,
                        where, name);
        break;
    }
    case XMCFG_TOK_NEWLINE:
    case XMCFG_TOK_EOF:
        xmcfg_error(lx, t->line, "%s is missing", where);
        break;
    default:
        xmcfg_error(lx, t->line, "%s has two literals without a comma between them", where);
        break;
    }
}

/* After a complete literal only a separator may follow; anything else is an expression. */
static int xmcfg_check_follow(xmcfg_lexer *lx, const char *var)
{
    if (lx->tok.kind == XMCFG_TOK_NEWLINE || lx->tok.kind == XMCFG_TOK_EOF ||
        xmcfg_tok_is(lx, ",") || xmcfg_tok_is(lx, ";") || xmcfg_tok_is(lx, ")") ||
        xmcfg_tok_is(lx, "]"))
        return 0;
    xmcfg_refuse_token(lx, var);
    return -1;
}

static int xmcfg_count_node(xmcfg_lexer *lx)
{
    if (++lx->nodes > XMCFG_MAX_NODES) {
        xmcfg_error(lx, lx->tok.line, "more than %d values", XMCFG_MAX_NODES);
        return -1;
    }
    return 0;
}

static xmlrpc_value *xmcfg_parse_literal(xmcfg_lexer *lx, const char *var);

/* Items up to the closing bracket (the opener is consumed); trailing comma allowed. When
 * paren_group is set, "(x)" without a comma is just x, as in Python. */
static xmlrpc_value *xmcfg_parse_sequence(xmcfg_lexer *lx, const char *var, const char *close,
                                          bool paren_group)
{
    xmlrpc_value *list = xmlrpc_array();
    bool comma = false;
    if (xmcfg_lex(lx) < 0)
        goto fail;
    while (!xmcfg_tok_is(lx, close)) {
        xmlrpc_value *item = xmcfg_parse_literal(lx, var);
        if (!item)
            goto fail;
        xmlrpc_array_append(list, item);
        if (xmcfg_tok_is(lx, ",")) {
            comma = true;
            if (xmcfg_lex(lx) < 0)
                goto fail;
        } else if (!xmcfg_tok_is(lx, close)) {
            xmcfg_refuse_token(lx, var);
            goto fail;
        }
    }
    if (xmcfg_lex(lx) < 0)
        goto fail;
    if (paren_group && !comma && list->u.a.n == 1) {
        xmlrpc_value *only = list->u.a.items[0];
        list->u.a.n = 0;
        xmlrpc_value_free(list);
        return only;
    }
    return list;
fail:
    xmlrpc_value_free(list);
    return NULL;
}

static xmlrpc_value *xmcfg_int_value(uint64_t mag, bool neg)
{
    int64_t v = neg ? (mag == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    if (v >= INT32_MIN && v <= INT32_MAX)
        return xmlrpc_int((int32_t)v);
    return xmlrpc_i8(v);
}

/* One literal, leaving the token after it current and checked. */
static xmlrpc_value *xmcfg_parse_literal(xmcfg_lexer *lx, const char *var)
{
    if (xmcfg_count_node(lx) < 0)
        return NULL;
    xmlrpc_value *v = NULL;
    xmcfg_token *t = &lx->tok;
    if (t->kind == XMCFG_TOK_STRING) {
        /* Adjacent literals concatenate: "a" 'b' is "ab". */
        xbuf all = XBUF_INIT;
        while (t->kind == XMCFG_TOK_STRING) {
            xbuf_add(&all, t->str.data ? t->str.data : "", t->str.len);
            if (all.len > XMCFG_MAX_TEXT || xmcfg_lex(lx) < 0) {
                xbuf_clear(&all);
                return NULL;
            }
        }
        v = xmlrpc_string_n(all.data ? all.data : "", all.len);
        xbuf_clear(&all);
    } else if (t->kind == XMCFG_TOK_INT || t->kind == XMCFG_TOK_FLOAT || xmcfg_tok_is(lx, "-") ||
               xmcfg_tok_is(lx, "+")) {
        /* A sign directly on a number is part of the literal, as ast.literal_eval has it. */
        bool neg = false;
        if (t->kind == XMCFG_TOK_OP) {
            neg = t->text[0] == '-';
            char sign = t->text[0];
            if (xmcfg_lex(lx) < 0)
                return NULL;
            if (t->kind != XMCFG_TOK_INT && t->kind != XMCFG_TOK_FLOAT) {
                xmcfg_error(lx, t->line, "the value of '%s' uses the operator '%c': " XMCFG_REFUSAL,
                            var, sign);
                return NULL;
            }
        }
        if (t->kind == XMCFG_TOK_FLOAT) {
            v = xmlrpc_double(neg ? -t->d : t->d);
        } else {
            if (t->mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
                xmcfg_error(lx, t->line, "integer literal is too large (64 bits at most)");
                return NULL;
            }
            v = xmcfg_int_value(t->mag, neg);
        }
        if (xmcfg_lex(lx) < 0) {
            xmlrpc_value_free(v);
            return NULL;
        }
    } else if (xmcfg_tok_is_name(lx, "True") || xmcfg_tok_is_name(lx, "False") ||
               xmcfg_tok_is_name(lx, "None")) {
        v = t->text[0] == 'N' ? xmlrpc_nil() : xmlrpc_bool(t->text[0] == 'T');
        if (xmcfg_lex(lx) < 0) {
            xmlrpc_value_free(v);
            return NULL;
        }
    } else if (xmcfg_tok_is(lx, "[")) {
        v = xmcfg_parse_sequence(lx, var, "]", false);
    } else if (xmcfg_tok_is(lx, "(")) {
        v = xmcfg_parse_sequence(lx, var, ")", true);
    } else {
        xmcfg_refuse_token(lx, var);
        return NULL;
    }
    if (v && xmcfg_check_follow(lx, var) < 0) {
        xmlrpc_value_free(v);
        return NULL;
    }
    return v;
}

/* The right side of an assignment: a literal, or a bare tuple `1, 2`. */
static xmlrpc_value *xmcfg_parse_rhs(xmcfg_lexer *lx, const char *var)
{
    xmlrpc_value *first = xmcfg_parse_literal(lx, var);
    if (!first || !xmcfg_tok_is(lx, ","))
        return first;
    xmlrpc_value *tuple = xmlrpc_array();
    xmlrpc_array_append(tuple, first);
    for (;;) {
        if (xmcfg_lex(lx) < 0)
            goto fail;
        if (lx->tok.kind == XMCFG_TOK_NEWLINE || lx->tok.kind == XMCFG_TOK_EOF ||
            xmcfg_tok_is(lx, ";"))
            return tuple;
        xmlrpc_value *item = xmcfg_parse_literal(lx, var);
        if (!item)
            goto fail;
        xmlrpc_array_append(tuple, item);
        if (!xmcfg_tok_is(lx, ","))
            return tuple;
    }
fail:
    xmlrpc_value_free(tuple);
    return NULL;
}

/* One statement `NAME = literal`; the current token is its first. */
static int xmcfg_parse_statement(xmcfg_lexer *lx, xmlrpc_value *vars)
{
    xmcfg_token *t = &lx->tok;
    unsigned line = t->line;
    if (t->kind != XMCFG_TOK_NAME) {
        if (t->kind == XMCFG_TOK_OP && t->text[0] == '@')
            xmcfg_error(lx, line, "a decorator is " XMCFG_REFUSAL);
        else if (xmcfg_tok_is(lx, ";"))
            xmcfg_error(lx, line, "empty statement before ';'");
        else
            xmcfg_error(lx, line, "this line does not start with a variable name: " XMCFG_REFUSAL);
        return -1;
    }
    int n = t->len > 40 ? 40 : (int)t->len;
    char name[48];
    snprintf(name, sizeof(name), "%.*s", n, t->text);
    if (t->len > 40) {
        xmcfg_error(lx, line, "variable name '%s...' is too long", name);
        return -1;
    }
    if (xmcfg_is_keyword(t->text, t->len)) {
        if (strcmp(name, "True") == 0 || strcmp(name, "False") == 0 || strcmp(name, "None") == 0)
            xmcfg_error(lx, line, "cannot assign to %s", name);
        else
            xmcfg_error(lx, line, "the '%s' statement is " XMCFG_REFUSAL, name);
        return -1;
    }
    if (xmcfg_lex(lx) < 0)
        return -1;
    if (!xmcfg_tok_is(lx, "=")) {
        if (t->kind == XMCFG_TOK_OP && t->len >= 2 && t->text[t->len - 1] == '=' &&
            !strchr("=<>!", t->text[0]))
            xmcfg_error(lx, line, "'%s %.*s' is an augmented assignment: " XMCFG_REFUSAL, name,
                        (int)t->len, t->text);
        else if (xmcfg_tok_is(lx, "."))
            xmcfg_error(lx, line, "'%s.' is an attribute access: " XMCFG_REFUSAL, name);
        else if (xmcfg_tok_is(lx, "("))
            xmcfg_error(lx, line, "'%s(...)' is a function call: " XMCFG_REFUSAL, name);
        else if (xmcfg_tok_is(lx, "["))
            xmcfg_error(lx, line, "'%s[...]' is a subscript: " XMCFG_REFUSAL, name);
        else
            xmcfg_error(lx, line, "'%s' is not followed by '=': " XMCFG_REFUSAL, name);
        return -1;
    }
    if (xmcfg_lex(lx) < 0)
        return -1;
    xmlrpc_value *v = xmcfg_parse_rhs(lx, name);
    if (!v)
        return -1;
    if (vars->u.st.n >= XMCFG_MAX_VARS && !xmlrpc_struct_get(vars, name)) {
        xmlrpc_value_free(v);
        xmcfg_error(lx, line, "more than %d variables", XMCFG_MAX_VARS);
        return -1;
    }
    xmlrpc_struct_set(vars, name, v);
    return 0;
}

static bool xmcfg_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > 40 || !xmcfg_is_name_start(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!xmcfg_is_name_char(s[i]))
            return false;
    return !xmcfg_is_keyword(s, n);
}

/* Narrow [*b, *e) to exclude spaces and tabs at either end. */
void xmcfg_trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* "VAR=VAL" from the command line: VAL is an int when it is all digits, else a string. */
static int xmcfg_apply_override(xmlrpc_value *vars, const char *ov)
{
    const char *eq = ov ? strchr(ov, '=') : NULL;
    if (!eq) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "override '%.64s' is not VAR=VALUE",
                          ov ? ov : "");
        return -1;
    }
    const char *ks = ov, *ke = eq, *vs = eq + 1, *ve = eq + strlen(eq);
    xmcfg_trim(&ks, &ke);
    xmcfg_trim(&vs, &ve);
    if (!xmcfg_name_valid(ks, (size_t)(ke - ks))) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "override '%.64s': '%.*s' is not a variable name", ov,
                          (int)(ke - ks > 40 ? 40 : ke - ks), ks);
        return -1;
    }
    size_t vlen = (size_t)(ve - vs);
    if (vlen > XMCFG_MAX_TEXT || !xmcfg_utf8_valid(vs, vlen) || memchr(vs, '\0', vlen)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "override '%.*s': the value is not valid text",
                          (int)(ke - ks), ks);
        return -1;
    }
    char key[48];
    snprintf(key, sizeof(key), "%.*s", (int)(ke - ks), ks);
    if (vars->u.st.n >= XMCFG_MAX_VARS && !xmlrpc_struct_get(vars, key)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "override '%s': more than %d variables", key,
                          XMCFG_MAX_VARS);
        return -1;
    }
    bool digits = vlen > 0;
    uint64_t mag = 0;
    for (size_t i = 0; digits && i < vlen; i++) {
        if (vs[i] < '0' || vs[i] > '9')
            digits = false;
        else if (mag > ((uint64_t)INT64_MAX - (uint64_t)(vs[i] - '0')) / 10) {
            xend_error_report(XEND_ERR_CONFIG_INVALID, "override '%s': the number is too large",
                              key);
            return -1;
        } else
            mag = mag * 10 + (uint64_t)(vs[i] - '0');
    }
    xmlrpc_struct_set(vars, key, digits ? xmcfg_int_value(mag, false) : xmlrpc_string_n(vs, vlen));
    return 0;
}

xmlrpc_value *xmcfg_parse_vars(const char *text, size_t len, const char *what,
                               const char *const *overrides, size_t n)
{
    xmcfg_lexer lx = {0};
    lx.what = what ? what : "xm config";
    lx.p = lx.line_start = text ? text : "";
    lx.end = lx.p + (text ? len : 0);
    lx.line = 1;
    if (len > XMCFG_MAX_TEXT) {
        xmcfg_error(&lx, 1, "file is larger than %u bytes", XMCFG_MAX_TEXT);
        return NULL;
    }
    /* A UTF-8 byte order mark is allowed, as Python allows it. */
    if (lx.end - lx.p >= 3 && memcmp(lx.p, "\xef\xbb\xbf", 3) == 0)
        lx.p = lx.line_start = lx.p + 3;
    xmlrpc_value *vars = xmlrpc_struct();
    if (xmcfg_lex(&lx) < 0)
        goto fail;
    while (lx.tok.kind != XMCFG_TOK_EOF) {
        if (xmcfg_parse_statement(&lx, vars) < 0)
            goto fail;
        if (xmcfg_tok_is(&lx, ";")) {
            if (xmcfg_lex(&lx) < 0)
                goto fail;
            if (lx.tok.kind != XMCFG_TOK_NEWLINE && lx.tok.kind != XMCFG_TOK_EOF)
                continue;
        }
        if (lx.tok.kind == XMCFG_TOK_NEWLINE) {
            if (xmcfg_lex(&lx) < 0)
                goto fail;
        } else if (lx.tok.kind != XMCFG_TOK_EOF) {
            xmcfg_error(&lx, lx.tok.line, "unexpected text after the value");
            goto fail;
        }
    }
    xbuf_clear(&lx.tok.str);
    for (size_t i = 0; i < n; i++)
        if (xmcfg_apply_override(vars, overrides[i]) < 0)
            goto fail_vars;
    return vars;
fail:
    xbuf_clear(&lx.tok.str);
fail_vars:
    xmlrpc_value_free(vars);
    return NULL;
}
