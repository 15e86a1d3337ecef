"""xm's lifecycle and configuration commands end to end: the real xm binary against a real
xend on the simulated host. What each command does is checked through the API
(xmlrpc.client), what it prints is checked exactly: stdout, `Error: ...` lines on stderr,
the usage after argument errors only, exit status 1 on every failure. Covers create (domain
XML and xm python-syntax configs with VAR=VAL, -n/-p/-q), new/delete/start, the shutdown
family with -w/-a, pause/unpause/destroy, suspend/resume, save/restore, migrate (to a
second daemon by URI and host:port, and to localhost), mem-set/mem-max, vcpu-set/vcpu-pin,
sysrq, rename, autostart, dumpxml, and the progress bar (drawn only on a terminal)."""
import itertools
import os
import pty
import re
import select
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import xendtest
from xendtest import Daemon, domain_xml, make_disk, run_xm, wait_for, write_host_config

NO_DOMAIN = 3
ASYNC = 15  # seconds (scaled by SLOW) for asynchronous completions
_names = itertools.count()
# valgrind's own report lines (XEND_WRAPPER runs xm under it): not xm's output.
_VALGRIND_LINE = re.compile(r"(?:^|(?<=\r))==\d+==[^\n]*\n?", re.M)


def uniq(prefix):
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def clean(text):
    return _VALGRIND_LINE.sub("", text)


