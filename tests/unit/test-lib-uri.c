/*
 * Unit test of libxend without a daemon: URI parsing (passwords never shown), the argument
 * format of xend_call (including ownership of 'v' values on failure), open errors, the HTTP
 * reply checks against a forked one-shot fake server sending canned replies, and the
 * https:// failures that need no certificate: the CA file's (from ca_file, XEND_CA_FILE)
 * and those of a TCP server that is not TLS or hangs up during the handshake.
 */
#include "check.h"

#include "lib/lib_priv.h"
#include "util/error.h"
#include "xend/xend.h"
#include "xmlrpc/value.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void check_uri_unix(const char *uri, const char *path)
{
    lib_uri u;
    CHECK_INTEQ(lib_uri_parse(uri, &u), 0);
    CHECK_INTEQ(u.transport, LIB_TRANSPORT_UNIX);
    CHECK_STREQ(u.socket_path, path);
    CHECK_STREQ(u.path, "/RPC2");
    lib_uri_clear(&u);
}

static void check_uri_tcp(const char *uri, const char *host, const char *port, const char *path)
{
    lib_uri u;
    CHECK_INTEQ(lib_uri_parse(uri, &u), 0);
    CHECK_INTEQ(u.transport, LIB_TRANSPORT_TCP);
    CHECK_INTEQ(u.tls, strncmp(uri, "https:", 6) == 0);
    CHECK_STREQ(u.host, host);
    CHECK_STREQ(u.port, port);
    CHECK_STREQ(u.path, path);
    lib_uri_clear(&u);
}

static void check_uri_bad(const char *uri, int code, const char *needle)
{
    lib_uri u;
    CHECK_MSG(lib_uri_parse(uri, &u) == -1, "%s accepted", uri ? uri : "(null)");
    CHECK_INTEQ(xend_error_last()->code, code);
    CHECK_CONTAINS(xend_error_last()->message, needle);
    CHECK(u.host == NULL && u.socket_path == NULL && u.path == NULL);
}

