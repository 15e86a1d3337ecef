"""Who may do what, against the real daemon: the read-only Unix socket, the audit log of
state-changing calls, TCP with TLS and HTTP Basic users of the password file (access
classes, wrong passwords, the failed-login limit, the cap on unauthenticated connections
and their deadline), the Origin check, the per-client cap on requests in progress, the
request timeout, and the address policy for plain TCP."""
import base64
import http.client
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import xmlrpc.client

import xendtest
from xendtest import (Daemon, FaultAssertions, domain_xml, http_request, read_response,
                      wait_closed, wait_for, xml_call)

ACCESS_DENIED = 4
LIMIT = 11
USERS = {"alice": ("wonder land", "admin"), "bob": ("b0b:colon", "read"),
         "carol": ("c", "write")}


def tls_exchange(daemon, data, timeout=10):
    """Send raw bytes over TLS to the daemon and return the parsed response (or None)."""
    ctx = ssl.create_default_context(cafile=daemon.ca)
    raw = socket.create_connection(("127.0.0.1", daemon.tcp_port), timeout=timeout)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall(data)
        return read_response(s)[0]


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return "Authorization: Basic " + token


class ReadOnlySocketTests(FaultAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        with cls.daemon.proxy() as p:
            p.domain.define(domain_xml("ro-target"))

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_socket_exists_world_accessible(self):
        st = os.stat(self.daemon.socket_ro)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
        self.assertEqual(stat.S_IMODE(os.stat(self.daemon.socket).st_mode), 0o600)

    def test_reads_work(self):
        with self.daemon.ro_proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
            names = [d["name"] for d in p.domain.list()]
            self.assertIn("ro-target", names)
            self.assertIn("ro-target", p.domain.get_xml("ro-target"))

    def test_writes_denied(self):
        with self.daemon.ro_proxy() as p:
            self.assertFault(ACCESS_DENIED, p.domain.start, "ro-target",
                             contains=("write access", "read access"))
            self.assertFault(ACCESS_DENIED, p.domain.define, domain_xml("ro-new"))
        with self.daemon.proxy() as p:
            state = {d["name"]: d["state"] for d in p.domain.list()}
        self.assertNotIn("ro-new", state)
        self.assertNotEqual(state["ro-target"], "running")

    def test_multicall_checks_each_call(self):
        with self.daemon.ro_proxy() as p:
            res = p.system.multicall([
                {"methodName": "daemon.version", "params": []},
                {"methodName": "domain.start", "params": ["ro-target"]},
            ])
        self.assertEqual(res[0][0]["product"], "xend")
        self.assertEqual(res[1]["faultCode"], ACCESS_DENIED)

    def test_audit_log_names_the_caller(self):
        with self.daemon.proxy() as p:
            p.domain.start("ro-target")
            p.domain.destroy("ro-target")
        with self.daemon.ro_proxy() as p:
            self.assertFault(ACCESS_DENIED, p.domain.pause, "ro-target")
        me = f"uid={os.getuid()} gid={os.getgid()} pid={os.getpid()}"
        wait_for(lambda: "domain.pause" in self.daemon.output())
        log = self.daemon.output()
        self.assertIn(f'audit: {me} (unix) domain.start("ro-target") -> ok', log)
        self.assertIn(f'audit: {me} (unix) domain.destroy("ro-target") -> ok', log)
        self.assertIn(f'audit: {me} (unix-ro) domain.pause("ro-target") -> fault {ACCESS_DENIED}',
                      log)
        # Reads are not audited.
        self.assertNotIn("audit: " + me + " (unix-ro) daemon.version", log)


class ReadOnlySocketConfigTests(unittest.TestCase):
    def test_disabled_and_mode(self):
        with Daemon(config={"socket_ro": ""}) as d:
            self.assertFalse(os.path.exists(d.socket_ro))
        with Daemon(config={"socket_ro_mode": "0660"}) as d:
            self.assertEqual(stat.S_IMODE(os.stat(d.socket_ro).st_mode), 0o660)
        d = Daemon()
        other = os.path.join(d.dir, "elsewhere-ro.sock")
        d2 = Daemon(config={"socket_ro": other})
        with d2:
            with xendtest.unix_proxy(other) as p:
                self.assertEqual(p.daemon.version()["product"], "xend")
        self.assertFalse(os.path.exists(other), "the read-only socket stayed after stop")


class TLSUserTests(FaultAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tls=True, users=USERS).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def proxy(self, user, password=None):
        if password is None and user in USERS:
            password = USERS[user][0]
        return self.daemon.tcp_proxy(user=user, password=password)

    def test_access_classes(self):
        with self.proxy("alice") as p:
            self.assertEqual(p.daemon.version()["product"], "xend")
            p.domain.define(domain_xml("tls-a"))
            p.domain.start("tls-a")
        with self.proxy("bob") as p:
            self.assertIn("tls-a", [d["name"] for d in p.domain.list()])
            self.assertFault(ACCESS_DENIED, p.domain.pause, "tls-a")
        with self.proxy("carol") as p:
            p.domain.pause("tls-a")
            p.domain.destroy("tls-a")
        log = self.daemon.output()
        self.assertIn('audit: user=alice addr=127.0.0.1 (tcp) domain.start("tls-a") -> ok', log)
        self.assertIn(f'audit: user=bob addr=127.0.0.1 (tcp) domain.pause("tls-a") -> fault '
                      f'{ACCESS_DENIED}', log)

    def test_keep_alive_over_tls(self):
        with self.proxy("alice") as p:
            for _ in range(20):
                p.daemon.version()
        opened = self.daemon.output().count("tcp: connection opened")
        with self.proxy("alice") as p:
            for _ in range(20):
                p.daemon.version()
        self.assertEqual(self.daemon.output().count("tcp: connection opened"), opened + 1)

    def test_wrong_or_missing_credentials(self):
        for user, password in (("alice", "nope"), ("nobody", "x"), ("alice", "")):
            with self.subTest(user=user, password=password):
                with self.proxy(user, password) as p:
                    with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                        p.daemon.version()
                self.assertEqual(cm.exception.errcode, 401)
                self.assertIn('Basic realm="xend"',
                              cm.exception.headers.get("WWW-Authenticate", ""))
        r = tls_exchange(self.daemon, http_request(xml_call("daemon.version")))
        self.assertEqual(r.status, 401)
        self.assertIn(b"authentication required", r.body)
        r = tls_exchange(self.daemon, http_request(xml_call("daemon.version"),
                                                   headers=["Authorization: Basic !!!"]))
        self.assertEqual(r.status, 401)
        self.assertIn(b"wrong user name or password", r.body)
        # A successful sign-in from the same address clears the failures counted above.
        with self.proxy("alice") as p:
            p.daemon.version()

    def test_certificate_checked_by_clients(self):
        default = ssl.create_default_context()  # the system trust store: not our test CA
        with xmlrpc.client.ServerProxy(f"https://127.0.0.1:{self.daemon.tcp_port}/RPC2",
                                       context=default) as p:
            with self.assertRaises(ssl.SSLCertVerificationError):
                p.daemon.version()

    def test_plain_http_to_the_tls_port_gets_nothing_useful(self):
        with xendtest.connect(self.daemon.tcp_port) as s:
            s.sendall(http_request(xml_call("daemon.version")))
            data = b""
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    data += c
            except (socket.timeout, ConnectionResetError):
                pass
        self.assertNotIn(b"methodResponse", data)

    def test_origin(self):
        auth = basic("alice", USERS["alice"][0])
        port = self.daemon.tcp_port
        for origin, status in ((f"https://127.0.0.1:{port}", 200),
                               (f"https://localhost:{port}", 200),
                               ("https://evil.example", 403),
                               (f"http://127.0.0.1:{port}", 403),
                               (f"https://127.0.0.1:{port + 1}", 403),
                               ("null", 403)):
            with self.subTest(origin=origin):
                r = tls_exchange(self.daemon, http_request(
                    xml_call("daemon.version"), headers=[auth, "Origin: " + origin]))
                self.assertEqual(r.status, status, r)
                if status == 403:
                    self.assertIn(b"Origin", r.body)

    def test_content_type_required(self):
        auth = basic("alice", USERS["alice"][0])
        r = tls_exchange(self.daemon, http_request(xml_call("daemon.version"),
                                                   content_type="text/plain", headers=[auth]))
        self.assertEqual(r.status, 415)


class FailedLoginLimitTests(unittest.TestCase):
    def test_limit_then_recovery(self):
        with Daemon(tls=True, users=USERS,
                    config={"auth_max_failures": "3", "auth_fail_window": "2"}) as d:
            bad = d.tcp_proxy(user="alice", password="wrong")
            for _ in range(3):
                with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                    bad.daemon.version()
                self.assertEqual(cm.exception.errcode, 401)
            good = lambda: d.tcp_proxy(user="alice", password=USERS["alice"][0])  # noqa: E731
            with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                good().daemon.version()
            self.assertEqual(cm.exception.errcode, 429)
            self.assertTrue(cm.exception.headers.get("Retry-After", "").isdigit())
            self.assertIn("failed login as 'alice' from 127.0.0.1", d.output())

            def signed_in():
                try:
                    return good().daemon.version()["product"] == "xend"
                except xmlrpc.client.ProtocolError as e:
                    self.assertEqual(e.errcode, 429)
                    return False
            self.assertTrue(wait_for(signed_in, timeout=30, interval=0.5))


class UnauthenticatedConnectionTests(unittest.TestCase):
    def test_cap_and_deadline(self):
        with Daemon(tls=True, users=USERS, config={"max_unauth_connections": "2",
                                                   "request_timeout": "3"}) as d:
            idle = [xendtest.connect(d.tcp_port) for _ in range(2)]
            wait_for(lambda: d.output().count("tcp: connection opened") >= 2)
            extra = xendtest.connect(d.tcp_port)
            self.assertTrue(wait_closed(extra, timeout=10),
                            "a connection over max_unauth_connections was kept")
            extra.close()
            self.assertIn("max_unauth_connections", d.output())
            # The idle ones never signed in: they are cut at request_timeout ...
            for s in idle:
                self.assertTrue(wait_closed(s, timeout=30), "an idle unauthenticated "
                                "connection outlived request_timeout")
                s.close()
            # ... which frees the slots for someone who does (once the daemon has noticed
            # the closed connections, a moment after the clients did).
            def signed_in():
                try:
                    with d.tcp_proxy(user="alice", password=USERS["alice"][0]) as p:
                        return p.daemon.version()["product"] == "xend"
                except (ssl.SSLError, ConnectionError):
                    return False
            self.assertTrue(wait_for(signed_in, timeout=10))
            self.assertIn("authentication was not complete within request_timeout", d.output())


class RequestTimeoutTests(unittest.TestCase):
    def test_slow_client_cut_off_others_served(self):
        with Daemon(config={"request_timeout": "2"}) as d:
            slow = xendtest.connect(d.socket)
            req = http_request(xml_call("daemon.version"))
            slow.sendall(req[:25])
            sent, cut = 25, False
            served = 0
            with d.proxy() as p:
                for b in req[25:]:
                    try:
                        slow.sendall(bytes([b]))
                    except (BrokenPipeError, ConnectionResetError):
                        cut = True
                        break
                    sent += 1
                    self.assertEqual(p.daemon.version()["product"], "xend")
                    served += 1
                    time.sleep(0.25)
            if not cut:
                cut = wait_closed(slow, timeout=10) and not read_response(slow)[0]
            slow.close()
            self.assertTrue(cut or sent < len(req), "a one-byte-at-a-time client was not cut off")
            self.assertLess(sent, len(req), "the slow client got its whole request in")
            self.assertGreater(served, 3)
            self.assertIn("its request was not complete within request_timeout", d.output())

    def test_idle_keep_alive_is_not_a_slow_request(self):
        # Between requests a connection is idle, not slow: only idle_timeout applies.
        with Daemon(config={"request_timeout": "1", "idle_timeout": "60"}) as d:
            with d.proxy() as p:
                p.daemon.version()
                time.sleep(2.5)
                self.assertEqual(p.daemon.version()["product"], "xend")
            self.assertNotIn("request_timeout", d.output())


class ClientRequestCapTests(FaultAssertions, unittest.TestCase):
    def test_cap_and_priority_path(self):
        with Daemon(config={"max_client_requests": "2"}) as d:
            with d.proxy() as p:
                p.domain.define(domain_xml("cap-a"))
                p.domain.start("cap-a")
                last = p.event.current_id()
            # Two long polls from this uid hold both slots.
            results = []

            def poll():
                # Each poll holds one slot until cap-a's destroy ends it; any other reply
                # (an event, a LIMIT fault because a probe below held the slot at that
                # moment) is followed by the next poll.
                since = last
                with d.proxy(timeout=60) as q:
                    while True:
                        try:
                            r = q.event.next(since, 30000)
                        except xmlrpc.client.Fault as f:
                            # The main thread's probe held the second slot when this
                            # poll arrived (a loaded machine): poll again.
                            if f.faultCode != LIMIT:
                                raise
                            time.sleep(0.05)
                            continue
                        since = r["last_id"]
                        if any(e["domain"] == "cap-a" and e["detail"] == "destroyed"
                               for e in r["events"]) or not r["events"]:
                            results.append(r)
                            return
            threads = [threading.Thread(target=poll, daemon=True) for _ in range(2)]
            for t in threads:
                t.start()
            with d.proxy() as p:
                def capped():
                    try:
                        p.daemon.version()
                        return False
                    except xmlrpc.client.Fault as f:
                        self.assertEqual(f.faultCode, LIMIT)
                        self.assertIn("max_client_requests = 2", f.faultString)
                        return True
                self.assertTrue(wait_for(capped, timeout=10))
                # domain.destroy is on the priority path: never capped. Its event ends
                # both polls, which gives the slots back.
                p.domain.destroy("cap-a")
                for t in threads:
                    t.join(30)
                self.assertEqual(len(results), 2)
                for r in results:
                    self.assertIn("cap-a", [e["domain"] for e in r["events"]])
                self.assertEqual(p.daemon.version()["product"], "xend")


class AddressPolicyTests(unittest.TestCase):
    def check(self, extra):
        d = Daemon()
        with open(d.conf_path, "a") as f:
            f.write("tcp_listen = yes\n" + extra)
        return subprocess.run([xendtest.XEND_BIN, "--config", d.conf_path, "--check-config"],
                              capture_output=True, text=True, timeout=30)

    def test_plain_or_unauthenticated_away_from_loopback(self):
        for extra in ("tcp_address = 0.0.0.0\ntcp_tls = no\n",
                      "tcp_address = ::\ntcp_auth = none\n",
                      "tcp_address = 192.0.2.1\ntcp_tls = no\ntcp_auth = none\n"):
            with self.subTest(extra=extra):
                r = self.check(extra)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("not a loopback address", r.stderr)
                self.assertIn("tcp_insecure", r.stderr)
        for extra in ("tcp_address = 0.0.0.0\n",  # TLS and users: fine anywhere
                      "tcp_address = 0.0.0.0\ntcp_tls = no\ntcp_insecure = yes\n",
                      "tcp_address = 127.0.0.1\ntcp_tls = no\ntcp_auth = none\n"):
            with self.subTest(extra=extra):
                r = self.check(extra)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_start_refuses_missing_files(self):
        for config, what in (({"passwd_file": "/nonexistent/passwd"}, "/nonexistent/passwd"),
                             ({"tls_cert": "/nonexistent/cert.pem"}, "tls_cert")):
            with self.subTest(config=config):
                d = Daemon(tls=True, users=USERS, config=config)
                d.start(wait=False)
                self.assertEqual(d.proc.wait(30), 1)
                self.assertIn(what, d.output())
                d.proc = None
                self.assertFalse(os.path.exists(d.socket))

    def test_key_not_matching_certificate(self):
        other = tempfile.mkdtemp(prefix="xend-test-cert-")
        self.addCleanup(shutil.rmtree, other)
        subprocess.run([os.path.join(xendtest.SOURCE_DIR, "scripts", "make-test-cert"), other],
                       check=True)
        d = Daemon(tls=True, users=USERS, config={"tls_key": f"{other}/server-key.pem"})
        d.start(wait=False)
        self.assertEqual(d.proc.wait(30), 1)
        self.assertIn("cannot be used", d.output())
        d.proc = None


if __name__ == "__main__":
    xendtest.main()
