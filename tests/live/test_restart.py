"""A daemon that dies (kill -9) and is started again with the same configuration finds
everything as it was: every definition (domain.get_xml, live and next-boot), state, id of
running domains, autostart flag and managed-save image; running guests are re-attached,
not restarted. A corrupt stored file is set aside (renamed *.corrupt-*) and the daemon
starts with the others. After a simulated host reboot (the run directory emptied) the
autostart domains start. A freshly started daemon answers a call sent the instant its
socket accepts."""
import glob
import os
import socket
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml, make_disk, nic_xml, wait_for

NO_DOMAIN = 3
N = 50
ROW_KEYS = ("id", "name", "uuid", "state", "reason", "memory", "max_memory", "vcpus",
            "max_vcpus", "autostart", "persistent", "managed_save", "start_time")


def name(i):
    return f"rs-{i:02d}"


class RestartTests(FaultAssertions, unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon()
        self.daemon.start()
        self.p = self.daemon.proxy()
        self.disks = os.path.join(self.daemon.dir, "disks")
        os.makedirs(self.disks)
        self.addCleanup(self.cleanup)

    def cleanup(self):
        self.p("close")()
        if self.daemon.proc is not None:
            self.daemon.stop(expect_rc=None)

    def restart(self, kill=True):
        self.p("close")()
        if kill:
            self.daemon.kill()
        else:
            self.daemon.stop()
        self.daemon.start()
        self.p = self.daemon.proxy()

    def snapshot(self):
        """Everything a client can see of every domain, minus what moves on its own."""
        out = {}
        for r in self.p.domain.list():
            n = r["name"]
            out[n] = {
                "row": {k: r[k] for k in ROW_KEYS},
                "xml": self.p.domain.get_xml(n),
                "next": self.p.domain.get_xml(n, True),
                "devices": self.p.domain.devices(n),
            }
        return out

    def define_many(self):
        for i in range(N):
            disk = make_disk(self.disks, name(i) + ".img")
            xml = domain_xml(name(i), memory=65536 + 1024 * i, vcpus=1 + i % 4,
                             current_vcpus=1 + (i % 4) // 2, disks=[disk],
                             nics=[f"52:54:00:60:00:{i:02x}"],
                             on_poweroff="restart" if i % 7 == 0 else None)
            self.assertEqual(self.p.domain.define(xml)["state"], "shutoff")

    def test_state_survives_kill_9(self):
        p = self.p
        self.define_many()
        for i in range(10):
            self.assertEqual(p.domain.start(name(i))["state"], "running")
        for i in (0, 1):
            self.assertEqual(p.domain.pause(name(i))["state"], "paused")
        for i in (2, 3):
            self.assertEqual(p.domain.suspend(name(i))["state"], "suspended")
        for i in (4, 5, 20, 21, 22):
            self.assertIs(p.domain.set_autostart(name(i), True), True)
        # Live changes that only the status file remembers.
        p.domain.set_memory(name(6), 40000)
        p.domain.set_vcpus(name(7), 1)
        p.domain.pin_vcpu(name(7), 0, "2")
        p.domain.attach_device(name(8), nic_xml("52:54:00:61:00:08"),
                               {"live": True, "config": False})
        # A redefinition while running: live and next-boot definitions differ.
        u9 = p.domain.lookup(name(9))["uuid"]
        p.domain.define(domain_xml(name(9), uuid=u9, memory=262144, vcpus=2,
                                   disks=[os.path.join(self.disks, name(9) + ".img")]))
        # A transient domain: only its status file knows it; and two running domains
        # whose files changed under them: undefined (now transient) and renamed.
        p.domain.create(domain_xml("rs-transient"))
        p.domain.define(domain_xml("rs-undef"))
        p.domain.start("rs-undef")
        p.domain.undefine("rs-undef")
        p.domain.define(domain_xml("rs-ren"))
        p.domain.start("rs-ren")
        p.domain.rename("rs-ren", "rs-renamed")
        cons = {name(i): p.domain.console_read(name(i)) for i in (4, 5, 6)}
        vcpu7 = p.domain.vcpu_info(name(7))
        stats4 = p.domain.stats(name(4))
        before = self.snapshot()
        self.assertEqual(len(before), N + 4)
        running = {n for n, s in before.items() if s["row"]["state"] in ("running", "paused")}
        self.assertEqual(len(running), 10 - 2 + 3 + 1)  # 8 + 3 others + Domain-0
        self.assertNotEqual(before[name(9)]["xml"], before[name(9)]["next"])

        self.restart(kill=True)

        after = self.snapshot()
        self.assertEqual(sorted(after), sorted(before))
        for n in before:
            with self.subTest(domain=n):
                if n == "Domain-0":
                    self.assertEqual(after[n]["row"]["state"], "running")
                    continue
                self.assertEqual(after[n]["row"], before[n]["row"])
                self.assertEqual(after[n]["xml"], before[n]["xml"])
                self.assertEqual(after[n]["next"], before[n]["next"])
                self.assertEqual(after[n]["devices"], before[n]["devices"])
        # Spot checks of what the rows say.
        rows = {n: s["row"] for n, s in after.items()}
        self.assertEqual([rows[name(i)]["state"] for i in range(10)],
                         ["paused"] * 2 + ["suspended"] * 2 + ["running"] * 6)
        self.assertTrue(all(rows[name(i)]["state"] == "shutoff" for i in range(10, N)))
        self.assertEqual({n for n, r in rows.items() if r["autostart"]},
                         {name(i) for i in (4, 5, 20, 21, 22)})
        self.assertEqual(rows[name(6)]["memory"], 40000)
        self.assertIs(rows["rs-transient"]["persistent"], False)
        self.assertIs(rows["rs-undef"]["persistent"], False)
        self.assertIs(rows["rs-renamed"]["persistent"], True)
        self.assertNotIn("rs-ren", rows)
        ids = [r["id"] for r in rows.values() if r["id"] >= 0]
        self.assertEqual(len(ids), len(set(ids)))
        # The guests were re-attached, not rebooted: consoles continue, counters carry on.
        for n, c in cons.items():
            now = self.p.domain.console_read(n)
            self.assertTrue(now["data"].startswith(c["data"]), n)
            self.assertEqual(now["data"].count("Linux version"), 1, n)
        self.assertEqual([v["affinity"] for v in self.p.domain.vcpu_info(name(7))],
                         [v["affinity"] for v in vcpu7])
        self.assertGreaterEqual(self.p.domain.stats(name(4))["cpu_time"],
                                stats4["cpu_time"])
        # Autostart ran only once per host boot: the shut-off autostart domains stay off.
        for i in (20, 21, 22):
            self.assertEqual(rows[name(i)]["state"], "shutoff")

        # Everything still works after the restart.
        p = self.p
        self.assertEqual(p.domain.unpause(name(0))["state"], "running")
        self.assertEqual(p.domain.resume(name(2))["state"], "running")
        self.assertEqual(p.domain.start(name(3))["state"], "running")
        self.assertEqual(p.domain.destroy(name(4))["state"], "shutoff")
        self.assertEqual(p.domain.destroy(name(9))["memory"], 262144)
        self.assertEqual(p.domain.start(name(9))["memory"], 262144)
        new = p.domain.start(name(30))
        self.assertNotIn(new["id"], ids, "a new id collides with a re-attached domain's")
        # The disks of re-attached domains are still claimed.
        clash = "rs-clash"
        p.domain.define(domain_xml(clash, disks=[os.path.join(self.disks, name(5) + ".img")]))
        self.assertFault(8, p.domain.start, clash)
        p.domain.destroy("rs-transient")
        self.assertFault(NO_DOMAIN, p.domain.lookup, "rs-transient")
        # A shutdown that completes after the restart follows on_poweroff (restart for 7).
        self.assertEqual(p.domain.shutdown(name(7))["state"], "shutdown")
        old_id = rows[name(7)]["id"]
        self.assertTrue(wait_for(lambda: p.domain.lookup(name(7))["state"] == "running" and
                                 p.domain.lookup(name(7))["id"] != old_id, 15))

        # A second restart, this time a clean one, keeps it all as well (except why a
        # shut-off domain is shut off, which is not stored).
        def rows_of(snap):
            out = {}
            for n, s in snap.items():
                if n != "Domain-0":
                    r = dict(s["row"])
                    if r["state"] == "shutoff":
                        del r["reason"]
                    out[n] = r
            return out

        before = self.snapshot()
        self.restart(kill=False)
        after = self.snapshot()
        self.assertEqual(rows_of(after), rows_of(before))

    def test_shutdown_in_progress_completes_after_restart(self):
        p = self.p
        disk = make_disk(self.disks, "sd.img")
        p.domain.define(domain_xml("rs-sd", disks=[disk]))
        p.domain.start("rs-sd")
        self.assertEqual(p.domain.shutdown("rs-sd")["state"], "shutdown")
        self.restart(kill=True)
        self.assertIn(self.p.domain.lookup("rs-sd")["state"], ("shutdown", "shutoff"))
        self.assertTrue(wait_for(lambda: self.p.domain.lookup("rs-sd")["state"] == "shutoff",
                                 15))
        self.assertEqual(self.p.domain.lookup("rs-sd")["reason"], "shutdown")

    def test_corrupt_files_are_set_aside(self):
        p = self.p
        for i in range(5):
            disk = make_disk(self.disks, f"cc-{i}.img")
            p.domain.define(domain_xml(f"cc-{i}", disks=[disk]))
        p.domain.start("cc-3")
        p.domain.start("cc-4")
        with open(os.path.join(self.daemon.config_dir, "cc-3.xml")) as f:
            good_cc3 = f.read()
        self.p("close")()
        self.daemon.kill()
        cfg = os.path.join(self.daemon.config_dir, "cc-2.xml")
        with open(cfg, "w") as f:
            f.write("\x00garbage <domain><name>cc-2</nam\n")
        status = os.path.join(self.daemon.run_dir, "cc-4.status")
        self.assertTrue(os.path.exists(status))
        with open(status, "w") as f:
            f.write("<domstatus state='running' id='x'>garbage")
        self.daemon.start()
        self.p = self.daemon.proxy()
        names = {r["name"] for r in self.p.domain.list()}
        self.assertEqual(names, {"Domain-0", "cc-0", "cc-1", "cc-3", "cc-4"})
        aside = glob.glob(cfg + ".corrupt-*")
        self.assertEqual(len(aside), 1, os.listdir(self.daemon.config_dir))
        self.assertFalse(os.path.exists(cfg))
        with open(aside[0], "rb") as f:
            self.assertTrue(f.read().startswith(b"\x00garbage"), "the bad file is kept as is")
        self.assertIn("cc-2", self.daemon.output())
        # A corrupt status file: the domain it belonged to is not running any more.
        self.assertEqual(len(glob.glob(status + ".corrupt-*")), 1, os.listdir(self.daemon.run_dir))
        self.assertEqual(self.p.domain.lookup("cc-4")["state"], "shutoff")
        self.assertEqual(self.p.domain.lookup("cc-3")["state"], "running")
        with open(os.path.join(self.daemon.config_dir, "cc-3.xml")) as f:
            self.assertEqual(f.read(), good_cc3)
        # The name is free again, and the domain with a bad status can start.
        self.assertEqual(self.p.domain.define(domain_xml("cc-2"))["state"], "shutoff")
        self.assertEqual(self.p.domain.start("cc-4")["state"], "running")

    def test_autostart_after_host_reboot(self):
        p = self.p
        for i in range(6):
            disk = make_disk(self.disks, f"as-{i}.img")
            p.domain.define(domain_xml(f"as-{i}", disks=[disk]))
        for i in (0, 1, 2):
            p.domain.set_autostart(f"as-{i}", True)
        p.domain.start("as-1")
        p.domain.start("as-3")
        p.domain.start("as-5")
        p.domain.suspend("as-5")
        self.p("close")()
        self.daemon.stop()
        # A host reboot: the guests are gone and so is everything under /run.
        for f in os.listdir(self.daemon.run_dir):
            os.unlink(os.path.join(self.daemon.run_dir, f))
        self.daemon.start()
        self.p = self.daemon.proxy()
        rows = {r["name"]: r for r in self.p.domain.list()}
        self.assertEqual([rows[f"as-{i}"]["state"] for i in range(6)],
                         ["running", "running", "running", "shutoff", "shutoff", "suspended"])
        self.assertEqual([rows[f"as-{i}"]["autostart"] for i in range(6)],
                         [True, True, True, False, False, False])
        self.assertEqual(len({rows[f"as-{i}"]["id"] for i in range(3)}), 3)
        # Restarting the daemon again (same boot) does not start anything more.
        self.p.domain.destroy("as-0")
        self.restart(kill=False)
        self.assertEqual(self.p.domain.lookup("as-0")["state"], "shutoff")
        self.assertEqual(self.p.domain.lookup("as-1")["state"], "running")


class StartupTests(unittest.TestCase):
    def test_write_call_as_soon_as_the_socket_accepts(self):
        """A client may call the moment the socket accepts connections: the daemon must be
        fully ready to run any method by then (20 fresh starts, a state-changing call
        each, sent the instant connect() succeeds)."""
        body = xendtest.http_request(xendtest.xml_call("domain.define", domain_xml("early")))
        for i in range(20):
            d = Daemon()
            d.start(wait=False)
            conn = []

            def connect():
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(30 * xendtest.SLOW)
                try:
                    s.connect(d.socket)
                except OSError:
                    s.close()
                    return False
                conn.append(s)
                return True

            try:
                self.assertTrue(wait_for(connect, 10, interval=0.0002))
                conn[0].sendall(body)
                r, _ = xendtest.read_response(conn[0])
                if r is None:
                    wait_for(lambda: d.proc.poll() is not None, 2)
                    self.fail(f"start {i}: no reply (xend exit status {d.proc.poll()}): "
                              f"{d.output()[-1500:]}")
                self.assertEqual(r.status, 200)
                (row,), _ = xmlrpc.client.loads(r.body)
                self.assertEqual(row["name"], "early")
            finally:
                for s in conn:
                    s.close()
            self.assertIsNone(d.proc.poll(), f"start {i}: xend died: {d.output()[-1500:]}")
            d.stop()

if __name__ == "__main__":
    xendtest.main()
