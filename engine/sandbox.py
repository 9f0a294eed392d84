"""Restricted Python for diagram scripts, conditions and expressions.

Code is compiled with RestrictedPython's `compile_restricted` (which refuses `_`-prefixed attribute access such as
`().__class__.__base__.__subclasses__()`), runs with a small allow-list of builtins, no imports and no I/O, and
is stopped when it exceeds a time budget. `check()` is the deploy-time verdict; `run_exec`/`run_eval` run code.
"""

from __future__ import annotations

import ast
import builtins
import operator
import sys
import time
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector

from engine import clock

FILENAME = "<reviewflow-script>"
DEFAULT_BUDGET_S = 2.0


def _today() -> date:
    return clock.now().date()


def _now() -> datetime:
    return clock.now()


ALLOWED_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs all any bool dict divmod enumerate filter float frozenset int isinstance len list map max min "
        "range reversed round set sorted str sum tuple zip ArithmeticError Exception IndexError KeyError "
        "LookupError TypeError ValueError ZeroDivisionError"
    ).split()
}
ALLOWED_BUILTINS.update({"None": None, "True": True, "False": False})
HELPERS: dict[str, Any] = {"date": date, "datetime": datetime, "timedelta": timedelta, "today": _today, "now": _now}

# Builtins a script may not name even though Python has them (open, eval, __import__, getattr, ...).
FORBIDDEN_NAMES = frozenset(dir(builtins)) - set(ALLOWED_BUILTINS) - set(HELPERS)
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro", "gi_frame", "f_globals", "f_locals", "f_back"})


class ScriptTimeout(Exception):
    pass


class ScriptRefused(Exception):
    """Code that RestrictedPython will not compile (e.g. underscore attribute access)."""


_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "|=": operator.ior,
    "&=": operator.iand,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    fn = _INPLACE.get(op)
    if fn is None:
        raise TypeError(f"operator {op} is not allowed in scripts")
    return fn(x, y)


def _apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def base_globals() -> dict[str, Any]:
    """Fresh globals for one run: allow-listed builtins, helpers and RestrictedPython's guards."""
    g: dict[str, Any] = {
        "__builtins__": dict(ALLOWED_BUILTINS),
        "__name__": "reviewflow_script",
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "_apply_": _apply,
        "_print_": PrintCollector,
    }
    g.update(HELPERS)
    return g


GUARD_NAMES = frozenset(base_globals())


def check(source: str, *, mode: str = "exec") -> list[str]:
    """Reasons this code may not be deployed (empty when it is acceptable)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return [f"syntax error on line {exc.lineno}: {exc.msg}"]
    problems: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        where = f" (line {line})" if line else ""
        if isinstance(node, ast.Import | ast.ImportFrom):
            problems.append(f"imports are not allowed in diagram scripts{where}")
        elif isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or node.id.startswith("_")):
            problems.append(f"'{node.id}' is not available to diagram scripts{where}")
        elif isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES):
            problems.append(f"attribute '.{node.attr}' is not allowed in diagram scripts{where}")
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.ClassDef | ast.AsyncFunctionDef | ast.Await):
            problems.append(f"{type(node).__name__} statements are not allowed in diagram scripts{where}")
    if problems:
        return sorted(set(problems), key=problems.index)
    result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source, FILENAME)
    return list(result.errors)


def names_in(source: str) -> set[str]:
    """Every name an expression reads (for checking a formula's inputs)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source, FILENAME)
    if result.errors or result.code is None:
        raise ScriptRefused("; ".join(result.errors) or "could not compile")
    return result.code


def _with_budget(code: CodeType, g: dict[str, Any], budget: float) -> Any:
    deadline = time.monotonic() + budget

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None
        if time.monotonic() > deadline:
            raise ScriptTimeout(f"the script ran longer than {budget:g} s and was stopped")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return eval(code, g)  # noqa: S307 - compiled by RestrictedPython, guarded globals
    finally:
        sys.settrace(previous)


def run_exec(source: str, g: dict[str, Any], *, budget: float = DEFAULT_BUDGET_S) -> None:
    """Run a script in `g` (from `base_globals()` plus data); variables it sets stay in `g`."""
    _with_budget(_compile(source, "exec"), g, budget)


def run_eval(source: str, g: dict[str, Any], *, budget: float = DEFAULT_BUDGET_S) -> Any:
    return _with_budget(_compile(source.strip(), "eval"), g, budget)
