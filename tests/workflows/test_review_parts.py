"""Goal setting, self-review and manager review, each driven on its own as its assignees would."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import FormInvalid
from engine.store.models import ReviewRecord
from tests import factories as f
from tests.workflows.steps import EMPLOYEE, GOALS, LEAD, SETTINGS, act, deploy_shipped, open_names, open_task, ratings


def records(session, kind: str, source: str | None = None) -> list[ReviewRecord]:
    session.rollback()
    q = select(ReviewRecord).where(ReviewRecord.kind == kind).order_by(ReviewRecord.id)
    return list(session.scalars(q.where(ReviewRecord.source == source) if source else q))


@pytest.fixture
def goals_cycle(session):
    f.org(session)
    f.launched(session, deploy_shipped(session, "goal_setting"), [EMPLOYEE], settings=SETTINGS)


def test_goal_rules_are_enforced_with_a_clear_message(session, goals_cycle):
    bad = [dict(g, weight=30) for g in GOALS]
    with pytest.raises(FormInvalid) as err:
        act(session, EMPLOYEE, "draft_goals", {"goals": bad})
    assert [e["path"] for e in err.value.errors] == ["goals"] and "add up to 90" in err.value.errors[0]["message"]
    with pytest.raises(FormInvalid) as err:
        act(session, EMPLOYEE, "draft_goals", {"goals": GOALS[:2] + [dict(GOALS[2], aligned_to="G404")]})
    assert {e["path"] for e in err.value.errors} >= {"goals/2/aligned_to"}
    with pytest.raises(FormInvalid):
        act(session, EMPLOYEE, "draft_goals", {"goals": GOALS[:2]})  # fewer than settings.goals.min (3)
    assert open_names(session, EMPLOYEE) == ["draft_goals"]


def test_send_back_loop_until_approved_then_goals_become_records(session, goals_cycle):
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS})
    shown = act(session, LEAD, "approve_goals", {"goal_decision": "revise", "goal_feedback": "Make goal 3 measurable"})
    assert shown["context"]["goals"] == GOALS
    again = open_task(session, EMPLOYEE, "draft_goals")
    assert again["context"]["goal_feedback"] == "Make goal 3 measurable"
    assert again["data"]["goals"] == GOALS  # the previous draft comes back to edit
    assert records(session, "goal") == []
    revised = GOALS[:2] + [dict(GOALS[2], target="95% of issues")]
    act(session, EMPLOYEE, "draft_goals", {"goals": revised})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"})
    assert [(r.text, r.score) for r in records(session, "goal")] == [(g["title"], g["weight"]) for g in revised]
    assert open_names(session, EMPLOYEE) == [] and open_names(session, LEAD) == []


def test_self_and_manager_reviews_store_ratings_with_their_anchor_text(session):
    f.org(session)
    for key, email, name, prefix in [
        ("self_review", EMPLOYEE, "self_assessment", "self"),
        ("manager_review", LEAD, "manager_assessment", "manager"),
    ]:
        f.launched(session, deploy_shipped(session, key), [EMPLOYEE])
        data = {
            f"{prefix}_goal_ratings": [],
            f"{prefix}_competency_ratings": ratings(4, 4, "comment" if prefix == "manager" else "example"),
            f"{prefix}_overall": 4,
            f"{prefix}_summary": "A thoughtful, steady year of good work.",
        }
        if prefix == "manager":
            data.update(potential="high", private_note="Ready for a bigger scope next year.")
        shown = act(session, email, name, data)
        assert [c["id"] for c in shown["context"]["settings.competencies"]] == [
            "ownership",
            "collaboration",
            "customer_focus",
            "growth",
        ]
    overall = {r.source: r for r in records(session, "rating") if r.dimension == "overall"}
    assert set(overall) == {"self", "manager"} and all(r.score == 4 and r.text for r in overall.values())
    competency = [r.dimension for r in records(session, "rating", "manager") if r.dimension.startswith("competency")]
    assert competency == [
        "competency:ownership",
        "competency:collaboration",
        "competency:customer_focus",
        "competency:growth",
    ]
    [score] = records(session, "score")
    assert score.data["inputs"]["manager"] == 4 and score.score is not None
