"""What a review needs to be read as a document rather than a dump: the labels behind its ids and codes (company
goals, competencies, calibration reasons, rating scales with their BARS anchors, 360 questions, choice titles), taken
from the cycle's settings and the instance's own deployed forms, and the review itself rebuilt from its records for
readers (HR, auditors). Identities of raters never appear here: 360 answers come only through engine/review/anonymity.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.process import definitions
from engine.process.raters import perspective
from engine.queries.browse import RESULT_FORMS
from engine.review import cycle_settings
from engine.store.models import Cycle, DefinitionFile, Instance, ReviewRecord, Task

SETTINGS_LISTS = ("company_goals", "competencies", "calibration_reasons")
SCALE_SOURCES = {"goals": "goal", "settings.competencies": "competency"}


def _forms(session: Session, definition_id: int) -> dict[str, dict[str, Any]]:
    """The stored (designer's) form schemas of a definition version, by file name; UI schemas left out."""
    names = session.scalars(
        select(DefinitionFile.name).where(DefinitionFile.definition_id == definition_id, DefinitionFile.kind == "json")
    )
    forms: dict[str, dict[str, Any]] = {}
    for name in names:
        raw = definitions.form_file(session, definition_id, name)
        if isinstance(raw, dict) and isinstance(raw.get("properties"), dict):
            forms[name] = raw
    return forms


def _scales(forms: dict[str, dict[str, Any]]) -> tuple[dict[str, list[Any]], dict[str, dict[str, Any]]]:
    """Rating scales by what they rate (goal, competency, overall) and the choices of each field by name."""
    scales: dict[str, list[Any]] = {}
    choices: dict[str, dict[str, Any]] = {}
    for schema in forms.values():
        for name, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            rating = (((prop.get("items") or {}).get("properties") or {}).get("rating")) or {}
            what = SCALE_SOURCES.get(str(prop.get("x-items-from")))
            if what and rating.get("x-bars"):
                scales.setdefault(what, rating["x-bars"])
            if prop.get("x-bars") and name.endswith("overall"):
                scales.setdefault("overall", prop["x-bars"])
            for option in prop.get("oneOf") or []:
                if isinstance(option, dict) and "const" in option:
                    choices.setdefault(name, {}).setdefault(str(option["const"]), option)
    return scales, choices


def labels(session: Session, instance: Instance) -> dict[str, Any]:
    """Everything needed to name what a review of `instance` holds, in either language."""
    cycle = session.get(Cycle, instance.cycle_id) if instance.cycle_id is not None else None
    settings = (cycle.settings if cycle else None) or {}
    out: dict[str, Any] = {
        key: settings.get(key) if isinstance(settings.get(key), list) else cycle_settings.DEFAULTS.get(key) or []
        for key in SETTINGS_LISTS
    }
    anonymity = settings.get("anonymity") or cycle_settings.DEFAULTS["anonymity"]
    out["anonymity"] = anonymity if isinstance(anonymity, dict) else {}
    forms = _forms(session, instance.definition_id)
    out["scales"], out["choices"] = _scales(forms)
    questions: dict[str, dict[str, Any]] = {}
    for task in session.scalars(select(Task).where(Task.instance_id == instance.id)):
        kind = perspective(task)
        schema = forms.get(task.form or "")
        if kind and schema and kind not in questions:
            questions[kind] = schema.get("properties") or {}
    out["questions"] = questions
    return out


def labels_for(session: Session, instance_id: int) -> dict[str, Any]:
    instance = session.get(Instance, instance_id)
    return labels(session, instance) if instance is not None else {}


def released(session: Session, instance_id: int) -> bool:
    """The review's results have been released to its subject (a results task was opened for them)."""
    q = select(Task.id).where(Task.instance_id == instance_id, Task.form.in_(RESULT_FORMS)).limit(1)
    return session.scalar(q) is not None


def _index(dimension: str | None, prefix: str) -> int | None:
    tail = (dimension or "").removeprefix(prefix)
    return int(tail) if dimension and dimension.startswith(prefix) and tail.isdigit() else None


def from_records(session: Session, instance_id: int, competencies: list[Any]) -> dict[str, Any]:
    """The review of an instance in the shape its task contexts use (goals, self_/manager_ ratings, overall,
    calibration, final_score), rebuilt from its current records. For readers only: it holds the manager's ratings."""
    rows = session.scalars(
        select(ReviewRecord)
        .where(ReviewRecord.instance_id == instance_id, ReviewRecord.superseded_at.is_(None))
        .order_by(ReviewRecord.id)
    )
    ids = [c.get("id") for c in competencies if isinstance(c, dict)]
    out: dict[str, Any] = {}
    goals: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r.kind == "goal" and (i := _index(r.dimension, "goal:")) is not None:
            goals[i] = dict(r.data or {})
        elif r.kind == "rating" and r.source in ("self", "manager"):
            item = {"rating": r.score if r.score is None else int(r.score), **(r.data or {})}
            if (i := _index(r.dimension, "goal:")) is not None:
                out.setdefault(f"{r.source}_goal_ratings", {})[i] = item
            elif (r.dimension or "").startswith("competency:"):
                key = (r.dimension or "").removeprefix("competency:")
                at = ids.index(key) if key in ids else len(ids) + len(out.get(f"{r.source}_competency_ratings", {}))
                out.setdefault(f"{r.source}_competency_ratings", {})[at] = item
            elif r.dimension == "overall" and r.score is not None:
                out[f"{r.source}_overall"] = int(r.score)
        elif r.kind == "rating" and r.source == "calibration" and r.score is not None:
            data = r.data or {}
            out["calibration"] = {
                "manager_overall": data.get("manager"),
                "calibrated_overall": int(r.score),
                "changed": int(r.score) != data.get("manager"),
                "reason_code": data.get("reason_code"),
            }
        elif r.kind == "rating" and r.source == "appeal" and r.score is not None:
            out["changed_overall"] = int(r.score)
        elif r.kind == "score" and r.score is not None:
            out["final_score"] = r.score
    if goals:
        out["goals"] = [goals[i] for i in sorted(goals)]
    for key, value in list(out.items()):
        if key.endswith("_ratings") and isinstance(value, dict):
            out[key] = [value.get(i) for i in range(max(value) + 1)]
    return out
