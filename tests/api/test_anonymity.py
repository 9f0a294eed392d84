"""360 anonymity is enforced by the engine: below the threshold nothing of the answers reaches the subject or the
manager; at or above it only aggregates do, in an order unrelated to who answered or when."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.store.models import Instance, Task
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


# --- rater identities and reader roles -----------------------------------------------------------------------------
# One annual-review cycle for the design lead (A) and one of their reports (B). The lead is an hr_admin under review
# and manages B; the CEO (their manager, B's skip-level) holds admin and hr_admin; peer0 answers in both reviews
# and holds auditor; an auditor outside both reviews opens rater detail with a reason.

EMPLOYEE, LEAD, CEO, HR = "designer1@initech.test", "design.lead@initech.test", "ceo@initech.test", f.HR
AUDITOR, PASSWORD = "outside.auditor@initech.test", "Anon-pass-123"
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
# (rater, review, task, minute of submission, answer): each rater answers at a minute nothing else happens at
ANSWERS = [
    (PEERS[2], EMPLOYEE, "give_peer_feedback", 7, "Mentors the new hires patiently"),
    (PEERS[0], EMPLOYEE, "give_peer_feedback", 11, "Brings calm to every design crit"),
    (PEERS[1], EMPLOYEE, "give_peer_feedback", 19, "Documents decisions so others can follow"),
    (EMPLOYEE, LEAD, "give_upward_feedback", 23, "Keeps priorities clear every sprint"),
    (PEERS[0], LEAD, "give_upward_feedback", 29, "Argues for the team with leadership"),
    ("designer2@initech.test", LEAD, "give_upward_feedback", 31, "Funds our conference trips"),
    ("designer2@initech.test", LEAD, "give_peer_feedback", 37, "Lone peer answer below the threshold"),
]


def _h(session, email):
    return f.token(session, email)  # fresh each time: the test moves the clock past a token's hour


def _do(client, session, email, name, data, subject) -> dict:
    h = _h(session, email)
    [task] = [
        t
        for t in client.get("/api/tasks", headers=h).json()["items"]
        if t["name"] == name and t["subject"]["email"] == subject
    ]
    r = client.post(f"/api/tasks/{task['id']}/complete", headers=h, json={"data": data})
    assert r.status_code == 200, (email, name, r.text)
    return r.json()


def _review_world(client, session) -> dict:
    from engine.org import accounts
    from tests.workflows.steps import GOALS, SETTINGS, deploy_shipped, ratings

    clock.set_now(T0)
    f.org(session, extra_peers=3)
    roles_of = {LEAD: ["hr_admin"], CEO: ["admin", "hr_admin"], PEERS[0]: ["auditor"], AUDITOR: ["auditor"]}
    for email, roles in (*roles_of.items(), (HR, ["hr_admin"])):
        accounts.create_account(session, email=email, roles=roles, password=PASSWORD, actor="test")
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE, LEAD], settings=SETTINGS)
    nexts = []
    for subject, manager, nominees in ((EMPLOYEE, LEAD, PEERS), (LEAD, CEO, ["designer2@initech.test", *PEERS[1:]])):
        _do(client, session, subject, "draft_goals", {"goals": GOALS}, subject)
        _do(client, session, manager, "approve_goals", {"goal_decision": "approve"}, subject)
        _do(client, session, subject, "nominate_peers", {"nominees": nominees}, subject)
        nexts += _do(client, session, manager, "approve_peers", {"peers": nominees}, subject)["next"]
    # what each submitter was shown of the instance's open tasks afterwards: never how many raters are still due
    for rater, subject, name, minute, text in ANSWERS:
        clock.set_now(T0.replace(hour=13, minute=minute, second=17))
        answer = {"declined": False, "rating": 3 + minute % 3, "strengths": text, "improvements": f"More {text}"}
        nexts += _do(client, session, rater, name, answer, subject)["next"]
    clock.set_now(T0.replace(hour=14))
    self_review = {
        "self_goal_ratings": ratings(3, 4),
        "self_competency_ratings": ratings(4, 4, "example"),
        "self_overall": 4,
        "self_summary": "A year of steady delivery.",
    }
    nexts += _do(client, session, EMPLOYEE, "self_assessment", self_review, EMPLOYEE)["next"]
    session.rollback()
    instances = {i.subject.email: i.id for i in session.scalars(select(Instance).where(Instance.cycle_id == cycle.id))}
    raters = list(session.scalars(select(Task).where(Task.name.in_(["give_peer_feedback", "give_upward_feedback"]))))
    ids, spiff_ids = sorted(t.id for t in raters), {t.spiff_id for t in raters}
    assert [n for n in nexts if n["name"] in ("give_peer_feedback", "give_upward_feedback") and not n["yours"]] == []
    return {"cycle": cycle.id, "instances": instances, "rater_tasks": ids, "rater_spiff": spiff_ids}


def _csrf(client, path: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert token is not None
    return token.group(1)


def _web(client, email) -> str:
    """Sign in to the pages; returns the session's CSRF token."""
    client.cookies.clear()
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    assert r.status_code in (200, 303), r.text[:300]
    return _csrf(client, "/inbox")


