/*
 * Unit test of libxend's typed functions, credentials and ssh transport without a daemon.
 * A forked fake server on loopback TCP answers every call with what it received (method,
 * parameters, Authorization header), or with the value or fault queued by a "fake.set"
 * call, so the test sees exactly what each typed function sends and how it converts each
 * kind of result. The ssh cases run first, before any other child exists, so that "no
 * zombie is left" can be checked with waitpid(-1).
 */
#include "check.h"

#include "lib/lib_priv.h"
#include "util/buf.h"
#include "util/error.h"
#include "xend/xend.h"
#include "xmlrpc/codec.h"
#include "xmlrpc/value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the fake server ---- */

/* Read one HTTP request from fd into b; its body starts at *body. 0, or -1 at EOF. */
static int fake_request_read(int fd, xbuf *b, size_t *body, size_t *body_len)
{
    xbuf_reset(b);
    for (;;) {
        char *end = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
        if (end) {
            const char *cl = strcasestr(b->data, "\r\nContent-Length:");
            size_t hl = (size_t)(end - b->data) + 4;
            size_t len = cl ? strtoul(cl + 17, NULL, 10) : 0;
            if (b->len >= hl + len) {
                *body = hl;
                *body_len = len;
                return 0;
            }
        }
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0)
            return -1;
        xbuf_add(b, tmp, (size_t)n);
    }
}

/* One write for the whole reply: two would meet Nagle and delayed ACKs (40 ms a call). */
static void fake_reply(int fd, const xbuf *xml)
{
    xbuf r = XBUF_INIT;
    xbuf_printf(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
                xml->len);
    xbuf_add(&r, xml->data, xml->len);
    (void)!write(fd, r.data, r.len);
    xbuf_clear(&r);
}

static void fake_serve(int lfd)
{
    xmlrpc_decoder *dec = xmlrpc_decoder_new(NULL);
    xmlrpc_value *last = xmlrpc_struct(), *next = NULL;
    xbuf req = XBUF_INIT, out = XBUF_INIT;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        size_t body, body_len;
        while (fake_request_read(fd, &req, &body, &body_len) == 0) {
            char *method = NULL;
            xmlrpc_value *params = NULL;
            xbuf_reset(&out);
            if (xmlrpc_decode_call(dec, req.data + body, body_len, &method, &params) < 0) {
                xmlrpc_encode_fault(&out, -32700, "fake server: cannot decode the call");
                fake_reply(fd, &out);
                continue;
            }
            bool quit = strcmp(method, "fake.quit") == 0;
            if (strcmp(method, "fake.set") == 0) {
                xmlrpc_value_free(next);
                next = xmlrpc_value_copy(xmlrpc_array_get(params, 0));
                xmlrpc_encode_response(&out, xmlrpc_array_get(params, 0));
            } else if (strcmp(method, "fake.last") == 0 || quit) {
                xmlrpc_encode_response(&out, last);
            } else {
                char auth[256] = "";
                const char *a = strcasestr(req.data, "\r\nAuthorization: ");
                if (a && a < req.data + body)
                    snprintf(auth, sizeof(auth), "%.*s", (int)strcspn(a + 17, "\r"), a + 17);
                xmlrpc_value_free(last);
                last = xmlrpc_struct();
                xmlrpc_struct_set(last, "method", xmlrpc_string(method));
                xmlrpc_struct_set(last, "params", xmlrpc_value_copy(params));
                xmlrpc_struct_set(last, "auth", xmlrpc_string(auth));
                const xmlrpc_value *code = next ? xmlrpc_struct_get(next, "faultCode") : NULL;
                if (code)
                    xmlrpc_encode_fault(&out, (int)code->u.i, "queued fault");
                else
                    xmlrpc_encode_response(&out, next ? next : last);
                xmlrpc_value_free(next);
                next = NULL;
            }
            fake_reply(fd, &out);
            free(method);
            xmlrpc_value_free(params);
            if (quit)
                _exit(0);
        }
        close(fd);
    }
}

