"""`reviewflow backup FILE` / `reviewflow restore FILE` (issue 17, item 4) on SQLite and PostgreSQL: a round trip
gives the same data and an intact audit log; an audit event edited inside the dump restores but fails verify (exit 1);
each refusal is one `Error:` line with exit 2; a SQLite backup taken while a writer commits is the database as of
one moment."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text
from typer.testing import CliRunner

from api.cli.main import app as cli
from engine import audit
from engine.core.settings import get_settings
from engine.org import accounts
from engine.store import backup as backups
from engine.store import db, pg_tools, schema
from engine.store.models import AuditEvent, Person
from tests import factories as f
from tests.conftest import PG_ADMIN_URL

EMPLOYEE, AUDITOR = "designer1@initech.test", "auditor@initech.test"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, " ".join(result.stdout.split()), result.stderr


def refused(args: list[str], *words: str) -> None:
    code, out, err = run(*args)
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("Error: ")
    for word in words:
        assert word in line, line


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        found = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in sorted(names)}
    engine.dispose()
    return found


def use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point this process (and the CLI) at the database `url`."""
    monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    db.forget_connections()
    audit.forget_keys()


@pytest.fixture
def world(db_engine, session) -> str:
    """A launched review on this test's database (audit events, instances, tasks); returns the database URL."""
    f.org(session)
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=None, actor="test")
    f.launched(session, f.deploy(session), [EMPLOYEE])
    session.commit()
    return str(get_settings().database_url)


