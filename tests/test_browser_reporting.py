"""A quarter reported, returned and accepted in a real browser (Debian chromium via Playwright).

Screenshots of each step land in test-artifacts/browser/reporting-*.png.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.models import User
from service.reporting.reports import load_scope, save

from .conftest import log_in, new_page, shot
from .reporting_helpers import complete_rows

pytestmark = pytest.mark.browser
CODE = "2025-001.01"  # 全年任务量 ≥5项: left for the person to fill in
RATE = "2025-001.02"  # 验收合格率 100%


def _prefill_all_but_two(app):
    """Everything but two rows filled in already, as an earlier session would have left it."""
    with session_scope(app.extensions["perftrack.engine"]) as session:
        scope = load_scope(session, 2025, "XXH", 2)
        actuals, spend = complete_rows(scope, date(2025, 6, 30))
        actuals = [row for row in actuals if row.indicator_code not in (CODE, RATE)]
        save(session, scope, session.exec(select(User).where(User.username == "xxh")).one(), actuals, spend, "web")


def row(page, code):
    return page.locator(f"tr[data-code='{code}']")


def test_report_submit_return_fix_accept(live_app, live_server, browser):
    clock.set_today(date(2025, 7, 8))
    _prefill_all_but_two(live_app)
    report_url = f"{live_server}/reports/XXH/2025Q2"

    reporter = new_page(browser)
    log_in(reporter, live_server, "xxh")
    reporter.goto(report_url)
    row(reporter, CODE).locator(f"input[name='v-{CODE}']").fill("1")
    row(reporter, CODE).locator(".light.behind[data-status=lagging]").wait_for()  # 1 of 2.5 expected by now: behind
    assert "滞后" in row(reporter, CODE).locator(".light-label").inner_text()
    row(reporter, RATE).locator(f"input[name='v-{RATE}']").fill("120")
    row(reporter, RATE).locator(".field-error.live:has-text('不能超过 100%')").wait_for()
    shot(reporter, "reporting-01-live-checks")
    reporter.click("button:has-text('保存草稿')")
    assert "数据未保存" in reporter.locator(".flash.error").inner_text()
    assert "「验收合格率」是比率，不能超过 100%" in row(reporter, RATE).inner_text()
    assert reporter.locator(f"input[name='v-{RATE}']").input_value() == "120"  # nothing typed is lost
    shot(reporter, "reporting-02-validation-error")

    reporter.fill(f"input[name='v-{RATE}']", "100")
    reporter.select_option(f"select[name='l-{RATE}']", "确定能")
    reporter.select_option(f"select[name='l-{CODE}']", "有可能")
    reporter.select_option(f"select[name='cc-{CODE}']", "经费保障")
    reporter.fill(f"textarea[name='ct-{CODE}']", "资金下达晚于计划")
    reporter.fill(f"textarea[name='m-{CODE}']", "三季度集中实施")
    reporter.click("button:has-text('保存并提交财务处')")
    assert "已提交财务处审核" in reporter.locator(".flash.ok").inner_text()
    assert reporter.locator("#report-state").inner_text() == "已提交待审核"
    shot(reporter, "reporting-03-submitted")

    finance = new_page(browser)
    log_in(finance, live_server, "caiwu")
    finance.goto(report_url)
    finance.fill(f"input[name='rr-{CODE}']", "1项与台账记录的2项不一致，请核实")
    finance.fill("textarea[name=comment]", "请核实全年任务量")
    finance.click("button:has-text('退回修改')")
    assert "已退回处室修改" in finance.locator(".flash.ok").inner_text()
    shot(finance, "reporting-04-returned")

    reporter.goto(report_url)
    assert "1项与台账记录的2项不一致，请核实" in row(reporter, CODE).inner_text()
    assert "请核实全年任务量" in reporter.locator("#return-notice").inner_text()
    reporter.fill(f"input[name='v-{CODE}']", "2")
    reporter.reload()  # e.g. the session timed out: what was typed comes back from the browser
    assert "已恢复" in reporter.locator("#restored-notice").inner_text()
    assert reporter.locator(f"input[name='v-{CODE}']").input_value() == "2"
    shot(reporter, "reporting-05-reason-seen-and-restored")
    reporter.click("button:has-text('保存并提交财务处')")
    assert "已提交财务处审核" in reporter.locator(".flash.ok").inner_text()

    finance.goto(report_url)
    changes = finance.locator("#changes").inner_text()
    assert CODE in changes and "1项" in changes and "2项" in changes
    shot(finance, "reporting-06-diff-since-return")
    finance.click("button:has-text('审核通过')")
    assert "已审核通过" in finance.locator(".flash.ok").inner_text()
    assert finance.locator("#report-state").inner_text() == "已审核通过"
    shot(finance, "reporting-07-accepted")
