"""Uploads are bounded before parsing: a zip-bomb workbook is refused quickly in bounded memory, and
malformed Office files on every upload endpoint (web import, API import, division workbook, grades,
evidence) give a Chinese 4xx, never a 500, and write nothing."""

from __future__ import annotations

import io
import re
import time

import psutil
import pytest

from service.cli import main
from service.importers.office import OfficeFileError, check_office, open_xlsx, sheet_rows

from .documents import as_xlsx, flat_rows, seed_as_docx
from .office_files import inline_string_bomb, malformed_variants
from .test_importing import snapshot

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def docx_file(seed_bytes) -> bytes:
    return seed_as_docx(seed_bytes)


@pytest.fixture(scope="module")
def xlsx_file() -> bytes:
    return as_xlsx(flat_rows())


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return inline_string_bomb()


def test_the_bomb_is_small_and_really_holds_250k_rows(bomb):
    import zipfile

    assert len(bomb) < 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row>") == 250_000


def _refused_quickly(send, bomb: bytes):
    """SEND(bomb) answers within a few seconds and without growing the process by more than 60 MB."""
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.monotonic()
    response = send(bomb)
    elapsed = time.monotonic() - started
    grown = process.memory_info().rss - before
    assert elapsed < 5, elapsed
    assert grown < 60 * 1024 * 1024, grown
    return response


def test_a_zip_bomb_workbook_is_refused_quickly_everywhere(client_as, app, bomb, tmp_path, runner):
    engine = app.extensions["perftrack.engine"]
    before = snapshot(engine)
    caiwu, xxh = client_as("caiwu"), client_as("xxh")

    api = _refused_quickly(
        lambda data: caiwu.post("/api/v1/imports", data={"file": (io.BytesIO(data), "bomb.xlsx"), "year": "2025"}), bomb
    )
    assert api.status_code == 422
    assert "超过 20,000 行" in api.get_json()["problems"][0]["message"]

    web = _refused_quickly(
        lambda data: caiwu.post("/imports/preview", data={"file": (io.BytesIO(data), "bomb.xlsx"), "year": "2025"}),
        bomb,
    )
    assert web.status_code == 422 and "超过 20,000 行" in web.get_data(as_text=True)

    workbook = _refused_quickly(
        lambda data: xxh.post("/reports/XXH/2025Q2/workbook", data={"file": (io.BytesIO(data), "bomb.xlsx")}), bomb
    )
    assert workbook.status_code == 413 and "超过 20,000 行" in workbook.get_data(as_text=True)

    path = tmp_path / "grades.xlsx"
    path.write_bytes(bomb)
    grades = _refused_quickly(lambda _data: runner.invoke(main, ["grades", "import", str(path)]), bomb)
    assert grades.exit_code == 2 and "超过 20,000 行" in grades.output
    assert snapshot(engine) == before


def _assert_refused(response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code)
    text = response.get_data(as_text=True)
    assert CHINESE.search(text) and "Traceback" not in text, what


@pytest.mark.slow
def test_malformed_office_files_on_the_import_endpoints(client_as, app, xlsx_file, docx_file):
    engine = app.extensions["perftrack.engine"]
    before = snapshot(engine)
    caiwu = client_as("caiwu")
    for kind, valid, other in (("xlsx", xlsx_file, docx_file), ("docx", docx_file, xlsx_file)):
        variants = malformed_variants(valid, kind, other)
        assert len(variants) >= 14
        for name, data in variants.items():
            what = f"{kind}: {name}"
            web = caiwu.post("/imports/preview", data={"file": (io.BytesIO(data), f"f.{kind}"), "year": "2025"})
            _assert_refused(web, what)
            api = caiwu.post("/api/v1/imports", data={"file": (io.BytesIO(data), f"f.{kind}"), "year": "2025"})
            _assert_refused(api, what)
            assert api.get_json()["problems"], what
    assert snapshot(engine) == before


