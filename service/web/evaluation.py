"""Self-evaluation pages: runs (started as a background job, with progress), each project's 自评表
(print-ready), finance's grades and overrides with reasons, divisions' explanations, the year lock."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app, redirect, render_template, request, send_file, url_for
from sqlmodel import select
from werkzeug.exceptions import NotFound

from ..access import authorize, can, current
from ..clock import clock
from ..decision_error import DecisionError
from ..domain.scoring import ScoringPolicy
from ..domain.vocabulary import Band, RunState
from ..evaluation import lock_year, results_of_run, start_run
from ..evaluation import division_notes
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
        except ValueError as exc:
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
    return render_template(
        "evaluation_project.html", run=run, project=project, result=result,
        division=session.get(Division, project.division_id), year=session.get(FiscalYear, run.fiscal_year_id).year,
        rows=list(zip(result.indicators, indicator_block(result, list(indicators), explanations), indicators)),
        stored=stored, grades=grades, policy=ScoringPolicy.from_dict(run.policy),
        may_review=can(user, "run_evaluation") and not run.final,
        may_explain=can(user, "edit_report", project.division_id) and not run.final,
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


def _not_final(run: EvaluationRun) -> None:
    if run.final:
        raise DecisionError("该年度自评已锁定：只能查看，需调整请重新开始一次计算")


def _back(run_id: int, code: str):
    return redirect(url_for("web.evaluation_project", run_id=run_id, code=code))


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/override")
def evaluation_override(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)

    def change(session):
        _not_final(run)
        reason = request.form.get("reason", "").strip()
        if not reason:
            raise DecisionError("调整得分必须说明原因")
        try:
            score = Decimal(request.form.get("score", "").strip())
        except InvalidOperation as exc:
            raise DecisionError("得分应为数字") from exc
        if not 0 <= score <= row.weight:
            raise DecisionError(f"得分应在 0 到分值 {row.weight} 之间")
        row.override_score, row.override_reason, row.override_by = score, reason, user.username
        session.add(row)

    decide(change, f"指标 {indicator_code} 的得分已调整（计算值保留）")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/grade")
def evaluation_grade(run_id: int, code: str, indicator_code: str):
    user = authorize("run_evaluation")
    run = _run(run_id)
    row = _indicator_result(run, code, indicator_code)
    policy = ScoringPolicy.from_dict(run.policy)

    def change(session):
        band = request.form.get("band", "")
        if band not in Band.values():
            raise DecisionError("请选择评价档次")
        text = request.form.get("percent", "").strip().rstrip("%")
        try:
            percent = Decimal(text) if text else None
        except InvalidOperation as exc:
            raise DecisionError("得分比例应为数字") from exc
        low, high = policy.bands[band]
        if percent is not None and not low <= percent <= high:
            raise DecisionError(f"得分比例 {text}% 不在「{band}」档 {low}–{high}% 内")
        grade = session.exec(select(ReviewerGrade).where(ReviewerGrade.indicator_id == row.indicator_id)).first() \
            or ReviewerGrade(indicator_id=row.indicator_id, band=band, actor=user.username)
        grade.band, grade.percent, grade.note = band, percent, request.form.get("note", "").strip()
        grade.actor, grade.updated_at = user.username, clock.now()
        session.add(grade)

    decide(change, f"指标 {indicator_code} 已评定，下次计算生效")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/projects/<code>/indicators/<indicator_code>/note")
def evaluation_note(run_id: int, code: str, indicator_code: str):
    run = _run(run_id)
    project = _project_of_run(run, code)
    authorize("edit_report", project.division_id)
    row = _indicator_result(run, code, indicator_code)

    def change(session):
        _not_final(run)
        row.division_note = request.form.get("note", "").strip()[:2000]
        session.add(row)

    decide(change, f"已保存指标 {indicator_code} 的偏差原因分析及改进措施")
    return _back(run_id, code)


@web_bp.post("/self-evaluation/runs/<int:run_id>/lock")
def evaluation_lock(run_id: int):
    authorize("run_evaluation")
    run = _run(run_id)

    def change(session):
        try:
            return lock_year(session, run)
        except ValueError as exc:
            raise DecisionError(str(exc)) from exc

    decide(change, "自评结果已锁定归档：今后只能查看")
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
