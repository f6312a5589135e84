"""An indicator's value history as a workbook (who, when, old → new, which report version)."""

from __future__ import annotations

import io

from ..clock import clock
from ..models import Indicator
from .sheets import HEADER, TITLE, Book, Column, Page, widths_for_content

HISTORY_COLUMNS = [
    Column("时间", 15, 15),
    Column("期间", 6, 7),
    Column("报告版本", 5, 5),
    Column("操作人", 6, 12),
    Column("来源", 5, 8),
    Column("修改前", 20, 50),
    Column("修改后", 20, 50),
]
HISTORY_HEADER = [c.title for c in HISTORY_COLUMNS]


def build_history_workbook(indicator: Indicator, rows) -> io.BytesIO:
    values = [
        [
            row.at.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M:%S"),
            row.period,
            row.report_version,
            row.actor,
            row.source,
            row.before,
            row.after,
        ]
        for row in rows
    ]
    page = Page(landscape=True, title_rows=(0, 1), note=f"导出于 {clock.local_now():%Y-%m-%d %H:%M}")
    book = Book()
    sheet = book.sheet("填报历史", widths_for_content(HISTORY_COLUMNS, values, page), page)
    sheet.write(
        0,
        0,
        f"{indicator.code} {indicator.name}（年度指标值：{indicator.raw_value}）",
        TITLE,
        across=len(HISTORY_COLUMNS),
    )
    sheet.append(HISTORY_HEADER, HEADER)
    for row in values:
        sheet.append(row)
    return book.save()
