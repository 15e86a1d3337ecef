"""domain.migrate to the daemon's own URIs (Xen's `xm migrate D localhost`, xm-test's
01_migrate_localhost_pos), through Python's xmlrpc.client against real xends on the
simulated host: its Unix socket as unix:// and httpu:// (also through a symlink), its TCP
port on 127.0.0.1 and localhost. The domain stays, running or paused with its state (a
shell variable, the console, pinning, memory), under a new id; the job reports progress
and can be aborted; the events are those of the two sides of a migration; the status file
follows (a killed daemon re-attaches the new id). A second daemon on the same host, by
socket or by TCP port, is a real destination and not mistaken for this one."""
import os
import threading
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml, wait_for, write_host_config

NO_DOMAIN = 3
NO_HOST = 23
OPERATION_ABORTED = 17
ASYNC = 15

_n = [0]


def uniq(prefix):
    _n[0] += 1
    return f"{prefix}-{_n[0]}"


class SelfBase(FaultAssertions, unittest.TestCase):
    tcp = True
    host = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=cls.tcp)
        if cls.host:
            path = write_host_config(cls.daemon.dir, **cls.host)
            with open(cls.daemon.conf_path, "a") as f:
                f.write(f"host_config = {path}\n")
        cls.daemon.start()
        cls.p = cls.daemon.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def started(self, prefix, paused=False, **kw):
        name = uniq(prefix)
        self.p.domain.define(domain_xml(name, **kw))
        self.p.domain.start(name, paused)
        return name

    def sh(self, dom, line):
        """Run a command line at the guest's shell; its output."""
        off = self.p.domain.console_read(dom)["offset"]
        self.p.domain.console_write(dom, line + "\n")
        out = self.p.domain.console_read(dom, off)["data"]
        self.assertTrue(out.startswith(line + "\n") and out.endswith("/ # "), repr(out))
        return out[len(line) + 1:-len("/ # ")]

    def events(self, since, dom):
        """The events of dom after since, as (event, detail, domid) plus the whole events."""
        evs = [e for e in self.p.event.next(since)["events"] if e["domain"] == dom]
        return [(e["event"], e["detail"], e["domid"]) for e in evs if e["type"] == "lifecycle"], evs


