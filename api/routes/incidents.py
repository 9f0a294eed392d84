from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import HRPerson, Id, ReaderPerson, SessionDep
from api.responses import ERRORS
from api.schemas import IncidentList, IncidentOut
from engine.jobs import incidents

router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=ERRORS)


@router.get("", response_model=IncidentList)
def list_incidents(
    session: SessionDep, _actor: ReaderPerson, status: Literal["open", "retrying", "resolved"] | None = None
) -> dict:
    """Jobs that failed on every attempt (newest first), for HR and auditors."""
    return {"items": [incidents.view(i) for i in incidents.list_incidents(session, status=status)]}


@router.post("/{incident_id}/resolve", status_code=202, response_model=IncidentOut)
def resolve(incident_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """Run the failed job once more; the incident shows the outcome (resolved, or open again)."""
    return incidents.view(incidents.resolve(session, actor=actor, incident_id=incident_id))
