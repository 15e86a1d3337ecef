"""libxend and xm over https:// against the real daemon (tcp_tls = yes, HTTP Basic users of
the password file): xm list/create/new/start with the CA from XEND_CA_FILE and from the xm
config file's ca_file (relative to the file, and winning over XEND_CA_FILE), a CA that did
not sign the server's certificate, the system trust store, a host name the certificate does
not hold (a certificate signed by the trusted CA but for another name), wrong and missing
passwords, the failed-login limit (HTTP 429), a read-class user's write call
(ACCESS_DENIED), keep-alive (many calls, one TLS connection in the daemon's log), the
reconnect after the daemon's idle timeout, and https:// to a plain TCP listener. Cases the
daemon cannot produce use a small loopback server run as a separate process: one that
hangs up in the middle of the handshake, one that completes TLS and drops the request.
A password given in a URI never appears in any message."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import xendtest
from xendtest import Daemon, domain_xml, run_xm, wait_for

CLIENT = os.environ.get("XEND_LIBXEND_CLIENT", "")
SOURCE = xendtest.SOURCE_DIR
ACCESS_DENIED = 4
# Distinctive passwords, so that a leak into a message is caught.
ALICE_PW = "alice-Pw.7q"
BOB_PW = "bob-Pw.3z"
USERS = {"alice": (ALICE_PW, "admin"), "bob": (BOB_PW, "read")}

# Servers the daemon cannot be made into. argv: MODE CERTDIR; prints its port, then serves
# one connection (bounded by an alarm) and exits.
#   hangup: reads the ClientHello, sends the first bytes of a handshake record, hangs up
#   drop:   completes the TLS handshake with CERTDIR's certificate, reads the request and
#           closes without replying (and without close_notify)
FAKE_SERVER = textwrap.dedent("""\
    import os, signal, socket, ssl, sys
    signal.alarm(60)
    mode, certdir = sys.argv[1], sys.argv[2]
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    print(ls.getsockname()[1], flush=True)
    c, _ = ls.accept()
    if mode == "hangup":
        c.recv(4096)
        c.sendall(bytes([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02]))
        c.close()
    elif mode == "drop":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certdir + "/server-cert.pem", certdir + "/server-key.pem")
        s = ctx.wrap_socket(c, server_side=True)
        data = b""
        while b"</methodCall>" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        os.close(s.detach())
    """)


def run_client(*args, env=None, timeout=30):
    """libxend-client (tests/live/libxend-client.c): (exit status, stdout, stderr)."""
    e = dict(os.environ)
    for k in ("XEND_CA_FILE", "XM_SERVER", "XEND_URI"):
        e.pop(k, None)
    e["XM_CONFIG_FILE"] = "/nonexistent/xm.conf"
    e.update(env or {})
    p = subprocess.run(xendtest.WRAPPER + [CLIENT] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout * xendtest.SLOW, env=e)
    return p.returncode, p.stdout, p.stderr


def make_cert(directory, name=None):
    subprocess.run([os.path.join(SOURCE, "scripts", "make-test-cert"), directory] +
                   ([name] if name else []), check=True)
    return os.path.join(directory, "ca.pem")


def sign_cert_for(certdir, outdir, dns):
    """A server certificate for the name dns only (no address), signed by certdir's CA."""
    os.makedirs(outdir, exist_ok=True)
    key, csr, cert = (os.path.join(outdir, n) for n in
                      ("server-key.pem", "server.csr", "server-cert.pem"))
    ext = os.path.join(outdir, "server.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{dns}\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-keyout", key, "-out", csr, "-subj",
                    f"/CN={dns}"], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                    os.path.join(certdir, "ca.pem"), "-CAkey",
                    os.path.join(certdir, "ca-key.pem"), "-CAcreateserial", "-out", cert,
                    "-days", "30", "-extfile", ext], check=True, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


def logins(daemon, user="alice"):
    """TLS connections on which user signed in (the daemon logs it once a connection; the
    readiness probe's connection, logged late under valgrind, is not one of them)."""
    return daemon.output().count(f"signed in as {user} ")


