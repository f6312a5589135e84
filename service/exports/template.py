"""The blank flat-import template (.xlsx): header, one example row, data validation."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from ..importers.flat import EXAMPLE_PREFIX, FLAT_HEADER
from ..importers.target_tables import EXPECTED_LEVEL2

EXAMPLE_ROW = [f"{EXAMPLE_PREFIX}-001", "示例项目（本行不会导入）", "财务处", "市级", 23.38, "产出指标", "数量指标",
               "全年任务量", "全年任务量", "≥5项", 10]
MAX_ROWS = 5000


def build_flat_template() -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "绩效指标"
    sheet.append(FLAT_HEADER)
    sheet.append(EXAMPLE_ROW)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")
    sheet["A1"].comment = Comment("同一项目的各行必须连续；项目名称、处室、预算数只需在项目第一行填写。"
                                  "以“示例”开头的项目编号不会导入。", "perftrack")
    sheet["J1"].comment = Comment("按原文填写，如 ≥5项、≤23.38万元、100%、2025年12月底前、有效提升", "perftrack")
    widths = [12, 30, 14, 8, 10, 10, 14, 24, 30, 18, 6]
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"

    rows = f"2:{MAX_ROWS}"
    level2 = sorted({name for names in EXPECTED_LEVEL2.values() for name in names})
    lists = workbook.create_sheet("选项")
    for row, name in enumerate(level2, start=1):
        lists.cell(row=row, column=1, value=name)
    lists.sheet_state = "hidden"
    validations = [
        DataValidation(type="list", formula1='"市级,中央"', allow_blank=True, sqref=f"D{rows.replace(':', ':D')}",
                       error="资金来源应为 市级 或 中央", showErrorMessage=True),
        DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                       sqref=f"E{rows.replace(':', ':E')}", error="预算数应为不小于 0 的数字（万元）", showErrorMessage=True),
        DataValidation(type="list", formula1=f'"{",".join(EXPECTED_LEVEL2)}"', allow_blank=True,
                       sqref=f"F{rows.replace(':', ':F')}", error="请选择一级指标", showErrorMessage=True),
        DataValidation(type="list", formula1=f"选项!$A$1:$A${len(level2)}", allow_blank=True,
                       sqref=f"G{rows.replace(':', ':G')}", error="请选择二级指标", showErrorMessage=True),
        DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                       sqref=f"K{rows.replace(':', ':K')}", error="分值应在 0–100 之间", showErrorMessage=True),
    ]
    for validation in validations:
        sheet.add_data_validation(validation)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer
