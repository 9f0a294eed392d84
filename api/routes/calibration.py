"""Calibration groups of a cycle: HR creates and opens them; readers, the facilitator and the committee read them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentPerson, HRPerson, Id, ReaderPerson, SessionDep
from api.responses import ERRORS
from api.schemas import CalibrationGroupDetail, CalibrationGroupList, CalibrationGroupOut
from engine import calibration
from engine.calibration import view as calibration_view
from engine.core.errors import NotFound
from engine.org import policy
from engine.review.cycles import get_cycle
from engine.store.models import CalibrationGroup, Person

router = APIRouter(tags=["calibration"], responses=ERRORS)


class GroupIn(BaseModel):
    name: str
    selector: dict[str, Any]
    facilitator: str
    committee: list[str]


def _summary(session: Session, group: CalibrationGroup) -> dict[str, Any]:
    ids = {group.facilitator_id, *group.committee}
    emails = dict(session.execute(select(Person.id, Person.email).where(Person.id.in_(ids))).all())
    return {
        "id": group.id,
        "cycle_id": group.cycle_id,
        "name": group.name,
        "selector": group.selector,
        "status": group.status,
        "facilitator": emails.get(group.facilitator_id),
        "committee": [emails[i] for i in group.committee if i in emails],
        "members": len(group.members),
        "instance_id": group.instance_id,
        "opened_at": group.opened_at.isoformat() if group.opened_at else None,
        "locked_at": group.locked_at.isoformat() if group.locked_at else None,
    }


@router.post("/api/cycles/{cycle_id}/calibration-groups", status_code=201, response_model=CalibrationGroupOut)
def create_group(cycle_id: Id, body: GroupIn, session: SessionDep, actor: HRPerson) -> dict:
    """A group chosen by `{"department": name}`, `{"subtree": manager email}` or `{"people": [emails]}`, with a
    facilitator and a committee. It opens by itself once every member's manager review is in."""
    group = calibration.create_group(
        session,
        actor=actor,
        cycle_id=cycle_id,
        name=body.name,
        selector=body.selector,
        facilitator=body.facilitator,
        committee=body.committee,
    )
    return _summary(session, group)


@router.get("/api/cycles/{cycle_id}/calibration-groups", response_model=CalibrationGroupList)
def list_groups(cycle_id: Id, session: SessionDep, _actor: ReaderPerson) -> dict:
    """The cycle's groups, and the participants in no group (with calibration on, their reviews would wait)."""
    cycle = get_cycle(session, cycle_id)
    return {
        "items": [_summary(session, g) for g in calibration.groups_of(session, cycle_id)],
        "ungrouped": calibration.ungrouped(session, cycle),
    }


@router.get("/api/calibration-groups/{group_id}", response_model=CalibrationGroupDetail)
def get_group(group_id: Id, session: SessionDep, person: CurrentPerson) -> dict:
    """The session's view: manager and calibrated ratings side by side, 9-box and the distribution against the
    cycle's guidance. For readers, the facilitator and the committee; nobody else learns the group exists."""
    group = session.get(CalibrationGroup, group_id)
    allowed = group is not None and (
        policy.allows(person, policy.READ_ALL) or person.id in {group.facilitator_id, *group.committee}
    )
    if group is None or not allowed:
        raise NotFound(f"No calibration group with id {group_id}.")
    return _summary(session, group) | {"view": calibration_view.build(session, group)}


@router.post("/api/calibration-groups/{group_id}/open", response_model=CalibrationGroupOut)
def open_group(group_id: Id, session: SessionDep, actor: HRPerson) -> dict:
    """Open the session now, before every manager review is in (those not rated yet are listed as such)."""
    return _summary(session, calibration.open_group(session, actor=actor, group_id=group_id))
