#!/usr/bin/env python3
"""Define the sample domains of `make run` through the API (Python's stdlib only), once:
web and db running (web autostarts), build offline, archive suspended. A later run finds
them as they were left and changes nothing.

usage: xend-samples.py SOCKET IMAGE_DIR"""
import http.client
import os
import socket
import sys
import time
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixConnection(self.path)


SAMPLES = [
    # name, memory MiB, vcpus, disks, state
    ("web", 512, 2, ["web.img"], "running"),
    ("db", 1024, 2, ["db.img", "db-data.img"], "running"),
    ("build", 2048, 4, ["build.img"], "offline"),
    ("archive", 256, 1, ["archive.img"], "suspended"),
]


def domain_xml(name, mib, vcpus, disks, image_dir):
    devs = "".join(
        f"""    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{os.path.join(image_dir, d)}'/>
      <target dev='vd{chr(ord("a") + i)}' bus='virtio'/>
    </disk>
""" for i, d in enumerate(disks))
    return f"""<domain type='test'>
  <name>{name}</name>
  <title>sample domain '{name}' (make run)</title>
  <memory unit='MiB'>{mib}</memory>
  <vcpu>{vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
{devs}    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
"""


def main():
    sock, image_dir = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + 15
    while True:
        try:
            s = xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                          transport=UnixTransport(sock))
            known = {d["name"] for d in s.domain.list()}
            break
        except OSError:
            if time.monotonic() > deadline:
                print("xend-samples: the daemon did not come up", file=sys.stderr)
                return 1
            time.sleep(0.05)
    os.makedirs(image_dir, exist_ok=True)
    for name, mib, vcpus, disks, state in SAMPLES:
        if name in known:
            continue
        for d in disks:
            path = os.path.join(image_dir, d)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.truncate(64 << 20)
        s.domain.define(domain_xml(name, mib, vcpus, disks, image_dir))
        if state in ("running", "suspended"):
            s.domain.start(name)
        if state == "suspended":
            s.domain.suspend(name)
        if name == "web":
            s.domain.set_autostart(name, True)
    for d in s.domain.list():
        print(f"  {d['name']:<12} id {d['id']:>3}  {d['state']:<10} "
              f"{d['memory'] // 1024:>6} MiB  {d['vcpus']} vCPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
