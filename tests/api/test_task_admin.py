"""Task administration over HTTP, on SQLite and PostgreSQL: HR reassigns a task (its draft goes with it) and moves a
due date (reminders follow), an assignee delegates (the delegate completes on their behalf, until the delegation
ends), HR completes on someone's behalf (never a rater's answer); the 360 rules' 422s; a reassignment racing a
completion has one winner and one 409; every request again changes nothing and writes no second event."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import audit
from engine.core import clock
from engine.core.errors import Conflict
from engine.ops import tasks as admin
from engine.org import people
from engine.process import runtime
from engine.review import reminders
from engine.store import db
from engine.store.job_models import ReminderSent
from engine.store.models import AuditEvent, Outbox, Person, Task
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER, MANAGER = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
CEO = f.DESIGNER
GOOD = {"progress": "Shipped the icon set / 完成了图标库", "blockers": [], "mood": 4}
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PEERS = [f"peer{i}@initech.test" for i in range(3)]


def inbox(client, headers) -> list[dict]:
    r = client.get("/api/tasks", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def refused(r, status: int, code: str, rule: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["detail"]
    if rule is not None:
        assert [e["code"] for e in body["errors"]] == [rule], body
    return body


def events(session, action: str, task_id: int) -> list[tuple[str, dict[str, Any]]]:
    session.rollback()  # a fresh snapshot
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.task_id == task_id).order_by(AuditEvent.seq)
    )
    return [(o.actor, o.payload) for o in audit.reveal(session, rows.all())]


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    clock.set_now(T0)
    f.org(session, extra_peers=3)
    settings = {"due": {"write_checkin": "P10D"}, "reminders": {"before_days": [1], "grace_days": 2, "escalate": True}}
    f.launched(session, f.deploy(session), [EMPLOYEE], settings=settings)
    who = {e: f.token(session, e) for e in (EMPLOYEE, OTHER, MANAGER, CEO, f.HR, *PEERS)}
    [task] = inbox(client, who[EMPLOYEE])
    return {"who": who, "task": task["id"]}


def post(client, world, email: str, verb: str, body: dict, task_id: int | None = None):
    return client.post(f"/api/tasks/{task_id or world['task']}/{verb}", headers=world["who"][email], json=body)


# --- reassign ------------------------------------------------------------------------------------------------------


def test_hr_reassigns_a_task_and_its_draft_goes_with_it(client, session, world):
    who, task_id = world["who"], world["task"]
    draft = {"progress": "half-way / 一半"}
    assert client.put(f"/api/tasks/{task_id}/draft", headers=who[EMPLOYEE], json={"data": draft}).status_code == 200
    body = {"to": OTHER, "reason": "Covers while the designer is on leave / 休假期间代理"}
    r = post(client, world, f.HR, "reassign", body)
    assert r.status_code == 200, r.text
    assert (r.json()["assignees"], r.json()["changed"]) == ([OTHER], True)

    again = post(client, world, f.HR, "reassign", body)  # the same request again: same outcome, no second event
    assert again.status_code == 200 and again.json()["assignees"] == [OTHER] and again.json()["changed"] is False
    [(actor, event)] = events(session, "task.reassigned", task_id)
    assert actor == f.HR
    assert (event["from"], event["to"], event["reason"]) == ([EMPLOYEE], [OTHER], body["reason"])
    assert event["before"]["assignees"] == [EMPLOYEE] and event["after"] == {"assignees": [OTHER]}

    assert inbox(client, who[EMPLOYEE]) == []
    refused(client.get(f"/api/tasks/{task_id}", headers=who[EMPLOYEE]), 404, "not_found")
    [theirs] = inbox(client, who[OTHER])
    assert theirs["id"] == task_id and theirs["assignee"]["email"] == OTHER
    detail = client.get(f"/api/tasks/{task_id}", headers=who[OTHER]).json()
    assert detail["data"] == draft and detail["has_draft"] and detail["can_complete"]
    # the old assignee's submission lost: 409, not a silent success
    refused(post(client, world, EMPLOYEE, "complete", {"data": GOOD}), 409, "conflict")
    assert post(client, world, OTHER, "complete", {"data": GOOD}).status_code == 200
    refused(post(client, world, f.HR, "reassign", body), 409, "conflict")  # done: nothing to reassign


def test_reassign_is_for_hr_and_names_the_rule_it_breaks(client, session, world):
    task_id = world["task"]
    for email in (EMPLOYEE, MANAGER, CEO):
        refused(post(client, world, email, "reassign", {"to": OTHER, "reason": "x"}), 403, "forbidden")
    refused(post(client, world, f.HR, "reassign", {"to": OTHER, "reason": "x"}, 999_999), 404, "not_found")
    body = refused(
        post(client, world, f.HR, "reassign", {"to": "nobody@initech.test", "reason": "x"}),
        422,
        "invalid_input",
        "unknown_person",
    )
    assert body["detail"] == "nobody@initech.test is not in the org chart."
    session.get(Person, people.by_email(session, OTHER).id).active = False
    session.commit()
    body = refused(
        post(client, world, f.HR, "reassign", {"to": OTHER, "reason": "x"}), 422, "invalid_input", "inactive_person"
    )
    assert body["detail"] == f"{OTHER} is no longer active; choose someone who is."
    body = refused(
        post(client, world, f.HR, "reassign", {"to": MANAGER, "reason": "  "}), 422, "invalid_input", "reason_required"
    )
    assert body["detail"] == "Say why you reassign this task (reason)."
    assert events(session, "task.reassigned", task_id) == []


@pytest.fixture
def peers(client, session, world) -> dict[str, Any]:
    """A 360 review of the employee: three peers nominated, each with their feedback task."""
    cycle = f.launched(session, f.deploy(session, f.PEERS), [EMPLOYEE])
    who = world["who"]
    [nominate] = [t for t in inbox(client, who[EMPLOYEE]) if t["cycle_id"] == cycle.id]
    r = client.post(f"/api/tasks/{nominate['id']}/complete", headers=who[EMPLOYEE], json={"data": {"peers": PEERS}})
    assert r.status_code == 200, r.text
    return {email: inbox(client, who[email])[0]["id"] for email in PEERS}


RATER_RULES = [
    (EMPLOYEE, "subject_of_confidential_task", "A 360 feedback task cannot go to the person being reviewed."),
    (MANAGER, "manager_of_subject_for_rater_task", "A peer or upward-feedback task cannot go to the reviewed person's"),
    (CEO, "manager_of_subject_for_rater_task", "A peer or upward-feedback task cannot go to the reviewed person's"),
]


def test_a_rater_task_goes_neither_to_the_subject_nor_up_their_manager_chain(client, session, world, peers):
    rater_task = peers[PEERS[0]]
    for to, rule, text in RATER_RULES:
        body = refused(
            post(client, world, f.HR, "reassign", {"to": to, "reason": "x"}, rater_task), 422, "invalid_input", rule
        )
        assert body["detail"].startswith(text)
        body = refused(post(client, world, PEERS[0], "delegate", {"to": to}, rater_task), 422, "invalid_input", rule)
        assert body["detail"].startswith(text)
    ok = post(client, world, f.HR, "reassign", {"to": OTHER, "reason": "peer0 moved teams"}, rater_task)
    assert ok.status_code == 200 and ok.json()["assignees"] == [OTHER]


def test_hr_may_not_complete_a_rater_answer_on_behalf(client, session, world, peers):
    rater_task = peers[PEERS[1]]
    body = {"data": {"rating": 3, "comment": "fine"}, "on_behalf": True, "reason": "on leave"}
    r = post(client, world, f.HR, "complete", body, rater_task)
    r = refused(r, 422, "invalid_input", "confidential_rater_task")
    assert "HR cannot give it on their behalf" in r["detail"]
    assert events(session, "task.completed", rater_task) == []


# --- delegate ------------------------------------------------------------------------------------------------------


def test_the_delegate_completes_on_behalf_of_the_assignee(client, session, world):
    who, task_id = world["who"], world["task"]
    until = (T0 + timedelta(days=5)).isoformat()
    r = post(client, world, EMPLOYEE, "delegate", {"to": OTHER, "until": until, "reason": "parental leave"})
    assert r.status_code == 200, r.text
    assert r.json()["assignees"] == [EMPLOYEE]
    assert r.json()["delegates"] == [{"email": OTHER, "on_behalf_of": EMPLOYEE, "until": until, "active": True}]
    again = post(client, world, EMPLOYEE, "delegate", {"to": OTHER, "until": until, "reason": "parental leave"})
    assert again.status_code == 200 and again.json()["changed"] is False
    [(actor, event)] = events(session, "task.delegated", task_id)
    assert (actor, event["from"], event["to"], event["until"], event["reason"]) == (
        EMPLOYEE,
        EMPLOYEE,
        OTHER,
        until,
        "parental leave",
    )
    assert event["before"] == [] and event["after"] == [{"to": OTHER, "until": until}]

    [theirs] = inbox(client, who[OTHER])
    assert theirs["id"] == task_id and theirs["assignee"]["email"] == EMPLOYEE  # still the employee's task
    assert client.get(f"/api/tasks/{task_id}", headers=who[OTHER]).json()["can_complete"] is True
    assert [t["id"] for t in inbox(client, who[EMPLOYEE])] == [task_id]  # the assignee keeps it too
    refused(post(client, world, OTHER, "delegate", {"to": MANAGER}), 403, "forbidden")  # a delegate passes nothing on
    refused(post(client, world, f.HR, "delegate", {"to": MANAGER}), 403, "forbidden")
    refused(post(client, world, MANAGER, "delegate", {"to": OTHER}), 404, "not_found")
    refused(post(client, world, EMPLOYEE, "delegate", {"to": EMPLOYEE}), 422, "invalid_input", "already_assigned")
    past = (T0 - timedelta(hours=1)).isoformat()
    refused(
        post(client, world, EMPLOYEE, "delegate", {"to": OTHER, "until": past}), 422, "invalid_input", "not_in_future"
    )

    assert post(client, world, OTHER, "complete", {"data": GOOD}).status_code == 200
    [(actor, event)] = events(session, "task.completed", task_id)
    assert (actor, event["on_behalf_of"], event["after"]["completed_by"]) == (OTHER, [EMPLOYEE], OTHER)
    task = session.get(Task, task_id)
    assert (task.completed_by_id, task.on_behalf_of_id) == (
        people.by_email(session, OTHER).id,
        people.by_email(session, EMPLOYEE).id,
    )


def test_a_delegation_ends_at_its_until(client, session, world):
    who, task_id = world["who"], world["task"]
    until = T0 + timedelta(minutes=30)  # (within the tokens' hour)
    assert post(client, world, EMPLOYEE, "delegate", {"to": OTHER, "until": until.isoformat()}).status_code == 200
    clock.set_now(until - timedelta(minutes=1))
    assert [t["id"] for t in inbox(client, who[OTHER])] == [task_id]
    clock.set_now(until + timedelta(minutes=1))
    assert inbox(client, who[OTHER]) == []
    refused(client.get(f"/api/tasks/{task_id}", headers=who[OTHER]), 404, "not_found")
    refused(post(client, world, OTHER, "complete", {"data": GOOD}), 404, "not_found")
    r = post(client, world, EMPLOYEE, "complete", {"data": GOOD})  # the assignee never lost it
    assert r.status_code == 200, r.text
    [(actor, event)] = events(session, "task.completed", task_id)
    assert actor == EMPLOYEE and "on_behalf_of" not in event


# --- HR completes on behalf ----------------------------------------------------------------------------------------


def test_hr_completes_on_behalf_with_a_reason(client, session, world):
    task_id = world["task"]
    body = {"data": GOOD, "on_behalf": True, "reason": "Agreed by phone; the employee is in hospital / 住院"}
    refused(post(client, world, f.HR, "complete", {**body, "reason": ""}), 422, "invalid_input", "reason_required")
    refused(post(client, world, EMPLOYEE, "complete", body), 403, "forbidden")  # on behalf is for HR
    refused(post(client, world, MANAGER, "complete", body), 404, "not_found")
    refused(post(client, world, f.HR, "complete", {"data": GOOD}), 403, "forbidden")  # not theirs without on_behalf
    r = post(client, world, f.HR, "complete", body)
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["next"]] == ["respond"]
    again = post(client, world, f.HR, "complete", body)  # a retry: the same answer, no second completion
    assert again.status_code == 200
    [(actor, event)] = events(session, "task.completed", task_id)
    assert (actor, event["on_behalf_of"], event["reason"]) == (f.HR, [EMPLOYEE], body["reason"])
    assert event["before"] == {"status": "open"} and event["after"]["status"] == "completed"
    task = session.get(Task, task_id)
    assert (task.on_behalf_of_id, task.completed_by_id) == (
        people.by_email(session, EMPLOYEE).id,
        people.by_email(session, f.HR).id,
    )
    refused(post(client, world, f.HR, "complete", {**body, "data": {**GOOD, "mood": 1}}), 409, "conflict")


# --- due date ------------------------------------------------------------------------------------------------------


def _reminders_now(session, task_id: int, at: datetime) -> list[str]:
    clock.set_now(at)
    reminders.send_reminders(session)
    session.rollback()
    rows = session.scalars(select(Outbox).where(Outbox.kind.like("task.%")).order_by(Outbox.id))
    return [r.kind for r in rows if r.payload.get("task_id") == task_id and r.kind != "task.assigned"]


def test_hr_moves_a_due_date_and_the_reminders_follow(client, session, world):
    task_id = world["task"]
    old_due = T0 + timedelta(days=10)
    assert _reminders_now(session, task_id, old_due - timedelta(hours=12)) == ["task.reminder"]  # 1 day before
    new_due = (T0 + timedelta(days=20)).isoformat()
    body = {"due_at": new_due, "reason": "Back from leave on the 15th / 15日休假回来"}
    clock.set_now(old_due - timedelta(hours=6))
    hr = f.token(session, f.HR)  # (the world's tokens expired days ago)
    for email in (EMPLOYEE, MANAGER):
        h = f.token(session, email)
        refused(client.put(f"/api/tasks/{task_id}/due", headers=h, json=body), 403, "forbidden")
    r = client.put(f"/api/tasks/{task_id}/due", headers=hr, json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["due_at"], r.json()["changed"]) == (new_due, True)
    again = client.put(f"/api/tasks/{task_id}/due", headers=hr, json=body)
    assert again.status_code == 200 and again.json()["changed"] is False
    [(actor, event)] = events(session, "task.due_changed", task_id)
    assert (actor, event["reason"]) == (f.HR, body["reason"])
    assert event["before"] == {"due_at": old_due.isoformat()} and event["after"] == {"due_at": new_due}
    assert session.scalars(select(ReminderSent).where(ReminderSent.task_id == task_id)).all() == []

    assert _reminders_now(session, task_id, old_due + timedelta(days=3)) == ["task.reminder"]  # no overdue, no HR
    got = _reminders_now(session, task_id, T0 + timedelta(days=19, hours=12))
    assert got == ["task.reminder", "task.reminder"]  # the 1-day reminder again, toward the new date
    assert _reminders_now(session, task_id, T0 + timedelta(days=20, hours=1))[-1] == "task.overdue"

    hr = f.token(session, f.HR)
    past = {"due_at": (T0 - timedelta(days=1)).isoformat(), "reason": "oops"}
    refused(client.put(f"/api/tasks/{task_id}/due", headers=hr, json=past), 422, "invalid_input", "not_in_future")
    refused(client.put("/api/tasks/999999/due", headers=hr, json=body), 404, "not_found")


# --- the race ------------------------------------------------------------------------------------------------------


def _race(*actions) -> list[object]:
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(i: int) -> None:
        with db.new_session() as s:
            barrier.wait()
            try:
                results[i] = actions[i](s)
            except Exception as exc:  # noqa: BLE001 - the assertion looks at the type
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("first", ["reassign", "complete", "together"])
def test_a_reassignment_racing_a_completion_has_one_winner_and_one_409(client, session, world, first):
    task_id = world["task"]

    def reassign(s):
        return admin.reassign(s, task_id=task_id, actor=people.by_email(s, f.HR), to=OTHER, reason="leave")

    def complete(s):
        return runtime.complete_task(s, task_id=task_id, actor=people.by_email(s, EMPLOYEE), data=GOOD)

    if first == "together":
        results = _race(reassign, complete)
    else:
        order = [reassign, complete] if first == "reassign" else [complete, reassign]
        results = []
        for action in order:
            with db.new_session() as s:
                try:
                    results.append(action(s))
                except Exception as exc:  # noqa: BLE001
                    results.append(exc)
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    reassigned = events(session, "task.reassigned", task_id)
    completed = events(session, "task.completed", task_id)
    assert len(reassigned) + len(completed) == 1
    task = session.get(Task, task_id)
    session.refresh(task)
    assert task.status == ("open" if reassigned else "completed")
