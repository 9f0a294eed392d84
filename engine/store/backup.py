"""`reviewflow backup FILE` / `reviewflow restore FILE`: a consistent copy of the database, taken while the server runs.

A backup is a tar file holding `reviewflow-backup.json` (the manifest: format, database kind, schema revision,
created_at, Reviewflow version, the audit log's head and the rows per table at the moment of the copy, the dump's
sha256) and the dump: a SQLite file copied with the online backup API, or a `pg_dump --format=custom` file read from
the same snapshot as the manifest. The audit key and the session secret are never in it (they are files outside the
database: back them up separately, see README "Backup and restore").

Restore refuses a file that is not such a backup, a backup of the other database kind, a schema revision newer than
this code and (unless `overwrite`) a database that holds rows; it then replaces the database and migrates it to head.
Checking the result (audit verify, the startup load check) is the caller's: those packages sit above the store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from engine.core import clock
from engine.core.errors import InvalidInput
from engine.core.settings import get_settings
from engine.store import pg_tools, schema
from engine.store.db import get_engine, normalize_url

FORMAT = "reviewflow-backup"
FORMAT_VERSION = 1
MANIFEST = "reviewflow-backup.json"
DUMPS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
_PAGES_PER_STEP = 4096
Progress = Callable[[int, int], None]


class NotABackup(InvalidInput):
    code = "not_a_backup"


class BackupRefused(InvalidInput):
    code = "backup_refused"


class DatabaseNotEmpty(BackupRefused):
    code = "database_not_empty"


@dataclass
class Manifest:
    database_kind: str
    schema_revision: str | None
    created_at: str
    reviewflow_version: str
    dump: str
    dump_sha256: str = ""
    dump_bytes: int = 0
    audit_head: dict[str, Any] | None = None
    tables: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        body = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}
        return json.dumps(body, indent=2, sort_keys=True).encode("utf-8")


@dataclass
class Restored:
    manifest: Manifest
    from_revision: str | None
    to_revision: str | None
    tables: dict[str, int]  # rows per table as restored, before the migrations


def kind() -> str:
    return make_url(normalize_url(get_settings().database_url)).get_backend_name()


def version() -> str:
    try:
        return metadata.version("reviewflow")
    except metadata.PackageNotFoundError:
        return "unknown"


def _facts(conn: Connection) -> tuple[str | None, dict[str, Any] | None, dict[str, int]]:
    """The schema revision, the audit head and rows per table, as `conn` sees the database."""
    names = sorted(n for n in sqlalchemy.inspect(conn).get_table_names() if n != "alembic_version")
    has_version = sqlalchemy.inspect(conn).has_table("alembic_version")
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if has_version else None
    head = None
    if "audit_event" in names:
        row = conn.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")).first()
        head = {"seq": row[0], "hash": row[1]} if row else {"seq": 0, "hash": None}
    tables = {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}
    return revision, head, tables


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


# --- backup -----------------------------------------------------------------------------------------------------


def _sqlite_copy(target: Path, progress: Progress | None) -> None:
    """Copy the live SQLite file page by page inside one read transaction: writers carry on (WAL) and the copy is the
    database as of the moment the transaction began."""
    source_file = make_url(normalize_url(get_settings().database_url)).database
    src = sqlite3.connect(str(source_file), isolation_level=None, timeout=30)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the read snapshot
        src.backup(
            dst,
            pages=_PAGES_PER_STEP,
            progress=(lambda _status, remaining, total: progress(total - remaining, total)) if progress else None,
        )
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        src.close()
        dst.close()


def backup(target: Path, progress: Progress | None = None) -> Manifest:
    """Write a backup of the configured database to `target` (mode 0600: it holds personal data); return its
    manifest. The file appears only when complete."""
    db_kind = kind()
    if db_kind not in DUMPS:
        raise InvalidInput(f"Backups support SQLite and PostgreSQL, not {db_kind}.")
    target = target.expanduser().absolute()
    with tempfile.TemporaryDirectory(prefix="reviewflow-backup-", dir=target.parent) as tmp:
        dump = Path(tmp) / DUMPS[db_kind]
        if db_kind == "sqlite":
            _sqlite_copy(dump, progress)
            copy = sqlalchemy.create_engine(f"sqlite:///{dump}")
            with copy.connect() as conn:
                revision, head, tables = _facts(conn)
            copy.dispose()
        else:
            with get_engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                revision, head, tables = _facts(conn)
                url = get_settings().database_url
                pg_tools.dump(url, dump, snapshot=snapshot, tables=len(tables) + 1, progress=progress)
                conn.rollback()
        manifest = Manifest(
            database_kind=db_kind,
            schema_revision=revision,
            created_at=clock.now().isoformat(),
            reviewflow_version=version(),
            dump=dump.name,
            dump_sha256=_sha256(dump),
            dump_bytes=dump.stat().st_size,
            audit_head=head,
            tables=tables,
        )
        partial = Path(tmp) / "backup.tar"
        with tarfile.open(partial, "w:gz" if db_kind == "sqlite" else "w") as tar:
            info = tarfile.TarInfo(MANIFEST)
            body = manifest.to_json()
            info.size, info.mode, info.mtime = len(body), 0o600, int(clock.now().timestamp())
            tar.addfile(info, io.BytesIO(body))
            tar.add(dump, arcname=dump.name, filter=_private)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    return manifest


# --- restore ----------------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    """The manifest of the backup at `path`; NotABackup when it is not one."""
    not_one = f"{path} is not a Reviewflow backup (made by `reviewflow backup`)"
    try:
        with tarfile.open(path, "r:*") as tar:
            member = tar.next()
            if member is None or member.name != MANIFEST:
                raise NotABackup(f"{not_one}: it has no {MANIFEST}.")
            fh = tar.extractfile(member)
            body = json.loads(fh.read(1 << 20)) if fh else None
    except (tarfile.TarError, EOFError, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise
        raise NotABackup(f"{not_one}.") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise NotABackup(f"{not_one}: its manifest is not a Reviewflow one.")
    if body.get("format_version") != FORMAT_VERSION:
        raise BackupRefused(
            f"{path} is a Reviewflow backup of format {body.get('format_version')}; this version reads format "
            f"{FORMAT_VERSION}. Restore it with the Reviewflow version that made it ({body.get('reviewflow_version')})."
        )
    fields = set(Manifest.__dataclass_fields__)
    return Manifest(**{k: v for k, v in body.items() if k in fields})


def _known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(schema.alembic_config()).walk_revisions()}


def head_revision() -> str | None:
    return ScriptDirectory.from_config(schema.alembic_config()).get_current_head()


def check(manifest: Manifest, path: Path) -> None:
    """Refuse a backup this installation cannot restore: the other database kind, a newer schema."""
    here = kind()
    if manifest.database_kind != here:
        raise BackupRefused(
            f"{path} is a backup of a {manifest.database_kind} database, but REVIEWFLOW_DATABASE_URL is {here}: "
            f"restore it into a {manifest.database_kind} database."
        )
    if manifest.schema_revision is not None and manifest.schema_revision not in _known_revisions():
        raise BackupRefused(
            f"{path} has schema revision {manifest.schema_revision}, newer than this Reviewflow "
            f"({version()}, head {head_revision()}): restore it with Reviewflow {manifest.reviewflow_version} or newer."
        )


def rows_held() -> int:
    """How many tables of the configured database hold rows (0: empty or not created yet)."""
    if kind() == "sqlite":
        file = make_url(normalize_url(get_settings().database_url)).database
        if not file or not Path(file).exists():
            return 0
    with get_engine().connect() as conn:
        names = [n for n in sqlalchemy.inspect(conn).get_table_names() if n != "alembic_version"]
        return sum(1 for n in names if conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first() is not None)


def _extract(path: Path, manifest: Manifest, folder: Path) -> Path:
    with tarfile.open(path, "r:*") as tar:
        member = tar.getmember(manifest.dump) if manifest.dump in tar.getnames() else None
        fh = tar.extractfile(member) if member is not None and member.isfile() else None
        if fh is None:
            raise NotABackup(f"{path} is not a complete Reviewflow backup: {manifest.dump} is missing.")
        dump = folder / Path(manifest.dump).name
        with dump.open("wb") as out:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
    if _sha256(dump) != manifest.dump_sha256:
        raise NotABackup(f"{path} is damaged: {manifest.dump} does not match the checksum in its manifest.")
    return dump


def _sqlite_restore(dump: Path, progress: Progress | None) -> None:
    """Copy the backup into the live file with the backup API (other connections see one change, never half)."""
    target = make_url(normalize_url(get_settings().database_url)).database
    if not target:
        raise InvalidInput("REVIEWFLOW_DATABASE_URL names no SQLite file to restore into.")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{dump}?mode=ro", uri=True, isolation_level=None)
    dst = sqlite3.connect(target, isolation_level=None, timeout=30)
    try:
        dst.execute("PRAGMA journal_mode=WAL")
        src.backup(
            dst,
            pages=_PAGES_PER_STEP,
            progress=(lambda _status, remaining, total: progress(total - remaining, total)) if progress else None,
        )
    finally:
        src.close()
        dst.close()


def _drop_leftovers(restored: set[str]) -> None:
    """Drop the tables of the database being replaced that the backup does not have (a newer schema's): their foreign
    keys would stop `pg_restore --clean` dropping the backup's tables, and the migrations re-create them. This runs
    before pg_restore's own transaction; it only happens when a backup older than the database is restored."""
    with get_engine().begin() as conn:
        names = set(sqlalchemy.inspect(conn).get_table_names()) - restored - {"alembic_version"}
        for name in sorted(names):
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))


def restore(path: Path, *, overwrite: bool, progress: Progress | None = None) -> Restored:
    """Replace the configured database with the backup at `path`, then migrate it to head."""
    manifest = read_manifest(path)
    check(manifest, path)
    held = rows_held()
    if held and not overwrite:
        raise DatabaseNotEmpty(f"The database holds data ({held} tables with rows); restoring replaces all of it.")
    with tempfile.TemporaryDirectory(prefix="reviewflow-restore-") as tmp:
        dump = _extract(path, manifest, Path(tmp))
        get_engine().dispose()  # no pooled connection holds the old database open
        if manifest.database_kind == "sqlite":
            _sqlite_restore(dump, progress)
        else:
            tables = len(manifest.tables) + 1
            _drop_leftovers(set(manifest.tables))
            pg_tools.restore(get_settings().database_url, dump, tables=tables, progress=progress)
    with get_engine().connect() as conn:
        _revision, _head, tables_now = _facts(conn)
    schema.upgrade()
    return Restored(manifest, manifest.schema_revision, head_revision(), tables_now)
