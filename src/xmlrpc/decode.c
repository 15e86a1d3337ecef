/*
 * XML-RPC decoder: Expat callbacks build typed values directly, with a small explicit stack
 * of open elements (no DOM, no recursion). The grammar of methodCall/methodResponse is
 * checked element by element; scalars are parsed strictly; limits (body size, compound
 * nesting, element count, string length) are enforced as the document streams in.
 *
 * Accepted beyond the spec, because real peers send them: <i8> and <ex:i8>, <nil/> and
 * <ex:nil/>, and exponent notation in <double> (Python writes 1e+100); xmlns attributes
 * (Apache's extension namespace). Refused: any DOCTYPE (so no entity can ever be declared
 * or expanded), unknown elements, other attributes, text where none belongs, whitespace in
 * numbers, booleans other than 0/1, out-of-range integers, non-finite doubles, duplicate
 * struct members, malformed base64 and dateTime values.
 */
#include "codec.h"

#include "base64.h"
#include "util/alloc.h"
#include "util/error.h"

#include <errno.h>
#include <expat.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define METHOD_NAME_MAX 256

typedef enum {
    EL_METHODCALL,
    EL_METHODRESPONSE,
    EL_METHODNAME,
    EL_PARAMS,
    EL_PARAM,
    EL_FAULT,
    EL_VALUE,
    EL_STRUCT,
    EL_MEMBER,
    EL_NAME,
    EL_ARRAY,
    EL_DATA,
    EL_SCALAR, /* int, i4, i8, boolean, string, double, dateTime.iso8601, base64 */
    EL_NIL,
} element_kind;

static const char *const kind_tags[] = {
    [EL_METHODCALL] = "methodCall", [EL_METHODRESPONSE] = "methodResponse",
    [EL_METHODNAME] = "methodName", [EL_PARAMS] = "params",
    [EL_PARAM] = "param",           [EL_FAULT] = "fault",
    [EL_VALUE] = "value",           [EL_STRUCT] = "struct",
    [EL_MEMBER] = "member",         [EL_NAME] = "name",
    [EL_ARRAY] = "array",           [EL_DATA] = "data",
    [EL_SCALAR] = "scalar",         [EL_NIL] = "nil",
};

typedef struct {
    element_kind kind;
    xmlrpc_type type;    /* EL_SCALAR: which scalar */
    const char *tag;     /* tag as written (for messages); static storage */
    xmlrpc_value *value; /* VALUE: its decoded value; STRUCT/ARRAY: the container */
    char *name;          /* MEMBER: the member name once seen */
    unsigned children;   /* child elements seen (grammar checks) */
    bool has_name;       /* MEMBER */
} frame;

struct xmlrpc_decoder {
    XML_Parser parser;
    unsigned long hash_salt; /* drawn once per decoder, reused after each reset */
    xmlrpc_limits limits;
    bool want_call; /* decoding a methodCall (else a methodResponse) */
    frame *stack;
    size_t depth, cap; /* open elements */
    unsigned compound_depth;
    size_t elements;
    xbuf text;     /* character data of the innermost text-bearing element */
    size_t text_limit;
    bool in_text;  /* innermost element collects text */
    bool failed;
    bool root_done;
    /* results */
    char *method;
    xmlrpc_value *params; /* call: ARRAY of params; response: ARRAY holding the result */
    xmlrpc_value *fault;
};

void xmlrpc_limits_default(xmlrpc_limits *limits)
{
    limits->max_body = XMLRPC_DEFAULT_MAX_BODY;
    limits->max_depth = XMLRPC_DEFAULT_MAX_DEPTH;
    limits->max_elements = XMLRPC_DEFAULT_MAX_ELEMENTS;
    limits->max_string = XMLRPC_DEFAULT_MAX_STRING;
}

