#!/usr/bin/env python3
"""The third-party C client: tests/interop/xmlrpcc-client (linked with xmlrpc-c 1.33's
curl client, TCP only) run in each of its modes against the validator server and against a
real xend's TCP listener. Each mode checks every answer itself and prints one line per
check; here its exit status and its summary line are asserted."""
import re
import unittest

import interoplib
import xendtest


@unittest.skipUnless(interoplib.XMLRPCC_CLIENT, "xmlrpc-c client library not installed")
class XmlrpccBase(unittest.TestCase):
    def run_mode(self, url, mode, *args):
        proc = interoplib.run_xmlrpcc(url, mode, *args)
        out = proc.stdout
        failed = [l for l in out.splitlines() if l.startswith("FAIL")]
        self.assertEqual(failed, [], f"xmlrpcc-client {mode}:\n{out}")
        self.assertEqual(proc.returncode, 0, f"xmlrpcc-client {mode}:\n{out}")
        m = re.search(r"^# (\d+) checks, 0 failed$", out, re.M)
        self.assertIsNotNone(m, out)
        return int(m.group(1)), out


class XmlrpccAgainstValidator(interoplib.WithValidatorServer, XmlrpccBase):

    def test_validator_suite(self):
        n, out = self.run_mode(self.server.url, "validator")
        self.assertGreaterEqual(n, 70)
        for method in interoplib.VALIDATOR_METHODS:
            self.assertIn(method.split(".")[1], out)

    def test_validator_suite_other_seed(self):
        n, _ = self.run_mode(self.server.url, "validator", "0x5eed")
        self.assertGreaterEqual(n, 70)

    def test_introspect(self):
        n, out = self.run_mode(self.server.url, "introspect", *interoplib.VALIDATOR_METHODS)
        for method in interoplib.VALIDATOR_METHODS:
            self.assertIn(f"ok - system.listMethods lists {method}", out)
        self.assertIn("ok - multicall slot 4 (unknown method): fault struct -32601", out)

    def test_faults(self):
        n, out = self.run_mode(self.server.url, "faults")
        self.assertGreaterEqual(n, 9)

    def test_unknown_mode_is_a_usage_error(self):
        proc = interoplib.run_xmlrpcc(self.server.url, "bogus")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("usage", proc.stdout)

    def test_a_failing_check_fails(self):
        """The client is not vacuous: xend's checks against the validator server fail."""
        proc = interoplib.run_xmlrpcc(self.server.url, "xend")
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertIn("FAIL - daemon.version: unexpected fault -32601", proc.stdout)


class XmlrpccAgainstXend(interoplib.WithXend, XmlrpccBase):

    @property
    def url(self):
        return f"http://127.0.0.1:{self.daemon.tcp_port}/RPC2"

    def test_xend(self):
        n, out = self.run_mode(self.url, "xend")
        self.assertIn('ok - daemon.version api "1.0"', out)
        self.assertGreaterEqual(n, 20)

    def test_introspect(self):
        self.run_mode(self.url, "introspect", "daemon.version")

    def test_faults(self):
        self.run_mode(self.url, "faults")


if __name__ == "__main__":
    xendtest.main()
