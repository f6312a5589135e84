"""Where each indicator and project stands at an as-of date (the status engine).

Pure: given a target, the values reported for it and an as-of date, say `achieved`,
`on_track`, `at_risk`, `lagging`, `missed`, `not_met`, `done`, `done_late`, `due_soon`,
`overdue`, `pending`, `judged` or `not_reported`; roll a project's indicators up; hold
budget execution against 序时进度.  The rules that vary by region are `StatusSettings`,
with the central defaults.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .periods import DEFAULT_DUE_DAYS, Period, periods_of
from .progress import CUMULATIVE, EVENT, STATEMENT, TargetSpec

# Worst first: a project's status is the worst of its indicators'.
SEVERITY = ("missed", "overdue", "lagging", "not_reported", "not_met", "at_risk", "due_soon", "done_late", "pending",
            "judged", "on_track", "done", "achieved")
STATUS_LABELS = {"achieved": "已达成", "on_track": "正常", "at_risk": "有风险", "lagging": "滞后", "missed": "未完成",
                 "not_met": "未达标", "done": "已完成", "done_late": "逾期完成", "due_soon": "即将到期",
                 "overdue": "已逾期", "pending": "未到期", "judged": "定性", "not_reported": "未报送"}
BAD = {"missed", "overdue", "lagging", "not_reported", "not_met"}
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class StatusSettings:
    progress_mode: str = "quarterly"  # quarterly (stepped, default) | daily (linear by day)
    at_risk_tolerance: Decimal = Decimal("0.10")  # within 10% below expected: at risk, not lagging
    due_soon_days: int = 30
    budget_lag_points: Decimal = Decimal("10")  # spend trailing 序时进度 by more than 10 points
    report_due_days: int = DEFAULT_DUE_DAYS


@dataclass(frozen=True)
class Reported:
    """The latest reported value of an indicator (from submitted reports), and in which period."""

    quarter: int
    number: Decimal | None = None
    done: bool | None = None
    done_on: date | None = None
    likelihood: str = ""


@dataclass
class IndicatorStatus:
    status: str
    expected: Decimal | None = None
    value: Decimal | None = None
    projection: Decimal | None = None  # year-end, linear from the latest cumulative value
    likelihood: str = ""


def elapsed_share(year: int, as_of: date, mode: str = "quarterly") -> Decimal:
    """The share of the year gone by at AS_OF: completed quarters (stepped) or days (linear)."""
    if as_of < date(year, 1, 1):
        return Decimal(0)
    if as_of > date(year, 12, 31):
        return Decimal(1)
    if mode == "daily":
        days = 366 if calendar.isleap(year) else 365
        return (Decimal(as_of.timetuple().tm_yday) / Decimal(days)).quantize(Decimal("0.0001"))
    done = sum(1 for p in periods_of(year) if p.end <= as_of)
    return Decimal(done) / Decimal(4)


def last_due_period(year: int, as_of: date, due_days: int) -> Period | None:
    """The latest period of YEAR whose report was due by AS_OF."""
    due = [p for p in periods_of(year) if p.due(due_days) <= as_of]
    return due[-1] if due else None


def indicator_status(spec: TargetSpec, year: int, as_of: date, latest: Reported | None,
                     settings: StatusSettings = StatusSettings()) -> IndicatorStatus:
    owed = last_due_period(year, as_of, settings.report_due_days)
    missing = owed is not None and (latest is None or latest.quarter < owed.quarter)
    likelihood = latest.likelihood if latest else ""
    if spec.measure == EVENT:
        return IndicatorStatus(_deadline(spec, as_of, latest, missing, settings), likelihood=likelihood)
    if missing:
        return IndicatorStatus("not_reported", likelihood=likelihood,
                               value=latest.number if latest else None)
    if spec.measure == STATEMENT:
        status = "judged" if latest is not None else "pending"
        return IndicatorStatus(status, likelihood=likelihood)
    value = latest.number if latest else None
    if spec.value is None or value is None:
        return IndicatorStatus("pending", value=value, likelihood=likelihood)
    year_over = as_of > date(year, 12, 31)
    if spec.measure == CUMULATIVE and spec.direction == "higher_better":
        return _cumulative(spec, year, as_of, latest, year_over, settings)
    met = _meets(spec, value)
    if met:
        return IndicatorStatus("achieved", spec.value, value, likelihood=likelihood)
    return IndicatorStatus("missed" if year_over else "not_met", spec.value, value, likelihood=likelihood)


def _meets(spec: TargetSpec, value: Decimal) -> bool:
    target = spec.value
    return {">=": value >= target, ">": value > target, "<=": value <= target, "<": value < target,
            "=": value == target}.get(spec.comparator or (">=" if spec.direction != "lower_better" else "<="), False)


def _cumulative(spec, year, as_of, latest: Reported, year_over, settings) -> IndicatorStatus:
    value, target = latest.number, spec.value
    expected = (target * elapsed_share(year, as_of, settings.progress_mode)).quantize(TWO_PLACES)
    reported_share = Decimal(latest.quarter) / 4
    projection = (value / reported_share).quantize(TWO_PLACES) if reported_share else None
    result = IndicatorStatus("on_track", expected, value, projection, latest.likelihood)
    if _meets(spec, value):
        result.status = "achieved"
    elif year_over:
        result.status = "missed"
    elif value >= expected:
        result.status = "on_track"
    elif value >= expected * (1 - settings.at_risk_tolerance):
        result.status = "at_risk"
    else:
        result.status = "lagging"
    return result


def _deadline(spec, as_of, latest, missing, settings) -> str:
    due = spec.due
    if latest is not None and latest.done:
        return "done_late" if due and latest.done_on and latest.done_on > due else "done"
    if due is not None and as_of > due:
        return "overdue"
    if missing:
        return "not_reported"
    if due is not None and (due - as_of).days <= settings.due_soon_days:
        return "due_soon"
    return "pending"


@dataclass
class ProjectRollup:
    status: str
    counts: dict[str, int] = field(default_factory=dict)


def roll_up(statuses: list[str]) -> ProjectRollup:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    worst = min(statuses, key=SEVERITY.index) if statuses else "pending"
    return ProjectRollup(worst, counts)


@dataclass
class BudgetExecution:
    rate: Decimal | None  # spend ÷ full-year budget in force, in %
    expected_rate: Decimal  # 序时进度, in %
    lagging: bool


def budget_execution(spent: Decimal | None, budget: Decimal | None, year: int, as_of: date,
                     settings: StatusSettings = StatusSettings()) -> BudgetExecution:
    """Execution against time-proportional progress (by month: m/12 of the year by the end of month m)."""
    if as_of < date(year, 1, 1):
        months = 0
    elif as_of > date(year, 12, 31):
        months = 12
    else:
        months = as_of.month - (0 if as_of.day == calendar.monthrange(year, as_of.month)[1] else 1)
    expected = (Decimal(months) * 100 / 12).quantize(TWO_PLACES)
    if spent is None or not budget:
        return BudgetExecution(None, expected, expected > settings.budget_lag_points)
    rate = (spent / budget * 100).quantize(TWO_PLACES)
    return BudgetExecution(rate, expected, expected - rate > settings.budget_lag_points)
