"""The in-year monitoring table (绩效运行监控表) as of a date, as a workbook.

Sheet 指标: one row per indicator: target, value to date, expected full-year outcome,
likelihood, status, deviation cause and measure.  Sheet 预算执行: per project, budget
(as adjusted), spend to date, execution rate against 序时进度.  Values come from reports
submitted for periods ended by the as-of date.
"""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlmodel import Session, select

from ..domain.actuals import describe_actual
from ..domain.periods import Period
from ..domain.status import Reported, StatusSettings, budget_execution, indicator_status
from ..domain.targets import format_decimal
from ..models import ActualEntry, Division, FiscalYear, Indicator, Project, Report, SpendEntry
from ..reporting.reports import actual_of, spec_of

INDICATOR_HEADER = ["处室", "项目编号", "项目名称", "指标编号", "一级指标", "二级指标", "三级指标", "年度指标值",
                    "截至目前完成值", "截至期间", "全年预计完成情况", "完成可能性", "状态", "偏差原因类别",
                    "偏差原因分析", "改进措施"]
BUDGET_HEADER = ["处室", "项目编号", "项目名称", "年初预算数（万元）", "全年预算数（万元）", "执行数（万元）", "执行率",
                 "序时进度", "执行滞后"]


def _latest_entries(session: Session, year: FiscalYear, as_of: date, model, key):
    quarters = [p.quarter for p in (Period(year.year, q) for q in range(1, 5)) if p.end <= as_of]
    if not quarters:
        return {}
    rows = session.exec(select(model, Report.quarter).join(Report, Report.id == model.report_id)
                        .where(Report.fiscal_year_id == year.id, Report.quarter.in_(quarters),
                               Report.first_submitted_at.is_not(None), model.is_current.is_(True))
                        .order_by(Report.quarter)).all()
    return {getattr(entry, key): (entry, quarter) for entry, quarter in rows}


def build_monitoring_workbook(session: Session, year_value: int, as_of: date,
                              settings: StatusSettings = StatusSettings()) -> io.BytesIO:
    year = session.exec(select(FiscalYear).where(FiscalYear.year == year_value)).one()
    settings = StatusSettings(settings.progress_mode, settings.at_risk_tolerance, settings.due_soon_days,
                              settings.budget_lag_points, year.report_due_days)
    actuals = _latest_entries(session, year, as_of, ActualEntry, "indicator_id")
    spend = _latest_entries(session, year, as_of, SpendEntry, "project_id")
    rows = session.exec(select(Indicator, Project, Division).join(Project, Project.id == Indicator.project_id)
                        .join(Division, Division.id == Project.division_id)
                        .where(Project.fiscal_year_id == year.id)
                        .order_by(Project.code, Indicator.row_order)).all()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "指标"
    _title(sheet, f"{year.year} 年度绩效运行监控表（截至 {as_of.isoformat()}）", INDICATOR_HEADER)
    projects: dict[int, tuple[Project, Division]] = {}
    for indicator, project, division in rows:
        projects[project.id] = (project, division)
        spec = spec_of(indicator)
        entry, quarter = actuals.get(indicator.id, (None, None))
        actual = actual_of(entry)
        reported = Reported(quarter, actual.number, actual.done, actual.done_on, actual.likelihood) if entry else None
        status = indicator_status(spec, year.year, as_of, reported, settings)
        outlook = describe_actual(spec, actual)
        if status.projection is not None:
            outlook = f"{format_decimal(status.projection)}{spec.unit}（按当前进度线性推算）"
        sheet.append([division.name, project.code, project.name, indicator.code, indicator.level1, indicator.level2,
                      indicator.name, indicator.raw_value, describe_actual(spec, actual),
                      Period(year.year, quarter).code if quarter else "", outlook, actual.likelihood,
                      status.status.label, actual.cause_category, actual.cause_text, actual.measure_text])
    budget_sheet = workbook.create_sheet("预算执行")
    _title(budget_sheet, f"{year.year} 年度预算执行（截至 {as_of.isoformat()}）", BUDGET_HEADER)
    for project, division in sorted(projects.values(), key=lambda pd: pd[0].code):
        entry, _quarter = spend.get(project.id, (None, None))
        budget = entry.budget if entry and entry.budget is not None else project.budget
        spent = entry.spent if entry else None
        execution = budget_execution(spent, budget, year.year, as_of, settings)
        budget_sheet.append([division.name, project.code, project.name, float(project.budget), float(budget),
                             float(spent) if spent is not None else None,
                             f"{execution.rate}%" if execution.rate is not None else "",
                             f"{execution.expected_rate}%", "是" if execution.lagging else ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def _title(sheet, title: str, header: list[str]) -> None:
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
