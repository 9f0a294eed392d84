"""The outbox: notifications are rows written in the same transaction as the change that causes them, and a
`send_outbox` job (queued for after the commit; the tick re-queues anything left behind) delivers them. A
rolled-back transaction leaves no row and queues no job, so it sends nothing. Each row is claimed before
delivery (the claim expires, so a dead sender's rows are taken over) and marked sent afterwards."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, jobs
from engine.models import Outbox
from engine.settings import get_settings
from engine.transaction import transact

log = logging.getLogger(__name__)
WEBHOOK = "webhook"


class DeliveryFailed(Exception):
    """Some rows could not be delivered; the job is retried (sent rows are skipped) and finally an incident."""


def add(session: Session, *, kind: str, dedupe_key: str, payload: dict[str, Any]) -> None:
    """Write a notification in the caller's transaction; it is sent after the commit (one job per commit)."""
    session.add(Outbox(kind=kind, dedupe_key=dedupe_key, payload=payload))
    jobs.enqueue_batched(session, "send_outbox", "keys", dedupe_key)


def _claim(session: Session, key: str) -> Outbox | None:
    def work() -> Outbox | None:
        row = session.scalars(
            select(Outbox)
            .where(Outbox.dedupe_key == key)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        now = clock.now()
        claimed = clock.as_utc(row.claimed_until) if row is not None else None
        if row is None or row.sent_at is not None or (claimed is not None and claimed > now):
            return None
        row.claimed_until = now + timedelta(seconds=get_settings().lock_seconds)
        row.attempts += 1
        return row

    return transact(session, work)


@jobs.job
def send_outbox(session: Session, *, keys: list[str]) -> int:
    """Deliver the named outbox rows that nobody else is delivering; returns how many were sent."""
    from engine.notify import mail, webhooks

    sent, failed = 0, []
    for key in keys:
        row = _claim(session, key)
        if row is None:
            continue
        follow_ups: list[tuple[str, dict[str, Any]]] = []
        try:
            if row.kind == WEBHOOK:
                webhooks.deliver(row.payload)
            else:
                event = mail.deliver(session, row)
                follow_ups = [(hook.name, event) for hook in get_settings().webhooks] if event else []
        except Exception as exc:  # noqa: BLE001 - recorded on the row; the job retries
            log.warning("outbox %s not delivered: %s", key, exc)
            _release(session, row.id, f"{type(exc).__name__}: {exc}")
            failed.append(key)
            continue
        _mark_sent(session, row.id, follow_ups)
        sent += 1
    if failed:
        raise DeliveryFailed(f"{len(failed)} notification(s) not delivered: {', '.join(failed[:5])}")
    return sent


def _release(session: Session, row_id: int, error: str) -> None:
    def work() -> None:
        row = session.get(Outbox, row_id, populate_existing=True)
        if row is not None:
            row.claimed_until, row.last_error = None, error[:2000]

    transact(session, work)


def _mark_sent(session: Session, row_id: int, follow_ups: list[tuple[str, dict[str, Any]]]) -> None:
    def work() -> None:
        row = session.get(Outbox, row_id, populate_existing=True)
        if row is None:
            return
        row.sent_at, row.claimed_until, row.last_error = clock.now(), None, None
        for hook, event in follow_ups:
            add(session, kind=WEBHOOK, dedupe_key=f"{WEBHOOK}:{hook}:{row.id}", payload={"hook": hook, "event": event})

    transact(session, work)
