"""indicator_status without its index on status alone: every reader that filters on a status also filters on
the day (as_of), which its own index serves, and the sweep paid for the index on each of its 100,000 rows a day

Revision ID: 0015_status_indexes
Revises: 0014_run_parts
Create Date: 2026-12-02 11:05:00
"""

from alembic import op

revision = "0015_status_indexes"
down_revision = "0014_run_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_indicator_status_status", table_name="indicator_status")


def downgrade() -> None:
    op.create_index("ix_indicator_status_status", "indicator_status", ["status"], unique=False)
