"""Deliver BPMN messages to running instances (HR releasing results, calibration handing back results),
each delivery one core transaction like every other change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.audit.log import Event
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import ReviewflowError
from engine.process import definitions
from engine.process.runtime import project, transition_events
from engine.review.cycles import get_cycle
from engine.store.models import Instance, Person
from engine.store.transaction import lock_instance, transact

RESULTS_RELEASED = "results_released"


def deliver(
    session: Session,
    *,
    instance_id: int,
    message: str,
    payload: dict[str, Any],
    actor: str,
    variables: dict[str, Any] | None = None,
) -> bool:
    """Deliver `message` to one instance if it is waiting for it; False (and no change) otherwise. `variables` are
    engine-kept values the path ahead must see (e.g. a calibrated `final_overall`)."""

    def work() -> bool:
        instance = lock_instance(session, instance_id)
        definitions.spec_of(session, instance.definition_id)
        wf = spiff.load(instance.state)
        before = spiff.snapshot(wf)
        if not spiff.deliver(wf, message, payload):
            return False
        if variables:
            spiff.inject(wf, variables)
        instance.state, instance.updated_at = spiff.dump(wf), clock.now()
        refs = {"cycle_id": instance.cycle_id, "instance_id": instance.id}
        events = [Event("message.delivered", {"message": message, "payload": payload}, **refs)]
        events += transition_events(instance, before, spiff.snapshot(wf))
        projected = project(session, instance, wf)
        audit.append(session, actor=actor, events=events + projected)
        return True

    return transact(session, work)


def release_results(session: Session, *, actor: Person, cycle_id: int) -> dict[str, Any]:
    """Release a cycle's results: every instance waiting for them moves on to acknowledgement."""
    get_cycle(session, cycle_id)
    ids = list(
        session.scalars(
            select(Instance.id).where(Instance.cycle_id == cycle_id, Instance.kind == "review").order_by(Instance.id)
        )
    )
    released, waiting_elsewhere, failed = 0, 0, []
    for instance_id in ids:
        try:
            if deliver(
                session,
                instance_id=instance_id,
                message=RESULTS_RELEASED,
                payload={"released_by": actor.email},
                actor=actor.email,
            ):
                released += 1
            else:
                waiting_elsewhere += 1
        except ReviewflowError as exc:
            failed.append({"instance_id": instance_id, "problem": exc.detail})
    return {"cycle_id": cycle_id, "released": released, "not_waiting": waiting_elsewhere, "failed": failed}