class XmTestBase(unittest.TestCase):
    """One daemon per class; each test uses its own domain names."""
    host = None  # host_config keys of the simulated host
    tcp = False
    config = {}  # xend.conf keys

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(config=dict(cls.config), tcp=cls.tcp)
        if cls.host:
            path = write_host_config(cls.daemon.dir, **cls.host)
            with open(cls.daemon.conf_path, "a") as f:
                f.write(f"host_config = {path}\n")
        cls.daemon.start()
        cls.p = cls.daemon.proxy()
        cls.work = os.path.join(cls.daemon.dir, "work")
        os.makedirs(cls.work, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    # ---- running xm ----

    def xm(self, *args, daemon=None, **kw):
        r = run_xm(*args, daemon=daemon or self.daemon, **kw)
        r.stderr = clean(r.stderr)
        return r

    def ok(self, *args, out=None, **kw):
        """Run xm, expect success and a silent stderr; returns stdout."""
        r = self.xm(*args, **kw)
        self.assertEqual((r.returncode, r.stderr), (0, ""), f"xm {args}: {r.stdout}")
        if out is not None:
            self.assertEqual(r.stdout, out)
        return r.stdout

    def fails(self, *args, error, usage=False, **kw):
        """Run xm, expect exit status 1, nothing on stdout and exactly `Error: error` on
        stderr, followed by the command's usage when usage is true (argument errors)."""
        r = self.xm(*args, **kw)
        self.assertEqual(r.returncode, 1, f"xm {args}: {r.stdout} {r.stderr}")
        self.assertEqual(r.stdout, "")
        first, _, rest = r.stderr.partition("\n")
        self.assertEqual(first, "Error: " + error)
        if usage:
            self.assertTrue(rest.startswith("\nUsage: xm "), r.stderr)
        else:
            self.assertEqual(rest, "", r.stderr)
        return r

    # ---- the API side ----

    def row(self, dom):
        return self.p.domain.lookup(dom)

    def state(self, dom):
        return self.row(dom)["state"]

    def gone(self, dom, proxy=None):
        f = xendtest.fault_of((proxy or self.p).domain.lookup, dom)
        return f is not None and f.faultCode == NO_DOMAIN

    def wait_state(self, dom, state):
        self.assertTrue(wait_for(lambda: self.state(dom) == state, ASYNC),
                        f"{dom} never became {state}: {self.row(dom)}")

    def define(self, name, start=False, **kw):
        self.p.domain.define(domain_xml(name, **kw))
        if start:
            self.p.domain.start(name)
        return name

    def file(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def cleanup_domain(self, name, proxy=None):
        p = proxy or self.p
        try:
            if p.domain.lookup(name)["id"] >= 0:
                p.domain.destroy(name)
        except Exception:
            pass
        try:
            p.domain.undefine(name, {"managed_save": True})
        except Exception:
            pass


class CreateNew(XmTestBase):

    def test_create_from_domain_xml(self):
        name = uniq("cx")
        path = self.file(name + ".xml", domain_xml(name, memory=131072, vcpus=2))
        self.ok("create", path, out=f'Using config file "{path}".\nStarted domain {name}\n')
        row = self.row(name)
        self.assertEqual((row["state"], row["persistent"], row["memory"], row["vcpus"]),
                         ("running", False, 131072, 2))
        self.ok("destroy", name, out="")
        self.assertTrue(self.gone(name))

    def test_create_paused_and_quiet(self):
        name = uniq("cpq")
        path = self.file(name + ".xml", domain_xml(name))
        self.ok("create", "-p", "-q", path, out="")
        self.assertEqual(self.state(name), "paused")
        self.ok("unpause", name, out="")
        self.assertEqual(self.state(name), "running")
        self.ok("pause", name, out="")
        self.assertEqual(self.state(name), "paused")
        self.p.domain.destroy(name)

    def test_create_xm_config_with_vars(self):
        """An xm python-syntax config, named after the file, with VAR=VAL overriding its
        values; an unknown variable is a warning on stderr."""
        base = uniq("pycfg")
        path = self.file(base + ".cfg",
                         'memory = 64\nvcpus = 1\nkernel = "/boot/vmlinuz-xenU"\n'
                         'on_crash = "destroy"\nnot_a_known_key = 1\n')
        r = self.xm("create", path, "memory=96", "vcpus=2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f'Using config file "{path}".\nStarted domain {base}\n')
        warnings = r.stderr.splitlines()
        self.assertTrue(warnings, "the unknown variable is not reported")
        for w in warnings:
            self.assertTrue(w.startswith("Warning: "), r.stderr)
        self.assertIn("not_a_known_key", r.stderr)
        row = self.row(base)
        self.assertEqual((row["state"], row["memory"], row["vcpus"]), ("running", 96 * 1024, 2))
        # name= as a variable renames it
        other = uniq("pyvar")
        r = self.xm("create", "-q", path, f"name={other}")
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        self.assertEqual(self.state(other), "running")
        for n in (base, other):
            self.p.domain.destroy(n)

    def test_create_dry_run_creates_nothing(self):
        name = uniq("dry")
        path = self.file(name + ".cfg", f'name = "{name}"\nmemory = 64\n'
                                        'kernel = "/boot/vmlinuz"\n')
        before = [d["name"] for d in self.p.domain.list()]
        out = self.ok("create", "-n", path)
        root = ET.fromstring(out)
        self.assertEqual(root.tag, "domain")
        self.assertEqual(root.findtext("name"), name)
        self.assertTrue(self.gone(name))
        self.assertEqual([d["name"] for d in self.p.domain.list()], before)
        # the XML it prints is what domain.create accepts
        self.assertEqual(self.p.domain.create(out)["name"], name)
        self.p.domain.destroy(name)

    def test_create_and_start_with_console(self):
        """-c attaches the console after creating/starting (stdin not a terminal: it
        follows the console until a second after stdin's end, then exits 0)."""
        name = uniq("ccon")
        path = self.file(name + ".xml", domain_xml(name))
        r = self.xm("create", "-c", path, input="")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        head = f'Using config file "{path}".\nStarted domain {name}\n'
        self.assertTrue(r.stdout.startswith(head), r.stdout)
        self.assertIn(f"Booting '{name}'", r.stdout[len(head):])
        self.assertEqual(self.state(name), "running")
        self.p.domain.destroy(name)
        self.define(name)
        r = self.xm("start", "-c", name, input="")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertIn(f"Booting '{name}'", r.stdout)
        self.assertEqual(self.state(name), "running")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_create_errors(self):
        self.fails("create", error="'xm create' requires 1 argument.", usage=True)
        self.fails("create", "-z", "x.cfg", error="option -z not recognized", usage=True)
        missing = os.path.join(self.work, "missing.cfg")
        self.fails("create", missing,
                   error=f"Unable to open config file: {missing}: No such file or directory")
        self.fails("create", self.work,
                   error=f"Unable to open config file: {self.work}: Is a directory")
        path = self.file("novar.cfg", "memory = 64\n")
        self.fails("create", path, "novalue",
                   error="Invalid variable: 'novalue' (VAR=VAL expected).", usage=True)
        # a config the daemon refuses: its message, no usage, nothing created
        bad = self.file("bad.cfg", "memory = 64\nimport os\n")
        r = self.xm("create", bad)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, f'Using config file "{bad}".\n')
        self.assertRegex(r.stderr, r"^Error: [^\n]+\n$")
        self.assertNotIn("Usage:", r.stderr)
        self.assertTrue(self.gone("bad"))
        # a name already taken: the create fault
        name = uniq("dup")
        self.define(name, start=True)
        dup = self.file(name + ".xml", domain_xml(name))
        r = self.xm("create", "-q", dup)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertRegex(r.stderr, r"^Error: [^\n]+\n$")
        self.cleanup_domain(name)

    def test_new_start_delete(self):
        name = uniq("nsd")
        path = self.file(name + ".xml", domain_xml(name))
        self.ok("new", path, out=f"Domain {name} defined.\n")
        row = self.row(name)
        self.assertEqual((row["state"], row["persistent"]), ("shutoff", True))
        self.ok("start", name, out="")
        self.assertEqual(self.state(name), "running")
        self.ok("destroy", name, out="")
        self.assertEqual(self.state(name), "shutoff")
        self.ok("start", "-p", name, out="")
        self.assertEqual(self.state(name), "paused")
        self.ok("destroy", name)
        self.ok("delete", name, out="")
        self.assertTrue(self.gone(name))
        # new from an xm config with a variable
        cfg = self.file(uniq("newcfg") + ".cfg", 'memory = 64\nkernel = "/boot/vmlinuz"\n')
        other = uniq("newvar")
        self.ok("new", cfg, f"name={other}", out=f"Domain {other} defined.\n")
        self.assertIs(self.row(other)["persistent"], True)
        self.ok("delete", other)
        self.fails("new", error="'xm new' requires 1 argument.", usage=True)


class Lifecycle(XmTestBase):

    def test_shutdown_wait(self):
        name = self.define(uniq("sdw"), start=True)
        self.ok("shutdown", "-w", name,
                out=f"Domain {name} terminated\nAll domains terminated\n")
        self.assertEqual(self.state(name), "shutoff")
        # a transient domain is gone afterwards
        tname = uniq("sdt")
        self.p.domain.create(domain_xml(tname))
        self.ok("shutdown", "--wait", "-H", tname)
        self.assertTrue(self.gone(tname))
        self.p.domain.undefine(name)

    def test_shutdown_without_wait_returns_at_once(self):
        name = self.define(uniq("sdn"), start=True)
        self.ok("shutdown", name, out="")
        self.assertIn(self.state(name), ("shutdown", "shutoff"))
        self.wait_state(name, "shutoff")
        self.p.domain.undefine(name)

    def test_reboot_wait(self):
        name = self.define(uniq("rbw"), start=True)
        since = self.p.event.current_id()
        self.ok("reboot", "-w", name, out=f"Domain {name} rebooted\nAll domains rebooted\n")
        row = self.row(name)
        self.assertEqual((row["state"], row["reason"]), ("running", "rebooted"))
        evs = [e["event"] for e in self.p.event.next(since, 0)["events"]
               if e["domain"] == name]
        self.assertIn("rebooted", evs)
        # shutdown -R is a reboot too
        self.ok("shutdown", "-R", "-w", name,
                out=f"Domain {name} rebooted\nAll domains rebooted\n")
        self.assertEqual(self.state(name), "running")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_shutdown_all(self):
        names = [self.define(uniq("all"), start=True) for _ in range(2)]
        out = self.ok("shutdown", "-a", "-w")
        lines = out.splitlines()
        self.assertEqual(lines[-1], "All domains terminated")
        for n in names:
            self.assertIn(f"Domain {n} terminated", lines)
            self.assertEqual(self.state(n), "shutoff")
            self.p.domain.undefine(n)
        self.assertEqual(self.state("Domain-0"), "running")
        # nothing left to shut down: fine, nothing printed
        self.ok("shutdown", "-a", out="")
        self.ok("reboot", "-a", "-w", out="")

    def test_shutdown_argument_errors(self):
        self.fails("shutdown", error="'xm shutdown' requires 1 argument.", usage=True)
        self.fails("shutdown", "-a", "x", error="'xm shutdown' requires 0 arguments.",
                   usage=True)
        self.fails("shutdown", "-R", "-H", "x", error="-R and -H cannot be used together.",
                   usage=True)
        self.fails("reboot", "-H", "x", error="option -H not recognized", usage=True)
        self.fails("shutdown", "-x", "x", error="option -x not recognized", usage=True)

    def test_destroy_domain0_is_the_servers_fault(self):
        f = xendtest.fault_of(self.p.domain.destroy, "Domain-0")
        self.assertIsNotNone(f)
        self.fails("destroy", "Domain-0", error=f.faultString)
        self.assertEqual(self.state("Domain-0"), "running")

    def test_suspend_resume(self):
        name = self.define(uniq("sus"), start=True)
        self.ok("suspend", name, out="")
        row = self.row(name)
        self.assertEqual((row["state"], row["managed_save"]), ("suspended", True))
        self.ok("resume", name, out="")
        self.assertEqual(self.state(name), "running")
        self.ok("suspend", name)
        self.ok("resume", "-p", name)
        self.assertEqual(self.state(name), "paused")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_save_restore(self):
        name = self.define(uniq("sav"), start=True)
        saved = os.path.join(self.work, name + ".save")
        old = os.getcwd()
        os.chdir(self.work)
        try:
            # a relative FILE is made absolute against xm's current directory
            self.ok("save", name, name + ".save", out="")
        finally:
            os.chdir(old)
        self.assertTrue(os.path.isfile(saved))
        row = self.row(name)
        self.assertEqual((row["state"], row["reason"]), ("shutoff", "saved"))
        self.ok("restore", saved, out="")
        self.assertEqual(self.state(name), "running")
        self.ok("save", name, saved)
        self.ok("restore", "-p", saved)
        self.assertEqual(self.state(name), "paused")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_save_restore_errors(self):
        name = self.define(uniq("savx"), start=True)
        nodir = os.path.join(self.work, "no-such-dir", "x.save")
        self.fails("save", name, nodir,
                   error=f"xm save: Unable to create file {nodir}: No such file or directory")
        self.fails("save", name, self.work,
                   error=f"xm save: Unable to create file {self.work}: Is a directory")
        self.assertEqual(self.state(name), "running")
        missing = os.path.join(self.work, "missing.save")
        self.fails("restore", missing,
                   error=f"xm restore: Unable to read file {missing}: "
                         "No such file or directory")
        old = os.getcwd()
        os.chdir(self.work)
        try:
            self.fails("restore", "rel-missing.save",
                       error=f"xm restore: Unable to read file "
                             f"{os.path.join(self.work, 'rel-missing.save')}: "
                             "No such file or directory")
        finally:
            os.chdir(old)
        # a file that is not a save image: the daemon's fault, no usage
        junk = self.file("junk.save", "not a save image\n")
        r = self.xm("restore", junk)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertRegex(r.stderr, r"^Error: [^\n]+\n$")
        self.fails("save", name, error="'xm save' requires 2 arguments.", usage=True)
        self.fails("restore", error="'xm restore' requires 1 argument.", usage=True)
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_no_such_domain(self):
        """Every command naming a domain reports an unknown one the same way, without
        usage."""
        out = os.path.join(self.work, "nope.save")
        for args in (("start", "NOPE"), ("delete", "NOPE"), ("shutdown", "NOPE"),
                     ("shutdown", "-w", "NOPE"), ("reboot", "NOPE"), ("destroy", "NOPE"),
                     ("pause", "NOPE"), ("unpause", "NOPE"), ("suspend", "NOPE"),
                     ("resume", "NOPE"), ("save", "NOPE", out),
                     ("migrate", "NOPE", "unix:///nonexistent.sock"),
                     ("dumpxml", "NOPE"), ("dumpxml", "--inactive", "NOPE"),
                     ("mem-set", "NOPE", "64"), ("mem-max", "NOPE", "64"),
                     ("vcpu-set", "NOPE", "1"), ("vcpu-pin", "NOPE", "0", "0"),
                     ("vcpu-pin", "NOPE", "all", "all"), ("sysrq", "NOPE", "s"),
                     ("rename", "NOPE", "other"), ("autostart", "NOPE", "on")):
            with self.subTest(args=args):
                self.fails(*args, error="Domain 'NOPE' does not exist.")
        self.assertFalse(os.path.exists(out))

    def test_argument_count_errors(self):
        for cmd, n in (("delete", 1), ("destroy", 1), ("pause", 1), ("unpause", 1),
                       ("suspend", 1), ("resume", 1), ("start", 1), ("dumpxml", 1),
                       ("mem-set", 2), ("mem-max", 2), ("vcpu-set", 2), ("vcpu-pin", 3),
                       ("sysrq", 2), ("rename", 2), ("autostart", 2), ("migrate", 2)):
            plural = "argument" if n == 1 else "arguments"
            with self.subTest(cmd=cmd):
                r = self.fails(cmd, error=f"'xm {cmd}' requires {n} {plural}.", usage=True)
                self.assertIn(f"Usage: xm {cmd} ", r.stderr)
                self.fails(cmd, *(["x"] * (n + 1)),
                           error=f"'xm {cmd}' requires {n} {plural}.", usage=True)
        # --help is not an error
        r = self.xm("pause", "--help")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(r.stdout.startswith("Usage: xm pause "), r.stdout)


class Settings(XmTestBase):

    def test_mem_set_and_max(self):
        name = self.define(uniq("mem"), start=True, memory=262144)
        self.ok("mem-set", name, "128", out="")
        self.assertEqual(self.row(name)["memory"], 131072)
        self.ok("mem-set", name, "65536k")
        self.assertEqual(self.row(name)["memory"], 65536)
        self.ok("mem-set", name, "100M")
        self.assertEqual(self.row(name)["memory"], 102400)
        self.ok("mem-max", name, "200m", out="")
        self.assertEqual(self.row(name)["max_memory"], 204800)
        self.p.domain.destroy(name)
        self.ok("mem-max", name, "1g")
        self.assertEqual(self.row(name)["max_memory"], 1048576)
        r = self.xm("balloon", name, "96")  # the deprecated spelling runs mem-set
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.row(name)["memory"], 98304)
        for bad in ("0", "abc", "-5", "12x", "1t", ""):
            with self.subTest(mem=bad):
                self.fails("mem-set", name, "--", bad, error=f"Invalid memory size: '{bad}' "
                           "(a positive size with an optional k, m or g suffix).", usage=True)
        self.fails("mem-max", name, "-5", error="option -5 not recognized", usage=True)
        # beyond the maximum: the daemon's fault, no usage
        f = xendtest.fault_of(self.p.domain.set_memory, name, 4 * 1048576)
        self.fails("mem-set", name, "4g", error=f.faultString)
        self.p.domain.undefine(name)

    def test_vcpu_set_and_pin(self):
        name = self.define(uniq("vcpu"), start=True, vcpus=4, current_vcpus=1)
        self.ok("vcpu-set", name, "2", out="")
        self.assertEqual(self.row(name)["vcpus"], 2)
        self.fails("vcpu-set", name, "x",
                   error="Invalid number of VCPUs: 'x' (a whole number from 1 to 2147483647).",
                   usage=True)
        f = xendtest.fault_of(self.p.domain.set_vcpus, name, 99)
        self.fails("vcpu-set", name, "99", error=f.faultString)
        self.ok("vcpu-pin", name, "1", "2", out="")
        info = self.p.domain.vcpu_info(name)
        self.assertEqual(info[1]["affinity"], "2")
        cpus = self.p.node.info()["cpus"]
        every = f"0-{cpus - 1}"
        self.ok("vcpu-pin", name, "all", "0", out="")
        self.assertEqual({v["affinity"] for v in self.p.domain.vcpu_info(name)}, {"0"})
        self.ok("vcpu-pin", name, "0", "all")
        info = self.p.domain.vcpu_info(name)
        self.assertEqual(info[0]["affinity"], every)
        self.ok("vcpu-pin", name, "all", "all")
        self.assertEqual({v["affinity"] for v in self.p.domain.vcpu_info(name)}, {every})
        self.ok("vcpu-pin", name, "0", "0-3,^2")
        self.assertEqual(self.p.domain.vcpu_info(name)[0]["affinity"], "0-1,3")
        self.fails("vcpu-pin", name, "x", "0",
                   error="Invalid VCPU: 'x' (a whole number from 0 to 2147483647).",
                   usage=True)
        r = self.xm("vcpu-pin", name, "0", "junk")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertRegex(r.stderr, r"^Error: [^\n]+\n$")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_sysrq(self):
        name = self.define(uniq("sysrq"), start=True)
        self.ok("sysrq", name, "s", out="")
        self.assertTrue(wait_for(lambda: "SysRq : Emergency Sync" in
                                 self.p.domain.console_read(name)["data"], ASYNC))
        self.fails("sysrq", name, "ss", error="Invalid sysrq key: 'ss' (one character).",
                   usage=True)
        self.fails("sysrq", name, "", error="Invalid sysrq key: '' (one character).",
                   usage=True)
        f = xendtest.fault_of(self.p.domain.sysrq, name, "!")
        self.fails("sysrq", name, "!", error=f.faultString)
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_rename(self):
        name = self.define(uniq("ren"), start=True)
        new = uniq("renamed")
        u = self.row(name)["uuid"]
        self.ok("rename", name, new, out="")
        self.assertTrue(self.gone(name))
        self.assertEqual(self.row(new)["uuid"], u)
        f = xendtest.fault_of(self.p.domain.rename, new, "bad/name")
        self.fails("rename", new, "bad/name", error=f.faultString)
        self.p.domain.destroy(new)
        self.p.domain.undefine(new)

    def test_autostart(self):
        name = self.define(uniq("auto"))
        self.ok("autostart", name, "on", out="")
        self.assertIs(self.row(name)["autostart"], True)
        self.ok("autostart", name, "off", out="")
        self.assertIs(self.row(name)["autostart"], False)
        self.fails("autostart", name, "maybe", error="Invalid value: 'maybe' (on or off).",
                   usage=True)
        self.p.domain.undefine(name)

    def test_dumpxml(self):
        name = self.define(uniq("dump"), start=True, memory=131072)
        self.p.domain.set_memory(name, 98304)  # live differs from the stored definition
        live = self.p.domain.get_xml(name)
        stored = self.p.domain.get_xml(name, True)
        nl = lambda s: s if s.endswith("\n") else s + "\n"  # noqa: E731
        self.ok("dumpxml", name, out=nl(live))
        self.ok("dumpxml", "--inactive", name, out=nl(stored))
        self.ok("dumpxml", str(self.row(name)["id"]), out=nl(live))
        self.fails("dumpxml", "--bogus", name, error="option --bogus not recognized",
                   usage=True)
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)


