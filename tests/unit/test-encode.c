/*
 * Unit tests of the XML-RPC encoder (xmlrpc/codec.h): the exact bytes written for each type,
 * calls, responses and faults; round trips through the decoder for every type and for the
 * hard cases (integer extremes, doubles that must be written without an exponent yet read
 * back bit-exact, strings with markup characters, CR, astral characters); refusal of what
 * XML 1.0 cannot carry, of non-finite doubles and of over-deep nesting; and the text check.
 */
#include "check-error.h"
#include "check.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "xmlrpc/codec.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static xmlrpc_decoder *dec;

static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/* Encode v alone and compare with want exactly; takes ownership of v. */
static void expect_value(xmlrpc_value *v, const char *want)
{
    xbuf b = XBUF_INIT;
    xend_error_reset();
    int rc = xmlrpc_encode_value(&b, v);
    CHECK_MSG(rc == 0, "encode failed: %s", xend_error_last()->message);
    CHECK_STREQ(b.data, want);
    CHECK_INTEQ(b.len, strlen(want));
    xbuf_clear(&b);
    xmlrpc_value_free(v);
}

/* Encode v (borrowed) and expect a refusal with code; the message contains needle. */
static void expect_refused(const xmlrpc_value *v, int code, const char *needle)
{
    xbuf b = XBUF_INIT;
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_encode_value(&b, v), -1);
    if (needle)
        CHECK_ERROR(code, needle);
    else
        CHECK_ERROR(code);
    xbuf_clear(&b);
}

static void test_exact_scalars(void)
{
    expect_value(xmlrpc_int(42), "<value><int>42</int></value>");
    expect_value(xmlrpc_int(0), "<value><int>0</int></value>");
    expect_value(xmlrpc_int(INT32_MIN), "<value><int>-2147483648</int></value>");
    expect_value(xmlrpc_int(INT32_MAX), "<value><int>2147483647</int></value>");
    expect_value(xmlrpc_i8(INT64_MIN), "<value><i8>-9223372036854775808</i8></value>");
    expect_value(xmlrpc_i8(INT64_MAX), "<value><i8>9223372036854775807</i8></value>");
    expect_value(xmlrpc_bool(true), "<value><boolean>1</boolean></value>");
    expect_value(xmlrpc_bool(false), "<value><boolean>0</boolean></value>");
    expect_value(xmlrpc_nil(), "<value><nil/></value>");

    expect_value(xmlrpc_double(1.5), "<value><double>1.5</double></value>");
    expect_value(xmlrpc_double(-0.25), "<value><double>-0.25</double></value>");
    expect_value(xmlrpc_double(0.0), "<value><double>0.0</double></value>");
    expect_value(xmlrpc_double(-0.0), "<value><double>-0.0</double></value>");
    expect_value(xmlrpc_double(0.1), "<value><double>0.1</double></value>");
    expect_value(xmlrpc_double(100.0), "<value><double>100.0</double></value>");
    expect_value(xmlrpc_double(123456789.125), "<value><double>123456789.125</double></value>");
    expect_value(xmlrpc_double(1e21), "<value><double>1000000000000000000000.0</double></value>");
    expect_value(xmlrpc_double(1e-7), "<value><double>0.0000001</double></value>");
    expect_value(xmlrpc_double(-2.5e-3), "<value><double>-0.0025</double></value>");

    expect_value(xmlrpc_string("hello"), "<value><string>hello</string></value>");
    expect_value(xmlrpc_string(""), "<value><string></string></value>");
    expect_value(xmlrpc_string("a<b&c>d"), "<value><string>a&lt;b&amp;c&gt;d</string></value>");
    expect_value(xmlrpc_string("x]]>y"), "<value><string>x]]&gt;y</string></value>");
    expect_value(xmlrpc_string("\"q\" 'a'"), "<value><string>\"q\" 'a'</string></value>");
    expect_value(xmlrpc_string("a\rb\r\nc"), "<value><string>a&#13;b&#13;\nc</string></value>");
    expect_value(xmlrpc_string("t\tl\n\x7f"), "<value><string>t\tl\n\x7f</string></value>");
    expect_value(xmlrpc_string("caf\xc3\xa9 \xf0\x9f\x98\x80"),
                 "<value><string>caf\xc3\xa9 \xf0\x9f\x98\x80</string></value>");

    expect_value(xmlrpc_datetime(900684535),
                 "<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>");
    expect_value(xmlrpc_base64("hello", 5), "<value><base64>aGVsbG8=</base64></value>");
    expect_value(xmlrpc_base64("hell", 4), "<value><base64>aGVsbA==</base64></value>");
    expect_value(xmlrpc_base64("hel", 3), "<value><base64>aGVs</base64></value>");
    expect_value(xmlrpc_base64("", 0), "<value><base64></base64></value>");
    expect_value(xmlrpc_base64("\x00\xff\xfe", 3), "<value><base64>AP/+</base64></value>");
}

