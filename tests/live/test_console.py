"""domain.console_write and the simulated guest's shell, through Python's xmlrpc.client
against a real xend running the simulated host: what is typed is echoed and run, the
files the shell shows follow the API's live changes (vCPUs, memory, disks, NICs, reboots),
shell variables are guest state (kept across save/restore, suspend/resume, migration and a
daemon restart, gone after a reboot or a fresh start), control keys typed through the
base64 form act as at a tty (^C, ^U, ^D, Esc, NUL), the refusals carry the documented
fault codes, and hostile input neither crashes nor wedges the daemon."""
import os
import random
import re
import time
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, FaultAssertions, disk_xml, domain_xml, make_disk, wait_for

NO_DOMAIN = 3
OPERATION_INVALID = 10
LIMIT = 11
PARSE = -32700
PROMPT = "/ # "
ASYNC = 15
MAX = 4096

_n = [0]


def uniq(prefix):
    _n[0] += 1
    return f"{prefix}-{_n[0]}"


class ConsoleBase(FaultAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.p = cls.daemon.proxy()
        cls.disks = os.path.join(cls.daemon.dir, "disks")
        os.makedirs(cls.disks, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def started(self, prefix, **kw):
        name = uniq(prefix)
        self.p.domain.define(domain_xml(name, **kw))
        self.p.domain.start(name)
        return name

    def typed(self, dom, text, proxy=None):
        """Type text; return (bytes accepted, what the console printed meanwhile)."""
        p = proxy or self.p
        off = p.domain.console_read(dom)["offset"]
        n = p.domain.console_write(dom, text)
        return n, p.domain.console_read(dom, off)["data"]

    def sh(self, dom, line, proxy=None):
        """Run one command line; return its output (between the echoed line and the
        prompt)."""
        n, out = self.typed(dom, line + "\n", proxy)
        self.assertEqual(n, len((line + "\n").encode()))
        self.assertTrue(out.startswith(line + "\n"), repr(out))
        self.assertTrue(out.endswith(PROMPT), repr(out))
        return out[len(line) + 1:-len(PROMPT)]


class ShellTests(ConsoleBase):

    def test_variable_then_echo(self):
        dom = self.started("var")
        self.assertEqual(self.sh(dom, "foo=bar"), "")
        self.assertEqual(self.sh(dom, "echo $foo"), "bar\n")
        self.assertEqual(self.sh(dom, 'echo "${foo}baz" \'$foo\' $nothing end'),
                         "barbaz $foo end\n")
        self.assertEqual(self.sh(dom, 'x="a  b"; echo $x; echo "$x"'), "a b\na  b\n")
        # The record of the session is the console log itself.
        log = self.p.domain.console_read(dom)["data"]
        self.assertIn("foo=bar\n" + PROMPT + "echo $foo\nbar\n" + PROMPT, log)

    def test_write_returns_bytes_accepted(self):
        dom = self.started("bytes")
        n = self.p.domain.console_write(dom, "echo h\u00e9llo\n")
        self.assertIsInstance(n, int)
        self.assertEqual(n, len("echo h\u00e9llo\n".encode()))
        self.assertEqual(self.p.domain.console_write(dom, ""), 0)
        self.assertIn("h\u00e9llo\n", self.p.domain.console_read(dom)["data"])

    def test_status_and_unknown_commands(self):
        dom = self.started("status")
        self.assertEqual(self.sh(dom, "nosuch arg"), "sh: nosuch: not found\n")
        self.assertEqual(self.sh(dom, "echo $?"), "127\n")
        self.assertEqual(self.sh(dom, "false; echo $?; true; echo $?"), "1\n0\n")
        self.assertEqual(self.sh(dom, "cat /nope; echo $?"),
                         "cat: can't open '/nope': No such file or directory\n1\n")
        self.assertEqual(self.sh(dom, "sleep 1; echo $?; sleep x; echo $?"),
                         "0\nsleep: invalid number 'x'\n1\n")
        self.assertEqual(self.sh(dom, "exit; echo still here"), "still here\n")
        self.assertEqual(self.sh(dom, "echo a | cat"),
                         "sh: syntax error: '|' is not supported by this shell\n")
        self.assertEqual(self.sh(dom, "echo $?"), "2\n")
        self.assertEqual(self.sh(dom, "# a comment"), "")
        self.assertEqual(self.sh(dom, "/bin/echo ok"), "ok\n")

    def test_export_and_env(self):
        dom = self.started("env")
        self.sh(dom, "export A=1; B='two words'")
        env = self.sh(dom, "env").splitlines()
        self.assertIn("A=1", env)
        self.assertIn("HOME=/", env)
        self.assertNotIn("B=two words", env)
        self.assertIn("export A='1'", self.sh(dom, "export"))
        self.assertIn("B='two words'", self.sh(dom, "set"))
        self.sh(dom, "unset A")
        self.assertEqual(self.sh(dom, "echo [$A]"), "[]\n")

    def test_quotes_continue_on_the_next_line(self):
        dom = self.started("cont")
        n, out = self.typed(dom, "echo 'one\n")
        self.assertEqual(out, "echo 'one\n> ")
        n, out = self.typed(dom, "two'\n")
        self.assertEqual(out, "two'\none\ntwo\n" + PROMPT)

    def test_erase_and_carriage_return(self):
        dom = self.started("erase")
        # DEL erases (echoed as a hardcopy terminal does); CR ends the line.
        n, out = self.typed(dom, "echo abx\x7fc\r")
        self.assertEqual(out, "echo abx\\x/c\nabc\n" + PROMPT)

    def test_files_and_directories(self):
        mac = "52:54:00:aa:bb:01"
        dom = self.started("files", nics=[mac, "52:54:00:aa:bb:02"])
        root = self.sh(dom, "ls /").split()
        for d in ("bin", "dev", "etc", "proc", "sys", "tmp"):
            self.assertIn(d, root)
        self.assertEqual(self.sh(dom, "ls /sys/class/net").split(), ["eth0", "eth1", "lo"])
        self.assertEqual(self.sh(dom, "cat /sys/class/net/eth0/address"), mac + "\n")
        self.assertEqual(self.sh(dom, "cat /etc/hostname; hostname"), f"{dom}\n{dom}\n")
        self.assertEqual(self.sh(dom, "ls /nope"), "ls: /nope: No such file or directory\n")
        self.assertEqual(self.sh(dom, "cat /proc"), "cat: read error: Is a directory\n")
        self.assertIn("Linux", self.sh(dom, "uname -a"))
        self.assertRegex(self.sh(dom, "uptime"), r"^ \d\d:\d\d:\d\d up .*load average")
        # dmesg is the kernel's part of the console: the boot messages.
        self.assertIn("Linux version", self.sh(dom, "dmesg"))
        # A NIC plugged in live appears as the next ethN.
        self.p.domain.attach_device(dom, "<interface type='user'><mac address='52:54:00:aa:bb:03'/>"
                                         "</interface>")
        self.assertEqual(self.sh(dom, "ls /sys/class/net").split(), ["eth0", "eth1", "eth2", "lo"])

    def test_sysrq_sync_prints_on_console(self):
        dom = self.started("sysrq")
        self.p.domain.sysrq(dom, "s")
        self.assertIn("SysRq : Emergency Sync", self.p.domain.console_read(dom)["data"])


class LiveStateTests(ConsoleBase):
    """The shell's files prove the API's live changes."""

    def cpus(self, dom):
        return len(re.findall(r"^processor\t: \d+$", self.sh(dom, "cat /proc/cpuinfo"), re.M))

    def test_cpuinfo_follows_set_vcpus(self):
        dom = self.started("cpus", vcpus=4, current_vcpus=2)
        self.assertEqual(self.cpus(dom), 2)
        self.p.domain.set_vcpus(dom, 4)
        self.assertEqual(self.cpus(dom), 4)
        self.p.domain.set_vcpus(dom, 1)
        self.assertEqual(self.cpus(dom), 1)
        self.assertIn("processor\t: 0\n", self.sh(dom, "cat /proc/cpuinfo"))

    def test_meminfo_follows_set_memory(self):
        dom = self.started("mem", memory=131072)
        self.assertRegex(self.sh(dom, "cat /proc/meminfo"), r"MemTotal: +131072 kB")
        self.p.domain.set_memory(dom, 98304)
        self.assertRegex(self.sh(dom, "cat /proc/meminfo"), r"MemTotal: +98304 kB")
        balloon = self.sh(dom, "cat /proc/xen/balloon")
        self.assertRegex(balloon, r"Current allocation: +98304 kB")
        self.assertRegex(balloon, r"Low-mem balloon: +32768 kB")
        self.assertEqual(self.sh(dom, "free").splitlines()[1].split()[1], "98304")

    def partitions(self, dom):
        lines = self.sh(dom, "cat /proc/partitions").splitlines()
        self.assertEqual(lines[:2], ["major minor  #blocks  name", ""])
        return {f[3]: (int(f[0]), int(f[1]), int(f[2])) for f in map(str.split, lines[2:])}

    def test_partitions_follow_attach_detach(self):
        base = make_disk(self.disks, uniq("base") + ".img", 2 << 20)
        dom = self.started("parts", disks=[base])
        self.assertEqual(self.partitions(dom), {"vda": (254, 0, 2048)})
        extra = {}
        for target, size in (("vdb", 1 << 20), ("xvdc", 3 << 20), ("hdc", 1 << 20),
                             ("sdb", 1 << 20), ("xvdd1", 1 << 20)):
            path = make_disk(self.disks, uniq(target) + ".img", size)
            self.assertIs(self.p.domain.attach_device(
                dom, disk_xml({"source": path, "target": target})), True)
            extra[target] = size // 1024
        parts = self.partitions(dom)
        self.assertEqual(parts["vdb"], (254, 16, 1024))
        self.assertEqual(parts["xvdc"], (202, 32, 3072))
        self.assertEqual(parts["hdc"], (22, 0, 1024))
        self.assertEqual(parts["sdb"], (8, 16, 1024))
        self.assertEqual(parts["xvdd1"], (202, 49, 1024))
        self.assertIn("xvdc", self.sh(dom, "ls /dev").split())
        self.p.domain.detach_device(dom, "vdb")
        parts = self.partitions(dom)
        self.assertNotIn("vdb", parts)
        self.assertIn("xvdc", parts)
        self.assertNotIn("vdb", self.sh(dom, "ls /dev").split())

    def uptime(self, dom):
        return float(self.sh(dom, "cat /proc/uptime").split()[0])

    def test_reboot_resets_uptime_and_variables(self):
        dom = self.started("reboot")
        self.sh(dom, "kept=yes")
        time.sleep(0.3)
        before = self.uptime(dom)
        self.assertGreaterEqual(before, 0.3)
        self.p.domain.sysrq(dom, "b")
        self.assertLess(self.uptime(dom), before)
        self.assertEqual(self.sh(dom, "echo [$kept]"), "[]\n")
        # A clean reboot (asynchronous) too.
        self.sh(dom, "kept=again")
        self.p.domain.reboot(dom)
        wait_for(lambda: self.p.domain.lookup(dom)["reason"] == "rebooted" and
                 self.p.domain.lookup(dom)["state"] == "running", ASYNC)
        self.assertEqual(self.sh(dom, "echo [$kept]"), "[]\n")

    def test_fresh_start_clears_variables(self):
        dom = self.started("fresh")
        self.sh(dom, "kept=yes")
        self.p.domain.destroy(dom)
        self.p.domain.start(dom)
        self.assertEqual(self.sh(dom, "echo [$kept]"), "[]\n")


class GuestStateTests(ConsoleBase):
    """Shell variables are guest memory: they go wherever the guest goes."""

    def test_save_restore_keeps_variables(self):
        dom = self.started("save")
        self.sh(dom, "export kept='a b'; false")
        path = os.path.join(self.daemon.dir, dom + ".save")
        self.assertIs(self.p.domain.save(dom, path), True)
        self.p.domain.restore(path)
        self.assertEqual(self.sh(dom, "echo $? \"$kept\""), "1 a b\n")
        self.assertIn("kept=a b", self.sh(dom, "env").splitlines())

    def test_suspend_resume_keeps_variables(self):
        dom = self.started("susp")
        self.sh(dom, "kept=yes")
        self.p.domain.suspend(dom)
        self.assertEqual(self.p.domain.lookup(dom)["state"], "suspended")
        self.p.domain.resume(dom)
        self.assertEqual(self.sh(dom, "echo $kept"), "yes\n")

    def test_paused_guest_reads_input_when_unpaused(self):
        dom = self.started("paused")
        self.p.domain.pause(dom)
        n, out = self.typed(dom, "kept=late; echo $kept\n")
        self.assertEqual(n, len("kept=late; echo $kept\n"))
        self.assertEqual(out, "", "a paused guest echoes nothing")
        # What waits to be read goes along with a save.
        path = os.path.join(self.daemon.dir, dom + ".save")
        self.p.domain.save(dom, path)
        self.p.domain.restore(path, True)
        off = self.p.domain.console_read(dom)["offset"]
        self.p.domain.unpause(dom)
        out = self.p.domain.console_read(dom, off)["data"]
        self.assertIn("kept=late; echo $kept\nlate\n" + PROMPT, out)

    def test_daemon_restart_keeps_variables(self):
        d = Daemon().start()
        p = d.proxy()
        try:
            dom = uniq("restart")
            p.domain.define(domain_xml(dom))
            p.domain.start(dom)
            self.sh(dom, "kept=yes", proxy=p)
            p("close")()
            d.kill()
            d.start()
            p = d.proxy()
            self.assertEqual(p.domain.lookup(dom)["state"], "running")
            self.assertEqual(self.sh(dom, "echo $kept", proxy=p), "yes\n")
        finally:
            p("close")()
            d.stop(expect_rc=None)

    def test_migration_keeps_variables(self):
        dst = Daemon().start()
        pd = dst.proxy()
        try:
            dom = self.started("mig")
            self.sh(dom, "kept=travelled")
            self.assertIs(self.p.domain.migrate(dom, "unix://" + dst.socket, True), True)
            self.assertEqual(self.sh(dom, "echo $kept", proxy=pd), "travelled\n")
            pd.domain.destroy(dom)
        finally:
            pd("close")()
            dst.stop()


class FaultTests(ConsoleBase):

    def test_inactive_domain(self):
        dom = uniq("off")
        self.p.domain.define(domain_xml(dom))
        self.assertFault(OPERATION_INVALID, self.p.domain.console_write, dom, "ls\n",
                         contains="not running")

    def test_domain0(self):
        self.assertFault(OPERATION_INVALID, self.p.domain.console_write, "Domain-0", "ls\n",
                         contains="domain 0")
        self.assertFault(OPERATION_INVALID, self.p.domain.console_write, "0", "ls\n")

    def test_unknown_domain(self):
        self.assertFault(NO_DOMAIN, self.p.domain.console_write, "nosuch", "ls\n")

    def test_oversize(self):
        dom = self.started("big")
        self.assertFault(LIMIT, self.p.domain.console_write, dom, "x" * (MAX + 1),
                         contains="4096")
        # Counted in bytes: 2049 two-byte characters are too many.
        self.assertFault(LIMIT, self.p.domain.console_write, dom, "\u00e9" * 2049)
        self.assertEqual(self.p.domain.console_write(dom, "x" * MAX), MAX)

    def test_wrong_arguments(self):
        dom = self.started("args")
        self.assertFault(-32602, self.p.domain.console_write, dom)
        self.assertFault(-32602, self.p.domain.console_write, dom, 5)

    def test_characters_xml_cannot_carry(self):
        """^C and the like cannot travel in XML 1.0 text: xmlrpc.client sends them raw and
        the request is refused as not well-formed; the daemon carries on (the base64
        form carries them: ControlKeyTests)."""
        dom = self.started("ctl")
        self.assertFault(PARSE, self.p.domain.console_write, dom, "a\x03b\n")
        self.assertEqual(self.sh(dom, "echo fine"), "fine\n")

    def test_base64_oversize_and_wrong_types(self):
        dom = self.started("b64big")
        self.assertFault(LIMIT, self.p.domain.console_write, dom,
                         xmlrpc.client.Binary(b"\x03" * (MAX + 1)), contains="4096")
        self.assertEqual(self.p.domain.console_write(dom, xmlrpc.client.Binary(b"x" * MAX)),
                         MAX)
        self.assertFault(-32602, self.p.domain.console_write, dom, [b"x"])
        self.assertFault(OPERATION_INVALID, self.p.domain.console_write, "Domain-0",
                         xmlrpc.client.Binary(b"\x03"))


class ControlKeyTests(ConsoleBase):
    """The base64 form of domain.console_write: raw key bytes, control keys included."""

    def keys(self, dom, data):
        """Type raw bytes; return (bytes accepted, what the console printed meanwhile)."""
        off = self.p.domain.console_read(dom)["offset"]
        n = self.p.domain.console_write(dom, xmlrpc.client.Binary(data))
        return n, self.p.domain.console_read(dom, off)["data"]

    def test_ctrl_c_discards_the_line(self):
        dom = self.started("ctrlc")
        n, out = self.keys(dom, b"echo lost\x03")
        self.assertEqual((n, out), (10, "echo lost^C\n" + PROMPT))
        self.assertEqual(self.sh(dom, "echo $?"), "130\n")
        # A half-typed line is gone: Enter after ^C runs only what came after it.
        n, out = self.keys(dom, b"rm=half\x03echo [$rm]\n")
        self.assertEqual(out, "rm=half^C\n" + PROMPT + "echo [$rm]\n[]\n" + PROMPT)
        # Inside an open quote too: the continued command is dropped as a whole.
        n, out = self.keys(dom, b"echo 'open\nmore\x03")
        self.assertEqual(out, "echo 'open\n> more^C\n" + PROMPT)
        self.assertEqual(self.sh(dom, "echo ok"), "ok\n")

    def test_ctrl_u_ctrl_d_escape_and_nul(self):
        dom = self.started("keys")
        n, out = self.keys(dom, b"junk\x15echo kept\n")
        self.assertEqual(out, "junk^U\necho kept\nkept\n" + PROMPT)
        # ^D on an empty line: ignored (the shell does not exit).
        self.assertEqual(self.keys(dom, b"\x04"), (1, ""))
        self.assertEqual(self.sh(dom, "echo still"), "still\n")
        # Esc and a cursor key echo as ^[ (the simulated shell has no line editing).
        n, out = self.keys(dom, b"\x1b[A\x03")
        self.assertEqual((n, out), (4, "^[[A^C\n" + PROMPT))
        # NUL is accepted and dropped.
        n, out = self.keys(dom, b"ec\x00ho nul\x00\n")
        self.assertEqual((n, out), (11, "echo nul\nnul\n" + PROMPT))
        # Bytes that are not UTF-8 reach the guest; the console shows them as U+FFFD.
        n, out = self.keys(dom, b"echo \xff\n")
        self.assertEqual((n, out), (7, "echo \ufffd\n\ufffd\n" + PROMPT))

    def test_typed_at_a_paused_guest(self):
        dom = self.started("keys-paused")
        self.p.domain.pause(dom)
        self.assertEqual(self.keys(dom, b"echo gone\x03echo $?\n"), (18, ""))
        off = self.p.domain.console_read(dom)["offset"]
        self.p.domain.unpause(dom)
        self.assertEqual(self.p.domain.console_read(dom, off)["data"],
                         "echo gone^C\n" + PROMPT + "echo $?\n130\n" + PROMPT)


class HostileInputTests(ConsoleBase):

    def reset(self, dom):
        """End whatever the garbage left open (a quote, a continued line): each state
        is left by one of these."""
        for q in ("", "'", '"', "'", '"'):
            n, out = self.typed(dom, q + "\n")
            if out.endswith(PROMPT):
                return
        self.fail("the shell did not come back to its prompt")

    def alive(self, dom):
        self.reset(dom)
        self.assertEqual(self.p.domain.lookup(dom)["state"], "running")
        self.assertEqual(self.sh(dom, "echo alive"), "alive\n")
        self.assertEqual(self.p.daemon.version()["product"], "xend")

    def test_garbage_lines(self):
        dom = self.started("junk", vcpus=2)
        rnd = random.Random(1234)
        alphabet = ("abcxyz019 \t;$${}'\"\\#|&<>()`=*?~!%^/.-_\x7f\r"
                    "\u00e9\u0080\u009f\u2028\ufffd\U0001f600")
        for _ in range(12):
            text = "".join(rnd.choice(alphabet) for _ in range(3000))
            data = text.encode()[:MAX].decode(errors="ignore")
            n = self.p.domain.console_write(dom, data)
            self.assertLessEqual(n, len(data.encode()))
            self.reset(dom)
        self.alive(dom)

    def test_one_full_line_of_garbage(self):
        dom = self.started("full")
        rnd = random.Random(99)
        junk = "".join(rnd.choice("$;{}\x7f\t\r'\"\\ab\u00ff") for _ in range(MAX // 2))
        junk = junk.encode()[:MAX].decode(errors="ignore")
        self.p.domain.console_write(dom, junk)
        # A line longer than the tty's takes no more, but still ends.
        self.p.domain.console_write(dom, "z" * MAX)
        self.alive(dom)

    def test_variables_are_bounded(self):
        dom = self.started("count")
        out = self.sh(dom, ";".join(f"v{i}=x" for i in range(70)))
        self.assertEqual(out, "".join(f"sh: v{i}: too many variables\n" for i in range(64, 70)))
        self.assertEqual(self.sh(dom, "echo $v63 [$v64]"), "x []\n")
        self.alive(dom)
        dom = self.started("size")
        self.sh(dom, "a=" + "y" * 4000)
        self.assertEqual(self.sh(dom, "b=$a$a"), "sh: b: value too long\n")
        self.assertEqual(self.sh(dom, "b=$a; c=$a; d=$a"), "")
        self.assertEqual(self.sh(dom, "e=$a"), "sh: e: out of memory for variables\n")
        self.assertEqual(self.sh(dom, "echo $a$a$a$a$a"), "sh: Argument list too long\n")
        self.alive(dom)

    def test_output_is_bounded_and_paced(self):
        """A write whose commands print more than one run may is read in parts: the rest
        waits in the typeahead and is read by the next writes (even empty ones)."""
        dom = self.started("flood", vcpus=8)
        line = "cat /proc/cpuinfo\n"
        data = line * (MAX // len(line))
        seen = self.p.domain.console_read(dom)["offset"]
        self.assertEqual(self.p.domain.console_write(dom, data), len(data))
        total, calls = 0, 0
        while True:
            # Read after every write: the console ring keeps only the newest 64 KiB.
            c = self.p.domain.console_read(dom, seen)
            self.assertEqual(c["start"] <= seen, True, "output was lost")
            self.assertLessEqual(len(c["data"].encode()), 64 * 1024 + 64)
            seen = c["offset"]
            total += c["data"].count(PROMPT)
            if total >= MAX // len(line) or calls > 100:
                break
            self.assertEqual(self.p.domain.console_write(dom, ""), 0)
            calls += 1
        self.assertEqual(total, MAX // len(line))
        self.assertGreater(calls, 1, "the output came in parts")
        self.alive(dom)


if __name__ == "__main__":
    xendtest.main()
