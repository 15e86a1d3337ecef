"""Many clients at once: 8 client processes x 2,000 mixed calls on 50 domains of one real
xend. Each process owns a disjoint set of domains for state-changing calls, so it can
predict every reply from a local model of its own calls (which must therefore never
fail), and it also reads every domain, its own and the others'. At the end domain.list
must equal the merged models (states, memory, vCPUs, autostart). Also two daemons
migrating domains to each other at once. Every run has a bounded deadline, so a deadlock
fails the test instead of hanging it."""
import multiprocessing
import os
import random
import threading
import traceback
import unittest
import xmlrpc.client

import xendtest
from xendtest import Daemon, domain_xml, make_disk

WORKERS = 8
# Under valgrind (make fullcheck) everything is ~30x slower and the point is memory errors,
# not volume: fewer calls there.
CALLS = 2000 // xendtest.SLOW
DOMAINS = 50
DEADLINE = 240 * xendtest.SLOW
STATES = {"running", "blocked", "paused", "shutdown", "shutoff", "crashed", "suspended"}
JOBS = {"", "domain.start", "domain.destroy", "domain.pause", "domain.unpause",
        "domain.suspend", "domain.resume", "domain.save", "domain.restore",
        "domain.set_memory", "domain.set_max_memory", "domain.set_vcpus",
        "domain.set_autostart", "domain.define"}
MAX_VCPUS = 4


def dom(i):
    return f"cc-{i:02d}"


def owned(w):
    return [dom(i) for i in range(DOMAINS) if i % WORKERS == w]


def initial_model():
    return {"state": "shutoff", "memory": 65536, "max_memory": 131072, "vcpus": 1,
            "autostart": False}