/* Report an error at the parser's current position and stop parsing. */
static void dec_fail(xmlrpc_decoder *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void dec_fail(xmlrpc_decoder *d, int code, const char *fmt, ...)
{
    if (d->failed)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xend_error_report(code, "line %lu, column %lu: %s",
                      (unsigned long)XML_GetCurrentLineNumber(d->parser),
                      (unsigned long)XML_GetCurrentColumnNumber(d->parser) + 1, msg);
    d->failed = true;
    XML_StopParser(d->parser, XML_FALSE);
}

/* A short, printable excerpt of untrusted text for error messages. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (len > size - 4) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static frame *top(xmlrpc_decoder *d)
{
    return d->depth ? &d->stack[d->depth - 1] : NULL;
}

static void frame_release(frame *f)
{
    xmlrpc_value_free(f->value);
    free(f->name);
    f->value = NULL;
    f->name = NULL;
}

/* ---- scalars ---- */

static int parse_integer(xmlrpc_decoder *d, const char *tag, const char *s, size_t len,
                         int64_t min, int64_t max, int64_t *out)
{
    char ex[48];
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == len) {
        dec_fail(d, XEND_ERR_INVALID_REQUEST, "<%s> '%s' is not an integer", tag,
                 excerpt(s, len, ex, sizeof(ex)));
        return -1;
    }
    uint64_t v = 0, limit = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<%s> '%s' is not an integer (digits with an optional sign, no spaces)",
                     tag, excerpt(s, len, ex, sizeof(ex)));
            return -1;
        }
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (limit - digit) / 10) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<%s> '%s' is out of range (%" PRId64
                     "..%" PRId64 ")%s", tag, excerpt(s, len, ex, sizeof(ex)), min, max,
                     max == INT32_MAX ? "; use <i8> for 64-bit integers" : "");
            return -1;
        }
        v = v * 10 + digit;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_double(xmlrpc_decoder *d, const char *s, size_t len, double *out)
{
    char ex[48];
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits && i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t edigits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, edigits++;
        if (!edigits)
            digits = 0;
    }
    if (!digits || i != len || len > 1100) {
        dec_fail(d, XEND_ERR_INVALID_REQUEST,
                 "<double> '%s' is not a decimal number (no spaces, NaN or infinity)",
                 excerpt(s, len, ex, sizeof(ex)));
        return -1;
    }
    char buf[1104];
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        dec_fail(d, XEND_ERR_INVALID_REQUEST, "<double> '%s' is out of range",
                 excerpt(s, len, ex, sizeof(ex)));
        return -1;
    }
    *out = v;
    return 0;
}

/* Build the value of a scalar element from the collected text. NULL on error. */
static xmlrpc_value *scalar_value(xmlrpc_decoder *d, frame *f)
{
    const char *s = d->text.data ? d->text.data : "";
    size_t len = d->text.len;
    char ex[48];
    int64_t i;
    switch (f->type) {
    case XMLRPC_INT:
        if (parse_integer(d, f->tag, s, len, INT32_MIN, INT32_MAX, &i) < 0)
            return NULL;
        return xmlrpc_int((int32_t)i);
    case XMLRPC_I8:
        if (parse_integer(d, f->tag, s, len, INT64_MIN, INT64_MAX, &i) < 0)
            return NULL;
        return xmlrpc_i8(i);
    case XMLRPC_BOOL:
        if (len != 1 || (s[0] != '0' && s[0] != '1')) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<boolean> '%s' is not 0 or 1",
                     excerpt(s, len, ex, sizeof(ex)));
            return NULL;
        }
        return xmlrpc_bool(s[0] == '1');
    case XMLRPC_DOUBLE: {
        double v;
        if (parse_double(d, s, len, &v) < 0)
            return NULL;
        return xmlrpc_double(v);
    }
    case XMLRPC_STRING:
        return xmlrpc_string_n(s, len);
    case XMLRPC_DATETIME: {
        char canon[18];
        if (xmlrpc_datetime_parse(s, len, canon) < 0) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<dateTime.iso8601> '%s' is not a valid YYYYMMDDTHH:MM:SS time",
                     excerpt(s, len, ex, sizeof(ex)));
            return NULL;
        }
        xmlrpc_value *v = xmlrpc_string_n(canon, 17);
        v->type = XMLRPC_DATETIME;
        return v;
    }
    case XMLRPC_BASE64: {
        char *bytes;
        long n = base64_decode(s, len, &bytes);
        if (n < 0) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<base64> content is not valid base64");
            return NULL;
        }
        if ((size_t)n > d->limits.max_string) {
            free(bytes);
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<base64> payload of %ld bytes exceeds the limit of %zu bytes (max_string)",
                     n, d->limits.max_string);
            return NULL;
        }
        xmlrpc_value *v = xmlrpc_string_n("", 0);
        free(v->u.s.ptr);
        v->type = XMLRPC_BASE64;
        v->u.s.ptr = bytes;
        v->u.s.len = (size_t)n;
        return v;
    }
    default:
        dec_fail(d, XEND_ERR_INVALID_REQUEST, "internal: bad scalar type");
        return NULL;
    }
}

