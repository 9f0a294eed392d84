"""The audit chain: every change leaves events; the database refuses edits; verify names the first bad row."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine import audit
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


def test_rehashing_an_edited_row_still_breaks_the_next_link(session):
    _world(session)
    from engine.models import AuditEvent

    forged = session.get(AuditEvent, 8)
    session.expunge(forged)  # a detached copy: what the attacker computes offline
    forged.actor = "mallory@initech.test"
    forged.hash = audit.row_hash(forged.prev_hash, forged)
    _as_superuser(session, "UPDATE audit_event SET actor = :a, hash = :h WHERE seq = 8", a=forged.actor, h=forged.hash)
    verdict = audit.verify(session)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 9)


def test_an_event_needs_an_actor(session):
    with pytest.raises(ValueError):
        audit.record(session, actor="", action="x", payload={})
