"""The documentation of xend.conf stays complete and true to the daemon: every key xend
accepts has a `#key = default` line in the sample xend.conf and a .TP entry in section KEYS
of xend.conf(5); every key either document names is one xend accepts; each documented
default passes `xend --check-config` alone and all of them together; both documents give
the same default; and every numeric key's documented range "N to M" is the range xend
enforces. The man page must also format without groff warnings.

Which keys exist is asked of the daemon itself, not read from its C: every identifier-like
string literal of src/daemon/*.c (and every key the documents name) is tried as `KEY = x`
in a file given to `xend --check-config`, and counts as a key unless xend answers "unknown
key". The source only supplies candidates, so a key added in any form (strcmp, a table) is
found. A numeric key tells its range in its error message, which is then checked against
what xend accepts and refuses at both ends.

Only `xend --check-config` runs (no daemon, no socket). It runs without XEND_WRAPPER: a few
hundred short runs under valgrind would take minutes and check no more memory than the
lifecycle test's --check-config cases do."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import xendtest

SOURCE = xendtest.SOURCE_DIR
SAMPLE = os.path.join(SOURCE, "xend.conf")
MANPAGE = os.path.join(SOURCE, "man", "xend.conf.5")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# The build's directories as the sample file spells them (meson's default prefix) and as
# the man page names them.
DIRS = [("/usr/local/etc", "SYSCONFDIR"), ("/usr/local/var", "LOCALSTATEDIR")]


def xend_check(text, tmpdir):
    """Run `xend --check-config` on a config file holding text: (exit code, output)."""
    path = os.path.join(tmpdir, "xend.conf")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([xendtest.XEND_BIN, "--check-config", "--config", path],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    return p.returncode, p.stdout


def sample_keys():
    """The key lines of the sample xend.conf: {key: [(line number, default, comment)]}, the
    comment being the prose lines right above (none when the line shares another key's)."""
    keys = {}
    comment = []
    with open(SAMPLE) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.match(r"^#?([a-z][a-z0-9_]*) =(?: (.*))?$", line)
            if m:
                keys.setdefault(m.group(1), []).append((n, (m.group(2) or "").strip(),
                                                        " ".join(comment)))
                comment = []
            elif line.startswith("#") and not line.startswith("##"):
                comment.append(line.lstrip("#").strip())
            else:
                comment = []
    return keys


def roff_text(s):
    """Plain text of roff source: font escapes, quotes and backslash escapes removed."""
    s = re.sub(r"\\f[BIRP]", "", s)
    s = s.replace("\\-", "-").replace("\\(em", "-").replace("\\%", "").replace("\\e", "\\")
    s = re.sub(r"^\.[A-Z]{1,2}\s?", "", s)
    return s.replace('"', "")


def man_keys():
    """The .TP entries of section KEYS of xend.conf(5): {key: [(default or None, paragraph
    text)]}; the default is "" for "(default empty)", None when the entry gives none."""
    with open(MANPAGE) as f:
        lines = f.read().split("\n")
    start = lines.index(".SH KEYS")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(".SH "))
    keys = {}
    i = start
    while i < end:
        if lines[i] == ".TP" and i + 1 < end:
            m = re.match(r"^\.BR? ([a-z][a-z0-9_]*)(.*)$", lines[i + 1])
            if m:
                key, rest = m.group(1), m.group(2)
                default = None
                if re.fullmatch(r'\s*" \(default empty\)"', rest):
                    default = ""
                else:
                    d = re.fullmatch(r'\s*" \(default "\s+(\S+)\s+\)', rest)
                    if d:
                        default = roff_text(d.group(1))
                j = i + 2
                while j < end and not re.match(r"^\.(TP|SS|SH|PP)\b", lines[j]):
                    j += 1
                para = " ".join(roff_text(x) for x in lines[i + 1:j])
                keys.setdefault(key, []).append((default, para))
                i = j
                continue
        i += 1
    return keys


def source_candidates():
    """Identifier-like string literals of the daemon's sources."""
    words = set()
    for path in glob.glob(os.path.join(SOURCE, "src", "daemon", "*.[ch]")):
        with open(path, errors="replace") as f:
            words.update(w for w in re.findall(r'"([a-z][a-z0-9_]*)"', f.read()))
    return words


def ranges_in(text):
    return {(int(a), int(b)) for a, b in re.findall(r"\b(\d+) to (\d+)\b", text)}


class ConfigDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not xendtest.XEND_BIN or not os.access(xendtest.XEND_BIN, os.X_OK):
            raise RuntimeError("XEND_BIN must name the built xend")
        cls.tmp = tempfile.mkdtemp(prefix="xend-docs-")
        cls.sample = sample_keys()
        cls.man = man_keys()
        # Ask xend which candidates are keys, and the range of the numeric ones.
        cls.accepted = set()
        cls.numeric = {}
        cls.candidates = source_candidates() | set(cls.sample) | set(cls.man)
        for word in sorted(cls.candidates):
            rc, out = xend_check(f"{word} = x\n", cls.tmp)
            if f"unknown key '{word}'" in out and rc == 1:
                continue
            if not (rc == 0 and out.startswith("config OK: ") or
                    rc == 1 and out.startswith("xend: error: ")):
                raise RuntimeError(f"xend --check-config on '{word} = x': exit {rc}: {out}")
            cls.accepted.add(word)
            m = re.search(r"expected a whole number from (\d+) to (\d+)", out)
            if m:
                cls.numeric[word] = (int(m.group(1)), int(m.group(2)))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, text):
        return xend_check(text, self.tmp)

    def test_the_probe_tells_keys_apart(self):
        # Without these, every other test could pass on a probe that sees no keys or all.
        rc, out = self.check("no_such_key_at_all = x\n")
        self.assertEqual(rc, 1)
        self.assertIn("unknown key 'no_such_key_at_all'", out)
        for key in ("socket", "max_body", "tcp_tls", "passwd_file", "request_timeout"):
            self.assertIn(key, self.accepted)
        for key in ("max_body", "tcp_port", "auth_fail_window"):
            self.assertIn(key, self.numeric)
        self.assertNotIn("yes", self.accepted)
        self.assertGreaterEqual(len(self.accepted), 40, sorted(self.accepted))

    def test_every_key_is_in_the_sample_file_once(self):
        missing = sorted(self.accepted - set(self.sample))
        self.assertEqual(missing, [], "keys xend accepts but xend.conf does not show")
        twice = {k: [n for n, _, _ in v] for k, v in self.sample.items() if len(v) > 1}
        self.assertEqual(twice, {}, "keys shown more than once in xend.conf (lines)")

    def test_every_key_is_in_the_man_page_once(self):
        missing = sorted(self.accepted - set(self.man))
        self.assertEqual(missing, [], "keys xend accepts without a .TP entry in xend.conf(5)")
        twice = sorted(k for k, v in self.man.items() if len(v) > 1)
        self.assertEqual(twice, [], "keys with two entries in xend.conf(5)")

    def test_every_documented_key_is_accepted(self):
        self.assertEqual(sorted(set(self.sample) - self.accepted), [],
                         "xend.conf shows keys xend does not accept")
        self.assertEqual(sorted(set(self.man) - self.accepted), [],
                         "xend.conf(5) section KEYS documents keys xend does not accept")

    def test_each_documented_default_passes_check_config(self):
        for key, entries in sorted(self.sample.items()):
            n, default, _ = entries[0]
            line = f"{key} = {default}\n" if default else f"{key} =\n"
            with self.subTest(key=key, line=n):
                rc, out = self.check(line)
                self.assertEqual(rc, 0, f"xend.conf:{n}: {line!r}: {out}")
                self.assertTrue(out.startswith("config OK: "), out)

    def test_all_documented_defaults_together_pass(self):
        with open(SAMPLE) as f:
            text = f.read()
        uncommented = re.sub(r"(?m)^#([a-z][a-z0-9_]* =)", r"\1", text)
        self.assertNotEqual(uncommented, text)
        rc, out = self.check(uncommented)
        self.assertEqual(rc, 0, out)
        self.assertTrue(out.startswith("config OK: "), out)

    def test_sample_and_man_page_give_the_same_defaults(self):
        for key in sorted(set(self.sample) & set(self.man)):
            ours = self.sample[key][0][1]
            for prefix, name in DIRS:
                if ours.startswith(prefix + "/"):
                    ours = name + ours[len(prefix):]
            with self.subTest(key=key):
                theirs = self.man[key][0][0]
                self.assertIsNotNone(theirs, f"xend.conf(5): {key} gives no (default ...)")
                self.assertEqual(ours, theirs)

    def test_numeric_ranges_are_documented_as_enforced(self):
        for key, (lo, hi) in sorted(self.numeric.items()):
            with self.subTest(key=key):
                # What the message says is what xend does, at both ends.
                for value, ok in ((lo, True), (hi, True), (lo - 1, False), (hi + 1, False)):
                    if value < 0:
                        continue
                    rc, out = self.check(f"{key} = {value}\n")
                    self.assertEqual(rc == 0, ok, f"{key} = {value}: {out}")
                # Both documents state that range and no other.
                comment = self.sample.get(key, [(0, "", "")])[0][2]
                self.assertEqual(ranges_in(comment), {(lo, hi)},
                                 f"xend.conf, the comment above {key}: {comment!r}")
                para = self.man.get(key, [(None, "")])[0][1]
                self.assertEqual(ranges_in(para), {(lo, hi)},
                                 f"xend.conf(5), the entry of {key}: {para!r}")

    def test_man_page_formats_without_warnings(self):
        groff = shutil.which("groff")
        if not groff:
            self.skipTest("groff is not installed")
        p = subprocess.run([groff, "-man", "-ww", "-z", MANPAGE], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, ""))


if __name__ == "__main__":
    xendtest.main()
