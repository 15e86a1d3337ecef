/*
 * The configuration element tree (see xml.h). Expat streams the document into nodes kept on
 * an explicit stack of open elements, so hostile nesting cannot exhaust the C stack while
 * parsing. The same rules as the XML-RPC decoder apply: any DOCTYPE is refused (so no entity
 * is ever declared or expanded) and size, depth and element count are bounded.
 *
 * Text is kept only where it means something: a leaf element keeps its character data
 * verbatim unless it is whitespace only; an element with children may hold only layout
 * whitespace between them (mixed content is refused, because formatting would have nowhere
 * to put it). Comments and processing instructions are dropped. The formatter escapes every
 * character that a re-parse would otherwise normalise (CR anywhere, tab and newline in
 * attribute values), so format(parse(x)) parses back to the same tree.
 */
#include "xml.h"

#include "util/alloc.h"
#include "util/error.h"

#include <expat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building trees ---- */

xml_node *xml_node_new(const char *name)
{
    xml_node *n = xcalloc(1, sizeof(*n));
    n->name = xstrdup(name);
    return n;
}

xml_node *xml_node_add_child(xml_node *parent, xml_node *child)
{
    xml_node **tail = &parent->children;
    while (*tail)
        tail = &(*tail)->next;
    *tail = child;
    return child;
}

xml_node *xml_node_new_child(xml_node *parent, const char *name, const char *text)
{
    xml_node *child = xml_node_new(name);
    if (text)
        child->text = xstrdup(text);
    return xml_node_add_child(parent, child);
}

void xml_node_set_attr(xml_node *node, const char *name, const char *value)
{
    for (size_t i = 0; i < node->nattrs; i++) {
        if (strcmp(node->attrs[i].name, name) == 0) {
            char *v = xstrdup(value);
            free(node->attrs[i].value);
            node->attrs[i].value = v;
            return;
        }
    }
    node->attrs = xrealloc(node->attrs, (node->nattrs + 1) * sizeof(*node->attrs));
    node->attrs[node->nattrs].name = xstrdup(name);
    node->attrs[node->nattrs].value = xstrdup(value);
    node->nattrs++;
}

void xml_node_set_text(xml_node *node, const char *text)
{
    char *t = text ? xstrdup(text) : NULL;
    free(node->text);
    node->text = t;
}

xml_node *xml_node_copy(const xml_node *node)
{
    if (!node)
        return NULL;
    xml_node *c = xcalloc(1, sizeof(*c));
    c->name = xstrdup(node->name);
    c->text = node->text ? xstrdup(node->text) : NULL;
    c->line = node->line;
    if (node->nattrs) {
        c->attrs = xmalloc(node->nattrs * sizeof(*c->attrs));
        for (size_t i = 0; i < node->nattrs; i++) {
            c->attrs[i].name = xstrdup(node->attrs[i].name);
            c->attrs[i].value = xstrdup(node->attrs[i].value);
        }
        c->nattrs = node->nattrs;
    }
    xml_node **tail = &c->children;
    for (const xml_node *ch = node->children; ch; ch = ch->next) {
        *tail = xml_node_copy(ch);
        tail = &(*tail)->next;
    }
    return c;
}

void xml_node_free(xml_node *node)
{
    if (!node)
        return;
    free(node->name);
    for (size_t i = 0; i < node->nattrs; i++) {
        free(node->attrs[i].name);
        free(node->attrs[i].value);
    }
    free(node->attrs);
    free(node->text);
    xml_node_free_list(node->children);
    free(node);
}

void xml_node_free_list(xml_node *first)
{
    while (first) {
        xml_node *next = first->next;
        xml_node_free(first);
        first = next;
    }
}

const char *xml_node_attr(const xml_node *node, const char *name)
{
    for (size_t i = 0; i < node->nattrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0)
            return node->attrs[i].value;
    return NULL;
}

