/*
 * domain.convert: a domain configuration from one of xend's three formats to another —
 * libvirt-style domain XML, Xend's (vm ...) S-expression and xm's python-syntax config
 * file — so that a client that cannot link conf/ (xm) can turn a user's config file into
 * the domain XML domain.create and domain.define take, and show any domain in the form its
 * user knows. Parsing and formatting are conf/'s; this file picks the format, applies the
 * caller's default name and `xm create FILE VAR=VAL` overrides, reports what the target
 * format cannot express, and makes every refusal name its line.
 *
 * The parsers name the line of every syntax error, but the meaning of an sxp or xm config
 * is checked on the parsed values, which have no lines. For those errors the element or
 * variable at fault is found by parsing growing prefixes of the config (in file order)
 * until the same error appears, and its line is found by a small scanner of the text; a
 * config of more than CONVERT_LOCATE_MAX elements is not searched (the message still names
 * the key).
 */
#include "api_priv.h"

#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "conf/xmcfg.h"
#include "util/alloc.h"
#include "util/error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cap domain.define applies to domain XML (domain_xml.c), for every format. */
#define CONVERT_MAX_TEXT (512u << 10)
/* `xm create FILE VAR=VAL ...`: more overrides than any command line holds. */
#define CONVERT_MAX_VARS 256
/* Elements or variables searched for the one at fault (a real config has a few dozen). */
#define CONVERT_LOCATE_MAX 256
/* Statements of an xm config scanned for their lines (repeated assignments included). */
#define CONVERT_XM_STATEMENTS_MAX (CONVERT_LOCATE_MAX * 4)
/* Name length of an xm variable (xmcfg.c refuses longer ones). */
#define CONVERT_XM_NAME_MAX 40
/* Placeholder name for probes, when the config's own name is the one at fault. */
#define CONVERT_PROBE_NAME "xend-convert-probe"

typedef enum { CONVERT_XML, CONVERT_SXP, CONVERT_XM, CONVERT_LAST } convert_format;

static const char *const convert_names[CONVERT_LAST] = {"xml", "sxp", "xm"};
/* How messages name the config, as the parsers are told. */
static const char *const convert_what[CONVERT_LAST] = {"domain XML", "sxp config", "xm config"};

typedef struct {
    convert_format from; /* CONVERT_LAST: detect */
    convert_format to;
    const char *name;  /* default domain name, or NULL */
    const char **vars; /* xm overrides "VAR=VAL" (borrowed) */
    size_t nvars;
} convert_opts;

static int convert_format_parse(const char *s, bool allow_auto, convert_format *out)
{
    if (allow_auto && strcmp(s, "auto") == 0) {
        *out = CONVERT_LAST;
        return 0;
    }
    for (int f = 0; f < CONVERT_LAST; f++) {
        if (strcmp(s, convert_names[f]) == 0) {
            *out = (convert_format)f;
            return 0;
        }
    }
    xend_error_report(XEND_ERR_INVALID_ARG,
                      "unknown config format '%.32s' (expected %sxml, sxp or xm)", s,
                      allow_auto ? "auto, " : "");
    return -1;
}

