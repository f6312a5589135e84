"""The division's own full-year forecasts in the Q2/Q3 report (全年预计执行数 per project, 全年预计完成值 per
indicator): the rules, every way in (form, API, workbook, CSV), and the 执行监控表 using them before the
machine's projection."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from service.clock import clock
from service.domain.actuals import RawActual, read_actual, read_spend
from service.domain.periods import Period
from service.domain.targets import Target, parse_target
from service.domain.vocabulary import Measure

from .reporting_helpers import snapshot

CODE = "2025-001.01"  # 全年任务量 ≥5项, cumulative
PROJECT = "2025-001"  # 23.38 万元
URL = "/api/v1/reports/XXH/2025Q2"


@pytest.fixture(autouse=True)
def _early_july():
    clock.set_today(date(2025, 7, 3))


def _count_target() -> Target:
    target = parse_target("≥5项", name="全年任务量")
    assert target.measure == Measure.CUMULATIVE
    return target


def test_the_rules_for_a_forecast_are_the_values_own_and_only_q2_q3_take_one():
    target = _count_target()
    reading = read_actual(target, RawActual(value="3", forecast="６项"), Period(2025, 2))
    assert reading.errors == [] and reading.actual.forecast == "6"
    bad = read_actual(target, RawActual(value="3", forecast="六项"), Period(2025, 3)).errors
    assert [str(e) for e in bad] == ["全年预计完成值：「六项」不是数字"]
    early = read_actual(target, RawActual(value="1", forecast="4"), Period(2025, 1)).errors
    assert [str(e) for e in early] == ["全年预计完成值：只有第二、三季度报告填写全年预计完成值，2025年第1季度不填"]

    spend, errors = read_spend("10", "", Decimal("23.38"), forecast_text="22.5", period=Period(2025, 2))
    assert errors == [] and spend.forecast == Decimal("22.5")
    for text, message in (
        ("30", "全年预计执行数 30 万元超过全年预算数 23.38 万元"),
        ("9", "全年预计执行数 9 万元低于截至期末执行数 10 万元"),
        ("1.234", "金额最多保留 2 位小数（万元）"),
        ("-1", "不能为负数"),
    ):
        _spend, errors = read_spend("10", "", Decimal("23.38"), forecast_text=text, period=Period(2025, 3))
        assert [str(e) for e in errors] == [f"全年预计执行数：{message}"], text
    _spend, errors = read_spend("10", "", Decimal("23.38"), forecast_text="20", period=Period(2025, 4))
    assert [e.field for e in errors] == ["forecast_spent"] and "第4季度" in errors[0].message


def test_the_form_offers_the_projection_and_stores_only_what_the_user_enters(client_as):
    xxh = client_as("xxh")
    xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "3", f"l-{CODE}": "确定能", f"sp-{PROJECT}": "10"})
    page = xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)
    row = page.split(f'data-code="{CODE}"')[1].split("</tr>")[0]
    assert f'name="fc-{CODE}" aria-label="{CODE} 全年预计完成值" value="" placeholder="6"' in row  # 3 at half-year
    assert f'name="sf-{PROJECT}" value="" placeholder="20.00"' in page  # 10 万元 at half-year
    assert api_row(xxh, CODE)["forecast"] == "" and api_spend(xxh)["forecast"] is None  # a hint, not stored

    saved = xxh.post(
        "/reports/XXH/2025Q2/save",
        data={f"v-{CODE}": "3", f"l-{CODE}": "确定能", f"fc-{CODE}": "5", f"sp-{PROJECT}": "10", f"sf-{PROJECT}": "22"},
    )
    assert saved.status_code in (200, 302)
    assert api_row(xxh, CODE)["forecast"] == "5" and Decimal(str(api_spend(xxh)["forecast"])) == Decimal(22)
    assert 'name="fc-' not in xxh.get("/reports/XXH/2025Q1").get_data(as_text=True)  # not offered in Q1


def test_the_form_refuses_a_bad_forecast_naming_the_field_and_saves_nothing(client_as, app):
    xxh = client_as("xxh")
    before = snapshot(app.extensions["perftrack.engine"])
    response = xxh.post(
        "/reports/XXH/2025Q2/save",
        data={
            f"v-{CODE}": "3",
            f"l-{CODE}": "确定能",
            f"fc-{CODE}": "很多",
            f"sp-{PROJECT}": "10",
            f"sf-{PROJECT}": "99",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "全年预计完成值：「很多」不是数字" in page and "全年预计执行数：全年预计执行数 99 万元超过全年预算数" in page
    late = xxh.post("/reports/XXH/2025Q1/save", data={f"v-{CODE}": "1", f"l-{CODE}": "确定能", f"fc-{CODE}": "4"})
    assert late.status_code == 422 and "只有第二、三季度报告填写全年预计完成值" in late.get_data(as_text=True)
    assert snapshot(app.extensions["perftrack.engine"]) == before


def api_row(client, code: str, url: str = URL) -> dict:
    return next(a for a in client.get(url).get_json()["actuals"] if a["indicator"] == code)


def api_spend(client, url: str = URL) -> dict:
    return next(s for s in client.get(url).get_json()["spend"] if s["project"] == PROJECT)


def test_the_api_stores_forecasts_and_refuses_bad_ones_naming_row_and_field(client_as, app):
    api = client_as("xxh")
    body = {
        "actuals": [{"indicator": CODE, "value": 3, "likelihood": "确定能", "forecast": 6}],
        "spend": [{"project": PROJECT, "spent": "10", "forecast": "21.5"}],
    }
    saved = api.put(URL, json=body, headers={"If-Match": '"0"'})
    assert saved.status_code == 200 and saved.get_json()["changed"] is True
    row, spend = api_row(api, CODE), api_spend(api)
    assert (row["forecast"], row["projected_forecast"]) == ("6", "6")
    assert Decimal(str(spend["forecast"])) == Decimal("21.5") and Decimal(str(spend["projected_forecast"])) == 20
    assert api.put(URL, json=body, headers={"If-Match": '"1"'}).get_json()["changed"] is False  # idempotent

    before = snapshot(app.extensions["perftrack.engine"])
    bad = api.put(
        URL,
        json={
            "actuals": [{"indicator": "2025-001.02", "value": "98", "forecast": "101%"}],
            "spend": [{"project": PROJECT, "spent": "10", "forecast": "9.5"}],
        },
        headers={"If-Match": '"1"'},
    )
    assert bad.status_code == 422
    problems = [(p["location"], p["field"], p["message"]) for p in bad.get_json()["problems"]]
    assert ("actuals[0]", "全年预计完成值", "「验收合格率」是比率，不能超过 100%") in problems
    assert ("spend[0]", "全年预计执行数", "全年预计执行数 9.5 万元低于截至期末执行数 10 万元") in problems
    q1 = api.put(
        "/api/v1/reports/XXH/2025Q1",
        json={"spend": [{"project": PROJECT, "spent": "5", "forecast": "20"}]},
        headers={"If-Match": '"0"'},
    )
    assert q1.status_code == 422 and q1.get_json()["problems"][0]["field"] == "全年预计执行数"
    assert snapshot(app.extensions["perftrack.engine"]) == before


def _workbook(client, period="2025Q2"):
    response = client.get(f"/reports/XXH/{period}/workbook.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def _upload(client, workbook, period="2025Q2"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return client.post(f"/reports/XXH/{period}/workbook", data={"file": (buffer, "f.xlsx")}, follow_redirects=True)


def _row(sheet, code):
    return next(row for row in sheet.iter_rows(min_row=2) if row[0].value == code)


def test_the_workbook_carries_forecasts_and_older_downloads_still_load(client_as):
    xxh = client_as("xxh")
    book = _workbook(xxh)
    assert (
        book["指标"].cell(1, 16).value == "全年预计完成值" and book["资金"].cell(1, 8).value == "全年预计执行数（万元）"
    )
    actual, spend = _row(book["指标"], CODE), _row(book["资金"], PROJECT)
    actual[8].value, actual[10].value, actual[15].value = "3", "确定能", "5.5"
    spend[5].value, spend[7].value = "10", "19"
    assert "工作簿已导入" in _upload(xxh, book).get_data(as_text=True)
    again = _workbook(xxh)
    assert _row(again["指标"], CODE)[15].value == "5.5" and _row(again["资金"], PROJECT)[7].value == "19"

    older = _workbook(xxh)  # as downloaded before the forecast columns existed
    older["指标"].delete_cols(16)
    older["资金"].delete_cols(8)
    _row(older["资金"], PROJECT)[5].value = "11"
    page = _upload(xxh, older).get_data(as_text=True)
    assert "工作簿已导入" in page and "表头被修改" not in page
    assert api_row(xxh, CODE)["forecast"] == "5.5"  # a missing column changes nothing


def test_the_csv_carries_the_forecast_column(client_as, runner, tmp_path):
    from service.cli import main

    path = tmp_path / "spend.csv"
    path.write_text(f"项目编号,期间,全年预算数,执行数,全年预计执行数\n{PROJECT},2025Q2,,12,23\n", encoding="utf-8")
    result = runner.invoke(main, ["actuals", "import", str(path), "--as", "xxh"])
    assert result.exit_code == 0, result.output
    spend = api_spend(client_as("xxh"), URL)
    assert Decimal(str(spend["forecast"])) == Decimal(23)
    path.write_text(f"项目编号,期间,全年预算数,执行数,全年预计执行数\n{PROJECT},2025Q1,,5,23\n", encoding="utf-8")
    refused = runner.invoke(main, ["actuals", "import", str(path), "--as", "xxh"])
    assert refused.exit_code != 0 and "全年预计执行数" in refused.output and "第 2 行" in refused.output


def test_a_stale_workbook_names_the_forecast_someone_changed_since(client_as, app):
    from .test_stale_writes import _table

    xxh = client_as("xxh")
    typed = {f"v-{CODE}": "3", f"l-{CODE}": "确定能"}
    xxh.post("/reports/XXH/2025Q2/save", data={"version": "0", **typed, f"fc-{CODE}": "5"})
    book = _workbook(xxh)  # 报告版本 1
    xxh.post("/reports/XXH/2025Q2/save", data={"version": "1", **typed, f"fc-{CODE}": "6"})
    _row(book["指标"], "2025-001.02")[8].value = "98"  # the change made offline in the old file
    before = snapshot(app.extensions["perftrack.engine"])
    response = _upload(xxh, book)
    assert response.status_code == 409
    assert [
        "工作表「指标」第 2 行",
        CODE,
        "全年任务量",
        "全年预计完成值",
        "5",
        "6",
        "下载后他人已修改，文件中是旧值",
    ] in (_table(response.get_data(as_text=True), "workbook-conflicts"))
    assert snapshot(app.extensions["perftrack.engine"]) == before and api_row(xxh, CODE)["forecast"] == "6"
