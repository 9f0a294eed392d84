"""Task administration on the pages (issue 12): the assignee delegates from the task page; HR moves a due date from
the instance page. Each previews first (nothing changes), then confirms; a refusal comes back on the form with what
was typed and the API's status; the delegate sees the task as on behalf of the assignee; nobody else gets the form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from engine.core import clock
from engine.org import accounts
from engine.queries import views
from engine.review import reminders
from engine.store.job_models import ReminderSent
from engine.store.models import AuditEvent, Task, TaskAssignee
from tests import factories as f
from tests.web.test_pages import AUDITOR, EMPLOYEE, OTHER, PASSWORD, sign_in, token_in

pytestmark = pytest.mark.both_dbs  # the preview is a dry run rolled back: on PostgreSQL too

LEAD = "design.lead@initech.test"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SETTINGS = {"due": {"write_checkin": "P10D"}, "reminders": {"before_days": [3, 1], "grace_days": 2, "escalate": True}}


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    clock.set_now(T0)
    f.org(session)
    for email in (EMPLOYEE, OTHER, f.HR, LEAD):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    f.launched(session, f.deploy(session), [EMPLOYEE], settings=SETTINGS)
    person = f.people.by_email(session, EMPLOYEE)
    [task] = views.list_tasks(session, actor=person, status="open")
    return {"task": task["id"], "instance": task["instance_id"], "app": create_app()}


def rows(session, task_id: int) -> list[tuple[str, str | None]]:
    session.rollback()
    session.expire_all()
    found = session.scalars(select(TaskAssignee).where(TaskAssignee.task_id == task_id))
    return sorted((r.person.email, r.until and clock.as_utc(r.until).isoformat()) for r in found)  # type: ignore[union-attr]


def event_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def post(client, path: str, data: dict[str, str], page: str = "/inbox") -> Any:
    token = token_in(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def inside(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</form>", 1)[0]


# --- delegate -------------------------------------------------------------------------------------------------------


def test_the_assignee_delegates_after_a_preview_and_the_delegate_acts_on_their_behalf(world, session):
    me = sign_in(world["app"], EMPLOYEE)
    where = f"/tasks/{world['task']}"
    page = me.get(where).text
    assert 'id="delegate-section"' in page and "Ask someone else to do this" in page
    assert '<details id="delegate-section" >' in page or '<details id="delegate-section">' in page  # collapsed
    before = event_count(session)
    r = post(me, where + "/delegate/preview", {"to": OTHER, "until": "2027-03-05"}, where)
    assert r.status_code == 200, r.text
    assert f"{OTHER} may complete this task on your behalf until 2027-03-05 23:59 UTC; you keep it too." in r.text
    confirm = inside(r.text, 'id="delegate-confirm"')
    assert f'action="{where}/delegate"' in r.text
    assert f'name="to" value="{OTHER}"' in confirm and 'name="until" value="2027-03-05"' in confirm
    assert rows(session, world["task"]) == [(EMPLOYEE, None)] and event_count(session) == before  # nothing changed
    r = post(me, where + "/delegate", {"to": OTHER, "until": "2027-03-05"}, where)
    assert r.status_code == 303 and r.headers["location"] == where + "#delegation"
    assert rows(session, world["task"]) == [(EMPLOYEE, None), (OTHER, "2027-03-05T23:59:59+00:00")]
    page = me.get(where).text
    assert 'id="delegates"' in page and f"{OTHER} · until 2027-03-05 23:59 UTC" in page
    assert (
        f"from {EMPLOYEE} to {OTHER} · until 2027-03-05 23:59 UTC"
        in sign_in(world["app"], f.HR).get(f"/instances/{world['instance']}").text
    )  # the timeline, readable
    # the delegate: the task in their inbox, its page says for whom, and no delegation form
    them = sign_in(world["app"], OTHER)
    assert where in them.get("/inbox").text
    page = them.get(where).text
    assert f"You act on behalf of {EMPLOYEE} until 2027-03-05 23:59 UTC." in page
    assert 'id="task-form"' in page and 'id="delegate-form"' not in page
    r = post(them, where + "/delegate/preview", {"to": LEAD, "until": ""}, where)
    assert r.status_code == 403 and "only its assignee can delegate it" in r.text


def test_a_refused_delegation_comes_back_on_the_form_with_what_was_typed(world, session):
    me = sign_in(world["app"], EMPLOYEE)
    where = f"/tasks/{world['task']}"
    r = post(me, where + "/delegate/preview", {"to": "nobody@initech.test", "until": "2027-03-05"}, where)
    assert r.status_code == 422
    assert "nobody@initech.test is not in the org chart." in r.text
    assert 'value="nobody@initech.test"' in r.text and 'value="2027-03-05"' in r.text
    assert '<details id="delegate-section" open>' in r.text
    r = post(me, where + "/delegate", {"to": OTHER, "until": "2027-02-01"}, where)  # in the past
    assert r.status_code == 422 and "must be in the future" in r.text and 'value="2027-02-01"' in r.text
    r = post(me, where + "/delegate/preview", {"to": OTHER, "until": "next <b>week</b>"}, where)
    assert r.status_code == 422 and "give a date such as" in r.text and "next &lt;b&gt;week&lt;/b&gt;" in r.text
    r = post(me, where + "/delegate/preview", {"to": EMPLOYEE, "until": ""}, where)
    assert r.status_code == 422 and "already holds this task" in r.text
    assert rows(session, world["task"]) == [(EMPLOYEE, None)]


@pytest.mark.parametrize("email,status", [(f.HR, 403), (AUDITOR, 403), (LEAD, 404)])
def test_only_the_assignee_sees_the_delegation_form_or_may_use_it(world, session, email, status):
    client = sign_in(world["app"], email)
    where = f"/tasks/{world['task']}"
    if status == 403:  # readers see the task, not the form
        assert 'id="delegate-form"' not in client.get(where).text
    for path in (where + "/delegate/preview", where + "/delegate"):
        r = post(client, path, {"to": OTHER, "until": ""})
        assert r.status_code == status, r.text[:300]
        assert "<html" in r.text.lower()
    assert rows(session, world["task"]) == [(EMPLOYEE, None)]


def test_the_delegation_speaks_chinese_to_a_chinese_reader(world):
    me = sign_in(world["app"], EMPLOYEE, lang="zh-CN")
    where = f"/tasks/{world['task']}"
    assert "请他人代为完成" in me.get(where).text
    r = post(me, where + "/delegate/preview", {"to": OTHER, "until": ""}, where)
    assert f"{OTHER} 可以代你完成此任务，截至任务完成或被转交；你自己也仍可完成。" in r.text
    assert "may complete" not in r.text


# --- due date -------------------------------------------------------------------------------------------------------


def due_of(session, task_id: int) -> str:
    session.rollback()
    session.expire_all()
    task = session.get(Task, task_id)
    assert task is not None
    return clock.as_utc(task.due_at).isoformat()  # type: ignore[union-attr]


def test_hr_moves_a_due_date_after_a_preview_of_the_reminders(world, session):
    clock.set_now(datetime(2027, 3, 9, 10, 0, tzinfo=UTC))  # the 3-days reminder is due: sent
    reminders.send_reminders(session)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReminderSent)) == 1
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    page = hr.get(where).text
    assert f'id="due-{world["task"]}"' in page and 'value="2027-03-11T09:00"' in page  # the current due, prefilled
    assert "2027-03-11 09:00 UTC" in page and "+00:00" not in page.split('id="hr-actions"', 1)[1].split("<h2", 2)[1]
    before = event_count(session)
    base = f"{where}/tasks/{world['task']}/due"
    r = post(hr, base + "/preview", {"due_at": "2027-03-20T17:00", "reason": "Parental leave"}, where)
    assert r.status_code == 200, r.text
    assert "‘Write your check-in’ will be due 2027-03-20 17:00 UTC instead of 2027-03-11 09:00 UTC." in r.text
    assert "The 1 reminder(s) sent toward the old date are forgotten" in r.text
    upcoming = r.text.split('id="due-reminders"', 1)[1].split("</ul>", 1)[0]
    assert "Reminder to whoever holds the task · 2027-03-17 17:00 UTC" in upcoming
    assert "Overdue notice to the assignee’s manager · 2027-03-20 17:00 UTC" in upcoming
    assert "Escalation to HR · 2027-03-22 17:00 UTC" in upcoming
    confirm = inside(r.text, 'id="due-confirm"')
    assert 'name="due_at" value="2027-03-20T17:00"' in confirm and 'name="reason" value="Parental leave"' in confirm
    assert due_of(session, world["task"]) == "2027-03-11T09:00:00+00:00" and event_count(session) == before
    assert session.scalar(select(func.count()).select_from(ReminderSent)) == 1
    r = post(hr, base, {"due_at": "2027-03-20T17:00", "reason": "Parental leave"}, where)
    assert r.status_code == 303 and r.headers["location"] == where
    assert due_of(session, world["task"]) == "2027-03-20T17:00:00+00:00"
    assert session.scalar(select(func.count()).select_from(ReminderSent)) == 0
    page = hr.get(where).text
    assert "due 2027-03-20 17:00 UTC instead of 2027-03-11 09:00 UTC · reason: Parental leave" in page  # timeline


def test_a_refused_due_date_comes_back_on_the_form_with_what_was_typed(world, session):
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    base = f"{where}/tasks/{world['task']}/due"
    r = post(hr, base + "/preview", {"due_at": "2027-02-01T09:00", "reason": "Typed <b>"}, where)
    assert r.status_code == 422 and "must be in the future" in r.text
    assert 'value="2027-02-01T09:00"' in r.text and 'value="Typed &lt;b&gt;"' in r.text
    assert f'id="due-section-{world["task"]}" open' in r.text
    r = post(hr, base, {"due_at": "2027-04-01", "reason": " "}, where)
    assert r.status_code == 422 and "(reason)" in r.text and 'value="2027-04-01"' in r.text
    r = post(hr, base + "/preview", {"due_at": "", "reason": "Leave"}, where)
    assert r.status_code == 422 and "give a date such as" in r.text
    assert due_of(session, world["task"]) == "2027-03-11T09:00:00+00:00"
    r = post(hr, f"/instances/{world['instance'] + 999}/tasks/{world['task']}/due/preview", {"due_at": "2027-04-01"})
    assert r.status_code == 404


@pytest.mark.parametrize("email", [AUDITOR, EMPLOYEE])
def test_others_get_the_403_page_for_the_due_date_and_change_nothing(world, session, email):
    client = sign_in(world["app"], email)
    where = f"/instances/{world['instance']}"
    if email == AUDITOR:
        assert f'id="due-{world["task"]}"' not in client.get(where).text
    for path in (f"{where}/tasks/{world['task']}/due/preview", f"{where}/tasks/{world['task']}/due"):
        r = post(client, path, {"due_at": "2027-04-01", "reason": "x"})
        assert r.status_code == 403 and "<html" in r.text.lower()
    assert due_of(session, world["task"]) == "2027-03-11T09:00:00+00:00"


def test_the_due_date_speaks_chinese_to_a_chinese_reader(world):
    hr = sign_in(world["app"], f.HR, lang="zh-CN")
    where = f"/instances/{world['instance']}"
    assert "修改截止时间…" in hr.get(where).text
    r = post(hr, f"{where}/tasks/{world['task']}/due/preview", {"due_at": "2027-03-20", "reason": "休假"}, where)
    assert "的截止时间将改为 2027-03-20 23:59 UTC（原为 2027-03-11 09:00 UTC）。" in r.text
    assert "升级给 HR" in r.text and "will be due" not in r.text


# --- complete on behalf ---------------------------------------------------------------------------------------------

GOOD = {"progress": "Shipped the icon set", "blockers/0": "VPN", "mood": "4"}


def test_hr_completes_a_task_on_the_assignees_behalf_from_the_instance_page(world, session):
    me = sign_in(world["app"], EMPLOYEE)
    token = token_in(me.get(f"/tasks/{world['task']}").text)
    draft = {"progress": "Half-way there", "action": "draft", "csrf_token": token}
    assert me.post(f"/tasks/{world['task']}", data=draft, follow_redirects=False).status_code == 303
    hr = sign_in(world["app"], f.HR)
    where = f"/instances/{world['instance']}"
    form_url = f"{where}/tasks/{world['task']}/on-behalf"
    assert f'href="{form_url}"' in hr.get(where).text
    page = hr.get(form_url).text
    assert f"You submit this form on behalf of {EMPLOYEE}." in page and "Half-way there" in page  # their draft
    before = event_count(session)
    r = post(hr, form_url, {**GOOD, "on_behalf_reason": " "}, form_url)  # no reason: refused, typed kept
    assert r.status_code == 422 and "(reason)" in r.text and "Shipped the icon set" in r.text
    r = post(hr, form_url, {"progress": "", "mood": "4", "on_behalf_reason": "In hospital <b>"}, form_url)
    assert r.status_code == 422 and 'id="form-errors"' in r.text and 'value="In hospital &lt;b&gt;"' in r.text
    session.rollback()
    assert session.get(Task, world["task"]).status == "open" and event_count(session) == before
    r = post(hr, form_url, {**GOOD, "on_behalf_reason": "Agreed by phone; in hospital"}, form_url)
    assert r.status_code == 303 and r.headers["location"] == where
    session.rollback()
    session.expire_all()
    task = session.get(Task, world["task"])
    assert task is not None and task.status == "completed" and task.submitted["progress"] == "Shipped the icon set"
    ids = {e: f.people.by_email(session, e).id for e in (EMPLOYEE, f.HR)}  # type: ignore[union-attr]
    assert (task.on_behalf_of_id, task.completed_by_id) == (ids[EMPLOYEE], ids[f.HR])  # HR for the assignee
    assert "Agreed by phone; in hospital" in hr.get(where).text
    assert hr.get(form_url).status_code == 409  # done: nothing left to complete


@pytest.mark.parametrize("email,status", [(AUDITOR, 403), (EMPLOYEE, 403)])
def test_only_hr_may_complete_on_behalf(world, session, email, status):
    client = sign_in(world["app"], email)
    form_url = f"/instances/{world['instance']}/tasks/{world['task']}/on-behalf"
    assert client.get(form_url).status_code == status
    r = post(client, form_url, {**GOOD, "on_behalf_reason": "x"})
    assert r.status_code == status and "<html" in r.text.lower()
    session.rollback()
    assert session.get(Task, world["task"]).status == "open"
