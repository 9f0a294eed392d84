"""Posted form fields become the JSON the engine validates; the 360 loop variables survive a bpmn-js save."""

from __future__ import annotations

import json
import re

from api.web import bpmn_repair, formkit
from engine import demo

GOALS = json.loads((demo.FORMS / "goals-draft.schema.json").read_text(encoding="utf-8"))
MANAGER = json.loads((demo.FORMS / "manager-review.schema.json").read_text(encoding="utf-8"))
PEER = json.loads((demo.FORMS / "feedback-peer.schema.json").read_text(encoding="utf-8"))


def test_goal_rows_are_renumbered_and_blank_rows_dropped():
    form = {
        "goals/0/title": "Launch onboarding",
        "goals/0/weight": "60",
        "goals/0/due_date": "2026-09-30",
        "goals/2/title": "",  # a row added and left empty
        "goals/2/weight": "",
        "goals/5/title": "Halve defects",
        "goals/5/weight": "40",
        "goals/5/aligned_to": "CG2",
    }
    data = formkit.parse(GOALS, form, {})
    assert data == {
        "goals": [
            {"title": "Launch onboarding", "weight": 60, "due_date": "2026-09-30"},
            {"title": "Halve defects", "weight": 40, "aligned_to": "CG2"},
        ]
    }


def test_what_is_not_a_number_stays_as_typed_for_the_error():
    data = formkit.parse(GOALS, {"goals/0/title": "A goal", "goals/0/weight": "sixty"}, {})
    assert data["goals"][0]["weight"] == "sixty"


def test_choices_booleans_and_empty_optional_fields():
    data = formkit.parse(PEER, {"declined": "false", "rating": "4", "strengths": "Calm  ", "improvements": " "}, {})
    assert data == {"declined": False, "rating": 4, "strengths": "Calm  "}
    data = formkit.parse(MANAGER, {"potential": "high", "manager_overall": "3"}, {})
    assert data["potential"] == "high" and data["manager_overall"] == 3


def test_rows_that_follow_task_data_keep_their_place():
    form = {"manager_goal_ratings/0/rating": "", "manager_goal_ratings/1/rating": "4"}
    data = formkit.parse(MANAGER, form, {"goals": [{"title": "a"}, {"title": "b"}]})
    assert data["manager_goal_ratings"] == [{}, {"rating": 4}]  # the first still unrated, named by its index


def test_widgets():
    props = GOALS["properties"]["goals"]["items"]["properties"]
    assert formkit.kind(props["due_date"], "due_date") == "date"
    assert formkit.kind(props["weight"], "weight") == "integer"
    assert formkit.kind(props["aligned_to"], "aligned_to") == "choose_from"
    assert formkit.kind(props["title"], "title") == "text"
    assert formkit.kind(props["description"], "description") == "textarea"
    assert formkit.kind(MANAGER["properties"]["manager_overall"], "manager_overall") == "bars"
    assert formkit.kind(MANAGER["properties"]["potential"], "potential") == "choice"
    assert formkit.kind(PEER["properties"]["declined"], "declined") == "bool"
    nominate = json.loads((demo.FORMS / "feedback-nominate.schema.json").read_text(encoding="utf-8"))
    assert formkit.kind(nominate["properties"]["nominees"]["items"], "nominees") == "person"


def test_loop_data_refs_dropped_by_the_modeler_are_restored():
    original = (demo.WORKFLOWS / "feedback_360.bpmn").read_text(encoding="utf-8")
    saved = re.sub(r"\s*<bpmn:loopData(Input|Output)Ref>[^<]*</bpmn:loopData(Input|Output)Ref>", "", original)
    saved = saved.replace("Confirm who gives feedback", "Approve the peers")
    assert "loopDataInputRef" not in saved
    repaired = bpmn_repair.restore_loop_refs(original, saved)
    for ref in ("peers", "peer_feedback", "direct_reports", "upward_feedback"):
        assert f">{ref}</bpmn:loopData" in repaired
    assert "Approve the peers" in repaired
    # In XSD order: the refs come before inputDataItem, or the BPMN schema check refuses the file.
    body = repaired[repaired.index('id="give_peer_feedback"') :]
    assert body.index("loopDataInputRef") < body.index("loopDataOutputRef") < body.index("inputDataItem")


def test_a_diagram_that_kept_its_refs_is_left_alone():
    original = (demo.WORKFLOWS / "feedback_360.bpmn").read_text(encoding="utf-8")
    assert bpmn_repair.restore_loop_refs(original, original) == original


def test_bilingual_names_show_the_readers_half():
    from api.web.i18n import Text

    name = "Write your self-review / 撰写自评"
    assert Text("zh-CN").bi(name) == "撰写自评" and Text("en").bi(name) == "Write your self-review"
    assert Text("zh-CN").bi("2026 年度评估 / Review 2026") == "2026 年度评估 / Review 2026"  # not a pair: kept whole
    assert Text("en").bi("Yes / no / maybe") == "Yes / no / maybe"
    named = "孔亮 would value your view of their work. / 孔亮希望听听你的看法。"  # instructions naming a person
    assert Text("en").bi(named) == "孔亮 would value your view of their work." and Text("zh-CN").bi(named)[:2] == "孔亮"


def test_instructions_that_name_a_person_in_chinese_still_show_one_language():
    """A rendered instruction holds the subject's name in both halves: "Hi 冯雪, … / 冯雪，你好 …"."""
    from api.web.i18n import Text

    text = "Hi 冯雪, please propose a few clear goals (A / B testing counts). / 冯雪，你好！请制定几个清晰的目标。"
    assert Text("zh-CN").bi(text) == "冯雪，你好！请制定几个清晰的目标。"
    assert Text("en").bi(text) == "Hi 冯雪, please propose a few clear goals (A / B testing counts)."
