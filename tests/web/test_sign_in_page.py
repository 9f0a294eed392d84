"""The sign-in page under the sign-in limits: a locked email is told when to retry (429 + Retry-After) in the page's
language, a deactivated person is told to ask HR, and neither starts a session."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from engine.core import clock
from engine.core.settings import get_settings
from engine.org import accounts
from tests import factories as f

EMPLOYEE = "designer1@initech.test"
PASSWORD = "Page-pass-123"


@pytest.fixture
def app(client, session):
    clock.set_now(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    f.org(session)
    accounts.create_account(session, email=EMPLOYEE, roles=[], password=PASSWORD, actor="test")
    return client.app


def attempt(client: TestClient, password: str):
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    data = {"email": EMPLOYEE, "password": password, "csrf_token": match.group(1)}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "Too many failed sign-ins"), ("zh-CN", "登录失败次数过多")],
)
def test_a_locked_email_is_told_when_to_try_again(app, lang, words):
    browser = TestClient(app, cookies={"rf_lang": lang})
    for _ in range(get_settings().signin_max_failures):
        assert attempt(browser, "wrong-guess").status_code == 401

    r = attempt(browser, PASSWORD)

    assert r.status_code == 429 and words in r.text
    assert int(r.headers["Retry-After"]) == get_settings().signin_window_minutes * 60
    assert f'value="{EMPLOYEE}"' in r.text  # the email stays typed in
    assert browser.get("/inbox", follow_redirects=False).status_code == 303  # still signed out


def test_a_deactivated_person_is_told_to_ask_hr(app, session):
    accounts.set_active(session, email=EMPLOYEE, active=False, actor="test")
    browser = TestClient(app, cookies={"rf_lang": "en"})

    r = attempt(browser, PASSWORD)

    assert r.status_code == 403 and "This account has been deactivated. Ask HR" in r.text
    assert attempt(browser, "wrong-guess").status_code == 401  # without the password nothing is told
    assert browser.get("/inbox", follow_redirects=False).status_code == 303
