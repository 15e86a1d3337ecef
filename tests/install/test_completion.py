"""xm's bash completion (data/bash-completion/xm), sourced in a plain bash (no
bash-completion package needed) with a fake `xm` first on PATH that prints canned
`xm help --long`, `xm list` and `xm call system.listMethods` output and logs how it was
called. Each case sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as bash would (words
split at blanks and at ':' and '=') and checks COMPREPLY.

usage: test_completion.py COMPLETION_SCRIPT
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

SCRIPT = None

HELP_LONG = """Usage: xm <subcommand> [args]

Control, list, and manipulate domains.

Common 'xm' commands:
  console              Attach to <Domain>'s console.
  list                 List information about all/some domains.

<Domain> can either be the Domain Name, Id or UUID.

xm full list of subcommands:

    console              Attach to <Domain>'s console.
    create               Create a domain based on <ConfigFile>.
    list                 List information about all/some domains.
    pause                Pause execution of a domain.
    unpause              Unpause a paused domain.
    autostart            Start a domain when the host boots, or not.
    uptime               Print uptime for a domain.
    domname              Convert a domain id to domain name.
    block-attach         Create a new virtual block device.
    call                 Call any method of the xend API and print the result.
    frobnicate           A command only this fake xm has.
    help                 Display this message.

Global options (before or after the subcommand):
  -s, --server=URI     The xend to talk to (unix:///path, http://host:port/, ssh://host).
  --json               Print the result of a read command as JSON.
"""

LIST = """Name                                      ID   Mem VCPUs      State   Time(s)
Domain-0                                   0  1024     4     r-----     523.1
archive                                    -   256     1     ------       0.0
build                                      -   256     1     ------       0.0
db                                         2   512     1     -b----       3.5
web                                        1   512     1     -b----      12.0
"""

LIST_JSON = """[
  {
    "id": 0,
    "name": "Domain-0",
    "state": "running"
  },
  {
    "id": 7,
    "name": "jsononly",
    "state": "blocked"
  }
]
"""

METHODS = """[
  "daemon.version",
  "domain.list",
  "domain.lookup",
  "domain.pause",
  "system.listMethods"
]
"""

FAKE_XM = r"""#!/bin/sh
# A stand-in for xm: logs its arguments, prints canned output.
printf '%s\n' "$*" >> "$FAKE_XM_LOG"
[ -n "$FAKE_XM_BROKEN" ] && exit 1
for a in "$@"; do last=$a; done
case " $* " in
*" help --long "*) cat "$FAKE_XM_DIR/help-long" ;;
*" list "*)
    if [ -n "$FAKE_XM_JSON" ]; then cat "$FAKE_XM_DIR/list-json"; else cat "$FAKE_XM_DIR/list"; fi ;;
