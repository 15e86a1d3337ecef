/*
 * S-expressions in Xend's text syntax (xen/xend/sxp.py), read into and written from the
 * xmlrpc_value tree the xend.* compatibility namespace sends on the wire: an ARRAY is a
 * list, a STRING (INT, I8, DOUBLE or BOOL on output) an atom.
 *
 * The parser is stricter than sxp.py where sxp.py was ambiguous or lossy: unknown escapes,
 * a quote glued to a bare atom, control characters outside quotes, NUL and invalid UTF-8
 * are refused rather than guessed at. The pretty form is PrettyPrint.py's algorithm (an
 * Oppen-style printer, 80 columns) so `xm list --long` looks as it did under Xend.
 */
#include "conf/sxp.h"

#include "util/text.h"
#include "util/alloc.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PrettyPrint.prettyprint's default width, which xm used. */
#define SXP_PRETTY_WIDTH 80
#define SXP_PRETTY_INDENT 4

typedef struct {
    const char *p, *end;
    const char *what;
    unsigned line;
    size_t nodes;
} sxp_parser;

static void sxp_parser_error(const sxp_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sxp_parser_error(const sxp_parser *ps, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: line %u: %s", ps->what, ps->line, reason);
}

/* Length of the well-formed UTF-8 sequence at s (no overlongs, surrogates or values past
 * U+10FFFF), or 0. Atoms become XML-RPC strings, which must be UTF-8. */
static size_t sxp_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static bool sxp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = sxp_utf8_len(u + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

static bool sxp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Where a bare atom ends; anything else glued to it would be read differently by sxp.py. */
static bool sxp_is_delim(char c)
{
    return sxp_is_space(c) || c == '(' || c == ')' || c == '#';
}

static void sxp_skip_space(sxp_parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->p++;
        } else if (sxp_is_space(c)) {
            ps->p++;
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else {
            break;
        }
    }
}

static int sxp_count_node(sxp_parser *ps)
{
    if (++ps->nodes > SXP_MAX_NODES) {
        sxp_parser_error(ps, "more than %u atoms and lists", SXP_MAX_NODES);
        return -1;
    }
    return 0;
}

/* One escape after the backslash at ps->p - 1; the byte it stands for goes to out. */
static int sxp_parse_escape(sxp_parser *ps, xbuf *out)
{
    if (ps->p >= ps->end) {
        sxp_parser_error(ps, "unexpected end of text in a quoted atom");
        return -1;
    }
    char c = *ps->p++;
    int byte;
    switch (c) {
    case 'a':
        byte = '\a';
        break;
    case 'b':
        byte = '\b';
        break;
    case 't':
        byte = '\t';
        break;
    case 'n':
        byte = '\n';
        break;
    case 'v':
        byte = '\v';
        break;
    case 'f':
        byte = '\f';
        break;
    case 'r':
        byte = '\r';
        break;
    case '\\':
    case '\'':
    case '"':
        byte = c;
        break;
    case 'x': {
        int hi = ps->p < ps->end ? xend_hex_digit(ps->p[0]) : -1;
        int lo = ps->p + 1 < ps->end ? xend_hex_digit(ps->p[1]) : -1;
        if (hi < 0 || lo < 0) {
            sxp_parser_error(ps, "\\x must be followed by two hex digits");
            return -1;
        }
        ps->p += 2;
        byte = hi * 16 + lo;
        break;
    }
    default:
        if (c >= '0' && c <= '7') {
            byte = c - '0';
            for (int i = 0; i < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; i++)
                byte = byte * 8 + (*ps->p++ - '0');
            if (byte > 0xff) {
                sxp_parser_error(ps, "octal escape out of range (over \\377)");
                return -1;
            }
            break;
        }
        /* sxp.py silently dropped the character after an unknown escape; refuse instead. */
        if (c == '\n')
            ps->line++;
        sxp_parser_error(ps, "unknown escape '\\%c' in a quoted atom",
                         c >= 0x20 && c < 0x7f ? c : '?');
        return -1;
    }
    if (byte == 0) {
        sxp_parser_error(ps, "NUL character in an atom");
        return -1;
    }
    xbuf_addc(out, (char)byte);
    return 0;
}

static xmlrpc_value *sxp_atom_finish(sxp_parser *ps, xbuf *b)
{
    if (b->len && !sxp_utf8_valid(b->data, b->len)) {
        sxp_parser_error(ps, "atom is not valid UTF-8");
        xbuf_clear(b);
        return NULL;
    }
    if (ps->p < ps->end && !sxp_is_delim(*ps->p)) {
        sxp_parser_error(ps, "'%c' directly after an atom (separate atoms with a space)",
                         *ps->p >= 0x20 && *ps->p < 0x7f ? *ps->p : '?');
        xbuf_clear(b);
        return NULL;
    }
    size_t len;
    char *s = xbuf_steal(b, &len);
    return xmlrpc_string_take(s);
}

static xmlrpc_value *sxp_parse_quoted(sxp_parser *ps)
{
    char quote = *ps->p++;
    unsigned start_line = ps->line;
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, ""); /* an empty atom is still a string */
    for (;;) {
        if (ps->p >= ps->end) {
            ps->line = start_line;
            sxp_parser_error(ps, "quoted atom is not closed");
            xbuf_clear(&b);
            return NULL;
        }
        char c = *ps->p++;
        if (c == quote)
            break;
        if (c == '\\') {
            if (sxp_parse_escape(ps, &b) < 0) {
                xbuf_clear(&b);
                return NULL;
            }
            continue;
        }
        if (c == '\0') {
            sxp_parser_error(ps, "NUL character in an atom");
            xbuf_clear(&b);
            return NULL;
        }
        if (c == '\n')
            ps->line++;
        xbuf_addc(&b, c);
    }
    return sxp_atom_finish(ps, &b);
}

