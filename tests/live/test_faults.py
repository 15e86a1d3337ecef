"""Every fault code the API can return, provoked through Python's xmlrpc.client (raw HTTP
only where the client cannot send the broken request) against a real xend on the
simulated host, with faultCode checked against src/util/errors.def and the message
checked for what it must name. Codes the simulated host cannot produce are asserted to be
documented, and skipped with the reason."""
import http.server
import itertools
import os
import re
import socketserver
import stat
import threading
import unittest
import uuid as uuidlib
import xmlrpc.client

import xendtest
from xendtest import (Daemon, FaultAssertions, disk_xml, domain_xml, make_disk, nic_xml,
                      wait_for, write_host_config)

PARSE = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL = 1
GENERIC = 2
NO_DOMAIN = 3
ACCESS_DENIED = 4
UNSUPPORTED = 5
CONFIG_INVALID = 6
DOMAIN_EXISTS = 7
DISK_IN_USE = 8
DISK_ACCESS = 9
OPERATION_INVALID = 10
LIMIT = 11
SYSTEM = 12
INVALID_ARG = 13
INSUFFICIENT_MEMORY = 14
OPERATION_IN_PROGRESS = 15
EVENTS_LOST = 16
OPERATION_ABORTED = 17
NO_DEVICE = 18
DEVICE_EXISTS = 19
NO_SPACE = 20
INVALID_NAME = 21
HYPERVISOR = 22
NO_HOST = 23
OPERATION_TIMEOUT = 24

SOURCE_DIR = os.environ.get("XEND_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))

_names = itertools.count()


def uniq(prefix):
    return f"{prefix}-{next(_names)}"


def error_table():
    """{code: symbol} from the one error table."""
    with open(os.path.join(SOURCE_DIR, "src", "util", "errors.def")) as f:
        text = f.read()
    return {int(c): n for n, c in re.findall(r"XEND_ERROR\((\w+),\s*(-?\d+)", text)}


def documented_codes():
    """{code: symbol} from docs/errors.md as the build generates it from the table (the
    checked-in copy when there is no build tree; the docs-generated test keeps the two
    equal)."""
    path = os.path.join(os.environ.get("XEND_BUILD_DIR", ""), "docs", "errors.md")
    if not os.path.exists(path):
        path = os.path.join(SOURCE_DIR, "docs", "errors.md")
    with open(path) as f:
        text = f.read()
    return {int(c): n for c, n in re.findall(r"^\| (-?\d+) \| `(\w+)` \|", text, re.M)}


def line_of(xml, needle):
    """1-based line number of the first line of xml containing needle."""
    for i, line in enumerate(xml.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the XML")


def raw_fault(daemon, body):
    """POST body to the daemon and decode the reply, which must be a fault."""
    r = xendtest.exchange(daemon.socket, xendtest.http_request(body))
    assert r is not None and r.status == 200, r
    try:
        xmlrpc.client.loads(r.body)
    except xmlrpc.client.Fault as f:
        return f
    raise AssertionError(f"no fault in {r.body[:300]!r}")


class FakeDestination:
    """A Unix-socket HTTP server that answers every POST with a fixed reply: something that
    is reachable but is not a working xend (for domain.migrate's error paths)."""

    def __init__(self, directory, status=200, body=b""):
        self.path = os.path.join(directory, f"fake-{next(_names)}.sock")
        fixed = (status, body)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                self.send_response(fixed[0])
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(fixed[1])))
                self.end_headers()
                self.wfile.write(fixed[1])

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.uri = "unix://" + self.path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def fault_reply(code, text):
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


class FaultTestBase(FaultAssertions, unittest.TestCase):
    config = {}
    host = None

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

    def disk(self, name):
        return make_disk(self.disks, name + ".img")

    def define(self, name, **kw):
        return self.p.domain.define(domain_xml(name, **kw))

    def running(self, name, **kw):
        self.define(name, **kw)
        return self.p.domain.start(name)

    def state(self, name):
        return self.p.domain.lookup(name)["state"]


