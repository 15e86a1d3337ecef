/*
 * xend.conf: turns `key = value` lines (util/keyfile) into a daemon_config, checking each
 * value strictly (whole decimal or octal numbers within documented ranges, yes/no booleans,
 * absolute paths, a known group, a loopback TCP address) so that a typo is a startup error
 * naming the file, line and key instead of a daemon running with a surprising setting.
 */
#include "daemon_config.h"

#include "config.h"

#include "pam_auth.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/keyfile.h"

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Ranges of the numeric keys. The minimums keep the daemon usable (a 1-byte body limit
 * would refuse every call); the maximums keep sizes far from overflow and from what one
 * process can sensibly hold. max_depth stops at what the encoder can write back. */
#define CFG_MAX_SIZE (1ull << 30)

typedef struct {
    const char *key;
    uint64_t min, max;
} config_range;

static const config_range config_ranges[] = {
    {"max_body", 4096, CFG_MAX_SIZE}, {"max_depth", 1, XMLRPC_ENCODE_MAX_DEPTH},
    {"max_elements", 16, 100000000},  {"max_string", 256, CFG_MAX_SIZE},
    {"max_header", 1024, 1u << 20},   {"max_connections", 1, 65536},
    {"idle_timeout", 1, 86400},       {"workers", 1, 256},
    {"tcp_port", 0, 65535},           {"job_wait_ms", 0, 600000},
    {"event_ring", 16, 1000000},      {"job_workers", 1, 256},
    {"priority_workers", 1, 64},      {"auth_max_failures", 1, 1000000},
    {"auth_fail_window", 1, 86400},   {"max_unauth_connections", 1, 65536},
    {"max_client_requests", 1, 65536}, {"request_timeout", 1, 86400},
};

static void config_set_string(char **slot, const char *value)
{
    free(*slot);
    *slot = xstrdup(value);
}

static void config_sync(daemon_config *cfg)
{
    if (!cfg->socket_ro_set) {
        /* Next to the read-write socket, wherever that is. */
        const char *slash = strrchr(cfg->socket, '/');
        free(cfg->socket_ro);
        cfg->socket_ro = xasprintf("%.*s/xend-ro.sock", slash ? (int)(slash - cfg->socket) : 0,
                                   cfg->socket);
    }
    cfg->server.socket_path = cfg->socket;
    cfg->server.socket_ro_path = cfg->socket_ro[0] ? cfg->socket_ro : NULL;
    cfg->server.tcp_address = cfg->tcp_address;
    cfg->server.tls_cert = cfg->tls_cert;
    cfg->server.tls_key = cfg->tls_key;
    cfg->server.tls_priorities = cfg->tls_priorities;
    cfg->server.passwd_file = cfg->passwd_file;
    cfg->server.pam_service = cfg->pam_service;
    cfg->server.pam_confdir = cfg->pam_confdir;
    cfg->server.allowed_origins = cfg->allowed_origins;
}

void daemon_config_init(daemon_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    server_config_default(&cfg->server);
    cfg->socket = xstrdup(XEND_RUNSTATEDIR "/xend/xend.sock");
    cfg->socket_group = xstrdup("");
    cfg->tcp_address = xstrdup("127.0.0.1");
    cfg->socket_ro = xstrdup("");
    cfg->tls_cert = xstrdup(cfg->server.tls_cert);
    cfg->tls_key = xstrdup(cfg->server.tls_key);
    cfg->tls_priorities = xstrdup(cfg->server.tls_priorities);
    cfg->passwd_file = xstrdup(cfg->server.passwd_file);
    cfg->pam_service = xstrdup(cfg->server.pam_service);
    cfg->pam_confdir = xstrdup(cfg->server.pam_confdir);
    cfg->allowed_origins = xstrdup("");
    cfg->pid_file = xstrdup(XEND_RUNSTATEDIR "/xend/xend.pid");
    cfg->log_output = xstrdup("stderr");
    cfg->log_level = XEND_LOG_INFO;
    cfg->config_dir = xstrdup(XEND_SYSCONFDIR "/xend/domains");
    cfg->save_dir = xstrdup(XEND_LOCALSTATEDIR "/lib/xend/save");
    cfg->run_dir = xstrdup(XEND_RUNSTATEDIR "/xend");
    cfg->driver = xstrdup("test");
    cfg->host_config = xstrdup("");
    cfg->job_wait_ms = 30000;
    cfg->event_ring = 4096;
    cfg->autostart = true;
    config_sync(cfg);
}

