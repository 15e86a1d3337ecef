/*
 * Unit tests of the XML-RPC value model (xmlrpc/value.h): constructors, struct and array
 * containers, deep copy, structural equality, freeing, the strict dateTime.iso8601 parser
 * and its time_t conversions, and the type-name table. Run under valgrind by `make
 * fullcheck`, so ownership mistakes (double free, leaked replaced members) show up there.
 */
#include "check-error.h"
#include "check.h"
#include "xmlrpc/value.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_scalars(void)
{
    xmlrpc_value *v = xmlrpc_int(INT32_MIN);
    CHECK(v->type == XMLRPC_INT);
    CHECK_INTEQ(v->u.i, INT32_MIN);
    xmlrpc_value_free(v);
    v = xmlrpc_int(INT32_MAX);
    CHECK_INTEQ(v->u.i, INT32_MAX);
    xmlrpc_value_free(v);

    v = xmlrpc_i8(INT64_MIN);
    CHECK(v->type == XMLRPC_I8);
    CHECK(v->u.i == INT64_MIN);
    xmlrpc_value_free(v);
    v = xmlrpc_i8(INT64_MAX);
    CHECK(v->u.i == INT64_MAX);
    xmlrpc_value_free(v);

    v = xmlrpc_bool(true);
    CHECK(v->type == XMLRPC_BOOL && v->u.b == true);
    xmlrpc_value_free(v);
    v = xmlrpc_bool(false);
    CHECK(v->type == XMLRPC_BOOL && v->u.b == false);
    xmlrpc_value_free(v);

    v = xmlrpc_double(-0.25);
    CHECK(v->type == XMLRPC_DOUBLE && v->u.d == -0.25);
    xmlrpc_value_free(v);

    v = xmlrpc_nil();
    CHECK(v->type == XMLRPC_NIL);
    xmlrpc_value_free(v);
}

static void test_strings(void)
{
    xmlrpc_value *v = xmlrpc_string("h\xc3\xa9llo");
    CHECK(v->type == XMLRPC_STRING);
    CHECK_INTEQ(v->u.s.len, 6);
    CHECK_STREQ(v->u.s.ptr, "h\xc3\xa9llo");
    xmlrpc_value_free(v);

    v = xmlrpc_string("");
    CHECK_INTEQ(v->u.s.len, 0);
    CHECK(v->u.s.ptr && v->u.s.ptr[0] == '\0');
    xmlrpc_value_free(v);

    /* _n copies exactly len bytes (embedded NUL kept) and terminates the copy. */
    const char src[] = "ab\0cdXYZ";
    v = xmlrpc_string_n(src, 5);
    CHECK_INTEQ(v->u.s.len, 5);
    CHECK_MEMEQ(v->u.s.ptr, v->u.s.len, "ab\0cd", 5);
    CHECK(v->u.s.ptr[5] == '\0');
    CHECK(v->u.s.ptr != src);
    xmlrpc_value_free(v);

    char *owned = strdup("taken");
    v = xmlrpc_string_take(owned);
    CHECK(v->u.s.ptr == owned);
    CHECK_INTEQ(v->u.s.len, 5);
    xmlrpc_value_free(v); /* frees owned: valgrind sees a leak or double free otherwise */

    const unsigned char bytes[] = {0x00, 0xff, 0x80, 0x00, 0x7f};
    v = xmlrpc_base64(bytes, sizeof(bytes));
    CHECK(v->type == XMLRPC_BASE64);
    CHECK_MEMEQ(v->u.s.ptr, v->u.s.len, bytes, sizeof(bytes));
    CHECK(v->u.s.ptr[sizeof(bytes)] == '\0');
    xmlrpc_value_free(v);

    v = xmlrpc_base64("", 0);
    CHECK(v->type == XMLRPC_BASE64 && v->u.s.len == 0 && v->u.s.ptr);
    xmlrpc_value_free(v);
}

