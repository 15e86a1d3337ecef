"""The daemon's HTTP rules, checked with raw sockets on the Unix socket and on TCP: POST to
/RPC2 or / only, text/xml required, body and header limits answered before the work is done,
keep-alive, HTTP/1.0 closing, Expect: 100-continue, and clients that misbehave."""
import socket
import time
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, exchange, http_request, xml_call

MAX_BODY = 65536
CALL = xml_call("daemon.version").strip()


class HTTPTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=True, config={"max_body": str(MAX_BODY),
                                              "max_header": "16384"}).start()
        cls.targets = [cls.daemon.socket, cls.daemon.tcp_port]

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def assertServing(self):
        """Another client still gets a correct answer."""
        for target in self.targets:
            r = exchange(target, http_request(CALL))
            self.assertIsNotNone(r, "no reply after a hostile request")
            self.assertEqual(r.status, 200)
            (v,), _ = xmlrpc.client.loads(r.body)
            self.assertEqual(v["product"], "xend")

    def assertError(self, r, status, text=None):
        self.assertIsNotNone(r, "the server closed without a reply")
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("content-type").startswith("text/plain"), r)
        self.assertTrue(r.body.strip(), "an HTTP error carries a short explanation")
        if text:
            self.assertIn(text.lower(), r.body.decode().lower())

    def test_ok(self):
        for target in self.targets:
            for path in ("/RPC2", "/"):
                with self.subTest(target=target, path=path):
                    r = exchange(target, http_request(CALL, path=path))
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.header("content-type"), "text/xml; charset=utf-8")
                    self.assertTrue(r.header("server").startswith("xend/"))

    def test_method_not_allowed(self):
        for target in self.targets:
            for method in ("GET", "PUT", "DELETE", "OPTIONS"):
                with self.subTest(target=target, method=method):
                    r = exchange(target, http_request(b"", method=method, content_type=None))
                    self.assertError(r, 405, "POST")
                    self.assertEqual(r.header("allow"), "POST")

    def test_not_found(self):
        for target in self.targets:
            for path in ("/foo", "/RPC2/x", "/rpc2", "/index.html"):
                with self.subTest(target=target, path=path):
                    self.assertError(exchange(target, http_request(CALL, path=path)), 404)

    def test_content_type(self):
        for target in self.targets:
            for ct in (None, "text/plain", "application/xml", "text/xmlx",
                       "application/x-www-form-urlencoded"):
                with self.subTest(target=target, ct=ct):
                    r = exchange(target, http_request(CALL, content_type=ct))
                    self.assertError(r, 415, "text/xml")
            for ct in ("text/xml", "TEXT/XML", "text/xml; charset=utf-8",
                       "Text/Xml;charset=UTF-8"):
                with self.subTest(target=target, ct=ct):
                    r = exchange(target, http_request(CALL, content_type=ct))
                    self.assertEqual(r.status, 200)

    def test_huge_content_length_answered_at_once(self):
        # 2 GB announced, not one body byte sent: the reply can only come from the head.
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    s.sendall(http_request(b"", length=2 * 1024 ** 3))
                    r, _ = xendtest.read_response(s)
                    self.assertError(r, 413, str(MAX_BODY))
                    self.assertTrue(xendtest.wait_closed(s), "connection kept after a 413")
        self.assertServing()

    def test_oversize_body(self):
        body = b"<?xml version='1.0'?><methodCall><methodName>x</methodName>" + \
            b" " * MAX_BODY + b"</methodCall>"
        for target in self.targets:
            with self.subTest(target=target):
                self.assertError(exchange(target, http_request(body)), 413)
                # Exactly at the limit is still accepted (and fails later, as XML-RPC).
                at = CALL[:-len(b"</methodCall>")]
                at += b" " * (MAX_BODY - len(at) - len(b"</methodCall>")) + b"</methodCall>"
                self.assertEqual(len(at), MAX_BODY)
                r = exchange(target, http_request(at))
                self.assertEqual(r.status, 200)
                (v,), _ = xmlrpc.client.loads(r.body)
                self.assertEqual(v["api"], "1.0")
        self.assertServing()

    def chunked(self, body, size=4096):
        out = b""
        for i in range(0, len(body), size):
            piece = body[i:i + size]
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        return out + b"0\r\n\r\n"

    def test_chunked(self):
        for target in self.targets:
            with self.subTest(target=target):
                req = http_request(self.chunked(CALL, 16), length=False,
                                   headers=["Transfer-Encoding: chunked"])
                r = exchange(target, req)
                self.assertEqual(r.status, 200)
                self.assertIn(b"<name>product</name>", r.body)
                big = http_request(self.chunked(b" " * (MAX_BODY + 5000)), length=False,
                                   headers=["Transfer-Encoding: chunked"])
                self.assertError(exchange(target, big), 413)
        self.assertServing()

    def test_length_required_and_smuggling(self):
        for target in self.targets:
            with self.subTest(target=target):
                self.assertError(exchange(target, http_request(b"", length=False)), 411)
                both = http_request(self.chunked(CALL), headers=["Transfer-Encoding: chunked"])
                self.assertError(exchange(target, both), 400)
                two = http_request(CALL, headers=[f"Content-Length: {len(CALL)}"])
                r = exchange(target, two)
                self.assertIsNotNone(r)
                self.assertEqual(r.status, 400)
        self.assertServing()

    def test_oversize_headers(self):
        for target in self.targets:
            for size in (20000, 200000):
                with self.subTest(target=target, size=size):
                    req = http_request(CALL, headers=["X-Padding: " + "a" * size])
                    r = exchange(target, req)
                    self.assertIsNotNone(r)
                    self.assertTrue(400 <= r.status < 500, r)
                    if size == 20000:
                        self.assertEqual(r.status, 431)
            with self.subTest(target=target, many=True):
                hdrs = [f"X-H{i}: {'b' * 60}" for i in range(400)]
                r = exchange(target, http_request(CALL, headers=hdrs))
                self.assertIsNotNone(r)
                self.assertTrue(400 <= r.status < 500, r)
        self.assertServing()

    def test_truncated_body(self):
        for target in self.targets:
            with self.subTest(target=target):
                for _ in range(5):
                    with xendtest.connect(target) as s:
                        s.sendall(http_request(CALL, length=len(CALL) + 1000))
                # A client that closes mid-head, too.
                with xendtest.connect(target) as s:
                    s.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Ty")
        self.assertServing()
        self.assertIsNone(self.daemon.proc.poll())

    def test_keep_alive(self):
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    rest = b""
                    for i in range(5):
                        body = CALL if i % 2 == 0 else xml_call("no.such.method")
                        s.sendall(http_request(body))
                        r, rest = xendtest.read_response(s, rest)
                        self.assertIsNotNone(r, f"connection closed after request {i}")
                        self.assertEqual(r.status, 200)
                        self.assertNotEqual((r.header("connection") or "").lower(), "close")
                    # Two requests in one write (pipelined) are answered in order.
                    s.sendall(http_request(xml_call("no.such.method")) + http_request(CALL))
                    r1, rest = xendtest.read_response(s, rest)
                    r2, rest = xendtest.read_response(s, rest)
                    self.assertIn(b"faultCode", r1.body)
                    self.assertIn(b"<name>product</name>", r2.body)

    def test_refusal_keeps_connection(self):
        """A request refused for its path, method or content type (not its framing) is
        answered after its body is read, and the connection stays usable: a client that
        writes its whole body first never sees EPIPE instead of the status."""
        cases = [(http_request(CALL, content_type="text/plain"), 415, b"text/xml"),
                 (http_request(CALL, headers=["Content-Encoding: gzip"]), 415, b"gzip"),
                 (http_request(CALL, path="/other"), 404, b"/RPC2"),
                 (http_request(CALL, method="PUT"), 405, b"POST")]
        for target in self.targets:
            for req, status, text in cases:
                with self.subTest(target=target, status=status):
                    with xendtest.connect(target) as s:
                        s.sendall(req)
                        r, rest = xendtest.read_response(s)
                        self.assertError(r, status)
                        self.assertIn(text, r.body)
                        self.assertNotEqual((r.header("connection") or "").lower(), "close")
                        s.sendall(http_request(CALL))
                        r, rest = xendtest.read_response(s, rest)
                        self.assertIsNotNone(r, "connection closed after a refused request")
                        self.assertEqual(r.status, 200)
                        self.assertIn(b"<name>product</name>", r.body)

    def test_python_client_sees_415_on_unix_socket(self):
        """xmlrpc.client writes head and body before reading; it must get the 415 as a
        ProtocolError every time, never a broken pipe."""
        class WrongType(xendtest.UnixTransport):
            def send_headers(self, connection, headers):
                connection.putheader("Content-Encoding", "gzip")
                super().send_headers(connection, headers)
        for _ in range(50):
            proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                              transport=WrongType(self.daemon.socket))
            with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                proxy.daemon.version()
            self.assertEqual(cm.exception.errcode, 415)

    def test_http10_closes(self):
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    s.sendall(http_request(CALL, version="HTTP/1.0"))
                    r, rest = xendtest.read_response(s)
                    self.assertEqual(r.status, 200)
                    self.assertIn(b"<name>product</name>", r.body)
                    self.assertEqual(rest, b"")
                    self.assertTrue(xendtest.wait_closed(s), "HTTP/1.0 connection left open")

    def test_expect_continue(self):
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    head = http_request(CALL, headers=["Expect: 100-continue"])[:-len(CALL)]
                    s.sendall(head)
                    r, rest = xendtest.read_response(s)
                    self.assertEqual(r.status, 100)
                    s.sendall(CALL)
                    r, rest = xendtest.read_response(s, rest)
                    self.assertEqual(r.status, 200)
                    self.assertIn(b"<name>product</name>", r.body)
                # Too large: refused without the 100, before any body byte.
                with xendtest.connect(target) as s:
                    s.sendall(http_request(b"", length=MAX_BODY + 1,
                                           headers=["Expect: 100-continue"]))
                    r, _ = xendtest.read_response(s)
                    self.assertError(r, 413)

    def test_python_client_expect_header_curl_style(self):
        # What curl sends for large bodies: Expect plus the whole body at once.
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    s.sendall(http_request(CALL, headers=["Expect: 100-continue"]))
                    r, rest = xendtest.read_response(s)
                    if r.status == 100:
                        r, rest = xendtest.read_response(s, rest)
                    self.assertEqual(r.status, 200)

    def test_garbage(self):
        for target in self.targets:
            for data in (b"\x00\x01\x02 garbage\r\n\r\n", b"POST\r\n\r\n",
                         b"POST /RPC2 HTTP/9.9\r\n\r\n", b"\r\n" * 100):
                with self.subTest(target=target, data=data[:20]):
                    # Some of these are incomplete heads that the server may hold until the
                    # idle timeout; a short wait is enough to see a refusal.
                    with xendtest.connect(target, timeout=2) as s:
                        s.sendall(data)
                        try:
                            r, _ = xendtest.read_response(s)
                        except socket.timeout:
                            r = None
                        if r is not None:
                            self.assertTrue(400 <= r.status < 600, r)
        self.assertServing()

    def test_slow_client_gets_answer(self):
        # A request dribbled in small pieces is still one request.
        for target in self.targets:
            with self.subTest(target=target):
                with xendtest.connect(target) as s:
                    data = http_request(CALL)
                    for i in range(0, len(data), 7):
                        s.sendall(data[i:i + 7])
                        time.sleep(0.001)
                    r, _ = xendtest.read_response(s)
                    self.assertEqual(r.status, 200)


if __name__ == "__main__":
    xendtest.main()
