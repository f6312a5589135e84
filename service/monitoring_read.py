"""Read models of the monitoring pages: the overview (project statuses by division, dated targets)
and the delivery log.  The statuses are those the sweep (`service.monitoring`) stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func
from sqlalchemy import select as select_columns  # many columns, typed loosely (sqlmodel's stops at four)
from sqlmodel import Session, col, select

from .domain.actuals import assess, describe_actual
from .domain.overview import ProjectFigures, Totals, summarize
from .domain.periods import Period
from .domain.progress import expected_by
from .domain.status import PROJECT_STATUSES, StatusSettings, budget_execution
from .domain.vocabulary import Role, Status
from .models import (
    ActualEntry,
    Alert,
    DeliveryAttempt,
    Division,
    FiscalYear,
    Indicator,
    IndicatorStatusRow,
    Notification,
    Project,
    ProjectStatusRow,
    Report,
    SpendEntry,
    User,
)
from .monitoring import compute_statuses
from .reporting.reports import actual_of
from .stored_targets import target_of

SEES_EVERY_DELIVERY = (Role.FINANCE, Role.ADMIN, Role.AUDITOR)  # others see the attempts to reach them only
DELIVERY_LOG_LIMIT = 500


def latest_status_day(session: Session, year_id: int, today: date) -> date | None:
    """The latest day up to TODAY for which statuses of the year are stored."""
    return session.exec(
        select(func.max(ProjectStatusRow.as_of))
        .join(Project, Project.id == ProjectStatusRow.project_id)
        .where(Project.fiscal_year_id == year_id, ProjectStatusRow.as_of <= today)
    ).one()


def dated_targets(
    session: Session, year_id: int, division_ids: list[int], start: date, end: date
) -> list[tuple[Indicator, Project, Division]]:
    """Indicators of the divisions due between START and END (inclusive), soonest first."""
    return list(
        session.exec(
            select(Indicator, Project, Division)
            .join(Project, Project.id == Indicator.project_id)
            .join(Division, Division.id == Project.division_id)
            .where(
                Project.fiscal_year_id == year_id,
                Indicator.due.is_not(None),
                Indicator.due >= start,
                Indicator.due <= end,
                Project.division_id.in_(division_ids),
            )
            .order_by(Indicator.due, Indicator.code)
        ).all()
    )


@dataclass
class StatusOverview:
    as_of: date | None  # the stored day shown
    rows: list[tuple[Project, ProjectStatusRow | None, Division]]  # by division, then project

    @property
    def matrix(self) -> dict[str, dict[str, int]]:
        """Division name -> project status -> number of projects (a project not yet computed is not counted)."""
        matrix: dict[str, dict[str, int]] = {}
        for _project, status, division in self.rows:
            counts = matrix.setdefault(division.name, {})
            if status is not None:
                counts[status.status] = counts.get(status.status, 0) + 1
        return matrix

    @property
    def shown(self) -> list[str]:
        """The project statuses that occur, worst first."""
        matrix = self.matrix
        return [s for s in PROJECT_STATUSES if any(s in counts for counts in matrix.values())]


def status_overview(session: Session, year: FiscalYear, division_ids: list[int], today: date) -> StatusOverview:
    as_of = latest_status_day(session, year.id, today)
    rows = session.exec(
        select(Project, ProjectStatusRow, Division)
        .join(Division, Division.id == Project.division_id)
        .join(
            ProjectStatusRow,
            (ProjectStatusRow.project_id == Project.id) & (ProjectStatusRow.as_of == as_of),
            isouter=True,
        )
        .where(Project.fiscal_year_id == year.id, Project.division_id.in_(division_ids))
        .order_by(Division.code, Project.code)
    ).all()
    return StatusOverview(as_of, list(rows))


def delivery_log(session: Session, user: User, ok: bool | None = None) -> list[tuple]:
    """(attempt, notification, alert, recipient), newest first: every attempt for finance, admins and
    auditors, one's own for everyone else; OK narrows to successes or failures."""
    query = (
        select(DeliveryAttempt, Notification, Alert, User)
        .join(Notification, Notification.id == DeliveryAttempt.notification_id)
        .join(Alert, Alert.id == Notification.alert_id)
        .join(User, User.id == Notification.user_id)
    )
    if user.role not in SEES_EVERY_DELIVERY:
        query = query.where(Notification.user_id == user.id)
    if ok is not None:
        query = query.where(DeliveryAttempt.ok.is_(ok))
    return list(session.exec(query.order_by(DeliveryAttempt.id.desc()).limit(DELIVERY_LOG_LIMIT)).all())


