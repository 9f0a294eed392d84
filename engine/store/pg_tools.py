"""pg_dump and pg_restore for `reviewflow backup|restore` on PostgreSQL: the SQLAlchemy URL becomes libpq environment
variables (the password goes in PGPASSWORD, never on a command line another user can read with `ps`), and the tools'
`--verbose` lines drive the progress callback (one step per table)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.core.errors import InvalidInput
from engine.store.db import normalize_url

Progress = Callable[[int, int], None]

# URL query parameters libpq also reads from the environment
_QUERY_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "sslpassword": "PGSSLPASSWORD",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "gssencmode": "PGGSSENCMODE",
    "service": "PGSERVICE",
    "passfile": "PGPASSFILE",
    "host": "PGHOST",  # ?host=/var/run/postgresql: a socket folder
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
}
_TABLE_LINE = re.compile(r"(dumping contents of table|processing data for table) ")


def libpq_env(url: str) -> dict[str, str]:
    """The environment that points libpq tools at the database `url` names (no PG* variables of ours inherited)."""
    parsed = make_url(normalize_url(url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in parsed.query.items():
        name = _QUERY_ENV.get(key)
        if name is not None:
            env[name] = value if isinstance(value, str) else ",".join(value)
    fields = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    env.update({k: v for k, v in fields.items() if v})
    return env


def tool(name: str) -> str:
    """The path of pg_dump / pg_restore; refused in one sentence when the client tools are not installed."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        raise InvalidInput(
            f"{name} is not installed: install the PostgreSQL client tools (the same major version as the server or "
            "newer), e.g. `apt-get install postgresql-client`."
        )
    return found


def _run(args: list[str], env: dict[str, str], tables: int, progress: Progress | None) -> None:
    """Run a tool with --verbose, counting its per-table lines; raise with its last error lines when it fails."""
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    errors: list[str] = []
    done = 0
    for line in proc.stderr:
        if _TABLE_LINE.search(line):
            done += 1
            if progress:
                progress(min(done, tables), tables)
        elif "error" in line.lower() or "fatal" in line.lower():
            errors.append(line.strip())
    if proc.wait() != 0:
        raise InvalidInput(f"{Path(args[0]).name} failed: {' '.join(errors[-3:]) or f'exit {proc.returncode}'}")


def dump(url: str, target: Path, *, snapshot: str | None, tables: int, progress: Progress | None = None) -> None:
    """`pg_dump --format=custom` of the database into `target`, reading the exported `snapshot` when given."""
    args = [tool("pg_dump"), "--format=custom", "--verbose", f"--file={target}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    _run(args, libpq_env(url), tables, progress)


def restore(url: str, source: Path, *, tables: int, progress: Progress | None = None) -> None:
    """`pg_restore --clean --if-exists --no-owner` of `source` into the database, in one transaction: a failed restore
    leaves the database as it was."""
    args = [
        tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--verbose",
        "--dbname",
        libpq_env(url)["PGDATABASE"],
        str(source),
    ]
    _run(args, libpq_env(url), tables, progress)
