"""Issue 12, org changes: every lane whose owner the lane map resolves moves with the org chart, not only the
Manager lane. A new manager for the subject's manager changes the subject's skip-level: their open Skip-Level task
moves to the new skip-level manager and later tasks follow the updated lanes; the Manager lane stays. SQLite and
PostgreSQL, over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.store.models import Instance
from tests import factories as f
from tests.api.test_org_changes import CEO, LEAD, OTHER, Who, _dry_then_apply, _org_csv
from tests.workflows.steps import EMPLOYEE

pytestmark = pytest.mark.both_dbs

VP = "vp.design@initech.test"
SKIP = "skip-level manager"


def test_a_new_manager_above_the_manager_moves_the_skip_level_task(client, session):
    f.org(session, extra_peers=1)
    cycle = f.launched(session, f.deploy(session, ("skip_signoff.bpmn", "summary.schema.json")), [EMPLOYEE, OTHER])
    employee, ceo = Who(client, session, EMPLOYEE), Who(client, session, CEO)
    employee.complete("write", {"note": "Ready for sign-off"})
    mine = ceo.task("sign_off", EMPLOYEE)
    session.rollback()
    instances = {i.subject.email: i for i in session.scalars(select(Instance).where(Instance.cycle_id == cycle.id))}
    assert instances[EMPLOYEE].lanes[SKIP] == [CEO]

    data = _org_csv(
        extra_peers=1,
        change={LEAD: f"manager_email={VP}"},
        add=(f"N02,Vera Park,{VP},{CEO},Design,VP Design,en,people@initech.test,true",),
    )
    done, before = _dry_then_apply(client, session, data)
    moved = [(e["instance_id"], e["task_id"], e["action"], e["from"], e["to"]) for e in done["effects"]]
    assert moved == [(instances[EMPLOYEE].id, mine["id"], "reassign", [CEO], [VP])]  # designer2 has no open one yet
    assert ceo.get(mine["id"]) == 404
    vp = Who(client, session, VP)
    assert vp.task("sign_off", EMPLOYEE)["id"] == mine["id"]
    session.rollback()
    session.expire_all()
    for email in (EMPLOYEE, OTHER):  # both reports of the lead: their frozen skip-level is the VP now
        lanes = session.get(Instance, instances[email].id).lanes
        assert (lanes[SKIP], lanes["manager"]) == ([VP], [LEAD])

    Who(client, session, OTHER).complete("write", {"note": "Mine too"})
    assert vp.task("sign_off", OTHER)  # a later Skip-Level task goes to the new skip-level manager
    vp.complete("sign_off", {"note": "Signed"}, EMPLOYEE)
    assert Who(client, session, LEAD).task("note", EMPLOYEE)  # the Manager lane did not change
