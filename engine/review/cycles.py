"""Review cycles: create for a population, check before launch, launch (one instance per person), count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.core import clock
from engine.core.errors import InvalidInput, NotFound
from engine.org import scope
from engine.org.people import normalize_email
from engine.process import definitions, hooks, lanes
from engine.review import cycle_settings
from engine.store.models import Cycle, Instance, Person, Task
from engine.store.transaction import transact, transactional

SYSTEM_LAUNCHER = "system:launcher"


def population(session: Session, participants: Any) -> list[Person]:
    base = select(Person).where(Person.active, Person.employee).order_by(Person.id)
    if participants == "all":
        return list(session.scalars(base))
    if isinstance(participants, dict) and all(isinstance(participants.get(k), list) for k in ("departments", "emails")):
        # departments plus people added while the cycle ran (engine/ops/participants.py)
        both = population(session, {"departments": participants["departments"]})
        both += population(session, {"emails": participants["emails"]})
        return sorted({p.id: p for p in both}.values(), key=lambda p: p.id)
    if isinstance(participants, dict) and isinstance(participants.get("departments"), list):
        wanted = [d for d in participants["departments"] if isinstance(d, str)]
        found = list(session.scalars(base.where(Person.department.in_(wanted))))
        missing = sorted(set(wanted) - {p.department for p in found})
        if missing:
            raise InvalidInput(
                f"No active employees in department(s): {', '.join(missing)}.",
                errors=[{"path": "participants/departments", "message": f"unknown: {d}"} for d in missing],
            )
        return found
    if isinstance(participants, dict) and isinstance(participants.get("emails"), list):
        emails = [normalize_email(e) if isinstance(e, str) else "" for e in participants["emails"]]
        found = list(session.scalars(base.where(Person.email.in_([e for e in emails if e]))))
        missing = [
            raw for raw, e in zip(participants["emails"], emails, strict=True) if e not in {p.email for p in found}
        ]
        if missing:
            raise InvalidInput(
                f"Not active employees: {', '.join(map(str, missing))}.",
                errors=[{"path": "participants/emails", "message": f"unknown: {m}"} for m in missing],
            )
        return found
    raise InvalidInput(
        'participants must be "all", {"departments": [...]} or {"emails": [...]}.',
        errors=[{"path": "participants", "message": "unsupported value"}],
    )


@transactional
def create_cycle(
    session: Session, *, actor: Person, name: str, definition: Any, participants: Any, settings: Any = None
) -> Cycle:
    """A draft cycle pinned to a definition version (the latest unless one is named)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A cycle needs a name.", errors=[{"path": "name", "message": "required"}])
    if isinstance(definition, dict):
        found = definitions.get(session, str(definition.get("key")), definition.get("version"))
    elif isinstance(definition, str):
        found = definitions.get(session, definition)
    else:
        raise InvalidInput(
            'definition must be a key or {"key", "version"}.', errors=[{"path": "definition", "message": "required"}]
        )
    clean_settings = cycle_settings.validate(settings)
    people = population(session, participants)
    if not people:
        raise InvalidInput(
            "Nobody would take part in this cycle.", errors=[{"path": "participants", "message": "empty"}]
        )
    cycle = Cycle(
        name=name.strip(),
        definition_id=found.id,
        participants=participants,
        settings=clean_settings,
        status="draft",
        created_by_id=actor.id,
    )
    session.add(cycle)
    session.flush()
    audit.record(
        session,
        actor=actor.email,
        action="cycle.created",
        cycle_id=cycle.id,
        definition_id=found.id,
        payload={
            "name": cycle.name,
            "definition": {"key": found.key, "version": found.version},
            "participants": participants,
            "population": len(people),
        },
    )
    return cycle


def get_cycle(session: Session, cycle_id: int) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"No cycle with id {cycle_id}.", detail_zh=f"没有编号为 {cycle_id} 的评估周期。")
    return cycle


def preflight(session: Session, *, cycle_id: int) -> dict[str, Any]:
    """Per person what would block the launch, and how many tasks each reviewer would get first; creates nothing."""
    cycle = get_cycle(session, cycle_id)
    people = population(session, cycle.participants)
    used = cycle.definition.lanes or []
    problems: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    load: dict[str, int] = {}
    uses_hr = any(lanes.norm(lane) == lanes.HR for lane in used)
    for person in people:
        lane_map = lanes.freeze(session, person, cycle.settings or {})
        found = lanes.problems_for(lane_map, used)
        if found:
            problems.append({"email": person.email, "name": person.name, "problems": found})
        elif uses_hr and not (person.hr_partner and person.hr_partner.active):
            warnings.append(
                {
                    "email": person.email,
                    "name": person.name,
                    "warnings": ["no HR partner: the HR admins will share the HR steps"],
                }
            )
        for lane in used:
            for email in lane_map.get(lanes.norm(lane), []):
                if email != person.email:
                    load[email] = load.get(email, 0) + 1
    notes = hooks.preflight(session, cycle=cycle, people=people)
    listed = {w["email"]: w for w in warnings}
    for note in notes.values():
        for person in people:
            extra = (note.get("warnings") or {}).get(person.email)
            if not extra:
                continue
            if person.email in listed:
                listed[person.email]["warnings"].extend(extra)
            else:
                listed[person.email] = {"email": person.email, "name": person.name, "warnings": list(extra)}
                warnings.append(listed[person.email])
    return {
        "cycle_id": cycle.id,
        "population": len(people),
        "ready": len(people) - len(problems),
        "calibration": None,  # a feature's summary (calibration: groups, ungrouped) replaces it below
        **{name: found.get("summary") for name, found in notes.items()},
        "problems": problems,
        "warnings": warnings,
        "load": [{"email": e, "reviews": n} for e, n in sorted(load.items(), key=lambda x: -x[1])],
    }


def launch(session: Session, *, actor: Person, cycle_id: int) -> Cycle:
    """Mark the cycle launching and queue the launch job (one instance per person, in the background)."""

    def work() -> Cycle:
        cycle = get_cycle(session, cycle_id)
        if cycle.status == "draft":
            cycle.status, cycle.launched_at = "launching", clock.now()
            audit.record(session, actor=actor.email, action="cycle.launch_requested", cycle_id=cycle.id, payload={})
        # chunked on the workers (engine/review/launch.py); a repeat launch resumes and never duplicates
        jobs.enqueue(session, "launch_cycle", cycle_id=cycle.id)
        return cycle

    return transact(session, work)


def counts(session: Session, cycle_id: int, subjects: scope.Subjects = None) -> dict[str, int]:
    """Instances by status, open and overdue tasks; `subjects` counts only those people's reviews (org/scope.py)."""
    in_scope = (Instance.cycle_id == cycle_id, scope.only(Instance.subject_id, subjects))
    rows = dict(
        session.execute(select(Instance.status, func.count()).where(*in_scope).group_by(Instance.status)).all()
    )
    open_q = (
        select(func.count())
        .select_from(Task)
        .join(Instance, Instance.id == Task.instance_id)
        .where(*in_scope, Task.status == "open")
    )
    cancelled = rows.pop("cancelled", 0)  # kept, read only (engine/ops/cancel.py): counted apart from the rest
    open_q = open_q.where(Instance.status != "cancelled")
    return {
        "instances": sum(rows.values()),
        "running": rows.get("running", 0) + rows.get("waiting", 0),
        "completed": rows.get("completed", 0),
        "failed": rows.get("failed", 0),
        "open_tasks": session.scalar(open_q) or 0,
        "overdue": session.scalar(open_q.where(Task.due_at < clock.now())) or 0,
        "cancelled": cancelled,
    }