static void test_uri(void)
{
    check_uri_unix("unix:///run/xend/xend.sock", "/run/xend/xend.sock");
    check_uri_unix("httpu:///tmp/x.sock", "/tmp/x.sock");
    check_uri_tcp("http://127.0.0.1:8006/RPC2", "127.0.0.1", "8006", "/RPC2");
    check_uri_tcp("http://localhost:1/", "localhost", "1", "/RPC2");
    check_uri_tcp("http://example.org:65535", "example.org", "65535", "/RPC2");
    check_uri_tcp("http://h", "h", "8006", "/RPC2");
    check_uri_tcp("http://h:9/other/path", "h", "9", "/other/path");
    check_uri_tcp("http://[::1]:8006/", "::1", "8006", "/RPC2");
    check_uri_tcp("http://[::1]", "::1", "8006", "/RPC2");
    check_uri_tcp("https://127.0.0.1:8006/RPC2", "127.0.0.1", "8006", "/RPC2");
    check_uri_tcp("https://h", "h", "8006", "/RPC2");
    check_uri_tcp("https://vm.example:443/xend", "vm.example", "443", "/xend");
    check_uri_tcp("https://[::1]/", "::1", "8006", "/RPC2");

    /* user:password@ for HTTP Basic authentication, %-escapes decoded */
    lib_uri u;
    CHECK_INTEQ(lib_uri_parse("http://alice:p%40ss@w@h:9/x", &u), 0);
    CHECK_STREQ(u.user, "alice");
    CHECK_STREQ(u.password, "p@ss@w");
    CHECK_STREQ(u.host, "h");
    CHECK_STREQ(u.port, "9");
    CHECK_STREQ(u.path, "/x");
    lib_uri_clear(&u);
    CHECK(!u.tls);
    CHECK_INTEQ(lib_uri_parse("https://alice:p%3Ass@h/", &u), 0);
    CHECK(u.tls);
    CHECK_STREQ(u.user, "alice");
    CHECK_STREQ(u.password, "p:ss");
    CHECK_STREQ(u.port, "8006");
    lib_uri_clear(&u);
    CHECK_INTEQ(lib_uri_parse("http://bob@[::1]/", &u), 0);
    CHECK_STREQ(u.user, "bob");
    CHECK(u.password == NULL);
    CHECK_STREQ(u.host, "::1");
    lib_uri_clear(&u);

    /* ssh://[user@]host[:port][/socket path] */
    CHECK_INTEQ(lib_uri_parse("ssh://root@vmhost.example:2222/run/xend/xend.sock", &u), 0);
    CHECK_INTEQ(u.transport, LIB_TRANSPORT_SSH);
    CHECK_STREQ(u.user, "root");
    CHECK_STREQ(u.host, "vmhost.example");
    CHECK_STREQ(u.port, "2222");
    CHECK_STREQ(u.socket_path, "/run/xend/xend.sock");
    CHECK_STREQ(u.path, "/RPC2");
    lib_uri_clear(&u);
    CHECK_INTEQ(lib_uri_parse("ssh://h/", &u), 0);
    CHECK(u.user == NULL && u.port == NULL && u.socket_path == NULL);
    CHECK_STREQ(u.host, "h");
    lib_uri_clear(&u);
    CHECK_INTEQ(lib_uri_parse("ssh://h", &u), 0);
    CHECK(u.socket_path == NULL);
    lib_uri_clear(&u);

    check_uri_bad(NULL, XEND_ERR_INVALID_ARG, "no URI");
    check_uri_bad("", XEND_ERR_INVALID_ARG, "no URI");
    check_uri_bad("unix://relative/x.sock", XEND_ERR_INVALID_ARG, "absolute");
    check_uri_bad("httpu://", XEND_ERR_INVALID_ARG, "absolute");
    char longp[300] = "unix:///";
    memset(longp + 8, 'a', 200);
    longp[208] = '\0';
    check_uri_bad(longp, XEND_ERR_INVALID_ARG, "longer than");
    check_uri_bad("http://:8006/", XEND_ERR_INVALID_ARG, "host:port");
    check_uri_bad("http://h:0/", XEND_ERR_INVALID_ARG, "port");
    check_uri_bad("http://h:65536/", XEND_ERR_INVALID_ARG, "port");
    check_uri_bad("http://h:80x/", XEND_ERR_INVALID_ARG, "port");
    check_uri_bad("http://h:/", XEND_ERR_INVALID_ARG, "port");
    check_uri_bad("http://[::1/", XEND_ERR_INVALID_ARG, "host:port");
    check_uri_bad("http://[::1]x/", XEND_ERR_INVALID_ARG, "host:port");
    check_uri_bad("http://h:1/a b", XEND_ERR_INVALID_ARG, "host:port");
    check_uri_bad("http://@h:1/", XEND_ERR_INVALID_ARG, "user[:password]@");
    check_uri_bad("http://a%3Ab:c@h:1/", XEND_ERR_INVALID_ARG, "user[:password]@");
    check_uri_bad("http://a:b%4@h:1/", XEND_ERR_INVALID_ARG, "user[:password]@");
    check_uri_bad("http://a%00:b@h:1/", XEND_ERR_INVALID_ARG, "user[:password]@");
    check_uri_bad("http://a:secret@h:0/", XEND_ERR_INVALID_ARG, "'http://a@h:0/'");
    CHECK(!strstr(xend_error_last()->message, "secret"));
    char *r = lib_uri_redact("http://al%3Ace:p@ss@h:1/p@th");
    CHECK_STREQ(r, "http://al%3Ace@h:1/p@th");
    free(r);
    r = lib_uri_redact("unix:///a@b");
    CHECK_STREQ(r, "unix:///a@b");
    free(r);
    r = lib_uri_redact("https://alice:pw@h/");
    CHECK_STREQ(r, "https://alice@h/");
    free(r);
    r = lib_uri_redact("alice:pw@h:1");
    CHECK_STREQ(r, "alice@h:1");
    free(r);
    check_uri_bad("https://h:0/", XEND_ERR_INVALID_ARG, "expected https://[user[:password]@]");
    check_uri_bad("https://:8006/", XEND_ERR_INVALID_ARG, "https://");
    check_uri_bad("https://h:1/a\tb", XEND_ERR_INVALID_ARG, "host:port");
    /* A password is never shown, whatever is wrong with the URI. */
    check_uri_bad("https://a:secret@h:99999/", XEND_ERR_INVALID_ARG, "'https://a@h:99999/'");
    CHECK(!strstr(xend_error_last()->message, "secret"));
    check_uri_bad("htps://a:secret@h/", XEND_ERR_INVALID_ARG, "'htps://a@h/'");
    CHECK(!strstr(xend_error_last()->message, "secret"));
    check_uri_bad("a:secret@h:8006", XEND_ERR_INVALID_ARG, "https://host:port");
    CHECK(!strstr(xend_error_last()->message, "secret"));
    check_uri_bad("ssh://u:secret@h/", XEND_ERR_INVALID_ARG, "'ssh://u@h/'");
    CHECK(!strstr(xend_error_last()->message, "secret"));
    CHECK_CONTAINS(xend_error_last()->message, "no password");
    check_uri_bad("ssh://", XEND_ERR_INVALID_ARG, "ssh://[user@]host");
    check_uri_bad("ssh://-oProxyCommand=x/", XEND_ERR_INVALID_ARG, "not start with '-'");
    check_uri_bad("ssh://-l@h/", XEND_ERR_INVALID_ARG, "not start with '-'");
    check_uri_bad("ssh://h;x/", XEND_ERR_INVALID_ARG, "letters, digits");
    check_uri_bad("ssh://h/tmp/x;rm -rf ~", XEND_ERR_INVALID_ARG, "socket path");
    check_uri_bad("ssh://h/tmp/$(id)", XEND_ERR_INVALID_ARG, "socket path");
    check_uri_bad("ssh://h:0/", XEND_ERR_INVALID_ARG, "ssh://[user@]host");
    check_uri_bad("ftp://h/", XEND_ERR_INVALID_ARG, "expected unix://");
    check_uri_bad("ftp://h/", XEND_ERR_INVALID_ARG, "ssh://");
    check_uri_bad("/run/xend/xend.sock", XEND_ERR_INVALID_ARG, "expected unix://");
}

