"""Move the running reviews of a cycle to another version of its diagram (e.g. one with a fixed gateway), and back.

A preview names, per instance, whether it can move and why not ("waiting in task X which version 2 removed");
applying it moves those that can, in chunks on the job layer, each instance one step of the core transaction: the
step swaps the workflow (`Change.replace`), re-forms the open tasks with the new version's forms, keeps the previous
state in `instance_migration` and audits `instance.migrated` with from/to version. A move is revertible while
nothing has happened in the review since (its task states are still those right after the move)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, jobs
from engine.bpmn import migration, spiff
from engine.core import clock
from engine.core.errors import Conflict, CycleSettingsBroken, NotFound, WorkflowFailed
from engine.core.settings import get_settings
from engine.jobs import incidents
from engine.process import definitions, kernel, refusals
from engine.process.kernel import Change
from engine.review.cycles import get_cycle
from engine.store.models import Cycle, Definition, Instance, InstanceMigration, Task
from engine.store.transaction import transact

FINISHED = ("completed", "cancelled")
JOB = "migrate_instances"


def target(session: Session, cycle: Cycle, to_version: int) -> Definition:
    """The version `to_version` of the cycle's diagram."""
    current = session.get(Definition, cycle.definition_id)
    assert current is not None
    return definitions.get(session, current.key, to_version)


def cycle_instances(session: Session, cycle: Cycle, key: str) -> list[Instance]:
    rows = session.scalars(
        select(Instance)
        .join(Definition, Instance.definition_id == Definition.id)
        .where(Instance.cycle_id == cycle.id, Definition.key == key)
        .order_by(Instance.id)
    )
    return list(rows)


def _version(session: Session, definition_id: int) -> int:
    found = session.get(Definition, definition_id)
    return found.version if found is not None else 0


def preview(session: Session, instance: Instance, to: Definition) -> dict[str, Any]:
    """Whether one instance can move to `to`, why not, and what the new version changes for it (nothing is saved)."""
    out: dict[str, Any] = {
        "instance_id": instance.id,
        "subject": instance.subject.email if instance.subject else None,
        "status": instance.status,
        "from_version": _version(session, instance.definition_id),
        "already": instance.definition_id == to.id,
        "can_migrate": False,
        "reasons": [],
        "removed": [],
        "changed": [],
        "added": [],
    }
    if out["already"]:
        out["reasons"] = [f"already on version {to.version}"]
        return out
    if instance.status in FINISHED:
        out["reasons"] = [f"the review is {instance.status}"]
        return out
    wf = kernel.load(session, instance.state, instance.definition_id)
    found = migration.plan(wf, definitions.spec_of(session, to), version=to.version)
    out.update(
        can_migrate=found.can_migrate,
        reasons=found.reasons,
        removed=found.removed,
        changed=found.changed,
        added=found.added,
    )
    return out


def migrate_cycle(session: Session, *, actor: str, cycle_id: int, to_version: int, dry_run: bool) -> dict[str, Any]:
    """Preview (dry run) or start moving the cycle's instances to `to_version`. Applying queues the instances that
    can move in chunks (one job each) and makes `to_version` the cycle's diagram for people added later; running it
    again moves only what has not moved yet."""

    def work() -> dict[str, Any]:
        cycle = get_cycle(session, cycle_id)
        to = target(session, cycle, to_version)
        items = [preview(session, i, to) for i in cycle_instances(session, cycle, to.key)]
        movable = [i["instance_id"] for i in items if i["can_migrate"]]
        report = {
            "cycle_id": cycle.id,
            "to_version": to.version,
            "dry_run": dry_run,
            "instances": items,
            "summary": {
                "instances": len(items),
                "can_migrate": len(movable),
                "already": sum(1 for i in items if i["already"]),
                "cannot": sum(1 for i in items if not i["can_migrate"] and not i["already"]),
            },
            "queued": 0 if dry_run else len(movable),
        }
        if dry_run:
            return report
        size = max(1, get_settings().launch_chunk_size)
        for start in range(0, len(movable), size):
            jobs.enqueue(session, JOB, instance_ids=movable[start : start + size], definition_id=to.id, actor=actor)
        previous = cycle.definition_id
        if movable or previous != to.id:
            cycle.definition_id = to.id
            audit.record(
                session,
                actor=actor,
                action="cycle.migration_started",
                cycle_id=cycle.id,
                payload={
                    "from": _version_ref(session, previous),
                    "to": _version_ref(session, to.id),
                    "instances": movable,
                    "cannot": {str(i["instance_id"]): i["reasons"] for i in items if not i["can_migrate"]},
                },
            )
        return report

    return transact(session, work)


def _reform(session: Session, instance: Instance, wf: Any) -> None:
    """Open tasks take the form, title, instructions and prefill of the version the instance now runs on (drafts,
    assignees and due dates stay); the projection then opens and closes tasks as the workflow says."""
    ready = {rt.spiff_id: rt for rt in spiff.ready_tasks(wf)}
    hidden = set(definitions.confidential(session, instance.definition_id)) | definitions.private_fields(
        session, instance.definition_id
    )
    for row in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open")):
        rt = ready.get(row.spiff_id)
        if rt is None:
            continue
        schema = definitions.form_file(session, instance.definition_id, rt.form) or {}
        fields = (schema.get("properties") or {}).keys()
        visible = {k: v for k, v in rt.data.items() if k not in hidden}
        row.form, row.ui_form, row.title = rt.form, rt.ui_form, rt.title
        row.instructions = kernel.instructions(session, instance, rt, visible)  # as when a task opens
        row.prefill = {k: visible[k] for k in fields if k in visible}


