"""Response shapes, for the OpenAPI document at /docs and as a check on what leaves the server."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PersonRef(Out):
    email: str
    name: str


class TaskSummary(Out):
    id: int
    name: str
    title: str
    lane: str | None
    status: str
    assignee: PersonRef | None
    candidates: list[PersonRef]
    subject: PersonRef | None
    cycle_id: int | None
    instance_id: int
    due_at: str | None
    created_at: str | None
    completed_at: str | None


class TaskList(Out):
    items: list[TaskSummary]


class TaskDetail(TaskSummary):
    instructions: str | None
    context: dict[str, Any]
    form: dict[str, Any]
    data: dict[str, Any]
    has_draft: bool
    submitted: dict[str, Any] | None
    can_complete: bool


class NextTask(Out):
    id: int
    name: str
    title: str
    lane: str | None
    status: str
    yours: bool


class Completed(Out):
    id: int
    status: str
    next: list[NextTask]


class Delegate(Out):
    email: str
    on_behalf_of: str
    until: str | None
    active: bool


class TaskAdmin(Out):
    """The answer of a task administration request (reassign, delegate, due date): the task's holders now."""

    id: int
    name: str
    status: str
    assignees: list[str]
    delegates: list[Delegate]
    due_at: str | None
    changed: bool  # false when the same request came again and nothing was done


class DefinitionRef(Out):
    key: str
    version: int


class InstanceDetail(Out):
    id: int
    status: str
    subject: PersonRef | None
    cycle_id: int | None
    definition: DefinitionRef
    tasks: list[TaskSummary]
    created_at: str | None
    updated_at: str | None
    raters: dict[str, Any] | None = None  # {"sight", "opened_until", "requests"?}: see engine/review/anonymity.py


class AuditEventOut(Out):
    seq: int
    at: str | None
    actor: str
    action: str
    task: str | None
    task_id: int | None
    payload: dict[str, Any]


class EventList(Out):
    items: list[AuditEventOut]
    raters: dict[str, Any] | None = None  # {"sight", "opened_until", "answers"}: see engine/review/anonymity.py


class RaterDetailOpened(Out):
    instance_id: int
    reason: str
    opened_until: str


class Verify(Out):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    problem: str | None = None  # missing, relinked, edited, rechained, forged, rewritten, truncated, wiped, ...
    keyed_from: int | None = None  # the first seq signed with the audit key
    unkeyed: int = 0  # events from before the key, checked with the old unkeyed hash
    checkpoint_seq: int | None = None
    checkpoint_at: str | None = None
    unanchored: int = 0  # events after the newest checkpoint
    redacted: int = 0  # events whose personal values were erased (they still verify)
    notes: list[str] = []


class Counts(Out):
    instances: int
    running: int
    completed: int
    failed: int
    open_tasks: int
    overdue: int
    cancelled: int = 0  # reviews cancelled while the cycle ran (engine/ops/cancel.py): in none of the counts above


class LaunchProgress(Out):
    total: int  # participants taken into launch chunks
    started: int  # instances that exist
    failed: int  # participants whose instance could not be started (see launch_problems)
    chunks: int
    chunks_done: int


class CycleOut(Out):
    id: int
    name: str
    status: str
    definition: DefinitionRef
    # withheld from an HR partner (left out of the response): they may name people outside the partner's scope
    participants: Any = None
    settings: dict[str, Any] | None = None
    launch_problems: list[dict[str, Any]] | None = None
    counts: Counts  # an HR partner's: only the reviews of the people partnered to them
    launch: LaunchProgress | None = None
    scope: dict[str, Any] | None = None  # {"kind": "all"} or {"kind": "partner", "people": n}


class CycleSettingsOut(CycleOut):
    # changed settings that reviews already started keep as they were launched
    warnings: list[str] = []


# --- preflight, release, reports ----------------------------------------------------------------------------------


class CalibratingSummary(Out):
    groups: int
    ungrouped: list[str]  # emails of participants in no calibration group