static xmlrpc_value *build(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xmlrpc_value *v = lib_params_build(fmt, ap);
    va_end(ap);
    return v;
}

static void test_fmt(void)
{
    CHECK_INTEQ(lib_fmt_check(""), 0);
    CHECK_INTEQ(lib_fmt_check("siIbdvn"), 0);
    CHECK_INTEQ(lib_fmt_check(NULL), -1);
    CHECK_INTEQ(lib_fmt_check("sx"), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_ARG);
    CHECK_CONTAINS(xend_error_last()->message, "'x' at position 1");
    CHECK_INTEQ(lib_fmt_check("%s"), -1);

    xmlrpc_value *p = build("siIbdvn", "dom", -7, (int64_t)1 << 40, 5, 2.5, xmlrpc_string("v"));
    CHECK(p && p->type == XMLRPC_ARRAY && xmlrpc_array_size(p) == 7);
    if (p && xmlrpc_array_size(p) == 7) {
        CHECK_STREQ(xmlrpc_array_get(p, 0)->u.s.ptr, "dom");
        CHECK_INTEQ(xmlrpc_array_get(p, 1)->type, XMLRPC_INT);
        CHECK_INTEQ(xmlrpc_array_get(p, 1)->u.i, -7);
        CHECK_INTEQ(xmlrpc_array_get(p, 2)->type, XMLRPC_I8);
        CHECK_INTEQ(xmlrpc_array_get(p, 2)->u.i, (int64_t)1 << 40);
        CHECK_INTEQ(xmlrpc_array_get(p, 3)->type, XMLRPC_BOOL);
        CHECK(xmlrpc_array_get(p, 3)->u.b);
        CHECK(xmlrpc_array_get(p, 4)->type == XMLRPC_DOUBLE && xmlrpc_array_get(p, 4)->u.d == 2.5);
        CHECK_STREQ(xmlrpc_array_get(p, 5)->u.s.ptr, "v");
        CHECK_INTEQ(xmlrpc_array_get(p, 6)->type, XMLRPC_NIL);
    }
    xmlrpc_value_free(p);

    /* Failures still free every 'v' value (valgrind checks there is no leak). */
    CHECK(build("svv", NULL, xmlrpc_int(1), xmlrpc_array()) == NULL);
    CHECK_CONTAINS(xend_error_last()->message, "argument 1 ('s') is NULL");
    CHECK(build("vdv", xmlrpc_int(1), 1.0 / 0.0, xmlrpc_struct()) == NULL);
    CHECK_CONTAINS(xend_error_last()->message, "not finite");
    CHECK(build("vv", xmlrpc_int(1), (xmlrpc_value *)NULL) == NULL);
    CHECK_CONTAINS(xend_error_last()->message, "argument 2 ('v') is NULL");
}