def latest_indicator_statuses(session: Session, project_id: int) -> tuple[date | None, dict[int, IndicatorStatusRow]]:
    """The project's indicator statuses on its latest stored day: (that day, indicator id -> row)."""
    day = session.exec(
        select(func.max(IndicatorStatusRow.as_of)).where(IndicatorStatusRow.project_id == project_id)
    ).one()
    if day is None:
        return None, {}
    rows = session.exec(
        select(IndicatorStatusRow).where(IndicatorStatusRow.project_id == project_id, IndicatorStatusRow.as_of == day)
    ).all()
    return day, {row.indicator_id: row for row in rows}


def project_figures(session: Session, year_id: int, rows: list[dict]) -> list[ProjectFigures]:
    """ROWS (project status rows as dicts: computed, or stored ones' fields) with their codes and divisions,
    by division, then project."""
    meta = {
        project_id: (code, name, division)
        for project_id, code, name, division in session.exec(
            select(Project.id, Project.code, Project.name, Division.name)
            .join(Division, Division.id == Project.division_id)
            .where(Project.fiscal_year_id == year_id)
        ).all()
    }
    order = {name: i for i, name in enumerate(session.exec(select(Division.name).order_by(Division.code)).all())}
    figures = [
        ProjectFigures(
            *meta[row["project_id"]],
            row["status"],
            row["counts"],
            Decimal(row["budget"] or 0),
            None if row["spent"] is None else Decimal(row["spent"]),
            None if row["expected_rate"] is None else Decimal(row["expected_rate"]),
            bool(row["budget_lagging"]),
        )
        for row in rows
    ]
    return sorted(figures, key=lambda f: (order.get(f.division, 0), f.code))


def bureau_status(session: Session, year: FiscalYear, as_of: date, settings: StatusSettings) -> dict:
    """The bureau's totals, counts by status and per division as of AS_OF, computed now (not stored), as the
    overview shows them (`perftrack status --json`)."""
    rows = [row for batch in compute_statuses(session, year.year, as_of, settings) for row in batch.project_rows]
    bureau, divisions = summarize(project_figures(session, year.id, rows))
    return {
        "year": year.year,
        "as_of": as_of.isoformat(),
        "bureau": bureau.to_dict(),
        "divisions": [{"division": name, **totals.to_dict()} for name, totals in divisions.items()],
        "statuses": {s.value: s.label for s in Status},
    }


BEHIND_SHOWN = 20  # the most-behind indicators on the overview
_BEHIND = (Status.MISSED, Status.OVERDUE, Status.LAGGING, Status.NOT_REPORTED, Status.NOT_MET, Status.AT_RISK)


PROJECTS_SHOWN = 200  # the overview lists the most pressing projects; the project list has them all


def overview_data(
    session: Session,
    year: FiscalYear,
    division_ids: list[int],
    today: date,
    division: str | None = None,
    status: str | None = None,
) -> dict:
    """What the overview's charts and tables show, from the stored statuses of the latest day up to TODAY:
    the bureau's totals (of DIVISION, when given) and each division's, added up by the database; the trend
    of project statuses over the stored days; the most-behind indicators and the most pressing projects
    (of STATUS, when given)."""
    chosen = list(session.exec(select(Division).where(Division.id.in_(division_ids)).order_by(Division.code)).all())
    if division:
        chosen = [d for d in chosen if d.code == division]
    ids = [d.id for d in chosen]
    as_of = latest_status_day(session, year.id, today)
    totals = _division_totals(session, year.id, ids, as_of) if as_of else {}
    bureau = Totals()
    for part in totals.values():
        bureau.merge(part)
    projects: list[dict] = []
    sources: list[str] = []
    shown, through = 0, None
    if as_of is not None:
        projects, shown = _pressing_projects(session, year.id, ids, as_of, status)
        through, sources = _spend_basis(session, year.id, ids, as_of)
    return {
        "year": year.year,
        "as_of": as_of.isoformat() if as_of else None,
        "division": division,
        "status": status,
        "spent_through": through.isoformat() if through else None,
        "spend_sources": sources,
        "bureau": bureau.to_dict(),
        "divisions": [{"division": d.name, "code": d.code, **totals[d.id].to_dict()} for d in chosen if d.id in totals],
        "trend": _trend(session, year.id, ids, today),
        "behind": _most_behind(session, year.id, ids, as_of, status) if as_of else [],
        "projects": projects,
        "projects_total": shown,
    }


