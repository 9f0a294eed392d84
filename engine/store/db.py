"""Database engine and sessions. SQLite (the embedded default) gets WAL and `BEGIN IMMEDIATE` so writers queue
instead of failing; PostgreSQL uses psycopg 3 and row locks taken by the use-case functions."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.core.settings import get_settings

WRITE = "reviewflow_write"  # execution option: this transaction will write


class Base(DeclarativeBase):
    pass


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A writing transaction takes the write lock up front: a deferred one that later writes can fail with
        # "database is locked" regardless of busy_timeout, while IMMEDIATE makes writers wait their turn.
        # Readers stay deferred so they never block writers (WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


@lru_cache(maxsize=8)
def make_engine(url: str, pool: tuple[int, int, float] = (44, 0, 3.0)) -> Engine:
    """An engine for `url`; `pool` is (size, overflow, seconds to wait for a free connection) for PostgreSQL."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
    else:
        size, overflow, timeout = pool
        engine = create_engine(url, pool_size=size, max_overflow=overflow, pool_timeout=timeout, pool_pre_ping=True)
    return engine


def get_engine() -> Engine:
    s = get_settings()
    return make_engine(s.database_url, (s.pool_size, s.db_max_overflow, s.db_pool_timeout_s))


@lru_cache(maxsize=8)
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def new_session(engine: Engine | None = None) -> Session:
    return _factory(engine or get_engine())()


def forget_connections() -> None:
    """Drop this process's engines and session factories (a forked child must not share the parent's
    connections): the next session connects afresh."""
    make_engine.cache_clear()
    _factory.cache_clear()
