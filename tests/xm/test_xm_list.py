"""xm's listing and host commands end to end: the real xm binary against a real xend on the
simulated host. list (the brief table Xen's xm-test parses, --state, named domains, --long
S-expressions, --json), vcpu-list, uptime, domid, domname, info, dmesg and log, each
checked against what the API itself answers (Python's xmlrpc.client), with exact output
and the exact `Error: ...` lines and exit status 1 of the failure cases."""
import json
import re
import unittest

import xendtest
from xendtest import Daemon, domain_xml, run_xm, write_host_config

HEADER = "%-40s %3s %5s %5s %10s %9s" % ("Name", "ID", "Mem", "VCPUs", "State", "Time(s)")
VCPU_HEADER = "%-32s %3s %5s %5s %5s %9s %s" % ("Name", "ID", "VCPU", "CPU", "State",
                                                  "Time(s)", "CPU Affinity")
UPTIME_HEADER = "Name                              ID Uptime"
FLAGS = {"running": "r-----", "blocked": "-b----", "paused": "--p---", "shutdown": "---s--",
         "crashed": "----c-", "shutoff": "------", "suspended": "------"}
INFO_KEYS = ["host", "release", "version", "machine", "nr_cpus", "nr_nodes",
             "sockets_per_node", "cores_per_socket", "threads_per_core", "cpu_mhz", "hw_caps",
             "total_memory", "free_memory", "xen_major", "xen_minor", "xen_extra", "xen_caps",
             "xen_pagesize", "platform_params", "xen_changeset", "cc_compiler",
             "cc_compile_by", "cc_compile_domain", "cc_compile_date", "xend_config_format",
             "hypervisor", "accel", "driver"]
# What xm-test's 02_info_compiledata requires to be all digits.
INFO_DIGITS = ["cores_per_socket", "threads_per_core", "cpu_mhz", "total_memory",
               "free_memory", "xen_major", "xen_minor", "xen_pagesize"]
# Members of a domain.list row that move while a domain runs.
VOLATILE = {"cpu_time"}


# ---- S-expressions as xm prints them (Xend's sxp syntax and PrettyPrint layout) ----

def sxp_parse_all(text):
    """Every top-level S-expression of text, as nested lists of strings."""
    pos = 0
    out = []

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1

    def read():
        nonlocal pos
        skip()
        c = text[pos]
        if c == "(":
            pos += 1
            items = []
            while True:
                skip()
                if text[pos] == ")":
                    pos += 1
                    return items
                items.append(read())
        if c in "'\"":
            pos += 1
            buf = []
            while text[pos] != c:
                if text[pos] == "\\":
                    pos += 1
                    e = text[pos]
                    if e == "x":
                        buf.append(chr(int(text[pos + 1:pos + 3], 16)))
                        pos += 2
                    else:
                        buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(e, e))
                else:
                    buf.append(text[pos])
                pos += 1
            pos += 1
            return "".join(buf)
        start = pos
        while pos < len(text) and text[pos] not in " \t\r\n()'\"":
            pos += 1
        return text[start:pos]

    while True:
        skip()
        if pos >= len(text):
            return out
        out.append(read())


def sxp_atom(a):
    if a and re.fullmatch(r"[A-Za-z0-9._:/~-]+", a):
        return a
    q = '"' if "'" in a and '"' not in a else "'"
    return q + a.replace("\\", "\\\\").replace(q, "\\" + q) + q


def sxp_width(v):
    if isinstance(v, list):
        return 2 + sum(sxp_width(x) for x in v) + max(len(v) - 1, 0)
    return len(sxp_atom(v))


def sxp_pretty(v, col=0):
    """PrettyPrint's layout: a list that does not fit in 80 columns and holds lists has
    each element on its own line, indented 4, and ')' on its own line."""
    if not isinstance(v, list):
        return sxp_atom(v)
    broken = any(isinstance(x, list) for x in v) and col + sxp_width(v) > 80
    out = "("
    c = col + 1
    for i, x in enumerate(v):
        if i and broken:
            out += "\n" + " " * (col + 4)
            c = col + 4
        elif i:
            out += " "
            c += 1
        t = sxp_pretty(x, c)
        out += t
        c = c + len(t) if "\n" not in t else len(t.rsplit("\n", 1)[1])
    if broken:
        out += "\n" + " " * col
    return out + ")"


