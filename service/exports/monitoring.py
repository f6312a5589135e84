"""The 项目支出绩效目标执行监控表 (财预〔2019〕136号) for any month-end cut-off, as a workbook.

Sheet 汇总: the bureau's totals and each division's (budget, spend, execution against 序时进度, projects and
indicators by status), then every project with its status.  Sheet 执行监控表: one block per project in the
official layout (项目名称, 主管部门, 实施单位; the funds rows; 年度总体目标; the indicator rows with the five
tick columns of 偏差原因分析, the explanation, 完成目标可能性 and 备注), each starting a page, A4
landscape.  Sheet 指标: one line per indicator with its status, for filtering.  The statuses and the money
are those of the status engine as of the cut-off (`monitoring.compute_statuses`), so the workbook says
what the overview would say on that day; values come from reports submitted for quarters ended by then,
spend from the treasury payments when the year has any.  Every block prints the data it used.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import select as select_columns  # many columns, typed loosely (sqlmodel's stops at four)
from sqlalchemy.engine import Row
from sqlmodel import Session, select
from sqlmodel import col as column  # typed column expressions (this module's loops say `col`)

from ..db import core_rows
from ..domain.actuals import Actual, describe_actual
from ..domain.overview import Totals, summarize
from ..domain.periods import Period
from ..domain.status import PROJECT_STATUSES, STATUS_TONE, TONE_COLOURS, WORST_FIRST, StatusSettings
from ..domain.targets import format_decimal
from ..domain.vocabulary import CauseCategory, Likelihood, SpendSource, Status, TargetKind
from ..execution import quarters_ended
from ..memory import without_cycle_collection
from ..models import ActualEntry, Division, FiscalYear, Indicator, Project, Report, SpendEntry
from ..monitoring import compute_statuses
from ..monitoring_read import project_figures
from ..organisation import unit_names
from ..stored_targets import TARGET_COLUMNS, target_of_columns
from .sheets import HEADER, TITLE, Book, Column, Page, Sheet, Style, widths_for_content

SIZE = 9  # a dense form printed landscape
CENTRAL_LIKELIHOOD_WORDS = (Likelihood.CERTAIN.label, Likelihood.POSSIBLE.label, "完全不可能")  # 财预〔2019〕136号
TICK = "✓"
FORM_WIDTHS = (6, 7, 8, 15, 10, 12, 12, 4.5, 4.5, 4.5, 4.5, 4.5, 17, 6.5, 12)  # A–O, in units (scaled to fit)
CAUSE_COLUMNS = 7  # H: the first of the five tick columns
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

_BODY = Style(size=SIZE, border=True, valign="vcenter")
_LABEL = Style(size=SIZE, border=True, bold=True, align="center", valign="vcenter", fill=HEADER.fill)
_CENTER = Style(size=SIZE, border=True, align="center", valign="vcenter")
_NUMBER = Style(size=SIZE, border=True, align="right", valign="vcenter", number_format="#,##0.00")
_NOTE = Style(size=SIZE - 0.5, italic=True)
_PLAIN = Style(size=SIZE)
_PLAIN_NUMBER = Style(size=SIZE, align="right")


TARGET_AT = 7  # the indicator rows read below: what the form shows, then the target (`target_of_columns`)
# The fields of `Actual`, in its order, as an entry stores them.
ACTUAL_FIELDS: tuple = tuple(column(getattr(ActualEntry, name)) for name in Actual.__dataclass_fields__)


@dataclass(frozen=True)
class Line:
    """What the form says of one indicator."""

    indicator: Row  # id, project_id, code, level1, level2, name, raw_value and the target's columns, by name
    status: Status
    actual: Actual
    quarter: int | None  # the quarter of the report the value comes from
    value: str  # 截至目前完成值, as `describe_actual` says it
    outlook: str  # 全年预计完成情况


@lru_cache(maxsize=64)
def status_style(status: Status, size: float = SIZE) -> Style:
    """A status cell: its label on its tone's colour (the domain's scale, as on the pages); one style object
    per status, so that a workbook looks its format up by the object rather than by its fields."""
    background, text = TONE_COLOURS[STATUS_TONE[status]]
    return Style(size=size, fill=background, color=text, bold=True, align="center", valign="vcenter", border=True)


def legend_text() -> str:
    """The colours' meaning, as the pages' legend says it."""
    parts = []
    for tone in TONE_COLOURS:
        names = "、".join(s.label for s in WORST_FIRST if STATUS_TONE[s] == tone)
        parts.append(f"{tone.label}（{names}）")
    return "状态颜色说明：" + "；".join(parts)


def default_cutoff(year: int) -> date:
    """The form's usual cut-off: the end of July (1–7月)."""
    return date(year, 7, 31)


