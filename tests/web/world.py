"""The data the browser tests run against: the Initech org with web passwords, the shipped simple review
(one open for an employee, one completed end to end) and the shipped 360 diagram, deployed once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import demo
from engine.org import accounts
from engine.process import definitions, runtime
from engine.queries import views
from engine.review import cycles
from tests import factories as f
from tests.web import world_ops

PASSWORD = "Web-pass-123"
EMPLOYEE, DONE, LEAD = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
HR, AUDITOR = f.HR, "auditor@initech.test"
SELF = {"achievements": "Shipped the design system and mentored two juniors / 完成设计系统", "self_rating": 4}
MANAGER = {
    "manager_rating": 4,
    "strengths": "Clear, careful craft",
    "improvements": "Delegate more often",
    "summary": "A strong year with visible impact across teams.",
}


def _complete(session: Session, email: str, name: str, data: dict[str, Any]) -> None:
    session.rollback()
    person = f.people.by_email(session, email)
    assert person is not None
    [task] = [t for t in views.list_tasks(session, actor=person, status="open") if t["name"] == name]
    runtime.complete_task(session, task_id=task["id"], actor=person, data=data)


def build(session: Session) -> dict[str, Any]:
    people = f.org(session)
    for email in (EMPLOYEE, DONE, LEAD, HR):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    hr = people[HR]
    review = definitions.deploy(session, actor=hr, files=demo.shipped_files(demo.WORKFLOWS / "simple_review.bpmn"))[0]
    definitions.deploy(session, actor=hr, files=demo.shipped_files(demo.WORKFLOWS / "feedback_360.bpmn"))
    cycle = cycles.create_cycle(
        session,
        actor=hr,
        name="2026 年度评估 / Review 2026",
        definition=review.key,
        participants={"emails": [EMPLOYEE, DONE]},
    )
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    _complete(session, DONE, "self_review", SELF)
    _complete(session, LEAD, "manager_review", MANAGER)
    _complete(session, DONE, "acknowledge", {"agree": True, "comment": "Thank you / 谢谢"})
    session.rollback()
    annual = definitions.deploy(session, actor=hr, files=demo.shipped_files(demo.WORKFLOWS / "annual_review.bpmn"))[0]
    goals_cycle = cycles.create_cycle(
        session,
        actor=hr,
        name="Annual review",
        definition=annual.key,
        participants={"emails": [LEAD]},
        settings={"company_goals": demo.SETTINGS["company_goals"]},
    )
    cycles.launch(session, actor=hr, cycle_id=goals_cycle.id)
    session.rollback()
    [done] = views.list_tasks(session, actor=people[LEAD], status="completed")
    ops = world_ops.build(session)  # the Operations cycle HR's live operations change
    return {"cycle_id": cycle.id, "completed_instance": done["instance_id"], "password": PASSWORD, **ops}
