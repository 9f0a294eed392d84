from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import CurrentPerson, HRPerson, Id, SessionDep
from api.responses import ERRORS
from api.schemas import Completed, DraftSaved, Reopened, TaskAdmin, TaskDetail, TaskList
from engine.ops import reopen as reopening
from engine.ops import tasks
from engine.process import runtime
from engine.queries import views
from engine.review import anonymity
from engine.store.models import Person, Task

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=ERRORS)


class Submission(BaseModel):
    data: Any = None
    on_behalf: bool = False  # HR completes someone else's task for them (with a reason)
    reason: str | None = Field(default=None, max_length=2000)


class Reassignment(BaseModel):
    to: str = Field(max_length=320)
    reason: str = Field(max_length=2000)


class Delegation(BaseModel):
    to: str = Field(max_length=320)
    until: datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)


class DueChange(BaseModel):
    due_at: datetime
    reason: str = Field(max_length=2000)


def _next(tasks: list[Task], actor: Person) -> list[dict]:
    """The instance's open tasks after a submission; other raters' tasks are left out (how many remain open, and
    which, would tell who has answered)."""
    out = []
    for t in tasks:
        mine = actor.id in {a.person_id for a in t.assignees}
        if not mine and anonymity.perspective(t):
            continue
        out.append({"id": t.id, "name": t.name, "title": t.title, "lane": t.lane, "status": t.status, "yours": mine})
    return out


@router.get("", response_model=TaskList)
def my_tasks(session: SessionDep, actor: CurrentPerson, status: Literal["open", "completed", "all"] = "open") -> dict:
    """The caller's tasks."""
    return {"items": views.list_tasks(session, actor=actor, status=status)}


def reader_locale(request: Request, actor: Person) -> str:
    """The language an API reader asked for (`Accept-Language`: zh → zh-CN, en → en), else their own, else English."""
    for part in (request.headers.get("accept-language") or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return actor.locale if actor.locale in ("en", "zh-CN") else "en"


@router.get("/{task_id}", response_model=TaskDetail)
def get_task(task_id: Id, session: SessionDep, actor: CurrentPerson, request: Request, response: Response) -> dict:
    """One task with its form schema and prefill. The schema is resolved for this task in the reader's language
    (`Accept-Language`, else the person's own): standard JSON Schema, so any answer valid against it is accepted on
    submit, but for the few rules listed in forms/README.md ("Served schemas")."""
    locale = reader_locale(request, actor)
    response.headers["Content-Language"] = locale
    return views.task_detail(session, actor=actor, task_id=task_id, locale=locale)


@router.put("/{task_id}/draft", response_model=DraftSaved)
def save_draft(task_id: Id, body: Submission, session: SessionDep, actor: CurrentPerson) -> dict:
    """Keep unfinished answers without submitting them."""
    runtime.save_draft(session, task_id=task_id, actor=actor, data=body.data)
    return {"id": task_id, "saved": True}


@router.post("/{task_id}/complete", response_model=Completed)
def complete(task_id: Id, body: Submission, session: SessionDep, actor: CurrentPerson) -> dict:
    """Submit the form; the workflow moves on. The assignee or their delegate submits; HR may complete someone
    else's task for them with `"on_behalf": true` and a reason (never a 360 rater's answer)."""
    open_tasks = runtime.complete_task(
        session, task_id=task_id, actor=actor, data=body.data, on_behalf=body.on_behalf, reason=body.reason
    )
    return {"id": task_id, "status": "completed", "next": _next(open_tasks, actor)}


class ReopenRequest(BaseModel):
    reason: Any = None
    after_release: bool = False


@router.post("/{task_id}/reopen", response_model=Reopened)
def reopen(task_id: Id, body: ReopenRequest, session: SessionDep, actor: HRPerson) -> dict:
    """HR: give a completed task back to its assignee with their answers prefilled; later completed steps are reset
    and named; 409 once the results are released unless `after_release` is true (with the reason)."""
    return reopening.reopen(session, actor=actor, task_id=task_id, reason=body.reason, after_release=body.after_release)


@router.post("/{task_id}/reassign", response_model=TaskAdmin)
def reassign(task_id: Id, body: Reassignment, session: SessionDep, actor: HRPerson) -> dict:
    """HR gives an open task to someone else (422 naming the rule when they may not have it); the draft stays."""
    return tasks.reassign(session, task_id=task_id, actor=actor, to=body.to, reason=body.reason)


@router.post("/{task_id}/delegate", response_model=TaskAdmin)
def delegate(task_id: Id, body: Delegation, session: SessionDep, actor: CurrentPerson) -> dict:
    """The assignee lets someone act on their task until `until`; their completion is recorded on the assignee's
    behalf."""
    return tasks.delegate(session, task_id=task_id, actor=actor, to=body.to, until=body.until, reason=body.reason)


@router.put("/{task_id}/due", response_model=TaskAdmin)
def set_due(task_id: Id, body: DueChange, session: SessionDep, actor: HRPerson) -> dict:
    """HR moves one task's due date; its reminders follow the new date."""
    return tasks.set_due(session, task_id=task_id, actor=actor, due_at=body.due_at, reason=body.reason)
