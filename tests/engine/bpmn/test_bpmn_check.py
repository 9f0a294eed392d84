"""Upload safety and structure checks of BPMN files (engine/bpmn/bpmn_check.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from engine.bpmn import bpmn_check
from engine.core.errors import DefinitionInvalid, TooLarge

# A small but complete diagram: lanes, a gateway with a default flow and a condition, a script task, an
# interrupting timer on a user task, an embedded sub-process and an event sub-process.
GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="pool" name="Review" processRef="review" />
    <bpmn:participant id="outside" name="Payroll" />
    <bpmn:messageFlow id="mf_payroll" sourceRef="end_ok" targetRef="outside" />
  </bpmn:collaboration>
  <bpmn:process id="review" name="Review / 评估" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_employee" name="Employee">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>self_review</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_manager" name="Manager">
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>score</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>calibrate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_ok</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>reminder</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>on_cancel</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="self_review" name="Write your self-review">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="reminder" attachedToRef="self_review">
      <bpmn:outgoing>f_late</bpmn:outgoing>
      <bpmn:timerEventDefinition id="reminder_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end_late">
      <bpmn:incoming>f_late</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:exclusiveGateway id="gw" name="Needs calibration?" default="f_plain">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_plain</bpmn:outgoing>
      <bpmn:outgoing>f_calibrate</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="score" name="Compute score">
      <bpmn:incoming>f_plain</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>score = round(sum(ratings) / len(ratings), 1)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:subProcess id="calibrate" name="Calibrate">
      <bpmn:incoming>f_calibrate</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:startEvent id="cal_start"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="cal_meeting"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="cal_end"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="c1" sourceRef="cal_start" targetRef="cal_meeting" />
      <bpmn:sequenceFlow id="c2" sourceRef="cal_meeting" targetRef="cal_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="end_ok">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:subProcess id="on_cancel" triggeredByEvent="true">
      <bpmn:startEvent id="cancel_start">
        <bpmn:outgoing>x1</bpmn:outgoing>
        <bpmn:messageEventDefinition id="cancel_msg_def" />
      </bpmn:startEvent>
      <bpmn:endEvent id="cancel_end"><bpmn:incoming>x1</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="x1" sourceRef="cancel_start" targetRef="cancel_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="self_review" />
    <bpmn:sequenceFlow id="f2" sourceRef="self_review" targetRef="gw" />
    <bpmn:sequenceFlow id="f_plain" sourceRef="gw" targetRef="score" />
    <bpmn:sequenceFlow id="f_calibrate" sourceRef="gw" targetRef="calibrate">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">spread &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="end_ok" />
    <bpmn:sequenceFlow id="f4" sourceRef="calibrate" targetRef="end_ok" />
    <bpmn:sequenceFlow id="f_late" sourceRef="reminder" targetRef="end_late" />
  </bpmn:process>
</bpmn:definitions>
"""

SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'

NO_SCRIPTS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="t" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="t" />
    <bpmn:sequenceFlow id="b" sourceRef="t" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def line_of(xml: str, needle: str) -> int:
    return xml[: xml.index(needle)].count("\n") + 1


def problems_of(xml: str) -> list[dict]:
    return bpmn_check.check_structure("review.bpmn", bpmn_check.parse_xml("review.bpmn", xml.encode()))


def mutate(old: str, new: str, xml: str = GOOD) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every lxml parsing entry point fail the test if it is reached."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("lxml parser reached for unsafe input")

    for entry in ("fromstring", "XML", "parse", "iterparse", "XMLParser", "XMLPullParser", "fromstringlist"):
        monkeypatch.setattr(etree, entry, boom)


# -------------------------------------------------------------------------------------------- good input


def test_good_diagram_passes_with_no_problems() -> None:
    root = bpmn_check.parse_xml("review.bpmn", GOOD.encode())
    assert bpmn_check.check_structure("review.bpmn", root) == []
    assert bpmn_check.has_script_tasks(root) is True


