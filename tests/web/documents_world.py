"""A calibrated annual review to read as documents: designer1's review ran to release (the manager rated 4, the
committee moved it to 5 for impact beyond the team; two peers answered, enough for a threshold of 2), and peer0's
review waits for the manager's assessment with one peer answer (not enough to show)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.org import accounts
from engine.review import release
from tests import factories as f
from tests.workflows.calibration_steps import CEO, HR, RATERS, complete, make_group, to_manager_rating
from tests.workflows.steps import GOALS, LEAD, SETTINGS, act, deploy_shipped, open_task, ratings

PASSWORD = "Docs-pass-123"
SUBJECT, OTHER, WAITING = "designer1@initech.test", "designer2@initech.test", "peer0@initech.test"
AUDITOR = "auditor@initech.test"
COMPANY_GOAL = {"en": "Grow adoption", "zh-CN": "提升采用率"}
REASON = {"en": "Impact beyond the team", "zh-CN": "团队之外的影响"}
CHANGE = {"person": SUBJECT, "rating": 5, "reason_code": "impact", "comment": "Led the cross-team launch"}


def _waiting_for_manager(session: Session) -> None:
    act(session, WAITING, "draft_goals", {"goals": GOALS})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"}, subject=WAITING)
    act(session, WAITING, "nominate_peers", {"nominees": RATERS})
    act(session, LEAD, "approve_peers", {"peers": RATERS}, subject=WAITING)
    answer = {"declined": False, "rating": 4, "strengths": "Always helpful", "improvements": "Plan further ahead"}
    act(session, RATERS[0], "give_peer_feedback", answer, subject=WAITING)
    act(session, RATERS[1], "give_peer_feedback", {"declined": True, "decline_reason": "Too new"}, subject=WAITING)
    self_review = {
        "self_goal_ratings": ratings(3, 4),
        "self_competency_ratings": ratings(4, 3, "example"),
        "self_overall": 4,
        "self_summary": "A year with a lot shipped.",
    }
    act(session, WAITING, "self_assessment", self_review)


def build(session: Session) -> dict[str, Any]:
    f.org(session, extra_peers=3)
    for email in (SUBJECT, OTHER, WAITING, LEAD, HR, CEO):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    deploy_shipped(session, "calibration")
    settings = {
        **SETTINGS,
        "nominations": {"min": 2, "max": 8},
        "calibration": True,
        "anonymity": {"peer": 2, "direct_report": 3},
    }
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [SUBJECT, OTHER, WAITING], settings)
    make_group(session, cycle, selector={"people": [SUBJECT, OTHER]})
    for subject in (SUBJECT, OTHER):
        to_manager_rating(session, subject)  # manager ratings 4 and 5
    complete(session, HR, "calibrate", {"changes": [CHANGE], "calibration_decision": "sign_off"})
    complete(session, CEO, "sign_off", {"sign_off": "agree"})
    complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    session.rollback()
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    _waiting_for_manager(session)
    review = open_task(session, LEAD, "manager_assessment", subject=WAITING)
    results = open_task(session, SUBJECT, "acknowledge_results")
    session.commit()
    return {
        "password": PASSWORD,
        "manager_review": review["id"],
        "instance": results["instance_id"],
        "waiting_instance": review["instance_id"],
    }
