"""The reader's time zone for pages: the `rf_tz` cookie (set by /static/tz.js from the browser's
`Intl.DateTimeFormat().resolvedOptions().timeZone`, or chosen on the inbox), else UTC. Stored times stay UTC.

A zone chosen on the inbox is also kept on the person (`person.time_zone`) and wins on every device they use."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import Response

COOKIE = "rf_tz"
DEFAULT = "UTC"
COMMON = (  # offered on the inbox; any IANA name may be typed
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)


def valid(name: str | None) -> str | None:
    """`name` if it is an IANA zone this server knows, else None."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zone_for(request: Request, chosen: str | None = None) -> str:
    """The person's chosen zone (kept on their record), else the browser's (cookie), else UTC."""
    return valid(chosen) or valid(request.cookies.get(COOKIE)) or DEFAULT


def remember(response: Response, name: str) -> None:
    """Keep the chosen zone a year; readable by the script so it does not replace a choice with the browser's."""
    response.set_cookie(COOKIE, name, max_age=365 * 24 * 3600, samesite="lax", httponly=False, path="/")
