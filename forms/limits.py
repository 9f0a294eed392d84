"""Size limits every form has, whether its author wrote them or not: a text field without `maxLength` gets the
default (`REVIEWFLOW_FORM_MAX_LENGTH`), a list without `maxItems` the default (`REVIEWFLOW_FORM_MAX_ITEMS`). The
limits go into the schema itself, so the schema served for a task and the one validated on submit are the same."""

from __future__ import annotations

import copy
from typing import Any

from forms.bundle import walk

_FIELD_KEYS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def _fields(schema: dict[str, Any]) -> list[Any]:
    """Subschemas in positions that hold a value someone types: fields, list items, extra properties."""
    out: list[Any] = []
    for key in _FIELD_KEYS:
        if isinstance(schema.get(key), dict):
            out += schema[key].values()
    for key in ("items", "additionalProperties", "unevaluatedItems", "unevaluatedProperties", "contains"):
        out.append(schema.get(key))
    out += schema.get("prefixItems") or []
    return [s for s in out if isinstance(s, dict)]


def with_limits(schema: dict[str, Any], *, max_length: int, max_items: int) -> dict[str, Any]:
    """A copy of `schema` where every string field has a `maxLength` and every list a `maxItems`."""
    out = copy.deepcopy(schema)
    untyped: list[dict[str, Any]] = []

    def visit(s: dict[str, Any]) -> None:
        untyped.extend(f for f in _fields(s) if not {"type", "const", "enum", "$ref"} & f.keys())
        kinds = _types(s)
        if "string" in kinds and "maxLength" not in s:
            s["maxLength"] = max_length
        if "array" in kinds and "maxItems" not in s:
            s["maxItems"] = max_items

    walk(out, visit)
    for field in untyped:  # a field of any type accepts text and lists too: `maxLength` binds only strings
        field.setdefault("maxLength", max_length)
        field.setdefault("maxItems", max_items)
    return out
