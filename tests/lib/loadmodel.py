"""A model of the domains one load-test client owns, exact enough to predict every reply.

The load test (tests/live/test_load.py) gives each client process a disjoint set of
domains for state-changing calls. For each owned domain this module keeps what the daemon
must hold: the state, the stored configuration (memory, max_memory, vCPUs) and, while the
domain runs or is suspended, its live instance or managed-save image separately (changes
made while suspended go to the configuration only and come back into view at the next
shutdown, so one copy cannot predict both), autostart and the devices.

A client asks the model to plan calls (DomainModel.plan_write, plan_wrong, plan_read); each
planned Call carries its method, parameters and what the reply must be, captured when it
was planned, so several can be sent at once in a system.multicall. Planning applies the
change to the model immediately: the call must then succeed (or fault exactly as planned),
which is what Call.verify checks.

Also here: a keep-alive transport that never retries (xmlrpc.client's own retries a call
once when a kept-alive connection was closed, which would hide a dropped connection and
could run a state change twice) and counts the connections it opened.
"""
import copy
import xml.etree.ElementTree as ET
import xmlrpc.client

import xendtest

MAX_VCPUS = 4
STATES = {"running", "blocked", "paused", "shutdown", "shutoff", "crashed", "suspended"}
ACTIVE = ("running", "paused")
# Fault codes (docs/errors.md).
NO_DOMAIN, OPERATION_INVALID, INVALID_ARG, NO_DEVICE, DEVICE_EXISTS = 3, 10, 13, 18, 19
# The devices a domain may gain or lose besides vda and its first NIC, which stay.
EXTRA_DISKS = ("vdb", "vdc", "vdd")
EXTRA_NICS = 3


def domain_mac(index, k):
    return f"52:54:00:7a:{index:02x}:{k:02x}"


def disk_path(disk_dir, name, target):
    return f"{disk_dir}/{name}-{target}.img"


class Call:
    """One planned call: method, params, and either the expected fault code or a check of
    the result (a function returning an error text or None)."""
    __slots__ = ("method", "params", "fault", "check", "domain")

    def __init__(self, method, params, fault=None, check=None, domain=None):
        self.method = method
        self.params = tuple(params)
        self.fault = fault
        self.check = check
        self.domain = domain

    def describe(self):
        return f"{self.method}{self.params!r}"[:200]

    def verify(self, result=None, fault=None):
        """Compare a reply with the plan: fault is (code, text) when the call faulted.
        Returns an error text or None."""
        if fault is not None:
            if fault[0] == self.fault:
                return None
            return f"{self.describe()}: fault {fault[0]} ({fault[1]}), expected " + \
                (f"fault {self.fault}" if self.fault is not None else "success")
        if self.fault is not None:
            return f"{self.describe()}: returned {result!r:.200}, expected fault {self.fault}"
        if self.check is not None:
            try:
                e = self.check(result)
            except (AttributeError, KeyError, TypeError, IndexError) as x:
                e = f"unexpected reply {result!r:.300} ({x!r})"
            if e:
                return f"{self.describe()}: {e}"
        return None


def check_true(result):
    return None if result is True else f"returned {result!r:.200} instead of true"


