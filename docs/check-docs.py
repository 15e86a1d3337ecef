#!/usr/bin/env python3
"""Check the checked-in docs against the ones generated from the tables, and the current
API listing against the released docs/api-1.0.list (methods are only ever added).

usage: check-docs.py DOCS_SRC_DIR GENERATED_API_MD GENERATED_ERRORS_MD GENERATED_LIST
Run `make docs` (or copy the generated files) to refresh docs/api.md and docs/errors.md.
"""
import os
import sys


def parse_list(path):
    methods = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, sig = line.partition(" ")
            if not sig:
                raise SystemExit(f"{path}:{n}: expected 'name signature'")
            methods[name] = set(s.strip() for s in sig.split("|"))
    return methods


def main(src, api_md, errors_md, gen_list):
    failed = 0
    for name, gen in (("api.md", api_md), ("errors.md", errors_md)):
        with open(os.path.join(src, name)) as a, open(gen) as b:
            if a.read() != b.read():
                print(f"FAIL: docs/{name} differs from the generated {gen}; "
                      f"copy it over (make docs)")
                failed += 1
            else:
                print(f"ok: docs/{name} matches the tables")
    released = parse_list(os.path.join(src, "api-1.0.list"))
    current = parse_list(gen_list)
    for name, sigs in sorted(released.items()):
        if name not in current:
            print(f"FAIL: {name} was released in API 1.0 and has disappeared")
            failed += 1
        elif not sigs <= current[name]:
            print(f"FAIL: {name} changed signature: released {sorted(sigs)}, "
                  f"now {sorted(current[name])}")
            failed += 1
    print(f"ok: {len(released)} released methods checked against {len(current)} current")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
