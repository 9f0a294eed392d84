"""The annual review end to end over HTTP for a small org, every task completed by its assignee."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.store.models import Instance, ReviewRecord
from tests import factories as f
from tests.api.users import ApiUser
from tests.workflows.steps import EMPLOYEE, GOALS, HR, LEAD, PEERS, SETTINGS, deploy_shipped, ratings

pytestmark = pytest.mark.both_dbs


Person = ApiUser


def test_annual_review_runs_from_goals_to_development_plan(client, session):
    f.org(session, extra_peers=3)
    definition = deploy_shipped(session, "annual_review")
    cycle = f.launched(session, definition, [EMPLOYEE], settings=SETTINGS)
    employee, lead, hr = (Person(client, session, e) for e in (EMPLOYEE, LEAD, HR))
    peers = [Person(client, session, e) for e in PEERS]

    employee.complete("draft_goals", {"goals": GOALS})
    lead.complete("approve_goals", {"goal_decision": "approve"})

    # self-review and 360 run side by side
    assert sorted(t["name"] for t in employee.tasks()) == ["nominate_peers", "self_assessment"]
    employee.complete("nominate_peers", {"nominees": [EMPLOYEE, *PEERS[:2]]}, status=422)  # not themselves
    employee.complete("nominate_peers", {"nominees": PEERS})
    assert lead.task("approve_peers")["context"]["nominees"] == PEERS
    lead.complete("approve_peers", {"peers": PEERS})
    employee.complete(
        "self_assessment",
        {
            "self_goal_ratings": ratings(3, 4),
            "self_competency_ratings": ratings(4, 4, "example"),
            "self_overall": 4,
            "self_summary": "I delivered what I promised and helped others grow.",
        },
    )
    texts = ["Clear and kind in reviews", "Always ships on time", "Great at pairing with juniors"]
    for peer, text in zip(peers, texts, strict=True):
        peer.complete(
            "give_peer_feedback",
            {"declined": False, "rating": 4, "strengths": text, "improvements": "Share plans earlier"},
        )

    shown = lead.task("manager_assessment")["context"]
    assert shown["self_overall"] == 4 and len(shown["goals"]) == 3
    assert shown["feedback_summary"]["peer"]["count"] == 3
    assert shown["feedback_summary"]["peer"]["comments"]["strengths"] == sorted(texts, key=str.casefold)
    lead.complete(
        "manager_assessment",
        {
            "manager_goal_ratings": ratings(3, 4),
            "manager_competency_ratings": ratings(4, 3),
            "manager_overall": 3,
            "potential": "high",
            "manager_summary": "A strong, reliable year; keep growing your influence.",
            "private_note": "Promotion candidate next cycle.",
        },
    )

    # nothing more until HR releases results
    assert employee.tasks() == []
    r = client.post(f"/api/cycles/{cycle.id}/release", headers=hr.headers)
    assert r.status_code == 200 and r.json()["released"] == 1, r.text
    ack = employee.task("acknowledge_results")
    assert ack["context"]["manager_overall"] == 3 and ack["context"]["final_score"] is not None
    assert "Promotion candidate" not in str(ack)  # the private note stays private
    employee.complete(
        "acknowledge_results",
        {"ack_decision": "appeal", "appeal_reason": "My accessibility work was not taken into account."},
    )
    hr.complete(
        "handle_appeal",
        {
            "appeal_outcome": "changed",
            "changed_overall": 4,
            "appeal_response": "We agree the audit was significant and adjusted the rating.",
        },
    )
    assert employee.task("acknowledge_final")["context"]["changed_overall"] == 4
    employee.complete("acknowledge_final", {"final_ack": True})

    employee.complete(
        "draft_idp",
        {
            "development_goals": [
                {
                    "goal": "Lead a cross-team project",
                    "actions": ["Volunteer for the Q1 migration"],
                    "due_date": "2027-06-30",
                },
                {"goal": "Public speaking", "actions": ["Give one internal talk"], "due_date": "2027-03-31"},
            ]
        },
    )
    lead.complete("review_idp", {"idp_decision": "agree"})

    session.rollback()
    instance = session.scalar(select(Instance).where(Instance.cycle_id == cycle.id))
    assert instance.status == "completed"
    kinds = [r.kind for r in session.scalars(select(ReviewRecord).where(ReviewRecord.instance_id == instance.id))]
    assert kinds.count("goal") == 3 and kinds.count("development_action") == 2
    assert {"score", "acknowledgement", "appeal"} <= set(kinds)
    assert client.get("/api/audit/verify", headers=hr.headers).json()["ok"] is True
