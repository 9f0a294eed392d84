"""Files that hold an installation's keys (the session secret, the audit key): where a default one goes, and writing
one so that it is readable only by its owner and, of several processes starting at once, the first one's wins."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.core.settings import get_settings
from engine.store.db import normalize_url


def sqlite_file() -> Path | None:
    """The configured SQLite database file (absolute), or None for a server or in-memory database."""
    url = make_url(normalize_url(get_settings().database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().absolute()
    return None


def server_database_name() -> str:
    return make_url(normalize_url(get_settings().database_url)).database or "db"


def write_once(path: Path, content: str) -> None:
    """Create `path` with `content`, mode 0600, fsynced, atomically; if it already exists, leave it as it is.
    Raises OSError when the folder cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process wrote first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
