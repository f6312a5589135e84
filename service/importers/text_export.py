"""The text export of the target tables (as in the seed file).

Layout: a title line per table; rows separated by blank lines; each cell starts with
a tab (a lone tab is an empty cell) and may continue on following lines that do not
start with a tab; `[bookmark: …]` markers are ignored.
"""

from __future__ import annotations

from .source import ImportProblem, SourceFile
from .target_tables import BOOKMARK, YEAR_IN_TEXT, RawTable, parse_title, read_target_table


def decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "neither UTF-8 nor GB18030")


def split_tables(text: str) -> list[RawTable]:
    tables: list[RawTable] = []
    row: list[str] | None = None

    def close_row() -> None:
        nonlocal row
        if row is not None and tables:
            tables[-1].rows.append(row)
        row = None

    for line_no, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip("\r")
        if not line.startswith("\t"):
            stripped = BOOKMARK.sub("", line).strip()
            if stripped == "":
                close_row()
                continue
            if stripped.endswith("绩效目标表") and parse_title(stripped):
                close_row()
                tables.append(RawTable(title=stripped, rows=[], location=f"第 {line_no} 行"))
                continue
            if row is None:  # text outside any cell: a continuation of nothing
                row = [stripped]
            else:
                row[-1] += "\n" + line.strip()
            continue
        if row is None:
            row = []
        row.append(line[1:])
    close_row()
    return tables


def read_text_export(data: bytes) -> SourceFile:
    source = SourceFile(format="text")
    try:
        text = decode_text(data)
    except UnicodeDecodeError:
        source.problems.append(ImportProblem("文件", "编码", "文件既不是 UTF-8 也不是 GB18030 编码的文本"))
        return source
    tables = split_tables(text)
    if not tables:
        source.problems.append(ImportProblem("文件", "结构", "没有找到任何「序号.项目名称 绩效目标表」标题"))
        return source
    for table in tables:
        project = read_target_table(table, source.problems)
        if project is not None:
            source.projects.append(project)
            source.years_mentioned += [int(y) for y in YEAR_IN_TEXT.findall(project.title)]
    return source
