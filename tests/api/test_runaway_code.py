"""Author code that runs forever inside C — a gateway condition, a script task, a score formula, an instructions
template — cannot stall a real `reviewflow serve`: `/healthz` keeps answering within a second while it runs, the
request ends with a clear error naming the step within its budget, nothing saved is lost, and HR sees an incident."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from engine.process import definitions
from engine.review import cycles
from engine.store.models import Cycle, Task
from tests import factories as f
from tests.jobs.conftest import wait_for

REVIEWFLOW = Path(sys.executable).with_name("reviewflow")
EMPLOYEE = "designer1@initech.test"
BUDGET_S = 1.0
C_LOOP = "sum(map(sum, [range(10**6)] * 10**6))"  # passes every cap: 10**12 additions inside one C call
HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="x">"""
FIRST = """<bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="u" name="ack">FORM<bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="u"/>"""
GATEWAY = f"""{HEADER}<bpmn:process id="gated" isExecutable="true">{FIRST}
    <bpmn:exclusiveGateway id="decide" default="d"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:outgoing>d</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e1"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>d</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b" sourceRef="u" targetRef="decide"/>
    <bpmn:sequenceFlow id="c" sourceRef="decide" targetRef="e1">
      <bpmn:conditionExpression>{C_LOOP} &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="d" sourceRef="decide" targetRef="e2"/>
  </bpmn:process></bpmn:definitions>"""
SCRIPT = f"""{HEADER}<bpmn:process id="scripted" isExecutable="true">{FIRST}
    <bpmn:scriptTask id="calc"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>total = {C_LOOP}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b" sourceRef="u" targetRef="calc"/>
    <bpmn:sequenceFlow id="c" sourceRef="calc" targetRef="e"/>
  </bpmn:process></bpmn:definitions>"""
TEMPLATE = "{% for a in range(100000) %}{% for b in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
INSTRUCTIONS = f"""{HEADER}<bpmn:process id="instructed" isExecutable="true">{FIRST}
    <bpmn:userTask id="read" name="read">
      <bpmn:extensionElements><spiffworkflow:instructionsForEndUser>{TEMPLATE}</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b" sourceRef="u" targetRef="read"/>
    <bpmn:sequenceFlow id="c" sourceRef="read" targetRef="e"/>
  </bpmn:process></bpmn:definitions>"""
RATED_FORM = """<bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="rated.schema.json"/>
    </spiffworkflow:properties></bpmn:extensionElements>"""
RATED_SCHEMA = b"""{"type": "object", "x-record": "manager_ratings", "required": ["manager_overall"],
  "properties": {"manager_overall": {"type": "integer", "minimum": 1, "maximum": 5}}}"""
FORMULA = f"""{HEADER}<bpmn:process id="scored" isExecutable="true">{FIRST.replace("FORM", RATED_FORM)}
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b" sourceRef="u" targetRef="e"/>
  </bpmn:process></bpmn:definitions>"""


def _launch(session, people, key: str, files: list[tuple[str, bytes]], formula: str | None = None) -> int:
    definitions.deploy(session, actor=people[f.DESIGNER], files=files)
    hr = people[f.HR]
    settings = {"score": {"formula": "manager"}} if formula else None
    cycle = cycles.create_cycle(
        session, actor=hr, name=f"Runaway {key}", definition=key, participants={"emails": [EMPLOYEE]}, settings=settings
    )
    if formula:  # as if it had slipped past the checks at create time: the run itself must hold
        row = session.get(Cycle, cycle.id)
        row.settings = {**row.settings, "score": {"formula": formula}}
        session.commit()
    cycles.launch(session, actor=hr, cycle_id=cycle.id)
    session.rollback()
    task = session.scalars(select(Task).join(Task.instance).where(Task.instance.has(cycle_id=cycle.id))).one()
    return task.id


