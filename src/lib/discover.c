/*
 * Which xend to talk to when the caller names none (xend_open(NULL)), in the order xm users
 * expect: the environment ($XM_SERVER, as Xen's xm read it, then $XEND_URI), the xm config
 * file's `uri` ($XM_CONFIG_FILE, else ~/.config/xm/xm.conf, else the system xm.conf), the
 * system socket, then the per-user socket under $XDG_RUNTIME_DIR. A config file that exists
 * but cannot be read is an error, not something to skip silently.
 */
#include "lib_priv.h"

#include "config.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIB_SYSTEM_XM_CONF XEND_SYSCONFDIR "/xend/xm.conf"
#define LIB_SYSTEM_SOCKET XEND_RUNSTATEDIR "/xend/xend.sock"

static bool lib_is_socket(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The `uri` key of the xm config file, if the file exists and has one: 1 with *uri set
 * (caller frees), 0 if there is no such file or key, -1 with an error reported. */
static int lib_config_uri(char **uri)
{
    const char *env = getenv("XM_CONFIG_FILE");
    char *path = NULL;
    if (env && *env) {
        path = xstrdup(env);
    } else {
        const char *home = getenv("HOME");
        if (home && *home) {
            path = xasprintf("%s/.config/xm/xm.conf", home);
            if (access(path, F_OK) < 0) {
                free(path);
                path = NULL;
            }
        }
        if (!path)
            path = xstrdup(LIB_SYSTEM_XM_CONF);
    }
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        free(path);
        return 0;
    }
    keyfile kf;
    if (keyfile_load(&kf, path) < 0) {
        free(path);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < kf.n; i++) {
        if (strcmp(kf.entries[i].key, "uri") == 0 && kf.entries[i].value[0]) {
            free(*uri);
            *uri = xstrdup(kf.entries[i].value);
            found = 1;
        }
    }
    keyfile_clear(&kf);
    free(path);
    return found;
}

char *lib_uri_discover(void)
{
    static const char *const envs[] = {"XM_SERVER", "XEND_URI"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(envs[i]);
        if (v && *v)
            return xstrdup(v);
    }
    char *uri = NULL;
    int r = lib_config_uri(&uri);
    if (r < 0)
        return NULL;
    if (r > 0)
        return uri;
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
