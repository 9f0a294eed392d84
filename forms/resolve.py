"""The form schema as served for one task and one reader: the house keywords resolved against the task's data into
standard JSON Schema, so a client that knows only JSON Schema (a generic renderer, a bot, a script) can fill the form
and have it accepted (forms/README.md, "Served schemas"). The stored schema keeps the keywords for designers.

- `x-bounds-from` becomes `minItems`/`maxItems` (the narrower of the static and the cycle's bounds);
- `x-items-from` becomes a fixed length (`minItems` = `maxItems`) and one `prefixItems` entry per source item, titled
  with that item (the rating of goal 2 says which goal it rates);
- `x-choices-from` becomes `oneOf` of `{"const", "title"}`; a field with nothing to choose from is dropped (or, when
  it is required, cannot be given: `false`, and a list of such rows gets `maxItems: 0`);
- `x-person` with `exclude` adds `not: {enum: [...]}` of the excluded people's e-mail addresses;
- `x-bars` ratings get `oneOf` of their anchors (`const`, the label as `title`, the behaviour as `description`);
- `title`/`description` (the schema's, every field's, every choice's) are given in the reader's language.
Annotations a standard validator ignores stay (`x-i18n`, `x-bars`, `x-person`, `x-total`, `x-context`, ...)."""

from __future__ import annotations

import copy
from typing import Any

from forms.bundle import walk

RESOLVED = ("x-bounds-from", "x-items-from", "x-choices-from")  # replaced by standard keywords when served
_ARRAY_DATA = ("x-bounds-from", "x-items-from")


def lookup(data: Any, path: str) -> Any:
    """A value at a dotted path of task data (`settings.nominations.min`), or None."""
    value: Any = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def needs_data(schema: Any) -> bool:
    """Whether serving `schema` needs the task's data (it names counts, items, choices or people to exclude)."""
    found: list[bool] = []

    def visit(s: dict[str, Any]) -> None:
        person = s.get("x-person")
        found.append(any(k in s for k in RESOLVED) or (isinstance(person, dict) and bool(person.get("exclude"))))

    walk(schema, visit)
    return any(found)


def text(value: Any, locale: str) -> str | None:
    """An `{"en": ..., "zh-CN": ...}` text in `locale` (falling back to English); a plain string as it is."""
    if isinstance(value, dict):
        chosen = value.get(locale) or value.get("en") or next((v for v in value.values() if isinstance(v, str)), None)
        return chosen if isinstance(chosen, str) else None
    return value if isinstance(value, str) else None


def _localize(s: dict[str, Any], locale: str) -> None:
    local = (s.get("x-i18n") or {}).get(locale) if isinstance(s.get("x-i18n"), dict) else None
    for key in ("title", "description"):
        if isinstance(local, dict) and isinstance(local.get(key), str):
            s[key] = local[key]


def _bars(s: dict[str, Any], locale: str) -> None:
    """A rating's anchors as its choices (the same integers: `minimum`/`maximum` stay beside them)."""
    bars = s.get("x-bars")
    if not isinstance(bars, list) or any(k in s for k in ("oneOf", "anyOf", "enum", "const")):
        return
    choices = []
    for bar in bars:
        if not isinstance(bar, dict) or not isinstance(bar.get("value"), int) or isinstance(bar["value"], bool):
            return
        choice: dict[str, Any] = {"const": bar["value"]}
        label, behaviour = text(bar.get("label"), locale), text(bar.get("behaviour"), locale)
        if label:
            choice["title"] = f"{bar['value']} · {label}"
        if behaviour:
            choice["description"] = behaviour
        choices.append(choice)
    if choices:
        s["oneOf"] = choices


def _bounds(s: dict[str, Any], data: Any) -> None:
    rule = s.pop("x-bounds-from", None)
    if not isinstance(rule, dict):
        return
    low, high = lookup(data, str(rule.get("min", ""))), lookup(data, str(rule.get("max", "")))
    if isinstance(low, int) and not isinstance(low, bool):
        s["minItems"] = max(low, s.get("minItems", 0))
    if isinstance(high, int) and not isinstance(high, bool):
        s["maxItems"] = min(high, s["maxItems"]) if isinstance(s.get("maxItems"), int) else high