/* The options struct: from, vars, name. Unknown members are refused so typos are loud. */
static int convert_opts_parse(const xmlrpc_value *o, convert_opts *opts)
{
    if (!o)
        return 0;
    for (size_t i = 0; i < o->u.st.n; i++) {
        const char *key = o->u.st.m[i].name;
        const xmlrpc_value *v = o->u.st.m[i].value;
        if (strcmp(key, "from") == 0) {
            if (v->type != XMLRPC_STRING) {
                xend_error_report(XEND_ERR_INVALID_ARG, "option 'from' must be a string");
                return -1;
            }
            if (convert_format_parse(v->u.s.ptr, true, &opts->from) < 0)
                return -1;
        } else if (strcmp(key, "name") == 0) {
            if (v->type != XMLRPC_STRING) {
                xend_error_report(XEND_ERR_INVALID_ARG, "option 'name' must be a string");
                return -1;
            }
            if (domain_name_check(v->u.s.ptr) < 0)
                return -1;
            opts->name = v->u.s.ptr;
        } else if (strcmp(key, "vars") == 0) {
            if (v->type != XMLRPC_ARRAY) {
                xend_error_report(XEND_ERR_INVALID_ARG,
                                  "option 'vars' must be an array of \"VAR=VALUE\" strings");
                return -1;
            }
            if (v->u.a.n > CONVERT_MAX_VARS) {
                xend_error_report(XEND_ERR_LIMIT, "option 'vars' holds %zu entries, at most %d",
                                  v->u.a.n, CONVERT_MAX_VARS);
                return -1;
            }
            free(opts->vars);
            opts->vars = xcalloc(v->u.a.n + 1, sizeof(*opts->vars));
            opts->nvars = 0;
            for (size_t k = 0; k < v->u.a.n; k++) {
                const xmlrpc_value *e = v->u.a.items[k];
                if (e->type != XMLRPC_STRING || !strchr(e->u.s.ptr, '=')) {
                    xend_error_report(XEND_ERR_INVALID_ARG,
                                      "option 'vars' entry %zu must be a \"VAR=VALUE\" string",
                                      k + 1);
                    return -1;
                }
                opts->vars[opts->nvars++] = e->u.s.ptr;
            }
        } else {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "unknown option '%.64s' (known: from, vars, name)", key);
            return -1;
        }
    }
    return 0;
}

/* auto: the first character that is not blank and not in a '#' comment line (sxp and xm
 * configs both have those): '<' is domain XML, '(' an sxp, anything else an xm config. */
static convert_format convert_detect(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n) {
        char c = s[i];
        if (c == '#') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            i++;
        } else {
            return c == '<' ? CONVERT_XML : c == '(' ? CONVERT_SXP : CONVERT_XM;
        }
    }
    return CONVERT_XM;
}

/* ---- naming the line of an error ---- */

/* Whether a message already names a line: "... line 12 ..." or "WHAT:12: ...". */
static bool convert_msg_has_line(const char *msg, const char *what)
{
    for (const char *p = strstr(msg, "line "); p; p = strstr(p + 1, "line "))
        if (p[5] >= '0' && p[5] <= '9')
            return true;
    size_t wl = strlen(what);
    return strncmp(msg, what, wl) == 0 && msg[wl] == ':' && msg[wl + 1] >= '0' &&
           msg[wl + 1] <= '9';
}

/* Re-report the last error with its place: "WHAT: line L: message" (or "WHAT: where:
 * message" when where is given), dropping a "WHAT: " the message already starts with. */
static void convert_relocate(const char *what, unsigned line, const char *where)
{
    const xend_error *e = xend_error_last();
    int code = e->code ? e->code : XEND_ERR_CONFIG_INVALID;
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    const char *rest = msg;
    size_t wl = strlen(what);
    if (strncmp(rest, what, wl) == 0 && rest[wl] == ':' && rest[wl + 1] == ' ')
        rest += wl + 2;
    if (where)
        xend_error_report(code, "%s: %s: %s", what, where, rest);
    else
        xend_error_report(code, "%s: line %u: %s", what, line, rest);
}

/* -- sxp: the line of each element of the outermost list -- */

static size_t sxp_scan_space(const char *s, size_t n, size_t i, unsigned *line)
{
    while (i < n) {
        if (s[i] == '\n')
            (*line)++;
        else if (s[i] == '#') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        } else if (!strchr(" \t\r\v\f", s[i]))
            break;
        i++;
    }
    return i;
}