xml_node *xml_node_child(const xml_node *node, const char *name)
{
    for (xml_node *c = node->children; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* ---- parsing ---- */

typedef struct {
    xml_node *node;
    xml_node *last; /* last child, so appending stays O(1) for wide elements */
} open_element;

typedef struct {
    XML_Parser parser;
    const char *what;
    xml_node *root;
    open_element *stack;
    size_t depth, cap;
    size_t nodes;
    xbuf text; /* character data of the innermost open element since its last child */
    bool failed;
} xml_builder;

static void builder_fail(xml_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void builder_fail(xml_builder *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: line %lu, column %lu: %s", b->what,
                      (unsigned long)XML_GetCurrentLineNumber(b->parser),
                      (unsigned long)XML_GetCurrentColumnNumber(b->parser) + 1, msg);
    b->failed = true;
    XML_StopParser(b->parser, XML_FALSE);
}

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

/* The innermost element's pending text must be layout only, because a child follows or
 * already came: XML config formats have no mixed content. */
static bool builder_text_is_layout(xml_builder *b, const open_element *e)
{
    if (!all_space(b->text.data, b->text.len)) {
        builder_fail(b, "<%.64s> (line %u) mixes text with child elements", e->node->name,
                     e->node->line);
        return false;
    }
    xbuf_reset(&b->text);
    return true;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    xml_builder *b = ud;
    if (b->failed)
        return;
    if (++b->nodes > XML_MAX_NODES) {
        builder_fail(b, "document has more than %u elements", XML_MAX_NODES);
        return;
    }
    if (b->depth >= XML_MAX_DEPTH) {
        builder_fail(b, "elements are nested deeper than %u levels", XML_MAX_DEPTH);
        return;
    }
    open_element *parent = b->depth ? &b->stack[b->depth - 1] : NULL;
    if (parent && !builder_text_is_layout(b, parent))
        return;
    xbuf_reset(&b->text);

    xml_node *n = xml_node_new(name);
    n->line = (unsigned)XML_GetCurrentLineNumber(b->parser);
    size_t count = 0;
    while (attrs[count * 2])
        count++;
    if (count) {
        n->attrs = xmalloc(count * sizeof(*n->attrs));
        for (size_t i = 0; i < count; i++) {
            n->attrs[i].name = xstrdup(attrs[2 * i]);
            n->attrs[i].value = xstrdup(attrs[2 * i + 1]);
        }
        n->nattrs = count;
    }
    if (parent) {
        if (parent->last)
            parent->last->next = n;
        else
            parent->node->children = n;
        parent->last = n;
    } else {
        b->root = n; /* Expat refuses a second root element itself */
    }
    b->stack = xgrow(b->stack, &b->cap, b->depth + 1, sizeof(*b->stack));
    b->stack[b->depth++] = (open_element){n, NULL};
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    xml_builder *b = ud;
    if (b->failed)
        return;
    open_element *e = &b->stack[b->depth - 1];
    if (e->node->children) {
        if (!builder_text_is_layout(b, e))
            return;
    } else if (!all_space(b->text.data, b->text.len)) {
        e->node->text = xbuf_steal(&b->text, NULL);
    }
    xbuf_reset(&b->text);
    b->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xml_builder *b = ud;
    if (b->failed || b->depth == 0)
        return;
    xbuf_add(&b->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    builder_fail(ud, "DOCTYPE declarations are not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_length,
                                   const XML_Char *base, const XML_Char *system_id,
                                   const XML_Char *public_id, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    builder_fail(ud, "entity declarations are not allowed");
}

xml_node *xml_parse(const char *text, size_t len, const char *what)
{
    if (!what)
        what = "XML";
    if (len > XML_MAX_DOCUMENT) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s: document of %zu bytes exceeds the limit of %u bytes", what, len,
                          XML_MAX_DOCUMENT);
        return NULL;
    }
    xml_builder b = {.what = what};
    b.parser = XML_ParserCreate(NULL);
    if (!b.parser) {
        fprintf(stderr, "xend: out of memory creating an XML parser\n");
        abort();
    }
    XML_SetUserData(b.parser, &b);
    XML_SetElementHandler(b.parser, on_start, on_end);
    XML_SetCharacterDataHandler(b.parser, on_text);
    XML_SetStartDoctypeDeclHandler(b.parser, on_doctype);
    XML_SetEntityDeclHandler(b.parser, on_entity_decl);
    XML_SetParamEntityParsing(b.parser, XML_PARAM_ENTITY_PARSING_NEVER);

    enum XML_Status st = XML_Parse(b.parser, text ? text : "", (int)len, XML_TRUE);
    if (!b.failed && st != XML_STATUS_OK) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: line %lu, column %lu: %s", what,
                          (unsigned long)XML_GetCurrentLineNumber(b.parser),
                          (unsigned long)XML_GetCurrentColumnNumber(b.parser) + 1,
                          XML_ErrorString(XML_GetErrorCode(b.parser)));
        b.failed = true;
    }
    if (!b.failed && (!b.root || b.depth != 0)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: the document has no root element",
                          what);
        b.failed = true;
    }
    XML_ParserFree(b.parser);
    free(b.stack);
    xbuf_clear(&b.text);
    if (b.failed) {
        xml_node_free(b.root);
        return NULL;
    }
    return b.root;
}

/* ---- formatting ---- */

/* attr: also escape tab and newline, which attribute-value normalisation would turn into
 * spaces on the way back in. CR is escaped everywhere because line-end normalisation
 * would turn it into LF. */
static void escape_text(xbuf *out, const char *text, bool attr)
{
    const char *run = text;
    for (const char *p = text; *p; p++) {
        const char *rep;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = attr ? "&#10;" : NULL; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        default: rep = NULL; break;
        }
        if (!rep)
            continue;
        xbuf_add(out, run, (size_t)(p - run));
        xbuf_adds(out, rep);
        run = p + 1;
    }
    xbuf_adds(out, run);
}

void xml_escape(xbuf *out, const char *text)
{
    escape_text(out, text, false);
}

static void add_indent(xbuf *out, int indent)
{
    for (int i = 0; i < indent; i++)
        xbuf_add(out, "  ", 2);
}

/* Recursion is bounded by the tree's depth: XML_MAX_DEPTH for parsed trees, a handful of
 * levels for trees built in code. A node with children is written without its text (the
 * parser never builds such a node). */
void xml_format(const xml_node *node, xbuf *out, int indent)
{
    add_indent(out, indent);
    xbuf_addc(out, '<');
    xbuf_adds(out, node->name);
    for (size_t i = 0; i < node->nattrs; i++) {
        xbuf_addc(out, ' ');
        xbuf_adds(out, node->attrs[i].name);
        xbuf_add(out, "='", 2);
        escape_text(out, node->attrs[i].value, true);
        xbuf_addc(out, '\'');
    }
    if (node->children) {
        xbuf_add(out, ">\n", 2);
        for (const xml_node *c = node->children; c; c = c->next)
            xml_format(c, out, indent + 1);
        add_indent(out, indent);
    } else if (node->text && *node->text) {
        xbuf_addc(out, '>');
        escape_text(out, node->text, false);
    } else {
        xbuf_add(out, "/>\n", 3);
        return;
    }
    xbuf_add(out, "</", 2);
    xbuf_adds(out, node->name);
    xbuf_add(out, ">\n", 2);
}
