"""The one clock. Tests move it instead of sleeping (`clock.set_now(...)`, `clock.advance(...)`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    global _frozen
    _frozen = value


def advance(delta: timedelta) -> datetime:
    global _frozen
    _frozen = now() + delta
    return _frozen


def as_utc(value: datetime | None) -> datetime | None:
    """Database round trips lose the zone on SQLite; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
