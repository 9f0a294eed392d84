"""The audit log: append events to a sha256 chain inside the caller's transaction, and verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK_KEY = 7_260_410_001  # advisory lock serialising appends to the one chain


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stamp(at: datetime) -> str:
    value = clock.as_utc(at)
    assert value is not None
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    body = canonical_json(
        {
            "seq": row.seq,
            "at": _stamp(row.at),
            "actor": row.actor,
            "action": row.action,
            "cycle_id": row.cycle_id,
            "instance_id": row.instance_id,
            "task_id": row.task_id,
            "definition_id": row.definition_id,
            "payload": row.payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass
class Event:
    """An event to record; refs are ids, `payload` any JSON-able dict."""

    action: str
    payload: dict[str, Any]
    cycle_id: int | None = None
    instance_id: int | None = None
    task_id: int | None = None
    definition_id: int | None = None


def append(session: Session, *, actor: str, events: list[Event]) -> list[AuditEvent]:
    """Append events at the head of the chain, in the caller's transaction (committed with the change)."""
    if not actor:
        raise ValueError("an audit event needs an actor")
    if not events:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    at = clock.now()
    rows = []
    for ev in events:
        seq += 1
        row = AuditEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=ev.action,
            cycle_id=ev.cycle_id,
            instance_id=ev.instance_id,
            task_id=ev.task_id,
            definition_id=ev.definition_id,
            payload=canonical_json(ev.payload),
            prev_hash=prev,
        )
        row.hash = prev = row_hash(row.prev_hash, row)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def record(session: Session, *, actor: str, action: str, payload: dict[str, Any], **refs: int | None) -> None:
    """Append a single event."""
    append(session, actor=actor, events=[Event(action=action, payload=payload, **refs)])


@dataclass
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(session: Session, *, batch: int = 5000) -> Verdict:
    """Walk the chain in seq order; the first row whose seq, link or hash is off is named."""
    expected_seq, prev, checked = 1, GENESIS, 0
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return Verdict(ok=True, checked=checked)
        for row in rows:
            if row.seq != expected_seq:
                return Verdict(False, checked, expected_seq, f"row {expected_seq} is missing")
            if row.prev_hash != prev:
                return Verdict(False, checked, row.seq, "the link to the previous row is broken")
            if row_hash(prev, row) != row.hash:
                return Verdict(False, checked, row.seq, "the row's content does not match its hash")
            prev, expected_seq, last = row.hash, expected_seq + 1, row.seq
            checked += 1
        for row in rows:
            session.expunge(row)
