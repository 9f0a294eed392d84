"""Who holds an open task, changed while the cycle runs: the primitives every live operation uses (reassign by HR,
an org change moving a manager's tasks, a delegate, a leaver's rater task withdrawn). Each acts inside a step of
the core transaction (`kernel.advance`) and adds its audit event to the step's `Change`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import spiff
from engine.core import actors
from engine.core.errors import InvalidInput
from engine.process import kernel, raters
from engine.process.kernel import Change
from engine.store.models import Instance, Person, Task
from forms.validation import field_error

WITHDRAWN = "withdrawn"  # a task status: taken away from its assignee while the cycle ran (not answered)


def _rule(message: str, message_zh: str, rule: str) -> InvalidInput:
    return InvalidInput(message, detail_zh=message_zh, errors=[field_error("to", message, message_zh, rule)])


def check_target(session: Session, *, instance: Instance, task: Task, person: Person | None, email: str) -> Person:
    """The person a task may move to, or a 422 naming the rule it breaks: unknown or inactive; the subject of the
    review for a rater's (360) task or any other task that is not the subject's own (not in the Employee lane: a
    manager's, skip-level's, HR's or committee's); the subject's manager chain for a peer or upward-feedback task
    (they would learn who rates whom)."""
    if person is None:
        raise _rule(
            f"{email} is not in the org chart.",
            f"组织架构中没有 {email}，请检查邮箱地址是否正确。",
            "unknown_person",
        )
    if not person.active:
        raise _rule(
            f"{email} is no longer active; choose someone who is.",
            f"{email} 已不再在职，请选择一位在职的同事。",
            "inactive_person",
        )
    rater = raters.perspective(task)
    if rater and instance.subject_id == person.id:
        raise _rule(
            "A 360 feedback task cannot go to the person being reviewed.",
            "360 反馈任务不能交给被评估人本人。",
            "subject_of_confidential_task",
        )
    if instance.subject_id == person.id and actors.norm(task.lane) != actors.EMPLOYEE:
        raise _rule(
            "The person being reviewed can hold only their own (Employee-lane) tasks of their review; this one is "
            f"in the {actors.norm(task.lane)} lane.",
            f"被评估人只能负责自己评估中属于本人（员工泳道）的任务；此任务属于“{actors.norm(task.lane)}”泳道。",
            "subject_of_own_review",
        )
    if rater and person.id in raters.managers_of(instance.subject):
        raise _rule(
            "A peer or upward-feedback task cannot go to the reviewed person's managers: they would learn who "
            "rates whom.",
            "同事反馈或向上反馈任务不能交给被评估人的上级：否则他们会知道是谁给出了评价。",
            "manager_of_subject_for_rater_task",
        )
    return person


def holders(task: Task) -> list[str]:
    """The emails of the task's assignees (their delegates, if any, are not holders of their own)."""
    return sorted(a.person.email for a in task.assignees if a.on_behalf_of_id is None)


def move(
    change: Change,
    task: Task,
    to: list[Person],
    *,
    reason: str,
    action: str = "task.reassigned",
    extra: dict[str, Any] | None = None,
) -> None:
    """Give an open task to `to` instead of its current assignees (its draft stays with the task); the new
    assignees are notified; the audit event names who had it, who has it now and why."""
    session = change.session
    before = holders(task)
    for row in list(task.assignees):
        session.delete(row)
    session.flush()
    for person in to:
        kernel.give(session, task, person, round_key=f":{change.instance.version}")
    session.flush()
    session.expire(task, ["assignees"])
    payload = {"name": task.name, "from": before, "to": sorted(p.email for p in to), "reason": reason}
    change.event(action, {**payload, **(extra or {})}, task_id=task.id)


def withdraw(change: Change, task: Task, *, reason: str) -> None:
    """Take an open task away: a rater's (360) task is closed in the workflow as declined, so the collection goes
    on with the answers already given and the anonymity threshold counts only those; the row says `withdrawn`."""
    if raters.perspective(task) is None:
        raise InvalidInput(
            f"Only a 360 rater's task can be withdrawn; '{task.name}' can be reassigned or its review cancelled.",
            detail_zh=f"只有 360 评价人的任务可以撤回；“{task.name}”可以转交给他人，或取消整个评估。",
        )
    spiff.complete(change.wf, task.spiff_id, {"declined": True, "decline_reason": "withdrawn", "withdrawn": True})
    task.status = WITHDRAWN
    change.event("task.withdrawn", {"name": task.name, "from": holders(task), "reason": reason}, task_id=task.id)


def open_tasks(session: Session, instance_id: int, *, lanes: set[str] | None = None) -> list[Task]:
    """The instance's open tasks, optionally only those drawn in one of `lanes` (standard lane names)."""
    rows = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open").order_by(Task.id))
    return [t for t in rows if lanes is None or actors.norm(t.lane) in lanes]