class PreflightProblem(Out):
    email: str
    name: str
    problems: list[str]


class PreflightWarning(Out):
    email: str
    name: str
    warnings: list[str]


class ReviewerLoad(Out):
    email: str
    reviews: int


class Preflight(Out):
    cycle_id: int
    population: int
    ready: int
    calibration: CalibratingSummary | None  # only when the cycle's settings turn calibration on
    problems: list[PreflightProblem]  # these people's reviews would not start
    warnings: list[PreflightWarning]
    load: list[ReviewerLoad]


class ReleaseFailure(Out):
    model_config = ConfigDict(extra="allow")
    instance_id: int
    problem: str


class Released(Out):
    model_config = ConfigDict(extra="allow")
    cycle_id: int
    released: int
    not_waiting: int  # reviews not waiting for results (not there yet, or already past)
    failed: list[ReleaseFailure]


class Scope(Out):
    kind: str  # "all", or "partner": an HR partner's people only
    people: int | None = None  # how many people a partner's scope holds (left out for "all")


class Report(Out):
    """A cycle report. Its fields depend on the report (`completion`, `distribution`, `leniency`, `goal-alignment`,
    `participation`, `guidance`, `nine-box`, `calibration-deltas`); every one says its `scope`."""

    model_config = ConfigDict(extra="allow")
    scope: Scope


# --- calibration --------------------------------------------------------------------------------------------------


class CalibrationGroupOut(Out):
    id: int
    cycle_id: int
    name: str
    selector: dict[str, Any]  # {"department": name} | {"subtree": email} | {"people": [emails]}
    status: str  # waiting, open, locked
    facilitator: str | None
    committee: list[str]  # emails
    members: int
    instance_id: int | None
    opened_at: str | None
    locked_at: str | None


class CalibrationGroupList(Out):
    items: list[CalibrationGroupOut]
    ungrouped: list[str]  # emails of participants in no group


class CalibrationGroupDetail(CalibrationGroupOut):
    # people with manager and calibrated ratings, 9-box, distribution against guidance: engine/calibration/view.py
    view: dict[str, Any]


# --- accounts and people ------------------------------------------------------------------------------------------


class TokenIssued(Out):
    access_token: str
    token_type: str
    expires_in: int  # seconds


class TokenOut(Out):
    id: int
    email: str
    kind: str  # "api" (a bearer token) or "session" (a web page session)
    label: str
    status: str  # active, expired, revoked
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    revoked_by: str | None
    current: bool  # the token or session this request came with


class TokenList(Out):
    items: list[TokenOut]


class Me(PersonRef):
    id: int
    locale: str
    roles: list[str]


class Lockout(Out):
    kind: str  # "email" or "address"
    key: str
    failures: int
    locked_until: str
    retry_after: int  # seconds


class LockoutList(Out):
    items: list[Lockout]


class Unlocked(Out):
    unlocked: str  # the email or address
    failures_forgiven: int


class PersonOut(Out):
    id: int
    employee_no: str | None
    name: str
    email: str
    department: str | None
    title: str | None
    locale: str
    manager: PersonRef | None
    hr_partner: PersonRef | None
    active: bool


class PersonActivation(PersonOut):
    tokens_revoked: int


class PeopleImported(Out):
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]  # {"row", "field", "message", "message_zh"}: rows left out
    deactivated: int = 0


class OrgChangeEffect(Out):
    """What an import does to a running review: a task moved (reassign) or withdrawn, or the review cancelled."""

    cycle_id: int | None
    instance_id: int
    task_id: int | None
    action: str  # reassign | withdraw | cancel_instance
    from_: list[str] = Field(alias="from")
    to: list[str]
    reason: str


class OrgImport(Out):
    people: PeopleImported
    effects: list[OrgChangeEffect]


# --- definitions, incidents, the rest -----------------------------------------------------------------------------


class DefinitionFileOut(Out):
    name: str
    kind: str  # bpmn, dmn, json
    sha256: str


