"""The one place that maps Reviewflow's errors to HTTP: JSON bodies `{"error", "detail", "errors"}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors as e
from engine.audit_anchor import AuditKeyMissing

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
    AuditKeyMissing: 503,  # the server's audit key file is gone: nothing can be recorded until it is restored
}


def body(code: str, detail: str, errors: list | None = None) -> dict:
    return {"error": code, "detail": detail, "errors": errors or []}


def install(app: FastAPI) -> None:
    @app.exception_handler(e.ReviewflowError)
    async def _domain(_request: Request, exc: e.ReviewflowError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body(exc.code, exc.detail, exc.errors), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": "/".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return JSONResponse(
            body("invalid_request", "The request is not in the expected shape.", errors), status_code=422
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
