"""Year-end self-evaluation over the database: inputs read set-based, scored by
`service.domain.scoring`, stored as an immutable run.

A run is a trial (试算: any time, accepted or submitted reports, deadlines after the as-of date not yet due)
or final (正式计算: after the year, accepted reports only, refused while anything is missing; see
`service.closing`; docs/domain.md §9.1, §9.2).  Each project's values come from one report, recorded with
its period, version and state; a later report that could not feed the run becomes a finding.  Reviews kept
per indicator and project (grades, overrides, division explanations, 实际完成情况, exclusions) are carried
into every run.

`evaluate` computes in-process without storing; `run_evaluation`'s parts (`start_run`, `execute_run`) store
the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import defer
from sqlmodel import Session, col

from .clock import clock
from .db import insert_many
from .decision_error import DecisionError
from .domain.actuals import join_explanation
from .domain.closing import FEEDS, FINAL, TRIAL, ReportRef, choose_source, no_source, not_counted, provenance, through
from .domain.inputs import InputError, clean_text
from .domain.scoring import (
    BudgetScore,
    IndicatorInput,
    IndicatorScore,
    ProjectInput,
    ProjectScore,
    Review,
    ScoreFinding,
    ScoringPolicy,
    project_total,
    score_project,
)
from .domain.vocabulary import FindingState, RunState, ScoreFindingKind, Severity
from .memory import without_cycle_collection
from .models import (
    ActualEntry,
    Division,
    DivisionExplanation,
    EvaluationRun,
    FindingRow,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    ProjectReview,
    Report,
    ReviewerGrade,
    ScoreOverride,
    SpendEntry,
    TargetRevision,
)
from .partitions import ProjectSpan, spans
from .stored_targets import TARGET_COLUMNS, target_of_columns

BATCH = 2000


class RunRefused(DecisionError):
    """A final run cannot start: `blockers` says what is missing, by division and project."""

    def __init__(self, message: str, blockers: list | None = None):
        super().__init__(message)
        self.blockers = blockers or []


def saved_id(value: int | None) -> int:
    """The id of a row read from or flushed to the database (which always has one)."""
    if value is None:
        raise ValueError("the row has no id yet: add and flush it first")
    return value


def year_of(session: Session, year: int) -> FiscalYear:
    fiscal_year = session.execute(select(FiscalYear).where(FiscalYear.year == year)).scalar_one_or_none()
    if fiscal_year is None:
        raise DecisionError(f"没有 {year} 年度")
    return fiscal_year


@dataclass
class Sources:
    """Which report feeds each division's projects in a run of one kind, and the later ones left out."""

    kind: str
    chosen: dict[int, ReportRef | None]  # division id -> report
    skipped: dict[int, list[ReportRef]]
    eligible: dict[int, list[int]]  # division id -> ids of reports that may feed (for budget adjustments)
    names: dict[int, str]


def report_sources(session: Session, fiscal_year: FiscalYear, kind: str) -> Sources:
    rows = session.execute(
        select(Report.id, Report.division_id, Report.quarter, Report.state, Report.version, Division.name)
        .join(Division, Division.id == Report.division_id)
        .where(Report.fiscal_year_id == fiscal_year.id)
    ).all()
    by_division: dict[int, list[ReportRef]] = {}
    names = {}
    for rid, division_id, quarter, state, version, name in rows:
        by_division.setdefault(division_id, []).append(ReportRef(name, fiscal_year.year, quarter, state, version, rid))
        names[division_id] = name
    sources = Sources(kind, {}, {}, {}, names)
    for division_id, refs in by_division.items():
        chosen, skipped = choose_source(refs, kind)
        sources.chosen[division_id], sources.skipped[division_id] = chosen, skipped
        sources.eligible[division_id] = [
            r.id for r in refs if chosen is not None and r.quarter <= chosen.quarter and r.state in FEEDS[kind]
        ]
    return sources


