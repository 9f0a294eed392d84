"""person.time_zone: the zone a person's pages (and later their e-mails) show times in; empty = the browser's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite has ADD/DROP COLUMN since 3.35): a batch copy of `person` would trip the foreign keys
# that every other table holds on it.
def upgrade() -> None:
    op.add_column("person", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("person", "time_zone")
