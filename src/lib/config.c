/*
 * The xm client configuration file (xend_client_config_*): which daemon xm and libxend talk
 * to, as whom, and how xm prints. Two formats are read:
 *   - xend's own `key = value` lines (util/keyfile.c, the one parser of that syntax, with
 *     this file's list of keys on top): uri, username, password_file, ca_file, format;
 *   - Xen 3.0.4's xm-config.xml, when the first non-blank character is '<':
 *     <xm><server type='Xen-API'|'LegacyXMLRPC' uri=.. username=.. password=../></xm>,
 *     read with Expat with DOCTYPEs and entity declarations refused.
 * Both are small: at most 64 KiB a file, 4 KiB a line, and every error names file:line.
 */
#include "lib_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIB_CONFIG_MAX_SIZE (64u << 10)
#define LIB_CONFIG_SYSTEM XEND_SYSCONFDIR "/xend/xm.conf"
/* password_file: only its first line is the password. */
#define LIB_PASSWORD_MAX (4u << 10)

typedef struct {
    char *key;
    char *value;
    unsigned line;
} lib_config_entry;

struct xend_client_config {
    char *path; /* the file read, NULL when there was none */
    lib_config_entry *e;
    size_t n, cap;
};

static const char *const lib_config_keys[] = {"uri", "username", "password_file", "ca_file",
                                              "format"};

static void lib_config_set(xend_client_config *cfg, const char *key, const char *value,
                           unsigned line)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->e[i].key, key) == 0) {
            free(cfg->e[i].value);
            cfg->e[i].value = xstrdup(value);
            cfg->e[i].line = line;
            return;
        }
    }
    cfg->e = xgrow(cfg->e, &cfg->cap, cfg->n + 1, sizeof(*cfg->e));
    cfg->e[cfg->n++] = (lib_config_entry){xstrdup(key), xstrdup(value), line};
}

void xend_client_config_free(xend_client_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->e[i].key);
        if (cfg->e[i].value) {
            /* a password may be among them */
            explicit_bzero(cfg->e[i].value, strlen(cfg->e[i].value));
            free(cfg->e[i].value);
        }
    }
    free(cfg->e);
    free(cfg->path);
    free(cfg);
}

const char *xend_client_config_get(const xend_client_config *cfg, const char *key)
{
    if (!cfg || !key)
        return NULL;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->e[i].key, key) == 0)
            return cfg->e[i].value;
    return NULL;
}

const char *xend_client_config_path(const xend_client_config *cfg)
{
    return cfg ? cfg->path : NULL;
}

/* ---- key = value ---- */

static int lib_config_parse_keys(xend_client_config *cfg, const char *path, const char *text,
                                 size_t len)
{
    keyfile kf;
    if (keyfile_parse(&kf, path, text, len) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < kf.n && rc == 0; i++) {
        const keyfile_entry *e = &kf.entries[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(lib_config_keys) / sizeof(lib_config_keys[0]); k++)
            known = known || strcmp(e->key, lib_config_keys[k]) == 0;
        if (!known) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s:%u: unknown key '%s' (known: uri, username, password_file, "
                              "ca_file, format)",
                              path, e->line, e->key);
            rc = -1;
        } else if (strcmp(e->key, "format") == 0 && strcmp(e->value, "text") != 0 &&
                   strcmp(e->value, "json") != 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s:%u: format must be 'text' or 'json', not '%s'", path, e->line,
                              e->value);
            rc = -1;
        } else {
            lib_config_set(cfg, e->key, e->value, e->line);
        }
    }
    keyfile_clear(&kf);
    return rc;
}

/* ---- xm-config.xml ---- */

typedef struct {
    XML_Parser parser;
    xend_client_config *cfg;
    const char *path;
    unsigned depth;
    bool server_seen;
    bool failed;
} lib_xml_ctx;

static void lib_xml_fail(lib_xml_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lib_xml_fail(lib_xml_ctx *x, const char *fmt, ...)
{
    if (x->failed)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%lu: %s", x->path,
                      (unsigned long)XML_GetCurrentLineNumber(x->parser), msg);
    x->failed = true;
    XML_StopParser(x->parser, XML_FALSE);
}

