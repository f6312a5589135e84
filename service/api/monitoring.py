"""Monitoring endpoints: a project's computed status (latest as-of date, with its history) and the inbox."""

from __future__ import annotations

from apiflask import abort
from flask import current_app, request
from sqlmodel import select

from ..access import authorize, current
from ..alerting import inbox as inbox_of
from ..clock import clock
from ..domain.status import PROJECT_STATUSES, split_counts, status_scale, tone_of
from ..domain.vocabulary import Status
from ..models import Indicator, IndicatorStatusRow, ProjectStatusRow
from ..monitoring_read import overview_data, project_quarters
from ..queries import fiscal_year, project_by_code, visible_divisions
from ..request_db import get_session
from . import api_bp


@api_bp.get("/status-scale")
def status_scale_view():
    """The status language: every status with its label and tone, the tones' colours (WCAG AA), which
    statuses a project can have, and the thresholds in force.  Pages, scripts and charts read it."""
    authorize("read_targets")
    return status_scale(current_app.config["PERFTRACK_SETTINGS"].status)


@api_bp.get("/overview")
def overview():
    """The overview's figures (its charts' data): the bureau's totals and each division's budget, spend,
    execution against 序时进度 and projects by status, the trend of project statuses over the stored days,
    and the most-behind indicators with their division and cause.  Query: year, division (code), status."""
    user = authorize("read_targets")
    session = get_session()
    year = fiscal_year(session, request.args.get("year", type=int))
    if year is None:
        abort(404, message="没有预算年度")
    ids = [d.id for d in visible_divisions(session, user)]
    status = request.args.get("status") or None
    if status is not None and status not in PROJECT_STATUSES:
        abort(400, message=f"状态「{status}」不是项目状态之一")
    return overview_data(session, year, ids, clock.today(), request.args.get("division") or None, status)


@api_bp.get("/projects/<code>/quarters")
def project_quarters_view(code: str):
    """Each indicator's target and, per quarter sent to finance, its value, 序时进度 and the status it had at
    the quarter's end; the spend per quarter against its share of the year (the project page's charts)."""
    session = get_session()
    project = project_by_code(session, code, request.args.get("year", type=int))
    if project is None:
        abort(404, message=f"项目 {code} 不存在")
    authorize("view_report", project.division_id)
    return project_quarters(session, project, current_app.config["PERFTRACK_SETTINGS"].status)


@api_bp.get("/projects/<code>/status")
def project_status(code: str):
    """The project's status as of the latest computed day, its indicators' statuses, and the trend."""
    session = get_session()
    project = project_by_code(session, code, request.args.get("year", type=int))
    if project is None:
        abort(404, message=f"项目 {code} 不存在")
    authorize("view_report", project.division_id)
    history = session.exec(
        select(ProjectStatusRow).where(ProjectStatusRow.project_id == project.id).order_by(ProjectStatusRow.as_of)
    ).all()
    if not history:
        return {"project": code, "as_of": None, "status": None, "indicators": [], "trend": []}
    latest = history[-1]
    counted, apart = split_counts(latest.counts)
    indicators = session.exec(
        select(Indicator.code, IndicatorStatusRow)
        .join(IndicatorStatusRow, IndicatorStatusRow.indicator_id == Indicator.id)
        .where(IndicatorStatusRow.project_id == project.id, IndicatorStatusRow.as_of == latest.as_of)
        .order_by(Indicator.code)
    ).all()
    return {
        "project": code,
        "as_of": latest.as_of.isoformat(),
        "status": latest.status,
        "status_label": Status.label_of(latest.status),
        "tone": tone_of(latest.status),
        "counts": latest.counts,
        "counted": {status.value: count for status, count in counted},
        "not_counted": {status.value: count for status, count in apart},
        "execution_rate": latest.execution_rate,
        "expected_rate": latest.expected_rate,
        "budget_lagging": latest.budget_lagging,
        "indicators": [
            {
                "indicator": c,
                "status": s.status,
                "status_label": Status.label_of(s.status),
                "tone": tone_of(s.status),
                "expected": s.expected,
                "value": s.value,
                "projection": s.projection,
            }
            for c, s in indicators
        ],
        "trend": [
            {"as_of": h.as_of.isoformat(), "status": h.status, "status_label": Status.label_of(h.status)}
            for h in history
        ],
    }


@api_bp.get("/inbox")
def inbox():
    """The caller's in-app notices, newest first."""
    user = authorize("read_targets")
    rows = inbox_of(get_session(), user, limit=200)
    return {
        "items": [
            {
                "kind": a.kind,
                "subject": a.subject_code,
                "due": a.due.isoformat() if a.due else None,
                "step": a.step,
                "message": a.message,
                "link": a.link,
                "as_of": a.as_of.isoformat(),
                "read": n.read_at is not None,
            }
            for n, a in rows
        ],
        "user": current().username,
    }
