/*
 * Unit tests of the configuration element tree (conf/xml.h): what the parser keeps (names,
 * attributes in order, leaf text, line numbers) and drops (layout whitespace, comments),
 * what it refuses (DOCTYPE and entities, mixed content, malformed XML, size, depth and
 * element limits), the formatter's exact output and escaping, and that format(parse(x))
 * parses back to the same tree and is a fixed point.
 */
#include "check-error.h"
#include "check.h"
#include "conf/xml.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xml_node *parse(const char *s)
{
    xend_error_reset();
    return xml_parse(s, strlen(s), "test XML");
}

static char *format(const xml_node *n, int indent)
{
    xbuf b = XBUF_INIT;
    xml_format(n, &b, indent);
    return xbuf_steal(&b, NULL);
}

static bool tree_equal(const xml_node *a, const xml_node *b)
{
    for (; a && b; a = a->next, b = b->next) {
        if (strcmp(a->name, b->name) != 0 || a->nattrs != b->nattrs)
            return false;
        /* "" set in code formats as an empty element, which parses as no text */
        const char *at = a->text ? a->text : "", *bt = b->text ? b->text : "";
        if (strcmp(at, bt) != 0)
            return false;
        for (size_t i = 0; i < a->nattrs; i++)
            if (strcmp(a->attrs[i].name, b->attrs[i].name) ||
                strcmp(a->attrs[i].value, b->attrs[i].value))
                return false;
        if (!tree_equal(a->children, b->children))
            return false;
    }
    return !a && !b;
}

static void test_parse_tree(void)
{
    static const char doc[] = "<?xml version='1.0' encoding='UTF-8'?>\n" /* 1 */
                              "<!-- a comment -->\n"                     /* 2 */
                              "<root b='2' a=\"1\">\n"                   /* 3 */
                              "  <leaf>  some text  </leaf>\n"           /* 4 */
                              "  <empty/>\n"                             /* 5 */
                              "  <blank>   \n  </blank>\n"               /* 6-7 */
                              "  <?pi ignored?>\n"                       /* 8 */
                              "  <inner x='&lt;&amp;&gt;'>\n"            /* 9 */
                              "    <deep><![CDATA[<raw> & ]]>more</deep>\n" /* 10 */
                              "  </inner>\n"
                              "</root>\n";
    xml_node *root = parse(doc);
    CHECK(root != NULL);
    if (!root)
        return;
    CHECK_STREQ(root->name, "root");
    CHECK_INTEQ(root->line, 3);
    CHECK(root->text == NULL);
    CHECK_INTEQ(root->nattrs, 2);
    CHECK_STREQ(root->attrs[0].name, "b"); /* document order, not sorted */
    CHECK_STREQ(root->attrs[1].name, "a");
    CHECK_STREQ(xml_node_attr(root, "a"), "1");
    CHECK(xml_node_attr(root, "c") == NULL);

    xml_node *leaf = root->children;
    CHECK_STREQ(leaf->name, "leaf");
    CHECK_STREQ(leaf->text, "  some text  ");
    CHECK_INTEQ(leaf->line, 4);
    xml_node *empty = leaf->next;
    CHECK_STREQ(empty->name, "empty");
    CHECK(empty->text == NULL && empty->children == NULL && empty->nattrs == 0);
    xml_node *blank = xml_node_child(root, "blank");
    CHECK(blank && blank->text == NULL); /* whitespace-only text is layout */
    xml_node *inner = xml_node_child(root, "inner");
    CHECK(inner && inner->line == 9);
    CHECK_STREQ(xml_node_attr(inner, "x"), "<&>");
    CHECK_STREQ(inner->children->text, "<raw> & more");
    CHECK_INTEQ(inner->children->line, 10);
    CHECK(inner->next == NULL);
    CHECK(xml_node_child(root, "missing") == NULL);
    xml_node_free(root);
}

