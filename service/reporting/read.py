"""Read models of reports (what pages, the API and workbooks show): the form's rows, what changed
since a return, value histories and the overview of every division's reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from ..domain.actuals import Actual, Reading, assess, describe_actual, projected_forecast, value_text
from ..domain.periods import Period
from ..domain.progress import expected_by, needs_explanation
from ..domain.status import StatusSettings, linear_projection
from ..domain.targets import Target, format_decimal
from ..domain.vocabulary import ReportAction, TargetKind
from ..models import (
    ActualEntry,
    Attachment,
    Division,
    FiscalYear,
    Indicator,
    Project,
    Report,
    ReportEvent,
    SpendEntry,
)
from ..stored_targets import target_of
from .reports import (
    Scope,
    actual_of,
    budgets_in_force,
    current_actuals,
    current_spend,
    open_return,
    previous_actuals,
    previous_spend,
)


@dataclass
class Row:
    indicator: Indicator
    target: Target
    reading: Reading
    expected: str  # 序时进度目标, readable
    previous: str  # last period's value, readable
    return_reason: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    period: Period | None = None  # the report's, for the machine's full-year projection

    @property
    def projected_forecast(self) -> str:
        """The machine's 全年预计完成值, offered as the form's default (stored only when the user enters it)."""
        if self.period is None:
            return ""
        return projected_forecast(self.target, self.period, self.reading.actual)

    @property
    def measure_label(self) -> str:
        return self.target.measure.label

    @property
    def value_text(self) -> str:
        return value_text(self.target, self.reading.actual)

    @property
    def described(self) -> str:
        return describe_actual(self.target, self.reading.actual)


@dataclass
class ProjectGroup:
    project: Project
    rows: list[Row]
    spent: Decimal | None
    budget_in_force: Decimal
    adjusted_budget: Decimal | None
    previous_spent: Decimal | None
    decrease_reason: str = ""  # why the spend to date is below last quarter's
    forecast: Decimal | None = None  # 全年预计执行数 as the division stated it (Q2/Q3)
    period: Period | None = None

    @property
    def projected_spend(self) -> Decimal | None:
        """The machine's 全年预计执行数 (the spend to date at the same pace, at most the budget in force)."""
        if self.spent is None or self.period is None:
            return None
        return linear_projection(self.spent, self.period.quarter, self.budget_in_force)

    @property
    def execution_rate(self) -> Decimal | None:
        if self.spent is None or not self.budget_in_force:
            return None
        return (self.spent / self.budget_in_force * 100).quantize(Decimal("0.1"))


def latest_event(session: Session, report: Report, action: str) -> ReportEvent | None:
    if report.id is None:
        return None
    return session.exec(
        select(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.action == action)
        .order_by(ReportEvent.id.desc())
    ).first()


def report_events(session: Session, report: Report) -> list[ReportEvent]:
    """Everything that happened to the report, newest first."""
    if report.id is None:
        return []
    return list(
        session.exec(
            select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id.desc())
        ).all()
    )


def expected_text(target: Target, period: Period) -> str:
    if target.kind == TargetKind.DEADLINE:
        return f"{target.due.isoformat()} 前完成" if target.due else ""
    expected = expected_by(target, period)
    return "" if expected is None else f"{format_decimal(expected)}{target.unit}"


def return_reasons(returned: ReportEvent | None) -> dict[str, str]:
    """The reason per indicator code of an open return (none without one)."""
    return (returned.detail or {}).get("reasons", {}) if returned else {}


def form_groups(
    session: Session,
    scope: Scope,
    settings: StatusSettings = StatusSettings(),
    reasons: dict[str, str] | None = None,
) -> list[ProjectGroup]:
    """Everything the report page shows, in a handful of queries; the lights under the region's rules (SETTINGS).
    REASONS are the open return's reasons per indicator when the caller has read them already."""
    report = scope.report
    current = current_actuals(session, report.id)
    previous = previous_actuals(session, scope)
    spend = current_spend(session, report.id)
    spend_before = previous_spend(session, scope)
    budgets = budgets_in_force(session, scope)
    if reasons is None:
        reasons = return_reasons(open_return(session, report))
    attachments: dict[int, list[Attachment]] = {}
    if report.id is not None:
        for item in session.exec(
            select(Attachment)
            .where(Attachment.report_id == report.id, Attachment.removed_at.is_(None))
            .order_by(Attachment.id)
        ).all():
            attachments.setdefault(item.indicator_id, []).append(item)
    groups: dict[int, ProjectGroup] = {}
    for code, (indicator, project) in scope.indicators.items():
        group = groups.get(project.id)
        if group is None:
            entry, before = spend.get(project.id), spend_before.get(project.id)
            group = groups[project.id] = ProjectGroup(
                project,
                [],
                entry.spent if entry else None,
                budgets.get(project.id, project.budget),
                entry.budget if entry else None,
                before.spent if before else None,
                entry.decrease_reason if entry else "",
                entry.forecast if entry else None,
                scope.period,
            )
        target = target_of(indicator)
        before_entry = previous.get(indicator.id)
        group.rows.append(
            Row(
                indicator,
                target,
                assess(target, scope.period, actual_of(current.get(indicator.id)), settings),
                expected_text(target, scope.period),
                describe_actual(target, actual_of(before_entry)) if before_entry else "",
                reasons.get(code, ""),
                attachments.get(indicator.id, []),
                scope.period,
            )
        )
    for project in scope.projects.values():  # projects without indicators still report spend
        if project.id not in groups:
            entry, before = spend.get(project.id), spend_before.get(project.id)
            groups[project.id] = ProjectGroup(
                project,
                [],
                entry.spent if entry else None,
                budgets.get(project.id, project.budget),
                entry.budget if entry else None,
                before.spent if before else None,
                entry.decrease_reason if entry else "",
                entry.forecast if entry else None,
                scope.period,
            )
    return sorted(groups.values(), key=lambda g: g.project.code)


