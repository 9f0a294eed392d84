"""Render a user task's `instructionsForEndUser` (Jinja, as SpiffArena writes them) with the task's data.

A sandboxed environment: templates written by diagram designers cannot reach Python internals. The result is plain
text; pages escape it when they show it.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

log = logging.getLogger(__name__)
_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render(template: str | None, data: dict[str, Any]) -> str | None:
    """The instructions with `{{ ... }}` filled from task data; the raw text when the template cannot render."""
    if not template or "{" not in template:
        return template
    try:
        return _env.from_string(template).render(**data)
    except TemplateError as exc:
        log.warning("instructions could not be rendered: %s", exc)
        return template