@without_cycle_collection
def build_monitoring_workbook(
    session: Session,
    year_value: int,
    as_of: date,
    settings: StatusSettings = StatusSettings(),
    likelihood_words: Sequence[str] = CENTRAL_LIKELIHOOD_WORDS,
    names: tuple[str, str] | None = None,
) -> io.BytesIO:
    """NAMES: (主管部门, 实施单位) as the app's settings make them (`organisation.unit_names`); else the
    organisation's record alone."""
    year = session.exec(select(FiscalYear).where(FiscalYear.year == year_value)).one()
    indicator_rows, project_rows = [], []
    for batch in compute_statuses(session, year.year, as_of, settings):
        indicator_rows += batch.indicator_rows
        project_rows += batch.project_rows
    statuses = {row["indicator_id"]: row for row in indicator_rows}
    projects_status = {row["project_id"]: row for row in project_rows}
    entries = _latest_entries(session, year, as_of)
    spend_forecasts = _spend_forecasts(session, year, as_of)
    projects = {
        project.id: project for project in session.exec(select(Project).where(Project.fiscal_year_id == year.id))
    }
    divisions = {division.id: division for division in session.exec(select(Division))}
    rows = core_rows(
        session,
        select_columns(
            column(Indicator.id),
            column(Indicator.project_id),
            column(Indicator.code),
            column(Indicator.level1),
            column(Indicator.level2),
            column(Indicator.name),
            column(Indicator.raw_value),
            *(column(target) for target in TARGET_COLUMNS),
        )
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == year.id)
        .order_by(Project.code, Indicator.row_order),
    ).all()
    blocks: dict[int, tuple[Project, Division, list[Line]]] = {}
    unreported = Actual()
    for indicator in rows:
        actual, quarter = entries.get(indicator.id, (unreported, None))
        computed = statuses[indicator.id]
        target = target_of_columns(indicator[TARGET_AT:])
        projection = computed["projection"]
        if actual.forecast:  # the division's own 全年预计完成值 (Q2/Q3 report) before the machine's
            numeric = target.kind not in (TargetKind.QUALITATIVE, TargetKind.DEADLINE)
            outlook = f"{actual.forecast}{target.unit}" if numeric else actual.forecast
        elif projection is not None:
            outlook = f"{format_decimal(projection)}{target.unit}（系统按进度推算）"
        else:
            outlook = describe_actual(target, actual)
        line = Line(indicator, Status(computed["status"]), actual, quarter, describe_actual(target, actual), outlook)
        block = blocks.get(indicator.project_id)
        if block is None:
            project = projects[indicator.project_id]
            block = blocks[project.id] = (project, divisions[project.division_id], [])
        block[2].append(line)
    for project in projects.values():
        if project.id not in blocks:  # a project without indicators still has its funds block
            blocks[project.id] = (project, divisions[project.division_id], [])
    names = names or unit_names(session)
    ordered = sorted(blocks.values(), key=lambda block: block[0].code)
    book = Book()
    cutoff = f"1–{as_of.month}月" if as_of.year == year.year else "全年"
    note = f"截至 {as_of.isoformat()}（{cutoff}）"
    figures = project_figures(session, year.id, project_rows)
    _summary(book, year.year, as_of, cutoff, figures, note)
    _projects(book, year.year, as_of, cutoff, figures, note)
    form_page = Page(landscape=True, note=note)
    budget = form_page.width_budget(len(FORM_WIDTHS))
    scale = min(1.0, budget / sum(FORM_WIDTHS))
    form = book.sheet("执行监控表", [round(w * scale, 1) for w in FORM_WIDTHS], form_page)
    for index, (project, division, lines) in enumerate(ordered):
        if index:
            form.next_row += 1
            form.break_before(form.next_row)
        _block(
            form,
            year.year,
            as_of,
            cutoff,
            project,
            division,
            lines,
            projects_status[project.id],
            spend_forecasts.get(project.id),
            names,
            likelihood_words,
        )
    _indicator_sheet(book, year.year, as_of, ordered, note)
    return book.save()


