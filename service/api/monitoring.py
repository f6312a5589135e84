"""Monitoring endpoints: a project's computed status (latest as-of date, with its history) and the inbox."""

from __future__ import annotations

from apiflask import abort
from flask import request
from sqlmodel import select

from ..access import authorize, current
from ..alerting import inbox as inbox_of
from ..models import Indicator, IndicatorStatusRow, ProjectStatusRow
from ..queries import project_by_code
from ..request_db import get_session
from . import api_bp


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
        "counts": latest.counts,
        "execution_rate": latest.execution_rate,
        "expected_rate": latest.expected_rate,
        "budget_lagging": latest.budget_lagging,
        "indicators": [
            {"indicator": c, "status": s.status, "expected": s.expected, "value": s.value, "projection": s.projection}
            for c, s in indicators
        ],
        "trend": [{"as_of": h.as_of.isoformat(), "status": h.status} for h in history],
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
