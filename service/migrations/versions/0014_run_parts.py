"""run parts: the daily sweep's record (sweep_run), each part of a split sweep or evaluation run done (run_part),
and the number of parts of an evaluation run

Revision ID: 0014_run_parts
Revises: 0013_forecasts
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_run_parts"
down_revision = "0013_forecasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("indicators", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["fiscal_year_id"], ["fiscal_year.id"], name="fk_sweep_run_fiscal_year_id_fiscal_year"),
        sa.PrimaryKeyConstraint("id", name="pk_sweep_run"),
        sa.UniqueConstraint("fiscal_year_id", "as_of", name="uq_sweep_run_as_of"),
    )
    op.create_table(
        "run_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("first_project_id", sa.Integer(), nullable=False),
        sa.Column("last_project_id", sa.Integer(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_run_part"),
        sa.UniqueConstraint("kind", "run_id", "first_project_id", name="uq_run_part_first"),
    )
    with op.batch_alter_table("evaluation_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("evaluation_run", schema=None) as batch_op:
        batch_op.drop_column("parts")
    op.drop_table("run_part")
    op.drop_table("sweep_run")
