"""Read-only listings the web pages show (people directory, departments, cycles, instances, a person's released
results, a definition's files). Authorization stays with the callers' role checks and `views`/`runtime` rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.org.people import person_ref
from engine.process import definitions
from engine.store.models import Cycle, Definition, Instance, Person, Task, TaskAssignee

# Forms that show a person their own results (released by HR) and ask them to acknowledge them.
RESULT_FORMS = ("results-acknowledge.schema.json", "results-final-ack.schema.json", "review-acknowledge.schema.json")


def _iso(value: Any) -> str | None:
    v = clock.as_utc(value)
    return v.isoformat() if v else None


def directory(session: Session) -> list[dict[str, Any]]:
    """Active employees for person pickers: name, email, department."""
    q = select(Person).where(Person.active, Person.employee).order_by(Person.name)
    return [{"name": p.name, "email": p.email, "department": p.department or ""} for p in session.scalars(q)]


def departments(session: Session) -> list[str]:
    q = select(Person.department).where(Person.active, Person.employee, Person.department.is_not(None)).distinct()
    return sorted(d for d in session.scalars(q) if d)


def cycles(session: Session) -> list[Cycle]:
    return list(session.scalars(select(Cycle).order_by(Cycle.id.desc())))


def instances(session: Session, *, cycle_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Instances (newest first) with subject and definition, for readers."""
    q = select(Instance).order_by(Instance.id.desc()).limit(limit)
    if cycle_id is not None:
        q = q.where(Instance.cycle_id == cycle_id)
    return [
        {
            "id": i.id,
            "cycle_id": i.cycle_id,
            "kind": i.kind,
            "status": i.status,
            "subject": person_ref(i.subject),
            "department": i.subject.department if i.subject else None,
            "definition": {"key": i.definition.key, "version": i.definition.version},
            "updated_at": _iso(i.updated_at),
        }
        for i in session.scalars(q)
    ]


def main_bpmn(definition: Definition) -> str | None:
    """The BPMN XML of a definition's own process (not the diagrams it calls)."""
    bpmn = [f for f in definition.files if f.kind == "bpmn"]
    main = next((f for f in bpmn if f'id="{definition.key}"' in f.content), None) or (bpmn[0] if bpmn else None)
    return main.content if main else None


def files_of(definition: Definition) -> list[tuple[str, bytes]]:
    return [(f.name, f.content.encode()) for f in definition.files]


def my_results(session: Session, *, person: Person) -> list[dict[str, Any]]:
    """The person's released results: their acknowledgement tasks in their own reviews, with what those show."""
    q = (
        select(Task)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .join(Instance, Instance.id == Task.instance_id)
        .where(
            TaskAssignee.person_id == person.id,
            Instance.subject_id == person.id,
            Task.form.in_(RESULT_FORMS),
            Task.status != "cancelled",
        )
        .order_by(Task.id.desc())
    )
    out = []
    for task in session.scalars(q):
        cycle = session.get(Cycle, task.instance.cycle_id) if task.instance.cycle_id else None
        out.append(
            {
                "task_id": task.id,
                "instance_id": task.instance_id,
                "title": task.title,
                "status": task.status,
                "cycle": cycle.name if cycle else None,
                "context": task.context or {},
                "submitted": task.submitted,
                "schema": definitions.form_schema(session, task.instance.definition_id, task.form) or {},
                "created_at": _iso(task.created_at),
                "completed_at": _iso(task.completed_at),
            }
        )
    return out
