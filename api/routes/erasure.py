"""Erasure (PIPL / GDPR): one HR admin asks, a second approves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import HRPerson, Id, SessionDep
from api.responses import ERRORS
from api.schemas import ErasureOut
from engine.ops import erasure

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
