"""The distribution-guidance report: each group's overall ratings in a cycle against the cycle's guidance (the rules
themselves are the review package's: engine/review/guidance.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from engine.org import scope
from engine.reports import standard
from engine.review.guidance import DEFAULT, compare


def report(
    session: Session, cycle_id: int, by: str = "department", stage: str = "before", subjects: scope.Subjects = None
) -> dict[str, Any]:
    """Each group's overall ratings (the manager's, or after appeals/calibration) against the cycle's guidance;
    `subjects` keeps only those people (engine/org/scope.py)."""
    c = standard.CycleData(session, cycle_id, subjects)
    key = standard.grouper(c, by)
    settings = c.cycle.settings or {}
    guidance = settings.get("distribution") or DEFAULT
    pick = 0 if stage == "before" else 1
    groups: dict[str, list[float]] = defaultdict(list)
    everyone = []
    for instance_id, pair in standard.overall_ratings(c).items():
        value = pair[pick]
        if value is None:
            continue
        groups[key(instance_id)[1]].append(value)
        everyone.append(value)
    return {
        "cycle_id": cycle_id,
        "by": by,
        "stage": stage,
        "guidance": guidance,
        "overall": {"n": len(everyone), "bands": compare(everyone, guidance)},
        "groups": [{"group": g, "n": len(v), "bands": compare(v, guidance)} for g, v in sorted(groups.items())],
    }
