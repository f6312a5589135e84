"""Every workbook the service writes is written through this module.

One function puts a value into a cell (`Sheet.write`): text is cleaned of the control characters
a workbook cannot hold and is always stored as text, so a cause typed as `=HYPERLINK(…)` stays
the words the division wrote and never becomes a live formula.  Rows get heights that fit their
wrapped text, computed from the text and the column width because neither Excel nor LibreOffice
fits row heights when a file is opened.  Every sheet gets a print setup: A4, its orientation,
margins, one page wide, header rows repeated on every page, and a footer with the sheet name,
the page number and the as-of date or the trial/final mark.

Metrics.  Excel and XlsxWriter use Calibri 11 as the default font; LibreOffice prints it with
the metric-compatible Carlito.  A column of width w is 7w + 5 pixels in Excel (5.25 pt per unit
at 96 dpi) and 5.55 pt per unit in LibreOffice, so line capacity is estimated with Excel's
narrower columns and the page-width budget with LibreOffice's wider ones: text fits in both.
A CJK character is one em wide, about twice a Latin one; CJK lines are 1.45 em apart (Noto Sans
CJK and the Windows CJK fonts are within that).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import xlsxwriter
from xlsxwriter.exceptions import DuplicateWorksheetName
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple

BODY_SIZE = 10
MAX_CELL_TEXT = 32767  # Excel's limit; a longer cell makes Excel "repair" the file
FORMULA_PREFIXES = ("=", "+", "-", "@")

# Soft line break / form feed (Word's Shift+Enter, page break) read as line breaks; the rest of the
# C0 controls, lone surrogates and the two non-characters cannot be stored in the XML at all.
_LINE_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
_UNWRITABLE = re.compile("[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

EXCEL_PT_PER_UNIT, EXCEL_PT_PADDING = 5.25, 3.75
LIBREOFFICE_PT_PER_UNIT = 5.55
CELL_INSET_PT = 3.0  # space a cell keeps between its border and its text
LINE_SPACING = 1.45  # line height of CJK text, in em
ROW_PADDING_PT = 1.5
NARROW_EM = 0.6  # a Latin-script letter outside ASCII (é, ß, Greek, Cyrillic), in em

A4_PT = (595.3, 841.9)
MARGINS_IN = {"left": 0.5, "right": 0.5, "top": 0.6, "bottom": 0.7}
FOOTER_MARGIN_IN = 0.3
FOOTER_SIZE = 8
PAGE_FILL = 0.97  # share of the printable height a computed page break counts on
# zlib's fastest level rather than its default 6 (XlsxWriter names none): the 1,115-project 执行监控表 (17.9 MB
# of XML) deflates in 0.06 s instead of 0.28 s, and the file is 2.9 MB instead of 2.1 MB.
DEFLATE_LEVEL = 1


@lru_cache(maxsize=1 << 16)
def clean_text(text: str) -> str:
    """Text as a cell can hold it: soft breaks as line breaks, unwritable characters dropped (cached: a
    workbook writes the same labels and names on every sheet)."""
    text = _UNWRITABLE.sub("", text.translate(_LINE_BREAKS))
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    return text


def display_text(value) -> str:
    """What a cell shows for VALUE (used both to write text and to measure it)."""
    if value.__class__ is str:  # most cells
        return clean_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)):
        return f"{float(value):.10g}"
    return clean_text(str(value))


# ------------------------------------------------------------------ measuring text

# Advance widths of Calibri / Carlito Regular for " " .. "~", in thousandths of an em.
_ASCII_EM = (
    226,
    326,
    401,
    498,
    507,
    715,
    682,
    221,
    303,
    303,
    498,
    498,
    250,
    306,
    252,
    386,
    507,
    507,
    507,
    507,
    507,
    507,
    507,
    507,
    507,
    507,
    268,
    268,
    498,
    498,
    498,
    463,
    894,
    579,
    544,
    533,
    615,
    488,
    459,
    631,
    623,
    252,
    319,
    520,
    420,
    855,
    646,
    662,
    517,
    673,
    543,
    459,
    487,
    642,
    567,
    890,
    519,
    487,
    468,
    307,
    386,
    307,
    498,
    498,
    291,
    479,
    525,
    423,
    525,
    498,
    305,
    471,
    525,
    229,
    239,
    455,
    229,
    799,
    525,
    527,
    525,
    525,
    349,
    391,
    335,
    525,
    452,
    715,
    433,
    453,
    395,
    314,
    460,
    314,
    498,
)
NARROW_SLACK = 1.04  # Excel rounds each glyph to whole pixels, and bold is a little wider
# Symbols of targets that Calibri / Carlito draw themselves (so narrow), though East Asian "ambiguous".
_SYMBOL_EM = {"≥": 0.498, "≤": 0.498, "×": 0.498, "±": 0.498, "°": 0.339, "·": 0.252}


@lru_cache(maxsize=4096)
def _char_em(char: str) -> float:
    code = ord(char)
    if 32 <= code < 127:
        return _ASCII_EM[code - 32] / 1000 * NARROW_SLACK
    if char in _SYMBOL_EM:
        return _SYMBOL_EM[char] * NARROW_SLACK
    # Wide and full-width forms, and the "ambiguous" ones (“” ①) that a CJK font draws wide in Chinese text.
    return 1.0 if unicodedata.east_asian_width(char) in "WFA" else NARROW_EM


def text_em(text: str) -> float:
    """Width of TEXT in em: a CJK character counts double a Latin one."""
    return sum(_char_em(c) for c in text)


# Characters a line may not start with (closing marks) or end with (opening marks), as
# LibreOffice and Excel keep them with their neighbour.
_NO_START = set("，。、；：？！）》」』】〕”’,.;:?!)]}%‰℃")
_NO_END = set("（《「『【〔“‘([{")


def _in_word(char: str) -> bool:
    return char != " " and _char_em(char) < 1.0


def _tokens(paragraph: str) -> list[str]:
    """Units a line breaks between: each CJK character (with the marks kept with it), each Latin word."""
    tokens: list[str] = []
    for char in paragraph:
        if tokens and (char in _NO_START or tokens[-1][-1] in _NO_END or (_in_word(char) and _in_word(tokens[-1][-1]))):
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


@lru_cache(maxsize=65536)
def line_count(text: str, width_units: float, size: float) -> int:
    """Lines TEXT takes wrapped in a column WIDTH_UNITS wide at SIZE pt (a greedy line breaker; cached, since
    a long workbook measures the same labels on every sheet)."""
    capacity = max(0.5, (width_units * EXCEL_PT_PER_UNIT + EXCEL_PT_PADDING - CELL_INSET_PT) / size)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0.0
        for token in _tokens(paragraph):
            width = text_em(token)
            if used + width <= capacity:
                used += width
            elif token.strip() == "":
                used = capacity  # a space at the end of a line is dropped; the next token starts a line
            elif width <= capacity:
                lines += 1
                used = width
            else:  # a word longer than the line is broken between characters
                for char in token:
                    char_width = _char_em(char)
                    if used + char_width > capacity and used > 0:
                        lines += 1
                        used = 0.0
                    used += char_width
    return lines


@lru_cache(maxsize=1024)
def row_height(lines: int, size: float) -> float:
    """Points a row needs for LINES lines of SIZE pt text, on Excel's 0.75 pt (1 pixel) grid."""
    return math.ceil((lines * LINE_SPACING * size + ROW_PADDING_PT) / 0.75) * 0.75


