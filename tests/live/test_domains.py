"""Every domain.* and node.* method of API 1.0 on its happy path, through Python's
xmlrpc.client over the Unix socket of a real xend running the simulated host: the rows
the calls return and the states, files, consoles and counters they leave behind, checked
against the contract in src/api/methods.def."""
import itertools
import os
import socket
import threading
import time
import unittest
import uuid as uuidlib
import xml.etree.ElementTree as ET
import xmlrpc.client

import xendtest
from xendtest import (Daemon, FaultAssertions, disk_xml, domain_xml, make_disk, nic_xml,
                      wait_for, write_host_config)

NO_DOMAIN = 3
OPERATION_INVALID = 10
OPERATION_ABORTED = 17

ROW_KEYS = {"id", "name", "uuid", "state", "reason", "memory", "max_memory", "vcpus",
            "max_vcpus", "cpu_time", "autostart", "persistent", "managed_save",
            "start_time"}
LOOKUP_KEYS = ROW_KEYS | {"title", "description", "os_type", "on_poweroff", "on_reboot",
                          "on_crash", "job"}
STATES = {"running", "blocked", "paused", "shutdown", "shutoff", "crashed", "suspended"}
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
# device flags that say both keys (an absent key takes its default)
LIVE_ONLY = {"live": True, "config": False}
CONFIG_ONLY = {"live": False, "config": True}
# Bounds for asynchronous completions (a simulated shutdown takes ~300 ms).
ASYNC = 15

_names = itertools.count()


def uniq(prefix):
    return f"{prefix}-{next(_names)}"


def xml_memory(text):
    """(memory, currentMemory) in KiB from domain XML."""
    root = ET.fromstring(text)
    out = []
    for tag in ("memory", "currentMemory"):
        e = root.find(tag)
        if e.get("unit", "KiB") != "KiB":
            raise AssertionError(f"<{tag}> unit {e.get('unit')}")
        out.append(int(e.text))
    return tuple(out)


def xml_disk_targets(text):
    root = ET.fromstring(text)
    return [t.get("dev") for t in root.iter("target") if t.get("dev")]


def xml_macs(text):
    root = ET.fromstring(text)
    return [m.get("address") for m in root.iter("mac")]


