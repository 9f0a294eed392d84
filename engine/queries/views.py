"""What each person may see of tasks, instances and their audit trail, shaped as plain JSON-able dicts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import audit
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import Forbidden, NotFound
from engine.org import policy
from engine.org.people import person_ref
from engine.process import definitions, kernel, refusals
from engine.process.runtime import assignees, can_read_task, holds
from engine.review import anonymity
from engine.review.anonymity import Sight
from engine.store.models import AuditEvent, Definition, Instance, Person, Task, TaskAssignee
from forms import resolve
from forms.validation import EMPTY_FORM


def _iso(value: Any) -> str | None:
    v = clock.as_utc(value)
    return v.isoformat() if v else None


def task_summary(task: Task, subject: Person | None) -> dict[str, Any]:
    people = [a.person for a in assignees(task)]
    return {
        "id": task.id,
        "name": task.name,
        "title": task.title,
        "lane": task.lane,
        "status": task.status,
        "assignee": person_ref(people[0]) if len(people) == 1 else None,
        "candidates": [person_ref(p) for p in people] if len(people) > 1 else [],
        "subject": person_ref(subject),
        "cycle_id": task.instance.cycle_id,
        "instance_id": task.instance_id,
        "due_at": _iso(task.due_at),
        "created_at": _iso(task.created_at),
        "completed_at": _iso(task.completed_at),
    }


def list_tasks(session: Session, *, actor: Person, status: str) -> list[dict[str, Any]]:
    q = (
        select(Task)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .where(TaskAssignee.person_id == actor.id)
        .where(or_(Task.status != "open", TaskAssignee.until.is_(None), TaskAssignee.until > clock.now()))
        .order_by(Task.id)
    )
    if status != "all":
        q = q.where(Task.status == status)
    tasks = list(session.scalars(q))
    subjects = _subjects(session, {t.instance.subject_id for t in tasks if t.instance.subject_id is not None})
    return [task_summary(t, subjects.get(t.instance.subject_id or 0)) for t in tasks]


def _subjects(session: Session, ids: set[int]) -> dict[int, Person]:
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}


def task_detail(session: Session, *, actor: Person, task_id: int, locale: str | None = None) -> dict[str, Any]:
    """One task as `actor` may see it. With `locale` the form schema of an open task is the one served to API
    clients: resolved for this task in that language (`served_form`); otherwise the deployed form as validated on
    submit, house keywords and all (the pages render it themselves)."""
    task = session.get(Task, task_id)
    if task is None or not can_read_task(actor, task):
        raise refusals.task_not_found(task_id)
    mine = holds(actor, task)
    if not mine and anonymity.perspective(task):
        seen = anonymity.sight(session, viewer=actor, instance=task.instance)
        if seen is Sight.SUMMARY:
            raise refusals.task_not_found(task_id)
        if seen is Sight.ANONYMOUS:
            raise Forbidden(
                "This is a rater's answer, and raters are anonymous. To see who answered, open rater detail for "
                f"this review with a reason first: POST /api/instances/{task.instance_id}/rater-detail.",
                detail_zh="这是评价人的回答，评价人是匿名的。如需查看是谁回答的，请先在此评估的页面上填写理由，打开评价人详情。",
            )
    subject_id = task.instance.subject_id
    view = task_summary(task, session.get(Person, subject_id) if subject_id else None)
    schema = definitions.form_schema(session, task.instance.definition_id, task.form) or EMPTY_FORM
    if locale is not None and task.status == "open":  # a closed task has nothing to fill: its form as deployed
        schema = served_form(session, task, schema, locale)
    ui = definitions.form_file(session, task.instance.definition_id, task.ui_form) or {}
    view.update(
        {
            "instructions": task.instructions,
            "context": task.context or {},
            "form": {"schema": schema, "ui_schema": ui},
            # a rater's own answers (a reopened confidential 360 answer prefilled, a draft) are shown to the rater only
            "data": (task.draft if task.draft is not None else task.prefill or {})
            if task.status == "open" and (mine or not anonymity.perspective(task))
            else {},
            "has_draft": task.draft is not None,
            "submitted": task.submitted if (mine or policy.allows(actor, policy.READ_ALL)) else None,
            "can_complete": mine and task.status == "open",
        }
    )
    return view


def served_form(session: Session, task: Task, schema: dict[str, Any], locale: str) -> dict[str, Any]:
    """The form `schema` of `task` as served to a reader in `locale`: the house keywords resolved against the task's
    workflow data into standard JSON Schema (forms/resolve.py). Any answer valid against it is accepted by `complete`,
    but for the few rules forms/README.md lists ("Served schemas")."""
    data: dict[str, Any] = {}
    if resolve.needs_data(schema):
        definition_id = task.instance.definition_id
        wf = kernel.load(session, task.instance.state, definition_id)  # read only: nothing is saved
        hidden = set(definitions.confidential(session, definition_id)) | definitions.private_fields(
            session, definition_id
        )  # raters' answers and private notes never shape what a reader is served (not even a count or a title)
        data = {k: v for k, v in spiff.task_data(wf, task.spiff_id).items() if k not in hidden}
    return resolve.resolve(schema, data, locale)


def instance_detail(session: Session, *, actor: Person, instance_id: int) -> dict[str, Any]:
    """Readers see every task; the subject and participants see the instance and only their own tasks. Rater
    tasks of others appear only as counts, or in full once rater detail is open (engine/review/anonymity.py)."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(
            f"No instance with id {instance_id} for you.",
            detail_zh=f"没有找到编号为 {instance_id} 的评估，或你无权查看它。",
        )
    tasks = list(session.scalars(select(Task).where(Task.instance_id == instance.id).order_by(Task.id)))
    reader = policy.allows(actor, policy.READ_ALL)
    mine = [t for t in tasks if holds(actor, t)]
    if not reader and not mine and instance.subject_id != actor.id:
        raise NotFound(
            f"No instance with id {instance_id} for you.",
            detail_zh=f"没有找到编号为 {instance_id} 的评估，或你无权查看它。",
        )
    definition = session.get(Definition, instance.definition_id)
    assert definition is not None
    subject = session.get(Person, instance.subject_id)
    raters = anonymity.status(session, viewer=actor, instance=instance)
    seen = Sight(raters["sight"])
    shown = tasks if reader else mine
    hidden = [t for t in shown if anonymity.perspective(t) and t not in mine]
    if seen is not Sight.IDENTIFIED:
        shown = [t for t in shown if t not in hidden]
    if seen is Sight.ANONYMOUS:
        raters["requests"] = _request_counts(hidden)
    return {
        "id": instance.id,
        "status": instance.status,
        "subject": person_ref(subject),
        "cycle_id": instance.cycle_id,
        "definition": {"key": definition.key, "version": definition.version},
        "tasks": [task_summary(t, subject) for t in shown],
        "created_at": _iso(instance.created_at),
        "updated_at": _iso(instance.updated_at),  # a rater's answer does not move it (engine/process/runtime.py)
        "raters": raters,
    }


