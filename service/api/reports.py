"""Report endpoints: read and write actuals and spend, move reports through review, lock periods.

Writes need `If-Match: "<version>"` (the report's ETag); a stale version is 412, so two
people cannot silently overwrite each other.  Every write is idempotent: repeating a
request that is already in effect changes nothing and succeeds.
"""

from __future__ import annotations

from apiflask import abort
from flask import current_app, request
from sqlmodel import select

from ..access import authorize, can, current
from ..domain.actuals import RawActual
from ..domain.periods import Period, PeriodError
from ..domain.permissions import TRANSITION_NEEDS
from ..models import Division, FiscalYear, ReportEvent
from ..queries import list_indicators, years
from ..reporting.evidence import EvidenceLimits, add_attachment
from ..reporting.followup import follow_up
from ..reporting.read import form_groups, indicator_history, report_overview
from ..reporting.reports import (
    ActualRow,
    ReportError,
    SpendRow,
    is_locked,
    load_scope,
    save,
    set_period_lock,
    transition,
)
from ..request_db import get_session
from . import api_bp
from .report_schemas import (
    AttachmentIn,
    HistoryOut,
    LockIn,
    ReportList,
    ReportOut,
    ReportQuery,
    ReportValuesIn,
    SaveOut,
    TransitionIn,
)


def _fail(exc: ReportError):
    abort(
        exc.status,
        message=exc.message,
        extra_data={"error": "rejected", "problems": [p.to_dict() for p in exc.problems]},
    )


def _scope(division: str, period: str, action: str):
    try:
        parsed = Period.parse(period)
        scope = load_scope(get_session(), parsed.year, division, parsed.quarter)
    except PeriodError as exc:
        abort(404, message=str(exc))
    except ReportError as exc:
        _fail(exc)
    authorize(action, scope.division.id)
    return scope


def _if_match() -> int:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        abort(428, message='修改报告需要 If-Match 请求头（值为读取报告时的 ETag，如 "3"）')
    try:
        return int(header.removeprefix("W/").strip('"'))
    except ValueError:
        abort(400, message=f"If-Match 无法识别：{header}")


def _etag(version: int) -> dict:
    return {"ETag": f'"{version}"'}


def _text(value) -> str:
    return "" if value is None else str(value)


def _given(value) -> str | None:
    """A field the client left out is None: the stored value stays (clients written before it existed)."""
    return None if value is None else _text(value)


def report_json(scope) -> dict:
    session = get_session()
    report = scope.report
    actuals, spend = [], []
    for group in form_groups(session, scope, current_app.config["PERFTRACK_SETTINGS"].status):
        spend.append(
            {
                "project": group.project.code,
                "name": group.project.name,
                "initial_budget": group.project.budget,
                "budget": group.adjusted_budget,
                "budget_in_force": group.budget_in_force,
                "spent": group.spent,
                "previous_spent": group.previous_spent,
                "decrease_reason": group.decrease_reason,
                "forecast": group.forecast,
                "projected_forecast": group.projected_spend,
            }
        )
        for row in group.rows:
            actual = row.reading.actual
            actuals.append(
                {
                    "indicator": row.indicator.code,
                    "name": row.indicator.name,
                    "target": row.indicator.raw_value,
                    "measure": row.target.measure,
                    "expected_by_now": row.expected,
                    "previous": row.previous,
                    "value": row.value_text,
                    "described": row.described,
                    "expected_on": actual.expected_on.isoformat() if actual.expected_on else "",
                    "likelihood": actual.likelihood,
                    "cause_category": actual.cause_category,
                    "cause_text": actual.cause_text,
                    "measure_text": actual.measure_text,
                    "decrease_reason": actual.decrease_reason,
                    "forecast": actual.forecast,
                    "projected_forecast": row.projected_forecast,
                    "light": {
                        "code": row.reading.light.code,
                        "label": row.reading.light.label,
                        "status": row.reading.light.status,
                    },
                    "return_reason": row.return_reason,
                }
            )
    events = (
        session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)).all()
        if report.id
        else []
    )
    return {
        "division": scope.division.code,
        "period": scope.period.code,
        "state": report.state,
        "version": report.version,
        "late": report.late,
        "locked": is_locked(session, scope.year.id, scope.period.quarter),
        "due": scope.period.due(scope.year.report_due_days).isoformat(),
        "actuals": actuals,
        "spend": spend,
        "events": [
            {
                "action": e.action,
                "actor": e.actor,
                "version": e.version,
                "comment": e.comment,
                "detail": e.detail,
                "at": e.created_at.isoformat(),
            }
            for e in events
        ],
    }


