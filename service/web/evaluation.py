"""Self-evaluation pages: trial and final runs (background jobs with progress), what still stops a final run
(by division and project, with links), each project's 自评表 (print-ready, the same form as the workbook),
reviews kept across runs (grades, overrides with reasons, explanations, 实际完成情况, exclusions), the lock,
the unlock with a reason, and the archived versions."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import NotFound

from .. import reviews
from ..access import authorize, can, current
from ..closing import ClosingError, archived_workbook, blocker_path, lock_run, unlock_year
from ..decision_error import DecisionError
from ..domain.closing import FINAL, TRIAL, grouped
from ..domain.scoring import ScoringPolicy
from ..domain.vocabulary import BlockerKind, RunKind
from ..evaluation import RunRefused, configured_policy, start_run
from ..evaluation_read import indicator_of_project, project_of_run, project_page, year_evaluation
from ..exports.self_evaluation import build_self_evaluation, finding_label
from ..grades import grade_indicator
from ..models import Division, EvaluationRun, FiscalYear
from ..partitions import EVALUATION, parts_done
from ..queries import fiscal_year, visible_divisions
from ..queueing import enqueue, safe_id
from ..request_db import get_session
from . import decide, web_bp
from .year_choice import selected_year, year_arg

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settings():
    return current_app.config["PERFTRACK_SETTINGS"]


def _policy() -> ScoringPolicy:
    return configured_policy(_settings().scoring_policy)


def _run(run_id: int) -> EvaluationRun:
    run = get_session().get(EvaluationRun, run_id)
    if run is None:
        raise NotFound("没有这次自评计算")
    return run


@web_bp.app_context_processor
def _evaluation_labels():
    return {"finding_label": finding_label}


@web_bp.get("/self-evaluation")
def evaluations():
    user = authorize("read_targets")
    session = get_session()
    year = fiscal_year(session, selected_year())
    overview = year_evaluation(
        session,
        year,
        [d.id for d in visible_divisions(session, user)],
        _policy() if can(user, "run_evaluation") else None,
    )
    blockers = overview.blockers
    current_id = overview.current.id if overview.current else None
    return render_template(
        "evaluations.html",
        year=year,
        runs=overview.runs,
        latest=overview.latest,
        rows=overview.rows,
        locked=overview.locked,
        current=overview.current,
        running=overview.running,
        archives=overview.archives,
        parts_done=parts_done(session, EVALUATION, [r.id for r in overview.runs if r.parts]),
        blockers=grouped(blockers),
        blocker_count=len(blockers),
        blocker_kinds=[
            (kind, sum(b.kind == kind for b in blockers))
            for kind in BlockerKind
            if any(b.kind == kind for b in blockers)
        ],
        link=lambda b: blocker_path(b, year.year, current_id),
    )


@web_bp.post("/self-evaluation/runs")
def evaluation_start():
    user = authorize("run_evaluation")
    year = fiscal_year(get_session(), year_arg(request.form))
    if year is None:
        raise NotFound("没有该年度")
    kind = FINAL if request.form.get("kind") == FINAL else TRIAL

    def change(session):
        try:
            run = start_run(session, year.year, user.username, _policy(), kind)
        except RunRefused as refused:
            raise DecisionError(
                f"{refused}：见下方「正式计算的前提」清单" if refused.blockers else str(refused)
            ) from refused
        enqueue(
            _settings().redis_url,
            session,
            "workers.jobs.evaluation_run",
            run.id,
            job_id=safe_id("evaluation-run", run.id),
            queue_name="high",
        )
        return run

    decide(change, lambda run: f"已开始第 {run.id} 次计算（{RunKind.label_of(run.kind)}，后台进行，页面显示进度）")
    return redirect(url_for("web.evaluations", year=year.year))


def _project_of_run(run: EvaluationRun, code: str):
    project = project_of_run(get_session(), run, code)
    if project is None:
        raise NotFound(f"项目 {code} 不在这次计算中")
    authorize("view_report", project.division_id)
    return project


@web_bp.get("/self-evaluation/runs/<int:run_id>/projects/<code>")
def evaluation_project(run_id: int, code: str):
    """The project's 自评表 as a print-ready page, with the reviews below it (never printed)."""
    user = current()
    run = _run(run_id)
    project = _project_of_run(run, code)
    page = project_page(get_session(), run, project, _settings())
    if page is None:
        raise NotFound("这次计算还没有该项目的结果")
    return render_template(
        "evaluation_project.html",
        run=run,
        project=project,
        page=page,
        sheet=page.sheet,
        form=page.form,
        year=page.year,
        indicators=page.indicators,
        stored=page.stored,
        grades=page.grades,
        review=page.review,
        editable=page.editable,
        current=page.current,
        policy=ScoringPolicy.from_dict(run.policy),
        may_review=can(user, "run_evaluation") and page.editable,
        may_explain=can(user, "edit_report", project.division_id) and page.editable,
    )


def _indicator(run: EvaluationRun, code: str, indicator_code: str):
    project = _project_of_run(run, code)
    indicator = indicator_of_project(get_session(), project, indicator_code)
    if indicator is None:
        raise NotFound(f"指标 {indicator_code} 不属于项目 {code}")
    return indicator


def _on_current(run: EvaluationRun) -> None:
    """Reviews are made on the year's current run; older runs and archived versions stay as they were."""
    latest = reviews.open_year_run(get_session(), run.fiscal_year_id)  # refuses a locked year
    if latest is None or latest.id != run.id:
        raise DecisionError("这是较早的计算结果（或已归档的版本），只能查看；请在最新一次计算中评审，或先开始新的试算")


