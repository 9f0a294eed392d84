"""The one error hierarchy of Reviewflow. No HTTP here: `api/errors.py` maps these to status codes."""

from __future__ import annotations

from typing import Any


class ReviewflowError(Exception):
    """Base class. `code` is the stable machine-readable name clients switch on. `detail` is the English sentence
    saying what to fix; `detail_zh`, when given, the same in Chinese (pages show the reader's language, the API sends
    both). Each of `errors` is one problem: `{"path", "message", "message_zh", "code"}` for a field."""

    code = "error"

    def __init__(
        self, detail: str, *, detail_zh: str | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = detail_zh
        self.errors = errors or []


class NotFound(ReviewflowError):
    code = "not_found"


class Unauthorized(ReviewflowError):
    code = "unauthorized"


class Forbidden(ReviewflowError):
    code = "forbidden"


class Conflict(ReviewflowError):
    code = "conflict"


class TooManyAttempts(ReviewflowError):
    """Too many failed sign-ins for an email or from an address; `retry_after` says in how many seconds to retry."""

    code = "too_many_attempts"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int,
        detail_zh: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail, detail_zh=detail_zh, errors=errors)
        self.retry_after = retry_after


class InvalidInput(ReviewflowError):
    """Request data that cannot be used as given (bad CSV, unknown definition, bad settings)."""

    code = "invalid_input"


class FormInvalid(ReviewflowError):
    """Submitted form data failed validation; `errors` holds one `{"path", "message"}` per problem."""

    code = "form_invalid"


class DefinitionInvalid(ReviewflowError):
    """A diagram or form file was refused; `errors` holds `{"file", "element", "line", "message"}`."""

    code = "definition_invalid"


class TooLarge(ReviewflowError):
    code = "too_large"


class Unrepeatable(Exception):  # noqa: N818 - a property of a failure, mixed into the errors that have it
    """A failure a retry would only repeat (a workflow step that failed, code the sandbox stopped): a job that
    fails so becomes an incident at once instead of running the same code `job_attempts` times."""


class WorkflowFailed(ReviewflowError, Unrepeatable):
    """A script, condition or other engine step failed; `errors` names the element and the reason."""

    code = "workflow_failed"


class CycleSettingsBroken(Conflict):
    """A cycle setting (e.g. the score formula) fails on a review's data; HR must correct the settings."""

    code = "cycle_settings_broken"  # `detail_zh` is joined to `detail` (" / ") once the caller adds what it did


# Task and review statuses as refusals name them in Chinese ("This task is already completed" …).
STATUS_ZH = {
    "open": "待处理",
    "completed": "已完成",
    "cancelled": "已取消",
    "withdrawn": "已撤回",
    "reset": "已重置",
    "running": "进行中",
    "waiting": "等待中",
    "failed": "失败",
    "suspended": "已暂停",
    "draft": "草稿",
    "launching": "发起中",
    "active": "进行中",
    "closed": "已结束",
    # a task's state inside the workflow engine (engine/bpmn/spiff.py)
    "future": "尚未开始",
    "likely": "尚未开始",
    "maybe": "尚未开始",
    "ready": "可以处理",
    "started": "处理中",
    "error": "出错",
}


def status_zh(status: str) -> str:
    """A status in Chinese for a refusal's `detail_zh` (the status itself if it has no translation)."""
    return STATUS_ZH.get(status, status)