def _in_scope(query, year_id: int, division_ids: list[int]):
    return (
        query.select_from(ProjectStatusRow)
        .join(Project, Project.id == ProjectStatusRow.project_id)
        .where(Project.fiscal_year_id == year_id, Project.division_id.in_(division_ids))
    )


def _division_totals(session: Session, year_id: int, division_ids: list[int], as_of: date) -> dict[int, Totals]:
    """Each division's totals on AS_OF, summed by the database (three grouped queries, whatever the size)."""
    money = session.execute(
        _in_scope(
            select_columns(
                col(Project.division_id),
                func.count(),
                func.sum(col(ProjectStatusRow.budget)),
                func.sum(func.coalesce(col(ProjectStatusRow.spent), 0)),
                func.sum(col(ProjectStatusRow.budget) * func.coalesce(col(ProjectStatusRow.expected_rate), 0)),
                func.sum(case((col(ProjectStatusRow.budget_lagging).is_(True), 1), else_=0)),
            ),
            year_id,
            division_ids,
        )
        .where(ProjectStatusRow.as_of == as_of)
        .group_by(Project.division_id)
    ).all()
    project_statuses: dict[int, dict[str, int]] = {}
    for division_id, found, count in session.execute(
        _in_scope(select(Project.division_id, ProjectStatusRow.status, func.count()), year_id, division_ids)
        .where(ProjectStatusRow.as_of == as_of)
        .group_by(Project.division_id, ProjectStatusRow.status)
    ).all():
        project_statuses.setdefault(division_id, {})[found] = count
    indicator_statuses: dict[int, dict[str, int]] = {}
    for division_id, found, count in session.execute(
        select(Project.division_id, IndicatorStatusRow.status, func.count())
        .select_from(IndicatorStatusRow)
        .join(Project, Project.id == IndicatorStatusRow.project_id)
        .where(
            IndicatorStatusRow.as_of == as_of,
            Project.fiscal_year_id == year_id,
            Project.division_id.in_(division_ids),
        )
        .group_by(Project.division_id, IndicatorStatusRow.status)
    ).all():
        indicator_statuses.setdefault(division_id, {})[found] = count
    money_of = lambda value: Decimal(str(value or 0))  # noqa: E731  # SQLite sums come back as floats
    return {
        division_id: Totals.of(
            projects,
            money_of(budget).quantize(Decimal("0.01")),
            money_of(spent).quantize(Decimal("0.01")),
            money_of(weight),
            int(lagging or 0),
            project_statuses.get(division_id, {}),
            indicator_statuses.get(division_id, {}),
        )
        for division_id, projects, budget, spent, weight, lagging in money
    }


def _pressing_projects(
    session: Session, year_id: int, division_ids: list[int], as_of: date, status: str | None
) -> tuple[list[dict], int]:
    """The most pressing projects on AS_OF (worst status first, then by code), at most PROJECTS_SHOWN, and
    how many there are in all."""
    rank = case({s.value: index for index, s in enumerate(PROJECT_STATUSES)}, value=ProjectStatusRow.status)
    query = (
        _in_scope(
            select_columns(
                col(Project.code),
                col(Project.name),
                col(Division.name),
                col(ProjectStatusRow.status),
                col(ProjectStatusRow.counts),
                col(ProjectStatusRow.budget),
                col(ProjectStatusRow.spent),
                col(ProjectStatusRow.execution_rate),
                col(ProjectStatusRow.expected_rate),
                col(ProjectStatusRow.budget_lagging),
            ),
            year_id,
            division_ids,
        )
        .join(Division, Division.id == Project.division_id)
        .where(ProjectStatusRow.as_of == as_of)
    )
    counted = _in_scope(select(func.count()), year_id, division_ids).where(ProjectStatusRow.as_of == as_of)
    if status:
        query = query.where(ProjectStatusRow.status == status)
        counted = counted.where(ProjectStatusRow.status == status)
    rows = session.execute(query.order_by(rank, Division.code, Project.code).limit(PROJECTS_SHOWN)).all()
    keys = (
        "project",
        "name",
        "division",
        "status",
        "counts",
        "budget",
        "spent",
        "execution_rate",
        "expected_rate",
        "budget_lagging",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows], session.execute(counted).scalar_one()