def _version_ref(session: Session, definition_id: int) -> dict[str, Any]:
    found = session.get(Definition, definition_id)
    return {"key": found.key if found else None, "version": found.version if found else None}


def migrate_instance(session: Session, instance_id: int, definition_id: int, *, actor: str) -> bool:
    """Move one instance to definition `definition_id` (one step of the core transaction); False when it is already
    there, finished, or can no longer move."""

    def step(change: Change) -> bool:
        instance = change.instance
        if instance.definition_id == definition_id or instance.status in FINISHED:
            change.nothing()
            return False
        to = session.get(Definition, definition_id)
        if to is None:
            raise NotFound(
                f"No definition with id {definition_id}.", detail_zh=f"没有编号为 {definition_id} 的流程定义。"
            )
        new = definitions.spec_of(session, to)
        wf = change.wf
        found = migration.plan(wf, new, version=to.version)
        if not found.can_migrate:
            change.nothing()
            return False
        previous_state, previous_definition = instance.state, instance.definition_id
        migration.migrate(wf, new, definition_id=to.id)
        change.replace(wf, to.id)
        _reform(session, instance, wf)
        session.add(
            InstanceMigration(
                instance_id=instance.id,
                from_definition_id=previous_definition,
                to_definition_id=to.id,
                previous_state=previous_state,
                snapshot_after=_snapshot(wf),
                status="applied",
                actor=actor,
            )
        )
        change.event(
            "instance.migrated",
            {
                "from": _version_ref(session, previous_definition),
                "to": _version_ref(session, to.id),
                "removed": found.removed,
                "changed": found.changed,
                "added": found.added,
            },
        )
        return True

    return kernel.advance(session, instance_id, step, actor=actor)


def _snapshot(wf: Any) -> dict[str, Any]:
    return {k: list(v) for k, v in spiff.snapshot(wf).items()}


@jobs.job
def migrate_instances(session: Session, *, instance_ids: list[int], definition_id: int, actor: str) -> None:
    """One chunk of a cycle's migration: each instance in its own transaction; an instance whose step fails in the
    engine becomes an incident naming it, and the chunk goes on."""
    for instance_id in instance_ids:
        try:
            migrate_instance(session, instance_id, definition_id, actor=actor)
        except (WorkflowFailed, CycleSettingsBroken) as exc:
            session.rollback()
            failure = exc

            def record(failure: WorkflowFailed | CycleSettingsBroken = failure, iid: int = instance_id) -> None:
                incidents.record(
                    session,
                    job="migrate_instance",
                    args={"instance_id": iid, "definition_id": definition_id},
                    error=f"Moving instance {iid} to another version failed: {failure.detail}",
                    actor=actor,
                )

            transact(session, record)


def _last(session: Session, instance_id: int) -> InstanceMigration | None:
    return session.scalar(
        select(InstanceMigration)
        .where(InstanceMigration.instance_id == instance_id)
        .order_by(InstanceMigration.id.desc())
        .limit(1)
    )


def last_move(session: Session, instance_id: int) -> dict[str, Any] | None:
    """The instance's last move to another version while it still runs on it (None otherwise): the versions, who
    moved it and when, and whether it can still be reverted (nothing has happened in the review since)."""
    last = _last(session, instance_id)
    instance = session.get(Instance, instance_id)
    if last is None or instance is None or last.status != "applied" or instance.definition_id != last.to_definition_id:
        return None
    wf = kernel.load(session, instance.state, instance.definition_id)
    return {
        "from_version": _version(session, last.from_definition_id),
        "to_version": _version(session, last.to_definition_id),
        "actor": last.actor,
        "at": last.created_at,
        "revertible": _snapshot(wf) == last.snapshot_after,
    }


def revert(session: Session, *, actor: str, instance_id: int, dry_run: bool = False) -> dict[str, Any]:
    """Put an instance back on the version and state it had before its last migration, while nothing has happened
    since. Again after a revert: nothing to do (the same answer). `dry_run`: the same checks, nothing kept."""
    if session.get(Instance, instance_id) is None:
        raise refusals.instance_not_found(instance_id)

    def step(change: Change) -> dict[str, Any]:
        instance = change.instance
        last = _last(session, instance.id)
        if last is None:
            raise Conflict(
                f"Instance {instance.id} was never moved to another version: there is nothing to revert.",
                detail_zh=f"评估 {instance.id} 从未迁移到其他版本，没有可撤销的迁移。",
            )
        result = {
            "instance_id": instance.id,
            "reverted": True,
            "from_version": _version(session, last.to_definition_id),
            "to_version": _version(session, last.from_definition_id),
            "already": last.status == "reverted",
        }
        if last.status == "reverted":
            change.nothing()
            return result
        if instance.definition_id != last.to_definition_id or _snapshot(change.wf) != last.snapshot_after:
            raise Conflict(
                f"Instance {instance.id} has moved on since it was migrated to version {result['from_version']} "
                "(a task was completed, opened or reset): it can no longer be reverted.",
                detail_zh=f"评估 {instance.id} 迁移到版本 {result['from_version']} 之后已有新的进展"
                "（有任务被完成、打开或重置），因此无法再撤销迁移。",
            )
        old = kernel.load(session, last.previous_state, last.from_definition_id)
        change.replace(old, last.from_definition_id)
        _reform(session, instance, old)
        last.status, last.reverted_at = "reverted", clock.now()
        change.event(
            "instance.migration_reverted",
            {
                "from": _version_ref(session, last.to_definition_id),
                "to": _version_ref(session, last.from_definition_id),
            },
        )
        return result

    return kernel.advance(session, instance_id, step, actor=actor, dry_run=dry_run)
