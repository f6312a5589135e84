"""Treasury payment records: the file's rules (pure), loading all or nothing and idempotently (CLI and web),
and month-accurate budget execution from them (1–7月), else from the quarterly 执行数 against its quarter."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlmodel import func, select

from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.domain.payments import last_month_end, occurrences, parse_amount, parse_month, read_payment_table
from service.models import Payment, PaymentBatch, Project, ProjectStatusRow
from service.monitoring import sweep


@pytest.fixture
def seeded_url(demo_url) -> str:
    """On the demo year (Q1–Q3 reported), so the quarterly fallback has something to fall back on."""
    return demo_url


def _rows(text: str):
    return [(f"第 {n} 行", cells) for n, cells in enumerate(csv.reader(io.StringIO(text.strip())), start=1)]


def test_the_file_states_its_unit_and_every_bad_row_is_named():
    lines, problems = read_payment_table(
        _rows(
            '项目编号,支付日期,摘要,金额（元）\n2025-001,2025/7/15,设备款,"12,345.60"\n2025-001,2025年7月15日,设备款,12345.6'
        )
    )
    assert problems == [] and [line.amount for line in lines] == [Decimal("12345.60")] * 2
    assert occurrences(lines) == [1, 2]  # two equal payments on one day are two payments
    _lines, problems = read_payment_table(_rows("项目编号,支付日期,金额\n2025-001,2025-07-15,10"))
    assert [(p.location, p.field) for p in problems] == [("第 1 行", "表头")]
    assert "请在表头注明单位" in problems[0].message
    _lines, problems = read_payment_table(
        _rows(
            "项目编号,月份,金额(万元)\n,2025-07,1.5\n2025-002,2025-13,1\n2025-003,2025-07,-2\n2025-004,2025-07,1.2345678"
        )
    )
    assert [(p.location, p.field) for p in problems] == [
        ("第 2 行", "项目编号"),
        ("第 3 行", "月份"),
        ("第 4 行", "金额(万元)"),
        ("第 5 行", "金额(万元)"),  # the header as the file writes it
    ]
    assert problems[3].message == "最多精确到分（6 位小数）"
    assert parse_amount("1.5", "万元") == (Decimal("15000.00"), None)
    assert parse_month("2025年7月") == parse_month("202507") == date(2025, 7, 31)
    assert last_month_end(2025, date(2025, 8, 5)) == date(2025, 7, 31)
    assert last_month_end(2025, date(2025, 7, 31)) == date(2025, 7, 31)
    assert last_month_end(2025, date(2025, 1, 20)) is None and last_month_end(2025, date(2026, 3, 1)) == date(
        2025, 12, 31
    )


PAYMENTS = """项目编号,支付日期,金额（万元）,收款单位
2025-002,2025-02-10,20,甲公司
2025-002,2025-05-20,30.5,乙公司
2025-002,2025-07-08,40,丙公司
2025-002,2025-08-02,100,丁公司
2025-003,2025-03-31,5,戊公司
"""


def _count(app) -> int:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return session.exec(select(func.count()).select_from(Payment)).one()


def test_cli_import_is_all_or_nothing_and_idempotent(runner, app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        (PAYMENTS + "2099-999,2025-07-01,1,无此项目\n2025-003,2024-12-30,1,上年\n2025-003,七月,1,日期错\n").encode(
            "gb18030"
        )
    )
    refused = runner.invoke(main, ["payments", "import", str(bad), "--json"])
    assert refused.exit_code == 2
    problems = json.loads(refused.output)["problems"]
    assert [(p["location"], p["field"]) for p in problems] == [("第 9 行", "支付日期")]  # the reading comes first
    assert "「七月」不是日期" in problems[0]["message"]
    bad.write_bytes((PAYMENTS + "2099-999,2025-07-01,1,无此项目\n2025-003,2024-12-30,1,上年\n").encode("gb18030"))
    refused = json.loads(runner.invoke(main, ["payments", "import", str(bad), "--json"]).output)["problems"]
    assert [(p["location"], p["field"], p["message"]) for p in refused] == [
        ("第 7 行", "项目编号", "项目「2099-999」不存在"),
        ("第 8 行", "支付日期", "2024-12-30 不在项目「2025-003」的预算年度 2025 年内"),
    ]
    assert _count(app) == 0

    good = tmp_path / "payments.csv"
    good.write_bytes(PAYMENTS.encode("gb18030"))
    first = runner.invoke(main, ["payments", "import", str(good)])
    assert first.exit_code == 0 and "新增 5 条（2 个项目，合计 195.50 万元）" in first.output
    again = runner.invoke(main, ["payments", "import", str(good)])
    assert "都已导入过，未作任何更改" in again.output and _count(app) == 5
    later = tmp_path / "later.csv"  # a later export repeats the earlier records and adds September's
    later.write_text(PAYMENTS + "2025-002,2025-09-01,10,甲公司\n", encoding="utf-8-sig")
    assert "新增 1 条" in runner.invoke(main, ["payments", "import", str(later)]).output
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert session.exec(select(func.count()).select_from(PaymentBatch)).one() == 2  # no batch for "nothing"
    assert _count(app) == 6


def _execution(app, code: str, as_of: date) -> ProjectStatusRow:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        sweep(session, 2025, as_of)
        project_id = session.exec(select(Project.id).where(Project.code == code)).one()
        row = session.exec(
            select(ProjectStatusRow).where(ProjectStatusRow.project_id == project_id, ProjectStatusRow.as_of == as_of)
        ).one()
        session.expunge(row)
        return row


def test_without_payments_execution_is_the_quarter_against_its_own_share(app):
    """As of 31 July the latest 执行数 is June's: it is held against 50%, not 7/12 (the issue's 2025-002)."""
    row = _execution(app, "2025-002", date(2025, 7, 31))
    assert (row.spend_source, row.spent_through) == ("report", date(2025, 6, 30))
    assert row.expected_rate == Decimal("50.00") and row.execution_rate == Decimal("40.01")
    assert not row.budget_lagging  # 9.99 points behind, within the 10 allowed


def test_one_to_july_from_payments_against_seven_twelfths(runner, app, tmp_path):
    good = tmp_path / "payments.csv"
    good.write_text(PAYMENTS, encoding="utf-8")
    assert runner.invoke(main, ["payments", "import", str(good)]).exit_code == 0
    clock.set_today(date(2025, 8, 10))
    row = _execution(app, "2025-002", date(2025, 8, 10))
    assert (row.spend_source, row.spent_through) == ("payments", date(2025, 7, 31))
    assert row.spent == Decimal("90.50")  # February, May and July; August's payment is after the cut-off
    assert row.expected_rate == Decimal("58.33")
    assert row.execution_rate == (Decimal("90.50") / row.budget * 100).quantize(Decimal("0.01"))
    untouched = _execution(app, "2025-010", date(2025, 8, 10))  # the year has payments: none means nothing spent
    assert (untouched.spent, untouched.spend_source, untouched.execution_rate) == (0, "payments", 0)
    page = _overview(runner, app)
    assert "截至 2025-07-31 · 国库支付记录" in page  # what the bureau totals cover


def _overview(runner, app) -> str:
    from tests.conftest import login

    return login(app, "caiwu").get("/overview").get_data(as_text=True)


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_finance_uploads_monthly_totals_as_xlsx_on_the_web(client_as, app):
    finance = client_as("caiwu")
    bad = _xlsx([["项目编号", "月份", "金额（元）"], ["2025-002", "2025-07", "abc"]])
    refused = finance.post(
        "/payments", data={"file": (io.BytesIO(bad), "pay.xlsx")}, content_type="multipart/form-data"
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "未导入" in page
    assert "工作表「Sheet」第 2 行" in page and "「abc」不是数字" in page and _count(app) == 0
    good = _xlsx(
        [
            ["项目编号", "月份", "金额（元）"],
            ["2025-002", datetime(2025, 7, 1), 123456.78],
            ["2025-002", "2025-06", 1000],
        ]
    )
    done = finance.post(
        "/payments",
        data={"file": (io.BytesIO(good), "pay.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "新增 2 条（1 个项目，合计 12.45 万元）" in text and 'id="payment-months"' in text and "12.35" in text
    assert client_as("xxh").get("/payments").status_code == 403
