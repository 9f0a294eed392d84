"""Request dependencies: one session per request, the authenticated person, role policies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from engine.core.errors import Forbidden, Unauthorized
from engine.org import policy, tokens
from engine.store import db
from engine.store.models import ApiToken, Person

_bearer = HTTPBearer(auto_error=False)

# Every id in a path (or query) is a 64-bit integer: SQLite and PostgreSQL store no larger one, and the drivers raise
# on a larger Python int instead of finding nothing. Out of range answers 422 naming the parameter, never a 500.
MAX_ID = 2**63 - 1
_ID_RANGE = {"ge": -MAX_ID - 1, "le": MAX_ID}
Id = Annotated[int, Path(**_ID_RANGE)]
QueryId = Annotated[int | None, Query(**_ID_RANGE)]


def get_session() -> Iterator[Session]:
    session = db.new_session()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy on this host, uvicorn's proxy headers set it)."""
    return request.client.host if request.client else "unknown"


def current_token(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiToken:
    if creds is None or not creds.credentials:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <token>'.")
    return tokens.authenticate(session, creds.credentials)


CurrentToken = Annotated[ApiToken, Depends(current_token)]


def current_person(token: CurrentToken) -> Person:
    return token.person


CurrentPerson = Annotated[Person, Depends(current_person)]


def require(permission: str) -> Callable[[Person], Person]:
    """A dependency that lets through people holding `permission` (engine/org/policy.py)."""

    def check(person: CurrentPerson) -> Person:
        if not policy.allows(person, permission):
            raise Forbidden(f"This needs one of the roles: {', '.join(policy.holders(permission))}.")
        return person

    return check


HRPerson = Annotated[Person, Depends(require(policy.MANAGE))]
ReaderPerson = Annotated[Person, Depends(require(policy.READ_ALL))]
# Readers plus HR partners, who see only the people partnered to them (engine/org/scope.py): reports, summaries.
ScopedReader = Annotated[Person, Depends(require(policy.READ_SCOPED))]
DeployerPerson = Annotated[Person, Depends(require(policy.DEPLOY))]
DefinitionReader = Annotated[Person, Depends(require(policy.READ_DEFINITIONS))]
