"""Hostile XML bodies sent through the real daemon: deep nesting, entity bombs, external
entities, DOCTYPEs, invalid UTF-8 and friends. Each must be answered with an XML-RPC fault
(HTTP 200) naming a protocol error, and the daemon must go on answering other clients."""
import threading
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, exchange, http_request, xml_call

PARSE = -32700
INVALID_REQUEST = -32600
PROTOCOL_CODES = {PARSE, -32701, -32702, INVALID_REQUEST}

HEAD = b"<?xml version='1.0'?>\n"


def nested_arrays(n):
    return (HEAD + b"<methodCall><methodName>daemon.version</methodName><params><param>" +
            b"<value><array><data>" * n + b"</data></array></value>" * n +
            b"</param></params></methodCall>")


def billion_laughs():
    ents = b'<!ENTITY lol0 "lol">\n'
    for i in range(1, 10):
        prev = b"&lol%d;" % (i - 1)
        ents += b'<!ENTITY lol%d "%s">\n' % (i, prev * 10)
    return (HEAD + b"<!DOCTYPE methodCall [\n" + ents + b"]>\n" +
            b"<methodCall><methodName>system.methodHelp</methodName><params><param><value>"
            b"<string>&lol9;</string></value></param></params></methodCall>")


def quadratic_blowup():
    # One big entity referenced many times (no nesting): amplification without depth.
    return (HEAD + b'<!DOCTYPE m [<!ENTITY a "' + b"x" * 50000 + b'">]>' +
            b"<methodCall><methodName>system.methodHelp</methodName><params><param><value>"
            b"<string>" + b"&a;" * 5000 + b"</string></value></param></params></methodCall>")


def external_entity():
    return (HEAD + b'<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b"<methodCall><methodName>system.methodHelp</methodName><params><param><value>"
            b"<string>&x;</string></value></param></params></methodCall>")


def parameter_entity():
    return (HEAD + b'<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]>'
            b"<methodCall><methodName>daemon.version</methodName></methodCall>")


def plain_doctype():
    return (HEAD + b"<!DOCTYPE methodCall>\n"
            b"<methodCall><methodName>daemon.version</methodName></methodCall>")


def invalid_utf8():
    return (HEAD + b"<methodCall><methodName>system.methodHelp</methodName><params><param>"
            b"<value><string>caf\xc3\x28 \xff\xfe</string></value></param></params>"
            b"</methodCall>")


def overlong_utf8():
    return (HEAD + b"<methodCall><methodName>system.methodHelp</methodName><params><param>"
            b"<value><string>\xc0\xbc</string></value></param></params></methodCall>")


def many_elements():
    return (HEAD + b"<methodCall><methodName>system.methodHelp</methodName><params><param>"
            b"<value><array><data>" + b"<value><int>1</int></value>" * 300000 +
            b"</data></array></value></param></params></methodCall>")


HOSTILE = {
    "nested_arrays_100000": nested_arrays(100000),
    "billion_laughs": billion_laughs(),
    "quadratic_blowup": quadratic_blowup(),
    "external_entity": external_entity(),
    "parameter_entity": parameter_entity(),
    "doctype": plain_doctype(),
    "invalid_utf8": invalid_utf8(),
    "overlong_utf8": overlong_utf8(),
    "too_many_elements": many_elements(),
    "truncated_document": xml_call("daemon.version")[:40],
    "empty_body": b"",
    "not_xml": b"hello, world",
    "two_roots": xml_call("daemon.version") + xml_call("daemon.version"),
    "wrong_root": HEAD + b"<methodResponse><params/></methodResponse>",
    "unknown_element": HEAD + b"<methodCall><methodName>x</methodName><evil/></methodCall>",
    "processing_instruction_only": HEAD + b"<?evil?>",
    "nul_byte": HEAD + b"<methodCall><methodName>da\x00emon.version</methodName></methodCall>",
    "utf16_declared": b"<?xml version='1.0' encoding='UTF-16'?>" +
                      b"<methodCall><methodName>daemon.version</methodName></methodCall>",
}


class HostileTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Default body limit, so every document reaches the decoder; a lower element cap
        # keeps the too_many_elements case small.
        cls.daemon = Daemon(config={"max_elements": "200000"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def post(self, body):
        r = exchange(self.daemon.socket, http_request(body), timeout=60)
        self.assertIsNotNone(r, "the daemon closed without answering")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/xml; charset=utf-8")
        return r

    def assertServing(self):
        with self.daemon.proxy() as p:
            self.assertEqual(p.daemon.version()["product"], "xend")

    def test_hostile_bodies(self):
        for name, body in HOSTILE.items():
            with self.subTest(name=name):
                r = self.post(body)
                with self.assertRaises(xmlrpc.client.Fault) as cm:
                    xmlrpc.client.loads(r.body)
                f = cm.exception
                self.assertIn(f.faultCode, PROTOCOL_CODES, f.faultString)
                self.assertTrue(f.faultString)
                # Nothing of the file an external entity names may leak into the reply.
                self.assertNotIn(b"root:", r.body)
                self.assertLess(len(r.body), 4096, "a fault is short")
                self.assertServing()
        self.assertIsNone(self.daemon.proc.poll())

    def test_specific_codes(self):
        cases = {"doctype": INVALID_REQUEST, "external_entity": INVALID_REQUEST,
                 "nested_arrays_100000": INVALID_REQUEST, "invalid_utf8": PARSE,
                 "not_xml": PARSE}
        for name, code in cases.items():
            with self.subTest(name=name):
                with self.assertRaises(xmlrpc.client.Fault) as cm:
                    xmlrpc.client.loads(self.post(HOSTILE[name]).body)
                self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)

    def test_hostile_in_parallel_with_good_clients(self):
        # While several threads send the nested-array bomb, good calls keep succeeding.
        errors = []

        def attack():
            try:
                for _ in range(3):
                    self.post(HOSTILE["nested_arrays_100000"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=attack) for _ in range(3)]
        for t in threads:
            t.start()
        with self.daemon.proxy() as p:
            for _ in range(20):
                self.assertEqual(p.daemon.version()["api"], "1.0")
        for t in threads:
            t.join(120 * xendtest.SLOW)
        self.assertEqual(errors, [])
        self.assertServing()

    def test_hostile_on_keep_alive_connection(self):
        # A fault does not poison the connection: the next request on it works.
        with xendtest.connect(self.daemon.socket, timeout=60) as s:
            rest = b""
            for body in (HOSTILE["billion_laughs"], xml_call("daemon.version"),
                         HOSTILE["invalid_utf8"], xml_call("daemon.version")):
                s.sendall(http_request(body))
                r, rest = xendtest.read_response(s, rest)
                self.assertIsNotNone(r)
                self.assertEqual(r.status, 200)
            (v,), _ = xmlrpc.client.loads(r.body)
            self.assertEqual(v["product"], "xend")


if __name__ == "__main__":
    xendtest.main()