static xmlrpc_value *sxp_parse_bare(sxp_parser *ps)
{
    const char *start = ps->p;
    while (ps->p < ps->end && !sxp_is_delim(*ps->p)) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20 || c == 0x7f) {
            sxp_parser_error(ps, "invalid character (code %u) outside quotes", c);
            return NULL;
        }
        if (c == '\'' || c == '"') {
            sxp_parser_error(ps, "quote inside a bare atom (quote the whole atom)");
            return NULL;
        }
        ps->p++;
    }
    xbuf b = XBUF_INIT;
    xbuf_add(&b, start, (size_t)(ps->p - start));
    return sxp_atom_finish(ps, &b);
}

static xmlrpc_value *sxp_parse_value(sxp_parser *ps, unsigned depth)
{
    if (sxp_count_node(ps) < 0)
        return NULL;
    char c = *ps->p;
    if (c == ')') {
        sxp_parser_error(ps, "unexpected ')'");
        return NULL;
    }
    if (c == '\'' || c == '"')
        return sxp_parse_quoted(ps);
    if (c != '(')
        return sxp_parse_bare(ps);

    if (depth >= SXP_MAX_DEPTH) {
        sxp_parser_error(ps, "lists nested deeper than %d", SXP_MAX_DEPTH);
        return NULL;
    }
    unsigned open_line = ps->line;
    ps->p++;
    xmlrpc_value *list = xmlrpc_array();
    for (;;) {
        sxp_skip_space(ps);
        if (ps->p >= ps->end) {
            sxp_parser_error(ps, "unexpected end of text: the list opened on line %u is not closed",
                             open_line);
            xmlrpc_value_free(list);
            return NULL;
        }
        if (*ps->p == ')') {
            ps->p++;
            return list;
        }
        xmlrpc_value *item = sxp_parse_value(ps, depth + 1);
        if (!item) {
            xmlrpc_value_free(list);
            return NULL;
        }
        xmlrpc_array_append(list, item);
    }
}

xmlrpc_value *sxp_parse(const char *text, size_t len, const char *what)
{
    if (!text)
        text = "", len = 0;
    sxp_parser ps = {text, text + len, what ? what : "sxp", 1, 0};
    if (len > SXP_MAX_TEXT) {
        sxp_parser_error(&ps, "text is larger than %u bytes", SXP_MAX_TEXT);
        return NULL;
    }
    sxp_skip_space(&ps);
    if (ps.p >= ps.end) {
        sxp_parser_error(&ps, "no s-expression found");
        return NULL;
    }
    xmlrpc_value *v = sxp_parse_value(&ps, 0);
    if (!v)
        return NULL;
    sxp_skip_space(&ps);
    if (ps.p < ps.end) {
        sxp_parser_error(&ps, "text after the s-expression");
        xmlrpc_value_free(v);
        return NULL;
    }
    return v;
}

/* ---- formatting ---- */

/* sxp.py's atomp(): these atoms are written bare, everything else quoted. The empty atom
 * is quoted too (sxp.py wrote nothing, which does not read back). */
