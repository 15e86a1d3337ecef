#!/usr/bin/env python3
"""The lifecycle of a real QEMU guest under xend's qemu driver, each effect proved by the
guest's own serial console: the boot log and the shell through domain.console_read /
console_write, sysrq 'h' printing the kernel's help, pause (typed input waits) and unpause,
stats (cpu time and block counters grow after the guest works and reads its disk), a
start or create paused, destroy (the QEMU process goes), shutdown by the ACPI power button
(the guest's own markers, then shutoff; a transient domain goes; on_poweroff=restart boots
it again in a new QEMU), reboot (the guest's uptime starts over and its boot id changes, by
domain.reboot and by sysrq 'b'), and a kernel panic through pvpanic (sysrq 'c':
on_crash=restart boots again with a new id, preserve keeps it crashed until destroyed)."""
import time

import xendtest
from qemutest import (ASYNC, OPERATION_INVALID, QemuTestCase, boot_guest, guest_xml, main,
                      qemu_pid, qemu_pids)


class SharedGuestTests(QemuTestCase):
    """One guest (with a 4 MiB disk vda) for the methods that leave it as they found it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = "lc-shared"
        cls.disk = xendtest.make_disk(cls.daemon.dir, "lc-shared.img", 4 << 20)
        with open(cls.disk, "r+b") as f:
            f.write(b"XENDTEST-VDA-PATTERN\n")
        cls.con = boot_guest(cls.p, cls.name, disks=[cls.disk])

    def setUp(self):
        # A test that failed half-way may have left it paused.
        if self.state(self.name) == "paused":
            self.p.domain.unpause(self.name)
        self.con.skip()

    def test_console_read_has_the_boot_log(self):
        r = self.p.domain.console_read(self.name)
        self.assertEqual(r["start"], 0)
        self.assertGreater(r["offset"], 0)
        log = r["data"]
        self.assertIn("TESTGUEST-READY kernel=", log)
        kernel = self.con.value("uname -r")
        self.assertIn(f"TESTGUEST-READY kernel={kernel} cpus=1 mem_kb=", log)
        # Reading on from an offset gives the rest: the tail of the whole log.
        rest = self.p.domain.console_read(self.name, r["offset"] // 2)
        self.assertGreaterEqual(rest["offset"], r["offset"])
        again = self.p.domain.console_read(self.name)["data"]
        self.assertTrue(again.startswith(log[:200]))
        self.assertTrue(0 < len(rest["data"]) < len(again))
        self.assertIn(rest["data"], again)

    def test_console_write_reaches_the_shell(self):
        n = self.p.domain.console_write(self.name, "lcvar=hello-$((6*7))\n")
        self.assertEqual(n, len("lcvar=hello-$((6*7))\n"))
        self.assertEqual(self.con.value("echo $lcvar"), "hello-42")
        self.assertEqual(self.con.value("hostname"), "testguest")
        self.assertIn(self.con.value("echo $$"), self.con.run("ps"))

    def test_sysrq_help(self):
        self.assertIs(self.p.domain.sysrq(self.name, "h"), True)
        self.con.wait("sysrq: HELP", ASYNC)
        # The guest carries on.
        self.assertEqual(self.con.value("echo $((2+3))"), "5")

    def test_pause_unpause(self):
        r = self.p.domain.pause(self.name)
        self.assertEqual((r["state"], r["reason"]), ("paused", "user"))
        self.assertEqual(self.p.domain.pause(self.name)["state"], "paused")
        self.assertEqual(self.state(self.name), "paused")
        # Typed at a paused guest: nothing is echoed or run until it runs again.
        self.con.type("echo =P$((20+22))=\n")
        time.sleep(1.5)
        self.con.poll()
        self.assertNotIn("=P", self.con.seen)
        r = self.p.domain.unpause(self.name)
        self.assertEqual((r["state"], r["reason"]), ("running", "unpaused"))
        self.assertEqual(self.p.domain.unpause(self.name)["state"], "running")
        self.con.wait("=P42=", ASYNC)
        self.assertEqual(self.con.value("echo alive"), "alive")

    def test_stats_cpu_time_grows(self):
        before = self.p.domain.stats(self.name)
        self.con.run("i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done")
        after = self.p.domain.stats(self.name)
        self.assertGreater(after["cpu_time"], before["cpu_time"])
        self.assertEqual(after["memory"], 128 * 1024)
        self.assertGreater(self.row(self.name)["cpu_time"], before["cpu_time"])

    def test_stats_block_counters_grow(self):
        # The guest's page cache would answer a second read of the same blocks.
        self.con.run("sync; echo 3 > /proc/sys/vm/drop_caches")
        before = self.p.domain.stats(self.name)
        out = self.con.run("dd if=/dev/vda of=/dev/null bs=64k count=16")
        self.assertIn("16+0 records in", out)
        after = self.p.domain.stats(self.name)
        self.assertGreaterEqual(after["rd_bytes"] - before["rd_bytes"], 16 * 65536, after)
        self.assertGreater(after["rd_reqs"], before["rd_reqs"])
        # What the host wrote into the image is what the guest reads.
        self.assertEqual(self.con.value("head -c 20 /dev/vda; echo"), "XENDTEST-VDA-PATTERN")
        before = after
        self.con.run("echo guest-wrote | dd of=/dev/vda bs=512 seek=8 conv=sync,fsync")
        after = self.p.domain.stats(self.name)
        self.assertGreaterEqual(after["wr_bytes"] - before["wr_bytes"], 512, after)
        self.assertGreater(after["wr_reqs"], before["wr_reqs"])
        with open(self.disk, "rb") as f:
            f.seek(8 * 512)
            self.assertEqual(f.read(12), b"guest-wrote\n")


class LifecycleTests(QemuTestCase):
    """Each method boots its own guest (one at a time) and leaves none running."""

    def tearDown(self):
        for d in self.p.domain.list():
            if d["name"] != "Domain-0":
                self.destroy(d["name"])

    def assertQemuGone(self, row):
        self.assertTrue(xendtest.wait_for(lambda: qemu_pid(self.daemon, row["name"]) is None,
                                          ASYNC, 0.1), "the domain's QEMU is still running")
        self.assertEqual(qemu_pids(self.daemon.dir), [])

    def test_start_paused_unpause_shutdown(self):
        name = self.uniq("lc-paused")
        self.p.domain.define(guest_xml(name))
        r = self.p.domain.start(name, True)
        self.assertEqual(r["state"], "paused")
        self.assertGreater(r["id"], 0)
        self.assertIsNotNone(qemu_pid(self.daemon, r["name"]))
        # The vCPUs never ran: no kernel has printed anything yet.
        time.sleep(1)
        self.assertNotIn("TESTGUEST-READY", self.p.domain.console_read(name)["data"])
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        con = self.ready(name)
        self.assertEqual(con.value("echo $((1+1))"), "2")
        # The ACPI power button: the guest's own markers, then shutoff (reason shutdown).
        since = self.p.event.current_id()
        self.assertEqual(self.p.domain.shutdown(name)["state"], "shutdown")
        self.assertIn("TESTGUEST-POWERBUTTON", con.follow_until_stopped())
        self.wait_state(name, "shutoff")
        r = self.row(name)
        self.assertEqual((r["reason"], r["id"]), ("shutdown", -1))
        self.wait_event(since, name, "stopped", "shutdown")
        self.assertQemuGone(r)
        self.assertFault(OPERATION_INVALID, self.p.domain.console_read, name)

    def test_create_transient_shutdown(self):
        """A transient guest powered off by the ACPI button is gone, QEMU with it."""
        name = self.uniq("lc-create")
        r = self.p.domain.create(guest_xml(name))
        self.assertEqual((r["state"], r["persistent"]), ("running", False))
        con = self.ready(name)
        pid = qemu_pid(self.daemon, r["name"])
        self.assertIsNotNone(pid)
        since = self.p.event.current_id()
        self.assertEqual(self.p.domain.shutdown(name)["state"], "shutdown")
        self.assertIn("TESTGUEST-POWERBUTTON", con.follow_until_stopped())
        ev = self.wait_event(since, name, "stopped", "shutdown")
        self.assertEqual(ev["state"], "shutoff")
        self.assertTrue(xendtest.wait_for(lambda: self.gone(name), ASYNC))
        self.assertTrue(xendtest.wait_for(lambda: not xendtest.pid_running(pid), ASYNC, 0.1))
        self.assertQemuGone(r)
        # Created paused: a QEMU whose vCPUs wait; destroyed, the domain is gone.
        name = self.uniq("lc-create-p")
        r = self.p.domain.create(guest_xml(name), {"paused": True})
        self.assertEqual(r["state"], "paused")
        self.assertIsNotNone(qemu_pid(self.daemon, r["name"]))
        self.p.domain.destroy(name)
        self.assertTrue(self.gone(name))
        self.assertQemuGone(r)

    def test_on_poweroff_restart(self):
        name = self.uniq("lc-restart")
        con = self.boot(name, on_poweroff="restart")
        first = self.row(name)
        pid = qemu_pid(self.daemon, first["name"])
        since = self.p.event.current_id()
        con.run("kept=first-boot")
        self.p.domain.shutdown(name)
        # (The new QEMU's console replaces this one at once: the power button's marker is
        # checked by the other shutdown tests.)
        self.wait_event(since, name, "stopped", "shutdown")
        ev = self.wait_event(since, name, "started")
        r = self.row(name)
        self.assertEqual(r["state"], "running")
        self.assertNotEqual(r["id"], first["id"])
        self.assertEqual(ev["domid"], r["id"])
        # It boots again, in a new QEMU.
        con = self.ready(name)
        self.assertNotEqual(qemu_pid(self.daemon, r["name"]), pid)
        self.assertEqual(con.value("echo [$kept]"), "[]")
        self.assertEqual(len(qemu_pids(self.daemon.dir)), 1)

    def boot_state(self, con):
        """(uptime seconds, boot id, host monotonic time of the reading)."""
        out = con.run("cat /proc/uptime /proc/sys/kernel/random/boot_id").split()
        return float(out[0]), out[2], time.monotonic()

    def assertRebooted(self, before, after):
        """The guest's uptime started over: without a reboot it would be at least the old
        uptime plus the host time that passed between the two readings; the boot id is new."""
        up0, id0, t0 = before
        up1, id1, t1 = after
        self.assertLess(up1, up0 + (t1 - t0), (before, after))
        self.assertNotEqual(id0, id1)

    def test_reboot_resets_uptime(self):
        name = self.uniq("lc-reboot")
        con = self.boot(name)
        first = self.row(name)
        pid = qemu_pid(self.daemon, first["name"])
        con.run("kept=before-reboot")
        before = self.boot_state(con)
        since = self.p.event.current_id()
        self.assertEqual(self.p.domain.reboot(name)["name"], name)
        con.wait("TESTGUEST-POWERBUTTON", ASYNC)
        con.wait_ready()
        ev = self.wait_event(since, name, "rebooted")
        self.assertEqual(ev["state"], "running")
        after = self.boot_state(con)
        self.assertRebooted(before, after)
        self.assertEqual(con.value("echo [$kept]"), "[]")
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"], r["id"]), ("running", "rebooted", first["id"]))
        # A reboot stays in the same QEMU.
        self.assertEqual(qemu_pid(self.daemon, r["name"]), pid)
        # sysrq 'b': the guest resets at once (QEMU reports RESET; on_reboot=restart).
        before = after
        since = self.p.event.current_id()
        con.skip()
        self.assertIs(self.p.domain.sysrq(name, "b"), True)
        self.wait_event(since, name, "rebooted")
        con.wait_ready()
        self.assertRebooted(before, self.boot_state(con))
        self.assertEqual(self.state(name), "running")

    def test_crash_restart(self):
        name = self.uniq("lc-crash-r")
        con = self.boot(name, on_crash="restart")
        first = self.row(name)
        since = self.p.event.current_id()
        self.assertIs(self.p.domain.sysrq(name, "c"), True)
        # pvpanic tells QEMU, which tells xend: the guest panicked (not a QEMU failure).
        ev = self.wait_event(since, name, "crashed")
        self.assertEqual(ev["detail"], "panicked")
        self.wait_event(since, name, "stopped", "crashed")
        self.wait_event(since, name, "started")
        r = self.row(name)
        self.assertEqual(r["state"], "running")
        self.assertNotEqual(r["id"], first["id"])
        con = self.ready(name)
        self.assertEqual(con.value("echo $((3*3))"), "9")
        # Destroy pulls the plug: shutoff at once, the QEMU process gone.
        pid = qemu_pid(self.daemon, r["name"])
        r = self.p.domain.destroy(name)
        self.assertEqual((r["state"], r["reason"], r["id"]), ("shutoff", "destroyed", -1))
        self.assertFalse(xendtest.pid_running(pid))
        self.assertQemuGone(r)

    def test_crash_preserve(self):
        name = self.uniq("lc-crash-p")
        self.boot(name, on_crash="preserve")
        first = self.row(name)
        since = self.p.event.current_id()
        self.p.domain.sysrq(name, "c")
        self.wait_event(since, name, "crashed")
        self.wait_state(name, "crashed")
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"]), ("crashed", "panicked"))
        self.assertQemuGone(first)
        # Kept crashed until destroyed.
        self.assertEqual(self.state(name), "crashed")
        r = self.p.domain.destroy(name)
        self.assertEqual((r["state"], r["reason"]), ("shutoff", "destroyed"))


if __name__ == "__main__":
    main()
