"""A real browser (Debian chromium driven by Playwright) through the registry's pages.

Screenshots of each step land in test-artifacts/browser/.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .conftest import PASSWORD, ROOT, make_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(seeded_url, tmp_path):
    app = make_app(seeded_url, tmp_path / "instance")  # CSRF on, as in production
    yield app
    app.extensions["perftrack.engine"].dispose()


@pytest.fixture
def live_server(live_app):
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (apt install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def new_page(browser):
    """A fresh browser profile (its own cookies and local storage): one per person."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the unsaved-changes prompt
    return page


@pytest.fixture
def page(browser):
    return new_page(browser)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login" not in url)


def test_registry_walkthrough(live_server, page, tmp_path, seed_bytes):
    log_in(page, live_server, "caiwu")
    page.goto(f"{live_server}/projects")
    assert page.locator("tbody tr").count() == 62
    assert "41,449.50" in page.locator(".stats").inner_text()
    shot(page, "01-projects")

    page.select_option("select[name=funding_level]", "中央")
    page.click("button:has-text('筛选')")
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
    assert "「≥5项」→「≥6项」" in page.content()
    shot(page, "05-import-preview")
    page.click("button:has-text('确认导入')")
    assert "更新 1" in page.locator(".flash").inner_text()
    shot(page, "06-import-applied")

    page.goto(f"{live_server}/deadlines")
    assert page.locator("tbody tr").first.inner_text().startswith("2025-03-31")
    shot(page, "07-deadlines")
