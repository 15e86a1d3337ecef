/*
 * A small element tree for configuration XML (domain XML, status files). Built from Expat
 * with the same hostile-input rules as the XML-RPC decoder (no DOCTYPE or entities, bounded
 * size, depth and node count), every element remembers its line so errors can name it,
 * and the formatter writes a tree back so elements xend does not understand survive a round
 * trip verbatim.
 *
 * Ownership: a tree belongs to whoever holds its root; xml_node_free frees a node, its
 * attributes, text and all children (and NOT its siblings).
 */
#ifndef XEND_CONF_XML_H
#define XEND_CONF_XML_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define XML_MAX_DOCUMENT (4u << 20) /* bytes */
#define XML_MAX_DEPTH 32
#define XML_MAX_NODES 100000

typedef struct xml_attr {
    char *name;
    char *value;
} xml_attr;

typedef struct xml_node {
    char *name;        /* element name as written, prefix included ("qemu:commandline") */
    xml_attr *attrs;   /* in document order */
    size_t nattrs;
    char *text;        /* character data of a leaf element (NULL when it has children or none) */
    struct xml_node *children; /* first child element */
    struct xml_node *next;     /* next sibling */
    unsigned line;     /* line of the start tag, 1-based; 0 for nodes built in code */
} xml_node;

/* Parse a document. what names the source in messages ("domain XML", a file path).
 * Returns the root element (caller frees with xml_node_free) or NULL with CONFIG_INVALID
 * reported as "<what>: line L, column C: <reason>". */
xml_node *xml_parse(const char *text, size_t len, const char *what);

/* Append the node (and its subtree) to out, indented by indent levels of two spaces, one
 * element per line, leaf text escaped. A node without children or text is written
 * self-closing. */
void xml_format(const xml_node *node, xbuf *out, int indent);

/* Build trees in code. Strings are copied. xml_node_add_child appends and returns child. */
xml_node *xml_node_new(const char *name);
xml_node *xml_node_add_child(xml_node *parent, xml_node *child);
xml_node *xml_node_new_child(xml_node *parent, const char *name, const char *text /*NULL*/);
void xml_node_set_attr(xml_node *node, const char *name, const char *value); /* add/replace */
void xml_node_set_text(xml_node *node, const char *text);
xml_node *xml_node_copy(const xml_node *node); /* deep copy of node and subtree, not siblings */
void xml_node_free(xml_node *node);            /* accepts NULL */
void xml_node_free_list(xml_node *first);      /* frees first and all its next siblings */

/* Lookups (borrowed results). */
const char *xml_node_attr(const xml_node *node, const char *name); /* NULL if absent */
xml_node *xml_node_child(const xml_node *node, const char *name);  /* first child so named */

/* Escape text for element content or a quoted attribute value (&, <, >, ", '). */
void xml_escape(xbuf *out, const char *text);

#endif
