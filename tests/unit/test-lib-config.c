/*
 * Unit test of the xm client configuration (xend_client_config_*): both formats (xend's
 * `key = value` lines and Xen 3.0.4's xm-config.xml), errors naming file:line, the bounds,
 * the search order of path NULL, the credentials a file gives (password_file) and the CA
 * file it names for https:// (ca_file).
 */
#include "check.h"

#include "lib/lib_priv.h"
#include "util/error.h"
#include "xend/xend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test-lib-config-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
    return p;
}

static const char *write_file(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Load text as a config file and expect failure with code and a message holding needle. */
static void check_bad(const char *text, int code, const char *needle)
{
    const char *path = write_file("bad.conf", text);
    xend_client_config *cfg = xend_client_config_load(path);
    CHECK_MSG(cfg == NULL, "accepted: %s", text);
    xend_client_config_free(cfg);
    CHECK_INTEQ(xend_last_error(NULL)->code, code);
    CHECK_CONTAINS(xend_last_error(NULL)->message, needle);
    CHECK_CONTAINS(xend_last_error(NULL)->message, path);
}

static void test_keys(void)
{
    const char *path = write_file("xm.conf", "# the xm client\n"
                                             "\n"
                                             "uri = http://127.0.0.1:8006/   # comment\n"
                                             "username = alice\n"
                                             "password_file = \"pw file\"\n"
                                             "format=json\n");
    xend_client_config *cfg = xend_client_config_load(path);
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_path(cfg), path);
    CHECK_STREQ(xend_client_config_get(cfg, "uri"), "http://127.0.0.1:8006/");
    CHECK_STREQ(xend_client_config_get(cfg, "username"), "alice");
    CHECK_STREQ(xend_client_config_get(cfg, "password_file"), "pw file");
    CHECK_STREQ(xend_client_config_get(cfg, "format"), "json");
    CHECK(xend_client_config_get(cfg, "password") == NULL);
    CHECK(xend_client_config_get(cfg, NULL) == NULL);
    CHECK(xend_client_config_get(NULL, "uri") == NULL);
    CHECK(xend_client_config_path(NULL) == NULL);

    /* The credentials: the first line of the password file, relative to the config. */
    char *user = NULL, *pw = NULL;
    CHECK_INTEQ(lib_client_config_credentials(cfg, &user, &pw), -1);
    CHECK(user == NULL && pw == NULL);
    CHECK_CONTAINS(xend_error_last()->message, "password_file of");
    CHECK_CONTAINS(xend_error_last()->message, "pw file");
    write_file("pw file", "s3cr3t\r\nsecond line\n");
    CHECK_INTEQ(lib_client_config_credentials(cfg, &user, &pw), 0);
    CHECK_STREQ(user, "alice");
    CHECK_STREQ(pw, "s3cr3t");
    free(user);
    free(pw);
    xend_client_config_free(cfg);
    xend_client_config_free(NULL);

    /* An empty file, and one with format = text only. */
    cfg = xend_client_config_load(write_file("empty.conf", ""));
    CHECK(cfg != NULL && xend_client_config_get(cfg, "uri") == NULL);
    CHECK_INTEQ(lib_client_config_credentials(cfg, &user, &pw), 0);
    CHECK(user == NULL && pw == NULL);
    xend_client_config_free(cfg);
    cfg = xend_client_config_load(write_file("text.conf", "format = text\n"));
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_get(cfg, "format"), "text");
    xend_client_config_free(cfg);
}

/* ca_file: relative to the config file's folder like password_file; empty means unset. */
static void test_ca_file(void)
{
    const char *path = write_file("tls.conf", "uri = https://h:8006/\nca_file = certs/ca.pem\n");
    xend_client_config *cfg = xend_client_config_load(path);
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_get(cfg, "ca_file"), "certs/ca.pem");
    char *ca = lib_client_config_ca_file(cfg);
    char want[300];
    snprintf(want, sizeof(want), "%s/certs/ca.pem", tmpdir);
    CHECK_STREQ(ca, want);
    free(ca);
    xend_client_config_free(cfg);

    cfg = xend_client_config_load(write_file("tls.conf", "ca_file = \"/etc/ssl/x ca.pem\"\n"));
    CHECK(cfg != NULL);
    ca = lib_client_config_ca_file(cfg);
    CHECK_STREQ(ca, "/etc/ssl/x ca.pem");
    free(ca);
    xend_client_config_free(cfg);

    cfg = xend_client_config_load(write_file("tls.conf", "ca_file =\n"));
    CHECK(cfg != NULL);
    CHECK(lib_client_config_ca_file(cfg) == NULL);
    xend_client_config_free(cfg);
    cfg = xend_client_config_load(write_file("tls.conf", "uri = unix:///x\n"));
    CHECK(cfg != NULL);
    CHECK(lib_client_config_ca_file(cfg) == NULL);
    xend_client_config_free(cfg);
    /* No file at all: a relative name stays relative (to the working directory). */
    cfg = xend_client_config_load(tmp_path("missing.conf"));
    CHECK(cfg != NULL);
    CHECK(lib_client_config_ca_file(cfg) == NULL);
    xend_client_config_free(cfg);

    check_bad("ca_file = a\nca_file = b\n", XEND_ERR_CONFIG_INVALID,
              ":2: 'ca_file' is already set on line 1");
    /* Xen's xm-config.xml has no such attribute: still refused there. */
    check_bad("<xm><server uri='https://h/' ca_file='ca.pem'/></xm>", XEND_ERR_CONFIG_INVALID,
              "unknown attribute 'ca_file'");
}

