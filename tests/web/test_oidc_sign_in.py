"""Sign-in through the company's identity provider, against a real OpenID provider process on 127.0.0.1
(oidc-provider-mock) and, for tokens no honest provider issues, a tiny fake one (tests/web/oidc_fake.py).

The browser is a TestClient for our pages and plain HTTP for the provider: /login/oidc sends it to the provider,
the person picks who they are there, the provider sends it back to /login/oidc/callback with a code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import select

from api.web import oidc_pages
from api.web import session as session_cookie
from engine import audit as engine_audit
from engine.core import clock
from engine.core.errors import Unauthorized
from engine.core.settings import get_settings
from engine.org import accounts, oidc
from engine.store.models import AuditEvent, Person
from tests import factories as f
from tests.web import oidc_fake

pytestmark = pytest.mark.both_dbs

EMPLOYEE = "designer1@initech.test"
CLIENT_ID = "reviewflow"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def configure(monkeypatch: pytest.MonkeyPatch, issuer: str, **more: str) -> None:
    monkeypatch.setenv("REVIEWFLOW_OIDC_ISSUER", issuer)
    monkeypatch.setenv("REVIEWFLOW_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("REVIEWFLOW_OIDC_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("REVIEWFLOW_OIDC_DISPLAY_NAME", "Initech SSO")
    for name, value in more.items():
        monkeypatch.setenv(f"REVIEWFLOW_{name.upper()}", value)
    get_settings.cache_clear()
    oidc.forget_providers()
    oidc_pages._used_states.clear()


@pytest.fixture
def app(client, session, provider, monkeypatch):
    f.org(session)
    configure(monkeypatch, provider)
    yield client.app
    oidc.forget_providers()


def person_at(provider: str, sub: str, **claims: object) -> None:
    body = {"email": sub, "email_verified": True, **claims}
    assert httpx.put(f"{provider}/users/{sub}", json=body).status_code == 204


def to_provider(browser: TestClient, next: str = "/inbox") -> str:
    r = browser.get(f"/login/oidc?next={next}", follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"]


def come_back(browser: TestClient, location: str) -> httpx.Response:
    parts = urlsplit(location)
    return browser.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def pick_at_provider(authorize_url: str, sub: str) -> str:
    """The person signs in at the provider (the mock's form: who are you); the provider sends them back."""
    answer = httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["location"]


def sign_in(browser: TestClient, sub: str) -> httpx.Response:
    return come_back(browser, pick_at_provider(to_provider(browser), sub))


def audit(session, action: str) -> list[dict]:
    session.rollback()  # a fresh read: the app committed in its own sessions
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()
    return [o.payload for o in engine_audit.reveal(session, rows)]  # personal values joined back


def test_signing_in_at_the_provider_lands_on_the_inbox_as_that_person(app, provider, session):
    person_at(provider, EMPLOYEE, name="Someone Else Entirely")
    browser = TestClient(app, cookies={"rf_lang": "en"})
    authorize = to_provider(browser)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]  # PKCE
    assert query["client_id"] == [CLIENT_ID] and query["nonce"][0] and query["state"][0]

    r = come_back(browser, pick_at_provider(authorize, EMPLOYEE))

    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    inbox = browser.get("/inbox")
    person = session.scalar(select(Person).where(Person.email == EMPLOYEE))
    assert inbox.status_code == 200 and person is not None and person.name in inbox.text  # the org chart's name
    started = audit(session, "session.started")[-1]
    assert started["email"] == EMPLOYEE and started["label"] == "sign-in via Initech SSO"


def test_a_replayed_callback_is_refused(app, provider):
    person_at(provider, EMPLOYEE)
    browser = TestClient(app, cookies={"rf_lang": "en"})
    authorize = to_provider(browser)
    cookie = browser.cookies.get("rf_session")
    callback = pick_at_provider(authorize, EMPLOYEE)
    assert come_back(browser, callback).status_code == 303

    thief = TestClient(app, cookies={"rf_lang": "en", "rf_session": cookie})  # the same cookie and callback again
    r = come_back(thief, callback)

    assert r.status_code == 400 and "expired or was already used" in r.text
    assert thief.get("/inbox", follow_redirects=False).status_code == 303  # not signed in


