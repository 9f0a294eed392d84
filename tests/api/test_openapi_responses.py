"""The OpenAPI document describes every response body: each JSON route declares its model, file downloads their
media type, and every /api route the error body. Real answers match what is declared, and declaring a model
leaves out none of the keys a route computes (a response model silently drops undeclared keys)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import jsonschema
import pytest
from fastapi.encoders import jsonable_encoder

from engine.jobs import incidents
from tests import factories as f
from tests.api.test_reports_api import NAMES
from tests.workflows.calibration_steps import MEMBERS, calibration_cycle, to_manager_rating

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Routes answering with a file, not JSON: the media type each declares for its 200.
DOWNLOADS = {
    ("get", "/api/cycles/{cycle_id}/reports/{name}.csv"): "text/csv",
    ("get", "/api/cycles/{cycle_id}/reports/{name}.xlsx"): XLSX,
    ("get", "/api/definitions/{key}/versions/{version}/bpmn"): "application/xml",
}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
EMPLOYEE, MANAGER = "designer1@initech.test", "design.lead@initech.test"
REPORTS = NAMES  # every report the API serves


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def _described(schema: dict[str, Any]) -> bool:
    """A named model, a list of them, or an object with properties: not `{}`, not just "some object"."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _described(schema.get("items", {}))
    return bool(schema.get("properties"))


def test_every_route_declares_its_success_body(client):
    doc = client.get("/openapi.json").json()
    seen = set()
    for method, path, op in _operations(doc):
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert success, f"{method} {path} declares no 2xx response"
        for code, declared in success.items():
            content = declared.get("content") or {}
            where = f"{method.upper()} {path} {code}"
            if (method, path) in DOWNLOADS:
                seen.add((method, path))
                assert list(content) == [DOWNLOADS[method, path]], where
                assert content[DOWNLOADS[method, path]]["schema"]["type"] == "string", where
            else:
                assert list(content) == ["application/json"], where
                assert _described(content["application/json"]["schema"]), f"{where}: {content}"
    assert seen == set(DOWNLOADS)  # the list names routes that exist


