"""Who may see who rated whom: the one policy every surface (task and instance views, the audit timeline, its
exports and the pages) asks before it shows a rater's identity, answer or submission time.

- Nobody involved in a review — its subject, anyone in the subject's manager chain (now or as frozen at launch), or
  a rater of it — sees rater identities, whatever roles they hold: they see what a participant sees, the
  aggregate feedback summary at or above the anonymity threshold (`Sight.SUMMARY`).
- Other readers (hr_admin, auditor, admin) see answers without identity, times or ids, in an order unrelated to
  submission, and nothing below the threshold (`Sight.ANONYMOUS`) — until they open rater detail with a reason.
  The opening is the audit event `rater_detail.opened` (who, why, until when); for `DETAIL_MINUTES` after it, that
  reader sees the review in full (`Sight.IDENTIFIED`). The grant lives only in the tamper-evident audit log.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.core import clock
from engine.core.errors import Forbidden, InvalidInput, NotFound
from engine.org import policy
from engine.process import lanes
from engine.process.raters import RATER_TASKS as RATER_TASKS  # noqa: F401 - part of the 360 face
from engine.process.raters import managers_of as managers_of
from engine.process.raters import perspective as perspective
from engine.process.raters import stand_ins as stand_ins
from engine.review import feedback
from engine.store.models import AuditEvent, Cycle, Instance, Person, Task, TaskAssignee
from engine.store.transaction import transact
from forms.validation import field_error

DETAIL_MINUTES = 30
OPENED = "rater_detail.opened"
REASON_MIN, REASON_MAX = 10, 500
RATER_ACTIONS = {"task.completed", "task.draft_saved", "workflow.failed"}  # what a rater does on their task


class Sight(enum.Enum):
    SUMMARY = "summary"  # involved, or not a reader: aggregates at or above the threshold, no rater tasks or rows
    ANONYMOUS = "anonymous"  # an uninvolved reader: answers without identity, time or id; not below the threshold
    IDENTIFIED = "identified"  # an uninvolved reader who opened rater detail with a reason, for a limited time


def rater_tasks(session: Session, instance_id: int) -> list[Task]:
    tasks = session.scalars(select(Task).where(Task.instance_id == instance_id).order_by(Task.id))
    return [t for t in tasks if perspective(t)]


def involved(session: Session, *, viewer: Person, instance: Instance) -> bool:
    """The viewer is the subject, in the subject's manager chain (current, or as frozen at launch), or a rater."""
    if instance.subject_id is not None and instance.subject_id == viewer.id:
        return True
    frozen = instance.lanes or {}
    if viewer.id in managers_of(instance.subject) or viewer.email in {
        *frozen.get(lanes.MANAGER, []),
        *frozen.get(lanes.SKIP, []),
    }:
        return True
    mine = session.scalars(
        select(Task)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .where(Task.instance_id == instance.id, TaskAssignee.person_id == viewer.id)
    )
    return any(perspective(t) for t in mine)


def opened_until(session: Session, *, viewer: Person, instance_id: int) -> datetime | None:
    """When the viewer's latest opening of rater detail for this instance lapses, if it has not yet."""
    at = session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.instance_id == instance_id,
            AuditEvent.action == OPENED,
            AuditEvent.actor.in_(audit.actor_refs(viewer)),
        )
    )
    start = clock.as_utc(at)
    if start is None:
        return None
    until = start + timedelta(minutes=DETAIL_MINUTES)
    return until if until > clock.now() else None


def sight(session: Session, *, viewer: Person, instance: Instance) -> Sight:
    """How much of the raters of `instance` the viewer may see — the one decision every surface uses."""
    if not policy.allows(viewer, policy.READ_ALL) or involved(session, viewer=viewer, instance=instance):
        return Sight.SUMMARY
    if opened_until(session, viewer=viewer, instance_id=instance.id) is not None:
        return Sight.IDENTIFIED
    return Sight.ANONYMOUS


def status(session: Session, *, viewer: Person, instance: Instance) -> dict[str, Any]:
    """What responses say about the viewer's sight: `{"sight", "opened_until"}`."""
    seen = sight(session, viewer=viewer, instance=instance)
    until = opened_until(session, viewer=viewer, instance_id=instance.id) if seen is Sight.IDENTIFIED else None
    return {"sight": seen.value, "opened_until": until.isoformat() if until else None}


