"""The demo the README opens with: sample org, every shipped workflow, a launched annual review — and again."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import audit, demo
from engine.org import accounts
from engine.store.models import CalibrationGroup, Definition, Instance, Person


def test_demo_seeds_a_launched_annual_review_and_can_run_twice(session):
    first = demo.seed(session)
    assert first["population"] == 10
    keys = set(session.scalars(select(Definition.key)))
    assert keys == {p.stem for p in demo.WORKFLOWS.glob("*.bpmn")}
    names = set(session.scalars(select(Person.name)))
    assert {"陈静", "Priya Nair"} <= names  # Chinese and English names
    for _who, email, token in first["logins"]:
        assert accounts.person_for_token(session, token).email == email
    groups = session.scalars(select(CalibrationGroup).order_by(CalibrationGroup.name)).all()
    assert [(g.name, len(g.members), g.status) for g in groups] == [
        ("Engineering 校准 / calibration", 5, "waiting"),  # the head's five reports
        ("Sales 校准 / calibration", 3, "waiting"),
        ("负责人校准 / Leadership calibration", 2, "waiting"),  # the heads, never on their own committee
    ]
    second = demo.seed(session)
    assert second["cycle_id"] == first["cycle_id"]
    assert session.scalar(select(func.count()).select_from(Instance)) == 10
    assert session.scalar(select(func.count()).select_from(CalibrationGroup)) == 3
    assert session.scalar(select(func.count()).select_from(Definition)) == len(keys)  # nothing redeployed
    assert audit.verify(session).ok