static void test_exact_compounds(void)
{
    xmlrpc_value *a = xmlrpc_array();
    expect_value(a, "<value><array><data></data></array></value>");
    a = xmlrpc_array();
    xmlrpc_array_append(a, xmlrpc_int(1));
    xmlrpc_array_append(a, xmlrpc_string("a"));
    expect_value(a, "<value><array><data><value><int>1</int></value>"
                    "<value><string>a</string></value></data></array></value>");
    xmlrpc_value *s = xmlrpc_struct();
    expect_value(s, "<value><struct></struct></value>");
    s = xmlrpc_struct();
    xmlrpc_struct_set(s, "a&b", xmlrpc_int(1));
    expect_value(s, "<value><struct><member><name>a&amp;b</name><value><int>1</int></value>"
                    "</member></struct></value>");

    /* Encoders append to what the buffer already holds. */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "PREFIX");
    xmlrpc_value *v = xmlrpc_int(7);
    CHECK_INTEQ(xmlrpc_encode_value(&b, v), 0);
    CHECK_STREQ(b.data, "PREFIX<value><int>7</int></value>");
    xmlrpc_value_free(v);
    xbuf_clear(&b);
}

static void test_exact_documents(void)
{
    xbuf b = XBUF_INIT;
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, xmlrpc_int(1));
    xmlrpc_array_append(params, xmlrpc_string("x"));
    CHECK_INTEQ(xmlrpc_encode_call(&b, "domain.start", params), 0);
    XEND_AUTOFREE char *want_call =
        xasprintf("%s<methodCall><methodName>domain.start</methodName><params>"
                  "<param><value><int>1</int></value></param>"
                  "<param><value><string>x</string></value></param>"
                  "</params></methodCall>\n",
                  decl);
    CHECK_STREQ(b.data, want_call);
    xbuf_reset(&b);

    xmlrpc_value *empty = xmlrpc_array();
    CHECK_INTEQ(xmlrpc_encode_call(&b, "system.listMethods", empty), 0);
    XEND_AUTOFREE char *want_empty =
        xasprintf("%s<methodCall><methodName>system.listMethods</methodName><params></params>"
                  "</methodCall>\n",
                  decl);
    CHECK_STREQ(b.data, want_empty);
    xbuf_reset(&b);

    /* params must be an array */
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_encode_call(&b, "m", params->u.a.items[0]), -1);
    CHECK_ERROR(XEND_ERR_PROTOCOL_INTERNAL, "array");
    xbuf_reset(&b);

    /* a method name XML cannot carry */
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_encode_call(&b, "bad\x01name", empty), -1);
    CHECK_ERROR(XEND_ERR_INVALID_CHAR);
    xbuf_reset(&b);

    xmlrpc_value *r = xmlrpc_string("ok");
    CHECK_INTEQ(xmlrpc_encode_response(&b, r), 0);
    XEND_AUTOFREE char *want_resp =
        xasprintf("%s<methodResponse><params><param><value><string>ok</string></value>"
                  "</param></params></methodResponse>\n",
                  decl);
    CHECK_STREQ(b.data, want_resp);
    xbuf_reset(&b);

    xmlrpc_encode_fault(&b, 4, "access <denied>");
    XEND_AUTOFREE char *want_fault =
        xasprintf("%s<methodResponse><fault><value><struct><member><name>faultCode</name><value>"
                  "<int>4</int></value></member><member><name>faultString</name><value><string>"
                  "access &lt;denied&gt;</string></value></member></struct></value></fault>"
                  "</methodResponse>\n",
                  decl);
    CHECK_STREQ(b.data, want_fault);
    xbuf_clear(&b);
    xmlrpc_value_free(r);
    xmlrpc_value_free(params);
    xmlrpc_value_free(empty);
}

