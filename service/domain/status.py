"""Where each indicator and project stands at an as-of date (the status engine): the one status
language of the service.

Pure: given a target, the values reported for it and an as-of date, say `achieved`,
`on_track`, `at_risk`, `lagging`, `missed`, `not_met`, `done`, `done_late`, `due_soon`,
`overdue`, `pending`, `judged` or `not_reported`; roll a project's indicators up; hold
budget execution against 序时进度.  The rules that vary by region are `StatusSettings`,
with the central defaults.  The report form's live light, the overview, the pages, the API,
the alerts and the workbooks all read statuses from here, with one threshold
(`at_risk_tolerance`) and one colour scale (`STATUS_TONE`, `TONE_COLOURS`); docs/domain.md §6.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from .periods import DEFAULT_DUE_DAYS, Period, periods_of
from .targets import Target
from .vocabulary import Comparator, Direction, Measure, Status, Tone

# Worst first: a project's status is the worst of its indicators'.
WORST_FIRST = (
    Status.MISSED,
    Status.OVERDUE,
    Status.LAGGING,
    Status.NOT_REPORTED,
    Status.NOT_MET,
    Status.AT_RISK,
    Status.DUE_SOON,
    Status.DONE_LATE,
    Status.PENDING,
    Status.JUDGED,
    Status.ON_TRACK,
    Status.DONE,
    Status.ACHIEVED,
)
# Behind, or owed and missing: someone has to act (finance's weekly digest counts these projects).
NEEDS_ACTION = frozenset({Status.MISSED, Status.OVERDUE, Status.LAGGING, Status.NOT_REPORTED, Status.NOT_MET})
# Behind what was planned: the division must give a cause and a measure (docs/domain.md §5.5).
NEEDS_EXPLANATION = frozenset(
    {Status.MISSED, Status.OVERDUE, Status.LAGGING, Status.NOT_MET, Status.AT_RISK, Status.DONE_LATE}
)

# The colour scale: each status has one tone, each tone one colour pair (background, text) whose
# contrast meets WCAG AA for text (4.5:1) and, against a white page, for graphics (3:1).
STATUS_TONE: dict[Status, Tone] = {
    Status.ACHIEVED: Tone.GOOD,
    Status.ON_TRACK: Tone.GOOD,
    Status.DONE: Tone.GOOD,
    Status.AT_RISK: Tone.WATCH,
    Status.DUE_SOON: Tone.WATCH,
    Status.DONE_LATE: Tone.WATCH,
    Status.LAGGING: Tone.BEHIND,
    Status.NOT_MET: Tone.BEHIND,
    Status.MISSED: Tone.BEHIND,
    Status.OVERDUE: Tone.BEHIND,
    Status.NOT_REPORTED: Tone.BEHIND,
    Status.PENDING: Tone.NEUTRAL,
    Status.JUDGED: Tone.NEUTRAL,
}
TONE_COLOURS: dict[Tone, tuple[str, str]] = {
    Tone.GOOD: ("#2f855a", "#ffffff"),
    Tone.WATCH: ("#c27803", "#111111"),
    Tone.BEHIND: ("#c53030", "#ffffff"),
    Tone.NEUTRAL: ("#8a96a3", "#111111"),
}

# What a project's status can be: a project is not "not yet due" or "qualitative"; those indicators
# are counted beside its status (`ProjectRollup.not_due`, `.qualitative`), not rolled into it.
PROJECT_STATUSES = (
    Status.MISSED,
    Status.OVERDUE,
    Status.LAGGING,
    Status.NOT_REPORTED,
    Status.NOT_MET,
    Status.AT_RISK,
    Status.ON_TRACK,
    Status.ACHIEVED,
)
_AS_PROJECT: dict[str, Status] = {
    Status.DUE_SOON: Status.ON_TRACK,
    Status.DONE: Status.ACHIEVED,
    Status.DONE_LATE: Status.ACHIEVED,
}
NOT_COUNTED = (Status.PENDING, Status.JUDGED)  # shown as counts beside a project's status
_PROJECT_RANK: dict[str, int] = {status: rank for rank, status in enumerate(PROJECT_STATUSES)}


def tone_of(status: str | None) -> Tone:
    """The tone of a stored status (an unknown or missing one is neutral)."""
    try:
        return STATUS_TONE[Status(status or "")]
    except ValueError:
        return Tone.NEUTRAL


def contrast_ratio(first: str, second: str) -> Decimal:
    """WCAG 2 contrast ratio of two `#rrggbb` colours, to two places."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return Decimal((light + 0.05) / (dark + 0.05)).quantize(TWO_PLACES)


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
    progress: str = ""  # the progress statement of a qualitative indicator
    expected_on: date | None = None  # a deadline not yet done: when the division expects it done


