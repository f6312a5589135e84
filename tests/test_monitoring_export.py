"""The 项目支出绩效目标执行监控表 (`perftrack export monitoring`, the finance download) and `perftrack status`:
the official blocks checked cell by cell for three demo projects, the 1–7月 cut-off by default, the bureau's
summary equal to what `perftrack status --json` says, month-accurate money from payments."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from service.cli import main
from service.clock import clock
from service.demo import DEMO_TODAY

from .workbooks import open_workbook

pytestmark = pytest.mark.slow  # whole-year and every-case runs: `make test`, not `make test-fast`

TICKS = ["经费保障", "制度保障", "人员保障", "硬件条件保障", "其他"]


@pytest.fixture
def seeded_url(demo_url) -> str:
    """Every test here runs on the demo year (its accounts and Q1–Q3 reports, built once per session)."""
    return demo_url


def _export(runner, tmp_path, *options):
    clock.set_today(DEMO_TODAY)
    out = tmp_path / "monitoring.xlsx"
    result = runner.invoke(main, ["export", "monitoring", "--year", "2025", *options, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return open_workbook(out)


def _block(sheet, code: str) -> list[list]:
    """The rows of CODE's block, from 项目名称 to the sources line, as values of columns A–O."""
    first = next(r for r in range(1, sheet.max_row + 1) if str(sheet.cell(r, 3).value or "").endswith(f"（{code}）"))
    rows = []
    for r in range(first, sheet.max_row + 1):
        rows.append([sheet.cell(r, c).value for c in range(1, 16)])
        if str(rows[-1][0] or "").startswith("数据来源"):
            return rows
    raise AssertionError(f"{code}: no sources line")


def test_the_official_blocks_cell_by_cell_as_of_the_end_of_july(runner, tmp_path):
    book = _export(runner, tmp_path)  # no --as-of: 1–7月
    assert book.sheetnames == ["汇总", "项目状态", "执行监控表", "指标"]
    form = book["执行监控表"]
    assert (
        form["A1"].value == "项目支出绩效目标执行监控表"
        and form["A2"].value == "（2025 年度）　截至 2025-07-31（1–7月）"
    )
    assert form.page_setup.orientation == "landscape" and form.page_setup.paperSize == 9  # A4

    idc = _block(form, "2025-001")
    assert idc[0][:3] == ["项目名称", None, "2025天津市商务局IDC机房租用项目（2025-001）"]
    assert [idc[1][0], idc[1][2], idc[1][8], idc[1][10]] == [
        "主管部门及代码",
        "天津市商务局",
        "实施单位",
        "天津市商务局",
    ]
    assert idc[2] == [
        "项目资金（万元）", None, None, "年初预算数", "全年预算数", "1–7月执行数", "执行率", "全年预计执行数",
        None, "偏差原因分析", None, None, None, "完成目标可能性", "备注",
    ]  # fmt: skip
    # June's 执行数 against June's 50% (as of 31 July the latest quarter ended is Q2), and where it came from
    assert idc[3][1:7] == ["年度资金总额", None, 23.38, 23.38, 11.69, "50.00%"]
    assert idc[3][14] == "季度报告执行数（截至 06-30）"
    assert [row[1] for row in idc[4:7]] == ["其中：财政拨款", "上年结转资金", "其他资金"]
    assert idc[4][3:7] == [23.38, 23.38, 11.69, "50.00%"] and idc[5][3:7] == [None] * 4
    assert idc[7][1] == "全年预期目标" and idc[7][8] == "1–7月执行情况"
    assert idc[8][1].startswith("1. 保证原天津市肉类蔬菜追溯体系项目IDC机房主机的托管业务")
    assert idc[8][8] == "6 项指标：有风险 1、定性 1、正常 1、已达成 3（系统汇总）"
    assert idc[9][1:7] == ["一级指标", "二级指标", "三级指标", "年度指标值", "1–7月执行情况", "全年预计完成情况"]
    assert idc[10][7:13] == [*TICKS, "原因说明"]
    indicators = idc[11:-1]
    assert [row[3] for row in indicators] == [
        "全年任务量", "验收合格率", "工作任务按时完成率", "不超过预算资金", "决策统计分析", "社会服务对象满意度",
    ]  # fmt: skip
    assert indicators[0][1:7] == ["产出指标", "数量指标", "全年任务量", "≥5项", "3项", "6项（系统按进度推算）"]
    assert indicators[0][13:] == ["确定能", "正常（Q2）"]
    behind = indicators[2]  # 95% against 100%: one status everywhere, 有风险 (not 滞后 here and 未达标 there)
    assert behind[4:7] == ["100%", "95%", "95%"] and behind[13:] == ["有可能", "有风险（Q2）"]
    assert behind[7:12] == [None, None, "✓", None, None]  # 人员保障, as the division reported
    assert behind[12] == "资金拨付和项目招标进度晚于计划；改进措施：加快采购流程,四季度集中推进"
    assert indicators[4][1] == "效益指标" and indicators[4][14] == "定性（Q2）"
    assert idc[-1][0].startswith("数据来源：指标执行情况取自已提交的 Q2 季度报告（截至 2025-07-31 已结束的季度）")
    assert "执行数取自季度报告执行数，截至 2025-06-30，序时进度 50.00%" in idc[-1][0]
    assert "状态颜色说明：进展良好（正常、已完成、已达成）" in idc[-1][0]

    office = _block(form, "2025-002")  # the project: 40.01% is not behind June's 50%
    assert office[3][3:7] == [23.92, 23.92, 9.57, "40.01%"] and office[3][9] is None
    satisfaction = office[-2]
    assert satisfaction[3:7] == ["使用人员满意度", "≥90%", "63%", "63%"]
    assert satisfaction[7:12] == [None, "✓", None, None, None] and satisfaction[13:] == ["有可能", "未达标（Q2）"]

    interest = _block(form, "2025-012")
    assert interest[3][3:7] == [2, 2, 1, "50.00%"]
    assert [row[14] for row in interest[11:-1]] == [
        "已达成（Q2）",
        "已达成（Q2）",
        "定性（Q2）",
        "已达成（Q2）",
        "定性（Q2）",
        "已达成（Q2）",
    ]
    assert interest[13][3:7] == [
        "反映债券利息支付的时间",
        "及时",
        "已完成年度工作的大部分内容",
        "已完成年度工作的大部分内容",
    ]


