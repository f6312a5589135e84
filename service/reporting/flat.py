"""Flat files for scripts: actuals and spend as CSV (UTF-8, UTF-8 with BOM or GB18030).

actuals: 指标编号,期间,实际完成值,偏差原因分析及改进措施[,完成可能性,偏差原因类别,预计完成日期,确认减少原因]
spend:   项目编号,期间,全年预算数,执行数[,确认减少原因]

One file may touch several divisions' reports; it is applied all or nothing, with the
same rules as the form.  The division's period workbook (.xlsx) is accepted too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlmodel import Session, select

from ..domain.actuals import RawActual, join_explanation, split_explanation, value_text
from ..domain.bureau import owner_in
from ..domain.periods import Period, PeriodError
from ..domain.permissions import can
from ..importers.source import ImportProblem
from ..importers.text_export import decode_text
from ..models import Division, FiscalYear, Indicator, Project, User, id_of
from ..stored_targets import target_of
from ..transfers import ownership_of, transfers_of
from .reports import (
    ActualRow,
    ReportError,
    SaveResult,
    SpendRow,
    actual_of,
    current_actuals,
    load_scope,
    operator,
    save,
)

ACTUALS_HEADER = ["指标编号", "期间", "实际完成值", "偏差原因分析及改进措施"]
ACTUALS_OPTIONAL = ["完成可能性", "偏差原因类别", "预计完成日期", "确认减少原因", "全年预计完成值"]
SPEND_HEADER = ["项目编号", "期间", "全年预算数", "执行数"]
# a reason confirms spend below last quarter's; the forecast is for Q2/Q3 rows only
SPEND_OPTIONAL = ["确认减少原因", "全年预计执行数"]
MAX_ROWS = 20000


@dataclass
class FlatFile:
    kind: str  # actuals | spend
    rows: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (location, period, cells)


def read_csv(data: bytes) -> FlatFile:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise ReportError(
            422, "文件编码无法识别", [ImportProblem("文件", "编码", "应为 UTF-8 或 GB18030 编码的 CSV")]
        ) from exc
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise ReportError(422, "文件是空的", [ImportProblem("文件", "表头", "文件是空的")])
    header = [h.strip() for h in lines[0]]
    if header[:4] == ACTUALS_HEADER:
        kind, known = "actuals", ACTUALS_HEADER + ACTUALS_OPTIONAL
    elif header[:4] == SPEND_HEADER:
        kind, known = "spend", SPEND_HEADER + SPEND_OPTIONAL
    else:
        raise ReportError(
            422,
            "表头不符",
            [
                ImportProblem(
                    "第 1 行",
                    "表头",
                    f"应为「{','.join(ACTUALS_HEADER)}」或「{','.join(SPEND_HEADER)}」，实为「{','.join(header)}」",
                )
            ],
        )
    unknown = [h for h in header if h not in known]
    if unknown:
        raise ReportError(422, "表头不符", [ImportProblem("第 1 行", "表头", f"不认识的列：{'、'.join(unknown)}")])
    if len(lines) > MAX_ROWS:
        raise ReportError(
            413, f"超过 {MAX_ROWS} 行", [ImportProblem("文件", "行数", f"超过 {MAX_ROWS} 行，请分批导入")]
        )
    flat = FlatFile(kind)
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise ReportError(
                422,
                "列数不符",
                [
                    ImportProblem(
                        f"第 {number} 行",
                        "列数",
                        f"有 {len(cells)} 列，表头只有 {len(header)} 列（含逗号的内容请加引号）",
                    )
                ],
            )
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        flat.rows.append((f"第 {number} 行", values["期间"], values))
    return flat


def apply_flat(session: Session, flat: FlatFile, user: User | None, actor_name: str, source: str = "csv") -> dict:
    """Save every row into its division's report; all or nothing.  `user=None`: an operator at the
    server (CLI without --as) may write to every division."""
    problems: list[ImportProblem] = []
    groups: dict[tuple[str, Period], tuple[list[ActualRow], list[SpendRow]]] = {}
    owners = _owners(session, flat)
    for location, period_text, cells in flat.rows:
        try:
            period = Period.parse(period_text)
        except PeriodError as exc:
            problems.append(ImportProblem(location, "期间", str(exc)))
            continue
        code = cells["指标编号" if flat.kind == "actuals" else "项目编号"]
        division = owners(code, period)
        if division is None:
            problems.append(
                ImportProblem(location, "指标编号" if flat.kind == "actuals" else "项目编号", f"编号「{code}」不存在")
            )
            continue
        if user is not None and not can(user, "edit_report", division.id):
            problems.append(
                ImportProblem(
                    location,
                    "指标编号" if flat.kind == "actuals" else "项目编号",
                    f"{code} 属于{division.name}，{user.username} 无权填报",
                )
            )
            continue
        actual_rows, spend_rows = groups.setdefault((division.code, period), ([], []))
        if flat.kind == "actuals":
            actual_rows.append(ActualRow(code, _raw(cells), location))
        else:
            reason = cells.get("确认减少原因", "")
            spend_rows.append(
                SpendRow(
                    code,
                    cells["执行数"],
                    cells["全年预算数"],
                    location,
                    reason,
                    bool(reason),
                    cells.get("全年预计执行数"),
                )
            )
    results: dict[str, SaveResult] = {}
    actor = user or operator(actor_name)
    for (division_code, period), (actual_rows, spend_rows) in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1])
    ):
        try:
            scope = load_scope(session, period.year, division_code, period.quarter)
            results[f"{division_code} {period.code}"] = save(
                session, scope, actor, actual_rows, spend_rows, source, skip_blank=True
            )
        except ReportError as exc:
            problems += exc.problems or [ImportProblem(f"{division_code} {period.code}", "报告", exc.message)]
    if problems:
        raise ReportError(422, "文件未导入：请按下列问题修改后重试，没有写入任何数据", problems)
    return {key: result.summary() for key, result in results.items()}


def _owners(session: Session, flat: FlatFile):
    """(code, period) -> the division that owned the indicator's or project's project in that period
    (codes are unique within a year; a moved project belongs to each division for its quarters)."""
    codes = {cells["指标编号" if flat.kind == "actuals" else "项目编号"] for _, _, cells in flat.rows}
    subject = Indicator.code if flat.kind == "actuals" else Project.code
    query = select(subject, Project, FiscalYear.year).join(FiscalYear, FiscalYear.id == Project.fiscal_year_id)
    if flat.kind == "actuals":
        query = query.join(Indicator, Indicator.project_id == Project.id)
    projects = {(code, year): project for code, project, year in session.exec(query.where(subject.in_(codes))).all()}
    transfers = transfers_of(session, [id_of(p) for p in projects.values()])
    divisions = {d.id: d for d in session.exec(select(Division)).all()}

    def owner(code: str, period: Period) -> Division | None:
        project = projects.get((code, period.year))
        if project is None:
            return None
        return divisions[owner_in(ownership_of(project, transfers.get(id_of(project), [])), period.quarter)]

    return owner


def _raw(cells: dict[str, str]) -> RawActual:
    cause, measure = split_explanation(cells.get("偏差原因分析及改进措施", ""))
    reason = cells.get("确认减少原因", "")
    return RawActual(
        value=cells.get("实际完成值", ""),
        expected_on=cells.get("预计完成日期", ""),
        likelihood=cells.get("完成可能性", ""),
        cause_category=cells.get("偏差原因类别", ""),
        cause_text=cause,
        measure_text=measure,
        confirm_decrease=bool(reason),
        decrease_reason=reason,
        forecast=cells.get("全年预计完成值"),  # None from a file without the column
    )


def export_actuals_csv(session: Session, scope) -> str:
    """The report's current actuals in the flat format (reads back with `read_csv`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ACTUALS_HEADER + ACTUALS_OPTIONAL)
    current = current_actuals(session, scope.report.id)
    for code, (indicator, _project) in scope.indicators.items():
        actual = actual_of(current.get(indicator.id))
        writer.writerow(
            [
                code,
                scope.period.code,
                value_text(target_of(indicator), actual),
                join_explanation(actual.cause_text, actual.measure_text),
                actual.likelihood,
                actual.cause_category,
                actual.expected_on.isoformat() if actual.expected_on else "",
                actual.decrease_reason,
                actual.forecast,
            ]
        )
    return buffer.getvalue()


def submit_reports(session: Session, summary: dict, user: User, redis_url: str | None = None) -> None:
    """Submit every report a load touched (keys「KAC 2025Q4」), in the same transaction: if any is incomplete,
    ReportError names what is missing for each, and the caller writes nothing."""
    from .followup import follow_up
    from .reports import transition

    problems: list[ImportProblem] = []
    for key in summary:
        division_code, period_code = key.split(" ")
        period = Period.parse(period_code)
        scope = load_scope(session, period.year, division_code, period.quarter)
        try:
            changed = transition(session, scope, user, "submit")
        except ReportError as exc:
            problems += [
                ImportProblem(f"{scope.division.name} {period.code}：{p.location}", p.field, p.message)
                for p in exc.problems
            ] or [ImportProblem(f"{scope.division.name} {period.code}", "提交", exc.message)]
            continue
        if changed:
            follow_up(session, scope, "submit", redis_url)
        summary[key]["submitted"] = "已提交" if changed else "本已提交"
    if problems:
        raise ReportError(422, "报告未能提交，没有写入任何数据：", problems)
