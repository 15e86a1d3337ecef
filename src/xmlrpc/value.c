/*
 * The XML-RPC value model: constructors, containers, copy, equality and free. Values form
 * trees owned by their root; containers own their children.
 */
#include "value.h"

#include "util/alloc.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[XMLRPC_TYPE_LAST] = {
    [XMLRPC_INT] = "int",       [XMLRPC_I8] = "i8",
    [XMLRPC_BOOL] = "boolean",  [XMLRPC_STRING] = "string",
    [XMLRPC_DOUBLE] = "double", [XMLRPC_DATETIME] = "dateTime.iso8601",
    [XMLRPC_BASE64] = "base64", [XMLRPC_STRUCT] = "struct",
    [XMLRPC_ARRAY] = "array",   [XMLRPC_NIL] = "nil",
};

const char *xmlrpc_type_name(xmlrpc_type t)
{
    return t < XMLRPC_TYPE_LAST ? type_names[t] : "unknown";
}

int xmlrpc_type_parse(const char *name)
{
    if (strcmp(name, "i4") == 0)
        return XMLRPC_INT;
    for (int t = 0; t < XMLRPC_TYPE_LAST; t++)
        if (strcmp(name, type_names[t]) == 0)
            return t;
    return -1;
}

static xmlrpc_value *value_new(xmlrpc_type t)
{
    xmlrpc_value *v = xcalloc(1, sizeof(*v));
    v->type = t;
    return v;
}

xmlrpc_value *xmlrpc_int(int32_t i)
{
    xmlrpc_value *v = value_new(XMLRPC_INT);
    v->u.i = i;
    return v;
}

xmlrpc_value *xmlrpc_i8(int64_t i)
{
    xmlrpc_value *v = value_new(XMLRPC_I8);
    v->u.i = i;
    return v;
}

xmlrpc_value *xmlrpc_bool(bool b)
{
    xmlrpc_value *v = value_new(XMLRPC_BOOL);
    v->u.b = b;
    return v;
}

xmlrpc_value *xmlrpc_double(double d)
{
    xmlrpc_value *v = value_new(XMLRPC_DOUBLE);
    v->u.d = d;
    return v;
}

static xmlrpc_value *value_bytes(xmlrpc_type t, const char *s, size_t len)
{
    xmlrpc_value *v = value_new(t);
    v->u.s.ptr = xstrndup(s, len);
    v->u.s.len = len;
    return v;
}

xmlrpc_value *xmlrpc_string(const char *s)
{
    return value_bytes(XMLRPC_STRING, s, strlen(s));
}

xmlrpc_value *xmlrpc_string_n(const char *s, size_t len)
{
    return value_bytes(XMLRPC_STRING, s, len);
}

xmlrpc_value *xmlrpc_string_take(char *s)
{
    xmlrpc_value *v = value_new(XMLRPC_STRING);
    v->u.s.ptr = s;
    v->u.s.len = strlen(s);
    return v;
}

xmlrpc_value *xmlrpc_base64(const void *data, size_t len)
{
    return value_bytes(XMLRPC_BASE64, data, len);
}

xmlrpc_value *xmlrpc_datetime(time_t t)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        xend_error_report(XEND_ERR_INVALID_ARG, "time %lld cannot be written as dateTime.iso8601",
                          (long long)t);
        return NULL;
    }
    char text[64];
    snprintf(text, sizeof(text), "%04d%02d%02dT%02d:%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return value_bytes(XMLRPC_DATETIME, text, 17);
}

xmlrpc_value *xmlrpc_nil(void)
{
    return value_new(XMLRPC_NIL);
}

xmlrpc_value *xmlrpc_raw_take(char *buf, size_t head, size_t len)
{
    xmlrpc_value *v = value_new(XMLRPC_RAW);
    v->u.s.ptr = buf + head;
    v->u.s.len = len;
    v->u.s.head = head;
    return v;
}

xmlrpc_value *xmlrpc_array(void)
{
    return value_new(XMLRPC_ARRAY);
}

xmlrpc_value *xmlrpc_struct(void)
{
    return value_new(XMLRPC_STRUCT);
}

void xmlrpc_array_append(xmlrpc_value *array, xmlrpc_value *item)
{
    array->u.a.items = xgrow(array->u.a.items, &array->u.a.cap, array->u.a.n + 1,
                             sizeof(*array->u.a.items));
    array->u.a.items[array->u.a.n++] = item;
}