static void test_open_errors(void)
{
    CHECK(xend_open("gopher://h:1/") == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_INVALID_ARG);
    CHECK_STREQ(xend_last_error(NULL)->name, "INVALID_ARG");
    CHECK(xend_open("unix:///nonexistent/xend.sock") == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_SYSTEM);
    CHECK_STREQ(xend_last_error(NULL)->name, "SYSTEM");
    CHECK_CONTAINS(xend_last_error(NULL)->message,
                   "Unable to connect to xend at unix:///nonexistent/xend.sock: No such file");
    CHECK(xend_open("http://nosuchhost.invalid:8006/") == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_NO_HOST);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "nosuchhost.invalid");
    /* The util error is reported too, once. */
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_NO_HOST);
}

/* A fake server: listen on path, accept one connection per canned reply, read a request's
 * headers and body, send the reply, close. Runs in a child process. */
static pid_t fake_server_start(const char *path, const char *const *replies, size_t n, int *lfd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    *lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(*lfd, 8) < 0)
        return -1;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    for (size_t i = 0; i < n; i++) {
        int fd = accept(*lfd, NULL, NULL);
        char buf[65536];
        size_t len = 0;
        ssize_t r;
        /* Read until the body (short, one segment in practice) has arrived. */
        while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
            len += (size_t)r;
            buf[len] = '\0';
            if (strstr(buf, "</methodCall>"))
                break;
        }
        /* "Content-Length: @" stands for the real length of the body. */
        const char *at = strstr(replies[i], "Content-Length: @");
        if (at) {
            const char *body = strstr(at, "\r\n\r\n") + 4;
            int hl = (int)(at - replies[i]) + 16;
            dprintf(fd, "%.*s%zu%s", hl, replies[i], strlen(body), at + 17);
        } else if (replies[i][0]) {
            (void)!write(fd, replies[i], strlen(replies[i]));
        }
        close(fd);
    }
    _exit(0);
}

#define OKHDR "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"

static void test_replies(void)
{
    static const char *const replies[] = {
        OKHDR "Content-Length: 85\r\n\r\n<?xml version=\"1.0\"?><methodResponse><params><param>"
              "<value><int>42</int></value>",
        /* ^ truncated: Content-Length says more than is sent before close */
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        OKHDR "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        OKHDR "\r\n",
        OKHDR "Content-Length: 9\r\n\r\n<garbage>",
        "",
        OKHDR "Content-Length: @\r\nConnection: close\r\n\r\n"
              "<?xml version=\"1.0\"?>\n<methodResponse><fault><value><struct>"
              "<member><name>faultCode</name><value><int>1</int></value></member>"
              "<member><name>faultString</name><value><string>it broke\nserver trace:\n"
              "at f()\nat g()</string></value></member></struct></value></fault></methodResponse>",
        OKHDR "Content-Length: @\r\nConnection: close\r\n\r\n"
              "<?xml version=\"1.0\"?>\n<methodResponse><fault><value><struct>"
              "<member><name>faultCode</name><value><int>777</int></value></member>"
              "<member><name>faultString</name><value>odd</value></member>"
              "</struct></value></fault></methodResponse>",
    };
    char dir[] = "/tmp/test-lib-uri-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], uri[160];
    snprintf(path, sizeof(path), "%s/fake.sock", dir);
    snprintf(uri, sizeof(uri), "unix://%s", path);
    int lfd;
    size_t n = sizeof(replies) / sizeof(replies[0]);
    pid_t pid = fake_server_start(path, replies, n, &lfd);
    CHECK(pid > 0);
    close(lfd);

    xmlrpc_value *res = (xmlrpc_value *)1;
    xend_conn *c = xend_open(uri);
    CHECK(c != NULL);
    /* A bad format fails before any I/O and takes nothing. */
    CHECK_INTEQ(xend_call(c, "daemon.version", &res, "q", 1), -1);
    CHECK(res == NULL);
    CHECK_INTEQ(xend_last_error(c)->code, XEND_ERR_INVALID_ARG);
    CHECK_STREQ(xend_last_error(c)->name, "INVALID_ARG");

    static const struct {
        int code;
        const char *needle;
    } expect[] = {
        {XEND_ERR_SYSTEM, "truncated"},
        {XEND_ERR_PROTOCOL_INTERNAL, "HTTP 404 Not Found"},
        {XEND_ERR_PROTOCOL_INTERNAL, "chunked"},
        {XEND_ERR_PROTOCOL_INTERNAL, "no Content-Length"},
        {XEND_ERR_PROTOCOL_INTERNAL, "malformed reply"},
        /* a fresh connection closed without a reply is not retried */
        {XEND_ERR_SYSTEM, "closed the connection without replying"},
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        CHECK_INTEQ(xend_call(c, "x.y", &res, "sv", "a", xmlrpc_int((int)i)), -1);
        CHECK(res == NULL);
        CHECK_INTEQ(xend_last_error(c)->code, expect[i].code);
        CHECK_CONTAINS(xend_last_error(c)->message, expect[i].needle);
        CHECK_INTEQ(xend_error_last()->code, expect[i].code);
    }
    CHECK_INTEQ(xend_call(c, "x.y", NULL, ""), -1);
    CHECK_INTEQ(xend_last_error(c)->code, 1);
    CHECK_STREQ(xend_last_error(c)->name, "INTERNAL");
    CHECK_STREQ(xend_last_error(c)->message, "it broke");
    CHECK_STREQ(xend_last_error(c)->trace, "at f()\nat g()");
    CHECK_STREQ(xend_error_last()->message, "it broke");
    CHECK_INTEQ(xend_call(c, "x.y", NULL, "n"), -1);
    CHECK_INTEQ(xend_last_error(c)->code, 777);
    CHECK_STREQ(xend_last_error(c)->name, "UNKNOWN");
    CHECK_STREQ(xend_last_error(c)->message, "odd");
    CHECK(xend_last_error(c)->trace == NULL);
    CHECK_INTEQ(xend_set_timeout(c, -1), -1);
    CHECK_INTEQ(xend_set_timeout(c, 100), 0);
    xend_close(c);
    xend_close(NULL);

    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(path);
    rmdir(dir);
}

