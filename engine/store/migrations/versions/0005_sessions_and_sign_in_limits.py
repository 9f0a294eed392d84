"""revocable tokens and web sessions (kind, last used, revoked); failed sign-in records for lockouts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:40:00
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tokens issued with "no expiry" before this revision run out 30 days after the upgrade (the default lifetime).
LEGACY_DAYS = 30


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE api_token SET expires_at = :at WHERE expires_at IS NULL").bindparams(
            sa.bindparam("at", datetime.now(UTC) + timedelta(days=LEGACY_DAYS), type_=sa.DateTime(timezone=True))
        )
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="api"))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=320), nullable=True))
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_failure_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_failure_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_failure_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_at"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_address"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_email"))
    op.drop_table("sign_in_failure")
    # Web sessions mean nothing to the older code (it would take them for bearer tokens), nor do revoked tokens:
    # drop both rather than bring them back to life.
    op.execute(sa.text("DELETE FROM api_token WHERE kind = 'session' OR revoked_at IS NOT NULL"))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("kind")