@api_bp.get("/reports")
@api_bp.input(ReportQuery, location="query")
@api_bp.output(ReportList)
def reports(query_data):
    """Reports the caller may see, per division and quarter."""
    user = authorize("read_targets")
    session = get_session()
    year_value = query_data["year"] or next(iter(years(session)), None)
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year_value)).first()
    if fiscal_year is None:
        return {"items": []}
    divisions = [
        d
        for d in session.exec(select(Division).order_by(Division.code)).all()
        if can(user, "view_report", d.id) and query_data["division"] in (None, d.code)
    ]
    items = []
    for summary in report_overview(session, fiscal_year, divisions):
        if query_data["quarter"] not in (None, summary.quarter):
            continue
        report = summary.report
        items.append(
            {
                "division": summary.division.code,
                "period": Period(fiscal_year.year, summary.quarter).code,
                "state": report.state if report else "not_started",
                "version": report.version if report else 0,
                "late": bool(report and report.late),
                "filled": summary.filled,
                "total": summary.total,
            }
        )
    return {"items": items}


@api_bp.get("/reports/<division>/<period>")
@api_bp.output(ReportOut)
def report(division: str, period: str):
    """One division's report for a period, with its ETag (the version)."""
    scope = _scope(division, period, "view_report")
    return report_json(scope), 200, _etag(scope.report.version)


@api_bp.put("/reports/<division>/<period>")
@api_bp.input(ReportValuesIn, location="json")
@api_bp.output(SaveOut)
@api_bp.doc(
    responses={
        412: "版本已变化（他人已修改）",
        422: "校验失败：problems 列出位置、字段和原因，未写入",
        423: "期间已锁定",
        428: "缺少 If-Match",
    }
)
def report_values(division: str, period: str, json_data):
    """Save actuals and spend (only those listed).  All or nothing; repeating it changes nothing."""
    scope = _scope(division, period, "edit_report")
    expected = _if_match()
    actual_rows = [
        ActualRow(
            item["indicator"],
            RawActual(
                value=_text(item["value"]),
                expected_on=item["expected_on"],
                likelihood=item["likelihood"],
                cause_category=item["cause_category"],
                cause_text=item["cause_text"],
                measure_text=item["measure_text"],
                confirm_decrease=item["confirm_decrease"],
                decrease_reason=item["decrease_reason"],
                forecast=_given(item["forecast"]),
            ),
            f"actuals[{index}]",
        )
        for index, item in enumerate(json_data["actuals"])
    ]
    spend_rows = [
        SpendRow(
            item["project"],
            _text(item["spent"]),
            _text(item["budget"]),
            f"spend[{index}]",
            item["decrease_reason"],
            item["confirm_decrease"],
            _given(item["forecast"]),
        )
        for index, item in enumerate(json_data["spend"])
    ]
    session = get_session()
    try:
        result = save(session, scope, current(), actual_rows, spend_rows, "api", expected_version=expected)
        session.commit()
    except ReportError as exc:
        session.rollback()
        _fail(exc)
    body = {
        "version": result.version,
        "changed": result.changed,
        "actuals": result.changed_actuals,
        "spend": result.changed_spend,
    }
    return body, 200, _etag(result.version)


