"""Year-end self-evaluation over the database: inputs read set-based, scored by
`service.domain.scoring`, stored as an immutable run.

`evaluate` computes in-process (the CLI); `run_evaluation` does the same and stores the
snapshot: the policy, the version of every report it read, who and when, and every result.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlmodel import Session

from .clock import clock
from .decision_error import DecisionError
from .domain.actuals import Spend
from .domain.inputs import InputError, clean_text, read_decimal
from .domain.scoring import (
    BudgetScore,
    IndicatorInput,
    IndicatorScore,
    ProjectInput,
    ProjectScore,
    Review,
    ScoreFinding,
    ScoringPolicy,
    score_project,
)
from .domain.vocabulary import RunState
from .models import (
    EvaluationRun,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    ReviewerGrade,
    TargetRevision,
)
from .stored_targets import TARGET_COLUMNS, target_of_columns
from .submitted import SubmittedReports, latest_spend, latest_values, submitted_reports

BATCH = 2000


def _year(session: Session, year: int) -> FiscalYear:
    fiscal_year = session.execute(select(FiscalYear).where(FiscalYear.year == year)).scalar_one_or_none()
    if fiscal_year is None:
        raise DecisionError(f"没有 {year} 年度")
    return fiscal_year


def load_inputs(
    session: Session, project_ids: list[int], reports: SubmittedReports
) -> list[tuple[int, ProjectInput, dict]]:
    """(project id, ProjectInput, indicator id by code) for PROJECT_IDS, in a few queries."""
    projects = session.execute(
        select(Project.id, Project.code, Project.budget).where(Project.id.in_(project_ids)).order_by(Project.code)
    ).all()
    rows = session.execute(
        select(
            Indicator.id,
            Indicator.project_id,
            Indicator.code,
            Indicator.level1,
            Indicator.raw_value,
            Indicator.weight,
            *TARGET_COLUMNS,
        )
        .where(Indicator.project_id.in_(project_ids))
        .order_by(Indicator.row_order)
    ).all()
    ids = [r.id for r in rows]
    actuals = latest_values(session, reports, project_ids, ids)  # the latest quarter: Q4 is the annual actual
    spend = latest_spend(session, reports, project_ids)
    reviews = (
        {
            g.indicator_id: Review(g.band, g.percent, g.note)
            for g in session.execute(select(ReviewerGrade).where(ReviewerGrade.indicator_id.in_(ids))).scalars()
        }
        if ids
        else {}
    )
    by_project: dict[int, list] = {}
    indicator_ids: dict[int, dict[str, int]] = {}
    for r in rows:
        a = actuals.get(r.id)
        by_project.setdefault(r.project_id, []).append(
            IndicatorInput(
                r.code,
                r.level1,
                r.raw_value,
                target_of_columns(r[-len(TARGET_COLUMNS) :]),
                r.weight,
                actual=a.number if a else None,
                done=a.done if a else None,
                done_on=a.done_on if a else None,
                progress=a.progress if a else "",
                review=reviews.get(r.id),
            )
        )
        indicator_ids.setdefault(r.project_id, {})[r.code] = r.id
    result = []
    for project_id, code, budget in projects:
        reported = spend.get(project_id) or Spend()
        result.append(
            (
                project_id,
                ProjectInput(code, by_project.get(project_id, []), budget, reported.budget, reported.spent),
                indicator_ids.get(project_id, {}),
            )
        )
    return result


def configured_policy(configured: dict | None) -> ScoringPolicy:
    """The region's policy (PERFTRACK_SCORING_POLICY, validated at start), else the central defaults."""
    return ScoringPolicy.from_dict(configured) if configured else ScoringPolicy()


def evaluate(
    session: Session, year: int, project_code: str | None = None, policy: ScoringPolicy = ScoringPolicy()
) -> list[ProjectScore]:
    fiscal_year = _year(session, year)
    query = select(Project.id).where(Project.fiscal_year_id == fiscal_year.id)
    if project_code:
        query = query.where(Project.code == project_code)
    ids = list(session.execute(query).scalars())
    if project_code and not ids:
        raise DecisionError(f"{year} 年度没有项目 {project_code}")
    reports = submitted_reports(session, fiscal_year.id)
    return [
        score_project(p, policy)
        for start in range(0, len(ids), BATCH)
        for _id, p, _codes in load_inputs(session, ids[start : start + BATCH], reports)
    ]


MAX_NOTE = 2000
LOCKED_MESSAGE = "{year} 年度自评已锁定：只能查看，不能再计算、评定、调整或填写说明"


