"""Every shipped diagram, run as if each step happened in a new process.

A restarted server or a second API process parses the definition afresh and loads the instance from the database. The
scenarios below drive each shipped diagram twice on two databases: once straight (one parsed spec for the whole run)
and once with the spec parsed again before every single step — every launch, completion, message and job. Both runs
must end in the same place: the same workflow state and data, the same tasks, the same review records, the same audit
actions (SpiffWorkflow's own save/restore tests are the model).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, demo
from engine.bpmn import spiff
from engine.review import release
from engine.store import db
from engine.store.models import AuditEvent, Instance, ReviewRecord, Task
from tests import factories as f
from tests.conftest import _reset_process_state
from tests.workflows import calibration_steps as cal
from tests.workflows.steps import (
    EMPLOYEE,
    GOALS,
    HR,
    LEAD,
    PEERS,
    SETTINGS,
    act,
    deploy_shipped,
    drive_to_release,
    ratings,
)


class _ParsedAfreshEachTime(dict):
    """A spec cache that never finds what an earlier step parsed: every lookup parses the definition again, as a new
    process would. What the current step parsed stays readable for that step's own load."""

    def get(self, key: Any, default: Any = None) -> Any:
        return default


# ------------------------------------------------------------------------------------------------ the scenarios

SELF = {
    "self_goal_ratings": ratings(3, 3),
    "self_competency_ratings": ratings(4, 3, "example"),
    "self_overall": 3,
    "self_summary": "A hard year, and I kept going.",
}
IDP = {
    "development_goals": [
        {"goal": "Lead a cross-team project", "actions": ["Volunteer for the Q1 migration"], "due_date": "2027-06-30"},
        {"goal": "Public speaking", "actions": ["Give one internal talk"], "due_date": "2027-03-31"},
    ]
}


def simple_review(session: Session) -> None:
    f.org(session)
    f.launched(session, deploy_shipped(session, "simple_review"), [EMPLOYEE])
    achievements = "Shipped the design system and mentored two juniors / 完成设计系统"
    act(session, EMPLOYEE, "self_review", {"achievements": achievements, "self_rating": 4, "development_wishes": []})
    manager = {
        "manager_rating": 4,
        "strengths": "Clear, careful craft",
        "improvements": "Delegate more often",
        "summary": "A strong year with visible impact across teams.",
    }
    act(session, LEAD, "manager_review", manager)
    act(session, EMPLOYEE, "acknowledge", {"agree": False, "comment": "I see it differently / 我有不同看法"})
    act(session, HR, "hr_review", {"outcome": "discussed", "note": "We talked it through together."})


def goal_setting(session: Session) -> None:
    f.org(session)
    f.launched(session, deploy_shipped(session, "goal_setting"), [EMPLOYEE], settings=SETTINGS)
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS})
    act(session, LEAD, "approve_goals", {"goal_decision": "revise", "goal_feedback": "Make goal 3 measurable"})
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS[:2] + [dict(GOALS[2], target="95% of issues")]})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"})


def self_and_manager_review(session: Session) -> None:
    f.org(session)
    f.launched(session, deploy_shipped(session, "self_review"), [EMPLOYEE])
    f.launched(session, deploy_shipped(session, "manager_review"), [EMPLOYEE])
    act(session, EMPLOYEE, "self_assessment", dict(SELF, self_goal_ratings=[]))
    manager = {
        "manager_goal_ratings": [],
        "manager_competency_ratings": ratings(4, 4),
        "manager_overall": 4,
        "potential": "high",
        "manager_summary": "A thoughtful, steady year of good work.",
    }
    act(session, LEAD, "manager_assessment", manager)