class SelfMigrationTests(SelfBase):

    def check_moved(self, name, uri, live):
        """Migrate name to uri (this daemon); returns (old row, new row, lifecycle events)."""
        before = self.p.domain.lookup(name)
        free = self.p.node.info()["free_memory"]
        since = self.p.event.current_id()
        self.assertIs(self.p.domain.migrate(name, uri, live), True)
        after = self.p.domain.lookup(name)
        self.assertNotEqual(after["id"], before["id"])
        self.assertGreater(after["id"], before["id"])  # the next free id
        self.assertEqual((after["uuid"], after["persistent"], after["memory"], after["vcpus"],
                          after["job"]),
                         (before["uuid"], before["persistent"], before["memory"],
                          before["vcpus"], ""))
        # The old instance's memory went back to the host: nothing is charged twice.
        self.assertEqual(self.p.node.info()["free_memory"], free)
        # The id index follows: the new id finds the domain, the old one nothing.
        self.assertEqual(self.p.domain.lookup(str(after["id"]))["name"], name)
        self.assertFault(NO_DOMAIN, self.p.domain.lookup, str(before["id"]))
        lifecycle, evs = self.events(since, name)
        moved = [e for e in evs if e["event"] == "migrated"]
        self.assertEqual(len(moved), 1, evs)
        self.assertEqual((moved[0]["detail"], moved[0]["domid"], moved[0]["new_domid"]),
                         ("relocated", before["id"], after["id"]))
        # Progress of the domain.migrate job, under the old id.
        jobs = [e for e in evs if e["type"] == "job"]
        self.assertTrue(jobs, evs)
        self.assertTrue(all(e["detail"] == "domain.migrate" for e in jobs), jobs)
        self.assertEqual(jobs[-1]["progress"], 100)
        return before, after, lifecycle

    def test_unix_uri_keeps_state(self):
        name = self.started("self-unix", vcpus=2)
        self.p.domain.set_memory(name, 49152)
        self.p.domain.pin_vcpu(name, 1, "2")
        self.sh(name, "foo=bar")
        console = self.p.domain.console_read(name)["data"]
        before, after, ev = self.check_moved(name, "unix://" + self.daemon.socket, True)
        self.assertEqual((after["state"], after["reason"]), ("running", "migrated"))
        self.assertEqual(ev, [("migrated", "relocated", before["id"]),
                              ("started", "migrated", after["id"])])
        self.assertEqual(self.sh(name, "echo $foo"), "bar\n")
        self.assertTrue(self.p.domain.console_read(name)["data"].startswith(console))
        self.assertEqual(self.p.domain.vcpu_info(name)[1]["affinity"], "2")
        self.assertEqual(self.p.domain.lookup(name)["memory"], 49152)
        # The persistent definition did not change.
        self.assertIn("<memory unit='KiB'>65536</memory>", self.p.domain.get_xml(name, True))
        self.p.domain.destroy(name)
        self.assertEqual(self.p.domain.lookup(name)["state"], "shutoff")

    def test_httpu_uri_offline(self):
        name = uniq("self-httpu")
        self.p.domain.create(domain_xml(name))
        self.sh(name, "x=1")
        before, after, ev = self.check_moved(name, "httpu://" + self.daemon.socket, False)
        # An offline migration pauses the guest for the copy first.
        self.assertEqual(ev, [("suspended", "migrated", before["id"]),
                              ("migrated", "relocated", before["id"]),
                              ("started", "migrated", after["id"])])
        self.assertEqual((after["state"], after["persistent"]), ("running", False))
        self.assertEqual(self.sh(name, "echo $x"), "1\n")
        self.p.domain.destroy(name)

    def test_tcp_uris(self):
        name = self.started("self-tcp")
        self.sh(name, "n=0")
        port = self.daemon.tcp_port
        for uri in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}",
                    f"http://127.0.0.1:{port}/RPC2"):
            with self.subTest(uri=uri):
                before, after, ev = self.check_moved(name, uri, True)
                self.assertEqual(after["state"], "running")
        self.assertEqual(self.sh(name, "echo $n"), "0\n")
        self.p.domain.destroy(name)

    def test_socket_through_a_symlink(self):
        link = os.path.join(self.daemon.dir, "alias.sock")
        os.symlink(self.daemon.socket, link)
        self.addCleanup(os.unlink, link)
        name = self.started("self-link")
        self.check_moved(name, "unix://" + link, True)
        self.p.domain.destroy(name)

    def test_paused_stays_paused(self):
        name = self.started("self-paused", paused=True)
        self.p.domain.console_write(name, "typed=while-paused\n")  # waits in the tty
        for live in (True, False):
            with self.subTest(live=live):
                before, after, ev = self.check_moved(name, "unix://" + self.daemon.socket, live)
                self.assertEqual((after["state"], after["reason"]), ("paused", "migration"))
                self.assertEqual(ev[-3:], [("migrated", "relocated", before["id"]),
                                           ("started", "migrated", after["id"]),
                                           ("suspended", "migrated", after["id"])])
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        self.assertEqual(self.sh(name, "echo $typed"), "while-paused\n")
        self.p.domain.destroy(name)

    def test_xend_compat_namespace(self):
        """xend.domain.migrate with this daemon's own URI goes the same way."""
        name = self.started("self-compat")
        old = self.p.domain.lookup(name)["id"]
        self.assertIsNone(self.p.xend.domain.migrate(name, "unix://" + self.daemon.socket,
                                                      True, 0, 0))
        self.assertNotEqual(self.p.domain.lookup(name)["id"], old)
        self.p.domain.destroy(name)

    def test_not_self(self):
        """Another socket path or another port is not this daemon: an ordinary (failing)
        migration, the domain unchanged."""
        name = self.started("self-not")
        old = self.p.domain.lookup(name)["id"]
        closed = xendtest.free_tcp_port()
        for uri in ("unix://" + self.daemon.socket + ".nope",
                    f"http://127.0.0.1:{closed}/"):
            with self.subTest(uri=uri):
                self.assertFault(NO_HOST, self.p.domain.migrate, name, uri, True)
                r = self.p.domain.lookup(name)
                self.assertEqual((r["id"], r["state"], r["job"]), (old, "running", ""))
        self.p.domain.destroy(name)


