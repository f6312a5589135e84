"""Clear messages: a refused submission says the draft was kept and lists what is missing, the live
check warns when a cause will be required, evidence changes appear in 自退回以来的修改, and a finished
deadline is never shown overdue."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.domain.progress import Light, explanation_note
from service.models import User
from service.queries import completion_dates, deadlines
from service.reporting.read import form_groups
from service.reporting.reports import load_scope, operator, save, transition

from .reporting_helpers import complete_rows

CODE = "2025-001.01"  # 全年任务量 ≥5项 (电子商务和信息化处)


@pytest.fixture(autouse=True)
def _july():
    clock.set_today(date(2025, 7, 3))


def test_a_refused_submission_says_the_draft_was_saved_and_lists_what_is_missing(client_as):
    xxh = client_as("xxh")
    response = xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "3", f"l-{CODE}": "确定能", "then": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"草稿已保存（版本 1），但报告尚未填写完整（\d+ 处），不能提交：请补充下方列出并标出的内容", page)
    problems = page.split('id="problem-list"')[1].split("</div>")[0]
    assert 'href="#i-2025-001.02"' in problems and "请填写实际完成值" in problems
    assert 'href="#p-2025-001"' in problems and "请填写截至期末的执行数" in problems
    assert 'id="i-2025-001.02"' in page and 'id="p-2025-001"' in page  # the links land on the rows
    assert 'value="3"' in xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)  # kept


def test_the_live_check_warns_that_a_cause_will_be_required(client_as):
    xxh = client_as("xxh")
    behind = xxh.post("/reports/XXH/2025Q2/preview", data={"code": CODE, f"v-{CODE}": "1"}).get_json()
    assert behind["explanation_note"] == "状态为「滞后」：提交时须填写偏差原因类别、偏差原因分析和改进措施"
    unsure = xxh.post(
        "/reports/XXH/2025Q2/preview", data={"code": CODE, f"v-{CODE}": "3", f"l-{CODE}": "有可能"}
    ).get_json()
    assert unsure["explanation_note"].startswith("完成可能性为「有可能」：提交时须填写")
    fine = xxh.post("/reports/XXH/2025Q2/preview", data={"code": CODE, f"v-{CODE}": "3", f"l-{CODE}": "确定能"})
    assert fine.get_json()["explanation_note"] == ""
    assert explanation_note(Light("green", "按计划推进"), "确定能") == ""
    explained = xxh.post(
        "/reports/XXH/2025Q2/preview",
        data={"code": CODE, f"v-{CODE}": "1", f"cc-{CODE}": "经费保障", f"ct-{CODE}": "拨款晚", f"m-{CODE}": "加快"},
    ).get_json()
    assert explained["needs_explanation"] and explained["explanation_note"] == ""  # written: no nagging


def test_evidence_added_after_a_return_is_in_the_diff(app, client_as):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, "XXH", 2)
        actuals, spend = complete_rows(scope, date(2025, 6, 30))
        users = {u.username: u for u in session.exec(select(User)).all()}
        save(session, scope, users["xxh"], actuals, spend, "test")
        transition(session, scope, users["xxh"], "submit")
        transition(session, scope, users["caiwu"], "return", "请补充佐证")
    xxh, finance = client_as("xxh"), client_as("caiwu")
    xxh.post(
        f"/reports/XXH/2025Q2/indicators/{CODE}/evidence",
        data={"file": (io.BytesIO(b"%PDF-1.4 proof"), "验收报告.pdf")},
        content_type="multipart/form-data",
    )
    xxh.post("/reports/XXH/2025Q2/action", data={"action": "submit"})
    page = finance.get("/reports/XXH/2025Q2").get_data(as_text=True)
    changes = page.split('id="changes"')[1].split("</table>")[0]
    assert CODE in changes and "新增附件 验收报告.pdf" in changes and "（附件）" in changes


def test_a_finished_deadline_is_never_shown_overdue(app, client_as):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        rows = deadlines(session, 2025)
        early = next(r for r in rows if r[0].due and r[0].due <= date(2025, 6, 30))
        code, due, division = early[0].code, early[0].due, early[2].code
        user = session.exec(select(User).where(User.division_id == early[2].id)).first()
        quarter = (due.month - 1) // 3 + 1
        scope = load_scope(session, 2025, division, quarter)
        actuals, spend = complete_rows(scope, due)
        save(session, scope, user or operator("test"), actuals, spend, "test")
    clock.set_today(date(2025, 10, 20))
    before = client_as("caiwu").get("/deadlines?year=2025").get_data(as_text=True)
    row = before.split(f'data-code="{code}"')[1].split("</tr>")[0]
    assert "已过" in row  # saved as a draft only: not yet reported to finance
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, division, quarter)
        head = session.exec(select(User).where(User.division_id == scope.division.id, User.role == "head")).first()
        submitter = head or user or operator("test")
        transition(session, scope, submitter, "submit")
        assert completion_dates(session, deadlines(session, 2025))[early[0].id] == due
    after = client_as("caiwu").get("/deadlines?year=2025").get_data(as_text=True)
    row = after.split(f'data-code="{code}"')[1].split("</tr>")[0]
    assert "已过" not in row and "已完成" in row and due.isoformat() in row


def test_read_spend_asks_for_a_reason_when_spend_goes_down():
    from decimal import Decimal

    from service.domain.actuals import read_spend

    _spend, errors = read_spend("18", "", Decimal(100), None, Decimal(20))
    assert [(e.field, e.message) for e in errors] == [
        ("spent", "低于上一季度的执行数 20 万元：执行数为累计值，一般不会减少，如确需更正请确认并说明原因")
    ]
    _spend, errors = read_spend("18", "", Decimal(100), None, Decimal(20), confirm_decrease=True)
    assert [e.message for e in errors] == ["已确认执行数减少，请说明原因"]
    spend, errors = read_spend("18", "", Decimal(100), None, Decimal(20), True, " 冲销误列支出 ")
    assert errors == [] and spend.decrease_reason == "冲销误列支出"
    assert read_spend("25", "", Decimal(100), None, Decimal(20))[1] == []


def test_decreasing_spend_needs_a_reason_on_the_form_the_csv_and_the_api(app, client_as, runner):
    xxh = client_as("xxh")
    clock.set_today(date(2025, 7, 3))
    xxh.post("/reports/XXH/2025Q2/save", data={"sp-2025-001": "20"})
    clock.set_today(date(2025, 10, 2))
    refused = xxh.post("/reports/XXH/2025Q3/save", data={"sp-2025-001": "18"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "低于上一季度的执行数 20 万元" in page
    assert 'name="scd-2025-001"' in page and 'name="sdr-2025-001"' in page
    saved = xxh.post(
        "/reports/XXH/2025Q3/save",
        data={"sp-2025-001": "18", "scd-2025-001": "1", "sdr-2025-001": "冲销误列支出"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已保存" in saved and 'value="冲销误列支出"' in saved
    api = xxh.get("/api/v1/reports/XXH/2025Q3").get_json()
    assert next(s for s in api["spend"] if s["project"] == "2025-001")["decrease_reason"] == "冲销误列支出"
    etag = xxh.get("/api/v1/reports/XXH/2025Q3").headers["ETag"]
    lower = xxh.put(
        "/api/v1/reports/XXH/2025Q3",
        json={"spend": [{"project": "2025-001", "spent": "17"}]},
        headers={"If-Match": etag},
    )
    assert lower.status_code == 422 and "低于上一季度的执行数" in str(lower.get_json()["problems"])
    confirmed = xxh.put(
        "/api/v1/reports/XXH/2025Q3",
        json={"spend": [{"project": "2025-001", "spent": "17", "confirm_decrease": True, "decrease_reason": "退款"}]},
        headers={"If-Match": etag},
    )
    assert confirmed.status_code == 200


def test_the_flat_spend_file_takes_the_reason_in_an_optional_column(app):
    from service.reporting.flat import apply_flat, read_csv
    from service.reporting.reports import ReportError

    engine = app.extensions["perftrack.engine"]
    clock.set_today(date(2025, 10, 2))
    plain = "项目编号,期间,全年预算数,执行数\n2025-001,2025Q2,,20\n2025-001,2025Q3,,18\n".encode()
    with session_scope(engine) as session, pytest.raises(ReportError) as caught:
        apply_flat(session, read_csv(plain), None, "test")
    assert [(p.location, p.field) for p in caught.value.problems] == [("第 3 行", "执行数")]
    assert "低于上一季度的执行数 20 万元" in caught.value.problems[0].message
    reasoned = "项目编号,期间,全年预算数,执行数,确认减少原因\n2025-001,2025Q2,,20,\n2025-001,2025Q3,,18,冲销\n"
    with session_scope(engine) as session:
        apply_flat(session, read_csv(reasoned.encode()), None, "test")
        scope = load_scope(session, 2025, "XXH", 3)
        assert [(g.spent, g.decrease_reason) for g in form_groups(session, scope) if g.project.code == "2025-001"] == [
            (18, "冲销")
        ]


def test_the_workbook_carries_the_spend_decrease_reason(client_as):
    from openpyxl import load_workbook

    xxh = client_as("xxh")
    clock.set_today(date(2025, 7, 3))
    xxh.post("/reports/XXH/2025Q2/save", data={"sp-2025-001": "20"})
    clock.set_today(date(2025, 10, 2))
    workbook = load_workbook(io.BytesIO(xxh.get("/reports/XXH/2025Q3/workbook.xlsx").data))
    sheet = workbook["资金"]
    assert sheet["G1"].value == "确认减少原因" and not sheet["G2"].protection.locked
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "2025-001")
    row[5].value = "18"

    def upload() -> str:
        buffer = io.BytesIO()
        workbook.save(buffer)
        buffer.seek(0)
        response = xxh.post("/reports/XXH/2025Q3/workbook", data={"file": (buffer, "q3.xlsx")}, follow_redirects=True)
        return response.get_data(as_text=True)

    assert "低于上一季度的执行数 20 万元" in upload()
    row[6].value = "冲销误列支出"
    assert "工作簿已导入：0 个指标、1 个项目资金有更新" in upload()
