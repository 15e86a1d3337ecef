/*
 * xend, the daemon: reads xend.conf, optionally detaches, claims its pid file, builds the
 * API registry, starts the XML-RPC server and then waits for signals in the main thread
 * (SIGTERM/SIGINT stop it cleanly, SIGHUP reopens the log). Startup failures are printed
 * once as "xend: error: ..." and end with exit status 1; when detaching, the daemon sends
 * that message back to the process the user started, so it is never lost in /dev/null.
 */
#include "config.h"

#include "api/api.h"
#include "api/driver.h"
#include "api/event.h"
#include "daemon_config.h"
#include "daemon/pam_auth.h"
#include "daemon/passwd.h"
#include "daemon/server.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAIN_DEFAULT_CONFIG XEND_SYSCONFDIR "/xend/xend.conf"

/* Write end of the pipe to the waiting parent while a detached daemon starts; -1 otherwise. */
static int main_notify_fd = -1;
/* Whether the log goes somewhere other than stderr (then startup errors go there too). */
static bool main_log_elsewhere;

static void main_usage(FILE *out)
{
    fprintf(out, "usage: xend [OPTION]...\n"
                 "       xend passwd [--file F] [--access CLASS] [--delete | --pam] USER\n"
                 "The xend virtual-machine manager daemon (XML-RPC API). `xend passwd`\n"
                 "manages the users of its TCP listener (see xend passwd --help).\n"
                 "\n"
                 "  -f, --config FILE      read FILE (default " MAIN_DEFAULT_CONFIG ")\n"
                 "  -s, --socket PATH      listen on the Unix socket PATH (overrides 'socket')\n"
                 "  -p, --pid-file PATH    write the pid to PATH (overrides 'pid_file')\n"
                 "  -r, --root DIR         keep every state path not set explicitly under DIR\n"
                 "                         (DIR/etc/xend/domains, DIR/run/xend, ...)\n"
                 "  -d, --daemon           detach and run in the background\n"
                 "      --log-level LEVEL  error, warn, info or debug (overrides 'log_level')\n"
                 "      --check-config     check the configuration, print the result and exit\n"
                 "  -V, --version          print the version and exit\n"
                 "  -h, --help             print this help and exit\n"
                 "\n"
                 "Signals: SIGTERM or SIGINT stop the daemon; SIGHUP reopens the log file.\n"
                 "See xend(8) and xend.conf(5).\n");
}

/* Report a startup failure the single time it is seen, where the user will see it, and
 * exit 1. */
static void main_die(const char *msg) __attribute__((noreturn));
static void main_die(const char *msg)
{
    if (main_notify_fd >= 0) {
        size_t len = strlen(msg);
        while (len > 0) {
            ssize_t w = write(main_notify_fd, msg, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            msg += w;
            len -= (size_t)w;
        }
        close(main_notify_fd);
    } else {
        fprintf(stderr, "xend: error: %s\n", msg);
    }
    if (main_log_elsewhere)
        log_error("%s", msg);
    exit(1);
}

static void main_die_last(void) __attribute__((noreturn));
static void main_die_last(void)
{
    const xend_error *err = xend_error_last();
    main_die(err->code ? err->message : "unknown error");
}

/* ---- detaching -------------------------------------------------------------------- */

/* The parent side: wait for the daemon's verdict ("" read before EOF = it died). */
static void main_daemon_wait(int fd, pid_t child) __attribute__((noreturn));
static void main_daemon_wait(int fd, pid_t child)
{
    char msg[1200];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || got + (size_t)r >= sizeof(msg) - 1) {
            if (r > 0)
                got += (size_t)r;
            break;
        }
        got += (size_t)r;
    }
    msg[got] = '\0';
    close(fd);
    waitpid(child, NULL, 0); /* the intermediate child exits at once */
    if (strcmp(msg, "ok") == 0)
        exit(0);
    fprintf(stderr, "xend: error: %s\n",
            got ? msg : "the daemon exited during startup (see its log)");
    exit(1);
}

/* Double fork and setsid, so the daemon is no session leader and can never regain a
 * controlling terminal. Returns in the daemon; the original process exits with the
 * daemon's startup status. */
