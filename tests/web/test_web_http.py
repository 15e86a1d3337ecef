"""What the web page relies on at the HTTP level, against a real xend on loopback with TLS
(a test certificate) and HTTP Basic users, with raw requests over TLS (Python's stdlib):

- the static files: GET / is the page (text/html) with a strict Content-Security-Policy
  (default-src 'none', script-src 'self'), nosniff, caching headers and an ETag that a
  conditional GET turns into 304; the JavaScript has a JavaScript content type; an unknown
  path is 404, and no path, however spelt (.., %2e%2e, encoded slashes), reaches a file on
  disk; HEAD gives the headers without a body; the files need no credentials;
- the API: /RPC2 needs credentials; a wrong password is 401 with a `Basic realm="xend"`
  challenge, except for the page (header X-Xend-Client: web), which gets no Basic
  challenge so that browsers show no dialog of their own; no Content-Type is 415 (a
  cross-site form cannot set text/xml); a foreign Origin is 403, the listener's own origin
  is served; a user of access class read gets ACCESS_DENIED for domain.start."""
import base64
import socket
import ssl
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, domain_xml, http_request, read_response, xml_call

ACCESS_DENIED = 4
USERS = {"admin": ("web-Admin.pw9", "admin"), "viewer": ("web-Viewer.pw4", "read")}
JS_TYPES = ("text/javascript", "application/javascript")


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return "Authorization: Basic " + token


def get_request(path, method="GET", headers=()):
    """A GET (or HEAD) without a body, as a browser sends it."""
    return http_request(path=path, method=method, content_type=None, length=False,
                        headers=list(headers))


class WebHTTPTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The failed-login limit (5 a minute by default) would turn the deliberate wrong
        # passwords of these tests into 429s for the others.
        cls.daemon = Daemon(tls=True, users=USERS,
                            config={"auth_max_failures": "1000"}).start()
        cls.port = cls.daemon.tcp_port
        cls.origin = f"https://127.0.0.1:{cls.port}"
        cls.ctx = ssl.create_default_context(cafile=cls.daemon.ca)
        with cls.daemon.proxy() as p:
            p.domain.define(domain_xml("web-http-target"))

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    # ---- helpers ------------------------------------------------------------------------

    def tls_connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10 * xendtest.SLOW)
        return self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def exchange(self, data):
        """One request on a fresh TLS connection; the parsed response."""
        with self.tls_connect() as s:
            s.sendall(data)
            r = read_response(s)[0]
        self.assertIsNotNone(r, "the daemon closed the connection without a reply")
        return r

    def get(self, path, method="GET", headers=()):
        return self.exchange(get_request(path, method, headers))

    def rpc(self, method, *params, user="admin", password=None, headers=(), **kw):
        if password is None and user is not None:
            password = USERS[user][0]
        hdrs = list(headers)
        if user is not None:
            hdrs.append(basic(user, password))
        return self.exchange(http_request(xml_call(method, *params), headers=hdrs, **kw))

    def assertNoDiskFile(self, r):
        # whatever the status, nothing of /etc/passwd (every Debian system has root there)
        self.assertNotIn(b"root:", r.body)

    # ---- the static files ---------------------------------------------------------------

    def test_page_headers(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("text/html"), r)
        csp = r.header("content-security-policy") or ""
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual((r.header("x-content-type-options") or "").lower(), "nosniff")
        self.assertTrue(r.header("etag"), r)
        self.assertTrue(r.header("cache-control"), r)
        self.assertEqual(int(r.header("content-length")), len(r.body))
        self.assertIn(b"<html", r.body.lower())

    def test_conditional_get(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r)
        etag = r.header("etag")
        self.assertTrue(etag, r)
        again = self.get("/", headers=["If-None-Match: " + etag])
        self.assertEqual(again.status, 304, again)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.header("etag"), etag)
        # another tag: the file again
        other = self.get("/", headers=['If-None-Match: "not-the-etag"'])
        self.assertEqual(other.status, 200, other)
        self.assertEqual(other.body, r.body)

    def test_javascript_content_type(self):
        r = self.get("/js/xmlrpc.js")
        self.assertEqual(r.status, 200, r)
        ctype = r.header("content-type") or ""
        self.assertTrue(ctype.split(";")[0].strip().lower() in JS_TYPES, ctype)
        self.assertEqual((r.header("x-content-type-options") or "").lower(), "nosniff")
        self.assertTrue(r.header("etag"), r)

    def test_unknown_path(self):
        for path in ("/nope", "/js/nope.js", "/index.html/x"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 404, r)

    def test_no_file_from_disk(self):
        for path in ("/../etc/passwd", "/%2e%2e/", "/%2e%2e/etc/passwd", "/etc/passwd",
                     "//etc/passwd", "/js/../../etc/passwd", "/js/%2e%2e/%2e%2e/etc/passwd"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 404, r)
                self.assertNoDiskFile(r)
        # Spellings the HTTP layer may already refuse as malformed (400): refused either way.
        for path in ("/..%2fetc%2fpasswd", "/%2E%2E/%2E%2E/etc/passwd", "/%00/etc/passwd",
                     "/..\\..\\etc\\passwd"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertIn(r.status, (400, 404), r)
                self.assertNoDiskFile(r)

    def test_head(self):
        full = self.get("/")
        self.assertEqual(full.status, 200, full)
        with self.tls_connect() as s:
            s.sendall(get_request("/", method="HEAD"))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "closed before the head of the HEAD reply")
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            self.assertIn(b"etag:", head.lower())
            self.assertIn(b"content-security-policy:", head.lower())
            # No body may follow: the next reply on this connection must come right after
            # the head (a body would come first).
            s.sendall(get_request("/nope"))
            r, _ = read_response(s, rest)
            self.assertIsNotNone(r, "the connection closed after HEAD")
            self.assertEqual(r.status, 404, r)

    def test_static_files_need_no_credentials_rpc_does(self):
        self.assertEqual(self.get("/").status, 200)
        self.assertEqual(self.get("/js/xmlrpc.js").status, 200)
        r = self.rpc("daemon.version", user=None)
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(b"methodResponse", r.body)
        r = self.rpc("daemon.version")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"methodResponse", r.body)

    # ---- the API, as the page uses it ---------------------------------------------------

    def test_wrong_password_basic_challenge(self):
        r = self.rpc("daemon.version", password="wrong")
        self.assertEqual(r.status, 401, r)
        # (RFC 7617 allows parameters after the realm, e.g. charset="UTF-8")
        self.assertTrue((r.header("www-authenticate") or "").startswith('Basic realm="xend"'),
                        r)
        self.assertNotIn(b"methodResponse", r.body)

    def test_wrong_password_from_the_page_no_dialog(self):
        r = self.rpc("daemon.version", password="wrong", headers=["X-Xend-Client: web"])
        self.assertEqual(r.status, 401, r)
        challenge = r.header("www-authenticate") or ""
        # a browser opens its own sign-in dialog for a Basic challenge: the page has its own
        self.assertFalse(challenge.strip().lower().startswith("basic"), challenge)
        self.assertNotIn(b"methodResponse", r.body)
        # the right password with the same header works
        ok = self.rpc("daemon.version", headers=["X-Xend-Client: web"])
        self.assertEqual(ok.status, 200, ok)

    def test_content_type_required(self):
        r = self.rpc("daemon.version", content_type=None)
        self.assertEqual(r.status, 415, r)
        r = self.rpc("daemon.version", content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 415, r)
        r = self.rpc("daemon.version", content_type="text/xml")
        self.assertEqual(r.status, 200, r)

    def test_origin(self):
        for origin, status in ((self.origin, 200),
                               ("https://evil.example", 403),
                               (f"http://127.0.0.1:{self.port}", 403)):
            with self.subTest(origin=origin):
                r = self.rpc("daemon.version", headers=["Origin: " + origin,
                                                        "X-Xend-Client: web"])
                self.assertEqual(r.status, status, r)
                if status == 200:
                    self.assertIn(b"methodResponse", r.body)
                else:
                    self.assertNotIn(b"methodResponse", r.body)

    def test_read_only_user(self):
        with self.daemon.tcp_proxy(user="viewer", password=USERS["viewer"][0]) as p:
            names = [d["name"] for d in p.domain.list()]
            self.assertIn("web-http-target", names)
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                p.domain.start("web-http-target")
            self.assertEqual(cm.exception.faultCode, ACCESS_DENIED, cm.exception.faultString)
        with self.daemon.proxy() as p:
            state = [d["state"] for d in p.domain.list() if d["name"] == "web-http-target"]
            self.assertEqual(state, ["shutoff"])

    def test_admin_user_over_the_page_headers(self):
        """The calls as the page makes them (Origin, X-Xend-Client, credentials) work."""
        r = self.rpc("domain.list", headers=["Origin: " + self.origin, "X-Xend-Client: web"])
        self.assertEqual(r.status, 200, r)
        result, = xmlrpc.client.loads(r.body.decode())[0]
        self.assertIn("web-http-target", [d["name"] for d in result])


if __name__ == "__main__":
    unittest.main(verbosity=2)