def year_locked(session: Session, fiscal_year_id: int) -> bool:
    """Whether finance has filed the year on one of its runs (then every run of it is read-only)."""
    return (
        session.execute(
            select(EvaluationRun.id).where(
                EvaluationRun.fiscal_year_id == fiscal_year_id, EvaluationRun.final.is_(True)
            )
        ).first()
        is not None
    )


def ensure_year_open(session: Session, fiscal_year_id: int) -> None:
    """Every write of the self-evaluation (a run, a grade, an override, a note) asks this first."""
    if year_locked(session, fiscal_year_id):
        raise DecisionError(LOCKED_MESSAGE.format(year=session.get(FiscalYear, fiscal_year_id).year))


def _text(value: str | None, label: str, limit: int = MAX_NOTE) -> str:
    try:
        return clean_text(value, limit)
    except InputError as exc:
        raise DecisionError(f"{label}：{exc.message}") from exc


def start_run(session: Session, year: int, actor: str, policy: ScoringPolicy = ScoringPolicy()) -> EvaluationRun:
    fiscal_year = _year(session, year)
    ensure_year_open(session, fiscal_year.id)
    run = EvaluationRun(fiscal_year_id=fiscal_year.id, policy=policy.to_dict(), actor=actor)
    session.add(run)
    session.flush()
    return run


def execute_run(session: Session, run: EvaluationRun, on_progress=None) -> EvaluationRun:
    """Score every project of the run's year and store the results (set-based writes, in batches)."""
    fiscal_year = session.get(FiscalYear, run.fiscal_year_id)
    ensure_year_open(session, fiscal_year.id)  # a run queued before the year was locked stores nothing
    policy = ScoringPolicy.from_dict(run.policy)
    reports = submitted_reports(session, fiscal_year.id)
    ids = list(
        session.execute(
            select(Project.id).where(Project.fiscal_year_id == fiscal_year.id).order_by(Project.id)
        ).scalars()
    )
    run.state, run.total, run.progress = RunState.RUNNING, len(ids), 0
    run.inputs = {  # the version of every input read: reports, target revisions, reviewer grades
        "reports": {str(rid): {"quarter": q, "version": reports.versions[rid]} for rid, q in reports.quarters.items()},
        "last_target_revision": session.execute(select(func.max(TargetRevision.id))).scalar(),
        "grades": {
            str(g.indicator_id): [g.band, None if g.percent is None else str(g.percent), g.updated_at.isoformat()]
            for g in session.execute(
                select(ReviewerGrade)
                .join(Indicator, Indicator.id == ReviewerGrade.indicator_id)
                .join(Project, Project.id == Indicator.project_id)
                .where(Project.fiscal_year_id == fiscal_year.id)
            ).scalars()
        },
    }
    for start in range(0, len(ids), BATCH):
        project_rows, indicator_rows = [], []
        for project_id, project_input, indicator_ids in load_inputs(session, ids[start : start + BATCH], reports):
            result = score_project(project_input, policy)
            data = result.to_dict()
            project_rows.append(
                {
                    "run_id": run.id,
                    "project_id": project_id,
                    "total": result.total,
                    "grade": result.grade,
                    "budget": data["budget"],
                    "findings": data["findings"],
                    "override_reason": "",
                }
            )
            indicator_rows += [
                {
                    "run_id": run.id,
                    "indicator_id": indicator_ids[s.code],
                    "project_id": project_id,
                    "weight": s.weight,
                    "actual": s.actual,
                    "score": s.score,
                    "basis": s.basis,
                    "override_reason": "",
                    "division_note": "",
                }
                for s in result.indicators
            ]
        if project_rows:
            session.execute(ProjectResult.__table__.insert(), project_rows)
        if indicator_rows:
            session.execute(IndicatorResult.__table__.insert(), indicator_rows)
        run.progress = min(len(ids), start + BATCH)
        session.add(run)
        session.flush()
        if on_progress is not None:
            on_progress(run)
    run.state, run.finished_at = RunState.DONE, clock.now()
    session.add(run)
    session.flush()
    return run


def effective_total(result: ProjectResult) -> Decimal:
    return result.override_total if result.override_total is not None else result.total


def lock_year(session: Session, run: EvaluationRun) -> EvaluationRun:
    """Finance files the year on RUN: from now on only viewing, never another run or an edit."""
    if run.state != RunState.DONE:
        raise DecisionError("只能锁定已完成的计算")
    ensure_year_open(session, run.fiscal_year_id)
    run.final = True
    session.add(run)
    session.flush()
    return run


