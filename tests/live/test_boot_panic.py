"""A simulated guest too small to boot (xm-test's 16_create_smallmem_neg; 15_create_smallmem_pos
and memset/04_memset_smallmem_pos are the guests that must work), through Python's
xmlrpc.client against real xends: below the host's guest_min_mib (default 24) the guest's
console shows its kernel's out-of-memory panic and no shell answers, then the domain
crashes and on_crash applies (destroy: shut off or gone, preserve: crashed, restart: booted
again, at most 3 times in a row). Enough memory, a lower or disabled minimum, and
ballooning a running guest down are unaffected."""
import time
import unittest

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml, wait_for, write_host_config

NO_DOMAIN = 3
PANIC = "Kernel panic - not syncing: Out of memory and no killable processes..."
PROMPT = "/ # "
ASYNC = 15

_n = [0]


def uniq(prefix):
    _n[0] += 1
    return f"{prefix}-{_n[0]}"


class PanicBase(FaultAssertions, unittest.TestCase):
    host = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
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

    def console(self, name):
        f = xendtest.fault_of(self.p.domain.console_read, name)
        return "" if f else self.p.domain.console_read(name)["data"]

    def events_until(self, since, name, event, timeout=ASYNC):
        """The events of name after since, up to the first `event` (bounded wait)."""
        seen = []
        deadline = time.monotonic() + timeout * xendtest.SLOW
        while time.monotonic() < deadline:
            r = self.p.event.next(since, 1000)
            since = r["last_id"]
            for e in r["events"]:
                if e["domain"] == name and e["type"] == "lifecycle":
                    seen.append(e)
                    if e["event"] == event:
                        return seen
        self.fail(f"no '{event}' event for {name}: {seen}")

    def answers(self, name):
        """The guest's shell runs a command."""
        self.assertTrue(wait_for(lambda: self.console(name).endswith("login: \n"), 10))
        off = self.p.domain.console_read(name)["offset"]
        self.p.domain.console_write(name, "echo ok\n")
        return self.p.domain.console_read(name, off)["data"] == "echo ok\nok\n" + PROMPT


