#!/usr/bin/env python3
"""The UserLand validator1 suite, driven by Python's stdlib xmlrpc.client against
tests/interop/validator-server, over its Unix socket (custom Transport) and over TCP.
Inputs are generated (seeded, so a failure replays) and every answer is checked; the
typed faults for missing or mistyped struct members are checked too (code and message)."""
import datetime
import os
import random
import signal
import subprocess
import unittest
import xmlrpc.client

import interoplib
import xendtest
from interoplib import INVALID_PARAMS

SPECIALS = "<>&'\""
ALPHABET = ["a", "b", "Z", "0", " ", "\t", "\n", "<", ">", "&", "'", "\"", "]]>", "&amp;",
            "\u00e9", "\u65e5", "\u20ac", "\U0001f600", "\U0001d11e"]


class ValidatorSuite(interoplib.WithValidatorServer, interoplib.FaultAssertions):
    """Mixin: subclasses set up self.proxy (Unix or TCP)."""

    def setUp(self):
        self.rng = random.Random(20240229)

    def text(self, lo=0, hi=60):
        return "".join(self.rng.choice(ALPHABET) for _ in range(self.rng.randint(lo, hi)))

    def stooges(self):
        return {k: self.rng.randint(-100000, 100000) for k in ("moe", "larry", "curly")}

    def test_array_of_structs(self):
        v = self.proxy.validator1
        self.assertEqual(v.arrayOfStructsTest([]), 0)
        for n in (1, 7, 40):
            structs = [self.stooges() for _ in range(n)]
            for s in structs[::3]:
                s["extra"] = "ignored"
            self.assertEqual(v.arrayOfStructsTest(structs), sum(s["curly"] for s in structs))

    def test_array_of_structs_faults(self):
        v = self.proxy.validator1
        self.assertFault(INVALID_PARAMS, v.arrayOfStructsTest,
                         [{"moe": 1, "larry": 2, "curly": 3}, {"larry": 2, "curly": 3}],
                         contains=("'moe'", "item 2", "missing"))
        self.assertFault(INVALID_PARAMS, v.arrayOfStructsTest, [{"moe": 1, "larry": 2,
                                                                 "curly": "3"}],
                         contains=("'curly'", "int", "string"))
        self.assertFault(INVALID_PARAMS, v.arrayOfStructsTest, [5],
                         contains=("item 1", "struct", "int"))
        self.assertFault(INVALID_PARAMS, v.arrayOfStructsTest, {"moe": 1},
                         contains=("parameter 1", "array", "struct"))

    def test_count_the_entities(self):
        for s in ["", "<<>>&&''\"\"", "no specials at all", "&lt;&amp;"] + \
                [self.text(0, 300) for _ in range(8)]:
            got = self.proxy.validator1.countTheEntities(s)
            self.assertEqual(got, {
                "ctLeftAngleBrackets": s.count("<"), "ctRightAngleBrackets": s.count(">"),
                "ctAmpersands": s.count("&"), "ctApostrophes": s.count("'"),
                "ctQuotes": s.count("\"")}, repr(s))

    def test_easy_struct(self):
        for _ in range(10):
            s = self.stooges()
            self.assertEqual(self.proxy.validator1.easyStructTest(s), sum(s.values()))
        self.assertEqual(self.proxy.validator1.easyStructTest(
            {"moe": 1, "larry": 2, "curly": 3, "shemp": "extra"}), 6)

    def test_easy_struct_faults(self):
        v = self.proxy.validator1
        for missing in ("moe", "larry", "curly"):
            s = {"moe": 1, "larry": 2, "curly": 3}
            del s[missing]
            self.assertFault(INVALID_PARAMS, v.easyStructTest, s,
                             contains=(f"'{missing}'", "missing"))
        self.assertFault(INVALID_PARAMS, v.easyStructTest, {"moe": 1.5, "larry": 2, "curly": 3},
                         contains=("'moe'", "int", "double"))
        self.assertFault(INVALID_PARAMS, v.easyStructTest,
                         contains=("validator1.easyStructTest", "0 parameters"))
        self.assertFault(INVALID_PARAMS, v.easyStructTest, {}, {},
                         contains=("validator1.easyStructTest", "2 parameters"))
        # A sum beyond 32 bits cannot be an <int>: a clear INVALID_ARG, not a wrapped value.
        self.assertFault(interoplib.INVALID_ARG, v.easyStructTest,
                         {"moe": 2**31 - 1, "larry": 2**31 - 1, "curly": 0},
                         contains=("32-bit",))

    def test_echo_struct(self):
        for _ in range(5):
            s = {
                "int": self.rng.randint(-2**31, 2**31 - 1), "bool": self.rng.random() < .5,
                "text": self.text(), "double": self.rng.uniform(-1e6, 1e6),
                "when": datetime.datetime(2000 + self.rng.randint(0, 99), 4, 1, 12, 34, 56),
                "bytes": bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 64))),
                "nothing": None, "list": [1, "two", [3.5, {"k": "v"}]],
                "nested": {"deeper": {"list": []}}, "blank": {},
                self.text(1, 10): "a random member name",
                "": "the empty member name",
            }
            self.assertEqual(self.proxy.validator1.echoStructTest(s), s)
        self.assertEqual(self.proxy.validator1.echoStructTest({}), {})

    def test_many_types(self):
        cases = [
            (0, False, "", 0.0, datetime.datetime(1970, 1, 1), b""),
            (2**31 - 1, True, "<&>", 3.141592653589793, datetime.datetime(1998, 7, 17, 14, 8, 55),
             bytes(range(256))),
            (-2**31, False, "caf\u00e9 \U0001f600", -1e-300, datetime.datetime(9999, 12, 31, 23, 59,
                                                                            59), b"\0"),
            (42, True, self.text(), 1.7976931348623157e308, datetime.datetime(2024, 2, 29),
             b"\xff" * 1000),
        ]
        for args in cases:
            got = self.proxy.validator1.manyTypesTest(*args)
            self.assertEqual(got, list(args))
            self.assertIsInstance(got[1], bool)
            self.assertIsInstance(got[3], float)
        self.assertFault(INVALID_PARAMS, self.proxy.validator1.manyTypesTest,
                         1, 1, "s", 1.0, datetime.datetime(2000, 1, 1), b"",
                         contains=("parameter 2", "boolean", "int"))

    def test_moderate_size_array(self):
        for _ in range(4):
            items = [self.text(1, 20) for _ in range(self.rng.randint(100, 200))]
            self.assertEqual(self.proxy.validator1.moderateSizeArrayCheck(items),
                             items[0] + items[-1])
        self.assertFault(INVALID_PARAMS, self.proxy.validator1.moderateSizeArrayCheck, [],
                         contains=("empty",))
        self.assertFault(INVALID_PARAMS, self.proxy.validator1.moderateSizeArrayCheck,
                         ["a", 2], contains=("item 2", "string", "int"))

    def test_nested_struct(self):
        calendar, want = {}, None
        for year in (1999, 2000, 2001):
            calendar[str(year)] = ystruct = {}
            for month in range(1, 13):
                ystruct[f"{month:02d}"] = mstruct = {}
                for day in range(1, 29):
                    mstruct[f"{day:02d}"] = s = self.stooges()
                    if (year, month, day) == (2000, 4, 1):
                        want = sum(s.values())
        self.assertEqual(self.proxy.validator1.nestedStructTest(calendar), want)

    def test_nested_struct_faults(self):
        v = self.proxy.validator1
        self.assertFault(INVALID_PARAMS, v.nestedStructTest, {"1999": {}},
                         contains=("'2000'", "missing"))
        self.assertFault(INVALID_PARAMS, v.nestedStructTest, {"2000": {"04": {}}},
                         contains=("'01'", "2000/04"))
        self.assertFault(INVALID_PARAMS, v.nestedStructTest, {"2000": {"04": {"01": {
            "moe": 1, "larry": 2}}}}, contains=("'curly'", "2000/04/01"))
        self.assertFault(INVALID_PARAMS, v.nestedStructTest, {"2000": []},
                         contains=("2000", "struct", "array"))

    def test_simple_struct_return(self):
        for n in [0, 1, -7, 2147483, -2147483] + [self.rng.randint(-2147483, 2147483)
                                                  for _ in range(5)]:
            self.assertEqual(self.proxy.validator1.simpleStructReturnTest(n),
                             {"times10": n * 10, "times100": n * 100, "times1000": n * 1000})

    def test_simple_struct_return_i8(self):
        """Products beyond 32 bits come back as <i8>, which xmlrpc.client decodes."""
        for n in (2**31 - 1, -2**31):
            got, body = interoplib.raw_call(self.target, interoplib.method_call(
                "validator1.simpleStructReturnTest", f"<value><int>{n}</int></value>"))
            self.assertEqual(got, {"times10": n * 10, "times100": n * 100,
                                   "times1000": n * 1000})
            self.assertIn(f"<i8>{n * 1000}</i8>".encode(), body)

    def test_introspection_of_validator(self):
        names = self.proxy.system.listMethods()
        for m in interoplib.VALIDATOR_METHODS:
            self.assertIn(m, names)
        sig = self.proxy.system.methodSignature
        self.assertEqual(sig("validator1.manyTypesTest"), [[
            "array", "int", "boolean", "string", "double", "dateTime.iso8601", "base64"]])
        self.assertEqual(sig("validator1.easyStructTest"), [["int", "struct"]])
        self.assertIn("curly", self.proxy.system.methodHelp("validator1.arrayOfStructsTest"))

    def test_multicall_validator(self):
        mc = xmlrpc.client.MultiCall(self.proxy)
        mc.validator1.easyStructTest({"moe": 1, "larry": 2, "curly": 3})
        mc.validator1.easyStructTest({"moe": 1})
        mc.validator1.simpleStructReturnTest(2)
        mc.validator1.nope()
        results = mc()
        self.assertEqual(results[0], 6)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            results[1]
        self.assertEqual(cm.exception.faultCode, INVALID_PARAMS)
        self.assertIn("'larry'", cm.exception.faultString)
        self.assertEqual(results[2], {"times10": 20, "times100": 200, "times1000": 2000})
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            results[3]
        self.assertEqual(cm.exception.faultCode, interoplib.METHOD_NOT_FOUND)
        self.assertIn("validator1.nope", cm.exception.faultString)


