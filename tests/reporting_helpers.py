"""Shared helpers for the report tests: a complete on-track report, and a snapshot of stored data."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import text

from service.domain.actuals import RawActual, places_of
from service.reporting.reports import ActualRow, Scope, SpendRow
from service.stored_targets import target_of

REPORT_TABLES = ("report", "report_event", "actual_entry", "spend_entry", "attachment", "period_lock_event")


def on_track(indicator, done_on: date) -> RawActual:
    """A value that meets the target (so no deviation explanation is needed)."""
    if indicator.kind == "deadline":
        return RawActual(value=min(indicator.due or done_on, done_on).isoformat(), likelihood="确定能")
    if indicator.kind == "qualitative":
        return RawActual(value="按计划推进", likelihood="确定能")
    target = indicator.target_value if indicator.target_value is not None else Decimal(1)
    if indicator.direction == "lower_better":  # strictly within a < or ≤ ceiling, whole where counted
        whole = places_of(target_of(indicator)) == 0
        target = (target * Decimal("0.9")).quantize(Decimal(1) if whole else Decimal("0.01"), rounding=ROUND_DOWN)
    elif indicator.comparator == ">":
        target += 1
    return RawActual(value=str(target), likelihood="确定能")


def complete_rows(scope: Scope, done_on: date) -> tuple[list[ActualRow], list[SpendRow]]:
    actuals = [
        ActualRow(code, on_track(indicator, done_on), code) for code, (indicator, _p) in scope.indicators.items()
    ]
    spend = [
        SpendRow(code, str((project.budget / 4).quantize(Decimal("0.01"))), "", code)
        for code, project in scope.projects.items()
    ]
    return actuals, spend


def snapshot(engine) -> dict[str, list]:
    """Every row of the report tables, for 'left exactly as before' checks."""
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in REPORT_TABLES
        }
