#!/usr/bin/env python3
"""Live changes to a running QEMU guest, each proved inside the guest: the balloon
(domain.set_memory: MemTotal in the guest's /proc/meminfo drops, and comes back), vCPU
hot-plug (domain.set_vcpus: the guest's hot-plug markers and /sys/devices/system/cpu/online;
lowering either works or is refused with OPERATION_INVALID, and the guest survives a later
raise), pinning (domain.pin_vcpu: domain.vcpu_info's affinity and the QEMU vCPU thread's own
Cpus_allowed_list), disk hot-plug (the guest's marker, /sys/block/vdb, the data the host
wrote, the block counters of domain.stats after a dd; detach: the remove marker) and NIC
hot-plug (the marker, the MAC in /sys/class/net, a ping through QEMU's user network;
detach), and a detach the guest completes only after it timed out (the definition follows
QEMU's DEVICE_DELETED). One guest serves
the whole class; each method leaves it as it found it (the vCPU one excepted, alone in
touching vCPUs)."""
import os
import re

import xendtest
from xendtest import disk_xml, make_disk, nic_xml, wait_for
from qemutest import (ASYNC, INVALID_ARG, NO_DEVICE, OPERATION_INVALID, QemuTestCase,
                      boot_guest, main, qemu_pid)


class DeviceTests(QemuTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = "dev-guest"
        cls.vda = make_disk(cls.daemon.dir, "dev-vda.img", 2 << 20)
        cls.con = boot_guest(cls.p, cls.name, memory_mib=128, vcpus=4, current_vcpus=1,
                             disks=[cls.vda])

    def setUp(self):
        self.assertEqual(self.state(self.name), "running")
        self.con.skip()

    def online_cpus(self):
        return self.con.value("cat /sys/devices/system/cpu/online")

    def test_balloon(self):
        total = self.meminfo_kb(self.con)
        r = self.p.domain.set_memory(self.name, 96 * 1024)
        self.assertEqual(r["memory"], 96 * 1024)
        self.assertEqual(self.row(self.name)["memory"], 96 * 1024)
        # The balloon takes 32 MiB from the guest: MemTotal drops by about that much.
        self.assertTrue(wait_for(lambda: self.meminfo_kb(self.con) <= total - 30 * 1024,
                                 ASYNC, 0.5), (total, self.meminfo_kb(self.con)))
        self.assertEqual(self.p.domain.stats(self.name)["memory"], 96 * 1024)
        self.assertIn("<currentMemory unit='KiB'>98304</currentMemory>",
                      self.p.domain.get_xml(self.name))
        # And gives it back.
        self.p.domain.set_memory(self.name, 128 * 1024)
        self.assertTrue(wait_for(lambda: self.meminfo_kb(self.con) >= total - 1024,
                                 ASYNC, 0.5), (total, self.meminfo_kb(self.con)))
        self.assertEqual(self.row(self.name)["memory"], 128 * 1024)
        # Above the maximum: refused; the guest keeps what it has.
        self.assertFault(INVALID_ARG, self.p.domain.set_memory, self.name, 256 * 1024)
        self.assertEqual(self.row(self.name)["memory"], 128 * 1024)

    def vcpu_thread_affinity(self, vcpu):
        """Cpus_allowed_list of QEMU's thread for vCPU n ("CPU n/TCG" with debug-threads)."""
        pid = qemu_pid(self.daemon, self.name)
        self.assertIsNotNone(pid)
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    status = f.read()
            except OSError:
                continue
            if comm.startswith(f"CPU {vcpu}/"):
                return re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.M).group(1)
        self.fail(f"no thread for vCPU {vcpu} in QEMU {pid}")

    def test_vcpus_and_pinning(self):
        pid = qemu_pid(self.daemon, self.name)
        self.assertEqual(self.online_cpus(), "0")
        r = self.p.domain.set_vcpus(self.name, 3)
        self.assertEqual(r["vcpus"], 3)
        self.con.wait("TESTGUEST-HOTPLUG add cpu cpu1 online=1", ASYNC)
        self.con.wait("TESTGUEST-HOTPLUG add cpu cpu2 online=1", ASYNC)
        self.assertEqual(self.online_cpus(), "0-2")
        self.assertEqual(self.con.value("grep -c ^processor /proc/cpuinfo"), "3")
        self.assertEqual(self.row(self.name)["vcpus"], 3)
        info = self.p.domain.vcpu_info(self.name)
        self.assertEqual([v["online"] for v in info[:3]], [True, True, True])
        self.assertTrue(all(v["cpu"] >= 0 for v in info[:3]), info)
        self.assertTrue(all(not v["online"] for v in info[3:]), info)

        # Pinning: what vcpu_info reports is what the vCPU's thread is allowed.
        host_cpus = self.p.node.info()["cpus"]
        last = host_cpus - 1
        self.assertIs(self.p.domain.pin_vcpu(self.name, 1, str(last)), True)
        self.assertEqual(self.p.domain.vcpu_info(self.name)[1]["affinity"], str(last))
        self.assertEqual(self.vcpu_thread_affinity(1), str(last))
        self.assertIs(self.p.domain.pin_vcpu(self.name, 0, "0"), True)
        self.assertEqual(self.p.domain.vcpu_info(self.name)[0]["affinity"], "0")
        self.assertEqual(self.vcpu_thread_affinity(0), "0")
        everything = f"0-{last}" if last else "0"
        self.p.domain.pin_vcpu(self.name, 0, everything)
        self.assertEqual(self.vcpu_thread_affinity(0), everything)
        self.assertEqual(self.p.domain.vcpu_info(self.name)[0]["affinity"], everything)
        self.assertFault(INVALID_ARG, self.p.domain.pin_vcpu, self.name, 9, "0")

        # Lowering: done, or refused clearly; the guest carries on either way.
        f = xendtest.fault_of(self.p.domain.set_vcpus, self.name, 2)
        if f is None:
            self.assertEqual(self.row(self.name)["vcpus"], 2)
            self.assertTrue(wait_for(lambda: self.online_cpus() == "0-1", ASYNC, 0.5),
                            self.online_cpus())
        else:
            self.assertEqual(f.faultCode, OPERATION_INVALID, f.faultString)
        self.assertEqual(self.con.value("echo $((4*5))"), "20")
        # Raising again after an unplug (QEMU 7.2 under TCG crashes on that): done, or
        # refused clearly; QEMU and the guest survive.
        f = xendtest.fault_of(self.p.domain.set_vcpus, self.name, 3)
        if f is None:
            self.assertTrue(wait_for(lambda: self.online_cpus() == "0-2", ASYNC, 0.5),
                            self.online_cpus())
        else:
            self.assertEqual(f.faultCode, OPERATION_INVALID, f.faultString)
        self.assertEqual(self.con.value("echo $((5*5))"), "25")
        self.assertEqual(self.state(self.name), "running")
        self.assertEqual(qemu_pid(self.daemon, self.name), pid)
        self.assertFault(INVALID_ARG, self.p.domain.set_vcpus, self.name, 5)

    def test_disk_attach_detach(self):
        path = make_disk(self.daemon.dir, "dev-vdb.img", 8 << 20)
        with open(path, "r+b") as f:
            f.write(b"XENDTEST-VDB-PATTERN\n")
        self.assertIs(self.p.domain.attach_device(
            self.name, disk_xml({"source": path, "target": "vdb"})), True)
        self.con.wait("TESTGUEST-HOTPLUG add block vdb", ASYNC)
        self.assertEqual(self.con.value("cat /sys/block/vdb/size"), str((8 << 20) // 512))
        self.assertEqual(self.con.value("head -c 20 /dev/vdb; echo"), "XENDTEST-VDB-PATTERN")
        self.assertIn("vdb", [d.get("target") for d in self.p.domain.devices(self.name)])
        self.assertIn(path, self.p.domain.get_xml(self.name, True))
        # The block counters follow the guest's reads (page cache dropped first).
        self.con.run("echo 3 > /proc/sys/vm/drop_caches")
        before = self.p.domain.stats(self.name)
        self.assertIn("16+0 records in",
                      self.con.run("dd if=/dev/vdb of=/dev/null bs=64k count=16 skip=1"))
        after = self.p.domain.stats(self.name)
        self.assertGreaterEqual(after["rd_bytes"] - before["rd_bytes"], 16 * 65536, after)
        self.assertGreater(after["rd_reqs"], before["rd_reqs"])
        # A second disk with the same target is refused.
        other = make_disk(self.daemon.dir, "dev-vdb2.img", 1 << 20)
        f = xendtest.fault_of(self.p.domain.attach_device, self.name,
                              disk_xml({"source": other, "target": "vdb"}))
        self.assertIsNotNone(f)
        self.assertEqual(f.faultCode, 19, f.faultString)  # DEVICE_EXISTS
        # Detach: the guest lets it go.
        self.con.skip()
        self.assertIs(self.p.domain.detach_device(self.name, "vdb"), True)
        self.con.wait("TESTGUEST-HOTPLUG remove block vdb", ASYNC)
        self.assertNotIn("vdb", self.con.run("ls /sys/block").split())
        self.assertNotIn("vdb", [d.get("target") for d in self.p.domain.devices(self.name)])
        self.assertNotIn(path, self.p.domain.get_xml(self.name, True))
        self.assertFault(NO_DEVICE, self.p.domain.detach_device, self.name, "vdb")
        # And it can come back.
        self.p.domain.attach_device(self.name, disk_xml({"source": path, "target": "vdb"}))
        self.con.wait("TESTGUEST-HOTPLUG add block vdb", ASYNC)
        self.p.domain.detach_device(self.name, "vdb")
        self.con.wait("TESTGUEST-HOTPLUG remove block vdb", ASYNC)

    def test_disk_detach_completed_late(self):
        """A paused guest cannot release a disk: the detach times out (OPERATION_TIMEOUT,
        the disk still listed); once unpaused the guest finishes the removal by itself and
        the live definition follows without another call. (Live only: a detach that failed
        leaves the persistent configuration as it was.)"""
        live = {"live": True, "config": False}
        path = make_disk(self.daemon.dir, "dev-vdc.img", 1 << 20)
        self.p.domain.attach_device(self.name, disk_xml({"source": path, "target": "vdc"}), live)
        self.con.wait("TESTGUEST-HOTPLUG add block", ASYNC)
        self.p.domain.pause(self.name)
        try:
            self.assertFault(24, self.p.domain.detach_device, self.name, "vdc",
                             live)
            self.assertIn("vdc", [d.get("target") for d in self.p.domain.devices(self.name)])
        finally:
            self.p.domain.unpause(self.name)
        self.con.wait("TESTGUEST-HOTPLUG remove block", ASYNC)
        self.assertTrue(wait_for(lambda: "vdc" not in [
            d.get("target") for d in self.p.domain.devices(self.name)], timeout=30),
            self.p.domain.devices(self.name))
        self.assertEqual(self.state(self.name), "running")
        # The target is free again.
        self.p.domain.attach_device(self.name, disk_xml({"source": path, "target": "vdc"}), live)
        self.con.wait("TESTGUEST-HOTPLUG add block", ASYNC)
        self.p.domain.detach_device(self.name, "vdc", live)
        self.con.wait("TESTGUEST-HOTPLUG remove block", ASYNC)

    def test_nic_attach_detach(self):
        mac = "52:54:00:5e:00:42"
        self.assertIs(self.p.domain.attach_device(self.name, nic_xml({"mac": mac})), True)
        self.con.wait("TESTGUEST-HOTPLUG add net eth0", ASYNC)
        self.assertEqual(self.con.value("cat /sys/class/net/eth0/address"), mac)
        self.assertIn(mac, [d.get("mac") for d in self.p.domain.devices(self.name)])
        # Traffic through QEMU's user network: its gateway answers pings. (domain.stats
        # has no NIC counters for QEMU guests: QEMU 7.2 reports none over QMP.)
        self.con.run("ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up")
        out = self.con.run("ping -c 2 -W 5 10.0.2.2")
        self.assertIn("2 packets transmitted, 2 packets received", out)
        # Detach by MAC.
        self.con.skip()
        self.assertIs(self.p.domain.detach_device(self.name, mac), True)
        self.con.wait("TESTGUEST-HOTPLUG remove net eth0", ASYNC)
        self.assertNotIn("eth0", self.con.run("ls /sys/class/net").split())
        self.assertNotIn(mac, [d.get("mac") for d in self.p.domain.devices(self.name)])
        self.assertFault(NO_DEVICE, self.p.domain.detach_device, self.name, mac)


if __name__ == "__main__":
    main()
