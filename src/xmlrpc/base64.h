/*
 * RFC 2045 base64 for the <base64> type: strict alphabet and padding, whitespace (line
 * breaks) ignored on input, no line breaks on output.
 */
#ifndef XEND_XMLRPC_BASE64_H
#define XEND_XMLRPC_BASE64_H

#include "util/buf.h"

#include <stddef.h>

/* Append the encoding of data to out. */
void base64_encode(xbuf *out, const unsigned char *data, size_t len);
/* Decode text into a malloc'd buffer (NUL-terminated for convenience) the caller frees.
 * Returns the decoded length, or -1 if text is not valid base64 (nothing allocated). */
long base64_decode(const char *text, size_t len, char **out);

#endif