static void main_daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create a pipe");
        main_die_last();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot fork");
        main_die_last();
    }
    if (pid > 0) {
        close(p[1]);
        main_daemon_wait(p[0], pid);
    }
    close(p[0]);
    main_notify_fd = p[1];
    if (setsid() < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "setsid failed");
        main_die_last();
    }
    pid = fork();
    if (pid < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot fork");
        main_die_last();
    }
    if (pid > 0)
        _exit(0);
    umask(022);
    if (chdir("/") < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot change to /");
        main_die_last();
    }
}

/* Tell the waiting parent that startup worked and drop the terminal. */
static void main_daemon_ready(void)
{
    if (main_notify_fd < 0)
        return;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    if (write(main_notify_fd, "ok", 2) != 2)
        log_warn("cannot report readiness to the starting process");
    close(main_notify_fd);
    main_notify_fd = -1;
}

/* ---- pid file --------------------------------------------------------------------- */

static pid_t pidfile_read(const char *path)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || v <= 0 || v > INT_MAX || (*end && *end != '\n'))
        return 0;
    return (pid_t)v;
}

/* Whether pid is a live xend process. When unsure (no /proc access), say yes: refusing to
 * start is recoverable, two daemons on one socket are not. */
static bool pidfile_pid_is_xend(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        /* "pid (comm) S ...": the state follows the last ')'. A zombie is gone. */
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            return false;
    }
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false; /* kernel threads and zombies have an empty command line */
    buf[n] = '\0';
    /* Any argument whose base name is xend: the daemon itself, or the daemon under a
     * wrapper such as valgrind. */
    for (char *arg = buf; arg < buf + n; arg += strlen(arg) + 1) {
        const char *base = strrchr(arg, '/');
        base = base ? base + 1 : arg;
        if (strcmp(base, "xend") == 0)
            return true;
    }
    return false;
}

/* Create the pid file exclusively; a file left by a dead process (or by something that is
 * not xend) is replaced, a live xend's is not. Returns 0, or -1 with an error reported. */
static int pidfile_create(const char *path)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            char buf[32];
            int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
            ssize_t w = write(fd, buf, (size_t)len);
            int err = errno;
            close(fd);
            if (w != len) {
                unlink(path);
                xend_error_report_errno(XEND_ERR_SYSTEM, w < 0 ? err : EIO,
                                        "cannot write pid file %s", path);
                return -1;
            }
            return 0;
        }
        if (errno != EEXIST) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create pid file %s", path);
            return -1;
        }
        pid_t other = pidfile_read(path);
        if (other > 0 && other != getpid() && pidfile_pid_is_xend(other)) {
            xend_error_report(XEND_ERR_SYSTEM, "xend is already running as pid %d (pid file %s)",
                              (int)other, path);
            return -1;
        }
        log_info("removing stale pid file %s (pid %d is not a running xend)", path, (int)other);
        if (unlink(path) < 0 && errno != ENOENT) {
            xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot remove stale pid file %s",
                                    path);
            return -1;
        }
    }
    xend_error_report(XEND_ERR_SYSTEM, "cannot create pid file %s: it keeps reappearing", path);
    return -1;
}

/* Remove the pid file if it is still ours. */
static void pidfile_remove(const char *path)
{
    if (pidfile_read(path) == getpid())
        unlink(path);
}

/* The run directory (/run/xend) is usually on a tmpfs that starts empty: create the
 * socket's and the pid file's parent directories when they are missing. */
static int main_make_parent(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int ret = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        ret = xend_dir_create(dir, 0755);
    }
    free(dir);
    return ret;
}

static const hv_driver *main_driver(const char *name)
{
    /* The config check admits only the drivers built in. */
    return strcmp(name, "qemu") == 0 ? &hv_qemu_driver : &hv_test_driver;
}

/* The domain context: store, driver, the configs and running domains on disk. */
static api_ctx *main_api_start(const daemon_config *cfg)
{
    api_ctx_config acfg;
    api_ctx_config_init(&acfg);
    acfg.driver = main_driver(cfg->driver);
    acfg.host_config = cfg->host_config[0] ? cfg->host_config : NULL;
    acfg.config_dir = cfg->config_dir;
    acfg.save_dir = cfg->save_dir;
    acfg.run_dir = cfg->run_dir;
    acfg.job_wait_ms = (int)cfg->job_wait_ms;
    acfg.event_ring_size = cfg->event_ring;
    acfg.debug = cfg->debug;
    acfg.autostart = cfg->autostart;
    api_ctx *ctx = api_ctx_new(&acfg);
    if (ctx && api_ctx_start(ctx) < 0) {
        api_ctx_free(ctx);
        return NULL;
    }
    if (ctx)
        log_info("%zu domains known (driver %s; configs in %s)", api_ctx_domain_count(ctx),
                 cfg->driver, cfg->config_dir);
    return ctx;
}