def test_utf8_bom_and_chinese_text_are_accepted() -> None:
    root = bpmn_check.parse_xml("review.bpmn", b"\xef\xbb\xbf" + GOOD.encode())
    assert root.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}process").get("name") == "Review / 评估"


def test_diagram_without_scripts_needs_no_designer() -> None:
    root = bpmn_check.parse_xml("tiny.bpmn", NO_SCRIPTS.encode())
    assert bpmn_check.check_structure("tiny.bpmn", root) == []
    assert bpmn_check.has_script_tasks(root) is False
    with_prescript = mutate(
        '<bpmn:userTask id="t" />',
        '<bpmn:userTask id="t"><bpmn:extensionElements ' + SPIFF + ">"
        "<spiffworkflow:preScript>x = 1</spiffworkflow:preScript></bpmn:extensionElements></bpmn:userTask>",
        NO_SCRIPTS,
    )
    assert bpmn_check.has_script_tasks(bpmn_check.parse_xml("tiny.bpmn", with_prescript.encode())) is True


# -------------------------------------------------------------------------------------------- unsafe input

BODY = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">{}</bpmn:definitions>'
CANARY = "CANARY-7f3a-secret-payroll"


def _xxe(tmp_path: Path) -> bytes:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{canary}">]>\n' + BODY.format("&xxe;")
    ).encode()


def _billion_laughs(tmp_path: Path) -> bytes:
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f'<?xml version="1.0"?>\n<!DOCTYPE d [{"".join(ents)}]>\n{BODY.format("&lol9;")}'.encode()


def _quadratic(tmp_path: Path) -> bytes:
    big = "A" * 50_000
    return f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "{big}">]>\n{BODY.format("&a;" * 5_000)}'.encode()


PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    "doctype_only": lambda p: ('<?xml version="1.0"?>\n<!DOCTYPE definitions>\n' + BODY.format("")).encode(),
    "lowercase_doctype": lambda p: ("<!doctype definitions>\n" + BODY.format("")).encode(),
    "xxe_file": _xxe,
    "xxe_http": lambda p: ('<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>' + BODY.format("&x;")).encode(),
    "external_dtd": lambda p: (
        '<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">\n' + BODY.format("")
    ).encode(),
    "parameter_entity": lambda p: (
        '<!DOCTYPE d [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>' + BODY.format("")
    ).encode(),
    "billion_laughs": _billion_laughs,
    "quadratic_blowup": _quadratic,
    "bare_entity_declaration": lambda p: ('<!ENTITY x "y">' + BODY.format("")).encode(),
    "utf16_doctype_bom": lambda p: (
        '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY x "y">]>' + BODY.format("&x;")
    ).encode("utf-16"),
    "utf16le_doctype_no_bom": lambda p: (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x "y">]>' + BODY.format("&x;")
    ).encode("utf-16-le"),
    "utf32_doctype": lambda p: ('<!DOCTYPE d [<!ENTITY x "y">]>' + BODY.format("&x;")).encode("utf-32"),
}


@pytest.mark.parametrize("payload", PAYLOADS, ids=list(PAYLOADS))
def test_doctype_payloads_are_refused_before_any_parser_runs(payload: str, tmp_path: Path, no_parser: None) -> None:
    data = PAYLOADS[payload](tmp_path)
    started = time.perf_counter()
    with pytest.raises(DefinitionInvalid) as caught:
        bpmn_check.parse_xml("evil.bpmn", data)
    assert time.perf_counter() - started < 1.0
    error = caught.value.errors[0]
    assert error["file"] == "evil.bpmn"
    assert "DOCTYPE" in error["message"] and "not allowed" in error["message"]
    assert error["line"] == (
        1
        if payload
        in (
            "lowercase_doctype",
            "xxe_http",
            "parameter_entity",
            "bare_entity_declaration",
            "utf16le_doctype_no_bom",
            "utf32_doctype",
        )
        else 2
    )
    assert CANARY not in repr(caught.value.__dict__) + str(caught.value)