size_t xmlrpc_array_size(const xmlrpc_value *array)
{
    return array->type == XMLRPC_ARRAY ? array->u.a.n : 0;
}

xmlrpc_value *xmlrpc_array_get(const xmlrpc_value *array, size_t i)
{
    return array->type == XMLRPC_ARRAY && i < array->u.a.n ? array->u.a.items[i] : NULL;
}

static xmlrpc_member *struct_find(const xmlrpc_value *st, const char *name)
{
    for (size_t i = 0; i < st->u.st.n; i++)
        if (strcmp(st->u.st.m[i].name, name) == 0)
            return &st->u.st.m[i];
    return NULL;
}

void xmlrpc_struct_set(xmlrpc_value *st, const char *name, xmlrpc_value *value)
{
    xmlrpc_member *m = struct_find(st, name);
    if (m) {
        xmlrpc_value_free(m->value);
        m->value = value;
        return;
    }
    st->u.st.m = xgrow(st->u.st.m, &st->u.st.cap, st->u.st.n + 1, sizeof(*st->u.st.m));
    st->u.st.m[st->u.st.n++] = (xmlrpc_member){xstrdup(name), value};
}

xmlrpc_value *xmlrpc_struct_get(const xmlrpc_value *st, const char *name)
{
    if (st->type != XMLRPC_STRUCT)
        return NULL;
    xmlrpc_member *m = struct_find(st, name);
    return m ? m->value : NULL;
}

/* copy, equal and free walk the tree with an explicit stack rather than recursion: values
 * built in code may nest far deeper than anything the decoder accepts. */
typedef struct {
    const xmlrpc_value *a;
    const xmlrpc_value *b; /* equal: the other value */
    xmlrpc_value **slot;   /* copy: where the copy goes */
} walk_item;

typedef struct {
    walk_item *items;
    size_t n, cap;
} walk_stack;

static void walk_push(walk_stack *w, walk_item it)
{
    w->items = xgrow(w->items, &w->cap, w->n + 1, sizeof(*w->items));
    w->items[w->n++] = it;
}

static xmlrpc_value *value_copy_shallow(const xmlrpc_value *v, walk_stack *w)
{
    xmlrpc_value *c = value_new(v->type);
    switch (v->type) {
    case XMLRPC_STRING:
    case XMLRPC_BASE64:
    case XMLRPC_DATETIME:
    case XMLRPC_RAW:
        c->u.s.ptr = xstrndup(v->u.s.ptr, v->u.s.len);
        c->u.s.len = v->u.s.len;
        break;
    case XMLRPC_ARRAY:
        c->u.a.items = xcalloc(v->u.a.n ? v->u.a.n : 1, sizeof(*c->u.a.items));
        c->u.a.cap = v->u.a.n ? v->u.a.n : 1;
        c->u.a.n = v->u.a.n;
        for (size_t i = 0; i < v->u.a.n; i++)
            walk_push(w, (walk_item){v->u.a.items[i], NULL, &c->u.a.items[i]});
        break;
    case XMLRPC_STRUCT:
        c->u.st.m = xcalloc(v->u.st.n ? v->u.st.n : 1, sizeof(*c->u.st.m));
        c->u.st.cap = v->u.st.n ? v->u.st.n : 1;
        c->u.st.n = v->u.st.n;
        for (size_t i = 0; i < v->u.st.n; i++) {
            c->u.st.m[i].name = xstrdup(v->u.st.m[i].name);
            walk_push(w, (walk_item){v->u.st.m[i].value, NULL, &c->u.st.m[i].value});
        }
        break;
    default:
        c->u = v->u;
        break;
    }
    return c;
}

xmlrpc_value *xmlrpc_value_copy(const xmlrpc_value *v)
{
    walk_stack w = {0};
    xmlrpc_value *root = NULL;
    walk_push(&w, (walk_item){v, NULL, &root});
    while (w.n) {
        walk_item it = w.items[--w.n];
        *it.slot = value_copy_shallow(it.a, &w);
    }
    free(w.items);
    return root;
}