@lru_cache(maxsize=1 << 16)
def width_for(text: str, size: float = BODY_SIZE) -> float:
    """Column width (units) that shows TEXT's longest line unwrapped at SIZE pt."""
    em = max((text_em(line) for line in text.split("\n")), default=0.0)
    return (em * size + CELL_INSET_PT - EXCEL_PT_PADDING) / EXCEL_PT_PER_UNIT + 0.3


# ------------------------------------------------------------------ the page


@dataclass(frozen=True)
class Page:
    """A sheet's print setup.  NOTE goes in the footer (as-of date, trial or final mark)."""

    landscape: bool = False
    title_rows: tuple[int, int] | None = None  # first and last row (0-based) repeated on every page
    note: str = ""
    center: bool = False
    # Fit the whole sheet on one page when that needs no more shrinking than this (else continue
    # one page wide onto more pages); None: always one page wide, as many pages long as needed.
    one_page_scale: float | None = None

    @property
    def size_pt(self) -> tuple[float, float]:
        return (A4_PT[1], A4_PT[0]) if self.landscape else A4_PT

    @property
    def printable_pt(self) -> tuple[float, float]:
        width, height = self.size_pt
        return (
            width - (MARGINS_IN["left"] + MARGINS_IN["right"]) * 72,
            height - (MARGINS_IN["top"] + MARGINS_IN["bottom"]) * 72,
        )

    def width_budget(self, columns: int) -> float:
        """Sum of column widths (units) that prints at 100 % in Excel and LibreOffice alike."""
        return self.printable_pt[0] / LIBREOFFICE_PT_PER_UNIT - 0.72 * columns - 0.5