@dataclass
class ProjectSheet:
    """Everything a project's 自评表 shows for one run (or one in-process computation)."""

    project_id: int
    result: ProjectScore  # finance's overrides in force (each beside the computed score in `computed`)
    indicator_ids: dict[str, int] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # indicator code -> 指标值 as scored
    notes: dict[str, str] = field(default_factory=dict)  # indicator code -> 偏差原因分析及改进措施
    computed: dict[str, Decimal] = field(default_factory=dict)  # indicator code -> computed score, when overridden
    overrides: dict[str, dict] = field(default_factory=dict)  # code -> score, reason, by, stale
    outcome: str = ""  # 年度总体目标实际完成情况
    excluded: str = ""  # why the project is not part of the final run ("" when it is)
    source: dict = field(default_factory=dict)  # report (division, period, version, state), revision, text

    def to_dict(self) -> dict:
        data = self.result.to_dict()
        data["source"] = self.source
        data["outcome"] = self.outcome
        data["excluded"] = self.excluded
        return data


@dataclass
class Kept:
    """Everything kept per indicator and project of a year, read once per run (docs/domain.md §9.4)."""

    grades: dict[int, Review]
    flags: dict[int, tuple[str, ...]]  # open warning/error finding codes of each indicator's target
    overrides: dict[int, object]  # rows: indicator_id, score, computed_score, reason, actor
    explanations: dict[int, str]
    reviews: dict[int, object]  # rows of project_review by project
    revisions: dict[int, dict]  # per project: how many target revisions, the latest (id and date)


def kept_reviews(session: Session, fiscal_year: FiscalYear, span: ProjectSpan) -> Kept:
    """The reviews, target doubts and revisions of a SPAN of the year's projects (a batch of a large year is read
    with its own, so no step holds the whole year's) in a few set-based queries (columns, not ORM objects)."""
    of_projects = span.projects()
    of_year = span.indicator_ids()
    grades = {
        g.indicator_id: Review(g.band, g.percent, g.note)
        for g in session.execute(
            select(ReviewerGrade.indicator_id, ReviewerGrade.band, ReviewerGrade.percent, ReviewerGrade.note).where(
                ReviewerGrade.indicator_id.in_(of_year)
            )
        ).all()
    }
    flags: dict[int, list[str]] = {}
    for indicator_id, code in session.execute(
        select(FindingRow.indicator_id, FindingRow.code).where(
            FindingRow.indicator_id.in_(of_year),
            FindingRow.state == FindingState.OPEN,
            FindingRow.severity.in_((Severity.WARNING, Severity.ERROR)),
        )
    ).all():
        flags.setdefault(indicator_id, []).append(code)
    overrides = {
        o.indicator_id: o
        for o in session.execute(
            select(
                ScoreOverride.indicator_id,
                ScoreOverride.score,
                ScoreOverride.computed_score,
                ScoreOverride.reason,
                ScoreOverride.actor,
            ).where(ScoreOverride.indicator_id.in_(of_year))
        ).all()
    }
    explanations: dict[int, str] = dict(
        session.execute(
            select(DivisionExplanation.indicator_id, DivisionExplanation.text).where(
                DivisionExplanation.indicator_id.in_(of_year)
            )
        ).all()
    )
    reviews = {
        r.project_id: r
        for r in session.execute(
            select(
                ProjectReview.project_id,
                ProjectReview.outcome,
                ProjectReview.excluded,
                ProjectReview.exclusion_reason,
                ProjectReview.excluded_by,
                ProjectReview.excluded_at,
            )
            .join(Project, Project.id == ProjectReview.project_id)
            .where(of_projects)
        ).all()
    }
    revisions = {}
    counted = session.execute(
        select(Indicator.project_id, func.count(TargetRevision.id), func.max(TargetRevision.id))
        .join(TargetRevision, TargetRevision.indicator_id == Indicator.id)
        .where(span.holds(Indicator.project_id))
        .group_by(Indicator.project_id)
    ).all()
    if counted:
        dates: dict[int, datetime] = dict(
            session.execute(
                select(TargetRevision.id, TargetRevision.created_at).where(
                    TargetRevision.id.in_([r[2] for r in counted])
                )
            ).all()
        )
        revisions = {
            pid: {"count": count, "id": last, "date": dates[last].astimezone(clock.zone).date().isoformat()}
            for pid, count, last in counted
        }
    return Kept(grades, {k: tuple(v) for k, v in flags.items()}, overrides, explanations, reviews, revisions)


