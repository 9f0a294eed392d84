"""A review as a reader reads it: goals as a table, self and manager ratings side by side with the anchor text of
the chosen level, the 360 summary as one card per perspective, calibration and the final rating as sentences.

`Document(data, labels)` holds a review's values (a task context, or the review rebuilt from its records) and the
labels behind their ids and codes (engine/queries/documents.py); `view(tr)` resolves everything in the reader's
language. Nothing here shows a key, an id or a code: what has no label is left out rather than shown raw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from api.web import feedback_cards
from api.web.feedback_cards import number as _number
from api.web.i18n import Text
from engine.queries import documents as sources

# The context values the document shows; the task page lists the remaining ones as before.
COVERED = frozenset(
    {
        "goals",
        "settings.company_goals",
        "settings.competencies",
        "settings.calibration_reasons",
        "self_goal_ratings",
        "self_competency_ratings",
        "self_overall",
        "manager_goal_ratings",
        "manager_competency_ratings",
        "manager_overall",
        "feedback_summary",
        "calibration",
        "final_score",
        "changed_overall",
        "appeal_outcome",
    }
)
OUTCOME = frozenset({"calibration", "changed_overall", "final_score"})  # values only results carry
COMMENT_KEYS = ("comment", "example")


def _by_id(items: Any) -> dict[str, Any]:
    return {str(i["id"]): i for i in items or [] if isinstance(i, dict) and "id" in i}


@dataclass
class Document:
    data: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)
    goals_title: tuple[str, str] = ("Agreed goals", "已商定的目标")
    own: bool = True  # read by the review's subject ("your rating") or by someone else ("the rating")
    final: bool = True  # the values include the outcome (released results); else no "final rating" is claimed

    def covers(self, key: str) -> bool:
        return key in COVERED

    def uncovered(self, values: dict[str, Any]) -> dict[str, Any]:
        """Submitted answers the document does not already show."""
        return {k: v for k, v in values.items() if not (k in COVERED and k in self.data)}

    def view(self, tr: Text) -> dict[str, Any]:
        return {
            **_View(tr, self.data, self.labels, self.own, self.final).build(),
            "goals_heading": tr.t(*self.goals_title),
        }


def for_task(
    view: dict[str, Any], values: Any, labels: dict[str, Any] | Callable[[], dict[str, Any]], viewer: str
) -> Document | None:
    """The document a task page shows above its form: its context, and once submitted its answers too."""
    data = dict(view.get("context") or {})
    if view.get("status") != "open" and isinstance(values, dict):
        data.update({k: v for k, v in values.items() if k in COVERED})
    if not COVERED & set(data):
        return None
    approving = (view.get("form") or {}).get("schema", {}).get("x-record") == "goals" and view.get("status") == "open"
    title = ("Goals proposed for your approval", "待你审批的目标") if approving else ("Agreed goals", "已商定的目标")
    labels = labels() if callable(labels) else labels  # read only when there is something to show
    own = (view.get("subject") or {}).get("email") in (None, viewer)
    return Document(data, labels, title, own=own, final=bool(OUTCOME & set(view.get("context") or {})))


labels_for = sources.labels_for


def for_instance(session: Session, instance_id: int, feedback: Any) -> Document | None:
    """For readers: the review rebuilt from its records, with the 360 answers as anonymity lets them see them."""
    labels = sources.labels_for(session, instance_id)
    data = sources.from_records(session, instance_id, labels.get("competencies") or [])
    if isinstance(feedback, dict):
        data["feedback_summary"] = feedback
    return Document(data, labels, own=False, final=sources.released(session, instance_id)) if data else None


class _View:
    def __init__(self, tr: Text, data: dict[str, Any], labels: dict[str, Any], own: bool, final: bool) -> None:
        self.tr, self.data, self.labels, self.own, self.final = tr, data, labels, own, final
        self.scales: dict[str, Any] = labels.get("scales") or {}

    def whose(self, own: str, other: str) -> str:
        return own if self.own else other

    # -- pieces

    def level(self, scale: str, value: Any) -> dict[str, Any] | None:
        """A rating with its anchor: `{"value", "label", "behaviour"}`; None when there is no rating."""
        if value is None or isinstance(value, bool):
            return None
        for anchor in self.scales.get(scale) or []:
            if isinstance(anchor, dict) and anchor.get("value") == value:
                return {
                    "value": _number(value),
                    "label": self.tr.pick(anchor.get("label")) or "",
                    "behaviour": self.tr.pick(anchor.get("behaviour")) or "",
                }
        return {"value": _number(value), "label": "", "behaviour": ""}

    def said(self, value: Any) -> str:
        """`5 (Far exceeding expectations)` in the reader's language."""
        level = self.level("overall", value)
        if level is None:
            return ""
        return (
            f"{level['value']}（{level['label']}）"
            if self.tr.zh and level["label"]
            else (f"{level['value']} ({level['label']})" if level["label"] else level["value"])
        )

    def goals(self) -> list[dict[str, Any]]:
        company = _by_id(self.labels.get("company_goals") or self.data.get("settings.company_goals"))
        rows = []
        for goal in self.data.get("goals") or []:
            if not isinstance(goal, dict):
                continue
            aligned = company.get(str(goal.get("aligned_to"))) if goal.get("aligned_to") else None
            rows.append(
                {
                    "title": goal.get("title") or "",
                    "description": goal.get("description") or "",
                    "metric": goal.get("metric") or "",
                    "target": goal.get("target") or "",
                    "weight": f"{_number(goal['weight'])}%" if goal.get("weight") is not None else "",
                    "due": goal.get("due_date") or "",
                    "aligned": self.tr.pick(aligned.get("title")) if aligned else "",
                }
            )
        return rows

    def _side(self, scale: str, item: Any) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            return None
        level = self.level(scale, item.get("rating"))
        if level is None:
            return None
        comment = next((item[k] for k in COMMENT_KEYS if isinstance(item.get(k), str) and item[k].strip()), "")
        return {**level, "comment": comment}

    def rated(self, scale: str, titles: list[str], prefix: str) -> list[dict[str, Any]]:
        mine = self.data.get(f"self_{prefix}_ratings") or []
        theirs = self.data.get(f"manager_{prefix}_ratings") or []
        if not mine and not theirs:
            return []
        count = max(len(titles), len(mine), len(theirs))
        rows = []
        for i in range(count):
            rows.append(
                {
                    "title": titles[i] if i < len(titles) else self.tr.t(f"Item {i + 1}", f"第 {i + 1} 项"),
                    "self": self._side(scale, mine[i] if i < len(mine) else None),
                    "manager": self._side(scale, theirs[i] if i < len(theirs) else None),
                }
            )
        return rows

    def ratings(self) -> dict[str, Any] | None:
        goal_titles = [str(g.get("title") or "") for g in self.data.get("goals") or [] if isinstance(g, dict)]
        competencies = self.labels.get("competencies") or self.data.get("settings.competencies") or []
        titles = [self.tr.pick(c.get("title")) or "" for c in competencies if isinstance(c, dict)]
        out: dict[str, Any] = {
            "goals": self.rated("goal", goal_titles, "goal"),
            "competencies": self.rated("competency", titles, "competency"),
            "overall": {
                "self": self.level("overall", self.data.get("self_overall")),
                "manager": self.level("overall", self.data.get("manager_overall")),
            },
            "manager_column": any(
                self.data.get(k) is not None
                for k in ("manager_goal_ratings", "manager_competency_ratings", "manager_overall")
            ),
        }
        out["self_column"] = any(
            self.data.get(k) is not None for k in ("self_goal_ratings", "self_competency_ratings", "self_overall")
        )
        only_outcome = out["overall"]["manager"] and self.final  # the result sentence says it already
        if (
            not out["goals"]
            and not out["competencies"]
            and not out["overall"]["self"]
            and (only_outcome or not out["overall"]["manager"])
        ):
            return None
        return out

    def feedback(self) -> list[dict[str, Any]] | None:
        return feedback_cards.cards(self.tr, self.data.get("feedback_summary"), self.labels)

    def reason(self, code: Any) -> str:
        found = _by_id(self.labels.get("calibration_reasons") or self.data.get("settings.calibration_reasons"))
        return str(self.tr.pick(found[str(code)].get("title"))) if str(code) in found else ""

    def calibration(self) -> str | None:
        cal = self.data.get("calibration")
        if not isinstance(cal, dict) or cal.get("calibrated_overall") is None:
            return None
        before = cal.get("manager_overall", self.data.get("manager_overall"))
        after = cal["calibrated_overall"]
        if before == after or not cal.get("changed", before != after):
            return self.tr.t(
                f"{self.whose('Your manager', 'The manager')} rated {self.said(before)}; calibration kept this rating.",
                f"经理给出的评分是 {self.said(before)}；校准后保持不变。",
            )
        reason = self.reason(cal.get("reason_code"))
        tail = self.tr.t(f": {reason}.", f"，原因：{reason}。") if reason else self.tr.t(".", "。")
        return self.tr.t(
            f"{self.whose('Your manager', 'The manager')} rated {self.said(before)}; "
            f"after calibration {self.said(after)}{tail}",
            f"经理给出的评分是 {self.said(before)}；校准后为 {self.said(after)}{tail}",
        )

    def result(self) -> dict[str, Any] | None:
        """The final rating and the steps that led to it, most recent last."""
        raw = self.data.get("calibration")
        cal: dict[str, Any] = raw if isinstance(raw, dict) else {}
        manager = self.data.get("manager_overall")
        final = self.data.get("changed_overall")
        final = final if final is not None else cal.get("calibrated_overall", manager)
        if final is None or not self.final:
            return None
        steps = []
        sentence = self.calibration()
        if sentence:
            steps.append(sentence)
        elif manager is not None:
            mine = self.whose("Your manager", "The manager")
            steps.append(self.tr.t(f"{mine} rated {self.said(manager)}.", f"经理给出的评分是 {self.said(manager)}。"))
        if self.data.get("changed_overall") is not None:
            steps.append(
                self.tr.t(
                    f"After {self.whose('your', 'the employee’s')} request for a review, HR corrected it to "
                    f"{self.said(final)}.",
                    f"{self.whose('你', '员工')}申请复核后，HR 将评分更正为 {self.said(final)}。",
                )
            )
        if self.data.get("final_score") is not None:
            score = _number(round(float(self.data["final_score"]), 2))
            steps.append(
                self.tr.t(
                    f"For reference, the score the cycle's formula computes from the goal, self and 360 ratings "
                    f"is {score} out of 5.",
                    f"供参考：本周期的评分公式根据目标评分、自评和 360 反馈算出的得分为 {score}（满分 5）。",
                )
            )
        return {
            "sentence": self.tr.t(
                f"{self.whose('Your', 'The')} final rating is {self.said(final)}.",
                f"{self.whose('你的', '')}最终评分是 {self.said(final)}。",
            ),
            "steps": steps,
        }

    def build(self) -> dict[str, Any]:
        return {
            "goals": self.goals(),
            "company_goals": [self.tr.pick(g.get("title")) for g in self.company_goals()],
            "reasons": [
                self.tr.pick(r.get("title"))
                for r in self.data.get("settings.calibration_reasons") or []
                if isinstance(r, dict) and r.get("title")
            ],
            "ratings": self.ratings(),
            "feedback": self.feedback(),
            "calibration": self.calibration(),
            "result": self.result(),
            "appeal": self.appeal(),
        }

    def company_goals(self) -> list[dict[str, Any]]:
        return [g for g in self.data.get("settings.company_goals") or [] if isinstance(g, dict)]

    def appeal(self) -> str | None:
        code = self.data.get("appeal_outcome")
        option = ((self.labels.get("choices") or {}).get("appeal_outcome") or {}).get(str(code))
        if code is None:
            return None
        if isinstance(option, dict) and self.tr.label(option):
            return self.tr.label(option)
        return self.tr.t("HR has answered your request for a review.", "HR 已答复你的复核申请。")
