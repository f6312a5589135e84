"""The status engine (pure) and the stored sweep."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.status import (
    PROJECT_STATUSES,
    STATUS_TONE,
    TONE_COLOURS,
    Reported,
    StatusSettings,
    budget_execution,
    contrast_ratio,
    elapsed_share,
    indicator_status,
    last_due_period,
    roll_up,
    status_scale,
)
from service.domain.vocabulary import Status, Tone

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
    assert status(rate, date(2025, 7, 15), Reported(2, Decimal("90"))).status == "at_risk"  # within 10% of 95
    assert status(rate, date(2025, 7, 15), Reported(2, Decimal("85"))).status == "not_met"
    assert status(rate, date(2025, 7, 15), Reported(1, Decimal("96"))).status == "not_reported"  # Q2 was due
    assert status(rate, date(2025, 7, 5), Reported(1, Decimal("96"))).status == "achieved"  # not yet due
    ceiling = make_target(kind="duration", comparator="<", value="24", unit="小时", direction="lower_better")
    assert status(ceiling, date(2025, 7, 15), Reported(2, Decimal("24"))).status == "at_risk"  # `<`: 24 is over
    assert status(ceiling, date(2025, 7, 15), Reported(2, Decimal("27"))).status == "not_met"  # beyond 10% over
    assert status(ceiling, date(2026, 1, 20), Reported(4, Decimal("25"))).status == "missed"


def test_issue_example_one_status_for_95_against_100():
    """2025-001.03 at 95% against ≥100%: the form said a yellow 滞后, the overview 未达标; now both say 有风险."""
    from service.domain.periods import Period
    from service.domain.progress import status_light

    target = make_target(unit="%", value="100", name="完成率")
    light = status_light(target, Period(2025, 2), number=Decimal("95"))
    stored = status(target, date(2025, 7, 15), Reported(2, Decimal("95")))
    assert light.status == stored.status == "at_risk" and light.label == "有风险" and light.code == "watch"


def test_deadline_statuses():
    due = make_target(kind="deadline", value=None, due=date(2025, 9, 30), direction="on_or_before")
    assert status(due, date(2025, 4, 5), None).status == "pending"
    assert status(due, date(2025, 9, 1), Reported(2, done=False)).status == "due_soon"
    assert status(due, date(2025, 10, 2), Reported(3, done=False)).status == "overdue"
    assert status(due, date(2025, 10, 2), Reported(3, done=True, done_on=date(2025, 9, 20))).status == "done"
    assert status(due, date(2025, 10, 2), Reported(3, done=True, done_on=date(2025, 10, 1))).status == "done_late"
    assert status(due, date(2025, 9, 1), None, due_soon_days=10).status == "not_reported"
    late = Reported(2, done=False, expected_on=date(2025, 10, 15))
    assert status(due, date(2025, 7, 15), late).status == "at_risk"  # the division expects it after the due date


def test_roll_up_and_budget_execution():
    rollup = roll_up(["achieved", "lagging", "on_track", "lagging"])
    assert rollup.status == "lagging" and rollup.counts == {"achieved": 1, "lagging": 2, "on_track": 1}


def test_a_project_status_is_never_not_yet_due_or_qualitative():
    """Not-yet-due and qualitative indicators are counted apart; a deadline due soon is on track, one done is
    achieved; a project with nothing else to go by is on track."""
    mixed = roll_up(["pending", "judged", "judged", "achieved"])
    assert mixed.status == "achieved" and (mixed.not_due, mixed.qualitative) == (1, 2)
    assert roll_up(["pending", "judged"]).status == "on_track"
    assert roll_up(["due_soon", "done", "judged"]).status == "on_track"
    assert roll_up(["done_late", "done"]).status == "achieved"
    assert roll_up(["at_risk", "pending"]).status == "at_risk"
    assert {roll_up([s]).status for s in Status} <= set(PROJECT_STATUSES)


def test_one_colour_scale_with_labels_and_aa_contrast():
    """Every status has a tone; every tone's text meets WCAG AA (4.5:1) on its colour, and the colour stands
    out from a white page (3:1, graphics)."""
    assert set(STATUS_TONE) == set(Status) and set(TONE_COLOURS) == set(Tone)
    for background, text in TONE_COLOURS.values():
        assert contrast_ratio(background, text) >= Decimal("4.5")
        assert contrast_ratio(background, "#ffffff") >= Decimal("3")
    assert contrast_ratio("#000000", "#ffffff") == Decimal("21.00")
    scale = status_scale(StatusSettings(at_risk_tolerance=Decimal("0.15")))
    assert scale["thresholds"]["at_risk_tolerance_percent"] == 15
    assert [s["code"] for s in scale["statuses"] if s["project"]] == list(PROJECT_STATUSES)
    assert {s["code"]: s["label"] for s in scale["statuses"]} == Status.labels()
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


def test_the_sweep_stores_what_it_computes_and_a_rerun_rewrites_only_what_changed(seeded_database_url):
    """The statuses are written through the driver (each value converted as SQLAlchemy would), and sweeping a
    day again writes only the rows that differ: on SQLite and PostgreSQL, what is stored is what is computed."""
    from datetime import time

    from sqlalchemy import select, update

    from service.clock import clock
    from service.db import make_engine, session_scope
    from service.models import ActualEntry, Indicator, IndicatorStatusRow, Project, ProjectStatusRow
    from service.monitoring import INDICATOR_FIGURES, PROJECT_FIGURES, compute_statuses, sweep
    from service.synth import synthesize

    day = date(2030, 7, 15)
    engine = make_engine(seeded_database_url)

    def stored(session) -> tuple[dict, dict]:
        indicators = {
            row.indicator_id: row
            for row in session.execute(select(IndicatorStatusRow).where(IndicatorStatusRow.as_of == day)).scalars()
        }
        projects = {
            row.project_id: row
            for row in session.execute(select(ProjectStatusRow).where(ProjectStatusRow.as_of == day)).scalars()
        }
        return indicators, projects

    def assert_stored_is_computed(session) -> None:
        indicators, projects = stored(session)
        computed = [batch for batch in compute_statuses(session, 2030, day)]
        wanted = {row["indicator_id"]: row for batch in computed for row in batch.indicator_rows}
        assert indicators.keys() == wanted.keys() and len(wanted) == 700
        for indicator_id, row in wanted.items():
            assert tuple(getattr(indicators[indicator_id], name) for name in INDICATOR_FIGURES) == tuple(
                row[name] for name in INDICATOR_FIGURES
            )
        wanted_projects = {row["project_id"]: row for batch in computed for row in batch.project_rows}
        assert projects.keys() == wanted_projects.keys()
        for project_id, row in wanted_projects.items():
            assert tuple(getattr(projects[project_id], name) for name in PROJECT_FIGURES) == tuple(
                row[name] for name in PROJECT_FIGURES
            )

    with session_scope(engine) as session:
        synthesize(session, 2030, 700, divisions=5)
    clock.set_today(day, time(9, 0))
    with session_scope(engine) as session:
        sweep(session, 2030, day)
    with session_scope(engine) as session:
        assert_stored_is_computed(session)
        before, _ = stored(session)
        on_track = next(row for row in before.values() if row.status == "on_track" and row.value)
        session.execute(
            update(ActualEntry)
            .where(ActualEntry.indicator_id == on_track.indicator_id, ActualEntry.is_current.is_(True))
            .values(number=0)
        )  # its value falls: its status changes
        missing = next(row for row in before.values() if row.indicator_id != on_track.indicator_id)
        session.delete(missing)  # a row lost: the rerun writes it again
        other_year = session.execute(
            select(Indicator.id).join(Project, Project.id == Indicator.project_id).where(Project.code.like("2025-%"))
        ).first()[0]
        session.add(  # a row the sweep no longer yields (its indicator is not the project's): the rerun drops it
            IndicatorStatusRow(
                indicator_id=other_year, project_id=on_track.project_id, as_of=day, status="achieved", likelihood=""
            )
        )
        first_written = {row.indicator_id: row.computed_at for row in before.values()}
    clock.set_today(day, time(10, 0))  # an hour after the first sweep
    with session_scope(engine) as session:
        sweep(session, 2030, day)
    with session_scope(engine) as session:
        assert_stored_is_computed(session)
        after, _ = stored(session)
        assert after[on_track.indicator_id].status in ("at_risk", "lagging")
        rewritten = {i for i, row in after.items() if row.computed_at != first_written.get(i)}
        assert rewritten == {on_track.indicator_id, missing.indicator_id}  # only what changed or was missing
    engine.dispose()


@pytest.mark.postgres
def test_a_synthetic_year_on_postgresql_has_statistics_as_after_any_bulk_load(postgres_seeded):
    from sqlalchemy import text

    from service.db import make_engine, session_scope
    from service.synth import synthesize

    engine = make_engine(postgres_seeded[0])
    with session_scope(engine) as session:
        synthesize(session, 2030, 700, divisions=5)
    with engine.connect() as connection:
        rows = dict(
            connection.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relname IN ('indicator', 'actual_entry')")
            ).all()
        )
    engine.dispose()
    assert rows["indicator"] >= 700 and rows["actual_entry"] >= 700  # -1 (never analysed) without it


def test_the_sweep_runs_without_the_cycle_collector_and_resumes_it(seeded_engine, monkeypatch):
    """A sweep's rows are freed by reference counting; the collector's full passes over them took a third of a
    100,000-indicator sweep.  It is paused while the statuses are computed and stored, and resumed after."""
    import gc

    from service import monitoring
    from service.db import session_scope
    from service.synth import synthesize

    with session_scope(seeded_engine) as session:
        synthesize(session, 2030, 70, divisions=2)
    collecting = []
    store = monitoring._store
    monkeypatch.setattr(monitoring, "_store", lambda *args: (collecting.append(gc.isenabled()), store(*args)))
    assert gc.isenabled()
    with session_scope(seeded_engine) as session:
        assert monitoring.sweep(session, 2030, date(2030, 7, 15)).indicators == 70
    assert collecting and not any(collecting)
    assert gc.isenabled()
