"""Server-side validation of task forms (JSON Schema 2020-12 + FormatChecker) with one error per field."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
_FORMATS = FormatChecker()


def field_error(path: str, message: str, message_zh: str, code: str) -> dict[str, str]:
    """One per-field problem, as every 422 for a form carries it."""
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
    if v == "format":
        return (f"This is not a valid {val}.", f"格式不正确（{val}）。")
    return (err.message, err.message)


def validate(schema: dict[str, Any], data: Any) -> list[dict[str, str]]:
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
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    for err in sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        if err.validator == "required":
            missing = [
                name for name in err.validator_value if isinstance(err.instance, dict) and name not in err.instance
            ]
            for name in missing:
                if ("required", _path([*err.absolute_path, name])) in seen:
                    continue
                seen.add(("required", _path([*err.absolute_path, name])))
                errors.append(
                    field_error(
                        _path([*err.absolute_path, name]), "This field is required.", "此项为必填。", "required"
                    )
                )
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
    return None
