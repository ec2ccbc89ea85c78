"""The packages import one way: each only the layers below it (README, Layout). Run as a script, this prints the
import graph between packages as a table (module-level and function-level imports alike)."""

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).parents[1]
# package -> the Agora packages it may import; sandbox is a leaf utility every layer may use
ALLOWED = {
    "sim": set(),
    "sandbox": set(),
    "training": {"sim", "sandbox"},
    "probes": {"sim"},
    "memory": {"sim", "sandbox"},
    "reasoning": {"sim"},
    "loaders": {"sim"},
    "dashboard": {"sim"},
    "experiments": {"sim", "training", "probes", "memory", "reasoning"},
    "bench": {"sim", "training", "probes", "memory", "reasoning", "experiments"},
    "cli": {"sim", "training", "probes", "memory", "reasoning", "experiments", "bench", "loaders", "dashboard"},
}


def import_graph(root: Path = ROOT) -> collections.Counter:
    """(importer, imported) -> number of import statements, between Agora's top-level packages."""
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"}
    edges = collections.Counter()
    for pkg in packages:
        for f in (root / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(), str(f))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "agora" and len(parts) > 1 and parts[1] in packages and parts[1] != pkg:
                        edges[pkg, parts[1]] += 1
    return edges


def test_every_package_imports_only_the_layers_below_it():
    edges = import_graph()
    assert {a for a, _ in edges} | {b for _, b in edges} <= set(ALLOWED), "a new package needs its place in ALLOWED"
    wrong = sorted(f"{a} imports {b} ({n}×)" for (a, b), n in edges.items() if b not in ALLOWED[a])
    assert not wrong, wrong


def test_the_base_layer_imports_nothing_above_it():
    assert not [b for (a, b) in import_graph() if a == "sim"]


if __name__ == "__main__":
    edges = import_graph()
    names = sorted(ALLOWED)
    print("| imports → | " + " | ".join(names) + " |\n|---" * 1 + "|---" * len(names) + "|")
    for a in names:
        print(f"| {a} | " + " | ".join("—" if a == b else str(edges[a, b]) if edges[a, b] else "·" for b in names) + " |")
