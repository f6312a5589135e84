"""The 项目支出绩效自评表 workbook: one A4 sheet per project in the standard layout (docs/domain.md §8.6),
a summary sheet and a sheet of findings; for one project, a division or the whole bureau."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from ..clock import clock
from ..domain.actuals import join_explanation
from ..domain.scoring import ProjectScore, ScoringPolicy
from ..evaluation import division_notes, evaluate, results_of_run
from ..models import ActualEntry, Division, EvaluationRun, FiscalYear, Indicator, Project, Report
from .sheets import HEADER_FILL, TITLE, Book, Column, Page, Style, widths_for_content

COLUMNS = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
# The form's layouts, tried in turn: body size (pt) and the units of its 8 columns, one portrait A4 page
# wide at 100 %.  一级/二级指标 are merged down their indicators, as on the printed standard form, so they
# can be narrow.  At 10 pt a form may be shrunk to fit one page down to MIN_PRINTED_SIZE on paper; at
# 9 pt (the smallest size people sign off) it is not shrunk, and the columns are shared between the
# indicator names and the explanations in the way that makes the form shortest.
MIN_PRINTED_SIZE = 9.2
FORM_LAYOUTS = [
    (10, [7.6, 7.6, 16, 10, 10, 5, 5, 26.3]),
    (9, [6.8, 6.8, 23.5, 9, 9, 5, 5, 22.9]),
    (9, [6.8, 6.8, 19.5, 9, 9, 5, 5, 26.9]),
    (9, [6.8, 6.8, 16, 9, 9, 5, 5, 30.4]),
]
DEPARTMENT = "天津市商务局"
SUMMARY_COLUMNS = [
    Column("项目编号", 8, 8),
    Column("项目名称", 16, 40),
    Column("处室", 8, 18),
    Column("全年预算数（万元）", 8, 10),
    Column("全年执行数（万元）", 8, 10),
    Column("执行率", 6, 7),
    Column("得分", 5, 6),
    Column("等级", 4, 4),
]
FINDING_COLUMNS = [Column("项目编号", 8, 8), Column("对象", 10, 16), Column("类型", 10, 22), Column("说明", 30, 80)]

CELL = Style(border=True, valign="vcenter")
LABEL = Style(border=True, valign="vcenter", bold=True, fill=HEADER_FILL)
NUMBER = Style(border=True, valign="vcenter", align="right")
CENTER_LABEL = Style(border=True, valign="vcenter", bold=True, fill=HEADER_FILL, align="center")
TOTAL = Style(border=True, valign="vcenter", bold=True, align="right")


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
    rows = session.execute(
        select(Indicator.code, ActualEntry.cause_text, ActualEntry.measure_text, Report.quarter)
        .join(ActualEntry, ActualEntry.indicator_id == Indicator.id)
        .join(Report, Report.id == ActualEntry.report_id)
        .where(
            Report.fiscal_year_id == year_id,
            Report.first_submitted_at.is_not(None),
            ActualEntry.is_current.is_(True),
            Indicator.project_id.in_(project_ids),
        )
        .order_by(Report.quarter)
    ).all()
    return {code: join_explanation(cause, measure) for code, cause, measure, _q in rows}


def indicator_block(result: ProjectScore, indicators: list[Indicator], explanations: dict[str, str]) -> list[SheetRow]:
    by_code = {i.code: i for i in indicators}
    rows = []
    for score in result.indicators:
        indicator = by_code[score.code]
        lost = score.score < score.weight
        rows.append(
            SheetRow(
                indicator.level1,
                indicator.level2,
                indicator.name,
                indicator.raw_value,
                score.actual,
                score.weight,
                score.score,
                explanations.get(score.code, "") if lost else "",
            )
        )
    return rows


def build_self_evaluation(
    session: Session,
    year: int,
    division: str | None = None,
    project: str | None = None,
    policy: ScoringPolicy = ScoringPolicy(),
    run: EvaluationRun | None = None,
) -> io.BytesIO:
    """Computed in-process from the current data, or (RUN) from a stored run with its overrides and notes."""
    fiscal_year = session.execute(select(FiscalYear).where(FiscalYear.year == year)).scalar_one()
    query = (
        select(Project, Division)
        .join(Division, Division.id == Project.division_id)
        .where(Project.fiscal_year_id == fiscal_year.id)
    )
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
    for indicator in session.execute(
        select(Indicator).where(Indicator.project_id.in_(ids)).order_by(Indicator.row_order)
    ).scalars():
        indicators.setdefault(indicator.project_id, []).append(indicator)
    explanations = explanations_of(session, fiscal_year.id, ids)
    if run is not None:
        explanations.update(division_notes(session, run))
    note = _mark(run)
    summary_rows, finding_rows, forms = [], [], []
    for project_row, division_row in projects:
        result = results.get(project_row.code)
        if result is None:  # not in the run (added to the year after it)
            continue
        budget = result.budget
        summary_rows.append(
            [
                project_row.code,
                project_row.name,
                division_row.name,
                budget.budget,
                budget.spent,
                "" if budget.rate is None else f"{budget.rate}%",
                result.total,
                result.grade,
            ]
        )
        finding_rows.extend([project_row.code, f.subject, f.code, f.message] for f in result.findings)
        forms.append((project_row, division_row, result))
    book = Book()
    _list_sheet(book, "汇总", f"{year} 年度项目支出绩效自评汇总", SUMMARY_COLUMNS, summary_rows, note)
    _list_sheet(book, "待核查", f"{year} 年度项目支出绩效自评待核查事项", FINDING_COLUMNS, finding_rows, note)
    for project_row, division_row, result in forms:
        write_form(
            book,
            year,
            project_row,
            division_row,
            result,
            indicator_block(result, indicators.get(project_row.id, []), explanations),
            note,
        )
    return book.save()


def _mark(run: EvaluationRun | None) -> str:
    """The footer's trial or final mark: a locked run is the final 自评表, anything else a trial."""
    if run is None:
        return f"试算（按 {clock.today().isoformat()} 的数据）"
    made = run.created_at.astimezone(clock.zone).date().isoformat() if run.created_at else ""
    return f"{'定稿' if run.final else '试算'}（第 {run.id} 次计算，{made}）"