class Migrate(XmTestBase):
    tcp = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dest = Daemon(tcp=True).start()
        cls.pd = cls.dest.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.pd("close")()
        cls.dest.stop()
        super().tearDownClass()

    def test_migrate_by_uri(self):
        name = self.define(uniq("mig"), start=True)
        u = self.row(name)["uuid"]
        self.ok("migrate", name, "unix://" + self.dest.socket, out="")
        self.assertEqual(self.state(name), "shutoff")
        there = self.pd.domain.lookup(name)
        self.assertEqual((there["state"], there["uuid"]), ("running", u))
        # and back, live, by host:port (http://127.0.0.1:PORT/)
        self.ok("migrate", "-l", name, f"127.0.0.1:{self.daemon.tcp_port}",
                daemon=self.dest, out="")
        self.assertTrue(self.gone(name, self.pd))
        self.assertEqual(self.state(name), "running")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_migrate_full_http_uri(self):
        name = uniq("migh")
        self.p.domain.create(domain_xml(name))
        self.ok("migrate", "--live", name, f"http://127.0.0.1:{self.dest.tcp_port}/", out="")
        self.assertTrue(self.gone(name))
        self.assertEqual(self.pd.domain.lookup(name)["state"], "running")
        self.pd.domain.destroy(name)

    def test_migrate_localhost(self):
        """localhost is the daemon xm talks to (Xen's xm-test 01_migrate_localhost_pos): the
        domain moves within it, keeps running with its state and gets a new domid; over
        the Unix socket and over TCP alike."""
        tcp_uri = f"http://127.0.0.1:{self.daemon.tcp_port}/"
        for host, uri in (("localhost", None), ("127.0.0.1", None), ("localhost", tcp_uri)):
            with self.subTest(host=host, via=uri or "unix"):
                name = uniq("migl")
                domid = self.p.domain.create(domain_xml(name))["id"]
                self.p.domain.console_write(name, "kept=here\n")
                if uri:
                    r = run_xm("migrate", "-l", name, host, uri=uri)
                    r.stderr = clean(r.stderr)
                else:
                    r = self.xm("migrate", "-l", name, host)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
                row = self.row(name)
                self.assertEqual(row["state"], "running")
                self.assertNotEqual(row["id"], domid)
                off = self.p.domain.console_read(name)["offset"]
                self.p.domain.console_write(name, "echo $kept\n")
                self.assertIn("here\n", self.p.domain.console_read(name, off)["data"])
                self.assertTrue(self.gone(name, self.pd))
                self.p.domain.destroy(name)

    def test_migrate_bare_host_uses_port_8006(self):
        name = uniq("migb")
        self.p.domain.create(domain_xml(name))
        r = self.xm("migrate", name, "nosuchhost.invalid")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertRegex(r.stderr, r"^Error: [^\n]*http://nosuchhost\.invalid:8006/[^\n]*\n$")
        r = self.xm("migrate", name, "nosuchhost.invalid:9")
        self.assertRegex(r.stderr, r"^Error: [^\n]*http://nosuchhost\.invalid:9/[^\n]*\n$")
        self.assertEqual(self.state(name), "running")
        self.fails("migrate", "-x", name, "h", error="option -x not recognized", usage=True)
        self.p.domain.destroy(name)


