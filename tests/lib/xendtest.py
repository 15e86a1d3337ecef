"""Shared helpers for the Python tests: start a real xend in a private directory, talk to it
with the stdlib's xmlrpc.client over its Unix socket or TCP, and stop it by its PID.

Environment (set by meson): XEND_BIN (the daemon), XEND_BUILD_DIR, XEND_SOURCE_DIR, and
optionally XEND_WRAPPER (e.g. a valgrind command line used by `make fullcheck`).
"""
import atexit
import http.client
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import warnings
import xmlrpc.client

XEND_BIN = os.environ.get("XEND_BIN", "")
SOURCE_DIR = os.environ.get("XEND_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
WRAPPER = shlex.split(os.environ.get("XEND_WRAPPER", ""))
# A tree built with ASan+UBSan (`make asan`; run-tests --sanitized sets XEND_SANITIZED=1).
SANITIZED = os.environ.get("XEND_SANITIZED") == "1"
# Under valgrind everything is ~30x slower, under ASan ~3x: scale every bound we wait for.
SLOW = 20 if WRAPPER else 3 if SANITIZED else 1
# Whether the daemon's VmRSS is its own: valgrind's memory is in it, and ASan keeps freed
# blocks in its quarantine (256 MiB by default) plus shadow memory and redzones. Memory
# bounds are asserted only where it is (the plain build, which every check runs).
MEASURES_MEMORY = not WRAPPER and not SANITIZED


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection whose connect() opens an AF_UNIX socket (as Xend's httpu:// did)."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout * SLOW)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client transport over a Unix socket; keeps one keep-alive connection."""

    def __init__(self, path, timeout=30, **kw):
        super().__init__(**kw)
        self.unix_path = path
        self.timeout = timeout

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixHTTPConnection(self.unix_path, timeout=self.timeout)
        return self._connection[1]


def unix_proxy(path, timeout=30, **kw):
    """A ServerProxy over the Unix socket at path. timeout (seconds, scaled by SLOW) bounds
    every socket operation of a call: a reply that does not come in time raises
    socket.timeout (an OSError) instead of hanging the test."""
    # ServerProxy hands use_builtin_types/use_datetime only to a transport it creates
    # itself, so pass them to ours.
    decode = {k: kw[k] for k in ("use_builtin_types", "use_datetime") if k in kw}
    return xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                     transport=UnixTransport(path, timeout=timeout, **decode),
                                     allow_none=True, **kw)


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_DAEMONS = []


@atexit.register
def _cleanup_daemons():
    """Safety net at exit: kill (by PID) any daemon a failed test left running, and remove
    the temporary directories unless XEND_KEEP_TEMP is set (to look at logs)."""
    for d in _DAEMONS:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        if not os.environ.get("XEND_KEEP_TEMP"):
            shutil.rmtree(d.dir, ignore_errors=True)


class Daemon:
    """A real xend running in its own temporary directory.

    Daemon(config={...}, args=[...]) writes xend.conf with the given keys on top of
    test defaults (socket, pid_file, log_output=file:..., the domain store's config_dir,
    save_dir and run_dir, all under the temp dir, so nothing outside it is touched)."""

    def __init__(self, config=None, args=None, tcp=False, tls=False, users=None):
        """tcp=True: a plain loopback TCP listener without authentication (tcp_tls = no,
        tcp_auth = none). tls=True: a TCP listener with TLS (a fresh test certificate from
        scripts/make-test-cert; clients trust self.ca) and HTTP Basic against users,
        {name: (password, access class)}, written to self.passwd_file."""
        self.dir = tempfile.mkdtemp(prefix="xend-test-")
        self.socket = os.path.join(self.dir, "xend.sock")
        self.socket_ro = os.path.join(self.dir, "xend-ro.sock")
        self.tls = tls
        self.ca = None
        self.passwd_file = os.path.join(self.dir, "passwd")
        tcp = tcp or tls
        self.pid_file = os.path.join(self.dir, "xend.pid")
        self.log = os.path.join(self.dir, "xend.log")
        self.conf_path = os.path.join(self.dir, "xend.conf")
        self.tcp_port = free_tcp_port() if tcp else None
        self.config_dir = os.path.join(self.dir, "domains")
        self.save_dir = os.path.join(self.dir, "save")
        self.run_dir = os.path.join(self.dir, "run")
        cfg = {"socket": self.socket, "pid_file": self.pid_file,
               "log_output": "file:" + self.log, "log_level": "debug",
               "config_dir": self.config_dir, "save_dir": self.save_dir,
               "run_dir": self.run_dir}
        if tcp:
            cfg.update({"tcp_listen": "yes", "tcp_address": "127.0.0.1",
                        "tcp_port": str(self.tcp_port), "tcp_tls": "no", "tcp_auth": "none"})
        if tls:
            tls_dir = os.path.join(self.dir, "tls")
            subprocess.run([os.path.join(SOURCE_DIR, "scripts", "make-test-cert"), tls_dir],
                           check=True)
            self.ca = os.path.join(tls_dir, "ca.pem")
            cfg.update({"tcp_tls": "yes", "tcp_auth": "basic",
                        "tls_cert": os.path.join(tls_dir, "server-cert.pem"),
                        "tls_key": os.path.join(tls_dir, "server-key.pem"),
                        "passwd_file": self.passwd_file})
            write_passwd(self.passwd_file, users or {})
        cfg.update(config or {})
        with open(self.conf_path, "w") as f:
            for k, v in cfg.items():
                f.write(f"{k} = {v}\n")
        self.args = args or []
        self.proc = None
        _DAEMONS.append(self)

    def start(self, wait=True):
        cmd = WRAPPER + [XEND_BIN, "--config", self.conf_path] + self.args
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"xend exited with {self.proc.returncode}: {self.output()}")
            if os.path.exists(self.socket):
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(self.socket)
                    if self.tcp_port is None:
                        return
                    with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1):
                        return
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("xend did not start listening in time: " + self.output())

    def output(self):
        out = ""
        path = os.path.join(self.dir, "stderr")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                out += f.read()
        if os.path.exists(self.log):
            with open(self.log, errors="replace") as f:
                out += f.read()
        return out

    def proxy(self, **kw):
        return unix_proxy(self.socket, **kw)

    def ro_proxy(self, **kw):
        """A ServerProxy on the read-only socket."""
        return unix_proxy(self.socket_ro, **kw)

    def tcp_proxy(self, user=None, password=None, host="127.0.0.1", **kw):
        """A ServerProxy on the TCP listener: https:// with the test CA when the daemon
        runs TLS, with user:password in the URL when given."""
        cred = ""
        if user is not None:
            cred = urllib.parse.quote(user, safe="")
            if password is not None:
                cred += ":" + urllib.parse.quote(password, safe="")
            cred += "@"
        if self.tls:
            kw.setdefault("context", ssl.create_default_context(cafile=self.ca))
            return xmlrpc.client.ServerProxy(f"https://{cred}{host}:{self.tcp_port}/RPC2",
                                             allow_none=True, **kw)
        return xmlrpc.client.ServerProxy(f"http://{cred}{host}:{self.tcp_port}/RPC2",
                                         allow_none=True, **kw)

    def tcp_login(self, user, password):
        """True when the TCP listener accepts user:password (daemon.version answers), False
        on HTTP 401; any other error is raised."""
        try:
            with self.tcp_proxy(user, password) as p:
                p.daemon.version()
            return True
        except xmlrpc.client.ProtocolError as e:
            if e.errcode != 401:
                raise
            return False

    def stop(self, expect_rc=0):
        """SIGTERM by PID, bounded wait, SIGKILL as a last resort. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("xend did not stop on SIGTERM: " + self.output())
        rc = self.proc.returncode
        self.proc = None
        self.stderr.close()
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError(f"xend exited with {rc}, expected {expect_rc}: " +
                                 self.output())
        return rc

    def kill(self):
        """SIGKILL by PID (a crash): nothing is cleaned up by the daemon."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop(expect_rc=None if exc[0] else 0)
        finally:
            pass