static void test_refusals(void)
{
    static const struct {
        const char *doc, *fragment;
        unsigned line;
    } cases[] = {
        {"<a>\n<!DOCTYPE a>", "line 2", 2},
        {"<?xml version='1.0'?>\n<!DOCTYPE a [\n<!ENTITY e 'x'>\n]>\n<a>&e;</a>", "DOCTYPE", 2},
        {"<a>\n  text\n  <b/>\n</a>", "<a> (line 1) mixes text with child elements", 3},
        {"<a>\n  <b/>\n  tail\n</a>", "mixes text", 4},
        {"<a>\n<b>\n</a>", "mismatched tag", 3},
        {"<a>\n</a>\n<b/>", "junk after document element", 3},
        {"<a x='1' x='2'/>", "duplicate attribute", 1},
        {"<a>&undefined;</a>", "undefined entity", 1},
        {"<a>\x01</a>", "not well-formed", 1},
        {"<a>\n\xff</a>", "not well-formed", 2},
        {"", "no element found", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xml_node *n = parse(cases[i].doc);
        CHECK_MSG(n == NULL, "case %zu parsed", i);
        xml_node_free(n);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "test XML: ", cases[i].fragment);
        CHECK_ERROR_LINE(cases[i].line);
    }
    /* Billion laughs: refused at the DOCTYPE, before any entity is declared. */
    static const char laughs[] =
        "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol 'lol'>\n"
        " <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
        " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
        "]>\n<lolz>&lol3;</lolz>";
    CHECK(parse(laughs) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "DOCTYPE declarations are not allowed");
    /* NULL what still gives a message. */
    xend_error_reset();
    CHECK(xml_parse("<a>", 3, NULL) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "XML: line 1");
}

static void test_limits(void)
{
    xbuf b = XBUF_INIT;
    /* Depth: XML_MAX_DEPTH nested elements parse, one more does not. */
    for (int i = 0; i < XML_MAX_DEPTH; i++)
        xbuf_adds(&b, "<e>");
    for (int i = 0; i < XML_MAX_DEPTH; i++)
        xbuf_adds(&b, "</e>");
    xml_node *n = parse(b.data);
    CHECK(n != NULL);
    xml_node_free(n);
    xbuf_reset(&b);
    for (int i = 0; i < XML_MAX_DEPTH + 1; i++)
        xbuf_adds(&b, "<e>");
    for (int i = 0; i < XML_MAX_DEPTH + 1; i++)
        xbuf_adds(&b, "</e>");
    CHECK(parse(b.data) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "nested deeper than 32 levels");

    /* Element count: the root plus XML_MAX_NODES - 1 children parse; one more does not. */
    xbuf_reset(&b);
    xbuf_adds(&b, "<r>");
    for (unsigned i = 0; i < XML_MAX_NODES - 1; i++)
        xbuf_adds(&b, "<e/>");
    xbuf_adds(&b, "</r>");
    n = parse(b.data);
    CHECK(n != NULL);
    size_t count = 0;
    for (xml_node *c = n ? n->children : NULL; c; c = c->next)
        count++;
    CHECK_INTEQ(count, XML_MAX_NODES - 1);
    xml_node_free(n);
    b.len -= 4;
    xbuf_adds(&b, "<e/></r>");
    CHECK(parse(b.data) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "more than 100000 elements");

    /* Size: checked before parsing. */
    char *big = xmalloc(XML_MAX_DOCUMENT + 1);
    memset(big, ' ', XML_MAX_DOCUMENT + 1);
    memcpy(big, "<a/>", 4);
    xend_error_reset();
    CHECK(xml_parse(big, XML_MAX_DOCUMENT + 1, "big.xml") == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "big.xml", "exceeds the limit of 4194304 bytes");
    n = xml_parse(big, XML_MAX_DOCUMENT, "big.xml");
    CHECK(n != NULL);
    xml_node_free(n);
    free(big);
    xbuf_clear(&b);
}

