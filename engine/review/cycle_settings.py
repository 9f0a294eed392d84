"""Cycle settings: defaults, validation with per-field errors, and the copy frozen into each instance's data."""

from __future__ import annotations

import copy
import itertools
import math
import time
from typing import Any

from engine.bpmn import sandbox
from engine.core.errors import InvalidInput
from engine.org.people import normalize_email
from engine.review import guidance, reminders

SCORE_INPUTS = ("goal", "self", "manager", "feedback")
# Ratings run from 1 to 5 on every shipped form (forms/schemas, `minimum`/`maximum`): formulas are tried over it.
RATING_SCALE = (1, 5)
FORMULA_BUDGET_S = sandbox.DEFAULT_BUDGET_S  # one evaluation of a score formula (room for a loaded server)
SAMPLES_BUDGET_S = 5.0  # all the sample evaluations at create / on a settings change
# Alternatives inside one setting ("formula" or "weights"): a given value replaces the whole setting, never merges.
REPLACED_WHOLE = frozenset({"score"})

DEFAULT_COMPETENCIES: list[dict[str, Any]] = [
    {"id": "ownership", "title": {"en": "Ownership", "zh-CN": "主人翁精神"}},
    {"id": "collaboration", "title": {"en": "Collaboration", "zh-CN": "协作"}},
    {"id": "customer_focus", "title": {"en": "Customer focus", "zh-CN": "以客户为中心"}},
    {"id": "growth", "title": {"en": "Learning and growth", "zh-CN": "学习与成长"}},
]

DEFAULT_CALIBRATION_REASONS: list[dict[str, Any]] = [
    {"id": "evidence", "title": {"en": "Evidence the rating did not reflect", "zh-CN": "评分未反映的事实依据"}},
    {
        "id": "consistency",
        "title": {"en": "Consistency with peers in similar roles", "zh-CN": "与相似岗位同事保持一致"},
    },
    {"id": "scope", "title": {"en": "Scope or level of the role", "zh-CN": "岗位职责范围或职级"}},
    {"id": "impact", "title": {"en": "Impact beyond the team", "zh-CN": "团队之外的影响"}},
    {"id": "guidance", "title": {"en": "Distribution guidance", "zh-CN": "分布指导比例"}},
]

DEFAULTS: dict[str, Any] = {
    "goals": {"min": 3, "max": 7},
    "nominations": {"min": 3, "max": 8},
    "anonymity": {"peer": 3, "direct_report": 3},
    "competencies": DEFAULT_COMPETENCIES,
    "company_goals": [],
    "score": {"formula": "(goal + feedback + self) / 3"},
    "pip_threshold": 2,
    "calibration_committee": [],
    "distribution": None,  # guidance for calibration; None means engine.guidance.DEFAULT (20/70/10, ±5%)
    "due": {},  # task due dates: {"<task element id or lane>": "2026-12-15" | "P14D"} (engine/review/reminders.py)
    "reminders": {"before_days": [7, 1], "grace_days": 3, "escalate": True},
    "calibration": False,  # True: each review waits for its calibration group's results before release
    "calibration_reasons": DEFAULT_CALIBRATION_REASONS,  # reason codes a calibrated rating change must name
}


def _err(path: str, message: str) -> dict[str, str]:
    return {"path": f"settings/{path}", "message": message}


def _int_range(value: Any, path: str, low: int, high: int, errors: list[dict[str, str]]) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.append(_err(path, f"a whole number from {low} to {high}"))