def test_an_expired_id_token_is_refused(app, provider):
    person_at(provider, EMPLOYEE)
    browser = TestClient(app, cookies={"rf_lang": "en"})
    callback = pick_at_provider(to_provider(browser), EMPLOYEE)
    clock.advance(timedelta(hours=2))  # the mock's tokens live one hour

    r = come_back(browser, callback)

    assert r.status_code == 401 and "The ID token has expired" in r.text
    assert browser.get("/inbox", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "is not in Reviewflow"), ("zh-CN", "您的邮箱不在 Reviewflow 的组织架构中")]
)
def test_an_email_outside_the_org_chart_is_refused_and_audited(app, provider, session, lang, words):
    stranger = "stranger@elsewhere.test"
    person_at(provider, stranger)
    browser = TestClient(app, cookies={"rf_lang": lang})

    r = sign_in(browser, stranger)

    assert r.status_code == 403 and words in r.text
    assert session.scalar(select(Person).where(Person.email == stranger)) is None  # nobody was created
    assert audit(session, "sign_in.refused")[-1] | {"issuer": None} == {
        "email": stranger,
        "reason": "not_in_org_chart",
        "via": "oidc",
        "issuer": None,
    }


def test_an_unverified_email_is_refused(app, provider, session):
    person_at(provider, EMPLOYEE, email_verified=False)
    browser = TestClient(app, cookies={"rf_lang": "en"})

    r = sign_in(browser, EMPLOYEE)

    assert r.status_code == 403 and "has not verified your email address" in r.text
    assert audit(session, "sign_in.refused")[-1]["reason"] == "unverified"
    assert browser.get("/inbox", follow_redirects=False).status_code == 303


def test_a_deactivated_person_is_refused(app, provider, session):
    person_at(provider, EMPLOYEE)
    accounts.set_active(session, email=EMPLOYEE, active=False, actor="test")

    r = sign_in(TestClient(app, cookies={"rf_lang": "en"}), EMPLOYEE)

    assert r.status_code == 403 and "deactivated" in r.text


def test_groups_map_to_roles_and_follow_the_provider(app, provider, session, monkeypatch):
    configure(monkeypatch, provider, oidc_groups_claim="groups", oidc_group_roles='{"hr-team": ["hr_admin"]}')
    person_at(provider, EMPLOYEE, groups=["hr-team", "engineering"])
    browser = TestClient(app, cookies={"rf_lang": "en"})

    assert sign_in(browser, EMPLOYEE).status_code == 303
    assert browser.get("/people").status_code == 200  # an HR page

    person_at(provider, EMPLOYEE, groups=["engineering"])  # moved out of the HR group at the provider
    again = TestClient(app, cookies={"rf_lang": "en"})
    assert sign_in(again, EMPLOYEE).status_code == 303
    assert again.get("/people").status_code == 403
    saved, changed = audit(session, "account.saved")[-1], audit(session, "account.roles_changed")[-1]
    assert saved["email"] == EMPLOYEE and saved["roles"] == ["hr_admin"]
    assert changed == {"email": EMPLOYEE, "before": ["hr_admin"], "after": []}


def test_signing_out_ends_the_session_and_signs_out_at_the_provider(app, provider):
    person_at(provider, EMPLOYEE)
    browser = TestClient(app, cookies={"rf_lang": "en"})
    assert sign_in(browser, EMPLOYEE).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/inbox").text)
    assert token

    r = browser.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)

    assert r.status_code == 303 and r.headers["location"].startswith(f"{provider}/oauth2/end_session?")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["client_id"] == [CLIENT_ID] and query["post_logout_redirect_uri"][0].endswith("/login")
    assert browser.get("/inbox", follow_redirects=False).status_code == 303