def _item_title(entry: Any, index: int, count: int, locale: str) -> str:
    name = text(entry.get("title") or entry.get("name") or entry.get("id"), locale) if isinstance(entry, dict) else None
    name = name or (entry if isinstance(entry, str) else None)
    return f"{index + 1}/{count}: {name}" if name else f"{index + 1}/{count}"


def _items_from(s: dict[str, Any], data: Any, locale: str) -> None:
    source = s.pop("x-items-from", None)
    if not isinstance(source, str):
        return
    entries = lookup(data, source)
    entries = entries if isinstance(entries, list) else []
    s["minItems"] = s["maxItems"] = len(entries)
    item: dict[str, Any] = s["items"] if isinstance(s.get("items"), dict) else {}
    positions = []
    for index, entry in enumerate(entries):
        position = copy.deepcopy(item)
        _localize(position, locale)
        position.pop("x-i18n", None)  # its own title below: which item of the source this answer is about
        position["title"] = _item_title(entry, index, len(entries), locale)
        positions.append(position)
    s["prefixItems"] = positions


def _choices(s: dict[str, Any], data: Any, locale: str) -> bool:
    """Turn `x-choices-from` into `oneOf`; False when there is nothing to choose from."""
    source = s.pop("x-choices-from", None)
    if not isinstance(source, str):
        return True
    options = lookup(data, source)
    choices: list[dict[str, Any]] = []
    for option in options if isinstance(options, list) else []:
        value = option.get("id") if isinstance(option, dict) else option
        if value is None or any(c["const"] == value for c in choices):
            continue
        title = text(option.get("title"), locale) if isinstance(option, dict) else None
        choices.append({"const": value, "title": title or str(value)})
    if not choices:
        return False
    s.pop("enum", None)
    s["oneOf"] = choices
    return True


def _people(s: dict[str, Any], data: Any) -> None:
    rule = s.get("x-person")
    if not isinstance(rule, dict):
        return
    target = s["items"] if s.get("type") == "array" and isinstance(s.get("items"), dict) else s
    target.setdefault("format", "email")
    excluded = [lookup(data, f"{who}.email") for who in rule.get("exclude") or [] if isinstance(who, str)]
    emails = sorted({e.lower() for e in excluded if isinstance(e, str)})
    if emails:
        target["not"] = {"enum": emails}


def _fields(s: dict[str, Any], data: Any, locale: str) -> None:
    """Fields whose choices come from the task's data; one with nothing to choose from is dropped (or forbidden when
    required); a list of objects that can then hold no row gets `maxItems: 0`."""
    props = s.get("properties")
    if not isinstance(props, dict):
        return
    required: list[Any] = s["required"] if isinstance(s.get("required"), list) else []
    for name in list(props):
        prop = props[name]
        if isinstance(prop, dict) and "x-choices-from" in prop and not _choices(prop, data, locale):
            if name in required:
                props[name] = False
            else:
                del props[name]
        elif isinstance(prop, dict) and isinstance(prop.get("items"), dict):
            items = prop["items"]
            _fields(items, data, locale)
            inner = items.get("properties") or {}
            if any(inner.get(n) is False for n in items.get("required") or []):
                prop["maxItems"] = 0


def resolve(schema: dict[str, Any], data: dict[str, Any], locale: str = "en") -> dict[str, Any]:
    """`schema` (a served form, forms/validation.py `served`) resolved for a task with workflow data `data`, its
    texts in `locale` ("en" or "zh-CN"). Pure: the caller finds the task's data."""
    out = copy.deepcopy(schema)

    def choices(s: dict[str, Any]) -> None:
        _fields(s, data, locale)

    def visit(s: dict[str, Any]) -> None:
        _localize(s, locale)
        _bars(s, locale)
        _bounds(s, data)
        _people(s, data)
        if "x-items-from" in s:
            _items_from(s, data, locale)

    walk(out, choices)  # first: drops fields, so the second pass never sees them
    walk(out, visit)
    return out
