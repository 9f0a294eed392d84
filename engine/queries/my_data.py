"""`GET /api/me/export`: what Reviewflow holds about the person asking (PIPL / GDPR access) — their person record,
account roles, tokens and sessions (never the secrets), the tasks they hold or completed with what they wrote, the
review records about them that their own reviews show them, and the audit events they acted in (personal values
joined back). Other people's answers about them stay behind the same anonymity rules as everywhere else, so this
lists only records the person could already open (engine/queries/views.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import audit
from engine.core import clock
from engine.org import accounts
from engine.store.models import ApiToken, AuditEvent, Person, Task, TaskAssignee


def _iso(at: Any) -> str | None:
    value = clock.as_utc(at)
    return value.isoformat() if value is not None else None


def export(session: Session, *, person: Person) -> dict[str, Any]:
    held = select(TaskAssignee.task_id).where(TaskAssignee.person_id == person.id)
    tasks = session.scalars(
        select(Task).where(or_(Task.completed_by_id == person.id, Task.id.in_(held))).order_by(Task.id)
    ).all()
    token_rows = session.scalars(select(ApiToken).where(ApiToken.person_id == person.id).order_by(ApiToken.id))
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor.in_(audit.actor_refs(person))).order_by(AuditEvent.seq)
    ).all()
    return {
        "person": {
            "id": person.id,
            "employee_no": person.employee_no,
            "name": person.name,
            "email": person.email,
            "department": person.department,
            "title": person.title,
            "locale": person.locale,
            "active": person.active,
            "manager_id": person.manager_id,
            "created_at": _iso(person.created_at),
        },
        "roles": sorted(accounts.roles_of(person)),
        "tokens": [
            {
                "id": t.id,
                "kind": t.kind,
                "label": t.label,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in token_rows
        ],
        "tasks": [
            {
                "id": t.id,
                "instance_id": t.instance_id,
                "title": t.title,
                "status": t.status,
                "draft": t.draft if t.completed_by_id is None else None,
                "submitted": t.submitted if t.completed_by_id == person.id else None,
                "completed_at": _iso(t.completed_at),
            }
            for t in tasks
        ],
        "audit_events": [
            {"seq": o.row.seq, "at": _iso(o.row.at), "action": o.row.action, "payload": o.payload}
            for o in audit.reveal(session, events)
        ],
    }
