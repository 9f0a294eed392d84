"""The audit chain: every change leaves events; the database refuses edits; verify names the first bad row."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import audit
from engine.audit import anchor as audit_anchor
from engine.audit import log as audit_log
from engine.core import clock
from engine.process import timers
from engine.store.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.both_dbs


def _world(session) -> int:
    f.org(session)
    f.launched(session, f.deploy(session), ["designer1@initech.test", "designer2@initech.test"])
    n = session.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    assert n >= 10
    return n


def _as_superuser(session, sql: str, **params) -> None:
    """What an attacker with full database rights does: switch the insert-only protection off, then edit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        for name in (
            session.execute(text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_event'"))
            .scalars()
            .all()
        ):
            session.execute(text(f'DROP TRIGGER "{name}"'))
    session.execute(text(sql), params)
    session.commit()


def test_intact_chain_verifies(session):
    n = _world(session)
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.checked) == (True, n)
    assert (verdict.problem, verdict.first_bad_seq, verdict.keyed_from, verdict.unkeyed) == (None, None, 1, 0)
    assert (verdict.checkpoint_seq, verdict.unanchored, verdict.notes) == (n, 0, [])


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_event SET actor = 'someone' WHERE seq = 3", "DELETE FROM audit_event WHERE seq = 3"]
)
def test_the_database_refuses_to_change_audit_rows(session, sql):
    _world(session)
    session.commit()
    with pytest.raises(DBAPIError, match="insert-only"):
        session.execute(text(sql))
    session.rollback()
    assert audit.verify(session).ok


def test_edited_payload_is_named(session):
    _world(session)
    _as_superuser(session, "UPDATE audit_event SET payload = :p WHERE seq = 7", p='{"tampered":true}')
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 7)


def test_deleted_row_is_named(session):
    _world(session)
    _as_superuser(session, "DELETE FROM audit_event WHERE seq = 5")
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.checked) == (False, 5, 4)


def test_reordered_rows_are_named(session):
    _world(session)
    _as_superuser(session, "UPDATE audit_event SET seq = -1 WHERE seq = 4")
    _as_superuser(session, "UPDATE audit_event SET seq = 4 WHERE seq = 6")
    _as_superuser(session, "UPDATE audit_event SET seq = 6 WHERE seq = -1")
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)


def test_rehashing_an_edited_row_without_the_key_is_named_at_that_row(session):
    _world(session)
    forged = session.get(AuditEvent, 8)
    session.expunge(forged)  # a detached copy: what the attacker computes offline
    forged.actor = "mallory@initech.test"
    forged.hash = audit.row_hash(forged.prev_hash, forged)
    _as_superuser(session, "UPDATE audit_event SET actor = :a, hash = :h WHERE seq = 8", a=forged.actor, h=forged.hash)
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 8, audit.RECHAINED)


def test_an_event_needs_an_actor(session):
    with pytest.raises(ValueError):
        audit.record(session, actor="", action="x", payload={})


# --- the keyed chain and its checkpoints ----------------------------------------------------------------------


