/*
 * Unit tests of the XML-RPC decoder (xmlrpc/codec.h): every type and its spec edge cases,
 * the grammar of methodCall and methodResponse, faults, hostile documents (DOCTYPE and
 * entities, deep nesting, bad UTF-8, truncation at every byte, trailing junk, other
 * encodings), the configurable limits, and reuse of one decoder across good and bad
 * documents. Every refusal is checked for its exact fault code and for a message that
 * says what was wrong and where ("line N").
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
#include <sys/wait.h>
#include <unistd.h>

static xmlrpc_decoder *dec;

static char *wrap_call(const char *value_xml)
{
    return xasprintf("<?xml version=\"1.0\"?>\n<methodCall><methodName>test.m</methodName>"
                     "<params><param>%s</param></params></methodCall>",
                     value_xml);
}

/* Decode a call document; returns its params (caller frees) or NULL with the error
 * reported. want_method, if not NULL, must match the decoded name. */
static xmlrpc_value *decode_doc(const char *doc, size_t len, const char *want_method)
{
    char *method = NULL;
    xmlrpc_value *params = NULL;
    xend_error_reset();
    if (xmlrpc_decode_call(dec, doc, len, &method, &params) < 0) {
        CHECK_MSG(xend_error_last()->code != 0, "decode failed without reporting an error");
        return NULL;
    }
    CHECK(method != NULL && params != NULL && params->type == XMLRPC_ARRAY);
    if (want_method)
        CHECK_STREQ(method, want_method);
    free(method);
    return params;
}

/* Decode a single <value> wrapped in a call; the value (caller frees) or NULL. */
static xmlrpc_value *decode_value(const char *value_xml)
{
    XEND_AUTOFREE char *doc = wrap_call(value_xml);
    xmlrpc_value *params = decode_doc(doc, strlen(doc), "test.m");
    if (!params)
        return NULL;
    xmlrpc_value *v = NULL;
    CHECK_MSG(params->u.a.n == 1, "%zu params decoded from %s", params->u.a.n, value_xml);
    if (params->u.a.n >= 1) {
        v = params->u.a.items[0];
        for (size_t i = 1; i < params->u.a.n; i++)
            xmlrpc_value_free(params->u.a.items[i]);
        params->u.a.n = 0;
    }
    xmlrpc_value_free(params);
    return v;
}

/* The value decodes; its type is t. Returns it (caller frees) or NULL. */
static xmlrpc_value *accept_value(const char *xml, xmlrpc_type t)
{
    xmlrpc_value *v = decode_value(xml);
    CHECK_MSG(v != NULL, "refused %s: %d %s", xml, xend_error_last()->code,
              xend_error_last()->message);
    if (v)
        CHECK_MSG(v->type == t, "%s decoded as %s, not %s", xml, xmlrpc_type_name(v->type),
                  xmlrpc_type_name(t));
    if (v && v->type != t) {
        xmlrpc_value_free(v);
        return NULL;
    }
    return v;
}

static void accept_int(const char *xml, xmlrpc_type t, int64_t want)
{
    xmlrpc_value *v = accept_value(xml, t);
    if (v)
        CHECK_MSG(v->u.i == want, "%s decoded as %lld, not %lld", xml, (long long)v->u.i,
                  (long long)want);
    xmlrpc_value_free(v);
}

static void accept_double(const char *xml, double want)
{
    xmlrpc_value *v = accept_value(xml, XMLRPC_DOUBLE);
    if (v)
        CHECK_MSG(memcmp(&v->u.d, &want, sizeof(double)) == 0, "%s decoded as %.17g, not %.17g",
                  xml, v->u.d, want);
    xmlrpc_value_free(v);
}

static void accept_string(const char *xml, xmlrpc_type t, const char *want, size_t want_len)
{
    xmlrpc_value *v = accept_value(xml, t);
    if (v)
        CHECK_MSG(v->u.s.len == want_len && memcmp(v->u.s.ptr, want, want_len) == 0 &&
                      v->u.s.ptr[want_len] == '\0',
                  "%s decoded as \"%s\" (%zu bytes)", xml, v->u.s.ptr, v->u.s.len);
    xmlrpc_value_free(v);
}

#define ACCEPT_STRING(xml, want) accept_string((xml), XMLRPC_STRING, (want), sizeof(want) - 1)

