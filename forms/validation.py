"""Server-side validation of task forms (JSON Schema 2020-12 + FormatChecker) with one error per field."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable

from forms import bundle, conditions, patterns
from forms.limits import with_limits

EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
MAX_PATH = 200
MAX_ERRORS = 50  # per answer: a huge bad body must not become a huger error response
_NOTHING_TO_FETCH = bundle.registry({})  # refs never leave the (embedded) schema: no network, no files


def field_error(path: str, message: str, message_zh: str, code: str) -> dict[str, str]:
    """One per-field problem, as every 422 for a form carries it."""
    if len(path) > MAX_PATH:  # a path echoes the answer's own keys, which may be huge
        path = path[:MAX_PATH] + "…"
    return {"path": path, "message": message, "message_zh": message_zh, "code": code}


def _path(parts: Any) -> str:
    return "/".join(str(p) for p in parts)


def _messages(err: ValidationError) -> tuple[str, str]:
    """(English, Chinese) text for the common cases; jsonschema's own text otherwise."""
    v, val = err.validator, err.validator_value
    if v == "minLength":
        return (f"Please write at least {val} characters.", f"请至少填写 {val} 个字符。")
    if v == "maxLength":
        return (f"Please keep this to {val} characters or fewer.", f"请不要超过 {val} 个字符。")
    if v == "minimum":
        return (f"The lowest allowed value is {val}.", f"最小允许值为 {val}。")
    if v == "maximum":
        return (f"The highest allowed value is {val}.", f"最大允许值为 {val}。")
    if v == "minItems":
        return (f"Please add at least {val}.", f"请至少添加 {val} 项。")
    if v == "maxItems":
        return (f"Please add no more than {val}.", f"最多添加 {val} 项。")
    if v == "type":
        kind = {
            "string": "text",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "yes or no",
            "array": "a list",
            "object": "a group of fields",
        }.get(str(val), str(val))
        return (f"Expected {kind}.", "填写的内容类型不正确。")
    if v in ("enum", "oneOf", "const"):
        return ("Please choose one of the offered options.", "请从给出的选项中选择。")
    if v == "pattern":
        return ("This is not in the expected form.", "填写的格式不符合要求。")
    if v == "format":
        return (f"This is not a valid {val}.", f"格式不正确（{val}）。")
    text = err.message if len(err.message) <= 300 else err.message[:300] + "…"  # jsonschema quotes the answer
    return (text, text)


def served(name: str, files: dict[str, Any], *, max_length: int, max_items: int) -> dict[str, Any]:
    """The form `name` of a deployed bundle (`files`: every form file of the definition, parsed) as it is served for
    a task and validated on submit: one self-contained schema (referenced files embedded under `$defs`), a size
    limit on every text field and list, and no fields beyond the declared ones."""
    schema = with_limits(bundle.embed(name, files), max_length=max_length, max_items=max_items)
    schema["additionalProperties"] = False  # `validate` refuses undeclared fields; the served schema says so too
    return schema