def exclusion_text(review) -> str:
    """The line printed on an excluded project's sheet (REVIEW: a project_review row or object)."""
    if review is None or not review.excluded:
        return ""
    when = review.excluded_at.astimezone(clock.zone).date().isoformat() if review.excluded_at else ""
    return f"经财务处决定，本项目不纳入本年度正式自评。原因：{review.exclusion_reason}（{review.excluded_by}，{when}）"


def load_sheets(
    session: Session,
    fiscal_year: FiscalYear,
    span: ProjectSpan,
    sources: Sources,
    policy: ScoringPolicy,
    as_of: date | None,
    kept: Kept,
) -> list[tuple[ProjectSheet, ProjectInput]]:
    """Score the SPAN's projects from their source reports with the kept grades, explanations and outcomes, in a few
    queries.  Kept overrides are listed in each sheet, not yet applied (`apply_overrides`)."""
    projects = session.execute(
        select(Project.id, Project.code, Project.budget, Project.division_id)
        .where(span.projects())
        .order_by(Project.code)
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
        .where(span.holds(Indicator.project_id))
        .order_by(Indicator.row_order)
    ).all()
    chosen = {d: ref.id for d, ref in sources.chosen.items() if ref is not None}
    actuals = (
        {
            e.indicator_id: e
            for e in session.execute(
                select(
                    ActualEntry.indicator_id,
                    ActualEntry.number,
                    ActualEntry.done,
                    ActualEntry.done_on,
                    ActualEntry.progress,
                    ActualEntry.likelihood,
                    ActualEntry.cause_text,
                    ActualEntry.measure_text,
                )
                .join(Indicator, Indicator.id == ActualEntry.indicator_id)
                .where(
                    span.holds(Indicator.project_id),
                    ActualEntry.is_current.is_(True),
                    ActualEntry.report_id.in_(list(chosen.values())),
                )
            ).all()
        }
        if chosen
        else {}
    )
    eligible = {rid for rids in sources.eligible.values() for rid in rids}
    quarter_of: dict[int, int] = (
        dict(session.execute(select(Report.id, Report.quarter).where(col(Report.id).in_(eligible))).all())
        if eligible
        else {}
    )
    spend: dict[int, list] = {}
    if eligible:
        for entry in session.execute(
            select(SpendEntry.project_id, SpendEntry.report_id, SpendEntry.spent, SpendEntry.budget).where(
                span.holds(SpendEntry.project_id),
                SpendEntry.is_current.is_(True),
                SpendEntry.report_id.in_(eligible),
            )
        ).all():
            spend.setdefault(entry.project_id, []).append(entry)
    grades, flags, overrides, explanations = kept.grades, kept.flags, kept.overrides, kept.explanations
    reviews, revisions = kept.reviews, kept.revisions

    by_project: dict[int, list] = {}
    for r in rows:
        by_project.setdefault(r.project_id, []).append(r)
    result = []
    for project_id, code, budget, division_id in projects:
        source = sources.chosen.get(division_id)
        inputs = []
        for r in by_project.get(project_id, []):
            a = actuals.get(r.id)
            inputs.append(
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
                    review=grades.get(r.id),
                    flags=flags.get(r.id, ()),
                    likelihood=a.likelihood if a else "",
                )
            )
        entries = sorted(spend.get(project_id, []), key=lambda e: quarter_of[e.report_id])
        spent = next((e.spent for e in entries if source is not None and e.report_id == source.id), None)
        adjusted = next((e.budget for e in reversed(entries) if e.budget is not None), None)
        project_input = ProjectInput(code, inputs, budget, adjusted, spent, as_of=as_of, through=through(source))
        score = score_project(project_input, policy)
        score.findings[:0] = [
            ScoreFinding(ScoreFindingKind.REPORT_NOT_COUNTED, code, not_counted(skipped, sources.kind))
            for skipped in sources.skipped.get(division_id, [])
        ]  # latest quarter first
        if source is None:
            score.findings.insert(
                0,
                ScoreFinding(
                    ScoreFindingKind.NO_REPORT,
                    code,
                    no_source(sources.names.get(division_id) or "本处室", fiscal_year.year, sources.kind),
                ),
            )
        sheet = ProjectSheet(
            project_id,
            score,
            {r.code: r.id for r in by_project.get(project_id, [])},
            {r.code: r.raw_value for r in by_project.get(project_id, [])},
        )
        for r, scored in zip(by_project.get(project_id, []), score.indicators, strict=True):
            note = explanations.get(r.id)
            if not note and scored.score < scored.weight and r.id in actuals:  # the report's cause and measure
                note = join_explanation(actuals[r.id].cause_text, actuals[r.id].measure_text)
            if note:
                sheet.notes[r.code] = note
            override = overrides.get(r.id)
            if override is not None:
                sheet.overrides[r.code] = {
                    "score": override.score,
                    "reason": override.reason,
                    "by": override.actor,
                    "stale": override.computed_score != scored.score,
                }
                if override.computed_score != scored.score:
                    score.findings.append(
                        ScoreFinding(
                            ScoreFindingKind.OVERRIDE_RECONFIRM,
                            r.code,
                            (
                                f"财务处将 {r.code} 的得分调整为 {override.score}（{override.reason}）时，"
                                f"计算得分为 {override.computed_score}；"
                                f"本次计算得分为 {scored.score}，请重新确认该调整"
                            ),
                        )
                    )
        review = reviews.get(project_id)
        sheet.outcome = review.outcome if review else ""
        sheet.excluded = exclusion_text(review)
        revision = revisions.get(project_id)
        sheet.source = {
            "report": source.to_dict() if source else None,
            "revision": revision,
            "text": provenance(source, revision),
        }
        result.append((sheet, project_input))
    return result