/* Skip one value (atom or list) at s[i]; returns the index after it. */
static size_t sxp_scan_value(const char *s, size_t n, size_t i, unsigned *line)
{
    int depth = 0;
    do {
        if (i >= n)
            return n;
        char c = s[i];
        if (c == '\'' || c == '"') {
            for (i++; i < n && s[i] != c; i++) {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                if (s[i] == '\n')
                    (*line)++;
            }
            i++;
        } else if (c == '(') {
            depth++;
            i++;
        } else if (c == ')') {
            depth--;
            i++;
        } else if (c == '\n' || c == '#' || strchr(" \t\r\v\f", c)) {
            i = sxp_scan_space(s, n, i, line);
        } else {
            while (i < n && !strchr(" \t\r\v\f\n()#", s[i]))
                i++;
        }
    } while (depth > 0);
    return i;
}

/* lines[k] = line of element k of the outermost list (k = 0 is its head); returns the
 * count, 0 if more than max. */
static size_t sxp_scan_lines(const char *s, size_t n, unsigned *lines, size_t max)
{
    unsigned line = 1;
    size_t i = sxp_scan_space(s, n, 0, &line);
    if (i >= n || s[i] != '(')
        return 0;
    i++;
    size_t k = 0;
    for (;;) {
        i = sxp_scan_space(s, n, i, &line);
        if (i >= n || s[i] == ')')
            return k;
        if (k >= max)
            return 0;
        lines[k++] = line;
        i = sxp_scan_value(s, n, i, &line);
    }
}

/* The element of config (a (vm ...) list) whose arrival makes domain_sxp_parse fail with
 * the error it just gave: its index, or -1. (name ...) elements are always kept so the
 * probes fail for what they add, not for a missing name. */
static long sxp_culprit(const xmlrpc_value *config)
{
    const xend_error *e = xend_error_last();
    int code = e->code;
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    size_t n = config->u.a.n;
    if (n < 2 || n > CONVERT_LOCATE_MAX)
        return -1;
    if (code == XEND_ERR_INVALID_NAME) {
        for (size_t i = n; i-- > 1;)
            if (sxp_name(config->u.a.items[i]) &&
                strcmp(sxp_name(config->u.a.items[i]), "name") == 0)
                return (long)i;
        return -1;
    }
    long found = -1;
    xmlrpc_value *probe = xmlrpc_array();
    probe->u.a.items = xcalloc(n, sizeof(*probe->u.a.items));
    probe->u.a.cap = n;
    for (size_t k = 1; k < n && found < 0; k++) {
        /* Borrowed items: the probe's count is reset before it is freed. */
        probe->u.a.n = 0;
        probe->u.a.items[probe->u.a.n++] = config->u.a.items[0];
        for (size_t i = 1; i < n; i++) {
            const char *key = sxp_name(config->u.a.items[i]);
            if (i <= k || (key && strcmp(key, "name") == 0))
                probe->u.a.items[probe->u.a.n++] = config->u.a.items[i];
        }
        domain_def *def = domain_sxp_parse(probe);
        if (!def && xend_error_last()->code == code && strcmp(xend_error_last()->message, msg) == 0)
            found = (long)k;
        domain_def_free(def);
    }
    probe->u.a.n = 0;
    xmlrpc_value_free(probe);
    xend_error_report(code, "%s", msg);
    return found;
}

/* -- xm: the line of each assignment -- */

typedef struct {
    char name[CONVERT_XM_NAME_MAX + 1];
    unsigned line;
} xm_assign;

static bool xm_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool xm_name_char(char c)
{
    return xm_name_start(c) || (c >= '0' && c <= '9');
}

/* A Python string literal at s[i] (the opening quote): the index after it. */
static size_t xm_scan_string(const char *s, size_t n, size_t i, unsigned *line)
{
    char q = s[i];
    bool triple = i + 2 < n && s[i + 1] == q && s[i + 2] == q;
    i += triple ? 3 : 1;
    while (i < n) {
        if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == '\n')
                (*line)++;
            i += 2;
            continue;
        }
        if (s[i] == '\n') {
            (*line)++;
            if (!triple)
                return i; /* unterminated: the parser already refused it */
        }
        if (s[i] == q && (!triple || (i + 2 < n && s[i + 1] == q && s[i + 2] == q)))
            return i + (triple ? 3 : 1);
        i++;
    }
    return n;
}

