/*
 * Which xend to talk to when the caller names none (xend_open(NULL)), in the order xm users
 * expect: the environment ($XM_SERVER, as Xen's xm read it, then $XEND_URI), the xm config
 * file's `uri` ($XM_CONFIG_FILE, else ~/.config/xm/xm.conf, else the system xm.conf), the
 * system socket, then the per-user socket under $XDG_RUNTIME_DIR. A config file that exists
 * but cannot be read is an error, not something to skip silently. The file is read by
 * config.c, the one reader of xm's configuration.
 */
#include "lib_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIB_SYSTEM_SOCKET XEND_RUNSTATEDIR "/xend/xend.sock"

static bool lib_is_socket(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

char *lib_uri_discover(xend_client_config **cfg_out)
{
    static const char *const envs[] = {"XM_SERVER", "XEND_URI"};
    char *uri;
    *cfg_out = NULL;
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(envs[i]);
        if (v && *v)
            return xstrdup(v);
    }
    xend_client_config *cfg = xend_client_config_load(NULL);
    if (!cfg)
        return NULL;
    const char *cfg_uri = xend_client_config_get(cfg, "uri");
    if (cfg_uri && *cfg_uri) {
        *cfg_out = cfg;
        return xstrdup(cfg_uri);
    }
    xend_client_config_free(cfg);
    if (lib_is_socket(LIB_SYSTEM_SOCKET))
        return xstrdup("unix://" LIB_SYSTEM_SOCKET);
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (run && *run) {
        char *user = xasprintf("%s/xend/xend.sock", run);
        if (lib_is_socket(user)) {
            uri = xasprintf("unix://%s", user);
            free(user);
            return uri;
        }
        free(user);
    }
    xend_error_report(XEND_ERR_SYSTEM,
                      "Unable to connect to xend: no daemon found (no XM_SERVER or XEND_URI, no "
                      "uri in the xm config file, no socket at %s%s). Is xend running?",
                      LIB_SYSTEM_SOCKET,
                      run && *run ? " or under $XDG_RUNTIME_DIR/xend" : "");
    return NULL;
}
