"""Target tables in a Word document: a title paragraph, then the table (python-docx)."""

from __future__ import annotations

from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from .office import OfficeFileError, open_docx
from .source import ImportProblem, SourceFile
from .target_tables import UNIT_LINE, YEAR_IN_TEXT, RawTable, parse_title, read_target_table

MAX_GRID_COLUMNS = 63  # Word's own limit on a table's columns


def _table_rows(table: Table) -> list[list[str]]:
    """Cell texts row by row, a horizontally merged cell counted once and a vertically merged one
    repeated in each row it spans.  Walks the <w:tc> elements itself: python-docx's `row.cells`
    expands a cell's gridSpan into that many items (a span of a billion is a memory bomb) and finds
    the cell above a vertical merge by an XPath per cell."""
    rows: list[list[str]] = []
    above: dict[int, str] = {}  # grid column -> text of the cell that starts a vertical merge there
    for number, tr in enumerate(table._tbl.tr_lst, start=1):
        cells, column = [], tr.grid_before
        for tc in tr.tc_lst:
            if not 0 < tc.grid_span <= MAX_GRID_COLUMNS:
                raise ValueError(f"第 {number} 行有单元格横跨 {tc.grid_span} 列，Word 表格最多 {MAX_GRID_COLUMNS} 列")
            text = above.get(column, "") if tc.vMerge == "continue" else _Cell(tc, table).text
            above[column] = text
            cells.append(text)
            column += tc.grid_span
        rows.append(cells)
    return rows


def read_docx(data: bytes) -> SourceFile:
    source = SourceFile(format="docx")
    try:
        document = open_docx(data)
    except OfficeFileError as exc:
        source.problems.append(ImportProblem("文件", "格式", exc.message))
        return source
    title: str | None = None
    unit_line: list[str] = []  # a 「323101单位名称」 paragraph between the title and its table
    table_count = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if text.endswith("绩效目标表") and parse_title(text):
                title, unit_line = text, []
            elif title is not None and UNIT_LINE.match(text):
                unit_line = [text]
            continue
        if isinstance(block, Table):
            table_count += 1
            if title is None:
                source.problems.append(
                    ImportProblem(f"第 {table_count} 个表格", "标题", "表格前没有「序号.项目名称 绩效目标表」标题")
                )
                continue
            try:
                rows = ([unit_line] if unit_line else []) + _table_rows(block)
            except ValueError as exc:
                source.problems.append(ImportProblem(f"第 {table_count} 个表格", "格式", str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - malformed table XML (a gridSpan of "x"…) is one refusal
                source.problems.append(
                    ImportProblem(
                        f"第 {table_count} 个表格", "格式", f"表格结构无法读取（{type(exc).__name__}），文件可能已损坏"
                    )
                )
                continue
            # The title block's unit cells may sit in the table's first rows; they are read like the text export.
            project = read_target_table(RawTable(title, rows, f"第 {table_count} 个表格"), source.problems)
            if project is not None:
                source.projects.append(project)
                source.years_mentioned += [int(y) for y in YEAR_IN_TEXT.findall(project.title)]
            title = None
    if table_count == 0:
        source.problems.append(ImportProblem("文件", "结构", "文档中没有表格"))
    return source