@dataclass
class IndicatorStatus:
    status: Status
    expected: Decimal | None = None
    value: Decimal | None = None
    projection: Decimal | None = None  # year-end, linear from the latest cumulative value
    likelihood: str = ""


@lru_cache(maxsize=64)  # a sweep asks the same day once per indicator
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


@lru_cache(maxsize=64)  # a sweep asks the same day once per indicator
def last_due_period(year: int, as_of: date, due_days: int) -> Period | None:
    """The latest period of YEAR whose report was due by AS_OF."""
    due = [p for p in periods_of(year) if p.due(due_days) <= as_of]
    return due[-1] if due else None


def indicator_status(
    target: Target, year: int, as_of: date, latest: Reported | None, settings: StatusSettings = StatusSettings()
) -> IndicatorStatus:
    owed = last_due_period(year, as_of, settings.report_due_days)
    missing = owed is not None and (latest is None or latest.quarter < owed.quarter)
    likelihood = latest.likelihood if latest else ""
    measure = target.measure
    if measure == Measure.EVENT:
        return IndicatorStatus(_deadline(target, as_of, latest, missing, settings), likelihood=likelihood)
    if missing:
        return IndicatorStatus(Status.NOT_REPORTED, likelihood=likelihood, value=latest.number if latest else None)
    if measure == Measure.STATEMENT:
        status = Status.JUDGED if latest is not None else Status.PENDING
        return IndicatorStatus(status, likelihood=likelihood)
    value = latest.number if latest else None
    if target.value is None or value is None:
        return IndicatorStatus(Status.PENDING, value=value, likelihood=likelihood)
    year_over = as_of > date(year, 12, 31)
    if latest is not None and measure == Measure.CUMULATIVE and target.direction == Direction.HIGHER_BETTER:
        return _cumulative(target, target.value, value, latest, year, as_of, year_over, settings)
    if _meets(target, value):
        status = Status.ACHIEVED
    elif year_over:
        status = Status.MISSED
    elif _near(target, value, settings.at_risk_tolerance):
        status = Status.AT_RISK
    else:
        status = Status.NOT_MET
    return IndicatorStatus(status, target.value, value, likelihood=likelihood)


def linear_projection(value: Decimal, quarter: int, ceiling: Decimal | None = None) -> Decimal | None:
    """The year-end a cumulative VALUE reported for QUARTER reaches at the same pace (the machine's
    projection, offered as the default of the division's own 全年预计), at most CEILING."""
    if quarter < 1:
        return None
    projection = (value / (Decimal(quarter) / 4)).quantize(TWO_PLACES)
    return min(projection, ceiling) if ceiling is not None else projection


def _meets(target: Target, value: Decimal) -> bool:
    bound = target.value
    if bound is None:
        return False
    implied = Comparator.AT_MOST if target.direction == Direction.LOWER_BETTER else Comparator.AT_LEAST
    comparator = target.comparator or implied  # only its comparison is made: the sweep asks once per indicator
    if comparator == Comparator.AT_LEAST:
        return value >= bound
    if comparator == Comparator.MORE_THAN:
        return value > bound
    if comparator == Comparator.AT_MOST:
        return value <= bound
    if comparator == Comparator.LESS_THAN:
        return value < bound
    return comparator == Comparator.EQUAL and value == bound


def _near(target: Target, value: Decimal, tolerance: Decimal) -> bool:
    """Short of a latest-value target (or over a ceiling) by no more than TOLERANCE of it: at risk,
    the same threshold as a cumulative value against 序时进度."""
    bound = target.value
    if bound is None:
        return False
    if target.direction == Direction.LOWER_BETTER or target.comparator in (Comparator.AT_MOST, Comparator.LESS_THAN):
        return value <= bound * (1 + tolerance)
    if target.comparator == Comparator.EQUAL:
        return abs(value - bound) <= abs(bound) * tolerance
    return value >= bound * (1 - tolerance)


