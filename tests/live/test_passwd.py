"""`xend passwd`, the real binary, on real files: the line it writes (NAME:CLASS:HASH, a
yescrypt hash that Python's crypt verifies), mode 0600, changing the access class and
keeping it, deleting, every refusal (unknown user, bad names, empty, over-long and NUL
passwords, usage errors) with one error line and the file untouched, comments and other
lines kept byte for byte, a file written by Python (sha512crypt) edited without losing
lines, the terminal path (typed twice without echo, through a pty), and a running daemon
that lets users of such a file in over TCP and picks up changes without a restart."""
import os
import pty
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import termios
import time
import unittest
import warnings

import xendtest
from xendtest import Daemon, wait_for, write_passwd

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

TIMEOUT = 60 * xendtest.SLOW
MAX_PASSWORD = 511  # what crypt(3) can hash
PROMPTS = [b"New password for alice: ", b"Retype the new password: "]


def verifies(password, hash_):
    return crypt.crypt(password, hash_) == hash_


class PasswdCommandTests(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="xend-test-passwd-")
        self.path = os.path.join(self.dir, "passwd")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_passwd(self, *args, input="pw\n", file=True):
        """xend passwd [--file PATH] ARGS with input on stdin (a pipe, not a terminal)."""
        cmd = xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd"]
        if file:
            cmd += ["--file", self.path]
        data = input.encode() if isinstance(input, str) else input
        p = subprocess.run(cmd + list(args), input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        p.stdout = p.stdout.decode(errors="replace")
        p.stderr = p.stderr.decode(errors="replace")
        return p

    def assertFails(self, p, rc, *needles):
        """Exit status rc, exactly one error line on stderr, mentioning every needle."""
        self.assertEqual(p.returncode, rc, p.stderr)
        errors = [l for l in p.stderr.splitlines() if l.startswith("xend passwd: error: ")]
        self.assertEqual(len(errors), 1, p.stderr)
        for n in needles:
            self.assertIn(n, errors[0])

    def read(self):
        with open(self.path, "rb") as f:
            return f.read()

    def entries(self):
        """{name: (class, hash)} of the file, asserting every user line's shape."""
        out = {}
        for line in self.read().decode().splitlines():
            if not line or line.lstrip().startswith("#"):
                continue
            name, cls, hash_ = line.split(":")
            self.assertNotIn(name, out)
            out[name] = (cls, hash_)
        return out

    def test_add_user(self):
        p = self.run_passwd("alice", input="s3cret pass\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alice", p.stdout)
        self.assertEqual(p.stderr, "")
        data = self.read().decode()
        self.assertRegex(data, r"\Aalice:read:\$y\$[./0-9A-Za-z$]+\n\Z")
        hash_ = data.strip().split(":", 2)[2]
        self.assertTrue(verifies("s3cret pass", hash_))
        self.assertFalse(verifies("s3cret pass\n", hash_))
        self.assertFalse(verifies("s3cret", hash_))
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(os.listdir(self.dir), ["passwd"])  # no passwd.new left

    def test_password_line_rules(self):
        # Only the newline goes; blanks are part of the password; only one line is read;
        # input without a newline is fine.
        self.assertEqual(self.run_passwd("a", input=" two words \n").returncode, 0)
        self.assertEqual(self.run_passwd("b", input="first\nsecond\n").returncode, 0)
        self.assertEqual(self.run_passwd("c", input="no newline").returncode, 0)
        self.assertEqual(self.run_passwd("d", input="x" * MAX_PASSWORD + "\n").returncode, 0)
        e = self.entries()
        self.assertTrue(verifies(" two words ", e["a"][1]))
        self.assertFalse(verifies("two words", e["a"][1]))
        self.assertTrue(verifies("first", e["b"][1]))
        self.assertTrue(verifies("no newline", e["c"][1]))
        self.assertTrue(verifies("x" * MAX_PASSWORD, e["d"][1]))

    def test_access_change_and_keep(self):
        self.assertEqual(self.run_passwd("--access", "admin", "alice", input="one\n").returncode, 0)
        self.assertEqual(self.entries()["alice"][0], "admin")
        # A new password without --access keeps the class.
        p = self.run_passwd("alice", input="two\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        cls, hash_ = self.entries()["alice"]
        self.assertEqual(cls, "admin")
        self.assertTrue(verifies("two", hash_))
        self.assertFalse(verifies("one", hash_))
        for cls in ("write", "read", "admin"):
            p = self.run_passwd("-a", cls, "alice", input="three\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.entries()["alice"][0], cls)
        self.assertEqual(len(self.entries()), 1)

    def test_delete(self):
        for name, cls in (("alice", "write"), ("bob", "admin"), ("carol", "read")):
            self.assertEqual(self.run_passwd("--access", cls, name, input=name + "\n").returncode, 0)
        p = self.run_passwd("--delete", "bob", input="")
        self.assertEqual(p.returncode, 0, p.stderr)
        e = self.entries()
        self.assertEqual(sorted(e), ["alice", "carol"])
        self.assertEqual(e["alice"][0], "write")
        self.assertTrue(verifies("carol", e["carol"][1]))
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        before = self.read()
        self.assertFails(self.run_passwd("-d", "bob", input=""), 1, "no user 'bob'")
        self.assertFails(self.run_passwd("-d", "nobody", input=""), 1, "no user 'nobody'")
        self.assertEqual(self.read(), before)

    def test_delete_without_file(self):
        self.assertFails(self.run_passwd("--delete", "alice", input=""), 1, "no user 'alice'")
        self.assertFalse(os.path.exists(self.path))

    def test_bad_names_refused(self):
        for name in ("bad name", "al:ice", "al/ice", "ümlaut", "a" * 65, "#alice", "alice\n"):
            with self.subTest(name=name):
                self.assertFails(self.run_passwd(name), 2, "invalid user name")
        self.assertFalse(os.path.exists(self.path))
        # The longest name and every allowed character.
        name = "A-z_0.9" + "x" * 57
        self.assertEqual(len(name), 64)
        self.assertEqual(self.run_passwd(name).returncode, 0)
        self.assertIn(name, self.entries())

    def test_bad_passwords_refused(self):
        self.assertEqual(self.run_passwd("alice", input="keep\n").returncode, 0)
        before = self.read()
        cases = [("", "empty password"), ("\n", "empty password"),
                 ("x" * (MAX_PASSWORD + 1) + "\n", "longer than 511 bytes"),
                 (b"nul\x00byte\n", "NUL")]
        for data, needle in cases:
            with self.subTest(needle=needle, size=len(data)):
                self.assertFails(self.run_passwd("alice", input=data), 1, needle)
                self.assertFails(self.run_passwd("newbie", input=data), 1, needle)
        self.assertEqual(self.read(), before)
        self.assertTrue(verifies("keep", self.entries()["alice"][1]))

    def test_usage_errors(self):
        cases = [((), "which user"), (("alice", "bob"), "unexpected argument 'bob'"),
                 (("--access", "root", "alice"), "unknown access class 'root'"),
                 (("--delete", "--access", "read", "alice"), "cannot be used together"),
                 (("--bogus", "alice"), "unknown option '--bogus'"),
                 (("-x", "alice"), "unknown option '-x'"),
                 (("alice", "--access"), "needs a value")]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assertFails(self.run_passwd(*args), 2, needle)
        self.assertFalse(os.path.exists(self.path))
        p = self.run_passwd("--help", file=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usage: xend passwd", p.stdout)
        self.assertIn("read for a new user", p.stdout)
        self.assertEqual(p.stderr, "")
        # The daemon's own help points at the subcommand.
        p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "--help"],
                           stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
        self.assertIn("xend passwd", p.stdout)

    def test_default_file_named(self):
        """Without --file, the system file is meant (and named in errors and help)."""
        p = self.run_passwd("--help", file=False)
        self.assertRegex(p.stdout, r"default \S*/xend/passwd\)")

    def test_missing_directory(self):
        self.path = os.path.join(self.dir, "no", "such", "passwd")
        self.assertFails(self.run_passwd("alice"), 1, os.path.join(self.dir, "no", "such"))

    def test_comments_and_other_lines_kept(self):
        other = crypt.crypt("bob pw", crypt.mksalt(crypt.METHOD_SHA512))
        original = ("# xend users: NAME:CLASS:HASH\n"
                    "\n"
                    "   # indented comment, then blanks\n"
                    "\t \n"
                    f"bob:write:{other}\n"
                    "# between\r\n"
                    f"alice:read:{other}   \n"
                    "#   trailing comment without newline").encode()
        with open(self.path, "wb") as f:
            f.write(original)
        os.chmod(self.path, 0o600)
        p = self.run_passwd("-a", "admin", "alice", input="new alice\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = self.read().split(b"\n")
        old = original.split(b"\n")
        self.assertEqual(len(lines), len(old))
        self.assertEqual(lines[:6], old[:6])  # untouched up to alice, CR included
        self.assertTrue(lines[6].startswith(b"alice:admin:$y$"))
        self.assertTrue(verifies("new alice", lines[6].decode().split(":", 2)[2]))
        self.assertEqual(lines[7], old[7])  # still without a newline
        # A new user goes at the end, after a newline added to the unterminated last line.
        p = self.run_passwd("carol", input="c\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines2 = self.read().split(b"\n")
        self.assertEqual(lines2[:8], lines[:8])
        self.assertTrue(lines2[8].startswith(b"carol:read:$y$"))
        # Deleting removes only the user's line.
        self.assertEqual(self.run_passwd("-d", "alice", input="").returncode, 0)
        lines3 = self.read().split(b"\n")
        self.assertEqual(lines3, lines2[:6] + lines2[7:])

    def test_python_file_accepted_and_edited(self):
        users = {"bob": ("bob pw", "write"), "carol": ("carol pw", "admin"),
                 "dave": ("dave pw", "read")}
        write_passwd(self.path, users)
        original = self.read()
        self.assertEqual(original.count(b":$6$"), 3)
        os.chmod(self.path, 0o644)  # a bad mode is repaired by the rewrite
        p = self.run_passwd("alice", input="alice pw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        data = self.read()
        self.assertTrue(data.startswith(original))
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        e = self.entries()
        self.assertEqual(sorted(e), ["alice", "bob", "carol", "dave"])
        for name, (pw, cls) in users.items():
            self.assertEqual(e[name][0], cls)
            self.assertTrue(verifies(pw, e[name][1]))
        self.assertTrue(e["alice"][1].startswith("$y$"))
        # Changing a sha512crypt user gives them a yescrypt hash, in place.
        self.assertEqual(self.run_passwd("carol", input="new carol\n").returncode, 0)
        lines = self.read().decode().splitlines()
        self.assertTrue(lines[1].startswith("carol:admin:$y$"), lines)
        self.assertEqual(lines[0], original.decode().splitlines()[0])
        self.assertEqual(lines[2], original.decode().splitlines()[2])

    def test_full_file_not_broken(self):
        """At the user limit, adding one more is refused and the file stays as it was;
        changing an existing user still works."""
        # 10,000 sha512crypt lines would pass the 1 MiB bound; yescrypt lines fit.
        p = self.run_passwd("u0", input="pw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        yes = self.entries()["u0"][1]
        with open(self.path, "w") as f:
            f.write("".join(f"u{i}:read:{yes}\n" for i in range(10000)))
        os.chmod(self.path, 0o600)
        before = self.read()
        self.assertFails(self.run_passwd("one-more"), 1, "more than 10000 users",
                         "nothing changed")
        self.assertEqual(self.read(), before)
        p = self.run_passwd("-a", "admin", "u9999", input="pw2\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        e = self.entries()
        self.assertEqual(len(e), 10000)
        self.assertEqual(e["u9999"][0], "admin")

    def test_concurrent_runs_lose_nothing(self):
        """Eight runs at once, each adding a user: the directory lock serialises their
        read-modify-write, so every user is in the file at the end."""
        names = [f"user{i}" for i in range(8)]
        procs = [subprocess.Popen(xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd", "--file",
                                                      self.path, name],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for name in names]
        for p in procs:  # all are given their password before any is waited for
            p.stdin.write(b"pw\n")
            p.stdin.close()
        for p in procs:
            self.assertEqual(p.wait(timeout=TIMEOUT), 0, p.stderr.read())
            p.stderr.close()
        self.assertEqual(sorted(self.entries()), names)

    def test_broken_file_still_edited_with_warning(self):
        with open(self.path, "w") as f:
            f.write("broken line\n")
        os.chmod(self.path, 0o600)
        p = self.run_passwd("alice")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning", p.stderr)
        self.assertIn(":1:", p.stderr)
        self.assertEqual(self.read().split(b"\n")[0], b"broken line")


class PasswdTerminalTests(unittest.TestCase):
    """The password typed at a terminal: a pty is the child's controlling terminal and its
    stdin, as when an administrator runs the command."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="xend-test-passwd-tty-")
        self.path = os.path.join(self.dir, "passwd")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_tty(self, answers, prompts=PROMPTS):
        """Run xend passwd on a pty, answer each prompt in turn; return (status, output).
        self.lflag receives the terminal's local modes as the command left them."""
        argv = xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd", "--file", self.path, "alice"]
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + TIMEOUT
        pending = list(answers)
        try:
            while time.monotonic() < deadline:
                # Each answer goes once its prompt has been shown.
                sent = len(answers) - len(pending)
                if pending and prompts[sent] in out:
                    os.write(fd, pending.pop(0))
                r, _, _ = select.select([fd], [], [], 0.1)
                if not r:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            else:
                os.kill(pid, signal.SIGKILL)
                self.fail("xend passwd on a terminal did not finish: %r" % out)
        finally:
            _, status = os.waitpid(pid, 0)
            # The master reports the terminal's settings as the child left them.
            self.lflag = termios.tcgetattr(fd)[3]
            os.close(fd)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    def test_typed_twice_without_echo(self):
        rc, out = self.run_tty([b"typed secret\n", b"typed secret\n"])
        self.assertEqual(rc, 0, out)
        self.assertIn("New password for alice", out)
        self.assertIn("Retype", out)
        self.assertNotIn("typed secret", out)  # never echoed
        with open(self.path) as f:
            name, cls, hash_ = f.read().strip().split(":")
        self.assertEqual((name, cls), ("alice", "read"))
        self.assertTrue(verifies("typed secret", hash_))

    def test_mismatch_refused(self):
        rc, out = self.run_tty([b"one\n", b"two\n"])
        self.assertEqual(rc, 1, out)
        self.assertIn("xend passwd: error: the two passwords differ", out)
        self.assertFalse(os.path.exists(self.path))
        rc, out = self.run_tty([b"\n"])
        self.assertEqual(rc, 1, out)
        self.assertIn("empty password", out)
        self.assertTrue(self.lflag & termios.ECHO)

    def test_interrupt_restores_echo(self):
        """Ctrl-C at the prompt ends the command by SIGINT, with echo back on."""
        rc, out = self.run_tty([b"half\x03"])
        self.assertEqual(rc, -signal.SIGINT, out)
        self.assertNotIn("half", out)
        self.assertTrue(self.lflag & termios.ECHO)
        self.assertFalse(os.path.exists(self.path))


class PasswdDaemonTests(unittest.TestCase):
    """A running xend (plain HTTP on loopback, HTTP Basic) with a file written by Python
    and edited by `xend passwd` while it runs."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=True, config={"tcp_auth": "basic", "auth_max_failures": "1000"})
        cls.path = cls.daemon.passwd_file
        cls.daemon_config_passwd()
        write_passwd(cls.path, {"bob": ("bob pw", "write")})
        cls.run_passwd(["alice", "--access", "admin"], "alice pw\n")
        cls.daemon.start()

    @classmethod
    def daemon_config_passwd(cls):
        with open(cls.daemon.conf_path, "a") as f:
            f.write(f"passwd_file = {cls.path}\n")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    @classmethod
    def run_passwd(cls, args, input):
        p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd", "--file", cls.path] +
                           args, input=input.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        return p

    def test_users_of_both_methods_log_in(self):
        self.assertTrue(self.daemon.tcp_login("bob", "bob pw"))  # sha512crypt, written by Python
        self.assertTrue(self.daemon.tcp_login("alice", "alice pw"))  # yescrypt, by xend passwd
        self.assertFalse(self.daemon.tcp_login("alice", "bob pw"))
        self.assertFalse(self.daemon.tcp_login("nobody", "bob pw"))

    def test_changes_picked_up_without_restart(self):
        self.run_passwd(["carol"], "carol pw\n")
        self.assertTrue(wait_for(lambda: self.daemon.tcp_login("carol", "carol pw"), timeout=10))
        self.run_passwd(["carol"], "carol new\n")
        self.assertTrue(wait_for(lambda: self.daemon.tcp_login("carol", "carol new"), timeout=10))
        self.assertFalse(self.daemon.tcp_login("carol", "carol pw"))  # cached success forgotten
        self.run_passwd(["--delete", "carol"], "")
        self.assertTrue(wait_for(lambda: not self.daemon.tcp_login("carol", "carol new"), timeout=10))
        self.assertTrue(self.daemon.tcp_login("bob", "bob pw"))


if __name__ == "__main__":
    xendtest.main()
