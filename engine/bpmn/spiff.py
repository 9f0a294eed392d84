"""The one module that imports SpiffWorkflow. It configures the three extension points — parser (XSD-validated,
hardened XML), script engine (restricted, re-installed after every load) and serializer (the spec is kept out of
instance state and restored from an in-process cache keyed by definition id) — and offers the small set of
operations the rest of Reviewflow needs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import bpmn_check, dmn_check, sandbox
from engine.core import clock
from engine.core.errors import Conflict, DefinitionInvalid, WorkflowFailed, status_zh
from engine.core.settings import get_settings

# ---------------------------------------------------------------------------------------------- scripts


class RestrictedEnvironment(TaskDataEnvironment):  # type: ignore[misc]  # SpiffWorkflow has no types
    """Runs every script, condition and expression through `engine.sandbox`."""

    def __init__(self, budget: float | None = None) -> None:
        super().__init__({})
        self._budget = budget

    @property
    def budget(self) -> float:
        """Seconds each script or expression may run (`REVIEWFLOW_SCRIPT_TIME_BUDGET_S` unless set here)."""
        if self._budget is not None:
            return self._budget
        return get_settings().script_time_budget_s

    @budget.setter
    def budget(self, seconds: float | None) -> None:
        self._budget = seconds

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        g = sandbox.base_globals()
        g.update(external_context or {})
        g.update(context)
        return sandbox.run_eval(expression, g, budget=self.budget)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        g = sandbox.base_globals()
        g.update(external_context or {})
        g.update(context)
        sandbox.run_exec(script, g, budget=self.budget)
        skip = sandbox.GUARD_NAMES | set(external_context or {})
        result = {k: v for k, v in g.items() if k not in skip and not k.startswith("_") and not callable(v)}
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are not supported; use a user task or a job")


SCRIPT_ENGINE = PythonScriptEngine(environment=RestrictedEnvironment())


def set_script_budget(seconds: float | None) -> None:
    """Override the budget of every script and expression (None: back to the setting)."""
    SCRIPT_ENGINE.environment.budget = seconds


# ---------------------------------------------------------------------------------------------- spec cache

class Spec(NamedTuple):
    """A parsed definition version: its top-level process spec and the specs of the processes it calls."""

    spec: Any
    subprocess_specs: dict[str, Any]


_SPECS: dict[str, Spec] = {}  # parsed specs by the definition's digest (a definition version never changes)
_SPECS_LOCK = threading.Lock()
_LOADING: ContextVar[Spec | None] = ContextVar("reviewflow_loading_spec", default=None)


def cached_spec(digest: str, load_files: Callable[[], list[tuple[str, str]]]) -> Spec:
    """The parsed spec of the definition version whose files have `digest`, parsed once per process."""
    found = _SPECS.get(digest)
    if found is None:
        parsed = parse_files([(n, c.encode()) for n, c in load_files()], check=False)
        found = Spec(parsed.spec, parsed.subprocess_specs)
        with _SPECS_LOCK:
            _SPECS[digest] = found
    return found


def forget_specs() -> None:
    with _SPECS_LOCK:
        _SPECS.clear()


# ---------------------------------------------------------------------------------------------- parsing


@dataclass
class UserTaskSpec:
    name: str
    title: str
    lane: str | None
    form: str | None
    process: str


@dataclass
class Parsed:
    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: list[UserTaskSpec] = field(default_factory=list)
    has_scripts: bool = False
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lanes(self) -> list[str]:
        return sorted({t.lane for t in self.user_tasks if t.lane})


def _problem(file: str | None, element: str | None, line: int | None, message: str) -> dict[str, Any]:
    return {"file": file, "element": element, "line": line, "message": message}


def parse_files(files: list[tuple[str, bytes]], *, check: bool = True) -> Parsed:
    """Parse BPMN and DMN files into the executable spec of their one top-level process.

    With `check`, also run the structural and script checks; every problem is collected and raised together as
    `DefinitionInvalid` with file, element and line where known.
    """
    problems: list[dict[str, Any]] = []
    bpmn_trees: list[tuple[str, Any]] = []
    dmn_trees: list[tuple[str, Any]] = []
    for name, data in files:
        lower = name.lower()
        if not (lower.endswith(".bpmn") or lower.endswith(".dmn") or lower.endswith(".bpmn20.xml")):
            continue
        try:
            tree = bpmn_check.parse_xml(name, data)
        except DefinitionInvalid as exc:
            problems.extend(exc.errors or [_problem(name, None, None, exc.detail)])
            continue
        (dmn_trees if lower.endswith(".dmn") else bpmn_trees).append((name, tree))
    if not bpmn_trees and not problems:
        problems.append(_problem(None, None, None, "No BPMN file was uploaded (expected at least one .bpmn file)."))
    has_scripts = False
    if check:
        for name, tree in [*bpmn_trees, *dmn_trees]:
            problems.extend(bpmn_check.check_content(name, tree))
        for name, tree in bpmn_trees:
            problems.extend(bpmn_check.check_structure(name, tree))
            has_scripts = has_scripts or bpmn_check.has_script_tasks(tree)
            for element, kind, source, line in bpmn_check.script_sources(tree):
                mode = "exec" if kind == "script" else "eval"
                for reason in sandbox.check(source.strip() if mode == "eval" else source, mode=mode):
                    problems.append(_problem(name, element, line, f"Refused {kind}: {reason}."))
        for name, tree in dmn_trees:
            problems.extend(dmn_check.problems(name, tree))
    if problems:
        raise DefinitionInvalid(problems_summary(problems), errors=problems)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for name, tree in bpmn_trees:
            parser.add_bpmn_xml(tree, filename=name)
        for name, tree in dmn_trees:
            parser.add_dmn_xml(tree, filename=name)
    except ValidationException as exc:
        raise _validation_error(exc) from None

    key = _top_level_process(parser, bpmn_trees)
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise _validation_error(exc) from None
    except Exception as exc:  # the parser raises plain errors for some broken references
        raise DefinitionInvalid(str(exc), errors=[_problem(None, None, None, str(exc))]) from None
    for process_spec in [spec, *subprocess_specs.values()]:
        _wire_loops(process_spec)
    parsed = Parsed(
        key=key, name=spec.description or key, spec=spec, subprocess_specs=subprocess_specs, has_scripts=has_scripts
    )
    for process_name, process_spec in [(key, spec), *subprocess_specs.items()]:
        for ts in process_spec.task_specs.values():
            if getattr(ts, "manual", False) and getattr(ts, "bpmn_id", None):
                props = (getattr(ts, "extensions", None) or {}).get("properties", {})
                parsed.user_tasks.append(
                    UserTaskSpec(
                        ts.bpmn_id,
                        ts.bpmn_name or ts.bpmn_id,
                        ts.lane,
                        props.get("formJsonSchemaFilename"),
                        process_name,
                    )
                )
    return parsed


def _wire_loops(process_spec: Any) -> None:
    """Connect each multi-instance/loop task to its child's completion, as SpiffWorkflow's own deserialiser does.

    The parser leaves this wiring to the first child the workflow creates (`create_child` connects `merge_child` on
    the shared spec object). A freshly parsed spec in another process, or after a restart, has no children yet, so
    answers completed there were never merged into the output collection. Wiring every spec when it is parsed makes
    a spec parsed anywhere behave the same as the one the multi-instance started on."""
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = process_spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def unwired_loops(wf: BpmnWorkflow) -> list[str]:
    """Element ids of multi-instance/loop tasks whose answers would not be collected by this process's spec."""
    found = []
    for process_spec in [wf.spec, *wf.subprocess_specs.values()]:
        for task_spec in process_spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = process_spec.task_specs.get(task_spec.task_spec)
                if child is None or not child.completed_event.is_connected(task_spec.merge_child):
                    found.append(task_spec.bpmn_id or task_spec.name)
    return found


