"""The core transaction, written once. Every change to an instance — start, complete, save a draft, deliver a
message, fire a timer — is a short *step* handed to `advance()`, which owns the rest:

    lock the instance row → load its workflow (the spec passed in, cached by the definition's digest)
    → the step → dump the state (version bump) → task state transitions → projection of the inbox, timers and
    outbox (features add form context through engine/process/hooks.py) → audit events → commit, retried on
    conflict (engine/store/transaction.py).

A step that finds nothing to do calls `change.nothing()`: nothing is saved and no event is written. A step that
never touches `change.wf` (a draft) does not pay for loading the workflow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import audit
from engine.audit import Event
from engine.bpmn import spiff
from engine.core import clock
from engine.core.errors import CycleSettingsBroken, WorkflowFailed
from engine.jobs import incidents
from engine.notify import outbox
from engine.process import definitions, due, form_rules, hooks, lanes, raters
from engine.store.models import Instance, Person, Task, TaskAssignee, Timer
from engine.store.transaction import lock_instance, rehearse, transact
from forms.instructions import render_checked as render_instructions
from forms.validation import EMPTY_FORM

T = TypeVar("T")
Failure = WorkflowFailed | CycleSettingsBroken


class Change:
    """What one step does to one locked instance: its workflow (loaded on first use) and the audit events the
    step adds before the transitions and the projection."""

    def __init__(self, session: Session, instance: Instance, *, actor: str, wf: Any = None) -> None:
        self.session, self.instance, self.actor = session, instance, actor
        self._wf = wf
        self.before: dict[str, Any] = {}
        self.events: list[Event] = []
        self.changed = True
        self.touch = True  # the instance's last-change time moves (not for a rater's answer: it would tell when)
        self.saved = False  # the state is already dumped (a new instance)

    @property
    def wf(self) -> Any:
        if self._wf is None:
            self._wf = load(self.session, self.instance.state, self.instance.definition_id)
            self.before = spiff.snapshot(self._wf)
        return self._wf

    @property
    def loaded(self) -> bool:
        return self._wf is not None

    def replace(self, wf: Any, definition_id: int) -> None:
        """Swap the workflow for `wf`, which runs on definition `definition_id` from now on (a migration to another
        version of the diagram, or its revert). Transitions are computed against the workflow as loaded before the
        swap; the projection uses the new definition's forms for tasks it creates."""
        if self._wf is None:
            _ = self.wf  # load first: `before` must be the state the instance had
        self._wf = wf
        self.instance.definition_id = definition_id

    def event(self, action: str, payload: dict[str, Any], *, task_id: int | None = None) -> None:
        refs = {"cycle_id": self.instance.cycle_id, "instance_id": self.instance.id}
        self.events.append(Event(action, payload, task_id=task_id, **refs))

    def nothing(self) -> None:
        """The step found nothing to do: save nothing, record nothing."""
        self.changed = False


Step = Callable[[Change], T]


def load(session: Session, state: str, definition_id: int) -> Any:
    """The workflow of a saved state of definition `definition_id`: to read (a preview, a replay), or to hand to
    `Change.replace` (a revert); loading saves nothing."""
    return spiff.load(state, definitions.spec_of(session, definition_id))


def settle(change: Change) -> list[Event]:
    """Save what the step did: the state with a version bump, the transitions, the projection; all its events."""
    if not change.changed:
        return []
    events = list(change.events)
    if change.loaded:
        instance, wf = change.instance, change.wf
        events += transition_events(instance, change.before, spiff.snapshot(wf))
        if not change.saved:
            instance.state = spiff.dump(wf)
            if change.touch:
                instance.updated_at = clock.now()
        events += project(change.session, instance, wf)
    return events


def advance(
    session: Session,
    instance_id: int,
    step: Step[T],
    *,
    actor: str,
    on_failure: Callable[[Failure], None] | None = None,
    dry_run: bool = False,
) -> T:
    """Run `step` on instance `instance_id` as one retried transaction (see the module docstring). A step that
    fails in the engine (WorkflowFailed, CycleSettingsBroken) rolls back whole; `on_failure` then records what
    must outlive the rollback (a draft, an incident) in a transaction of its own, and the error goes on up.
    With `dry_run` the step runs the same way and is then rolled back: its answer is a preview, nothing is kept."""

    if dry_run:
        return rehearse(session, lambda: apply(session, instance_id, step, actor=actor))
    try:
        return transact(session, lambda: apply(session, instance_id, step, actor=actor))
    except (WorkflowFailed, CycleSettingsBroken) as exc:
        if on_failure is not None:
            on_failure(exc)
        raise


def apply(session: Session, instance_id: int, step: Step[T], *, actor: str) -> T:
    """One step on instance `instance_id` inside the caller's transaction (no commit, no retry): lock → step →
    settle → audit. `advance` is this in a retried transaction of its own; a use case that changes several
    instances all or nothing (an org-chart import carrying its effects into running reviews) calls it once per
    instance inside its own `transact`."""
    change = Change(session, lock_instance(session, instance_id), actor=actor)
    result = step(change)
    events = settle(change)
    if events:
        audit.append(session, actor=actor, events=events)
    return result


