/*
 * A tiny libxend client for the live tests: opens a URI, calls one method (several times
 * if asked, on the same connection, so keep-alive and reconnect can be observed) and
 * prints each result as XML-RPC, or "fault CODE NAME: message" and exits 1.
 *
 * usage: libxend-client [--calls N] [--sleep SECONDS] [--timeout MS] URI METHOD [ARG...]
 * ARG: s:TEXT, i:INT, I:INT64, b:0|1, d:DOUBLE, n (nil); anything else is a string.
 * With no ARG or one ARG the call goes through xend_call's format; with more through
 * xend_call_value, so both entry points are exercised.
 */
#include <xend/xend.h>

#include "util/buf.h"
#include "xmlrpc/codec.h"
#include "xmlrpc/value.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static xmlrpc_value *client_arg_parse(const char *a)
{
    if (strncmp(a, "s:", 2) == 0)
        return xmlrpc_string(a + 2);
    if (strncmp(a, "i:", 2) == 0)
        return xmlrpc_int((int32_t)strtol(a + 2, NULL, 10));
    if (strncmp(a, "I:", 2) == 0)
        return xmlrpc_i8(strtoll(a + 2, NULL, 10));
    if (strncmp(a, "b:", 2) == 0)
        return xmlrpc_bool(atoi(a + 2) != 0);
    if (strncmp(a, "d:", 2) == 0)
        return xmlrpc_double(strtod(a + 2, NULL));
    if (strcmp(a, "n") == 0)
        return xmlrpc_nil();
    return xmlrpc_string(a);
}

/* One call: exercise xend_call's format for 0 or 1 argument, xend_call_value otherwise. */
static int client_call(xend_conn *c, const char *method, int argc, char **argv,
                       xmlrpc_value **res)
{
    if (argc == 0)
        return xend_call(c, method, res, "");
    if (argc == 1) {
        const char *a = argv[0];
        if (strncmp(a, "i:", 2) == 0)
            return xend_call(c, method, res, "i", atoi(a + 2));
        if (strncmp(a, "I:", 2) == 0)
            return xend_call(c, method, res, "I", (int64_t)strtoll(a + 2, NULL, 10));
        if (strncmp(a, "b:", 2) == 0)
            return xend_call(c, method, res, "b", atoi(a + 2));
        if (strncmp(a, "d:", 2) == 0)
            return xend_call(c, method, res, "d", strtod(a + 2, NULL));
        if (strcmp(a, "n") == 0)
            return xend_call(c, method, res, "n");
        return xend_call(c, method, res, "s", strncmp(a, "s:", 2) == 0 ? a + 2 : a);
    }
    xmlrpc_value *params = xmlrpc_array();
    for (int i = 0; i < argc; i++)
        xmlrpc_array_append(params, client_arg_parse(argv[i]));
    int rc = xend_call_value(c, method, params, res);
    xmlrpc_value_free(params);
    return rc;
}

static void client_error_print(const xend_client_error *e)
{
    printf("fault %d %s: %s\n", e->code, e->name ? e->name : "UNKNOWN", e->message);
    if (e->trace)
        printf("trace: %s\n", e->trace);
}

int main(int argc, char **argv)
{
    int calls = 1, sleep_s = 0, timeout_ms = 0, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--sleep") == 0)
            sleep_s = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_ms = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: %s [--calls N] [--sleep S] [--timeout MS] URI METHOD [ARG...]\n",
                argv[0]);
        return 2;
    }
    xend_conn *c = xend_open(argv[i]);
    if (!c) {
        client_error_print(xend_last_error(NULL));
        return 1;
    }
    xend_set_timeout(c, timeout_ms);
    int rc = 0;
    for (int n = 0; n < calls && rc == 0; n++) {
        xmlrpc_value *res = NULL;
        if (n > 0 && sleep_s > 0)
            sleep((unsigned)sleep_s);
        if (client_call(c, argv[i + 1], argc - i - 2, argv + i + 2, &res) < 0) {
            client_error_print(xend_last_error(c));
            rc = 1;
            break;
        }
        xbuf out = XBUF_INIT;
        xmlrpc_encode_value(&out, res);
        printf("%s\n", out.data ? out.data : "");
        xbuf_clear(&out);
        xmlrpc_value_free(res);
    }
    fflush(stdout);
    xend_close(c);
    return rc;
}
