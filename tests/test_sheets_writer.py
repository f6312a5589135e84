"""The workbook writer's shortcuts write the same files as XlsxWriter's own code: the cell writer for text,
number and blank cells, the sheet-name check kept in a set, and a laid-out draft written without measuring it
again (what makes a 1,000-project 自评表 fast)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
import xlsxwriter.worksheet
from xlsxwriter.exceptions import DuplicateWorksheetName

from service.clock import clock
from service.db import session_scope
from service.exports import sheets
from service.exports.monitoring import build_monitoring_workbook
from service.exports.self_evaluation import build_self_evaluation
from service.exports.sheets import HEADER, TITLE, Book, Page, Style
from service.reporting.reports import load_scope
from service.reporting.workbook import build_workbook


def parts(data: io.BytesIO) -> dict[str, bytes]:
    """Every part of an xlsx file but its creation time."""
    with zipfile.ZipFile(data) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


def test_the_fast_cell_writer_writes_the_bytes_xlsxwriter_writes(seeded_engine, monkeypatch):
    clock.set_today(date(2025, 7, 3))

    def workbooks() -> list[dict[str, bytes]]:
        with session_scope(seeded_engine) as session:
            return [
                parts(build_self_evaluation(session, 2025)),
                parts(build_workbook(session, load_scope(session, 2025, "XXH", 2))),
                parts(build_monitoring_workbook(session, 2025, date(2025, 7, 31))),
            ]

    fast = workbooks()
    monkeypatch.setattr(sheets._Workbook, "worksheet_class", xlsxwriter.worksheet.Worksheet)
    stock = workbooks()
    assert len(fast[0]) > 60  # one sheet per seed project
    assert fast == stock


def _content(sheet) -> None:
    sheet.write(0, 0, "标题", TITLE, across=3)
    sheet.write(1, 0, '=HYPERLINK("x")', HEADER)
    sheet.write(1, 1, 12.5, Style(border=True, number_format="0.00"), down=2)
    sheet.write(1, 2, "")
    sheet.write(2, 0, "很长的一段说明文字，" * 8)
    sheet.set_height(3, 30)
    sheet.keep_together(2, 3)


def test_a_draft_written_as_a_sheet_is_the_sheet_written_directly():
    page = Page(title_rows=(0, 0), note="试算")
    direct = Book()
    _content(direct.sheet("表", [8, 10, 12], page))
    drafted = Book()
    draft = drafted.draft([8, 10, 12], page)
    _content(draft)
    sheet = drafted.sheet_from("表", draft)
    assert sheet.content_height() == draft.content_height() and sheet.page_starts() == draft.page_starts()
    assert parts(drafted.save()) == parts(direct.save())


def test_sheet_names_stay_unique_ignoring_case():
    book = Book()
    book.sheet("2025-001a", [8], Page())
    with pytest.raises(DuplicateWorksheetName):
        book.sheet("2025-001A", [8], Page())
    book.sheet("2025-002", [8], Page())
    assert [s.worksheet.name for s in book.sheets] == ["2025-001a", "2025-002"]


def test_an_overlapping_merge_is_refused_as_xlsxwriter_refuses_it():
    from xlsxwriter.exceptions import OverlappingRange

    sheet = Book().sheet("表", [8, 8, 8], Page())
    sheet.write(0, 0, "", HEADER, across=2, down=2)
    with pytest.raises(OverlappingRange, match="'B2:C3' overlaps previous merge range 'A1:B2'"):
        sheet.write(1, 1, "", HEADER, across=2, down=2)


def test_the_workbooks_are_built_with_the_cycle_collector_paused_and_resumed_after(seeded_engine, monkeypatch):
    import gc

    clock.set_today(date(2025, 7, 3))
    seen = []
    save = Book.save
    monkeypatch.setattr(Book, "save", lambda book: seen.append(gc.isenabled()) or save(book))
    assert gc.isenabled()
    with session_scope(seeded_engine) as session:
        build_self_evaluation(session, 2025, project="2025-001")
        build_monitoring_workbook(session, 2025, date(2025, 7, 31))
        with pytest.raises(ValueError):
            build_self_evaluation(session, 2025, project="没有这个项目")
    assert seen == [False, False] and gc.isenabled()  # resumed after each build, a failed one too
    gc.disable()
    try:
        with session_scope(seeded_engine) as session:
            build_self_evaluation(session, 2025, project="2025-001")
        assert not gc.isenabled()  # a collector paused by the caller stays paused
    finally:
        gc.enable()


def test_rows_and_spans_are_written_as_xlsxwriter_writes_them(monkeypatch):
    """Rows over several blocks of 16 (each with its span), cells written out of column order, merged ranges,
    a row with a height and no cells, and a gap of rows with nothing at all."""

    def book() -> dict[str, bytes]:
        written = Book()
        sheet = written.sheet("表", [8, 10, 12, 6, 9], Page(title_rows=(0, 0), note="试算"))
        sheet.write(0, 0, "标题", TITLE, across=5)
        for row in range(1, 40):
            for col in (4, 1, 3) if row % 3 else (2, 0):
                sheet.write(row, col, f"{row}-{col}" if col % 2 else row * 1.5, Style(border=True))
        sheet.write(41, 1, "合并", HEADER, across=2, down=3)
        sheet.set_height(45, 30)
        sheet.write(70, 3, "=SUM(A1)")
        sheet.worksheet.write_formula(5, 2, "=A1+1", None, 2)  # XlsxWriter's own cells between ours in a row
        sheet.worksheet.write_string(5, 0, "无格式")
        sheet.write(75, 28, "AC 列", HEADER)
        return parts(written.save())

    fast = book()
    monkeypatch.setattr(sheets._Workbook, "worksheet_class", xlsxwriter.worksheet.Worksheet)
    assert fast == book()
    assert b'spans="1:5"' in fast["xl/worksheets/sheet1.xml"] and b'r="46"' in fast["xl/worksheets/sheet1.xml"]
    assert b'<c r="C6"><f>A1+1</f><v>2</v></c>' in fast["xl/worksheets/sheet1.xml"]


def test_a_saved_book_is_freed_when_dropped_not_left_to_the_cycle_collector():
    """The collector's next pass would walk every cell of a large workbook (a tenth of a 1,000-project download)."""
    import gc
    import weakref

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        book = Book()
        sheet = book.sheet("表", [8, 8], Page())
        sheet.write(0, 0, "标题", TITLE, across=2)
        sheet.write(1, 0, 12.5)
        assert zipfile.ZipFile(book.save()).read("xl/sharedStrings.xml").count("标题".encode()) == 1
        kept = [weakref.ref(book.workbook), weakref.ref(sheet.worksheet), weakref.ref(sheet)]
        del book, sheet
        assert [ref() for ref in kept] == [None, None, None]
    finally:
        if was_enabled:
            gc.enable()


