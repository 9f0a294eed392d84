"""The part of the browser tests' world that HR's live operations change (tests/web/test_browser_hr_ops.py): an
Operations department under the CEO whose own review cycle the tests reopen, cancel and add people to, so the rest
of the shared live world stays as the other browser tests expect it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.org import accounts, people
from engine.process import runtime
from engine.queries import views
from engine.review import cycles
from tests import factories as f

PASSWORD = "Web-pass-123"
CEO = "ceo@initech.test"
REOPEN_EN, REOPEN_ZH = "ana.ops@initech.test", "ben.ops@initech.test"  # self and manager review done
CANCEL_EN = "chen.ops@initech.test"  # their self-review open
CANCEL_ZH = "dana.ops@initech.test"  # self-review done, the CEO's manager review open
ADD_EN, ADD_ZH = "emil.ops@initech.test", "fang.ops@initech.test"  # not in the cycle yet
NAMES = {
    REOPEN_EN: "Ana Ruiz",
    REOPEN_ZH: "Ben Okafor",
    CANCEL_EN: "陈静",
    CANCEL_ZH: "Dana Lee",
    ADD_EN: "Emil Sato",
    ADD_ZH: "方芳",
}
SELF = {"achievements": "Cut the month-end close from five days to three / 月结缩短到三天", "self_rating": 4}
MANAGER = {
    "manager_rating": 3,
    "strengths": "Steady and precise",
    "improvements": "Share plans earlier",
    "summary": "A solid year; the close is faster and calmer.",
}


def _complete(session: Session, email: str, name: str, subject: str, data: dict[str, Any]) -> None:
    session.rollback()
    person = people.by_email(session, email)
    assert person is not None
    [task] = [
        t
        for t in views.list_tasks(session, actor=person, status="open")
        if t["name"] == name and t["subject"]["email"] == subject
    ]
    runtime.complete_task(session, task_id=task["id"], actor=person, data=data)


def build(session: Session) -> dict[str, Any]:
    rows = "".join(
        f"OP{i},{name},{email},{CEO},Operations,Analyst,en,{f.HR}\n" for i, (email, name) in enumerate(NAMES.items())
    )
    people.import_csv(session, data=(f.ORG.splitlines()[0] + "\n" + rows).encode(), actor="test")
    for email in NAMES:
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    hr = people.by_email(session, f.HR)
    assert hr is not None
    cycle = cycles.create_cycle(
        session,
        actor=hr,
        name="Operations review / 运营评估",
        definition="simple_review",  # deployed by tests/web/world.py
        participants={"emails": [REOPEN_EN, REOPEN_ZH, CANCEL_EN, CANCEL_ZH]},
    )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    for email in (REOPEN_EN, REOPEN_ZH, CANCEL_ZH):
        _complete(session, email, "self_review", email, SELF)
    for email in (REOPEN_EN, REOPEN_ZH):
        _complete(session, CEO, "manager_review", email, MANAGER)
    session.rollback()
    return {"ops_cycle_id": cycle.id}
