"""Can this process carry on every unfinished instance? Load each (or a sample of each diagram version), check that
its open tasks match the inbox and that a step would run, without saving anything.

A server whose code or diagrams cannot load and step a stored instance would accept answers and then lose them, or
leave a review waiting for ever; `reviewflow serve` runs this first and refuses to start, naming the instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import spiff
from engine.core.errors import ReviewflowError
from engine.process import definitions
from engine.store.models import Definition, Instance, Task

UNFINISHED = ("running", "waiting")


@dataclass
class Problem:
    instance_id: int
    cycle_id: int | None
    subject: str | None
    definition: str
    message: str

    def line(self) -> str:
        who = f", {self.subject}" if self.subject else ""
        return f"instance {self.instance_id} ({self.definition}, cycle {self.cycle_id}{who}): {self.message}"


@dataclass
class Report:
    unfinished: int = 0
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)


def _chosen(session: Session, sample: int | None) -> list[int]:
    """Ids to check: all unfinished instances, or per diagram version the `sample` oldest and newest changed."""
    unfinished = select(Instance.id).where(Instance.status.in_(UNFINISHED))
    if sample is None:
        return list(session.scalars(unfinished.order_by(Instance.id)))
    chosen: set[int] = set()
    versions = session.scalars(select(Instance.definition_id).where(Instance.status.in_(UNFINISHED)).distinct())
    for definition_id in list(versions):
        of_version = unfinished.where(Instance.definition_id == definition_id)
        chosen.update(session.scalars(of_version.order_by(Instance.updated_at.desc(), Instance.id).limit(sample)))
        chosen.update(session.scalars(of_version.order_by(Instance.updated_at, Instance.id).limit(sample)))
    return sorted(chosen)


def check_instance(session: Session, instance: Instance) -> str | None:
    """What stops this process from carrying `instance` on, or None."""
    try:
        spec = definitions.spec_of(session, instance.definition_id)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        return f"its diagram no longer parses with this version of Reviewflow: {_text(exc)}"
    try:
        wf = spiff.load(instance.state, spec)
    except Exception as exc:  # noqa: BLE001
        return f"its saved state cannot be loaded: {_text(exc)}"
    unwired = spiff.unwired_loops(wf)
    if unwired:
        return f"answers to {', '.join(unwired)} would not be collected (multi-instance not wired)"
    ready = {t.spiff_id for t in spiff.ready_tasks(wf)}
    shown = set(
        session.scalars(select(Task.spiff_id).where(Task.instance_id == instance.id, Task.status == "open"))
    )
    if ready != shown:
        return (
            f"its open tasks no longer match the workflow: {len(ready - shown)} waiting in the workflow without an "
            f"inbox entry, {len(shown - ready)} in the inbox that the workflow no longer has"
        )
    try:
        spiff.run_engine(spiff.load(spiff.dump(wf), spec))  # a dry step on a copy; nothing is saved
    except Exception as exc:  # noqa: BLE001
        return f"it cannot be stepped: {_text(exc)}"
    return None


def _text(exc: Exception) -> str:
    detail = exc.detail if isinstance(exc, ReviewflowError) else str(exc)
    return f"{type(exc).__name__}: {detail}"[:300]


def check_instances(
    session: Session, *, sample: int | None = 20, progress: Callable[[int, int], None] | None = None
) -> Report:
    """Check unfinished instances (every one when `sample` is None); read only."""
    report = Report(unfinished=session.query(Instance).filter(Instance.status.in_(UNFINISHED)).count())
    ids = _chosen(session, sample)
    for done, instance_id in enumerate(ids, start=1):
        instance = session.get(Instance, instance_id)
        if instance is not None:
            message = check_instance(session, instance)
            if message:
                definition = session.get(Definition, instance.definition_id)
                report.problems.append(
                    Problem(
                        instance_id=instance.id,
                        cycle_id=instance.cycle_id,
                        subject=instance.subject.email if instance.subject else None,
                        definition=f"{definition.key} v{definition.version}" if definition else "?",
                        message=message,
                    )
                )
            report.checked += 1
        if progress:
            progress(done, len(ids))
    session.rollback()
    return report
