"""Moving a cycle's running reviews to another version of its diagram (preview, apply, revert one) and the what-if
replay of its completed reviews against another version. HR only (policy MANAGE)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import HRPerson, Id, SessionDep
from api.responses import ERRORS
from api.schemas import MigrationPlan, MigrationReverted, ReplayReport
from engine.ops import migrate, replay

router = APIRouter(prefix="/api", tags=["cycles", "instances"], responses=ERRORS)


class MigrateIn(BaseModel):
    to_version: int = Field(ge=1)
    dry_run: bool = False


class ReplayIn(BaseModel):
    to_version: int = Field(ge=1)


@router.post(
    "/cycles/{cycle_id}/migrate",
    response_model=MigrationPlan,
    responses={202: {"model": MigrationPlan, "description": "Applied: the reviews that can move are queued."}},
)
def migrate_cycle(
    cycle_id: Id, body: MigrateIn, response: Response, session: SessionDep, actor: HRPerson
) -> dict[str, Any]:
    """Which running reviews of the cycle can move to `to_version` and why not (`dry_run`); without `dry_run` those
    that can are moved in chunks on the workers (202), each audited and revertible. Again: moves only the rest."""
    report = migrate.migrate_cycle(
        session, actor=actor.email, cycle_id=cycle_id, to_version=body.to_version, dry_run=body.dry_run
    )
    if not body.dry_run:
        response.status_code = 202
    return report


@router.post("/instances/{instance_id}/migrate/revert", response_model=MigrationReverted)
def revert_migration(instance_id: Id, session: SessionDep, actor: HRPerson) -> dict[str, Any]:
    """Put a review back on the version it ran on before its last migration, while nothing has happened since
    (409 otherwise, or when it was never migrated)."""
    return migrate.revert(session, actor=actor.email, instance_id=instance_id)


@router.post("/cycles/{cycle_id}/replay", response_model=ReplayReport)
def replay_cycle(cycle_id: Id, body: ReplayIn, session: SessionDep, _actor: HRPerson) -> dict[str, Any]:
    """Re-run the recorded answers of the cycle's completed reviews against `to_version`, in memory (nothing is
    saved): per review whether the path, the final score or a branch would differ, and a summary."""
    try:
        return replay.replay_cycle(session, cycle_id=cycle_id, to_version=body.to_version)
    finally:
        session.rollback()  # nothing of a replay is kept
