"""Tables of the job layer: launch chunks (bulk launch progress and claims), reminders sent, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.core import clock
from engine.store.db import Base


class LaunchChunk(Base):
    """Up to `launch_chunk_size` participants of a cycle started by one job in one transaction."""

    __tablename__ = "launch_chunk"
    __table_args__ = (UniqueConstraint("cycle_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    person_ids: Mapped[list[int]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending, done
    started: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"person_id", "email", "problem"}]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReminderSent(Base):
    """Reminder `number` of a task went out (1..n before the due date, then overdue, then escalated): at most once."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("task_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # reminder, overdue, escalated
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Incident(Base):
    """A job that failed on every attempt; HR sees it and may resolve it, which runs the job once more."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open, retrying, resolved
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
