"""`reviewflow task ...` and `reviewflow instance ...`: HR's live operations on one task or one review from the command
line, the same engine operations the API and the pages call (engine/ops, engine/process/runtime.py). Each prints one
line of result (a dry run says so and saves nothing; a retry says unchanged); a refusal is one `Error:` line naming
the rule (its code in brackets, for scripts) and exit 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from api.cli.common import actor_for, session
from api.cli.errors import fail_line
from engine.core.errors import Forbidden, ReviewflowError
from engine.ops import cancel as cancelling
from engine.ops import migrate as migrating
from engine.ops import reopen as reopening
from engine.ops import tasks as admin
from engine.org import policy
from engine.process import runtime
from engine.store.models import Person, Task

task_app = typer.Typer(
    help="Administer tasks: reassign, delegate, move a due date, reopen, complete on someone's behalf.",
    no_args_is_help=True,
)
instance_app = typer.Typer(help="One review (instance): cancel it, revert its migration.", no_args_is_help=True)
out = Console(soft_wrap=True)

As = Annotated[str | None, typer.Option("--as", help="act as this HR account")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="show what would change; save nothing")]


def _refusal(exc: ReviewflowError) -> str:
    """The error's detail, each listed problem that says more (with its field), and the rule codes in brackets."""
    problems = [
        f"{e['path']}: {e.get('message')}" if e.get("path") else str(e.get("message"))
        for e in exc.errors
        if e.get("message") and e.get("message") != exc.detail
    ]
    codes = sorted({str(e["code"]) for e in exc.errors if e.get("code")})
    text = " ".join([exc.detail, "; ".join(problems)]).strip()
    return text + (f" ({', '.join(codes)})" if codes else "")


def _run(call: Callable[[Session], str]) -> None:
    """Run one operation in a session and print its line; a refusal is one error line."""
    with session() as s:
        try:
            line = call(s)
        except ReviewflowError as exc:
            s.rollback()
            fail_line(_refusal(exc))
    out.print(escape(line))


def _hr(s: Session, email: str | None) -> Person:
    """The acting person, who must hold HR's MANAGE permission (as the API's HR routes require)."""
    person = actor_for(s, email)
    if not policy.allows(person, policy.MANAGE):
        raise Forbidden(f"This needs one of the roles: {', '.join(policy.holders(policy.MANAGE))}.")
    return person


