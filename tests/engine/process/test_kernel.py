"""The one core transaction (engine/process/kernel.py) and the hooks features plug in with: what a step may do,
what the kernel does around it, and what a step that finds nothing or fails leaves behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.bpmn import spiff
from engine.core.errors import WorkflowFailed
from engine.process import definitions, hooks, kernel, runtime
from engine.store.models import AuditEvent, Instance, Task
from tests import factories as f

EMPLOYEE = "designer1@initech.test"


def _instance(session) -> tuple[Instance, Task, dict]:
    people = f.org(session)
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE])
    instance = session.scalar(select(Instance).where(Instance.cycle_id == cycle.id))
    task = session.scalar(select(Task).where(Task.instance_id == instance.id, Task.status == "open"))
    return instance, task, people


def _events(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_step_that_finds_nothing_saves_nothing(session):
    instance, _task, _people = _instance(session)
    state, version, events = instance.state, instance.version, _events(session)

    def step(change: kernel.Change) -> str:
        assert spiff.ready_tasks(change.wf)  # loaded, looked at
        change.event("should.not.appear", {})
        change.nothing()
        return "idle"

    assert kernel.advance(session, instance.id, step, actor="test") == "idle"
    session.expire_all()
    again = session.get(Instance, instance.id)
    assert (again.state, again.version, _events(session)) == (state, version, events)


def test_a_step_that_fails_rolls_back_whole_and_the_failure_handler_runs_after(session):
    instance, task, _people = _instance(session)
    events = _events(session)
    seen: list[str] = []

    def step(change: kernel.Change) -> None:
        session.get(Task, task.id).draft = {"half": "written"}
        change.event("half.done", {})
        raise WorkflowFailed("Step 'x' failed.")

    with pytest.raises(WorkflowFailed):
        kernel.advance(session, instance.id, step, actor="test", on_failure=lambda exc: seen.append(exc.detail))
    assert seen == ["Step 'x' failed."]
    session.expire_all()
    assert session.get(Task, task.id).draft is None and _events(session) == events


def test_a_draft_does_not_load_the_workflow(session, monkeypatch):
    _instance_row, task, people = _instance(session)
    loads: list[int] = []
    real = spiff.load
    monkeypatch.setattr(spiff, "load", lambda state, spec: (loads.append(1), real(state, spec))[1])
    runtime.save_draft(session, task_id=task.id, actor=people[EMPLOYEE], data={"progress": "half way"})
    assert loads == []
    answer = {"progress": "Shipped the icons / 完成了图标库", "blockers": [], "mood": 4}
    runtime.complete_task(session, task_id=task.id, actor=people[EMPLOYEE], data=answer)
    assert loads == [1]  # a completion loads it once


def test_the_spec_is_passed_in_and_cached_by_the_definitions_digest(session):
    instance, _task, _people = _instance(session)
    definition = instance.definition
    spec = definitions.spec_of(session, definition)
    assert definitions.spec_of(session, definition.id) is spec  # parsed once
    assert spiff._SPECS[definition.digest] is spec
    with pytest.raises(RuntimeError, match="needs the workflow's spec"):
        spiff.SERIALIZER.deserialize_json(instance.state)  # nothing looks the spec up behind the caller's back
    assert spiff.ready_tasks(spiff.load(instance.state, spec))


def test_a_message_nothing_receives_fails_the_step_naming_it(session):
    instance, _task, _people = _instance(session)
    with pytest.raises(WorkflowFailed, match="'no_such_message'"):
        hooks.handle_message(session, instance=instance, name="no_such_message", payload={}, actor="test")
    with pytest.raises(WorkflowFailed, match="'calibrated'"):  # calibration's handler, on a review instance
        hooks.handle_message(session, instance=instance, name="calibrated", payload={}, actor="test")


def test_the_composition_root_plugs_every_feature_in():
    plugged = bootstrap.registered()
    assert {"launch_chunk", "fire_timer", "tick", "send_outbox", "send_reminders", "deliver_calibration"} <= set(
        plugged["jobs"]
    )
    assert {"goals", "self_ratings", "manager_ratings", "appeal", "calibration"} <= set(plugged["record_projectors"])
    assert {p.__module__ for p in hooks.record_projectors["manager_ratings"]} == {
        "engine.review.records",  # the ratings and the score
        "engine.calibration.lifecycle",  # a group waiting for this rating may open
    }
    assert plugged["context_providers"] == ["calibration_view", "feedback_summary"]
    assert plugged["message_handlers"] == ["calibrated"]
    assert plugged["preflight_notes"] == ["calibration"]
    assert plugged["tick_work"] == ["launch_chunks"]


def test_apply_runs_a_step_inside_the_callers_transaction_and_commits_nothing(session):
    """`kernel.apply` is the step machinery without a transaction of its own: a use case changing several
    instances all or nothing calls it inside its own; its rollback takes the step back whole."""
    instance, task, _people = _instance(session)
    version, events = instance.version, _events(session)

    def step(change: kernel.Change) -> str:
        session.get(Task, task.id).draft = {"half": "written"}
        change.event("in.the.callers.transaction", {})
        return "done"

    assert kernel.apply(session, instance.id, step, actor="test") == "done"
    assert session.in_transaction()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events + 1  # seen inside it
    session.rollback()
    session.expire_all()
    assert session.get(Task, task.id).draft is None
    assert (session.get(Instance, instance.id).version, _events(session)) == (version, events)
