"""Helpers for the organisation and next-year tests: submitted quarters, sheets, the next year's tables."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.domain.actuals import RawActual
from service.models import User
from service.reporting.reports import ActualRow, load_scope, save, transition

from .reporting_helpers import complete_rows


def submit_quarter(
    engine, year: int, division: str, quarter: int, username: str, values: dict[str, str] | None = None
) -> None:
    """A complete, on-track report of DIVISION for the quarter, with VALUES (code -> value) instead,
    saved and submitted by USERNAME on the day after the quarter ends."""
    end = date(year, 3 * quarter, 1)
    with clock.restored():
        clock.set_today(date(year + (quarter == 4), (3 * quarter) % 12 + 1, 2))
        with session_scope(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            scope = load_scope(session, year, division, quarter)
            actuals, spend = complete_rows(scope, end)
            actuals = [
                ActualRow(
                    row.indicator_code, RawActual(value=values[row.indicator_code], likelihood="确定能"), row.location
                )
                if values and row.indicator_code in values
                else row
                for row in actuals
            ]
            save(session, scope, user, actuals, spend, "test")
            transition(session, scope, user, "submit")


def sheet(header: list[str], rows: list[list], kind: str = "xlsx") -> bytes:
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")
    workbook = Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def next_year_tables(seed: bytes, replace: dict[str, str] | None = None) -> bytes:
    """The seed as if republished for 2026 (every 2025 becomes 2026), with REPLACE applied after."""
    text = seed.decode("utf-8").replace("2025", "2026")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")