/* Encode v as a call parameter and as a response, decode both, compare. Borrowed v. */
static bool round_trip(const xmlrpc_value *v, const char *what)
{
    bool ok = true;
    xbuf b = XBUF_INIT;
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, xmlrpc_value_copy(v));
    xend_error_reset();
    if (xmlrpc_encode_call(&b, "rt", params) < 0) {
        CHECK_MSG(0, "%s: encode_call failed: %s", what, xend_error_last()->message);
        ok = false;
    } else {
        char *m = NULL;
        xmlrpc_value *back = NULL;
        if (xmlrpc_decode_call(dec, b.data, b.len, &m, &back) < 0) {
            CHECK_MSG(0, "%s: decode_call failed: %s", what, xend_error_last()->message);
            ok = false;
        } else {
            CHECK_STREQ(m, "rt");
            bool eq = xmlrpc_value_equal(back, params);
            CHECK_MSG(eq, "%s: call round trip differs; wire: %.300s", what, b.data);
            ok = ok && eq;
        }
        free(m);
        xmlrpc_value_free(back);
    }
    xbuf_reset(&b);
    if (xmlrpc_encode_response(&b, v) < 0) {
        CHECK_MSG(0, "%s: encode_response failed: %s", what, xend_error_last()->message);
        ok = false;
    } else {
        xmlrpc_response r;
        if (xmlrpc_decode_response(dec, b.data, b.len, &r) < 0) {
            CHECK_MSG(0, "%s: decode_response failed: %s", what, xend_error_last()->message);
            ok = false;
        } else {
            bool eq = !r.is_fault && r.result && xmlrpc_value_equal(r.result, v);
            CHECK_MSG(eq, "%s: response round trip differs", what);
            ok = ok && eq;
            xmlrpc_response_clear(&r);
        }
    }
    xbuf_clear(&b);
    xmlrpc_value_free(params);
    return ok;
}

static void round_trip_free(xmlrpc_value *v, const char *what)
{
    round_trip(v, what);
    xmlrpc_value_free(v);
}

static void test_round_trip_types(void)
{
    round_trip_free(xmlrpc_int(0), "int 0");
    round_trip_free(xmlrpc_int(INT32_MIN), "int32 min");
    round_trip_free(xmlrpc_int(INT32_MAX), "int32 max");
    round_trip_free(xmlrpc_i8(INT64_MIN), "i8 min");
    round_trip_free(xmlrpc_i8(INT64_MAX), "i8 max");
    round_trip_free(xmlrpc_i8(5), "small i8");
    round_trip_free(xmlrpc_bool(true), "true");
    round_trip_free(xmlrpc_bool(false), "false");
    round_trip_free(xmlrpc_nil(), "nil");
    round_trip_free(xmlrpc_datetime(0), "epoch");
    round_trip_free(xmlrpc_datetime(253402300799), "9999");
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    for (size_t n = 0; n <= 5; n++)
        round_trip_free(xmlrpc_base64(bytes, n), "short base64");
    round_trip_free(xmlrpc_base64(bytes, 256), "all bytes base64");
    round_trip_free(xmlrpc_array(), "empty array");
    round_trip_free(xmlrpc_struct(), "empty struct");

    xmlrpc_value *all = xmlrpc_struct();
    xmlrpc_struct_set(all, "int", xmlrpc_int(-1));
    xmlrpc_struct_set(all, "i8", xmlrpc_i8(INT64_C(-5000000000)));
    xmlrpc_struct_set(all, "b", xmlrpc_bool(true));
    xmlrpc_struct_set(all, "d", xmlrpc_double(0.1));
    xmlrpc_struct_set(all, "s", xmlrpc_string("<&>"));
    xmlrpc_struct_set(all, "t", xmlrpc_datetime(900684535));
    xmlrpc_struct_set(all, "b64", xmlrpc_base64(bytes, 100));
    xmlrpc_struct_set(all, "nil", xmlrpc_nil());
    xmlrpc_struct_set(all, "<weird & name>\r\t", xmlrpc_string(""));
    xmlrpc_struct_set(all, "", xmlrpc_string("empty name"));
    xmlrpc_value *arr = xmlrpc_array();
    xmlrpc_array_append(arr, xmlrpc_value_copy(all));
    xmlrpc_array_append(arr, xmlrpc_array());
    xmlrpc_array_append(arr, xmlrpc_string("   "));
    xmlrpc_struct_set(all, "nested", arr);
    round_trip_free(all, "every type nested");
}

