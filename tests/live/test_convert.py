"""domain.convert through Python's xmlrpc.client against a real xend: what xm does with a
user's config file (`xm create file.cfg`, `xm new file.cfg`, `xm create -n`): convert it to
domain XML, then domain.create / domain.define; VAR=VAL overrides and the default name;
Xend (vm ...) S-expressions; round trips xml -> sxp -> xml and xml -> xm -> xml; every
invalid config refused with CONFIG_INVALID (INVALID_NAME for a bad name) naming its line;
code in an xm config refused, never run; bad formats and options as INVALID_ARG."""
import os
import re
import unittest
import xml.etree.ElementTree as ET
import xmlrpc.client

import xendtest
from xendtest import Daemon, FaultAssertions, domain_xml, make_disk

CONFIG_INVALID = 6
LIMIT = 11
INVALID_ARG = 13
INVALID_NAME = 21
INVALID_PARAMS = -32602

LINE = re.compile(r"line (\d+)|:(\d+):")


def line_of(fault):
    m = LINE.search(fault.faultString)
    return int(m.group(1) or m.group(2)) if m else None


class ConvertTests(FaultAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.p = cls.daemon.proxy()
        cls.disks = os.path.join(cls.daemon.dir, "disks")
        os.makedirs(cls.disks, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def disk(self, name):
        return make_disk(self.disks, name + ".img")

    def assertConfigFault(self, text, line, *args, code=CONFIG_INVALID, contains=()):
        f = self.assertFault(code, self.p.domain.convert, text, *args, contains=contains)
        self.assertEqual(line_of(f), line, f.faultString)
        return f

    def xml_of(self, text, **opts):
        r = self.p.domain.convert(text, "xml", opts) if opts else self.p.domain.convert(text, "xml")
        self.assertEqual(set(r), {"config", "from", "name", "warnings"})
        return r

    # ---- xm configs, as xm create / xm new use them ----

    def test_xm_config_to_xml_then_define_and_create(self):
        d1, d2 = self.disk("xm-a"), self.disk("xm-b")
        cfg = (f"# web server\n"
               f"name = 'xmweb'\n"
               f"memory = 96\n"
               f"maxmem = 128\n"
               f"vcpus = 2\n"
               f"disk = ['file:{d1},xvda,w',\n"
               f"        'file:{d2},xvdb,r']\n"
               f"vif = ['mac=00:16:3e:00:00:01,bridge=xenbr0']\n"
               f"on_crash = 'destroy'\n")
        r = self.xml_of(cfg)
        self.assertEqual((r["from"], r["name"], r["warnings"]), ("xm", "xmweb", []))
        root = ET.fromstring(r["config"])
        self.assertEqual(root.findtext("name"), "xmweb")
        self.assertEqual(int(root.findtext("memory")), 131072)
        self.assertEqual(int(root.findtext("currentMemory")), 98304)
        self.assertEqual([t.get("dev") for t in root.iter("target")], ["xvda", "xvdb"])
        # xm new: define what convert gave.
        row = self.p.domain.define(r["config"])
        self.assertEqual((row["name"], row["memory"], row["max_memory"], row["max_vcpus"]),
                         ("xmweb", 98304, 131072, 2))
        devs = self.p.domain.devices("xmweb")
        self.assertEqual([d["source"] for d in devs if d["kind"] == "disk"], [d1, d2])
        self.assertEqual([d["mac"] for d in devs if d["kind"] == "interface"],
                         ["00:16:3e:00:00:01"])
        self.p.domain.undefine("xmweb")
        # xm create: a transient domain from the same XML.
        row = self.p.domain.create(r["config"])
        self.assertEqual(row["state"], "running")
        self.p.domain.destroy("xmweb")

    def test_dry_run_changes_nothing(self):
        before = [d["name"] for d in self.p.domain.list()]
        r = self.xml_of("name = 'dry'\nmemory = 64\n")
        self.assertEqual(r["name"], "dry")
        self.assertEqual([d["name"] for d in self.p.domain.list()], before)

    def test_vars_override(self):
        cfg = "name = 'ov'\nmemory = 64\nvcpus = 1\n"
        r = self.xml_of(cfg, vars=["memory=128", "vcpus=3", "extra=console=ttyS0"])
        root = ET.fromstring(r["config"])
        self.assertEqual(int(root.findtext("memory")), 131072)
        self.assertEqual(root.findtext("vcpu"), "3")
        self.assertIn("console=ttyS0", root.findtext("os/cmdline"))
        # A variable the file does not set is added; the name too.
        r = self.xml_of(cfg, vars=["name=other"])
        self.assertEqual(r["name"], "other")

    def test_default_name(self):
        cfg = "memory = 64\n"
        r = self.xml_of(cfg, name="fromfile")
        self.assertEqual(r["name"], "fromfile")
        self.assertEqual(ET.fromstring(r["config"]).findtext("name"), "fromfile")
        # The config's own name wins; None means "not set".
        self.assertEqual(self.xml_of("name = 'own'\n", name="fromfile")["name"], "own")
        self.assertEqual(self.xml_of("name = None\n", name="fromfile")["name"], "fromfile")
        # The default applies to the other formats too.
        self.assertEqual(self.xml_of("(vm (memory 64))", name="sx")["name"], "sx")
        self.assertEqual(self.xml_of("<domain><memory>65536</memory></domain>",
                                     name="xx")["name"], "xx")
        # No name at all.
        self.assertFault(CONFIG_INVALID, self.p.domain.convert, cfg, "xml", contains="name")
        self.assertFault(INVALID_NAME, self.p.domain.convert, cfg, "xml", {"name": "a b"})

    def test_warnings_name_the_line(self):
        r = self.xml_of("name = 'w'\n\nfrobnicate = 1\n")
        self.assertEqual(len(r["warnings"]), 1)
        self.assertIn("frobnicate", r["warnings"][0])
        self.assertIn("line 3", r["warnings"][0])

    # ---- sxp ----

    def test_sxp_to_xml(self):
        d = self.disk("sx")
        sxp = (f"# as xm sent it\n"
               f"(vm\n"
               f"  (name sxweb)\n"
               f"  (memory 64)\n"
               f"  (vcpus 2)\n"
               f"  (image (linux (kernel /boot/vmlinuz) (args 'root=/dev/xvda1 ro')))\n"
               f"  (device (vbd (uname file:{d}) (dev xvda) (mode w)))\n"
               f"  (device (vif (mac 00:16:3e:00:00:02)))\n"
               f")\n")
        r = self.xml_of(sxp)
        self.assertEqual((r["from"], r["name"]), ("sxp", "sxweb"))
        root = ET.fromstring(r["config"])
        self.assertEqual(root.findtext("os/kernel"), "/boot/vmlinuz")
        self.assertEqual(root.findtext("os/cmdline"), "root=/dev/xvda1 ro")
        row = self.p.domain.define(r["config"])
        self.assertEqual((row["memory"], row["max_vcpus"]), (65536, 2))
        self.p.domain.undefine("sxweb")
        # The (domain ...) records xend.domain returns read as configs too.
        self.assertEqual(self.xml_of("(domain (name dd) (memory 32))")["name"], "dd")

    # ---- round trips ----

    def normal(self, xml):
        """Domain XML as xend writes it."""
        return self.p.domain.convert(xml, "xml")["config"]

    def round_trip(self, xml, via):
        r = self.p.domain.convert(xml, via)
        self.assertEqual(r["from"], "xml")
        back = self.p.domain.convert(r["config"], "xml", {"from": via})
        self.assertEqual(back["from"], via)
        self.assertEqual(back["warnings"], [])
        return r, back["config"]

    def test_xml_sxp_xml_and_xml_xm_xml(self):
        d = self.disk("rt")
        xml = domain_xml("rt", uuid="6b0f3a52-1c1e-4d1a-8f55-2a3c4d5e6f70", memory=131072,
                         current_memory=65536, vcpus=4, current_vcpus=2,
                         disks=[{"source": d, "target": "xvda"}],
                         nics=["52:54:00:12:34:56"], on_crash="preserve", virt_type="xen")
        xml = xml.replace("<type>hvm</type>", "<type>linux</type><kernel>/k</kernel>"
                          "<cmdline>root=/dev/xvda1</cmdline>").replace("bus='virtio'", "bus='xen'")
        want = self.normal(xml)
        for via in ("sxp", "xm"):
            r, back = self.round_trip(xml, via)
            self.assertEqual(r["warnings"], [f"{via}: the domain type 'xen' cannot be written; "
                                             "dropped"])
            # Everything but the domain type (which Xend's formats do not have) came back.
            self.assertEqual(back, want.replace("<domain type='xen'>", "<domain>"), via)
        r = self.p.domain.convert(xml, "sxp")
        self.assertTrue(r["config"].startswith("(vm\n"), r["config"])
        self.assertIn("(vcpu_avail 3)", r["config"])
        r = self.p.domain.convert(xml, "xm")
        self.assertIn("memory = 64\n", r["config"])
        self.assertIn("maxmem = 128\n", r["config"])

    def test_disk_bus_loss_is_warned(self):
        d = self.disk("bus")
        xml = domain_xml("bus", disks=[{"source": d, "target": "xvda"}])  # bus='virtio'
        r = self.p.domain.convert(xml, "xm")
        self.assertIn("disk 'xvda' is written as 'xvda' (bus xen", " ".join(r["warnings"]))

    def test_losses_are_warned(self):
        xml = domain_xml("lossy", memory=65537, extra="  <title>T</title>",
                         devices_extra="    <graphics type='vnc'/>")
        r = self.p.domain.convert(xml, "sxp")
        text = " ".join(r["warnings"])
        for what in ("<graphics> is kept but not used", "title", "<graphics> (in <devices>)",
                     "whole MiB"):
            self.assertIn(what, text)
        # xml to xml loses nothing.
        self.assertNotIn("dropped", " ".join(self.p.domain.convert(xml, "xml")["warnings"]))

    def test_xm_to_sxp_and_back(self):
        cfg = ("name = 'x2s'\nuuid = '2f0c9b8e-5d1a-4c53-9a57-4b0e8a1f6d21'\nmemory = 32\n"
               "vcpus = 2\nvcpu_avail = 1\non_reboot = 'destroy'\n")
        s = self.p.domain.convert(cfg, "sxp")
        self.assertEqual((s["from"], s["warnings"]), ("xm", []))
        x = self.p.domain.convert(s["config"], "xm")
        self.assertEqual((x["from"], x["warnings"]), ("sxp", []))
        a = self.p.domain.convert(cfg, "xml")["config"]
        b = self.p.domain.convert(x["config"], "xml")["config"]
        self.assertEqual(a, b)

    def test_auto_detection(self):
        self.assertEqual(self.xml_of("\n  \t<domain><name>a</name></domain>")["from"], "xml")
        self.assertEqual(self.xml_of("# comment (not xm)\n\n(vm (name a))")["from"], "sxp")
        self.assertEqual(self.xml_of("# <not xml>\nname='a'\n")["from"], "xm")
        self.assertEqual(self.xml_of("\ufeffname='a'\n")["from"], "xm")
        # An explicit 'from' is obeyed, and the text read as that.
        f = self.assertFault(CONFIG_INVALID, self.p.domain.convert, "(vm (name a))", "xml",
                             {"from": "xml"})
        self.assertIn("domain XML", f.faultString)

    # ---- refusals ----

    def test_bad_configs_name_their_line(self):
        cases = [
            # xm: syntax, then meaning
            ("name = 'a'\nmemory = [1,\n", 2),
            ("name = 'a'\n\nmemory = 'abc'\n", 3),
            ("name = 'a'\nmemory = 64\nmaxmem = 32\n", 3),
            ("name = 'a'\nvcpus = 2\nvcpu_avail = 8\n", 3),
            ("name = 'a'\ndisk = ['file:/x,xvda,w',\n        'bogus']\n", 2),
            ("name = 'a'\nvif = ['mac=zz']\n", 2),
            ("name = 'a'\non_crash = 'explode'\n", 2),
            ("name = 'a'\nbuilder = 'vmx'\n", 2),
            ("name = 'a'; memory = 'x'\n", 1),
            ("name = 'a'\nmemory = 64 +\n", 2),
            # sxp
            ("(vm (name a)\n  (memory abc))", 2),
            ("(vm (name a)\n  (memory 64)\n  (maxmem 32))", 3),
            ("(vm\n  (name a)\n\n  (device (vbd (uname bogus:x) (dev xvda))))", 4),
            # (the end of the text is where the missing ')' was noticed)
            ("(vm (name a)\n  (image (linux (kernel /k)\n", 3),
            ("(vm (memory 64))", 1),
            ("(vm (name a)) (extra)", 1),
            ("(foo (name a))", 1),
            ("\n\n(vm (name a) (on_crash explode))", 3),
            # domain XML
            ("<domain>\n<name>a</name>\n<memory>abc</memory>\n</domain>", 3),
            ("<domain>\n<name>a</name>\n<memory>1024</memory>\n"
             "<currentMemory>4096</currentMemory>\n</domain>", 4),
            ("<domain>\n<memory>1024</memory>\n</domain>", 1),
            ("<domain>\n<name>a</name>\n<devices>\n<hostdev/>\n</devices>\n</domain>", 4),
            ("<domain>\n<name>a</name>\n</domian>", 3),
            ("\n<notdomain/>", 2),
        ]
        for text, line in cases:
            with self.subTest(text=text):
                self.assertConfigFault(text, line, "xml")
        for text, line in (("name = 'a b'\n", 1), ("(vm\n (name 'a/b'))", 2),
                           ("<domain>\n<name>1234</name>\n</domain>", 2)):
            with self.subTest(text=text):
                self.assertConfigFault(text, line, "xml", code=INVALID_NAME)

    def test_bad_override_is_named(self):
        f = self.assertFault(CONFIG_INVALID, self.p.domain.convert, "name = 'a'\n", "xml",
                             {"vars": ["memory=abc"]}, contains="override 'memory=abc'")
        self.assertIn("memory", f.faultString)
        self.assertFault(CONFIG_INVALID, self.p.domain.convert, "name = 'a'\n", "xml",
                         {"vars": ["1x=2"]})

    def test_code_in_xm_config_is_refused(self):
        marker = os.path.join(self.daemon.dir, "pwned")
        for code in ("import os\nos.system('touch %s')\n" % marker,
                     "memory = __import__('os').system('touch %s')\n" % marker,
                     "exec(\"open('%s', 'w')\")\n" % marker,
                     "name = open('%s', 'w').name\n" % marker,
                     "f = lambda: 0\n",
                     "if True:\n    name = 'x'\n",
                     "memory = 64 * 1024\n",
                     "name = 'a' + 'b'\n",
                     "name = f'{1}'\n",
                     "def g():\n    pass\n"):
            with self.subTest(code=code):
                f = self.assertFault(CONFIG_INVALID, self.p.domain.convert,
                                     "name = 'c'\n" + code, "xml")
                self.assertIsNotNone(line_of(f), f.faultString)
        self.assertFalse(os.path.exists(marker))

    def test_bad_formats_and_options(self):
        cfg = "name = 'a'\n"
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "json", contains="json")
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "XML")
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"from": "yaml"})
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"form": "xm"},
                         contains="form")
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"vars": "a=1"})
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"vars": [1]})
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"vars": ["novalue"]})
        self.assertFault(INVALID_ARG, self.p.domain.convert, cfg, "xml", {"name": 5})
        self.assertFault(INVALID_ARG, self.p.domain.convert, "(vm (name a))", "xml",
                         {"vars": ["memory=64"]}, contains="xm configs only")
        self.assertFault(INVALID_ARG, self.p.domain.convert, "<domain/>", "xml",
                         {"vars": ["memory=64"]})
        self.assertFault(INVALID_PARAMS, self.p.domain.convert, cfg)
        self.assertFault(INVALID_PARAMS, self.p.domain.convert, cfg, "xml", "xm")

    def test_size_bound(self):
        big = "name = 'big'\n" + "# padding\n" * (600 * 1024 // 10)
        self.assertFault(LIMIT, self.p.domain.convert, big, "xml", contains="bytes")
        # Just under the bound is fine.
        ok = "name = 'big'\n" + "#" * (512 * 1024 - 20) + "\n"
        self.assertEqual(self.p.domain.convert(ok, "xml")["name"], "big")
        self.assertEqual(self.p.daemon.version()["product"], "xend")

    def test_garbage_never_crashes(self):
        import random
        rnd = random.Random(7)
        pieces = ["(", ")", "<", ">", "'", '"', "\n", "name", "=", "[", "]", "vm", "domain",
                  "memory", "64", "#", "\\", "(device (vbd", "<name>", "</name>", " ", ",",
                  "\u00e9", "disk", "vif", "=", "True", "None", "0x", "1e9", "'''"]
        for _ in range(200):
            text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 60)))
            for to in ("xml", "sxp", "xm"):
                try:
                    r = self.p.domain.convert(text, to)
                    self.assertIn(r["from"], ("xml", "sxp", "xm"))
                except xmlrpc.client.Fault as f:
                    self.assertIn(f.faultCode, (CONFIG_INVALID, INVALID_NAME), f.faultString)
        self.assertEqual(self.p.daemon.version()["product"], "xend")


if __name__ == "__main__":
    xendtest.main()
