"""Reviews of the self-evaluation, kept per indicator and project (not per run) and carried into every run:
finance's grades and overrides (with reasons), divisions' 偏差原因分析及改进措施 and 年度总体目标实际完成情况,
finance's exclusion of a project from the final run.

Each decision is stored once and, when the year has a current run (the latest, not archived), takes effect in
it at once, so nobody waits for a re-run and no re-run loses a review.  A locked year takes none
(docs/domain.md §9.4).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from .clock import clock
from .decision_error import DecisionError
from .domain.inputs import InputError, read_decimal
from .domain.scoring import (
    BudgetScore,
    IndicatorScore,
    Review,
    ScoreFinding,
    ScoringPolicy,
    graded_score,
    project_total,
)
from .domain.vocabulary import ScoreFindingKind
from .evaluation import clean_note, current_run, ensure_year_open, exclusion_text, saved_id
from .models import (
    DivisionExplanation,
    EvaluationRun,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    ProjectReview,
    ScoreOverride,
)

# findings a grade settles on the current run
SETTLED_BY_GRADE = (
    ScoreFindingKind.AWAITING_REVIEW,
    ScoreFindingKind.NOT_DUE,
    ScoreFindingKind.PERCENT_OUTSIDE_BAND,
    ScoreFindingKind.MISSING_ACTUAL,
)


def open_year_run(session: Session, fiscal_year_id: int) -> EvaluationRun | None:
    """The current run of an unlocked year (None when there is none); refuses a locked year."""
    ensure_year_open(session, fiscal_year_id)
    return current_run(session, fiscal_year_id)


def _year_of_indicator(session: Session, indicator: Indicator) -> int:
    return session.execute(
        select(col(Project.fiscal_year_id)).where(col(Project.id) == indicator.project_id)
    ).scalar_one()


def apply_grade(session: Session, run: EvaluationRun, indicator: Indicator, review: Review) -> None:
    """Re-score one graded indicator in RUN, and its project's total."""
    row = _row(session, run, indicator)
    if row is None:
        return
    policy = ScoringPolicy.from_dict(run.policy)
    findings: list[ScoreFinding] = []
    row.score, row.basis = graded_score(indicator.code, row.weight, review, policy, findings)
    session.add(row)
    _refresh(session, run, row, indicator.code, drop=SETTLED_BY_GRADE, add=findings)


def _row(session: Session, run: EvaluationRun, indicator: Indicator) -> IndicatorResult | None:
    return session.execute(
        select(IndicatorResult).where(
            col(IndicatorResult.run_id) == run.id, col(IndicatorResult.indicator_id) == indicator.id
        )
    ).scalar_one_or_none()


def _refresh(session: Session, run: EvaluationRun, row: IndicatorResult, code: str, drop=(), add=()) -> None:
    """After a change to ROW: its override's re-confirm flag, the project's findings, total and grade."""
    project = session.execute(
        select(ProjectResult).where(
            col(ProjectResult.run_id) == run.id, col(ProjectResult.project_id) == row.project_id
        )
    ).scalar_one()
    kept = session.execute(
        select(ScoreOverride).where(col(ScoreOverride.indicator_id) == row.indicator_id)
    ).scalar_one_or_none()
    row.override_stale = bool(kept is not None and row.override_score is not None and kept.computed_score != row.score)
    findings = [
        f
        for f in project.findings
        if not (f["subject"] == code and (f["code"] in drop or f["code"] == ScoreFindingKind.OVERRIDE_RECONFIRM))
    ]
    findings += [{"code": f.code, "subject": f.subject, "message": f.message} for f in add]
    if kept is not None and row.override_stale:
        findings.append(
            {
                "code": ScoreFindingKind.OVERRIDE_RECONFIRM.value,
                "subject": code,
                "message": (
                    f"财务处将 {code} 的得分调整为 {kept.score}（{kept.reason}）时，计算得分为 {kept.computed_score}；"
                    f"现在计算得分为 {row.score}，请重新确认该调整"
                ),
            }
        )
    project.findings = findings
    policy = ScoringPolicy.from_dict(run.policy)
    rows = (
        session.execute(
            select(IndicatorResult).where(
                col(IndicatorResult.run_id) == run.id, col(IndicatorResult.project_id) == row.project_id
            )
        )
        .scalars()
        .all()
    )
    b = project.budget
    budget = BudgetScore(
        Decimal(str(b["budget"])),
        None,
        None if b["rate"] is None else Decimal(str(b["rate"])),
        Decimal(str(b["weight"])),
        Decimal(str(b["score"])),
        b["basis"],
    )
    project.total, project.grade = project_total(
        "", [IndicatorScore("", r.weight, r.actual, r.score, "") for r in rows], budget, policy, []
    )
    session.add_all([row, project])