def _spend_basis(session: Session, year_id: int, division_ids: list[int], as_of: date) -> tuple[date | None, list]:
    """The latest day the stored spend covers, and where the spend came from."""
    scoped = _in_scope(select_columns(func.max(col(ProjectStatusRow.spent_through))), year_id, division_ids)
    through = session.execute(scoped.where(ProjectStatusRow.as_of == as_of)).scalar()
    sources = _in_scope(select_columns(col(ProjectStatusRow.spend_source)).distinct(), year_id, division_ids)
    found = session.execute(sources.where(ProjectStatusRow.as_of == as_of, ProjectStatusRow.spend_source != "")).all()
    return through, sorted(source for (source,) in found)


def _trend(session: Session, year_id: int, division_ids: list[int], today: date) -> list[dict]:
    """Projects by status on every stored day up to TODAY."""
    days: dict[date, dict[str, int]] = {}
    for day, status, count in session.exec(
        select(col(ProjectStatusRow.as_of), col(ProjectStatusRow.status), func.count())
        .join(Project, Project.id == ProjectStatusRow.project_id)
        .where(
            Project.fiscal_year_id == year_id, Project.division_id.in_(division_ids), ProjectStatusRow.as_of <= today
        )
        .group_by(ProjectStatusRow.as_of, ProjectStatusRow.status)
        .order_by(ProjectStatusRow.as_of)
    ).all():
        days.setdefault(day, {})[status] = count
    return [{"as_of": day.isoformat(), "project_statuses": counts} for day, counts in days.items()]


def _most_behind(
    session: Session, year_id: int, division_ids: list[int], as_of: date, status: str | None
) -> list[dict]:
    """The indicators furthest behind, worst status first, then by how far the value falls short of what
    was expected; each with its project, division and the cause its division gave."""
    rank = case({status.value: index for index, status in enumerate(_BEHIND)}, value=IndicatorStatusRow.status)
    shortfall = func.coalesce(IndicatorStatusRow.value / func.nullif(IndicatorStatusRow.expected, 0), 0)
    worst = (
        select(col(IndicatorStatusRow.id))
        .join(Project, Project.id == IndicatorStatusRow.project_id)
        .where(
            IndicatorStatusRow.as_of == as_of,
            IndicatorStatusRow.status.in_(_BEHIND),
            Project.fiscal_year_id == year_id,
            Project.division_id.in_(division_ids),
        )
        .order_by(rank, shortfall, IndicatorStatusRow.indicator_id)
        .limit(BEHIND_SHOWN)
    )
    if status:
        worst = worst.join(
            ProjectStatusRow,
            (ProjectStatusRow.project_id == Project.id) & (ProjectStatusRow.as_of == as_of),
        ).where(ProjectStatusRow.status == status)
    chosen = list(session.exec(worst).all())
    details = session.exec(
        select(IndicatorStatusRow, Indicator, col(Project.code), col(Division.name))
        .join(Indicator, Indicator.id == IndicatorStatusRow.indicator_id)
        .join(Project, Project.id == IndicatorStatusRow.project_id)
        .join(Division, Division.id == Project.division_id)
        .where(IndicatorStatusRow.id.in_(chosen))
    ).all()
    order = {row_id: index for index, row_id in enumerate(chosen)}
    rows = sorted(details, key=lambda r: order[r[0].id])
    causes = _causes(session, [r[0].indicator_id for r in rows])
    return [
        {
            "indicator": indicator.code,
            "name": indicator.name,
            "project": project,
            "division": division_name,
            "status": found.status,
            "value": found.value,
            "expected": found.expected,
            "cause_category": causes.get(found.indicator_id, ("", ""))[0],
            "cause": causes.get(found.indicator_id, ("", ""))[1],
        }
        for found, indicator, project, division_name in rows
    ]