@pytest.fixture
def server(session, db_engine, tmp_path):
    people = f.org(session)
    scenarios = {
        "gateway": (_launch(session, people, "gated", [("g.bpmn", GATEWAY.replace("FORM", "").encode())]), "decide"),
        "script": (_launch(session, people, "scripted", [("s.bpmn", SCRIPT.replace("FORM", "").encode())]), "calc"),
        "formula": (
            _launch(
                session, people, "scored", [("f.bpmn", FORMULA.encode()), ("rated.schema.json", RATED_SCHEMA)], C_LOOP
            ),
            "score formula",
        ),
        "instructions": (
            _launch(session, people, "instructed", [("i.bpmn", INSTRUCTIONS.replace("FORM", "").encode())]),
            "read",
        ),
    }
    tokens = {email: f.token(session, email) for email in (EMPLOYEE, f.HR)}
    session.commit()
    session.close()
    db_engine.dispose()  # the server process owns the SQLite file from here
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "REVIEWFLOW_DATABASE_URL": str(db_engine.url),
        "REVIEWFLOW_SCRIPT_TIME_BUDGET_S": str(BUDGET_S),
        "REVIEWFLOW_STARTUP_CHECK": "off",
    }
    env.pop("REVIEWFLOW_BROKER_URL", None)
    log = tmp_path / "serve.log"
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [str(REVIEWFLOW), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=60, what=f"reviewflow serve\n{log.read_text()}")
    try:
        yield url, scenarios, tokens
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a server stuck inside C never runs its SIGTERM handler
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def _complete_while_probing(url: str, task_id: int, headers: dict[str, str], data: dict[str, Any]):
    """POST the completion in a thread; meanwhile probe /healthz. Returns (response, seconds, probe times)."""
    result: dict[str, Any] = {}

    def post() -> None:
        started = time.monotonic()
        try:
            result["response"] = httpx.post(
                f"{url}/api/tasks/{task_id}/complete", json={"data": data}, headers=headers, timeout=60
            )
        except httpx.HTTPError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=post)
    thread.start()
    probes: list[float] = []
    while thread.is_alive():
        started = time.monotonic()
        try:
            ok = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ok = False
        probes.append(time.monotonic() - started if ok else 99.0)
        thread.join(timeout=0.05)
    thread.join()
    assert "response" in result, f"the request never answered ({result.get('error')}; /healthz probes {probes})"
    return result["response"], result["seconds"], probes


@pytest.mark.parametrize("scenario", ["gateway", "script", "formula", "instructions"])
def test_code_that_runs_forever_in_c_cannot_stall_the_server(server, scenario):
    url, scenarios, tokens = server
    task_id, element = scenarios[scenario]
    data = {"manager_overall": 3} if scenario == "formula" else {}
    response, seconds, probes = _complete_while_probing(url, task_id, tokens[EMPLOYEE], data)

    assert probes, "the request ended before /healthz could be asked"
    assert max(probes) < 1.0, f"/healthz took {max(probes):.2f} s while the code ran"
    assert seconds < BUDGET_S + 2.5, f"the request took {seconds:.1f} s"
    incidents = httpx.get(f"{url}/api/incidents", headers=tokens[f.HR], timeout=10).json()["items"]
    if scenario == "instructions":  # the step goes on; the task shows its instructions unrendered
        assert response.status_code == 200, response.text
        [incident] = [i for i in incidents if i["job"] == "instructions"]
        assert incident["args"]["element"] == element and "stopped" in incident["error"]
        listed = httpx.get(f"{url}/api/tasks?status=open", headers=tokens[EMPLOYEE], timeout=10).json()
        [read] = [t for t in (listed["items"] if isinstance(listed, dict) else listed) if t["name"] == "read"]
        shown = httpx.get(f"{url}/api/tasks/{read['id']}", headers=tokens[EMPLOYEE], timeout=10).json()
        assert shown["instructions"] == TEMPLATE
        return
    body = response.json()
    assert element in body["detail"] and ("longer than" in body["detail"] or "stopped" in body["detail"])
    assert "kept as a draft" in body["detail"]
    if scenario == "formula":  # the cycle's settings are broken, not the diagram: one incident per cycle for HR
        assert (response.status_code, body["error"]) == (409, "cycle_settings_broken"), response.text
        [incident] = [i for i in incidents if i["job"] == "check_cycle_settings"]
        assert element in incident["error"]
    else:
        assert (response.status_code, body["error"]) == (422, "workflow_failed"), response.text
        [incident] = [i for i in incidents if i["job"] == "complete_task"]
        assert incident["args"]["task_id"] == task_id and element in incident["error"]
    task = httpx.get(f"{url}/api/tasks/{task_id}", headers=tokens[EMPLOYEE], timeout=10).json()
    assert task["status"] == "open"  # rolled back: the task is still there to answer once the diagram is fixed
