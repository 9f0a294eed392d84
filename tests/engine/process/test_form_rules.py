"""The review-cycle form keywords, checked against the org chart and the cycle's settings."""

from __future__ import annotations

import pytest

from engine.core.errors import InvalidInput
from engine.process import form_rules
from engine.review import cycle_settings
from tests import factories as f

SETTINGS = cycle_settings.validate(
    {"nominations": {"min": 2, "max": 3}, "company_goals": [{"id": "G1", "title": {"en": "Grow", "zh-CN": "增长"}}]}
)
TASK_DATA = {
    "subject": {"email": "designer1@initech.test"},
    "manager": {"email": "design.lead@initech.test"},
    "settings": SETTINGS,
    "goals": [{"title": "a"}, {"title": "b"}],
}
SCHEMA = {
    "x-total": [{"path": "goals", "field": "weight", "equals": 100}],
    "properties": {
        "goals": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"aligned_to": {"type": "string", "x-choices-from": "settings.company_goals"}},
            },
        },
        "nominees": {
            "type": "array",
            "items": {"type": "string", "x-person": {"exclude": ["subject", "manager"]}},
            "x-bounds-from": {"min": "settings.nominations.min", "max": "settings.nominations.max"},
        },
        "goal_ratings": {"type": "array", "x-items-from": "goals"},
        "aligned_to": {"type": "string", "x-choices-from": "settings.company_goals"},
    },
}


def errors(session, data):
    return {(e["path"], e["code"]) for e in form_rules.check(session, SCHEMA, data, TASK_DATA)}


def test_goal_weights_must_total_one_hundred(session):
    assert errors(session, {"goals": [{"weight": 60}, {"weight": 30}]}) == {("goals", "x-total")}
    assert errors(session, {"goals": [{"weight": 60}, {"weight": 40}]}) == set()


def test_nominees_are_active_people_other_than_the_subject_and_manager(session):
    f.org(session, extra_peers=3)
    ok = ["peer0@initech.test", "peer1@initech.test"]
    assert errors(session, {"nominees": ok}) == set()
    assert errors(
        session, {"nominees": ["designer1@initech.test", "design.lead@initech.test", "ghost@initech.test"]}
    ) == {("nominees/0", "x-person"), ("nominees/1", "x-person"), ("nominees/2", "x-person")}
    assert errors(session, {"nominees": ["peer0@initech.test", "PEER0@initech.test"]}) == {("nominees/1", "x-person")}
    message = form_rules.check(
        session, SCHEMA, {"nominees": ["designer1@initech.test", "peer0@initech.test"]}, TASK_DATA
    )[0]
    assert "person under review" in message["message"] and "被评估人" in message["message_zh"]


def test_counts_come_from_the_cycle_settings_and_earlier_answers(session):
    f.org(session, extra_peers=4)
    four = [f"peer{i}@initech.test" for i in range(4)]
    assert errors(session, {"nominees": four[:1]}) == {("nominees", "x-bounds-from")}
    assert errors(session, {"nominees": four}) == {("nominees", "x-bounds-from")}
    assert errors(session, {"goal_ratings": [{"rating": 3}]}) == {("goal_ratings", "x-items-from")}
    assert errors(session, {"goal_ratings": [{"rating": 3}, {"rating": 4}]}) == set()


def test_alignment_must_name_a_published_company_goal(session):
    assert errors(session, {"aligned_to": "G1"}) == set()
    assert errors(session, {"aligned_to": ""}) == set()
    assert errors(session, {"aligned_to": "G9"}) == {("aligned_to", "x-choices-from")}
    goals = [{"weight": 50, "aligned_to": "G1"}, {"weight": 50, "aligned_to": "nope"}]
    assert errors(session, {"goals": goals}) == {("goals/1/aligned_to", "x-choices-from")}


def test_context_never_shows_confidential_answers():
    schema = {"x-context": ["goals", "peer_feedback", "feedback_summary", "settings.nominations.max"]}
    data = {**TASK_DATA, "peer_feedback": [{"comment": "secret"}]}
    shown = form_rules.context(schema, data, {"peer_feedback"}, {"feedback_summary": {"peer": {"hidden": True}}})
    assert shown == {
        "goals": TASK_DATA["goals"],
        "feedback_summary": {"peer": {"hidden": True}},
        "settings.nominations.max": 3,
    }


def test_cycle_settings_are_checked_field_by_field():
    with pytest.raises(InvalidInput) as bad:
        cycle_settings.validate(
            {
                "nominations": {"min": 5, "max": 2},
                "anonymity": {"peer": 1},
                "score": {"formula": "__import__('os')"},
                "pip_threshold": 11,
                "colour": "red",
            }
        )
    assert {e["path"] for e in bad.value.errors} == {
        "settings/nominations/min",
        "settings/anonymity/peer",
        "settings/score/formula",
        "settings/pip_threshold",
        "settings/colour",
    }
    with pytest.raises(InvalidInput):
        cycle_settings.validate({"score": {"weights": {"goal": 0, "self": 0}}})


def test_final_score_follows_the_cycle_formula_or_weights():
    default = cycle_settings.DEFAULTS["score"]
    assert cycle_settings.final_score(default, {"goal": 4, "feedback": 3, "self": 5, "manager": 4}) == 4.0
    weights = {"weights": {"goal": 1, "manager": 3}}
    assert cycle_settings.final_score(weights, {"goal": 2, "manager": 4, "self": 5, "feedback": None}) == 3.5
    assert cycle_settings.final_score(default, {"goal": None, "feedback": None, "self": None, "manager": None}) is None
