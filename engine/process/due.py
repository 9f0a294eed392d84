"""When a task is due: the cycle's `due` setting gives a user task its `due_at` when it opens (by element id, else
by lane, else `"*"`): an ISO date (the end of that day, UTC), a date-time, or a duration such as `P14D` counted
from when the task opened. The reminders that follow are the review package's (engine/review/reminders.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")

def duration(value: str) -> timedelta | None:
    m = _DURATION.match(value.strip().upper())
    if not m or not any(m.groups()):
        return None
    weeks, days, hours, minutes = (int(g) if g else 0 for g in m.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


def instant(value: str) -> datetime | None:
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(23, 59, 59), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def due_at(settings: Any, *, name: str, lane: str | None, opened: datetime) -> datetime | None:
    """The due time of a task opening at `opened`, from the cycle's `due` setting; None when none applies."""
    due = (settings or {}).get("due") if isinstance(settings, dict) else None
    if not isinstance(due, dict):
        return None
    value = due.get(name) or (due.get(lane) if lane else None) or due.get("*")
    if not isinstance(value, str):
        return None
    span = duration(value)
    return opened + span if span is not None else instant(value)