def problems_summary(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    where = ", ".join(str(x) for x in (first.get("file"), first.get("element")) if x)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"The diagram was refused: {first['message']}" + (f" [{where}]" if where else "") + more


def _validation_error(exc: ValidationException) -> DefinitionInvalid:
    message = str(exc.args[0]) if exc.args else str(exc)
    line = exc.line_number if isinstance(exc.line_number, int) else None
    problem = _problem(exc.file_name or None, exc.id or None, line, message)
    return DefinitionInvalid(problems_summary([problem]), errors=[problem])


def _top_level_process(parser: SpiffBpmnParser, trees: list[tuple[str, Any]]) -> str:
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    executable: list[str] = []
    called: set[str | None] = set()
    for _name, tree in trees:
        for proc in tree.iterfind(".//bpmn:process", ns):
            if proc.get("isExecutable", "false").lower() == "true":
                executable.append(proc.get("id"))
        called |= {c.get("calledElement") for c in tree.iterfind(".//bpmn:callActivity", ns)}
    top = [p for p in executable if p not in called]
    if len(top) == 1:
        return top[0]
    if not top:
        msg = 'No executable top-level process: mark the main process isExecutable="true".'
    else:
        msg = (
            f"Several top-level processes ({', '.join(top)}): deploy them one at a time, "
            "or call the others from one main process with call activities."
        )
    raise DefinitionInvalid(msg, errors=[_problem(trees[0][0] if trees else None, None, None, msg)])


# ---------------------------------------------------------------------------------------------- serializer


class _CachedSpecConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow has no types
    """Stores `spec_key` (the definition id) instead of the whole spec in every instance's state."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["spec_key"] = workflow.spec_key
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        given = _LOADING.get()
        if given is None:
            raise RuntimeError("spiff.load needs the workflow's spec")
        spec, subprocess_specs = given
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.spec_key = dct["spec_key"]
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = copy(SPIFF_CONFIG)
_config[BpmnWorkflow] = _CachedSpecConverter
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


# ---------------------------------------------------------------------------------------------- running


@dataclass
class ReadyTask:
    """A READY manual task as the rest of Reviewflow sees it."""

    spiff_id: str
    name: str
    title: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    data: dict[str, Any]
    item: Any = None  # the multi-instance element (e.g. the peer), when the task is one of many


def new_workflow(definition_id: int, spec: Spec | tuple[Any, dict[str, Any]], data: dict[str, Any]) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec[0], spec[1], script_engine=SCRIPT_ENGINE)
    wf.spec_key = definition_id
    wf.task_tree.data.update(data)
    return wf


def load(state: str, spec: Spec | tuple[Any, dict[str, Any]]) -> BpmnWorkflow:
    """Restore a workflow with its spec, passed in (the state holds only the definition id, not the spec)."""
    token = _LOADING.set(Spec(*spec))
    try:
        wf = SERIALIZER.deserialize_json(state)
    finally:
        _LOADING.reset(token)
    wf.script_engine = SCRIPT_ENGINE  # deserialising silently installs an unrestricted default engine
    return wf


def dump(wf: BpmnWorkflow) -> str:
    state: str = SERIALIZER.serialize_json(wf)
    return state


def run_engine(wf: BpmnWorkflow) -> None:
    """Run scripts, gateways and timers until the workflow waits for people or ends."""
    try:
        wf.do_engine_steps()
    except SpiffWorkflowException as exc:
        raise _failed(exc) from None
    except sandbox.ScriptStopped as exc:
        error = {"element": None, "message": str(exc), "error_type": type(exc).__name__}
        raise WorkflowFailed(str(exc), errors=[error]) from None


def _failed(exc: SpiffWorkflowException) -> WorkflowFailed:
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    cause = exc.__context__  # SpiffWorkflow wraps an expression's error without its text ("Error evaluating ...")
    if isinstance(cause, sandbox.ScriptStopped):
        message = message.removeprefix(f"{type(cause).__name__}:")  # a script's: "ScriptTimeout:the code ran ..."
        if str(cause) not in message:
            message += f": {cause}"
    notes = " ".join(getattr(exc, "notes", []) or [])
    detail = f"Step '{element}' failed: {message}" + (f" ({notes})" if notes else "")
    return WorkflowFailed(
        detail,
        errors=[{"element": element, "message": message, "error_type": getattr(exc, "error_type", type(exc).__name__)}],
    )


def stopped(exc: BaseException) -> bool:
    """Whether a failure is the sandbox stopping author code (over its time, size or memory limit)."""
    if isinstance(exc, sandbox.ScriptStopped):
        return True
    kinds = {"ScriptTimeout", "ScriptLimit", "ScriptStopped"}
    return isinstance(exc, WorkflowFailed) and any(e.get("error_type") in kinds for e in exc.errors)


def ready_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    result = []
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        ts = task.task_spec
        ext = getattr(ts, "extensions", None) or {}
        props = ext.get("properties", {})
        parent_spec = task.parent.task_spec if task.parent is not None else None
        item_var = getattr(getattr(parent_spec, "input_item", None), "bpmn_id", None)
        result.append(
            ReadyTask(
                spiff_id=str(task.id),
                name=ts.bpmn_id or ts.name,
                title=ts.bpmn_name or ts.bpmn_id or ts.name,
                lane=ts.lane,
                form=props.get("formJsonSchemaFilename"),
                ui_form=props.get("formUiSchemaFilename"),
                instructions=ext.get("instructionsForEndUser"),
                data=task.data,
                item=task.data.get(item_var) if item_var else None,
            )
        )
    return result


def _gone() -> Conflict:
    return Conflict(
        "This task is no longer part of the workflow.",
        detail_zh="此任务已不在流程中（流程可能已经继续或被更改）。",
    )


def complete(wf: BpmnWorkflow, spiff_id: str, data: dict[str, Any]) -> None:
    """Complete one READY manual task with form data, then run the engine on."""
    task = wf.get_task_from_id(UUID(spiff_id))
    if task is None or not task.task_spec.manual:
        raise _gone()
    if task.state != TaskState.READY:
        state = TaskState.get_name(task.state).lower()
        raise Conflict(
            f"This task cannot be completed now (it is {state}).",
            detail_zh=f"此任务现在还不能完成（它在流程中的状态是“{status_zh(state)}”），请稍后再试或联系 HR。",
        )
    parent_spec = task.parent.task_spec if task.parent is not None else None
    out_var = getattr(getattr(parent_spec, "output_item", None), "bpmn_id", None)
    task.set_data(**data)
    if out_var and out_var not in data:
        task.data[out_var] = dict(data)  # a multi-instance child's answer becomes its output item
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise _failed(exc) from None
    run_engine(wf)


def is_completed(wf: BpmnWorkflow) -> bool:
    return bool(wf.is_completed())


_SKIP_STATES = {TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE}


def snapshot(wf: BpmnWorkflow) -> dict[str, tuple[str, str]]:
    """{task id: (state name, BPMN element id)} of the diagram's own elements, for the audit diff."""
    result = {}
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and task.state not in _SKIP_STATES:
            result[str(task.id)] = (TaskState.get_name(task.state), bpmn_id)
    return result


def transitions(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Task state changes between two snapshots, in a stable order."""
    changes = []
    for tid, (state, element) in after.items():
        old = before.get(tid)
        if old is None or old[0] != state:
            changes.append({"element": element, "task": tid, "from": old[0] if old else None, "to": state})
    return changes


class _EngineClockDatetime(datetime):
    """SpiffWorkflow reads `datetime.now()` for timers; this makes it read `engine.clock`, so tests move time."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        value = clock.now()
        return value.astimezone(tz) if tz is not None else value.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _EngineClockDatetime


def fire_timers(wf: BpmnWorkflow) -> None:
    """Fire the timers whose time has come (by `engine.clock`) and run the engine on."""
    try:
        wf.refresh_timers()
    except SpiffWorkflowException as exc:
        raise _failed(exc) from None
    run_engine(wf)


def waiting_timers(wf: BpmnWorkflow) -> list[tuple[str, str, datetime | None]]:
    """(task id, element id, due time) of every timer the workflow is waiting on."""
    result = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        ed = getattr(task.task_spec, "event_definition", None)
        if ed is None or not hasattr(ed, "details") or "Timer" not in type(ed).__name__:
            continue
        value = ed.details(task).value
        due = datetime.fromisoformat(value) if isinstance(value, str) else None
        result.append((str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due))
    return result


def confidential_collections(
    spec: tuple[Any, dict[str, Any]], per_item_lanes: Callable[[str | None], str | None]
) -> dict[str, str]:
    """{variable: perspective} for multi-instance user tasks whose lane `per_item_lanes` maps to a perspective
    (e.g. Peer → "peer"): their output collections and items hold rater answers."""
    found: dict[str, str] = {}
    for process_spec in [spec[0], *spec[1].values()]:
        for ts in process_spec.task_specs.values():
            output = getattr(ts, "data_output", None)
            child = process_spec.task_specs.get(getattr(ts, "task_spec", None) or f"{ts.name} [child]")
            lane = getattr(ts, "lane", None) or getattr(child, "lane", None)
            perspective = per_item_lanes(lane) if output is not None else None
            if perspective and output is not None:
                found[output.bpmn_id] = perspective
                item = getattr(ts, "output_item", None)
                if item is not None:
                    found[item.bpmn_id] = perspective
    return found


def task_data(wf: BpmnWorkflow, spiff_id: str) -> dict[str, Any]:
    task = wf.get_task_from_id(UUID(spiff_id))
    return dict(task.data) if task is not None else {}


def inject(wf: BpmnWorkflow, values: dict[str, Any]) -> None:
    """Set engine-computed variables (e.g. `final_score`) on every task still to run, so the path ahead sees them."""
    for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        task.data.update(values)
        if task.parent is not None:  # a waiting task re-inherits its parent's data when it becomes ready
            task.parent.data.update(values)


def _waiting_on(wf: BpmnWorkflow, message: str) -> list[Any]:
    out = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        ed = getattr(task.task_spec, "event_definition", None)
        if ed is not None and getattr(ed, "name", None) == message and "Message" in type(ed).__name__:
            out.append(ed)
    return out


def waiting_for(wf: BpmnWorkflow, message: str) -> bool:
    return bool(_waiting_on(wf, message))


def deliver(wf: BpmnWorkflow, message: str, payload: dict[str, Any]) -> bool:
    """Deliver a BPMN message to a workflow waiting for it and run on; False when nothing was waiting.

    The message's correlation properties are computed from the payload, so a catch event with a process-variable
    correlation (e.g. the subject's email) refuses a message meant for somebody else (Conflict)."""
    waiting = _waiting_on(wf, message)
    if not waiting:
        return False
    ed = waiting[0]
    try:
        correlations = ed.calculate_correlations(wf.script_engine, ed.correlation_properties, payload)
    except SpiffWorkflowException as exc:
        raise _failed(exc) from None
    try:
        wf.send_event(BpmnEvent(MessageEventDefinition(message), payload, correlations))
    except SpiffWorkflowException:
        raise Conflict(
            f"The message '{message}' does not belong to this workflow: its correlation does not match.",
            detail_zh=f"消息“{message}”不属于此流程：其关联信息不匹配。",
        ) from None
    run_engine(wf)
    return True


def thrown_messages(wf: BpmnWorkflow) -> list[tuple[str, dict[str, Any]]]:
    """(name, payload) of messages the workflow threw that nothing inside it caught, for the engine to route."""
    out = []
    for event in wf.get_events():
        name = getattr(event.event_definition, "name", None)
        if "Message" in type(event.event_definition).__name__ and isinstance(name, str):
            out.append((name, event.payload if isinstance(event.payload, dict) else {"value": event.payload}))
    return out


# ---------------------------------------------------------------------------------------------- live changes


def reset(wf: BpmnWorkflow, spiff_id: str) -> list[str]:
    """Move the token back to a completed manual task (SpiffWorkflow's `reset_from_task_id`): it is READY again
    with the data it saw before it was answered, and every task after it is dropped (a call activity it sits in is
    reset from inside). Returns the ids of the dropped tasks that had completed, so their records can be superseded."""
    task = wf.get_task_from_id(UUID(spiff_id))
    if task is None or not task.task_spec.manual:
        raise _gone()
    if task.state != TaskState.COMPLETED:
        state = TaskState.get_name(task.state).lower()
        raise Conflict(
            f"Only a completed task can be reopened (it is {state}).",
            detail_zh=f"只有已完成的任务才能重新打开（此任务在流程中的状态是“{status_zh(state)}”）。",
        )
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, LoopTask) and parent.state == TaskState.COMPLETED:
        raise Conflict(
            "This answer was one of several collected together and the collection has moved on; reopen the step "
            "that asked for them instead.",
            detail_zh="这份回答是一起收集的多份回答之一，而收集已经结束；请改为重新打开发起这次收集的步骤。",
        )
    try:
        dropped = wf.reset_from_task_id(task.id)
        dropped += _reset_joins_after(wf, task)
    except SpiffWorkflowException as exc:
        raise _failed(exc) from None
    done = [str(t.id) for t in dropped if t.state == TaskState.COMPLETED and t.task_spec.manual]
    _not_completed(wf, task)
    run_engine(wf)
    return done


def _not_completed(wf: BpmnWorkflow, task: Any) -> None:
    """A workflow remembers once it found itself completed (`Workflow.completed`, kept by the serializer), and
    `reset_from_task_id` does not clear it: a reset review would still read as completed. Clear it on the reset
    task's workflow and every workflow above it."""
    sub = task.workflow
    while sub is not None:
        sub.completed = False
        parent = wf.get_task_from_id(sub.parent_task_id) if sub.parent_task_id is not None else None
        sub = parent.workflow if parent is not None and parent.workflow is not sub else None
    wf.completed = False


def _reset_joins_after(wf: BpmnWorkflow, task: Any) -> list[Any]:
    """Reset inside one branch of a parallel split: the join the other branch went through already fired, so the
    steps after it stay completed in that branch's subtree (SpiffWorkflow drops them only when the reset branch
    reaches the join again). Reset that join too, at every level from the task up through the call activities it
    sits in: it waits for the reset branch again, and the steps after it are undone now."""
    dropped: list[Any] = []
    level = task
    while level is not None:
        sub = level.workflow
        ahead = _specs_after(level.task_spec)
        joins = [
            t
            for t in list(sub.tasks.values())
            if isinstance(t.task_spec, Join) and t.state == TaskState.COMPLETED and t.task_spec.name in ahead
            and not level.is_descendant_of(t)
        ]
        for join in joins:
            if join.id in sub.tasks:  # not dropped by an earlier join's reset
                dropped += wf.reset_from_task_id(join.id)
        parent_id = getattr(sub, "parent_task_id", None)
        level = wf.get_task_from_id(parent_id) if parent_id is not None else None
    return dropped


def _specs_after(spec: Any) -> set[str]:
    seen: set[str] = set()
    todo = list(spec.outputs)
    while todo:
        nxt = todo.pop()
        if nxt.name not in seen and nxt is not spec:
            seen.add(nxt.name)
            todo.extend(nxt.outputs)
    return seen


def received(wf: BpmnWorkflow, message: str) -> bool:
    """Whether the workflow has caught `message` (e.g. results_released) on the path it took."""
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        ed = getattr(task.task_spec, "event_definition", None)
        if ed is not None and getattr(ed, "name", None) == message and "Message" in type(ed).__name__:
            return True
    return False


def cancel(wf: BpmnWorkflow) -> None:
    """End the workflow without finishing it: every open task and timer is cancelled (subprocesses too)."""
    wf.cancel()


def is_cancelled(wf: BpmnWorkflow) -> bool:
    return bool(wf.is_completed()) and not wf.success
