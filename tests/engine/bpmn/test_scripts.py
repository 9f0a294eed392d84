"""Diagram scripts run restricted, also after a workflow is restored from the database."""

from __future__ import annotations

import json

import pytest

from engine.bpmn import sandbox, spiff
from engine.core.errors import WorkflowFailed

SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="u" name="ack"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="calc"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>CODE</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="u"/>
    <bpmn:sequenceFlow id="b" sourceRef="u" targetRef="calc"/>
    <bpmn:sequenceFlow id="c" sourceRef="calc" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def _restored(code: str, definition_id: int):
    """Parse without the deploy checks (as if an unsafe diagram had slipped in), start, save and restore."""
    parsed = spiff.parse_files([("s.bpmn", SCRIPTED.replace("CODE", code).encode())], check=False)
    spec = spiff.Spec(parsed.spec, parsed.subprocess_specs)
    wf = spiff.new_workflow(definition_id, spec, {"score": 3})
    spiff.run_engine(wf)
    state = spiff.dump(wf)
    restored = spiff.load(state, spec)
    assert restored.script_engine is spiff.SCRIPT_ENGINE
    [ready] = spiff.ready_tasks(restored)
    return restored, ready


def test_state_does_not_embed_the_spec():
    parsed = spiff.parse_files([("s.bpmn", SCRIPTED.replace("CODE", "x = 1").encode())], check=False)
    spec = spiff.Spec(parsed.spec, parsed.subprocess_specs)
    state = json.loads(spiff.dump(spiff.new_workflow(-1, spec, {})))
    assert state["spec_key"] == -1 and "spec" not in state and "subprocess_specs" not in state


def test_benign_script_runs_after_restore_with_the_allowed_builtins():
    wf, ready = _restored("outcome = max([score, 1]) * 2\nranked = sorted(zip([2, 1], ['b', 'a']))", -2)
    spiff.complete(wf, ready.spiff_id, {})
    assert spiff.is_completed(wf)
    assert wf.data["outcome"] == 6 and wf.data["ranked"] == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(
    "code",
    [
        'leaked = "{0.__class__.__mro__}".format(1)',
        "x = ().__class__.__base__.__subclasses__()",
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
    ],
)
def test_escapes_fail_at_run_time_even_when_deploy_checks_were_bypassed(code):
    wf, ready = _restored(code, -3)
    with pytest.raises(WorkflowFailed) as failed:
        spiff.complete(wf, ready.spiff_id, {})
    assert failed.value.errors[0]["element"] == "calc"
    assert "<class" not in failed.value.detail and not spiff.is_completed(wf)


def test_runaway_script_is_stopped_by_the_time_budget():
    spiff.set_script_budget(0.2)
    try:
        wf, ready = _restored("n = 0\nwhile True:\n    n += 1", -4)
        with pytest.raises(WorkflowFailed, match="longer than 0.2 s"):
            spiff.complete(wf, ready.spiff_id, {})
    finally:
        spiff.set_script_budget(sandbox.DEFAULT_BUDGET_S)


@pytest.mark.parametrize(
    "code,reason",
    [
        ("import os", "imports are not allowed"),
        ("from os import path", "imports are not allowed"),
        ("x = ().__class__", "'.__class__' is not allowed"),
        ("eval('1')", "'eval' is not available"),
        ("getattr(1, 'real')", "'getattr' is not available"),
        ("y = '{}'.format(1)", "'.format' is not allowed"),
        ("x = (", "syntax error"),
    ],
)
def test_deploy_check_explains_each_refusal(code, reason):
    assert any(reason in p for p in sandbox.check(code))


def test_deploy_check_accepts_ordinary_score_formulas():
    formula = (
        "weights = {'goals': 0.5, 'self': 0.2, 'manager': 0.3}\n"
        "final = round(sum(scores[k] * w for k, w in weights.items()), 2)\n"
        "top = any(v >= 4 for v in scores.values()) and all(v > 1 for v in scores.values())"
    )
    assert sandbox.check(formula) == []
    g = sandbox.base_globals()
    g["scores"] = {"goals": 4, "self": 3, "manager": 5}
    sandbox.run_exec(formula, g)
    assert (g["final"], g["top"]) == (4.1, True)
