"""Calibration across a cycle: groups of people (a department, a manager's subtree or a list) calibrated by a
committee with a facilitator in a cycle-level instance of `workflows/calibration.bpmn`.

A group waits until every member's manager review is in (or HR opens it), then its session starts. Each rating change
is a `calibration` rating record beside the manager's (never over it) with the reason code, comment and the rating
before, and an audit event with before/after. When the committee agrees, the diagram throws the message `calibrated`;
the group is locked and each member's review instance receives its result by the BPMN message `calibrated`,
correlated by the subject's email, and moves on to release."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.calibration import view as calibration_view
from engine.core import clock
from engine.core.errors import Conflict, FormInvalid, InvalidInput, NotFound, ReviewflowError, WorkflowFailed
from engine.org.people import normalize_email
from engine.process import definitions, hooks, lanes, messages, runtime
from engine.review.cycles import get_cycle, population
from engine.store.models import CalibrationGroup, Cycle, Instance, Person, ReviewRecord, Task
from engine.store.transaction import transactional
from forms.validation import field_error

log = logging.getLogger(__name__)
DEFINITION_KEY = "calibration"
MESSAGE = "calibrated"
SYSTEM = "reviewflow"


def _err(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _person(session: Session, email: Any, path: str) -> Person:
    address = normalize_email(email) if isinstance(email, str) else None
    person = session.scalar(select(Person).where(Person.email == address, Person.active)) if address else None
    if person is None:
        raise InvalidInput(f"{path}: no active person with the email {email!r}.", errors=[_err(path, "unknown")])
    return person


def _subtree(session: Session, root: Person) -> set[int]:
    found: set[int] = set()
    frontier = {root.id}
    while frontier:
        below = set(session.scalars(select(Person.id).where(Person.manager_id.in_(frontier)))) - found
        found |= below
        frontier = below
    return found


def _members(session: Session, cycle: Cycle, selector: Any) -> list[Person]:
    everyone = {p.id: p for p in population(session, cycle.participants)}
    if not isinstance(selector, dict) or len(selector) != 1 or next(iter(selector)) not in (
        "department",
        "subtree",
        "people",
    ):
        raise InvalidInput(
            'A group is chosen by {"department": name}, {"subtree": manager email} or {"people": [emails]}.',
            errors=[_err("selector", "unsupported value")],
        )
    kind, value = next(iter(selector.items()))
    if kind == "department":
        ids = {pid for pid, p in everyone.items() if isinstance(value, str) and p.department == value}
    elif kind == "subtree":
        ids = _subtree(session, _person(session, value, "selector/subtree")) & set(everyone)
    else:
        if not isinstance(value, list) or not value:
            raise InvalidInput("List at least one person.", errors=[_err("selector/people", "empty")])
        ids = set()
        for index, email in enumerate(value):
            person = _person(session, email, f"selector/people/{index}")
            if person.id not in everyone:
                raise InvalidInput(
                    f"{person.email} does not take part in this cycle.",
                    errors=[_err(f"selector/people/{index}", "not a participant")],
                )
            ids.add(person.id)
    if not ids:
        raise InvalidInput(
            "Nobody in this cycle matches the group's selector.", errors=[_err("selector", "matches nobody")]
        )
    return sorted((everyone[i] for i in ids), key=lambda p: p.id)


@transactional
def create_group(
    session: Session,
    *,
    actor: Person,
    cycle_id: int,
    name: Any,
    selector: Any,
    facilitator: Any,
    committee: Any,
) -> CalibrationGroup:
    """A calibration group of a cycle; it opens by itself once every member's manager review is in."""
    cycle = get_cycle(session, cycle_id)
    if not (cycle.settings or {}).get("calibration"):
        raise InvalidInput(
            'This cycle does not use calibration; create the cycle with the setting "calibration": true.',
            errors=[_err("settings/calibration", "false")],
        )
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A calibration group needs a name.", errors=[_err("name", "required")])
    if session.scalar(
        select(CalibrationGroup.id).where(CalibrationGroup.cycle_id == cycle.id, CalibrationGroup.name == name.strip())
    ):
        raise InvalidInput(f"This cycle already has a group named {name.strip()!r}.", errors=[_err("name", "taken")])
    members = _members(session, cycle, selector)
    lead = _person(session, facilitator, "facilitator")
    if not isinstance(committee, list) or not committee:
        raise InvalidInput("A calibration committee needs at least one member.", errors=[_err("committee", "empty")])
    panel = [_person(session, email, f"committee/{i}") for i, email in enumerate(committee)]
    if len({p.id for p in panel}) != len(panel):
        raise InvalidInput("The committee lists someone twice.", errors=[_err("committee", "duplicate")])
    judges = {p.id: p for p in [lead, *panel]}
    own = [p for p in members if p.id in judges]
    if own:
        raise InvalidInput(
            "Nobody calibrates their own rating: take these people off the committee or facilitation, or out of the "
            "group.",
            errors=[_err("committee", f"{p.email} is in the group") for p in own],
        )
    taken: dict[int, str] = {}
    for other in session.scalars(select(CalibrationGroup).where(CalibrationGroup.cycle_id == cycle.id)):
        taken.update(dict.fromkeys(other.members, other.name))
    clash = [p for p in members if p.id in taken]
    if clash:
        raise InvalidInput(
            f"{len(clash)} person(s) are already in another calibration group of this cycle.",
            errors=[_err("selector", f"{p.email} is in {taken[p.id]!r}") for p in clash],
        )
    group = CalibrationGroup(
        cycle_id=cycle.id,
        name=name.strip(),
        selector=selector,
        facilitator_id=lead.id,
        committee=[p.id for p in panel],
        members=[p.id for p in members],
        status="waiting",
        created_by_id=actor.id,
    )
    session.add(group)
    session.flush()
    audit.record(
        session,
        actor=actor.email,
        action="calibration.group_created",
        cycle_id=cycle.id,
        payload={
            "group": group.id,
            "name": group.name,
            "selector": selector,
            "facilitator": lead.email,
            "committee": [p.email for p in panel],
            "members": [p.email for p in members],
        },
    )
    if cycle.status != "draft" and _all_rated(session, group):
        _open(session, group, actor=actor.email, reason="all manager reviews are in")
    return group


