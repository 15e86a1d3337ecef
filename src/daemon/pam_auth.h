/*
 * PAM for the password file's users whose hash field is `pam` (see passwd.h): their
 * password is checked by the PAM stack of a service (pam_service, /etc/pam.d/xend by
 * default) instead of crypt(3). The password file still says who may sign in and with
 * which access class; PAM only says whether the password is right and the account usable.
 * When xend is built without PAM (no libpam headers), every such check fails and says why.
 */
#ifndef XEND_DAEMON_PAM_AUTH_H
#define XEND_DAEMON_PAM_AUTH_H

#include <stdbool.h>

/* Bounds on the pam_service name (also checked by the config reader). */
#define PAM_AUTH_MAX_SERVICE 64

/* Whether this build has PAM support. */
bool pam_auth_available(void);

/* Whether name is a valid pam_service: 1 to PAM_AUTH_MAX_SERVICE of [A-Za-z0-9_.-], not
 * starting with '.' (it names a file in the PAM configuration directory). */
bool pam_auth_service_valid(const char *name);

/* Check user's password with PAM: pam_start (pam_start_confdir with confdir when confdir
 * is neither NULL nor ""), pam_authenticate, pam_acct_mgmt, pam_end; one PAM handle per
 * call, so any number of threads may check at once. The conversation answers password
 * prompts with password and visible prompts with user; the responses it hands PAM are
 * PAM's to free (it zeroes and frees them itself only when the conversation fails).
 * PAM's fail delay is not slept (xend counts failed logins itself). Returns 0 when both
 * steps succeed, -1 otherwise; the reason is logged once here (warn when the PAM setup is
 * at fault: no service file, no PAM in this build, a module error; info for a refused
 * password or account), never the password. All strings are borrowed. */
int pam_auth_check(const char *service, const char *confdir, const char *user,
                   const char *password);

#endif
