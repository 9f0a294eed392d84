"""instance_migration: an instance's move to another version of its diagram, with its previous state (to revert)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_migration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("from_definition_id", sa.Integer(), nullable=False),
        sa.Column("to_definition_id", sa.Integer(), nullable=False),
        sa.Column("previous_state", sa.Text(), nullable=False),
        sa.Column("snapshot_after", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["from_definition_id"], ["definition.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.ForeignKeyConstraint(["to_definition_id"], ["definition.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_migration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instance_migration_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instance_migration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_migration_instance_id"))
    op.drop_table("instance_migration")