def open_detail(session: Session, *, viewer: Person, instance_id: int, reason: Any) -> dict[str, Any]:
    """Open rater identities of one review for `DETAIL_MINUTES`, recording who and why in the audit log."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not REASON_MIN <= len(text) <= REASON_MAX:
        message = f"Say why you need to see who gave which answer, in {REASON_MIN} to {REASON_MAX} characters."
        zh = f"请用 {REASON_MIN} 到 {REASON_MAX} 个字符说明你为什么需要查看每条回答是谁给出的。"
        raise InvalidInput(message, detail_zh=zh, errors=[field_error("reason", message, zh, "reason_length")])
    if not policy.allows(viewer, policy.READ_ALL):
        raise Forbidden(
            "Only HR admins, auditors and admins may open rater detail.",
            detail_zh="只有 HR 管理员、审计员和管理员可以打开评价人详情。",
        )

    def work() -> dict[str, Any]:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"No instance with id {instance_id}.", detail_zh=f"没有编号为 {instance_id} 的评估。")
        if involved(session, viewer=viewer, instance=instance):
            raise Forbidden(
                "You take part in this review (as its subject, in its manager chain or as a rater), so who gave "
                "which answer stays hidden from you whatever your roles.",
                detail_zh="你参与了此评估（作为被评估人、其上级链中的一员或评价人），因此无论你有什么角色，"
                "都不能看到每条回答是谁给出的。",
            )
        until = clock.now() + timedelta(minutes=DETAIL_MINUTES)
        audit.record(
            session,
            actor=viewer.email,
            action=OPENED,
            payload={"reason": text, "minutes": DETAIL_MINUTES, "until": until.isoformat()},
            cycle_id=instance.cycle_id,
            instance_id=instance.id,
        )
        return {"instance_id": instance.id, "reason": text, "opened_until": until.isoformat()}

    return transact(session, work)


def thresholds(session: Session, instance: Instance) -> dict[str, int]:
    cycle = session.get(Cycle, instance.cycle_id) if instance.cycle_id is not None else None
    configured = ((cycle.settings if cycle else None) or {}).get("anonymity") or {}
    return {p: int(configured.get(p, 3)) for p in ("peer", "direct_report")}


def answers_view(session: Session, instance: Instance, tasks: list[Task], seen: Sight) -> dict[str, Any] | None:
    """The rater answers a redacted timeline shows: aggregates (SUMMARY) or anonymous answers sorted by content
    (ANONYMOUS), per perspective, `{"hidden": True}` below the threshold; None when identities are open."""
    if seen is Sight.IDENTIFIED or not tasks:
        return None
    limits = thresholds(session, instance)
    answers: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        kind = perspective(task)
        if kind and task.status == "completed":
            answers.setdefault(kind, []).append(task.submitted if isinstance(task.submitted, dict) else {})
    if seen is Sight.SUMMARY:
        data = {"settings": {"anonymity": limits}, **answers}
        return feedback.summary(data, {k: k for k in answers})
    out: dict[str, Any] = {}
    for kind, given in answers.items():
        kept = [a for a in given if not a.get("declined")]
        if len(kept) < limits.get(kind, 3):
            out[kind] = {"hidden": True}
        else:
            ordered = sorted(kept, key=audit.canonical_json)  # by content: unrelated to who answered or when
            out[kind] = {"count": len(kept), "declined": len(given) - len(kept), "answers": ordered}
    return out


def redact_events(events: list[dict[str, Any]], tasks: list[Task], seen: Sight) -> list[dict[str, Any]]:
    """The timeline without rater identities: rows about a rater task go; the other rows of a rater's transaction
    (what their answer set moving) go too for SUMMARY, and stay without actor or time for ANONYMOUS."""
    if seen is Sight.IDENTIFIED or not tasks:
        return events
    ids, spiff_ids, names = {t.id for t in tasks}, {t.spiff_id for t in tasks}, {t.name for t in tasks}
    by_rater = {(e["actor"], e["at"]) for e in events if e["task_id"] in ids and e["action"] in RATER_ACTIONS}
    out = []
    for event in events:
        payload = event["payload"] if isinstance(event["payload"], dict) else {}
        if event["task_id"] in ids or payload.get("task") in spiff_ids or payload.get("element") in names:
            continue
        if (event["actor"], event["at"]) in by_rater:
            if seen is Sight.SUMMARY:
                continue
            event = {**event, "actor": "anonymous rater", "at": None}  # the time would tell when they answered
        out.append(event)
    return out
