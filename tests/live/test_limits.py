"""Connection-level limits of the real daemon: the idle timeout closes quiet connections,
max_connections holds over all listeners (the extra client is refused, and served again once
idle ones are gone), and the socket file gets the configured mode and group."""
import grp
import os
import stat
import subprocess
import threading
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, http_request, wait_for, xml_call

CALL = xml_call("daemon.version")


def served(sock, rest=b""):
    """Send a call on sock and return the reply (None if the server closed instead)."""
    try:
        sock.sendall(http_request(CALL))
    except (BrokenPipeError, ConnectionResetError):
        return None
    return xendtest.read_response(sock, rest)[0]


class IdleTimeoutTests(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(tcp=True, config={"idle_timeout": "1"}).start()
        self.addCleanup(self.daemon.stop)

    def test_idle_connection_closed(self):
        for target in (self.daemon.socket, self.daemon.tcp_port):
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    self.assertTrue(xendtest.wait_closed(s, timeout=30),
                                    "an idle connection was not closed")

    def test_keep_alive_connection_closed_when_idle(self):
        with xendtest.connect(self.daemon.socket) as s:
            r = served(s)
            self.assertEqual(r.status, 200)
            self.assertTrue(xendtest.wait_closed(s, timeout=30))

    def test_half_sent_request_closed(self):
        with xendtest.connect(self.daemon.socket) as s:
            s.sendall(http_request(CALL)[:30])
            self.assertTrue(xendtest.wait_closed(s, timeout=30))
        with self.daemon.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")


class ConnectionCapTests(unittest.TestCase):
    CAP = 3

    def setUp(self):
        # The idle timeout must not close the held connections while the test is still
        # opening them, even under valgrind.
        idle = str(3 * xendtest.SLOW)
        self.daemon = Daemon(tcp=True, config={"max_connections": str(self.CAP),
                                               "idle_timeout": idle, "workers": "2"}).start()
        self.addCleanup(self.daemon.stop)

    def open_served(self, target):
        """A connection that has been served once and stays open (so the daemon counts
        it). Connections closed just before (the start-up probes, refused clients) may
        still be counted for a moment, so a refusal here is retried for a bounded time."""
        held = []

        def attempt():
            s = xendtest.connect(target)
            r = served(s)
            if r is None:
                s.close()
                return False
            self.addCleanup(s.close)
            self.assertEqual(r.status, 200)
            held.append(s)
            return True

        self.assertTrue(wait_for(attempt, timeout=10, interval=0.1),
                        "a connection under the cap was refused")
        return held[0]

    def assertRefused(self, target):
        with xendtest.connect(target) as s:
            r = served(s)
            self.assertIsNone(r, "a connection over the cap was served")

    def test_cap_over_all_listeners(self):
        unix, tcp = self.daemon.socket, self.daemon.tcp_port
        held = [self.open_served(unix), self.open_served(tcp), self.open_served(unix)]
        # Every extra client is refused, whichever listener it uses.
        self.assertRefused(unix)
        self.assertRefused(tcp)
        # The held connections still work (keep-alive) while at the cap.
        r = served(held[0])
        self.assertEqual(r.status, 200)
        # Once the idle ones are closed by the daemon, new clients are served again.
        for s in held:
            self.assertTrue(xendtest.wait_closed(s, timeout=60))
        # The daemon may need a moment to account for the closed connections.
        ok = wait_for(lambda: self.try_call(unix), timeout=10)
        self.assertTrue(ok, "not served after the idle connections went away")
        with self.daemon.tcp_proxy() as p:
            self.assertEqual(p.daemon.version()["api"], "1.0")

    def try_call(self, target):
        with xendtest.connect(target) as s:
            r = served(s)
            return r is not None and r.status == 200

    def test_closing_frees_a_slot(self):
        held = [self.open_served(self.daemon.socket) for _ in range(self.CAP)]
        self.assertRefused(self.daemon.socket)
        held[0].close()
        ok = wait_for(lambda: self.try_call(self.daemon.socket), timeout=10)
        self.assertTrue(ok, "a slot freed by a client closing was not reused")


class SocketFileTests(unittest.TestCase):
    def start(self, config=None):
        d = Daemon(config=config).start()
        self.addCleanup(d.stop)
        return d

    def mode(self, d):
        st = os.stat(d.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        return stat.S_IMODE(st.st_mode), st

    def test_default_mode_0600(self):
        d = self.start()
        self.assertEqual(self.mode(d)[0], 0o600)

    def test_socket_mode_honoured(self):
        for m in ("0660", "0666", "0640"):
            with self.subTest(mode=m):
                d = self.start({"socket_mode": m})
                self.assertEqual(self.mode(d)[0], int(m, 8))
                with d.proxy() as p:
                    self.assertEqual(p.daemon.version()["product"], "xend")
                d.stop()

    def other_group(self):
        """A group the socket may be given: any group as root, else one of ours."""
        mine = os.getgroups() + [os.getgid()]
        if os.geteuid() == 0:
            for g in grp.getgrall():
                if g.gr_gid != os.getgid():
                    return g
        for gid in mine:
            try:
                return grp.getgrgid(gid)
            except KeyError:
                continue
        self.skipTest("no usable group")

    def test_socket_group_by_name_and_number(self):
        g = self.other_group()
        for value in (g.gr_name, str(g.gr_gid)):
            with self.subTest(group=value):
                d = self.start({"socket_group": value, "socket_mode": "0660"})
                m, st = self.mode(d)
                self.assertEqual(st.st_gid, g.gr_gid)
                self.assertEqual(m, 0o660)
                d.stop()

    def test_unknown_group_refused(self):
        d = Daemon(config={"socket_group": "no-such-group-xend-test"})
        r = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN, "--config", d.conf_path],
                           capture_output=True, text=True, timeout=30 * xendtest.SLOW)
        self.assertEqual(r.returncode, 1)
        self.assertIn("xend: error:", r.stderr)
        self.assertIn("no-such-group-xend-test", r.stderr)
        self.assertFalse(os.path.exists(d.socket))

    def test_max_body_from_config(self):
        d = self.start({"max_body": "8192"})
        big = xml_call("system.methodHelp", "x" * 9000)
        r = xendtest.exchange(d.socket, http_request(big))
        self.assertEqual(r.status, 413)
        self.assertIn(b"8192", r.body)
        with d.proxy() as p:
            with self.assertRaises(xmlrpc.client.Fault):
                p.system.methodHelp("x" * 4000)


