"""The division's period workbook: download pre-filled, fill offline, upload.

Targets and codes are locked (sheet protection) and checked again on upload, because
protection without a password is a courtesy, not a guarantee: a workbook whose locked
cells were edited is rejected with the sheet, row and column of each edit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session
from xlsxwriter.utility import xl_col_to_name  # openpyxl, whose import takes 0.15 s, only reads uploads

from ..clock import clock
from ..domain.actuals import RawActual, value_text
from ..domain.periods import Period
from ..domain.permissions import Action, can
from ..domain.targets import format_decimal
from ..domain.vocabulary import CauseCategory, Likelihood
from ..exports import sheets
from ..exports.sheets import BODY, HEADER, INPUT_FILL, Book, Page, Style
from ..importers.office import OfficeFileError, open_xlsx, sheet_rows
from ..importers.source import ImportProblem, bounded
from ..models import User
from .conflicts import compare
from .read import form_groups
from .reports import (
    ActualRow,
    ReportError,
    SaveResult,
    Scope,
    SpendRow,
    VersionConflict,
    load_scope,
    operator,
    save,
)

WORKBOOK_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTUALS_SHEET, SPEND_SHEET, META_SHEET = "指标", "资金", "说明"


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    editable: bool = False
    added_later: bool = False  # a trailing column that workbooks downloaded before it existed lack (read as blank)


ACTUAL_COLUMNS = [
    Column("指标编号", 10),
    Column("项目名称", 24),
    Column("二级指标", 12),
    Column("三级指标", 24),
    Column("年度指标值", 14),
    Column("填报口径", 12),
    Column("上期值", 12),
    Column("序时进度目标", 12),
    Column("实际完成值", 14, True),
    Column("预计完成日期", 13, True),
    Column("完成可能性", 10, True),
    Column("偏差原因类别", 12, True),
    Column("偏差原因分析", 28, True),
    Column("改进措施", 28, True),
    Column("确认减少原因", 20, True),
    Column("全年预计完成值", 14, True, added_later=True),  # Q2/Q3 reports only
]
SPEND_COLUMNS = [
    Column("项目编号", 8),
    Column("项目名称", 30),
    Column("年初预算数（万元）", 16),
    Column("上期执行数（万元）", 16),
    Column("全年预算数（万元）", 16, True),
    Column("执行数（万元）", 16, True),
    Column("确认减少原因", 20, True),  # when spend falls below last quarter's (a reason confirms it)
    Column("全年预计执行数（万元）", 16, True, added_later=True),  # Q2/Q3 reports only
]
# Locked columns whose content must come back unchanged (others are informational).
CHECKED = {ACTUALS_SHEET: ("指标编号", "三级指标", "年度指标值"), SPEND_SHEET: ("项目编号", "年初预算数（万元）")}
MAX_ROWS = 5000
MIN_INPUT_WIDTH = 8  # room to type in, however empty the column is when downloaded
SIZE = 9  # fifteen columns on a landscape page
_INPUT = Style(fill=INPUT_FILL, locked=False, as_text=True)  # typed 2025-06-30 and 1,234 stay as typed


def _money(value) -> str:
    return "" if value is None else format_decimal(value)


def build_workbook(session: Session, scope: Scope) -> io.BytesIO:
    groups = form_groups(session, scope)
    note = f"{scope.division.name} {scope.period.code} 报告版本 {scope.report.version}"
    book = Book()
    meta = book.sheet(META_SHEET, [12, 74], Page(note=note))
    for row in (
        ("处室代码", scope.division.code),
        ("处室", scope.division.name),
        ("期间", scope.period.code),
        ("报告版本", scope.report.version),
        ("生成时间", clock.local_now().strftime("%Y-%m-%d %H:%M")),
        (
            "填写说明",
            "只填写黄色单元格。数值按年度指标值的单位填写；计数、金额填截至期末累计值，比率、满意度、"
            "时长填最新实测值。截止日期类指标：已完成填完成日期（如 2025-06-30），未完成填「未完成」并填写"
            "预计完成日期。进度滞后或完成可能性不是「确定能」时，须填写偏差原因类别、原因分析和改进措施。"
            "累计值低于上期时，须在「确认减少原因」中说明。全年预计完成值、全年预计执行数只在第二、三季度"
            "填写，留空即采用系统按进度推算的值。整行留空表示不修改。",
        ),
    ):
        meta.append(row)
    meta.worksheet.protect()

    actual_rows = []
    for group in groups:
        for row in group.rows:
            actual, target = row.reading.actual, row.target
            actual_rows.append(
                [
                    row.indicator.code,
                    group.project.name,
                    row.indicator.level2,
                    row.indicator.name,
                    row.indicator.raw_value,
                    target.measure.label,
                    row.previous,
                    row.expected,
                    value_text(target, actual),
                    actual.expected_on.isoformat() if actual.expected_on else "",
                    actual.likelihood,
                    actual.cause_category,
                    actual.cause_text,
                    actual.measure_text,
                    actual.decrease_reason,
                    actual.forecast,
                ]
            )
    sheet = _table(book, ACTUALS_SHEET, ACTUAL_COLUMNS, actual_rows, note)
    letters = {c.title: xl_col_to_name(i) for i, c in enumerate(ACTUAL_COLUMNS)}
    for title, options in (("完成可能性", Likelihood.values()), ("偏差原因类别", CauseCategory.values())):
        column = letters[title]
        sheet.worksheet.data_validation(
            f"{column}2:{column}{MAX_ROWS}",
            {
                "validate": "list",
                "source": list(options),
                "ignore_blank": True,
                "error_message": f"{title}只能从下拉列表中选择",
            },
        )

    spend_rows = [
        [
            group.project.code,
            group.project.name,
            _money(group.project.budget),
            _money(group.previous_spent),
            _money(group.adjusted_budget),
            _money(group.spent),
            group.decrease_reason,
            _money(group.forecast),
        ]
        for group in groups
    ]
    _table(book, SPEND_SHEET, SPEND_COLUMNS, spend_rows, note)
    sheet.worksheet.activate()
    return book.save()


def _table(book: Book, name: str, columns: list[Column], rows: list[list], note: str) -> sheets.Sheet:
    """Header and rows, the editable columns yellow and unlocked, the rest locked; landscape, one page wide."""
    page = Page(landscape=True, title_rows=(0, 0), note=note)
    bounds = [sheets.Column(c.title, min(c.width, MIN_INPUT_WIDTH if c.editable else 6), c.width) for c in columns]
    bounds[0] = sheets.Column(columns[0].title, columns[0].width, columns[0].width)  # a code is never broken
    sheet = book.sheet(name, sheets.widths_for_content(bounds, rows, page, SIZE), page)
    sheet.append([c.title for c in columns], replace(HEADER, size=SIZE))
    styles = [replace(_INPUT if c.editable else BODY, size=SIZE) for c in columns]
    for row in rows:
        sheet.append(row, styles)
    sheet.worksheet.freeze_panes(1, 1)
    sheet.worksheet.protect(
        "", {"format_columns": True, "format_rows": True}
    )  # people may widen columns, heighten rows
    return sheet


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class FilledWorkbook:
    actual_rows: list[ActualRow]
    spend_rows: list[SpendRow]
    version: int  # 报告版本 when it was downloaded: an upload must still be based on the current one


def read_workbook(data: bytes, scope: Scope) -> FilledWorkbook:
    """Rows to save, or ReportError(422) naming sheet, row, column and reason for every problem."""
    try:
        workbook = open_xlsx(data)
    except OfficeFileError as exc:
        raise _refused(exc) from exc
    try:
        return _read_workbook(workbook, scope)
    except OfficeFileError as exc:
        raise _refused(exc) from exc
    finally:
        workbook.close()


def _refused(exc: OfficeFileError) -> ReportError:
    return ReportError(
        exc.status,
        "无法作为 Excel 工作簿 (.xlsx) 打开，请上传从本系统下载的填报工作簿",
        [ImportProblem("文件", "格式", exc.message)],
    )


def _read_workbook(workbook, scope: Scope) -> FilledWorkbook:
    problems: list[ImportProblem] = []
    for name in (META_SHEET, ACTUALS_SHEET, SPEND_SHEET):
        if name not in workbook.sheetnames:
            problems.append(ImportProblem(f"工作表「{name}」", "工作表", "缺少该工作表，请使用本系统下载的填报工作簿"))
    if problems:
        raise ReportError(422, "工作簿结构不符", problems)
    meta = {_cell_text(key): _cell_text(value) for key, value in sheet_rows(workbook[META_SHEET], 2)}
    if (meta.get("处室代码"), meta.get("期间")) != (scope.division.code, scope.period.code):
        raise ReportError(
            422,
            "工作簿与当前报告不符",
            [
                ImportProblem(
                    f"工作表「{META_SHEET}」",
                    "处室代码/期间",
                    f"工作簿属于 {meta.get('处室代码') or '?'} {meta.get('期间') or '?'}，当前报告是 "
                    f"{scope.division.code} {scope.period.code}",
                )
            ],
        )
    version = meta.get("报告版本", "")
    if not version.isdigit():
        raise ReportError(
            422,
            "工作簿缺少报告版本",
            [
                ImportProblem(
                    f"工作表「{META_SHEET}」", "报告版本", f"「{version}」不是报告版本号：请重新下载填报工作簿后填写"
                )
            ],
        )
    actual_rows = _read_sheet(workbook[ACTUALS_SHEET], ACTUAL_COLUMNS, problems, _expected_actuals(scope), _actual_row)
    spend_rows = _read_sheet(workbook[SPEND_SHEET], SPEND_COLUMNS, problems, _expected_spend(scope), _spend_row)
    if problems:
        raise ReportError(422, "工作簿未导入：请按下列问题修改后重新上传", bounded(problems))
    return FilledWorkbook(actual_rows, spend_rows, int(version))


class StaleWorkbook(VersionConflict):
    """The workbook was downloaded before the report's latest change: saving it would undo that
    change.  `filled` is what the file holds, for a cell-by-cell comparison with the report now."""

    def __init__(self, conflict: VersionConflict, filled: FilledWorkbook):
        super().__init__(conflict.current, conflict.based_on)
        self.filled = filled


def save_workbook(session: Session, scope: Scope, user: User, data: bytes) -> SaveResult:
    """The uploaded workbook's filled-in rows saved into SCOPE's report (blank rows change nothing),
    only if the report has not changed since the workbook was downloaded (else `StaleWorkbook`)."""
    filled = read_workbook(data, scope)
    try:
        return save(
            session,
            scope,
            user,
            filled.actual_rows,
            filled.spend_rows,
            "excel",
            expected_version=filled.version,
            skip_blank=True,
        )
    except VersionConflict as exc:
        raise StaleWorkbook(exc, filled) from exc


def scope_of_workbook(session: Session, data: bytes) -> Scope:
    """The report a downloaded workbook belongs to: its 说明 sheet names the division and the period."""
    try:
        workbook = open_xlsx(data)
        try:
            meta = dict(sheet_rows(workbook[META_SHEET], 2))
        finally:
            workbook.close()
        period = Period.parse(meta.get("期间", ""))
    except OfficeFileError as exc:
        raise ReportError(
            exc.status, "不是本系统下载的填报工作簿", [ImportProblem("文件", "格式", exc.message)]
        ) from exc
    except (KeyError, ValueError) as exc:
        raise ReportError(422, "不是本系统下载的填报工作簿", []) from exc
    return load_scope(session, period.year, str(meta.get("处室代码", "")), period.quarter)


def import_workbook(session: Session, data: bytes, user: User | None, actor_name: str = "cli") -> dict[str, dict]:
    """A workbook loaded outside its report's page (the CLI): into the report it names, if USER may fill
    that report in (None: an operator at the server, recorded as ACTOR_NAME)."""
    scope = scope_of_workbook(session, data)
    if user is not None and not can(user, Action.EDIT_REPORT, scope.division.id):
        raise ReportError(403, f"{user.username} 无权填报{scope.division.name}的报告")
    try:
        result = save_workbook(session, scope, user or operator(actor_name), data)
    except StaleWorkbook as exc:  # the file would undo newer changes: say which cells
        session.rollback()
        fresh = scope_of_workbook(session, data)
        cells = compare(
            session, fresh, exc.filled.actual_rows, exc.filled.spend_rows, exc.filled.version, skip_blank=True
        )
        raise ReportError(
            exc.status,
            f"工作簿下载于版本 {exc.based_on}，报告现为版本 {exc.current}，未导入；请重新下载后填写",
            [
                ImportProblem(c.location, c.label, f"文件：{c.yours or '（空）'}；当前：{c.current or '（空）'}")
                for c in cells
            ],
        ) from exc
    return {f"{scope.division.code} {scope.period.code}": result.summary()}


def _expected_actuals(scope: Scope) -> dict[str, dict[str, str]]:
    return {
        code: {"指标编号": code, "三级指标": indicator.name, "年度指标值": indicator.raw_value}
        for code, (indicator, _p) in scope.indicators.items()
    }


def _expected_spend(scope: Scope) -> dict[str, dict[str, str]]:
    return {code: {"项目编号": code, "年初预算数（万元）": _money(p.budget)} for code, p in scope.projects.items()}


def _read_sheet(sheet, columns, problems, expected, make_row):
    titles = [c.title for c in columns]
    rows = list(sheet_rows(sheet, len(titles)))
    header = [_cell_text(v) for v in (rows[0] if rows else ())][: len(titles)]
    older = [c.title for c in columns if not c.added_later]  # a workbook downloaded before the later columns
    if header != titles and [h for h in header if h] == older:
        titles = older
    elif header != titles:
        problems.append(
            ImportProblem(f"工作表「{sheet.title}」第 1 行", "表头", f"表头被修改，应为：{'、'.join(titles)}")
        )
        return []
    if len(rows) > MAX_ROWS:
        problems.append(ImportProblem(f"工作表「{sheet.title}」", "行数", f"超过 {MAX_ROWS} 行"))
        return []
    checked = CHECKED[sheet.title]
    key_title = titles[0]
    result = []
    for number, values in enumerate(rows[1:], start=2):
        cells = {title: _cell_text(values[i] if i < len(values) else None) for i, title in enumerate(titles)}
        if not any(cells.values()):
            continue
        location = f"工作表「{sheet.title}」第 {number} 行"
        original = expected.get(cells[key_title])
        if original is None:
            problems.append(
                ImportProblem(
                    f"{location} {xl_col_to_name(0)} 列",
                    key_title,
                    f"编号「{cells[key_title]}」不属于本报告（锁定单元格被修改或行被复制）",
                )
            )
            continue
        edited = [t for t in checked if cells[t] != original[t]]
        for title in edited:
            problems.append(
                ImportProblem(
                    f"{location} {xl_col_to_name(titles.index(title))} 列",
                    title,
                    f"锁定单元格被修改：应为「{original[title]}」，现为「{cells[title]}」",
                )
            )
        if not edited:
            result.append(make_row(cells, location))
    return result


def _actual_row(cells: dict[str, str], location: str) -> ActualRow:
    return ActualRow(
        cells["指标编号"],
        RawActual(
            value=cells["实际完成值"],
            expected_on=cells["预计完成日期"],
            likelihood=cells["完成可能性"],
            cause_category=cells["偏差原因类别"],
            cause_text=cells["偏差原因分析"],
            measure_text=cells["改进措施"],
            confirm_decrease=bool(cells["确认减少原因"]),
            decrease_reason=cells["确认减少原因"],
            forecast=cells.get("全年预计完成值"),  # None from a workbook without the column
        ),
        location,
    )


def _spend_row(cells: dict[str, str], location: str) -> SpendRow:
    reason = cells.get("确认减少原因", "")
    return SpendRow(
        cells["项目编号"],
        cells["执行数（万元）"],
        cells["全年预算数（万元）"],
        location,
        reason,
        bool(reason),
        cells.get("全年预计执行数（万元）"),
    )
