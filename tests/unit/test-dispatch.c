/*
 * Unit tests of the method registry and dispatcher (xmlrpc/dispatch.h) with a table of
 * test methods: arity and type checks and their messages, i8 widening, alternative
 * signatures, access classes, the system.* methods (listMethods, methodHelp,
 * methodSignature, multicall, getCapabilities), the whole body-to-body pipeline of
 * xmlrpc_registry_handle, registration errors, and the API registry's daemon.version.
 */
#include "api/api.h"
#include "check-error.h"
#include "check.h"
#include "config.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "xmlrpc/codec.h"
#include "xmlrpc/dispatch.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int handler_calls;
static xmlrpc_caller *last_caller;
static void *last_data;

static xmlrpc_value *t_add(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    handler_calls++;
    last_caller = caller;
    last_data = data;
    return xmlrpc_int((int32_t)(params->u.a.items[0]->u.i + params->u.a.items[1]->u.i));
}

/* string int boolean -> string: "s:i:b" */
static xmlrpc_value *t_mixed(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    handler_calls++;
    return xmlrpc_string_take(xasprintf("%s:%lld:%d", params->u.a.items[0]->u.s.ptr,
                                        (long long)params->u.a.items[1]->u.i,
                                        params->u.a.items[2]->u.b));
}

/* i8 -> i8 (the argument may arrive as an int) */
static xmlrpc_value *t_wide(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    handler_calls++;
    const xmlrpc_value *a = params->u.a.items[0];
    CHECK(a->type == XMLRPC_I8 || a->type == XMLRPC_INT);
    return xmlrpc_i8(a->u.i * 2);
}

/* "int|int int": no argument -> 0, one int -> the int + 1 */
static xmlrpc_value *t_alt(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    handler_calls++;
    return xmlrpc_int(params->u.a.n ? (int32_t)params->u.a.items[0]->u.i + 1 : 0);
}

static xmlrpc_value *t_true(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    return xmlrpc_bool(true);
}

static xmlrpc_value *t_fail(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    xend_error_report(XEND_ERR_NO_DOMAIN, "domain '%s' does not exist", "ghost");
    return NULL;
}

/* An internal error: its fault carries the reporting call stack only for trace_ok callers. */
static xmlrpc_value *t_internal(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    xend_error_report(XEND_ERR_INTERNAL, "boom");
    return NULL;
}

/* Fails without reporting anything: the dispatcher must still produce a fault. */
static xmlrpc_value *t_silent(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    return NULL;
}

/* Returns something that cannot be encoded. */
static xmlrpc_value *t_badstring(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    return xmlrpc_string("bell\x07");
}

static xmlrpc_value *t_nan(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    xmlrpc_value *v = xmlrpc_double(0.0);
    v->u.d = NAN;
    return v;
}

/* A failure whose message holds characters XML cannot carry. */
static xmlrpc_value *t_uglyfail(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    handler_calls++;
    xend_error_report(XEND_ERR_GENERIC, "bad \x01 byte \xff here");
    return NULL;
}

/* Echo the params array: "array struct array" */
static xmlrpc_value *t_echo(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    handler_calls++;
    return xmlrpc_value_copy(params);
}

static int tag_data = 17;

static const xmlrpc_method test_methods[] = {
    {"test.add", "int int int", XMLRPC_ACCESS_READ, "1.0", NULL, "Add two integers.", t_add,
     &tag_data},
    {"test.mixed", "string string int boolean", XMLRPC_ACCESS_READ, "1.0", NULL, "Mixed types.",
     t_mixed, NULL},
    {"test.wide", "i8 i8", XMLRPC_ACCESS_READ, "1.0", NULL, "Double a 64-bit integer.", t_wide,
     NULL},
    {"test.alt", "int|int int", XMLRPC_ACCESS_READ, "1.1", "1.2", "Alternatives.", t_alt, NULL},
    {"test.write", "boolean", XMLRPC_ACCESS_WRITE, "1.0", NULL, "A write method.", t_true, NULL},
    {"test.admin", "boolean", XMLRPC_ACCESS_ADMIN, "1.0", NULL, "An admin method.", t_true, NULL},
    {"test.fail", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "Always fails.", t_fail, NULL},
    {"test.silent", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "Fails silently.", t_silent, NULL},
    {"test.badstring", "string", XMLRPC_ACCESS_READ, "1.0", NULL, "Unencodable.", t_badstring,
     NULL},
    {"test.nan", "double", XMLRPC_ACCESS_READ, "1.0", NULL, "NaN.", t_nan, NULL},
    {"test.uglyfail", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "Ugly failure.", t_uglyfail, NULL},
    {"test.echo", "array struct array", XMLRPC_ACCESS_READ, "1.0", NULL, "Echo.", t_echo, NULL},
    {"test.internal", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "Internal error.", t_internal,
     NULL},
};
#define N_TEST_METHODS (sizeof(test_methods) / sizeof(test_methods[0]))

static const char *const system_names[] = {"system.getCapabilities", "system.listMethods",
                                           "system.methodHelp", "system.methodSignature",
                                           "system.multicall"};

