"""Self-evaluation pages: runs (started as a background job, with progress), each project's 自评表
(print-ready), finance's grades and overrides with reasons, divisions' explanations, the year lock."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, send_file, url_for
from sqlmodel import select
from werkzeug.exceptions import NotFound

from ..access import authorize, can, current
from ..admin import DecisionError
from ..domain.scoring import ScoringPolicy
from ..domain.vocabulary import RunState
from ..evaluation import (
    EvaluationError, division_notes, grade_indicator, lock_year, override_score, results_of_run, start_run,
    write_division_note, year_locked,
)
from ..exports.self_evaluation import build_self_evaluation, explanations_of, indicator_block
from ..models import (
    Division, EvaluationRun, FiscalYear, Indicator, IndicatorResult, Project, ProjectResult, ReviewerGrade,
)
from ..queries import years
from ..queueing import enqueue, safe_id
from ..request_db import get_session
from . import decide, web_bp


def _year(value: int | None):
    session = get_session()
    known = years(session)
    return session.exec(select(FiscalYear).where(FiscalYear.year == (value or (known[0] if known else 0)))).first()


def _run(run_id: int) -> EvaluationRun:
    run = get_session().get(EvaluationRun, run_id)
    if run is None:
        raise NotFound("没有这次自评计算")
    return run


@web_bp.get("/self-evaluation")
def evaluations():
    user = authorize("read_targets")
    session = get_session()
    year = _year(request.args.get("year", type=int))
    runs = session.exec(select(EvaluationRun).where(EvaluationRun.fiscal_year_id == (year.id if year else 0))
                        .order_by(EvaluationRun.id.desc())).all()
    latest = next((r for r in runs if r.state == RunState.DONE), None)
    rows = []
    if latest is not None:
        visible = [d.id for d in session.exec(select(Division)).all() if can(user, "view_report", d.id)]
        ids = list(session.exec(select(Project.id).where(Project.fiscal_year_id == year.id,
                                                          Project.division_id.in_(visible))).all())
        results = results_of_run(session, latest, ids)
        for project, division in session.exec(select(Project, Division).join(Division, Division.id == Project.division_id)
                                              .where(Project.id.in_(ids)).order_by(Project.code)).all():
            rows.append((project, division, results.get(project.code)))
    return render_template("evaluations.html", year=year, runs=runs, latest=latest, rows=rows,
                           running=any(r.state in (RunState.QUEUED, RunState.RUNNING) for r in runs))


@web_bp.post("/self-evaluation/runs")
def evaluation_start():
    user = authorize("run_evaluation")
    year = _year(request.form.get("year", type=int))

    def change(session):
        try:
            configured = current_app.config["PERFTRACK_SETTINGS"].scoring_policy
            run = start_run(session, year.year, user.username,
                            ScoringPolicy.from_dict(configured) if configured else ScoringPolicy())
        except (EvaluationError, ValueError) as exc:
            raise DecisionError(str(exc)) from exc
        enqueue(current_app.config["PERFTRACK_SETTINGS"].redis_url, session, "workers.jobs.evaluation_run", run.id,
                job_id=safe_id("evaluation-run", run.id), queue_name="high")
        return run

    decide(change, lambda run: f"已开始第 {run.id} 次自评计算（后台进行，页面显示进度）")
    return redirect(url_for("web.evaluations", year=year.year))


def _project_of_run(run: EvaluationRun, code: str):
    session = get_session()
    project = session.exec(select(Project).where(Project.code == code, Project.fiscal_year_id == run.fiscal_year_id)).first()
    if project is None:
        raise NotFound(f"项目 {code} 不在这次计算中")
    authorize("view_report", project.division_id)
    return project


@web_bp.get("/self-evaluation/runs/<int:run_id>/projects/<code>")
def evaluation_project(run_id: int, code: str):
    """The project's 自评表 as a print-ready page, with the review controls around it."""
    user = current()
    session = get_session()
    run = _run(run_id)
    project = _project_of_run(run, code)
    result = results_of_run(session, run, [project.id]).get(code)
    if result is None:
        raise NotFound("这次计算还没有该项目的结果")
    indicators = session.exec(select(Indicator).where(Indicator.project_id == project.id)
                              .order_by(Indicator.row_order)).all()
    explanations = explanations_of(session, run.fiscal_year_id, [project.id]) | division_notes(session, run)
    stored = {i.code: r for r, i in session.exec(select(IndicatorResult, Indicator)
                                                 .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
                                                 .where(IndicatorResult.run_id == run.id,
                                                        IndicatorResult.project_id == project.id)).all()}
    grades = {g.indicator_id: g for g in session.exec(select(ReviewerGrade).where(
        ReviewerGrade.indicator_id.in_([i.id for i in indicators]))).all()}
    locked = year_locked(session, run.fiscal_year_id)
    return render_template(
        "evaluation_project.html", run=run, project=project, result=result,
        division=session.get(Division, project.division_id), year=session.get(FiscalYear, run.fiscal_year_id).year,
        rows=list(zip(result.indicators, indicator_block(result, list(indicators), explanations), indicators)),
        stored=stored, grades=grades, policy=ScoringPolicy.from_dict(run.policy),
        may_review=can(user, "run_evaluation") and not locked,
        may_explain=can(user, "edit_report", project.division_id) and not locked,
        project_result=session.exec(select(ProjectResult).where(ProjectResult.run_id == run.id,
                                                                ProjectResult.project_id == project.id)).first())


def _indicator_result(run: EvaluationRun, code: str, indicator_code: str) -> IndicatorResult:
    project = _project_of_run(run, code)
    row = get_session().exec(select(IndicatorResult).join(Indicator, Indicator.id == IndicatorResult.indicator_id)
                             .where(IndicatorResult.run_id == run.id, IndicatorResult.project_id == project.id,
                                    Indicator.code == indicator_code)).first()
    if row is None:
        raise NotFound(f"指标 {indicator_code} 不在这次计算中")
    return row


def _back(run_id: int, code: str):
    return redirect(url_for("web.evaluation_project", run_id=run_id, code=code))


def _decided(write):
    """A review write as a web decision: the service's refusal (locked year, bad input) is flashed."""
    def change(session):
        try:
            return write(session)
        except EvaluationError as exc:
            raise DecisionError(str(exc)) from exc
    return change


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/override")
def evaluation_override(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)
    decide(_decided(lambda session: override_score(session, run, row, request.form.get("score", ""),
                                                   request.form.get("reason", ""), user.username)),
           f"指标 {indicator_code} 的得分已调整（计算值保留）")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/grade")
def evaluation_grade(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)
    decide(_decided(lambda session: grade_indicator(session, run, row.indicator_id, request.form.get("band", ""),
                                                    request.form.get("percent", ""), request.form.get("note", ""),
                                                    user.username)),
           f"指标 {indicator_code} 已评定，下次计算生效")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/note")
def evaluation_note(run_id: int, code: str, indicator_code: str):
    run = _run(run_id)
    project = _project_of_run(run, code)
    authorize("edit_report", project.division_id)
    row = _indicator_result(run, code, indicator_code)
    decide(_decided(lambda session: write_division_note(session, run, row, request.form.get("note", ""))),
           f"已保存指标 {indicator_code} 的偏差原因分析及改进措施")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/lock")
def evaluation_lock(run_id: int):
    authorize("run_evaluation")
    run = _run(run_id)

    decide(_decided(lambda session: lock_year(session, run)), "自评结果已锁定归档：今后只能查看")
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
    return send_file(data, as_attachment=True, download_name=f"{year}年度项目支出绩效自评表.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