def _indicator_row(session: Session, indicator: Indicator) -> tuple[EvaluationRun, IndicatorResult] | None:
    """The current run and the indicator's row in it (None when the year has no current run or the run has no
    such row); refuses a locked year."""
    run = open_year_run(session, _year_of_indicator(session, indicator))
    row = _row(session, run, indicator) if run is not None else None
    return (run, row) if run is not None and row is not None else None


def override(session: Session, indicator: Indicator, score_text: str, reason: str, actor: str) -> IndicatorResult:
    """Finance replaces an indicator's score (with a reason); the computed score is kept beside it, and the
    override is carried into later runs, flagged if their computed score differs."""
    found = _indicator_row(session, indicator)
    if found is None:
        raise DecisionError("调整得分需在一次计算的结果上进行：请先开始计算")
    run, row = found
    reason = clean_note(reason, "调整原因")
    if not reason:
        raise DecisionError("调整得分必须说明原因")
    try:
        score = read_decimal(score_text, places=2, minimum=None)
    except InputError as exc:
        raise DecisionError(f"得分：{exc.message}") from exc
    if not 0 <= score <= row.weight:
        raise DecisionError(f"得分应在 0 到分值 {row.weight} 之间")
    kept = session.execute(
        select(ScoreOverride).where(col(ScoreOverride.indicator_id) == indicator.id)
    ).scalar_one_or_none() or ScoreOverride(
        indicator_id=saved_id(indicator.id), score=score, computed_score=row.score, reason=reason, actor=actor
    )
    kept.score, kept.computed_score, kept.reason, kept.actor, kept.updated_at = (
        score,
        row.score,
        reason,
        actor,
        clock.now(),
    )
    session.add(kept)
    session.flush()
    row.override_score, row.override_reason, row.override_by = score, reason, actor
    _refresh(session, run, row, indicator.code)
    session.flush()
    return row


def reconfirm(session: Session, indicator: Indicator, actor: str) -> IndicatorResult:
    """Finance confirms a carried override still holds against the new computed score."""
    found = _indicator_row(session, indicator)
    kept = session.execute(
        select(ScoreOverride).where(col(ScoreOverride.indicator_id) == indicator.id)
    ).scalar_one_or_none()
    if found is None or kept is None or found[1].override_score is None:
        raise DecisionError(f"指标 {indicator.code} 没有待确认的调整")
    run, row = found
    kept.computed_score, kept.actor, kept.updated_at = row.score, actor, clock.now()
    session.add(kept)
    session.flush()
    _refresh(session, run, row, indicator.code)
    session.flush()
    return row


def withdraw_override(session: Session, indicator: Indicator, actor: str) -> None:
    """Finance withdraws its override: the computed score counts again, in this and later runs."""
    found = _indicator_row(session, indicator)
    kept = session.execute(
        select(ScoreOverride).where(col(ScoreOverride.indicator_id) == indicator.id)
    ).scalar_one_or_none()
    if kept is None:
        raise DecisionError(f"指标 {indicator.code} 没有调整过的得分")
    session.delete(kept)
    session.flush()
    if found is not None:
        run, row = found
        row.override_score, row.override_reason, row.override_by = None, "", None
        _refresh(session, run, row, indicator.code)
    session.flush()


def explain(session: Session, indicator: Indicator, text: str, actor: str) -> None:
    """A division's 偏差原因分析及改进措施 for an indicator (empty: withdrawn)."""
    found = _indicator_row(session, indicator)
    text = clean_note(text, "偏差原因分析及改进措施")
    kept = session.execute(
        select(DivisionExplanation).where(col(DivisionExplanation.indicator_id) == indicator.id)
    ).scalar_one_or_none()
    if not text:
        if kept is not None:
            session.delete(kept)
    else:
        kept = kept or DivisionExplanation(indicator_id=saved_id(indicator.id), text=text, actor=actor)
        kept.text, kept.actor, kept.updated_at = text, actor, clock.now()
        session.add(kept)
    if found is not None:
        found[1].division_note = text
        session.add(found[1])
    session.flush()


