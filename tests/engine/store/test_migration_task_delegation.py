"""The task administration migration (a delegate's row: whom for and until when; a task's `on_behalf_of_id`) goes
down and up again on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from engine.store.schema import alembic_config
from tests.engine.store.test_migration_instance_columns import _run

REVISION = "0007"  # this migration (its down revision is looked up, so re-chaining at merge keeps the test true)


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


@pytest.mark.both_dbs
def test_delegation_columns_go_and_come_back(db_engine: Engine):
    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    assert {"on_behalf_of_id", "until"} <= _columns(db_engine, "task_assignee")
    assert "on_behalf_of_id" in _columns(db_engine, "task")
    _run(db_engine, "downgrade", before)
    assert _columns(db_engine, "task_assignee") == {"task_id", "person_id"}
    assert "on_behalf_of_id" not in _columns(db_engine, "task")
    _run(db_engine, "upgrade", "head")
    assert {"on_behalf_of_id", "until"} <= _columns(db_engine, "task_assignee")
    assert "on_behalf_of_id" in _columns(db_engine, "task")
