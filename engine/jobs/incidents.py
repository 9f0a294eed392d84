"""Incidents: a job that failed on every attempt is recorded for HR; resolving one runs the job exactly once more."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.core import clock
from engine.core.errors import Conflict, NotFound
from engine.store import db
from engine.store.job_models import Incident
from engine.store.models import Person
from engine.store.transaction import transact

SYSTEM_JOBS = "system:jobs"
MAX_ERROR = 4000


def _error_text(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR]


def failed_for_good(
    *, job: str, args: dict[str, Any], error: BaseException | str, attempts: int, incident_id: int | None = None
) -> int:
    """Record the last failure: a new open incident, or the resolved one reopened when its retry failed too."""
    session = db.new_session()
    try:

        def work() -> int:
            incident = session.get(Incident, incident_id) if incident_id else None
            if incident is None:
                incident = Incident(job=job, args=args, error=_error_text(error), attempts=attempts, status="open")
                session.add(incident)
            else:
                incident.status, incident.error = "open", _error_text(error)
                incident.attempts += attempts
                incident.updated_at = clock.now()
            session.flush()
            audit.record(
                session,
                actor=SYSTEM_JOBS,
                action="incident.opened",
                payload={"incident_id": incident.id, "job": job, "args": args, "attempts": incident.attempts},
            )
            return incident.id

        return transact(session, work)
    finally:
        session.close()


def open_once(session: Session, *, job: str, args: dict[str, Any], error: str, actor: str) -> int:
    """In the caller's transaction: record a failure found outside a job (e.g. a cycle's broken score formula) as
    an open incident for `job(**args)`, or add it to the one already open; resolving it runs that job once."""
    open_ones = session.scalars(select(Incident).where(Incident.job == job, Incident.status == "open"))
    incident = next((i for i in open_ones if i.args == args), None)
    if incident is not None:
        incident.error, incident.attempts, incident.updated_at = _error_text(error), incident.attempts + 1, clock.now()
        return incident.id
    return _open(session, job=job, args=args, error=error, actor=actor).id


def record(session: Session, *, job: str, args: dict[str, Any], error: BaseException | str, actor: str) -> Incident:
    """Open an incident in the caller's transaction, for a failure that a retry would only repeat: a workflow step
    that failed or was stopped by the sandbox (`job` then names the step, e.g. `complete_task`, `instructions`).
    Resolving one that is no registered job only marks it resolved: the fix is a new diagram version or new data."""
    return _open(session, job=job, args=args, error=error, actor=actor)


def _open(session: Session, *, job: str, args: dict[str, Any], error: BaseException | str, actor: str) -> Incident:
    incident = Incident(job=job, args=args, error=_error_text(error), attempts=1, status="open")
    session.add(incident)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="incident.opened",
        instance_id=args.get("instance_id"),
        payload={"incident_id": incident.id, "job": job, "args": args, "attempts": 1},
    )
    return incident


def retried_ok(incident_id: int) -> None:
    session = db.new_session()
    try:

        def work() -> None:
            incident = session.get(Incident, incident_id)
            if incident is not None and incident.status != "resolved":
                incident.status, incident.updated_at = "resolved", clock.now()
                audit.record(session, actor=SYSTEM_JOBS, action="incident.retry_succeeded", payload={"id": incident_id})

        transact(session, work)
    finally:
        session.close()


def list_incidents(session: Session, *, status: str | None = None) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc())
    if status:
        query = query.where(Incident.status == status)
    return list(session.scalars(query))


def resolve(session: Session, *, actor: Person, incident_id: int) -> Incident:
    """Mark the incident as being retried and run its job once more (after commit)."""

    def work() -> Incident:
        incident = session.scalars(
            select(Incident)
            .where(Incident.id == incident_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if incident is None:
            raise NotFound(f"No incident with id {incident_id}.")
        if incident.status != "open":
            raise Conflict(f"This incident is already {incident.status}; nothing was retried.")
        rerun = incident.job in jobs.REGISTRY
        incident.status, incident.updated_at = ("retrying" if rerun else "resolved"), clock.now()
        incident.resolved_by_id, incident.resolved_at = actor.id, clock.now()
        audit.record(
            session,
            actor=actor.email,
            action="incident.resolved",
            payload={"incident_id": incident.id, "job": incident.job, "args": incident.args},
        )
        if rerun:
            jobs.enqueue(session, incident.job, **incident.args, **{jobs.INCIDENT_KEY: incident.id})
        return incident

    return transact(session, work)


def view(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "job": incident.job,
        "args": incident.args,
        "error": incident.error,
        "attempts": incident.attempts,
        "status": incident.status,
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "resolved_at": _iso(incident.resolved_at),
    }


def _iso(value: Any) -> str | None:
    v = clock.as_utc(value)
    return v.isoformat() if v else None