@api_bp.post("/reports/<division>/<period>/transitions")
@api_bp.input(TransitionIn, location="json")
@api_bp.output(SaveOut)
def report_transition(division: str, period: str, json_data):
    """sign | submit | return (finance; reasons per indicator) | accept (finance)."""
    action = json_data["action"]
    scope = _scope(division, period, TRANSITION_NEEDS[action])
    expected = _if_match()
    session = get_session()
    try:
        changed = transition(
            session, scope, current(), action, json_data["comment"], json_data["reasons"], expected_version=expected
        )
        if changed:
            follow_up(session, scope, action, current_app.config["PERFTRACK_SETTINGS"].redis_url, json_data["comment"])
        session.commit()
    except ReportError as exc:
        session.rollback()
        _fail(exc)
    version = scope.report.version
    return {"version": version, "changed": changed, "actuals": [], "spend": []}, 200, _etag(version)


@api_bp.post("/reports/<division>/<period>/attachments")
@api_bp.input(AttachmentIn, location="form_and_files")
@api_bp.output(SaveOut, status_code=201)
def report_attachment(division: str, period: str, form_and_files_data):
    """Upload evidence for an indicator (PDF, PNG/JPG, Office; size-limited; type checked by content; within the
    division's yearly quota and the report's file count)."""
    scope = _scope(division, period, "edit_report")
    found = scope.indicators.get(form_and_files_data["indicator"])
    if found is None:
        abort(422, message=f"指标 {form_and_files_data['indicator']} 不在该报告中")
    upload = form_and_files_data["file"]
    session = get_session()
    try:
        add_attachment(
            session,
            scope,
            current(),
            found[0],
            upload.filename or "upload",
            upload.read(),
            EvidenceLimits.of(current_app.config["PERFTRACK_SETTINGS"]),
        )
        session.commit()
    except ReportError as exc:
        session.rollback()
        _fail(exc)
    return {"version": scope.report.version, "changed": True, "actuals": [], "spend": []}


@api_bp.get("/indicators/<code>/history")
@api_bp.output(HistoryOut)
def history(code: str):
    """Every saved value of an indicator: who, when, old → new, which report version."""
    rows = list_indicators(get_session(), code=code)
    if not rows:
        abort(404, message=f"指标 {code} 不存在")
    indicator, _project, division = rows[0]
    authorize("view_report", division.id)
    return {
        "indicator": code,
        "items": [
            {
                "at": h.at.isoformat(),
                "actor": h.actor,
                "period": h.period,
                "report_version": h.report_version,
                "source": h.source,
                "before": h.before,
                "after": h.after,
            }
            for h in indicator_history(get_session(), indicator)
        ],
    }


@api_bp.post("/periods/<period>/lock")
@api_bp.input(LockIn, location="json")
def period_lock(period: str, json_data):
    """Lock (locked=true) or reopen (locked=false, reason required) a period.  Finance only.

    Locking waits until the day after the period's due date; while a report is submitted or
    returned it needs confirm=true and a reason (409 otherwise, naming the reports)."""
    user = authorize("lock_period")
    try:
        parsed = Period.parse(period)
    except PeriodError as exc:
        abort(404, message=str(exc))
    session = get_session()
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == parsed.year)).first()
    if fiscal_year is None:
        abort(404, message=f"没有 {parsed.year} 年度")
    try:
        changed = set_period_lock(
            session, fiscal_year, parsed.quarter, user, json_data["locked"], json_data["reason"], json_data["confirm"]
        )
        session.commit()
    except ReportError as exc:
        session.rollback()
        _fail(exc)
    return {"period": parsed.code, "locked": json_data["locked"], "changed": changed}


@api_bp.get("/me")
def me():
    """The caller's account."""
    user = authorize("read_targets")
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "division_id": user.division_id,
    }
