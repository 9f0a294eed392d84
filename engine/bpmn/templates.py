"""The Jinja environment instructions templates render in: sandboxed (no Python internals), `range` capped by
Jinja's sandbox and `*`, `**`, `+` by the script caps (engine/bpmn/sandbox.py). Shared by the server (plain
templates render in-process, forms/instructions.py) and the sandbox worker (engine/bpmn/sandbox_child.py)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.bpmn import sandbox


class _CappedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return sandbox.capped_op(operator, left, right)


def make_environment() -> ImmutableSandboxedEnvironment:
    return _CappedEnvironment(undefined=StrictUndefined, autoescape=False)


_env = make_environment()


@lru_cache(maxsize=256)
def compiled(source: str) -> Template:
    """The compiled template (compiling costs more than rendering; diagrams repeat the same few)."""
    return _env.from_string(source)
