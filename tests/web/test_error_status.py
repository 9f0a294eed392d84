"""One error, one status: a page answers an engine error with the status the JSON API gives it (api/errors.py
`status_for`), still as a bilingual HTML page."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import STATUS, status_for
from engine.audit.anchor import AuditKeyMissing
from engine.core import errors as e
from engine.org import accounts
from engine.queries import views
from tests import factories as f
from tests.web.test_pages import PASSWORD, sign_in, token_in

EMPLOYEE, AUDITOR = "designer1@initech.test", "auditor@initech.test"
CHECKIN = {"progress": "Shipped the icon set", "blockers": [], "mood": 4}


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    f.org(session)
    for email in (EMPLOYEE, f.HR):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    f.launched(session, f.deploy(session), [EMPLOYEE])
    [task] = views.list_tasks(session, actor=f.people.by_email(session, EMPLOYEE), status="open")
    return {"task": task["id"], "instance": task["instance_id"], "app": create_app()}


def test_not_found_is_404_on_a_page_and_in_the_api(world, session):
    page = sign_in(world["app"], EMPLOYEE).get("/tasks/999999")
    api = TestClient(world["app"]).get("/api/tasks/999999", headers=f.token(session, EMPLOYEE))
    assert page.status_code == api.status_code == status_for(e.NotFound("x")) == 404
    assert "<html" in page.text and api.json()["error"] == "not_found"


def test_forbidden_is_403_on_a_page_and_in_the_api(world, session):
    page = sign_in(world["app"], EMPLOYEE).get("/cycles")
    api = TestClient(world["app"]).get("/api/cycles", headers=f.token(session, EMPLOYEE))
    assert page.status_code == api.status_code == status_for(e.Forbidden("x")) == 403
    assert "not open to you" in page.text and api.json()["error"] == "forbidden"


def test_invalid_input_is_422_on_a_page_and_in_the_api(world, session):
    client = sign_in(world["app"], AUDITOR)
    url = f"/instances/{world['instance']}/rater-detail"
    token = token_in(client.get(f"/instances/{world['instance']}").text)
    page = client.post(url, data={"reason": "short", "csrf_token": token})
    api = TestClient(world["app"]).post("/api" + url, headers=f.token(session, AUDITOR), json={"reason": "short"})
    assert page.status_code == api.status_code == status_for(e.InvalidInput("x")) == 422
    assert "<html" in page.text and api.json()["error"] == "invalid_input"


def test_conflict_is_409_on_a_page_and_in_the_api(world, session):
    task = world["task"]
    client = sign_in(world["app"], EMPLOYEE)
    token = token_in(client.get(f"/tasks/{task}").text)
    api = TestClient(world["app"])
    headers = f.token(session, EMPLOYEE)
    assert api.post(f"/api/tasks/{task}/complete", headers=headers, json={"data": CHECKIN}).status_code == 200
    again = api.post(f"/api/tasks/{task}/complete", headers=headers, json={"data": CHECKIN})
    form = {"csrf_token": token, "action": "submit", "progress": "Shipped it again", "mood": "4"}
    page = client.post(f"/tasks/{task}", data=form)
    assert page.status_code == again.status_code == status_for(e.Conflict("x")) == 409
    assert "already" in page.text and again.json()["error"] == "conflict"


def _raising_app() -> FastAPI:
    """The real app plus, for every mapped error, a page route and an API route that raise it."""

    def raising(cls: type[e.ReviewflowError]) -> Any:
        def route() -> None:
            if cls is e.TooManyAttempts:
                raise e.TooManyAttempts("Try again later / 请稍后再试", retry_after=60)
            raise cls("Detail for the test / 测试说明")

        return route

    app = create_app()
    for cls in STATUS:
        app.add_api_route(f"/raise/{cls.__name__}", raising(cls))
        app.add_api_route(f"/api/raise/{cls.__name__}", raising(cls))
    return app


@pytest.mark.parametrize("lang,heading", [("en", "Something needs attention"), ("zh-CN", "有些地方需要处理")])
def test_every_mapped_error_has_the_same_status_on_a_page_as_in_the_api(db_engine, lang, heading):
    client = TestClient(_raising_app(), raise_server_exceptions=False, cookies={"rf_lang": lang})
    for cls, status in STATUS.items():
        page, api = client.get(f"/raise/{cls.__name__}"), client.get(f"/api/raise/{cls.__name__}")
        assert page.status_code == api.status_code == status, cls.__name__
        assert page.headers["content-type"].startswith("text/html") and "<html" in page.text, cls.__name__
        assert api.headers["content-type"].startswith("application/json"), cls.__name__
        if status not in (403, 404, 409):
            assert heading in page.text, cls.__name__  # bilingual as ever
    assert client.get("/raise/TooManyAttempts").headers["retry-after"] == "60"
    assert AuditKeyMissing in STATUS