/* Compare the scalar parts of a and b; push children pairs. */
static bool value_equal_shallow(const xmlrpc_value *a, const xmlrpc_value *b, walk_stack *w)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case XMLRPC_INT:
    case XMLRPC_I8:
        return a->u.i == b->u.i;
    case XMLRPC_BOOL:
        return a->u.b == b->u.b;
    case XMLRPC_DOUBLE:
        /* bit-exact: -0.0 and 0.0 differ, as they do on the wire */
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case XMLRPC_STRING:
    case XMLRPC_BASE64:
    case XMLRPC_DATETIME:
    case XMLRPC_RAW:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    case XMLRPC_ARRAY:
        if (a->u.a.n != b->u.a.n)
            return false;
        for (size_t i = 0; i < a->u.a.n; i++)
            walk_push(w, (walk_item){a->u.a.items[i], b->u.a.items[i], NULL});
        return true;
    case XMLRPC_STRUCT:
        if (a->u.st.n != b->u.st.n)
            return false;
        for (size_t i = 0; i < a->u.st.n; i++) {
            const xmlrpc_member *m = struct_find(b, a->u.st.m[i].name);
            if (!m)
                return false;
            walk_push(w, (walk_item){a->u.st.m[i].value, m->value, NULL});
        }
        return true;
    case XMLRPC_NIL:
        return true;
    default:
        return false;
    }
}

bool xmlrpc_value_equal(const xmlrpc_value *a, const xmlrpc_value *b)
{
    walk_stack w = {0};
    bool eq = true;
    walk_push(&w, (walk_item){a, b, NULL});
    while (eq && w.n) {
        walk_item it = w.items[--w.n];
        eq = value_equal_shallow(it.a, it.b, &w);
    }
    free(w.items);
    return eq;
}

void xmlrpc_value_free(xmlrpc_value *v)
{
    if (!v)
        return;
    /* Free iteratively: detach each container's children onto a pending list. */
    xmlrpc_value **pending = NULL;
    size_t n = 0, cap = 0;
    pending = xgrow(pending, &cap, 1, sizeof(*pending));
    pending[n++] = v;
    while (n) {
        v = pending[--n];
        switch (v->type) {
        case XMLRPC_STRING:
        case XMLRPC_BASE64:
        case XMLRPC_DATETIME:
            free(v->u.s.ptr);
            break;
        case XMLRPC_RAW:
            if (v->u.s.ptr)
                free(v->u.s.ptr - v->u.s.head);
            break;
        case XMLRPC_ARRAY:
            pending = xgrow(pending, &cap, n + v->u.a.n, sizeof(*pending));
            for (size_t i = 0; i < v->u.a.n; i++)
                if (v->u.a.items[i])
                    pending[n++] = v->u.a.items[i];
            free(v->u.a.items);
            break;
        case XMLRPC_STRUCT:
            pending = xgrow(pending, &cap, n + v->u.st.n, sizeof(*pending));
            for (size_t i = 0; i < v->u.st.n; i++) {
                free(v->u.st.m[i].name);
                if (v->u.st.m[i].value)
                    pending[n++] = v->u.st.m[i].value;
            }
            free(v->u.st.m);
            break;
        default:
            break;
        }
        free(v);
    }
    free(pending);
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int xmlrpc_datetime_parse(const char *text, size_t len, char out[18])
{
    /* The spec's one form: YYYYMMDDTHH:MM:SS. No zone: the API documents UTC. */
    if (len != 17 || text[8] != 'T' || text[11] != ':' || text[14] != ':')
        return -1;
    int y = digits(text, 4), mo = digits(text + 4, 2), d = digits(text + 6, 2);
    int h = digits(text + 9, 2), mi = digits(text + 12, 2), s = digits(text + 15, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
        s > 60)
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return -1;
    memcpy(out, text, 17);
    out[17] = '\0';
    return 0;
}

int xmlrpc_datetime_to_time(const xmlrpc_value *v, time_t *out)
{
    char canon[18];
    if (v->type != XMLRPC_DATETIME || xmlrpc_datetime_parse(v->u.s.ptr, v->u.s.len, canon) < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "not a valid dateTime.iso8601 value");
        return -1;
    }
    struct tm tm = {0};
    tm.tm_year = digits(canon, 4) - 1900;
    tm.tm_mon = digits(canon + 4, 2) - 1;
    tm.tm_mday = digits(canon + 6, 2);
    tm.tm_hour = digits(canon + 9, 2);
    tm.tm_min = digits(canon + 12, 2);
    tm.tm_sec = digits(canon + 15, 2);
    *out = timegm(&tm);
    return 0;
}
