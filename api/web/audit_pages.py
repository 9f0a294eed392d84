"""Reader pages (auditor, HR): audit chain status, instances, an instance's timeline beside its diagram, export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import Id, SessionDep
from api.errors import status_for
from api.security import inert_xml
from api.web import documents, version_view
from api.web.i18n import refusal
from api.web.render import page
from api.web.session import CSRF, WebReader
from engine import audit
from engine.core.errors import NotFound, ReviewflowError
from engine.process import definitions
from engine.queries import browse, views
from engine.review import anonymity
from engine.store.models import Person

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, db: SessionDep, _person: WebReader) -> Response:
    """Is the audit log intact, and the most recent instances to trace."""
    try:
        verdict, key_error = audit.verify(db), None
    except audit.AuditKeyMissing as exc:
        verdict, key_error = None, exc.detail
    return page(request, "audit.html", verdict=verdict, key_error=key_error, instances=browse.instances(db, limit=200))


def path_taken(events: list[dict[str, Any]]) -> dict[str, Any]:
    """From the task-state transitions: each element's first and last completion time, and elements still open."""
    done: dict[str, dict[str, Any]] = {}
    waiting: dict[str, str] = {}
    for ev in events:
        if ev["action"] != "task.state":
            continue
        element, to = ev["payload"].get("element"), ev["payload"].get("to")
        if not element:
            continue
        if to == "COMPLETED":
            entry = done.setdefault(element, {"first": ev["at"], "times": []})
            entry["times"].append(ev["at"])
            waiting.pop(element, None)
        elif to in ("READY", "STARTED", "WAITING") and element not in done:
            waiting[element] = ev["at"]
    return {"completed": done, "open": waiting}


@router.get("/instances/{instance_id}")
def instance_page(instance_id: Id, request: Request, db: SessionDep, person: WebReader) -> Response:
    """One instance: who did what and when, beside the diagram with the path taken highlighted."""
    return _instance_page(request, db, person, instance_id)


def _instance_page(request: Request, db: SessionDep, person: Person, instance_id: int, **extra: Any) -> Response:
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    timeline = views.instance_events(db, actor=person, instance_id=instance_id)
    events = timeline["items"]
    return page(
        request,
        "instance.html",
        status_code=extra.pop("status_code", 200),
        instance=detail,
        events=events,
        raters=timeline["raters"],
        taken=path_taken(events),
        **version_view.instance(db, person, instance_id),
        doc=documents.for_instance(db, instance_id, timeline["raters"].get("answers")),
        **extra,
    )


@router.post("/instances/{instance_id}/rater-detail", dependencies=[CSRF])
async def open_rater_detail(instance_id: Id, request: Request, db: SessionDep, person: WebReader) -> Response:
    """Open who gave which answer, with a reason (audited); then back to the instance."""
    form = await request.form()
    try:
        anonymity.open_detail(db, viewer=person, instance_id=instance_id, reason=form.get("reason"))
    except ReviewflowError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        return _instance_page(request, db, person, instance_id, status_code=status_for(exc), rater_error=refusal(exc))
    return RedirectResponse(f"/instances/{instance_id}", status_code=303)


@router.get("/instances/{instance_id}/diagram.xml")
def instance_diagram(instance_id: Id, db: SessionDep, person: WebReader) -> Response:
    """The BPMN diagram the instance runs."""
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    d = definitions.get(db, detail["definition"]["key"], detail["definition"]["version"])
    xml = browse.main_bpmn(d)
    if xml is None:
        raise NotFound("This version has no BPMN file.")
    return inert_xml(xml, f"instance-{instance_id}.bpmn")


@router.get("/instances/{instance_id}/events.json")
def export_json(instance_id: Id, db: SessionDep, person: WebReader) -> Response:
    """The instance's audit timeline as JSON (download)."""
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    timeline = views.instance_events(db, actor=person, instance_id=instance_id)
    body = {"instance": detail, "events": timeline["items"], "raters": timeline["raters"]}
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="instance-{instance_id}-events.json"'},
    )


@router.get("/instances/{instance_id}/events.csv")
def export_csv(instance_id: Id, db: SessionDep, person: WebReader) -> Response:
    """The instance's audit timeline for spreadsheets (UTF-8 with BOM; formula-looking cells neutralised)."""
    views.instance_detail(db, actor=person, instance_id=instance_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "task", "payload"])
    for ev in views.instance_events(db, actor=person, instance_id=instance_id)["items"]:
        row = [ev["seq"], ev["at"], ev["actor"], ev["action"], ev["task"] or "", json.dumps(ev["payload"])]
        writer.writerow([_cell(v) for v in row])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="instance-{instance_id}-events.csv"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value