/* ---- element start ---- */

typedef struct {
    const char *tag;
    element_kind kind;
    xmlrpc_type type;
} tag_info;

static const tag_info tags[] = {
    {"value", EL_VALUE, 0},
    {"member", EL_MEMBER, 0},
    {"name", EL_NAME, 0},
    {"string", EL_SCALAR, XMLRPC_STRING},
    {"int", EL_SCALAR, XMLRPC_INT},
    {"i4", EL_SCALAR, XMLRPC_INT},
    {"struct", EL_STRUCT, 0},
    {"array", EL_ARRAY, 0},
    {"data", EL_DATA, 0},
    {"boolean", EL_SCALAR, XMLRPC_BOOL},
    {"double", EL_SCALAR, XMLRPC_DOUBLE},
    {"i8", EL_SCALAR, XMLRPC_I8},
    {"ex:i8", EL_SCALAR, XMLRPC_I8},
    {"dateTime.iso8601", EL_SCALAR, XMLRPC_DATETIME},
    {"base64", EL_SCALAR, XMLRPC_BASE64},
    {"nil", EL_NIL, 0},
    {"ex:nil", EL_NIL, 0},
    {"param", EL_PARAM, 0},
    {"params", EL_PARAMS, 0},
    {"methodName", EL_METHODNAME, 0},
    {"methodCall", EL_METHODCALL, 0},
    {"methodResponse", EL_METHODRESPONSE, 0},
    {"fault", EL_FAULT, 0},
};

static const tag_info *tag_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (strcmp(tags[i].tag, name) == 0)
            return &tags[i];
    return NULL;
}