static bool has_exponent(const char *s)
{
    return strchr(s, 'e') || strchr(s, 'E');
}

/* Encode d, check the text has no exponent, round-trip it bit-exactly. */
static bool double_ok(double d, const char *what)
{
    xbuf b = XBUF_INIT;
    xmlrpc_value *v = xmlrpc_double(d);
    bool ok = xmlrpc_encode_value(&b, v) == 0;
    CHECK_MSG(ok, "%s (%.17g): encode failed", what, d);
    if (ok) {
        /* the text between the tags */
        const char *start = strstr(b.data, "<double>"), *end = strstr(b.data, "</double>");
        ok = start && end;
        if (ok) {
            start += 8;
            char *text = xstrndup(start, (size_t)(end - start));
            bool exp = has_exponent(text);
            CHECK_MSG(!exp, "%s (%.17g) written with an exponent: %s", what, d, text);
            double back = strtod(text, NULL);
            bool same = memcmp(&back, &d, sizeof(d)) == 0;
            CHECK_MSG(same, "%s: %.17g written as %s", what, d, text);
            ok = !exp && same;
            free(text);
        }
    }
    ok = round_trip(v, what) && ok;
    xmlrpc_value_free(v);
    xbuf_clear(&b);
    return ok;
}

static void test_doubles(void)
{
    double_ok(0.1, "0.1");
    double_ok(1e300, "1e300");
    double_ok(-1e300, "-1e300");
    double_ok(1e-300, "1e-300");
    double_ok(-0.0, "-0.0");
    double_ok(0.0, "0.0");
    double_ok(123456789.125, "123456789.125");
    double_ok(DBL_MAX, "DBL_MAX");
    double_ok(-DBL_MAX, "-DBL_MAX");
    double_ok(DBL_MIN, "DBL_MIN");
    double_ok(nextafter(DBL_MIN, 0.0), "largest denormal");
    double_ok(4.9406564584124654e-324, "smallest denormal");
    double_ok(-4.9406564584124654e-324, "negative smallest denormal");
    double_ok(1.0 / 3.0, "1/3");
    double_ok(9007199254740993.0, "2^53+1 (rounds)");
    double_ok(9007199254740992.0, "2^53");
    double_ok(5e-324 * 3, "denormal 3");
    double_ok(0.30000000000000004, "0.1+0.2");

    /* A deterministic spread of bit patterns over the whole range. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    unsigned bad = 0;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof(d));
        if (!isfinite(d))
            continue;
        char what[64];
        snprintf(what, sizeof(what), "bits %016llx", (unsigned long long)x);
        if (!double_ok(d, what) && ++bad > 5)
            break;
    }
    CHECK_INTEQ(bad, 0);

    /* Non-finite doubles cannot be written (PROTOCOL_INTERNAL, as codec.h documents). */
    double nonfinite[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof(nonfinite) / sizeof(nonfinite[0]); i++) {
        xmlrpc_value *v = xmlrpc_double(0.0);
        v->u.d = nonfinite[i]; /* bypassing the constructor's precondition on purpose */
        expect_refused(v, XEND_ERR_PROTOCOL_INTERNAL, "double");
        xbuf b = XBUF_INIT;
        xend_error_reset();
        CHECK_INTEQ(xmlrpc_encode_response(&b, v), -1);
        CHECK_ERROR(XEND_ERR_PROTOCOL_INTERNAL);
        xbuf_clear(&b);
        xmlrpc_value *arr = xmlrpc_array();
        xmlrpc_array_append(arr, v);
        expect_refused(arr, XEND_ERR_PROTOCOL_INTERNAL, NULL);
        xmlrpc_value_free(arr);
    }
}

