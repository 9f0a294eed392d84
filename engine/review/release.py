"""Release a cycle's results: every review waiting for them moves on to the employee's acknowledgement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.errors import ReviewflowError
from engine.process import messages
from engine.review.cycles import get_cycle
from engine.store.models import Instance, Person

RESULTS_RELEASED = "results_released"


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
            if messages.deliver(
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