def begin(
    session: Session, instance: Instance, wf: Any, *, actor: str, started: dict[str, Any],
    audit_batch: list[Event] | None = None,
) -> Instance:
    """Settle a new instance (added and flushed by the caller, its first state dumped) in the caller's transaction:
    transitions from nothing, projection, the `instance.started` event. With `audit_batch` the events are added
    to that list for the caller to append once (a bulk launch appends a whole chunk under one hold of the chain)."""
    change = Change(session, instance, actor=actor, wf=wf)
    change.saved = True
    change.event("instance.started", started)
    events = settle(change)
    if audit_batch is not None:
        audit_batch.extend(events)
    else:
        audit.append(session, actor=actor, events=events)
    return instance


def transition_events(instance: Instance, before: dict[str, Any], after: dict[str, Any]) -> list[Event]:
    return [
        Event("task.state", change, cycle_id=instance.cycle_id, instance_id=instance.id)
        for change in spiff.transitions(before, after)
    ]


def instructions(session: Session, instance: Instance, rt: spiff.ReadyTask, data: dict[str, Any]) -> str | None:
    """The task's rendered instructions; a template the sandbox stopped is shown unrendered and becomes an incident
    naming the element (the step itself goes on: instructions are not worth holding a review for)."""
    rendered = render_instructions(rt.instructions, data)
    if rendered.stopped:
        incidents.record(
            session,
            job="instructions",
            args={"instance_id": instance.id, "element": rt.name},
            error=f"The instructions of '{rt.name}' were stopped and are shown unrendered: {rendered.problem}",
            actor="system:sandbox",
        )
    return rendered.text


def project(session: Session, instance: Instance, wf: Any) -> list[Event]:
    """Bring the inbox, timer and outbox rows of `instance` in line with the workflow; return the audit events."""
    refs = {"cycle_id": instance.cycle_id, "instance_id": instance.id}
    ready = {rt.spiff_id: rt for rt in spiff.ready_tasks(wf)}
    open_rows = list(session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open")))
    events: list[Event] = []
    for row in open_rows:
        if row.spiff_id not in ready:
            row.status = "cancelled"
            events.append(Event("task.cancelled", {"name": row.name}, task_id=row.id, **refs))
    known = {row.spiff_id for row in open_rows}
    for sid, rt in ready.items():
        if sid in known:
            continue
        emails = lanes.assignees_for(rt.lane, instance.lanes or {}, rt.data, rt.item)
        people = list(session.scalars(select(Person).where(Person.email.in_(emails), Person.active))) if emails else []
        fallback = not people
        if fallback:
            people = raters.stand_ins(session, instance=instance, lane=rt.lane, task_name=rt.name)
        schema = definitions.form_file(session, instance.definition_id, rt.form) or EMPTY_FORM
        secret = definitions.confidential(session, instance.definition_id)
        hidden = set(secret) | definitions.private_fields(session, instance.definition_id)
        visible = {k: v for k, v in rt.data.items() if k not in hidden}
        computed = hooks.context(
            session, wanted=schema.get("x-context") or [], instance=instance, data=rt.data, confidential=secret
        )
        task = Task(
            instance_id=instance.id,
            spiff_id=sid,
            name=rt.name,
            title=rt.title,
            lane=rt.lane,
            instructions=instructions(session, instance, rt, visible),
            form=rt.form,
            ui_form=rt.ui_form,
            status="open",
            due_at=due.due_at(rt.data.get("settings"), name=rt.name, lane=rt.lane, opened=clock.now()),
            prefill=form_rules.prefill(schema, visible),
            context=form_rules.context(schema, rt.data, hidden, computed),
        )
        session.add(task)
        session.flush()
        for person in people:
            give(session, task, person)
        events.append(
            Event(
                "task.created",
                {
                    "name": rt.name,
                    "lane": rt.lane,
                    "assignees": [p.email for p in people],
                    "unassigned_fallback_to_hr": fallback,
                },
                task_id=task.id,
                **refs,
            )
        )
    session.execute(delete(Timer).where(Timer.instance_id == instance.id))
    for sid, element, when in spiff.waiting_timers(wf):
        session.add(Timer(instance_id=instance.id, spiff_id=sid, name=element, run_at=when))
    if spiff.is_cancelled(wf):
        instance.status = "cancelled"  # engine/ops/cancel.py: kept, read only
    elif spiff.is_completed(wf):
        instance.status = "completed"
    else:
        instance.status = "running" if ready else "waiting"
    session.flush()
    return events


def give(session: Session, task: Task, person: Person, *, round_key: str = "") -> None:
    """Make `person` an assignee of `task` and tell them (one notification per task, person and `round_key`: a
    task moved back to someone later is announced again)."""
    session.add(TaskAssignee(task_id=task.id, person_id=person.id))
    outbox.add(
        session,
        kind="task.assigned",
        dedupe_key=f"task:{task.id}:assigned:{person.id}{round_key}",
        payload={"task_id": task.id, "person_id": person.id},
    )