def _list_sheet(book: Book, name: str, title: str, columns: list[Column], rows: list[list], note: str) -> None:
    page = Page(title_rows=(0, 1), note=note)
    sheet = book.sheet(name, widths_for_content(columns, rows, page), page)
    sheet.write(0, 0, title, TITLE, across=len(columns))
    sheet.append([c.title for c in columns], CENTER_LABEL)
    for row in rows:
        sheet.append(row, [NUMBER if isinstance(v, (int, float, Decimal)) else CELL for v in row])


def write_form(
    book: Book, year: int, project: Project, division: Division, result: ProjectScore, rows: list[SheetRow], note: str
) -> None:
    """The standard 项目支出绩效自评表 (docs/domain.md §8.6) on one portrait A4 page; a long one continues on the
    next page with the indicator header repeated and the levels written again."""
    choice = None
    for size, widths in FORM_LAYOUTS:  # the first layout that fits one page, else the shortest
        page = _form_page(size, note)
        draft = book.draft(widths, page)
        _fill_form(draft, size, year, project, division, result, rows)
        if draft.fits_one_page():
            choice = (size, widths, page, draft)
            break
        if choice is None or draft.content_height() < choice[3].content_height():
            choice = (size, widths, page, draft)
    size, widths, page, draft = choice
    starts: list[int] = []
    for _attempt in range(0 if draft.fits_one_page() else 3):  # a level split at a page start is written again
        found = draft.page_starts()  # there, which may move the breaks
        if found == starts:
            break
        starts = found
        draft = book.draft(widths, page)
        _fill_form(draft, size, year, project, division, result, rows, starts)
    sheet = book.sheet(project.code[:31], widths, page)
    _fill_form(sheet, size, year, project, division, result, rows, starts)
    for row in starts:
        sheet.break_before(row)


