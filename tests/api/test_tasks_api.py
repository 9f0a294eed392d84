"""A participant's day over HTTP: inbox, form, draft, submit (refused with per-field errors, then accepted), the
instance view, the audit timeline and the audit check, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.store.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER, MANAGER = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
GOOD = {"progress": "Shipped the icon set / 完成了图标库", "blockers": ["hiring"], "mood": 4}


def _manager_form_with_progress() -> bytes:
    """The manager's form also shows the employee's `progress`, so the manager's task has a prefill."""
    schema = json.loads((f.DATA / "checkin-manager.schema.json").read_text())
    schema["properties"]["progress"] = {"type": "string", "title": "Employee's progress", "readOnly": True}
    return json.dumps(schema, ensure_ascii=False).encode()


def _upload(names: tuple[str, ...], replace: dict[str, bytes]) -> list:
    return [("files", (n, replace.get(n, d), "application/octet-stream")) for n, d in f.files(*names)]


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    f.org(session)
    who = {e: f.token(session, e) for e in (EMPLOYEE, OTHER, MANAGER, f.HR)}
    files = _upload(f.CHECKIN, {"checkin-manager.schema.json": _manager_form_with_progress()})
    deployed = client.post("/api/definitions", headers=who[f.HR], files=files)
    assert deployed.status_code == 201, deployed.text
    body = {"name": "Q3 check-in", "definition": deployed.json()["key"], "participants": {"emails": [EMPLOYEE, OTHER]}}
    cycle = client.post("/api/cycles", headers=who[f.HR], json=body)
    assert cycle.status_code == 201, cycle.text
    launched = client.post(f"/api/cycles/{cycle.json()['id']}/launch", headers=who[f.HR])
    assert launched.status_code == 202, launched.text
    return {"who": who, "task": inbox(client, who[EMPLOYEE])[0]}