/* A value is refused with code, the message contains each needle and a "line N". */
#define REFUSE_VALUE(xml, code, ...)                                                               \
    do {                                                                                           \
        xmlrpc_value *rv_ = decode_value(xml);                                                     \
        CHECK_MSG(rv_ == NULL, "accepted %s", (xml));                                              \
        xmlrpc_value_free(rv_);                                                                    \
        CHECK_ERROR((code), ##__VA_ARGS__);                                                        \
        CHECK_ERROR_LINE(0);                                                                       \
    } while (0)

#define REFUSE_CALL_N(doc, len, code, ...)                                                         \
    do {                                                                                           \
        xmlrpc_value *rp_ = decode_doc((doc), (len), NULL);                                        \
        CHECK_MSG(rp_ == NULL, "accepted %s", (doc));                                              \
        xmlrpc_value_free(rp_);                                                                    \
        CHECK_ERROR((code), ##__VA_ARGS__);                                                        \
    } while (0)

#define REFUSE_CALL(doc, code, ...)                                                                \
    do {                                                                                           \
        REFUSE_CALL_N((doc), strlen(doc), (code), ##__VA_ARGS__);                                  \
        CHECK_ERROR_LINE(0);                                                                       \
    } while (0)

static int decode_resp(const char *doc, size_t len, xmlrpc_response *r)
{
    xend_error_reset();
    int rc = xmlrpc_decode_response(dec, doc, len, r);
    if (rc < 0)
        CHECK_MSG(xend_error_last()->code != 0, "decode failed without reporting an error");
    return rc;
}

#define REFUSE_RESPONSE(doc, code, ...)                                                            \
    do {                                                                                           \
        xmlrpc_response rr_;                                                                       \
        int rc_ = decode_resp((doc), strlen(doc), &rr_);                                           \
        CHECK_MSG(rc_ == -1, "accepted %s", (doc));                                                \
        if (rc_ == 0)                                                                              \
            xmlrpc_response_clear(&rr_);                                                           \
        CHECK_ERROR((code), ##__VA_ARGS__);                                                        \
        CHECK_ERROR_LINE(0);                                                                       \
    } while (0)

/* ---- scalars ---- */

static void test_int(void)
{
    accept_int("<value><int>42</int></value>", XMLRPC_INT, 42);
    accept_int("<value><i4>-42</i4></value>", XMLRPC_INT, -42);
    accept_int("<value><int>+5</int></value>", XMLRPC_INT, 5);
    accept_int("<value><int>-0</int></value>", XMLRPC_INT, 0);
    accept_int("<value><int>+0</int></value>", XMLRPC_INT, 0);
    accept_int("<value><int>007</int></value>", XMLRPC_INT, 7);
    accept_int("<value><int>-00000000000000000000000000042</int></value>", XMLRPC_INT, -42);
    accept_int("<value><int>2147483647</int></value>", XMLRPC_INT, INT32_MAX);
    accept_int("<value><int>-2147483648</int></value>", XMLRPC_INT, INT32_MIN);
    accept_int("<value><i4>000002147483647</i4></value>", XMLRPC_INT, INT32_MAX);

    /* Overflow is an error, never a wrap; the message names the element and the text. */
    REFUSE_VALUE("<value><int>2147483648</int></value>", XEND_ERR_INVALID_REQUEST, "<int>",
                 "2147483648", "range");
    REFUSE_VALUE("<value><int>-2147483649</int></value>", XEND_ERR_INVALID_REQUEST, "<int>",
                 "-2147483649");
    REFUSE_VALUE("<value><i4>4294967296</i4></value>", XEND_ERR_INVALID_REQUEST, "<i4>");
    REFUSE_VALUE("<value><int>4294967338</int></value>", XEND_ERR_INVALID_REQUEST, "<int>");
    REFUSE_VALUE("<value><int>99999999999999999999999</int></value>", XEND_ERR_INVALID_REQUEST,
                 "<int>");

    const char *bad[] = {
        "<value><int></int></value>",         "<value><int/></value>",
        "<value><int> 1</int></value>",       "<value><int>1 </int></value>",
        "<value><int>\n1</int></value>",      "<value><int>1 2</int></value>",
        "<value><int>1.0</int></value>",      "<value><int>1e3</int></value>",
        "<value><int>0x10</int></value>",     "<value><int>+</int></value>",
        "<value><int>-</int></value>",        "<value><int>++1</int></value>",
        "<value><int>+-1</int></value>",      "<value><int>1-</int></value>",
        "<value><int>one</int></value>",      "<value><int>&#x661;</int></value>", /* Arabic 1 */
        "<value><int>1&#0009;</int></value>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xmlrpc_value *v = decode_value(bad[i]);
        CHECK_MSG(v == NULL, "accepted %s", bad[i]);
        xmlrpc_value_free(v);
        /* &#0009; is well-formed XML, so every case here is an XML-RPC error */
        CHECK_ERROR(XEND_ERR_INVALID_REQUEST);
        CHECK_ERROR_LINE(0);
    }
}

static void test_i8(void)
{
    accept_int("<value><i8>9223372036854775807</i8></value>", XMLRPC_I8, INT64_MAX);
    accept_int("<value><i8>-9223372036854775808</i8></value>", XMLRPC_I8, INT64_MIN);
    accept_int("<value><i8>5</i8></value>", XMLRPC_I8, 5); /* small i8 stays an i8 */
    accept_int("<value><i8>+00000000000000000000012</i8></value>", XMLRPC_I8, 12);
    accept_int("<value><i8>2147483648</i8></value>", XMLRPC_I8, INT64_C(2147483648));
    accept_int("<value><ex:i8>-1099511627776</ex:i8></value>", XMLRPC_I8, -INT64_C(1099511627776));
    REFUSE_VALUE("<value><i8>9223372036854775808</i8></value>", XEND_ERR_INVALID_REQUEST, "<i8>",
                 "9223372036854775808", "range");
    REFUSE_VALUE("<value><i8>-9223372036854775809</i8></value>", XEND_ERR_INVALID_REQUEST, "<i8>");
    REFUSE_VALUE("<value><i8>18446744073709551616</i8></value>", XEND_ERR_INVALID_REQUEST, "<i8>");
    REFUSE_VALUE("<value><i8> 5</i8></value>", XEND_ERR_INVALID_REQUEST, "<i8>");
    REFUSE_VALUE("<value><ex:i8></ex:i8></value>", XEND_ERR_INVALID_REQUEST, "ex:i8");
}

static void test_boolean(void)
{
    xmlrpc_value *v = accept_value("<value><boolean>1</boolean></value>", XMLRPC_BOOL);
    CHECK(v && v->u.b == true);
    xmlrpc_value_free(v);
    v = accept_value("<value><boolean>0</boolean></value>", XMLRPC_BOOL);
    CHECK(v && v->u.b == false);
    xmlrpc_value_free(v);

    const char *bad[] = {"true", "false", "2", " 1", "1 ", "", "-1", "+1", "00", "yes", "1\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XEND_AUTOFREE char *xml = xasprintf("<value><boolean>%s</boolean></value>", bad[i]);
        REFUSE_VALUE(xml, XEND_ERR_INVALID_REQUEST, "<boolean>");
    }
}

static void test_double(void)
{
    accept_double("<value><double>1.5</double></value>", 1.5);
    accept_double("<value><double>-0.25</double></value>", -0.25);
    accept_double("<value><double>+2.5</double></value>", 2.5);
    accept_double("<value><double>0.0</double></value>", 0.0);
    accept_double("<value><double>-0.0</double></value>", -0.0); /* sign kept */
    accept_double("<value><double>0.1</double></value>", 0.1);
    accept_double("<value><double>007.50</double></value>", 7.5);
    accept_double("<value><double>123456789.125</double></value>", 123456789.125);
    /* Lenient forms the decoder documents as accepted. */
    accept_double("<value><double>1</double></value>", 1.0);
    accept_double("<value><double>.5</double></value>", 0.5);
    accept_double("<value><double>5.</double></value>", 5.0);
    /* Exponents are accepted on input (Python writes 1e+100), never written. */
    accept_double("<value><double>1e+100</double></value>", 1e100);
    accept_double("<value><double>1E5</double></value>", 1e5);
    accept_double("<value><double>-2.5e-3</double></value>", -2.5e-3);
    accept_double("<value><double>1.7976931348623157e308</double></value>", DBL_MAX);
    accept_double("<value><double>4.9406564584124654e-324</double></value>",
                  4.9406564584124654e-324);
    /* the smallest denormal written out in full (no exponent) */
    {
        xbuf b = XBUF_INIT;
        xbuf_adds(&b, "<value><double>0.");
        for (int i = 0; i < 323; i++)
            xbuf_addc(&b, '0');
        xbuf_adds(&b, "49406564584124654</double></value>");
        accept_double(b.data, 4.9406564584124654e-324);
        xbuf_clear(&b);
    }

    const char *bad[] = {"nan", "NaN",   "inf",   "-inf",  "Infinity", "+Inf",
                         "",    " 1.5",  "1.5 ",  "1 .5",  "1,5",      "0x1p3",
                         "1e",  "1e+",   "e5",    ".",     "+",        "-",
                         "--1", "1.5.2", "1e5.5", "1e400", "-1e400",   "&#x661;.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XEND_AUTOFREE char *xml = xasprintf("<value><double>%s</double></value>", bad[i]);
        REFUSE_VALUE(xml, XEND_ERR_INVALID_REQUEST, "<double>");
    }
    /* 400 digits: finite in the text, infinite as a double: refused, not turned into inf */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<value><double>1");
    for (int i = 0; i < 400; i++)
        xbuf_addc(&b, '0');
    xbuf_adds(&b, ".0</double></value>");
    REFUSE_VALUE(b.data, XEND_ERR_INVALID_REQUEST, "<double>", "range");
    xbuf_clear(&b);
}

static void test_string(void)
{
    ACCEPT_STRING("<value><string>hello</string></value>", "hello");
    ACCEPT_STRING("<value><string></string></value>", "");
    ACCEPT_STRING("<value><string/></value>", "");
    ACCEPT_STRING("<value><string>  spaced  </string></value>", "  spaced  ");
    /* Untyped: the type is string and whitespace is data. */
    ACCEPT_STRING("<value>abc</value>", "abc");
    ACCEPT_STRING("<value>  abc \n</value>", "  abc \n");
    ACCEPT_STRING("<value></value>", "");
    ACCEPT_STRING("<value/>", "");
    ACCEPT_STRING("<value>   </value>", "   "); /* whitespace only is still a string */
    /* Entities, character references, CDATA, and CR kept when written as a reference. */
    ACCEPT_STRING("<value><string>&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos;</string></value>",
                  "<a> & \"b\" 'c'");
    ACCEPT_STRING("<value>&#65;&#x42;&#x10FFFF;</value>", "AB\xf4\x8f\xbf\xbf");
    ACCEPT_STRING("<value><string><![CDATA[<&>]]]]></string></value>", "<&>]]");
    ACCEPT_STRING("<value><string>a&#13;b&#xD;&#10;c\td</string></value>", "a\rb\r\nc\td");
    /* A raw CR or CRLF is normalised to LF by XML itself. */
    ACCEPT_STRING("<value><string>a\r\nb\rc</string></value>", "a\nb\nc");
    /* UTF-8, including astral characters, and U+007F (allowed by XML 1.0). */
    ACCEPT_STRING("<value><string>h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f</string></value>",
                  "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f");
    /* A comment inside text is not part of it. */
    ACCEPT_STRING("<value><string>a<!-- x -->b</string></value>", "ab");

    REFUSE_VALUE("<value><string><b>x</b></string></value>", XEND_ERR_INVALID_REQUEST, "<b>");
    REFUSE_VALUE("<value><string>a<string>b</string></string></value>", XEND_ERR_INVALID_REQUEST,
                 "string");
}

static void test_datetime(void)
{
    xmlrpc_value *v = accept_value(
        "<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>", XMLRPC_DATETIME);
    if (v) {
        CHECK_STREQ(v->u.s.ptr, "19980717T14:08:55");
        CHECK_INTEQ(v->u.s.len, 17);
        time_t t;
        CHECK_INTEQ(xmlrpc_datetime_to_time(v, &t), 0);
        CHECK_INTEQ(t, 900684535);
    }
    xmlrpc_value_free(v);
    const char *bad[] = {"",
                         "19980717T14:08:55Z",
                         "19980717T14:08:55+02:00",
                         "1998-07-17T14:08:55",
                         " 19980717T14:08:55",
                         "19980717T14:08:55 ",
                         "19981317T14:08:55",
                         "19980732T14:08:55",
                         "19980717T24:08:55",
                         "19980717T14:61:55",
                         "19980717"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XEND_AUTOFREE char *xml =
            xasprintf("<value><dateTime.iso8601>%s</dateTime.iso8601></value>", bad[i]);
        REFUSE_VALUE(xml, XEND_ERR_INVALID_REQUEST, "dateTime.iso8601");
    }
}

static void test_base64(void)
{
    accept_string("<value><base64>aGVsbG8gd29ybGQ=</base64></value>", XMLRPC_BASE64, "hello world",
                  11);
    /* MIME-style line breaks (and CRLF) are ignored */
    accept_string("<value><base64>aGVs\nbG8g\r\nd29y\n  bGQ=\n</base64></value>", XMLRPC_BASE64,
                  "hello world", 11);
    accept_string("<value><base64></base64></value>", XMLRPC_BASE64, "", 0);
    accept_string("<value><base64/></value>", XMLRPC_BASE64, "", 0);
    accept_string("<value><base64>AAH/gA==</base64></value>", XMLRPC_BASE64, "\x00\x01\xff\x80", 4);
    accept_string("<value><base64>QQ==</base64></value>", XMLRPC_BASE64, "A", 1);
    accept_string("<value><base64>QUI=</base64></value>", XMLRPC_BASE64, "AB", 2);
    accept_string("<value><base64>+/+/</base64></value>", XMLRPC_BASE64, "\xfb\xff\xbf", 3);

    const char *bad[] = {"a",        "aGVsbG8==", "aGVsbG8=x", "=",        "QQ===",    "Q===",
                         "QQ==QQ==", "!!!!",      "aGV*",      "aGVs\x01", "aGVs-_8=", "&#xe9;AAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XEND_AUTOFREE char *xml = xasprintf("<value><base64>%s</base64></value>", bad[i]);
        xmlrpc_value *v = decode_value(xml);
        CHECK_MSG(v == NULL, "accepted %s", xml);
        xmlrpc_value_free(v);
        /* \x01 is not well-formed XML; all others are bad base64 */
        if (strchr(bad[i], '\x01')) {
            CHECK_ERROR(XEND_ERR_PARSE);
        } else {
            CHECK_ERROR(XEND_ERR_INVALID_REQUEST, "base64");
        }
        CHECK_ERROR_LINE(0);
    }
}

static void test_nil(void)
{
    xmlrpc_value *v = accept_value("<value><nil/></value>", XMLRPC_NIL);
    xmlrpc_value_free(v);
    v = accept_value("<value><nil></nil></value>", XMLRPC_NIL);
    xmlrpc_value_free(v);
    v = accept_value("<value><ex:nil/></value>", XMLRPC_NIL);
    xmlrpc_value_free(v);
    REFUSE_VALUE("<value><nil>x</nil></value>", XEND_ERR_INVALID_REQUEST, "nil");
    REFUSE_VALUE("<value><nil><int>1</int></nil></value>", XEND_ERR_INVALID_REQUEST, "nil");
}

/* ---- compounds ---- */

static void test_struct(void)
{
    xmlrpc_value *v = accept_value("<value><struct>"
                                   "<member><name>a</name><value><int>1</int></value></member>"
                                   "<member><name>b c</name><value>text</value></member>"
                                   "<member><name></name><value><nil/></value></member>"
                                   "<member><name>&lt;&amp;</name><value/></member>"
                                   "</struct></value>",
                                   XMLRPC_STRUCT);
    if (v) {
        CHECK_INTEQ(v->u.st.n, 4);
        xmlrpc_value *a = xmlrpc_struct_get(v, "a");
        CHECK(a && a->type == XMLRPC_INT && a->u.i == 1);
        xmlrpc_value *bc = xmlrpc_struct_get(v, "b c");
        CHECK(bc && bc->type == XMLRPC_STRING);
        CHECK_STREQ(bc ? bc->u.s.ptr : NULL, "text");
        xmlrpc_value *e = xmlrpc_struct_get(v, "");
        CHECK(e && e->type == XMLRPC_NIL);
        xmlrpc_value *amp = xmlrpc_struct_get(v, "<&");
        CHECK(amp && amp->type == XMLRPC_STRING && amp->u.s.len == 0);
    }
    xmlrpc_value_free(v);

    v = accept_value("<value><struct></struct></value>", XMLRPC_STRUCT);
    CHECK(v && v->u.st.n == 0);
    xmlrpc_value_free(v);
    v = accept_value("<value><struct/></value>", XMLRPC_STRUCT);
    CHECK(v && v->u.st.n == 0);
    xmlrpc_value_free(v);

    /* Duplicate member names are refused, naming the member. */
    REFUSE_VALUE("<value><struct>"
                 "<member><name>dupname</name><value>1</value></member>"
                 "<member><name>other</name><value>2</value></member>"
                 "<member><name>dupname</name><value>3</value></member>"
                 "</struct></value>",
                 XEND_ERR_INVALID_REQUEST, "duplicate", "dupname");

    /* Grammar: a member is one name and one value, nothing else. */
    REFUSE_VALUE("<value><struct><member><value>1</value></member></struct></value>",
                 XEND_ERR_INVALID_REQUEST, "member");
    REFUSE_VALUE("<value><struct><member><name>a</name></member></struct></value>",
                 XEND_ERR_INVALID_REQUEST, "member");
    REFUSE_VALUE("<value><struct><member><name>a</name><name>b</name><value>1</value>"
                 "</member></struct></value>",
                 XEND_ERR_INVALID_REQUEST, "name");
    REFUSE_VALUE("<value><struct><member><name>a</name><value>1</value><value>2</value>"
                 "</member></struct></value>",
                 XEND_ERR_INVALID_REQUEST, "value");
    REFUSE_VALUE("<value><struct><value>1</value></struct></value>", XEND_ERR_INVALID_REQUEST,
                 "value", "struct");
    REFUSE_VALUE("<value><struct>text<member><name>a</name><value>1</value></member>"
                 "</struct></value>",
                 XEND_ERR_INVALID_REQUEST, "struct");
    REFUSE_VALUE("<value><struct><member>x<name>a</name><value>1</value></member>"
                 "</struct></value>",
                 XEND_ERR_INVALID_REQUEST, "member");
    REFUSE_VALUE("<value><struct><member><name>a<value/></name><value>1</value></member>"
                 "</struct></value>",
                 XEND_ERR_INVALID_REQUEST, "name");
}

static void test_array(void)
{
    xmlrpc_value *v = accept_value("<value><array><data>"
                                   "<value><int>1</int></value>"
                                   "<value>two</value>"
                                   "<value><boolean>1</boolean></value>"
                                   "<value><array><data/></array></value>"
                                   "</data></array></value>",
                                   XMLRPC_ARRAY);
    if (v) {
        CHECK_INTEQ(xmlrpc_array_size(v), 4);
        CHECK(xmlrpc_array_get(v, 0)->type == XMLRPC_INT);
        CHECK_STREQ(xmlrpc_array_get(v, 1)->u.s.ptr, "two");
        CHECK(xmlrpc_array_get(v, 2)->type == XMLRPC_BOOL);
        CHECK(xmlrpc_array_get(v, 3)->type == XMLRPC_ARRAY &&
              xmlrpc_array_size(xmlrpc_array_get(v, 3)) == 0);
    }
    xmlrpc_value_free(v);
    v = accept_value("<value><array><data></data></array></value>", XMLRPC_ARRAY);
    CHECK(v && xmlrpc_array_size(v) == 0);
    xmlrpc_value_free(v);

    REFUSE_VALUE("<value><array></array></value>", XEND_ERR_INVALID_REQUEST, "array");
    REFUSE_VALUE("<value><array><value>1</value></array></value>", XEND_ERR_INVALID_REQUEST,
                 "value", "array");
    REFUSE_VALUE("<value><array><data/><data/></array></value>", XEND_ERR_INVALID_REQUEST, "data");
    REFUSE_VALUE("<value><array><data>x</data></array></value>", XEND_ERR_INVALID_REQUEST, "data");
    REFUSE_VALUE("<value><array>x<data/></array></value>", XEND_ERR_INVALID_REQUEST, "array");
    REFUSE_VALUE("<value><array><data><int>1</int></data></array></value>",
                 XEND_ERR_INVALID_REQUEST, "int", "data");
}

static void test_nested_and_whitespace(void)
{
    const char *doc = "<?xml version=\"1.0\"?>\r\n"
                      "<methodCall>\r\n"
                      "  <methodName>a.b</methodName>\r\n"
                      "  <params>\n"
                      "    <param>\n"
                      "      <value>\n"
                      "        <struct>\n"
                      "          <member>\n"
                      "            <name>list</name>\n"
                      "            <value>\t<array>\n"
                      "              <data>\n"
                      "                <value><i4>1</i4></value>\n"
                      "                <value> <struct> <member> <name>x</name>"
                      " <value> <double>2.5</double> </value> </member> </struct> </value>\n"
                      "                <value>  free text  </value>\n"
                      "              </data>\n"
                      "            </array>\n"
                      "            </value>\n"
                      "          </member>\n"
                      "        </struct>\n"
                      "      </value>\n"
                      "    </param>\n"
                      "    <param><value><nil/></value></param>\n"
                      "  </params>\n"
                      "</methodCall>\n";
    xmlrpc_value *p = decode_doc(doc, strlen(doc), "a.b");
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_INTEQ(xmlrpc_array_size(p), 2);
    xmlrpc_value *st = xmlrpc_array_get(p, 0);
    CHECK(st && st->type == XMLRPC_STRUCT && st->u.st.n == 1);
    xmlrpc_value *list = st ? xmlrpc_struct_get(st, "list") : NULL;
    CHECK(list && list->type == XMLRPC_ARRAY && xmlrpc_array_size(list) == 3);
    if (list && xmlrpc_array_size(list) == 3) {
        CHECK(xmlrpc_array_get(list, 0)->type == XMLRPC_INT && xmlrpc_array_get(list, 0)->u.i == 1);
        xmlrpc_value *in = xmlrpc_array_get(list, 1);
        CHECK(in->type == XMLRPC_STRUCT && xmlrpc_struct_get(in, "x") &&
              xmlrpc_struct_get(in, "x")->u.d == 2.5);
        CHECK_STREQ(xmlrpc_array_get(list, 2)->u.s.ptr, "  free text  ");
    }
    CHECK(xmlrpc_array_get(p, 1)->type == XMLRPC_NIL);
    xmlrpc_value_free(p);

    /* A typed value may be surrounded by whitespace, but not by other text. */
    accept_int("<value>\n  <int>3</int>\n</value>", XMLRPC_INT, 3);
    REFUSE_VALUE("<value>x<int>1</int></value>", XEND_ERR_INVALID_REQUEST, "value");
    REFUSE_VALUE("<value><int>1</int>x</value>", XEND_ERR_INVALID_REQUEST, "value");
    REFUSE_VALUE("<value><int>1</int><int>2</int></value>", XEND_ERR_INVALID_REQUEST, "int",
                 "value");
    REFUSE_VALUE("<value><int>1</int><string>2</string></value>", XEND_ERR_INVALID_REQUEST,
                 "string", "value");
    REFUSE_VALUE("<value><value>1</value></value>", XEND_ERR_INVALID_REQUEST, "value");
    REFUSE_VALUE("<value><foo>1</foo></value>", XEND_ERR_INVALID_REQUEST, "unknown", "foo");
    REFUSE_VALUE("<value><ex:i1>1</ex:i1></value>", XEND_ERR_INVALID_REQUEST, "ex:i1");
    REFUSE_VALUE("<value><ex:serializable>rO0=</ex:serializable></value>", XEND_ERR_INVALID_REQUEST,
                 "ex:serializable");
    REFUSE_VALUE("<value><Int>1</Int></value>", XEND_ERR_INVALID_REQUEST, "Int");
    REFUSE_VALUE("<value type=\"int\">1</value>", XEND_ERR_INVALID_REQUEST, "type");
}

/* ---- calls ---- */

static void test_call_grammar(void)
{
    xmlrpc_value *p;
    const char *noparams = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
    p = decode_doc(noparams, strlen(noparams), "system.listMethods");
    CHECK(p && p->type == XMLRPC_ARRAY && p->u.a.n == 0);
    xmlrpc_value_free(p);

    const char *emptyparams = "<methodCall><methodName>m</methodName><params/></methodCall>";
    p = decode_doc(emptyparams, strlen(emptyparams), "m");
    CHECK(p && p->u.a.n == 0);
    xmlrpc_value_free(p);

    /* Many parameters, in order. */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<methodCall><methodName>m</methodName><params>");
    for (int i = 0; i < 1000; i++)
        xbuf_printf(&b, "<param><value><int>%d</int></value></param>", i);
    xbuf_adds(&b, "</params></methodCall>");
    p = decode_doc(b.data, b.len, "m");
    CHECK(p && p->u.a.n == 1000);
    if (p && p->u.a.n == 1000)
        CHECK(p->u.a.items[0]->u.i == 0 && p->u.a.items[999]->u.i == 999);
    xmlrpc_value_free(p);
    xbuf_clear(&b);

    /* methodName: only A-Z a-z 0-9 _ . : / */
    const char *okname = "<methodCall><methodName>Az09_.:/x</methodName></methodCall>";
    p = decode_doc(okname, strlen(okname), "Az09_.:/x");
    CHECK(p != NULL);
    xmlrpc_value_free(p);
    const char *badnames[] = {"a b",     "a-b",         "a\tb", " a",  "a ",
                              "a&amp;b", "caf\xc3\xa9", "a,b",  "a;b", "a&#10;"};
    for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
        XEND_AUTOFREE char *doc =
            xasprintf("<methodCall><methodName>%s</methodName></methodCall>", badnames[i]);
        REFUSE_CALL(doc, XEND_ERR_INVALID_REQUEST, "method name");
    }
    REFUSE_CALL("<methodCall><methodName></methodName></methodCall>", XEND_ERR_INVALID_REQUEST,
                "methodName");
    REFUSE_CALL("<methodCall><methodName/></methodCall>", XEND_ERR_INVALID_REQUEST, "methodName");
    REFUSE_CALL("<methodCall><methodName><value/></methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "methodName");
    xbuf_adds(&b, "<methodCall><methodName>");
    for (int i = 0; i < 100000; i++)
        xbuf_addc(&b, 'a');
    xbuf_adds(&b, "</methodName></methodCall>");
    REFUSE_CALL(b.data, XEND_ERR_INVALID_REQUEST, "method name");
    xbuf_clear(&b);

    /* Structure of the call itself. */
    REFUSE_CALL("<methodCall></methodCall>", XEND_ERR_INVALID_REQUEST, "methodName");
    REFUSE_CALL("<methodCall><params/></methodCall>", XEND_ERR_INVALID_REQUEST, "params");
    REFUSE_CALL("<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "methodName");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params/><params/></methodCall>",
                XEND_ERR_INVALID_REQUEST, "params");
    REFUSE_CALL("<methodCall>x<methodName>a</methodName></methodCall>", XEND_ERR_INVALID_REQUEST,
                "methodCall");
    REFUSE_CALL("<methodCall><methodName>a</methodName>x</methodCall>", XEND_ERR_INVALID_REQUEST,
                "methodCall");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params>x</params></methodCall>",
                XEND_ERR_INVALID_REQUEST, "params");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params><param>x<value/></param>"
                "</params></methodCall>",
                XEND_ERR_INVALID_REQUEST, "param");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params><param></param></params>"
                "</methodCall>",
                XEND_ERR_INVALID_REQUEST, "param", "value");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params><param><value/><value/>"
                "</param></params></methodCall>",
                XEND_ERR_INVALID_REQUEST, "value");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params><value/></params>"
                "</methodCall>",
                XEND_ERR_INVALID_REQUEST, "value", "params");
    REFUSE_CALL("<methodCall><methodName>a</methodName><bogus/></methodCall>",
                XEND_ERR_INVALID_REQUEST, "bogus");
    REFUSE_CALL("<methodCall><methodName>a</methodName><fault><value/></fault></methodCall>",
                XEND_ERR_INVALID_REQUEST, "fault");
    REFUSE_CALL("<methodCall><methodName>a</methodName><params><param><value/></param>"
                "</params><params/></methodCall>",
                XEND_ERR_INVALID_REQUEST, "params");
    REFUSE_CALL("<methodResponse><params><param><value/></param></params></methodResponse>",
                XEND_ERR_INVALID_REQUEST, "methodCall", "methodResponse");
    REFUSE_CALL("<value>1</value>", XEND_ERR_INVALID_REQUEST, "methodCall");
    REFUSE_CALL("<foo/>", XEND_ERR_INVALID_REQUEST, "foo");
    REFUSE_CALL("<methodCall foo=\"bar\"><methodName>a</methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "foo");
    /* xmlns attributes (Apache's extension namespace) are accepted */
    const char *ns = "<methodCall xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\">"
                     "<methodName>m</methodName><params><param><value><ex:i8>8</ex:i8></value>"
                     "</param><param><value><ex:nil/></value></param></params></methodCall>";
    p = decode_doc(ns, strlen(ns), "m");
    CHECK(p && p->u.a.n == 2 && p->u.a.items[0]->type == XMLRPC_I8 && p->u.a.items[0]->u.i == 8 &&
          p->u.a.items[1]->type == XMLRPC_NIL);
    xmlrpc_value_free(p);
}