def _causes(session: Session, indicator_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The deviation cause (category, text) of each indicator's latest submitted value."""
    rows = session.exec(
        select(ActualEntry.indicator_id, ActualEntry.cause_category, ActualEntry.cause_text)
        .join(Report, Report.id == ActualEntry.report_id)
        .where(
            ActualEntry.indicator_id.in_(indicator_ids),
            ActualEntry.is_current.is_(True),
            Report.first_submitted_at.is_not(None),
        )
        .order_by(Report.quarter)
    ).all()
    return {indicator_id: (category, text) for indicator_id, category, text in rows}


def latest_project_statuses(
    session: Session, year_id: int, today: date, project_ids: list[int]
) -> dict[int, ProjectStatusRow]:
    """The stored status of each of PROJECT_IDS on the year's latest day up to TODAY."""
    day = latest_status_day(session, year_id, today)
    if day is None or not project_ids:
        return {}
    rows = session.exec(
        select(ProjectStatusRow).where(ProjectStatusRow.as_of == day, ProjectStatusRow.project_id.in_(project_ids))
    ).all()
    return {row.project_id: row for row in rows}


def project_quarters(session: Session, project: Project, settings: StatusSettings) -> dict:
    """Every indicator of PROJECT with its target and, per quarter sent to finance, the value, the value
    expected by the quarter's end (序时进度) and the status it had then; and the spend per quarter against its
    share of the year.  What the project page's table and charts show (`GET /projects/{code}/quarters`)."""
    year = session.exec(select(FiscalYear).where(FiscalYear.id == project.fiscal_year_id)).one()
    reports = dict(
        session.exec(
            select(Report.id, Report.quarter).where(
                Report.fiscal_year_id == year.id,
                Report.division_id == project.division_id,
                Report.first_submitted_at.is_not(None),
            )
        ).all()
    )
    indicators = session.exec(
        select(Indicator).where(Indicator.project_id == project.id).order_by(Indicator.row_order)
    ).all()
    entries = session.exec(
        select(ActualEntry).where(
            ActualEntry.indicator_id.in_([i.id for i in indicators]),
            ActualEntry.report_id.in_(list(reports)),
            ActualEntry.is_current.is_(True),
        )
    ).all()
    by_indicator: dict[int, dict[int, ActualEntry]] = {}
    for entry in entries:
        by_indicator.setdefault(entry.indicator_id, {})[reports[entry.report_id]] = entry
    _day, latest = latest_indicator_statuses(session, project.id)
    rows = []
    for indicator in indicators:
        target = target_of(indicator)
        quarters = []
        reported = by_indicator.get(indicator.id or 0, {})
        for quarter in sorted(reported):
            period = Period(year.year, quarter)
            reading = assess(target, period, actual_of(reported[quarter]), settings)
            quarters.append(
                {
                    "period": period.code,
                    "value": reading.actual.number,
                    "described": describe_actual(target, reading.actual),
                    "expected": expected_by(target, period),
                    "status": reading.light.status or None,
                    "likelihood": reading.actual.likelihood,
                }
            )
        stored = latest.get(indicator.id)
        rows.append(
            {
                "indicator": indicator.code,
                "name": indicator.name,
                "target": indicator.raw_value,
                "unit": target.unit,
                "quarters": quarters,
                "status": stored.status if stored else None,
                "projection": stored.projection if stored else None,
            }
        )
    spend_rows = session.exec(
        select(SpendEntry).where(
            SpendEntry.project_id == project.id,
            SpendEntry.report_id.in_(list(reports)),
            SpendEntry.is_current.is_(True),
        )
    ).all()
    spend, budget = [], project.budget
    for spent_entry in sorted(spend_rows, key=lambda e: reports[e.report_id]):
        quarter = reports[spent_entry.report_id]
        budget = spent_entry.budget if spent_entry.budget is not None else budget
        execution = budget_execution(spent_entry.spent, budget, year.year, Period(year.year, quarter).end, settings)
        spend.append(
            {
                "period": Period(year.year, quarter).code,
                "spent": spent_entry.spent,
                "budget": budget,
                "execution_rate": execution.rate,
                "expected_rate": execution.expected_rate,
                "lagging": execution.lagging,
            }
        )
    return {"project": project.code, "year": year.year, "indicators": rows, "spend": spend}
