"""Read-side queries shared by the web pages and the API (set-based: a few queries per page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from .domain.permissions import Action, can
from .domain.vocabulary import FindingState, Severity, TargetKind
from .models import Division, FindingRow, FiscalYear, Indicator, Project, TargetRevision, User
from .submitted import latest_values, submitted_reports

SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}  # errors first


@dataclass
class ProjectFilter:
    year: int | None = None
    division: str | None = None  # division code
    funding_level: str | None = None
    has_findings: bool | None = None  # open findings of severity warning or error
    search: str | None = None  # a part of the project's name or code


def years(session: Session) -> list[int]:
    return list(session.exec(select(FiscalYear.year).order_by(FiscalYear.year.desc())).all())


def fiscal_year(session: Session, year: int | None) -> FiscalYear | None:
    """YEAR's fiscal year; the latest one when no year is asked for."""
    query = select(FiscalYear)
    query = query.where(FiscalYear.year == year) if year else query.order_by(FiscalYear.year.desc())
    return session.exec(query).first()


def divisions(session: Session) -> list[Division]:
    return list(session.exec(select(Division).order_by(Division.code)).all())


def visible_divisions(session: Session, user: User | None) -> list[Division]:
    """The divisions whose reports, statuses and scores USER may see."""
    return [d for d in divisions(session) if can(user, Action.VIEW_REPORT, d.id)]