static void test_format_exact(void)
{
    xml_node *root = xml_node_new("domain");
    xml_node_set_attr(root, "type", "kvm");
    xml_node_set_attr(root, "quote", "it's \"q\" & <x>");
    xml_node_set_attr(root, "type", "qemu"); /* replaced in place, order kept */
    xml_node_new_child(root, "name", "a&b");
    xml_node *os = xml_node_new_child(root, "os", NULL);
    xml_node_set_attr(xml_node_new_child(os, "boot", NULL), "dev", "hd");
    xml_node_new_child(os, "cmdline", "console=ttyS0\tquiet\nsecond line\r");
    xml_node_new_child(root, "empty", "");
    xml_node *ws = xml_node_add_child(root, xml_node_new("attrs"));
    xml_node_set_attr(ws, "v", "tab\there\nnewline\rcr");
    char *s = format(root, 1);
    CHECK_STREQ(s, "  <domain type='qemu' quote='it&apos;s &quot;q&quot; &amp; &lt;x&gt;'>\n"
                   "    <name>a&amp;b</name>\n"
                   "    <os>\n"
                   "      <boot dev='hd'/>\n"
                   "      <cmdline>console=ttyS0\tquiet\nsecond line&#13;</cmdline>\n"
                   "    </os>\n"
                   "    <empty/>\n"
                   "    <attrs v='tab&#9;here&#10;newline&#13;cr'/>\n"
                   "  </domain>\n");

    /* What was formatted parses back to the same tree, and formats identically. */
    xml_node *back = parse(s);
    CHECK(back != NULL);
    CHECK(tree_equal(root, back));
    CHECK_STREQ(xml_node_attr(back, "quote"), "it's \"q\" & <x>");
    CHECK_STREQ(xml_node_attr(xml_node_child(back, "attrs"), "v"), "tab\there\nnewline\rcr");
    char *s2 = format(back, 1);
    CHECK_STREQ(s2, s);
    free(s2);
    xml_node_free(back);

    /* Copies are deep and independent. */
    xml_node *copy = xml_node_copy(root);
    CHECK(tree_equal(root, copy));
    xml_node_set_text(xml_node_child(copy, "name"), "changed");
    CHECK_STREQ(xml_node_child(root, "name")->text, "a&b");
    CHECK(!tree_equal(root, copy));
    xml_node_set_text(xml_node_child(copy, "name"), NULL);
    CHECK(xml_node_child(copy, "name")->text == NULL);
    xml_node_free(copy);
    CHECK(xml_node_copy(NULL) == NULL);
    free(s);
    xml_node_free(root);

    xbuf b = XBUF_INIT;
    xml_escape(&b, "a<b>c&d\"e'f\rg\nh");
    CHECK_STREQ(b.data, "a&lt;b&gt;c&amp;d&quot;e&apos;f&#13;g\nh");
    xbuf_clear(&b);
}

static void test_roundtrip(void)
{
    static const char *const docs[] = {
        "<a/>",
        "<a x='&#10;&#9;&#13;' y=\"a'b\"><b>\r\n text \r\n</b><c><d/></c></a>",
        "<p:a xmlns:p='urn:x'><p:b p:attr='1'>&#xe9;t&#233; \xe2\x82\xac</p:b></p:a>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9t\xe9</a>",
        "<a>\n<b>]]&gt;</b>\n<!-- x -->\n<c>&apos;&quot;</c></a>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        xml_node *t1 = parse(docs[i]);
        CHECK_MSG(t1 != NULL, "doc %zu: %s", i, xend_error_last()->message);
        if (!t1)
            continue;
        char *f1 = format(t1, 0);
        xml_node *t2 = parse(f1);
        CHECK_MSG(t2 && tree_equal(t1, t2), "doc %zu: tree changed through\n%s", i, f1);
        char *f2 = t2 ? format(t2, 0) : NULL;
        CHECK_STREQ(f2, f1);
        free(f1);
        free(f2);
        xml_node_free(t1);
        xml_node_free(t2);
    }
    /* Latin-1 input comes out as UTF-8. */
    xml_node *t = parse(docs[3]);
    CHECK(t && strcmp(t->text, "\xc3\xa9t\xc3\xa9") == 0);
    xml_node_free(t);
}

static void test_lists(void)
{
    xml_node *a = xml_node_new("a"), *b = xml_node_new("b");
    a->next = b;
    xml_node_new_child(b, "c", "text");
    xml_node_free_list(a); /* frees both siblings (valgrind checks) */
    xml_node_free_list(NULL);
    xml_node_free(NULL);
}

int main(void)
{
    test_parse_tree();
    test_refusals();
    test_limits();
    test_format_exact();
    test_roundtrip();
    test_lists();
    return check_summary("xml");
}
