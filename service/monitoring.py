"""The status sweep: every indicator's and project's status as of a date, stored per date.

Set-based: the year's submitted reports once, then a handful of queries per batch of projects
(targets, latest submitted values and spend from `service.submitted`), statuses computed in Python
by `service.domain.status`, rows replaced with one DELETE and one multi-row INSERT.
`recompute_project` is the same code for one project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlmodel import Session

from .clock import clock
from .domain.alerts import AlertSpec
from .domain.status import StatusSettings, budget_execution, indicator_status, roll_up
from .domain.vocabulary import AlertKind, Status
from .models import FiscalYear, Indicator, IndicatorStatusRow, Project, ProjectStatusRow
from .stored_targets import TARGET_COLUMNS, target_of_columns
from .submitted import latest_spend, latest_values, submitted_reports

BATCH_PROJECTS = 2000


@dataclass
class SweepResult:
    indicators: int
    projects: int
    counts: dict[str, int]


def sweep(
    session: Session,
    year: int,
    as_of: date | None = None,
    settings: StatusSettings | None = None,
    project_ids: list[int] | None = None,
) -> SweepResult:
    """Compute and store the statuses of YEAR (or of PROJECT_IDS) as of AS_OF (default: today)."""
    as_of = as_of or clock.today()
    fiscal_year = session.execute(select(FiscalYear).where(FiscalYear.year == year)).scalar_one()
    settings = settings or StatusSettings()
    settings = StatusSettings(
        settings.progress_mode,
        settings.at_risk_tolerance,
        settings.due_soon_days,
        settings.budget_lag_points,
        fiscal_year.report_due_days,
    )
    query = select(Project.id, Project.budget).where(Project.fiscal_year_id == fiscal_year.id)
    if project_ids is not None:
        query = query.where(Project.id.in_(project_ids))
    projects = session.execute(query.order_by(Project.id)).all()
    counts: dict[str, int] = {}
    total = 0
    reports = submitted_reports(session, fiscal_year.id)
    for start in range(0, len(projects), BATCH_PROJECTS):
        batch = projects[start : start + BATCH_PROJECTS]
        total += _sweep_batch(session, fiscal_year, reports, batch, as_of, settings, counts)
    return SweepResult(total, len(projects), counts)


def _sweep_batch(session, fiscal_year, reports, projects, as_of, settings, counts) -> int:
    ids = [p.id for p in projects]
    targets = session.execute(
        select(Indicator.id, Indicator.project_id, *TARGET_COLUMNS).where(Indicator.project_id.in_(ids))
    ).all()
    latest = latest_values(session, reports, ids, [t[0] for t in targets])
    spend = latest_spend(session, reports, ids)
    now = clock.now()
    indicator_rows, by_project = [], {}
    for row in targets:
        indicator_id, project_id = row[0], row[1]
        result = indicator_status(
            target_of_columns(row[2:]), fiscal_year.year, as_of, latest.get(indicator_id), settings
        )
        counts[result.status] = counts.get(result.status, 0) + 1
        by_project.setdefault(project_id, []).append(result.status)
        indicator_rows.append(
            {
                "indicator_id": indicator_id,
                "project_id": project_id,
                "as_of": as_of,
                "status": result.status,
                "expected": result.expected,
                "value": result.value,
                "projection": result.projection,
                "likelihood": result.likelihood,
                "computed_at": now,
            }
        )
    project_rows = []
    for project_id, budget in projects:
        reported = spend.get(project_id)
        spent, adjusted = (reported.spent, reported.budget) if reported else (None, None)
        rollup = roll_up(by_project.get(project_id, []))
        execution = budget_execution(spent, adjusted or budget, fiscal_year.year, as_of, settings)
        project_rows.append(
            {
                "project_id": project_id,
                "as_of": as_of,
                "status": rollup.status,
                "counts": rollup.counts,
                "spent": spent,
                "budget": adjusted or budget,
                "execution_rate": execution.rate,
                "expected_rate": execution.expected_rate,
                "budget_lagging": execution.lagging,
                "computed_at": now,
            }
        )
    session.execute(
        delete(IndicatorStatusRow).where(IndicatorStatusRow.as_of == as_of, IndicatorStatusRow.project_id.in_(ids))
    )
    session.execute(
        delete(ProjectStatusRow).where(ProjectStatusRow.as_of == as_of, ProjectStatusRow.project_id.in_(ids))
    )
    if indicator_rows:
        session.execute(IndicatorStatusRow.__table__.insert(), indicator_rows)  # Core: one executemany
    if project_rows:
        session.execute(ProjectStatusRow.__table__.insert(), project_rows)
    return len(indicator_rows)


def recompute_project(
    session: Session, project_id: int, as_of: date | None = None, settings: StatusSettings | None = None
) -> SweepResult:
    year = session.execute(
        select(FiscalYear.year).join(Project, Project.fiscal_year_id == FiscalYear.id).where(Project.id == project_id)
    ).scalar_one()
    return sweep(session, year, as_of, settings, [project_id])


def lagging_alerts(session: Session, project_ids: list[int], as_of: date) -> list[AlertSpec]:
    """Indicators that turned `lagging` as of AS_OF (compared with the latest earlier status stored),
    one alert per indicator and quarter.  Budget execution that lags is told in the daily budget
    digest instead (`alerting.raise_budget_digests`), at most once a week per project."""
    step = f"Q{(as_of.month - 1) // 3 + 1}"
    previous_day = session.execute(
        select(func.max(ProjectStatusRow.as_of)).where(
            ProjectStatusRow.as_of < as_of, ProjectStatusRow.project_id.in_(project_ids)
        )
    ).scalar()
    before = {}
    if previous_day is not None:
        before = dict(
            session.execute(
                select(IndicatorStatusRow.indicator_id, IndicatorStatusRow.status).where(
                    IndicatorStatusRow.as_of == previous_day, IndicatorStatusRow.project_id.in_(project_ids)
                )
            ).all()
        )
    specs = []
    rows = session.execute(
        select(Indicator.id, Indicator.code, Indicator.name, Project.division_id)
        .join(IndicatorStatusRow, IndicatorStatusRow.indicator_id == Indicator.id)
        .join(Project, Project.id == Indicator.project_id)
        .where(
            IndicatorStatusRow.as_of == as_of,
            IndicatorStatusRow.status == Status.LAGGING,
            IndicatorStatusRow.project_id.in_(project_ids),
        )
    ).all()
    for indicator_id, code, name, division_id in rows:
        if before.get(indicator_id) != Status.LAGGING:
            specs.append(
                AlertSpec(
                    AlertKind.LAGGING,
                    code,
                    division_id,
                    None,
                    step,
                    "lagging",
                    f"「{name}」（{code}）进度滞后于序时进度，请分析原因并采取措施",
                    f"/indicators/{code}",
                )
            )
    return specs
