#!/usr/bin/env python3
"""What the qemu driver refuses, and how: node.info describes QEMU under TCG; a start that
QEMU itself refuses (a qcow2 disk whose backing file is missing) fails with a fault quoting
QEMU's own error, the domain stays shut off and no QEMU process is left (a disk path that
does not exist is refused by xend before QEMU runs, the same way); a sata disk is
UNSUPPORTED at start and at attach; values that would be option injection in QEMU's
command line (commas and '=' in a disk path; a name: its comma would be doubled, but
xend's names cannot hold one) are either refused or reach QEMU intact; the refusals of
calls on a running guest leave it running; as root with user = nobody in the host config,
QEMU runs as nobody."""
import os
import shutil
import subprocess
import unittest

import xendtest
from xendtest import make_disk
from qemutest import (DISK_ACCESS, INVALID_ARG, NO_DEVICE, OPERATION_INVALID, UNSUPPORTED,
                      QemuTestCase, boot_guest, guest_xml, main, qemu_pid, qemu_pids)

INVALID_NAME = 21
QEMU_IMG = shutil.which("qemu-img")


def make_qcow2_with_backing(path, backing):
    """A qcow2 overlay on a raw backing file that need not exist (qemu-img -u)."""
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", backing,
                    path, "1M"], check=True, capture_output=True, timeout=60)


def disk_element(source, target="vda", bus="virtio", fmt="raw"):
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/>"
            f"<source file='{source}'/><target dev='{target}' bus='{bus}'/></disk>")


