"""PAM users of the password file (hash field `pam`): a real daemon over TLS whose `pam`
user is checked by a private PAM service directory (pam_confdir) holding a service that
runs pam_exec.so with expose_authtok on a script of this test, which accepts exactly one
user/password pair. The user gets the class the password file gives them (write: reads
and writes pass, admin methods are ACCESS_DENIED); a wrong password is a 401 logged and
counted like any failed login (429 past auth_max_failures); PAM runs once per connection,
not per request; crypt users of the same file still sign in; a pam_service without a
service file fails cleanly. Also `xend passwd --pam` on a real file."""
import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml

ACCESS_DENIED = 4
TIMEOUT = 60 * xendtest.SLOW
CAROL_PW = "carol's p\u00e4ss word"  # blanks, a quote and UTF-8 go through PAM unchanged
USERS = {"alice": ("alice pw", "admin")}  # a crypt user next to the PAM one


def pam_module(name):
    """The path of a PAM module on this machine, or None."""
    for d in ("/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
              "/usr/lib64/security", "/lib64/security", "/usr/lib/security", "/lib/security"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    found = glob.glob(f"/usr/lib/*/security/{name}")
    return found[0] if found else None


MISSING = [m for m in ("pam_exec.so", "pam_permit.so") if not pam_module(m)]


def write_pam_service(directory, counter):
    """<directory>/pam.d/xend-test and the script it runs; returns the pam.d path. Every
    run of the script appends a line to counter, so the test can count PAM checks."""
    script = os.path.join(directory, "check-password")
    with open(script, "w") as f:
        f.write(textwrap.dedent(f"""\
            #!{sys.executable}
            # Run by pam_exec expose_authtok: the password on stdin, NUL-terminated.
            import os, sys
            with open({counter!r}, "a") as f:
                f.write(os.environ.get("PAM_USER", "?") + "\\n")
            pw = sys.stdin.buffer.read().rstrip(b"\\0")
            ok = os.environ.get("PAM_USER") == "carol" and pw == {CAROL_PW.encode()!r}
            sys.exit(0 if ok else 1)
            """))
    os.chmod(script, 0o755)
    confdir = os.path.join(directory, "pam.d")
    os.mkdir(confdir)
    with open(os.path.join(confdir, "xend-test"), "w") as f:
        f.write(f"auth required pam_exec.so expose_authtok quiet {script}\n"
                "account required pam_permit.so\n")
    return confdir


def add_pam_user(daemon, name, access):
    p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd", "--pam", "--access",
                                           access, "--file", daemon.passwd_file, name],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr


def pam_daemon(config=None):
    """A TLS daemon whose password file has alice (crypt, admin) and carol (pam, write),
    with the private PAM service xend-test. Not started."""
    d = Daemon(tls=True, users=USERS, config=config)
    d.counter = os.path.join(d.dir, "pam-checks")
    confdir = write_pam_service(d.dir, d.counter)
    with open(d.conf_path, "a") as f:
        f.write(f"pam_confdir = {confdir}\n")
        if "pam_service" not in (config or {}):
            f.write("pam_service = xend-test\n")
    add_pam_user(d, "carol", "write")
    return d


def pam_checks(daemon):
    if not os.path.exists(daemon.counter):
        return 0
    with open(daemon.counter) as f:
        return len(f.read().splitlines())


