"""The audit log: append events to a keyed hash chain inside the caller's transaction, anchor its head outside the
database, and verify both.

Each row's `hash` is HMAC-SHA256(audit key, prev_hash || canonical row) — a MAC of the row and, through
`prev_hash`, of every row before it. Rows written before the key existed (seq < `keyed_from`, see
engine/audit_anchor.py) keep their plain sha256 and are checked the old way. After every commit that appended
events, and on every tick, a signed checkpoint of the head is appended to the checkpoint folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from engine import audit_anchor as anchor
from engine import clock
from engine.audit_anchor import AuditKey, AuditKeyMissing
from engine.models import AuditEvent
from engine.settings import get_settings

__all__ = ["AuditKeyMissing", "Event", "Verdict", "append", "checkpoint", "prepare", "record", "verify"]

log = logging.getLogger(__name__)
GENESIS = "0" * 64
_PG_LOCK_KEY = 7_260_410_001  # advisory lock serialising appends to the one chain
_PENDING = "rf_audit_head"  # session.info: the head this transaction appended, checkpointed after commit
_keys: dict[tuple[str | None, str], AuditKey] = {}  # by (key file setting, database url)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stamp(at: datetime) -> str:
    value = clock.as_utc(at)
    assert value is not None
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def _body(prev_hash: str, row: AuditEvent) -> bytes:
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
    return (prev_hash + body).encode()


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    """The unkeyed link: what rows before the audit key carry, and all anyone without the key can compute."""
    return hashlib.sha256(_body(prev_hash, row)).hexdigest()


def row_mac(key: AuditKey, prev_hash: str, row: AuditEvent) -> str:
    """The keyed link: HMAC-SHA256 with the audit key over the previous hash and the row."""
    return hmac.digest(key.row_key, _body(prev_hash, row), "sha256").hex()


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


def _head(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()


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
    head = _head(session)
    if anchor.checkpoint_files():
        raise anchor._missing(path, f"is missing, but checkpoints signed with it are in {anchor.checkpoint_dir()}")
    if head is not None and row_hash(head.prev_hash, head) != head.hash:
        raise anchor._missing(path, f"is missing, but the audit log's newest event (seq {head.seq}) was signed with it")
    # a new database, or one whose events all predate the key: they stay unkeyed, signed rows start after them
    key = anchor.create_key(path, keyed_from=(head.seq + 1) if head else 1)
    if head is None:
        anchor.write_checkpoint(key, seq=0, hash=GENESIS, why="key created", sync=True)
    else:
        anchor.write_checkpoint(key, seq=head.seq, hash=head.hash, why="key created", sync=True)
    return key


def prepare(session: Session) -> AuditKey:
    """At start (`init`, `serve`): load the audit key, or create it on a log never signed; AuditKeyMissing else."""
    from engine.db import WRITE

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
        head = _head(session)
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


# --- verifying --------------------------------------------------------------------------------------------------

# problem codes, in the order a reader meets them
MISSING = "missing"  # a seq in the middle is gone
RELINKED = "relinked"  # a row's prev_hash is not the previous row's hash (reordered, inserted)
EDITED = "edited"  # a row's content no longer matches its MAC (or, before the key, its hash)
RECHAINED = "rechained"  # the row carries a plain sha256 of its (edited) content: re-chained without the key
FORGED = "forged"  # a row after the newest checkpoint not signed with the key: appended by someone without it
REWRITTEN = "rewritten"  # the row verifies, but a signed checkpoint recorded another hash: rewritten with the key
TRUNCATED = "truncated"  # the log ends before the newest checkpoint's seq
WIPED = "wiped"  # the log is empty but a checkpoint recorded events
STRAY = "stray"  # rows outside the 1..n sequence
CHECKPOINT = "checkpoint_invalid"  # a checkpoint line that does not verify


@dataclass
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    problem: str | None = None  # one of the codes above
    keyed_from: int | None = None  # the first seq signed with the audit key
    unkeyed: int = 0  # rows before the key, checked with the old unkeyed hash
    checkpoint_seq: int | None = None  # the newest checkpoint's head
    checkpoint_at: str | None = None
    unanchored: int = 0  # rows after the newest checkpoint
    notes: list[str] = field(default_factory=list)


def _bad(v: Verdict, problem: str, seq: int | None, reason: str) -> Verdict:
    v.ok, v.problem, v.first_bad_seq, v.reason = False, problem, seq, reason
    return v


def verify(session: Session, *, batch: int = 5000) -> Verdict:
    """Walk the chain in seq order and hold it against the checkpoints; the first bad row is named.

    Raises AuditKeyMissing when the log was signed but the key file is gone."""
    path = anchor.key_path()
    key = anchor.read_key(path)
    v = Verdict(ok=True, checked=0)
    invalid: list[str] = []
    if key is None:
        top = _head(session)
        if anchor.checkpoint_files() or (top is not None and row_hash(top.prev_hash, top) != top.hash):
            raise anchor._missing(path, "is missing")
        keyed_from = (top.seq + 1) if top else 1  # never signed: every row is checked the old way
        v.notes.append(f"No audit key yet ({path}): it is created at the next start or event.")
        checkpoints: dict[int, list[anchor.Checkpoint]] = {}
    else:
        keyed_from = key.keyed_from
        scan = anchor.read_checkpoints(key)
        checkpoints = {}
        for cp in scan.valid:
            checkpoints.setdefault(cp.seq, []).append(cp)
        invalid = scan.invalid
        v.notes.extend(f"checkpoint {bad}" for bad in invalid[:20])
        if not scan.valid:
            v.notes.append(
                f"No checkpoints in {anchor.checkpoint_dir()}: rows deleted from the end cannot be detected."
            )
    v.keyed_from = keyed_from
    v.notes.extend(_protection_notes(session))
    newest = max(checkpoints, default=None)
    if newest is not None:
        v.checkpoint_seq = newest
        v.checkpoint_at = max(cp.at for cp in checkpoints[newest])
    expected_seq, prev, last = 1, GENESIS, 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            seq = row.seq
            if seq != expected_seq:
                return _bad(v, MISSING, expected_seq, f"event {expected_seq} is missing (deleted)")
            if row.prev_hash != prev:
                return _bad(v, RELINKED, seq, "the link to the previous event is broken (reordered or inserted)")
            if seq < keyed_from:
                if row_hash(prev, row) != row.hash:
                    return _bad(v, EDITED, seq, "the event's content does not match its hash (edited)")
                v.unkeyed += 1
            elif key is not None and row_mac(key, prev, row) != row.hash:
                return _bad(v, *_why_unsigned(row, prev, newest))
            for cp in checkpoints.get(seq, ()):
                if cp.hash != row.hash and seq < keyed_from:
                    return _bad(
                        v,
                        RECHAINED,
                        seq,
                        f"the event differs from the checkpoint signed at {cp.at} ({cp.where}): events from before "
                        "the audit key were edited and re-chained after it was created",
                    )
                if cp.hash != row.hash:
                    return _bad(
                        v,
                        REWRITTEN,
                        seq,
                        f"the event differs from the checkpoint signed at {cp.at} ({cp.where}): the log was "
                        "rewritten by someone holding the audit key",
                    )
            prev, expected_seq, last = row.hash, expected_seq + 1, seq
            v.checked += 1
        for row in rows:
            session.expunge(row)
    head = expected_seq - 1
    if newest is not None and newest > head:
        cp = checkpoints[newest][0]
        if head == 0:
            return _bad(
                v,
                WIPED,
                1,
                f"the audit log is empty, but the checkpoint signed at {cp.at} recorded {cp.count} events: "
                "all of them were deleted",
            )
        return _bad(
            v,
            TRUNCATED,
            head + 1,
            f"events {head + 1}–{newest} are gone: the log ends at {head}, but the checkpoint signed at {cp.at} "
            f"recorded {cp.count} events (deleted from the end)",
        )
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    if total != v.checked:
        stray = session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.seq < 1))
        return _bad(v, STRAY, stray, f"{total - v.checked} events sit outside the sequence 1…{head}")
    if invalid:
        return _bad(v, CHECKPOINT, None, f"a checkpoint does not verify: {invalid[0]}")
    v.unanchored = head - newest if newest is not None else head
    return v


def _why_unsigned(row: AuditEvent, prev: str, newest: int | None) -> tuple[str, int, str]:
    if newest is None or row.seq > newest:
        where = f"after the newest checkpoint (seq {newest})" if newest is not None else "with no checkpoint"
        return (
            FORGED,
            row.seq,
            f"the event is not signed with the audit key: added (or changed) {where} by someone without the key "
            "(forged)",
        )
    if row_hash(prev, row) == row.hash:
        return (
            RECHAINED,
            row.seq,
            "the event carries a plain sha256 instead of its MAC: edited and re-chained without the audit key",
        )
    return EDITED, row.seq, "the event's content does not match its MAC (edited)"


_TRIGGERS = {
    "postgresql": {"audit_event_insert_only", "audit_event_no_truncate"},
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
}


def _protection_notes(session: Session) -> list[str]:
    """Whether the database still refuses to change audit rows (the table's owner can switch that off)."""
    dialect = session.get_bind().dialect.name
    expected = _TRIGGERS.get(dialect)
    if not expected:
        return []
    if dialect == "postgresql":
        found = session.execute(
            text(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
            )
        ).all()
        active = {name for name, enabled in found if enabled != "D"}
    else:
        active = set(
            session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"))
        )
    off = sorted(expected - active)
    if not off:
        return []
    return [
        f"The database no longer refuses edits of audit rows: trigger {', '.join(off)} is disabled or dropped "
        "(only the table's owner or a superuser can do that). Re-create it (engine/migrations/versions/0001) and "
        "find out who switched it off; the chain below says whether rows were changed meanwhile."
    ]
