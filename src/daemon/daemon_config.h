/*
 * The daemon's configuration (xend.conf): the server settings plus the pid file and the
 * log. Every key has a default; a file only overrides what it names, and command-line
 * options override the file through the same checks (daemon_config_set).
 *
 * (Named daemon_config.h so it never shadows the generated build config.h.)
 */
#ifndef XEND_DAEMON_CONFIG_H
#define XEND_DAEMON_CONFIG_H

#include "daemon/server.h"
#include "util/log.h"

#include <stdbool.h>

typedef struct {
    /* server.socket_path and server.tcp_address point at the strings below. */
    server_config server;
    char *socket;       /* absolute path of the Unix socket */
    char *socket_group; /* as written ("" = leave the group alone); resolved into server */
    char *socket_ro;    /* the read-only socket ("" = none); see socket_ro_set */
    bool socket_ro_set; /* false: socket_ro follows socket (xend-ro.sock next to it) */
    char *tcp_address;
    char *tls_cert, *tls_key, *tls_priorities, *passwd_file, *allowed_origins;
    char *pam_service, *pam_confdir;
    char *pid_file;   /* absolute path, or "" for no pid file */
    char *log_output; /* "stderr", "syslog" or "file:/absolute/path" */
    xend_log_level log_level;

    /* Domains: where they are stored and which driver runs them. */
    char *config_dir;  /* domain XML files */
    char *save_dir;    /* managed-save images */
    char *run_dir;     /* status files of running domains */
    char *driver;      /* "test" */
    char *host_config; /* the driver's host description ("" = built-in defaults) */
    unsigned job_wait_ms;
    unsigned event_ring;
    bool autostart;
    bool debug;
    unsigned explicit_paths; /* DAEMON_PATH_* bits set by the file or the command line */
} daemon_config;

enum {
    DAEMON_PATH_SOCKET = 1,
    DAEMON_PATH_PID = 2,
    DAEMON_PATH_CONFIG_DIR = 4,
    DAEMON_PATH_SAVE_DIR = 8,
    DAEMON_PATH_RUN_DIR = 16,
};

/* --root DIR: every state path that was not set explicitly moves under DIR, keeping the
 * system layout (DIR/etc/xend/domains, DIR/var/lib/xend/save, DIR/run/xend/...). DIR must
 * be absolute. Returns 0 or -1 with CONFIG_INVALID reported. */
int daemon_config_apply_root(daemon_config *cfg, const char *root);

/* Fill cfg with the built-in defaults. Free with daemon_config_clear. */
void daemon_config_init(daemon_config *cfg);
/* Free the strings cfg owns; cfg can be initialised again afterwards. Accepts a cleared cfg. */
void daemon_config_clear(daemon_config *cfg);

/* Read path and apply every key in it on top of cfg. Returns 0, or -1 with an error
 * reported (SYSTEM when the file cannot be read, CONFIG_INVALID naming path:line and the key
 * for anything wrong in it). cfg may be partly updated on failure. */
int daemon_config_load(daemon_config *cfg, const char *path);

/* The checks that involve several keys (the TCP address policy), after everything is
 * loaded; path names the file in the message. Returns 0 or -1 with CONFIG_INVALID. */
int daemon_config_check(const daemon_config *cfg, const char *path);

/* Set one key from text; where ("xend.conf:12", "--socket") starts any error message.
 * Returns 0, or -1 with CONFIG_INVALID reported. The strings are copied. */
int daemon_config_set(daemon_config *cfg, const char *key, const char *value, const char *where);

#endif
