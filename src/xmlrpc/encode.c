/*
 * XML-RPC encoder: values, calls, responses and faults into a growable buffer. Output is
 * compact (no indentation) and only ever contains characters XML 1.0 can carry: strings are
 * checked as they are escaped, CR is written as a character reference so it survives XML
 * line-end normalisation, and doubles are written in plain decimal notation (the spec
 * allows no exponent) with the fewest digits that read back to the same value.
 */
#include "codec.h"

#include "base64.h"
#include "util/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (at most n bytes) if it encodes a character XML 1.0 can
 * carry, else 0. */
static size_t utf8_xml_char(const unsigned char *s, size_t n, uint32_t *cp_out)
{
    unsigned char c = s[0];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
        *cp_out = c;
        return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *cp_out = cp;
    /* overlong forms, surrogates, beyond U+10FFFF, U+FFFE/U+FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return 0;
    return len;
}

/* Length of a structurally complete UTF-8 sequence at s (so a disallowed but well-formed
 * character such as U+FFFE is replaced by one U+FFFD, not three), else 1. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 1;
    if (len > n || s[0] >= 0xf5)
        return 1;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 1;
    return len;
}

long xmlrpc_text_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] >= 0x20 && p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_xml_char(p + i, len - i, &cp);
        if (!l)
            return (long)i;
        i += l;
    }
    return -1;
}

/* Append s escaped for XML text. With sanitize, characters XML cannot carry become U+FFFD;
 * without, they make the call fail (INVALID_CHAR reported). */
static int encode_text(xbuf *out, const char *s, size_t len, bool sanitize)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    xbuf_reserve(out, len);
    while (i < len) {
        unsigned char c = p[i];
        const char *rep = NULL;
        size_t l = 1;
        if (c >= 0x20 && c < 0x80) {
            if (c == '<')
                rep = "&lt;";
            else if (c == '&')
                rep = "&amp;";
            else if (c == '>')
                rep = "&gt;";
        } else if (c == '\r') {
            rep = "&#13;";
        } else {
            uint32_t cp;
            l = utf8_xml_char(p + i, len - i, &cp);
            if (!l) {
                if (!sanitize) {
                    if (c < 0x20)
                        xend_error_report(XEND_ERR_INVALID_CHAR,
                                          "string contains control character U+%04X at byte "
                                          "%zu, which XML 1.0 cannot carry (send it as base64)",
                                          c, i);
                    else
                        xend_error_report(XEND_ERR_INVALID_CHAR,
                                          "string contains invalid UTF-8 or a non-character at "
                                          "byte %zu, which XML 1.0 cannot carry (send it as "
                                          "base64)",
                                          i);
                    return -1;
                }
                rep = "\xef\xbf\xbd";
                l = utf8_seq_len(p + i, len - i);
            }
        }
        if (rep) {
            xbuf_add(out, s + i - run, run);
            run = 0;
            xbuf_adds(out, rep);
        } else {
            run += l;
        }
        i += l;
    }
    xbuf_add(out, s + len - run, run);
    return 0;
}

/* Plain decimal notation with the fewest significant digits that read back exactly. */
static void encode_double(xbuf *out, double d);

void xmlrpc_encode_int_text(xbuf *out, int64_t v)
{
    /* By hand: snprintf was a sixth of a large list reply's cost. */
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    xbuf_add(out, p, (size_t)(buf + sizeof(buf) - p));
}

void xmlrpc_encode_double_text(xbuf *out, double d)
{
    if (d == 0 && !signbit(d)) {
        xbuf_add(out, "0.0", 3);
        return;
    }
    encode_double(out, d);
}

