"""The 项目支出绩效自评表 workbook: one A4 sheet per project in the central layout (`domain.evaluation_form`,
the same model the web page prints), a summary sheet and a sheet of everything still to check (待核查); for
one project, a division or the whole bureau, from a stored run or computed in-process as a trial."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import select
from sqlmodel import Session

from ..clock import clock
from ..domain.closing import TRIAL
from ..domain.evaluation_form import EvaluationForm, FormIndicator, FormProject, build_form, place
from ..domain.scoring import ScoringPolicy
from ..domain.vocabulary import FindingState, RunKind, ScoreFindingKind, Severity
from ..evaluation import ProjectSheet, evaluate, results_of_run, trial_as_of
from ..memory import without_cycle_collection
from ..models import Division, EvaluationRun, FindingRow, FiscalYear, Indicator, Project
from ..organisation import unit_names
from .sheets import HEADER_FILL, TITLE, Book, Column, Page, Style, widths_for_content

# The form's layouts, tried in turn: body size (pt) and the units of its 9 columns (栏目, 一级, 二级, 三级指标,
# 年度指标值, 实际完成值, 分值, 得分, 偏差原因分析及改进措施), one portrait A4 page wide at 100 % (a unit short of
# the page's width budget: LibreOffice rounds nine columns up).  一级/二级指标
# are merged down their indicators, as on the printed standard form, so they can be narrow.  At 10 pt a form may
# be shrunk to fit one page down to MIN_PRINTED_SIZE on paper; at 9 pt (the smallest size people sign off) it is
# not shrunk, and the columns are shared between the indicator names and the explanations in the way that makes
# the form shortest.
MIN_PRINTED_SIZE = 9.2
FORM_LAYOUTS = [
    (10, [4.4, 6.8, 6.8, 16.5, 9.6, 9.6, 5.2, 5.6, 21.5]),
    (9, [4.0, 6.2, 6.2, 22, 8.8, 8.8, 4.8, 5.2, 20]),
    (9, [4.0, 6.2, 6.2, 19, 8.8, 8.8, 4.8, 5.2, 23]),
    (9, [4.0, 6.2, 6.2, 16, 8.8, 8.8, 4.8, 5.2, 26]),
]
SUMMARY_COLUMNS = [
    Column("项目编号", 8, 8),
    Column("项目名称", 16, 40),
    Column("处室", 8, 18),
    Column("全年预算数（万元）", 8, 10),
    Column("全年执行数（万元）", 8, 10),
    Column("执行率", 6, 7),
    Column("得分", 5, 6),
    Column("等级", 4, 5),
    Column("数据来源", 16, 40),
]
FINDING_COLUMNS = [Column("项目编号", 8, 8), Column("对象", 10, 16), Column("类型", 10, 22), Column("说明", 30, 80)]
CELL = Style(border=True, valign="vcenter")
LABEL = Style(border=True, valign="vcenter", bold=True, fill=HEADER_FILL)
CENTER_LABEL = Style(border=True, valign="vcenter", bold=True, fill=HEADER_FILL, align="center")
NUMBER = Style(border=True, valign="vcenter", align="right")


def finding_label(code: str) -> str:
    return ScoreFindingKind.label_of(code, "待核查")


def form_of(
    year: int,
    project: Project,
    division: Division,
    sheet: ProjectSheet,
    indicators: list[Indicator],
    policy: ScoringPolicy,
    names: tuple[str, str],
    *,
    kind: str,
    as_of: date | None,
    archive_version: int | None = None,
    computed_on: date | None = None,
) -> EvaluationForm:
    """The project's 自评表 for a run (or an in-process trial), ready for the page, the print and the workbook."""
    by_code = {i.code: i for i in indicators}
    lines = []
    for score in sheet.result.indicators:
        indicator = by_code[score.code]
        lines.append(
            FormIndicator(
                score.code,
                indicator.level1,
                indicator.level2,
                indicator.name,
                sheet.targets.get(score.code, indicator.raw_value),
                score.actual,
                score.weight,
                score.score,
                sheet.notes.get(score.code, ""),
            )
        )
    department, unit = names
    form_project = FormProject(
        project.code,
        project.name,
        department,
        unit,
        division.name,
        project.budget,
        project.fiscal_funds,
        project.other_funds,
        list(project.goals or []),
        sheet.outcome,
    )
    sources = [sheet.source["text"]] if sheet.source.get("text") else []
    return build_form(
        year,
        form_project,
        sheet.result,
        lines,
        policy,
        kind=kind,
        as_of=as_of,
        archive_version=archive_version,
        exclusion=sheet.excluded,
        sources=sources,
        computed_on=computed_on,
    )


