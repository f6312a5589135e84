"""The status engine (pure) and the stored sweep."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.status import (
    Reported,
    StatusSettings,
    budget_execution,
    elapsed_share,
    indicator_status,
    last_due_period,
    roll_up,
)

from .test_periods_progress import make_target

COUNT = make_target(value="100")  # ≥ 100 个, cumulative


def status(target, as_of, latest, **settings):
    return indicator_status(target, 2025, as_of, latest, StatusSettings(**settings))


def test_elapsed_share_stepped_by_quarter_or_linear_by_day():
    assert elapsed_share(2025, date(2025, 6, 29)) == Decimal("0.25")
    assert elapsed_share(2025, date(2025, 6, 30)) == Decimal("0.5")
    assert elapsed_share(2025, date(2025, 7, 2), "daily") == Decimal("0.5014")  # day 183 of 365
    assert elapsed_share(2025, date(2026, 1, 5)) == 1 and elapsed_share(2025, date(2024, 12, 31)) == 0
    assert last_due_period(2025, date(2025, 7, 10), 10).code == "2025Q2"
    assert last_due_period(2025, date(2025, 4, 10), 10).code == "2025Q1"
    assert last_due_period(2025, date(2025, 4, 9), 10) is None


@pytest.mark.parametrize(
    "value, expected_status", [("100", "achieved"), ("50", "on_track"), ("46", "at_risk"), ("44", "lagging")]
)
def test_cumulative_statuses_against_expected(value, expected_status):
    result = status(COUNT, date(2025, 7, 15), Reported(2, Decimal(value)))
    assert result.status == expected_status and result.expected == Decimal("50.00")


def test_projection_missed_and_tolerance_setting():
    result = status(COUNT, date(2025, 7, 15), Reported(2, Decimal("40")))
    assert result.projection == Decimal("80.00")
    assert (
        status(COUNT, date(2025, 7, 15), Reported(2, Decimal("40")), at_risk_tolerance=Decimal("0.25")).status
        == "at_risk"
    )
    assert status(COUNT, date(2026, 1, 20), Reported(4, Decimal("90"))).status == "missed"


def test_latest_value_targets_and_not_reported():
    rate = make_target(unit="%", value="95", name="验收合格率")
    assert status(rate, date(2025, 7, 15), Reported(2, Decimal("96"))).status == "achieved"
    assert status(rate, date(2025, 7, 15), Reported(2, Decimal("90"))).status == "not_met"
    assert status(rate, date(2025, 7, 15), Reported(1, Decimal("96"))).status == "not_reported"  # Q2 was due
    assert status(rate, date(2025, 7, 5), Reported(1, Decimal("96"))).status == "achieved"  # not yet due
    ceiling = make_target(kind="duration", comparator="<", value="24", unit="小时", direction="lower_better")
    assert status(ceiling, date(2025, 7, 15), Reported(2, Decimal("24"))).status == "not_met"


def test_deadline_statuses():
    due = make_target(kind="deadline", value=None, due=date(2025, 9, 30), direction="on_or_before")
    assert status(due, date(2025, 4, 5), None).status == "pending"
    assert status(due, date(2025, 9, 1), Reported(2, done=False)).status == "due_soon"
    assert status(due, date(2025, 10, 2), Reported(3, done=False)).status == "overdue"
    assert status(due, date(2025, 10, 2), Reported(3, done=True, done_on=date(2025, 9, 20))).status == "done"
    assert status(due, date(2025, 10, 2), Reported(3, done=True, done_on=date(2025, 10, 1))).status == "done_late"
    assert status(due, date(2025, 9, 1), None, due_soon_days=10).status == "not_reported"


def test_roll_up_and_budget_execution():
    rollup = roll_up(["achieved", "lagging", "on_track", "lagging"])
    assert rollup.status == "lagging" and rollup.counts == {"achieved": 1, "lagging": 2, "on_track": 1}
    assert budget_execution(Decimal(40), Decimal(100), 2025, date(2025, 6, 30)).expected_rate == Decimal("50.00")
    assert budget_execution(Decimal(39), Decimal(100), 2025, date(2025, 6, 30)).lagging
    assert not budget_execution(Decimal(41), Decimal(100), 2025, date(2025, 6, 30)).lagging
    assert not budget_execution(
        Decimal(20), Decimal(100), 2025, date(2025, 6, 30), StatusSettings(budget_lag_points=Decimal(40))
    ).lagging


def test_the_sweep_is_set_based_and_stores_statuses_per_day(seeded_engine):
    """The number of statements does not grow with the number of indicators."""
    from sqlalchemy import event
    from sqlmodel import func, select

    from service.db import session_scope
    from service.models import IndicatorStatusRow
    from service.monitoring import sweep
    from service.synth import synthesize

    statements = []
    with session_scope(seeded_engine) as session:
        synthesize(session, 2030, 700, divisions=5)
        synthesize(session, 2031, 2100, divisions=5)
    event.listen(seeded_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = {}
    for year, size in ((2030, 700), (2031, 2100)):
        statements.clear()
        with session_scope(seeded_engine) as session:
            result = sweep(session, year, date(year, 7, 15))
        assert result.indicators == size
        counts[year] = len(statements)
    assert counts[2030] == counts[2031] <= 12
    with session_scope(seeded_engine) as session:
        sweep(session, 2030, date(2030, 7, 16))
        sweep(session, 2030, date(2030, 7, 16))  # recomputing a day replaces its rows
        per_day = dict(
            session.exec(select(IndicatorStatusRow.as_of, func.count()).group_by(IndicatorStatusRow.as_of)).all()
        )
    assert per_day == {date(2030, 7, 15): 700, date(2030, 7, 16): 700, date(2031, 7, 15): 2100}
