"""Helpers for the QEMU tier: a real xend with driver = qemu booting the test guest
(scripts/make-test-guest: the Debian cloud kernel + a busybox initramfs) under TCG, and the
guest's own serial console as the proof of every effect.

The guest prints markers on its console (docs/test-guest.md): TESTGUEST-READY at every
boot, TESTGUEST-POWERBUTTON / -SHUTDOWN, TESTGUEST-HOTPLUG add|remove block|net|cpu ...,
and runs a shell whose prompt is "testguest# ". GuestConsole follows the console through
domain.console_read and types through domain.console_write.

Budget (reference/qemu.md): a TCG guest costs about 0.22 GB and keeps a core busy for about
2 s while it boots; the QEMU tests run one at a time (meson is_parallel false) and each
keeps at most two guests running.

No QEMU may outlive a test: QemuTestCase.tearDownClass destroys every active domain, and
main() looks for QEMU processes of every daemon the test started (their command lines name
the daemon's temporary directory) once the tests are done, kills them by PID and fails.

Environment: XEND_TEST_GUEST (the image directory, built on first use with
scripts/make-test-guest), XEND_SOURCE_DIR, plus what xendtest.py reads.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import xmlrpc.client
from xml.etree import ElementTree

import xendtest
from xendtest import Daemon, domain_xml, SLOW, wait_for

SOURCE = os.environ.get("XEND_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GUEST_DIR = os.path.abspath(os.environ.get("XEND_TEST_GUEST") or os.path.join(
    os.environ.get("XEND_BUILD_DIR", "build"), "tests", "guest-image"))
QEMU = shutil.which("qemu-system-x86_64")
CMDLINE = "console=ttyS0 quiet panic=-1"
PROMPT = "testguest# "
# Boot under TCG takes ~2.3 s on an idle machine; bounds are generous for a loaded one.
BOOT_TIMEOUT = 90 * SLOW
# Anything asynchronous short of a boot (a state change, an event, a hot-plug marker).
ASYNC = 60 * SLOW

# Fault codes (src/util/errors.def).
NO_DOMAIN = 3
UNSUPPORTED = 5
DISK_ACCESS = 9
OPERATION_INVALID = 10
INVALID_ARG = 13
NO_DEVICE = 18

# make-test-guest's exit status when the Debian packages cannot be fetched.
GUEST_NO_PACKAGES = 3

_guest_checked = False


def skip_reason():
    """Why the QEMU tier cannot run here (QEMU missing or not running, or the guest's
    packages cannot be fetched), or None. Building the guest happens here once; a guest
    that cannot be built for any other reason is a failure (exit 1), not a skip."""
    global _guest_checked
    if not QEMU:
        return "qemu-system-x86_64 is not installed (scripts/install-deps installs it)"
    try:
        r = subprocess.run([QEMU, "-version"], capture_output=True, timeout=60)
        if r.returncode != 0:
            return "qemu-system-x86_64 does not run: " + r.stderr.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"qemu-system-x86_64 does not run: {e}"
    if not _guest_checked:
        r = subprocess.run([os.path.join(SOURCE, "scripts", "make-test-guest"), GUEST_DIR],
                           capture_output=True, timeout=900)
        out = (r.stdout + r.stderr).decode(errors="replace")[-2000:]
        if r.returncode == GUEST_NO_PACKAGES:
            return "the test guest's Debian packages cannot be fetched: " + out
        if r.returncode != 0 or not os.path.exists(os.path.join(GUEST_DIR, "vmlinuz")):
            print(f"FAIL: the test guest cannot be built (make-test-guest exit "
                  f"{r.returncode}):\n{out}", file=sys.stderr)
            sys.exit(1)
        _guest_checked = True
    return None


def require_qemu():
    """Call first in main: exits with SKIP (77) only when QEMU cannot run at all (or the
    guest's packages cannot be fetched); KVM being absent is not a reason (TCG runs)."""
    why = skip_reason()
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)


