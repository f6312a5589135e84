"""workflow: a reason for a decreasing cumulative spend, and the kinds of notice each user muted

Revision ID: 0011_workflow
Revises: 0009_bureau
Create Date: 2026-12-02 04:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_workflow"
down_revision = "0009_bureau"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spend_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decrease_reason", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("muted_kinds", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("muted_kinds")
    with op.batch_alter_table("spend_entry", schema=None) as batch_op:
        batch_op.drop_column("decrease_reason")
