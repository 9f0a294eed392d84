"""The document view models (api/web/documents.py) without a database: what each sentence and table says, in both
languages, for the cases the page tests do not reach (appeals, goal approval, unknown codes, anonymous answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api.web.documents import Document, for_task
from api.web.i18n import Text
from engine.review.cycle_settings import DEFAULT_CALIBRATION_REASONS, DEFAULT_COMPETENCIES

SCHEMAS = Path(__file__).resolve().parents[2] / "forms" / "schemas"
REVIEW = json.loads((SCHEMAS / "manager-review.schema.json").read_text())
APPEAL = json.loads((SCHEMAS / "appeal-decision.schema.json").read_text())
PEER = json.loads((SCHEMAS / "feedback-peer.schema.json").read_text())
EN, ZH = Text("en"), Text("zh-CN")
LABELS: dict[str, Any] = {
    "company_goals": [{"id": "CG3", "title": {"en": "Win enterprise customers", "zh-CN": "赢得企业客户"}}],
    "competencies": DEFAULT_COMPETENCIES,
    "calibration_reasons": DEFAULT_CALIBRATION_REASONS,
    "anonymity": {"peer": 3, "direct_report": 3},
    "scales": {
        "goal": REVIEW["properties"]["manager_goal_ratings"]["items"]["properties"]["rating"]["x-bars"],
        "competency": REVIEW["properties"]["manager_competency_ratings"]["items"]["properties"]["rating"]["x-bars"],
        "overall": REVIEW["properties"]["manager_overall"]["x-bars"],
    },
    "choices": {"appeal_outcome": {o["const"]: o for o in APPEAL["properties"]["appeal_outcome"]["oneOf"]}},
    "questions": {"peer": PEER["properties"]},
}
GOAL = {"title": "Win 30 accounts", "metric": "signed", "target": "30", "weight": 100, "due_date": "2026-12-31"}


def test_an_appeal_that_changed_the_rating_is_the_final_rating():
    doc = Document({"appeal_outcome": "changed", "changed_overall": 4, "appeal_response": "x" * 30}, LABELS)
    view = doc.view(EN)
    assert view["result"]["sentence"] == "Your final rating is 4 (Exceeding expectations)."
    assert "After your request for a review, HR corrected it to 4 (Exceeding expectations)." in view["result"]["steps"]
    assert view["appeal"] == "Changed: the overall rating is corrected"
    assert doc.view(ZH)["result"]["sentence"] == "你的最终评分是 4（超出预期）。"


def test_an_upheld_appeal_says_so_without_claiming_a_rating():
    view = Document({"appeal_outcome": "upheld", "changed_overall": None}, LABELS).view(ZH)
    assert view["result"] is None and view["appeal"] == "维持原结果：评估结果不变"


def test_calibration_that_kept_the_rating_and_an_unknown_reason_code():
    kept = {"manager_overall": 3, "calibration": {"manager_overall": 3, "calibrated_overall": 3, "changed": False}}
    assert Document(kept, LABELS).view(EN)["result"]["steps"][0] == (
        "Your manager rated 3 (Meeting expectations); calibration kept this rating."
    )
    moved = {"calibration": {"manager_overall": 3, "calibrated_overall": 2, "changed": True, "reason_code": "zz9"}}
    step = Document(moved, LABELS, own=False).view(EN)["result"]["steps"][0]
    assert step == "The manager rated 3 (Meeting expectations); after calibration 2 (Partly meeting expectations)."
    assert "zz9" not in json.dumps(Document(moved, LABELS).view(ZH), ensure_ascii=False)


def test_goal_approval_is_not_headed_agreed_and_names_the_company_goal():
    view = {
        "status": "open",
        "subject": {"email": "e@x.test"},
        "context": {"goals": [{**GOAL, "aligned_to": "CG3"}]},
        "form": {"schema": {"x-record": "goals"}},
    }
    doc = for_task(view, {}, LABELS, "manager@x.test")
    assert doc is not None
    shown = doc.view(ZH)
    assert shown["goals_heading"] == "待你审批的目标"
    assert shown["goals"][0]["aligned"] == "赢得企业客户" and shown["goals"][0]["weight"] == "100%"
    assert "CG3" not in json.dumps(shown, ensure_ascii=False)
    assert doc.view(EN)["result"] is None  # no outcome in a goal approval


def test_a_perspective_below_the_threshold_and_anonymous_answers_for_readers():
    summary = {
        "direct_report": {"hidden": True},
        "peer": {
            "count": 3,
            "declined": 1,
            "answers": [{"rating": 4, "strengths": "B"}, {"rating": 2, "strengths": "a"}],
        },
    }
    cards = Document({"feedback_summary": summary}, LABELS, own=False).view(EN)["feedback"]
    hidden, peers = cards
    assert hidden["title"] == "Direct reports (upward)" and hidden["hidden"] and hidden["threshold"] == 3
    assert peers["means"] == [("Working with them this period", "3")]
    assert peers["comments"] == [("What they do well", ["a", "B"])]