def _submitted_entries(
    session: Session, year: FiscalYear, as_of: date, entry: type[ActualEntry] | type[SpendEntry], *fields
):
    """FIELDS of the current ENTRY rows (actuals or spend) of the submitted reports of quarters ended by AS_OF,
    then each report's quarter, earliest quarter first (so a later report's row wins when put in a dict)."""
    quarters = list(range(1, quarters_ended(year.year, as_of) + 1))
    if not quarters:
        return []
    return core_rows(
        session,
        select_columns(*fields, column(Report.quarter))
        .join(Report, Report.id == entry.report_id)
        .where(
            Report.fiscal_year_id == year.id,
            Report.quarter.in_(quarters),
            Report.first_submitted_at.is_not(None),
            entry.is_current.is_(True),
        )
        .order_by(Report.quarter),
    ).all()


def _latest_entries(session: Session, year: FiscalYear, as_of: date) -> dict[int, tuple[Actual, int]]:
    """Each indicator's current entry in its latest submitted report of a quarter ended by AS_OF."""
    rows = _submitted_entries(session, year, as_of, ActualEntry, ActualEntry.indicator_id, *ACTUAL_FIELDS)
    return {row[0]: (Actual(*row[1:-1]), row[-1]) for row in rows}


def _spend_forecasts(session: Session, year: FiscalYear, as_of: date) -> dict[int, Decimal | None]:
    """Each project's 全年预计执行数 as its latest submitted report of a quarter ended by AS_OF states it."""
    rows = _submitted_entries(session, year, as_of, SpendEntry, SpendEntry.project_id, SpendEntry.forecast)
    return {project_id: forecast for project_id, forecast, _quarter in rows}


def _block(sheet: Sheet, year, as_of, cutoff, project, division, lines, status, spend_forecast, names, words) -> None:
    """One project in the official layout, from the sheet's next row."""
    top = sheet.next_row
    row = top
    sheet.write(row, 0, "项目支出绩效目标执行监控表", TITLE, across=15)
    row += 1
    sheet.write(
        row, 0, f"（{year} 年度）　截至 {as_of.isoformat()}（{cutoff}）", Style(size=SIZE, align="center"), across=15
    )
    row += 1
    sheet.write(row, 0, "项目名称", _LABEL, across=2)
    sheet.write(row, 2, f"{project.name}（{project.code}）", _BODY, across=13)
    row += 1
    sheet.write(row, 0, "主管部门及代码", _LABEL, across=2)
    sheet.write(row, 2, names[0], _BODY, across=6)
    sheet.write(row, 8, "实施单位", _LABEL, across=2)
    sheet.write(row, 10, names[1], _BODY, across=5)
    row += 1
    row = _funds(sheet, row, cutoff, project, status, spend_forecast)
    row = _goals(sheet, row, cutoff, project, lines)
    row = _indicators(sheet, row, year, cutoff, lines, words)
    sheet.write(row, 0, _sources(as_of, status, lines), _NOTE, across=15)
    sheet.keep_together(top, row)
    sheet.next_row = row + 1