def _project_review(session: Session, project: Project) -> ProjectReview:
    return session.execute(
        select(ProjectReview).where(col(ProjectReview.project_id) == project.id)
    ).scalar_one_or_none() or ProjectReview(project_id=saved_id(project.id))


def _project_row(session: Session, run: EvaluationRun | None, project: Project) -> ProjectResult | None:
    if run is None:
        return None
    return session.execute(
        select(ProjectResult).where(col(ProjectResult.run_id) == run.id, col(ProjectResult.project_id) == project.id)
    ).scalar_one_or_none()


def write_outcome(session: Session, project: Project, text: str, actor: str) -> None:
    """The division's 年度总体目标实际完成情况 (required for the final run)."""
    run = open_year_run(session, project.fiscal_year_id)
    text = clean_note(text, "实际完成情况")
    review = _project_review(session, project)
    review.outcome, review.outcome_by, review.outcome_at = text, actor, clock.now()
    session.add(review)
    row = _project_row(session, run, project)
    if row is not None:
        row.outcome = text
        session.add(row)
    session.flush()


def exclude(session: Session, project: Project, reason: str, actor: str, excluded: bool = True) -> None:
    """Finance leaves a project out of the final run (with a reason, printed on its sheet), or takes it back."""
    run = open_year_run(session, project.fiscal_year_id)
    reason = clean_note(reason, "不纳入的原因")
    if excluded and not reason:
        raise DecisionError("不纳入正式计算必须说明原因")
    review = _project_review(session, project)
    review.excluded = excluded
    review.exclusion_reason = reason if excluded else ""
    review.excluded_by, review.excluded_at = (actor, clock.now()) if excluded else (None, None)
    session.add(review)
    session.flush()
    row = _project_row(session, run, project)
    if row is not None:
        row.excluded_reason = exclusion_text(review)
        session.add(row)
    session.flush()


OUTCOME_HEADER = ["项目编号", "实际完成情况"]


def import_outcomes(session: Session, file_name: str, data: bytes, user, year: int | None = None) -> int:
    """年度总体目标实际完成情况 in bulk (`项目编号,实际完成情况`, CSV or xlsx), each by its own division: all or
    nothing, every problem named by row and column.  YEAR: the budget year; without it, a code must exist in
    one year only (a continuing project keeps its code)."""
    from .domain.permissions import can
    from .grades import read_rows
    from .importers.source import ImportProblem
    from .importing import ImportRejected

    rows = read_rows(file_name, data)
    if not rows or rows[0][1][:2] != OUTCOME_HEADER:
        raise ImportRejected([ImportProblem("第 1 行", "表头", f"应为「{','.join(OUTCOME_HEADER)}」")])
    codes = {cells[0] for _, cells in rows[1:] if cells}
    query = (
        select(Project, col(FiscalYear.year))
        .join(FiscalYear, col(FiscalYear.id) == col(Project.fiscal_year_id))
        .where(col(Project.code).in_(codes))
    )
    if year is not None:
        query = query.where(col(FiscalYear.year) == year)
    found: dict[str, list[tuple[Project, int]]] = {}
    for project, project_year in session.execute(query).all():
        found.setdefault(project.code, []).append((project, project_year))
    problems, parsed = [], []
    for location, cells in rows[1:]:
        code, text = (cells + ["", ""])[:2]
        if not code and not text:
            continue
        same_code = found.get(code, [])
        project = same_code[0][0] if len(same_code) == 1 else None
        if not same_code:
            problems.append(
                ImportProblem(location, "项目编号", f"项目编号「{code}」不存在" + (f"于 {year} 年度" if year else ""))
            )
        elif project is None:
            years = "、".join(str(y) for _, y in sorted(same_code, key=lambda f: f[1]))
            problems.append(ImportProblem(location, "项目编号", f"项目编号「{code}」在 {years} 年度都有：请指定年度"))
        elif not can(user, "edit_report", project.division_id):
            problems.append(ImportProblem(location, "项目编号", f"{code} 不属于 {user.username} 的处室，不能填写"))
        elif not text.strip():
            problems.append(ImportProblem(location, "实际完成情况", "不能为空"))
        else:
            parsed.append((project, text))
    if problems:
        raise ImportRejected(problems)
    try:
        for project, text in parsed:
            write_outcome(session, project, text, user.username)
    except DecisionError as exc:
        raise ImportRejected([ImportProblem("文件", "年度", str(exc))]) from exc
    return len(parsed)
