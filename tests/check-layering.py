#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The folders of skillbox are layers, and the files inside one do not call each other in a
circle. This test checks both on the built objects, not on #include lines: what an object
file really uses is what the linker sees.

From each folder's static library, `nm` gives every object's defined and undefined global
symbols. An object that leaves a symbol undefined which another object of the project
defines uses that object: an edge "a.c -> b.c" of the file-level call graph (data symbols
count too). Two checks, one TAP line each:

  1. no cycle between the .c files of the folders named by --cycles-in: each strongly
     connected component of more than one file is printed as one concrete cycle, with the
     symbols on each edge;
  2. no folder uses a folder after it in the layer order (--layer arguments are given in
     meson's subdir order): an object of folder X referencing a symbol defined in a later
     folder is printed with the symbol.

    check-layering.py --nm nm --cycles-in launcher,seccomp \\
        --layer common=build/common/libcommon.a ... --layer launcher=build/launcher/liblauncher.a
    check-layering.py --self-test --cc cc --ar ar --nm nm

--self-test proves that the checks catch what they are meant to: it runs the graph code on
made-up graphs (a cycle of three files, an acyclic graph, a layer violation), and then builds
two tiny libraries with the C compiler whose files call each other in a circle and across
layers the wrong way, and checks that both are reported from their objects.
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile

# nm's symbol types: these are undefined (U, and weak undefined w/v); every other uppercase
# type (and 'u', GNU unique) is a global definition. Lowercase types are local to the object.
UNDEFINED = {"U", "w", "v"}


def is_global_definition(kind):
    return kind not in UNDEFINED and (kind.isupper() or kind == "u")


class Graph:
    """Files (folder/name.c) with the folder they belong to and the symbols between them."""

    def __init__(self):
        self.folder = {}  # file -> folder
        self.defines = {}  # symbol -> set of files
        self.uses = {}  # file -> set of undefined symbols

    def add_file(self, folder, name):
        f = f"{folder}/{name}"
        self.folder[f] = folder
        self.uses.setdefault(f, set())
        return f

    def define(self, f, sym):
        self.defines.setdefault(sym, set()).add(f)

    def use(self, f, sym):
        self.uses[f].add(sym)

    def edges(self):
        """{a: {b: [symbols a uses from b]}}, a != b."""
        out = {f: {} for f in self.folder}
        for a, syms in self.uses.items():
            for s in sorted(syms):
                for b in sorted(self.defines.get(s, ())):
                    if b != a:
                        out[a].setdefault(b, []).append(s)
        return out


def read_archive(graph, folder, archive, nm):
    """Adds every object of a static library (thin or not) to the graph."""
    res = subprocess.run(
        shlex.split(nm) + ["-A", "-P", archive], capture_output=True, text=True, check=True
    )
    for line in res.stdout.splitlines():
        # "lib.a[member.o]: symbol T value size" (or "lib.a:member.o: ..." for some nm).
        head, sep, rest = line.partition(": ")
        if not sep:
            continue
        fields = rest.split()
        if len(fields) < 2:
            continue
        sym, kind = fields[0], fields[1]
        if head.endswith("]") and "[" in head:
            member = head[head.rindex("[") + 1 : -1]
        else:
            member = head.rsplit(":", 1)[-1]
        name = os.path.basename(member)
        if name.endswith(".o"):
            name = name[:-2]
        f = graph.add_file(folder, name)
        if kind in UNDEFINED:
            graph.use(f, sym)
        elif is_global_definition(kind):
            graph.define(f, sym)


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative; returns the components of more than one node."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in nodes:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, {})))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return comps


def one_cycle(comp, edges):
    """A concrete cycle through the first file of a strongly connected component."""
    members = set(comp)
    start = comp[0]
    # Breadth-first from start back to start, inside the component: the shortest cycle.
    prev = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, {})):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp + [start]  # not reached: a component always has a cycle


def find_cycles(graph, folders):
    """Cycles between files of the given folders, each as [f0, f1, ..., f0]."""
    edges = graph.edges()
    nodes = {f for f, d in graph.folder.items() if d in folders}
    comps = strongly_connected(nodes, edges)
    return [(c, one_cycle(c, edges)) for c in comps], edges