static xmlrpc_registry *reg;
static xmlrpc_caller reader = {.max_access = XMLRPC_ACCESS_READ, .transport = "test"};
static xmlrpc_caller writer = {.max_access = XMLRPC_ACCESS_WRITE, .transport = "test"};
static xmlrpc_caller admin = {.max_access = XMLRPC_ACCESS_ADMIN, .transport = "test"};

/* params from a list of values (taken) terminated by NULL */
static xmlrpc_value *args(xmlrpc_value *first, ...)
{
    xmlrpc_value *a = xmlrpc_array();
    va_list ap;
    va_start(ap, first);
    for (xmlrpc_value *v = first; v; v = va_arg(ap, xmlrpc_value *))
        xmlrpc_array_append(a, v);
    va_end(ap);
    return a;
}

/* Call and expect a failure with code and needles in the message; frees params. */
#define CALL_FAILS(caller, method, params, code, ...)                                              \
    do {                                                                                           \
        xmlrpc_value *p_ = (params);                                                               \
        int before_ = handler_calls;                                                               \
        xend_error_reset();                                                                        \
        xmlrpc_value *r_ = xmlrpc_registry_call(reg, (caller), (method), p_);                      \
        CHECK_MSG(r_ == NULL, "%s succeeded", (method));                                           \
        CHECK_ERROR((code), ##__VA_ARGS__);                                                        \
        if ((code) < 0 || (code) == XEND_ERR_ACCESS_DENIED)                                        \
            CHECK_MSG(handler_calls == before_, "%s: handler ran despite the error", (method));    \
        xmlrpc_value_free(r_);                                                                     \
        xmlrpc_value_free(p_);                                                                     \
    } while (0)

static xmlrpc_value *call_ok(xmlrpc_caller *caller, const char *method, xmlrpc_value *params)
{
    xend_error_reset();
    xmlrpc_value *r = xmlrpc_registry_call(reg, caller, method, params);
    CHECK_MSG(r != NULL, "%s failed: %d %s", method, xend_error_last()->code,
              xend_error_last()->message);
    xmlrpc_value_free(params);
    return r;
}

static void test_registration(void)
{
    size_t n;
    const xmlrpc_method *const *list = xmlrpc_registry_list(reg, &n);
    CHECK_INTEQ(n, N_TEST_METHODS + 5);
    for (size_t i = 1; i < n; i++)
        CHECK_MSG(strcmp(list[i - 1]->name, list[i]->name) < 0, "list not sorted at %zu", i);
    const xmlrpc_method *m = xmlrpc_registry_find(reg, "test.add");
    CHECK(m == &test_methods[0]); /* the table is used by reference */
    CHECK(xmlrpc_registry_find(reg, "test.nope") == NULL);
    CHECK(xmlrpc_registry_find(reg, "") == NULL);
    CHECK(xmlrpc_registry_find(reg, "Test.add") == NULL);
    for (size_t i = 0; i < 5; i++)
        CHECK_MSG(xmlrpc_registry_find(reg, system_names[i]) != NULL, "%s missing",
                  system_names[i]);

    CHECK_STREQ(xmlrpc_access_name(XMLRPC_ACCESS_READ), "read");
    CHECK_STREQ(xmlrpc_access_name(XMLRPC_ACCESS_WRITE), "write");
    CHECK_STREQ(xmlrpc_access_name(XMLRPC_ACCESS_ADMIN), "admin");

    /* Duplicates: against the registry, against system.*, and within one table. */
    static const xmlrpc_method dup[] = {
        {"test.add", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "dup", t_true, NULL}};
    static const xmlrpc_method dupsys[] = {
        {"system.listMethods", "array", XMLRPC_ACCESS_READ, "1.0", NULL, "dup", t_true, NULL}};
    static const xmlrpc_method dupself[] = {
        {"x.one", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "a", t_true, NULL},
        {"x.one", "int", XMLRPC_ACCESS_READ, "1.0", NULL, "b", t_true, NULL}};
    xmlrpc_registry *r2 = xmlrpc_registry_new();
    CHECK_INTEQ(xmlrpc_registry_add(r2, test_methods, N_TEST_METHODS), 0);
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_registry_add(r2, dup, 1), -1);
    CHECK_ERROR(XEND_ERR_INTERNAL, "test.add");
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_registry_add(r2, dupsys, 1), -1);
    CHECK_ERROR(XEND_ERR_INTERNAL, "system.listMethods");
    xmlrpc_registry_free(r2);
    r2 = xmlrpc_registry_new();
    xend_error_reset();
    CHECK_INTEQ(xmlrpc_registry_add(r2, dupself, 2), -1);
    CHECK_ERROR(XEND_ERR_INTERNAL, "x.one");
    xmlrpc_registry_free(r2);

    /* Malformed signatures are refused, naming the method. */
    static const char *const bad_sigs[] = {"",     " ",        "bogus",    "int bogus", "int|",
                                           "|int", "int||int", "int int|", "i4x",       "int,int"};
    for (size_t i = 0; i < sizeof(bad_sigs) / sizeof(bad_sigs[0]); i++) {
        xmlrpc_method bad = {"x.badsig", bad_sigs[i], XMLRPC_ACCESS_READ, "1.0", NULL, "h",
                             t_true,     NULL};
        r2 = xmlrpc_registry_new();
        xend_error_reset();
        CHECK_MSG(xmlrpc_registry_add(r2, &bad, 1) == -1, "signature \"%s\" accepted", bad_sigs[i]);
        if (xend_error_last()->code)
            CHECK_ERROR(XEND_ERR_INTERNAL, "x.badsig");
        xmlrpc_registry_free(r2);
    }
    /* Valid signature spellings: i4 as a synonym, every type name. */
    static const xmlrpc_method good[] = {
        {"y.a", "i4 i4", XMLRPC_ACCESS_READ, "1.0", NULL, "h", t_true, NULL},
        {"y.b", "nil dateTime.iso8601 base64 double struct array nil i8 boolean string",
         XMLRPC_ACCESS_READ, "1.0", NULL, "h", t_true, NULL},
    };
    r2 = xmlrpc_registry_new();
    CHECK_INTEQ(xmlrpc_registry_add(r2, good, 2), 0);
    xmlrpc_registry_free(r2);
    xmlrpc_registry_free(NULL);
}

