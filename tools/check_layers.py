#!/usr/bin/env python3
"""check_layers.py: the module layering, checked (run by CTest as `layers`).

Every folder is a module; a module may include only the modules below it, as
listed in LAYERS. Every project include is written from the repository root
("model/model.h"), never relative. The script fails, naming the file and line,
on an include that points up or sideways, on a relative or unknown include, and
on a cycle in the folder graph; with --graph it prints the graph (folder ->
folders it includes) as the README and closing notes show it.
"""
import os
import re
import sys

# module -> modules it may include (besides itself). Keep in step with README's "Layout".
LAYERS = {
    "core": [],
    "embeddings": ["core"],
    "tasks": ["core"],
    "plot": ["core"],
    "model": ["core", "embeddings"],
    "eval": ["core", "embeddings", "model", "tasks"],
    "run": ["core", "embeddings", "model", "tasks", "eval", "plot"],
    "probes": ["core", "embeddings", "model", "tasks", "eval", "plot", "run"],
    "sweep": ["core", "embeddings", "model", "tasks", "eval", "plot", "run"],
    "view": ["core", "embeddings", "model", "tasks", "eval", "plot", "run", "probes"],
    "cli": ["core", "embeddings", "model", "tasks", "eval", "plot", "run", "probes", "sweep", "view"],
}
TESTS = "tests"   # tests may include any module

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def scan(root):
    """yield (file, line number, included path) for every quoted include"""
    for top in list(LAYERS) + [TESTS]:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not n.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, n)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for i, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m:
                            yield os.path.relpath(path, root), i, m.group(1)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors, graph = [], {m: set() for m in LAYERS}
    for path, line, inc in scan(root):
        mod = path.split(os.sep)[0]
        where = f"{path}:{line}: #include \"{inc}\""
        if inc.startswith(".") or "/" not in inc:
            errors.append(f"{where}: write includes from the repository root, e.g. \"{mod}/{os.path.basename(inc)}\"")
            continue
        if not os.path.exists(os.path.join(root, inc)):
            errors.append(f"{where}: no such file in the repository")
            continue
        target = inc.split("/")[0]
        if mod == TESTS or target == mod:
            continue
        if target not in LAYERS:
            errors.append(f"{where}: '{target}' is not a module (modules: {', '.join(LAYERS)})")
            continue
        graph[mod].add(target)
        if target not in LAYERS[mod]:
            allowed = ", ".join(LAYERS[mod]) or "nothing"
            errors.append(f"{where}: {mod}/ may include only {allowed}; '{target}' is not below it")

    # the graph of what is actually included must have no cycle (the table could be edited into one)
    state = {}
    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                errors.append("cycle: " + " -> ".join(stack + [m, t]))
            elif t not in state:
                visit(t, stack + [m])
        state[m] = 2
    for m in LAYERS:
        if m not in state:
            visit(m, [])

    if "--graph" in sys.argv:
        for m in LAYERS:
            print(f"{m:11s} -> {', '.join(sorted(graph[m])) or '(nothing)'}")
    for e in errors:
        print(e)
    if errors:
        print(f"layers: {len(errors)} include(s) break the layering (tools/check_layers.py)")
        return 1
    print("layers: every include points down; no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
