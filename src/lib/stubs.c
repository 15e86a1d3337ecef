/*
 * The runtime of libxend's typed functions (xend_domain_pause and the rest). Their bodies
 * are generated from the method table by xend-genstubs (genstubs.c) and only describe the
 * arguments; building the parameter array, choosing the shorter signature when an optional
 * argument is NULL, and checking and converting the result happen here, once, where they
 * can be read and tested.
 */
#include "lib_priv.h"

#include "util/alloc.h"
#include "util/error.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *lib_result_type_name(lib_result_kind rk)
{
    switch (rk) {
    case LIB_RESULT_STRUCT:
        return "struct";
    case LIB_RESULT_ARRAY:
        return "array";
    case LIB_RESULT_BOOL:
        return "boolean";
    case LIB_RESULT_STRING:
        return "string";
    case LIB_RESULT_INT:
        return "int or i8";
    case LIB_RESULT_ANY:
        break;
    }
    return "value";
}

static bool lib_result_type_ok(lib_result_kind rk, const xmlrpc_value *v)
{
    switch (rk) {
    case LIB_RESULT_STRUCT:
        return v->type == XMLRPC_STRUCT;
    case LIB_RESULT_ARRAY:
        return v->type == XMLRPC_ARRAY;
    case LIB_RESULT_BOOL:
        return v->type == XMLRPC_BOOL;
    case LIB_RESULT_STRING:
        return v->type == XMLRPC_STRING;
    case LIB_RESULT_INT:
        return v->type == XMLRPC_INT || v->type == XMLRPC_I8;
    case LIB_RESULT_ANY:
        break;
    }
    return true;
}

/* The parameter array for args, or NULL with INVALID_ARG reported. */
static xmlrpc_value *lib_stub_params(const char *method, const lib_arg *args, size_t n,
                                     uint32_t arities)
{
    xmlrpc_value *params = xmlrpc_array();
    for (size_t i = 0; i < n; i++) {
        const lib_arg *a = &args[i];
        bool null = (a->kind == LIB_ARG_STRING && !a->u.s) ||
                    (a->kind == LIB_ARG_VALUE && !a->u.v) ||
                    (a->kind == LIB_ARG_BASE64 && !a->u.b.data && a->u.b.len > 0);
        if (null) {
            if (i < 32 && (arities >> i & 1u))
                return params; /* the signature without this and later arguments */
            xend_error_report(XEND_ERR_INVALID_ARG, "%s: argument '%s' must not be NULL", method,
                              a->name);
            goto fail;
        }
        xmlrpc_value *v = NULL;
        switch (a->kind) {
        case LIB_ARG_STRING:
            v = xmlrpc_string(a->u.s);
            break;
        case LIB_ARG_INT:
            v = xmlrpc_int((int32_t)a->u.i);
            break;
        case LIB_ARG_I8:
            v = xmlrpc_i8(a->u.i);
            break;
        case LIB_ARG_BOOL:
            v = xmlrpc_bool(a->u.i != 0);
            break;
        case LIB_ARG_DOUBLE:
            if (!isfinite(a->u.d)) {
                xend_error_report(XEND_ERR_INVALID_ARG,
                                  "%s: argument '%s' is not finite: XML-RPC cannot carry it",
                                  method, a->name);
                goto fail;
            }
            v = xmlrpc_double(a->u.d);
            break;
        case LIB_ARG_BASE64:
            v = xmlrpc_base64(a->u.b.data ? a->u.b.data : "", a->u.b.len);
            break;
        case LIB_ARG_VALUE:
            /* Borrowed from the caller: the array owns what it holds, so it gets a copy. */
            v = xmlrpc_value_copy(a->u.v);
            break;
        }
        xmlrpc_array_append(params, v);
    }
    return params;
fail:
    xmlrpc_value_free(params);
    return NULL;
}

int lib_stub_call(xend_conn *c, const char *method, const lib_arg *args, size_t n,
                  uint32_t arities, lib_result_kind rk, void *result)
{
    if (result) {
        switch (rk) {
        case LIB_RESULT_BOOL:
            *(int *)result = 0;
            break;
        case LIB_RESULT_STRING:
            *(char **)result = NULL;
            break;
        case LIB_RESULT_INT:
            *(int64_t *)result = 0;
            break;
        default:
            *(xmlrpc_value **)result = NULL;
            break;
        }
    }
    if (!c)
        return -1;
    xmlrpc_value *params = lib_stub_params(method, args, n, arities);
    if (!params)
        return lib_conn_fail(c);
    xmlrpc_value *res = NULL;
    int rc = xend_call_value(c, method, params, &res);
    xmlrpc_value_free(params);
    if (rc < 0)
        return -1;
    if (!lib_result_type_ok(rk, res)) {
        xend_error_report(XEND_ERR_PROTOCOL_INTERNAL,
                          "xend at %s returned a %s for %s, which returns a %s",
                          lib_conn_uri(c), xmlrpc_type_name(res->type), method,
                          lib_result_type_name(rk));
        xmlrpc_value_free(res);
        return lib_conn_fail(c);
    }
    if (!result) {
        xmlrpc_value_free(res);
        return 0;
    }
    switch (rk) {
    case LIB_RESULT_BOOL:
        *(int *)result = res->u.b ? 1 : 0;
        break;
    case LIB_RESULT_STRING:
        /* The value's buffer is the string itself: hand it over instead of copying. */
        *(char **)result = res->u.s.ptr;
        res->u.s.ptr = NULL;
        res->u.s.len = 0;
        break;
    case LIB_RESULT_INT:
        *(int64_t *)result = res->u.i;
        break;
    default:
        *(xmlrpc_value **)result = res;
        return 0;
    }
    xmlrpc_value_free(res);
    return 0;
}
