"""The task form's outline: its top-level fields as sections, and which of them hold an answer (the page's
"3 of 7 answered"; /static/autosave.js keeps the count as the person types)."""

from __future__ import annotations

from typing import Any


def answered(value: Any) -> bool:
    """Whether a section's value counts as answered: some text, a choice, a number, or a list/object holding one."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(answered(v) for v in value)
    if isinstance(value, dict):
        return any(answered(v) for v in value.values())
    return True


def sections(schema: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """`[{"name", "node", "answered"}]` for each top-level property of `schema`, in the form's order."""
    props = schema.get("properties") or {}
    return [
        {"name": name, "node": prop, "answered": answered((values or {}).get(name))}
        for name, prop in props.items()
        if isinstance(prop, dict)
    ]
