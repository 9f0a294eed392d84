"""The world of the form tour (tests/web/test_browser_form_tour.py): the shipped annual review launched for many
subjects, each stopped at a different step, so that every shipped form has an open task at the same time; a calibrated
cycle with one group at the facilitator's session and one at the committee's sign-off; and the simple review's four
forms. Every assignee has a web password. `build` returns, per form name, who fills it and the task's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.org import accounts
from engine.process import runtime
from engine.queries import views
from engine.review import cycles, release
from engine.store.models import Task
from tests import factories as f
from tests.workflows.calibration_steps import CEO, make_group
from tests.workflows.steps import GOALS, HR, LEAD, SETTINGS, deploy_shipped, ratings

PASSWORD = "Tour-pass-123"
RATERS = ["peer1@initech.test", "peer2@initech.test"]
ANNUAL = {**SETTINGS, "nominations": {"min": 2, "max": 8}}
SELF = {
    "self_goal_ratings": ratings(3, 3),
    "self_competency_ratings": ratings(4, 3, "example"),
    "self_overall": 3,
    "self_summary": "A year with a lot shipped.",
}
PEER_ANSWER = {"declined": False, "rating": 3, "strengths": "Helpful always", "improvements": "Plan further ahead"}
APPEAL = {"ack_decision": "appeal", "appeal_reason": "The rating leaves out the launch I led in spring."}
DECISION = {
    "appeal_outcome": "changed",
    "appeal_response": "We looked again and changed the rating.",
    "changed_overall": 1,
}
PIP = {
    "objectives": ["Weekly reports by Friday noon"],
    "support": "A weekly hour with the lead to plan.",
    "review_date": "2027-03-31",
}
IDP_GOAL = {"goal": "Lead a cross-team project", "actions": ["Shadow a project lead"], "due_date": "2027-06-30"}
IDP = {"development_goals": [IDP_GOAL, {**IDP_GOAL, "goal": "Present at the design guild"}]}
SIMPLE_SELF = {"achievements": "Shipped the design system and mentored two juniors", "self_rating": 4}
SIMPLE_MANAGER = {
    "manager_rating": 3,
    "strengths": "Clear, careful craft",
    "improvements": "Delegate more often",
    "summary": "A steady year with visible impact.",
}


def peer(i: int) -> str:
    return f"peer{i}@initech.test"


def _task(session: Session, email: str, name: str, subject: str | None) -> dict[str, Any]:
    """The one open task `name` of `email` about `subject` (None: a calibration session's, about a group)."""
    session.rollback()
    session.expire_all()
    person = f.people.by_email(session, email)
    found = [
        t
        for t in views.list_tasks(session, actor=person, status="open")
        if t["name"] == name and (t["subject"] or {}).get("email") == subject
    ]
    assert len(found) == 1, (email, name, subject, len(found))
    return found[0]


def act(session: Session, email: str, name: str, subject: str | None, data: dict[str, Any]) -> None:
    task = _task(session, email, name, subject)
    runtime.complete_task(session, task_id=task["id"], actor=f.people.by_email(session, email), data=data)


def _manager(overall: int) -> dict[str, Any]:
    return {
        "manager_goal_ratings": ratings(3, overall),
        "manager_competency_ratings": ratings(4, overall),
        "manager_overall": overall,
        "potential": "medium",
        "manager_summary": "Specific, fair and kind words about the year.",
    }


def to_goals_approved(session: Session, subject: str, manager: str = LEAD) -> None:
    act(session, subject, "draft_goals", subject, {"goals": GOALS})
    act(session, manager, "approve_goals", subject, {"goal_decision": "approve"})


def to_rated(session: Session, subject: str, overall: int) -> None:
    to_goals_approved(session, subject)
    act(session, subject, "nominate_peers", subject, {"nominees": RATERS})
    act(session, LEAD, "approve_peers", subject, {"peers": RATERS})
    for rater in RATERS:
        act(session, rater, "give_peer_feedback", subject, PEER_ANSWER)
    act(session, subject, "self_assessment", subject, SELF)
    act(session, LEAD, "manager_assessment", subject, _manager(overall))


def _cycle(session: Session, name: str, key: str, emails: list[str], settings: dict[str, Any] | None) -> Any:
    hr = f.people.by_email(session, HR)
    cycle = cycles.create_cycle(
        session, actor=hr, name=name, definition=key, participants={"emails": emails}, settings=settings
    )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    session.rollback()
    return cycles.get_cycle(session, cycle.id)


# Where each form waits: form name -> (who fills it, the task's name, whose review).
OPEN: dict[str, tuple[str, str, str | None]] = {
    "goals-draft": (peer(3), "draft_goals", peer(3)),
    "goals-approve": (LEAD, "approve_goals", peer(4)),
    "feedback-nominate": (peer(5), "nominate_peers", peer(5)),
    "self-review": (peer(5), "self_assessment", peer(5)),
    "feedback-approve": (LEAD, "approve_peers", peer(6)),
    "feedback-peer": (RATERS[0], "give_peer_feedback", LEAD),
    "feedback-upward": (peer(6), "give_upward_feedback", LEAD),
    "manager-review": (LEAD, "manager_assessment", peer(7)),
    "results-acknowledge": (peer(8), "acknowledge_results", peer(8)),
    "appeal-decision": (HR, "handle_appeal", peer(9)),
    "results-final-ack": (peer(10), "acknowledge_final", peer(10)),
    "pip-plan": (HR, "pip_plan", peer(11)),
    "pip-acknowledge": (peer(12), "pip_acknowledge", peer(12)),
    "idp-draft": (peer(13), "draft_idp", peer(13)),
    "idp-review": (LEAD, "review_idp", peer(14)),
    "calibration-session": (HR, "calibrate", None),  # the group of designer1
    "calibration-signoff": (CEO, "sign_off", None),  # the group of designer2
    "review-self": (peer(0), "self_review", peer(0)),
    "review-manager": (LEAD, "manager_review", peer(15)),
    "review-acknowledge": (peer(16), "acknowledge", peer(16)),
    "review-hr": (HR, "hr_review", peer(17)),
}


def _annual(session: Session, key: str) -> None:
    released = [peer(i) for i in range(8, 15)]
    cycle_id = _cycle(session, "Annual review 2026", key, [LEAD, *[peer(i) for i in range(3, 15)]], ANNUAL).id
    act(session, peer(4), "draft_goals", peer(4), {"goals": GOALS})
    to_goals_approved(session, peer(5))
    to_goals_approved(session, peer(6))
    act(session, peer(6), "nominate_peers", peer(6), {"nominees": RATERS})
    to_goals_approved(session, LEAD, manager=CEO)  # the lead's own review: their reports give upward feedback
    act(session, LEAD, "nominate_peers", LEAD, {"nominees": RATERS})
    act(session, CEO, "approve_peers", LEAD, {"peers": RATERS})
    to_goals_approved(session, peer(7))
    act(session, peer(7), "nominate_peers", peer(7), {"nominees": RATERS})
    act(session, LEAD, "approve_peers", peer(7), {"peers": RATERS})
    for rater in RATERS:
        act(session, rater, "give_peer_feedback", peer(7), PEER_ANSWER)
    act(session, peer(7), "self_assessment", peer(7), SELF)
    for subject in released:
        to_rated(session, subject, 1 if subject in (peer(11), peer(12)) else 3)
    session.rollback()
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle_id)
    act(session, peer(9), "acknowledge_results", peer(9), APPEAL)
    act(session, peer(10), "acknowledge_results", peer(10), APPEAL)
    act(session, HR, "handle_appeal", peer(10), DECISION)
    for subject in (peer(11), peer(12), peer(13), peer(14)):
        act(session, subject, "acknowledge_results", subject, {"ack_decision": "acknowledge"})
    act(session, HR, "pip_plan", peer(12), PIP)
    act(session, peer(14), "draft_idp", peer(14), IDP)