static void test_keys_errors(void)
{
    check_bad("uri = unix:///x\nfoo = bar\n", XEND_ERR_CONFIG_INVALID, ":2: unknown key 'foo'");
    check_bad("foo = bar\n", XEND_ERR_CONFIG_INVALID,
              "(known: uri, username, password_file, ca_file, format)");
    check_bad("# ok\n\nthis is not a setting\n", XEND_ERR_CONFIG_INVALID,
              ":3: expected 'key = value'");
    check_bad("format = yaml\n", XEND_ERR_CONFIG_INVALID, ":1: format must be 'text' or 'json'");
    check_bad("uri = a\nuri = b\n", XEND_ERR_CONFIG_INVALID, ":2: 'uri' is already set on line 1");
    check_bad("username = \"alice\n", XEND_ERR_CONFIG_INVALID, ":1: unterminated quoted value");
    /* password is an xm-config.xml attribute; the key file names a file instead */
    check_bad("password = x\n", XEND_ERR_CONFIG_INVALID, ":1: unknown key 'password'");

    /* Bounds: a line of 4 KiB is fine, one more byte is not; 64 KiB a file. */
    size_t n = 4096;
    char *line = malloc(70000);
    memcpy(line, "uri = ", 6);
    memset(line + 6, 'a', n - 6);
    strcpy(line + n, "\n");
    xend_client_config *cfg = xend_client_config_load(write_file("long.conf", line));
    CHECK(cfg != NULL);
    xend_client_config_free(cfg);
    char *two = malloc(8200);
    snprintf(two, 8200, "format = text\n%.*sa\n", (int)n, line);
    check_bad(two, XEND_ERR_CONFIG_INVALID, ":2: line longer than 4096 bytes");
    free(two);
    for (size_t i = 0; i < 65536; i += 64) { /* 1,024 comment lines of 64 bytes */
        memset(line + i, '#', 63);
        line[i + 63] = '\n';
    }
    line[65536] = '\0';
    cfg = xend_client_config_load(write_file("big.conf", line));
    CHECK(cfg != NULL); /* exactly 64 KiB */
    xend_client_config_free(cfg);
    strcpy(line + 65536, "#");
    check_bad(line, XEND_ERR_CONFIG_INVALID, "larger than 65536 bytes");
    free(line);

    /* Not a regular file, and a missing one (not an error: an empty config). */
    CHECK(xend_client_config_load(tmpdir) == NULL);
    CHECK_INTEQ(xend_last_error(NULL)->code, XEND_ERR_CONFIG_INVALID);
    CHECK_CONTAINS(xend_last_error(NULL)->message, "not a regular file");
    cfg = xend_client_config_load(tmp_path("missing.conf"));
    CHECK(cfg != NULL);
    CHECK(xend_client_config_path(cfg) == NULL);
    CHECK(xend_client_config_get(cfg, "uri") == NULL);
    xend_client_config_free(cfg);
}

