#!/usr/bin/env python3
"""A QEMU guest's state leaving its process and coming back, proved by the guest's own
memory: a shell variable, a file in its tmpfs and its boot id are the same afterwards (and
its uptime went on, not over). domain.save / domain.restore to a file (running or paused;
the QEMU process ends with the save), a corrupt, truncated or foreign image refused with a
fault and no QEMU left behind, domain.suspend / domain.resume and domain.start (managed
save), domain.migrate to another xend (the source domain is gone, the destination runs the
guest in its own QEMU) and to this xend's own URI (relocation: a new id and a new QEMU)."""
import os

import xendtest
from xendtest import Daemon, domain_xml
from qemutest import (ASYNC, NO_DOMAIN, OPERATION_INVALID, GuestConsole, QemuTestCase, main,
                      qemu_pid, qemu_pids)


class GuestMemory:
    """What the guest keeps in memory, set once and compared later."""

    def __init__(self, con, tag):
        self.tag = tag
        con.run(f"kept='{tag} '$((6*7)); echo {tag}-file > /tmp/kept")
        self.boot_id = con.value("cat /proc/sys/kernel/random/boot_id")
        self.uptime = float(con.value("cat /proc/uptime").split()[0])

    def check(self, test, con):
        test.assertEqual(con.value("echo \"[$kept]\""), f"[{self.tag} 42]")
        test.assertEqual(con.value("cat /tmp/kept"), f"{self.tag}-file")
        test.assertEqual(con.value("cat /proc/sys/kernel/random/boot_id"), self.boot_id)
        test.assertGreaterEqual(float(con.value("cat /proc/uptime").split()[0]), self.uptime)


