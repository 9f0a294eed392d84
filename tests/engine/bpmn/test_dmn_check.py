"""DMN decision-table cells are Python the engine evaluates: each is checked at deploy like a BPMN script, in the form
the engine runs it. Valid cells in every syntax SpiffWorkflow accepts still deploy and decide as before."""

from __future__ import annotations

import pytest

from engine.bpmn import dmn_check, spiff
from engine.core.errors import DefinitionInvalid
from engine.org import people
from engine.process import definitions
from tests import factories as f

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="x">
  <bpmn:process id="banded" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide_band" name="Band">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>rating_band</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:userTask id="look" name="Look">
      <bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="decide_band"/>
    <bpmn:sequenceFlow id="b" sourceRef="decide_band" targetRef="look"/>
    <bpmn:sequenceFlow id="c" sourceRef="look" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""

RULES = [  # (score cell, department cell, band)
    ("-", '"what?"', '"asked"'),  # a ? inside quotes is text, not the input
    ("1,2", "-", '"never"'),  # a list: equality with the tuple (1, 2), as the engine does it
    ("&lt; 2", "-", '"low"'),
    ("2 &lt;= ? &lt; 4", "-", '"meets"'),
    ("&gt;= 4", '"Design"', '"exceeds"'),
    ("-", "-", '"other"'),
]


def dmn(rules=RULES, score_expression: str = "score") -> bytes:
    rows = "".join(
        f'<rule id="r{i}"><inputEntry id="r{i}_in1"><text>{score}</text></inputEntry>'
        f'<inputEntry id="r{i}_in2"><text>{dept}</text></inputEntry>'
        f'<outputEntry id="r{i}_out"><text>{band}</text></outputEntry></rule>\n'
        for i, (score, dept, band) in enumerate(rules, start=1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="DRD" name="DRD" namespace="x">
  <decision id="rating_band" name="Rating band">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in_score" label="Manager score">
        <inputExpression id="ie_score" typeRef="number"><text>{score_expression}</text></inputExpression>
      </input>
      <input id="in_dept" label="Department">
        <inputExpression id="ie_dept" typeRef="string"><text>department</text></inputExpression>
      </input>
      <output id="out_band" label="Band" name="band" typeRef="string" />
{rows}    </decisionTable>
  </decision>
</definitions>""".encode()


def _band(parsed, score, department) -> str:
    spec = spiff.Spec(parsed.spec, parsed.subprocess_specs)
    wf = spiff.new_workflow(-7, spec, {"score": score, "department": department})
    spiff.run_engine(wf)
    [ready] = spiff.ready_tasks(wf)
    return ready.data["band"]


def test_valid_cells_of_every_kind_deploy_and_decide_as_the_engine_does():
    parsed = spiff.parse_files([("banded.bpmn", BPMN.encode()), ("rating.dmn", dmn())])
    assert _band(parsed, 3, "what?") == "asked"
    assert _band(parsed, 1, "Sales") == "low"
    assert _band(parsed, 3, "Sales") == "meets"
    assert _band(parsed, 4.5, "Design") == "exceeds"
    assert _band(parsed, 4.5, "Sales") == "other"


@pytest.mark.parametrize(
    ("rule", "cell", "reason"),
    [
        (("-", "-", '__import__("os").getcwd()'), "output 'band' cell '__import__(\"os\").getcwd()'", "__import__"),
        (("&gt; ().__class__", "-", '"x"'), "input 'Manager score' cell '> ().__class__'", ".__class__"),
        (("? in open('x')", "-", '"x"'), "input 'Manager score' cell '? in open('x')'", "'open'"),
        (("&gt; &gt;", "-", '"x"'), "input 'Manager score' cell '> >'", "not a value, a comparison"),
        (("-", '"a".format(1)', '"x"'), "input 'Department' cell '\"a\".format(1)'", ".format"),
    ],
)
def test_a_bad_cell_is_refused_naming_file_decision_rule_and_cell(rule, cell, reason):
    rules = [RULES[0], rule, RULES[-1]]
    with pytest.raises(DefinitionInvalid) as refused:
        spiff.parse_files([("banded.bpmn", BPMN.encode()), ("rating.dmn", dmn(rules))])
    (problem,) = refused.value.errors
    assert problem["file"] == "rating.dmn" and problem["element"] == "r2" and problem["line"]
    message = problem["message"]
    assert "decision 'rating_band' (Rating band), rule 2 ('r2')" in message, message
    assert cell in message and reason in message, message


def test_an_unsafe_input_expression_is_refused_once_not_in_every_cell():
    found = dmn_check.problems("rating.dmn", spiff.bpmn_check.parse_xml("rating.dmn", dmn(score_expression="open")))
    assert [(p["element"], "input 'Manager score' expression" in p["message"]) for p in found] == [("in_score", True)]


def test_deploying_a_bad_dmn_answers_with_the_file_and_nothing_is_stored(session):
    f.org(session)
    designer = people.by_email(session, f.DESIGNER)
    files = [("banded.bpmn", BPMN.encode()), ("rating.dmn", dmn([("-", "-", "open('/etc/passwd').read()")]))]
    with pytest.raises(DefinitionInvalid) as refused:
        definitions.deploy(session, actor=designer, files=files)
    assert [(p["file"], p["element"]) for p in refused.value.errors] == [("rating.dmn", "r1")]
    assert definitions.listing(session) == []
    good = [("banded.bpmn", BPMN.encode()), ("rating.dmn", dmn())]
    assert definitions.deploy(session, actor=designer, files=good)[0].key == "banded"


def test_the_api_answers_422_naming_the_dmn_cell(client, session):
    f.org(session)
    files = [("banded.bpmn", BPMN.encode()), ("rating.dmn", dmn([("? == ().__class__", "-", '"x"')]))]
    r = client.post(
        "/api/definitions",
        headers=f.token(session, f.DESIGNER),
        files=[("files", (n, d, "application/xml")) for n, d in files],
    )
    assert r.status_code == 422, r.text
    (problem,) = r.json()["errors"]
    assert problem["file"] == "rating.dmn" and problem["element"] == "r1"
    assert "rule 1 ('r1'), input 'Manager score' cell '? == ().__class__'" in problem["message"]