def test_hardened_parser_is_a_second_lock_if_the_scan_were_bypassed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bpmn_check, "refuse_unsafe_xml", lambda name, data: None)
    with pytest.raises(DefinitionInvalid) as caught:
        bpmn_check.parse_xml("evil.bpmn", _xxe(tmp_path))
    assert CANARY not in repr(caught.value.__dict__) + str(caught.value)


@pytest.mark.parametrize(
    "data, says",
    [
        (GOOD.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), "UTF-16"),
        (GOOD.encode("utf-32-be"), "UTF-32"),
        (("\n" + GOOD.split("?>", 1)[1]).encode("utf-16-le"), "NUL"),
        (GOOD.replace('encoding="UTF-8"', 'encoding="UTF-7"').encode(), "UTF-7"),
        (
            GOOD.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("评估", "évalué").encode("latin-1"),
            "not valid UTF-8",
        ),
    ],
    ids=["utf16", "utf32_no_bom", "utf16_leading_newline_no_bom", "declared_utf7", "latin1_bytes"],
)
def test_non_utf8_files_are_refused_before_parsing(data: bytes, says: str, no_parser: None) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        bpmn_check.parse_xml("review.bpmn", data)
    assert says in caught.value.detail and "UTF-8" in caught.value.detail


def test_oversize_file_is_too_large(no_parser: None) -> None:
    data = GOOD.encode() + b" " * (bpmn_check.MAX_FILE_BYTES + 1 - len(GOOD.encode()))
    with pytest.raises(TooLarge) as caught:
        bpmn_check.parse_xml("big.bpmn", data)
    assert "5 MB" in caught.value.detail


def test_file_of_exactly_the_limit_is_not_too_large() -> None:
    data = GOOD.encode() + b" " * (bpmn_check.MAX_FILE_BYTES - len(GOOD.encode()))
    assert bpmn_check.check_structure("big.bpmn", bpmn_check.parse_xml("big.bpmn", data)) == []


def test_truncated_xml_reports_the_line() -> None:
    cut = GOOD[: GOOD.index('<bpmn:endEvent id="end_ok">')]
    with pytest.raises(DefinitionInvalid) as caught:
        bpmn_check.parse_xml("review.bpmn", cut.encode())
    error = caught.value.errors[0]
    assert isinstance(error["line"], int) and error["line"] >= cut.count("\n")
    assert "not well-formed" in error["message"] and error["file"] == "review.bpmn"


# -------------------------------------------------------------------------------------------- structure


def test_dangling_target_ref_is_reported_with_flow_id_and_line() -> None:
    xml = mutate(
        '<bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="end_ok" />',
        '<bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="review_x" />',
    )
    found = [p for p in problems_of(xml) if p["element"] == "f3"]
    assert found and found[0]["line"] == line_of(xml, 'id="f3"')
    assert "'review_x'" in found[0]["message"] and "process 'review'" in found[0]["message"]


def test_unconnected_task_is_reported() -> None:
    xml = mutate('<bpmn:endEvent id="end_ok">', '<bpmn:task id="forgotten" />\n    <bpmn:endEvent id="end_ok">')
    found = [p for p in problems_of(xml) if p["element"] == "forgotten"]
    assert len(found) == 1 and found[0]["line"] == line_of(xml, 'id="forgotten"')
    assert "not connected" in found[0]["message"] and "silently drop" in found[0]["message"]


def test_bad_default_flow_is_reported() -> None:
    xml = mutate('default="f_plain"', 'default="f3"')
    found = [p for p in problems_of(xml) if p["element"] == "gw"]
    assert found and found[0]["line"] == line_of(xml, 'id="gw"') and "'f3'" in found[0]["message"]


