/*
 * S-expression text syntax (src/conf/sxp.c): parsing into the xmlrpc_value form, every
 * refusal with its line, the compact and pretty formats (the pretty one against a golden
 * file in tests/data/sxp/), round trips, and the value helpers.
 */
#include "check-data.h"
#include "check-error.h"
#include "conf/sxp.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xmlrpc_value *parse(const char *text)
{
    xend_error_reset();
    return sxp_parse(text, strlen(text), "test.sxp");
}

static char *format(const xmlrpc_value *v, bool pretty)
{
    xbuf b = XBUF_INIT;
    if (sxp_format(v, &b, pretty) < 0) {
        xbuf_clear(&b);
        return NULL;
    }
    xbuf_adds(&b, "");
    return xbuf_steal(&b, NULL);
}

static const char *atom(const xmlrpc_value *list, size_t i)
{
    const xmlrpc_value *v = list && list->type == XMLRPC_ARRAY ? xmlrpc_array_get(list, i) : NULL;
    return v && v->type == XMLRPC_STRING ? v->u.s.ptr : NULL;
}

static void test_parse_basic(void)
{
    xmlrpc_value *v = parse("  # leading comment\n(domain (domid 0) (name Domain-0)\n"
                            "  (image (linux (kernel /boot/vmlinuz))) ())  \n# trailing\n");
    CHECK(v && v->type == XMLRPC_ARRAY);
    CHECK_INTEQ(xmlrpc_array_size(v), 5);
    CHECK_STREQ(atom(v, 0), "domain");
    CHECK_STREQ(atom(xmlrpc_array_get(v, 1), 0), "domid");
    CHECK_STREQ(atom(xmlrpc_array_get(v, 1), 1), "0");
    CHECK_STREQ(sxp_name(v), "domain");
    const xmlrpc_value *img = sxp_child(v, "image");
    CHECK(img != NULL);
    const xmlrpc_value *linux_ = img ? xmlrpc_array_get(img, 1) : NULL;
    char buf[32];
    CHECK_STREQ(sxp_child_value(linux_, "kernel", buf), "/boot/vmlinuz");
    CHECK_STREQ(sxp_child_value(v, "name", buf), "Domain-0");
    CHECK(sxp_child_value(v, "nothere", buf) == NULL);
    CHECK(sxp_child(v, "domain") == NULL); /* the head is not a child */
    const xmlrpc_value *empty = xmlrpc_array_get(v, 4);
    CHECK(empty && empty->type == XMLRPC_ARRAY && xmlrpc_array_size(empty) == 0);
    CHECK(sxp_name(empty) == NULL);
    xmlrpc_value_free(v);

    /* a lone atom is an s-expression too */
    v = parse(" hello ");
    CHECK(v && v->type == XMLRPC_STRING && strcmp(v->u.s.ptr, "hello") == 0);
    xmlrpc_value_free(v);
}

static void test_parse_quoted(void)
{
    xmlrpc_value *v = parse("(a 'b c' \"d\\\"e\" '\\x41\\101\\n\\t\\r\\\\\\'' '' \"it's\" "
                            "'caf\xc3\xa9' '\\xc3\\xa9' 'two\nlines' x;y[z])");
    CHECK(v != NULL);
    CHECK_STREQ(atom(v, 1), "b c");
    CHECK_STREQ(atom(v, 2), "d\"e");
    CHECK_STREQ(atom(v, 3), "AA\n\t\r\\'");
    CHECK_STREQ(atom(v, 4), "");
    CHECK_STREQ(atom(v, 5), "it's");
    CHECK_STREQ(atom(v, 6), "caf\xc3\xa9");
    CHECK_STREQ(atom(v, 7), "\xc3\xa9"); /* \xHH are bytes, as Xend's repr() wrote UTF-8 */
    CHECK_STREQ(atom(v, 8), "two\nlines");
    CHECK_STREQ(atom(v, 9), "x;y[z]");
    xmlrpc_value_free(v);

    v = parse("('\\a\\b\\f\\v')");
    CHECK(v && strcmp(atom(v, 0), "\a\b\f\v") == 0);
    xmlrpc_value_free(v);
}

/* Each refusal: CONFIG_INVALID, the name given, the reason and the line. */
static void check_refused(const char *text, const char *reason, unsigned line)
{
    xmlrpc_value *v = parse(text);
    CHECK_MSG(v == NULL, "accepted: %s", text);
    xmlrpc_value_free(v);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "test.sxp", reason);
    CHECK_ERROR_LINE(line);
}