/* The statements of an xm config: where each assignment starts (at the start of a logical
 * line, or after ';' outside brackets), as xmcfg.c reads them. Returns the count, or 0
 * when there are more than max (the last assignment of a name could not be told). */
static size_t xm_scan_assigns(const char *s, size_t n, xm_assign *out, size_t max)
{
    size_t count = 0, i = 0;
    unsigned line = 1;
    int depth = 0;
    bool start = true;
    while (i < n) {
        char c = s[i];
        if (c == '\n') {
            line++;
            i++;
            if (depth == 0)
                start = true;
        } else if (c == '\\' && i + 1 < n && s[i + 1] == '\n') {
            line++;
            i += 2;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            i++;
        } else if (c == '#') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (c == '\'' || c == '"') {
            i = xm_scan_string(s, n, i, &line);
            start = false;
        } else if (xm_name_start(c)) {
            size_t b = i;
            while (i < n && xm_name_char(s[i]))
                i++;
            if (i < n && (s[i] == '\'' || s[i] == '"') && i - b <= 2) {
                i = xm_scan_string(s, n, i, &line); /* r'..', b"..", u'..' */
            } else if (start && depth == 0 && i - b <= CONVERT_XM_NAME_MAX) {
                if (count >= max)
                    return 0;
                memcpy(out[count].name, s + b, i - b);
                out[count].name[i - b] = '\0';
                out[count].line = line;
                count++;
            }
            start = false;
        } else {
            if (c == ';' && depth == 0)
                start = true;
            else if (strchr("([{", c))
                depth++;
            else if (strchr(")]}", c) && depth > 0)
                depth--;
            if (c != ';')
                start = false;
            i++;
        }
    }
    return count;
}

/* The line of the last assignment of name, 0 if none. */
static unsigned xm_assign_line(const xm_assign *a, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(a[i].name, name) == 0)
            return a[i].line;
    return 0;
}

/* Whether an override sets name ("name=value", blanks around name allowed). */
static const char *xm_override_of(const convert_opts *opts, const char *name)
{
    const char *hit = NULL;
    for (size_t i = 0; i < opts->nvars; i++) {
        const char *p = opts->vars[i];
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strlen(name);
        if (strncmp(p, name, len) != 0)
            continue;
        const char *q = p + len;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=')
            hit = opts->vars[i];
    }
    return hit;
}

typedef struct {
    size_t member; /* index into vars */
    unsigned line; /* UINT_MAX for overrides: they come last */
} xm_order;

static int xm_order_cmp(const void *a, const void *b)
{
    const xm_order *x = a, *y = b;
    return x->line < y->line   ? -1
           : x->line > y->line ? 1
                               : (x->member > y->member) - (x->member < y->member);
}

/* After xmcfg_to_def failed on vars: re-report the error naming the assignment (or
 * override) at fault, found by probing growing prefixes in file order. */
