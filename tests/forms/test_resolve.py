"""The served schema says with standard JSON Schema what the house keywords say: a client that knows only JSON Schema
sees the counts, the items to answer, the choices and who may not be named, in its reader's language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from forms.resolve import needs_data, resolve
from forms.validation import served

SCHEMAS = Path(__file__).parents[2] / "forms" / "schemas"
DATA = {
    "subject": {"email": "Ana@Example.test"},
    "manager": {"email": "boss@example.test"},
    "goals": [{"title": "Ship it"}, {"title": "Mentor"}],
    "settings": {
        "goals": {"min": 4, "max": 9},
        "nominations": {"min": 2, "max": 3},
        "competencies": [{"id": "ownership", "title": {"en": "Ownership", "zh-CN": "主人翁精神"}}],
        "company_goals": [{"id": "G1", "title": {"en": "Grow", "zh-CN": "增长"}}],
        "calibration_reasons": [],
    },
    "members": ["a@example.test"],
}


def form(name: str, data: dict[str, Any] = DATA, locale: str = "en") -> dict[str, Any]:
    files = {name: json.loads((SCHEMAS / name).read_text())}
    schema = resolve(served(name, files, max_length=10_000, max_items=200), data, locale)
    Draft202012Validator.check_schema(schema)
    return schema


def valid(schema: dict[str, Any], value: Any) -> bool:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)


GOAL = {"title": "Ship", "description": "d", "metric": "m", "target": "t", "due_date": "2027-01-31", "weight": 25}


def test_bounds_from_the_cycle_narrow_the_static_ones():
    goals = form("goals-draft.schema.json")["properties"]["goals"]
    assert (goals["minItems"], goals["maxItems"]) == (4, 7)  # the cycle's min, the form's own max
    assert "x-bounds-from" not in goals
    schema = form("goals-draft.schema.json")
    assert not valid(schema, {"goals": [GOAL] * 3}) and valid(schema, {"goals": [GOAL] * 4})


def test_one_answer_per_item_with_each_item_named():
    ratings = form("self-review.schema.json", locale="zh-CN")["properties"]
    goals, competencies = ratings["self_goal_ratings"], ratings["self_competency_ratings"]
    assert (goals["minItems"], goals["maxItems"]) == (2, 2)
    assert [p["title"] for p in goals["prefixItems"]] == ["1/2: Ship it", "2/2: Mentor"]
    assert competencies["prefixItems"][0]["title"] == "1/1: 主人翁精神"
    rating = goals["prefixItems"][0]["properties"]["rating"]
    assert [c["const"] for c in rating["oneOf"]] == [1, 2, 3, 4, 5]
    assert rating["oneOf"][2]["title"] == "3 · 达成"


def test_choices_from_the_cycle_in_the_readers_language():
    for locale, title in (("en", "Grow"), ("zh-CN", "增长")):
        item = form("goals-draft.schema.json", locale=locale)["properties"]["goals"]["items"]
        assert item["properties"]["aligned_to"]["oneOf"] == [{"const": "G1", "title": title}]
    schema = form("goals-draft.schema.json")
    assert valid(schema, {"goals": [{**GOAL, "aligned_to": "G1"}] * 4})
    assert not valid(schema, {"goals": [{**GOAL, "aligned_to": "G9"}] * 4})


def test_nothing_to_choose_drops_the_field_or_the_rows():
    bare = {**DATA, "settings": {**DATA["settings"], "company_goals": []}}
    item = form("goals-draft.schema.json", bare)["properties"]["goals"]["items"]
    assert "aligned_to" not in item["properties"]  # optional: not offered at all
    changes = form("calibration-session.schema.json")["properties"]["changes"]  # no reason codes: no change possible
    assert changes["maxItems"] == 0 and changes["items"]["properties"]["reason_code"] is False


def test_people_who_may_not_be_named():
    nominees = form("feedback-nominate.schema.json")["properties"]["nominees"]
    assert (nominees["minItems"], nominees["maxItems"]) == (2, 3)
    assert nominees["items"]["format"] == "email"
    assert nominees["items"]["not"] == {"enum": ["ana@example.test", "boss@example.test"]}


def test_titles_follow_the_reader_and_the_stored_keywords_stay_put():
    stored = json.loads((SCHEMAS / "results-acknowledge.schema.json").read_text())
    zh = form("results-acknowledge.schema.json", locale="zh-CN")
    assert zh["title"] == stored["x-i18n"]["zh-CN"]["title"]
    choice = zh["properties"]["ack_decision"]["oneOf"][1]
    assert choice["title"] == choice["x-i18n"]["zh-CN"]["title"]
    assert "then" in zh and zh["then"]["required"] == ["appeal_reason"]  # required when appealing, said by the schema
    assert needs_data(stored) is False and needs_data(json.loads((SCHEMAS / "goals-draft.schema.json").read_text()))
    assert "x-bounds-from" in json.loads((SCHEMAS / "goals-draft.schema.json").read_text())["properties"]["goals"]
