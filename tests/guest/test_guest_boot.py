"""Smoke test of the QEMU test guest (docs/test-guest.md) on bare QEMU, without xend.

Builds the guest with scripts/make-test-guest if needed (cached), boots it the way
docs/test-guest.md and the driver do (TCG, -m 128, -smp 1,maxcpus=4, pre-bound Unix sockets
for QMP and the serial console, console drained all the time) and checks every behaviour the
xend QEMU tests rely on: the READY marker, the serial shell, disk, NIC and vCPU hot-plug
markers, the ACPI power button, Ctrl-Alt-Del, and a sysrq crash reported over pvpanic.

usage: test_guest_boot.py [MAKE_TEST_GUEST IMAGE_DIR]; XEND_TEST_GUEST overrides IMAGE_DIR.
Exits 77 (skip) only when QEMU cannot run at all or the Debian packages cannot be fetched.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
QEMU = "qemu-system-x86_64"
# Generous: TCG on a loaded 2-core machine, with other tests booting guests too.
BOOT_TIMEOUT = 120
STEP_TIMEOUT = 60
PROMPT = "testguest# "
# Markers are whole lines (the guest's tty turns "\n" into "\r\n").
READY_RE = r"\nTESTGUEST-READY kernel=(\S+) cpus=(\d+) mem_kb=(\d+)\r?\n"
# No guest output line is anywhere near this; a runaway guest must not eat the test's memory.
CONSOLE_MAX = 4 << 20


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Console:
    """The serial console: a thread keeps reading it (a client that stops reading stalls
    the guest) into a bounded buffer that waits search."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = bytearray()
        self.cond = threading.Condition()
        self.eof = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                if len(self.buf) < CONSOLE_MAX:
                    self.buf += data
                self.cond.notify_all()

    def mark(self):
        """The current end of the output: waits from here ignore what came before."""
        with self.cond:
            return len(self.buf)

    def wait(self, pattern, since, timeout=STEP_TIMEOUT):
        """The first match of regex pattern after offset since; fails after timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf.decode("latin-1"), since)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    why = "console closed" if self.eof else f"{timeout} s passed"
                    raise Failure(f"no {pattern!r} on the console ({why})")
                self.cond.wait(min(left, 1.0))

    def send(self, text):
        self.sock.sendall(text.encode())

    def text(self):
        with self.cond:
            return self.buf.decode("latin-1")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Qmp:
    """A minimal QMP client: replies matched by id, events kept in arrival order."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.cond = threading.Condition()
        self.replies = {}
        self.events = []
        self.greeting = None
        self.eof = False
        self.next_id = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        with self.cond:
            self.cond.wait_for(lambda: self.greeting or self.eof, STEP_TIMEOUT)
        check(self.greeting, "no QMP greeting")
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            try:
                line = self.file.readline(1 << 20)
            except OSError:
                line = b""
            with self.cond:
                if not line:
                    self.eof = True
                    self.cond.notify_all()
                    return
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(msg, dict):
                    continue
                if "QMP" in msg:
                    self.greeting = msg
                elif "event" in msg:
                    self.events.append(msg)
                elif "id" in msg:
                    self.replies[msg["id"]] = msg
                self.cond.notify_all()

    def cmd(self, name, args=None, timeout=STEP_TIMEOUT, allow_eof=False):
        """Runs a command; returns its "return" value, fails on an error reply."""
        with self.cond:
            self.next_id += 1
            cid = self.next_id
        msg = {"execute": name, "id": cid}
        if args is not None:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        with self.cond:
            self.cond.wait_for(lambda: cid in self.replies or self.eof, timeout)
            reply = self.replies.pop(cid, None)
        if reply is None:
            if allow_eof and self.eof:
                return None
            raise Failure(f"QMP {name}: no reply")
        if "error" in reply:
            raise Failure(f"QMP {name} {args}: {reply['error']}")
        return reply["return"]

    def mark(self):
        with self.cond:
            return len(self.events)

    def wait_event(self, name, since, pred=None, timeout=STEP_TIMEOUT):
        """The first event called name at or after index since (and matching pred)."""

        def find():
            for e in self.events[since:]:
                if e["event"] == name and (pred is None or pred(e.get("data", {}))):
                    return e
            return None

        with self.cond:
            self.cond.wait_for(lambda: find() or self.eof, timeout)
            e = find()
        check(e, f"no QMP event {name} (seen: {[x['event'] for x in self.events[since:]]})")
        return e

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def listen_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


