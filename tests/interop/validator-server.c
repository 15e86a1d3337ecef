/*
 * validator-server: a small XML-RPC test server, separate from xend, built from the same
 * codec, dispatcher and HTTP server. It serves the eight UserLand validator1 methods (the
 * classic interoperability suite, semantics as in xmlrpc-c's validatee example) plus one
 * echo method per XML-RPC type and a few helpers, so the interop tests can drive real
 * third-party clients (Python's xmlrpc.client, xmlrpc-c) through every type and fault path
 * over the Unix socket and TCP. It runs until SIGTERM or SIGINT and then exits 0.
 *
 * usage: validator-server --socket PATH [--tcp-port N] [--port-file FILE] [--verbose]
 */
#include "daemon/server.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "xmlrpc/dispatch.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest string interop.repeat builds: enough to exercise big replies, far below the
 * codec's string limit. */
#define VALIDATOR_REPEAT_MAX (4u << 20)

/* Fetch struct member `name` of `st` as an integer (int or i8), reporting INVALID_PARAMS
 * naming the member and `where` when it is missing or not an integer. */
static int validator_member_int(const xmlrpc_value *st, const char *name, const char *where,
                                int64_t *out)
{
    const xmlrpc_value *v = xmlrpc_struct_get(st, name);
    if (!v) {
        xend_error_report(XEND_ERR_INVALID_PARAMS, "%s: struct member '%s' is missing", where,
                          name);
        return -1;
    }
    if (v->type != XMLRPC_INT && v->type != XMLRPC_I8) {
        xend_error_report(XEND_ERR_INVALID_PARAMS, "%s: struct member '%s' must be int, not %s",
                          where, name, xmlrpc_type_name(v->type));
        return -1;
    }
    *out = v->u.i;
    return 0;
}

/* moe + larry + curly of a struct, or -1 with INVALID_PARAMS reported. */
static int validator_stooges_sum(const xmlrpc_value *st, const char *where, int64_t *sum)
{
    static const char *const names[] = {"moe", "larry", "curly"};
    *sum = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int64_t v;
        if (validator_member_int(st, names[i], where, &v) < 0)
            return -1;
        *sum += v;
    }
    return 0;
}

/* An int result, or INVALID_ARG when it does not fit the 32-bit <int> the validator
 * signatures promise. */
static xmlrpc_value *validator_int_result(int64_t v, const char *what)
{
    if (v < INT32_MIN || v > INT32_MAX) {
        xend_error_report(XEND_ERR_INVALID_ARG, "%s (%lld) does not fit a 32-bit int", what,
                          (long long)v);
        return NULL;
    }
    return xmlrpc_int((int32_t)v);
}

/* validator1.arrayOfStructsTest(array of structs): the sum of every struct's 'curly'. */
static xmlrpc_value *validator_array_of_structs_test(xmlrpc_caller *caller,
                                                     const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *arr = xmlrpc_array_get(params, 0);
    int64_t sum = 0;
    for (size_t i = 0; i < xmlrpc_array_size(arr); i++) {
        const xmlrpc_value *st = xmlrpc_array_get(arr, i);
        char where[64];
        snprintf(where, sizeof(where), "array item %zu", i + 1);
        if (st->type != XMLRPC_STRUCT) {
            xend_error_report(XEND_ERR_INVALID_PARAMS, "%s must be a struct, not %s", where,
                              xmlrpc_type_name(st->type));
            return NULL;
        }
        int64_t v;
        if (validator_member_int(st, "moe", where, &v) < 0 ||
            validator_member_int(st, "larry", where, &v) < 0 ||
            validator_member_int(st, "curly", where, &v) < 0)
            return NULL;
        sum += v;
    }
    return validator_int_result(sum, "sum of 'curly' members");
}