static void lib_xml_server(lib_xml_ctx *x, const XML_Char **attrs)
{
    unsigned line = (unsigned)XML_GetCurrentLineNumber(x->parser);
    const char *type = NULL;
    for (size_t i = 0; attrs[i]; i += 2) {
        const char *name = attrs[i], *value = attrs[i + 1];
        if (strcmp(name, "type") == 0)
            type = value;
        else if (strcmp(name, "uri") == 0 || strcmp(name, "username") == 0 ||
                 strcmp(name, "password") == 0)
            lib_config_set(x->cfg, name, value, line);
        else {
            lib_xml_fail(x,
                         "unknown attribute '%s' of <server> (known: type, uri, username, "
                         "password)",
                         name);
            return;
        }
    }
    if (!type || strcmp(type, "LegacyXMLRPC") == 0 || strcmp(type, "Xen-API") == 0) {
        lib_config_set(x->cfg, "server_type", type ? type : "LegacyXMLRPC", line);
        return;
    }
    /* Xen's xm said this and carried on; so do we, through the "warning" key. */
    char *warning = xasprintf("Invalid server type %s; using LegacyXMLRPC.", type);
    lib_config_set(x->cfg, "server_type", "LegacyXMLRPC", line);
    lib_config_set(x->cfg, "warning", warning, line);
    free(warning);
}

static void XMLCALL lib_xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    lib_xml_ctx *x = ud;
    unsigned depth = x->depth++;
    if (x->failed)
        return;
    if (depth == 0) {
        if (strcmp(name, "xm") != 0)
            lib_xml_fail(x, "the root element must be <xm>, not <%s>", name);
        else if (attrs[0])
            lib_xml_fail(x, "unknown attribute '%s' of <xm>", attrs[0]);
    } else if (depth == 1 && strcmp(name, "server") == 0) {
        if (x->server_seen)
            lib_xml_fail(x, "a second <%s> element (xm talks to one server)", name);
        x->server_seen = true;
        lib_xml_server(x, attrs);
    } else {
        lib_xml_fail(x, "unexpected element <%s> (xm-config.xml holds <xm><server .../></xm>)",
                     name);
    }
}

static void XMLCALL lib_xml_end(void *ud, const XML_Char *name)
{
    (void)name;
    ((lib_xml_ctx *)ud)->depth--;
}

static void XMLCALL lib_xml_text(void *ud, const XML_Char *s, int len)
{
    lib_xml_ctx *x = ud;
    for (int i = 0; i < len; i++) {
        if (!isspace((unsigned char)s[i])) {
            lib_xml_fail(x, "unexpected text (xm-config.xml holds only elements)");
            return;
        }
    }
}

static void XMLCALL lib_xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                    const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    lib_xml_fail(ud, "DOCTYPE declarations are not allowed");
}

static void XMLCALL lib_xml_entity(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    lib_xml_fail(ud, "entity declarations are not allowed");
}

static int lib_config_parse_xml(xend_client_config *cfg, const char *path, const char *text,
                                size_t len)
{
    lib_xml_ctx x = {.cfg = cfg, .path = path};
    x.parser = XML_ParserCreate(NULL);
    if (!x.parser) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot read %s: out of memory for the XML parser",
                          path);
        return -1;
    }
    XML_SetUserData(x.parser, &x);
    XML_SetElementHandler(x.parser, lib_xml_start, lib_xml_end);
    XML_SetCharacterDataHandler(x.parser, lib_xml_text);
    XML_SetStartDoctypeDeclHandler(x.parser, lib_xml_doctype);
    XML_SetEntityDeclHandler(x.parser, lib_xml_entity);
    XML_SetParamEntityParsing(x.parser, XML_PARAM_ENTITY_PARSING_NEVER);
    if (XML_Parse(x.parser, text, (int)len, XML_TRUE) == XML_STATUS_ERROR && !x.failed) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s:%lu: %s", path,
                          (unsigned long)XML_GetCurrentLineNumber(x.parser),
                          XML_ErrorString(XML_GetErrorCode(x.parser)));
        x.failed = true;
    }
    XML_ParserFree(x.parser);
    return x.failed ? -1 : 0;
}

/* ---- loading ---- */

/* A file of the default search that this user cannot even look at (a HOME left pointing
 * at another user's, a 0700 system directory) is not this user's config: skip it, as if
 * absent. A named file ($XM_CONFIG_FILE, or the caller's) that cannot be read is an error. */
