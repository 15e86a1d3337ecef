/*
 * Decoding and encoding of XML-RPC documents. Decoding runs straight from Expat callbacks
 * into typed values (no DOM) under the limits below; encoding appends to an xbuf.
 * Every violation reports an error whose code is the fault-interoperability code
 * (-32700 not well formed, -32600 invalid request, ...) and whose message says what and where.
 */
#ifndef XEND_XMLRPC_CODEC_H
#define XEND_XMLRPC_CODEC_H

#include "util/buf.h"
#include "value.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t max_body;     /* bytes of XML accepted (default 16 MiB) */
    unsigned max_depth;  /* nesting of arrays/structs (default 64) */
    size_t max_elements; /* XML elements per document (default 1,000,000) */
    size_t max_string;   /* bytes in one string, base64 payload or member name (default 8 MiB) */
} xmlrpc_limits;

#define XMLRPC_DEFAULT_MAX_BODY (16u << 20)
#define XMLRPC_DEFAULT_MAX_DEPTH 64u
#define XMLRPC_DEFAULT_MAX_ELEMENTS 1000000u
#define XMLRPC_DEFAULT_MAX_STRING (8u << 20)

void xmlrpc_limits_default(xmlrpc_limits *limits);

/* A reusable decoder (one Expat parser, reset per document). Not thread-safe: use one per
 * thread or connection. Free with xmlrpc_decoder_free (accepts NULL). */
typedef struct xmlrpc_decoder xmlrpc_decoder;
xmlrpc_decoder *xmlrpc_decoder_new(const xmlrpc_limits *limits); /* NULL = defaults */
void xmlrpc_decoder_free(xmlrpc_decoder *dec);

/* Decode a <methodCall>. On success returns 0, *method is a malloc'd name and *params an
 * ARRAY value (empty if no <params>), both owned by the caller. On failure returns -1 with
 * an error reported and nothing allocated. */
int xmlrpc_decode_call(xmlrpc_decoder *dec, const char *xml, size_t len, char **method,
                       xmlrpc_value **params);

/* A decoded <methodResponse>: either a result or a fault. */
typedef struct {
    xmlrpc_value *result; /* owned; NULL when is_fault */
    bool is_fault;
    int fault_code;
    char *fault_string; /* owned; NULL unless is_fault */
} xmlrpc_response;

/* Decode a <methodResponse>. Returns 0 with *resp filled (free with
 * xmlrpc_response_clear), or -1 with an error reported. A well-formed fault is success. */
int xmlrpc_decode_response(xmlrpc_decoder *dec, const char *xml, size_t len,
                           xmlrpc_response *resp);
void xmlrpc_response_clear(xmlrpc_response *resp);

/* Encoders append to out. Strings are escaped; a string holding a character XML 1.0 cannot
 * carry (C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF, invalid UTF-8), a non-finite
 * double, or nesting beyond XMLRPC_ENCODE_MAX_DEPTH makes them return -1 with an error
 * reported (INVALID_CHAR / PROTOCOL_INTERNAL); out then holds a partial document. */
#define XMLRPC_ENCODE_MAX_DEPTH 256
int xmlrpc_encode_value(xbuf *out, const xmlrpc_value *v);
/* The text of a number as the encoder writes it (no element around it), for handlers that
 * write large replies directly (XMLRPC_RAW). */
void xmlrpc_encode_int_text(xbuf *out, int64_t v);
void xmlrpc_encode_double_text(xbuf *out, double d); /* caller guarantees isfinite(d) */

int xmlrpc_encode_call(xbuf *out, const char *method, const xmlrpc_value *params_array);
int xmlrpc_encode_response(xbuf *out, const xmlrpc_value *result);
/* The same, consuming result (freed in every case): a RAW result with
 * xmlrpc_response_head_len() bytes of room in front becomes the reply without a copy. */
int xmlrpc_encode_response_take(xbuf *out, xmlrpc_value *result);
size_t xmlrpc_response_head_len(void);
/* Always succeeds: characters XML cannot carry in msg are replaced by U+FFFD. */
void xmlrpc_encode_fault(xbuf *out, int code, const char *msg);

/* Check that s (len bytes) is UTF-8 that XML 1.0 can carry. Returns the byte offset of the
 * first bad character, or -1 if all is well. */
long xmlrpc_text_check(const char *s, size_t len);

#endif
