"""Active content in diagrams: deploy refuses processing instructions and elements outside the diagram namespaces
(engine/bpmn_check.check_content), and keeps every shipped diagram and the modeler extensions bpmn-js writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpmn import bpmn_check, spiff
from engine.core.errors import DefinitionInvalid

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted([*ROOT.glob("workflows/*.bpmn"), *ROOT.glob("tests/**/*.bpmn"), *ROOT.glob("tests/**/*.dmn")])

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
HEAD<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    xmlns:bioc="http://bpmn.io/schema/bpmn/biocolor/1.0"
    xmlns:color="http://www.omg.org/spec/BPMN/non-normative/color/1.0"
    xmlns:h="http://www.w3.org/1999/xhtml" xmlns:svg="http://www.w3.org/2000/svg"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    id="d" targetNamespace="http://bpmn.io/schema/bpmn" modeler:executionPlatform="Camunda Cloud">
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="t" name="Write" camunda:asyncBefore="true">
      <bpmn:extensionElements><zeebe:taskDefinition type="x"/><camunda:properties/></bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      BODY
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="b" sourceRef="t" targetRef="e"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="tiny">
    <bpmndi:BPMNShape id="t_di" bpmnElement="t" bioc:stroke="#1e88e5" bioc:fill="#bbdefb"
        color:background-color="#bbdefb" color:border-color="#1e88e5">
      <dc:Bounds x="10" y="10" width="100" height="80"/>
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def diagram(body: str = "", head: str = "") -> bytes:
    return DIAGRAM.replace("BODY", body).replace("HEAD", head).encode()


def content_problems(data: bytes) -> list[dict]:
    return bpmn_check.check_content("d.bpmn", bpmn_check.parse_xml("d.bpmn", data))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_and_test_diagram_passes(path: Path) -> None:
    assert content_problems(path.read_bytes()) == []


def test_modeler_extensions_and_colours_are_kept() -> None:
    assert content_problems(diagram()) == []
    spiff.parse_files([("d.bpmn", diagram())])  # deploys: no exception


@pytest.mark.parametrize(
    ("body", "head", "says"),
    [
        ("<h:script>alert(document.cookie)</h:script>", "", "XHTML"),
        ('<bpmn:documentation><h:img src="x" onerror="alert(1)"/></bpmn:documentation>', "", "XHTML"),
        ("<svg:svg><svg:script>alert(1)</svg:script></svg:svg>", "", "SVG"),
        ('<x:include xmlns:x="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>', "", "XInclude"),
        ("<script>alert(1)</script>", "", "no namespace"),
        ('<v:thing xmlns:v="http://vendor.example/ext"/>', "", "vendor.example"),
        ("<?php echo 1; ?>", "", "processing instruction"),
        ("", '<?xml-stylesheet type="text/xsl" href="data:,x"?>\n', "processing instruction"),
    ],
)
def test_active_content_is_refused_with_its_line(body: str, head: str, says: str) -> None:
    data = diagram(body, head)
    problems = content_problems(data)
    assert problems and says in problems[0]["message"], problems
    assert problems[0]["line"] and problems[0]["file"] == "d.bpmn"
    with pytest.raises(DefinitionInvalid) as refused:
        spiff.parse_files([("d.bpmn", data)])
    assert any(says in e["message"] for e in refused.value.errors)


def test_attributes_in_web_namespaces_are_refused() -> None:
    data = diagram().replace(b'name="Write"', b'name="Write" xlink:href="javascript:alert(1)"')
    [problem] = content_problems(data)
    assert "XLink" in problem["message"] and problem["element"] == "t"


def test_a_dmn_table_drawn_by_dmn_js_is_kept() -> None:
    dmn = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd" xmlns:biodi="http://bpmn.io/schema/dmn/biodi/1.0"
    xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="d" name="D" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="band" name="Band">
    <extensionElements><biodi:bounds x="150" y="80" width="180" height="80"/></extensionElements>
    <decisionTable id="t"><input id="i" camunda:inputVariable="x"><inputExpression id="e" typeRef="integer">
      <text>rating</text></inputExpression></input><output id="o" name="band" typeRef="string"/></decisionTable>
  </decision>
</definitions>"""
    assert content_problems(dmn) == []