def guest_xml(name, memory_mib=128, vcpus=4, current_vcpus=1, disks=(), nics=(),
              current_memory_mib=None, **kw):
    """Domain XML booting the test guest (type qemu, direct kernel boot)."""
    extra_os = (f"    <kernel>{GUEST_DIR}/vmlinuz</kernel>\n"
                f"    <initrd>{GUEST_DIR}/initramfs.cpio.gz</initrd>\n"
                f"    <cmdline>{CMDLINE}</cmdline>\n")
    xml = domain_xml(name, memory=memory_mib * 1024,
                     current_memory=(current_memory_mib * 1024 if current_memory_mib else None),
                     vcpus=vcpus, current_vcpus=current_vcpus, disks=disks, nics=nics,
                     virt_type="qemu", **kw)
    return xml.replace("    <type>hvm</type>\n", "    <type>hvm</type>\n" + extra_os, 1)


def qemu_daemon(config=None, host_config=None, tcp=False):
    """A Daemon with driver = qemu and a host config forcing TCG (KVM here is a nested
    paravirtual one on which stock kernels hang; reference/qemu.md)."""
    d = Daemon(config=config, tcp=tcp)
    host = os.path.join(d.dir, "qemu.conf")
    with open(host, "w") as f:
        f.write("accel = tcg\n")
        for k, v in (host_config or {}).items():
            f.write(f"{k} = {v}\n")
    # Daemon wrote xend.conf in its constructor; the driver settings are added to it.
    with open(d.conf_path, "a") as f:
        f.write(f"driver = qemu\nhost_config = {host}\n")
    return d


# ---- QEMU processes ----

def qemu_pids(directory):
    """PIDs of the live (not zombie) QEMU processes whose command line names directory (a
    daemon's temporary directory: their sockets, logs and pid file are under it)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or not os.path.basename(argv[0]).startswith(b"qemu-system"):
            continue
        if any(directory.encode() in a for a in argv) and xendtest.pid_running(int(entry)):
            out.append(int(entry))
    return sorted(out)


def qemu_pid(daemon, name):
    """The PID of a running domain's QEMU as xend's status file (<run_dir>/NAME.status)
    records it, or None when there is no status file or that process is not a live QEMU
    of the daemon (its command line names the recorded run directory)."""
    try:
        root = ElementTree.parse(os.path.join(daemon.run_dir, name + ".status")).getroot()
        pid = int(root.findtext("driver/pid"))
        directory = root.findtext("driver/dir")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read()
    except (OSError, ValueError, TypeError, ElementTree.ParseError):
        return None
    if not directory or directory.encode() not in argv or not xendtest.pid_running(pid):
        return None
    return pid


def kill_strays(directory):
    """SIGKILL (by PID) every QEMU still running for directory; returns their PIDs."""
    pids = qemu_pids(directory)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def log_tail(daemon, lines=40):
    """The last lines of a daemon's log, for assertion messages."""
    try:
        with open(daemon.log, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


# ---- the console ----

class GuestConsole:
    """The serial console of one running domain, read through domain.console_read from an
    offset, so each wait only sees what came after the previous one. A guest started in a
    new QEMU (restore, migration, restart) has a new console whose offsets begin at 0: make
    a new GuestConsole(..., offset=0) for it."""

    def __init__(self, proxy, name, offset=None):
        self.p = proxy
        self.name = name
        self.offset = self.p.domain.console_read(name)["offset"] if offset is None else offset
        self.seen = ""

    def rewind(self, offset=0):
        self.offset = offset
        self.seen = ""

    def skip(self):
        """Forget what arrived so far: the next wait only sees newer output."""
        self.poll()
        self.seen = ""

    def poll(self):
        r = self.p.domain.console_read(self.name, self.offset)
        if r["offset"] < self.offset:
            # Not where we were: the guest runs in a new QEMU whose console starts over.
            self.offset = r["start"]
            r = self.p.domain.console_read(self.name, self.offset)
        data = r["data"]
        if isinstance(data, xmlrpc.client.Binary):
            data = data.data.decode(errors="replace")
        self.offset = r["offset"]
        self.seen += data
        return data

    def wait(self, text, timeout=BOOT_TIMEOUT):
        """Wait until text (a string, or a compiled regex) appears after the current
        position; return the console text up to and including it, and keep reading after
        it next time."""
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(text, str):
                i = self.seen.find(text)
                end = i + len(text)
            else:
                m = text.search(self.seen)
                i, end = (m.start(), m.end()) if m else (-1, -1)
            if i >= 0:
                out = self.seen[:end]
                self.seen = self.seen[end:]
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {text!r} not seen on the console within "
                                     f"{timeout:.0f} s; console tail: {self.seen[-1500:]!r}")
            if not self.poll():
                time.sleep(0.02)

    def follow_until_stopped(self, timeout=ASYNC):
        """Read the console until it goes away with its domain (the domain stopped or is
        gone); return all the text seen. Polls closely: the last words of a guest that
        powers off come a fraction of a second before its QEMU ends, and xend keeps no
        console of a stopped domain."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = self.poll()
            except xmlrpc.client.Fault as f:
                if f.faultCode in (OPERATION_INVALID, NO_DOMAIN):
                    return self.seen
                raise
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: still running after {timeout:.0f} s; "
                                     f"console tail: {self.seen[-1500:]!r}")
            if not data:
                time.sleep(0.01)

    def type(self, text):
        data = text.encode()
        deadline = time.monotonic() + ASYNC
        while data:
            n = self.p.domain.console_write(self.name, data.decode(errors="replace"))
            data = data[n:]
            if data:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name}: the console takes no input")
                time.sleep(0.02)

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        """Wait for the next TESTGUEST-READY marker (a boot) and the shell's prompt; keeps
        the marker's line ("kernel=... cpus=N mem_kb=...") in ready_line."""
        self.wait("TESTGUEST-READY", timeout)
        self.ready_line = self.wait("\n", timeout).strip()
        self.type("\n")
        self.wait(PROMPT, timeout)
        return self

    _seq = [0]

    def run(self, command, timeout=60 * SLOW):
        """Run a shell command in the guest; return its output (without the echo of the
        command line, carriage returns removed). The end marker is computed by the shell,
        so the echoed command line cannot match it (the guest's terminal is 1000 columns
        wide, so the echo is one line)."""
        GuestConsole._seq[0] += 1
        n = GuestConsole._seq[0]
        marker = f"=END{n * 7 + 1}="
        self.type(f"{command}; echo =END$(({n}*7+1))=\n")
        out = self.wait(marker, timeout).replace("\r", "")
        # The output starts after the echoed command line, which ends with the unexpanded
        # arithmetic of the marker.
        echo = out.rfind(f"$(({n}*7+1))=")
        if echo >= 0:
            nl = out.find("\n", echo)
            out = out[nl + 1:] if nl >= 0 else ""
        return out[:out.rfind(marker)]

    def value(self, command, timeout=60 * SLOW):
        """The output of a command that prints one line, stripped."""
        lines = [ln for ln in self.run(command, timeout).splitlines() if ln.strip()]
        if not lines:
            raise AssertionError(f"{self.name}: {command!r} printed nothing")
        return lines[-1].strip()