static void test_strings(void)
{
    static const struct {
        const char *s;
        size_t len;
    } good[] = {
        {"<&>", 3},
        {"]]>", 3},
        {"<![CDATA[x]]>", 13},
        {"&amp;&lt;", 9},
        {"\r", 1},
        {"\r\n", 2},
        {"a\r\rb\n\r", 6},
        {"\t", 1},
        {"\n", 1},
        {" lead and trail ", 16},
        {"\x7f", 1},
        {"caf\xc3\xa9", 5},
        {"\xe2\x82\xac", 3},
        {"\xf0\x9f\x98\x80", 4}, /* astral (U+1F600) */
        {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF */
        {"\xef\xbf\xbd", 3},     /* U+FFFD */
        {"\xee\x80\x80", 3},     /* U+E000 */
        {"\xed\x9f\xbf", 3},     /* U+D7FF */
        {"\xc2\x80\xc2\x9f", 4}, /* C1 controls are allowed in XML 1.0 */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char what[32];
        snprintf(what, sizeof(what), "good string %zu", i);
        CHECK_MSG(xmlrpc_text_check(good[i].s, good[i].len) == -1, "%s: text_check", what);
        round_trip_free(xmlrpc_string_n(good[i].s, good[i].len), what);
        /* and as a member name */
        xmlrpc_value *st = xmlrpc_struct();
        xmlrpc_struct_set(st, good[i].s, xmlrpc_int(1));
        round_trip_free(st, what);
    }

    /* One long string with every escapable character repeated. */
    xbuf big = XBUF_INIT;
    for (int i = 0; i < 20000; i++)
        xbuf_adds(&big, "<a&b>]]>\r\n\t\xc3\xa9");
    round_trip_free(xmlrpc_string_n(big.data, big.len), "long string");
    xbuf_clear(&big);

    /* What XML 1.0 cannot carry is refused (INVALID_CHAR), naming the byte offset. */
    static const struct {
        const char *s;
        size_t len;
        long bad_at;
    } bad[] = {
        {"ab\x01", 3, 2},
        {"\x1f", 1, 0},
        {"a\0b", 3, 1},
        {"x\x0b", 2, 1},          /* vertical tab */
        {"x\x0c", 2, 1},          /* form feed */
        {"ok\xef\xbf\xbe", 5, 2}, /* U+FFFE */
        {"ok\xef\xbf\xbf", 5, 2}, /* U+FFFF */
        {"\xff", 1, 0},
        {"abc\xc3", 4, 3}, /* truncated at the end */
        {"\xc3(", 2, 0},
        {"\xc0\x80", 2, 0},         /* overlong NUL */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0},     /* overlong */
        {"\xf0\x80\x80\xaf", 4, 0}, /* overlong */
        {"\xed\xa0\x80", 3, 0},     /* surrogate */
        {"\xed\xbf\xbf", 3, 0},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xf8\x88\x80\x80\x80", 5, 0},
        {"\x80", 1, 0},                /* lone continuation byte */
        {"caf\xc3\xa9\xe2\x82", 7, 5}, /* truncated 3-byte sequence */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(xmlrpc_text_check(bad[i].s, bad[i].len) == bad[i].bad_at,
                  "bad string %zu: text_check %ld, want %ld", i,
                  xmlrpc_text_check(bad[i].s, bad[i].len), bad[i].bad_at);
        char where[32];
        snprintf(where, sizeof(where), "byte %ld", bad[i].bad_at);
        xmlrpc_value *v = xmlrpc_string_n(bad[i].s, bad[i].len);
        expect_refused(v, XEND_ERR_INVALID_CHAR, where);
        /* nested in an array and as a member name */
        xmlrpc_value *arr = xmlrpc_array();
        xmlrpc_array_append(arr, xmlrpc_int(1));
        xmlrpc_array_append(arr, v);
        expect_refused(arr, XEND_ERR_INVALID_CHAR, NULL);
        xmlrpc_value_free(arr);
        if (memchr(bad[i].s, '\0', bad[i].len) == NULL) {
            xmlrpc_value *st = xmlrpc_struct();
            xmlrpc_struct_set(st, bad[i].s, xmlrpc_int(1));
            expect_refused(st, XEND_ERR_INVALID_CHAR, NULL);
            xmlrpc_value_free(st);
        }
        /* a whole response is refused too */
        xbuf b = XBUF_INIT;
        xmlrpc_value *s = xmlrpc_string_n(bad[i].s, bad[i].len);
        xend_error_reset();
        CHECK_INTEQ(xmlrpc_encode_response(&b, s), -1);
        CHECK_ERROR(XEND_ERR_INVALID_CHAR);
        xmlrpc_value_free(s);
        xbuf_clear(&b);
    }
    CHECK_INTEQ(xmlrpc_text_check("", 0), -1);
    CHECK_INTEQ(xmlrpc_text_check("abc", 2), -1);
    CHECK_INTEQ(xmlrpc_text_check("ab\x01", 2), -1); /* len is honoured */
}