class DefinitionWarning(Out):
    model_config = ConfigDict(extra="allow")
    element: str | None
    message: str


class DefinitionOut(Out):
    id: int
    key: str
    version: int
    name: str
    has_scripts: bool
    lanes: list[str]
    warnings: list[DefinitionWarning]
    deployed_at: str
    files: list[DefinitionFileOut]


class Deployed(DefinitionOut):
    created: bool  # false: identical to the version named, nothing new was deployed (answered 200, not 201)


class DefinitionVersions(DefinitionOut):
    versions: list[int]


class IncidentOut(Out):
    model_config = ConfigDict(extra="allow")
    id: int
    job: str
    args: dict[str, Any]
    error: str
    attempts: int
    status: str  # open, retrying, resolved
    created_at: str | None
    updated_at: str | None
    resolved_at: str | None


class IncidentList(Out):
    items: list[IncidentOut]


class DraftSaved(Out):
    id: int
    saved: bool


class Health(Out):
    ok: bool


class MigrationItem(Out):
    instance_id: int
    subject: str | None
    status: str
    from_version: int
    already: bool  # already on the target version: nothing to do
    can_migrate: bool
    reasons: list[str]  # why not, e.g. "waiting in task 'respond' which version 2 removed"
    removed: list[str]  # element ids of this instance's steps the new version no longer has
    changed: list[str]
    added: list[str]


class MigrationSummary(Out):
    instances: int
    can_migrate: int
    already: int
    cannot: int


class MigrationPlan(Out):
    cycle_id: int
    to_version: int
    dry_run: bool
    instances: list[MigrationItem]
    summary: MigrationSummary
    queued: int  # instances handed to the migration jobs (0 for a dry run)


class MigrationReverted(Out):
    instance_id: int
    reverted: bool
    already: bool  # it had been reverted before: nothing changed now
    from_version: int
    to_version: int


class ReplayRun(Out):
    path: list[str]
    final_score: Any
    completed: bool


class ReplayItem(Out):
    instance_id: int
    subject: str | None
    from_version: int | None
    path_differs: bool
    score_differs: bool
    branch_differs: bool
    added_steps: list[str]
    missing_steps: list[str]
    original: ReplayRun
    replay: ReplayRun
    stopped: str | None  # why the replay could not run to the end (no recorded answer, a failing step)


class ReplaySummary(Out):
    instances: int
    path_differs: int
    score_differs: int
    branch_differs: int
    stopped: int
    unchanged: int


class ReplayReport(Out):
    cycle_id: int
    to_version: int
    instances: list[ReplayItem]
    summary: ReplaySummary


# --- live operations on running cycles (engine/ops/) ---------------------------------------------------------------


class TaskRef(Out):
    id: int
    name: str
    title: str


class Reopened(Out):
    id: int
    instance_id: int
    status: str
    reset: list[TaskRef]  # later steps that had completed and were reset (they come back when the path reaches them)
    superseded_records: int = 0  # review records of the undone steps, kept but no longer counted
    after_release: bool = False
    reopened: bool  # false for a retry of a reopen that already went through


class InstanceCancelled(Out):
    id: int
    status: str
    tasks_withdrawn: int
    cancelled: bool  # false for a retry on an instance already cancelled


class ParticipantsAdded(Out):
    cycle_id: int
    added: list[str]  # taken into the cycle's participants now
    already: list[str]  # participants already
    starting: list[str]  # people without a review yet, whose launch is queued
    launch: LaunchProgress


class ErasureOut(Out):
    """A request to erase a person (engine/ops/erasure.py); `report` counts what the approval changed, per place."""

    id: int
    person_id: int
    status: str  # pending, done
    reason: str
    requested_by_id: int
    requested_at: str | None
    approved_by_id: int | None = None
    approved_at: str | None = None
    report: dict[str, Any] | None = None


class MyData(Out):
    """Everything held about the caller (engine/queries/my_data.py)."""

    person: dict[str, Any]
    roles: list[str]
    tokens: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]