def validate(raw: Any) -> dict[str, Any]:
    """Merge `raw` over the defaults and check it; every problem is reported at once as InvalidInput."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput("settings must be a JSON object.", errors=[_err("", "not an object")])
    unknown = sorted(set(raw) - set(DEFAULTS))
    errors = [_err(k, f"unknown setting; known: {', '.join(DEFAULTS)}") for k in unknown]
    merged = copy.deepcopy(DEFAULTS)
    for key, value in raw.items():
        mergeable = key not in REPLACED_WHOLE and isinstance(DEFAULTS.get(key), dict) and isinstance(value, dict)
        if mergeable:
            merged[key] = {**DEFAULTS[key], **value}
        elif key in DEFAULTS:
            merged[key] = value
    for key, (low, high) in {"goals": (1, 20), "nominations": (0, 30)}.items():
        bounds = merged[key]
        if not isinstance(bounds, dict):
            errors.append(_err(key, 'an object {"min": n, "max": m}'))
            continue
        _int_range(bounds.get("min"), f"{key}/min", low, high, errors)
        _int_range(bounds.get("max"), f"{key}/max", low, high, errors)
        if isinstance(bounds.get("min"), int) and isinstance(bounds.get("max"), int) and bounds["min"] > bounds["max"]:
            errors.append(_err(f"{key}/min", "must not be larger than max"))
    anonymity = merged["anonymity"]
    if isinstance(anonymity, dict):
        for perspective in ("peer", "direct_report"):
            _int_range(anonymity.get(perspective), f"anonymity/{perspective}", 2, 20, errors)
    else:
        errors.append(_err("anonymity", 'an object {"peer": n, "direct_report": n}'))
    _int_range(merged["pip_threshold"], "pip_threshold", 0, 10, errors)
    if not isinstance(merged["calibration"], bool):
        errors.append(_err("calibration", "true or false"))
    for key in ("competencies", "company_goals", "calibration_reasons"):
        items = merged[key]
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
            errors.append(_err(key, 'a list of {"id": "...", "title": {"en": "...", "zh-CN": "..."}}'))
        elif len({i["id"] for i in items}) != len(items):
            errors.append(_err(key, "ids must be unique"))
    committee = merged["calibration_committee"]
    if not isinstance(committee, list) or not all(isinstance(e, str) and normalize_email(e) for e in committee):
        errors.append(_err("calibration_committee", "a list of email addresses"))
    errors += _check_score(merged["score"])
    if merged["distribution"] is not None:
        errors += [_err("distribution", p) for p in guidance.problems(merged["distribution"])]
    errors += [_err(path, message) for path, message in reminders.problems(merged["due"], merged["reminders"])]
    if errors:
        raise InvalidInput(f"{len(errors)} setting(s) need attention.", errors=errors)
    return merged


def _check_score(score: Any) -> list[dict[str, str]]:
    if not isinstance(score, dict):
        return [_err("score", 'an object with "formula" or "weights"')]
    if "weights" in score:
        weights = score["weights"]
        ok = (
            isinstance(weights, dict)
            and set(weights) <= set(SCORE_INPUTS)
            and all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in weights.values())
        )
        if not ok or not sum(weights.values()):
            return [_err("score/weights", f"non-negative numbers for {', '.join(SCORE_INPUTS)}, not all zero")]
        return []
    formula = score.get("formula")
    if not isinstance(formula, str) or not formula.strip():
        return [_err("score/formula", f"an expression over {', '.join(SCORE_INPUTS)}")]
    problems = sandbox.check(formula.strip(), mode="eval")
    names = sandbox.names_in(formula.strip())
    unknown = sorted(names - set(SCORE_INPUTS) - set(sandbox.ALLOWED_BUILTINS))
    if unknown:
        problems.append(f"unknown name(s) {', '.join(unknown)}; use {', '.join(SCORE_INPUTS)}")
    if problems:
        return [_err("score/formula", p) for p in problems]
    failed = sample_failure(formula)
    if failed is None:
        return []
    sample, reason = failed
    shown = ", ".join(f"{k}={v:g}" for k, v in sample.items())
    return [
        {
            **_err("score/formula", f"the formula '{formula.strip()}' fails for {shown}: {reason}"),
            "message_zh": f"评分公式 '{formula.strip()}' 在 {shown} 时无法计算：{reason}",
            "code": "x-formula-sample",
        }
    ]


class FormulaFailed(Exception):
    """A score formula that raised or gave no finite number for some inputs."""


def formula_samples(low: float = RATING_SCALE[0], high: float = RATING_SCALE[1]) -> list[dict[str, float]]:
    """Inputs a formula must handle: every mix of lowest, middle and highest rating, and a few in-between ones."""
    mid = (low + high) / 2
    grid = [dict(zip(SCORE_INPUTS, combo, strict=True)) for combo in itertools.product((low, mid, high), repeat=4)]
    steps = [low + (high - low) * q for q in (0.125, 0.375, 0.625, 0.875)]
    for shift in range(len(SCORE_INPUTS)):
        grid.append(dict(zip(SCORE_INPUTS, steps[shift:] + steps[:shift], strict=True)))
    return grid


def evaluate_formula(formula: str, values: dict[str, float]) -> float:
    """The formula's value for these inputs; FormulaFailed (with the reason) when it raises or is not a number."""
    g = sandbox.base_globals()
    g.update(values)
    try:
        result = sandbox.run_eval(formula, g, budget=FORMULA_BUDGET_S)
        value = float(result)
    except Exception as exc:  # noqa: BLE001 - whatever the author's code raised is the reason shown
        raise FormulaFailed(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, bool) or not math.isfinite(value):
        raise FormulaFailed(f"the result {result!r} is not a finite number")
    return value


def sample_failure(formula: str) -> tuple[dict[str, float], str] | None:
    """The first sample input the formula fails on, with the reason; None when it computes a number for all."""
    deadline = time.monotonic() + SAMPLES_BUDGET_S
    for sample in formula_samples():
        try:
            evaluate_formula(formula, sample)
        except FormulaFailed as exc:
            return sample, str(exc)
        if time.monotonic() > deadline:
            return sample, f"computing it for the sample ratings took more than {SAMPLES_BUDGET_S:g} s"
    return None


def final_score(score: dict[str, Any], inputs: dict[str, float | None]) -> float | None:
    """The cycle's final score from the available inputs (a missing input is left out of weights and
    counts as the mean of the others in a formula); None when nothing is available.

    Raises FormulaFailed when the formula cannot compute these inputs."""
    present = {k: float(v) for k, v in inputs.items() if v is not None}
    if not present:
        return None
    if "weights" in score:
        weights = {k: float(w) for k, w in score["weights"].items() if k in present and w}
        total = sum(weights.values())
        return round(sum(present[k] * w for k, w in weights.items()) / total, 2) if total else None
    mean = sum(present.values()) / len(present)
    return round(evaluate_formula(score["formula"], {k: present.get(k, mean) for k in SCORE_INPUTS}), 2)
