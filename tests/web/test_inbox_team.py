"""The inbox (grouped by cycle and stage, "About" only for others, due dates in the reader's zone, what happens after a
submit), a manager's team page and GET /api/team (their own direct reports only), the form's autosave and prefill."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import demo
from engine.core import clock
from engine.org import accounts
from engine.process import definitions, runtime
from engine.queries import views
from engine.review import cycles
from engine.store.models import Task
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER, LEAD = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
PASSWORD = "Page-pass-123"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2026-03-02 07:30 in Shanghai: another day there
CHECKIN = {"progress": "Shipped the icon set", "blockers": [], "mood": 4}


def _open(session: Any, email: str, name: str | None = None) -> list[dict[str, Any]]:
    session.rollback()
    person = f.people.by_email(session, email)
    return [t for t in views.list_tasks(session, actor=person, status="open") if name in (None, t["name"])]


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    clock.set_now(NOW)
    f.org(session)
    for email in (EMPLOYEE, OTHER, LEAD, f.HR):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    definition = f.deploy(session)
    first = f.launched(session, definition, [EMPLOYEE, OTHER, LEAD])
    hr = f.people.by_email(session, f.HR)
    second = cycles.create_cycle(
        session, actor=hr, name="Mid-year / 年中", definition=definition.key, participants={"emails": [OTHER]}
    )
    cycles.launch(session, actor=hr, cycle_id=second.id)
    [mine] = _open(session, EMPLOYEE)
    runtime.complete_task(session, task_id=mine["id"], actor=f.people.by_email(session, EMPLOYEE), data=CHECKIN)
    [respond] = _open(session, LEAD, "respond")
    session.get(Task, respond["id"]).due_at = DUE
    session.commit()
    return {"first": first.id, "second": second.id, "respond": respond["id"], "app": create_app()}


def sign_in(app: Any, email: str, lang: str = "en", tz: str | None = None) -> TestClient:
    client = TestClient(app)
    client.cookies.set("rf_lang", lang)
    if tz:
        client.cookies.set("rf_tz", tz)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client


def csrf(client: TestClient, path: str = "/inbox") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_inbox_groups_by_cycle_and_stage_and_names_only_other_subjects(world):
    page = sign_in(world["app"], LEAD).get("/inbox").text
    headings = re.findall(r"<h[23][^>]*>\s*([^<(]+?)\s*(?:<|\()", page)
    assert headings[:3] == ["Test cycle", "Respond to the check-in", "Write your check-in"]  # soonest due first
    body = text_of(page)
    assert "About: 冯雪" in body  # the manager's task about the employee
    assert body.count("About:") == 1  # the lead's own check-in does not say "About: me"
    other = text_of(sign_in(world["app"], OTHER, "zh-CN").get("/inbox").text)
    assert "Test cycle" in other and "年中" in other and "Mid-year" not in other  # two cycles, the reader's half
    assert "关于" not in other


def test_due_dates_show_in_the_readers_zone_and_overdue_is_marked(world):
    utc = text_of(sign_in(world["app"], LEAD).get("/inbox").text)
    assert "Due 2026-03-01 23:30 UTC" in utc and "Overdue" not in utc
    shanghai = text_of(sign_in(world["app"], LEAD, tz="Asia/Shanghai").get("/inbox").text)
    assert "Due 2026-03-02 07:30 Asia/Shanghai" in shanghai
    assert "Times are shown in Asia/Shanghai" in shanghai
    clock.set_now(DUE + timedelta(minutes=1))
    late = sign_in(world["app"], LEAD, tz="Asia/Shanghai").get("/inbox").text
    assert re.search(f'class="task overdue" data-task-id="{world["respond"]}"', late)
    assert "Overdue" in text_of(late)


def test_a_chosen_time_zone_is_kept_and_a_made_up_one_refused(world):
    client = sign_in(world["app"], LEAD)
    r = client.post(
        "/settings/time-zone",
        data={"tz": "Asia/Tokyo", "next": "/inbox", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and re.match(r'rf_tz="?Asia/Tokyo"?;', r.headers["set-cookie"])
    assert "Due 2026-03-02 08:30 Asia/Tokyo" in text_of(client.get("/inbox").text)
    # kept on the person: another device (a browser whose own zone is Shanghai) shows Tokyo times too
    other_device = sign_in(world["app"], LEAD, tz="Asia/Shanghai")
    assert "Due 2026-03-02 08:30 Asia/Tokyo" in text_of(other_device.get("/inbox").text)
    r = client.post("/settings/time-zone", data={"tz": "Mars/Olympus", "csrf_token": csrf(client)})
    assert r.status_code == 422 and "Asia/Shanghai" in r.text  # says what a zone name looks like


def test_after_submitting_the_inbox_says_what_happens_next(world):
    client = sign_in(world["app"], OTHER)
    inbox = client.get("/inbox").text
    ids = re.findall(r'data-task-id="(\d+)"', inbox.split('id="cycle-2"')[0])  # the first cycle's check-in
    r = client.post(
        f"/tasks/{ids[0]}",
        data={
            "action": "submit",
            "progress": "Finished the audit",
            "blockers/0": "None",
            "mood": "3",
            "csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/inbox?done={ids[0]}"
    after = text_of(client.get(r.headers["location"]).text)
    assert "Thank you. Your answers were submitted." in after
    assert "Waiting for your manager, 孔亮, to do “Respond to the check-in”." in after
    client.cookies.set("rf_lang", "zh-CN")
    zh = text_of(client.get(r.headers["location"]).text)
    assert "正在等待你的经理孔亮完成「Respond to the check-in」。" in zh


def test_the_team_page_shows_each_report_their_stage_and_what_waits_on_me(world):
    client = sign_in(world["app"], LEAD)
    assert '<a href="/team"' in client.get("/inbox").text  # the nav links it for a manager
    clock.set_now(DUE + timedelta(minutes=1))
    page = client.get("/team").text
    body = text_of(page)
    assert "冯雪" in body and "Jonas Berg" in body  # both direct reports
    assert "Sara Kim" not in body and "钱明" not in body  # another manager's report, and the lead's own manager
    waiting = text_of(page.split('id="waiting-on-me"')[1].split("</section>")[0])
    assert "Respond to the check-in" in waiting and "冯雪" in waiting and "Overdue" in waiting
    jonas = text_of(page.split('data-person="designer2@initech.test"', 1)[1].split("</tbody>")[0])
    assert "Mid-year" in jonas and "Write your check-in · Jonas Berg" in jonas  # two cycles, his own stage
    assert page.split('data-person="designer1@initech.test"')[1].startswith(' class="overdue"')


def test_the_team_is_the_managers_own_reports_only(world, session):
    ceo = TestClient(world["app"])
    r = ceo.get("/api/team", headers=f.token(session, f.DESIGNER))
    assert r.status_code == 200
    names = {m["person"]["name"] for m in r.json()["items"]}
    assert names == {"Sara Kim", "孔亮"}  # no skip level: not the lead's reports
    lead = ceo.get("/api/team", headers=f.token(session, LEAD)).json()["items"]
    [feng] = [m for m in lead if m["person"]["email"] == EMPLOYEE]
    [review] = feng["reviews"]
    assert [s["title"] for s in review["waiting_on_me"]] == ["Respond to the check-in"]
    assert ceo.get("/api/team", headers=f.token(session, EMPLOYEE)).status_code == 403
    employee = sign_in(world["app"], EMPLOYEE)
    assert employee.get("/team").status_code == 403
    assert '<a href="/team"' not in employee.get("/inbox").text


def test_autosave_keeps_the_draft_and_reload_brings_it_back(world, session):
    client = sign_in(world["app"], LEAD)
    [own] = [t for t in _open(session, LEAD) if t["name"] == "write_checkin"]
    url = f"/tasks/{own['id']}"
    page = client.get(url).text
    assert "0</span> of 3 answered" in page  # the outline's count as served
    token = csrf(client, url)
    r = client.put(
        url + "/draft",
        data={"progress": "Half-way through the audit", "mood": "4"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 200 and r.json()["saved"] is True
    again = client.get(url).text
    assert "Half-way through the audit" in again and "2</span> of 3 answered" in again
    refused = client.put(url + "/draft", data={"progress": "sneaky"}, headers={"Accept": "application/json"})
    assert refused.status_code == 403  # no CSRF token, nothing saved
    assert "sneaky" not in client.get(url).text


def test_a_422_keeps_what_was_typed_and_the_autosaved_draft_survives(world, session):
    client = sign_in(world["app"], LEAD)
    [own] = [t for t in _open(session, LEAD) if t["name"] == "write_checkin"]
    url = f"/tasks/{own['id']}"
    token = csrf(client, url)
    client.put(
        url + "/draft", data={"progress": "Typed before the error", "mood": "9"}, headers={"X-CSRF-Token": token}
    )
    r = client.post(
        url, data={"action": "submit", "progress": "Typed before the error", "mood": "9", "csrf_token": token}
    )
    assert r.status_code == 422
    assert "Typed before the error" in r.text and 'value="9"' in r.text  # today's behaviour stays
    reloaded = client.get(url).text
    assert "Typed before the error" in reloaded and 'value="9"' in reloaded


def test_the_manager_finds_the_nominated_peers_prefilled(db_engine, session):
    clock.set_now(NOW)
    f.org(session, extra_peers=4)
    accounts.create_account(session, email=LEAD, roles=[], password=PASSWORD, actor="test")
    hr = f.people.by_email(session, f.HR)
    files = demo.shipped_files(demo.WORKFLOWS / "feedback_360.bpmn")
    definition = definitions.deploy(session, actor=hr, files=files)[0]
    f.launched(session, definition, [EMPLOYEE])
    nominees = [f"peer{i}@initech.test" for i in range(3)]
    [nominate] = _open(session, EMPLOYEE, "nominate_peers")
    employee = f.people.by_email(session, EMPLOYEE)
    runtime.complete_task(session, task_id=nominate["id"], actor=employee, data={"nominees": nominees})
    [approve] = _open(session, LEAD, "approve_peers")
    lead = f.people.by_email(session, LEAD)
    assert views.task_detail(session, actor=lead, task_id=approve["id"])["data"] == {"peers": nominees}
    page = sign_in(create_app(), LEAD).get(f"/tasks/{approve['id']}").text
    for i, email in enumerate(nominees):
        assert re.search(rf'name="peers/{i}" value="{re.escape(email)}"', page)


def test_prefill_takes_previous_answers_first_then_the_named_source():
    from engine.process.form_rules import prefill

    schema = {
        "properties": {
            "goals": {"type": "array"},
            "peers": {"type": "array", "x-prefill-from": "nominees"},
            "note": {"type": "string", "x-prefill-from": "secret_note"},
        }
    }
    # a send-back: the goals typed before come back; the nominees fill the peers to confirm
    data = {"goals": [{"title": "Ship it"}], "nominees": ["a@x.test"], "other": 1}
    assert prefill(schema, data) == {"goals": [{"title": "Ship it"}], "peers": ["a@x.test"]}
    assert prefill(schema, {"peers": ["b@x.test"], "nominees": ["a@x.test"]}) == {"peers": ["b@x.test"]}
    assert prefill(schema, {}) == {}  # a source that is not there (or was kept out as private) fills nothing
