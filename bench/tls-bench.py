#!/usr/bin/env python3
"""tls-bench: what TLS and users cost on the TCP listener, printed as figures; nothing is
asserted. One daemon with a TLS listener (a throw-away certificate from make-test-cert,
a yescrypt user written by `xend passwd`) and one with plain loopback HTTP; the same
Python xmlrpc.client calls daemon.version on one kept-alive connection through:

  - the Unix socket (the baseline),
  - plain loopback TCP without users,
  - https with HTTP Basic on every request (the daemon checks the password once per
    connection and then recognises the header),
  - a new https connection per call (handshake + one password check each: the cost a
    client pays that does not keep its connection),

each as median and p99 microseconds per call and the ratio to the baseline.

usage: tls-bench.py BUILDDIR [CALLS]
"""
import os
import statistics
import subprocess
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))


def measure(call, n):
    for _ in range(min(50, n)):
        call()
    t = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        call()
        t.append(time.perf_counter_ns() - t0)
    t.sort()
    return statistics.median(t) / 1000, t[int(len(t) * 0.99) - 1] / 1000


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    os.environ.setdefault("XEND_BIN", os.path.join(build, "src", "daemon", "xend"))
    os.environ.setdefault("XEND_SOURCE_DIR", os.path.join(HERE, ".."))
    import xendtest
    xend = os.environ["XEND_BIN"]

    secure = xendtest.Daemon(tls=True, users={})
    # The user the way an administrator makes one: `xend passwd` (yescrypt).
    subprocess.run([xend, "passwd", "--file", secure.passwd_file, "--access", "admin",
                    "bench"], input="bench-password\n", text=True, check=True,
                   capture_output=True)
    plain = xendtest.Daemon(tcp=True)
    rows = []
    with secure, plain:
        with plain.proxy() as p:
            base = measure(p.daemon.version, n)
            rows.append(("unix socket (baseline)", base))
        with plain.tcp_proxy() as p:
            rows.append(("loopback TCP, plain, no users", measure(p.daemon.version, n)))
        with secure.tcp_proxy(user="bench", password="bench-password") as p:
            rows.append(("https + Basic, kept alive", measure(p.daemon.version, n)))

        def fresh():
            with secure.tcp_proxy(user="bench", password="bench-password") as p:
                p.daemon.version()
        rows.append(("https + Basic, new connection per call", measure(fresh, max(n // 10, 20))))
    print(f"tls-bench: daemon.version through Python's xmlrpc.client, {n} calls each")
    print(f"  {'path':42} {'median us':>10} {'p99 us':>10} {'x baseline':>11}")
    for name, (med, p99) in rows:
        print(f"  {name:42} {med:10.1f} {p99:10.1f} {med / base[0]:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
