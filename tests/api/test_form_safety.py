"""Nothing entrusted is lost or leaked through a form: answers have size limits that the served schema states, drafts
and bodies have byte caps, text that cannot be stored is refused naming the field, and error bodies stay small."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests import factories as f
from tests.api import test_tasks_api as checkin
from tests.api.test_tasks_api import EMPLOYEE, GOOD, _upload, complete, inbox, refused
from tests.canary import http_canary

world = checkin.world  # the check-in deployed and launched for two designers (a fixture)


def _task(client, world) -> dict[str, Any]:
    r = client.get(f"/api/tasks/{world['task']['id']}", headers=world["who"][EMPLOYEE])
    assert r.status_code == 200, r.text
    return r.json()


def _raw(client, world, path: str, body: bytes, method: str = "POST"):
    headers = {**world["who"][EMPLOYEE], "content-type": "application/json"}
    return client.request(method, f"/api/tasks/{world['task']['id']}{path}", headers=headers, content=body)


def test_served_schema_states_the_default_limits_and_the_server_enforces_exactly_it(client, world):
    schema = _task(client, world)["form"]["schema"]
    progress, blockers = schema["properties"]["progress"], schema["properties"]["blockers"]
    assert progress["maxLength"] == 10_000 and blockers["maxItems"] == 200
    assert blockers["items"]["maxLength"] == 10_000
    assert schema["additionalProperties"] is False
    standard = Draft202012Validator(schema)  # a client that knows only standard JSON Schema
    too_long = {**GOOD, "progress": "长" * 10_001}
    too_many = {**GOOD, "blockers": ["x"] * 201}
    for data in (too_long, too_many):
        assert not standard.is_valid(data)
        body = refused(complete(client, world, data), 422, "form_invalid")
        [error] = body["errors"]
        assert error["path"] in ("progress", "blockers")
        assert error["message"] and error["message_zh"] and error["code"] in ("maxLength", "maxItems")
    assert standard.is_valid({**GOOD, "progress": "长" * 10_000})
    assert complete(client, world, {**GOOD, "progress": "长" * 10_000}).status_code == 200


def test_the_limits_come_from_settings(client, world, monkeypatch):
    from engine.core.settings import get_settings
    from engine.process import definitions

    monkeypatch.setattr(get_settings(), "form_max_length", 50)
    definitions.clear_caches()
    try:
        assert _task(client, world)["form"]["schema"]["properties"]["progress"]["maxLength"] == 50
        body = refused(complete(client, world, {**GOOD, "progress": "x" * 51}), 422, "form_invalid")
        assert [e["path"] for e in body["errors"]] == ["progress"]
    finally:
        definitions.clear_caches()


@pytest.mark.both_dbs
def test_a_draft_counts_utf8_bytes_and_a_too_big_one_is_refused_with_413(client, world):
    who, task_id = world["who"][EMPLOYEE], world["task"]["id"]
    chinese = {"progress": "进" * 300_000}  # 900 KB stored (1.8 MB if counted as escaped JSON): fits in 1 MB
    assert client.put(f"/api/tasks/{task_id}/draft", headers=who, json={"data": chinese}).status_code == 200
    r = client.put(f"/api/tasks/{task_id}/draft", headers=who, json={"data": {"progress": "x" * (1024 * 1024 + 1)}})
    body = refused(r, 413, "too_large")
    assert "1024 KB" in body["detail"] and "表单最多可容纳" in body["detail"]
    assert body["errors"][0]["message_zh"]
    assert _task(client, world)["data"] == chinese  # the earlier draft is kept


def test_an_answer_over_the_byte_cap_is_refused_with_413(client, world):
    data = {**GOOD, "blockers": ["障" * 3000] * 150}  # each item within its limits, 1.35 MB in all
    refused(complete(client, world, data), 413, "too_large")


def test_a_json_body_over_the_body_cap_is_refused_before_it_is_read(client, world):
    r = _raw(client, world, "/complete", b'{"data": {"progress": "' + b"x" * (9 * 1024 * 1024) + b'"}}')
    body = refused(r, 413, "too_large")
    assert "8 MB" in body["detail"] and "请求内容超过" in body["detail"]


@pytest.mark.both_dbs
@pytest.mark.parametrize("path,method", [("/complete", "POST"), ("/draft", "PUT")])
def test_a_lone_surrogate_is_refused_naming_the_field(client, world, path, method):
    data = {**GOOD, "progress": "Shipped \\ud800 things"}
    raw = json.dumps({"data": data}).replace("\\\\ud800", "\\ud800").encode()
    body = refused(_raw(client, world, path, raw, method), 422, "form_invalid")
    assert [(e["path"], e["code"]) for e in body["errors"]] == [("progress", "unicode")]
    assert body["errors"][0]["message_zh"]
    assert _task(client, world)["status"] == "open"
    assert complete(client, world, GOOD).status_code == 200  # nothing was half-done


def test_a_huge_bad_body_gets_a_small_error_response(client, world):
    data = {f"f{i}": 0 for i in range(60_000)}  # ~600 KB of fields the form does not have
    r = complete(client, world, data)
    body = refused(r, 422, "form_invalid")
    assert len(r.content) < 20_000
    assert len(body["errors"]) <= 51 and body["errors"][-1]["code"] == "more"
    assert "59953" in body["errors"][-1]["message"] and body["errors"][-1]["message_zh"]


def test_a_request_that_does_not_fit_its_shape_gets_a_small_error_response(client, world):
    """Each bad list item used to cost an error entry of ~90 bytes: 300 KB of `0,` answered with ~13 MB."""
    bad = {"name": "G", "selector": {}, "facilitator": "x" * 100_000, "committee": [0] * 150_000}
    r = client.post("/api/cycles/1/calibration-groups", headers=world["who"][f.HR], json=bad)
    body = refused(r, 422, "invalid_request")
    assert len(r.content) < 20_000 and "x" * 1000 not in r.text
    assert len(body["errors"]) <= 51 and "149950" in body["errors"][-1]["message"]


def _deploy_with(client, world, progress: dict[str, Any], extra: tuple[tuple[str, bytes], ...] = ()):
    schema = json.loads((f.DATA / "checkin-employee.schema.json").read_text())
    schema["properties"]["progress"] = progress
    files = _upload(f.CHECKIN, {"checkin-employee.schema.json": json.dumps(schema).encode()})
    files += [("files", (n, d, "application/json")) for n, d in extra]
    return client.post("/api/definitions", headers=world["who"][f.HR], files=files)


def test_deploy_refuses_a_pattern_re2_cannot_run_naming_form_and_pattern(client, world):
    r = _deploy_with(client, world, {"type": "string", "pattern": "^(?=.*\\d)(\\w)\\1+$"})
    body = refused(r, 422, "definition_invalid")
    [problem] = body["errors"]
    assert problem["file"] == "checkin-employee.schema.json" and "^(?=.*\\d)(\\w)\\1+$" in problem["message"]


def test_deploy_refuses_a_ref_outside_the_upload_and_never_fetches_it(client, world):
    with http_canary() as canary:
        r = _deploy_with(client, world, {"$ref": canary["url"]})
        [problem] = refused(r, 422, "definition_invalid")["errors"]
        assert problem["file"] == "checkin-employee.schema.json" and canary["url"] in problem["message"]
        assert canary["seen"] == []


def test_a_form_may_refer_to_a_file_of_its_upload_and_is_served_self_contained(client, world):
    common = {"$defs": {"text": {"type": "string", "minLength": 5}}}
    extra = (("common.schema.json", json.dumps(common).encode()),)
    r = _deploy_with(client, world, {"$ref": "common.schema.json#/$defs/text"}, extra)
    assert r.status_code == 201, r.text
    body = {"name": "With refs", "definition": r.json()["key"], "participants": {"emails": [EMPLOYEE]}}
    cycle = client.post("/api/cycles", headers=world["who"][f.HR], json=body).json()
    assert client.post(f"/api/cycles/{cycle['id']}/launch", headers=world["who"][f.HR]).status_code == 202
    task = max(inbox(client, world["who"][EMPLOYEE]), key=lambda t: t["id"])
    schema = client.get(f"/api/tasks/{task['id']}", headers=world["who"][EMPLOYEE]).json()["form"]["schema"]
    assert schema["properties"]["progress"] == {"$ref": "#/$defs/file:common.schema.json/$defs/text"}
    assert schema["$defs"]["file:common.schema.json"]["$defs"]["text"]["maxLength"] == 10_000
    standard = Draft202012Validator(schema)
    assert not standard.is_valid({**GOOD, "progress": "four"}) and standard.is_valid(GOOD)
    r = client.post(
        f"/api/tasks/{task['id']}/complete", headers=world["who"][EMPLOYEE], json={"data": {**GOOD, "progress": "four"}}
    )
    assert [e["path"] for e in refused(r, 422, "form_invalid")["errors"]] == ["progress"]
