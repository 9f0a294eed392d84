"""jobs: launch chunks, reminders sent, incidents; outbox delivery claims; timer enqueue marks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "launch_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("person_ids", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "number"),
    )
    with op.batch_alter_table("launch_chunk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_launch_chunk_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_launch_chunk_status"), ["status"], unique=False)
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "number"),
    )
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_sent_task_id"), ["task_id"], unique=False)
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_outbox_unsent", ["sent_at"], unique=False)
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_due_at", ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_due_at")
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_column("enqueued_at")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unsent")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("claimed_until")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
    op.drop_table("incident")
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_sent_task_id"))
    op.drop_table("reminder_sent")
    with op.batch_alter_table("launch_chunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_launch_chunk_status"))
        batch_op.drop_index(batch_op.f("ix_launch_chunk_cycle_id"))
    op.drop_table("launch_chunk")
