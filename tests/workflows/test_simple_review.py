"""The shipped simple review, driven end to end as each assignee would, restoring the workflow at every step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import audit, demo
from engine.bpmn import spiff
from engine.process import definitions, runtime
from engine.queries import views
from engine.store.models import Instance, Task
from forms.validation import check_schema
from tests import factories as f

EMPLOYEE, LEAD, HR = "designer1@initech.test", "design.lead@initech.test", f.HR
SELF = {
    "achievements": "Shipped the design system and mentored two juniors / 完成设计系统",
    "self_rating": 4,
    "development_wishes": ["public speaking"],
}
MANAGER = {
    "manager_rating": 4,
    "strengths": "Clear, careful craft",
    "improvements": "Delegate more often",
    "summary": "A strong year with visible impact across teams.",
}


def _step(session, email: str, name: str, data: dict) -> None:
    session.rollback()
    session.expire_all()
    person = f.people.by_email(session, email)
    mine = [t for t in views.list_tasks(session, actor=person, status="open") if t["name"] == name]
    assert len(mine) == 1, (email, name, views.list_tasks(session, actor=person, status="open"))
    detail = views.task_detail(session, actor=person, task_id=mine[0]["id"])
    assert detail["form"]["schema"]["properties"], "the task shows its form"
    instance = session.get(Instance, detail["instance_id"])
    spec = definitions.spec_of(session, instance.definition)
    assert spiff.dump(spiff.load(instance.state, spec)) == instance.state  # save/restore is lossless at this step
    runtime.complete_task(session, task_id=mine[0]["id"], actor=person, data=data)


@pytest.fixture
def review(session):
    people = f.org(session)
    hr = people[HR]
    shipped = demo.shipped_files(demo.WORKFLOWS / "simple_review.bpmn")
    definition = definitions.deploy(session, actor=hr, files=shipped)[0]
    cycle = f.launched(session, definition, [EMPLOYEE])
    return cycle


@pytest.mark.parametrize("agree,last", [(True, None), (False, "hr_review")])
def test_review_runs_to_the_end(session, review, agree, last):
    _step(session, EMPLOYEE, "self_review", SELF)
    _step(session, LEAD, "manager_review", MANAGER)
    _step(session, EMPLOYEE, "acknowledge", {"agree": agree, "comment": "Thank you / 谢谢"})
    if last:
        _step(session, HR, last, {"outcome": "discussed", "note": "We talked it through together."})
    session.rollback()
    instance = session.scalar(select(Instance).where(Instance.cycle_id == review.id))
    assert instance.status == "completed"
    names = [t.name for t in session.scalars(select(Task).where(Task.instance_id == instance.id).order_by(Task.id))]
    assert names == ["self_review", "manager_review", "acknowledge"] + ([last] if last else [])
    assert audit.verify(session).ok


def test_each_task_goes_to_the_lane_owner(session, review):
    lanes_seen = {}
    for email, name, data in [(EMPLOYEE, "self_review", SELF), (LEAD, "manager_review", MANAGER)]:
        session.rollback()
        person = f.people.by_email(session, email)
        [task] = views.list_tasks(session, actor=person, status="open")
        lanes_seen[name] = task["lane"]
        assert task["subject"]["email"] == EMPLOYEE
        runtime.complete_task(session, task_id=task["id"], actor=person, data=data)
    assert lanes_seen == {"self_review": "Employee", "manager_review": "Manager"}


def test_shipped_forms_are_valid_and_bilingual():
    for path in sorted((Path(demo.FORMS)).glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert check_schema(schema) is None, path.name
        assert schema["x-i18n"]["zh-CN"]["title"], path.name
        for name, prop in schema["properties"].items():
            assert prop.get("title") and prop["x-i18n"]["zh-CN"]["title"], (path.name, name)