def _cumulative(
    target: Target,
    bound: Decimal,
    value: Decimal,
    latest: Reported,
    year: int,
    as_of: date,
    year_over: bool,
    settings: StatusSettings,
) -> IndicatorStatus:
    """A cumulative value against its 序时进度 (BOUND × the share of the year gone by)."""
    expected = (bound * elapsed_share(year, as_of, settings.progress_mode)).quantize(TWO_PLACES)
    projection = linear_projection(value, latest.quarter)
    result = IndicatorStatus(Status.ON_TRACK, expected, value, projection, latest.likelihood)
    if _meets(target, value):
        result.status = Status.ACHIEVED
    elif year_over:
        result.status = Status.MISSED
    elif value >= expected:
        result.status = Status.ON_TRACK
    elif value >= expected * (1 - settings.at_risk_tolerance):
        result.status = Status.AT_RISK
    else:
        result.status = Status.LAGGING
    return result


def _deadline(target: Target, as_of: date, latest: Reported | None, missing: bool, settings: StatusSettings) -> Status:
    due = target.due
    if latest is not None and latest.done:
        return Status.DONE_LATE if due and latest.done_on and latest.done_on > due else Status.DONE
    if due is not None and as_of > due:
        return Status.OVERDUE
    if missing:
        return Status.NOT_REPORTED
    if due is not None and latest is not None and latest.expected_on is not None and latest.expected_on > due:
        return Status.AT_RISK  # the division expects to finish after the due date
    if due is not None and (due - as_of).days <= settings.due_soon_days:
        return Status.DUE_SOON
    return Status.PENDING


@dataclass
class ProjectRollup:
    status: Status  # one of PROJECT_STATUSES
    counts: dict[str, int] = field(default_factory=dict)  # every indicator status, as computed

    @property
    def not_due(self) -> int:
        return self.counts.get(Status.PENDING, 0)

    @property
    def qualitative(self) -> int:
        return self.counts.get(Status.JUDGED, 0)


def project_status(statuses: Iterable[str]) -> Status:
    """A project's status: the worst of its indicators' in project terms (a deadline due soon is on track,
    one done is achieved); not-yet-due and qualitative indicators do not count, and a project with nothing
    else is on track."""
    ranks = [_PROJECT_RANK[_AS_PROJECT.get(s, s)] for s in statuses if s not in NOT_COUNTED]
    return PROJECT_STATUSES[min(ranks)] if ranks else Status.ON_TRACK


def roll_up(statuses: list[str]) -> ProjectRollup:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ProjectRollup(project_status(statuses), counts)


@dataclass
class BudgetExecution:
    rate: Decimal | None  # spend ÷ full-year budget in force, in %
    expected_rate: Decimal  # 序时进度, in %
    lagging: bool


def budget_execution(
    spent: Decimal | None, budget: Decimal | None, year: int, as_of: date, settings: StatusSettings = StatusSettings()
) -> BudgetExecution:
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


def status_scale(settings: StatusSettings = StatusSettings()) -> dict[str, object]:
    """The status language as data: every status with its label and tone, the tones' colours and the
    thresholds in force (the API's `/status-scale`, the pages' legends and scripts, the charts)."""
    return {
        "statuses": [
            {
                "code": status.value,
                "label": status.label,
                "tone": STATUS_TONE[status].value,
                "project": status in PROJECT_STATUSES,
                "needs_explanation": status in NEEDS_EXPLANATION,
            }
            for status in WORST_FIRST
        ],
        "tones": [
            {"code": tone.value, "label": tone.label, "background": background, "text": text}
            for tone, (background, text) in TONE_COLOURS.items()
        ],
        "thresholds": {
            "progress_mode": settings.progress_mode,
            "at_risk_tolerance_percent": Decimal(format((settings.at_risk_tolerance * 100).normalize(), "f")),
            "budget_lag_points": settings.budget_lag_points,
            "due_soon_days": settings.due_soon_days,
        },
    }


def split_counts(counts: dict[str, int]) -> tuple[list[tuple[Status, int]], list[tuple[Status, int]]]:
    """A project's indicator counts, worst first: those its status counts, and the not-yet-due and
    qualitative ones shown apart."""
    ordered = [(status, counts[status]) for status in WORST_FIRST if counts.get(status)]
    return [c for c in ordered if c[0] not in NOT_COUNTED], [c for c in ordered if c[0] in NOT_COUNTED]
