"""SQLAlchemy models: people and accounts, definitions, cycles, instances, their task/timer/outbox projections,
and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.core import clock
from engine.store.db import Base

Json = JSON


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_no: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    hr_partner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    department: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA name chosen by the person; None: the browser's
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    employee: Mapped[bool] = mapped_column(Boolean, default=True)  # False: an account-only login (e.g. auditor)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now, onupdate=clock.now)

    manager: Mapped[Person | None] = relationship(remote_side=[id], foreign_keys=[manager_id])
    hr_partner: Mapped[Person | None] = relationship(remote_side=[id], foreign_keys=[hr_partner_id])
    account: Mapped[Account | None] = relationship(back_populates="person", uselist=False)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    person: Mapped[Person] = relationship(back_populates="account")


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    # "api": a bearer token (`token create`, `POST /api/auth/token`); "session": a web page session, whose secret
    # travels only in the signed cookie and is refused as a bearer token
    kind: Mapped[str] = mapped_column(String(20), default="api", server_default="api")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(320))  # email of who revoked it, or "system:cli"

    person: Mapped[Person] = relationship()


class SignInFailure(Base):
    """A sign-in attempt that has not succeeded (yet): counted per email and per client address to lock out guessing.

    An attempt is written before the password is checked and deleted when it succeeds, so parallel guesses in
    several processes count too. `cleared_at` ends its part in the account's count (a success or HR's unlock) while
    it still counts for its address."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)  # as typed (normalised), known or not
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Definition(Base):
    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    digest: Mapped[str] = mapped_column(String(64))  # sha256 over the files' names and sha256s
    has_scripts: Mapped[bool] = mapped_column(Boolean, default=False)
    lanes: Mapped[list[str]] = mapped_column(Json, default=list)
    warnings: Mapped[list[Any]] = mapped_column(Json, default=list)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    files: Mapped[list[DefinitionFile]] = relationship(order_by="DefinitionFile.id")


class DefinitionFile(Base):
    __tablename__ = "definition_file"
    __table_args__ = (UniqueConstraint("definition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | json
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


class Cycle(Base):
    __tablename__ = "cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    participants: Mapped[Any] = mapped_column(Json)
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft, launching, active, closed
    launch_problems: Mapped[list[Any]] = mapped_column(Json, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    definition: Mapped[Definition] = relationship()


class Instance(Base):
    __tablename__ = "instance"
    __table_args__ = (UniqueConstraint("cycle_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    # a person's review has a subject; a cycle-level process (calibration) has none (NULLs never collide in the key)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="review", server_default="review")  # or calibration
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    status: Mapped[str] = mapped_column(String(20), default="running")
    state: Mapped[str] = mapped_column(Text, default="")
    lanes: Mapped[dict[str, list[str]]] = mapped_column(Json, default=dict)  # lane -> emails, frozen at launch
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __mapper_args__ = {"version_id_col": version}

    subject: Mapped[Person | None] = relationship()
    definition: Mapped[Definition] = relationship()



class InstanceMigration(Base):
    """One move of an instance to another version of its diagram, with what it ran on before: kept so HR can revert
    while nothing has happened since (`snapshot_after`: the workflow's task states right after the move)."""

    __tablename__ = "instance_migration"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    previous_state: Mapped[str] = mapped_column(Text)
    snapshot_after: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20), default="applied")  # applied, reverted
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    reverted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

class CalibrationGroup(Base):
    """People of one cycle calibrated together by a committee and a facilitator, in a cycle-level instance."""

    __tablename__ = "calibration_group"
    __table_args__ = (UniqueConstraint("cycle_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    selector: Mapped[dict[str, Any]] = mapped_column(
        Json
    )  # {"department": ...} | {"subtree": email} | {"people": [...]}
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    committee: Mapped[list[int]] = mapped_column(Json, default=list)  # person ids
    members: Mapped[list[int]] = mapped_column(Json, default=list)  # person ids, frozen when the group is created
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting, open, locked
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_id"), Index("ix_task_due_at", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))  # BPMN element id
    title: Mapped[str] = mapped_column(String(300), default="")
    lane: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    form: Mapped[str | None] = mapped_column(String(300))  # form schema file name within the definition
    ui_form: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open, completed, cancelled
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    prefill: Mapped[dict[str, Any] | None] = mapped_column(Json)  # what the form shows before any draft
    context: Mapped[dict[str, Any] | None] = mapped_column(Json)  # read-only values shown with the form
    draft: Mapped[dict[str, Any] | None] = mapped_column(Json)
    submitted: Mapped[dict[str, Any] | None] = mapped_column(Json)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # completed by a delegate or by HR for someone else: whose task it was (completed_by_id is who did it)
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    instance: Mapped[Instance] = relationship()
    assignees: Mapped[list[TaskAssignee]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class TaskAssignee(Base):
    """Who may complete a task: one row for a personal task, several for a group (e.g. HR admins). A delegate's row
    names the assignee they act for (`on_behalf_of_id`) and, optionally, when the delegation ends (`until`)."""

    __tablename__ = "task_assignee"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    person: Mapped[Person] = relationship(lazy="joined", foreign_keys=[person_id])


class Timer(Base):
    """A waiting BPMN timer, projected after every save; the job layer fires due rows."""

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a fire job is on its way


class Outbox(Base):
    """Notifications written in the same transaction as the change that causes them; sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at"),)  # the sender looks for rows not sent yet

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a sender is on it
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class ReviewRecord(Base):
    """What submitted forms mean for reports and calibration: goals, ratings (with the BARS anchor shown),
    feedback aggregates, development actions, acknowledgements, appeals and scores."""

    __tablename__ = "review_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # goal, rating, score, acknowledgement, appeal, ...
    source: Mapped[str | None] = mapped_column(String(40))  # self, manager, appeal, engine
    dimension: Mapped[str | None] = mapped_column(String(200))  # goal:0, competency:ownership, overall, potential
    score: Mapped[float | None] = mapped_column()
    text: Mapped[str | None] = mapped_column(Text)  # e.g. the anchor label shown with the rating
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # set when the step the record came from was reopened (engine/ops/reopen.py): kept, ignored by reports and views
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[str | None] = mapped_column(String(320))  # who reopened it


class AuditEvent(Base):
    """Insert-only; `hash = sha256(prev_hash || canonical row)` chains every row to the one before."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100))
    cycle_id: Mapped[int | None] = mapped_column(Integer, index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    definition_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