int daemon_config_apply_root(daemon_config *cfg, const char *root)
{
    if (root[0] != '/') {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "--root: '%s' is not an absolute path", root);
        return -1;
    }
    struct {
        unsigned bit;
        char **slot;
        const char *rel;
    } paths[] = {
        {DAEMON_PATH_SOCKET, &cfg->socket, "run/xend/xend.sock"},
        {DAEMON_PATH_PID, &cfg->pid_file, "run/xend/xend.pid"},
        {DAEMON_PATH_CONFIG_DIR, &cfg->config_dir, "etc/xend/domains"},
        {DAEMON_PATH_SAVE_DIR, &cfg->save_dir, "var/lib/xend/save"},
        {DAEMON_PATH_RUN_DIR, &cfg->run_dir, "run/xend"},
    };
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (cfg->explicit_paths & paths[i].bit)
            continue;
        free(*paths[i].slot);
        *paths[i].slot = xasprintf("%.*s/%s", (int)rl, root, paths[i].rel);
    }
    if (strlen(cfg->socket) > sizeof(((struct sockaddr_un *)0)->sun_path) - 1) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "--root: the socket path '%s' is longer than a Unix socket address "
                          "allows; use a shorter root or set 'socket'",
                          cfg->socket);
        return -1;
    }
    config_sync(cfg);
    return 0;
}

void daemon_config_clear(daemon_config *cfg)
{
    free(cfg->socket);
    free(cfg->socket_group);
    free(cfg->tcp_address);
    free(cfg->socket_ro);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_priorities);
    free(cfg->passwd_file);
    free(cfg->pam_service);
    free(cfg->pam_confdir);
    free(cfg->allowed_origins);
    free(cfg->pid_file);
    free(cfg->log_output);
    free(cfg->config_dir);
    free(cfg->save_dir);
    free(cfg->run_dir);
    free(cfg->driver);
    free(cfg->host_config);
    memset(cfg, 0, sizeof(*cfg));
}

/* Whole-string unsigned number in base 10 or 8; false on sign, space, junk or overflow. */
static bool config_parse_number(const char *s, unsigned base, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*s < '0' || d >= base)
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static int config_number(const char *key, const char *value, const char *where, uint64_t *out)
{
    for (size_t i = 0; i < sizeof(config_ranges) / sizeof(config_ranges[0]); i++) {
        const config_range *r = &config_ranges[i];
        if (strcmp(r->key, key) != 0)
            continue;
        if (!config_parse_number(value, 10, out) || *out < r->min || *out > r->max) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: %s: invalid value '%s': expected a whole number from "
                              "%llu to %llu",
                              where, key, value, (unsigned long long)r->min,
                              (unsigned long long)r->max);
            return -1;
        }
        return 0;
    }
    xend_error_report(XEND_ERR_INTERNAL, "%s: %s: no range defined", where, key);
    return -1;
}

static int config_bool(const char *key, const char *value, const char *where, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    xend_error_report(XEND_ERR_CONFIG_INVALID,
                      "%s: %s: invalid value '%s': expected yes or no (true/false, 1/0)", where,
                      key, value);
    return -1;
}

/* The daemon may chdir("/") when it detaches, so relative paths would change meaning. */
static int config_abs_path(const char *key, const char *value, const char *where, size_t max_len)
{
    if (value[0] != '/') {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: %s: '%s' is not an absolute path", where,
                          key, value);
        return -1;
    }
    if (max_len && strlen(value) > max_len) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "%s: %s: the path is longer than %zu bytes (the limit of a Unix "
                          "socket address)",
                          where, key, max_len);
        return -1;
    }
    return 0;
}

static int config_group(const char *value, const char *where, gid_t *gid)
{
    uint64_t n;
    if (value[0] == '\0') {
        *gid = (gid_t)-1;
        return 0;
    }
    if (config_parse_number(value, 10, &n)) {
        if (n >= (gid_t)-1) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: socket_group: group id %s is out of range", where, value);
            return -1;
        }
        *gid = (gid_t)n;
        return 0;
    }
    struct group gr, *found = NULL;
    char buf[4096];
    int err = getgrnam_r(value, &gr, buf, sizeof(buf), &found);
    if (err || !found) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: socket_group: unknown group '%s'", where,
                          value);
        return -1;
    }
    *gid = found->gr_gid;
    return 0;
}

/* The plain unsigned settings of the server added with the security keys: where key lives
 * in s, or NULL when key is not one of them. (Ranges are in config_ranges.) */
