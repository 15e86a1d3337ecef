"""libxend, the C client library, against a real xend: a small C program
(tests/live/libxend-client.c, path in XEND_LIBXEND_CLIENT) calls methods over unix://,
httpu://, http:// and ssh://, and the tests check results, faults, transport errors,
keep-alive reuse of one connection and the single reconnect after the daemon's idle timeout.
Also: the typed functions are complete and consistent with the live daemon's methods and
signatures, a scenario runs through them, ssh:// works through a stand-in for ssh (a relay
to the daemon's socket, as `xm serve` is), the xm config file is found, and the example
program docs/examples/list-domains runs."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import xendtest
from xendtest import Daemon

CLIENT = os.environ.get("XEND_LIBXEND_CLIENT", "")
BUILD = os.environ.get("XEND_BUILD_DIR", "")
METHODS_H = os.path.join(BUILD, "src", "lib", "xend", "xend-methods.h")
LIST_DOMAINS = os.path.join(BUILD, "docs", "examples", "list-domains")

# Stands in for `ssh [-p port] [-l user] host xm serve [--server unix:///path]`: records its
# arguments, then relays bytes between its stdin/stdout and the daemon's socket (the
# --server path, else $RELAY_SOCKET) until the daemon closes. RELAY_EXIT=N exits at once
# with status N instead, without reading anything.
RELAY = textwrap.dedent("""\
    import json, os, select, socket, sys
    args = sys.argv[1:]
    if os.environ.get("RELAY_LOG"):
        with open(os.environ["RELAY_LOG"], "a") as f:
            f.write(json.dumps(args) + "\\n")
    if os.environ.get("RELAY_EXIT"):
        sys.exit(int(os.environ["RELAY_EXIT"]))
    path = os.environ.get("RELAY_SOCKET")
    if "--server" in args:
        path = args[args.index("--server") + 1][len("unix://"):]
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    reading = True
    while True:
        ready = select.select([s] + ([0] if reading else []), [], [])[0]
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                s.sendall(data)
            else:
                reading = False
                s.shutdown(socket.SHUT_WR)
        if s in ready:
            data = s.recv(65536)
            if not data:
                break
            os.write(1, data)
    """)


def run_client(*args, timeout=30, env=None):
    p = subprocess.run(xendtest.WRAPPER + [CLIENT] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout * xendtest.SLOW, env=env)
    return p.returncode, p.stdout, p.stderr


def run_example(*args, env=None):
    p = subprocess.run(xendtest.WRAPPER + [LIST_DOMAINS] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=30 * xendtest.SLOW, env=env)
    return p.returncode, p.stdout, p.stderr


# The C declaration (without the name) each XML-RPC type maps to in a typed function.
PARAM_C = {"string": ["const char *"], "int": ["int "], "i4": ["int "], "boolean": ["int "],
           "i8": ["int64_t "], "double": ["double "], "base64": ["const void *", "size_t "]}
RESULT_C = {"boolean": "int *", "string": "char **", "int": "int64_t *", "i4": "int64_t *",
            "i8": "int64_t *"}


def typed_prototypes():
    """{function name: [parameter declarations without names]} from xend-methods.h."""
    with open(METHODS_H) as f:
        text = f.read()
    protos = {}
    for name, params in re.findall(r"^int (xend_\w+)\((.*?)\);", text, re.M | re.S):
        decls = [" ".join(p.split()) for p in params.split(",")]
        protos[name] = [re.sub(r"\w+$", "", d) for d in decls]
    return protos


class LibxendTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def uris(self):
        return [f"unix://{self.daemon.socket}", f"httpu://{self.daemon.socket}",
                f"http://127.0.0.1:{self.daemon.tcp_port}/",
                f"http://localhost:{self.daemon.tcp_port}/RPC2"]

    def call_ok(self, *args):
        rc, out, err = run_client(*args)
        self.assertEqual(rc, 0, out + err)
        return out

    def test_daemon_version(self):
        for uri in self.uris():
            with self.subTest(uri=uri):
                out = self.call_ok(uri, "daemon.version")
                self.assertIn("<name>product</name><value><string>xend</string>", out)
                self.assertIn("<name>api</name><value><string>1.0</string>", out)

    def test_domain_list(self):
        for uri in self.uris()[:3]:
            with self.subTest(uri=uri):
                out = self.call_ok(uri, "domain.list")
                self.assertTrue(out.startswith("<value><array><data>"), out)

    def test_arguments(self):
        uri = self.uris()[0]
        out = self.call_ok(uri, "system.methodHelp", "daemon.version")
        self.assertIn("api", out)
        # several arguments go through xend_call_value; daemon.version takes none
        rc, out, _ = run_client(uri, "daemon.version", "i:1", "s:x")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault -32602 INVALID_PARAMS: ")

    def test_fault_no_domain(self):
        for uri in self.uris()[:3]:
            with self.subTest(uri=uri):
                rc, out, _ = run_client(uri, "domain.lookup", "nosuch")
                self.assertEqual(rc, 1, out)
                self.assertRegex(out, r"^fault 3 NO_DOMAIN: .*nosuch")

    def test_unknown_method(self):
        rc, out, _ = run_client(self.uris()[0], "no.such.method")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault -32601 METHOD_NOT_FOUND: .*no\.such\.method")

    def test_connection_refused(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "dead.sock")
            s = socket.socket(socket.AF_UNIX)
            s.bind(path)  # a socket file nobody listens on
            s.close()
            rc, out, _ = run_client(f"unix://{path}", "daemon.version")
            self.assertEqual(rc, 1)
            self.assertEqual(out.strip(), f"fault 12 SYSTEM: Unable to connect to xend at "
                             f"unix://{path}: Connection refused")
        port = xendtest.free_tcp_port()
        rc, out, _ = run_client(f"http://127.0.0.1:{port}/", "daemon.version")
        self.assertEqual(rc, 1)
        self.assertIn("Unable to connect to xend at http://127.0.0.1:", out)
        self.assertIn("Connection refused", out)

    def test_unresolvable_host(self):
        rc, out, _ = run_client("http://nosuchhost.invalid:8006/", "daemon.version")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault 23 NO_HOST: .*nosuchhost\.invalid")

    def test_unsupported_schemes(self):
        # (https:// is supported now: tests/live/test_tls_client.py)
        rc, out, _ = run_client("ftp://127.0.0.1:8006/", "daemon.version")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault 13 INVALID_ARG: invalid URI 'ftp://127.0.0.1:8006/'")

    def test_typed_functions_complete(self):
        """Every method the daemon lists (but system.*, the Xend 3.x xend.* namespace and the
        daemon-to-daemon domain.migrate_receive, _prepare and _finish) has a typed function whose parameters and
        result follow the longest signature the daemon reports; and no function is left
        without a method. (lib-symbols checks that these are exactly what libxend.so
        exports.)"""
        p = self.daemon.proxy()
        wanted = {}
        for m in p.system.listMethods():
            if m.startswith(("system.", "xend.")) or m in (
                    "domain.migrate_receive", "domain.migrate_prepare", "domain.migrate_finish"):
                continue
            wanted["xend_" + m.replace(".", "_")] = m
        protos = typed_prototypes()
        self.assertEqual(sorted(protos), sorted(wanted),
                         "typed functions and the daemon's methods differ")
        for fn, method in sorted(wanted.items()):
            with self.subTest(method=method):
                sigs = p.system.methodSignature(method)
                longest = max(sigs, key=len)
                want = ["xend_conn *"]
                for t in longest[1:]:
                    want += PARAM_C.get(t, ["const xmlrpc_value *"])
                want.append(RESULT_C.get(longest[0], "xmlrpc_value **"))
                self.assertEqual(protos[fn], want)

    def test_typed_scenario(self):
        """domain.define/start/pause/lookup/get_xml/list/destroy/undefine, node.info and
        event.current_id through their typed functions, then a fault and a refused NULL
        argument, over each transport."""
        for i, uri in enumerate(self.uris()[:3]):
            with self.subTest(uri=uri):
                self.check_typed_scenario(uri, f"libxend-typed-{i}")

    def check_typed_scenario(self, uri, name, env=None):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write(xendtest.domain_xml(name))
        self.addCleanup(os.unlink, f.name)
        rc, out, err = run_client("--typed", uri, f.name, name, env=env)
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^current_id \d+$")
        self.assertRegex(lines[1], r"^node\.info cpus=[1-9]\d* memory=[1-9]\d*$")
        self.assertEqual(lines[2:-2], [
            f"define {name} shutoff",
            f"start {name} running",
            f"pause {name} paused",
            f"lookup {name} paused persistent=1 memory=65536",
            "get_xml has_name=1",
            f"list Domain-0,{name}",
            f"list_paused {name}",
            f"destroy {name} shutoff",
            "undefine 1",
            "current_id_advanced 1",
        ], out)
        self.assertRegex(lines[-2], rf"^lookup_gone fault 3 NO_DOMAIN: .*{name}")
        self.assertEqual(lines[-1], "pause_null fault 13 INVALID_ARG: domain.pause: "
                                    "argument 'dom' must not be NULL")

    def client_for_nobody(self):
        """A copy of the client and libxend that nobody can run: the build tree may sit in a
        directory only its owner can enter (a fresh clone in a mktemp dir)."""
        tmp = tempfile.mkdtemp(prefix="xend-test-client-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        client = shutil.copy(CLIENT, tmp)
        libdir = os.path.join(os.environ["XEND_BUILD_DIR"], "src", "lib")
        for name in os.listdir(libdir):
            if name.startswith("libxend.so") and not name.endswith(".p"):
                shutil.copy(os.path.join(libdir, name), tmp)
        for name in os.listdir(tmp):
            os.chmod(os.path.join(tmp, name), 0o755)
        return client, dict(os.environ, LD_LIBRARY_PATH=tmp)

    def test_permission_denied(self):
        # root bypasses socket permissions: as root, run the client as nobody instead
        # (needs setpriv); otherwise take write access away from ourselves.
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                self.skipTest("running as root and setpriv is missing")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        client, env = (self.client_for_nobody() if prefix else (CLIENT, None))
        with Daemon() as d:
            os.chmod(d.dir, 0o711)  # reachable, so the socket itself is what refuses
            os.chmod(d.socket, 0o600 if prefix else 0)
            try:
                p = subprocess.run(prefix + [client, f"unix://{d.socket}", "daemon.version"],
                                   stdout=subprocess.PIPE, text=True, timeout=30, env=env)
            finally:
                os.chmod(d.socket, 0o600)
                os.chmod(d.dir, 0o700)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(f"fault 12 SYSTEM: Permission denied on {d.socket}: ", p.stdout)
            self.assertIn("write access", p.stdout)
            self.assertIn("socket_group", p.stdout)

    @staticmethod
    def client_connections(d):
        """Connections the daemon logged from processes other than this test (whose own
        readiness probe may be logged late)."""
        me = f"pid={os.getpid()} "
        return sum(1 for line in d.output().splitlines()
                   if "connection opened" in line and me not in line)

    def test_keep_alive(self):
        with Daemon() as d:
            out = self.call_ok("--calls", 3, f"unix://{d.socket}", "daemon.version")
            self.assertEqual(out.count("<name>product</name>"), 3)
            self.assertEqual(self.client_connections(d), 1, d.output())

    def test_reconnect_after_idle_timeout(self):
        with Daemon(config={"idle_timeout": "1"}) as d:
            out = self.call_ok("--calls", 2, "--sleep", 2, f"unix://{d.socket}",
                               "daemon.version")
            self.assertEqual(out.count("<name>product</name>"), 2)
            # the daemon closed the first connection; libxend opened a second one itself
            self.assertEqual(self.client_connections(d), 2, d.output())

    def test_read_timeout(self):
        # event.next long-polls: a 300 ms read bound ends the wait with a clear error
        with Daemon() as d:
            rc, out, _ = run_client("--timeout", 300, f"unix://{d.socket}", "event.next",
                                    "I:0", "i:10000")
            self.assertEqual(rc, 1, out)
            self.assertIn("did not reply within 300 ms", out)


class SshTests(unittest.TestCase):
    """ssh:// through $XEND_SSH = a relay script standing in for ssh + `xm serve`."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.tmp = tempfile.mkdtemp(prefix="xend-test-ssh-")
        cls.relay = os.path.join(cls.tmp, "relay.py")
        with open(cls.relay, "w") as f:
            f.write(RELAY)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, **extra):
        self.log = os.path.join(self.tmp, f"args-{self.id().rsplit('.', 1)[-1]}.log")
        if os.path.exists(self.log):
            os.unlink(self.log)
        return dict(os.environ, XEND_SSH=f"{sys.executable} {self.relay}", RELAY_LOG=self.log,
                    **extra)

    def relay_runs(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def test_arguments_and_calls(self):
        uri = f"ssh://admin@vmhost.example:2222{self.daemon.socket}"
        rc, out, err = run_client("--calls", 3, uri, "daemon.version", env=self.env())
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.count("<name>product</name><value><string>xend</string>"), 3)
        # one ssh for the three calls (keep-alive over the pipe), with ssh's argument order
        self.assertEqual(self.relay_runs(), [[
            "-p", "2222", "-l", "admin", "vmhost.example", "xm", "serve",
            "--server", f"unix://{self.daemon.socket}"]])

    def test_default_socket(self):
        # no path: `xm serve` picks the daemon's socket itself (here: $RELAY_SOCKET)
        rc, out, err = run_client("ssh://vmhost", "domain.lookup", "Domain-0",
                                  env=self.env(RELAY_SOCKET=self.daemon.socket))
        self.assertEqual(rc, 0, out + err)
        self.assertIn("<name>name</name><value><string>Domain-0</string>", out)
        self.assertEqual(self.relay_runs(), [["vmhost", "xm", "serve"]])

    def test_typed_scenario(self):
        LibxendTests.check_typed_scenario(self, f"ssh://h{self.daemon.socket}", "libxend-ssh",
                                          env=self.env())

    def test_fault(self):
        rc, out, _ = run_client(f"ssh://h{self.daemon.socket}", "domain.lookup", "nosuch",
                                env=self.env())
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"^fault 3 NO_DOMAIN: .*nosuch")

    def test_dead_command(self):
        # ssh failing (255: cannot connect) is a SYSTEM error naming its exit status; the
        # relay exits without reading, so the request may meet a closed pipe: EPIPE, not a
        # SIGPIPE that would kill the client (rc -13); and no zombie (the client exits 3)
        for status in (255, 0):
            with self.subTest(status=status):
                rc, out, err = run_client(f"ssh://h{self.daemon.socket}", "daemon.version",
                                          env=self.env(RELAY_EXIT=str(status)))
                self.assertEqual(rc, 1, out + err)
                self.assertRegex(out, rf"^fault 12 SYSTEM: .*xend at ssh://h.*exited with "
                                      rf"status {status}")

    def test_missing_command(self):
        env = dict(os.environ, XEND_SSH="/nonexistent/ssh")
        rc, out, _ = run_client(f"ssh://h{self.daemon.socket}", "daemon.version", env=env)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out.strip(), "fault 12 SYSTEM: cannot run '/nonexistent/ssh' for the "
                                      "ssh transport: No such file or directory")

    def test_reconnect_after_idle_timeout(self):
        # the daemon closes the idle connection, the relay exits; libxend starts it again
        with Daemon(config={"idle_timeout": "1"}) as d:
            rc, out, err = run_client("--calls", 2, "--sleep", 2, f"ssh://h{d.socket}",
                                      "daemon.version", env=self.env())
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(out.count("<name>product</name>"), 2)
            self.assertEqual(len(self.relay_runs()), 2)

    def test_real_xm_serve(self):
        """The same through the real `xm serve` (run locally instead of on a far host)."""
        xm = os.path.join(BUILD, "src", "xm", "xm")
        if not os.access(xm, os.X_OK):
            self.skipTest("xm is not built")
        fake_ssh = os.path.join(self.tmp, "local-ssh.py")
        with open(fake_ssh, "w") as f:
            f.write("import os, sys\nargs = sys.argv[1:]\n"
                    "os.execv(os.environ['XM_BIN'], "
                    "['xm'] + args[args.index('xm') + 1:])\n")
        env = dict(os.environ, XEND_SSH=f"{sys.executable} {fake_ssh}", XM_BIN=xm)
        LibxendTests.check_typed_scenario(self, f"ssh://h{self.daemon.socket}",
                                          "libxend-xm-serve", env=env)

    def test_bad_uris(self):
        for uri, needle in (("ssh://-oProxyCommand=x/", "not start with '-'"),
                            ("ssh://h/tmp/x;reboot", "socket path"),
                            ("ssh://u:pw@h/", "no password")):
            with self.subTest(uri=uri):
                rc, out, _ = run_client(uri, "daemon.version", env=self.env())
                self.assertEqual(rc, 1, out)
                self.assertIn("fault 13 INVALID_ARG:", out)
                self.assertIn(needle, out)
                self.assertFalse(os.path.exists(self.log), "the command ran")