static pid_t fake_pid;
static int fake_port;

static void fake_start(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 8) == 0);
    CHECK(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
    fake_port = ntohs(sa.sin_port);
    fake_pid = fork();
    if (fake_pid == 0)
        fake_serve(lfd);
    close(lfd);
}

static xend_conn *fake_open(void)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/", fake_port);
    xend_conn *c = xend_open(uri);
    CHECK(c != NULL);
    return c;
}

/* Queue the value the next call gets (taking ownership of v). */
static void fake_set(xend_conn *c, xmlrpc_value *v)
{
    CHECK_INTEQ(xend_call(c, "fake.set", NULL, "v", v), 0);
}

/* What the last call sent: {method, params, auth}; caller frees. */
static xmlrpc_value *fake_last(xend_conn *c)
{
    xmlrpc_value *v = NULL;
    CHECK_INTEQ(xend_call(c, "fake.last", &v, ""), 0);
    return v;
}

static const xmlrpc_value *last_param(const xmlrpc_value *last, size_t i)
{
    const xmlrpc_value *p = last ? xmlrpc_struct_get(last, "params") : NULL;
    return p && i < xmlrpc_array_size(p) ? xmlrpc_array_get(p, i) : NULL;
}

static size_t last_nparams(const xmlrpc_value *last)
{
    const xmlrpc_value *p = last ? xmlrpc_struct_get(last, "params") : NULL;
    return p ? xmlrpc_array_size(p) : 99;
}

/* ---- typed functions ---- */

