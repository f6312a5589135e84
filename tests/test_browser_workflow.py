"""The workflow in a real browser, each role starting from 我的待办 and ending with its task done, at
1440 px and at 390 px.  Screenshots land in test-artifacts/browser/workflow-*.png."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_PASSWORD, DEMO_TODAY, monitor_demo_day
from service.models import User

from .conftest import ARTIFACTS, NARROW, PASSWORD, WIDE, new_page

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_url(demo_url):
    return demo_url


@pytest.fixture
def demo(live_app):
    """The demo year as `make run` leaves it on 2025-10-20 (reports, statuses and the day's notices)."""
    clock.set_today(DEMO_TODAY)
    engine = live_app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        monitor_demo_day(session)
    return engine


def _log_in(page, base: str, username: str, engine) -> None:
    with session_scope(engine) as session:
        seeded = session.exec(select(User).where(User.username == username)).one().display_name == username
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD if seeded else DEMO_PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(f"{base}/todo")


def _submit(page, selector: str) -> None:
    """Click a button or link that leads to another page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector)


def _shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"workflow-{name}.png"), full_page=full)


def test_finance_reviews_from_my_tasks_then_locks_the_quarter(live_server, browser, demo):
    finance = new_page(browser, WIDE)
    _log_in(finance, live_server, "caiwu", demo)
    assert finance.locator("#to-review tbody tr").count() == 4
    _shot(finance, "01-finance-todo-1440", full=True)
    _submit(finance, "#to-review tr[data-division='KAC'] a:has-text('审核')")
    assert "等待财务处审核" in finance.locator("#next-step").inner_text()
    summary = finance.locator("#page-summary").inner_text()
    assert "已填" in summary and "落后于序时进度" in summary
    rows = finance.locator("#report-table tr.indicator")
    total = rows.count()
    finance.check("#problems-only")
    visible = finance.locator("#report-table tr.indicator:visible").count()
    assert 0 < visible < total
    assert finance.locator("#review-actions button:has-text('审核通过')").is_visible()  # sticky at the bottom
    _shot(finance, "02-review-problems-only-1440")
    _submit(finance, "#review-actions button:has-text('审核通过')")
    assert "已审核通过" in finance.locator(".flash").first.inner_text()
    assert finance.locator("#return-notice").count() == 0 and finance.locator("input[name^='rr-']").count() == 0
    finance.goto(f"{live_server}/todo")
    assert finance.locator("#to-review tr[data-division='KAC']").count() == 0
    _submit(finance, "#locks tr[data-period='2025Q3'] a")
    outstanding = finance.locator("#outstanding tbody tr")
    assert outstanding.count() == 5  # three submitted, one returned, one draft
    finance.click("button:has-text('确认锁定')")  # the browser asks for the confirmation first
    assert finance.locator("input[name=confirm]").evaluate("el => !el.validity.valid")
    finance.check("input[name=confirm]")
    finance.fill("textarea[name=reason]", "季度监控汇总报送，先行封存")
    _shot(finance, "03-lock-confirm-1440", full=True)
    _submit(finance, "button:has-text('确认锁定')")
    assert "2025年第3季度已锁定" in finance.locator(".flash").first.inner_text()
    assert "原因：季度监控汇总报送，先行封存" in finance.locator("#period-locks").inner_text()
    assert finance.locator("#period-locks [data-period='2025Q4']").inner_text().endswith("2026-01-11 起可锁定")

    phone = new_page(browser, NARROW)
    _log_in(phone, live_server, "caiwu", demo)
    _shot(phone, "04-finance-todo-390", full=True)
    phone.goto(f"{live_server}/periods/2025Q2/lock")
    _shot(phone, "05-lock-confirm-390", full=True)
    phone.goto(f"{live_server}/inbox")
    assert phone.locator("#actionable").is_visible()
    _shot(phone, "06-inbox-390", full=True)


def test_a_returned_division_fixes_and_resubmits_from_my_tasks(live_server, browser, demo):
    nmc = new_page(browser, WIDE)
    _log_in(nmc, live_server, "nmc", demo)
    assert "被退回" in nmc.locator("h2").first.inner_text()
    nmc.goto(f"{live_server}/inbox")
    first = nmc.locator("#actionable tbody tr").first
    assert first.get_attribute("data-kind") == "returned"  # above the informational notices
    _shot(nmc, "07-reporter-inbox-1440")
    with nmc.expect_navigation():
        first.locator("a").first.click()
    nmc.wait_for_url(f"{live_server}/reports/NMC/2025Q3")
    assert nmc.locator("#return-notice").is_visible() and nmc.locator(".return-reason").count() >= 1
    row = nmc.locator("#report-table tr.indicator").first
    code = row.get_attribute("data-code")
    value = nmc.locator(f"input[name='v-{code}']")
    original = value.input_value()
    value.fill("0")
    nmc.wait_for_timeout(600)  # the live check
    assert "提交时须填写偏差原因" in row.locator(".live-note").inner_text()
    _shot(nmc, "08-live-check-1440")
    value.fill(original)  # back to the value as it was: a resubmission, answered by the evidence
    _submit(nmc, "button:has-text('保存并提交财务处')")
    assert "已提交财务处审核" in nmc.locator(".flash").first.inner_text()
    nmc.goto(f"{live_server}/todo")
    assert nmc.locator("#nothing").is_visible()
    phone = new_page(browser, NARROW)
    _log_in(phone, live_server, "wmc", demo)
    assert "已逾期 10 天" in phone.locator("#open-reports").inner_text()
    _shot(phone, "09-reporter-todo-390", full=True)
    _submit(phone, "#open-reports a:has-text('填报')")
    _shot(phone, "10-report-form-390")


def test_sign_off_goes_from_the_reporter_to_the_head_and_back(live_server, browser, demo):
    finance = new_page(browser, WIDE)
    _log_in(finance, live_server, "caiwu", demo)
    finance.goto(f"{live_server}/reports/KAC/2025Q3")
    first = finance.locator("#report-table tr.indicator").first.get_attribute("data-code")
    finance.fill(f"input[name='rr-{first}']", "请补充佐证")
    _submit(finance, "#review-actions button:has-text('退回修改')")
    kac = new_page(browser, WIDE)
    _log_in(kac, live_server, "kac", demo)
    _submit(kac, "#returns a")
    assert "送处室负责人签认" in kac.locator("#next-step").inner_text()
    _submit(kac, "#request-signoff")
    assert "负责人已收到通知" in kac.locator(".flash").first.inner_text()
    _shot(kac, "11-signoff-requested-1440")
    head = new_page(browser, NARROW)
    _log_in(head, live_server, "kac-head", demo)
    assert head.locator("#signoffs tbody tr").count() == 1
    _shot(head, "12-head-todo-390", full=True)
    _submit(head, "#signoffs a")
    assert head.locator("#return-notice").is_visible()  # the head sees what finance asked
    _submit(head, "button:has-text('负责人签认')")
    assert "已签认" in head.locator(".flash").first.inner_text()
    kac.goto(f"{live_server}/reports/KAC/2025Q3")
    assert "等待处室填报人提交财务处" in kac.locator("#next-step").inner_text()
    field = kac.locator(f"input[name='v-{first}']")
    field.fill(str(int(float(field.input_value() or 0)) + 1))
    _submit(kac, "button:has-text('保存草稿')")
    assert kac.locator("#confirm-void").is_visible()  # asked before the signature is voided
    _shot(kac, "13-confirm-void-1440")
    _submit(kac, "a:has-text('放弃修改')")
    assert kac.locator("#restored-notice").count() == 0  # the typed change is gone, not restored
    _submit(kac, "button:has-text('保存并提交财务处')")
    assert "已提交财务处审核" in kac.locator(".flash").first.inner_text()


def test_an_auditor_sees_no_tools(live_server, browser, demo):
    auditor = new_page(browser, WIDE)
    _log_in(auditor, live_server, "shenji", demo)
    assert auditor.locator("#nothing").is_visible()
    auditor.goto(f"{live_server}/projects/2025-001")
    assert auditor.locator("button:has-text('确认解读')").count() == 0
    auditor.goto(f"{live_server}/reports/KAC/2025Q3")
    assert auditor.locator("button").filter(has_text="审核通过").count() == 0
    _shot(auditor, "14-auditor-report-1440")
