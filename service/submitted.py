"""What divisions have sent to finance: each indicator's latest submitted value and each project's
latest submitted spend.  Drafts are the division's own business and never count.

The status sweep and the self-evaluation both read through here, set-based: the year's submitted
reports once (`submitted_reports`), then one query for values and one for spend per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from .domain.actuals import Spend
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
    session: Session, reports: SubmittedReports, project_ids: list[int], indicator_ids: list[int]
) -> dict[int, Reported]:
    """The value of each indicator (of PROJECT_IDS; INDICATOR_IDS are theirs) in its latest submitted quarter."""
    columns = (
        ActualEntry.indicator_id,
        ActualEntry.report_id,
        ActualEntry.number,
        ActualEntry.done,
        ActualEntry.done_on,
        ActualEntry.likelihood,
        ActualEntry.progress,
    )
    if len(indicator_ids) <= SMALL_BATCH:  # by indicator id: the planner cannot wander off to the year's reports
        query = select(*columns).where(ActualEntry.indicator_id.in_(indicator_ids))
    else:
        query = (
            select(*columns)
            .join(Indicator, Indicator.id == ActualEntry.indicator_id)
            .where(Indicator.project_id.in_(project_ids))
        )
    quarters = reports.quarters
    rows = session.execute(query.where(ActualEntry.is_current.is_(True))).all()
    latest: dict[int, Reported] = {}
    for indicator_id, report_id, number, done, done_on, likelihood, progress in sorted(
        (r for r in rows if r[1] in quarters), key=lambda r: quarters[r[1]]
    ):  # r[1]: the report id
        latest[indicator_id] = Reported(quarters[report_id], number, done, done_on, likelihood, progress)  # later wins
    return latest


def latest_spend(session: Session, reports: SubmittedReports, project_ids: list[int]) -> dict[int, Spend]:
    """Per project: the latest submitted spend, and the latest submitted budget adjustment (each may
    come from an earlier quarter than the other)."""
    quarters = reports.quarters
    rows = session.execute(
        select(SpendEntry.project_id, SpendEntry.report_id, SpendEntry.spent, SpendEntry.budget).where(
            SpendEntry.project_id.in_(project_ids), SpendEntry.is_current.is_(True)
        )
    ).all()
    spend: dict[int, Spend] = {}
    for project_id, _report_id, spent, budget in sorted(
        (r for r in rows if r[1] in quarters), key=lambda r: quarters[r[1]]
    ):
        before = spend.get(project_id)
        if before is not None:
            spent = spent if spent is not None else before.spent
            budget = budget if budget is not None else before.budget
        spend[project_id] = Spend(spent, budget)
    return spend
