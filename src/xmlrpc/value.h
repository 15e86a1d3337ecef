/*
 * The typed XML-RPC value model shared by the daemon, the client library and tests.
 * A value is a tree: scalars, arrays and structs. Whoever holds a value owns the whole tree;
 * adding a value to an array or struct transfers ownership of it to the container.
 */
#ifndef XEND_XMLRPC_VALUE_H
#define XEND_XMLRPC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum {
    XMLRPC_INT,      /* <int>/<i4>: 32-bit signed */
    XMLRPC_I8,       /* <i8>: 64-bit signed (xmlrpc-c / Apache extension) */
    XMLRPC_BOOL,     /* <boolean>: 0 or 1 */
    XMLRPC_STRING,   /* <string> or untyped <value>: UTF-8 text */
    XMLRPC_DOUBLE,   /* <double>: finite only */
    XMLRPC_DATETIME, /* <dateTime.iso8601>: YYYYMMDDTHH:MM:SS, no time zone */
    XMLRPC_BASE64,   /* <base64>: arbitrary bytes */
    XMLRPC_STRUCT,   /* <struct>: named members, unique names */
    XMLRPC_ARRAY,    /* <array>: ordered values */
    XMLRPC_NIL,      /* <nil/>: the nil extension */
    XMLRPC_TYPE_LAST,
    /* Internal, never decoded: text already encoded as one "<value>...</value>" (u.s).
     * Handlers of large replies (domain.list) write them directly instead of building a
     * tree; only the encoder, copy, equal and free know it. */
    XMLRPC_RAW
} xmlrpc_type;

typedef struct xmlrpc_value xmlrpc_value;

typedef struct {
    char *name;
    xmlrpc_value *value;
} xmlrpc_member;

struct xmlrpc_value {
    xmlrpc_type type;
    union {
        int64_t i; /* INT (always within int32 range) and I8 */
        bool b;
        double d;
        struct {
            char *ptr; /* NUL-terminated; for BASE64 the raw bytes (+ a NUL) */
            size_t len;
            size_t head; /* RAW only: ptr - head is the allocation (room reserved in front) */
        } s;           /* STRING, BASE64, DATETIME (canonical text "YYYYMMDDTHH:MM:SS") */
        struct {
            xmlrpc_value **items;
            size_t n, cap;
        } a;
        struct {
            xmlrpc_member *m;
            size_t n, cap;
        } st;
    } u;
};

/* The XML-RPC type name ("int", "i8", "boolean", "string", "double", "dateTime.iso8601",
 * "base64", "struct", "array", "nil"). Static string. */
const char *xmlrpc_type_name(xmlrpc_type t);
/* Inverse of xmlrpc_type_name (also accepts "i4"); -1 if unknown. */
int xmlrpc_type_parse(const char *name);

/* Constructors: return a new value the caller owns (free with xmlrpc_value_free). Never NULL.
 * xmlrpc_int requires v within int32; use xmlrpc_i8 for wider values. */
xmlrpc_value *xmlrpc_int(int32_t v);
xmlrpc_value *xmlrpc_i8(int64_t v);
xmlrpc_value *xmlrpc_bool(bool v);
xmlrpc_value *xmlrpc_double(double v); /* caller guarantees isfinite(v) */
xmlrpc_value *xmlrpc_string(const char *s);
xmlrpc_value *xmlrpc_string_n(const char *s, size_t len);
xmlrpc_value *xmlrpc_string_take(char *s); /* takes ownership of a malloc'd string */
xmlrpc_value *xmlrpc_base64(const void *data, size_t len);
/* From a UTC time; NULL with INVALID_ARG reported if out of the representable range. */
xmlrpc_value *xmlrpc_datetime(time_t t);
xmlrpc_value *xmlrpc_nil(void);
/* Takes a malloc'd buffer whose bytes from head to head+len are the encoding of exactly
 * one <value> element, NUL-terminated. The head bytes in front are spare room: when it is
 * xmlrpc_response_head_len(), the reply is built in place without copying the value. */
xmlrpc_value *xmlrpc_raw_take(char *buf, size_t head, size_t len);
xmlrpc_value *xmlrpc_array(void);
xmlrpc_value *xmlrpc_struct(void);

/* Containers take ownership of item/value. */
void xmlrpc_array_append(xmlrpc_value *array, xmlrpc_value *item);
/* Sets (adds or replaces) a member; name is copied. */
void xmlrpc_struct_set(xmlrpc_value *st, const char *name, xmlrpc_value *value);
/* Borrowed pointer into the struct, or NULL if absent. */
xmlrpc_value *xmlrpc_struct_get(const xmlrpc_value *st, const char *name);

size_t xmlrpc_array_size(const xmlrpc_value *array);
xmlrpc_value *xmlrpc_array_get(const xmlrpc_value *array, size_t i); /* borrowed */

/* Deep copy; caller owns the result. */
xmlrpc_value *xmlrpc_value_copy(const xmlrpc_value *v);
/* Structural equality (struct member order ignored). */
bool xmlrpc_value_equal(const xmlrpc_value *a, const xmlrpc_value *b);
/* Free a value tree; accepts NULL. */
void xmlrpc_value_free(xmlrpc_value *v);

/* Parse the strict dateTime.iso8601 form; 0 on success with *out set to the canonical
 * 17-character text, -1 if invalid. */
int xmlrpc_datetime_parse(const char *text, size_t len, char out[18]);
/* Convert a DATETIME value (taken as UTC) to time_t; -1 on error (INVALID_ARG reported). */
int xmlrpc_datetime_to_time(const xmlrpc_value *v, time_t *out);

#endif
