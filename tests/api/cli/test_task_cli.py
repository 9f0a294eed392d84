"""`reviewflow task reassign / delegate / due` as a user runs them (a real subprocess on a SQLite file): one line of
result, the same command again says unchanged, a refusal is one error line naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories as f
from tests.api.cli.test_cli import CHECKIN_FILES, HR, PASSWORD, Run, assert_one_error_line, query, reviewflow

EMPLOYEE, OTHER, LEAD = "designer1@initech.test", "designer2@initech.test", "design.lead@initech.test"
AUDITOR = "ceo@initech.test"  # reads every task, changes none


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("task-cli")
    (home / "org.csv").write_text(f.ORG, encoding="utf-8")
    steps = [
        reviewflow(home, "init"),
        reviewflow(home, "people", "import", "org.csv"),
        reviewflow(home, "account", "create", HR, "--role", "hr_admin", "--password-stdin", stdin=PASSWORD + "\n"),
        reviewflow(home, "account", "create", AUDITOR, "--role", "auditor"),
        reviewflow(home, "deploy", *CHECKIN_FILES, "--as", HR),
        reviewflow(home, "cycle", "create", "Q4", "quarterly_checkin", "--participants", f"emails:{EMPLOYEE}",
                   "--as", HR),
        reviewflow(home, "cycle", "launch", "1", "--as", HR),
    ]
    for run in steps:
        assert run.code == 0, run
    return home


def done(run: Run) -> str:
    assert run.code == 0, run
    assert run.err.strip() == "" or "Traceback" not in run.err
    return run.text


def holders(home: Path) -> list[tuple]:
    return query(
        home,
        "SELECT p.email, b.email, a.until FROM task_assignee a JOIN person p ON p.id = a.person_id "
        "LEFT JOIN person b ON b.id = a.on_behalf_of_id WHERE a.task_id = 1 ORDER BY p.email",
    )


def test_reassign_delegate_and_due_from_the_command_line(home):
    out = done(reviewflow(home, "task", "reassign", "1", OTHER, "--reason", "Covers the leave", "--as", HR))
    assert out == f"task 1 (write_checkin): assignees {OTHER}; due none"
    again = done(reviewflow(home, "task", "reassign", "1", OTHER, "--reason", "Covers the leave", "--as", HR))
    assert again.endswith("(unchanged)")
    assert holders(home) == [(OTHER, None, None)]

    out = done(reviewflow(home, "task", "delegate", "1", LEAD, "--until", "2099-01-01T08:00:00", "--as", OTHER))
    assert f"delegates {LEAD} for {OTHER} until 2099-01-01T08:00:00+00:00" in out
    assert [(e, b) for e, b, _ in holders(home)] == [(LEAD, OTHER), (OTHER, None)]

    out = done(reviewflow(home, "task", "due", "1", "2099-02-01", "--reason", "Back later", "--as", HR))
    assert "due 2099-02-01T23:59:59+00:00" in out
    sql = "SELECT action, actor FROM audit_event WHERE task_id = 1 AND action LIKE 'task.%' ORDER BY seq"
    emails = dict(query(home, "SELECT 'person:' || id, email FROM person"))  # a person actor is chained by id
    events = [(action, emails.get(actor, actor)) for action, actor in query(home, sql)]
    assert [e for e in events if e[0] != "task.created"] == [
        ("task.reassigned", HR),
        ("task.delegated", OTHER),
        ("task.due_changed", HR),
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["reassign", "1", "nobody@x.test", "--reason", "x", "--as", HR], ["not in the org chart", "unknown_person"]),
        (["reassign", "1", LEAD, "--reason", " ", "--as", HR], ["Say why", "reason_required"]),
        (["reassign", "1", LEAD, "--reason", "x", "--as", AUDITOR], ["This needs one of the roles"]),
        (["reassign", "99", LEAD, "--reason", "x", "--as", HR], ["No task with id 99 for you."]),
        (["delegate", "1", LEAD, "--as", "people@initech.test"], ["Only the person this task is assigned to"]),
        (["delegate", "1", LEAD, "--until", "next week", "--as", OTHER], ["--until must be an ISO date"]),
        (["delegate", "1", LEAD, "--as", "nobody@x.test"], ["no person nobody@x.test"]),
        (["due", "1", "2001-01-01", "--reason", "x", "--as", HR], ["must be in the future", "not_in_future"]),
    ],
)
def test_a_refused_task_command_is_one_error_line(home, args, words):
    assert_one_error_line(reviewflow(home, "task", *args), *words)