def _when(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail_line(f"{option} must be an ISO date or date-time such as 2027-03-31 or 2027-03-31T17:00:00+08:00.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _task_line(result: dict[str, Any]) -> str:
    delegates = ", ".join(
        f"{d['email']} for {d['on_behalf_of']}" + (f" until {d['until']}" if d["until"] else "")
        for d in result["delegates"]
        if d["active"]
    )
    due = result["due_at"] or "none"
    line = f"task {result['id']} ({result['name']}): assignees {', '.join(result['assignees'])}; due {due}"
    line += f"; delegates {delegates}" if delegates else ""
    return line + ("" if result["changed"] else " (unchanged)")


def _names(items: list[dict[str, Any]]) -> str:
    return (
        ", ".join(str(i["name"]) + (f" ({', '.join(i['assignees'])})" if i.get("assignees") else "") for i in items)
        or "none"
    )


def _dry(dry_run: bool) -> str:
    return " (dry run: nothing saved)" if dry_run else ""


@task_app.command("reassign")
def task_reassign(
    task_id: int,
    email: str,
    reason: Annotated[str, typer.Option(help="why the task moves (recorded in the audit log)")],
    dry_run: DryRun = False,
    as_: As = None,
) -> None:
    """Give an open task to someone else; their inbox gets it with its draft."""

    def call(s: Session) -> str:
        result = admin.reassign(s, task_id=task_id, actor=actor_for(s, as_), to=email, reason=reason, dry_run=dry_run)
        return _task_line(result) + _dry(dry_run)

    _run(call)


@task_app.command("delegate")
def task_delegate(
    task_id: int,
    email: str,
    as_: Annotated[str, typer.Option("--as", help="the assignee who delegates")],
    until: Annotated[str | None, typer.Option(help="ISO date-time the delegation ends")] = None,
    reason: Annotated[str | None, typer.Option(help="why (recorded in the audit log)")] = None,
) -> None:
    """Let someone act on your task (e.g. while you are on leave); their completion is on your behalf."""
    ends = _when(until, "--until") if until else None
    _run(
        lambda s: _task_line(
            admin.delegate(s, task_id=task_id, actor=actor_for(s, as_), to=email, until=ends, reason=reason)
        )
    )


@task_app.command("due")
def task_due(
    task_id: int,
    due_at: str,
    reason: Annotated[str, typer.Option(help="why the due date moves (recorded in the audit log)")],
    as_: As = None,
) -> None:
    """Move one task's due date (a date means the end of that day, UTC); its reminders follow."""
    when = _when(due_at, "DUE_AT")
    if len(due_at) == 10:  # a date: the end of that day
        when = when.replace(hour=23, minute=59, second=59)
    _run(lambda s: _task_line(admin.set_due(s, task_id=task_id, actor=actor_for(s, as_), due_at=when, reason=reason)))


@task_app.command("reopen")
def task_reopen(
    task_id: int,
    reason: Annotated[str, typer.Option(help="why the task is reopened (recorded in the audit log)")],
    after_release: Annotated[
        bool, typer.Option("--after-release", help="reopen even though the results are released")
    ] = False,
    dry_run: DryRun = False,
    as_: As = None,
) -> None:
    """Give a completed task back to its assignee, answers prefilled; later completed steps are reset."""

    def call(s: Session) -> str:
        actor = _hr(s, as_)
        r = reopening.reopen(
            s, actor=actor, task_id=task_id, reason=reason, after_release=after_release, dry_run=dry_run
        )
        task = s.get(Task, task_id)
        name = task.name if task is not None else str(task_id)
        if not r["reopened"]:
            return f"task {task_id} ({name}) is open again already (unchanged)"
        verb = "would be reopened" if dry_run else "reopened"
        line = f"task {task_id} ({name}) {verb}; steps reset: {_names(r['reset'])}"
        line += f"; records superseded: {r['superseded_records']}"
        return line + ("; the results were released" if r["after_release"] else "") + _dry(dry_run)

    _run(call)


def _answers(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail_line(
            f"--data: {'standard input' if source == '-' else source} is not JSON ({exc.msg}, line {exc.lineno})."
        )


@task_app.command("complete")
def task_complete(
    task_id: int,
    data: Annotated[str, typer.Option("--data", help="the answers: a JSON file, or - for standard input")],
    on_behalf: Annotated[bool, typer.Option("--on-behalf", help="HR completes someone else's task for them")] = False,
    reason: Annotated[str | None, typer.Option(help="why HR completes it on their behalf (audit log)")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="act as this account (HR, or the assignee)")] = None,
) -> None:
    """Submit a task's form: the assignee or their delegate, or HR with --on-behalf and a reason."""
    answers = _answers(data)

    def call(s: Session) -> str:
        actor = actor_for(s, as_)
        after = runtime.complete_task(s, task_id=task_id, actor=actor, data=answers, on_behalf=on_behalf, reason=reason)
        opened = [{"name": t.name, "assignees": sorted(a.person.email for a in t.assignees)} for t in after]
        task = s.get(Task, task_id)
        name = task.name if task is not None else str(task_id)
        whose = " on behalf of its assignee" if on_behalf else ""
        return f"task {task_id} ({name}) completed by {actor.email}{whose}; open now: {_names(opened)}"

    _run(call)


@instance_app.command("cancel")
def instance_cancel(
    instance_id: int,
    reason: Annotated[str, typer.Option(help="why the review is cancelled (recorded in the audit log)")],
    dry_run: DryRun = False,
    as_: As = None,
) -> None:
    """Cancel one review: its open tasks are withdrawn; it is kept read only, apart from reports."""

    def call(s: Session) -> str:
        r = cancelling.cancel(s, actor=_hr(s, as_), instance_id=instance_id, reason=reason, dry_run=dry_run)
        if not r["cancelled"]:
            return f"instance {instance_id} is cancelled already (unchanged)"
        verb = "would be cancelled" if dry_run else "cancelled"
        return f"instance {instance_id} {verb}; open tasks withdrawn: {_names(r['withdrawn'])}" + _dry(dry_run)

    _run(call)


@instance_app.command("revert-migration")
def instance_revert_migration(instance_id: int, as_: As = None) -> None:
    """Put a review back on the diagram version it had before its last migration, while nothing happened since."""

    def call(s: Session) -> str:
        r = migrating.revert(s, actor=_hr(s, as_).email, instance_id=instance_id)
        line = f"instance {instance_id} back on version {r['to_version']} (was moved to version {r['from_version']})"
        return line + (" (unchanged)" if r["already"] else "")

    _run(call)