def test_password_sign_in_can_be_switched_off(app, provider, session, monkeypatch):
    configure(monkeypatch, provider, password_signin="false")
    accounts.create_account(session, email=EMPLOYEE, roles=[], password="Page-pass-123", actor="test")
    browser = TestClient(app, cookies={"rf_lang": "en"})

    page = browser.get("/login")
    assert "Sign in with Initech SSO" in page.text and 'type="password"' not in page.text
    csrf = session_cookie.decode(
        (browser.cookies.get("rf_session") or "").strip('"')
    )  # a real CSRF secret: refused for the setting
    assert csrf is not None
    form = {"email": EMPLOYEE, "password": "Page-pass-123", "csrf_token": csrf["csrf"]}
    r = browser.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 403 and "Password sign-in is switched off here" in r.text
    api = browser.post("/api/auth/token", json={"email": EMPLOYEE, "password": "Page-pass-123"})
    assert api.status_code == 403 and "Password sign-in is switched off" in api.json()["detail"]


def test_without_a_provider_the_login_page_offers_passwords_only(client, monkeypatch):
    monkeypatch.delenv("REVIEWFLOW_OIDC_ISSUER", raising=False)
    get_settings.cache_clear()
    page = client.get("/login")
    assert "Sign in with" not in page.text and 'type="password"' in page.text
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404


# --- tokens no honest provider issues: a tiny fake provider over real HTTP ---


@pytest.fixture
def fake(client, session, monkeypatch) -> Iterator[oidc_fake.FakeProvider]:
    f.org(session)
    with oidc_fake.running() as fake:
        fake.email = EMPLOYEE
        configure(monkeypatch, fake.issuer)
        yield fake
    oidc.forget_providers()


def via_fake(client: TestClient) -> httpx.Response:
    browser = TestClient(client.app, cookies={"rf_lang": "en"})
    authorize = to_provider(browser)
    answer = httpx.get(authorize, follow_redirects=False)
    return come_back(browser, answer.headers["location"])


def test_the_fake_provider_signs_in_when_all_is_well(fake, client):
    assert via_fake(client).status_code == 303


def test_a_forged_signature_is_refused(fake, client):
    fake.signing = oidc_fake.new_key("k1")  # the published key id, another key

    r = via_fake(client)

    assert r.status_code == 401 and "signature does not match" in r.text


def test_a_token_for_another_application_is_refused(fake, client):
    fake.overrides["aud"] = "some-other-app"

    r = via_fake(client)

    assert r.status_code == 401 and "issued for another application" in r.text


def test_a_token_from_another_issuer_is_refused(fake, client):
    fake.overrides["iss"] = "https://evil.example"

    assert "The ID token was refused" in via_fake(client).text


def test_rotated_keys_are_fetched_again(fake, client):
    assert via_fake(client).status_code == 303
    fetched = fake.jwks_fetches
    fake.published = [oidc_fake.new_key("k2")]  # the provider rotated its key

    assert via_fake(client).status_code == 303
    assert fake.jwks_fetches == fetched + 1


def test_an_id_token_is_accepted_once(fake, client):
    cfg = oidc.config()
    assert cfg is not None
    raw = fake.id_token("nonce-1", CLIENT_ID)
    assert oidc.validate_id_token(cfg, raw, nonce="nonce-1")["email"] == EMPLOYEE
    with pytest.raises(Unauthorized, match="already used"):
        oidc.validate_id_token(cfg, raw, nonce="nonce-1")
    with pytest.raises(Unauthorized, match="nonce"):
        oidc.validate_id_token(cfg, fake.id_token("nonce-2", CLIENT_ID), nonce="nonce-3")


def test_a_code_the_provider_refuses_gives_a_clear_page(fake, client):
    browser = TestClient(client.app, cookies={"rf_lang": "en"})
    answer = httpx.get(to_provider(browser), follow_redirects=False)
    fake.codes.clear()  # the provider no longer knows the code (used, expired)

    r = come_back(browser, answer.headers["location"])

    assert r.status_code == 401 and "We could not sign you in" in r.text
    assert browser.get("/inbox", follow_redirects=False).status_code == 303
