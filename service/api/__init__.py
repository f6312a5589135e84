"""JSON API `/api/v1` (OpenAPI 3 at `/api/v1/openapi.json`).  Errors are application/problem+json
(`problems.py`): `{"type", "title", "status", "detail", "error": code, "message": 中文说明, "problems": [...]}`."""

from __future__ import annotations

from typing import cast

from apiflask import APIBlueprint, APIFlask, abort
from flask import current_app, request
from sqlmodel import select

from ..access import authorize
from ..importing import ImportRejected, import_bytes
from ..models import Division, FiscalYear
from ..queries import (
    ProjectFilter,
    findings_by_indicator,
    indicator_by_code,
    indicators_of,
    list_findings,
    list_indicators,
    list_projects,
    project_by_code,
    revisions_of,
)
from ..reporting.followup import sweep_after_import
from ..request_db import get_session
from .problems import document, read_json_strictly
from .schemas import (
    FindingList,
    FindingQuery,
    ImportIn,
    ImportSummary,
    IndicatorDetail,
    IndicatorList,
    IndicatorQuery,
    ProjectDetail,
    ProjectList,
    ProjectQuery,
    YearQuery,
)
from .serialize import finding_json, indicator_json, project_json

api_bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="perftrack")
# The bearer scheme and the one error shape in the OpenAPI document of the app this is registered on.
api_bp.record_once(lambda state: cast(APIFlask, state.app).spec_processor(document))

# What an endpoint needs, checked before its input is validated (so a caller without the right
# learns nothing from validation errors).  Division-scoped endpoints are checked against the
# division in the URL; transitions then check the action itself (sign, submit, return, accept).
ENDPOINT_ACTIONS = {
    "api.period_lock": "lock_period",
    "api.upload_import": "manage_targets",
    "api.findings": "manage_targets",  # the queue is finance's, as the 待核查 page
    "api.report_values": "edit_report",
    "api.report_attachment": "edit_report",
}


@api_bp.before_request
def _authorize_endpoint():
    division_code = (request.view_args or {}).get("division")
    if division_code is None:
        authorize(ENDPOINT_ACTIONS.get(request.endpoint, "read_targets"))
        return
    division = get_session().exec(select(Division).where(Division.code == division_code)).first()
    if division is None:
        abort(404, message=f"处室 {division_code} 不存在")
    authorize(ENDPOINT_ACTIONS.get(request.endpoint, "view_report"), division.id)


api_bp.before_request(read_json_strictly)  # after the access check: a caller without the right learns nothing


@api_bp.get("/projects")
@api_bp.input(ProjectQuery, location="query")
@api_bp.output(ProjectList)
def projects(query_data):
    """List projects, filtered by year, division, funding level or open findings."""
    authorize("read_targets")
    rows = list_projects(get_session(), ProjectFilter(**query_data))
    return {
        "items": [
            project_json(r["project"], r["division"], r["year"], r["indicator_count"], r["findings"]) for r in rows
        ]
    }


@api_bp.get("/projects/<code>")
@api_bp.input(YearQuery, location="query")
@api_bp.output(ProjectDetail)
def project(code: str, query_data):
    """One project with every indicator, its reading and its findings."""
    authorize("read_targets")
    session = get_session()
    item = project_by_code(session, code, query_data["year"])
    if item is None:
        abort(404, message=f"项目 {code} 不存在")
    findings = findings_by_indicator(session, item.id)
    indicators = indicators_of(session, item.id)
    division = session.get(Division, item.division_id)
    year = session.get(FiscalYear, item.fiscal_year_id).year
    body = project_json(item, division, year, len(indicators), None, detail=True)
    body["findings"] = [finding_json(f) for f in findings.get(None, [])]
    body["indicators"] = [indicator_json(i, findings.get(i.id, [])) for i in indicators]
    return body


@api_bp.get("/indicators")
@api_bp.input(IndicatorQuery, location="query")
@api_bp.output(IndicatorList)
def indicators(query_data):
    """List indicators, filtered by project, division, target kind, due dates or open findings."""
    authorize("read_targets")
    rows = list_indicators(get_session(), **query_data)
    return {"items": [indicator_json(i, None, project=p, division=d) for i, p, d in rows]}


@api_bp.get("/indicators/<code>")
@api_bp.input(YearQuery, location="query")
@api_bp.output(IndicatorDetail)
def indicator(code: str, query_data):
    """One indicator with its findings and the history of its target."""
    authorize("read_targets")
    session = get_session()
    found = indicator_by_code(session, code, query_data["year"])
    if found is None:
        abort(404, message=f"指标 {code} 不存在")
    item, project_row, division = found
    findings = findings_by_indicator(session, project_row.id).get(item.id, [])
    body = indicator_json(item, findings, project=project_row, division=division)
    body["revisions"] = [
        {"old": r.old_value, "new": r.new_value, "actor": r.actor, "reason": r.reason, "at": r.created_at.isoformat()}
        for r in revisions_of(session, [item.id]).get(item.id, [])
    ]
    return body


@api_bp.get("/findings")
@api_bp.input(FindingQuery, location="query")
@api_bp.output(FindingList)
def findings(query_data):
    """Findings for people to settle (default: open ones); admin and finance only, as the web queue."""
    authorize("manage_targets")
    rows = list_findings(get_session(), **query_data)
    return {"items": [finding_json(f, project=p, indicator=i) for f, p, i, _ in rows]}


@api_bp.post("/imports")
@api_bp.input(ImportIn, location="form_and_files")
@api_bp.output(ImportSummary, status_code=200)
@api_bp.doc(responses={422: "文件被拒绝：problems 列出表/行、字段和原因，未写入任何数据"})
def upload_import(form_and_files_data):
    """Import a target table file (.txt, .docx, .xlsx, .csv): all or nothing, idempotent."""
    user = authorize("manage_targets")
    upload = form_and_files_data["file"]
    session = get_session()
    try:
        summary = import_bytes(
            session,
            upload.filename or "upload",
            upload.read(),
            form_and_files_data["year"],
            user.username,
            dry_run=form_and_files_data.get("dry_run", False),
        )
        if summary.get("batch_id"):
            sweep_after_import(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, summary["batch_id"])
        session.commit()
    except ImportRejected as rejected:
        session.rollback()
        abort(
            422,
            message="文件被拒绝，未写入任何数据",
            extra_data={"error": "import_rejected", "problems": [p.to_dict() for p in rejected.problems]},
        )
    return summary


from . import monitoring, reports  # noqa: E402,F401  (more endpoints on api_bp)