static void encode_double(xbuf *out, double d)
{
    char tmp[40];
    /* If the shortest form that reads back has at most 15 significant digits, the
     * 15-digit rounding is that form padded with zeros (a double carries ~15.95 digits,
     * so it lies well inside that rounding interval); trimming the zeros below recovers
     * it. Otherwise 16 or 17 digits are needed, and 17 always suffice. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is [-]D[.DDD]e[+-]XX: collect the digits and the decimal exponent */
    char digs[24];
    int nd = 0;
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digs[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    /* value = 0.D1D2...Dn * 10^(exp10+1) */
    int point = exp10 + 1;
    xbuf_reserve(out, (size_t)(abs(point) + nd + 8));
    if (neg)
        xbuf_addc(out, '-');
    if (point <= 0) {
        xbuf_adds(out, "0.");
        for (int i = 0; i < -point; i++)
            xbuf_addc(out, '0');
        xbuf_add(out, digs, (size_t)nd);
    } else if (point >= nd) {
        xbuf_add(out, digs, (size_t)nd);
        for (int i = nd; i < point; i++)
            xbuf_addc(out, '0');
        xbuf_adds(out, ".0");
    } else {
        xbuf_add(out, digs, (size_t)point);
        xbuf_addc(out, '.');
        xbuf_add(out, digs + point, (size_t)(nd - point));
    }
}

static int encode_value_depth(xbuf *out, const xmlrpc_value *v, unsigned depth)
{
    /* depth counts enclosing arrays/structs, as the decoder's max_depth does */
    if ((v->type == XMLRPC_ARRAY || v->type == XMLRPC_STRUCT) &&
        depth >= XMLRPC_ENCODE_MAX_DEPTH) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                          "value nested deeper than %u arrays/structs cannot be encoded",
                          XMLRPC_ENCODE_MAX_DEPTH);
        return -1;
    }
    switch (v->type) {
    case XMLRPC_INT:
        xbuf_add(out, "<value><int>", 12);
        xmlrpc_encode_int_text(out, v->u.i);
        xbuf_add(out, "</int></value>", 14);
        return 0;
    case XMLRPC_I8:
        xbuf_add(out, "<value><i8>", 11);
        xmlrpc_encode_int_text(out, v->u.i);
        xbuf_add(out, "</i8></value>", 13);
        return 0;
    case XMLRPC_RAW:
        xbuf_add(out, v->u.s.ptr, v->u.s.len);
        return 0;
    case XMLRPC_BOOL:
        xbuf_adds(out, v->u.b ? "<value><boolean>1</boolean></value>"
                              : "<value><boolean>0</boolean></value>");
        return 0;
    case XMLRPC_DOUBLE:
        if (!isfinite(v->u.d)) {
            xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                              "double %f cannot be encoded: XML-RPC has no NaN or infinity",
                              v->u.d);
            return -1;
        }
        xbuf_add(out, "<value><double>", 15);
        xmlrpc_encode_double_text(out, v->u.d);
        xbuf_add(out, "</double></value>", 17);
        return 0;
    case XMLRPC_STRING:
        xbuf_add(out, "<value><string>", 15);
        if (encode_text(out, v->u.s.ptr, v->u.s.len, false) < 0)
            return -1;
        xbuf_add(out, "</string></value>", 17);
        return 0;
    case XMLRPC_DATETIME:
        xbuf_adds(out, "<value><dateTime.iso8601>");
        if (encode_text(out, v->u.s.ptr, v->u.s.len, false) < 0)
            return -1;
        xbuf_adds(out, "</dateTime.iso8601></value>");
        return 0;
    case XMLRPC_BASE64:
        xbuf_add(out, "<value><base64>", 15);
        base64_encode(out, (const unsigned char *)v->u.s.ptr, v->u.s.len);
        xbuf_add(out, "</base64></value>", 17);
        return 0;
    case XMLRPC_NIL:
        xbuf_add(out, "<value><nil/></value>", 21);
        return 0;
    case XMLRPC_ARRAY:
        xbuf_add(out, "<value><array><data>", 20);
        for (size_t i = 0; i < v->u.a.n; i++)
            if (encode_value_depth(out, v->u.a.items[i], depth + 1) < 0)
                return -1;
        xbuf_add(out, "</data></array></value>", 23);
        return 0;
    case XMLRPC_STRUCT:
        xbuf_add(out, "<value><struct>", 15);
        for (size_t i = 0; i < v->u.st.n; i++) {
            const xmlrpc_member *m = &v->u.st.m[i];
            xbuf_add(out, "<member><name>", 14);
            if (encode_text(out, m->name, strlen(m->name), false) < 0)
                return -1;
            xbuf_add(out, "</name>", 7);
            if (encode_value_depth(out, m->value, depth + 1) < 0)
                return -1;
            xbuf_add(out, "</member>", 9);
        }
        xbuf_add(out, "</struct></value>", 17);
        return 0;
    default:
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL, "value of unknown type %d",
                          (int)v->type);
        return -1;
    }
}

