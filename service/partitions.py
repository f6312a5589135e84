"""Splitting a large year's work by project: consecutive ranges of project ids, each a job any worker takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from .models import FiscalYear, Project


def id_ranges(ids: list[int], size: int) -> list[tuple[int, int]]:
    """(first, last) of each run of SIZE consecutive ids of IDS (sorted)."""
    ordered = sorted(ids)
    return [(ordered[start], ordered[min(start + size, len(ordered)) - 1]) for start in range(0, len(ordered), size)]


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
