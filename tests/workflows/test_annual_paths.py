"""The annual review's branches: improvement plan for a low rating, an appeal that changes it, and dual-blind
visibility before release."""

from __future__ import annotations

import json

import pytest

from engine.queries import views
from tests import factories as f
from tests.workflows.steps import (
    EMPLOYEE,
    GOALS,
    HR,
    LEAD,
    PEERS,
    SETTINGS,
    SUMMARY,
    act,
    deploy_shipped,
    drive_to_release,
    open_names,
    open_task,
    ratings,
    release,
)


def test_before_release_the_employee_sees_nothing_of_the_manager_review(session):
    drive_to_release(session, overall=4)
    me = f.people.by_email(session, EMPLOYEE)
    seen = [
        views.task_detail(session, actor=me, task_id=t["id"]) for t in views.list_tasks(session, actor=me, status="all")
    ]
    seen.append(views.instance_detail(session, actor=me, instance_id=seen[0]["instance_id"]))
    blob = json.dumps(seen, ensure_ascii=False)
    assert SUMMARY not in blob and "manager_overall" not in blob
    assert open_names(session, EMPLOYEE) == []


def test_low_rating_routes_to_an_improvement_plan_with_hr(session):
    cycle = drive_to_release(session, overall=2)
    release(session, cycle)
    act(session, EMPLOYEE, "acknowledge_results", {"ack_decision": "acknowledge"})
    pip = act(
        session,
        HR,
        "pip_plan",
        {
            "objectives": ["Weekly 1:1 with a clear agenda"],
            "support": "A mentor from another team and a coach.",
            "review_date": "2027-03-01",
        },
    )
    assert pip["context"]["manager_overall"] == 2
    act(session, EMPLOYEE, "pip_acknowledge", {"acknowledged": True})
    assert open_names(session, EMPLOYEE) == ["draft_idp"]


@pytest.mark.parametrize("outcome,expect_pip", [("changed", False), ("upheld", True)])
def test_an_appeal_that_changes_the_rating_changes_the_path(session, outcome, expect_pip):
    cycle = drive_to_release(session, overall=2)
    release(session, cycle)
    act(
        session,
        EMPLOYEE,
        "acknowledge_results",
        {"ack_decision": "appeal", "appeal_reason": "The migration I led was not counted at all."},
    )
    decision = {"appeal_outcome": outcome, "appeal_response": "We looked at the migration work together in detail."}
    if outcome == "changed":
        decision["changed_overall"] = 3
    act(session, HR, "handle_appeal", decision)
    act(session, EMPLOYEE, "acknowledge_final", {"final_ack": True})
    assert open_names(session, HR) == (["pip_plan"] if expect_pip else [])
    assert open_names(session, EMPLOYEE) == ([] if expect_pip else ["draft_idp"])


def test_a_manager_under_review_gets_upward_feedback_from_each_direct_report(session):
    f.org(session, extra_peers=3)
    f.launched(session, deploy_shipped(session, "annual_review"), [LEAD], settings=SETTINGS)
    ceo = "ceo@initech.test"
    act(session, LEAD, "draft_goals", {"goals": GOALS})
    act(session, ceo, "approve_goals", {"goal_decision": "approve"})
    act(session, LEAD, "nominate_peers", {"nominees": ["people@initech.test", *PEERS[:2]]})
    act(session, ceo, "approve_peers", {"peers": ["people@initech.test", *PEERS[:2]]})
    reports = ["designer1@initech.test", "designer2@initech.test", *PEERS]
    for email in reports:
        assert "give_upward_feedback" in open_names(session, email)
    texts = [f"Clear priorities, note {i}" for i in range(len(reports))]
    for email, text in zip(reports, texts, strict=True):
        act(
            session,
            email,
            "give_upward_feedback",
            {"declined": False, "rating": 4, "strengths": text, "improvements": "More one-to-ones please"},
        )
    # direct reports answered before any peer did: the two perspectives run side by side
    for email in ["people@initech.test", *PEERS[:2]]:
        act(session, email, "give_peer_feedback", {"declined": True, "decline_reason": "Too little overlap"})
    act(
        session,
        LEAD,
        "self_assessment",
        {
            "self_goal_ratings": ratings(3, 4),
            "self_competency_ratings": ratings(4, 4, "example"),
            "self_overall": 4,
            "self_summary": "I grew the team and shipped the system.",
        },
    )
    summary = open_task(session, ceo, "manager_assessment")["context"]["feedback_summary"]
    assert summary["peer"] == {"hidden": True}  # everyone declined
    assert summary["direct_report"]["count"] == 5
    assert summary["direct_report"]["comments"]["strengths"] == sorted(texts, key=str.casefold)
