"""The inbox and the manager's team view: open tasks grouped by cycle and stage, what happens after a submission, and
each direct report's stage in each running cycle. Plain JSON-able dicts; the pages and the API phrase them.

A stage is the task's title (the diagram's "English / 中文" name; the page shows the reader's half), never an id.
Rater tasks (a peer's or a direct report's 360 answer) of other people are never named here: who rates whom is
confidential (engine/process/raters.py); only whether colleagues' feedback is still being collected is said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import actors, clock
from engine.core.errors import Forbidden
from engine.org.people import person_ref
from engine.org.scope import direct_reports
from engine.process.raters import perspective
from engine.process.runtime import holding
from engine.queries.views import list_tasks
from engine.store.models import Cycle, Instance, Person, Task

RUNNING = ("running", "waiting")


def _overdue(due_at: Any, now: datetime) -> bool:
    due = clock.as_utc(datetime.fromisoformat(due_at)) if isinstance(due_at, str) else clock.as_utc(due_at)
    return bool(due and due < now)


def _cycle_names(session: Session, ids: set[int]) -> dict[int, str]:
    return (
        {row[0]: row[1] for row in session.execute(select(Cycle.id, Cycle.name).where(Cycle.id.in_(ids)))}
        if ids
        else {}
    )


def grouped(session: Session, *, person: Person) -> list[dict[str, Any]]:
    """The person's open tasks as `[{"cycle": {"id", "name"} | None, "stages": [{"title", "tasks": [...]}]}]`:
    cycles in the order of their soonest due task, stages likewise, tasks soonest due first. Each task carries
    `overdue` and `about` (the subject, only when it is somebody else)."""
    now = clock.now()
    tasks = list_tasks(session, actor=person, status="open")
    tasks.sort(key=lambda t: (t["due_at"] is None, t["due_at"] or "", t["id"]))
    names = _cycle_names(session, {t["cycle_id"] for t in tasks if t["cycle_id"] is not None})
    cycles: dict[int | None, dict[str, Any]] = {}
    for t in tasks:
        t["overdue"] = _overdue(t["due_at"], now)
        subject = t["subject"]
        t["about"] = subject if subject and subject["email"] != person.email else None
        cid = t["cycle_id"]
        group = cycles.setdefault(
            cid, {"cycle": {"id": cid, "name": names.get(cid, "")} if cid else None, "stages": {}}
        )
        title = t["title"] or t["name"]
        group["stages"].setdefault(title, {"title": title, "tasks": []})["tasks"].append(t)
    return [{"cycle": g["cycle"], "stages": list(g["stages"].values())} for g in cycles.values()]


def _relation(viewer: Person, holder: Person, subject: Person | None) -> str:
    if holder.id == viewer.id:
        return "you"
    if viewer.manager_id == holder.id:
        return "manager"
    if subject is not None and holder.id == subject.id:
        return "subject"
    if holder.manager_id == viewer.id:
        return "report"
    return "other"


def _steps(session: Session, instance: Instance, viewer: Person) -> tuple[list[dict[str, Any]], bool]:
    """The instance's open steps as the viewer may know them, and whether colleagues' feedback is being collected."""
    open_tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "open").order_by(Task.id)
    )
    steps, raters = [], False
    for task in open_tasks:
        people = [a.person for a in holding(task)]
        if perspective(task) and viewer.id not in {p.id for p in people}:
            raters = True
            continue
        lane = actors.norm(task.lane)
        who = [{**(person_ref(p) or {}), "relation": _relation(viewer, p, instance.subject)} for p in people]
        due = clock.as_utc(task.due_at)
        steps.append(
            {
                "id": task.id,
                "title": task.title or task.name,
                "lane": lane,
                "who": who,
                "due_at": due.isoformat() if due else None,
                "overdue": bool(due and due < clock.now()),
                "yours": viewer.id in {p.id for p in people},
            }
        )
    return steps, raters


def what_next(session: Session, *, person: Person, task_id: int) -> dict[str, Any] | None:
    """After `person` submitted task `task_id`: the review's status, its open steps and who has them (`who[].relation`
    is you, manager, subject, report or other; an HR lane says "hr"), and whether colleagues' feedback is open.
    None when the task is not one the person completed or holds."""
    task = session.get(Task, task_id)
    if task is None or (task.completed_by_id != person.id and person.id not in {a.person_id for a in task.assignees}):
        return None
    instance = task.instance
    steps, raters = _steps(session, instance, person)
    title = task.title or task.name
    return {"task": {"id": task.id, "title": title}, "status": instance.status, "next": steps, "feedback_open": raters}


def team(session: Session, *, manager: Person) -> list[dict[str, Any]]:
    """Each active direct report of `manager` (engine/org/scope.py) with their running reviews: per cycle the open
    stages, which of their tasks wait on the manager, and whether any step is overdue. Forbidden for a person
    without direct reports."""
    reports = direct_reports(session, manager)
    if not reports:
        raise Forbidden("The team view is for managers: it lists your direct reports, and nobody reports to you.")
    ids = [p.id for p in reports]
    instances = (
        list(
            session.scalars(
                select(Instance)
                .where(Instance.subject_id.in_(ids), Instance.status.in_(RUNNING))
                .order_by(Instance.cycle_id, Instance.id)
            )
        )
        if ids
        else []
    )
    names = _cycle_names(session, {i.cycle_id for i in instances if i.cycle_id is not None})
    out = []
    for report in reports:
        reviews = []
        for instance in (i for i in instances if i.subject_id == report.id):
            steps, raters = _steps(session, instance, manager)
            reviews.append(
                {
                    "cycle": {"id": instance.cycle_id, "name": names.get(instance.cycle_id or 0, "")},
                    "instance_id": instance.id,
                    "stages": steps,
                    "feedback_open": raters,
                    "waiting_on_me": [s for s in steps if s["yours"]],
                    "overdue": any(s["overdue"] for s in steps),
                }
            )
        out.append({"person": person_ref(report), "title": report.title, "reviews": reviews})
    return out
