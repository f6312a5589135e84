"""The Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from service.db import make_engine
from service.migrate import downgrade, upgrade


def test_upgrade_downgrade_upgrade_matches_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(database_url)
    assert {"project", "indicator", "finding", "target_revision", "import_batch"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_reports_migration_keeps_an_existing_registry(database_url):
    """A year imported before accounts and reports existed upgrades in place, with the defaults."""
    from sqlmodel import select

    from service.db import session_scope
    from service.models import Division, FiscalYear

    downgrade(database_url, "0001")
    engine = make_engine(database_url)
    with engine.begin() as connection:  # what 0001 knew: write through plain SQL
        connection.exec_driver_sql("INSERT INTO fiscal_year (year, created_at) VALUES (2024, CURRENT_TIMESTAMP)")
        connection.exec_driver_sql(
            "INSERT INTO division (code, name, active, is_finance) VALUES ('OLD', '旧处室', true, false)"
        )
    upgrade(database_url)
    with session_scope(engine) as session:
        assert session.exec(select(FiscalYear.report_due_days).where(FiscalYear.year == 2024)).one() == 10
        assert session.exec(select(Division.requires_head_signoff).where(Division.code == "OLD")).one() is False
    engine.dispose()


def test_closing_migration_keeps_the_reviews_and_the_lock_made_on_runs(database_url):
    """Runs stored before the closing: the locked one becomes archived version 1 of a final run, and the
    overrides and division notes made on runs become the reviews kept per indicator."""
    from sqlmodel import select

    from service.db import session_scope
    from service.models import DivisionExplanation, EvaluationLockEvent, EvaluationRun, ScoreOverride

    downgrade(database_url, "0004")
    engine = make_engine(database_url)
    with engine.begin() as connection:  # what 0004 knew: write through plain SQL
        run = connection.exec_driver_sql
        run("INSERT INTO fiscal_year (year, report_due_days, created_at) VALUES (2024, 10, CURRENT_TIMESTAMP)")
        run(
            "INSERT INTO division (code, name, active, is_finance, requires_head_signoff) "
            "VALUES ('OLD', '旧处室', true, true, false)"
        )
        run(
            "INSERT INTO project (fiscal_year_id, code, title, name, division_id, budget, use_of_funds, goals, "
            "updated_at) VALUES (1, '2024-001', 't', 'n', 1, 10, '', '[]', CURRENT_TIMESTAMP)"
        )
        run(
            "INSERT INTO indicator (project_id, code, row_order, level1, level2, name, description, raw_value, "
            "source_value, kind, unit, direction, in_source, updated_at) VALUES (1, '2024-001.01', 1, '产出指标', "
            "'数量指标', 'x', '', '≥5项', '≥5项', 'numeric', '项', 'higher_better', true, CURRENT_TIMESTAMP)"
        )
        for final in ("false", "true"):
            run(
                "INSERT INTO evaluation_run (fiscal_year_id, policy, inputs, actor, state, progress, total, final, "
                f"created_at) VALUES (1, '{{}}', '{{}}', 'caiwu', 'done', 1, 1, {final}, CURRENT_TIMESTAMP)"
            )
        run(
            "INSERT INTO indicator_result (run_id, indicator_id, project_id, weight, actual, score, basis, "
            "override_score, override_reason, override_by, division_note) VALUES "
            "(1, 1, 1, 50, '4项', 40, 'b', 45, '旧的调整', 'caiwu', '旧的说明'), "
            "(2, 1, 1, 50, '4项', 40, 'b', 30, '新的调整', 'caiwu', '')"
        )
    upgrade(database_url)
    with session_scope(engine) as session:
        runs = session.exec(select(EvaluationRun).order_by(EvaluationRun.id)).all()
        assert [(r.kind, r.locked, r.archive_version) for r in runs] == [("trial", False, None), ("final", True, 1)]
        assert session.exec(select(EvaluationLockEvent.action, EvaluationLockEvent.version)).all() == [("lock", 1)]
        kept = session.exec(select(ScoreOverride)).one()
        assert (kept.score, kept.computed_score, kept.reason) == (30, 40, "新的调整")  # the latest run's
        assert session.exec(select(DivisionExplanation.text)).one() == "旧的说明"
    engine.dispose()


def test_bureau_migration_names_the_organisation_from_the_header_lines_kept_by_the_closing(database_url):
    """Tables imported under 0008 kept their header line on each project; 0009 makes it the organisation
    (read from the tables, for a person to confirm), and a downgrade to 0008 keeps the line."""
    from sqlmodel import select

    from service.db import session_scope
    from service.models import Organisation, Project
    from service.organisation import unit_names

    downgrade(database_url, "0008_closing")
    engine = make_engine(database_url)
    with engine.begin() as connection:  # what 0008 knew: write through plain SQL
        run = connection.exec_driver_sql
        run("INSERT INTO fiscal_year (year, report_due_days, created_at) VALUES (2024, 10, CURRENT_TIMESTAMP)")
        run(
            "INSERT INTO division (code, name, active, is_finance, requires_head_signoff) "
            "VALUES ('CWC', '财务处', true, true, false)"
        )
        run(
            "INSERT INTO project (fiscal_year_id, code, title, name, division_id, budget, use_of_funds, goals, "
            "budget_unit, updated_at) VALUES (1, '2024-001', 't', 'n', 1, 10, '', '[]', "
            "'323101天津市商务局财务处', CURRENT_TIMESTAMP)"
        )
    upgrade(database_url)
    with session_scope(engine) as session:
        unit = session.exec(select(Organisation)).one()
        assert (unit.code, unit.name, unit.department, unit.from_tables) == ("323101", "天津市商务局", "", True)
        assert unit_names(session) == ("天津市商务局", "天津市商务局")
    downgrade(database_url, "0008_closing")
    assert "organisation" not in inspect(engine).get_table_names()
    upgrade(database_url)
    with session_scope(engine) as session:
        assert session.exec(select(Project.budget_unit)).one() == "323101天津市商务局财务处"
    engine.dispose()


def test_indicator_status_is_indexed_for_its_readers_only(database_url):
    """The sweep writes 100,000 rows a day into indicator_status and pays for each index on each row: a day's
    rows (as_of), a project's (project_id) and an indicator's days (the unique key), but no index on status,
    which no reader asks for without a day."""
    engine = make_engine(database_url)
    indexes = inspect(engine).get_indexes("indicator_status")
    unique = inspect(engine).get_unique_constraints("indicator_status")
    assert sorted(tuple(index["column_names"]) for index in indexes if not index.get("unique")) == [
        ("as_of",),
        ("project_id",),
    ]
    assert [tuple(constraint["column_names"]) for constraint in unique] == [("indicator_id", "as_of")]
    engine.dispose()
