"""Render a user task's `instructionsForEndUser` (Jinja, as SpiffArena writes them) with the task's data.

A sandboxed environment: templates written by diagram designers cannot reach Python internals, `range` is capped by
Jinja's sandbox and `*`, `**`, `+` by the script caps (engine/bpmn/sandbox.py). A template that does nothing but print
variables renders here; any other (loops, filters, calls) renders in a sandbox worker process with the script time
budget and an output cap, so a runaway template is stopped instead of holding the request — and its database
transaction — for as long as it likes. The result is plain text; pages escape it when they show it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.bpmn import sandbox, sandbox_worker
from engine.core.settings import get_settings

log = logging.getLogger(__name__)

# `{{ name }}`, `{{ a.b }}`, `{{ a["b"] }}` and plain text: rendering costs no more than the text and the values
_PLAIN = re.compile(
    r"""(?:[^{]|\{(?![{%#])|\{\{ *[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[(?:"[^"]*"|'[^']*'|\d+)\])* *\}\})*"""
)


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


@dataclass
class Rendered:
    text: str | None
    problem: str | None = None  # why the template was shown unrendered
    stopped: bool = False  # the sandbox stopped it (time, size or memory): an incident, not just a typo


def render_checked(template: str | None, data: dict[str, Any], *, budget: float | None = None) -> Rendered:
    """The instructions with `{{ ... }}` filled from task data; the raw text and the reason when they cannot be."""
    if not template or "{" not in template:
        return Rendered(template)
    if budget is None:
        budget = get_settings().script_time_budget_s
    try:
        if _PLAIN.fullmatch(template):
            return Rendered(compiled(template).render(**data))
        return Rendered(sandbox_worker.run("jinja", source=template, data=data, budget=budget))
    except sandbox.ScriptStopped as exc:
        log.warning("instructions were stopped: %s", exc)
        return Rendered(template, f"{type(exc).__name__}: {exc}", stopped=True)
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        log.warning("instructions could not be rendered: %s", exc)
        return Rendered(template, f"{type(exc).__name__}: {exc}")


def render(template: str | None, data: dict[str, Any]) -> str | None:
    """The instructions with `{{ ... }}` filled from task data; the raw text when the template cannot render."""
    return render_checked(template, data).text
