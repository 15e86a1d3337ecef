"""`meson install` into an empty DESTDIR, then the installed layout: every file meson says
it installs is there, the programs, the library and its symlinks, the headers and the
pkg-config file (which a small program then compiles and links against), the man pages,
the configuration files, the systemd unit (all @...@ substituted, and
`systemd-analyze verify` happy when it exists), the bash completion and, when the source
tree has po/, the message catalogues. Nothing lands outside the prefix but the
sysconfdir and localstatedir that the prefix implies.

usage: test_install.py MESON BUILDDIR SOURCEDIR

xm (src/xm) is checked only when the build tree has it (src/xm/xm), so that this test
does not depend on when xm lands; everything else is unconditional.
"""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile


class Checker:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, what, detail=""):
        print(("ok    " if cond else "FAIL  ") + what + (f": {detail}" if detail and not cond else ""),
              flush=True)
        if not cond:
            self.failed += 1
        return cond

    def note(self, what):
        print("note  " + what, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120, **kw)


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    meson = argv[1].split()  # find_program('meson') may be "python3 /path/meson.py"
    build, source = argv[2], argv[3]
    c = Checker()

    with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
        opts = {o["name"]: o["value"] for o in json.load(f)}
    prefix = opts["prefix"]

    def sysdir(name):
        """The absolute installed directory of a meson dir option (as meson computes it)."""
        return os.path.normpath(os.path.join(prefix, opts[name]))

    tmp = tempfile.mkdtemp(prefix="xend-install-")
    try:
        dest = os.path.join(tmp, "root")

        def d(path):
            """path (absolute, as installed) inside DESTDIR."""
            return os.path.join(dest, path.lstrip("/"))

        r = run(meson + ["install", "-C", build, "--destdir", dest, "--no-rebuild", "--quiet"])
        if not c.ok(r.returncode == 0, "meson install --destdir", r.stdout[-3000:]):
            return 1

        bindir, sbindir = sysdir("bindir"), sysdir("sbindir")
        libdir, includedir = sysdir("libdir"), sysdir("includedir")
        datadir, mandir = sysdir("datadir"), sysdir("mandir")
        sysconfdir, localstatedir = sysdir("sysconfdir"), sysdir("localstatedir")
        localedir = sysdir("localedir")
        unitdir = os.path.join(prefix, "lib", "systemd", "system")

        # -- everything meson lists is installed, and nothing strays from the prefix --
        with open(os.path.join(build, "meson-info", "intro-installed.json")) as f:
            installed = json.load(f)
        missing = [p for p in installed.values() if not os.path.lexists(d(p))]
        c.ok(not missing, f"all {len(installed)} files listed by meson are installed",
             ", ".join(missing))
        allowed = [prefix, sysconfdir, localstatedir]
        stray = []
        for root, dirs, files in os.walk(dest):
            for name in files:
                p = "/" + os.path.relpath(os.path.join(root, name), dest)
                if not any(p.startswith(a.rstrip("/") + "/") for a in allowed):
                    stray.append(p)
        c.ok(not stray, "nothing installed outside " + ", ".join(allowed), ", ".join(stray))

        # -- the daemon --
        xend = d(os.path.join(sbindir, "xend"))
        if c.ok(os.access(xend, os.X_OK), f"xend installed in sbindir ({sbindir})"):
            r = run([xend, "--version"])
            c.ok(r.returncode == 0 and "0." in r.stdout, "installed xend --version runs",
                 r.stdout)
        conf = d(os.path.join(sysconfdir, "xend", "xend.conf"))
        if c.ok(os.path.isfile(conf), "xend.conf installed in sysconfdir/xend"):
            r = run([xend, "--check-config", "--config", conf])
            c.ok(r.returncode == 0 and "config OK" in r.stdout,
                 "the installed xend.conf passes xend --check-config", r.stdout)
        for path in (os.path.join(sysconfdir, "xend", "domains"),
                     os.path.join(localstatedir, "lib", "xend")):
            st = os.stat(d(path)) if os.path.isdir(d(path)) else None
            c.ok(st is not None and stat.S_IMODE(st.st_mode) == 0o700,
                 f"{path} created, mode 0700 (ReadWritePaths of the unit)",
                 oct(stat.S_IMODE(st.st_mode)) if st else "missing")

        # -- libxend: the library, its symlinks, headers, pkg-config --
        real = glob.glob(d(os.path.join(libdir, "libxend.so.*.*.*")))
        c.ok(len(real) == 1 and not os.path.islink(real[0]),
             f"libxend.so.X.Y.Z installed in libdir ({libdir})", str(real))
        for link in ("libxend.so", "libxend.so.0"):
            p = d(os.path.join(libdir, link))
            c.ok(os.path.islink(p) and os.path.exists(p)
                 and os.path.dirname(os.path.realpath(p)) == os.path.realpath(d(libdir)),
                 f"{link} is a symlink to the library next to it")
        for h in ("xend/xend.h", "xend/xmlrpc/value.h"):
            c.ok(os.path.isfile(d(os.path.join(includedir, h))), f"include/{h} installed")
        pcdir = d(os.path.join(libdir, "pkgconfig"))
        if c.ok(os.path.isfile(os.path.join(pcdir, "xend.pc")), "pkgconfig/xend.pc installed"):
            if shutil.which("pkg-config"):
                env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=dest,
                           PKG_CONFIG_PATH=pcdir + os.pathsep + os.environ.get("PKG_CONFIG_PATH", ""))
                r = run(["pkg-config", "--cflags", "--libs", "xend"], env=env)
                flags = r.stdout.split()
                c.ok(r.returncode == 0 and "-lxend" in flags
                     and "-L" + d(libdir) in flags and "-I" + d(includedir) in flags,
                     "pkg-config --cflags --libs xend points into DESTDIR", r.stdout)
                compile_against(c, r.stdout.split() if r.returncode == 0 else None,
                                tmp, d(libdir), opts)
            else:
                c.note("pkg-config not found: the .pc file and compiling against it are not checked")

        # -- man pages --
        for page in ("man1/xm.1", "man8/xend.8", "man5/xend.conf.5"):
            p = d(os.path.join(mandir, page))
            if c.ok(os.path.isfile(p), f"man page {page} installed") and shutil.which("groff"):
                r = run(["groff", "-man", "-ww", "-z", p])
                c.ok(r.returncode == 0 and not r.stdout.strip(),
                     f"{page} formats without groff warnings", r.stdout)

        # -- xm's client configuration --
        xmconf = d(os.path.join(sysconfdir, "xend", "xm.conf"))
        if c.ok(os.path.isfile(xmconf), "xm.conf installed in sysconfdir/xend"):
            with open(xmconf) as f:
                active = [l for l in f if l.strip() and not l.lstrip().startswith("#")]
            c.ok(not active, "xm.conf has every setting commented out", "".join(active))

        # -- the systemd unit --
        unit = d(os.path.join(unitdir, "xend.service"))
        if c.ok(os.path.isfile(unit), f"xend.service installed in {unitdir}"):
            check_unit(c, unit, os.path.join(source, "data", "xend.service.in"), tmp, dest,
                       d, sbindir, d(mandir))

        # -- bash completion --
        comp = d(os.path.join(datadir, "bash-completion", "completions", "xm"))
        if c.ok(os.path.isfile(comp), "bash completion installed as "
                "datadir/bash-completion/completions/xm") and shutil.which("bash"):
            r = run(["bash", "-n", comp])
            c.ok(r.returncode == 0, "the completion script parses", r.stdout)

        # -- translations: only once a po/ directory exists in the source tree --
        po = os.path.join(source, "po")
        langs = []
        if os.path.isdir(po):
            linguas = os.path.join(po, "LINGUAS")
            if os.path.isfile(linguas):
                with open(linguas) as f:
                    langs = [w for l in f for w in l.split("#")[0].split()]
            else:
                langs = [os.path.basename(p)[:-3] for p in glob.glob(os.path.join(po, "*.po"))]
            for lang in langs:
                mo = d(os.path.join(localedir, lang, "LC_MESSAGES", "xm.mo"))
                ok = os.path.isfile(mo)
                if ok:
                    with open(mo, "rb") as f:
                        ok = f.read(4) in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")
                c.ok(ok, f"message catalogue {lang}/LC_MESSAGES/xm.mo installed in localedir")
        else:
            c.note("no po/ in the source tree: message catalogues not checked")

        # -- xm (conditional: only once src/xm is in the build) --
        if os.path.exists(os.path.join(build, "src", "xm", "xm")):
            check_xm(c, d, build, bindir, libdir, localedir, xmconf, langs)
        else:
            c.note("the build tree has no src/xm/xm yet: the installed xm is not checked")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{c.failed} check(s) failed" if c.failed else "all checks passed", flush=True)
    return 1 if c.failed else 0


