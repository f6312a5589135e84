"""How far an indicator is, given a period's actual: 序时进度 and the status light.

Counts, amounts and spend are year to date (截至期末累计) and are held against the
linear quarter marks 25/50/75/100% of the target; rates, satisfaction and durations are
the latest measured value and are held against the target itself.  Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .periods import Period
from .targets import Target
from .targets import format_decimal as _plain
from .vocabulary import Comparator, Direction, Likelihood, Measure, TargetKind

# A value at or above this share of what is expected by now is "lagging" (yellow), below it "behind" (red).
LAGGING_SHARE = Decimal("0.8")


@dataclass(frozen=True)
class Light:
    code: str  # green | yellow | red | none
    label: str
    detail: str = ""

    @property
    def behind(self) -> bool:
        return self.code in ("yellow", "red")


NOT_REPORTED = Light("none", "未填报")


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
) -> Light:
    if target.kind == TargetKind.DEADLINE:
        return _deadline_light(target, period, done, done_on, expected_on)
    if target.kind == TargetKind.QUALITATIVE:
        if not has_statement:
            return NOT_REPORTED
        return {Likelihood.IMPOSSIBLE: Light("red", "难以完成"), Likelihood.POSSIBLE: Light("yellow", "存在风险")}.get(
            likelihood, Light("green", "正常")
        )
    if number is None:
        return NOT_REPORTED
    expected = expected_by(target, period)
    if expected is None:
        return Light("green", "正常")
    if target.direction == Direction.LOWER_BETTER:
        return _ceiling_light(target, number, expected)
    if expected == 0 or number >= expected:
        return Light("green", "正常", f"序时目标 {_plain(expected)}")
    if number >= expected * LAGGING_SHARE:
        return Light("yellow", "滞后", f"低于序时目标 {_plain(expected)}")
    return Light("red", "严重滞后", f"不足序时目标 {_plain(expected)} 的 {int(LAGGING_SHARE * 100)}%")


def _ceiling_light(target: Target, number: Decimal, ceiling: Decimal) -> Light:
    strict = target.comparator == Comparator.LESS_THAN
    if number < ceiling or (number == ceiling and not strict):
        return Light("green", "正常", f"不超过 {_plain(ceiling)}")
    if number <= ceiling * (2 - LAGGING_SHARE):
        return Light("yellow", "超出目标", f"超过上限 {_plain(ceiling)}")
    return Light("red", "严重超出", f"超过上限 {_plain(ceiling)} 的 {int((1 - LAGGING_SHARE) * 100)}%以上")


def _deadline_light(target, period, done, done_on, expected_on) -> Light:
    due = target.due
    if done:
        if due is not None and done_on is not None and done_on > due:
            return Light("yellow", "逾期完成", f"截止 {due.isoformat()}")
        return Light("green", "已完成")
    if done is None:
        return NOT_REPORTED
    if due is not None and period.end > due:
        return Light("red", "已逾期", f"截止 {due.isoformat()}")
    if due is not None and expected_on is not None and expected_on > due:
        return Light("red", "预计逾期", f"预计 {expected_on.isoformat()}，截止 {due.isoformat()}")
    return Light("green", "按计划推进")


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
