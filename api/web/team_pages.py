"""A manager's team page, the reader's time zone setting and the task form's autosave (a draft saved by the page's
script with the session and its CSRF token, the same parsing as the form's own "Save draft")."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.deps import Id, SessionDep
from api.web import formkit, zones
from api.web.render import page
from api.web.session import CSRF, WebPerson
from engine.core import clock
from engine.core.errors import InvalidInput
from engine.org import people
from engine.process import runtime
from engine.queries import inbox, views

router = APIRouter(include_in_schema=False)


@router.get("/team")
def team(request: Request, db: SessionDep, person: WebPerson) -> Response:
    """Each direct report's stage in each running cycle, what waits on me, what is overdue (403 without reports)."""
    return page(request, "team.html", team=inbox.team(db, manager=person))


@router.post("/settings/time-zone", dependencies=[CSRF])
async def set_time_zone(request: Request, db: SessionDep, person: WebPerson) -> Response:
    """Remember the zone the pages show times in: on the person (every device) and in this browser's cookie."""
    form = await request.form()
    name = zones.valid(str(form.get("tz") or "").strip())
    if name is None:
        raise InvalidInput(
            "Choose a time zone by its name, for example Asia/Shanghai or Europe/London.",
            detail_zh="请按名称选择时区，例如 Asia/Shanghai 或 Europe/London。",
        )
    people.set_time_zone(db, person_id=person.id, zone=name)
    target = str(form.get("next") or "/inbox")
    response = RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/inbox", 303)
    zones.remember(response, name)
    return response


@router.put("/tasks/{task_id}/draft", dependencies=[CSRF])
async def autosave(task_id: Id, request: Request, db: SessionDep, person: WebPerson) -> Response:
    """The form's fields as they are now, kept as the task's draft; answers when it was saved."""
    view = views.task_detail(db, actor=person, task_id=task_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    data = formkit.parse(view["form"]["schema"], fields, view.get("context") or {})
    runtime.save_draft(db, task_id=task_id, actor=person, data=data)
    return JSONResponse({"id": task_id, "saved": True, "saved_at": clock.now().isoformat()})
