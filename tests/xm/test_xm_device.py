"""xm's device commands end to end: the real xm binary against a real xend on the simulated
host. block-attach (phy:, file:, tap:aio:, tap:qcow2:, modes r/w/w!, cdroms, XML-escaped
paths), block-detach by name and by Xen device number, block-list (Xen's device numbers,
nothing at all for a diskless domain, -l against xend.domain.getDeviceSxprs, --json),
network-attach with Xen's vif options, network-detach by index and MAC, network-list;
device effects checked with domain.devices, failures with their exact `Error: ...` line and
exit status 1."""
import os
import unittest

import xendtest
from xendtest import domain_xml, make_disk
from test_xm_list import XmTestBase, sxp_parse_all, xm_run

BLOCK_HEADER = "Vdev  BE handle state evt-ch ring-ref BE-path"
NET_HEADER = "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path"


def block_row(devnum, domid):
    path = f"/local/domain/0/backend/vbd/{domid}/{devnum}" if domid >= 0 else "-"
    return "%-5d %3d %6d %5d %6d %8d  %s" % (devnum, 0, 0, 4 if domid >= 0 else 6, -1, -1,
                                              path)


def net_row(idx, mac, domid):
    path = f"/local/domain/0/backend/vif/{domid}/{idx}" if domid >= 0 else "-"
    return "%-3d %-2d %-17s %6d %5d %6d %7d/%-7d %s" % (idx, 0, mac, idx,
                                                        4 if domid >= 0 else 6, -1, -1, -1,
                                                        path)


