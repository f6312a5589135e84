"""A corpus of other budget systems' layouts, built from the seed by the tests themselves
(python-docx, openpyxl): every layout carries the seed's 62 projects and 482 indicators.

Word: one table per project (the reference), a project split over two tables, an indicator table
continued on a second table with and without its header row, merged cells (vertical 一级/二级指标
and labels, horizontal 三级指标 + 描述), extra 分值 and 指标方向 columns, several projects in one
table separated by title rows.  Flat: comparator, value and unit in separate columns (指标性质,
指标值, 度量单位) with prefixed titles and no 处室 column, and bare titles with a 处室 column and
序号 instead of 项目编号.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from docx import Document
from docx.table import _Cell
from openpyxl import Workbook

from service.domain.targets import parse_target
from service.importers.source import SourceProject
from service.importers.text_export import read_text_export

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
DIVISIONS = json.loads((ROOT / "service" / "sample_data" / "divisions.json").read_text(encoding="utf-8"))
WIDTH = 7
HEADER = ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值"]
SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}


@dataclass(frozen=True)
class Layout:
    name: str
    file_name: str
    build: object  # () -> bytes


@cache
def seed_projects() -> tuple[SourceProject, ...]:
    source = read_text_export(SEED.read_bytes())
    assert not source.problems and len(source.projects) == 62
    return tuple(source.projects)


def division_of(project: SourceProject) -> str:
    """The division name the seed's prefix maps to (finance when it has none)."""
    for entry in DIVISIONS["divisions"]:
        if project.prefix in entry["prefixes"] or (project.prefix is None and entry.get("finance")):
            return entry["name"]
    return next(e["name"] for e in DIVISIONS["divisions"] if e.get("finance"))


def weight_of(project_index: int, row_no: int) -> int:
    """A deterministic 分值 for the layouts that carry one."""
    return 5 + (project_index + row_no) % 6


# ---------------------------------------------------------------- Word


def _upper_rows(p: SourceProject) -> list[list[str]]:
    return [
        [p.budget_unit],
        ["单位：万元"],
        ["项目名称", p.name],
        [
            "预算规模及资金用途",
            "预算数",
            str(p.budget),
            "其中：财政资金",
            _money(p.fiscal_funds),
            "其他资金",
            _money(p.other_funds),
        ],
        ["", p.use_of_funds],
        ["绩效目标", "\n".join(f"{n}.{goal}" for n, goal in enumerate(p.goals, start=1))],
    ]


