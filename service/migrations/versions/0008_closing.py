"""closing: trial and final runs, provenance, reviews kept across runs, lock events and archives

Revision ID: 0008_closing
Revises: 0006
Create Date: 2026-12-02 09:00:00

Existing runs become trials, except a run the year was locked on, which becomes the final run archived as
version 1.  Overrides and division notes made on runs move to the per-indicator tables (the latest of each),
so nothing reviewed so far is lost.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_closing"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_unit", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("evaluation_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="trial"))
        batch_op.add_column(sa.Column("as_of", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("archive_version", sa.Integer(), nullable=True))
    # A plain rename (SQLite ≥ 3.25, PostgreSQL): recreating the table, as batch mode would, fails on the
    # foreign keys of the results that point at its rows.
    op.execute("ALTER TABLE evaluation_run RENAME COLUMN final TO locked")
    op.execute("UPDATE evaluation_run SET kind = 'final', archive_version = 1 WHERE locked = true")

    with op.batch_alter_table("project_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("levels", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("source", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("excluded_reason", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("indicator_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("override_stale", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "evaluation_lock_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fiscal_year_id"], ["fiscal_year.id"], name=op.f("fk_evaluation_lock_event_fiscal_year_id_fiscal_year")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evaluation_run.id"], name=op.f("fk_evaluation_lock_event_run_id_evaluation_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_lock_event")),
    )
    with op.batch_alter_table("evaluation_lock_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_lock_event_fiscal_year_id"), ["fiscal_year_id"], unique=False)
    op.execute(
        "INSERT INTO evaluation_lock_event (fiscal_year_id, run_id, action, version, actor, reason, created_at) "
        "SELECT fiscal_year_id, id, 'lock', 1, actor, '', COALESCE(finished_at, created_at) "
        "FROM evaluation_run WHERE locked = true"
    )

    op.create_table(
        "evaluation_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workbook", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fiscal_year_id"], ["fiscal_year.id"], name=op.f("fk_evaluation_archive_fiscal_year_id_fiscal_year")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evaluation_run.id"], name=op.f("fk_evaluation_archive_run_id_evaluation_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_archive")),
        sa.UniqueConstraint("run_id", name=op.f("uq_evaluation_archive_run_id")),
    )
    with op.batch_alter_table("evaluation_archive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_archive_fiscal_year_id"), ["fiscal_year_id"], unique=False)

    op.create_table(
        "score_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("computed_score", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name=op.f("fk_score_override_indicator_id_indicator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_override")),
        sa.UniqueConstraint("indicator_id", name=op.f("uq_score_override_indicator_id")),
    )
    op.create_table(
        "division_explanation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name=op.f("fk_division_explanation_indicator_id_indicator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_division_explanation")),
        sa.UniqueConstraint("indicator_id", name=op.f("uq_division_explanation_indicator_id")),
    )
    op.create_table(
        "project_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("outcome_by", sa.String(length=64), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("exclusion_reason", sa.Text(), nullable=False),
        sa.Column("excluded_by", sa.String(length=64), nullable=True),
        sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_project_review_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_review")),
        sa.UniqueConstraint("project_id", name=op.f("uq_project_review_project_id")),
    )
    # Reviews made on runs so far: the latest of each indicator becomes the kept one.
    op.execute(
        "INSERT INTO score_override (indicator_id, score, computed_score, reason, actor, updated_at) "
        "SELECT r.indicator_id, r.override_score, r.score, r.override_reason, COALESCE(r.override_by, ''), "
        "run.created_at "
        "FROM indicator_result r JOIN evaluation_run run ON run.id = r.run_id "
        "WHERE r.override_score IS NOT NULL AND r.id = (SELECT MAX(o.id) FROM indicator_result o "
        "WHERE o.indicator_id = r.indicator_id AND o.override_score IS NOT NULL)"
    )
    op.execute(
        "INSERT INTO division_explanation (indicator_id, text, actor, updated_at) "
        "SELECT r.indicator_id, r.division_note, '', run.created_at "
        "FROM indicator_result r JOIN evaluation_run run ON run.id = r.run_id "
        "WHERE r.division_note <> '' AND r.id = (SELECT MAX(o.id) FROM indicator_result o "
        "WHERE o.indicator_id = r.indicator_id AND o.division_note <> '')"
    )


def downgrade() -> None:
    op.drop_table("project_review")
    op.drop_table("division_explanation")
    op.drop_table("score_override")
    with op.batch_alter_table("evaluation_archive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_archive_fiscal_year_id"))
    op.drop_table("evaluation_archive")
    with op.batch_alter_table("evaluation_lock_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_lock_event_fiscal_year_id"))
    op.drop_table("evaluation_lock_event")
    # plain DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): no table is recreated under rows that others point at
    for table, columns in (
        ("indicator_result", ("override_stale", "target")),
        ("project_result", ("excluded_reason", "outcome", "source", "levels")),
        ("evaluation_run", ("archive_version", "as_of", "kind")),
        ("project", ("budget_unit",)),
    ):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute("ALTER TABLE evaluation_run RENAME COLUMN locked TO final")
