"""Form `pattern`s: Python's `re` (what jsonschema uses) against RE2 (what forms/patterns.py uses), side by side on
catastrophic patterns, the answer `a`×n followed by `!` (no match: the worst case), at growing n.

Python's `re` backtracks, so each extra character roughly doubles its time; a run is stopped once one call takes
longer than --budget seconds (forecast from the growth so far), and the rest of its row is left blank.
RE2 is linear in the answer: its row goes on to lengths `re` never finishes (41 characters: days; 10,000: never).
The last table times the whole form validation (forms.validation.validate) on the same answers.

Run:  .venv/bin/python -m bench.form_patterns [--budget 2.0] [--repeat 3]

A measurement script, not a test: it asserts only that both engines agree wherever both answered.
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata

import re2

from forms.validation import validate

PATTERNS = ["^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "^(\\w+\\s?)*$"]
SHORT = [16, 18, 20, 22, 24, 26]
LONG = [41, 1_000, 10_000]


def _time(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=2.0, help="stop timing `re` after one call takes this long")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many calls per cell")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, google-re2 {metadata.version('google-re2')}, {platform.machine()}")
    lengths = SHORT + LONG
    print("\nanswer = 'a' * n + '!'   (best of", args.repeat, "calls)")
    print(f"{'pattern':<16} {'engine':<6} " + " ".join(f"{'n=' + str(n):>10}" for n in lengths))
    for pattern in PATTERNS:
        py, fast = re.compile(pattern), re2.compile(pattern)
        row_py: list[float | None] = []
        row_re2: list[float | None] = []
        per_char = 1.0
        for i, n in enumerate(lengths):
            text = "a" * n + "!"
            t2, m2 = _time(partial(fast.search, text), args.repeat)
            row_re2.append(t2)
            done = [(lengths[j], t) for j, t in enumerate(row_py) if t is not None]
            if len(done) >= 2:  # `re` time per extra character, from the last two lengths it finished
                (n0, t0), (n1, t1) = done[-2], done[-1]
                per_char = (t1 / t0) ** (1 / (n1 - n0))
            if row_py and (row_py[-1] is None or row_py[-1] * per_char ** (n - lengths[i - 1]) > 3 * args.budget):
                row_py.append(None)  # would take far longer than the budget: not run
                continue
            t1, m1 = _time(partial(py.search, text), 1 if n > 20 else args.repeat)
            assert (m1 is None) == (m2 is None), (pattern, n)
            row_py.append(t1)
        print(f"{pattern:<16} {'re':<6} " + " ".join(f"{_fmt(t):>10}" for t in row_py))
        print(f"{'':<16} {'RE2':<6} " + " ".join(f"{_fmt(t):>10}" for t in row_re2))
        ratios = [f"{(a / b):>9.0f}x" if a is not None else f"{'—':>10}" for a, b in zip(row_py, row_re2, strict=True)]
        print(f"{'':<16} {'re/RE2':<6} " + " ".join(ratios))
        last = max(i for i, t in enumerate(row_py) if t is not None)
        forecast = (row_py[last] or 0.0) * per_char ** (41 - lengths[last])
        when = f"{forecast / 86400:.1f} days" if forecast > 86400 else f"{forecast / 3600:.1f} hours"
        when = when if forecast > 3600 else _fmt(forecast)
        print(f"{'':<16} `re` grows ×{per_char:.2f} per character: one 41-character answer would take ~{when}")
    print("\nwhole form validation (forms.validation.validate), field with pattern '^(a+)+$'")
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}
    for n in [41, 1_000, 10_000]:
        t, errors = _time(partial(validate, schema, {"code": "a" * n + "!"}), args.repeat)
        assert isinstance(errors, list) and errors and errors[0]["code"] == "pattern"
        print(f"  n={n:<6} {_fmt(t):>10}   refused with code 'pattern'")


if __name__ == "__main__":
    main()
