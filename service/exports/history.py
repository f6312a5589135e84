"""An indicator's value history as a workbook (who, when, old → new, which report version)."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from ..clock import clock
from ..models import Indicator

HISTORY_HEADER = ["时间", "期间", "报告版本", "操作人", "来源", "修改前", "修改后"]


def build_history_workbook(indicator: Indicator, rows) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "填报历史"
    sheet.append([f"{indicator.code} {indicator.name}（年度指标值：{indicator.raw_value}）"])
    sheet.append(HISTORY_HEADER)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.at.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M:%S"), row.period, row.report_version,
                      row.actor, row.source, row.before, row.after])
    for column, width in zip("ABCDEFG", (20, 9, 9, 12, 7, 50, 50)):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer
