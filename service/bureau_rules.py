"""The bureau's own rules, kept in the database and set by its admins: which division owns a
project title prefix, whether a division's head signs its reports off, and how many days after a
quarter the reports are due.
"""

from __future__ import annotations

from sqlmodel import Session, select

from .decision_error import DecisionError
from .models import Division, FiscalYear
from .organisation import assign_prefix


def set_prefix(session: Session, prefix: str, division_code: str) -> None:
    """Projects titled PREFIX… belong to the division (from the next import on; not a retired one)."""
    division = session.exec(select(Division).where(Division.code == division_code)).first()
    if division is None:
        raise DecisionError(f"未知处室代码：{division_code}")
    assign_prefix(session, prefix, division)


MAX_DUE_DAYS = 60


def set_report_due_days(session: Session, year: int, days: int) -> FiscalYear:
    """How many days after a quarter ends its report is due (per year; default 10)."""
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    if fiscal_year is None:
        raise DecisionError(f"没有 {year} 年度")
    if not 0 <= days <= MAX_DUE_DAYS:
        raise DecisionError(f"填报期限应为 0–{MAX_DUE_DAYS} 天")
    fiscal_year.report_due_days = days
    session.add(fiscal_year)
    return fiscal_year


def set_head_signoff(session: Session, division_code: str, required: bool) -> Division:
    """Whether the division head signs reports off before they go to finance."""
    division = session.exec(select(Division).where(Division.code == division_code)).first()
    if division is None:
        raise DecisionError(f"未知处室代码：{division_code}")
    division.requires_head_signoff = required
    session.add(division)
    return division