def open_finding_counts(session: Session, project_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    query = select(FindingRow.project_id, FindingRow.severity, func.count()).where(
        FindingRow.state == FindingState.OPEN
    )
    if project_ids is not None:
        query = query.where(FindingRow.project_id.in_(project_ids))
    counts: dict[int, dict[str, int]] = {}
    for project_id, severity, count in session.exec(query.group_by(FindingRow.project_id, FindingRow.severity)).all():
        counts.setdefault(project_id, {})[severity] = count
    return counts


def list_projects(session: Session, flt: ProjectFilter) -> list[dict]:
    query = (
        select(Project, Division, FiscalYear.year)
        .join(Division, Division.id == Project.division_id)
        .join(FiscalYear, FiscalYear.id == Project.fiscal_year_id)
    )
    if flt.year:
        query = query.where(FiscalYear.year == flt.year)
    if flt.division:
        query = query.where(Division.code == flt.division)
    if flt.funding_level:
        query = query.where(Project.funding_level == (None if flt.funding_level == "未注明" else flt.funding_level))
    if flt.search:
        words = flt.search.strip()[:100]
        query = query.where(
            Project.name.contains(words, autoescape=True) | Project.code.contains(words, autoescape=True)
        )
    rows = session.exec(query.order_by(Project.code)).all()
    ids = [p.id for p, _, _ in rows]
    indicator_counts = (
        dict(
            session.exec(
                select(Indicator.project_id, func.count())
                .where(Indicator.project_id.in_(ids))
                .group_by(Indicator.project_id)
            ).all()
        )
        if ids
        else {}
    )
    findings = open_finding_counts(session, ids) if ids else {}
    result = []
    for project, division, year in rows:
        counts = findings.get(project.id, {})
        serious = counts.get(Severity.ERROR, 0) + counts.get(Severity.WARNING, 0)
        if flt.has_findings is True and not serious:
            continue
        if flt.has_findings is False and serious:
            continue
        result.append(
            {
                "project": project,
                "division": division,
                "year": year,
                "indicator_count": indicator_counts.get(project.id, 0),
                "findings": counts,
            }
        )
    return result


def project_by_code(session: Session, code: str, year: int | None = None) -> Project | None:
    """The project with CODE in YEAR; without a year, in the latest year that has it (codes repeat
    across years: a continuing project keeps its budget-system code)."""
    query = select(Project).join(FiscalYear, FiscalYear.id == Project.fiscal_year_id).where(Project.code == code)
    if year:
        query = query.where(FiscalYear.year == year)
    return session.exec(query.order_by(FiscalYear.year.desc())).first()


def indicator_by_code(
    session: Session, code: str, year: int | None = None
) -> tuple[Indicator, Project, Division] | None:
    """The indicator with CODE in YEAR (else the latest year that has it), with its project and division."""
    query = (
        select(Indicator, Project, Division)
        .join(Project, Project.id == Indicator.project_id)
        .join(Division, Division.id == Project.division_id)
        .join(FiscalYear, FiscalYear.id == Project.fiscal_year_id)
        .where(Indicator.code == code)
    )
    if year:
        query = query.where(FiscalYear.year == year)
    return session.exec(query.order_by(FiscalYear.year.desc())).first()


def indicators_of(session: Session, project_id: int) -> list[Indicator]:
    return list(
        session.exec(select(Indicator).where(Indicator.project_id == project_id).order_by(Indicator.row_order)).all()
    )


def findings_by_indicator(session: Session, project_id: int) -> dict[int | None, list[FindingRow]]:
    grouped: dict[int | None, list[FindingRow]] = {}
    for finding in session.exec(select(FindingRow).where(FindingRow.project_id == project_id)).all():
        grouped.setdefault(finding.indicator_id, []).append(finding)
    for items in grouped.values():
        items.sort(key=lambda f: (f.state != FindingState.OPEN, SEVERITY_ORDER.get(f.severity, 3), f.code))
    return grouped


def revisions_of(session: Session, indicator_ids: list[int]) -> dict[int, list[TargetRevision]]:
    grouped: dict[int, list[TargetRevision]] = {}
    if not indicator_ids:
        return grouped
    query = select(TargetRevision).where(TargetRevision.indicator_id.in_(indicator_ids)).order_by(TargetRevision.id)
    for revision in session.exec(query).all():
        grouped.setdefault(revision.indicator_id, []).append(revision)
    return grouped


def _scoped(query, year: int | None, division: str | None, project: str | None):
    """Narrow a query that already joins Project and Division to a year, division or project."""
    if year:
        query = query.join(FiscalYear, FiscalYear.id == Project.fiscal_year_id).where(FiscalYear.year == year)
    if division:
        query = query.where(Division.code == division)
    if project:
        query = query.where(Project.code == project)
    return query


def finding_codes(session: Session) -> list[str]:
    return list(session.exec(select(FindingRow.code).distinct().order_by(FindingRow.code)).all())


def list_findings(
    session: Session,
    state: str | None = FindingState.OPEN,
    severity: str | None = None,
    code: str | None = None,
    division: str | None = None,
    project: str | None = None,
    year: int | None = None,
) -> list[tuple[FindingRow, Project, Indicator | None, Division]]:
    query = (
        select(FindingRow, Project, Indicator, Division)
        .join(Project, Project.id == FindingRow.project_id)
        .join(Division, Division.id == Project.division_id)
        .join(Indicator, Indicator.id == FindingRow.indicator_id, isouter=True)
    )
    query = _scoped(query, year, division, project)
    if state:
        query = query.where(FindingRow.state == state)
    if severity:
        query = query.where(FindingRow.severity == severity)
    if code:
        query = query.where(FindingRow.code == code)
    rows = session.exec(query).all()
    return sorted(rows, key=lambda r: (SEVERITY_ORDER.get(r[0].severity, 3), r[1].code, r[2].code if r[2] else ""))


def list_indicators(
    session: Session,
    code: str | None = None,
    project: str | None = None,
    division: str | None = None,
    kind: str | None = None,
    has_findings: bool | None = None,
    year: int | None = None,
    due_from=None,
    due_to=None,
) -> list[tuple[Indicator, Project, Division]]:
    query = (
        select(Indicator, Project, Division)
        .join(Project, Project.id == Indicator.project_id)
        .join(Division, Division.id == Project.division_id)
    )
    query = _scoped(query, year, division, project)
    if code:
        query = query.where(Indicator.code == code)
    if kind:
        query = query.where(Indicator.kind == kind)
    if due_from:
        query = query.where(Indicator.due >= due_from)
    if due_to:
        query = query.where(Indicator.due <= due_to)
    if has_findings is not None:
        flagged = select(FindingRow.indicator_id).where(
            FindingRow.state == FindingState.OPEN, FindingRow.indicator_id.is_not(None)
        )
        query = query.where(Indicator.id.in_(flagged) if has_findings else Indicator.id.not_in(flagged))
    return list(session.exec(query.order_by(Indicator.code)).all())


def deadlines(session: Session, year: int | None = None) -> list[tuple[Indicator, Project, Division]]:
    rows = list_indicators(session, kind=TargetKind.DEADLINE, year=year)
    return sorted(rows, key=lambda r: (r[0].due is None, r[0].due, r[0].code))


def completion_dates(session: Session, rows: list[tuple[Indicator, Project, Division]]) -> dict[int, date]:
    """Per dated indicator of ROWS reported done in a submitted report: its completion date, so a
    finished deadline is shown as done rather than days overdue."""
    done: dict[int, date] = {}
    by_year: dict[int, list[tuple[Indicator, Project, Division]]] = {}
    for row in rows:
        by_year.setdefault(row[1].fiscal_year_id, []).append(row)
    for year_id, items in by_year.items():
        values = latest_values(
            session,
            submitted_reports(session, year_id),
            sorted({p.id for _i, p, _d in items if p.id is not None}),
            [i.id for i, _p, _d in items if i.id is not None],
        )
        done |= {i: v.done_on for i, v in values.items() if v.done and v.done_on is not None}
    return done