def _calibrated(session: Session, key: str) -> None:
    members = ["designer1@initech.test", "designer2@initech.test"]
    cycle = _cycle(session, "Calibrated review 2026", key, members, {**ANNUAL, "calibration": True})
    for i, member in enumerate(members):
        make_group(session, cycle, name=f"Design {i + 1}", selector={"people": [member]})
    for member in members:
        to_rated(session, member, 4)
    session.rollback()
    hr = f.people.by_email(session, HR)
    second = max(t["id"] for t in views.list_tasks(session, actor=hr, status="open") if t["name"] == "calibrate")
    runtime.complete_task(session, task_id=second, actor=hr, data={"changes": [], "calibration_decision": "sign_off"})


def _simple(session: Session) -> None:
    key = deploy_shipped(session, "simple_review").key
    _cycle(session, "Simple review 2026", key, [peer(i) for i in (0, 15, 16, 17)], None)
    for subject in (peer(15), peer(16), peer(17)):
        act(session, subject, "self_review", subject, SIMPLE_SELF)
    for subject in (peer(16), peer(17)):
        act(session, LEAD, "manager_review", subject, SIMPLE_MANAGER)
    act(session, peer(17), "acknowledge", peer(17), {"agree": False, "comment": "I see the year differently."})


def build(session: Session) -> dict[str, Any]:
    f.org(session, extra_peers=18)
    deploy_shipped(session, "calibration")
    key = deploy_shipped(session, "annual_review").key
    _annual(session, key)
    _calibrated(session, key)
    _simple(session)
    forms = {}
    for form, (who, name, subject) in OPEN.items():
        task = session.get(Task, _task(session, who, name, subject)["id"])
        assert task is not None and task.form == f"{form}.schema.json", (form, task and task.form)
        forms[form] = {"who": who, "task": task.id}
    session.rollback()
    for who in sorted({who for who, _, _ in OPEN.values()} | {peer(8)}):
        accounts.create_account(session, email=who, roles=[], password=PASSWORD, actor="test")
    session.commit()
    return {"password": PASSWORD, "forms": forms, "released": peer(8)}