def feedback_360(session: Session) -> None:
    """The design lead is reviewed: three peers and five direct reports answer side by side, one peer declines."""
    f.org(session, extra_peers=3)
    f.launched(session, deploy_shipped(session, "feedback_360"), [LEAD], settings={"nominations": {"min": 2, "max": 8}})
    raters = [HR, *PEERS[:2]]
    act(session, LEAD, "nominate_peers", {"nominees": raters})
    act(session, "ceo@initech.test", "approve_peers", {"peers": raters})
    reports = ["designer1@initech.test", "designer2@initech.test", *PEERS]
    for i, (peer, report) in enumerate(zip(raters + [None] * 2, reports, strict=True)):
        if peer == HR:
            act(session, peer, "give_peer_feedback", {"declined": True, "decline_reason": "Too little overlap"})
        elif peer:
            answer = {
                "declined": False,
                "rating": 3 + i % 2,
                "strengths": f"Helpful in every review {i}",
                "improvements": "Plan further ahead",
            }
            act(session, peer, "give_peer_feedback", answer)
        upward = {
            "declined": False,
            "rating": 4,
            "strengths": f"Clear priorities, note {i}",
            "improvements": "More one-to-ones please",
        }
        act(session, report, "give_upward_feedback", upward)


def annual_review_to_development_plan(session: Session) -> None:
    """The whole annual review: goals, 360, self and manager review, release, appeal, development plan."""
    cycle = drive_to_release(session, overall=3)
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    act(
        session,
        EMPLOYEE,
        "acknowledge_results",
        {"ack_decision": "appeal", "appeal_reason": "The accessibility audit was not counted."},
    )
    decision = {
        "appeal_outcome": "changed",
        "changed_overall": 4,
        "appeal_response": "We agree the audit mattered and adjusted it.",
    }
    act(session, HR, "handle_appeal", decision)
    act(session, EMPLOYEE, "acknowledge_final", {"final_ack": True})
    act(session, EMPLOYEE, "draft_idp", IDP)
    act(
        session,
        LEAD,
        "review_idp",
        {"idp_decision": "revise", "idp_comment": "Please add a date for the internal talk"},
    )
    act(session, EMPLOYEE, "draft_idp", IDP)
    act(session, LEAD, "review_idp", {"idp_decision": "agree"})


def annual_review_improvement_plan(session: Session) -> None:
    cycle = drive_to_release(session, overall=2)
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    act(session, EMPLOYEE, "acknowledge_results", {"ack_decision": "acknowledge"})
    plan = {
        "objectives": ["Weekly 1:1 with an agenda"],
        "support": "A mentor from another team and a coach.",
        "review_date": "2027-03-01",
    }
    act(session, HR, "pip_plan", plan)
    act(session, EMPLOYEE, "pip_acknowledge", {"acknowledged": True})
    act(session, EMPLOYEE, "draft_idp", IDP)
    act(session, LEAD, "review_idp", {"idp_decision": "agree"})


def calibration_session(session: Session) -> None:
    """Three reviews reach the manager's rating, a group calibrates over two rounds, results are delivered."""
    cycle = cal.calibration_cycle(session)
    cal.make_group(session, cycle)
    for subject in cal.MEMBERS:
        cal.to_manager_rating(session, subject)
    change = {
        "person": "designer2@initech.test",
        "rating": 4,
        "reason_code": "consistency",
        "comment": "Consistent with the senior designers",
    }
    cal.complete(session, HR, "calibrate", {"changes": [change], "calibration_decision": "sign_off"})
    cal.complete(session, cal.CEO, "sign_off", {"sign_off": "discuss", "sign_off_note": "Look at peer0 again"})
    cal.complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    cal.complete(session, HR, "calibrate", {"changes": [], "calibration_decision": "sign_off"})
    cal.complete(session, cal.CEO, "sign_off", {"sign_off": "agree"})
    cal.complete(session, LEAD, "sign_off", {"sign_off": "agree"})
    release.release_results(session, actor=f.people.by_email(session, HR), cycle_id=cycle.id)
    for subject in cal.MEMBERS:
        act(session, subject, "acknowledge_results", {"ack_decision": "acknowledge"})


