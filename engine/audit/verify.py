"""Verify the audit log: every row's MAC and link, held against every signed checkpoint; the first bad row is named
with what happened to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.audit import anchor, personal
from engine.audit.chain import GENESIS, newest_row, row_hash, row_mac
from engine.store.models import AuditEvent

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
    redacted: int = 0  # events whose personal values were erased (engine/audit/personal.py)
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
        top = newest_row(session)
        if anchor.checkpoint_files() or (top is not None and row_hash(top.prev_hash, top) != top.hash):
            raise anchor.key_missing(path, "is missing")
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
        if key is not None:
            bad_seq, redacted = personal.check(key, rows, personal.values_for(session, [r.seq for r in rows]))
            if bad_seq is not None:
                return _bad(
                    v, EDITED, bad_seq, "a personal value kept apart from the event no longer matches it (edited)"
                )
            v.redacted += redacted
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
        "(only the table's owner or a superuser can do that). Re-create it (engine/store/migrations/versions/0001) and "
        "find out who switched it off; the chain below says whether rows were changed meanwhile."
    ]
