"""HR's live operations on the pages (issue 12, part 7): reassign, reopen, cancel on the instance page and add people
on the cycle dashboard. Each previews first (nothing changes), then confirms; engine refusals come back on the form
with what was typed; readers without HR's permission get the 403 page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from engine.org import accounts
from engine.process import runtime
from engine.queries import views
from engine.store.models import AuditEvent, Cycle, Instance, Task, TaskAssignee
from tests import factories as f
from tests.web.test_pages import AUDITOR, EMPLOYEE, OTHER, PASSWORD, sign_in, token_in

pytestmark = pytest.mark.both_dbs  # the preview is a dry run rolled back: on PostgreSQL too

LEAD = "design.lead@initech.test"


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    f.org(session)
    for email in (EMPLOYEE, OTHER, f.HR, LEAD):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE])
    person = f.people.by_email(session, EMPLOYEE)
    [task] = views.list_tasks(session, actor=person, status="open")
    return {"cycle": cycle.id, "task": task["id"], "instance": task["instance_id"], "app": create_app()}


def holders(session, task_id: int) -> list[str]:
    session.rollback()
    session.expire_all()
    rows = session.scalars(select(TaskAssignee).where(TaskAssignee.task_id == task_id))
    return sorted(r.person.email for r in rows)


def event_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def post(client, path: str, data: dict[str, str], page: str) -> Any:
    token = token_in(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def complete(session, email: str, name: str, data: dict[str, Any]) -> int:
    session.rollback()
    person = f.people.by_email(session, email)
    [task] = [t for t in views.list_tasks(session, actor=person, status="open") if t["name"] == name]
    runtime.complete_task(session, task_id=task["id"], actor=person, data=data)
    return int(task["id"])


def test_hr_reassigns_a_task_after_a_preview(world, session):
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    page = hr.get(where).text
    assert 'id="hr-actions"' in page and f'id="reassign-{world["task"]}"' in page
    before = event_count(session)
    base = f"{where}/tasks/{world['task']}/reassign"
    r = post(hr, base + "/preview", {"to": OTHER, "reason": "Covering while away"}, where)
    assert r.status_code == 200, r.text
    assert "moves from designer1@initech.test to designer2@initech.test" in r.text
    assert 'id="hr-confirm"' in r.text and f'action="{base}"' in r.text
    confirm = r.text.split('id="hr-confirm"', 1)[1].split("</form>", 1)[0]  # the confirm carries what was typed
    assert f'name="to" value="{OTHER}"' in confirm and 'name="reason" value="Covering while away"' in confirm
    assert holders(session, world["task"]) == [EMPLOYEE] and event_count(session) == before  # nothing changed
    r = post(hr, base, {"to": OTHER, "reason": "Covering while away"}, where)
    assert r.status_code == 303 and r.headers["location"] == where
    assert holders(session, world["task"]) == [OTHER]
    page = hr.get(where).text
    assert "Task reassigned" in page and "Covering while away" in page


def test_a_refused_reassignment_is_shown_on_the_form_with_what_was_typed(world, session):
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    r = post(
        hr,
        f"{where}/tasks/{world['task']}/reassign/preview",
        {"to": "nobody@initech.test", "reason": "Typed <b>"},
        where,
    )
    assert r.status_code == 422
    assert "nobody@initech.test is not in the org chart." in r.text
    assert 'value="nobody@initech.test"' in r.text and 'value="Typed &lt;b&gt;"' in r.text
    r = post(hr, f"{where}/tasks/{world['task']}/reassign", {"to": OTHER, "reason": " "}, where)
    assert r.status_code == 422 and "reason" in r.text
    assert holders(session, world["task"]) == [EMPLOYEE]


def test_hr_reopens_a_completed_task_and_sees_the_steps_it_resets(world, session):
    done = complete(session, EMPLOYEE, "write_checkin", {"progress": "Shipped v2", "blockers": [], "mood": 4})
    complete(session, LEAD, "respond", {"response": "Well done", "escalate_to_hr": True})
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    assert f'id="reopen-{done}"' in hr.get(where).text
    before = event_count(session)
    r = post(hr, f"{where}/tasks/{done}/reopen/preview", {"reason": "Wrong quarter"}, where)
    assert r.status_code == 200, r.text
    assert "These later steps will be reset:" in r.text and "Respond to the check-in" in r.text
    assert event_count(session) == before and session.get(Task, done).status == "completed"
    r = post(hr, f"{where}/tasks/{done}/reopen", {"reason": "Wrong quarter"}, where)
    assert r.status_code == 303
    session.rollback()
    assert session.get(Task, done).status == "open"
    assert "Task reopened" in hr.get(where).text


def test_hr_cancels_a_review_after_seeing_the_tasks_it_withdraws(world, session):
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    r = post(hr, f"{where}/cancel/preview", {"reason": "Left the company"}, where)
    assert r.status_code == 200, r.text
    assert "These 1 open tasks will be withdrawn:" in r.text and "Write your check-in" in r.text
    session.rollback()
    assert session.get(Instance, world["instance"]).status != "cancelled"
    r = post(hr, f"{where}/cancel", {"reason": "Left the company"}, where)
    assert r.status_code == 303
    session.rollback()
    session.expire_all()
    assert session.get(Instance, world["instance"]).status == "cancelled"
    page = hr.get(where).text
    assert "Review cancelled" in page and "Left the company" in page
    r = post(hr, f"{where}/cancel", {"reason": "Again"}, where)  # a retry changes nothing
    assert r.status_code == 303


def test_hr_adds_people_to_a_running_cycle_after_a_preview(world, session):
    hr = sign_in(world["app"], f.HR)
    where = f"/cycles/{world['cycle']}"
    assert 'id="add-people"' in hr.get(where).text
    typed = f"{OTHER}\n{EMPLOYEE}\nghost@initech.test"
    r = post(hr, where + "/participants/preview", {"emails": typed}, where)
    assert r.status_code == 200, r.text
    assert f'id="would-add">{OTHER}<' in r.text and f'id="already-in">{EMPLOYEE}<' in r.text
    assert 'id="unknown">ghost@initech.test<' in r.text and 'id="add-confirm"' not in r.text
    r = post(hr, where + "/participants", {"emails": typed}, where)  # confirming anyway: refused, nothing added
    assert r.status_code == 422 and "ghost@initech.test" in r.text
    session.rollback()
    assert OTHER not in (session.get(Cycle, world["cycle"]).participants or {}).get("emails", [])
    r = post(hr, where + "/participants/preview", {"emails": OTHER}, where)
    assert 'id="add-confirm"' in r.text
    session.rollback()
    assert OTHER not in session.get(Cycle, world["cycle"]).participants["emails"]
    r = post(hr, where + "/participants", {"emails": OTHER}, where)
    assert r.status_code == 303 and r.headers["location"] == where
    session.rollback()
    session.expire_all()
    assert OTHER in session.get(Cycle, world["cycle"]).participants["emails"]


@pytest.mark.parametrize("email", [AUDITOR, EMPLOYEE])
def test_readers_without_hrs_permission_get_the_403_page_and_change_nothing(world, session, email):
    client = sign_in(world["app"], email)
    where = f"/instances/{world['instance']}"
    token = token_in(client.get("/inbox").text)
    if email == AUDITOR:
        assert 'id="hr-actions"' not in client.get(where).text
    for path, data in [
        (f"{where}/tasks/{world['task']}/reassign", {"to": OTHER, "reason": "x"}),
        (f"{where}/cancel", {"reason": "x"}),
        (f"/cycles/{world['cycle']}/participants", {"emails": OTHER}),
    ]:
        r = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403, (path, r.text[:200])
        assert "<html" in r.text.lower()
    assert holders(session, world["task"]) == [EMPLOYEE]


def test_the_panel_and_its_preview_speak_chinese_to_a_chinese_reader(world):
    hr = sign_in(world["app"], f.HR, lang="zh-CN")
    where = f"/instances/{world['instance']}"
    page = hr.get(where).text
    assert "HR 操作" in page and "取消该评估" in page and "HR actions" not in page
    r = post(hr, f"{where}/tasks/{world['task']}/reassign/preview", {"to": OTHER, "reason": "休假"}, where)
    assert f"将从 {EMPLOYEE} 转交给 {OTHER}。" in r.text and "确认" in r.text and "moves from" not in r.text
