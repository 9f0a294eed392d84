"""HTTP hardening without a browser: uploaded XML is served inert, and every response carries security headers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.app import create_app
from api.cli.main import app as cli
from api.security import PAGE_CSP
from engine import jobs
from engine.core.settings import get_settings
from engine.org import accounts
from engine.queries import views
from engine.store.models import DefinitionFile
from tests import factories as f
from tests.web.test_pages import AUDITOR, EMPLOYEE, PASSWORD, sign_in

SCRIPT = '<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(document.cookie)</html:script>'


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    f.org(session)
    for email in (EMPLOYEE, f.HR):
        accounts.create_account(session, email=email, roles=[], password=PASSWORD, actor="test")
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=PASSWORD, actor="test")
    definition = f.deploy(session)
    cycle = f.launched(session, definition, [EMPLOYEE])
    [task] = views.list_tasks(session, actor=f.people.by_email(session, EMPLOYEE), status="open")
    # a diagram stored before deploy refused active content: its XML carries an XHTML script
    stored = session.scalars(select(DefinitionFile).where(DefinitionFile.kind == "bpmn")).one()
    stored.content = stored.content.replace("</bpmn:definitions>", SCRIPT + "</bpmn:definitions>")
    session.commit()
    return {"cycle": cycle.id, "instance": task["instance_id"], "key": definition.key, "app": create_app()}


def assert_inert(r: Any) -> None:
    assert r.status_code == 200, r.text
    assert SCRIPT in r.text  # served as it is stored, but never as a document a browser renders
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["content-disposition"].startswith("attachment;")


def test_diagram_xml_pages_serve_uploaded_xml_inert(world):
    client = sign_in(world["app"], AUDITOR)
    assert_inert(client.get(f"/instances/{world['instance']}/diagram.xml"))
    hr = sign_in(world["app"], f.HR)
    assert_inert(hr.get(f"/definitions/{world['key']}/versions/1/diagram.xml"))


def test_api_bpmn_keeps_its_type_but_runs_nothing(world, session):
    r = TestClient(world["app"]).get(f"/api/definitions/{world['key']}/versions/1/bpmn", headers=f.token(session, f.HR))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;")


TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "api" / "web" / "templates").glob("*.html"))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),
        ("GET", "/static/app.css", 200),
        ("GET", "/healthz", 200),
        ("GET", "/api/me", 401),
        ("GET", "/no-such-page", 404),
        ("GET", "/openapi.json", 200),
    ],
)
def test_every_response_carries_the_security_headers(db_engine, method, path, status):
    r = TestClient(create_app()).request(method, path, headers={"accept": "text/html"})
    assert r.status_code == status
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert "frame-ancestors 'none'" in PAGE_CSP and "script-src 'self';" in PAGE_CSP


def test_a_refused_oversized_body_carries_them_too(db_engine):
    big = str(200_000_000)
    r = TestClient(create_app()).post("/api/people/import", headers={"content-length": big}, content=b"")
    assert r.status_code == 413 and r.headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_may_load_swagger_from_its_cdn(db_engine):
    r = TestClient(create_app()).get("/docs")
    assert r.status_code == 200 and "cdn.jsdelivr.net" in r.text
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in r.headers["content-security-policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_pages_need_nothing_the_csp_refuses(template):
    """No inline script runs (data blocks only), no inline event handler, nothing loaded from another site."""
    html = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "javascript:" not in html


def test_serve_trusts_forwarded_proto_only_from_the_configured_proxies(db_engine, monkeypatch):
    seen: dict[str, Any] = {}
    monkeypatch.setenv("REVIEWFLOW_TRUSTED_PROXIES", "10.0.0.1")
    monkeypatch.setenv("REVIEWFLOW_STARTUP_CHECK", "off")
    get_settings.cache_clear()
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(jobs, "default_mode", lambda embedded="thread": "inline")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.1"


def test_the_session_cookie_is_secure_only_when_a_trusted_proxy_says_https(world):
    app = ProxyHeadersMiddleware(world["app"], trusted_hosts="10.0.0.1")

    async def sign_in_from(client_ip: str) -> str:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://reviewflow.test") as client:
            headers = {"x-forwarded-proto": "https"}
            login = await client.get("/login", headers=headers)
            token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            assert token
            anon = login.headers["set-cookie"].split(";")[0]  # sent back by hand: a Secure one is https-only
            client.cookies.clear()
            r = await client.post(
                "/login",
                headers={**headers, "cookie": anon},
                data={"email": AUDITOR, "password": PASSWORD, "csrf_token": token.group(1)},
            )
            assert r.status_code == 303, r.text
            return r.headers["set-cookie"]

    def cookie_for(client_ip: str) -> str:  # on a thread of its own: Playwright may hold this thread's event loop
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(anyio.run, sign_in_from, client_ip).result()

    assert "secure" in cookie_for("10.0.0.1").lower()
    assert "secure" not in cookie_for("10.0.0.9").lower()