/* validator1.countTheEntities(string): how many of each XML-special character it holds. */
static xmlrpc_value *validator_count_the_entities(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                  void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *s = xmlrpc_array_get(params, 0);
    int32_t lt = 0, gt = 0, amp = 0, apos = 0, quot = 0;
    for (size_t i = 0; i < s->u.s.len; i++) {
        switch (s->u.s.ptr[i]) {
        case '<':
            lt++;
            break;
        case '>':
            gt++;
            break;
        case '&':
            amp++;
            break;
        case '\'':
            apos++;
            break;
        case '"':
            quot++;
            break;
        default:
            break;
        }
    }
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "ctLeftAngleBrackets", xmlrpc_int(lt));
    xmlrpc_struct_set(r, "ctRightAngleBrackets", xmlrpc_int(gt));
    xmlrpc_struct_set(r, "ctAmpersands", xmlrpc_int(amp));
    xmlrpc_struct_set(r, "ctApostrophes", xmlrpc_int(apos));
    xmlrpc_struct_set(r, "ctQuotes", xmlrpc_int(quot));
    return r;
}

/* validator1.easyStructTest(struct): moe + larry + curly. */
static xmlrpc_value *validator_easy_struct_test(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                void *data)
{
    (void)caller;
    (void)data;
    int64_t sum;
    if (validator_stooges_sum(xmlrpc_array_get(params, 0), "parameter 1", &sum) < 0)
        return NULL;
    return validator_int_result(sum, "moe + larry + curly");
}

/* validator1.echoStructTest(struct): the struct, unchanged. Also the body of every echo.*
 * method: the registry has already checked the type. */
static xmlrpc_value *validator_echo(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    return xmlrpc_value_copy(xmlrpc_array_get(params, 0));
}

/* echo.i8: an i8 parameter also accepts an <int>; answer with the declared type. */
static xmlrpc_value *validator_echo_i8(xmlrpc_caller *caller, const xmlrpc_value *params,
                                       void *data)
{
    (void)caller;
    (void)data;
    return xmlrpc_i8(xmlrpc_array_get(params, 0)->u.i);
}

/* validator1.manyTypesTest(int, boolean, string, double, dateTime, base64): the six
 * parameters as an array. */
static xmlrpc_value *validator_many_types_test(xmlrpc_caller *caller, const xmlrpc_value *params,
                                               void *data)
{
    (void)caller;
    (void)data;
    return xmlrpc_value_copy(params);
}

/* validator1.moderateSizeArrayCheck(array of strings): first and last concatenated. */
static xmlrpc_value *validator_moderate_size_array_check(xmlrpc_caller *caller,
                                                         const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *arr = xmlrpc_array_get(params, 0);
    size_t n = xmlrpc_array_size(arr);
    if (n == 0) {
        xend_error_report(XEND_ERR_INVALID_PARAMS, "parameter 1: the array is empty");
        return NULL;
    }
    const xmlrpc_value *first = xmlrpc_array_get(arr, 0);
    const xmlrpc_value *last = xmlrpc_array_get(arr, n - 1);
    if (first->type != XMLRPC_STRING || last->type != XMLRPC_STRING) {
        const xmlrpc_value *bad = first->type != XMLRPC_STRING ? first : last;
        xend_error_report(XEND_ERR_INVALID_PARAMS,
                          "parameter 1: array item %zu must be a string, not %s",
                          bad == first ? (size_t)1 : n, xmlrpc_type_name(bad->type));
        return NULL;
    }
    xbuf b = XBUF_INIT;
    xbuf_add(&b, first->u.s.ptr, first->u.s.len);
    xbuf_add(&b, last->u.s.ptr, last->u.s.len);
    size_t len;
    char *s = xbuf_steal(&b, &len);
    xmlrpc_value *r = xmlrpc_string_n(s, len);
    free(s);
    return r;
}

