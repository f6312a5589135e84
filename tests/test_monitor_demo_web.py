"""The monitoring pages on the demo year as `make run` serves it: the overview's status matrix, budget and
calendar, and a project's status trend."""

from __future__ import annotations

from datetime import date

import pytest

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY, monitor_demo_day


@pytest.fixture
def seeded_url(demo_url) -> str:
    return demo_url


def test_overview_shows_status_budget_deadlines_and_calendar(client_as, app):
    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert monitor_demo_day(session) > 0
    page = client_as("caiwu").get("/overview").get_data(as_text=True)
    assert "状态计算于 2025-10-20" in page
    matrix = page.split('id="status-matrix"')[1].split("</table>")[0]
    assert "对外贸易处" in matrix and "未报送" in matrix  # its Q3 report is an overdue draft
    assert "执行率" in page and "序时进度" in page and "75.00%" in page
    calendar = page.split('id="calendar"')[1]
    assert "2025Q3 报告截止" in calendar  # this month (October): Q3 was due on 10 October
    december = client_as("caiwu").get("/overview?month=2025-12").get_data(as_text=True).split('id="calendar"')[1]
    assert "2025Q3 报告截止" not in december and "/indicators/2025-" in december  # year-end dated targets
    mine = client_as("xxh").get("/overview").get_data(as_text=True)
    assert "对外贸易处" not in mine.split('id="status-matrix"')[1].split("</table>")[0]


def test_project_status_trend_on_page_and_api(client_as, app):
    from service.monitoring import sweep

    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        for day in (date(2025, 7, 15), date(2025, 10, 20)):
            sweep(session, 2025, day)
    page = client_as("xxh").get("/projects/2025-001").get_data(as_text=True)
    trend = page.split('id="trend"')[1].split("</table>")[0]
    assert "2025-10-20" in trend and "2025-07-15" in trend
    body = client_as("xxh").get("/api/v1/projects/2025-001/status").get_json()
    assert body["as_of"] == "2025-10-20" and [t["as_of"] for t in body["trend"]] == ["2025-07-15", "2025-10-20"]
    assert len(body["indicators"]) == 6 and body["expected_rate"] == "75.00"  # decimals travel as strings
    assert 'id="trend"' not in client_as("kac").get("/projects/2025-001").get_data(as_text=True)
