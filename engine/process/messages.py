"""Deliver a BPMN message to a running instance (HR releasing results, calibration handing back results): one
step handed to the core transaction (engine/process/kernel.py), like every other change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn import spiff
from engine.process import kernel
from engine.process.kernel import Change


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

    def step(change: Change) -> bool:
        if not spiff.deliver(change.wf, message, payload):
            change.nothing()
            return False
        if variables:
            spiff.inject(change.wf, variables)
        change.event("message.delivered", {"message": message, "payload": payload})
        return True

    return kernel.advance(session, instance_id, step, actor=actor)
