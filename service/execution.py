"""Budget execution of projects to a date (docs/domain.md §6.7, §6.9): from the treasury payments when the
year has any, to the latest month-end, against that month's share of the year; otherwise from the latest
quarterly 执行数 reported for a quarter ended by then, against that quarter's share.  The sweep and the
monitoring workbook both read it here, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from .domain.payments import last_month_end
from .domain.periods import Period, periods_of
from .domain.status import BudgetExecution, StatusSettings, budget_execution
from .domain.vocabulary import SpendSource
from .models import FiscalYear
from .payments import paid_through
from .submitted import SubmittedReports, latest_spend


@dataclass(frozen=True)
class ProjectExecution:
    spent: Decimal | None  # 万元, to THROUGH
    budget: Decimal  # the full-year budget in force (the latest reported adjustment, else the table's)
    through: date | None  # the month-end (payments) or quarter-end (report) SPENT covers
    source: str  # SpendSource, or "" when nothing is known
    execution: BudgetExecution

    @property
    def through_text(self) -> str:
        """How the cut-off reads on a form: 1–7月."""
        return f"1–{self.through.month}月" if self.through else ""


def quarters_ended(year: int, as_of: date) -> int:
    return sum(1 for period in periods_of(year) if period.end <= as_of)


def project_execution(
    session: Session,
    year: FiscalYear,
    projects: list[tuple[int, Decimal]],
    reports: SubmittedReports,
    as_of: date,
    settings: StatusSettings,
    with_payments: bool,
) -> dict[int, ProjectExecution]:
    """Per project (id, the table's budget) of YEAR: its execution as of AS_OF.  WITH_PAYMENTS: the year has
    treasury payments loaded (then a project without any has spent nothing)."""
    ids = [project_id for project_id, _budget in projects]
    reported = latest_spend(session, reports, ids, quarters_ended(year.year, as_of))
    month_end = last_month_end(year.year, as_of) if with_payments else None
    paid = paid_through(session, ids, month_end) if month_end else {}
    result = {}
    for project_id, table_budget in projects:
        report = reported.get(project_id)
        budget = report.budget if report and report.budget is not None else table_budget
        spent: Decimal | None
        source: str
        if with_payments:
            spent = paid.get(project_id, Decimal(0)) if month_end else None
            through, source = month_end, SpendSource.PAYMENTS
        elif report is not None and report.spent is not None and report.quarter is not None:
            spent, through, source = report.spent, Period(year.year, report.quarter).end, SpendSource.REPORT
        else:
            spent, through, source = None, None, ""
        execution = budget_execution(spent, budget, year.year, through or as_of, settings)
        result[project_id] = ProjectExecution(spent, budget, through, source if spent is not None else "", execution)
    return result
