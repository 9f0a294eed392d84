"""Response shapes, for the OpenAPI document at /docs and as a check on what leaves the server."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


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
    notes: list[str] = []


class Counts(Out):
    instances: int
    running: int
    completed: int
    failed: int
    open_tasks: int
    overdue: int


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