static bool sxp_atom_is_bare(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '~'))
            return false;
    }
    return true;
}

/* Python repr()'s choice: single quotes unless the text has ' and no ". */
static char sxp_atom_quote(const char *s, size_t len)
{
    return memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
}

/* Quoted text of a string atom, appended to out (out NULL: only measured). Bytes of 0x80
 * and up are written raw: the text is UTF-8, and readable beats sxp.py's \xHH. */
static size_t sxp_atom_quoted(const char *s, size_t len, xbuf *out)
{
    char q = sxp_atom_quote(s, len);
    size_t w = 2;
    if (out)
        xbuf_addc(out, q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc = 0;
        if (c == '\\' || c == (unsigned char)q)
            esc = (char)c;
        else if (c == '\n')
            esc = 'n';
        else if (c == '\t')
            esc = 't';
        else if (c == '\r')
            esc = 'r';
        if (esc) {
            w += 2;
            if (out) {
                xbuf_addc(out, '\\');
                xbuf_addc(out, esc);
            }
        } else if (c < 0x20 || c == 0x7f) {
            w += 4;
            if (out)
                xbuf_printf(out, "\\x%02x", c);
        } else {
            w++;
            if (out)
                xbuf_addc(out, (char)c);
        }
    }
    if (out)
        xbuf_addc(out, q);
    return w;
}