def find_upward(graph, order):
    """(file, symbol, defining file) for each use of a later folder's symbol."""
    rank = {d: i for i, d in enumerate(order)}
    bad = []
    for a, targets in graph.edges().items():
        for b, syms in targets.items():
            if rank[graph.folder[b]] > rank[graph.folder[a]]:
                bad.extend((a, s, b) for s in syms)
    return sorted(bad)


def describe_cycle(comp, cycle, edges):
    lines = [f"{len(comp)} files call each other: {' '.join(comp)}", "cycle: " + " -> ".join(cycle)]
    for a, b in zip(cycle, cycle[1:]):
        syms = edges[a][b]
        more = f" (+{len(syms) - 4} more)" if len(syms) > 4 else ""
        lines.append(f"  {a} -> {b}: {', '.join(syms[:4])}{more}")
    return lines


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=()):
        self.n += 1
        print(f"{'' if cond else 'not '}ok {self.n} - {name}")
        if not cond:
            for line in diag:
                print(f"# {line}")
            self.failed += 1
        sys.stdout.flush()
        return cond

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0


def check(graph, order, cycle_folders, tap):
    n_refs = sum(len(t) for t in graph.edges().values())
    tap.ok(
        n_refs > 0,
        f"nm read {len(graph.folder)} objects with {n_refs} references between them",
        ["no references at all: the objects have no symbol table nm can read (LTO?)"],
    )
    cycles, edges = find_cycles(graph, cycle_folders)
    diag = []
    for comp, cycle in cycles:
        diag += describe_cycle(comp, cycle, edges)
    n_files = sum(1 for d in graph.folder.values() if d in cycle_folders)
    tap.ok(
        not cycles,
        f"no cycle between the {n_files} .c files of {', '.join(f + '/' for f in cycle_folders)}",
        diag,
    )
    upward = find_upward(graph, order)
    tap.ok(
        not upward,
        f"no folder uses a folder after it ({' -> '.join(order)})",
        [f"{a} uses {s} from {b}, a later layer" for a, s, b in upward],
    )
    return cycles, upward


# --- self-test -------------------------------------------------------------------------------


def synthetic(spec):
    """spec: {folder/file: (folder, [symbols it defines], [symbols it uses])}"""
    g = Graph()
    for name, (folder, defs, uses) in spec.items():
        f = g.add_file(folder, name.split("/", 1)[1])
        for s in defs:
            g.define(f, s)
        for s in uses:
            g.use(f, s)
    return g


