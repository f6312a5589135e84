"""The flat layout: one row per indicator, in .xlsx or .csv (UTF-8 with/without BOM, GB18030)
(docs/domain.md §2.7).

perftrack's own header is FLAT_HEADER.  The columns budget systems export are read too, by their
usual names: the comparator, the value and the unit may be separate columns (指标性质 ≥/≤/=/定性,
指标值, 度量单位), the project code may be absent (then 序号, else the order of the projects,
makes it), and the division may be a 处室 column or the title's prefix (`YW（市级）…`), as in the
published tables.  Project fields may be left empty after a project's first row.  Rows whose
项目编号 starts with 示例 (the template's example) are skipped.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation

from ..domain.vocabulary import Severity, StatedDirection
from .office import OfficeFileError, open_xlsx, sheet_rows
from .source import ImportProblem, ProjectFinding, SourceFile, SourceIndicator, SourceProject
from .target_tables import EXPECTED_LEVEL2, split_goals
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
# Every column read, by the name used here, with the other names budget systems give it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "项目编号": ("项目代码", "项目编码"),
    "序号": ("表号",),
    "项目名称": (),
    "处室": ("责任处室", "实施处室", "处室名称", "业务处室"),
    "资金来源": ("资金级次",),
    "预算数": ("预算数（万元）", "年度预算数", "预算金额（万元）"),
    "财政资金": ("其中：财政资金", "财政资金（万元）"),
    "其他资金": ("其他资金（万元）",),
    "资金用途": ("预算资金用途",),
    "绩效目标": ("年度绩效目标", "年度总体目标"),
    "一级指标": (),
    "二级指标": (),
    "三级指标": ("指标名称",),
    "绩效指标描述": ("指标解释", "指标描述"),
    "指标性质": ("比较符号", "指标值符号"),
    "指标值": ("年度指标值", "目标值"),
    "度量单位": ("计量单位", "指标值单位"),
    "分值": ("权重",),
    "指标方向": (),
}
REQUIRED = ("项目名称", "预算数", "一级指标", "三级指标", "指标值")
PROJECT_COLUMNS = ("项目名称", "处室", "资金来源", "预算数")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
EXAMPLE_PREFIX = "示例"
MAX_COLUMNS = len(FLAT_HEADER) + 20  # read this wide: enough to name stray columns in the header
TITLE_PREFIX = re.compile(
    r"^\s*(?:\d+\s*[.．、]\s*)?(?P<prefix>[A-Z]{2,4})\s*(?:[（(](?P<level>市级|中央)[）)])\s*(?P<name>\S.*?)\s*$"
    r"|^\s*(?:\d+\s*[.．、]\s*)?(?P<prefix2>[A-Z]{2,4})(?=[\u4e00-\u9fff\d])(?P<name2>.+?)\s*$"
)
COMPARATORS = {
    "≥": "≥",
    ">=": "≥",
    "大于等于": "≥",
    "≤": "≤",
    "<=": "≤",
    "小于等于": "≤",
    "=": "=",
    "＝": "=",
    "等于": "=",
    ">": ">",
    "大于": ">",
    "<": "<",
    "小于": "<",
    "定性": "",
    "": "",
}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _canonical(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index by canonical name, and the header cells no name fits."""
    names = {alias: name for name, aliases in COLUMNS.items() for alias in (name, *aliases)}
    column, unknown = {}, []
    for index, cell in enumerate(header):
        name = names.get(cell)
        if name is None:
            unknown.append(cell)
        elif name not in column:
            column[name] = index
    return column, unknown


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
    column, unknown = _canonical(header)
    missing = [h for h in REQUIRED if h not in column]
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
        source.problems.append(
            ImportProblem(
                header_location,
                "表头",
                f"{detail}。表头应为：{','.join(FLAT_HEADER)}（或预算系统导出的列：指标性质、指标值、度量单位分列）",
            )
        )
        return source

    current: SourceProject | None = None
    current_key = ""
    finished: set[str] = set()
    order = 0
    for location, cells in rows[1:]:
        record = {name: (_text(cells[i]) if i < len(cells) else "") for name, i in column.items()}
        if not any(record.values()) or record.get("项目编号", "").startswith(EXAMPLE_PREFIX):
            continue
        key = record.get("项目编号") or record.get("序号") or record["项目名称"]
        if not key:
            field = "项目编号" if "项目编号" in column else "项目名称"
            source.problems.append(ImportProblem(location, field, f"{field}为空"))
            continue
        if current is None or key != current_key:
            if key in finished:
                source.problems.append(ImportProblem(location, "项目编号", f"项目 {key} 重复：同一项目的行必须连续"))
                continue
            finished.add(current_key)
            order += 1
            current, current_key = _start_project(record, order, location, source), key
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