static void test_typed(void)
{
    xend_conn *c = fake_open();
    if (!c)
        return;
    xmlrpc_value *res = NULL, *last;

    /* No parameters; the echo struct comes back as the struct result. */
    CHECK_INTEQ(xend_daemon_version(c, &res), 0);
    CHECK(res && res->type == XMLRPC_STRUCT);
    if (res) {
        CHECK_STREQ(xmlrpc_struct_get(res, "method")->u.s.ptr, "daemon.version");
        CHECK_INTEQ(last_nparams(res), 0);
        CHECK_STREQ(xmlrpc_struct_get(res, "auth")->u.s.ptr, "");
    }
    xmlrpc_value_free(res);

    /* An optional trailing struct: NULL sends the shorter signature. */
    fake_set(c, xmlrpc_array());
    CHECK_INTEQ(xend_domain_list(c, NULL, &res), 0);
    CHECK(res && res->type == XMLRPC_ARRAY);
    xmlrpc_value_free(res);
    last = fake_last(c);
    CHECK_INTEQ(last_nparams(last), 0);
    xmlrpc_value_free(last);
    xmlrpc_value *filter = xmlrpc_struct();
    xmlrpc_struct_set(filter, "active", xmlrpc_bool(true));
    fake_set(c, xmlrpc_array());
    CHECK_INTEQ(xend_domain_list(c, filter, NULL), 0);
    last = fake_last(c);
    CHECK_INTEQ(last_nparams(last), 1);
    CHECK(last_param(last, 0) && xmlrpc_value_equal(last_param(last, 0), filter));
    xmlrpc_value_free(last);
    xmlrpc_value_free(filter); /* borrowed: still ours */

    /* An optional trailing boolean is always sent. */
    CHECK_INTEQ(xend_domain_start(c, "web", 0, NULL), 0);
    last = fake_last(c);
    CHECK_INTEQ(last_nparams(last), 2);
    CHECK(last_param(last, 1) && last_param(last, 1)->type == XMLRPC_BOOL &&
          !last_param(last, 1)->u.b);
    CHECK_STREQ(xmlrpc_struct_get(last, "method")->u.s.ptr, "domain.start");
    CHECK_STREQ(last_param(last, 0)->u.s.ptr, "web");
    xmlrpc_value_free(last);

    /* Boolean results. */
    int ok = -1;
    fake_set(c, xmlrpc_bool(true));
    CHECK_INTEQ(xend_domain_undefine(c, "web", NULL, &ok), 0);
    CHECK_INTEQ(ok, 1);
    last = fake_last(c);
    CHECK_INTEQ(last_nparams(last), 1);
    xmlrpc_value_free(last);
    fake_set(c, xmlrpc_bool(false));
    CHECK_INTEQ(xend_domain_set_autostart(c, "web", 1, &ok), 0);
    CHECK_INTEQ(ok, 0);

    /* String results: a malloc'd copy for the caller. */
    char *xml = NULL;
    fake_set(c, xmlrpc_string("<domain type='test'/>"));
    CHECK_INTEQ(xend_domain_get_xml(c, "web", 1, &xml), 0);
    CHECK_STREQ(xml, "<domain type='test'/>");
    free(xml);
    last = fake_last(c);
    CHECK(last_param(last, 1) && last_param(last, 1)->type == XMLRPC_BOOL &&
          last_param(last, 1)->u.b);
    xmlrpc_value_free(last);

    /* Integer results, from <i8> and <int>; i8 and int arguments. */
    int64_t id = -1;
    fake_set(c, xmlrpc_i8((int64_t)1 << 40));
    CHECK_INTEQ(xend_event_current_id(c, &id), 0);
    CHECK_INTEQ(id, (int64_t)1 << 40);
    fake_set(c, xmlrpc_int(7));
    CHECK_INTEQ(xend_event_current_id(c, &id), 0);
    CHECK_INTEQ(id, 7);
    CHECK_INTEQ(xend_domain_set_memory(c, "web", (int64_t)3 << 33, NULL), 0);
    last = fake_last(c);
    CHECK(last_param(last, 1) && last_param(last, 1)->type == XMLRPC_I8 &&
          last_param(last, 1)->u.i == (int64_t)3 << 33);
    xmlrpc_value_free(last);
    fake_set(c, xmlrpc_bool(true));
    CHECK_INTEQ(xend_domain_pin_vcpu(c, "web", 3, "0-1", NULL), 0);
    last = fake_last(c);
    CHECK(last_param(last, 1) && last_param(last, 1)->type == XMLRPC_INT &&
          last_param(last, 1)->u.i == 3);
    CHECK_STREQ(last_param(last, 2)->u.s.ptr, "0-1");
    xmlrpc_value_free(last);

    /* A NULL required argument: INVALID_ARG, nothing sent. */
    fake_set(c, xmlrpc_string("untouched"));
    res = (xmlrpc_value *)&res;
    CHECK_INTEQ(xend_domain_pause(c, NULL, &res), -1);
    CHECK(res == NULL);
    CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_INVALID_ARG);
    CHECK_CONTAINS(xend_last_error(c)->message, "domain.pause: argument 'dom' must not be NULL");
    CHECK_INTEQ(xend_domain_attach_device(c, "web", NULL, NULL, NULL), -1);
    CHECK_CONTAINS(xend_last_error(c)->message, "argument 'xml' must not be NULL");

    /* Neither call reached the server: the queued reply is still there. */
    CHECK_INTEQ(xend_domain_get_xml(c, "web", 0, &xml), 0);
    CHECK_STREQ(xml, "untouched");
    free(xml);

    /* A reply of the wrong type is an error, and nothing is handed out. */
    fake_set(c, xmlrpc_struct());
    xml = (char *)"x";
    CHECK_INTEQ(xend_domain_get_xml(c, "web", 0, &xml), -1);
    CHECK(xml == NULL);
    CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_PROTOCOL_INTERNAL);
    CHECK_CONTAINS(xend_last_error(c)->message, "returned a struct for domain.get_xml, which "
                                                "returns a string");
    fake_set(c, xmlrpc_string("no"));
    CHECK_INTEQ(xend_domain_list(c, NULL, &res), -1);
    CHECK(res == NULL);
    CHECK_CONTAINS(xend_last_error(c)->message, "returned a string for domain.list");
    fake_set(c, xmlrpc_nil());
    CHECK_INTEQ(xend_event_current_id(c, &id), -1);
    CHECK_INTEQ(id, 0);

    /* A fault. */
    xmlrpc_value *fault = xmlrpc_struct();
    xmlrpc_struct_set(fault, "faultCode", xmlrpc_int(3));
    fake_set(c, fault);
    CHECK_INTEQ(xend_domain_lookup(c, "nosuch", &res), -1);
    CHECK(res == NULL);
    CHECK_INTEQ(xend_last_error(c)->code, 3);
    CHECK_STREQ(xend_last_error(c)->name, "NO_DOMAIN");
    CHECK_STREQ(xend_last_error(c)->message, "queued fault");

    /* NULL connection. */
    CHECK_INTEQ(xend_node_info(NULL, &res), -1);
    CHECK(res == NULL);
    xend_close(c);
}