def _money(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _indicator_rows(p: SourceProject, extra: bool = False, index: int = 0) -> list[list[str]]:
    rows, level1 = [], None
    for i in p.indicators:
        row = [i.level1 if i.level1 != level1 else "", i.level2, i.name, i.description, i.raw_value]
        level1 = i.level1
        if extra:
            target = parse_target(i.raw_value, i.level2, i.name, i.description, fiscal_year=2025)
            direction = {"higher_better": "正向", "lower_better": "反向"}.get(target.direction, "")
            row += [str(weight_of(index, i.row_no)), direction]
        rows.append(row)
    return rows


def _add_table(document, rows: list[list], width: int = WIDTH):
    """Rows shorter than the grid end in a cell spanning to the last column (as Word exports them).

    A cell is a text, or (text, span, vmerge) with vmerge "restart" / "continue" for vertical merges.
    The cells are written as XML (gridSpan, vMerge): python-docx's merge() is far too slow for 62 tables."""
    table = document.add_table(rows=0, cols=width)
    for cells in rows:
        cells = [c if isinstance(c, tuple) else (c, 1, None) for c in cells]
        used = sum(span for _text, span, _v in cells)
        if used < width:
            text, span, vmerge = cells[-1]
            cells[-1] = (text, span + width - used, vmerge)
        tr = table.add_row()._tr
        for extra in tr.tc_lst[len(cells) :]:
            tr.remove(extra)
        for tc, (text, span, vmerge) in zip(tr.tc_lst, cells, strict=True):
            _Cell(tc, table).text = text
            if span > 1:
                tc.grid_span = span
            if vmerge:
                tc.vMerge = vmerge
    return table


def _save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_one_table() -> bytes:
    """The reference: a title paragraph and one table per project."""
    document = Document()
    for p in seed_projects():
        document.add_paragraph(p.title)
        _add_table(document, _upper_rows(p) + [HEADER] + _indicator_rows(p))
    return _save(document)


def docx_split() -> bytes:
    """Each project as two consecutive tables: the title block, then the indicators."""
    document = Document()
    for p in seed_projects():
        document.add_paragraph(p.title)
        _add_table(document, _upper_rows(p))
        _add_table(document, [HEADER] + _indicator_rows(p), width=len(HEADER))
    return _save(document)


def _continued(repeat_header: bool) -> bytes:
    document = Document()
    for p in seed_projects():
        rows = _indicator_rows(p)
        half = len(rows) // 2
        document.add_paragraph(p.title)
        _add_table(document, _upper_rows(p) + [HEADER] + rows[:half])
        document.add_paragraph("")  # the page break Word leaves between the two parts
        _add_table(document, ([HEADER] if repeat_header else []) + rows[half:])
    return _save(document)


def docx_continued_with_header() -> bytes:
    return _continued(True)


def docx_continued_without_header() -> bytes:
    return _continued(False)


def _runs(keys: list) -> list[str | None]:
    """vMerge of each row for runs of equal KEYS: restart at a run's top, continue below, None alone."""
    marks = []
    for k, key in enumerate(keys):
        if k > 0 and keys[k - 1] == key:
            marks.append("continue")
        else:
            marks.append("restart" if k + 1 < len(keys) and keys[k + 1] == key else None)
    return marks


def docx_merged_cells() -> bytes:
    """一级指标 and 二级指标 merged down their rows, the budget label merged over the use of funds,
    三级指标 merged across 绩效指标描述 where both say the same."""
    document = Document()
    for p in seed_projects():
        document.add_paragraph(p.title)
        upper = _upper_rows(p)
        budget_row = next(k for k, r in enumerate(upper) if r[0] == "预算规模及资金用途")
        upper[budget_row] = [("预算规模及资金用途", 1, "restart")] + upper[budget_row][1:]
        upper[budget_row + 1] = [("", 1, "continue")] + upper[budget_row + 1][1:]
        level1 = _runs([i.level1 for i in p.indicators])
        level2 = _runs([(i.level1, i.level2) for i in p.indicators])
        rows = []
        for i, mark1, mark2 in zip(p.indicators, level1, level2, strict=True):
            name = [(i.name, 2, None)] if i.name == i.description else [i.name, i.description]
            rows.append(
                [
                    ("" if mark1 == "continue" else i.level1, 1, mark1),
                    ("" if mark2 == "continue" else i.level2, 1, mark2),
                    *name,
                    i.raw_value,
                ]
            )
        _add_table(document, upper + [HEADER] + rows)
    return _save(document)


def docx_extra_columns() -> bytes:
    """Indicator tables with 分值 and 指标方向 columns."""
    document = Document()
    for index, p in enumerate(seed_projects()):
        document.add_paragraph(p.title)
        _add_table(document, _upper_rows(p) + [HEADER + ["分值", "指标方向"]] + _indicator_rows(p, True, index))
    return _save(document)


def docx_shared_tables() -> bytes:
    """One table per division, the projects separated by title rows (a title merged across the row)."""
    document = Document()
    groups: dict[str, list[SourceProject]] = {}
    for p in seed_projects():
        groups.setdefault(division_of(p), []).append(p)
    for projects in groups.values():
        rows = []
        for p in projects:
            rows += [[p.title]] + _upper_rows(p) + [HEADER] + _indicator_rows(p)
        _add_table(document, rows)
    return _save(document)


# ---------------------------------------------------------------- flat


def split_value(i) -> tuple[str, str, str]:
    """(指标性质, 指标值, 度量单位) as a budget system holds the seed's 指标值."""
    target = parse_target(i.raw_value, i.level2, i.name, i.description, fiscal_year=2025)
    match = re.fullmatch(r"\s*(≥|≤|=|>|<)?\s*(\d+(?:\.\d+)?)\s*([^\d\s]*)\s*", i.raw_value)
    if match and target.kind in ("numeric", "duration") and target.comparator:
        return match.group(1) or SYMBOL[target.comparator], match.group(2), match.group(3)
    return "定性", i.raw_value, ""


SPLIT_HEADER = [
    "项目编号",
    "项目名称",
    "预算数",
    "其中：财政资金",
    "其他资金",
    "一级指标",
    "二级指标",
    "三级指标",
    "指标解释",
    "指标性质",
    "指标值",
    "度量单位",
    "分值",
]


def flat_split_columns() -> bytes:
    """xlsx: prefixed titles (no 处室 column); comparator, value and unit in three columns; 分值."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(SPLIT_HEADER)
    for index, p in enumerate(seed_projects()):
        title = (
            p.name
            if p.prefix is None
            else f"{p.prefix}（{p.funding_level}）{p.name}"
            if p.funding_level
            else f"{p.prefix}{p.name}"
        )
        for i in p.indicators:
            nature, value, unit = split_value(i)
            first = i.row_no == 1
            number = float(value) if nature != "定性" else value
            sheet.append(
                [
                    f"2025-{p.table_no:03d}",
                    title if first else "",
                    float(p.budget) if first else None,
                    _number(p.fiscal_funds) if first else None,
                    _number(p.other_funds) if first else None,
                    i.level1,
                    i.level2,
                    i.name,
                    i.description,
                    nature,
                    number,
                    unit,
                    weight_of(index, i.row_no),
                ]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _number(value: Decimal | None):
    return None if value is None else float(value)


DIVISION_HEADER = [
    "序号",
    "项目名称",
    "处室",
    "资金来源",
    "预算数",
    "一级指标",
    "二级指标",
    "三级指标",
    "绩效指标描述",
    "指标值",
]


def flat_division_column() -> bytes:
    """csv (GB18030): bare titles with a 处室 column, 序号 instead of 项目编号."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DIVISION_HEADER)
    for p in seed_projects():
        for i in p.indicators:
            first = i.row_no == 1
            writer.writerow(
                [
                    p.table_no,
                    p.name if first else "",
                    division_of(p) if first else "",
                    (p.funding_level or "") if first else "",
                    str(p.budget) if first else "",
                    i.level1,
                    i.level2,
                    i.name,
                    i.description,
                    i.raw_value,
                ]
            )
    return buffer.getvalue().encode("gb18030")


LAYOUTS = [
    Layout("docx_one_table", "one.docx", docx_one_table),
    Layout("docx_split", "split.docx", docx_split),
    Layout("docx_continued_with_header", "continued.docx", docx_continued_with_header),
    Layout("docx_continued_without_header", "continued_bare.docx", docx_continued_without_header),
    Layout("docx_merged_cells", "merged.docx", docx_merged_cells),
    Layout("docx_extra_columns", "extra.docx", docx_extra_columns),
    Layout("docx_shared_tables", "shared.docx", docx_shared_tables),
    Layout("flat_split_columns", "budget_system.xlsx", flat_split_columns),
    Layout("flat_division_column", "by_division.csv", flat_division_column),
]