/* validator1.nestedStructTest(struct): calendar["2000"]["04"]["01"], moe + larry + curly. */
static xmlrpc_value *validator_nested_struct_test(xmlrpc_caller *caller, const xmlrpc_value *params,
                                                  void *data)
{
    (void)caller;
    (void)data;
    static const char *const path[] = {"2000", "04", "01"};
    const xmlrpc_value *v = xmlrpc_array_get(params, 0);
    char where[64] = "parameter 1";
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        const xmlrpc_value *next = xmlrpc_struct_get(v, path[i]);
        if (!next) {
            xend_error_report(XEND_ERR_INVALID_PARAMS, "%s: struct member '%s' is missing", where,
                              path[i]);
            return NULL;
        }
        size_t len = strlen(where);
        snprintf(where + len, sizeof(where) - len, "%s%s", i == 0 ? ": " : "/", path[i]);
        if (next->type != XMLRPC_STRUCT) {
            xend_error_report(XEND_ERR_INVALID_PARAMS, "%s must be a struct, not %s", where,
                              xmlrpc_type_name(next->type));
            return NULL;
        }
        v = next;
    }
    int64_t sum;
    if (validator_stooges_sum(v, where, &sum) < 0)
        return NULL;
    return validator_int_result(sum, "moe + larry + curly");
}

/* An int result when it fits, an i8 otherwise (simpleStructReturnTest's products). */
static xmlrpc_value *validator_int_or_i8(int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX)
        return xmlrpc_int((int32_t)v);
    return xmlrpc_i8(v);
}

/* validator1.simpleStructReturnTest(int): {times10, times100, times1000}. */
static xmlrpc_value *validator_simple_struct_return_test(xmlrpc_caller *caller,
                                                         const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    int64_t n = xmlrpc_array_get(params, 0)->u.i;
    xmlrpc_value *r = xmlrpc_struct();
    xmlrpc_struct_set(r, "times10", validator_int_or_i8(n * 10));
    xmlrpc_struct_set(r, "times100", validator_int_or_i8(n * 100));
    xmlrpc_struct_set(r, "times1000", validator_int_or_i8(n * 1000));
    return r;
}

/* interop.fault(int code, string message): always fails with exactly that fault, so
 * clients' fault decoding (codes, entities, UTF-8 in faultString) can be checked. */
static xmlrpc_value *validator_fault(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    int code = (int)xmlrpc_array_get(params, 0)->u.i;
    const xmlrpc_value *msg = xmlrpc_array_get(params, 1);
    if (code == 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "parameter 1: fault code 0 is not a fault");
        return NULL;
    }
    xend_error_report(code, "%s", msg->u.s.ptr);
    return NULL;
}

/* interop.repeat(string s, int n): s repeated n times (large replies on demand). */
static xmlrpc_value *validator_repeat(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *s = xmlrpc_array_get(params, 0);
    int64_t n = xmlrpc_array_get(params, 1)->u.i;
    if (n < 0) {
        xend_error_report(XEND_ERR_INVALID_ARG, "parameter 2: count %lld is negative",
                          (long long)n);
        return NULL;
    }
    if (s->u.s.len && (uint64_t)n > VALIDATOR_REPEAT_MAX / s->u.s.len) {
        xend_error_report(XEND_ERR_INVALID_ARG, "parameter 2: the result would exceed %u bytes",
                          VALIDATOR_REPEAT_MAX);
        return NULL;
    }
    xbuf b = XBUF_INIT;
    xbuf_reserve(&b, s->u.s.len * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        xbuf_add(&b, s->u.s.ptr, s->u.s.len);
    size_t len;
    char *text = xbuf_steal(&b, &len);
    return xmlrpc_string_take(text);
}

/* interop.chars(array of ints): the string of those Unicode code points, UTF-8 encoded.
 * Lets a client that cannot build some strings (xmlrpc-c 1.33 refuses characters beyond
 * the BMP) receive them, and makes the server try to send characters XML cannot carry
 * (which its encoder must refuse with a fault). */
static xmlrpc_value *validator_chars(xmlrpc_caller *caller, const xmlrpc_value *params, void *data)
{
    (void)caller;
    (void)data;
    const xmlrpc_value *arr = xmlrpc_array_get(params, 0);
    xbuf b = XBUF_INIT;
    for (size_t i = 0; i < xmlrpc_array_size(arr); i++) {
        const xmlrpc_value *v = xmlrpc_array_get(arr, i);
        if (v->type != XMLRPC_INT || v->u.i < 0 || v->u.i > 0x10ffff ||
            (v->u.i >= 0xd800 && v->u.i <= 0xdfff)) {
            xend_error_report(XEND_ERR_INVALID_PARAMS,
                              "parameter 1: array item %zu is not a Unicode scalar value", i + 1);
            xbuf_clear(&b);
            return NULL;
        }
        uint32_t cp = (uint32_t)v->u.i;
        char u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (char)cp;
            n = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xc0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3f));
            n = 2;
        } else if (cp < 0x10000) {
            u[0] = (char)(0xe0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f));
            n = 3;
        } else {
            u[0] = (char)(0xf0 | (cp >> 18));
            u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[3] = (char)(0x80 | (cp & 0x3f));
            n = 4;
        }
        xbuf_add(&b, u, n);
    }
    size_t len;
    char *text = xbuf_steal(&b, &len);
    xmlrpc_value *r = xmlrpc_string_n(text, len);
    free(text);
    return r;
}

