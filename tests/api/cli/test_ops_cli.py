"""`reviewflow task reopen|complete` and `reviewflow instance cancel|revert-migration` (issue 12) in process, on this
test's SQLite or PostgreSQL database: one line of result, a dry run saves nothing, the same command again says
unchanged, a refusal is exactly one `Error:` line naming the rule, with a non-zero exit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli.main import app as cli
from engine import audit
from engine.org import accounts, people
from engine.process import definitions
from engine.queries import views
from engine.store.models import AuditEvent, Instance, Task
from tests import factories as f

pytestmark = pytest.mark.both_dbs

EMPLOYEE, LEAD, AUDITOR = "designer1@initech.test", "design.lead@initech.test", "auditor@initech.test"
GOOD = {"progress": "Shipped the icon set / 完成了图标库", "blockers": [], "mood": 4}
RESPONSE = {"response": "Well done", "escalate_to_hr": False}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, " ".join(result.stdout.split()), result.stderr


def ok(*args: str, stdin: str | None = None) -> str:
    code, out, err = run(*args, stdin=stdin)
    assert code == 0, (out, err)
    return out


def refused(args: list[str], *words: str, stdin: str | None = None) -> None:
    code, out, err = run(*args, stdin=stdin)
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    [line] = err.strip().splitlines()  # one line, whatever went wrong
    assert line.startswith("Error: ")
    for word in words:
        assert word in line, line


def status(session, model: Any, row_id: int) -> str:
    session.rollback()
    session.expire_all()
    return str(session.get(model, row_id).status)


def open_tasks(session, email: str) -> list[dict[str, Any]]:
    session.rollback()  # a fresh snapshot: the command committed in its own session
    return views.list_tasks(session, actor=f.people.by_email(session, email), status="open")


@pytest.fixture
def world(db_engine, session) -> dict[str, Any]:
    f.org(session)
    accounts.create_account(session, email=AUDITOR, roles=["auditor"], password=None, actor="test")
    cycle = f.launched(session, f.deploy(session), [EMPLOYEE])
    [task] = views.list_tasks(session, actor=f.people.by_email(session, EMPLOYEE), status="open")
    return {"cycle": cycle.id, "task": task["id"], "instance": task["instance_id"]}


def test_complete_on_behalf_reopen_and_cancel(session, world, tmp_path):
    task, instance = str(world["task"]), str(world["instance"])
    out = ok(
        "task",
        "complete",
        task,
        "--data",
        "-",
        "--on-behalf",
        "--reason",
        "Agreed by phone",
        "--as",
        f.HR,
        stdin=json.dumps(GOOD),
    )
    assert (
        out == f"task {task} (write_checkin) completed by {f.HR} on behalf of its assignee; open now: respond ({LEAD})"
    )
    answer = tmp_path / "response.json"
    answer.write_text(json.dumps(RESPONSE), encoding="utf-8")
    [respond] = open_tasks(session, LEAD)
    out = ok("task", "complete", str(respond["id"]), "--data", str(answer), "--as", LEAD)  # the assignee's own
    assert out == f"task {respond['id']} (respond) completed by {LEAD}; open now: none"

    out = ok("task", "reopen", task, "--reason", "Wrong quarter", "--dry-run", "--as", f.HR)
    assert out.startswith(f"task {task} (write_checkin) would be reopened; steps reset: respond; records superseded:")
    assert out.endswith("(dry run: nothing saved)")
    assert (
        status(session, Task, world["task"]) == "completed"
        and status(session, Instance, world["instance"]) == "completed"
    )
    out = ok("task", "reopen", task, "--reason", "Wrong quarter", "--as", f.HR)
    assert out.startswith(f"task {task} (write_checkin) reopened; steps reset: respond;")
    assert status(session, Task, world["task"]) == "open" and status(session, Task, respond["id"]) == "reset"
    assert status(session, Instance, world["instance"]) == "running"  # the completed review runs again
    assert ok("task", "reopen", task, "--reason", "Wrong quarter", "--as", f.HR).endswith("(unchanged)")

    out = ok("instance", "cancel", instance, "--reason", "Left the company", "--dry-run", "--as", f.HR)
    assert out == (
        f"instance {instance} would be cancelled; open tasks withdrawn: write_checkin ({EMPLOYEE}) "
        "(dry run: nothing saved)"
    )
    assert status(session, Instance, world["instance"]) != "cancelled"
    out = ok("instance", "cancel", instance, "--reason", "Left the company", "--as", f.HR)
    assert out == f"instance {instance} cancelled; open tasks withdrawn: write_checkin ({EMPLOYEE})"
    assert status(session, Instance, world["instance"]) == "cancelled"
    assert ok("instance", "cancel", instance, "--reason", "Again", "--as", f.HR).endswith("(unchanged)")
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.actor.in_(audit.actor_refs(people.by_email(session, f.HR))))
        .order_by(AuditEvent.seq)
    )
    assert [a for a in actions if a in ("task.completed", "task.reopened", "instance.cancelled")] == [
        "task.completed",
        "task.reopened",
        "instance.cancelled",
    ]


def test_revert_a_migration_on_the_command_line(session, world):
    instance = str(world["instance"])
    refused(["instance", "revert-migration", instance, "--as", f.HR], "never moved to another version")
    extra = ("checkin_v2_added.bpmn", "checkin-ack.schema.json", "checkin-manager-v2.schema.json", *f.CHECKIN[1:])
    files = [("quarterly_checkin.bpmn", (f.DATA / extra[0]).read_bytes()), *f.files(*extra[1:])]
    definitions.deploy(session, actor=f.people.by_email(session, f.HR), files=files)
    ok("cycle", "migrate", str(world["cycle"]), "--to-version", "2", "--as", f.HR)
    refused(["instance", "revert-migration", instance, "--as", EMPLOYEE], "This needs one of the roles")
    out = ok("instance", "revert-migration", instance, "--as", f.HR)
    assert out == f"instance {instance} back on version 1 (was moved to version 2)"
    assert ok("instance", "revert-migration", instance, "--as", f.HR).endswith("(unchanged)")


def test_a_refused_operation_is_one_error_line(session, world):
    task, instance = str(world["task"]), str(world["instance"])
    base = ["task", "complete", task, "--data", "-"]
    refused([*base, "--as", EMPLOYEE], "--data: standard input is not JSON", stdin="{progress")
    refused([*base, "--as", EMPLOYEE], "mood", stdin=json.dumps({**GOOD, "mood": 9}))
    refused([*base, "--on-behalf", "--as", f.HR], "Say why", "reason_required", stdin=json.dumps(GOOD))
    refused([*base, "--on-behalf", "--reason", "x", "--as", EMPLOYEE], "needs one of the roles", stdin="{}")
    refused(["task", "complete", task, "--data", "missing.json", "--as", EMPLOYEE], "cannot read missing.json")
    refused(["task", "reopen", task, "--reason", "x", "--as", f.HR], "Only a completed task can be reopened")
    refused(["task", "reopen", task, "--reason", "x", "--as", AUDITOR], "This needs one of the roles")
    refused(["task", "reopen", "999999", "--reason", "x", "--as", f.HR], "No task with id 999999")
    refused(["instance", "cancel", instance, "--reason", " ", "--as", f.HR], "reason")
    refused(["instance", "cancel", "999999", "--reason", "x", "--as", f.HR], "No instance with id 999999.")
    refused(["instance", "cancel", instance, "--reason", "x", "--as", "nobody@x.test"], "no person nobody@x.test")
    assert (
        open_tasks(session, LEAD) == [] and status(session, Task, world["task"]) == "open"
    )  # nothing above changed anything
    assert status(session, Instance, world["instance"]) != "cancelled"
