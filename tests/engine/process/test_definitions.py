"""Deploying: versions, and call activities that pick up the latest deployed sub-diagram."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.core.errors import DefinitionInvalid
from engine.process import definitions
from engine.queries import views
from engine.store.models import AuditEvent
from tests import factories as f

CHILD = (f.DATA / "child.bpmn").read_bytes()
CALLER = (f.DATA / "caller.bpmn").read_bytes()


def _deploy(session, *files):
    return definitions.deploy(session, actor=f.people.by_email(session, f.HR), files=list(files))


def _first_task(session, definition, email="designer1@initech.test"):
    f.launched(session, definition, [email])
    return views.list_tasks(session, actor=f.people.by_email(session, email), status="open")


def test_a_caller_alone_is_refused_until_its_sub_diagram_is_deployed(session):
    f.org(session)
    with pytest.raises(DefinitionInvalid, match="child_step"):
        _deploy(session, ("caller.bpmn", CALLER))
    _deploy(session, ("child.bpmn", CHILD))
    caller, created = _deploy(session, ("caller.bpmn", CALLER))
    assert created and caller.key == "caller"
    assert [t["name"] for t in _first_task(session, caller)] == ["CHILD_TASK"]


def test_redeploying_the_caller_picks_up_a_new_version_of_the_sub_diagram(session):
    f.org(session)
    _deploy(session, ("child.bpmn", CHILD))
    v1, _ = _deploy(session, ("caller.bpmn", CALLER))
    child2, _ = _deploy(session, ("child.bpmn", CHILD.replace(b"CHILD_TASK", b"CHILD_TASK_V2")))
    assert child2.version == 2
    v2, created = _deploy(session, ("caller.bpmn", CALLER))
    assert created and v2.version == 2
    included = [
        json.loads(e.payload).get("included")
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "definition.deployed", AuditEvent.definition_id == v2.id)
        )
    ]
    assert included == [{"child_step": 2}]
    assert [t["name"] for t in _first_task(session, v2)] == ["CHILD_TASK_V2"]
    assert v1.version == 1  # instances pinned to version 1 keep it


def test_identical_files_deploy_no_new_version(session):
    f.org(session)
    first, created = _deploy(session, ("child.bpmn", CHILD))
    again, created_again = _deploy(session, ("child.bpmn", CHILD))
    assert (created, created_again, again.id) == (True, False, first.id)
