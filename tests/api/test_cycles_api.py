"""Creating, checking, launching and releasing cycles over HTTP; bad settings are refused field by field."""

from __future__ import annotations

from tests import factories as f


def _setup(client, session):
    f.org(session)
    f.deploy(session)
    return f.token(session, f.HR)


def test_bad_settings_are_refused_per_field_and_nothing_is_created(client, session):
    hr = _setup(client, session)
    body = {
        "name": "Q4",
        "definition": "quarterly_checkin",
        "participants": "all",
        "settings": {
            "goals": {"min": 8, "max": 3},
            "anonymity": {"peer": 1},
            "score": {"weights": {"goal": -1}},
            "calibration_committee": ["not-an-email"],
        },
    }
    r = client.post("/api/cycles", headers=hr, json=body)
    assert r.status_code == 422, r.text
    assert {e["path"] for e in r.json()["errors"]} == {
        "settings/goals/min",
        "settings/anonymity/peer",
        "settings/score/weights",
        "settings/calibration_committee",
    }
    assert client.get("/api/cycles", headers=hr).json() == []


def test_unknown_participants_and_definitions_are_named(client, session):
    hr = _setup(client, session)
    r = client.post(
        "/api/cycles",
        headers=hr,
        json={"name": "Q4", "definition": "quarterly_checkin", "participants": {"emails": ["nobody@initech.test"]}},
    )
    assert r.status_code == 422 and "nobody@initech.test" in r.json()["detail"]
    r = client.post("/api/cycles", headers=hr, json={"name": "Q4", "definition": "no_such_review"})
    assert r.status_code == 404 and "no_such_review" in r.json()["detail"]


def test_preflight_names_who_would_be_blocked_and_the_load_per_reviewer(client, session):
    hr = _setup(client, session)
    r = client.post("/api/cycles", headers=hr, json={"name": "Q4", "definition": "quarterly_checkin"})
    cycle = r.json()["id"]
    report = client.post(f"/api/cycles/{cycle}/preflight", headers=hr).json()
    assert report["population"] == 5 and report["ready"] == 3
    problems = {p["email"]: p["problems"] for p in report["problems"]}
    assert "lane 'Manager': has no manager" in problems["ceo@initech.test"]
    # the only HR admin is never asked to handle her own review
    assert "lane 'HR': has no HR partner, and no other HR admin can take it" in problems["people@initech.test"]
    assert {"email": "design.lead@initech.test", "reviews": 2} in report["load"]
    assert report["warnings"] == []  # everyone else has an active HR partner
    r = client.post(f"/api/cycles/{cycle}/launch", headers=hr)
    assert r.status_code == 202
    status = client.get(f"/api/cycles/{cycle}", headers=hr).json()
    assert status["counts"]["instances"] == 3 and status["status"] == "active"
    assert sorted(p["email"] for p in status["launch_problems"]) == ["ceo@initech.test", "people@initech.test"]


def test_release_moves_only_reviews_waiting_for_it(client, session):
    hr = _setup(client, session)
    cycle = f.launched(session, f.deploy(session), ["designer1@initech.test"])
    r = client.post(f"/api/cycles/{cycle.id}/release", headers=hr)
    assert r.status_code == 200 and r.json() == {"cycle_id": cycle.id, "released": 0, "not_waiting": 1, "failed": []}


def test_preflight_warns_when_hr_admins_stand_in_for_a_missing_hr_partner(client, session):
    hr = _setup(client, session)
    f.people.import_csv(
        session,
        data=(
            f.ORG.splitlines()[0] + "\nB09,徐静,xu@initech.test,design.lead@initech.test,Design,Designer,zh-CN,\n"
        ).encode(),
        actor="test",
    )
    cycle = client.post(
        "/api/cycles",
        headers=hr,
        json={"name": "Q4", "definition": "quarterly_checkin", "participants": {"departments": ["Design"]}},
    ).json()["id"]
    report = client.post(f"/api/cycles/{cycle}/preflight", headers=hr).json()
    assert report["problems"] == []
    assert [(w["email"], w["name"]) for w in report["warnings"]] == [("xu@initech.test", "徐静")]
    assert "HR admins" in report["warnings"][0]["warnings"][0]
