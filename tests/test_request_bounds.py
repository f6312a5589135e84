"""Requests that cost the server more than their size: a PUT of 20,000 unknown indicator codes is
answered quickly with a bounded list of problems, found in one query."""

from __future__ import annotations

import io
import time

from sqlalchemy import event

PUT = "/api/v1/reports/XXH/2025Q2"


def test_twenty_thousand_unknown_codes_are_looked_up_at_once_and_listed_boundedly(app, client_as):
    xxh = client_as("xxh")
    rows = [{"indicator": f"NOPE-{n:05d}", "value": "1"} for n in range(20_000)]
    rows[7] = {"indicator": "2025-010.01", "value": "1"}  # 外资管理处's: named as such
    statements = []
    engine = app.extensions["perftrack.engine"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        started = time.monotonic()
        response = xxh.put(PUT, json={"actuals": rows}, headers={"If-Match": '"0"'})
        elapsed = time.monotonic() - started
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 422
    body = response.get_json()
    assert elapsed < 10, elapsed
    problems = body["problems"]
    assert len(problems) == 501
    assert problems[0] == {"location": "actuals[0]", "field": "指标编号", "message": "指标编号「NOPE-00000」不存在"}
    assert any(p["location"] == "actuals[7]" and "属于" in p["message"] and "不能在" in p["message"] for p in problems)
    assert problems[-1]["location"] == "请求" and "还有 19,500 处问题未列出" in problems[-1]["message"]
    lookups = [s for s in statements if s.startswith("SELECT indicator.code, division.name")]
    assert len(lookups) == 1 and len(statements) < 30, (len(lookups), len(statements))  # not one query per code


def test_a_target_file_full_of_mistakes_is_refused_with_a_bounded_list(client_as):
    from .documents import as_csv

    rows = [[f"BAD-{n}", "项目", "XXH", "", "-1", "产出指标", "数量指标", "件数", "", "≥1件", ""] for n in range(3000)]
    response = client_as("caiwu").post(
        "/api/v1/imports", data={"file": (io.BytesIO(as_csv(rows)), "bad.csv"), "year": "2025"}
    )
    problems = response.get_json()["problems"]
    assert response.status_code == 422 and len(problems) == 501
    assert problems[0]["message"] == "不能为负数（-1）" and problems[-1]["message"].startswith(
        "还有 2,500 处问题未列出"
    )
