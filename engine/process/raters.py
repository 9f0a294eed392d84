"""Who rates whom is confidential, and the kernel keeps it so: which tasks are a rater's (a peer's or a direct
report's answer), and who may stand in for a rater's task whose lane resolved to nobody. The 360 rules built on
this (thresholds, who may read answers) are the review package's (engine/review/anonymity.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.core.actors import perspective_of
from engine.process import lanes
from engine.store.models import Instance, Person, Task

# Shipped rater tasks by element id, for diagrams that draw them outside a Peer / Direct Report lane.
RATER_TASKS = {"give_peer_feedback": "peer", "give_upward_feedback": "direct_report"}


def perspective(task: Task) -> str | None:
    """'peer' or 'direct_report' when `task` is a rater's answer task, else None."""
    return RATER_TASKS.get(task.name) or perspective_of(task.lane)


def managers_of(subject: Person | None) -> set[int]:
    """Ids of everyone above `subject` in the current org chart."""
    ids: set[int] = set()
    person = subject.manager if subject else None
    while person is not None and person.id not in ids:
        ids.add(person.id)
        person = person.manager
    return ids


def stand_ins(session: Session, *, instance: Instance, lane: str | None, task_name: str) -> list[Person]:
    """HR admins who take a task whose lane resolved to nobody. Never the review's subject; for a rater's task
    also nobody in the subject's manager chain (current or frozen at launch), who would learn who rates whom."""
    excluded = {instance.subject_id}
    frozen = instance.lanes or {}
    if RATER_TASKS.get(task_name) or perspective_of(lane):
        excluded |= managers_of(instance.subject)
        chain = {*frozen.get(lanes.MANAGER, []), *frozen.get(lanes.SKIP, [])}
        excluded |= {p.id for p in lanes.hr_admins(session) if p.email in chain}
    return [p for p in lanes.hr_admins(session) if p.id not in excluded]