# ---- test cases ----

class QemuTestCase(xendtest.FaultAssertions, unittest.TestCase):
    """Starts one qemu-driver daemon for the class; helpers boot guests and wait for their
    READY marker. tearDownClass destroys every active domain, stops the daemon and fails if
    a QEMU of it is still running."""

    daemon_config = None
    host_config = None
    _n = [0]

    @classmethod
    def setUpClass(cls):
        cls.daemon = qemu_daemon(cls.daemon_config, cls.host_config).start()
        cls.p = cls.daemon.proxy(timeout=120)
        cls.daemons = [cls.daemon]

    @classmethod
    def extra_daemon(cls, tcp=False):
        """Another qemu-driver daemon for the class (a migration destination); stopped and
        checked with the first one."""
        d = qemu_daemon(cls.daemon_config, cls.host_config, tcp=tcp).start()
        cls.daemons.append(d)
        return d

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        stray = []
        try:
            for d in cls.daemons:
                if d.proc is None:
                    continue
                proxy = d.proxy(timeout=120)
                try:
                    destroy_all(proxy)
                finally:
                    proxy("close")()
                    d.stop(expect_rc=None)
        finally:
            for d in cls.daemons:
                # The daemon left QEMU running only if destroy failed: wait briefly for a
                # QEMU that is still going, then kill what is left.
                wait_for(lambda: not qemu_pids(d.dir), 10)
                stray += kill_strays(d.dir)
        if stray:
            raise AssertionError(f"QEMU processes outlived the test: {stray}")

    @classmethod
    def uniq(cls, prefix):
        cls._n[0] += 1
        return f"{prefix}-{cls._n[0]}"

    def boot(self, name, proxy=None, transient=False, **kw):
        """boot_guest through this class's daemon (setUpClass calls boot_guest itself)."""
        return boot_guest(proxy or self.p, name, transient, **kw)

    def ready(self, name, proxy=None, offset=0):
        """A console of name from offset (default: the start of a new QEMU's console) once
        its READY marker and prompt are there."""
        con = GuestConsole(proxy or self.p, name, offset=offset)
        con.wait_ready()
        return con

    def row(self, name, proxy=None):
        return (proxy or self.p).domain.lookup(name)

    def state(self, name, proxy=None):
        return self.row(name, proxy)["state"]

    def wait_state(self, name, state, timeout=ASYNC, proxy=None, daemon=None):
        ok = wait_for(lambda: self.state(name, proxy) == state, timeout=timeout, interval=0.1)
        if not ok:
            self.fail(f"{name} did not become {state}: {self.row(name, proxy)}\n"
                      f"daemon log:\n{log_tail(daemon or self.daemon)}")

    def gone(self, name, proxy=None):
        f = xendtest.fault_of((proxy or self.p).domain.lookup, name)
        return f is not None and f.faultCode == NO_DOMAIN

    def wait_event(self, since, name, event, detail=None, timeout=ASYNC, proxy=None):
        """Long-poll (bounded) until an event (name, event[, detail]) with id > since
        arrives; returns it."""
        p = proxy or self.p
        seen = []
        cursor = since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = p.event.next(cursor, 500)
            for e in r["events"]:
                seen.append((e["domain"], e["event"], e["detail"]))
                if e["domain"] == name and e["event"] == event and \
                        (detail is None or e["detail"] == detail):
                    return e
            cursor = r["last_id"]
        self.fail(f"no event {event}/{detail} for {name}; saw {seen}\n"
                  f"daemon log:\n{log_tail(self.daemon)}")

    def meminfo_kb(self, con, key="MemTotal"):
        m = re.search(rf"^{key}:\s+(\d+) kB", con.run("cat /proc/meminfo"), re.M)
        self.assertIsNotNone(m, f"no {key} in /proc/meminfo")
        return int(m.group(1))

    def destroy(self, name, proxy=None):
        """Destroy a domain if it is active (a test's own cleanup)."""
        p = proxy or self.p
        try:
            if p.domain.lookup(name)["id"] >= 0:
                p.domain.destroy(name)
        except xmlrpc.client.Fault:
            pass