def get_group(session: Session, group_id: int) -> CalibrationGroup:
    group = session.get(CalibrationGroup, group_id)
    if group is None:
        raise NotFound(f"No calibration group with id {group_id}.")
    return group


def groups_of(session: Session, cycle_id: int) -> list[CalibrationGroup]:
    get_cycle(session, cycle_id)
    return list(session.scalars(select(CalibrationGroup).where(CalibrationGroup.cycle_id == cycle_id)))


def ungrouped(session: Session, cycle: Cycle) -> list[str]:
    """Emails of participants in no group: with calibration on, their reviews would wait for ever."""
    grouped = {m for g in session.scalars(select(CalibrationGroup).where(CalibrationGroup.cycle_id == cycle.id))
               for m in g.members}
    return [p.email for p in population(session, cycle.participants) if p.id not in grouped]


def _all_rated(session: Session, group: CalibrationGroup) -> bool:
    rated = calibration_view.ratings(session, group)
    return all((rated.get(m) or {}).get("manager") is not None for m in group.members)


@transactional
def open_group(session: Session, *, actor: Person, group_id: int) -> CalibrationGroup:
    """HR opens a session before every manager review is in (those not rated yet are shown as such)."""
    group = get_group(session, group_id)
    if group.status != "waiting":
        raise Conflict(f"This calibration group is already {group.status}.")
    if get_cycle(session, group.cycle_id).status == "draft":
        raise Conflict("Launch the cycle before opening its calibration.")
    _open(session, group, actor=actor.email, reason="opened by HR")
    return group


def _open(session: Session, group: CalibrationGroup, *, actor: str, reason: str) -> None:
    cycle = get_cycle(session, group.cycle_id)
    try:
        definition = definitions.get(session, DEFINITION_KEY)
    except NotFound:
        raise InvalidInput(
            "The calibration diagram is not deployed; deploy workflows/calibration.bpmn with its forms first.",
            errors=[_err("definition", DEFINITION_KEY)],
        ) from None
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(group.members + group.committee)))}
    facilitator = session.get(Person, group.facilitator_id)
    assert facilitator is not None
    committee = [people[i].email for i in group.committee if i in people]
    data = {
        "cycle": {"id": cycle.id, "name": cycle.name},
        "settings": cycle.settings or {},
        "group": {"id": group.id, "name": group.name},
        "members": [{"id": people[i].email, "title": people[i].name} for i in group.members if i in people],
        "facilitator": facilitator.email,
        "committee": committee,
        # keyed by email: each round of sign-off overwrites the previous answers (a list would only grow)
        "committee_members": {email: email for email in committee},
        "sign_offs": {},
    }
    lane_map = {lanes.FACILITATOR: [facilitator.email], lanes.COMMITTEE: committee}
    group.status, group.opened_at = "open", clock.now()
    session.flush()
    instance = runtime.start_process(
        session,
        cycle=cycle,
        definition=definition,
        data=data,
        lane_map=lane_map,
        actor=actor,
        kind="calibration",
        started={"calibration_group": group.id, "name": group.name, "reason": reason,
                 "definition": {"key": definition.key, "version": definition.version}},
    )
    group.instance_id = instance.id
    session.flush()