class FakeServer:
    """FAKE_SERVER in its own process, stopped by its PID."""

    def __init__(self, mode, certdir):
        self.proc = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, mode, certdir],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class TLSClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tls=True, users=USERS).start()
        cls.port = cls.daemon.tcp_port
        cls.ca = cls.daemon.ca
        cls.work = tempfile.mkdtemp(prefix="xend-test-tls-client-")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def uri(self, user="alice", password=ALICE_PW, host="127.0.0.1", port=None):
        cred = f"{user}:{password}@" if user else ""
        return f"https://{cred}{host}:{port or self.port}/"

    def xm(self, *args, uri=None, env=None):
        e = {"XEND_CA_FILE": self.ca}
        e.update(env or {})
        # None: unset ("" is what libxend takes for unset)
        r = run_xm(*args, uri=uri or self.uri(), env={k: v or "" for k, v in e.items()})
        self.assertNotIn(ALICE_PW, r.stdout + r.stderr)
        self.assertNotIn(BOB_PW, r.stdout + r.stderr)
        return r

    def xm_ok(self, *args, **kw):
        r = self.xm(*args, **kw)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stdout)
        return r.stdout

    def xm_fails(self, *args, **kw):
        r = self.xm(*args, **kw)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout, "")
        return r.stderr

    def state(self, name):
        with self.daemon.proxy() as p:
            return p.domain.lookup(name)["state"]

    def domain_file(self, name):
        path = os.path.join(self.work, name + ".xml")
        with open(path, "w") as f:
            f.write(domain_xml(name))
        return path

    # ---- working connections ----

    def test_xm_list_create_start_with_XEND_CA_FILE(self):
        self.assertIn("Domain-0", self.xm_ok("list"))
        path = self.domain_file("tls-created")
        out = self.xm_ok("create", path)
        self.assertEqual(out, f'Using config file "{path}".\nStarted domain tls-created\n')
        self.assertEqual(self.state("tls-created"), "running")
        self.xm_ok("new", self.domain_file("tls-new"))
        self.assertEqual(self.state("tls-new"), "shutoff")
        self.xm_ok("start", "tls-new")
        self.assertEqual(self.state("tls-new"), "running")
        listed = self.xm_ok("list")
        self.assertRegex(listed, r"(?m)^tls-created\s")
        self.assertRegex(listed, r"(?m)^tls-new\s")
        for name in ("tls-created", "tls-new"):
            self.xm_ok("destroy", name)
        log = self.daemon.output()
        self.assertIn('audit: user=alice addr=127.0.0.1 (tcp) domain.start("tls-new") -> ok',
                      log)

    def test_ca_file_of_the_xm_config_file(self):
        # the whole connection from the config file: uri, username, password_file, ca_file
        # (relative to the config file's folder)
        d = tempfile.mkdtemp(dir=self.work)
        shutil.copy(self.ca, os.path.join(d, "xend-ca.pem"))
        with open(os.path.join(d, "pw"), "w") as f:
            f.write(ALICE_PW + "\n")
        conf = os.path.join(d, "xm.conf")
        with open(conf, "w") as f:
            f.write(f"uri = https://127.0.0.1:{self.port}/\nusername = alice\n"
                    "password_file = pw\nca_file = xend-ca.pem\n")
        r = run_xm("list", env={"XM_CONFIG_FILE": conf})
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stdout)
        self.assertIn("Domain-0", r.stdout)
        # a URI given elsewhere still takes the config file's ca_file, which comes before
        # XEND_CA_FILE
        other = make_cert(os.path.join(d, "other"))
        with open(conf, "w") as f:
            f.write("ca_file = xend-ca.pem\n")
        self.assertIn("Domain-0", self.xm_ok("list", env={"XM_CONFIG_FILE": conf,
                                                          "XEND_CA_FILE": other}))
        rc, out, _ = run_client(self.uri(), "daemon.version",
                                env={"XM_CONFIG_FILE": conf, "XEND_CA_FILE": other})
        self.assertEqual(rc, 0, out)
        self.assertIn("<name>product</name><value><string>xend</string>", out)
        # a missing ca_file is named with the config file that names it
        with open(conf, "w") as f:
            f.write("ca_file = gone.pem\n")
        err = self.xm_fails("list", env={"XM_CONFIG_FILE": conf})
        self.assertIn(f"cannot use the CA file {d}/gone.pem (named by ca_file in {conf})", err)

    def test_keep_alive_one_connection(self):
        before = logins(self.daemon)
        rc, out, err = run_client("--calls", 25, self.uri(), "daemon.version",
                                  env={"XEND_CA_FILE": self.ca})
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.count("<name>product</name>"), 25)
        wait_for(lambda: logins(self.daemon) > before)
        self.assertEqual(logins(self.daemon) - before, 1, self.daemon.output())

    def test_reconnect_after_idle_timeout(self):
        # the bound leaves a fresh connection (handshake, password check) time to send its
        # request, even under valgrind
        idle = 6 if xendtest.WRAPPER else 2
        with Daemon(tls=True, users=USERS, config={"idle_timeout": str(idle)}) as d:
            rc, out, err = run_client("--calls", 2, "--sleep", idle + 1,
                                      self.uri(port=d.tcp_port), "daemon.version",
                                      env={"XEND_CA_FILE": d.ca})
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(out.count("<name>product</name>"), 2)
            # the daemon closed the idle TLS connection; libxend opened a second one
            wait_for(lambda: logins(d) >= 2)
            self.assertEqual(logins(d), 2, d.output())

    def test_read_user_cannot_write(self):
        uri = self.uri("bob", BOB_PW)
        self.assertIn("Domain-0", self.xm_ok("list", uri=uri))
        r = self.xm("create", self.domain_file("tls-bob"), uri=uri)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stderr, r"^Error: domain\.create needs write access")
        rc, out, _ = run_client(uri, "domain.define", domain_xml("tls-bob2"),
                                env={"XEND_CA_FILE": self.ca})
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault 4 ACCESS_DENIED: ")
        with self.daemon.proxy() as p:
            names = [d["name"] for d in p.domain.list()]
        self.assertNotIn("tls-bob", names)
        self.assertNotIn("tls-bob2", names)

    # ---- certificates ----

    def test_wrong_ca(self):
        other = make_cert(os.path.join(self.work, "wrong-ca"))
        before = self.daemon.output().count("signed in as")
        err = self.xm_fails("list", env={"XEND_CA_FILE": other})
        self.assertIn(f"the certificate of 127.0.0.1:{self.port} is not trusted: signed by an "
                      f"unknown authority (not among the certificates of {other}, named by "
                      "XEND_CA_FILE)", err)
        self.assertIn(f"https://alice@127.0.0.1:{self.port}/", err)
        rc, out, _ = run_client(self.uri(), "daemon.version", env={"XEND_CA_FILE": other})
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^fault 12 SYSTEM: .*is not trusted: signed by an unknown "
                              r"authority")
        self.assertNotIn(ALICE_PW, out)
        # no request (so no password) was ever sent
        self.assertEqual(self.daemon.output().count("signed in as"), before)

    def test_system_trust_store_does_not_know_the_test_ca(self):
        err = self.xm_fails("list", env={"XEND_CA_FILE": None})
        self.assertIn("is not trusted: signed by an unknown authority (set ca_file or "
                      "XEND_CA_FILE)", err)

    def test_host_name_mismatch(self):
        # signed by the CA the client trusts, but for another name: only the name is wrong
        cert, key = sign_cert_for(os.path.join(self.daemon.dir, "tls"),
                                  os.path.join(self.work, "other-name"), "elsewhere.test")
        with Daemon(tls=True, users=USERS, config={"tls_cert": cert, "tls_key": key}) as d:
            for host in ("127.0.0.1", "localhost"):
                with self.subTest(host=host):
                    # d.ca did not sign it: self.ca did
                    rc, out, _ = run_client(self.uri(host=host, port=d.tcp_port),
                                            "daemon.version", env={"XEND_CA_FILE": self.ca})
                    self.assertEqual(rc, 1, out)
                    self.assertIn(f"the certificate of {host}:{d.tcp_port} is not trusted: it "
                                  f"is not valid for the host name '{host}'", out)
                    self.assertNotIn("unknown authority", out)
            err = self.xm_fails("list", uri=self.uri(port=d.tcp_port))
            self.assertIn("is not valid for the host name '127.0.0.1'", err)
            self.assertNotIn("signed in as", d.output())

    # ---- authentication ----

    def test_wrong_and_missing_password_then_429(self):
        # a daemon of its own, as failed logins are counted per address; with a window long
        # enough for slow runs (valgrind)
        with Daemon(tls=True, users=USERS, config={"auth_fail_window": "900"}) as d:
            env = {"XEND_CA_FILE": d.ca}
            rc, out, _ = run_client(self.uri(password="wrong", port=d.tcp_port),
                                    "daemon.version", env=env)
            self.assertEqual(rc, 1)
            self.assertIn(f"fault 4 ACCESS_DENIED: authentication failed at xend at "
                          f"https://alice@127.0.0.1:{d.tcp_port}/ (HTTP 401 ", out)
            self.assertIn("user 'alice' unknown or wrong password", out)
            self.assertNotIn("wrong@", out)
            r = run_xm("list", uri=self.uri(password="wrong", port=d.tcp_port), env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("authentication failed", r.stderr)
            r = run_xm("list", uri=self.uri(user=None, port=d.tcp_port), env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("requires authentication (HTTP 401", r.stderr)
            self.assertIn("username and password_file", r.stderr)
            # go on failing until the daemon refuses this address (auth_max_failures = 5)
            for _ in range(8):
                rc, out, _ = run_client(self.uri(password="wrong", port=d.tcp_port),
                                        "daemon.version", env=env)
                if "HTTP 429" in out:
                    break
            self.assertIn("HTTP 429", out)
            # now even the right password is refused, and the message says why and for how long
            rc, out, _ = run_client(self.uri(port=d.tcp_port), "daemon.version", env=env)
            self.assertEqual(rc, 1)
            self.assertRegex(out, r"^fault 11 LIMIT: authentication refused by xend at "
                                  r"https://alice@127\.0\.0\.1:\d+/ \(HTTP 429 [^)]*\): too many "
                                  r"failed logins from this address; try again in \d+ s")

    # ---- not a TLS server, or a broken one ----

    def test_https_to_a_plain_listener(self):
        with Daemon(tcp=True) as d:
            err = self.xm_fails("list", uri=f"https://127.0.0.1:{d.tcp_port}/")
            # the daemon answers the ClientHello with an HTTP error or just hangs up
            self.assertRegex(err, f"(the TLS handshake with 127.0.0.1:{d.tcp_port} failed|"
                                  f"127.0.0.1:{d.tcp_port} closed the connection during the "
                                  "TLS handshake)")
            self.assertIn("(is it a TLS listener? A daemon with tcp_tls = no is reached with "
                          "http://)", err)
            # and the same daemon over http:// is fine
            self.assertIn("Domain-0", self.xm_ok("list", uri=f"http://127.0.0.1:{d.tcp_port}/"))

    def test_server_hangs_up_mid_handshake(self):
        srv = FakeServer("hangup", os.path.join(self.daemon.dir, "tls"))
        try:
            err = self.xm_fails("list", uri=self.uri(port=srv.port))
            self.assertIn(f"Unable to connect to xend at https://alice@127.0.0.1:{srv.port}/: ",
                          err)
            self.assertRegex(err, r"(closed the connection during the TLS handshake|the TLS "
                                  r"handshake with 127\.0\.0\.1:\d+ failed)")
        finally:
            srv.close()

    def test_server_drops_the_request(self):
        srv = FakeServer("drop", os.path.join(self.daemon.dir, "tls"))
        try:
            rc, out, _ = run_client(self.uri(port=srv.port), "daemon.version",
                                    env={"XEND_CA_FILE": self.ca})
            self.assertEqual(rc, 1)
            self.assertIn(f"fault 12 SYSTEM: xend at https://alice@127.0.0.1:{srv.port}/ closed "
                          "the connection without replying", out)
        finally:
            srv.close()


if __name__ == "__main__":
    xendtest.main()