def test_malformed_workbooks_on_the_division_upload_and_as_evidence(client_as, app, docx_file):
    engine = app.extensions["perftrack.engine"]
    xxh = client_as("xxh")
    valid = xxh.get("/reports/XXH/2025Q2/workbook.xlsx").data
    before = snapshot(engine)
    variants = malformed_variants(valid, "xlsx", docx_file)
    for name, data in variants.items():
        upload = xxh.post("/reports/XXH/2025Q2/workbook", data={"file": (io.BytesIO(data), "report.xlsx")})
        _assert_refused(upload, name)
    assert snapshot(engine) == before
    # Evidence is stored, never parsed: a zip that looks like an Office package may be kept, anything else
    # is refused by its content; neither is a 500.
    for name, data in variants.items():
        evidence = xxh.post(
            "/api/v1/reports/XXH/2025Q2/attachments",
            data={"indicator": "2025-001.01", "file": (io.BytesIO(data), "evidence.xlsx")},
        )
        assert evidence.status_code in (201, 415, 422), (name, evidence.status_code)
        if name in ("not a zip", "truncated zip", "password-protected (OLE2) file", "zip of something else"):
            assert evidence.status_code == 415, name


@pytest.mark.slow
def test_malformed_workbooks_through_the_cli(runner, tmp_path, xlsx_file, docx_file):
    for index, (name, data) in enumerate(malformed_variants(xlsx_file, "xlsx", docx_file).items()):
        path = tmp_path / f"upload-{index}.xlsx"
        path.write_bytes(data)
        grades = runner.invoke(main, ["grades", "import", str(path)])
        assert grades.exit_code == 2 and "评定未导入" in grades.output, (name, grades.output)
        actuals = runner.invoke(main, ["actuals", "import", str(path), "--json"])
        assert actuals.exit_code != 0 and CHINESE.search(actuals.output), (name, actuals.output)
        for result in (grades, actuals, runner.invoke(main, ["import", str(path)])):
            assert result.exception is None or isinstance(result.exception, SystemExit), (name, result.exception)


def test_a_sheet_with_rows_numbered_up_to_a_million_stops_at_the_row_cap(xlsx_file, docx_file):
    data = malformed_variants(xlsx_file, "xlsx", docx_file)["row numbers up to 1,048,576"]
    check_office(data, "xlsx")  # one real row: the archive itself is small and well formed
    workbook = open_xlsx(data)
    try:
        with pytest.raises(OfficeFileError, match="超过 20,000 行") as refused:
            for _row in sheet_rows(workbook.worksheets[0], 11):
                pass
    finally:
        workbook.close()
    assert refused.value.status == 413


def test_a_docx_cell_spanning_a_billion_columns_is_refused_without_expanding_it(docx_file, xlsx_file):
    from service.importers.docx_tables import read_docx

    started = time.monotonic()
    source = read_docx(malformed_variants(docx_file, "docx", xlsx_file)["a cell spanning a billion columns"])
    assert time.monotonic() - started < 10
    assert [str(p) for p in source.problems] == [
        "第 1 个表格 · 格式：第 1 行有单元格横跨 1000000000 列，Word 表格最多 63 列"
    ]


def test_a_workbook_within_the_limits_still_reads(xlsx_file):
    check_office(xlsx_file, "xlsx")
    workbook = open_xlsx(xlsx_file)
    try:
        rows = list(sheet_rows(workbook.worksheets[0], 11))
    finally:
        workbook.close()
    assert rows[1][0] == "ZX-001" and len(rows) == 5


def test_a_sheet_hidden_under_an_image_name_is_still_counted(bomb):
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/media/image1.png"] = parts.pop("xl/worksheets/sheet1.xml")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet1.xml", b"media/image1.png"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(OfficeFileError, match="超过 20,000 行"):
        check_office(buffer.getvalue(), "xlsx")
    utf16 = parts["xl/media/image1.png"].strip().decode().encode("utf-16")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (parts | {"xl/media/image1.png": utf16}).items():
            archive.writestr(name, data)
    with pytest.raises(OfficeFileError, match="UTF-16"):
        check_office(buffer.getvalue(), "xlsx")