@dataclass
class PageSummary:
    """What a long report page says at its top: progress, problems, and where they are."""

    filled: int  # indicators with a value
    indicators: int
    spend_filled: int  # projects with spend to date
    projects: int
    behind: int  # indicators behind 序时进度 or not certain to be met (an explanation is required)
    explained: int  # of those, with a deviation cause
    changed: int  # cells changed since finance's return
    problem_codes: list[str]  # rows with something to look at, in page order
    first_error: str  # the first row with an error ("" when none)
    per_project: dict[str, tuple[int, int, bool]]  # code -> (filled, indicators, has a problem)


def _row_has_problem(row: Row, errors: dict, changed: set[str]) -> bool:
    return bool(
        errors.get(row.indicator.code)
        or row.return_reason
        or row.indicator.code in changed
        or needs_explanation(row.reading.light, row.reading.actual.likelihood)
    )


def page_summary(groups: list[ProjectGroup], errors: dict, changes: list[Change]) -> PageSummary:
    changed = {c.code for c in changes}
    rows = [row for group in groups for row in group.rows]
    behind = [r for r in rows if needs_explanation(r.reading.light, r.reading.actual.likelihood)]
    problems: list[str] = []
    per_project = {}
    first_error = ""
    for group in groups:
        code = group.project.code
        if errors.get(code) or code in changed:
            problems.append(code)
        if errors.get(code) and not first_error:
            first_error = f"p-{code}"
        flagged = False
        for row in group.rows:
            if _row_has_problem(row, errors, changed):
                problems.append(row.indicator.code)
                flagged = True
            if errors.get(row.indicator.code) and not first_error:
                first_error = f"i-{row.indicator.code}"
        filled = sum(1 for r in group.rows if r.reading.actual.has_value())
        per_project[code] = (filled, len(group.rows), flagged or bool(errors.get(code)))
    return PageSummary(
        sum(1 for r in rows if r.reading.actual.has_value()),
        len(rows),
        sum(1 for g in groups if g.spent is not None),
        len(groups),
        len(behind),
        sum(1 for r in behind if r.reading.actual.cause_category),
        len(changes),
        problems,
        first_error,
        per_project,
    )


@dataclass
class Change:
    code: str
    name: str
    before: str
    after: str
    actor: str
    at: datetime


def _entry_text(target: Target, actual: Actual) -> str:
    parts = [describe_actual(target, actual) or "（空）"]
    if actual.likelihood:
        parts.append(f"可能性：{actual.likelihood}")
    if actual.cause_category:
        parts.append(f"{actual.cause_category}：{actual.cause_text}；措施：{actual.measure_text}")
    return "；".join(parts)


def changes_since_return(session: Session, scope: Scope) -> list[Change]:
    """Per indicator and project: the value when finance returned the report, and now."""
    report = scope.report
    returned = latest_event(session, report, ReportAction.RETURN)
    if returned is None:
        return []
    by_id = {i.id: i for i, _ in scope.indicators.values()}
    projects = {p.id: p for p in scope.projects.values()}
    changes = []
    for model, key in ((ActualEntry, "indicator_id"), (SpendEntry, "project_id")):
        entries = session.exec(select(model).where(model.report_id == report.id).order_by(model.id)).all()
        at_return = {getattr(e, key): e for e in entries if e.report_version <= returned.version}  # latest wins
        for entry in entries:
            if not entry.is_current or entry.report_version <= returned.version:
                continue
            before = at_return.get(getattr(entry, key))
            if model is ActualEntry:
                indicator = by_id.get(entry.indicator_id) or session.get(Indicator, entry.indicator_id)
                target = target_of(indicator)
                changes.append(
                    Change(
                        indicator.code,
                        indicator.name,
                        _entry_text(target, actual_of(before)),
                        _entry_text(target, actual_of(entry)),
                        entry.actor,
                        entry.created_at,
                    )
                )
            else:
                project = projects[entry.project_id]
                changes.append(
                    Change(
                        project.code,
                        f"{project.name}（资金）",
                        _spend_text(before),
                        _spend_text(entry),
                        entry.actor,
                        entry.created_at,
                    )
                )
    changes += _evidence_changes(session, scope, returned)
    return sorted(changes, key=lambda c: c.code)