def _archive(data: io.BytesIO) -> list[tuple]:
    """Each part of an xlsx file but its creation time: name, date, compression, sizes and content."""
    with zipfile.ZipFile(data) as archive:
        return [
            (i.filename, i.date_time, i.compress_type, i.compress_size, i.file_size, archive.read(i))
            for i in archive.infolist()
            if i.filename != "docProps/core.xml"
        ]


def _monitoring(engine) -> io.BytesIO:
    with session_scope(engine) as session:
        return build_monitoring_workbook(session, 2025, date(2025, 7, 31))


def test_at_zlib_s_default_level_the_file_is_xlsxwriter_s_own_part_by_part(seeded_engine, monkeypatch):
    clock.set_today(date(2025, 7, 3))
    monkeypatch.setattr(sheets, "DEFLATE_LEVEL", None)
    ours = _archive(_monitoring(seeded_engine))
    monkeypatch.setattr(sheets._Workbook, "_store_workbook", xlsxwriter.Workbook._store_workbook)
    assert ours == _archive(_monitoring(seeded_engine))
    assert {"xl/worksheets/sheet4.xml", "xl/sharedStrings.xml"} <= {part[0] for part in ours}


def test_the_parts_are_deflated_at_zlib_s_fastest_level(seeded_engine):
    import zlib

    from openpyxl import load_workbook

    clock.set_today(date(2025, 7, 3))
    data = _monitoring(seeded_engine)
    for name, _date, compression, compressed, _size, content in _archive(data):
        deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
        assert (name, compression, compressed) == (
            name,
            zipfile.ZIP_DEFLATED,
            len(deflate.compress(content) + deflate.flush()),
        )
    assert load_workbook(data).sheetnames == ["汇总", "项目状态", "执行监控表", "指标"]