class DomainModel:
    """What the daemon must hold for one owned, persistent domain."""

    def __init__(self, name, index, uuid, disk_dir, save_dir, memory=65536, max_memory=131072):
        self.name = name
        self.index = index
        self.uuid = uuid
        self.disk_dir = disk_dir
        self.save_path = f"{save_dir}/{name}.save"
        self.state = "shutoff"
        self.autostart = False
        self.config = {"memory": memory, "max_memory": max_memory, "vcpus": 1}
        # The running instance (running/paused) or the managed-save image (suspended).
        self.live = None
        # Devices are changed only while the live instance and the configuration agree
        # (never while suspended), so one list serves both.
        self.disks = [("vda", disk_path(disk_dir, name, "vda"))]
        self.nics = [domain_mac(index, 0)]

    # ---- what the daemon shows ----

    def shown(self):
        """The values of the summary row: the live instance's while active, else the
        configuration's (a suspended domain shows its configuration too)."""
        src = self.live if self.state in ACTIVE else self.config
        return {"state": self.state, "memory": src["memory"], "max_memory": src["max_memory"],
                "vcpus": src["vcpus"], "autostart": self.autostart}

    def row_checker(self):
        """A check of a summary row against the model as it is now."""
        want = self.shown()
        name, uuid, active = self.name, self.uuid, self.state in ACTIVE

        def check(row):
            if not isinstance(row, dict):
                return f"not a row: {row!r:.200}"
            got = {k: row.get(k) for k in want}
            errs = []
            if got != want:
                errs.append(f"row {got} but the model says {want}")
            if row.get("name") != name or row.get("uuid") != uuid:
                errs.append(f"row of {row.get('name')} {row.get('uuid')}")
            if row.get("persistent") is not True or row.get("max_vcpus") != MAX_VCPUS:
                errs.append(f"persistent {row.get('persistent')} max_vcpus {row.get('max_vcpus')}")
            if row.get("managed_save") != (want["state"] == "suspended"):
                errs.append(f"managed_save {row.get('managed_save')} in state {want['state']}")
            rid = row.get("id")
            if not isinstance(rid, int) or (rid > 0) != active or (not active and rid != -1):
                errs.append(f"id {rid} in state {want['state']}")
            return "; ".join(errs) or None
        return check

    def devices(self):
        """domain.devices as the daemon must list it (the fields the model knows)."""
        out = [{"kind": "disk", "index": i, "target": t, "source": s}
               for i, (t, s) in enumerate(self.disks)]
        out += [{"kind": "interface", "index": i, "mac": m} for i, m in enumerate(self.nics)]
        return out

    def devices_checker(self):
        want = self.devices()

        def check(devs):
            if not isinstance(devs, list):
                return f"not an array: {devs!r:.200}"
            got = [{k: d.get(k) for k in w} for d, w in zip(devs, want)]
            if len(devs) != len(want) or got != want:
                seen = [{k: d.get(k) for k in ("kind", "index", "target", "mac")} for d in devs]
                return f"devices {seen} but the model says {want}"
            return None
        return check

    # ---- planning: each returns a list of Calls and updates the model ----

    def _row_call(self, method, *params):
        return Call(method, (self.name,) + params, check=self.row_checker(), domain=self.name)

    def _start(self, paused):
        if self.state == "shutoff":
            self.live = copy.deepcopy(self.config)
        self.state = "paused" if paused else "running"

    def plan_write(self, rnd):
        """One state-changing call (two for a save and restore) that must succeed, chosen
        from what the domain's state allows."""
        s = self.state
        ops = {
            "shutoff": ["start", "start_paused", "set_memory", "set_max_memory", "set_vcpus",
                        "autostart", "attach_disk", "attach_nic", "detach_disk", "detach_nic"],
            "running": ["pause", "destroy", "suspend", "set_memory", "set_vcpus", "autostart",
                        "attach_disk", "attach_nic", "detach_disk", "detach_nic",
                        "save_restore", "unpause"],
            "paused": ["unpause", "pause", "destroy", "suspend", "set_memory", "set_vcpus",
                       "attach_disk", "detach_nic"],
            "suspended": ["resume", "resume_paused", "start", "start_paused", "autostart",
                          "set_memory", "set_vcpus", "set_max_memory"],
        }[s]
        op = rnd.choice(ops)
        n = self.name
        if op in ("start", "start_paused"):
            self._start(op == "start_paused")
            return [self._row_call("domain.start", op == "start_paused")]
        if op in ("resume", "resume_paused"):
            self._start(op == "resume_paused")
            return [self._row_call("domain.resume", op == "resume_paused")]
        if op in ("pause", "unpause"):
            self.state = "paused" if op == "pause" else "running"
            return [self._row_call("domain." + op)]
        if op == "destroy":
            self.state, self.live = "shutoff", None
            return [self._row_call("domain.destroy")]
        if op == "suspend":
            self.state = "suspended"
            return [self._row_call("domain.suspend")]
        if op == "set_memory":
            # Active: the balloon and the configuration both change, and the live ceiling
            # may be below the configured one (a resume brings back the image's).
            top = self.config["max_memory"]
            if s in ACTIVE:
                top = min(top, self.live["max_memory"])
            kib = rnd.randrange(32768, top + 1, 1024)
            self.config["memory"] = kib
            if s in ACTIVE:
                self.live["memory"] = kib
            return [self._row_call("domain.set_memory", kib)]
        if op == "set_max_memory":
            kib = rnd.choice([98304, 131072, 163840])
            self.config["max_memory"] = kib
            self.config["memory"] = min(self.config["memory"], kib)
            return [self._row_call("domain.set_max_memory", kib)]
        if op == "set_vcpus":
            k = rnd.randint(1, MAX_VCPUS)
            self.config["vcpus"] = k
            if s in ACTIVE:
                self.live["vcpus"] = k
            return [self._row_call("domain.set_vcpus", k)]
        if op == "autostart":
            self.autostart = not self.autostart
            return [Call("domain.set_autostart", (n, self.autostart), check=check_true,
                         domain=n)]
        if op == "attach_disk":
            free = [t for t in EXTRA_DISKS if t not in dict(self.disks)]
            if not free:
                return self.plan_read_own(rnd)
            t = rnd.choice(free)
            src = disk_path(self.disk_dir, n, t)
            self.disks.append((t, src))
            return [Call("domain.attach_device", (n, xendtest.disk_xml(src, t)),
                         check=check_true, domain=n)]
        if op == "attach_nic":
            free = [domain_mac(self.index, k) for k in range(1, EXTRA_NICS + 1)
                    if domain_mac(self.index, k) not in self.nics]
            if not free:
                return self.plan_read_own(rnd)
            mac = rnd.choice(free)
            self.nics.append(mac)
            return [Call("domain.attach_device", (n, xendtest.nic_xml(mac)), check=check_true,
                         domain=n)]
        if op == "detach_disk":
            extra = [t for t, _ in self.disks if t != "vda"]
            if not extra:
                return self.plan_read_own(rnd)
            t = rnd.choice(extra)
            self.disks = [d for d in self.disks if d[0] != t]
            return [Call("domain.detach_device", (n, t), check=check_true, domain=n)]
        if op == "detach_nic":
            if len(self.nics) < 2:
                return self.plan_read_own(rnd)
            i = rnd.randrange(1, len(self.nics))
            mac = self.nics.pop(i)
            # By MAC or by index: both name the same NIC.
            return [Call("domain.detach_device", (n, mac if rnd.random() < 0.5 else str(i)),
                         check=check_true, domain=n)]
        if op == "save_restore":
            save = Call("domain.save", (n, self.save_path), check=check_true, domain=n)
            restore = Call("domain.restore", (self.save_path,), check=self.row_checker(),
                           domain=n)
            return [save, restore]
        raise AssertionError(op)

    def plan_wrong(self, rnd):
        """A call the domain's state or the arguments make fail with a known fault; the
        model does not change."""
        n, s = self.name, self.state
        choices = ["vcpus_high", "memory_high", "detach_missing", "attach_existing"]
        if s != "suspended":
            choices.append("resume")
        if s in ACTIVE:
            choices += ["start", "start"]
        else:
            choices += ["pause", "destroy", "suspend", "live_attach"]
        op = rnd.choice(choices)
        if op == "vcpus_high":
            return Call("domain.set_vcpus", (n, MAX_VCPUS + 1), fault=INVALID_ARG, domain=n)
        if op == "memory_high":
            top = self.config["max_memory"]
            if s in ACTIVE:
                top = max(top, self.live["max_memory"])
            return Call("domain.set_memory", (n, top + 1024), fault=INVALID_ARG, domain=n)
        if op == "detach_missing":
            gone = [t for t in EXTRA_DISKS if t not in dict(self.disks)]
            return Call("domain.detach_device", (n, gone[0] if gone else "vdz"),
                        fault=NO_DEVICE, domain=n)
        if op == "attach_existing":
            t, src = self.disks[0]
            return Call("domain.attach_device", (n, xendtest.disk_xml(src, t)),
                        fault=DEVICE_EXISTS, domain=n)
        if op == "live_attach":
            # A live change to a domain that is not running.
            t = EXTRA_DISKS[0]
            return Call("domain.attach_device",
                        (n, xendtest.disk_xml(disk_path(self.disk_dir, n, t), t), {"live": True}),
                        fault=OPERATION_INVALID, domain=n)
        return Call("domain." + op, (n,), fault=OPERATION_INVALID, domain=n)

    def plan_read_own(self, rnd):
        """A read of this domain whose whole reply the model predicts."""
        n = self.name
        op = rnd.choice(["lookup", "devices", "job", "stats", "vcpu_info"])
        if op == "devices":
            return [Call("domain.devices", (n,), check=self.devices_checker(), domain=n)]
        if op == "job":
            return [Call("domain.job_info", (n,), check=lambda j: None if isinstance(j, dict)
                         and j.get("job") == "" else f"a job on a domain only we change: {j}",
                         domain=n)]
        if op == "stats" and self.state == "running":
            mem = self.live["memory"]
            return [Call("domain.stats", (n,), check=lambda st: None if st.get("memory") == mem
                         else f"memory {st.get('memory')}, model {mem}", domain=n)]
        if op == "vcpu_info" and self.state == "running":
            k = self.live["vcpus"]

            def check(info):
                online = sum(1 for v in info if v.get("online"))
                if len(info) != MAX_VCPUS or online != k:
                    return f"{online} of {len(info)} vCPUs online, model {k}"
                return None
            return [Call("domain.vcpu_info", (n,), check=check, domain=n)]
        return [self._row_call("domain.lookup")]

    def to_dict(self):
        return {"name": self.name, "uuid": self.uuid, "state": self.state,
                "autostart": self.autostart, "config": dict(self.config),
                "live": dict(self.live) if self.live else None, "shown": self.shown(),
                "devices": self.devices()}


def config_of_xml(text):
    """(memory, max_memory, vcpus) of a domain XML document."""
    root = ET.fromstring(text)
    cur = root.find("currentMemory")
    mx = int(root.find("memory").text)
    return {"memory": int(cur.text) if cur is not None else mx, "max_memory": mx,
            "vcpus": int(root.find("vcpu").get("current", root.find("vcpu").text))}


class StrictUnixTransport(xendtest.UnixTransport):
    """A keep-alive transport over the Unix socket that sends each request once and counts
    the connections it opened: a reply the daemon never sent is an error, not a retry."""

    def __init__(self, path, timeout=60):
        super().__init__(path, timeout=timeout)
        self.connections = 0

    def make_connection(self, host):
        if not (self._connection and host == self._connection[0]):
            self.connections += 1
        return super().make_connection(host)

    def request(self, host, handler, request_body, verbose=False):
        return self.single_request(host, handler, request_body, verbose)


def strict_proxy(path, timeout=60):
    """(ServerProxy, its StrictUnixTransport) for the Unix socket at path."""
    t = StrictUnixTransport(path, timeout=timeout)
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=t,
                                     allow_none=True), t
