"""HR's live operations as pages: reassign or reopen a task, cancel a review (on the instance page) and add people to
a running cycle (on the cycle dashboard). Each form first POSTs to `…/preview`, which runs the engine operation as a
dry run (engine/process/kernel.py `advance(dry_run=True)`: the same checks, nothing kept) and shows what would
change with a Confirm button; the confirm POST carries the same fields and makes the change. An engine refusal
(a 422 rule, a 409) comes back on the form with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.deps import Id, SessionDep
from api.errors import status_for
from api.web import audit_pages, hr_pages
from api.web.i18n import refusal
from api.web.session import CSRF, WebHR
from engine.core.errors import NotFound, ReviewflowError
from engine.ops import assign
from engine.ops import cancel as cancelling
from engine.ops import participants as adding
from engine.ops import reopen as reopening
from engine.ops import tasks as task_admin
from engine.org import people
from engine.store.models import Person, Task

router = APIRouter(include_in_schema=False)


async def _fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        out[name] = value if isinstance(value, str) else ""
    return out


def _task_of(db: SessionDep, instance_id: int, task_id: int) -> Task:
    """A task of this instance (404 otherwise: the URL names both)."""
    task = db.scalar(select(Task).where(Task.id == task_id, Task.instance_id == instance_id))
    if task is None:
        raise NotFound(f"No task with id {task_id} in instance {instance_id}.")
    return task


def _run(
    request: Request,
    db: SessionDep,
    person: Person,
    instance_id: int,
    form: str,
    values: dict[str, str],
    action: Callable[[bool], dict[str, Any]],
    *,
    confirm: bool,
) -> Response:
    """Preview (dry run, shown on the instance page) or confirm (then back to the instance page)."""
    try:
        result = action(not confirm)
    except ReviewflowError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        error = {"form": form, **refusal(exc), "fields": values}
        return audit_pages._instance_page(request, db, person, instance_id, status_code=status_for(exc), hr_error=error)
    if confirm:
        return RedirectResponse(f"/instances/{instance_id}", status_code=303)
    preview = {"form": form, "fields": values, "result": result}
    return audit_pages._instance_page(request, db, person, instance_id, hr_preview=preview)


async def _reassign(
    instance_id: int, task_id: int, request: Request, db: SessionDep, person: Person, confirm: bool
) -> Response:
    task = _task_of(db, instance_id, task_id)
    values = {**await _fields(request, "to", "reason"), "task_id": str(task_id)}
    title, was = task.title or task.name, task.id

    def action(dry_run: bool) -> dict[str, Any]:
        result = task_admin.reassign(
            db, task_id=was, actor=person, to=values["to"], reason=values["reason"], dry_run=dry_run
        )
        return {**result, "title": title}

    return _run(request, db, person, instance_id, f"reassign-{task_id}", values, action, confirm=confirm)


@router.post("/instances/{instance_id}/tasks/{task_id}/reassign/preview", dependencies=[CSRF])
async def reassign_preview(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: who an open task would move to, and the rules it would break; nothing changes."""
    return await _reassign(instance_id, task_id, request, db, person, confirm=False)


@router.post("/instances/{instance_id}/tasks/{task_id}/reassign", dependencies=[CSRF])
async def reassign(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: give an open task to someone else, with a reason (audited)."""
    return await _reassign(instance_id, task_id, request, db, person, confirm=True)


async def _reopen(
    instance_id: int, task_id: int, request: Request, db: SessionDep, person: Person, confirm: bool
) -> Response:
    task = _task_of(db, instance_id, task_id)
    values = {**await _fields(request, "reason", "after_release"), "task_id": str(task_id)}
    title, was, holders = task.title or task.name, task.id, assign.holders(task)

    def action(dry_run: bool) -> dict[str, Any]:
        result = reopening.reopen(
            db,
            actor=person,
            task_id=was,
            reason=values["reason"],
            after_release=values["after_release"] == "yes",
            dry_run=dry_run,
        )
        return {**result, "title": title, "assignees": holders}

    return _run(request, db, person, instance_id, f"reopen-{task_id}", values, action, confirm=confirm)


@router.post("/instances/{instance_id}/tasks/{task_id}/reopen/preview", dependencies=[CSRF])
async def reopen_preview(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: which later steps reopening a completed task would reset; nothing changes."""
    return await _reopen(instance_id, task_id, request, db, person, confirm=False)


@router.post("/instances/{instance_id}/tasks/{task_id}/reopen", dependencies=[CSRF])
async def reopen(instance_id: Id, task_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: give a completed task back to its assignee, with a reason (audited)."""
    return await _reopen(instance_id, task_id, request, db, person, confirm=True)


async def _cancel(instance_id: int, request: Request, db: SessionDep, person: Person, confirm: bool) -> Response:
    values = await _fields(request, "reason")

    def action(dry_run: bool) -> dict[str, Any]:
        return cancelling.cancel(db, actor=person, instance_id=instance_id, reason=values["reason"], dry_run=dry_run)

    return _run(request, db, person, instance_id, "cancel", values, action, confirm=confirm)


@router.post("/instances/{instance_id}/cancel/preview", dependencies=[CSRF])
async def cancel_preview(instance_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: which open tasks cancelling this review would withdraw; nothing changes."""
    return await _cancel(instance_id, request, db, person, confirm=False)


@router.post("/instances/{instance_id}/cancel", dependencies=[CSRF])
async def cancel(instance_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: cancel this review (kept read only), with a reason (audited)."""
    return await _cancel(instance_id, request, db, person, confirm=True)


def _emails(text: str) -> list[str]:
    return [e for e in (part.strip() for part in text.replace(",", "\n").replace(";", "\n").split()) if e]


def _unknown(db: SessionDep, emails: list[str]) -> list[str]:
    """The emails that are no active employee (the add would refuse them all)."""
    out = []
    for email in emails:
        found = people.by_email(db, email)
        if found is None or not found.active or not found.employee:
            out.append(email)
    return out


async def _add(cycle_id: int, request: Request, db: SessionDep, person: Person, confirm: bool) -> Response:
    values = await _fields(request, "emails")
    emails = _emails(values["emails"])
    try:
        if confirm:
            adding.add(db, actor=person, cycle_id=cycle_id, emails=emails)
            return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)
        unknown = _unknown(db, emails)
        known = [e for e in emails if e not in unknown]
        result: dict[str, Any] = {"added": [], "already": [], "starting": []}
        if known:
            result = adding.add(db, actor=person, cycle_id=cycle_id, emails=known, dry_run=True)
        elif not emails:
            adding.add(db, actor=person, cycle_id=cycle_id, emails=[], dry_run=True)  # the 422 naming the field
    except ReviewflowError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        error = {**refusal(exc), "fields": values}
        return hr_pages._dashboard(request, db, cycle_id, status_code=status_for(exc), add_error=error)
    preview = {"fields": values, "result": result, "unknown": unknown}
    return hr_pages._dashboard(request, db, cycle_id, add_preview=preview)


@router.post("/cycles/{cycle_id}/participants/preview", dependencies=[CSRF])
async def participants_preview(cycle_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: who would be added to the running cycle, who is in already, who is unknown; nothing changes."""
    return await _add(cycle_id, request, db, person, confirm=False)


@router.post("/cycles/{cycle_id}/participants", dependencies=[CSRF])
async def participants(cycle_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: add people to the running cycle (their reviews start in the background)."""
    return await _add(cycle_id, request, db, person, confirm=True)