class FaultTests(FaultTestBase):

    # ---- the table itself ----

    def test_error_table_is_documented(self):
        table = error_table()
        docs = documented_codes()
        self.assertEqual(table, docs)
        for code in (PARSE, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS) + \
                tuple(range(1, 25)):
            self.assertIn(code, table)
        caps = self.p.system.getCapabilities()
        self.assertIn("faults_interop", caps)
        self.assertEqual(caps["faults_interop"]["specVersion"], 20010516)

    # ---- protocol faults ----

    def test_parse_error(self):
        f = raw_fault(self.daemon, b"<?xml version='1.0'?><methodCall><methodName>domain.list"
                                   b"</methodName>")
        self.assertEqual(f.faultCode, PARSE, f.faultString)
        self.assertIn("line", f.faultString)
        f = raw_fault(self.daemon, b"<methodCall><methodName>domain.list\xff</methodName>"
                                   b"</methodCall>")
        self.assertEqual(f.faultCode, PARSE, f.faultString)

    def test_invalid_request(self):
        for body in (b"<methodCall><params/></methodCall>", b"<notxmlrpc/>",
                     b"<methodCall><methodName>domain.lookup</methodName><params><param>"
                     b"<value><struct><member><name>a</name><value>1</value></member>"
                     b"<member><name>a</name><value>2</value></member></struct></value>"
                     b"</param></params></methodCall>",
                     b"<methodCall><methodName>domain.lookup</methodName><params><param>"
                     b"<value><boolean>2</boolean></value></param></params></methodCall>"):
            with self.subTest(body=body[:60]):
                f = raw_fault(self.daemon, body)
                self.assertEqual(f.faultCode, INVALID_REQUEST, f.faultString)

    def test_method_not_found(self):
        f = self.assertFault(METHOD_NOT_FOUND, self.p.domain.no_such_method, "x")
        self.assertIn("domain.no_such_method", f.faultString)
        self.assertFault(METHOD_NOT_FOUND, self.p.node.reboot)
        self.assertFault(METHOD_NOT_FOUND, self.p.event.subscribe)

    def test_invalid_params(self):
        p = self.p
        cases = [
            (p.domain.lookup, (), None),
            (p.domain.lookup, (1,), 1),
            (p.domain.lookup, ("a", "b"), None),
            (p.domain.define, (None,), 1),
            (p.domain.list, ("x",), 1),
            (p.domain.start, ("x", 1), 2),
            (p.domain.set_memory, ("x", "1024"), 2),
            (p.domain.set_vcpus, ("x", 1.5), 2),
            (p.domain.pin_vcpu, ("x", 0, 1), 3),
            (p.domain.attach_device, ("x", "<disk/>", []), 3),
            (p.domain.undefine, ("x", True), 2),
            (p.domain.migrate_receive, ("<domain/>", "state", False), 2),
            (p.event.next, (1.5,), 1),
            (p.event.next, (0, "10"), 2),
            (p.node.dmesg, ("yes",), 1),
            (p.node.info, (1,), None),
        ]
        for fn, args, pos in cases:
            with self.subTest(method=fn._Method__name, args=args):
                f = self.assertFault(INVALID_PARAMS, fn, *args)
                self.assertIn(fn._Method__name, f.faultString)
                if pos is not None:
                    self.assertIn(f"parameter {pos}", f.faultString)
        # The connection still works.
        self.assertEqual(p.domain.lookup("Domain-0")["id"], 0)

    # ---- 2 GENERIC, 23 NO_HOST: migration destinations that are not working xends ----

    def test_generic_from_compat_namespace(self):
        """Xend's own failures keep code 2 in the xend.* compatibility namespace."""
        name = uniq("gen-compat")
        self.running(name)
        f = self.assertFault(GENERIC, self.p.xend.domain.shutdown, name, "bogus")
        self.assertIn("bogus", f.faultString)
        self.assertFault(GENERIC, self.p.xend.domain.shutdown, name, "crash")
        self.assertEqual(self.state(name), "running")

    def test_generic_from_destination_protocol_fault(self):
        name = uniq("gen")
        self.running(name)
        fake = FakeDestination(self.daemon.dir, 200,
                               fault_reply(METHOD_NOT_FOUND, "no such method"))
        try:
            f = self.assertFault(GENERIC, self.p.domain.migrate, name, fake.uri, True)
        finally:
            fake.close()
        self.assertIn("no such method", f.faultString)
        self.assertEqual(self.state(name), "running")

    def test_destination_fault_codes_stay_in_the_table(self):
        """A destination answering with a code outside xend's table must not hand that code
        to our client: every fault xend sends comes from its error table."""
        name = uniq("gen-code")
        self.running(name)
        fake = FakeDestination(self.daemon.dir, 200, fault_reply(4242, "odd code"))
        try:
            f = xendtest.fault_of(self.p.domain.migrate, name, fake.uri, True)
        finally:
            fake.close()
        self.assertIsNotNone(f)
        self.assertIn(f.faultCode, error_table(), f.faultString)
        self.assertEqual(self.state(name), "running")

    def test_no_host(self):
        name = uniq("nohost")
        self.running(name)
        f = self.assertFault(NO_HOST, self.p.domain.migrate, name, "unix:///nonexistent", True)
        self.assertIn("/nonexistent", f.faultString)
        self.assertFault(NO_HOST, self.p.domain.migrate, name,
                         f"http://127.0.0.1:{xendtest.free_tcp_port()}/", False)
        for status, body in ((404, b"not here"), (200, b"this is not XML-RPC")):
            fake = FakeDestination(self.daemon.dir, status, body)
            try:
                with self.subTest(status=status):
                    self.assertFault(NO_HOST, self.p.domain.migrate, name, fake.uri, True)
            finally:
                fake.close()
        r = self.p.domain.lookup(name)
        self.assertEqual((r["state"], r["job"]), ("running", ""))

    # ---- 3 NO_DOMAIN ----

    def test_no_domain(self):
        p = self.p
        missing = [uniq("nosuch"), "999999", str(uuidlib.uuid4()),
                   uuidlib.uuid4().hex]
        for dom in missing:
            with self.subTest(dom=dom):
                f = self.assertFault(NO_DOMAIN, p.domain.lookup, dom)
                self.assertIn(dom, f.faultString)
        dom = missing[0]
        calls = [
            (p.domain.get_xml, ()), (p.domain.start, ()), (p.domain.destroy, ()),
            (p.domain.shutdown, ()), (p.domain.reboot, ()), (p.domain.pause, ()),
            (p.domain.unpause, ()), (p.domain.suspend, ()), (p.domain.resume, ()),
            (p.domain.undefine, ()), (p.domain.save, (os.path.join(self.daemon.dir, "nd.save"),)),
            (p.domain.set_memory, (65536,)), (p.domain.set_max_memory, (65536,)),
            (p.domain.set_vcpus, (1,)), (p.domain.vcpu_info, ()),
            (p.domain.pin_vcpu, (0, "0")), (p.domain.devices, ()),
            (p.domain.attach_device, (nic_xml("52:54:00:00:00:09"),)),
            (p.domain.detach_device, ("vda",)), (p.domain.console_read, ()),
            (p.domain.sysrq, ("s",)), (p.domain.rename, ("newname",)),
            (p.domain.set_autostart, (True,)), (p.domain.stats, ()),
            (p.domain.job_info, ()), (p.domain.job_abort, ()),
            (p.domain.migrate, ("unix:///nonexistent",)),
        ]
        for fn, args in calls:
            with self.subTest(method=fn._Method__name):
                f = self.assertFault(NO_DOMAIN, fn, dom, *args)
                self.assertIn(dom, f.faultString)
        present = uniq("present")
        self.define(present)
        self.assertFault(NO_DOMAIN, p.domain.list, {"domains": [present, dom]})
        self.assertFault(NO_DOMAIN, p.domain.list, {"domains": ["999999"]})

    # ---- 6 CONFIG_INVALID ----

    def test_config_invalid(self):
        p = self.p
        bad = "<domain type='test'>\n  <name>badxml</name>\n  <memory>65536\n</domain>\n"
        f = self.assertFault(CONFIG_INVALID, p.domain.define, bad)
        self.assertIn("line", f.faultString)
        self.assertFault(CONFIG_INVALID, p.domain.create, bad)
        self.assertFault(CONFIG_INVALID, p.domain.define, "")
        self.assertFault(CONFIG_INVALID, p.domain.define, "<network><name>x</name></network>")

        cases = [
            (domain_xml(uniq("hostdev"), devices_extra="    <hostdev mode='subsystem' "
                        "type='pci' managed='yes'/>"), "<hostdev", "hostdev"),
            (domain_xml(uniq("mem0"), memory=0), "<memory", "memory"),
            (domain_xml(uniq("crash"), on_crash="bogus"), "<on_crash>", "on_crash"),
            (domain_xml(uniq("crash2"), on_crash="coredump-destroy"), "<on_crash>",
             "on_crash"),
            (domain_xml(uniq("nicdirect"), devices_extra="    <interface type='direct'>"
                        "<source dev='eth0'/></interface>"), "type='direct'", "interface"),
            (domain_xml(uniq("vcpu0"), vcpus=2, current_vcpus=3), "<vcpu", "vcpu"),
        ]
        for xml, needle, element in cases:
            with self.subTest(element=element, needle=needle):
                f = self.assertFault(CONFIG_INVALID, p.domain.define, xml)
                self.assertIn(element, f.faultString)
                self.assertIn(f"line {line_of(xml, needle)}", f.faultString)
                self.assertFault(CONFIG_INVALID, p.domain.create, xml)
        # Nothing was defined by the failures.
        names = {r["name"] for r in p.domain.list()}
        self.assertFalse({"badxml"} & names)
        # More memory than the whole host has.
        self.assertFault(CONFIG_INVALID, p.domain.define,
                         domain_xml(uniq("huge"), memory=64 << 20))
        # Devices given to attach_device are checked the same way.
        name = uniq("cfgdev")
        self.define(name)
        f = self.assertFault(CONFIG_INVALID, p.domain.attach_device, name,
                             "<hostdev mode='subsystem' type='pci'/>")
        self.assertIn("hostdev", f.faultString)
        self.assertFault(CONFIG_INVALID, p.domain.attach_device, name, "<disk>")
        self.assertFault(CONFIG_INVALID, p.domain.attach_device, name,
                         "<disk type='file'><source file='/x'/></disk>")
        self.assertFault(CONFIG_INVALID, p.domain.attach_device, name, "<video/>")
        # A file that is not a save image.
        junk = os.path.join(self.daemon.dir, "junk.save")
        with open(junk, "w") as fh:
            fh.write("this is not a save image\n")
        f = self.assertFault(CONFIG_INVALID, p.domain.restore, junk)
        self.assertIn(junk, f.faultString)

    # ---- 7 DOMAIN_EXISTS ----

    def test_domain_exists(self):
        p = self.p
        a = uniq("exists")
        u = p.domain.define(domain_xml(a))["uuid"]
        f = self.assertFault(DOMAIN_EXISTS, p.domain.define,
                             domain_xml(a, uuid=str(uuidlib.uuid4())))
        self.assertIn(a, f.faultString)
        f = self.assertFault(DOMAIN_EXISTS, p.domain.define, domain_xml(uniq("other"), uuid=u))
        self.assertIn(u, f.faultString)
        self.assertFault(DOMAIN_EXISTS, p.domain.create, domain_xml(a))
        self.assertFault(DOMAIN_EXISTS, p.domain.create, domain_xml(uniq("other"), uuid=u))
        self.assertFault(DOMAIN_EXISTS, p.domain.define, domain_xml("Domain-0"))
        self.assertFault(DOMAIN_EXISTS, p.domain.create, domain_xml("Domain-0"))
        b = uniq("exists-b")
        self.define(b)
        self.assertFault(DOMAIN_EXISTS, p.domain.rename, b, a)
        self.assertFault(DOMAIN_EXISTS, p.domain.rename, b, "Domain-0")
        # A save image of a domain whose name is now taken by another domain.
        t = uniq("exists-t")
        p.domain.create(domain_xml(t))
        path = os.path.join(self.daemon.dir, t + ".save")
        p.domain.save(t, path)
        p.domain.define(domain_xml(t))
        self.assertFault(DOMAIN_EXISTS, p.domain.restore, path)
        # The originals are untouched.
        self.assertEqual(p.domain.lookup(a)["uuid"], u)
        self.assertEqual(len(p.domain.list({"domains": [a, b]})), 2)

    # ---- 8 DISK_IN_USE, 9 DISK_ACCESS ----

    def test_disk_in_use(self):
        p = self.p
        shared = self.disk(uniq("shared"))
        a, b = uniq("diu-a"), uniq("diu-b")
        self.define(a, disks=[shared])
        self.define(b, disks=[shared])
        p.domain.start(a)
        f = self.assertFault(DISK_IN_USE, p.domain.start, b)
        self.assertIn(shared, f.faultString)
        self.assertIn(a, f.faultString)
        self.assertEqual(self.state(b), "shutoff")
        self.assertFault(DISK_IN_USE, p.domain.create, domain_xml(uniq("diu-t"), disks=[shared]))
        # Hot-plugging it elsewhere is refused too.
        c = uniq("diu-c")
        self.running(c)
        self.assertFault(DISK_IN_USE, p.domain.attach_device, c, disk_xml(shared, "vdb"))
        # Once a stops, b may use it.
        p.domain.destroy(a)
        self.assertEqual(p.domain.start(b)["state"], "running")
        p.domain.destroy(b)
        # Shareable or read-only disks may be used by several domains.
        for flags in ({"shareable": True}, {"readonly": True}):
            with self.subTest(**flags):
                disk = self.disk(uniq("multi"))
                names = [uniq("diu-m") for _ in range(3)]
                for n in names:
                    self.define(n, disks=[dict(source=disk, **flags)])
                    self.assertEqual(p.domain.start(n)["state"], "running")
                # ... but not writable and exclusive at the same time.
                w = uniq("diu-w")
                self.define(w, disks=[disk])
                self.assertFault(DISK_IN_USE, p.domain.start, w)
                for n in names:
                    p.domain.destroy(n)
                self.assertEqual(p.domain.start(w)["state"], "running")
                p.domain.destroy(w)

    def test_disk_in_use_twice_by_one_domain(self):
        p = self.p
        img = self.disk(uniq("twice"))
        d = uniq("diu-self")
        self.define(d, disks=[img])
        # Attaching the same writable image again is refused at once (it could never start),
        # live or in the config of a stopped domain.
        f = self.assertFault(DISK_IN_USE, p.domain.attach_device, d, disk_xml(img, "vdc"))
        self.assertIn("already uses", f.faultString)
        self.assertIn("as disk 'vda'", f.faultString)
        self.assertFault(DISK_IN_USE, p.domain.attach_device, d,
                         disk_xml({"source": img, "readonly": True}, "vdc"))
        self.assertEqual(p.domain.start(d)["state"], "running")
        p.domain.destroy(d)
        # A domain defined with it twice says so when it starts, naming itself as the user.
        e = uniq("diu-self2")
        self.define(e, disks=[dict(source=img, target="vda"), dict(source=img, target="vdb")])
        f = self.assertFault(DISK_IN_USE, p.domain.start, e)
        self.assertIn(f"domain '{e}' uses disk", f.faultString)
        self.assertIn("twice", f.faultString)
        self.assertEqual(self.state(e), "shutoff")
        # Two read-only uses of one image are fine.
        ro = self.disk(uniq("ro-twice"))
        r = uniq("diu-ro")
        self.define(r, disks=[dict(source=ro, readonly=True, target="vda")])
        p.domain.attach_device(r, disk_xml({"source": ro, "readonly": True}, "vdc"))
        self.assertEqual(p.domain.start(r)["state"], "running")
        p.domain.destroy(r)

    def test_disk_access(self):
        p = self.p
        missing = os.path.join(self.daemon.dir, "missing", "disk.img")
        name = uniq("dacc")
        self.define(name, disks=[missing])
        f = self.assertFault(DISK_ACCESS, p.domain.start, name)
        self.assertIn(missing, f.faultString)
        r = p.domain.lookup(name)
        self.assertEqual((r["state"], r["id"]), ("shutoff", -1))
        t = uniq("dacc-t")
        self.assertFault(DISK_ACCESS, p.domain.create, domain_xml(t, disks=[missing]))
        self.assertFault(NO_DOMAIN, p.domain.lookup, t)
        run = uniq("dacc-run")
        self.running(run)
        self.assertFault(DISK_ACCESS, p.domain.attach_device, run, disk_xml(missing, "vdb"))
        self.assertEqual([d["target"] for d in p.domain.devices(run)], [])
        # Once the file exists the domain starts.
        os.makedirs(os.path.dirname(missing))
        make_disk(os.path.dirname(missing), "disk.img")
        self.assertEqual(p.domain.start(name)["state"], "running")

    # ---- 10 OPERATION_INVALID ----

    def test_operation_invalid(self):
        p = self.p
        run, off, t = uniq("oi-run"), uniq("oi-off"), uniq("oi-t")
        self.running(run)
        self.define(off)
        p.domain.create(domain_xml(t))
        save = os.path.join(self.daemon.dir, "oi.save")
        cases = [
            ("start running", p.domain.start, (run,)),
            ("pause shutoff", p.domain.pause, (off,)),
            ("unpause shutoff", p.domain.unpause, (off,)),
            ("undefine transient", p.domain.undefine, (t,)),
            ("suspend transient", p.domain.suspend, (t,)),
            ("suspend shutoff", p.domain.suspend, (off,)),
            ("resume running", p.domain.resume, (run,)),
            ("resume shutoff", p.domain.resume, (off,)),
            ("destroy shutoff", p.domain.destroy, (off,)),
            ("shutdown shutoff", p.domain.shutdown, (off,)),
            ("reboot shutoff", p.domain.reboot, (off,)),
            ("save shutoff", p.domain.save, (off, save)),
            ("vcpu_info shutoff", p.domain.vcpu_info, (off,)),
            ("pin shutoff", p.domain.pin_vcpu, (off, 0, "0")),
            ("console shutoff", p.domain.console_read, (off,)),
            ("sysrq shutoff", p.domain.sysrq, (off, "s")),
            ("stats shutoff", p.domain.stats, (off,)),
            ("migrate shutoff", p.domain.migrate, (off, "unix:///nonexistent")),
            ("autostart transient", p.domain.set_autostart, (t, True)),
            ("live attach shutoff", p.domain.attach_device,
             (off, nic_xml("52:54:00:00:10:01"), {"live": True})),
            ("config attach transient", p.domain.attach_device,
             (t, nic_xml("52:54:00:00:10:02"), {"config": True})),
            ("live detach shutoff", p.domain.detach_device, (off, "0", {"live": True})),
            ("job_abort without job", p.domain.job_abort, (run,)),
            ("restore running", p.domain.restore, (save,)),
        ]
        # A save image of a domain that is running again, for the last case.
        sv = uniq("oi-sv")
        self.running(sv)
        p.domain.save(sv, save)
        p.domain.start(sv)
        for what, fn, args in cases:
            with self.subTest(case=what):
                f = self.assertFault(OPERATION_INVALID, fn, *args)
                self.assertIn(args[0] if what != "restore running" else sv, f.faultString)
        # A suspended domain is refused by undefine without managed_save.
        s = uniq("oi-susp")
        self.running(s)
        p.domain.suspend(s)
        self.assertFault(OPERATION_INVALID, p.domain.undefine, s)
        self.assertFault(OPERATION_INVALID, p.domain.undefine, s, {"managed_save": False})
        self.assertEqual(self.state(s), "suspended")
        # Nothing changed state.
        self.assertEqual(self.state(run), "running")
        self.assertEqual(self.state(off), "shutoff")
        self.assertEqual(self.state(t), "running")

    # ---- 11 LIMIT ----

    def test_limit(self):
        p = self.p
        letters = "abcdefghijklmnopqrstuvwxyz"
        disks = [{"source": os.path.join(self.disks, f"none-{i}.img"),
                  "target": "vd" + letters[i // 26] + letters[i % 26]} for i in range(64)]
        name = uniq("limit")
        self.assertEqual(p.domain.define(domain_xml(name, disks=disks))["name"], name)
        f = self.assertFault(LIMIT, p.domain.attach_device, name,
                             disk_xml(os.path.join(self.disks, "one-more.img"), "vdzz"))
        self.assertIn(name, f.faultString)
        self.assertEqual(len(p.domain.devices(name)), 64)
        macs = [f"52:54:00:00:20:{i:02x}" for i in range(32)]
        name = uniq("limit-nic")
        p.domain.define(domain_xml(name, nics=macs))
        self.assertFault(LIMIT, p.domain.attach_device, name, nic_xml("52:54:00:00:21:00"))
        self.assertEqual(len(p.domain.devices(name)), 32)

    # ---- 12 SYSTEM, 20 NO_SPACE ----

    def test_system(self):
        p = self.p
        name = uniq("sys")
        self.running(name)
        missing = os.path.join(self.daemon.dir, "no-such-dir")
        path = os.path.join(missing, "x.save")
        f = self.assertFault(SYSTEM, p.domain.save, name, path)
        self.assertIn(path, f.faultString)
        self.assertEqual(self.state(name), "running")
        path = os.path.join(missing, "y.save")
        f = self.assertFault(SYSTEM, p.domain.restore, path)
        self.assertIn(path, f.faultString)
        self.assertFalse(os.path.exists(missing))

    def full_device(self):
        """A character device like /dev/full: our own node (1,7) in the temp dir when we
        may create one, so the real /dev/full is never at stake."""
        path = os.path.join(self.daemon.dir, "full")
        try:
            if not os.path.exists(path):
                os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 7))
            return path
        except PermissionError:
            return "/dev/full"

    def test_no_space(self):
        p = self.p
        name = uniq("nospace")
        self.running(name)
        full = self.full_device()
        f = self.assertFault(NO_SPACE, p.domain.save, name, full)
        self.assertIn(full, f.faultString)
        r = p.domain.lookup(name)
        self.assertEqual((r["state"], r["job"]), ("running", ""))

    def test_failed_save_keeps_existing_device_node(self):
        """A save that fails must not delete what the path named before the call: saving to
        /dev/full as root would otherwise remove the system's /dev/full."""
        name = uniq("nospace-node")
        self.running(name)
        full = self.full_device()
        if full == "/dev/full":
            self.skipTest("cannot create a private device node (not root)")
        self.assertFault(NO_SPACE, self.p.domain.save, name, full)
        self.assertTrue(os.path.exists(full), f"domain.save removed the device node {full}")
        self.assertTrue(stat.S_ISCHR(os.stat(full).st_mode))

    # ---- 13 INVALID_ARG ----

    def test_invalid_arg(self):
        p = self.p
        name = uniq("ia")
        self.running(name, memory=131072, vcpus=2)
        off = uniq("ia-off")
        self.define(off)
        cases = [
            ("set_memory 0", p.domain.set_memory, (name, 0)),
            ("set_memory negative", p.domain.set_memory, (name, -5)),
            ("set_memory above max", p.domain.set_memory, (name, 131073)),
            ("set_max_memory 0", p.domain.set_max_memory, (name, 0)),
            ("set_max_memory below current", p.domain.set_max_memory, (name, 65536)),
            ("set_vcpus 0", p.domain.set_vcpus, (name, 0)),
            ("set_vcpus above max", p.domain.set_vcpus, (name, 3)),
            ("pin to CPU 99", p.domain.pin_vcpu, (name, 0, "99")),
            ("pin garbage", p.domain.pin_vcpu, (name, 0, "zero")),
            ("pin empty", p.domain.pin_vcpu, (name, 0, "0,^0")),
            ("pin vcpu 7", p.domain.pin_vcpu, (name, 7, "0")),
            ("pin vcpu -1", p.domain.pin_vcpu, (name, -1, "0")),
            ("sysrq 'ab'", p.domain.sysrq, (name, "ab")),
            ("sysrq ''", p.domain.sysrq, (name, "")),
            ("bad filter key", p.domain.list, ({"bogus": True},)),
            ("bad filter state", p.domain.list, ({"state": "sleeping"},)),
            ("bad filter type", p.domain.list, ({"active": "yes"},)),
            ("bad filter domains", p.domain.list, ({"domains": name},)),
            ("save relative path", p.domain.save, (name, "relative.save")),
            ("restore relative path", p.domain.restore, ("relative.save",)),
            ("console offset -1", p.domain.console_read, (name, -1)),
            ("event.next -1", p.event.next, (-1,)),
            ("event.next ahead", p.event.next, (10 ** 9,)),
            ("event.next timeout", p.event.next, (0, 60001)),
            ("event.next negative timeout", p.event.next, (0, -1)),
            ("node.log -1", p.node.log, (-1,)),
            ("undefine unknown flag", p.domain.undefine, (off, {"force": True})),
            ("undefine non-boolean flag", p.domain.undefine, (off, {"managed_save": 1})),
            ("create unknown flag", p.domain.create, (domain_xml(uniq("ia-c")),
                                                      {"pasued": True})),
            ("attach unknown flag", p.domain.attach_device,
             (name, nic_xml("52:54:00:00:30:01"), {"persist": True})),
            ("attach neither live nor config", p.domain.attach_device,
             (name, nic_xml("52:54:00:00:30:02"), {"live": False, "config": False})),
            ("migrate unsupported URI", p.domain.migrate, (name, "ftp://example.org/")),
        ]
        for what, fn, args in cases:
            with self.subTest(case=what):
                self.assertFault(INVALID_ARG, fn, *args)
        r = p.domain.lookup(name)
        self.assertEqual((r["state"], r["memory"], r["vcpus"], r["job"]),
                         ("running", 131072, 2, ""))
        self.assertEqual([v["affinity"] for v in p.domain.vcpu_info(name)], ["0-3", "0-3"])
        self.assertEqual(p.domain.lookup(off)["state"], "shutoff")
        self.assertNotIn("ia-c", " ".join(r["name"] for r in p.domain.list()))

    # ---- 18 NO_DEVICE, 19 DEVICE_EXISTS ----

    def test_no_device_and_device_exists(self):
        p = self.p
        name = uniq("dev")
        vda = self.disk(name)
        self.running(name, disks=[vda], nics=["52:54:00:00:40:01"])
        for ident in ("vdz", "52:54:00:00:40:99", "5", "hda"):
            with self.subTest(detach=ident):
                f = self.assertFault(NO_DEVICE, p.domain.detach_device, name, ident)
                self.assertIn(ident, f.faultString)
        f = self.assertFault(DEVICE_EXISTS, p.domain.attach_device, name,
                             disk_xml(self.disk(name + "-2"), "vda"))
        self.assertIn("vda", f.faultString)
        f = self.assertFault(DEVICE_EXISTS, p.domain.attach_device, name,
                             nic_xml("52:54:00:00:40:01"))
        self.assertIn("52:54:00:00:40:01", f.faultString)
        # Config-only: the persistent definition is checked too.
        config_only = {"live": False, "config": True}
        p.domain.attach_device(name, nic_xml("52:54:00:00:40:02"), config_only)
        self.assertFault(DEVICE_EXISTS, p.domain.attach_device, name,
                         nic_xml("52:54:00:00:40:02"), config_only)
        self.assertFault(NO_DEVICE, p.domain.detach_device, name, "52:54:00:00:40:02",
                         {"live": True, "config": False})
        self.assertEqual(len(p.domain.devices(name)), 2)

    # ---- 21 INVALID_NAME ----

    def test_invalid_name(self):
        p = self.p
        bad = ["../x", "a/b", "123", "x" * 65, "-x", ".hidden", "a b", "caf\u00e9",
               str(uuidlib.uuid4()), "semi;colon"]
        for name in bad:
            with self.subTest(define=name):
                self.assertFault(INVALID_NAME, p.domain.define, domain_xml(name))
                self.assertFault(INVALID_NAME, p.domain.create, domain_xml(name))
        ok = uniq("goodname")
        self.define(ok)
        self.assertEqual(p.domain.define(domain_xml("x" * 64))["name"], "x" * 64)
        for name in bad + [""]:
            with self.subTest(rename=name):
                self.assertFault(INVALID_NAME, p.domain.rename, ok, name)
        self.assertEqual(p.domain.lookup(ok)["name"], ok)
        self.assertFalse(os.path.exists(os.path.join(self.daemon.dir, "x.xml")))

    # ---- codes the simulated host cannot produce ----

    def assert_documented(self, code, symbol):
        self.assertEqual(error_table().get(code), symbol)
        self.assertEqual(documented_codes().get(code), symbol)

    def test_internal_unreachable(self):
        self.assert_documented(INTERNAL, "INTERNAL")
        self.skipTest("1 INTERNAL is a bug or an unexpected system failure (e.g. libcurl "
                      "failing to initialise); nothing a client sends reaches it")

    def test_access_denied_unreachable(self):
        self.assert_documented(ACCESS_DENIED, "ACCESS_DENIED")
        self.skipTest("4 ACCESS_DENIED needs a read-only connection; every connection is "
                      "granted admin access until authentication and the read-only socket "
                      "exist")

    def test_unsupported_unreachable(self):
        self.assert_documented(UNSUPPORTED, "UNSUPPORTED")
        self.skipTest("5 UNSUPPORTED comes from an empty driver slot; the test driver fills "
                      "every slot of struct hv_driver, so no method reaches it")

    def test_hypervisor_unreachable(self):
        self.assert_documented(HYPERVISOR, "HYPERVISOR")
        self.skipTest("22 HYPERVISOR is the QEMU driver's monitor failing; the simulated "
                      "host has no monitor")

    def test_operation_timeout_unreachable(self):
        self.assert_documented(OPERATION_TIMEOUT, "OPERATION_TIMEOUT")
        self.skipTest("24 OPERATION_TIMEOUT is a QEMU operation exceeding its bound; the "
                      "simulated host completes every operation itself")

    # ---- multicall ----

    def test_multicall_mixed(self):
        p = self.p
        name = uniq("mc")
        self.running(name)
        calls = [
            ("domain.lookup", [name], None),
            ("domain.lookup", ["no-such-domain"], NO_DOMAIN),
            ("domain.start", [name], OPERATION_INVALID),
            ("domain.pause", [name], None),
            ("domain.set_memory", [name, 0], INVALID_ARG),
            ("domain.list", [{"domains": [name]}], None),
            ("domain.nosuch", [], METHOD_NOT_FOUND),
            ("domain.lookup", [42], INVALID_PARAMS),
            ("domain.define", ["<domain>"], CONFIG_INVALID),
            ("domain.unpause", [name], None),
            ("domain.rename", [name, "a/b"], INVALID_NAME),
        ]
        out = p.system.multicall([{"methodName": m, "params": a} for m, a, _ in calls])
        self.assertEqual(len(out), len(calls))
        for (method, _, code), r in zip(calls, out):
            with self.subTest(method=method, code=code):
                if code is None:
                    self.assertIsInstance(r, list)
                    self.assertEqual(len(r), 1)
                else:
                    self.assertIsInstance(r, dict)
                    self.assertEqual(set(r), {"faultCode", "faultString"})
                    self.assertEqual(r["faultCode"], code, r["faultString"])
        self.assertEqual(out[0][0]["name"], name)
        self.assertEqual(out[3][0]["state"], "paused")
        self.assertEqual([x["state"] for x in out[5][0]], ["paused"])
        self.assertEqual(out[9][0]["state"], "running")
        self.assertEqual(p.domain.lookup(name)["state"], "running")


class MemoryFaultTests(FaultTestBase):
    """14 INSUFFICIENT_MEMORY: a small simulated host (1 GiB, 256 MiB of it Domain-0's)."""
    host = {"memory_mib": 1024, "host_domain_mib": 256}

    def test_insufficient_memory(self):
        p = self.p
        info = p.node.info()
        self.assertEqual(info["free_memory"], 768 * 1024)
        a, b, grow, c = (uniq(x) for x in ("im-a", "im-b", "im-grow", "im-c"))
        self.running(a, memory=262144)
        self.running(b, memory=262144)
        self.running(grow, memory=524288, current_memory=65536)
        self.define(c, memory=262144)
        self.assertEqual(p.node.info()["free_memory"], 192 * 1024)
        f = self.assertFault(INSUFFICIENT_MEMORY, p.domain.start, c)
        self.assertIn(c, f.faultString)
        self.assertEqual(p.domain.lookup(c)["state"], "shutoff")
        self.assertFault(INSUFFICIENT_MEMORY, p.domain.create,
                         domain_xml(uniq("im-t"), memory=262144))
        # Growing a running guest past what is free.
        self.assertFault(INSUFFICIENT_MEMORY, p.domain.set_memory, grow, 524288)
        self.assertEqual(p.domain.lookup(grow)["memory"], 65536)
        self.assertEqual(p.node.info()["free_memory"], 192 * 1024)
        # Restoring and resuming need the memory too.
        path = os.path.join(self.daemon.dir, "im.save")
        p.domain.save(a, path)
        p.domain.suspend(b)
        self.assertEqual(p.domain.start(c)["state"], "running")
        self.running(uniq("im-d"), memory=262144)
        self.assertFault(INSUFFICIENT_MEMORY, p.domain.restore, path)
        self.assertFault(INSUFFICIENT_MEMORY, p.domain.resume, b)
        self.assertFault(INSUFFICIENT_MEMORY, p.domain.start, b)
        self.assertEqual(p.domain.lookup(b)["state"], "suspended")
        self.assertEqual(p.domain.lookup(a)["state"], "shutoff")
        p.domain.destroy(c)
        self.assertEqual(p.domain.resume(b)["state"], "running")


class JobFaultTests(FaultTestBase):
    """15 OPERATION_IN_PROGRESS and 17 OPERATION_ABORTED: a slow save (the host's save
    speed) and a short job wait (job_wait_ms)."""
    config = {"job_wait_ms": 200}
    host = {"save_ms_per_gib": 600000}  # 128 MiB: 75 s unless aborted

    def start_job(self, name, method, *args):
        result = {}

        def run():
            with self.daemon.proxy(timeout=120) as p:
                try:
                    result["value"] = getattr(p.domain, method)(name, *args)
                except xmlrpc.client.Fault as f:
                    result["fault"] = f
                except Exception as e:  # noqa: BLE001 - reported by the test
                    result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        self.addCleanup(t.join, 60)
        ok = wait_for(lambda: self.p.domain.job_info(name)["job"] == "domain." + method or
                      result, 10)
        self.assertTrue(ok)
        self.assertEqual(self.p.domain.job_info(name)["job"], "domain." + method, result)
        return t, result

    def finish(self, t, result):
        t.join(60)
        self.assertFalse(t.is_alive(), "the job did not end after job_abort")
        self.assertNotIn("error", result)
        return result

    def test_in_progress_then_aborted(self):
        p = self.p
        name = uniq("job")
        self.running(name, memory=131072)
        path = os.path.join(self.daemon.dir, name + ".save")
        t, result = self.start_job(name, "save", path)
        for what, fn, args in (("pause", p.domain.pause, ()), ("destroy", p.domain.destroy, ()),
                               ("set_memory", p.domain.set_memory, (65536,)),
                               ("suspend", p.domain.suspend, ()),
                               ("redefine", None, ())):
            with self.subTest(call=what):
                if fn is None:
                    uuid = p.domain.lookup(name)["uuid"]
                    f = self.assertFault(OPERATION_IN_PROGRESS, p.domain.define,
                                         domain_xml(name, uuid=uuid, memory=131072))
                else:
                    f = self.assertFault(OPERATION_IN_PROGRESS, fn, name, *args)
                self.assertIn("domain.save", f.faultString)
                self.assertIn(name, f.faultString)
        # Reads still answer, and say what holds the domain.
        self.assertEqual(p.domain.lookup(name)["job"], "domain.save")
        self.assertIs(p.domain.job_abort(name), True)
        result = self.finish(t, result)
        self.assertIn("fault", result, result)
        self.assertEqual(result["fault"].faultCode, OPERATION_ABORTED,
                         result["fault"].faultString)
        r = p.domain.lookup(name)
        self.assertEqual((r["state"], r["job"]), ("running", ""))
        self.assertFalse(os.path.exists(path))
        self.assertEqual(p.domain.pause(name)["state"], "paused")

    def test_suspend_aborted(self):
        p = self.p
        name = uniq("job-susp")
        self.running(name, memory=131072)
        t, result = self.start_job(name, "suspend")
        self.assertIs(p.domain.job_abort(name), True)
        result = self.finish(t, result)
        self.assertEqual(result.get("fault") and result["fault"].faultCode, OPERATION_ABORTED,
                         result)
        r = p.domain.lookup(name)
        self.assertEqual((r["state"], r["managed_save"]), ("running", False))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.save_dir, name + ".save")))


