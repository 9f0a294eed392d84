"""Drive shipped diagrams as their assignees would: each step through the use-case functions, with the workflow
restored from the database (and checked to round-trip) at every step."""

from __future__ import annotations

from typing import Any

from engine import demo
from engine.bpmn import spiff
from engine.process import definitions, runtime
from engine.queries import views
from engine.review import release as releasing
from engine.store.models import Definition, Instance
from tests import factories as f

EMPLOYEE, LEAD, HR = "designer1@initech.test", "design.lead@initech.test", f.HR
PEERS = [f"peer{i}@initech.test" for i in range(3)]

GOALS = [
    {
        "title": "Ship the design system",
        "description": "v2 for all product teams",
        "metric": "teams adopted",
        "target": "6 teams",
        "due_date": "2026-12-31",
        "weight": 50,
        "aligned_to": "G1",
    },
    {
        "title": "Mentor two juniors",
        "description": "weekly pairing",
        "metric": "sessions",
        "target": "40",
        "due_date": "2026-12-31",
        "weight": 30,
    },
    {
        "title": "Accessibility audit",
        "description": "WCAG AA",
        "metric": "issues fixed",
        "target": "90%",
        "due_date": "2026-10-31",
        "weight": 20,
    },
]
SETTINGS = {"company_goals": [{"id": "G1", "title": {"en": "Grow adoption", "zh-CN": "提升采用率"}}]}


def ratings(n: int, value: int, extra: str = "comment") -> list[dict[str, Any]]:
    return [{"rating": value, extra: "Concrete example / 具体例子"} for _ in range(n)]


def deploy_shipped(session, key: str) -> Definition:
    hr = f.people.by_email(session, HR)
    return definitions.deploy(session, actor=hr, files=demo.shipped_files(demo.WORKFLOWS / f"{key}.bpmn"))[0]


def open_task(session, email: str, name: str, subject: str | None = None) -> dict[str, Any]:
    """The one open task `name` of this person (about `subject`, when given), with its form, context and prefill."""
    session.rollback()
    session.expire_all()
    person = f.people.by_email(session, email)
    mine = [
        t
        for t in views.list_tasks(session, actor=person, status="open")
        if t["name"] == name and (subject is None or (t["subject"] or {}).get("email") == subject)
    ]
    assert len(mine) == 1, (email, name, [t["name"] for t in views.list_tasks(session, actor=person, status="open")])
    detail = views.task_detail(session, actor=person, task_id=mine[0]["id"])
    instance = session.get(Instance, detail["instance_id"])
    spec = definitions.spec_of(session, instance.definition)
    assert spiff.dump(spiff.load(instance.state, spec)) == instance.state  # save/restore is lossless at this step
    return detail


def act(session, email: str, name: str, data: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    """Complete `name` as `email`; returns the task as it was shown before submitting."""
    detail = open_task(session, email, name, subject)
    runtime.complete_task(session, task_id=detail["id"], actor=f.people.by_email(session, email), data=data)
    return detail


def open_names(session, email: str) -> list[str]:
    session.rollback()
    session.expire_all()
    return sorted(t["name"] for t in views.list_tasks(session, actor=f.people.by_email(session, email), status="open"))


SUMMARY = "Needs to rebuild trust with the team before taking on more."


def drive_to_release(session, overall: int):
    """An annual review for EMPLOYEE up to the manager's rating `overall`; 2 of 3 threshold peers answered."""
    f.org(session, extra_peers=3)
    settings = {**SETTINGS, "nominations": {"min": 2, "max": 8}}
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE], settings=settings)
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"})
    act(session, EMPLOYEE, "nominate_peers", {"nominees": PEERS})
    act(session, LEAD, "approve_peers", {"peers": PEERS[:2]})  # the manager removes one nominee
    for peer in PEERS[:2]:
        act(
            session,
            peer,
            "give_peer_feedback",
            {"declined": False, "rating": 3, "strengths": "Helpful always", "improvements": "Plan further ahead"},
        )
    act(
        session,
        EMPLOYEE,
        "self_assessment",
        {
            "self_goal_ratings": ratings(3, 3),
            "self_competency_ratings": ratings(4, 3, "example"),
            "self_overall": 3,
            "self_summary": "A hard year, and I kept going.",
        },
    )
    shown = act(
        session,
        LEAD,
        "manager_assessment",
        {
            "manager_goal_ratings": ratings(3, overall),
            "manager_competency_ratings": ratings(4, overall),
            "manager_overall": overall,
            "potential": "medium",
            "manager_summary": SUMMARY,
        },
    )
    assert shown["context"]["feedback_summary"] == {"peer": {"hidden": True}}  # 2 answers < threshold 3
    return cycle


def release(session, cycle) -> None:
    """HR releases the cycle's results; exactly one review was waiting."""
    session.rollback()
    result = releasing.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    assert result["released"] == 1
