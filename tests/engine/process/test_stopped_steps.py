"""A step whose code the sandbox stopped is an incident at once — not a job retried, not a timer re-fired on every
tick — and the instance keeps what it had saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpmn import spiff
from engine.core import clock
from engine.jobs import incidents
from engine.process import definitions, runtime, timers
from engine.store.job_models import Incident
from engine.store.models import Instance, Task, Timer
from tests import factories as f
from tests.engine.bpmn.test_scripts import SCRIPTED

EMPLOYEE = "designer1@initech.test"
C_LOOP = "sum(map(sum, [range(10**6)] * 10**6))"
TIMED = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <bpmn:process id="timed" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="calc"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>total = {C_LOOP}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="b" sourceRef="wait" targetRef="calc"/>
    <bpmn:sequenceFlow id="c" sourceRef="calc" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture(autouse=True)
def short_budget():
    spiff.set_script_budget(0.3)
    yield
    spiff.set_script_budget(None)


def test_a_stopped_timer_step_is_one_incident_and_is_not_fired_again_on_every_tick(session, monkeypatch):
    people = f.org(session)
    definition, _ = definitions.deploy(session, actor=people[f.DESIGNER], files=[("t.bpmn", TIMED.encode())])
    cycle = f.launched(session, definition, [EMPLOYEE])
    instance = session.scalars(select(Instance).where(Instance.cycle_id == cycle.id)).one()
    saved = instance.state
    fired = []
    real_fire = spiff.fire_timers
    monkeypatch.setattr(spiff, "fire_timers", lambda wf: (fired.append(1), real_fire(wf)))

    clock.set_now(clock.now() + timedelta(hours=2))
    timers.run_due(session)
    session.expire_all()
    [incident] = incidents.list_incidents(session)
    assert (incident.job, incident.args, incident.attempts, incident.status) == (
        "fire_timer",
        {"instance_id": instance.id},
        1,
        "open",
    )
    assert "calc" in incident.error and "longer than 0.3 s" in incident.error
    assert len(fired) == 1  # not retried: the same code would be stopped again
    instance = session.get(Instance, instance.id)
    assert instance.status == "failed" and instance.state == saved  # rolled back: nothing saved was lost
    assert session.scalars(select(Timer).where(Timer.instance_id == instance.id)).all()

    for _ in range(3):
        clock.set_now(clock.now() + timedelta(hours=1))
        timers.run_due(session)
    session.expire_all()
    assert len(fired) == 1 and len(incidents.list_incidents(session)) == 1

    incidents.resolve(session, actor=people[f.HR], incident_id=incident.id)  # HR retries once: stopped again
    session.expire_all()
    assert len(fired) == 2
    [again] = incidents.list_incidents(session)
    assert (again.id, again.status, again.attempts) == (incident.id, "open", 2)


def test_a_stopped_script_on_submit_is_an_incident_that_hr_can_close(session):
    people = f.org(session)
    diagram = SCRIPTED.replace("CODE", f"total = {C_LOOP}").encode()
    definition, _ = definitions.deploy(session, actor=people[f.DESIGNER], files=[("s.bpmn", diagram)])
    f.launched(session, definition, [EMPLOYEE])
    task = session.scalars(select(Task).where(Task.status == "open")).one()
    with pytest.raises(runtime.WorkflowFailed, match="calc"):
        runtime.complete_task(session, task_id=task.id, actor=people[EMPLOYEE], data={})
    session.expire_all()
    [incident] = incidents.list_incidents(session)
    assert incident.job == "complete_task" and incident.args["element"] == "calc"
    assert "longer than 0.3 s" in incident.error and session.get(Task, task.id).status == "open"

    incidents.resolve(session, actor=people[f.HR], incident_id=incident.id)  # no job to re-run: closed
    session.expire_all()
    assert session.get(Incident, incident.id).status == "resolved"




def test_a_launch_stops_trying_once_the_sandbox_stopped_a_few_starts(session, monkeypatch):
    from engine.bpmn import sandbox_worker
    from engine.review import launch
    from engine.store.job_models import LaunchChunk

    people = f.org(session, extra_peers=5)
    diagram = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <bpmn:process id="eager" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>total = {C_LOOP}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="calc"/>
    <bpmn:sequenceFlow id="c" sourceRef="calc" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    definition, _ = definitions.deploy(session, actor=people[f.DESIGNER], files=[("e.bpmn", diagram.encode())])
    runs = []
    real_run = sandbox_worker.run
    monkeypatch.setattr(sandbox_worker, "run", lambda kind, **kw: (runs.append(kind), real_run(kind, **kw))[1])
    emails = [p for p in people if p.startswith("peer")]
    cycle = f.launched(session, definition, emails)

    assert len(runs) == 3 == launch.STOPS_PER_CHUNK  # one budget each, then the chunk gives up instead of holding on
    [chunk] = session.scalars(select(LaunchChunk).where(LaunchChunk.cycle_id == cycle.id)).all()
    problems = [failure["problem"] for failure in chunk.failures]
    assert len(problems) == len(emails) == 5
    assert sum("longer than 0.3 s" in p for p in problems) == 3
    assert sum(p.startswith("not started: the diagram's code was stopped") for p in problems) == 2
    assert launch.progress(session, cycle.id)["failed"] == 5
