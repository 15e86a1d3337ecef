#!/usr/bin/env python3
"""Run one shell command on a guest's console, the way xm-test's XmConsole.runCmd did.

    guest.py [--rc-file FILE] [--timeout SECS] DOMAIN COMMAND

Spawns `$XM console DOMAIN` with pipes (no terminal), waits until the console shows a
shell prompt (poking it with a newline while the guest is still booting), writes
`COMMAND; echo XMTEST-RC=$?` and a newline, and reads the console until the marker
`XMTEST-RC=<n>` appears after the echo of that line. Then it closes xm's stdin (xm console
exits about a second after EOF) and reaps xm, killing it by PID if it lingers.

On success it prints the command's output (what the console showed between the echo of the
command line and the marker, carriage returns removed, surrounding blank lines stripped),
writes <n> to --rc-file (or stderr when not given) and exits 0. On a console error (xm
console failed, no marker before the timeout, more than 128 KiB of output: a runaway
console) it prints `ConsoleError: <reason>` on stderr and exits 1 (timeout), 2 (runaway)
or 3 (xm console ended or could not start), leaving the rc file untouched.

Environment: XM (xm's path, default "xm"), XMTEST_SLOW (scales every bound),
XMTEST_CONSOLE_TIMEOUT (seconds to wait for the marker, default 30 like XmConsole),
XMTEST_BOOT_TIMEOUT (seconds to wait for a first prompt, default 30),
XMTEST_RUNAWAY_LIMIT (bytes of output that make a runaway console, default 128 KiB),
XMTEST_TMP (where a transcript of every call is appended, guest-console.log).

This is the one place the suite talks to a guest: the simulated host's tiny shell and a
real busybox under QEMU both satisfy it (echo of the typed line, `;`, `$?`, `echo`).
"""
import os
import re
import select
import signal
import subprocess
import sys
import time

MARKER = re.compile(rb"XMTEST-RC=(\d+)")
# How what the console printed ends when a shell waits for input: busybox's "/ # ", "# ",
# "$ ", or xm-test's own "@%@%> ".
PROMPTS = (b"# ", b"$ ", b"> ")
# Terminal control sequences a line editor prints around its prompt (busybox ash asks for
# the cursor position, ESC [6n, after each one): not part of what the prompt ends with.
# xend's console hands the ESC on as U+FFFD (XML-RPC strings cannot carry it).
CONTROL = re.compile(rb"(?:\x1b|\xef\xbf\xbd)\[[0-9;?]*[A-Za-z]|\r")
# XmConsole's default limit on the output of one command (setLimit() changed it).
RUNAWAY_LIMIT = int(os.environ.get("XMTEST_RUNAWAY_LIMIT", "") or 128 * 1024)


class ConsoleError(Exception):
    def __init__(self, reason, code):
        super().__init__(reason)
        self.code = code


def scaled(name, default):
    try:
        slow = float(os.environ.get("XMTEST_SLOW", "1") or 1)
    except ValueError:
        slow = 1.0
    try:
        base = float(os.environ.get(name, "") or default)
    except ValueError:
        base = float(default)
    return base * max(slow, 1.0)