@unittest.skipIf(MISSING, f"PAM modules missing on this machine: {', '.join(MISSING)}")
class PamDaemonTests(FaultAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = pam_daemon({"auth_max_failures": "1000"}).start()
        if "PAM support is not built in" in cls.daemon.output():
            cls.daemon.stop()
            raise unittest.SkipTest("this xend is built without PAM (libpam0g-dev)")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_pam_user_gets_its_class(self):
        with self.daemon.tcp_proxy("carol", CAROL_PW) as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
            p.domain.define(domain_xml("pam-a"))
            self.assertIn("pam-a", [d["name"] for d in p.domain.list()])
            self.assertFault(ACCESS_DENIED, p.node.log)
            p.domain.undefine("pam-a")
        log = self.daemon.output()
        self.assertIn('audit: user=carol addr=127.0.0.1 (tcp) domain.define(', log)
        self.assertIn(f'audit: user=carol addr=127.0.0.1 (tcp) node.log() -> fault '
                      f'{ACCESS_DENIED}', log)

    def test_pam_runs_once_per_connection(self):
        before = pam_checks(self.daemon)
        with self.daemon.tcp_proxy("carol", CAROL_PW) as p:
            for _ in range(10):
                p.daemon.version()
        self.assertEqual(pam_checks(self.daemon), before + 1)
        # Not cached across connections: PAM decides again.
        self.assertTrue(self.daemon.tcp_login("carol", CAROL_PW))
        self.assertEqual(pam_checks(self.daemon), before + 2)

    def test_wrong_password(self):
        before = pam_checks(self.daemon)
        for password in ("guess-7f3a", CAROL_PW + " ", "", CAROL_PW[:-1]):
            with self.subTest(password=password):
                self.assertFalse(self.daemon.tcp_login("carol", password))
        self.assertGreaterEqual(pam_checks(self.daemon), before + 3)
        log = self.daemon.output()
        self.assertIn("tcp: failed login as 'carol' from 127.0.0.1", log)
        # pam_exec reports a failed command as a system error, other modules as an
        # authentication failure: either way the log says which service and step refused.
        self.assertRegex(log, r"PAM: user 'carol' refused.* service 'xend-test'.*"
                              r"\(pam_authenticate\)")
        self.assertNotIn("guess-7f3a", log)  # the password is never logged
        self.assertTrue(self.daemon.tcp_login("carol", CAROL_PW))

    def test_crypt_user_alongside(self):
        before = pam_checks(self.daemon)
        self.assertTrue(self.daemon.tcp_login("alice", "alice pw"))
        self.assertFalse(self.daemon.tcp_login("alice", CAROL_PW))
        self.assertFalse(self.daemon.tcp_login("nobody", CAROL_PW))
        self.assertEqual(pam_checks(self.daemon), before)  # PAM only for `pam` users
        with self.daemon.tcp_proxy("alice", "alice pw") as p:
            self.assertIsInstance(p.node.log(), str)

    def test_pam_user_is_refused_when_removed_from_file(self):
        # The password file decides who is a user at all; PAM never sees others.
        with open(self.daemon.passwd_file) as f:
            text = f.read()
        try:
            with open(self.daemon.passwd_file, "w") as f:
                f.write(text.replace("carol:write:pam\n", ""))
            self.assertTrue(xendtest.wait_for(lambda: not self.daemon.tcp_login("carol", CAROL_PW),
                                              timeout=10))
        finally:
            with open(self.daemon.passwd_file, "w") as f:
                f.write(text)
        self.assertTrue(xendtest.wait_for(lambda: self.daemon.tcp_login("carol", CAROL_PW), timeout=10))


@unittest.skipIf(MISSING, f"PAM modules missing on this machine: {', '.join(MISSING)}")
class PamFailureTests(unittest.TestCase):

    def test_rate_limited_like_others(self):
        with pam_daemon({"auth_max_failures": "3"}) as d:
            if "PAM support is not built in" in d.output():
                self.skipTest("this xend is built without PAM")
            for _ in range(3):
                with d.tcp_proxy("carol", "guess") as p:
                    with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                        p.daemon.version()
                self.assertEqual(cm.exception.errcode, 401)
            checks = pam_checks(d)
            with d.tcp_proxy("carol", CAROL_PW) as p:
                with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                    p.daemon.version()
            self.assertEqual(cm.exception.errcode, 429)
            self.assertEqual(pam_checks(d), checks)  # blocked before PAM runs
            self.assertIn("tcp: failed login as 'carol' from 127.0.0.1 (3 within 60 s)",
                          d.output())

    def test_missing_service_file(self):
        with pam_daemon({"pam_service": "no-such-service"}) as d:
            if "PAM support is not built in" in d.output():
                self.skipTest("this xend is built without PAM")
            with d.tcp_proxy("carol", CAROL_PW) as p:
                with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                    p.daemon.version()
            self.assertEqual(cm.exception.errcode, 401)
            log = d.output()
            self.assertIn("PAM: user 'carol' refused: service file", log)
            self.assertIn("no-such-service does not exist", log)
            # Still serving, crypt users included.
            with d.tcp_proxy("alice", "alice pw") as p:
                self.assertEqual(p.daemon.version()["product"], "xend")
            self.assertEqual(pam_checks(d), 0)

    def test_bad_config_values_refused(self):
        for key, value, needle in (("pam_service", "../etc/passwd", "invalid value"),
                                   ("pam_service", ".hidden", "invalid value"),
                                   ("pam_service", "a" * 65, "invalid value"),
                                   ("pam_confdir", "relative/dir", "not an absolute path")):
            with self.subTest(key=key, value=value):
                d = Daemon(config={key: value})
                p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "--config",
                                                       d.conf_path, "--check-config"],
                                   capture_output=True, text=True, timeout=TIMEOUT)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(key, p.stderr)
                self.assertIn(needle, p.stderr)
                shutil.rmtree(d.dir, ignore_errors=True)


