"""Target tables in a Word document: a title paragraph, then the table (python-docx)."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from .source import ImportProblem, SourceFile
from .target_tables import UNIT_LINE, YEAR_IN_TEXT, RawTable, parse_title, read_target_table


def _unique_cells(row) -> list[str]:
    """Cell texts of a row, a merged cell counted once."""
    cells, seen = [], None
    for cell in row.cells:
        if cell._tc is seen:
            continue
        seen = cell._tc
        cells.append(cell.text)
    return cells


def read_docx(data: bytes) -> SourceFile:
    source = SourceFile(format="docx")
    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        source.problems.append(ImportProblem("文件", "格式", f"无法作为 Word (.docx) 文件打开：{exc}"))
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
            rows = ([unit_line] if unit_line else []) + [_unique_cells(row) for row in block.rows]
            # The title block's unit cells may sit in the table's first rows; they are read like the text export.
            project = read_target_table(RawTable(title, rows, f"第 {table_count} 个表格"), source.problems)
            if project is not None:
                source.projects.append(project)
                source.years_mentioned += [int(y) for y in YEAR_IN_TEXT.findall(project.title)]
            title = None
    if table_count == 0:
        source.problems.append(ImportProblem("文件", "结构", "文档中没有表格"))
    return source
