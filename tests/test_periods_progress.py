"""Periods, 序时进度 and the status light (pure domain)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.periods import Period, PeriodError, current_period, periods_of
from service.domain.progress import expected_by, needs_explanation, status_light
from service.domain.targets import Target
from service.domain.vocabulary import Measure


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
    "number, light", [("50", "green"), ("60", "green"), ("40", "yellow"), ("39", "red"), ("0", "red")]
)
def test_light_against_expected_progress(number, light):
    assert status_light(make_target(), Period(2025, 2), number=Decimal(number)).code == light


def test_light_for_ceilings_rates_deadlines_and_statements():
    cost = make_target(unit="万元", comparator="<=", value="20", direction="lower_better")
    assert status_light(cost, Period(2025, 2), number=Decimal("20")).code == "green"
    assert status_light(cost, Period(2025, 2), number=Decimal("23")).code == "yellow"
    assert status_light(cost, Period(2025, 2), number=Decimal("30")).code == "red"
    rate = make_target(unit="%", value="95", name="验收合格率", level2="质量指标")
    assert status_light(rate, Period(2025, 1), number=Decimal("96")).code == "green"
    assert status_light(rate, Period(2025, 1), number=Decimal("80")).code == "yellow"
    due = make_target(kind="deadline", value=None, due=date(2025, 6, 30), direction="on_or_before")
    assert status_light(due, Period(2025, 1), done=False, expected_on=date(2025, 6, 1)).code == "green"
    assert status_light(due, Period(2025, 1), done=False, expected_on=date(2025, 8, 1)).code == "red"
    assert status_light(due, Period(2025, 3), done=False).code == "red"
    assert status_light(due, Period(2025, 3), done=True, done_on=date(2025, 7, 2)).code == "yellow"
    assert status_light(due, Period(2025, 2), done=True, done_on=date(2025, 6, 2)).code == "green"
    assert status_light(due, Period(2025, 2)).code == "none"
    words = make_target(kind="qualitative", value=None)
    assert status_light(words, Period(2025, 1), has_statement=True, likelihood="不可能").code == "red"
    assert status_light(words, Period(2025, 1)).code == "none"


def test_explanations_are_needed_when_behind_or_uncertain():
    on_track = status_light(make_target(), Period(2025, 2), number=Decimal("60"))
    behind = status_light(make_target(), Period(2025, 2), number=Decimal("30"))
    assert not needs_explanation(on_track, "确定能")
    assert needs_explanation(on_track, "有可能") and needs_explanation(behind, "确定能")