def inbox(client, headers, status: str | None = None) -> list[dict]:
    r = client.get("/api/tasks" + (f"?status={status}" if status else ""), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def refused(r, status: int, code: str) -> dict:
    """A refusal has the status, and the JSON body every error has: error code, readable detail, errors list."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    return body


def complete(client, world, data: Any, email: str = EMPLOYEE, task_id: int | None = None):
    task_id = task_id or world["task"]["id"]
    return client.post(f"/api/tasks/{task_id}/complete", headers=world["who"][email], json={"data": data})


def test_inbox_shows_exactly_the_callers_open_tasks_with_subject_and_lane(client, world):
    who = world["who"]
    [mine] = inbox(client, who[EMPLOYEE])
    assert (mine["name"], mine["lane"], mine["status"]) == ("write_checkin", "Employee", "open")
    assert mine["subject"] == {"email": EMPLOYEE, "name": "冯雪"}
    assert mine["assignee"]["email"] == EMPLOYEE
    assert "form" not in mine and "data" not in mine
    [theirs] = inbox(client, who[OTHER])
    assert theirs["subject"]["email"] == OTHER and theirs["id"] != mine["id"]
    assert inbox(client, who[MANAGER]) == [] and inbox(client, who[f.HR]) == []


def test_task_serves_its_form_schema_and_prefill(client, world):
    who, task = world["who"], world["task"]
    r = client.get(f"/api/tasks/{task['id']}", headers=who[EMPLOYEE])
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["form"]["schema"]["required"] == ["progress", "blockers", "mood"]
    assert set(detail["form"]["schema"]["properties"]) == {"progress", "blockers", "mood"}
    assert detail["data"] == {} and detail["has_draft"] is False and detail["can_complete"] is True
    assert complete(client, world, GOOD).status_code == 200
    [respond] = inbox(client, who[MANAGER])
    manager_view = client.get(f"/api/tasks/{respond['id']}", headers=who[MANAGER]).json()
    assert manager_view["form"]["schema"]["required"] == ["response", "escalate_to_hr"]
    assert manager_view["data"] == {"progress": GOOD["progress"]}


def test_a_saved_draft_comes_back_in_data(client, world):
    who, task = world["who"], world["task"]
    draft = {"progress": "Half-way through / 进行中", "mood": 3}
    r = client.put(f"/api/tasks/{task['id']}/draft", headers=who[EMPLOYEE], json={"data": draft})
    assert r.status_code == 200, r.text
    detail = client.get(f"/api/tasks/{task['id']}", headers=who[EMPLOYEE]).json()
    assert detail["data"] == draft and detail["has_draft"] is True and detail["status"] == "open"
    not_an_object = client.put(f"/api/tasks/{task['id']}/draft", headers=who[EMPLOYEE], json={"data": [1]})
    refused(not_an_object, 422, "form_invalid")
    assert client.get(f"/api/tasks/{task['id']}", headers=who[EMPLOYEE]).json()["data"] == draft


def test_bad_submission_names_every_bad_field_including_missing_required_ones(client, world):
    body = refused(complete(client, world, {"progress": "ok", "mood": 9}), 422, "form_invalid")
    assert {e["path"] for e in body["errors"]} == {"progress", "blockers", "mood"}
    assert all(e["message"] for e in body["errors"])
    assert [t["id"] for t in inbox(client, world["who"][EMPLOYEE])] == [world["task"]["id"]]  # nothing moved


def test_submit_then_again_gives_200_then_409(client, world):
    who, task = world["who"], world["task"]
    r = complete(client, world, GOOD)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["id"], done["status"]) == (task["id"], "completed")
    assert [(n["name"], n["lane"], n["yours"]) for n in done["next"]] == [("respond", "Manager", False)]
    refused(complete(client, world, GOOD), 409, "conflict")
    assert inbox(client, who[EMPLOYEE]) == []
    [finished] = inbox(client, who[EMPLOYEE], "completed")
    assert (finished["id"], finished["status"]) == (task["id"], "completed") and finished["completed_at"]
    assert [t["id"] for t in inbox(client, who[EMPLOYEE], "all")] == [task["id"]]
    assert [t["name"] for t in inbox(client, who[MANAGER])] == ["respond"]


def test_a_reader_cannot_submit_for_the_assignee(client, world):
    refused(complete(client, world, GOOD, email=f.HR), 403, "forbidden")
    refused(complete(client, world, GOOD, email=OTHER), 404, "not_found")
    refused(complete(client, world, GOOD, task_id=987_654), 404, "not_found")
    assert inbox(client, world["who"][EMPLOYEE])[0]["status"] == "open"


def test_instance_shows_status_and_all_tasks_only_to_hr(client, world):
    who, task = world["who"], world["task"]
    assert complete(client, world, GOOD).status_code == 200
    url = f"/api/instances/{task['instance_id']}"
    mine = client.get(url, headers=who[EMPLOYEE]).json()
    assert mine["status"] == "running" and mine["subject"]["email"] == EMPLOYEE
    assert mine["definition"] == {"key": "quarterly_checkin", "version": 1}
    assert [(t["name"], t["status"]) for t in mine["tasks"]] == [("write_checkin", "completed")]
    hr = client.get(url, headers=who[f.HR]).json()
    assert [(t["name"], t["status"]) for t in hr["tasks"]] == [("write_checkin", "completed"), ("respond", "open")]
    refused(client.get(url, headers=who[OTHER]), 404, "not_found")


def test_instance_completes_when_the_last_task_is_done(client, world):
    who = world["who"]
    assert complete(client, world, GOOD).status_code == 200
    [respond] = inbox(client, who[MANAGER])
    r = complete(client, world, {"response": "Well done", "escalate_to_hr": False}, MANAGER, respond["id"])
    assert r.status_code == 200 and r.json()["next"] == []
    assert client.get(f"/api/instances/{respond['instance_id']}", headers=who[f.HR]).json()["status"] == "completed"


def test_events_show_who_did_what_with_the_submitted_data(client, world):
    who, task = world["who"], world["task"]
    assert complete(client, world, GOOD).status_code == 200
    r = client.get(f"/api/instances/{task['instance_id']}/events", headers=who[f.HR])
    assert r.status_code == 200, r.text
    events = r.json()["items"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    actions = [e["action"] for e in events]
    assert actions[0] == "instance.started" and actions.count("task.completed") == 1
    assert {e["actor"] for e in events} == {"system:launcher", EMPLOYEE}
    [done] = [e for e in events if e["action"] == "task.completed"]
    assert (done["actor"], done["task"], done["payload"]["data"]) == (EMPLOYEE, "write_checkin", GOOD)
    assert all(e["at"] for e in events)


def test_audit_verify_checks_every_row(client, world, session):
    assert complete(client, world, GOOD).status_code == 200
    r = client.get("/api/audit/verify", headers=world["who"][f.HR])
    assert r.status_code == 200, r.text
    session.rollback()  # see everything committed so far
    rows = session.scalar(select(func.count()).select_from(AuditEvent))
    body = r.json()
    assert (body["ok"], body["checked"], body["keyed_from"], body["unkeyed"]) == (True, rows, 1, 0)
    assert body["unanchored"] == 0
    assert body["checkpoint_seq"] == rows and "first_bad_seq" not in body and "problem" not in body
    assert rows > 10  # org import, accounts, deploy, cycle, launch, the instances, the submission


def test_without_the_audit_key_nothing_is_recorded_and_the_answer_says_why(client, world, session):
    from engine import audit
    from engine.audit import anchor as audit_anchor

    audit_anchor.key_path().unlink()
    audit.forget_keys()  # as after a restart
    before = session.scalar(select(func.count()).select_from(AuditEvent))

    body = refused(complete(client, world, GOOD), 503, "audit_key_missing")
    assert "REVIEWFLOW_AUDIT_KEY_FILE" in body["detail"] and "审计密钥" in body["detail"]
    refused(client.get("/api/audit/verify", headers=world["who"][f.HR]), 503, "audit_key_missing")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert inbox(client, world["who"][EMPLOYEE])[0]["status"] == "open"  # the submission did not land unaudited
