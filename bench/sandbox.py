"""Sandbox benchmark: what author code costs in the server's process versus in a sandbox worker, side by side.

For a typical gateway condition, DMN cell, score formula, script task and instructions template, on task data of a
realistic size (a subject, settings and a few dozen other keys, about 20 KB), it measures the median time per call

  1. in-process: RestrictedPython code under the trace budget only (what every call cost before the worker);
  2. worker: the same call through a warm sandbox worker process (engine/bpmn/sandbox_worker.py);
  3. as shipped: `sandbox.run_eval` / `run_exec` / `instructions.render`, which keep expressions that are linear in
     their inputs (`sandbox.bounded`) in-process and send the rest to a worker;

and prints the ratios. It also reports how long a fresh worker takes to start and to be replaced after a kill.

Run:  .venv/bin/python -m bench.sandbox [--calls N]

A measurement script, not a test: it asserts only that every path computed the same value.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from engine.bpmn import sandbox, sandbox_worker
from forms import instructions

DATA: dict[str, Any] = {
    "subject": {"email": "ann@example.test", "name": "Ann", "department": "Design", "locale": "en"},
    "settings": {"score": {"formula": "round(0.4 * goal + 0.6 * manager, 2)"}, "due": {"*": "P14D"}},
    "score": 4,
    "goal": 3.5,
    "manager": 4.0,
    "decision": "approve",
    "dmninputexpr": 2,
    "scores": {"goals": 4, "self": 3, "manager": 5},
    "peers": [f"peer{i}@example.test" for i in range(8)],
    **{f"answer_{i}": {"text": "x" * 400, "rating": i % 5} for i in range(40)},
}
CASES: list[tuple[str, str, str]] = [
    ("gateway condition", "eval", "score >= 4 and decision == 'approve'"),
    ("DMN cell", "eval", "dmninputexpr < 3"),
    ("score formula", "eval", "round(0.4 * goal + 0.6 * manager, 2)"),
    (
        "script task",
        "exec",
        "total = sum(scores.values()) / len(scores)\nhigh = [k for k, v in scores.items() if v > 3]",
    ),
    ("instructions", "jinja", "Dear {{ subject.name }}, ask {% for p in peers %}{{ p }} {% endfor %}"),
]


def _median_us(fn: Callable[[], Any], calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _globals() -> dict[str, Any]:
    g = sandbox.base_globals()
    g.update(DATA)
    return g


def _in_process(mode: str, source: str) -> Callable[[], Any]:
    if mode == "jinja":
        return lambda: instructions.compiled(source).render(**DATA)
    return lambda: sandbox.run_here(source, _globals(), mode=mode)


def _worker(mode: str, source: str) -> Callable[[], Any]:
    def call() -> Any:
        g = _globals()
        data = DATA if mode == "jinja" else sandbox._data_for(source, "exec" if mode == "exec" else "eval", g)
        return sandbox_worker.run(mode, source=source, data=data, budget=sandbox.DEFAULT_BUDGET_S)

    return call


def _shipped(mode: str, source: str) -> Callable[[], Any]:
    if mode == "jinja":
        return lambda: instructions.render(source, DATA)
    if mode == "eval":
        return lambda: sandbox.run_eval(source, _globals())
    return lambda: sandbox.run_exec(source, _globals())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; {args.calls} calls each")

    started = time.perf_counter()
    sandbox_worker.warm()
    print(f"starting the worker pool (ready to serve): {(time.perf_counter() - started) * 1000:.0f} ms")

    header = f"{'case':<20} {'in-process µs':>14} {'worker µs':>10} {'worker/in':>10} {'shipped µs':>11}  shipped path"
    print(header)
    print("-" * len(header))
    for name, mode, source in CASES:
        here, there, shipped = _in_process(mode, source), _worker(mode, source), _shipped(mode, source)
        if mode == "exec":
            g1, g2 = _globals(), _globals()
            sandbox.run_here(source, g1, mode="exec")
            sandbox.run_exec(source, g2)
            assert (g1["total"], g1["high"]) == (g2["total"], g2["high"]), name
        else:
            assert here() == there() == shipped(), name
        a, b, c = _median_us(here, args.calls), _median_us(there, args.calls), _median_us(shipped, args.calls)
        path = "in-process" if mode == "eval" and sandbox.bounded(source) else "worker"
        if mode == "jinja":
            path = "in-process" if instructions._PLAIN.fullmatch(source) else "worker"
        print(f"{name:<20} {a:>14.1f} {b:>10.1f} {b / a:>9.1f}x {c:>11.1f}  {path}")

    pool = sandbox_worker.pool()
    runaway = "sum(map(sum, [range(10**6)] * 10**6))"
    started = time.perf_counter()
    try:
        sandbox.run_eval(runaway, _globals(), budget=0.2)
    except sandbox.ScriptTimeout:
        pass
    stopped = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(pool.size):  # the replaced worker becomes ready on its first call
        sandbox.run_eval("sum([1])", _globals())
    replaced = time.perf_counter() - started
    print(
        f"runaway C loop with a 0.2 s budget stopped after {stopped * 1000:.0f} ms "
        f"(grace {sandbox_worker.GRACE_S:g} s); next calls, incl. the replacement's start: {replaced * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
