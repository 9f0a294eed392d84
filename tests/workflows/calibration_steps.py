"""Drivers shared by the calibration tests: three designers' annual reviews up to the manager's rating, a cycle with
calibration on, a group, and completing a session task as a given person."""

from __future__ import annotations

from engine import calibration
from engine.process import runtime
from tests import factories as f
from tests.workflows.steps import GOALS, LEAD, SETTINGS, act, deploy_shipped, open_task, ratings

MEMBERS = ["designer1@initech.test", "designer2@initech.test", "peer0@initech.test"]
RATERS = ["peer1@initech.test", "peer2@initech.test"]
CEO, HR = f.DESIGNER, f.HR
OVERALL = {"designer1@initech.test": 4, "designer2@initech.test": 5, "peer0@initech.test": 2}
POTENTIAL = {"designer1@initech.test": "high", "designer2@initech.test": "medium", "peer0@initech.test": "low"}


def to_manager_rating(session, subject: str) -> None:
    act(session, subject, "draft_goals", {"goals": GOALS})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"}, subject=subject)
    act(session, subject, "nominate_peers", {"nominees": RATERS})
    act(session, LEAD, "approve_peers", {"peers": RATERS}, subject=subject)
    for rater in RATERS:
        answer = {"declined": False, "rating": 3, "strengths": "Helpful always", "improvements": "Plan further"}
        act(session, rater, "give_peer_feedback", answer, subject=subject)
    self_review = {
        "self_goal_ratings": ratings(3, 3),
        "self_competency_ratings": ratings(4, 3, "example"),
        "self_overall": 3,
        "self_summary": "A year with a lot shipped.",
    }
    act(session, subject, "self_assessment", self_review)
    value = OVERALL[subject]
    manager = {
        "manager_goal_ratings": ratings(3, value),
        "manager_competency_ratings": ratings(4, value),
        "manager_overall": value,
        "potential": POTENTIAL[subject],
        "manager_summary": "Specific, fair and kind words about the year.",
    }
    act(session, LEAD, "manager_assessment", manager, subject=subject)


def calibration_cycle(session, calibrate: bool = True):
    f.org(session, extra_peers=3)
    deploy_shipped(session, "calibration")
    settings = {**SETTINGS, "nominations": {"min": 2, "max": 8}, "calibration": calibrate}
    return f.launched(session, deploy_shipped(session, "annual_review"), MEMBERS, settings=settings)


def make_group(session, cycle, **overrides):
    hr = f.people.by_email(session, HR)
    spec = {
        "name": "Design",
        "selector": {"department": "Design"},
        "facilitator": HR,
        "committee": [CEO, LEAD],
        **overrides,
    }
    return calibration.create_group(session, actor=hr, cycle_id=cycle.id, **spec)


def complete(session, email: str, name: str, data: dict) -> None:
    detail = open_task(session, email, name)
    runtime.complete_task(session, task_id=detail["id"], actor=f.people.by_email(session, email), data=data)
