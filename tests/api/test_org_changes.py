"""Org changes during a cycle, over HTTP: a people import shows (dry run) and then carries out its effects on the
running reviews — a manager's tasks move, a leaver's rater tasks are withdrawn and their own review is cancelled,
an HR partner's tasks move — in the same transaction as the people changes; the dry run's effects are exactly what
the apply does, and nobody's submitted answers are lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import audit
from engine.store.models import AuditEvent, Instance, Person, Task
from tests import factories as f
from tests.api.users import ApiUser
from tests.workflows.steps import EMPLOYEE, GOALS, HR, LEAD, PEERS, SETTINGS, deploy_shipped, ratings

pytestmark = pytest.mark.both_dbs

OTHER, CEO = "designer2@initech.test", "ceo@initech.test"
NEW_LEAD = "new.lead@initech.test"
HEADER = f.ORG.splitlines()[0]


def _org_csv(
    *,
    extra_peers: int = 3,
    change: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
    active: dict[str, str] | None = None,
) -> bytes:
    """The test org as a CSV with an `active` column: `change` maps an email to a replacement of one column
    ('manager_email=...' or 'hr_partner_email=...'), `drop` leaves people out, `add` appends raw rows."""
    cols = [*HEADER.split(","), "active"]
    lines = f.ORG.splitlines()[1:] + [
        f"P{i:03d},Peer {i},peer{i}@initech.test,design.lead@initech.test,Design,Designer,en,people@initech.test"
        for i in range(extra_peers)
    ]
    out = [",".join(cols)]
    for line in lines:
        cells = line.split(",") + ["true"]
        email = cells[2]
        if email in drop:
            continue
        for key, value in (change or {}).items():
            if key == email:
                col, new = value.split("=", 1)
                cells[cols.index(col)] = new
        if active and email in active:
            cells[-1] = active[email]
        out.append(",".join(cells))
    out.extend(add)
    return ("\n".join(out) + "\n").encode()


Who = ApiUser


def _import(client, headers, data: bytes, **params) -> dict:
    query = "&".join(f"{k}={'true' if v else 'false'}" for k, v in params.items())
    r = client.post(f"/api/people/import?{query}", headers=headers, files={"file": ("org.csv", data, "text/csv")})
    assert r.status_code == 200, r.text
    return r.json()


def _holders(session) -> dict[int, tuple[str, list[str]]]:
    """Every task: (status, assignees) — what an import may change."""
    session.rollback()
    session.expire_all()
    return {t.id: (t.status, sorted(a.person.email for a in t.assignees)) for t in session.scalars(select(Task))}


def _dry_then_apply(client, session, data: bytes, **params) -> tuple[dict, dict[int, tuple[str, list[str]]]]:
    """Dry run (nothing changes), then apply: the same effects; returns them and the task holders before."""
    hr = f.token(session, HR)
    before = _holders(session)
    lanes_before = {i.id: dict(i.lanes) for i in session.scalars(select(Instance))}
    dry = _import(client, hr, data, dry_run=True, **params)
    assert _holders(session) == before
    assert {i.id: dict(i.lanes) for i in session.scalars(select(Instance))} == lanes_before
    done = _import(client, hr, data, **params)
    assert done == dry
    return done, before


def _launch_two(client, session):
    f.org(session, extra_peers=3)
    cycle = f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE, OTHER], settings=SETTINGS)
    for subject in (EMPLOYEE, OTHER):
        Who(client, session, subject).complete("draft_goals", {"goals": GOALS})
    return cycle


def test_a_manager_change_moves_exactly_the_subjects_manager_tasks_with_their_draft(client, session):
    cycle = _launch_two(client, session)
    lead, employee = Who(client, session, LEAD), Who(client, session, EMPLOYEE)
    mine = lead.task("approve_goals", EMPLOYEE)
    theirs = lead.task("approve_goals", OTHER)
    r = client.put(f"/api/tasks/{mine['id']}/draft", headers=lead.headers, json={"data": {"goal_decision": "approve"}})
    assert r.status_code == 200, r.text

    data = _org_csv(
        change={EMPLOYEE: f"manager_email={NEW_LEAD}"},
        add=(f"N01,新领导,{NEW_LEAD},{CEO},Design,Design Lead,zh-CN,people@initech.test,true",),
    )
    done, before = _dry_then_apply(client, session, data)
    assert done["people"] == {"created": 1, "updated": 1, "unchanged": 7, "deactivated": 0, "errors": []}
    [effect] = done["effects"]
    assert effect == {
        "cycle_id": cycle.id,
        "instance_id": mine["instance_id"],
        "task_id": mine["id"],
        "action": "reassign",
        "from": [LEAD],
        "to": [NEW_LEAD],
        "reason": effect["reason"],
    }
    assert NEW_LEAD in effect["reason"]

    after = _holders(session)
    assert after[mine["id"]] == ("open", [NEW_LEAD])
    assert {k: v for k, v in after.items() if k != mine["id"]} == {k: v for k, v in before.items() if k != mine["id"]}
    assert lead.get(mine["id"]) == 404  # gone from the old manager's inbox
    assert lead.get(theirs["id"]) == 200  # the other report's review did not move
    new = Who(client, session, NEW_LEAD)
    shown = new.task("approve_goals", EMPLOYEE)
    assert shown["id"] == mine["id"] and shown["data"] == {"goal_decision": "approve"} and shown["has_draft"]
    session.expire_all()
    assert session.get(Instance, mine["instance_id"]).lanes["manager"] == [NEW_LEAD]
    assert session.get(Instance, theirs["instance_id"]).lanes["manager"] == [LEAD]

    # later Manager-lane tasks go to the new manager
    new.complete("approve_goals", {"goal_decision": "approve"}, EMPLOYEE)
    employee.complete("nominate_peers", {"nominees": PEERS})
    assert [t["name"] for t in new.tasks()] == ["approve_peers"]
    assert [t["subject"]["email"] for t in lead.tasks()] == [OTHER]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.reassigned")).all()
    payloads = [(o.row.task_id, o.payload) for o in audit.reveal(session, events)]
    assert [(t, p["from"], p["to"], p["org_change"]) for t, p in payloads] == [(mine["id"], [LEAD], [NEW_LEAD], True)]

    # the same file again changes nothing more
    again = _import(client, f.token(session, HR), data)
    assert again["effects"] == [] and again["people"]["unchanged"] == 9


def test_a_leavers_given_peer_answers_still_count_and_their_open_ones_are_withdrawn(client, session):
    f.org(session, extra_peers=3)
    settings = {**SETTINGS, "anonymity": {"peer": 2}}
    f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE], settings=settings)
    employee, lead = Who(client, session, EMPLOYEE), Who(client, session, LEAD)
    employee.complete("draft_goals", {"goals": GOALS})
    lead.complete("approve_goals", {"goal_decision": "approve"})
    employee.complete("nominate_peers", {"nominees": PEERS})
    lead.complete("approve_peers", {"peers": PEERS})
    answer = {"declined": False, "rating": 4, "strengths": "Kind reviews / 评审友善", "improvements": "Plan ahead"}
    for peer in PEERS[:2]:
        Who(client, session, peer).complete("give_peer_feedback", answer)
    open_peer = Who(client, session, PEERS[2]).task("give_peer_feedback")

    # peer0 (answered) and peer2 (not yet) leave
    data = _org_csv(active={PEERS[0]: "false", PEERS[2]: "否"})
    done, before = _dry_then_apply(client, session, data)
    assert done["people"]["deactivated"] == 2
    assert [(e["task_id"], e["action"], e["from"], e["to"]) for e in done["effects"]] == [
        (open_peer["id"], "withdraw", [PEERS[2]], [])
    ]
    after = _holders(session)
    assert after[open_peer["id"]] == ("withdrawn", [PEERS[2]])
    assert all(after[k] == v for k, v in before.items() if k != open_peer["id"])
    session.expire_all()
    assert not session.scalar(select(Person).where(Person.email == PEERS[0])).active

    employee.complete(
        "self_assessment",
        {
            "self_goal_ratings": ratings(3, 3),
            "self_competency_ratings": ratings(4, 3, "example"),
            "self_overall": 3,
            "self_summary": "A good year with a hard last quarter.",
        },
    )
    summary = lead.task("manager_assessment")["context"]["feedback_summary"]["peer"]
    assert summary["count"] == 2  # the leaver's answer counts; the withdrawn task is not an answer


def test_a_leaving_manager_and_people_missing_from_the_file(client, session):
    _launch_two(client, session)
    lead, ceo = Who(client, session, LEAD), Who(client, session, CEO)
    mine = lead.task("approve_goals", EMPLOYEE)
    theirs = lead.task("approve_goals", OTHER)
    data = _org_csv(active={LEAD: "false"}, drop=(OTHER,))

    # without the option, a missing person stays active
    hr = f.token(session, HR)
    plain = _import(client, hr, data, dry_run=True)
    assert plain["people"]["deactivated"] == 1
    assert {e["task_id"] for e in plain["effects"]} == {mine["id"], theirs["id"]}

    done, _before = _dry_then_apply(client, session, data, deactivate_missing=True)
    assert done["people"]["deactivated"] == 2
    by_action = {(e["action"], e["instance_id"]): e for e in done["effects"]}
    assert set(by_action) == {("reassign", mine["instance_id"]), ("cancel_instance", theirs["instance_id"])}
    moved = by_action["reassign", mine["instance_id"]]
    assert (moved["task_id"], moved["from"], moved["to"]) == (mine["id"], [LEAD], [CEO])
    assert by_action["cancel_instance", theirs["instance_id"]]["task_id"] is None

    assert ceo.task("approve_goals", EMPLOYEE)["id"] == mine["id"]
    session.rollback()
    session.expire_all()
    cancelled = session.get(Instance, theirs["instance_id"])
    assert cancelled.status == "cancelled"
    assert session.get(Task, theirs["id"]).status == "cancelled"
    assert session.get(Instance, mine["instance_id"]).lanes["manager"] == [CEO]
    assert not session.scalar(select(Person).where(Person.email == OTHER)).active
    # the leaver's token no longer works
    assert client.get("/api/tasks", headers=lead.headers).status_code == 401


def test_an_hr_partner_change_moves_hr_lane_tasks(client, session):
    f.org(session)
    f.launched(session, f.deploy(session), [EMPLOYEE, OTHER])
    good = {"progress": "Shipped the icon set / 完成了图标库", "blockers": ["hiring"], "mood": 4}
    for subject in (EMPLOYEE, OTHER):
        Who(client, session, subject).complete("write_checkin", good)
        Who(client, session, LEAD).complete("respond", {"response": "Thanks", "escalate_to_hr": True}, subject)
    hr = Who(client, session, HR)
    mine = hr.task("hr_follow_up", EMPLOYEE)
    theirs = hr.task("hr_follow_up", OTHER)
    partner = "hr2@initech.test"
    data = _org_csv(
        extra_peers=0,
        change={EMPLOYEE: f"hr_partner_email={partner}"},
        add=(f"B09,Lin Wei,{partner},{CEO},People,HR Partner,en,,true",),
    )
    done, before = _dry_then_apply(client, session, data)
    assert [(e["task_id"], e["action"], e["from"], e["to"]) for e in done["effects"]] == [
        (mine["id"], "reassign", [HR], [partner])
    ]
    after = _holders(session)
    assert after[mine["id"]] == ("open", [partner])
    assert all(after[k] == v for k, v in before.items() if k != mine["id"])
    assert [t["id"] for t in hr.tasks()] == [theirs["id"]]  # gone from the old partner's inbox
    Who(client, session, partner).complete("hr_follow_up", {"action": "Coaching plan"}, EMPLOYEE)


def test_only_hr_imports_and_a_dry_run_saves_no_people(client, session):
    f.org(session)
    data = _org_csv(extra_peers=0, add=(f"N01,新领导,{NEW_LEAD},{CEO},Design,Design Lead,zh-CN,,true",))
    r = client.post(
        "/api/people/import?dry_run=true",
        headers=f.token(session, EMPLOYEE),
        files={"file": ("org.csv", data, "text/csv")},
    )
    assert r.status_code == 403
    dry = _import(client, f.token(session, HR), data, dry_run=True)
    assert dry == {
        "people": {"created": 1, "updated": 0, "unchanged": 5, "deactivated": 0, "errors": []},
        "effects": [],
    }
    session.rollback()
    assert session.scalar(select(Person).where(Person.email == NEW_LEAD)) is None
    assert _import(client, f.token(session, HR), data)["people"]["created"] == 1
