"""The migration dropping the unused instance columns (`error`, `serializer_version`) goes up and down on SQLite and
PostgreSQL with an instance in the table: the row survives both ways, and going back gives the older code the
columns it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from engine.store.schema import alembic_config

REVISION = "0006"  # this migration (its down revision is looked up, so re-chaining at merge keeps the test true)
DROPPED = {"error", "serializer_version"}


def _run(engine: Engine, action: str, target: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("instance")}


@pytest.mark.both_dbs
def test_unused_instance_columns_go_and_come_back_with_the_rows_kept(db_engine: Engine):
    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    assert not DROPPED & _columns(db_engine)
    _run(db_engine, "downgrade", before)
    assert DROPPED <= _columns(db_engine)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db_engine.begin() as conn:  # what the older code wrote
        conn.execute(
            text(
                "INSERT INTO definition (key, version, name, digest, has_scripts, lanes, warnings, deployed_at) "
                "VALUES ('k', 1, 'K', 'd', :f, '[]', '[]', :at)"
            ),
            {"f": False, "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO cycle (name, definition_id, participants, settings, status, launch_problems, created_at) "
                "VALUES ('C', (SELECT id FROM definition), '[]', '{}', 'active', '[]', :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO instance (cycle_id, kind, definition_id, status, state, serializer_version, lanes, "
                "error, version, created_at, updated_at) VALUES ((SELECT id FROM cycle), 'calibration', "
                "(SELECT id FROM definition), 'failed', '{}', '1.4', '{}', NULL, 1, :at, :at)"
            ),
            {"at": at},
        )

    _run(db_engine, "upgrade", "head")

    assert not DROPPED & _columns(db_engine)
    with db_engine.begin() as conn:
        assert conn.execute(text("SELECT kind, status FROM instance")).one() == ("calibration", "failed")

    _run(db_engine, "downgrade", before)

    assert DROPPED <= _columns(db_engine)
    defaults = {c["name"]: c["default"] for c in inspect(db_engine).get_columns("instance")}
    assert defaults["serializer_version"] is None  # the filler default is gone: the 0005 schema again
    with db_engine.begin() as conn:
        row = conn.execute(text("SELECT status, serializer_version, error FROM instance")).one()
        assert row == ("failed", "", None)
        # the older code inserts without the server default the downgrade used to fill the old rows
        conn.execute(
            text(
                "INSERT INTO instance (cycle_id, kind, definition_id, status, state, serializer_version, lanes, "
                "version, created_at, updated_at) VALUES ((SELECT id FROM cycle), 'review', "
                "(SELECT id FROM definition), 'running', '{}', '1.4', '{}', 1, :at, :at)"
            ),
            {"at": at},
        )
    _run(db_engine, "upgrade", "head")
    assert not DROPPED & _columns(db_engine)
