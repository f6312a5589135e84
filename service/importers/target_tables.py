"""Reading 绩效目标表 laid out as in the published tables (docs/domain.md §2).

Both the text export and .docx files come down to the same thing: a title, then rows
of cells.  `read_target_table` turns one such table into a `SourceProject`, repairing
the known quirks of real exports (a row split by a stray blank line, an empty first
cell continuing the 一级指标 above, a missing description) and reporting anything it
cannot read as an `ImportProblem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..domain.vocabulary import Severity, StatedDirection
from .source import ImportProblem, ProjectFinding, SourceIndicator, SourceProject

TITLE = re.compile(
    r"^\s*(?P<no>\d+)\s*[.．、]\s*(?P<prefix>[A-Z]{2,4})?\s*"
    r"(?:[（(](?P<level>市级|中央)[）)])?\s*(?P<name>.*?)\s*(?:绩效目标表)?\s*$"
)
BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
NAME_PREFIX = re.compile(r"^[A-Z]{2,4}\s*(?:[（(](?:市级|中央)[）)])?\s*")
HEADER_FIELDS = {  # the indicator header's columns, as the budget systems name them
    "一级指标": "level1",
    "二级指标": "level2",
    "三级指标": "name",
    "绩效指标描述": "description",
    "指标描述": "description",
    "指标解释": "description",
    "指标值": "raw_value",
    "年度指标值": "raw_value",
    "目标值": "raw_value",
    "分值": "weight",
    "权重": "weight",
    "指标方向": "stated_direction",
}
EXPECTED_LEVEL2 = {
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标",),
    "成本指标": ("经济成本指标", "社会成本指标", "生态环境成本指标"),
}
YEAR_IN_TEXT = re.compile(r"(20\d{2})")
UNIT_LINE = re.compile(r"^\d{6,}\s*\S")  # 「323101天津市商务局财务处」: the budget unit's code and name


@dataclass
class RawTable:
    """A title and its rows of cells, as a reader found them."""

    title: str
    rows: list[list[str]]
    location: str  # e.g. "第 1505 行" or "第 3 个表格"


def parse_title(title: str) -> re.Match | None:
    return TITLE.match(BOOKMARK.sub("", title))


def parse_amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"[\s,，]", "", text or "")
    if cleaned == "":
        return None
    return Decimal(cleaned)


def _norm(cell: str) -> str:
    return re.sub(r"\s+", "", cell or "")


def read_target_table(table: RawTable, problems: list[ImportProblem]) -> SourceProject | None:
    title_match = parse_title(table.title)
    where = f"表「{table.title.strip()[:30]}」（{table.location}）"
    if not title_match:
        problems.append(ImportProblem(where, "标题", "标题应为「序号.前缀（市级|中央）项目名称 绩效目标表」"))
        return None
    table_no = int(title_match.group("no"))
    where = f"第 {table_no} 号表（{table.location}）"
    project = SourceProject(
        code=None,
        table_no=table_no,
        title=BOOKMARK.sub("", table.title).strip(),
        prefix=title_match.group("prefix"),
        funding_level=title_match.group("level"),
        name=title_match.group("name").strip(),
        budget=None,
        location=where,
    )
    money_scale = Decimal(1)
    header: list[str] | None = None
    pending_use_of_funds = False
    indicator_rows: list[tuple[int, list[str]]] = []

    for index, cells in enumerate(table.rows):
        first = _norm(cells[0]) if cells else ""
        if header is not None:
            if first != "一级指标":  # a table continued on the next page may repeat its header row
                indicator_rows.append((index, cells))
            continue
        if UNIT_LINE.match(first):  # the header line; the 单位 cell may share its row
            project.budget_unit = cells[0].strip()
        if first.startswith("单位") or any(_norm(c).startswith("单位：") for c in cells):
            unit_cell = next(_norm(c) for c in cells if _norm(c).startswith("单位"))
            if unit_cell.endswith("元") and not unit_cell.endswith("万元"):
                money_scale = Decimal(1) / Decimal(10000)
            continue
        if first == "项目名称" and len(cells) > 1:
            project.name = NAME_PREFIX.sub("", cells[1].strip()) or project.name
        elif first == "预算规模及资金用途":
            _read_budget(cells, project, money_scale, where, problems)
            pending_use_of_funds = True
        elif first == "" and pending_use_of_funds and len(cells) > 1:
            project.use_of_funds = "\n".join(c.strip() for c in cells[1:] if c.strip())
            pending_use_of_funds = False
        elif first == "绩效目标":
            project.goals = split_goals("\n".join(cells[1:]))
        elif first == "一级指标":
            header = [HEADER_FIELDS.get(_norm(c), "") for c in cells]
            unknown = [c for c, f in zip(cells, header, strict=False) if not f and _norm(c)]
            if unknown or "raw_value" not in header or "name" not in header:
                problems.append(ImportProblem(where, "表头", f"指标表头无法识别：{' | '.join(cells)}"))
                return None

    if project.budget is None:
        problems.append(ImportProblem(where, "预算数", "缺少「预算规模及资金用途」行或预算数"))
    if header is None:
        problems.append(ImportProblem(where, "指标表", "缺少以「一级指标」开头的指标表头"))
        return project
    _read_indicators(indicator_rows, header, project, table, where, problems)
    return project


def _read_budget(cells, project, scale, where, problems) -> None:
    labels = {
        "预算数": "budget",
        "其中：财政资金": "fiscal_funds",
        "财政资金": "fiscal_funds",
        "其他资金": "other_funds",
    }
    for label_cell, value_cell in zip(cells[1::2], cells[2::2], strict=False):
        attr = labels.get(_norm(label_cell))
        if not attr:
            continue
        try:
            amount = parse_amount(value_cell)
        except InvalidOperation:
            problems.append(ImportProblem(where, _norm(label_cell), f"「{value_cell.strip()}」不是数字"))
            continue
        if amount is not None:
            if amount < 0:
                problems.append(ImportProblem(where, _norm(label_cell), f"金额不能为负数（{amount}）"))
            amount = (amount * scale).quantize(Decimal("0.01"))
        setattr(project, attr, amount)
    if project.budget is not None and project.fiscal_funds is not None:
        total = project.fiscal_funds + (project.other_funds or 0)
        if total != project.budget:
            project.findings.append(
                ProjectFinding(
                    "funds_mismatch",
                    Severity.WARNING,
                    f"财政资金 {project.fiscal_funds} + 其他资金 {project.other_funds or 0} ≠ 预算数 {project.budget}",
                )
            )


def split_goals(text: str) -> list[str]:
    goals: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip().strip('"').strip()
        if not line:
            continue
        numbered = re.match(r"^\d+\s*[.．、]\s*(.*)$", line)
        if numbered or not goals:
            goals.append((numbered.group(1) if numbered else line).strip())
        else:
            goals[-1] += line
    return goals


def _read_indicators(rows, header, project, table, where, problems) -> None:
    width = len(header)
    merged: list[tuple[int, list[str]]] = []
    pending: tuple[int, list[str]] | None = None
    for index, cells in rows:
        if pending is not None:
            start, partial = pending
            if len(partial) + len(cells) <= width:
                # A row split by a stray blank line: join it back.
                joined = partial + cells
                if len(joined) == width:
                    merged.append((start, joined))
                    pending = None
                else:
                    pending = (start, joined)
                continue
            merged.append(pending)
            pending = None
        if len(cells) < width:
            pending = (index, cells)
        else:
            merged.append((index, cells))
    if pending is not None:
        merged.append(pending)

    level1 = level2 = ""
    for row_no, (_index, cells) in enumerate(merged, start=1):
        row_where = f"{where} 指标第 {row_no} 行"
        if len(cells) != width:
            problems.append(
                ImportProblem(
                    row_where,
                    "指标行",
                    f"应有 {width} 列，实际 {len(cells)} 列：{' | '.join(cells)}",
                )
            )
            continue
        record = {f: c.strip() for f, c in zip(header, cells, strict=False) if f}
        if record.get("level1") and record["level1"] != level1:
            level1, level2 = record["level1"], ""
        if record.get("level2"):
            level2 = record["level2"]  # an empty cell continues the one above (a vertically merged cell)
        if not level1:
            problems.append(ImportProblem(row_where, "一级指标", "第一行指标缺少一级指标"))
            continue
        weight = None
        if record.get("weight"):
            try:
                weight = parse_amount(record["weight"])
            except InvalidOperation:
                problems.append(ImportProblem(row_where, "分值", f"「{record['weight']}」不是数字"))
        if not record.get("name") and not record.get("description"):
            problems.append(ImportProblem(row_where, "三级指标", "三级指标和指标描述都为空"))
            continue
        direction = _norm(record.get("stated_direction", ""))
        if direction and direction not in StatedDirection.values():
            problems.append(ImportProblem(row_where, "指标方向", f"应为「正向」或「反向」，而不是「{direction}」"))
            continue
        indicator = SourceIndicator(
            row_no=row_no,
            level1=_norm(level1),
            level2=_norm(level2),
            name=record.get("name", ""),
            description=record.get("description", ""),
            raw_value=record.get("raw_value", ""),
            weight=weight,
            location=row_where,
            stated_direction=direction,
        )
        project.indicators.append(indicator)
        expected = EXPECTED_LEVEL2.get(indicator.level1)
        if expected is None:
            project.findings.append(
                ProjectFinding(
                    "unknown_level1",
                    Severity.WARNING,
                    f"指标第 {row_no} 行：一级指标「{indicator.level1}」不在常用框架内",
                )
            )
        elif indicator.level2 not in expected:
            project.findings.append(
                ProjectFinding(
                    "unexpected_level2",
                    Severity.WARNING,
                    f"指标第 {row_no} 行：二级指标「{indicator.level2}」不属于一级指标「{indicator.level1}」",
                )
            )
