"""`reviewflow backup FILE` and `reviewflow restore FILE` (engine/store/backup.py does the work).

Backup prints one line naming what the file holds. Restore refuses in one `Error:` line (exit 2) a file that is not a
Reviewflow backup, a backup of the other database kind, a newer schema, or a database holding data without `--yes`;
after restoring it migrates to head, then runs `audit verify` and the startup load check and prints both results —
exit 1 when either fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from api.cli.errors import err, fail_line
from engine import audit
from engine.core.errors import ReviewflowError
from engine.core.settings import get_settings
from engine.process import instance_check
from engine.store import backup as backups
from engine.store import db, key_files

out = Console(soft_wrap=True)
_BIG = 64 << 20  # a progress bar from this many bytes of database on


def _bar(label: str, show: bool) -> tuple[Progress, backups.Progress]:
    bar = Progress(TextColumn(label), BarColumn(), TaskProgressColumn(), console=err, transient=True, disable=not show)
    job = bar.add_task(label, total=None)
    return bar, lambda done, total: bar.update(job, completed=done, total=total)


def _database_bytes() -> int:
    """The SQLite file's size (PostgreSQL: always big enough for the bar; pg_dump takes a while on any size)."""
    if backups.kind() != "sqlite":
        return _BIG
    path = key_files.sqlite_file()
    return path.stat().st_size if path and path.exists() else 0


def backup(
    file: Annotated[Path, typer.Argument(help="where to write the backup (a .tar file; it holds personal data)")],
) -> None:
    """Back up the database while the server runs: a consistent copy, the schema revision and row counts with it.

    The audit key and the session secret are NOT in the backup: keep copies of those files separately."""
    bar, step = _bar("Backing up", _database_bytes() >= _BIG)
    with bar:
        manifest = backups.backup(file, progress=step)
    rows = sum(manifest.tables.values())
    head = manifest.audit_head["seq"] if manifest.audit_head else 0
    out.print(
        escape(
            f"Backup written: {file} ({manifest.database_kind}, schema {manifest.schema_revision}, "
            f"{len(manifest.tables)} tables, {rows} rows, audit log to seq {head}, {manifest.dump_bytes} bytes). "
            "The audit key and session secret files are not in it: back them up separately."
        )
    )


def restore(
    file: Annotated[Path, typer.Argument(help="a file written by `reviewflow backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="replace a database that holds data")] = False,
) -> None:
    """Replace the database with a backup, migrate it to this version, then check the audit log and the instances."""
    if not file.exists():
        fail_line(f"cannot read {file}: no such file")
    try:
        manifest = backups.read_manifest(file)
        backups.check(manifest, file)
        bar, step = _bar("Restoring", manifest.dump_bytes >= _BIG)
        with bar:
            done = backups.restore(file, overwrite=yes, progress=step)
    except backups.DatabaseNotEmpty as exc:
        fail_line(f"{exc.detail} Pass --yes to replace it with {file}.")
    except backups.BackupRefused as exc:  # also NotABackup
        fail_line(exc.detail)
    m = done.manifest
    migrated = f", migrated {done.from_revision} → {done.to_revision}" if done.from_revision != done.to_revision else ""
    out.print(
        escape(
            f"Restored {file}: {m.database_kind} backup of {m.created_at} (Reviewflow {m.reviewflow_version}), "
            f"{len(done.tables)} tables, {sum(done.tables.values())} rows{migrated}."
        )
    )
    if done.tables != m.tables:
        differ = sorted(t for t in set(done.tables) | set(m.tables) if done.tables.get(t) != m.tables.get(t))
        err.print(escape(f"warning: rows differ from the backup's manifest in: {', '.join(differ)}"))
    audit_ok = _verify(m)
    check_ok = _load_check()
    if not (audit_ok and check_ok):
        raise typer.Exit(1)


def _verify(m: backups.Manifest) -> bool:
    audit.forget_keys()  # the restored log may have been signed by a key this process has not read
    try:
        with db.new_session() as s:
            v = audit.verify(s)
    except ReviewflowError as exc:  # the audit key file is missing
        out.print(escape(f"audit verify: FAILED: {exc.detail}"))
        return False
    if v.ok:
        out.print(f"audit verify: intact, {v.checked} events checked")
        return True
    out.print(
        escape(
            f"audit verify: TAMPERED ({v.problem}): first bad seq {v.first_bad_seq} ({v.reason}); {v.checked} intact"
        )
    )
    head = (m.audit_head or {}).get("seq")
    if v.problem in (audit.TRUNCATED, audit.WIPED) and head == v.checked:
        out.print(
            escape(
                f"note: the log ends where the backup did (seq {head}); the checkpoints record the events written "
                "after the backup was taken, which this restore lost. Keep those lines; move the checkpoint folder "
                "aside (not away) to anchor the restored log afresh (README, Backup and restore)."
            )
        )
    return False


def _load_check() -> bool:
    mode = get_settings().startup_check
    sample = None if mode == "all" else get_settings().startup_check_sample
    with db.new_session() as s:
        report = instance_check.check_instances(s, sample=sample)
    for problem in report.problems[:20]:
        err.print(escape(f"cannot carry on {problem.line()}"))
    out.print(
        f"load check: {report.checked} of {report.unfinished} unfinished instances checked, "
        f"{len(report.problems)} problems"
    )
    return not report.problems