def apply_overrides(sheet: ProjectSheet, policy: ScoringPolicy) -> None:
    """Finance's scores replace the computed ones in the result (the computed ones kept in `computed`)."""
    result = sheet.result
    if not sheet.overrides:
        return
    scores = []
    for score in result.indicators:
        kept = sheet.overrides.get(score.code)
        if kept is None:
            scores.append(score)
            continue
        sheet.computed[score.code] = score.score
        scores.append(
            IndicatorScore(
                score.code,
                score.weight,
                score.actual,
                Decimal(kept["score"]),
                f"{score.basis}；财务处调整为 {Decimal(kept['score']):.2f}（{kept['reason']}，{kept['by']}）"
                + ("；待重新确认" if kept.get("stale") else ""),
            )
        )
    result.indicators = scores
    result.total, result.grade = project_total(result.project, scores, result.budget, policy, [])


def configured_policy(configured: dict | None) -> ScoringPolicy:
    """The region's policy (PERFTRACK_SCORING_POLICY, validated at start), else the central defaults."""
    return ScoringPolicy.from_dict(configured) if configured else ScoringPolicy()


def _project_ids(session: Session, fiscal_year: FiscalYear, project_code: str | None = None) -> list[int]:
    query = select(Project.id).where(Project.fiscal_year_id == fiscal_year.id).order_by(Project.id)
    if project_code:
        query = query.where(Project.code == project_code)
    ids = list(session.execute(query).scalars())
    if project_code and not ids:
        raise DecisionError(f"{fiscal_year.year} 年度没有项目 {project_code}")
    return ids


def trial_as_of(year: int, today: date | None = None) -> date:
    """A trial's as-of date: today, or the year's last day once the year is over."""
    today = today or clock.today()
    return min(today, date(year, 12, 31))


def evaluate(
    session: Session,
    year: int,
    project_code: str | None = None,
    policy: ScoringPolicy = ScoringPolicy(),
    kind: str = TRIAL,
) -> list[ProjectSheet]:
    """Scores computed in-process from the current data, nothing stored (a trial unless KIND says final)."""
    fiscal_year = year_of(session, year)
    ids = _project_ids(session, fiscal_year, project_code)
    sources = report_sources(session, fiscal_year, kind)
    as_of = trial_as_of(year) if kind == TRIAL else None
    sheets = []
    for span in spans(saved_id(fiscal_year.id), ids, BATCH):
        kept = kept_reviews(session, fiscal_year, span)
        sheets += [sheet for sheet, _input in load_sheets(session, fiscal_year, span, sources, policy, as_of, kept)]
    for sheet in sheets:
        apply_overrides(sheet, policy)
    return sheets


MAX_NOTE = 2000
LOCKED_MESSAGE = (
    "{year} 年度自评已锁定归档：只能查看，不能再计算、评定、调整或填写说明；"
    "如需修改，请财务处或系统管理员解锁（须说明原因）"
)