def test_the_summary_is_what_perftrack_status_says(runner, tmp_path):
    book = _export(runner, tmp_path, "--as-of", "2025-09-30")
    status = runner.invoke(main, ["status", "--year", "2025", "--as-of", "2025-09-30", "--json"])
    assert status.exit_code == 0, status.output
    summary = json.loads(status.output)
    bureau = summary["bureau"]
    assert (bureau["projects"], bureau["indicators"], bureau["budget"]) == (62, 482, "41449.50")
    sheet = book["汇总"]
    header = [c.value for c in sheet[3]]
    rows = {
        row[0]: dict(zip(header, row, strict=False)) for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]
    }
    total = rows["全局合计"]
    assert (total["项目数"], total["指标数"]) == (62, 482)
    assert Decimal(str(total["全年预算数（万元）"])) == Decimal(bureau["budget"])
    assert Decimal(str(total["1–9月执行数（万元）"])) == Decimal(bureau["spent"])
    assert (total["执行率"], total["序时进度"]) == (f"{bureau['execution_rate']}%", f"{bureau['expected_rate']}%")
    labels = summary["statuses"]
    for code, count in bureau["project_statuses"].items():
        assert total[labels[code]] == count
    assert sum(bureau["project_statuses"].values()) == 62 and not {"pending", "judged"} & set(
        bureau["project_statuses"]
    )
    for division in summary["divisions"]:
        assert rows[division["division"]]["项目数"] == division["projects"]
    text = runner.invoke(main, ["status", "--year", "2025", "--as-of", "2025-09-30"]).output
    assert f"执行率 {bureau['execution_rate']}%" in text and "62 个项目、482 项指标" in text


def test_with_payments_the_form_reads_one_to_july_from_them(runner, app, tmp_path):
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "项目编号,支付日期,金额（元）\n2025-001,2025-03-02,50000\n2025-001,2025-07-31,70000\n2025-001,2025-08-01,9\n"
    )
    assert runner.invoke(main, ["payments", "import", str(payments)]).exit_code == 0
    idc = _block(_export(runner, tmp_path, "--as-of", "2025-08-15")["执行监控表"], "2025-001")
    assert idc[3][3:7] == [23.38, 23.38, 12, "51.33%"]  # 12 万元 of 23.38 paid by 31 July
    assert idc[3][14] == "国库支付记录（截至 07-31）"
    assert "执行数取自国库支付记录，截至 2025-07-31，序时进度 58.33%" in idc[-1][0]


