/*
 * A tiny libxend client for the live tests. It uses only what an installed libxend offers
 * (xend.h, the typed functions and value.h), so it also proves that the shared library's
 * exports are enough for a real client.
 *
 * usage: libxend-client [--calls N] [--sleep SECONDS] [--timeout MS] URI METHOD [ARG...]
 *   opens URI, calls METHOD (several times if asked, on the same connection, so keep-alive
 *   and reconnect can be observed) and prints each result as XML-RPC, or
 *   "fault CODE NAME: message" and exits 1.
 *   ARG: s:TEXT, i:INT, I:INT64, b:0|1, d:DOUBLE, n (nil); anything else is a string.
 *   With no ARG or one ARG the call goes through xend_call's format; with more through
 *   xend_call_value, so both entry points are exercised.
 * usage: libxend-client --typed URI DOMAIN.XML NAME
 *   runs a fixed scenario through the typed functions (define, start, pause, lookup,
 *   get_xml, list, destroy, undefine, node.info, event.current_id and two errors), one
 *   line per step, for test_libxend.py to check.
 * Either way it ends by checking that libxend left no child process behind (exit 3).
 */
#include <xend/xend.h>
#include <xend/xmlrpc/value.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- printing values as the daemon's encoder writes them ---- */

static void client_text_print(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '<')
            fputs("&lt;", stdout);
        else if (s[i] == '>')
            fputs("&gt;", stdout);
        else if (s[i] == '&')
            fputs("&amp;", stdout);
        else
            putchar(s[i]);
    }
}

static void client_base64_print(const unsigned char *p, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        putchar(tab[v >> 18 & 63]);
        putchar(tab[v >> 12 & 63]);
        putchar(i + 1 < len ? tab[v >> 6 & 63] : '=');
        putchar(i + 2 < len ? tab[v & 63] : '=');
    }
}

static void client_value_print(const xmlrpc_value *v)
{
    fputs("<value>", stdout);
    switch (v->type) {
    case XMLRPC_INT:
        printf("<int>%" PRId64 "</int>", v->u.i);
        break;
    case XMLRPC_I8:
        printf("<i8>%" PRId64 "</i8>", v->u.i);
        break;
    case XMLRPC_BOOL:
        printf("<boolean>%d</boolean>", v->u.b ? 1 : 0);
        break;
    case XMLRPC_DOUBLE:
        printf("<double>%.17g</double>", v->u.d);
        break;
    case XMLRPC_STRING:
    case XMLRPC_DATETIME:
        printf("<%s>", xmlrpc_type_name(v->type));
        client_text_print(v->u.s.ptr, v->u.s.len);
        printf("</%s>", xmlrpc_type_name(v->type));
        break;
    case XMLRPC_BASE64:
        fputs("<base64>", stdout);
        client_base64_print((const unsigned char *)v->u.s.ptr, v->u.s.len);
        fputs("</base64>", stdout);
        break;
    case XMLRPC_NIL:
        fputs("<nil/>", stdout);
        break;
    case XMLRPC_ARRAY:
        fputs("<array><data>", stdout);
        for (size_t i = 0; i < xmlrpc_array_size(v); i++)
            client_value_print(xmlrpc_array_get(v, i));
        fputs("</data></array>", stdout);
        break;
    case XMLRPC_STRUCT:
        fputs("<struct>", stdout);
        for (size_t i = 0; i < v->u.st.n; i++) {
            fputs("<member><name>", stdout);
            client_text_print(v->u.st.m[i].name, strlen(v->u.st.m[i].name));
            fputs("</name>", stdout);
            client_value_print(v->u.st.m[i].value);
            fputs("</member>", stdout);
        }
        fputs("</struct>", stdout);
        break;
    default:
        fputs("<unknown/>", stdout);
        break;
    }
    fputs("</value>", stdout);
}

/* ---- generic calls ---- */

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

/* ---- the typed scenario ---- */

static const char *client_str(const xmlrpc_value *st, const char *name)
{
    const xmlrpc_value *v = st ? xmlrpc_struct_get(st, name) : NULL;
    return v && v->type == XMLRPC_STRING ? v->u.s.ptr : "?";
}

static int64_t client_int(const xmlrpc_value *st, const char *name)
{
    const xmlrpc_value *v = st ? xmlrpc_struct_get(st, name) : NULL;
    return v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8) ? v->u.i
           : v && v->type == XMLRPC_BOOL                        ? v->u.b
                                                                : -999;
}

/* Print "step" and the row's state, or the error; frees row; returns rc. */
static int client_row_step(xend_conn *c, const char *step, int rc, xmlrpc_value *row)
{
    if (rc < 0) {
        printf("%s ", step);
        client_error_print(xend_last_error(c));
    } else {
        printf("%s %s %s\n", step, client_str(row, "name"), client_str(row, "state"));
    }
    xmlrpc_value_free(row);
    return rc;
}