/* Is child allowed inside parent (given what parent already holds)? */
static bool child_allowed(xmlrpc_decoder *d, frame *parent, const tag_info *t)
{
    switch (parent->kind) {
    case EL_METHODCALL:
        if (t->kind == EL_METHODNAME)
            return parent->children == 0;
        return t->kind == EL_PARAMS && parent->children == 1;
    case EL_METHODRESPONSE:
        return (t->kind == EL_PARAMS || t->kind == EL_FAULT) && parent->children == 0;
    case EL_PARAMS:
        return t->kind == EL_PARAM && (d->want_call || parent->children == 0);
    case EL_PARAM:
    case EL_FAULT:
        return t->kind == EL_VALUE && parent->children == 0;
    case EL_VALUE:
        return (t->kind == EL_SCALAR || t->kind == EL_NIL || t->kind == EL_STRUCT ||
                t->kind == EL_ARRAY) &&
               parent->children == 0;
    case EL_STRUCT:
        return t->kind == EL_MEMBER;
    case EL_MEMBER:
        if (t->kind == EL_NAME)
            return !parent->has_name;
        return t->kind == EL_VALUE && !parent->value && parent->children < 2;
    case EL_ARRAY:
        return t->kind == EL_DATA && parent->children == 0;
    case EL_DATA:
        return t->kind == EL_VALUE;
    default:
        return false; /* scalars, nil, name and methodName hold no elements */
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    xmlrpc_decoder *d = ud;
    if (d->failed)
        return;
    if (++d->elements > d->limits.max_elements) {
        dec_fail(d, XEND_ERR_INVALID_REQUEST,
                 "document has more than %zu elements (max_elements)", d->limits.max_elements);
        return;
    }
    const tag_info *t = tag_lookup(name);
    if (!t) {
        char ex[48];
        dec_fail(d, XEND_ERR_INVALID_REQUEST, "unknown element <%s>",
                 excerpt(name, strlen(name), ex, sizeof(ex)));
        return;
    }
    for (size_t i = 0; attrs[i]; i += 2) {
        if (strcmp(attrs[i], "xmlns") != 0 && strncmp(attrs[i], "xmlns:", 6) != 0) {
            char ex[48];
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<%s> does not take attribute '%s'", t->tag,
                     excerpt(attrs[i], strlen(attrs[i]), ex, sizeof(ex)));
            return;
        }
    }
    frame *parent = top(d);
    if (!parent) {
        element_kind want = d->want_call ? EL_METHODCALL : EL_METHODRESPONSE;
        if (t->kind != want || d->root_done) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "expected <%s> as the document element, found <%s>",
                     kind_tags[want], t->tag);
            return;
        }
    } else {
        if (!child_allowed(d, parent, t)) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<%s> is not allowed %s <%s>", t->tag,
                     parent->children ? "here inside" : "inside", parent->tag);
            return;
        }
        /* Text seen so far in the parent must have been layout only. */
        if (d->in_text) {
            if (!all_space(d->text.data, d->text.len)) {
                dec_fail(d, XEND_ERR_INVALID_REQUEST, "<%s> holds both text and an element",
                         parent->tag);
                return;
            }
            xbuf_reset(&d->text);
            d->in_text = false;
        }
        parent->children++;
        if (parent->kind == EL_MEMBER && t->kind == EL_NAME)
            parent->has_name = true;
    }
    if (t->kind == EL_STRUCT || t->kind == EL_ARRAY) {
        if (++d->compound_depth > d->limits.max_depth) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "values nested deeper than %u levels (max_depth)", d->limits.max_depth);
            return;
        }
    }
    d->stack = xgrow(d->stack, &d->cap, d->depth + 1, sizeof(*d->stack));
    frame *f = &d->stack[d->depth++];
    *f = (frame){.kind = t->kind, .type = t->type, .tag = t->tag};
    if (t->kind == EL_STRUCT)
        f->value = xmlrpc_struct();
    else if (t->kind == EL_ARRAY)
        f->value = xmlrpc_array();
    if (t->kind == EL_VALUE || t->kind == EL_SCALAR || t->kind == EL_NAME ||
        t->kind == EL_METHODNAME) {
        d->in_text = true;
        xbuf_reset(&d->text);
        d->text_limit = t->kind == EL_METHODNAME ? METHOD_NAME_MAX
                        : t->type == XMLRPC_BASE64 && t->kind == EL_SCALAR
                            ? d->limits.max_string / 3 * 4 + d->limits.max_string / 8 + 64
                            : d->limits.max_string;
    } else {
        d->in_text = false;
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xmlrpc_decoder *d = ud;
    if (d->failed)
        return;
    frame *f = top(d);
    if (!d->in_text) {
        if (!all_space(s, (size_t)len)) {
            if (f)
                dec_fail(d, XEND_ERR_INVALID_REQUEST, "unexpected text inside <%s>", f->tag);
            else
                dec_fail(d, XEND_ERR_INVALID_REQUEST, "unexpected text outside the document");
        }
        return;
    }
    if (d->text.len + (size_t)len > d->text_limit) {
        if (f->kind == EL_METHODNAME)
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "method name longer than %d bytes",
                     METHOD_NAME_MAX);
        else
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<%s> text longer than %zu bytes (max_string)", f->tag,
                     d->limits.max_string);
        return;
    }
    xbuf_add(&d->text, s, (size_t)len);
}

