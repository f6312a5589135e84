"""我的待办: what each person has to do now, read from the same rules the pages enforce.

A division's reporter and head see their open reports (due date, state, what is still missing and
who acts next), returns to answer and sign-offs to give; finance sees reports to review, returns
still with the divisions, overdue reports, periods ready to lock, findings to settle and the year's
readiness for the final self-evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from .alerting import unread_count
from .closing import final_run_blockers_of
from .domain.alerts import ACTIONABLE_KINDS
from .domain.periods import Period, periods_of
from .domain.permissions import Action, can
from .domain.vocabulary import Channel, FindingState, ReportState, Role, Severity
from .domain.workflow import next_step
from .models import Alert, Division, FindingRow, FiscalYear, Notification, Project, Report, User, id_of
from .queries import fiscal_year
from .reporting.reports import (
    NOT_STARTED_LABEL,
    is_locked,
    load_scope,
    lock_check,
    missing_items,
    report_situation,
    signoff_requested,
)


@dataclass
class ReportTask:
    division_code: str
    division_name: str
    period: Period
    state: str  # a ReportState, or "not_started"
    state_label: str
    due: date
    days_late: int  # 0 when not yet due
    next_step: str
    missing: int | None = None  # what is still missing before it can go on (division users)
    signoff_requested: bool = False


@dataclass
class LockTask:
    period: Period
    outstanding: int
    in_motion: int


@dataclass
class Todo:
    year: FiscalYear | None
    role: str
    reports: list[ReportTask] = field(default_factory=list)  # open reports (division) / to review (finance)
    returns: list[ReportTask] = field(default_factory=list)  # to answer (division) / with divisions (finance)
    signoffs: list[ReportTask] = field(default_factory=list)  # to sign (head)
    overdue: list[ReportTask] = field(default_factory=list)  # not submitted after the due date (finance)
    locks: list[LockTask] = field(default_factory=list)
    findings: dict[str, int] = field(default_factory=dict)  # open findings by severity
    blockers: int | None = None  # what a final self-evaluation run still needs (after the year)
    unread_actionable: int = 0
    unread: int = 0

    @property
    def empty(self) -> bool:
        return not (self.reports or self.returns or self.signoffs or self.overdue or self.locks)


def todo_of(session: Session, user: User, today: date) -> Todo:
    year = fiscal_year(session, today.year) or fiscal_year(session, None)
    todo = Todo(
        year, user.role, unread=unread_count(session, user), unread_actionable=_unread_actionable(session, user)
    )
    if year is None:
        return todo
    if user.role in (Role.REPORTER, Role.HEAD) and user.division_id is not None:
        _division_tasks(session, todo, year, user, today)
    elif can(user, Action.REVIEW_REPORT):
        _finance_tasks(session, todo, year, today)
    return todo


def _unread_actionable(session: Session, user: User) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .join(Alert, col(Alert.id) == col(Notification.alert_id))
        .where(
            col(Notification.user_id) == user.id,
            col(Notification.channel) == Channel.INBOX,
            col(Notification.read_at).is_(None),
            col(Alert.kind).in_(list(ACTIONABLE_KINDS)),
        )
    ).one()


def _task(
    session: Session, year: FiscalYear, division: Division, period: Period, today: date, report: Report
) -> ReportTask:
    """The report's line (REPORT unsaved: nobody has written to it yet, as `load_scope` gives it).  Reads the
    report alone, not what it covers: finance's list has a line for every division's report."""
    stored = report.id is not None
    state = report.state if stored else "not_started"
    due = period.due(year.report_due_days)
    requested = signoff_requested(session, report)
    return ReportTask(
        division.code,
        division.name,
        period,
        state,
        ReportState.label_of(state) if stored else NOT_STARTED_LABEL,
        due,
        max((today - due).days, 0) if report.first_submitted_at is None else 0,
        next_step(report_situation(session, report, division, period), requested),
        signoff_requested=requested,
    )


def _division_tasks(session: Session, todo: Todo, year: FiscalYear, user: User, today: date) -> None:
    division = session.get(Division, user.division_id)
    if division is None or not session.exec(select(Project.id).where(Project.division_id == division.id)).first():
        return
    for period in periods_of(year.year):
        if not period.is_open(today) or is_locked(session, _id(year), period.quarter):
            continue
        scope = load_scope(session, year.year, division.code, period.quarter)
        task = _task(session, year, division, period, today, scope.report)
        if task.state in (ReportState.SUBMITTED, ReportState.ACCEPTED):
            continue
        task.missing = len(missing_items(session, scope))
        if user.role == Role.HEAD and division.requires_head_signoff and task.signoff_requested:
            todo.signoffs.append(task)
        elif task.state == ReportState.RETURNED:
            todo.returns.append(task)
        else:
            todo.reports.append(task)


def _finance_tasks(session: Session, todo: Todo, year: FiscalYear, today: date) -> None:
    reports = session.exec(select(Report).where(Report.fiscal_year_id == year.id)).all()
    by_place = {(r.division_id, r.quarter): r for r in reports}
    divisions = {d.id: d for d in session.exec(select(Division)).all()}
    locked = {p.quarter for p in periods_of(year.year) if is_locked(session, _id(year), p.quarter)}
    for report in sorted(reports, key=lambda r: (r.quarter, divisions[r.division_id].code)):
        if report.quarter in locked:
            continue
        period = Period(year.year, report.quarter)
        if report.state == ReportState.SUBMITTED:
            todo.reports.append(_task(session, year, divisions[report.division_id], period, today, report))
        elif report.state == ReportState.RETURNED:
            todo.returns.append(_task(session, year, divisions[report.division_id], period, today, report))
    for period in periods_of(year.year):
        if not period.is_open(today) or period.quarter in locked:
            continue
        check = lock_check(session, year, period.quarter)
        if today > check.due:
            for outstanding in check.outstanding:
                if outstanding.state in ("not_started", ReportState.DRAFT, ReportState.SIGNED):
                    division = next(d for d in divisions.values() if d.code == outstanding.division_code)
                    report = by_place.get((id_of(division), period.quarter)) or Report(
                        fiscal_year_id=_id(year), division_id=id_of(division), quarter=period.quarter
                    )
                    todo.overdue.append(_task(session, year, division, period, today, report))
        if not check.too_early:
            todo.locks.append(LockTask(period, len(check.outstanding), len(check.in_motion)))
    todo.findings = {
        severity: count
        for severity, count in session.exec(
            select(FindingRow.severity, func.count())
            .join(Project, col(Project.id) == col(FindingRow.project_id))
            .where(Project.fiscal_year_id == year.id, FindingRow.state == FindingState.OPEN)
            .group_by(FindingRow.severity)
        ).all()
    }
    todo.findings = {s: todo.findings[s] for s in Severity if s in todo.findings}
    if today > Period(year.year, 4).end:
        todo.blockers = len(final_run_blockers_of(session, year, today=today))


def _id(year: FiscalYear) -> int:
    assert year.id is not None  # a stored row
    return year.id
