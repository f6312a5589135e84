"""forecasts: the division's 全年预计执行数 per spend row and 全年预计完成值 per actual (Q2/Q3 reports)

Revision ID: 0013_forecasts
Revises: 0012_payments
Create Date: 2026-12-02 05:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_forecasts"
down_revision = "0012_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spend_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forecast", sa.Numeric(14, 2), nullable=True))
    with op.batch_alter_table("actual_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forecast", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("actual_entry", schema=None) as batch_op:
        batch_op.drop_column("forecast")
    with op.batch_alter_table("spend_entry", schema=None) as batch_op:
        batch_op.drop_column("forecast")
