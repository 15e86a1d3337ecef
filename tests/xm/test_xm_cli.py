"""xm's command-line frame, end to end with the real binary: help and usage, unique
prefixes and deprecated aliases, error and exit-status rules, connection errors, the client
config file (both formats), -s/--server, and the French translation."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import xendtest
from xendtest import Daemon, run_xm

# Every subcommand the xm issue names; `xm help --long` must list exactly these.
COMMANDS = """list create new delete start shutdown reboot destroy pause unpause suspend
resume save restore mem-set mem-max vcpu-set vcpu-list vcpu-pin block-attach block-detach
block-list network-attach network-detach network-list console dmesg log info domid domname
uptime sysrq rename migrate dumpxml autostart top events call serve help""".split()

LOCALEDIR = os.path.join(os.environ.get("XEND_BUILD_DIR", ""), "po")


class HelpTests(unittest.TestCase):
    def test_bare_xm_prints_usage_and_fails(self):
        p = run_xm()
        self.assertEqual(p.returncode, 1)
        self.assertIn("Usage: xm <subcommand> [args]", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_help_short(self):
        for args in (["help"], ["--help"], ["-h"]):
            p = run_xm(*args)
            self.assertEqual(p.returncode, 0, args)
            self.assertTrue(p.stdout.startswith("Usage: xm <subcommand> [args]"), p.stdout)
            self.assertNotIn("xm full list of subcommands:", p.stdout)
            self.assertIn("  list ", p.stdout)

    def test_help_long_lists_every_command_once(self):
        for flag in ("--long", "-l"):
            p = run_xm("help", flag)
            self.assertEqual(p.returncode, 0)
            self.assertIn("xm full list of subcommands:", p.stdout)
            listed = [line.split()[0] for line in
                      p.stdout.split("xm full list of subcommands:")[1].splitlines()
                      if line.startswith("    ") and line[4:5].isalpha()]
            self.assertEqual(sorted(listed), sorted(COMMANDS))

    def test_command_help(self):
        for args in (["pause", "--help"], ["pause", "-h"], ["help", "pause"]):
            p = run_xm(*args)
            self.assertEqual(p.returncode, 0, args)
            self.assertTrue(p.stdout.startswith("Usage: xm pause <Domain>"), p.stdout)
            self.assertIn("Pause execution of a domain.", p.stdout)

    def test_unknown_global_option(self):
        p = run_xm("-x")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("Error: option -x not recognized"), p.stderr)
        self.assertIn("Usage: xm <subcommand> [args]", p.stderr)

    def test_unknown_command(self):
        p = run_xm("frobnicate")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("Error: Subcommand frobnicate not found!"))
        self.assertIn("Usage: xm <subcommand> [args]", p.stderr)

    def test_ambiguous_prefix(self):
        p = run_xm("d")
        self.assertEqual(p.returncode, 1)
        first = p.stderr.splitlines()[0]
        self.assertTrue(first.startswith("Error: Subcommand d is ambiguous:"), first)
        for c in ("delete", "destroy", "dmesg", "domid", "domname", "dumpxml"):
            self.assertIn(c, first.split())


class DaemonTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        cls.p = cls.d.proxy()
        cls.p.domain.define(xendtest.domain_xml("cli1"))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_unique_prefix_runs_the_command(self):
        full = run_xm("list", daemon=self.d)
        short = run_xm("li", daemon=self.d)
        self.assertEqual(full.returncode, 0, full.stderr)
        self.assertEqual(short.returncode, 0, short.stderr)
        # The same table, but for the Time(s) column: Domain-0's cpu time moves.
        strip = lambda out: [line.rsplit(None, 1)[0] for line in out.splitlines()]
        self.assertEqual(strip(full.stdout), strip(short.stdout))
        self.assertIn("Domain-0", short.stdout)

    def test_deprecated_alias_warns_and_runs(self):
        p = run_xm("vbd-list", "cli1", daemon=self.d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr,
                         "Command vbd-list is deprecated.  Please use xm block-list instead.\n")

    def test_wrong_argument_count_prints_usage(self):
        p = run_xm("pause", daemon=self.d)
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.splitlines()
        self.assertEqual(lines[0], "Error: 'xm pause' requires 1 argument.")
        self.assertEqual(lines[1], "")
        self.assertTrue(lines[2].startswith("Usage: xm pause <Domain>"))
        self.assertEqual(p.stdout, "")

    def test_bad_option_prints_usage(self):
        p = run_xm("pause", "-x", "cli1", daemon=self.d)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("Error: option -x not recognized\n\nUsage: xm pause"))

    def test_fault_is_one_line_without_usage(self):
        p = run_xm("pause", "nosuchdomain", daemon=self.d)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "Error: Domain 'nosuchdomain' does not exist.\n")
        p = run_xm("pause", "cli1", daemon=self.d)  # defined, not running
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertTrue(p.stderr.startswith("Error: "))
        self.assertNotIn("Usage", p.stderr)
        self.assertNotIn("<?xml", p.stderr)

    def test_server_option_overrides_environment(self):
        for args in (["-s", "unix://" + self.d.socket, "list"],
                     ["list", "--server", "unix://" + self.d.socket],
                     ["--server=unix://" + self.d.socket, "list"]):
            p = run_xm(*args, uri="unix:///nonexistent/xend.sock")
            self.assertEqual(p.returncode, 0, (args, p.stderr))
            self.assertIn("cli1", p.stdout)

    def test_json_flag_anywhere(self):
        a = run_xm("--json", "list", daemon=self.d)
        b = run_xm("list", "--json", daemon=self.d)
        self.assertEqual(a.returncode, 0, a.stderr)
        # Domain-0's cpu_time moves between the two calls: compare what stands still.
        names = [r["name"] for r in json.loads(a.stdout)]
        self.assertEqual(names, [r["name"] for r in json.loads(b.stdout)])
        self.assertEqual(names[0], "Domain-0")
        self.assertIn("cli1", names)

    def test_config_file_key_value(self):
        with tempfile.TemporaryDirectory() as t:
            cfg = os.path.join(t, "xm.conf")
            with open(cfg, "w") as f:
                f.write(f"# test config\nuri = unix://{self.d.socket}\nformat = json\n")
            p = run_xm("list", env={"XM_CONFIG_FILE": cfg})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("cli1", [r["name"] for r in json.loads(p.stdout)])

    def test_config_file_xm_config_xml(self):
        with tempfile.TemporaryDirectory() as t:
            cfg = os.path.join(t, "xm-config.xml")
            with open(cfg, "w") as f:
                f.write(f"<xm>\n  <server type='LegacyXMLRPC' uri='unix://{self.d.socket}'/>"
                        "\n</xm>\n")
            p = run_xm("list", env={"XM_CONFIG_FILE": cfg})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("cli1", p.stdout)

    def test_bad_config_file_names_the_line(self):
        with tempfile.TemporaryDirectory() as t:
            cfg = os.path.join(t, "xm.conf")
            with open(cfg, "w") as f:
                f.write("uri = unix:///x\nthis is not a setting\n")
            p = run_xm("list", env={"XM_CONFIG_FILE": cfg})
            self.assertEqual(p.returncode, 1)
            self.assertTrue(p.stderr.startswith("Error: "), p.stderr)
            self.assertIn(f"{cfg}:2", p.stderr)


class ConnectionErrorTests(unittest.TestCase):
    def test_no_daemon(self):
        p = run_xm("list", uri="unix:///nonexistent/xend.sock")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertTrue(p.stderr.startswith("Error: Unable to connect to xend"), p.stderr)
        self.assertTrue(p.stderr.rstrip().endswith("Is xend running?"), p.stderr)

    def test_help_needs_no_daemon(self):
        p = run_xm("help", uri="unix:///nonexistent/xend.sock")
        self.assertEqual(p.returncode, 0)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"),
                         "needs root and setpriv to run xm as nobody")
    def test_permission_denied_names_the_socket(self):
        d = Daemon(config={"socket_mode": "0600"}).start()
        try:
            # xm must be reachable by nobody: copy it (and nothing else) out of the build
            # tree, which may sit under a directory nobody cannot enter.
            with tempfile.TemporaryDirectory() as t:
                os.chmod(t, 0o755)
                os.chmod(d.dir, 0o755)
                env = dict(os.environ, XM_SERVER="unix://" + d.socket,
                           XM_CONFIG_FILE="/nonexistent", LC_ALL="C")
                xm = os.path.join(t, "xm")
                shutil.copy(xendtest.XM, xm)
                os.chmod(xm, 0o755)
                p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                    "--clear-groups", xm, "list"], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            if "error while loading shared libraries" in p.stderr:
                self.skipTest("libxend.so of the build tree is not reachable by nobody")
            self.assertEqual(p.returncode, 1)
            self.assertTrue(p.stderr.startswith("Error: "), p.stderr)
            self.assertIn(d.socket, p.stderr)
            self.assertIn("ermission denied", p.stderr)
        finally:
            d.stop()


class TranslationTests(unittest.TestCase):
    def run_fr(self, *args, **env):
        e = {"XM_LOCALEDIR": LOCALEDIR, "LANGUAGE": "fr"}
        e.update(env)
        p = run_xm(*args, env=e)
        return p

    @unittest.skipUnless(os.path.exists(os.path.join(LOCALEDIR, "fr", "LC_MESSAGES", "xm.mo")),
                         "the build has no French catalogue")
    def test_help_in_french(self):
        # run_xm sets LC_ALL=C: LANGUAGE alone must still select the translation.
        p = self.run_fr("help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("Utilisation : xm <sous-commande> [arguments]"),
                        p.stdout)
        self.assertIn("Suspendre l'exécution d'un domaine.", run_fr_pause(self))
        p = self.run_fr("frobnicate")
        self.assertTrue(p.stderr.startswith("Erreur : "), p.stderr)
        # Without LANGUAGE the same binary speaks English.
        self.assertTrue(run_xm("help").stdout.startswith("Usage: xm"))


def run_fr_pause(t):
    return t.run_fr("help", "pause").stdout


if __name__ == "__main__":
    xendtest.main()
