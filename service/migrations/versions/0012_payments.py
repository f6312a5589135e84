"""payments: treasury payment records per project, and what a project's stored execution was computed from

Revision ID: 0012_payments
Revises: 0011_workflow
Create Date: 2026-12-02 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_payments"
down_revision = "0011_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fiscal_year_id"], ["fiscal_year.id"], name=op.f("fk_payment_batch_fiscal_year_id_fiscal_year")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batch")),
    )
    op.create_index(op.f("ix_payment_batch_fiscal_year_id"), "payment_batch", ["fiscal_year_id"], unique=False)
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("by_month", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["payment_batch.id"], name=op.f("fk_payment_batch_id_payment_batch")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_payment_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("project_id", "paid_on", "by_month", "amount", "occurrence", name="uq_payment_record"),
    )
    op.create_index(op.f("ix_payment_batch_id"), "payment", ["batch_id"], unique=False)
    op.create_index("ix_payment_project_paid_on", "payment", ["project_id", "paid_on"], unique=False)
    with op.batch_alter_table("project_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spent_through", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("spend_source", sa.String(length=8), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("project_status", schema=None) as batch_op:
        batch_op.drop_column("spend_source")
        batch_op.drop_column("spent_through")
    op.drop_index("ix_payment_project_paid_on", table_name="payment")
    op.drop_index(op.f("ix_payment_batch_id"), table_name="payment")
    op.drop_table("payment")
    op.drop_index(op.f("ix_payment_batch_fiscal_year_id"), table_name="payment_batch")
    op.drop_table("payment_batch")
