"""Test databases: every test gets its own freshly migrated database — SQLite always, PostgreSQL for tests marked
`both_dbs` (set REVIEWFLOW_TEST_PG_URL; in CI a missing PostgreSQL fails the run instead of skipping)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from engine import bootstrap, jobs
from engine.core import clock
from engine.core.settings import get_settings
from engine.process import definitions
from engine.store import db
from engine.store.schema import upgrade

PG_ADMIN_URL = os.environ.get("REVIEWFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_TEMPLATE = f"rf_test_template_{os.getpid()}"  # one per pytest run: parallel runs do not collide
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    bootstrap.start()  # the same composition root as the API app and the CLI: every job and hook registered
    config.addinivalue_line("markers", "both_dbs: run the test on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "pg_only: run the test on PostgreSQL only (e.g. several worker processes)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        kinds = ["sqlite", "postgresql"] if metafunc.definition.get_closest_marker("both_dbs") else ["sqlite"]
        if metafunc.definition.get_closest_marker("pg_only"):
            kinds = ["postgresql"]
        metafunc.parametrize("db_kind", kinds, scope="function")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    db._sqlite_setup(engine)
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Migrate a template database once; each test copies it (CREATE DATABASE ... TEMPLATE is fast)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_TEMPLATE}"'))
    except Exception as exc:  # noqa: BLE001
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_TEMPLATE}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


def _reset_process_state() -> None:
    get_settings.cache_clear()
    db.make_engine.cache_clear()
    db._factory.cache_clear()
    definitions.clear_caches()
    clock.set_now(None)
    jobs.set_mode("inline")


@pytest.fixture
def db_engine(
    db_kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    if db_kind == "sqlite":
        path = tmp_path / "reviewflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        drop = None
    else:
        template_url = request.getfixturevalue("pg_template")
        name = f"rf_t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"'))
        url = template_url.rsplit("/", 1)[0] + f"/{name}"
        drop = (admin, name)
    monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", url)
    monkeypatch.setenv("REVIEWFLOW_SECRET_KEY_FILE", str(tmp_path / "session.secret"))  # not ./ for PostgreSQL
    monkeypatch.delenv("REVIEWFLOW_BROKER_URL", raising=False)
    # the audit key and checkpoints of this test's database (a PostgreSQL one would default to the working folder)
    monkeypatch.setenv("REVIEWFLOW_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("REVIEWFLOW_AUDIT_CHECKPOINT_DIR", str(tmp_path / "audit-checkpoints"))
    _reset_process_state()
    engine = db.get_engine()
    yield engine
    engine.dispose()
    _reset_process_state()
    if drop:
        admin, name = drop
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    s = db.new_session(db_engine)
    yield s
    s.close()


@pytest.fixture
def client(db_engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app()) as c:
        yield c
