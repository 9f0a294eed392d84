"""A field a form requires only for some answers says so, on the page and when it is missing."""

from __future__ import annotations

import json
from pathlib import Path

from api.web import formkit
from forms import bundle
from forms.validation import validate

SCHEMAS = Path(__file__).resolve().parents[2] / "forms" / "schemas"


def _form(name: str) -> dict:
    files = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.schema.json")}
    return bundle.embed(name, files)


def test_a_missing_decline_reason_is_refused_with_the_choice_that_made_it_required() -> None:
    schema = _form("feedback-peer.schema.json")
    [error] = [e for e in validate(schema, {"declined": True}) if e["path"] == "decline_reason"]
    assert error["code"] == "required"
    assert error["message"] != "This field is required." and "Yes" in error["message"]
    assert "必填" in error["message_zh"] and "是" in error["message_zh"]


def test_answers_required_unless_the_rater_declines_say_so() -> None:
    schema = _form("feedback-peer.schema.json")
    by_path = {e["path"]: e for e in validate(schema, {"declined": False})}
    assert by_path["strengths"]["message"].startswith("Required unless")
    assert by_path["strengths"]["message_zh"].startswith("除非")


def test_an_appeal_reason_is_marked_as_required_for_an_appeal_not_as_optional() -> None:
    schema = _form("results-acknowledge.schema.json")
    words = formkit.conditional(schema)
    en, zh = words["appeal_reason"]
    assert en.startswith("Required if") and "必填" in zh
    assert "ack_decision" not in words  # an unconditional field is not listed


def test_an_unconditionally_required_field_keeps_the_plain_message() -> None:
    schema = _form("results-acknowledge.schema.json")
    [error] = [e for e in validate(schema, {}) if e["path"] == "ack_decision"]
    assert error["message"] == "This field is required."
