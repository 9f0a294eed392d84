"""The person being reviewed holds only their own tasks of their review (issue 12, "Bad input and safety"): HR's
reassign and an assignee's delegation refuse to give them a manager's or HR's task of it with a 422 naming the rule;
their own (Employee-lane) task may still go back to them. And a completed review whose step HR reopens runs again
(it used to stay `completed` with an open task). On SQLite and PostgreSQL, over HTTP."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.test_task_admin import EMPLOYEE, GOOD, MANAGER, OTHER, events, inbox, post, refused, world

pytestmark = pytest.mark.both_dbs

__all__ = ["world"]  # the fixture, shared with the task administration tests

RULE = "subject_of_own_review"


def _task(client, world, email: str, name: str) -> int:
    [task] = [t for t in inbox(client, world["who"][email]) if t["name"] == name]
    return int(task["id"])


def test_the_subject_gets_no_manager_or_hr_task_of_their_own_review(client, session, world):
    mine = world["task"]  # write_checkin, the employee's own task: it may come back to them
    r = post(client, world, f.HR, "reassign", {"to": OTHER, "reason": "covering"}, mine)
    assert r.status_code == 200, r.text
    r = post(client, world, f.HR, "reassign", {"to": EMPLOYEE, "reason": "back from leave"}, mine)
    assert r.status_code == 200 and r.json()["assignees"] == [EMPLOYEE]
    assert post(client, world, EMPLOYEE, "complete", {"data": GOOD}).status_code == 200

    respond = _task(client, world, MANAGER, "respond")  # the manager's task of the employee's review
    body = refused(
        post(client, world, f.HR, "reassign", {"to": EMPLOYEE, "reason": "x"}, respond), 422, "invalid_input", RULE
    )
    assert body["detail"] == (
        "The person being reviewed can hold only their own (Employee-lane) tasks of their review; this one is in "
        "the manager lane."
    )
    refused(post(client, world, MANAGER, "delegate", {"to": EMPLOYEE}, respond), 422, "invalid_input", RULE)
    assert events(session, "task.reassigned", respond) == [] and events(session, "task.delegated", respond) == []
    assert [t["id"] for t in inbox(client, world["who"][MANAGER])] == [respond]  # still the manager's alone

    r = post(client, world, MANAGER, "complete", {"data": {"response": "Well done", "escalate_to_hr": True}}, respond)
    assert r.status_code == 200, r.text
    follow_up = _task(client, world, f.HR, "hr_follow_up")  # HR's task of the same review
    body = refused(
        post(client, world, f.HR, "reassign", {"to": EMPLOYEE, "reason": "x"}, follow_up), 422, "invalid_input", RULE
    )
    assert body["detail"].endswith("this one is in the hr lane.")
    r = post(client, world, f.HR, "reassign", {"to": OTHER, "reason": "their HR partner is away"}, follow_up)
    assert r.status_code == 200 and r.json()["assignees"] == [OTHER]  # anyone else may take it


def test_reopening_a_step_of_a_completed_review_makes_it_run_again(client, session, world):
    who, task_id = world["who"], world["task"]
    assert post(client, world, EMPLOYEE, "complete", {"data": GOOD}).status_code == 200
    respond = _task(client, world, MANAGER, "respond")
    done = {"response": "Well done", "escalate_to_hr": False}
    assert post(client, world, MANAGER, "complete", {"data": done}, respond).status_code == 200
    instance_id = client.get(f"/api/tasks/{task_id}", headers=who[f.HR]).json()["instance_id"]
    assert client.get(f"/api/instances/{instance_id}", headers=who[f.HR]).json()["status"] == "completed"

    r = post(client, world, f.HR, "reopen", {"reason": "Wrong quarter"}, task_id)
    assert r.status_code == 200, r.text
    assert [s["name"] for s in r.json()["reset"]] == ["respond"]
    assert client.get(f"/api/instances/{instance_id}", headers=who[f.HR]).json()["status"] == "running"
    assert [t["id"] for t in inbox(client, who[EMPLOYEE])] == [task_id]
    assert post(client, world, EMPLOYEE, "complete", {"data": {**GOOD, "mood": 5}}).status_code == 200
    again = _task(client, world, MANAGER, "respond")
    assert post(client, world, MANAGER, "complete", {"data": done}, again).status_code == 200
    assert client.get(f"/api/instances/{instance_id}", headers=who[f.HR]).json()["status"] == "completed"
