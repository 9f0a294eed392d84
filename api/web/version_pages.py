"""HR's diagram-version operations and the org-change preview as pages (issue 12).

On the cycle dashboard: move the running reviews to another version of the diagram (a dry run lists every review
with whether it can move and why not, then "Move the N that can") and try another version on the finished reviews
(the what-if replay: nothing is saved). On the instance page: undo the last move while nothing has happened since.
On the people page: an uploaded CSV first shows the people changes and their effects on running reviews (a dry
run), and Confirm imports the same file, carried back in the confirm form (base64, within the API's size limit).
The pattern is api/web/ops_pages.py's: preview, then confirm; an engine refusal comes back on the form with what
was typed and the status the API gives it (api/errors.py `status_for`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.deps import Id, SessionDep
from api.errors import status_for
from api.web import audit_pages, hr_pages, version_view
from api.web.i18n import Text, locale_for, refusal
from api.web.render import page
from api.web.session import CSRF, WebHR
from engine.core.errors import InvalidInput, NotFound, ReviewflowError, TooLarge
from engine.ops import migrate, org_changes, replay
from engine.org import people
from engine.queries import browse
from engine.review import cycles
from engine.store.models import Person

router = APIRouter(include_in_schema=False)

# the confirm form carries the CSV as base64: room for the API's largest file (people.MAX_CSV_BYTES) and the rest
_CONTENT_FIELD_BYTES = (people.MAX_CSV_BYTES + 2) // 3 * 4 + 64 * 1024


async def _fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        out[name] = value.strip() if isinstance(value, str) else ""
    return out


def _version(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise InvalidInput("Choose a version of the diagram.", errors=[{"path": "to_version", "message": "required"}])
    return int(text)


def _refused(cycle_id: int, request: Request, db: SessionDep, exc: ReviewflowError, form: str, values: Any) -> Response:
    """An engine refusal on the dashboard's version form, with what was chosen (an unknown version: 404)."""
    db.rollback()
    error = {"form": form, **refusal(exc), "fields": values}
    return hr_pages._dashboard(request, db, cycle_id, status_code=status_for(exc), versions_error=error)


# --- the cycle dashboard: move running reviews, try another version on finished ones ---------------------------


async def _on_cycle(
    cycle_id: int, request: Request, db: SessionDep, form: str, action: Callable[[int], dict[str, Any]]
) -> Response:
    cycles.get_cycle(db, cycle_id)  # an unknown cycle: the 404 page
    values = await _fields(request, "to_version")
    try:
        result = action(_version(values["to_version"]))
    except ReviewflowError as exc:
        return _refused(cycle_id, request, db, exc, form, values)
    return hr_pages._dashboard(request, db, cycle_id, versions_result={"form": form, "fields": values, **result})


