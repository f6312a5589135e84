"""Self-evaluation pages: runs (started as a background job, with progress), each project's 自评表
(print-ready), finance's grades and overrides with reasons, divisions' explanations, the year lock."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import NotFound

from ..access import authorize, can, current
from ..domain.scoring import ScoringPolicy
from ..evaluation import configured_policy, lock_year, override_score, set_division_note, start_run, year_locked
from ..evaluation_read import indicator_result, project_of_run, project_sheet, year_evaluation
from ..exports.self_evaluation import build_self_evaluation
from ..grades import grade_indicator
from ..models import Division, EvaluationRun, FiscalYear, IndicatorResult
from ..queries import fiscal_year, visible_divisions
from ..queueing import enqueue, safe_id
from ..request_db import get_session
from . import decide, web_bp


def _run(run_id: int) -> EvaluationRun:
    run = get_session().get(EvaluationRun, run_id)
    if run is None:
        raise NotFound("没有这次自评计算")
    return run


@web_bp.get("/self-evaluation")
def evaluations():
    user = authorize("read_targets")
    session = get_session()
    year = fiscal_year(session, request.args.get("year", type=int))
    overview = year_evaluation(session, year, [d.id for d in visible_divisions(session, user)])
    return render_template(
        "evaluations.html",
        year=year,
        runs=overview.runs,
        latest=overview.latest,
        rows=overview.rows,
        running=overview.running,
    )


@web_bp.post("/self-evaluation/runs")
def evaluation_start():
    user = authorize("run_evaluation")
    year = fiscal_year(get_session(), request.form.get("year", type=int))
    if year is None:
        raise NotFound("没有该年度")
    settings = current_app.config["PERFTRACK_SETTINGS"]

    def change(session):
        run = start_run(session, year.year, user.username, configured_policy(settings.scoring_policy))
        enqueue(
            settings.redis_url,
            session,
            "workers.jobs.evaluation_run",
            run.id,
            job_id=safe_id("evaluation-run", run.id),
            queue_name="high",
        )
        return run

    decide(change, lambda run: f"已开始第 {run.id} 次自评计算（后台进行，页面显示进度）")
    return redirect(url_for("web.evaluations", year=year.year))


def _project_of_run(run: EvaluationRun, code: str):
    project = project_of_run(get_session(), run, code)
    if project is None:
        raise NotFound(f"项目 {code} 不在这次计算中")
    authorize("view_report", project.division_id)
    return project


@web_bp.get("/self-evaluation/runs/<int:run_id>/projects/<code>")
def evaluation_project(run_id: int, code: str):
    """The project's 自评表 as a print-ready page, with the review controls around it."""
    user = current()
    run = _run(run_id)
    project = _project_of_run(run, code)
    sheet = project_sheet(get_session(), run, project)
    if sheet is None:
        raise NotFound("这次计算还没有该项目的结果")
    locked = year_locked(get_session(), run.fiscal_year_id)  # a filed year: no run of it takes reviews
    return render_template(
        "evaluation_project.html",
        run=run,
        project=project,
        result=sheet.result,
        division=sheet.division,
        year=sheet.year,
        rows=sheet.rows,
        stored=sheet.stored,
        grades=sheet.grades,
        policy=ScoringPolicy.from_dict(run.policy),
        project_result=sheet.project_result,
        may_review=can(user, "run_evaluation") and not locked,
        may_explain=can(user, "edit_report", project.division_id) and not locked,
    )


def _indicator_result(run: EvaluationRun, code: str, indicator_code: str) -> IndicatorResult:
    row = indicator_result(get_session(), run, _project_of_run(run, code), indicator_code)
    if row is None:
        raise NotFound(f"指标 {indicator_code} 不在这次计算中")
    return row


def _back(run_id: int, code: str):
    return redirect(url_for("web.evaluation_project", run_id=run_id, code=code))


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/override")
def evaluation_override(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)
    decide(
        lambda session: override_score(
            session, run, row, request.form.get("score", ""), request.form.get("reason", ""), user.username
        ),
        f"指标 {indicator_code} 的得分已调整（计算值保留）",
    )
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/grade")
def evaluation_grade(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)
    decide(
        lambda session: grade_indicator(
            session,
            row.indicator_id,
            request.form.get("band", ""),
            request.form.get("percent", ""),
            request.form.get("note", ""),
            user.username,
            ScoringPolicy.from_dict(run.policy),
        ),
        f"指标 {indicator_code} 已评定，下次计算生效",
    )
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/note")
def evaluation_note(run_id: int, code: str, indicator_code: str):
    run = _run(run_id)
    project = _project_of_run(run, code)
    authorize("edit_report", project.division_id)
    row = _indicator_result(run, code, indicator_code)
    decide(
        lambda session: set_division_note(session, run, row, request.form.get("note", "")),
        f"已保存指标 {indicator_code} 的偏差原因分析及改进措施",
    )
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/lock")
def evaluation_lock(run_id: int):
    authorize("run_evaluation")
    run = _run(run_id)
    decide(lambda session: lock_year(session, run), "自评结果已锁定归档：今后只能查看")
    return redirect(url_for("web.evaluations", year=get_session().get(FiscalYear, run.fiscal_year_id).year))


@web_bp.get("/self-evaluation/runs/<int:run_id>/workbook.xlsx")
def evaluation_workbook(run_id: int):
    user = authorize("read_targets")
    session = get_session()
    run = _run(run_id)
    year = session.get(FiscalYear, run.fiscal_year_id).year
    division = None
    if not can(user, "view_report"):  # a division exports its own projects
        division = session.get(Division, user.division_id).code
    data = build_self_evaluation(session, year, division, None, run=run)
    return send_file(
        data,
        as_attachment=True,
        download_name=f"{year}年度项目支出绩效自评表.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
