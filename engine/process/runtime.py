"""The use cases that change an instance, each a short step handed to the one core transaction
(engine/process/kernel.py): start an instance, complete a task, save a draft."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.audit import Event
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import CycleSettingsBroken, FormInvalid, InvalidInput, TooLarge, WorkflowFailed
from engine.core.settings import get_settings
from engine.jobs import incidents
from engine.org import policy
from engine.org.accounts import roles_of
from engine.process import definitions, form_rules, hooks, kernel, lanes, raters, refusals
from engine.process.kernel import Change, project, transition_events  # noqa: F401 - part of this module's face
from engine.store.models import AuditEvent, Cycle, Definition, Instance, Person, Task, TaskAssignee
from engine.store.transaction import transact
from forms.validation import EMPTY_FORM, bad_text, field_error, validate

SETTINGS_CHECK_JOB = "check_cycle_settings"  # review/cycle_edit.py: resolving the incident re-checks the settings
READERS = frozenset(policy.holders(policy.READ_ALL))  # may read every task and instance (rater identities: anonymity)
REASSIGNED = "task.reassigned"  # the audit action of a task given to someone else (engine/ops/assign.py)


def check_answer(data: Any, *, what: str = "answer") -> None:
    """Refuse a draft or answer that cannot be stored (lone surrogates: 422 naming the field) or is too big (413;
    UTF-8 bytes of its JSON, so Chinese text counts as stored, not as escaped)."""
    broken = bad_text(data)
    if broken:
        raise FormInvalid(
            f"{len(broken)} field(s) contain text that cannot be saved.",
            detail_zh=f"有 {len(broken)} 个字段包含无法保存的文字，请检查后重试。",
            errors=broken,
        )
    limit = get_settings().form_max_bytes
    size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    if size > limit:
        kb, mine = limit // 1024, (size + 1023) // 1024
        zh = {"draft": "草稿", "answer": "提交的内容"}[what]
        en = f"This {what} is {mine} KB; a form may hold at most {kb} KB. Please shorten the longest texts."
        cn = f"此{zh}大小为 {mine} KB，表单最多可容纳 {kb} KB，请缩短最长的文字。"
        raise TooLarge(f"{en} / {cn}", detail_zh=cn, errors=[field_error("", en, cn, "too_large")])


def subject_data(person: Person) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "employee_no": person.employee_no,
        "department": person.department,
        "title": person.title,
        "locale": person.locale,
    }


def start_instance(
    session: Session, *, cycle: Cycle, subject: Person, actor: str, audit_batch: list[Event] | None = None
) -> Instance:
    """Create and advance the instance of `cycle` for `subject` (in the caller's transaction). Idempotent.

    With `audit_batch` the audit events are added to that list for the caller to append once (a bulk launch
    appends a whole chunk under one hold of the chain's lock) instead of being appended here."""
    existing = session.scalar(select(Instance).where(Instance.cycle_id == cycle.id, Instance.subject_id == subject.id))
    if existing is not None:
        return existing
    definition = session.get(Definition, cycle.definition_id)
    assert definition is not None
    lane_map = lanes.freeze(session, subject, cycle.settings or {})
    problems = lanes.problems_for(lane_map, definition.lanes)
    if problems:
        raise InvalidInput(f"{subject.email}: " + "; ".join(problems))
    data = {
        "subject": subject_data(subject),
        "manager": subject_data(subject.manager) if subject.manager else None,
        "cycle": {"id": cycle.id, "name": cycle.name},
        "settings": cycle.settings or {},
        "direct_reports": lane_map.get(lanes.DIRECT, []),
        "final_score": None,  # set by the engine after the manager review (records.py)
        "final_overall": None,  # the manager's overall rating, or the one HR set on appeal
    }
    started = {"subject": subject.email, "definition": {"key": definition.key, "version": definition.version}}
    return start_process(
        session,
        cycle=cycle,
        definition=definition,
        data=data,
        lane_map=lane_map,
        subject=subject,
        actor=actor,
        started=started,
        audit_batch=audit_batch,
    )


def start_process(
    session: Session,
    *,
    cycle: Cycle,
    definition: Definition,
    data: dict[str, Any],
    lane_map: dict[str, list[str]],
    actor: str,
    started: dict[str, Any],
    subject: Person | None = None,
    kind: str = "review",
    audit_batch: list[Event] | None = None,
) -> Instance:
    """Create an instance of `definition` in `cycle` with start data and frozen lanes, advance it to its first
    waits and project it (in the caller's transaction): a person's review, or a cycle-level process."""
    wf = spiff.new_workflow(definition.id, definitions.spec_of(session, definition), data)
    spiff.run_engine(wf)
    instance = Instance(
        cycle_id=cycle.id,
        subject_id=subject.id if subject else None,
        kind=kind,
        definition_id=definition.id,
        lanes=lane_map,
        state=spiff.dump(wf),
    )
    session.add(instance)
    session.flush()
    return kernel.begin(session, instance, wf, actor=actor, started=started, audit_batch=audit_batch)


def complete_task(
    session: Session,
    *,
    task_id: int,
    actor: Person,
    data: Any,
    on_behalf: bool = False,
    reason: str | None = None,
    dry_run: bool = False,
) -> list[Task]:
    """Complete a task as `actor` with form data; returns the instance's open tasks afterwards. The assignee or their
    delegate completes it (a delegate's completion is recorded as on behalf of the assignee); with `on_behalf` and
    a `reason`, HR completes someone else's task for them (never a 360 rater's answer: it is the rater's own). With
    `dry_run` the answer is checked and the workflow run as on submit, then all of it rolled back (no draft kept)."""
    instance_id = session.scalar(select(Task.instance_id).where(Task.id == task_id))
    if instance_id is None:
        raise refusals.task_not_found(task_id)

    def step(change: Change) -> list[Task]:
        if on_behalf:
            task = _task_for_hr(session, task_id, actor, reason)
            if task.status != "open" and _done_on_behalf(task, data):
                change.nothing()  # the same request again: it is done already
                return []
        else:
            task = _task_for_action(session, task_id, actor)
        if task.status != "open":
            raise refusals.task_done(task.status, "nothing was changed.", "本次没有做任何更改。")
        whose = _whose(session, task, actor)
        check_answer(data)
        instance = change.instance
        schema = definitions.form_schema(session, instance.definition_id, task.form) or EMPTY_FORM
        wf = change.wf
        task_data = spiff.task_data(wf, task.spiff_id)
        errors = validate(schema, data) or form_rules.check(session, schema, data, task_data)
        if errors:
            raise FormInvalid(
                f"{len(errors)} field(s) need attention before this form can be submitted.",
                detail_zh=f"还有 {len(errors)} 处需要修改后才能提交此表单。",
                errors=errors,
            )
        spiff.complete(wf, task.spiff_id, data)
        computed = hooks.project_records(
            session,
            kind=schema.get("x-record"),
            instance=instance,
            task=task,
            schema=schema,
            data=data,
            task_data={**task_data, **data},
            collections=definitions.confidential(session, instance.definition_id),
            actor=actor.email,
        )
        if computed:
            spiff.inject(wf, computed)
        for name, payload in spiff.thrown_messages(wf):
            hooks.handle_message(session, instance=instance, name=name, payload=payload, actor=actor.email)
        task.status, task.submitted, task.draft = "completed", data, None
        task.completed_by_id, task.completed_at = actor.id, clock.now()
        task.on_behalf_of_id = whose[0].id if whose else None
        change.touch = not raters.perspective(task)  # the last-change time must not tell when a rater answered
        event: dict[str, Any] = {"name": task.name, "title": task.title, "data": data}
        if whose:
            event["on_behalf_of"] = [p.email for p in whose]
            event["before"], event["after"] = {"status": "open"}, {"status": "completed", "completed_by": actor.email}
        if on_behalf:
            event["reason"] = reason
        change.event("task.completed", event, task_id=task.id)
        return []

    def failed(exc: WorkflowFailed | CycleSettingsBroken) -> None:
        _keep_as_draft(session, task_id, actor, data, exc)

    kernel.advance(session, instance_id, step, actor=actor.email, on_failure=failed, dry_run=dry_run)
    return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open")))


def _task_for_hr(session: Session, task_id: int, actor: Person, reason: str | None) -> Task:
    """The task HR completes for someone else: HR may (403 for others who may see it, 404 for the rest), with a
    reason (422), and never a 360 rater's answer (422: the answer is the rater's own, and anonymous)."""
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or not can_read_task(actor, task):
        raise refusals.task_not_found(task_id)
    if not policy.allows(actor, policy.MANAGE):
        raise refusals.needs_roles(
            policy.holders(policy.MANAGE), "Completing a task on someone's behalf needs", "代他人完成任务需要"
        )
    if not (reason or "").strip():
        message = "Say why you complete this task on the assignee's behalf (reason)."
        zh = "请填写代负责人完成此任务的理由，它会记录在审计日志中。"
        raise InvalidInput(message, detail_zh=zh, errors=[field_error("reason", message, zh, "reason_required")])
    if raters.perspective(task):
        message = (
            "A 360 feedback answer belongs to its rater and stays anonymous: HR cannot give it on their behalf. "
            "Reassign the task or withdraw it instead."
        )
        zh = "360 反馈的回答属于评价人本人并保持匿名：HR 不能代为填写。请改为转交或撤回此任务。"
        code = "confidential_rater_task"
        raise InvalidInput(message, detail_zh=zh, errors=[field_error("on_behalf", message, zh, code)])
    return task


def _done_on_behalf(task: Task, data: Any) -> bool:
    """The same answer was given on the assignee's behalf already (this request again, or a colleague's twin)."""
    return task.status == "completed" and task.on_behalf_of_id is not None and task.submitted == data


def _whose(session: Session, task: Task, actor: Person) -> list[Person]:
    """Whom `actor` completes the task for: nobody when it is their own; the assignee their delegation names; for HR
    completing on behalf, the task's assignees."""
    rows = [a for a in holding(task) if a.person_id == actor.id]
    if any(a.on_behalf_of_id is None for a in rows):
        return []
    for row in rows:
        person = session.get(Person, row.on_behalf_of_id)
        if person is not None:
            return [person]
    return sorted((a.person for a in assignees(task)), key=lambda p: p.id)


def _keep_as_draft(
    session: Session, task_id: int, actor: Person, data: Any, exc: WorkflowFailed | CycleSettingsBroken
) -> None:
    """The step after the form failed: keep the person's answers as a draft and record the failure (broken cycle
    settings also open an incident for HR, one per cycle until resolved)."""

    def work() -> None:
        task = session.get(Task, task_id)
        if task is None or task.status != "open":
            return
        task.draft = data if isinstance(data, dict) else task.draft
        instance = session.get(Instance, task.instance_id)
        audit.record(
            session,
            actor=actor.email,
            action="workflow.failed",
            task_id=task.id,
            instance_id=task.instance_id,
            cycle_id=instance.cycle_id if instance else None,
            payload={"name": task.name, "detail": exc.detail, "errors": exc.errors},
        )
        if isinstance(exc, CycleSettingsBroken) and instance is not None and instance.cycle_id is not None:
            incidents.open_once(
                session,
                job=SETTINGS_CHECK_JOB,
                args={"cycle_id": instance.cycle_id},
                error=f"instance {instance.id}, task '{task.name}': {exc.detail}",
                actor=actor.email,
            )
        else:
            element = next((e.get("element") for e in exc.errors if e.get("element")), None)
            incidents.record(
                session,
                job="complete_task",
                args={"instance_id": task.instance_id, "task_id": task.id, "task": task.name, "element": element},
                error=exc.detail,
                actor=actor.email,
            )

    original = exc.detail
    transact(session, work)
    kept_zh = "您的回答已保存为草稿，HR 可以看到出错原因。"
    exc.detail += " Your answers were kept as a draft, and HR can see what went wrong."
    if isinstance(exc, CycleSettingsBroken) and exc.detail_zh:
        exc.detail += f" / {exc.detail_zh}{kept_zh}"
        exc.detail_zh += kept_zh
    elif not exc.detail_zh:  # a step of the diagram failed: its own text (the engine's, in English) stays quoted
        exc.detail_zh = f"提交时流程出错（{original}）。{kept_zh}"
    else:
        exc.detail_zh += kept_zh


def save_draft(session: Session, *, task_id: int, actor: Person, data: Any) -> Task:
    if not isinstance(data, dict):
        raise FormInvalid(
            "A draft must be a JSON object.",
            detail_zh="草稿必须是一个 JSON 对象。",
            errors=[field_error("", "Expected an object.", "应为一个对象。", "type")],
        )
    check_answer(data, what="draft")
    instance_id = session.scalar(select(Task.instance_id).where(Task.id == task_id))
    if instance_id is None:
        raise refusals.task_not_found(task_id)

    def step(change: Change) -> Task:
        task = _task_for_action(session, task_id, actor)
        if task.status != "open":
            raise refusals.task_done(task.status, "the draft was not saved.", "草稿没有保存。")
        task.draft = data
        change.event("task.draft_saved", {"name": task.name, "fields": sorted(data)}, task_id=task.id)
        return task

    return kernel.advance(session, instance_id, step, actor=actor.email)


def _task_for_action(session: Session, task_id: int, actor: Person) -> Task:
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or not can_read_task(actor, task):
        if task is not None and _held_before(session, task, actor):
            raise refusals.reassigned_away()
        raise refusals.task_not_found(task_id)
    if not holds(actor, task):
        if roles_of(actor) & READERS:
            raise refusals.only_assignee()
        raise refusals.task_not_found(task_id)
    return task


def _held_before(session: Session, task: Task, actor: Person) -> bool:
    """True if the task was reassigned away from `actor` (their request lost a race with the reassignment)."""
    moved = session.scalars(select(AuditEvent).where(AuditEvent.task_id == task.id, AuditEvent.action == REASSIGNED))
    return any(actor.email in (e.payload.get("from") or []) for e in audit.reveal(session, moved.all()))


def assignees(task: Task) -> list[TaskAssignee]:
    """The task's own assignees (not their delegates)."""
    return [a for a in task.assignees if a.on_behalf_of_id is None]


def holding(task: Task) -> list[TaskAssignee]:
    """Who may act on the task now: its assignees, and their delegates whose delegation has not ended."""
    now = clock.now()
    return [a for a in task.assignees if a.until is None or (clock.as_utc(a.until) or now) > now]


def holds(actor: Person, task: Task) -> bool:
    return actor.id in {a.person_id for a in holding(task)}


def can_read_task(actor: Person, task: Task) -> bool:
    return bool(roles_of(actor) & READERS) or holds(actor, task)
