"""Test helpers that build import files: the seed as a .docx, and flat rows as csv/xlsx."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from service.importers.flat import FLAT_HEADER

from .corpus import SEED, docx_one_table


def seed_as_docx(seed: bytes) -> bytes:
    """The seed as Word: one title paragraph and one table per project (tests/corpus.py)."""
    assert seed == SEED.read_bytes()
    return docx_one_table()


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
