"""Whose reviews a reader may see in cycle reports: the whole cycle, or an HR partner's own employees.

hr_admin, auditor and admin see the whole cycle (`None`). An `hr_partner` sees the people whose `hr_partner_id` is
them — active or not, never themselves — and nobody else: not their own reports down the management line, and not
even as part of a mean. Reports load only these people's instances and records (`only`), so nothing out of scope is
counted anywhere.

A manager's team view (`direct_reports`) covers their own direct reports only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.org import policy
from engine.store.models import Person

Subjects = set[int] | None  # person ids in scope; None = everyone


def subjects_in_scope(session: Session, person: Person) -> Subjects:
    """The ids of the people `person` may see in reports; None for the whole cycle, empty for anyone else."""
    if policy.allows(person, policy.READ_ALL):
        return None
    if not policy.allows(person, policy.READ_PARTNERED):
        return set()
    q = select(Person.id).where(Person.hr_partner_id == person.id, Person.id != person.id)
    return set(session.scalars(q))


def only(column: InstrumentedAttribute[Any], subjects: Subjects) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose person `column` is in scope (everything when `subjects` is None)."""
    return true() if subjects is None else column.in_(subjects)


def describe(subjects: Subjects) -> dict[str, Any]:
    """What a report says about its scope, so clients can show "your employees only"."""
    return {"kind": "all"} if subjects is None else {"kind": "partner", "people": len(subjects)}


def direct_reports(session: Session, manager: Person) -> list[Person]:
    """The active people whose manager is `manager` in the current org chart, by name: the whole scope of a
    manager's team view (no skip levels, nobody else's reports)."""
    q = select(Person).where(Person.manager_id == manager.id, Person.active, Person.id != manager.id)
    return list(session.scalars(q.order_by(Person.name, Person.id)))
