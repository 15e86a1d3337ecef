/*
 * xm's entry point and its one command table: the table drives dispatch (exact names,
 * unique prefixes, deprecated aliases), the short and long help, and each command's usage,
 * so a command cannot exist without being documented. Global options (-s/--server URI,
 * --json) may come before or after the subcommand.
 */
#include "config.h"
#include "xm.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D N_("<Domain>")

/* name, function, arguments, description, options, flags, alias_of */
const xm_cmd xm_commands[] = {
    {"console", xm_cmd_console, N_("[-q] <Domain>"), N_("Attach to <Domain>'s console."),
     N_("  -q, --quiet    Do not print the banner; just attach.\n"), XM_CMD_COMMON, NULL},
    {"create", xm_cmd_create, N_("<ConfigFile> [options] [vars]"),
     N_("Create a domain based on <ConfigFile>."),
     N_("  -n, --dryrun   Print the domain XML; create nothing.\n"
        "  -p, --paused   Leave the domain paused after it is created.\n"
        "  -c, --console  Attach to the console after the domain is created.\n"
        "  -q, --quiet    Quiet.\n"
        "  VAR=VAL        Set a variable of an xm python-syntax config.\n"),
     XM_CMD_COMMON, NULL},
    {"new", xm_cmd_new, N_("<ConfigFile> [vars]"), N_("Add a domain to the domain store."),
     "", 0, NULL},
    {"delete", xm_cmd_delete, D, N_("Remove a domain from the domain store."), "", 0, NULL},
    {"start", xm_cmd_start, N_("[-p] [-c] <Domain>"), N_("Start a domain from the store."),
     N_("  -p, --paused   Do not unpause the domain after starting it.\n"
        "  -c, --console  Attach to the console after the domain is started.\n"),
     0, NULL},
    {"shutdown", xm_cmd_shutdown, N_("<Domain> [-waRH]"), N_("Shutdown a domain."),
     N_("  -w, --wait     Wait for the domain to shut off.\n"
        "  -a, --all      Shut down all domains but Domain-0.\n"
        "  -R, --reboot   Reboot instead of powering off.\n"
        "  -H, --halt     Halt (power off; the default).\n"),
     XM_CMD_COMMON, NULL},
    {"reboot", xm_cmd_reboot, N_("<Domain> [-wa]"), N_("Reboot a domain."),
     N_("  -w, --wait     Wait for the domain to have rebooted.\n"
        "  -a, --all      Reboot all domains but Domain-0.\n"),
     0, NULL},
    {"destroy", xm_cmd_destroy, D, N_("Terminate a domain immediately."), "", XM_CMD_COMMON,
     NULL},
    {"pause", xm_cmd_pause, D, N_("Pause execution of a domain."), "", XM_CMD_COMMON, NULL},
    {"unpause", xm_cmd_unpause, D, N_("Unpause a paused domain."), "", XM_CMD_COMMON, NULL},
    {"suspend", xm_cmd_suspend, D, N_("Suspend a domain to the store (managed save)."), "",
     0, NULL},
    {"resume", xm_cmd_resume, N_("[-p] <Domain>"), N_("Resume a suspended domain."),
     N_("  -p, --paused   Leave the domain paused.\n"), 0, NULL},
    {"save", xm_cmd_save, N_("<Domain> <CheckpointFile>"),
     N_("Save a domain state to restore later."), "", XM_CMD_COMMON, NULL},
    {"restore", xm_cmd_restore, N_("<CheckpointFile> [-p]"),
     N_("Restore a domain from a saved state."),
     N_("  -p, --paused   Leave the domain paused.\n"), XM_CMD_COMMON, NULL},
    {"migrate", xm_cmd_migrate, N_("<Domain> <Host> [-l]"),
     N_("Migrate a domain to another machine."),
     N_("  -l, --live     Use live migration.\n"
        "  <Host>         A host name (port 8006), host:port, or a xend URI.\n"),
     0, NULL},
    {"rename", xm_cmd_rename, N_("<Domain> <NewDomainName>"), N_("Rename a domain."), "", 0,
     NULL},
    {"autostart", xm_cmd_autostart, N_("<Domain> on|off"),
     N_("Start a domain when the host boots, or not."), "", 0, NULL},
    {"dumpxml", xm_cmd_dumpxml, N_("[--inactive] <Domain>"),
     N_("Print the domain XML of a domain."),
     N_("  --inactive     The stored definition (next boot), not the live one.\n"), 0, NULL},
    {"sysrq", xm_cmd_sysrq, N_("<Domain> <letter>"), N_("Send a sysrq to a domain."), "", 0,
     NULL},
    {"mem-set", xm_cmd_mem_set, N_("<Domain> <Mem>"),
     N_("Set the current memory usage for a domain."),
     N_("  <Mem>          Size with a k, m or g suffix (default m: MiB).\n"), XM_CMD_COMMON,
     NULL},
    {"mem-max", xm_cmd_mem_max, N_("<Domain> <Mem>"),
     N_("Set the maximum amount reservation for a domain."),
     N_("  <Mem>          Size with a k, m or g suffix (default m: MiB).\n"), 0, NULL},
    {"vcpu-set", xm_cmd_vcpu_set, N_("<Domain> <vCPUs>"),
     N_("Set the number of active VCPUs allowed for the domain."), "", 0, NULL},
    {"vcpu-list", xm_cmd_vcpu_list, N_("[Domain, ...]"),
     N_("List the VCPUs for a domain or all domains."), "", XM_CMD_JSON, NULL},
    {"vcpu-pin", xm_cmd_vcpu_pin, N_("<Domain> <VCPU|all> <CPUs|all>"),
     N_("Set which CPUs a VCPU can use."),
     N_("  <CPUs>         A list like 0-3,^2, or all.\n"), 0, NULL},
    {"list", xm_cmd_list, N_("[options] [Domain, ...]"), N_("List information about all/some domains."),
     N_("  -l, --long     Output all domain details in SXP.\n"
        "  --state=STATE  Only domains in this state (running, blocked, paused,\n"
        "                 shutdown, shutoff, crashed, suspended).\n"),
     XM_CMD_COMMON | XM_CMD_JSON, NULL},
    {"uptime", xm_cmd_uptime, N_("[-s] [Domain, ...]"), N_("Print uptime for a domain."),
     N_("  -s, --short    Print the uptime in a short format.\n"), XM_CMD_JSON, NULL},
    {"domid", xm_cmd_domid, N_("<DomainName>"), N_("Convert a domain name to domain id."), "",
     XM_CMD_JSON, NULL},
    {"domname", xm_cmd_domname, N_("<DomainId>"), N_("Convert a domain id to domain name."),
     "", XM_CMD_JSON, NULL},
    {"info", xm_cmd_info, "", N_("Get information about the host."), "", XM_CMD_JSON, NULL},
    {"dmesg", xm_cmd_dmesg, N_("[-c|--clear]"), N_("Read and/or clear the hypervisor's message buffer."),
     N_("  -c, --clear    Clear the buffer after reading it.\n"), XM_CMD_JSON, NULL},
    {"log", xm_cmd_log, "", N_("Print the xend log."), "", XM_CMD_JSON, NULL},
    {"top", xm_cmd_top, N_("[-b] [-d SECS] [-n ITER]"),
     N_("Monitor a host and the domains in real time."),
     N_("  -b, --batch       Plain output, no terminal control.\n"
        "  -d, --delay=SECS  Seconds between updates (default 1).\n"
        "  -n, --iterations=N  Stop after N updates.\n"),
     XM_CMD_COMMON | XM_CMD_JSON, NULL},
    {"events", xm_cmd_events, N_("[--since ID] [-n COUNT] [--timeout SECS]"),
     N_("Follow the event stream of xend."),
     N_("  --since=ID       Start after event ID (default: from now on).\n"
        "  -n, --count=N    Stop after N events.\n"
        "  --timeout=SECS   Stop after SECS seconds without an event.\n"),
     XM_CMD_JSON, NULL},
    {"block-attach", xm_cmd_block_attach, N_("<Domain> <BackDev> <FrontDev> <Mode>"),
     N_("Create a new virtual block device."),
     N_("  <BackDev>      phy:/dev/X, file:/path or tap:aio:/path.\n"
        "  <Mode>         r (read-only), w (read-write) or w! (shared).\n"),
     0, NULL},
    {"block-detach", xm_cmd_block_detach, N_("<Domain> <DevId>"),
     N_("Destroy a domain's virtual block device."), "", 0, NULL},
    {"block-list", xm_cmd_block_list, N_("<Domain> [--long]"),
     N_("List virtual block devices for a domain."),
     N_("  -l, --long     Output the devices in SXP.\n"), XM_CMD_JSON, NULL},
    {"network-attach", xm_cmd_network_attach,
     N_("<Domain> [--script=<script>] [--ip=<ip>] [--mac=<mac>]"),
     N_("Create a new virtual network device."),
     N_("  type=, mac=, bridge=, ip=, script=, backend=, vifname=, rate=, model=\n"), 0, NULL},
    {"network-detach", xm_cmd_network_detach, N_("<Domain> <DevId>"),
     N_("Destroy a domain's virtual network device."), "", 0, NULL},
    {"network-list", xm_cmd_network_list, N_("<Domain> [--long]"),
     N_("List virtual network interfaces for a domain."),
     N_("  -l, --long     Output the devices in SXP.\n"), XM_CMD_JSON, NULL},
    {"call", xm_cmd_call, N_("<Method> [Arg, ...]"),
     N_("Call any method of the xend API and print the result."),
     N_("  Arguments are typed from system.methodSignature: numbers, true/false,\n"
        "  nil, JSON for structs and arrays, anything else a string.\n"),
     0, NULL},
    {"serve", xm_cmd_serve, N_("[-s URI]"), N_("Proxy xend XML-RPC over stdio."),
     N_("  -s, --server=URI  The daemon to relay to (default: as xm finds it).\n"),
     XM_CMD_NOCONN, NULL},
    {"help", xm_cmd_help, N_("[--long] [Command]"), N_("Display this message."), "",
     XM_CMD_COMMON | XM_CMD_NOCONN, NULL},
    /* Xen 3.0's deprecated spellings */
    {"balloon", NULL, NULL, NULL, NULL, 0, "mem-set"},
    {"set-vcpus", NULL, NULL, NULL, NULL, 0, "vcpu-set"},
    {"vif-list", NULL, NULL, NULL, NULL, 0, "network-list"},
    {"vbd-create", NULL, NULL, NULL, NULL, 0, "block-attach"},
    {"vbd-destroy", NULL, NULL, NULL, NULL, 0, "block-detach"},
    {"vbd-list", NULL, NULL, NULL, NULL, 0, "block-list"},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL},
};