def _page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return r.text


def _seen(client, session, email, w) -> tuple[list, str, dict]:
    """Everything `email` can read about both reviews over the API, and the pages and exports as text."""
    h = _h(session, email)
    api: list = [client.get("/api/tasks?status=all", headers=h).json()]
    api += [client.get(f"/api/tasks/{t['id']}", headers=h).json() for t in api[0]["items"]]
    statuses = {}
    for task_id in w["rater_tasks"]:
        r = client.get(f"/api/tasks/{task_id}", headers=h)
        statuses[task_id] = r.status_code
        api.append(r.json())
    for instance_id in w["instances"].values():
        api.append(client.get(f"/api/instances/{instance_id}", headers=h).json())
        api.append(client.get(f"/api/instances/{instance_id}/events", headers=h).json())
    _web(client, email)
    pages = [_page(client, p) for p in ("/audit", f"/cycles/{w['cycle']}")]
    for instance_id in w["instances"].values():
        pages.append(_page(client, f"/instances/{instance_id}"))
        api.append(json.loads(_page(client, f"/instances/{instance_id}/events.json")))
        pages += _page(client, f"/instances/{instance_id}/events.csv").splitlines()  # a row: one <li> below
    client.cookies.clear()
    return api, "\n".join(pages), statuses


def _pairings(value, viewer: str) -> list:
    """Objects that tie one rater's answer to that rater's email (a container of several answers does not); the
    viewer's own answers are theirs to see."""
    found = []

    def strings(v) -> str:
        return json.dumps(v, ensure_ascii=False)

    def walk(v):
        if isinstance(v, dict):
            text = strings(v)
            mine = [(r, a) for r, _s, _n, _m, a in ANSWERS if a in text]
            if len(mine) == 1 and f'"{mine[0][0]}"' in text and mine[0][0] != viewer:
                found.append(mine[0])
            for child in v.values():
                walk(child)
        elif isinstance(v, list):
            for child in v:
                walk(child)

    walk(value)
    return found


def _assert_no_identities(api, pages, viewer, w):
    blob = json.dumps(api, ensure_ascii=False) + pages
    others = [(r, a, f"13:{m:02d}") for r, _s, _n, m, a in ANSWERS if r != viewer]
    assert [t for _r, _a, t in others if t in blob] == [], f"{viewer} sees when raters answered"
    assert _pairings(api, viewer) == [], f"{viewer} sees who gave which answer"
    for chunk in pages.replace("\n", "<li").split("<li"):  # one timeline entry of a page, one row of a CSV
        assert not any(a in chunk and r in chunk for r, a, _t in others), viewer
    assert ANSWERS[-1][-1] not in blob, f"{viewer} sees an answer below the anonymity threshold"
    for response in api:
        for item in response.get("items", []) if isinstance(response, dict) else []:
            spiff_id = item.get("payload", {}).get("task")
            rater_row = item.get("task_id") in w["rater_tasks"] or spiff_id in w["rater_spiff"]
            assert not rater_row or item["actor"] == viewer, (viewer, item)
        for task in response.get("tasks", []) if isinstance(response, dict) else []:
            rater_task = task["name"] in ("give_peer_feedback", "give_upward_feedback")
            assert not rater_task or task["assignee"]["email"] == viewer, (viewer, task)


def test_nobody_involved_in_a_review_sees_raters_whatever_their_roles(client, session):
    w = _review_world(client, session)
    # the reviewed hr_admin (and manager of B), the admin + hr_admin manager / skip-level, a rater who is an auditor
    for viewer in (LEAD, CEO, PEERS[0]):
        api, pages, statuses = _seen(client, session, viewer, w)
        _assert_no_identities(api, pages, viewer, w)
        mine = {t["id"] for t in api[0]["items"]}
        assert {s for t, s in statuses.items() if t not in mine} == {404}, viewer
        for instance_id in w["instances"].values():
            r = client.post(
                f"/api/instances/{instance_id}/rater-detail",
                headers=_h(session, viewer),
                json={"reason": "I would like to know who wrote this."},
            )
            assert r.status_code == 403 and "take part" in r.json()["detail"], (viewer, r.text)
    # what the involved see of the answers is the summary at or above the threshold, as participants see it
    events = client.get(f"/api/instances/{w['instances'][LEAD]}/events", headers=_h(session, CEO)).json()
    assert events["raters"]["sight"] == "summary"
    assert events["raters"]["answers"]["direct_report"]["count"] == 3
    assert events["raters"]["answers"]["peer"] == {"hidden": True}