/* ---- main ------------------------------------------------------------------------- */

typedef struct {
    const char *config_path;
    bool config_explicit;
    const char *socket;
    const char *pid_file;
    const char *log_level;
    const char *root;
    bool detach;
    bool check_config;
} main_options;

enum { OPT_CHECK_CONFIG = 256, OPT_LOG_LEVEL };

static void main_parse_args(int argc, char **argv, main_options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'f'},
        {"socket", required_argument, NULL, 's'},
        {"pid-file", required_argument, NULL, 'p'},
        {"root", required_argument, NULL, 'r'},
        {"daemon", no_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->config_path = MAIN_DEFAULT_CONFIG;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:s:p:r:dVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->config_path = optarg;
            o->config_explicit = true;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'p':
            o->pid_file = optarg;
            break;
        case 'r':
            o->root = optarg;
            break;
        case 'd':
            o->detach = true;
            break;
        case OPT_LOG_LEVEL:
            o->log_level = optarg;
            break;
        case OPT_CHECK_CONFIG:
            o->check_config = true;
            break;
        case 'V':
            printf("xend %s (API %s)\n", XEND_VERSION, XEND_API_VERSION);
            exit(0);
        case 'h':
            main_usage(stdout);
            exit(0);
        case ':':
            fprintf(stderr, "xend: error: option '%s' needs an argument (see xend --help)\n",
                    argv[optind - 1]);
            exit(1);
        default:
            if (optopt)
                fprintf(stderr, "xend: error: unknown option '-%c' (see xend --help)\n", optopt);
            else
                fprintf(stderr, "xend: error: unknown option '%s' (see xend --help)\n",
                        argv[optind - 1]);
            exit(1);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xend: error: unexpected argument '%s' (see xend --help)\n", argv[optind]);
        exit(1);
    }
}

/* Defaults, then the file, then the command line. A missing default file means "all
 * defaults"; a file named with -f must exist. */
static int main_load_config(const main_options *o, daemon_config *cfg, bool *file_found)
{
    *file_found = true;
    if (!o->config_explicit && access(o->config_path, F_OK) < 0 && errno == ENOENT)
        *file_found = false;
    else if (daemon_config_load(cfg, o->config_path) < 0)
        return -1;
    if (o->socket && daemon_config_set(cfg, "socket", o->socket, "--socket") < 0)
        return -1;
    if (o->pid_file && daemon_config_set(cfg, "pid_file", o->pid_file, "--pid-file") < 0)
        return -1;
    if (o->log_level && daemon_config_set(cfg, "log_level", o->log_level, "--log-level") < 0)
        return -1;
    if (o->root && daemon_config_apply_root(cfg, o->root) < 0)
        return -1;
    return daemon_config_check(cfg, o->config_path);
}

/* Block the signals we wait for in every thread (MHD's threads inherit the mask), so that
 * only sigwaitinfo() in the main thread ever sees them. */
static void main_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    /* A client that goes away mid-reply must cost an EPIPE, not the daemon. */
    signal(SIGPIPE, SIG_IGN);
}

static int main_wait_signals(const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            log_error("sigwaitinfo failed: %s", strerror(errno));
            return -1;
        }
        if (sig == SIGHUP) {
            if (xend_log_reopen() < 0)
                log_error("%s", xend_error_last()->message);
            else
                log_info("log reopened (SIGHUP from pid %d)", (int)si.si_pid);
            continue;
        }
        log_info("received %s from pid %d, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 (int)si.si_pid);
        return 0;
    }
}

/* --check-config: the password file's `pam` users cannot sign in to a build without PAM.
 * (The file itself is checked when the daemon starts; a file that does not load is not
 * this check's business.) */
static void main_check_pam(const daemon_config *cfg)
{
    if (pam_auth_available() || !cfg->server.tcp_listen || !cfg->server.tcp_auth)
        return;
    passwd_store *ps = passwd_store_open(cfg->passwd_file);
    size_t n = passwd_store_pam_count(ps);
    if (n)
        fprintf(stderr,
                "xend: warning: %s has %zu PAM users, but PAM support is not built in: they "
                "cannot sign in\n",
                cfg->passwd_file, n);
    passwd_store_free(ps);
    xend_error_reset();
}

