"""The status sweep: every indicator's and project's status as of a date, stored per date.

Set-based: the year's submitted reports once, then a handful of queries per batch of projects
(targets, latest submitted values and spend from `service.submitted`), statuses computed in Python
by `service.domain.status`, rows replaced with one DELETE and one multi-row INSERT.
`recompute_project` is the same code for one project.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlmodel import Session

from .clock import clock
from .db import among, core_rows, insert_many
from .domain.alerts import AlertSpec
from .domain.status import StatusSettings, indicator_status, roll_up
from .domain.vocabulary import AlertKind, Status
from .execution import project_execution, quarters_ended
from .memory import without_cycle_collection
from .models import FiscalYear, Indicator, IndicatorStatusRow, Project, ProjectStatusRow
from .payments import year_has_payments
from .stored_targets import TARGET_COLUMNS, target_of_columns
from .submitted import latest_values, submitted_reports

BATCH_PROJECTS = 2000
SHARED_COLUMNS = ("as_of", "computed_at")  # the same in every row of a sweep
# What a stored status row says: a rerun of a day rewrites only the rows where one of these differs.
INDICATOR_FIGURES = ("project_id", "status", "expected", "value", "projection", "likelihood")
PROJECT_FIGURES = (
    "status",
    "counts",
    "spent",
    "budget",
    "execution_rate",
    "expected_rate",
    "budget_lagging",
    "spent_through",
    "spend_source",
)


@dataclass
class SweepResult:
    indicators: int
    projects: int
    counts: dict[str, int]


@dataclass
class StatusBatch:
    """The statuses of a batch of projects as of a day, as rows of the status tables."""

    project_ids: list[int]
    indicator_rows: list[dict]
    project_rows: list[dict]


def compute_statuses(
    session: Session,
    year: int,
    as_of: date,
    settings: StatusSettings | None = None,
    project_ids: list[int] | None = None,
) -> Iterator[StatusBatch]:
    """The statuses of YEAR (or of PROJECT_IDS) as of AS_OF, batch by batch, without storing them: what the
    sweep stores and what the monitoring workbook and `perftrack status` show for any day.  Values come from
    the latest submitted report of a quarter ended by AS_OF."""
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
        query = query.where(among(session, Project.id, project_ids))
    projects = core_rows(session, query.order_by(Project.id)).all()
    reports = submitted_reports(session, fiscal_year.id)
    with_payments = year_has_payments(session, fiscal_year.id)
    for start in range(0, len(projects), BATCH_PROJECTS):
        batch = projects[start : start + BATCH_PROJECTS]
        yield _compute_batch(session, fiscal_year, reports, batch, as_of, settings, with_payments)


@without_cycle_collection  # its rows are freed by reference counting; full collections took a third of a sweep
def sweep(
    session: Session,
    year: int,
    as_of: date | None = None,
    settings: StatusSettings | None = None,
    project_ids: list[int] | None = None,
) -> SweepResult:
    """Compute and store the statuses of YEAR (or of PROJECT_IDS) as of AS_OF (default: today)."""
    as_of = as_of or clock.today()
    counts: dict[str, int] = {}
    indicators = projects = 0
    for batch in compute_statuses(session, year, as_of, settings, project_ids):
        for row in batch.indicator_rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        indicators += len(batch.indicator_rows)
        projects += len(batch.project_rows)
        _store(session, batch, as_of)
    return SweepResult(indicators, projects, counts)


def _compute_batch(session, fiscal_year, reports, projects, as_of, settings, with_payments) -> StatusBatch:
    ids = [p.id for p in projects]
    targets = core_rows(
        session,
        select(Indicator.id, Indicator.project_id, *TARGET_COLUMNS).where(among(session, Indicator.project_id, ids)),
    ).all()
    last_quarter = quarters_ended(fiscal_year.year, as_of)
    latest = latest_values(session, reports, ids, [t[0] for t in targets], last_quarter)
    executions = project_execution(session, fiscal_year, list(projects), reports, as_of, settings, with_payments)
    now = clock.now()
    indicator_rows, by_project = [], {}
    for row in targets:
        indicator_id, project_id = row[0], row[1]
        result = indicator_status(
            target_of_columns(row[2:]), fiscal_year.year, as_of, latest.get(indicator_id), settings
        )
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
    for project_id, _budget in projects:
        rollup = roll_up(by_project.get(project_id, []))
        spend = executions[project_id]
        project_rows.append(
            {
                "project_id": project_id,
                "as_of": as_of,
                "status": rollup.status,
                "counts": rollup.counts,
                "spent": spend.spent,
                "budget": spend.budget,
                "execution_rate": spend.execution.rate,
                "expected_rate": spend.execution.expected_rate,
                "budget_lagging": spend.execution.lagging,
                "spent_through": spend.through,
                "spend_source": spend.source,
                "computed_at": now,
            }
        )
    return StatusBatch(ids, indicator_rows, project_rows)


def _store(session: Session, batch: StatusBatch, as_of: date) -> None:
    """Write the day's rows of the batch's projects: on a day not swept before, every row in one executemany;
    on a day swept before (a rerun, a project recomputed after a submission), only the rows whose figures
    changed, appeared or went (a row keeps the `computed_at` of its last change)."""
    ids = batch.project_ids
    indicators, projects = IndicatorStatusRow.__table__, ProjectStatusRow.__table__
    _write_changes(session, indicators, "indicator_id", INDICATOR_FIGURES, batch.indicator_rows, ids, as_of)
    _write_changes(session, projects, "project_id", PROJECT_FIGURES, batch.project_rows, ids, as_of)


def _write_changes(
    session: Session,
    table: Table,
    key: str,
    figures: tuple[str, ...],
    rows: list[dict],
    project_ids: list[int],
    as_of: date,
) -> None:
    """ROWS (keyed by KEY) of PROJECT_IDS as of AS_OF into TABLE, writing only what differs from what is stored
    for that day."""
    same_day = (table.c.as_of == as_of) & among(session, table.c.project_id, project_ids)
    stored = {
        row[0]: tuple(row[1:])
        for row in core_rows(session, select(table.c[key], *(table.c[name] for name in figures)).where(same_day))
    }
    if not stored:
        insert_many(session, table, rows, shared=SHARED_COLUMNS)
        return
    figures_of = itemgetter(*figures)
    connection = session.connection()
    gone = stored.keys() - {row[key] for row in rows}
    if gone:
        connection.execute(delete(table).where(same_day, among(session, table.c[key], gone)))
    changed = [row for row in rows if row[key] in stored and figures_of(row) != stored[row[key]]]
    if changed:
        connection.execute(
            update(table).where(table.c[key] == bindparam("changed_key"), table.c.as_of == as_of),
            [{"changed_key": row[key], **{name: row[name] for name in (*figures, "computed_at")}} for row in changed],
        )
    insert_many(session, table, [row for row in rows if row[key] not in stored], shared=SHARED_COLUMNS)


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
                    f"「{name}」（{code}）状态为「{Status.LAGGING.label}」：低于序时进度，请分析原因并采取措施",
                    f"/indicators/{code}",
                )
            )
    return specs
