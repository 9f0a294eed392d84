"""A score formula that cannot compute: refused at create and on a settings change with the failing sample named;
a cycle that still has one (created before the check) answers the manager 409, keeps the answers, opens one
incident for HR, and HR corrects the settings of the running cycle so the review goes through."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.audit.log import AuditEvent
from engine.core.errors import InvalidInput
from engine.review import cycle_settings, cycles
from engine.store.job_models import Incident
from engine.store.models import Cycle, ReviewRecord, Task
from tests import factories as f
from tests.workflows.steps import EMPLOYEE, HR, LEAD, deploy_shipped, ratings

pytestmark = pytest.mark.both_dbs

REVIEW = {
    "manager_goal_ratings": [],
    "manager_competency_ratings": ratings(4, 4),
    "manager_overall": 4,
    "potential": "high",
    "manager_summary": "A strong, reliable year; keep growing your influence.",
}


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("goal / 0", "ZeroDivisionError"),
        ("goal / (manager - 3)", "ZeroDivisionError"),  # only the middle rating divides by zero
        ("goal / (manager - self)", "ZeroDivisionError"),  # only equal ratings do
        ("[goal, manager]", "float() argument"),  # not a number
        ("goal > 3", "not a finite number"),  # True/False is not a score
        ("max(goal for goal in range(10 ** 9))", "ScriptLimit"),  # refused by the range cap before it runs
        ("goal + sum(map(sum, [range(10 ** 6)] * 10 ** 6))", "ScriptTimeout"),  # stopped by the budget, not waited for
    ],
)
def test_a_formula_that_fails_on_a_sample_is_refused_naming_it(formula, reason):
    with pytest.raises(InvalidInput) as bad:
        cycle_settings.validate({"score": {"formula": formula}})
    (error,) = bad.value.errors
    assert error["path"] == "settings/score/formula" and error["code"] == "x-formula-sample"
    assert formula in error["message"] and "goal=" in error["message"] and reason in error["message"]
    assert formula in error["message_zh"] and "评分公式" in error["message_zh"]


@pytest.mark.parametrize(
    "formula",
    ["(goal + feedback + self) / 3", "max(goal, manager)", "round((goal * 2 + manager) / 3, 1)", "goal / manager"],
)
def test_ordinary_formulas_still_pass(formula):
    assert cycle_settings.validate({"score": {"formula": formula}})["score"]["formula"] == formula


def test_creating_a_cycle_with_a_dividing_by_zero_formula_is_refused(client, session):
    f.org(session)
    definition = deploy_shipped(session, "manager_review")
    body = {
        "name": "Bad formula",
        "definition": definition.key,
        "participants": {"emails": [EMPLOYEE]},
        "settings": {"score": {"formula": "goal / 0"}},
    }
    r = client.post("/api/cycles", json=body, headers=f.token(session, HR))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "settings/score/formula"
    assert "goal / 0" in r.json()["errors"][0]["message"]
    assert session.scalar(select(Cycle.id)) is None


def _launched_with_formula(session, formula: str) -> Cycle:
    """A launched cycle whose settings (and so each review's frozen copy) hold `formula`, as a cycle created before
    formulas were tried on samples does."""
    f.org(session)
    hr = f.people.by_email(session, HR)
    definition = deploy_shipped(session, "manager_review")
    created = cycles.create_cycle(
        session, actor=hr, name="Old cycle", definition=definition.key, participants={"emails": [EMPLOYEE]}
    )
    settings = {**created.settings, "score": {"formula": formula}}
    session.execute(update(Cycle).where(Cycle.id == created.id).values(settings=settings))
    session.commit()
    cycles.launch(session, actor=hr, cycle_id=created.id)
    session.rollback()
    return cycles.get_cycle(session, created.id)


def _manager_task(client, headers) -> dict:
    (task,) = [t for t in client.get("/api/tasks", headers=headers).json()["items"] if t["status"] == "open"]
    return task


def test_a_broken_formula_at_run_time_answers_409_keeps_the_answers_and_opens_one_incident(client, session):
    cycle = _launched_with_formula(session, "goal / 0")
    lead, hr = f.token(session, LEAD), f.token(session, HR)
    task = _manager_task(client, lead)

    for _ in range(2):
        r = client.post(f"/api/tasks/{task['id']}/complete", headers=lead, json={"data": REVIEW})
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["error"] == "cycle_settings_broken"
        assert "goal / 0" in body["detail"] and "评分公式" in body["detail"] and "draft" in body["detail"]
    session.expire_all()
    saved = session.get(Task, task["id"])
    assert saved.status == "open" and saved.draft == REVIEW
    incidents = client.get("/api/incidents?status=open", headers=hr).json()["items"]
    assert [(i["job"], i["args"]) for i in incidents] == [("check_cycle_settings", {"cycle_id": cycle.id})]
    assert "goal / 0" in incidents[0]["error"]

    # HR corrects the running cycle; the review goes through with the new formula
    fix = {"score": {"formula": "(manager + self) / 2"}}
    r = client.patch(f"/api/cycles/{cycle.id}/settings", headers=hr, json=fix)
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["score"] == {"formula": "(manager + self) / 2"}
    r = client.post(f"/api/tasks/{task['id']}/complete", headers=lead, json={"data": REVIEW})
    assert r.status_code == 200, r.text
    session.rollback()
    score = session.scalar(select(ReviewRecord).where(ReviewRecord.kind == "score"))
    assert score is not None and score.score == 4.0

    # resolving the incident re-checks the settings, which now pass
    r = client.post(f"/api/incidents/{incidents[0]['id']}/resolve", headers=hr)
    assert r.status_code == 202, r.text
    session.rollback()
    assert session.get(Incident, incidents[0]["id"]).status == "resolved"


def test_resolving_the_incident_while_the_formula_still_fails_leaves_it_open(client, session):
    cycle = _launched_with_formula(session, "goal/0")
    lead, hr = f.token(session, LEAD), f.token(session, HR)
    task = _manager_task(client, lead)
    assert client.post(f"/api/tasks/{task['id']}/complete", headers=lead, json={"data": REVIEW}).status_code == 409
    (incident,) = client.get("/api/incidents", headers=hr).json()["items"]
    assert client.post(f"/api/incidents/{incident['id']}/resolve", headers=hr).status_code == 202
    (again,) = client.get("/api/incidents", headers=hr).json()["items"]
    assert again["status"] == "open" and "goal/0" in again["error"]
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.cycle_id == cycle.id)))
    assert "workflow.failed" in actions
