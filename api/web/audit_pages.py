"""Reader pages (auditor, HR): audit chain status, instances, an instance's timeline beside its diagram, export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.web.render import page
from api.web.session import WebReader
from engine import audit, browse, definitions, views
from engine.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, db: SessionDep, _person: WebReader) -> Response:
    """Is the audit log intact, and the most recent instances to trace."""
    verdict = audit.verify(db)
    return page(request, "audit.html", verdict=verdict, instances=browse.instances(db, limit=200))


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
def instance_page(instance_id: int, request: Request, db: SessionDep, person: WebReader) -> Response:
    """One instance: who did what and when, beside the diagram with the path taken highlighted."""
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    events = views.instance_events(db, instance_id=instance_id)
    return page(request, "instance.html", instance=detail, events=events, taken=path_taken(events))


@router.get("/instances/{instance_id}/diagram.xml")
def instance_diagram(instance_id: int, db: SessionDep, person: WebReader) -> Response:
    """The BPMN diagram the instance runs."""
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    d = definitions.get(db, detail["definition"]["key"], detail["definition"]["version"])
    xml = browse.main_bpmn(d)
    if xml is None:
        raise NotFound("This version has no BPMN file.")
    return Response(xml, media_type="application/xml")


@router.get("/instances/{instance_id}/events.json")
def export_json(instance_id: int, db: SessionDep, person: WebReader) -> Response:
    """The instance's audit timeline as JSON (download)."""
    detail = views.instance_detail(db, actor=person, instance_id=instance_id)
    body = {"instance": detail, "events": views.instance_events(db, instance_id=instance_id)}
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="instance-{instance_id}-events.json"'},
    )


@router.get("/instances/{instance_id}/events.csv")
def export_csv(instance_id: int, db: SessionDep, person: WebReader) -> Response:
    """The instance's audit timeline for spreadsheets (UTF-8 with BOM; formula-looking cells neutralised)."""
    views.instance_detail(db, actor=person, instance_id=instance_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "task", "payload"])
    for ev in views.instance_events(db, instance_id=instance_id):
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
