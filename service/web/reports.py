"""Quarterly report pages: overview, the division's form, review, workbook round-trip, history."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import NotFound

from ..access import authorize, current
from ..clock import clock
from ..domain.actuals import RawActual, forecasts_allowed, missing_for_submit, read_actual
from ..domain.periods import Period, PeriodError
from ..domain.permissions import TRANSITION_NEEDS
from ..domain.progress import explanation_note, needs_explanation
from ..domain.vocabulary import ReportAction, TargetKind
from ..domain.workflow import STARTS_FROM, may_request_signoff, may_take, next_step
from ..domain.workflow import may_edit as may_edit_situation
from ..queries import fiscal_year, visible_divisions, years
from ..reporting.conflicts import compare, merged_form
from ..reporting.followup import follow_up
from ..reporting.read import (
    changes_since_return,
    form_groups,
    latest_event,
    page_summary,
    report_events,
    report_overview,
    return_reasons,
)
from ..reporting.reports import (
    ActualRow,
    ReportError,
    SignoffWouldBeVoided,
    SpendRow,
    VersionConflict,
    is_locked,
    last_lock_events,
    load_scope,
    lock_check,
    missing_items,
    open_return,
    previous_actuals,
    previous_report,
    request_signoff,
    save,
    set_period_lock,
    signoff_requested,
    situation_of,
    transition,
)
from ..reporting.workbook import WORKBOOK_MIME, StaleWorkbook, build_workbook, save_workbook
from ..request_db import get_session
from ..stored_targets import target_of
from . import decide, web_bp
from .year_choice import selected_year


def _period(code: str) -> Period:
    try:
        return Period.parse(code)
    except PeriodError as exc:
        raise NotFound(str(exc)) from exc


def open_scope(division: str, period_code: str, action: str = "view_report"):
    """The report scope, after checking the current user may do `action` on that division."""
    period = _period(period_code)
    try:
        scope = load_scope(get_session(), period.year, division, period.quarter)
    except ReportError as exc:
        raise NotFound(exc.message) from exc
    authorize(action, scope.division.id)
    return scope


def _report_url(scope) -> str:
    return url_for("web.report", division=scope.division.code, period=scope.period.code)


@web_bp.get("/reports")
def reports():
    user = authorize("read_targets")
    session = get_session()
    known = years(session)
    year = fiscal_year(session, selected_year())
    if year is None:
        return render_template("reports.html", rows=[], year=None, years=known, locks={})
    rows = report_overview(session, year, visible_divisions(session, user))
    periods = {q: Period(year.year, q) for q in range(1, 5)}
    locks = {q: is_locked(session, year.id, q) for q in periods}
    return render_template(
        "reports.html",
        rows=rows,
        year=year,
        years=known,
        periods=periods,
        locks=locks,
        lock_events=last_lock_events(session, year.id),
        due_days=year.report_due_days,
    )


def _raw_from_form(form, code: str, target) -> RawActual:
    raw = RawActual(
        value=form.get(f"v-{code}", ""),
        expected_on=form.get(f"e-{code}", ""),
        likelihood=form.get(f"l-{code}", ""),
        cause_category=form.get(f"cc-{code}", ""),
        cause_text=form.get(f"ct-{code}", ""),
        measure_text=form.get(f"m-{code}", ""),
        confirm_decrease=form.get(f"cd-{code}") == "1",
        decrease_reason=form.get(f"dr-{code}", ""),
        forecast=form.get(f"fc-{code}"),  # absent outside Q2/Q3
    )
    if target.kind == TargetKind.DEADLINE:
        state = form.get(f"ds-{code}", "")
        raw.value = {"done": raw.value, "not_done": "未完成"}.get(state, "")
        if state != "not_done":
            raw.expected_on = ""
    return raw


def _status_settings():
    """The region's monitoring rules: the form's light uses the thresholds the overview uses."""
    return current_app.config["PERFTRACK_SETTINGS"].status


def _field_value(posted):
    """The value a form field shows: what was typed (a refused save keeps it), else what is stored.
    A plain function, not a template macro: the form calls it some 400 times a page."""

    def value(name: str, stored) -> str:
        return (posted.get(name, "") if posted is not None else stored) or ""

    return value


def _render_report(scope, errors=None, posted=None, status=200, conflict=None, based_on=None, confirm_void=False):
    session = get_session()
    user = current()
    report = scope.report
    open_returned = open_return(session, report)
    groups = form_groups(session, scope, _status_settings(), return_reasons(open_returned))
    if posted is not None:  # show the lights of what was typed, not of what is stored
        for group in groups:
            for row in group.rows:
                typed = read_actual(
                    row.target,
                    _raw_from_form(posted, row.indicator.code, row.target),
                    scope.period,
                    settings=_status_settings(),
                )
                row.reading.light = typed.light
                row.reading.actual.likelihood = typed.actual.likelihood
    situation = situation_of(session, scope)
    actions = {action for action in STARTS_FROM if may_take(user, situation, action)}
    # Full review tools on a submitted report only; an accepted one offers just a reopening return.
    reviewing = ReportAction.ACCEPT in actions
    # The return stays in view for everyone while the division answers it (edits, sign-off), and for
    # finance reviewing the resubmission; an accepted report shows none.
    returned = open_returned or (latest_event(session, report, ReportAction.RETURN) if reviewing else None)
    requested = signoff_requested(session, report)
    events = report_events(session, report)
    changes = changes_since_return(session, scope) if reviewing else []
    summary = page_summary(groups, errors or {}, changes)
    return render_template(
        "report.html",
        scope=scope,
        report=report,
        groups=groups,
        errors=errors or {},
        posted=posted,
        fv=_field_value(posted),
        editable=may_edit_situation(user, situation),
        locked=situation.locked,
        period_open=situation.period_open,
        next_step=next_step(situation, requested),
        actions=actions,
        reviewing=reviewing,
        returned=returned,
        may_request_signoff=may_request_signoff(user, situation) and not requested,
        signoff_requested=requested,
        confirm_void=confirm_void,
        changes=changes,
        summary=summary,
        events=events,
        due=scope.period.due(scope.year.report_due_days),
        needs_explanation=needs_explanation,
        explanation_note=explanation_note,
        is_explained=is_explained,
        has_previous=previous_report(session, scope) is not None,
        forecasts=forecasts_allowed(scope.period),
        conflict=conflict,
        based_on=based_on,
    ), status


@web_bp.get("/reports/<division>/<period>")
def report(division: str, period: str):
    """The report; with ?check=1 (from 我的待办) what it still lacks is listed and marked, as a
    refused submission would, without trying one."""
    scope = open_scope(division, period)
    errors = None
    if request.args.get("check") == "1":
        errors = _errors_by_row(missing_items(get_session(), scope), _row_locations(scope))
    return _render_report(scope, errors)


def _row_locations(scope) -> dict[str, str]:
    """The workflow's problem locations (「指标 CODE（name）」) → the form row's code."""
    locations = {f"指标 {c}（{i.name}）": c for c, (i, _p) in scope.indicators.items()}
    return locations | {f"项目 {c}（{p.name}）": c for c, p in scope.projects.items()}


def _errors_by_row(problems, locations: dict[str, str]) -> dict:
    """Problems keyed by the row's code and field label, for inline messages."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        code = locations.get(problem.location, problem.location)
        errors.setdefault(code, []).append(f"{problem.field}：{problem.message}")
    return errors