class StartFaultTests(QemuTestCase):

    def assertStartFails(self, name, code, contains=()):
        f = self.assertFault(code, self.p.domain.start, name, contains=contains)
        r = self.row(name)
        self.assertEqual((r["state"], r["id"]), ("shutoff", -1))
        self.assertEqual(qemu_pids(self.daemon.dir), [], "a QEMU process was left")
        return f

    def test_node_info(self):
        info = self.p.node.info()
        self.assertEqual(info["hypervisor"], "qemu")
        self.assertEqual(info["accel"], "tcg")
        self.assertEqual(info["driver"], "qemu")
        self.assertRegex(info["hypervisor_version"], r"^\d+\.\d+")
        self.assertGreater(info["cpus"], 0)
        self.assertIn("qemu", self.p.daemon.version()["drivers"])

    def test_missing_disk(self):
        name = self.uniq("f-nodisk")
        path = os.path.join(self.daemon.dir, "no-such-disk.img")
        self.p.domain.define(guest_xml(name, devices_extra=disk_element(path)))
        f = self.assertStartFails(name, DISK_ACCESS, contains=path)
        self.assertIn("No such file", f.faultString)

    @unittest.skipUnless(QEMU_IMG, "qemu-img is not installed")
    def test_qemu_refuses_start(self):
        """A disk xend can open but QEMU cannot use: the fault quotes QEMU."""
        name = self.uniq("f-backing")
        img = os.path.join(self.daemon.dir, "overlay.qcow2")
        missing = os.path.join(self.daemon.dir, "missing-backing.img")
        make_qcow2_with_backing(img, missing)
        self.p.domain.define(guest_xml(name, devices_extra=disk_element(img, fmt="qcow2")))
        f = xendtest.fault_of(self.p.domain.start, name)
        self.assertIsNotNone(f, "the domain started")
        r = self.row(name)
        self.assertEqual((r["state"], r["id"]), ("shutoff", -1))
        self.assertEqual(qemu_pids(self.daemon.dir), [], "a QEMU process was left")
        self.assertIn("Could not open", f.faultString)
        self.assertIn(missing, f.faultString)
        # The domain is not broken by it: with the backing file there, it boots.
        make_disk(self.daemon.dir, os.path.basename(missing), 1 << 20)
        self.p.domain.start(name)
        self.assertEqual(self.ready(name).value("cat /sys/block/vda/size"), str((1 << 20) // 512))
        self.p.domain.destroy(name)

    def test_sata_disk_unsupported(self):
        name = self.uniq("f-sata")
        disk = make_disk(self.daemon.dir, "sata.img")
        f = xendtest.fault_of(self.p.domain.define,
                              guest_xml(name, devices_extra=disk_element(disk, "sda", "sata")))
        if f is not None:
            # Refused as soon as it is defined: fine, if it says why.
            self.assertEqual(f.faultCode, UNSUPPORTED, f.faultString)
            return
        f = self.assertStartFails(name, UNSUPPORTED, contains="sata")

    def test_names_reach_qemu_intact(self):
        """A name reaches QEMU's -name option escaped (a comma doubled), so it cannot add
        options; xend's names cannot hold a comma at all (INVALID_NAME before QEMU runs)."""
        for name in ("a,b", "q:a+b.c_d-1"):
            with self.subTest(name=name):
                f = xendtest.fault_of(self.p.domain.define, guest_xml(name))
                if f is not None:
                    self.assertIn(",", name, f.faultString)
                    self.assertEqual(f.faultCode, INVALID_NAME, f.faultString)
                    self.assertIn("','", f.faultString)
                    continue
                self.assertEqual(self.p.domain.start(name, True)["state"], "paused")
                pid = qemu_pid(self.daemon, name)
                self.assertIsNotNone(pid)
                with open(f"/proc/{pid}/cmdline", "rb") as fd:
                    argv = fd.read().decode().split("\0")
                opt = argv[argv.index("-name") + 1]
                self.assertTrue(opt.startswith("guest=" + name.replace(",", ",,")), opt)
                self.assertEqual(self.p.domain.destroy(name)["state"], "shutoff")
                self.assertEqual(qemu_pids(self.daemon.dir), [])

class RunningGuestFaultTests(QemuTestCase):
    """One guest for the refusals that need a running domain; it is booted with a disk whose
    path holds commas and '=' (what would be option injection in -drive file=...)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = "f-running"
        cls.odd = os.path.join(cls.daemon.dir, "odd,file.locking=off,x=y.img")
        with open(cls.odd, "wb") as f:
            f.write(b"XENDTEST-ODD-PATH\n")
            f.truncate(1 << 20)
        cls.con = boot_guest(cls.p, cls.name, disks=[cls.odd])

    def test_disk_path_with_commas(self):
        self.assertEqual(self.con.value("head -c 17 /dev/vda; echo"), "XENDTEST-ODD-PATH")
        self.assertEqual(self.con.value("cat /sys/block/vda/size"), str((1 << 20) // 512))

    def test_sata_attach_unsupported(self):
        disk = make_disk(self.daemon.dir, "sata-hot.img")
        self.assertFault(UNSUPPORTED, self.p.domain.attach_device, self.name,
                         disk_element(disk, "sdb", "sata"), {"live": True, "config": False})
        self.assertNotIn("sdb", [d.get("target") for d in self.p.domain.devices(self.name)])
        self.assertEqual(self.con.value("echo $((7*6))"), "42")

    def test_refusals(self):
        self.assertFault(OPERATION_INVALID, self.p.domain.start, self.name)
        self.assertFault(INVALID_ARG, self.p.domain.set_vcpus, self.name, 99)
        self.assertFault(INVALID_ARG, self.p.domain.sysrq, self.name, "\u00e9")
        self.assertFault(NO_DEVICE, self.p.domain.detach_device, self.name, "vdz")
        self.assertFault(NO_DEVICE, self.p.domain.detach_device, self.name, "52:54:00:00:00:99")
        missing = os.path.join(self.daemon.dir, "absent.img")
        self.assertFault(DISK_ACCESS, self.p.domain.attach_device, self.name,
                         disk_element(missing, "vdc"))
        # None of it disturbed the guest.
        self.assertEqual(self.state(self.name), "running")
        self.assertEqual(self.con.value("echo still"), "still")



@unittest.skipUnless(os.geteuid() == 0, "QEMU can change user only when xend runs as root")
class RunAsTests(QemuTestCase):
    """host config user = nobody: QEMU opens its devices as root, then runs as nobody (every
    uid of the process), and the guest is as controllable as ever."""

    host_config = {"user": "nobody"}

    def test_qemu_runs_as_configured_user(self):
        import pwd
        uid = pwd.getpwnam("nobody").pw_uid
        con = boot_guest(self.p, "runas-guest")
        pid = qemu_pid(self.daemon, "runas-guest")
        self.assertIsNotNone(pid)
        with open(f"/proc/{pid}/status") as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        self.assertEqual(uids, [str(uid)] * 4)
        self.assertEqual(con.value("echo $((6*7))"), "42")
        self.p.domain.pause("runas-guest")
        self.p.domain.unpause("runas-guest")
        self.p.domain.destroy("runas-guest")
        self.assertEqual(self.state("runas-guest"), "shutoff")
        self.assertEqual(qemu_pids(self.daemon.dir), [])

if __name__ == "__main__":
    main()
