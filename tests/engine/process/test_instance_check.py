"""The check `reviewflow serve` runs before it serves: every unfinished instance it looks at can be loaded and
stepped by this process, or the server refuses to start and names the instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.bpmn import spiff
from engine.process import definitions, instance_check
from engine.store.models import Instance, Task
from tests import factories as f
from tests.workflows.steps import EMPLOYEE, GOALS, LEAD, PEERS, SETTINGS, act, deploy_shipped

REVIEWFLOW = Path(sys.executable).with_name("reviewflow")


@pytest.fixture
def mid_360(session):
    """An annual review waiting for three peers' answers, and a second person's review at its first step."""
    f.org(session, extra_peers=3)
    settings = {**SETTINGS, "nominations": {"min": 2, "max": 8}}
    f.launched(session, deploy_shipped(session, "annual_review"), [EMPLOYEE, "designer2@initech.test"], settings)
    act(session, EMPLOYEE, "draft_goals", {"goals": GOALS})
    act(session, LEAD, "approve_goals", {"goal_decision": "approve"}, subject=EMPLOYEE)
    act(session, EMPLOYEE, "nominate_peers", {"nominees": PEERS})
    act(session, LEAD, "approve_peers", {"peers": PEERS}, subject=EMPLOYEE)
    session.rollback()
    return session.scalar(select(Instance).join(Instance.subject).where(Instance.subject.has(email=EMPLOYEE)))


def test_healthy_instances_pass(session, mid_360):
    definitions.clear_caches()  # what a new process has
    report = instance_check.check_instances(session, sample=None)
    assert (report.unfinished, report.checked, report.problems) == (2, 2, [])


def test_a_state_that_cannot_be_loaded_is_named(session, mid_360):
    session.execute(update(Instance).where(Instance.id == mid_360.id).values(state='{"spec_key": 1, "tasks": {}}'))
    session.commit()
    [problem] = instance_check.check_instances(session, sample=None).problems
    assert problem.instance_id == mid_360.id and problem.subject == EMPLOYEE
    assert "annual_review v1" in problem.line() and "saved state cannot be loaded" in problem.message


def test_an_inbox_out_of_step_with_the_workflow_is_named(session, mid_360):
    session.execute(
        update(Task).where(Task.instance_id == mid_360.id, Task.name == "give_peer_feedback").values(status="cancelled")
    )
    session.commit()
    [problem] = instance_check.check_instances(session, sample=None).problems
    assert problem.instance_id == mid_360.id
    assert "3 waiting in the workflow without an inbox entry" in problem.message


def test_a_spec_that_would_not_collect_answers_is_named(session, mid_360, monkeypatch):
    """The defect this check was built for: a spec whose multi-instance is not wired loses answers given to it."""
    monkeypatch.setattr(spiff, "_wire_loops", lambda process_spec: None)
    definitions.clear_caches()
    problems = instance_check.check_instances(session, sample=None).problems
    assert {p.subject for p in problems} == {EMPLOYEE, "designer2@initech.test"}  # both run on the same spec
    assert all("give_peer_feedback" in p.message and "would not be collected" in p.message for p in problems)


def test_sample_takes_a_few_of_each_diagram_version(session, mid_360):
    report = instance_check.check_instances(session, sample=1)
    assert report.unfinished == 2 and report.checked == 2  # the oldest and the newest changed of the one version
    assert instance_check._chosen(session, sample=None) == sorted(i.id for i in session.scalars(select(Instance)))


def test_serve_refuses_to_start_and_names_the_instance(session, mid_360, db_engine):
    session.execute(update(Instance).where(Instance.id == mid_360.id).values(state="not json"))
    session.commit()
    env = {**os.environ, "REVIEWFLOW_DATABASE_URL": str(db_engine.url)}
    run = subprocess.run(
        [str(REVIEWFLOW), "serve", "--port", "9"], env=env, capture_output=True, text=True, timeout=120
    )
    text = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 1, text
    assert f"instance {mid_360.id} (annual_review v1" in text and EMPLOYEE in text
    assert "Refusing to serve" in text and "Traceback" not in text
    checked = subprocess.run([str(REVIEWFLOW), "check", "--all"], env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1 and f"instance {mid_360.id}" in checked.stderr
    assert "2 unfinished instances checked, 1 problems" in " ".join(checked.stdout.split())
