"""The world the OpenAPI fuzz test (tests/api/test_fuzz_openapi.py) runs against: the browser tests' world (cycles,
open and completed tasks, deployed diagrams) plus an account of every role with a bearer token, and a bystander whose
person and tokens the destructive operations act on instead of a role holder's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.org import accounts, tokens
from engine.store.models import ApiToken, Person
from tests.web import world, world_ops

# role -> the person holding it (employee and manager hold no account role: one is a report, one has reports)
HOLDERS = {
    "employee": world.EMPLOYEE,
    "manager": world.LEAD,
    "hr_admin": world.HR,
    "hr_partner": world_ops.ADD_EN,
    "auditor": world.AUDITOR,
    "admin": world_ops.ADD_ZH,
    "designer": "ceo@initech.test",
}
BYSTANDER = world_ops.CANCEL_EN
SPARE_TOKENS = 40  # the bystander's tokens `POST /api/auth/logout` signs out, one per generated request


def _token(session: Session, email: str, label: str) -> dict[str, Any]:
    raw = tokens.issue_token(session, email=email, hours=24, label=label, actor="test")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw)))
    assert token is not None
    return {"token": raw, "token_id": token.id, "person_id": token.person_id}


def build(session: Session) -> dict[str, Any]:
    info = world.build(session)
    session.rollback()
    accounts.set_roles(session, email=HOLDERS["hr_partner"], add=["hr_partner"], remove=[], actor="test")
    accounts.set_roles(session, email=HOLDERS["admin"], add=["admin"], remove=[], actor="test")
    roles = {role: _token(session, email, f"fuzz {role}") for role, email in HOLDERS.items()}
    bystander = session.scalar(select(Person).where(Person.email == BYSTANDER))
    assert bystander is not None
    spares = [_token(session, BYSTANDER, f"fuzz spare {i}") for i in range(SPARE_TOKENS)]
    return {**info, "roles": roles, "bystander": bystander.id, "spares": spares}
