"""Signing in and out, one's tokens and sessions, and HR's view of sign-in lockouts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import CurrentPerson, CurrentToken, HRPerson, Id, ReaderPerson, SessionDep, client_address
from api.responses import ERRORS, TOO_MANY_ATTEMPTS
from api.schemas import LockoutList, Me, TokenIssued, TokenList, TokenOut, Unlocked
from engine.core.errors import InvalidInput
from engine.core.settings import get_settings
from engine.org import accounts, signin, tokens
from engine.org.people import person_ref

router = APIRouter(prefix="/api", tags=["auth"], responses=ERRORS)


class Login(BaseModel):
    email: str
    password: str


class Unlock(BaseModel):
    email: str | None = None
    address: str | None = None


@router.post("/auth/token", response_model=TokenIssued, responses=TOO_MANY_ATTEMPTS)
def create_token(body: Login, request: Request, session: SessionDep) -> dict:
    """Exchange email and password for a bearer token (429 with Retry-After after too many failures)."""
    hours = get_settings().token_hours
    token = accounts.login(
        session, email=body.email, password=body.password, address=client_address(request), hours=hours
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": hours * 3600}


@router.post("/auth/logout", response_model=TokenOut)
def logout(token: CurrentToken, session: SessionDep) -> dict:
    """Revoke the bearer token this request was sent with."""
    done = tokens.revoke(session, token_id=token.id, viewer=token.person, actor=token.person.email)
    return tokens.as_dict(done)


@router.get("/me", response_model=Me)
def me(person: CurrentPerson) -> dict:
    """Who the token belongs to, with roles."""
    return {
        **(person_ref(person) or {}),
        "id": person.id,
        "locale": person.locale,
        "roles": sorted(accounts.roles_of(person)),
    }


@router.get("/tokens", response_model=TokenList)
def list_tokens(token: CurrentToken, session: SessionDep, email: str | None = None) -> dict:
    """Your tokens and web sessions, newest first; HR, admins and auditors may ask for anybody's (`?email=`)."""
    found = tokens.list_tokens(session, viewer=token.person, email=email)
    return {"items": [tokens.as_dict(t, current_id=token.id) for t in found]}


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: Id, token: CurrentToken, session: SessionDep) -> dict:
    """Revoke a token or web session: your own; HR and admins anybody's. It stops working at once."""
    done = tokens.revoke(session, token_id=token_id, viewer=token.person, actor=token.person.email)
    return tokens.as_dict(done, current_id=token.id)


@router.get("/accounts/lockouts", response_model=LockoutList)
def lockouts(session: SessionDep, _reader: ReaderPerson) -> dict:
    """Emails and client addresses locked now by failed sign-ins, with when each unlocks by itself."""
    return {"items": [lock.as_dict() for lock in signin.lockouts(session)]}


@router.post("/accounts/lockouts/unlock", response_model=Unlocked)
def unlock(body: Unlock, session: SessionDep, actor: HRPerson) -> dict:
    """Forgive the failed sign-ins of one email or one address (`{"email"}` or `{"address"}`)."""
    email, address = (body.email or "").strip() or None, (body.address or "").strip() or None  # blank: not sent
    if (email is None) == (address is None):
        raise InvalidInput(
            "Send exactly one of email or address.", errors=[{"path": "email", "message": "email or address"}]
        )
    cleared = signin.unlock(session, email=email, address=address, actor=actor.email)
    return {"unlocked": email or address, "failures_forgiven": cleared}
