"""erasure: audit events' personal values kept apart from the chain (audit_personal) and erasure requests

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_personal",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", "path"),
    )
    op.create_table(
        "erasure_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["approved_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_request_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_request_person_id"))
    op.drop_table("erasure_request")
    op.drop_table("audit_personal")
