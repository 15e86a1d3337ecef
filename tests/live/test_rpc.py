"""A real xend driven by Python's xmlrpc.client, over its Unix socket (custom transport) and
over loopback TCP: introspection, daemon.version, multicall and the protocol faults."""
import os
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


class RPCTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(tcp=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def proxies(self):
        out = [("unix", self.daemon.proxy()), ("tcp", self.daemon.tcp_proxy())]
        for _, p in out:
            self.addCleanup(p("close"))
        return out

    def assertFault(self, code, fn, *args):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        self.assertTrue(cm.exception.faultString)
        return cm.exception

    def test_list_methods(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                methods = p.system.listMethods()
                for m in ("daemon.version", "system.listMethods", "system.methodHelp",
                          "system.methodSignature", "system.multicall"):
                    self.assertIn(m, methods)
                self.assertEqual(methods, sorted(methods))

    def test_daemon_version(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                v = p.daemon.version()
                self.assertEqual(v["product"], "xend")
                self.assertEqual(v["api"], "1.0")
                self.assertEqual(v["api_major"], 1)
                self.assertEqual(v["api_minor"], 0)
                self.assertRegex(v["version"], r"^\d+\.\d+\.\d+")
                self.assertIsInstance(v["drivers"], list)

    def test_introspection(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                self.assertEqual(p.system.methodSignature("daemon.version"), [["struct"]])
                self.assertEqual(p.system.methodSignature("system.methodHelp"),
                                 [["string", "string"]])
                text = p.system.methodHelp("daemon.version")
                self.assertIsInstance(text, str)
                self.assertIn("api", text)
                with self.assertRaises(xmlrpc.client.Fault) as cm:
                    p.system.methodHelp("no.such.method")
                self.assertIn("no.such.method", cm.exception.faultString)

    def test_unknown_method(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                f = self.assertFault(METHOD_NOT_FOUND, p.no.such.method)
                self.assertIn("no.such.method", f.faultString)

    def test_wrong_params(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                self.assertFault(INVALID_PARAMS, p.daemon.version, 1)
                self.assertFault(INVALID_PARAMS, p.system.methodHelp)
                self.assertFault(INVALID_PARAMS, p.system.methodHelp, 42)
                self.assertFault(INVALID_PARAMS, p.system.methodHelp, "a", "b")
                # The connection is still usable after faults.
                self.assertEqual(p.daemon.version()["api"], "1.0")

    def test_multicall_mixed(self):
        for name, p in self.proxies():
            with self.subTest(transport=name):
                mc = xmlrpc.client.MultiCall(p)
                mc.daemon.version()
                mc.no.such.method()
                mc.system.methodHelp(42)
                mc.system.methodSignature("daemon.version")
                raw = p.system.multicall([
                    {"methodName": "daemon.version", "params": []},
                    {"methodName": "no.such.method", "params": []},
                    {"methodName": "system.methodHelp", "params": [42]},
                    {"methodName": "system.methodSignature", "params": ["daemon.version"]},
                ])
                self.assertEqual(len(raw), 4)
                self.assertIsInstance(raw[0], list)
                self.assertEqual(raw[0][0]["product"], "xend")
                self.assertEqual(raw[1]["faultCode"], METHOD_NOT_FOUND)
                self.assertEqual(raw[2]["faultCode"], INVALID_PARAMS)
                self.assertEqual(raw[3], [[["struct"]]])
                # The stdlib's MultiCall view of the same thing.
                results = mc()
                self.assertEqual(results[0]["api"], "1.0")
                with self.assertRaises(xmlrpc.client.Fault) as cm:
                    results[1]
                self.assertEqual(cm.exception.faultCode, METHOD_NOT_FOUND)
                with self.assertRaises(xmlrpc.client.Fault) as cm:
                    results[2]
                self.assertEqual(cm.exception.faultCode, INVALID_PARAMS)
                self.assertEqual(results[3], [["struct"]])

    def test_keep_alive_proxy(self):
        # One ServerProxy keeps one HTTP/1.1 connection; many calls must work on it.
        for name, p in self.proxies():
            with self.subTest(transport=name):
                for _ in range(20):
                    self.assertEqual(p.daemon.version()["product"], "xend")

    def test_reply_headers_result_and_fault(self):
        with self.daemon.proxy() as p:
            version = p.daemon.version()["version"]
        for target in (self.daemon.socket, self.daemon.tcp_port):
            for body in (xendtest.xml_call("daemon.version"), xendtest.xml_call("nope")):
                with self.subTest(target=target, body=body[-40:]):
                    r = xendtest.exchange(target, xendtest.http_request(body))
                    self.assertIsNotNone(r)
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.header("content-type"), "text/xml; charset=utf-8")
                    self.assertEqual(r.header("server"), "xend/" + version)
                    self.assertEqual(int(r.header("content-length")), len(r.body))
                    if body.find(b"nope") >= 0:
                        with self.assertRaises(xmlrpc.client.Fault) as cm:
                            xmlrpc.client.loads(r.body)
                        self.assertEqual(cm.exception.faultCode, METHOD_NOT_FOUND)
                    else:
                        (result,), _ = xmlrpc.client.loads(r.body)
                        self.assertEqual(result["product"], "xend")

    def test_peer_credentials_logged(self):
        # SO_PEERCRED is read once per Unix connection; with log_level=debug the daemon
        # logs the peer's uid and pid.
        with self.daemon.proxy() as p:
            p.daemon.version()
        out = xendtest.wait_for(
            lambda: f"uid={os.getuid()}" in self.daemon.output() and
            f"pid={os.getpid()}" in self.daemon.output())
        self.assertTrue(out, self.daemon.output()[-2000:])


if __name__ == "__main__":
    xendtest.main()