def override_score(
    session: Session, run: EvaluationRun, result: IndicatorResult, score_text: str, reason: str, actor: str
) -> IndicatorResult:
    """Finance sets an indicator's score by hand, with a reason; the computed score is kept beside it."""
    ensure_year_open(session, run.fiscal_year_id)
    reason = _text(reason, "调整原因")
    if not reason:
        raise DecisionError("调整得分必须说明原因")
    try:
        score = read_decimal(score_text, places=2, minimum=None)
    except InputError as exc:
        raise DecisionError(f"得分：{exc.message}") from exc
    if not 0 <= score <= result.weight:
        raise DecisionError(f"得分应在 0 到分值 {result.weight} 之间")
    result.override_score, result.override_reason, result.override_by = score, reason, actor
    session.add(result)
    session.flush()
    return result


def set_division_note(session: Session, run: EvaluationRun, result: IndicatorResult, note: str) -> IndicatorResult:
    """The division's 偏差原因分析及改进措施 for an indicator of the run (printed in the 自评表)."""
    ensure_year_open(session, run.fiscal_year_id)
    result.division_note = _text(note, "偏差原因分析及改进措施")
    session.add(result)
    session.flush()
    return result


def results_of_run(
    session: Session, run: EvaluationRun, project_ids: list[int] | None = None
) -> dict[str, ProjectScore]:
    """The stored results as ProjectScores, with finance's overrides in force (each kept beside the computed
    score), for pages and exports of a run."""
    query = (
        select(ProjectResult, Project.code)
        .join(Project, Project.id == ProjectResult.project_id)
        .where(ProjectResult.run_id == run.id)
    )
    if project_ids is not None:
        query = query.where(ProjectResult.project_id.in_(project_ids))
    projects = session.execute(query).all()
    indicators: dict[int, list] = {}
    for row, code in session.execute(
        select(IndicatorResult, Indicator.code)
        .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
        .where(IndicatorResult.run_id == run.id, IndicatorResult.project_id.in_([p.project_id for p, _ in projects]))
        .order_by(IndicatorResult.id)
    ).all():
        indicators.setdefault(row.project_id, []).append((row, code))
    policy = ScoringPolicy.from_dict(run.policy)
    results = {}
    for project, code in projects:
        scores, delta = [], Decimal(0)
        for row, indicator_code in indicators.get(project.project_id, []):
            score = row.score
            basis = row.basis
            if row.override_score is not None:
                delta += row.override_score - row.score
                basis = f"{basis}；财务处调整为 {row.override_score}（{row.override_reason}，{row.override_by}）"
                score = row.override_score
            scores.append(IndicatorScore(indicator_code, row.weight, row.actual, score, basis))
        b = project.budget
        budget = BudgetScore(
            Decimal(str(b["budget"])),
            None if b["spent"] is None else Decimal(str(b["spent"])),
            None if b["rate"] is None else Decimal(str(b["rate"])).quantize(Decimal("0.01")),
            Decimal(str(b["weight"])),
            Decimal(str(b["score"])),
            b["basis"],
        )
        total = (
            project.override_total
            if project.override_total is not None
            else min(Decimal(100), max(Decimal(0), project.total + delta))
        )
        results[code] = ProjectScore(
            code, total, policy.grade(total), budget, scores, [ScoreFinding(**f) for f in project.findings]
        )
    return results


def division_notes(session: Session, run: EvaluationRun) -> dict[str, str]:
    """偏差原因分析及改进措施 the divisions wrote on this run, by indicator code."""
    return dict(
        session.execute(
            select(Indicator.code, IndicatorResult.division_note)
            .join(IndicatorResult, IndicatorResult.indicator_id == Indicator.id)
            .where(IndicatorResult.run_id == run.id, IndicatorResult.division_note != "")
        ).all()
    )


def record_failure(session: Session, run_id: int, exc: BaseException) -> None:
    """A run whose job failed shows it and why, instead of staying queued; its partial rows go."""
    run = session.get(EvaluationRun, run_id)
    if run is None:
        return
    discard_partial(session, run)
    run.state, run.finished_at = RunState.FAILED, clock.now()
    run.error = (
        str(exc)
        if isinstance(exc, DecisionError)
        else (f"计算出错（{type(exc).__name__}），已记录日志；可修正数据后重新开始计算")
    )
    session.add(run)


def discard_partial(session: Session, run: EvaluationRun) -> None:
    """A run whose job died midway starts again from nothing (its rows are replaced, never mixed)."""
    session.execute(delete(IndicatorResult).where(IndicatorResult.run_id == run.id))
    session.execute(delete(ProjectResult).where(ProjectResult.run_id == run.id))