/* The runtime behind the stubs, for argument kinds no v1 method uses yet. */
static void test_stub_runtime(void)
{
    xend_conn *c = fake_open();
    if (!c)
        return;
    static const char bytes[] = {'a', 0, 'b'};
    lib_arg args[] = {
        {LIB_ARG_BASE64, "data", {.b = {bytes, 3}}},
        {LIB_ARG_DOUBLE, "ratio", {.d = 0.25}},
        {LIB_ARG_STRING, "opt", {.s = NULL}},
    };
    xmlrpc_value *res = NULL;
    /* arities 0b1100: 2 or 3 parameters; the NULL string at 2 ends the call there */
    CHECK_INTEQ(lib_stub_call(c, "x.y", args, 3, 0xcu, LIB_RESULT_STRUCT, &res), 0);
    const xmlrpc_value *p0 = last_param(res, 0), *p1 = last_param(res, 1);
    CHECK_INTEQ(last_nparams(res), 2);
    CHECK(p0 && p0->type == XMLRPC_BASE64 && p0->u.s.len == 3 && memcmp(p0->u.s.ptr, bytes, 3) == 0);
    CHECK(p1 && p1->type == XMLRPC_DOUBLE && p1->u.d == 0.25);
    xmlrpc_value_free(res);
    /* Not allowed where no signature ends. */
    CHECK_INTEQ(lib_stub_call(c, "x.y", args, 3, 0x8u, LIB_RESULT_ANY, &res), -1);
    CHECK_CONTAINS(xend_last_error(c)->message, "x.y: argument 'opt' must not be NULL");
    args[1].u.d = 1.0 / 0.0;
    CHECK_INTEQ(lib_stub_call(c, "x.y", args, 2, 0x4u, LIB_RESULT_ANY, &res), -1);
    CHECK_CONTAINS(xend_last_error(c)->message, "argument 'ratio' is not finite");
    xend_close(c);
}

/* ---- credentials ---- */

static const char *auth_sent(xend_conn *c)
{
    static char auth[256];
    xmlrpc_value *last = fake_last(c);
    const xmlrpc_value *a = last ? xmlrpc_struct_get(last, "auth") : NULL;
    snprintf(auth, sizeof(auth), "%s", a ? a->u.s.ptr : "?");
    xmlrpc_value_free(last);
    return auth;
}

