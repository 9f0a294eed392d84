"""Moving running reviews to a new version of their diagram over HTTP: a dry run names who can move and why not, the
apply moves those that can (audited with from/to version), new forms apply to open tasks, a changed gateway takes
effect, a move is revertible while nothing happened since; and the what-if replay of completed reviews against
another version (a changed score formula), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.store.models import AuditEvent, Definition, Instance, InstanceMigration
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER, MANAGER = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
CHECKIN = {"progress": "Shipped the icon set", "blockers": [], "mood": 2}
RESPONSE = {"response": "Thanks, let us talk", "escalate_to_hr": False}


def _deploy(client, hr: dict, bpmn: str, *extra: str, as_name: str = "quarterly_checkin.bpmn") -> dict:
    """Deploy `bpmn` under the name of the diagram it replaces, with the check-in forms and `extra` files."""
    files = [("files", (as_name, (f.DATA / bpmn).read_bytes(), "application/octet-stream"))]
    for name in (*f.CHECKIN[1:], *extra):
        files.append(("files", (name, (f.DATA / name).read_bytes(), "application/octet-stream")))
    r = client.post("/api/definitions", headers=hr, files=files)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _inbox(client, headers) -> list[dict]:
    r = client.get("/api/tasks", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _complete(client, headers, task_id: int, data: dict) -> None:
    r = client.post(f"/api/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert r.status_code == 200, r.text


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    """A running check-in cycle: the employee has submitted (the manager's response is open), the other
    participant has not started (their check-in is open)."""
    f.org(session)
    who = {e: f.token(session, e) for e in (EMPLOYEE, OTHER, MANAGER, f.HR)}
    _deploy(client, who[f.HR], "quarterly_checkin.bpmn")
    body = {"name": "Q3", "definition": "quarterly_checkin", "participants": {"emails": [EMPLOYEE, OTHER]}}
    cycle = client.post("/api/cycles", headers=who[f.HR], json=body).json()
    assert client.post(f"/api/cycles/{cycle['id']}/launch", headers=who[f.HR]).status_code == 202
    [task] = _inbox(client, who[EMPLOYEE])
    _complete(client, who[EMPLOYEE], task["id"], CHECKIN)
    instances = {
        i.subject.email: i.id for i in session.scalars(select(Instance).where(Instance.cycle_id == cycle["id"]))
    }
    return {"who": who, "hr": who[f.HR], "cycle": cycle["id"], "instances": instances}


def _migrate(client, w, version: int, *, dry_run: bool) -> Any:
    return client.post(
        f"/api/cycles/{w['cycle']}/migrate", headers=w["hr"], json={"to_version": version, "dry_run": dry_run}
    )


def _by_subject(report: dict) -> dict[str, dict]:
    return {i["subject"]: i for i in report["instances"]}


def _version_of(session, instance_id: int) -> int:
    session.rollback()  # end the read snapshot
    session.expire_all()
    instance = session.get(Instance, instance_id)
    return session.get(Definition, instance.definition_id).version


def _events(session, action: str) -> list[AuditEvent]:
    session.rollback()  # end the read snapshot
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_dry_run_and_apply_with_an_added_step_and_a_new_form(client, session, world):
    w = world
    _deploy(client, w["hr"], "checkin_v2_added.bpmn", "checkin-ack.schema.json", "checkin-manager-v2.schema.json")
    seq_before = session.scalar(select(func.max(AuditEvent.seq)))
    dry = _migrate(client, w, 2, dry_run=True)
    assert dry.status_code == 200, dry.text
    items = _by_subject(dry.json())
    assert items[EMPLOYEE]["can_migrate"] and items[OTHER]["can_migrate"], items
    assert items[EMPLOYEE]["added"] == ["acknowledge"] and items[EMPLOYEE]["reasons"] == []
    assert dry.json()["summary"] == {"instances": 2, "can_migrate": 2, "already": 0, "cannot": 0}
    assert dry.json()["queued"] == 0
    # a dry run changes nothing and records nothing
    assert session.scalar(select(func.max(AuditEvent.seq))) == seq_before
    assert _version_of(session, w["instances"][EMPLOYEE]) == 1

    applied = _migrate(client, w, 2, dry_run=False)
    assert applied.status_code == 202, applied.text
    assert applied.json()["queued"] == 2
    # the OpenAPI document declares that answer (it once listed only 200: found by tests/api/test_fuzz_openapi.py)
    declared = client.get("/openapi.json").json()["paths"]["/api/cycles/{cycle_id}/migrate"]["post"]["responses"]
    assert declared["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MigrationPlan"}
    assert {_version_of(session, i) for i in w["instances"].values()} == {2}
    moved = _events(session, "instance.migrated")
    assert len(moved) == 2
    payload = json.loads(moved[0].payload)
    assert payload["from"] == {"key": "quarterly_checkin", "version": 1}
    assert payload["to"] == {"key": "quarterly_checkin", "version": 2}
    assert "acknowledge" in payload["added"]

    # the manager's open response now has version 2's form (a new required field)
    [respond] = _inbox(client, w["who"][MANAGER])
    detail = client.get(f"/api/tasks/{respond['id']}", headers=w["who"][MANAGER]).json()
    assert "next_steps" in detail["form"]["schema"]["properties"]
    r = client.post(f"/api/tasks/{respond['id']}/complete", headers=w["who"][MANAGER], json={"data": RESPONSE})
    assert r.status_code == 422 and "next_steps" in r.text
    _complete(client, w["who"][MANAGER], respond["id"], {**RESPONSE, "next_steps": "Weekly 1:1"})
    # ... and the added step follows it
    assert [t["name"] for t in _inbox(client, w["who"][EMPLOYEE])] == ["acknowledge"]

    # again (a retry): nothing moves twice
    again = _migrate(client, w, 2, dry_run=False)
    assert again.status_code == 202 and again.json()["queued"] == 0
    assert again.json()["summary"]["already"] == 2
    assert len(_events(session, "instance.migrated")) == 2


def test_a_review_waiting_in_a_removed_step_cannot_move_and_is_named(client, session, world):
    w = world
    _deploy(client, w["hr"], "checkin_v2_removed.bpmn")
    dry = _migrate(client, w, 2, dry_run=True).json()
    items = _by_subject(dry)
    assert not items[EMPLOYEE]["can_migrate"]
    assert items[EMPLOYEE]["reasons"] == [
        "waiting in task 'Respond to the check-in' (respond) which version 2 removed"
    ]
    assert items[OTHER]["can_migrate"] and items[OTHER]["removed"] == ["respond"]
    assert dry["summary"]["cannot"] == 1

    applied = _migrate(client, w, 2, dry_run=False)
    assert applied.status_code == 202 and applied.json()["queued"] == 1
    assert _version_of(session, w["instances"][EMPLOYEE]) == 1
    assert _version_of(session, w["instances"][OTHER]) == 2
    # the employee's review goes on on version 1: the manager can still respond
    [respond] = _inbox(client, w["who"][MANAGER])
    _complete(client, w["who"][MANAGER], respond["id"], RESPONSE)
    # the other, on version 2, goes straight from their check-in to the (new) gateway: low mood → HR
    [checkin] = _inbox(client, w["who"][OTHER])
    _complete(client, w["who"][OTHER], checkin["id"], CHECKIN)
    assert [t["name"] for t in _inbox(client, w["hr"]) if t["instance_id"] == w["instances"][OTHER]] == [
        "hr_follow_up"
    ]


def test_a_changed_gateway_condition_applies_to_a_moved_review(client, session, world):
    w = world
    _deploy(client, w["hr"], "checkin_v2_gateway.bpmn")
    items = _by_subject(_migrate(client, w, 2, dry_run=True).json())
    assert items[EMPLOYEE]["can_migrate"] and items[EMPLOYEE]["changed"] == ["gw_support"]
    assert _migrate(client, w, 2, dry_run=False).status_code == 202
    [respond] = _inbox(client, w["who"][MANAGER])
    _complete(client, w["who"][MANAGER], respond["id"], RESPONSE)  # no escalation asked, but the mood is 2
    hr_tasks = [t["name"] for t in _inbox(client, w["hr"]) if t["instance_id"] == w["instances"][EMPLOYEE]]
    assert hr_tasks == ["hr_follow_up"]


def test_revert_while_nothing_happened_since_and_not_after(client, session, world):
    w = world
    employee_instance = w["instances"][EMPLOYEE]
    never = client.post(f"/api/instances/{employee_instance}/migrate/revert", headers=w["hr"])
    assert never.status_code == 409 and "never" in never.json()["detail"]

    _deploy(client, w["hr"], "checkin_v2_added.bpmn", "checkin-ack.schema.json", "checkin-manager-v2.schema.json")
    assert _migrate(client, w, 2, dry_run=False).status_code == 202
    r = client.post(f"/api/instances/{employee_instance}/migrate/revert", headers=w["hr"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "instance_id": employee_instance, "reverted": True, "already": False, "from_version": 2, "to_version": 1
    }
    assert _version_of(session, employee_instance) == 1
    [respond] = _inbox(client, w["who"][MANAGER])
    detail = client.get(f"/api/tasks/{respond['id']}", headers=w["who"][MANAGER]).json()
    assert "next_steps" not in detail["form"]["schema"]["properties"]  # version 1's form again
    reverted = _events(session, "instance.migration_reverted")
    assert len(reverted) == 1 and json.loads(reverted[0].payload)["to"]["version"] == 1
    # a retry changes nothing
    again = client.post(f"/api/instances/{employee_instance}/migrate/revert", headers=w["hr"])
    assert again.status_code == 200 and again.json()["already"] is True
    assert len(_events(session, "instance.migration_reverted")) == 1

    # moved again, then the review moves on: the move can no longer be reverted
    assert _migrate(client, w, 2, dry_run=False).json()["queued"] == 1
    [respond] = _inbox(client, w["who"][MANAGER])
    _complete(client, w["who"][MANAGER], respond["id"], {**RESPONSE, "next_steps": "Weekly 1:1"})
    late = client.post(f"/api/instances/{employee_instance}/migrate/revert", headers=w["hr"])
    assert late.status_code == 409 and "moved on" in late.json()["detail"]
    assert _version_of(session, employee_instance) == 2
    assert session.scalar(select(func.count()).select_from(InstanceMigration)) == 3  # 2 + the employee's again


def test_only_hr_migrates_reverts_and_replays(client, session, world):
    w = world
    for email in (EMPLOYEE, MANAGER):
        h = w["who"][email]
        assert client.post(f"/api/cycles/{w['cycle']}/migrate", headers=h, json={"to_version": 1}).status_code == 403
        assert client.post(f"/api/cycles/{w['cycle']}/replay", headers=h, json={"to_version": 1}).status_code == 403
        r = client.post(f"/api/instances/{w['instances'][EMPLOYEE]}/migrate/revert", headers=h)
        assert r.status_code == 403
    assert client.post("/api/cycles/999999/migrate", headers=w["hr"], json={"to_version": 1}).status_code == 404
    assert client.post(f"/api/cycles/{w['cycle']}/migrate", headers=w["hr"], json={"to_version": 7}).status_code == 404
    assert client.post("/api/instances/999999/migrate/revert", headers=w["hr"]).status_code == 404
    assert client.post(f"/api/cycles/{w['cycle']}/migrate", headers=w["hr"], json={"to_version": 0}).status_code == 422


# --- what-if replay ----------------------------------------------------------------------------------------


@pytest.fixture
def scored(client, session) -> dict[str, Any]:
    """A completed scored check-in cycle: the employee's low mood scored 4 (under 5: a PIP step, done by HR), the
    other's scored 8; then version 2 with another score formula (mood * 3) is deployed."""
    f.org(session)
    who = {e: f.token(session, e) for e in (EMPLOYEE, OTHER, MANAGER, f.HR, f.DESIGNER)}
    hr = who[f.HR]
    _deploy(client, who[f.DESIGNER], "scored_checkin.bpmn", as_name="scored_checkin.bpmn")  # scripts: the designer
    body = {"name": "Scored", "definition": "scored_checkin", "participants": {"emails": [EMPLOYEE, OTHER]}}
    cycle = client.post("/api/cycles", headers=hr, json=body).json()
    assert client.post(f"/api/cycles/{cycle['id']}/launch", headers=hr).status_code == 202
    for email, mood in ((EMPLOYEE, 2), (OTHER, 4)):
        [task] = _inbox(client, who[email])
        _complete(client, who[email], task["id"], {**CHECKIN, "mood": mood})
    for task in _inbox(client, who[MANAGER]):
        _complete(client, who[MANAGER], task["id"], RESPONSE)
    [pip] = [t for t in _inbox(client, hr) if t["name"] == "pip"]
    _complete(client, hr, pip["id"], {"action": "Plan agreed"})
    session.rollback()  # end the read snapshot
    session.expire_all()
    assert {i.status for i in session.scalars(select(Instance))} == {"completed"}
    _deploy(client, who[f.DESIGNER], "scored_checkin_v2.bpmn", as_name="scored_checkin.bpmn")
    return {"who": who, "hr": hr, "cycle": cycle["id"]}


def test_replay_reports_the_effect_of_a_changed_score_formula(client, session, scored):
    session.rollback()  # end the read snapshot
    states = {i.id: (i.state, i.version) for i in session.scalars(select(Instance))}
    seq = session.scalar(select(func.max(AuditEvent.seq)))
    r = client.post(f"/api/cycles/{scored['cycle']}/replay", headers=scored["hr"], json={"to_version": 2})
    assert r.status_code == 200, r.text
    report = r.json()
    items = _by_subject(report)
    low, high = items[EMPLOYEE], items[OTHER]
    assert low["original"]["final_score"] == 4 and low["replay"]["final_score"] == 6
    assert low["score_differs"] and low["branch_differs"] and low["path_differs"]
    assert low["missing_steps"] == ["end_hr", "pip"] and low["added_steps"] == ["end_ok"]
    assert "pip" in low["original"]["path"] and "pip" not in low["replay"]["path"]
    assert low["replay"]["completed"] and low["stopped"] is None
    assert high["original"]["final_score"] == 8 and high["replay"]["final_score"] == 12
    assert high["score_differs"] and not high["branch_differs"] and not high["path_differs"]
    assert report["summary"] == {
        "instances": 2, "path_differs": 1, "score_differs": 2, "branch_differs": 1, "stopped": 0, "unchanged": 0
    }
    # against the version they ran on: nothing differs
    same = client.post(f"/api/cycles/{scored['cycle']}/replay", headers=scored["hr"], json={"to_version": 1}).json()
    assert same["summary"]["unchanged"] == 2
    # nothing was saved
    session.rollback()  # end the read snapshot
    session.expire_all()
    assert {i.id: (i.state, i.version) for i in session.scalars(select(Instance))} == states
    assert session.scalar(select(func.max(AuditEvent.seq))) == seq


# --- the command line (in process, on this test's database) --------------------------------------------------


def _cli(*args: str) -> str:
    from typer.testing import CliRunner

    from api.cli.main import app as cli

    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_cycle_replay_on_the_command_line(client, session, scored):
    text = _cli("cycle", "replay", str(scored["cycle"]), "--to-version", "2")
    assert "2 completed reviews: 1 path differs, 2 score differs, 1 branch differs, 0 stopped, 0 unchanged" in text
    assert "4 → 6" in text and "8 → 12" in text and "-pip" in text
    report = json.loads(_cli("cycle", "replay", str(scored["cycle"]), "--to-version", "2", "--json"))
    assert report["summary"]["score_differs"] == 2


def test_cycle_migrate_on_the_command_line(client, session, world):
    _deploy(client, world["hr"], "checkin_v2_removed.bpmn")
    dry = _cli("cycle", "migrate", str(world["cycle"]), "--to-version", "2", "--dry-run", "--as", f.HR)
    assert "waiting in task 'Respond to the check-in' (respond) which version 2 removed" in dry
    assert "1 of 2 can move to version 2, 0 already there, 1 cannot" in dry
    applied = _cli("cycle", "migrate", str(world["cycle"]), "--to-version", "2", "--as", f.HR)
    assert "1 queued" in applied
    assert _version_of(session, world["instances"][OTHER]) == 2
