"""Crash consistency of the domain store: 200 rounds of define / redefine / undefine /
rename / autostart storms from 4 client threads against one real xend, each round ended by
SIGKILL at a random moment, and the next round starting the daemon again on the same
directories so state accumulates. Each thread owns a disjoint set of names, so a model can
predict every reply (no call may fail) and knows exactly which of its calls were
acknowledged. After each restart: every acknowledged change is there; a call that was in
flight at the kill is wholly applied or not at all (the model keeps both outcomes and
settles on what it sees, which must be one of them); domain.list, each domain's XML and the
files in the store agree with the model (no temp file of an interrupted write, no
*.corrupt-* file, no autostart marker without its config); and the daemon logged no
warning or error while loading. The random choices come from XEND_CRASH_SEED (printed, so
a failure can be replayed; the kill timing still varies) and the number of rounds from
XEND_CRASH_ROUNDS.

Focused regression checks (CrashPointTest, when strace may ptrace) kill the daemon just
before each single step of one rename, undefine, set_autostart or redefine, in turn, and
check that the next start shows the domain wholly before or wholly after the call, with its
autostart marker and managed-save image, and the store clean. They found two bugs, fixed
in src/store/domain_store.c: an undefine killed between its two steps left the domain
defined with autostart off; a rename killed midway left two configs with one UUID, of which
the load kept the first by name, so the domain could lose its autostart marker or its
managed-save image and the other config was set aside as *.corrupt-*."""
import http.client
import os
import random
import signal
import subprocess
import threading
import time
import unittest
import uuid
import warnings
import xml.etree.ElementTree as ET
import xmlrpc.client

import xendtest
from xendtest import Daemon, domain_xml

