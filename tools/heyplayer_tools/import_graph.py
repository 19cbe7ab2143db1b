#!/usr/bin/env python3
"""The module import graph of a Rust crate, and its cycles (issue 30).

Usage (from the checkout; standard library only, no venv needed):
    PYTHONPATH=tools python3 -m heyplayer_tools.import_graph [SRC_DIR] [--files] [--dot]

Each `.rs` file under SRC_DIR is one module (`a/mod.rs` and `a.rs` are `a`).
An edge A -> B means A's non-test code names `crate::B...` or `super::...`
resolving to B (a `use` or a path in code), B not being A or inside A.
Test code (`#[cfg(test)]` items and `mod tests`) is left out, and so are
`mod x;` declarations (a parent declaring a child is not an import).

By default the graph is between top-level modules (`asr`, `wake`, ...) plus
their submodules' edges to siblings; `--files` prints every file-level edge.
Prints the cycles (strongly connected components of more than one module)
and the upward imports (a module naming one declared after it in lib.rs,
whose `pub mod` order is the layering), and exits 1 if there is any, 0
otherwise.
"""
import re
import sys
from pathlib import Path


def module_name(src: Path, f: Path) -> str:
    parts = list(f.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"]:
        return "crate"
    return "::".join(parts)


def strip_tests(text: str) -> str:
    """Removes `#[cfg(test)]` items (a following block or line) and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    while True:
        m = re.search(r"#\[cfg\(test\)\]", text[i:])
        if not m:
            out.append(text[i:])
            break
        start = i + m.start()
        out.append(text[i:start])
        j = i + m.end()
        # The item runs to its matching close brace, or to `;` if none opens first.
        brace, semi = text.find("{", j), text.find(";", j)
        if brace == -1 or (semi != -1 and semi < brace):
            i = semi + 1
            continue
        depth, k = 0, brace
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    return "".join(out)


def paths_in(text: str):
    """Every `crate::...` / `super::...` path, with `use` groups expanded."""
    # use crate::{a, b::{c, d}}; -> crate::a, crate::b::c, crate::b::d
    def expand(prefix, body):
        items, depth, cur = [], 0, ""
        for ch in body:
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            cur += ch
        items.append(cur)
        for it in items:
            it = it.strip()
            if not it:
                continue
            m = re.match(r"([\w:]*?)::\{(.*)\}$", it, re.S)
            if m:
                yield from expand(prefix + "::" + m.group(1), m.group(2))
            else:
                yield prefix + "::" + it.split(" as ")[0].strip()

    for m in re.finditer(r"\buse\s+((?:crate|super)(?:::super)*)::\{(.*?)\};", text, re.S):
        yield from expand(m.group(1), m.group(2))
    for m in re.finditer(r"\b((?:crate|super)(?:::super)*(?:::\w+)+)", text):
        yield m.group(1)


def resolve(path: str, here: str, modules: set, is_dir_module: bool) -> str | None:
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    else:
        base = here.split("::") if here != "crate" else []
        # In `a/b.rs` (module a::b), `super` is `a`; in `a/mod.rs` it is a's parent.
        rest = parts
        while rest and rest[0] == "super":
            base = base[:-1]
            rest = rest[1:]
    best = None
    for n in range(len(rest) + 1):
        cand = "::".join(base + rest[:n]) or "crate"
        if cand in modules:
            best = cand
    return best


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    files_level = "--files" in sys.argv
    src = Path(args[0] if args else "src")
    # src/main.rs and src/bin/ are binaries: other crates, which use the library by name.
    files = sorted(
        p
        for p in src.rglob("*.rs")
        if "bin" not in p.relative_to(src).parts[:1] and p.relative_to(src) != Path("main.rs")
    )
    modules = {module_name(src, f): f for f in files}
    # Modules declared only for tests (`#[cfg(test)] mod golden;`) are test code.
    for name, f in list(modules.items()):
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", f.read_text()):
            child = m.group(1) if name == "crate" else f"{name}::{m.group(1)}"
            modules.pop(child, None)
    names = set(modules)
    # `pub use a::B;` in lib.rs: `crate::B` is module a's.
    lib = modules.get("crate")
    reexports = {}
    if lib is not None:
        for m in re.finditer(r"pub use (\w+)::(\w+);", lib.read_text()):
            reexports[m.group(2)] = m.group(1)
    edges = set()
    for name, f in modules.items():
        text = strip_tests(f.read_text())
        for p in paths_in(text):
            parts = p.split("::")
            if parts[0] == "crate" and len(parts) > 1 and parts[1] in reexports:
                p = "crate::" + reexports[parts[1]]
            tgt = resolve(p, name, names, f.name == "mod.rs")
            if tgt is None or tgt == name or tgt == "crate":
                continue
            if tgt.startswith(name + "::") or name == "crate":
                continue  # a parent naming its own child: no cycle through it
            edges.add((name, tgt))
    if not files_level:
        # Collapse to top-level modules, but keep edges inside one top-level
        # module between its own submodules (context::net -> context::yamnet).
        col = set()
        for a, b in edges:
            ta, tb = a.split("::")[0], b.split("::")[0]
            if ta != tb:
                col.add((ta, tb))
            else:
                col.add((a, b))
        edges = col
    nodes = sorted({x for e in edges for x in e} | ({n.split("::")[0] for n in names} if not files_level else names))
    adj = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj.get(v, []):
            if w not in index:
                strong(w)
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
            sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            strong(v)
    if "--dot" in sys.argv:
        print("digraph imports {")
        for a, b in sorted(edges):
            print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    for n in nodes:
        if adj[n]:
            print(f"{n} -> {', '.join(adj[n])}")
    cycles = [c for c in sccs if len(c) > 1]
    print()
    # Layers: the order of `pub mod` in lib.rs; a module may import only
    # modules declared before it.
    order = re.findall(r"^pub mod (\w+);", lib.read_text(), re.M) if lib is not None else []
    rank = {m: i for i, m in enumerate(order)}
    upward = sorted(
        (a, b)
        for a, b in edges
        if a.split("::")[0] in rank
        and b.split("::")[0] in rank
        and rank[a.split("::")[0]] < rank[b.split("::")[0]]
    )
    for a, b in upward:
        print(f"upward import: {a} -> {b} (declared after it in lib.rs)")
    if not cycles and not upward:
        print(f"no import cycle, no upward import ({len(nodes)} modules, {len(edges)} edges;"
              f" layers: {' < '.join(order)})")
        return 0
    for c in cycles:
        inner = sorted((a, b) for a, b in edges if a in c and b in c)
        print(f"cycle: {' <-> '.join(c)}")
        for a, b in inner:
            print(f"    {a} -> {b}")
    print(f"{len(cycles)} import cycle(s), {len(upward)} upward import(s)"
          f" ({len(nodes)} modules, {len(edges)} edges)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
