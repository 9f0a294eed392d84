"""Due dates, reminders and escalation.

A cycle's `due` setting gives user tasks their `due_at` (by element id, else by lane, else `"*"`): an ISO date
(the end of that day, UTC), a date-time, or a duration such as `P14D` counted from when the task opened. The
`reminders` setting gives the cadence: reminder 1..n go to the assignees `before_days` before the due date (default
7 and 1), then number n+1 tells the assignee's manager the task is overdue and, `grace_days` later, number n+2 tells
HR. Each (task, number) is sent at most once (unique row), even with several workers scanning at the same moment.
Peer and upward-feedback tasks are never escalated: telling a manager who has not answered would undo anonymity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import jobs
from engine.core import clock
from engine.notify import outbox
from engine.process import due as due_rules
from engine.process import lanes, runtime
from engine.store.job_models import ReminderSent
from engine.store.models import Cycle, Instance, Person, Task
from engine.store.transaction import transact

MAX_DAYS = 365
CONFIDENTIAL_LANES = set(lanes.PER_ITEM)  # peers and direct reports answer anonymously


def problems(due: Any, cadence: Any) -> list[tuple[str, str]]:
    """(path, message) for each bad `due` / `reminders` setting."""
    out: list[tuple[str, str]] = []
    if not isinstance(due, dict):
        out.append(("due", 'an object {"<task id or lane>": "2026-12-15" or "P14D"}'))
    else:
        for key, value in due.items():
            if not isinstance(value, str) or (due_rules.duration(value) is None and due_rules.instant(value) is None):
                out.append((f"due/{key}", "an ISO date (2026-12-15), date-time, or duration (P14D)"))
    if not isinstance(cadence, dict):
        return [*out, ("reminders", 'an object {"before_days": [7, 1], "grace_days": 3, "escalate": true}')]
    before = cadence.get("before_days")
    if not isinstance(before, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_DAYS for d in before
    ):
        out.append(("reminders/before_days", f"a list of whole numbers of days from 1 to {MAX_DAYS}"))
    elif len(set(before)) != len(before):
        out.append(("reminders/before_days", "each number of days only once"))
    grace = cadence.get("grace_days")
    if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_DAYS:
        out.append(("reminders/grace_days", f"a whole number of days from 0 to {MAX_DAYS}"))
    if not isinstance(cadence.get("escalate"), bool):
        out.append(("reminders/escalate", "true or false"))
    return out


def schedule(cadence: dict[str, Any], due: datetime) -> list[tuple[int, str, datetime]]:
    """(number, kind, when) of every reminder of a task due at `due`."""
    before = sorted(cadence.get("before_days") or [], reverse=True)
    plan = [(i + 1, "reminder", due - timedelta(days=d)) for i, d in enumerate(before)]
    plan.append((len(before) + 1, "overdue", due))
    if cadence.get("escalate", True):
        plan.append((len(before) + 2, "escalated", due + timedelta(days=int(cadence.get("grace_days") or 0))))
    return plan


def due_now(cadence: dict[str, Any], *, due: datetime, opened: datetime, now: datetime) -> list[tuple[int, str]]:
    """The reminders to send now: only the latest before-due one (a task opened late or a scan that was down for a
    while does not get a burst of stale reminders), plus overdue and escalation once their time has come."""
    plan = schedule(cadence, due)
    before = [(n, k) for n, k, when in plan if k == "reminder" and opened <= when <= now < due]
    later = [(n, k) for n, k, when in plan if k != "reminder" and when <= now]
    return before[-1:] + later


@jobs.job
def send_reminders(session: Session) -> int:
    """Queue every reminder that is due now; returns how many were written (to the outbox, sent after commit)."""
    now = clock.now()
    window = now + timedelta(days=MAX_DAYS)
    rows = session.execute(
        select(Task.id, Task.due_at, Task.created_at, Cycle.settings)
        .join(Instance, Instance.id == Task.instance_id)
        .join(Cycle, Cycle.id == Instance.cycle_id)
        .where(Task.status == "open", Task.due_at.is_not(None), Task.due_at <= window)
    ).all()
    session.rollback()
    written = 0
    for task_id, due, opened, settings in rows:
        cadence = (settings or {}).get("reminders") or {}
        if not cadence:
            continue
        due_utc, opened_utc = clock.as_utc(due), clock.as_utc(opened)
        assert due_utc is not None and opened_utc is not None
        for number, kind in due_now(cadence, due=due_utc, opened=opened_utc, now=now):
            if _send_one(session, task_id=task_id, number=number, kind=kind):
                written += 1
    return written


def ahead(session: Session, task: Task, due: datetime) -> dict[str, Any]:
    """What the reminders of an open task would do if it were due at `due`: how many sent toward its current date
    are forgotten, which would go out at the next scan (`now`: (number, kind)), and those still to come."""
    cycle = session.get(Cycle, task.instance.cycle_id) if task.instance.cycle_id else None
    cadence = ((cycle.settings if cycle else None) or {}).get("reminders") or {}
    sent = len(list(session.scalars(select(ReminderSent.id).where(ReminderSent.task_id == task.id))))
    if not cadence:
        return {"cadence": False, "confidential": False, "forgotten": sent, "now": [], "upcoming": []}
    now, opened = clock.now(), clock.as_utc(task.created_at) or clock.now()
    confidential = lanes.norm(task.lane) in CONFIDENTIAL_LANES  # never escalated (engine/review/reminders.py)
    plan = [(n, k, when) for n, k, when in schedule(cadence, due) if not (confidential and k == "escalated")]
    upcoming = [{"number": n, "kind": k, "at": when.isoformat()} for n, k, when in plan if when > now]
    soon = [
        {"number": n, "kind": k}
        for n, k in due_now(cadence, due=due, opened=opened, now=now)
        if not (confidential and k == "escalated")
    ]
    return {"cadence": True, "confidential": confidential, "forgotten": sent, "now": soon, "upcoming": upcoming}


def forget(session: Session, task_id: int) -> None:
    """The task's due date moved: the reminders sent toward the old date are forgotten, so the cadence runs again
    toward the new one (in the caller's transaction)."""
    session.execute(delete(ReminderSent).where(ReminderSent.task_id == task_id))


def _send_one(session: Session, *, task_id: int, number: int, kind: str) -> bool:
    """Record reminder `number` of a task with its outbox rows, in one transaction; False if it was sent already.
    Two workers racing both insert (task, number): one commits, the other's retry finds the row and does nothing."""

    def work() -> bool:
        if session.scalar(
            select(ReminderSent.id).where(ReminderSent.task_id == task_id, ReminderSent.number == number)
        ):
            return False
        task = session.get(Task, task_id, populate_existing=True)
        if task is None or task.status != "open":
            return False
        session.add(ReminderSent(task_id=task_id, number=number, kind=kind))
        session.flush()  # claim (task, number) before writing mail: a concurrent twin fails here
        due = clock.as_utc(task.due_at)
        due_stamp = int(due.timestamp()) if due else 0  # a moved due date starts the cadence over (forget)
        for person in _recipients(session, task, kind):
            outbox.add(
                session,
                kind=f"task.{kind}",
                dedupe_key=f"task:{task.id}:{kind}:{number}:{person.id}:{due_stamp}",
                payload={"task_id": task.id, "person_id": person.id, "number": number},
            )
        return True

    return transact(session, work)


def _recipients(session: Session, task: Task, kind: str) -> list[Person]:
    holders = [a.person for a in runtime.holding(task) if a.person.active]  # delegates too, while they hold it
    confidential = lanes.norm(task.lane) in CONFIDENTIAL_LANES
    if kind == "reminder" or confidential:
        return holders if kind == "reminder" or kind == "overdue" else []
    if kind == "overdue":
        assignees = [a.person for a in runtime.assignees(task) if a.person.active]
        managers = {p.manager.id: p.manager for p in assignees if p.manager and p.manager.active}
        return list(managers.values()) or lanes.hr_admins(session)
    instance = session.get(Instance, task.instance_id)
    subject = instance.subject if instance else None
    if subject is not None and subject.hr_partner is not None and subject.hr_partner.active:
        return [subject.hr_partner]
    return lanes.hr_admins(session)
