"""The sessions and sign-in limits migration goes up and down on SQLite and PostgreSQL with data in the tables: a
token that never expired gets an expiry, and going back drops what the older code would misread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from engine.store.schema import alembic_config

REVISION = "0005"  # this migration (its down revision is looked up, so re-chaining at merge keeps the test true)


def _run(engine: Engine, action: str, target: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)


@pytest.mark.both_dbs
def test_upgrade_and_downgrade_keep_tokens_sensible(db_engine: Engine):
    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    _run(db_engine, "downgrade", before)
    assert "sign_in_failure" not in inspect(db_engine).get_table_names()
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (email, name, locale, active, employee, created_at, updated_at) "
                "VALUES ('a@x.test', 'A', 'en', :t, :t, :at, :at)"
            ),
            {"t": True, "at": created},
        )
        conn.execute(
            text(
                "INSERT INTO api_token (person_id, token_hash, label, created_at, expires_at) "
                "VALUES ((SELECT id FROM person), 'h1', 'forever', :at, NULL)"
            ),
            {"at": created},
        )

    _run(db_engine, "upgrade", "head")

    columns = {c["name"] for c in inspect(db_engine).get_columns("api_token")}
    assert {"kind", "last_used_at", "revoked_at", "revoked_by"} <= columns
    with db_engine.begin() as conn:
        kind, expires = conn.execute(text("SELECT kind, expires_at FROM api_token")).one()
        assert kind == "api" and expires is not None  # "no expiry" is gone
        conn.execute(
            text(
                "INSERT INTO api_token (person_id, token_hash, label, kind, created_at, expires_at) "
                "VALUES ((SELECT id FROM person), 'h2', 'sign-in', 'session', :at, :at)"
            ),
            {"at": created},
        )
        conn.execute(
            text("INSERT INTO sign_in_failure (email, address, at) VALUES ('a@x.test', '127.0.0.1', :at)"),
            {"at": created},
        )

    _run(db_engine, "downgrade", before)

    assert "sign_in_failure" not in inspect(db_engine).get_table_names()
    assert "kind" not in {c["name"] for c in inspect(db_engine).get_columns("api_token")}
    with db_engine.begin() as conn:
        assert conn.execute(text("SELECT token_hash FROM api_token")).scalars().all() == ["h1"]  # sessions dropped
    _run(db_engine, "upgrade", "head")
