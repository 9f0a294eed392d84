"""calibration groups; cycle-level instances (no subject)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="review"))
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "calibration_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("selector", sa.JSON(), nullable=False),
        sa.Column("facilitator_id", sa.Integer(), nullable=False),
        sa.Column("committee", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"]),
        sa.ForeignKeyConstraint(["facilitator_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "name"),
    )
    with op.batch_alter_table("calibration_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_group_cycle_id"), ["cycle_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calibration_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibration_group_cycle_id"))
    op.drop_table("calibration_group")
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
