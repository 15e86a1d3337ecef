"""The daemon's life: command line, --check-config, pid file, detaching with -d, signals
(SIGTERM/SIGINT stop it and remove its files, SIGHUP reopens the log), stale files from a
crashed daemon, and a second daemon on the same socket or pid file."""
import os
import shutil
import tempfile
import re
import signal
import socket
import subprocess
import unittest

import xendtest
from xendtest import Daemon, pid_running, wait_for

TIMEOUT = 30 * xendtest.SLOW


def run_xend(args, files_in=None):
    """Run xend to completion. Output goes to files in files_in (default: the directory of
    the --config file), not pipes: a detached daemon (or its valgrind) may keep inherited
    descriptors, and a pipe would then never reach EOF."""
    if files_in is None:
        files_in = os.path.dirname(args[args.index("--config") + 1])
    out_path = os.path.join(files_in, "run.out")
    err_path = os.path.join(files_in, "run.err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        p = subprocess.run(xendtest.WRAPPER + [xendtest.XEND_BIN] + args,
                           stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=TIMEOUT)
    with open(out_path) as f:
        p.stdout = f.read()
    with open(err_path) as f:
        p.stderr = f.read()
    return p


def write_config(daemon, text):
    with open(daemon.conf_path, "w") as f:
        f.write(text)
    return daemon.conf_path


def kill_if_running(pid):
    if pid_running(pid):
        os.kill(pid, signal.SIGKILL)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


