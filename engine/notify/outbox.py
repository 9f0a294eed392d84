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

from engine import jobs
from engine.core import clock
from engine.core.settings import get_settings
from engine.notify import mail, webhooks
from engine.store.models import Outbox
from engine.store.transaction import transact

log = logging.getLogger(__name__)
WEBHOOK = "webhook"


class DeliveryFailed(Exception):
    """Some rows could not be delivered; the job is retried (sent rows are skipped) and finally an incident."""


def add(session: Session, *, kind: str, dedupe_key: str, payload: dict[str, Any]) -> None:
    """Write a notification in the caller's transaction; it is sent after the commit (one job per commit)."""
    session.add(Outbox(kind=kind, dedupe_key=dedupe_key, payload=payload))
    jobs.enqueue_batched(session, "send_outbox", "keys", dedupe_key)


def _claim(session: Session, keys: list[str]) -> list[Outbox]:
    """Take the unsent rows among `keys` that nobody holds a live claim on, for `lock_seconds` (one transaction)."""

    def work() -> list[Outbox]:
        now = clock.now()
        rows = session.scalars(
            select(Outbox)
            .where(Outbox.dedupe_key.in_(keys), Outbox.sent_at.is_(None))
            .order_by(Outbox.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()
        taken = []
        for row in rows:
            claimed = clock.as_utc(row.claimed_until)
            if claimed is not None and claimed > now:
                continue
            row.claimed_until = now + timedelta(seconds=get_settings().lock_seconds)
            row.attempts += 1
            taken.append(row)
        return taken

    return transact(session, work)


@jobs.job
def send_outbox(session: Session, *, keys: list[str]) -> int:
    """Deliver the named outbox rows that nobody else is delivering; returns how many were sent."""
    sent: list[tuple[int, list[tuple[str, dict[str, Any]]]]] = []
    failed = []
    for row in _claim(session, keys):
        try:
            if row.kind == WEBHOOK:
                webhooks.deliver(row.payload)
                follow_ups: list[tuple[str, dict[str, Any]]] = []
            else:
                event = mail.deliver(session, row)
                follow_ups = [(hook.name, event) for hook in get_settings().webhooks] if event else []
        except Exception as exc:  # noqa: BLE001 - recorded on the row; the job retries
            log.warning("outbox %s not delivered: %s", row.dedupe_key, exc)
            _release(session, row.id, f"{type(exc).__name__}: {exc}")
            failed.append(row.dedupe_key)
            continue
        sent.append((row.id, follow_ups))
    session.rollback()  # end the read snapshot of the rendering
    if sent:
        _mark_sent(session, sent)
    if failed:
        raise DeliveryFailed(f"{len(failed)} notification(s) not delivered: {', '.join(failed[:5])}")
    return len(sent)


def _release(session: Session, row_id: int, error: str) -> None:
    def work() -> None:
        row = session.get(Outbox, row_id, populate_existing=True)
        if row is not None:
            row.claimed_until, row.last_error = None, error[:2000]

    transact(session, work)


def _mark_sent(session: Session, sent: list[tuple[int, list[tuple[str, dict[str, Any]]]]]) -> None:
    def work() -> None:
        now = clock.now()
        for row_id, follow_ups in sent:
            row = session.get(Outbox, row_id, populate_existing=True)
            if row is None:
                continue
            row.sent_at, row.claimed_until, row.last_error = now, None, None
            for hook, event in follow_ups:
                key = f"{WEBHOOK}:{hook}:{row.id}"
                add(session, kind=WEBHOOK, dedupe_key=key, payload={"hook": hook, "event": event})

    transact(session, work)