static void xm_locate(const char *text, size_t len, const xmlrpc_value *vars,
                      const convert_opts *opts)
{
    const char *what = convert_what[CONVERT_XM];
    const xend_error *e = xend_error_last();
    int code = e->code;
    char msg[sizeof(e->message)];
    snprintf(msg, sizeof(msg), "%s", e->message);
    size_t n = vars->u.st.n;
    if (convert_msg_has_line(msg, what) || n == 0 || n > CONVERT_LOCATE_MAX)
        return;
    xm_assign *assigns = xcalloc(CONVERT_XM_STATEMENTS_MAX, sizeof(*assigns));
    size_t nassigns = xm_scan_assigns(text, len, assigns, CONVERT_XM_STATEMENTS_MAX);
    xm_order *order = xcalloc(n, sizeof(*order));
    long name_member = -1;
    for (size_t i = 0; i < n; i++) {
        const char *var = vars->u.st.m[i].name;
        order[i].member = i;
        order[i].line =
            xm_override_of(opts, var) ? UINT_MAX : xm_assign_line(assigns, nassigns, var);
        if (strcmp(var, "name") == 0)
            name_member = (long)i;
    }
    qsort(order, n, sizeof(*order), xm_order_cmp);

    long culprit = -1;
    if (code == XEND_ERR_INVALID_NAME) {
        culprit = name_member;
    } else {
        /* Borrowed values: detached before the probe is freed. The name is in every probe,
         * so each fails for what it adds rather than for having no name. */
        for (size_t k = 0; k < n && culprit < 0; k++) {
            xmlrpc_value *probe = xmlrpc_struct();
            for (size_t i = 0; i < n; i++)
                if (i <= k || (long)order[i].member == name_member)
                    xmlrpc_struct_set(probe, vars->u.st.m[order[i].member].name,
                                      vars->u.st.m[order[i].member].value);
            domain_def *def = xmcfg_to_def(probe, what, NULL);
            if (!def && xend_error_last()->code == code &&
                strcmp(xend_error_last()->message, msg) == 0)
                culprit = (long)order[k].member;
            domain_def_free(def);
            for (size_t i = 0; i < probe->u.st.n; i++)
                probe->u.st.m[i].value = NULL;
            xmlrpc_value_free(probe);
        }
    }
    xend_error_report(code, "%s", msg);
    if (culprit >= 0) {
        const char *var = vars->u.st.m[culprit].name;
        const char *ov = xm_override_of(opts, var);
        unsigned line = xm_assign_line(assigns, nassigns, var);
        if (ov) {
            char where[96];
            snprintf(where, sizeof(where), "override '%.64s'", ov);
            convert_relocate(what, 0, where);
        } else if (line) {
            convert_relocate(what, line, NULL);
        }
    }
    free(order);
    free(assigns);
}

/* Warnings that name an xm variable ("xm config: 'foo' is not an option ...") get its
 * line too. */
static void xm_warnings_lines(const char *text, size_t len, domain_warnings *w)
{
    const char *what = convert_what[CONVERT_XM];
    size_t wl = strlen(what);
    xm_assign *assigns = NULL;
    size_t nassigns = 0;
    for (size_t i = 0; i < w->n; i++) {
        const char *s = w->items[i];
        if (strncmp(s, what, wl) != 0 || strncmp(s + wl, ": '", 3) != 0)
            continue;
        const char *q = strchr(s + wl + 3, '\'');
        if (!q || (size_t)(q - (s + wl + 3)) > CONVERT_XM_NAME_MAX)
            continue;
        if (!assigns) {
            assigns = xcalloc(CONVERT_XM_STATEMENTS_MAX, sizeof(*assigns));
            nassigns = xm_scan_assigns(text, len, assigns, CONVERT_XM_STATEMENTS_MAX);
        }
        char name[CONVERT_XM_NAME_MAX + 1];
        memcpy(name, s + wl + 3, (size_t)(q - (s + wl + 3)));
        name[q - (s + wl + 3)] = '\0';
        unsigned line = xm_assign_line(assigns, nassigns, name);
        if (!line)
            continue;
        char *with = xasprintf("%s: line %u: %s", what, line, s + wl + 2);
        free(w->items[i]);
        w->items[i] = with;
    }
    free(assigns);
}

/* ---- parsing ---- */

static domain_def *convert_parse_xml(const char *text, size_t len, const convert_opts *opts,
                                     domain_warnings *w)
{
    xml_node *root = xml_parse(text, len, convert_what[CONVERT_XML]);
    if (!root)
        return NULL;
    if (opts->name && strcmp(root->name, "domain") == 0 && !xml_node_child(root, "name")) {
        xml_node *n = xml_node_new_child(root, "name", opts->name);
        n->line = root->line;
    }
    domain_def *def = domain_xml_parse_node(root, w);
    if (!def && !convert_msg_has_line(xend_error_last()->message, convert_what[CONVERT_XML]))
        convert_relocate(convert_what[CONVERT_XML], root->line, NULL);
    xml_node_free(root);
    return def;
}