class DocumentLimitTests(unittest.TestCase):
    """max_string, max_depth and max_elements from xend.conf bound what the decoder takes:
    just under each passes, just over is a fault naming the limit, and nothing runs."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(config={"max_string": "300", "max_depth": "4",
                                    "max_elements": "64"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def fault(self, *params):
        with self.daemon.proxy() as p:
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                p.system.methodHelp(*params)
        return cm.exception

    def test_string(self):
        with self.daemon.proxy() as p:
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                p.system.methodHelp("m" * 300)  # within the limit: refused as a method
            self.assertNotIn("max_string", cm.exception.faultString)
        f = self.fault("m" * 301)
        self.assertIn("max_string", f.faultString)

    def test_depth(self):
        def nest(n):
            v = 1
            for _ in range(n):
                v = [v]
            return v
        with self.daemon.proxy() as p:
            # methodHelp(string) refuses the array, but only after decoding it.
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                p.system.methodHelp(nest(4))
            self.assertEqual(cm.exception.faultCode, -32602)
        f = self.fault(nest(5))
        self.assertIn("max_depth", f.faultString)

    def test_elements(self):
        with self.daemon.proxy() as p:
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                p.system.methodHelp(list(range(20)))
            self.assertEqual(cm.exception.faultCode, -32602)
        f = self.fault(list(range(40)))
        self.assertIn("max_elements", f.faultString)


class WorkerPoolTests(unittest.TestCase):
    """job_workers bounds the calls that may block; with the only job worker busy in a slow
    save, a plain write waits for it, while domain.destroy (the priority path, its own
    priority_workers) and reads (on the listener's threads) still answer at once."""

    def test_priority_path_with_every_job_worker_busy(self):
        d = Daemon(config={"job_workers": "1", "priority_workers": "1", "workers": "1"})
        path = xendtest.write_host_config(d.dir, save_ms_per_gib=40000)  # 128 MiB: ~5 s
        with open(d.conf_path, "a") as f:
            f.write(f"host_config = {path}\n")
        d.start()
        self.addCleanup(d.stop)
        disks = os.path.join(d.dir, "disks")
        os.makedirs(disks)
        with d.proxy() as p:
            for name in ("slow", "other", "victim"):
                p.domain.define(xendtest.domain_xml(
                    name, memory=131072, disks=[xendtest.make_disk(disks, name + ".img")]))
                p.domain.start(name)
        results = {}

        def call(key, method, *args):
            with d.proxy(timeout=120) as q:
                results[key] = getattr(q, method)(*args)
                results[key + "-order"] = len(results)

        save = threading.Thread(target=call, args=("save", "domain.save", "slow",
                                                   os.path.join(d.dir, "slow.save")))
        save.start()
        with d.proxy() as p:
            self.assertTrue(wait_for(lambda: p.domain.job_info("slow")["job"] == "domain.save",
                                     30))
            # The only job worker is saving: a pause of another domain queues behind it.
            pause = threading.Thread(target=call, args=("pause", "domain.pause", "other"))
            pause.start()
            # The priority path and reads are not behind it.
            p.domain.destroy("victim")
            self.assertEqual(p.domain.lookup("victim")["state"], "shutoff")
            self.assertEqual(p.domain.job_info("slow")["job"], "domain.save",
                             "the save finished before the check: make it slower")
            self.assertNotIn("pause", results)
        save.join(120)
        pause.join(120)
        self.assertEqual(results.get("save"), True)
        self.assertLess(results["save-order"], results["pause-order"])
        with d.proxy() as p:
            self.assertEqual(p.domain.lookup("other")["state"], "paused")


if __name__ == "__main__":
    xendtest.main()
