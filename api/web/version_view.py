"""What the version pages (api/web/version_pages.py) show beside the cycle dashboard and the instance page: the
deployed versions of a cycle's diagram, an instance's last move to another version, and the engine's reasons (why
a review cannot move, why a replay stopped, why an org change moves a task) in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.i18n import Text
from api.web.render import env
from engine.ops import migrate
from engine.org import policy
from engine.store.models import Cycle, Definition, Instance, Person, Task


def versions(session: Session, cycle: Cycle) -> list[int]:
    """The deployed versions of the cycle's diagram, newest first."""
    current = session.get(Definition, cycle.definition_id)
    if current is None:
        return []
    found = session.scalars(select(Definition.version).where(Definition.key == current.key))
    return sorted(found, reverse=True)


def dashboard(session: Session, cycle: Cycle) -> dict[str, Any]:
    """The extra context of the cycle dashboard's version panels."""
    return {"diagram_versions": versions(session, cycle)}


def instance(session: Session, person: Person, instance_id: int) -> dict[str, Any]:
    """The extra context of the instance page's "undo the move" action (for HR)."""
    return {"last_move": migrate.last_move(session, instance_id) if policy.allows(person, policy.MANAGE) else None}


_LANES: dict[str, str] = {"manager": "经理", "skip-level manager": "隔级经理", "hr": " HR 伙伴"}


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_ZH: list[_Rule] = [
    (re.compile(r"already on version (\d+)"), lambda m: f"已在版本 {m[1]}"),
    (re.compile(r"the review is already complete"), lambda m: "该评估已完成"),
    (
        re.compile(r"the review is (\w+)"),
        lambda m: "该评估" + {"completed": "已完成", "cancelled": "已取消"}.get(m[1], m[1]),
    ),
    (
        re.compile(r"waiting in task (.+) which version (\d+) removed"),
        lambda m: f"正在等待的任务 {m[1]} 在版本 {m[2]} 中已删除",
    ),
    (
        re.compile(r"running the called process '(.+)' which version (\d+) no longer has"),
        lambda m: f"正在运行的子流程“{m[1]}”在版本 {m[2]} 中已不存在",
    ),
    (
        re.compile(r"version (\d+) waits in (.+), which has no recorded answer"),
        lambda m: f"版本 {m[1]} 停在 {m[2]}，该步骤没有已记录的答案",
    ),
    (
        re.compile(r"(\S+) is no longer active: their review is cancelled and kept read only\."),
        lambda m: f"{m[1]} 已不在职：其评估将被取消，并以只读方式保留。",
    ),
    (
        re.compile(r"(.+) is no longer active: their feedback task is withdrawn\."),
        lambda m: f"{m[1]} 已不在职：其反馈任务将被撤回。",
    ),
    (
        re.compile(r"(.+) is no longer active: the task goes to (.*)\."),
        lambda m: f"{m[1]} 已不在职：任务转交给 {m[2] or '无人'}。",
    ),
    (
        re.compile(r"Org change: the (.+?) of (\S+) is now (.+) \(was (.+)\)\."),
        lambda m: f"组织变动：{m[2]} 的{_LANES.get(m[1], m[1])}现为 {_zh_people(m[3])}（原为 {_zh_people(m[4])}）。",
    ),
]


def _zh_people(text: str) -> str:
    return {"nobody": "无人", "HR (nobody in the lane)": "HR（该泳道无人）"}.get(text, text)


def reason(text: Text, message: str) -> str:
    """An engine reason in the reader's language (English as the engine wrote it; Chinese for the known ones)."""
    if not text.zh:
        return message
    for pattern, say in _ZH:
        found = pattern.fullmatch(message.strip())
        if found:
            return say(found)
    return message


def effects(session: Session, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The effects of an org change with what the page names them by: the task's title, whose review it is and the
    cycle's name (read after a dry run too: the tasks and reviews it names are still there)."""
    task_ids = {e["task_id"] for e in found if e["task_id"]}
    instance_ids = {e["instance_id"] for e in found}
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))} if task_ids else {}
    instances = (
        {i.id: i for i in session.scalars(select(Instance).where(Instance.id.in_(instance_ids)))}
        if instance_ids
        else {}
    )
    out = []
    for e in found:
        task, instance = tasks.get(e["task_id"]), instances.get(e["instance_id"])
        subject = instance.subject if instance is not None else None
        cycle = session.get(Cycle, e["cycle_id"]) if e["cycle_id"] else None
        out.append(
            {
                **e,
                "task_title": (task.title or task.name) if task is not None else None,
                "subject": subject.name if subject is not None else None,
                "cycle": cycle.name if cycle is not None else None,
            }
        )
    return out


env.globals["engine_reason"] = reason  # templates: engine_reason(tr, message)
