"""Target tables in a Word document (python-docx), as the budget systems typeset them
(docs/domain.md §2.6).

A project starts at its title: a paragraph, or a table row holding only the title (several
projects may share one table that way).  Every table up to the next title belongs to it, so a
project typeset as two tables (the title block, then the indicators), or an indicator table
continued on the next page (with or without its header row repeated), reads as one.  Merged
cells: a horizontally merged cell counts once above the indicator header and fills every column it
covers below it; a vertically merged cell reads as empty below its first row, which continues the
cell above, as in the text export.
"""

from __future__ import annotations

import re

from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from .office import OfficeFileError, open_docx
from .source import ImportProblem, SourceFile
from .target_tables import UNIT_LINE, YEAR_IN_TEXT, RawTable, parse_title, read_target_table

MAX_GRID_COLUMNS = 63  # Word's own limit on a table's columns


def _title_of(text: str) -> str | None:
    text = text.strip()
    return text if text.endswith("绩效目标表") and parse_title(text) else None


def _cells(row, table) -> list[tuple[str, int]]:
    """(text, grid columns covered) of each cell of the row; a vertical merge's continuation is empty."""
    cells = []
    for tc in row._tr.tc_lst:
        # A span is expanded per column below: one of a billion would be a memory bomb.
        if not 0 < tc.grid_span <= MAX_GRID_COLUMNS:
            raise ValueError(f"有单元格横跨 {tc.grid_span} 列，Word 表格最多 {MAX_GRID_COLUMNS} 列")
        cells.append(("" if tc.vMerge == "continue" else _Cell(tc, table).text, tc.grid_span))
    return cells


def _counted_once(cells: list[tuple[str, int]]) -> list[str]:
    return [text for text, _span in cells]


def _per_column(cells: list[tuple[str, int]], header: bool) -> list[str]:
    """One text per grid column: a merged cell fills every column it covers (the header: its first only)."""
    row = []
    for text, span in cells:
        row += [text] + [("" if header else text)] * (span - 1)
    return row


def read_docx(data: bytes) -> SourceFile:
    source = SourceFile(format="docx")
    try:
        document = open_docx(data)
    except OfficeFileError as exc:
        source.problems.append(ImportProblem("文件", "格式", exc.message))
        return source
    projects: list[RawTable] = []
    current: RawTable | None = None
    in_indicators = False
    table_count = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if title := _title_of(text):
                current, in_indicators = RawTable(title, [], "标题段落"), False
                projects.append(current)
            elif current is not None and not current.rows and UNIT_LINE.match(text):
                current.rows.append([text])  # the unit line between the title and its table
            continue
        if not isinstance(block, Table):
            continue
        table_count += 1
        try:
            for row_no, row in enumerate(block.rows, start=1):
                cells = _cells(row, block)
                texts = {re.sub(r"\s+", "", t) for t, _ in cells} - {""}
                if len(texts) == 1 and (title := _title_of(cells[0][0] or next(t for t, _ in cells if t.strip()))):
                    current, in_indicators = RawTable(title, [], f"第 {table_count} 个表格第 {row_no} 行"), False
                    projects.append(current)
                    continue
                if current is None:
                    source.problems.append(
                        ImportProblem(f"第 {table_count} 个表格", "标题", "表格前没有「序号.项目名称 绩效目标表」标题")
                    )
                    break
                if current.location == "标题段落":
                    current.location = f"第 {table_count} 个表格"
                first = re.sub(r"\s+", "", cells[0][0]) if cells else ""
                if first == "一级指标":
                    in_indicators = True
                    current.rows.append(_per_column(cells, header=True))
                elif in_indicators:
                    current.rows.append(_per_column(cells, header=False))
                else:
                    current.rows.append(_counted_once(cells))
        except ValueError as exc:
            source.problems.append(ImportProblem(f"第 {table_count} 个表格", "格式", str(exc)))
        except Exception as exc:  # noqa: BLE001 - malformed table XML (a gridSpan of "x"…) is one refusal
            source.problems.append(
                ImportProblem(
                    f"第 {table_count} 个表格", "格式", f"表格结构无法读取（{type(exc).__name__}），文件可能已损坏"
                )
            )
    if table_count == 0:
        source.problems.append(ImportProblem("文件", "结构", "文档中没有表格"))
    for raw in projects:
        project = read_target_table(raw, source.problems)
        if project is not None:
            source.projects.append(project)
            source.years_mentioned += [int(y) for y in YEAR_IN_TEXT.findall(project.title)]
    return source
