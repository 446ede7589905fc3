"""The layers of the README's architecture chart, checked on the source: a package imports only from
its own row or rows below it, and no two packages import each other (directly or round a cycle).

Every import counts — module level, inside functions, under ``TYPE_CHECKING`` — because each is a
dependency someone reading or moving the code has to follow. A new package must be given a row here
(and in the README's chart).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder of each installed top-level package (``tasks/`` and ``agents/`` install under teachenv).
FOLDERS = {"teachenv": ROOT / "teachenv", "teachenv.tasks": ROOT / "tasks", "teachenv.agents": ROOT / "agents"}
#: The README's chart, top row first; a package may import its own row and the rows below it.
LAYERS = (
    ("teachenv.cli",),
    ("teachenv.bench", "teachenv.openenv"),
    ("teachenv.agents",),
    ("teachenv.envs",),
    ("teachenv.student", "teachenv.scripted", "teachenv.teacher"),
    ("teachenv.tasks",),
    ("teachenv.skills",),
    ("teachenv.engines", "teachenv.sandbox"),
    ("teachenv.core",),
)
RANK = {package: len(LAYERS) - i for i, row in enumerate(LAYERS) for package in row}


def package_of(module: str) -> str | None:
    """``teachenv.<package>`` of a module inside teachenv (None for the root ``teachenv`` and outside)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "teachenv" and len(parts) > 1 else None


def modules() -> dict[str, Path]:
    found = {}
    for prefix, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            if prefix == "teachenv" and path.relative_to(folder).parts[0] in ("tasks", "agents"):
                continue  # links of an editable checkout, if any: read through their own prefix
            found[".".join([prefix, *path.relative_to(folder).with_suffix("").parts]).removesuffix(".__init__")] = path
    return found


def imported(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the file (relative ones resolved)."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((name, node.lineno))
    return out


def edges() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) → where, for imports between different packages."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, path in modules().items():
        source = package_of(module)
        for name, line in imported(module, path):
            target = package_of(name)
            if source and target and target != source:
                found.setdefault((source, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def cycles(graph: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """Packages on a cycle, as strongly connected components of more than one package."""
    successors: dict[str, set[str]] = {}
    for source, target in graph:
        successors.setdefault(source, set()).add(target)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in successors.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reach = {package: reachable(package) for package in successors}
    components = {frozenset({p} | {q for q in reach[p] if p in reach.get(q, ())}) for p in reach if p in reach[p]}
    return sorted(sorted(c) for c in components)


def test_every_package_has_a_row():
    packages = {package_of(m) for m in modules()} - {None}
    assert packages <= set(RANK), f"give {sorted(packages - set(RANK))} a row in LAYERS and in the README's chart"


def test_no_package_imports_from_a_row_above_it():
    upward = [f"{source} -> {target} ({', '.join(where)})" for (source, target), where in sorted(edges().items())
              if RANK[target] > RANK[source]]
    assert upward == []


def test_no_packages_import_each_other_round_a_cycle():
    assert cycles(edges()) == []


@pytest.mark.parametrize("graph, expected", [
    ({("a", "b"): [], ("b", "c"): [], ("c", "a"): []}, [["a", "b", "c"]]),
    ({("a", "b"): [], ("b", "c"): []}, []),
])
def test_the_cycle_check_finds_a_cycle_through_three_packages(graph, expected):
    assert cycles(graph) == expected


def test_imports_inside_functions_and_relative_ones_are_read(tmp_path):
    source = tmp_path / "__init__.py"
    source.write_text("def f():\n    from teachenv.cli import main\n\nfrom .records import Record\n")
    assert sorted(imported("teachenv.core", source)) == [("teachenv.cli", 2), ("teachenv.core.records", 4)]
