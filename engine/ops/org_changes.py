"""Org changes during a cycle: a people import carries its effects into the running reviews, in the same
transaction as the people changes (all or nothing), or only shows them (a dry run: nothing saved).

The effects, planned from the org chart before and after the import:
- a subject's manager changed → the subject's open Manager-lane (and Skip-level) tasks move to the new manager and
  the lanes frozen on the instance at launch are updated, so later tasks go to the right person;
- a person deactivated → their own review is cancelled (kept, read only); their open peer / upward-feedback tasks
  are withdrawn (the 360 collection goes on with the answers already given); tasks they hold as manager go to their
  own manager, then to HR (as the lane fallback does);
- an HR partner changed → the subject's open HR-lane tasks move.

The plan is computed once; a dry run returns it, an apply carries out exactly that plan, one `kernel.apply` step
per instance inside the import's transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.ops import assign
from engine.ops import cancel as cancelling
from engine.org import people, tokens
from engine.process import kernel, lanes, raters
from engine.process.instance_check import UNFINISHED
from engine.store.models import Instance, Person, Task
from engine.store.transaction import rehearse, transact

REASSIGN, WITHDRAW, CANCEL = "reassign", "withdraw", "cancel_instance"

_LANES = (lanes.MANAGER, lanes.SKIP, lanes.HR)  # the lanes an org change can move


@dataclass(frozen=True)
class Effect:
    """One change to a running review: a task moved or withdrawn, or the review cancelled (no task)."""

    cycle_id: int | None
    instance_id: int
    task_id: int | None
    action: str
    from_: list[str]
    to: list[str]
    reason: str
    to_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id,
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "action": self.action,
            "from": self.from_,
            "to": self.to,
            "reason": self.reason,
        }


@dataclass
class InstancePlan:
    instance_id: int
    lanes: dict[str, list[str]] = field(default_factory=dict)  # lane → emails, only the lanes that change
    effects: list[Effect] = field(default_factory=list)


@dataclass(frozen=True)
class Org:
    """Who reports to whom, who is whose HR partner and who is active: person id → (manager, partner, active)."""

    rows: dict[int, tuple[int | None, int | None, bool]]

    @classmethod
    def now(cls, session: Session) -> Org:
        found = session.execute(select(Person.id, Person.manager_id, Person.hr_partner_id, Person.active))
        return cls({pid: (manager, partner, bool(active)) for pid, manager, partner, active in found})


def import_people(
    session: Session, *, data: bytes, actor: str, dry_run: bool = False, deactivate_missing: bool = False
) -> dict[str, Any]:
    """Import the org chart from CSV and carry its effects into running reviews, all in one transaction; with
    `dry_run` the same people changes and effects are computed, returned and rolled back."""
    parsed = people.parse(data)

    def work() -> dict[str, Any]:
        before = Org.now(session)
        result = people.save(session, parsed, actor=actor, deactivate_missing=deactivate_missing)
        for email in result.deactivated_emails:
            _end_access(session, email, actor=actor)
        plans = plan(session, before)
        if not dry_run:
            for item in plans:
                kernel.apply(session, item.instance_id, carry_out(item), actor=actor)
        return {"people": result.as_dict(), "effects": [e.as_dict() for item in plans for e in item.effects]}

    return rehearse(session, work) if dry_run else transact(session, work)


def _end_access(session: Session, email: str, *, actor: str) -> None:
    """A person the import deactivated: every session and token ends at once (as HR's deactivate does)."""
    person = people.by_email(session, email)
    if person is None:
        return
    ended = tokens.revoke_all(session, person_id=person.id, actor=actor)
    audit.record(session, actor=actor, action="person.deactivated", payload={"email": email, "tokens_revoked": ended})


def plan(session: Session, before: Org) -> list[InstancePlan]:
    """What the org changes since `before` do to the unfinished instances (read only; the org chart of the session
    is the one after the import)."""
    after = Org.now(session)
    common = before.rows.keys() & after.rows.keys()
    moved = {pid for pid in common if before.rows[pid][0] != after.rows[pid][0]}
    repartnered = {pid for pid in common if before.rows[pid][1] != after.rows[pid][1]}
    left = {pid for pid in common if before.rows[pid][2] and not after.rows[pid][2]}
    if not (moved or repartnered or left):
        return []
    by_id = {p.id: p for p in session.scalars(select(Person))}
    left_emails = {by_id[pid].email for pid in left}
    instances = session.scalars(select(Instance).where(Instance.status.in_(UNFINISHED)).order_by(Instance.id))
    plans = []
    for instance in instances:
        item = _plan_instance(session, instance, moved=moved, repartnered=repartnered, left=left, gone=left_emails)
        if item.effects or item.lanes:
            plans.append(item)
    return plans


def _plan_instance(
    session: Session, instance: Instance, *, moved: set[int], repartnered: set[int], left: set[int], gone: set[str]
) -> InstancePlan:
    item = InstancePlan(instance.id)
    subject = instance.subject

    def effect(task: Task | None, action: str, to: list[Person], reason: str) -> None:
        item.effects.append(
            Effect(
                cycle_id=instance.cycle_id,
                instance_id=instance.id,
                task_id=task.id if task is not None else None,
                action=action,
                from_=assign.holders(task) if task is not None else [],
                to=sorted(p.email for p in to),
                reason=reason,
                to_ids=tuple(p.id for p in sorted(to, key=lambda p: p.email)),
            )
        )

    if subject is not None and subject.id in left:
        effect(None, CANCEL, [], f"{subject.email} is no longer active: their review is cancelled and kept read only.")
        return item
    handled: set[int] = set()
    if subject is not None:
        frozen = instance.lanes or {}
        fresh = _lanes_now(session, subject)
        manager_id = subject.manager_id
        wanted = {
            lanes.MANAGER: subject.id in moved or bool(gone & set(frozen.get(lanes.MANAGER, []))),
            lanes.SKIP: subject.id in moved
            or (manager_id is not None and manager_id in moved)
            or bool(gone & set(frozen.get(lanes.SKIP, []))),
            lanes.HR: subject.id in repartnered or bool(gone & set(frozen.get(lanes.HR, []))),
        }
        for lane in _LANES:
            if wanted[lane] and sorted(fresh[lane]) != sorted(frozen.get(lane, [])):
                item.lanes[lane] = fresh[lane]
        for lane, emails in item.lanes.items():
            reason = _lane_reason(lane, subject, frozen.get(lane, []), emails)
            for task in assign.open_tasks(session, instance.id, lanes={lane}):
                if raters.perspective(task):
                    continue
                handled.add(task.id)
                to = _people(session, emails) or raters.stand_ins(
                    session, instance=instance, lane=task.lane, task_name=task.name
                )
                if sorted(p.email for p in to) != assign.holders(task):
                    effect(task, REASSIGN, to, reason)
    for task in assign.open_tasks(session, instance.id):
        leavers = sorted((a.person for a in task.assignees if a.person_id in left), key=lambda p: p.email)
        if task.id in handled or not leavers:
            continue
        names = ", ".join(p.email for p in leavers)
        if raters.perspective(task):
            effect(task, WITHDRAW, [], f"{names} is no longer active: their feedback task is withdrawn.")
            continue
        stay = [a.person for a in task.assignees if a.person.active]
        boss = leavers[0].manager
        to = stay or ([boss] if boss is not None and boss.active else [])
        to = to or raters.stand_ins(session, instance=instance, lane=task.lane, task_name=task.name)
        effect(task, REASSIGN, to, f"{names} is no longer active: the task goes to {', '.join(p.email for p in to)}.")
    return item


def _lanes_now(session: Session, subject: Person) -> dict[str, list[str]]:
    """The subject's Manager, Skip-level and HR lanes as a launch today would freeze them, except that a manager who
    left is stood in for by their own manager (then, with nobody, the task falls back to HR)."""
    fresh = lanes.freeze(session, subject, {})
    manager = subject.manager
    if not fresh[lanes.MANAGER] and manager is not None and not manager.active:
        above = manager.manager
        fresh[lanes.MANAGER] = [above.email] if above is not None and above.active else []
    return {lane: fresh[lane] for lane in _LANES}


def _lane_reason(lane: str, subject: Person, before: list[str], after: list[str]) -> str:
    was, now = ", ".join(before) or "nobody", ", ".join(after) or "HR (nobody in the lane)"
    return f"Org change: the {lane} of {subject.email} is now {now} (was {was})."


def _people(session: Session, emails: list[str]) -> list[Person]:
    if not emails:
        return []
    return list(session.scalars(select(Person).where(Person.email.in_(emails), Person.active).order_by(Person.email)))


def carry_out(item: InstancePlan) -> Callable[[kernel.Change], None]:
    """The step that does what `item` planned for its instance: update the frozen lanes, move and withdraw tasks,
    or cancel the review."""

    def step(change: kernel.Change) -> None:
        session, instance = change.session, change.instance
        if any(e.action == CANCEL for e in item.effects):
            cancelling.cancel_step(change, reason=item.effects[0].reason, ended="skip")
            return
        if item.lanes:
            before = {lane: (instance.lanes or {}).get(lane, []) for lane in item.lanes}
            instance.lanes = {**(instance.lanes or {}), **item.lanes}
            change.event("instance.lanes_changed", {"before": before, "after": item.lanes, "reason": "org change"})
        for e in item.effects:
            task = session.get(Task, e.task_id)
            if task is None or task.status != "open":
                continue
            if e.action == WITHDRAW:
                assign.withdraw(change, task, reason=e.reason)
                continue
            to = [session.get(Person, pid) for pid in e.to_ids]
            targets = [
                assign.check_target(session, instance=instance, task=task, person=p, email=p.email)
                for p in to
                if p is not None
            ]
            assign.move(change, task, targets, reason=e.reason, extra={"org_change": True})

    return step
