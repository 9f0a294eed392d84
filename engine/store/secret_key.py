"""The installation's secret key (it signs the page session cookies): REVIEWFLOW_SECRET_KEY when set, otherwise one
generated on first use and kept in a file readable only by its owner — REVIEWFLOW_SECRET_KEY_FILE, or beside the
SQLite database (`<database>.secret`), or `./reviewflow.secret` for PostgreSQL. The default the code once shipped is
published, so anyone could sign a session with it: `serve` refuses it outside the demo."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from engine.core.errors import InvalidInput
from engine.core.settings import get_settings
from engine.store import key_files

PUBLISHED_DEFAULT = "dev-only-change-me"
MIN_FILE_KEY_CHARS = 32


def key_file() -> Path:
    """Where the generated key lives for the configured database."""
    settings = get_settings()
    if settings.secret_key_file:
        return Path(settings.secret_key_file)
    database = key_files.sqlite_file()
    return database.with_name(database.name + ".secret") if database else Path("reviewflow.secret")


def secret() -> str:
    """The key to sign with (read or generated once per process and settings)."""
    settings = get_settings()
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    return _from_file(key_file().resolve())


@lru_cache(maxsize=8)
def _from_file(path: Path) -> str:
    if not path.exists():
        _create(path)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_FILE_KEY_CHARS:
        raise InvalidInput(
            f"The secret key file {path} holds {len(key)} characters, fewer than {MIN_FILE_KEY_CHARS}: delete it to "
            "have a new key generated (everyone signs in again) or put a long random key in it."
        )
    return key


def _create(path: Path) -> None:
    """Write a new random key with mode 0600; of several processes starting at once, the first one's key wins."""
    try:
        key_files.write_once(path, secrets.token_urlsafe(48) + "\n")
    except OSError as exc:
        raise InvalidInput(
            f"Cannot create the secret key file {path} ({exc.strerror}): make its folder writable, or set "
            "REVIEWFLOW_SECRET_KEY_FILE or REVIEWFLOW_SECRET_KEY."
        ) from None


def check_for_serving(*, demo: bool) -> Path | None:
    """Raise unless the key is usable for serving; returns the key file when the key comes from one."""
    settings = get_settings()
    if settings.secret_key is not None and settings.secret_key.get_secret_value() == PUBLISHED_DEFAULT:
        if demo:
            return None
        raise InvalidInput(
            f"Refusing to serve: REVIEWFLOW_SECRET_KEY is the published default '{PUBLISHED_DEFAULT}', with which "
            "anyone can forge a session. Unset it (a key is then generated and kept beside the database) or set "
            "your own long random key."
        )
    secret()
    return None if settings.secret_key is not None and settings.secret_key.get_secret_value() else key_file()