#define VALIDATOR_METHOD(name, sig, fn, help)                                                      \
    {                                                                                              \
        name, sig, XMLRPC_ACCESS_READ, "1.0", NULL, help, fn, NULL                                 \
    }

static const xmlrpc_method validator_methods[] = {
    VALIDATOR_METHOD("validator1.arrayOfStructsTest", "int array", validator_array_of_structs_test,
                     "Takes an array of structs, each with at least the int members moe, larry "
                     "and curly; returns the sum of all curly members."),
    VALIDATOR_METHOD("validator1.countTheEntities", "struct string", validator_count_the_entities,
                     "Returns a struct counting the <, >, &, ' and \" characters of the string: "
                     "ctLeftAngleBrackets, ctRightAngleBrackets, ctAmpersands, ctApostrophes, "
                     "ctQuotes."),
    VALIDATOR_METHOD("validator1.easyStructTest", "int struct", validator_easy_struct_test,
                     "Takes a struct with int members moe, larry and curly; returns their sum."),
    VALIDATOR_METHOD("validator1.echoStructTest", "struct struct", validator_echo,
                     "Returns its struct parameter unchanged."),
    VALIDATOR_METHOD("validator1.manyTypesTest",
                     "array int boolean string double dateTime.iso8601 base64",
                     validator_many_types_test,
                     "Takes an int, a boolean, a string, a double, a dateTime and a base64; "
                     "returns the six of them as an array."),
    VALIDATOR_METHOD("validator1.moderateSizeArrayCheck", "string array",
                     validator_moderate_size_array_check,
                     "Takes an array of 100 to 200 strings; returns the first and the last "
                     "concatenated."),
    VALIDATOR_METHOD("validator1.nestedStructTest", "int struct", validator_nested_struct_test,
                     "Takes a calendar struct (year -> month -> day, e.g. \"2000\" -> \"04\" -> "
                     "\"01\"); returns moe + larry + curly of April 1st, 2000."),
    VALIDATOR_METHOD("validator1.simpleStructReturnTest", "struct int",
                     validator_simple_struct_return_test,
                     "Takes an int; returns a struct with times10, times100 and times1000."),
    VALIDATOR_METHOD("echo.int", "int int", validator_echo, "Returns its int parameter."),
    VALIDATOR_METHOD("echo.i8", "i8 i8", validator_echo_i8,
                     "Returns its i8 parameter (an int is accepted) as an i8."),
    VALIDATOR_METHOD("echo.boolean", "boolean boolean", validator_echo,
                     "Returns its boolean parameter."),
    VALIDATOR_METHOD("echo.string", "string string", validator_echo,
                     "Returns its string parameter."),
    VALIDATOR_METHOD("echo.double", "double double", validator_echo,
                     "Returns its double parameter."),
    VALIDATOR_METHOD("echo.dateTime", "dateTime.iso8601 dateTime.iso8601", validator_echo,
                     "Returns its dateTime.iso8601 parameter."),
    VALIDATOR_METHOD("echo.base64", "base64 base64", validator_echo,
                     "Returns its base64 parameter."),
    VALIDATOR_METHOD("echo.struct", "struct struct", validator_echo,
                     "Returns its struct parameter."),
    VALIDATOR_METHOD("echo.array", "array array", validator_echo, "Returns its array parameter."),
    VALIDATOR_METHOD("echo.nil", "nil nil", validator_echo, "Returns its nil parameter."),
    VALIDATOR_METHOD("interop.fault", "nil int string", validator_fault,
                     "Always fails with the given fault code and fault string."),
    VALIDATOR_METHOD("interop.chars", "string array", validator_chars,
                     "Returns the string made of the given Unicode code points (array of "
                     "ints)."),
    VALIDATOR_METHOD("interop.repeat", "string string int", validator_repeat,
                     "Returns the string repeated the given number of times (at most 4 MiB)."),
};

