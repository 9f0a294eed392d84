"""HTTP hardening without a browser: uploaded XML is served inert, and every response carries security headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from engine import accounts, views
from engine.models import DefinitionFile
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