/* A fake TCP server on 127.0.0.1 (port in *port) that accepts one connection per mode:
 * 'c' reads the ClientHello and hangs up mid-handshake, 'h' answers it as a plain HTTP
 * server would. Runs in a child process. */
static pid_t fake_tcp_start(const char *modes, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    for (const char *m = modes; *m; m++) {
        int fd = accept(lfd, NULL, NULL);
        char buf[4096];
        (void)!read(fd, buf, sizeof(buf));
        if (*m == 'h') {
            static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n";
            (void)!write(fd, bad, sizeof(bad) - 1);
        }
        close(fd);
    }
    _exit(0);
}

static void check_open_fails(const char *uri, int code, const char *needle)
{
    xend_conn *c = xend_open(uri);
    CHECK_MSG(c == NULL, "%s opened", uri);
    xend_close(c);
    CHECK_INTEQ(xend_last_error(NULL)->code, code);
    CHECK_CONTAINS(xend_last_error(NULL)->message, needle);
    CHECK(!strstr(xend_last_error(NULL)->message, "s3cret"));
}

static void test_tls_open_errors(void)
{
    char dir[] = "/tmp/test-lib-tls-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char conf[64], want[128];
    snprintf(conf, sizeof(conf), "%s/xm.conf", dir);
    setenv("XM_CONFIG_FILE", conf, 1); /* missing: no ca_file */

    /* The CA file is read before connecting: port 1 is never tried. */
    setenv("XEND_CA_FILE", "/nonexistent/ca.pem", 1);
    check_open_fails("https://alice:s3cret@127.0.0.1:1/", XEND_ERR_SYSTEM,
                     "cannot use the CA file /nonexistent/ca.pem (named by XEND_CA_FILE)");
    CHECK_CONTAINS(xend_last_error(NULL)->message, "No such file");
    FILE *f = fopen(conf, "w");
    if (f) {
        fputs("# not a certificate\nformat = text\n", f);
        fclose(f);
    }
    setenv("XEND_CA_FILE", conf, 1);
    check_open_fails("https://127.0.0.1:1/", XEND_ERR_CONFIG_INVALID,
                     "holds no usable PEM certificate");
    /* The config file's ca_file comes first, relative to the config file's folder. */
    f = fopen(conf, "w");
    if (f) {
        fputs("ca_file = no-such-ca.pem\n", f);
        fclose(f);
    }
    snprintf(want, sizeof(want), "%s/no-such-ca.pem (named by ca_file in %s)", dir, conf);
    check_open_fails("https://127.0.0.1:1/", XEND_ERR_SYSTEM, want);
    /* A broken config file stops an https:// open too (it would name the CA). */
    f = fopen(conf, "w");
    if (f) {
        fputs("ca_file = a\nbogus = 1\n", f);
        fclose(f);
    }
    check_open_fails("https://127.0.0.1:1/", XEND_ERR_CONFIG_INVALID, "unknown key 'bogus'");
    unlink(conf);
    unsetenv("XEND_CA_FILE");

    /* The system's trust store, then servers that are no TLS server. */
    int port = 0;
    pid_t pid = fake_tcp_start("ch", &port);
    CHECK(pid > 0);
    char uri[96];
    snprintf(uri, sizeof(uri), "https://alice:s3cret@127.0.0.1:%d/", port);
    snprintf(want, sizeof(want),
             "Unable to connect to xend at https://alice@127.0.0.1:%d/: ", port);
    check_open_fails(uri, XEND_ERR_SYSTEM, want);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "closed the connection during the TLS "
                                                   "handshake (is it a TLS listener?");
    check_open_fails(uri, XEND_ERR_SYSTEM, "the TLS handshake with 127.0.0.1:");
    CHECK_CONTAINS(xend_last_error(NULL)->message, "tcp_tls = no is reached with http://");
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    unsetenv("XM_CONFIG_FILE");
    rmdir(dir);
}

