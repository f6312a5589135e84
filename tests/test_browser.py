"""A real browser (Debian chromium driven by Playwright) through the registry's pages.

Screenshots of each step land in test-artifacts/browser/.
"""

from __future__ import annotations

import pytest

from .conftest import log_in, shot

pytestmark = pytest.mark.browser


def test_registry_walkthrough(live_server, page, tmp_path, seed_bytes):
    log_in(page, live_server, "caiwu")
    page.goto(f"{live_server}/projects")
    assert page.locator("tbody tr").count() == 62
    assert "41,449.50" in page.locator(".stats").inner_text()
    shot(page, "01-projects")

    page.select_option("select[name=funding_level]", "中央")
    page.click("button:has-text('筛选')")
    # The click only starts the navigation: counting at once could read the page half loaded.
    page.wait_for_url(lambda url: "funding_level=" in url)
    central = page.locator("tbody tr").count()
    assert 0 < central < 62
    shot(page, "02-projects-central")

    page.goto(f"{live_server}/projects/2025-001")
    row = page.locator("tr[id='2025-001.06']")
    assert "≤ 90%" in row.inner_text() and "满意度指标使用了上限" in row.inner_text()
    shot(page, "03-project-source-and-reading")

    page.goto(f"{live_server}/findings?code=inverted_comparator")
    page.fill("input[name=new_value]", "≥90%")
    page.fill("input[name=reason]", "满意度应为下限，原表写反")
    page.click("button:has-text('更正指标值')")
    assert "已更正为「≥90%」" in page.locator(".flash").inner_text()
    shot(page, "04-finding-corrected")

    page.goto(f"{live_server}/projects/2025-001")
    assert "修订：≤90% → ≥90%" in page.locator("tr[id='2025-001.06']").inner_text()

    changed = tmp_path / "targets-v2.txt"
    changed.write_bytes(seed_bytes.decode("utf-8").replace("\t≥5项", "\t≥6项", 1).encode("utf-8"))
    page.goto(f"{live_server}/imports")
    page.set_input_files("input[name=file]", str(changed))
    page.click("button:has-text('上传并预览')")
    page.wait_for_load_state()  # the click waits for the new page to start, not to be whole
    assert "「≥5项」→「≥6项」" in page.content()
    shot(page, "05-import-preview")
    page.click("button:has-text('确认导入')")
    assert "更新 1" in page.locator(".flash").inner_text()
    shot(page, "06-import-applied")

    page.goto(f"{live_server}/deadlines")
    assert page.locator("tbody tr").first.inner_text().startswith("2025-03-31")
    shot(page, "07-deadlines")


def test_pages_work_under_the_content_security_policy(live_server, page):
    """No inline script is left to block: auto-submitting filters run from static/app.js, and the
    browser reports no violation of the policy on the way."""
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    log_in(page, live_server, "caiwu")
    page.goto(f"{live_server}/deliveries")
    page.select_option("select[name=ok]", "0")
    page.wait_for_url(lambda url: url.endswith("/deliveries?ok=0"))
    page.goto(f"{live_server}/reports")
    page.select_option("select[name=year]", "2025")
    page.wait_for_url(lambda url: "year=2025" in url)
    shot(page, "08-reports-under-csp")
    page.goto(f"{live_server}/projects/2025-001")
    assert violations == []