class DomainTestBase(FaultAssertions, unittest.TestCase):
    """One daemon per class; each test uses its own domain names."""
    config = {}
    host = None  # keys for a host_config file

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(config=dict(cls.config))
        if cls.host:
            path = write_host_config(cls.daemon.dir, **cls.host)
            with open(cls.daemon.conf_path, "a") as f:
                f.write(f"host_config = {path}\n")
        cls.daemon.start()
        cls.p = cls.daemon.proxy()
        cls.disks = os.path.join(cls.daemon.dir, "disks")
        os.makedirs(cls.disks, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    # ---- helpers ----

    def disk(self, name, size=1 << 20):
        return make_disk(self.disks, name + ".img", size)

    def define(self, name, **kw):
        row = self.p.domain.define(domain_xml(name, **kw))
        self.assertEqual(row["name"], name)
        return row

    def define_started(self, name, paused=False, **kw):
        self.define(name, **kw)
        row = self.p.domain.start(name, paused)
        self.assertEqual(row["state"], "paused" if paused else "running")
        return row

    def row(self, dom):
        return self.p.domain.lookup(dom)

    def state(self, dom):
        return self.row(dom)["state"]

    def wait_state(self, dom, state, timeout=ASYNC):
        got = wait_for(lambda: self.state(dom) == state, timeout)
        self.assertTrue(got, f"{dom} did not reach state {state}: {self.row(dom)}")

    def gone(self, dom):
        f = xendtest.fault_of(self.p.domain.lookup, dom)
        return f is not None and f.faultCode == NO_DOMAIN

    def wait_event(self, since, dom, event, detail=None, timeout=ASYNC):
        """Long-poll (bounded) until an event (dom, event[, detail]) with id > since
        arrives; returns it."""
        seen = []
        cursor = since
        deadline = time.monotonic() + timeout * xendtest.SLOW
        while time.monotonic() < deadline:
            r = self.p.event.next(cursor, 200)
            for e in r["events"]:
                seen.append((e["domain"], e["event"], e["detail"]))
                if e["domain"] == dom and e["event"] == event and \
                        (detail is None or e["detail"] == detail):
                    return e
            cursor = r["last_id"]
        self.fail(f"no event {event}/{detail} for {dom}; saw {seen}")


class DomainTests(DomainTestBase):

    # ---- define, lookup, list ----

    def test_define_row_and_warnings(self):
        name = uniq("def")
        u = str(uuidlib.uuid4())
        row = self.p.domain.define(domain_xml(name, uuid=u, memory=131072, vcpus=2))
        self.assertEqual(set(row), ROW_KEYS | {"warnings"})
        self.assertEqual(row["uuid"], u)
        self.assertEqual(row["id"], -1)
        self.assertEqual(row["state"], "shutoff")
        self.assertEqual(row["memory"], 131072)
        self.assertEqual(row["max_memory"], 131072)
        self.assertEqual(row["vcpus"], 2)
        self.assertEqual(row["max_vcpus"], 2)
        self.assertEqual(row["cpu_time"], 0.0)
        self.assertEqual(row["start_time"], 0)
        self.assertIs(row["persistent"], True)
        self.assertIs(row["autostart"], False)
        self.assertIs(row["managed_save"], False)
        self.assertEqual(row["warnings"], [])
        self.assertTrue(os.path.exists(os.path.join(self.daemon.config_dir, name + ".xml")))

        # Kept-but-unused elements are reported, by element name and line.
        name2 = uniq("defw")
        xml = domain_xml(name2, devices_extra="    <graphics type='vnc' port='-1'/>",
                         extra="  <clock offset='utc'/>")
        row = self.p.domain.define(xml)
        self.assertEqual(row["state"], "shutoff")
        self.assertTrue(any("graphics" in w for w in row["warnings"]), row["warnings"])
        self.assertTrue(any("clock" in w for w in row["warnings"]), row["warnings"])
        line = xml.splitlines().index("    <graphics type='vnc' port='-1'/>") + 1
        self.assertTrue(any(f"line {line}" in w and "graphics" in w for w in row["warnings"]),
                        row["warnings"])
        # ... and kept: they come back in the XML.
        self.assertIsNotNone(ET.fromstring(self.p.domain.get_xml(name2)).find(
            "devices/graphics"))

        # Redefinition with the same name and uuid updates the definition.
        row = self.p.domain.define(domain_xml(name, uuid=u, memory=262144, vcpus=2))
        self.assertEqual(row["memory"], 262144)
        self.assertEqual(row["uuid"], u)
        self.assertEqual(self.row(name)["max_memory"], 262144)
        self.assertEqual(len(self.p.domain.list({"domains": [name]})), 1)

    def test_lookup_by_name_id_uuid(self):
        name = uniq("look")
        u = str(uuidlib.uuid4())
        self.define_started(name, uuid=u, on_poweroff="restart", on_crash="preserve")
        by_name = self.row(name)
        self.assertEqual(set(by_name), LOOKUP_KEYS)
        self.assertGreater(by_name["id"], 0)
        self.assertEqual(by_name["uuid"], u)
        self.assertEqual(by_name["os_type"], "hvm")
        self.assertEqual(by_name["on_poweroff"], "restart")
        self.assertEqual(by_name["on_reboot"], "restart")
        self.assertEqual(by_name["on_crash"], "preserve")
        self.assertEqual(by_name["job"], "")
        self.assertEqual(by_name["title"], "")
        self.assertEqual(by_name["description"], "")
        for key in (str(by_name["id"]), u, u.upper(), u.replace("-", "")):
            with self.subTest(key=key):
                r = self.row(key)
                self.assertEqual((r["name"], r["id"], r["uuid"]),
                                 (name, by_name["id"], u))
        # A stopped domain has no id any more.
        old_id = by_name["id"]
        self.p.domain.destroy(name)
        self.assertFault(NO_DOMAIN, self.p.domain.lookup, str(old_id))
        self.assertEqual(self.row(u)["name"], name)

    def test_domain0(self):
        for key in ("Domain-0", "0", ZERO_UUID):
            with self.subTest(key=key):
                r = self.row(key)
                self.assertEqual(r["name"], "Domain-0")
                self.assertEqual(r["id"], 0)
                self.assertEqual(r["state"], "running")
                self.assertIs(r["persistent"], True)
        info = self.p.node.info()
        r = self.row("Domain-0")
        self.assertEqual(r["vcpus"], info["cpus"])
        self.assertGreater(r["memory"], 0)
        self.assertEqual(len(self.p.domain.vcpu_info("Domain-0")), info["cpus"])

    def test_list_order_fields_and_filters(self):
        a, b, c, d, t = (uniq(x) for x in ("lst-a", "lst-b", "lst-c", "lst-d", "lst-t"))
        self.define(a)
        self.define_started(b)
        self.define_started(c, paused=True)
        self.define(d)
        self.assertIs(self.p.domain.set_autostart(d, True), True)
        self.p.domain.create(domain_xml(t))

        rows = self.p.domain.list()
        self.assertEqual(rows[0]["name"], "Domain-0")
        self.assertEqual(rows[0]["id"], 0)
        names = [r["name"] for r in rows[1:]]
        self.assertEqual(names, sorted(names))
        for r in rows:
            # One call gives every field of every row.
            self.assertEqual(set(r), ROW_KEYS, r)
            self.assertIn(r["state"], STATES)
            self.assertIsInstance(r["cpu_time"], float)
            if r["state"] in ("running", "paused", "blocked", "shutdown"):
                self.assertGreaterEqual(r["id"], 0)
            else:
                self.assertEqual(r["id"], -1)
                self.assertEqual(r["start_time"], 0)
        by = {r["name"]: r for r in rows}
        self.assertEqual(by[a]["state"], "shutoff")
        self.assertEqual(by[b]["state"], "running")
        self.assertEqual(by[c]["state"], "paused")
        self.assertIs(by[d]["autostart"], True)
        self.assertIs(by[t]["persistent"], False)
        self.assertEqual(self.p.node.info()["domains"], len(rows))
        # The row of list and of lookup agree.
        look = self.row(b)
        for k in ROW_KEYS - {"cpu_time"}:
            self.assertEqual(by[b][k], look[k], k)

        def names_of(flt):
            return {r["name"] for r in self.p.domain.list(flt)}

        running = self.p.domain.list({"state": "running"})
        self.assertTrue(all(r["state"] == "running" for r in running))
        self.assertEqual(running[0]["name"], "Domain-0")
        self.assertTrue({b, t} <= names_of({"state": "running"}))
        self.assertNotIn(c, names_of({"state": "running"}))
        both = names_of({"state": ["paused", "shutoff"]})
        self.assertTrue({a, c, d} <= both)
        self.assertFalse({b, t} & both)
        active = names_of({"active": True})
        self.assertTrue({"Domain-0", b, c, t} <= active)
        self.assertFalse({a, d} & active)
        inactive = names_of({"active": False})
        self.assertTrue({a, d} <= inactive)
        self.assertFalse({b, c, t, "Domain-0"} & inactive)
        transient = names_of({"persistent": False})
        self.assertIn(t, transient)
        self.assertFalse({a, b, c, d, "Domain-0"} & transient)
        self.assertEqual(names_of({"autostart": True}) & {a, b, c, d, t}, {d})
        self.assertEqual(names_of({"active": True, "persistent": True}) & {a, b, c, d, t},
                         {b, c})
        self.assertEqual(names_of({"state": "running", "active": False}), set())
        # 'domains' selects by name, id or uuid.
        sel = self.p.domain.list({"domains": [str(by[b]["id"]), by[a]["uuid"]]})
        self.assertEqual({r["name"] for r in sel}, {a, b})
        sel = self.p.domain.list({"domains": [a, b], "state": "running"})
        self.assertEqual([r["name"] for r in sel], [b])
        self.assertEqual(self.p.domain.list({"domains": []}), [])

    def test_list_filter_empty_state_list(self):
        """'state' is a set of states: an empty array matches no domain (it is not 'no
        filter')."""
        self.define(uniq("empty-state"))
        self.assertEqual(self.p.domain.list({"state": []}), [])

    def test_list_fields_filter(self):
        """'fields' trims every row to the named members (what xm list asks for), in any
        combination with the other filters; an unknown name is INVALID_ARG."""
        a = uniq("fields")
        self.define_started(a)
        full = {r["name"]: r for r in self.p.domain.list()}
        rows = self.p.domain.list({"fields": ["name", "id", "state", "cpu_time"]})
        self.assertEqual([r["name"] for r in rows], list(full))
        for r in rows:
            self.assertEqual(set(r), {"name", "id", "state", "cpu_time"})
            self.assertEqual((r["id"], r["state"]), (full[r["name"]]["id"],
                                                     full[r["name"]]["state"]))
        sel = self.p.domain.list({"domains": [a], "fields": ["memory"]})
        self.assertEqual(sel, [{"memory": full[a]["memory"]}])
        self.assertEqual(self.p.domain.list({"domains": [a], "fields": []}), [{}])
        self.assertFault(13, self.p.domain.list, {"fields": ["name", "nope"]}, contains=["nope"])
        self.assertFault(13, self.p.domain.list, {"fields": "name"})

    def test_domain0_counters(self):
        """The host's own domain is running and shows its (simulated) cpu time like any
        running domain, in domain.list and domain.stats."""
        self.assertTrue(wait_for(lambda: self.p.domain.list({"domains": ["Domain-0"]})[0]
                                 ["cpu_time"] > 0, 10))
        s = self.p.domain.stats("Domain-0")
        self.assertGreater(s["cpu_time"], 0)
        self.assertEqual(s["memory"], self.row("Domain-0")["memory"])

    def test_list_domains_filter_keeps_list_order(self):
        """The rows of a filtered list are in the list's order (Domain-0 first, then by
        name), whatever order the 'domains' filter names them in."""
        a, b = uniq("ord-a"), uniq("ord-b")
        self.define(a)
        self.define(b)
        sel = self.p.domain.list({"domains": [b, "Domain-0", a]})
        self.assertEqual([r["name"] for r in sel], ["Domain-0", a, b])

    # ---- get_xml ----

    def test_get_xml_live_vs_inactive(self):
        name = uniq("xml")
        u = str(uuidlib.uuid4())
        self.define_started(name, uuid=u, memory=65536)
        self.p.domain.define(domain_xml(name, uuid=u, memory=131072))
        live = self.p.domain.get_xml(name)
        nxt = self.p.domain.get_xml(name, True)
        self.assertEqual(ET.fromstring(live).findtext("name"), name)
        self.assertEqual(ET.fromstring(live).findtext("uuid"), u)
        self.assertEqual(xml_memory(live), (65536, 65536))
        self.assertEqual(xml_memory(nxt), (131072, 131072))
        self.assertEqual(xml_memory(self.p.domain.get_xml(name, False)), (65536, 65536))
        self.assertEqual(self.row(name)["memory"], 65536)
        # The next boot uses the new definition.
        self.p.domain.destroy(name)
        self.assertEqual(xml_memory(self.p.domain.get_xml(name)), (131072, 131072))
        self.assertEqual(self.p.domain.get_xml(name), self.p.domain.get_xml(name, True))
        self.assertEqual(self.p.domain.start(name)["memory"], 131072)
        # get_xml output defines the same domain again (round trip).
        row = self.p.domain.define(self.p.domain.get_xml(name, True))
        self.assertEqual(row["uuid"], u)

    # ---- lifecycle ----

    def test_start_and_start_paused(self):
        name = uniq("start")
        self.define(name)
        row = self.p.domain.start(name)
        self.assertEqual(row["state"], "running")
        self.assertEqual(row["reason"], "booted")
        self.assertGreater(row["id"], 0)
        self.assertGreater(row["start_time"], 0)
        self.assertTrue(os.path.exists(os.path.join(self.daemon.run_dir, name + ".status")))
        self.p.domain.destroy(name)
        self.assertFalse(os.path.exists(os.path.join(self.daemon.run_dir, name + ".status")))
        row2 = self.p.domain.start(name, True)
        self.assertEqual(row2["state"], "paused")
        self.assertNotEqual(row2["id"], row["id"], "ids are not reused")
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        # A transient domain can be created paused.
        t = uniq("start-t")
        row = self.p.domain.create(domain_xml(t), {"paused": True})
        self.assertEqual(row["state"], "paused")
        self.assertIs(row["persistent"], False)
        self.assertEqual(row["warnings"], [])
        self.assertFalse(os.path.exists(os.path.join(self.daemon.config_dir, t + ".xml")))

    def test_pause_unpause_idempotent(self):
        name = uniq("pause")
        self.define_started(name)
        r = self.p.domain.pause(name)
        self.assertEqual((r["state"], r["reason"]), ("paused", "user"))
        self.assertEqual(self.p.domain.pause(name)["state"], "paused")
        self.assertEqual(self.state(name), "paused")
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        self.assertEqual(self.p.domain.unpause(name)["state"], "running")
        self.assertEqual(self.state(name), "running")

    def test_shutdown(self):
        name = uniq("shut")
        self.define_started(name)
        since = self.p.event.current_id()
        row = self.p.domain.shutdown(name)
        self.assertEqual(row["state"], "shutdown")
        self.wait_state(name, "shutoff")
        r = self.row(name)
        self.assertEqual((r["reason"], r["id"], r["start_time"]), ("shutdown", -1, 0))
        self.wait_event(since, name, "stopped", "shutdown")
        # The guest is gone, and its console with it.
        self.assertFault(OPERATION_INVALID, self.p.domain.console_read, name)
        # A transient domain disappears when its guest powers off.
        t = uniq("shut-t")
        self.p.domain.create(domain_xml(t))
        self.assertEqual(self.p.domain.shutdown(t)["state"], "shutdown")
        self.assertTrue(wait_for(lambda: self.gone(t), ASYNC), self.p.domain.list())

    def test_on_poweroff_restart(self):
        name = uniq("restart")
        first = self.define_started(name, on_poweroff="restart")
        since = self.p.event.current_id()
        self.assertEqual(self.p.domain.shutdown(name)["state"], "shutdown")
        self.wait_event(since, name, "stopped")
        ev = self.wait_event(since, name, "started")
        self.assertTrue(wait_for(lambda: self.row(name)["state"] == "running" and
                                 self.row(name)["id"] not in (-1, first["id"]), ASYNC),
                        self.row(name))
        self.assertEqual(ev["domid"], self.row(name)["id"])

    def test_reboot_event(self):
        name = uniq("reboot")
        first = self.define_started(name)
        since = self.p.event.current_id()
        row = self.p.domain.reboot(name)
        self.assertEqual(row["name"], name)
        ev = self.wait_event(since, name, "rebooted")
        self.assertEqual(ev["state"], "running")
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"]), ("running", "rebooted"))
        self.assertEqual(r["id"], first["id"], "a reboot keeps the domain id")
        # The guest booted again: a second set of boot messages.
        data = self.p.domain.console_read(name)["data"]
        self.assertGreaterEqual(data.count("Linux version"), 2, data)

    def test_destroy(self):
        name = uniq("destroy")
        self.define_started(name)
        row = self.p.domain.destroy(name)
        self.assertEqual((row["state"], row["reason"], row["id"]),
                         ("shutoff", "destroyed", -1))
        self.assertEqual(self.state(name), "shutoff")
        self.assertIs(self.row(name)["persistent"], True)
        t = uniq("destroy-t")
        row = self.p.domain.create(domain_xml(t))
        self.assertEqual(row["state"], "running")
        self.assertIs(row["persistent"], False)
        self.p.domain.destroy(t)
        self.assertTrue(self.gone(t))
        self.assertNotIn(t, [r["name"] for r in self.p.domain.list()])

    def test_undefine(self):
        name = uniq("undef")
        self.define(name)
        self.p.domain.set_autostart(name, True)
        self.assertIs(self.p.domain.undefine(name), True)
        self.assertTrue(self.gone(name))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.config_dir, name + ".xml")))
        self.assertFalse(os.path.lexists(
            os.path.join(self.daemon.config_dir, "autostart", name + ".xml")))
        # A running domain keeps running, as a transient one.
        name = uniq("undef-run")
        self.define_started(name)
        self.assertIs(self.p.domain.undefine(name), True)
        r = self.row(name)
        self.assertEqual((r["state"], r["persistent"]), ("running", False))
        self.p.domain.destroy(name)
        self.assertTrue(self.gone(name))
        # A suspended domain needs managed_save=true, which deletes the image.
        name = uniq("undef-susp")
        self.define_started(name)
        self.p.domain.suspend(name)
        self.assertFault(OPERATION_INVALID, self.p.domain.undefine, name)
        self.assertIs(self.p.domain.undefine(name, {"managed_save": True}), True)
        self.assertTrue(self.gone(name))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.save_dir, name + ".save")))

    def test_on_reboot_actions(self):
        # destroy: the reboot ends the domain, whatever on_poweroff says.
        name = uniq("onreboot-d")
        self.define_started(name, on_reboot="destroy", on_poweroff="restart")
        self.p.domain.reboot(name)
        self.wait_state(name, "shutoff")
        self.assertEqual(self.row(name)["id"], -1)
        # preserve: kept, stopped, until destroyed.
        name = uniq("onreboot-p")
        first = self.define_started(name, on_reboot="preserve")
        since = self.p.event.current_id()
        self.p.domain.reboot(name)
        self.wait_event(since, name, "shutdown", "reboot")
        r = self.row(name)
        self.assertEqual((r["state"], r["id"]), ("shutdown", first["id"]))
        self.assertEqual(self.p.domain.destroy(name)["state"], "shutoff")

    def test_sysrq_reboot_poweroff_crash(self):
        # 'b' reboots in place, 'o' powers off (on_poweroff applies), 'c' crashes (on_crash).
        name = uniq("sq-b")
        first = self.define_started(name)
        since = self.p.event.current_id()
        self.assertIs(self.p.domain.sysrq(name, "b"), True)
        self.wait_event(since, name, "rebooted")
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"], r["id"]), ("running", "rebooted", first["id"]))
        name = uniq("sq-o")
        self.define_started(name)
        self.p.domain.sysrq(name, "o")
        self.wait_state(name, "shutoff")
        self.assertEqual(self.row(name)["reason"], "shutdown")
        name = uniq("sq-o-restart")
        first = self.define_started(name, on_poweroff="restart")
        since = self.p.event.current_id()
        self.p.domain.sysrq(name, "o")
        self.wait_event(since, name, "started")
        r = self.row(name)
        self.assertEqual(r["state"], "running")
        self.assertNotEqual(r["id"], first["id"])
        # on_crash: destroy / restart / preserve.
        for action in ("destroy", "restart", "rename-restart", "preserve"):
            with self.subTest(on_crash=action):
                name = uniq("crash-" + action)
                first = self.define_started(name, on_crash=action)
                since = self.p.event.current_id()
                self.assertIs(self.p.domain.sysrq(name, "c"), True)
                self.wait_event(since, name, "crashed" if action == "preserve" else "stopped")
                if action in ("restart", "rename-restart"):
                    self.wait_event(since, name, "started")
                r = self.row(name)
                want = {"destroy": "shutoff", "preserve": "crashed"}.get(action, "running")
                self.assertEqual(r["state"], want)
                if want == "running":
                    self.assertNotEqual(r["id"], first["id"])
                else:
                    self.assertEqual(r["reason"], "crashed" if want == "shutoff"
                                     else "panicked")
                self.assertIn(name, {x["name"] for x in self.p.domain.list(
                    {"state": want})})
        # A transient domain that crashes with on_crash=destroy is gone.
        t = uniq("crash-t")
        self.p.domain.create(domain_xml(t))
        self.p.domain.sysrq(t, "c")
        self.assertTrue(wait_for(lambda: self.gone(t), ASYNC))

    def test_destroy_crashed_domain(self):
        """A domain kept CRASHED by on_crash=preserve stays until destroyed: destroy must
        accept it (a persistent one becomes shutoff, a transient one goes away), or a
        crashed transient domain could never be removed."""
        name = uniq("crashed-p")
        self.define_started(name, on_crash="preserve")
        self.p.domain.sysrq(name, "c")
        self.wait_state(name, "crashed")
        row = self.p.domain.destroy(name)
        self.assertEqual(row["state"], "shutoff")
        t = uniq("crashed-t")
        self.p.domain.create(domain_xml(t, on_crash="preserve"))
        self.p.domain.sysrq(t, "c")
        self.wait_state(t, "crashed")
        self.p.domain.destroy(t)
        self.assertTrue(self.gone(t))

    # ---- save / restore, suspend / resume ----

    def test_save_restore_persistent_in_place(self):
        name = uniq("save")
        d = self.disk(name)
        first = self.define_started(name, disks=[d], memory=131072)
        u = first["uuid"]
        self.p.domain.set_memory(name, 98304)
        boot = self.p.domain.console_read(name)
        path = os.path.join(self.daemon.dir, name + ".save")
        self.assertIs(self.p.domain.save(name, path), True)
        r = self.row(name)
        self.assertEqual((r["state"], r["reason"], r["id"]), ("shutoff", "saved", -1))
        with open(path, "rb") as f:
            self.assertEqual(f.read(11), b"XENDSAVE 1\n")
        row = self.p.domain.restore(path)
        self.assertEqual((row["name"], row["uuid"]), (name, u))
        self.assertEqual(row["state"], "running")
        self.assertEqual(row["reason"], "restored")
        self.assertIs(row["persistent"], True, "restored in place, still persistent")
        self.assertEqual(row["memory"], 98304, "the guest's balloon comes back")
        self.assertEqual([r["name"] for r in self.p.domain.list({"domains": [u]})], [name])
        self.assertTrue(os.path.exists(path), "the save file is kept")
        # The console carries on from where it was.
        full = self.p.domain.console_read(name)
        self.assertTrue(full["data"].startswith(boot["data"]), full)
        self.assertGreaterEqual(full["offset"], boot["offset"])
        # Again, restoring paused this time.
        self.p.domain.destroy(name)
        row = self.p.domain.restore(path, True)
        self.assertEqual(row["state"], "paused")
        self.p.domain.destroy(name)

    def test_save_restore_transient(self):
        t = uniq("save-t")
        u = self.p.domain.create(domain_xml(t))["uuid"]
        path = os.path.join(self.daemon.dir, t + ".save")
        self.assertIs(self.p.domain.save(t, path), True)
        self.assertTrue(self.gone(t))
        row = self.p.domain.restore(path)
        self.assertEqual((row["name"], row["uuid"], row["state"]), (t, u, "running"))
        self.assertIs(row["persistent"], False)
        self.p.domain.destroy(t)
        self.assertTrue(self.gone(t))
        self.assertTrue(os.path.exists(path))

    def test_suspend_resume(self):
        name = uniq("susp")
        self.define_started(name, memory=131072)
        image = os.path.join(self.daemon.save_dir, name + ".save")
        row = self.p.domain.suspend(name)
        self.assertEqual(row["state"], "suspended")
        self.assertIs(row["managed_save"], True)
        self.assertEqual(row["id"], -1)
        self.assertTrue(os.path.exists(image))
        self.assertIn(name, {r["name"] for r in self.p.domain.list({"state": "suspended"})})
        self.assertIs(self.row(name)["managed_save"], True)
        row = self.p.domain.resume(name)
        self.assertEqual(row["state"], "running")
        self.assertIs(row["managed_save"], False)
        self.assertGreater(row["id"], 0)
        self.assertFalse(os.path.exists(image))
        # domain.start also resumes a suspended domain.
        self.assertEqual(self.p.domain.suspend(name)["state"], "suspended")
        row = self.p.domain.start(name)
        self.assertEqual((row["state"], row["reason"]), ("running", "restored"))
        self.assertIs(row["managed_save"], False)
        self.assertFalse(os.path.exists(image))
        # ... and resume can leave it paused.
        self.p.domain.suspend(name)
        self.assertEqual(self.p.domain.resume(name, True)["state"], "paused")

    def test_restore_over_suspended_domain(self):
        """domain.restore of a persistent domain that has a managed-save image: either
        refused (the domain stays suspended), or the stale image is discarded, so that the
        domain, once stopped, boots afresh instead of resuming an old memory image."""
        name = uniq("stale")
        self.define_started(name, memory=131072)
        path = os.path.join(self.daemon.dir, name + ".save")
        self.p.domain.save(name, path)
        self.p.domain.start(name)
        self.p.domain.set_memory(name, 100000)
        self.p.domain.suspend(name)
        image = os.path.join(self.daemon.save_dir, name + ".save")
        f = xendtest.fault_of(self.p.domain.restore, path)
        if f is not None:
            self.assertEqual(f.faultCode, OPERATION_INVALID, f.faultString)
            r = self.row(name)
            self.assertEqual((r["state"], r["managed_save"]), ("suspended", True))
            self.assertTrue(os.path.exists(image))
            return
        r = self.row(name)
        self.assertEqual((r["state"], r["managed_save"]), ("running", False))
        self.assertFalse(os.path.exists(image), "the managed-save image outlived the restore")
        self.p.domain.destroy(name)
        row = self.p.domain.start(name)
        self.assertEqual(row["reason"], "booted", row)

    # ---- memory and vCPUs ----

    def test_set_memory_live_and_persistent(self):
        name = uniq("mem")
        self.define_started(name, memory=262144)
        row = self.p.domain.set_memory(name, 131072)
        self.assertEqual((row["memory"], row["max_memory"]), (131072, 262144))
        self.assertEqual(self.row(name)["memory"], 131072)
        self.assertEqual(self.p.domain.stats(name)["memory"], 131072)
        self.assertEqual(xml_memory(self.p.domain.get_xml(name)), (262144, 131072))
        self.assertEqual(xml_memory(self.p.domain.get_xml(name, True)), (262144, 131072))
        with open(os.path.join(self.daemon.config_dir, name + ".xml")) as f:
            self.assertEqual(xml_memory(f.read()), (262144, 131072))
        # Inactive: the configuration only.
        self.p.domain.destroy(name)
        row = self.p.domain.set_memory(name, 200000)
        self.assertEqual(row["memory"], 200000)
        self.assertEqual(xml_memory(self.p.domain.get_xml(name)), (262144, 200000))
        self.assertEqual(self.p.domain.start(name)["memory"], 200000)

    def test_set_max_memory(self):
        name = uniq("maxmem")
        self.define(name, memory=262144)
        row = self.p.domain.set_max_memory(name, 524288)
        self.assertEqual((row["max_memory"], row["memory"]), (524288, 262144))
        self.assertEqual(xml_memory(self.p.domain.get_xml(name)), (524288, 262144))
        # Lowering below the current memory of an inactive domain lowers it too.
        row = self.p.domain.set_max_memory(name, 196608)
        self.assertEqual(row["max_memory"], 196608)
        self.assertLessEqual(row["memory"], 196608)
        self.p.domain.set_max_memory(name, 262144)
        self.p.domain.set_memory(name, 262144)
        # Running: raising is for the next boot, lowering applies live down to the balloon.
        self.p.domain.start(name)
        row = self.p.domain.set_max_memory(name, 393216)
        self.assertEqual(row["max_memory"], 262144)
        self.assertEqual(xml_memory(self.p.domain.get_xml(name, True))[0], 393216)
        self.p.domain.set_memory(name, 131072)
        row = self.p.domain.set_max_memory(name, 196608)
        self.assertEqual((row["max_memory"], row["memory"]), (196608, 131072))
        self.assertEqual(xml_memory(self.p.domain.get_xml(name))[0], 196608)
        self.assertEqual(xml_memory(self.p.domain.get_xml(name, True))[0], 196608)
        self.assertFault(13, self.p.domain.set_memory, name, 200000)

    def test_set_vcpus_and_vcpu_info(self):
        name = uniq("vcpu")
        row = self.define_started(name, vcpus=4, current_vcpus=2)
        self.assertEqual((row["vcpus"], row["max_vcpus"]), (2, 4))
        info = self.p.domain.vcpu_info(name)
        self.assertEqual([v["number"] for v in info], [0, 1, 2, 3])
        self.assertEqual([v["online"] for v in info], [True, True, False, False])
        for v in info:
            self.assertEqual(set(v), {"number", "online", "cpu", "cpu_time", "state",
                                      "affinity"})
            self.assertEqual(v["affinity"], "0-3")
            if v["online"]:
                self.assertIn(v["cpu"], range(4))
            else:
                self.assertEqual(v["cpu"], -1)
            self.assertIsInstance(v["cpu_time"], float)
        row = self.p.domain.set_vcpus(name, 3)
        self.assertEqual(row["vcpus"], 3)
        self.assertEqual(sum(v["online"] for v in self.p.domain.vcpu_info(name)), 3)
        vcpu = ET.fromstring(self.p.domain.get_xml(name, True)).find("vcpu")
        self.assertEqual((vcpu.text, vcpu.get("current")), ("4", "3"))
        self.assertEqual(self.p.domain.set_vcpus(name, 1)["vcpus"], 1)
        self.assertEqual(sum(v["online"] for v in self.p.domain.vcpu_info(name)), 1)
        # Inactive: the configuration; the next boot has that many online.
        self.p.domain.destroy(name)
        self.assertEqual(self.p.domain.set_vcpus(name, 4)["vcpus"], 4)
        self.p.domain.start(name)
        self.assertEqual(sum(v["online"] for v in self.p.domain.vcpu_info(name)), 4)

    def test_pin_vcpu(self):
        name = uniq("pin")
        self.define_started(name, vcpus=2)
        self.assertIs(self.p.domain.pin_vcpu(name, 0, "1"), True)
        info = self.p.domain.vcpu_info(name)
        self.assertEqual(info[0]["affinity"], "1")
        self.assertEqual(info[0]["cpu"], 1)
        self.assertEqual(info[1]["affinity"], "0-3")
        self.assertIs(self.p.domain.pin_vcpu(name, 1, "0-3,^2"), True)
        info = self.p.domain.vcpu_info(name)
        self.assertEqual(info[1]["affinity"], "0-1,3")
        self.assertIn(info[1]["cpu"], (0, 1, 3))
        self.assertEqual(info[0]["affinity"], "1")

    # ---- devices ----

    def test_attach_detach_disk(self):
        name = uniq("dev")
        vda, vdb, vdc = self.disk(name + "-a"), self.disk(name + "-b"), self.disk(name + "-c")
        self.define_started(name, disks=[vda])
        devs = self.p.domain.devices(name)
        self.assertEqual(len(devs), 1)
        d = devs[0]
        self.assertEqual((d["kind"], d["index"], d["target"], d["source"]),
                         ("disk", 0, "vda", vda))
        self.assertEqual((d["type"], d["device"], d["format"], d["bus"]),
                         ("file", "disk", "raw", "virtio"))
        self.assertIs(d["readonly"], False)
        self.assertIs(d["shareable"], False)
        # Default flags on a running persistent domain: live and config.
        self.assertIs(self.p.domain.attach_device(
            name, disk_xml({"source": vdb, "readonly": True}, "vdb")), True)
        devs = {x["target"]: x for x in self.p.domain.devices(name) if x["kind"] == "disk"}
        self.assertEqual(set(devs), {"vda", "vdb"})
        self.assertEqual(devs["vdb"]["source"], vdb)
        self.assertIs(devs["vdb"]["readonly"], True)
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name)), ["vda", "vdb"])
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name, True)), ["vda", "vdb"])
        # live only: the configuration keeps it.
        self.assertIs(self.p.domain.detach_device(name, "vdb", LIVE_ONLY), True)
        self.assertEqual([x["target"] for x in self.p.domain.devices(name)], ["vda"])
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name, True)), ["vda", "vdb"])
        # config only: the live domain does not change.
        self.assertIs(self.p.domain.detach_device(name, "vdb", CONFIG_ONLY), True)
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name, True)), ["vda"])
        self.assertIs(self.p.domain.attach_device(name, disk_xml(vdc, "vdc"),
                                                  CONFIG_ONLY), True)
        self.assertEqual([x["target"] for x in self.p.domain.devices(name)], ["vda"])
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name, True)), ["vda", "vdc"])
        self.assertIs(self.p.domain.attach_device(name, disk_xml(vdb, "vdb"),
                                                  LIVE_ONLY), True)
        self.assertEqual([x["target"] for x in self.p.domain.devices(name)], ["vda", "vdb"])
        self.assertEqual(xml_disk_targets(self.p.domain.get_xml(name, True)), ["vda", "vdc"])
        # The next boot has the configured set.
        self.p.domain.destroy(name)
        self.assertEqual([x["target"] for x in self.p.domain.devices(name)], ["vda", "vdc"])
        # Inactive: the default is the configuration.
        self.assertIs(self.p.domain.detach_device(name, "vdc"), True)
        self.assertEqual([x["target"] for x in self.p.domain.devices(name)], ["vda"])
        with open(os.path.join(self.daemon.config_dir, name + ".xml")) as f:
            self.assertEqual(xml_disk_targets(f.read()), ["vda"])

    def test_attach_detach_interface(self):
        name = uniq("nic")
        self.define_started(name, nics=["52:54:00:10:00:01"])
        mac = "52:54:00:10:00:02"
        self.assertIs(self.p.domain.attach_device(
            name, nic_xml({"mac": mac, "model": "e1000"})), True)
        nics = [x for x in self.p.domain.devices(name) if x["kind"] == "interface"]
        self.assertEqual([n["mac"] for n in nics], ["52:54:00:10:00:01", mac])
        self.assertEqual([n["index"] for n in nics], [0, 1])
        self.assertEqual((nics[1]["type"], nics[1]["model"]), ("user", "e1000"))
        self.assertEqual(xml_macs(self.p.domain.get_xml(name, True)),
                         ["52:54:00:10:00:01", mac])
        # By MAC, live only.
        self.assertIs(self.p.domain.detach_device(name, mac, LIVE_ONLY), True)
        self.assertEqual([x["mac"] for x in self.p.domain.devices(name)],
                         ["52:54:00:10:00:01"])
        self.assertEqual(xml_macs(self.p.domain.get_xml(name, True)),
                         ["52:54:00:10:00:01", mac])
        # By index, live and config: the first NIC goes from both.
        self.assertIs(self.p.domain.detach_device(name, "0"), True)
        self.assertEqual(self.p.domain.devices(name), [])
        self.assertEqual(xml_macs(self.p.domain.get_xml(name, True)), [mac])
        # A bridge NIC on a transient domain (live is the only possibility).
        t = uniq("nic-t")
        self.p.domain.create(domain_xml(t))
        self.p.domain.attach_device(t, nic_xml({"mac": "52:54:00:10:00:03", "type": "bridge",
                                                "source": "br0"}))
        n = self.p.domain.devices(t)[0]
        self.assertEqual((n["kind"], n["type"], n["source"], n["mac"]),
                         ("interface", "bridge", "br0", "52:54:00:10:00:03"))
        self.p.domain.destroy(t)

    # ---- console and sysrq ----

    def test_console_read(self):
        name = uniq("con")
        d = self.disk(name)
        self.define_started(name, disks=[d], nics=["52:54:00:20:00:01"])
        c = self.p.domain.console_read(name)
        self.assertEqual(set(c), {"data", "offset", "start"})
        self.assertIn("Linux version", c["data"])
        self.assertIn(f"Booting '{name}'", c["data"])
        self.assertIn(d, c["data"])
        self.assertIn("52:54:00:20:00:01", c["data"])
        self.assertIn("login:", c["data"])
        self.assertEqual(c["start"], 0)
        self.assertEqual(c["offset"], len(c["data"].encode()))
        # From an offset: exactly the bytes after it.
        part = self.p.domain.console_read(name, 10)
        self.assertEqual(part["data"], c["data"].encode()[10:].decode())
        self.assertEqual(part["offset"], c["offset"])

    def test_console_read_at_end(self):
        """Reading from the offset the last read returned gives nothing new, not an
        error: this is how a client polls the console."""
        name = uniq("con-end")
        self.define_started(name)
        c = self.p.domain.console_read(name)
        c2 = self.p.domain.console_read(name, c["offset"])
        self.assertEqual((c2["data"], c2["offset"]), ("", c["offset"]))
        # Past the end: clamped to what there is.
        c3 = self.p.domain.console_read(name, c["offset"] + 1000)
        self.assertEqual((c3["data"], c3["offset"]), ("", c["offset"]))

    def test_console_ring_wraps(self):
        """The console keeps its newest bytes (64 KiB); offsets keep counting every byte
        and 'start' says where the kept part begins."""
        name = uniq("con-wrap")
        self.define_started(name)
        first = self.p.domain.console_read(name)
        mc = [{"methodName": "domain.sysrq", "params": [name, "h"]}] * 50
        for _ in range(4):
            out = self.p.system.multicall(mc)
            self.assertEqual(out, [[True]] * 50)
        c = self.p.domain.console_read(name)
        self.assertGreater(c["start"], 0)
        self.assertGreater(c["offset"], 64 * 1024)
        self.assertLessEqual(c["offset"] - c["start"], 64 * 1024)
        self.assertEqual(c["offset"] - c["start"], len(c["data"].encode()))
        self.assertNotIn("Linux version", c["data"])
        self.assertEqual(c["data"].count("HELP : loglevel"), c["data"].count("\n"))
        # An offset older than what is kept reads from the oldest kept byte.
        old = self.p.domain.console_read(name, first["offset"])
        self.assertEqual((old["start"], old["offset"]), (c["start"], c["offset"]))
        self.assertEqual(old["data"], c["data"])

    def test_sysrq(self):
        name = uniq("sysrq")
        self.define_started(name)
        c = self.p.domain.console_read(name)
        self.assertIs(self.p.domain.sysrq(name, "s"), True)
        c3 = self.p.domain.console_read(name, c["offset"])
        self.assertIn("Emergency Sync", c3["data"])
        self.assertEqual(c3["offset"], c["offset"] + len(c3["data"].encode()))
        self.assertNotIn("Linux version", c3["data"])
        # The domain keeps running after a harmless SysRq.
        self.assertEqual(self.state(name), "running")
        # The console offsets continue across several keys.
        self.assertIs(self.p.domain.sysrq(name, "s"), True)
        c4 = self.p.domain.console_read(name, c3["offset"])
        self.assertIn("Emergency Sync", c4["data"])
        self.assertGreater(c4["offset"], c3["offset"])

    # ---- rename, autostart ----

    def test_rename(self):
        a, b = uniq("ren-a"), uniq("ren-b")
        u = self.define(a)["uuid"]
        self.p.domain.set_autostart(a, True)
        row = self.p.domain.rename(a, b)
        self.assertEqual((row["name"], row["uuid"]), (b, u))
        cd = self.daemon.config_dir
        self.assertTrue(os.path.exists(os.path.join(cd, b + ".xml")))
        self.assertFalse(os.path.exists(os.path.join(cd, a + ".xml")))
        self.assertTrue(os.path.lexists(os.path.join(cd, "autostart", b + ".xml")))
        self.assertFalse(os.path.lexists(os.path.join(cd, "autostart", a + ".xml")))
        with open(os.path.join(cd, b + ".xml")) as f:
            self.assertEqual(ET.fromstring(f.read()).findtext("name"), b)
        self.assertFault(NO_DOMAIN, self.p.domain.lookup, a)
        r = self.row(b)
        self.assertEqual((r["uuid"], r["autostart"]), (u, True))
        self.assertEqual(self.row(u)["name"], b)
        self.assertEqual(ET.fromstring(self.p.domain.get_xml(b)).findtext("name"), b)
        # Running: the status file follows; the id stays.
        c = uniq("ren-c")
        started = self.p.domain.start(b)
        row = self.p.domain.rename(b, c)
        self.assertEqual((row["name"], row["state"], row["id"]), (c, "running", started["id"]))
        rd = self.daemon.run_dir
        self.assertTrue(os.path.exists(os.path.join(rd, c + ".status")))
        self.assertFalse(os.path.exists(os.path.join(rd, b + ".status")))
        self.assertEqual(self.row(str(started["id"]))["name"], c)
        self.assertEqual(ET.fromstring(self.p.domain.get_xml(c, True)).findtext("name"), c)
        # Renaming to the same name is a no-op that succeeds.
        self.assertEqual(self.p.domain.rename(c, c)["name"], c)

    def test_rename_suspended(self):
        """The managed-save image follows the rename, and the resumed domain has the new
        name (not the one in the image)."""
        c, d = uniq("rens-c"), uniq("rens-d")
        self.define_started(c)
        self.p.domain.suspend(c)
        self.assertEqual(self.p.domain.rename(c, d)["name"], d)
        self.assertTrue(os.path.exists(os.path.join(self.daemon.save_dir, d + ".save")))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.save_dir, c + ".save")))
        row = self.p.domain.resume(d)
        self.assertEqual((row["name"], row["state"]), (d, "running"))
        self.assertEqual(self.row(d)["name"], d)
        self.assertEqual(ET.fromstring(self.p.domain.get_xml(d)).findtext("name"), d)
        self.assertEqual([r["name"] for r in self.p.domain.list({"domains": [d]})], [d])

    def test_set_autostart(self):
        name = uniq("auto")
        self.define(name)
        link = os.path.join(self.daemon.config_dir, "autostart", name + ".xml")
        self.assertIs(self.p.domain.set_autostart(name, True), True)
        self.assertIs(self.row(name)["autostart"], True)
        self.assertTrue(os.path.lexists(link))
        self.assertIn(name, {r["name"] for r in self.p.domain.list({"autostart": True})})
        self.assertIs(self.p.domain.set_autostart(name, True), True)
        self.assertIs(self.p.domain.set_autostart(name, False), True)
        self.assertIs(self.row(name)["autostart"], False)
        self.assertFalse(os.path.lexists(link))
        self.assertNotIn(name, {r["name"] for r in self.p.domain.list({"autostart": True})})

    # ---- stats ----

    def test_stats_cpu_time(self):
        name = uniq("stats")
        self.define_started(name, disks=[self.disk(name)], nics=["52:54:00:30:00:01"])
        s = self.p.domain.stats(name)
        self.assertEqual(set(s), {"cpu_time", "memory", "rd_bytes", "wr_bytes", "rd_reqs",
                                  "wr_reqs", "rx_bytes", "tx_bytes", "rx_packets",
                                  "tx_packets"})
        self.assertEqual(s["memory"], 65536)
        # Running: the counters move.
        self.assertTrue(wait_for(lambda: self.p.domain.stats(name)["cpu_time"] >
                                 s["cpu_time"], 10), s)
        self.assertTrue(wait_for(lambda: self.p.domain.stats(name)["rd_bytes"] >
                                 s["rd_bytes"], 10), s)
        self.assertTrue(wait_for(lambda: self.p.domain.stats(name)["rx_bytes"] >
                                 s["rx_bytes"], 10), s)
        listed = self.p.domain.list({"domains": [name]})[0]["cpu_time"]
        self.assertTrue(wait_for(lambda: self.p.domain.list({"domains": [name]})[0]
                                 ["cpu_time"] > listed, 10))
        # Paused: they stand still.
        self.p.domain.pause(name)
        a = self.p.domain.stats(name)
        time.sleep(0.3)
        b = self.p.domain.stats(name)
        self.assertEqual(a, b)
        self.assertEqual(self.row(name)["cpu_time"], b["cpu_time"])
        self.p.domain.unpause(name)
        self.assertTrue(wait_for(lambda: self.p.domain.stats(name)["cpu_time"] >
                                 b["cpu_time"], 10))

    def test_job_info_idle(self):
        name = uniq("job")
        self.define_started(name)
        j = self.p.domain.job_info(name)
        self.assertEqual(set(j), {"job", "elapsed", "total", "done", "progress"})
        self.assertEqual((j["job"], j["progress"], j["total"], j["done"]), ("", -1, 0, 0))
        self.assertEqual(self.p.domain.job_info("Domain-0")["job"], "")

    # ---- the host ----

    def test_node_info(self):
        info = self.p.node.info()
        self.assertEqual(set(info), {"hostname", "model", "cpus", "mhz", "nodes", "sockets",
                                     "cores", "threads", "memory", "free_memory",
                                     "hypervisor", "hypervisor_version", "accel", "arch",
                                     "driver", "domains"})
        self.assertEqual(info["cpus"], 4)
        self.assertEqual(info["memory"], 16384 * 1024)
        self.assertEqual((info["hypervisor"], info["accel"], info["driver"]),
                         ("simulated", "sim", "test"))
        self.assertEqual(info["hostname"], os.uname().nodename)
        self.assertEqual(info["nodes"] * info["sockets"] * info["cores"] * info["threads"],
                         info["cpus"])
        self.assertEqual(info["domains"], len(self.p.domain.list()))
        # A started guest takes its memory from the host.
        name = uniq("node")
        self.define(name, memory=131072)
        before = self.p.node.info()
        self.p.domain.start(name)
        after = self.p.node.info()
        self.assertEqual(before["free_memory"] - after["free_memory"], 131072)
        self.p.domain.destroy(name)
        self.assertEqual(self.p.node.info()["free_memory"], before["free_memory"])

    def test_node_dmesg(self):
        text = self.p.node.dmesg()
        self.assertIn("(XEN) Xen version", text)
        name = uniq("dmesg")
        row = self.define_started(name)
        text = self.p.node.dmesg(False)
        self.assertIn(f"Domain {row['id']} ({name}) started", text)
        cleared = self.p.node.dmesg(True)
        self.assertIn(f"({name}) started", cleared)
        after = self.p.node.dmesg()
        self.assertNotIn("Xen version", after)
        self.assertNotIn(f"({name}) started", after)
        self.p.domain.destroy(name)
        self.assertIn(f"({name}) destroyed", self.p.node.dmesg())

    def test_node_log(self):
        name = uniq("log")
        self.define_started(name)
        self.p.domain.destroy(name)
        log = self.p.node.log()
        self.assertIsInstance(log, str)
        self.assertIn(f"domain {name} stopped", log)
        three = self.p.node.log(3)
        self.assertTrue(three)
        self.assertLessEqual(len(three.splitlines()), 3)
        full = self.p.node.log()
        for line in three.splitlines():
            self.assertIn(line, full)
        self.assertGreater(len(full.splitlines()), 3)

    def test_domain0_protections(self):
        p = self.p
        path = os.path.join(self.daemon.dir, "dom0.save")
        calls = [
            ("destroy", p.domain.destroy, ()), ("pause", p.domain.pause, ()),
            ("save", p.domain.save, (path,)), ("shutdown", p.domain.shutdown, ()),
            ("rename", p.domain.rename, ("host",)), ("reboot", p.domain.reboot, ()),
            ("suspend", p.domain.suspend, ()), ("undefine", p.domain.undefine, ()),
            ("start", p.domain.start, ()), ("set_autostart", p.domain.set_autostart, (True,)),
            ("migrate", p.domain.migrate, ("unix:///nonexistent",)),
        ]
        for key in ("Domain-0", "0", ZERO_UUID):
            for what, fn, args in calls:
                with self.subTest(dom=key, call=what):
                    f = self.assertFault(OPERATION_INVALID, fn, key, *args)
                    self.assertIn("Domain-0", f.faultString)
        self.assertFalse(os.path.exists(path))
        r = self.row("Domain-0")
        self.assertEqual((r["state"], r["id"], r["name"]), ("running", 0, "Domain-0"))