def _form_page(size: float, note: str) -> Page:
    return Page(title_rows=(8, 8), note=note, center=True, one_page_scale=min(1.0, MIN_PRINTED_SIZE / size))


def _runs(values: list, cuts: set[int] = frozenset()) -> list[tuple[int, int]]:
    """(first, count) of each run of equal consecutive VALUES, cut before the indexes in CUTS."""
    runs: list[tuple[int, int]] = []
    for index, value in enumerate(values):
        if runs and values[index - 1] == value and index not in cuts:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((index, 1))
    return runs


def _fill_form(
    sheet,
    size: float,
    year: int,
    project: Project,
    division: Division,
    result: ProjectScore,
    rows: list[SheetRow],
    page_starts: list[int] = (),
) -> None:
    """The form on SHEET at SIZE pt; 一级/二级指标 merged down their indicators, but not across PAGE_STARTS."""
    cell, label, number = replace(CELL, size=size), replace(LABEL, size=size), replace(NUMBER, size=size)
    center, total = replace(CENTER_LABEL, size=size), replace(TOTAL, size=size)
    sheet.write(
        0,
        0,
        "项目支出绩效自评表",
        Style(size=size + 5, bold=True, align="center", valign="vcenter", wrap=False),
        across=8,
    )
    sheet.write(1, 0, f"（{year} 年度）", Style(size=size, align="center", valign="vcenter", wrap=False), across=8)
    sheet.write(2, 0, "项目名称", label)
    sheet.write(2, 1, project.name, cell, across=7)
    sheet.write(3, 0, "主管部门", label)
    sheet.write(3, 1, DEPARTMENT, cell, across=3)
    sheet.write(3, 4, "实施单位", label)
    sheet.write(3, 5, division.name, cell, across=3)
    budget = result.budget
    funds = [
        ("项目资金（万元）", "年度资金总额", cell),
        ("年初预算数", project.budget, number),
        ("全年预算数（A）", budget.budget, number),
        ("全年执行数（B）", budget.spent, number),
        ("分值", budget.weight, number),
        ("执行率（B/A）", "" if budget.rate is None else f"{budget.rate}%", number),
        ("得分", budget.score, number),
    ]
    columns = [0, 1, 2, 3, 4, 5, 7]  # 执行率 spans F:G
    for (head, value, style), col in zip(funds, columns, strict=False):
        sheet.write(4, col, head, center, across=2 if col == 5 else 1)
        sheet.write(5, col, value, style, across=2 if col == 5 else 1)
    sheet.write(6, 0, "年度总体目标", label, down=2)
    sheet.write(6, 1, "预期目标", center, across=5)
    sheet.write(6, 6, "实际完成情况", center, across=2)
    sheet.write(7, 1, "\n".join(project.goals or []) or project.name, cell, across=5)
    done = sum(1 for r in rows if r.score >= r.weight)
    sheet.write(
        7, 6, f"{len(rows)} 项指标中 {done} 项全部达成；得分 {result.total}，等级「{result.grade}」", cell, across=2
    )
    for col, text in enumerate(COLUMNS):
        sheet.write(8, col, text, center)
    first = 9
    for offset, row in enumerate(rows):
        for col, value in enumerate(
            [row.name, row.target, row.actual, row.weight, row.score, row.explanation], start=2
        ):
            sheet.write(first + offset, col, value, number if col in (5, 6) else cell)
    cuts = {row - first for row in page_starts}
    for start, count in _runs([r.level1 for r in rows], cuts):
        sheet.write(first + start, 0, rows[start].level1, cell, down=count)
    for start, count in _runs([(r.level1, r.level2) for r in rows], cuts):
        sheet.write(first + start, 1, rows[start].level2, cell, down=count)
    line = first + len(rows)
    sheet.write(line, 0, "总分", center, across=5)
    sheet.write(line, 5, 100, total)
    sheet.write(line, 6, result.total, total)
    sheet.write(line, 7, f"等级：{result.grade}", replace(total, align="left"))