def sxp_get(sxp, key):
    for item in sxp[1:]:
        if isinstance(item, list) and item and item[0] == key:
            return item[1] if len(item) > 1 else ""
    return None


def sxp_drop(sxp, keys):
    return [x for x in sxp if not (isinstance(x, list) and x and x[0] in keys)]


def xm_run(*args, **kw):
    """run_xm with valgrind's own lines (when XEND_WRAPPER runs it) taken out of stderr;
    a valgrind error still shows as exit status 99."""
    p = run_xm(*args, **kw)
    p.stderr = "".join(ln for ln in p.stderr.splitlines(True)
                       if not re.match(r"==\d+==", ln))
    return p


def stable(row):
    return {k: v for k, v in row.items() if k not in VOLATILE}


class XmTestBase(unittest.TestCase):
    """One daemon per class on a 4-CPU simulated host."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        path = write_host_config(cls.d.dir, cpus=4, memory_mib=8192)
        with open(cls.d.conf_path, "a") as f:
            f.write(f"host_config = {path}\n")
        cls.d.start()
        cls.p = cls.d.proxy()

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.d.stop()

    def xm(self, *args, rc=0):
        p = xm_run(*args, daemon=self.d)
        self.assertEqual(p.returncode, rc, f"xm {args}: {p.stderr}")
        if rc == 0:
            self.assertEqual(p.stderr, "", f"xm {args}")
        return p

    def xm_error(self, *args, error=None, usage=False):
        """Run a failing xm: exit 1, nothing on stdout, `Error: ` first; error (exact first
        line) and usage (whether `Usage: xm` follows after a blank line) are checked."""
        p = xm_run(*args, daemon=self.d)
        self.assertEqual(p.returncode, 1, f"xm {args}: {p.stdout} {p.stderr}")
        self.assertEqual(p.stdout, "", f"xm {args}")
        lines = p.stderr.splitlines()
        self.assertTrue(lines and lines[0].startswith("Error: "), p.stderr)
        if error is not None:
            self.assertEqual(lines[0], error)
        if usage:
            self.assertEqual(lines[1], "", p.stderr)
            self.assertTrue(lines[2].startswith("Usage: xm "), p.stderr)
        else:
            self.assertEqual(len(lines), 1, p.stderr)
        return p

    def xm_json(self, *args):
        return json.loads(self.xm("--json", *args).stdout)


class ListTests(XmTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        p = cls.p
        p.domain.define(domain_xml("alpha", memory=131072, vcpus=2))
        p.domain.start("alpha", False)
        p.domain.define(domain_xml("bravo", memory=98304))
        p.domain.define(domain_xml("charlie", memory=65536))
        p.domain.start("charlie", True)
        p.domain.create(domain_xml("delta", memory=262144, current_memory=196608))

    def expected_prefix(self, row):
        """Everything of a brief row before the Time(s) column."""
        return "%-40s %3s %5d %5d %10s " % (
            row["name"], str(row["id"]) if row["id"] >= 0 else "-", row["memory"] // 1024,
            row["vcpus"], FLAGS[row["state"]])

    def check_table(self, out, rows):
        lines = out.splitlines()
        self.assertEqual(lines[0], HEADER)
        self.assertEqual(len(lines) - 1, len(rows), out)
        for line, row in zip(lines[1:], rows):
            prefix = self.expected_prefix(row)
            self.assertTrue(line.startswith(prefix), f"{line!r} vs {prefix!r}")
            time = line[len(prefix):]
            self.assertEqual(len(time), 9, line)
            self.assertRegex(time, r"^ *\d+\.\d$")
            self.assertGreaterEqual(float(time) + 0.05, row["cpu_time"])

    def test_brief_table(self):
        rows = self.p.domain.list()  # before xm, so xm's times are no smaller
        p = self.xm("list")
        self.check_table(p.stdout, rows)
        lines = p.stdout.splitlines()
        # what xm-test parses: Domain-0 first with ID 0, the header's words, fields by
        # whitespace (name id mem vcpus state time)
        self.assertEqual(lines[1].split()[:2], ["Domain-0", "0"])
        self.assertEqual(HEADER.replace("(s)", "").split(),
                         ["Name", "ID", "Mem", "VCPUs", "State", "Time"])
        fields = {line.split()[0]: line.split() for line in lines[1:]}
        self.assertEqual(fields["bravo"][1:5], ["-", "96", "1", "------"])
        self.assertEqual(fields["charlie"][1:5],
                         [str(self.p.domain.lookup("charlie")["id"]), "64", "1", "--p---"])
        self.assertIn(fields["alpha"][4], ("r-----", "-b----"))
        self.assertEqual(fields["alpha"][2:4], ["128", "2"])
        self.assertEqual(fields["delta"][2], "192")  # current memory, not the maximum
        self.assertEqual([line.split()[0] for line in lines[1:]],
                         ["Domain-0", "alpha", "bravo", "charlie", "delta"])

    def test_named_domains(self):
        rows = self.p.domain.list({"domains": ["charlie", "bravo", "alpha"]})
        p = self.xm("list", "charlie", "bravo", "alpha")
        self.assertEqual([r["name"] for r in rows], ["alpha", "bravo", "charlie"])
        self.check_table(p.stdout, rows)
        # by id and by UUID too
        alpha = self.p.domain.lookup("alpha")
        for ref in (str(alpha["id"]), alpha["uuid"]):
            out = self.xm("list", ref).stdout.splitlines()
            self.assertEqual([line.split()[0] for line in out[1:]], ["alpha"])

    def test_unknown_domain(self):
        self.xm_error("list", "6666", error="Error: Domain '6666' does not exist.")
        self.xm_error("list", "alpha", "nosuch", error="Error: Domain 'nosuch' does not exist.")

    def test_state_filter(self):
        rows = self.p.domain.list({"state": "paused"})
        out = self.xm("list", "--state", "paused").stdout
        self.check_table(out, rows)
        self.assertEqual([line.split()[0] for line in out.splitlines()[1:]], ["charlie"])
        out = self.xm("list", "--state=shutoff").stdout
        self.assertEqual([line.split()[0] for line in out.splitlines()[1:]], ["bravo"])
        out = self.xm("list", "--state=shutoff", "alpha").stdout
        self.assertEqual(out, HEADER + "\n")
        p = self.xm_error("list", "--state", "bogus")
        self.assertIn("bogus", p.stderr)

    def test_bad_arguments(self):
        self.xm_error("list", "-x", error="Error: option -x not recognized", usage=True)
        self.xm_error("list", "--bogus", error="Error: option --bogus not recognized",
                      usage=True)
        self.xm_error("list", "--state", error="Error: option --state requires an argument",
                      usage=True)

    def test_json(self):
        got = self.xm_json("list")
        want = self.p.domain.list()
        self.assertEqual([stable(r) for r in got], [stable(r) for r in want])
        got = self.xm_json("list", "--state", "paused")
        self.assertEqual([r["name"] for r in got], ["charlie"])
        got = self.xm_json("list", "--long", "bravo")
        self.assertEqual([stable(r) for r in got],
                         [stable(r) for r in self.p.domain.list({"domains": ["bravo"]})])

    def test_long(self):
        p = self.xm("list", "--long")
        out = p.stdout
        # what xm-test's 05_list_long_pos checks
        self.assertTrue(out.startswith("(domain\n"), out[:200])
        self.assertIn("(domid 0)", out)
        self.assertNotIn("Traceback", out)
        records = sxp_parse_all(out)
        self.assertEqual([sxp_get(r, "name") for r in records],
                         [r["name"] for r in self.p.domain.list()])
        for r in records:
            self.assertEqual(r[0], "domain")
        # the layout is PrettyPrint's, record by record
        self.assertEqual(out, "".join(sxp_pretty(r) + "\n" for r in records))
        self.assertTrue(out.splitlines()[1].startswith("    ("), out[:200])
        # running domains: the runtime sxp of xend.domain
        for name in ("Domain-0", "alpha", "charlie"):
            rec = next(r for r in records if sxp_get(r, "name") == name)
            want = self.p.xend.domain(name)
            moving = {"cpu_time", "up_time"}
            self.assertEqual(sxp_drop(rec, moving), sxp_drop(want, moving))
        self.assertEqual(sxp_get(records[0], "domid"), "0")
        self.assertEqual(sxp_get(next(r for r in records if sxp_get(r, "name") == "charlie"),
                                 "state"), "--p---")
        # an inactive domain: its configuration, no domid
        bravo = next(r for r in records if sxp_get(r, "name") == "bravo")
        self.assertIsNone(sxp_get(bravo, "domid"))
        self.assertEqual(sxp_get(bravo, "memory"), "96")
        self.assertEqual(sxp_get(bravo, "uuid"), self.p.domain.lookup("bravo")["uuid"])

    def test_long_named(self):
        out = self.xm("list", "-l", "bravo").stdout
        records = sxp_parse_all(out)
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0][0], "domain")
        self.assertEqual(sxp_get(records[0], "name"), "bravo")
        self.xm_error("list", "-l", "nosuch", error="Error: Domain 'nosuch' does not exist.")


class VcpuListTests(XmTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p.domain.define(domain_xml("multi", vcpus=3))
        cls.p.domain.start("multi", False)
        cls.p.domain.set_vcpus("multi", 2)  # vCPU 2 goes offline
        cls.p.domain.pin_vcpu("multi", 1, "1,3")
        cls.p.domain.define(domain_xml("off"))

    def rows_by_key(self, out):
        lines = out.splitlines()
        self.assertEqual(lines[0], VCPU_HEADER)
        rows = {}
        for line in lines[1:]:
            name = line[:32].rstrip()
            m = re.fullmatch(r" +(\d+) +(\d+) +(\d+|-) +(\S{3}) +(\d+\.\d) (.+)", line[32:])
            self.assertIsNotNone(m, line)
            rows[(name, int(m.group(2)))] = (int(m.group(1)),) + m.groups()[2:]
        return rows

    def test_all_active_domains(self):
        rows = self.rows_by_key(self.xm("vcpu-list").stdout)
        names = sorted({k[0] for k in rows})
        self.assertEqual(names, ["Domain-0", "multi"])  # not the inactive one
        self.assertEqual(len([k for k in rows if k[0] == "Domain-0"]), 4)
        self.assertEqual(rows[("Domain-0", 0)][0], 0)

    def test_named_domain_rows(self):
        out = self.xm("vcpu-list", "multi").stdout
        rows = self.rows_by_key(out)
        multi = self.p.domain.lookup("multi")
        info = self.p.domain.vcpu_info("multi")
        self.assertEqual(sorted(rows), [("multi", 0), ("multi", 1), ("multi", 2)])
        for v in info:
            domid, cpu, state, _time, aff = rows[("multi", v["number"])]
            self.assertEqual(domid, multi["id"])
            if v["online"]:
                self.assertEqual(cpu, str(v["cpu"]))
                self.assertEqual(state, {"running": "r--", "blocked": "-b-"}[v["state"]])
            else:
                self.assertEqual((cpu, state), ("-", "--p"))
        self.assertEqual(rows[("multi", 2)][1:3], ("-", "--p"))
        self.assertEqual(rows[("multi", 0)][4], "any cpu")
        self.assertEqual(rows[("multi", 1)][4], "1,3")
        # exact columns of one row
        line = next(ln for ln in out.splitlines() if ln.split()[2:3] == ["2"])
        self.assertEqual(line[:54], "%-32s %3d %5d %5s %5s" % ("multi", multi["id"], 2, "-",
                                                                "--p"))

    def test_inactive_and_unknown(self):
        p = self.xm_error("vcpu-list", "off")
        self.assertNotIn("off   ", p.stdout)
        self.xm_error("vcpu-list", "nosuch", error="Error: Domain 'nosuch' does not exist.")
        self.xm_error("vcpu-list", "-x", error="Error: option -x not recognized", usage=True)

    def test_json(self):
        got = self.xm_json("vcpu-list", "multi")
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["name"], "multi")
        self.assertEqual(got[0]["id"], self.p.domain.lookup("multi")["id"])
        want = self.p.domain.vcpu_info("multi")
        self.assertEqual([stable(v) for v in got[0]["vcpus"]], [stable(v) for v in want])


class UptimeIdTests(XmTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p.domain.define(domain_xml("up1"))
        cls.p.domain.start("up1", False)
        cls.p.domain.define(domain_xml("down1"))

    def test_uptime(self):
        out = self.xm("uptime").stdout.splitlines()
        self.assertEqual(out[0], UPTIME_HEADER)
        active = [r for r in self.p.domain.list() if r["id"] >= 0]
        self.assertEqual(len(out) - 1, len(active))
        for line, row in zip(out[1:], active):
            self.assertEqual(line[:37], "%-32s %3d " % (row["name"], row["id"]))
            self.assertRegex(line[37:], r"^(\d+ days?, )?[ \d]\d:\d\d:\d\d$")
        up1 = next(ln for ln in out if ln.startswith("up1 "))
        self.assertRegex(up1, r" 0:0\d:\d\d$")  # just started
        out = self.xm("uptime", "up1").stdout.splitlines()
        self.assertEqual(len(out), 2)
        self.assertTrue(out[1].startswith("up1 "))

    def test_uptime_short(self):
        rows = [r for r in self.p.domain.list() if r["id"] >= 0]
        for flag in ("-s", "--short"):
            out = self.xm("uptime", flag).stdout.splitlines()
            self.assertEqual(len(out), len(rows))
            for line, row in zip(out, rows):
                m = re.fullmatch(
                    r" \d\d:\d\d:\d\d up (\d+ days?, )?[ \d]\d:\d\d, (\S+) \((\d+)\)", line)
                self.assertIsNotNone(m, line)
                self.assertEqual((m.group(2), int(m.group(3))), (row["name"], row["id"]))

    def test_uptime_errors_and_json(self):
        self.xm_error("uptime", "down1", error="Error: Domain 'down1' is not running.")
        self.xm_error("uptime", "nosuch", error="Error: Domain 'nosuch' does not exist.")
        self.xm_error("uptime", "-x", error="Error: option -x not recognized", usage=True)
        got = self.xm_json("uptime")
        want = self.p.domain.list({"active": True})
        self.assertEqual([stable(r) for r in got], [stable(r) for r in want])

    def test_domid(self):
        # xm-test 01_domid_basic_pos: the output is exactly the id
        self.assertEqual(self.xm("domid", "Domain-0").stdout, "0\n")
        up1 = self.p.domain.lookup("up1")
        self.assertEqual(self.xm("domid", "up1").stdout, f"{up1['id']}\n")
        self.assertEqual(self.xm("domid", up1["uuid"]).stdout, f"{up1['id']}\n")
        self.xm_error("domid", "down1", error="Error: Domain 'down1' is not running.")
        self.xm_error("domid", "nosuch", error="Error: Domain 'nosuch' does not exist.")
        self.xm_error("domid", error="Error: 'xm domid' requires 1 argument.", usage=True)
        self.xm_error("domid", "a", "b", error="Error: 'xm domid' requires 1 argument.",
                      usage=True)
        self.assertEqual(stable(self.xm_json("domid", "up1")),
                         stable(self.p.domain.lookup("up1")))

    def test_domname(self):
        # xm-test 01_domname_basic_pos: the output is exactly the name
        self.assertEqual(self.xm("domname", "0").stdout, "Domain-0\n")
        up1 = self.p.domain.lookup("up1")
        self.assertEqual(self.xm("domname", str(up1["id"])).stdout, "up1\n")
        self.xm_error("domname", "1492", error="Error: Domain '1492' does not exist.")
        self.xm_error("domname", error="Error: 'xm domname' requires 1 argument.", usage=True)
        self.assertEqual(stable(self.xm_json("domname", "0")),
                         stable(self.p.domain.lookup("0")))


class HostTests(XmTestBase):
    def test_info(self):
        out = self.xm("info").stdout
        lines = out.splitlines()
        self.assertEqual([ln[:23].rstrip() for ln in lines], INFO_KEYS)
        values = {}
        for ln in lines:
            self.assertEqual(ln[23:25], ": ", ln)
            # xm-test's getInfo() pattern
            m = re.match(r"^([A-z_]+)[^:]*: (.*)$", ln)
            self.assertIsNotNone(m, ln)
            values[m.group(1)] = m.group(2)
        # xm-test 02_info_compiledata: spaces collapsed, split on " : "
        for ln in lines:
            key, value = re.sub(" +", " ", ln).split(" : ", 1)
            if key in INFO_DIGITS:
                self.assertTrue(value.isdigit(), ln)
        self.assertTrue(values["cc_compiler"].startswith("gcc version"))
        self.assertRegex(values["cc_compile_by"], r"^[A-z0-9_]+$")
        node = self.p.node.info()
        version = self.p.daemon.version()
        self.assertEqual(values["host"], node["hostname"])
        self.assertEqual(values["nr_cpus"], "4")
        self.assertEqual(values["nr_cpus"], str(node["cpus"]))
        self.assertEqual(values["cores_per_socket"], str(node["cores"]))
        self.assertEqual(values["cpu_mhz"], str(node["mhz"]))
        self.assertEqual(values["total_memory"], str(node["memory"] // 1024))
        self.assertEqual(values["total_memory"], "8192")
        self.assertEqual(values["free_memory"], str(node["free_memory"] // 1024))
        self.assertEqual(values["xen_major"], version["version"].split(".")[0])
        self.assertEqual(values["xen_minor"], version["version"].split(".")[1])
        self.assertEqual(values["driver"], node["driver"])
        self.assertEqual(values["accel"], node["accel"])
        self.assertTrue(values["hypervisor"].startswith(node["hypervisor"]))
        # the values only the daemon's host knows come from it
        compat = dict(self.p.xend.node.info())
        for key in ("release", "version", "machine", "cc_compiler", "xen_pagesize"):
            self.assertEqual(values[key], compat[key], key)

    def test_info_json_and_errors(self):
        got = self.xm_json("info")
        self.assertEqual(got, self.p.node.info())
        self.xm_error("info", "extra", error="Error: 'xm info' requires 0 arguments.",
                      usage=True)
        self.xm_error("info", "-x", error="Error: option -x not recognized", usage=True)

    def test_dmesg_and_clear(self):
        text = self.p.node.dmesg()
        out = self.xm("dmesg").stdout
        self.assertIn("(XEN)", out)  # xm-test 01_dmesg_basic_pos
        self.assertEqual(out, text if text.endswith("\n") else text + "\n")
        self.assertEqual(self.xm_json("dmesg"), self.p.node.dmesg())
        self.xm_error("dmesg", "-x", error="Error: option -x not recognized", usage=True)
        self.xm_error("dmesg", "extra", error="Error: 'xm dmesg' requires 0 arguments.",
                      usage=True)
        # -c prints, then clears
        self.assertEqual(self.xm("dmesg", "-c").stdout, out)
        self.assertEqual(self.p.node.dmesg(), "")
        self.assertEqual(self.xm("dmesg").stdout, "")
        self.assertEqual(self.xm("dmesg", "--clear").stdout, "")

    def test_log(self):
        out = self.xm("log").stdout
        self.assertIn("started", out)
        self.assertTrue(out.endswith("\n"))
        got = self.xm_json("log")
        self.assertIsInstance(got, str)
        self.assertIn("started", got)
        self.assertTrue(self.p.node.log().startswith(got.splitlines()[0]))
        self.xm_error("log", "extra", error="Error: 'xm log' requires 0 arguments.", usage=True)

    def test_no_daemon(self):
        p = xm_run("info", uri="unix:///nonexistent/xend.sock")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("Error: Unable to connect to xend"), p.stderr)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    xendtest.main()
