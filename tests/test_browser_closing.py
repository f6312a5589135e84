"""The closing in a real browser, at 1440 px and at 390 px: what stops a final run (with links), a trial and its
marks, a division writing its 实际完成情况 from the link, the final run, the lock and the unlock with a reason.
Screenshots land in test-artifacts/browser/closing-*.png."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY
from service.evaluation import execute_run
from service.models import EvaluationRun

from .closing_helpers import close_the_year
from .conftest import ARTIFACTS, NARROW, WIDE, log_in, new_page

pytestmark = pytest.mark.browser


def _shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"closing-{name}.png"), full_page=full)


def _work_queued_runs(engine) -> list[int]:
    """What the worker would do with the queued runs (the live server has no Redis)."""
    with session_scope(engine) as session:
        runs = session.exec(select(EvaluationRun).where(EvaluationRun.state == "queued")).all()
        for run in runs:
            execute_run(session, run)
        return [r.id for r in runs]


@pytest.fixture
def seeded_url(demo_url):
    return demo_url


def test_the_closing_walkthrough(live_app, live_server, browser):
    engine = live_app.extensions["perftrack.engine"]
    clock.set_today(DEMO_TODAY)
    finance = new_page(browser, WIDE)
    log_in(finance, live_server, "caiwu")
    finance.goto(f"{live_server}/self-evaluation")
    assert "年度未结束" in finance.locator("#closing").inner_text()
    finance.click("button:has-text('正式计算')")
    assert "2025 年度尚不能进行正式计算" in finance.locator(".flash").inner_text()
    _shot(finance, "01-final-refused-1440")
    report_link = finance.locator("#closing a[href='/reports/WMC/2025Q4']")
    assert report_link.count() == 1

    finance.click("button:has-text('开始试算')")
    assert "已开始第 1 次计算（试算" in finance.locator(".flash").inner_text()
    assert _work_queued_runs(engine) == [1]
    finance.goto(f"{live_server}/self-evaluation")
    assert "试算（截至 2025-10-20，不是正式结果）" in finance.locator("h2:has-text('次计算结果')").inner_text()
    finance.click("#scores a:has-text('2025-001')")
    assert finance.locator("#form-title").inner_text() == "项目支出绩效自评表（试算）"
    table = finance.locator("#zpb").inner_text()
    assert "产出指标（50分）" in table and "其中：当年财政拨款" in table and "评价等级" in table
    assert "天津市商务局" in table and "4项（截至 Q3）" in table
    _shot(finance, "02-trial-sheet-1440", full=True)
    finance.emulate_media(media="print")
    assert not finance.locator("header").is_visible() and not finance.locator("#reviews").is_visible()
    assert finance.locator(".sheet p.mark").first.inner_text().startswith("试算：按截至 2025-10-20")
    finance.screenshot(path=str(ARTIFACTS / "closing-03-trial-print.png"), full_page=True)
    finance.emulate_media(media="screen")

    phone = new_page(browser, NARROW)
    log_in(phone, live_server, "caiwu")
    phone.goto(f"{live_server}/self-evaluation")
    _shot(phone, "04-checklist-390")
    phone.goto(f"{live_server}/self-evaluation/runs/1/projects/2025-001")
    assert phone.locator("#form-title").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways at 390 px ({width} px); only the table may"
    assert phone.evaluate("document.querySelector('.scroll').scrollWidth") > 390  # the form keeps its columns
    _shot(phone, "05-trial-sheet-390")
    phone.locator("#zpb th:has-text('绩效指标')").scroll_into_view_if_needed()
    _shot(phone, "05b-trial-indicators-390")
    phone.locator("[id='review-2025-001.05']").scroll_into_view_if_needed()
    _shot(phone, "05c-trial-reviews-390")

    with session_scope(engine) as session:  # January: every division's Q4 accepted, doubts settled, grades given
        close_the_year(session, skip_outcome=("2025-001",))
    finance.goto(f"{live_server}/self-evaluation")
    closing = finance.locator("#closing").inner_text()
    assert (
        "尚有 1 项未完成" in closing
        and "2025-001 尚未填写年度总体目标的实际完成情况（由电子商务和信息化处填写）" in closing
    )
    link = finance.locator("#closing a").first.get_attribute("href")
    assert link == "/self-evaluation/runs/1/projects/2025-001#outcome"

    division = new_page(browser, WIDE)
    log_in(division, live_server, "xxh")  # the test accounts' reporter of 电子商务和信息化处
    division.goto(f"{live_server}{link}")
    division.fill("textarea[name=outcome]", "IDC 机房全年托管正常，未发生数据丢失")
    division.click("button:has-text('保存实际完成情况')")
    assert "已保存年度总体目标的实际完成情况" in division.locator(".flash").inner_text()
    assert "IDC 机房全年托管正常" in division.locator("#zpb").inner_text()

    finance.goto(f"{live_server}/self-evaluation")
    assert "前提已齐备" in finance.locator("#closing").inner_text()
    finance.click("button:has-text('正式计算')")
    assert _work_queued_runs(engine) == [2]
    finance.goto(f"{live_server}/self-evaluation")
    finance.click("button:has-text('锁定归档')")
    assert "自评结果已锁定归档为版本 1" in finance.locator(".flash").inner_text()
    assert "归档版本 1" in finance.locator("#locked").inner_text()
    _shot(finance, "06-locked-1440", full=True)
    finance.goto(f"{live_server}/self-evaluation/runs/2/projects/2025-001")
    assert finance.locator("#form-title").inner_text() == "项目支出绩效自评表"
    assert "正式计算 · 归档版本 1" in finance.locator(".sheet").inner_text()
    assert "数据来源：电子商务和信息化处 2025Q4 报告" in finance.locator("#source").inner_text()
    assert finance.locator(".review-tools").count() == 0  # an archived version is only viewed
    _shot(finance, "07-final-sheet-1440", full=True)
    phone.goto(f"{live_server}/self-evaluation/runs/2/projects/2025-001")
    _shot(phone, "08-final-sheet-390")
    phone.goto(f"{live_server}/self-evaluation")
    _shot(phone, "08b-locked-390")

    finance.goto(f"{live_server}/self-evaluation")
    finance.fill("input[name=reason]", "决算审计调整了两个项目的执行数")
    finance.click("button:has-text('解锁')")
    assert "已解锁；归档版本 1 仍可下载" in finance.locator(".flash").inner_text()
    assert "决算审计调整了两个项目的执行数" in finance.locator("#archives").inner_text()
    with finance.expect_download() as download:
        finance.click("#archives a:has-text('下载归档的自评表')")
    assert download.value.suggested_filename == "2025年度项目支出绩效自评表（归档版本1）.xlsx"
    _shot(finance, "09-unlocked-1440", full=True)