def test_bad_lane_reference_is_reported() -> None:
    xml = mutate("<bpmn:flowNodeRef>score</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>scor</bpmn:flowNodeRef>")
    found = [p for p in problems_of(xml) if p["element"] == "lane_manager"]
    assert found and found[0]["line"] == line_of(xml, ">scor<") and "'scor'" in found[0]["message"]


@pytest.mark.parametrize(
    "old, new, element, says",
    [
        ("<bpmn:outgoing>f2</bpmn:outgoing>", "<bpmn:outgoing>f2_old</bpmn:outgoing>", "self_review", "f2_old"),
        ('attachedToRef="self_review"', 'attachedToRef="gone"', "reminder", "'gone'"),
        ('targetRef="cal_end"', 'targetRef="end_ok"', "c2", "sub-process 'calibrate'"),
        (
            '<bpmn:subProcess id="calibrate" name="Calibrate">',
            '<bpmn:callActivity id="no_target" />\n    <bpmn:subProcess id="calibrate" name="Calibrate">',
            "no_target",
            "which process to call",
        ),
        ('targetRef="outside"', 'targetRef="nobody"', "mf_payroll", "'nobody'"),
        (
            '<bpmn:endEvent id="end_late">',
            '<bpmn:task id="loop_a" /><bpmn:task id="loop_b" /><bpmn:sequenceFlow id="la" sourceRef="loop_a" '
            'targetRef="loop_b" /><bpmn:sequenceFlow id="lb" sourceRef="loop_b" targetRef="loop_a" />\n'
            '    <bpmn:endEvent id="end_late">',
            "loop_a",
            "cannot be reached",
        ),
    ],
    ids=[
        "stale_outgoing",
        "boundary_attached_to_nothing",
        "flow_leaves_subprocess",
        "call_activity_without_target",
        "message_flow_to_nothing",
        "unreachable_loop",
    ],
)
def test_other_broken_references_are_reported(old: str, new: str, element: str, says: str) -> None:
    found = [p for p in problems_of(mutate(old, new)) if p["element"] == element]
    assert found and says in found[0]["message"] and isinstance(found[0]["line"], int)


def test_file_without_executable_process_is_reported() -> None:
    problems = problems_of(GOOD.replace('isExecutable="true"', 'isExecutable="false"'))
    assert [p["element"] for p in problems] == [None] and "executable" in problems[0]["message"]


# -------------------------------------------------------------------------------------------- code in diagrams


def test_script_sources_finds_script_condition_and_timer() -> None:
    found = bpmn_check.script_sources(bpmn_check.parse_xml("review.bpmn", GOOD.encode()))
    assert ("score", "script", "score = round(sum(ratings) / len(ratings), 1)", line_of(GOOD, "<bpmn:script>")) in found
    assert ("f_calibrate", "condition", "spread > 1", line_of(GOOD, "<bpmn:conditionExpression")) in found
    assert ("reminder", "timer", '"P14D"', line_of(GOOD, "<bpmn:timeDuration")) in found
    assert len(found) == 3


def test_script_sources_finds_extension_and_multi_instance_code() -> None:
    xml = mutate(
        '<bpmn:userTask id="t" />',
        '<bpmn:userTask id="t"><bpmn:extensionElements ' + SPIFF + ">"
        "<spiffworkflow:preScript>a = 1</spiffworkflow:preScript>"
        "<spiffworkflow:postScript>b = 2</spiffworkflow:postScript></bpmn:extensionElements>"
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>"
        "<bpmn:completionCondition>done</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>"
        "</bpmn:userTask>",
        NO_SCRIPTS,
    )
    found = {(e, k, s) for e, k, s, _ in bpmn_check.script_sources(bpmn_check.parse_xml("t.bpmn", xml.encode()))}
    assert found == {
        ("t", "script", "a = 1"),
        ("t", "script", "b = 2"),
        ("t", "expression", "3"),
        ("t", "expression", "done"),
    }
