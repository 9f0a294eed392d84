"""The refusals a person meets acting on a task, in English and Chinese (pages show the reader's language; the API
sends both: `detail`, `detail_zh`). The English texts are the ones clients and tests match; keep them as they are."""

from __future__ import annotations

from collections.abc import Iterable

from engine.core.errors import Conflict, Forbidden, NotFound, status_zh


def task_not_found(task_id: int) -> NotFound:
    """A task that does not exist or that the actor may not see (the two are not told apart)."""
    return NotFound(
        f"No task with id {task_id} for you.",
        detail_zh=f"没有找到编号为 {task_id} 的任务，或你无权查看它。",
    )


def instance_not_found(instance_id: int) -> NotFound:
    return NotFound(f"No instance with id {instance_id}.", detail_zh=f"没有编号为 {instance_id} 的评估。")


def task_done(status: str, en: str, zh: str) -> Conflict:
    """The task is no longer open: `en` and `zh` say what was therefore not done ("nothing was changed")."""
    return Conflict(
        f"This task is already {status}; {en}",
        detail_zh=f"该任务的状态已是“{status_zh(status)}”，{zh}",
    )


def needs_roles(roles: Iterable[str], en: str = "This needs", zh: str = "此操作需要") -> Forbidden:
    named = ", ".join(roles)
    return Forbidden(f"{en} one of the roles: {named}.", detail_zh=f"{zh}以下角色之一：{named}。")


def only_assignee() -> Forbidden:
    return Forbidden(
        "Only the person this task is assigned to can complete it.",
        detail_zh="只有此任务的负责人本人才能完成它。",
    )


def reassigned_away() -> Conflict:
    return Conflict(
        "This task was given to someone else while you were working on it; nothing was saved or submitted.",
        detail_zh="在你填写期间，此任务已转交给其他人；本次没有保存或提交任何内容。",
    )
