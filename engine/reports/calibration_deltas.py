"""Calibration deltas of a cycle: who moved, by how much and with which reason codes.

Read from the `calibration` rating records (each stored beside the manager's rating with the rating before, the
reason code and the comment). Only the people who took part in a calibration group appear; nobody who rated or
commented is named — the change belongs to the committee."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calibration.view import number
from engine.review.cycles import get_cycle
from engine.store.models import CalibrationGroup, Person, ReviewRecord


def _ref(person: Person | None) -> dict[str, Any] | None:
    return {"name": person.name, "email": person.email} if person else None


def _title(reason: Any, code: str | None) -> str | None:
    if isinstance(reason, dict):
        return reason.get("en") or reason.get("zh-CN") or code
    return reason if isinstance(reason, str) else code


def deltas(session: Session, cycle_id: int, subjects: set[int] | None = None) -> dict[str, Any]:
    """Every calibration change of the cycle and, per person, the manager's rating against the calibrated one.

    `subjects` limits the report to those people (a reader's scope); None means the whole cycle."""
    cycle = get_cycle(session, cycle_id)
    groups = list(session.scalars(select(CalibrationGroup).where(CalibrationGroup.cycle_id == cycle.id)))
    group_of = {m: g for g in groups for m in g.members if subjects is None or m in subjects}
    records = list(
        session.scalars(
            select(ReviewRecord)
            .where(ReviewRecord.cycle_id == cycle.id, ReviewRecord.kind == "rating")
            .where(ReviewRecord.dimension == "overall", ReviewRecord.source == "calibration")
            .where(ReviewRecord.superseded_at.is_(None))
            .order_by(ReviewRecord.id)
        )
    )
    records = [r for r in records if r.subject_id in group_of]
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(set(group_of))))}
    managers = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_({p.manager_id for p in people.values()} - {None})))
    }
    changes: list[dict[str, Any]] = []
    moved: dict[int, dict[str, Any]] = {}
    for r in records:
        person = people[r.subject_id]
        group = group_of[r.subject_id]
        manager_rating, before, after = number(r.data.get("manager")), number(r.data.get("before")), number(r.score)
        code = r.data.get("reason_code")
        entry = {
            "person": _ref(person),
            "department": person.department,
            "manager": _ref(managers.get(person.manager_id or 0)),
            "group": group.name,
            "manager_rating": manager_rating,
            "before": before,
            "after": after,
            "delta": _delta(after, before),
            "reason_code": code,
            "reason": _title(r.data.get("reason"), code),
            "comment": r.data.get("comment"),
            "at": r.created_at.isoformat() if r.created_at else None,
        }
        changes.append(entry)
        row = moved.setdefault(
            r.subject_id,
            {k: entry[k] for k in ("person", "department", "manager", "group", "manager_rating")}
            | {"changes": 0, "reason_codes": []},
        )
        row["calibrated_rating"] = after
        row["delta"] = _delta(after, manager_rating)
        row["changes"] += 1
        if code and code not in row["reason_codes"]:
            row["reason_codes"].append(code)
    # changed back to the manager's rating = not moved; rated first in calibration (no manager rating) = moved
    final = [p for p in moved.values() if p["calibrated_rating"] != p["manager_rating"]]
    moves = [p["delta"] for p in final if p["delta"] is not None]
    by_reason: dict[str, Counter[str]] = {}
    for c in changes:
        tally = by_reason.setdefault(c["reason_code"] or "(none)", Counter())
        tally["changes"] += 1
        if c["delta"]:
            tally["up" if c["delta"] > 0 else "down"] += 1
    return {
        "cycle": {"id": cycle.id, "name": cycle.name},
        "summary": {
            "groups": len(groups),
            "locked": sum(1 for g in groups if g.status == "locked"),
            "calibrated_people": len(group_of),
            "moved": len(final),
            "up": sum(1 for p in final if (p["delta"] or 0) > 0),
            "down": sum(1 for p in final if (p["delta"] or 0) < 0),
            "mean_abs_delta": round(sum(abs(d) for d in moves) / len(moves), 2) if moves else None,
            "changes": len(changes),
        },
        "people": sorted(final, key=lambda p: (-abs(p["delta"] or 0), p["person"]["name"].casefold())),
        "changes": changes,
        "by_reason": {code: {"changes": t["changes"], "up": t["up"], "down": t["down"]}
                      for code, t in sorted(by_reason.items())},
    }


def _delta(after: Any, before: Any) -> float | int | None:
    if after is None or before is None:
        return None
    return number(round(float(after) - float(before), 2))


def table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per change, in the order they were made (for CSV and XLSX)."""
    header = ["group", "name", "email", "department", "manager", "manager_rating", "before", "after", "delta",
              "reason_code", "reason", "comment", "at"]
    rows = [
        [c["group"], c["person"]["name"], c["person"]["email"], c["department"],
         c["manager"]["name"] if c["manager"] else "", c["manager_rating"], c["before"], c["after"], c["delta"],
         c["reason_code"], c["reason"], c["comment"], c["at"]]
        for c in report["changes"]
    ]
    return header, rows
