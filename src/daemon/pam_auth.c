/*
 * PAM checks for the password file's `pam` users (see pam_auth.h). Each check is a whole
 * PAM transaction of its own (pam_start ... pam_end) on the calling thread, with a
 * conversation that knows only this user's name and password, so nothing is shared
 * between the libmicrohttpd threads that sign clients in. Built without PAM, the same
 * functions exist and refuse, so the rest of xend does not care which build it is.
 */
#include "config.h"

#include "pam_auth.h"

#include "util/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if HAVE_PAM
#include <security/pam_appl.h>
#endif

bool pam_auth_service_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PAM_AUTH_MAX_SERVICE || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

#if !HAVE_PAM

bool pam_auth_available(void)
{
    return false;
}

int pam_auth_check(const char *service, const char *confdir, const char *user, const char *password)
{
    (void)service;
    (void)confdir;
    (void)password;
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&said))
        log_warn("user '%s' is a PAM user of the password file, but PAM support is not built "
                 "in: PAM users cannot sign in (rebuild xend with libpam0g-dev)",
                 user);
    return -1;
}

#else

bool pam_auth_available(void)
{
    return true;
}

typedef struct {
    const char *user;
    const char *password;
} pam_auth_secret;

static void pam_auth_responses_free(struct pam_response *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (r[i].resp) {
            explicit_bzero(r[i].resp, strlen(r[i].resp));
            free(r[i].resp);
        }
    }
    free(r);
}

/* Plain malloc/strdup, not xmalloc: PAM frees what we return with free(), and running out
 * of memory here must fail one sign-in, not the daemon. */
static int pam_auth_conv(int n, const struct pam_message **msg, struct pam_response **resp,
                         void *data)
{
    const pam_auth_secret *s = data;
    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
            r[i].resp = strdup(s->password);
            break;
        case PAM_PROMPT_ECHO_ON:
            r[i].resp = strdup(s->user);
            break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            continue; /* nobody to show them to; PAM wants no answer */
        default:
            pam_auth_responses_free(r, n);
            return PAM_CONV_ERR;
        }
        if (!r[i].resp) {
            pam_auth_responses_free(r, n);
            return PAM_BUF_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* Modules such as pam_unix ask PAM to sleep after a failure (2 s); on a libmicrohttpd
 * thread that would stall every client it serves. The daemon limits failed logins per
 * client address itself (auth_max_failures), so the delay is left out. */
static void pam_auth_no_delay(int status, unsigned delay, void *data)
{
    (void)status;
    (void)delay;
    (void)data;
}

/* Whether a failed step is the user's doing (wrong password, unknown or locked account),
 * not a problem of the PAM setup. */
static bool pam_auth_refusal(int rc)
{
    return rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN || rc == PAM_MAXTRIES ||
           rc == PAM_CRED_INSUFFICIENT || rc == PAM_ACCT_EXPIRED || rc == PAM_NEW_AUTHTOK_REQD ||
           rc == PAM_PERM_DENIED;
}

int pam_auth_check(const char *service, const char *confdir, const char *user, const char *password)
{
    if (!service || !user || !password)
        return -1;
    bool own_dir = confdir && confdir[0];
    if (own_dir) {
        /* Linux-PAM would fall back to the directory's "other" service, or fail with an
         * error that names no file: say what is wrong instead. */
        char path[4200];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", confdir, service);
        if (stat(path, &sb) < 0) {
            log_warn("PAM: user '%s' refused: service file %s does not exist "
                     "(pam_service, pam_confdir in xend.conf)",
                     user, path);
            return -1;
        }
    }
    pam_auth_secret secret = {user, password};
    struct pam_conv conv = {pam_auth_conv, &secret};
    pam_handle_t *pamh = NULL;
    int rc;
#if HAVE_PAM_START_CONFDIR
    rc = own_dir ? pam_start_confdir(service, user, &conv, confdir, &pamh)
                 : pam_start(service, user, &conv, &pamh);
#else
    if (own_dir) {
        log_warn("PAM: user '%s' refused: pam_confdir needs Linux-PAM 1.4 or later "
                 "(pam_start_confdir), which this build does not have",
                 user);
        return -1;
    }
    rc = pam_start(service, user, &conv, &pamh);
#endif
    if (rc != PAM_SUCCESS) {
        log_warn("PAM: user '%s' refused: cannot start PAM service '%s': %s", user, service,
                 pam_strerror(pamh, rc));
        if (pamh)
            pam_end(pamh, rc);
        return -1;
    }
    const char *step = "pam_set_item";
    rc = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)pam_auth_no_delay);
    if (rc == PAM_SUCCESS) {
        step = "pam_authenticate";
        rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    }
    if (rc == PAM_SUCCESS) {
        step = "pam_acct_mgmt";
        rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    }
    if (rc != PAM_SUCCESS) {
        if (pam_auth_refusal(rc))
            log_info("PAM: user '%s' refused by service '%s' (%s): %s", user, service, step,
                     pam_strerror(pamh, rc));
        else
            log_warn("PAM: user '%s' refused: service '%s' failed (%s): %s", user, service, step,
                     pam_strerror(pamh, rc));
    }
    /* pam_end only releases the modules' data: its result cannot change the verdict. */
    pam_end(pamh, rc);
    return rc == PAM_SUCCESS ? 0 : -1;
}

#endif