def year_locked(session: Session, fiscal_year_id: int | None) -> bool:
    """Whether the year is filed on one of its runs (then every run of it is read-only)."""
    return locked_run(session, fiscal_year_id) is not None


def ensure_year_open(session: Session, fiscal_year_id: int | None) -> None:
    """Every write of the self-evaluation (a run, a grade, an override, a note, an outcome) asks this first."""
    if year_locked(session, fiscal_year_id):
        raise DecisionError(LOCKED_MESSAGE.format(year=session.get(FiscalYear, fiscal_year_id).year))


def clean_note(value: str | None, label: str, limit: int = MAX_NOTE) -> str:
    """Text people write on the self-evaluation, normalised and bounded (the field named when refused)."""
    try:
        return clean_text(value, limit)
    except InputError as exc:
        raise DecisionError(f"{label}：{exc.message}") from exc


def locked_run(session: Session, fiscal_year_id: int | None) -> EvaluationRun | None:
    return session.execute(
        select(EvaluationRun).where(EvaluationRun.fiscal_year_id == fiscal_year_id, EvaluationRun.locked.is_(True))
    ).scalar_one_or_none()


def start_run(
    session: Session, year: int, actor: str, policy: ScoringPolicy = ScoringPolicy(), kind: str = TRIAL
) -> EvaluationRun:
    """A queued run; a final run is refused (RunRefused, with every reason) until the year can be closed."""
    from .closing import final_run_blockers_of  # the preconditions read the same inputs as a run

    fiscal_year = year_of(session, year)
    if kind not in (TRIAL, FINAL):
        raise DecisionError(f"未知的计算类型「{kind}」")
    ensure_year_open(session, fiscal_year.id)
    if kind == FINAL:
        blockers = final_run_blockers_of(session, fiscal_year, policy)
        if blockers:
            raise RunRefused(f"{year} 年度尚不能进行正式计算（{len(blockers)} 项未完成）", blockers)
    run = EvaluationRun(
        fiscal_year_id=fiscal_year.id,
        kind=kind,
        policy=policy.to_dict(),
        actor=actor,
        as_of=trial_as_of(year) if kind == TRIAL else clock.today(),
    )
    session.add(run)
    session.flush()
    return run


def execute_run(session: Session, run: EvaluationRun, on_progress=None, recheck: bool = True) -> EvaluationRun:
    """Score every project of the run's year and store the results (set-based writes, in batches).  A final
    run's preconditions are checked again (RECHECK), unless it runs in the transaction that just started it."""
    return score_run(session, run, prepare_run(session, run, recheck), on_progress)


def score_run(session: Session, run: EvaluationRun, ids: list[int], on_progress=None) -> EvaluationRun:
    """The prepared run's projects IDS scored in one process, batch by batch, and the run done."""
    scoring = RunScoring.of(session, run)
    for done, span in enumerate(spans(run.fiscal_year_id, ids, BATCH), start=1):
        score_projects(session, scoring, span)
        run.progress = min(len(ids), done * BATCH)
        session.add(run)
        session.flush()
        if on_progress is not None:
            on_progress(run)
    return finish_run(session, run)