def _request_counts(tasks: list[Task]) -> dict[str, dict[str, int]]:
    """Per perspective: how many rater tasks are open, completed or cancelled — never which or when."""
    out: dict[str, dict[str, int]] = {}
    for task in tasks:
        counts = out.setdefault(anonymity.perspective(task) or "", {"open": 0, "completed": 0, "cancelled": 0})
        counts[task.status] = counts.get(task.status, 0) + 1
    return out


def instance_events(session: Session, *, actor: Person, instance_id: int) -> dict[str, Any]:
    """The audit timeline `{"items", "raters"}` as the actor may see it: rater rows redacted unless rater detail
    is open for them, with the answers shown the anonymous way instead (engine/review/anonymity.py)."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise refusals.instance_not_found(instance_id)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
    out = []
    for event in audit.reveal(session, rows.all()):
        row, payload = event.row, event.payload
        out.append(
            {
                "seq": row.seq,
                "at": _iso(row.at),
                "actor": event.actor,
                "action": row.action,
                "task": payload.get("name") or payload.get("element"),
                "task_id": row.task_id,
                "payload": payload,
            }
        )
    raters = anonymity.status(session, viewer=actor, instance=instance)
    seen = Sight(raters["sight"])
    tasks = anonymity.rater_tasks(session, instance_id)
    raters["rated"] = bool(tasks)  # has anybody been asked to rate in this review
    raters["answers"] = anonymity.answers_view(session, instance, tasks, seen)
    return {"items": anonymity.redact_events(out, tasks, seen), "raters": raters}
