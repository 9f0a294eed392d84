"""Restricted Python for diagram scripts, conditions and expressions.

Code is compiled with RestrictedPython's `compile_restricted` (which refuses `_`-prefixed attribute access such as
`().__class__.__base__.__subclasses__()`), runs with a small allow-list of builtins, no imports and no I/O, and
is stopped when it exceeds a time budget. `check()` is the deploy-time verdict; `run_exec`/`run_eval` run code.

Where code runs: an expression that can only do work in proportion to its inputs (`score >= 4`, a DMN cell
`< 3`, `"P14D"`; see `bounded()`) runs here under the trace budget; everything else — loops, comprehensions, calls
such as `sum`/`sorted`/`range` — runs in a separate worker process (engine/bpmn/sandbox_worker.py) with memory and CPU
limits that the server kills and replaces when the budget is up, since code stuck inside one C call (for example
`sum(map(sum, [range(10**6)] * 10**6))`) never returns to the tracer. Inside the restricted language `range`, `**`,
`pow`, `<<`, `*` and `+` refuse results past fixed caps (cheap defence in depth; the worker is the real limit).
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.bpmn import sandbox_worker
from engine.bpmn.stops import ScriptLimit as ScriptLimit  # noqa: F401
from engine.bpmn.stops import ScriptRefused as ScriptRefused
from engine.bpmn.stops import ScriptStopped as ScriptStopped
from engine.bpmn.stops import ScriptTimeout as ScriptTimeout
from engine.core import clock

FILENAME = "<reviewflow-script>"
DEFAULT_BUDGET_S = 2.0
RANGE_CAP = 1_000_000  # items in one range()
SEQUENCE_CAP = 10_000_000  # items (or characters) a `*` or `+` may produce
INT_BITS_CAP = 100_000  # bits of an integer `**`, `pow`, `*` or `<<` may produce (about 30,000 digits)


# the ways the sandbox stops code (engine/bpmn/stops.py), named here too: `sandbox.ScriptTimeout` etc.


def _too_big(what: str) -> ScriptLimit:
    return ScriptLimit(f"{what} is larger than diagram scripts may compute and was refused")


def _range(*args: Any) -> range:
    r = range(*args)
    if len(r) > RANGE_CAP:
        raise _too_big(f"range() of {len(r):,} items (the limit is {RANGE_CAP:,})")
    return r


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is not None:
        return pow(base, exp, mod)  # modular powers stay small
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        if math.log2(abs(base)) * exp > INT_BITS_CAP:
            raise _too_big(f"the power {base} ** {exp}")
    return pow(base, exp)


def _repeat_len(seq: Any, times: Any) -> int:
    if isinstance(seq, str | bytes | bytearray | list | tuple) and isinstance(times, int):
        return len(seq) * max(times, 0)
    return 0


def capped_op(op: str, a: Any, b: Any) -> Any:
    """`a <op> b` for the operators that can build huge values from small inputs."""
    if op == "**":
        return _pow(a, b)
    if op == "*":
        if max(_repeat_len(a, b), _repeat_len(b, a)) > SEQUENCE_CAP:
            raise _too_big(f"a repetition of {max(_repeat_len(a, b), _repeat_len(b, a)):,} items")
        if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > INT_BITS_CAP:
            raise _too_big("the product")
        return a * b
    if op == "<<":
        if isinstance(a, int) and isinstance(b, int) and a and b > 0 and _int_bits(a) + b > INT_BITS_CAP:
            raise _too_big(f"the shift {a} << {b}")
        return a << b
    if op == "+":
        if isinstance(a, str | bytes | list | tuple) and isinstance(b, str | bytes | list | tuple):
            if len(a) + len(b) > SEQUENCE_CAP:
                raise _too_big(f"a concatenation of {len(a) + len(b):,} items")
        return a + b
    raise TypeError(f"operator {op} is not allowed in scripts")


_GUARDED_OPS: dict[type, str] = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus `a ** b`, `a * b`, `a << b`, `a + b` routed through the capped `_op_`."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        func = ast.copy_location(ast.Name("_op_", ast.Load()), node)
        args = [ast.copy_location(ast.Constant(name), node), node.left, node.right]
        call = ast.Call(func=func, args=args, keywords=[])
        return ast.copy_location(call, node)


def _today() -> date:
    return clock.now().date()


def _now() -> datetime:
    return clock.now()


ALLOWED_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs all any bool dict divmod enumerate filter float frozenset int isinstance len list map max min "
        "reversed round set sorted str sum tuple zip ArithmeticError Exception IndexError KeyError "
        "LookupError TypeError ValueError ZeroDivisionError"
    ).split()
}
ALLOWED_BUILTINS.update({"None": None, "True": True, "False": False, "range": _range, "pow": _pow})
HELPERS: dict[str, Any] = {"date": date, "datetime": datetime, "timedelta": timedelta, "today": _today, "now": _now}

# Builtins a script may not name even though Python has them (open, eval, __import__, getattr, ...).
FORBIDDEN_NAMES = frozenset(dir(builtins)) - set(ALLOWED_BUILTINS) - set(HELPERS)
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro", "gi_frame", "f_globals", "f_locals", "f_back"})


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
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
    if op in ("+=", "*="):
        capped_op(op[0], x, y)  # the same caps as `x + y` / `x * y` (raises before anything large is built)
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
        "_op_": capped_op,
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
    return list(_restricted(source, mode).errors)


def names_in(source: str) -> set[str]:
    """Every name an expression reads (for checking a formula's inputs)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _restricted(source: str, mode: str) -> Any:
    return (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source, FILENAME, policy=_Policy)


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    result = _restricted(source, mode)
    if result.errors or result.code is None:
        raise ScriptRefused("; ".join(result.errors) or "could not compile")
    code: CodeType = result.code
    return code


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


# Expressions that may run in the server's own process: every node does work at most in proportion to the size of
# its operands, and no value is used twice, so the whole evaluation is linear in the code and the data it reads.
_BOUNDED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.BinOp, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call,
    ast.keyword, ast.cmpop, ast.boolop, ast.unaryop, ast.Add, ast.Sub, ast.Div, ast.FloorDiv,
)  # fmt: skip
_BOUNDED_CALLS = frozenset(
    "abs bool date datetime float int isinstance len max min now str timedelta today".split()
)  # `max(x, key=len)` stays linear; `sum`, `sorted`, `range`, `map` and lambdas do not qualify
_BOUNDED_METHODS = frozenset("endswith get isoformat items keys lower startswith strip upper values weekday".split())


