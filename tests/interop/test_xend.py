#!/usr/bin/env python3
"""A real xend (xendtest.Daemon) driven by Python's stdlib xmlrpc.client, over the Unix
socket and over the loopback TCP listener: daemon.version, system.listMethods /
methodSignature / methodHelp / getCapabilities, system.multicall mixing good and bad calls
(also through xmlrpc.client.MultiCall), and the typed faults for unknown methods and bad
parameters."""
import unittest
import xmlrpc.client

import interoplib
import xendtest
from interoplib import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND

SYSTEM_METHODS = ["system.getCapabilities", "system.listMethods", "system.methodHelp",
                  "system.methodSignature", "system.multicall"]
TYPES = {"int", "i8", "boolean", "string", "double", "dateTime.iso8601", "base64", "struct",
         "array", "nil"}


class XendSuite(interoplib.WithXend, interoplib.FaultAssertions):
    """Mixin: subclasses set self.proxy() and self.target (Unix path or TCP port)."""

    def test_daemon_version(self):
        v = self.proxy().daemon.version()
        self.assertEqual(v["product"], "xend")
        self.assertEqual(v["api"], "1.0")
        self.assertEqual((v["api_major"], v["api_minor"]), (1, 0))
        self.assertIsInstance(v["version"], str)
        self.assertRegex(v["version"], r"^\d+\.\d+")
        self.assertIsInstance(v["drivers"], list)
        for d in v["drivers"]:
            self.assertIsInstance(d, str)

    def test_list_methods(self):
        names = self.proxy().system.listMethods()
        self.assertEqual(names, sorted(set(names)))
        for m in SYSTEM_METHODS + ["daemon.version"]:
            self.assertIn(m, names)
        # The validator server's methods are not xend's.
        self.assertNotIn("validator1.easyStructTest", names)

    def test_every_method_is_described(self):
        p = self.proxy()
        for name in p.system.listMethods():
            sigs = p.system.methodSignature(name)
            self.assertIsInstance(sigs, list, name)
            self.assertGreaterEqual(len(sigs), 1, name)
            for sig in sigs:
                self.assertGreaterEqual(len(sig), 1, name)
                self.assertTrue(set(sig) <= TYPES, f"{name}: {sig}")
            help_text = p.system.methodHelp(name)
            self.assertGreater(len(help_text), 20, name)
            self.assertIn("Since API", help_text, name)

    def test_known_signatures(self):
        sig = self.proxy().system.methodSignature
        self.assertEqual(sig("daemon.version"), [["struct"]])
        self.assertEqual(sig("system.listMethods"), [["array"]])
        self.assertEqual(sig("system.methodHelp"), [["string", "string"]])
        self.assertEqual(sig("system.methodSignature"), [["array", "string"]])
        self.assertEqual(sig("system.multicall"), [["array", "array"]])
        self.assertIn("api", self.proxy().system.methodHelp("daemon.version"))

    def test_introspection_of_unknown_method(self):
        p = self.proxy()
        for call in (p.system.methodHelp, p.system.methodSignature):
            self.assertFault(interoplib.INVALID_ARG, call, "no.such.method",
                             contains=("'no.such.method'",))

    def test_capabilities(self):
        caps = self.proxy().system.getCapabilities()
        for spec in ("xmlrpc", "introspect", "multicall", "nil", "i8", "faults_interop"):
            self.assertIn(spec, caps)
            self.assertTrue(caps[spec]["specUrl"].startswith("http"), spec)
            self.assertIsInstance(caps[spec]["specVersion"], int, spec)
        self.assertEqual(caps["faults_interop"]["specVersion"], 20010516)

    def test_multicall_raw(self):
        """The multicall wire format: good slots are one-element arrays, bad slots are fault
        structs with exactly faultCode and faultString."""
        calls = [
            {"methodName": "daemon.version", "params": []},
            {"methodName": "no.such.method", "params": [1]},
            {"methodName": "system.methodHelp", "params": [17]},
            {"methodName": "system.methodSignature", "params": ["daemon.version"]},
            {"methodName": "daemon.version", "params": ["extra"]},
            {"methodName": "system.multicall", "params": [[]]},
            {"methodName": "system.listMethods"},
            {"params": []},
            "not a struct",
            {"methodName": "system.methodHelp", "params": "not an array"},
        ]
        res = self.proxy().system.multicall(calls)
        self.assertEqual(len(res), len(calls))

        def ok(i):
            self.assertIsInstance(res[i], list, f"slot {i}: {res[i]!r}")
            self.assertEqual(len(res[i]), 1)
            return res[i][0]

        def fault(i, code, *contains):
            self.assertIsInstance(res[i], dict, f"slot {i}: {res[i]!r}")
            self.assertEqual(set(res[i]), {"faultCode", "faultString"})
            self.assertEqual(res[i]["faultCode"], code, res[i]["faultString"])
            for sub in contains:
                self.assertIn(sub, res[i]["faultString"])

        self.assertEqual(ok(0)["api"], "1.0")
        fault(1, METHOD_NOT_FOUND, "'no.such.method'")
        fault(2, INVALID_PARAMS, "system.methodHelp", "parameter 1", "string", "int")
        self.assertEqual(ok(3), [["struct"]])
        fault(4, INVALID_PARAMS, "daemon.version", "1 parameter")
        fault(5, INVALID_REQUEST, "nested")
        self.assertIn("daemon.version", ok(6))
        fault(7, INVALID_PARAMS, "call 8", "methodName")
        fault(8, INVALID_PARAMS, "call 9", "methodName")
        fault(9, INVALID_PARAMS, "call 10", "params", "array")
        self.assertEqual(self.proxy().system.multicall([]), [])

    def test_multicall_python(self):
        mc = xmlrpc.client.MultiCall(self.proxy())
        mc.daemon.version()
        mc.daemon.nope()
        mc.system.methodSignature("daemon.version")
        mc.system.methodHelp()
        results = list(mc().results)
        self.assertEqual(results[0][0]["product"], "xend")
        self.assertEqual(results[1]["faultCode"], METHOD_NOT_FOUND)
        self.assertEqual(results[2][0], [["struct"]])
        self.assertEqual(results[3]["faultCode"], INVALID_PARAMS)
        it = mc()
        self.assertEqual(it[0]["api"], "1.0")
        with self.assertRaises(xmlrpc.client.Fault):
            it[1]

    def test_multicall_arguments(self):
        p = self.proxy()
        self.assertFault(INVALID_PARAMS, p.system.multicall, "x",
                         contains=("system.multicall", "parameter 1", "array", "string"))
        self.assertFault(INVALID_PARAMS, p.system.multicall,
                         contains=("system.multicall", "0 parameters"))

    def test_faults(self):
        p = self.proxy()
        self.assertFault(METHOD_NOT_FOUND, p.daemon.nope, contains=("'daemon.nope'",))
        self.assertFault(METHOD_NOT_FOUND, p.validator1.easyStructTest, {},
                         contains=("validator1.easyStructTest",))
        self.assertFault(INVALID_PARAMS, p.daemon.version, 1,
                         contains=("daemon.version", "1 parameter"))
        self.assertFault(INVALID_PARAMS, p.system.methodHelp, 5,
                         contains=("system.methodHelp", "parameter 1", "string", "int"))
        self.assertFault(INVALID_PARAMS, p.system.methodSignature, None,
                         contains=("parameter 1", "string", "nil"))
        # Raw documents get the same protocol faults from xend as from the validator server.
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            interoplib.raw_call(self.target, "<methodCall><methodName>x</methodName>")
        self.assertEqual(cm.exception.faultCode, interoplib.PARSE_ERROR)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            interoplib.raw_call(self.target, interoplib.method_call(
                "daemon.version", "<value><int>99999999999</int></value>"))
        self.assertEqual(cm.exception.faultCode, INVALID_REQUEST)
        # ... and the connection, the daemon and the next call are fine.
        self.assertEqual(p.daemon.version()["api"], "1.0")

    def test_raw_untyped_and_i8_arguments(self):
        """Values Python never writes are decoded the same way by xend."""
        got, _ = interoplib.raw_call(self.target, interoplib.method_call(
            "system.methodSignature", "<value>daemon.version</value>"))
        self.assertEqual(got, [["struct"]])

    def test_keep_alive(self):
        """xmlrpc.client keeps one HTTP/1.1 connection: many calls on one proxy work."""
        p = self.proxy()
        for _ in range(50):
            self.assertEqual(p.daemon.version()["product"], "xend")


class XendOverUnix(XendSuite, unittest.TestCase):
    def proxy(self):
        p = self.daemon.proxy()
        self.addCleanup(p("close"))
        return p

    @property
    def target(self):
        return self.daemon.socket


class XendOverTCP(XendSuite, unittest.TestCase):
    def proxy(self):
        p = self.daemon.tcp_proxy()
        self.addCleanup(p("close"))
        return p

    @property
    def target(self):
        return self.daemon.tcp_port


if __name__ == "__main__":
    xendtest.main()
