"""JSON Schema task forms as HTML fields and back: the widget for each schema node, and the posted form fields
(`goals/0/title`, the same paths the server's per-field errors use) parsed into the JSON the engine validates.

Parsing never drops what a person typed: a number that is not a number stays text, so the form comes back with
it and the server's error beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from engine.process.form_rules import lookup
from forms import conditions

_INT = re.compile(r"^[+-]?\d+$")
SHORT_TEXT = {"title", "metric", "target", "name", "email"}


def kind(node: dict[str, Any], name: str = "") -> str:
    """The widget for a schema node."""
    t = node.get("type")
    if t == "array":
        return "array"
    if t == "object" or "properties" in node:
        return "object"
    if node.get("x-bars"):
        return "bars"
    if node.get("oneOf") and all(isinstance(o, dict) and "const" in o for o in node["oneOf"]):
        return "choice"
    if t == "boolean":
        return "bool"
    if t == "integer":
        return "integer"
    if t == "number":
        return "number"
    if node.get("format") == "date":
        return "date"
    if node.get("x-person") or node.get("format") == "email":
        return "person"
    if node.get("x-choices-from"):
        return "choose_from"
    max_len = node.get("maxLength")
    if name in SHORT_TEXT or (isinstance(max_len, int) and max_len <= 200):
        return "text"
    return "textarea"


def option_value(const: Any) -> str:
    return const if isinstance(const, str) else json.dumps(const)


def items_from(node: dict[str, Any], context: Mapping[str, Any], data: Mapping[str, Any]) -> list[Any] | None:
    """The task-data list an `x-items-from` array follows (one row per entry), from the form's context or data."""
    source = node.get("x-items-from")
    if not isinstance(source, str):
        return None
    found = context.get(source)
    if found is None:
        found = lookup(dict(data), source)
    return found if isinstance(found, list) else []


def conditional(schema: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Top-level fields required only for some answers, with (English, Chinese) words saying when."""
    out: dict[str, tuple[str, str]] = {}
    for name in schema.get("properties") or {}:
        because = conditions.required_because(schema, name)
        if because:
            out[name] = because
    return out


def own_answer(name: str, index: int, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a manager's per-item rating (`manager_goal_ratings`), the employee's own answer to the same item
    (`self_goal_ratings` in the form's context, same position), to show beside it; None when there is none."""
    if not name.startswith("manager_"):
        return None
    own = context.get("self_" + name.removeprefix("manager_"))
    item = own[index] if isinstance(own, list) and index < len(own) else None
    return item if isinstance(item, dict) else None


def anchor(node: dict[str, Any], value: Any) -> dict[str, Any] | None:
    """The BARS anchor of `value` on a rating field (`x-bars`), for its label and behaviour."""
    for a in node.get("x-bars") or []:
        if isinstance(a, dict) and str(a.get("value")) == str(value):
            return a
    return None


def choices_from(node: dict[str, Any], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    source = node.get("x-choices-from")
    found = context.get(source) if isinstance(source, str) else None
    return [c for c in found if isinstance(c, dict) and "id" in c] if isinstance(found, list) else []


def parse(schema: dict[str, Any], form: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, Any]:
    """The posted fields as form data for `schema` (blank optional fields left out)."""
    value = _parse_object(schema, "", form, context)
    return value if isinstance(value, dict) else {}


def _join(prefix: str, part: str | int) -> str:
    return f"{prefix}/{part}" if prefix else str(part)


def _parse(node: dict[str, Any], path: str, form: Mapping[str, str], context: Mapping[str, Any]) -> Any:
    k = kind(node)
    if k == "object":
        return _parse_object(node, path, form, context)
    if k == "array":
        return _parse_array(node, path, form, context)
    raw = form.get(path)
    if raw is None or not str(raw).strip():
        return None
    raw = str(raw)
    if k == "choice":
        for option in node["oneOf"]:
            if option_value(option["const"]) == raw:
                return option["const"]
        return raw
    if k == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if k in ("integer", "bars"):
        return int(raw) if _INT.match(raw.strip()) else raw
    if k == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw else number
    if k == "person":
        return raw.strip()
    return raw


def _parse_object(node: dict[str, Any], path: str, form: Mapping[str, str], context: Mapping[str, Any]) -> Any:
    out: dict[str, Any] = {}
    for name, prop in (node.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        value = _parse(prop, _join(path, name), form, context)
        if value is not None:
            out[name] = value
    return out if out or not path else None


def _parse_array(node: dict[str, Any], path: str, form: Mapping[str, str], context: Mapping[str, Any]) -> Any:
    prefix = path + "/"
    rows = sorted({int(key[len(prefix) :].split("/")[0]) for key in form if _row_key(key, prefix)})
    items = node.get("items")
    item: dict[str, Any] = items if isinstance(items, dict) else {}
    fixed = "x-items-from" in node
    values = []
    for index in rows:
        value = _parse(item, _join(path, index), form, context)
        if value is None and fixed:
            value = {} if kind(item) == "object" else None
        if value is not None:
            values.append(value)
    if not values and not fixed:
        return None  # an array left empty counts as not answered (optional) or missing (required)
    return values


def _row_key(key: str, prefix: str) -> bool:
    if not key.startswith(prefix):
        return False
    head = key[len(prefix) :].split("/")[0]
    return head.isdigit()


def errors_by_path(errors: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for err in errors:
        out.setdefault(str(err.get("path") or ""), []).append(err)
    return out


def field_id(path: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)
