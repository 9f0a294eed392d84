"""`$ref` in forms: only into the deployed files, never fetched (a canary HTTP server counts requests); the served
schema embeds what it refers to, so standard JSON Schema validates it exactly as the server does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from forms import bundle
from forms.validation import served, validate
from tests.canary import http_canary


@pytest.fixture
def canary() -> Iterator[dict[str, Any]]:
    with http_canary() as server:
        yield server


def _form(ref: str) -> dict[str, Any]:
    return {"type": "object", "required": ["note"], "properties": {"note": {"$ref": ref}}}


def test_a_remote_ref_is_never_fetched_when_validating(canary):
    errors = validate(_form(canary["url"]), {"note": 42})
    assert canary["seen"] == []
    assert [e["code"] for e in errors] == ["ref"] and errors[0]["message_zh"]


@pytest.mark.parametrize("kind", ["http", "file", "missing", "pointer", "anchor"])
def test_refs_outside_the_bundle_are_refused_naming_the_ref(canary, kind):
    ref = {
        "http": canary["url"],
        "file": "file:///etc/passwd",
        "missing": "other.schema.json#/$defs/note",
        "pointer": "common.schema.json#/$defs/nothing",
        "anchor": "common.schema.json#note",
    }[kind]
    files = {"form.schema.json": _form(ref), "common.schema.json": {"$defs": {"note": {"type": "string"}}}}
    [problem] = bundle.problems("form.schema.json", files)
    assert f"'{ref}'" in problem
    assert canary["seen"] == []


COMMON = {
    "$id": "https://example.test/common.json",
    "$defs": {
        "note": {"type": "string", "minLength": 3},
        "notes": {"type": "array", "items": {"$ref": "#/$defs/note"}},
        "rated": {"type": "object", "properties": {"why": {"$ref": "#/$defs/note"}, "score": {"$ref": "scale.json"}}},
    },
}
FILES = {
    "form.schema.json": {
        "type": "object",
        "required": ["note"],
        "properties": {
            "note": {"$ref": "common.schema.json#/$defs/note"},
            "more": {"$ref": "common.schema.json#/$defs/notes"},
            "rated": {"$ref": "common.schema.json#/$defs/rated"},
            "again": {"$ref": "#/properties/note"},
        },
    },
    "common.schema.json": COMMON,
    "scale.json": {"type": "integer", "minimum": 1, "maximum": 5},
    "unused.schema.json": {"type": "object"},
}


def test_refs_inside_the_bundle_are_accepted():
    assert bundle.problems("form.schema.json", FILES) == []


@pytest.mark.parametrize(
    "data",
    [
        {"note": "fine", "more": ["okay", "also"], "rated": {"why": "because", "score": 4}, "again": "yes"},
        {"note": "no"},
        {"note": "fine", "more": ["okay", "x"]},
        {"note": "fine", "rated": {"why": "because", "score": 9}},
        {"note": "fine", "again": "x" * 10_001},
        {"note": "fine", "extra": 1},
        {},
    ],
)
def test_the_served_schema_is_self_contained_and_validates_as_the_server_does(data):
    schema = served("form.schema.json", FILES, max_length=10_000, max_items=200)
    assert "$ref" not in str({k: v for k, v in schema.items() if k != "$defs"}).replace("'$ref': '#/", "")
    assert all(r.startswith("#") for r in bundle.refs_in(schema))
    assert "unused.schema.json" not in str(schema)
    standard = Draft202012Validator(schema)  # no registry, nothing to fetch: only standard JSON Schema
    assert standard.is_valid(data) == (validate(schema, data) == [])


def test_a_ref_deployed_before_the_check_is_served_as_it_is_and_never_fetched(canary):
    schema = served("f.json", {"f.json": _form(canary["url"])}, max_length=10, max_items=2)
    assert schema["properties"]["note"]["$ref"] == canary["url"]
    assert [e["code"] for e in validate(schema, {"note": 1})] == ["ref"]
    assert canary["seen"] == []