static domain_def *convert_parse_sxp(const char *text, size_t len, const convert_opts *opts)
{
    const char *what = convert_what[CONVERT_SXP];
    xmlrpc_value *config = sxp_parse(text, len, what);
    if (!config)
        return NULL;
    if (opts->name && config->type == XMLRPC_ARRAY && sxp_name(config) &&
        !sxp_child(config, "name"))
        sxp_add(config, "name", opts->name);
    domain_def *def = domain_sxp_parse(config);
    if (!def && !convert_msg_has_line(xend_error_last()->message, what)) {
        unsigned *lines = xcalloc(CONVERT_LOCATE_MAX + 1, sizeof(*lines));
        size_t nlines = sxp_scan_lines(text, len, lines, CONVERT_LOCATE_MAX + 1);
        long k = config->type == XMLRPC_ARRAY ? sxp_culprit(config) : -1;
        /* Elements past the text's are the default name added above. */
        unsigned line = k >= 0 && (size_t)k < nlines ? lines[k] : nlines ? lines[0] : 1;
        convert_relocate(what, line, NULL);
        free(lines);
    }
    xmlrpc_value_free(config);
    return def;
}

static domain_def *convert_parse_xm(const char *text, size_t len, const convert_opts *opts,
                                    domain_warnings *w)
{
    const char *what = convert_what[CONVERT_XM];
    xmlrpc_value *vars = xmcfg_parse_vars(text, len, what, opts->vars, opts->nvars);
    if (!vars)
        return NULL;
    /* xm named a domain after its config file; here the caller gives that name. None means
     * the default, as for every xm variable. */
    const xmlrpc_value *name = xmlrpc_struct_get(vars, "name");
    if (!name || name->type == XMLRPC_NIL) {
        if (!opts->name) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: no 'name' is set, and no default name was given (option "
                              "'name'; xm uses the config file's name)",
                              what);
            xmlrpc_value_free(vars);
            return NULL;
        }
        xmlrpc_struct_set(vars, "name", xmlrpc_string(opts->name));
    }
    domain_def *def = xmcfg_to_def(vars, what, w);
    if (!def)
        xm_locate(text, len, vars, opts);
    else
        xm_warnings_lines(text, len, w);
    xmlrpc_value_free(vars);
    return def;
}

static domain_def *convert_parse(convert_format from, const char *text, size_t len,
                                 const convert_opts *opts, domain_warnings *w)
{
    switch (from) {
    case CONVERT_XML:
        return convert_parse_xml(text, len, opts, w);
    case CONVERT_SXP:
        return convert_parse_sxp(text, len, opts);
    default:
        return convert_parse_xm(text, len, opts, w);
    }
}

/* ---- formatting and what it loses ---- */

static void convert_format_def(const domain_def *def, convert_format to, xbuf *out)
{
    switch (to) {
    case CONVERT_XML:
        domain_xml_format(def, out, 0);
        break;
    case CONVERT_SXP: {
        /* The (domain ...) record without runtime facts is the (vm ...) config. */
        xmlrpc_value *d = domain_sxp_format(def, NULL);
        xmlrpc_value_free(d->u.a.items[0]);
        d->u.a.items[0] = xmlrpc_string("vm");
        sxp_format(d, out, true);
        xmlrpc_value_free(d);
        break;
    }
    default:
        xmcfg_format(def, out);
        break;
    }
}

static bool str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "<graphics>, <video>" of a kept-XML sibling list, at most a few. */
static void convert_node_names(const xml_node *n, xbuf *out)
{
    for (unsigned k = 0; n; n = n->next, k++) {
        if (k == 4) {
            xbuf_adds(out, ", ...");
            break;
        }
        xbuf_printf(out, "%s<%.32s>", k ? ", " : "", n->name);
    }
}