def _funds(sheet: Sheet, row: int, cutoff: str, project: Project, status: dict, forecast: Decimal | None) -> int:
    """FORECAST: the division's 全年预计执行数 (blank when not stated: the form asks for the unit's own view)."""
    heads = ["年初预算数", "全年预算数", f"{cutoff}执行数", "执行率"]
    sheet.write(row, 0, "项目资金（万元）", _LABEL, down=5)
    sheet.write(row, 1, "", _LABEL, across=2)
    for offset, head in enumerate(heads):
        sheet.write(row, 3 + offset, head, _LABEL)
    sheet.write(row, 7, "全年预计执行数", _LABEL, across=2)
    sheet.write(row, 9, "偏差原因分析", _LABEL, across=4)
    sheet.write(row, 13, "完成目标可能性", _LABEL)
    sheet.write(row, 14, "备注", _LABEL)
    spent, budget, rate = status["spent"], status["budget"], status["execution_rate"]
    fiscal_only = project.fiscal_funds is None or not project.other_funds
    lag = f"执行率低于序时进度 {status['expected_rate']}% 超过允许的差距" if status["budget_lagging"] else ""
    source = ""
    if status["spent_through"] is not None:
        source = f"{SpendSource.label_of(status['spend_source'])}（截至 {status['spent_through']:%m-%d}）"
    funds = [
        ("年度资金总额", project.budget, budget, spent, rate, forecast, lag, source),
        (
            "其中：财政拨款",
            project.fiscal_funds if project.fiscal_funds is not None else project.budget,
            budget if fiscal_only else None,
            spent if fiscal_only else None,
            rate if fiscal_only else None,
            forecast if fiscal_only else None,
            "",
            "",
        ),
        ("上年结转资金", None, None, None, None, None, "", ""),
        ("其他资金", project.other_funds or None, None, None, None, None, "", ""),
    ]
    for name, initial, in_force, to_date, execution, expected, cause, remark in funds:
        row += 1
        sheet.write(row, 1, name, _BODY, across=2)
        for offset, value in enumerate((initial, in_force, to_date)):
            sheet.write(row, 3 + offset, value, _NUMBER if value is not None else _BODY)
        sheet.write(row, 6, f"{execution}%" if execution is not None else "", _CENTER)
        sheet.write(row, 7, expected, _NUMBER if expected is not None else _BODY, across=2)
        sheet.write(row, 9, cause, _BODY, across=4)
        sheet.write(row, 13, "", _CENTER)
        sheet.write(row, 14, remark, _BODY)
    return row + 1


def _goals(sheet: Sheet, row: int, cutoff: str, project: Project, lines: list[Line]) -> int:
    sheet.write(row, 0, "年度总体目标", _LABEL, down=2)
    sheet.write(row, 1, "全年预期目标", _LABEL, across=7)
    sheet.write(row, 8, f"{cutoff}执行情况", _LABEL, across=7)
    goals = "\n".join(f"{i}. {goal}" for i, goal in enumerate(project.goals or [], start=1))
    sheet.write(row + 1, 1, goals, _BODY, across=7)
    sheet.write(row + 1, 8, _progress(lines), _BODY, across=7)
    return row + 2


