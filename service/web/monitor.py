"""Monitoring pages: the overview (status by division, deadlines list and calendar, budget execution),
the inbox, notification settings and the delivery log."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import abort, current_app, redirect, render_template, request, url_for

from ..access import authorize, current
from ..accounts import rotate_webhook_secret, set_notification_settings
from ..alerting import inbox as inbox_of
from ..alerting import is_actionable, mark_read, open_notice, unread_count
from ..clock import clock
from ..domain.alerts import MUTABLE_KINDS
from ..domain.periods import periods_of
from ..models import FiscalYear
from ..monitoring_read import dated_targets, delivery_log, status_overview
from ..queries import fiscal_year, visible_divisions, years
from ..request_db import get_session
from . import decide, id_arg, safe_next, web_bp
from .year_choice import selected_year

DEADLINES_AHEAD = timedelta(days=60)


@web_bp.app_context_processor
def _inbox_count():
    user = current()
    if user is None:
        return {}
    return {"unread_count": unread_count(get_session(), user)}


@web_bp.get("/overview")
def overview():
    user = authorize("read_targets")
    session = get_session()
    year = fiscal_year(session, selected_year())
    if year is None:
        return render_template("overview.html", year=None)
    today = clock.today()
    ids = [d.id for d in visible_divisions(session, user)]
    statuses = status_overview(session, year, ids, today)
    month = _month(request.args.get("month"), today)
    return render_template(
        "overview.html",
        year=year,
        years=years(session),
        as_of=statuses.as_of,
        rows=statuses.rows,
        matrix=statuses.matrix,
        shown=statuses.shown,
        deadlines=dated_targets(session, year.id, ids, today, today + DEADLINES_AHEAD),
        calendar=_calendar(session, year, month, ids),
        month=month,
        prev_month=(month - timedelta(days=1)).replace(day=1),
        next_month=(month + timedelta(days=32)).replace(day=1),
    )


def _month(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(f"{text}-01") if text else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _calendar(session, year: FiscalYear, month: date, division_ids: list[int]) -> list[list[tuple]]:
    """Weeks of (day, [(label, link)]) for the month: dated targets and report due dates."""
    end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    events: dict[date, list[tuple[str, str]]] = {}
    for indicator, _project, _division in dated_targets(session, year.id, division_ids, month, end):
        events.setdefault(indicator.due, []).append(
            (f"{indicator.code} {indicator.name}", url_for("web.indicator", code=indicator.code))
        )
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
    rows = inbox_of(get_session(), user, limit=300)
    return render_template(
        "inbox.html",
        actionable=[row for row in rows if is_actionable(row[1].kind)],
        informational=[row for row in rows if not is_actionable(row[1].kind)],
    )


@web_bp.get("/inbox/<int:notification_id>")
def inbox_open(notification_id: int):
    """Opening a notice marks it read and goes where it points."""
    user = authorize("read_targets")
    session = get_session()
    alert = open_notice(session, user, notification_id)
    if alert is None:
        abort(404)
    session.commit()
    return redirect(safe_next(alert.link, url_for("web.inbox")))


@web_bp.post("/inbox/read")
def inbox_read():
    user = authorize("read_targets")
    session = get_session()
    chosen = id_arg(request.form, "id")
    if chosen is None:
        mark_read(session, user)
    else:
        mark_read(session, user, chosen)
    session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("web.inbox")))


@web_bp.route("/notifications/settings", methods=["GET", "POST"])
def notification_settings():
    user = authorize("read_targets")
    if request.method == "POST":
        form = request.form
        if form.get("rotate_secret") == "1":
            decide(
                lambda session: rotate_webhook_secret(session, user),
                "已生成新的 Webhook 签名密钥，请同步更新接收方的校验配置",
            )
        else:
            networks = current_app.config["PERFTRACK_SETTINGS"].webhook_allowed_networks
            decide(
                lambda session: set_notification_settings(
                    session,
                    user,
                    form.get("email"),
                    form.get("webhook_url"),
                    form.get("notify_email") == "1",
                    form.get("email_digest") == "1",
                    networks,
                    form.getlist("muted"),
                ),
                "通知设置已保存",
            )
        return redirect(url_for("web.notification_settings"))
    return render_template("notification_settings.html", mutable_kinds=MUTABLE_KINDS)


@web_bp.get("/deliveries")
def deliveries():
    user = authorize("read_targets")
    ok = {"1": True, "0": False}.get(request.args.get("ok", ""))
    return render_template("deliveries.html", rows=delivery_log(get_session(), user, ok))
