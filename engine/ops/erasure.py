"""Erase a person (PIPL / GDPR): one HR admin asks, a second one approves, and then the person's name, email and
the free-text answers they wrote are replaced everywhere — the person row (by a pseudonym), tasks' drafts, answers,
prefill and context, review records, instances' workflow state, the outbox, every other text column, and the
personal values of audit events. Scores, ratings and counts stay, so reports keep their aggregates; the audit chain
stays valid and `audit verify` counts the redacted events (engine/audit/personal.py)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import audit
from engine.audit.personal import FREE_TEXT_KEYS
from engine.core import clock
from engine.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.ops.scrub import Scrubber, scrub_all
from engine.org import tokens
from engine.store.models import Account, AuditEvent, Person, Task, TaskAssignee
from engine.store.privacy_models import AuditPersonal, ErasureRequest
from engine.store.transaction import transact

ERASED = audit.ERASED
PENDING, DONE = "pending", "done"
_CODE = re.compile(r"^[A-Za-z0-9_.:+\-]*$")  # option values, ids, dates: not free text
MIN_ANSWER = 8  # shorter answers are too common to replace everywhere they occur


def pseudonym(person_id: int) -> tuple[str, str]:
    """The name and email an erased person is left with."""
    return f"Erased person {person_id}", f"erased-{person_id}@erased.invalid"


def is_erased(person: Person) -> bool:
    return person.email == pseudonym(person.id)[1]


def _free_text(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        return [value] if len(text) >= MIN_ANSWER and not _CODE.match(text) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _free_text(v)]
    if isinstance(value, list):
        return [s for v in value for s in _free_text(v)]
    return []


def answers_by(session: Session, person: Person) -> set[str]:
    """The free-text answers the person wrote: in tasks they completed, and drafts of tasks they hold."""
    held = select(TaskAssignee.task_id).where(TaskAssignee.person_id == person.id)
    tasks = session.scalars(select(Task).where(or_(Task.completed_by_id == person.id, Task.id.in_(held))))
    found: set[str] = set()
    for task in tasks:
        if task.completed_by_id == person.id:
            found.update(_free_text(task.submitted))
        found.update(_free_text(task.draft))
    return found


def erase_person(session: Session, person: Person, *, actor: str) -> dict[str, Any]:
    """Replace the person everywhere, in the caller's transaction; returns what was changed, counted per place."""
    name, email = pseudonym(person.id)
    answers = answers_by(session, person)
    replacements = dict.fromkeys(answers, ERASED)
    if len(person.name.strip()) >= 2:
        replacements[person.name] = name
    replacements[person.email] = email
    scrubber = Scrubber(replacements)
    old_email = person.email
    person.name, person.email, person.employee_no, person.active = name, email, None, False
    account = session.scalar(select(Account).where(Account.person_id == person.id))
    if account is not None:
        account.password_hash = None
    tokens.revoke_all(session, person_id=person.id, actor=actor)
    session.flush()
    counts = scrub_all(session, scrubber)
    counts["audit_personal.value"] = _erase_audit_values(session, person, scrubber)
    legacy = session.scalar(
        select(AuditEvent.seq)
        .where(or_(AuditEvent.actor == old_email, AuditEvent.payload.contains(old_email)))
        .limit(1)
    )
    return {
        "answers": len(answers),
        "changed": {k: v for k, v in sorted(counts.items()) if v},
        "audit_events_before_erasure_support": legacy is not None,
    }


def _erase_audit_values(session: Session, person: Person, scrubber: Scrubber) -> int:
    """Personal values of audit events: any naming the person, and the free text of events they acted in."""
    theirs = set(session.scalars(select(AuditEvent.seq).where(AuditEvent.actor.in_(audit.actor_refs(person)))))
    now, erased = clock.now(), 0
    for row in session.scalars(select(AuditPersonal).where(AuditPersonal.value.is_not(None))):
        assert row.value is not None
        written = row.seq in theirs and row.path.split("/", 1)[0] in FREE_TEXT_KEYS
        if written or scrubber.hits(row.value):
            row.value, row.erased_at = None, now
            erased += 1
    return erased


# --- requests -----------------------------------------------------------------------------------------------------


def _iso(at: Any) -> str | None:
    value = clock.as_utc(at)
    return value.isoformat() if value is not None else None


def view(row: ErasureRequest) -> dict[str, Any]:
    return {
        "id": row.id,
        "person_id": row.person_id,
        "status": row.status,
        "reason": row.reason,
        "requested_by_id": row.requested_by_id,
        "requested_at": _iso(row.requested_at),
        "approved_by_id": row.approved_by_id,
        "approved_at": _iso(row.approved_at),
        "report": row.report,
    }


def request(session: Session, *, actor: Person, person_id: int, reason: Any) -> dict[str, Any]:
    """HR: ask for a person's erasure; nothing is erased until a second HR admin approves."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(
            "Give the reason for the erasure (e.g. the person's request and its date).",
            detail_zh="请填写删除个人数据的理由（例如本人的申请及其日期）。",
        )

    def work() -> dict[str, Any]:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"No person {person_id}.", detail_zh=f"没有编号为 {person_id} 的人员。")
        if is_erased(person):
            raise Conflict(f"Person {person_id} is erased already.", detail_zh=f"人员 {person_id} 的数据已被删除。")
        pending = session.scalar(
            select(ErasureRequest).where(ErasureRequest.person_id == person_id, ErasureRequest.status == PENDING)
        )
        if pending is not None:  # asked again: the request already waiting for approval
            return view(pending)
        row = ErasureRequest(person_id=person_id, reason=reason.strip(), status=PENDING, requested_by_id=actor.id)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor.email,
            action="person.erasure_requested",
            payload={"request_id": row.id, "person_id": person_id, "reason": row.reason},
        )
        return view(row)

    return transact(session, work)


def approve(session: Session, *, actor: Person, request_id: int) -> dict[str, Any]:
    """A second HR admin approves: the person is erased in this transaction and the report kept with the request."""

    def work() -> dict[str, Any]:
        row = session.get(ErasureRequest, request_id)
        if row is None:
            raise NotFound(f"No erasure request {request_id}.", detail_zh=f"没有编号为 {request_id} 的删除申请。")
        if row.status != PENDING:
            raise Conflict(
                f"Erasure request {request_id} is {row.status} already.",
                detail_zh=f"删除申请 {request_id} 已处于“{row.status}”状态。",
            )
        if row.requested_by_id == actor.id:
            raise Forbidden(
                "You asked for this erasure: a second HR admin must approve it.",
                detail_zh="这项删除申请是你提出的，需要另一位 HR 管理员批准。",
            )
        if row.person_id == actor.id:
            raise Forbidden(
                "You cannot approve your own erasure: ask another HR admin.",
                detail_zh="你不能批准删除自己的数据，请让另一位 HR 管理员处理。",
            )
        person = session.get(Person, row.person_id)
        assert person is not None
        report = erase_person(session, person, actor=actor.email)
        row.status, row.approved_by_id, row.approved_at, row.report = DONE, actor.id, clock.now(), report
        audit.record(
            session,
            actor=actor.email,
            action="person.erased",
            payload={"request_id": row.id, "person_id": row.person_id, "changed": report["changed"]},
        )
        return view(row)

    return transact(session, work)
