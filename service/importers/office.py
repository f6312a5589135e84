"""Office files (.xlsx, .docx) checked as zip archives before openpyxl or python-docx sees them.

A small upload can expand into a huge workbook (250 KB of zip holding 250,000 inline-string
rows took a minute and half a gigabyte in openpyxl), and a malformed one makes the parsers
raise anything from KeyError to TypeError.  `check_office` reads the archive's directory and
streams every XML part through expat once, with caps on the number of entries, the
decompressed size of each part and of the whole, rows, cells, shared strings and document
elements, and a time bound; it refuses DTDs (Office files never have one).  `open_xlsx` and
`open_docx` run the check, then the parser, and turn any failure of either into one
`OfficeFileError` with a Chinese message: callers never see a parser's exception.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from xml.parsers import expat

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # password-protected Office files and old .xls/.doc
KINDS = {"xlsx": ("Excel 工作簿 (.xlsx)", "xl/workbook.xml"), "docx": ("Word 文档 (.docx)", "word/document.xml")}
CHUNK = 64 * 1024
TAG_START = 256  # bytes enough to hold "<prefix:name " of any tag counted
MB = 1024 * 1024


@dataclass(frozen=True)
class OfficeLimits:
    """What one uploaded Office file may hold.  The division workbook has at most 5,000 rows of 15
    columns, a bureau's flat target table a few thousand rows; these leave room, and the largest
    accepted workbook is read (lazily, read-only) in seconds with a few MB."""

    max_entries: int = 1000
    max_total_bytes: int = 64 * MB  # decompressed, all parts
    max_part_bytes: int = 32 * MB  # decompressed, one part (a sheet's XML)
    max_rows: int = 20_000  # all sheets
    max_cells: int = 250_000  # all sheets
    max_shared_strings: int = 250_000
    max_elements: int = 1_000_000  # XML elements of every part together (.docx paragraphs, runs, cells…)
    max_seconds: float = 5.0  # the check itself
    max_read_seconds: float = 30.0  # reading one sheet's rows (a backstop: the caps above bound it already)


DEFAULT_LIMITS = OfficeLimits()


class OfficeFileError(ValueError):
    """An Office file refused before (or while) parsing.  `status`: 413 when it exceeds a limit,
    422 when it is malformed or of another kind."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


class _Counter:
    """Counts what the XML parts hold as they stream by; raises as soon as a cap is passed.

    Counting is done on the bytes (a regular expression over each chunk, cut after the last
    complete tag) rather than in a per-element callback, so checking a large accepted file stays
    cheap; expat still reads every byte for well-formedness and DTDs."""

    COUNTED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|si)[\s/>]")  # start tags, any namespace prefix
    NAMES = {b"row": "rows", b"c": "cells", b"si": "shared_strings"}
    WHAT = {"rows": "行", "cells": "个单元格", "shared_strings": "个共享字符串", "elements": "个内容元素"}

    def __init__(self, label: str, limits: OfficeLimits, deadline: float):
        self.label, self.limits, self.deadline = label, limits, deadline
        self.counts = {"rows": 0, "cells": 0, "shared_strings": 0, "elements": 0}
        self.caps = {
            "rows": limits.max_rows,
            "cells": limits.max_cells,
            "shared_strings": limits.max_shared_strings,
            "elements": limits.max_elements,
        }

    def count(self, data: bytes) -> None:
        for name, found in Counter(self.COUNTED.findall(data)).items():
            self.counts[self.NAMES[name]] += found
        # every "<" opens a tag; end tags, declarations, comments and processing instructions are not elements
        self.counts["elements"] += data.count(b"<") - data.count(b"</") - data.count(b"<!") - data.count(b"<?")
        for name, cap in self.caps.items():
            if self.counts[name] > cap:
                raise _too_large(self.label, f"超过 {cap:,} {self.WHAT[name]}")
        if time.monotonic() > self.deadline:
            raise OfficeFileError(f"{self.label}过于复杂，检查超过 {self.limits.max_seconds:g} 秒，已拒绝", 413)

    def doctype(self, *_args) -> None:
        raise OfficeFileError(f"{self.label}含有 DTD 声明，Office 文件不应包含，已拒绝")


def _too_large(label: str, why: str) -> OfficeFileError:
    return OfficeFileError(f"{label}内容过多（{why}），已拒绝。请删除多余的行、列或空白格式后重新上传", 413)


