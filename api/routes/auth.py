from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPerson, SessionDep
from engine import accounts
from engine.people import person_ref
from engine.settings import get_settings

router = APIRouter(prefix="/api", tags=["auth"])


class Login(BaseModel):
    email: str
    password: str


@router.post("/auth/token")
def create_token(body: Login, session: SessionDep) -> dict:
    """Exchange email and password for a bearer token."""
    token = accounts.login(session, email=body.email, password=body.password, hours=get_settings().token_hours)
    return {"access_token": token, "token_type": "bearer", "expires_in": get_settings().token_hours * 3600}


@router.get("/me")
def me(person: CurrentPerson) -> dict:
    """Who the token belongs to, with roles."""
    return {
        **(person_ref(person) or {}),
        "id": person.id,
        "locale": person.locale,
        "roles": sorted(accounts.roles_of(person)),
    }
