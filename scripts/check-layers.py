#!/usr/bin/env python3
"""Fails when berth's modules import each other round a loop: the layers in ARCHITECTURE.md go
one way. Checked at two levels:

- top-level modules (src/<module>/ or src/<module>.rs);
- the files inside each folder, among siblings and their children (a file imports a sibling
  through `super::x`, `crate::a::x` or a `use` group). A folder's mod.rs is its facade: its
  children may use what it defines, as Rust's module tree has them do, and it is not counted as
  one of them.

Test code (from a `#[cfg(test)]` line to the end of its file) and comments (doc links) are not
counted: protocol's tests borrow the services' models. Run by scripts/test."""
import pathlib
import re
import sys

src = pathlib.Path(__file__).resolve().parent.parent / "src"

# Every module, by its path (("services", "ecs", "launch") for src/services/ecs/launch.rs).
modules = {}
for path in src.rglob("*.rs"):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        continue
    modules[tuple(parts)] = path


def code_of(path):
    text = path.read_text()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def named(module, path):
    """The paths `crate::...` and `super::...` in `module`'s code name, groups expanded."""
    own = list(module) if path.name == "mod.rs" else list(module[:-1])
    for m in re.finditer(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)(::\{([^}]*)\})?", code_of(path)):
        base = [] if m.group(1) == "crate" else (own[:-1] if path.name == "mod.rs" else own)
        rest = [p for p in m.group(2).split("::") if p]
        yield base + rest
        for item in (m.group(4) or "").split(","):
            item = item.strip().split(" as ")[0]
            if item and item != "self":
                yield base + rest + [p for p in item.split("::") if p]


def resolve(path):
    """The deepest module a path names (a module, or an item of one)."""
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in modules:
            return tuple(path[:n])
    return None


top, files = {}, {}
for module, path in modules.items():
    for target in filter(None, map(resolve, named(module, path))):
        if target[0] != module[0]:
            top.setdefault(module[0], {}).setdefault(target[0], str(path.relative_to(src)))
            continue
        # Within one top-level module: from a file to a sibling (or a sibling's child), not to
        # an ancestor (the facade) nor into its own children.
        common = 0
        while common < min(len(module), len(target)) and module[common] == target[common]:
            common += 1
        if common == len(target) or common == len(module):
            continue
        a, b = module[: common + 1], target[: common + 1]
        files.setdefault(a, {}).setdefault(b, str(path.relative_to(src)))


def cycles(edges, name):
    found, out = set(), []
    for start in sorted(edges):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges.get(node, {}):
                if nxt == start:
                    loop = trail + [start]
                    if frozenset(loop) not in found:
                        found.add(frozenset(loop))
                        steps = [f"{name(a)} -> {name(b)} ({edges[a][b]})" for a, b in zip(loop, loop[1:])]
                        out.append("\n  ".join(steps))
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    return out


bad = cycles(top, str) + cycles(files, "/".join)
for loop in bad:
    print("import cycle:\n  " + loop)
for module in sorted(top):
    print(f"{module}: {', '.join(sorted(top[module]))}")
print(f"{sum(len(v) for v in files.values())} imports between files inside modules; {len(bad)} cycles")
sys.exit(1 if bad else 0)