# --- inside the session ----------------------------------------------------------------------------------------


def record_changes(
    session: Session, *, instance: Instance, task: Task, schema: dict[str, Any], data: dict[str, Any], actor: str
) -> None:
    """Store one round of rating changes beside the manager's ratings, each with before/after, reason and comment."""
    group = session.scalar(select(CalibrationGroup).where(CalibrationGroup.instance_id == instance.id))
    if group is None or group.status != "open":
        raise Conflict("This calibration session is not open.")
    rated = calibration_view.ratings(session, group)
    by_email = {
        p.email: p for p in session.scalars(select(Person).where(Person.id.in_(group.members)))
    }
    reasons = {r.get("id"): r for r in (instance_settings(session, group).get("calibration_reasons") or [])}
    bars = (((schema.get("properties") or {}).get("changes") or {}).get("items") or {}).get("properties") or {}
    anchors = {a.get("value"): a.get("label") for a in (bars.get("rating") or {}).get("x-bars") or []}
    errors, seen = [], set()
    changes = data.get("changes") or []
    for index, change in enumerate(changes):
        person = by_email.get(change.get("person"))
        entry = rated.get(person.id) if person else None
        if person is None or entry is None:
            errors.append(field_error(f"changes/{index}/person", "This person is not in this calibration group.",
                                      "此人不在本校准组中。", "x-calibration"))
            continue
        if person.id in seen:
            errors.append(field_error(f"changes/{index}/person", "This person is already changed in this round.",
                                      "本轮已经调整过此人。", "x-calibration"))
        seen.add(person.id)
        if change.get("rating") == entry["current"]:
            errors.append(field_error(f"changes/{index}/rating",
                                      "This is already their rating; choose a different rating or remove the row.",
                                      "这已经是此人当前的评分；请选择不同的评分，或删除这一行。", "x-calibration"))
    if errors:
        raise FormInvalid(f"{len(errors)} field(s) need attention before this form can be submitted.", errors=errors)
    for change in changes:
        person = by_email[change["person"]]
        entry = rated[person.id]
        before, after = entry["current"], change["rating"]
        label = anchors.get(after)
        reason = reasons.get(change["reason_code"]) or {}
        session.add(
            ReviewRecord(
                cycle_id=group.cycle_id,
                instance_id=entry["instance_id"],
                subject_id=person.id,
                kind="rating",
                source="calibration",
                dimension="overall",
                score=after,
                text=(label.get("en") if isinstance(label, dict) else label),
                data={
                    "before": before,
                    "manager": entry["manager"],
                    "reason_code": change["reason_code"],
                    "reason": reason.get("title"),
                    "comment": change["comment"],
                    "group_id": group.id,
                    "session_instance_id": instance.id,
                },
                task_id=task.id,
            )
        )
        entry["current"] = after
        audit.record(
            session,
            actor=actor,
            action="calibration.changed",
            cycle_id=group.cycle_id,
            instance_id=entry["instance_id"],
            task_id=task.id,
            payload={
                "group": group.id,
                "subject": person.email,
                "before": before,
                "after": after,
                "manager_rating": entry["manager"],
                "reason_code": change["reason_code"],
                "comment": change["comment"],
            },
        )
    session.flush()


def instance_settings(session: Session, group: CalibrationGroup) -> dict[str, Any]:
    return calibration_view.group_settings(session, group)


def on_calibrated(session: Session, *, instance: Instance, payload: dict[str, Any], actor: str) -> None:
    """The committee agreed (the diagram threw `calibrated`): lock the group and hand back results after commit."""
    group = session.scalar(select(CalibrationGroup).where(CalibrationGroup.instance_id == instance.id))
    if group is None:
        raise Conflict("The message 'calibrated' was thrown by an instance that is no calibration session.")
    group.status, group.locked_at = "locked", clock.now()
    rated = calibration_view.ratings(session, group)
    audit.record(
        session,
        actor=actor,
        action="calibration.locked",
        cycle_id=group.cycle_id,
        instance_id=instance.id,
        payload={
            "group": group.id,
            "changed": sum(1 for r in rated.values() if r["changes"]),
            "members": len(group.members),
        },
    )
    jobs.enqueue(session, "deliver_calibration", group_id=group.id)