def prepare_run(session: Session, run: EvaluationRun, recheck: bool = True) -> list[int]:
    """The run set running over its year's projects (their ids, in order), with the version of every input
    it reads recorded; a final run's preconditions checked again (RECHECK)."""
    from .closing import final_run_blockers_of

    fiscal_year = session.get(FiscalYear, run.fiscal_year_id)
    ensure_year_open(session, fiscal_year.id)  # a run queued before the year was locked stores nothing
    policy = ScoringPolicy.from_dict(run.policy)
    if run.kind == FINAL and recheck:  # something may have changed since the run was asked for (a job runs later)
        blockers = final_run_blockers_of(session, fiscal_year, policy)
        if blockers:
            raise RunRefused(
                f"开始计算时发现 {len(blockers)} 项未完成，正式计算未进行："
                + "；".join(b.message for b in blockers[:5]),
                blockers,
            )
    sources = report_sources(session, fiscal_year, run.kind)
    ids = _project_ids(session, fiscal_year)
    run.state, run.total, run.progress = RunState.RUNNING, len(ids), 0
    run.inputs = {  # the version of every input read: reports, target revisions, reviewer grades
        "reports": {
            str(ref.id): {"division": ref.division, "period": ref.period, "version": ref.version, "state": ref.state}
            for ref in sources.chosen.values()
            if ref is not None
        },
        "not_counted": [
            {"division": ref.division, "period": ref.period, "version": ref.version, "state": ref.state}
            for refs in sources.skipped.values()
            for ref in refs
        ],
        "last_target_revision": session.execute(select(func.max(TargetRevision.id))).scalar(),
        "grades": {
            str(g.indicator_id): [g.band, None if g.percent is None else str(g.percent), g.updated_at.isoformat()]
            for g in session.execute(
                select(ReviewerGrade.indicator_id, ReviewerGrade.band, ReviewerGrade.percent, ReviewerGrade.updated_at)
                .join(Indicator, Indicator.id == ReviewerGrade.indicator_id)
                .join(Project, Project.id == Indicator.project_id)
                .where(Project.fiscal_year_id == fiscal_year.id)
            ).all()
        },
    }
    session.add(run)
    session.flush()
    return ids


@dataclass
class RunScoring:
    """What scoring any part of a run reads once: its year, policy, source reports and as-of date."""

    run_id: int
    fiscal_year: FiscalYear
    policy: ScoringPolicy
    sources: Sources
    as_of: date | None

    @classmethod
    def of(cls, session: Session, run: EvaluationRun) -> RunScoring:
        fiscal_year = session.get(FiscalYear, run.fiscal_year_id)
        return cls(
            saved_id(run.id),
            fiscal_year,
            ScoringPolicy.from_dict(run.policy),
            report_sources(session, fiscal_year, run.kind),
            run.as_of if run.kind == TRIAL else None,
        )


@without_cycle_collection  # a batch's sheets are thousands of objects each, freed by reference counting
def score_projects(session: Session, scoring: RunScoring, span: ProjectSpan) -> int:
    """Score the SPAN's projects (a batch) and store their results in the run; returns how many projects."""
    kept = kept_reviews(session, scoring.fiscal_year, span)
    project_rows, indicator_rows = [], []
    for sheet, _input in load_sheets(
        session, scoring.fiscal_year, span, scoring.sources, scoring.policy, scoring.as_of, kept
    ):
        result = sheet.result
        project_rows.append(
            {
                "run_id": scoring.run_id,
                "project_id": sheet.project_id,
                "total": result.total,
                "grade": result.grade,
                "budget": result.budget_dict(),
                "levels": {k: str(v) for k, v in result.level_weights.items()},
                "findings": [{"code": f.code, "subject": f.subject, "message": f.message} for f in result.findings],
                "source": sheet.source,
                "outcome": sheet.outcome,
                "excluded_reason": sheet.excluded,
                "override_reason": "",
            }
        )
        for s in result.indicators:
            override = sheet.overrides.get(s.code)
            indicator_rows.append(
                {
                    "run_id": scoring.run_id,
                    "indicator_id": sheet.indicator_ids[s.code],
                    "project_id": sheet.project_id,
                    "target": sheet.targets[s.code],
                    "weight": s.weight,
                    "actual": s.actual,
                    "score": s.score,
                    "basis": s.basis,
                    "override_score": override["score"] if override else None,
                    "override_reason": override["reason"] if override else "",
                    "override_by": override["by"] if override else None,
                    "override_stale": bool(override and override["stale"]),
                    "division_note": sheet.notes.get(s.code, ""),
                }
            )
    insert_many(session, ProjectResult.__table__, project_rows, shared=("run_id",))
    insert_many(session, IndicatorResult.__table__, indicator_rows, shared=("run_id",))
    return len(project_rows)


def run_of_part(session: Session, run_id: int) -> EvaluationRun | None:
    """The run as a part (or the part finishing it) reads it: without its record of inputs, every grade of the
    year's indicators, megabytes at a province's size that a part never reads."""
    return session.get(EvaluationRun, run_id, options=[defer(EvaluationRun.inputs)])


