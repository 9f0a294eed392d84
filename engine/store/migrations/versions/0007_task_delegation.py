"""task administration: a delegate's assignee row names whom they act for and until when; a task completed for
someone else (by their delegate or by HR) names whose task it was

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_assignee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_task_assignee_on_behalf_of_id_person", "person", ["on_behalf_of_id"], ["id"])
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_task_on_behalf_of_id_person", "person", ["on_behalf_of_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint("fk_task_on_behalf_of_id_person", type_="foreignkey")
        batch_op.drop_column("on_behalf_of_id")
    with op.batch_alter_table("task_assignee", schema=None) as batch_op:
        batch_op.drop_constraint("fk_task_assignee_on_behalf_of_id_person", type_="foreignkey")
        batch_op.drop_column("until")
        batch_op.drop_column("on_behalf_of_id")