def _progress(lines: list[Line]) -> str:
    """What the indicators say, counted by status (the division writes the narrative in its report)."""
    if not lines:
        return ""
    counts: dict[Status, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    shown = "、".join(f"{status.label} {counts[status]}" for status in WORST_FIRST if status in counts)
    return f"{len(lines)} 项指标：{shown}（系统汇总）"


def _indicators(sheet: Sheet, row: int, year: int, cutoff: str, lines: list[Line], words: Sequence[str]) -> int:
    sheet.write(row, 0, "绩效指标", _LABEL, down=2 + max(len(lines), 1))
    for col, head in ((1, "一级指标"), (2, "二级指标"), (3, "三级指标"), (4, "年度指标值")):
        sheet.write(row, col, head, _LABEL, down=2)
    sheet.write(row, 5, f"{cutoff}执行情况", _LABEL, down=2)
    sheet.write(row, 6, "全年预计完成情况", _LABEL, down=2)
    sheet.write(row, CAUSE_COLUMNS, "偏差原因分析", _LABEL, across=6)
    for offset, cause in enumerate(CauseCategory):
        sheet.write(row + 1, CAUSE_COLUMNS + offset, cause.label, _LABEL)
    sheet.write(row + 1, CAUSE_COLUMNS + 5, "原因说明", _LABEL)
    sheet.write(row, 13, "完成目标可能性", _LABEL, down=2)
    sheet.write(row, 14, "备注", _LABEL, down=2)
    row += 2
    if not lines:
        sheet.write(row, 1, "（本项目没有绩效指标）", _BODY, across=14)
        return row + 1
    wording = dict(zip(Likelihood, words, strict=True))
    for index, line in enumerate(lines):
        indicator, actual = line.indicator, line.actual
        for col, attribute in ((1, "level1"), (2, "level2")):
            value = getattr(indicator, attribute)
            first = index == 0 or getattr(lines[index - 1].indicator, attribute) != value
            if col == 2:
                first = first or lines[index - 1].indicator.level1 != indicator.level1
            if first:
                run = 1
                while (
                    index + run < len(lines)
                    and getattr(lines[index + run].indicator, attribute) == value
                    and lines[index + run].indicator.level1 == indicator.level1
                ):
                    run += 1
                sheet.write(row, col, value, _CENTER, down=run)
        sheet.write(row, 3, indicator.name, _BODY)
        sheet.write(row, 4, indicator.raw_value, _CENTER)
        sheet.write(row, 5, line.value, _BODY)
        sheet.write(row, 6, line.outlook, _BODY)
        for offset, cause in enumerate(CauseCategory):
            sheet.write(row, CAUSE_COLUMNS + offset, TICK if actual.cause_category == cause else "", _CENTER)
        explanation = "；".join(
            text
            for text in (actual.cause_text, f"改进措施：{actual.measure_text}" if actual.measure_text else "")
            if text
        )
        sheet.write(row, CAUSE_COLUMNS + 5, explanation, _BODY)
        sheet.write(row, 13, wording.get(Likelihood(actual.likelihood), "") if actual.likelihood else "", _CENTER)
        reported = f"（Q{line.quarter}）" if line.quarter else ""
        sheet.write(row, 14, f"{line.status.label}{reported}", status_style(line.status))
        row += 1
    return row


def _sources(as_of: date, status: dict, lines: list[Line]) -> str:
    quarters = "、".join(f"Q{q}" for q in sorted({line.quarter for line in lines if line.quarter}))
    day = as_of.isoformat()
    values = (
        f"指标执行情况取自已提交的 {quarters} 季度报告（截至 {day} 已结束的季度）"
        if quarters
        else f"截至 {day} 尚无已提交的季度报告"
    )
    if status["spent_through"] is not None:
        through = status["spent_through"].isoformat()
        source = SpendSource.label_of(status["spend_source"])
        money = f"执行数取自{source}，截至 {through}，序时进度 {status['expected_rate']}%"
    else:
        money = "尚无执行数"
    return f"数据来源：{values}；{money}。备注栏为系统按统一口径计算的状态。{legend_text()}"


def _summary(book: Book, year: int, as_of: date, cutoff: str, figures, note: str) -> None:
    """The bureau's totals and each division's, then every project with its status."""
    bureau, divisions = summarize(figures)
    heads = [
        "处室",
        "项目数",
        "全年预算数（万元）",
        f"{cutoff}执行数（万元）",
        "执行率",
        "序时进度",
        "执行滞后项目",
        "指标数",
    ]
    shown = list(PROJECT_STATUSES)
    columns = [Column(h, 6, 16) for h in heads] + [Column(s.label, 4.5, 6) for s in shown]
    rows = [_totals_row(name, totals, shown) for name, totals in divisions.items()]
    rows.append(_totals_row("全局合计", bureau, shown))
    page = Page(landscape=True, title_rows=(0, 2), note=note)
    sheet = book.sheet("汇总", widths_for_content(columns, rows, page, SIZE), page)
    sheet.write(
        0,
        0,
        f"{year} 年度项目支出绩效目标执行监控汇总（截至 {as_of.isoformat()}，{cutoff}）",
        TITLE,
        across=len(columns),
    )
    sheet.write(
        1,
        0,
        "各状态列为项目数（项目状态取其指标中最需关注的状态；未到期和定性指标不计入）。",
        _PLAIN,
        across=len(columns),
    )
    sheet.append(
        [c.title for c in columns], Style(size=SIZE, bold=True, fill=HEADER.fill, valign="vcenter", border=True)
    )
    for values in rows:
        line = sheet.next_row
        for col, value in enumerate(values):
            bold = values[0] == "全局合计"
            style = _NUMBER if isinstance(value, Decimal) else _CENTER if col else _BODY
            sheet.write(line, col, value, replace(style, bold=bold))
        sheet.next_row = line + 1
    sheet.write(sheet.next_row + 1, 0, legend_text(), _PLAIN, across=len(columns))
    sheet.worksheet.freeze_panes(3, 1)


def _projects(book: Book, year: int, as_of: date, cutoff: str, figures, note: str) -> None:
    """Every project with its status and execution, by division."""
    heads = [
        "处室",
        "项目编号",
        "项目名称",
        "状态",
        "全年预算数（万元）",
        f"{cutoff}执行数（万元）",
        "执行率",
        "序时进度",
    ]
    rows = []
    for figure in figures:
        rate = None
        if figure.spent is not None and figure.budget:
            rate = (figure.spent / figure.budget * 100).quantize(Decimal("0.01"))
        expected = f"{figure.expected_rate}%" if figure.expected_rate is not None else ""
        rows.append(
            [
                figure.division,
                figure.code,
                figure.name,
                Status(figure.status),
                figure.budget,
                figure.spent,
                f"{rate}%" if rate is not None else "",
                expected,
                "是" if figure.budget_lagging else "",
            ]
        )
    columns = [Column("处室", 6, 12), Column("项目编号", 8, 8), Column("项目名称", 16, 48), Column("状态", 5, 6)]
    columns += [Column(h, 8, 11) for h in heads[4:-1]] + [Column("执行滞后", 5, 5)]
    page = Page(landscape=True, title_rows=(0, 1), note=note)
    sheet = book.sheet("项目状态", widths_for_content(columns, rows, page, SIZE), page)
    sheet.write(
        0, 0, f"{year} 年度各项目状态与预算执行（截至 {as_of.isoformat()}，{cutoff}）", TITLE, across=len(heads)
    )
    sheet.append(heads, Style(size=SIZE, bold=True, fill=HEADER.fill, valign="vcenter", border=True))
    for values in rows:
        line = sheet.next_row
        for col, value in enumerate(values):
            if isinstance(value, Status):
                sheet.write(line, col, value.label, status_style(value))
            else:
                sheet.write(line, col, value, _NUMBER if isinstance(value, Decimal) else _BODY)
        sheet.next_row = line + 1
    sheet.write(sheet.next_row, 0, legend_text(), _PLAIN, across=len(heads))
    sheet.worksheet.freeze_panes(2, 3)


def _totals_row(name: str, totals: Totals, shown: list[Status]) -> list:
    return [
        name,
        totals.projects,
        totals.budget.quantize(Decimal("0.01")),
        totals.spent.quantize(Decimal("0.01")),
        f"{totals.rate}%" if totals.rate is not None else "",
        f"{totals.expected_rate}%" if totals.expected_rate is not None else "",
        totals.budget_lagging,
        totals.indicators,
        *[totals.project_statuses.get(status, "") for status in shown],
    ]


def _indicator_sheet(book: Book, year: int, as_of: date, blocks, note: str) -> None:
    """One line per indicator with its status, for filtering (merged by project)."""
    rows = []
    for project, division, lines in blocks:
        for line in lines:
            indicator, actual = line.indicator, line.actual
            rows.append(
                [
                    division.name,
                    project.code,
                    project.name,
                    indicator.code,
                    indicator.level1,
                    indicator.level2,
                    indicator.name,
                    indicator.raw_value,
                    line.value,
                    Period(year, line.quarter).code if line.quarter else "",
                    line.outlook,
                    actual.likelihood,
                    line.status,
                    actual.cause_category,
                    actual.cause_text,
                    actual.measure_text,
                ]
            )
    page = Page(landscape=True, title_rows=(0, 1), note=note)
    sheet = book.sheet("指标", widths_for_content(INDICATOR_COLUMNS, rows, page, SIZE), page)
    sheet.write(0, 0, f"{year} 年度绩效指标执行情况（截至 {as_of.isoformat()}）", TITLE, across=len(INDICATOR_COLUMNS))
    sheet.append([c.title for c in INDICATOR_COLUMNS], Style(size=SIZE, bold=True, fill=HEADER.fill, valign="vcenter"))
    start, merged = sheet.next_row, 3
    for index, row in enumerate(rows):
        line = sheet.next_row
        for col, value in enumerate(row[merged:], start=merged):
            if isinstance(value, Status):
                sheet.write(line, col, value.label, status_style(value))
            else:
                sheet.write(line, col, value, _PLAIN_NUMBER if isinstance(value, (int, Decimal)) else _PLAIN)
        sheet.next_row = line + 1
        if index + 1 == len(rows) or rows[index + 1][:merged] != row[:merged]:
            for col, value in enumerate(row[:merged]):
                sheet.write(start, col, value, _PLAIN, down=line - start + 1)
            sheet.keep_together(start, line)
            start = line + 1
    sheet.write(sheet.next_row, 0, legend_text(), _PLAIN, across=len(INDICATOR_COLUMNS))
    sheet.worksheet.freeze_panes(2, 0)
