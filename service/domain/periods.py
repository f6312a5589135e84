"""Reporting periods: the quarters of a fiscal year (`2025Q1` … `2025Q4`).

A period opens on its last day and is due a number of days later (a per-year setting,
default 10).  The Q4 report is the annual actual.  Pure: no database, no Flask.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

DEFAULT_DUE_DAYS = 10
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}
_PATTERN = re.compile(r"^(\d{4})\s*[-年]?\s*(?:Q|第)?\s*([1-4])\s*(?:季度?)?$", re.IGNORECASE)


class PeriodError(ValueError):
    """Text that is not a reporting period; the message says what was expected."""


@dataclass(frozen=True, order=True)
class Period:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Period:
        cleaned = unicodedata.normalize("NFKC", str(text or "")).strip()
        match = _PATTERN.match(cleaned)
        if not match:
            raise PeriodError(f"期间「{text}」无法识别，应写作 2025Q1 … 2025Q4")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.quarter}季度" + ("（全年）" if self.quarter == 4 else "")

    @property
    def end(self) -> date:
        month, day = _QUARTER_END[self.quarter]
        return date(self.year, month, day)

    @property
    def opens(self) -> date:
        return self.end

    def due(self, due_days: int = DEFAULT_DUE_DAYS) -> date:
        return self.end + timedelta(days=due_days)

    @property
    def elapsed(self) -> Decimal:
        """序时进度 at the period's end: 0.25, 0.50, 0.75, 1."""
        return Decimal(self.quarter) / Decimal(4)

    @property
    def previous(self) -> Period | None:
        return None if self.quarter == 1 else Period(self.year, self.quarter - 1)

    def is_open(self, today: date) -> bool:
        return today >= self.opens

    def lockable_from(self, due_days: int = DEFAULT_DUE_DAYS) -> date:
        """The first day finance may lock the period: the day after it is due, so a division that
        submits on the due date itself is never locked out (docs/domain.md §4)."""
        return self.due(due_days) + timedelta(days=1)

    def is_lockable(self, today: date, due_days: int = DEFAULT_DUE_DAYS) -> bool:
        return today >= self.lockable_from(due_days)

    def is_late(self, submitted_on: date, due_days: int = DEFAULT_DUE_DAYS) -> bool:
        return submitted_on > self.due(due_days)

    def __str__(self) -> str:
        return self.code


def periods_of(year: int) -> list[Period]:
    return [Period(year, quarter) for quarter in range(1, 5)]


def current_period(today: date) -> Period | None:
    """The latest period already open on `today` within today's year (None before 31 March)."""
    opened = [p for p in periods_of(today.year) if p.is_open(today)]
    return opened[-1] if opened else None
