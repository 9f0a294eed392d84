"""review_record: `superseded_at` / `superseded_by`, set when the step a record came from is reopened (the record is
kept for the audit trail; reports and views ignore it)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=320), nullable=True))


def downgrade() -> None:
    # The older code knows no superseded records: drop them with the columns, as they would count again otherwise.
    op.execute("DELETE FROM review_record WHERE superseded_at IS NOT NULL")
    with op.batch_alter_table("review_record", schema=None) as batch_op:
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("superseded_at")
