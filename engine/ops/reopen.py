"""Reopen a completed step of a running review (HR): the instance goes back to that step (SpiffWorkflow's reset,
engine/bpmn/spiff.py), its assignee gets the task again with their previous answers prefilled, the later steps that
had completed are reset and named, and the review records projected from every undone step are marked superseded
(kept; reports and views ignore them). One step of the core transaction (engine/process/kernel.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import Conflict, InvalidInput, status_zh
from engine.notify import outbox
from engine.ops import assign
from engine.process import due, kernel, raters, refusals
from engine.process.kernel import Change
from engine.review.release import RESULTS_RELEASED
from engine.store.models import AuditEvent, Person, ReviewRecord, Task
from forms.validation import field_error

REOPENED = "task.reopened"
RESET = "reset"  # a task status: a completed later step undone by a reopen (a new task takes its place when reached)


def reason_of(reason: Any) -> str:
    """The reason every live operation needs (audited), or a 422."""
    if not isinstance(reason, str) or not reason.strip():
        en, zh = "Give a reason; it is recorded with the change.", "请填写理由，它会随这次更改一起记录。"
        raise InvalidInput(en, detail_zh=zh, errors=[field_error("reason", en, zh, "required")])
    if len(reason) > 2000:
        en, zh = "The reason may hold at most 2000 characters.", "理由最多 2000 个字符，请缩短。"
        raise InvalidInput(en, detail_zh=zh, errors=[field_error("reason", en, zh, "too_long")])
    return reason.strip()


def _ref(task: Task) -> dict[str, Any]:
    return {"id": task.id, "name": task.name, "title": task.title}


def reopen(
    session: Session, *, actor: Person, task_id: int, reason: Any, after_release: bool = False, dry_run: bool = False
) -> dict[str, Any]:
    """Give a completed task back to its assignee (see the module docstring). A retry of a reopen that went through
    changes nothing and answers the same way; 409 for a task that is not completed, a cancelled review, or once the
    review's results are released unless `after_release` is set (with the reason). With `dry_run` the answer
    names what would be reset; nothing is kept."""
    why = reason_of(reason)
    instance_id = session.scalar(select(Task.instance_id).where(Task.id == task_id))
    if instance_id is None:
        raise refusals.task_not_found(task_id)

    def step(change: Change) -> dict[str, Any]:
        task = session.get(Task, task_id, populate_existing=True)
        assert task is not None
        instance = change.instance
        if instance.status == "cancelled":
            raise Conflict(
                "This review was cancelled; it is kept read only and nothing in it can be reopened.",
                detail_zh="该评估已被取消，仅以只读方式保留，其中的任何步骤都不能重新打开。",
            )
        if task.status == "open" and _reopened_before(session, task):
            change.nothing()  # a retry: the reopen already went through
            return {"id": task.id, "instance_id": instance.id, "status": task.status, "reset": [], "reopened": False}
        if task.status != "completed":
            raise Conflict(
                f"Only a completed task can be reopened; this one is {task.status}.",
                detail_zh=f"只有已完成的任务才能重新打开；此任务的状态是“{status_zh(task.status)}”。",
            )
        wf = change.wf
        released = spiff.received(wf, RESULTS_RELEASED)
        if released and not after_release:
            raise Conflict(
                'The results of this review are released. To reopen it anyway, send "after_release": true with '
                "the reason; the employee will see the results change.",
                detail_zh="此评估的结果已经发布。如仍要重新打开，请勾选“即使结果已发布”并填写理由；员工会看到结果发生变化。",
            )
        previous = dict(task.submitted or {})
        before = {"status": task.status, "completed_by": _email(session, task.completed_by_id)}
        undone_ids = spiff.reset(wf, task.spiff_id)
        if task.spiff_id not in {rt.spiff_id for rt in spiff.ready_tasks(wf)}:
            raise Conflict(
                "This step cannot be reopened: the workflow did not come back to it.",
                detail_zh="此步骤无法重新打开：流程没有回到这一步。",
            )
        later = (
            list(
                session.scalars(
                    select(Task)
                    .where(Task.instance_id == instance.id, Task.spiff_id.in_(undone_ids), Task.status == "completed")
                    .order_by(Task.id)
                )
            )
            if undone_ids
            else []
        )
        for row in later:
            row.status = RESET
        undone = [task.id, *(row.id for row in later)]
        records = session.scalars(
            select(ReviewRecord)
            .where(ReviewRecord.instance_id == instance.id, ReviewRecord.task_id.in_(undone))
            .where(ReviewRecord.superseded_at.is_(None))
        ).all()
        now = clock.now()
        for record in records:
            record.superseded_at, record.superseded_by = now, actor.email
        superseded = len(records)
        data = spiff.task_data(wf, task.spiff_id)
        task.status, task.draft, task.submitted = "open", None, None
        task.prefill = {**(task.prefill or {}), **previous}  # shown to the assignee only (engine/queries/views.py)
        task.completed_by_id, task.completed_at = None, None
        task.created_at = clock.now()  # opened again now (reports time the step from here; the audit keeps the first)
        task.due_at = due.due_at(data.get("settings"), name=task.name, lane=task.lane, opened=clock.now())
        for holder in task.assignees:
            outbox.add(
                session,
                kind="task.assigned",
                dedupe_key=f"task:{task.id}:reopened:{holder.person_id}:{instance.version}",
                payload={"task_id": task.id, "person_id": holder.person_id},
            )
        reset = [_ref(row) for row in later]
        # the timeline names the reset steps but not raters' tasks (their number only): it would tell who answered
        named = [_ref(row) for row in later if not raters.perspective(row)]
        change.event(
            REOPENED,
            {
                "name": task.name,
                "reason": why,
                "after_release": bool(released),
                "before": before,
                "after": {"status": "open", "assignees": assign.holders(task)},
                "fields": sorted(previous),  # which answers come back prefilled; the answers are in task.completed
                "reset": named,
                "rater_tasks_reset": len(reset) - len(named),
                "superseded_records": superseded,
            },
            task_id=task.id,
        )
        return {
            "id": task.id,
            "instance_id": instance.id,
            "status": "open",
            "reset": reset,
            "superseded_records": superseded,
            "after_release": bool(released),
            "reopened": True,
        }

    return kernel.advance(session, instance_id, step, actor=actor.email, dry_run=dry_run)


def _reopened_before(session: Session, task: Task) -> bool:
    last = session.scalar(
        select(AuditEvent.action)
        .where(AuditEvent.instance_id == task.instance_id, AuditEvent.task_id == task.id)
        .where(AuditEvent.action.in_((REOPENED, "task.completed")))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return last == REOPENED


def _email(session: Session, person_id: int | None) -> str | None:
    person = session.get(Person, person_id) if person_id else None
    return person.email if person else None