static void convert_lost_nodes(domain_warnings *w, const char *fmt, const xml_node *a,
                               const xml_node *b, const char *where)
{
    if (!a || b)
        return;
    xbuf names = XBUF_INIT;
    convert_node_names(a, &names);
    domain_warnings_add(w, "%s: %s%s kept from the domain XML cannot be written; dropped", fmt,
                        names.data, where);
    xbuf_clear(&names);
}

/* Compare the converted config, read back, with the original and say what changed. */
static void convert_losses(const domain_def *a, const domain_def *b, const char *fmt,
                           domain_warnings *w)
{
    if (domain_def_equal(a, b))
        return;
    size_t before = w->n;
    if (!str_same(a->virt_type, b->virt_type))
        domain_warnings_add(w, "%s: the domain type '%s' cannot be written; dropped", fmt,
                            a->virt_type ? a->virt_type : "");
    if (!str_same(a->title, b->title))
        domain_warnings_add(w, "%s: the title cannot be written; dropped", fmt);
    if (!str_same(a->description, b->description))
        domain_warnings_add(w, "%s: the description cannot be written; dropped", fmt);
    if (!str_same(a->os.arch, b->os.arch) || !str_same(a->os.machine, b->os.machine))
        domain_warnings_add(w, "%s: the machine and architecture cannot be written; dropped", fmt);
    if (a->memory_kib != b->memory_kib || a->current_memory_kib != b->current_memory_kib)
        domain_warnings_add(
            w,
            "%s: memory is written in whole MiB; %llu/%llu KiB became "
            "%llu/%llu KiB",
            fmt, (unsigned long long)a->current_memory_kib, (unsigned long long)a->memory_kib,
            (unsigned long long)b->current_memory_kib, (unsigned long long)b->memory_kib);
    if (a->max_memory_kib != b->max_memory_kib || a->max_memory_slots != b->max_memory_slots)
        domain_warnings_add(w, "%s: <maxMemory> cannot be written; dropped", fmt);
    convert_lost_nodes(w, fmt, a->extra, b->extra, "");
    convert_lost_nodes(w, fmt, a->devices_extra, b->devices_extra, " (in <devices>)");
    convert_lost_nodes(w, fmt, a->features_extra, b->features_extra, " (in <features>)");
    convert_lost_nodes(w, fmt, a->os.extra, b->os.extra, " (in <os>)");
    bool chrs_same = a->nchrs == b->nchrs;
    for (size_t i = 0; chrs_same && i < a->nchrs; i++)
        chrs_same =
            a->chrs[i].console == b->chrs[i].console && a->chrs[i].type == b->chrs[i].type &&
            str_same(a->chrs[i].path, b->chrs[i].path) && a->chrs[i].port == b->chrs[i].port;
    if (!chrs_same)
        domain_warnings_add(w,
                            "%s: consoles and serial ports are written as serial ports "
                            "0, 1, ... only; others were dropped",
                            fmt);
    for (size_t i = 0; i < a->ndisks && i < b->ndisks; i++) {
        const domain_disk *x = &a->disks[i], *y = &b->disks[i];
        if (x->bus != y->bus || x->format != y->format || x->type != y->type ||
            x->device != y->device || x->readonly != y->readonly || x->shareable != y->shareable ||
            (x->extra && !y->extra))
            domain_warnings_add(w,
                                "%s: disk '%s' is written as '%s' (bus %s, format %s%s); "
                                "what differs was dropped",
                                fmt, x->target ? x->target : "", y->target ? y->target : "",
                                domain_disk_bus_name(y->bus), domain_disk_format_name(y->format),
                                y->readonly ? ", read-only" : "");
    }
    for (size_t i = 0; i < a->nnics && i < b->nnics; i++) {
        const domain_nic *x = &a->nics[i], *y = &b->nics[i];
        if (x->type != y->type || !str_same(x->source, y->source) ||
            !str_same(x->model, y->model) || (x->extra && !y->extra)) {
            char mac[18];
            domain_mac_format(x->mac, mac);
            domain_warnings_add(w,
                                "%s: interface %s is written as type %s%s%s; what differs "
                                "was dropped",
                                fmt, mac, domain_nic_type_name(y->type), y->source ? " " : "",
                                y->source ? y->source : "");
        }
    }
    if (w->n == before)
        domain_warnings_add(w,
                            "%s: some settings cannot be written in this format and were "
                            "changed (compare domain.get_xml)",
                            fmt);
}