def _evidence_changes(session: Session, scope: Scope, returned: ReportEvent) -> list[Change]:
    """Evidence added or removed since the return, one row per file (from the report's events)."""
    events = session.exec(
        select(ReportEvent)
        .where(
            ReportEvent.report_id == scope.report.id,
            ReportEvent.action.in_((ReportAction.ATTACH, ReportAction.DETACH)),
            ReportEvent.version > returned.version,
        )
        .order_by(ReportEvent.id)
    ).all()
    changes = []
    for event in events:
        detail = event.detail or {}
        code = detail.get("indicator", "")
        found = scope.indicators.get(code)
        added = event.action == ReportAction.ATTACH
        changes.append(
            Change(
                code,
                f"{found[0].name if found else ''}（附件）",
                "—" if added else f"附件 {detail.get('file_name', '')}",
                f"新增附件 {detail.get('file_name', '')}" if added else "已移除",
                event.actor,
                event.created_at,
            )
        )
    return changes


def _spend_text(entry: SpendEntry | None) -> str:
    if entry is None or entry.spent is None:
        return "（空）"
    text = f"执行数 {entry.spent:,.2f} 万元"
    text += f"；全年预算数 {entry.budget:,.2f} 万元" if entry.budget is not None else ""
    return text + (f"；减少原因：{entry.decrease_reason}" if entry.decrease_reason else "")


@dataclass
class HistoryRow:
    at: datetime
    actor: str
    period: str
    report_version: int
    source: str
    before: str
    after: str
    division_id: int  # whose report it was saved in (a moved project's periods belong to each division)


def _history(rows, describe) -> list[HistoryRow]:
    """(entry, report, year) rows oldest first → who, when, old → new within each report."""
    last_by_report: dict[int, str] = {}
    history = []
    for entry, report, year in rows:
        after = describe(entry)
        history.append(
            HistoryRow(
                entry.created_at,
                entry.actor,
                Period(year, report.quarter).code,
                entry.report_version,
                entry.source,
                last_by_report.get(report.id, "（空）"),
                after,
                report.division_id,
            )
        )
        last_by_report[report.id] = after
    return history


def _entries_with_reports(session: Session, model, column, value):
    return session.exec(
        select(model, Report, FiscalYear.year)
        .join(Report, Report.id == model.report_id)
        .join(FiscalYear, FiscalYear.id == Report.fiscal_year_id)
        .where(column == value)
        .order_by(model.id)
    ).all()


def indicator_history(session: Session, indicator: Indicator) -> list[HistoryRow]:
    """Every saved value of the indicator, oldest first: who, when, old → new, which report version."""
    target = target_of(indicator)
    rows = _entries_with_reports(session, ActualEntry, ActualEntry.indicator_id, indicator.id)
    return _history(rows, lambda entry: _entry_text(target, actual_of(entry)))


def spend_history(session: Session, project: Project) -> list[HistoryRow]:
    """Every saved spend / adjusted budget of the project, oldest first."""
    return _history(_entries_with_reports(session, SpendEntry, SpendEntry.project_id, project.id), _spend_text)


@dataclass
class ReportSummary:
    division: Division
    quarter: int
    report: Report | None
    filled: int
    total: int


def report_overview(session: Session, year: FiscalYear, divisions: list[Division]) -> list[ReportSummary]:
    """Each division × quarter: state, how many indicators are filled in."""
    reports = {
        (r.division_id, r.quarter): r
        for r in session.exec(select(Report).where(Report.fiscal_year_id == year.id)).all()
    }
    totals = dict(
        session.exec(
            select(Project.division_id, func.count(Indicator.id))
            .join(Indicator, Indicator.project_id == Project.id)
            .where(Project.fiscal_year_id == year.id)
            .group_by(Project.division_id)
        ).all()
    )
    filled = (
        dict(
            session.exec(
                select(ActualEntry.report_id, func.count())
                .where(ActualEntry.is_current.is_(True), ActualEntry.report_id.in_([r.id for r in reports.values()]))
                .group_by(ActualEntry.report_id)
            ).all()
        )
        if reports
        else {}
    )
    result = []
    for division in divisions:
        if not totals.get(division.id):
            continue
        for quarter in range(1, 5):
            report = reports.get((division.id, quarter))
            result.append(
                ReportSummary(division, quarter, report, filled.get(report.id, 0) if report else 0, totals[division.id])
            )
    return result
