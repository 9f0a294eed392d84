"""What a calibration session shows beside its forms: each member's manager rating and current (calibrated) rating
side by side, potential and 9-box cell, and the group's distribution against the cycle's guidance, before and now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.process import hooks
from engine.review import guidance
from engine.store.models import CalibrationGroup, Cycle, Instance, Person, ReviewRecord


def number(value: Any) -> float | int | None:
    """A rating as people write it: 4.0 -> 4, 3.5 stays; anything else -> None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else float(value)


def ratings(session: Session, group: CalibrationGroup) -> dict[int, dict[str, Any]]:
    """person id -> {instance_id, manager, current, potential, changes} for the group's members."""
    out: dict[int, dict[str, Any]] = {}
    instances = session.scalars(
        select(Instance).where(
            Instance.cycle_id == group.cycle_id, Instance.kind == "review", Instance.subject_id.in_(group.members)
        )
    )
    by_instance = {}
    for instance in instances:
        assert instance.subject_id is not None
        out[instance.subject_id] = {
            "instance_id": instance.id,
            "manager": None,
            "current": None,
            "potential": None,
            "changes": [],
        }
        by_instance[instance.id] = out[instance.subject_id]
    if not by_instance:
        return out
    rows = session.scalars(
        select(ReviewRecord)
        .where(ReviewRecord.instance_id.in_(by_instance), ReviewRecord.kind == "rating")
        .where(ReviewRecord.dimension.in_(("overall", "potential")), ReviewRecord.superseded_at.is_(None))
        .order_by(ReviewRecord.id)
    )
    for r in rows:
        entry = by_instance[r.instance_id]
        if r.dimension == "potential" and r.source == "manager":
            entry["potential"] = r.text
        elif r.source == "manager":
            entry["manager"] = number(r.score)
            entry["current"] = entry["current"] if entry["changes"] else number(r.score)
        elif r.source == "calibration":
            entry["current"] = number(r.score)
            entry["changes"].append(
                {
                    "before": number(r.data.get("before")),
                    "after": number(r.score),
                    "reason_code": r.data.get("reason_code"),
                    "comment": r.data.get("comment"),
                }
            )
    return out


def build(session: Session, group: CalibrationGroup) -> dict[str, Any]:
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(group.members)))}
    managers = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(
        {p.manager_id for p in people.values() if p.manager_id})))}
    rated = ratings(session, group)
    rows = []
    for pid in sorted(group.members, key=lambda i: (people[i].name.casefold(), i) if i in people else ("", i)):
        person = people.get(pid)
        if person is None:
            continue
        entry = rated.get(pid) or {}
        manager = managers.get(person.manager_id or 0)
        band = guidance.performance_band(entry.get("current"))
        rows.append(
            {
                "email": person.email,
                "name": person.name,
                "department": person.department,
                "manager": manager.name if manager else None,
                "manager_rating": entry.get("manager"),
                "calibrated_rating": entry.get("current"),
                "changed": bool(entry.get("changes")),
                "potential": entry.get("potential"),
                "nine_box": f"{band}/{entry['potential']}" if band and entry.get("potential") else None,
                "changes": entry.get("changes", []),
            }
        )
    cycle_settings = group_settings(session, group)
    rules = cycle_settings.get("distribution") or guidance.DEFAULT
    before = [r["manager_rating"] for r in rows if r["manager_rating"] is not None]
    now = [r["calibrated_rating"] for r in rows if r["calibrated_rating"] is not None]
    cells: dict[str, int] = {}
    for r in rows:
        if r["nine_box"]:
            cells[r["nine_box"]] = cells.get(r["nine_box"], 0) + 1
    return {
        "group": {"id": group.id, "name": group.name, "status": group.status},
        "people": rows,
        "not_yet_rated": [r["email"] for r in rows if r["manager_rating"] is None],
        "guidance": {
            "rules": rules,
            "before": guidance.compare(before, rules),
            "now": guidance.compare(now, rules),
        },
        "nine_box": cells,
    }


def group_settings(session: Session, group: CalibrationGroup) -> dict[str, Any]:
    cycle = session.get(Cycle, group.cycle_id)
    return (cycle.settings if cycle else None) or {}


def for_instance(session: Session, instance: Instance, data: dict[str, Any]) -> dict[str, Any] | None:
    """The view for a task of a calibration session (its start data names the group)."""
    raw = data.get("group")
    ref: dict[str, Any] = raw if isinstance(raw, dict) else {}
    group = session.get(CalibrationGroup, ref.get("id")) if isinstance(ref.get("id"), int) else None
    if group is None or group.cycle_id != instance.cycle_id or instance.kind != "calibration":
        return None
    return build(session, group)


@hooks.context_provider("calibration_view")
def _for_form(session: Session, *, instance: Instance, data: dict[str, Any], confidential: dict[str, str]) -> Any:
    """A calibration session's form listing `calibration_view` in `x-context` shows the group's ratings."""
    return for_instance(session, instance, data)