class SlowSaveTests(DomainTestBase):
    """job_info and job_abort need a save that takes a while: the simulated host's save
    speed comes from its host_config file."""
    host = {"save_ms_per_gib": 600000}  # a 128 MiB guest saves in 75 s unless aborted

    def test_job_info_and_abort_during_save(self):
        name = uniq("slow")
        self.define_started(name, memory=131072)
        path = os.path.join(self.daemon.dir, name + ".save")
        result = {}

        def save():
            with self.daemon.proxy(timeout=120) as p:
                try:
                    result["value"] = p.domain.save(name, path)
                except xmlrpc.client.Fault as f:
                    result["fault"] = f
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = e

        t = threading.Thread(target=save)
        t.start()
        try:
            self.assertTrue(wait_for(lambda: self.p.domain.job_info(name)["job"] ==
                                     "domain.save", 10), result)
            self.assertTrue(wait_for(lambda: self.p.domain.job_info(name)["done"] > 0, 10))
            j = self.p.domain.job_info(name)
            self.assertEqual(j["total"], 131072 * 1024)
            self.assertGreater(j["done"], 0)
            self.assertLess(j["done"], j["total"])
            self.assertIn(j["progress"], range(0, 100))
            self.assertGreaterEqual(j["elapsed"], 0.0)
            # Reads do not wait behind the job.
            r = self.row(name)
            self.assertEqual(r["job"], "domain.save")
            self.assertEqual(r["state"], "paused")
            self.assertIn(name, {x["name"] for x in self.p.domain.list()})
            self.assertIn("Linux version", self.p.domain.console_read(name)["data"])
            # Progress advances.
            self.assertTrue(wait_for(lambda: self.p.domain.job_info(name)["done"] > j["done"],
                                     10))
            self.assertIs(self.p.domain.job_abort(name), True)
        finally:
            t.join(60)
        self.assertFalse(t.is_alive(), "domain.save did not return after job_abort")
        self.assertIn("fault", result, result)
        self.assertEqual(result["fault"].faultCode, OPERATION_ABORTED,
                         result["fault"].faultString)
        r = self.row(name)
        self.assertEqual((r["state"], r["job"]), ("running", ""))
        self.assertEqual(self.p.domain.job_info(name)["job"], "")
        self.assertFalse(os.path.exists(path), "an aborted save leaves no image")
        # The domain is usable afterwards.
        self.assertEqual(self.p.domain.pause(name)["state"], "paused")

    def run_job(self, method, *args):
        """Call domain.<method>(*args) in a thread; returns (thread, result dict)."""
        result = {}

        def run():
            with self.daemon.proxy(timeout=120) as p:
                try:
                    result["value"] = getattr(p.domain, method)(*args)
                except xmlrpc.client.Fault as f:
                    result["fault"] = f
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        self.addCleanup(t.join, 60)
        return t, result

    def job_of(self, name):
        """domain.job_info, or None while the domain does not exist (yet)."""
        try:
            return self.p.domain.job_info(name)
        except xmlrpc.client.Fault as f:
            if f.faultCode != NO_DOMAIN:
                raise
            return None

    def abort_when_running(self, name, job, t, result):
        self.assertTrue(wait_for(lambda: result or
                                 (self.job_of(name) or {}).get("job") == job, 10), result)
        self.assertTrue(wait_for(lambda: result or self.job_of(name)["done"] > 0, 10), result)
        self.assertIs(self.p.domain.job_abort(name), True)
        t.join(60)
        self.assertFalse(t.is_alive(), f"{job} did not return after job_abort")
        self.assertIn("fault", result, result)
        self.assertEqual(result["fault"].faultCode, OPERATION_ABORTED,
                         result["fault"].faultString)

    def test_abort_restore(self):
        """A restore is as slow as a save; aborting it leaves no half-restored domain."""
        with Daemon() as fast:
            with fast.proxy() as fp:
                t_name, p_name = uniq("slow-rt"), uniq("slow-rp")
                t_path = os.path.join(self.daemon.dir, t_name + ".save")
                p_path = os.path.join(self.daemon.dir, p_name + ".save")
                fp.domain.create(domain_xml(t_name, memory=131072))
                fp.domain.save(t_name, t_path)
                fp.domain.define(domain_xml(p_name, memory=131072))
                fp.domain.start(p_name)
                fp.domain.save(p_name, p_path)
                u = fp.domain.lookup(p_name)["uuid"]
        free = self.p.node.info()["free_memory"]
        # A transient domain restored, then aborted: gone again.
        t, result = self.run_job("restore", t_path)
        self.abort_when_running(t_name, "domain.restore", t, result)
        self.assertTrue(self.gone(t_name))
        # A persistent one restored in place, then aborted: still defined, shut off.
        self.p.domain.define(domain_xml(p_name, uuid=u, memory=131072))
        t, result = self.run_job("restore", p_path)
        self.abort_when_running(p_name, "domain.restore", t, result)
        r = self.row(p_name)
        self.assertEqual((r["state"], r["id"], r["job"]), ("shutoff", -1, ""))
        self.assertEqual(self.p.node.info()["free_memory"], free)
        self.assertTrue(os.path.exists(p_path))

    def test_abort_migration(self):
        with Daemon() as dst:
            name = uniq("slow-mig")
            self.define_started(name, memory=131072)
            t, result = self.run_job("migrate", name, "unix://" + dst.socket, True)
            self.abort_when_running(name, "domain.migrate", t, result)
            r = self.row(name)
            self.assertEqual((r["state"], r["job"]), ("running", ""))
            with dst.proxy() as dp:
                self.assertFault(NO_DOMAIN, dp.domain.lookup, name)