/* The shortest %g text that reads back to the same double (what Python's repr does). */
static void sxp_double_text(double d, char buf[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Text of an atom that is not a string (the caller checked the type). */
static void sxp_scalar_text(const xmlrpc_value *v, char buf[32])
{
    switch (v->type) {
    case XMLRPC_INT:
    case XMLRPC_I8:
        snprintf(buf, 32, "%" PRId64, v->u.i);
        break;
    case XMLRPC_DOUBLE:
        sxp_double_text(v->u.d, buf);
        break;
    case XMLRPC_BOOL:
        snprintf(buf, 32, "%d", v->u.b ? 1 : 0);
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

/* Width of an atom as written; appended to out unless out is NULL. */
static size_t sxp_atom_write(const xmlrpc_value *v, xbuf *out)
{
    if (v->type == XMLRPC_STRING) {
        if (sxp_atom_is_bare(v->u.s.ptr, v->u.s.len)) {
            if (out)
                xbuf_add(out, v->u.s.ptr, v->u.s.len);
            return v->u.s.len;
        }
        return sxp_atom_quoted(v->u.s.ptr, v->u.s.len, out);
    }
    char buf[32];
    sxp_scalar_text(v, buf);
    if (out)
        xbuf_adds(out, buf);
    return strlen(buf);
}

/* Everything sxp_format accepts, bounded in depth so the writers below may recurse. */
static int sxp_check_tree(const xmlrpc_value *v, unsigned depth)
{
    switch (v->type) {
    case XMLRPC_STRING:
    case XMLRPC_INT:
    case XMLRPC_I8:
    case XMLRPC_DOUBLE:
    case XMLRPC_BOOL:
        return 0;
    case XMLRPC_ARRAY:
        if (depth >= SXP_MAX_DEPTH) {
            xend_error_report(XEND_ERR_INVALID_ARG, "sxp lists nested deeper than %d",
                              SXP_MAX_DEPTH);
            return -1;
        }
        for (size_t i = 0; i < v->u.a.n; i++)
            if (sxp_check_tree(v->u.a.items[i], depth + 1) < 0)
                return -1;
        return 0;
    default:
        xend_error_report(XEND_ERR_INVALID_ARG, "a %s cannot be written as an sxp atom or list",
                          xmlrpc_type_name(v->type));
        return -1;
    }
}

/* Width of the one-line form. */
static size_t sxp_width(const xmlrpc_value *v)
{
    if (v->type != XMLRPC_ARRAY)
        return sxp_atom_write(v, NULL);
    size_t w = 2;
    for (size_t i = 0; i < v->u.a.n; i++)
        w += (i ? 1 : 0) + sxp_width(v->u.a.items[i]);
    return w;
}

static void sxp_write_compact(const xmlrpc_value *v, xbuf *out)
{
    if (v->type != XMLRPC_ARRAY) {
        sxp_atom_write(v, out);
        return;
    }
    xbuf_addc(out, '(');
    for (size_t i = 0; i < v->u.a.n; i++) {
        if (i)
            xbuf_addc(out, ' ');
        sxp_write_compact(v->u.a.items[i], out);
    }
    xbuf_addc(out, ')');
}

static void sxp_newline(xbuf *out, size_t *col, size_t indent)
{
    xbuf_addc(out, '\n');
    for (size_t i = 0; i < indent; i++)
        xbuf_addc(out, ' ');
    *col = indent;
}

/*
 * PrettyPrint.py's SXPPrettyPrinter, which xm list --long used: a list that fits in what is
 * left of the 80-column line is written on one line; one that does not is "broken", each
 * element on its own line indented 4 past the list's '(' and the ')' on a line of its own
 * under it. (In PrettyPrint.py an unbroken list never needs a line break inside, so that
 * is the whole rule.) One change for readability: a list of atoms only is never broken,
 * where PrettyPrint.py would put each atom of a long one on its own line.
 */
static void sxp_write_pretty(const xmlrpc_value *v, xbuf *out, size_t *col)
{
    if (v->type != XMLRPC_ARRAY) {
        *col += sxp_atom_write(v, out);
        return;
    }
    bool has_list = false;
    for (size_t i = 0; i < v->u.a.n; i++)
        has_list = has_list || v->u.a.items[i]->type == XMLRPC_ARRAY;
    size_t start = *col;
    bool broken = has_list && start + sxp_width(v) > SXP_PRETTY_WIDTH;
    xbuf_addc(out, '(');
    (*col)++;
    for (size_t i = 0; i < v->u.a.n; i++) {
        if (i && broken) {
            sxp_newline(out, col, start + SXP_PRETTY_INDENT);
        } else if (i) {
            xbuf_addc(out, ' ');
            (*col)++;
        }
        sxp_write_pretty(v->u.a.items[i], out, col);
    }
    if (broken)
        sxp_newline(out, col, start);
    xbuf_addc(out, ')');
    (*col)++;
}

int sxp_format(const xmlrpc_value *v, xbuf *out, bool pretty)
{
    if (!v) {
        xend_error_report(XEND_ERR_INVALID_ARG, "no sxp value to format");
        return -1;
    }
    if (sxp_check_tree(v, 0) < 0)
        return -1;
    if (pretty) {
        size_t col = 0;
        sxp_write_pretty(v, out, &col);
        xbuf_addc(out, '\n');
    } else {
        sxp_write_compact(v, out);
    }
    return 0;
}

/* ---- the value form ---- */

const char *sxp_name(const xmlrpc_value *list)
{
    if (!list || list->type != XMLRPC_ARRAY || list->u.a.n == 0)
        return NULL;
    const xmlrpc_value *first = list->u.a.items[0];
    return first->type == XMLRPC_STRING ? first->u.s.ptr : NULL;
}

const xmlrpc_value *sxp_child(const xmlrpc_value *list, const char *key)
{
    if (!list || list->type != XMLRPC_ARRAY || !key)
        return NULL;
    for (size_t i = 1; i < list->u.a.n; i++) {
        const char *name = sxp_name(list->u.a.items[i]);
        if (name && strcmp(name, key) == 0)
            return list->u.a.items[i];
    }
    return NULL;
}

const char *sxp_child_value(const xmlrpc_value *list, const char *key, char buf[32])
{
    const xmlrpc_value *child = sxp_child(list, key);
    if (!child || child->u.a.n < 2)
        return NULL;
    const xmlrpc_value *v = child->u.a.items[1];
    switch (v->type) {
    case XMLRPC_STRING:
        return v->u.s.ptr;
    case XMLRPC_INT:
    case XMLRPC_I8:
    case XMLRPC_DOUBLE:
    case XMLRPC_BOOL:
        sxp_scalar_text(v, buf);
        return buf;
    default:
        return NULL;
    }
}

xmlrpc_value *sxp_list(const char *name)
{
    xmlrpc_value *list = xmlrpc_array();
    xmlrpc_array_append(list, xmlrpc_string(name));
    return list;
}

void sxp_add(xmlrpc_value *list, const char *key, const char *value)
{
    xmlrpc_value *pair = sxp_list(key);
    xmlrpc_array_append(pair, xmlrpc_string(value));
    xmlrpc_array_append(list, pair);
}

void sxp_addf(xmlrpc_value *list, const char *key, const char *fmt, ...)
{
    xbuf b = XBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    xmlrpc_value *pair = sxp_list(key);
    xmlrpc_array_append(pair, xmlrpc_string_take(xbuf_steal(&b, NULL)));
    xmlrpc_array_append(list, pair);
}
