"""The flat layout: one row per indicator, in .xlsx or .csv (UTF-8 with/without BOM, GB18030).

Header: 项目编号,项目名称,处室,资金来源,预算数,一级指标,二级指标,三级指标,绩效指标描述,指标值,分值
(资金来源 and 分值 optional).  Project fields may be left empty after a project's first
row.  Rows whose 项目编号 starts with 示例 (the template's example) are skipped.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation

from ..domain.vocabulary import Severity
from .office import OfficeFileError, open_xlsx, sheet_rows
from .source import ImportProblem, ProjectFinding, SourceFile, SourceIndicator, SourceProject
from .target_tables import EXPECTED_LEVEL2
from .text_export import decode_text

FLAT_HEADER = [
    "项目编号",
    "项目名称",
    "处室",
    "资金来源",
    "预算数",
    "一级指标",
    "二级指标",
    "三级指标",
    "绩效指标描述",
    "指标值",
    "分值",
]
OPTIONAL = {"资金来源", "分值"}
PROJECT_COLUMNS = ("项目名称", "处室", "资金来源", "预算数")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
EXAMPLE_PREFIX = "示例"
MAX_COLUMNS = len(FLAT_HEADER) + 20  # read this wide: enough to name stray columns in the header


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(rows: list[tuple[str, list[str]]], fmt: str) -> SourceFile:
    """`rows`: (location, cells) with the header first."""
    source = SourceFile(format=fmt)
    if not rows:
        source.problems.append(ImportProblem("文件", "表头", "文件是空的"))
        return source
    header_location, header = rows[0]
    header = [re.sub(r"\s+", "", h.lstrip("\ufeff")) for h in header]
    while header and header[-1] == "":
        header.pop()
    missing = [h for h in FLAT_HEADER if h not in header and h not in OPTIONAL]
    unknown = [h for h in header if h not in FLAT_HEADER]
    if missing or unknown:
        detail = "；".join(
            filter(
                None,
                [
                    f"缺少列：{'、'.join(missing)}" if missing else "",
                    f"无法识别的列：{'、'.join(unknown)}" if unknown else "",
                ],
            )
        )
        source.problems.append(ImportProblem(header_location, "表头", f"{detail}。表头应为：{','.join(FLAT_HEADER)}"))
        return source
    column = {name: header.index(name) for name in header}

    current: SourceProject | None = None
    finished: set[str] = set()
    for location, cells in rows[1:]:
        record = {name: (_text(cells[i]) if i < len(cells) else "") for name, i in column.items()}
        if not any(record.values()) or record["项目编号"].startswith(EXAMPLE_PREFIX):
            continue
        code = record["项目编号"]
        if not code:
            source.problems.append(ImportProblem(location, "项目编号", "项目编号为空"))
            continue
        if not CODE_PATTERN.match(code):
            source.problems.append(ImportProblem(location, "项目编号", f"项目编号「{code}」只能包含字母、数字、- 和 _"))
            continue
        if current is None or current.code != code:
            if code in finished:
                source.problems.append(
                    ImportProblem(location, "项目编号", f"项目编号 {code} 重复：同一项目的行必须连续")
                )
                continue
            if current is not None:
                finished.add(current.code)
            current = _start_project(code, record, location, source)
            if current is None:
                continue
            source.projects.append(current)
        else:
            _check_repeated_project_fields(current, record, location, source)
        _add_indicator(current, record, location, source)
    return source


def _amount(text: str, location: str, field: str, source: SourceFile) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        source.problems.append(ImportProblem(location, field, f"「{text}」不是数字"))
        return None
    if value < 0:
        source.problems.append(ImportProblem(location, field, f"不能为负数（{text}）"))
        return None
    return value


def _start_project(code, record, location, source) -> SourceProject | None:
    for required in ("项目名称", "处室", "预算数"):
        if not record[required]:
            source.problems.append(ImportProblem(location, required, f"项目 {code} 的第一行必须填写{required}"))
            return None
    budget = _amount(record["预算数"], location, "预算数", source)
    level = record.get("资金来源", "")
    if level not in ("", "市级", "中央"):
        source.problems.append(
            ImportProblem(location, "资金来源", f"资金来源应为「市级」或「中央」，而不是「{level}」")
        )
    if budget is None:
        return None
    return SourceProject(
        code=code,
        table_no=None,
        title=record["项目名称"],
        prefix=None,
        funding_level=level or None,
        name=record["项目名称"],
        budget=budget.quantize(Decimal("0.01")),
        fiscal_funds=None,
        division=record["处室"],
        location=location,
    )


def _check_repeated_project_fields(project, record, location, source) -> None:
    given = {
        "项目名称": project.name,
        "处室": project.division,
        "资金来源": project.funding_level or "",
        "预算数": project.budget,
    }
    for name in PROJECT_COLUMNS:
        value = record.get(name, "")
        if not value:
            continue
        same = (
            (Decimal(value.replace(",", "")) == given[name])
            if name == "预算数" and _is_number(value)
            else value == given[name]
        )
        if not same:
            source.problems.append(
                ImportProblem(location, name, f"与项目 {project.code} 第一行的「{given[name]}」不一致")
            )


def _is_number(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
        return True
    except InvalidOperation:
        return False


def _add_indicator(project, record, location, source) -> None:
    row_no = len(project.indicators) + 1
    level1 = record["一级指标"] or (project.indicators[-1].level1 if project.indicators else "")
    if not level1:
        source.problems.append(ImportProblem(location, "一级指标", "一级指标为空"))
        return
    if not record["三级指标"]:
        source.problems.append(ImportProblem(location, "三级指标", "三级指标为空"))
        return
    weight = None
    if record.get("分值"):
        weight = _amount(record["分值"], location, "分值", source)
        if weight is not None and weight > 100:
            source.problems.append(ImportProblem(location, "分值", f"分值不能超过 100（{record['分值']}）"))
    level2 = re.sub(r"\s+", "", record["二级指标"])
    project.indicators.append(
        SourceIndicator(
            row_no=row_no,
            level1=re.sub(r"\s+", "", level1),
            level2=level2,
            name=record["三级指标"],
            description=record["绩效指标描述"],
            raw_value=record["指标值"],
            weight=weight,
            location=location,
        )
    )
    expected = EXPECTED_LEVEL2.get(level1)
    if expected is not None and level2 not in expected:
        project.findings.append(
            ProjectFinding(
                "unexpected_level2",
                Severity.WARNING,
                f"{location}：二级指标「{level2}」不属于一级指标「{level1}」",
            )
        )


def read_csv(data: bytes) -> SourceFile:
    try:
        text = decode_text(data)
    except UnicodeDecodeError:
        source = SourceFile(format="csv")
        source.problems.append(ImportProblem("文件", "编码", "CSV 文件既不是 UTF-8 也不是 GB18030 编码"))
        return source
    try:
        rows = [(f"第 {n} 行", cells) for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1)]
    except csv.Error as exc:
        source = SourceFile(format="csv")
        source.problems.append(ImportProblem("文件", "格式", f"CSV 格式错误：{exc}"))
        return source
    return read_rows(rows, "csv")


def xlsx_cell_text(cell) -> str:
    value = cell.value
    if isinstance(value, (int, float)) and "%" in (cell.number_format or ""):
        return f"{Decimal(str(value)) * 100:f}".rstrip("0").rstrip(".") + "%"
    return _text(value)


def read_xlsx(data: bytes) -> SourceFile:
    try:
        workbook = open_xlsx(data)
    except OfficeFileError as exc:
        source = SourceFile(format="xlsx")
        source.problems.append(ImportProblem("文件", "格式", exc.message))
        return source
    try:
        sheet = workbook.worksheets[0]
        rows = [
            (f"工作表「{sheet.title}」第 {number} 行", [xlsx_cell_text(c) for c in row])
            for number, row in enumerate(sheet_rows(sheet, MAX_COLUMNS, values_only=False), start=1)
        ]
    except OfficeFileError as exc:
        source = SourceFile(format="xlsx")
        source.problems.append(ImportProblem("文件", "格式", exc.message))
        return source
    finally:
        workbook.close()
    return read_rows(rows, "xlsx")
