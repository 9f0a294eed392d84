"""Pages without a browser: signing in and out, CSRF, what a refused visitor sees, forms that keep what was typed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.web import session as web_session
from engine.org import accounts
from engine.queries import views
from engine.store.models import AuditEvent, Task
from tests import factories as f
from tests.engine.audit.test_audit import _as_superuser

EMPLOYEE, OTHER = "designer1@initech.test", "designer2@initech.test"
AUDITOR = "auditor@initech.test"
PASSWORD = "Page-pass-123"


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    f.org(session)
    for email in (EMPLOYEE, OTHER, f.HR):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE, OTHER])
    person = f.people.by_email(session, EMPLOYEE)
    [task] = views.list_tasks(session, actor=person, status="open")
    return {"cycle": cycle.id, "task": task["id"], "instance": task["instance_id"], "app": create_app()}


def token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def sign_in(app: Any, email: str, lang: str | None = "en") -> TestClient:
    client = TestClient(app)
    if lang:
        client.cookies.set("rf_lang", lang)
    token = token_in(client.get("/login").text)
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client


def test_a_page_sends_a_visitor_to_sign_in_and_back(world):
    client = TestClient(world["app"], cookies={"rf_lang": "en"})
    r = client.get(f"/tasks/{world['task']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Ftasks%2F{world['task']}"
    login = client.get(r.headers["location"])
    r = client.post(
        "/login",
        data={
            "email": EMPLOYEE,
            "password": PASSWORD,
            "csrf_token": token_in(login.text),
            "next": f"/tasks/{world['task']}",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/tasks/{world['task']}"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Write your check-in" in client.get(r.headers["location"]).text


@pytest.mark.parametrize(
    "email,password", [(EMPLOYEE, "wrong-password"), ("nobody@initech.test", PASSWORD), (EMPLOYEE, "")]
)
def test_a_failed_sign_in_says_so_and_starts_no_session(world, email, password):
    client = TestClient(world["app"], cookies={"rf_lang": "en"})
    token = token_in(client.get("/login").text)
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 401
    assert "do not match an account" in r.text
    assert f'value="{email}"' in r.text  # the email stays typed in
    assert client.get("/inbox", follow_redirects=False).status_code == 303  # still signed out


def test_sign_in_never_redirects_to_another_site(world):
    client = TestClient(world["app"])
    token = token_in(client.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        r = client.post(
            "/login",
            data={"email": EMPLOYEE, "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/"
        token = token_in(client.get("/login").text)


def test_posts_without_the_sessions_csrf_token_are_refused_and_change_nothing(world, session):
    client = sign_in(world["app"], EMPLOYEE)
    stranger = TestClient(world["app"])
    foreign = token_in(stranger.get("/login").text)  # a valid token, but of another browser
    url = f"/tasks/{world['task']}"
    for data in (
        {"action": "draft", "progress": "sneaky"},
        {"action": "draft", "progress": "x", "csrf_token": foreign},
    ):
        r = client.post(url, data=data)
        assert r.status_code == 403
        assert "did not come from Reviewflow" in r.text
    session.rollback()  # a fresh snapshot: the pages wrote through their own sessions
    assert session.get(Task, world["task"]).draft is None
    drafts = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.draft_saved")).all()
    assert drafts == []
    # Signing in and out need the token too.
    assert TestClient(world["app"]).post("/login", data={"email": EMPLOYEE, "password": PASSWORD}).status_code == 403
    assert client.post("/logout").status_code == 403


def test_a_forged_session_cookie_is_not_a_session(world):
    client = TestClient(world["app"])
    forged = web_session.encode({"token": "rf_made-up", "csrf": "x"})[:-4] + "abcd"
    client.cookies.set(web_session.COOKIE, forged)
    assert client.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_sign_out_ends_the_session(world):
    client = sign_in(world["app"], EMPLOYEE)
    token = token_in(client.get("/inbox").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_someone_elses_task_reads_like_a_missing_one(world):
    client = sign_in(world["app"], OTHER)
    theirs = client.get(f"/tasks/{world['task']}")
    missing = client.get("/tasks/999999")
    assert theirs.status_code == missing.status_code == 404
    assert EMPLOYEE not in theirs.text and "check-in" not in theirs.text.lower()
    assert "could not find that page" in theirs.text


def test_a_wrong_role_gets_a_kind_403_page(world):
    r = sign_in(world["app"], EMPLOYEE).get("/cycles")
    assert r.status_code == 403
    assert "not open to you" in r.text and "<html" in r.text


def test_the_auditor_reads_a_task_but_has_nothing_to_submit(world):
    client = sign_in(world["app"], AUDITOR)
    r = client.get(f"/tasks/{world['task']}")
    assert r.status_code == 200
    assert 'value="submit"' not in r.text and 'value="draft"' not in r.text
    token = token_in(r.text)
    refused = client.post(f"/tasks/{world['task']}", data={"action": "submit", "csrf_token": token, "mood": "3"})
    assert refused.status_code == 403


def test_an_invalid_submission_comes_back_with_errors_and_everything_typed(world, session):
    client = sign_in(world["app"], EMPLOYEE)
    url = f"/tasks/{world['task']}"
    token = token_in(client.get(url).text)
    r = client.post(
        url, data={"csrf_token": token, "action": "submit", "progress": "ok", "blockers/0": "VPN <down>", "mood": "9"}
    )
    assert r.status_code == 422
    assert "Please write at least 5 characters." in r.text  # progress
    assert "The highest allowed value is 5." in r.text  # mood
    assert 'value="9"' in r.text and ">ok</textarea>" in r.text
    assert "VPN &lt;down&gt;" in r.text  # kept, and escaped
    session.rollback()  # a fresh snapshot: the pages wrote through their own sessions
    assert session.get(Task, world["task"]).status == "open"
    r = client.post(
        url,
        data={
            "csrf_token": token,
            "action": "submit",
            "progress": "Shipped the icons",
            "blockers/3": "VPN",
            "mood": "4",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/inbox?done=")
    session.rollback()  # a fresh snapshot: the pages wrote through their own sessions
    task = session.get(Task, world["task"])
    assert task.status == "completed"
    assert task.submitted == {"progress": "Shipped the icons", "blockers": ["VPN"], "mood": 4}


def test_a_draft_is_kept_and_shown_again(world):
    client = sign_in(world["app"], EMPLOYEE)
    url = f"/tasks/{world['task']}"
    token = token_in(client.get(url).text)
    r = client.post(url, data={"csrf_token": token, "action": "draft", "progress": "半途 half-way"})
    assert r.status_code == 200 and "draft is saved" in r.text
    assert ">半途 half-way</textarea>" in r.text


def test_pages_follow_the_persons_language_and_the_switch(world):
    client = sign_in(world["app"], EMPLOYEE, lang=None)  # 冯雪, locale zh-CN
    assert "我的待办" in client.get("/inbox").text
    client.get("/lang/en?next=/inbox")
    assert "My tasks" in client.get("/inbox").text


def test_hr_imports_people_and_sees_each_rows_problem(world):
    client = sign_in(world["app"], f.HR)
    token = token_in(client.get("/people").text)
    csv = (
        f.ORG + "B06,王芳,wang.fang@initech.test,design.lead@initech.test,Design,Designer,zh-CN,\nB07,No Email,,,,,,\n"
    )
    r = client.post("/people", data={"csrf_token": token}, files={"file": ("org.csv", csv.encode(), "text/csv")})
    assert r.status_code == 200
    result = re.search(r'id="import-result">(.*?)</div>', r.text, re.S)
    assert result
    assert "Created 1" in result.group(1)
    assert "Row" in result.group(1) and "email" in result.group(1).lower()  # the row without an email is named
    empty = client.post("/people", data={"csrf_token": token})
    assert empty.status_code == 422 and "Choose a CSV file first." in empty.text


def test_the_inbox_shows_due_dates_and_an_overdue_badge(world, session):
    from datetime import timedelta

    from engine.core import clock

    task = session.get(Task, world["task"])
    task.due_at = clock.now() - timedelta(days=1)
    session.commit()
    html = sign_in(world["app"], EMPLOYEE).get("/inbox").text
    item = re.search(rf'<li class="task overdue" data-task-id="{world["task"]}">(.*?)</li>', html, re.S)
    assert item, "the overdue task is marked"
    assert "Overdue" in item.group(1) and "Due " + task.due_at.strftime("%Y-%m-%d") in item.group(1)


def test_the_api_docs_and_health_check_are_still_served(world):
    client = TestClient(world["app"])
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get("/docs").status_code == 200
    assert client.get("/api/tasks").status_code == 401  # the API keeps its JSON errors
    assert client.get("/api/tasks").json()["error"] == "unauthorized"


def test_the_modeler_opens_shipped_diagrams_by_name_only(world):
    client = sign_in(world["app"], f.HR)
    r = client.get("/modeler?shipped=feedback_360.bpmn")
    assert r.status_code == 200 and "loopDataInputRef" in r.text and "bpmn-modeler.production.min.js" in r.text
    for name in ("../../engine/core/settings.py", "nope.bpmn"):
        assert client.get("/modeler", params={"shipped": name}).status_code == 404


def test_the_auditor_exports_the_timeline(world):
    client = sign_in(world["app"], AUDITOR)
    instance = world["instance"]
    as_json = client.get(f"/instances/{instance}/events.json")
    assert as_json.status_code == 200 and "attachment" in as_json.headers["content-disposition"]
    actions = [e["action"] for e in as_json.json()["events"]]
    assert actions[0] == "instance.started" and "task.created" in actions
    as_csv = client.get(f"/instances/{instance}/events.csv")
    assert as_csv.content.startswith("\ufeff".encode()) and b"instance.started" in as_csv.content


def test_a_tampered_audit_log_is_named_on_the_audit_page(world, session):
    client = sign_in(world["app"], AUDITOR)
    assert "The audit log is intact" in client.get("/audit").text
    session.rollback()  # a fresh snapshot before writing
    row = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(3).limit(1)).one()
    _as_superuser(session, "UPDATE audit_event SET actor = 'someone-else' WHERE seq = :seq", seq=row.seq)
    page = client.get("/audit").text
    assert "The audit log was changed" in page and f"number {row.seq}" in page


def test_the_audit_page_says_the_newest_events_were_deleted(world, session):
    client = sign_in(world["app"], AUDITOR)
    session.rollback()
    head = session.scalar(select(func.max(AuditEvent.seq)))
    _as_superuser(session, "DELETE FROM audit_event WHERE seq > :s", s=head - 2)
    page = client.get("/audit").text
    assert f"number {head - 1}" in page and "The newest events were deleted." in page


def test_the_audit_page_says_the_key_is_missing_instead_of_failing(world):
    from engine import audit
    from engine.audit import anchor as audit_anchor

    client = sign_in(world["app"], AUDITOR)
    audit_anchor.key_path().unlink()
    audit.forget_keys()
    r = client.get("/audit")
    assert r.status_code == 200 and "its key is missing" in r.text and "REVIEWFLOW_AUDIT_KEY_FILE" in r.text


def test_a_launching_cycle_shows_its_progress(world, session):
    from engine.store.models import Cycle

    session.rollback()
    cycle = session.get(Cycle, world["cycle"])
    cycle.status = "launching"  # as while the launch job is still starting reviews
    session.commit()
    client = sign_in(world["app"], f.HR)
    page = client.get(f"/cycles/{world['cycle']}").text
    assert 'id="progress-bar" style="width: 100.0%"' in page  # both participants' reviews already started
    assert client.get(f"/cycles/{world['cycle']}/progress.json").json()["counts"]["instances"] == 2


@pytest.mark.parametrize(
    ("lang", "started", "moved", "why"),
    [
        ("en", "Review started", "from design.lead@initech.test to people@initech.test", "reason: Lead on leave"),
        ("zh-CN", "评估开始", "从 design.lead@initech.test 到 people@initech.test", "理由：Lead on leave"),
    ],
)
def test_the_timeline_names_each_event_in_the_readers_language_with_who_and_why(
    world, session, lang, started, moved, why
):
    from engine import audit

    audit.record(
        session,
        actor=f.HR,
        action="task.reassigned",
        instance_id=world["instance"],
        payload={"name": "respond", "from": ["design.lead@initech.test"], "to": [f.HR], "reason": "Lead on leave"},
    )
    session.commit()
    page = sign_in(world["app"], AUDITOR, lang=lang).get(f"/instances/{world['instance']}").text
    assert started in page and "instance.started" in page  # the label, and the code beside it
    assert moved in page and why in page
