"""report integrity: a failed self-evaluation run says why

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_security_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("evaluation_run", schema=None) as batch_op:
        batch_op.drop_column("error")
