"""The core transaction through the use-case functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.bpmn import spiff
from engine.core.errors import Conflict, FormInvalid, NotFound
from engine.process import runtime
from engine.store import db
from engine.store.models import AuditEvent, Instance, Task
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, LEAD = "designer1@initech.test", "design.lead@initech.test"


def open_tasks(session, email: str) -> list[Task]:
    from engine.queries import views

    session.rollback()  # end the read snapshot
    session.expire_all()
    person = f.people.by_email(session, email)
    return [session.get(Task, t["id"]) for t in views.list_tasks(session, actor=person, status="open")]


def test_checkin_runs_to_completion_with_one_audit_event_per_change(session):
    people = f.org(session)
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE])
    assert cycle.status == "active"
    [mine] = open_tasks(session, EMPLOYEE)
    assert (mine.name, mine.lane) == ("write_checkin", "Employee")

    with pytest.raises(FormInvalid) as bad:
        runtime.complete_task(session, task_id=mine.id, actor=people[EMPLOYEE], data={"progress": "ok"})
    assert {e["path"] for e in bad.value.errors} == {"progress", "blockers", "mood"}
    assert open_tasks(session, EMPLOYEE)[0].id == mine.id  # nothing moved

    nxt = runtime.complete_task(
        session,
        task_id=mine.id,
        actor=people[EMPLOYEE],
        data={"progress": "Shipped the icons / 完成了图标库", "blockers": [], "mood": 4},
    )
    assert [t.name for t in nxt] == ["respond"]
    with pytest.raises(Conflict):
        runtime.complete_task(
            session,
            task_id=mine.id,
            actor=people[EMPLOYEE],
            data={"progress": "again and again", "blockers": [], "mood": 4},
        )
    [respond] = open_tasks(session, LEAD)
    runtime.complete_task(
        session, task_id=respond.id, actor=people[LEAD], data={"response": "Let us find help", "escalate_to_hr": True}
    )
    [hr_task] = open_tasks(session, f.HR)
    assert hr_task.name == "hr_follow_up"
    runtime.complete_task(session, task_id=hr_task.id, actor=people[f.HR], data={"action": "Mentor found"})
    instance = session.get(Instance, mine.instance_id)
    session.refresh(instance)
    assert instance.status == "completed"
    assert not open_tasks(session, EMPLOYEE) and not open_tasks(session, LEAD)

    actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id))]
    assert actions.count("task.completed") == 3 and actions.count("instance.started") == 1
    done = [
        json.loads(e.payload)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "task.state", AuditEvent.instance_id == instance.id)
        )
    ]
    assert {(d["element"], d["to"]) for d in done} >= {
        ("write_checkin", "COMPLETED"),
        ("respond", "COMPLETED"),
        ("hr_follow_up", "COMPLETED"),
        ("end_hr", "COMPLETED"),
    }
    assert audit.verify(session).ok


def test_only_the_assignee_completes_and_others_learn_nothing(session):
    people = f.org(session)
    f.launched(session, f.deploy(session), [EMPLOYEE])
    [mine] = open_tasks(session, EMPLOYEE)
    good = {"progress": "Finished the migration", "blockers": [], "mood": 3}
    with pytest.raises(NotFound):
        runtime.complete_task(session, task_id=mine.id, actor=people["designer2@initech.test"], data=good)
    with pytest.raises(NotFound):
        runtime.complete_task(session, task_id=999_999, actor=people[EMPLOYEE], data=good)
    assert open_tasks(session, EMPLOYEE)[0].status == "open"


def _race(n: int, action) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        with db.new_session() as s:
            barrier.wait()
            try:
                results[i] = action(s, i)
            except Exception as exc:  # noqa: BLE001 - the assertion looks at the type
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_simultaneous_completions_give_one_success_and_one_conflict(session):
    f.org(session)
    f.launched(session, f.deploy(session), [EMPLOYEE])
    [mine] = open_tasks(session, EMPLOYEE)
    version_before = session.get(Instance, mine.instance_id).version

    def complete(s, i):
        actor = f.people.by_email(s, EMPLOYEE)
        return runtime.complete_task(
            s, task_id=mine.id, actor=actor, data={"progress": f"attempt number {i}", "blockers": [], "mood": 4}
        )

    results = _race(2, complete)
    assert sum(isinstance(r, list) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    session.rollback()  # end the read snapshot
    session.expire_all()
    assert session.get(Instance, mine.instance_id).version == version_before + 1
    completed = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "task.completed", AuditEvent.task_id == mine.id)
    )
    assert completed == 1
    assert len(open_tasks(session, LEAD)) == 1


def test_twenty_parallel_peer_submissions_to_one_instance_all_land(session):
    n = 20
    people = f.org(session, extra_peers=n)
    cycle = f.launched(session, f.deploy(session, f.PEERS), [EMPLOYEE])
    [nominate] = open_tasks(session, EMPLOYEE)
    peers = [f"peer{i}@initech.test" for i in range(n)]
    runtime.complete_task(session, task_id=nominate.id, actor=people[EMPLOYEE], data={"peers": peers})
    tasks = {email: open_tasks(session, email) for email in peers}
    assert all(len(t) == 1 and t[0].name == "give_feedback" for t in tasks.values())

    def give(s, i):
        email = peers[i]
        return runtime.complete_task(
            s,
            task_id=tasks[email][0].id,
            actor=f.people.by_email(s, email),
            data={"rating": 1 + i % 5, "comment": f"feedback from peer {i}"},
        )

    results = _race(n, give)
    assert all(isinstance(r, list) for r in results), [r for r in results if not isinstance(r, list)]
    session.rollback()  # end the read snapshot
    session.expire_all()
    [summary] = open_tasks(session, LEAD)
    assert summary.name == "summarize"
    instance = session.scalar(select(Instance).where(Instance.cycle_id == cycle.id))
    wf = spiff.load(instance.state, f.definitions.spec_of(session, instance.definition))
    [ready] = spiff.ready_tasks(wf)
    comments = sorted(item["comment"] for item in ready.data["feedback"])
    assert comments == sorted(f"feedback from peer {i}" for i in range(n))
    assert audit.verify(session).ok


def test_a_failing_step_after_a_form_keeps_the_answers_and_the_task(session):
    from engine.core.errors import WorkflowFailed
    from engine.process import definitions
    from tests.engine.bpmn.test_scripts import SCRIPTED

    people = f.org(session)
    diagram = SCRIPTED.replace("CODE", "ratio = 1 / 0").encode()
    definition, _ = definitions.deploy(session, actor=people[f.DESIGNER], files=[("s.bpmn", diagram)])
    f.launched(session, definition, [EMPLOYEE])
    [task] = open_tasks(session, EMPLOYEE)
    with pytest.raises(WorkflowFailed) as failed:
        runtime.complete_task(session, task_id=task.id, actor=people[EMPLOYEE], data={})
    assert "calc" in failed.value.detail and "kept as a draft" in failed.value.detail
    [still] = open_tasks(session, EMPLOYEE)
    assert (still.id, still.status, still.draft) == (task.id, "open", {})
    actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.task_id == task.id))]
    assert "workflow.failed" in actions and "task.completed" not in actions
    assert audit.verify(session).ok