class ConfigAndExampleTests(unittest.TestCase):
    """xend_open(NULL) through the xm config file, and docs/examples/list-domains."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.daemon.proxy().domain.define(xendtest.domain_xml("example-guest", memory=131072))
        cls.tmp = tempfile.mkdtemp(prefix="xend-test-conf-")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env_with_config(self, text):
        path = os.path.join(self.tmp, "xm.conf")
        with open(path, "w") as f:
            f.write(text)
        env = {k: v for k, v in os.environ.items() if k not in ("XM_SERVER", "XEND_URI")}
        env.update(XM_CONFIG_FILE=path, XDG_RUNTIME_DIR=self.tmp)
        return env

    def check_listing(self, out):
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^Name\s+ID\s+State\s+Mem\(MiB\)$")
        rows = [line.split() for line in lines[1:]]
        self.assertEqual(rows[0][:3], ["Domain-0", "0", "running"], out)
        self.assertIn(["example-guest", "-", "shutoff", "128"], rows, out)

    def test_example_with_uri(self):
        rc, out, err = run_example(f"unix://{self.daemon.socket}")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(err, "")
        self.check_listing(out)

    def test_example_from_key_file(self):
        env = self.env_with_config(f"# xm\nuri = unix://{self.daemon.socket}\nformat = text\n")
        rc, out, err = run_example(env=env)
        self.assertEqual(rc, 0, out + err)
        self.check_listing(out)

    def test_example_from_xm_config_xml(self):
        env = self.env_with_config(f"<xm>\n  <server type='LegacyXMLRPC' "
                                   f"uri='httpu://{self.daemon.socket}'/>\n</xm>\n")
        rc, out, err = run_example(env=env)
        self.assertEqual(rc, 0, out + err)
        self.check_listing(out)

    def test_example_bad_config(self):
        env = self.env_with_config("uri = unix:///x\ncolour = blue\n")
        rc, out, err = run_example(env=env)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn(":2: unknown key 'colour'", err)

    def test_example_no_daemon(self):
        with tempfile.TemporaryDirectory() as d:
            sock = os.path.join(d, "xend.sock")
            rc, out, err = run_example(f"unix://{sock}")
            self.assertEqual(rc, 1)
            self.assertEqual(out, "")
            self.assertEqual(err, f"list-domains: Unable to connect to xend at unix://{sock}: "
                                  f"No such file or directory\n")
            if os.path.exists("/run/xend/xend.sock"):
                return  # a real xend on this host would be found
            env = self.env_with_config("format = text\n")
            rc, out, err = run_example(env=env)
            self.assertEqual(rc, 1)
            self.assertEqual(out, "")
            self.assertRegex(err, r"^list-domains: Unable to connect to xend: no daemon "
                                  r"found .*Is xend running\?\n$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