static void test_parse_errors(void)
{
    check_refused("", "no s-expression", 1);
    check_refused("  # only a comment\n", "no s-expression", 2);
    check_refused("(a\n (b c)\n", "list opened on line 1 is not closed", 3);
    check_refused("(a))", "text after", 1);
    check_refused("(a) b", "text after", 1);
    check_refused(")", "unexpected ')'", 1);
    check_refused("(a\n 'b)", "not closed", 2);
    check_refused("(a '\\q')", "unknown escape", 1);
    check_refused("(a '\\x4')", "two hex digits", 1);
    check_refused("(a '\\x00')", "NUL", 1);
    check_refused("(a '\\400')", "octal", 1);
    check_refused("(a\n\n '\xff')", "UTF-8", 3);
    check_refused("(a \xc3)", "UTF-8", 1);
    check_refused("(a b'c')", "quote inside a bare atom", 1);
    check_refused("(a 'b'c)", "directly after an atom", 1);
    check_refused("(a \x01)", "invalid character", 1);
    check_refused("(a '\\", "end of text", 1);
    static const char nul[] = "(a \0 b)";
    xend_error_reset();
    CHECK(sxp_parse(nul, sizeof(nul) - 1, "nul.sxp") == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "nul.sxp", "invalid character");

    /* depth: 32 nested lists are fine, 33 are not */
    xbuf b = XBUF_INIT;
    for (int i = 0; i < SXP_MAX_DEPTH; i++)
        xbuf_addc(&b, '(');
    for (int i = 0; i < SXP_MAX_DEPTH; i++)
        xbuf_addc(&b, ')');
    xmlrpc_value *v = parse(b.data);
    CHECK(v != NULL);
    xmlrpc_value_free(v);
    xbuf_reset(&b);
    for (int i = 0; i <= SXP_MAX_DEPTH; i++)
        xbuf_addc(&b, '(');
    for (int i = 0; i <= SXP_MAX_DEPTH; i++)
        xbuf_addc(&b, ')');
    check_refused(b.data, "nested deeper than 32", 1);

    /* node count */
    xbuf_reset(&b);
    xbuf_addc(&b, '(');
    for (unsigned i = 0; i < SXP_MAX_NODES; i++)
        xbuf_adds(&b, "a ");
    xbuf_addc(&b, ')');
    check_refused(b.data, "more than 100000", 1);

    /* size */
    xend_error_reset();
    CHECK(sxp_parse(b.data, SXP_MAX_TEXT + 1, "big.sxp") == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "big.sxp", "larger than");
    xbuf_clear(&b);
}

static void test_format_atoms(void)
{
    xmlrpc_value *l = sxp_list("x");
    xmlrpc_array_append(l, xmlrpc_string("plain-0.9_a:/b~"));
    xmlrpc_array_append(l, xmlrpc_string("two words"));
    xmlrpc_array_append(l, xmlrpc_string(""));
    xmlrpc_array_append(l, xmlrpc_string("it's"));
    xmlrpc_array_append(l, xmlrpc_string("both ' and \""));
    xmlrpc_array_append(l, xmlrpc_string("tab\there\nnl\\ \x01"));
    xmlrpc_array_append(l, xmlrpc_string("root=/dev/sda1"));
    xmlrpc_array_append(l, xmlrpc_string("caf\xc3\xa9"));
    xmlrpc_array_append(l, xmlrpc_int(-42));
    xmlrpc_array_append(l, xmlrpc_i8(1LL << 40));
    xmlrpc_array_append(l, xmlrpc_double(0.1));
    xmlrpc_array_append(l, xmlrpc_double(1149686285.33));
    xmlrpc_array_append(l, xmlrpc_bool(true));
    char *s = format(l, false);
    CHECK_STREQ(s, "(x plain-0.9_a:/b~ 'two words' '' \"it's\" 'both \\' and \"' "
                   "'tab\\there\\nnl\\\\ \\x01' 'root=/dev/sda1' 'caf\xc3\xa9' -42 1099511627776 "
                   "0.1 1149686285.33 1)");
    free(s);

    /* non-string atoms read back as their text */
    char buf[32];
    xmlrpc_value *p = sxp_list("p");
    xmlrpc_value *pair = sxp_list("n");
    xmlrpc_array_append(pair, xmlrpc_int(7));
    xmlrpc_array_append(p, pair);
    CHECK_STREQ(sxp_child_value(p, "n", buf), "7");
    xmlrpc_value_free(p);

    /* what is not an atom or a list is refused, and nothing is written */
    xmlrpc_array_append(l, xmlrpc_struct());
    xbuf b = XBUF_INIT;
    xend_error_reset();
    CHECK(sxp_format(l, &b, false) == -1);
    CHECK_ERROR(XEND_ERR_INVALID_ARG, "struct");
    CHECK(b.len == 0);
    xmlrpc_value_free(l);
    l = xmlrpc_nil();
    CHECK(sxp_format(l, &b, true) == -1);
    CHECK_ERROR(XEND_ERR_INVALID_ARG, "nil");
    xmlrpc_value_free(l);
    l = xmlrpc_base64("ab", 2);
    CHECK(sxp_format(l, &b, false) == -1);
    xmlrpc_value_free(l);
    /* too deep to read back */
    xmlrpc_value *deep = xmlrpc_array();
    for (int i = 0; i < SXP_MAX_DEPTH; i++) {
        xmlrpc_value *outer = xmlrpc_array();
        xmlrpc_array_append(outer, deep);
        deep = outer;
    }
    CHECK(sxp_format(deep, &b, false) == -1);
    CHECK_ERROR(XEND_ERR_INVALID_ARG, "deeper");
    xmlrpc_value_free(deep);
    xbuf_clear(&b);
}