class DeviceTestBase(XmTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.images = os.path.join(cls.d.dir, "images")
        os.makedirs(cls.images)
        cls.n = 0

    def image(self, name=None):
        type(self).n += 1
        return make_disk(self.images, name or f"disk{self.n}.img")

    def running(self, name, **kw):
        self.p.domain.define(domain_xml(name, **kw))
        return self.p.domain.start(name, False)["id"]

    def devices(self, dom, kind):
        return [d for d in self.p.domain.devices(dom) if d["kind"] == kind]


class BlockTests(DeviceTestBase):
    def test_diskless_domain_lists_nothing(self):
        self.running("b-none")
        for args in (["block-list", "b-none"], ["block-list", "-l", "b-none"],
                     ["block-list", "b-none", "--long"]):
            p = self.xm(*args)
            self.assertEqual(p.stdout, "", args)  # xm-test 04_block-list_nodb_pos
        self.assertEqual(self.xm_json("block-list", "b-none"), [])

    def test_attach_phy_list_detach_by_number(self):
        domid = self.running("b-phy")
        img = self.image()
        p = self.xm("block-attach", "b-phy", "phy:" + img, "xvda1", "w")
        self.assertEqual(p.stdout, "")
        disks = self.devices("b-phy", "disk")
        self.assertEqual(len(disks), 1)
        d = disks[0]
        self.assertEqual((d["target"], d["source"], d["type"], d["device"], d["format"]),
                         ("xvda1", img, "block", "disk", "raw"))
        self.assertEqual((d["readonly"], d["shareable"]), (False, False))
        out = self.xm("block-list", "b-phy").stdout
        self.assertEqual(out, BLOCK_HEADER + "\n" + block_row(51713, domid) + "\n")
        # xm-test's block_attach helper: awk '/^51713/ {print $4}' is the state, 4
        line = next(ln for ln in out.splitlines() if ln.startswith("51713"))
        self.assertEqual(line.split()[3], "4")
        self.assertEqual(self.xm("block-detach", "b-phy", "51713").stdout, "")
        self.assertEqual(self.devices("b-phy", "disk"), [])
        self.assertEqual(self.xm("block-list", "b-phy").stdout, "")

    def test_attach_file_and_tap_then_detach_by_name(self):
        self.running("b-file")
        imgs = [self.image() for _ in range(3)]
        self.xm("block-attach", "b-file", "file:" + imgs[0], "xvdb", "r")
        self.xm("block-attach", "b-file", "tap:aio:" + imgs[1], "hdb", "w!")
        self.xm("block-attach", "b-file", "tap:qcow2:" + imgs[2], "sdb", "w")
        got = {d["target"]: d for d in self.devices("b-file", "disk")}
        self.assertEqual(sorted(got), ["hdb", "sdb", "xvdb"])
        want = {"xvdb": (imgs[0], "file", "raw", True, False),
                "hdb": (imgs[1], "file", "raw", False, True),
                "sdb": (imgs[2], "file", "qcow2", False, False)}
        for t, (src, typ, fmt, ro, sh) in want.items():
            d = got[t]
            self.assertEqual((d["source"], d["type"], d["format"], d["readonly"],
                              d["shareable"]), (src, typ, fmt, ro, sh), t)
        self.xm("block-detach", "b-file", "hdb")
        self.xm("block-detach", "b-file", "/dev/sdb")
        self.assertEqual([d["target"] for d in self.devices("b-file", "disk")], ["xvdb"])

    def test_phy_short_name_means_dev(self):
        self.running("b-short")
        self.xm("block-attach", "b-short", "phy:null", "xvdc", "w!")
        (d,) = self.devices("b-short", "disk")
        self.assertEqual((d["source"], d["type"]), ("/dev/null", "block"))

    def test_relative_path_is_made_absolute(self):
        self.running("b-rel")
        self.image("relative.img")
        cwd = os.getcwd()
        os.chdir(self.images)
        try:
            self.xm("block-attach", "b-rel", "file:relative.img", "xvdd", "w")
        finally:
            os.chdir(cwd)
        (d,) = self.devices("b-rel", "disk")
        self.assertEqual(d["source"], os.path.join(self.images, "relative.img"))

    def test_values_are_xml_escaped(self):
        self.running("b-esc")
        img = self.image("a&b'c\"<d>.img")
        self.xm("block-attach", "b-esc", "file:" + img, "xvde", "w")
        (d,) = self.devices("b-esc", "disk")
        self.assertEqual(d["source"], img)

    def test_cdrom(self):
        self.running("b-cd")
        img = self.image()
        self.xm("block-attach", "b-cd", "file:" + img, "hdc:cdrom", "r")
        (d,) = self.devices("b-cd", "disk")
        self.assertEqual((d["target"], d["device"], d["readonly"]), ("hdc", "cdrom", True))
        (rec,) = sxp_parse_all(self.xm("block-list", "-l", "b-cd").stdout)
        self.assertIn(["dev", "hdc:cdrom"], rec[1])
        self.assertIn(["device-type", "cdrom"], rec[1])

    def test_device_numbers(self):
        domid = self.running("b-num")
        want = {"xvda1": 51713, "xvdb": 51728, "hda": 768, "hdb": 832, "hdc": 5632,
                "hdd": 5696, "sda": 2048, "sdb2": 2066, "vdb": 65040}
        for target in want:
            self.xm("block-attach", "b-num", "file:" + self.image(), target, "w")
        out = self.xm("block-list", "b-num").stdout.splitlines()
        self.assertEqual(out[0], BLOCK_HEADER)
        order = [d["target"] for d in self.devices("b-num", "disk")]
        self.assertEqual(out[1:], [block_row(want[t], domid) for t in order])
        # the same numbers as the compatibility call's
        compat = self.p.xend.domain.getDeviceSxprs("b-num", "vbd")
        self.assertEqual([int(e[0]) for e in compat], [want[t] for t in order])
        # and each detaches by its number
        self.xm("block-detach", "b-num", "5632")
        self.xm("block-detach", "b-num", "2066")
        left = [d["target"] for d in self.devices("b-num", "disk")]
        self.assertNotIn("hdc", left)
        self.assertNotIn("sdb2", left)
        self.assertEqual(len(left), len(want) - 2)

    def test_long_is_xends_device_sxp(self):
        self.running("b-long")
        self.xm("block-attach", "b-long", "phy:" + self.image(), "xvda1", "w")
        self.xm("block-attach", "b-long", "tap:qcow2:" + self.image(), "xvdb", "r")
        out = self.xm("block-list", "-l", "b-long").stdout
        self.assertTrue(out.startswith("(51713\n    ((backend-id 0)\n"), out)
        self.assertEqual(sxp_parse_all(out), self.p.xend.domain.getDeviceSxprs("b-long", "vbd"))
        self.assertEqual(sxp_parse_all(self.xm("block-list", "--long", "b-long").stdout),
                         sxp_parse_all(out))

    def test_json_is_the_disk_devices(self):
        self.running("b-json")
        self.xm("block-attach", "b-json", "file:" + self.image(), "xvda", "w")
        self.p.domain.attach_device("b-json", "<interface type='user'/>")
        got = self.xm_json("block-list", "b-json")
        self.assertEqual(got, self.devices("b-json", "disk"))
        self.assertEqual(len(got), 1)

    def test_inactive_domain(self):
        img = self.image()
        self.p.domain.define(domain_xml("b-off", disks=[img]))
        self.assertEqual(self.xm("block-list", "b-off").stdout,
                         BLOCK_HEADER + "\n" + block_row(65024, -1) + "\n")
        (rec,) = sxp_parse_all(self.xm("block-list", "-l", "b-off").stdout)
        self.assertEqual(rec, self.p.xend.domain.getDeviceSxprs("b-off", "vbd")[0])
        # attaching to a stopped domain changes its configuration
        self.xm("block-attach", "b-off", "file:" + self.image(), "vdb", "w")
        self.assertEqual([d["target"] for d in self.devices("b-off", "disk")], ["vda", "vdb"])
        self.xm("block-detach", "b-off", "vdb")
        self.assertEqual([d["target"] for d in self.devices("b-off", "disk")], ["vda"])

    def test_attach_errors(self):
        self.running("b-err")
        img = self.image()
        usage = "Usage: xm block-attach <Domain> <BackDev> <FrontDev> <Mode>"
        for args, error in [
                (["b-err", "phy:" + img, "xvda", "rw"],
                 "Error: Invalid mode 'rw' (r for read-only, w for read-write or w! for shared "
                 "read-write)."),
                (["b-err", img, "xvda", "w"],
                 f"Error: Invalid block device '{img}' (expected phy:DEVICE, file:PATH, "
                 "tap:aio:PATH or tap:qcow2:PATH)."),
                (["b-err", "file:", "xvda", "w"],
                 "Error: Invalid block device 'file:' (expected phy:DEVICE, file:PATH, "
                 "tap:aio:PATH or tap:qcow2:PATH)."),
                (["b-err", "file:" + img, "xvda:floppy", "w"],
                 "Error: Invalid virtual device 'xvda:floppy' (a name like xvda1, hdb or vdb, "
                 "optionally with :cdrom)."),
                (["b-err", "phy:" + img, "xvda"],
                 "Error: 'xm block-attach' requires 4 arguments."),
                (["-x", "b-err", "phy:" + img, "xvda", "w"],
                 "Error: option -x not recognized")]:
            p = self.xm_error("block-attach", *args, error=error, usage=True)
            self.assertIn(usage, p.stderr)
        # faults: one line, no usage (xm-test 06, 07, 08)
        self.xm_error("block-attach", "NOT-EXIST", "phy:" + img, "xvda1", "w",
                      error="Error: Domain 'NOT-EXIST' does not exist.")
        p = self.xm_error("block-attach", "b-err", "phy:/dev/NOT-EXIST", "xvda1", "w")
        self.assertIn("/dev/NOT-EXIST", p.stderr)
        self.xm_error("block-attach", "b-err", "file:/dev/NOT-EXIST", "xvda1", "w")
        self.assertEqual(self.devices("b-err", "disk"), [])
        # a second device with the same name fails (xm-test 04)
        self.xm("block-attach", "b-err", "phy:" + img, "xvda1", "w")
        self.xm_error("block-attach", "b-err", "phy:" + self.image(), "xvda1", "w")
        self.assertEqual(len(self.devices("b-err", "disk")), 1)

    def test_detach_and_list_errors(self):
        self.running("b-derr")
        self.xm_error("block-detach", "b-derr", "xvda1",
                      error="Error: Domain 'b-derr' has no block device 'xvda1'.")
        self.xm_error("block-detach", "b-derr", "51800",
                      error="Error: Domain 'b-derr' has no block device '51800'.")
        # xm-test 03_block-destroy_nonexist_neg and 05_block-list_nonexist_neg
        self.xm_error("block-detach", "9999", "769",
                      error="Error: Domain '9999' does not exist.")
        self.xm_error("block-list", "9999", error="Error: Domain '9999' does not exist.")
        self.xm_error("block-detach", "b-derr",
                      error="Error: 'xm block-detach' requires 2 arguments.", usage=True)
        self.xm_error("block-list", error="Error: 'xm block-list' requires 1 argument.",
                      usage=True)
        self.xm_error("block-list", "-x", "b-derr", error="Error: option -x not recognized",
                      usage=True)

    def test_name_of_another_device_is_not_detached(self):
        self.running("b-nic", nics=["52:54:00:aa:bb:01"])
        self.xm_error("block-detach", "b-nic", "52:54:00:aa:bb:01",
                      error="Error: Domain 'b-nic' has no block device '52:54:00:aa:bb:01'.")
        self.assertEqual(len(self.devices("b-nic", "interface")), 1)


class NetworkTests(DeviceTestBase):
    def test_nicless_domain_lists_nothing(self):
        self.running("n-none")
        self.assertEqual(self.xm("network-list", "n-none").stdout, "")
        self.assertEqual(self.xm("network-list", "-l", "n-none").stdout, "")
        self.assertEqual(self.xm_json("network-list", "n-none"), [])

    def test_attach_default_list_detach_by_index(self):
        domid = self.running("n-def")
        self.assertEqual(self.xm("network-attach", "n-def").stdout, "")
        (nic,) = self.devices("n-def", "interface")
        self.assertEqual((nic["type"], nic["source"], nic["model"]), ("user", "", ""))
        out = self.xm("network-list", "n-def").stdout
        self.assertEqual(out, NET_HEADER + "\n" + net_row(0, nic["mac"], domid) + "\n")
        self.xm("network-detach", "n-def", "0")
        self.assertEqual(self.devices("n-def", "interface"), [])
        self.assertEqual(self.xm("network-list", "n-def").stdout, "")

    def test_attach_options_and_detach_by_mac(self):
        self.running("n-opt")
        self.xm("network-attach", "n-opt", "mac=52:54:00:12:34:56", "bridge=br0",
                "model=virtio")
        self.xm("network-attach", "n-opt", "--mac=52:54:00:12:34:57", "--model", "e1000")
        nics = self.devices("n-opt", "interface")
        self.assertEqual([(n["mac"], n["type"], n["source"], n["model"]) for n in nics],
                         [("52:54:00:12:34:56", "bridge", "br0", "virtio"),
                          ("52:54:00:12:34:57", "user", "", "e1000")])
        self.xm("network-detach", "n-opt", "52:54:00:12:34:56")
        self.assertEqual([n["mac"] for n in self.devices("n-opt", "interface")],
                         ["52:54:00:12:34:57"])

    def test_unused_options_warn(self):
        self.running("n-warn")
        p = xm_run("network-attach", "n-warn", "ip=10.0.0.2", "script=vif-bridge",
                   "vifname=vif9.0", "type=ioemu", daemon=self.d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.splitlines(), [
            f"Warning: vif option '{k}' is accepted but not used by xend."
            for k in ("ip", "script", "type", "vifname")])
        self.assertEqual(len(self.devices("n-warn", "interface")), 1)

    def test_attach_errors(self):
        self.running("n-err")
        usage = "Usage: xm network-attach <Domain>"
        for args, error in [(["n-err", "foo=bar"], "Error: Invalid vif option: foo"),
                            (["n-err", "mac=52:54:00:00:00:09", "colour=red"],
                             "Error: Invalid vif option: colour"),
                            (["n-err", "junk"], "Error: Invalid argument: junk"),
                            (["n-err", "mac="], "Error: Invalid argument: mac="),
                            (["n-err", "--colour=red"],
                             "Error: option --colour not recognized"),
                            ([], "Error: 'xm network-attach' requires at least 1 argument.")]:
            p = self.xm_error("network-attach", *args, error=error, usage=True)
            self.assertIn(usage, p.stderr)
        self.xm_error("network-attach", "NOT-EXIST",
                      error="Error: Domain 'NOT-EXIST' does not exist.")
        # what the server refuses: a malformed MAC, a bridge name with a quote (escaped,
        # so it reaches the server as the name it is)
        self.xm_error("network-attach", "n-err", "mac=52:54:00:zz:00:01")
        p = self.xm_error("network-attach", "n-err", "bridge=br'0")
        self.assertIn("br'0", p.stderr)
        self.assertEqual(self.devices("n-err", "interface"), [])

    def test_detach_and_list_errors(self):
        self.running("n-derr", nics=["52:54:00:aa:bb:02"])
        self.xm_error("network-detach", "n-derr", "vda",
                      error="Error: Invalid network device 'vda' (an index like 0 or a MAC "
                      "address).", usage=True)
        p = self.xm_error("network-detach", "n-derr", "7")
        self.assertIn("7", p.stderr)
        self.xm_error("network-detach", "NOT-EXIST", "0",
                      error="Error: Domain 'NOT-EXIST' does not exist.")
        self.xm_error("network-detach", "n-derr",
                      error="Error: 'xm network-detach' requires 2 arguments.", usage=True)
        self.xm_error("network-list", "NOT-EXIST",
                      error="Error: Domain 'NOT-EXIST' does not exist.")
        self.assertEqual(len(self.devices("n-derr", "interface")), 1)

    def test_long_and_json(self):
        self.running("n-long", nics=[{"mac": "52:54:00:aa:bb:03", "type": "bridge",
                                       "source": "xenbr0", "model": "virtio"},
                                      "52:54:00:aa:bb:04"])
        out = self.xm("network-list", "-l", "n-long").stdout
        self.assertTrue(out.startswith("(0\n    ((backend-id 0)\n"), out)
        self.assertEqual(sxp_parse_all(out), self.p.xend.domain.getDeviceSxprs("n-long", "vif"))
        self.assertEqual(self.xm_json("network-list", "n-long"),
                         self.devices("n-long", "interface"))

    def test_inactive_domain(self):
        self.p.domain.define(domain_xml("n-off", nics=["52:54:00:aa:bb:05"]))
        self.assertEqual(self.xm("network-list", "n-off").stdout,
                         NET_HEADER + "\n" + net_row(0, "52:54:00:aa:bb:05", -1) + "\n")
        self.xm("network-attach", "n-off", "mac=52:54:00:aa:bb:06")
        self.assertEqual([n["mac"] for n in self.devices("n-off", "interface")],
                         ["52:54:00:aa:bb:05", "52:54:00:aa:bb:06"])

    def test_deprecated_alias(self):
        self.running("n-alias", nics=["52:54:00:aa:bb:07"])
        p = xm_run("vif-list", "n-alias", daemon=self.d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.xm("network-list", "n-alias").stdout)


if __name__ == "__main__":
    xendtest.main()
