"""`perftrack export monitoring`: the in-year monitoring table as of a date."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from service.cli import main
from service.clock import clock
from service.demo import DEMO_TODAY


@pytest.fixture
def seeded_url(demo_url) -> str:
    """Every test here runs on the demo year (its accounts and Q1–Q3 reports, built once per session)."""
    return demo_url


def test_monitoring_table_as_of_end_of_july(runner, app, tmp_path):
    clock.set_today(DEMO_TODAY)
    out = tmp_path / "monitoring.xlsx"
    result = runner.invoke(main, ["export", "monitoring", "--year", "2025", "--as-of", "2025-07-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    sheet = workbook["指标"]
    assert sheet["A1"].value == "2025 年度绩效运行监控表（截至 2025-07-31）"
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 482
    first = next(r for r in rows if r[3] == "2025-001.01")
    assert first[7] == "≥5项" and first[9] == "2025Q2"  # Q3 is not over by 31 July
    assert first[10].endswith("（按当前进度线性推算）")
    statuses = {r[12] for r in rows}
    assert {"已达成", "未报送"} & statuses
    budget = list(workbook["预算执行"].iter_rows(min_row=3, values_only=True))
    assert len(budget) == 62 and all(r[7] == "58.33%" for r in budget)  # 序时进度 by the end of July: 7/12
    missing = runner.invoke(
        main, ["export", "monitoring", "--year", "2031", "--as-of", "2031-07-31", "--out", str(out)]
    )
    assert missing.exit_code != 0 and "没有 2031 年度的项目" in missing.output
