"""Tables for erasure (PIPL / GDPR): the personal values of audit events, kept apart from the chained row so they can
be erased without breaking the chain, and the requests to erase a person (asked by one HR admin, approved by another).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.core import clock
from engine.store.db import Base


class AuditPersonal(Base):
    """One personal value of an audit event: the chained payload holds `{"$pii": HMAC(audit key, seq, path, value)}`
    at `path` instead. Erasure sets `value` to NULL (and `erased_at`); the event's MAC is untouched."""

    __tablename__ = "audit_personal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # the audit_event's seq
    path: Mapped[str] = mapped_column(String(500), primary_key=True)  # where in the payload, "data/comment", "to/0"
    value: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ErasureRequest(Base):
    """A request to erase a person; carried out only when a second HR admin approves it."""

    __tablename__ = "erasure_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, done
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what was erased, counted per place