def test_every_api_route_declares_the_error_body(client):
    doc = client.get("/openapi.json").json()
    body = doc["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"error", "detail", "detail_zh", "errors"}
    assert set(body["required"]) == {"error", "detail"}
    for method, path, op in _operations(doc):
        if not path.startswith("/api/"):
            continue
        for code in ("400", "401", "403", "404", "409", "413", "422", "500", "503"):
            declared = op["responses"].get(code, {}).get("content", {}).get("application/json", {}).get("schema")
            assert declared == ERROR_BODY, f"{method.upper()} {path} {code}: {declared}"
    token = next(op for method, path, op in _operations(doc) if path == "/api/auth/token")
    assert token["responses"]["429"]["content"]["application/json"]["schema"] == ERROR_BODY


# --- real answers ------------------------------------------------------------------------------------------------


def _dropped(computed: Any, sent: Any, at: str, none_left_out: bool) -> Iterator[str]:
    if isinstance(computed, dict) and isinstance(sent, dict):
        for key, value in computed.items():
            if key in sent:
                yield from _dropped(value, sent[key], f"{at}/{key}", none_left_out)
            elif not (none_left_out and value is None):  # response_model_exclude_none leaves out nulls by design
                yield f"{at}/{key}"
    elif isinstance(computed, list) and isinstance(sent, list) and len(computed) == len(sent):
        for i, (c, s) in enumerate(zip(computed, sent, strict=True)):
            yield from _dropped(c, s, f"{at}/{i}", none_left_out)


@pytest.fixture
def api(client, monkeypatch: pytest.MonkeyPatch):
    """`api(method, template, headers=..., json=..., **path)` calls a route and checks its answer against the
    OpenAPI document; every key the route's function returned must have reached the client."""
    doc = client.get("/openapi.json").json()
    lost: list[str] = []
    serialize = fastapi.routing.serialize_response

    async def recording(**kwargs: Any) -> Any:
        out = await serialize(**kwargs)
        if kwargs.get("field") is not None:
            sent = json.loads(out) if isinstance(out, bytes) else out
            computed = jsonable_encoder(kwargs["response_content"])
            lost.extend(_dropped(computed, sent, "", bool(kwargs.get("exclude_none"))))
        return out

    monkeypatch.setattr(fastapi.routing, "serialize_response", recording)

    def call(method: str, template: str, *, expect: int = 200, **kwargs: Any) -> Any:
        path_args = {k: kwargs.pop(k) for k in list(kwargs) if "{" + k + "}" in template}
        r = client.request(method.upper(), template.format(**path_args), **kwargs)
        assert r.status_code == expect, f"{method.upper()} {template}: {r.status_code} {r.text[:500]}"
        declared = doc["paths"][template][method]["responses"][str(r.status_code)]
        media = r.headers["content-type"].split(";")[0]
        assert media in declared["content"], f"{method.upper()} {template} answered {media}"
        if media == "application/json":
            schema = declared["content"][media]["schema"]
            jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(r.json())
        assert lost == [], f"{method.upper()} {template} left out {lost}"
        return r.json() if media == "application/json" else r

    return call


def test_a_review_cycle_answers_as_declared(api, session):
    f.org(session)
    hr, employee, manager = (f.token(session, e) for e in (f.HR, EMPLOYEE, MANAGER))
    api("get", "/healthz")
    api("post", "/api/auth/token", json={"email": f.HR, "password": "S3cret-pass!"})
    api("post", "/api/auth/token", expect=401, json={"email": f.HR, "password": "wrong"})
    api("get", "/api/me", headers=hr)
    api("get", "/api/me", expect=401)

    files = [("files", (n, d, "application/octet-stream")) for n, d in f.files(*f.CHECKIN)]
    deployed = api("post", "/api/definitions", expect=201, headers=hr, files=files)
    assert api("post", "/api/definitions", headers=hr, files=files)["created"] is False
    key = deployed["key"]
    api("get", "/api/definitions", headers=hr)
    api("get", "/api/definitions/{key}", headers=hr, key=key)
    api("get", "/api/definitions/{key}/versions/{version}/bpmn", headers=hr, key=key, version=1)

    body = {"name": "Q3", "definition": key, "participants": {"emails": [EMPLOYEE]}}
    cycle_id = api("post", "/api/cycles", expect=201, headers=hr, json=body)["id"]
    api("post", "/api/cycles/{cycle_id}/preflight", headers=hr, cycle_id=cycle_id)
    api("post", "/api/cycles/{cycle_id}/launch", expect=202, headers=hr, cycle_id=cycle_id)
    api("get", "/api/cycles", headers=hr)
    api("get", "/api/cycles/{cycle_id}", headers=hr, cycle_id=cycle_id)
    changes = {"reminders": {"grace_days": 4}}
    api("patch", "/api/cycles/{cycle_id}/settings", headers=hr, json=changes, cycle_id=cycle_id)

    [task] = api("get", "/api/tasks", headers=employee)["items"]
    api("get", "/api/tasks/{task_id}", headers=employee, task_id=task["id"])
    api("get", "/api/tasks/{task_id}", expect=404, headers=employee, task_id=10**9)
    api("put", "/api/tasks/{task_id}/draft", headers=employee, json={"data": {"mood": 3}}, task_id=task["id"])
    api("post", "/api/tasks/{task_id}/complete", expect=422, headers=employee, json={"data": {}}, task_id=task["id"])
    done = {"progress": "Shipped the icon set / 完成了图标库", "blockers": ["hiring"], "mood": 4}
    api("post", "/api/tasks/{task_id}/complete", headers=employee, json={"data": done}, task_id=task["id"])
    instance_id = task["instance_id"]
    api("get", "/api/instances/{instance_id}", headers=manager, instance_id=instance_id)
    api("get", "/api/instances/{instance_id}/events", headers=hr, instance_id=instance_id)
    api("get", "/api/audit/verify", headers=hr)
    api("get", "/api/cycles/{cycle_id}/reports/{name}", headers=hr, cycle_id=cycle_id, name="completion")
    for extension in ("csv", "xlsx"):
        template = "/api/cycles/{cycle_id}/reports/{name}." + extension
        api("get", template, headers=hr, cycle_id=cycle_id, name="completion")
    api("post", "/api/cycles/{cycle_id}/release", headers=hr, cycle_id=cycle_id)

    incident = incidents.record(session, job="complete_task", args={"task_id": 1}, error="boom", actor="test")
    session.commit()
    assert api("get", "/api/incidents", headers=hr)["items"]
    api("post", "/api/incidents/{incident_id}/resolve", expect=202, headers=hr, incident_id=incident.id)

    mine = api("get", "/api/tokens", headers=hr)["items"]
    api("delete", "/api/tokens/{token_id}", headers=hr, token_id=next(t["id"] for t in mine if not t["current"]))
    assert api("get", "/api/accounts/lockouts", headers=hr)["items"] == []
    api("post", "/api/accounts/lockouts/unlock", headers=hr, json={"email": f.HR})
    csv = [("file", ("org.csv", f.ORG.encode(), "text/csv"))]
    api("post", "/api/people/import", headers=hr, files=csv)
    person_id = api("get", "/api/me", headers=employee)["id"]
    api("get", "/api/people/{person_id}", headers=manager, person_id=person_id)
    api("post", "/api/people/{person_id}/deactivate", headers=hr, person_id=person_id)
    api("post", "/api/people/{person_id}/activate", headers=hr, person_id=person_id)
    api("post", "/api/auth/logout", headers=hr)


def test_reports_and_calibration_answer_as_declared(api, session):
    cycle = calibration_cycle(session)
    to_manager_rating(session, MEMBERS[0])  # the group waits for MEMBERS[1]: HR opens it
    hr = f.token(session, f.HR)
    group = {"name": "Designers", "selector": {"people": MEMBERS[:2]}, "facilitator": f.HR, "committee": [f.DESIGNER]}
    url = "/api/cycles/{cycle_id}/calibration-groups"
    created = api("post", url, expect=201, headers=hr, json=group, cycle_id=cycle.id)
    api("get", url, headers=hr, cycle_id=cycle.id)
    api("post", "/api/calibration-groups/{group_id}/open", headers=hr, group_id=created["id"])
    view = api("get", "/api/calibration-groups/{group_id}", headers=hr, group_id=created["id"])["view"]
    assert view["people"] and view["not_yet_rated"] == [MEMBERS[1]]
    for name in REPORTS:
        report = api("get", "/api/cycles/{cycle_id}/reports/{name}", headers=hr, cycle_id=cycle.id, name=name)
        assert report["scope"] == {"kind": "all"}