class EventFaultTests(FaultTestBase):
    """16 EVENTS_LOST: a 16-event ring and a client asking from long ago."""
    config = {"event_ring": 16}

    def test_events_lost_and_resync(self):
        p = self.p
        name = uniq("ev")
        self.running(name)
        for _ in range(12):
            p.domain.pause(name)
            p.domain.unpause(name)
        cur = p.event.current_id()
        self.assertGreater(cur, 17)
        for since in (0, 1, cur - 17):
            with self.subTest(since=since):
                f = self.assertFault(EVENTS_LOST, p.event.next, since)
                self.assertIn("event.current_id", f.faultString)
        # The oldest kept event is still readable.
        r = p.event.next(cur - 16, 0)
        self.assertEqual([e["id"] for e in r["events"]], list(range(cur - 15, cur + 1)))
        # Resynchronise: current id, then the list, then continue from there.
        cur = p.event.current_id()
        self.assertEqual(p.domain.lookup(name)["state"], "running")
        r = p.event.next(cur, 0)
        self.assertEqual((r["events"], r["last_id"]), ([], cur))
        p.domain.pause(name)
        r = p.event.next(cur, 1000)
        self.assertEqual([(e["domain"], e["event"]) for e in r["events"]],
                         [(name, "suspended")])


if __name__ == "__main__":
    xendtest.main()
