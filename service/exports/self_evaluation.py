"""The 项目支出绩效自评表 workbook: one A4 sheet per project in the standard layout (docs/domain.md §8.6),
a summary sheet and a sheet of findings; for one project, a division or the whole bureau."""
from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from sqlalchemy import select
from sqlmodel import Session

from ..domain.actuals import join_explanation
from ..domain.scoring import ProjectScore, ScoringPolicy
from ..evaluation import division_notes, evaluate, results_of_run
from ..models import ActualEntry, Division, EvaluationRun, FiscalYear, Indicator, Project, Report

COLUMNS = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
WIDTHS = [11, 13, 24, 14, 16, 8, 8, 34]
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="DDEBF7")
DEPARTMENT = "天津市商务局"


@dataclass
class SheetRow:
    """One line of the indicator block, as written (tests compare it with the engine)."""

    level1: str
    level2: str
    name: str
    target: str
    actual: str
    weight: Decimal
    score: Decimal
    explanation: str


def explanations_of(session: Session, year_id: int, project_ids: list[int]) -> dict[str, str]:
    rows = session.execute(select(Indicator.code, ActualEntry.cause_text, ActualEntry.measure_text, Report.quarter)
                           .join(ActualEntry, ActualEntry.indicator_id == Indicator.id)
                           .join(Report, Report.id == ActualEntry.report_id)
                           .where(Report.fiscal_year_id == year_id, Report.first_submitted_at.is_not(None),
                                  ActualEntry.is_current.is_(True), Indicator.project_id.in_(project_ids))
                           .order_by(Report.quarter)).all()
    return {code: join_explanation(cause, measure) for code, cause, measure, _q in rows}


def indicator_block(result: ProjectScore, indicators: list[Indicator], explanations: dict[str, str]) -> list[SheetRow]:
    by_code = {i.code: i for i in indicators}
    rows = []
    for score in result.indicators:
        indicator = by_code[score.code]
        lost = score.score < score.weight
        rows.append(SheetRow(indicator.level1, indicator.level2, indicator.name, indicator.raw_value, score.actual,
                             score.weight, score.score, explanations.get(score.code, "") if lost else ""))
    return rows