def score_part(session: Session, run: EvaluationRun, first_id: int, last_id: int) -> int:
    """One part of a run split over workers: the year's projects with ids FIRST_ID..LAST_ID scored and stored,
    replacing whatever an earlier attempt of this part left; the run's progress counts the projects stored.
    Returns how many projects (0 when the run is no longer running)."""
    if run.state != RunState.RUNNING:
        return 0
    ensure_year_open(session, run.fiscal_year_id)
    for table in (IndicatorResult, ProjectResult):
        session.execute(delete(table).where(table.run_id == run.id, col(table.project_id).between(first_id, last_id)))
    part = ProjectSpan(run.fiscal_year_id, first_id, last_id)
    ids = list(session.execute(part.project_ids().order_by(Project.id)).scalars())
    scoring = RunScoring.of(session, run)
    scored = sum(score_projects(session, scoring, span) for span in spans(run.fiscal_year_id, ids, BATCH))
    stored = select(func.count()).select_from(ProjectResult).where(ProjectResult.run_id == run.id).scalar_subquery()
    session.execute(
        EvaluationRun.__table__.update().where(EvaluationRun.__table__.c.id == run.id).values(progress=stored)
    )
    return scored


def finish_parts(session: Session, run: EvaluationRun) -> EvaluationRun:
    """The run done once every part has stored its projects (a part missing is an error, never a partial run)."""
    stored = session.execute(
        select(func.count()).select_from(ProjectResult).where(ProjectResult.run_id == run.id)
    ).scalar_one()
    if stored != run.total:
        raise RuntimeError(f"evaluation run {run.id}: {stored} of {run.total} projects stored by its parts")
    run.progress = run.total
    return finish_run(session, run)


def finish_run(session: Session, run: EvaluationRun) -> EvaluationRun:
    run.state, run.finished_at = RunState.DONE, clock.now()
    session.add(run)
    session.flush()
    return run


def effective_total(result: ProjectResult) -> Decimal:
    return result.override_total if result.override_total is not None else result.total


def current_run(session: Session, fiscal_year_id: int | None) -> EvaluationRun | None:
    """The run reviews apply to now: the latest finished run of the year, unless it is an archived version."""
    run = session.execute(
        select(EvaluationRun)
        .where(EvaluationRun.fiscal_year_id == fiscal_year_id, EvaluationRun.state == RunState.DONE)
        .order_by(EvaluationRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if run is None or run.archive_version is not None else run


def results_of_run(
    session: Session, run: EvaluationRun, project_ids: list[int] | None = None
) -> dict[str, ProjectSheet]:
    """The stored results as sheets, with finance's overrides in force (each kept beside the computed
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
    sheets = {}
    for project, code in projects:
        b = project.budget
        budget = BudgetScore(
            Decimal(str(b["budget"])),
            None if b["spent"] is None else Decimal(str(b["spent"])),
            None if b["rate"] is None else Decimal(str(b["rate"])).quantize(Decimal("0.01")),
            Decimal(str(b["weight"])),
            Decimal(str(b["score"])),
            b["basis"],
        )
        scores = [
            IndicatorScore(indicator_code, row.weight, row.actual, row.score, row.basis)
            for row, indicator_code in indicators.get(project.project_id, [])
        ]
        result = ProjectScore(
            code,
            project.total,
            project.grade,
            budget,
            scores,
            [ScoreFinding(f["code"], f["subject"], f["message"]) for f in project.findings],
            {k: Decimal(v) for k, v in (project.levels or {}).items()},
        )
        sheet = ProjectSheet(
            project.project_id,
            result,
            {c: row.indicator_id for row, c in indicators.get(project.project_id, [])},
            {c: row.target for row, c in indicators.get(project.project_id, [])},
            {c: row.division_note for row, c in indicators.get(project.project_id, [])},
            outcome=project.outcome,
            excluded=project.excluded_reason,
            source=project.source or {},
        )
        sheet.overrides = {
            c: {
                "score": row.override_score,
                "reason": row.override_reason,
                "by": row.override_by,
                "stale": row.override_stale,
            }
            for row, c in indicators.get(project.project_id, [])
            if row.override_score is not None
        }
        apply_overrides(sheet, policy)
        if project.override_total is not None:
            result.total, result.grade = project.override_total, policy.grade(project.override_total)
        sheets[code] = sheet
    return sheets


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
