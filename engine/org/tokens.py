"""Bearer tokens and web sessions: every one expires, is stored only as a sha256, can be revoked, and records when it
was last used.

Two kinds share the `api_token` table: "api" tokens go in `Authorization: Bearer` (`reviewflow token create`,
`POST /api/auth/token`); "session" secrets live only inside the signed page cookie and are refused as bearer tokens,
so a cookie is no API credential. Revoking either, or deactivating its person, ends it on the very next request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import audit
from engine.core import clock
from engine.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from engine.core.settings import get_settings
from engine.org import policy
from engine.org.people import normalize_email
from engine.store.models import ApiToken, Person
from engine.store.transaction import transact, transactional

log = logging.getLogger(__name__)
KINDS = ("api", "session")
TOUCH_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often per token
LIST_LIMIT = 200


@dataclass(frozen=True)
class Issued:
    id: int
    raw: str  # shown once; only its sha256 is stored
    expires_at: datetime


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def lifetime(hours: int | None) -> timedelta:
    """`hours` as a lifetime (None: REVIEWFLOW_API_TOKEN_HOURS); zero, negative or over the maximum is refused."""
    settings = get_settings()
    hours = settings.api_token_hours if hours is None else hours
    longest = settings.token_max_hours
    if hours <= 0 or hours > longest:
        raise InvalidInput(
            f"A token must expire: give a lifetime from 1 to {longest} hours (REVIEWFLOW_TOKEN_MAX_HOURS), not {hours}."
        )
    return timedelta(hours=hours)


def issue(session: Session, *, person: Person, hours: int | None, label: str, kind: str, actor: str) -> Issued:
    """Issue a token inside the caller's transaction."""
    assert kind in KINDS, kind
    raw = ("rs_" if kind == "session" else "rf_") + secrets.token_urlsafe(32)
    expires = clock.now() + lifetime(hours)
    token = ApiToken(person_id=person.id, token_hash=digest(raw), label=label[:100], kind=kind, expires_at=expires)
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="session.started" if kind == "session" else "token.issued",
        payload={"email": person.email, "token_id": token.id, "label": label, "expires_at": expires.isoformat()},
    )
    return Issued(token.id, raw, expires)


@transactional
def issue_token(session: Session, *, email: str, hours: int | None = None, label: str, actor: str) -> str:
    """A new bearer token for the active person with this email (stored only as a hash)."""
    person = session.scalar(select(Person).where(Person.email == normalize_email(email)))
    if person is None or not person.active:
        raise NotFound(f"No active person with email {email}. Import the org chart or create an account first.")
    return issue(session, person=person, hours=hours, label=label, kind="api", actor=actor).raw


def authenticate(session: Session, raw: str, *, kind: str = "api") -> ApiToken:
    """The live token of this kind for `raw`, its person active; Unauthorized saying why otherwise."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None or token.kind != kind:
        raise Unauthorized("The bearer token is not valid." if kind == "api" else "The session is not valid.")
    if not token.person.active:
        raise Unauthorized("This account has been deactivated; ask HR to reactivate it.")
    if token.revoked_at is not None:
        raise Unauthorized("This token was revoked (signed out or ended by HR); sign in again.")
    expires = clock.as_utc(token.expires_at)
    if expires is not None and expires <= clock.now():
        raise Unauthorized("The bearer token has expired; sign in again.")
    _touch(session, token)
    return token


def person_for_token(session: Session, raw: str, *, kind: str = "api") -> Person:
    return authenticate(session, raw, kind=kind).person


def _touch(session: Session, token: ApiToken) -> None:
    """Record the use (at most once a minute); a busy database only delays the record, never the request."""
    now = clock.now()
    last = clock.as_utc(token.last_used_at)
    if last is not None and now - last < TOUCH_EVERY:
        return
    statement = update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
    try:
        transact(session, lambda: session.execute(statement), attempts=1)  # also sets token.last_used_at
    except (Conflict, SQLAlchemyError) as exc:
        log.info("could not record the use of token %s: %s", token.id, exc.__class__.__name__)


def status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    expires = clock.as_utc(token.expires_at)
    return "expired" if expires is not None and expires <= clock.now() else "active"


def as_dict(token: ApiToken, *, current_id: int | None = None) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        value = clock.as_utc(value)
        return value.isoformat() if value is not None else None

    return {
        "id": token.id,
        "email": token.person.email,
        "kind": token.kind,
        "label": token.label,
        "status": status(token),
        "created_at": stamp(token.created_at),
        "expires_at": stamp(token.expires_at),
        "last_used_at": stamp(token.last_used_at),
        "revoked_at": stamp(token.revoked_at),
        "revoked_by": token.revoked_by,
        "current": token.id == current_id,
    }


def list_tokens(session: Session, *, viewer: Person | None, email: str | None = None) -> list[ApiToken]:
    """A person's tokens and sessions, newest first: the viewer's own, or (HR, admins, auditors; None = the CLI)
    anybody's by email."""
    owner = viewer
    if email is not None and (viewer is None or normalize_email(email) != viewer.email):
        if viewer is not None and not policy.allows(viewer, policy.READ_ALL):  # may list anybody's tokens
            raise Forbidden("Only HR, admins and auditors may list other people's tokens.")
        owner = session.scalar(select(Person).where(Person.email == normalize_email(email)))
        if owner is None:
            raise NotFound(f"No person with email {email}.")
    if owner is None:
        raise InvalidInput("Name whose tokens to list (an email).")
    query = select(ApiToken).where(ApiToken.person_id == owner.id).order_by(ApiToken.id.desc()).limit(LIST_LIMIT)
    return list(session.scalars(query))


@transactional
def revoke(session: Session, *, token_id: int, viewer: Person | None, actor: str) -> ApiToken:
    """Revoke one token or session: its owner, HR or an admin (viewer None = the CLI). Revoking twice changes
    nothing."""
    token = session.get(ApiToken, token_id)
    if token is not None and viewer is not None and token.person_id != viewer.id:
        if not policy.allows(viewer, policy.READ_ALL):
            token = None  # not theirs: they learn nothing
        elif not policy.allows(viewer, policy.MANAGE):  # may revoke anybody's tokens
            raise Forbidden("Only HR and admins may revoke other people's tokens.")
    if token is None:
        raise NotFound(f"No token with id {token_id} for you.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = clock.now(), actor
        audit.record(
            session,
            actor=actor,
            action="token.revoked",
            payload={"email": token.person.email, "token_id": token.id, "kind": token.kind},
        )
    session.flush()
    return token


def revoke_all(session: Session, *, person_id: int, actor: str) -> int:
    """Revoke every live token and session of a person inside the caller's transaction; how many there were."""
    now = clock.now()
    alive = (ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    live = session.scalars(select(ApiToken).where(*alive)).all()
    for token in live:
        token.revoked_at, token.revoked_by = now, actor
    session.flush()
    return len(live)