class SaveRestoreTests(QemuTestCase):

    def tearDown(self):
        for d in self.p.domain.list():
            if d["name"] != "Domain-0":
                self.destroy(d["name"])

    def assertStoppedNoQemu(self, name, state, reason):
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"], r["id"]), (state, reason, -1))
        self.assertTrue(xendtest.wait_for(lambda: not qemu_pids(self.daemon.dir), ASYNC, 0.1),
                        qemu_pids(self.daemon.dir))

    def test_save_restore(self):
        name = self.uniq("sv")
        con = self.boot(name)
        mem = GuestMemory(con, "saved")
        path = os.path.join(self.daemon.dir, name + ".save")
        self.assertIs(self.p.domain.save(name, path), True)
        self.assertStoppedNoQemu(name, "shutoff", "saved")
        self.assertGreater(os.path.getsize(path), 1 << 20)
        self.assertFault(OPERATION_INVALID, self.p.domain.console_write, name, "\n")

        r = self.p.domain.restore(path)
        self.assertEqual((r["name"], r["state"]), (name, "running"))
        self.assertIsNotNone(qemu_pid(self.daemon, r["name"]))
        # A new QEMU: its console starts afresh; the guest answers with what it kept.
        con = GuestConsole(self.p, name, offset=0)
        mem.check(self, con)
        self.assertTrue(os.path.exists(path), "the image is kept")

        # Saved again and restored paused: it stays paused until unpaused.
        os.unlink(path)
        self.assertIs(self.p.domain.save(name, path), True)
        self.assertStoppedNoQemu(name, "shutoff", "saved")
        r = self.p.domain.restore(path, True)
        self.assertEqual(r["state"], "paused")
        con = GuestConsole(self.p, name, offset=0)
        con.type("echo =R$((40+2))=\n")
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        con.wait("=R42=", ASYNC)
        mem.check(self, con)

        # An image that is not whole is refused, the domain stays off, no QEMU is left.
        os.unlink(path)
        self.assertIs(self.p.domain.save(name, path), True)
        truncated = os.path.join(self.daemon.dir, name + ".truncated")
        with open(path, "rb") as src, open(truncated, "wb") as dst:
            dst.write(src.read(os.path.getsize(path) // 2))
        f = xendtest.fault_of(self.p.domain.restore, truncated)
        self.assertIsNotNone(f, "a truncated image was restored")
        self.assertNotEqual(f.faultCode, 1, f.faultString)  # not INTERNAL
        self.assertStoppedNoQemu(name, "shutoff", "saved")
        # The whole image still restores after that.
        self.assertEqual(self.p.domain.restore(path)["state"], "running")
        mem.check(self, GuestConsole(self.p, name, offset=0))

        # Saved while paused, restored without paused=true: running (domain.restore is
        # "paused if the second argument is true").
        os.unlink(path)
        self.p.domain.pause(name)
        self.assertIs(self.p.domain.save(name, path), True)
        self.assertEqual(self.p.domain.restore(path)["state"], "running")
        mem.check(self, GuestConsole(self.p, name, offset=0))

    def names(self):
        return sorted((d["name"], d["state"]) for d in self.p.domain.list())

    def test_restore_corrupt_or_foreign_image(self):
        before = self.names()
        garbage = os.path.join(self.daemon.dir, "garbage.save")
        with open(garbage, "wb") as f:
            f.write(os.urandom(1 << 20))
        empty = os.path.join(self.daemon.dir, "empty.save")
        open(empty, "wb").close()
        # A save image of xend's simulated driver: a real image, of another driver.
        foreign = os.path.join(self.daemon.dir, "foreign.save")
        with Daemon() as sim:
            sp = sim.proxy()
            sp.domain.define(domain_xml("foreign"))
            sp.domain.start("foreign")
            self.assertIs(sp.domain.save("foreign", foreign), True)
            sp("close")()
        for path in (garbage, empty, foreign, os.path.join(self.daemon.dir, "missing.save")):
            with self.subTest(image=os.path.basename(path)):
                f = xendtest.fault_of(self.p.domain.restore, path)
                self.assertIsNotNone(f, f"{path} was restored")
                self.assertNotEqual(f.faultCode, 1, f.faultString)  # not INTERNAL
                self.assertEqual(qemu_pids(self.daemon.dir), [])
                self.assertEqual(self.names(), before)

    def test_suspend_resume(self):
        name = self.uniq("susp")
        con = self.boot(name)
        mem = GuestMemory(con, "suspended")
        r = self.p.domain.suspend(name)
        self.assertEqual(r["state"], "suspended")
        r = self.row(name)
        self.assertEqual((r["state"], r["managed_save"], r["id"]), ("suspended", True, -1))
        self.assertEqual(qemu_pids(self.daemon.dir), [])
        r = self.p.domain.resume(name)
        self.assertEqual(r["state"], "running")
        self.assertIs(self.row(name)["managed_save"], False)
        mem.check(self, GuestConsole(self.p, name, offset=0))
        # domain.start continues a suspended domain too.
        self.p.domain.suspend(name)
        self.assertEqual(self.state(name), "suspended")
        self.assertEqual(self.p.domain.start(name)["state"], "running")
        mem.check(self, GuestConsole(self.p, name, offset=0))


class MigrationTests(QemuTestCase):
    """A source daemon (the class's) and a destination daemon, both qemu."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dst = cls.extra_daemon()
        cls.pd = cls.dst.proxy(timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.pd("close")()
        super().tearDownClass()

    def tearDown(self):
        for p in (self.p, self.pd):
            for d in p.domain.list():
                if d["name"] != "Domain-0":
                    self.destroy(d["name"], proxy=p)

    def test_migrate_to_another_xend(self):
        name = self.uniq("mig")
        con = self.boot(name, transient=True)
        mem = GuestMemory(con, "migrated")
        src_pid = qemu_pid(self.daemon, name)
        since = self.pd.event.current_id()
        self.assertIs(self.p.domain.migrate(name, "unix://" + self.dst.socket, True), True)
        # The source domain is gone, its QEMU with it.
        self.assertTrue(xendtest.wait_for(lambda: self.gone(name), ASYNC))
        self.assertTrue(xendtest.wait_for(lambda: not xendtest.pid_running(src_pid), ASYNC, 0.1))
        self.assertTrue(xendtest.wait_for(lambda: not qemu_pids(self.daemon.dir), ASYNC, 0.1))
        # The destination runs it, in its own QEMU, with the guest's memory.
        r = self.pd.domain.lookup(name)
        self.assertEqual(r["state"], "running")
        self.assertIsNotNone(qemu_pid(self.dst, r["name"]))
        self.wait_event(since, name, "started", "migrated", proxy=self.pd)
        mem.check(self, GuestConsole(self.pd, name, offset=0))
        # And it is controllable there.
        self.assertEqual(self.pd.domain.pause(name)["state"], "paused")
        self.assertEqual(self.pd.domain.unpause(name)["state"], "running")
        self.pd.domain.destroy(name)
        self.assertEqual(xendtest.fault_of(self.pd.domain.lookup, name).faultCode, NO_DOMAIN)
        self.assertTrue(xendtest.wait_for(lambda: not qemu_pids(self.dst.dir), ASYNC, 0.1))

    def test_relocate_to_own_uri(self):
        name = self.uniq("reloc")
        con = self.boot(name)
        mem = GuestMemory(con, "relocated")
        first = self.row(name)
        pid = qemu_pid(self.daemon, first["name"])
        since = self.p.event.current_id()
        self.assertIs(self.p.domain.migrate(name, "unix://" + self.daemon.socket, True), True)
        r = self.row(name)
        self.assertEqual(r["state"], "running")
        self.assertNotEqual(r["id"], first["id"])
        ev = self.wait_event(since, name, "migrated", "relocated")
        self.assertEqual(ev["domid"], first["id"])
        self.wait_event(since, name, "started", "migrated")
        # A new QEMU took over; the old one is gone.
        self.assertTrue(xendtest.wait_for(lambda: not xendtest.pid_running(pid), ASYNC, 0.1))
        new_pid = qemu_pid(self.daemon, r["name"])
        self.assertIsNotNone(new_pid)
        self.assertNotEqual(new_pid, pid)
        self.assertEqual(qemu_pids(self.daemon.dir), [new_pid])
        mem.check(self, GuestConsole(self.p, name, offset=0))


if __name__ == "__main__":
    main()
