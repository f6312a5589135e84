"""The latest submitted value and spend, as the status sweep and the self-evaluation read them,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event

from service import submitted
from service.db import make_engine, session_scope
from service.domain.status import Reported
from service.models import ActualEntry, Division, FiscalYear, Indicator, Project, Report, SpendEntry
from service.submitted import ReportedSpend, latest_spend, latest_values, submitted_reports

SENT = datetime(2025, 4, 8, tzinfo=UTC)


def _year(session, year: int, division: Division):
    """A year with one project of a count, a deadline and a qualitative indicator."""
    fiscal_year = FiscalYear(year=year)
    session.add(fiscal_year)
    session.flush()
    project = Project(
        fiscal_year_id=fiscal_year.id,
        code=f"{year}-001",
        title="t",
        name="p",
        division_id=division.id,
        budget=Decimal(200),
    )
    session.add(project)
    session.flush()
    indicators = [
        Indicator(
            project_id=project.id,
            code=f"{year}-001.0{n}",
            row_order=n,
            level1="产出指标",
            level2=level2,
            name=name,
            kind=kind,
            direction="higher_better",
        )
        for n, (level2, name, kind) in enumerate(
            (("数量指标", "场次", "numeric"), ("时效指标", "完成", "deadline"), ("质量指标", "成效", "qualitative")),
            start=1,
        )
    ]
    session.add_all(indicators)
    session.flush()
    return fiscal_year, project, indicators


def _report(session, fiscal_year, division, quarter: int, submitted_at=SENT, version: int = 1) -> Report:
    report = Report(
        fiscal_year_id=fiscal_year.id,
        division_id=division.id,
        quarter=quarter,
        version=version,
        state="submitted" if submitted_at else "draft",
        first_submitted_at=submitted_at,
    )
    session.add(report)
    session.flush()
    return report


def _value(session, report, indicator, current=True, **values) -> None:
    session.add(
        ActualEntry(
            indicator_id=indicator.id,
            report_id=report.id,
            report_version=1,
            is_current=current,
            source="web",
            actor="t",
            **values,
        )
    )


def _spend(session, report, project, spent=None, budget=None) -> None:
    session.add(
        SpendEntry(
            project_id=project.id,
            report_id=report.id,
            report_version=1,
            spent=spent,
            budget=budget,
            source="web",
            actor="t",
        )
    )


@pytest.fixture
def year_with_reports(database_url):
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        division = Division(code="XXH", name="信息化处")
        session.add(division)
        session.flush()
        fiscal_year, project, (count, deadline, statement) = _year(session, 2025, division)
        q1, q2 = _report(session, fiscal_year, division, 1), _report(session, fiscal_year, division, 2, version=4)
        q3_draft = _report(session, fiscal_year, division, 3, submitted_at=None)
        _value(session, q1, count, number=Decimal(10), likelihood="确定能")
        _value(session, q2, count, current=False, number=Decimal(15))  # superseded by the next save
        _value(session, q2, count, number=Decimal(20), likelihood="有可能")
        _value(session, q3_draft, count, number=Decimal(30))  # a draft never counts
        _value(session, q1, deadline, done=False)
        _value(session, q2, deadline, done=True, done_on=date(2025, 5, 20))
        _value(session, q1, statement, progress="已启动")
        _spend(session, q1, project, spent=Decimal(10), budget=Decimal(180))
        _spend(session, q2, project, spent=Decimal(30))  # the Q1 budget adjustment stays in force
        _spend(session, q3_draft, project, spent=Decimal(90), budget=Decimal(100))
        other_year, other_project, (other, *_rest) = _year(session, 2026, division)
        other_q1 = _report(session, other_year, division, 1)
        _value(session, other_q1, other, number=Decimal(99))
        _spend(session, other_q1, other_project, spent=Decimal(99))
        ids = {
            "year": fiscal_year.id,
            "project": project.id,
            "count": count.id,
            "deadline": deadline.id,
            "statement": statement.id,
            "q1": q1.id,
            "q2": q2.id,
        }
    yield engine, ids
    engine.dispose()


def test_the_latest_submitted_quarter_wins_and_drafts_never_count(year_with_reports, monkeypatch):
    engine, ids = year_with_reports
    indicator_ids = [ids["count"], ids["deadline"], ids["statement"]]
    expected = {
        ids["count"]: Reported(2, Decimal(20), likelihood="有可能"),
        ids["deadline"]: Reported(2, done=True, done_on=date(2025, 5, 20)),
        ids["statement"]: Reported(1, progress="已启动"),
    }
    with session_scope(engine) as session:
        reports = submitted_reports(session, ids["year"])
        assert reports.quarters == {ids["q1"]: 1, ids["q2"]: 2} and reports.versions == {ids["q1"]: 1, ids["q2"]: 4}
        assert latest_values(session, reports, [ids["project"]], indicator_ids) == expected
        monkeypatch.setattr(submitted, "SMALL_BATCH", 0)  # a large batch: read by project instead of by indicator
        assert latest_values(session, reports, [ids["project"]], indicator_ids) == expected
        assert latest_spend(session, reports, [ids["project"]]) == {
            ids["project"]: ReportedSpend(Decimal(30), Decimal(180), 2)
        }
        # a cut-off before Q2 ended reads Q1's spend (the quarter it was reported for travels with it)
        assert latest_spend(session, reports, [ids["project"]], last_quarter=1)[ids["project"]].quarter == 1
        assert latest_values(session, reports, [], []) == {} and latest_spend(session, reports, []) == {}


def test_one_statement_each_whatever_the_batch(year_with_reports):
    engine, ids = year_with_reports
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_scope(engine) as session:
        reports = submitted_reports(session, ids["year"])
        latest_values(session, reports, [ids["project"]], [ids["count"], ids["deadline"], ids["statement"]])
        latest_spend(session, reports, [ids["project"]])
    assert len(statements) == 3


def test_a_batch_of_ids_is_one_parameter_on_postgresql(year_with_reports):
    """A batch's ids go to PostgreSQL as one array: the statement is the same for one id or 5,000 (psycopg
    prepares it; neither SQLAlchemy nor psycopg handles a placeholder per id).  SQLite lists them."""
    engine, ids = year_with_reports
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_scope(engine) as session:
        reports = submitted_reports(session, ids["year"])
        one = latest_spend(session, reports, [ids["project"]])
        many = latest_spend(session, reports, [ids["project"], *range(10**6, 10**6 + 4999)])
    assert one == many == {ids["project"]: ReportedSpend(Decimal(30), Decimal(180), 2)}
    if engine.dialect.name == "postgresql":
        assert statements[-1] == statements[-2]
    else:
        assert len(statements[-1]) > len(statements[-2])