class DefaultMinimumTests(PanicBase):

    def test_too_small_transient_panics_and_goes(self):
        name = uniq("small-t")
        since = self.p.event.current_id()
        row = self.p.domain.create(domain_xml(name, memory=16384))
        self.assertEqual(row["state"], "running")
        boot = self.console(name)
        self.assertIn("Memory: 16384K/16384K available", boot)
        self.assertNotIn("login:", boot)
        # No shell reads what is typed.
        self.assertEqual(self.p.domain.console_write(name, "ls\n"), 3)
        self.assertNotIn("ls\n", self.console(name))
        # The panic is on the console while the kernel spins, before the crash.
        seen = {}

        def panicked():
            seen["text"] = self.console(name)
            return PANIC in seen["text"]

        self.assertTrue(wait_for(panicked, ASYNC), seen)
        text = seen["text"]
        self.assertIn("] Out of memory and no killable processes...\n", text)
        self.assertIn(f"---[ end {PANIC} ]---", text)
        self.assertNotIn("ls\n", text)
        self.assertNotIn(PROMPT, text)
        evs = self.events_until(since, name, "stopped")
        self.assertEqual([(e["event"], e["detail"]) for e in evs[-2:]],
                         [("crashed", "panicked"), ("stopped", "crashed")])
        self.assertFault(NO_DOMAIN, self.p.domain.lookup, name)
        self.assertIn(f"Domain {row['id']} ({name}) crashed (out of memory at boot)",
                      self.p.node.dmesg())

    def test_on_crash_destroy_and_preserve(self):
        for action, state, reason in (("destroy", "shutoff", "crashed"),
                                      ("preserve", "crashed", "panicked")):
            with self.subTest(on_crash=action):
                name = uniq("small-" + action)
                self.p.domain.define(domain_xml(name, memory=16384, on_crash=action))
                since = self.p.event.current_id()
                self.p.domain.start(name)
                self.events_until(since, name, "crashed" if action == "preserve" else "stopped")
                r = self.p.domain.lookup(name)
                self.assertEqual((r["state"], r["reason"], r["id"]), (state, reason, -1))
                if action == "preserve":
                    self.p.domain.destroy(name)
                # A start tries (and fails) again: nothing was remembered against it.
                since = self.p.event.current_id()
                self.p.domain.start(name)
                self.events_until(since, name, "crashed" if action == "preserve" else "stopped")
                if action == "preserve":
                    self.p.domain.destroy(name)
                self.p.domain.undefine(name)

    def test_on_crash_restart_is_bounded(self):
        name = uniq("small-restart")
        self.p.domain.define(domain_xml(name, memory=16384, on_crash="restart"))
        since = self.p.event.current_id()
        first = self.p.domain.start(name)["id"]
        seen = []
        deadline = time.monotonic() + 30 * xendtest.SLOW
        while time.monotonic() < deadline:
            r = self.p.domain.lookup(name)
            if r["state"] == "shutoff":
                break
            time.sleep(0.1)
        r = self.p.domain.lookup(name)
        self.assertEqual((r["state"], r["reason"]), ("shutoff", "crashed"))
        evs = [e for e in self.p.event.next(since)["events"]
               if e["domain"] == name and e["type"] == "lifecycle"]
        started = [e["domid"] for e in evs if e["event"] == "started"]
        # The start, then three restarts: each a new id, each crashed again.
        self.assertEqual(len(started), 4, evs)
        self.assertEqual(started[0], first)
        self.assertEqual(started, sorted(set(started)))
        self.assertEqual(len([e for e in evs if e["event"] == "crashed"]), 4)
        self.assertIn(f"({name}) crashed at boot 4 times in a row: not restarted "
                      f"(on_crash=restart)", self.p.node.dmesg())
        # Nothing runs on afterwards.
        time.sleep(0.5)
        self.assertEqual(self.p.domain.lookup(name)["state"], "shutoff")
        self.p.domain.undefine(name)

    def test_paused_guest_panics_once_unpaused(self):
        name = uniq("small-paused")
        self.p.domain.create(domain_xml(name, memory=16384), {"paused": True})
        time.sleep(0.5)
        self.assertEqual(self.p.domain.lookup(name)["state"], "paused")
        self.assertNotIn(PANIC, self.console(name))
        since = self.p.event.current_id()
        # Unpaused twice: the panic is still printed once, and read before the crash.
        self.p.domain.unpause(name)
        self.p.domain.pause(name)
        self.p.domain.unpause(name)
        seen = {}

        def panicked():
            seen["text"] = self.console(name)
            return PANIC in seen["text"]

        self.assertTrue(wait_for(panicked, ASYNC), seen)
        self.assertEqual(seen["text"].count(PANIC), 2)  # the panic and its end marker
        self.events_until(since, name, "stopped")
        self.assertFault(NO_DOMAIN, self.p.domain.lookup, name)

    def test_enough_memory_boots(self):
        name = uniq("small-32")
        self.p.domain.create(domain_xml(name, memory=32768))
        self.assertTrue(self.answers(name))
        self.assertNotIn("Kernel panic", self.console(name))
        self.p.domain.destroy(name)

    def test_balloon_down_keeps_running(self):
        """memset/04_memset_smallmem_pos: a running guest ballooned to 15 MiB goes on."""
        name = uniq("small-balloon")
        self.p.domain.create(domain_xml(name))
        self.assertTrue(self.answers(name))
        self.p.domain.set_memory(name, 15 * 1024)
        time.sleep(0.5)
        off = self.p.domain.console_read(name)["offset"]
        self.p.domain.console_write(name, "echo still\n")
        self.assertEqual(self.p.domain.console_read(name, off)["data"],
                         "echo still\nstill\n" + PROMPT)
        self.assertEqual(self.p.domain.lookup(name)["state"], "running")
        self.p.domain.destroy(name)


class RaisedMinimumTests(PanicBase):
    host = {"guest_min_mib": 64}

    def test_minimum_from_host_config(self):
        name = uniq("min64-ok")
        self.p.domain.create(domain_xml(name, memory=65536))
        self.assertTrue(self.answers(name))
        self.p.domain.destroy(name)
        # The memory it boots with counts (currentMemory), not its maximum.
        name = uniq("min64-small")
        since = self.p.event.current_id()
        self.p.domain.create(domain_xml(name, memory=131072, current_memory=49152))
        self.events_until(since, name, "stopped")


class NoMinimumTests(PanicBase):
    host = {"guest_min_mib": 0}

    def test_zero_turns_the_check_off(self):
        name = uniq("nomin")
        self.p.domain.create(domain_xml(name, memory=4096))
        self.assertTrue(self.answers(name))
        self.p.domain.destroy(name)


class BadConfigTests(unittest.TestCase):
    def test_bad_value_is_a_startup_error(self):
        d = Daemon()
        path = write_host_config(d.dir, guest_min_mib="lots")
        with open(d.conf_path, "a") as f:
            f.write(f"host_config = {path}\n")
        d.start(wait=False)
        self.assertEqual(d.proc.wait(timeout=15 * xendtest.SLOW), 1)
        self.assertIn("guest_min_mib", d.output())
        d.proc = None
        d.stderr.close()


if __name__ == "__main__":
    xendtest.main()
