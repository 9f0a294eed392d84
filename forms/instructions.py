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
from typing import Any

from jinja2 import TemplateError

from engine.bpmn import sandbox, sandbox_worker
from engine.bpmn.templates import compiled, make_environment  # noqa: F401 - the environment, named here too
from engine.core.settings import get_settings

log = logging.getLogger(__name__)

# `{{ name }}`, `{{ a.b }}`, `{{ a["b"] }}` and plain text: rendering costs no more than the text and the values
_PLAIN = re.compile(
    r"""(?:[^{]|\{(?![{%#])|\{\{ *[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[(?:"[^"]*"|'[^']*'|\d+)\])* *\}\})*"""
)


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