@web_bp.post("/reports/<division>/<period>/save")
def report_save(division: str, period: str):
    scope = open_scope(division, period, "edit_report")
    session = get_session()
    form = request.form
    actual_rows = [
        ActualRow(code, _raw_from_form(form, code, target_of(indicator)), f"指标 {code}")
        for code, (indicator, _p) in scope.indicators.items()
        if f"l-{code}" in form
    ]
    spend_rows = [
        SpendRow(
            code,
            form.get(f"sp-{code}", ""),
            form.get(f"bd-{code}", ""),
            f"项目 {code}",
            form.get(f"sdr-{code}", ""),
            form.get(f"scd-{code}") == "1",
            form.get(f"sf-{code}"),
        )
        for code in scope.projects
        if f"sp-{code}" in form
    ]
    try:
        result = save(
            session,
            scope,
            current(),
            actual_rows,
            spend_rows,
            "web",
            expected_version=form.get("version", type=int),
            void_signoff=form.get("void_signoff") == "1",
        )
        session.commit()
    except SignoffWouldBeVoided as exc:  # ask first: keep what was typed, offer to save and void
        session.rollback()
        flash(exc.message, "error")
        return _render_report(open_scope(division, period, "edit_report"), {}, form, 409, confirm_void=True)
    except VersionConflict as exc:  # keep what was typed, beside what is stored now
        session.rollback()
        fresh = open_scope(division, period, "edit_report")
        cells = compare(session, fresh, actual_rows, spend_rows, exc.based_on)
        flash(
            f"报告已被他人修改（您打开时为版本 {exc.based_on}，现为版本 {exc.current}）：您填写的内容尚未保存，"
            "已保留在表单中，请核对下表后再次保存",
            "error",
        )
        return _render_report(fresh, {}, merged_form(form, fresh, cells), 409, cells, exc.based_on)
    except ReportError as exc:
        session.rollback()
        if exc.status == 422:
            locations = {f"指标 {c}": c for c in scope.indicators} | {f"项目 {c}": c for c in scope.projects}
            flash(f"{exc.message}（{len(exc.problems)} 处错误，已在下方标出）", "error")
            return _render_report(
                open_scope(division, period, "edit_report"), _errors_by_row(exc.problems, locations), form, 422
            )
        flash(exc.message, "error")
        return redirect(_report_url(scope))
    if form.get("then") == ReportAction.SUBMIT:
        return _act(scope, ReportAction.SUBMIT, expected_version=result.version, saved=result.version)
    if result.changed:
        flash(
            f"已保存：{len(result.changed_actuals)} 个指标、{len(result.changed_spend)} 个项目资金有更新"
            f"（版本 {result.version}）"
            + ("。负责人签认已撤销，请重新送处室负责人签认" if result.signoff_voided else ""),
            "ok",
        )
    else:
        flash("没有需要保存的修改", "ok")
    return redirect(_report_url(scope))