def _footer_text(text: str) -> str:
    return clean_text(text).replace("&", "&&").replace("\n", " ")


# ------------------------------------------------------------------ styles


@dataclass(frozen=True)
class Style:
    size: float = BODY_SIZE
    bold: bool = False
    italic: bool = False
    color: str | None = None
    fill: str | None = None
    align: str = "left"
    valign: str = "top"
    border: bool = False
    wrap: bool = True
    locked: bool = True
    as_text: bool = False  # number format "@": what people type stays text (2025-06-30, 1,234)
    number_format: str | None = None  # how a number shows ("0.00", "#,##0.00"): the same text as the page
    quote: bool = False  # Excel's quote prefix: text that looks like a formula stays text when edited


@lru_cache(maxsize=256)
def _quoted(style: Style) -> Style:
    """STYLE with Excel's quote prefix (one object per style, so its format is found by the object)."""
    return replace(style, quote=True)


HEADER_FILL = "#DDEBF7"
INPUT_FILL = "#FFF9E6"
BODY = Style()
HEADER = Style(bold=True, fill=HEADER_FILL, valign="vcenter")
TITLE = Style(size=13, bold=True, valign="vcenter")


class _Worksheet(xlsxwriter.worksheet.Worksheet):
    """XlsxWriter's worksheet, with the cells this service writes (text, number or blank, each with a format)
    put into the XML without XlsxWriter's general cell writer: the same bytes as that writer, which builds and
    escapes an attribute list per cell (a third of saving a 1,000-project workbook), and merged ranges filled
    without a call per cell.  Anything else is XlsxWriter's own; tests/test_sheets_writer.py compares both
    writers' files."""

    def _write_rows(self) -> None:
        """XlsxWriter's rows and their spans (the columns used in each block of 16 rows), with each row's cells
        taken in column order from the row itself rather than by trying every column of the sheet, and the cells
        this service writes (text, number or blank, each with a format) put into the XML here, one string per
        row: XlsxWriter's general cell writer builds and escapes an attribute list per cell, and a call per cell
        of a 1,000-project workbook (486,000) is itself a tenth of saving it.  Other cells are XlsxWriter's."""
        if self.constant_memory or self.comments:
            super()._write_rows()
            return
        table, row_info, spans = self.table, self.row_info, {}
        rows = range(self.dim_rowmin, self.dim_rowmax + 1)
        used: list[int] = []  # the lowest and highest column of each row with cells, in the current block
        for row in rows:
            cells = table.get(row)
            if cells:
                used += (min(cells), max(cells))
            if (row + 1) % 16 == 0 or row == self.dim_rowmax:
                if used:
                    spans[row // 16] = f"{min(used) + 1}:{max(used) + 1}"
                used = []
        self.row_spans = spans
        write, write_cell = self.fh.write, self._write_cell
        columns: dict[int, str] = {}  # column index -> letters
        for row in rows:
            cells = table.get(row)
            if not cells:
                if row in row_info:
                    self._write_empty_row(row, spans.get(row // 16), row_info[row])
                continue
            self._write_row(row, spans.get(row // 16), row_info.get(row))
            number, written = str(row + 1), list[str]()
            for col in sorted(cells):
                cell = cells[col]
                kind = cell.__class__
                if cell.format is None or kind not in _FAST_CELLS:
                    write("".join(written))
                    written = []
                    write_cell(row, col, cell)
                    continue
                name = columns.get(col)
                if name is None:
                    name = columns[col] = xl_col_to_name(col)
                if kind is CellBlankTuple:
                    written.append(f'<c r="{name}{number}" s="{cell.format._get_xf_index()}"/>')
                elif kind is CellStringTuple:
                    written.append(
                        f'<c r="{name}{number}" s="{cell.format._get_xf_index()}" t="s"><v>{cell.string}</v></c>'
                    )
                else:
                    written.append(
                        f'<c r="{name}{number}" s="{cell.format._get_xf_index()}"><v>{cell.number:.16G}</v></c>'
                    )
            write("".join(written))
            self._xml_end_tag("row")

    def merge_range(self, first_row, first_col, last_row, last_col, data, cell_format=None):
        """XlsxWriter's merge of an empty, formatted range (what `Sheet.write` merges before it writes the first
        cell) without its per-cell calls: the same merge, the same formatted blanks, the same checks."""
        if (
            data != ""
            or cell_format is None
            or self.constant_memory
            or first_row > last_row
            or first_col > last_col
            or (first_row, first_col) == (last_row, last_col)
        ):
            return super().merge_range(first_row, first_col, last_row, last_col, data, cell_format)
        if self._check_dimensions(first_row, first_col) or self._check_dimensions(last_row, last_col):
            return -1
        cells = [(row, col) for row in range(first_row, last_row + 1) for col in range(first_col, last_col + 1)]
        if not self.merged_cells.keys().isdisjoint(cells) or not self.table_cells.keys().isdisjoint(cells):
            return super().merge_range(first_row, first_col, last_row, last_col, data, cell_format)  # raises
        # xl_range's text for a range of more than one cell, without its checks for absolute references and
        # single cells (a tenth of the merge's time in a 1,000-project workbook, which merges 50,000 ranges)
        cell_range = f"{xl_rowcol_to_cell_fast(first_row, first_col)}:{xl_rowcol_to_cell_fast(last_row, last_col)}"
        blank = CellBlankTuple(cell_format)
        for row, col in cells:
            self.merged_cells[(row, col)] = cell_range
            self.table[row][col] = blank
        self.merge.append([first_row, first_col, last_row, last_col])
        return 0


_FAST_CELLS = (CellBlankTuple, CellStringTuple, CellNumberTuple)


class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's own checks of a new sheet's name, except the one that compares it with every sheet before it
    (quadratic: a second or so in a 1,000-project workbook), done here with a set."""

    worksheet_class = _Worksheet

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._folded_names: set[str] = set()

    def _check_sheetname(self, sheetname, is_chartsheet=False):
        sheets: list = self.worksheets_objs  # type: ignore[has-type]  # untyped in XlsxWriter
        self.worksheets_objs = []  # XlsxWriter's own checks, without its loop over every sheet
        try:
            name = super()._check_sheetname(sheetname, is_chartsheet)
        finally:
            self.worksheets_objs = sheets
        if name.lower() in self._folded_names:
            raise DuplicateWorksheetName(f"Sheetname '{name}', with case ignored, is already in use.")
        self._folded_names.add(name.lower())
        return name

    def _store_workbook(self) -> None:
        """XlsxWriter's packaging of an in-memory workbook, the same steps in the same order, with the parts
        deflated at DEFLATE_LEVEL: XlsxWriter offers no level, and hands each part to `ZipFile.writestr` with
        its own `ZipInfo`, which ignores a level given to the `ZipFile`.  tests/test_sheets_writer.py checks
        that at zlib's default level the file is XlsxWriter's own, part by part."""
        if not self.in_memory:
            super()._store_workbook()
            return
        packager = self._get_packager()
        if not self.worksheets():
            self.add_worksheet()
        sheets: list = self.worksheets_objs
        if self.worksheet_meta.activesheet == 0:
            sheets[0].selected = 1
            sheets[0].hidden = 0
        for sheet in self.worksheets():
            if sheet.index == self.worksheet_meta.activesheet:
                sheet.active = 1
        if self.vba_project:
            for sheet in self.worksheets():
                if sheet.vba_codename is None:
                    sheet.set_vba_name()
        self._prepare_sst_string_data()
        self._prepare_vml()
        self._prepare_defined_names()
        self._prepare_drawings()
        self._add_chart_data()
        self._prepare_tables()
        self._prepare_metadata()
        packager._add_workbook(self)
        packager._set_tmpdir(self.tmpdir)
        packager._set_in_memory(True)
        parts = packager._create_package()
        with zipfile.ZipFile(
            self.filename, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=self.allow_zip64
        ) as archive:
            for content, name, is_binary in parts:
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # Excel's own date, as XlsxWriter writes
                info.compress_type = zipfile.ZIP_DEFLATED
                data = content.getvalue() if is_binary else content.getvalue().encode("utf-8")
                archive.writestr(info, data, compresslevel=DEFLATE_LEVEL)

    def close(self) -> None:
        """XlsxWriter's close, then the one reference that makes the closed workbook a cycle let go: each sheet
        keeps the workbook's add_format (for check boxes) and the workbook keeps its sheets, so every cell of a
        large workbook waited for the cycle collector, whose next pass (a tenth of a 1,000-project download)
        then walked and freed them.  Without it, they are freed as soon as the workbook is dropped."""
        super().close()
        for sheet in self.worksheets_objs:
            sheet.workbook_add_format = None


class Book:
    """A workbook being written; `save()` lays out and closes it."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self.workbook = _Workbook(
            self._buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        self._formats: dict[Style, object] = {}
        self._formats_by_id: dict[int, tuple[Style, object]] = {}  # hashing a Style per cell costs more
        self.sheets: list[Sheet] = []

    def format(self, style: Style):
        known = self._formats_by_id.get(id(style))
        if known is not None and known[0] is style:
            return known[1]
        found = self._formats.get(style)
        if found is None:
            properties = {
                "font_name": "Calibri",
                "font_size": style.size,
                "bold": style.bold,
                "italic": style.italic,
                "align": style.align,
                "valign": style.valign,
                "text_wrap": style.wrap,
                "locked": style.locked,
            }
            if style.color:
                properties["font_color"] = style.color
            if style.fill:
                properties.update(pattern=1, bg_color=style.fill)
            if style.border:
                properties.update(border=1, border_color="#808080")
            if style.as_text:
                properties["num_format"] = "@"
            elif style.number_format:
                properties["num_format"] = style.number_format
            if style.quote:
                properties["quote_prefix"] = True
            found = self._formats[style] = self.workbook.add_format(properties)
        self._formats_by_id[id(style)] = (style, found)  # the style is kept, so its id is not reused
        return found

    def sheet(self, name: str, widths: Sequence[float], page: Page) -> Sheet:
        sheet = Sheet(self, name, widths, page)
        self.sheets.append(sheet)
        return sheet

    def draft(self, widths: Sequence[float], page: Page) -> Sheet:
        """A sheet that only measures (nothing is written): try a layout before writing it."""
        return Sheet(self, None, widths, page)

    def sheet_from(self, name: str, draft: Sheet) -> Sheet:
        """The sheet DRAFT laid out, written as NAME without measuring its cells again."""
        sheet = self.sheet(name, draft.widths, draft.page)
        sheet.take_layout(draft)
        return sheet

    def save(self) -> io.BytesIO:
        for sheet in self.sheets:
            sheet.finish()
        self.workbook.close()
        self.sheets = []  # a sheet keeps its book: no cycle left for the collector (see `_Workbook.close`)
        self._buffer.seek(0)
        return self._buffer


class Sheet:
    """One worksheet: cells, the heights their text needs, and the print setup."""

    def __init__(self, book: Book, name: str | None, widths: Sequence[float], page: Page) -> None:
        self.book, self.page = book, page
        self.worksheet = None if name is None else book.workbook.add_worksheet(name)
        self.widths = [float(w) for w in widths]
        for index, width in enumerate(self.widths):
            if self.worksheet is not None:
                self.worksheet.set_column(index, index, width)
        self.next_row = 0
        self._heights: dict[int, float] = {}
        self._fixed: dict[int, float] = {}
        self._tall: list[tuple[int, int, float]] = []  # cells merged down: first row, last row, points needed
        self._blocks: dict[int, int] = {}  # rows printed on one page when they fit on one: first -> last
        self._breaks: set[int] = set()  # rows that must begin a page
        self._drafted: list[tuple] = []  # a draft's cells as measured, for `Book.sheet_from` to write

    def take_layout(self, draft: Sheet) -> None:
        """Write the cells DRAFT measured, in the same order, and take its row heights and page layout."""
        for cell in draft._drafted:
            self._put(*cell)
        self.next_row = draft.next_row
        self._heights, self._fixed, self._tall = dict(draft._heights), dict(draft._fixed), list(draft._tall)
        self._blocks, self._breaks = dict(draft._blocks), set(draft._breaks)

    def write(self, row: int, col: int, value, style: Style = BODY, *, across: int = 1, down: int = 1) -> None:
        """The one way a value reaches a cell of any workbook: numbers as numbers, everything else as text
        (never a formula), cleaned; ACROSS/DOWN merge the cell with its neighbours."""
        text = display_text(value)
        is_number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
        if not is_number and text.startswith(FORMULA_PREFIXES):
            style = _quoted(style)
        if self.worksheet is not None:
            self._put(row, col, is_number, value, text, style, across, down)
        else:
            self._drafted.append((row, col, is_number, value, text, style, across, down))
        if row + down > self.next_row:
            self.next_row = row + down
        if not text:
            return
        width = self.widths[col] if across == 1 and col < len(self.widths) else sum(self.widths[col : col + across])
        lines = line_count(text, width, style.size) if style.wrap else text.count("\n") + 1
        needed = row_height(lines, style.size)
        if down == 1:
            self._heights[row] = max(self._heights.get(row, 0.0), needed)
        else:
            self._tall.append((row, row + down - 1, needed))

    def _put(self, row: int, col: int, is_number: bool, value, text: str, style: Style, across: int, down: int) -> None:
        cell_format = self.book.format(style)
        if across > 1 or down > 1:
            self.worksheet.merge_range(row, col, row + down - 1, col + across - 1, "", cell_format)
        # XlsxWriter's writers without their wrapper that reads "A1" cell names (the cells here are numbered)
        if is_number:
            self.worksheet._write_number(row, col, float(value), cell_format)
        elif text:
            self.worksheet._write_string(row, col, text, cell_format)
        else:
            self.worksheet._write_blank(row, col, None, cell_format)

    def append(self, values: Iterable, style: Style | Sequence[Style] = BODY) -> int:
        """Write VALUES as the next row (one style, or one per column); returns its index."""
        row = self.next_row
        for col, value in enumerate(values):
            self.write(row, col, value, style if isinstance(style, Style) else style[col])
        self.next_row = row + 1
        return row

    def set_height(self, row: int, points: float) -> None:
        """A row whose height is chosen rather than fitted (a blank row for signatures, say)."""
        self._fixed[row] = points

    def keep_together(self, first: int, last: int) -> None:
        """Start a new page before rows FIRST..LAST rather than split them, when they fit on one page."""
        if last > first:
            self._blocks[first] = last

    def height_of(self, row: int) -> float:
        return self._fixed.get(row) or self._heights.get(row) or row_height(1, 11)

    def content_height(self) -> float:
        """Points the sheet's rows take, cells merged down included."""
        extra = 0.0
        for first, last, needed in self._tall:
            extra += max(0.0, needed - sum(self.height_of(row) for row in range(first, last + 1)))
        return sum(self.height_of(row) for row in range(self.next_row)) + extra

    def fits_one_page(self) -> bool:
        """Whether the sheet prints on one page, shrunk by no more than the page allows."""
        scale = self.page.one_page_scale
        return scale is not None and self.content_height() * scale <= self.page.printable_pt[1]

    def finish(self) -> None:
        for first, last, needed in self._tall:  # a cell merged down that needs more room: its rows share it
            have = sum(self.height_of(row) for row in range(first, last + 1))
            if have < needed:
                share = math.ceil((needed - have) / (last - first + 1) / 0.75) * 0.75
                for row in range(first, last + 1):
                    self._heights[row] = self.height_of(row) + share
        for row in sorted(set(self._heights) | set(self._fixed)):
            self.worksheet.set_row(row, self.height_of(row))
        self._print_setup()
        breaks = self._page_breaks()
        if breaks:
            self.worksheet.set_h_pagebreaks(breaks)

    def _print_setup(self) -> None:
        page, worksheet = self.page, self.worksheet
        worksheet.set_paper(9)  # A4
        if page.landscape:
            worksheet.set_landscape()
        else:
            worksheet.set_portrait()
        worksheet.set_margins(**MARGINS_IN)
        worksheet.fit_to_pages(1, 1 if self.fits_one_page() else 0)
        if page.title_rows is not None:
            worksheet.repeat_rows(*page.title_rows)
        if page.center:
            worksheet.center_horizontally()
        footer = f"&L&{FOOTER_SIZE}&A&C&{FOOTER_SIZE}第 &P 页，共 &N 页"
        if page.note:
            footer += f"&R&{FOOTER_SIZE}{_footer_text(page.note)}"
        worksheet.set_footer(footer, {"margin": FOOTER_MARGIN_IN})

    def break_before(self, row: int) -> None:
        self._breaks.add(row)

    def page_starts(self) -> list[int]:
        """Rows that begin a printed page after the first, printing at 100 %."""
        return self._paginate()[0]

    def _page_breaks(self) -> list[int]:
        return self._paginate()[1]

    def _paginate(self) -> tuple[list[int], list[int]]:
        """(rows that begin a page, the page breaks to write).  Breaks are written before blocks kept
        together and where asked; the renderer makes the others, where this walk makes them too, since
        the heights are the ones written and the sheet prints at 100 % (it fits the width); a little
        room is kept for rounding."""
        titles = range(self.page.title_rows[0], self.page.title_rows[1] + 1) if self.page.title_rows else range(0)
        title_height = sum(self.height_of(row) for row in titles)
        capacity = self.page.printable_pt[1] * PAGE_FILL
        starts, written = [], []
        used = sum(self.height_of(row) for row in range(titles.stop))  # the first page, down to the titles
        for row in range(titles.stop, self.next_row):
            height = self.height_of(row)
            last = self._blocks.get(row)
            if row in self._breaks:
                starts.append(row)
                written.append(row)
                used = title_height
            elif last is not None and used > title_height:
                block = sum(self.height_of(r) for r in range(row, last + 1))
                if used + block > capacity and title_height + block <= capacity:
                    starts.append(row)
                    written.append(row)
                    used = title_height
            if used + height > capacity and used > title_height:
                starts.append(row)  # the renderer's own break
                used = title_height
            used += height
        return starts, written


# ------------------------------------------------------------------ widths for content


@dataclass(frozen=True)
class Column:
    """A column of a data sheet: its title and the range its width may take (units)."""

    title: str
    minimum: float
    maximum: float


def widths_for_content(
    columns: Sequence[Column], rows: Sequence[Sequence], page: Page, size: float = BODY_SIZE
) -> list[float]:
    """Each column as wide as its longest value (within the column's range); when that is wider than
    the page, the text columns are narrowed so that they wrap to about the same number of lines
    (a long cause gets more width than a short name) and the sheet still prints at 100 %."""
    natural, typical = [], []
    for index, column in enumerate(columns):
        title = width_for(column.title, size) / 2 + 1  # a title may wrap onto two lines
        lengths = sorted(
            width_for(display_text(row[index]), size)
            for row in rows
            if index < len(row) and row[index] is not None and row[index] != ""
        )
        longest = lengths[-1] if lengths else 0.0
        natural.append(min(column.maximum, max(column.minimum, title, longest)))
        typical.append(lengths[int(len(lengths) * 0.8)] if lengths else 0.0)
    budget = page.width_budget(len(columns))

    def widths(lines: float) -> list[float]:
        return [min(n, max(c.minimum, t / lines)) for n, t, c in zip(natural, typical, columns, strict=False)]

    if sum(natural) > budget:
        low, high = 1.0, 64.0  # lines the typical long value wraps to: the fewest whose widths fit
        for _ in range(30):
            middle = (low + high) / 2
            low, high = (middle, high) if sum(widths(middle)) > budget else (low, middle)
        natural = widths(high)
    return [math.floor(w * 10) / 10 for w in natural]