/* Errors say where: the line of the offending element. */
static void test_error_locations(void)
{
    const char *badint = "<?xml version=\"1.0\"?>\n"
                         "<methodCall>\n"
                         "<methodName>m</methodName>\n"
                         "<params>\n"
                         "<param><value><int>12x</int></value></param>\n"
                         "</params>\n"
                         "</methodCall>\n";
    REFUSE_CALL(badint, XEND_ERR_INVALID_REQUEST, "<int>", "12x");
    CHECK_ERROR_LINE(5);

    const char *unknown = "<methodCall>\n"
                          "<methodName>m</methodName>\n"
                          "<params>\n"
                          "<param>\n"
                          "<value><wrong>1</wrong></value></param>\n"
                          "</params>\n"
                          "</methodCall>\n";
    REFUSE_CALL(unknown, XEND_ERR_INVALID_REQUEST, "wrong");
    CHECK_ERROR_LINE(5);

    const char *notwf = "<methodCall>\n"
                        "<methodName>m</methodName>\n"
                        "<params></param>\n"
                        "</methodCall>\n";
    REFUSE_CALL(notwf, XEND_ERR_PARSE);
    CHECK_ERROR_LINE(3);

    const char *dup = "<methodCall><methodName>m</methodName><params><param><value><struct>\n"
                      "<member><name>k</name><value/></member>\n"
                      "<member><name>k</name><value/></member>\n"
                      "</struct></value></param></params></methodCall>\n";
    REFUSE_CALL(dup, XEND_ERR_INVALID_REQUEST, "'k'");
    CHECK_ERROR_LINE(4);

    const char *badutf8 = "<methodCall><methodName>m</methodName>\n"
                          "<params><param><value>\n"
                          "ok\xc3(</value></param></params></methodCall>";
    REFUSE_CALL(badutf8, XEND_ERR_PARSE);
    CHECK_ERROR_LINE(3);
}