def write_passwd(path, users):
    """Write a password file of users {name: (password, access class)} with sha512crypt
    hashes (what `xend passwd` writes is yescrypt; both are crypt(3) strings), mode 0600."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    lines = []
    for name, (password, access) in users.items():
        lines.append(f"{name}:{access}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))}\n")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(lines))


def raw_request(path_or_port, data, timeout=10):
    """Send raw bytes to the Unix socket (str path) or TCP port (int) and return everything
    the server sends until it closes or the timeout passes."""
    if isinstance(path_or_port, int):
        s = socket.create_connection(("127.0.0.1", path_or_port), timeout=timeout * SLOW)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout * SLOW)
        s.connect(path_or_port)
    with s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        return b"".join(chunks)


def connect(path_or_port, timeout=10):
    """A connected socket to the Unix socket (str path) or loopback TCP port (int)."""
    if isinstance(path_or_port, int):
        return socket.create_connection(("127.0.0.1", path_or_port), timeout=timeout * SLOW)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout * SLOW)
    s.connect(path_or_port)
    return s


def http_request(body=b"", path="/RPC2", method="POST", content_type="text/xml",
                 version="HTTP/1.1", headers=(), length=None):
    """The bytes of one HTTP request. content_type None leaves the header out; length
    None sends the real Content-Length, False none at all, an int that value."""
    lines = [f"{method} {path} {version}", "Host: localhost", "User-Agent: xendtest"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if length is None:
        lines.append(f"Content-Length: {len(body)}")
    elif length is not False:
        lines.append(f"Content-Length: {length}")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def xml_call(method, *params):
    """A <methodCall> document as bytes, encoded by the stdlib."""
    return xmlrpc.client.dumps(tuple(params), methodname=method, allow_none=True).encode()


class HTTPResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # dict, lower-case names
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<HTTPResponse {self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


def read_response(sock, buffered=b""):
    """Read one HTTP response (head + Content-Length body) from sock. Returns
    (HTTPResponse, leftover bytes), or (None, data) if the peer closed before a full head
    arrived. Raises socket.timeout if the server stays silent."""
    data = buffered
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if 100 <= status < 200:
        return HTTPResponse(status, reason, headers, b""), rest
    need = int(headers.get("content-length", "0"))
    while len(rest) < need:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        rest += chunk
    return HTTPResponse(status, reason, headers, rest[:need]), rest[need:]


def exchange(path_or_port, data, timeout=10):
    """Send data on a fresh connection and read one response (None if the server closed
    without one)."""
    with connect(path_or_port, timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s)[0]


def wait_closed(sock, timeout=30):
    """Read from sock until the server closes it; True if it did within the bound. Data the
    server sends meanwhile is discarded."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def wait_for(predicate, timeout=10, interval=0.02):
    """Poll predicate() until it is true or the bound passes; returns its last value."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---- helpers for the domain API tests ----

def domain_xml(name, memory=65536, current_memory=None, vcpus=1, current_vcpus=None,
               uuid=None, disks=(), nics=(), on_poweroff=None, on_reboot=None,
               on_crash=None, devices_extra="", extra="", virt_type="test"):
    """Domain XML (the libvirt subset) for tests. memory in KiB. disks: source paths, or
    dicts {source, target, readonly, shareable, device}; targets default to vda, vdb...
    nics: MAC strings (user networking), or dicts {mac, type, source, model}."""
    from xml.sax.saxutils import quoteattr, escape
    lines = [f"<domain type={quoteattr(virt_type)}>", f"  <name>{escape(name)}</name>"]
    if uuid:
        lines.append(f"  <uuid>{uuid}</uuid>")
    lines.append(f"  <memory unit='KiB'>{memory}</memory>")
    if current_memory is not None:
        lines.append(f"  <currentMemory unit='KiB'>{current_memory}</currentMemory>")
    cur = f" current='{current_vcpus}'" if current_vcpus is not None else ""
    lines.append(f"  <vcpu placement='static'{cur}>{vcpus}</vcpu>")
    lines.append("  <os>\n    <type>hvm</type>\n  </os>")
    for tag, v in (("on_poweroff", on_poweroff), ("on_reboot", on_reboot),
                   ("on_crash", on_crash)):
        if v is not None:
            lines.append(f"  <{tag}>{v}</{tag}>")
    if extra:
        lines.append(extra)
    lines.append("  <devices>")
    for i, d in enumerate(disks):
        lines.append(disk_xml(d, "vd" + chr(ord("a") + i), indent="    "))
    for n in nics:
        lines.append(nic_xml(n, indent="    "))
    if devices_extra:
        lines.append(devices_extra)
    lines.append("  </devices>")
    lines.append("</domain>")
    return "\n".join(lines) + "\n"


def disk_xml(d, target=None, indent=""):
    """One <disk>: d is a source path or a dict {source, target, readonly, shareable,
    device}."""
    from xml.sax.saxutils import quoteattr
    if isinstance(d, str):
        d = {"source": d}
    target = d.get("target", target)
    out = [f"{indent}<disk type='file' device={quoteattr(d.get('device', 'disk'))}>",
           f"{indent}  <driver name='qemu' type='raw'/>"]
    if d.get("source") is not None:
        out.append(f"{indent}  <source file={quoteattr(d['source'])}/>")
    out.append(f"{indent}  <target dev={quoteattr(target)} bus='virtio'/>")
    if d.get("readonly"):
        out.append(f"{indent}  <readonly/>")
    if d.get("shareable"):
        out.append(f"{indent}  <shareable/>")
    out.append(f"{indent}</disk>")
    return "\n".join(out)


def nic_xml(n, indent=""):
    """One <interface>: n is a MAC string (user networking) or a dict {mac, type, source,
    model}."""
    from xml.sax.saxutils import quoteattr
    if isinstance(n, str):
        n = {"mac": n}
    t = n.get("type", "user")
    out = [f"{indent}<interface type={quoteattr(t)}>"]
    if n.get("mac"):
        out.append(f"{indent}  <mac address={quoteattr(n['mac'])}/>")
    if t == "bridge":
        out.append(f"{indent}  <source bridge={quoteattr(n['source'])}/>")
    elif t == "network":
        out.append(f"{indent}  <source network={quoteattr(n['source'])}/>")
    if n.get("model"):
        out.append(f"{indent}  <model type={quoteattr(n['model'])}/>")
    out.append(f"{indent}</interface>")
    return "\n".join(out)


def make_disk(directory, name, size=1 << 20):
    """A sparse disk image file of size bytes in directory; returns its absolute path."""
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return os.path.abspath(path)


def write_host_config(directory, **keys):
    """A host description for the simulated host (daemon key host_config), e.g.
    write_host_config(d, save_ms_per_gib=60000, memory_mib=4096). Returns its path."""
    path = os.path.join(directory, "host.conf")
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write(f"{k} = {v}\n")
    return os.path.abspath(path)


def fault_of(fn, *args):
    """Call fn(*args); return the xmlrpc.client.Fault it raised, or None if it returned."""
    try:
        fn(*args)
    except xmlrpc.client.Fault as f:
        return f
    return None


class FaultAssertions:
    """Mixin for unittest.TestCase: assertFault(code, fn, *args, contains=...)."""

    def assertFault(self, code, fn, *args, contains=()):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        f = cm.exception
        self.assertEqual(f.faultCode, code, f.faultString)
        self.assertIsInstance(f.faultString, str)
        self.assertTrue(f.faultString)
        for c in ([contains] if isinstance(contains, str) else contains):
            self.assertIn(c, f.faultString)
        return f


def pid_running(pid):
    """True if pid is a live (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


XM = os.environ.get("XEND_XM", "")


def run_xm(*args, daemon=None, uri=None, env=None, input=None, timeout=30, wrap=True):
    """Run the xm command line (path in XEND_XM) with stdout and stderr kept apart and
    return the CompletedProcess (text). daemon (a Daemon) or uri selects the xend through
    XM_SERVER; env adds variables; xm's config file is pointed at a missing file so the
    user's own never leaks in (override with env={"XM_CONFIG_FILE": ...})."""
    e = dict(os.environ)
    e.pop("XEND_URI", None)
    e["XM_CONFIG_FILE"] = "/nonexistent/xm.conf"
    e["LC_ALL"] = "C"
    e.pop("LANGUAGE", None)
    if daemon is not None:
        e["XM_SERVER"] = "unix://" + daemon.socket
    elif uri is not None:
        e["XM_SERVER"] = uri
    else:
        e.pop("XM_SERVER", None)
    e.update(env or {})
    cmd = (WRAPPER if wrap else []) + [XM] + [str(a) for a in args]
    return subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=e, timeout=timeout * SLOW)


def main():
    unittest.main(verbosity=2)
