/*
 * The ssh transport of libxend: ssh://[user@]host[:port][/path] runs
 * `ssh [-p port] [-l user] host xm serve [--server unix:///path]` and speaks the usual HTTP
 * over the child's stdin and stdout, which are one end of a socketpair. A socket rather than
 * two pipes lets the connection use the same send(MSG_NOSIGNAL)/recv code as the other
 * transports, so a dead child is an EPIPE or an end of file, never a SIGPIPE that kills the
 * caller. The child is started with posix_spawn (no shell, no fork of a threaded caller)
 * and always reaped, within a bound, when the connection lets go of it.
 */
#include "lib_priv.h"

#include "util/alloc.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The ssh command line has at most this many words from $XEND_SSH: it is meant for "ssh"
 * plus a few options, or a test relay. */
#define LIB_SSH_MAX_WORDS 32

void lib_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

char **lib_ssh_argv(const lib_uri *u, const char *ssh_cmd)
{
    if (u->transport != LIB_TRANSPORT_SSH || !u->host) {
        xend_error_report(XEND_ERR_INVALID_ARG, "not an ssh:// URI");
        return NULL;
    }
    /* words of ssh_cmd + -p port -l user host xm serve --server URI + NULL */
    char **argv = xcalloc(LIB_SSH_MAX_WORDS + 11, sizeof(*argv));
    size_t n = 0;
    const char *p = ssh_cmd ? ssh_cmd : "";
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t");
        if (len == 0)
            break;
        if (n == LIB_SSH_MAX_WORDS) {
            xend_error_report(XEND_ERR_INVALID_ARG,
                              "$XEND_SSH has more than %d words", LIB_SSH_MAX_WORDS);
            lib_argv_free(argv);
            return NULL;
        }
        argv[n++] = xstrndup(p, len);
        p += len;
    }
    if (n == 0)
        argv[n++] = xstrdup("ssh");
    if (u->port) {
        argv[n++] = xstrdup("-p");
        argv[n++] = xstrdup(u->port);
    }
    if (u->user) {
        argv[n++] = xstrdup("-l");
        argv[n++] = xstrdup(u->user);
    }
    argv[n++] = xstrdup(u->host);
    argv[n++] = xstrdup("xm");
    argv[n++] = xstrdup("serve");
    if (u->socket_path) {
        argv[n++] = xstrdup("--server");
        argv[n++] = xasprintf("unix://%s", u->socket_path);
    }
    argv[n] = NULL;
    return argv;
}

/* The program execvp would run for name (searched in $PATH unless it holds a '/'), as a
 * malloc'd path, or NULL with errno set. Resolved here rather than by posix_spawnp so that
 * "no such program" is reported by xend_open in every case (when the spawn is emulated with
 * fork, as under valgrind, the exec failure would only show as an exit status 127). */
static char *lib_program_find(const char *name)
{
    struct stat st;
    if (strchr(name, '/')) {
        if (access(name, X_OK) < 0)
            return NULL;
        return xstrdup(name);
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    int err = ENOENT;
    for (const char *p = path;; p++) {
        size_t len = strcspn(p, ":");
        char *cand = xasprintf("%.*s%s%s", (int)len, p, len ? "/" : "", name);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(cand, X_OK) == 0)
                return cand;
            err = EACCES;
        }
        free(cand);
        p += len;
        if (!*p)
            break;
    }
    errno = err;
    return NULL;
}

int lib_child_spawn(char *const argv[], int *fd, pid_t *pid)
{
    char *prog = lib_program_find(argv[0]);
    if (!prog) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot run '%s' for the ssh transport",
                                argv[0]);
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a socket pair for '%s'",
                                argv[0]);
        free(prog);
        return -1;
    }
    /* The child's end becomes its fds 0 and 1; starting from >= 3 keeps dup2 from being a
     * no-op that would leave close-on-exec set on it (a caller may have closed stdin). */
    if (sv[1] < 3) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot start '%s'", argv[0]);
            close(sv[0]);
            close(sv[1]);
            free(prog);
            return -1;
        }
        close(sv[1]);
        sv[1] = moved;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    posix_spawnattr_init(&attr);
    /* The caller may ignore SIGPIPE or block signals; ssh and relays expect the defaults. */
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, prog, &fa, &attr, argv, environ);
    free(prog);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (rc != 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, rc, "cannot run '%s' for the ssh transport",
                                argv[0]);
        close(sv[0]);
        return -1;
    }
    int fl = fcntl(sv[0], F_GETFL);
    if (fl >= 0)
        fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
    *fd = sv[0];
    return 0;
}

/* waitpid without blocking for up to ms; 1 when reaped (status set), 0 when still running,
 * -1 when there is nothing to reap (ECHILD: the caller ignores SIGCHLD, say). */
static int lib_child_wait(pid_t pid, int ms, int *status)
{
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= ms)
            return 0;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

void lib_child_reap(pid_t pid, int wait_ms, char *how, size_t how_len)
{
    int status = 0;
    int r = lib_child_wait(pid, wait_ms, &status);
    if (r == 0) {
        kill(pid, SIGTERM);
        r = lib_child_wait(pid, 1000, &status);
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        r = r == pid ? 1 : -1;
    }
    if (r < 0)
        snprintf(how, how_len, "ended (its exit status is unknown)");
    else if (WIFEXITED(status))
        snprintf(how, how_len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, how_len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(how, how_len, "ended with wait status %d", status);
}
