#!/usr/bin/env python3
"""Checks the module layering of src/ (DESIGN.md, "Layers"). Run by CI; exits non-zero on a breach.

A top module is `src/<name>.rs` or `src/<name>/`. Each belongs to one layer:

    foundation  error, clock, requirement, roles
    tokens      keys, claims, jws, issue, verify
    state       store, password, sessions
    web         web                     (the only layer that may import axum, http, tower)
    routes      login                   (ready routes over web)
    tools       cli, testing

Checked, in the non-test code of every file (a file's trailing `#[cfg(test)] mod ...` is skipped):
1. a module imports only from its own layer or the layers below it (`crate::x` paths and
   `use crate::{x, ...}` groups; names imported through the crate root are resolved with lib.rs's
   `pub use` list, so a root re-export cannot hide an upward arrow);
2. no import cycle between top modules, inside a layer either;
3. only `web`, `login` and `cli` name `axum`, `http::`/`use http`, `tower`;
4. no source file (outside src/bin) over MAX_CODE_LINES code lines (blank and `//` lines not
   counted).
A top module missing from the table is an error too: a new module must be given its layer.

Usage: scripts/check-layers.py [SRC_DIR]   (default: src next to this script's directory)
"""

import os
import re
import sys

LAYERS = [
    ("foundation", ["error", "clock", "requirement", "roles"]),
    ("tokens", ["keys", "claims", "jws", "issue", "verify"]),
    ("state", ["store", "password", "sessions"]),
    ("web", ["web"]),
    ("routes", ["login"]),
    ("tools", ["cli", "testing"]),
]
HTTP_LAYERS = {"web", "routes", "tools"}
MAX_CODE_LINES = 500

LEVEL = {}
LAYER_OF = {}
for level, (layer, modules) in enumerate(LAYERS):
    for module in modules:
        LEVEL[module] = level
        LAYER_OF[module] = layer

TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*\{")
HTTP_CRATE = re.compile(r"\b(?:axum(?:_extra)?|tower(?:_http)?)::|\buse\s+http\b|\bhttp::")


def top_module(src, path):
    rel = os.path.relpath(path, src).replace(os.sep, "/")
    if rel in ("lib.rs", "main.rs") or rel.startswith("bin/"):
        return None
    return rel.split("/")[0].removesuffix(".rs")


def code_of(text):
    """The text without the trailing test module (tests live at the end of a file by convention)."""
    cut = TEST_MODULE.search(text)
    return text[: cut.start()] if cut else text


def strip_comments(code):
    """Removes `//` comments (doc comments included), keeping line structure."""
    return "\n".join(re.sub(r"//.*$", "", line) for line in code.splitlines())


def root_reexports(src):
    """Name re-exported at the crate root → the top module it comes from."""
    lib = strip_comments(open(os.path.join(src, "lib.rs"), encoding="utf-8").read())
    names = {}
    for module, group in re.findall(r"pub use\s+([a-z_][a-z0-9_]*)::\{?([^;]*?)\}?;", lib, re.S):
        for name in re.findall(r"\b(\w+)\b", group):
            names.setdefault(name, module)
    return names


def imports(code, reexports):
    """The top modules a file's code names through `crate::`."""
    found = set()
    for name in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)\b", code):
        found.add(name)
    for group in re.findall(r"\buse\s+crate::\{([^;]*)\};", code, re.S):
        # Only the first segment of each path in the group: `a::b`, `c`, `D` (a root name).
        depth = 0
        segment_start = True
        for token in re.findall(r"::|[{},]|\w+", group):
            if token == "{":
                depth += 1
                segment_start = True
            elif token == "}":
                depth -= 1
            elif token == ",":
                segment_start = depth == 0
            elif token == "::":
                segment_start = False
            elif segment_start and depth == 0:
                found.add(reexports.get(token, token) if token[:1].isupper() else token)
                segment_start = False
    for name in re.findall(r"\buse\s+crate::([A-Z]\w*)", code):
        found.add(reexports.get(name, name))
    return found


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    reexports = root_reexports(src)
    graph = {}
    problems = []
    files = 0
    for root, _, names in os.walk(src):
        for name in sorted(names):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            files += 1
            code = strip_comments(code_of(open(path, encoding="utf-8").read()))
            lines = sum(1 for line in code.splitlines() if line.strip())
            if lines > MAX_CODE_LINES and not rel.startswith("bin"):
                problems.append(f"{rel}: {lines} code lines (at most {MAX_CODE_LINES})")
            module = top_module(src, path)
            if module is None:
                continue
            if module not in LEVEL:
                problems.append(f"{rel}: top module `{module}` has no layer in scripts/check-layers.py")
                continue
            if LAYER_OF[module] not in HTTP_LAYERS and HTTP_CRATE.search(code):
                problems.append(f"{rel}: layer {LAYER_OF[module]} names axum/http/tower")
            for target in imports(code, reexports):
                if target == module or target not in LEVEL:
                    continue
                graph.setdefault(module, set()).add(target)
                if LEVEL[target] > LEVEL[module]:
                    problems.append(
                        f"{rel}: {module} ({LAYER_OF[module]}) imports {target} ({LAYER_OF[target]}), a layer above"
                    )
    for component in cycles(graph):
        problems.append("import cycle between " + ", ".join(component))
    arrows = sum(len(v) for v in graph.values())
    for problem in problems:
        print(problem)
    print(f"{files} files, {len(graph)} importing top modules, {arrows} arrows, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