def self_test(args, tap):
    quiet = Tap.__new__(Tap)
    quiet.n = quiet.failed = 0
    quiet.ok = lambda cond, name, diag=(): cond

    # A cycle of three files, and one file outside it that only uses them.
    g = synthetic(
        {
            "launcher/a.c": ("launcher", ["a"], ["b", "printf"]),
            "launcher/b.c": ("launcher", ["b"], ["c"]),
            "launcher/c.c": ("launcher", ["c", "c2"], ["a"]),
            "launcher/d.c": ("launcher", ["d"], ["a", "c2"]),
            "common/x.c": ("common", ["x"], []),
        }
    )
    cycles, upward = check(g, ["common", "launcher"], ["launcher"], quiet)
    cycles = [c for _, c in cycles]
    tap.ok(
        cycles == [["launcher/a.c", "launcher/b.c", "launcher/c.c", "launcher/a.c"]],
        "self-test: a cycle of three files is found, as a -> b -> c -> a",
        [f"got {cycles}"],
    )
    tap.ok(not upward, "self-test: ... and that graph has no layer violation")

    # Two separate cycles, one of them a pair; and an acyclic chain.
    g = synthetic(
        {
            "seccomp/p.c": ("seccomp", ["p"], ["q"]),
            "seccomp/q.c": ("seccomp", ["q"], ["p"]),
            "launcher/r.c": ("launcher", ["r"], ["s", "p"]),
            "launcher/s.c": ("launcher", ["s"], ["r"]),
            "launcher/t.c": ("launcher", ["t"], ["r"]),
        }
    )
    cycles, _ = find_cycles(g, ["launcher", "seccomp"])
    cycles = [c for _, c in cycles]
    tap.ok(
        sorted(cycles)
        == [
            ["launcher/r.c", "launcher/s.c", "launcher/r.c"],
            ["seccomp/p.c", "seccomp/q.c", "seccomp/p.c"],
        ],
        "self-test: two cycles are reported apart",
        [f"got {cycles}"],
    )
    cycles, _ = find_cycles(g, ["launcher"])
    cycles = [c for _, c in cycles]
    tap.ok(
        cycles == [["launcher/r.c", "launcher/s.c", "launcher/r.c"]],
        "self-test: only the folders asked for are checked for cycles",
        [f"got {cycles}"],
    )
    g = synthetic(
        {
            "launcher/a.c": ("launcher", ["a"], ["b"]),
            "launcher/b.c": ("launcher", ["b"], ["c"]),
            "launcher/c.c": ("launcher", [], ["x"]),
            "common/x.c": ("common", ["x"], []),
        }
    )
    cycles, upward = check(g, ["common", "launcher"], ["launcher"], quiet)
    tap.ok(not cycles and not upward, "self-test: a chain a -> b -> c -> common is clean")

    # A lower folder using a later one.
    g = synthetic(
        {
            "audit/w.c": ("audit", ["w"], ["run_note_refusal"]),
            "launcher/cmd.c": ("launcher", ["run_note_refusal"], ["w"]),
        }
    )
    _, upward = check(g, ["audit", "launcher"], ["launcher"], quiet)
    tap.ok(
        upward == [("audit/w.c", "run_note_refusal", "launcher/cmd.c")],
        "self-test: audit/ using a symbol of launcher/ is a layer violation",
        [f"got {upward}"],
    )

    # The same from real objects: two libraries whose files call each other.
    sources = {
        ("lower", "l1.c"): "int up(void); int l1(void) { return up(); }\n",
        ("upper", "u1.c"): "int u2(void); int up(void) { return u2(); }\n",
        ("upper", "u2.c"): "int up(void); int u2(void) { return up(); }\n",
        ("upper", "u3.c"): "int up(void); int u3(void) { return up(); }\n",
    }
    with tempfile.TemporaryDirectory() as tmp:
        archives = {}
        for (folder, name), text in sources.items():
            d = os.path.join(tmp, folder)
            os.makedirs(d, exist_ok=True)
            src = os.path.join(d, name)
            with open(src, "w") as f:
                f.write(text)
            subprocess.run(
                shlex.split(args.cc) + ["-c", "-o", src + ".o", src], check=True, cwd=d
            )
            archives.setdefault(folder, []).append(src + ".o")
        g = Graph()
        for folder, objs in archives.items():
            lib = os.path.join(tmp, folder, f"lib{folder}.a")
            subprocess.run(shlex.split(args.ar) + ["rcs", lib] + objs, check=True)
            read_archive(g, folder, lib, args.nm)
        cycles, upward = check(g, ["lower", "upper"], ["lower", "upper"], quiet)
    cycles = [c for _, c in cycles]
    tap.ok(
        cycles == [["upper/u1.c", "upper/u2.c", "upper/u1.c"]],
        "self-test: nm on real objects finds the cycle u1.c <-> u2.c",
        [f"got {cycles}"],
    )
    tap.ok(
        upward == [("lower/l1.c", "up", "upper/u1.c")],
        "self-test: nm on real objects finds lower/l1.c using upper/'s up()",
        [f"got {upward}"],
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--ar", default="ar")
    ap.add_argument("--layer", action="append", default=[], metavar="FOLDER=ARCHIVE")
    ap.add_argument("--cycles-in", default="", help="comma-separated folders")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()

    tap = Tap()
    if args.self_test:
        self_test(args, tap)
        return tap.done()

    graph = Graph()
    order = []
    for spec in args.layer:
        folder, _, archive = spec.partition("=")
        order.append(folder)
        read_archive(graph, folder, archive, args.nm)
    cycle_folders = [f for f in args.cycles_in.split(",") if f]
    for f in cycle_folders:
        if f not in order:
            ap.error(f"--cycles-in {f}: not a --layer")
    check(graph, order, cycle_folders, tap)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