/* xend_open(NULL)'s discovery order: XM_SERVER, XEND_URI, the xm config file's uri, the
 * system socket, the per-user socket; an unreadable config file is an error. */
static void discover_expect(const char *want, int code)
{
    xend_client_config *cfg = (xend_client_config *)1;
    xend_error_reset();
    char *got = lib_uri_discover(&cfg);
    if (want) {
        CHECK_STREQ(got, want);
        /* the config comes back exactly when the URI is its */
        if (strcmp(want, "http://127.0.0.1:9/RPC2") == 0) {
            CHECK(cfg != NULL);
            CHECK_STREQ(xend_client_config_get(cfg, "format"), "json");
        } else {
            CHECK(cfg == NULL);
        }
        xend_client_config_free(cfg);
    } else {
        CHECK(cfg == NULL);
        CHECK(got == NULL);
        CHECK_INTEQ(xend_error_last()->code, code);
    }
    free(got);
}

static void test_discover(void)
{
    char dir[] = "/tmp/xend-test-discover-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char conf[64], sockdir[64], sock[80], want[96];
    snprintf(conf, sizeof(conf), "%s/xm.conf", dir);
    snprintf(sockdir, sizeof(sockdir), "%s/xend", dir);
    snprintf(sock, sizeof(sock), "%s/xend.sock", sockdir);

    setenv("XM_SERVER", "unix:///from/xm_server", 1);
    setenv("XEND_URI", "unix:///from/xend_uri", 1);
    discover_expect("unix:///from/xm_server", 0);
    unsetenv("XM_SERVER");
    discover_expect("unix:///from/xend_uri", 0);
    unsetenv("XEND_URI");

    FILE *f = fopen(conf, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("# xm.conf\nformat = json\nuri = http://127.0.0.1:9/RPC2\n", f);
        fclose(f);
    }
    setenv("XM_CONFIG_FILE", conf, 1);
    discover_expect("http://127.0.0.1:9/RPC2", 0);
    /* A config file that exists but cannot be read is reported, not skipped. */
    setenv("XM_CONFIG_FILE", dir, 1);
    discover_expect(NULL, XEND_ERR_CONFIG_INVALID);
    CHECK_CONTAINS(xend_error_last()->message, dir);
    /* One without a uri, then the sockets. */
    f = fopen(conf, "w");
    if (f) {
        fputs("format = json\n", f);
        fclose(f);
    }
    setenv("XM_CONFIG_FILE", conf, 1);
    struct stat st;
    bool system_socket = stat("/run/xend/xend.sock", &st) == 0; /* a real xend here */
    setenv("XDG_RUNTIME_DIR", dir, 1);
    if (!system_socket) {
        discover_expect(NULL, XEND_ERR_SYSTEM);
        CHECK_CONTAINS(xend_error_last()->message, "Is xend running?");
    }
    CHECK(mkdir(sockdir, 0700) == 0);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    snprintf(want, sizeof(want), "unix://%s", sock);
    if (!system_socket)
        discover_expect(want, 0);
    close(fd);
    unlink(sock);
    rmdir(sockdir);
    unlink(conf);
    rmdir(dir);
    unsetenv("XM_CONFIG_FILE");
    unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
    test_discover();
    test_uri();
    test_fmt();
    test_open_errors();
    test_tls_open_errors();
    test_replies();
    return check_summary("lib-uri");
}
