"""Reopen a completed step, cancel a review, add people to a running cycle: each end to end over HTTP on the shipped
annual review (issue 12, parts 3 and 4)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine import audit
from engine.store.models import Instance, ReviewRecord
from tests import factories as f
from tests.api.users import ApiUser
from tests.workflows.steps import EMPLOYEE, GOALS, HR, LEAD, PEERS, SETTINGS, deploy_shipped, ratings

pytestmark = pytest.mark.both_dbs

OTHER = "designer2@initech.test"
SELF = {
    "self_goal_ratings": ratings(3, 4),
    "self_competency_ratings": ratings(4, 4, "example"),
    "self_overall": 4,
    "self_summary": "I delivered what I promised.",
}


def manager_answer(overall: int) -> dict[str, Any]:
    return {
        "manager_goal_ratings": ratings(3, 4),
        "manager_competency_ratings": ratings(4, 3),
        "manager_overall": overall,
        "potential": "high",
        "manager_summary": "A strong, reliable year.",
    }


Who = ApiUser


def to_manager_review(client, session, *, peers: bool = True) -> tuple[Any, dict[str, Who]]:
    """The annual review of EMPLOYEE up to (and with) the manager's assessment."""
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE], settings=SETTINGS)
    who = {e: Who(client, session, e) for e in (EMPLOYEE, LEAD, HR, OTHER, *PEERS)}
    who[EMPLOYEE].complete("draft_goals", {"goals": GOALS})
    who[LEAD].complete("approve_goals", {"goal_decision": "approve"})
    who[EMPLOYEE].complete("nominate_peers", {"nominees": PEERS})
    who[LEAD].complete("approve_peers", {"peers": PEERS})
    who[EMPLOYEE].complete("self_assessment", SELF)
    for peer in PEERS:
        answer = {
            "declined": False,
            "rating": 4,
            "strengths": "Kind in every review",
            "improvements": "Plan further ahead",
        }
        who[peer].complete("give_peer_feedback", answer)
    who[LEAD].complete("manager_assessment", manager_answer(3))
    return cycle, who


def live_records(session, instance_id: int) -> list[tuple]:
    session.rollback()
    session.expire_all()
    rows = session.scalars(
        select(ReviewRecord)
        .where(ReviewRecord.instance_id == instance_id, ReviewRecord.superseded_at.is_(None))
        .order_by(ReviewRecord.kind, ReviewRecord.source, ReviewRecord.dimension)
    )
    return [(r.kind, r.source, r.dimension, r.score, r.text, r.data) for r in rows]


def events(client, hr: Who, instance_id: int, action: str) -> list[dict]:
    r = client.get(f"/api/instances/{instance_id}/events", headers=hr.headers)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["items"] if e["action"] == action]


