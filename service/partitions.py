"""Splitting a large year's work by project: consecutive ranges of project ids, each a job any worker takes; each
part done is recorded (`RunPart`) with its rows, so a sweep's record (`SweepRun`) or an evaluation run knows how
many of its parts are done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, select
from sqlmodel import Session, col

from .clock import clock
from .domain.vocabulary import RunState
from .models import FiscalYear, Indicator, Project, RunPart, SweepRun

SWEEP, EVALUATION = "sweep", "evaluation"  # RunPart.kind


def id_ranges(ids: list[int], size: int) -> list[tuple[int, int]]:
    """(first, last) of each run of SIZE consecutive ids of IDS (sorted)."""
    ordered = sorted(ids)
    return [(ordered[start], ordered[min(start + size, len(ordered)) - 1]) for start in range(0, len(ordered), size)]


@dataclass(frozen=True)
class ProjectSpan:
    """A year's projects with ids FIRST..LAST (a batch or part of the year's work), selected by the range rather
    than by a list of thousands of ids, which costs more to compile and send than the rows cost to read."""

    fiscal_year_id: int
    first: int
    last: int

    def projects(self) -> ColumnElement[bool]:
        """The condition on `project` that selects the span."""
        return and_(col(Project.fiscal_year_id) == self.fiscal_year_id, col(Project.id).between(self.first, self.last))

    def holds(self, project_id: Any) -> ColumnElement[bool]:
        """The condition on a PROJECT_ID column that selects the span: the range itself as well as the year's
        projects in it, so that the database reads the column's index over the range, not the whole table."""
        return and_(col(project_id).between(self.first, self.last), col(project_id).in_(self.project_ids()))

    def project_ids(self) -> Select:
        return select(col(Project.id)).where(self.projects())

    def indicator_ids(self) -> Select:
        return select(col(Indicator.id)).where(self.holds(Indicator.project_id))


def spans(fiscal_year_id: int, ids: list[int], size: int) -> list[ProjectSpan]:
    """IDS (every project of the year between the first and the last of them) as spans of SIZE projects."""
    return [ProjectSpan(fiscal_year_id, first, last) for first, last in id_ranges(ids, size)]


def project_ranges(session: Session, year: int, size: int) -> list[tuple[int, int]]:
    """The project id ranges of YEAR, SIZE projects each."""
    ids = session.execute(
        select(col(Project.id))
        .join(FiscalYear, col(FiscalYear.id) == Project.fiscal_year_id)
        .where(col(FiscalYear.year) == year)
    ).scalars()
    return id_ranges(list(ids), size)


def projects_in_range(session: Session, year: int, first: int, last: int) -> list[int]:
    return list(
        session.execute(
            select(col(Project.id))
            .join(FiscalYear, col(FiscalYear.id) == Project.fiscal_year_id)
            .where(col(FiscalYear.year) == year, col(Project.id).between(first, last))
            .order_by(col(Project.id))
        ).scalars()
    )


def stored_id(run: SweepRun) -> int:
    assert run.id is not None  # a stored row
    return run.id


def record_part(session: Session, kind: str, run_id: int, first: int, last: int, projects: int) -> None:
    """Part FIRST..LAST of run RUN_ID done, in the transaction that stored its rows (a rerun replaces its record,
    so a part is counted once)."""
    session.execute(
        delete(RunPart).where(
            col(RunPart.kind) == kind, col(RunPart.run_id) == run_id, col(RunPart.first_project_id) == first
        )
    )
    session.add(RunPart(kind=kind, run_id=run_id, first_project_id=first, last_project_id=last, projects=projects))
    session.flush()


def parts_done(session: Session, kind: str, run_ids: list[int]) -> dict[int, int]:
    """How many parts of each of RUN_IDS are done."""
    rows = session.execute(
        select(col(RunPart.run_id), func.count())
        .where(col(RunPart.kind) == kind, col(RunPart.run_id).in_(run_ids))
        .group_by(col(RunPart.run_id))
    ).all()
    return {run_id: count for run_id, count in rows}


def forget_parts(session: Session, kind: str, run_id: int) -> None:
    """A run started again counts its parts again."""
    session.execute(delete(RunPart).where(col(RunPart.kind) == kind, col(RunPart.run_id) == run_id))


def start_sweep_run(session: Session, year: int, as_of: date, parts: int) -> SweepRun:
    """The record of YEAR's sweep as of AS_OF in PARTS parts, started (again: a rerun of the day starts over)."""
    year_id = session.execute(select(col(FiscalYear.id)).where(col(FiscalYear.year) == year)).scalar_one()
    run = session.execute(
        select(SweepRun).where(col(SweepRun.fiscal_year_id) == year_id, col(SweepRun.as_of) == as_of)
    ).scalar_one_or_none() or SweepRun(fiscal_year_id=year_id, as_of=as_of)
    run.state, run.parts, run.indicators, run.error = RunState.RUNNING, parts, 0, ""
    run.started_at, run.finished_at = clock.now(), None
    session.add(run)
    session.flush()
    forget_parts(session, SWEEP, stored_id(run))
    return run


def sweep_run_of(session: Session, year: int, as_of: date) -> SweepRun | None:
    return session.execute(
        select(SweepRun)
        .join(FiscalYear, col(FiscalYear.id) == SweepRun.fiscal_year_id)
        .where(col(FiscalYear.year) == year, col(SweepRun.as_of) == as_of)
    ).scalar_one_or_none()


def finish_sweep_run(session: Session, run: SweepRun, indicators: int) -> None:
    """Every part done (else the run failed: a part missing is never a finished sweep)."""
    done = parts_done(session, SWEEP, [stored_id(run)]).get(stored_id(run), 0)
    if done != run.parts:
        raise RuntimeError(f"sweep {run.id}: {done} of {run.parts} parts recorded")
    run.state, run.indicators, run.finished_at = RunState.DONE, indicators, clock.now()
    session.add(run)


def fail_sweep_run(session: Session, year: int, as_of: date, reason: str) -> None:
    run = sweep_run_of(session, year, as_of)
    if run is not None:
        run.state, run.error, run.finished_at = RunState.FAILED, reason, clock.now()
        session.add(run)


def latest_sweep_run(session: Session, year_id: int) -> tuple[SweepRun, int] | None:
    """The latest sweep of the year and how many of its parts are done (what the overview's bar shows)."""
    run = (
        session.execute(
            select(SweepRun).where(col(SweepRun.fiscal_year_id) == year_id).order_by(col(SweepRun.started_at).desc())
        )
        .scalars()
        .first()
    )
    if run is None:
        return None
    return run, parts_done(session, SWEEP, [stored_id(run)]).get(stored_id(run), 0)
