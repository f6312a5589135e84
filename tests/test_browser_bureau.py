"""The organisation and next-year pages in a real browser, at 1440 px and on a 390 px phone.
Screenshots land in test-artifacts/browser/bureau-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service.continuity import rollover
from service.db import session_scope
from service.evaluation import execute_run, start_run

from .bureau_helpers import next_year_tables, sheet, submit_quarter
from .conftest import ARTIFACTS, NARROW, WIDE, log_in, new_page

pytestmark = pytest.mark.browser
WIDTHS = {"wide": WIDE, "phone": NARROW}


def _page(browser):
    page = new_page(browser, WIDE)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.violations = violations
    return page


def _shots(page, name: str, full: bool = True, scrolled_to: str | None = None) -> None:
    """The page at 1440 px, then the same page on a 390 px phone, where it must not scroll sideways.  One walk
    through the steps at the desk takes both: walking them again on the phone doubled the time and showed the
    same server pages."""
    for size, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        if scrolled_to:
            page.locator(scrolled_to).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"bureau-{name}-{size}.png"), full_page=full)
        if size == "phone":
            _no_sideways_scroll(page)
    page.set_viewport_size(WIDTHS["wide"])


def _no_sideways_scroll(page) -> None:
    """On a phone the page itself never scrolls sideways; wide tables scroll inside their own box."""
    wider = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
        .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)""")
    assert wider == [], wider


@pytest.fixture
def next_year(live_app, seed_bytes):
    engine = live_app.extensions["perftrack.engine"]
    submit_quarter(engine, 2025, "XXH", 4, "xxh", {"2025-001.01": "7"})
    with session_scope(engine) as session:
        execute_run(session, start_run(session, 2025, "caiwu"))
        rollover(session, 2025, 2026)
    return next_year_tables(
        seed_bytes, {"\t全年任务量\n\t全年任务量\n\t≥5项": "\t全年任务量\n\t全年任务量\n\t不低于上年"}
    )


def test_admin_sets_up_the_organisation(live_server, browser, tmp_path):
    page = _page(browser)
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/divisions")
    page.fill("#organisation-form input[name=department]", "天津市人民政府")
    page.click("#organisation-form button[type=submit]")
    assert "主管部门 天津市人民政府" in page.locator(".flash.ok").inner_text()
    page.fill("#division-add input[name=code]", "KJC")
    page.fill("#division-add input[name=name]", "科技处")
    page.fill("#division-add input[name=prefixes]", "KJ")
    page.click("#division-add button[type=submit]")
    assert "已添加处室 KJC 科技处" in page.locator(".flash.ok").inner_text()
    page.locator("#divisions tr", has_text="KJC").locator("button:has-text('撤销')").click()
    assert "科技处已撤销，释放前缀 KJ" in page.locator(".flash.ok").inner_text()
    upload = tmp_path / "处室.xlsx"
    upload.write_bytes(sheet(["代码", "名称", "前缀", "是否财务"], [["TZC", "投资促进处", "TZ", "否"]]))
    page.set_input_files("#division-import input[type=file]", str(upload))
    page.click("#division-import button[type=submit]")
    assert "新增 1" in page.locator(".flash.ok").inner_text()
    _shots(page, "01-divisions", scrolled_to="#organisation")

    page.goto(f"{live_server}/admin/users")
    page.locator("#users tr", has_text="kac-head").locator("a:has-text('编辑')").click()
    page.fill("#user-form input[name=email]", "head@example.cn")
    page.fill("#user-form input[name=phone]", "022-2345 6789")
    page.click("#user-form button[type=submit]")
    assert "已保存用户 kac-head" in page.locator(".flash.ok").inner_text()
    page.click("#reset-form button[type=submit]")
    temporary = page.locator("#temporary-password").inner_text()
    assert len(temporary) >= 16
    _shots(page, "02-user")
    users = tmp_path / "用户.xlsx"
    users.write_bytes(
        sheet(
            ["用户名", "姓名", "角色", "处室", "邮箱"],
            [["zhao", "赵填报", "填报人", "TZC", "zhao@example.cn"], ["qian", "钱审计", "审计", "", ""]],
        )
    )
    page.goto(f"{live_server}/admin/users")
    page.set_input_files("#users-import input[type=file]", str(users))
    page.click("#users-import button[type=submit]")
    expect(page.locator("#created tbody tr")).to_have_count(2)
    _shots(page, "03-users-created")
    page.goto(f"{live_server}/admin/users")
    _shots(page, "04-users", full=False)

    # The head logs in with the temporary password and must choose a new one first.
    head = _page(browser)
    head.goto(f"{live_server}/login")
    head.fill("input[name=username]", "kac-head")
    head.fill("input[name=password]", temporary)
    head.click("button:has-text('登录')")
    head.wait_for_url(lambda url: url.endswith("/account"))
    assert "管理员已重置您的密码" in head.locator("#must-change").inner_text()
    _shots(head, "05-must-change", full=False)
    assert page.violations == [] and head.violations == []


def test_finance_opens_the_next_year_and_confirms_the_links(live_server, browser, next_year, tmp_path):
    page = _page(browser)
    log_in(page, live_server, "caiwu")
    page.goto(f"{live_server}/years")
    _shots(page, "06-years")
    tables = tmp_path / "2026年度绩效目标表.txt"
    tables.write_bytes(next_year)
    page.goto(f"{live_server}/imports")
    page.set_input_files("input[type=file]", str(tables))
    page.fill("input[name=year]", "2026")
    page.click("button:has-text('上传并预览')")
    expect(page.locator("#link-choices tbody tr")).to_have_count(62)
    assert page.locator("select[name='link-2026-001']").input_value() == "2025-001"
    page.select_option("select[name='link-2026-002']", "")  # finance decides it is a new project
    _shots(page, "07-import-links", full=False, scrolled_to="#link-choices")
    page.click("#apply-form button[type=submit]")
    assert "已导入" in page.locator(".flash.ok").inner_text()

    page.goto(f"{live_server}/years/2026/links")
    assert "（新项目）" in page.locator("#p-2026-002").inner_text()
    page.locator("#p-2026-002 select").select_option("2025-002")
    page.locator("#p-2026-002 button").click()
    assert "接续上年项目 2025-002" in page.locator(".flash.ok").inner_text()
    _shots(page, "08-year-links", full=False)

    page.goto(f"{live_server}/projects/2026-001?year=2026")
    comparison = page.locator("#comparison")
    assert "不低于上年" in comparison.inner_text() and "≥ 7项" in comparison.inner_text()
    assert "7项" in page.locator("#comparison tbody tr").first.inner_text()
    _shots(page, "09-project-this-and-last-year", full=False, scrolled_to="#comparison")
    page.locator("#move-form").scroll_into_view_if_needed()
    page.select_option("#move-form select[name=division]", "WZC")
    page.fill("#move-form input[name=reason]", "职能调整")
    page.click("#move-form button[type=submit]")
    assert "已自第 1 季度起移交" in page.locator(".flash.ok").inner_text()
    assert "职能调整" in page.locator(".transfer").inner_text()
    _shots(page, "10-project-moved", full=False)

    # The header's year selector takes every page to last year and back.
    page.select_option("#year-picker select", "2025")
    page.wait_for_url(lambda url: url.endswith("/projects?year=2025"))
    assert "2025 年度项目绩效目标" in page.locator("h1").inner_text()
    page.goto(f"{live_server}/overview")
    assert page.locator("#year-picker select").input_value() == "2025"
    _shots(page, "11-year-selector", full=False)
    assert page.violations == []