/* ---- responses ---- */

static const char resp_head[] = "<?xml version=\"1.0\"?><methodResponse>";

static void test_response(void)
{
    xmlrpc_response r;
    const char *ok = "<?xml version=\"1.0\"?><methodResponse><params><param><value>"
                     "<string>done</string></value></param></params></methodResponse>";
    CHECK_INTEQ(decode_resp(ok, strlen(ok), &r), 0);
    CHECK(!r.is_fault && r.result && r.result->type == XMLRPC_STRING);
    CHECK_STREQ(r.result ? r.result->u.s.ptr : NULL, "done");
    CHECK(r.fault_string == NULL);
    xmlrpc_response_clear(&r);
    CHECK(r.result == NULL && r.fault_string == NULL);
    xmlrpc_response_clear(&r); /* clearing twice is harmless */

    const char *fault =
        "<methodResponse><fault><value><struct>"
        "<member><name>faultString</name><value><string>no &lt;such&gt; domain</string></value>"
        "</member><member><name>faultCode</name><value><int>3</int></value></member>"
        "</struct></value></fault></methodResponse>";
    CHECK_INTEQ(decode_resp(fault, strlen(fault), &r), 0);
    CHECK(r.is_fault && r.result == NULL);
    CHECK_INTEQ(r.fault_code, 3);
    CHECK_STREQ(r.fault_string, "no <such> domain");
    xmlrpc_response_clear(&r);

    /* Negative codes, <i4>, untyped faultString. */
    const char *fault2 = "<methodResponse><fault><value><struct>"
                         "<member><name>faultCode</name><value><i4>-32601</i4></value></member>"
                         "<member><name>faultString</name><value>gone</value></member>"
                         "</struct></value></fault></methodResponse>";
    CHECK_INTEQ(decode_resp(fault2, strlen(fault2), &r), 0);
    CHECK(r.is_fault);
    CHECK_INTEQ(r.fault_code, -32601);
    CHECK_STREQ(r.fault_string, "gone");
    xmlrpc_response_clear(&r);

    const char *nilresult = "<methodResponse><params><param><value><nil/></value></param>"
                            "</params></methodResponse>";
    CHECK_INTEQ(decode_resp(nilresult, strlen(nilresult), &r), 0);
    CHECK(!r.is_fault && r.result && r.result->type == XMLRPC_NIL);
    xmlrpc_response_clear(&r);

    /* Exactly one param; never params and fault together. */
    REFUSE_RESPONSE("<methodResponse></methodResponse>", XEND_ERR_INVALID_REQUEST,
                    "methodResponse");
    REFUSE_RESPONSE("<methodResponse><params></params></methodResponse>", XEND_ERR_INVALID_REQUEST,
                    "param");
    REFUSE_RESPONSE("<methodResponse><params/></methodResponse>", XEND_ERR_INVALID_REQUEST,
                    "param");
    REFUSE_RESPONSE("<methodResponse><params><param><value>1</value></param>"
                    "<param><value>2</value></param></params></methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "param");
    REFUSE_RESPONSE("<methodResponse><params><param><value>1</value></param></params>"
                    "<fault><value><struct><member><name>faultCode</name><value><int>1</int>"
                    "</value></member><member><name>faultString</name><value>x</value>"
                    "</member></struct></value></fault></methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "fault");
    REFUSE_RESPONSE("<methodResponse><fault><value><struct><member><name>faultCode</name>"
                    "<value><int>1</int></value></member><member><name>faultString</name>"
                    "<value>x</value></member></struct></value></fault>"
                    "<params><param><value>1</value></param></params></methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "params");
    REFUSE_RESPONSE("<methodResponse><params><param></param></params></methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "param");
    REFUSE_RESPONSE("<methodResponse><fault></fault></methodResponse>", XEND_ERR_INVALID_REQUEST,
                    "fault");
    REFUSE_RESPONSE("<methodCall><methodName>a</methodName></methodCall>", XEND_ERR_INVALID_REQUEST,
                    "methodResponse");

    /* The fault struct holds exactly faultCode (int) and faultString (string). */
    static const char *const bad_faults[] = {
        /* extra member */
        "<member><name>faultCode</name><value><int>1</int></value></member>"
        "<member><name>faultString</name><value>x</value></member>"
        "<member><name>extra</name><value>y</value></member>",
        /* missing faultString */
        "<member><name>faultCode</name><value><int>1</int></value></member>",
        /* missing faultCode */
        "<member><name>faultString</name><value>x</value></member>",
        /* faultCode a string */
        "<member><name>faultCode</name><value>1</value></member>"
        "<member><name>faultString</name><value>x</value></member>",
        /* faultCode a double */
        "<member><name>faultCode</name><value><double>1.0</double></value></member>"
        "<member><name>faultString</name><value>x</value></member>",
        /* faultString an int */
        "<member><name>faultCode</name><value><int>1</int></value></member>"
        "<member><name>faultString</name><value><int>2</int></value></member>",
        /* misspelt name */
        "<member><name>faultcode</name><value><int>1</int></value></member>"
        "<member><name>faultString</name><value>x</value></member>",
        /* empty */
        "",
    };
    for (size_t i = 0; i < sizeof(bad_faults) / sizeof(bad_faults[0]); i++) {
        XEND_AUTOFREE char *doc =
            xasprintf("%s<fault><value><struct>%s</struct></value></fault></methodResponse>",
                      resp_head, bad_faults[i]);
        REFUSE_RESPONSE(doc, XEND_ERR_INVALID_REQUEST, "fault");
    }
    /* the fault's value is not a struct */
    REFUSE_RESPONSE("<methodResponse><fault><value><int>1</int></value></fault>"
                    "</methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "fault");
    REFUSE_RESPONSE("<methodResponse><fault><value>oops</value></fault></methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "fault");
}

/* ---- hostile documents ---- */

static const char sample_call[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<methodCall><methodName>sample.all</methodName><params>"
    "<param><value><int>-12</int></value></param>"
    "<param><value><i8>1099511627776</i8></value></param>"
    "<param><value><boolean>1</boolean></value></param>"
    "<param><value><string>caf\xc3\xa9 &amp; \xf0\x9f\x98\x80</string></value></param>"
    "<param><value>untyped</value></param>"
    "<param><value><double>-0.125</double></value></param>"
    "<param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>"
    "<param><value><base64>aGVsbG8=</base64></value></param>"
    "<param><value><nil/></value></param>"
    "<param><value><struct><member><name>k</name><value><array><data>"
    "<value><int>1</int></value><value/></data></array></value></member></struct></value>"
    "</param></params></methodCall>";

static const char sample_response[] =
    "<?xml version=\"1.0\"?>\n"
    "<methodResponse><params><param><value><struct>"
    "<member><name>a</name><value><array><data><value><i4>1</i4></value>"
    "<value><string>x</string></value></data></array></value></member>"
    "</struct></value></param></params></methodResponse>";

static void check_sample_call(xmlrpc_value *p)
{
    CHECK(p && p->u.a.n == 10);
    if (!p || p->u.a.n != 10)
        return;
    CHECK(p->u.a.items[0]->type == XMLRPC_INT && p->u.a.items[0]->u.i == -12);
    CHECK(p->u.a.items[1]->type == XMLRPC_I8 && p->u.a.items[1]->u.i == INT64_C(1099511627776));
    CHECK(p->u.a.items[2]->type == XMLRPC_BOOL && p->u.a.items[2]->u.b);
    CHECK_STREQ(p->u.a.items[3]->u.s.ptr, "caf\xc3\xa9 & \xf0\x9f\x98\x80");
    CHECK_STREQ(p->u.a.items[4]->u.s.ptr, "untyped");
    CHECK(p->u.a.items[5]->type == XMLRPC_DOUBLE && p->u.a.items[5]->u.d == -0.125);
    CHECK_STREQ(p->u.a.items[6]->u.s.ptr, "19980717T14:08:55");
    CHECK(p->u.a.items[7]->type == XMLRPC_BASE64);
    CHECK_MEMEQ(p->u.a.items[7]->u.s.ptr, p->u.a.items[7]->u.s.len, "hello", 5);
    CHECK(p->u.a.items[8]->type == XMLRPC_NIL);
    CHECK(p->u.a.items[9]->type == XMLRPC_STRUCT);
}

static void test_doctype_and_entities(void)
{
    /* Any DOCTYPE is refused outright, even a harmless one. */
    REFUSE_CALL("<?xml version=\"1.0\"?>\n<!DOCTYPE methodCall>\n"
                "<methodCall><methodName>m</methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "DOCTYPE");
    CHECK_ERROR_LINE(2);
    REFUSE_CALL("<!DOCTYPE methodCall SYSTEM \"http://example.invalid/x.dtd\">"
                "<methodCall><methodName>m</methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "DOCTYPE");

    /* Billion laughs: refused before any expansion. */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    xbuf_adds(&b, "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for (int i = 2; i <= 9; i++) {
        xbuf_printf(&b, "<!ENTITY lol%d \"", i);
        for (int j = 0; j < 10; j++)
            xbuf_printf(&b, "&lol%d;", i - 1);
        xbuf_adds(&b, "\">\n");
    }
    xbuf_adds(&b, "]>\n<methodCall><methodName>m</methodName><params><param><value>"
                  "<string>&lol9;</string></value></param></params></methodCall>");
    REFUSE_CALL(b.data, XEND_ERR_INVALID_REQUEST, "DOCTYPE");
    xbuf_clear(&b);

    /* External entities (XXE): refused, never loaded. */
    REFUSE_CALL("<?xml version=\"1.0\"?>\n"
                "<!DOCTYPE m [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                "<methodCall><methodName>m</methodName><params><param><value>&xxe;</value>"
                "</param></params></methodCall>",
                XEND_ERR_INVALID_REQUEST, "DOCTYPE");
    REFUSE_CALL("<!DOCTYPE m [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                "<methodCall><methodName>m</methodName></methodCall>",
                XEND_ERR_INVALID_REQUEST, "DOCTYPE");
    /* The same in a response. */
    REFUSE_RESPONSE("<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                    "<methodResponse><params><param><value>&xxe;</value></param></params>"
                    "</methodResponse>",
                    XEND_ERR_INVALID_REQUEST, "DOCTYPE");

    /* An undeclared entity is simply not well-formed. */
    REFUSE_CALL("<methodCall><methodName>m</methodName><params><param><value>&xxe;</value>"
                "</param></params></methodCall>",
                XEND_ERR_PARSE);
}

static void test_deep_nesting(void)
{
    /* 100,000 nested arrays (4 MB): refused at the depth limit, no stack overflow. */
    const int levels = 100000;
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<methodCall><methodName>m</methodName><params><param>");
    for (int i = 0; i < levels; i++)
        xbuf_adds(&b, "<value><array><data>");
    for (int i = 0; i < levels; i++)
        xbuf_adds(&b, "</data></array></value>");
    xbuf_adds(&b, "</param></params></methodCall>");
    REFUSE_CALL(b.data, XEND_ERR_INVALID_REQUEST, "max_depth", "64");
    xbuf_reset(&b);

    /* Nested structs too, and in a response. */
    xbuf_adds(&b, "<methodResponse><params><param>");
    for (int i = 0; i < levels; i++)
        xbuf_adds(&b, "<value><struct><member><name>a</name>");
    for (int i = 0; i < levels; i++)
        xbuf_adds(&b, "</member></struct></value>");
    xbuf_adds(&b, "</param></params></methodResponse>");
    REFUSE_RESPONSE(b.data, XEND_ERR_INVALID_REQUEST, "max_depth");
    xbuf_reset(&b);

    /* Deeply nested unknown or misplaced elements are refused at the first one. */
    xbuf_adds(&b, "<methodCall>");
    for (int i = 0; i < levels; i++)
        xbuf_adds(&b, "<x>");
    REFUSE_CALL(b.data, XEND_ERR_INVALID_REQUEST, "<x>");
    xbuf_clear(&b);
}

/* A decoder configured without a practical depth limit must still not crash on 100,000
 * levels (decoding and then freeing the tree). Run in a child so a stack overflow shows
 * as a failed check rather than a dead test program. */
static void test_deep_nesting_unlimited(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        xmlrpc_limits lim;
        xmlrpc_limits_default(&lim);
        lim.max_depth = 1000000;
        xmlrpc_decoder *d = xmlrpc_decoder_new(&lim);
        xbuf b = XBUF_INIT;
        xbuf_adds(&b, "<methodCall><methodName>m</methodName><params><param>");
        for (int i = 0; i < 100000; i++)
            xbuf_adds(&b, "<value><array><data>");
        for (int i = 0; i < 100000; i++)
            xbuf_adds(&b, "</data></array></value>");
        xbuf_adds(&b, "</param></params></methodCall>");
        char *m = NULL;
        xmlrpc_value *p = NULL;
        int rc = xmlrpc_decode_call(d, b.data, b.len, &m, &p);
        free(m);
        xmlrpc_value_free(p);
        xbuf_clear(&b);
        xmlrpc_decoder_free(d);
        _exit(rc == 0 ? 0 : 3);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "100000 levels with max_depth=1000000: status %#x%s", st,
              WIFSIGNALED(st) ? " (killed by a signal: recursion overflowed the stack?)" : "");
}

static void test_bad_utf8(void)
{
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "\xc3(",            /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80",
        "\xef\xbf\xbe", /* U+FFFE */
        "\xef\xbf\xbf", /* U+FFFF */
        "\x01",         /* C0 control */
        "\x1f",
        "&#0;", /* references to characters XML cannot carry */
        "&#1;",
        "&#xFFFE;",
        "&#xD800;",
        "&#x110000;",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XEND_AUTOFREE char *s = xasprintf("<value><string>a%sb</string></value>", bad[i]);
        REFUSE_VALUE(s, XEND_ERR_PARSE);
        XEND_AUTOFREE char *u = xasprintf("<value>%s</value>", bad[i]);
        REFUSE_VALUE(u, XEND_ERR_PARSE);
        XEND_AUTOFREE char *n = xasprintf("<value><struct><member><name>%s</name><value/>"
                                          "</member></struct></value>",
                                          bad[i]);
        REFUSE_VALUE(n, XEND_ERR_PARSE);
    }
    /* in the method name (a name charset error would be -32600; bad UTF-8 comes first) */
    REFUSE_CALL("<methodCall><methodName>a\xffz</methodName></methodCall>", XEND_ERR_PARSE);
    /* NUL bytes inside the counted body */
    static const char withnul[] = "<methodCall><methodName>a\0b</methodName></methodCall>";
    REFUSE_CALL_N(withnul, sizeof(withnul) - 1, XEND_ERR_PARSE);
    CHECK_ERROR_LINE(0);
}

static void test_truncation(void)
{
    /* Every strict prefix of a valid document is an error (never success, never a crash). */
    size_t len = strlen(sample_call);
    xmlrpc_value *full = decode_doc(sample_call, len, "sample.all");
    check_sample_call(full);
    xmlrpc_value_free(full);
    unsigned accepted = 0, wrong_code = 0;
    for (size_t k = 0; k < len; k++) {
        /* a private copy, so reads past k are caught by valgrind */
        char *copy = xmalloc(k ? k : 1);
        memcpy(copy, sample_call, k);
        xmlrpc_value *p = decode_doc(copy, k, NULL);
        if (p) {
            accepted++;
            fprintf(stderr, "prefix of %zu bytes accepted\n", k);
            xmlrpc_value_free(p);
        } else if (xend_error_last()->code != XEND_ERR_PARSE ||
                   !check_msg_has_line(xend_error_last()->message, 0)) {
            if (wrong_code++ < 5)
                fprintf(stderr, "prefix of %zu bytes: %d %s\n", k, xend_error_last()->code,
                        xend_error_last()->message);
        }
        free(copy);
    }
    CHECK_INTEQ(accepted, 0);
    CHECK_INTEQ(wrong_code, 0);

    len = strlen(sample_response);
    accepted = wrong_code = 0;
    for (size_t k = 0; k < len; k++) {
        char *copy = xmalloc(k ? k : 1);
        memcpy(copy, sample_response, k);
        xmlrpc_response r;
        if (decode_resp(copy, k, &r) == 0) {
            accepted++;
            xmlrpc_response_clear(&r);
        } else if (xend_error_last()->code != XEND_ERR_PARSE) {
            wrong_code++;
        }
        free(copy);
    }
    CHECK_INTEQ(accepted, 0);
    CHECK_INTEQ(wrong_code, 0);

    /* Empty and whitespace-only bodies. */
    REFUSE_CALL_N("", 0, XEND_ERR_PARSE);
    REFUSE_CALL("   \n", XEND_ERR_PARSE);
}

static void test_trailing_and_prolog(void)
{
    XEND_AUTOFREE char *junk1 = xasprintf("%s<extra/>", sample_call);
    REFUSE_CALL(junk1, XEND_ERR_PARSE);
    XEND_AUTOFREE char *junk2 = xasprintf("%sgarbage", sample_call);
    REFUSE_CALL(junk2, XEND_ERR_PARSE);
    XEND_AUTOFREE char *junk3 = xasprintf("%s%s", sample_call, sample_call + 39);
    REFUSE_CALL(junk3, XEND_ERR_PARSE); /* a second root element */

    /* Whitespace, comments and PIs after the root are legal XML. */
    XEND_AUTOFREE char *ws = xasprintf("%s\n\t \n", sample_call);
    xmlrpc_value *p = decode_doc(ws, strlen(ws), "sample.all");
    check_sample_call(p);
    xmlrpc_value_free(p);
    XEND_AUTOFREE char *comment = xasprintf("%s<!-- trailing -->\n", sample_call);
    p = decode_doc(comment, strlen(comment), "sample.all");
    check_sample_call(p);
    xmlrpc_value_free(p);

    /* A UTF-8 byte order mark is fine; text before the XML declaration is not. */
    XEND_AUTOFREE char *bom = xasprintf("\xef\xbb\xbf%s", sample_call);
    p = decode_doc(bom, strlen(bom), "sample.all");
    check_sample_call(p);
    xmlrpc_value_free(p);
    XEND_AUTOFREE char *lead = xasprintf(" %s", sample_call);
    REFUSE_CALL(lead, XEND_ERR_PARSE);
    /* No XML declaration at all is fine. */
    const char *nodecl = sample_call + 39;
    CHECK(nodecl[0] == '<' && nodecl[1] == 'm');
    p = decode_doc(nodecl, strlen(nodecl), "sample.all");
    check_sample_call(p);
    xmlrpc_value_free(p);
}

/* Convert an ASCII/UTF-8-free document into UTF-16 with a BOM. */
static char *to_utf16(const char *ascii, bool big_endian, size_t *outlen)
{
    size_t n = strlen(ascii);
    char *out = xmalloc(2 * n + 2);
    out[0] = big_endian ? '\xfe' : '\xff';
    out[1] = big_endian ? '\xff' : '\xfe';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i + (big_endian ? 1 : 0)] = ascii[i];
        out[2 + 2 * i + (big_endian ? 0 : 1)] = '\0';
    }
    *outlen = 2 * n + 2;
    return out;
}

static void test_encodings(void)
{
    /* ISO-8859-1 is converted to UTF-8. */
    const char *latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                         "<methodCall><methodName>m</methodName><params><param><value>"
                         "caf\xe9</value></param></params></methodCall>";
    xmlrpc_value *p = decode_doc(latin1, strlen(latin1), "m");
    CHECK(p && p->u.a.n == 1);
    if (p && p->u.a.n == 1)
        CHECK_STREQ(p->u.a.items[0]->u.s.ptr, "caf\xc3\xa9");
    xmlrpc_value_free(p);

    /* After a Latin-1 document, a UTF-8 one is read as UTF-8 again (decoder reset). */
    const char *utf8 = "<methodCall><methodName>m</methodName><params><param><value>"
                       "caf\xc3\xa9</value></param></params></methodCall>";
    p = decode_doc(utf8, strlen(utf8), "m");
    CHECK(p && p->u.a.n == 1);
    if (p && p->u.a.n == 1)
        CHECK_STREQ(p->u.a.items[0]->u.s.ptr, "caf\xc3\xa9");
    xmlrpc_value_free(p);

    const char *ascii = "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>"
                        "<methodCall><methodName>m</methodName></methodCall>";
    p = decode_doc(ascii, strlen(ascii), "m");
    CHECK(p != NULL);
    xmlrpc_value_free(p);

    /* An encoding we do not support is -32701. */
    REFUSE_CALL("<?xml version=\"1.0\" encoding=\"KOI8-R\"?>"
                "<methodCall><methodName>m</methodName></methodCall>",
                XEND_ERR_ENCODING);
    REFUSE_CALL("<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?>"
                "<methodCall><methodName>m</methodName></methodCall>",
                XEND_ERR_ENCODING);

    /* UTF-16 with a BOM: whatever the decoder does, both byte orders get the same
     * treatment, and if accepted the result is exactly the UTF-8 one. */
    const char *plain = "<?xml version=\"1.0\"?><methodCall><methodName>u16</methodName>"
                        "<params><param><value><string>wide &amp; ok</string></value></param>"
                        "</params></methodCall>";
    int outcome[2];
    for (int be = 0; be < 2; be++) {
        size_t n;
        char *doc = to_utf16(plain, be, &n);
        p = decode_doc(doc, n, NULL);
        outcome[be] = p ? 0 : xend_error_last()->code;
        if (p) {
            CHECK(p->u.a.n == 1);
            if (p->u.a.n == 1)
                CHECK_STREQ(p->u.a.items[0]->u.s.ptr, "wide & ok");
        } else {
            CHECK_MSG(outcome[be] == XEND_ERR_ENCODING, "UTF-16 refused with %d %s", outcome[be],
                      xend_error_last()->message);
        }
        xmlrpc_value_free(p);
        free(doc);
    }
    CHECK_INTEQ(outcome[0], outcome[1]);
}

/* ---- limits ---- */

static xmlrpc_decoder *limited(size_t body, unsigned depth, size_t elements, size_t string)
{
    xmlrpc_limits lim;
    xmlrpc_limits_default(&lim);
    if (body)
        lim.max_body = body;
    if (depth)
        lim.max_depth = depth;
    if (elements)
        lim.max_elements = elements;
    if (string)
        lim.max_string = string;
    return xmlrpc_decoder_new(&lim);
}

static char *nested_arrays(unsigned n)
{
    xbuf b = XBUF_INIT;
    for (unsigned i = 0; i < n; i++)
        xbuf_adds(&b, "<value><array><data>");
    xbuf_adds(&b, "<value><int>1</int></value>");
    for (unsigned i = 0; i < n; i++)
        xbuf_adds(&b, "</data></array></value>");
    return xbuf_steal(&b, NULL);
}

static void test_limits(void)
{
    xmlrpc_limits def;
    xmlrpc_limits_default(&def);
    CHECK_INTEQ(def.max_body, XMLRPC_DEFAULT_MAX_BODY);
    CHECK_INTEQ(def.max_depth, XMLRPC_DEFAULT_MAX_DEPTH);
    CHECK_INTEQ(def.max_elements, XMLRPC_DEFAULT_MAX_ELEMENTS);
    CHECK_INTEQ(def.max_string, XMLRPC_DEFAULT_MAX_STRING);

    xmlrpc_decoder *saved = dec;
    size_t len = strlen(sample_call);
    char msg[64];

    /* max_body: exactly at the limit is fine, one byte less is refused. */
    dec = limited(len, 0, 0, 0);
    xmlrpc_value *p = decode_doc(sample_call, len, "sample.all");
    check_sample_call(p);
    xmlrpc_value_free(p);
    xmlrpc_decoder_free(dec);
    dec = limited(len - 1, 0, 0, 0);
    snprintf(msg, sizeof(msg), "%zu", len - 1);
    REFUSE_CALL_N(sample_call, len, XEND_ERR_INVALID_REQUEST, "max_body", msg);
    xmlrpc_response r;
    CHECK_INTEQ(decode_resp(sample_call, len, &r), -1); /* responses too */
    CHECK_ERROR(XEND_ERR_INVALID_REQUEST, "max_body");
    xmlrpc_decoder_free(dec);

    /* max_depth counts nested arrays and structs. */
    dec = limited(0, 3, 0, 0);
    for (unsigned n = 1; n <= 4; n++) {
        XEND_AUTOFREE char *v = nested_arrays(n);
        if (n <= 3) {
            p = decode_value(v);
            CHECK_MSG(p != NULL, "%u levels with max_depth 3: %s", n, xend_error_last()->message);
            xmlrpc_value_free(p);
        } else {
            REFUSE_VALUE(v, XEND_ERR_INVALID_REQUEST, "max_depth", "3");
        }
    }
    const char *mixed3 = "<value><array><data><value><struct><member><name>a</name><value>"
                         "<array><data/></array></value></member></struct></value></data>"
                         "</array></value>";
    p = decode_value(mixed3);
    CHECK_MSG(p != NULL, "array/struct/array with max_depth 3: %s", xend_error_last()->message);
    xmlrpc_value_free(p);
    const char *mixed4 = "<value><struct><member><name>a</name><value><array><data><value>"
                         "<struct><member><name>b</name><value><array><data/></array></value>"
                         "</member></struct></value></data></array></value></member></struct>"
                         "</value>";
    REFUSE_VALUE(mixed4, XEND_ERR_INVALID_REQUEST, "max_depth");
    /* Depth is released when a compound closes: siblings of depth 3 are fine. */
    {
        XEND_AUTOFREE char *v3 = nested_arrays(2);
        XEND_AUTOFREE char *doc = xasprintf(
            "<methodCall><methodName>m</methodName><params><param><value><array><data>"
            "%s%s%s</data></array></value></param><param>%s</param></params></methodCall>",
            v3, v3, v3, v3);
        p = decode_doc(doc, strlen(doc), "m");
        CHECK_MSG(p != NULL, "siblings at depth 3: %s", xend_error_last()->message);
        xmlrpc_value_free(p);
    }
    xmlrpc_decoder_free(dec);

    /* max_elements: this document has exactly 11 elements. */
    const char *eleven = "<methodCall><methodName>m</methodName><params><param><value><array>"
                         "<data><value><int>1</int></value><value><int>2</int></value></data>"
                         "</array></value></param></params></methodCall>";
    dec = limited(0, 0, 11, 0);
    p = decode_doc(eleven, strlen(eleven), "m");
    CHECK_MSG(p != NULL, "11 elements with max_elements 11: %s", xend_error_last()->message);
    xmlrpc_value_free(p);
    xmlrpc_decoder_free(dec);
    dec = limited(0, 0, 10, 0);
    REFUSE_CALL(eleven, XEND_ERR_INVALID_REQUEST, "max_elements", "10");
    xmlrpc_decoder_free(dec);

    /* max_string: strings, untyped values, member names and base64 payloads. */
    dec = limited(0, 0, 0, 100);
    char s100[101], s101[102];
    memset(s100, 'a', 100);
    s100[100] = '\0';
    memset(s101, 'b', 101);
    s101[101] = '\0';
    struct {
        const char *fmt;
    } forms[] = {
        {"<value><string>%s</string></value>"},
        {"<value>%s</value>"},
        {"<value><struct><member><name>%s</name><value/></member></struct></value>"},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        XEND_AUTOFREE char *ok = xasprintf(forms[i].fmt, s100);
        p = decode_value(ok);
        CHECK_MSG(p != NULL, "100 bytes with max_string 100 (%s): %s", forms[i].fmt,
                  xend_error_last()->message);
        xmlrpc_value_free(p);
        XEND_AUTOFREE char *big = xasprintf(forms[i].fmt, s101);
        REFUSE_VALUE(big, XEND_ERR_INVALID_REQUEST, "max_string", "100");
    }
    /* The limit is on decoded bytes: 100 entity references make 100 bytes. */
    {
        xbuf b = XBUF_INIT;
        xbuf_adds(&b, "<value><string>");
        for (int i = 0; i < 100; i++)
            xbuf_adds(&b, "&amp;");
        xbuf_adds(&b, "</string></value>");
        p = decode_value(b.data);
        CHECK_MSG(p != NULL && p->u.s.len == 100, "100 &amp; with max_string 100: %s",
                  xend_error_last()->message);
        xmlrpc_value_free(p);
        xbuf_reset(&b);
        xbuf_adds(&b, "<value><string>");
        for (int i = 0; i < 101; i++)
            xbuf_adds(&b, "&#x263A;"); /* 3 bytes each in UTF-8 */
        xbuf_adds(&b, "</string></value>");
        REFUSE_VALUE(b.data, XEND_ERR_INVALID_REQUEST, "max_string");
        xbuf_clear(&b);
    }
    {
        unsigned char raw[101];
        for (int i = 0; i < 101; i++)
            raw[i] = (unsigned char)(i * 7);
        xbuf enc = XBUF_INIT;
        /* 100 bytes: fine (its base64 text is longer than 100 characters, which is
         * allowed); 101 bytes: refused. */
        static const char alpha[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int n = 100; n <= 101; n++) {
            xbuf_reset(&enc);
            xbuf_adds(&enc, "<value><base64>");
            int i;
            for (i = 0; i + 3 <= n; i += 3) {
                unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
                char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63],
                             alpha[v & 63]};
                xbuf_add(&enc, q, 4);
                if (i % 57 == 54)
                    xbuf_adds(&enc, "\r\n");
            }
            if (n - i == 1) {
                unsigned v = (unsigned)raw[i] << 16;
                char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], '=', '='};
                xbuf_add(&enc, q, 4);
            } else if (n - i == 2) {
                unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8;
                char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63], '='};
                xbuf_add(&enc, q, 4);
            }
            xbuf_adds(&enc, "</base64></value>");
            if (n == 100) {
                p = decode_value(enc.data);
                CHECK_MSG(p && p->type == XMLRPC_BASE64 && p->u.s.len == 100 &&
                              memcmp(p->u.s.ptr, raw, 100) == 0,
                          "100-byte base64 with max_string 100: %s", xend_error_last()->message);
                xmlrpc_value_free(p);
            } else {
                REFUSE_VALUE(enc.data, XEND_ERR_INVALID_REQUEST, "max_string", "100");
            }
        }
        xbuf_clear(&enc);
    }
    /* a huge string is refused without trouble */
    {
        xbuf b = XBUF_INIT;
        xbuf_adds(&b, "<value><string>");
        for (int i = 0; i < 100000; i++)
            xbuf_adds(&b, "xxxxxxxxxx");
        xbuf_adds(&b, "</string></value>");
        REFUSE_VALUE(b.data, XEND_ERR_INVALID_REQUEST, "max_string");
        xbuf_clear(&b);
    }
    xmlrpc_decoder_free(dec);

    dec = saved;
}