def test_finance_downloads_the_form_for_a_month_end_and_wording_is_a_setting(client_as, app):
    from service.settings import SettingsError, _likelihood_words

    response = client_as("caiwu").get("/monitoring/form.xlsx?year=2025&month=9")
    assert response.status_code == 200 and "1-9" in response.headers["Content-Disposition"]
    form = open_workbook(response.data)["执行监控表"]
    assert form["A2"].value == "（2025 年度）　截至 2025-09-30（1–9月）"
    assert client_as("xxh").get("/monitoring/form.xlsx?year=2025").status_code == 403
    assert client_as("caiwu").get("/monitoring/form.xlsx?year=2025&month=13").status_code == 400
    assert _likelihood_words({}) == ("确定能", "有可能", "完全不可能")
    assert _likelihood_words({"PERFTRACK_LIKELIHOOD_WORDS": "确定能，有可能，不可能"}) == ("确定能", "有可能", "不可能")
    with pytest.raises(SettingsError):
        _likelihood_words({"PERFTRACK_LIKELIHOOD_WORDS": "能,不能"})


def test_the_division_s_own_forecasts_replace_the_projection_where_entered(runner, app, tmp_path):
    """NMC's Q3 report (returned to it in the demo) states 全年预计执行数 for one project and
    全年预计完成值 for one indicator: the block prints them instead of the machine's projection."""
    from service.db import session_scope
    from service.domain.actuals import RawActual, value_text
    from service.domain.vocabulary import Measure
    from service.reporting.reports import (
        ActualRow,
        SpendRow,
        actual_of,
        current_actuals,
        current_spend,
        load_scope,
        operator,
        save,
    )
    from service.stored_targets import target_of

    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        scope = load_scope(session, 2025, "NMC", 3)
        code, (indicator, project) = next(
            (code, pair)
            for code, pair in sorted(scope.indicators.items())
            if target_of(pair[0]).measure == Measure.CUMULATIVE and not target_of(pair[0]).is_rate
        )
        stored = actual_of(current_actuals(session, scope.report.id)[indicator.id])
        raw = RawActual(
            value=value_text(target_of(indicator), stored),
            likelihood=stored.likelihood,
            cause_category=stored.cause_category,
            cause_text=stored.cause_text,
            measure_text=stored.measure_text,
            forecast="12",
        )
        spent = current_spend(session, scope.report.id)[project.id].spent
        forecast = min(project.budget, spent + Decimal("0.5"))
        result = save(
            session,
            scope,
            operator("nmc"),
            [ActualRow(code, raw, "test")],
            [SpendRow(project.code, str(spent), "", "test", forecast=str(forecast))],
            "api",
        )
        assert (result.changed_actuals, result.changed_spend) == ([code], [project.code])
    block = _block(_export(runner, tmp_path, "--as-of", "2025-09-30")["执行监控表"], project.code)
    assert block[3][1] == "年度资金总额" and block[3][7] == float(forecast)  # 全年预计执行数 as NMC stated it
    outlook = {row[3]: row[6] for row in block[11:-1]}
    assert (
        outlook[indicator.name] == f"12{target_of(indicator).unit}"
    )  # 全年预计完成情况: NMC's own value, without the projection mark


def test_the_form_reads_indicators_and_entries_as_rows_not_entities(app):
    """Entities cost a 1,000-project download a tenth of its time (7,800 indicators and their entries, each
    built, tracked and freed); the form needs only some of their columns."""
    from datetime import date

    from sqlalchemy import event

    from service.db import session_scope
    from service.exports.monitoring import build_monitoring_workbook
    from service.models import ActualEntry, Indicator, Project, SpendEntry

    clock.set_today(DEMO_TODAY)
    loaded = set()
    with session_scope(app.extensions["perftrack.engine"]) as session:
        event.listen(session, "loaded_as_persistent", lambda _session, entity: loaded.add(type(entity)))
        form = open_workbook(build_monitoring_workbook(session, 2025, date(2025, 9, 30)))["执行监控表"]
    assert Project in loaded and not loaded & {Indicator, ActualEntry, SpendEntry}
    assert any(str(form.cell(r, 15).value).endswith("（Q3）") for r in range(1, form.max_row + 1))  # values read
