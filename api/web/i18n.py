"""Page language: zh-CN or en. A chosen language (cookie) wins, then the person's locale, then the browser's."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from engine.core import clock
from engine.core.errors import ReviewflowError

LANGS = ("en", "zh-CN")
COOKIE = "rf_lang"


def locale_for(request: Request, person_locale: str | None = None) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGS:
        return chosen
    if person_locale in LANGS:
        return str(person_locale)
    accept = (request.headers.get("accept-language") or "").lower()
    return "zh-CN" if accept.startswith("zh") else "en"


def refusal(exc: ReviewflowError) -> dict[str, str]:
    """An engine refusal as a page keeps it to show later in the reader's language (`Text.error`)."""
    return {"message": exc.detail, "message_zh": exc.detail_zh or ""}


def _han(text: str) -> int:
    return sum("\u2e80" <= c <= "\u9fff" for c in text)


def _latin(text: str) -> int:
    return sum(c.isascii() and c.isalpha() for c in text)


class Text:
    """Template helpers bound to one locale: `t(en, zh)`, schema labels, dates, i18n dicts."""

    def __init__(self, locale: str, zone: str = "UTC") -> None:
        self.locale = locale
        self.zh = locale == "zh-CN"
        self.zone = zone  # an IANA name (api/web/zones.py): times are shown there, with the zone's name

    def t(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    def label(self, node: Any, key: str = "title") -> str:
        """`title`/`description` of a schema node in this locale (x-i18n), falling back to English."""
        if not isinstance(node, dict):
            return ""
        local = ((node.get("x-i18n") or {}).get(self.locale) or {}).get(key)
        return str(local if local else node.get(key) or "")

    def pick(self, value: Any) -> Any:
        """An `{"en": ..., "zh-CN": ...}` dict becomes the text for this locale; anything else is returned as is."""
        if isinstance(value, dict) and ("en" in value or "zh-CN" in value) and len(value) <= 2:
            return value.get(self.locale) or value.get("en") or value.get("zh-CN")
        return value

    def bi(self, text: str | None) -> str:
        """ "English / 中文" texts (as the shipped diagrams write names and instructions) show the reader's half. The
        halves may hold people's names in either script ("Hi 冯雪, … / 冯雪，你好 …"): the split is the " / " with
        mostly Latin letters before it and mostly Chinese after it."""
        if not text or " / " not in text:
            return text or ""
        parts = text.split(" / ")
        best, score = None, 0
        for i in range(1, len(parts)):
            en, zh = " / ".join(parts[:i]), " / ".join(parts[i:])
            if _latin(en) > _han(en) and _han(zh) > _latin(zh):
                fit = _latin(en) - _han(en) + _han(zh) - _latin(zh)  # the cleanest cut between the two scripts
                if fit > score:
                    best, score = (en, zh), fit
        if best is None:
            return text
        return best[1] if self.zh else best[0]

    def version(self, number: Any) -> str:
        """A diagram version as a reader says it: "v3" / "第 3 版"."""
        return f"第 {number} 版" if self.zh else f"v{number}"

    def error(self, err: dict[str, Any] | str) -> str:
        """A field problem or a refusal kept as `{"message", "message_zh"}` (`refusal`) in this locale."""
        if isinstance(err, str):
            return err
        return str((err.get("message_zh") if self.zh else None) or err.get("message") or "")

    def detail(self, exc: ReviewflowError) -> str:
        """An engine refusal in this locale: its `detail_zh` on a Chinese page when it has one, else `detail`."""
        return (exc.detail_zh if self.zh else None) or exc.detail

    def when(self, value: Any, with_time: bool = True) -> str:
        if not value:
            return ""
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        at = clock.as_utc(at) or at
        if self.zone != "UTC":
            at = at.astimezone(ZoneInfo(self.zone))
        return at.strftime(f"%Y-%m-%d %H:%M {self.zone}" if with_time else "%Y-%m-%d")


# Labels for the read-only values forms show (`x-context`), by task-data path.
CONTEXT_LABELS: dict[str, tuple[str, str]] = {
    "actions": ("Steps", "具体行动"),
    "appeal_outcome": ("Outcome of the review request", "复核结果"),
    "appeal_reason": ("Why a review was requested", "申请复核的理由"),
    "appeal_response": ("HR's response", "HR 的答复"),
    "calibration_view": ("Calibration", "校准"),
    "changed_overall": ("Corrected overall rating", "更正后的整体评分"),
    "development_goals": ("Development goals", "发展目标"),
    "due_date": ("Due date", "截止日期"),
    "feedback_summary": ("360 feedback summary", "360 反馈汇总"),
    "final_score": ("Final score", "最终得分"),
    "goal": ("Goal", "目标"),
    "goal_feedback": ("Note from your manager", "经理的意见"),
    "goals": ("Agreed goals", "已商定的目标"),
    "idp_comment": ("Manager's comment on the plan", "经理对计划的意见"),
    "manager_overall": ("Manager's overall rating", "经理给出的整体评分"),
    "manager_summary": ("Manager's summary", "经理的总结"),
    "members": ("People in this group", "本组人员"),
    "nominees": ("Colleagues nominated", "提名的同事"),
    "objectives": ("Objectives", "改进目标"),
    "review_date": ("Review date", "复查日期"),
    "self_competency_ratings": ("Self-ratings of competencies", "能力自评"),
    "self_goal_ratings": ("Self-ratings of goals", "目标自评"),
    "self_overall": ("Overall self-rating", "整体自评"),
    "self_summary": ("Self-review summary", "自评总结"),
    "settings.calibration_reasons": ("Reasons for a rating change", "评分调整的原因"),
    "settings.company_goals": ("Company goals", "公司目标"),
    "settings.competencies": ("Competencies", "能力项"),
    "support": ("Support offered", "提供的支持"),
    "support_needed": ("Support needed", "需要的支持"),
}


def context_label(text: Text, path: str) -> str:
    en, zh = CONTEXT_LABELS.get(path, (path.replace("settings.", "").replace("_", " ").capitalize(), ""))
    return text.t(en, zh or en)


STATUSES: dict[str, tuple[str, str]] = {
    "draft": ("Draft", "草稿"),
    "launching": ("Launching", "发起中"),
    "active": ("Active", "进行中"),
    "closed": ("Closed", "已结束"),
    "running": ("In progress", "进行中"),
    "waiting": ("Waiting", "等待中"),
    "completed": ("Completed", "已完成"),
    "failed": ("Failed", "失败"),
    "suspended": ("Suspended", "已暂停"),
    "open": ("Open", "待处理"),
    "cancelled": ("Cancelled", "已取消"),
    # SpiffWorkflow's task states, as the timeline's "task.state" events record them
    "ready": ("Ready", "就绪"),
    "started": ("Started", "已开始"),
    "future": ("Not yet reached", "尚未到达"),
    "likely": ("Likely next", "可能到达"),
    "maybe": ("Possibly next", "或将到达"),
    "error": ("Failed", "出错"),
}

# Who acted, when it was Reviewflow itself rather than a person ("system:<part>" in the audit log).
SYSTEM_ACTORS: dict[str, tuple[str, str]] = {
    "system:launcher": ("Reviewflow (cycle launch)", "Reviewflow（周期发起）"),
    "system:timers": ("Reviewflow (timer)", "Reviewflow（定时器）"),
    "system:jobs": ("Reviewflow (background job)", "Reviewflow（后台任务）"),
    "system:cli": ("Reviewflow (command line)", "Reviewflow（命令行）"),
    "system:demo": ("Reviewflow (demo data)", "Reviewflow（演示数据）"),
    "system:sandbox": ("Reviewflow (script sandbox)", "Reviewflow（脚本沙箱）"),
}


def actor_label(text: Text, actor: str | None) -> str:
    """A person's email as recorded; Reviewflow's own parts in the reader's language."""
    if not actor or not actor.startswith("system:"):
        return actor or ""
    en, zh = SYSTEM_ACTORS.get(actor, ("Reviewflow", "Reviewflow"))
    return text.t(en, zh)


def status_label(text: Text, status: str) -> str:
    en, zh = STATUSES.get(status, (status, status))
    return text.t(en, zh)


# What happened, as the timeline names it (the action code stays in the exports and beside the label).
ACTIONS: dict[str, tuple[str, str]] = {
    "instance.started": ("Review started", "评估开始"),
    "sign_in.refused": ("Sign-in refused", "登录被拒绝"),
    "instance.cancelled": ("Review cancelled", "评估已取消"),
    "instance.migrated": ("Moved to a new diagram version", "已迁移到新版本流程"),
    "instance.migration_reverted": ("Move to the new version undone", "已撤销版本迁移"),
    "task.created": ("Task opened", "任务已创建"),
    "task.completed": ("Submitted", "已提交"),
    "task.draft_saved": ("Draft saved", "草稿已保存"),
    "task.cancelled": ("Task closed by the workflow", "任务已由流程关闭"),
    "task.withdrawn": ("Task withdrawn", "任务已撤回"),
    "task.reassigned": ("Task reassigned", "任务已转交"),
    "task.delegated": ("Task delegated", "任务已委托"),
    "task.reopened": ("Task reopened", "任务已重新打开"),
    "task.due_changed": ("Due date changed", "截止日期已更改"),
    "task.state": ("Workflow step", "流程步骤"),
    "message.delivered": ("Message received", "已收到消息"),
    "timer.fired": ("Timer fired", "定时器已触发"),
    "workflow.failed": ("A step failed", "步骤失败"),
    "calibration.changed": ("Calibration changed a rating", "校准调整了评分"),
    "calibration.locked": ("Calibration agreed", "校准已确认"),
    "cycle.participants_added": ("People added to the cycle", "已向周期添加人员"),
}


def action_label(text: Text, action: str) -> str:
    en, zh = ACTIONS.get(action, (action, action))
    return text.t(en, zh)


def action_summary(text: Text, payload: Any) -> str:
    """For an HR action on a review: who had it, who has it now, on whose behalf, and why — one line."""
    if not isinstance(payload, dict):
        return ""
    parts = []

    def people(value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else str(value)

    if payload.get("from") and payload.get("to"):
        parts.append(
            text.t(
                f"from {people(payload['from'])} to {people(payload['to'])}",
                f"从 {people(payload['from'])} 到 {people(payload['to'])}",
            )
        )
    if payload.get("on_behalf_of"):
        parts.append(text.t(f"on behalf of {people(payload['on_behalf_of'])}", f"代 {people(payload['on_behalf_of'])}"))
    if payload.get("until"):  # a delegation's end
        parts.append(text.t(f"until {text.when(payload['until'])}", f"截至 {text.when(payload['until'])}"))
    before, after = payload.get("before"), payload.get("after")
    if isinstance(before, dict) and isinstance(after, dict) and after.get("due_at"):  # a due date moved
        old, new = text.when(before.get("due_at")) or text.t("none", "无"), text.when(after["due_at"])
        parts.append(text.t(f"due {new} instead of {old}", f"截止时间改为 {new}（原为 {old}）"))
    if payload.get("reason"):
        parts.append(text.t(f"reason: {payload['reason']}", f"理由：{payload['reason']}"))
    return " · ".join(parts)
