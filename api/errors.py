"""The one place that maps Reviewflow's errors to HTTP: JSON bodies `{"error", "detail", "errors"}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors as e

log = logging.getLogger(__name__)

STATUS = {
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.TooLarge: 413,
    e.InvalidInput: 422,
    e.FormInvalid: 422,
    e.DefinitionInvalid: 422,
    e.WorkflowFailed: 422,
}


def body(code: str, detail: str, errors: list | None = None) -> dict:
    return {"error": code, "detail": detail, "errors": errors or []}


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
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body(exc.code, exc.detail, exc.errors), status_code=status, headers=headers)

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

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(body("internal", "Something went wrong on our side; nothing was changed."), status_code=500)
