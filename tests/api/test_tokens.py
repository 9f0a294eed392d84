"""Tokens and sessions end when they should: signing out, revoking, deactivating the person; removing a role takes
effect on the next request; every token expires."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.web import session as web_session
from engine.core import clock
from engine.core.errors import InvalidInput
from engine.org import accounts, tokens
from engine.store.models import ApiToken
from tests import factories as f

EMPLOYEE = "designer1@initech.test"
PASSWORD = "Page-pass-123"
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(client, session) -> dict:
    clock.set_now(NOON)
    people = f.org(session)
    accounts.create_account(session, email=EMPLOYEE, roles=[], password=PASSWORD, actor="test")
    return {"hr": f.token(session, f.HR), "employee": f.token(session, EMPLOYEE), "subject": people[EMPLOYEE].id}


def signed_in_page(client: TestClient, email: str = EMPLOYEE) -> TestClient:
    page = TestClient(client.app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/login").text)
    assert token
    data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    assert page.post("/login", data=data, follow_redirects=False).status_code == 303
    assert page.get("/inbox", follow_redirects=False).status_code == 200
    return page


def csrf(page: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/inbox").text)
    assert match
    return match.group(1)


def test_api_sign_out_revokes_the_token(client, world):
    h = world["employee"]
    assert client.post("/api/auth/logout", headers=h).json()["status"] == "revoked"
    r = client.get("/api/me", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_a_signed_out_cookie_no_longer_signs_anyone_in(client, world):
    page = signed_in_page(client)
    stolen = page.cookies[web_session.COOKIE]
    copy = TestClient(client.app, cookies={web_session.COOKIE: stolen})
    assert copy.get("/inbox", follow_redirects=False).status_code == 200  # a copied cookie works while signed in
    assert page.post("/logout", data={"csrf_token": csrf(page)}, follow_redirects=False).status_code == 303

    replay = TestClient(client.app, cookies={web_session.COOKIE: stolen})

    assert replay.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_the_page_cookie_carries_a_session_id_that_is_no_bearer_token(client, world):
    page = signed_in_page(client)
    data = web_session.decode(page.cookies[web_session.COOKIE].strip('"'))
    assert data is not None and "token" not in data
    r = client.get("/api/me", headers={"Authorization": f"Bearer {data['sid']}"})
    assert r.status_code == 401
    [listed] = [
        t for t in client.get("/api/tokens", headers=world["employee"]).json()["items"] if t["kind"] == "session"
    ]
    assert listed["status"] == "active" and listed["label"] == "sign-in"


@pytest.mark.both_dbs
def test_a_revoked_token_is_refused_at_once(client, session, world):
    spare = accounts.issue_token(session, email=EMPLOYEE, hours=2, label="laptop script", actor="test")
    h = {"Authorization": f"Bearer {spare}"}
    assert client.get("/api/me", headers=h).status_code == 200
    [item] = [
        t for t in client.get("/api/tokens", headers=world["employee"]).json()["items"] if t["label"] == "laptop script"
    ]

    r = client.delete(f"/api/tokens/{item['id']}", headers=world["employee"])

    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_by"] == EMPLOYEE
    assert client.get("/api/me", headers=h).status_code == 401
    assert client.delete(f"/api/tokens/{item['id']}", headers=world["employee"]).status_code == 200  # again: no change


def test_token_list_shows_ones_own_and_never_a_secret(client, session, world):
    items = client.get("/api/tokens", headers=world["employee"]).json()["items"]
    assert [t["current"] for t in items] == [True]
    assert set(items[0]) >= {"id", "kind", "label", "status", "expires_at", "last_used_at", "revoked_at"}
    stored = session.query(ApiToken).filter_by(id=items[0]["id"]).one().token_hash
    assert stored not in str(items) and "rf_" not in str(items)
    # HR may list another person's; the employee may not
    theirs = client.get("/api/tokens", params={"email": EMPLOYEE}, headers=world["hr"]).json()["items"]
    assert [t["id"] for t in theirs] == [items[0]["id"]]
    assert client.get("/api/tokens", params={"email": f.HR}, headers=world["employee"]).status_code == 403


def test_last_use_is_recorded_once_a_minute(client, world):
    def last_used() -> str:
        [mine] = client.get("/api/tokens", headers=world["employee"]).json()["items"]
        return mine["last_used_at"]

    assert last_used() == NOON.isoformat()
    clock.advance(timedelta(seconds=30))
    assert last_used() == NOON.isoformat()
    clock.advance(timedelta(seconds=31))
    assert last_used() == (NOON + timedelta(seconds=61)).isoformat()


@pytest.mark.both_dbs
def test_deactivating_a_person_ends_their_sessions_and_tokens_at_once(client, world):
    page = signed_in_page(client)

    r = client.post(f"/api/people/{world['subject']}/deactivate", headers=world["hr"])

    assert r.status_code == 200 and r.json()["active"] is False and r.json()["tokens_revoked"] == 2
    assert client.get("/api/me", headers=world["employee"]).status_code == 401
    assert page.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")
    # reactivated, they sign in afresh; the ended sessions and tokens stay ended
    assert client.post(f"/api/people/{world['subject']}/activate", headers=world["hr"]).json()["active"] is True
    assert client.get("/api/me", headers=world["employee"]).status_code == 401
    signed_in_page(client)


def test_hr_cannot_deactivate_themself(client, session, world):
    me = f.people.by_email(session, f.HR)
    assert me is not None
    r = client.post(f"/api/people/{me.id}/deactivate", headers=world["hr"])
    assert r.status_code == 422 and "yourself" in r.json()["detail"]


@pytest.mark.both_dbs
def test_a_removed_role_stops_working_on_the_next_request(client, session, world):
    assert client.get("/api/incidents", headers=world["hr"]).status_code == 200

    account = accounts.set_roles(session, email=f.HR, add=[], remove=["hr_admin"], actor="test")

    assert account.roles == []
    assert client.get("/api/incidents", headers=world["hr"]).status_code == 403
    assert client.get("/api/me", headers=world["hr"]).json()["roles"] == []


@pytest.mark.parametrize("hours", [0, -1, 24 * 366])
def test_a_token_must_expire_within_the_limit(session, world, hours):
    with pytest.raises(InvalidInput, match="must expire"):
        accounts.issue_token(session, email=EMPLOYEE, hours=hours, label="forever", actor="test")


def test_a_token_without_a_lifetime_gets_the_default(session, world):
    raw = accounts.issue_token(session, email=EMPLOYEE, label="default", actor="test")
    token = tokens.authenticate(session, raw)
    assert clock.as_utc(token.expires_at) == NOON + timedelta(days=30)
