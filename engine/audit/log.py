"""The audit log: append events to a keyed hash chain inside the caller's transaction, anchor its head outside the
database, and verify both.

Each row's `hash` is HMAC-SHA256(audit key, prev_hash || canonical row) — a MAC of the row and, through
`prev_hash`, of every row before it. Rows written before the key existed (seq < `keyed_from`, see
engine/audit/anchor.py) keep their plain sha256 and are checked the old way. After every commit that appended
events, and on every tick, a signed checkpoint of the head is appended to the checkpoint folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from engine.audit import anchor, personal
from engine.audit.anchor import AuditKey, AuditKeyMissing
from engine.audit.chain import GENESIS, canonical_json, newest_row, row_hash, row_mac
from engine.audit.verify import (
    CHECKPOINT,
    EDITED,
    FORGED,
    MISSING,
    RECHAINED,
    RELINKED,
    REWRITTEN,
    STRAY,
    TRUNCATED,
    WIPED,
    Verdict,
    verify,
)
from engine.core import clock
from engine.core.settings import get_settings
from engine.store.db import WRITE
from engine.store.models import AuditEvent
from engine.store.privacy_models import AuditPersonal

__all__ = [
    "CHECKPOINT",
    "EDITED",
    "FORGED",
    "GENESIS",
    "MISSING",
    "RECHAINED",
    "RELINKED",
    "REWRITTEN",
    "STRAY",
    "TRUNCATED",
    "WIPED",
    "AuditKeyMissing",
    "Event",
    "Verdict",
    "append",
    "canonical_json",
    "checkpoint",
    "prepare",
    "record",
    "row_hash",
    "row_mac",
    "verify",
]

log = logging.getLogger(__name__)
_PG_LOCK_KEY = 7_260_410_001  # advisory lock serialising appends to the one chain
_PENDING = "rf_audit_head"  # session.info: the head this transaction appended, checkpointed after commit
_keys: dict[tuple[str | None, str], AuditKey] = {}  # by (key file setting, database url)


@dataclass
class Event:
    """An event to record; refs are ids, `payload` any JSON-able dict."""

    action: str
    payload: dict[str, Any]
    cycle_id: int | None = None
    instance_id: int | None = None
    task_id: int | None = None
    definition_id: int | None = None


# --- the key ----------------------------------------------------------------------------------------------------


def forget_keys() -> None:
    """Drop the keys cached by this process (tests; a restored key file)."""
    _keys.clear()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _signing_key(session: Session) -> AuditKey:
    """The audit key (cached per process), created on first use when the log has never been signed."""
    settings = get_settings()
    where = (settings.audit_key_file, settings.database_url)
    key = _keys.get(where)
    if key is None:
        path = anchor.key_path()
        key = anchor.read_key(path)
        if key is None:
            _lock_chain(session)
            key = _first_key(session, path)
        _keys[where] = key
    return key


def _first_key(session: Session, path: Path) -> AuditKey:
    """With the chain locked: the key another process created meanwhile, else a new one, else AuditKeyMissing."""
    created_meanwhile = anchor.read_key(path)  # it held the lock, created the key, and may have appended already
    if created_meanwhile is not None:
        return created_meanwhile
    head = newest_row(session)
    if anchor.checkpoint_files():
        raise anchor.key_missing(path, f"is missing, but checkpoints signed with it are in {anchor.checkpoint_dir()}")
    if head is not None and row_hash(head.prev_hash, head) != head.hash:
        raise anchor.key_missing(
            path, f"is missing, but the audit log's newest event (seq {head.seq}) was signed with it"
        )
    # a new database, or one whose events all predate the key: they stay unkeyed, signed rows start after them
    key = anchor.create_key(path, keyed_from=(head.seq + 1) if head else 1)
    if head is None:
        anchor.write_checkpoint(key, seq=0, hash=GENESIS, why="key created", sync=True)
    else:
        anchor.write_checkpoint(key, seq=head.seq, hash=head.hash, why="key created", sync=True)
    return key


def prepare(session: Session) -> AuditKey:
    """At start (`init`, `serve`): load the audit key, or create it on a log never signed; AuditKeyMissing else."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE: True})
    try:
        return _signing_key(session)
    finally:
        session.rollback()


# --- appending --------------------------------------------------------------------------------------------------


