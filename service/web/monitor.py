"""Monitoring pages: the overview (status by division, deadlines list and calendar, budget execution),
the inbox, notification settings and the delivery log."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from flask import Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for

from ..access import authorize, current
from ..accounts import rotate_webhook_secret, set_notification_settings
from ..alerting import inbox as inbox_of
from ..alerting import is_actionable, mark_read, open_notice, unread_count
from ..clock import clock
from ..domain.alerts import MUTABLE_KINDS
from ..domain.periods import periods_of
from ..domain.status import PROJECT_STATUSES, STATUS_TONE, TONE_COLOURS, WORST_FIRST, split_counts, tone_of
from ..domain.targets import format_decimal
from ..domain.vocabulary import Tone
from ..exports.monitoring import build_monitoring_workbook
from ..models import FiscalYear
from ..monitoring_read import dated_targets, delivery_log, overview_data
from ..organisation import unit_names
from ..partitions import latest_sweep_run
from ..payments import PaymentError, import_payments, monthly_totals, payment_batches
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


@web_bp.app_template_filter("plain")
def plain(value) -> str:
    """A stored number as people write it (no trailing zeros): `12.50` → `12.5`."""
    return "" if value is None else format_decimal(Decimal(str(value)))


@web_bp.app_context_processor
def _status_language():
    """The one status language in templates: a status's tone (`tone_of`) and the legend's rows."""
    return {
        "tone_of": tone_of,
        "split_counts": split_counts,
        "STATUS_LEGEND": status_legend(),
        "PROJECT_STATUSES": PROJECT_STATUSES,
    }


def status_legend() -> list[tuple[Tone, list]]:
    """Each tone with the statuses it colours, worst first: the legend printed wherever colours appear."""
    return [(tone, [s for s in WORST_FIRST if STATUS_TONE[s] == tone]) for tone in TONE_COLOURS]


@web_bp.get("/status.css")
def status_css():
    """The colour scale as a stylesheet, written from the domain's one definition (no colour is repeated
    in app.css or a script): `.tone-<tone>` for badges and cells, `.light.<tone>` for the form's light."""
    rules = []
    for tone, (background, text) in TONE_COLOURS.items():
        rules.append(f".tone-{tone}{{background:{background};color:{text};}}")
        rules.append(f".light.{tone},.swatch.tone-{tone}{{background:{background};}}")
        rules.append(f"tr.row-{tone} td:first-child{{box-shadow:inset 4px 0 0 {background};}}")
    response = Response("\n".join(rules) + "\n", mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@web_bp.get("/overview")
def overview():
    user = authorize("read_targets")
    session = get_session()
    year = fiscal_year(session, selected_year())
    if year is None:
        return render_template("overview.html", year=None)
    today = clock.today()
    visible = visible_divisions(session, user)
    ids = [d.id for d in visible]
    chosen = request.args.get("division") or None
    status = request.args.get("status") or None
    if status not in PROJECT_STATUSES:
        status = None
    data = overview_data(session, year, ids, today, chosen, status)
    month = _month(request.args.get("month"), today)
    return render_template(
        "overview.html",
        year=year,
        years=years(session),
        divisions=visible,
        chosen=chosen,
        chosen_status=status,
        data=data,
        as_of=date.fromisoformat(data["as_of"]) if data["as_of"] else None,
        sweep=latest_sweep_run(session, year.id),
        shown=[s for s in PROJECT_STATUSES if any(s in d["project_statuses"] for d in data["divisions"])],
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


@web_bp.route("/payments", methods=["GET", "POST"])
def payments():
    """Finance loads the treasury payment records (execution by month) and sees what is loaded."""
    user = authorize("import_payments")
    session = get_session()
    year = fiscal_year(session, selected_year())
    problems, status = None, 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择要导入的文件", "error")
            return redirect(url_for("web.payments"))
        try:
            summary = import_payments(
                session,
                upload.read(),
                upload.filename,
                user.username,
                current_app.config["PERFTRACK_SETTINGS"].redis_url,
            )
            session.commit()
        except PaymentError as exc:
            session.rollback()
            problems, status = exc, 422
        else:
            flash(summary.message + ("；各项目的执行率将在后台重新计算" if summary.added else ""), "ok")
            return redirect(url_for("web.payments", year=year.year if year else None))
    return render_template(
        "payments.html",
        year=year,
        years=years(session),
        batches=payment_batches(session, year) if year else [],
        months=monthly_totals(session, year) if year else [],
        problems=problems,
        file_name=request.files["file"].filename if problems else "",
    ), status


@web_bp.get("/monitoring/form.xlsx")
def monitoring_form():
    """The 项目支出绩效目标执行监控表 of the whole bureau to a month-end (default: 1–7月)."""
    authorize("export_monitoring")
    session = get_session()
    year = fiscal_year(session, selected_year())
    if year is None:
        abort(404)
    month = request.args.get("month", default=7, type=int)
    if not 1 <= month <= 12:
        abort(400)
    as_of = date(year.year, month, calendar.monthrange(year.year, month)[1])
    settings = current_app.config["PERFTRACK_SETTINGS"]
    data = build_monitoring_workbook(
        session, year.year, as_of, settings.status, settings.likelihood_words, unit_names(session, settings)
    )
    return send_file(
        data,
        as_attachment=True,
        download_name=f"{year.year}年项目支出绩效目标执行监控表（1-{month}月）.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


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