*" call system.listMethods "*) cat "$FAKE_XM_DIR/methods" ;;
*) exit 1 ;;
esac
"""


def split_like_bash(line):
    """COMP_WORDS for a command line: blanks separate words, and ':' and '=' (from
    COMP_WORDBREAKS) are words of their own. A trailing blank starts an empty word."""
    words = []
    for tok in line.split():
        words += [w for w in re.split(r"([:=])", tok) if w != ""]
    if line.endswith(" ") or not words:
        words.append("")
    return words


class Completion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xm-completion-")
        cls.bin = os.path.join(cls.tmp, "bin")
        os.mkdir(cls.bin)
        for name, text in (("help-long", HELP_LONG), ("list", LIST), ("list-json", LIST_JSON),
                           ("methods", METHODS)):
            with open(os.path.join(cls.tmp, name), "w") as f:
                f.write(text)
        xm = os.path.join(cls.bin, "xm")
        with open(xm, "w") as f:
            f.write(FAKE_XM)
        os.chmod(xm, 0o755)
        cls.files = os.path.join(cls.tmp, "files")
        os.mkdir(cls.files)
        for name in ("domain.cfg", "disk.img"):
            open(os.path.join(cls.files, name), "w").close()
        cls.log = os.path.join(cls.tmp, "log")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def complete(self, line, **env_extra):
        """COMPREPLY (sorted) for the command line `line`, cursor at its end."""
        words = split_like_bash(line)
        prog = (
            f"source {shlex.quote(SCRIPT)}\n"
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
            f"COMP_CWORD={len(words) - 1}\n"
            f"COMP_LINE={shlex.quote(line)}\n"
            f"COMP_POINT={len(line)}\n"
            f"_xm xm {shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else '')}\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        env = dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", ""),
                   FAKE_XM_DIR=self.tmp, FAKE_XM_LOG=self.log, **env_extra)
        if os.path.exists(self.log):
            os.unlink(self.log)
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "", "the completion printed errors")
        return sorted(l for l in r.stdout.split("\n") if l)

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()

    # -- subcommands --
    def test_subcommand_prefix(self):
        self.assertEqual(self.complete("xm li"), ["list"])

    def test_subcommands_come_from_help_long(self):
        self.assertEqual(self.complete("xm fro"), ["frobnicate"])
        self.assertIn("help --long", self.calls())

    def test_subcommands_static_fallback(self):
        # xm cannot answer: the list of xm(1) is used.
        self.assertEqual(self.complete("xm li", FAKE_XM_BROKEN="1"), ["list"])
        self.assertEqual(self.complete("xm vcpu-", FAKE_XM_BROKEN="1"),
                         ["vcpu-list", "vcpu-pin", "vcpu-set"])
        self.assertEqual(self.complete("xm fro", FAKE_XM_BROKEN="1"), [])

    def test_global_options(self):
        self.assertEqual(self.complete("xm --j"), ["--json"])
        self.assertIn("--server", self.complete("xm -"))

    def test_help_topic(self):
        self.assertEqual(self.complete("xm help unp"), ["unpause"])

    # -- domains --
    def test_pause_domains(self):
        self.assertEqual(self.complete("xm pause "),
                         ["Domain-0", "archive", "build", "db", "web"])
        self.assertEqual(self.complete("xm pause w"), ["web"])

    def test_only_first_argument_is_a_domain(self):
        self.assertEqual(self.complete("xm pause web "), [])

    def test_unique_prefix_and_alias_commands(self):
        self.assertEqual(self.complete("xm unp d"), ["db"])       # unpause
        self.assertEqual(self.complete("xm balloon a"), ["archive"])  # = mem-set

    def test_list_takes_many_domains(self):
        self.assertEqual(self.complete("xm list web d"), ["db"])

    def test_domname_ids(self):
        self.assertEqual(self.complete("xm domname "), ["0", "1", "2"])

    def test_json_list_output(self):
        # format = json in xm.conf makes `xm list` print JSON.
        self.assertEqual(self.complete("xm pause ", FAKE_XM_JSON="1"), ["Domain-0", "jsononly"])

    def test_server_option_is_passed_on(self):
        self.assertEqual(self.complete("xm -s unix:///tmp/x.sock pause w"), ["web"])
        self.assertIn("-s unix:///tmp/x.sock list", self.calls())
        self.assertEqual(self.complete("xm pause --server=http://h:8006/ w"), ["web"])
        self.assertIn("--server=http://h:8006/ list", self.calls())

    def test_uptime_short_flag_is_not_the_server(self):
        self.assertEqual(self.complete("xm uptime -s w"), ["web"])
        self.assertIn("list", self.calls())

    # -- other arguments --
    def test_autostart_on_off(self):
        self.assertEqual(self.complete("xm autostart web "), ["off", "on"])
        self.assertEqual(self.complete("xm autostart web o"), ["off", "on"])
        self.assertEqual(self.complete("xm autostart web on "), [])

    def test_options(self):
        got = self.complete("xm shutdown -")
        for o in ("-w", "--wait", "-a", "-R", "-H", "--help"):
            self.assertIn(o, got)
        self.assertEqual(self.complete("xm list --l"), ["--long"])

    def test_state_values(self):
        self.assertEqual(self.complete("xm list --state pa"), ["paused"])
        # bash only replaces what follows the '=', so that is what is offered
        self.assertEqual(self.complete("xm list --state=sh"), ["shutdown", "shutoff"])

    def test_files(self):
        self.assertEqual(self.complete(f"xm create {self.files}/dom"),
                         [f"{self.files}/domain.cfg"])
        self.assertEqual(self.complete(f"xm restore {self.files}/di"), [f"{self.files}/disk.img"])
        self.assertEqual(self.complete(f"xm save web {self.files}/do"),
                         [f"{self.files}/domain.cfg"])

    def test_block_attach(self):
        self.assertEqual(self.complete("xm block-attach web fi"), ["file:"])
        # after "file:" bash replaces the text after the colon: the path alone
        self.assertEqual(self.complete(f"xm block-attach web file:{self.files}/di"),
                         [f"{self.files}/disk.img"])
        self.assertEqual(self.complete("xm block-attach web file:/x "), [])  # FRONTDEV
        self.assertEqual(self.complete("xm block-attach web file:/x xvdb "), ["r", "w", "w!"])
        self.assertEqual(self.complete("xm block-attach web tap:aio:/x xvdb w"), ["w", "w!"])

    def test_call_methods(self):
        self.assertEqual(self.complete("xm call domain.l"), ["domain.list", "domain.lookup"])


if __name__ == "__main__":
    SCRIPT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