class ValidatorOverUnix(ValidatorSuite, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.server.unix_proxy(use_builtin_types=True)
        self.addCleanup(self.proxy("close"))
        self.target = self.server.socket


class ValidatorOverTCP(ValidatorSuite, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.server.tcp_proxy(use_builtin_types=True)
        self.addCleanup(self.proxy("close"))
        self.target = self.server.tcp_port


class ValidatorServerLifecycle(unittest.TestCase):
    """The test server itself: SIGINT and SIGTERM stop it cleanly (exit 0, socket file
    removed, valgrind-clean under fullcheck); bad command lines are usage errors."""

    def test_stop_signals(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            srv = interoplib.ValidatorServer().start()
            try:
                p = srv.unix_proxy()
                self.assertEqual(p.validator1.simpleStructReturnTest(3)["times10"], 30)
                p("close")()
                os.kill(srv.proc.pid, sig)
                # (On a timeout, stop() below kills it and fails the test.)
                rc = srv.proc.wait(timeout=15 * xendtest.SLOW)
                self.assertEqual(rc, 0, srv.output())
                self.assertFalse(os.path.exists(srv.socket))
            finally:
                srv.stop()

    def test_usage_errors(self):
        for args in ([], ["--tcp-port", "0"], ["--socket", "/tmp/x", "--tcp-port", "70000"],
                     ["--socket", "/tmp/x", "--port-file", "/tmp/p"], ["--bogus"],
                     ["--socket", "/tmp/x", "extra"]):
            r = subprocess.run([interoplib.VALIDATOR_BIN] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage", r.stdout, args)


if __name__ == "__main__":
    xendtest.main()