class Guest:
    """One QEMU process with the test guest; stop() kills it by PID whatever happened."""

    def __init__(self, image, run, name):
        self.run = run
        self.name = name
        qmp_l = listen_unix(os.path.join(run, name + "-qmp.sock"))
        ser_l = listen_unix(os.path.join(run, name + "-serial.sock"))
        self.stderr = open(os.path.join(run, name + "-qemu.err"), "w+b")
        argv = [
            QEMU, "-nodefaults", "-no-user-config", "-nographic",
            "-name", f"guest={name},debug-threads=on",
            "-machine", "pc,accel=tcg", "-m", "128", "-smp", "1,maxcpus=4",
            "-kernel", os.path.join(image, "vmlinuz"),
            "-initrd", os.path.join(image, "initramfs.cpio.gz"),
            "-append", "console=ttyS0 quiet panic=-1",
            "-chardev", f"socket,id=qmp,fd={qmp_l.fileno()},server=on,wait=off",
            "-mon", "chardev=qmp,mode=control",
            "-chardev", f"socket,id=ser0,fd={ser_l.fileno()},server=on,wait=off,"
            f"logfile={os.path.join(run, name + '-serial.log')}",
            "-serial", "chardev:ser0",
            "-device", "virtio-balloon-pci,id=balloon0",
            "-device", "pvpanic-pci", "-action", "panic=pause",
            "-S",
        ]
        self.qmp = self.console = None
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr,
                                     pass_fds=(qmp_l.fileno(), ser_l.fileno()))
        # QEMU has its own copies; connect() below lands in the backlog at once.
        qmp_l.close()
        ser_l.close()
        try:
            self.console = Console(os.path.join(run, name + "-serial.sock"))
            self.qmp = Qmp(os.path.join(run, name + "-qmp.sock"))
        except BaseException:
            self.stop()
            print(self.diagnostics())
            raise

    def start(self):
        """cont from prelaunch; returns (match of the READY marker, seconds from exec)."""
        since = self.console.mark()
        self.qmp.cmd("cont")
        m = self.console.wait(READY_RE, since, BOOT_TIMEOUT)
        return m, time.monotonic() - self.t_exec

    def shell(self, command, expect, timeout=STEP_TIMEOUT):
        """Types command at the prompt and waits for regex expect in what follows."""
        since = self.console.mark()
        self.console.send(command + "\n")
        return self.console.wait(expect, since, timeout)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"QEMU did not exit within {timeout} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for c in (self.qmp, self.console):
            if c:
                c.close()

    def diagnostics(self):
        self.stderr.seek(0)
        err = self.stderr.read().decode(errors="replace")
        out = self.console.text() if self.console else ""
        return (f"--- {self.name}: QEMU stderr ---\n{err}\n"
                f"--- {self.name}: console (tail) ---\n{out[-4000:]}")


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def build_image(script, image):
    r = subprocess.run([script, image], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    print(r.stdout, end="")
    if r.returncode == 3:
        skip("the test guest's Debian packages cannot be fetched (see above)")
    check(r.returncode == 0, f"{script} {image} failed with status {r.returncode}")


def stamp_field(image, key):
    with open(os.path.join(image, "stamp")) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.rstrip("\n").split("=", 1)[1]
    return None


def marker(text):
    """A regex for a marker line; text is a regex too."""
    return r"\n" + text + r"\r?\n"


def test_first_boot(g, krel):
    """READY, the shell, hot-plug of a disk, a NIC and a vCPU, then the power button."""
    m, secs = g.start()
    print(f"boot 1: exec -> READY {secs:.2f} s: {m.group(0).strip()}")
    check(m.group(1) == krel, f"READY names kernel {m.group(1)}, the image has {krel}")
    check(m.group(2) == "1", f"READY says cpus={m.group(2)}, expected 1")
    mem_kb = int(m.group(3))
    check(0 < mem_kb <= 128 * 1024, f"READY says mem_kb={mem_kb} with -m 128")

    g.console.wait(re.escape(PROMPT), m.end())
    g.shell("echo =$((40+2))=", "=42=")
    print("shell: =42=")

    # Disk: raw file, blockdev-add, virtio-blk-pci; then unplug it again.
    disk = os.path.join(g.run, "disk1.raw")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    since = g.console.mark()
    g.qmp.cmd("blockdev-add", {"node-name": "d1", "driver": "raw",
                               "file": {"driver": "file", "filename": disk}})
    g.qmp.cmd("device_add", {"driver": "virtio-blk-pci", "id": "vdisk1", "drive": "d1",
                             "serial": "vdisk1"})
    g.console.wait(marker("TESTGUEST-HOTPLUG add block vda"), since)
    g.shell("echo =$(cat /sys/block/vda/size)=", "=2048=")
    since, ev = g.console.mark(), g.qmp.mark()
    g.qmp.cmd("device_del", {"id": "vdisk1"})
    g.qmp.wait_event("DEVICE_DELETED", ev, lambda d: d.get("device") == "vdisk1")
    g.console.wait(marker("TESTGUEST-HOTPLUG remove block vda"), since)
    g.qmp.cmd("blockdev-del", {"node-name": "d1"})
    print("disk: add/remove block vda")

    # NIC: the guest sets the link up, which QEMU reports as NIC_RX_FILTER_CHANGED.
    since, ev = g.console.mark(), g.qmp.mark()
    g.qmp.cmd("netdev_add", {"type": "user", "id": "net1", "restrict": True})
    g.qmp.cmd("device_add", {"driver": "virtio-net-pci", "id": "nic1", "netdev": "net1",
                             "mac": "52:54:00:12:34:56"})
    g.console.wait(marker("TESTGUEST-HOTPLUG add net eth0"), since)
    g.qmp.wait_event("NIC_RX_FILTER_CHANGED", ev, lambda d: d.get("name") == "nic1")
    since, ev = g.console.mark(), g.qmp.mark()
    g.qmp.cmd("device_del", {"id": "nic1"})
    g.qmp.wait_event("DEVICE_DELETED", ev, lambda d: d.get("device") == "nic1")
    g.console.wait(marker("TESTGUEST-HOTPLUG remove net eth0"), since)
    g.qmp.cmd("netdev_del", {"id": "net1"})
    print("nic: add/remove net eth0")

    # vCPU: plug into a free slot; the guest onlines it. (No unplug: after one, QEMU 7.2's
    # TCG crashes on the next vCPU device_add.)
    slots = [c for c in g.qmp.cmd("query-hotpluggable-cpus") if "qom-path" not in c]
    check(slots, "query-hotpluggable-cpus lists no free slot with maxcpus=4")
    slot = sorted(slots, key=lambda c: c["props"].get("core-id", 0))[0]
    since = g.console.mark()
    g.qmp.cmd("device_add", dict(slot["props"], driver=slot["type"], id="cpu1"))
    m = g.console.wait(marker(r"TESTGUEST-HOTPLUG add cpu (cpu\d+) online=(\d)"), since)
    check(m.group(2) == "1", f"hot-plugged {m.group(1)} is not online: {m.group(0)}")
    g.shell("echo =$(grep -c ^processor /proc/cpuinfo)=", "=2=")
    print(f"cpu: {m.group(0).strip()}")

    # ACPI power button: acpid runs poweroff; QEMU exits on its own.
    since, ev = g.console.mark(), g.qmp.mark()
    g.qmp.cmd("system_powerdown")
    g.console.wait(marker("TESTGUEST-POWERBUTTON"), since)
    g.console.wait(marker("TESTGUEST-SHUTDOWN"), since)
    e = g.qmp.wait_event("SHUTDOWN", ev)
    check(e["data"].get("guest") is True and e["data"].get("reason") == "guest-shutdown",
          f"SHUTDOWN event: {e['data']}")
    rc = g.wait_exit(STEP_TIMEOUT)
    check(rc == 0, f"QEMU exited with status {rc} after the guest's poweroff")
    print("powerdown: POWERBUTTON, SHUTDOWN, QEMU exited 0")


def test_second_boot(g):
    """Ctrl-Alt-Del reboots to a second READY; sysrq c panics, seen through pvpanic."""
    m, secs = g.start()
    print(f"boot 2: exec -> READY {secs:.2f} s")
    g.console.wait(re.escape(PROMPT), m.end())

    since, ev = g.console.mark(), g.qmp.mark()
    g.qmp.cmd("send-key", {"keys": [{"type": "qcode", "data": k}
                                    for k in ("ctrl", "alt", "delete")]})
    g.qmp.wait_event("RESET", ev, lambda d: d.get("guest") is True)
    m = g.console.wait(READY_RE, since, BOOT_TIMEOUT)
    g.console.wait(re.escape(PROMPT), m.end())
    g.shell("echo =$((6*7))=", "=42=")
    print("ctrl-alt-del: RESET, READY again, shell answers")

    ev = g.qmp.mark()
    g.qmp.cmd("send-key", {"keys": [{"type": "qcode", "data": k}
                                    for k in ("alt", "sysrq", "c")]})
    e = g.qmp.wait_event("GUEST_PANICKED", ev)
    check(e["data"].get("action") == "pause", f"GUEST_PANICKED: {e['data']}")
    st = g.qmp.cmd("query-status")
    check(st.get("status") == "guest-panicked", f"query-status after the panic: {st}")
    g.qmp.cmd("quit", allow_eof=True)
    g.wait_exit(STEP_TIMEOUT)
    print("sysrq c: GUEST_PANICKED (pause), status guest-panicked")


def main(argv):
    # meson ends a test that times out with SIGTERM: turn it into an exception so the
    # finally clauses still kill QEMU.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(f"FAIL: killed by signal {sig}"))
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.environ.get("XEND_SOURCE_DIR") or os.path.dirname(os.path.dirname(here))
    script = argv[0] if argv else os.path.join(source, "scripts", "make-test-guest")
    image = os.environ.get("XEND_TEST_GUEST") or (argv[1] if len(argv) > 1 else None)
    if not image:
        build = os.environ.get("XEND_BUILD_DIR")
        check(build, "no image directory: set XEND_TEST_GUEST or XEND_BUILD_DIR")
        image = os.path.join(build, "tests", "guest-image")

    if not shutil.which(QEMU):
        skip(f"{QEMU} is not installed (scripts/install-deps installs qemu-system-x86)")
    try:
        r = subprocess.run([QEMU, "-version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        ok = r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        skip(f"{QEMU} -version does not run")

    build_image(script, image)
    krel = stamp_field(image, "kernel-release")
    check(krel, f"{image}/stamp has no kernel-release")

    with tempfile.TemporaryDirectory(prefix="xend-guest-") as run:
        for name, test in (("boot1", lambda g: test_first_boot(g, krel)),
                           ("boot2", test_second_boot)):
            g = Guest(image, run, name)
            try:
                test(g)
            except BaseException:
                print(g.diagnostics())
                raise
            finally:
                g.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Failure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