class SecondDaemonTests(SelfBase):
    """Two daemons on one host: each one's URIs name that one only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = Daemon(tcp=True).start()
        cls.po = cls.other.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.po("close")()
        cls.other.stop()
        super().tearDownClass()

    def test_other_daemon_is_a_destination(self):
        for uri in ("unix://" + self.other.socket, f"http://127.0.0.1:{self.other.tcp_port}/",
                    f"http://localhost:{self.other.tcp_port}/"):
            with self.subTest(uri=uri):
                name = uniq("two")
                self.p.domain.create(domain_xml(name))
                self.sh(name, "where=here")
                self.assertIs(self.p.domain.migrate(name, uri, True), True)
                self.assertFault(NO_DOMAIN, self.p.domain.lookup, name)
                there = self.po.domain.lookup(name)
                self.assertEqual(there["state"], "running")
                self.po.domain.destroy(name)
        # and this one is still itself for its own URI
        name = self.started("two-self")
        old = self.p.domain.lookup(name)["id"]
        self.p.domain.migrate(name, f"http://127.0.0.1:{self.daemon.tcp_port}/", True)
        self.assertNotEqual(self.p.domain.lookup(name)["id"], old)
        self.assertFault(NO_DOMAIN, self.po.domain.lookup, name)
        self.p.domain.destroy(name)


class SlowSelfMigrationTests(SelfBase):
    """Relocations slow enough to watch: 128 MiB at 20 s/GiB is about 2.5 s."""
    tcp = False
    host = {"save_ms_per_gib": 20000}

    def test_job_info_and_abort(self):
        name = self.started("self-slow", memory=131072)
        old = self.p.domain.lookup(name)["id"]
        result = {}

        def run():
            with self.daemon.proxy(timeout=60) as q:
                try:
                    result["value"] = q.domain.migrate(name, "unix://" + self.daemon.socket,
                                                       True)
                except xmlrpc.client.Fault as f:
                    result["fault"] = f

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.assertTrue(wait_for(lambda: self.p.domain.job_info(name)["job"] ==
                                 "domain.migrate", 10))
        # Reads go on meanwhile.
        self.assertEqual(self.p.domain.lookup(name)["state"], "running")
        self.assertIs(self.p.domain.job_abort(name), True)
        t.join(20 * xendtest.SLOW)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["fault"].faultCode, OPERATION_ABORTED, result)
        r = self.p.domain.lookup(name)
        self.assertEqual((r["id"], r["state"], r["job"]), (old, "running", ""))
        self.p.domain.destroy(name)


class RestartAfterRelocationTests(unittest.TestCase):
    def test_killed_daemon_reattaches_the_new_id(self):
        d = Daemon().start()
        p = d.proxy()
        try:
            name = "reloc-restart"
            p.domain.create(domain_xml(name))
            p.domain.console_write(name, "kept=yes\n")
            p.domain.migrate(name, "unix://" + d.socket, True)
            new = p.domain.lookup(name)["id"]
            p("close")()
            d.kill()
            d.start()
            p = d.proxy()
            r = p.domain.lookup(name)
            self.assertEqual((r["id"], r["state"]), (new, "running"))
            off = p.domain.console_read(name)["offset"]
            p.domain.console_write(name, "echo $kept\n")
            self.assertIn("yes\n", p.domain.console_read(name, off)["data"])
            # ids go on after the re-attached one
            p.domain.migrate(name, "unix://" + d.socket, True)
            self.assertGreater(p.domain.lookup(name)["id"], new)
            p.domain.destroy(name)
        finally:
            p("close")()
            d.stop(expect_rc=None)


if __name__ == "__main__":
    xendtest.main()