class MigrateTests(FaultAssertions, unittest.TestCase):
    """domain.migrate between two real daemons on the same machine."""

    @classmethod
    def setUpClass(cls):
        cls.src = Daemon().start()
        cls.dst = Daemon().start()
        cls.ps = cls.src.proxy()
        cls.pd = cls.dst.proxy()
        cls.uri = "unix://" + cls.dst.socket

    @classmethod
    def tearDownClass(cls):
        cls.ps("close")()
        cls.pd("close")()
        cls.src.stop()
        cls.dst.stop()

    def test_migrate_transient(self):
        name = uniq("mig-t")
        d = make_disk(self.src.dir, name + ".img")
        free_src = self.ps.node.info()["free_memory"]
        row = self.ps.domain.create(domain_xml(name, disks=[d], memory=131072, vcpus=2))
        self.ps.domain.set_memory(name, 98304)
        self.ps.domain.pin_vcpu(name, 1, "2")
        con = self.ps.domain.console_read(name)
        self.assertIs(self.ps.domain.migrate(name, self.uri, True), True)
        f = xendtest.fault_of(self.ps.domain.lookup, name)
        self.assertIsNotNone(f, "the domain is still on the source")
        self.assertEqual(f.faultCode, NO_DOMAIN)
        self.assertEqual(self.ps.node.info()["free_memory"], free_src)
        there = self.pd.domain.lookup(name)
        self.assertEqual((there["state"], there["uuid"], there["memory"], there["vcpus"]),
                         ("running", row["uuid"], 98304, 2))
        self.assertGreater(there["id"], 0)
        self.assertEqual(self.pd.domain.vcpu_info(name)[1]["affinity"], "2")
        self.assertEqual([x["source"] for x in self.pd.domain.devices(name)], [d])
        # The console came along.
        self.assertTrue(self.pd.domain.console_read(name)["data"].startswith(con["data"]))
        self.pd.domain.destroy(name)

    def test_migrate_persistent_and_paused(self):
        name = uniq("mig-p")
        self.ps.domain.define(domain_xml(name))
        self.ps.domain.start(name)
        self.ps.domain.pause(name)
        self.assertIs(self.ps.domain.migrate(name, self.uri, False), True)
        here = self.ps.domain.lookup(name)
        self.assertEqual((here["state"], here["reason"], here["id"]),
                         ("shutoff", "migrated", -1))
        there = self.pd.domain.lookup(name)
        self.assertEqual(there["state"], "paused")
        self.assertEqual(self.pd.domain.unpause(name)["state"], "running")
        self.pd.domain.destroy(name)
        self.assertFault(NO_DOMAIN, self.pd.domain.lookup, name)

    def test_migrate_back_to_inactive_definition(self):
        """A -> B -> A: the source kept the persistent domain's (shut off) definition; the
        domain coming back runs under it, as libvirt does, instead of being refused as a
        duplicate."""
        name = uniq("mig-back")
        u = self.ps.domain.define(domain_xml(name))["uuid"]
        self.ps.domain.start(name)
        self.assertIs(self.ps.domain.migrate(name, self.uri, True), True)
        self.assertEqual(self.ps.domain.lookup(name)["state"], "shutoff")
        self.assertIs(self.pd.domain.migrate(name, "unix://" + self.src.socket, True), True)
        here = self.ps.domain.lookup(name)
        self.assertEqual((here["state"], here["uuid"]), ("running", u))
        self.assertIs(here["persistent"], True)
        self.assertFault(NO_DOMAIN, self.pd.domain.lookup, name)
        self.ps.domain.destroy(name)