class CommandLineTests(unittest.TestCase):
    def test_version_and_help(self):
        d = Daemon()
        r = run_xend(["-V"], files_in=d.dir)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^xend \d+\.\d+\.\d+ \(API 1\.0\)\n$")
        r = run_xend(["--help"], files_in=d.dir)
        self.assertEqual(r.returncode, 0)
        for opt in ("--config", "--socket", "--daemon", "--pid-file", "--check-config",
                    "--log-level", "--version"):
            self.assertIn(opt, r.stdout)

    def test_bad_arguments(self):
        d = Daemon()
        for args in (["--bogus"], ["-x"], ["--config"], ["extra-arg"],
                     ["--log-level", "loud", "--check-config", "--config", d.conf_path]):
            with self.subTest(args=args):
                r = run_xend(args, files_in=d.dir)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertTrue(r.stderr.startswith("xend: error: "), r.stderr)

    def test_check_config_good(self):
        d = Daemon()
        r = run_xend(["--config", d.conf_path, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"config OK: {d.conf_path}\n")
        self.assertFalse(os.path.exists(d.socket), "--check-config must start nothing")
        self.assertFalse(os.path.exists(d.pid_file))

    def test_check_config_shipped_file(self):
        # The xend.conf installed to /etc/xend parses, and sets only the defaults.
        path = os.path.join(os.environ["XEND_SOURCE_DIR"], "xend.conf")
        r = run_xend(["--config", path, "--check-config"], files_in=Daemon().dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"config OK: {path}\n")

    def test_check_config_every_key(self):
        d = Daemon()
        write_config(d, f"""# every key, non-default values
socket = {d.socket}
socket_mode = 0660
socket_group = {os.getgid()}
tcp_listen = yes
tcp_address = ::1
tcp_port = 0
pid_file = {d.pid_file}
log_level = warn
log_output = syslog
max_body = 1048576
max_depth = 32
max_elements = 5000
max_string = 65536
max_header = 8192
max_connections = 16
idle_timeout = 5
workers = 2
""")
        r = run_xend(["--config", d.conf_path, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)

    BAD = [
        ("frobnicate = 1", "frobnicate"),
        ("max_body = 12abc", "max_body"),
        ("max_body = 1", "max_body"),
        ("max_body = 99999999999999999999999", "max_body"),
        ("max_depth = 0", "max_depth"),
        ("max_elements = -5", "max_elements"),
        ("max_string = 1 000", "max_string"),
        ("max_header = 0x4000", "max_header"),
        ("max_connections = 0", "max_connections"),
        ("idle_timeout = 1e3", "idle_timeout"),
        ("workers = 0", "workers"),
        ("workers = 100000", "workers"),
        ("tcp_port = 70000", "tcp_port"),
        ("tcp_listen = maybe", "tcp_listen"),
        ("tcp_address = example.com", "tcp_address"),
        ("socket_mode = 0999", "socket_mode"),
        ("socket_mode = rw", "socket_mode"),
        ("socket_mode = 01777", "socket_mode"),
        ("socket = relative/xend.sock", "socket"),
        ("socket = /" + "a" * 200, "socket"),
        ("socket_group = no-such-group-xend-test", "socket_group"),
        ("pid_file = xend.pid", "pid_file"),
        ("log_level = loud", "log_level"),
        ("log_output = file:relative.log", "log_output"),
        ("log_output = console", "log_output"),
        ("this is not a setting", "expected"),
        ("max_depth = 5\nmax_depth = 6", "already set"),
    ]

    def test_check_config_bad(self):
        for line, what in self.BAD:
            with self.subTest(line=line):
                d = Daemon()
                # Two good lines first, so the error must name line 3 (or 4 for the repeat).
                write_config(d, f"socket = {d.socket}\n# comment\n{line}\n")
                r = run_xend(["--config", d.conf_path, "--check-config"])
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.startswith("xend: error: "), r.stderr)
                want_line = 4 if "\n" in line else 3
                self.assertIn(f"{d.conf_path}:{want_line}", r.stderr)
                self.assertIn(what, r.stderr)
                # The same file refuses to start the daemon, with the same message.
                r2 = run_xend(["--config", d.conf_path])
                self.assertEqual(r2.returncode, 1)
                self.assertIn(f"{d.conf_path}:{want_line}", r2.stderr)
                self.assertFalse(os.path.exists(d.socket))

    def test_missing_config(self):
        d = Daemon()
        missing = os.path.join(d.dir, "nope.conf")
        r = run_xend(["--config", missing, "--check-config"], files_in=d.dir)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("xend: error: "), r.stderr)
        self.assertIn(missing, r.stderr)

    def test_command_line_overrides_checked(self):
        d = Daemon()
        r = run_xend(["--config", d.conf_path, "--check-config", "--socket", "rel.sock"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--socket", r.stderr)
        r = run_xend(["--config", d.conf_path, "--check-config", "-p", "rel.pid"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--pid-file", r.stderr)


class LifecycleTests(unittest.TestCase):
    def start(self, **kw):
        d = Daemon(**kw)
        self.addCleanup(d.stop, None)
        return d

    def assertStopped(self, d):
        self.assertFalse(os.path.exists(d.socket), "socket file left behind")
        self.assertFalse(os.path.exists(d.pid_file), "pid file left behind")

    def test_sigterm_clean_shutdown(self):
        d = self.start(tcp=True).start()
        self.assertEqual(read_pid(d.pid_file), d.proc.pid)
        with d.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
        # The line is written just after the listeners start, so it may trail the socket.
        wait_for(lambda: "started" in d.output())
        log = d.output()
        self.assertRegex(log, r"info: xend \d+\.\d+\.\d+ .*started")
        self.assertIn(d.socket, log)
        self.assertIn(f"127.0.0.1 port {d.tcp_port}", log)
        self.assertEqual(d.stop(expect_rc=0), 0)
        self.assertStopped(d)
        self.assertIn("stopped", d.output())

    def test_sigint_clean_shutdown(self):
        d = self.start().start()
        # A client holding an idle keep-alive connection must not delay the shutdown.
        s = xendtest.connect(d.socket)
        self.addCleanup(s.close)
        d.proc.send_signal(signal.SIGINT)
        self.assertEqual(d.proc.wait(timeout=TIMEOUT), 0, d.output())
        self.assertStopped(d)

    def test_sighup_reopens_log(self):
        d = self.start().start()
        rotated = d.log + ".1"
        os.rename(d.log, rotated)
        d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "log reopened" in read_text(d.log), timeout=TIMEOUT),
                        "no new log file after SIGHUP: " + d.output())
        old = read_text(rotated)
        self.assertIn("started", old)
        with d.proxy() as p:
            self.assertEqual(p.daemon.version()["api"], "1.0")
        self.assertTrue(wait_for(lambda: "connection opened" in read_text(d.log)),
                        "new lines do not go to the new log file")
        self.assertEqual(read_text(rotated), old, "the rotated file still receives lines")
        # The daemon still works and stops cleanly afterwards, logging to the new file.
        self.assertEqual(d.stop(), 0)
        self.assertIn("stopped", read_text(d.log))

    def test_daemon_mode(self):
        d = self.start()
        r = run_xend(["-d", "--config", d.conf_path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(d.socket), "the parent returned before the socket")
        pid = read_pid(d.pid_file)
        self.addCleanup(kill_if_running, pid)
        self.assertTrue(pid_running(pid))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.assertIn(b"xend", f.read())
        # Detached: its own session, not the test's.
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        self.assertNotEqual(int(fields[3]), os.getsid(0), "still in the caller's session")
        try:
            with d.proxy() as p:
                self.assertEqual(p.daemon.version()["product"], "xend")
        finally:
            os.kill(pid, signal.SIGTERM)
        self.assertTrue(wait_for(lambda: not pid_running(pid), timeout=TIMEOUT),
                        "the daemon did not stop on SIGTERM")
        self.assertStopped(d)
        self.assertIn("stopped", d.output())

    def blocked_socket(self):
        """A socket path whose parent cannot be created: a regular file stands where a
        directory must go (inside the test's own directory, so nothing outside is touched)."""
        tmp = tempfile.mkdtemp(prefix="xend-test-block-")
        self.addCleanup(shutil.rmtree, tmp, True)
        blocker = os.path.join(tmp, "not-a-dir")
        with open(blocker, "w") as f:
            f.write("x")
        d = self.start(config={"socket": os.path.join(blocker, "sub", "xend.sock")})
        return d, blocker

    def test_daemon_mode_reports_startup_error(self):
        d, blocker = self.blocked_socket()
        r = run_xend(["-d", "--config", d.conf_path])
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("xend: error: "), r.stderr)
        self.assertIn(blocker, r.stderr)
        self.assertFalse(os.path.exists(d.pid_file), "pid file left after a failed start")

    def test_startup_error_foreground(self):
        d, _ = self.blocked_socket()
        r = run_xend(["--config", d.conf_path])
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("xend: error: "), r.stderr)
        self.assertFalse(os.path.exists(d.pid_file))

    def test_second_instance_refused(self):
        d = self.start().start()
        # Same config: the pid file names a live xend.
        r = run_xend(["--config", d.conf_path])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^xend: error: .*already running.*" + str(d.proc.pid))
        # Another pid file, same socket: the live server on the socket is detected.
        other_pid = os.path.join(d.dir, "other.pid")
        r = run_xend(["--config", d.conf_path, "-p", other_pid])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^xend: error: .*already listening on " + re.escape(d.socket))
        self.assertFalse(os.path.exists(other_pid))
        # The first daemon is untouched.
        self.assertEqual(read_pid(d.pid_file), d.proc.pid)
        with d.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
        self.assertEqual(d.stop(), 0)

    def test_stale_files_replaced(self):
        d = self.start()
        # A socket file nobody listens on, as a crashed daemon leaves it.
        s = socket.socket(socket.AF_UNIX)
        s.bind(d.socket)
        s.close()
        # A pid file naming a process that has exited.
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(d.pid_file, "w") as f:
            f.write(f"{dead.pid}\n")
        d.start()
        self.assertEqual(read_pid(d.pid_file), d.proc.pid)
        with d.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
        self.assertIn("stale", d.output())
        self.assertEqual(d.stop(), 0)

    def test_pid_file_of_other_program_replaced(self):
        d = self.start()
        with open(d.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")  # alive, but python, not xend
        d.start()
        self.assertEqual(read_pid(d.pid_file), d.proc.pid)
        self.assertEqual(d.stop(), 0)

    def test_non_socket_file_not_removed(self):
        d = self.start()
        with open(d.socket, "w") as f:
            f.write("precious")
        r = run_xend(["--config", d.conf_path])
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a socket", r.stderr)
        with open(d.socket) as f:
            self.assertEqual(f.read(), "precious")

    def test_socket_and_pid_file_options(self):
        d = self.start()
        other_sock = os.path.join(d.dir, "other.sock")
        other_pid = os.path.join(d.dir, "other.pid")
        d.args = ["-s", other_sock, "--pid-file", other_pid, "--log-level", "info"]
        d.socket = other_sock
        d.pid_file = other_pid
        d.start()
        self.assertTrue(os.path.exists(other_sock))
        self.assertEqual(read_pid(other_pid), d.proc.pid)
        self.assertFalse(os.path.exists(os.path.join(d.dir, "xend.sock")))
        with d.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
        # --log-level info: debug lines (per connection) are gone from the log.
        self.assertNotIn("debug:", d.output())
        self.assertEqual(d.stop(), 0)
        self.assertStopped(d)

    def test_no_pid_file(self):
        d = self.start(config={"pid_file": ""}).start()
        self.assertFalse(os.path.exists(d.pid_file))
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    xendtest.main()
