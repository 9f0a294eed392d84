"""Review-cycle rules a JSON Schema cannot say, enforced on submit: totals, people from the org chart, counts and
choices taken from the cycle's settings or earlier answers (see forms/README.md for the keywords)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Person
from forms.resolve import lookup
from forms.validation import field_error

__all__ = ["check", "context", "lookup"]


def check(
    session: Session, schema: dict[str, Any], data: dict[str, Any], task_data: dict[str, Any]
) -> list[dict[str, Any]]:
    """Problems with `data` under the `x-` keywords of `schema`, given the task's workflow data."""
    errors: list[dict[str, str]] = []
    totals = schema.get("x-total") or []
    for rule in totals if isinstance(totals, list) else [totals]:
        items = data.get(rule.get("path"))
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            total = sum(i.get(rule["field"]) or 0 for i in items if isinstance(i.get(rule["field"]), int | float))
            if total != rule.get("equals"):
                errors.append(
                    field_error(
                        rule["path"],
                        f"The {rule['field']}s add up to {total:g}; they must add up to {rule['equals']}.",
                        f"各项{rule['field']}合计为 {total:g}，需要等于 {rule['equals']}。",
                        "x-total",
                    )
                )
    errors += _fields(session, schema, data, task_data, prefix="")
    return errors


def _fields(
    session: Session, schema: dict[str, Any], data: dict[str, Any], task_data: dict[str, Any], prefix: str
) -> list[dict[str, Any]]:
    """The per-property keywords, also inside the objects of an array (e.g. `goals/2/aligned_to`)."""
    errors: list[dict[str, str]] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or name not in data:
            continue
        value, path = data[name], prefix + name
        errors += _bounds(path, prop, value, task_data)
        errors += _items_from(path, prop, value, task_data)
        errors += _choices(path, prop, value, task_data)
        if prop.get("x-person") or (isinstance(prop.get("items"), dict) and prop["items"].get("x-person")):
            errors += _people(session, path, prop, value, task_data)
        items = prop.get("items")
        if isinstance(value, list) and isinstance(items, dict) and items.get("properties"):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    errors += _fields(session, items, item, task_data, prefix=f"{path}/{index}/")
    return errors


def _bounds(name: str, prop: dict[str, Any], value: Any, task_data: dict[str, Any]) -> list[dict[str, Any]]:
    rule = prop.get("x-bounds-from")
    if not isinstance(rule, dict) or not isinstance(value, list):
        return []
    low, high = lookup(task_data, rule.get("min", "")), lookup(task_data, rule.get("max", ""))
    if isinstance(low, int) and len(value) < low:
        return [field_error(name, f"Please add at least {low}.", f"请至少添加 {low} 项。", "x-bounds-from")]
    if isinstance(high, int) and len(value) > high:
        return [field_error(name, f"Please add no more than {high}.", f"最多添加 {high} 项。", "x-bounds-from")]
    return []


def _items_from(name: str, prop: dict[str, Any], value: Any, task_data: dict[str, Any]) -> list[dict[str, Any]]:
    source = prop.get("x-items-from")
    if not isinstance(source, str) or not isinstance(value, list):
        return []
    expected = lookup(task_data, source)
    count = len(expected) if isinstance(expected, list) else 0
    if len(value) != count:
        return [
            field_error(
                name,
                f"Please give one answer for each of the {count} items shown.",
                f"请为列出的 {count} 项逐一作答。",
                "x-items-from",
            )
        ]
    return []


def _choices(name: str, prop: dict[str, Any], value: Any, task_data: dict[str, Any]) -> list[dict[str, Any]]:
    source = prop.get("x-choices-from")
    if not isinstance(source, str) or value in (None, ""):
        return []
    options = lookup(task_data, source) or []
    ids = {o.get("id") if isinstance(o, dict) else o for o in options}
    if value not in ids:
        return [
            field_error(name, "Please choose one of the offered options.", "请从给出的选项中选择。", "x-choices-from")
        ]
    return []


def _people(
    session: Session, name: str, prop: dict[str, Any], value: Any, task_data: dict[str, Any]
) -> list[dict[str, Any]]:
    rule = prop.get("x-person") or (prop.get("items") or {}).get("x-person")
    values = value if isinstance(value, list) else [value]
    emails = [v.strip().lower() for v in values if isinstance(v, str)]
    active = set(session.scalars(select(Person.email).where(Person.email.in_(emails), Person.active, Person.employee)))
    excluded: dict[str, tuple[str, str]] = {}
    for who in rule.get("exclude", []) if isinstance(rule, dict) else []:
        email = lookup(task_data, f"{who}.email")
        if isinstance(email, str):
            excluded[email.lower()] = {
                "subject": ("the person under review", "被评估人本人"),
                "manager": ("their manager", "其直属经理"),
            }.get(who, (who, who))
    errors, seen = [], set()
    for index, email in enumerate(emails):
        path = f"{name}/{index}" if isinstance(value, list) else name
        if email not in active:
            errors.append(
                field_error(
                    path,
                    f"{email} is not an active person in the org chart.",
                    f"{email} 不在组织架构中或已停用。",
                    "x-person",
                )
            )
        elif email in excluded:
            en, zh = excluded[email]
            errors.append(
                field_error(
                    path, f"{email} is {en} and cannot be chosen here.", f"{email} 是{zh}，不能在此选择。", "x-person"
                )
            )
        elif email in seen:
            errors.append(field_error(path, f"{email} is listed twice.", f"{email} 重复出现。", "x-person"))
        seen.add(email)
    return errors


def context(
    schema: dict[str, Any], task_data: dict[str, Any], confidential: set[str], computed: dict[str, Any]
) -> dict[str, Any]:
    """The read-only values a form shows (`x-context`), never a confidential variable."""
    out: dict[str, Any] = {}
    for path in schema.get("x-context") or []:
        if not isinstance(path, str) or path.split(".")[0] in confidential:
            continue
        if path in computed:
            out[path] = computed[path]
        else:
            value = lookup(task_data, path)
            if value is not None:
                out[path] = value
    return out


def prefill(schema: dict[str, Any], visible: dict[str, Any]) -> dict[str, Any]:
    """What a new task's form shows before any draft: the task data under each field's own name (previous answers on
    a send-back), else under the path its `x-prefill-from` names (the peers an employee nominated, for the manager
    to confirm). `visible` holds no confidential or private variable."""
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if name in visible:
            out[name] = visible[name]
        elif isinstance(prop, dict) and isinstance(prop.get("x-prefill-from"), str):
            source = prop["x-prefill-from"]
            value = lookup(visible, source) if source.split(".")[0] in visible else None
            if value is not None:
                out[name] = value
    return out