def check_office(data: bytes, kind: str, limits: OfficeLimits = DEFAULT_LIMITS) -> None:
    """OfficeFileError unless DATA is a well-formed .xlsx/.docx (KIND) within LIMITS."""
    label, main_part = KINDS[kind]
    if not data:
        raise OfficeFileError(f"文件是空的，不是有效的{label}")
    if data.startswith(OLE2_MAGIC):
        raise OfficeFileError(f"文件受密码保护或是旧版 Office 格式（.xls/.doc），请去掉密码并另存为{label}后上传")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise OfficeFileError(f"文件已损坏或不是{label}（无法作为 zip 压缩包读取）") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise _too_large(label, f"压缩包内有 {len(entries):,} 个文件，超过 {limits.max_entries:,} 个")
        names = {info.filename for info in entries}
        if main_part not in names or "[Content_Types].xml" not in names:
            other = next((KINDS[k][0] for k, (_l, part) in KINDS.items() if k != kind and part in names), None)
            hint = f"，它像是{other}" if other else ""
            raise OfficeFileError(f"文件不是{label}：缺少 {main_part}{hint}")
        total = 0
        for info in entries:
            if info.flag_bits & 0x1:
                raise OfficeFileError(f"文件中的「{info.filename}」已加密，请去掉密码后重新上传")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise OfficeFileError(f"文件中的「{info.filename}」使用了不支持的压缩方式")
            if info.file_size > limits.max_part_bytes:
                raise _too_large(
                    label,
                    f"「{info.filename}」解压后 {info.file_size / MB:.0f} MB，超过 {limits.max_part_bytes // MB} MB",
                )
            total += info.file_size
        if total > limits.max_total_bytes:
            raise _too_large(label, f"解压后共 {total / MB:.0f} MB，超过 {limits.max_total_bytes // MB} MB")
        deadline = time.monotonic() + limits.max_seconds
        counter = _Counter(label, limits, deadline)
        for info in entries:
            _scan_part(archive, info, counter)


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, counter: _Counter) -> None:
    """Every part that is XML, whatever its name (the parsers find parts through relationships, so a
    sheet may be called image1.png); other parts are binary and bounded by their size alone."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = counter.doctype
    parser.EntityDeclHandler = counter.doctype
    pending = b""  # from a "<" near the end of the previous chunk: a tag's name is never cut in two
    try:
        with archive.open(info) as stream:
            chunk = stream.read(CHUNK)
            start = chunk.removeprefix(b"\xef\xbb\xbf").lstrip()[:2]
            if start in (b"\xff\xfe", b"\xfe\xff", b"<\0", b"\0<"):
                raise OfficeFileError(f"{counter.label}中的「{info.filename}」使用了 UTF-16 等不支持的编码")
            if not chunk or (start and not start.startswith(b"<")):
                return  # empty, or binary (an image, a printer setting)
            while chunk:
                parser.Parse(chunk, False)
                data = pending + chunk
                cut = data.rfind(b"<", max(0, len(data) - TAG_START))
                cut = len(data) if cut == -1 else cut
                counter.count(data[:cut])
                pending = data[cut:]
                chunk = stream.read(CHUNK)
            parser.Parse(b"", True)
            counter.count(pending)
    except expat.ExpatError as exc:
        raise OfficeFileError(
            f"{counter.label}中的「{info.filename}」不是有效的 XML（第 {exc.lineno} 行：{expat.ErrorString(exc.code)}）"
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        if isinstance(exc, OfficeFileError):
            raise
        raise OfficeFileError(f"文件已损坏：「{info.filename}」无法解压（{type(exc).__name__}）") from exc


def open_xlsx(data: bytes, limits: OfficeLimits = DEFAULT_LIMITS):
    """The checked workbook, opened read-only (rows are read lazily, see `sheet_rows`; close it after
    use), or OfficeFileError (whatever openpyxl would have raised)."""
    from openpyxl import load_workbook

    check_office(data, "xlsx", limits)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # the stored extent may be anything, even A1:XFD1048576
    except Exception as exc:  # noqa: BLE001 - any parser failure is one refusal of a malformed file
        raise OfficeFileError(f"无法作为 Excel 工作簿 (.xlsx) 打开（{type(exc).__name__}），文件可能已损坏") from exc
    if not workbook.worksheets:
        workbook.close()
        raise OfficeFileError("工作簿中没有工作表")
    return workbook


def sheet_rows(sheet, max_col: int, *, values_only: bool = True, limits: OfficeLimits = DEFAULT_LIMITS):
    """SHEET's rows, at most MAX_COL cells wide, numbered from 1 with missing rows given empty: stops
    with OfficeFileError past `max_rows` rows (row numbers can jump to 1,048,576) or `max_read_seconds`,
    and turns a failure while reading a cell into OfficeFileError."""
    label = f"工作表「{sheet.title}」"
    deadline = time.monotonic() + limits.max_read_seconds
    count = 0
    try:
        for row in sheet.iter_rows(max_col=max_col, values_only=values_only):
            count += 1
            if count > limits.max_rows:
                raise _too_large(label, f"超过 {limits.max_rows:,} 行")
            if count % 256 == 0 and time.monotonic() > deadline:
                raise OfficeFileError(f"{label}读取超过 {limits.max_read_seconds:g} 秒，已拒绝", 413)
            yield row
    except OfficeFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a lazily read sheet can still hold a malformed cell
        raise OfficeFileError(f"{label}中有无法读取的内容（{type(exc).__name__}），文件可能已损坏") from exc


def open_docx(data: bytes, limits: OfficeLimits = DEFAULT_LIMITS):
    """The checked Word document, or OfficeFileError (whatever python-docx would have raised)."""
    from docx import Document

    check_office(data, "docx", limits)
    try:
        return Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any parser failure is one refusal of a malformed file
        raise OfficeFileError(f"无法作为 Word 文档 (.docx) 打开（{type(exc).__name__}），文件可能已损坏") from exc
