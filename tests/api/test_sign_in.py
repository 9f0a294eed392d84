"""Sign-in limits: guessing a password locks the email (known or not) and the address, with 429 + Retry-After; the
lock lifts when the window passes (the test moves the clock) or when HR unlocks it; a deactivated person is told so
only after giving the right password."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.core import clock
from engine.core.errors import TooManyAttempts, Unauthorized
from engine.core.settings import get_settings
from engine.org import accounts
from engine.store import db
from tests import factories as f

PASSWORD = "S3cret-pass!"  # HR's, from the factories
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def hr(client, session) -> dict[str, str]:
    clock.set_now(NOON)
    f.org(session)
    return f.token(session, f.HR)


def sign_in(client: TestClient, password: str, email: str = f.HR):
    return client.post("/api/auth/token", json={"email": email, "password": password})


def fail(client: TestClient, times: int, email: str = f.HR) -> None:
    for _ in range(times):
        assert sign_in(client, "wrong-guess", email).status_code == 401


@pytest.mark.both_dbs
def test_the_right_password_after_too_many_wrong_ones_is_refused_with_429_and_retry_after(client, hr):
    limit = get_settings().signin_max_failures
    fail(client, limit)
    clock.advance(timedelta(minutes=1))

    r = sign_in(client, PASSWORD)

    assert r.status_code == 429
    assert r.json()["error"] == "too_many_attempts" and "ask HR" in r.json()["detail"]
    window = get_settings().signin_window_minutes * 60
    assert int(r.headers["Retry-After"]) == window - 60  # the first failure leaves the window then
    # refusals check nothing and are no failures: the lock does not grow while one waits
    clock.advance(timedelta(seconds=window - 60))
    assert sign_in(client, PASSWORD).status_code == 200


def test_an_unknown_email_locks_just_like_a_known_one(client, hr):
    """Otherwise a lockout would tell who has an account."""
    limit = get_settings().signin_max_failures
    fail(client, limit, "nobody@initech.test")
    known, unknown = sign_in(client, "x", f.DESIGNER), sign_in(client, "x", "nobody@initech.test")
    assert known.status_code == 401 and unknown.status_code == 429
    fail(client, limit - 1, f.DESIGNER)
    assert sign_in(client, "x", f.DESIGNER).json() == unknown.json()


def test_the_lock_lifts_by_itself_when_the_window_passes(client, hr):
    fail(client, get_settings().signin_max_failures)
    assert sign_in(client, PASSWORD).status_code == 429
    clock.advance(timedelta(minutes=get_settings().signin_window_minutes) - timedelta(seconds=1))
    assert sign_in(client, PASSWORD).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert sign_in(client, PASSWORD).status_code == 200


def test_a_success_forgives_the_earlier_failures_of_that_email(client, hr):
    limit = get_settings().signin_max_failures
    for _ in range(3):
        fail(client, limit - 1)
        assert sign_in(client, PASSWORD).status_code == 200


@pytest.mark.both_dbs
def test_hr_sees_the_lockout_and_lifts_it(client, session, hr):
    fail(client, get_settings().signin_max_failures, f.DESIGNER)
    assert sign_in(client, "An0ther-pass!", f.DESIGNER).status_code == 429

    [lock] = client.get("/api/accounts/lockouts", headers=hr).json()["items"]
    assert lock["kind"] == "email" and lock["key"] == f.DESIGNER
    assert lock["failures"] == get_settings().signin_max_failures and lock["retry_after"] > 0
    r = client.post("/api/accounts/lockouts/unlock", json={"email": f.DESIGNER}, headers=hr)
    assert r.status_code == 200 and r.json()["failures_forgiven"] == get_settings().signin_max_failures

    assert client.get("/api/accounts/lockouts", headers=hr).json()["items"] == []
    assert sign_in(client, "An0ther-pass!", f.DESIGNER).status_code == 200


def test_unlock_needs_an_email_or_an_address(client, hr):
    r = client.post("/api/accounts/lockouts/unlock", json={}, headers=hr)
    assert r.status_code == 422 and "email or address" in r.json()["detail"]


def test_unlock_refuses_a_blank_email_or_address(client, hr):
    """Found by tests/api/test_fuzz_openapi.py: an empty email was a server error."""
    for body in ({"email": ""}, {"email": "  "}, {"address": ""}, {"email": "", "address": None}):
        r = client.post("/api/accounts/lockouts/unlock", json=body, headers=hr)
        assert r.status_code == 422, (body, r.text)
        assert "email or address" in r.json()["detail"]


def test_one_address_guessing_many_emails_is_locked_out(client, hr, monkeypatch):
    monkeypatch.setenv("REVIEWFLOW_SIGNIN_MAX_FAILURES_PER_ADDRESS", "6")
    get_settings.cache_clear()
    for i in range(6):
        fail(client, 1, f"guess{i}@initech.test")

    r = sign_in(client, PASSWORD)  # a real account, never guessed, from the same address

    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    [lock] = client.get("/api/accounts/lockouts", headers=hr).json()["items"]
    assert lock == {**lock, "kind": "address", "key": "testclient", "failures": 6}
    assert client.post("/api/accounts/lockouts/unlock", json={"address": "testclient"}, headers=hr).status_code == 200
    assert sign_in(client, PASSWORD).status_code == 200


def test_the_limit_holds_across_api_processes(client, hr):
    """Failures live in the database: a second app (another process would be the same) sees the first one's."""
    limit = get_settings().signin_max_failures
    fail(client, limit - 2)
    with TestClient(create_app()) as other:
        fail(other, 2)
        assert sign_in(other, PASSWORD).status_code == 429
    assert sign_in(client, PASSWORD).status_code == 429


def test_a_deactivated_person_is_told_so_only_with_the_right_password(client, session, hr):
    designer = f.people.by_email(session, f.DESIGNER)
    assert designer is not None
    assert client.post(f"/api/people/{designer.id}/deactivate", headers=hr).status_code == 200

    wrong, right = sign_in(client, "wrong-guess", f.DESIGNER), sign_in(client, "An0ther-pass!", f.DESIGNER)

    assert wrong.status_code == 401 and "deactivated" not in wrong.text
    assert right.status_code == 403 and "deactivated" in right.json()["detail"]
    assert client.post(f"/api/people/{designer.id}/activate", headers=hr).status_code == 200
    assert sign_in(client, "An0ther-pass!", f.DESIGNER).status_code == 200


@pytest.mark.both_dbs
def test_guesses_sent_at_once_are_checked_no_more_than_the_limit(db_engine, session, hr):
    """Each attempt is recorded before its password is checked, so parallel guesses cannot slip past the count."""
    guesses = 12
    barrier = Barrier(guesses)

    def guess(_: int) -> str:
        with db.new_session(db_engine) as s:
            barrier.wait()
            try:
                accounts.login(s, email=f.HR, password="wrong-guess", address="198.51.100.9")
            except Unauthorized:
                return "checked"
            except TooManyAttempts:
                return "refused"
        return "signed in"

    with ThreadPoolExecutor(guesses) as pool:
        outcomes = list(pool.map(guess, range(guesses)))

    assert outcomes.count("checked") <= get_settings().signin_max_failures
    assert outcomes.count("refused") >= guesses - get_settings().signin_max_failures
