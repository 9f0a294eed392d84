"""Bulk launch: the participants of a cycle are split into chunks; each chunk is one job and one transaction on the
workers. Idempotent at every level — unique (cycle, number) chunks, unique (cycle, subject) instances, and a chunk
claim that expires so a chunk whose worker died is picked up again — and per-person failures are kept on the chunk
without stopping the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.audit.log import Event
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import NotFound, ReviewflowError
from engine.core.settings import get_settings
from engine.process import hooks, runtime
from engine.review import cycles
from engine.store.job_models import LaunchChunk
from engine.store.models import Cycle, Instance, Person
from engine.store.transaction import transact

SYSTEM_LAUNCHER = cycles.SYSTEM_LAUNCHER
STOPS_PER_CHUNK = 3  # people whose start the sandbox stopped before the rest of the chunk is left for a new launch


def lock_cycle(session: Session, cycle_id: int) -> Cycle:
    # FOR NO KEY UPDATE: chunks inserting instances hold KEY SHARE on the cycle row (the foreign key) while they
    # wait for the audit chain's lock; a plain FOR UPDATE here would deadlock with them.
    cycle = session.scalars(
        select(Cycle)
        .where(Cycle.id == cycle_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if cycle is None:
        raise NotFound(f"No cycle with id {cycle_id}.", detail_zh=f"没有编号为 {cycle_id} 的评估周期。")
    return cycle


@jobs.job
def launch_cycle(session: Session, *, cycle_id: int) -> None:
    """Split the participants without an instance (and not in a pending chunk) into new chunks; queue every pending
    chunk. Running it again resumes a launch and never duplicates anything."""

    def work() -> None:
        cycle = lock_cycle(session, cycle_id)
        people = [p.id for p in cycles.population(session, cycle.participants)]
        chunks = list(session.scalars(select(LaunchChunk).where(LaunchChunk.cycle_id == cycle_id)))
        pending = {pid for c in chunks if c.status == "pending" for pid in c.person_ids}
        have = set(session.scalars(select(Instance.subject_id).where(Instance.cycle_id == cycle_id)))
        todo = [pid for pid in people if pid not in have and pid not in pending]
        size = max(1, get_settings().launch_chunk_size)
        number = max((c.number for c in chunks), default=0)
        for start in range(0, len(todo), size):
            number += 1
            part = todo[start : start + size]
            chunk = LaunchChunk(cycle_id=cycle_id, number=number, person_ids=part, size=len(part), status="pending")
            session.add(chunk)
            chunks.append(chunk)
        session.flush()
        open_chunks = [c.number for c in chunks if c.status == "pending"]
        for n in open_chunks:
            jobs.enqueue(session, "launch_chunk", cycle_id=cycle_id, number=n)
        if not open_chunks:
            _finish(session, cycle)

    transact(session, work)


def _claim(session: Session, cycle_id: int, number: int) -> list[int] | None:
    """Take the chunk for `lock_seconds`; None when it is done or another worker holds a live claim."""

    def work() -> list[int] | None:
        chunk = session.scalars(
            select(LaunchChunk)
            .where(LaunchChunk.cycle_id == cycle_id, LaunchChunk.number == number)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        now = clock.now()
        if chunk is None or chunk.status != "pending":
            return None
        until = clock.as_utc(chunk.locked_until)
        if until is not None and until > now:
            return None
        chunk.locked_until = now + timedelta(seconds=get_settings().lock_seconds)
        chunk.attempts += 1
        return list(chunk.person_ids)

    return transact(session, work)


@jobs.job
def launch_chunk(session: Session, *, cycle_id: int, number: int) -> None:
    """Start the instances of one chunk in one transaction (a savepoint per person, one audit append)."""
    person_ids = _claim(session, cycle_id, number)
    if person_ids is None:
        return

    def work() -> None:
        chunk = session.scalars(
            select(LaunchChunk)
            .where(LaunchChunk.cycle_id == cycle_id, LaunchChunk.number == number)
            .execution_options(populate_existing=True)
        ).one()
        if chunk.status != "pending":
            return
        cycle = cycles.get_cycle(session, cycle_id)
        have = set(
            session.scalars(
                select(Instance.subject_id).where(Instance.cycle_id == cycle_id, Instance.subject_id.in_(person_ids))
            )
        )
        people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        events: list[Event] = []
        failures: list[dict[str, Any]] = []
        started = stops = 0
        for pid in person_ids:
            if pid in have:
                continue
            person = people.get(pid)
            if stops >= STOPS_PER_CHUNK:  # do not hold the transaction for one budget per person
                problem = f"not started: the diagram's code was stopped for {stops} people before; launch again"
                failures.append({"person_id": pid, "email": person.email if person else None, "problem": problem})
                continue
            mark = len(events)
            savepoint = session.begin_nested()
            try:
                if person is None:
                    raise ReviewflowError(f"Person {pid} no longer exists.")
                runtime.start_instance(session, cycle=cycle, subject=person, actor=SYSTEM_LAUNCHER, audit_batch=events)
                savepoint.commit()
                started += 1
            except SQLAlchemyError:
                raise  # a database conflict: the whole chunk is retried
            except Exception as exc:  # noqa: BLE001 - one person's problem must not stop the others
                savepoint.rollback()
                del events[mark:]
                stops += spiff.stopped(exc)
                detail = exc.detail if isinstance(exc, ReviewflowError) else f"{type(exc).__name__}: {exc}"
                failures.append({"person_id": pid, "email": person.email if person else None, "problem": detail})
        audit.append(session, actor=SYSTEM_LAUNCHER, events=events)
        chunk.status, chunk.started, chunk.failures, chunk.done_at = "done", started, failures, clock.now()
        session.flush()
        _finish(session, lock_cycle(session, cycle_id))

    try:
        transact(session, work)
    except Exception:
        _release(session, cycle_id, number)  # the job's retry may take the chunk at once
        raise


def _release(session: Session, cycle_id: int, number: int) -> None:
    def work() -> None:
        chunk = session.scalars(
            select(LaunchChunk).where(LaunchChunk.cycle_id == cycle_id, LaunchChunk.number == number)
        ).first()
        if chunk is not None and chunk.status == "pending":
            chunk.locked_until = None

    transact(session, work)


def _finish(session: Session, cycle: Cycle) -> None:
    """When no chunk is pending: the cycle is active and its launch problems are those of people still without an
    instance. The caller holds the cycle row lock, so exactly one finisher sees the last chunk done."""
    pending = session.scalar(
        select(func.count())
        .select_from(LaunchChunk)
        .where(LaunchChunk.cycle_id == cycle.id, LaunchChunk.status == "pending")
    )
    if pending:
        return
    have = set(session.scalars(select(Instance.subject_id).where(Instance.cycle_id == cycle.id)))
    latest: dict[int, dict[str, Any]] = {}
    for chunk in session.scalars(
        select(LaunchChunk).where(LaunchChunk.cycle_id == cycle.id).order_by(LaunchChunk.number)
    ):
        for failure in chunk.failures or []:
            if failure.get("person_id") not in have:
                latest[failure["person_id"]] = {"email": failure.get("email"), "problem": failure.get("problem")}
    cycle.launch_problems = list(latest.values())
    if cycle.status == "launching":
        cycle.status = "active"
        audit.record(
            session,
            actor=SYSTEM_LAUNCHER,
            action="cycle.launched",
            cycle_id=cycle.id,
            payload={"population": progress(session, cycle.id)["total"], "failed": len(latest)},
        )


def progress(session: Session, cycle_id: int) -> dict[str, Any]:
    """How far a launch has come: participants in chunks, started (instances), failed (people whose start failed and
    who still have no instance), chunks done."""
    rows = session.execute(
        select(LaunchChunk.status, LaunchChunk.size, LaunchChunk.person_ids, LaunchChunk.failures).where(
            LaunchChunk.cycle_id == cycle_id
        )
    ).all()
    have = set(session.scalars(select(Instance.subject_id).where(Instance.cycle_id == cycle_id)))
    failed = {f.get("person_id") for r in rows for f in (r.failures or [])} - have
    return {
        "total": len({pid for r in rows for pid in r.person_ids}),
        "started": len(have),
        "failed": len(failed),
        "chunks": len(rows),
        "chunks_done": sum(1 for r in rows if r.status == "done"),
    }


def stale_chunks(session: Session, now: Any = None) -> list[tuple[int, int]]:
    """(cycle id, number) of pending chunks nobody holds a live claim on (never claimed or the claim expired)."""
    now = now or clock.now()
    grace = now - timedelta(seconds=get_settings().lock_seconds)
    rows = session.execute(
        select(LaunchChunk.cycle_id, LaunchChunk.number).where(
            LaunchChunk.status == "pending",
            or_(
                LaunchChunk.locked_until < now,
                (LaunchChunk.locked_until.is_(None)) & (LaunchChunk.created_at < grace),
            ),
        )
    ).all()
    return [(r[0], r[1]) for r in rows]


@hooks.tick("launch_chunks")
def requeue_stale_chunks(session: Session, now: Any) -> dict[str, int]:
    """On every tick: queue again the launch chunks whose claim expired (a worker died holding them)."""
    chunks = stale_chunks(session, now)
    for cycle_id, number in chunks:
        jobs.enqueue(session, "launch_chunk", cycle_id=cycle_id, number=number)
    return {"chunks": len(chunks)}
