"""Read models of the self-evaluation pages: a year's runs with the latest scores, what still stops its final
run, its archived versions; and one project's 自评表 of a run with what finance and the division have added."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from .closing import Archive, archives, final_run_blockers_of
from .domain.closing import Blocker
from .domain.evaluation_form import EvaluationForm
from .domain.scoring import ScoringPolicy
from .domain.vocabulary import RunState
from .evaluation import ProjectSheet, current_run, locked_run, results_of_run
from .exports.self_evaluation import form_of, run_context
from .models import (
    Division,
    EvaluationRun,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectReview,
    ReviewerGrade,
)
from .organisation import unit_names
from .queries import indicators_of


@dataclass
class YearEvaluation:
    runs: list[EvaluationRun]  # newest first
    latest: EvaluationRun | None  # the newest finished run, whose scores are shown
    locked: EvaluationRun | None  # the run the year is locked on
    current: EvaluationRun | None  # the run reviews apply to
    rows: list[tuple[Project, Division, ProjectSheet | None]] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)  # what stops a final run (asked for by finance)
    archives: list[Archive] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(r.state in (RunState.QUEUED, RunState.RUNNING) for r in self.runs)


def year_evaluation(
    session: Session, year: FiscalYear | None, division_ids: list[int], policy: ScoringPolicy | None = None
) -> YearEvaluation:
    """The year's runs and archives, the latest finished run's scores of the projects of DIVISION_IDS, and
    (with POLICY, for finance) what still stops a final run."""
    runs = list(
        session.exec(
            select(EvaluationRun)
            .where(EvaluationRun.fiscal_year_id == (year.id if year else 0))
            .order_by(EvaluationRun.id.desc())
        ).all()
    )
    latest = next((r for r in runs if r.state == RunState.DONE), None)
    if year is None:
        return YearEvaluation(runs, latest, None, None)
    locked = locked_run(session, year.id)
    overview = YearEvaluation(runs, latest, locked, current_run(session, year.id), archives=archives(session, year.id))
    if locked is None and policy is not None:
        overview.blockers = final_run_blockers_of(session, year, policy)
    if latest is not None:
        projects = session.exec(
            select(Project, Division)
            .join(Division, Division.id == Project.division_id)
            .where(Project.fiscal_year_id == year.id, Project.division_id.in_(division_ids))
            .order_by(Project.code)
        ).all()
        sheets = results_of_run(session, latest, [p.id for p, _ in projects])
        overview.rows = [(project, division, sheets.get(project.code)) for project, division in projects]
    return overview


def project_of_run(session: Session, run: EvaluationRun, code: str) -> Project | None:
    return session.exec(
        select(Project).where(Project.code == code, Project.fiscal_year_id == run.fiscal_year_id)
    ).first()


def indicator_of_project(session: Session, project: Project, code: str) -> Indicator | None:
    return session.exec(select(Indicator).where(Indicator.project_id == project.id, Indicator.code == code)).first()


@dataclass
class ProjectPage:
    """One project's 自评表 of a run, with the stored rows and reviews the controls below it act on."""

    sheet: ProjectSheet
    form: EvaluationForm
    year: int
    indicators: dict[str, Indicator]  # by code
    stored: dict[str, IndicatorResult]  # by indicator code: overrides, stale flags, notes as the run holds them
    grades: dict[int, ReviewerGrade]  # by indicator id
    review: ProjectReview | None  # the division's 实际完成情况, finance's exclusion
    editable: bool  # the year's current run, and the year not locked: reviews may be made on it
    current: EvaluationRun | None


def project_page(session: Session, run: EvaluationRun, project: Project, settings=None) -> ProjectPage | None:
    """None when the run has no result for PROJECT (yet)."""
    sheet = results_of_run(session, run, [project.id]).get(project.code)
    if sheet is None:
        return None
    year = session.get(FiscalYear, run.fiscal_year_id).year
    indicators = indicators_of(session, project.id)
    form = form_of(
        year,
        project,
        session.get(Division, project.division_id),
        sheet,
        list(indicators),
        ScoringPolicy.from_dict(run.policy),
        unit_names(session, settings),
        **run_context(run, year),
    )
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
    current = current_run(session, run.fiscal_year_id)
    editable = locked_run(session, run.fiscal_year_id) is None and current is not None and current.id == run.id
    review = session.exec(select(ProjectReview).where(ProjectReview.project_id == project.id)).first()
    return ProjectPage(sheet, form, year, {i.code: i for i in indicators}, stored, grades, review, editable, current)
