"""A manager's team: each direct report's stage in each running cycle, what waits on the manager, what is overdue.
Only the caller's own direct reports (engine/org/scope.py); 403 for somebody nobody reports to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentPerson, SessionDep
from api.responses import ERRORS
from api.schemas import Out, PersonRef
from engine.queries import inbox

router = APIRouter(prefix="/api/team", tags=["team"], responses=ERRORS)


class StepHolder(PersonRef):
    relation: str  # you, manager, subject, report or other (as seen by the caller)


class TeamStep(Out):
    id: int
    title: str
    lane: str
    who: list[StepHolder]
    due_at: str | None
    overdue: bool
    yours: bool


class CycleRef(Out):
    id: int | None
    name: str


class TeamReview(Out):
    cycle: CycleRef
    instance_id: int
    stages: list[TeamStep]
    feedback_open: bool  # colleagues' 360 feedback is being collected (who and how many stay confidential)
    waiting_on_me: list[TeamStep]
    overdue: bool


class TeamMember(Out):
    person: PersonRef
    title: str | None
    reviews: list[TeamReview]


class Team(Out):
    items: list[TeamMember]


@router.get("", response_model=Team)
def my_team(session: SessionDep, actor: CurrentPerson) -> dict[str, Any]:
    """The caller's direct reports and where each of their running reviews stands."""
    return {"items": inbox.team(session, manager=actor)}
