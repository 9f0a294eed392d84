"""Task administration as pages (issue 12): the assignee delegates their task (on the task page); HR moves an open
task's due date (on the instance page) or completes it on its assignee's behalf (the task's form, with a reason).
As with HR's other live operations (api/web/ops_pages.py), the delegation and the due date first POST to
`…/preview`, which runs the engine operation as a dry run (nothing kept) and shows what would change with a Confirm
button carrying the same fields; the confirm POST makes the change. An engine refusal (a 422 rule, a 409) comes back
on the form with what was typed kept, with the API's status for it; a task the visitor may not see is the 404 page,
an operation their role may not do the 403 page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.deps import Id, SessionDep
from api.errors import status_for
from api.web import audit_pages, formkit, participant_pages
from api.web.i18n import refusal
from api.web.render import page
from api.web.session import CSRF, WebHR, WebPerson
from engine.core.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound, ReviewflowError
from engine.ops import assign
from engine.ops import tasks as task_admin
from engine.process import due as due_rules
from engine.process import raters, runtime
from engine.queries import browse, views
from engine.store.models import Person, Task

router = APIRouter(include_in_schema=False)


async def _fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        out[name] = value.strip() if isinstance(value, str) else ""
    return out


def _instant(value: str, path: str, what: str, what_zh: str, *, required: bool) -> datetime | None:
    """A date (the end of that day, UTC) or a date and time (UTC) typed in a form; a 422 naming the field if not."""
    if not value and not required:
        return None
    at = due_rules.instant(value) if value else None
    if at is None:
        message = f"{what}: give a date such as 2027-03-20 or a date and time such as 2027-03-20T17:00 (UTC)."
        zh = f"{what_zh}：请填写日期（如 2027-03-20）或日期和时间（如 2027-03-20T17:00，UTC）。"
        raise InvalidInput(
            message, detail_zh=zh, errors=[{"path": path, "message": message, "message_zh": zh, "code": "not_a_date"}]
        )
    return at


def _attempt(action: Callable[[bool], dict[str, Any]], confirm: bool) -> dict[str, Any] | ReviewflowError:
    """Run the operation (a dry run unless confirming); a refusal the form shows is returned, the rest go up (the
    404 page for a task the visitor may not see, the 403 page for an operation their role may not do)."""
    try:
        return action(not confirm)
    except (NotFound, Forbidden):
        raise
    except ReviewflowError as exc:
        return exc


# --- delegate (the assignee, on the task page) ----------------------------------------------------------------------


async def _delegate(task_id: int, request: Request, db: SessionDep, person: Person, confirm: bool) -> Response:
    values = await _fields(request, "to", "until")

    def action(dry_run: bool) -> dict[str, Any]:
        until = _instant(values["until"], "until", "Until", "截止日期", required=False)
        return task_admin.delegate(db, task_id=task_id, actor=person, to=values["to"], until=until, dry_run=dry_run)

    result = _attempt(action, confirm)
    if isinstance(result, ReviewflowError):
        db.rollback()
        error = {**refusal(result), "fields": values}
        return participant_pages._task_page(
            request, db, person, task_id, status_code=status_for(result), delegate_error=error
        )
    if confirm:
        return RedirectResponse(f"/tasks/{task_id}#delegation", status_code=303)
    mine = [d for d in result["delegates"] if d["email"].lower() == values["to"].lower()]
    preview = {"fields": values, "result": result, "delegate": mine[0] if mine else None}
    return participant_pages._task_page(request, db, person, task_id, delegate_preview=preview)


@router.post("/tasks/{task_id}/delegate/preview", dependencies=[CSRF])
async def delegate_preview(task_id: Id, request: Request, db: SessionDep, person: WebPerson) -> Response:
    """The assignee: who would act on their task on their behalf, and until when; nothing changes."""
    return await _delegate(task_id, request, db, person, confirm=False)


@router.post("/tasks/{task_id}/delegate", dependencies=[CSRF])
async def delegate(task_id: Id, request: Request, db: SessionDep, person: WebPerson) -> Response:
    """The assignee: let someone else complete their task on their behalf (they keep it too; audited)."""
    return await _delegate(task_id, request, db, person, confirm=True)


# --- due date (HR, on the instance page) ----------------------------------------------------------------------------


def _task_of(db: SessionDep, instance_id: int, task_id: int) -> Task:
    """A task of this instance (404 otherwise: the URL names both)."""
    task = db.scalar(select(Task).where(Task.id == task_id, Task.instance_id == instance_id))
    if task is None:
        raise NotFound(f"No task with id {task_id} in instance {instance_id}.")
    return task


async def _due(
    instance_id: int, task_id: int, request: Request, db: SessionDep, person: Person, confirm: bool
) -> Response:
    task = _task_of(db, instance_id, task_id)
    values = {**await _fields(request, "due_at", "reason"), "task_id": str(task_id)}
    title = task.title or task.name

    def action(dry_run: bool) -> dict[str, Any]:
        due_at = _instant(values["due_at"], "due_at", "New due date", "新的截止时间", required=True)
        assert due_at is not None
        result = task_admin.set_due(
            db, task_id=task_id, actor=person, due_at=due_at, reason=values["reason"], dry_run=dry_run
        )
        return {**result, "title": title}

    result = _attempt(action, confirm)
    if isinstance(result, ReviewflowError):
        db.rollback()
        error = {"task_id": task_id, **refusal(result), "fields": values}
        return audit_pages._instance_page(
            request, db, person, instance_id, status_code=status_for(result), due_error=error
        )
    if confirm:
        return RedirectResponse(f"/instances/{instance_id}", status_code=303)
    preview = {"task_id": task_id, "fields": values, "result": result}
    return audit_pages._instance_page(request, db, person, instance_id, due_preview=preview)


@router.post("/instances/{instance_id}/tasks/{task_id}/due/preview", dependencies=[CSRF])
async def due_preview(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: an open task's due date from/to, and what its reminders would do; nothing changes."""
    return await _due(instance_id, task_id, request, db, person, confirm=False)