static unsigned *config_server_unsigned(server_config *s, const char *key)
{
    struct {
        const char *key;
        unsigned *slot;
    } keys[] = {
        {"auth_max_failures", &s->auth_max_failures},
        {"auth_fail_window", &s->auth_fail_window},
        {"max_unauth_connections", &s->max_unauth_connections},
        {"max_client_requests", &s->max_client_requests},
        {"request_timeout", &s->request_timeout},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].key, key) == 0)
            return keys[i].slot;
    return NULL;
}

int daemon_config_set(daemon_config *cfg, const char *key, const char *value, const char *where)
{
    server_config *s = &cfg->server;
    uint64_t n;
    if (strcmp(key, "socket") == 0) {
        if (config_abs_path(key, value, where, sizeof(((struct sockaddr_un *)0)->sun_path) - 1) < 0)
            return -1;
        config_set_string(&cfg->socket, value);
        cfg->explicit_paths |= DAEMON_PATH_SOCKET;
    } else if (strcmp(key, "socket_ro") == 0) {
        if (value[0] &&
            config_abs_path(key, value, where, sizeof(((struct sockaddr_un *)0)->sun_path) - 1) < 0)
            return -1;
        config_set_string(&cfg->socket_ro, value);
        cfg->socket_ro_set = true;
    } else if (strcmp(key, "socket_mode") == 0 || strcmp(key, "socket_ro_mode") == 0) {
        if (!config_parse_number(value, 8, &n) || n > 0777) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: %s: invalid value '%s': expected octal "
                              "permissions such as 0600 or 0660",
                              where, key, value);
            return -1;
        }
        *(strcmp(key, "socket_mode") == 0 ? &s->socket_mode : &s->socket_ro_mode) = (mode_t)n;
    } else if (strcmp(key, "tcp_tls") == 0) {
        if (config_bool(key, value, where, &s->tcp_tls) < 0)
            return -1;
    } else if (strcmp(key, "tcp_insecure") == 0) {
        if (config_bool(key, value, where, &s->tcp_insecure) < 0)
            return -1;
    } else if (strcmp(key, "tcp_auth") == 0) {
        if (strcmp(value, "basic") != 0 && strcmp(value, "none") != 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: tcp_auth: invalid value '%s': expected basic or none", where,
                              value);
            return -1;
        }
        s->tcp_auth = strcmp(value, "basic") == 0;
    } else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0 ||
               strcmp(key, "passwd_file") == 0) {
        if (config_abs_path(key, value, where, 0) < 0)
            return -1;
        config_set_string(key[0] == 'p'     ? &cfg->passwd_file
                          : key[4] == 'c' ? &cfg->tls_cert
                                          : &cfg->tls_key,
                          value);
    } else if (strcmp(key, "pam_service") == 0) {
        if (!pam_auth_service_valid(value)) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: pam_service: invalid value '%s': expected a PAM service name "
                              "(1 to %d of A-Z a-z 0-9 . _ -, not starting with '.')",
                              where, value, PAM_AUTH_MAX_SERVICE);
            return -1;
        }
        config_set_string(&cfg->pam_service, value);
    } else if (strcmp(key, "pam_confdir") == 0) {
        if (value[0] && config_abs_path(key, value, where, 0) < 0)
            return -1;
        config_set_string(&cfg->pam_confdir, value);
    } else if (strcmp(key, "tls_priorities") == 0) {
        config_set_string(&cfg->tls_priorities, value);
    } else if (strcmp(key, "allowed_origins") == 0) {
        config_set_string(&cfg->allowed_origins, value);
    } else if (config_server_unsigned(s, key)) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        *config_server_unsigned(s, key) = (unsigned)n;
    } else if (strcmp(key, "socket_group") == 0) {
        if (config_group(value, where, &s->socket_gid) < 0)
            return -1;
        config_set_string(&cfg->socket_group, value);
    } else if (strcmp(key, "tcp_listen") == 0) {
        if (config_bool(key, value, where, &s->tcp_listen) < 0)
            return -1;
    } else if (strcmp(key, "tcp_address") == 0) {
        bool loopback;
        if (server_tcp_address_check(value, &loopback) < 0) {
            /* Prefix the server's reason with the location. */
            char msg[sizeof(xend_error_last()->message)];
            snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
            xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: tcp_address: %s", where, msg);
            return -1;
        }
        config_set_string(&cfg->tcp_address, value);
    } else if (strcmp(key, "tcp_port") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->tcp_port = (unsigned)n;
    } else if (strcmp(key, "pid_file") == 0) {
        if (value[0] && config_abs_path(key, value, where, 0) < 0)
            return -1;
        config_set_string(&cfg->pid_file, value);
        cfg->explicit_paths |= DAEMON_PATH_PID;
    } else if (strcmp(key, "log_level") == 0) {
        int level = xend_log_level_parse(value);
        if (level < 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: log_level: invalid value '%s': expected error, warn, info "
                              "or debug",
                              where, value);
            return -1;
        }
        cfg->log_level = (xend_log_level)level;
    } else if (strcmp(key, "log_output") == 0) {
        if (strcmp(value, "stderr") != 0 && strcmp(value, "syslog") != 0 &&
            !(strncmp(value, "file:", 5) == 0 && value[5] == '/')) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: log_output: invalid value '%s': expected stderr, syslog "
                              "or file:/absolute/path",
                              where, value);
            return -1;
        }
        config_set_string(&cfg->log_output, value);
    } else if (strcmp(key, "max_body") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->limits.max_body = (size_t)n;
    } else if (strcmp(key, "max_depth") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->limits.max_depth = (unsigned)n;
    } else if (strcmp(key, "max_elements") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->limits.max_elements = (size_t)n;
    } else if (strcmp(key, "max_string") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->limits.max_string = (size_t)n;
    } else if (strcmp(key, "max_header") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->max_header = (size_t)n;
    } else if (strcmp(key, "max_connections") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->max_connections = (unsigned)n;
    } else if (strcmp(key, "idle_timeout") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->idle_timeout = (unsigned)n;
    } else if (strcmp(key, "priority_workers") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->priority_workers = (unsigned)n;
    } else if (strcmp(key, "job_workers") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->job_workers = (unsigned)n;
    } else if (strcmp(key, "workers") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        s->workers = (unsigned)n;
    } else if (strcmp(key, "config_dir") == 0 || strcmp(key, "save_dir") == 0 ||
               strcmp(key, "run_dir") == 0) {
        if (config_abs_path(key, value, where, 0) < 0)
            return -1;
        bool is_cfg = key[0] == 'c', is_save = key[0] == 's';
        config_set_string(is_cfg ? &cfg->config_dir : is_save ? &cfg->save_dir : &cfg->run_dir,
                          value);
        cfg->explicit_paths |= is_cfg    ? DAEMON_PATH_CONFIG_DIR
                               : is_save ? DAEMON_PATH_SAVE_DIR
                                         : DAEMON_PATH_RUN_DIR;
    } else if (strcmp(key, "driver") == 0) {
        if (strcmp(value, "test") != 0 && strcmp(value, "qemu") != 0) {
            xend_error_report(XEND_ERR_CONFIG_INVALID,
                              "%s: driver: unknown driver '%s' (this build has: test, qemu)",
                              where, value);
            return -1;
        }
        config_set_string(&cfg->driver, value);
    } else if (strcmp(key, "host_config") == 0) {
        if (value[0] && config_abs_path(key, value, where, 0) < 0)
            return -1;
        config_set_string(&cfg->host_config, value);
    } else if (strcmp(key, "job_wait_ms") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        cfg->job_wait_ms = (unsigned)n;
    } else if (strcmp(key, "event_ring") == 0) {
        if (config_number(key, value, where, &n) < 0)
            return -1;
        cfg->event_ring = (unsigned)n;
    } else if (strcmp(key, "autostart") == 0) {
        if (config_bool(key, value, where, &cfg->autostart) < 0)
            return -1;
    } else if (strcmp(key, "debug") == 0) {
        if (config_bool(key, value, where, &cfg->debug) < 0)
            return -1;
        s->debug = cfg->debug;
    } else {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: unknown key '%s'", where, key);
        return -1;
    }
    config_sync(cfg);
    return 0;
}

int daemon_config_load(daemon_config *cfg, const char *path)
{
    keyfile kf;
    if (keyfile_load(&kf, path) < 0)
        return -1;
    int ret = 0;
    for (size_t i = 0; i < kf.n && ret == 0; i++) {
        char where[4096 + 16];
        snprintf(where, sizeof(where), "%s:%u", path, kf.entries[i].line);
        ret = daemon_config_set(cfg, kf.entries[i].key, kf.entries[i].value, where);
    }
    keyfile_clear(&kf);
    return ret;
}

int daemon_config_check(const daemon_config *cfg, const char *path)
{
    if (server_tcp_policy_check(&cfg->server) < 0) {
        char msg[sizeof(xend_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(XEND_ERR_CONFIG_INVALID, "%s: %s", path, msg);
        return -1;
    }
    return 0;
}
