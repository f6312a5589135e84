"""One adapter from a stored indicator to the domain Target, for rows and for selected columns."""

from __future__ import annotations

import dataclasses

from sqlmodel import select

from service.db import session_scope
from service.domain.targets import parse_target
from service.models import Indicator
from service.stored_targets import TARGET_COLUMNS, target_columns, target_of, target_of_columns


def test_a_stored_indicator_reads_back_as_the_target_its_value_parses_to(seeded_engine):
    with session_scope(seeded_engine) as session:
        indicators = session.exec(select(Indicator).order_by(Indicator.id)).all()
        columns = session.exec(select(Indicator.id, *TARGET_COLUMNS).order_by(Indicator.id)).all()
        assert len(indicators) == len(columns) == 482
        for indicator, row in zip(indicators, columns, strict=True):
            stored = target_of(indicator)
            assert target_of_columns(row[1:]) == stored  # the sweep's column rows and ORM rows agree
            parsed = dataclasses.replace(
                parse_target(
                    indicator.raw_value, indicator.level2, indicator.name, indicator.description, fiscal_year=2025
                ),
                findings=[],
            )
            assert stored == parsed, indicator.code
            assert (stored.name, stored.level2) == (indicator.name, indicator.level2)
            assert target_columns(stored) == {name: getattr(indicator, name) for name in target_columns(stored)}


def test_the_measure_follows_the_stored_target(seeded_engine):
    """Progress and status read the measure and the rate cap from the adapted target."""
    with session_scope(seeded_engine) as session:
        measures = {target_of(i).measure for i in session.exec(select(Indicator)).all()}
        rates = [i for i in session.exec(select(Indicator)).all() if target_of(i).is_rate]
    assert measures == {"cumulative", "latest", "event", "statement"}
    assert rates and all(i.unit == "%" for i in rates)