@router.post("/instances/{instance_id}/tasks/{task_id}/due", dependencies=[CSRF])
async def due(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: move an open task's due date, with a reason (audited); its reminders follow the new date."""
    return await _due(instance_id, task_id, request, db, person, confirm=True)


# --- complete on the assignee's behalf (HR, from the instance page) ------------------------------------------------


def _on_behalf_page(
    request: Request,
    db: SessionDep,
    person: Person,
    instance_id: int,
    task_id: int,
    *,
    data: dict[str, Any] | None = None,
    reason: str = "",
    errors: list[dict[str, Any]] | None = None,
    problem: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The task's form for HR to fill in for its assignee (the participant form's fields, prefilled with their
    draft), with the reason HR gives; a 360 rater's answer is never given on their behalf (the engine's 422)."""
    task = _task_of(db, instance_id, task_id)
    if task.status != "open":
        raise Conflict(f"This task is already {task.status}; there is nothing to complete.")
    if raters.perspective(task):
        raise InvalidInput(
            "A 360 feedback answer belongs to its rater and stays anonymous: HR cannot give it on their behalf. "
            "Reassign the task or withdraw it instead."
        )
    view = views.task_detail(db, actor=person, task_id=task_id)
    schema = view["form"]["schema"]
    return page(
        request,
        "task_on_behalf.html",
        status_code=status_code,
        instance_id=instance_id,
        task=view,
        holders=assign.holders(task),
        schema=schema,
        values=data if data is not None else (view["data"] or {}),
        context=view.get("context") or {},
        reason=reason,
        errors=errors or [],
        errors_at=formkit.errors_by_path(errors or []),
        problem=problem,
        people=browse.directory(db),
        formkit=formkit,
        conditional=formkit.conditional(schema),
    )


@router.get("/instances/{instance_id}/tasks/{task_id}/on-behalf")
def on_behalf_form(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: an open task's form, to submit for its assignee with a reason."""
    return _on_behalf_page(request, db, person, instance_id, task_id)


@router.post("/instances/{instance_id}/tasks/{task_id}/on-behalf", dependencies=[CSRF])
async def on_behalf(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: submit an open task for its assignee, with a reason (audited as on their behalf); errors come back on the
    form with everything typed kept."""
    _task_of(db, instance_id, task_id)
    view = views.task_detail(db, actor=person, task_id=task_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    reason = fields.get("on_behalf_reason", "").strip()
    data = formkit.parse(view["form"]["schema"], fields, view.get("context") or {})
    try:
        runtime.complete_task(db, task_id=task_id, actor=person, data=data, on_behalf=True, reason=reason)
    except FormInvalid as exc:
        db.rollback()
        return _on_behalf_page(
            request,
            db,
            person,
            instance_id,
            task_id,
            data=data,
            reason=reason,
            errors=exc.errors,
            status_code=status_for(exc),
        )
    except (NotFound, Forbidden):
        raise
    except ReviewflowError as exc:
        db.rollback()
        return _on_behalf_page(
            request,
            db,
            person,
            instance_id,
            task_id,
            data=data,
            reason=reason,
            problem=refusal(exc),
            status_code=status_for(exc),
        )
    return RedirectResponse(f"/instances/{instance_id}", status_code=303)
