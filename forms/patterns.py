"""Form regexes (`pattern`, `patternProperties`, `format: regex`) run on RE2, which answers in time linear in the
input: Python's `re` backtracks, and `^(a+)+$` against 41 `a`s and a `!` takes it minutes. RE2 has no look-around
and no backreferences; deploy refuses patterns that use them (`unsupported`), so a form never needs `re`."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the deployer, not logged to stderr


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def unsupported(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern` (look-around, backreferences, bad syntax), or None."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


_SKIP = {"const", "enum", "default", "examples"}  # values, not schemas: a "pattern" key in them is data


def patterns_in(schema: Any) -> Iterator[str]:
    """Every `pattern` and `patternProperties` regex in a schema (not inside `const`, `enum`, `x-` values...)."""
    if isinstance(schema, list):
        for item in schema:
            yield from patterns_in(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key in _SKIP or key.startswith("x-"):
            continue
        if key == "pattern" and isinstance(value, str):
            yield value
        elif key == "patternProperties" and isinstance(value, dict):
            yield from value
            yield from patterns_in(list(value.values()))
        elif key == "properties" and isinstance(value, dict):
            yield from patterns_in(list(value.values()))  # a field may be *named* "pattern"
        else:
            yield from patterns_in(value)


def has_keyword(schema: Any, keyword: str) -> bool:
    """Whether `keyword` is used anywhere in a schema (values such as `const` aside)."""
    if isinstance(schema, list):
        return any(has_keyword(s, keyword) for s in schema)
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key in _SKIP or key.startswith("x-"):
            continue
        if key == keyword:
            return True
        children = list(value.values()) if key in ("properties", "patternProperties", "$defs") else value
        if isinstance(children, dict | list) and has_keyword(children, keyword):
            return True
    return False


def _pattern(validator: Any, patrn: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(patrn, instance):
        yield ValidationError(f"{instance[:80]!r} does not match {patrn!r}")


def _pattern_properties(validator: Any, props: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in props.items():
        for key, value in instance.items():
            if search(patrn, key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def _additional_properties(validator: Any, aP: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patrns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in declared and not any(search(p, k) for p in patrns)]
    if validator.is_type(aP, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], aP, path=extra)
    elif aP is False and extras:
        shown = ", ".join(repr(e[:80]) for e in sorted(extras)[:10])
        yield ValidationError(f"Additional properties are not allowed ({shown} unexpected)")


FORMATS = FormatChecker()


@FORMATS.checks("regex", raises=re2.error)  # type: ignore[untyped-decorator]  # jsonschema ships no types
def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or re2.compile(instance, _OPTIONS) is not None  # an answer: not cached


Validator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
)
