#!/usr/bin/env python3
"""Figures about the shape of the code (issue 17): the longest functions,
doc-comment ratio per module, `Result<_, String>` in reconcile, sleeps used
to wait in tests/it, file-level import cycles in src/, and imports that break
the edge rule. Usage: scripts/code_metrics.py [ROOT]"""

import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
EDGES = ["docker", "runner", "alert", "source", "store", "web", "workdir"]
STRICT = ["docker", "runner", "alert", "source", "store"]


def rust_files(base):
    for d, _, files in os.walk(base):
        for f in sorted(files):
            if f.endswith(".rs"):
                yield os.path.join(d, f)


def strip_tests(lines):
    """Lines before a trailing `#[cfg(test)] mod tests` block."""
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]") and i + 1 < len(lines) and lines[i + 1].startswith("mod "):
            return lines[:i]
    return lines


FN = re.compile(r"^(\s*)(pub(\([^)]*\))? )?(const )?(async )?(unsafe )?fn (\w+)")


def functions(path):
    lines = strip_tests(open(path).read().split("\n"))
    out = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i, len(lines)):
            if lines[j] == indent + "}" or (j == i and line.rstrip().endswith("}")):
                out.append((j - i + 1, m.group(7), path, i + 1))
                break
    return out


def cfg_test_modules():
    """Files declared as `#[cfg(test)] mod name;` (test helpers such as fakes)."""
    found = set()
    for root, _, names in os.walk(SRC):
        for n in names:
            if not n.endswith(".rs"):
                continue
            p = os.path.join(root, n)
            lines = open(p).read().split("\n")
            here = root if n in ("mod.rs", "lib.rs", "main.rs") else os.path.join(root, n[:-3])
            for a, b in zip(lines, lines[1:]):
                m = re.match(r"\s*(pub(\([a-z]+\))? )?mod (\w+);", b)
                if a.strip() == "#[cfg(test)]" and m:
                    found.add(os.path.join(here, m.group(3) + ".rs"))
    return found


TEST_MODULES = None


def is_test_file(path):
    global TEST_MODULES
    if TEST_MODULES is None:
        TEST_MODULES = cfg_test_modules()
    name = os.path.basename(path)
    return name == "tests.rs" or name.endswith("_tests.rs") or path in TEST_MODULES


def doc_ratio(files):
    doc = total = 0
    for p in files:
        if is_test_file(p):
            continue
        for line in strip_tests(open(p).read().split("\n")):
            s = line.strip()
            if not s:
                continue
            total += 1
            if s.startswith("///") or s.startswith("//!"):
                doc += 1
    return doc, total


def module_file(parts):
    """The file a `crate::a::b::c` path lives in (longest existing prefix)."""
    for n in range(len(parts), 0, -1):
        base = os.path.join(SRC, *parts[:n])
        if os.path.isfile(base + ".rs"):
            return base + ".rs"
        if os.path.isfile(os.path.join(base, "mod.rs")):
            return os.path.join(base, "mod.rs")
    return None


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


PATH = re.compile(r"\b(crate|super)((?:::\w+)+)(::\{([^}]*)\})?")


def imports(path):
    mod = module_of(path)
    is_mod = path.endswith("mod.rs") or path.endswith("lib.rs")
    text = "\n".join(strip_tests(open(path).read().split("\n")))
    text = re.sub(r"//.*", "", text)
    found = set()
    for m in PATH.finditer(text):
        head, rest, _, braces = m.group(1), m.group(2), m.group(3), m.group(4)
        segs = [s for s in rest.split("::") if s]
        while segs and segs[0] == "super":
            segs = segs[1:]
            head += "::super"
        if head == "crate":
            base = []
        else:
            ups = head.count("super")
            parent = mod if is_mod else mod[:-1]
            base = parent[: len(parent) - ups + 1] if ups else parent
            base = parent[: max(0, len(parent) - (ups - 1))]
        tails = [[]]
        if braces:
            tails = [[t.strip().split("::")[0]] for t in braces.split(",") if t.strip() and t.strip() != "self"] + [[]]
        for t in tails:
            f = module_file(base + segs + t)
            if f and f != path:
                found.add(f)
    return found


def cycles(graph):
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return sccs


def main():
    files = list(rust_files(SRC))
    rel = lambda p: os.path.relpath(p, ROOT)
    fns = sorted((f for p in files for f in functions(p)), reverse=True)
    print("## Longest functions (lines)")
    for n, name, p, line in fns[:10]:
        print(f"  {n:4}  {name}  {rel(p)}:{line}")
    print(f"  functions over 80 lines: {sum(1 for f in fns if f[0] > 80)}")
    print("## Doc comments / non-blank lines (outside test modules)")
    mods = sorted({module_of(p)[0] for p in files if module_of(p)})
    for m in mods:
        mf = [p for p in files if module_of(p) and module_of(p)[0] == m]
        d, t = doc_ratio(mf)
        print(f"  {m:10} {100 * d / max(t, 1):5.1f} %  ({d}/{t})")
    d, t = doc_ratio(files)
    print(f"  {'all':10} {100 * d / max(t, 1):5.1f} %")
    strings = 0
    for p in rust_files(os.path.join(SRC, "reconcile")):
        strings += len(re.findall(r"Result<[^;{]*?,\s*String>", open(p).read()))
    print(f"## Result<_, String> in src/reconcile: {strings}")
    sleeps = 0
    for p in rust_files(os.path.join(ROOT, "tests", "it")):
        if os.sep + "support" + os.sep in p:
            continue
        for line in open(p):
            if re.search(r"\bsleep\(", line) and '"' not in line:
                sleeps += 1
    print(f"## sleep( used to wait in tests/it (outside support/): {sleeps}")
    graph = {p: imports(p) for p in files}
    print("## File cycles in src/")
    found = cycles(graph)
    for c in found:
        print("  " + " <-> ".join(rel(p) for p in c))
    print(f"  cycles: {len(found)}")
    print("## Edge modules importing other edges or plan")
    bad = 0
    for p, deps in sorted(graph.items()):
        m = module_of(p)
        if not m or m[0] not in STRICT:
            continue
        for d in sorted(deps):
            dm = module_of(d)[0]
            if dm != m[0] and (dm in EDGES or dm in ("plan", "reconcile")):
                print(f"  {rel(p)} -> {rel(d)}")
                bad += 1
    print(f"  violations: {bad}")


main()
