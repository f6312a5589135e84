"""An indicator's page (target, revisions, value history) and evidence attachments."""

from __future__ import annotations

import io

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import Forbidden, NotFound

from ..access import authorize, can, current
from ..domain.periods import Period
from ..exports.history import build_history_workbook
from ..models import Attachment, Division, FiscalYear, Report
from ..monitoring_read import latest_indicator_statuses
from ..queries import indicator_by_code, revisions_of
from ..reporting.evidence import EvidenceLimits, add_attachment, attachments_of, evidence_usage, remove_attachment
from ..reporting.read import indicator_history
from ..reporting.reports import ReportError, load_scope
from ..request_db import get_session
from ..stored_targets import target_of
from ..transfers import readable_history
from . import web_bp
from .reports import open_scope


def _indicator_or_404(code: str):
    found = indicator_by_code(get_session(), code, request.args.get("year", type=int))
    if found is None:
        raise NotFound(f"指标 {code} 不存在")
    return found


@web_bp.get("/indicators/<code>")
def indicator(code: str):
    user = authorize("read_targets")
    item, project, division = _indicator_or_404(code)
    session = get_session()
    may_see_values = can(user, "view_report", division.id)
    status_day, statuses = latest_indicator_statuses(session, project.id) if may_see_values else (None, {})
    return render_template(
        "indicator.html",
        status_day=status_day,
        status=statuses.get(item.id),
        project_year=session.get(FiscalYear, project.fiscal_year_id).year,
        indicator=item,
        project=project,
        division=division,
        reading=target_of(item).reading(),
        revisions=revisions_of(session, [item.id]).get(item.id, []),
        history=readable_history(session, user, project, indicator_history(session, item)),
    )


@web_bp.get("/indicators/<code>/history.xlsx")
def indicator_history_export(code: str):
    item, project, _division = _indicator_or_404(code)
    user = authorize("read_targets")
    rows = readable_history(get_session(), user, project, indicator_history(get_session(), item))
    if rows is None:
        raise Forbidden("您没有权限查看该处室的报告")
    return send_file(
        build_history_workbook(item, rows),
        as_attachment=True,
        download_name=f"{code}_填报历史.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _evidence_scope(division: str, period: str, code: str, action: str):
    scope = open_scope(division, period, action)
    found = scope.indicators.get(code)
    if found is None:
        raise NotFound(f"指标 {code} 不在该报告中")
    return scope, found[0]


@web_bp.get("/reports/<division>/<period>/indicators/<code>/evidence")
def report_evidence(division: str, period: str, code: str):
    scope, indicator = _evidence_scope(division, period, code, "view_report")
    return render_template(
        "evidence.html",
        scope=scope,
        indicator=indicator,
        attachments=attachments_of(get_session(), scope, indicator),
        editable=can(current(), "edit_report", scope.division.id),
        used=evidence_usage(get_session(), scope),
    )


@web_bp.post("/reports/<division>/<period>/indicators/<code>/evidence")
def report_evidence_upload(division: str, period: str, code: str):
    scope, indicator = _evidence_scope(division, period, code, "edit_report")
    session = get_session()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的附件", "error")
    else:
        limits = EvidenceLimits.of(current_app.config["PERFTRACK_SETTINGS"])
        try:
            item = add_attachment(session, scope, current(), indicator, upload.filename, upload.read(), limits)
            session.commit()
            flash(f"已上传附件「{item.file_name}」", "ok")
        except ReportError as exc:
            session.rollback()
            flash(exc.message, "error")
    return redirect(url_for("web.report_evidence", division=division, period=period, code=code))


def _attachment(attachment_id: int, action: str):
    session = get_session()
    item = session.get(Attachment, attachment_id)
    if item is None:
        raise NotFound("附件不存在")
    report = session.get(Report, item.report_id)
    authorize(action, report.division_id)
    return item, report


@web_bp.get("/attachments/<int:attachment_id>")
def attachment_download(attachment_id: int):
    item, _report = _attachment(attachment_id, "view_report")
    return send_file(
        io.BytesIO(item.data), as_attachment=True, download_name=item.file_name, mimetype=item.content_type
    )


@web_bp.post("/attachments/<int:attachment_id>/remove")
def attachment_remove(attachment_id: int):
    item, report = _attachment(attachment_id, "edit_report")
    session = get_session()
    division = session.get(Division, report.division_id)
    year = session.get(FiscalYear, report.fiscal_year_id).year
    scope = load_scope(session, year, division.code, report.quarter)
    try:
        remove_attachment(session, scope, current(), item)
        session.commit()
        flash(f"已移除附件「{item.file_name}」（记录保留）", "ok")
    except ReportError as exc:
        session.rollback()
        flash(exc.message, "error")
    indicator_code = next(c for c, (i, _p) in scope.indicators.items() if i.id == item.indicator_id)
    return redirect(
        url_for(
            "web.report_evidence", division=division.code, period=Period(year, report.quarter).code, code=indicator_code
        )
    )