THREADS = 4
NAMES_PER_THREAD = 8  # 32 names in all
ROUNDS = int(os.environ.get("XEND_CRASH_ROUNDS", str(max(1, 200 // xendtest.SLOW))))
SEED = int(os.environ.get("XEND_CRASH_SEED", str(random.SystemRandom().randrange(1 << 32))))
KILL_MAX = 0.3 * xendtest.SLOW  # seconds of storm before the kill
MEMORIES = (65536, 98304, 131072, 196608, 262144)

# The store writes every file, and builds every marker, as PATH.new renamed into place
# (util/file.c xend_file_write_atomic, domain_store_set_autostart); the load removes those.
# check_store compares whole directory listings, so any other stray file fails too.
TEMP_SUFFIX = ".new"


def pool(t):
    return [f"cr-{t}-{i}" for i in range(NAMES_PER_THREAD)]


class Def:
    """One definition as the model knows it: everything but the name, which the model keys
    on (a rename changes only that)."""

    def __init__(self, uid, gen, memory, vcpus, autostart=False):
        self.uuid, self.gen, self.memory, self.vcpus = uid, gen, memory, vcpus
        self.autostart = autostart

    def xml(self, name):
        return domain_xml(name, memory=self.memory, vcpus=self.vcpus, uuid=self.uuid,
                          extra=f"  <title>gen {self.gen}</title>\n"
                                f"  <description>{self.uuid} gen {self.gen}</description>")

    def same_config(self, other):
        return (self.uuid, self.gen, self.memory, self.vcpus) == \
            (other.uuid, other.gen, other.memory, other.vcpus)

    def copy(self, **kw):
        d = Def(self.uuid, self.gen, self.memory, self.vcpus, self.autostart)
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    def __repr__(self):
        return (f"Def(uuid={self.uuid[:8]} gen={self.gen} mem={self.memory} "
                f"vcpus={self.vcpus} autostart={self.autostart})")


def observed_def(xml_text, row):
    """The Def that get_xml (next boot) and the domain.list row describe, or an
    AssertionError naming what does not hang together."""
    root = ET.fromstring(xml_text)
    get = lambda tag: (root.findtext(tag) or "").strip()
    title, desc = get("title"), get("description")
    uid, mem, cur, vcpus = get("uuid"), int(get("memory")), int(get("currentMemory")), \
        int(get("vcpu"))
    if not title.startswith("gen ") or desc != f"{uid} gen {title[4:]}" or cur != mem:
        raise AssertionError(f"a definition mixing two versions: {xml_text}")
    if (row["uuid"], row["max_memory"], row["max_vcpus"]) != (uid, mem, vcpus):
        raise AssertionError(f"domain.list row {row} disagrees with its XML {xml_text}")
    if row["state"] != "shutoff" or not row["persistent"] or row["managed_save"]:
        raise AssertionError(f"unexpected row {row}")
    return Def(uid, int(title[4:]), mem, vcpus, row["autostart"])


class Worker(threading.Thread):
    """One client: random calls on its own names until the daemon dies. self.model is
    name -> Def for its names that exist; self.pending the call in flight at the end
    (None if it was acknowledged or never sent)."""

    def __init__(self, daemon, t, model, rnd):
        super().__init__(daemon=True)
        self.p = daemon.proxy(timeout=20)
        self.names, self.model, self.rnd = pool(t), model, rnd
        self.counts = {}  # acknowledged calls by kind
        self.pending = None
        self.failure = None

    def choose(self):
        r = self.rnd
        present = sorted(n for n in self.names if n in self.model)
        absent = sorted(n for n in self.names if n not in self.model)
        ops = []
        if absent:
            ops += ["define"] * 3
        if present:
            ops += ["redefine"] * 3 + ["undefine"] * 2 + ["autostart"] * 3
        if present and absent:
            ops += ["rename"] * 3
        op = r.choice(ops)
        if op == "define":
            return op, r.choice(absent), Def(str(uuid.UUID(int=r.getrandbits(128), version=4)),
                                             1, r.choice(MEMORIES), r.randint(1, 4))
        name = r.choice(present)
        old = self.model[name]
        if op == "redefine":
            return op, name, old.copy(gen=old.gen + 1, memory=r.choice(MEMORIES),
                                      vcpus=r.randint(1, 4))
        if op == "rename":
            return op, name, r.choice(absent)
        if op == "autostart":
            return op, name, not old.autostart
        return op, name, None

    def call(self, op, name, arg):
        if op in ("define", "redefine"):
            row = self.p.domain.define(arg.xml(name))
            if (row["name"], row["uuid"], row["max_memory"]) != (name, arg.uuid, arg.memory):
                raise AssertionError(f"define {name}: reply {row}")
            self.model[name] = arg
        elif op == "undefine":
            if self.p.domain.undefine(name) is not True:
                raise AssertionError(f"undefine {name} did not return true")
            del self.model[name]
        elif op == "rename":
            row = self.p.domain.rename(name, arg)
            if (row["name"], row["uuid"]) != (arg, self.model[name].uuid):
                raise AssertionError(f"rename {name} {arg}: reply {row}")
            self.model[arg] = self.model.pop(name)
        else:
            if self.p.domain.set_autostart(name, arg) is not True:
                raise AssertionError(f"set_autostart {name} did not return true")
            self.model[name].autostart = arg

    def run(self):
        try:
            while True:
                op, name, arg = self.choose()
                self.pending = (op, name, arg)
                self.call(op, name, arg)
                self.pending = None
                self.counts[op] = self.counts.get(op, 0) + 1
        except (OSError, http.client.HTTPException):
            pass  # the daemon died: self.pending (if any) was in flight
        except Exception as e:  # a fault or a wrong reply: the daemon misbehaved
            self.failure = f"{type(e).__name__}: {e} during {self.pending}"
        finally:
            self.p("close")()


def outcomes(model, pending):
    """The states a thread's names may be in after the kill: a list of models, each
    name -> Def. The first is 'not applied'."""
    if pending is None:
        return [model]
    op, name, arg = pending
    after = {n: d.copy() for n, d in model.items()}
    if op in ("define", "redefine"):
        after[name] = arg.copy(autostart=model[name].autostart if name in model else False)
    elif op == "undefine":
        del after[name]
    elif op == "rename":
        after[arg] = after.pop(name)
    else:
        after[name].autostart = arg
    return [model, after]


class StoreCase(unittest.TestCase):
    """A daemon whose store survives restarts, and checks of what it shows after one."""

    def setUp(self):
        # A call cut off by the kill leaves xendtest's socket to the garbage collector:
        # harmless, and it happens at every kill.
        warnings.filterwarnings("ignore", category=ResourceWarning)
        # Autostart markers are what is under test, not starting domains: the daemon must
        # leave every domain shut off.
        self.daemon = Daemon(config={"autostart": "no"})
        self.log_offset = 0
        self.addCleanup(self.cleanup)

    def cleanup(self):
        if self.daemon.proc is not None:
            self.daemon.kill()

    def start(self):
        """Start the daemon; returns what it logged since the last start."""
        self.daemon.start()
        with open(self.daemon.log, "rb") as f:
            f.seek(self.log_offset)
            text = f.read()
        self.log_offset += len(text)
        return text.decode(errors="replace")

    def assert_clean_load(self, log):
        """What a crash leaves behind is routine: loading it is logged at level info at
        most. A warning means something was set aside or could not be cleaned up."""
        bad = [l for l in log.splitlines() if " xend warn: " in l or " xend error: " in l]
        self.assertEqual(bad, [], "the daemon did not load its store cleanly")

    def observe(self):
        """name -> Def of every defined domain, from domain.list and get_xml (next boot)."""
        p = self.daemon.proxy()
        try:
            rows = [r for r in p.domain.list() if r["name"] != "Domain-0"]
            mc = xmlrpc.client.MultiCall(p)
            for r in rows:
                mc.domain.get_xml(r["name"], True)
            xmls = list(mc()) if rows else []
        finally:
            p("close")()
        seen = {}
        for r, x in zip(rows, xmls):
            self.assertEqual(ET.fromstring(x).findtext("name"), r["name"])
            seen[r["name"]] = observed_def(x, r)
        uuids = [d.uuid for d in seen.values()]
        self.assertEqual(len(uuids), len(set(uuids)), f"one uuid twice: {seen}")
        return seen

    def store_files(self):
        cfg = self.daemon.config_dir
        configs = sorted(os.listdir(cfg))
        markers = sorted(os.listdir(os.path.join(cfg, "autostart")))
        return configs, markers

    def check_store(self, seen):
        """The store holds exactly NAME.xml per domain and a ../NAME.xml link per autostart
        domain: no temp file, nothing set aside, no marker without its config."""
        configs, markers = self.store_files()
        self.assertEqual(configs, sorted(["autostart"] + [n + ".xml" for n in seen]))
        self.assertEqual(markers, sorted(n + ".xml" for n, d in seen.items() if d.autostart))
        for m in markers:
            self.assertEqual(os.readlink(os.path.join(self.daemon.config_dir, "autostart", m)),
                             "../" + m)
        for d in (self.daemon.save_dir, self.daemon.run_dir):
            left = [f for f in os.listdir(d) if f != "autostarted"]
            self.assertEqual(left, [], f"files left in {d}")


class StormTest(StoreCase):

    def settle(self, models, pendings, seen, stats):
        """Check what the daemon shows against each thread's possible outcomes and return
        the models it settles on."""
        settled = []
        for t in range(THREADS):
            mine = {n: d for n, d in seen.items() if n in pool(t)}
            options = outcomes(models[t], pendings[t])
            match = None
            for i, m in enumerate(options):
                if sorted(m) == sorted(mine) and all(
                        m[n].same_config(mine[n]) and m[n].autostart == mine[n].autostart
                        for n in m):
                    match = i
                    break
            if match is None:
                names = sorted(set(mine).union(*options))
                diff = [f"  {n}: seen {mine.get(n)}, allowed " +
                        " or ".join(str(m.get(n)) for m in options)
                        for n in names if any(
                            str(mine.get(n)) != str(m.get(n)) for m in options)]
                self.fail(f"round {self.round} (XEND_CRASH_SEED={SEED}), thread {t}: the "
                          f"state after the restart is not an allowed outcome (call in "
                          f"flight: {pendings[t]}):\n" + "\n".join(diff))
            if pendings[t] is not None:
                stats["applied" if match else "not applied"] += 1
            settled.append({n: d.copy() for n, d in mine.items()})
        stray = set(seen) - {n for t in range(THREADS) for n in pool(t)}
        self.assertEqual(stray, set(), "domains nobody defined")
        return settled

    # ---- the storm ----

    def test_storms_killed_at_random(self):
        print(f"\ncrash test: XEND_CRASH_SEED={SEED} XEND_CRASH_ROUNDS={ROUNDS}", flush=True)
        t0 = time.monotonic()
        models = [{} for _ in range(THREADS)]
        pendings = [None] * THREADS
        counts = {}
        stats = {"applied": 0, "not applied": 0, "temp files at kill": 0,
                 "two configs at kill": 0}
        for rnd in range(ROUNDS):
            self.round = rnd
            log = self.start()
            seen = self.observe()
            models = self.settle(models, pendings, seen, stats)
            self.check_store(seen)
            self.assert_clean_load(log)

            workers = [Worker(self.daemon, t, models[t], random.Random(f"{SEED}-{rnd}-{t}"))
                       for t in range(THREADS)]
            delay = random.Random(f"{SEED}-{rnd}-kill").uniform(0, KILL_MAX)
            for w in workers:
                w.start()
            time.sleep(delay)
            self.daemon.kill()
            for w in workers:
                w.join(30 * xendtest.SLOW)
                self.assertFalse(w.is_alive(), "a client did not notice the daemon died")
                self.assertIsNone(w.failure, f"round {rnd} (seed {SEED})")
            pendings = [w.pending for w in workers]
            for w in workers:
                for k, v in w.counts.items():
                    counts[k] = counts.get(k, 0) + v

            configs, markers = self.store_files()
            if any(f.endswith(TEMP_SUFFIX) for f in configs + markers):
                stats["temp files at kill"] += 1
            uuids = []
            for f in configs:
                if f.endswith(".xml"):
                    with open(os.path.join(self.daemon.config_dir, f)) as fh:
                        uuids.append(ET.fromstring(fh.read()).findtext("uuid"))
            if len(uuids) != len(set(uuids)):
                stats["two configs at kill"] += 1

        # A last start, then a clean stop: the state settles and the daemon exits 0.
        self.round = "last"
        log = self.start()
        seen = self.observe()
        self.settle(models, pendings, seen, stats)
        self.check_store(seen)
        self.assert_clean_load(log)
        self.daemon.stop()
        print(f"crash test: {ROUNDS} rounds in {time.monotonic() - t0:.1f} s; "
              f"acknowledged calls {sum(counts.values())} {dict(sorted(counts.items()))}; "
              f"in flight at the kill: {stats['applied']} applied, "
              f"{stats['not applied']} not; kills that left a temp file: "
              f"{stats['temp files at kill']}, two configs with one uuid: "
              f"{stats['two configs at kill']}; {len(seen)} domains at the end", flush=True)
        self.assertGreater(sum(counts.values()), ROUNDS, "the storms made hardly any calls")


# ---- focused regression checks: a kill at each step of one call ----

UNLINK = "unlink,unlinkat"
RENAME = "rename,renameat,renameat2"
SYMLINK = "symlink,symlinkat"


def strace_usable():
    try:
        return subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@unittest.skipUnless(not xendtest.WRAPPER and strace_usable(),
                     "needs strace allowed to ptrace (and no XEND_WRAPPER)")
class CrashPointTest(StoreCase):
    """The daemon runs under strace, which kills it (SIGKILL) on entering the one system
    call that would take a given step of a call: the step never happens, everything before
    it did. strace -P matches a call's first path, so a step is named by the file it
    creates, renames from or removes. Each step of rename, undefine, set_autostart and
    define is hit in turn, with the new name sorting before and after the old one."""

    def crash_at(self, syscalls, path, call):
        saved = xendtest.WRAPPER
        xendtest.WRAPPER = ["strace", "-f", "-qq", "-o", "/dev/null", "-P", path,
                            "-e", f"trace={syscalls}", "-e", f"inject={syscalls}:signal=KILL"]
        try:
            self.start()
        finally:
            xendtest.WRAPPER = saved
        p = self.daemon.proxy()
        try:
            with self.assertRaises((OSError, http.client.HTTPException),
                                   msg=f"the call never reached {syscalls} on {path}"):
                call(p)
        finally:
            p("close")()
        self.assertEqual(self.daemon.proc.wait(30 * xendtest.SLOW), -signal.SIGKILL)
        self.daemon.kill()

    def snapshot(self):
        """name -> what must survive of it: uuid, autostart, managed save, state and the
        next-boot XML with the name blanked (a rename changes nothing else)."""
        p = self.daemon.proxy()
        try:
            out = {}
            for r in p.domain.list():
                if r["name"] != "Domain-0":
                    x = p.domain.get_xml(r["name"], True)
                    out[r["name"]] = (r["uuid"], r["autostart"], r["managed_save"],
                                      r["state"], x.replace(f"<name>{r['name']}</name>", ""))
            return out
        finally:
            p("close")()

    def check_files(self, name, autostart, saved):
        cfg = self.daemon.config_dir
        self.assertEqual(sorted(os.listdir(cfg)), sorted(["autostart", name + ".xml"]))
        self.assertEqual(os.listdir(os.path.join(cfg, "autostart")),
                         [name + ".xml"] if autostart else [])
        self.assertEqual(os.listdir(self.daemon.save_dir), [name + ".save"] if saved else [])
        self.assertEqual([f for f in os.listdir(self.daemon.run_dir) if f != "autostarted"], [])

    def prepare(self, name, autostart=False, suspended=False):
        """A new daemon (so one failed step cannot spoil the next) with one domain set up as
        asked, stopped again. Returns the domain's snapshot and a function expanding {cfg},
        {auto} and {save} in a path template to this daemon's directories."""
        if self.daemon.proc is not None:
            self.daemon.kill()
        self.daemon = Daemon(config={"autostart": "no"})
        self.log_offset = 0
        self.assert_clean_load(self.start())
        p = self.daemon.proxy()
        try:
            p.domain.define(domain_xml(name, memory=65536, extra="  <title>crash</title>"))
            if autostart:
                p.domain.set_autostart(name, True)
            if suspended:
                p.domain.start(name)
                self.assertEqual(p.domain.suspend(name)["state"], "suspended")
        finally:
            p("close")()
        before = self.snapshot()
        self.daemon.stop()
        cfg = self.daemon.config_dir
        dirs = {"cfg": cfg, "auto": os.path.join(cfg, "autostart"),
                "save": self.daemon.save_dir}
        return before, lambda template: template.format(**dirs)

    def test_rename(self):
        kept = []
        for old, new in (("cp-a", "cp-z"), ("cp-z", "cp-a")):
            steps = [(True, False, RENAME, "{cfg}/%s.xml.new" % new),
                     (True, False, SYMLINK, "{auto}/%s.xml.new" % new),
                     (True, False, RENAME, "{auto}/%s.xml.new" % new),
                     (True, False, UNLINK, "{auto}/%s.xml" % old),
                     (True, False, UNLINK, "{cfg}/%s.xml" % old),
                     (False, True, RENAME, "{cfg}/%s.xml.new" % new),
                     (False, True, RENAME, "{save}/%s.save" % old),
                     (False, True, UNLINK, "{cfg}/%s.xml" % old)]
            for autostart, suspended, syscalls, path in steps:
                step = f"{syscalls.split(',')[0]} {path}"
                with self.subTest(old=old, new=new, step=step, autostart=autostart,
                                  suspended=suspended):
                    before, expand = self.prepare(old, autostart, suspended)
                    self.crash_at(syscalls, expand(path), lambda p: p.domain.rename(old, new))
                    log = self.start()
                    after = self.snapshot()
                    self.assertEqual(len(after), 1, after)
                    name = next(iter(after))
                    self.assertIn(name, (old, new))
                    self.assertEqual(after[name], before[old])
                    self.check_files(name, autostart, suspended)
                    self.assert_clean_load(log)
                    kept.append(name == new)
                    self.daemon.stop()
        print(f"\nrename killed at {len(kept)} steps: the new name kept {sum(kept)} times",
              flush=True)

    def test_undefine_autostart_define(self):
        redefine = lambda p: p.domain.define(domain_xml(
            "cp-u", uuid=before["cp-u"][0], memory=131072, extra="  <title>crash</title>"))
        cases = [("undefine", True, UNLINK, "{cfg}/cp-u.xml",
                  lambda p: p.domain.undefine("cp-u")),
                 ("undefine", True, UNLINK, "{auto}/cp-u.xml",
                  lambda p: p.domain.undefine("cp-u")),
                 ("autostart on", False, SYMLINK, "{auto}/cp-u.xml.new",
                  lambda p: p.domain.set_autostart("cp-u", True)),
                 ("autostart on", False, RENAME, "{auto}/cp-u.xml.new",
                  lambda p: p.domain.set_autostart("cp-u", True)),
                 ("autostart off", True, UNLINK, "{auto}/cp-u.xml",
                  lambda p: p.domain.set_autostart("cp-u", False)),
                 ("redefine", True, RENAME, "{cfg}/cp-u.xml.new", redefine)]
        for what, autostart, syscalls, path, call in cases:
            with self.subTest(what=what, step=f"{syscalls.split(',')[0]} {path}"):
                before, expand = self.prepare("cp-u", autostart)
                self.crash_at(syscalls, expand(path), call)
                log = self.start()
                after = self.snapshot()
                if after:
                    # Not applied: the step that would have applied it never ran.
                    self.assertEqual(after, before)
                    self.check_files("cp-u", autostart, False)
                else:
                    self.assertEqual(what, "undefine")
                    self.assertEqual(os.listdir(self.daemon.config_dir), ["autostart"])
                    self.assertEqual(os.listdir(expand("{auto}")), [])
                self.assert_clean_load(log)
                self.daemon.stop()

if __name__ == "__main__":
    xendtest.main()
