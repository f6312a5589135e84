"""create every table

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "division",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_finance", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_division")),
        sa.UniqueConstraint("code", name=op.f("uq_division_code")),
    )
    op.create_table(
        "fiscal_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_year")),
    )
    with op.batch_alter_table("fiscal_year", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fiscal_year_year"), ["year"], unique=True)

    op.create_table(
        "division_prefix",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_division_prefix_division_id_division")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_division_prefix")),
        sa.UniqueConstraint("prefix", name=op.f("uq_division_prefix_prefix")),
    )
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fiscal_year_id"], ["fiscal_year.id"], name=op.f("fk_import_batch_fiscal_year_id_fiscal_year")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batch_fiscal_year_id"), ["fiscal_year_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_batch_sha256"), ["sha256"], unique=False)

    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("table_no", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=True),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("funding_level", sa.String(length=8), nullable=True),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fiscal_funds", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("other_funds", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("use_of_funds", sa.Text(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_project_division_id_division")),
        sa.ForeignKeyConstraint(
            ["fiscal_year_id"], ["fiscal_year.id"], name=op.f("fk_project_fiscal_year_id_fiscal_year")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
    )
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_project_division_id"), ["division_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_fiscal_year_id"), ["fiscal_year_id"], unique=False)

    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("row_order", sa.Integer(), nullable=False),
        sa.Column("level1", sa.String(length=50), nullable=False),
        sa.Column("level2", sa.String(length=50), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("raw_value", sa.Text(), nullable=False),
        sa.Column("source_value", sa.Text(), nullable=False),
        sa.Column("weight", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comparator", sa.String(length=2), nullable=True),
        sa.Column("target_value", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("per", sa.String(length=10), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("in_source", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_indicator_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
    )
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_indicator_due"), ["due"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicator_project_id"), ["project_id"], unique=False)

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicator.id"], name=op.f("fk_finding_indicator_id_indicator")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_finding_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
        sa.UniqueConstraint("project_id", "indicator_id", "code", name="uq_finding_subject_code"),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_indicator_id"), ["indicator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_state"), ["state"], unique=False)

    op.create_table(
        "target_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_batch_id"], ["import_batch.id"], name=op.f("fk_target_revision_import_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name=op.f("fk_target_revision_indicator_id_indicator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_revision")),
    )
    with op.batch_alter_table("target_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_target_revision_indicator_id"), ["indicator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("target_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_revision_indicator_id"))

    op.drop_table("target_revision")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_state"))
        batch_op.drop_index(batch_op.f("ix_finding_project_id"))
        batch_op.drop_index(batch_op.f("ix_finding_indicator_id"))

    op.drop_table("finding")
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_project_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_due"))
        batch_op.drop_index(batch_op.f("ix_indicator_code"))

    op.drop_table("indicator")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_fiscal_year_id"))
        batch_op.drop_index(batch_op.f("ix_project_division_id"))
        batch_op.drop_index(batch_op.f("ix_project_code"))

    op.drop_table("project")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_sha256"))
        batch_op.drop_index(batch_op.f("ix_import_batch_fiscal_year_id"))

    op.drop_table("import_batch")
    op.drop_table("division_prefix")
    with op.batch_alter_table("fiscal_year", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fiscal_year_year"))

    op.drop_table("fiscal_year")
    op.drop_table("division")
