"""Lanes → people: who does a user task, from the lane drawn on it and the org chart frozen at launch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import actors
from engine.core.actors import norm as norm  # the lane names live in engine/core/actors.py; lanes speaks them too
from engine.org import policy
from engine.store.models import Account, Person

EMPLOYEE, MANAGER, SKIP, HR = actors.EMPLOYEE, actors.MANAGER, actors.SKIP, actors.HR
PEER, DIRECT, COMMITTEE, FACILITATOR = actors.PEER, actors.DIRECT, actors.COMMITTEE, actors.FACILITATOR
STANDARD, PER_ITEM, PER_MEMBER = actors.STANDARD, actors.PER_ITEM, actors.PER_MEMBER


def unknown_lanes(lanes: list[str]) -> list[str]:
    return [lane for lane in lanes if norm(lane) not in STANDARD]


def hr_admins(session: Session) -> list[Person]:
    people = session.scalars(select(Person).join(Account, Account.person_id == Person.id).where(Person.active))
    return [p for p in people if policy.allows(p, policy.HR_LANE)]


def freeze(session: Session, subject: Person, settings: dict[str, Any]) -> dict[str, list[str]]:
    """The subject's lane map at launch: standard lane → emails (empty when the lane resolves to nobody)."""
    manager = subject.manager if subject.manager and subject.manager.active else None
    above = subject.manager.manager if subject.manager else None  # the skip-level stays even if the manager left
    skip = above if above is not None and above.active else None
    partner = subject.hr_partner if subject.hr_partner and subject.hr_partner.active else None
    hr = [partner.email] if partner else [p.email for p in hr_admins(session) if p.id != subject.id]
    committee = [e.lower() for e in settings.get("calibration_committee", []) if isinstance(e, str)]
    reports = session.scalars(select(Person.email).where(Person.manager_id == subject.id, Person.active))
    return {
        EMPLOYEE: [subject.email],
        MANAGER: [manager.email] if manager else [],
        SKIP: [skip.email] if skip else [],
        HR: hr,
        COMMITTEE: committee,
        DIRECT: sorted(reports),
    }


def problems_for(lane_map: dict[str, list[str]], lanes_used: list[str]) -> list[str]:
    """Launch-blocking problems: a lane the diagram uses that resolves to nobody for this subject."""
    out = []
    for lane in lanes_used:
        key = norm(lane)
        if key in PER_ITEM or key not in STANDARD:
            continue
        if not lane_map.get(key):
            reason = {
                MANAGER: "has no manager",
                SKIP: "has no skip-level manager",
                HR: "has no HR partner, and no other HR admin can take it",
                COMMITTEE: "the cycle has no calibration committee",
                FACILITATOR: "the calibration group has no facilitator",
            }.get(key, "resolves to nobody")
            out.append(f"lane '{lane}': {reason}")
    return out


def _emails(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip().lower()]
    if isinstance(value, dict) and isinstance(value.get("email"), str):
        return [value["email"].strip().lower()]
    if isinstance(value, list):
        return [e for v in value for e in _emails(v)]
    return []


def assignees_for(lane: str | None, lane_map: dict[str, list[str]], data: dict[str, Any], item: Any) -> list[str]:
    """Emails of who may do a task: `lane_owners` in task data wins, then the element variable of a
    per-person multi-instance lane, then the frozen lane map."""
    owners = data.get("lane_owners")
    if isinstance(owners, dict) and lane:
        for name, value in owners.items():
            if isinstance(name, str) and norm(name) == norm(lane) and _emails(value):
                return _emails(value)
    key = norm(lane)
    if item is not None and (key in PER_MEMBER or key not in STANDARD) and _emails(item):
        return _emails(item)
    return list(lane_map.get(key, []))
