"""Test helpers that build import files: the seed as a .docx, and flat rows as csv/xlsx."""

from __future__ import annotations

import csv
import io

from docx import Document
from openpyxl import Workbook

from service.importers.flat import FLAT_HEADER
from service.importers.text_export import split_tables

WIDTH = 7


def seed_as_docx(seed: bytes) -> bytes:
    """One title paragraph and one table per project, merged cells where rows are shorter."""
    document = Document()
    for table in split_tables(seed.decode("utf-8")):
        document.add_paragraph(table.title)
        grid = document.add_table(rows=0, cols=WIDTH)
        for cells in table.rows:
            row = grid.add_row()
            for index, text in enumerate(cells[:WIDTH]):
                row.cells[index].text = text
            if len(cells) < WIDTH:
                row.cells[len(cells) - 1].merge(row.cells[WIDTH - 1])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def flat_rows() -> list[list]:
    return [
        [
            "ZX-001",
            "档案整理项目",
            "办公室",
            "市级",
            "33",
            "产出指标",
            "数量指标",
            "档案数量",
            "整理档案数量",
            "≥10330件",
            "20",
        ],
        ["ZX-001", "", "", "", "", "", "时效指标", "完成时间", "完成时间", "2025年6月底前完成", "10"],
        ["ZX-001", "", "", "", "", "满意度指标", "服务对象满意度指标", "使用方满意度", "使用方满意度", "≥95%", "10"],
        ["WZ-002", "外资统计项目", "WZC", "", "30", "产出指标", "成本指标", "项目支出", "项目支出", "≤30万元", ""],
    ]


def as_csv(rows: list[list], encoding: str = "utf-8", header=FLAT_HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def as_xlsx(rows: list[list], header=FLAT_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
