"""Performance × potential (the 9-box) for calibration: each reviewed person placed by the manager's overall rating
(before) or the final one (after appeals / calibration) and the manager's potential assessment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.org import scope
from engine.reports import standard
from engine.review.guidance import PERFORMANCE, performance_band  # noqa: F401 - the rows of the grid

POTENTIAL = ("low", "medium", "high")


def report(session: Session, cycle_id: int, stage: str = "before", subjects: scope.Subjects = None) -> dict[str, Any]:
    """Cells `performance/potential` with the people in them; people without both ratings are listed apart.
    `subjects` keeps only those people (engine/org/scope.py)."""
    c = standard.CycleData(session, cycle_id, subjects)
    ratings = standard.overall_ratings(c)
    potential = {r.instance_id: r.text for r in c.records("rating") if r.dimension == "potential"}
    cells: dict[str, list[dict[str, Any]]] = {f"{p}/{q}": [] for p, _ in PERFORMANCE for q in POTENTIAL}
    unplaced = []
    for instance_id in sorted(c.instances):
        subject = c.subject(instance_id)
        person = {"name": subject.name, "email": subject.email, "department": c.department(subject)} if subject else {}
        pair = ratings.get(instance_id)
        rating = pair[0 if stage == "before" else 1] if pair else None
        band, pot = performance_band(rating), potential.get(instance_id)
        if band is None or pot not in POTENTIAL:
            unplaced.append(person)
            continue
        cells[f"{band}/{pot}"].append({**person, "rating": rating})
    return {
        "cycle_id": cycle_id,
        "stage": stage,
        "cells": [
            {"performance": k.split("/")[0], "potential": k.split("/")[1], "count": len(v), "people": v}
            for k, v in cells.items()
        ],
        "not_yet_rated": unplaced,
    }
