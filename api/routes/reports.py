"""Cycle reports as JSON and as CSV for spreadsheets (UTF-8 with BOM, formula cells neutralised).

Readers see the whole cycle; an HR partner only the people partnered to them (engine/org/scope.py). Each JSON
report says which in `scope`, and a partner's exports are named `cycle-{id}-{name}-partner.csv|.xlsx`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import Id, ScopedReader, SessionDep
from api.responses import ERRORS, download
from api.schemas import Report
from engine import reports
from engine.core.errors import NotFound
from engine.org import scope
from engine.reports import calibration_deltas as calibration_report
from engine.reports import guidance, nine_box

router = APIRouter(prefix="/api/cycles", tags=["reports"], responses=ERRORS)

Table = tuple[list[str], list[list[Any]]]
Stage = Literal["before", "after"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _run(
    session: Session, cycle_id: int, name: str, by: str, stage: Stage = "before", subjects: scope.Subjects = None
) -> dict[str, Any]:
    """Run one report over `subjects` (None: the whole cycle); every runner loads only those people's data."""
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "completion": lambda: reports.completion(session, cycle_id, subjects=subjects),
        "distribution": lambda: reports.distribution(session, cycle_id, by=by, subjects=subjects),
        "leniency": lambda: reports.leniency(session, cycle_id, subjects=subjects),
        "goal-alignment": lambda: reports.goal_alignment(session, cycle_id, subjects=subjects),
        "participation": lambda: reports.participation_360(session, cycle_id, subjects=subjects),
        "guidance": lambda: guidance.report(session, cycle_id, by=by, stage=stage, subjects=subjects),
        "nine-box": lambda: nine_box.report(session, cycle_id, stage=stage, subjects=subjects),
        "calibration-deltas": lambda: calibration_report.deltas(session, cycle_id, subjects=subjects),
    }
    if name not in runners:
        known = sorted(runners)
        raise NotFound(
            f"No report named '{name}'. Reports: {', '.join(known)}.",
            errors=[{"path": "name", "message": "unknown report", "allowed": known}],
        )
    return runners[name]() | {"scope": scope.describe(subjects)}


def _filename(cycle_id: int, name: str, subjects: scope.Subjects, extension: str) -> str:
    """`cycle-3-completion.csv`, or `cycle-3-completion-partner.csv` for an HR partner's part of the cycle."""
    return f"cycle-{cycle_id}-{name}{'' if subjects is None else '-partner'}.{extension}"


def _label(manager: dict[str, Any] | None) -> str:
    return f"{manager['name']} <{manager['email']}>" if manager else "(none)"


def _completion(r: dict[str, Any]) -> Table:
    rows: list[list[Any]] = []
    for section, key, items in (
        ("phase", "phase", r["by_phase"]),
        ("department", "department", r["by_department"]),
        ("manager", "manager", r["by_manager"]),
    ):
        for item in items:
            group = _label(item[key]) if key == "manager" else item[key]
            rows.append([section, group, item["open"], item["done"], item["overdue"], "", ""])
    rows += [["slowest", s["phase"], "", "", "", s["median_hours"], s["completed"]] for s in r["slowest_steps"]]
    return ["section", "group", "open", "done", "overdue", "median_hours", "completed"], rows


def _distribution(r: dict[str, Any]) -> Table:
    rows: list[list[Any]] = []
    groups = [("(all)", r["overall"])] + [
        (_label(g["manager"]) if r["by"] == "manager" else g["group"], g) for g in r["groups"]
    ]
    for label, g in groups:
        for value in sorted(set(g["before"]) | set(g["after"])):
            rows.append([label, value, g["before"].get(value, 0), g["after"].get(value, 0)])
    return [r["by"], "rating", "before", "after"], rows


def _leniency(r: dict[str, Any]) -> Table:
    header = [
        "manager",
        "email",
        "team_size",
        "team_mean",
        "others_mean",
        "difference",
        "ci95_low",
        "ci95_high",
        "flag",
    ]
    rows = [
        [
            m["manager"]["name"],
            m["manager"]["email"],
            m["team_size"],
            m["team_mean"],
            m["others_mean"],
            m["difference"],
            *(m["ci95"] or ["", ""]),
            m["flag"],
        ]
        for m in r["managers"]
    ]
    return header, rows


