"""Read models of the monitoring pages: the overview (project statuses by division, dated targets)
and the delivery log.  The statuses are those the sweep (`service.monitoring`) stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from .domain.status import WORST_FIRST
from .domain.vocabulary import Role, Status
from .models import (
    Alert,
    DeliveryAttempt,
    Division,
    FiscalYear,
    Indicator,
    Notification,
    Project,
    ProjectStatusRow,
    User,
)

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
        """Division name -> status -> number of projects (no stored status counts as pending)."""
        matrix: dict[str, dict[str, int]] = {}
        for _project, status, division in self.rows:
            counts = matrix.setdefault(division.name, {})
            key = status.status if status else Status.PENDING
            counts[key] = counts.get(key, 0) + 1
        return matrix

    @property
    def shown(self) -> list[str]:
        """The statuses that occur, worst first."""
        matrix = self.matrix
        return [s for s in WORST_FIRST if any(s in counts for counts in matrix.values())]


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
