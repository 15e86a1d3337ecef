#!/usr/bin/env python3
"""The QEMU part of `make bench`: figures, never assertions.

1. create -> banner: from the domain.create call until TESTGUEST-READY is on the guest's
   serial console (read through domain.console_read), against the very same QEMU command
   line run bare (taken from xend's debug log, sockets pre-bound the same way, started with
   the same "cont" over QMP) from exec until the same marker is read from its serial socket.
   The difference is xend's overhead (target <= 50 ms).
2. pause + unpause round trip through the API (p50 of 20).
3. save and restore of a 256 MiB guest (domain.save / domain.restore, median of 3).

Usage: qemu-bench.py BUILD_DIR (the guest is built by scripts/make-test-guest if needed).
Prints "SKIP: ..." and exits 0 when QEMU cannot run here.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
os.environ.setdefault("XEND_BIN", os.path.join(BUILD, "src", "daemon", "xend"))
os.environ.setdefault("XEND_BUILD_DIR", BUILD)
os.environ.setdefault("XEND_SOURCE_DIR", SOURCE)
os.environ.setdefault("XEND_TEST_GUEST", os.path.join(BUILD, "tests", "guest-image"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))

import qemutest  # noqa: E402

RUNS = 5
MARK = b"TESTGUEST-READY"


def ms(v):
    return f"{v * 1000:8.1f} ms"


def wait_console(p, name, text, timeout=120):
    off = 0
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = p.domain.console_read(name, off)
        off = r["offset"]
        seen += r["data"] if isinstance(r["data"], str) else r["data"].data.decode(errors="replace")
        if text in seen:
            return time.monotonic()
        time.sleep(0.002)
    raise RuntimeError(f"{name}: {text} not seen")


def xend_argv(log_path, name):
    """The QEMU argv xend logged (debug level) for domain name."""
    with open(log_path, errors="replace") as f:
        for line in f:
            m = re.search(r"qemu: starting '" + re.escape(name) + r"': (.*)$", line)
            if m:
                return re.findall(r"'((?:[^']|'\\'')*)'", m.group(1))
    raise RuntimeError("xend did not log the QEMU command line")


def bare_boot(argv, workdir):
    """Run argv as xend does (QMP on fd 3, serial on fd 4, both pre-bound), send
    qmp_capabilities + cont, and time exec -> marker on the serial socket."""
    qmp_path = os.path.join(workdir, "q.sock")
    ser_path = os.path.join(workdir, "s.sock")
    socks = []
    for path in (qmp_path, ser_path):
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(1)
        socks.append(s)
    # Paths of xend's run directory are replaced by ours (pid file, serial log).
    args = list(argv)
    for i, a in enumerate(args):
        if a.endswith("/qemu.pid"):
            args[i] = os.path.join(workdir, "qemu.pid")
        args[i] = re.sub(r"logfile=[^,]*(,|$)", "logfile=" + os.path.join(workdir, "serial.log") + r"\1", args[i])

    high = [os.dup2(s_.fileno(), 100 + i) for i, s_ in enumerate(socks)]

    def child():
        os.dup2(high[0], 3)
        os.dup2(high[1], 4)

    t0 = time.monotonic()
    proc = subprocess.Popen(args, preexec_fn=child, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, close_fds=False)
    try:
        q = socket.socket(socket.AF_UNIX)
        q.connect(qmp_path)
        s = socket.socket(socket.AF_UNIX)
        s.connect(ser_path)
        f = q.makefile("rwb")
        f.readline()
        for cmd in ("qmp_capabilities", "cont"):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            while b'"return"' not in f.readline():
                pass
        buf = b""
        s.settimeout(120)
        while MARK not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("bare QEMU closed its console")
            buf = buf[-64:] + chunk
        t1 = time.monotonic()
        return t1 - t0
    finally:
        proc.kill()
        proc.wait()
        for s_ in socks:
            s_.close()
        for fd in high:
            os.close(fd)


def main():
    why = qemutest.skip_reason()
    if why:
        print(f"qemu: SKIP: {why}")
        return 0
    print("QEMU driver (TCG, test guest: Debian cloud kernel + busybox initramfs)")
    d = qemutest.qemu_daemon().start()
    p = d.proxy(timeout=300)
    try:
        # 1. create -> banner, through xend and bare.
        # Interleaved (xend, bare, xend, bare...) so a change of load hits both alike.
        via, bare = [], []
        argv = None
        with tempfile.TemporaryDirectory(prefix="xend-bench-qemu-") as wd:
            for i in range(RUNS):
                name = f"bench-boot-{i}"
                xml = qemutest.guest_xml(name)
                t0 = time.monotonic()
                p.domain.create(xml)
                t1 = wait_console(p, name, MARK.decode())
                via.append(t1 - t0)
                if argv is None:
                    argv = xend_argv(d.log, name)
                p.domain.destroy(name)
                bare.append(bare_boot(argv, wd))
        mv, mb = statistics.median(via), statistics.median(bare)
        print(f"  create -> banner via xend      {ms(mv)}  (median of {RUNS})")
        print(f"  same QEMU command run bare     {ms(mb)}")
        print(f"  xend overhead                  {ms(mv - mb)}  (target <= 50 ms; "
              f"ratio {mv / mb:.3f})")

        # 2. pause/unpause round trip.
        name = "bench-pause"
        p.domain.create(qemutest.guest_xml(name))
        wait_console(p, name, MARK.decode())
        rt = []
        for _ in range(20):
            t0 = time.monotonic()
            p.domain.pause(name)
            p.domain.unpause(name)
            rt.append(time.monotonic() - t0)
        rt.sort()
        print(f"  pause + unpause round trip     {ms(statistics.median(rt))}  p50 of 20 "
              f"(max {ms(rt[-1]).strip()})")
        p.domain.destroy(name)

        # 3. save / restore of a 256 MiB guest.
        name = "bench-save"
        p.domain.define(qemutest.guest_xml(name, memory_mib=256))
        saves, restores, sizes = [], [], []
        with tempfile.TemporaryDirectory(prefix="xend-bench-save-") as wd:
            for i in range(RUNS):
                p.domain.start(name)
                wait_console(p, name, MARK.decode())
                path = os.path.join(wd, f"img{i}")
                t0 = time.monotonic()
                p.domain.save(name, path)
                t1 = time.monotonic()
                p.domain.restore(path)
                t2 = time.monotonic()
                saves.append(t1 - t0)
                restores.append(t2 - t1)
                sizes.append(os.path.getsize(path))
                p.domain.destroy(name)
                os.unlink(path)
        print(f"  save, 256 MiB guest            {ms(statistics.median(saves))}  "
              f"(image {statistics.median(sizes) / 1048576:.0f} MiB)")
        print(f"  restore, 256 MiB guest         {ms(statistics.median(restores))}")
    finally:
        for dom in p.domain.list():
            if dom["name"] != "Domain-0" and dom["id"] >= 0:
                try:
                    p.domain.destroy(dom["name"])
                except Exception:
                    pass
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
