from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import HRPerson, ReaderPerson, SessionDep
from api.schemas import CycleOut
from engine import cycles, messages
from engine import launch as bulk_launch
from engine.models import Cycle

router = APIRouter(prefix="/api/cycles", tags=["cycles"])


class CycleIn(BaseModel):
    name: str
    definition: str | dict[str, Any]
    participants: Any = "all"
    settings: dict[str, Any] | None = None


def _view(session: Any, c: Cycle) -> dict:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "definition": {"key": c.definition.key, "version": c.definition.version},
        "participants": c.participants,
        "settings": c.settings,
        "launch_problems": c.launch_problems,
        "counts": cycles.counts(session, c.id),
        "launch": bulk_launch.progress(session, c.id),
    }


@router.post("", status_code=201, response_model=CycleOut)
def create_cycle(body: CycleIn, session: SessionDep, actor: HRPerson) -> dict:
    """Create a draft cycle for a population, pinned to a definition version."""
    c = cycles.create_cycle(
        session,
        actor=actor,
        name=body.name,
        definition=body.definition,
        participants=body.participants,
        settings=body.settings,
    )
    return _view(session, c)


@router.get("", response_model=list[CycleOut])
def list_cycles(session: SessionDep, _actor: ReaderPerson) -> list[dict]:
    """Every cycle with its counts."""
    return [_view(session, c) for c in session.scalars(select(Cycle).order_by(Cycle.id))]


@router.get("/{cycle_id}", response_model=CycleOut)
def get_cycle(cycle_id: int, session: SessionDep, _actor: ReaderPerson) -> dict:
    """A cycle's status and counts."""
    return _view(session, cycles.get_cycle(session, cycle_id))


@router.post("/{cycle_id}/preflight")
def preflight(cycle_id: int, session: SessionDep, _actor: HRPerson) -> dict:
    """What would go wrong per person, and the load per reviewer; creates nothing."""
    return cycles.preflight(session, cycle_id=cycle_id)


@router.post("/{cycle_id}/launch", status_code=202)
def launch(cycle_id: int, session: SessionDep, actor: HRPerson) -> JSONResponse:
    """Start one instance per participant in the background; poll the cycle for progress."""
    c = cycles.launch(session, actor=actor, cycle_id=cycle_id)
    session.expire_all()
    return JSONResponse(_view(session, cycles.get_cycle(session, c.id)), status_code=202)


@router.post("/{cycle_id}/release")
def release(cycle_id: int, session: SessionDep, actor: HRPerson) -> dict:
    """Release results: every review waiting for them moves on to the employee's acknowledgement."""
    return messages.release_results(session, actor=actor, cycle_id=cycle_id)
