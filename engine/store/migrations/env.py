"""Alembic environment: the URL comes from the caller (engine.schema.upgrade) or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from engine.core.settings import get_settings
from engine.store.all_models import metadata
from engine.store.db import make_engine

config = context.config
target_metadata = metadata  # every model module, not only engine.models


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    with make_engine(url).connect() as conn:
        _run(conn)


run_migrations_online()