static void test_call_checks(void)
{
    handler_calls = 0;
    xmlrpc_value *r = call_ok(&reader, "test.add", args(xmlrpc_int(2), xmlrpc_int(40), NULL));
    CHECK(r && r->type == XMLRPC_INT && r->u.i == 42);
    CHECK_INTEQ(handler_calls, 1);
    CHECK(last_caller == &reader);
    CHECK(last_data == &tag_data);
    xmlrpc_value_free(r);

    /* Arity: the message names the method and the expected parameter types. */
    CALL_FAILS(&reader, "test.mixed", args(xmlrpc_string("s"), NULL), XEND_ERR_INVALID_PARAMS,
               "test.mixed", "string, int, boolean", "1");
    CALL_FAILS(&reader, "test.mixed",
               args(xmlrpc_string("s"), xmlrpc_int(1), xmlrpc_bool(1), xmlrpc_nil(), NULL),
               XEND_ERR_INVALID_PARAMS, "test.mixed", "string, int, boolean", "4");
    CALL_FAILS(&reader, "test.add", args(NULL), XEND_ERR_INVALID_PARAMS, "test.add", "int, int");
    CALL_FAILS(&admin, "test.write", args(xmlrpc_int(1), NULL), XEND_ERR_INVALID_PARAMS,
               "no parameters");

    /* Types: the message names the position (1-based) and the expected and actual types. */
    CALL_FAILS(&reader, "test.mixed",
               args(xmlrpc_string("s"), xmlrpc_string("1"), xmlrpc_bool(1), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 2", "int", "not string");
    CALL_FAILS(&reader, "test.mixed", args(xmlrpc_string("s"), xmlrpc_int(1), xmlrpc_int(1), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 3", "boolean", "not int");
    CALL_FAILS(&reader, "test.mixed",
               args(xmlrpc_base64("s", 1), xmlrpc_int(1), xmlrpc_bool(1), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 1", "string", "base64");
    /* int does not stand in for boolean or double, nor i8 for int */
    CALL_FAILS(&reader, "test.add", args(xmlrpc_i8(1), xmlrpc_int(1), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 1", "i8");
    CALL_FAILS(&reader, "test.add", args(xmlrpc_int(1), xmlrpc_double(1.0), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 2", "double");
    CALL_FAILS(&reader, "test.add", args(xmlrpc_int(1), xmlrpc_nil(), NULL),
               XEND_ERR_INVALID_PARAMS, "parameter 2", "nil");

    r = call_ok(&reader, "test.mixed",
                args(xmlrpc_string("s"), xmlrpc_int(-3), xmlrpc_bool(true), NULL));
    CHECK_STREQ(r ? r->u.s.ptr : NULL, "s:-3:1");
    xmlrpc_value_free(r);

    /* An i8 parameter accepts an int, and an i8. */
    r = call_ok(&reader, "test.wide", args(xmlrpc_int(21), NULL));
    CHECK(r && r->type == XMLRPC_I8 && r->u.i == 42);
    xmlrpc_value_free(r);
    r = call_ok(&reader, "test.wide", args(xmlrpc_i8(INT64_C(1) << 40), NULL));
    CHECK(r && r->type == XMLRPC_I8 && r->u.i == INT64_C(1) << 41);
    xmlrpc_value_free(r);
    CALL_FAILS(&reader, "test.wide", args(xmlrpc_string("1"), NULL), XEND_ERR_INVALID_PARAMS,
               "parameter 1", "i8");

    /* Alternatives: "int|int int". */
    r = call_ok(&reader, "test.alt", args(NULL));
    CHECK(r && r->u.i == 0);
    xmlrpc_value_free(r);
    r = call_ok(&reader, "test.alt", args(xmlrpc_int(9), NULL));
    CHECK(r && r->u.i == 10);
    xmlrpc_value_free(r);
    CALL_FAILS(&reader, "test.alt", args(xmlrpc_string("9"), NULL), XEND_ERR_INVALID_PARAMS,
               "parameter 1", "int", "string");
    CALL_FAILS(&reader, "test.alt", args(xmlrpc_int(1), xmlrpc_int(2), NULL),
               XEND_ERR_INVALID_PARAMS, "test.alt", "no parameters", "int");

    /* Unknown method. */
    CALL_FAILS(&reader, "test.nope", args(NULL), XEND_ERR_METHOD_NOT_FOUND, "test.nope");
    CALL_FAILS(&admin, "", args(NULL), XEND_ERR_METHOD_NOT_FOUND);

    /* Handler errors pass through with their code and message. */
    CALL_FAILS(&reader, "test.fail", args(NULL), XEND_ERR_NO_DOMAIN, "ghost");
    /* A handler failing without a report still yields an error (INTERNAL). */
    CALL_FAILS(&reader, "test.silent", args(NULL), XEND_ERR_INTERNAL, "test.silent");
}

static void test_access(void)
{
    /* READ callers cannot reach WRITE or ADMIN methods; the message names both classes. */
    CALL_FAILS(&reader, "test.write", args(NULL), XEND_ERR_ACCESS_DENIED, "test.write", "write",
               "read");
    CALL_FAILS(&reader, "test.admin", args(NULL), XEND_ERR_ACCESS_DENIED, "admin");
    CALL_FAILS(&writer, "test.admin", args(NULL), XEND_ERR_ACCESS_DENIED, "admin", "write");
    /* Access is checked before the parameters, so a READ caller learns nothing more. */
    CALL_FAILS(&reader, "test.write", args(xmlrpc_int(1), NULL), XEND_ERR_ACCESS_DENIED);

    xmlrpc_value *r = call_ok(&writer, "test.write", args(NULL));
    CHECK(r && r->type == XMLRPC_BOOL && r->u.b);
    xmlrpc_value_free(r);
    r = call_ok(&admin, "test.write", args(NULL));
    xmlrpc_value_free(r);
    r = call_ok(&admin, "test.admin", args(NULL));
    xmlrpc_value_free(r);
    r = call_ok(&admin, "test.add", args(xmlrpc_int(1), xmlrpc_int(1), NULL));
    CHECK(r && r->u.i == 2);
    xmlrpc_value_free(r);
}

static void test_introspection(void)
{
    xmlrpc_value *r = call_ok(&reader, "system.listMethods", args(NULL));
    CHECK(r && r->type == XMLRPC_ARRAY);
    if (r) {
        CHECK_INTEQ(xmlrpc_array_size(r), N_TEST_METHODS + 5);
        for (size_t i = 0; i < xmlrpc_array_size(r); i++) {
            CHECK(xmlrpc_array_get(r, i)->type == XMLRPC_STRING);
            if (i)
                CHECK_MSG(strcmp(xmlrpc_array_get(r, i - 1)->u.s.ptr,
                                 xmlrpc_array_get(r, i)->u.s.ptr) < 0,
                          "listMethods not sorted at %zu", i);
        }
        for (size_t k = 0; k < 5; k++) {
            bool found = false;
            for (size_t i = 0; i < xmlrpc_array_size(r); i++)
                found = found || strcmp(xmlrpc_array_get(r, i)->u.s.ptr, system_names[k]) == 0;
            CHECK_MSG(found, "listMethods lacks %s", system_names[k]);
        }
    }
    xmlrpc_value_free(r);
    CALL_FAILS(&reader, "system.listMethods", args(xmlrpc_int(1), NULL), XEND_ERR_INVALID_PARAMS);

    r = call_ok(&reader, "system.methodHelp", args(xmlrpc_string("test.add"), NULL));
    CHECK(r && r->type == XMLRPC_STRING);
    if (r)
        CHECK_MSG(strncmp(r->u.s.ptr, "Add two integers.", 17) == 0, "help: %s", r->u.s.ptr);
    xmlrpc_value_free(r);
    r = call_ok(&reader, "system.methodHelp", args(xmlrpc_string("test.alt"), NULL));
    CHECK(r && r->type == XMLRPC_STRING);
    if (r) {
        CHECK_CONTAINS(r->u.s.ptr, "Alternatives.");
        CHECK_CONTAINS(r->u.s.ptr, "1.1"); /* since */
        CHECK_CONTAINS(r->u.s.ptr, "1.2"); /* deprecated */
    }
    xmlrpc_value_free(r);
    CALL_FAILS(&reader, "system.methodHelp", args(xmlrpc_string("no.such"), NULL),
               XEND_ERR_INVALID_ARG, "no.such");
    CALL_FAILS(&reader, "system.methodHelp", args(xmlrpc_int(1), NULL), XEND_ERR_INVALID_PARAMS);
    CALL_FAILS(&reader, "system.methodHelp", args(NULL), XEND_ERR_INVALID_PARAMS);

    /* methodSignature: an array of signatures, each an array of type names, return first. */
    struct {
        const char *method;
        const char *want[3][5];
    } sigs[] = {
        {"test.add", {{"int", "int", "int"}}},
        {"test.alt", {{"int"}, {"int", "int"}}},
        {"test.wide", {{"i8", "i8"}}},
        {"test.echo", {{"array", "struct", "array"}}},
        {"system.methodSignature", {{"array", "string"}}},
        {"system.listMethods", {{"array"}}},
        {"system.multicall", {{"array", "array"}}},
    };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        r = call_ok(&reader, "system.methodSignature", args(xmlrpc_string(sigs[i].method), NULL));
        size_t nalts = 0;
        while (nalts < 3 && sigs[i].want[nalts][0])
            nalts++;
        CHECK_MSG(r && r->type == XMLRPC_ARRAY && xmlrpc_array_size(r) == nalts,
                  "%s: wrong number of signatures", sigs[i].method);
        for (size_t a = 0; r && a < nalts && a < xmlrpc_array_size(r); a++) {
            const xmlrpc_value *s = xmlrpc_array_get(r, a);
            size_t ntypes = 0;
            while (ntypes < 5 && sigs[i].want[a][ntypes])
                ntypes++;
            CHECK_MSG(s->type == XMLRPC_ARRAY && xmlrpc_array_size(s) == ntypes,
                      "%s: signature %zu has the wrong length", sigs[i].method, a);
            for (size_t t = 0; t < ntypes && t < xmlrpc_array_size(s); t++)
                CHECK_STREQ(xmlrpc_array_get(s, t)->u.s.ptr, sigs[i].want[a][t]);
        }
        xmlrpc_value_free(r);
    }
    CALL_FAILS(&reader, "system.methodSignature", args(xmlrpc_string("no.such"), NULL),
               XEND_ERR_INVALID_ARG, "no.such");

    /* getCapabilities: a struct of {specUrl, specVersion} structs. */
    r = call_ok(&reader, "system.getCapabilities", args(NULL));
    CHECK(r && r->type == XMLRPC_STRUCT);
    static const char *const caps[] = {"multicall", "introspect", "faults_interop"};
    for (size_t i = 0; r && i < sizeof(caps) / sizeof(caps[0]); i++) {
        const xmlrpc_value *c = xmlrpc_struct_get(r, caps[i]);
        CHECK_MSG(c && c->type == XMLRPC_STRUCT, "capability %s missing", caps[i]);
        if (!c)
            continue;
        const xmlrpc_value *url = xmlrpc_struct_get(c, "specUrl");
        const xmlrpc_value *ver = xmlrpc_struct_get(c, "specVersion");
        CHECK(url && url->type == XMLRPC_STRING && strncmp(url->u.s.ptr, "http", 4) == 0);
        CHECK(ver && ver->type == XMLRPC_INT);
    }
    if (r) {
        const xmlrpc_value *fi = xmlrpc_struct_get(r, "faults_interop");
        const xmlrpc_value *fv = fi ? xmlrpc_struct_get(fi, "specVersion") : NULL;
        CHECK(fv && fv->u.i == 20010516);
    }
    xmlrpc_value_free(r);
}

/* One multicall entry. */
static xmlrpc_value *mc(const char *name, xmlrpc_value *params)
{
    xmlrpc_value *s = xmlrpc_struct();
    if (name)
        xmlrpc_struct_set(s, "methodName", xmlrpc_string(name));
    if (params)
        xmlrpc_struct_set(s, "params", params);
    return s;
}

/* results[i] is a fault struct with exactly faultCode (== code) and faultString. */
static void check_fault_slot(const xmlrpc_value *res, size_t i, int code, const char *needle)
{
    const xmlrpc_value *f = xmlrpc_array_get(res, i);
    CHECK_MSG(f && f->type == XMLRPC_STRUCT && f->u.st.n == 2, "slot %zu is not a fault", i);
    if (!f || f->type != XMLRPC_STRUCT)
        return;
    const xmlrpc_value *c = xmlrpc_struct_get(f, "faultCode");
    const xmlrpc_value *s = xmlrpc_struct_get(f, "faultString");
    CHECK_MSG(c && c->type == XMLRPC_INT && c->u.i == code, "slot %zu: faultCode %lld, want %d", i,
              c ? (long long)c->u.i : 0LL, code);
    CHECK_MSG(s && s->type == XMLRPC_STRING, "slot %zu: no faultString", i);
    if (s && needle)
        CHECK_CONTAINS(s->u.s.ptr, needle);
}

static void test_multicall(void)
{
    xmlrpc_value *calls = xmlrpc_array();
    /* 0 */ xmlrpc_array_append(calls, mc("test.add", args(xmlrpc_int(1), xmlrpc_int(2), NULL)));
    /* 1 */ xmlrpc_array_append(calls, mc("no.such", args(NULL)));
    /* 2 */ xmlrpc_array_append(calls, mc("system.multicall", args(xmlrpc_array(), NULL)));
    /* 3 */ xmlrpc_array_append(calls, xmlrpc_string("not a struct"));
    /* 4 */ xmlrpc_array_append(calls, mc(NULL, args(NULL)));
    /* 5 */ xmlrpc_array_append(calls, mc("test.add", xmlrpc_string("not an array")));
    /* 6 */ xmlrpc_array_append(calls, mc("test.add", args(xmlrpc_int(1), NULL)));
    /* 7 */ xmlrpc_array_append(calls, mc("test.write", args(NULL)));
    /* 8 */ xmlrpc_array_append(calls, mc("system.listMethods", args(NULL)));
    /* 9 */ xmlrpc_array_append(calls, mc("test.fail", args(NULL)));
    xmlrpc_value *bad_name = xmlrpc_struct();
    xmlrpc_struct_set(bad_name, "methodName", xmlrpc_int(5));
    xmlrpc_struct_set(bad_name, "params", xmlrpc_array());
    /* 10 */ xmlrpc_array_append(calls, bad_name);
    /* 11 */ xmlrpc_array_append(calls, mc("test.alt", args(xmlrpc_int(4), NULL)));

    xmlrpc_value *r = call_ok(&reader, "system.multicall", args(calls, NULL));
    CHECK(r && r->type == XMLRPC_ARRAY && xmlrpc_array_size(r) == 12);
    if (r && xmlrpc_array_size(r) == 12) {
        const xmlrpc_value *ok = xmlrpc_array_get(r, 0);
        CHECK(ok->type == XMLRPC_ARRAY && xmlrpc_array_size(ok) == 1 &&
              xmlrpc_array_get(ok, 0)->type == XMLRPC_INT && xmlrpc_array_get(ok, 0)->u.i == 3);
        check_fault_slot(r, 1, XEND_ERR_METHOD_NOT_FOUND, "no.such");
        const xmlrpc_value *nested = xmlrpc_array_get(r, 2);
        CHECK(nested->type == XMLRPC_STRUCT);
        if (nested->type == XMLRPC_STRUCT) {
            const xmlrpc_value *c = xmlrpc_struct_get(nested, "faultCode");
            CHECK(c && c->type == XMLRPC_INT && c->u.i != 0);
            CHECK_CONTAINS(xmlrpc_struct_get(nested, "faultString")->u.s.ptr, "multicall");
        }
        check_fault_slot(r, 3, XEND_ERR_INVALID_PARAMS, "call 4"); /* 1-based */
        check_fault_slot(r, 4, XEND_ERR_INVALID_PARAMS, "methodName");
        check_fault_slot(r, 5, XEND_ERR_INVALID_PARAMS, "params");
        check_fault_slot(r, 6, XEND_ERR_INVALID_PARAMS, "test.add");
        /* access classes apply inside multicall too */
        check_fault_slot(r, 7, XEND_ERR_ACCESS_DENIED, "write");
        const xmlrpc_value *lm = xmlrpc_array_get(r, 8);
        CHECK(lm->type == XMLRPC_ARRAY && xmlrpc_array_size(lm) == 1 &&
              xmlrpc_array_get(lm, 0)->type == XMLRPC_ARRAY);
        check_fault_slot(r, 9, XEND_ERR_NO_DOMAIN, "ghost");
        check_fault_slot(r, 10, XEND_ERR_INVALID_PARAMS, "methodName");
        const xmlrpc_value *alt = xmlrpc_array_get(r, 11);
        CHECK(alt->type == XMLRPC_ARRAY && xmlrpc_array_size(alt) == 1 &&
              xmlrpc_array_get(alt, 0)->u.i == 5);
    }
    xmlrpc_value_free(r);

    /* An empty multicall returns an empty array; a writer may call write methods. */
    r = call_ok(&reader, "system.multicall", args(xmlrpc_array(), NULL));
    CHECK(r && r->type == XMLRPC_ARRAY && xmlrpc_array_size(r) == 0);
    xmlrpc_value_free(r);
    calls = xmlrpc_array();
    xmlrpc_array_append(calls, mc("test.write", args(NULL)));
    r = call_ok(&writer, "system.multicall", args(calls, NULL));
    CHECK(r && xmlrpc_array_size(r) == 1 && xmlrpc_array_get(r, 0)->type == XMLRPC_ARRAY);
    xmlrpc_value_free(r);

    /* The multicall parameter itself is checked. */
    CALL_FAILS(&reader, "system.multicall", args(xmlrpc_struct(), NULL), XEND_ERR_INVALID_PARAMS,
               "parameter 1", "array");
    CALL_FAILS(&reader, "system.multicall", args(NULL), XEND_ERR_INVALID_PARAMS);
}

/* Run a raw body through xmlrpc_registry_handle and decode what it wrote. */
static int handle(xmlrpc_caller *caller, const char *body, size_t len, xmlrpc_response *resp)
{
    static xmlrpc_decoder *server_dec, *client_dec;
    if (!server_dec) {
        server_dec = xmlrpc_decoder_new(NULL);
        client_dec = xmlrpc_decoder_new(NULL);
    }
    if (!body) { /* cleanup call */
        xmlrpc_decoder_free(server_dec);
        xmlrpc_decoder_free(client_dec);
        server_dec = client_dec = NULL;
        return 0;
    }
    xbuf out = XBUF_INIT;
    xbuf_adds(&out, "STALE CONTENT THAT MUST GO");
    int code = xmlrpc_registry_handle(reg, server_dec, caller, body, len, &out);
    CHECK_MSG(out.data && strstr(out.data, "STALE") == NULL, "output not reset");
    CHECK_MSG(xmlrpc_text_check(out.data, out.len) == -1, "output is not clean XML text");
    CHECK_MSG(strncmp(out.data, "<?xml", 5) == 0, "output: %.80s", out.data);
    int rc = xmlrpc_decode_response(client_dec, out.data, out.len, resp);
    CHECK_MSG(rc == 0, "handle() wrote a response that does not decode: %s\n%s",
              xend_error_last()->message, out.data);
    if (rc < 0)
        memset(resp, 0, sizeof(*resp));
    CHECK_MSG(code == (resp->is_fault ? resp->fault_code : 0), "handle returned %d but wrote %s %d",
              code, resp->is_fault ? "fault" : "result", resp->fault_code);
    xbuf_clear(&out);
    return code;
}

static void expect_handle_fault(xmlrpc_caller *caller, const char *body, int code,
                                const char *needle)
{
    xmlrpc_response r;
    int got = handle(caller, body, strlen(body), &r);
    CHECK_MSG(got == code, "handle(%.60s): %d, want %d", body, got, code);
    CHECK(r.is_fault && r.fault_code == code);
    if (needle && r.fault_string)
        CHECK_CONTAINS(r.fault_string, needle);
    xmlrpc_response_clear(&r);
}

static void test_handle(void)
{
    xmlrpc_response r;
    const char *add = "<?xml version=\"1.0\"?><methodCall><methodName>test.add</methodName>"
                      "<params><param><value><int>20</int></value></param>"
                      "<param><value><i4>22</i4></value></param></params></methodCall>";
    CHECK_INTEQ(handle(&reader, add, strlen(add), &r), 0);
    CHECK(!r.is_fault && r.result && r.result->type == XMLRPC_INT && r.result->u.i == 42);
    xmlrpc_response_clear(&r);

    const char *echo = "<methodCall><methodName>test.echo</methodName><params>"
                       "<param><value><struct><member><name>k</name><value>v</value></member>"
                       "</struct></value></param><param><value><array><data><value><nil/>"
                       "</value></data></array></value></param></params></methodCall>";
    CHECK_INTEQ(handle(&reader, echo, strlen(echo), &r), 0);
    CHECK(r.result && r.result->type == XMLRPC_ARRAY && xmlrpc_array_size(r.result) == 2);
    xmlrpc_response_clear(&r);

    /* Every failure becomes a complete fault document that itself decodes. */
    expect_handle_fault(&reader, "<methodCall><methodName>x</methodName>", XEND_ERR_PARSE, "line");
    expect_handle_fault(&reader, "not xml at all", XEND_ERR_PARSE, NULL);
    expect_handle_fault(&reader, "", XEND_ERR_PARSE, NULL);
    expect_handle_fault(&reader, "<methodCall><methodName>x</methodName>\xff</methodCall>",
                        XEND_ERR_PARSE, NULL);
    expect_handle_fault(&reader, "<!DOCTYPE x><methodCall><methodName>x</methodName></methodCall>",
                        XEND_ERR_INVALID_REQUEST, "DOCTYPE");
    expect_handle_fault(&reader, "<methodCall><methodName>no.such</methodName></methodCall>",
                        XEND_ERR_METHOD_NOT_FOUND, "no.such");
    expect_handle_fault(&reader, "<methodCall><methodName>test.add</methodName></methodCall>",
                        XEND_ERR_INVALID_PARAMS, "test.add");
    expect_handle_fault(&reader, "<methodCall><methodName>test.write</methodName></methodCall>",
                        XEND_ERR_ACCESS_DENIED, "write");
    expect_handle_fault(&reader, "<methodCall><methodName>test.fail</methodName></methodCall>",
                        XEND_ERR_NO_DOMAIN, "ghost");
    expect_handle_fault(&reader, "<methodCall><methodName>test.silent</methodName></methodCall>",
                        XEND_ERR_INTERNAL, NULL);
    /* a result that cannot be encoded becomes a fault, not a broken document */
    expect_handle_fault(&reader, "<methodCall><methodName>test.badstring</methodName></methodCall>",
                        XEND_ERR_INVALID_CHAR, NULL);
    expect_handle_fault(&reader, "<methodCall><methodName>test.nan</methodName></methodCall>",
                        XEND_ERR_PROTOCOL_INTERNAL, NULL);
    /* an error message with unencodable characters is sanitised */
    expect_handle_fault(&reader, "<methodCall><methodName>test.uglyfail</methodName></methodCall>",
                        XEND_ERR_GENERIC, "byte \xef\xbf\xbd here");
    /* the request body may hold NUL bytes: still a clean fault */
    static const char nul[] = "<methodCall>\0<methodName>x</methodName></methodCall>";
    CHECK_INTEQ(handle(&reader, nul, sizeof(nul) - 1, &r), XEND_ERR_PARSE);
    xmlrpc_response_clear(&r);

    /* A good request after all those still works (decoder and error state recover). */
    CHECK_INTEQ(handle(&reader, add, strlen(add), &r), 0);
    CHECK(r.result && r.result->u.i == 42);
    xmlrpc_response_clear(&r);

    /* multicall end to end */
    const char *multi =
        "<methodCall><methodName>system.multicall</methodName><params><param><value><array>"
        "<data><value><struct><member><name>methodName</name><value>test.add</value></member>"
        "<member><name>params</name><value><array><data><value><int>1</int></value>"
        "<value><int>1</int></value></data></array></value></member></struct></value>"
        "<value><struct><member><name>methodName</name><value>bogus</value></member>"
        "<member><name>params</name><value><array><data/></array></value></member></struct>"
        "</value></data></array></value></param></params></methodCall>";
    CHECK_INTEQ(handle(&reader, multi, strlen(multi), &r), 0);
    CHECK(r.result && r.result->type == XMLRPC_ARRAY && xmlrpc_array_size(r.result) == 2);
    if (r.result && xmlrpc_array_size(r.result) == 2) {
        CHECK(xmlrpc_array_get(r.result, 0)->type == XMLRPC_ARRAY);
        check_fault_slot(r.result, 1, XEND_ERR_METHOD_NOT_FOUND, "bogus");
    }
    xmlrpc_response_clear(&r);
    handle(NULL, NULL, 0, NULL);
}

static void test_api_registry(void)
{
    xmlrpc_registry *api = api_registry_new();
    CHECK(api != NULL);
    if (!api)
        return;
    const xmlrpc_method *m = xmlrpc_registry_find(api, "daemon.version");
    CHECK(m && m->access == XMLRPC_ACCESS_READ);
    CHECK(xmlrpc_registry_find(api, "system.multicall") != NULL);
    xmlrpc_value *params = xmlrpc_array();
    xmlrpc_value *v = xmlrpc_registry_call(api, &reader, "daemon.version", params);
    CHECK(v && v->type == XMLRPC_STRUCT);
    if (v) {
        const xmlrpc_value *api_v = xmlrpc_struct_get(v, "api");
        CHECK(api_v && api_v->type == XMLRPC_STRING);
        CHECK_STREQ(api_v ? api_v->u.s.ptr : NULL, "1.0");
        const xmlrpc_value *product = xmlrpc_struct_get(v, "product");
        CHECK_STREQ(product ? product->u.s.ptr : NULL, "xend");
        const xmlrpc_value *ver = xmlrpc_struct_get(v, "version");
        CHECK_STREQ(ver ? ver->u.s.ptr : NULL, XEND_VERSION);
        const xmlrpc_value *maj = xmlrpc_struct_get(v, "api_major");
        const xmlrpc_value *min = xmlrpc_struct_get(v, "api_minor");
        CHECK(maj && maj->type == XMLRPC_INT && maj->u.i == 1);
        CHECK(min && min->type == XMLRPC_INT && min->u.i == 0);
        const xmlrpc_value *drivers = xmlrpc_struct_get(v, "drivers");
        CHECK(drivers && drivers->type == XMLRPC_ARRAY);
        size_t nd = 0;
        for (const char *const *d = api_driver_names(); *d; d++)
            nd++;
        CHECK(drivers && xmlrpc_array_size(drivers) == nd);
        for (size_t i = 0; drivers && i < xmlrpc_array_size(drivers); i++)
            CHECK_STREQ(xmlrpc_array_get(drivers, i)->u.s.ptr, api_driver_names()[i]);
    }
    xmlrpc_value_free(v);
    /* arguments are refused */
    xmlrpc_array_append(params, xmlrpc_int(1));
    xend_error_reset();
    CHECK(xmlrpc_registry_call(api, &reader, "daemon.version", params) == NULL);
    CHECK_ERROR(XEND_ERR_INVALID_PARAMS, "daemon.version");
    xmlrpc_value_free(params);
    xmlrpc_registry_free(api);
}

/* Debug mode: an internal error's fault has "server trace:" and frames only when the
 * transport says the caller may see it (privileged, local, debug); never otherwise, and
 * never for other faults. */
static void test_internal_trace(void)
{
    const char *body = "<methodCall><methodName>test.internal</methodName></methodCall>";
    xmlrpc_caller trusted = admin, plain = admin;
    trusted.trace_ok = true;
    xmlrpc_response r;
    CHECK_INTEQ(handle(&trusted, body, strlen(body), &r), XEND_ERR_INTERNAL);
    CHECK(r.fault_string && strncmp(r.fault_string, "boom\nserver trace:\n", 19) == 0);
    CHECK(r.fault_string && strlen(r.fault_string) > 25);
    xmlrpc_response_clear(&r);
    CHECK_INTEQ(handle(&plain, body, strlen(body), &r), XEND_ERR_INTERNAL);
    CHECK_STREQ(r.fault_string, "boom");
    xmlrpc_response_clear(&r);
    const char *other = "<methodCall><methodName>test.fail</methodName></methodCall>";
    CHECK_INTEQ(handle(&trusted, other, strlen(other), &r), XEND_ERR_NO_DOMAIN);
    CHECK(r.fault_string && !strstr(r.fault_string, "server trace"));
    xmlrpc_response_clear(&r);
}

int main(void)
{
    reg = xmlrpc_registry_new();
    CHECK_INTEQ(xmlrpc_registry_add(reg, test_methods, N_TEST_METHODS), 0);
    test_registration();
    test_call_checks();
    test_access();
    test_introspection();
    test_multicall();
    test_internal_trace();
    test_handle();
    test_api_registry();
    xmlrpc_registry_free(reg);
    return check_summary("test-dispatch");
}