static void client_names_print(const char *step, const xmlrpc_value *list)
{
    printf("%s", step);
    for (size_t i = 0; i < xmlrpc_array_size(list); i++)
        printf("%s%s", i ? "," : " ", client_str(xmlrpc_array_get(list, i), "name"));
    putchar('\n');
}

static char *client_file_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static int client_typed(xend_conn *c, const char *xml_path, const char *name)
{
    char *xml = client_file_read(xml_path);
    xmlrpc_value *v = NULL;
    int64_t id0 = -1, id1 = -1;
    int ok = -1;
    if (!xml) {
        perror(xml_path);
        return 1;
    }
    if (xend_event_current_id(c, &id0) < 0) {
        client_row_step(c, "current_id", -1, NULL);
        free(xml);
        return 1;
    }
    printf("current_id %" PRId64 "\n", id0);
    if (xend_node_info(c, &v) == 0)
        printf("node.info cpus=%" PRId64 " memory=%" PRId64 "\n", client_int(v, "cpus"),
               client_int(v, "memory"));
    xmlrpc_value_free(v);
    v = NULL;

    /* (each call before its step: argument evaluation order is unspecified) */
    int rc = xend_domain_define(c, xml, &v);
    rc = client_row_step(c, "define", rc, v);
    free(xml);
    v = NULL;
    int r = xend_domain_start(c, name, 0, &v);
    rc |= client_row_step(c, "start", r, v);
    v = NULL;
    r = xend_domain_pause(c, name, &v);
    rc |= client_row_step(c, "pause", r, v);
    v = NULL;
    if (xend_domain_lookup(c, name, &v) == 0)
        printf("lookup %s %s persistent=%" PRId64 " memory=%" PRId64 "\n", client_str(v, "name"),
               client_str(v, "state"), client_int(v, "persistent"), client_int(v, "memory"));
    else
        rc |= client_row_step(c, "lookup", -1, NULL);
    xmlrpc_value_free(v);
    v = NULL;

    char *text = NULL;
    if (xend_domain_get_xml(c, name, 1, &text) == 0) {
        char want[300];
        snprintf(want, sizeof(want), "<name>%s</name>", name);
        printf("get_xml has_name=%d\n", strstr(text, want) != NULL);
        free(text);
    } else {
        rc |= client_row_step(c, "get_xml", -1, NULL);
    }

    if (xend_domain_list(c, NULL, &v) == 0)
        client_names_print("list", v);
    else
        rc |= client_row_step(c, "list", -1, NULL);
    xmlrpc_value_free(v);
    v = NULL;
    xmlrpc_value *filter = xmlrpc_struct();
    xmlrpc_struct_set(filter, "state", xmlrpc_string("paused"));
    if (xend_domain_list(c, filter, &v) == 0)
        client_names_print("list_paused", v);
    else
        rc |= client_row_step(c, "list_paused", -1, NULL);
    xmlrpc_value_free(filter);
    xmlrpc_value_free(v);
    v = NULL;

    r = xend_domain_destroy(c, name, &v);
    rc |= client_row_step(c, "destroy", r, v);
    v = NULL;
    if (xend_domain_undefine(c, name, NULL, &ok) == 0)
        printf("undefine %d\n", ok);
    else
        rc |= client_row_step(c, "undefine", -1, NULL);
    if (xend_event_current_id(c, &id1) == 0)
        printf("current_id_advanced %d\n", id1 > id0);

    /* Two errors: a fault from the daemon, and an argument refused before sending. */
    r = xend_domain_lookup(c, name, &v);
    client_row_step(c, "lookup_gone", r, v);
    v = NULL;
    r = xend_domain_pause(c, NULL, &v);
    client_row_step(c, "pause_null", r, v);
    return rc ? 1 : 0;
}

/* libxend must reap what it starts (the ssh transport's command). */
static int client_children_check(void)
{
    if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
        return 0;
    printf("libxend-client: libxend left a child process behind\n");
    return 3;
}

int main(int argc, char **argv)
{
    int calls = 1, sleep_s = 0, timeout_ms = 0, i = 1;
    if (argc == 5 && strcmp(argv[1], "--typed") == 0) {
        xend_conn *c = xend_open(argv[2]);
        if (!c) {
            client_error_print(xend_last_error(NULL));
            return 1;
        }
        int rc = client_typed(c, argv[3], argv[4]);
        fflush(stdout);
        xend_close(c);
        int ch = client_children_check();
        return ch ? ch : rc;
    }
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
        fprintf(stderr, "usage: %s [--calls N] [--sleep S] [--timeout MS] URI METHOD [ARG...]\n"
                        "       %s --typed URI DOMAIN.XML NAME\n",
                argv[0], argv[0]);
        return 2;
    }
    xend_conn *c = xend_open(argv[i]);
    if (!c) {
        client_error_print(xend_last_error(NULL));
        return client_children_check() ? 3 : 1;
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
        client_value_print(res);
        putchar('\n');
        xmlrpc_value_free(res);
    }
    fflush(stdout);
    xend_close(c);
    int ch = client_children_check();
    return ch ? ch : rc;
}
