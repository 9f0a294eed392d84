from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPerson, HRPerson, Id, ReaderPerson, SessionDep
from api.responses import ERRORS
from api.schemas import EventList, InstanceCancelled, InstanceDetail, RaterDetailOpened, Verify
from engine import audit
from engine.ops import cancel as cancelling
from engine.queries import views
from engine.review import anonymity

router = APIRouter(prefix="/api", tags=["instances", "audit"], responses=ERRORS)


@router.get("/instances/{instance_id}", response_model=InstanceDetail)
def get_instance(instance_id: Id, session: SessionDep, actor: CurrentPerson) -> dict:
    """An instance's status and the tasks the caller may see."""
    return views.instance_detail(session, actor=actor, instance_id=instance_id)


@router.get("/instances/{instance_id}/events", response_model=EventList)
def instance_events(instance_id: Id, session: SessionDep, actor: ReaderPerson) -> dict:
    """The audit timeline of one instance; rater rows redacted unless rater detail is open for the caller."""
    return views.instance_events(session, actor=actor, instance_id=instance_id)


class RaterDetailRequest(BaseModel):
    reason: Any = None


class CancelRequest(BaseModel):
    reason: Any = None


@router.post("/instances/{instance_id}/cancel", response_model=InstanceCancelled)
def cancel_instance(instance_id: Id, body: CancelRequest, session: SessionDep, actor: HRPerson) -> dict:
    """HR: cancel one review while the cycle runs; its open tasks are withdrawn, it is kept read only and counted
    apart from reports and completion counts."""
    return cancelling.cancel(session, actor=actor, instance_id=instance_id, reason=body.reason)


@router.post("/instances/{instance_id}/rater-detail", response_model=RaterDetailOpened, status_code=201)
def open_rater_detail(instance_id: Id, body: RaterDetailRequest, session: SessionDep, actor: ReaderPerson) -> dict:
    """Show who gave which answer in this review to the caller for a while; audited with the reason."""
    return anonymity.open_detail(session, viewer=actor, instance_id=instance_id, reason=body.reason)


@router.get("/audit/verify", response_model=Verify, response_model_exclude_none=True)
def verify(session: SessionDep, _actor: ReaderPerson) -> dict:
    """Check the audit chain and its checkpoints; names the first bad row and what happened to it."""
    v = audit.verify(session)
    return asdict(v) if not v.ok else {k: val for k, val in asdict(v).items() if k not in ("first_bad_seq", "reason")}