static int validator_port_file_write(const char *path, unsigned port)
{
    char *tmp = xasprintf("%s.tmp", path);
    /* Written aside and renamed, so a test polling for the file never reads half of it. */
    FILE *f = fopen(tmp, "we");
    bool ok = f && fprintf(f, "%u\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "validator-server: cannot write %s: %s\n", path, strerror(errno));
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static void validator_usage(FILE *out)
{
    fprintf(out, "usage: validator-server --socket PATH [--tcp-port N] [--port-file FILE] "
                 "[--verbose]\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"socket", required_argument, NULL, 's'},
        {"tcp-port", required_argument, NULL, 't'},
        {"port-file", required_argument, NULL, 'p'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    server_config cfg;
    server_config_default(&cfg);
    const char *port_file = NULL;
    bool verbose = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:t:p:vh", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            cfg.socket_path = optarg;
            break;
        case 't': {
            char *end;
            errno = 0;
            unsigned long port = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || port > 65535) {
                fprintf(stderr, "validator-server: bad --tcp-port '%s'\n", optarg);
                validator_usage(stderr);
                return 2;
            }
            cfg.tcp_listen = true;
            cfg.tcp_address = "127.0.0.1";
            /* A loopback test server for third-party clients: plain HTTP, no users. */
            cfg.tcp_tls = false;
            cfg.tcp_auth = false;
            cfg.tcp_port = (unsigned)port;
            break;
        }
        case 'p':
            port_file = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            validator_usage(stdout);
            return 0;
        default:
            validator_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !cfg.socket_path || (port_file && !cfg.tcp_listen)) {
        validator_usage(stderr);
        return 2;
    }
    if (xend_log_open("stderr", verbose ? XEND_LOG_DEBUG : XEND_LOG_WARN) < 0) {
        fprintf(stderr, "validator-server: %s\n", xend_error_last()->message);
        return 1;
    }

    /* Block the stop signals before any server thread exists so that they all inherit the
     * mask and only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    server *srv = NULL;
    xmlrpc_registry *reg = xmlrpc_registry_new();
    if (xmlrpc_registry_add(reg, validator_methods,
                            sizeof(validator_methods) / sizeof(validator_methods[0])) < 0) {
        fprintf(stderr, "validator-server: method table: %s\n", xend_error_last()->message);
        goto out;
    }
    srv = server_start(&cfg, reg, NULL);
    if (!srv) {
        fprintf(stderr, "validator-server: %s\n", xend_error_last()->message);
        goto out;
    }
    if (port_file && validator_port_file_write(port_file, server_tcp_port(srv)) < 0)
        goto out;
    if (verbose)
        fprintf(stderr, "validator-server: listening on %s, tcp port %u\n", cfg.socket_path,
                server_tcp_port(srv));

    int sig;
    while (sigwait(&stop, &sig) != 0)
        ;
    rc = 0;
out:
    server_stop(srv);
    xmlrpc_registry_free(reg);
    xend_log_close();
    return rc;
}