int xmlrpc_encode_value(xbuf *out, const xmlrpc_value *v)
{
    return encode_value_depth(out, v, 0);
}

static const char xml_decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

int xmlrpc_encode_call(xbuf *out, const char *method, const xmlrpc_value *params_array)
{
    xbuf_add(out, xml_decl, sizeof(xml_decl) - 1);
    xbuf_adds(out, "<methodCall><methodName>");
    if (encode_text(out, method, strlen(method), false) < 0)
        return -1;
    xbuf_adds(out, "</methodName><params>");
    if (params_array) {
        if (params_array->type != XMLRPC_ARRAY) {
            xend_error_report(XEND_ERR_PROTOCOL_INTERNAL, "call parameters must be an array");
            return -1;
        }
        for (size_t i = 0; i < params_array->u.a.n; i++) {
            xbuf_add(out, "<param>", 7);
            if (xmlrpc_encode_value(out, params_array->u.a.items[i]) < 0)
                return -1;
            xbuf_add(out, "</param>", 8);
        }
    }
    xbuf_adds(out, "</params></methodCall>\n");
    return 0;
}

static const char response_head[] = "<methodResponse><params><param>";

size_t xmlrpc_response_head_len(void)
{
    return sizeof(xml_decl) - 1 + sizeof(response_head) - 1;
}

int xmlrpc_encode_response_take(xbuf *out, xmlrpc_value *result)
{
    size_t head = xmlrpc_response_head_len();
    if (result->type != XMLRPC_RAW || out->len != 0 || result->u.s.head != head) {
        int rc = xmlrpc_encode_response(out, result);
        xmlrpc_value_free(result);
        return rc;
    }
    /* Write the head into the room in front of the value and adopt the buffer. */
    char *buf = result->u.s.ptr - head;
    memcpy(buf, xml_decl, sizeof(xml_decl) - 1);
    memcpy(buf + sizeof(xml_decl) - 1, response_head, sizeof(response_head) - 1);
    xbuf_clear(out);
    out->data = buf;
    out->len = head + result->u.s.len;
    out->cap = out->len + 1;
    result->u.s.ptr = NULL;
    xmlrpc_value_free(result);
    xbuf_adds(out, "</param></params></methodResponse>\n");
    return 0;
}

int xmlrpc_encode_response(xbuf *out, const xmlrpc_value *result)
{
    xbuf_add(out, xml_decl, sizeof(xml_decl) - 1);
    xbuf_add(out, response_head, sizeof(response_head) - 1);
    if (xmlrpc_encode_value(out, result) < 0)
        return -1;
    xbuf_adds(out, "</param></params></methodResponse>\n");
    return 0;
}

void xmlrpc_encode_fault(xbuf *out, int code, const char *msg)
{
    char num[16];
    xbuf_add(out, xml_decl, sizeof(xml_decl) - 1);
    xbuf_adds(out, "<methodResponse><fault><value><struct>"
                   "<member><name>faultCode</name><value><int>");
    xbuf_add(out, num, (size_t)snprintf(num, sizeof(num), "%d", code));
    xbuf_adds(out, "</int></value></member>"
                   "<member><name>faultString</name><value><string>");
    encode_text(out, msg, strlen(msg), true);
    xbuf_adds(out, "</string></value></member></struct></value></fault></methodResponse>\n");
}
