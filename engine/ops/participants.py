"""Add people to a running cycle (HR): the cycle's participants take them in and the existing launch path
(engine/review/launch.py) starts their reviews in the background. Idempotent: people already in get nothing new;
unknown or inactive people make the whole request a 422 that names them, with nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.core.errors import Conflict, InvalidInput, status_zh
from engine.org.people import normalize_email
from engine.review import cycles, launch
from engine.store.models import Instance, Person
from engine.store.transaction import rehearse, transact
from forms.validation import field_error

RUNNING = ("launching", "active")
MAX_PEOPLE = 1000


def _people(session: Session, emails: Any) -> list[Person]:
    if not isinstance(emails, list) or not emails:
        en, zh = 'Name the people to add: {"emails": [...]}.', "请填写要添加的人员（每行一个邮箱）。"
        raise InvalidInput(en, detail_zh=zh, errors=[field_error("emails", en, zh, "required")])
    if len(emails) > MAX_PEOPLE:
        en, zh = f"At most {MAX_PEOPLE} people at a time.", f"每次最多添加 {MAX_PEOPLE} 人。"
        raise InvalidInput(en, detail_zh=zh, errors=[field_error("emails", en, zh, "too_many")])
    wanted = [normalize_email(e) if isinstance(e, str) else "" for e in emails]
    found = {
        p.email: p
        for p in session.scalars(
            select(Person).where(Person.email.in_([e for e in wanted if e]), Person.active, Person.employee)
        )
    }
    bad = [(i, raw) for i, (raw, e) in enumerate(zip(emails, wanted, strict=True)) if e not in found]
    if bad:
        named = ", ".join(str(raw) for _, raw in bad)
        raise InvalidInput(
            f"Not active employees: {named}. Nobody was added.",
            detail_zh=f"以下人员不是在职员工：{named}。本次没有添加任何人。",
            errors=[
                field_error(
                    f"emails/{i}", f"not an active employee: {raw}", f"不是在职员工：{raw}", "unknown_or_inactive"
                )
                for i, raw in bad
            ],
        )
    return list({found[e].id: found[e] for e in wanted}.values())


def add(session: Session, *, actor: Person, cycle_id: int, emails: Any, dry_run: bool = False) -> dict[str, Any]:
    """Take `emails` into the running cycle `cycle_id` and queue the launch of their reviews; returns who was added,
    who was in already, and the launch progress (poll the cycle for more). With `dry_run` the same answer (without
    the progress) says what would happen; nothing is kept."""

    def work() -> dict[str, Any]:
        cycle = launch.lock_cycle(session, cycle_id)  # the same lock as the launch chunks take
        people = _people(session, emails)
        if cycle.status not in RUNNING:
            raise Conflict(
                f"This cycle is {cycle.status}: people can be added while it runs; before launch, change its "
                "participants and launch it.",
                detail_zh=f"该周期的状态是“{status_zh(cycle.status)}”：只能在周期进行中添加人员；"
                "发起之前，请直接修改参与人员后再发起。",
            )
        before = cycle.participants
        inside = {p.id for p in cycles.population(session, before)}
        have = set(session.scalars(select(Instance.subject_id).where(Instance.cycle_id == cycle.id)))
        new = [p for p in people if p.id not in inside]
        if new and isinstance(before, dict):
            listed = [e for e in before.get("emails") or [] if isinstance(e, str)]
            cycle.participants = {**before, "emails": listed + [p.email for p in new if p.email not in listed]}
        elif new:  # "all" takes in every active employee already; nothing else is stored as a string
            raise Conflict(
                f"This cycle's participants ({before!r}) cannot take in more people.",
                detail_zh=f"该周期的参与人员设置（{before!r}）无法再加入更多人员。",
            )
        to_start = [p for p in people if p.id not in have]
        if new or to_start:
            audit.record(
                session,
                actor=actor.email,
                action="cycle.participants_added",
                cycle_id=cycle.id,
                payload={
                    "emails": [p.email for p in people],
                    "added": [p.email for p in new],
                    "to_start": [p.email for p in to_start],
                    "before": before,
                    "after": cycle.participants,
                },
            )
            jobs.enqueue(session, "launch_cycle", cycle_id=cycle.id)  # the launch path: chunks, never duplicates
        return {
            "cycle_id": cycle.id,
            "added": [p.email for p in new],
            "already": [p.email for p in people if p.id in inside],
            "starting": [p.email for p in to_start],
        }

    if dry_run:
        return rehearse(session, work)
    result = transact(session, work)
    session.expire_all()
    return {**result, "launch": launch.progress(session, cycle_id)}
