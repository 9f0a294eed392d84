"""Cancel one review while its cycle runs (HR): the workflow ends without finishing, its open tasks are withdrawn
(the projection marks them `cancelled`, each with an audit event), and the instance is kept read only with status
`cancelled` — out of reports and completion counts, counted apart. One step of the core transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import spiff
from engine.core.errors import Conflict
from engine.ops import assign
from engine.ops.reopen import reason_of
from engine.process import kernel, refusals
from engine.process.kernel import Change
from engine.store.models import Instance, Person

CANCELLED = "cancelled"


def cancel(session: Session, *, actor: Person, instance_id: int, reason: Any, dry_run: bool = False) -> dict[str, Any]:
    """Cancel the instance; a retry on a cancelled one changes nothing. 409 for a review that already ended. With
    `dry_run` the answer (with the open tasks it would withdraw) is a preview; nothing is kept."""
    why = reason_of(reason)
    if session.scalar(select(Instance.id).where(Instance.id == instance_id)) is None:
        raise refusals.instance_not_found(instance_id)

    def step(change: Change) -> dict[str, Any]:
        return cancel_step(change, reason=why)

    return kernel.advance(session, instance_id, step, actor=actor.email, dry_run=dry_run)


def cancel_step(change: Change, *, reason: str, ended: str = "conflict") -> dict[str, Any]:
    """Cancel the locked instance inside a step (HR's cancel, or an org change cancelling a leaver's review). A
    cancelled one is left as it is; one that already ended answers 409, or is left as it is with `ended="skip"`."""
    instance, session = change.instance, change.session
    if instance.status == CANCELLED or (instance.status == "completed" and ended == "skip"):
        change.nothing()
        return {"id": instance.id, "status": instance.status, "tasks_withdrawn": 0, "cancelled": False}
    if instance.status == "completed":
        raise Conflict(
            "This review has already ended; there is nothing to cancel.", detail_zh="该评估已经结束，无需取消。"
        )
    withdrawn = assign.open_tasks(session, instance.id)
    before = instance.status
    spiff.cancel(change.wf)  # the projection then withdraws the open tasks and timers, and sets the status
    change.event(
        "instance.cancelled",
        {
            "reason": reason,
            "subject": instance.subject.email if instance.subject else None,
            "before": {"status": before, "open_tasks": len(withdrawn)},
            "after": {"status": CANCELLED, "open_tasks": 0},
        },
    )
    return {
        "id": instance.id,
        "status": CANCELLED,
        "tasks_withdrawn": len(withdrawn),
        "withdrawn": [
            {"id": t.id, "name": t.name, "title": t.title, "assignees": assign.holders(t)} for t in withdrawn
        ],
        "cancelled": True,
    }
