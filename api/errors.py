"""The one place that maps Reviewflow's errors to HTTP: JSON bodies `{"error", "detail", "errors"}` (and `detail_zh`,
the same in Chinese, when the error has it; each field problem then has `message_zh` too), and the status
code of every engine error for the API and the pages alike (`status_for`; the pages answer in HTML: api/web)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.audit.anchor import AuditKeyMissing
from engine.core import errors as e
from engine.core.settings import get_settings

log = logging.getLogger(__name__)

STATUS = {
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.TooLarge: 413,
    e.TooManyAttempts: 429,
    e.InvalidInput: 422,
    e.FormInvalid: 422,
    e.DefinitionInvalid: 422,
    e.WorkflowFailed: 422,
    AuditKeyMissing: 503,  # the server's audit key file is gone: nothing can be recorded until it is restored
}


def status_for(exc: Exception) -> int:
    """The HTTP status of an engine error, the same in the JSON API and on the pages (400 for one not listed)."""
    return next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)


def body(code: str, detail: str, errors: list | None = None, detail_zh: str | None = None) -> dict:
    out = {"error": code, "detail": detail, "errors": errors or []}
    return {**out, "detail_zh": detail_zh} if detail_zh else out


# The database refusing more work, not a fault: PostgreSQL out of connection slots (53300 too_many_connections,
# 57P03 cannot_connect_now) or SQLite still locked after its busy timeout. Clients should come back, so 503.
_OVERLOAD_SQLSTATES = {"53300", "57P03"}


def _overloaded(exc: OperationalError) -> bool:
    state = getattr(exc.orig, "sqlstate", None)
    return state in _OVERLOAD_SQLSTATES or "database is locked" in str(exc) or "too many clients" in str(exc)


MAX_ERRORS, MAX_TEXT = 50, 200


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def shape_errors(found: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as `{"path", "message"}`, without the `input` it echoes (which may be megabytes), clipped
    and at most MAX_ERRORS of them: a bad body must not come back many times larger as the error."""
    out = [
        {"path": _clip("/".join(str(p) for p in err.get("loc", ())[1:])), "message": _clip(str(err.get("msg", "")))}
        for err in found[:MAX_ERRORS]
    ]
    if len(found) > MAX_ERRORS:
        out.append({"path": "", "message": f"…and {len(found) - MAX_ERRORS} more problems like these."})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(e.ReviewflowError)
    async def _domain(_request: Request, exc: e.ReviewflowError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, e.TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        answer = body(exc.code, exc.detail, exc.errors, exc.detail_zh)
        return JSONResponse(answer, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            body("invalid_request", "The request is not in the expected shape.", shape_errors(exc.errors())),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }.get(exc.status_code, "error")
        return JSONResponse(
            body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    async def _busy(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError) and not _overloaded(exc):
            return await _crash(_request, exc)
        log.warning("database busy, answered 503: %s", exc.__class__.__name__)
        retry = get_settings().retry_after_s
        return JSONResponse(
            body(
                "busy",
                f"The server is busy right now and did not change anything; please try again in {retry} seconds. "
                f"服务器繁忙，本次没有做任何更改；请在 {retry} 秒后重试。",
            ),
            status_code=503,
            headers={"Retry-After": str(retry)},
        )

    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(OperationalError, _busy)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(body("internal", "Something went wrong on our side; nothing was changed."), status_code=500)
