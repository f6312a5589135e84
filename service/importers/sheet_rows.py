"""Rows of a small sheet people fill in (grades, divisions, users): .xlsx (first sheet) or .csv
(UTF-8 with or without BOM, or GB18030), each row with where it came from."""

from __future__ import annotations

import csv
import io

from .office import OfficeFileError, open_xlsx, sheet_rows
from .source import ImportProblem
from .text_export import decode_text

MAX_COLUMNS = 32  # wider than any sheet people fill in here (grades, divisions, users)


class SheetUnreadable(Exception):
    """The file is not a sheet that can be read; `problem` says why."""

    def __init__(self, problem: ImportProblem):
        super().__init__(str(problem))
        self.problem = problem


def read_sheet_rows(file_name: str, data: bytes, columns: int = MAX_COLUMNS) -> list[tuple[str, list[str]]]:
    """(「第 n 行」, stripped cell texts) for every row, the header first, at most COLUMNS cells wide;
    anything but .xlsx is read as CSV.  A workbook is checked before parsing (`office.open_xlsx`)."""
    if file_name.lower().endswith(".xlsx"):
        try:
            workbook = open_xlsx(data)
            try:
                return [
                    (f"第 {n} 行", ["" if v is None else _text(v) for v in row])
                    for n, row in enumerate(sheet_rows(workbook.worksheets[0], columns), start=1)
                ]
            finally:
                workbook.close()
        except OfficeFileError as exc:
            raise SheetUnreadable(ImportProblem("文件", "格式", exc.message)) from exc
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise SheetUnreadable(ImportProblem("文件", "编码", "应为 UTF-8 或 GB18030 编码的 CSV")) from exc
    try:
        return [
            (f"第 {n} 行", [c.strip() for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        ]
    except csv.Error as exc:
        raise SheetUnreadable(ImportProblem("文件", "格式", f"CSV 格式错误：{exc}")) from exc


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def header_columns(header: list[str], wanted: list[str], optional: tuple[str, ...] = ()) -> dict[str, int] | str:
    """Column index of each wanted name, or the Chinese reason the header does not fit."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    missing = [w for w in wanted if w not in names and w not in optional]
    if missing:
        return f"缺少列：{'、'.join(missing)}。表头应为：{','.join(wanted)}"
    return {w: names.index(w) for w in wanted if w in names}