static bool lib_config_hidden(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == EACCES || errno == ENOENT || errno == ENOTDIR;
    return access(path, R_OK) < 0 && errno == EACCES;
}

/* Where the config file is when the caller names none (malloc'd; it may not exist).
 * *searched is set when the path comes from the default search rather than the user. */
static char *lib_config_default_path(bool *searched)
{
    const char *env = getenv("XM_CONFIG_FILE");
    *searched = false;
    if (env && *env)
        return xstrdup(env);
    *searched = true;
    const char *home = getenv("HOME");
    if (home && *home) {
        char *path = xasprintf("%s/.config/xm/xm.conf", home);
        if (!lib_config_hidden(path))
            return path;
        free(path);
    }
    return xstrdup(LIB_CONFIG_SYSTEM);
}

xend_client_config *xend_client_config_load(const char *path)
{
    xend_client_config *cfg = xcalloc(1, sizeof(*cfg));
    bool searched = false;
    char *p = path ? xstrdup(path) : lib_config_default_path(&searched);
    struct stat st;

    xend_error_reset();
    int st_rc = stat(p, &st);
    if ((st_rc < 0 && (errno == ENOENT || errno == ENOTDIR)) ||
        (searched && lib_config_hidden(p))) {
        free(p);
        return cfg;
    }
    cfg->path = p;
    /* Checked before reading, so that the messages are about a config file (a stat error
     * such as EACCES is left to the read, which reports it). */
    if (st_rc == 0 && !S_ISREG(st.st_mode)) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "xm config file %s is not a regular file", p);
        goto fail;
    }
    if (st_rc == 0 && (unsigned long long)st.st_size > LIB_CONFIG_MAX_SIZE) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "xm config file %s is larger than %u bytes", p,
                          LIB_CONFIG_MAX_SIZE);
        goto fail;
    }
    size_t len;
    char *text = xend_file_read(p, LIB_CONFIG_MAX_SIZE, &len);
    if (!text)
        goto fail;
    const char *first = text;
    while (first < text + len && isspace((unsigned char)*first))
        first++;
    int rc = first < text + len && *first == '<' ? lib_config_parse_xml(cfg, p, text, len)
                                                 : lib_config_parse_keys(cfg, p, text, len);
    explicit_bzero(text, len);
    free(text);
    if (rc < 0)
        goto fail;
    return cfg;
fail:
    lib_conn_fail(NULL);
    xend_client_config_free(cfg);
    return NULL;
}

/* A file the config names: a relative path is taken from the config file's folder, so
 * that a config works wherever xm runs. malloc'd. */
static char *lib_config_file_path(const xend_client_config *cfg, const char *file)
{
    const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
    if (file[0] != '/' && slash)
        return xasprintf("%.*s/%s", (int)(slash - cfg->path), cfg->path, file);
    return xstrdup(file);
}

char *lib_client_config_ca_file(const xend_client_config *cfg)
{
    const char *file = xend_client_config_get(cfg, "ca_file");
    return file && *file ? lib_config_file_path(cfg, file) : NULL;
}

/* The first line of a password file. */
static char *lib_password_file_read(const xend_client_config *cfg, const char *file)
{
    char *path = lib_config_file_path(cfg, file);
    size_t len;
    char *text = xend_file_read(path, LIB_PASSWORD_MAX, &len);
    if (!text) {
        char msg[sizeof(((xend_error *)0)->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(xend_error_last()->code, "password_file of %s: %s", cfg->path, msg);
        free(path);
        return NULL;
    }
    free(path);
    text[strcspn(text, "\r\n")] = '\0';
    char *pw = xstrdup(text);
    explicit_bzero(text, len);
    free(text);
    return pw;
}

int lib_client_config_credentials(const xend_client_config *cfg, char **user, char **password)
{
    *user = *password = NULL;
    const char *u = xend_client_config_get(cfg, "username");
    if (!u || !*u)
        return 0;
    const char *pw = xend_client_config_get(cfg, "password");
    const char *file = xend_client_config_get(cfg, "password_file");
    if (file && *file) {
        *password = lib_password_file_read(cfg, file);
        if (!*password)
            return -1;
    } else {
        *password = xstrdup(pw ? pw : "");
    }
    *user = xstrdup(u);
    return 0;
}
