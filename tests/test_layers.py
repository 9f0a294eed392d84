"""The house plan holds (README "Layout"): the import-linter contracts in pyproject.toml are kept, no module takes
part in an import circle (function-local imports count: grimp sees them), and the core transaction is written once
— only engine/process/kernel.py saves a workflow and projects it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_takes_part_in_an_import_circle():
    graph = grimp.build_graph("engine", "api", "forms")
    assert _circles(graph) == []


def test_a_circle_would_be_found():
    graph = grimp.ImportGraph()
    for a, b in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a"), ("x.c", "x.d")):
        graph.add_import(importer=a, imported=b)
    assert _circles(graph) == [["x.a", "x.b", "x.c"]]


def test_the_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_the_core_transaction_is_written_once():
    """Saving a workflow (dump), projecting it and locking an instance for a step happen in the kernel only; the
    other modules hand it steps. Allowed elsewhere: a new instance's first state (runtime.start_process), the
    startup check's dry run on a copy, and the timer's own failure mark (a lock without a workflow)."""
    allowed = {
        "engine/process/kernel.py": None,
        "engine/process/runtime.py": {r"spiff\.dump\("},
        "engine/process/instance_check.py": {r"spiff\.load\(", r"spiff\.dump\("},
        "engine/process/timers.py": {r"lock_instance\("},
    }
    patterns = [r"spiff\.load\(", r"spiff\.dump\(", r"\bproject\(session", r"lock_instance\(", r"transition_events\("]
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")) + sorted((ROOT / "api").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed and allowed[rel] is None:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            if pattern in (allowed.get(rel) or set()):
                continue
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                if not text.splitlines()[line - 1].lstrip().startswith(("def ", "#", "from ")):
                    offenders.append(f"{rel}:{line}: {pattern}")
    assert offenders == []