int main(int argc, char **argv)
{
    main_options opt;
    daemon_config cfg;
    bool found;

    /* A subcommand, not an option: it shares nothing with the daemon's own options. */
    if (argc > 1 && strcmp(argv[1], "passwd") == 0)
        return passwd_main(argc - 1, argv + 1);
    main_parse_args(argc, argv, &opt);
    daemon_config_init(&cfg);
    if (main_load_config(&opt, &cfg, &found) < 0) {
        daemon_config_clear(&cfg);
        fprintf(stderr, "xend: error: %s\n", xend_error_last()->message);
        return 1;
    }
    if (opt.check_config) {
        printf("config OK: %s%s\n", opt.config_path,
               found ? "" : " (not present: built-in defaults)");
        main_check_pam(&cfg);
        daemon_config_clear(&cfg);
        return 0;
    }
    if (xend_log_open(cfg.log_output, cfg.log_level) < 0) {
        fprintf(stderr, "xend: error: %s\n", xend_error_last()->message);
        daemon_config_clear(&cfg);
        return 1;
    }
    main_log_elsewhere = strcmp(cfg.log_output, "stderr") != 0;
    if (!found)
        log_info("%s not found: using the built-in defaults", opt.config_path);
    if (opt.detach)
        main_daemonize();

    sigset_t sigs;
    main_block_signals(&sigs);

    if (main_make_parent(cfg.socket) < 0)
        main_die_last();
    if (cfg.pid_file[0]) {
        if (main_make_parent(cfg.pid_file) < 0 || pidfile_create(cfg.pid_file) < 0)
            main_die_last();
    }
    xmlrpc_registry *reg = api_registry_new();
    if (!reg) {
        if (cfg.pid_file[0])
            pidfile_remove(cfg.pid_file);
        main_die_last();
    }
    api_ctx *ctx = main_api_start(&cfg);
    if (!ctx) {
        xmlrpc_registry_free(reg);
        if (cfg.pid_file[0])
            pidfile_remove(cfg.pid_file);
        main_die_last();
    }
    cfg.server.priority_methods = api_priority_methods();
    server *srv = server_start(&cfg.server, reg, ctx);
    if (!srv) {
        api_ctx_free(ctx);
        xmlrpc_registry_free(reg);
        if (cfg.pid_file[0])
            pidfile_remove(cfg.pid_file);
        main_die_last();
    }
    /* domain.migrate must know these to recognise itself as the destination. */
    const char *const sockets[] = {cfg.socket, cfg.socket_ro[0] ? cfg.socket_ro : NULL, NULL};
    api_ctx_set_self(ctx, sockets, cfg.server.tcp_listen ? cfg.tcp_address : NULL,
                     cfg.server.tcp_listen ? server_tcp_port(srv) : 0);
    char ro[4200] = "", tcp[200] = "";
    if (cfg.socket_ro[0])
        snprintf(ro, sizeof(ro), ", %s (read-only)", cfg.socket_ro);
    if (cfg.server.tcp_listen)
        snprintf(tcp, sizeof(tcp), " and %s port %u (%s, %s)", cfg.tcp_address,
                 server_tcp_port(srv), cfg.server.tcp_tls ? "TLS" : "plain HTTP",
                 cfg.server.tcp_auth ? "users of the password file" : "no authentication");
    log_info("xend %s (API %s) started, pid %d, listening on %s%s%s", XEND_VERSION,
             XEND_API_VERSION, (int)getpid(), cfg.socket, ro, tcp);
    event_ring_set_listener(api_ctx_events(ctx), server_wake, srv);
    main_daemon_ready();

    int rc = main_wait_signals(&sigs) < 0 ? 1 : 0;

    event_ring_set_listener(api_ctx_events(ctx), NULL, NULL);
    api_ctx_shutdown(ctx); /* long jobs give up, so the job workers can be joined */
    server_stop(srv);
    api_ctx_free(ctx);
    xmlrpc_registry_free(reg);
    if (cfg.pid_file[0])
        pidfile_remove(cfg.pid_file);
    log_info("xend stopped");
    xend_log_close();
    daemon_config_clear(&cfg);
    return rc;
}