class Console:
    """xm console DOMAIN on pipes, with a buffer of everything it printed."""

    def __init__(self, domain):
        self.xm = os.environ.get("XM", "xm")
        self.domain = domain
        self.buf = b""
        self.eof = False
        try:
            self.proc = subprocess.Popen([self.xm, "console", domain], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         bufsize=0)
        except OSError as e:
            raise ConsoleError(f"cannot run {self.xm} console {domain}: {e}", 3)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def pump(self, wait):
        """Read what is available, waiting at most `wait` seconds for the first byte."""
        if self.eof:
            time.sleep(min(wait, 0.05))
            return 0
        r, _, _ = select.select([self.proc.stdout], [], [], max(wait, 0))
        if not r:
            return 0
        try:
            data = self.proc.stdout.read(65536)
        except BlockingIOError:
            return 0
        if not data:
            self.eof = True
            return 0
        self.buf += data
        return len(data)

    def write(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise ConsoleError(f"xm console {self.domain} stopped reading its input ({e}): "
                               + self.tail(), 3)

    def tail(self, n=400):
        return self.buf[-n:].decode("utf-8", "replace").strip()

    def check_alive(self):
        if self.eof and self.proc.poll() is not None:
            raise ConsoleError(f"xm console {self.domain} exited with {self.proc.returncode}: "
                               + self.tail(), 3)

    def close(self):
        """EOF on stdin, then let xm finish (it prints for ~1 s more); kill it if it lingers."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + scaled("XMTEST_CONSOLE_EXIT", 5)
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.1)
        if self.proc.poll() is None:
            self.proc.kill()  # by PID: the Popen handle, never by name
            self.proc.wait()
        while not self.eof and self.pump(0):
            pass


def settle(con, quiet=0.2, limit=2.0):
    """Let xm print the console history it starts with: stop after `quiet` seconds without
    output (or `limit` in all)."""
    end = time.monotonic() + scaled("XMTEST_SETTLE", limit)
    while time.monotonic() < end:
        if not con.pump(quiet):
            return
        if len(con.buf) > 16 * 1024 * 1024:
            return


def ends_in_prompt(data):
    return CONTROL.sub(b"", data).endswith(PROMPTS)


def wait_prompt(con):
    """Make sure a shell is listening: if the history does not end in a prompt, poke the
    console with a newline now and then until one shows (the guest may still be booting)."""
    if ends_in_prompt(con.buf):
        return
    deadline = time.monotonic() + scaled("XMTEST_BOOT_TIMEOUT", 30)
    start = len(con.buf)
    next_poke = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_poke:
            con.write(b"\n")
            next_poke = now + 2.0
        con.pump(0.2)
        con.check_alive()
        if ends_in_prompt(con.buf[start:]):
            settle(con, quiet=0.2, limit=1.0)
            return
    # No prompt seen: send the command anyway; the marker decides.


def run(domain, command, log):
    con = Console(domain)
    try:
        settle(con)
        con.check_alive()
        wait_prompt(con)
        line = f"{command}; echo XMTEST-RC=$?".encode()
        base = len(con.buf)
        con.write(line + b"\n")
        deadline = time.monotonic() + scaled("XMTEST_CONSOLE_TIMEOUT", 30)
        while True:
            new = con.buf[base:]
            echo = new.find(line)
            start = echo + len(line) if echo >= 0 else 0
            # The typed line shows "XMTEST-RC=$?", which the regex does not match: only
            # the output of the echo does.
            m = MARKER.search(new, start)
            if m:
                out = new[start:m.start()]
                rc = int(m.group(1))
                break
            if len(new) > RUNAWAY_LIMIT:
                raise ConsoleError(f"RUNAWAY: more than {RUNAWAY_LIMIT} bytes of console "
                                   f"output from '{command}'", 2)
            if time.monotonic() >= deadline:
                raise ConsoleError(f"timed out waiting for '{command}' on {domain}'s console "
                                   f"(last output: {con.tail(200)!r})", 1)
            con.pump(0.1)
            con.check_alive()
    finally:
        con.close()
        if log:
            try:
                with open(log, "ab") as f:
                    f.write(f"--- xm console {domain}: {command}\n".encode())
                    f.write(con.buf)
                    f.write(b"\n")
            except OSError:
                pass
    text = out.replace(b"\r", b"").decode("utf-8", "replace")
    return text.strip("\n"), rc


def main(argv):
    rc_file = None
    timeout = None
    args = argv[1:]
    while args and args[0].startswith("--"):
        if args[0] == "--rc-file" and len(args) > 1:
            rc_file = args[1]
            args = args[2:]
        elif args[0] == "--timeout" and len(args) > 1:
            timeout = args[1]
            args = args[2:]
        else:
            break
    if len(args) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 64
    if timeout:
        os.environ["XMTEST_CONSOLE_TIMEOUT"] = timeout
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    tmp = os.environ.get("XMTEST_TMP")
    log = os.path.join(tmp, "guest-console.log") if tmp else None
    try:
        out, rc = run(args[0], args[1], log)
    except ConsoleError as e:
        print(f"ConsoleError: {e}", file=sys.stderr)
        return e.code
    sys.stdout.write(out + ("\n" if out else ""))
    if rc_file:
        with open(rc_file, "w") as f:
            f.write(f"{rc}\n")
    else:
        print(f"XMTEST-RC={rc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
