"""The overview's figures as JSON (the charts' data, part of the API) and as tables beside the charts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY, monitor_demo_day
from service.domain.status import PROJECT_STATUSES, WORST_FIRST


@pytest.fixture
def seeded_url(demo_url) -> str:
    return demo_url


@pytest.fixture
def swept(app):
    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        monitor_demo_day(session)


def test_the_overview_json_adds_up_and_filters(client_as, swept):
    finance = client_as("caiwu")
    data = finance.get("/api/v1/overview?year=2025").get_json()
    bureau = data["bureau"]
    assert data["as_of"] == "2025-10-20" and (bureau["projects"], bureau["indicators"]) == (62, 482)
    assert bureau["budget"] == "41449.50"  # the bureau's total budget, shown nowhere before
    divisions = data["divisions"]
    assert sum(Decimal(d["budget"]) for d in divisions) == Decimal(bureau["budget"])
    assert sum(Decimal(d["spent"]) for d in divisions) == Decimal(bureau["spent"])
    assert Decimal(bureau["execution_rate"]) == (Decimal(bureau["spent"]) / Decimal(bureau["budget"]) * 100).quantize(
        Decimal("0.01")
    )
    assert set(bureau["project_statuses"]) <= set(PROJECT_STATUSES)
    assert sum(bureau["project_statuses"].values()) == 62
    assert data["trend"] == [{"as_of": "2025-10-20", "project_statuses": bureau["project_statuses"]}]
    behind = data["behind"]
    assert 0 < len(behind) <= 20
    ranks = [WORST_FIRST.index(b["status"]) for b in behind]
    assert ranks == sorted(ranks)  # worst first
    assert all(b["division"] and b["project"] for b in behind)
    assert any(b["cause_category"] and b["cause"] for b in behind)  # with the cause its division gave

    one = finance.get("/api/v1/overview?year=2025&division=KAC").get_json()
    assert [d["code"] for d in one["divisions"]] == ["KAC"] and one["bureau"]["projects"] == one["divisions"][0][
        "projects"
    ]
    lagging = finance.get("/api/v1/overview?year=2025&status=lagging").get_json()
    assert lagging["projects"] and {p["status"] for p in lagging["projects"]} == {"lagging"}
    assert finance.get("/api/v1/overview?year=2025&status=pending").status_code == 400
    mine = client_as("xxh").get("/api/v1/overview?year=2025").get_json()  # a division sees its own figures
    assert [d["code"] for d in mine["divisions"]] == ["XXH"]


def test_the_overview_page_has_charts_with_their_numbers_in_tables(client_as, swept):
    page = client_as("caiwu").get("/overview?year=2025").get_data(as_text=True)
    for chart in ("division-execution", "division-status", "trend"):
        assert f'data-chart="{chart}" data-source="/api/v1/overview?year=2025"' in page
    assert 'id="division-execution"' in page and 'id="status-matrix"' in page and 'id="trend-table"' in page
    assert 'id="most-behind"' in page and "41,449.50" in page
    assert "vendor/echarts/echarts.min.js" in page and "charts.js" in page
    vendored = Path(__file__).parents[1] / "service" / "web" / "static" / "vendor" / "echarts"
    assert (vendored / "LICENSE").read_text().startswith("\n                                 Apache License")
    filtered = client_as("caiwu").get("/overview?year=2025&division=KAC&status=lagging").get_data(as_text=True)
    assert 'data-source="/api/v1/overview?year=2025&amp;division=KAC&amp;status=lagging"' in filtered


def test_the_project_list_has_status_search_and_sort(client_as, swept):
    import re

    finance = client_as("caiwu")
    found = finance.get("/projects?year=2025&q=IDC").get_data(as_text=True)
    assert re.findall(r'href="/projects/(2025-\d{3})[?"]', found) == ["2025-001"]
    codes = re.findall(
        r'href="/projects/(2025-\d{3})[?"]', finance.get("/projects?year=2025&q=2025-00").get_data(as_text=True)
    )
    assert len(codes) > 1 and all(code.startswith("2025-00") for code in codes)
    page = finance.get("/projects?year=2025&status=lagging&sort=execution&dir=desc").get_data(as_text=True)
    table = page.split('id="project-list"')[1]
    assert set(re.findall(r'data-status="(\w+)"', table)) == {"lagging"} and "状态截至 2025-10-20" in page
    rates = [Decimal(r) for r in re.findall(r'<td class="num">([\d.]+)%</td>', table)]
    assert rates and rates == sorted(rates, reverse=True)
    assert 'aria-sort="descending"' in table
    quoted = finance.get("/projects?year=2025&q=%25_").get_data(as_text=True)  # wildcards are text
    assert "没有符合条件的项目" in quoted
    other = client_as("kac").get("/projects?year=2025").get_data(as_text=True)  # statuses of its own division only
    assert 'href="/projects/2025-001?year=2025"' in other and "data-status=" in other
    assert len(set(re.findall(r'<tr>\s*<td><a href="/projects/(2025-\d{3})[?"]', other))) == 62


def test_a_project_per_quarter_with_the_status_each_quarter_had(client_as, swept):
    finance = client_as("caiwu")
    data = finance.get("/api/v1/projects/2025-001/quarters").get_json()
    first = data["indicators"][0]
    assert (first["indicator"], first["target"]) == ("2025-001.01", "≥5项")
    assert [q["period"] for q in first["quarters"]] == ["2025Q1", "2025Q2", "2025Q3"]
    assert [q["expected"] for q in first["quarters"]] == ["1.25", "2.50", "3.75"]  # 序时进度 at each quarter's end
    assert all(q["status"] for q in first["quarters"]) and first["status"]
    rate = next(i for i in data["indicators"] if i["indicator"] == "2025-001.03")
    assert rate["quarters"][1]["described"] == "95%" and rate["quarters"][1]["status"] == "at_risk"
    assert [s["expected_rate"] for s in data["spend"]] == ["25.00", "50.00", "75.00"]
    page = finance.get("/projects/2025-001").get_data(as_text=True)
    table = page.split('id="quarters"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + len(data["indicators"]) and "序时 2.5" in table
    assert 'data-chart="project-spend"' in page and 'id="spend-quarters"' in page
    assert client_as("xxh").get("/api/v1/projects/2025-001/quarters").status_code == 200  # its own division
    assert client_as("kac").get("/api/v1/projects/2025-001/quarters").status_code == 403
    assert 'id="quarters"' not in client_as("kac").get("/projects/2025-001").get_data(as_text=True)
    indicator = finance.get("/indicators/2025-001.01").get_data(as_text=True)
    assert 'data-chart="indicator-history" data-indicator="2025-001.01"' in indicator
