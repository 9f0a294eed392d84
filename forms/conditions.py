"""Fields a form requires only for some answers (`if`/`then`/`else` on the form, e.g. a decline reason when the rater
declines), said in words: the page marks them "Required if you choose …" instead of "Optional", and a missing one
is refused with the choice that made it required, not a bare "This field is required"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class Condition(NamedTuple):
    """`field` is required when `trigger` is `value` (`when=True`) or when it is not (`when=False`)."""

    field: str
    trigger: str
    value: Any
    when: bool


def _rules(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "if" in schema:
        yield schema
    for part in schema.get("allOf") or []:
        if isinstance(part, dict) and "if" in part:
            yield part


def conditions(schema: dict[str, Any]) -> list[Condition]:
    """The conditionally required top-level fields of a form, from its `if: {properties: {x: {const}}}` rules."""
    found: list[Condition] = []
    for rule in _rules(schema):
        test = rule.get("if") or {}
        props = test.get("properties") or {}
        if len(props) != 1:
            continue
        [(trigger, node)] = props.items()
        if not isinstance(node, dict) or "const" not in node:
            continue
        for branch, when in (("then", True), ("else", False)):
            for name in (rule.get(branch) or {}).get("required") or []:
                found.append(Condition(name, trigger, node["const"], when))
    return found


def _title(node: Any, locale: str) -> str:
    if not isinstance(node, dict):
        return ""
    local = ((node.get("x-i18n") or {}).get(locale) or {}).get("title")
    return str(local or node.get("title") or "")


def choice_title(schema: dict[str, Any], trigger: str, value: Any, locale: str) -> str:
    """How the form names the answer `value` of field `trigger` (an option's title; yes/no for a checkbox)."""
    node = (schema.get("properties") or {}).get(trigger) or {}
    for option in node.get("oneOf") or []:
        if isinstance(option, dict) and option.get("const") == value:
            return _title(option, locale) or str(value)
    if isinstance(value, bool):
        return ("是" if value else "否") if locale == "zh-CN" else ("Yes" if value else "No")
    return str(value)


def said(schema: dict[str, Any], condition: Condition, locale: str) -> str:
    """ "Required if “Decline” is “Yes”." in `locale` (en or zh-CN)."""
    field = _title((schema.get("properties") or {}).get(condition.trigger), locale) or condition.trigger
    choice = choice_title(schema, condition.trigger, condition.value, locale)
    if locale == "zh-CN":
        return f"当“{field}”选择“{choice}”时必填。" if condition.when else f"除非“{field}”选择“{choice}”，否则必填。"
    return f"Required if “{field}” is “{choice}”." if condition.when else f"Required unless “{field}” is “{choice}”."


def required_because(schema: dict[str, Any], field: str) -> tuple[str, str] | None:
    """(English, Chinese) words for why `field` is required, when a condition makes it so; None otherwise."""
    for condition in conditions(schema):
        if condition.field == field:
            return said(schema, condition, "en"), said(schema, condition, "zh-CN")
    return None