static void test_credentials(void)
{
    xend_conn *c = fake_open();
    if (!c)
        return;
    CHECK_INTEQ(xend_set_credentials(c, "alice", "s3cret"), 0);
    CHECK_INTEQ(xend_node_info(c, NULL), 0);
    CHECK_STREQ(auth_sent(c), "Basic YWxpY2U6czNjcmV0");
    CHECK_INTEQ(xend_node_info(c, NULL), 0); /* on every request */
    CHECK_STREQ(auth_sent(c), "Basic YWxpY2U6czNjcmV0");
    CHECK_INTEQ(xend_set_credentials(c, "a:b", "x"), -1);
    CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_INVALID_ARG);
    CHECK_INTEQ(xend_set_credentials(c, "", "x"), -1);
    CHECK_INTEQ(xend_set_credentials(c, "a\nb", "x"), -1);
    CHECK_INTEQ(xend_set_credentials(c, "bob", NULL), 0);
    CHECK_INTEQ(xend_node_info(c, NULL), 0);
    CHECK_STREQ(auth_sent(c), "Basic Ym9iOg==");
    CHECK_INTEQ(xend_set_credentials(c, NULL, NULL), 0);
    CHECK_INTEQ(xend_node_info(c, NULL), 0);
    CHECK_STREQ(auth_sent(c), "");
    CHECK_INTEQ(xend_set_credentials(NULL, "a", "b"), -1);
    xend_close(c);

    /* user:password@ in the URI, %-escapes decoded. */
    char uri[128];
    snprintf(uri, sizeof(uri), "http://alice:p%%40ss%%3Aw@127.0.0.1:%d/RPC2", fake_port);
    c = xend_open(uri);
    CHECK(c != NULL);
    if (c) {
        CHECK_INTEQ(xend_node_info(c, NULL), 0);
        CHECK_STREQ(auth_sent(c), "Basic YWxpY2U6cEBzczp3"); /* alice:p@ss:w */
        xend_close(c);
    }
    /* Messages never show the password. */
    snprintf(uri, sizeof(uri), "http://alice:secret@127.0.0.1:1/");
    CHECK(xend_open(uri) == NULL);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "xend at http://alice@127.0.0.1:1/");
    CHECK(!strstr(xend_last_error(NULL)->message, "secret"));

    /* From the xm config file, when the URI comes from it: password_file's first line. */
    char dir[] = "/tmp/test-lib-stubs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char conf[64], pw[64];
    snprintf(conf, sizeof(conf), "%s/xm.conf", dir);
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    FILE *f = fopen(conf, "w");
    if (f) {
        fprintf(f, "uri = http://127.0.0.1:%d/\nusername = carol\npassword_file = pw\n",
                fake_port);
        fclose(f);
    }
    f = fopen(pw, "w");
    if (f) {
        fputs("hunter2\n", f);
        fclose(f);
    }
    unsetenv("XM_SERVER");
    unsetenv("XEND_URI");
    setenv("XM_CONFIG_FILE", conf, 1);
    c = xend_open(NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK_INTEQ(xend_node_info(c, NULL), 0);
        CHECK_STREQ(auth_sent(c), "Basic Y2Fyb2w6aHVudGVyMg=="); /* carol:hunter2 */
        xend_close(c);
    }
    /* An explicit URI does not pick up the file's credentials. */
    c = fake_open();
    if (c) {
        CHECK_INTEQ(xend_node_info(c, NULL), 0);
        CHECK_STREQ(auth_sent(c), "");
        xend_close(c);
    }
    /* A password file that cannot be read fails the open, naming it. */
    unlink(pw);
    CHECK(xend_open(NULL) == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "password_file of");
    /* The xm-config.xml form. */
    f = fopen(conf, "w");
    if (f) {
        fprintf(f, "<xm><server type='LegacyXMLRPC' uri='http://127.0.0.1:%d/' "
                   "username='dave' password='pw'/></xm>\n",
                fake_port);
        fclose(f);
    }
    c = xend_open(NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK_INTEQ(xend_node_info(c, NULL), 0);
        CHECK_STREQ(auth_sent(c), "Basic ZGF2ZTpwdw==");
        xend_close(c);
    }
    /* A broken config file fails xend_open(NULL) with its error. */
    f = fopen(conf, "w");
    if (f) {
        fputs("uri = unix:///x\nbogus = 1\n", f);
        fclose(f);
    }
    CHECK(xend_open(NULL) == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_CONFIG_INVALID);
    CHECK_CONTAINS(xend_last_error(NULL)->message, ":2: unknown key 'bogus'");
    unsetenv("XM_CONFIG_FILE");
    unlink(conf);
    rmdir(dir);
}

/* ---- ssh ---- */

