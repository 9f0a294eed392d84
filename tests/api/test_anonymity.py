"""360 anonymity is enforced by the engine: below the threshold nothing of the answers reaches the subject or the
manager; at or above it only aggregates do, in an order unrelated to who answered or when."""

from __future__ import annotations

import json

import pytest

from tests import factories as f

pytestmark = pytest.mark.both_dbs

SUBJECT, MANAGER = "designer1@initech.test", "design.lead@initech.test"
PEERS = [f"peer{i}@initech.test" for i in range(3)]
COMMENTS = ["zebra-stripes precise work", "apple-pie kindness", "mango-tango helpful reviews"]


def _get(client, headers, path):
    r = client.get(path, headers=headers)
    assert r.status_code in (200, 404), (path, r.status_code, r.text)
    return r.json()


def _everything_visible_to(client, session, email, instance_id) -> str:
    """Every response this person can fetch about the review, as one string."""
    h = f.token(session, email)
    blobs = [_get(client, h, "/api/tasks?status=all"), _get(client, h, f"/api/instances/{instance_id}")]
    for task in blobs[0]["items"]:
        blobs.append(_get(client, h, f"/api/tasks/{task['id']}"))
    for path in ("/api/me", f"/api/instances/{instance_id}/events", "/api/audit/verify"):
        r = client.get(path, headers=h)
        blobs.append(r.json() if r.status_code == 200 else {"status": r.status_code})
    return json.dumps(blobs, ensure_ascii=False)


def _start(client, session, threshold: int):
    people = f.org(session, extra_peers=3)
    cycle = f.launched(session, f.deploy(session, f.PEERS), [SUBJECT], settings={"anonymity": {"peer": threshold}})
    h = f.token(session, SUBJECT)
    [nominate] = client.get("/api/tasks", headers=h).json()["items"]
    r = client.post(f"/api/tasks/{nominate['id']}/complete", headers=h, json={"data": {"peers": PEERS}})
    assert r.status_code == 200, r.text
    return people, cycle, nominate["instance_id"]


def _answer(client, session, index: int, **data):
    h = f.token(session, PEERS[index])
    [task] = client.get("/api/tasks", headers=h).json()["items"]
    r = client.post(f"/api/tasks/{task['id']}/complete", headers=h, json={"data": data})
    assert r.status_code == 200, r.text


def test_two_of_three_answers_show_nothing(client, session):
    _people, _cycle, instance_id = _start(client, session, threshold=3)
    _answer(client, session, 2, rating=5, comment=COMMENTS[2])
    _answer(client, session, 0, rating=2, comment=COMMENTS[0])
    for email in (SUBJECT, MANAGER):
        seen = _everything_visible_to(client, session, email, instance_id)
        assert not any(c in seen for c in COMMENTS), email
        assert PEERS[0] not in seen.replace(json.dumps(PEERS), "") or email == SUBJECT
    _answer(client, session, 1, declined=True, decline_reason="I have not worked with them this year")
    h = f.token(session, MANAGER)
    [summary] = client.get("/api/tasks", headers=h).json()["items"]
    detail = client.get(f"/api/tasks/{summary['id']}", headers=h).json()
    assert detail["context"]["feedback_summary"] == {"peer": {"hidden": True}}
    assert "feedback" not in detail["context"] and "answer" not in detail["context"]
    seen = _everything_visible_to(client, session, MANAGER, instance_id)
    assert not any(c in seen for c in COMMENTS)


def test_at_the_threshold_only_aggregates_show_in_an_order_unrelated_to_submission(client, session):
    _people, _cycle, instance_id = _start(client, session, threshold=3)
    for index in (2, 0, 1):
        _answer(client, session, index, rating=index + 2, comment=COMMENTS[index])
    h = f.token(session, MANAGER)
    [summary] = client.get("/api/tasks", headers=h).json()["items"]
    detail = client.get(f"/api/tasks/{summary['id']}", headers=h).json()
    peer = detail["context"]["feedback_summary"]["peer"]
    assert peer["count"] == 3 and peer["means"]["rating"] == 3.0
    assert peer["comments"]["comment"] == sorted(COMMENTS, key=str.casefold)
    seen = _everything_visible_to(client, session, MANAGER, instance_id)
    assert not any(p in seen for p in PEERS if p not in json.dumps(detail["context"].get("peers", [])))
    assert 'rating": 4' not in seen  # no single answer, only the mean