# --- handing results back ------------------------------------------------------------------------------------


def result_for(session: Session, group: CalibrationGroup, entry: dict[str, Any], email: str) -> dict[str, Any]:
    last = entry["changes"][-1] if entry["changes"] else None
    return {
        "subject_email": email,
        "group": group.name,
        "manager_overall": entry["manager"],
        "calibrated_overall": entry["current"],
        "changed": entry["current"] != entry["manager"],
        "reason_code": last["reason_code"] if last else None,
    }


@jobs.job
def deliver_calibration(session: Session, *, group_id: int) -> dict[str, Any]:
    """Send each member's review the calibrated result (idempotent: only reviews waiting for it receive it)."""
    group = get_group(session, group_id)
    if group.status != "locked":
        return {"delivered": 0, "waiting": 0, "failed": []}
    rated = calibration_view.ratings(session, group)
    emails = dict(session.execute(select(Person.id, Person.email).where(Person.id.in_(group.members))).all())
    delivered, not_waiting, failed = 0, 0, []
    for pid, entry in sorted(rated.items()):
        result = result_for(session, group, entry, emails[pid])
        variables = {"final_overall": entry["current"]} if result["changed"] else None
        try:
            ok = messages.deliver(
                session, instance_id=entry["instance_id"], message=MESSAGE, payload=result, actor=SYSTEM,
                variables=variables,
            )
        except ReviewflowError as exc:
            failed.append({"subject": emails[pid], "problem": exc.detail})
            log.warning("calibration result for %s not delivered: %s", emails[pid], exc.detail)
            continue
        delivered, not_waiting = delivered + ok, not_waiting + (not ok)
    return {"delivered": delivered, "not_waiting": not_waiting, "failed": failed}


@jobs.job
def calibration_progress(session: Session, *, cycle_id: int) -> None:
    """After a manager review: open groups whose reviews are all in; hand back results to reviews that reached the
    calibration wait after their group was locked."""
    for group in groups_of(session, cycle_id):
        if group.status == "waiting" and _all_rated(session, group):
            try:
                _open_now(session, group_id=group.id)
            except ReviewflowError as exc:
                log.warning("calibration group %s not opened: %s", group.id, exc.detail)
        elif group.status == "locked":
            deliver_calibration(session, group_id=group.id)


@transactional
def _open_now(session: Session, *, group_id: int) -> None:
    group = get_group(session, group_id)
    if group.status == "waiting":
        _open(session, group, actor=SYSTEM, reason="all manager reviews are in")


# --- what calibration adds to the kernel and to reviews (engine/process/hooks.py) -------------------------------


@hooks.message_handler(MESSAGE)
def _committee_agreed(session: Session, *, instance: Instance, payload: dict[str, Any], actor: str) -> None:
    if instance.kind != "calibration":
        raise WorkflowFailed(f"The diagram sent the message '{MESSAGE}', but nothing in Reviewflow receives it.")
    on_calibrated(session, instance=instance, payload=payload, actor=actor)


@hooks.record_projector("calibration")
def _session_round(
    session: Session, *, instance: Instance, task: Task, schema: dict[str, Any], data: dict[str, Any], actor: str,
    **_: Any,
) -> None:
    record_changes(session, instance=instance, task=task, schema=schema, data=data, actor=actor)


@hooks.record_projector("manager_ratings")
def _manager_rated(session: Session, *, instance: Instance, task_data: dict[str, Any], **_: Any) -> None:
    """A manager review is in: a group waiting for its last rating may open (after commit, as a job)."""
    if (task_data.get("settings") or {}).get("calibration") and instance.cycle_id is not None:
        jobs.enqueue(session, calibration_progress.__name__, cycle_id=instance.cycle_id)


UNGROUPED_NOTE = "in no calibration group: the review will wait after the manager's rating until a group includes them"


@hooks.preflight_note("calibration")
def _preflight(session: Session, *, cycle: Cycle, people: list[Person]) -> dict[str, Any] | None:
    """With calibration on: how many groups there are, and who is in none (their review would wait)."""
    if not (cycle.settings or {}).get("calibration"):
        return None
    left_out = set(ungrouped(session, cycle))
    return {
        "summary": {"groups": len(groups_of(session, cycle.id)), "ungrouped": sorted(left_out)},
        "warnings": {p.email: [UNGROUPED_NOTE] for p in people if p.email in left_out},
    }
