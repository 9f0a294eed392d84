"""Task administration while a cycle runs: HR reassigns a task or moves its due date, an assignee delegates their
task. Each is a step of the core transaction (`kernel.advance`, which locks the instance, so a reassignment racing a
completion has exactly one winner and the other gets 409), idempotent under retry (the same request again changes
nothing and writes no event), and audited with who, why, before and after. HR completing a task on someone's behalf
is the completion itself (engine/process/runtime.py `complete_task(on_behalf=True)`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.errors import Forbidden, InvalidInput
from engine.notify import outbox
from engine.ops import assign
from engine.org import people, policy
from engine.process import kernel, refusals, runtime
from engine.process.kernel import Change
from engine.review import reminders
from engine.store.models import Person, Task, TaskAssignee
from forms.validation import field_error


def _problem(path: str, message: str, message_zh: str, code: str) -> InvalidInput:
    return InvalidInput(message, detail_zh=message_zh, errors=[field_error(path, message, message_zh, code)])


def _reason(reason: str | None, what: str, what_zh: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise _problem(
            "reason",
            f"Say why you {what} (reason).",
            f"请填写{what_zh}的理由，它会记录在审计日志中。",
            "reason_required",
        )
    return text


def _instance_of(session: Session, task_id: int) -> int:
    instance_id = session.scalar(select(Task.instance_id).where(Task.id == task_id))
    if instance_id is None:
        raise refusals.task_not_found(task_id)
    return instance_id


def _hr_task(session: Session, task_id: int, actor: Person, what: str, what_zh: str) -> Task:
    """The task HR acts on: 404 for a task the actor may not see, 403 without the MANAGE permission, 409 once it is
    no longer open."""
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or not runtime.can_read_task(actor, task):
        raise refusals.task_not_found(task_id)
    if not policy.allows(actor, policy.MANAGE):
        raise refusals.needs_roles(policy.holders(policy.MANAGE))
    if task.status != "open":
        raise refusals.task_done(task.status, f"it was not {what}.", f"本次未{what_zh}。")
    return task


def _when(value: datetime, path: str, what: str, what_zh: str) -> datetime:
    at = clock.as_utc(value)
    assert at is not None
    if at <= clock.now():
        raise _problem(
            path,
            f"{what} must be in the future (it was {at.isoformat()}).",
            f"{what_zh}必须是将来的时间（填写的是 {at.strftime('%Y-%m-%d %H:%M')} UTC）。",
            "not_in_future",
        )
    return at


def _iso(value: datetime | None) -> str | None:
    at = clock.as_utc(value)
    return at.isoformat() if at else None


def _delegates(task: Task) -> list[dict[str, Any]]:
    rows = [a for a in task.assignees if a.on_behalf_of_id is not None]
    by_id = {a.person_id: a.person.email for a in task.assignees}
    return [
        {
            "email": a.person.email,
            "on_behalf_of": by_id.get(a.on_behalf_of_id or 0, ""),
            "until": _iso(a.until),
            "active": a in runtime.holding(task),
        }
        for a in sorted(rows, key=lambda a: a.person.email)
    ]


def view(task: Task, *, changed: bool) -> dict[str, Any]:
    """What an administration request answers: the task's holders and due date now, and whether it changed them."""
    return {
        "id": task.id,
        "name": task.name,
        "status": task.status,
        "assignees": assign.holders(task),
        "delegates": _delegates(task),
        "due_at": _iso(task.due_at),
        "changed": changed,
    }


def _changed(change: Change) -> None:
    """An administrative change is a change of the instance: its version moves (notification keys include it)."""
    change.instance.updated_at = clock.now()


def reassign(
    session: Session, *, task_id: int, actor: Person, to: str, reason: str | None, dry_run: bool = False
) -> dict[str, Any]:
    """HR gives an open task to `to` instead of its assignees (delegations end; the draft stays with the task).
    With `dry_run` the same checks run and the answer says what would change; nothing is kept."""
    instance_id = _instance_of(session, task_id)

    def step(change: Change) -> dict[str, Any]:
        task = _hr_task(session, task_id, actor, "reassigned", "转交")
        why = _reason(reason, "reassign this task", "转交此任务")
        person = assign.check_target(
            session, instance=change.instance, task=task, person=people.by_email(session, to), email=to
        )
        if [(a.person_id, a.on_behalf_of_id) for a in task.assignees] == [(person.id, None)]:
            change.nothing()  # already theirs alone: the same request again
            return view(task, changed=False)
        before = {"assignees": assign.holders(task), "delegates": _delegates(task)}
        _changed(change)
        after = {"assignees": [person.email]}
        assign.move(change, task, [person], reason=why, extra={"before": before, "after": after})
        return {**view(task, changed=True), "before": before["assignees"]}

    return kernel.advance(session, instance_id, step, actor=actor.email, dry_run=dry_run)


