"""Read models of the self-evaluation pages: a year's runs with the latest scores, and one
project's 自评表 with what finance and the division have added to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from .domain.scoring import IndicatorScore, ProjectScore
from .domain.vocabulary import RunState
from .evaluation import division_notes, results_of_run
from .exports.self_evaluation import SheetRow, explanations_of, indicator_block
from .models import (
    Division,
    EvaluationRun,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    ReviewerGrade,
)
from .queries import indicators_of


@dataclass
class YearEvaluation:
    runs: list[EvaluationRun]  # newest first
    latest: EvaluationRun | None  # the newest finished run, whose scores are shown
    rows: list[tuple[Project, Division, ProjectScore | None]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(r.state in (RunState.QUEUED, RunState.RUNNING) for r in self.runs)


def year_evaluation(session: Session, year: FiscalYear | None, division_ids: list[int]) -> YearEvaluation:
    """The year's runs, and the latest finished run's scores of the projects of DIVISION_IDS."""
    runs = list(
        session.exec(
            select(EvaluationRun)
            .where(EvaluationRun.fiscal_year_id == (year.id if year else 0))
            .order_by(EvaluationRun.id.desc())
        ).all()
    )
    overview = YearEvaluation(runs, next((r for r in runs if r.state == RunState.DONE), None))
    if overview.latest is not None:
        projects = session.exec(
            select(Project, Division)
            .join(Division, Division.id == Project.division_id)
            .where(Project.fiscal_year_id == year.id, Project.division_id.in_(division_ids))
            .order_by(Project.code)
        ).all()
        results = results_of_run(session, overview.latest, [p.id for p, _ in projects])
        overview.rows = [(project, division, results.get(project.code)) for project, division in projects]
    return overview


def project_of_run(session: Session, run: EvaluationRun, code: str) -> Project | None:
    return session.exec(
        select(Project).where(Project.code == code, Project.fiscal_year_id == run.fiscal_year_id)
    ).first()


def indicator_result(
    session: Session, run: EvaluationRun, project: Project, indicator_code: str
) -> IndicatorResult | None:
    return session.exec(
        select(IndicatorResult)
        .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
        .where(
            IndicatorResult.run_id == run.id, IndicatorResult.project_id == project.id, Indicator.code == indicator_code
        )
    ).first()


@dataclass
class ProjectSheet:
    """One project's 自评表 of a run, with the stored rows the review controls act on."""

    result: ProjectScore
    rows: list[tuple[IndicatorScore, SheetRow, Indicator]]
    stored: dict[str, IndicatorResult]  # by indicator code: overrides and division notes
    grades: dict[int, ReviewerGrade]  # by indicator id
    project_result: ProjectResult | None
    division: Division
    year: int


def project_sheet(session: Session, run: EvaluationRun, project: Project) -> ProjectSheet | None:
    """None when the run has no result for PROJECT (yet)."""
    result = results_of_run(session, run, [project.id]).get(project.code)
    if result is None:
        return None
    indicators = indicators_of(session, project.id)
    explanations = explanations_of(session, run.fiscal_year_id, [project.id]) | division_notes(session, run)
    stored = {
        i.code: r
        for r, i in session.exec(
            select(IndicatorResult, Indicator)
            .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
            .where(IndicatorResult.run_id == run.id, IndicatorResult.project_id == project.id)
        ).all()
    }
    grades = {
        g.indicator_id: g
        for g in session.exec(
            select(ReviewerGrade).where(ReviewerGrade.indicator_id.in_([i.id for i in indicators]))
        ).all()
    }
    project_result = session.exec(
        select(ProjectResult).where(ProjectResult.run_id == run.id, ProjectResult.project_id == project.id)
    ).first()
    by_code = {i.code: i for i in indicators}
    lines = indicator_block(result, indicators, explanations)  # one line per score, in the same order
    rows = [(score, line, by_code[score.code]) for score, line in zip(result.indicators, lines, strict=True)]
    return ProjectSheet(
        result,
        rows,
        stored,
        grades,
        project_result,
        session.get(Division, project.division_id),
        session.get(FiscalYear, run.fiscal_year_id).year,
    )