/* ---- element end ---- */

/* Hand a finished value to the element enclosing the VALUE frame that produced it. */
static void attach_value(xmlrpc_decoder *d, frame *parent, xmlrpc_value *v)
{
    switch (parent->kind) {
    case EL_PARAM:
        xmlrpc_array_append(d->params, v);
        break;
    case EL_FAULT:
        d->fault = v;
        break;
    case EL_MEMBER:
        parent->value = v;
        break;
    default:
        xmlrpc_value_free(v);
        dec_fail(d, XEND_ERR_INVALID_REQUEST, "internal: value in <%s>", parent->tag);
    }
}

static int member_cmp(const void *a, const void *b)
{
    return strcmp((*(const xmlrpc_member *const *)a)->name,
                  (*(const xmlrpc_member *const *)b)->name);
}

/* Duplicate member names make a struct ambiguous: refuse them. Sorting keeps a hostile
 * struct of many members O(n log n). */
static const char *struct_duplicate(const xmlrpc_value *st)
{
    size_t n = st->u.st.n;
    if (n < 2)
        return NULL;
    if (n <= 8) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(st->u.st.m[i].name, st->u.st.m[j].name) == 0)
                    return st->u.st.m[i].name;
        return NULL;
    }
    const xmlrpc_member **sorted = xmalloc(n * sizeof(*sorted));
    for (size_t i = 0; i < n; i++)
        sorted[i] = &st->u.st.m[i];
    qsort(sorted, n, sizeof(*sorted), member_cmp);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            dup = sorted[i]->name;
    free(sorted);
    return dup;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    xmlrpc_decoder *d = ud;
    if (d->failed)
        return;
    frame *f = top(d);
    frame *parent = d->depth > 1 ? &d->stack[d->depth - 2] : NULL;
    char ex[48];

    switch (f->kind) {
    case EL_METHODNAME: {
        const char *s = d->text.data ? d->text.data : "";
        size_t len = d->text.len;
        if (len == 0) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "empty <methodName>");
            return;
        }
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '/')) {
                dec_fail(d, XEND_ERR_INVALID_REQUEST,
                         "method name '%s' may only contain letters, digits, '_', '.', ':', '/'",
                         excerpt(s, len, ex, sizeof(ex)));
                return;
            }
        }
        d->method = xstrndup(s, len);
        break;
    }
    case EL_NAME:
        parent->name = xstrndup(d->text.data ? d->text.data : "", d->text.len);
        break;
    case EL_SCALAR: {
        xmlrpc_value *v = scalar_value(d, f);
        if (!v)
            return;
        parent->value = v;
        break;
    }
    case EL_NIL:
        parent->value = xmlrpc_nil();
        break;
    case EL_STRUCT: {
        const char *dup = struct_duplicate(f->value);
        if (dup) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "struct has duplicate member '%s'",
                     excerpt(dup, strlen(dup), ex, sizeof(ex)));
            return;
        }
    }
        /* fall through */
    case EL_ARRAY:
        if (f->kind == EL_ARRAY && f->children != 1) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<array> must hold exactly one <data>");
            return;
        }
        d->compound_depth--;
        parent->value = f->value;
        f->value = NULL;
        break;
    case EL_DATA:
        break;
    case EL_MEMBER:
        if (!f->has_name || !f->value) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<member> needs one <name> and one <value>");
            return;
        }
        if (!f->name) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "internal: member without name");
            return;
        }
        /* The struct is the grandparent's value; parent is the STRUCT frame. */
        parent->value->u.st.m = xgrow(parent->value->u.st.m, &parent->value->u.st.cap,
                                      parent->value->u.st.n + 1, sizeof(xmlrpc_member));
        parent->value->u.st.m[parent->value->u.st.n++] = (xmlrpc_member){f->name, f->value};
        f->name = NULL;
        f->value = NULL;
        break;
    case EL_VALUE: {
        xmlrpc_value *v = f->value;
        f->value = NULL;
        if (f->children == 0)
            v = xmlrpc_string_n(d->text.data ? d->text.data : "", d->text.len);
        d->depth--; /* pop before attaching: DATA appends to its own ARRAY frame */
        if (parent->kind == EL_DATA)
            xmlrpc_array_append(d->stack[d->depth - 2].value, v);
        else
            attach_value(d, parent, v);
        d->in_text = false;
        return;
    }
    case EL_PARAM:
        if (f->children == 0) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<param> without a <value>");
            return;
        }
        break;
    case EL_PARAMS:
        if (!d->want_call && f->children != 1) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "a response's <params> must hold exactly one "
                                                  "<param>");
            return;
        }
        break;
    case EL_FAULT: {
        const xmlrpc_value *v = d->fault;
        const xmlrpc_value *code = v ? xmlrpc_struct_get(v, "faultCode") : NULL;
        const xmlrpc_value *str = v ? xmlrpc_struct_get(v, "faultString") : NULL;
        if (!v || v->type != XMLRPC_STRUCT || v->u.st.n != 2 || !code ||
            code->type != XMLRPC_INT || !str || str->type != XMLRPC_STRING) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<fault> must hold a struct of exactly faultCode (int) and faultString "
                     "(string)");
            return;
        }
        break;
    }
    case EL_METHODCALL:
        if (!d->method) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST, "<methodCall> without <methodName>");
            return;
        }
        d->root_done = true;
        break;
    case EL_METHODRESPONSE:
        if (f->children == 0) {
            dec_fail(d, XEND_ERR_INVALID_REQUEST,
                     "<methodResponse> holds neither <params> nor <fault>");
            return;
        }
        d->root_done = true;
        break;
    }
    frame_release(f);
    d->depth--;
    d->in_text = false;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    dec_fail(ud, XEND_ERR_INVALID_REQUEST,
             "DOCTYPE declarations are not allowed in XML-RPC documents");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_length,
                                   const XML_Char *base, const XML_Char *system_id,
                                   const XML_Char *public_id, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    dec_fail(ud, XEND_ERR_INVALID_REQUEST, "entity declarations are not allowed");
}