static void test_build(void)
{
    xmlrpc_value *l = sxp_list("vbd");
    sxp_add(l, "uname", "phy:/dev/sda1");
    sxp_addf(l, "dev", "xvda%d", 1);
    char *s = format(l, false);
    CHECK_STREQ(s, "(vbd (uname phy:/dev/sda1) (dev xvda1))");
    free(s);
    char buf[32];
    CHECK_STREQ(sxp_child_value(l, "dev", buf), "xvda1");
    xmlrpc_value_free(l);
}

/* What xm list --long printed for dom0, in Xend's layout. */
static void test_pretty_golden(void)
{
    char *in = read_data("sxp/dom0.sxp");
    char *want = read_data("sxp/dom0.pretty");
    CHECK(in && want);
    if (!in || !want) {
        free(in);
        free(want);
        return;
    }
    xmlrpc_value *v = parse(in);
    CHECK(v != NULL);
    char *got = format(v, true);
    CHECK_STREQ(got, want);
    CHECK(check_contains(got, "(domain\n"));
    CHECK(check_contains(got, "(domid 0)"));
    /* the pretty form reads back to the same value */
    xmlrpc_value *again = got ? parse(got) : NULL;
    CHECK(again && xmlrpc_value_equal(v, again));
    xmlrpc_value_free(again);
    free(got);
    xmlrpc_value_free(v);
    free(in);
    free(want);
}

static void test_pretty_layout(void)
{
    /* fits in 80 columns: one line, with the newline Xend's prettyprint added */
    xmlrpc_value *v = parse("(image (linux (kernel /boot/vmlinuz)))");
    char *s = format(v, true);
    CHECK_STREQ(s, "(image (linux (kernel /boot/vmlinuz)))\n");
    free(s);
    xmlrpc_value_free(v);

    /* too wide: every element of the broken list on its own line, ')' under '(' */
    v = parse("(image (linux (kernel /boot/vmlinuz-2.6.18-xen) (ramdisk /boot/initrd-2.6.18.img) "
              "(args 'root=/dev/sda1 ro console=hvc0')))");
    s = format(v, true);
    CHECK_STREQ(s, "(image\n"
                   "    (linux\n"
                   "        (kernel /boot/vmlinuz-2.6.18-xen)\n"
                   "        (ramdisk /boot/initrd-2.6.18.img)\n"
                   "        (args 'root=/dev/sda1 ro console=hvc0')\n"
                   "    )\n"
                   ")\n");
    free(s);
    xmlrpc_value_free(v);

    /* a long list of atoms stays on one line */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "(cpumap");
    for (int i = 0; i < 40; i++)
        xbuf_printf(&b, " %d", i);
    xbuf_adds(&b, ")");
    v = parse(b.data);
    s = format(v, true);
    CHECK_STREQ(s, "(cpumap 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 "
                   "27 28 29 30 31 32 33 34 35 36 37 38 39)\n");
    xmlrpc_value *again = s ? parse(s) : NULL;
    CHECK(again && xmlrpc_value_equal(v, again));
    xmlrpc_value_free(again);
    free(s);
    xmlrpc_value_free(v);
    xbuf_clear(&b);

    /* an atom alone */
    v = xmlrpc_string("a b");
    s = format(v, true);
    CHECK_STREQ(s, "'a b'\n");
    free(s);
    xmlrpc_value_free(v);
}

/* format(parse(x)) is a fixed point and reads back equal, for both forms. */
static void test_roundtrip(void)
{
    static const char *const texts[] = {
        "(a)",
        "()",
        "(vm (name 'my vm') (memory 64) (image (linux (kernel /k) (args \"a='b'\"))))",
        "(x '' \"'\" '\\\\' 'tab\\t' (nested (deeper (deepest 'a b c'))))",
        "word",
        "('\\x7f\\x01' '\xe2\x82\xac' (()) ((a) b))",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        for (int pretty = 0; pretty < 2; pretty++) {
            xmlrpc_value *v = parse(texts[i]);
            CHECK_MSG(v != NULL, "%s: %s", texts[i], xend_error_last()->message);
            char *s1 = v ? format(v, pretty) : NULL;
            xmlrpc_value *w = s1 ? parse(s1) : NULL;
            CHECK_MSG(w && xmlrpc_value_equal(v, w), "%s", texts[i]);
            char *s2 = w ? format(w, pretty) : NULL;
            CHECK_STREQ(s1, s2);
            free(s1);
            free(s2);
            xmlrpc_value_free(v);
            xmlrpc_value_free(w);
        }
    }
}

int main(void)
{
    test_parse_basic();
    test_parse_quoted();
    test_parse_errors();
    test_format_atoms();
    test_build();
    test_pretty_golden();
    test_pretty_layout();
    test_roundtrip();
    return check_summary("sxp");
}
