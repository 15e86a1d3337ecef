"""The event API through Python's xmlrpc.client against a real xend: event.current_id,
event.next's long-poll (woken by another client's call, timing out empty), the event
fields and ordering of a domain's lifecycle, EVENTS_LOST and resynchronisation, parked
long-polls not holding the daemon's workers, and event.next inside system.multicall.
Nothing here measures time: a waiter shows it was woken by returning the event it waited
for, and every wait has a bound."""
import itertools
import threading
import time
import unittest

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml, nic_xml, wait_for

EVENTS_LOST = 16
INVALID_ARG = 13
EVENT_KEYS = {"id", "time", "class", "type", "event", "detail", "domain", "uuid", "domid",
              "state", "reason"}

_names = itertools.count()


def uniq(prefix):
    return f"{prefix}-{next(_names)}"


class Waiter(threading.Thread):
    """event.next(since, timeout_ms) on its own connection, in a thread."""

    def __init__(self, daemon, since, timeout_ms):
        super().__init__(daemon=True)
        self.proxy = daemon.proxy(timeout=timeout_ms / 1000 + 30)
        self.since = since
        self.timeout_ms = timeout_ms
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.proxy.event.next(self.since, self.timeout_ms)
        except Exception as e:  # noqa: BLE001 - checked by the test
            self.error = e
        finally:
            self.proxy("close")()


