"""The job layer across processes: real `reviewflow worker` subprocesses on Redis, PostgreSQL shared with this test.
No eager mode; time is never slept on — every wait polls a database condition with a deadline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.core import clock
from engine.org import people
from engine.process import definitions, timers
from engine.review import cycles, launch
from engine.store.job_models import Incident, ReminderSent
from engine.store.models import AuditEvent, Instance, Outbox, Task
from tests import factories as f
from tests.jobs.conftest import wait_for

pytestmark = pytest.mark.pg_only
JOBS_DATA = Path(__file__).parent / "data"
N = 300


def _instances(session, cycle_id: int) -> tuple[int, int]:
    session.rollback()
    total = session.scalar(select(func.count()).select_from(Instance).where(Instance.cycle_id == cycle_id))
    distinct = session.scalar(
        select(func.count(func.distinct(Instance.subject_id))).where(Instance.cycle_id == cycle_id)
    )
    return total or 0, distinct or 0


def _status(session, cycle_id: int) -> str:
    session.rollback()
    session.expire_all()
    return cycles.get_cycle(session, cycle_id).status


def _new_cycle(session, definition, monkeypatch, chunk: int, workers) -> int:
    monkeypatch.setenv("REVIEWFLOW_LAUNCH_CHUNK_SIZE", str(chunk))
    workers.env["REVIEWFLOW_LAUNCH_CHUNK_SIZE"] = str(chunk)
    from engine.core.settings import get_settings

    get_settings.cache_clear()
    hr = people.by_email(session, f.HR)
    c = cycles.create_cycle(session, actor=hr, name="Q4", definition=definition.key, participants="all")
    return c.id


def test_bulk_launch_through_a_real_worker_once_per_person_with_failures_named(session, workers, monkeypatch):
    everyone = f.org(session, extra_peers=N)
    definition = f.deploy(session)
    cycle_id = _new_cycle(session, definition, monkeypatch, chunk=40, workers=workers)
    workers.start()
    hr = everyone[f.HR]
    cycles.launch(session, actor=hr, cycle_id=cycle_id)
    cycles.launch(session, actor=hr, cycle_id=cycle_id)  # a double click: the second resumes, creates nothing
    wait_for(lambda: _status(session, cycle_id) == "active", timeout=120, what=f"cycle active\n{workers.logs()}")

    population = len(everyone)  # every imported person is an employee
    blocked = sorted(p["email"] for p in cycles.preflight(session, cycle_id=cycle_id)["problems"])
    assert "ceo@initech.test" in blocked  # the CEO has no manager
    total, distinct = _instances(session, cycle_id)
    cycle = cycles.get_cycle(session, cycle_id)
    # the blocked people are named with the reason; nobody else was held up
    assert sorted(p["email"] for p in cycle.launch_problems) == blocked
    assert all(p["problem"] for p in cycle.launch_problems)
    assert total == distinct == population - len(blocked)
    progress = launch.progress(session, cycle_id)
    assert progress == {
        "total": population,
        "started": population - len(blocked),
        "failed": len(blocked),
        "chunks": progress["chunks"],
        "chunks_done": progress["chunks"],
    }
    assert progress["chunks"] >= 8  # 305 people in chunks of 40 (a double click may add a retry chunk)

    cycles.launch(session, actor=hr, cycle_id=cycle_id)  # launching again later: the failed person is retried
    chunks = progress["chunks"]

    def retried():
        p = launch.progress(session, cycle_id)
        return p["chunks"] > chunks and p["chunks_done"] == p["chunks"]

    wait_for(retried, what="the retry chunk")
    assert _instances(session, cycle_id) == (total, total)
    session.rollback()
    opened = session.scalar(select(func.count()).select_from(Task).where(Task.status == "open"))
    assert opened == total  # one first task each, no duplicate from any repeat


def test_a_launch_runs_the_same_on_rabbitmq(session, rabbit_workers, monkeypatch):
    """Scale-out on RabbitMQ instead of Redis: same jobs, same result — one instance per person, progress complete."""
    everyone = f.org(session, extra_peers=60)
    cycle_id = _new_cycle(session, f.deploy(session), monkeypatch, chunk=20, workers=rabbit_workers)
    rabbit_workers.start()
    cycles.launch(session, actor=everyone[f.HR], cycle_id=cycle_id)
    wait_for(lambda: _status(session, cycle_id) == "active", what=f"cycle active\n{rabbit_workers.logs()}")
    total, distinct = _instances(session, cycle_id)
    progress = launch.progress(session, cycle_id)
    assert total == distinct == progress["started"] == len(everyone) - progress["failed"]
    assert progress["chunks_done"] == progress["chunks"] >= 4  # 65 people in chunks of 20


def test_a_worker_killed_mid_launch_is_replaced_and_everyone_has_exactly_one_instance(session, workers, monkeypatch):
    f.org(session, extra_peers=N)
    definition = f.deploy(session)
    cycle_id = _new_cycle(session, definition, monkeypatch, chunk=10, workers=workers)
    first = workers.start()
    cycles.launch(session, actor=people.by_email(session, f.HR), cycle_id=cycle_id)
    wait_for(lambda: _instances(session, cycle_id)[0] > 0, what="the first instances")
    workers.kill9(first)
    killed_at = _instances(session, cycle_id)[0]
    assert killed_at < N, "the launch finished before the kill; make the population larger"

    workers.start(beat=True)  # the replacement; its beat re-queues chunks whose claim expired
    wait_for(lambda: _status(session, cycle_id) == "active", timeout=120, what=f"relaunch\n{workers.logs()}")
    total, distinct = _instances(session, cycle_id)
    blocked = cycles.preflight(session, cycle_id=cycle_id)["problems"]
    assert total == distinct == N + 5 - len(blocked)
    session.rollback()
    started_events = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "instance.started")
    )
    assert started_events == total  # the killed worker's uncommitted chunk left no trace


def test_an_always_failing_job_ends_as_one_incident_and_resolving_retries_once(session, workers, client):
    f.org(session)
    workers.start()
    jobs.dispatch("fire_timer", {"instance_id": 987654})  # no such instance: fails on every attempt
    incident = wait_for(
        lambda: session.rollback() or session.scalars(select(Incident)).first(), what=f"incident\n{workers.logs()}"
    )
    assert (incident.job, incident.args, incident.attempts, incident.status) == (
        "fire_timer",
        {"instance_id": 987654},
        3,
        "open",
    )
    assert "No instance with id 987654" in incident.error

    hr = f.token(session, f.HR)
    listed = client.get("/api/incidents", headers=hr).json()["items"]
    assert [i["id"] for i in listed] == [incident.id]
    assert client.get("/api/incidents", headers=f.token(session, "designer1@initech.test")).status_code == 403
    answer = client.post(f"/api/incidents/{incident.id}/resolve", headers=hr)
    assert answer.status_code == 202 and answer.json()["status"] == "retrying"

    def reopened():
        session.rollback()
        session.expire_all()
        row = session.get(Incident, incident.id)
        return row if row is not None and row.status == "open" else None

    again = wait_for(reopened, what="the one retry")
    assert again.attempts == 4  # three attempts, then exactly one more
    assert session.scalar(select(func.count()).select_from(Incident)) == 1


def test_a_timer_due_in_the_past_fires_once(session, workers, monkeypatch):
    everyone = f.org(session)
    hr = everyone[f.HR]
    jobs.set_mode("inline")  # start the instance here, eight days ago by our clock: its 7-day timer is overdue now
    clock.set_now(clock.now() - timedelta(days=8))
    definition = definitions.deploy(session, actor=hr, files=f.files("timed_checkin.bpmn", base=JOBS_DATA))[0]
    cycle = f.launched(session, definition, ["designer1@initech.test"])
    clock.set_now(None)
    jobs.set_mode("celery")
    workers.start()
    assert timers.tick(session)["timers"] == 1
    assert timers.tick(session)["timers"] == 0  # already on its way: not queued twice

    def chased():
        session.rollback()
        return session.scalars(select(Task).where(Task.name == "chase")).all()

    wait_for(chased, what=f"the timer's path\n{workers.logs()}")
    timers.tick(session)
    wait_for(lambda: session.rollback() or _queue_empty(workers), what="the queue to drain")
    assert len(chased()) == 1
    session.rollback()
    fired = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer.fired"))
    assert fired == 1
    write = session.scalars(select(Task).where(Task.name == "write")).one()
    assert write.status == "cancelled"
    assert cycle.id


def _queue_empty(workers) -> bool:
    """Nothing waiting on our queue and nothing of ours taken but not yet acknowledged."""
    import redis

    r = redis.Redis.from_url(workers.env["REVIEWFLOW_BROKER_URL"])
    queue = workers.env["REVIEWFLOW_QUEUE"]
    return r.llen(queue) == 0 and not any(queue.encode() in v for v in r.hvals("unacked"))


def test_reminders_under_two_workers_go_out_once_per_task_and_number(session, smtp, workers):
    f.org(session, extra_peers=20)
    definition = f.deploy(session)
    jobs.set_mode("inline")
    # opened 9.5 days ago, due in 10 days: the 1-day reminder is due now (the 7-day one is past and skipped)
    clock.set_now(clock.now() - timedelta(days=9, hours=12))
    emails = [f"peer{i}@initech.test" for i in range(20)]
    f.launched(session, definition, emails, settings={"due": {"write_checkin": "P10D"}})
    clock.set_now(None)
    session.rollback()
    smtp.messages.clear()  # the assignment mails went out at launch
    jobs.set_mode("celery")
    workers.start()
    workers.start()
    for _ in range(4):  # four scans racing on two workers
        jobs.dispatch("send_reminders", {})

    def all_sent():
        session.rollback()
        rows = session.scalars(select(Outbox).where(Outbox.kind == "task.reminder")).all()
        return len(rows) == 20 and all(r.sent_at for r in rows) and _queue_empty(workers)

    wait_for(all_sent, what=f"20 reminders sent\n{workers.logs()}")
    sent = session.scalars(select(ReminderSent)).all()
    assert sorted((r.number, r.kind) for r in sent) == [(2, "reminder")] * 20
    reminders = [m for m in smtp.messages if "reminder" in m["Subject"].lower()]
    assert sorted(m["To"] for m in reminders) == sorted(emails)  # exactly one mail each
    assert all("is due tomorrow" in m["Subject"] for m in reminders)
