"""What-if replay: the recorded answers of a cycle's completed reviews, re-run against another version of the
diagram in memory — nothing is saved. Per review it tells whether the path (the completed steps in order), the final
score (`final_score`) or a branch (a step such as a PIP that one run took and the other did not) would differ.

The replay runs the other version's scripts, gateways and decision tables through the same restricted script
engine as a live review. The answers are each completed task's `submitted` form, in completion order, matched to
the replay's open tasks by element id (a 360 multi-instance answer also by its item, e.g. the peer). Values
Reviewflow itself set on the path (`final_score`/`final_overall` computed by a review record from the cycle's
settings) are set again after the same task: they come from the cycle, not from the diagram; a diagram that computes
the score itself overrides them as it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import migration, spiff
from engine.core.errors import WorkflowFailed
from engine.ops.migrate import cycle_instances, target
from engine.process import definitions, kernel
from engine.review.cycles import get_cycle
from engine.store.models import Definition, Instance, Task

ENGINE_SET = ("final_score", "final_overall")


@dataclass
class Answer:
    element: str
    item: Any
    data: dict[str, Any]
    engine_set: dict[str, Any]


def _answers(session: Session, instance: Instance, wf: Any) -> list[Answer]:
    rows = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "completed")
        .order_by(Task.completed_at, Task.id)
    )
    out = []
    for row in rows:
        data = dict(row.submitted or {})
        out.append(
            Answer(row.name, migration.item_of(wf, row.spiff_id), data,
                   migration.engine_set(wf, row.spiff_id, ENGINE_SET, data))
        )
    return out


def _rerun(start: dict[str, Any], answers: list[Answer], to: Definition, spec: spiff.Spec) -> tuple[Any, str | None]:
    """Run a new workflow of `to` with the recorded answers; the workflow and why it stopped early (None: it ran as
    far as the answers went and ended)."""
    wf = spiff.new_workflow(to.id, spec, start)
    pending = list(answers)
    try:
        spiff.run_engine(wf)
        while not spiff.is_completed(wf):
            ready = spiff.ready_tasks(wf)
            pick = next(
                ((n, rt) for n, a in enumerate(pending) for rt in ready
                 if a.element == rt.name and (a.item is None or a.item == rt.item)),
                None,
            )
            if pick is None:
                waiting = ", ".join(sorted({rt.name for rt in ready})) or "nothing a person does"
                return wf, f"version {to.version} waits in {waiting}, which has no recorded answer"
            n, rt = pick
            answer = pending.pop(n)
            spiff.complete(wf, rt.spiff_id, answer.data)
            if answer.engine_set:
                spiff.inject(wf, answer.engine_set)
    except WorkflowFailed as exc:
        return wf, exc.detail
    return wf, None


def replay_instance(session: Session, instance: Instance, to: Definition, spec: spiff.Spec) -> dict[str, Any]:
    original = kernel.load(session, instance.state, instance.definition_id)
    answers = _answers(session, instance, original)
    rerun, stopped = _rerun(migration.start_data(original), answers, to, spec)
    was, now = migration.path(original), migration.path(rerun)
    was_score = migration.final_data(original).get("final_score")
    now_score = migration.final_data(rerun).get("final_score")
    added = sorted(set(now) - set(was))
    missing = sorted(set(was) - set(now))
    from_definition = session.get(Definition, instance.definition_id)
    return {
        "instance_id": instance.id,
        "subject": instance.subject.email if instance.subject else None,
        "from_version": from_definition.version if from_definition else None,
        "path_differs": was != now,
        "score_differs": was_score != now_score,
        "branch_differs": bool(added or missing),
        "added_steps": added,
        "missing_steps": missing,
        "original": {"path": was, "final_score": was_score, "completed": True},
        "replay": {"path": now, "final_score": now_score, "completed": spiff.is_completed(rerun)},
        "stopped": stopped,
    }


def replay_cycle(session: Session, *, cycle_id: int, to_version: int) -> dict[str, Any]:
    """Replay every completed review of the cycle against `to_version` of its diagram; nothing is saved."""
    cycle = get_cycle(session, cycle_id)
    to = target(session, cycle, to_version)
    spec = definitions.spec_of(session, to)
    done = [i for i in cycle_instances(session, cycle, to.key) if i.status == "completed"]
    items = [replay_instance(session, i, to, spec) for i in done]
    return {
        "cycle_id": cycle.id,
        "to_version": to.version,
        "instances": items,
        "summary": {
            "instances": len(items),
            "path_differs": sum(1 for i in items if i["path_differs"]),
            "score_differs": sum(1 for i in items if i["score_differs"]),
            "branch_differs": sum(1 for i in items if i["branch_differs"]),
            "stopped": sum(1 for i in items if i["stopped"]),
            "unchanged": sum(
                1 for i in items if not (i["path_differs"] or i["score_differs"] or i["branch_differs"] or i["stopped"])
            ),
        },
    }
