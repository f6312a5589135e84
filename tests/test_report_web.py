"""The report pages: the form, inline validation, the workflow, evidence, history and locks."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import event
from sqlmodel import select

from service.accounts import create_user
from service.clock import clock
from service.db import session_scope
from service.models import ActualEntry, Attachment
from service.reporting.reports import load_scope

from .conftest import PASSWORD, login
from .reporting_helpers import complete_rows, snapshot

CODE = "2025-001.01"  # 全年任务量 ≥5项


def test_the_form_shows_target_expected_progress_and_last_quarter(client_as, app):
    clock.set_today(date(2025, 7, 3))
    xxh = client_as("xxh")
    xxh.post("/reports/XXH/2025Q1/save", data={f"v-{CODE}": "1", f"l-{CODE}": "确定能"})
    page = xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)
    row = page.split(f'data-code="{CODE}"')[1].split("</tr>")[0]
    assert "≥5项" in row and "截至期末累计" in row and "1项" in row and "2.5项" in row  # target, measure, Q1, 序时
    assert "填报截止</dt><dd>2025-07-10" in page
    assert page.count('class="indicator') == 52  # every indicator of the division's 8 projects


def test_a_bad_value_is_shown_inline_and_nothing_is_saved(client_as, app):
    xxh = client_as("xxh")
    engine = app.extensions["perftrack.engine"]
    before = snapshot(engine)
    response = xxh.post(
        "/reports/XXH/2025Q2/save",
        data={f"v-{CODE}": "三个", f"l-{CODE}": "", "v-2025-001.02": "98", "l-2025-001.02": "确定能"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "实际完成值：「三个」不是数字" in page and 'value="三个"' in page and 'value="98"' in page
    assert snapshot(engine) == before


def test_preview_gives_the_light_and_errors_as_the_user_types(client_as):
    clock.set_today(date(2025, 7, 3))
    xxh = client_as("xxh")
    behind = xxh.post("/reports/XXH/2025Q2/preview", data={"code": CODE, f"v-{CODE}": "1"}).get_json()
    assert behind["light"] == {"code": "behind", "label": "滞后", "detail": "序时目标 2.5项", "status": "lagging"}
    assert behind["needs_explanation"]
    fine = xxh.post("/reports/XXH/2025Q2/preview", data={"code": CODE, f"v-{CODE}": "3", f"l-{CODE}": "确定能"})
    assert fine.get_json()["light"]["status"] == "on_track" and fine.get_json()["missing"] == []
    wrong = xxh.post("/reports/XXH/2025Q2/preview", data={"code": "2025-001.02", "v-2025-001.02": "130"}).get_json()
    assert wrong["errors"] == [{"field": "value", "message": "实际完成值：「验收合格率」是比率，不能超过 100%"}]


def test_submit_needs_a_complete_report_and_names_what_is_missing(client_as):
    xxh = client_as("xxh")
    response = xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "3", f"l-{CODE}": "确定能", "then": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "报告尚未填写完整" in page and "请填写实际完成值" in page
    assert "3项；可能性：确定能" in xxh.get(f"/indicators/{CODE}").get_data(as_text=True)  # the draft was kept
    assert "草稿" in xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)


def test_evidence_is_type_checked_size_limited_and_never_deleted(client_as, app):
    xxh = client_as("xxh")
    url = f"/reports/XXH/2025Q2/indicators/{CODE}/evidence"
    ok = xxh.post(url, data={"file": (io.BytesIO(b"%PDF-1.7 minutes"), "会议纪要.pdf")}, follow_redirects=True)
    assert "已上传附件「会议纪要.pdf」" in ok.get_data(as_text=True)
    fake = xxh.post(url, data={"file": (io.BytesIO(b"MZ\x90\x00"), "report.pdf")}, follow_redirects=True)
    assert "内容与扩展名 .pdf 不符" in fake.get_data(as_text=True)
    exe = xxh.post(url, data={"file": (io.BytesIO(b"MZ"), "tool.exe")}, follow_redirects=True)
    assert "类型不支持" in exe.get_data(as_text=True)
    big = xxh.post(
        url, data={"file": (io.BytesIO(b"%PDF-" + b"0" * (10 * 1024 * 1024)), "big.pdf")}, follow_redirects=True
    )
    assert "超过 10 MB" in big.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        item = session.exec(select(Attachment)).one()
        assert len(item.sha256) == 64 and item.content_type == "application/pdf"
    download = xxh.get(f"/attachments/{item.id}")
    assert download.data == b"%PDF-1.7 minutes"
    xxh.post(f"/attachments/{item.id}/remove")
    with session_scope(app.extensions["perftrack.engine"]) as session:
        kept = session.get(Attachment, item.id)
        assert kept.removed_by == "xxh" and kept.data == b"%PDF-1.7 minutes"


def test_history_is_visible_and_exportable(client_as):
    xxh = client_as("xxh")
    xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "2", f"l-{CODE}": "确定能"})
    xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "3", f"l-{CODE}": "确定能", "version": "1"})
    page = xxh.get(f"/indicators/{CODE}").get_data(as_text=True)
    assert "2项；可能性：确定能" in page and "3项；可能性：确定能" in page
    workbook = load_workbook(io.BytesIO(xxh.get(f"/indicators/{CODE}/history.xlsx").data))
    rows = list(workbook.active.iter_rows(min_row=3, values_only=True))
    assert [(r[1], r[2], r[3], r[5], r[6]) for r in rows] == [
        ("2025Q2", 1, "xxh", "（空）", "2项；可能性：确定能"),
        ("2025Q2", 2, "xxh", "2项；可能性：确定能", "3项；可能性：确定能"),
    ]


def test_two_tabs_cannot_silently_overwrite_each_other(client_as):
    xxh = client_as("xxh")
    xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "2", f"l-{CODE}": "", "version": "0"})
    stale = xxh.post(
        "/reports/XXH/2025Q2/save", data={f"v-{CODE}": "4", f"l-{CODE}": "", "version": "0"}, follow_redirects=True
    )
    assert "已被他人修改" in stale.get_data(as_text=True)


def test_finance_locks_and_reopens_a_period_on_the_page(client_as):
    clock.set_today(date(2025, 7, 11))  # the day after Q2's due date
    finance = client_as("caiwu")
    assert "已锁定" in finance.post("/periods/2025Q2/lock", follow_redirects=True).get_data(as_text=True)
    xxh = client_as("xxh")
    page = xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)
    assert "期间已锁定" in page and f'name="v-{CODE}"' not in page  # read-only
    refused = xxh.post("/reports/XXH/2025Q2/save", data={f"v-{CODE}": "4", f"l-{CODE}": ""}, follow_redirects=True)
    assert "已被财务处锁定" in refused.get_data(as_text=True)
    no_reason = finance.post("/periods/2025Q2/reopen", data={"reason": ""}, follow_redirects=True)
    assert "请说明原因" in no_reason.get_data(as_text=True)
    finance.post("/periods/2025Q2/reopen", data={"reason": "处室补报"})
    assert f'name="v-{CODE}"' in xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)


def test_due_days_per_year_and_head_signoff_per_division_are_settings(client_as, runner):
    finance = client_as("caiwu")
    assert "季度结束后 15 天" in finance.post(
        "/years/2025/due-days", data={"days": "15"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "填报期限应为 0–60 天" in finance.post(
        "/years/2025/due-days", data={"days": "99"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "填报截止</dt><dd>2025-07-15" in client_as("xxh").get("/reports/XXH/2025Q2").get_data(as_text=True)
    from service.cli import main

    assert runner.invoke(main, ["years", "set-due-days", "2025", "12"]).exit_code == 0
    assert "填报截止</dt><dd>2025-07-12" in client_as("xxh").get("/reports/XXH/2025Q2").get_data(as_text=True)
    page = finance.post("/divisions/XXH/signoff", data={"required": "1"}, follow_redirects=True)
    assert "须经处室负责人签认后提交" in page.get_data(as_text=True)
    xxh = client_as("xxh")
    assert "保存并提交财务处" not in xxh.get("/reports/XXH/2025Q2").get_data(as_text=True)
    refused = xxh.post("/reports/XXH/2025Q2/action", data={"action": "submit"}, follow_redirects=True)
    assert "需处室负责人签认后才能提交" in refused.get_data(as_text=True)


def test_spend_history_is_on_the_project_page_for_those_who_may_see_it(client_as):
    xxh = client_as("xxh")
    xxh.post("/reports/XXH/2025Q2/save", data={"sp-2025-001": "5"})
    xxh.post("/reports/XXH/2025Q2/save", data={"sp-2025-001": "6", "bd-2025-001": "30", "version": "1"})
    page = xxh.get("/projects/2025-001").get_data(as_text=True)
    assert "执行数 5.00 万元" in page and "执行数 6.00 万元；全年预算数 30.00 万元" in page
    assert 'id="spend-history"' not in client_as("kac").get("/projects/2025-001").get_data(as_text=True)


def _form_fields(app, division: str, quarter: int, done_on: date) -> dict[str, str]:
    """The form fields of a complete, on-track report of DIVISION (as a browser posts them)."""
    with session_scope(app.extensions["perftrack.engine"]) as session:
        scope = load_scope(session, 2025, division, quarter)
        actuals, spend = complete_rows(scope, done_on)
        kinds = {code: indicator.kind for code, (indicator, _p) in scope.indicators.items()}
    fields = {f"sp-{row.project_code}": row.spent for row in spend}
    for row in actuals:
        fields[f"v-{row.indicator_code}"], fields[f"l-{row.indicator_code}"] = row.raw.value, row.raw.likelihood
        if kinds[row.indicator_code] == "deadline":
            fields[f"ds-{row.indicator_code}"] = "done"
    return fields


def test_a_save_costs_the_same_statements_for_one_indicator_or_fifty(client_as, app):
    """The web save of a whole report is a fixed handful of statements: no query per indicator, the new
    entries inserted in one statement, and no statement whose parameters grow with the year's other reports
    (a province files tens of thousands of them)."""
    clock.set_today(date(2025, 7, 3))
    engine = app.extensions["perftrack.engine"]
    statements: list[tuple[str, int, bool]] = []

    def record(_connection, _cursor, statement, parameters, _context, executemany):
        rows = parameters if executemany else [parameters]
        bound = sum(len(row) if isinstance(row, tuple | list | dict) else 1 for row in rows)
        statements.append((statement, bound, executemany))

    xxh = client_as("xxh")
    complete = _form_fields(app, "XXH", 2, date(2025, 6, 30))
    spend = {name: value for name, value in complete.items() if name.startswith("sp-")}
    one = {f"v-{CODE}": "2", f"l-{CODE}": "确定能"}
    assert xxh.post("/reports/XXH/2025Q2/save", data={**one, **spend}).status_code == 302  # creates the report

    def save(client, url: str, data: dict) -> list[tuple[str, int, bool]]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.post(url, data=data).status_code == 302
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return list(statements)

    single = save(xxh, "/reports/XXH/2025Q2/save", {**spend, f"v-{CODE}": "3", f"l-{CODE}": "确定能"})
    whole = save(xxh, "/reports/XXH/2025Q2/save", complete)
    assert len(whole) == len(single) <= 20
    inserts = [s for s in whole if s[0].startswith("INSERT INTO actual_entry")]
    assert len(inserts) == 1 and inserts[0][2]  # the whole report's new values in one executemany
    with session_scope(engine) as session:
        assert len(session.exec(select(ActualEntry).where(ActualEntry.report_version == 3)).all()) >= 50

    kac = client_as("kac")  # another division's report joins the year
    assert kac.post("/reports/KAC/2025Q2/save", data=_form_fields(app, "KAC", 2, date(2025, 6, 30))).status_code == 302
    again = save(xxh, "/reports/XXH/2025Q2/save", {**spend, f"v-{CODE}": "4", f"l-{CODE}": "确定能"})
    assert [(s, n) for s, n, _many in again] == [(s, n) for s, n, _many in single]


def test_the_form_costs_the_same_statements_whatever_its_size(client_as, app):
    """The report page reads its rows in a fixed handful of statements: no query per indicator or project,
    and the open return is read once for the banner and the rows' reasons."""
    clock.set_today(date(2025, 7, 3))
    engine = app.extensions["perftrack.engine"]
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_rest):
        statements.append(statement)

    def page(client, url: str) -> list[str]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return list(statements)

    with session_scope(engine) as session:  # the largest division (153 indicators) and the smallest (17)
        for division in ("WMC", "CWC"):
            create_user(session, division.lower(), division.lower(), "reporter", division, PASSWORD)
    wmc, cwc = login(app, "wmc"), login(app, "cwc")
    for client, division in ((wmc, "WMC"), (cwc, "CWC")):
        fields = _form_fields(app, division, 2, date(2025, 6, 30))
        assert client.post(f"/reports/{division}/2025Q2/save", data=fields).status_code == 302
    large, small = page(wmc, "/reports/WMC/2025Q2"), page(cwc, "/reports/CWC/2025Q2")
    with session_scope(engine) as session:
        sizes = [len(load_scope(session, 2025, d, 2).indicators) for d in ("WMC", "CWC")]
    assert sizes[0] > 5 * sizes[1]
    assert len(large) == len(small) <= 25
    returns = [s for s in large if "FROM report_event" in s and "report_event.action IN" in s]
    assert len(returns) == 2  # the last workflow step: for the open return, and for a pending sign-off request
