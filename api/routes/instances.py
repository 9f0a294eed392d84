from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPerson, ReaderPerson, SessionDep
from api.schemas import EventList, InstanceDetail, Verify
from engine import audit, views

router = APIRouter(prefix="/api", tags=["instances", "audit"])


@router.get("/instances/{instance_id}", response_model=InstanceDetail)
def get_instance(instance_id: int, session: SessionDep, actor: CurrentPerson) -> dict:
    """An instance's status and the tasks the caller may see."""
    return views.instance_detail(session, actor=actor, instance_id=instance_id)


@router.get("/instances/{instance_id}/events", response_model=EventList)
def instance_events(instance_id: int, session: SessionDep, _actor: ReaderPerson) -> dict:
    """The audit timeline of one instance."""
    return {"items": views.instance_events(session, instance_id=instance_id)}


@router.get("/audit/verify", response_model=Verify, response_model_exclude_none=True)
def verify(session: SessionDep, _actor: ReaderPerson) -> dict:
    """Check the audit chain; names the first bad row."""
    v = audit.verify(session)
    out: dict = {"ok": v.ok, "checked": v.checked}
    if not v.ok:
        out.update(first_bad_seq=v.first_bad_seq, reason=v.reason)
    return out
