"""What divisions have sent to finance: each indicator's latest submitted value and each project's
latest submitted spend.  Drafts are the division's own business and never count.

The status sweep and the self-evaluation both read through here, set-based: the year's submitted
reports once (`submitted_reports`), then one query for values and one for spend per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from .db import among, core_rows
from .domain.status import Reported
from .models import ActualEntry, Indicator, Report, SpendEntry

SMALL_BATCH = 500  # up to this many indicators: look their values up by id (one project after a submission)


@dataclass(frozen=True)
class SubmittedReports:
    """The year's reports sent to finance at least once: report id -> quarter, and -> version."""

    quarters: dict[int, int]
    versions: dict[int, int]


def submitted_reports(session: Session, year_id: int) -> SubmittedReports:
    rows = session.execute(
        select(Report.id, Report.quarter, Report.version).where(
            Report.fiscal_year_id == year_id, Report.first_submitted_at.is_not(None)
        )
    ).all()
    return SubmittedReports({rid: quarter for rid, quarter, _ in rows}, {rid: version for rid, _, version in rows})


def latest_values(
    session: Session,
    reports: SubmittedReports,
    project_ids: list[int],
    indicator_ids: list[int],
    last_quarter: int = 4,
) -> dict[int, Reported]:
    """The value of each indicator (of PROJECT_IDS; INDICATOR_IDS are theirs) in its latest submitted quarter
    up to LAST_QUARTER."""
    columns = (
        ActualEntry.indicator_id,
        ActualEntry.report_id,
        ActualEntry.number,
        ActualEntry.done,
        ActualEntry.done_on,
        ActualEntry.likelihood,
        ActualEntry.progress,
        ActualEntry.expected_on,
    )
    if len(indicator_ids) <= SMALL_BATCH:  # by indicator id: the planner cannot wander off to the year's reports
        query = select(*columns).where(among(session, ActualEntry.indicator_id, indicator_ids))
    else:
        query = (
            select(*columns)
            .join(Indicator, Indicator.id == ActualEntry.indicator_id)
            .where(among(session, Indicator.project_id, project_ids))
        )
    quarters = {rid: q for rid, q in reports.quarters.items() if q <= last_quarter}
    # Core rows (no ORM result machinery) and one pass keeping each indicator's latest quarter; of two rows of
    # the same quarter the later one wins, as a stable sort by quarter would have it.
    held: dict[int, tuple[int, Any]] = {}
    for row in core_rows(session, query.where(ActualEntry.is_current.is_(True))).all():  # fetchall: cheaper per row
        quarter = quarters.get(row[1])  # row[1]: the report id
        if quarter is not None:
            before = held.get(row[0])
            if before is None or quarter >= before[0]:
                held[row[0]] = (quarter, row)
    return {
        indicator_id: Reported(quarter, number, done, done_on, likelihood, progress, expected_on)
        for indicator_id, (quarter, (_, _, number, done, done_on, likelihood, progress, expected_on)) in held.items()
    }


@dataclass(frozen=True)
class ReportedSpend:
    """A project's latest submitted spend (and the quarter it was reported for) and budget adjustment."""

    spent: Decimal | None
    budget: Decimal | None
    quarter: int | None  # the quarter SPENT was reported for


def latest_spend(
    session: Session, reports: SubmittedReports, project_ids: list[int], last_quarter: int = 4
) -> dict[int, ReportedSpend]:
    """Per project: the latest submitted spend, and the latest submitted budget adjustment (each may
    come from an earlier quarter than the other), from quarters up to LAST_QUARTER."""
    quarters = {rid: q for rid, q in reports.quarters.items() if q <= last_quarter}
    rows = core_rows(
        session,
        select(SpendEntry.project_id, SpendEntry.report_id, SpendEntry.spent, SpendEntry.budget).where(
            among(session, SpendEntry.project_id, project_ids), SpendEntry.is_current.is_(True)
        ),
    ).all()
    spend: dict[int, ReportedSpend] = {}
    for project_id, report_id, spent, budget in sorted(
        (r for r in rows if r[1] in quarters), key=lambda r: quarters[r[1]]
    ):
        before = spend.get(project_id)
        quarter: int | None = quarters[report_id]
        if before is not None:
            if spent is None:
                spent, quarter = before.spent, before.quarter
            budget = budget if budget is not None else before.budget
        spend[project_id] = ReportedSpend(spent, budget, quarter if spent is not None else None)
    return spend
