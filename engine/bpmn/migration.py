"""Moving a running workflow to another version of its diagram, and re-running recorded answers against one.

Built on SpiffWorkflow 3.2's `SpiffWorkflow.bpmn.util.diff`: `diff_workflow` aligns the instance's tasks with the
new version's elements (by BPMN id, then by structure) and names what was removed, changed and added;
`migrate_workflow` swaps the spec and re-predicts the READY and WAITING branches. A workflow whose token waits in an
element the new version removed cannot move (it would have nowhere to be); everything else can."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.spiff import SERIALIZER, Spec, run_engine

_WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Plan:
    """Whether a workflow can move to a new version, why not, and what the new version changes for it."""

    can_migrate: bool
    reasons: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # element ids of this instance's tasks the new version dropped
    changed: list[str] = field(default_factory=list)  # element ids whose definition changed (a condition, a form)
    added: list[str] = field(default_factory=list)  # element ids only the new version has


def _element(spec: Any) -> str:
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _label(spec: Any) -> str:
    name = getattr(spec, "bpmn_name", None)
    element = _element(spec)
    return f"'{name}' ({element})" if name and name != element else f"'{element}'"


def _diffs(wf: Any, new: Spec) -> tuple[Any, dict[Any, Any]]:
    return diff_workflow(SERIALIZER.registry, wf, new.spec, new.subprocess_specs)  # type: ignore[no-any-return]


def plan(wf: Any, new: Spec, *, version: int) -> Plan:
    """Diff a loaded workflow against the spec of `version` (nothing is changed)."""
    if wf.is_completed():
        return Plan(False, ["the review is already complete"])
    top, subs = _diffs(wf, new)
    reasons: list[str] = []
    removed: set[str] = set()
    changed: set[str] = set()
    for diff in [top, *subs.values()]:
        if diff is None:
            continue
        for task in diff.removed:
            if not getattr(task.task_spec, "bpmn_id", None):
                continue
            removed.add(_element(task.task_spec))
            if task.state & _WAITING:
                reasons.append(f"waiting in task {_label(task.task_spec)} which version {version} removed")
        changed.update(_element(t.task_spec) for t in diff.changed if getattr(t.task_spec, "bpmn_id", None))
    for sp_id, diff in subs.items():
        if diff is None:
            sub = wf.subprocesses[sp_id]
            if not sub.is_completed():
                reasons.append(f"running the called process '{sub.spec.name}' which version {version} no longer has")
    known = {getattr(ts, "bpmn_id", None) for ts in wf.spec.task_specs.values()}
    for sp in wf.subprocess_specs.values():
        known |= {getattr(ts, "bpmn_id", None) for ts in sp.task_specs.values()}
    added = {
        str(ts.bpmn_id)
        for s in [new.spec, *new.subprocess_specs.values()]
        for ts in s.task_specs.values()
        if getattr(ts, "bpmn_id", None) and ts.bpmn_id not in known
    }
    return Plan(not reasons, sorted(set(reasons)), sorted(removed), sorted(changed - removed), sorted(added))


def migrate(wf: Any, new: Spec, *, definition_id: int) -> Any:
    """Move a loaded workflow onto the spec of definition `definition_id` in place and run the engine on (a READY
    or WAITING branch is re-predicted from the new version, e.g. a changed gateway ahead). Returns the workflow."""
    top, subs = _diffs(wf, new)
    migrate_workflow(top, wf, new.spec)
    for sp_id, diff in subs.items():
        sub = wf.subprocesses.get(sp_id)
        if diff is not None and sub is not None:
            migrate_workflow(diff, sub, new.subprocess_specs[sub.spec.name])
    wf.subprocess_specs = new.subprocess_specs
    wf.spec_key = definition_id
    run_engine(wf)
    return wf


def path(wf: Any) -> list[str]:
    """Element ids of the diagram's completed steps, in the order the workflow ran them (events, gateways, scripts
    and user tasks; one entry per multi-instance answer)."""
    out = []
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            out.append(str(bpmn_id))
    return out


def final_data(wf: Any) -> dict[str, Any]:
    """The data a completed workflow ended with (the last completed step's, if the workflow kept none)."""
    if wf.data:
        return dict(wf.data)
    done = wf.get_tasks(state=TaskState.COMPLETED)
    return dict(done[-1].data) if done else {}


def item_of(wf: Any, spiff_id: str) -> Any:
    """The multi-instance element (e.g. the peer) a task was created for, or None."""
    task = wf.get_task_from_id(UUID(spiff_id))
    if task is None or task.parent is None:
        return None
    item_var = getattr(getattr(task.parent.task_spec, "input_item", None), "bpmn_id", None)
    return task.data.get(item_var) if item_var else None


def engine_set(wf: Any, spiff_id: str, names: tuple[str, ...], submitted: dict[str, Any]) -> dict[str, Any]:
    """Of `names`, the variables Reviewflow itself set on the path right after a completed task (e.g. `final_score`
    computed by a review record): those the task holds and its parent did not, and its form did not submit."""
    task = wf.get_task_from_id(UUID(spiff_id))
    if task is None:
        return {}
    before = task.parent.data if task.parent is not None else {}
    return {
        k: task.data[k] for k in names if k in task.data and k not in submitted and task.data[k] != before.get(k)
    }


def start_data(wf: Any) -> dict[str, Any]:
    """The data the workflow was started with."""
    return dict(wf.task_tree.data)
