"""The monitoring pages in a real browser: finance's overview, a division's inbox.
Screenshots land in test-artifacts/browser/monitoring-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_PASSWORD, DEMO_TODAY, monitor_demo_day

from .conftest import ARTIFACTS, log_in, new_page, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_url(demo_url) -> str:
    """Every test here runs on the demo year (its accounts and Q1–Q3 reports, built once per session)."""
    return demo_url


def log_in_demo(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login" not in url)


def test_overview_calendar_and_inbox(live_app, live_server, browser):
    clock.set_today(DEMO_TODAY)
    with session_scope(live_app.extensions["perftrack.engine"]) as session:
        monitor_demo_day(session)
    finance = new_page(browser)
    log_in(finance, live_server, "caiwu")  # the test template's finance account
    finance.goto(f"{live_server}/overview")
    assert "对外贸易处" in finance.locator("#status-matrix").inner_text()
    assert finance.locator("#budget tbody tr").count() == 62
    shot(finance, "monitoring-01-overview")
    finance.locator("#calendar").scroll_into_view_if_needed()
    assert "2025Q3 报告截止" in finance.locator("#calendar").inner_text()
    finance.screenshot(path=str(ARTIFACTS / "monitoring-02-calendar.png"), full_page=True)

    division = new_page(browser)
    log_in_demo(division, live_server, "nmc")  # its Q3 report was returned
    assert int(division.locator("#unread-count").inner_text()) >= 1
    division.click("#inbox-link")
    assert "被财务处退回" in division.locator("#inbox").inner_text()
    shot(division, "monitoring-03-inbox")
    division.click("button:has-text('全部标为已读')")
    expect(division.locator("#unread-count")).to_have_count(0)  # retried until the inbox has reloaded


def test_self_evaluation_pages_and_print_layout(live_app, live_server, browser):
    from service.evaluation import execute_run, start_run

    clock.set_today(DEMO_TODAY)
    with session_scope(live_app.extensions["perftrack.engine"]) as session:
        execute_run(session, start_run(session, 2025, "caiwu"))
    finance = new_page(browser)
    log_in(finance, live_server, "caiwu")
    finance.goto(f"{live_server}/self-evaluation")
    assert finance.locator("#scores tbody tr").count() == 62
    shot(finance, "evaluation-01-runs")
    finance.click("#scores a:has-text('2025-001')")
    assert "评价等级" in finance.locator("#zpb").inner_text()  # the official form; each calculation sits below it
    assert "实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00" in finance.locator("#review-table").inner_text()
    shot(finance, "evaluation-02-project")
    finance.emulate_media(media="print")
    assert not finance.locator("header").is_visible() and not finance.locator(".review-tools").first.is_visible()
    finance.screenshot(path=str(ARTIFACTS / "evaluation-03-print.png"), full_page=True)


PAGES = [("overview", "/overview"), ("project", "/projects/2025-001"), ("indicator", "/indicators/2025-001.01")]


@pytest.mark.parametrize("width", [1440, 390])
def test_overview_project_and_indicator_with_charts_at_desk_and_phone_width(live_app, live_server, browser, width):
    """The charts draw (from the API's JSON, with the domain's colours), every chart has its table, and the
    page itself never scrolls sideways nor lets the header cover the title, at 1440 px and at 390 px."""
    clock.set_today(DEMO_TODAY)
    with session_scope(live_app.extensions["perftrack.engine"]) as session:
        monitor_demo_day(session)
    page = new_page(browser, {"width": width, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, "caiwu")
    for name, path in PAGES:
        page.goto(f"{live_server}{path}")
        charts = page.locator("[data-chart]")
        assert charts.count() >= 1, name
        for index in range(charts.count()):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            page.wait_for_function("el => el.dataset.drawn === '1'", arg=chart.element_handle(), timeout=10000)
            assert chart.locator("canvas").count() >= 1
            assert chart_animates(page, chart) is False  # reduced motion: drawn whole at once
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        header = page.locator("header").bounding_box()
        title = page.locator("h1").bounding_box()
        assert header["y"] + header["height"] <= title["y"], (name, width)  # nothing overlaps the title
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"monitoring-charts-{name}-{width}.png"), full_page=True)
    assert page.locator("#spend-quarters").count() == 0  # the indicator page: its table is the history
    page.emulate_media(reduced_motion="no-preference")
    page.goto(f"{live_server}/overview")
    chart = page.locator("[data-chart]").first
    page.wait_for_function("el => el.dataset.drawn === '1'", arg=chart.element_handle(), timeout=10000)
    assert chart_animates(page, chart) is True  # without the preference, ECharts' own animation
    assert errors == []
    page.context.close()


def chart_animates(page, chart) -> bool:
    return page.evaluate("el => echarts.getInstanceByDom(el).getOption().animation", chart.element_handle())


@pytest.mark.parametrize("width", [1440, 390])
def test_the_header_wraps_whole_items_never_inside_a_word(live_app, live_server, browser, width):
    """The longest menu (an administrator's) on a desk and on a phone: a menu item, the brand, the year
    picker and the account links each stay on one line (a long menu wraps between items), and the page
    never scrolls sideways."""
    page = new_page(browser, {"width": width, "height": 900})
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/todo")
    assert page.locator("header nav a").count() >= 12
    broken = page.evaluate(
        """() => [...document.querySelectorAll(
                'header .brand, header nav a, header .year-picker label, header .year-picker button, '
                + 'header .who a, header .who button')]
            .filter(e => {
                const s = getComputedStyle(e), line = parseFloat(s.lineHeight) || 1.5 * parseFloat(s.fontSize);
                const text = e.getBoundingClientRect().height - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom)
                    - parseFloat(s.borderTopWidth) - parseFloat(s.borderBottomWidth);
                return e.getClientRects().length > 1 || text > 1.6 * line; })
            .map(e => e.textContent.trim())"""
    )
    shot(page, f"header-admin-{width}")
    assert broken == [], broken
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.context.close()
