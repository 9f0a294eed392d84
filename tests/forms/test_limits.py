"""Every text field and list of a form has a size limit, the form's own or the default, stated in the schema."""

from __future__ import annotations

from forms.limits import with_limits
from forms.validation import validate

FORM = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "title": {"type": "string", "maxLength": 80},
        "essay": {"type": "string", "maxLength": 50_000},
        "tags": {"type": "array", "items": {"type": "string"}},
        "goals": {
            "type": "array",
            "maxItems": 5,
            "items": {"type": "object", "properties": {"what": {"type": ["string", "null"]}}},
        },
        "anything": {"title": "Free field without a type"},
        "choice": {"oneOf": [{"const": "a"}, {"const": "b"}]},
        "score": {"type": "integer"},
    },
    "$defs": {"note": {"type": "string"}},
}


def test_defaults_fill_only_what_the_form_leaves_open():
    out = with_limits(FORM, max_length=100, max_items=3)
    props = out["properties"]
    assert props["summary"]["maxLength"] == 100
    assert props["title"]["maxLength"] == 80 and props["essay"]["maxLength"] == 50_000  # the form's own word wins
    assert props["tags"]["maxItems"] == 3 and props["tags"]["items"]["maxLength"] == 100
    assert props["goals"]["maxItems"] == 5 and props["goals"]["items"]["properties"]["what"]["maxLength"] == 100
    assert props["anything"]["maxLength"] == 100 and props["anything"]["maxItems"] == 3
    assert "maxLength" not in props["score"] and "maxLength" not in props["choice"]["oneOf"][0]
    assert out["$defs"]["note"]["maxLength"] == 100
    assert "maxLength" not in FORM["properties"]["summary"]  # the deployed file is left as it was


def test_over_the_limit_is_refused_naming_the_field_in_both_languages():
    schema = with_limits(FORM, max_length=100, max_items=3)
    errors = validate(schema, {"summary": "字" * 101, "tags": ["a", "b", "c", "d"], "anything": "x" * 101})
    assert [(e["path"], e["code"]) for e in errors] == [
        ("anything", "maxLength"),
        ("summary", "maxLength"),
        ("tags", "maxItems"),
    ]
    assert "100" in errors[1]["message"] and "100" in errors[1]["message_zh"]
    assert validate(schema, {"summary": "字" * 100, "tags": ["a", "b", "c"]}) == []