static void check_argv(const char *uri, const char *ssh_cmd, const char *want)
{
    lib_uri u;
    CHECK_INTEQ(lib_uri_parse(uri, &u), 0);
    char **argv = lib_ssh_argv(&u, ssh_cmd);
    char got[512] = "";
    for (char **p = argv; p && *p; p++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", p == argv ? "" : "|", *p);
    CHECK_STREQ(got, want);
    lib_argv_free(argv);
    lib_uri_clear(&u);
}

static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static void test_ssh(void)
{
    check_argv("ssh://host", NULL, "ssh|host|xm|serve");
    check_argv("ssh://host/", "", "ssh|host|xm|serve");
    check_argv("ssh://alice@host.example:2222/run/xend/xend.sock", "  ssh  -o BatchMode=yes ",
               "ssh|-o|BatchMode=yes|-p|2222|-l|alice|host.example|xm|serve|--server|"
               "unix:///run/xend/xend.sock");
    check_argv("ssh://[::1]:22/tmp/x.sock", "/usr/bin/python3 relay.py",
               "/usr/bin/python3|relay.py|-p|22|::1|xm|serve|--server|unix:///tmp/x.sock");

    /* A command that ends at once: the call fails with its exit status, and is reaped. */
    CHECK(no_children());
    setenv("XEND_SSH", "true", 1);
    xend_conn *c = xend_open("ssh://somewhere/");
    CHECK(c != NULL);
    if (c) {
        CHECK_INTEQ(xend_node_info(c, NULL), -1);
        CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_SYSTEM);
        CHECK_CONTAINS(xend_last_error(c)->message, "xend at ssh://somewhere/");
        CHECK_CONTAINS(xend_last_error(c)->message, "the ssh transport 'true' exited with status 0");
        xend_close(c);
    }
    CHECK(no_children());
    setenv("XEND_SSH", "false", 1);
    c = xend_open("ssh://somewhere/");
    CHECK(c != NULL);
    if (c) {
        /* Large enough that the write meets the closed socket (EPIPE, never SIGPIPE). */
        char *big = malloc(1 << 20);
        memset(big, 'x', (1 << 20) - 1);
        big[(1 << 20) - 1] = '\0';
        CHECK_INTEQ(xend_domain_define(c, big, NULL), -1);
        CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_SYSTEM);
        CHECK_CONTAINS(xend_last_error(c)->message, "'false' exited with status 1");
        free(big);
        /* The next call starts the command again, and fails the same way. */
        CHECK_INTEQ(xend_node_info(c, NULL), -1);
        CHECK_CONTAINS(xend_last_error(c)->message, "'false' exited with status 1");
        xend_close(c);
    }
    CHECK(no_children());
    /* A command that cannot be run fails the open. */
    setenv("XEND_SSH", "/nonexistent/ssh", 1);
    CHECK(xend_open("ssh://somewhere/") == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "cannot run '/nonexistent/ssh'");
    CHECK_CONTAINS(xend_last_error(NULL)->message, "No such file");
    CHECK(no_children());
    /* One that never exits by itself is terminated on close (after the bound). */
    char dir[] = "/tmp/test-lib-stubs-ssh-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char script[64];
    snprintf(script, sizeof(script), "%s/stuck-ssh", dir);
    FILE *f = fopen(script, "w");
    if (f) {
        fputs("#!/bin/sh\nexec sleep 30\n", f);
        fclose(f);
    }
    chmod(script, 0700);
    setenv("XEND_SSH", script, 1);
    c = xend_open("ssh://somewhere/");
    CHECK(c != NULL);
    xend_close(c);
    CHECK(no_children());
    unsetenv("XEND_SSH");
    unlink(script);
    rmdir(dir);
}

int main(void)
{
    /* SIGPIPE must keep its default action: the ssh test proves libxend never raises it. */
    signal(SIGPIPE, SIG_DFL);
    test_ssh();
    fake_start();
    test_typed();
    test_stub_runtime();
    test_credentials();
    xend_conn *c = fake_open();
    if (c) {
        CHECK_INTEQ(xend_call(c, "fake.quit", NULL, ""), 0);
        xend_close(c);
    }
    int status = 0;
    CHECK(waitpid(fake_pid, &status, 0) == fake_pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    return check_summary("lib-stubs");
}