def _start_project(record, order, location, source) -> SourceProject | None:
    code = record.get("项目编号") or None
    if code is not None and not CODE_PATTERN.match(code):
        source.problems.append(ImportProblem(location, "项目编号", f"项目编号「{code}」只能包含字母、数字、- 和 _"))
        return None
    title = record["项目名称"]
    # The division: the 处室 column, else the title's prefix as in the published tables (`YW（市级）…`).
    titled = None if record.get("处室") else TITLE_PREFIX.match(title)
    prefix = (titled.group("prefix") or titled.group("prefix2")) if titled else None
    name = (titled.group("name") or titled.group("name2")).strip() if titled else title
    for field in ("项目名称", "预算数"):
        if not record.get(field):
            source.problems.append(ImportProblem(location, field, f"项目 {code or title} 的第一行必须填写{field}"))
            return None
    table_no = order
    if record.get("序号"):
        if not record["序号"].isdigit():
            source.problems.append(ImportProblem(location, "序号", f"「{record['序号']}」不是整数"))
            return None
        table_no = int(record["序号"])
    budget = _amount(record["预算数"], location, "预算数", source)
    level = record.get("资金来源", "") or (titled.group("level") if titled and titled.group("level") else "")
    if level not in ("", "市级", "中央"):
        source.problems.append(
            ImportProblem(location, "资金来源", f"资金来源应为「市级」或「中央」，而不是「{level}」")
        )
    funds = {f: _amount(record[f], location, f, source) if record.get(f) else None for f in ("财政资金", "其他资金")}
    if budget is None:
        return None
    cents = Decimal("0.01")
    return SourceProject(
        code=code,
        table_no=None if code else table_no,
        title=title,
        prefix=prefix,
        funding_level=level or None,
        name=name,
        budget=budget.quantize(cents),
        fiscal_funds=funds["财政资金"].quantize(cents) if funds["财政资金"] is not None else None,
        other_funds=funds["其他资金"].quantize(cents) if funds["其他资金"] is not None else None,
        use_of_funds=record.get("资金用途", ""),
        goals=split_goals(record.get("绩效目标", "")),
        division=record.get("处室") or None,
        location=location,
    )


def _check_repeated_project_fields(project, record, location, source) -> None:
    given = {
        "项目名称": project.title,
        "处室": project.division or "",
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
                ImportProblem(location, name, f"与项目 {project.code or project.title} 第一行的「{given[name]}」不一致")
            )


def _is_number(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
        return True
    except InvalidOperation:
        return False


def _target_text(record, location, source) -> str | None:
    """指标值 as written, or put back together from 指标性质 + 指标值 + 度量单位."""
    value = record["指标值"]
    if "指标性质" not in record and "度量单位" not in record:
        return value
    nature = re.sub(r"\s+", "", record.get("指标性质", ""))
    if nature not in COMPARATORS:
        source.problems.append(ImportProblem(location, "指标性质", f"应为 ≥、≤、=、>、< 或 定性，而不是「{nature}」"))
        return None
    if nature == "定性":
        return value
    unit = record.get("度量单位", "")
    if value.endswith(unit):
        unit = ""  # already written with the value
    return f"{COMPARATORS[nature]}{value}{unit}"


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
    direction = re.sub(r"\s+", "", record.get("指标方向", ""))
    if direction and direction not in StatedDirection.values():
        source.problems.append(ImportProblem(location, "指标方向", f"应为「正向」或「反向」，而不是「{direction}」"))
        return
    raw_value = _target_text(record, location, source)
    if raw_value is None:
        return
    level2 = re.sub(r"\s+", "", record["二级指标"]) or (
        project.indicators[-1].level2 if project.indicators and not record["一级指标"] else ""
    )
    project.indicators.append(
        SourceIndicator(
            row_no=row_no,
            level1=re.sub(r"\s+", "", level1),
            level2=level2,
            name=record["三级指标"],
            description=record.get("绩效指标描述", ""),
            raw_value=raw_value,
            weight=weight,
            location=location,
            stated_direction=direction,
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
