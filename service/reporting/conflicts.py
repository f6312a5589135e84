"""When a save meets a newer version of its report: cell by cell, what the writer sent, what is
stored now, and what was stored at the version the writer's copy was made from (three-way).

The web form uses it to keep what was typed and show it beside the current values (cells the
writer did not touch take the current value, so saving again never reverts someone else's
change unseen); a stale workbook upload is refused with the same comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, select

from ..clock import clock
from ..domain.actuals import Actual, Spend, read_actual, read_spend, value_text
from ..domain.targets import Target, format_decimal
from ..models import ActualEntry, SpendEntry
from ..stored_targets import target_of
from .reports import (
    ActualRow,
    Scope,
    SpendRow,
    actual_of,
    budgets_in_force,
    current_actuals,
    current_spend,
    previous_report,
)

ACTUAL_FIELDS = (
    ("value", "实际完成值"),
    ("expected_on", "预计完成日期"),
    ("likelihood", "完成可能性"),
    ("cause_category", "偏差原因类别"),
    ("cause_text", "偏差原因分析"),
    ("measure_text", "改进措施"),
    ("decrease_reason", "确认减少原因"),
    ("forecast", "全年预计完成值"),
)
SPEND_FIELDS = (
    ("spent", "执行数（万元）"),
    ("budget", "全年预算数（万元）"),
    ("forecast_spent", "全年预计执行数（万元）"),
)


@dataclass
class Cell:
    location: str  # where the writer's value came from (workbook row, form row)
    code: str  # indicator or project code
    name: str
    field: str
    label: str
    yours: str
    current: str
    base: str  # at the version the writer's copy was made from

    @property
    def changed_by_others(self) -> bool:
        return self.current != self.base

    @property
    def changed_by_you(self) -> bool:
        return self.yours != self.base


def _actual_cells(target: Target, actual: Actual) -> dict[str, str]:
    return {
        "value": value_text(target, actual),
        "expected_on": actual.expected_on.isoformat() if actual.expected_on else "",
        "likelihood": actual.likelihood,
        "cause_category": actual.cause_category,
        "cause_text": actual.cause_text,
        "measure_text": actual.measure_text,
        "decrease_reason": actual.decrease_reason,
        "forecast": actual.forecast,
    }


def _spend_cells(spend: Spend) -> dict[str, str]:
    amounts = {"spent": spend.spent, "budget": spend.budget, "forecast_spent": spend.forecast}
    return {name: "" if amounts[name] is None else format_decimal(amounts[name]) for name, _label in SPEND_FIELDS}


def _as_of(session: Session, model, key: str, report_id: int | None, version: int) -> dict:
    """Each subject's entry as it stood at VERSION of the report (entries are never overwritten)."""
    if report_id is None:
        return {}
    entries = session.exec(
        select(model)
        .where(model.report_id == report_id, model.report_version <= version)
        .order_by(model.report_version, model.id)
    ).all()
    return {getattr(e, key): e for e in entries}  # the latest wins


def compare(
    session: Session,
    scope: Scope,
    actual_rows: list[ActualRow],
    spend_rows: list[SpendRow],
    based_on: int,
    skip_blank: bool = False,
) -> list[Cell]:
    """Every cell where what the writer sent differs from what is stored now.  Rows that do not
    read cleanly are left out: saving them again reports their problems."""
    report_id = scope.report.id
    now_actuals, now_spend = current_actuals(session, report_id), current_spend(session, report_id)
    base_actuals = _as_of(session, ActualEntry, "indicator_id", report_id, based_on)
    base_spend = _as_of(session, SpendEntry, "project_id", report_id, based_on)
    previous_row = previous_report(session, scope)
    previous = current_actuals(session, previous_row.id if previous_row else None)
    cells: list[Cell] = []
    for row in actual_rows:
        found = scope.indicators.get((row.indicator_code or "").strip())
        if found is None or (skip_blank and row.raw.is_blank()):
            continue
        indicator = found[0]
        target, before = target_of(indicator), previous.get(indicator.id)
        reading = read_actual(
            target, row.raw, scope.period, previous=before.number if before else None, today=clock.today()
        )
        if reading.errors:
            continue
        current_actual = actual_of(now_actuals.get(indicator.id))
        if row.raw.forecast is None:  # not sent: the stored forecast stays (as `save` keeps it)
            reading.actual.forecast = current_actual.forecast
        yours = _actual_cells(target, reading.actual)
        current = _actual_cells(target, current_actual)
        base = _actual_cells(target, actual_of(base_actuals.get(indicator.id)))
        cells += [
            Cell(row.location, indicator.code, indicator.name, name, label, yours[name], current[name], base[name])
            for name, label in ACTUAL_FIELDS
            if yours[name] != current[name]
        ]
    budgets = budgets_in_force(session, scope) if spend_rows else {}
    for row in spend_rows:
        project = scope.projects.get((row.project_code or "").strip())
        if project is None or (skip_blank and not (str(row.spent or "").strip() or str(row.budget or "").strip())):
            continue
        spend, errors = read_spend(
            row.spent, row.budget, project.budget, budgets.get(project.id), forecast_text=row.forecast or ""
        )
        if errors:
            continue
        if row.forecast is None:  # not sent: the stored forecast stays (as `save` keeps it)
            spend.forecast = _spend_of(now_spend.get(project.id)).forecast
        yours, current, base = (
            _spend_cells(spend),
            _spend_cells(_spend_of(now_spend.get(project.id))),
            _spend_cells(_spend_of(base_spend.get(project.id))),
        )
        cells += [
            Cell(
                row.location,
                project.code,
                f"{project.name}（资金）",
                name,
                label,
                yours[name],
                current[name],
                base[name],
            )
            for name, label in SPEND_FIELDS
            if yours[name] != current[name]
        ]
    return cells


def _spend_of(entry: SpendEntry | None) -> Spend:
    return Spend(entry.spent, entry.budget, forecast=entry.forecast) if entry else Spend()


# The report form's input names, per cell (see report.html).
_FORM_NAMES = {
    "expected_on": "e",
    "likelihood": "l",
    "cause_category": "cc",
    "cause_text": "ct",
    "measure_text": "m",
    "decrease_reason": "dr",
    "spent": "sp",
    "budget": "bd",
    "forecast": "fc",
    "forecast_spent": "sf",
}


def merged_form(form: Mapping[str, str], scope: Scope, cells: list[Cell]) -> dict[str, str]:
    """The form as typed, except that cells the writer did not change (theirs moved on since) show the
    current value: saving it again keeps everyone's changes and the writer's own."""
    merged = dict(form.items())
    for cell in cells:
        if cell.changed_by_you:
            continue
        code = cell.code
        if cell.field != "value":
            merged[f"{_FORM_NAMES[cell.field]}-{code}"] = cell.current
            if cell.field == "decrease_reason":
                merged[f"cd-{code}"] = "1" if cell.current else ""
            continue
        indicator = scope.indicators[code][0]
        if indicator.kind == "deadline":
            state = "not_done" if cell.current == "未完成" else ("done" if cell.current else "")
            merged[f"ds-{code}"], merged[f"v-{code}"] = state, cell.current if state == "done" else ""
        else:
            merged[f"v-{code}"] = cell.current
    return merged