def _goal_alignment(r: dict[str, Any]) -> Table:
    rows = [["(all)", r["goals"], r["aligned"], r["share"]]]
    rows += [[d["department"], d["goals"], d["aligned"], d["share"]] for d in r["by_department"]]
    return ["department", "goals", "aligned", "share"], rows


def _participation(r: dict[str, Any]) -> Table:
    header = [
        "perspective",
        "requested",
        "answered",
        "declined",
        "open",
        "answer_rate",
        "decline_rate",
        "response_rate",
    ]
    return header, [[p[h] for h in header] for p in r["perspectives"]]


def _guidance(r: dict[str, Any]) -> Table:
    header = ["group", "band", "count", "share", "target", "allowed_min", "allowed_max", "move"]
    rows = [
        [g["group"], b["band"], b["count"], b["share"], b["target"], b["allowed"][0], b["allowed"][1], b["move"]]
        for g in [{"group": "(all)", **r["overall"]}, *r["groups"]]
        for b in g["bands"]
    ]
    return header, rows


def _nine_box(r: dict[str, Any]) -> Table:
    header = ["performance", "potential", "name", "email", "department", "rating"]
    rows = [
        [c["performance"], c["potential"], p["name"], p["email"], p["department"], p["rating"]]
        for c in r["cells"]
        for p in c["people"]
    ]
    rows += [["not yet rated", "", p.get("name"), p.get("email"), p.get("department"), ""] for p in r["not_yet_rated"]]
    return header, rows


TABLES: dict[str, Callable[[dict[str, Any]], Table]] = {
    "completion": _completion,
    "distribution": _distribution,
    "leniency": _leniency,
    "goal-alignment": _goal_alignment,
    "participation": _participation,
    "guidance": _guidance,
    "nine-box": _nine_box,
    "calibration-deltas": calibration_report.table,
}


def safe_cell(value: Any) -> Any:
    """Numbers pass as they are; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_START) else text
    return value


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet, bold frozen header; every text cell stored as text (never evaluated as a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/{cycle_id}/reports/{name}.xlsx", response_class=Response, responses=download(XLSX, "The report as a workbook.")
)
def report_xlsx(
    cycle_id: Id, name: str, session: SessionDep, actor: ScopedReader, by: str = "department", stage: Stage = "before"
) -> Response:
    """A report as an Excel workbook."""
    subjects = scope.subjects_in_scope(session, actor)
    report = _run(session, cycle_id, name, by, stage, subjects)
    header, rows = TABLES[name](report)
    filename = _filename(cycle_id, name, subjects, "xlsx")
    return Response(
        to_xlsx(name, header, rows),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# The .csv and .xlsx routes are declared first: `{name}` alone would also match "completion.csv".
@router.get(
    "/{cycle_id}/reports/{name}.csv",
    response_class=Response,
    responses=download("text/csv", "The report as CSV (UTF-8 with BOM).", text=True),
)
def report_csv(
    cycle_id: Id, name: str, session: SessionDep, actor: ScopedReader, by: str = "department", stage: Stage = "before"
) -> Response:
    """A report as CSV (UTF-8 with BOM so spreadsheets show Chinese names; one header row)."""
    subjects = scope.subjects_in_scope(session, actor)
    report = _run(session, cycle_id, name, by, stage, subjects)
    header, rows = TABLES[name](report)
    filename = _filename(cycle_id, name, subjects, "csv")
    return Response(
        to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# exclude_unset: a scope of the whole cycle is `{"kind": "all"}`, without a `people` count
@router.get("/{cycle_id}/reports/{name}", response_model=Report, response_model_exclude_unset=True)
def report(
    cycle_id: Id, name: str, session: SessionDep, actor: ScopedReader, by: str = "department", stage: Stage = "before"
) -> dict:
    """A cycle report (see the names in a 404), over the caller's scope: `"scope": {"kind": "all" | "partner"}`."""
    return _run(session, cycle_id, name, by, stage, scope.subjects_in_scope(session, actor))