static void test_struct(void)
{
    xmlrpc_value *st = xmlrpc_struct();
    CHECK(st->type == XMLRPC_STRUCT);
    CHECK(xmlrpc_struct_get(st, "a") == NULL);

    char name[8] = "a";
    xmlrpc_struct_set(st, name, xmlrpc_int(1));
    name[0] = 'z'; /* the name was copied */
    xmlrpc_struct_set(st, "b", xmlrpc_string("two"));
    CHECK_INTEQ(st->u.st.n, 2);
    xmlrpc_value *a = xmlrpc_struct_get(st, "a");
    CHECK(a && a->type == XMLRPC_INT && a->u.i == 1);
    CHECK(xmlrpc_struct_get(st, "z") == NULL);
    CHECK(xmlrpc_struct_get(st, "") == NULL);
    CHECK(xmlrpc_struct_get(st, "A") == NULL); /* names are case-sensitive */

    /* Replacing keeps one member and frees the old value (valgrind checks the free). */
    xmlrpc_struct_set(st, "a", xmlrpc_string("replaced"));
    CHECK_INTEQ(st->u.st.n, 2);
    a = xmlrpc_struct_get(st, "a");
    CHECK(a && a->type == XMLRPC_STRING);
    CHECK_STREQ(a ? a->u.s.ptr : NULL, "replaced");
    xmlrpc_value *b = xmlrpc_struct_get(st, "b");
    CHECK_STREQ(b ? b->u.s.ptr : NULL, "two");

    /* An empty name is an ordinary name. */
    xmlrpc_struct_set(st, "", xmlrpc_nil());
    CHECK(xmlrpc_struct_get(st, "") && xmlrpc_struct_get(st, "")->type == XMLRPC_NIL);
    CHECK_INTEQ(st->u.st.n, 3);

    /* struct_get on something that is not a struct finds nothing. */
    xmlrpc_value *arr = xmlrpc_array();
    CHECK(xmlrpc_struct_get(arr, "a") == NULL);
    xmlrpc_value_free(arr);

    /* Many members: every one reachable, replacement still unique. */
    xmlrpc_value *big = xmlrpc_struct();
    for (int i = 0; i < 2000; i++) {
        char n[16];
        snprintf(n, sizeof(n), "m%d", i);
        xmlrpc_struct_set(big, n, xmlrpc_int(i));
    }
    xmlrpc_struct_set(big, "m1000", xmlrpc_int(-1));
    CHECK_INTEQ(big->u.st.n, 2000);
    CHECK_INTEQ(xmlrpc_struct_get(big, "m1000")->u.i, -1);
    CHECK_INTEQ(xmlrpc_struct_get(big, "m1999")->u.i, 1999);
    CHECK_INTEQ(xmlrpc_struct_get(big, "m0")->u.i, 0);
    xmlrpc_value_free(big);

    xmlrpc_value_free(st);
}

static void test_array(void)
{
    xmlrpc_value *arr = xmlrpc_array();
    CHECK(arr->type == XMLRPC_ARRAY);
    CHECK_INTEQ(xmlrpc_array_size(arr), 0);
    for (int i = 0; i < 1000; i++)
        xmlrpc_array_append(arr, xmlrpc_int(i * 3));
    CHECK_INTEQ(xmlrpc_array_size(arr), 1000);
    CHECK_INTEQ(xmlrpc_array_get(arr, 0)->u.i, 0);
    CHECK_INTEQ(xmlrpc_array_get(arr, 999)->u.i, 2997);
    /* mixed types are allowed */
    xmlrpc_array_append(arr, xmlrpc_string("x"));
    xmlrpc_array_append(arr, xmlrpc_struct());
    CHECK(xmlrpc_array_get(arr, 1000)->type == XMLRPC_STRING);
    CHECK(xmlrpc_array_get(arr, 1001)->type == XMLRPC_STRUCT);
    xmlrpc_value_free(arr);
}