/* ---- driver ---- */

static void decoder_setup(xmlrpc_decoder *d)
{
    XML_SetUserData(d->parser, d);
    XML_SetElementHandler(d->parser, on_start, on_end);
    XML_SetCharacterDataHandler(d->parser, on_text);
    XML_SetStartDoctypeDeclHandler(d->parser, on_doctype);
    XML_SetEntityDeclHandler(d->parser, on_entity_decl);
    XML_SetParamEntityParsing(d->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    /* Without an explicit salt Expat draws a fresh one (a getrandom syscall) for every
     * document after XML_ParserReset; one random salt per decoder keeps the protection
     * against hash flooding at a fraction of the cost. */
    XML_SetHashSalt(d->parser, d->hash_salt);
}

xmlrpc_decoder *xmlrpc_decoder_new(const xmlrpc_limits *limits)
{
    xmlrpc_decoder *d = xcalloc(1, sizeof(*d));
    if (limits)
        d->limits = *limits;
    else
        xmlrpc_limits_default(&d->limits);
    if (getrandom(&d->hash_salt, sizeof(d->hash_salt), 0) != sizeof(d->hash_salt) ||
        d->hash_salt == 0)
        d->hash_salt = (unsigned long)time(NULL) ^ (unsigned long)(uintptr_t)d;
    d->parser = XML_ParserCreate(NULL);
    if (!d->parser) {
        fprintf(stderr, "xend: out of memory creating an XML parser\n");
        abort();
    }
    decoder_setup(d);
    return d;
}

static void decoder_reset_state(xmlrpc_decoder *d)
{
    for (size_t i = 0; i < d->depth; i++)
        frame_release(&d->stack[i]);
    d->depth = 0;
    d->compound_depth = 0;
    d->elements = 0;
    d->failed = false;
    d->root_done = false;
    d->in_text = false;
    xbuf_reset(&d->text);
    free(d->method);
    d->method = NULL;
    xmlrpc_value_free(d->params);
    d->params = NULL;
    xmlrpc_value_free(d->fault);
    d->fault = NULL;
}

void xmlrpc_decoder_free(xmlrpc_decoder *d)
{
    if (!d)
        return;
    decoder_reset_state(d);
    XML_ParserFree(d->parser);
    free(d->stack);
    xbuf_clear(&d->text);
    free(d);
}

/* Parse one document. 0 on success (results in d), -1 with an error reported. */
static int decoder_run(xmlrpc_decoder *d, const char *xml, size_t len, bool want_call)
{
    decoder_reset_state(d);
    XML_ParserReset(d->parser, NULL);
    decoder_setup(d);
    d->want_call = want_call;
    d->params = xmlrpc_array();
    if (len > d->limits.max_body) {
        xend_error_report(XEND_ERR_INVALID_REQUEST,
                          "document of %zu bytes exceeds the limit of %zu bytes (max_body)", len,
                          d->limits.max_body);
        return -1;
    }
    if (len > (size_t)INT32_MAX) {
        xend_error_report(XEND_ERR_INVALID_REQUEST, "document too large");
        return -1;
    }
    enum XML_Status st = XML_Parse(d->parser, xml, (int)len, XML_TRUE);
    if (d->failed)
        return -1;
    if (st != XML_STATUS_OK) {
        enum XML_Error e = XML_GetErrorCode(d->parser);
        int code = e == XML_ERROR_UNKNOWN_ENCODING || e == XML_ERROR_INCORRECT_ENCODING
                       ? XEND_ERR_ENCODING
                       : XEND_ERR_PARSE;
        xend_error_report(code, "line %lu, column %lu: XML is not well-formed: %s",
                          (unsigned long)XML_GetCurrentLineNumber(d->parser),
                          (unsigned long)XML_GetCurrentColumnNumber(d->parser) + 1,
                          XML_ErrorString(e));
        return -1;
    }
    if (!d->root_done) {
        xend_error_report(XEND_ERR_INVALID_REQUEST, "document ended before it was complete");
        return -1;
    }
    return 0;
}

int xmlrpc_decode_call(xmlrpc_decoder *d, const char *xml, size_t len, char **method,
                       xmlrpc_value **params)
{
    if (decoder_run(d, xml, len, true) < 0) {
        decoder_reset_state(d);
        return -1;
    }
    *method = d->method;
    *params = d->params;
    d->method = NULL;
    d->params = NULL;
    return 0;
}

void xmlrpc_response_clear(xmlrpc_response *resp)
{
    xmlrpc_value_free(resp->result);
    free(resp->fault_string);
    resp->result = NULL;
    resp->fault_string = NULL;
    resp->is_fault = false;
    resp->fault_code = 0;
}

int xmlrpc_decode_response(xmlrpc_decoder *d, const char *xml, size_t len,
                           xmlrpc_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (decoder_run(d, xml, len, false) < 0) {
        decoder_reset_state(d);
        return -1;
    }
    if (d->fault) {
        /* shape checked when </fault> closed */
        xmlrpc_value *code = xmlrpc_struct_get(d->fault, "faultCode");
        xmlrpc_value *str = xmlrpc_struct_get(d->fault, "faultString");
        resp->is_fault = true;
        resp->fault_code = (int)code->u.i;
        resp->fault_string = str->u.s.ptr;
        str->u.s.ptr = NULL;
        str->u.s.len = 0;
    } else {
        resp->result = d->params->u.a.items[0];
        d->params->u.a.n = 0;
    }
    decoder_reset_state(d);
    return 0;
}