def _rechain_without_the_key(session, start: int, **changes) -> None:
    """What someone with the database but not the key does: edit row `start`, recompute every later link."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.seq >= start).order_by(AuditEvent.seq)).all()
    prev = session.get(AuditEvent, start - 1).hash
    for row in rows:
        session.expunge(row)
    for row in rows:
        for name, value in (changes if row.seq == start else {}).items():
            setattr(row, name, value)
        row.prev_hash = prev
        row.hash = prev = audit.row_hash(prev, row)
    _store(session, rows)


def _store(session, rows) -> None:
    _disable_protection(session)
    for row in rows:
        session.execute(
            text("UPDATE audit_event SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
            {"a": row.actor, "p": row.prev_hash, "h": row.hash, "s": row.seq},
        )
    session.commit()


def _disable_protection(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        for name in session.scalars(
            text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_event'")
        ).all():
            session.execute(text(f'DROP TRIGGER "{name}"'))


def _checkpoints() -> list[audit_anchor.Checkpoint]:
    key = audit_anchor.read_key()
    assert key is not None
    scan = audit_anchor.read_checkpoints(key)
    assert scan.invalid == []
    return scan.valid


def _newest_anchor() -> int:
    return max(cp.seq for cp in _checkpoints())


def test_deleting_the_newest_rows_is_named_as_truncation(session):
    n = _world(session)
    _as_superuser(session, "DELETE FROM audit_event WHERE seq > :s", s=n - 3)
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, n - 2, audit.TRUNCATED)
    assert verdict.checked == n - 3 and f"{n - 2}–{n}" in verdict.reason


def test_deleting_every_row_is_named(session):
    _world(session)
    _as_superuser(session, "DELETE FROM audit_event")
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 1, audit.WIPED)
    assert "all of them were deleted" in verdict.reason


def test_editing_then_rechaining_without_the_key_is_named(session):
    _world(session)
    _rechain_without_the_key(session, 5, actor="mallory@initech.test")
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 5, audit.RECHAINED)


def test_a_forged_append_is_named(session):
    n = _world(session)
    head = session.get(AuditEvent, n)
    forged = AuditEvent(
        seq=n + 1,
        at=head.at,
        actor="mallory@initech.test",
        action="rating.changed",
        payload='{"score":5}',
        prev_hash=head.hash,
    )
    forged.hash = audit.row_hash(head.hash, forged)
    session.add(forged)  # an insert: the triggers allow it, only the key is missing
    session.commit()
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, n + 1, audit.FORGED)


def test_rewriting_with_the_key_is_caught_by_the_checkpoints(session):
    _world(session)
    key = audit_anchor.read_key()
    rows = session.scalars(select(AuditEvent).where(AuditEvent.seq >= 5).order_by(AuditEvent.seq)).all()
    prev = session.get(AuditEvent, 4).hash
    for row in rows:
        session.expunge(row)
    rows[0].actor = "mallory@initech.test"
    for row in rows:
        row.prev_hash = prev
        row.hash = prev = audit.row_mac(key, prev, row)
    _store(session, rows)
    verdict = audit.verify(session)
    first_anchor = min(cp.seq for cp in _checkpoints() if cp.seq >= 5)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, first_anchor, audit.REWRITTEN)


def test_tampering_while_the_owner_switched_the_triggers_off_is_named(session):
    _world(session)
    _disable_protection(session)
    session.execute(text("UPDATE audit_event SET payload = :p WHERE seq = 6"), {"p": '{"score":1}'})
    session.commit()
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 6, audit.EDITED)
    assert any("no longer refuses edits" in note for note in verdict.notes)


def test_every_commit_writes_a_signed_checkpoint_of_the_head(session):
    n = _world(session)
    assert _newest_anchor() == n
    audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    assert _newest_anchor() == n  # not committed yet: nothing to anchor
    session.commit()
    newest = max(_checkpoints(), key=lambda cp: cp.seq)
    head = session.get(AuditEvent, n + 1)
    assert (newest.seq, newest.hash, newest.count, newest.why) == (n + 1, head.hash, n + 1, "commit")
    audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    session.rollback()
    audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    session.close()
    assert _newest_anchor() == n + 1  # rolled back or abandoned: never anchored


def test_the_tick_anchors_a_head_whose_commit_left_no_checkpoint(session, monkeypatch):
    n = _world(session)
    real = audit_anchor.write_checkpoint

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_anchor, "write_checkpoint", disk_full)
    audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    session.commit()  # committed; the checkpoint failed (and was logged)
    monkeypatch.setattr(audit_anchor, "write_checkpoint", real)
    assert _newest_anchor() == n
    assert audit.verify(session).unanchored == 1
    timers.tick(session)
    newest = max(_checkpoints(), key=lambda cp: cp.seq)
    assert (newest.seq, newest.why) == (n + 1, "tick")
    assert audit.verify(session).unanchored == 0


def test_the_tick_does_not_anchor_a_truncated_log(session):
    n = _world(session)
    _as_superuser(session, "DELETE FROM audit_event WHERE seq > :s", s=n - 2)
    timers.tick(session)
    assert _newest_anchor() == n
    assert audit.verify(session).problem == audit.TRUNCATED


def test_a_missing_key_file_is_a_clear_error(session):
    _world(session)
    path = audit_anchor.key_path()
    path.unlink()
    audit.forget_keys()
    with pytest.raises(audit.AuditKeyMissing, match="audit key file .* is missing"):
        audit.verify(session)
    with pytest.raises(audit.AuditKeyMissing) as refused:
        audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    assert str(path) in refused.value.detail and "REVIEWFLOW_AUDIT_KEY_FILE" in refused.value.detail
    session.rollback()
    assert not path.exists()  # never silently replaced by a new key


def test_the_key_file_is_created_once_readable_only_by_its_owner(session):
    _world(session)
    path = audit_anchor.key_path()
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    audit.forget_keys()
    audit.record(session, actor="hr@initech.test", action="x.y", payload={})
    session.commit()
    assert path.read_bytes() == before


def test_rows_from_before_the_key_are_checked_the_old_way_and_reported_unkeyed(session):
    # a log written by the release before the key: plain sha256 links, no key file, no checkpoints
    prev = audit.GENESIS
    for seq in range(1, 6):
        row = AuditEvent(
            seq=seq, at=clock.now(), actor="hr@initech.test", action="old.event", payload="{}", prev_hash=prev
        )
        row.hash = prev = audit.row_hash(prev, row)
        session.add(row)
    session.commit()
    assert not audit_anchor.key_path().exists()
    audit.prepare(session)  # the first start of the new release
    assert audit_anchor.read_key().keyed_from == 6
    audit.record(session, actor="hr@initech.test", action="new.event", payload={})
    session.commit()
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.checked, verdict.unkeyed, verdict.keyed_from) == (True, 6, 5, 6)
    old_head, new = session.get(AuditEvent, 5), session.get(AuditEvent, 6)
    assert new.hash != audit.row_hash(old_head.hash, new)  # the new row is signed
    # rewriting the old rows consistently now is caught: the key's first checkpoint anchored their head
    _rechain_without_the_key(session, 2, actor="mallory@initech.test")
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 5, audit.RECHAINED)


def test_a_process_that_waited_for_the_lock_uses_the_key_another_one_just_created(session):
    _world(session)  # another process created the key and appended signed rows while this one waited
    key = audit_anchor.read_key()
    audit_log._lock_chain(session)
    assert audit_log._first_key(session, audit_anchor.key_path()) == key
    session.rollback()