static void test_fault(void)
{
    static const struct {
        int code;
        const char *msg;
        const char *want;
    } cases[] = {
        {4, "access denied", "access denied"},
        {-32700, "<bad & worse>", "<bad & worse>"},
        {INT32_MIN, "", ""},
        {INT32_MAX, "cr\rlf\n", "cr\rlf\n"},
        /* sanitised: controls and invalid bytes become U+FFFD, the rest is kept */
        {1,
         "a\x01"
         "b",
         "a\xef\xbf\xbd"
         "b"},
        {1,
         "x\xff"
         "y",
         "x\xef\xbf\xbd"
         "y"},
        {1, "caf\xc3\xa9\x1b[0m", "caf\xc3\xa9\xef\xbf\xbd[0m"},
        {1, "\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xbuf b = XBUF_INIT;
        xmlrpc_encode_fault(&b, cases[i].code, cases[i].msg);
        CHECK_MSG(xmlrpc_text_check(b.data, b.len) == -1, "fault %zu not clean XML text", i);
        xmlrpc_response r;
        int rc = xmlrpc_decode_response(dec, b.data, b.len, &r);
        CHECK_MSG(rc == 0, "fault %zu does not decode: %s", i, xend_error_last()->message);
        if (rc == 0) {
            CHECK(r.is_fault && r.result == NULL);
            CHECK_INTEQ(r.fault_code, cases[i].code);
            CHECK_STREQ(r.fault_string, cases[i].want);
            xmlrpc_response_clear(&r);
        }
        xbuf_clear(&b);
    }

    /* Characters XML cannot carry never reach the wire, whatever the message holds. */
    char all[256];
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1);
    all[255] = '\0';
    xbuf b = XBUF_INIT;
    xmlrpc_encode_fault(&b, 2, all);
    CHECK_INTEQ(xmlrpc_text_check(b.data, b.len), -1);
    xmlrpc_response r;
    int rc = xmlrpc_decode_response(dec, b.data, b.len, &r);
    CHECK_MSG(rc == 0, "all-bytes fault does not decode: %s", xend_error_last()->message);
    if (rc == 0) {
        CHECK(r.is_fault && r.fault_code == 2);
        CHECK(strstr(r.fault_string, " !\"#$%&'()*+") && strstr(r.fault_string, "xyz{|}~\x7f"));
        CHECK(strstr(r.fault_string, "\xef\xbf\xbd") != NULL);
        xmlrpc_response_clear(&r);
    }
    xbuf_reset(&b);
    xmlrpc_encode_fault(&b, 2, "U+FFFE: \xef\xbf\xbe.");
    rc = xmlrpc_decode_response(dec, b.data, b.len, &r);
    CHECK_MSG(rc == 0, "fault with U+FFFE does not decode: %s", xend_error_last()->message);
    if (rc == 0) {
        CHECK(strstr(r.fault_string, "\xef\xbf\xbe") == NULL);
        CHECK(strncmp(r.fault_string, "U+FFFE: \xef\xbf\xbd", 11) == 0);
        xmlrpc_response_clear(&r);
    }

    /* A fault appends like every encoder; a long message is fine. */
    xbuf_reset(&b);
    xbuf long_msg = XBUF_INIT;
    for (int i = 0; i < 10000; i++)
        xbuf_adds(&long_msg, "0123456789");
    xmlrpc_encode_fault(&b, 1, long_msg.data);
    rc = xmlrpc_decode_response(dec, b.data, b.len, &r);
    CHECK(rc == 0 && r.is_fault && r.fault_string && strlen(r.fault_string) == 100000);
    if (rc == 0)
        xmlrpc_response_clear(&r);
    xbuf_clear(&long_msg);
    xbuf_clear(&b);
}

static xmlrpc_value *nested(unsigned levels, bool with_int, bool use_struct)
{
    xmlrpc_value *inner = with_int ? xmlrpc_int(1) : NULL;
    for (unsigned i = 0; i < levels; i++) {
        xmlrpc_value *c;
        if (use_struct && i % 2) {
            c = xmlrpc_struct();
            if (inner)
                xmlrpc_struct_set(c, "k", inner);
        } else {
            c = xmlrpc_array();
            if (inner)
                xmlrpc_array_append(c, inner);
        }
        inner = c;
    }
    return inner;
}

