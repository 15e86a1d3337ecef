#!/usr/bin/env python3
"""xend dies (kill -9) while QEMU guests run, and is started again on the same directories:
the guests were never restarted (the same QEMU processes, the same ids, a paused one still
paused, shell variables still set) and are controllable again (pause/unpause, a console
command answered, stats, destroy). A guest whose QEMU was killed while xend was down is
found stopped, with a reason, after the next restart, the others untouched. A QEMU killed
while xend runs makes its domain crashed: the state and reason in domain.lookup and a
'crashed' event through event.next."""
import os
import signal

import xendtest
from xendtest import wait_for
from qemutest import ASYNC, GuestConsole, QemuTestCase, log_tail, main, qemu_pid, qemu_pids


class RestartTests(QemuTestCase):

    def tearDown(self):
        for d in self.p.domain.list():
            if d["name"] != "Domain-0":
                self.destroy(d["name"])

    @classmethod
    def restart(cls, while_down=None):
        """kill -9 the daemon, call while_down(), start the daemon again with the same
        configuration and directories."""
        cls.p("close")()
        cls.daemon.kill()
        if while_down:
            while_down()
        cls.daemon.start()
        cls.p = cls.daemon.proxy(timeout=120)

    def kill_qemu(self, pid):
        os.kill(pid, signal.SIGKILL)
        # A QEMU that is not xend's child (xend was killed) is reaped by someone else; a
        # zombie counts as gone.
        self.assertTrue(wait_for(lambda: not xendtest.pid_running(pid), ASYNC, 0.05))

    def test_kill9_xend_keeps_guests(self):
        names = [self.uniq("rs") for _ in range(3)]
        for n in names:
            con = self.boot(n)
            con.run(f"kept={n}-value")
        self.p.domain.pause(names[1])
        rows = {n: self.row(n) for n in names}
        pids = {n: qemu_pid(self.daemon, rows[n]["name"]) for n in names}
        self.assertNotIn(None, pids.values())
        self.assertEqual(qemu_pids(self.daemon.dir), sorted(pids.values()))

        self.restart()
        for n in names:
            r = self.row(n)
            self.assertEqual((r["state"], r["id"]),
                             ("paused" if n == names[1] else "running", rows[n]["id"]), r)
            self.assertEqual(qemu_pid(self.daemon, r["name"]), pids[n])
        self.assertEqual(qemu_pids(self.daemon.dir), sorted(pids.values()),
                         "a guest was restarted")
        # Controllable: the paused one goes on, the running ones pause and go on, every
        # console answers with what its guest kept.
        self.assertEqual(self.p.domain.unpause(names[1])["state"], "running")
        self.assertEqual(self.p.domain.pause(names[0])["state"], "paused")
        self.assertEqual(self.p.domain.unpause(names[0])["state"], "running")
        for n in names:
            con = GuestConsole(self.p, n)
            self.assertEqual(con.value("echo $kept"), f"{n}-value")
            self.assertGreater(self.p.domain.stats(n)["cpu_time"], 0)
        # The console history is still there (read back from QEMU's serial log).
        self.assertIn("TESTGUEST-READY", self.p.domain.console_read(names[0], 0)["data"])

        # xend down again; meanwhile one guest's QEMU dies.
        self.restart_with_dead_guest(names, rows, pids)

    def restart_with_dead_guest(self, names, rows, pids):
        dead = names[2]
        self.restart(lambda: self.kill_qemu(pids[dead]))
        ok = wait_for(lambda: self.state(dead) in ("shutoff", "crashed"), ASYNC, 0.1)
        r = self.row(dead)
        self.assertTrue(ok, f"{r}\n{log_tail(self.daemon)}")
        self.assertEqual(r["id"], -1)
        # "daemon": found gone when the daemon came back (or crashed, failed).
        self.assertIn(r["reason"], ("daemon", "crashed", "failed"), r)
        # The others were left alone.
        for n in names[:2]:
            r = self.row(n)
            self.assertEqual((r["state"], r["id"]), ("running", rows[n]["id"]))
            self.assertEqual(qemu_pid(self.daemon, r["name"]), pids[n])
            self.assertEqual(GuestConsole(self.p, n).value("echo $kept"), f"{n}-value")
        # And can be destroyed: their QEMU ends.
        for n in names[:2]:
            r = self.p.domain.destroy(n)
            self.assertEqual((r["state"], r["reason"]), ("shutoff", "destroyed"))
            self.assertTrue(wait_for(lambda: not xendtest.pid_running(pids[n]), ASYNC, 0.1))
        self.assertEqual(qemu_pids(self.daemon.dir), [])
        # The stopped one boots again.
        self.p.domain.start(dead)
        self.assertEqual(self.ready(dead).value("echo [$kept]"), "[]")

    def test_qemu_killed_while_xend_runs(self):
        name = self.uniq("rs-kill")
        self.boot(name)
        pid = qemu_pid(self.daemon, name)
        since = self.p.event.current_id()
        self.kill_qemu(pid)
        ev = self.wait_event(since, name, "crashed")
        self.assertEqual(ev["detail"], "crashed")
        ok = wait_for(lambda: self.row(name)["id"] == -1, ASYNC, 0.1)
        r = self.row(name)
        self.assertTrue(ok, r)
        self.assertIn(r["state"], ("shutoff", "crashed"))
        self.assertEqual(r["reason"], "crashed")
        self.assertEqual(qemu_pids(self.daemon.dir), [])


if __name__ == "__main__":
    main()
