"""HTML pages for every role, mounted at `/` beside the JSON API (which stays under /api).

`install(app)` adds the page routers, the static files and error handling that answers pages with pages: not
signed in -> the login page; an engine error -> a kind page with the status the API gives the same error
(api/errors.py `status_for`: 403, 404, 409, 422, ...); /api keeps its JSON errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import status_for
from api.web import (
    audit_pages,
    hr_pages,
    oidc_pages,
    ops_pages,
    participant_pages,
    session,
    task_admin_pages,
    team_pages,
    version_pages,
)
from api.web.render import page
from engine.core import errors as e

STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/api", "/docs", "/openapi.json", "/redoc", "/healthz")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def wants_json(request: Request) -> bool:
    return "application/json" in (request.headers.get("accept") or "") or request.url.path.endswith(
        (".xml", ".json", ".csv")
    )


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (participant_pages, oidc_pages, hr_pages, audit_pages, ops_pages, task_admin_pages, version_pages)
    for module in (*pages, team_pages):
        app.include_router(module.router)
    json_domain = app.exception_handlers[e.ReviewflowError]
    json_http = app.exception_handlers[StarletteHTTPException]

    async def login_required(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET" or wants_json(request):
            return JSONResponse({"error": "unauthorized", "detail": "Sign in again."}, status_code=401)
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)

    async def domain(request: Request, exc: Exception) -> Response:
        if not is_page(request) or wants_json(request):
            return await json_domain(request, exc)  # type: ignore[misc]
        assert isinstance(exc, e.ReviewflowError)
        answer = error_page(request, status_for(exc), exc.detail, exc.detail_zh)  # the API's status for it
        if isinstance(exc, e.TooManyAttempts):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    async def http(request: Request, exc: Exception) -> Response:
        if not is_page(request) or wants_json(request):
            return await json_http(request, exc)  # type: ignore[misc]
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code, str(exc.detail))

    async def busy(request: Request, exc: Exception) -> Response:
        answer = await json_busy(request, exc)  # type: ignore[misc]
        if not is_page(request) or wants_json(request) or answer.status_code != 503:
            return answer
        detail = json.loads(answer.body)["detail"]
        page_answer = error_page(request, 503, detail)
        page_answer.headers["Retry-After"] = answer.headers["Retry-After"]
        return page_answer

    json_busy = app.exception_handlers[PoolTimeout]
    app.add_exception_handler(PoolTimeout, busy)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(session.LoginRequired, login_required)
    app.add_exception_handler(e.ReviewflowError, domain)
    app.add_exception_handler(StarletteHTTPException, http)


def error_page(request: Request, status: int, detail: str, detail_zh: str | None = None) -> Response:
    """The error page; it shows `detail_zh` instead of `detail` to a reader of Chinese pages when there is one."""
    refused = {"message": detail, "message_zh": detail_zh or ""}
    return page(request, "error.html", status_code=status, status=status, detail=detail, refused=refused)
