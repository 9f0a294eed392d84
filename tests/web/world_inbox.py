"""The live server's world for the inbox, team and long-form browser tests (tests/web/test_browser_inbox.py):
the shipped simple review for 冯雪 and Jonas Berg (Jonas has submitted his self-review, so his manager 孔亮 has a
task about him, overdue) and a check-in cycle in which 孔亮 writes his own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine import demo
from engine.core import clock
from engine.org import accounts
from engine.process import definitions, runtime
from engine.queries import views
from engine.review import cycles
from engine.store.models import Task
from tests import factories as f
from tests.web.world import DONE, EMPLOYEE, LEAD, PASSWORD, SELF


def build(session: Session) -> dict[str, Any]:
    people = f.org(session)
    for email in (EMPLOYEE, DONE, LEAD):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    hr = people[f.HR]
    review = definitions.deploy(session, actor=hr, files=demo.shipped_files(demo.WORKFLOWS / "simple_review.bpmn"))[0]
    cycle = cycles.create_cycle(
        session,
        actor=hr,
        name="Review 2026 / 2026 年度评估",
        definition=review.key,
        participants={"emails": [EMPLOYEE, DONE]},
    )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    session.rollback()
    jonas = f.people.by_email(session, DONE)
    assert jonas is not None
    [own] = views.list_tasks(session, actor=jonas, status="open")
    runtime.complete_task(session, task_id=own["id"], actor=jonas, data=SELF)
    session.rollback()
    checkin = f.deploy(session)
    cycles.launch(
        session,
        actor=hr,
        cycle_id=cycles.create_cycle(
            session,
            actor=hr,
            name="Q1 check-in / 第一季度沟通",
            definition=checkin.key,
            participants={"emails": [LEAD]},
        ).id,
    )
    session.rollback()
    lead = f.people.by_email(session, LEAD)
    assert lead is not None
    for t in views.list_tasks(session, actor=lead, status="open"):
        if t["subject"]["email"] == DONE:
            task = session.get(Task, t["id"])
            assert task is not None
            task.due_at = clock.now() - timedelta(days=2)  # the manager is late with Jonas's review
    session.commit()
    return {"password": PASSWORD}