class SilentDestination:
    """A Unix socket that accepts connections and never answers: a migration destination
    that hangs."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "silent.sock")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.conns = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()
        self.uri = "unix://" + self.path

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


class StuckMigrationTests(DomainTestBase):
    """A migration whose destination accepts the connection and then says nothing."""

    def setUp(self):
        self.dest = SilentDestination(self.daemon.dir)
        self.addCleanup(self.dest.close)

    def start_migration(self, name):
        result = {}

        def run():
            with self.daemon.proxy(timeout=200) as p:
                try:
                    result["value"] = p.domain.migrate(name, self.dest.uri, True)
                except xmlrpc.client.Fault as f:
                    result["fault"] = f
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = e

        t = threading.Thread(target=run, daemon=True)
        t.start()
        # The transfer is done once the destination has the connection.
        self.assertTrue(wait_for(lambda: self.dest.conns and
                                 self.p.domain.job_info(name)["job"] == "domain.migrate", 10))
        return t, result

    def test_job_abort_stops_a_waiting_migration(self):
        """domain.job_abort applies to migrations ("save, suspend, migrate"), also while the
        migration waits for the destination."""
        name = uniq("stuck")
        self.define_started(name)
        t, result = self.start_migration(name)
        self.assertIs(self.p.domain.job_abort(name), True)
        t.join(20 * xendtest.SLOW)
        self.assertFalse(t.is_alive(), "domain.migrate still waits after job_abort")
        self.assertIn("fault", result, result)
        self.assertEqual(result["fault"].faultCode, OPERATION_ABORTED)
        r = self.row(name)
        self.assertEqual((r["state"], r["job"]), ("running", ""))


class StopDuringMigrationTests(unittest.TestCase):
    def test_sigterm_stops_the_daemon_during_a_migration(self):
        """xend(8): SIGTERM stops the daemon; a migration waiting for a silent destination
        must not keep it running (Daemon.stop allows 15 s)."""
        daemon = Daemon().start()
        dest = SilentDestination(daemon.dir)
        try:
            with daemon.proxy() as p:
                p.domain.create(domain_xml("stop-mig"))

            def run():
                try:
                    with daemon.proxy(timeout=200) as q:
                        q.domain.migrate("stop-mig", dest.uri, True)
                except Exception:  # noqa: BLE001 - the daemon goes away under it
                    pass

            threading.Thread(target=run, daemon=True).start()
            self.assertTrue(wait_for(lambda: dest.conns, 10))
            daemon.stop()
        finally:
            dest.close()
            if daemon.proc is not None:
                daemon.kill()


if __name__ == "__main__":
    xendtest.main()
