"""Diagram versions and org changes on HR's pages (issue 12): on the cycle dashboard a check lists every running
review with whether it can move to another version and why not (nothing changes), then "Move the N that can"; on
the instance page the move is undone after a preview; the what-if replay of the finished reviews shows a changed
score and saves nothing; the people import first shows its effects on running reviews (nothing changes), then
Confirm imports the same file. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from engine.org import accounts
from engine.process import definitions, runtime
from engine.queries import views
from engine.store.models import AuditEvent, Definition, Instance, Person, Task, TaskAssignee
from tests import factories as f
from tests.web.test_pages import PASSWORD, sign_in, token_in

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER, LEAD = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
AUDITOR = "auditor@initech.test"
CHECKIN = {"progress": "Shipped the icon set", "blockers": [], "mood": 2}
RESPONSE = {"response": "Thanks, let us talk", "escalate_to_hr": False}
INSTRUCTIONS = "Mood reported: {{ mood }}. Agree the next steps."


def _person(session, email: str) -> Person:
    found = f.people.by_email(session, email)
    assert found is not None
    return found


def _deploy(session, bpmn: str, *extra: str, as_name: str, edit: Any = None, actor: str = f.HR) -> Definition:
    xml = (f.DATA / bpmn).read_text(encoding="utf-8")
    files = [(as_name, (edit(xml) if edit else xml).encode())] + f.files(*f.CHECKIN[1:], *extra)
    return definitions.deploy(session, actor=_person(session, actor), files=files)[0]


def _with_instructions(xml: str) -> str:
    """Version 2 also gives the manager's response instructions (rendered with the task's data)."""
    anchor = '<spiffworkflow:property name="formJsonSchemaFilename" value="checkin-manager-v2.schema.json" />'
    assert anchor in xml
    return xml.replace(
        anchor + "\n        </spiffworkflow:properties>",
        anchor
        + "\n        </spiffworkflow:properties>"
        + f"\n        <spiffworkflow:instructionsForEndUser>{INSTRUCTIONS}</spiffworkflow:instructionsForEndUser>",
    )


def complete(session, email: str, name: str, data: dict[str, Any]) -> None:
    session.rollback()
    person = _person(session, email)
    for task in [t for t in views.list_tasks(session, actor=person, status="open") if t["name"] == name]:
        runtime.complete_task(session, task_id=task["id"], actor=person, data=data)


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    """A running check-in cycle: the employee has submitted (the lead's response is open), the other has not; then
    version 2 (an added step, a new response form with instructions) is deployed."""
    f.org(session)
    for email in (EMPLOYEE, OTHER, f.HR, LEAD):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE, OTHER])
    complete(session, EMPLOYEE, "write_checkin", CHECKIN)
    session.rollback()
    instances = {i.subject.email: i.id for i in session.scalars(select(Instance).where(Instance.cycle_id == cycle.id))}
    return {"cycle": cycle.id, "instances": instances, "app": create_app()}


def deploy_v2(session) -> None:
    extra = ("checkin-ack.schema.json", "checkin-manager-v2.schema.json")
    _deploy(session, "checkin_v2_added.bpmn", *extra, as_name="quarterly_checkin.bpmn", edit=_with_instructions)
    session.commit()


def post(client, path: str, data: dict[str, str], page: str, **kwargs: Any) -> Any:
    token = token_in(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def version_of(session, instance_id: int) -> int:
    session.rollback()
    session.expire_all()
    instance = session.get(Instance, instance_id)
    return session.get(Definition, instance.definition_id).version


def events(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def open_task(session, instance_id: int) -> Task:
    session.rollback()
    session.expire_all()
    [task] = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open"))
    return task


def part(html: str, id_: str) -> str:
    found = re.search(rf'id="{id_}"(.*?)</table>', html, re.S)
    assert found, f"no #{id_} on the page"
    return found.group(1)


def test_hr_checks_moves_and_undoes_a_move_to_another_version(world, session):
    deploy_v2(session)
    hr = sign_in(world["app"], f.HR)
    where = f"/cycles/{world['cycle']}"
    page = hr.get(where).text
    assert 'id="versions"' in page and '<option value="2" selected>v2</option>' in page

    before = events(session)
    r = post(hr, where + "/migrate/preview", {"to_version": "2"}, where)
    assert r.status_code == 200, r.text
    assert "2 can move to version 2, 0 cannot, 0 already there." in r.text
    assert "New steps:" in r.text and "acknowledge" in r.text
    assert 'id="migrate-confirm"' in r.text and "Move the 2 that can" in r.text
    assert events(session) == before and version_of(session, world["instances"][EMPLOYEE]) == 1  # nothing changed

    r = post(hr, where + "/migrate", {"to_version": "2"}, where)
    assert r.status_code == 303 and r.headers["location"] == f"{where}?moved=2&to=2#versions"
    assert "Reviews moved to version 2: 2." in hr.get(r.headers["location"]).text
    assert {version_of(session, i) for i in world["instances"].values()} == {2}
    respond = open_task(session, world["instances"][EMPLOYEE])
    assert respond.name == "respond" and respond.instructions == "Mood reported: 2. Agree the next steps."

    instance = f"/instances/{world['instances'][EMPLOYEE]}"
    page = hr.get(instance).text
    assert "Moved from version 1 to version 2 by people@initech.test" in page
    assert "Undo the move to version 2…" in page
    r = post(hr, instance + "/migrate/revert/preview", {}, instance)
    assert r.status_code == 200, r.text
    assert "This review goes back from version 2 to version 1" in r.text and 'id="revert-confirm"' in r.text
    assert version_of(session, world["instances"][EMPLOYEE]) == 2  # the preview changed nothing
    r = post(hr, instance + "/migrate/revert", {}, instance)
    assert r.status_code == 303 and r.headers["location"] == instance
    assert version_of(session, world["instances"][EMPLOYEE]) == 1
    assert open_task(session, world["instances"][EMPLOYEE]).instructions is None  # version 1's again
    page = hr.get(instance).text
    assert "Move to the new version undone" in page and "Undo the move" not in page


def test_a_review_that_cannot_move_says_why_in_the_readers_language(world, session):
    _deploy(session, "checkin_v2_removed.bpmn", as_name="quarterly_checkin.bpmn")
    session.commit()
    where = f"/cycles/{world['cycle']}"
    hr = sign_in(world["app"], f.HR)
    r = post(hr, where + "/migrate/preview", {"to_version": "2"}, where)
    assert "1 can move to version 2, 1 cannot, 0 already there." in r.text
    assert "waiting in task &#39;Respond to the check-in&#39; (respond) which version 2 removed" in r.text
    zh = sign_in(world["app"], f.HR, lang="zh-CN")
    r = post(zh, where + "/migrate/preview", {"to_version": "2"}, where)
    assert "1 份可以迁移到版本 2，1 份不能迁移" in r.text
    assert "正在等待的任务 &#39;Respond to the check-in&#39; (respond) 在版本 2 中已删除" in r.text
    assert "迁移可以迁移的 1 份" in r.text


def test_refusals_come_back_on_the_form(world, session):
    deploy_v2(session)
    where = f"/cycles/{world['cycle']}"
    hr = sign_in(world["app"], f.HR)
    r = post(hr, where + "/migrate/preview", {"to_version": "7"}, where)
    assert r.status_code == 404 and "version 7 is deployed" in r.text and 'id="versions"' in r.text
    r = post(hr, where + "/migrate", {"to_version": "x"}, where)
    assert r.status_code == 422 and "Choose a version of the diagram." in r.text
    assert version_of(session, world["instances"][EMPLOYEE]) == 1
    instance = f"/instances/{world['instances'][EMPLOYEE]}"
    assert "Undo the move" not in hr.get(instance).text
    r = post(hr, instance + "/migrate/revert/preview", {}, instance)
    assert r.status_code == 409 and "was never moved to another version" in r.text
    # moved, then the review moves on: the move can no longer be undone, and the page says so
    assert post(hr, where + "/migrate", {"to_version": "2"}, where).status_code == 303
    complete(session, LEAD, "respond", {**RESPONSE, "next_steps": "Weekly 1:1"})
    page = hr.get(instance).text
    assert "can no longer be undone" in page and 'id="revert-form"' not in page
    r = post(hr, instance + "/migrate/revert", {}, instance)
    assert r.status_code == 409 and "moved on" in r.text
    assert version_of(session, world["instances"][EMPLOYEE]) == 2
    auditor = sign_in(world["app"], AUDITOR)
    assert 'id="versions"' not in auditor.get(where).text  # readers see no HR actions
    assert post(auditor, where + "/migrate", {"to_version": "2"}, where).status_code == 403


@pytest.fixture
def scored(db_engine, session) -> dict[str, Any]:
    """A finished scored check-in cycle (low mood: score 4 and a PIP; the other: 8), then version 2 with another
    score formula (mood * 3)."""
    f.org(session)
    accounts.create_account(session, email=f.HR, roles=[], password=PASSWORD, actor="test")
    _deploy(session, "scored_checkin.bpmn", as_name="scored_checkin.bpmn", actor=f.DESIGNER)
    cycle = f.launched(session, session.scalar(select(Definition)), [EMPLOYEE, OTHER])
    for email, mood in ((EMPLOYEE, 2), (OTHER, 4)):
        complete(session, email, "write_checkin", {**CHECKIN, "mood": mood})
    complete(session, LEAD, "respond", RESPONSE)
    complete(session, f.HR, "pip", {"action": "Plan agreed"})
    session.rollback()
    assert {i.status for i in session.scalars(select(Instance))} == {"completed"}
    _deploy(session, "scored_checkin_v2.bpmn", as_name="scored_checkin.bpmn", actor=f.DESIGNER)
    session.commit()
    return {"cycle": cycle.id, "app": create_app()}


def test_replay_shows_a_changed_score_and_saves_nothing(scored, session):
    where = f"/cycles/{scored['cycle']}"
    hr = sign_in(scored["app"], f.HR)
    page = hr.get(where).text
    assert 'id="replay-form"' in page
    session.rollback()
    states = {i.id: (i.state, i.version) for i in session.scalars(select(Instance))}
    before = events(session)
    r = post(hr, where + "/replay", {"to_version": "2"}, where)
    assert r.status_code == 200, r.text
    assert "nothing was saved" in r.text
    summary = "2 finished reviews: the path differs in 1, the score in 2, a branch in 1; 0 stopped early; 0 unchanged."
    assert summary in r.text
    table = part(r.text, "replay-instances")
    assert "<strong>4 → 6</strong>" in table and "<strong>8 → 12</strong>" in table
    assert "No longer:" in table and "end_hr, pip" in table
    session.rollback()
    session.expire_all()
    assert {i.id: (i.state, i.version) for i in session.scalars(select(Instance))} == states
    assert events(session) == before
    zh = sign_in(scored["app"], f.HR, lang="zh-CN")
    r = post(zh, where + "/replay", {"to_version": "1"}, where)
    assert "未保存任何内容" in r.text and "0 份得分不同" in r.text and "2 份没有变化" in r.text


def _csv(*, lead_of_designer1: str = LEAD, drop: str | None = None) -> bytes:
    lines = f.ORG.splitlines()
    out = []
    for line in lines:
        if drop and drop in line:
            continue
        if line.startswith("B04,"):
            line = line.replace(f"designer1@initech.test,{LEAD}", f"designer1@initech.test,{lead_of_designer1}")
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def holders(session, task_id: int) -> list[str]:
    session.rollback()
    session.expire_all()
    return sorted(r.person.email for r in session.scalars(select(TaskAssignee).where(TaskAssignee.task_id == task_id)))


def test_the_people_import_shows_its_effects_first_then_confirms_the_same_file(world, session):
    respond = open_task(session, world["instances"][EMPLOYEE])
    data = _csv(lead_of_designer1="ceo@initech.test", drop="designer2@")
    hr = sign_in(world["app"], f.HR)
    before = events(session)
    token = token_in(hr.get("/people").text)
    r = hr.post(
        "/people/preview",
        data={"csrf_token": token, "deactivate_missing": "yes"},
        files={"file": ("org.csv", data, "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert "Would create 0 · update 1 · leave unchanged 3 · deactivate 1" in r.text
    effects = part(r.text, "preview-effects")
    assert "Task moves: Respond to the check-in" in effects
    assert "design.lead@initech.test" in effects and "ceo@initech.test" in effects
    assert "Org change: the manager of designer1@initech.test is now ceo@initech.test" in effects
    assert "Review cancelled (kept read only)" in effects and "designer2@initech.test is no longer active" in effects
    confirm = r.text.split('id="import-confirm"', 1)[1].split("</form>", 1)[0]
    carried = re.search(r'name="content" value="([^"]+)"', confirm)
    assert carried and base64.b64decode(carried.group(1)) == data and 'name="deactivate_missing" value="yes"' in confirm
    # nothing changed
    assert events(session) == before and holders(session, respond.id) == [LEAD]
    assert _person(session, OTHER).active and _person(session, EMPLOYEE).manager.email == LEAD

    r = hr.post(
        "/people/confirm",
        data={"csrf_token": token, "content": carried.group(1), "deactivate_missing": "yes"},
        files={"unused": ("", b"", "application/octet-stream")},  # the confirm form is multipart, as the page's
    )
    assert r.status_code == 200, r.text
    assert "Created 0 · Updated 1" in r.text and "Carried into running reviews: 2" in r.text
    assert holders(session, respond.id) == ["ceo@initech.test"]
    assert not _person(session, OTHER).active
    assert session.get(Instance, world["instances"][OTHER]).status == "cancelled"

    zh = sign_in(world["app"], f.HR, lang="zh-CN")
    token = token_in(zh.get("/people").text)
    back = _csv()
    r = zh.post("/people/preview", data={"csrf_token": token}, files={"file": ("org.csv", back, "text/csv")})
    assert "任务转交：Respond to the check-in" in r.text
    assert "组织变动：designer1@initech.test 的经理现为 design.lead@initech.test（原为 ceo@initech.test）。" in r.text


def test_the_import_preview_refuses_what_the_api_refuses(world, session):
    hr = sign_in(world["app"], f.HR)
    token = token_in(hr.get("/people").text)
    r = hr.post("/people/preview", data={"csrf_token": token})
    assert r.status_code == 422 and "Choose a CSV file first." in r.text
    r = hr.post("/people/confirm", data={"csrf_token": token, "content": "not base64!"}, files={"x": ("", b"")})
    assert r.status_code == 422 and "did not come back intact" in r.text
    big = base64.b64encode(b"x" * (f.people.MAX_CSV_BYTES + 1)).decode()
    r = hr.post("/people/confirm", data={"csrf_token": token, "content": big}, files={"x": ("", b"")})
    assert r.status_code == 413
    r = hr.post("/people/confirm", data={"content": base64.b64encode(_csv()).decode()}, files={"x": ("", b"")})
    assert r.status_code == 403  # no CSRF token