static void test_big_struct(void)
{
    /* 100,000 members: decodes, and the duplicate check is not quadratic (no time assert:
     * a quadratic check would take minutes and hit the test timeout, worse under valgrind). */
    const int n = 100000;
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "<methodCall><methodName>m</methodName><params><param><value><struct>");
    for (int i = 0; i < n; i++)
        xbuf_printf(&b, "<member><name>m%d</name><value>%d</value></member>", i, i);
    size_t body_end = b.len;
    xbuf_adds(&b, "</struct></value></param></params></methodCall>");
    xmlrpc_value *p = decode_doc(b.data, b.len, "m");
    CHECK(p && p->u.a.n == 1 && p->u.a.items[0]->type == XMLRPC_STRUCT);
    if (p && p->u.a.n == 1) {
        const xmlrpc_value *st = p->u.a.items[0];
        CHECK_INTEQ(st->u.st.n, n);
        const xmlrpc_value *last = xmlrpc_struct_get(st, "m99999");
        CHECK(last && last->type == XMLRPC_STRING);
        CHECK_STREQ(last ? last->u.s.ptr : NULL, "99999");
    }
    xmlrpc_value_free(p);

    /* The same with the first name repeated at the very end. */
    b.len = body_end;
    b.data[b.len] = '\0';
    xbuf_adds(&b, "<member><name>m0</name><value>again</value></member>"
                  "</struct></value></param></params></methodCall>");
    REFUSE_CALL(b.data, XEND_ERR_INVALID_REQUEST, "duplicate", "'m0'");
    xbuf_clear(&b);
}