ANNUAL = {"annual_review", "goal_setting", "feedback_360", "self_review", "manager_review", "release_ack"}
SCENARIOS: dict[str, tuple[Callable[[Session], None], set[str]]] = {
    "simple_review": (simple_review, {"simple_review"}),
    "goal_setting": (goal_setting, {"goal_setting"}),
    "self_and_manager_review": (self_and_manager_review, {"self_review", "manager_review"}),
    "feedback_360": (feedback_360, {"feedback_360"}),
    "annual_review_to_development_plan": (annual_review_to_development_plan, ANNUAL | {"development_plan"}),
    "annual_review_improvement_plan": (annual_review_improvement_plan, ANNUAL | {"development_plan"}),
    "calibration_session": (calibration_session, ANNUAL | {"calibration"}),
}


def test_every_shipped_diagram_has_a_fresh_process_scenario():
    shipped = {p.stem for p in Path(demo.WORKFLOWS).glob("*.bpmn")}
    covered = set().union(*(diagrams for _run, diagrams in SCENARIOS.values()))
    assert shipped - covered == set(), "add a scenario to SCENARIOS for each new diagram"


# ------------------------------------------------------------------------------------------------ the comparison

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
_VOLATILE = {"last_state_change", "at", "created_at", "updated_at", "completed_at", "due_at", "locked_at"}


def _normal(value: Any, names: dict[str, str]) -> Any:
    """The value with SpiffWorkflow's random task ids numbered by first appearance and times left out."""
    if isinstance(value, dict):
        return {_normal(k, names): _normal(v, names) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_normal(v, names) for v in value]
    if isinstance(value, str):
        value = _UUID.sub(lambda m: names.setdefault(m.group(0), f"<task {len(names)}>"), value)
        return _TIME.sub("<time>", value)
    return value


def fingerprint(session: Session) -> dict[str, Any]:
    """What a user or an auditor could tell apart: workflow state and data, tasks, review records, audit actions."""
    session.rollback()
    session.expire_all()
    names: dict[str, str] = {}
    instances = [
        {
            "subject": i.subject.email if i.subject else None,
            "kind": i.kind,
            "status": i.status,
            "lanes": i.lanes,
            "state": _normal(json.loads(i.state), names),
        }
        for i in session.scalars(select(Instance).order_by(Instance.id))
    ]
    tasks = [
        {
            "name": t.name,
            "status": t.status,
            "assignees": sorted(a.person.email for a in t.assignees),
            "context": _normal(t.context, names),
            "submitted": t.submitted,
        }
        for t in session.scalars(select(Task).order_by(Task.id))
    ]
    records = [
        (r.kind, r.source, r.dimension, r.score, r.text, _normal(r.data, names), r.subject_id)
        for r in session.scalars(select(ReviewRecord).order_by(ReviewRecord.id))
    ]
    events = [
        (o.actor, o.row.action, o.row.instance_id, o.row.task_id, _normal(o.payload, names))
        for o in audit.reveal(session, session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all())
    ]
    return {"instances": instances, "tasks": tasks, "records": records, "audit": events}


@pytest.fixture
def second_database(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Switch the process to a second, freshly migrated SQLite database and hand back a session on it."""
    opened: list[Session] = []

    def switch() -> Session:
        path = tmp_path / "second.db"
        shutil.copy(sqlite_template, path)
        monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", f"sqlite:///{path}")
        _reset_process_state()
        opened.append(db.new_session(db.get_engine()))
        return opened[-1]

    yield switch
    for s in opened:
        s.close()
    db.get_engine().dispose()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_new_process_at_every_step_ends_where_one_process_does(name, session, second_database, monkeypatch):
    run, _diagrams = SCENARIOS[name]
    run(session)
    straight = fingerprint(session)
    assert straight["instances"], "the scenario started something"
    session.close()

    fresh = second_database()
    monkeypatch.setattr(spiff, "_SPECS", _ParsedAfreshEachTime())
    run(fresh)
    again = fingerprint(fresh)

    for part in ("instances", "tasks", "records", "audit"):
        assert again[part] == straight[part], f"{name}: the {part} differ when each step runs in a new process"
