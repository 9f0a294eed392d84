"""A worker receives job names, not functions: every `@jobs.job` in the engine must be known to a fresh process
after importing engine/bootstrap.py, or its jobs fail on Celery workers while passing in-process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[3] / "engine"


def _declared() -> set[str]:
    names = set()
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            decorators = {ast.unparse(d) for d in getattr(node, "decorator_list", [])}
            if isinstance(node, ast.FunctionDef) and decorators & {"jobs.job", "job"}:
                names.add(node.name)
    return names


def test_a_fresh_worker_process_knows_every_job():
    declared = _declared()
    assert {"launch_chunk", "deliver_calibration", "calibration_progress"} <= declared
    code = "import json; from engine import bootstrap, jobs; print(json.dumps(sorted(jobs.REGISTRY)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ENGINE.parent)
    assert sorted(declared - set(json.loads(out.stdout))) == []