def _refused(scope, exc: ReportError, saved: int | None = None):
    """A refused workflow step: what is missing listed and marked on the form, else the reason.
    SAVED is the version just saved when the step followed a save (保存并提交): the draft is kept."""
    kept = f"草稿已保存（版本 {saved}），但" if saved is not None else ""
    if exc.problems:
        flash(f"{kept}{exc.message}：请补充下方列出并标出的内容", "error")
        return _render_report(
            open_scope(scope.division.code, scope.period.code),
            _errors_by_row(exc.problems, _row_locations(scope)),
            None,
            exc.status,
        )
    flash(f"{kept}{exc.message}", "error")
    return redirect(_report_url(scope))


def _act(scope, action: str, expected_version: int | None = None, saved: int | None = None):
    session = get_session()
    user = current()
    authorize(TRANSITION_NEEDS[action], scope.division.id)
    reasons = {code: request.form.get(f"rr-{code}", "") for code in scope.indicators}
    try:
        changed = transition(
            session,
            scope,
            user,
            action,
            request.form.get("comment", ""),
            reasons,
            expected_version=expected_version
            if expected_version is not None
            else request.form.get("version", type=int),
        )
        if changed:
            follow_up(
                session,
                scope,
                action,
                current_app.config["PERFTRACK_SETTINGS"].redis_url,
                request.form.get("comment", ""),
            )
        session.commit()
    except ReportError as exc:
        session.rollback()
        return _refused(scope, exc, saved)
    report = scope.report
    if changed:
        message = {
            ReportAction.SIGN: "已签认",
            ReportAction.SUBMIT: "已提交财务处审核" + ("（逾期提交）" if report.late else ""),
            ReportAction.RETURN: "已退回处室修改",
            ReportAction.ACCEPT: "已审核通过",
        }[action]
        flash(message, "ok")
    return redirect(_report_url(scope))


@web_bp.post("/reports/<division>/<period>/action")
def report_action(division: str, period: str):
    scope = open_scope(division, period)
    action = request.form.get("action", "")
    if action not in TRANSITION_NEEDS:
        abort(400)
    return _act(scope, action)


@web_bp.post("/reports/<division>/<period>/request-signoff")
def report_request_signoff(division: str, period: str):
    """The reporter sends the complete report to the division's head, who is notified."""
    scope = open_scope(division, period, "edit_report")
    session = get_session()
    user = current()
    try:
        changed = request_signoff(session, scope, user)
        if changed:
            follow_up(
                session,
                scope,
                ReportAction.REQUEST_SIGNOFF,
                current_app.config["PERFTRACK_SETTINGS"].redis_url,
                actor=user.display_name,
            )
        session.commit()
    except ReportError as exc:
        session.rollback()
        return _refused(scope, exc)
    flash("已送处室负责人签认，负责人已收到通知" if changed else "报告已在等待处室负责人签认", "ok")
    return redirect(_report_url(scope))


def is_explained(actual) -> bool:
    """The deviation's cause, analysis and measure are all written."""
    return bool(actual.cause_category and actual.cause_text and actual.measure_text)


