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
    char *tcp_address;
    char *pid_file;   /* absolute path, or "" for no pid file */
    char *log_output; /* "stderr", "syslog" or "file:/absolute/path" */
    xend_log_level log_level;
} daemon_config;

/* Fill cfg with the built-in defaults. Free with daemon_config_clear. */
void daemon_config_init(daemon_config *cfg);
/* Free the strings cfg owns; cfg can be initialised again afterwards. Accepts a cleared cfg. */
void daemon_config_clear(daemon_config *cfg);

/* Read path and apply every key in it on top of cfg. Returns 0, or -1 with an error
 * reported (SYSTEM when the file cannot be read, CONFIG_INVALID naming path:line and the key
 * for anything wrong in it). cfg may be partly updated on failure. */
int daemon_config_load(daemon_config *cfg, const char *path);

/* Set one key from text; where ("xend.conf:12", "--socket") starts any error message.
 * Returns 0, or -1 with CONFIG_INVALID reported. The strings are copied. */
int daemon_config_set(daemon_config *cfg, const char *key, const char *value, const char *where);

#endif