static void test_depth(void)
{
    /* Depth counts nested arrays/structs, as the decoder's max_depth does: 256 levels
     * are written, 257 are refused, whatever the innermost compound holds. */
    for (int with_int = 0; with_int < 2; with_int++) {
        for (int use_struct = 0; use_struct < 2; use_struct++) {
            xmlrpc_value *ok = nested(XMLRPC_ENCODE_MAX_DEPTH, with_int, use_struct);
            xbuf b = XBUF_INIT;
            xend_error_reset();
            CHECK_MSG(xmlrpc_encode_value(&b, ok) == 0, "%d levels (int %d, struct %d): %s",
                      XMLRPC_ENCODE_MAX_DEPTH, with_int, use_struct, xend_error_last()->message);
            xbuf_clear(&b);
            xmlrpc_value_free(ok);
            xmlrpc_value *deep = nested(XMLRPC_ENCODE_MAX_DEPTH + 1, with_int, use_struct);
            xend_error_reset();
            CHECK_MSG(xmlrpc_encode_value(&b, deep) == -1, "%d levels (int %d, struct %d) written",
                      XMLRPC_ENCODE_MAX_DEPTH + 1, with_int, use_struct);
            CHECK_ERROR(XEND_ERR_PROTOCOL_INTERNAL, "256");
            xbuf_clear(&b);
            xmlrpc_value_free(deep);
        }
    }
    /* Far beyond the limit: refused without deep recursion. */
    xmlrpc_value *deep = nested(20000, true, false);
    expect_refused(deep, XEND_ERR_PROTOCOL_INTERNAL, NULL);
    xbuf b = XBUF_INIT;
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_array_append(params, deep);
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_encode_call(&b, "m", params), -1);
    CHECK_ERROR(XEND_ERR_PROTOCOL_INTERNAL);
    xbuf_clear(&b);
    xmlrpc_value_free(params);
}

/* A pre-encoded (RAW) result gives the same reply bytes as the tree it stands for, whether
 * it has the head room to be adopted in place or not; numbers format as the encoder does. */
static void test_raw_results(void)
{
    xmlrpc_value *tree = xmlrpc_array();
    xmlrpc_array_append(tree, xmlrpc_int(-42));
    xmlrpc_array_append(tree, xmlrpc_string("a&b"));
    xbuf inner = XBUF_INIT, want = XBUF_INIT;
    CHECK(xmlrpc_encode_value(&inner, tree) == 0);
    CHECK(xmlrpc_encode_response(&want, tree) == 0);
    for (int in_place = 0; in_place < 2; in_place++) {
        size_t head = in_place ? xmlrpc_response_head_len() : 3;
        char *buf = xmalloc(head + inner.len + 1);
        memset(buf, ' ', head);
        memcpy(buf + head, inner.data, inner.len + 1);
        xmlrpc_value *raw = xmlrpc_raw_take(buf, head, inner.len);
        xmlrpc_value *copy = xmlrpc_value_copy(raw);
        CHECK(xmlrpc_value_equal(raw, copy));
        xmlrpc_value_free(copy);
        xbuf got = XBUF_INIT;
        CHECK(xmlrpc_encode_response_take(&got, raw) == 0);
        CHECK_MEMEQ(got.data, got.len, want.data, want.len);
        xbuf_clear(&got);
    }
    xbuf num = XBUF_INIT;
    xmlrpc_encode_int_text(&num, INT64_MIN);
    xbuf_addc(&num, ' ');
    xmlrpc_encode_int_text(&num, 0);
    xbuf_addc(&num, ' ');
    xmlrpc_encode_double_text(&num, 0.0);
    xbuf_addc(&num, ' ');
    xmlrpc_encode_double_text(&num, -0.0);
    CHECK_STREQ(num.data, "-9223372036854775808 0 0.0 -0.0");
    xbuf_clear(&num);
    xbuf_clear(&inner);
    xbuf_clear(&want);
    xmlrpc_value_free(tree);
}

int main(void)
{
    dec = xmlrpc_decoder_new(NULL);
    test_raw_results();
    test_exact_scalars();
    test_exact_compounds();
    test_exact_documents();
    test_round_trip_types();
    test_doubles();
    test_strings();
    test_fault();
    test_depth();
    xmlrpc_decoder_free(dec);
    return check_summary("test-encode");
}