@lru_cache(maxsize=4096)
def bounded(source: str) -> bool:
    """Whether an expression is cheap by construction (then it is evaluated in-process, under the trace budget)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _BOUNDED_NODES):
            return False
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Add | ast.Sub | ast.Div | ast.FloorDiv):
            return False
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in _BOUNDED_CALLS:
                continue
            if isinstance(f, ast.Attribute) and f.attr in _BOUNDED_METHODS:
                continue
            return False
    return True


def _data_for(source: str, mode: str, g: dict[str, Any]) -> dict[str, Any]:
    """The variables of `g` the code names (it can reach no other): all that is sent to the worker."""
    try:
        wanted = {n.id for n in ast.walk(ast.parse(source, mode=mode)) if isinstance(n, ast.Name)}
    except SyntaxError:
        wanted = set()
    return {k: g[k] for k in wanted if k in g and not k.startswith("_") and not callable(g[k])}


def run_exec(source: str, g: dict[str, Any], *, budget: float = DEFAULT_BUDGET_S) -> None:
    """Run a script in `g` (from `base_globals()` plus data); variables it sets stay in `g`.

    Scripts always run in a worker process; the variables the script names are sent, and the ones it set, changed
    or deleted come back into `g`."""
    _compile(source, "exec")  # refuse uncompilable code here, with the same error as before
    sent = _data_for(source, "exec", g)
    result = sandbox_worker.run("exec", source=source, data=sent, budget=budget)
    for name in set(sent) - set(result):
        g.pop(name, None)
    g.update(result)


def run_eval(source: str, g: dict[str, Any], *, budget: float = DEFAULT_BUDGET_S) -> Any:
    """Evaluate an expression: in-process when `bounded()`, otherwise in a worker process."""
    source = source.strip()
    code = _compile(source, "eval")
    if bounded(source):
        return _with_budget(code, g, budget)
    return sandbox_worker.run("eval", source=source, data=_data_for(source, "eval", g), budget=budget)


def run_here(source: str, g: dict[str, Any], *, mode: str, budget: float = DEFAULT_BUDGET_S) -> Any:
    """Run code in this process under the trace budget only (what the worker itself calls)."""
    return _with_budget(_compile(source.strip() if mode == "eval" else source, mode), g, budget)
