"""The period workbook round-trip and the flat CSV files (web upload and `perftrack actuals import`)."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from service.cli import main
from service.clock import clock

from .reporting_helpers import snapshot

CODE = "2025-001.01"


@pytest.fixture(autouse=True)
def _mid_july():
    clock.set_today(date(2025, 7, 3))


def _download(client, period="2025Q2"):
    response = client.get(f"/reports/XXH/{period}/workbook.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def _upload(client, workbook, period="2025Q2", name="filled.xlsx"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return client.post(f"/reports/XXH/{period}/workbook", data={"file": (buffer, name)}, follow_redirects=True)


def _row(sheet, code):
    return next(row for row in sheet.iter_rows(min_row=2) if row[0].value == code)


def test_download_is_prefilled_locked_and_has_dropdowns(client_as):
    workbook = _download(client_as("xxh"))
    assert workbook.sheetnames == ["说明", "指标", "资金"]
    sheet = workbook["指标"]
    assert sheet.protection.sheet and sheet.max_row == 53
    row = _row(sheet, CODE)
    assert (row[4].value, row[5].value, row[7].value) == ("≥5项", "截至期末累计", "2.5项")
    assert row[0].protection.locked and not row[8].protection.locked
    lists = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert '"确定能,有可能,不可能"' in lists and '"经费保障,制度保障,人员保障,硬件条件保障,其他"' in lists
    assert workbook["资金"].max_row == 9


def test_fill_offline_and_upload_then_download_again(client_as):
    xxh = client_as("xxh")
    workbook = _download(xxh)
    row = _row(workbook["指标"], CODE)
    row[8].value, row[10].value = "3", "确定能"
    deadline = _row(workbook["指标"], "2025-001.03")
    deadline[8].value = 99
    spend = _row(workbook["资金"], "2025-001")
    spend[5].value = "10.5"
    page = _upload(xxh, workbook).get_data(as_text=True)
    assert "工作簿已导入：2 个指标、1 个项目资金有更新" in page
    again = _download(xxh)
    assert _row(again["指标"], CODE)[8].value == "3" and _row(again["资金"], "2025-001")[5].value == "10.5"
    assert "工作簿与已保存的内容相同" in _upload(xxh, again).get_data(as_text=True)  # idempotent


@pytest.mark.parametrize(
    "edit, where, reason",
    [
        (
            lambda wb: setattr(_row(wb["指标"], CODE)[4], "value", "≥1项"),
            "工作表「指标」第 2 行 E 列",
            "锁定单元格被修改",
        ),
        (
            lambda wb: setattr(_row(wb["指标"], CODE)[0], "value", "2025-010.01"),
            "工作表「指标」第 2 行 A 列",
            "不属于本报告",
        ),
        (
            lambda wb: setattr(_row(wb["资金"], "2025-001")[2], "value", "1"),
            "工作表「资金」第 2 行 C 列",
            "锁定单元格被修改",
        ),
        (lambda wb: setattr(wb["指标"]["A1"], "value", "编号"), "工作表「指标」第 1 行", "表头被修改"),
        (lambda wb: setattr(_row(wb["指标"], CODE)[8], "value", "-2"), "工作表「指标」第 2 行", "不能为负数"),
        (
            lambda wb: setattr(_row(wb["资金"], "2025-001")[5], "value", "99999"),
            "工作表「资金」第 2 行",
            "超过全年预算数",
        ),
        (lambda wb: wb.remove(wb["资金"]), "工作表「资金」", "缺少该工作表"),
    ],
)
def test_bad_workbooks_are_rejected_whole_with_sheet_row_column(client_as, app, edit, where, reason):
    xxh = client_as("xxh")
    workbook = _download(xxh)
    _row(workbook["指标"], "2025-001.02")[8].value = "98"  # a valid change that must not be applied either
    edit(workbook)
    before = snapshot(app.extensions["perftrack.engine"])
    response = _upload(xxh, workbook)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "没有写入任何数据" in page
    assert where in page and reason in page
    assert snapshot(app.extensions["perftrack.engine"]) == before


def test_malformed_foreign_and_oversized_uploads(client_as, app):
    xxh = client_as("xxh")
    before = snapshot(app.extensions["perftrack.engine"])
    junk = xxh.post("/reports/XXH/2025Q2/workbook", data={"file": (io.BytesIO(b"not a zip"), "x.xlsx")})
    assert junk.status_code == 422 and "无法作为 Excel 工作簿" in junk.get_data(as_text=True)
    other_quarter = _download(xxh, "2025Q1")
    page = _upload(xxh, other_quarter, period="2025Q2").get_data(as_text=True)
    assert "工作簿属于 XXH 2025Q1，当前报告是 XXH 2025Q2" in page
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = xxh.post("/reports/XXH/2025Q2/workbook", data={"file": (io.BytesIO(b"0" * 4096), "big.xlsx")})
    assert big.status_code == 413 and "文件过大" in big.get_data(as_text=True)
    assert snapshot(app.extensions["perftrack.engine"]) == before


def test_csv_in_gb18030_through_the_cli(runner, app, tmp_path):
    path = tmp_path / "actuals.csv"
    path.write_bytes(
        (
            "指标编号,期间,实际完成值,偏差原因分析及改进措施,完成可能性,偏差原因类别\n"
            f"{CODE},2025Q2,1,原因：招标延期；改进措施：三季度集中实施,有可能,经费保障\n"
            "2025-010.01,2025Q2,2,,确定能,\n"
        ).encode("gb18030")
    )
    result = runner.invoke(main, ["actuals", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "KAC 2025Q2": {"version": 1, "actuals": 1, "spend": 0},
        "XXH 2025Q2": {"version": 1, "actuals": 1, "spend": 0},
    }
    again = runner.invoke(main, ["actuals", "import", str(path), "--json"])
    assert json.loads(again.output)["XXH 2025Q2"] == {"version": 1, "actuals": 0, "spend": 0}


@pytest.mark.parametrize(
    "content, location, field, reason",
    [
        ("指标编号,期间,实际完成值,偏差原因分析及改进措施\n2025-999.01,2025Q2,1,\n", "第 2 行", "指标编号", "不存在"),
        (
            "指标编号,期间,实际完成值,偏差原因分析及改进措施\n2025-010.01,2025Q2,1,\n",
            "第 2 行",
            "指标编号",
            "xxh 无权填报",
        ),
        (f"指标编号,期间,实际完成值,偏差原因分析及改进措施\n{CODE},2025Q7,1,\n", "第 2 行", "期间", "无法识别"),
        (
            f"指标编号,期间,实际完成值,偏差原因分析及改进措施\n{CODE},2025Q2,1.5万元,\n",
            "第 2 行",
            "实际完成值",
            "单位不符",
        ),
        ("项目编号,期间,全年预算数,执行数\n2025-001,2025Q2,,-5\n", "第 2 行", "执行数", "不能为负数"),
        ("编号,期间,值\n", "第 1 行", "表头", "应为"),
    ],
)
def test_bad_csv_rows_name_row_field_reason_and_write_nothing(runner, app, tmp_path, content, location, field, reason):
    path = tmp_path / "in.csv"
    path.write_text(content, encoding="utf-8-sig")
    before = snapshot(app.extensions["perftrack.engine"])
    result = runner.invoke(main, ["actuals", "import", str(path), "--as", "xxh", "--json"])
    assert result.exit_code == 2, result.output
    problem = json.loads(result.output)["problems"][0]
    assert (problem["location"], problem["field"]) == (location, field) and reason in problem["message"]
    assert snapshot(app.extensions["perftrack.engine"]) == before


def test_cli_loads_a_filled_workbook_as_a_user(runner, client_as, tmp_path):
    workbook = _download(client_as("xxh"))
    _row(workbook["指标"], CODE)[8].value = "4"
    path = tmp_path / "filled.xlsx"
    workbook.save(path)
    denied = runner.invoke(main, ["actuals", "import", str(path), "--as", "kac"])
    assert denied.exit_code == 2 and "无权填报" in denied.output
    result = runner.invoke(main, ["actuals", "import", str(path), "--as", "xxh"])
    assert result.exit_code == 0 and "XXH 2025Q2：1 个指标" in result.output


def test_a_workbook_goes_into_the_report_it_names_with_the_user_s_rights(client_as, app):
    """`import_workbook` (the CLI's way in): scope from the 说明 sheet, permission, save, summary."""
    from sqlmodel import select

    from service.db import session_scope
    from service.models import ActualEntry, User
    from service.reporting.reports import ReportError
    from service.reporting.workbook import import_workbook

    workbook = _download(client_as("xxh"))
    _row(workbook["指标"], CODE)[8].value = "4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        kac = session.exec(select(User).where(User.username == "kac")).one()
        with pytest.raises(ReportError, match="kac 无权填报") as refused:
            import_workbook(session, buffer.getvalue(), kac)
        assert refused.value.status == 403
        with pytest.raises(ReportError, match="不是本系统下载的填报工作簿"):
            import_workbook(session, b"not a zip", None)
        assert import_workbook(session, buffer.getvalue(), None, "operator") == {
            "XXH 2025Q2": {"version": 1, "actuals": 1, "spend": 0}
        }
    with session_scope(engine) as session:
        saved = session.exec(select(ActualEntry).where(ActualEntry.is_current.is_(True))).all()
        assert [(e.number, e.actor, e.source) for e in saved] == [(4, "operator", "excel")]
