"""The same tables in .docx, and the flat layout in .csv (UTF-8, BOM, GB18030) and .xlsx."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from service.db import session_scope
from service.exports.template import build_flat_template
from service.importers.flat import FLAT_HEADER
from service.importing import ImportRejected, read_source
from service.models import Indicator, Project

from .documents import as_csv, as_xlsx, flat_rows, seed_as_docx
from .test_importing import run_import, snapshot


@pytest.fixture(scope="module")
def seed_docx(seed_bytes) -> bytes:
    """The seed's tables as a .docx (seconds to build: once for the module)."""
    return seed_as_docx(seed_bytes)


def test_docx_of_the_seed_reads_like_the_text_export(seed_bytes, seed_docx):
    from_text = read_source("seed.txt", seed_bytes)
    from_docx = read_source("seed.docx", seed_docx)
    assert from_docx.problems == []
    assert len(from_docx.projects) == 62
    text_rows = [
        (p.table_no, i.row_no, i.level2, i.name, i.raw_value) for p in from_text.projects for i in p.indicators
    ]
    docx_rows = [
        (p.table_no, i.row_no, i.level2, i.name, i.raw_value) for p in from_docx.projects for i in p.indicators
    ]
    assert docx_rows == text_rows
    assert [p.budget for p in from_docx.projects] == [p.budget for p in from_text.projects]


def test_docx_then_text_import_is_idempotent(engine, seed_bytes, seed_docx):
    assert run_import(engine, seed_docx, name="seed.docx")["created"] == 482
    assert run_import(engine, seed_bytes)["applied"] is False


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_flat_csv_in_every_encoding(engine, encoding):
    summary = run_import(engine, as_csv(flat_rows(), encoding), name="flat.csv")
    assert (summary["projects"], summary["indicators"]) == (2, 4)
    with session_scope(engine) as session:
        project = session.exec(select(Project).where(Project.code == "ZX-001")).one()
        assert (project.name, project.budget, project.funding_level) == ("档案整理项目", Decimal("33.00"), "市级")
        due = session.exec(select(Indicator).where(Indicator.code == "ZX-001.02")).one()
        assert (due.kind, due.due.isoformat(), due.weight, due.level1) == (
            "deadline",
            "2025-06-30",
            Decimal(10),
            "产出指标",
        )


def test_flat_xlsx_and_percent_cells(engine):
    rows = flat_rows()
    rows[2][9] = 0.95  # a 95% typed into a percent-formatted cell arrives as 0.95
    data = as_xlsx(rows)
    workbook = load_workbook(io.BytesIO(data))
    workbook.active["J4"].number_format = "0%"
    buffer = io.BytesIO()
    workbook.save(buffer)
    run_import(engine, buffer.getvalue(), name="flat.xlsx")
    with session_scope(engine) as session:
        satisfaction = session.exec(select(Indicator).where(Indicator.code == "ZX-001.03")).one()
        assert (satisfaction.raw_value, satisfaction.target_value) == ("95%", Decimal(95))


@pytest.mark.parametrize(
    "change, field, location",
    [
        (lambda r: r[0].__setitem__(4, "-5"), "预算数", "第 2 行"),
        (lambda r: r[0].__setitem__(2, "不存在的处"), "处室", "第 2 行"),
        (lambda r: r[1].__setitem__(1, "另一个名字"), "项目名称", "第 3 行"),
        (
            lambda r: r.append(
                ["ZX-001", "档案整理项目", "办公室", "市级", "33", "产出指标", "质量指标", "x", "x", "1个", ""]
            ),
            "项目编号",
            "第 6 行",
        ),
        (lambda r: r[0].__setitem__(3, "省级"), "资金来源", "第 2 行"),
        (lambda r: r[0].__setitem__(10, "120"), "分值", "第 2 行"),
        (lambda r: r[3].__setitem__(0, "2024-001"), "项目编号", "第 5 行"),
        (lambda r: r[3].__setitem__(7, ""), "三级指标", "第 5 行"),
    ],
)
def test_flat_errors_name_row_and_field_and_write_nothing(engine, change, field, location):
    run_import(engine, as_csv(flat_rows()[:1]), name="first.csv")
    before = snapshot(engine)
    rows = flat_rows()
    change(rows)
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, as_csv(rows, "gb18030"), name="bad.csv")
    assert any(p.field == field and location in p.location for p in rejected.value.problems), rejected.value.problems
    assert snapshot(engine) == before


def test_flat_header_must_match(engine):
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, as_csv(flat_rows(), header=FLAT_HEADER[:-3] + ["目标"]), name="bad.csv")
    assert rejected.value.problems[0].field == "表头"
    assert "指标值" in rejected.value.problems[0].message


def test_template_has_header_example_and_validation(engine):
    workbook = load_workbook(build_flat_template())
    sheet = workbook["绩效指标"]
    assert [c.value for c in sheet[1]] == FLAT_HEADER
    assert sheet["A2"].value.startswith("示例")
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert validations["D2:D5000"].formula1 == '"市级,中央"'
    assert validations["E2:E5000"].type == "decimal"
    # The untouched template imports nothing: the example row is skipped.
    data = build_flat_template().getvalue()
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, data, name="template.xlsx")
    assert rejected.value.problems[0].message == "文件中没有任何项目"
