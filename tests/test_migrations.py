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
