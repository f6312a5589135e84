"""Monitoring pages: the overview (status by division, deadlines list and calendar, budget execution),
the inbox, notification settings and the delivery log."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from sqlalchemy import func
from sqlmodel import select

from ..access import authorize, can, current
from ..admin import DecisionError
from ..alerting import unread_count
from ..clock import clock
from ..domain.inputs import InputError, clean_text
from ..domain.periods import periods_of
from ..domain.status import WORST_FIRST
from ..domain.vocabulary import Channel, Role, Status
from ..models import (
    Alert, DeliveryAttempt, Division, FiscalYear, Indicator, Notification, Project, ProjectStatusRow, User,
)
from ..queries import years
from ..request_db import get_session
from . import decide, web_bp


@web_bp.app_context_processor
def _inbox_count():
    user = current()
    if user is None:
        return {}
    return {"unread_count": unread_count(get_session(), user)}


def _visible_divisions(session, user) -> list[Division]:
    return [d for d in session.exec(select(Division).order_by(Division.code)).all() if can(user, "view_report", d.id)]


def latest_status_day(session, year_id: int, today: date) -> date | None:
    return session.exec(select(func.max(ProjectStatusRow.as_of)).join(Project, Project.id == ProjectStatusRow.project_id)
                        .where(Project.fiscal_year_id == year_id, ProjectStatusRow.as_of <= today)).one()


@web_bp.get("/overview")
def overview():
    user = authorize("read_targets")
    session = get_session()
    known = years(session)
    year = session.exec(select(FiscalYear).where(FiscalYear.year == (request.args.get("year", type=int)
                                                                      or (known[0] if known else 0)))).first()
    if year is None:
        return render_template("overview.html", year=None)
    today = clock.today()
    divisions = _visible_divisions(session, user)
    ids = [d.id for d in divisions]
    as_of = latest_status_day(session, year.id, today)
    rows = session.exec(select(Project, ProjectStatusRow, Division)
                        .join(Division, Division.id == Project.division_id)
                        .join(ProjectStatusRow, (ProjectStatusRow.project_id == Project.id)
                              & (ProjectStatusRow.as_of == as_of), isouter=True)
                        .where(Project.fiscal_year_id == year.id, Project.division_id.in_(ids))
                        .order_by(Division.code, Project.code)).all()
    matrix: dict[str, dict[str, int]] = {}
    for _project, status, division in rows:
        key = status.status if status else Status.PENDING
        matrix.setdefault(division.name, {}).setdefault(key, 0)
        matrix[division.name][key] += 1
    shown = [s for s in WORST_FIRST if any(s in counts for counts in matrix.values())]
    month = _month(request.args.get("month"), today)
    deadlines = session.exec(select(Indicator, Project, Division).join(Project, Project.id == Indicator.project_id)
                             .join(Division, Division.id == Project.division_id)
                             .where(Project.fiscal_year_id == year.id, Indicator.due.is_not(None),
                                    Indicator.due >= today, Indicator.due <= today + timedelta(days=60),
                                    Project.division_id.in_(ids)).order_by(Indicator.due)).all()
    return render_template("overview.html", year=year, years=known, as_of=as_of, rows=rows, matrix=matrix,
                           shown=shown, deadlines=deadlines, calendar=_calendar(session, year, month, ids),
                           month=month, prev_month=(month - timedelta(days=1)).replace(day=1),
                           next_month=(month + timedelta(days=32)).replace(day=1))


def _month(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(f"{text}-01") if text else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _calendar(session, year: FiscalYear, month: date, division_ids: list[int]) -> list[list[tuple]]:
    """Weeks of (day, [(label, link)]) for the month: dated targets and report due dates."""
    last = calendar.monthrange(month.year, month.month)[1]
    end = month.replace(day=last)
    events: dict[date, list[tuple[str, str]]] = {}
    for indicator in session.exec(select(Indicator).join(Project, Project.id == Indicator.project_id)
                                  .where(Project.fiscal_year_id == year.id, Indicator.due >= month,
                                                  Indicator.due <= end, Project.division_id.in_(division_ids))).all():
        events.setdefault(indicator.due, []).append((f"{indicator.code} {indicator.name}",
                                                     url_for("web.indicator", code=indicator.code)))
    for period in periods_of(year.year):
        due = period.due(year.report_due_days)
        if month <= due <= end:
            events.setdefault(due, []).append((f"{period.code} 报告截止", url_for("web.reports", year=year.year)))
    weeks = []
    for week in calendar.Calendar().monthdatescalendar(month.year, month.month):
        weeks.append([(day, events.get(day, []), day.month == month.month) for day in week])
    return weeks


@web_bp.get("/inbox")
def inbox():
    user = authorize("read_targets")
    session = get_session()
    rows = session.exec(select(Notification, Alert).join(Alert, Alert.id == Notification.alert_id)
                        .where(Notification.user_id == user.id, Notification.channel == Channel.INBOX)
                        .order_by(Notification.id.desc()).limit(300)).all()
    return render_template("inbox.html", rows=rows)


@web_bp.post("/inbox/read")
def inbox_read():
    user = authorize("read_targets")
    session = get_session()
    query = select(Notification).where(Notification.user_id == user.id, Notification.channel == Channel.INBOX,
                                       Notification.read_at.is_(None))
    if request.form.get("id"):
        query = query.where(Notification.id == request.form.get("id", type=int))
    for notification in session.exec(query).all():
        notification.read_at = clock.now()
        session.add(notification)
    session.commit()
    return redirect(request.form.get("next") or url_for("web.inbox"))


@web_bp.route("/notifications/settings", methods=["GET", "POST"])
def notification_settings():
    user = authorize("read_targets")
    if request.method == "POST":
        def change(session):
            try:
                email = clean_text(request.form.get("email"), 200, multiline=False) or None
            except InputError as exc:
                raise DecisionError(f"邮箱地址：{exc.message}") from exc
            try:
                webhook = clean_text(request.form.get("webhook_url"), 500, multiline=False) or None
            except InputError as exc:
                raise DecisionError(f"Webhook 地址：{exc.message}") from exc
            if email and "@" not in email:
                raise DecisionError("邮箱地址格式不正确")
            if webhook and not webhook.startswith(("http://", "https://")):
                raise DecisionError("Webhook 地址应以 http:// 或 https:// 开头")
            record = session.get(User, user.id)
            record.email, record.webhook_url = email, webhook
            record.notify_email = request.form.get("notify_email") == "1"
            record.email_digest = request.form.get("email_digest") == "1"
            session.add(record)

        decide(change, "通知设置已保存")
        return redirect(url_for("web.notification_settings"))
    return render_template("notification_settings.html")


@web_bp.get("/deliveries")
def deliveries():
    user = authorize("read_targets")
    session = get_session()
    query = (select(DeliveryAttempt, Notification, Alert, User)
             .join(Notification, Notification.id == DeliveryAttempt.notification_id)
             .join(Alert, Alert.id == Notification.alert_id).join(User, User.id == Notification.user_id))
    if user.role not in (Role.FINANCE, Role.ADMIN, Role.AUDITOR):
        query = query.where(Notification.user_id == user.id)
    if request.args.get("ok") in ("0", "1"):
        query = query.where(DeliveryAttempt.ok.is_(request.args.get("ok") == "1"))
    rows = session.exec(query.order_by(DeliveryAttempt.id.desc()).limit(500)).all()
    return render_template("deliveries.html", rows=rows)

