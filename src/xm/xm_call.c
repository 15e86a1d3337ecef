/*
 * `xm call METHOD [ARG...]`: any method of the API from the shell. The server describes
 * its methods (system.methodSignature), so the command needs no table of its own: it picks
 * the first signature alternative whose arity matches the arguments given, converts each
 * argument text to the declared XML-RPC type (numbers, booleans, nil, JSON for structs and
 * arrays, raw bytes for base64), makes the call and prints the result as JSON. Because it
 * follows whatever the server says, a method added to the API is callable here at once.
 */
#include "config.h"
#include "xm.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The parameter type "any" of a signature (a method accepting every type there). */
#define XM_CALL_ANY (-1)

/* ---- JSON text to values ---- */

static xmlrpc_value *xm_call_from_json(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null: return xmlrpc_nil();
    case json_type_boolean: return xmlrpc_bool(json_object_get_boolean(o));
    case json_type_double: return xmlrpc_double(json_object_get_double(o));
    case json_type_int: {
        int64_t v = json_object_get_int64(o);
        /* Small numbers travel as <int>, which every method taking i8 accepts too. */
        if (v >= INT32_MIN && v <= INT32_MAX)
            return xmlrpc_int((int32_t)v);
        return xmlrpc_i8(v);
    }
    case json_type_string:
        return xmlrpc_string_n(json_object_get_string(o), (size_t)json_object_get_string_len(o));
    case json_type_array: {
        xmlrpc_value *a = xmlrpc_array();
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            xmlrpc_array_append(a, xm_call_from_json(json_object_array_get_idx(o, i)));
        return a;
    }
    case json_type_object: {
        xmlrpc_value *st = xmlrpc_struct();
        json_object_object_foreach(o, key, val) xmlrpc_struct_set(st, key, xm_call_from_json(val));
        return st;
    }
    }
    return xmlrpc_nil();
}

/* Parse the whole of text as one JSON document into *out (NULL for JSON null). Returns 0,
 * or -1 with *err set if text is not exactly one JSON value. */
static int xm_call_parse_json(const char *text, json_object **out, const char **err)
{
    *out = NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        *err = strerror(ENOMEM);
        return -1;
    }
    size_t len = strlen(text);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (e == json_tokener_continue) {
        /* A bare number ("12") is only complete at the end of the input. */
        o = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok);
    }
    if (e != json_tokener_success) {
        *err = json_tokener_error_desc(e);
        json_object_put(o);
        json_tokener_free(tok);
        return -1;
    }
    /* Trailing text other than spaces ("[1] x") is an error, not ignored. */
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    for (size_t i = used; i < len; i++) {
        if (!strchr(" \t\r\n", text[i])) {
            json_object_put(o);
            *err = _("unexpected text after the JSON value");
            return -1;
        }
    }
    *out = o;
    *err = NULL;
    return 0;
}

/* ---- one argument ---- */

/* Convert text to the declared type (an xmlrpc_type, or XM_CALL_ANY). Returns the value,
 * or NULL after printing a usage error naming argument number n. */
static xmlrpc_value *xm_call_arg(xm_ctx *x, const char *method, int n, int type,
                                 const char *text)
{
    const char *tname = type == XM_CALL_ANY ? "any" : xmlrpc_type_name((xmlrpc_type)type);
    char *end;
    switch (type) {
    case XMLRPC_INT:
    case XMLRPC_I8: {
        long long v;
        char what[160];
        snprintf(what, sizeof(what), _("argument %d (%s) of %s"), n, tname, method);
        if (xm_parse_int(x, text, what, type == XMLRPC_INT ? INT32_MIN : INT64_MIN,
                         type == XMLRPC_INT ? INT32_MAX : INT64_MAX, &v))
            return NULL;
        return type == XMLRPC_INT ? xmlrpc_int((int32_t)v) : xmlrpc_i8((int64_t)v);
    }
    case XMLRPC_BOOL:
        if (!strcasecmp(text, "true") || !strcmp(text, "1"))
            return xmlrpc_bool(true);
        if (!strcasecmp(text, "false") || !strcmp(text, "0"))
            return xmlrpc_bool(false);
        xm_usage_error(x, _("Invalid argument %d (boolean) of %s: '%s' (true, false, 1 or 0)."),
                       n, method, text);
        return NULL;
    case XMLRPC_DOUBLE: {
        errno = 0;
        double d = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(d)) {
            xm_usage_error(x, _("Invalid argument %d (double) of %s: '%s' (a finite number)."),
                           n, method, text);
            return NULL;
        }
        return xmlrpc_double(d);
    }
    case XMLRPC_STRING: return xmlrpc_string(text);
    case XMLRPC_BASE64: return xmlrpc_base64(text, strlen(text));
    case XMLRPC_DATETIME: {
        char canon[18];
        if (xmlrpc_datetime_parse(text, strlen(text), canon) < 0) {
            xm_usage_error(x, _("Invalid argument %d (dateTime.iso8601) of %s: '%s' (like "
                                "20240131T23:59:00)."),
                           n, method, text);
            return NULL;
        }
        /* The value model keeps a dateTime as its canonical text, like a string; there is
         * no constructor from text, only from a time_t. */
        xmlrpc_value *v = xmlrpc_string(canon);
        v->type = XMLRPC_DATETIME;
        return v;
    }
    case XMLRPC_NIL:
        if (!strcmp(text, "nil"))
            return xmlrpc_nil();
        xm_usage_error(x, _("Invalid argument %d (nil) of %s: '%s' (write nil)."), n, method,
                       text);
        return NULL;
    case XMLRPC_STRUCT:
    case XMLRPC_ARRAY: {
        const char *err;
        json_object *o;
        json_type want = type == XMLRPC_STRUCT ? json_type_object : json_type_array;
        if (xm_call_parse_json(text, &o, &err) == 0 && json_object_get_type(o) != want)
            err = type == XMLRPC_STRUCT ? _("a JSON object {...} is needed")
                                        : _("a JSON array [...] is needed");
        if (err) {
            json_object_put(o);
            xm_usage_error(x, _("Invalid argument %d (%s) of %s: %s: %s"), n, tname, method,
                           err, text);
            return NULL;
        }
        xmlrpc_value *v = xm_call_from_json(o);
        json_object_put(o);
        return v;
    }
    default: {
        /* "any": JSON when the text is a JSON object, array, number, true, false or null;
         * anything else (a JSON string literal included) is sent as the string it is. */
        const char *err;
        json_object *o;
        if (xm_call_parse_json(text, &o, &err) < 0 || json_object_get_type(o) == json_type_string) {
            json_object_put(o);
            return xmlrpc_string(text);
        }
        xmlrpc_value *v = xm_call_from_json(o);
        json_object_put(o);
        return v;
    }
    }
}