/* A tree holding one value of every type, for copy/equal tests. */
static xmlrpc_value *sample_tree(void)
{
    xmlrpc_value *st = xmlrpc_struct();
    xmlrpc_struct_set(st, "int", xmlrpc_int(-7));
    xmlrpc_struct_set(st, "i8", xmlrpc_i8(INT64_C(1) << 40));
    xmlrpc_struct_set(st, "bool", xmlrpc_bool(true));
    xmlrpc_struct_set(st, "double", xmlrpc_double(0.1));
    xmlrpc_struct_set(st, "string", xmlrpc_string_n("a\0b", 3));
    xmlrpc_struct_set(st, "base64", xmlrpc_base64("\x00\x01\x02", 3));
    xmlrpc_struct_set(st, "when", xmlrpc_datetime(900684535));
    xmlrpc_struct_set(st, "nil", xmlrpc_nil());
    xmlrpc_value *arr = xmlrpc_array();
    xmlrpc_array_append(arr, xmlrpc_int(1));
    xmlrpc_value *inner = xmlrpc_struct();
    xmlrpc_struct_set(inner, "deep", xmlrpc_array());
    xmlrpc_array_append(arr, inner);
    xmlrpc_struct_set(st, "array", arr);
    return st;
}

static void test_copy_equal(void)
{
    xmlrpc_value *t = sample_tree();
    xmlrpc_value *c = xmlrpc_value_copy(t);
    CHECK(c != t);
    CHECK(xmlrpc_value_equal(t, c));
    CHECK(xmlrpc_value_equal(c, t));
    CHECK(xmlrpc_value_equal(t, t));

    /* The copy is deep: changing it leaves the original alone. */
    xmlrpc_value *carr = xmlrpc_struct_get(c, "array");
    CHECK(carr != xmlrpc_struct_get(t, "array"));
    CHECK(xmlrpc_struct_get(c, "string")->u.s.ptr != xmlrpc_struct_get(t, "string")->u.s.ptr);
    xmlrpc_array_append(carr, xmlrpc_nil());
    CHECK_INTEQ(xmlrpc_array_size(xmlrpc_struct_get(t, "array")), 2);
    CHECK(!xmlrpc_value_equal(t, c));
    xmlrpc_value_free(c);

    /* Member order does not matter. */
    xmlrpc_value *x = xmlrpc_struct(), *y = xmlrpc_struct();
    xmlrpc_struct_set(x, "a", xmlrpc_int(1));
    xmlrpc_struct_set(x, "b", xmlrpc_string("s"));
    xmlrpc_struct_set(x, "c", xmlrpc_nil());
    xmlrpc_struct_set(y, "c", xmlrpc_nil());
    xmlrpc_struct_set(y, "a", xmlrpc_int(1));
    xmlrpc_struct_set(y, "b", xmlrpc_string("s"));
    CHECK(xmlrpc_value_equal(x, y));
    CHECK(xmlrpc_value_equal(y, x));
    /* same size, one value differs */
    xmlrpc_struct_set(y, "b", xmlrpc_string("t"));
    CHECK(!xmlrpc_value_equal(x, y));
    /* same size, one name differs */
    xmlrpc_value *z = xmlrpc_struct();
    xmlrpc_struct_set(z, "a", xmlrpc_int(1));
    xmlrpc_struct_set(z, "b", xmlrpc_string("s"));
    xmlrpc_struct_set(z, "d", xmlrpc_nil());
    CHECK(!xmlrpc_value_equal(x, z));
    CHECK(!xmlrpc_value_equal(z, x));
    /* subset is not equal either way */
    xmlrpc_value *w = xmlrpc_struct();
    xmlrpc_struct_set(w, "a", xmlrpc_int(1));
    CHECK(!xmlrpc_value_equal(x, w));
    CHECK(!xmlrpc_value_equal(w, x));
    xmlrpc_value_free(x);
    xmlrpc_value_free(y);
    xmlrpc_value_free(z);
    xmlrpc_value_free(w);

    /* Array order does matter. */
    x = xmlrpc_array();
    y = xmlrpc_array();
    xmlrpc_array_append(x, xmlrpc_int(1));
    xmlrpc_array_append(x, xmlrpc_int(2));
    xmlrpc_array_append(y, xmlrpc_int(2));
    xmlrpc_array_append(y, xmlrpc_int(1));
    CHECK(!xmlrpc_value_equal(x, y));
    xmlrpc_value_free(x);
    xmlrpc_value_free(y);

    /* Type differences and length-aware string comparison. */
    struct {
        xmlrpc_value *a, *b;
        bool equal;
    } cases[] = {
        {xmlrpc_int(1), xmlrpc_bool(true), false},
        {xmlrpc_int(5), xmlrpc_double(5.0), false},
        {xmlrpc_string("abc"), xmlrpc_base64("abc", 3), false},
        {xmlrpc_string_n("a\0b", 3), xmlrpc_string_n("a\0c", 3), false},
        {xmlrpc_string_n("a\0b", 3), xmlrpc_string("a"), false},
        {xmlrpc_string_n("a\0b", 3), xmlrpc_string_n("a\0b", 3), true},
        {xmlrpc_base64("\x00\x01", 2), xmlrpc_base64("\x00\x02", 2), false},
        {xmlrpc_base64("", 0), xmlrpc_base64("", 0), true},
        {xmlrpc_string(""), xmlrpc_nil(), false},
        {xmlrpc_nil(), xmlrpc_nil(), true},
        {xmlrpc_array(), xmlrpc_struct(), false},
        {xmlrpc_array(), xmlrpc_array(), true},
        {xmlrpc_struct(), xmlrpc_struct(), true},
        {xmlrpc_double(0.0), xmlrpc_double(-0.0), false}, /* bit-exact: the wire differs */
        {xmlrpc_double(0.1), xmlrpc_double(0.2), false},
        {xmlrpc_i8(7), xmlrpc_i8(7), true},
        {xmlrpc_i8(7), xmlrpc_i8(8), false},
        {xmlrpc_bool(false), xmlrpc_bool(true), false},
        {xmlrpc_datetime(0), xmlrpc_datetime(1), false},
        {xmlrpc_datetime(86400), xmlrpc_datetime(86400), true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_MSG(xmlrpc_value_equal(cases[i].a, cases[i].b) == cases[i].equal, "case %zu", i);
        CHECK_MSG(xmlrpc_value_equal(cases[i].b, cases[i].a) == cases[i].equal, "case %zu", i);
        xmlrpc_value *ca = xmlrpc_value_copy(cases[i].a);
        CHECK_MSG(xmlrpc_value_equal(ca, cases[i].a), "copy of case %zu", i);
        xmlrpc_value_free(ca);
        xmlrpc_value_free(cases[i].a);
        xmlrpc_value_free(cases[i].b);
    }
    xmlrpc_value_free(t);
}

static void test_free_null(void)
{
    xmlrpc_value_free(NULL);
    CHECK(1);
}

/* Build a chain of nested arrays and run one operation on it in a child process, so a
 * recursion that overflows the stack fails a check instead of killing the test program. */
static int deep_op_in_child(unsigned depth, const char *op)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        xmlrpc_value *root = xmlrpc_array(), *cur = root;
        for (unsigned i = 1; i < depth; i++) {
            xmlrpc_value *next = xmlrpc_array();
            xmlrpc_array_append(cur, next);
            cur = next;
        }
        int ok = 1;
        if (strcmp(op, "copy") == 0) {
            xmlrpc_value *copy = xmlrpc_value_copy(root);
            ok = copy != NULL && copy != root;
            xmlrpc_value_free(copy);
            xmlrpc_value_free(root);
        } else if (strcmp(op, "equal") == 0) {
            xmlrpc_value *other = xmlrpc_array(), *o = other;
            for (unsigned i = 1; i < depth; i++) {
                xmlrpc_value *next = xmlrpc_array();
                xmlrpc_array_append(o, next);
                o = next;
            }
            ok = xmlrpc_value_equal(root, other);
            xmlrpc_value_free(other);
            xmlrpc_value_free(root);
        } else {
            xmlrpc_value_free(root);
        }
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

static void test_deep_tree(void)
{
    /* Values built in code have no depth limit (the decoder caps only what arrives off the
     * wire, and its max_depth is configurable): copy, equal and free must cope with a deep
     * chain instead of recursing once per level. */
    static const char *const ops[] = {"free", "copy", "equal"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        int st = deep_op_in_child(100000, ops[i]);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s of 100000 nested arrays: status %#x%s",
                  ops[i], st,
                  WIFSIGNALED(st) ? " (killed by a signal: stack overflow from recursion?)" : "");
    }
}

