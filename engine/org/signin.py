"""Sign-in limits: failed attempts are counted per email and per client address within a sliding window, in the
database so every API process shares them, on the one clock (core/clock.py) so tests move time instead of waiting.

An attempt is recorded *before* its password is checked and removed when it succeeds, so guesses sent in parallel
to several processes count as well. Past `REVIEWFLOW_SIGNIN_MAX_FAILURES` failures for an email (known or not, so a
lockout tells nothing about who has an account) or `REVIEWFLOW_SIGNIN_MAX_FAILURES_PER_ADDRESS` from one address,
further attempts are refused unchecked with `TooManyAttempts` (429 + Retry-After) until enough failures are older
than `REVIEWFLOW_SIGNIN_WINDOW_MINUTES`, or HR unlocks the email or the address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.core import clock
from engine.core.errors import InvalidInput, TooManyAttempts
from engine.core.settings import get_settings
from engine.store.models import SignInFailure
from engine.store.transaction import transactional


@dataclass(frozen=True)
class Lockout:
    kind: str  # "email" | "address"
    key: str
    failures: int
    locked_until: datetime

    def as_dict(self) -> dict[str, Any]:
        seconds = retry_after(self.locked_until)
        return {
            "kind": self.kind,
            "key": self.key,
            "failures": self.failures,
            "locked_until": self.locked_until.isoformat(),
            "retry_after": seconds,
        }


def window() -> timedelta:
    return timedelta(minutes=get_settings().signin_window_minutes)


def retry_after(until: datetime) -> int:
    """Whole seconds until `until`, at least 1."""
    return max(1, math.ceil((until - clock.now()).total_seconds()))


def _locked_until(times: list[datetime], limit: int) -> datetime | None:
    """With `times` (ascending) the failures in the window: when fewer than `limit` of them will remain."""
    if len(times) < limit:
        return None
    return times[len(times) - limit] + window()


def _times(session: Session, *, email: str | None = None, address: str | None = None, skip: int = 0) -> list[datetime]:
    query = select(SignInFailure.at).where(SignInFailure.at > clock.now() - window(), SignInFailure.id != skip)
    if email is not None:
        query = query.where(SignInFailure.email == email, SignInFailure.cleared_at.is_(None))
    if address is not None:
        query = query.where(SignInFailure.address == address)
    return sorted(t for t in (clock.as_utc(at) for at in session.scalars(query)) if t is not None)


@transactional
def _record(session: Session, *, email: str, address: str) -> int:
    now = clock.now()
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - window()))  # nothing older counts
    row = SignInFailure(email=email, address=address[:64], at=now)
    session.add(row)
    session.flush()
    return row.id


def _clear(session: Session, *, attempt_id: int, clear_email: str | None = None) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.id == attempt_id))
    if clear_email is not None:
        session.execute(
            update(SignInFailure)
            .where(SignInFailure.email == clear_email, SignInFailure.cleared_at.is_(None))
            .values(cleared_at=clock.now())
        )


_forget = transactional(_clear)


def key_of(email: str) -> str:
    """What failures of an email are counted under: as typed, trimmed and lower-cased (known or not)."""
    return email.strip().lower()[:320]


def begin(session: Session, *, email: str, address: str) -> int:
    """Record an attempt (a failure until `succeeded`); TooManyAttempts when the email or address is locked."""
    settings = get_settings()
    attempt = _record(session, email=email, address=address)  # committed: every attempt committed before is seen
    limits = (
        (_times(session, email=email, skip=attempt), settings.signin_max_failures),
        (_times(session, address=address[:64], skip=attempt), settings.signin_max_failures_per_address),
    )
    until = [u for u in (_locked_until(times, limit) for times, limit in limits) if u is not None]
    if until:
        _forget(session, attempt_id=attempt)  # a refused attempt checks nothing, so it is no failure
        seconds = retry_after(max(until))
        minutes = math.ceil(seconds / 60)
        raise TooManyAttempts(
            f"Too many failed sign-ins for this email or from this address. Try again in {minutes} minute(s), "
            "or ask HR to unlock the account.",
            retry_after=seconds,
        )
    return attempt


def succeeded(session: Session, *, attempt_id: int, email: str) -> None:
    """The password was right: the attempt was no failure, and the email's earlier failures stop counting for it
    (not for the address). Inside the caller's transaction."""
    _clear(session, attempt_id=attempt_id, clear_email=email)


def not_a_failure(session: Session, *, attempt_id: int) -> None:
    """The password was right but signing in was refused for another reason (e.g. a deactivated account)."""
    _forget(session, attempt_id=attempt_id)


def lockouts(session: Session) -> list[Lockout]:
    """Emails and addresses locked now, soonest unlocked first."""
    settings = get_settings()
    rows = session.execute(
        select(SignInFailure.email, SignInFailure.address, SignInFailure.at, SignInFailure.cleared_at).where(
            SignInFailure.at > clock.now() - window()
        )
    ).all()
    groups: dict[tuple[str, str], list[datetime]] = {}
    for email, address, at, cleared_at in rows:
        stamp = clock.as_utc(at)
        assert stamp is not None
        if cleared_at is None:
            groups.setdefault(("email", email), []).append(stamp)
        groups.setdefault(("address", address), []).append(stamp)
    found = []
    for (kind, key), times in groups.items():
        limit = settings.signin_max_failures if kind == "email" else settings.signin_max_failures_per_address
        until = _locked_until(sorted(times), limit)
        if until is not None:
            found.append(Lockout(kind, key, len(times), until))
    return sorted(found, key=lambda lock: (lock.locked_until, lock.kind, lock.key))


@transactional
def unlock(session: Session, *, email: str | None = None, address: str | None = None, actor: str) -> int:
    """Forgive the failures of an email (they still count for their addresses) or of an address (all of them);
    how many failures were forgiven."""
    if (email is None) == (address is None):
        raise InvalidInput("Name exactly one email or one address to unlock.")
    now = clock.now()
    if email is not None:
        key = key_of(email)
        result = session.execute(
            update(SignInFailure)
            .where(SignInFailure.email == key, SignInFailure.cleared_at.is_(None))
            .values(cleared_at=now)
        )
    else:
        key = (address or "").strip()
        result = session.execute(delete(SignInFailure).where(SignInFailure.address == key))
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(
        session,
        actor=actor,
        action="sign_in.unlocked",
        payload={"email": key} if email is not None else {"address": key, "failures": count},
    )
    return count