def build_self_evaluation(session: Session, year: int, division: str | None = None, project: str | None = None,
                          policy: ScoringPolicy = ScoringPolicy(), run: EvaluationRun | None = None) -> io.BytesIO:
    """Computed in-process from the current data, or (RUN) from a stored run with its overrides and notes."""
    fiscal_year = session.execute(select(FiscalYear).where(FiscalYear.year == year)).scalar_one()
    query = (select(Project, Division).join(Division, Division.id == Project.division_id)
             .where(Project.fiscal_year_id == fiscal_year.id))
    if division:
        query = query.where(Division.code == division)
    if project:
        query = query.where(Project.code == project)
    projects = session.execute(query.order_by(Project.code)).all()
    if not projects:
        raise ValueError("没有符合条件的项目")
    ids = [p.id for p, _ in projects]
    if run is not None:
        results = results_of_run(session, run, ids)
    else:
        wanted = {p.code for p, _ in projects}
        results = {r.project: r for r in evaluate(session, year, project, policy) if r.project in wanted}
    indicators: dict[int, list[Indicator]] = {}
    for indicator in session.execute(select(Indicator).where(Indicator.project_id.in_(ids))
                                     .order_by(Indicator.row_order)).scalars():
        indicators.setdefault(indicator.project_id, []).append(indicator)
    explanations = explanations_of(session, fiscal_year.id, ids)
    if run is not None:
        explanations.update(division_notes(session, run))
    workbook = Workbook()
    summary = workbook.active
    summary.title = "汇总"
    summary.append([f"{year} 年度项目支出绩效自评汇总"])
    summary.append(["项目编号", "项目名称", "处室", "全年预算数（万元）", "全年执行数（万元）", "执行率", "得分", "等级"])
    findings = workbook.create_sheet("待核查")
    findings.append(["项目编号", "对象", "类型", "说明"])
    for project_row, division_row in projects:
        result = results.get(project_row.code)
        if result is None:  # not in the run (added to the year after it)
            continue
        budget = result.budget
        summary.append([project_row.code, project_row.name, division_row.name, float(budget.budget),
                        None if budget.spent is None else float(budget.spent),
                        "" if budget.rate is None else f"{budget.rate}%", float(result.total), result.grade])
        for finding in result.findings:
            findings.append([project_row.code, finding.subject, finding.code, finding.message])
        _project_sheet(workbook.create_sheet(project_row.code[:31]), year, project_row, division_row, result,
                       indicator_block(result, indicators.get(project_row.id, []), explanations))
    for sheet, widths in ((summary, [12, 40, 22, 14, 14, 10, 8, 6]), (findings, [12, 14, 20, 70])):
        for index, width in enumerate(widths):
            sheet.column_dimensions[chr(65 + index)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


FONTS = {bold: Font(bold=bold, size=10) for bold in (False, True)}
ALIGN = {align: Alignment(wrap_text=True, vertical="center", horizontal=align) for align in ("left", "right", "center")}


def _put(sheet, row: int, col: int, value, *, bold=False, fill=None, span: int = 1, align="left"):
    cell = sheet.cell(row=row, column=col, value=value)
    cell.font, cell.alignment = FONTS[bold], ALIGN[align]  # shared style objects: a 1,000-sheet book stays quick
    if fill is not None:
        cell.fill = fill
    for c in range(col, col + span):
        sheet.cell(row=row, column=c).border = BOX
    if span > 1:
        sheet.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
    return cell


def _project_sheet(sheet, year: int, project: Project, division: Division, result: ProjectScore,
                   rows: list[SheetRow]) -> None:
    title = sheet.cell(row=1, column=1, value="项目支出绩效自评表")
    title.font, title.alignment = Font(bold=True, size=15), Alignment(horizontal="center")
    sheet.merge_cells("A1:H1")
    sheet.cell(row=2, column=1, value=f"（{year} 年度）").alignment = Alignment(horizontal="center")
    sheet.merge_cells("A2:H2")
    _put(sheet, 3, 1, "项目名称", bold=True, fill=HEAD)
    _put(sheet, 3, 2, project.name, span=7)
    _put(sheet, 4, 1, "主管部门", bold=True, fill=HEAD)
    _put(sheet, 4, 2, DEPARTMENT, span=3)
    _put(sheet, 4, 5, "实施单位", bold=True, fill=HEAD)
    _put(sheet, 4, 6, division.name, span=3)
    budget = result.budget
    for col, text in enumerate(["项目资金（万元）", "年初预算数", "全年预算数（A）", "全年执行数（B）", "分值", "执行率（B/A）",
                                "得分"], start=1):
        _put(sheet, 5, col, text, bold=True, fill=HEAD, span=2 if col == 7 else 1, align="center")
    values = ["年度资金总额", float(project.budget), float(budget.budget),
              None if budget.spent is None else float(budget.spent), float(budget.weight),
              "" if budget.rate is None else f"{budget.rate}%", float(budget.score)]
    for col, value in enumerate(values, start=1):
        _put(sheet, 6, col, value, span=2 if col == 7 else 1, align="left" if col == 1 else "right")
    _put(sheet, 7, 1, "年度总体目标", bold=True, fill=HEAD)
    _put(sheet, 7, 2, "预期目标", bold=True, fill=HEAD, span=4, align="center")
    _put(sheet, 7, 6, "实际完成情况", bold=True, fill=HEAD, span=3, align="center")
    _put(sheet, 8, 1, "")
    _put(sheet, 8, 2, "\n".join(project.goals or []) or project.name, span=4)
    done = sum(1 for r in rows if r.score >= r.weight)
    _put(sheet, 8, 6, f"{len(rows)} 项指标中 {done} 项全部达成；得分 {result.total}，等级「{result.grade}」", span=3)
    sheet.row_dimensions[8].height = 60
    for col, text in enumerate(COLUMNS, start=1):
        _put(sheet, 9, col, text, bold=True, fill=HEAD, align="center")
    line = 10
    for row in rows:
        for col, value in enumerate([row.level1, row.level2, row.name, row.target, row.actual, float(row.weight),
                                     float(row.score), row.explanation], start=1):
            _put(sheet, line, col, value, align="right" if col in (6, 7) else "left")
        line += 1
    _put(sheet, line, 1, "总分", bold=True, fill=HEAD, span=5, align="center")
    _put(sheet, line, 6, 100, bold=True, align="right")
    _put(sheet, line, 7, float(result.total), bold=True, align="right")
    _put(sheet, line, 8, f"等级：{result.grade}", bold=True)
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(65 + index)].width = width
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "9:9"
    sheet.print_options.horizontalCentered = True