def test_reopen_then_recomplete_gives_the_straight_run_records_but_the_changed_answer(client, session):
    cycle, who = to_manager_review(client, session)
    lead, hr, employee = who[LEAD], who[HR], who[EMPLOYEE]
    [done] = [
        t
        for t in lead.client.get("/api/tasks?status=completed", headers=lead.headers).json()["items"]
        if t["name"] == "manager_assessment"
    ]
    instance_id = done["instance_id"]
    straight = live_records(session, instance_id)
    assert any(r[0] == "score" for r in straight)

    # not HR: refused; an unknown task: 404; no reason: 422
    assert employee.post(f"/api/tasks/{done['id']}/reopen", {"reason": "x"}).status_code == 403
    assert hr.post("/api/tasks/999999/reopen", {"reason": "x"}).status_code == 404
    assert hr.post(f"/api/tasks/{done['id']}/reopen", {}).status_code == 422

    r = hr.post(f"/api/tasks/{done['id']}/reopen", {"reason": "Rated the wrong person by mistake"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reopened"] is True and body["status"] == "open" and body["id"] == done["id"]
    assert body["superseded_records"] >= 1
    again = hr.post(f"/api/tasks/{done['id']}/reopen", {"reason": "Rated the wrong person by mistake"})
    assert again.status_code == 200 and again.json()["reopened"] is False  # a retry changes nothing

    shown = lead.task("manager_assessment")
    assert shown["id"] == done["id"] and shown["data"]["manager_overall"] == 3  # the previous answers prefilled
    assert live_records(session, instance_id) == [
        r for r in straight if r[0] in ("goal", "rating") and r[1] != "manager"
    ]
    kept = session.scalars(select(ReviewRecord).where(ReviewRecord.superseded_at.is_not(None))).all()
    assert kept and all(k.superseded_by == HR for k in kept)  # superseded, not deleted

    lead.complete("manager_assessment", manager_answer(4))
    after = live_records(session, instance_id)
    changed = {("rating", "manager", "overall")}
    assert [r for r in after if r[:3] not in changed and r[0] != "score"] == [
        r for r in straight if r[:3] not in changed and r[0] != "score"
    ]
    assert [r[3] for r in after if r[:3] in changed] == [4]
    [ev] = events(client, hr, instance_id, "task.reopened")
    assert ev["payload"]["reason"] == "Rated the wrong person by mistake"
    assert ev["payload"]["before"]["status"] == "completed" and ev["payload"]["after"]["assignees"] == [LEAD]
    assert ev["actor"] == HR
    # reports ignore the superseded records: one manager overall rating, the new one
    report = hr.client.get(f"/api/cycles/{cycle.id}/reports/distribution", headers=hr.headers)
    assert report.status_code == 200, report.text


def test_reopen_names_the_later_steps_it_resets_and_is_refused_after_release(client, session):
    cycle, who = to_manager_review(client, session)
    lead, hr, employee = who[LEAD], who[HR], who[EMPLOYEE]
    [goals] = [
        t
        for t in employee.tasks()
        + employee.client.get("/api/tasks?status=completed", headers=employee.headers).json()["items"]
        if t["name"] == "draft_goals"
    ]
    r = hr.post(f"/api/cycles/{cycle.id}/release", None)
    assert r.status_code == 200 and r.json()["released"] == 1, r.text
    refused = hr.post(f"/api/tasks/{goals['id']}/reopen", {"reason": "A goal was missing"})
    assert refused.status_code == 409, refused.text
    assert "after_release" in refused.json()["detail"]

    r = hr.post(f"/api/tasks/{goals['id']}/reopen", {"reason": "A goal was missing", "after_release": True})
    assert r.status_code == 200, r.text
    reset = {t["name"] for t in r.json()["reset"]}
    assert {"approve_goals", "manager_assessment"} <= reset
    assert r.json()["after_release"] is True
    assert [t["name"] for t in employee.tasks()] == ["draft_goals"]  # the acknowledgement was withdrawn
    assert employee.task("draft_goals")["data"]["goals"] == GOALS
    assert lead.tasks() == []
    session.rollback()
    live = live_records(session, r.json()["instance_id"])
    assert live == []  # every record came from a step that was undone


def test_a_reopened_360_answer_is_prefilled_for_its_rater_only(client, session):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE], settings=SETTINGS)
    who = {e: Who(client, session, e) for e in (EMPLOYEE, LEAD, HR, *PEERS)}
    who[EMPLOYEE].complete("draft_goals", {"goals": GOALS})
    who[LEAD].complete("approve_goals", {"goal_decision": "approve"})
    who[EMPLOYEE].complete("nominate_peers", {"nominees": PEERS})
    who[LEAD].complete("approve_peers", {"peers": PEERS})
    answer = {
        "declined": False,
        "rating": 2,
        "strengths": "Careful with details",
        "improvements": "Speak up in meetings",
    }
    task = who[PEERS[0]].complete("give_peer_feedback", answer)
    r = who[HR].post(f"/api/tasks/{task['id']}/reopen", {"reason": "Rater asked to correct a typo"})
    assert r.status_code == 200, r.text
    assert who[PEERS[0]].task("give_peer_feedback")["data"]["strengths"] == "Careful with details"
    seen = client.get(f"/api/tasks/{task['id']}", headers=who[HR].headers)
    assert seen.status_code in (403, 404) or seen.json()["data"] == {}
    who[PEERS[0]].complete("give_peer_feedback", {**answer, "strengths": "Careful and kind"})
    assert cycle.id


