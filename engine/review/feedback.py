"""360 feedback as the subject and manager may see it: aggregates per perspective, only at or above the cycle's
anonymity threshold, with comments in an order unrelated to who wrote them or when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.core.actors import PERSPECTIVES as PERSPECTIVES  # noqa: F401 - the 360 perspectives, named once
from engine.core.actors import perspective_of as perspective_of
from engine.process import hooks
from engine.store.models import Instance

SKIP_TEXT = {"decline_reason"}


def _answers(raw: Any) -> list[dict[str, Any]]:
    items = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    return [a for a in items if isinstance(a, dict) and not a.get("declined")]


def summary(task_data: dict[str, Any], collections: dict[str, str]) -> dict[str, Any]:
    """{perspective: aggregate or {"hidden": True}} from the confidential collections in task data."""
    thresholds = (task_data.get("settings") or {}).get("anonymity") or {}
    out: dict[str, Any] = {}
    for variable, perspective in collections.items():
        if not isinstance(task_data.get(variable), list | dict) or not task_data[variable]:
            continue  # nobody was asked from this perspective (e.g. the subject manages no one)
        answers = _answers(task_data[variable])
        threshold = int(thresholds.get(perspective, 3))
        if len(answers) < threshold:
            out[perspective] = {"hidden": True}
            continue
        numbers: dict[str, list[float]] = {}
        texts: dict[str, list[str]] = {}
        for answer in answers:
            for key, value in answer.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    numbers.setdefault(key, []).append(float(value))
                elif isinstance(value, str) and value.strip() and key not in SKIP_TEXT:
                    texts.setdefault(key, []).append(value.strip())
        out[perspective] = {
            "count": len(answers),
            "means": {k: round(sum(v) / len(v), 2) for k, v in sorted(numbers.items())},
            "comments": {k: sorted(v, key=str.casefold) for k, v in sorted(texts.items())},
        }
    return out


def mean_rating(summary_view: dict[str, Any], perspective: str = "peer", key: str = "rating") -> float | None:
    part = summary_view.get(perspective) or {}
    return (part.get("means") or {}).get(key) if not part.get("hidden") else None


@hooks.context_provider("feedback_summary")
def _for_form(session: Session, *, instance: Instance, data: dict[str, Any], confidential: dict[str, str]) -> Any:
    """A form listing `feedback_summary` in `x-context` shows the 360 aggregates (never the answers)."""
    return summary(data, confidential)