/* ---- signatures ---- */

/* The declared type named by a signature entry ("int", "i4", "any"...). Unknown names are
 * taken as "any" so that a newer server's types still get a sensible conversion. */
static int xm_call_type(const xmlrpc_value *name)
{
    if (!name || name->type != XMLRPC_STRING)
        return XM_CALL_ANY;
    int t = xmlrpc_type_parse(name->u.s.ptr);
    return t < 0 ? XM_CALL_ANY : t;
}

/* Append "ret method(p1, p2)" for one alternative to buf. */
static void xm_call_sig_text(char *buf, size_t size, const char *method, const xmlrpc_value *alt)
{
    size_t off = strlen(buf);
    size_t n = alt && alt->type == XMLRPC_ARRAY ? xmlrpc_array_size(alt) : 0;
    const xmlrpc_value *ret = n ? xmlrpc_array_get(alt, 0) : NULL;
    off += (size_t)snprintf(buf + off, off < size ? size - off : 0, "\n  %s %s(",
                            ret && ret->type == XMLRPC_STRING ? ret->u.s.ptr : "any", method);
    for (size_t i = 1; i < n && off < size; i++) {
        const xmlrpc_value *p = xmlrpc_array_get(alt, i);
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i > 1 ? ", " : "",
                                p && p->type == XMLRPC_STRING ? p->u.s.ptr : "any");
    }
    if (off < size)
        snprintf(buf + off, size - off, ")");
}

/* The alternative of sigs taking exactly nargs parameters, or NULL after printing the
 * usage error that lists the accepted ones. */
static const xmlrpc_value *xm_call_pick(xm_ctx *x, const char *method, const xmlrpc_value *sigs,
                                        int nargs)
{
    size_t n = xmlrpc_array_size(sigs);
    for (size_t i = 0; i < n; i++) {
        const xmlrpc_value *alt = xmlrpc_array_get(sigs, i);
        if (alt && alt->type == XMLRPC_ARRAY && xmlrpc_array_size(alt) >= 1 &&
            xmlrpc_array_size(alt) - 1 == (size_t)nargs)
            return alt;
    }
    char list[2048] = "";
    for (size_t i = 0; i < n; i++)
        xm_call_sig_text(list, sizeof(list), method, xmlrpc_array_get(sigs, i));
    xm_usage_error(x,
                   ngettext("%s does not take %d argument; its signatures are:%s",
                            "%s does not take %d arguments; its signatures are:%s",
                            (unsigned long)nargs),
                   method, nargs, list);
    return NULL;
}

int xm_cmd_call(xm_ctx *x, int argc, char **argv)
{
    /* Options end at METHOD: everything after it is an argument, even "-1" or "--x". */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            xm_usage_print(x->cmd, false);
            return 0;
        }
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        return xm_usage_error(x, _("option %s not recognized"), argv[i]);
    }
    if (xm_args_check(x, argc - i, 1, -1))
        return 1;
    const char *method = argv[i];
    char **args = argv + i + 1;
    int nargs = argc - i - 1;

    xmlrpc_value *sigs = NULL;
    if (xm_call(x, "system.methodSignature", &sigs, "s", method) < 0)
        return 1;
    const xmlrpc_value *alt = NULL;
    if (sigs->type == XMLRPC_ARRAY && xmlrpc_array_size(sigs) > 0) {
        alt = xm_call_pick(x, method, sigs, nargs);
        if (!alt) {
            xmlrpc_value_free(sigs);
            return 1;
        }
    }
    /* Otherwise ("undef": the server does not know the types) every argument is a string. */

    xmlrpc_value *params = xmlrpc_array();
    for (int k = 0; k < nargs; k++) {
        int type = alt ? xm_call_type(xmlrpc_array_get(alt, (size_t)k + 1)) : XMLRPC_STRING;
        xmlrpc_value *v = xm_call_arg(x, method, k + 1, type, args[k]);
        if (!v) {
            xmlrpc_value_free(params);
            xmlrpc_value_free(sigs);
            return 1;
        }
        xmlrpc_array_append(params, v);
    }
    xmlrpc_value_free(sigs);

    xmlrpc_value *result = NULL;
    int rc = xend_call_value(x->conn, method, params, &result);
    xmlrpc_value_free(params);
    if (rc < 0) {
        xm_print_last_error(x);
        return 1;
    }
    xm_print_json(result);
    xmlrpc_value_free(result);
    return 0;
}