class EventTests(FaultAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.p = cls.daemon.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def collect(self, since, until, timeout=15):
        """Events after since, long-polling until until(events) holds (bounded)."""
        events = []
        cursor = since

        def more():
            nonlocal cursor
            r = self.p.event.next(cursor, 200)
            events.extend(r["events"])
            cursor = r["last_id"]
            return until(events)

        self.assertTrue(wait_for(more, timeout, interval=0),
                        [(e["domain"], e["event"], e["detail"]) for e in events])
        return events

    def test_current_id_and_event_fields(self):
        cur = self.p.event.current_id()
        self.assertIsInstance(cur, int)
        self.assertGreaterEqual(cur, 0)
        name = uniq("ev")
        row = self.p.domain.define(domain_xml(name))
        self.assertEqual(self.p.event.current_id(), cur + 1)
        r = self.p.event.next(cur)
        self.assertEqual(r["last_id"], cur + 1)
        self.assertEqual(len(r["events"]), 1)
        e = r["events"][0]
        self.assertTrue(EVENT_KEYS <= set(e), e)
        self.assertEqual((e["id"], e["class"], e["type"], e["event"], e["detail"]),
                         (cur + 1, "domain", "lifecycle", "defined", "added"))
        self.assertEqual((e["domain"], e["uuid"], e["domid"], e["state"]),
                         (name, row["uuid"], -1, "shutoff"))
        self.assertIsInstance(e["time"], float)
        self.assertGreater(e["time"], 0)
        # Nothing newer: an immediate empty answer with last_id == since.
        r = self.p.event.next(cur + 1)
        self.assertEqual((r["events"], r["last_id"]), ([], cur + 1))

    def test_long_poll_woken_by_another_client(self):
        name = uniq("wake")
        self.p.domain.define(domain_xml(name))
        started = self.p.domain.start(name)
        since = self.p.event.current_id()
        w = Waiter(self.daemon, since, 10000)
        w.start()
        # Give the waiter a moment to be parked (if it is not yet, it gets the event at
        # once instead, which is just as correct).
        time.sleep(0.3)
        with self.daemon.proxy() as other:
            self.assertEqual(other.domain.pause(name)["state"], "paused")
        w.join(30)
        self.assertFalse(w.is_alive(), "event.next did not return")
        self.assertIsNone(w.error)
        evs = w.result["events"]
        self.assertTrue(evs, "the waiter returned without the event (it timed out)")
        e = evs[0]
        self.assertEqual((e["domain"], e["type"], e["event"], e["detail"]),
                         (name, "lifecycle", "suspended", "paused"))
        self.assertEqual((e["state"], e["domid"]), ("paused", started["id"]))
        self.assertEqual(w.result["last_id"], evs[-1]["id"])
        self.assertEqual(e["id"], since + 1)

    def test_timeout_without_events(self):
        cur = self.p.event.current_id()
        r = self.p.event.next(cur, 300)
        self.assertEqual(r["events"], [])
        self.assertEqual(r["last_id"], cur)
        self.assertEqual(self.p.event.current_id(), cur)

    def test_ids_strictly_increase_and_lifecycle_order(self):
        name = uniq("order")
        since = self.p.event.current_id()
        self.p.domain.define(domain_xml(name))
        self.p.domain.start(name)
        self.p.domain.pause(name)
        self.p.domain.unpause(name)
        self.p.domain.set_autostart(name, True)
        self.p.domain.attach_device(name, nic_xml("52:54:00:50:00:01"))
        self.p.domain.detach_device(name, "52:54:00:50:00:01")
        self.p.domain.destroy(name)
        new = uniq("order-new")
        self.p.domain.rename(name, new)
        self.p.domain.undefine(new)
        r = self.p.event.next(since)
        evs = r["events"]
        ids = [e["id"] for e in evs]
        self.assertEqual(ids, list(range(since + 1, since + 1 + len(ids))))
        self.assertEqual(r["last_id"], ids[-1])
        self.assertEqual(self.p.event.current_id(), ids[-1])
        times = [e["time"] for e in evs]
        self.assertEqual(times, sorted(times))
        mine = [(e["type"], e["event"], e["detail"]) for e in evs
                if e["domain"] in (name, new)]
        self.assertEqual(mine[:4], [("lifecycle", "defined", "added"),
                                    ("lifecycle", "started", "booted"),
                                    ("lifecycle", "suspended", "paused"),
                                    ("lifecycle", "resumed", "unpaused")])
        self.assertIn(("config", "autostart", "enabled"), mine)
        # A live+config attach and detach: one device event each.
        self.assertEqual([m[1] for m in mine if m[0] == "device"], ["added", "removed"], mine)
        self.assertIn(("lifecycle", "stopped", "destroyed"), mine)
        self.assertEqual(mine[-2:], [("lifecycle", "defined", "renamed"),
                                     ("lifecycle", "undefined", "removed")])
        renamed = [e for e in evs if e["event"] == "defined" and e["detail"] == "renamed"][0]
        self.assertEqual((renamed["domain"], renamed["old_name"]), (new, name))
        for dev in (e for e in evs if e["type"] == "device"):
            self.assertEqual((dev["kind"], dev["device"]), ("interface", "52:54:00:50:00:01"))
        # Asking from the middle gives the rest, in order.
        mid = ids[len(ids) // 2]
        self.assertEqual([e["id"] for e in self.p.event.next(mid)["events"]],
                         [i for i in ids if i > mid])

    def test_shutdown_events(self):
        name = uniq("shut")
        self.p.domain.define(domain_xml(name))
        self.p.domain.start(name)
        since = self.p.event.current_id()
        self.p.domain.shutdown(name)
        evs = self.collect(since, lambda es: any(e["event"] == "stopped" for e in es))
        mine = [(e["event"], e["detail"]) for e in evs if e["domain"] == name]
        self.assertEqual(mine, [("shutdown", "poweroff"), ("shutdown", "finished"),
                                ("stopped", "shutdown")])
        stopped = [e for e in evs if e["event"] == "stopped"][0]
        self.assertEqual((stopped["state"], stopped["domid"]), ("shutoff", -1))

    def test_several_waiters_get_the_same_event(self):
        name = uniq("many")
        self.p.domain.define(domain_xml(name))
        since = self.p.event.current_id()
        waiters = [Waiter(self.daemon, since, 10000) for _ in range(4)]
        for w in waiters:
            w.start()
        time.sleep(0.3)
        self.p.domain.start(name)
        for w in waiters:
            w.join(30)
            self.assertFalse(w.is_alive())
            self.assertIsNone(w.error)
            self.assertTrue(w.result["events"])
            e = w.result["events"][0]
            self.assertEqual((e["id"], e["domain"], e["event"]),
                             (since + 1, name, "started"))

    def test_next_inside_multicall_answers_at_once(self):
        cur = self.p.event.current_id()
        # If the daemon parked it for the 30 s asked, this proxy's 10 s bound would fail it.
        with self.daemon.proxy(timeout=10) as p:
            out = p.system.multicall([
                {"methodName": "event.next", "params": [cur, 30000]},
                {"methodName": "event.current_id", "params": []},
            ])
        self.assertEqual(out[0], [{"events": [], "last_id": cur}])
        self.assertEqual(out[1], [cur])
        # With events pending, it returns them.
        name = uniq("mc")
        self.p.domain.define(domain_xml(name))
        with self.daemon.proxy(timeout=10) as p:
            out = p.system.multicall([{"methodName": "event.next", "params": [cur, 30000]}])
        evs = out[0][0]["events"]
        self.assertEqual([(e["domain"], e["event"]) for e in evs], [(name, "defined")])

    def test_bad_arguments(self):
        cur = self.p.event.current_id()
        self.assertFault(INVALID_ARG, self.p.event.next, cur + 1000)
        self.assertFault(INVALID_ARG, self.p.event.next, cur, 60001)
        self.assertFault(INVALID_ARG, self.p.event.next, -1)


class EventsLostTests(FaultAssertions, unittest.TestCase):
    """A small ring (event_ring = 16) that a slow client falls behind."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(config={"event_ring": 16}).start()
        cls.p = cls.daemon.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def test_events_lost_and_resync(self):
        name = uniq("lost")
        self.p.domain.define(domain_xml(name))
        self.p.domain.start(name)
        since = self.p.event.current_id()
        for _ in range(10):
            self.p.domain.pause(name)
            self.p.domain.unpause(name)
        f = self.assertFault(EVENTS_LOST, self.p.event.next, 1)
        self.assertIn("event.current_id", f.faultString)
        self.assertFault(EVENTS_LOST, self.p.event.next, since)
        self.assertFault(EVENTS_LOST, self.p.event.next, 0, 1000)
        # Resynchronise: the current id, the state from domain.list, then carry on.
        cur = self.p.event.current_id()
        rows = {r["name"]: r for r in self.p.domain.list()}
        self.assertEqual(rows[name]["state"], "running")
        self.assertEqual(self.p.event.next(cur, 0), {"events": [], "last_id": cur})
        w = Waiter(self.daemon, cur, 10000)
        w.start()
        time.sleep(0.2)
        self.p.domain.pause(name)
        w.join(30)
        self.assertFalse(w.is_alive())
        self.assertIsNone(w.error)
        self.assertEqual([(e["id"], e["event"]) for e in w.result["events"]],
                         [(cur + 1, "suspended")])
        # The ring keeps the newest 16: the oldest of them is still readable.
        last = self.p.event.current_id()
        got = self.p.event.next(last - 16)["events"]
        self.assertEqual([e["id"] for e in got], list(range(last - 15, last + 1)))


class ParkedPollTests(unittest.TestCase):
    """Parked long-polls hold no worker: with workers = 2, ten of them wait while ordinary
    calls are still answered, and one event wakes all ten."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(config={"workers": 2}).start()
        cls.p = cls.daemon.proxy(timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def test_parked_polls_do_not_block_other_clients(self):
        name = uniq("parked")
        self.p.domain.define(domain_xml(name))
        since = self.p.event.current_id()
        waiters = [Waiter(self.daemon, since, 30000) for _ in range(10)]
        for w in waiters:
            w.start()
        try:
            time.sleep(0.5)
            # All ten wait (no event yet), and ordinary calls still answer within the
            # proxy's bound on fresh connections and on an existing one.
            self.assertTrue(all(w.is_alive() for w in waiters))
            for _ in range(3):
                with self.daemon.proxy(timeout=10) as p:
                    self.assertEqual(p.daemon.version()["product"], "xend")
                    self.assertIn(name, {r["name"] for r in p.domain.list()})
            self.assertEqual(self.p.domain.lookup(name)["state"], "shutoff")
            self.assertTrue(all(w.is_alive() for w in waiters))
            # One event wakes every parked poll.
            self.p.domain.start(name)
        finally:
            for w in waiters:
                w.join(40)
        for w in waiters:
            self.assertFalse(w.is_alive())
            self.assertIsNone(w.error, w.error)
            self.assertTrue(w.result["events"], "a waiter timed out instead of being woken")
            e = w.result["events"][0]
            self.assertEqual((e["id"], e["domain"], e["event"]), (since + 1, name, "started"))


if __name__ == "__main__":
    xendtest.main()
