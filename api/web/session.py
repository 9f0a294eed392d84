"""Page sessions: a signed, HttpOnly cookie holding a session id and a CSRF secret.

The cookie is `base64(json).hmac` signed with REVIEWFLOW_SECRET_KEY. The session id is the secret of a server-side
session (engine/org/tokens.py, kind "session", stored hashed): it is no bearer token (the API refuses it), it expires
after REVIEWFLOW_TOKEN_HOURS, and signing out, revoking it (`DELETE /api/tokens/{id}`) or deactivating the person
ends it on the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from api.deps import SessionDep
from engine.core.errors import Forbidden, Unauthorized
from engine.core.settings import get_settings
from engine.org import accounts, policy, scope, tokens
from engine.store import secret_key
from engine.store.models import Person

COOKIE = "rf_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, copied out of the database session (error pages render after it closed)."""

    name: str
    email: str
    locale: str
    roles: frozenset[str]
    manages: bool = False  # has active direct reports: the nav links their team page (/team)
    time_zone: str | None = None  # the zone the person chose (any device); None: the browser's (cookie)


class LoginRequired(Exception):
    """Not signed in (or the session expired): pages answer with a redirect to the login page."""


def _key() -> bytes:
    return hashlib.sha256(b"reviewflow-web:" + secret_key.secret().encode()).digest()


def _sign(raw: bytes) -> str:
    return hmac.new(_key(), raw, hashlib.sha256).hexdigest()


def encode(data: dict[str, Any]) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return raw.decode() + "." + _sign(raw)


def decode(value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    raw, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(_sign(raw.encode()), signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read(request: Request) -> dict[str, Any]:
    """The session of this request (possibly empty, never None); cached on the request."""
    if "rf_session" not in request.state._state:
        request.state.rf_session = decode(request.cookies.get(COOKIE)) or {}
    return request.state.rf_session


def start(response: Response, request: Request, session_id: str, *, via: str = "password") -> None:
    """Sign in: a fresh CSRF secret with the session id (and how the person signed in: "password" or "oidc")."""
    data = {"sid": session_id, "csrf": secrets.token_urlsafe(24), "via": via}
    request.state.rf_session = data
    _set(response, request, data)


def _set(response: Response, request: Request, data: dict[str, Any]) -> None:
    response.set_cookie(
        COOKIE,
        encode(data),
        max_age=get_settings().token_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def safe_next(target: str | None) -> str:
    """Only a local path: never send a person to another site after signing in."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def csrf_token(request: Request) -> str:
    """The CSRF secret of this browser; an anonymous visitor (the login form) gets one in a cookie too."""
    data = read(request)
    if not data.get("csrf"):
        data["csrf"] = secrets.token_urlsafe(24)
        request.state.rf_session_dirty = True
    return str(data["csrf"])


def persist_if_changed(request: Request, response: Response) -> None:
    if getattr(request.state, "rf_session_dirty", False):
        _set(response, request, read(request))


def session_id(request: Request) -> str | None:
    value = read(request).get("sid")
    return str(value) if value else None


def page_person(request: Request, session: SessionDep) -> Person:
    sid = session_id(request)
    if not sid:
        raise LoginRequired()
    try:
        person = tokens.person_for_token(session, sid, kind="session")
    except Unauthorized as exc:
        raise LoginRequired() from exc
    manages = bool(scope.direct_reports(session, person))
    request.state.viewer = Viewer(
        person.name, person.email, person.locale, frozenset(accounts.roles_of(person)), manages, person.time_zone
    )
    return person


WebPerson = Annotated[Person, Depends(page_person)]


async def check_csrf(request: Request) -> None:
    """Every state-changing request carries the session's CSRF secret (form field or header)."""
    expected = read(request).get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("This form has expired or did not come from Reviewflow. Reload the page and try again.")


CSRF = Depends(check_csrf)


def web_require(permission: str) -> Callable[[Person], Person]:
    """A page dependency that lets through people holding `permission` (engine/org/policy.py)."""

    def check(person: WebPerson) -> Person:
        if not policy.allows(person, permission):
            raise Forbidden(f"This page needs one of the roles: {', '.join(policy.holders(permission))}.")
        return person

    return check


WebHR = Annotated[Person, Depends(web_require(policy.MANAGE))]
WebReader = Annotated[Person, Depends(web_require(policy.READ_ALL))]
WebDeployer = Annotated[Person, Depends(web_require(policy.DEPLOY))]
WebDefinitionReader = Annotated[Person, Depends(web_require(policy.READ_DEFINITIONS))]