class Progress(XmTestBase):
    """Saves slow enough (128 MiB at 16 s/GiB: about 2 s) to be watched."""
    host = {"save_ms_per_gib": 16000}

    def run_on_pty(self, *args):
        """Run xm with stderr on a pseudo-terminal (stdout a pipe); returns (status,
        stdout, everything written to the terminal)."""
        master, slave = pty.openpty()
        env = dict(os.environ)
        env.pop("XEND_URI", None)
        env.update({"XM_SERVER": "unix://" + self.daemon.socket,
                    "XM_CONFIG_FILE": "/nonexistent/xm.conf", "LC_ALL": "C"})
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(xendtest.WRAPPER + [xendtest.XM] + list(args),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=slave,
                                    env=env)
            os.close(slave)
            chunks = []
            deadline = time.monotonic() + 60 * xendtest.SLOW
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        data = os.read(master, 4096)
                    except OSError:  # EIO: every writer of the terminal has gone
                        break
                    if not data:
                        break
                    chunks.append(data)
                elif proc.poll() is not None:
                    break
            os.close(master)
            rc = proc.wait(timeout=30 * xendtest.SLOW)
            out.seek(0)
            return rc, out.read(), clean(b"".join(chunks).decode(errors="replace")
                                         .replace("\r\n", "\n"))

    def test_progress_bar_on_a_terminal(self):
        name = self.define(uniq("bar"), start=True, memory=131072)
        saved = os.path.join(self.work, name + ".save")
        rc, out, term = self.run_on_pty("save", name, saved)
        self.assertEqual((rc, out), (0, ""), term)
        self.assertRegex(term, r"\rSaving \[[#.]{40}\] +\d+%")
        self.assertRegex(term, r"\rSaving \[#+\.*\] +\d+%")  # it moved
        # the line is cleared at the end: blanks over it, the cursor back at its start
        self.assertTrue(term.endswith("\r"), repr(term[-80:]))
        self.assertEqual(term.rsplit("%", 1)[1].strip(" \r"), "", repr(term[-80:]))
        self.assertEqual(self.state(name), "shutoff")
        # restore knows no domain beforehand: the bar follows the job's events
        rc, out, term = self.run_on_pty("restore", saved)
        self.assertEqual((rc, out), (0, ""), term)
        self.assertRegex(term, r"\rRestoring \[[#.]{40}\] +\d+%")
        self.assertEqual(self.state(name), "running")
        # a fault is printed after the bar is gone
        rc, out, term = self.run_on_pty("save", "NOPE", saved)
        self.assertEqual(rc, 1)
        self.assertTrue(term.endswith("Error: Domain 'NOPE' does not exist.\n"), repr(term))
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)

    def test_no_progress_when_not_a_terminal(self):
        name = self.define(uniq("nobar"), start=True, memory=131072)
        saved = os.path.join(self.work, name + ".save")
        self.ok("save", name, saved, out="")  # stderr is a pipe: must stay empty
        self.ok("restore", saved, out="")
        self.ok("suspend", name, out="")
        self.ok("resume", name, out="")
        self.assertEqual(self.state(name), "running")
        self.p.domain.destroy(name)
        self.p.domain.undefine(name)


if __name__ == "__main__":
    xendtest.main()
