"""What the OpenAPI document says about responses that are not a route's own body: the error body every refusal
has (api/errors.py makes it), and the media types of file downloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every refusal and failure: a code to branch on, a sentence saying what to fix, and per-field problems."""

    error: str = Field(examples=["not_found", "form_invalid", "invalid_request", "forbidden", "conflict", "busy"])
    detail: str
    detail_zh: str | None = Field(default=None, description="The detail in Chinese (zh-CN), when the error has it.")
    # usually {"path", "message", "message_zh", "code"}; a definition's problems have "file", "element", "line"
    errors: list[dict[str, Any]] = []


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every JSON router: what api/errors.py answers with (the BodySizeLimit middleware's 413 too).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Refused for another reason the detail names."),
    401: _error("Not signed in, or the token is expired or revoked."),
    403: _error("Signed in, but not allowed to do this."),
    404: _error("No such thing, or not one the caller may see."),
    409: _error("Not possible in the current state (e.g. the task is already completed)."),
    413: _error("The request body or an uploaded file is too large."),
    422: _error("The request or the submitted form is invalid; `errors` names each problem."),
    500: _error("An unexpected fault on the server; nothing was changed."),
    503: _error("The server is busy (try again after Retry-After seconds) or its audit key is missing."),
}

TOO_MANY_ATTEMPTS: dict[int | str, dict[str, Any]] = {
    429: _error("Too many failed sign-ins; try again after Retry-After seconds."),
}


def download(media_type: str, description: str, *, text: bool = False) -> dict[int | str, dict[str, Any]]:
    """The 200 response of a route answering with a file, not JSON."""
    schema = {"type": "string"} if text else {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}
