"""HR pages: definitions and the BPMN modeler (open, edit, deploy), people import, cycles (create, preflight,
launch with progress) and the cycle dashboard with charts."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.deps import Id, QueryId, SessionDep
from api.errors import status_for
from api.security import inert_xml
from api.web import bpmn_repair, charts, version_view
from api.web.i18n import Text, locale_for, refusal
from api.web.render import page
from api.web.session import CSRF, WebDefinitionReader, WebDeployer, WebHR, WebReader
from engine import demo, reports
from engine.bpmn import bpmn_check
from engine.core.errors import DefinitionInvalid, InvalidInput, NotFound, TooLarge
from engine.ops import org_changes
from engine.org import people, policy
from engine.process import definitions
from engine.queries import browse
from engine.review import cycles

router = APIRouter(include_in_schema=False)


# --- definitions and the modeler ---------------------------------------------------------------------------------


def _shipped() -> list[str]:
    return sorted(p.name for p in demo.WORKFLOWS.glob("*.bpmn"))


@router.get("/definitions")
def definitions_page(request: Request, db: SessionDep, _person: WebDefinitionReader) -> Response:
    """Deployed definitions with their versions, and the shipped diagrams."""
    grouped: dict[str, list[Any]] = {}
    for d in definitions.listing(db):
        grouped.setdefault(d.key, []).append(d)
    rows = [{"key": k, "latest": v[-1], "versions": v[::-1]} for k, v in sorted(grouped.items())]
    return page(request, "definitions.html", rows=rows, shipped=_shipped(), deployed=request.query_params.get("v"))


def _source(db: SessionDep, key: str | None, version: int | None, shipped: str | None) -> tuple[str, str, Any]:
    """(file name, BPMN XML, what to deploy it with) for a deployed version or a shipped diagram."""
    if shipped:
        if shipped not in _shipped():
            raise NotFound(f"No shipped diagram named {shipped}.")
        path = demo.WORKFLOWS / shipped
        return shipped, path.read_text(encoding="utf-8"), {"shipped": shipped}
    if not key:
        raise NotFound("Choose a diagram to open.")
    d = definitions.get(db, key, version)
    xml = browse.main_bpmn(d)
    if xml is None:
        raise NotFound("This version has no BPMN file.")
    name = next(f.name for f in d.files if f.kind == "bpmn" and f.content == xml)
    return name, xml, {"key": d.key, "version": d.version}


@router.get("/modeler")
def modeler(
    request: Request,
    db: SessionDep,
    _person: WebDeployer,
    key: str | None = None,
    version: QueryId = None,
    shipped: str | None = None,
) -> Response:
    """The BPMN modeler with a deployed version or a shipped diagram loaded."""
    name, xml, source = _source(db, key, version, shipped)
    return page(request, "modeler.html", name=name, xml=xml, source=source)


@router.post("/modeler/deploy", dependencies=[CSRF])
async def modeler_deploy(request: Request, db: SessionDep, person: WebDeployer) -> JSONResponse:
    """Deploy the edited diagram with the other files of the version (or shipped set) it was opened from."""
    body = await request.json()
    source, xml = body.get("source") or {}, body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        return JSONResponse({"errors": [{"message": "The diagram is empty."}]}, status_code=422)
    if len(xml.encode()) > bpmn_check.MAX_FILE_BYTES:
        raise TooLarge("The diagram is too large.")
    name, original, _ = _source(db, source.get("key"), source.get("version"), source.get("shipped"))
    if source.get("shipped"):
        files = demo.shipped_files(demo.WORKFLOWS / name)
    else:
        files = browse.files_of(definitions.get(db, source["key"], source.get("version")))
    edited = bpmn_repair.restore_loop_refs(original, xml)
    files = [(n, edited.encode() if n == name else data) for n, data in files]
    try:
        definition, created = definitions.deploy(db, actor=person, files=files)
    except DefinitionInvalid as exc:
        db.rollback()
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, status_code=status_for(exc))
    return JSONResponse(
        {"key": definition.key, "version": definition.version, "created": created, "warnings": definition.warnings},
        status_code=201 if created else 200,
    )


@router.get("/definitions/{key}/versions/{version}/diagram.xml")
def definition_xml(key: str, version: Id, db: SessionDep, _person: WebDefinitionReader) -> Response:
    """The main BPMN file of a deployed version."""
    xml = browse.main_bpmn(definitions.get(db, key, version))
    if xml is None:
        raise NotFound("This version has no BPMN file.")
    return inert_xml(xml, f"{key}-v{version}.bpmn")


# --- people ------------------------------------------------------------------------------------------------------


@router.get("/people")
def people_page(request: Request, db: SessionDep, _person: WebHR) -> Response:
    """Import the org chart from CSV."""
    return page(request, "people.html", result=None, error=None, count=len(browse.directory(db)))


@router.post("/people", dependencies=[CSRF])
async def people_import(request: Request, db: SessionDep, person: WebHR) -> Response:
    """Create or update people from the uploaded CSV; per-row problems are listed."""
    form = await request.form()
    upload = form.get("file")
    result, status = None, 200
    error: str | dict[str, str] | None = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = Text(locale_for(request, person.locale)).t("Choose a CSV file first.", "请先选择一个 CSV 文件。")
        status = 422
    else:
        data = await upload.read(people.MAX_CSV_BYTES + 1)
        try:
            result = org_changes.import_people(db, data=data, actor=person.email)["people"]
        except InvalidInput as exc:
            db.rollback()
            error, status = refusal(exc), status_for(exc)
    return page(request, "people.html", status_code=status, result=result, error=error, count=len(browse.directory(db)))


# --- cycles ------------------------------------------------------------------------------------------------------


@router.get("/cycles")
def cycles_page(request: Request, db: SessionDep, _person: WebReader) -> Response:
    """Every cycle with its progress."""
    rows = [{"cycle": c, "counts": cycles.counts(db, c.id)} for c in browse.cycles(db)]
    return page(request, "cycles.html", rows=rows)


def _new_cycle_page(request: Request, db: SessionDep, status_code: int = 200, **values: Any) -> Response:
    names = {d.key: d.name or d.key for d in definitions.listing(db)}  # the latest version's name wins
    keys = sorted(names)
    return page(
        request,
        "cycle_new.html",
        status_code=status_code,
        keys=keys,
        names=names,
        departments=browse.departments(db),
        values={
            "name": "",
            "definition": keys[0] if keys else "",
            "mode": "all",
            "departments": [],
            "emails": "",
            "settings": "",
            **values.pop("values", {}),
        },
        **values,
    )


@router.get("/cycles/new")
def cycle_new(request: Request, db: SessionDep, _person: WebHR) -> Response:
    """Form for a new draft cycle."""
    return _new_cycle_page(request, db)


@router.post("/cycles", dependencies=[CSRF])
async def cycle_create(request: Request, db: SessionDep, person: WebHR) -> Response:
    """Create a draft cycle; problems come back per field."""
    form = await request.form()
    values: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "definition": str(form.get("definition") or ""),
        "mode": str(form.get("mode") or "all"),
        "departments": [str(d) for d in form.getlist("departments")],
        "emails": str(form.get("emails") or ""),
        "settings": str(form.get("settings") or ""),
    }
    participants: Any = "all"
    if values["mode"] == "departments":
        participants = {"departments": values["departments"]}
    elif values["mode"] == "emails":
        participants = {"emails": [e for e in values["emails"].replace(",", "\n").split() if e]}
    try:
        settings = json.loads(values["settings"]) if values["settings"].strip() else None
    except ValueError as exc:
        errors = [{"path": "settings", "message": f"Settings must be JSON: {exc}"}]
        return _new_cycle_page(request, db, 422, values=values, errors=errors)
    try:
        cycle = cycles.create_cycle(
            db,
            actor=person,
            name=values["name"],
            definition=values["definition"],
            participants=participants,
            settings=settings,
        )
    except (InvalidInput, NotFound) as exc:
        db.rollback()
        errors = exc.errors or [{"path": "definition", "message": exc.detail}]
        return _new_cycle_page(request, db, status_for(exc), values=values, errors=errors, detail=exc.detail)
    return RedirectResponse(f"/cycles/{cycle.id}", status_code=303)


def _dashboard(request: Request, db: SessionDep, cycle_id: int, **extra: Any) -> Response:
    cycle = cycles.get_cycle(db, cycle_id)
    counts = cycles.counts(db, cycle_id)
    person = request.state.viewer
    text = Text(locale_for(request, person.locale))
    completion = reports.completion(db, cycle_id)
    distribution = reports.distribution(db, cycle_id)
    keys = [
        ("done", text.t("Done", "已完成")),
        ("open", text.t("Open", "进行中")),
        ("overdue", text.t("Overdue", "已逾期")),
    ]

    def bars(items: list[dict[str, Any]], key: str, title: str) -> Any:
        rows = [
            (
                text.bi(i.get("title")) or str(i[key]),
                {"done": i["done"], "open": i["open"] - i["overdue"], "overdue": i["overdue"]},
            )
            for i in items
        ]
        return charts.stacked_bars(rows, keys, title)

    population = extra.pop("population", None)
    if population is None:
        population = cycles.preflight(db, cycle_id=cycle_id)["population"] if cycle.status != "active" else None
    return page(
        request,
        "cycle.html",
        cycle=cycle,
        counts=counts,
        population=population,
        completion=completion,
        phase_chart=bars(completion["by_phase"], "phase", text.t("Tasks by phase", "各阶段任务")),
        department_chart=bars(completion["by_department"], "department", text.t("Tasks by department", "各部门任务")),
        rating_chart=charts.histogram(
            distribution["overall"]["before"],
            distribution["overall"]["after"],
            (text.t("Before calibration", "校准前"), text.t("After calibration", "校准后")),
            text.t("Overall ratings", "整体评分分布"),
        ),
        instances=browse.instances(db, cycle_id=cycle_id),
        can_manage=policy.allows(person.roles, policy.MANAGE),
        **version_view.dashboard(db, cycle),
        **extra,
    )


@router.get("/cycles/{cycle_id}")
def cycle_page(cycle_id: Id, request: Request, db: SessionDep, _person: WebReader) -> Response:
    """A cycle's dashboard: status, launch progress, completion by phase and department, ratings."""
    return _dashboard(request, db, cycle_id)


@router.get("/cycles/{cycle_id}/progress.json")
def cycle_progress(cycle_id: Id, db: SessionDep, _person: WebReader) -> dict:
    """Launch progress for the dashboard to poll."""
    cycle = cycles.get_cycle(db, cycle_id)
    return {"status": cycle.status, "counts": cycles.counts(db, cycle_id)}


@router.post("/cycles/{cycle_id}/preflight", dependencies=[CSRF])
def cycle_preflight(cycle_id: Id, request: Request, db: SessionDep, _person: WebHR) -> Response:
    """Check every participant before launch; creates nothing."""
    result = cycles.preflight(db, cycle_id=cycle_id)
    return _dashboard(request, db, cycle_id, preflight=result, population=result["population"])


@router.post("/cycles/{cycle_id}/launch", dependencies=[CSRF])
def cycle_launch(cycle_id: Id, db: SessionDep, person: WebHR) -> Response:
    """Launch: one review per participant, started in the background."""
    cycles.launch(db, actor=person, cycle_id=cycle_id)
    return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)
