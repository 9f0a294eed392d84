"""Erasure (PIPL / GDPR): one HR admin asks, a second approves; anyone exports what is held about them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPerson, HRPerson, Id, SessionDep
from api.responses import ERRORS
from api.schemas import ErasureOut, MyData
from engine.ops import erasure
from engine.queries import my_data

router = APIRouter(prefix="/api", tags=["erasure"], responses=ERRORS)


class ErasureRequestBody(BaseModel):
    reason: Any = None


@router.post("/people/{person_id}/erasure", response_model=ErasureOut, status_code=201)
def request_erasure(person_id: Id, body: ErasureRequestBody, session: SessionDep, actor: HRPerson) -> dict[str, Any]:
    """HR: ask to erase a person (PIPL / GDPR) with the reason; nothing is erased until a second HR admin approves
    (`POST /api/erasures/{id}/approve`)."""
    return erasure.request(session, actor=actor, person_id=person_id, reason=body.reason)


@router.post("/erasures/{request_id}/approve", response_model=ErasureOut)
def approve_erasure(request_id: Id, session: SessionDep, actor: HRPerson) -> dict[str, Any]:
    """A second HR admin (not the one who asked) approves: the person's name, email and free-text answers are
    replaced everywhere; scores and counts stay; the audit chain still verifies (its redacted events counted)."""
    return erasure.approve(session, actor=actor, request_id=request_id)


@router.get("/me/export", response_model=MyData)
def export_my_data(session: SessionDep, person: CurrentPerson) -> dict[str, Any]:
    """Everything held about the caller as JSON: person record, roles, tokens (no secrets), the tasks they hold or
    completed with what they wrote, and the audit events they acted in."""
    return my_data.export(session, person=person)