class PasswdPamCommandTests(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="xend-test-pam-")
        self.path = os.path.join(self.dir, "passwd")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_passwd(self, *args, input=""):
        return subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "passwd", "--file",
                                                  self.path] + list(args),
                              input=input, capture_output=True, text=True, timeout=TIMEOUT)

    def read(self):
        with open(self.path) as f:
            return f.read()

    def test_pam_line_written_and_others_kept(self):
        self.assertEqual(self.run_passwd("--access", "admin", "alice",
                                         input="alice pw\n").returncode, 0)
        with open(self.path, "a") as f:
            f.write("# a comment\n")
        alice = self.read()
        p = self.run_passwd("--pam", "--access", "write", "carol")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("carol", p.stdout)
        self.assertIn("PAM", p.stdout)
        self.assertEqual(self.read(), alice + "carol:write:pam\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        # --pam again keeps the class; a password turns carol back into a crypt user.
        self.assertEqual(self.run_passwd("--pam", "carol").returncode, 0)
        self.assertEqual(self.read(), alice + "carol:write:pam\n")
        self.assertEqual(self.run_passwd("carol", input="carol pw\n").returncode, 0)
        self.assertRegex(self.read(), r"\ncarol:write:\$y\$[^\n]+\n\Z")
        # An existing crypt user becomes a PAM user in place.
        self.assertEqual(self.run_passwd("-p", "alice").returncode, 0)
        lines = self.read().splitlines()
        self.assertEqual(lines[0], "alice:admin:pam")
        self.assertEqual(lines[1], "# a comment")

    def test_pam_with_delete_refused(self):
        p = self.run_passwd("--pam", "--delete", "carol")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--pam and --delete", p.stderr)
        self.assertFalse(os.path.exists(self.path))

    def test_file_with_pam_users_loads(self):
        self.assertEqual(self.run_passwd("--pam", "carol").returncode, 0)
        d = Daemon(tls=True, users={})
        shutil.copy(self.path, d.passwd_file)
        with d:
            # The sockets listen a moment before the line saying so is written.
            self.assertTrue(xendtest.wait_for(lambda: "started" in d.output(),
                                              timeout=10 * xendtest.SLOW))
            out = d.output()
            if "PAM support is not built in" not in out:
                self.assertNotIn("cannot", out)
                return
            # A build without PAM says so at start (above), at sign-in (once) and in
            # --check-config, and refuses the user like a wrong password.
            for _ in range(2):
                with d.tcp_proxy("carol", "x") as p:
                    with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                        p.daemon.version()
                self.assertEqual(cm.exception.errcode, 401)
            self.assertEqual(d.output().count("is a PAM user of the password file, but PAM "
                                              "support is not built in"), 1)
            p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "--config", d.conf_path,
                                                   "--check-config"],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("1 PAM users, but PAM support is not built in", p.stderr)


if __name__ == "__main__":
    xendtest.main()
