"""Reading the workbooks the service writes, as a test checks them.

openpyxl, on load, copies the top-left cell's border onto every edge cell of each merged range and
hashes a new Border per cell: about 7 s for the 执行监控表 of the demo year, whose project blocks hold
some 2,800 merges.  The tests read values, merges, validations and page setup, never those copies,
so `open_workbook` loads without them; the merged ranges themselves are kept."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.workbook import Workbook
from openpyxl.worksheet.merge import MergedCellRange


def _placeholders_only(merged: MergedCellRange) -> None:
    """What MergedCellRange.format does, less the border copies: a MergedCell in every covered slot."""
    cells = merged.ws._cells
    for row, column in merged.cells:
        if (row, column) not in cells:
            cells[(row, column)] = MergedCell(merged.ws, row=row, column=column)


@contextlib.contextmanager
def _without_border_copies() -> Iterator[None]:
    original = MergedCellRange.format
    MergedCellRange.format = _placeholders_only  # type: ignore[method-assign]
    try:
        yield
    finally:
        MergedCellRange.format = original  # type: ignore[method-assign]


def open_workbook(source) -> Workbook:
    """SOURCE: bytes, a BytesIO (as the exporters return), a path or a file."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    with _without_border_copies():
        return load_workbook(source)
