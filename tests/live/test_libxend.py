"""libxend, the C client library, against a real xend: a small C program
(tests/live/libxend-client.c, path in XEND_LIBXEND_CLIENT) calls methods over unix://,
httpu:// and http://, and the tests check results, faults, transport errors, keep-alive
reuse of one connection and the single reconnect after the daemon's idle timeout."""
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import xendtest
from xendtest import Daemon

CLIENT = os.environ.get("XEND_LIBXEND_CLIENT", "")


def run_client(*args, timeout=30):
    p = subprocess.run(xendtest.WRAPPER + [CLIENT] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout * xendtest.SLOW)
    return p.returncode, p.stdout, p.stderr


class LibxendTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def uris(self):
        return [f"unix://{self.daemon.socket}", f"httpu://{self.daemon.socket}",
                f"http://127.0.0.1:{self.daemon.tcp_port}/",
                f"http://localhost:{self.daemon.tcp_port}/RPC2"]

    def call_ok(self, *args):
        rc, out, err = run_client(*args)
        self.assertEqual(rc, 0, out + err)
        return out

    def test_daemon_version(self):
        for uri in self.uris():
            with self.subTest(uri=uri):
                out = self.call_ok(uri, "daemon.version")
                self.assertIn("<name>product</name><value><string>xend</string>", out)
                self.assertIn("<name>api</name><value><string>1.0</string>", out)

    def test_domain_list(self):
        for uri in self.uris()[:3]:
            with self.subTest(uri=uri):
                out = self.call_ok(uri, "domain.list")
                self.assertTrue(out.startswith("<value><array><data>"), out)

    def test_arguments(self):
        uri = self.uris()[0]
        out = self.call_ok(uri, "system.methodHelp", "daemon.version")
        self.assertIn("api", out)
        # several arguments go through xend_call_value; daemon.version takes none
        rc, out, _ = run_client(uri, "daemon.version", "i:1", "s:x")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault -32602 INVALID_PARAMS: ")

    def test_fault_no_domain(self):
        for uri in self.uris()[:3]:
            with self.subTest(uri=uri):
                rc, out, _ = run_client(uri, "domain.lookup", "nosuch")
                self.assertEqual(rc, 1, out)
                self.assertRegex(out, r"^fault 3 NO_DOMAIN: .*nosuch")

    def test_unknown_method(self):
        rc, out, _ = run_client(self.uris()[0], "no.such.method")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault -32601 METHOD_NOT_FOUND: .*no\.such\.method")

    def test_connection_refused(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "dead.sock")
            s = socket.socket(socket.AF_UNIX)
            s.bind(path)  # a socket file nobody listens on
            s.close()
            rc, out, _ = run_client(f"unix://{path}", "daemon.version")
            self.assertEqual(rc, 1)
            self.assertEqual(out.strip(), f"fault 12 SYSTEM: Unable to connect to xend at "
                             f"unix://{path}: Connection refused")
        port = xendtest.free_tcp_port()
        rc, out, _ = run_client(f"http://127.0.0.1:{port}/", "daemon.version")
        self.assertEqual(rc, 1)
        self.assertIn("Unable to connect to xend at http://127.0.0.1:", out)
        self.assertIn("Connection refused", out)

    def test_unresolvable_host(self):
        rc, out, _ = run_client("http://nosuchhost.invalid:8006/", "daemon.version")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault 23 NO_HOST: .*nosuchhost\.invalid")

    def test_unsupported_schemes(self):
        for uri in ("https://127.0.0.1:8006/", "ssh://root@host/"):
            with self.subTest(uri=uri):
                rc, out, _ = run_client(uri, "daemon.version")
                self.assertEqual(rc, 1)
                self.assertRegex(out, r"^fault 5 UNSUPPORTED: .*not supported")

    def client_for_nobody(self):
        """A copy of the client and libxend that nobody can run: the build tree may sit in a
        directory only its owner can enter (a fresh clone in a mktemp dir)."""
        tmp = tempfile.mkdtemp(prefix="xend-test-client-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        client = shutil.copy(CLIENT, tmp)
        libdir = os.path.join(os.environ["XEND_BUILD_DIR"], "src", "lib")
        for name in os.listdir(libdir):
            if name.startswith("libxend.so") and not name.endswith(".p"):
                shutil.copy(os.path.join(libdir, name), tmp)
        for name in os.listdir(tmp):
            os.chmod(os.path.join(tmp, name), 0o755)
        return client, dict(os.environ, LD_LIBRARY_PATH=tmp)

    def test_permission_denied(self):
        # root bypasses socket permissions: as root, run the client as nobody instead
        # (needs setpriv); otherwise take write access away from ourselves.
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                self.skipTest("running as root and setpriv is missing")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        client, env = (self.client_for_nobody() if prefix else (CLIENT, None))
        with Daemon() as d:
            os.chmod(d.dir, 0o711)  # reachable, so the socket itself is what refuses
            os.chmod(d.socket, 0o600 if prefix else 0)
            try:
                p = subprocess.run(prefix + [client, f"unix://{d.socket}", "daemon.version"],
                                   stdout=subprocess.PIPE, text=True, timeout=30, env=env)
            finally:
                os.chmod(d.socket, 0o600)
                os.chmod(d.dir, 0o700)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(f"fault 12 SYSTEM: Unable to connect to xend at unix://{d.socket}: "
                          f"permission denied on socket {d.socket}", p.stdout)
            self.assertIn("write access", p.stdout)

    @staticmethod
    def client_connections(d):
        """Connections the daemon logged from processes other than this test (whose own
        readiness probe may be logged late)."""
        me = f"pid={os.getpid()} "
        return sum(1 for line in d.output().splitlines()
                   if "connection opened" in line and me not in line)

    def test_keep_alive(self):
        with Daemon() as d:
            out = self.call_ok("--calls", 3, f"unix://{d.socket}", "daemon.version")
            self.assertEqual(out.count("<name>product</name>"), 3)
            self.assertEqual(self.client_connections(d), 1, d.output())

    def test_reconnect_after_idle_timeout(self):
        with Daemon(config={"idle_timeout": "1"}) as d:
            out = self.call_ok("--calls", 2, "--sleep", 2, f"unix://{d.socket}",
                               "daemon.version")
            self.assertEqual(out.count("<name>product</name>"), 2)
            # the daemon closed the first connection; libxend opened a second one itself
            self.assertEqual(self.client_connections(d), 2, d.output())

    def test_read_timeout(self):
        # event.next long-polls: a 300 ms read bound ends the wait with a clear error
        with Daemon() as d:
            rc, out, _ = run_client("--timeout", 300, f"unix://{d.socket}", "event.next",
                                    "I:0", "i:10000")
            self.assertEqual(rc, 1, out)
            self.assertIn("did not reply within 300 ms", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