def _back(run_id: int, code: str, anchor: str = ""):
    return redirect(url_for("web.evaluation_project", run_id=run_id, code=code) + (f"#{anchor}" if anchor else ""))


def _review(run_id: int, code: str, indicator_code: str, change, message: str, right: str = "run_evaluation"):
    """Apply one review of an indicator on the year's current run (RIGHT on the project's division)."""
    run = _run(run_id)
    project = _project_of_run(run, code)
    authorize(right, project.division_id)
    indicator = _indicator(run, code, indicator_code)

    def guarded(session):
        _on_current(run)
        return change(session, indicator)

    decide(guarded, message)
    return _back(run_id, code, f"review-{indicator_code}")


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/override")
def evaluation_override(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    return _review(
        run_id,
        code,
        indicator_code,
        lambda session, indicator: reviews.override(
            session, indicator, request.form.get("score", ""), request.form.get("reason", ""), user.username
        ),
        f"指标 {indicator_code} 的得分已调整（计算值保留，以后各次计算沿用）",
    )


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/reconfirm")
def evaluation_reconfirm(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    return _review(
        run_id,
        code,
        indicator_code,
        lambda session, indicator: reviews.reconfirm(session, indicator, user.username),
        f"已重新确认指标 {indicator_code} 的调整",
    )


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/withdraw")
def evaluation_withdraw(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    return _review(
        run_id,
        code,
        indicator_code,
        lambda session, indicator: reviews.withdraw_override(session, indicator, user.username),
        f"已撤销指标 {indicator_code} 的调整，恢复计算得分",
    )


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/grade")
def evaluation_grade(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    return _review(
        run_id,
        code,
        indicator_code,
        lambda session, indicator: grade_indicator(
            session,
            indicator,
            request.form.get("band", ""),
            request.form.get("percent", ""),
            request.form.get("note", ""),
            user.username,
            ScoringPolicy.from_dict(run.policy),
        ),
        f"指标 {indicator_code} 已评定，本次计算的得分已更新",
    )


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/note")
def evaluation_note(run_id: int, code: str, indicator_code: str):
    user = current()
    return _review(
        run_id,
        code,
        indicator_code,
        lambda session, indicator: reviews.explain(session, indicator, request.form.get("note", ""), user.username),
        f"已保存指标 {indicator_code} 的偏差原因分析及改进措施",
        right="edit_report",
    )


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/outcome")
def evaluation_outcome(run_id: int, code: str):
    run = _run(run_id)
    project = _project_of_run(run, code)
    user = authorize("edit_report", project.division_id)

    def change(session):
        _on_current(run)
        reviews.write_outcome(session, project, request.form.get("outcome", ""), user.username)

    decide(change, "已保存年度总体目标的实际完成情况")
    return _back(run_id, code, "outcome")


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/exclusion")
def evaluation_exclusion(run_id: int, code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    project = _project_of_run(run, code)
    excluded = request.form.get("excluded") == "1"

    def change(session):
        _on_current(run)
        reviews.exclude(session, project, request.form.get("reason", ""), user.username, excluded)

    decide(change, f"项目 {code} " + ("不纳入正式计算（原因印在其自评表上）" if excluded else "重新纳入正式计算"))
    return _back(run_id, code, "exclusion")


@web_bp.post("/self-evaluation/runs/<int:run_id>/lock")
def evaluation_lock(run_id: int):
    user = authorize("run_evaluation")
    run = _run(run_id)

    def change(session):
        return lock_run(session, run, user.username, _settings())

    decide(change, lambda locked: f"自评结果已锁定归档为版本 {locked.archive_version}：今后只能查看，解锁须说明原因")
    return redirect(url_for("web.evaluations", year=get_session().get(FiscalYear, run.fiscal_year_id).year))


@web_bp.post("/self-evaluation/unlock")
def evaluation_unlock():
    user = authorize("unlock_evaluation")
    year = fiscal_year(get_session(), year_arg(request.form))
    if year is None:
        raise NotFound("没有这个年度")

    def change(session):
        return unlock_year(session, year.year, user.username, request.form.get("reason", ""))

    decide(
        change,
        lambda run: (
            f"已解锁；归档版本 {run.archive_version} 仍可下载，下次锁定的正式计算将成为版本 {run.archive_version + 1}"
        ),
    )
    return redirect(url_for("web.evaluations", year=year.year))


@web_bp.get("/self-evaluation/runs/<int:run_id>/workbook.xlsx")
def evaluation_workbook(run_id: int):
    user = authorize("read_targets")
    session = get_session()
    run = _run(run_id)
    year = session.get(FiscalYear, run.fiscal_year_id).year
    division = None
    if not can(user, "view_report"):  # a division exports its own projects
        division = session.get(Division, user.division_id).code
    data = build_self_evaluation(session, year, division, None, run=run, settings=_settings())
    kind = "试算" if run.kind == TRIAL else "正式"
    return send_file(
        data,
        as_attachment=True,
        download_name=f"{year}年度项目支出绩效自评表（{kind}，第{run.id}次计算）.xlsx",
        mimetype=XLSX,
    )


@web_bp.get("/self-evaluation/archives/<int:year>/<int:version>.xlsx")
def evaluation_archive(year: int, version: int):
    authorize("view_report")  # the whole bureau's filed workbook: finance, admin, audit
    import io

    try:
        data = archived_workbook(get_session(), year, version)
    except ClosingError as exc:
        raise NotFound(str(exc)) from exc
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"{year}年度项目支出绩效自评表（归档版本{version}）.xlsx",
        mimetype=XLSX,
    )
