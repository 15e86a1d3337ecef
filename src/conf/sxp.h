/*
 * S-expressions as Xend used them: `(domain (domid 0) (name Domain-0) (image (linux ...)))`.
 * On the wire (the xend.* compatibility namespace) an sxp is nested XML-RPC arrays whose
 * atoms are strings (ints accepted on input), so the parsed form here is simply an
 * xmlrpc_value: an ARRAY is a list, a STRING (or INT/I8/DOUBLE) an atom.
 *
 * Text syntax (Xend's sxp.py): lists in parentheses; atoms are bare words, or quoted with
 * ' or " and the escapes \n \t \r \\ \' \" \xHH; '#' comments to end of line outside
 * quotes; whitespace separates.
 */
#ifndef XEND_CONF_SXP_H
#define XEND_CONF_SXP_H

#include "util/buf.h"
#include "xmlrpc/value.h"

#include <stdbool.h>
#include <stddef.h>

#define SXP_MAX_TEXT (4u << 20)
#define SXP_MAX_DEPTH 32
#define SXP_MAX_NODES 100000

/* Parse exactly one s-expression (surrounding whitespace and comments allowed). Returns an
 * ARRAY or STRING value (caller frees) or NULL with CONFIG_INVALID reported as
 * "<what>: line L: <reason>". */
xmlrpc_value *sxp_parse(const char *text, size_t len, const char *what);

/* Format: compact one-line form when pretty is false, otherwise xm list --long's pretty
 * form (Xend's PrettyPrint, 80 columns): a list that fits in the rest of its line stays on
 * one line, as does any list of atoms only; a longer list holding lists has each element
 * on its own line indented by 4 and its ')' on a line of its own; the pretty form ends
 * with a newline. Atoms needing it are quoted with ' (" when the atom holds a '), as
 * Python's repr did. Appended to out. Returns 0, or -1 with INVALID_ARG (nothing
 * appended) if v contains something that is not a list or atom (struct, nil, base64,
 * dateTime) or nests deeper than SXP_MAX_DEPTH. */
int sxp_format(const xmlrpc_value *v, xbuf *out, bool pretty);

/* Helpers on the value form (borrowed results). */
const char *sxp_name(const xmlrpc_value *list);  /* first atom of a list, or NULL */
/* First child list whose name is key: (key ...). NULL if none. */
const xmlrpc_value *sxp_child(const xmlrpc_value *list, const char *key);
/* Value of (key value): the atom as text (ints formatted into buf of 32 bytes), or NULL. */
const char *sxp_child_value(const xmlrpc_value *list, const char *key, char buf[32]);

/* Building: a new list (ARRAY) whose first element is the atom name. */
xmlrpc_value *sxp_list(const char *name);
/* Append (key value) to list; value copied. */
void sxp_add(xmlrpc_value *list, const char *key, const char *value);
void sxp_addf(xmlrpc_value *list, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