@router.post("/cycles/{cycle_id}/migrate/preview", dependencies=[CSRF])
async def migrate_preview(cycle_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: which running reviews could move to the chosen version and why not; nothing changes."""

    def action(version: int) -> dict[str, Any]:
        report = migrate.migrate_cycle(db, actor=person.email, cycle_id=cycle_id, to_version=version, dry_run=True)
        return {"report": report}

    return await _on_cycle(cycle_id, request, db, "migrate", action)


@router.post("/cycles/{cycle_id}/migrate", dependencies=[CSRF])
async def migrate_apply(cycle_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: move the running reviews that can to the chosen version (each audited and revertible)."""
    cycles.get_cycle(db, cycle_id)
    values = await _fields(request, "to_version")
    try:
        version = _version(values["to_version"])
        report = migrate.migrate_cycle(db, actor=person.email, cycle_id=cycle_id, to_version=version, dry_run=False)
    except ReviewflowError as exc:
        return _refused(cycle_id, request, db, exc, "migrate", values)
    where = f"/cycles/{cycle_id}?moved={report['queued']}&to={report['to_version']}#versions"
    return RedirectResponse(where, status_code=303)


@router.post("/cycles/{cycle_id}/replay", dependencies=[CSRF])
async def replay_cycle(cycle_id: Id, request: Request, db: SessionDep, _person: WebHR) -> Response:
    """HR: re-run the finished reviews' answers against the chosen version in memory; nothing is saved."""

    def action(version: int) -> dict[str, Any]:
        try:
            return {"report": replay.replay_cycle(db, cycle_id=cycle_id, to_version=version)}
        finally:
            db.rollback()  # nothing of a replay is kept

    return await _on_cycle(cycle_id, request, db, "replay", action)


# --- the instance page: undo the last move ----------------------------------------------------------------------


async def _revert(instance_id: int, request: Request, db: SessionDep, person: Person, confirm: bool) -> Response:
    try:
        result = migrate.revert(db, actor=person.email, instance_id=instance_id, dry_run=not confirm)
    except ReviewflowError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        return audit_pages._instance_page(
            request, db, person, instance_id, status_code=status_for(exc), revert_error=refusal(exc)
        )
    if confirm:
        return RedirectResponse(f"/instances/{instance_id}", status_code=303)
    return audit_pages._instance_page(request, db, person, instance_id, revert_preview=result)


@router.post("/instances/{instance_id}/migrate/revert/preview", dependencies=[CSRF])
async def revert_preview(instance_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: what undoing the review's last move to another version would do; nothing changes."""
    return await _revert(instance_id, request, db, person, confirm=False)


@router.post("/instances/{instance_id}/migrate/revert", dependencies=[CSRF])
async def revert(instance_id: Id, request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: put the review back on the version it ran on before its last move (audited)."""
    return await _revert(instance_id, request, db, person, confirm=True)


# --- the people page: preview an import's effects, then confirm ------------------------------------------------


def _people_page(request: Request, db: SessionDep, status_code: int = 200, **ctx: Any) -> Response:
    values = {"result": None, "error": None, "preview": None, "applied": None, **ctx}
    return page(request, "people.html", status_code=status_code, count=len(browse.directory(db)), **values)


async def _large_form(request: Request) -> None:
    """Parse the confirm form with room for the carried file (before the CSRF check reads the same form)."""
    await request.form(max_part_size=_CONTENT_FIELD_BYTES)


def _import(db: SessionDep, person: Person, data: bytes, deactivate: bool, *, dry_run: bool) -> dict[str, Any]:
    return org_changes.import_people(db, data=data, actor=person.email, dry_run=dry_run, deactivate_missing=deactivate)


@router.post("/people/preview", dependencies=[CSRF])
async def people_preview(request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: what importing the uploaded CSV would change, people and running reviews; nothing is saved."""
    form = await request.form()
    upload, deactivate = form.get("file"), form.get("deactivate_missing") == "yes"
    if not isinstance(upload, UploadFile) or not upload.filename:
        text = Text(locale_for(request, person.locale))
        return _people_page(request, db, 422, error=text.t("Choose a CSV file first.", "请先选择一个 CSV 文件。"))
    data = await upload.read(people.MAX_CSV_BYTES + 1)
    try:
        found = _import(db, person, data, deactivate, dry_run=True)
    except ReviewflowError as exc:
        db.rollback()
        return _people_page(request, db, status_for(exc), error=refusal(exc))
    preview = {
        **found,
        "effects": version_view.effects(db, found["effects"]),
        "content": base64.b64encode(data).decode("ascii"),
        "filename": upload.filename,
        "deactivate_missing": deactivate,
    }
    return _people_page(request, db, preview=preview)


@router.post("/people/confirm", dependencies=[Depends(_large_form), CSRF])
async def people_confirm(request: Request, db: SessionDep, person: WebHR) -> Response:
    """HR: import the previewed CSV and carry its effects into running reviews, all or nothing (audited)."""
    values = await _fields(request, "content", "deactivate_missing")
    try:
        try:
            data = base64.b64decode(values["content"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("The previewed file did not come back intact: upload it again.") from None
        if len(data) > people.MAX_CSV_BYTES:
            raise TooLarge("The CSV file is too large.")
        if not data:
            raise InvalidInput("The previewed file did not come back: upload it again.")
        done = _import(db, person, data, values["deactivate_missing"] == "yes", dry_run=False)
    except ReviewflowError as exc:
        db.rollback()
        return _people_page(request, db, status_for(exc), error=refusal(exc))
    return _people_page(request, db, result=done["people"], applied=version_view.effects(db, done["effects"]))
