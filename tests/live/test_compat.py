"""The Xend 3.x compatibility namespace (xend.*) of a real xend with the test driver, driven
through Python's stdlib xmlrpc.client over the Unix socket as Xen's xm and scripts called
Xend 3.0.x: S-expression results as nested arrays of strings, nil for void methods, and
Xend's fault codes (3 = no such domain with the given dom as faultString, 2 = failure,
1 = internal). Disks are real files in the test's temporary directory."""
import os
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, wait_for

INVALID_PARAMS = -32602
WAIT = 10  # seconds to wait for an asynchronous guest shutdown (test driver: 300 ms)

NODE_KEYS = ["system", "host", "release", "version", "machine", "nr_cpus", "nr_nodes",
             "sockets_per_node", "cores_per_socket", "threads_per_core", "cpu_mhz", "hw_caps",
             "total_memory", "free_memory", "xen_major", "xen_minor", "xen_extra", "xen_caps",
             "xen_pagesize", "platform_params", "xen_changeset", "cc_compiler",
             "cc_compile_by", "cc_compile_domain", "cc_compile_date", "xend_config_format"]

COMPAT_METHODS = [
    "xend.domains", "xend.domains_with_state", "xend.domain", "xend.domain.create",
    "xend.domain.new", "xend.domain.start", "xend.domain.delete", "xend.domain.pause",
    "xend.domain.unpause", "xend.domain.destroy", "xend.domain.shutdown", "xend.domain.save",
    "xend.domain.restore", "xend.domain.suspend", "xend.domain.resume",
    "xend.domain.waitForDevices", "xend.domain.setMemoryTarget", "xend.domain.maxmem_set",
    "xend.domain.setVCpuCount", "xend.domain.pincpu", "xend.domain.getVCPUInfo",
    "xend.domain.device_create", "xend.domain.destroyDevice", "xend.domain.getDeviceSxprs",
    "xend.domain.send_sysrq", "xend.domain.setName", "xend.domain.migrate", "xend.node.info",
    "xend.node.log", "xend.node.dmesg.info", "xend.node.dmesg.clear"]


def child(sxp, key, default=None):
    """sxp.child_value as xm used it: the value of the first (key value) child."""
    for item in sxp[1:]:
        if isinstance(item, list) and item and item[0] == key:
            return item[1] if len(item) > 1 else default
    return default


def children(sxp, key):
    return [item for item in sxp[1:] if isinstance(item, list) and item and item[0] == key]


def pairs(lst):
    return {k: v for k, v in lst}


class CompatTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.x = cls.daemon.proxy()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.x("close")()
        cls.daemon.stop()

    # ---- helpers ----

    def assertFault(self, code, fn, *args):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        return cm.exception

    def assertNoDomain(self, dom, fn, *args):
        """Xend's XendInvalidDomain: code 3 and exactly the dom text the caller gave."""
        f = self.assertFault(3, fn, *args)
        self.assertEqual(f.faultString, str(dom))

    def disk(self, name=None, size=1 << 20):
        CompatTests.n += 1
        path = os.path.join(self.daemon.dir, name or f"disk{CompatTests.n}.img")
        with open(path, "wb") as f:
            f.truncate(size)
        return path

    def name(self, base):
        CompatTests.n += 1
        return f"{base}{CompatTests.n}"

    def config(self, name, memory=64, vcpus=2, disks=(), vifs=(), extra=()):
        cfg = ["vm", ["name", name], ["memory", str(memory)], ["vcpus", str(vcpus)],
               ["on_poweroff", "destroy"], ["on_reboot", "restart"], ["on_crash", "destroy"],
               ["image", ["linux", ["kernel", "/boot/vmlinuz-xen"], ["root", "/dev/xvda1 ro"],
                          ["args", "4"]]]]
        for path, dev, mode in disks:
            cfg.append(["device", ["vbd", ["uname", "file:" + path], ["dev", dev],
                                   ["mode", mode]]])
        for vif in vifs:
            cfg.append(["device", ["vif"] + [[k, v] for k, v in vif.items()]])
        cfg.extend(extra)
        return cfg

    def create(self, base="c", unpause=True, **kw):
        """xm create: xend.domain.create (paused), waitForDevices, unpause."""
        name = self.name(base)
        kw.setdefault("disks", [(self.disk(), "xvda1", "w")])
        sxp = self.x.xend.domain.create(self.config(name, **kw))
        self.assertIsNone(self.x.xend.domain.waitForDevices(name))
        if unpause:
            self.assertIsNone(self.x.xend.domain.unpause(name))
        self.addCleanup(self.cleanup, name)
        return name, sxp

    def define(self, base="m", **kw):
        name = self.name(base)
        kw.setdefault("disks", [(self.disk(), "xvda1", "w")])
        self.assertIsNone(self.x.xend.domain.new(self.config(name, **kw)))
        self.addCleanup(self.cleanup, name)
        return name

    def cleanup(self, name):
        x = self.daemon.proxy()
        try:
            try:
                x.xend.domain.destroy(name)
            except xmlrpc.client.Fault:
                pass
            try:
                x.domain.undefine(name, {"managed_save": True})
            except xmlrpc.client.Fault:
                pass
        finally:
            x("close")()

    def state(self, name):
        return child(self.x.xend.domain(name), "state")

    def names(self, state="all"):
        return self.x.xend.domains_with_state(False, state, 0)

    # ---- the host ----

    def test_node_info(self):
        info = self.x.xend.node.info()
        self.assertEqual([k for k, _ in info], NODE_KEYS)
        for pair in info:
            self.assertEqual(len(pair), 2, pair)
            self.assertIsInstance(pair[1], str, pair)
        v = pairs(info)
        # What xm-test's xm info test checks, and what xm info prints.
        for k in ("cores_per_socket", "threads_per_core", "cpu_mhz", "total_memory",
                  "free_memory", "xen_major", "xen_minor", "xen_pagesize"):
            self.assertRegex(v[k], r"^\d+$", k)
        self.assertRegex(v["cc_compile_by"], r"^[A-z0-9_]+$")
        self.assertTrue(v["cc_compiler"].startswith("gcc version "), v["cc_compiler"])
        self.assertEqual(v["system"], os.uname().sysname)
        self.assertEqual(v["release"], os.uname().release)
        self.assertEqual(v["machine"], os.uname().machine)
        self.assertEqual(v["xend_config_format"], "3")
        ver = self.x.daemon.version()["version"].split(".")
        self.assertEqual((v["xen_major"], v["xen_minor"]), (ver[0], ver[1]))
        node = self.x.node.info()
        self.assertEqual(int(v["nr_cpus"]), node["cpus"])
        self.assertEqual(int(v["cpu_mhz"]), node["mhz"])
        self.assertEqual(int(v["total_memory"]), node["memory"] // 1024)
        self.assertEqual(int(v["xen_pagesize"]), os.sysconf("SC_PAGESIZE"))
        self.assertEqual(v["host"], node["hostname"])

    def test_dmesg_and_log(self):
        text = self.x.xend.node.dmesg.info()
        self.assertIsInstance(text, str)
        self.assertIn("(XEN)", text)
        self.assertEqual(text, self.x.node.dmesg())
        self.assertIsNone(self.x.xend.node.dmesg.clear())
        self.assertNotIn("LOADING DOMAIN 0", self.x.xend.node.dmesg.info())
        log = self.x.xend.node.log()
        self.assertIsInstance(log, str)
        self.assertIn("xend", log)

    # ---- listing and Domain-0 ----

    def test_domain0(self):
        for dom in ("Domain-0", "0", 0, "00000000-0000-0000-0000-000000000000"):
            with self.subTest(dom=dom):
                sxp = self.x.xend.domain(dom)
                self.assertEqual(sxp[0], "domain")
                self.assertEqual(child(sxp, "domid"), "0")
                self.assertEqual(child(sxp, "name"), "Domain-0")
                self.assertEqual(child(sxp, "state"), "r-----")
        self.assertIn("Domain-0", self.x.xend.domains(0))
        self.assertIn("Domain-0", self.x.xend.domains(False))
        full = self.x.xend.domains(1)
        dom0 = [d for d in full if child(d, "name") == "Domain-0"][0]
        self.assertEqual(child(dom0, "domid"), "0")
        for atom in dom0[1:]:
            if len(atom) == 2 and not isinstance(atom[1], list):
                self.assertIsInstance(atom[1], str, atom)
        # Xend: "Cannot destroy privileged domain 0" -- a failure, not a missing domain.
        for fn in (self.x.xend.domain.destroy, self.x.xend.domain.pause):
            for dom in ("Domain-0", 0):
                f = self.assertFault(2, fn, dom)
                self.assertIn("Domain-0", f.faultString)
        self.assertFault(2, self.x.xend.domain.shutdown, "Domain-0", "poweroff")
        self.assertIn("r-----", self.state("Domain-0"))

    def test_vcpu_info_domain0(self):
        info = self.x.xend.domain.getVCPUInfo("Domain-0")
        self.assertEqual(info[0], "domain")
        self.assertEqual(child(info, "domid"), "0")
        self.assertEqual(child(info, "name"), "Domain-0")
        vcpus = children(info, "vcpu")
        self.assertEqual(len(vcpus), int(child(info, "vcpu_count")))
        self.assertEqual(len(vcpus), self.x.node.info()["cpus"])

    def test_domains_with_state_arguments(self):
        paused, _ = self.create("p", unpause=False)
        running, _ = self.create("r")
        halted = self.define("h")
        self.assertIn(running, self.x.xend.domains(0))
        self.assertNotIn(paused, self.x.xend.domains(0), "X3.0.4+: running domains only")
        self.assertNotIn(halted, self.x.xend.domains(False))
        self.assertNotIn(paused, self.x.xend.domains())
        all_names = self.names("all")
        for n in (paused, running, halted, "Domain-0"):
            self.assertIn(n, all_names)
        self.assertEqual(all_names, sorted(all_names), "Xend's list_sorted")
        self.assertEqual(self.x.xend.domains_with_state(False, "paused", 0).count(paused), 1)
        self.assertIn(paused, self.x.xend.domains_with_state(False, 1, 0))
        self.assertIn(paused, [child(d, "name")
                               for d in self.x.xend.domains_with_state(True, 1, 0)])
        self.assertIn(halted, self.names("halted"))
        self.assertIn(halted, self.x.xend.domains_with_state(0, "halted", 1))
        self.assertIn(halted, [child(d, "name")
                               for d in self.x.xend.domains_with_state(1, "halted", 1)])
        self.assertIn(halted, self.x.xend.domains_with_state(False, 0, 0))
        self.assertIn(running, self.x.xend.domains_with_state(False, 2, 0))
        self.assertNotIn(running, self.names("paused"))
        self.assertEqual(self.names("unknown"), [])
        self.assertEqual(self.names("shuttingdown"), [])
        detail = self.x.xend.domains_with_state(True, "all", True)
        self.assertEqual([child(d, "name") for d in detail], all_names)
        hsxp = [d for d in detail if child(d, "name") == halted][0]
        self.assertIsNone(child(hsxp, "domid"), "a halted domain has no domid")
        self.assertEqual(child(hsxp, "state"), "------")
        # xm list's brief format from the long form
        for d in detail:
            int(child(d, "memory"))
            float(child(d, "cpu_time"))
            int(child(d, "online_vcpus", child(d, "vcpus")))
        for bad in ("bogus", "Running", ""):
            f = self.assertFault(2, self.x.xend.domains_with_state, True, bad, 0)
            self.assertIn("state", f.faultString)
        self.assertFault(2, self.x.xend.domains_with_state, True, 6, 0)
        self.assertFault(2, self.x.xend.domains_with_state, True, -1, 0)
        self.assertFault(INVALID_PARAMS, self.x.xend.domains_with_state, True, "all")
        self.assertFault(INVALID_PARAMS, self.x.xend.domains, "yes")

    # ---- create and the running-domain calls ----

    def test_create_paused_then_lifecycle(self):
        disk = self.disk()
        name = self.name("life")
        cfg = self.config(name, memory=96, vcpus=2, disks=[(disk, "xvda1", "w")],
                          vifs=[{"mac": "00:16:3e:11:22:33", "bridge": "xenbr0"}],
                          extra=[["vcpu_avail", "1"]])
        sxp = self.x.xend.domain.create(cfg)
        self.addCleanup(self.cleanup, name)
        self.assertEqual(sxp[0], "domain")
        self.assertEqual(child(sxp, "name"), name)
        self.assertEqual(child(sxp, "state"), "--p---", "Xend created domains paused")
        domid = child(sxp, "domid")
        self.assertRegex(domid, r"^[1-9]\d*$")
        self.assertEqual(child(sxp, "memory"), "96")
        self.assertEqual(child(sxp, "maxmem"), "96")
        self.assertEqual(child(sxp, "vcpus"), "2")
        self.assertEqual(child(sxp, "online_vcpus"), "1")
        self.assertIsNone(child(sxp, "vcpu_avail"), "Xend's fixup_sxpr dropped vcpu_avail")
        self.assertRegex(child(sxp, "uuid"), r"^[0-9a-f-]{36}$")
        for key in ("cpu_time", "up_time", "start_time"):
            float(child(sxp, key))
        image = child(sxp, "image")
        self.assertEqual(image[0], "linux")
        self.assertEqual(child(image, "kernel"), "/boot/vmlinuz-xen")
        devs = [d[1] for d in children(sxp, "device")]
        self.assertEqual([d[0] for d in devs], ["vbd", "vif"])
        self.assertEqual(child(devs[0], "uname"), "file:" + disk)
        self.assertEqual(child(devs[0], "dev"), "xvda1")
        self.assertEqual(child(devs[1], "mac"), "00:16:3e:11:22:33")
        # the same record by name, id (string and int) and uuid
        for dom in (name, domid, int(domid), child(sxp, "uuid")):
            self.assertEqual(child(self.x.xend.domain(dom), "name"), name)
        self.assertEqual(child(self.x.xend.domain(name, 1), "name"), name)
        self.assertEqual(child(self.x.xend.domain(name, True), "name"), name)

        self.assertIsNone(self.x.xend.domain.waitForDevices(name))
        self.assertIsNone(self.x.xend.domain.unpause(name))
        self.assertEqual(self.state(name)[2], "-")
        self.assertIn(self.state(name)[:2], ("r-", "-b"))
        self.assertIsNone(self.x.xend.domain.pause(name))
        self.assertEqual(self.state(name), "--p---")
        self.assertIsNone(self.x.xend.domain.pause(int(domid)))  # pausing twice is fine
        self.assertIsNone(self.x.xend.domain.unpause(int(domid)))

        # memory (MiB) and vCPUs
        self.assertIsNone(self.x.xend.domain.setMemoryTarget(name, 48))
        self.assertEqual(child(self.x.xend.domain(name), "memory"), "48")
        for bad in (0, -5):
            f = self.assertFault(2, self.x.xend.domain.setMemoryTarget, name, bad)
            self.assertEqual(f.faultString, "Invalid memory size")
        self.assertFault(2, self.x.xend.domain.setMemoryTarget, name, 4096)  # over maxmem
        self.assertEqual(self.x.xend.domain.maxmem_set(name, 80), 0)
        self.assertEqual(child(self.x.xend.domain(name), "maxmem"), "80")
        self.assertFault(2, self.x.xend.domain.maxmem_set, name, 0)
        self.assertIsNone(self.x.xend.domain.setVCpuCount(name, 2))
        self.assertEqual(child(self.x.xend.domain(name), "online_vcpus"), "2")
        self.assertIsNone(self.x.xend.domain.setVCpuCount(int(domid), 1))
        self.assertEqual(child(self.x.xend.domain(name), "online_vcpus"), "1")
        self.assertFault(2, self.x.xend.domain.setVCpuCount, name, 3)
        self.assertFault(2, self.x.xend.domain.setVCpuCount, name, 0)
        self.assertIsNone(self.x.xend.domain.setVCpuCount(name, 2))

        # vCPU information and pinning, as xm vcpu-list / vcpu-pin use them
        info = self.x.xend.domain.getVCPUInfo(name)
        self.assertEqual(info[0], "domain")
        self.assertEqual(child(info, "domid"), domid)
        self.assertEqual(child(info, "name"), name)
        self.assertEqual(child(info, "vcpu_count"), "2")
        vcpus = children(info, "vcpu")
        self.assertEqual([child(v, "number") for v in vcpus], ["0", "1"])
        host_cpus = [str(c) for c in range(self.x.node.info()["cpus"])]
        for v in vcpus:
            self.assertEqual(child(v, "online"), "1")
            self.assertIn(child(v, "blocked") + child(v, "running"), ("01", "10", "00"))
            float(child(v, "cpu_time"))
            int(child(v, "cpu"))
            self.assertEqual(child(v, "cpumap"), host_cpus)
        self.assertEqual(self.x.xend.domain.pincpu(name, 0, [1]), 0)
        cpumaps = [child(v, "cpumap") for v in children(self.x.xend.domain.getVCPUInfo(name),
                                                         "vcpu")]
        self.assertEqual(cpumaps, [["1"], host_cpus])
        self.assertEqual(self.x.xend.domain.pincpu(name, "all", "0-1,^0"), 0)
        cpumaps = [child(v, "cpumap") for v in children(self.x.xend.domain.getVCPUInfo(name),
                                                         "vcpu")]
        self.assertEqual(cpumaps, [["1"], ["1"]])
        # xm's 'all' was the list 0..63: CPUs the host lacks are ignored, as libxc did
        self.assertEqual(self.x.xend.domain.pincpu(name, "1", list(range(64))), 0)
        self.assertEqual(self.x.xend.domain.pincpu(name, 0, "all"), 0)
        self.assertEqual(self.x.xend.domain.pincpu(name, "all", ["0", "1"]), 0)
        cpumaps = [child(v, "cpumap") for v in children(self.x.xend.domain.getVCPUInfo(name),
                                                         "vcpu")]
        self.assertEqual(cpumaps, [["0", "1"], ["0", "1"]])
        self.assertFault(2, self.x.xend.domain.pincpu, name, 0, [200])
        self.assertFault(2, self.x.xend.domain.pincpu, name, 0, [-1])
        self.assertFault(2, self.x.xend.domain.pincpu, name, 0, ["x"])
        self.assertFault(2, self.x.xend.domain.pincpu, name, 0, [])
        self.assertFault(2, self.x.xend.domain.pincpu, name, 0, "99")
        self.assertFault(2, self.x.xend.domain.pincpu, name, 7, [0])
        self.assertFault(2, self.x.xend.domain.pincpu, name, "one", [0])
        self.assertFault(2, self.x.xend.domain.pincpu, name, -1, [0])

        # SysRq, rename
        self.assertIsNone(self.x.xend.domain.send_sysrq(name, "s"))
        self.assertIn("Emergency Sync", self.x.domain.console_read(name)["data"])
        self.assertFault(2, self.x.xend.domain.send_sysrq, name, "ss")
        self.assertFault(2, self.x.xend.domain.send_sysrq, name, "")
        new = self.name("renamed")
        self.addCleanup(self.cleanup, new)
        self.assertIsNone(self.x.xend.domain.setName(name, new))
        self.assertNoDomain(name, self.x.xend.domain, name)
        self.assertEqual(child(self.x.xend.domain(domid), "name"), new)
        self.assertFault(2, self.x.xend.domain.setName, new, "bad/name")
        self.assertFault(2, self.x.xend.domain.setName, new, "Domain-0")
        self.assertFault(2, self.x.xend.domain.setName, new, "")

        # destroy: a transient domain is gone
        self.assertIsNone(self.x.xend.domain.destroy(new))
        self.assertNoDomain(new, self.x.xend.domain, new)
        self.assertNoDomain(domid, self.x.xend.domain.destroy, domid)

    def test_create_refusals(self):
        name = self.name("bad")
        good_disk = self.disk()
        cases = [
            ["vm"],  # no name
            ["config", ["name", name]],  # not (vm ...)
            self.config(name, memory="lots"),
            self.config(name, memory=0),
            self.config(name, vcpus=0),
            self.config(name, disks=[(good_disk, "notadevice", "w")]),
            self.config(name, disks=[(good_disk, "xvda", "rw")]),
            self.config(name, disks=[(os.path.join(self.daemon.dir, "missing.img"),
                                      "xvda", "w")]),
            self.config(name, memory=64 * 1024 * 1024),  # more than the host
            self.config(name, vifs=[{"mac": "not-a-mac"}]),
            ["vm", ["name", "bad name!"]],
        ]
        for cfg in cases:
            with self.subTest(cfg=cfg):
                f = self.assertFault(2, self.x.xend.domain.create, cfg)
                self.assertTrue(f.faultString)
                self.assertNoDomain(name, self.x.xend.domain, name)
        self.assertFault(INVALID_PARAMS, self.x.xend.domain.create, "(vm (name x))")
        # a name that is taken
        taken, _ = self.create("taken")
        f = self.assertFault(2, self.x.xend.domain.create, self.config(taken, disks=[]))
        self.assertIn(taken, f.faultString)
        self.assertFault(2, self.x.xend.domain.new, self.config("Domain-0", disks=[]))

    # ---- devices ----

    def test_devices_hotplug(self):
        name, sxp = self.create("dev", disks=[])
        domid = child(sxp, "domid")
        self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, "vbd"), [])
        self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, "vif"), [])
        disk = self.disk()
        r = self.x.xend.domain.device_create(
            name, ["vbd", ["uname", "file:" + disk], ["dev", "xvdb"], ["mode", "w"]])
        self.assertEqual(r, ["vbd", ["dom", domid, "id", "51728"]])
        disk2 = self.disk()
        r = self.x.xend.domain.device_create(
            int(domid), ["vbd", ["uname", "file:" + disk2], ["dev", "hda"], ["mode", "r"]])
        self.assertEqual(r, ["vbd", ["dom", domid, "id", "768"]])
        r = self.x.xend.domain.device_create(name, ["vif", ["mac", "00:16:3e:aa:bb:cc"],
                                                    ["bridge", "xenbr0"]])
        self.assertEqual(r, ["vif", ["dom", domid, "id", "0"]])
        r = self.x.xend.domain.device_create(name, ["vif"])
        self.assertEqual(r, ["vif", ["dom", domid, "id", "1"]])

        vbds = self.x.xend.domain.getDeviceSxprs(name, "vbd")
        self.assertEqual([d[0] for d in vbds], ["51728", "768"])
        v = pairs(vbds[0][1])
        self.assertEqual(v["backend-id"], "0")
        self.assertEqual(v["virtual-device"], "51728")
        self.assertEqual(v["state"], "4")
        self.assertEqual(v["backend"], f"/local/domain/0/backend/vbd/{domid}/51728")
        self.assertEqual(v["uname"], "file:" + disk)
        self.assertEqual(v["dev"], "xvdb")
        self.assertEqual(v["mode"], "w")
        self.assertEqual(pairs(vbds[1][1])["mode"], "r")
        vifs = self.x.xend.domain.getDeviceSxprs(name, "vif")
        self.assertEqual([d[0] for d in vifs], ["0", "1"])
        v = pairs(vifs[0][1])
        self.assertEqual(v["mac"], "00:16:3e:aa:bb:cc")
        self.assertEqual(v["handle"], "0")
        self.assertEqual(v["state"], "4")
        self.assertEqual(v["bridge"], "xenbr0")
        self.assertEqual(v["backend"], f"/local/domain/0/backend/vif/{domid}/0")
        generated_mac = pairs(vifs[1][1])["mac"]
        # the devices are in the domain's sxp too
        devs = [d[1][0] for d in children(self.x.xend.domain(name), "device")]
        self.assertEqual(devs, ["vbd", "vbd", "vif", "vif"])
        # classes Xend had that xend has no devices of, and unknown ones
        for cls in ("vtpm", "pci", "tap"):
            self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, cls), [])
        self.assertFault(2, self.x.xend.domain.getDeviceSxprs, name, "floppy")

        # refusals
        self.assertFault(2, self.x.xend.domain.device_create, name,
                         ["vbd", ["uname", "file:" + disk], ["dev", "xvdb"], ["mode", "w"]])
        self.assertFault(2, self.x.xend.domain.device_create, name,
                         ["vbd", ["uname", "file:" + os.path.join(self.daemon.dir, "nope")],
                          ["dev", "xvdc"], ["mode", "w"]])
        self.assertFault(2, self.x.xend.domain.device_create, name,
                         ["vif", ["mac", "00:16:3e:aa:bb:cc"]])
        self.assertFault(2, self.x.xend.domain.device_create, name, ["vtpm"])
        self.assertFault(2, self.x.xend.domain.device_create, name, [])
        self.assertFault(2, self.x.xend.domain.device_create, name, ["vbd", ["dev", "xvdc"]])
        self.assertFault(2, self.x.xend.domain.device_create, "Domain-0",
                         ["vbd", ["uname", "file:" + disk], ["dev", "xvdz"], ["mode", "w"]])

        # destroyDevice: by number (string and int), by name, by /dev/name; vif by index/MAC
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vbd", "51728"))
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vbd", "/dev/hda", None))
        self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, "vbd"), [])
        self.x.xend.domain.device_create(
            name, ["vbd", ["uname", "file:" + disk], ["dev", "xvdb"], ["mode", "w"]])
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vbd", 51728))
        self.x.xend.domain.device_create(
            name, ["tap", ["uname", "tap:aio:" + disk], ["dev", "xvdc"], ["mode", "w"]])
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "tap", "xvdc", "--force"))
        self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, "vbd"), [])
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vif", generated_mac))
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vif", "0"))
        self.assertEqual(self.x.xend.domain.getDeviceSxprs(name, "vif"), [])
        for cls, dev in (("vbd", "51728"), ("vbd", "xvdq"), ("vif", "0"), ("vif", "xvda"),
                         ("vbd", "0"), ("pci", "0")):
            with self.subTest(cls=cls, dev=dev):
                self.assertFault(2, self.x.xend.domain.destroyDevice, name, cls, dev)

    def test_devid_numbering(self):
        """Xen's virtual-device numbers (blkif.py blkdev_name_to_number) through
        device_create on a defined (not running) domain: config-only attach, domid -1."""
        name = self.define("ids", disks=[])
        expect = {
            "xvda": 202 * 256, "xvda1": 202 * 256 + 1, "xvdb": 202 * 256 + 16,
            "xvdp15": 202 * 256 + 15 * 16 + 15, "xvdq": (1 << 28) + 16 * 256,
            "xvdaa": (1 << 28) + 26 * 256,
            "hda": 3 * 256, "hdb": 3 * 256 + 64, "hdc": 22 * 256, "hdd": 22 * 256 + 64,
            "hda5": 3 * 256 + 5, "hdt": 91 * 256 + 64,
            "sda": 8 * 256, "sda1": 8 * 256 + 1, "sdb": 8 * 256 + 16, "sdp": 8 * 256 + 240,
            "sdq": 65 * 256, "sdaa": 65 * 256 + 160,
            "vda": 254 * 256, "vdb": 254 * 256 + 16, "vda2": 254 * 256 + 2,
        }
        disk = self.disk()
        for dev, devid in expect.items():
            with self.subTest(dev=dev):
                r = self.x.xend.domain.device_create(
                    name, ["vbd", ["uname", "file:" + disk], ["dev", dev], ["mode", "r"]])
                self.assertEqual(r, ["vbd", ["dom", "-1", "id", str(devid)]])
        listed = self.x.xend.domain.getDeviceSxprs(name, "vbd")
        self.assertEqual([int(d[0]) for d in listed], list(expect.values()))
        for devid, props in listed:
            p = pairs(props)
            self.assertNotIn("state", p, "a domain that does not run has no frontend")
            self.assertEqual(p["virtual-device"], devid)
        # an id and its name refer to the same disk
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vbd", str(8 * 256 + 16)))
        self.assertIsNone(self.x.xend.domain.destroyDevice(name, "vbd", "xvdq"))
        left = [d[0] for d in self.x.xend.domain.getDeviceSxprs(name, "vbd")]
        self.assertNotIn(str(8 * 256 + 16), left)
        self.assertNotIn(str((1 << 28) + 16 * 256), left)
        self.assertEqual(len(left), len(expect) - 2)

    # ---- save, restore ----

    def test_save_restore(self):
        name, sxp = self.create("sr")
        uuid = child(sxp, "uuid")
        path = os.path.join(self.daemon.dir, name + ".save")
        self.assertFault(2, self.x.xend.domain.save, name, "relative.save")
        self.assertFault(2, self.x.xend.domain.save, name, path, True)  # checkpoint
        self.assertIsNone(self.x.xend.domain.save(name, path))
        self.assertTrue(os.path.getsize(path) > 0)
        self.assertNoDomain(name, self.x.xend.domain, name)  # transient: gone
        r = self.x.xend.domain.restore(path)
        self.assertEqual(child(r, "name"), name)
        self.assertEqual(child(r, "uuid"), uuid)
        self.assertIn(child(r, "state"), ("r-----", "-b----"))
        self.assertRegex(child(r, "domid"), r"^\d+$")
        # save with the numeric id and the 3-argument form xm 3.1+ sent
        self.assertIsNone(self.x.xend.domain.save(int(child(r, "domid")), path, False))
        r = self.x.xend.domain.restore(path, True)
        self.assertEqual(child(r, "state"), "--p---")
        self.assertFault(2, self.x.xend.domain.restore, path)  # it is running again
        self.assertFault(2, self.x.xend.domain.restore,
                         os.path.join(self.daemon.dir, "no-such.save"))
        self.assertFault(2, self.x.xend.domain.restore, "relative.save")
        junk = self.disk("junk.save", 100)
        self.assertFault(2, self.x.xend.domain.restore, junk)
        self.assertFault(2, self.x.xend.domain.save, "Domain-0", path)

    # ---- managed domains: new, start, suspend, resume, shutdown, delete ----

    def test_managed_lifecycle(self):
        name = self.define("man")
        sxp = self.x.xend.domain(name)
        self.assertIsNone(child(sxp, "domid"))
        self.assertEqual(child(sxp, "state"), "------")
        self.assertIn(name, self.names("halted"))
        # redefining needs the same uuid; another domain of the same name is refused
        f = self.assertFault(2, self.x.xend.domain.new, self.config(name, memory=80))
        self.assertIn(name, f.faultString)
        self.assertIsNone(self.x.xend.domain.new(
            self.config(name, memory=80, disks=[], extra=[["uuid", child(sxp, "uuid")]])))
        self.assertEqual(child(self.x.xend.domain(name), "memory"), "80")
        self.assertIsNone(self.x.xend.domain.start(name))
        self.assertEqual(self.state(name), "--p---", "Xend's start defaulted to paused")
        self.assertFault(2, self.x.xend.domain.start, name)  # already running
        self.assertIsNone(self.x.xend.domain.destroy(name))
        self.assertEqual(self.state(name), "------")  # persistent: still there
        self.assertIsNone(self.x.xend.domain.start(name, False))
        self.assertIn(self.state(name), ("r-----", "-b----"))
        f = self.assertFault(2, self.x.xend.domain.delete, name)
        self.assertEqual(f.faultString, f"Domain '{name}' is not halted.")

        # suspend / resume (managed save)
        self.assertIsNone(self.x.xend.domain.suspend(name))
        self.assertIn(name, self.names("suspended"))
        self.assertIn(name, self.x.xend.domains_with_state(False, 3, 0))
        self.assertEqual(child(self.x.xend.domain(name), "shutdown_reason"), "suspend")
        self.assertFault(2, self.x.xend.domain.delete, name)  # would lose the image
        self.assertFault(2, self.x.xend.domain.suspend, name)
        self.assertIsNone(self.x.xend.domain.resume(name))
        self.assertIn(name, self.names("running"))
        self.assertFault(2, self.x.xend.domain.resume, name)
        self.assertIsNone(self.x.xend.domain.suspend(name))
        self.assertIsNone(self.x.xend.domain.resume(name, True))
        self.assertIn(name, self.names("paused"))
        self.assertIsNone(self.x.xend.domain.unpause(name))

        # shutdown with each reason
        self.assertIsNone(self.x.xend.domain.shutdown(name, "poweroff"))
        self.assertTrue(wait_for(lambda: name in self.names("halted"), WAIT),
                        self.state(name))
        self.assertEqual(child(self.x.xend.domain(name), "shutdown_reason"), "poweroff")
        self.assertFault(2, self.x.xend.domain.shutdown, name, "poweroff")  # not running

        self.x.xend.domain.start(name, False)
        self.assertIsNone(self.x.xend.domain.shutdown(name, "halt"))
        self.assertTrue(wait_for(lambda: name in self.names("halted"), WAIT))

        self.x.xend.domain.start(name, False)
        domid = child(self.x.xend.domain(name), "domid")
        self.assertIsNone(self.x.xend.domain.shutdown(name, "reboot"))
        self.assertTrue(wait_for(
            lambda: self.x.domain.lookup(name)["reason"] == "rebooted", WAIT))
        self.assertIn(name, self.names("running"))
        self.assertEqual(child(self.x.xend.domain(name), "domid"), domid)

        self.assertIsNone(self.x.xend.domain.shutdown(int(domid), "suspend"))
        self.assertIn(name, self.names("suspended"))
        self.x.xend.domain.resume(name)

        f = self.assertFault(2, self.x.xend.domain.shutdown, name, "crash")
        self.assertIn("not supported", f.faultString)
        f = self.assertFault(2, self.x.xend.domain.shutdown, name, "sleep")
        self.assertIn("Invalid reason", f.faultString)
        self.assertIn(name, self.names("running"))

        self.assertIsNone(self.x.xend.domain.destroy(name))
        self.assertIsNone(self.x.xend.domain.delete(name))
        self.assertNoDomain(name, self.x.xend.domain, name)
        self.assertNoDomain(name, self.x.xend.domain.delete, name)
        self.assertFault(2, self.x.xend.domain.delete, "Domain-0")

    def test_transient_suspend_refused(self):
        name, _ = self.create("ts")
        f = self.assertFault(2, self.x.xend.domain.suspend, name)
        self.assertIn("transient", f.faultString)
        self.assertFault(2, self.x.xend.domain.shutdown, name, "suspend")
        self.assertFault(2, self.x.xend.domain.delete, name)  # running
        self.assertIsNone(self.x.xend.domain.shutdown(name, "poweroff"))
        self.assertTrue(wait_for(lambda: name not in self.names("all"), WAIT))

    def test_inactive_domain_calls(self):
        name = self.define("ina")
        for fn, args in ((self.x.xend.domain.pause, ()), (self.x.xend.domain.unpause, ()),
                         (self.x.xend.domain.destroy, ()),
                         (self.x.xend.domain.getVCPUInfo, ()),
                         (self.x.xend.domain.send_sysrq, ("s",)),
                         (self.x.xend.domain.pincpu, (0, [0])),
                         (self.x.xend.domain.suspend, ()), (self.x.xend.domain.resume, ()),
                         (self.x.xend.domain.save, ("/tmp/x.save",)),
                         (self.x.xend.domain.migrate, ("localhost",))):
            with self.subTest(fn=fn):
                f = self.assertFault(2, fn, name, *args)
                self.assertTrue(f.faultString)
        # changes to the configuration of a defined domain work
        self.assertIsNone(self.x.xend.domain.setMemoryTarget(name, 32))
        self.assertEqual(child(self.x.xend.domain(name), "memory"), "32")
        self.assertEqual(self.x.xend.domain.maxmem_set(name, 128), 0)
        self.assertEqual(child(self.x.xend.domain(name), "maxmem"), "128")
        self.assertIsNone(self.x.xend.domain.setVCpuCount(name, 1))
        self.assertEqual(child(self.x.xend.domain(name), "online_vcpus"), "1")
        new = self.name("inb")
        self.addCleanup(self.cleanup, new)
        self.assertIsNone(self.x.xend.domain.setName(name, new))
        self.assertIn(new, self.names("halted"))

    # ---- faults ----

    def test_missing_domain_is_fault_3(self):
        disk = self.disk()
        vbd = ["vbd", ["uname", "file:" + disk], ["dev", "xvdb"], ["mode", "w"]]
        x = self.x.xend
        calls = [
            (x.domain, ()), (x.domain, (1,)), (x.domain.start, ()), (x.domain.start, (False,)),
            (x.domain.delete, ()), (x.domain.pause, ()), (x.domain.unpause, ()),
            (x.domain.destroy, ()), (x.domain.shutdown, ("poweroff",)),
            (x.domain.shutdown, ("reboot",)), (x.domain.shutdown, ("halt",)),
            (x.domain.shutdown, ("suspend",)), (x.domain.save, ("/tmp/nothing.save",)),
            (x.domain.suspend, ()), (x.domain.resume, ()), (x.domain.waitForDevices, ()),
            (x.domain.setMemoryTarget, (64,)), (x.domain.maxmem_set, (64,)),
            (x.domain.setVCpuCount, (1,)), (x.domain.pincpu, (0, [0])),
            (x.domain.pincpu, ("all", "0")), (x.domain.getVCPUInfo, ()),
            (x.domain.device_create, (vbd,)), (x.domain.destroyDevice, ("vbd", "xvda")),
            (x.domain.getDeviceSxprs, ("vbd",)), (x.domain.send_sysrq, ("s",)),
            (x.domain.setName, ("newname",)), (x.domain.migrate, ("localhost",)),
            (x.domain.migrate, ("localhost", True, 0, 0)),
        ]
        for dom in ("no-such-domain", "4242", "6f0e3b8e-0000-4000-8000-000000000000"):
            for fn, args in calls:
                with self.subTest(dom=dom, fn=fn, args=args):
                    self.assertNoDomain(dom, fn, dom, *args)
        # numeric ids sent as XML-RPC ints, where Xend's clients did that
        for fn, args in ((x.domain, ()), (x.domain.pause, ()), (x.domain.destroy, ()),
                         (x.domain.shutdown, ("poweroff",)), (x.domain.getVCPUInfo, ()),
                         (x.domain.setMemoryTarget, (64,)), (x.domain.setName, ("n",)),
                         (x.domain.getDeviceSxprs, ("vif",))):
            with self.subTest(fn=fn, dom=4243):
                self.assertNoDomain(4243, fn, 4243, *args)

    def test_wrong_arguments_are_protocol_faults(self):
        x = self.x.xend
        for fn, args in ((x.domain, ()), (x.domain, ([],)), (x.domain.pause, ()),
                         (x.domain.pause, ("a", "b")), (x.domain.shutdown, ("a",)),
                         (x.domain.setMemoryTarget, ("a", "64")), (x.domain.create, ()),
                         (x.node.info, (1,)), (x.domain.pincpu, ("a", 0, {})),
                         (x.domain.destroyDevice, ("a", "vbd", 1.5)),
                         (x.domain.migrate, ("a", "b", True, 0))):
            with self.subTest(fn=fn, args=args):
                self.assertFault(INVALID_PARAMS, fn, *args)

    def test_failures_are_fault_2_not_1(self):
        """Fault 1 is for internal errors only, which no request can cause on purpose: every
        refusal of the v1 layer (invalid state, argument, config, name, access to a disk,
        unsupported) arrives as 2 with the v1 message."""
        disk = self.disk()
        name, _ = self.create("f2")
        cases = [(self.x.xend.domain.pause, ("Domain-0",), "Domain-0"),
                 (self.x.xend.domain.create, (["vm"],), "name"),
                 (self.x.xend.domains_with_state, (True, "x", 0), "state"),
                 (self.x.xend.domain.setName, (name, "1234"), "1234"),
                 (self.x.xend.domain.start, (name,), name),
                 (self.x.xend.domain.device_create,
                  (name, ["vbd", ["uname", "file:" + disk + ".missing"], ["dev", "xvdc"],
                          ["mode", "w"]]), "missing")]
        for fn, args, text in cases:
            with self.subTest(fn=fn, args=args):
                f = self.assertFault(2, fn, *args)
                self.assertIn(text, f.faultString)

    # ---- migration ----

    def test_migrate(self):
        other = Daemon().start()
        self.addCleanup(other.stop)
        ox = other.proxy()
        self.addCleanup(ox("close"))
        name, sxp = self.create("mig")
        # a host name means http://HOST:PORT/ (nothing listens there: fault 2)
        closed = xendtest.free_tcp_port()
        f = self.assertFault(2, self.x.xend.domain.migrate, name, "localhost", False, 0, closed)
        self.assertIn(f"http://localhost:{closed}/", f.faultString)
        f = self.assertFault(2, self.x.xend.domain.migrate, name, f"127.0.0.1:{closed}")
        self.assertIn(f"http://127.0.0.1:{closed}/", f.faultString)
        for bad in ("bad host!", "", "host:0", "host:99999", "ftp://x/"):
            with self.subTest(dst=bad):
                self.assertFault(2, self.x.xend.domain.migrate, name, bad)
        self.assertIn(name, self.names("running"))
        # to the other xend's Unix socket, as xm 3.0.3 sent it: (dom, dst, live, resource, port)
        self.assertIsNone(self.x.xend.domain.migrate(name, "unix://" + other.socket, 1, 0, 0))
        self.assertNoDomain(name, self.x.xend.domain, name)
        there = ox.xend.domain(name)
        self.assertEqual(child(there, "uuid"), child(sxp, "uuid"))
        self.assertIn(child(there, "state"), ("r-----", "-b----"))
        self.assertIsNone(ox.xend.domain.migrate(name, "unix://" + self.daemon.socket, True))
        self.assertEqual(child(self.x.xend.domain(name), "uuid"), child(sxp, "uuid"))
        self.assertNoDomain(name, ox.xend.domain, name)

    # ---- the table ----

    def test_introspection(self):
        methods = self.x.system.listMethods()
        for m in COMPAT_METHODS:
            with self.subTest(method=m):
                self.assertIn(m, methods)
                text = self.x.system.methodHelp(m)
                self.assertIn("Xend", text)
                self.assertIn("xend", text.replace("Xend", ""))
                sigs = self.x.system.methodSignature(m)
                self.assertTrue(sigs)
        self.assertEqual([m for m in methods if m.startswith("xend.")], sorted(COMPAT_METHODS))


if __name__ == "__main__":
    xendtest.main()