def run_context(run: EvaluationRun | None, year: int) -> dict:
    """How a run's forms are marked: 试算 with its as-of date, or 正式计算 (and its archived version)."""
    if run is None:
        return {"kind": TRIAL, "as_of": trial_as_of(year), "archive_version": None, "computed_on": clock.today()}
    computed = (run.finished_at or run.created_at).astimezone(clock.zone).date()
    return {
        "kind": run.kind,
        "as_of": run.as_of or computed,
        "archive_version": run.archive_version,
        "computed_on": computed,
    }


@without_cycle_collection
def build_self_evaluation(
    session: Session,
    year: int,
    division: str | None = None,
    project: str | None = None,
    policy: ScoringPolicy = ScoringPolicy(),
    run: EvaluationRun | None = None,
    settings=None,
) -> io.BytesIO:
    """From a stored RUN (its overrides, notes and sources), or computed in-process now as a trial."""
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
        sheets = results_of_run(session, run, ids)
        policy = ScoringPolicy.from_dict(run.policy)
    else:
        wanted = {p.code for p, _ in projects}
        sheets = {s.result.project: s for s in evaluate(session, year, project, policy) if s.result.project in wanted}
    context = run_context(run, year)
    indicators: dict[int, list[Indicator]] = {}
    for indicator in session.execute(
        select(Indicator).where(Indicator.project_id.in_(ids)).order_by(Indicator.row_order)
    ).scalars():
        indicators.setdefault(indicator.project_id, []).append(indicator)
    names = unit_names(session, settings)
    note = footer_mark(run, context)
    open_targets: dict[int, list] = {}
    for finding, indicator_code in session.execute(
        select(FindingRow, Indicator.code)
        .join(Indicator, Indicator.id == FindingRow.indicator_id, isouter=True)
        .where(
            FindingRow.project_id.in_(ids),
            FindingRow.state == FindingState.OPEN,
            FindingRow.severity.in_((Severity.WARNING, Severity.ERROR)),
        )
        .order_by(FindingRow.id)
    ).all():
        open_targets.setdefault(finding.project_id, []).append((finding, indicator_code))
    summary_rows, check_rows, forms = [], [], []
    for project_row, division_row in projects:
        sheet = sheets.get(project_row.code)
        if sheet is None:  # not in the run (added to the year after it)
            continue
        result, budget = sheet.result, sheet.result.budget
        summary_rows.append(
            [
                project_row.code,
                project_row.name,
                division_row.name,
                budget.budget,
                budget.spent,
                "" if budget.rate is None else f"{budget.rate}%",
                result.total,
                "不纳入" if sheet.excluded else result.grade,
                sheet.source.get("text", ""),
            ]
        )
        check_rows += [
            [
                project_row.code,
                indicator_code or project_row.code,
                f"指标值待核查（{Severity.label_of(finding.severity)}）",
                finding.message,
            ]
            for finding, indicator_code in open_targets.get(project_row.id, [])
        ]
        check_rows += [[project_row.code, f.subject, finding_label(f.code), f.message] for f in result.findings]
        forms.append(
            (
                project_row.code,
                form_of(
                    year, project_row, division_row, sheet, indicators.get(project_row.id, []), policy, names, **context
                ),
            )
        )
    book = Book()
    _list_sheet(book, "汇总", f"{year} 年度项目支出绩效自评汇总（{note}）", SUMMARY_COLUMNS, summary_rows, note)
    _list_sheet(book, "待核查", f"{year} 年度项目支出绩效自评待核查事项", FINDING_COLUMNS, check_rows, note)
    for code, form in forms:
        write_form(book, form, note, code[:31])
    return book.save()


def footer_mark(run: EvaluationRun | None, context: dict) -> str:
    """The mark every sheet of the workbook carries (title of the summary, footer): 试算 with its date, or
    正式计算 with its archived version."""
    if context["kind"] == TRIAL:
        return f"{RunKind.TRIAL.label}：截至 {context['as_of'].isoformat()}，不是正式自评结果"
    version = f"归档版本 {context['archive_version']}" if context["archive_version"] else "尚未锁定归档"
    return f"{RunKind.FINAL.label}（第 {run.id} 次计算，{version}）" if run is not None else RunKind.FINAL.label


def _list_sheet(book: Book, name: str, title: str, columns: list[Column], rows: list[list], note: str) -> None:
    page = Page(title_rows=(0, 1), note=note)
    sheet = book.sheet(name, widths_for_content(columns, rows, page), page)
    sheet.write(0, 0, title, TITLE, across=len(columns))
    sheet.append([c.title for c in columns], CENTER_LABEL)
    for row in rows:
        sheet.append(row, [NUMBER if isinstance(v, (int, float, Decimal)) else CELL for v in row])


