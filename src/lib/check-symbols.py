#!/usr/bin/env python3
"""Check that libxend.so exports exactly the functions its installed headers declare, all
under the version node XEND_0.1: nothing internal (util, xmlrpc codec, lib_*) leaks out, and
nothing documented is missing (a function added to a header without reaching libxend.sym,
or a method whose typed function was not generated).

usage: check-symbols.py LIBXEND.SO HEADER...
"""
import re
import shutil
import subprocess
import sys

VERSION = "XEND_0.1"


def declared_functions(path):
    """Names of the functions a C header declares (top-level prototypes)."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"#ifdef __cplusplus.*?#endif", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    decls, cur, depth = [], [], 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == ";" and depth == 0:
            decls.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    names = set()
    for d in decls:
        d = " ".join(d.split())
        if not d or d.startswith("typedef") or "{" in d or "static " in d:
            continue
        m = re.search(r"(\w+)\s*\(", d)
        if m:
            names.add(m.group(1))
    return names


def exported_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    syms, bad_version = set(), []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # the version node itself
            continue
        name, _, version = name.partition("@")
        version = version.lstrip("@")
        if version and version != VERSION:
            bad_version.append(f"{name}@{version}")
        syms.add(name)
    return syms, bad_version


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, headers = argv[1], argv[2:]
    if not shutil.which("nm"):
        print("nm (binutils) is not installed: skipped")
        return 77
    want = set()
    for h in headers:
        want |= declared_functions(h)
    have, bad_version = exported_symbols(lib)
    ok = True
    if have - want:
        print("exported but not declared in the installed headers:",
              " ".join(sorted(have - want)))
        ok = False
    if want - have:
        print("declared in the installed headers but not exported:",
              " ".join(sorted(want - have)))
        ok = False
    if bad_version:
        print(f"not in version node {VERSION}:", " ".join(sorted(bad_version)))
        ok = False
    if not any(s.startswith("xend_domain_") for s in have):
        print("no typed functions exported")
        ok = False
    print(f"{len(have)} exported symbols, {len(want)} declared functions")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
