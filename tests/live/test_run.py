"""`make run` (scripts/xend-run): the daemon starts on the simulated host under a private
directory with the sample domains (web and db running, build offline, archive suspended),
prints how to reach it (the web page's address, the user admin and its generated password,
which TCP requires: plain HTTP on loopback with HTTP Basic), stops cleanly on Ctrl-C
(SIGINT to the process group), and a second run finds the domains as they were left
(running ones re-attached) and keeps the password."""
import os
import re
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import xmlrpc.client

import xendtest

SRC = os.environ["XEND_SOURCE_DIR"]
BUILD = os.environ["XEND_BUILD_DIR"]


class MakeRun(unittest.TestCase):
    def start(self, rundir, port):
        env = dict(os.environ, XEND_RUN_DIR=rundir, XEND_RUN_PORT=str(port))
        proc = subprocess.Popen([os.path.join(SRC, "scripts", "xend-run"), BUILD], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, text=True)
        out = []
        deadline = time.monotonic() + 30 * xendtest.SLOW
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Press Ctrl-C to stop." in line:
                return proc, "".join(out)
        proc.kill()
        self.fail("make run did not come up: " + "".join(out))

    def stop(self, proc):
        os.killpg(proc.pid, signal.SIGINT)
        try:
            rc = proc.wait(timeout=20 * xendtest.SLOW)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            self.fail("make run did not stop on Ctrl-C")
        rest = proc.stdout.read()
        proc.stdout.close()
        return rc, rest

    def states(self, port, password):
        with xmlrpc.client.ServerProxy(f"http://admin:{password}@127.0.0.1:{port}/RPC2") as s:
            return {d["name"]: (d["state"], d["id"]) for d in s.domain.list()}

    def password(self, rundir, out, port):
        """The password the start message shows (with the page's address), checked against
        the one kept in the run directory."""
        m = re.search(rf"http://127\.0\.0\.1:{port}/\s+user admin, password (\S+)", out)
        self.assertIsNotNone(m, out)
        password = m.group(1)
        with open(os.path.join(rundir, "admin.password")) as f:
            self.assertEqual(f.readline().strip(), password)
        for name in ("admin.password", "passwd"):
            mode = stat.S_IMODE(os.stat(os.path.join(rundir, name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        self.assertGreaterEqual(len(password), 16)
        return password

    def test_samples_and_clean_stop(self):
        rundir = tempfile.mkdtemp(prefix="xend-run-")
        port = xendtest.free_tcp_port()
        proc, out = self.start(rundir, port)
        password = self.password(rundir, out, port)
        self.assertIn(f"http://127.0.0.1:{port}/RPC2", out)
        self.assertIn("xmlrpc.client", out)
        self.assertIn(f"http://admin:{password}@127.0.0.1:{port}/RPC2", out)
        self.assertIn("XEND_URI=unix://", out)
        # TCP wants the user: without it or with another password, 401
        for url in (f"http://127.0.0.1:{port}/RPC2",
                    f"http://admin:not-{password}@127.0.0.1:{port}/RPC2"):
            with xmlrpc.client.ServerProxy(url) as s:
                with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                    s.daemon.version()
                self.assertEqual(cm.exception.errcode, 401)
        st = self.states(port, password)
        self.assertEqual(st["Domain-0"], ("running", 0))
        self.assertEqual(st["web"][0], "running")
        self.assertEqual(st["db"][0], "running")
        self.assertEqual(st["build"], ("shutoff", -1))
        self.assertEqual(st["archive"], ("suspended", -1))
        rc, rest = self.stop(proc)
        self.assertIn("xend stopped", rest)
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(os.path.join(rundir, "run", "xend", "xend.pid")))

        # Again: the same domains, running ones re-attached with their ids; the same
        # password (a browser's saved sign-in keeps working).
        proc, out = self.start(rundir, port)
        try:
            self.assertEqual(self.password(rundir, out, port), password)
            again = self.states(port, password)
            self.assertEqual(again, st)
        finally:
            self.stop(proc)
        subprocess.run(["rm", "-rf", rundir], check=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