def write_form(book: Book, form: EvaluationForm, note: str, name: str) -> None:
    """The 项目支出绩效自评表 (docs/domain.md §8.6) on one portrait A4 page; a long one continues on the next page
    with the indicator header repeated and the levels written again."""
    header = _header_row(form)
    cells = place(form.rows)  # once: every layout tried writes the same cells
    choice = None
    for size, widths in FORM_LAYOUTS:  # the first layout that fits one page, else the shortest
        page = _form_page(size, note, header)
        draft = book.draft(widths, page)
        _fill_form(draft, size, form, cells)
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
        _fill_form(draft, size, form, cells, starts)
    sheet = book.sheet_from(name, draft)  # the draft was filled with these page starts
    for row in starts:
        sheet.break_before(row)


def _top(form: EvaluationForm) -> int:
    """The sheet row (0-based) of the form's first table row: after the title, the year and the marks."""
    return 2 + len(form.marks)


def _header_row(form: EvaluationForm) -> int:
    """The indicator block's header (一级指标 … 偏差原因分析及改进措施), repeated on every printed page."""
    index = next(i for i, row in enumerate(form.rows) if any(c.text == "一级指标" for c in row))
    return _top(form) + index


def _form_page(size: float, note: str, header: int) -> Page:
    return Page(title_rows=(header, header), note=note, center=True, one_page_scale=min(1.0, MIN_PRINTED_SIZE / size))


def _style(cell, size: float) -> Style:
    return _cell_style(cell.head, cell.align, cell.number is not None, cell.money, cell.places, size)


@lru_cache(maxsize=256)
def _cell_style(head: bool, align: str, number: bool, money: bool, places: int, size: float) -> Style:
    """One style per kind of cell and size (a 1,000-project workbook writes ~100,000 cells)."""
    base = (CENTER_LABEL if align == "center" else LABEL) if head else (NUMBER if number else CELL)
    number_format = ("#,##0.00" if money else "0" if places == 0 else "0.00") if number else None
    return replace(base, size=size, align=align, number_format=number_format)


def _fill_form(sheet, size: float, form: EvaluationForm, cells: list, page_starts: list[int] = ()) -> None:
    """The form (its CELLS placed) on SHEET at SIZE pt; a cell merged down (一级/二级指标, 绩效指标) is not merged
    across PAGE_STARTS but written again where the page begins."""
    width = form.width
    sheet.write(
        0, 0, form.title, Style(size=size + 5, bold=True, align="center", valign="vcenter", wrap=False), across=width
    )
    sheet.write(1, 0, form.subtitle, Style(size=size, align="center", valign="vcenter", wrap=False), across=width)
    for index, mark in enumerate(form.marks):
        sheet.write(2 + index, 0, mark, Style(size=size, bold=True, align="center", valign="vcenter"), across=width)
    top = _top(form)
    for r, c, cell in cells:
        first, last = top + r - 1, top + r - 1 + cell.rows - 1
        value = cell.number if cell.number is not None else cell.text
        style = _style(cell, size)
        if last == first or not page_starts:
            sheet.write(first, c - 1, value, style, across=cell.span, down=last - first + 1)
            continue
        cuts = [row for row in page_starts if first < row <= last]
        for start, end in zip([first, *cuts], [*(row - 1 for row in cuts), last], strict=True):
            sheet.write(start, c - 1, value, style, across=cell.span, down=end - start + 1)
    line = top + len(form.rows)
    closing = line  # 说明, signatures and sources stay on one page
    text = Style(size=size, valign="top")
    sheet.write(line, 0, "说明：", replace(text, bold=True), across=width)
    for note in form.notes:
        line += 1
        sheet.write(line, 0, note, text, across=width)
    line += 1
    for column, span, signature in zip((0, 3, 5, 7), (3, 2, 2, 2), form.signatures, strict=True):
        sheet.write(line, column, signature, replace(text, valign="bottom"), across=span)
    sheet.set_height(line, row_height_for_signatures(size))
    for source in form.sources:
        line += 1
        sheet.write(line, 0, source, text, across=width)
    sheet.keep_together(closing, line)


def row_height_for_signatures(size: float) -> float:
    """A signature line leaves room to sign above it."""
    return round(size * 2.0 / 0.75) * 0.75


def form_texts_of_sheet(sheet) -> list[str]:
    """Every non-empty text of a written 自评表 sheet in reading order, numbers as the form shows them
    (what a test compares with the page and the engine)."""
    texts = []
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None or cell.value == "":
                continue
            if isinstance(cell.value, (int, float)):
                places = 0 if cell.number_format == "0" else 2
                texts.append(
                    f"{cell.value:,.{places}f}" if cell.number_format == "#,##0.00" else f"{cell.value:.{places}f}"
                )
            else:
                texts.append(str(cell.value))
    return texts
