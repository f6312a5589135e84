"""Malformed and oversized Office files, built from a valid one: what an upload endpoint must refuse
with a Chinese 4xx, never a 500."""

from __future__ import annotations

import io
import struct
import zipfile

from service.importers.office import OLE2_MAGIC

MAIN_PART = {"xlsx": "xl/workbook.xml", "docx": "word/document.xml"}
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
    b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    b'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = b"</sheetData></worksheet>"


def inline_string_bomb(rows: int = 250_000) -> bytes:
    """A minimal workbook whose one sheet holds ROWS inline-string rows: about 250 KB of zip for 250,000
    rows (the attack of the issue: a minute and half a gigabyte in openpyxl)."""
    body = b"".join(b'<row><c t="inlineStr"><is><t>%d</t></is></c></row>' % n for n in range(rows))
    return _zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": PACKAGE_RELS,
            "xl/workbook.xml": WORKBOOK,
            "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
            "xl/worksheets/sheet1.xml": SHEET_START + body + SHEET_END,
        }
    )


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _replace(data: bytes, **changes: bytes | None) -> bytes:
    """DATA's parts with some replaced (a value) or removed (None); keys use / for path separators."""
    parts = _parts(data)
    for name, value in changes.items():
        if value is None:
            parts.pop(name, None)
        else:
            parts[name] = value
    return _zip(parts)


def _patch_headers(data: bytes, part: str, offset_local: int, offset_central: int, value: int) -> bytes:
    """Set a 2-byte field of PART's local and central directory headers (flag bits, compression method)."""
    raw = bytearray(data)
    name = part.encode()
    for signature, offset in ((b"PK\x03\x04", offset_local), (b"PK\x01\x02", offset_central)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + len(name)] == name:
                struct.pack_into("<H", raw, start + offset, value)
            start += 4
    return bytes(raw)


def _corrupt_data(data: bytes, part: str) -> bytes:
    """Flip bytes inside PART's compressed data (the directory stays intact)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(part)
    raw = bytearray(data)
    name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    for index in range(start + 2, start + min(info.compress_size, 40)):
        raw[index] ^= 0x5A
    return bytes(raw)


def malformed_variants(valid: bytes, kind: str, other_kind: bytes) -> dict[str, bytes]:
    """Sixteen ways an upload named .xlsx/.docx (KIND) can be broken, built from VALID; OTHER_KIND is a
    valid file of the other format."""
    main = MAIN_PART[kind]
    zeros = b"\0" * (40 * 1024 * 1024)
    variants = {
        "empty file": b"",
        "not a zip": "这不是一个工作簿，只是文字".encode(),
        "truncated zip": valid[: len(valid) // 2],
        "zip without the main part": _replace(valid, **{main: None}),
        "zip of something else": _zip({"readme.txt": b"hello"}),
        "main part is not XML": _replace(valid, **{main: b"<workbook><sheets>"}),
        "main part with a DTD (entity bomb)": _replace(
            valid,
            **{
                main: b'<?xml version="1.0"?><!DOCTYPE lolz ['
                b'<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                b"<lolz>&lol2;</lolz>"
            },
        ),
        "encrypted entry": _patch_headers(valid, main, 6, 8, 0x0001),
        "unsupported compression method": _patch_headers(valid, main, 8, 10, 99),
        "corrupted compressed data": _corrupt_data(valid, main),
        "password-protected (OLE2) file": OLE2_MAGIC + b"\0" * 4096,
        "the other Office format": other_kind,
        "thousands of entries": _replace(valid, **{f"customXml/item{n}.bin": b"x" for n in range(1500)}),
        "decompression bomb": _replace(valid, **{"docProps/padding.bin": zeros}),
    }
    if kind == "xlsx":
        variants["relationship to a missing sheet"] = _replace(valid, **{"xl/worksheets/sheet1.xml": None})
        variants["workbook without sheets"] = _replace(
            valid,
            **{
                main: WORKBOOK.replace(b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>', b"<sheets/>")
            },
        )
        variants["row numbers up to 1,048,576"] = _replace(
            valid,
            **{
                "xl/worksheets/sheet1.xml": SHEET_START + b'<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                b"<is><t>x</t></is></c></row>" + SHEET_END
            },
        )
    else:
        document = _parts(valid)[main]
        variants["a cell spanning a billion columns"] = _replace(
            valid, **{main: document.replace(b"<w:tcPr>", b'<w:tcPr><w:gridSpan w:val="1000000000"/>', 1)}
        )
        variants["a gridSpan that is not a number"] = _replace(
            valid, **{main: document.replace(b"<w:tcPr>", b'<w:tcPr><w:gridSpan w:val="many"/>', 1)}
        )
        variants["relationship to a missing part"] = _replace(valid, **{"word/styles.xml": None})
    return variants
