"""HR corrects a cycle's settings after creation: `PATCH /api/cycles/{id}/settings`, checked as at create and
audited with the before/after of each changed key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import audit
from engine.audit.log import AuditEvent
from engine.store.models import Cycle
from tests import factories as f

pytestmark = pytest.mark.both_dbs
EMPLOYEE = "designer1@initech.test"


@pytest.fixture
def cycle(session) -> Cycle:
    f.org(session)
    settings = {"goals": {"min": 2, "max": 5}, "reminders": {"before_days": [3], "grace_days": 2}}
    return f.launched(session, f.deploy(session), [EMPLOYEE], settings=settings)


def patch(client, session, cycle_id: int, body, email: str = f.HR):
    return client.patch(f"/api/cycles/{cycle_id}/settings", headers=f.token(session, email), json=body)


def events(session, cycle_id: int) -> list[dict]:
    session.rollback()
    query = select(AuditEvent).where(AuditEvent.cycle_id == cycle_id, AuditEvent.action == "cycle.settings_changed")
    return [o.payload for o in audit.reveal(session, session.scalars(query).all())]


def test_a_partial_change_keeps_the_rest_and_is_audited_before_and_after(client, session, cycle):
    r = patch(client, session, cycle.id, {"goals": {"max": 6}, "reminders": {"grace_days": 4}})
    assert r.status_code == 200, r.text
    settings = r.json()["settings"]
    assert settings["goals"] == {"min": 2, "max": 6}  # min kept from the cycle, not reset to the default
    assert settings["reminders"]["before_days"] == [3] and settings["reminders"]["grace_days"] == 4
    # goals were frozen into the review already started; reminders are read from the cycle when sent
    assert [w.split(":")[0] for w in r.json()["warnings"]] == ["goals"]
    (payload,) = events(session, cycle.id)
    assert payload["changed"]["goals"] == {"before": {"min": 2, "max": 5}, "after": {"min": 2, "max": 6}}
    assert set(payload["changed"]) == {"goals", "reminders"}
    session.expire_all()
    assert session.get(Cycle, cycle.id).settings["goals"]["max"] == 6

    again = patch(client, session, cycle.id, {"goals": {"max": 6}})
    assert again.status_code == 200 and again.json()["warnings"] == []
    assert len(events(session, cycle.id)) == 1  # nothing changed, nothing recorded


def test_a_formula_that_fails_on_a_sample_is_refused_and_nothing_changes(client, session, cycle):
    r = patch(client, session, cycle.id, {"score": {"formula": "goal / (self - manager)"}})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["path"] == "settings/score/formula" and "goal / (self - manager)" in error["message"]
    assert "ZeroDivisionError" in error["message"] and "评分公式" in error["message_zh"]
    assert events(session, cycle.id) == []
    assert session.get(Cycle, cycle.id).settings["score"] == {"formula": "(goal + feedback + self) / 3"}


def test_the_score_is_replaced_whole(client, session, cycle):
    r = patch(client, session, cycle.id, {"score": {"weights": {"manager": 2, "goal": 1}}})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["score"] == {"weights": {"manager": 2, "goal": 1}}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"colour": "red"}, "settings/colour"),
        ({"goals": {"min": 9, "max": 3}}, "settings/goals/min"),
        ({}, "settings"),
    ],
)
def test_bad_changes_are_refused_per_field(client, session, cycle, body, path):
    r = patch(client, session, cycle.id, body)
    assert r.status_code == 422, r.text
    assert path in {e["path"] for e in r.json()["errors"]}
    assert events(session, cycle.id) == []


def test_only_hr_may_change_settings(client, session, cycle):
    assert patch(client, session, cycle.id, {"pip_threshold": 3}, EMPLOYEE).status_code == 403
    assert patch(client, session, cycle.id, {"pip_threshold": 3}, f.DESIGNER).status_code == 403
    assert events(session, cycle.id) == []