def boot_guest(proxy, name, transient=False, **kw):
    """Define and start (or create, transient) a guest from guest_xml(name, **kw); wait for
    TESTGUEST-READY and its shell prompt; return its GuestConsole."""
    if transient:
        proxy.domain.create(guest_xml(name, **kw))
    else:
        proxy.domain.define(guest_xml(name, **kw))
        proxy.domain.start(name)
    return GuestConsole(proxy, name, offset=0).wait_ready()


def destroy_all(proxy):
    """Destroy every active domain (anything with an id, or a QEMU left in 'shutdown')."""
    for d in proxy.domain.list():
        if d["name"] == "Domain-0":
            continue
        if d["id"] >= 0 or d["state"] not in ("shutoff", "crashed", "suspended"):
            try:
                proxy.domain.destroy(d["name"])
            except xmlrpc.client.Fault:
                pass


def main():
    """Run the tests (after require_qemu), then make sure no QEMU of any daemon the test
    started is left; exit 1 if one was (it is killed by PID) or a test failed. SIGTERM (a
    meson timeout) interrupts the tests and still gets here: xend starts QEMU in a session
    of its own, so nothing else would stop it."""
    require_qemu()

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    ok = False
    try:
        ok = unittest.main(verbosity=2, exit=False).result.wasSuccessful()
    finally:
        stray = []
        for d in xendtest._DAEMONS:
            if d.proc is not None and d.proc.poll() is None:
                d.stop(expect_rc=None)
            stray += kill_strays(d.dir)
        if stray:
            print(f"FAIL: QEMU processes outlived the tests (killed): {stray}", file=sys.stderr)
    sys.exit(0 if ok and not stray else 1)