def test_an_uninvolved_auditor_sees_raters_only_after_opening_with_a_reason(client, session):
    w = _review_world(client, session)
    b = w["instances"][EMPLOYEE]
    api, pages, statuses = _seen(client, session, AUDITOR, w)
    _assert_no_identities(api, pages, AUDITOR, w)
    assert set(statuses.values()) == {403}
    h = _h(session, AUDITOR)
    events = client.get(f"/api/instances/{b}/events", headers=h).json()
    assert events["raters"]["sight"] == "anonymous"
    answers = events["raters"]["answers"]["peer"]["answers"]
    submitted = [a for _r, s, n, _m, a in ANSWERS if s == EMPLOYEE and n == "give_peer_feedback"]
    assert [a["strengths"] for a in answers] == sorted(submitted) != submitted  # by content, not by time
    assert all(set(a) <= {"declined", "rating", "strengths", "improvements"} for a in answers)  # no ids or times
    detail = client.get(f"/api/instances/{b}", headers=h).json()
    assert detail["raters"]["requests"] == {"peer": {"open": 0, "completed": 3, "cancelled": 0}}

    r = client.post(f"/api/instances/{b}/rater-detail", headers=h, json={"reason": "curious"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "reason"
    reason = "Grievance 2027-014: checking a reported comment"
    r = client.post(f"/api/instances/{b}/rater-detail", headers=h, json={"reason": reason})
    assert r.status_code == 201, r.text
    events = client.get(f"/api/instances/{b}/events", headers=h).json()
    assert events["raters"]["sight"] == "identified"
    done = {e["actor"] for e in events["items"] if e["action"] == "task.completed" and e["task"] == ANSWERS[0][2]}
    assert done == set(PEERS)
    assert client.get(f"/api/tasks/{w['rater_tasks'][0]}", headers=h).status_code == 200
    # the opening is in the audit log, with who and why, for every reader of the timeline — the subject's too
    for reader in (HR, LEAD):
        timeline = client.get(f"/api/instances/{b}/events", headers=_h(session, reader)).json()["items"]
        [opened] = [e for e in timeline if e["action"] == "rater_detail.opened"]
        assert opened["actor"] == AUDITOR and opened["payload"]["reason"] == reason
    assert client.get("/api/audit/verify", headers=h).json()["ok"] is True
    # only for a while, and only for this reader
    assert client.get(f"/api/instances/{b}/events", headers=_h(session, HR)).json()["raters"]["sight"] == "anonymous"
    clock.advance(timedelta(minutes=31))
    events = client.get(f"/api/instances/{b}/events", headers=_h(session, AUDITOR)).json()
    assert events["raters"]["sight"] == "anonymous"


def test_the_instance_page_opens_rater_detail_with_a_reason(client, session):
    w = _review_world(client, session)
    b = w["instances"][EMPLOYEE]
    csrf = _web(client, AUDITOR)
    page = client.get(f"/instances/{b}").text
    assert 'data-sight="anonymous"' in page and PEERS[2] not in page.split('id="timeline"')[1].split("nominate")[0]
    r = client.post(f"/instances/{b}/rater-detail", data={"reason": "short", "csrf_token": csrf})
    assert r.status_code == 422 and "10 to 500" in r.text
    r = client.post(f"/instances/{b}/rater-detail", data={"reason": "Grievance 2027-014 follow-up", "csrf_token": csrf})
    assert r.status_code == 200 and 'data-sight="identified"' in r.text  # redirected back to the page


def test_a_rater_task_nobody_can_take_never_falls_to_the_subject_or_their_managers(client, session):
    """A nominated rater who is not in the org leaves the task to HR admins: never to the subject or a manager of
    theirs who also holds hr_admin (they would learn who rates whom, and could answer about themselves)."""
    from engine.org import accounts

    f.org(session, extra_peers=1)
    for email in (SUBJECT, MANAGER):
        accounts.create_account(session, email=email, roles=["hr_admin"], password="Sub-ject-pass1!", actor="test")
    session.commit()
    f.launched(session, f.deploy(session, f.PEERS), [SUBJECT])
    h = f.token(session, SUBJECT)
    [nominate] = client.get("/api/tasks", headers=h).json()["items"]
    peers = ["peer0@initech.test", "left.the.company@initech.test"]
    r = client.post(f"/api/tasks/{nominate['id']}/complete", headers=h, json={"data": {"peers": peers}})
    assert r.status_code == 200, r.text
    open_tasks = select(Task).where(Task.instance_id == nominate["instance_id"], Task.status == "open")
    rater_tasks = session.scalars(open_tasks)
    assignees = {tuple(sorted(a.person.email for a in t.assignees)) for t in rater_tasks}
    assert assignees == {("peer0@initech.test",), (f.HR,)}
    for email in (SUBJECT, MANAGER):
        mine = client.get("/api/tasks", headers=f.token(session, email)).json()["items"]
        assert all(t["instance_id"] != nominate["instance_id"] for t in mine), (email, mine)