@web_bp.post("/reports/<division>/<period>/preview")
def report_preview(division: str, period: str):
    """The status light and inline errors of one row as the user types (same rules as saving)."""
    scope = open_scope(division, period, "edit_report")
    code = request.form.get("code", "")
    found = scope.indicators.get(code)
    if found is None:
        abort(404)
    target = target_of(found[0])
    before = previous_actuals(get_session(), scope).get(found[0].id)
    reading = read_actual(
        target,
        _raw_from_form(request.form, code, target),
        scope.period,
        previous=before.number if before else None,
        today=clock.today(),
        settings=_status_settings(),
    )
    needs = needs_explanation(reading.light, reading.actual.likelihood)
    light = reading.light
    return jsonify(
        {
            "light": {"code": light.code, "label": light.label, "detail": light.detail, "status": light.status},
            "needs_explanation": needs,
            "explanation_note": explanation_note(
                reading.light, reading.actual.likelihood, is_explained(reading.actual)
            ),
            "errors": [{"field": e.field, "message": str(e)} for e in reading.errors],
            "missing": [str(m) for m in missing_for_submit(target, reading)] if not reading.errors else [],
        }
    )


@web_bp.get("/reports/<division>/<period>/workbook.xlsx")
def report_workbook(division: str, period: str):
    scope = open_scope(division, period)
    name = f"{scope.division.name}_{scope.period.code}_绩效监控填报.xlsx"
    return send_file(
        build_workbook(get_session(), scope), as_attachment=True, download_name=name, mimetype=WORKBOOK_MIME
    )


@web_bp.post("/reports/<division>/<period>/workbook")
def report_workbook_upload(division: str, period: str):
    scope = open_scope(division, period, "edit_report")
    session = get_session()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的工作簿", "error")
        return redirect(_report_url(scope))
    try:
        result = save_workbook(session, scope, current(), upload.read())
        session.commit()
    except StaleWorkbook as exc:  # a file downloaded before the latest change: show what it would undo
        session.rollback()
        fresh = open_scope(division, period, "edit_report")
        cells = compare(
            session, fresh, exc.filled.actual_rows, exc.filled.spend_rows, exc.filled.version, skip_blank=True
        )
        return render_template(
            "workbook_conflict.html", scope=fresh, file_name=upload.filename, conflict=exc, cells=cells
        ), 409
    except ReportError as exc:
        session.rollback()
        return render_template("upload_problems.html", scope=scope, file_name=upload.filename, error=exc), exc.status
    flash(
        f"工作簿已导入：{len(result.changed_actuals)} 个指标、{len(result.changed_spend)} 个项目资金有更新"
        if result.changed
        else "工作簿与已保存的内容相同，没有修改",
        "ok",
    )
    return redirect(_report_url(scope))


def _year_of(parsed: Period):
    year = fiscal_year(get_session(), parsed.year)
    if year is None:
        raise NotFound(f"没有 {parsed.year} 年度")
    return year


@web_bp.get("/periods/<period>/lock")
def period_lock_confirm(period: str):
    """Before locking: every report of the period not yet accepted, and what locking needs."""
    authorize("lock_period")
    parsed = _period(period)
    year = _year_of(parsed)
    check = lock_check(get_session(), year, parsed.quarter)
    return render_template("lock_confirm.html", check=check, year=year)


@web_bp.post("/periods/<period>/lock")
def period_lock(period: str):
    user = authorize("lock_period")
    parsed = _period(period)
    year = _year_of(parsed)
    form = request.form
    locked = decide(
        lambda session: set_period_lock(
            session, year, parsed.quarter, user, True, form.get("reason", ""), form.get("confirm") == "1"
        ),
        lambda changed: f"{parsed.label}已锁定" if changed else f"{parsed.label}状态未变",
    )
    if not locked:
        return redirect(url_for("web.period_lock_confirm", period=parsed.code))
    return redirect(url_for("web.reports", year=parsed.year))


@web_bp.post("/periods/<period>/reopen")
def period_reopen(period: str):
    user = authorize("lock_period")
    parsed = _period(period)
    year = _year_of(parsed)
    decide(
        lambda session: set_period_lock(session, year, parsed.quarter, user, False, request.form.get("reason", "")),
        lambda changed: f"{parsed.label}已重新开放" if changed else f"{parsed.label}状态未变",
    )
    return redirect(url_for("web.reports", year=parsed.year))