const xm_cmd *xm_command_find(const char *name)
{
    for (const xm_cmd *c = xm_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

static void xm_help_short(FILE *f)
{
    fprintf(f, "%s\n\n%s\n\n", _("Usage: xm <subcommand> [args]"),
            _("Control, list, and manipulate domains."));
    fprintf(f, "%s\n", _("Common 'xm' commands:"));
    for (const xm_cmd *c = xm_commands; c->name; c++)
        if (c->flags & XM_CMD_COMMON)
            fprintf(f, "  %-20s %s\n", c->name, _(c->help));
    fprintf(f, "\n%s\n", _("<Domain> can either be the Domain Name, Id or UUID."));
    fprintf(f, "%s\n", _("For more help on 'xm' see the xm(1) man page; "
                         "'xm help --long' lists every subcommand."));
}

static void xm_help_long(FILE *f)
{
    xm_help_short(f);
    fprintf(f, "\n%s\n\n", _("xm full list of subcommands:"));
    for (const xm_cmd *c = xm_commands; c->name; c++)
        if (!c->alias_of)
            fprintf(f, "    %-20s %s\n", c->name, _(c->help));
    fprintf(f, "\n%s\n", _("Global options (before or after the subcommand):"));
    fprintf(f, "  %-20s %s\n", "-s, --server=URI",
            _("The xend to talk to (unix:///path, http://host:port/, ssh://host)."));
    fprintf(f, "  %-20s %s\n", "--json", _("Print the result of a read command as JSON."));
}

/* The command name matches exactly, or is the unique prefix of one command. Prints the
 * error and returns NULL otherwise. */
static const xm_cmd *xm_command_resolve(const char *name)
{
    const xm_cmd *exact = xm_command_find(name);
    if (exact)
        return exact;
    const xm_cmd *found = NULL;
    int n = 0;
    size_t len = strlen(name);
    for (const xm_cmd *c = xm_commands; c->name; c++) {
        if (!c->alias_of && !strncmp(c->name, name, len)) {
            found = c;
            n++;
        }
    }
    if (n == 1 && len > 0)
        return found;
    if (n > 1) {
        fprintf(stderr, _("Error: Subcommand %s is ambiguous:"), name);
        for (const xm_cmd *c = xm_commands; c->name; c++)
            if (!c->alias_of && !strncmp(c->name, name, len))
                fprintf(stderr, " %s", c->name);
        fputc('\n', stderr);
        return NULL;
    }
    fprintf(stderr, _("Error: Subcommand %s not found!"), name);
    fputs("\n\n", stderr);
    xm_help_short(stderr);
    return NULL;
}

int xm_cmd_help(xm_ctx *x, int argc, char **argv)
{
    (void)x;
    bool lng = false;
    const char *topic = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--long") || !strcmp(argv[i], "-l"))
            lng = true;
        else if (argv[i][0] == '-')
            return xm_usage_error(x, _("option %s not recognized"), argv[i]);
        else if (!topic)
            topic = argv[i];
        else
            return xm_args_check(x, argc - 1, 0, 1);
    }
    if (topic) {
        const xm_cmd *c = xm_command_resolve(topic);
        if (!c)
            return 1;
        if (c->alias_of)
            c = xm_command_find(c->alias_of);
        xm_usage_print(c, false);
        return 0;
    }
    if (lng)
        xm_help_long(stdout);
    else
        xm_help_short(stdout);
    return 0;
}

/* Take the global options out of argv wherever they are; returns the new argc, or -1 after
 * an error. "--" ends global option scanning (the rest belongs to the subcommand). */
static int xm_global_options(xm_ctx *x, int argc, char **argv)
{
    int out = 1;
    bool stop = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!stop && !strcmp(a, "--")) {
            stop = true;
            argv[out++] = argv[i];
            continue;
        }
        if (!stop && !strcmp(a, "--json")) {
            x->json = true;
            continue;
        }
        /* -s is global only before the subcommand: after it, it is the command's own
         * (uptime -s); --server and --json are unambiguous anywhere. */
        if (!stop && (!strcmp(a, "--server") || (!strcmp(a, "-s") && out == 1))) {
            if (i + 1 >= argc) {
                xm_error(_("option %s requires an argument"), a);
                return -1;
            }
            x->uri = argv[++i];
            continue;
        }
        if (!stop && !strncmp(a, "--server=", 9)) {
            x->uri = a + 9;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

/* gettext ignores LANGUAGE in the C locale, which is what a bare environment (no LANG)
 * gives; someone who sets LANGUAGE has asked for a language, so take messages from the
 * UTF-8 variant of C then. XM_LOCALEDIR points at an uninstalled tree (the build's po/). */
static void xm_locale_init(void)
{
    const char *loc = setlocale(LC_ALL, "");
    const char *language = getenv("LANGUAGE");
    if (language && *language && (!loc || !strcmp(loc, "C") || !strcmp(loc, "POSIX"))) {
        /* LC_CTYPE too: in ASCII, gettext would turn every accented letter into '?' */
        setlocale(LC_MESSAGES, "C.UTF-8");
        setlocale(LC_CTYPE, "C.UTF-8");
    }
    /* Numbers stay C: `xm list`'s Time(s), sxp doubles and `top -d 0.5` are read by
     * scripts and parsers, which a decimal comma would break. */
    setlocale(LC_NUMERIC, "C");
    const char *dir = getenv("XM_LOCALEDIR");
    bindtextdomain("xm", dir && *dir ? dir : XEND_LOCALEDIR);
    textdomain("xm");
}

int main(int argc, char **argv)
{
    xm_locale_init();

    xm_ctx ctx = {0};
    xm_ctx *x = &ctx;
    argc = xm_global_options(x, argc, argv);
    if (argc < 0)
        return 1;
    if (argc < 2) {
        xm_help_short(stderr);
        return 1;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        name = "help";
    else if (name[0] == '-') {
        xm_error(_("option %s not recognized"), name);
        fputc('\n', stderr);
        xm_help_short(stderr);
        return 1;
    }
    const xm_cmd *cmd = xm_command_resolve(name);
    if (!cmd)
        return 1;
    if (cmd->alias_of) {
        fprintf(stderr, _("Command %s is deprecated.  Please use xm %s instead."), cmd->name,
                cmd->alias_of);
        fputc('\n', stderr);
        cmd = xm_command_find(cmd->alias_of);
    }
    x->cmd = cmd;

    x->config = xend_client_config_load(NULL);
    if (!x->config) {
        xm_error("%s", xend_last_error(NULL)->message);
        return 1;
    }
    const char *fmt = xend_client_config_get(x->config, "format");
    if (fmt && !strcmp(fmt, "json"))
        x->json = true;

    char *saved = argv[1];
    argv[1] = (char *)cmd->name;
    int rc = cmd->run(x, argc - 1, argv + 1);
    argv[1] = saved;
    fflush(stdout);
    if (ferror(stdout)) {
        xm_error(_("cannot write the output"));
        rc = 1;
    }
    xend_close(x->conn);
    xend_client_config_free(x->config);
    return rc;
}
