"""Turning planned alerts into stored alerts and notifications, exactly once.

`scan` plans the day's deadline and report alerts (service.domain.alerts) from the
database; `create_alerts` stores those whose key is new (the unique key settles races
between duplicate schedulers and retried jobs) and fans each out to its recipients on
their channels.  Delivery itself is `service.notify`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from .clock import clock
from .domain.alerts import (
    ACTIONABLE_KINDS,
    MUTABLE_KINDS,
    AlertSettings,
    AlertSpec,
    BudgetLag,
    DatedTarget,
    budget_digests,
    budget_marks,
    plan_deadlines,
    plan_reports,
    reports_owed,
)
from .domain.status import NEEDS_ACTION, WORST_FIRST
from .domain.vocabulary import AlertKind, Channel, Role, Status, TargetKind
from .models import (
    ActualEntry,
    Alert,
    Division,
    FiscalYear,
    Indicator,
    Notification,
    Project,
    ProjectStatusRow,
    Report,
    User,
)


def _dated_targets(session: Session, year: FiscalYear) -> list[DatedTarget]:
    done = set(
        session.execute(
            select(ActualEntry.indicator_id)
            .join(Report, Report.id == ActualEntry.report_id)
            .where(Report.fiscal_year_id == year.id, ActualEntry.is_current.is_(True), ActualEntry.done.is_(True))
        ).scalars()
    )
    rows = session.execute(
        select(Indicator.id, Indicator.code, Indicator.name, Indicator.due, Project.division_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == year.id, Indicator.kind == TargetKind.DEADLINE, Indicator.due.is_not(None))
    ).all()
    return [
        DatedTarget(code, name, division_id, due, indicator_id in done)
        for indicator_id, code, name, due, division_id in rows
    ]


def plan_day(session: Session, today: date, settings: AlertSettings = AlertSettings()) -> list[AlertSpec]:
    specs: list[AlertSpec] = []
    for year in session.execute(select(FiscalYear).where(FiscalYear.year.in_([today.year - 1, today.year]))).scalars():
        specs += plan_deadlines(_dated_targets(session, year), today, settings)
        divisions = session.execute(
            select(Division.id, Division.code)
            .join(Project, Project.division_id == Division.id)
            .where(Project.fiscal_year_id == year.id)
            .distinct()
        ).all()
        submitted = set(
            session.execute(
                select(Report.division_id, Report.quarter).where(
                    Report.fiscal_year_id == year.id, Report.first_submitted_at.is_not(None)
                )
            ).all()
        )
        specs += plan_reports(
            reports_owed(year.year, today, [tuple(d) for d in divisions], submitted, year.report_due_days),
            today,
            year.report_due_days,
            settings,
        )
    return specs


def recipients(users: list[User], spec: AlertSpec) -> list[User]:
    """Who hears about SPEC, among the active USERS, leaving out those who muted its kind (§7)."""
    if spec.kind in MUTABLE_KINDS:
        users = [u for u in users if spec.kind not in (u.muted_kinds or [])]
    return _audience(users, spec)


def _audience(users: list[User], spec: AlertSpec) -> list[User]:
    if spec.audience == "digested":  # listed in a digest instead (budget marks)
        return []
    if spec.audience == "escalation":  # the head, or where the division has none its reporters; and finance
        heads = [u for u in users if u.role == Role.HEAD and u.division_id == spec.division_id]
        division = heads or [u for u in users if u.role == Role.REPORTER and u.division_id == spec.division_id]
        return [u for u in users if u.role == Role.FINANCE] + division
    if spec.audience == "finance":
        return [u for u in users if u.role == Role.FINANCE]
    if spec.audience == "head":  # a report sent to the division's head for sign-off
        return [u for u in users if u.role == Role.HEAD and u.division_id == spec.division_id]
    division = [u for u in users if u.role in (Role.REPORTER, Role.HEAD) and u.division_id == spec.division_id]
    if spec.audience == "lagging":  # finance hears early when a project lags
        return division + [u for u in users if u.role == Role.FINANCE]
    return division


def channels_of(user: User) -> list[str]:
    channels = [Channel.INBOX]
    if user.notify_email and user.email:
        channels.append(Channel.EMAIL)
    if user.webhook_url:
        channels.append(Channel.WEBHOOK)
    return channels


def create_alerts(session: Session, specs: list[AlertSpec], as_of: date) -> tuple[list[Alert], list[int]]:
    """Store the alerts not stored before; returns them and the notifications to deliver now."""
    keys = {spec.key for spec in specs}
    existing = set(session.execute(select(Alert.key).where(Alert.key.in_(keys))).scalars()) if keys else set()
    users = list(session.execute(select(User).where(User.active.is_(True))).scalars()) if keys - existing else []
    created, to_deliver = [], []
    for spec in specs:
        if spec.key in existing:
            continue
        existing.add(spec.key)
        alert = Alert(
            key=spec.key,
            kind=spec.kind,
            subject_code=spec.subject_code,
            division_id=spec.division_id,
            due=spec.due,
            step=spec.step,
            as_of=as_of,
            message=spec.message,
            link=spec.link,
        )
        try:
            with session.begin_nested():  # another scheduler or a retried job may have stored it meanwhile
                session.add(alert)
                session.flush()
        except IntegrityError:
            continue
        created.append(alert)
        notifications = []
        for user in recipients(users, spec):
            for channel in channels_of(user):
                state = "digest" if channel == Channel.EMAIL and user.email_digest else "pending"
                notifications.append(
                    Notification(
                        alert_id=alert.id,
                        user_id=user.id,
                        channel=channel,
                        state="sent" if channel == Channel.INBOX else state,
                    )
                )
        session.add_all(notifications)
        session.flush()  # one flush per alert gives every notification its id
        to_deliver += [n.id for n in notifications if n.channel != Channel.INBOX and n.state == "pending"]
    return created, to_deliver


def unread_count(session: Session, user: User) -> int:
    return session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.channel == Channel.INBOX, Notification.read_at.is_(None))
    ).scalar_one()


def inbox(session: Session, user: User, limit: int) -> list[tuple[Notification, Alert]]:
    """USER's in-app notices with their alerts: those asking them to act (unread first) above the
    informational ones, each newest first."""
    rows = session.execute(
        select(Notification, Alert)
        .join(Alert, Alert.id == Notification.alert_id)
        .where(Notification.user_id == user.id, Notification.channel == Channel.INBOX)
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()
    return sorted(rows, key=lambda row: (row[1].kind not in ACTIONABLE_KINDS, row[0].read_at is not None))


def is_actionable(kind: str) -> bool:
    return kind in ACTIONABLE_KINDS


def open_notice(session: Session, user: User, notification_id: int) -> Alert | None:
    """USER opens one of their notices: it is marked read; returns its alert (None if not theirs)."""
    found = session.execute(
        select(Notification, Alert)
        .join(Alert, Alert.id == Notification.alert_id)
        .where(Notification.id == notification_id, Notification.user_id == user.id)
    ).first()
    if found is None:
        return None
    mark_read(session, user, notification_id)
    return found[1]


def budget_lags(session: Session, day: date) -> list[BudgetLag]:
    """Projects whose budget execution trails 序时进度 in the latest statuses stored up to DAY."""
    latest = session.execute(select(func.max(ProjectStatusRow.as_of)).where(ProjectStatusRow.as_of <= day)).scalar()
    if latest is None:
        return []
    rows = session.execute(
        select(
            Project.code,
            Project.name,
            Project.division_id,
            Division.code,
            ProjectStatusRow.execution_rate,
            ProjectStatusRow.expected_rate,
        )
        .join(ProjectStatusRow, ProjectStatusRow.project_id == Project.id)
        .join(Division, Division.id == Project.division_id)
        .where(ProjectStatusRow.as_of == latest, ProjectStatusRow.budget_lagging.is_(True))
        .order_by(Project.code)
    ).all()
    return [BudgetLag(*row) for row in rows]


def raise_budget_digests(session: Session, day: date) -> tuple[list[Alert], list[int]]:
    """The day's budget digests: each lagging project marked once per ISO week; the projects marked
    new today are listed in one notice per division and one for finance (§7)."""
    lags = budget_lags(session, day)
    marked, _none = create_alerts(session, budget_marks(lags, day), day)
    new = {alert.subject_code for alert in marked}
    return create_alerts(
        session, budget_digests([lag for lag in lags if f"{lag.project_code}-budget" in new], day), day
    )


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark USER's unread notice NOTIFICATION_ID (default: all of them) as read; how many were."""
    query = select(Notification).where(
        Notification.user_id == user.id, Notification.channel == Channel.INBOX, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    notifications = session.execute(query).scalars().all()
    now = clock.now()
    for notification in notifications:
        notification.read_at = now
        session.add(notification)
    session.flush()
    return len(notifications)


def weekly_summary(session: Session, day: date) -> list[AlertSpec]:
    """Monday's digest for finance: projects by status, budget lagging, reports overdue."""
    latest = session.execute(select(func.max(ProjectStatusRow.as_of)).where(ProjectStatusRow.as_of <= day)).scalar()
    if latest is None:
        return []
    rows = session.execute(
        select(ProjectStatusRow.status, ProjectStatusRow.budget_lagging).where(ProjectStatusRow.as_of == latest)
    ).all()
    acting = Counter(status for status, _ in rows if status in NEEDS_ACTION)
    named = "、".join(
        f"{Status.label_of(status)} {count}"
        for status, count in sorted(acting.items(), key=lambda kv: WORST_FIRST.index(kv[0]))
    )
    budget = sum(1 for _, lagging in rows if lagging)
    overdue = sum(1 for spec in plan_day(session, day) if spec.kind == AlertKind.REPORT_OVERDUE)
    week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
    message = (
        f"{week} 监控摘要（截至 {latest.isoformat()}）：{len(rows)} 个项目中 {acting.total()} 个需处理"
        f"{f'（{named}）' if named else ''}，"
        f"{budget} 个预算执行滞后于序时进度，{overdue} 份季度报告逾期未交"
    )
    return [AlertSpec(AlertKind.DIGEST, "finance", None, None, week, "finance", message, "/overview")]