def test_cancel_withdraws_open_tasks_and_keeps_the_review_read_only(client, session):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE, OTHER], settings=SETTINGS)
    employee, hr, other = (Who(client, session, e) for e in (EMPLOYEE, HR, OTHER))
    [task] = employee.tasks()
    instance_id = task["instance_id"]
    assert employee.post(f"/api/instances/{instance_id}/cancel", {"reason": "x"}).status_code == 403
    assert hr.post("/api/instances/999999/cancel", {"reason": "x"}).status_code == 404
    assert hr.post(f"/api/instances/{instance_id}/cancel", {"reason": " "}).status_code == 422

    r = hr.post(f"/api/instances/{instance_id}/cancel", {"reason": "Left the company"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": instance_id, "status": "cancelled", "tasks_withdrawn": 1, "cancelled": True}
    again = hr.post(f"/api/instances/{instance_id}/cancel", {"reason": "Left the company"})
    assert again.status_code == 200 and again.json()["cancelled"] is False

    assert employee.tasks() == []
    done = employee.post(f"/api/tasks/{task['id']}/complete", {"data": {"goals": GOALS}})
    assert done.status_code == 409, done.text
    detail = client.get(f"/api/instances/{instance_id}", headers=hr.headers).json()
    assert detail["status"] == "cancelled" and detail["tasks"][0]["status"] == "cancelled"
    counts = client.get(f"/api/cycles/{cycle.id}", headers=hr.headers).json()["counts"]
    assert counts["cancelled"] == 1 and counts["instances"] == 1 and counts["running"] == 1
    assert counts["open_tasks"] == 1  # only the other review's
    completion = client.get(f"/api/cycles/{cycle.id}/reports/completion", headers=hr.headers).json()
    assert completion["cancelled"] == 1
    assert sum(p["open"] for p in completion["by_phase"]) == 1
    [ev] = events(client, hr, instance_id, "instance.cancelled")
    assert ev["payload"]["reason"] == "Left the company" and ev["payload"]["before"]["status"] == "running"
    assert ev["payload"]["after"]["status"] == "cancelled"
    assert events(client, hr, instance_id, "task.cancelled")
    assert other.tasks()  # the other review goes on
    session.rollback()
    assert session.get(Instance, instance_id).status == "cancelled"


def test_add_people_to_a_running_cycle(client, session):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE], settings=SETTINGS)
    hr, other, employee = (Who(client, session, e) for e in (HR, OTHER, EMPLOYEE))
    path = f"/api/cycles/{cycle.id}/participants"
    assert employee.post(path, {"emails": [OTHER]}).status_code == 403
    assert hr.post("/api/cycles/999999/participants", {"emails": [OTHER]}).status_code == 404
    bad = hr.post(path, {"emails": [OTHER, "nobody@initech.test"]})
    assert bad.status_code == 422 and "nobody@initech.test" in bad.json()["detail"]
    assert other.tasks() == []  # nothing half-done

    r = hr.post(path, {"emails": [OTHER]})
    assert r.status_code == 202, r.text
    assert r.json()["added"] == [OTHER] and r.json()["starting"] == [OTHER]
    assert [t["name"] for t in other.tasks()] == ["draft_goals"]
    again = hr.post(path, {"emails": [OTHER, EMPLOYEE]})
    assert again.status_code == 202 and again.json()["added"] == [] and again.json()["starting"] == []
    assert sorted(again.json()["already"]) == sorted([OTHER, EMPLOYEE])
    assert len(other.tasks()) == 1
    view = client.get(f"/api/cycles/{cycle.id}", headers=hr.headers).json()
    assert view["participants"] == {"emails": [EMPLOYEE, OTHER]} and view["counts"]["instances"] == 2
    r = client.get("/api/audit/verify", headers=hr.headers)
    assert r.json()["ok"] is True
    session.rollback()
    from engine.store.models import AuditEvent

    [ev] = session.scalars(select(AuditEvent).where(AuditEvent.action == "cycle.participants_added")).all()
    assert audit.opened(session, ev).actor == HR and '"before"' in ev.payload


def test_reopening_the_self_review_resets_the_manager_review_and_keeps_the_360(client, session):
    cycle, who = to_manager_review(client, session)
    employee, hr, lead = who[EMPLOYEE], who[HR], who[LEAD]
    done = employee.client.get("/api/tasks?status=completed", headers=employee.headers).json()["items"]
    [own] = [t for t in done if t["name"] == "self_assessment"]
    straight = live_records(session, own["instance_id"])
    peer_done = client.get("/api/tasks?status=completed", headers=who[PEERS[0]].headers).json()["items"]
    closed = hr.post(f"/api/tasks/{peer_done[0]['id']}/reopen", {"reason": "A typo"})
    assert closed.status_code == 409 and "collected together" in closed.json()["detail"]  # the 360 moved on
    r = hr.post(f"/api/tasks/{own['id']}/reopen", {"reason": "Submitted by mistake"})
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["reset"]] == ["manager_assessment"]
    assert [t["name"] for t in employee.tasks()] == ["self_assessment"]
    assert employee.task("self_assessment")["data"]["self_overall"] == 4
    assert lead.tasks() == [] and all(who[p].tasks() == [] for p in PEERS)  # the 360 stays answered
    employee.complete("self_assessment", {**SELF, "self_overall": 3})
    shown = lead.task("manager_assessment")["context"]
    assert shown["self_overall"] == 3 and shown["feedback_summary"]["peer"]["count"] == 3
    lead.complete("manager_assessment", manager_answer(3))
    changed = {("rating", "self", "overall")}
    after = live_records(session, own["instance_id"])
    assert [x for x in after if x[:3] not in changed and x[0] != "score"] == [
        x for x in straight if x[:3] not in changed and x[0] != "score"
    ]
    assert [x[3] for x in after if x[:3] in changed] == [3]
    assert [x[5]["inputs"]["self"] for x in after if x[0] == "score"] == [3]
    assert cycle.id