def append(session: Session, *, actor: str, events: list[Event]) -> list[AuditEvent]:
    """Append events at the head of the chain, in the caller's transaction (committed with the change)."""
    if not actor:
        raise ValueError("an audit event needs an actor")
    if not events:
        return []
    _lock_chain(session)
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    key = _signing_key(session)
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    at = clock.now()
    rows = []
    as_person = personal.person_actor(session, actor)
    for ev in events:
        seq += 1
        chained, values = personal.seal(key, seq, ev.payload)
        chained_actor, kept_actor = personal.seal_actor(key, seq, actor, as_person)
        if kept_actor is not None:
            values[personal.ACTOR_PATH] = kept_actor
        row = AuditEvent(
            seq=seq,
            at=at,
            actor=chained_actor,
            action=ev.action,
            cycle_id=ev.cycle_id,
            instance_id=ev.instance_id,
            task_id=ev.task_id,
            definition_id=ev.definition_id,
            payload=canonical_json(chained),
            prev_hash=prev,
        )
        session.add_all(AuditPersonal(seq=seq, path=path, value=value) for path, value in values.items())
        row.hash = prev = row_mac(key, row.prev_hash, row) if seq >= key.keyed_from else row_hash(row.prev_hash, row)
        session.add(row)
        rows.append(row)
    session.flush()
    _checkpoint_after_commit(session, key, seq, prev)
    return rows


def record(session: Session, *, actor: str, action: str, payload: dict[str, Any], **refs: int | None) -> None:
    """Append a single event."""
    append(session, actor=actor, events=[Event(action=action, payload=payload, **refs)])


def _checkpoint_after_commit(session: Session, key: AuditKey, seq: int, hash: str) -> None:
    session.info[_PENDING] = (key, seq, hash)
    if not session.info.get("rf_audit_hooked"):
        session.info["rf_audit_hooked"] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)
        event.listen(session, "after_transaction_end", _after_end)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the real commit is still to come
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    key, seq, hash = pending
    try:
        anchor.write_checkpoint(key, seq=seq, hash=hash, why="commit")
    except OSError as exc:  # committed already: the next tick writes the checkpoint this one missed
        log.error("could not write the audit checkpoint for seq %d to %s: %s", seq, anchor.checkpoint_dir(), exc)


def _after_rollback(session: Session, _previous: Any) -> None:
    # also for a savepoint: its rows are gone and which head remains is unknown here; the next tick anchors it
    session.info.pop(_PENDING, None)


def _after_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # closed without a commit: nothing of it may be checkpointed later
        session.info.pop(_PENDING, None)


def checkpoint(session: Session) -> anchor.Checkpoint | None:
    """On the tick: anchor the current head, after checking every row since this host's last checkpoint.

    Writes nothing (and logs an error) when the log no longer extends that checkpoint — a checkpoint must never
    bless a truncated, edited or forged log. Returns the checkpoint written, or None."""
    if session.in_transaction():
        session.commit()
    try:
        key = _signing_key(session)
        head = newest_row(session)
        last = anchor.latest_own(key)
        if head is None or (last is not None and head.seq == last.seq and head.hash == last.hash):
            return None
        start = last.seq if last is not None and last.seq > 0 else 0
        problem = _check_range(session, key, start, last.hash if last is not None and start else GENESIS)
        if problem:
            log.error("audit log: %s; no checkpoint written — run `reviewflow audit verify`", problem)
            return None
        return anchor.write_checkpoint(key, seq=head.seq, hash=head.hash, why="tick", sync=True)
    finally:
        session.rollback()


def _check_range(session: Session, key: AuditKey, start: int, start_hash: str) -> str:
    """Rows after `start` must link to `start_hash` and to each other, each with a good MAC (or legacy hash)."""
    if start:
        row = session.get(AuditEvent, start)
        if row is None or row.hash != start_hash:
            return f"event {start}, anchored by the last checkpoint, is gone or changed"
    prev, expected = start_hash, start + 1
    for row in session.scalars(select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)):
        good = row_mac(key, prev, row) if row.seq >= key.keyed_from else row_hash(prev, row)
        if row.seq != expected or row.prev_hash != prev or row.hash != good:
            return f"event {expected} is missing or does not verify"
        prev, expected = row.hash, expected + 1
    return ""