/* Read the converted text back; a config that does not read back is a bug worth a
 * warning rather than a refusal (the conversion itself succeeded). */
static void convert_check(const domain_def *def, convert_format to, const xbuf *out,
                          domain_warnings *w)
{
    domain_def *back = NULL;
    const char *text = out->data ? out->data : "";
    switch (to) {
    case CONVERT_XML:
        back = domain_xml_parse(text, out->len, NULL);
        break;
    case CONVERT_SXP: {
        xmlrpc_value *v = sxp_parse(text, out->len, convert_what[CONVERT_SXP]);
        back = v ? domain_sxp_parse(v) : NULL;
        xmlrpc_value_free(v);
        break;
    }
    default:
        back = xmcfg_parse(text, out->len, convert_what[CONVERT_XM], NULL, 0, NULL);
        break;
    }
    if (!back) {
        domain_warnings_add(w, "%s: the converted config does not read back (%s)",
                            convert_names[to], xend_error_last()->message);
        xend_error_reset();
        return;
    }
    convert_losses(def, back, convert_names[to], w);
    domain_def_free(back);
}

xmlrpc_value *api_domain_convert(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *textv = api_arg(params, 0);
    const char *text = textv->u.s.ptr;
    size_t len = textv->u.s.len;
    convert_opts opts = {CONVERT_LAST, CONVERT_XML, NULL, NULL, 0};
    xmlrpc_value *r = NULL;
    domain_warnings w = {NULL, 0};
    domain_def *def = NULL;
    xbuf out = XBUF_INIT;

    if (len > CONVERT_MAX_TEXT) {
        xend_error_report(XEND_ERR_LIMIT, "the config is %zu bytes, more than the %u allowed", len,
                          CONVERT_MAX_TEXT);
        goto out;
    }
    if (convert_format_parse(api_arg_string(params, 1), false, &opts.to) < 0 ||
        convert_opts_parse(api_arg(params, 2), &opts) < 0)
        goto out;
    convert_format from = opts.from == CONVERT_LAST ? convert_detect(text, len) : opts.from;
    if (opts.nvars && from != CONVERT_XM) {
        xend_error_report(XEND_ERR_INVALID_ARG,
                          "option 'vars' applies to xm configs only, and this one is %s",
                          convert_names[from]);
        goto out;
    }
    def = convert_parse(from, text, len, &opts, &w);
    if (!def)
        goto out;
    convert_format_def(def, opts.to, &out);
    if (from != opts.to || opts.to != CONVERT_XML)
        convert_check(def, opts.to, &out, &w);

    r = xmlrpc_struct();
    xmlrpc_struct_set(r, "config", xmlrpc_string_n(out.data ? out.data : "", out.len));
    xmlrpc_struct_set(r, "from", xmlrpc_string(convert_names[from]));
    xmlrpc_struct_set(r, "name", xmlrpc_string(def->name));
    xmlrpc_value *warnings = xmlrpc_array();
    for (size_t i = 0; i < w.n; i++)
        xmlrpc_array_append(warnings, xmlrpc_string(w.items[i]));
    xmlrpc_struct_set(r, "warnings", warnings);
out:
    xbuf_clear(&out);
    domain_def_free(def);
    domain_warnings_clear(&w);
    free(opts.vars);
    return r;
}