static void test_xml(void)
{
    xend_client_config *cfg = xend_client_config_load(
        write_file("xm-config.xml", "<?xml version='1.0'?>\n"
                                    "<!-- Xen 3.0.4's sample -->\n"
                                    "<xm>\n"
                                    "  <server type='Xen-API'\n"
                                    "          uri='http://localhost:9363/'\n"
                                    "          username='me'\n"
                                    "          password='my&amp;password' />\n"
                                    "</xm>\n"));
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_get(cfg, "uri"), "http://localhost:9363/");
    CHECK_STREQ(xend_client_config_get(cfg, "username"), "me");
    CHECK_STREQ(xend_client_config_get(cfg, "password"), "my&password");
    CHECK_STREQ(xend_client_config_get(cfg, "server_type"), "Xen-API");
    CHECK(xend_client_config_get(cfg, "warning") == NULL);
    char *user = NULL, *pw = NULL;
    CHECK_INTEQ(lib_client_config_credentials(cfg, &user, &pw), 0);
    CHECK_STREQ(user, "me");
    CHECK_STREQ(pw, "my&password");
    free(user);
    free(pw);
    xend_client_config_free(cfg);

    /* No type: LegacyXMLRPC. A bad one: the same, with Xend's warning. */
    cfg = xend_client_config_load(
        write_file("legacy.xml", "<xm><server uri='httpu:///var/run/xend/xmlrpc.sock'/></xm>"));
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_get(cfg, "server_type"), "LegacyXMLRPC");
    CHECK_STREQ(xend_client_config_get(cfg, "uri"), "httpu:///var/run/xend/xmlrpc.sock");
    xend_client_config_free(cfg);
    cfg = xend_client_config_load(write_file("badtype.xml", "<xm><server type='SOAP'/></xm>\n"));
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_get(cfg, "server_type"), "LegacyXMLRPC");
    CHECK_STREQ(xend_client_config_get(cfg, "warning"),
                "Invalid server type SOAP; using LegacyXMLRPC.");
    xend_client_config_free(cfg);
    /* <xm/> alone: nothing configured. */
    cfg = xend_client_config_load(write_file("bare.xml", " \n\t<xm/>\n"));
    CHECK(cfg != NULL && xend_client_config_get(cfg, "uri") == NULL);
    xend_client_config_free(cfg);

    check_bad("<xm>\n<server uri='a'/>\n<server uri='b'/>\n</xm>\n", XEND_ERR_CONFIG_INVALID,
              ":3: a second <server> element");
    check_bad("<config/>", XEND_ERR_CONFIG_INVALID, ":1: the root element must be <xm>");
    check_bad("<xm>\n <server colour='red'/></xm>", XEND_ERR_CONFIG_INVALID,
              ":2: unknown attribute 'colour'");
    check_bad("<xm>\n\n <other/></xm>", XEND_ERR_CONFIG_INVALID, ":3: unexpected element <other>");
    check_bad("<xm>\n<server uri='a'>\n<x/></server></xm>", XEND_ERR_CONFIG_INVALID,
              ":3: unexpected element <x>");
    check_bad("<xm>text</xm>", XEND_ERR_CONFIG_INVALID, ":1: unexpected text");
    check_bad("<xm>\n<server uri='a'\n", XEND_ERR_CONFIG_INVALID, ":2: unclosed token");
    check_bad("<xm>\n</server>", XEND_ERR_CONFIG_INVALID, ":2: mismatched tag");
    check_bad("<xm>\n<server uri='&undefined;'/></xm>", XEND_ERR_CONFIG_INVALID, ":2:");
    check_bad("<?xml version='1.0'?>\n<!DOCTYPE xm [<!ENTITY a 'aaaa'>]>\n<xm/>",
              XEND_ERR_CONFIG_INVALID, ":2: DOCTYPE declarations are not allowed");
    check_bad("<!DOCTYPE xm SYSTEM 'http://example.org/x.dtd'><xm/>", XEND_ERR_CONFIG_INVALID,
              "DOCTYPE");
}

static void test_search(void)
{
    char home[256];
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    CHECK(mkdir(home, 0700) == 0);
    setenv("HOME", home, 1);
    unsetenv("XM_CONFIG_FILE");

    /* $XM_CONFIG_FILE first, even when it does not exist (an empty config then). */
    const char *env = write_file("env.conf", "uri = unix:///from/env\n");
    setenv("XM_CONFIG_FILE", env, 1);
    xend_client_config *cfg = xend_client_config_load(NULL);
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_path(cfg), env);
    CHECK_STREQ(xend_client_config_get(cfg, "uri"), "unix:///from/env");
    xend_client_config_free(cfg);
    setenv("XM_CONFIG_FILE", tmp_path("nothing-here.conf"), 1);
    cfg = xend_client_config_load(NULL);
    CHECK(cfg != NULL && xend_client_config_path(cfg) == NULL);
    xend_client_config_free(cfg);
    unsetenv("XM_CONFIG_FILE");

    /* Then ~/.config/xm/xm.conf. */
    char dir[300], user_conf[320];
    snprintf(dir, sizeof(dir), "%s/.config", home);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(dir, sizeof(dir), "%s/.config/xm", home);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(user_conf, sizeof(user_conf), "%s/xm.conf", dir);
    FILE *f = fopen(user_conf, "w");
    if (f) {
        fputs("uri = unix:///from/home\n", f);
        fclose(f);
    }
    cfg = xend_client_config_load(NULL);
    CHECK(cfg != NULL);
    CHECK_STREQ(xend_client_config_path(cfg), user_conf);
    CHECK_STREQ(xend_client_config_get(cfg, "uri"), "unix:///from/home");
    xend_client_config_free(cfg);
    unlink(user_conf);
    rmdir(dir);
    snprintf(dir, sizeof(dir), "%s/.config", home);
    rmdir(dir);

    /* Then the system file, which may or may not exist here: either way no error. */
    cfg = xend_client_config_load(NULL);
    CHECK(cfg != NULL || xend_last_error(NULL)->code == XEND_ERR_CONFIG_INVALID);
    if (cfg && xend_client_config_path(cfg))
        CHECK_CONTAINS(xend_client_config_path(cfg), "/xend/xm.conf");
    xend_client_config_free(cfg);
    rmdir(home);
}

int main(void)
{
    CHECK(mkdtemp(tmpdir) != NULL);
    test_keys();
    test_keys_errors();
    test_ca_file();
    test_xml();
    test_search();
    const char *names[] = {"xm.conf",   "pw file",  "empty.conf",    "text.conf",  "bad.conf",
                           "long.conf", "big.conf", "xm-config.xml", "legacy.xml", "badtype.xml",
                           "bare.xml",  "env.conf", "tls.conf"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(tmp_path(names[i]));
    CHECK(rmdir(tmpdir) == 0);
    return check_summary("lib-config");
}