def delegate(
    session: Session,
    *,
    task_id: int,
    actor: Person,
    to: str,
    until: datetime | None,
    reason: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The assignee lets `to` act on their open task (complete it, recorded as on their behalf) until `until` (or
    until the task is done or reassigned). One delegate per assignee: delegating again replaces the delegate.
    With `dry_run` the same checks run and the answer says what would change; nothing is kept."""
    instance_id = _instance_of(session, task_id)

    def step(change: Change) -> dict[str, Any]:
        task = session.get(Task, task_id, populate_existing=True)
        if task is None or not runtime.can_read_task(actor, task):
            raise refusals.task_not_found(task_id)
        mine = [a for a in runtime.holding(task) if a.person_id == actor.id]
        if not any(a.on_behalf_of_id is None for a in mine):
            if mine:
                raise Forbidden(
                    "You act on this task as a delegate; only its assignee can delegate it.",
                    detail_zh="你是此任务的受托人；只有任务的负责人本人才能再委托。",
                )
            if policy.allows(actor, policy.READ_ALL):
                raise Forbidden(
                    "Only the person this task is assigned to can delegate it.",
                    detail_zh="只有此任务的负责人本人才能委托它。",
                )
            raise refusals.task_not_found(task_id)
        if task.status != "open":
            raise refusals.task_done(task.status, "it was not delegated.", "本次未委托。")
        ends = _when(until, "until", "The end of the delegation", "委托的结束时间") if until is not None else None
        person = assign.check_target(
            session, instance=change.instance, task=task, person=people.by_email(session, to), email=to
        )
        rows = {a.person_id: a for a in task.assignees}
        current = rows.get(person.id)
        if person.id == actor.id or (current is not None and current.on_behalf_of_id is None):
            raise _problem(
                "to",
                f"{person.email} already holds this task.",
                f"{person.email} 已经是此任务的负责人。",
                "already_assigned",
            )
        if current is not None and current.on_behalf_of_id != actor.id:
            raise _problem(
                "to",
                f"{person.email} is already a delegate for this task.",
                f"{person.email} 已经是此任务的受托人。",
                "already_delegate",
            )
        mine_before = [a for a in task.assignees if a.on_behalf_of_id == actor.id]
        if current is not None and current in runtime.holding(task) and clock.as_utc(current.until) == ends:
            change.nothing()  # the same delegation again
            return view(task, changed=False)
        before = [{"to": a.person.email, "until": _iso(a.until)} for a in mine_before]
        for row in mine_before:
            if row is not current:
                session.delete(row)
        if current is None:
            session.add(TaskAssignee(task_id=task.id, person_id=person.id, on_behalf_of_id=actor.id, until=ends))
        else:
            current.until = ends
        session.flush()
        session.expire(task, ["assignees"])
        _changed(change)
        outbox.add(
            session,
            kind="task.assigned",
            dedupe_key=f"task:{task.id}:delegated:{person.id}:{change.instance.version}",
            payload={"task_id": task.id, "person_id": person.id},
        )
        after = {"to": person.email, "until": _iso(ends)}
        change.event(
            "task.delegated",
            {
                "name": task.name,
                "from": actor.email,
                "to": person.email,
                "until": _iso(ends),
                "reason": (reason or "").strip() or None,
                "before": before,
                "after": [after],
            },
            task_id=task.id,
        )
        return view(task, changed=True)

    return kernel.advance(session, instance_id, step, actor=actor.email, dry_run=dry_run)


def set_due(
    session: Session, *, task_id: int, actor: Person, due_at: datetime, reason: str | None, dry_run: bool = False
) -> dict[str, Any]:
    """HR sets one open task's due date; its reminders start over toward the new date (engine/review/reminders.py).
    The answer also says what happens with reminders (`reminders`: how many sent toward the old date are forgotten,
    and those still to come toward the new one). With `dry_run` nothing is kept."""
    instance_id = _instance_of(session, task_id)

    def step(change: Change) -> dict[str, Any]:
        task = _hr_task(session, task_id, actor, "changed", "更改")
        why = _reason(reason, "change this due date", "更改截止日期")
        due = _when(due_at, "due_at", "The new due date", "新的截止日期")
        before = _iso(task.due_at)
        if before == _iso(due):
            change.nothing()
            return {**view(task, changed=False), "before": before, "reminders": reminders.ahead(session, task, due)}
        plan = reminders.ahead(session, task, due)
        task.due_at = due
        reminders.forget(session, task.id)
        change.event(
            "task.due_changed",
            {"name": task.name, "reason": why, "before": {"due_at": before}, "after": {"due_at": _iso(due)}},
            task_id=task.id,
        )
        return {**view(task, changed=True), "before": before, "reminders": plan}

    return kernel.advance(session, instance_id, step, actor=actor.email, dry_run=dry_run)


def delegation(session: Session, *, task_id: int, viewer: Person) -> dict[str, Any]:
    """How `viewer` holds a task they may read: `assignee` (they may delegate it while it is open), `delegate`
    (acting on behalf of `on_behalf_of` until `until`), or neither; and the task's current delegates."""
    task = session.get(Task, task_id)
    if task is None or not runtime.can_read_task(viewer, task):
        raise refusals.task_not_found(task_id)
    mine = [a for a in runtime.holding(task) if a.person_id == viewer.id]
    own = any(a.on_behalf_of_id is None for a in mine)
    acting = next((a for a in mine if a.on_behalf_of_id is not None), None)
    by_id = {a.person_id: a.person.email for a in task.assignees}
    return {
        "role": "assignee" if own else ("delegate" if acting else None),
        "can_delegate": own and task.status == "open",
        "on_behalf_of": by_id.get(acting.on_behalf_of_id or 0) if acting else None,
        "until": _iso(acting.until) if acting else None,
        "delegates": [d for d in _delegates(task) if d["active"] and d["on_behalf_of"] == viewer.email],
    }
