"""Helpers shared by the interop tests: start and stop the validator1 test server
(tests/interop/validator-server), send raw XML-RPC documents with http.client over its Unix
socket or TCP, and run the xmlrpc-c based client program.

Environment (set by meson): VALIDATOR_BIN, XMLRPCC_CLIENT, plus everything xendtest uses
(XEND_BIN, XEND_WRAPPER...). XEND_WRAPPER (valgrind under `make fullcheck`) wraps the
validator server and the xmlrpc-c client as it wraps xend.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import xmlrpc.client

import xendtest

BUILD_DIR = os.environ.get("XEND_BUILD_DIR", "")
VALIDATOR_BIN = os.environ.get("VALIDATOR_BIN") or os.path.join(
    BUILD_DIR, "tests", "interop", "validator-server")
# Empty when meson did not find xmlrpc-c (the tests using it are skipped then).
XMLRPCC_CLIENT = os.environ.get("XMLRPCC_CLIENT", os.path.join(
    BUILD_DIR, "tests", "interop", "xmlrpcc-client"))

VALIDATOR_METHODS = [
    "validator1.arrayOfStructsTest", "validator1.countTheEntities",
    "validator1.easyStructTest", "validator1.echoStructTest", "validator1.manyTypesTest",
    "validator1.moderateSizeArrayCheck", "validator1.nestedStructTest",
    "validator1.simpleStructReturnTest",
]

# Fault-interoperability codes (and xend's positive API codes) the servers answer with.
PARSE_ERROR = -32700
ENCODING_ERROR = -32701
INVALID_CHAR = -32702
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INVALID_ARG = 13


class ValidatorServer:
    """tests/interop/validator-server on a Unix socket in a private temporary directory
    and an ephemeral loopback TCP port; stopped by PID with SIGTERM, must exit 0."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xend-validator-")
        self.socket = os.path.join(self.dir, "validator.sock")
        self.port_file = os.path.join(self.dir, "port")
        self.tcp_port = None
        self.proc = None

    def start(self):
        cmd = xendtest.WRAPPER + [VALIDATOR_BIN, "--socket", self.socket, "--tcp-port", "0",
                                  "--port-file", self.port_file]
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr)
        deadline = time.monotonic() + 10 * xendtest.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"validator-server exited with {self.proc.returncode}: "
                                   + self.output())
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    self.tcp_port = int(f.read())
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(self.socket)
                    with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=5):
                        return self
                except OSError:
                    pass
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("validator-server did not start listening in time: " + self.output())

    def output(self):
        if not getattr(self, "stderr", None):
            return ""
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        """SIGTERM by PID, bounded wait; the server must exit 0 (valgrind: no errors)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15 * xendtest.SLOW)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("validator-server did not stop on SIGTERM: "
                                     + self.output())
        if proc.returncode != 0:
            raise AssertionError(f"validator-server exited with {proc.returncode}: "
                                 + self.output())
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # kept when something went wrong

    @property
    def url(self):
        return f"http://127.0.0.1:{self.tcp_port}/RPC2"

    def unix_proxy(self, **kw):
        return xendtest.unix_proxy(self.socket, **kw)

    def tcp_proxy(self, **kw):
        return xmlrpc.client.ServerProxy(self.url, allow_none=True, **kw)


def http_post(target, body, headers=None, path="/RPC2"):
    """POST body (bytes) to a Unix socket (str path) or a TCP port (int) with http.client.
    Returns (status, headers dict with lower-case names, body bytes)."""
    if isinstance(target, int):
        conn = http.client.HTTPConnection("127.0.0.1", target, timeout=30 * xendtest.SLOW)
    else:
        conn = xendtest.UnixHTTPConnection(target)
    hdrs = {"Content-Type": "text/xml", "User-Agent": "xend-interop-test"}
    hdrs.update(headers or {})
    try:
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def raw_call(target, xml):
    """Send one raw <methodCall> document (str or bytes) and decode the reply with
    xmlrpc.client.loads. Returns (value, reply bytes); raises xmlrpc.client.Fault."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    status, headers, body = http_post(target, xml)
    if status != 200:
        raise AssertionError(f"HTTP {status} for a well-formed POST: {body[:200]!r}")
    if not headers.get("content-type", "").startswith("text/xml"):
        raise AssertionError(f"reply Content-Type is {headers.get('content-type')!r}")
    params, _ = xmlrpc.client.loads(body, use_builtin_types=True)
    if len(params) != 1:
        raise AssertionError(f"a response carries exactly one value, got {params!r}")
    return params[0], body


def method_call(method, *values):
    """A <methodCall> whose params are the given raw <value> fragments (strings)."""
    params = "".join(f"<param>{v}</param>" for v in values)
    return (f"<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>"
            f"<params>{params}</params></methodCall>")


def run_xmlrpcc(url, mode, *args, timeout=120):
    """Run the xmlrpc-c client program; returns CompletedProcess (stdout+stderr text)."""
    env = dict(os.environ)
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY"):
        env.pop(k, None)
    cmd = xendtest.WRAPPER + [XMLRPCC_CLIENT, url, mode] + list(args)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env,
                          timeout=timeout * xendtest.SLOW)


class FaultAssertions:
    """assertFault(code, call, *args, contains=(...)): the call raises a Fault with that
    code whose faultString contains every given piece of text."""

    def assertFault(self, code, call, *args, contains=()):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            call(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        for sub in contains:
            self.assertIn(sub, cm.exception.faultString)
        return cm.exception


class WithValidatorServer:
    """Mixin: one validator-server per test class, in cls.server, stopped by PID."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ValidatorServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class WithXend:
    """Mixin: one real xend (Unix socket + loopback TCP) per test class, in cls.daemon."""

    daemon = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = xendtest.Daemon(tcp=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
