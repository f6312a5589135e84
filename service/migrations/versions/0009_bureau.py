"""bureau: the organisation, retired divisions, project transfers, year-to-year links, user administration

Revision ID: 0009_bureau
Revises: 0008_closing
Create Date: 2026-12-02 01:21:23

Project codes become unique within a year (budget systems keep a continuing project's code), and
indicator codes within their project.  Only indexes and new columns change, so no table is rebuilt
under the foreign keys that point at it.  The budget unit that tables imported under 0008 named on their
header line (project.budget_unit) becomes the organisation, as the first import names it now.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009_bureau"
down_revision = "0008_closing"
branch_labels = None
depends_on = None


def _created(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _organisation_from_header_lines() -> None:
    """「323101天津市商务局财务处」 on the latest project → 323101, 天津市商务局 (read as an import reads it), marked
    as read from the tables so that a person confirms it."""
    from service.domain.bureau import read_unit_line  # pure: the one reading of a header line

    bind = op.get_bind()
    line = bind.execute(
        sa.text("SELECT budget_unit FROM project WHERE budget_unit <> '' ORDER BY id DESC LIMIT 1")
    ).scalar()
    unit = read_unit_line(line or "", list(bind.execute(sa.text("SELECT name FROM division")).scalars()))
    if unit is None:
        return
    bind.execute(
        sa.text(
            "INSERT INTO organisation (name, code, department, from_tables, updated_by, updated_at) "
            "VALUES (:name, :code, '', :yes, 'migration', :now)"
        ),
        {"name": unit.name[:100], "code": unit.code, "yes": True, "now": datetime.now(UTC)},
    )


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("from_tables", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        _created("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_table(
        "project_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("previous_project_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("similarity", sa.Numeric(precision=4, scale=3), nullable=True),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        _created("created_at"),
        sa.ForeignKeyConstraint(
            ["previous_project_id"], ["project.id"], name=op.f("fk_project_link_previous_project_id_project")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_project_link_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_link")),
        sa.UniqueConstraint("project_id", name=op.f("uq_project_link_project_id")),
    )
    with op.batch_alter_table("project_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_link_previous_project_id"), ["previous_project_id"], unique=False)

    op.create_table(
        "project_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("from_division_id", sa.Integer(), nullable=False),
        sa.Column("to_division_id", sa.Integer(), nullable=False),
        sa.Column("from_quarter", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        _created("created_at"),
        sa.ForeignKeyConstraint(
            ["from_division_id"], ["division.id"], name=op.f("fk_project_transfer_from_division_id_division")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_project_transfer_project_id_project")),
        sa.ForeignKeyConstraint(
            ["to_division_id"], ["division.id"], name=op.f("fk_project_transfer_to_division_id_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_transfer")),
    )
    with op.batch_alter_table("project_transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_transfer_project_id"), ["project_id"], unique=False)

    op.create_table(
        "indicator_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("previous_indicator_id", sa.Integer(), nullable=False),
        sa.Column("history_value", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("history_unit", sa.String(length=20), nullable=False),
        sa.Column("history_text", sa.Text(), nullable=False),
        sa.Column("last_score", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("last_weight", sa.Numeric(precision=8, scale=2), nullable=True),
        _created("refreshed_at"),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name=op.f("fk_indicator_link_indicator_id_indicator")
        ),
        sa.ForeignKeyConstraint(
            ["previous_indicator_id"], ["indicator.id"], name=op.f("fk_indicator_link_previous_indicator_id_indicator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_link")),
        sa.UniqueConstraint("indicator_id", name=op.f("uq_indicator_link_indicator_id")),
    )
    with op.batch_alter_table("indicator_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_link_previous_indicator_id"), ["previous_indicator_id"], unique=False
        )

    op.add_column("app_user", sa.Column("phone", sa.String(length=32), nullable=True))
    op.add_column(
        "app_user", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("division", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("indicator", sa.Column("stated_direction", sa.String(length=4), nullable=False, server_default=""))

    op.drop_index("ix_indicator_code", table_name="indicator")
    op.create_index("ix_indicator_code", "indicator", ["code"], unique=False)
    op.create_index("uq_indicator_project_code", "indicator", ["project_id", "code"], unique=True)
    op.drop_index("ix_project_code", table_name="project")
    op.create_index("ix_project_code", "project", ["code"], unique=False)
    op.create_index("uq_project_year_code", "project", ["fiscal_year_id", "code"], unique=True)
    _organisation_from_header_lines()


def downgrade() -> None:
    op.drop_index("uq_project_year_code", table_name="project")
    op.drop_index("ix_project_code", table_name="project")
    op.create_index("ix_project_code", "project", ["code"], unique=True)
    op.drop_index("uq_indicator_project_code", table_name="indicator")
    op.drop_index("ix_indicator_code", table_name="indicator")
    op.create_index("ix_indicator_code", "indicator", ["code"], unique=True)

    # Plain DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): a batch rebuild would fail on the foreign keys to these tables.
    op.drop_column("indicator", "stated_direction")
    op.drop_column("division", "retired_at")
    op.drop_column("app_user", "must_change_password")
    op.drop_column("app_user", "phone")

    op.drop_table("indicator_link")
    op.drop_table("project_transfer")
    op.drop_table("project_link")
    op.drop_table("organisation")
