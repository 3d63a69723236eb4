#!/usr/bin/env python3
"""Fails when two of berth's top-level modules (src/<module>/ or src/<module>.rs) import each
other, directly or round a loop: the layers in ARCHITECTURE.md go one way. Test code (from a
`#[cfg(test)]` line to the end of its file) and comments (doc links) are not counted: protocol's tests borrow the
services' models. Run by scripts/test."""
import pathlib
import re
import sys

src = pathlib.Path(__file__).resolve().parent.parent / "src"
edges = {}
for path in src.rglob("*.rs"):
    rel = path.relative_to(src)
    module = rel.parts[0].removesuffix(".rs")
    if module in ("lib", "main"):
        continue
    text = path.read_text()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    for other in re.findall(r"\bcrate::([a-z_]+)", code):
        if other != module:
            edges.setdefault(module, {}).setdefault(other, str(rel))

def cycle_from(start):
    """A path start -> ... -> start, if there is one."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, {}):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None

found = set()
for module in sorted(edges):
    loop = cycle_from(module)
    if loop:
        key = frozenset(loop)
        if key in found:
            continue
        found.add(key)
        steps = [f"{a} -> {b} ({edges[a][b]})" for a, b in zip(loop, loop[1:])]
        print("import cycle between top-level modules:\n  " + "\n  ".join(steps))
for module in sorted(edges):
    print(f"{module}: {', '.join(sorted(edges[module]))}")
sys.exit(1 if found else 0)
