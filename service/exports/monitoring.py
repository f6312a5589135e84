"""The in-year monitoring table (绩效运行监控表) as of a date, as a workbook.

Sheet 指标: one row per indicator: target, value to date, expected full-year outcome,
likelihood, status, deviation cause and measure.  Sheet 预算执行: per project, budget
(as adjusted), spend to date, execution rate against 序时进度.  Values come from reports
submitted for periods ended by the as-of date.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from ..domain.actuals import describe_actual
from ..domain.periods import Period
from ..domain.status import Reported, StatusSettings, budget_execution, indicator_status
from ..domain.targets import format_decimal
from ..models import ActualEntry, Division, FiscalYear, Indicator, Project, Report, SpendEntry
from ..reporting.reports import actual_of
from ..stored_targets import target_of
from .sheets import HEADER, TITLE, Book, Column, Page, Style, widths_for_content

SIZE = 9  # a dense table printed landscape: 9 pt keeps a project's rows on one or two pages
INDICATOR_COLUMNS = [
    Column("处室", 5, 7),
    Column("项目编号", 8, 8),
    Column("项目名称", 9, 12),
    Column("指标编号", 10, 10),
    Column("一级指标", 5, 9),
    Column("二级指标", 5, 10),
    Column("三级指标", 10, 24),
    Column("年度指标值", 7, 13),
    Column("截至目前完成值", 7, 15),
    Column("截至期间", 5.5, 6),
    Column("全年预计完成情况", 8, 20),
    Column("完成可能性", 5, 6),
    Column("状态", 5, 7),
    Column("偏差原因类别", 5, 8),
    Column("偏差原因分析", 8, 22),
    Column("改进措施", 8, 22),
]
BUDGET_COLUMNS = [
    Column("处室", 6, 18),
    Column("项目编号", 8, 9),
    Column("项目名称", 14, 40),
    Column("年初预算数（万元）", 9, 11),
    Column("全年预算数（万元）", 9, 11),
    Column("执行数（万元）", 9, 11),
    Column("执行率", 7, 8),
    Column("序时进度", 7, 8),
    Column("执行滞后", 5, 5),
]
INDICATOR_HEADER = [c.title for c in INDICATOR_COLUMNS]
BUDGET_HEADER = [c.title for c in BUDGET_COLUMNS]


def _latest_entries(session: Session, year: FiscalYear, as_of: date, model, key):
    quarters = [p.quarter for p in (Period(year.year, q) for q in range(1, 5)) if p.end <= as_of]
    if not quarters:
        return {}
    rows = session.exec(
        select(model, Report.quarter)
        .join(Report, Report.id == model.report_id)
        .where(
            Report.fiscal_year_id == year.id,
            Report.quarter.in_(quarters),
            Report.first_submitted_at.is_not(None),
            model.is_current.is_(True),
        )
        .order_by(Report.quarter)
    ).all()
    return {getattr(entry, key): (entry, quarter) for entry, quarter in rows}


def build_monitoring_workbook(
    session: Session, year_value: int, as_of: date, settings: StatusSettings = StatusSettings()
) -> io.BytesIO:
    year = session.exec(select(FiscalYear).where(FiscalYear.year == year_value)).one()
    settings = StatusSettings(
        settings.progress_mode,
        settings.at_risk_tolerance,
        settings.due_soon_days,
        settings.budget_lag_points,
        year.report_due_days,
    )
    actuals = _latest_entries(session, year, as_of, ActualEntry, "indicator_id")
    spend = _latest_entries(session, year, as_of, SpendEntry, "project_id")
    rows = session.exec(
        select(Indicator, Project, Division)
        .join(Project, Project.id == Indicator.project_id)
        .join(Division, Division.id == Project.division_id)
        .where(Project.fiscal_year_id == year.id)
        .order_by(Project.code, Indicator.row_order)
    ).all()
    note = f"截至 {as_of.isoformat()}"
    indicator_rows = []
    projects: dict[int, tuple[Project, Division]] = {}
    for indicator, project, division in rows:
        projects[project.id] = (project, division)
        target = target_of(indicator)
        entry, quarter = actuals.get(indicator.id, (None, None))
        actual = actual_of(entry)
        reported = Reported(quarter, actual.number, actual.done, actual.done_on, actual.likelihood) if entry else None
        status = indicator_status(target, year.year, as_of, reported, settings)
        outlook = describe_actual(target, actual)
        if status.projection is not None:
            outlook = f"{format_decimal(status.projection)}{target.unit}（按当前进度线性推算）"
        indicator_rows.append(
            [
                division.name,
                project.code,
                project.name,
                indicator.code,
                indicator.level1,
                indicator.level2,
                indicator.name,
                indicator.raw_value,
                describe_actual(target, actual),
                Period(year.year, quarter).code if quarter else "",
                outlook,
                actual.likelihood,
                status.status.label,
                actual.cause_category,
                actual.cause_text,
                actual.measure_text,
            ]
        )
    budget_rows = []
    for project, division in sorted(projects.values(), key=lambda pd: pd[0].code):
        entry, _quarter = spend.get(project.id, (None, None))
        budget = entry.budget if entry and entry.budget is not None else project.budget
        spent = entry.spent if entry else None
        execution = budget_execution(spent, budget, year.year, as_of, settings)
        budget_rows.append(
            [
                division.name,
                project.code,
                project.name,
                project.budget,
                budget,
                spent,
                f"{execution.rate}%" if execution.rate is not None else "",
                f"{execution.expected_rate}%",
                "是" if execution.lagging else "",
            ]
        )
    book = Book()
    _table(
        book,
        "指标",
        f"{year.year} 年度绩效运行监控表（截至 {as_of.isoformat()}）",
        INDICATOR_COLUMNS,
        indicator_rows,
        note,
        merged=3,
    )
    _table(book, "预算执行", f"{year.year} 年度预算执行（截至 {as_of.isoformat()}）", BUDGET_COLUMNS, budget_rows, note)
    return book.save()


_BODY = Style(size=SIZE)
_NUMBER = Style(size=SIZE, align="right")


def _table(
    book: Book, name: str, title: str, columns: list[Column], rows: list[list], note: str, merged: int = 0
) -> None:
    """Title, header (both repeated on every printed page), one line per row; landscape, one page wide.
    The first MERGED columns (division and project) are written once per project, merged down its rows,
    and a project starts a new page rather than being split when it fits on one."""
    page = Page(landscape=True, title_rows=(0, 1), note=note)
    sheet = book.sheet(name, widths_for_content(columns, rows, page, SIZE), page)
    sheet.write(0, 0, title, TITLE, across=len(columns))
    sheet.append([c.title for c in columns], Style(size=SIZE, bold=True, fill=HEADER.fill, valign="vcenter"))
    start = sheet.next_row
    for index, row in enumerate(rows):
        line = sheet.next_row
        for col, value in enumerate(row[merged:], start=merged):
            sheet.write(line, col, value, _NUMBER if isinstance(value, (int, Decimal)) else _BODY)
        if merged and (index + 1 == len(rows) or rows[index + 1][:merged] != row[:merged]):
            for col, value in enumerate(row[:merged]):
                sheet.write(start, col, value, _BODY, down=line - start + 1)
            sheet.keep_together(start, line)
            start = line + 1
    sheet.worksheet.freeze_panes(2, 0)
