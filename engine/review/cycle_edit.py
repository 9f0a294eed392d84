"""Correcting a cycle's settings after creation (also while it runs): validated as at create, audited with the
before/after of each changed key; and the job that re-checks them when HR resolves a settings incident."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.core.errors import Conflict, InvalidInput, NotFound
from engine.review import cycle_settings
from engine.review.cycles import get_cycle
from engine.store.models import Cycle, Instance, Person
from engine.store.transaction import transact

# Read from the cycle whenever they are used; the other settings are frozen into each review when it starts.
APPLIED_AT_ONCE = frozenset({"score", "distribution", "reminders", "calibration_reasons"})


def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`current` with `changes` laid over it: an object value is merged one level deep (`{"goals": {"min": 2}}`
    keeps the current max), except the score, which is replaced whole; anything else replaces the value."""
    out = copy.deepcopy(current)
    for key, value in changes.items():
        if key not in cycle_settings.REPLACED_WHOLE and isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def change_settings(session: Session, *, actor: Person, cycle_id: int, changes: Any) -> tuple[Cycle, list[str]]:
    """Apply a partial settings object to a cycle (checked as at create, formula samples included); returns the
    cycle and warnings about changed settings that reviews already started keep as they were launched."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput(
            'Give the settings to change as a JSON object, e.g. {"score": {"formula": "(goal + manager) / 2"}}.',
            errors=[{"path": "settings", "message": "a non-empty object"}],
        )

    def work() -> tuple[Cycle, list[str]]:
        cycle = session.scalars(
            select(Cycle).where(Cycle.id == cycle_id).with_for_update().execution_options(populate_existing=True)
        ).first()
        if cycle is None:
            raise NotFound(f"No cycle with id {cycle_id}.")
        if cycle.status == "closed":
            raise Conflict(f"Cycle {cycle.id} is closed; its settings can no longer change.")
        before = cycle.settings or {}
        clean = cycle_settings.validate(merged(before, changes))
        changed = sorted(k for k in clean if clean.get(k) != before.get(k))
        if not changed:
            return cycle, []
        cycle.settings = clean
        audit.record(
            session,
            actor=actor.email,
            action="cycle.settings_changed",
            cycle_id=cycle.id,
            payload={"changed": {k: {"before": before.get(k), "after": clean[k]} for k in changed}},
        )
        started = session.scalar(select(func.count()).select_from(Instance).where(Instance.cycle_id == cycle.id))
        warnings = [
            f"{k}: the {started} review(s) already started keep the value they were launched with; "
            "reviews started from now on use the new one."
            for k in changed
            if k not in APPLIED_AT_ONCE and started
        ]
        return cycle, warnings

    return transact(session, work)


@jobs.job
def check_cycle_settings(session: Session, cycle_id: int) -> None:
    """Run when HR resolves a settings incident: fails (the incident opens again) while the settings still fail."""
    cycle = get_cycle(session, cycle_id)
    try:
        cycle_settings.validate(cycle.settings or {})
    except InvalidInput as exc:
        problems = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in exc.errors)
        raise ValueError(f"cycle {cycle_id} settings still fail: {problems}") from None
