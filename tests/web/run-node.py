#!/usr/bin/env python3
"""Run one browser test script (tests/web/*.mjs) with node against a real xend.

usage: run-node.py SCRIPT

SCRIPT is a file name next to this one (or a path). A fresh xend runs on loopback with TLS
(a test certificate) and HTTP Basic users, the sample domains of `make run` defined
(scripts/xend-samples.py: web and db running, build offline, archive suspended); then
`node SCRIPT` runs with, in its environment:

  XEND_WEB_URL          https://127.0.0.1:PORT/  (the page)
  XEND_WEB_ORIGIN       https://127.0.0.1:PORT
  XEND_WEB_USER         admin       XEND_WEB_PASSWORD     its (random) password
  XEND_WEB_RO_USER      viewer      XEND_WEB_RO_PASSWORD  (access class read)
  XEND_WEB_CA           the test CA (PEM), for clients that verify
  XEND_URI              unix://<the rw socket>, for xm run from the script
  XEND_XM               the xm binary (from the environment meson gives the tests)
  XEND_WEB_SHOTS        <build dir>/tests/web/screenshots, created
  XEND_SLOW             how much to scale waits (valgrind 20, ASan 3, else 1)
  XEND_CHROMIUM         the browser (default /usr/bin/chromium)

Node gets 300 s (x SLOW) and is then killed with everything it started (its own process
group: chromium). The daemon is stopped by its PID. The exit status is node's; on a failure
the end of the daemon's log is printed. playwright-core (node_modules/ at the top of the
source tree) and chromium are required: both come from scripts/install-deps, so a missing
one is a failure with a message saying so, not a skip.
"""
import os
import secrets
import shutil
import signal
import subprocess
import sys

import xendtest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = xendtest.SOURCE_DIR
BUILD_DIR = os.environ.get("XEND_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
CHROMIUM = os.environ.get("XEND_CHROMIUM", "/usr/bin/chromium")
NODE_TIMEOUT = 300 * xendtest.SLOW
LOG_TAIL = 80


def fail(msg):
    print(f"run-node: {msg}", file=sys.stderr, flush=True)
    return 1


def missing_tools():
    """What the browser tests need and scripts/install-deps provides, if any is missing."""
    problems = []
    if not shutil.which("node"):
        problems.append("node is not on PATH")
    if not os.path.isfile(os.path.join(SOURCE_DIR, "node_modules", "playwright-core",
                                       "package.json")):
        problems.append(f"playwright-core is not installed in {SOURCE_DIR}/node_modules")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"no chromium at {CHROMIUM}")
    if not xendtest.XEND_BIN:
        problems.append("XEND_BIN is not set (run through meson test)")
    return problems


def log_tail(daemon):
    lines = daemon.output().splitlines()
    return "\n".join(lines[-LOG_TAIL:])


def run_node(script, env):
    """node SCRIPT in its own process group; returns its exit status (killed: 124)."""
    proc = subprocess.Popen(["node", script], env=env, cwd=HERE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        rc = proc.wait(timeout=NODE_TIMEOUT)
        return 128 - rc if rc < 0 else rc  # killed by a signal: as a shell reports it
    except subprocess.TimeoutExpired:
        print(f"run-node: {os.path.basename(script)} did not finish in {NODE_TIMEOUT} s; "
              "killing it", file=sys.stderr, flush=True)
        return 124
    finally:
        # node and what it started (chromium) share the group whose id is node's PID
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    script = argv[0]
    if not os.path.isabs(script):
        script = os.path.join(HERE, script)
    if not os.path.isfile(script):
        return fail(f"no such test script: {script}")
    problems = missing_tools()
    if problems:
        return fail("cannot run the browser tests: " + "; ".join(problems) +
                    ". scripts/install-deps (make deps) installs them.")

    users = {"admin": (secrets.token_urlsafe(18), "admin"),
             "viewer": (secrets.token_urlsafe(18), "read")}
    daemon = xendtest.Daemon(tls=True, users=users)
    rc = 1
    try:
        daemon.start()
        images = os.path.join(daemon.dir, "images")
        samples = subprocess.run(
            [sys.executable, os.path.join(SOURCE_DIR, "scripts", "xend-samples.py"),
             daemon.socket, images], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=60 * xendtest.SLOW)
        if samples.returncode != 0:
            print(samples.stdout, file=sys.stderr)
            raise RuntimeError("xend-samples.py failed")
        shots = os.path.join(BUILD_DIR, "tests", "web", "screenshots")
        os.makedirs(shots, exist_ok=True)
        origin = f"https://127.0.0.1:{daemon.tcp_port}"
        env = dict(os.environ)
        env.pop("XM_SERVER", None)  # it would win over XEND_URI in xm
        env.update({
            "XEND_WEB_URL": origin + "/",
            "XEND_WEB_ORIGIN": origin,
            "XEND_WEB_USER": "admin",
            "XEND_WEB_PASSWORD": users["admin"][0],
            "XEND_WEB_RO_USER": "viewer",
            "XEND_WEB_RO_PASSWORD": users["viewer"][0],
            "XEND_WEB_CA": daemon.ca,
            "XEND_URI": "unix://" + daemon.socket,
            "XEND_XM": xendtest.XM,
            "XEND_WEB_SHOTS": shots,
            "XEND_SLOW": str(xendtest.SLOW),
            "XEND_CHROMIUM": CHROMIUM,
            # xm: no user config file, untranslated messages
            "XM_CONFIG_FILE": "/nonexistent/xm.conf",
            "LC_ALL": "C",
        })
        print(f"run-node: node {os.path.basename(script)} against {origin}/ "
              f"(daemon in {daemon.dir})", flush=True)
        rc = run_node(script, env)
    except Exception as e:  # the daemon or the samples did not come up
        print(f"run-node: {e}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        try:
            daemon.stop(expect_rc=None)
        except AssertionError as e:  # did not stop on SIGTERM
            print(f"run-node: {e}", file=sys.stderr, flush=True)
            rc = rc or 1
        if rc != 0:
            print(f"run-node: {os.path.basename(script)} failed (exit status {rc}); "
                  f"the end of xend's log:\n{log_tail(daemon)}", file=sys.stderr, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
