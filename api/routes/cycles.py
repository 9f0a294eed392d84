from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import HRPerson, Id, ScopedReader, SessionDep
from api.responses import ERRORS
from api.schemas import CycleOut, CycleSettingsOut, ParticipantsAdded, Preflight, Released
from engine.ops import participants as adding
from engine.org import scope
from engine.review import cycle_edit, cycles
from engine.review import launch as bulk_launch
from engine.review import release as releasing
from engine.store.models import Cycle

router = APIRouter(prefix="/api/cycles", tags=["cycles"], responses=ERRORS)


class CycleIn(BaseModel):
    name: str
    definition: str | dict[str, Any]
    participants: Any = "all"
    settings: dict[str, Any] | None = None


def _view(session: Any, c: Cycle, subjects: scope.Subjects = None) -> dict:
    """The whole cycle; for an HR partner (`subjects`) only counts over their people, none of the cycle's lists."""
    view = {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "definition": {"key": c.definition.key, "version": c.definition.version},
        "counts": cycles.counts(session, c.id, subjects),
        "scope": scope.describe(subjects),
    }
    if subjects is None:
        view |= {
            "participants": c.participants,
            "settings": c.settings,
            "launch_problems": c.launch_problems,
            "launch": bulk_launch.progress(session, c.id),
        }
    return view


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


# exclude_unset: what an HR partner's view withholds is left out, not sent as null
@router.get("", response_model=list[CycleOut], response_model_exclude_unset=True)
def list_cycles(session: SessionDep, actor: ScopedReader) -> list[dict]:
    """Every cycle with its counts (an HR partner's: over the people partnered to them)."""
    subjects = scope.subjects_in_scope(session, actor)
    return [_view(session, c, subjects) for c in session.scalars(select(Cycle).order_by(Cycle.id))]


@router.get("/{cycle_id}", response_model=CycleOut, response_model_exclude_unset=True)
def get_cycle(cycle_id: Id, session: SessionDep, actor: ScopedReader) -> dict:
    """A cycle's status and counts (an HR partner's: over the people partnered to them)."""
    return _view(session, cycles.get_cycle(session, cycle_id), scope.subjects_in_scope(session, actor))


@router.patch("/{cycle_id}/settings", response_model=CycleSettingsOut)
def change_settings(cycle_id: Id, body: dict[str, Any], session: SessionDep, actor: HRPerson) -> dict:
    """Correct some settings of a cycle, also while it runs (checked as at create; audited before/after)."""
    c, warnings = cycle_edit.change_settings(session, actor=actor, cycle_id=cycle_id, changes=body)
    return _view(session, c) | {"warnings": warnings}


@router.post("/{cycle_id}/preflight", response_model=Preflight)
def preflight(cycle_id: Id, session: SessionDep, _actor: HRPerson) -> dict:
    """What would go wrong per person, and the load per reviewer; creates nothing."""
    return cycles.preflight(session, cycle_id=cycle_id)


@router.post("/{cycle_id}/launch", status_code=202, response_model=CycleOut)
def launch(cycle_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """Start one instance per participant in the background; poll the cycle for progress."""
    c = cycles.launch(session, actor=actor, cycle_id=cycle_id)
    session.expire_all()
    return _view(session, cycles.get_cycle(session, c.id))


@router.post("/{cycle_id}/release", response_model=Released)
def release(cycle_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """Release results: every review waiting for them moves on to the employee's acknowledgement."""
    return releasing.release_results(session, actor=actor, cycle_id=cycle_id)


class ParticipantsIn(BaseModel):
    emails: Any = None


@router.post("/{cycle_id}/participants", status_code=202, response_model=ParticipantsAdded)
def add_participants(cycle_id: Id, body: ParticipantsIn, session: SessionDep, actor: HRPerson) -> dict:
    """HR: add people to a running cycle; their reviews start in the background like a launch (poll the cycle)."""
    return adding.add(session, actor=actor, cycle_id=cycle_id, emails=body.emails)
