"""A refused HR operation answers in both languages: `detail` (English, as before) and `detail_zh`, and each field
problem `message` and `message_zh`; the body still matches the declared ErrorBody. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, OTHER = "designer1@initech.test", "designer2@initech.test"


@pytest.fixture
def world(client, session) -> dict[str, Any]:
    f.org(session)
    f.launched(session, f.deploy(session), [EMPLOYEE])
    who = {e: f.token(session, e) for e in (EMPLOYEE, f.HR)}
    r = client.get("/api/tasks", headers=who[EMPLOYEE])
    [task] = r.json()["items"]
    return {"who": who, "task": task["id"], "instance": task["instance_id"]}


def declared(client, answer: dict[str, Any]) -> None:
    doc = client.get("/openapi.json").json()
    schema = {"$ref": "#/components/schemas/ErrorBody", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(answer)


def test_a_refused_reassignment_says_why_in_english_and_in_chinese(client, world):
    hr, task = world["who"][f.HR], world["task"]
    r = client.post(f"/api/tasks/{task}/reassign", headers=hr, json={"to": "nobody@initech.test", "reason": "Away"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "nobody@initech.test is not in the org chart."  # unchanged for existing clients
    assert body["detail_zh"] == "组织架构中没有 nobody@initech.test，请检查邮箱地址是否正确。"
    [problem] = body["errors"]
    assert problem["path"] == "to" and problem["code"] == "unknown_person"
    assert problem["message"] == body["detail"] and problem["message_zh"] == body["detail_zh"]
    declared(client, body)

    r = client.post(f"/api/tasks/{task}/reassign", headers=hr, json={"to": OTHER, "reason": "  "})
    assert r.status_code == 422 and r.json()["detail"] == "Say why you reassign this task (reason)."
    assert "理由" in r.json()["detail_zh"] and r.json()["errors"][0]["message_zh"] == r.json()["detail_zh"]


def test_conflicts_and_unknown_tasks_have_their_chinese_text_too(client, world):
    hr, task = world["who"][f.HR], world["task"]
    r = client.post(f"/api/tasks/{task}/reopen", headers=hr, json={"reason": "Wrong quarter"})
    assert r.status_code == 409
    assert r.json()["detail"] == "Only a completed task can be reopened; this one is open."
    assert r.json()["detail_zh"] == "只有已完成的任务才能重新打开；此任务的状态是“待处理”。"
    r = client.post("/api/tasks/999999/reassign", headers=hr, json={"to": OTHER, "reason": "Away"})
    assert r.status_code == 404 and r.json()["detail"] == "No task with id 999999 for you."
    assert "999999" in r.json()["detail_zh"] and "任务" in r.json()["detail_zh"]
    declared(client, r.json())
    r = client.post(f"/api/instances/{world['instance']}/rater-detail", headers=hr, json={"reason": "short"})
    assert r.status_code == 422 and r.json()["detail"].startswith("Say why you need to see who gave which answer")
    assert "为什么需要查看" in r.json()["detail_zh"] and r.json()["errors"][0]["message_zh"] == r.json()["detail_zh"]


def test_an_error_without_a_chinese_text_has_no_detail_zh(client, world):
    r = client.post(f"/api/tasks/{world['task']}/reassign", headers=world["who"][f.HR], json={"to": 5})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request" and "detail_zh" not in r.json()