@pytest.fixture
def target(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database to restore into: a new SQLite file, or a scratch PostgreSQL database dropped afterwards."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"rf_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db.forget_connections()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def repack(
    backup: Path, out: Path, *, manifest: dict[str, Any] | None = None, edit: Callable[[Path], None] | None = None
) -> Path:
    """A copy of `backup` with manifest fields replaced and/or the dump edited (its checksum updated to match, as
    someone rewriting the file would)."""
    folder = out.parent / f"unpacked-{uuid.uuid4().hex[:6]}"
    with tarfile.open(backup) as tar:
        tar.extractall(folder, filter="data")
    body = json.loads((folder / backups.MANIFEST).read_text())
    dump = folder / body["dump"]
    if edit:
        edit(dump)
        body["dump_sha256"] = backups._sha256(dump)
        body["dump_bytes"] = dump.stat().st_size
    body.update(manifest or {})
    data = json.dumps(body).encode()
    with tarfile.open(out, "w") as tar:
        info = tarfile.TarInfo(backups.MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(dump, arcname=dump.name)
    return out


@pytest.mark.both_dbs
def test_round_trip_restores_the_same_data_and_an_intact_audit_log(world, target, tmp_path, monkeypatch):
    file = tmp_path / "nightly.tar"
    code, out, err = run("backup", str(file))
    assert code == 0, (out, err)
    assert f"Backup written: {file}" in out and "not in it: back them up separately" in out
    assert file.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    before = counts(world)
    with db.new_session() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
        sample = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        person = s.scalars(select(Person).where(Person.email == EMPLOYEE)).one()
        sample_row = (sample.seq, sample.actor, sample.payload, sample.hash)
        person_row = (person.id, person.name, person.email, person.manager_id)
    manifest = backups.read_manifest(file)
    assert manifest.tables == before and manifest.audit_head == {"seq": sample.seq, "hash": sample.hash}
    assert manifest.schema_revision == backups.head_revision() and events and before["instance"] >= 1

    use(monkeypatch, target)
    code, out, err = run("restore", str(file))
    assert code == 0, (out, err)
    assert f"Restored {file}" in out
    assert f"audit verify: intact, {events} events checked" in out
    assert "load check: 1 of 1 unfinished instances checked, 0 problems" in out
    assert counts(target) == before
    with db.new_session() as s:
        again = s.get(AuditEvent, sample_row[0])
        assert (again.seq, again.actor, again.payload, again.hash) == sample_row
        p = s.scalars(select(Person).where(Person.email == EMPLOYEE)).one()
        assert (p.id, p.name, p.email, p.manager_id) == person_row
    assert run("audit", "verify")[0] == 0


def _tamper_sqlite(dump: Path) -> None:
    conn = sqlite3.connect(dump, isolation_level=None)
    [trigger] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_update'").fetchone()
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.execute("UPDATE audit_event SET actor = 'someone.else@initech.test' WHERE seq = 2")
    conn.execute(trigger)
    conn.close()


def _tamper_pg(dump: Path) -> None:
    """Load the dump into a scratch database, edit one audit event there, dump it again."""
    name = f"rf_tamper_{uuid.uuid4().hex[:12]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        env = pg_tools.libpq_env(url)
        subprocess.run([pg_tools.tool("pg_restore"), "--no-owner", "-d", name, str(dump)], env=env, check=True)
        edit = create_engine(url)
        with edit.begin() as conn:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("UPDATE audit_event SET actor = 'someone.else@initech.test' WHERE seq = 2"))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        edit.dispose()
        subprocess.run([pg_tools.tool("pg_dump"), "-Fc", "-f", str(dump)], env=env, check=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.both_dbs
def test_an_audit_event_edited_inside_the_dump_restores_but_fails_verify(world, target, db_kind, tmp_path, monkeypatch):
    file = tmp_path / "b.tar"
    assert run("backup", str(file))[0] == 0
    edit = _tamper_sqlite if db_kind == "sqlite" else _tamper_pg
    tampered = repack(file, tmp_path / "tampered.tar", edit=edit)

    use(monkeypatch, target)
    code, out, err = run("restore", str(tampered))
    assert code == 1, (out, err)
    assert "Restored" in out
    assert "audit verify: TAMPERED (edited): first bad seq 2" in out
    assert "load check: 1 of 1 unfinished instances checked, 0 problems" in out  # both results printed
    assert run("audit", "verify")[0] == 1


@pytest.mark.both_dbs
def test_refusals_are_one_line_and_change_nothing(world, db_kind, tmp_path, monkeypatch):
    file = tmp_path / "b.tar"
    assert run("backup", str(file))[0] == 0
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n")
    refused(["restore", str(text_file)], "is not a Reviewflow backup")
    other_tar = tmp_path / "other.tar"
    with tarfile.open(other_tar, "w") as tar:
        tar.add(text_file, arcname="notes.txt")
    refused(["restore", str(other_tar)], "is not a Reviewflow backup", backups.MANIFEST)
    newer = repack(file, tmp_path / "newer.tar", manifest={"schema_revision": "9999_from_the_future"})
    refused(["restore", str(newer)], "schema revision 9999_from_the_future, newer than this Reviewflow")
    other = "postgresql" if db_kind == "sqlite" else "sqlite"
    wrong_kind = repack(file, tmp_path / "kind.tar", manifest={"database_kind": other})
    refused(["restore", str(wrong_kind)], f"is a backup of a {other} database")
    damaged = repack(file, tmp_path / "damaged.tar", manifest={"dump_sha256": "0" * 64})
    refused(["restore", str(damaged), "--yes"], "is damaged")

    before = counts(world)
    with db.new_session() as s:  # a change after the backup: a refused restore must keep it
        audit.record(s, actor="test", action="after.backup", payload={})
        s.commit()
    refused(["restore", str(file)], "The database holds data", "Pass --yes")
    after = counts(world)
    assert after["audit_event"] == before["audit_event"] + 1
    assert run("audit", "verify")[0] == 0


def test_a_backup_taken_while_a_writer_commits_is_one_moment(world, target, tmp_path, monkeypatch):
    """Every step of the page copy is followed by a commit from another connection (the writer); the backup holds
    the database as of its start: its rows match its manifest, its audit chain verifies, the later events are not
    in it, and the server never had to stop."""
    checkpoints_at_start = tmp_path / "checkpoints-at-start"
    shutil.copytree(get_settings().audit_checkpoint_dir, checkpoints_at_start)
    with db.new_session() as s:
        start_seq = s.scalar(select(func.max(AuditEvent.seq)))
    monkeypatch.setattr(backups, "_PAGES_PER_STEP", 4)
    writes = 0

    def writer(done: int, total: int) -> None:
        nonlocal writes
        with db.new_session() as s:
            audit.record(s, actor="writer", action="concurrent.write", payload={"step": done})
            s.commit()
        writes += 1

    file = tmp_path / "live.tar"
    manifest = backups.backup(file, progress=writer)
    assert writes > 10  # the copy really was interleaved with commits
    assert manifest.audit_head is not None and manifest.audit_head["seq"] == start_seq
    with db.new_session() as s:
        assert s.scalar(select(func.max(AuditEvent.seq))) == start_seq + writes  # the writer was not blocked

    live_checkpoints = get_settings().audit_checkpoint_dir
    use(monkeypatch, target)
    monkeypatch.setenv("REVIEWFLOW_AUDIT_CHECKPOINT_DIR", checkpoints_at_start.as_posix())
    get_settings.cache_clear()
    code, out, err = run("restore", str(file))
    assert code == 0, (out, err)
    assert f"audit verify: intact, {start_seq} events checked" in out
    assert counts(target) == manifest.tables
    with sqlite3.connect(Path(target.removeprefix("sqlite:///"))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # restored where the checkpoints saw the writer's events: verify names what the restore lost, exit 1
    monkeypatch.setenv("REVIEWFLOW_AUDIT_CHECKPOINT_DIR", str(live_checkpoints))
    get_settings.cache_clear()
    code, out, err = run("restore", str(file), "--yes")
    assert code == 1, (out, err)
    assert f"audit verify: TAMPERED (truncated): first bad seq {start_seq + 1}" in out
    assert f"the log ends where the backup did (seq {start_seq})" in out


@pytest.mark.both_dbs
def test_an_older_backup_replaces_a_newer_database_and_is_migrated_to_head(world, target, tmp_path, monkeypatch):
    """A backup of schema 0008 restored over this test's database (at head, with data) with --yes: the tables the
    older schema lacks are dropped and re-created by the migrations, and the data is the backup's."""
    engine = create_engine(target)
    if target.startswith("sqlite"):
        db._sqlite_setup(engine)
    cfg = schema.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    engine.dispose()
    use(monkeypatch, target)
    file = tmp_path / "older.tar"
    assert run("backup", str(file))[0] == 0
    assert backups.read_manifest(file).schema_revision == "0008"

    use(monkeypatch, world)
    code, out, err = run("restore", str(file), "--yes")
    assert code == 1, (out, err)  # the checkpoints recorded the replaced database's events: verify says so
    assert "audit verify: TAMPERED (wiped)" in out and "the log ends where the backup did (seq 0)" in out
    # the checkpoint folder moved aside (as README says): the restored log is anchored afresh
    monkeypatch.setenv("REVIEWFLOW_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints-after-restore"))
    get_settings.cache_clear()
    code, out, err = run("restore", str(file), "--yes")
    assert code == 0, (out, err)
    assert f"migrated 0008 → {backups.head_revision()}" in out
    with db.new_session() as s:
        assert s.scalar(text("SELECT version_num FROM alembic_version")) == backups.head_revision()
    assert sum(counts(world).values()) == 0  # the backup's (empty) data, not the replaced database's


def test_the_password_goes_to_pg_dump_in_the_environment_never_on_its_command_line(monkeypatch, tmp_path):
    url = "postgresql+psycopg://rf:s3cr%40t@db.internal:5433/reviews?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    monkeypatch.setenv("PGPASSWORD", "inherited")  # an operator's own PG* variables never leak in
    env = pg_tools.libpq_env(url)
    assert {k: env[k] for k in env if k.startswith("PG")} == {
        "PGHOST": "db.internal",
        "PGPORT": "5433",
        "PGUSER": "rf",
        "PGPASSWORD": "s3cr@t",
        "PGDATABASE": "reviews",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/etc/ca.pem",
    }
    seen: list[list[str]] = []

    class Done:
        stderr = io.StringIO("")
        returncode = 0

        def wait(self) -> int:
            return 0

    def popen(args: list[str], **kw: Any) -> Done:
        seen.append(args)
        return Done()

    monkeypatch.setattr(pg_tools.subprocess, "Popen", popen)
    pg_tools.dump(url, tmp_path / "d", snapshot=None, tables=1)
    pg_tools.restore(url, tmp_path / "d", tables=1)
    assert seen and not any("s3cr" in arg for args in seen for arg in args)
