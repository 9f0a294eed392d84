"""Project submitted forms into review records (`x-record` on the form schema), for reports and calibration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.core.errors import CycleSettingsBroken
from engine.process import hooks
from engine.review import cycle_settings, feedback
from engine.store.models import Cycle, Instance, ReviewRecord, Task


def _anchor(prop: dict[str, Any], value: Any, locale: str = "en") -> str | None:
    for anchor in prop.get("x-bars") or []:
        if isinstance(anchor, dict) and anchor.get("value") == value:
            label = anchor.get("label") or {}
            return label.get(locale) or label.get("en") if isinstance(label, dict) else str(label)
    return None


def _item_prop(schema: dict[str, Any], name: str, field: str) -> dict[str, Any]:
    prop = (schema.get("properties") or {}).get(name) or {}
    return ((prop.get("items") or {}).get("properties") or {}).get(field) or {}


class Projector:
    def __init__(
        self,
        session: Session,
        instance: Instance,
        task: Task,
        schema: dict[str, Any],
        data: dict[str, Any],
        task_data: dict[str, Any],
    ) -> None:
        self.session, self.instance, self.task, self.schema = session, instance, task, schema
        self.data, self.task_data = data, task_data

    def add(
        self,
        kind: str,
        *,
        source: str | None = None,
        dimension: str | None = None,
        score: float | None = None,
        text: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            ReviewRecord(
                cycle_id=self.instance.cycle_id,
                instance_id=self.instance.id,
                subject_id=self.instance.subject_id,
                kind=kind,
                source=source,
                dimension=dimension,
                score=score,
                text=text,
                data=data or {},
                task_id=self.task.id,
            )
        )

    def replace(self, kind: str, source: str | None = None) -> None:
        q = delete(ReviewRecord).where(
            ReviewRecord.instance_id == self.instance.id,
            ReviewRecord.kind == kind,
            ReviewRecord.superseded_at.is_(None),  # superseded ones are kept (engine/ops/reopen.py)
        )
        self.session.execute(q.where(ReviewRecord.source == source) if source else q)

    def _rated(self, source: str, name: str, dimension: Callable[[int], str]) -> list[float]:
        """One rating row per item of the array field `name` (`{"rating", ...}`), with the anchor shown."""
        prop = _item_prop(self.schema, name, "rating")
        scores = []
        for index, item in enumerate(self.data.get(name) or []):
            rating = item.get("rating")
            self.add(
                "rating",
                source=source,
                dimension=dimension(index),
                score=rating,
                text=_anchor(prop, rating),
                data={k: v for k, v in item.items() if k != "rating"},
            )
            scores.append(float(rating or 0))
        return scores

    def ratings(self, source: str, prefix: str) -> list[float]:
        """Rating rows for `<prefix>_goal_ratings`, `<prefix>_competency_ratings`, `<prefix>_overall`."""
        self.replace("rating", source)
        competencies = (self.task_data.get("settings") or {}).get("competencies") or []
        ids = [c.get("id", str(i)) for i, c in enumerate(competencies)]
        goal_scores = self._rated(source, f"{prefix}_goal_ratings", lambda i: f"goal:{i}")
        self._rated(source, f"{prefix}_competency_ratings", lambda i: f"competency:{ids[i] if i < len(ids) else i}")
        overall = self.data.get(f"{prefix}_overall")
        if overall is not None:
            prop = (self.schema.get("properties") or {}).get(f"{prefix}_overall") or {}
            self.add("rating", source=source, dimension="overall", score=overall, text=_anchor(prop, overall))
        return goal_scores


KINDS = ("goals", "self_ratings", "manager_ratings", "acknowledgement", "appeal", "development_plan", "pip")


@hooks.record_projector(*KINDS)
def project(
    session: Session,
    *,
    instance: Instance,
    task: Task,
    schema: dict[str, Any],
    data: dict[str, Any],
    task_data: dict[str, Any],
    collections: dict[str, str],
    actor: str = "reviewflow",
) -> dict[str, Any]:
    """Write the records a submission stands for; returns variables the engine adds to the workflow."""
    kind = schema.get("x-record")
    if not kind:
        return {}
    p = Projector(session, instance, task, schema, data, task_data)
    if kind == "goals" and data.get("goal_decision", "approve") == "approve":
        p.replace("goal")
        for index, goal in enumerate(task_data.get("goals") or []):
            p.add("goal", dimension=f"goal:{index}", score=goal.get("weight"), text=goal.get("title"), data=goal)
    elif kind == "self_ratings":
        p.ratings("self", "self")
    elif kind == "manager_ratings":
        goal_scores = p.ratings("manager", "manager")
        if data.get("potential"):
            p.add("rating", source="manager", dimension="potential", text=str(data["potential"]))
        return _score(p, goal_scores, task_data, collections)
    elif kind == "acknowledgement":
        p.replace("acknowledgement")
        p.add("acknowledgement", text=data.get("ack_decision"), data=data)
    elif kind == "appeal":
        p.add("appeal", text=data.get("appeal_outcome"), data=data)
        if data.get("appeal_outcome") == "changed" and data.get("changed_overall") is not None:
            p.add(
                "rating",
                source="appeal",
                dimension="overall",
                score=data["changed_overall"],
                data={"reason": data.get("appeal_response")},
            )
            return {"final_overall": data["changed_overall"]}
    elif kind == "development_plan" and data.get("idp_decision", "agree") == "agree":
        p.replace("development_action")
        for index, goal in enumerate(task_data.get("development_goals") or []):
            p.add("development_action", dimension=f"idp:{index}", text=goal.get("goal"), data=goal)
    elif kind == "pip":
        p.add("pip", data=data)
    return {}


def _score(
    p: Projector, goal_scores: list[float], task_data: dict[str, Any], collections: dict[str, str]
) -> dict[str, Any]:
    view = feedback.summary(task_data, collections)
    inputs = {
        "goal": round(sum(goal_scores) / len(goal_scores), 2) if goal_scores else None,
        "self": task_data.get("self_overall"),
        "manager": p.data.get("manager_overall"),
        "feedback": feedback.mean_rating(view),
    }
    settings = task_data.get("settings") or cycle_settings.DEFAULTS
    # the cycle's current formula, so a correction HR makes to a running cycle applies to reviews not yet scored
    cycle = p.session.get(Cycle, p.instance.cycle_id) if p.instance.cycle_id is not None else None
    score = ((cycle.settings if cycle else None) or settings).get("score") or cycle_settings.DEFAULTS["score"]
    try:
        value = cycle_settings.final_score(score, inputs)
    except cycle_settings.FormulaFailed as exc:
        shown = ", ".join(f"{k}={'none' if v is None else v}" for k, v in inputs.items())
        formula = score.get("formula")
        raise CycleSettingsBroken(
            f"The cycle's score formula '{formula}' cannot be computed for this review ({shown}): {exc}. "
            "HR must correct the cycle's score setting before this review can be submitted.",
            detail_zh=f"本周期的评分公式 '{formula}' 无法为此评估计算（{shown}）：{exc}。"
            "请 HR 先更正周期的评分设置，再提交此评估。",
            errors=[
                {
                    "path": "settings/score/formula",
                    "message": f"the formula fails for these inputs: {exc}",
                    "message_zh": f"评分公式对这些输入无法计算：{exc}",
                    "code": "x-formula",
                }
            ],
        ) from None
    p.replace("score")
    p.add(
        "score",
        source="engine",
        dimension="final",
        score=value,
        data={"inputs": inputs, "score": score},
    )
    return {"final_score": value, "final_overall": p.data.get("manager_overall")}