static void test_datetime_parse(void)
{
    char out[18];
    memset(out, 'x', sizeof(out));
    CHECK_INTEQ(xmlrpc_datetime_parse("19980717T14:08:55", 17, out), 0);
    CHECK_STREQ(out, "19980717T14:08:55");

    /* len is honoured: trailing bytes past len are not read as part of the value */
    memset(out, 'x', sizeof(out));
    CHECK_INTEQ(xmlrpc_datetime_parse("20000229T23:59:59Zjunk", 17, out), 0);
    CHECK_STREQ(out, "20000229T23:59:59");

    const char *valid[] = {
        "00010101T00:00:00", "99991231T23:59:59", "20000229T12:00:00", /* 2000 is leap */
        "20240229T00:00:00", "19700101T00:00:00", "20230131T00:00:00", "20230430T00:00:00",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        CHECK_MSG(xmlrpc_datetime_parse(valid[i], strlen(valid[i]), out) == 0 &&
                      strcmp(out, valid[i]) == 0,
                  "valid \"%s\" refused", valid[i]);

    const char *invalid[] = {
        "",
        "19980717T14:08:5",        /* 16 chars */
        "19980717T14:08:555",      /* 18 chars */
        "19980717T14:08:55Z",      /* time zone */
        "19980717T14:08:55+01:00", /* time zone */
        "19980717T14:08:55.123",   /* fraction */
        "1998-07-17T14:08:55",     /* extended ISO form is not the XML-RPC form */
        "19980717 14:08:55",       /* no T */
        "19980717t14:08:55",       /* lowercase t */
        "19980717T140855",         /* no colons */
        "19980717T14-08-55",
        "19980017T14:08:55", /* month 00 */
        "19981317T14:08:55", /* month 13 */
        "19980700T14:08:55", /* day 00 */
        "19980732T14:08:55", /* day 32 */
        "19980431T14:08:55", /* April has 30 days */
        "19980631T00:00:00", /* June has 30 days */
        "20010229T00:00:00", /* 2001 is not a leap year */
        "19000229T00:00:00", /* 1900 is not a leap year */
        "19980230T00:00:00", /* never */
        "19980717T24:00:00", /* hour 24 */
        "19980717T25:08:55",
        "19980717T14:60:55", /* minute 60 */
        "19980717T14:08:61", /* second 61 */
        "1998O717T14:08:55", /* letter O */
        "+9980717T14:08:55", /* sign */
        "-9980717T14:08:55",
        " 9980717T14:08:55", /* space */
        "19980717T14:08: 5",
        "19980717T1 :08:55",
        ("\xef\xbc\x91"
         "80717T14:08:55"), /* fullwidth digit one: not an ASCII digit */
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        CHECK_MSG(xmlrpc_datetime_parse(invalid[i], strlen(invalid[i]), out) == -1,
                  "invalid \"%s\" accepted", invalid[i]);
    /* a valid value cut short by len */
    CHECK_INTEQ(xmlrpc_datetime_parse("19980717T14:08:55", 16, out), -1);
    /* NUL inside the counted length */
    CHECK_INTEQ(xmlrpc_datetime_parse("19980717T14:08\0005", 17, out), -1);
}

static void test_datetime_time(void)
{
    struct {
        time_t t;
        const char *text;
    } cases[] = {
        {0, "19700101T00:00:00"},
        {900684535, "19980717T14:08:55"},
        {951825600, "20000229T12:00:00"},
        {-1, "19691231T23:59:59"},
        {INT32_MAX, "20380119T03:14:07"},
        {(time_t)INT32_MAX + 1, "20380119T03:14:08"}, /* past 2038 */
        {253402300799, "99991231T23:59:59"},
        {-62135596800, "00010101T00:00:00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xmlrpc_value *v = xmlrpc_datetime(cases[i].t);
        CHECK_MSG(v != NULL, "xmlrpc_datetime(%lld) failed", (long long)cases[i].t);
        if (!v)
            continue;
        CHECK(v->type == XMLRPC_DATETIME);
        CHECK_STREQ(v->u.s.ptr, cases[i].text);
        CHECK_INTEQ(v->u.s.len, 17);
        time_t back = 12345;
        CHECK_INTEQ(xmlrpc_datetime_to_time(v, &back), 0);
        CHECK_INTEQ(back, cases[i].t);
        xmlrpc_value_free(v);
    }

    /* Years that need five digits (or are negative) cannot be written. */
    xend_error_reset();
    CHECK(xmlrpc_datetime(253402300800) == NULL); /* 10000-01-01 */
    CHECK_ERROR(XEND_ERR_INVALID_ARG);
    xend_error_reset();
    CHECK(xmlrpc_datetime(-62167219200 - 86400) == NULL); /* 31 Dec of year -1 */
    CHECK_ERROR(XEND_ERR_INVALID_ARG);

    /* Conversion of something that is not a dateTime is refused. */
    xmlrpc_value *s = xmlrpc_string("19980717T14:08:55");
    time_t t = 77;
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_datetime_to_time(s, &t), -1);
    CHECK_ERROR(XEND_ERR_INVALID_ARG);
    xmlrpc_value_free(s);
}

static void test_type_names(void)
{
    static const struct {
        xmlrpc_type t;
        const char *name;
    } names[] = {
        {XMLRPC_INT, "int"},       {XMLRPC_I8, "i8"},         {XMLRPC_BOOL, "boolean"},
        {XMLRPC_STRING, "string"}, {XMLRPC_DOUBLE, "double"}, {XMLRPC_DATETIME, "dateTime.iso8601"},
        {XMLRPC_BASE64, "base64"}, {XMLRPC_STRUCT, "struct"}, {XMLRPC_ARRAY, "array"},
        {XMLRPC_NIL, "nil"},
    };
    CHECK_INTEQ(sizeof(names) / sizeof(names[0]), XMLRPC_TYPE_LAST);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CHECK_STREQ(xmlrpc_type_name(names[i].t), names[i].name);
        CHECK_INTEQ(xmlrpc_type_parse(names[i].name), names[i].t);
    }
    CHECK_INTEQ(xmlrpc_type_parse("i4"), XMLRPC_INT);
    CHECK_INTEQ(xmlrpc_type_parse("bogus"), -1);
    CHECK_INTEQ(xmlrpc_type_parse(""), -1);
    CHECK_INTEQ(xmlrpc_type_parse("Int"), -1); /* XML names are case-sensitive */
    CHECK_INTEQ(xmlrpc_type_parse("datetime"), -1);
    CHECK_INTEQ(xmlrpc_type_parse("int "), -1);
}

int main(void)
{
    test_scalars();
    test_strings();
    test_struct();
    test_array();
    test_copy_equal();
    test_free_null();
    test_datetime_parse();
    test_datetime_time();
    test_type_names();
    test_deep_tree();
    return check_summary("test-value");
}
