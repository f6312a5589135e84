"""The blank flat-import template (.xlsx): header, one example row, data validation."""

from __future__ import annotations

import io

from ..importers.flat import EXAMPLE_PREFIX, FLAT_HEADER
from ..importers.target_tables import EXPECTED_LEVEL2
from .sheets import HEADER, Book, Page, Style

EXAMPLE_ROW = [
    f"{EXAMPLE_PREFIX}-001",
    "示例项目（本行不会导入）",
    "财务处",
    "市级",
    23.38,
    "产出指标",
    "数量指标",
    "全年任务量",
    "全年任务量",
    "≥5项",
    10,
]
WIDTHS = [12, 30, 14, 8, 10, 10, 14, 24, 30, 18, 6]
MAX_ROWS = 5000
EXAMPLE = Style(italic=True, color="#808080")


def build_flat_template() -> io.BytesIO:
    book = Book()
    sheet = book.sheet("绩效指标", WIDTHS, Page(landscape=True, title_rows=(0, 0), note="绩效目标导入模板"))
    sheet.append(FLAT_HEADER, HEADER)
    sheet.append(EXAMPLE_ROW, EXAMPLE)
    worksheet = sheet.worksheet
    worksheet.write_comment(
        "A1",
        "同一项目的各行必须连续；项目名称、处室、预算数只需在项目第一行填写。以“示例”开头的项目编号不会导入。",
        {"author": "perftrack"},
    )
    worksheet.write_comment(
        "J1", "按原文填写，如 ≥5项、≤23.38万元、100%、2025年12月底前、有效提升", {"author": "perftrack"}
    )
    worksheet.freeze_panes(1, 0)

    level2 = sorted({name for names in EXPECTED_LEVEL2.values() for name in names})
    lists = book.sheet("选项", [24], Page(note="绩效目标导入模板"))
    for name in level2:
        lists.append([name])
    lists.worksheet.hide()
    validations = [
        ("D", {"validate": "list", "source": ["市级", "中央"], "error_message": "资金来源应为 市级 或 中央"}),
        (
            "E",
            {"validate": "decimal", "criteria": ">=", "value": 0, "error_message": "预算数应为不小于 0 的数字（万元）"},
        ),
        ("F", {"validate": "list", "source": list(EXPECTED_LEVEL2), "error_message": "请选择一级指标"}),
        ("G", {"validate": "list", "source": f"=选项!$A$1:$A${len(level2)}", "error_message": "请选择二级指标"}),
        (
            "K",
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": 0,
                "maximum": 100,
                "error_message": "分值应在 0–100 之间",
            },
        ),
    ]
    for column, options in validations:
        worksheet.data_validation(f"{column}2:{column}{MAX_ROWS}", {"ignore_blank": True, **options})
    return book.save()