def worker(socket_path, w, seed, save_dir):
    """One client process: CALLS calls; returns (errors, model of its own domains, calls
    made)."""
    rnd = random.Random(seed)
    p = xendtest.unix_proxy(socket_path, timeout=60)
    mine = owned(w)
    model = {n: initial_model() for n in mine}
    everyone = [dom(i) for i in range(DOMAINS)]
    errors = []
    calls = 0
    last_event = 0

    def err(msg):
        if len(errors) < 50:
            errors.append(f"worker {w} call {calls}: {msg}")

    def check_row(n, row, what):
        m = model[n]
        got = {"state": row["state"], "memory": row["memory"],
               "max_memory": row["max_memory"], "vcpus": row["vcpus"],
               "autostart": row["autostart"]}
        if row["name"] != n or got != m or row["persistent"] is not True or \
                row["managed_save"] != (m["state"] == "suspended"):
            err(f"{what} {n}: row {got} (name {row['name']}, managed_save "
                f"{row['managed_save']}) but the model says {m}")

    def write(n):
        """One state-changing call on an owned domain, chosen from what its state allows."""
        nonlocal calls
        m = model[n]
        s = m["state"]
        choices = {
            "shutoff": ["start", "start_paused", "set_memory", "set_vcpus", "set_max_memory",
                        "autostart"],
            "running": ["pause", "destroy", "suspend", "set_memory", "set_vcpus",
                        "save_restore", "autostart", "vcpu_info", "stats"],
            "paused": ["unpause", "pause", "destroy", "set_memory"],
            "suspended": ["resume", "start", "autostart"],
        }[s]
        op = rnd.choice(choices)
        row = None
        if op == "start":
            row = p.domain.start(n)
            m["state"] = "running"
        elif op == "start_paused":
            row = p.domain.start(n, True)
            m["state"] = "paused"
        elif op == "pause":
            row = p.domain.pause(n)
            m["state"] = "paused"
        elif op == "unpause":
            row = p.domain.unpause(n)
            m["state"] = "running"
        elif op == "destroy":
            row = p.domain.destroy(n)
            m["state"] = "shutoff"
        elif op == "suspend":
            row = p.domain.suspend(n)
            m["state"] = "suspended"
        elif op == "resume":
            row = p.domain.resume(n)
            m["state"] = "running"
        elif op == "set_memory":
            kib = rnd.randrange(32768, m["max_memory"] + 1, 1024)
            row = p.domain.set_memory(n, kib)
            m["memory"] = kib
        elif op == "set_max_memory":
            kib = rnd.choice([98304, 131072, 163840])
            row = p.domain.set_max_memory(n, kib)
            m["max_memory"] = kib
            m["memory"] = min(m["memory"], kib)
        elif op == "set_vcpus":
            k = rnd.randint(1, MAX_VCPUS)
            row = p.domain.set_vcpus(n, k)
            m["vcpus"] = k
        elif op == "autostart":
            on = not m["autostart"]
            if p.domain.set_autostart(n, on) is not True:
                err(f"set_autostart {n} did not return true")
            m["autostart"] = on
        elif op == "save_restore":
            path = os.path.join(save_dir, n + ".save")
            if p.domain.save(n, path) is not True:
                err(f"save {n} did not return true")
            m["state"] = "shutoff"
            calls += 1
            row = p.domain.restore(path)
            m["state"] = "running"
        elif op == "vcpu_info":
            info = p.domain.vcpu_info(n)
            online = sum(1 for v in info if v["online"])
            if len(info) != MAX_VCPUS or online != m["vcpus"]:
                err(f"vcpu_info {n}: {online} of {len(info)} online, model {m['vcpus']}")
        elif op == "stats":
            st = p.domain.stats(n)
            if st["memory"] != m["memory"]:
                err(f"stats {n}: memory {st['memory']}, model {m['memory']}")
        calls += 1
        if row is not None:
            check_row(n, row, op)

    def read():
        nonlocal calls, last_event
        op = rnd.choice(["lookup", "lookup", "list_some", "list_all", "get_xml", "node",
                         "event", "job"])
        n = rnd.choice(everyone)
        if op == "lookup":
            row = p.domain.lookup(n)
            if row["name"] != n or row["state"] not in STATES:
                err(f"lookup {n}: {row}")
            elif n in model:
                check_row(n, row, "lookup")
        elif op == "list_some":
            want = rnd.sample(everyone, 3)
            rows = p.domain.list({"domains": want})
            if sorted(r["name"] for r in rows) != sorted(want):
                err(f"list {want}: {[r['name'] for r in rows]}")
            for r in rows:
                if r["name"] in model:
                    check_row(r["name"], r, "list")
        elif op == "list_all":
            rows = p.domain.list()
            names = [r["name"] for r in rows]
            if names != ["Domain-0"] + everyone:
                err(f"list: {names}")
            ids = [r["id"] for r in rows if r["id"] >= 0]
            if len(ids) != len(set(ids)):
                err(f"list: duplicate ids {sorted(ids)}")
            for r in rows:
                if r["state"] not in STATES:
                    err(f"list: state {r['state']}")
                if r["name"] in model:
                    check_row(r["name"], r, "list")
        elif op == "get_xml":
            text = p.domain.get_xml(n, rnd.random() < 0.5)
            if f"<name>{n}</name>" not in text:
                err(f"get_xml {n}: {text[:200]}")
        elif op == "node":
            info = p.node.info()
            if info["domains"] != DOMAINS + 1:
                err(f"node.info domains {info['domains']}")
        elif op == "event":
            cur = p.event.current_id()
            if cur < last_event:
                err(f"event.current_id went back from {last_event} to {cur}")
            last_event = cur
        elif op == "job":
            j = p.domain.job_info(n)
            if j["job"] not in JOBS:
                err(f"job_info {n}: {j}")
            if n in model and j["job"] != "":
                err(f"job_info {n}: a job {j['job']} on a domain only we change")
        calls += 1

    try:
        while calls < CALLS:
            if rnd.random() < 0.5:
                write(rnd.choice(mine))
            else:
                read()
    except xmlrpc.client.Fault as f:
        err(f"fault {f.faultCode}: {f.faultString}")
    except Exception:  # noqa: BLE001 - reported to the parent
        err(traceback.format_exc())
    finally:
        p("close")()
    return errors, model, calls


class ConcurrencyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        cls.p = cls.daemon.proxy()
        disks = os.path.join(cls.daemon.dir, "disks")
        os.makedirs(disks)
        cls.save_dir = os.path.join(cls.daemon.dir, "files")
        os.makedirs(cls.save_dir)
        for i in range(DOMAINS):
            disk = make_disk(disks, dom(i) + ".img")
            cls.p.domain.define(domain_xml(dom(i), memory=131072, current_memory=65536,
                                           vcpus=MAX_VCPUS, current_vcpus=1, disks=[disk],
                                           nics=[f"52:54:00:70:00:{i:02x}"]))

    @classmethod
    def tearDownClass(cls):
        cls.p("close")()
        cls.daemon.stop()

    def test_clients_against_a_model(self):
        ctx = multiprocessing.get_context("fork")
        seed = int.from_bytes(os.urandom(4), "little")
        args = [(self.daemon.socket, w, seed + w, self.save_dir) for w in range(WORKERS)]
        pool = ctx.Pool(WORKERS)
        try:
            res = pool.starmap_async(worker, args)
            try:
                out = res.get(timeout=DEADLINE)
            except multiprocessing.TimeoutError:
                pool.terminate()
                self.fail(f"the clients did not finish within {DEADLINE} s (deadlock?); "
                          f"seed {seed}; daemon log tail:\n{self.daemon.output()[-3000:]}")
        finally:
            pool.close()
            pool.join()
        errors = [e for o in out for e in o[0]]
        self.assertEqual(errors, [], f"seed {seed}")
        # Every client made its calls (a save+restore counts two, so one may be extra).
        for w, o in enumerate(out):
            self.assertIn(o[2], (CALLS, CALLS + 1), f"worker {w}")
        model = {}
        for o in out:
            model.update(o[1])
        self.assertEqual(len(model), DOMAINS)

        rows = self.p.domain.list()
        self.assertEqual([r["name"] for r in rows], ["Domain-0"] + sorted(model))
        for r in rows[1:]:
            with self.subTest(domain=r["name"]):
                got = {k: r[k] for k in ("state", "memory", "max_memory", "vcpus",
                                         "autostart")}
                self.assertEqual(got, model[r["name"]], f"seed {seed}")
                self.assertEqual(self.p.domain.job_info(r["name"])["job"], "")
        ids = [r["id"] for r in rows if r["id"] >= 0]
        self.assertEqual(len(ids), len(set(ids)))
        # The stored configurations agree with the model as well.
        for n, m in model.items():
            link = os.path.join(self.daemon.config_dir, "autostart", n + ".xml")
            self.assertEqual(os.path.lexists(link), m["autostart"], n)
        # Host memory adds up: every active guest's balloon is charged once.
        info = self.p.node.info()
        used = sum(m["memory"] for m in model.values() if m["state"] in ("running", "paused"))
        self.assertEqual(info["memory"] - self.p.domain.lookup("Domain-0")["memory"] - used,
                         info["free_memory"])
        self.assertEqual(self.p.daemon.version()["product"], "xend")


class CrossMigrationTests(unittest.TestCase):
    """Two daemons migrating domains to each other at the same time, more at once than
    either has workers for long calls: every migration must finish (the receiving side
    must not wait behind the sending calls that wait for it)."""
    PER_SIDE = 12

    @classmethod
    def setUpClass(cls):
        cls.a = Daemon().start()
        cls.b = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        for d in (cls.a, cls.b):
            try:
                d.stop()
            except AssertionError:
                pass  # stop() already killed it; the test itself reports what went wrong

    def test_cross_migrations_finish(self):
        with self.a.proxy() as pa, self.b.proxy() as pb:
            for i in range(self.PER_SIDE):
                pa.domain.create(domain_xml(f"xa-{i}"))
                pb.domain.create(domain_xml(f"xb-{i}"))
        results = {}

        def migrate(src, name, dst):
            with xendtest.unix_proxy(src.socket, timeout=60) as p:
                try:
                    results[name] = p.domain.migrate(name, "unix://" + dst.socket, True)
                except Exception as e:  # noqa: BLE001 - compared below
                    results[name] = repr(e)

        threads = [threading.Thread(target=migrate, args=(self.a, f"xa-{i}", self.b))
                   for i in range(self.PER_SIDE)]
        threads += [threading.Thread(target=migrate, args=(self.b, f"xb-{i}", self.a))
                    for i in range(self.PER_SIDE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90 * xendtest.SLOW)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(results, {n: True for n in
                                   [f"xa-{i}" for i in range(self.PER_SIDE)] +
                                   [f"xb-{i}" for i in range(self.PER_SIDE)]})
        with self.a.proxy() as pa, self.b.proxy() as pb:
            self.assertEqual(sorted(r["name"] for r in pa.domain.list({"active": True})),
                             sorted(["Domain-0"] + [f"xb-{i}" for i in range(self.PER_SIDE)]))
            self.assertEqual(sorted(r["name"] for r in pb.domain.list({"active": True})),
                             sorted(["Domain-0"] + [f"xa-{i}" for i in range(self.PER_SIDE)]))


if __name__ == "__main__":
    xendtest.main()
