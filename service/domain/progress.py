"""How far an indicator is, given a period's actual: 序时进度 and the status light.

Counts, amounts and spend are year to date (截至期末累计) and are held against the
linear quarter marks 25/50/75/100% of the target; rates, satisfaction and durations are
the latest measured value and are held against the target itself.  The light is the
status engine's (`status.py`) status at the period's end: one vocabulary, one threshold and
one colour scale for the form and every other view.  Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .periods import Period
from .status import NEEDS_EXPLANATION, STATUS_TONE, Reported, StatusSettings, indicator_status
from .targets import Target
from .targets import format_decimal as _plain
from .vocabulary import CEILINGS, Direction, Likelihood, Measure, Status, TargetKind, Tone


@dataclass(frozen=True)
class Light:
    """The status of one reported value at its period's end, as the form shows it: the status (the same
    rules as the overview), its tone (the colour), its label, and what it was held against."""

    code: str  # the tone: good | watch | behind | neutral (`Tone`)
    label: str
    detail: str = ""
    status: str = ""  # a `Status`; empty while nothing is entered

    @property
    def behind(self) -> bool:
        return self.status in NEEDS_EXPLANATION


NOT_REPORTED = Light(Tone.NEUTRAL, "未填写")


def expected_by(target: Target, period: Period) -> Decimal | None:
    """The value expected at the end of `period` (序时进度), or None where it does not apply."""
    if target.value is None or target.kind not in (TargetKind.NUMERIC, TargetKind.DURATION):
        return None
    if target.measure == Measure.CUMULATIVE and target.direction == Direction.HIGHER_BETTER:
        return (target.value * period.elapsed).quantize(Decimal("0.01"))
    return target.value


def status_light(
    target: Target,
    period: Period,
    *,
    number: Decimal | None = None,
    done: bool | None = None,
    done_on: date | None = None,
    expected_on: date | None = None,
    likelihood: str = "",
    has_statement: bool = False,
    settings: StatusSettings = StatusSettings(),
) -> Light:
    """The indicator's status at the period's end had this value been submitted (docs/domain.md §5.4)."""
    entered = {TargetKind.DEADLINE: done is not None, TargetKind.QUALITATIVE: has_statement}.get(
        target.kind, number is not None
    )
    if not entered:
        return NOT_REPORTED
    reported = Reported(
        period.quarter, number, done, done_on, likelihood, "reported" if has_statement else "", expected_on
    )
    result = indicator_status(target, period.year, period.end, reported, settings)
    status = Status(result.status)
    return Light(STATUS_TONE[status], status.label, _detail(target, status, result.expected, expected_on), status)


def _detail(target: Target, status: Status, expected: Decimal | None, expected_on: date | None) -> str:
    """What the value was held against, in a few words."""
    if target.kind == TargetKind.DEADLINE:
        if target.due is None:
            return ""
        if status == Status.AT_RISK and expected_on is not None:
            return f"预计 {expected_on.isoformat()}，截止 {target.due.isoformat()}"
        return f"截止 {target.due.isoformat()}"
    if expected is None:
        return ""
    shown = f"{_plain(expected)}{target.unit}"
    if target.measure == Measure.CUMULATIVE and target.direction == Direction.HIGHER_BETTER:
        return f"序时目标 {shown}"
    if target.direction == Direction.LOWER_BETTER or target.comparator in CEILINGS:
        return f"上限 {shown}"
    return f"目标 {shown}"


def needs_explanation(light: Light, likelihood: str) -> bool:
    """A deviation cause is required when behind expected progress or not certain to meet the target."""
    return light.behind or (likelihood not in ("", Likelihood.CERTAIN))


def explanation_note(light: Light, likelihood: str, explained: bool = False) -> str:
    """What the live check tells the reporter as soon as an explanation will be required (§5.5),
    rather than only after a refused submission; "" when none is, or it is already EXPLAINED."""
    if explained or not needs_explanation(light, likelihood):
        return ""
    why = f"状态为「{light.label}」" if light.behind else f"完成可能性为「{likelihood}」"
    return f"{why}：提交时须填写偏差原因类别、偏差原因分析和改进措施"
