"""E-mail: bilingual (zh-CN / en) Jinja2 templates chosen by the recipient's locale, sent over SMTP (smtplib).
Without `REVIEWFLOW_SMTP_HOST` mail is written to the log instead (development)."""

from __future__ import annotations

import hashlib
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from engine.core import actors, clock
from engine.core.settings import get_settings
from engine.store.models import Cycle, Instance, Outbox, Person, Task

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")
KINDS = {
    "task.assigned": "assigned",
    "task.reminder": "reminder",
    "task.overdue": "overdue",
    "task.escalated": "escalated",
}
CONFIDENTIAL_LANES = set(actors.PER_ITEM)
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
_WEEKDAYS_ZH = "一二三四五六日"


def locale_of(person: Person) -> str:
    return "zh-CN" if (person.locale or "").lower().startswith("zh") else "en"


def format_date(value: datetime | None, locale: str) -> str | None:
    v = clock.as_utc(value)
    if v is None:
        return None
    if locale == "zh-CN":
        return f"{v.year}年{v.month}月{v.day}日（星期{_WEEKDAYS_ZH[v.weekday()]}）"
    return v.strftime("%A %-d %B %Y")


def render(kind: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of template `<kind>.<locale>.txt`, whose first line is `Subject: ...`."""
    text = _env.get_template(f"{kind}.{locale}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {kind}.{locale}.txt must start with 'Subject: '")
    return first[len("Subject: ") :].strip(), body.strip() + "\n"


def context_for(session: Session, row: Outbox) -> tuple[Person, str, dict[str, Any]] | None:
    """Recipient, template name and context of a task notification; None when there is nothing to say any more."""
    kind = KINDS.get(row.kind)
    task = session.get(Task, row.payload.get("task_id"))
    person = session.get(Person, row.payload.get("person_id"))
    if kind is None or task is None or person is None or not person.active or task.status != "open":
        return None
    instance = session.get(Instance, task.instance_id)
    subject = instance.subject if instance else None
    cycle_name = _cycle_name(session, instance)
    locale = locale_of(person)
    due = clock.as_utc(task.due_at)
    days_left = (due.date() - clock.now().date()).days if due else None
    base = get_settings().base_url.rstrip("/")
    assignees = [a.person for a in task.assignees]
    return (
        person,
        kind,
        {
            "task_id": task.id,
            "recipient": person.name,
            "task_title": task.title or task.name,
            "cycle": cycle_name or "",
            "subject_name": subject.name if subject else None,
            "about_self": subject is not None and subject.id == person.id,
            "due": format_date(due, locale),
            "days_left": days_left,
            "assignees": ", ".join(p.name for p in assignees),
            "to_assignee": person.id in {p.id for p in assignees},
            "grace_days": _grace(session, instance),
            "task_link": f"{base}/tasks/{task.id}",
            "review_link": f"{base}/instances/{task.instance_id}",
            "inbox_link": f"{base}/inbox",
            "confidential": actors.norm(task.lane) in CONFIDENTIAL_LANES,
        },
    )


def _cycle_name(session: Session, instance: Instance | None) -> str | None:
    cycle = session.get(Cycle, instance.cycle_id) if instance and instance.cycle_id else None
    return cycle.name if cycle else None


def _grace(session: Session, instance: Instance | None) -> int:
    cycle = session.get(Cycle, instance.cycle_id) if instance and instance.cycle_id else None
    return int(((cycle.settings or {}).get("reminders") or {}).get("grace_days") or 0) if cycle else 0


def message_id(dedupe_key: str) -> str:
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@reviewflow>"


def deliver(session: Session, row: Outbox) -> dict[str, Any] | None:
    """Send the mail of one outbox row; returns the event for webhooks (None when nothing was sent)."""
    found = context_for(session, row)
    if found is None:
        return None
    person, kind, ctx = found
    locale = locale_of(person)
    subject, body = render(kind, locale, ctx)
    msg = EmailMessage()
    s = get_settings()
    msg["From"], msg["To"], msg["Subject"] = s.mail_from, person.email, subject
    msg["Message-ID"] = message_id(row.dedupe_key)
    msg["Content-Language"] = locale
    msg.set_content(body)
    if s.smtp_host:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            smtp.send_message(msg)
    else:
        log.info("mail (no SMTP configured) to %s: %s", person.email, subject)
    return {
        "kind": row.kind,
        "task_id": ctx["task_id"],
        "recipient": person.email,
        "locale": locale,
        "title": subject if not ctx["confidential"] else _neutral(kind, locale),
        "due": ctx["due"],
        "link": ctx["task_link"] if ctx["to_assignee"] else ctx["inbox_link"],
    }


def _neutral(kind: str, locale: str) -> str:
    """A webhook line for anonymous feedback tasks: who it is for stays out of shared channels."""
    if locale == "zh-CN":
        return "您在 Reviewflow 有一项反馈任务" + ("待处理" if kind == "assigned" else "即将到期或已到期")
    return "You have a feedback request in Reviewflow" + ("" if kind == "assigned" else " that is due soon or overdue")
