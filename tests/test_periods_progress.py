"""Periods, 序时进度 and the status light (pure domain)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.periods import Period, PeriodError, current_period, periods_of
from service.domain.progress import expected_by, needs_explanation, status_light
from service.domain.status import StatusSettings
from service.domain.targets import Target
from service.domain.vocabulary import Measure, Status


def make_target(
    kind="numeric",
    comparator=">=",
    value="100",
    unit="个",
    per=None,
    direction="higher_better",
    due=None,
    name="举办活动场次",
    level2="数量指标",
) -> Target:
    return Target(kind, comparator, None if value is None else Decimal(value), unit, per, direction, due, name, level2)


@pytest.mark.parametrize("text", ["2025Q2", "2025q2", "2025-Q2", "２０２５Ｑ２", "2025年第2季度"])
def test_period_spellings(text):
    assert Period.parse(text) == Period(2025, 2)


@pytest.mark.parametrize("text", ["", "2025Q5", "2025", "Q2", "2025H1"])
def test_bad_periods_name_the_expected_form(text):
    with pytest.raises(PeriodError, match="2025Q1"):
        Period.parse(text)


def test_period_dates_and_due():
    q1, q4 = Period(2025, 1), Period(2025, 4)
    assert (q1.end, q1.due(), q1.due(15)) == (date(2025, 3, 31), date(2025, 4, 10), date(2025, 4, 15))
    assert q4.end == date(2025, 12, 31) and q4.due() == date(2026, 1, 10) and "全年" in q4.label
    assert q1.is_late(date(2025, 4, 11)) and not q1.is_late(date(2025, 4, 10))
    assert [p.code for p in periods_of(2025)] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert Period(2025, 3).previous == Period(2025, 2) and q1.previous is None
    assert current_period(date(2025, 3, 30)) is None and current_period(date(2025, 7, 1)) == Period(2025, 2)


def test_measures_follow_the_unit_and_kind():
    assert make_target().measure == Measure.CUMULATIVE
    assert make_target(unit="万元", comparator="<=", direction="lower_better").measure == Measure.CUMULATIVE
    assert make_target(unit="%").measure == Measure.LATEST
    assert (
        make_target(kind="duration", unit="小时", comparator="<=", direction="lower_better").measure == Measure.LATEST
    )
    assert make_target(per="quarter").measure == Measure.LATEST
    assert make_target(kind="deadline", value=None).measure == Measure.EVENT
    assert make_target(kind="qualitative", value=None).measure == Measure.STATEMENT


def test_expected_by_is_linear_for_cumulative_targets():
    assert [expected_by(make_target(), Period(2025, q)) for q in (1, 2, 3, 4)] == [25, 50, 75, 100]
    assert expected_by(make_target(unit="%", value="95"), Period(2025, 1)) == Decimal("95")
    assert expected_by(make_target(kind="qualitative", value=None), Period(2025, 1)) is None


@pytest.mark.parametrize(
    "number, status, tone",
    [
        ("100", "achieved", "good"),
        ("50", "on_track", "good"),
        ("60", "on_track", "good"),
        ("45", "at_risk", "watch"),
        ("44", "lagging", "behind"),
        ("0", "lagging", "behind"),
    ],
)
def test_light_is_the_status_at_the_period_end(number, status, tone):
    """The form's light is the status engine's status at the period's end: one vocabulary, one threshold
    (within 10% below 序时进度: 有风险), one colour scale."""
    light = status_light(make_target(), Period(2025, 2), number=Decimal(number))
    assert (light.status, light.code, light.label) == (status, tone, Status(status).label)


def test_light_for_ceilings_rates_deadlines_and_statements():
    def seen(target, period, **value):
        return status_light(target, Period(2025, period), **value).status

    cost = make_target(unit="万元", comparator="<=", value="20", direction="lower_better")
    assert seen(cost, 2, number=Decimal("20")) == "achieved"
    assert seen(cost, 2, number=Decimal("22")) == "at_risk"
    assert seen(cost, 2, number=Decimal("23")) == "not_met"
    rate = make_target(unit="%", value="95", name="验收合格率", level2="质量指标")
    assert seen(rate, 1, number=Decimal("96")) == "achieved"
    assert seen(rate, 1, number=Decimal("80")) == "not_met"
    due = make_target(kind="deadline", value=None, due=date(2025, 6, 30), direction="on_or_before")
    assert seen(due, 1, done=False, expected_on=date(2025, 6, 1)) == "pending"
    assert seen(due, 1, done=False, expected_on=date(2025, 8, 1)) == "at_risk"
    assert status_light(due, Period(2025, 1), done=False, expected_on=date(2025, 8, 1)).detail == (
        "预计 2025-08-01，截止 2025-06-30"
    )
    assert seen(due, 3, done=False) == "overdue"
    assert seen(due, 3, done=True, done_on=date(2025, 7, 2)) == "done_late"
    assert seen(due, 2, done=True, done_on=date(2025, 6, 2)) == "done"
    assert status_light(due, Period(2025, 2)).code == "neutral" and status_light(due, Period(2025, 2)).status == ""
    words = make_target(kind="qualitative", value=None)
    assert seen(words, 1, has_statement=True, likelihood="不可能") == "judged"
    assert status_light(words, Period(2025, 1)).label == "未填写"


def test_the_form_light_follows_the_regional_threshold():
    loose = StatusSettings(at_risk_tolerance=Decimal("0.25"))
    assert status_light(make_target(), Period(2025, 2), number=Decimal("40"), settings=loose).status == "at_risk"


def test_explanations_are_needed_when_behind_or_uncertain():
    on_track = status_light(make_target(), Period(2025, 2), number=Decimal("60"))
    behind = status_light(make_target(), Period(2025, 2), number=Decimal("30"))
    assert not needs_explanation(on_track, "确定能")
    assert needs_explanation(on_track, "有可能") and needs_explanation(behind, "确定能")
    words = status_light(make_target(kind="qualitative", value=None), Period(2025, 1), has_statement=True)
    assert not needs_explanation(words, "确定能") and needs_explanation(words, "不可能")
