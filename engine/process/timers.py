"""Timers and the tick. After every save the waiting BPMN timers are projected into `timer` rows with `run_at`
(process/runtime.py); the tick — sent by Celery beat, or run by `reviewflow serve`'s ticker thread — queues a fire
job for each due row, the reminder scan, unsent outbox rows, and what features add (engine/process/hooks.py
`tick_work`: launch chunks whose claim expired). Firing a timer is a step handed to the core transaction."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import CycleSettingsBroken, WorkflowFailed
from engine.core.settings import get_settings
from engine.process import hooks, kernel
from engine.process.kernel import Change
from engine.store.models import Instance, Outbox, Timer
from engine.store.transaction import lock_instance, transact

log = logging.getLogger(__name__)
SYSTEM_TIMERS = "system:timers"
OUTBOX_BATCH = 100


@jobs.job
def tick(session: Session) -> dict[str, int]:
    """Queue everything whose time has come; returns how many of each were queued."""
    now = clock.now()
    stale = now - timedelta(seconds=get_settings().lock_seconds)

    def work() -> dict[str, int]:
        due = list(
            session.execute(
                select(Timer.id, Timer.instance_id).where(
                    Timer.run_at <= now,
                    or_(Timer.enqueued_at.is_(None), Timer.enqueued_at < stale),
                    # a timer whose step failed waits for HR to resolve its incident, not for the next tick
                    Timer.instance_id.not_in(select(Instance.id).where(Instance.status == "failed")),
                )
            ).all()
        )
        if due:
            session.execute(update(Timer).where(Timer.id.in_([d.id for d in due])).values(enqueued_at=now))
        instances = sorted({d.instance_id for d in due})
        for instance_id in instances:
            jobs.enqueue(session, "fire_timer", instance_id=instance_id)
        jobs.enqueue(session, "send_reminders")
        # rows whose after-commit send never happened (a crash between commit and dispatch) or whose claim expired
        keys = list(
            session.scalars(
                select(Outbox.dedupe_key)
                .where(
                    Outbox.sent_at.is_(None),
                    Outbox.created_at < stale,
                    or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
                )
                .order_by(Outbox.id)
                .limit(OUTBOX_BATCH * 20)
            )
        )
        for start in range(0, len(keys), OUTBOX_BATCH):
            jobs.enqueue(session, "send_outbox", keys=keys[start : start + OUTBOX_BATCH])
        return {"timers": len(instances), "outbox": len(keys), **hooks.run_tick_work(session, now)}

    queued = transact(session, work)
    try:
        audit.checkpoint(session)  # anchor the audit head on a schedule too (a commit's own checkpoint may be lost)
    except Exception:  # noqa: BLE001 - the timers above are queued; `audit verify` shows the unanchored rows
        log.exception("could not write the scheduled audit checkpoint")
    return queued


@jobs.job
def fire_timer(session: Session, *, instance_id: int) -> bool:
    """Fire the due timers of one instance; False when none is due any more (fired already, or moved on)."""

    def step(change: Change) -> bool:
        due = list(
            session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.run_at <= clock.now()))
        )
        if not due:
            change.nothing()
            return False
        wf = change.wf
        spiff.fire_timers(wf)
        if not spiff.transitions(change.before, spiff.snapshot(wf)):
            change.nothing()
            return False
        change.event("timer.fired", {"timers": sorted({t.name for t in due})})
        return True

    def failed(exc: WorkflowFailed | CycleSettingsBroken) -> None:
        if isinstance(exc, WorkflowFailed):  # permanent: the job runner opens the incident at once, and the
            _mark_failed(session, instance_id, exc)  # tick leaves the instance alone until HR resolves it

    return kernel.advance(session, instance_id, step, actor=SYSTEM_TIMERS, on_failure=failed)


def _mark_failed(session: Session, instance_id: int, exc: WorkflowFailed) -> None:
    """The fire rolled back (nothing saved is lost); the instance is marked failed so the tick leaves it alone."""

    def work() -> None:
        instance = lock_instance(session, instance_id)
        instance.status, instance.updated_at = "failed", clock.now()
        audit.record(
            session,
            actor=SYSTEM_TIMERS,
            action="workflow.failed",
            cycle_id=instance.cycle_id,
            instance_id=instance.id,
            payload={"during": "timer", "detail": exc.detail, "errors": exc.errors},
        )

    transact(session, work)


def start_ticker(interval: float | None = None) -> threading.Thread:
    """Embedded mode: a daemon thread that dispatches `tick` every `interval` seconds (default `tick_seconds`)."""
    every = interval or get_settings().tick_seconds
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                jobs.dispatch("tick", {})
            except Exception:  # the ticker must outlive a bad tick
                log.exception("tick failed")

    thread = threading.Thread(target=loop, name="reviewflow-ticker", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def run_due(session: Session) -> dict[str, Any]:
    """One tick run in the caller's thread with inline jobs — for tests and `reviewflow tick`."""
    return tick(session)