static void test_reuse(void)
{
    /* One decoder through a long mix of good and bad documents, calls and responses:
     * every good one decodes exactly as with a fresh decoder. */
    static const char *const docs[] = {
        sample_call,
        "<methodCall><methodName>m</methodName><params><param><value><int>2147483648</int>"
        "</value></param></params></methodCall>",
        "<!DOCTYPE x><methodCall><methodName>m</methodName></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><array><data>",
        "<methodCall><methodName>m</methodName><params><param><value>\xff</value></param>"
        "</params></methodCall>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName>"
        "<params><param><value>\xe9</value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a"
        "</name><value/></member><member><name>a</name><value/></member></struct></value>"
        "</param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><string>caf\xc3\xa9"
        "</string></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName></methodCall><junk/>",
        "<?xml version=\"1.0\" encoding=\"KOI8-R\"?><methodCall/>",
    };
    const size_t ndocs = sizeof(docs) / sizeof(docs[0]);
    int expect_code[sizeof(docs) / sizeof(docs[0])];
    xmlrpc_value *expect[sizeof(docs) / sizeof(docs[0])];
    xmlrpc_decoder *saved = dec;
    for (size_t i = 0; i < ndocs; i++) {
        dec = xmlrpc_decoder_new(NULL);
        expect[i] = decode_doc(docs[i], strlen(docs[i]), NULL);
        expect_code[i] = expect[i] ? 0 : xend_error_last()->code;
        xmlrpc_decoder_free(dec);
    }
    dec = saved;
    CHECK(expect[0] && expect[5] && expect[7]);
    CHECK(!expect[1] && !expect[2] && !expect[3] && !expect[4] && !expect[6] && !expect[8]);
    CHECK(expect_code[9] == XEND_ERR_ENCODING);

    unsigned mismatches = 0;
    for (unsigned round = 0; round < 300; round++) {
        size_t i = (round * 7 + round / 3) % ndocs;
        xmlrpc_value *p = decode_doc(docs[i], strlen(docs[i]), NULL);
        int code = p ? 0 : xend_error_last()->code;
        if (code != expect_code[i] || (p && !xmlrpc_value_equal(p, expect[i]))) {
            if (mismatches++ < 5)
                fprintf(stderr, "reuse round %u doc %zu: got %d, want %d\n", round, i, code,
                        expect_code[i]);
        }
        xmlrpc_value_free(p);
        if (round % 10 == 0) { /* interleave responses */
            xmlrpc_response r;
            CHECK_INTEQ(decode_resp(sample_response, strlen(sample_response), &r), 0);
            CHECK(r.result && r.result->type == XMLRPC_STRUCT);
            xmlrpc_response_clear(&r);
        }
    }
    CHECK_INTEQ(mismatches, 0);
    for (size_t i = 0; i < ndocs; i++)
        xmlrpc_value_free(expect[i]);
    /* Freeing a decoder that never decoded, and NULL, is fine. */
    xmlrpc_decoder_free(xmlrpc_decoder_new(NULL));
    xmlrpc_decoder_free(NULL);
}

int main(void)
{
    dec = xmlrpc_decoder_new(NULL);
    test_int();
    test_i8();
    test_boolean();
    test_double();
    test_string();
    test_datetime();
    test_base64();
    test_nil();
    test_struct();
    test_array();
    test_nested_and_whitespace();
    test_call_grammar();
    test_error_locations();
    test_response();
    test_doctype_and_entities();
    test_deep_nesting();
    test_deep_nesting_unlimited();
    test_bad_utf8();
    test_truncation();
    test_trailing_and_prolog();
    test_encodings();
    test_limits();
    test_big_struct();
    test_reuse();
    xmlrpc_decoder_free(dec);
    return check_summary("test-decode");
}
