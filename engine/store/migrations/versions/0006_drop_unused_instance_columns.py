"""instance: drop `error` (never written) and `serializer_version` (written, never read: the saved state carries its
own serializer version)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("serializer_version")


def downgrade() -> None:
    # The older code writes the serializer version on new instances and never reads it: existing rows get "".
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serializer_version", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("error", sa.JSON(), nullable=True))
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.alter_column("serializer_version", existing_type=sa.String(length=20), server_default=None)