def _broken(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(part: Any) -> str:
    return str(part).encode("utf-8", "backslashreplace").decode("utf-8")


def bad_text(data: Any, prefix: tuple[Any, ...] = ()) -> list[dict[str, str]]:
    """Fields holding text that cannot be stored (a lone UTF-16 surrogate such as "\\ud800" in the JSON)."""
    found: list[dict[str, str]] = []
    if isinstance(data, str) and _broken(data):
        found.append(
            field_error(
                "/".join(_shown(p) for p in prefix),
                "This text contains an invalid character (a lone UTF-16 surrogate); please retype or remove it.",
                "此处包含无效字符（单独的 UTF-16 代理字符），请重新输入或删除。",
                "unicode",
            )
        )
    elif isinstance(data, dict):
        for key, value in data.items():
            found += bad_text(key, (*prefix, key)) if isinstance(key, str) else []
            found += bad_text(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += bad_text(value, (*prefix, index))
    return found[:MAX_ERRORS]


def validate(schema: dict[str, Any], data: Any, registry: Registry | None = None) -> list[dict[str, str]]:
    """Every problem with `data`, each as `{"path", "message", "message_zh", "code"}`; empty when valid.

    Fields the form does not declare are refused at the top level even when the schema does not say
    `additionalProperties: false`, so a form can never write workflow variables it was not built for.
    """
    if not isinstance(data, dict):
        return [
            {
                "path": "",
                "message": "The form data must be a JSON object.",
                "message_zh": "表单数据必须是 JSON 对象。",
                "code": "type",
            }
        ]
    broken = bad_text(data)
    if broken:
        return broken  # nothing else can be checked (or stored) until the text is fixed
    errors: list[dict[str, str]] = []
    declared = set((schema.get("properties") or {}).keys())
    for extra in sorted(set(data) - declared):
        errors.append(
            {
                "path": extra,
                "message": "This form has no such field.",
                "message_zh": "此表单没有该字段。",
                "code": "additionalProperties",
            }
        )
    seen: set[tuple[str, str]] = set()
    validator = patterns.Validator(schema, format_checker=patterns.FORMATS, registry=registry or _NOTHING_TO_FETCH)
    try:
        found = list(validator.iter_errors(data))
    except Unresolvable as exc:
        return [
            field_error(
                "",
                f"This form refers to a schema that is not deployed with it ({exc}); ask HR to redeploy the diagram.",
                f"此表单引用了未随流程一起部署的结构（{exc}），请联系 HR 重新部署。",
                "ref",
            )
        ]
    for err in sorted(found, key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        if err.validator == "required":
            missing = [
                name for name in err.validator_value if isinstance(err.instance, dict) and name not in err.instance
            ]
            for name in missing:
                if ("required", _path([*err.absolute_path, name])) in seen:
                    continue
                seen.add(("required", _path([*err.absolute_path, name])))
                en, zh = "This field is required.", "此项为必填。"
                branch = {"then", "else"} & set(map(str, err.relative_schema_path))
                because = conditions.required_because(schema, name) if branch and not err.absolute_path else None
                if because:  # required by an answer given elsewhere on the form: say which
                    en, zh = because
                errors.append(field_error(_path([*err.absolute_path, name]), en, zh, "required"))
            continue
        if err.validator == "additionalProperties" and not err.absolute_path:
            continue  # already reported per field above
        if err.validator == "additionalProperties":
            props = set((err.schema.get("properties") or {}).keys()) if isinstance(err.schema, dict) else set()
            extras = sorted(set(err.instance) - props) if isinstance(err.instance, dict) else []
            for name in extras:
                errors.append(
                    field_error(
                        _path([*err.absolute_path, name]),
                        "This form has no such field.",
                        "此表单没有该字段。",
                        "additionalProperties",
                    )
                )
            continue
        forbidden = (
            err.validator_value.get("required")
            if err.validator == "not" and isinstance(err.validator_value, dict)
            else None
        )
        if isinstance(forbidden, list):  # "this field must stay empty for the choice made" (if/else + not/required)
            for name in forbidden:
                errors.append(
                    field_error(
                        _path([*err.absolute_path, name]),
                        "Please leave this empty for the choice you made.",
                        "按你的选择，此项请留空。",
                        "not",
                    )
                )
            continue
        en, zh = _messages(err)
        errors.append(field_error(_path(err.absolute_path), en, zh, str(err.validator)))
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS] + [
            field_error("", f"…and {more} more problems like these.", f"……另有 {more} 处类似问题。", "more")
        ]
    return errors


def check_schema(schema: Any) -> str | None:
    """Why `schema` is not a usable form schema, or None."""
    if not isinstance(schema, dict):
        return "a form schema must be a JSON object"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    if schema.get("type", "object") != "object":
        return 'a form schema must describe an object ("type": "object")'
    for found in patterns.patterns_in(schema):
        reason = patterns.unsupported(found)
        if reason:
            return (
                f"the pattern '{found}' cannot be run safely ({reason}); patterns may not use look-ahead, "
                "look-behind or backreferences"
            )
    if patterns.has_keyword(schema, "patternProperties") and patterns.has_keyword(schema, "unevaluatedProperties"):
        return "patternProperties cannot be combined with unevaluatedProperties in a form"
    return None
