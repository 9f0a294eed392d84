"""Erasure (PIPL / GDPR) over HTTP, on SQLite and PostgreSQL: one HR admin asks, a second approves (the asker cannot,
a non-HR person gets 403); afterwards no text or JSON column of any table holds the person's name, email or an answer
they wrote, scores stay, and the audit chain still verifies with its redacted events counted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, select

from engine.org import accounts
from engine.store.all_models import metadata
from engine.store.models import Person, Task
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER = "designer1@initech.test", "designer2@initech.test"
SECOND_HR = "second.hr@initech.test"
ANSWER = "Quietly rebuilt the zebra-stripe renderer 斑马渲染器 over the holidays"


def _texts(value: Any) -> str:
    """A value as text a reader would search: JSON decoded (so \\u escapes read as the characters)."""
    if isinstance(value, str):
        try:
            return value + json.dumps(json.loads(value), ensure_ascii=False) if value[:1] in "{[" else value
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)


def traces(session, needles: list[str]) -> list[str]:
    """Every text/JSON value of every table that still holds one of the needles (case-insensitive)."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            for row in session.execute(select(*table.primary_key.columns, column).where(column.is_not(None))):
                text = _texts(row[-1]).casefold()
                found += [f"{table.name}.{column.name} {tuple(row[:-1])}: {n}" for n in needles if n.casefold() in text]
    return found


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    f.org(session)
    accounts.create_account(session, email=SECOND_HR, roles=["hr_admin"], password=None, actor="test")
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE, OTHER])
    who = {e: f.token(session, e) for e in (EMPLOYEE, OTHER, f.HR, SECOND_HR)}
    for email in (EMPLOYEE, OTHER):
        [task] = client.get("/api/tasks", headers=who[email]).json()["items"]
        progress = ANSWER if email == EMPLOYEE else "Tidied the backlog with the team"
        r = client.post(
            f"/api/tasks/{task['id']}/complete",
            headers=who[email],
            json={"data": {"progress": progress, "blockers": [], "mood": 4 if email == EMPLOYEE else 2}},
        )
        assert r.status_code == 200, r.text
    person = session.scalar(select(Person).where(Person.email == EMPLOYEE))
    return {"who": who, "person": person.id, "name": person.name, "cycle": cycle.id}


def test_erasure_needs_a_second_hr_admin_then_leaves_no_trace_and_the_audit_verifies(client, session, world):
    who, pid = world["who"], world["person"]
    assert traces(session, [ANSWER, EMPLOYEE, world["name"]])  # the scan sees them before
    refused = client.post(f"/api/people/{pid}/erasure", headers=who[OTHER], json={"reason": "asked"})
    assert refused.status_code == 403
    r = client.post(f"/api/people/{pid}/erasure", headers=who[f.HR], json={"reason": "Asked by email on 2027-03-01"})
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert r.json()["status"] == "pending"
    own = client.post(f"/api/erasures/{request_id}/approve", headers=who[f.HR])
    assert own.status_code == 403 and "second HR admin" in own.json()["detail"]
    assert client.post(f"/api/erasures/{request_id}/approve", headers=who[OTHER]).status_code == 403
    done = client.post(f"/api/erasures/{request_id}/approve", headers=who[SECOND_HR])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["report"]["answers"] == 1
    again = client.post(f"/api/erasures/{request_id}/approve", headers=who[SECOND_HR])
    assert again.status_code == 409

    session.rollback()  # a fresh snapshot: the approval committed in the server's session
    assert traces(session, [ANSWER, EMPLOYEE, world["name"]]) == []
    person = session.get(Person, pid)
    assert person.name == f"Erased person {pid}" and not person.active
    # aggregates stay: both check-ins still count, with their moods
    moods = sorted(t.submitted["mood"] for t in session.scalars(select(Task).where(Task.status == "completed")))
    assert moods == [2, 4]
    v = client.get("/api/audit/verify", headers=who[SECOND_HR]).json()
    assert v["ok"] is True and v["redacted"] >= 1, v
    # the other person's answer and the timeline's shape are untouched
    assert traces(session, ["Tidied the backlog with the team"])


def test_the_timeline_shows_erased_values_as_erased(client, session, world):
    who, pid = world["who"], world["person"]
    rid = client.post(f"/api/people/{pid}/erasure", headers=who[f.HR], json={"reason": "request"}).json()["id"]
    assert client.post(f"/api/erasures/{rid}/approve", headers=who[SECOND_HR]).status_code == 200
    mine = [t for t in session.scalars(select(Task)) if t.completed_by_id == pid]
    events = client.get(f"/api/instances/{mine[0].instance_id}/events", headers=who[f.HR]).json()["items"]
    completed = [e for e in events if e["action"] == "task.completed"]
    assert completed and completed[0]["payload"]["data"]["progress"] == "[erased]"
    assert completed[0]["actor"] == f"erased-{pid}@erased.invalid"
    assert completed[0]["payload"]["data"]["mood"] == 4


def test_a_kept_personal_value_that_is_edited_fails_verify(client, session, world):
    from engine.store.privacy_models import AuditPersonal

    kept = session.scalars(select(AuditPersonal).where(AuditPersonal.value == ANSWER)).one()
    kept.value = "Something I never wrote"
    session.commit()
    v = client.get("/api/audit/verify", headers=world["who"][f.HR]).json()
    assert v["ok"] is False and v["problem"] == "edited" and v["first_bad_seq"] == kept.seq


def test_a_person_exports_what_is_held_about_them(client, world):
    mine = client.get("/api/me/export", headers=world["who"][EMPLOYEE])
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["person"]["email"] == EMPLOYEE and body["person"]["name"] == world["name"]
    assert [t["submitted"]["progress"] for t in body["tasks"] if t["submitted"]] == [ANSWER]
    assert any(
        e["action"] == "task.completed" and e["payload"]["data"]["progress"] == ANSWER for e in body["audit_events"]
    )
    assert "Tidied the backlog with the team" not in mine.text  # nobody else's answers