def compile_against(c, flags, tmp, dlibdir, opts):
    """Build and run a client of the installed libxend with the pkg-config flags only."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if flags is None:
        return
    if not cc:
        c.note("no C compiler: compiling against the installed libxend is not checked")
        return
    src = os.path.join(tmp, "client.c")
    exe = os.path.join(tmp, "client")
    with open(src, "w") as f:
        f.write(r"""
#include <xend/xend.h>
#include <xend/xmlrpc/value.h>
#include <stdio.h>
int main(void)
{
    xmlrpc_value *v = xmlrpc_string("x");
    xmlrpc_value_free(v);
    xend_conn *c = xend_open("unix:///nonexistent/xend-install-test.sock");
    if (c)
        return 2;
    printf("%d %s\n", xend_last_error(NULL)->code, xend_last_error(NULL)->name);
    return 0;
}
""")
    extra = []
    if opts.get("b_sanitize", "none") not in ("none", ""):
        # An instrumented libxend needs the sanitizer runtime in the program.
        extra = ["-fsanitize=" + opts["b_sanitize"]]
    r = run(cc.split() + ["-std=gnu11", "-Wall", "-Werror", src, "-o", exe] + flags + extra)
    if not c.ok(r.returncode == 0, "a client compiles and links with the installed "
                "headers and pkg-config flags alone", r.stdout):
        return
    env = dict(os.environ, LD_LIBRARY_PATH=dlibdir)
    r = run([exe], env=env)
    c.ok(r.returncode == 0 and r.stdout.split()[:2] == ["12", "SYSTEM"],
         "it runs against the installed libxend (xend_open fails with SYSTEM)", r.stdout)


def check_unit(c, unit, template, tmp, dest, d, sbindir, dmandir):
    with open(unit) as f:
        text = f.read()
    left = re.findall(r"@[A-Za-z_]+@", text)
    c.ok(not left, "xend.service has no unsubstituted @...@", " ".join(left))
    # meson replaces a variable missing from the configuration data with "" (and only
    # warns), so also match each templated line: every @var@ became a non-empty absolute
    # path.
    with open(template) as f:
        tlines = f.read().splitlines()
    ulines = text.splitlines()
    bad = []
    for tl, ul in zip(tlines, ulines):
        if not re.search(r"@[A-Za-z_]+@", tl):
            continue
        pattern = r"(/\S*)".join(re.escape(part) for part in re.split(r"@[A-Za-z_]+@", tl))
        if not re.fullmatch(pattern, ul):
            bad.append(ul)
    c.ok(len(tlines) == len(ulines) and not bad,
         "every @var@ of xend.service.in became an absolute path", "; ".join(bad))
    m = re.search(r"^ExecStart=(\S+)", text, re.M)
    exe = m.group(1) if m else ""
    c.ok(exe == os.path.join(sbindir, "xend") and os.access(d(exe), os.X_OK),
         "ExecStart= names the installed xend", exe)
    for path in re.findall(r"^ReadWritePaths=(.*)$", text, re.M)[:1]:
        for p in path.split():
            p = p.lstrip("-")
            c.ok(os.path.isdir(d(p)), f"ReadWritePaths={p} exists after install")
    sa = shutil.which("systemd-analyze")
    if not sa:
        c.note("systemd-analyze not found: xend.service is not verified")
        return
    # Verify a copy whose paths point into DESTDIR (verify checks that the binary exists),
    # with the man pages looked up in DESTDIR too (verify checks Documentation=man:...).
    copy = os.path.join(tmp, "xend.service")
    with open(copy, "w") as f:
        f.write(re.sub(r"^(ExecStart=)(\S+)", lambda m: m.group(1) + d(m.group(2)), text,
                       flags=re.M))
    env = dict(os.environ, MANPATH=dmandir + ":", SYSTEMD_LOG_LEVEL="warning")
    r = run([sa, "verify", copy], env=env)
    # Lines about other units on the host (systemd-analyze loads the default target's
    # dependencies) are not ours.
    ours = [l for l in r.stdout.splitlines() if "xend.service" in l]
    c.ok(r.returncode == 0 and not ours, "systemd-analyze verify xend.service", r.stdout)


def check_xm(c, d, build, bindir, libdir, localedir, xmconf, langs):
    xm = d(os.path.join(bindir, "xm"))
    if not c.ok(os.access(xm, os.X_OK), f"xm installed in bindir ({bindir})"):
        return
    env = dict(os.environ, LD_LIBRARY_PATH=d(libdir), XM_CONFIG_FILE=xmconf,
               XM_SERVER="unix:///nonexistent/xend-install-test.sock")
    for k in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "XM_LOCALEDIR"):
        env.pop(k, None)
    env["LANG"] = "C"
    r = run([xm, "--help"], env=env)
    c.ok(r.returncode == 0 and "Usage: xm" in r.stdout,
         "installed xm --help runs against the installed libxend", r.stdout)
    # The installed (all commented) xm.conf is accepted: the failure is the connection.
    r = run([xm, "list"], env=env)
    c.ok(r.returncode == 1 and "Unable to connect to xend" in r.stdout,
         "installed xm with the installed xm.conf gets as far as connecting", r.stdout)
    if shutil.which("readelf"):
        r = run(["readelf", "-d", xm])
        bad = [l for l in r.stdout.splitlines()
               if ("RPATH" in l or "RUNPATH" in l)
               and (os.path.realpath(build) in l or "src/lib" in l)]
        c.ok(not bad, "installed xm carries no RPATH/RUNPATH into the build tree",
             "\n".join(bad))
    for lang in langs:
        env2 = dict(env, LANGUAGE=lang, XM_LOCALEDIR=d(localedir))
        r = run([xm, "help"], env=env2)
        c.ok(r.returncode == 0, f"xm help with LANGUAGE={lang} and the installed catalogue",
             r.stdout)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
