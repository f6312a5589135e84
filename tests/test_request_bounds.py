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


def test_evidence_is_refused_beyond_the_division_quota_and_the_files_per_report(seeded_url, tmp_path, tokens):
    from .conftest import login, make_app

    app = make_app(
        seeded_url,
        tmp_path / "instance",
        env={"PERFTRACK_EVIDENCE_QUOTA_MB": "1", "PERFTRACK_MAX_ATTACHMENTS_PER_REPORT": "3"},
        WTF_CSRF_ENABLED=False,
    )
    xxh = login(app, "xxh", tokens)
    pdf = b"%PDF-1.4 " + b"0" * (300 * 1024)

    def attach(data: bytes, period: str = "2025Q2"):
        return xxh.post(
            f"/api/v1/reports/XXH/{period}/attachments",
            data={"indicator": "2025-001.01", "file": (io.BytesIO(data), "proof.pdf")},
        )

    assert [attach(pdf).status_code for _ in range(3)] == [201, 201, 201]
    full = attach(b"%PDF-1.4 small")
    assert full.status_code == 409 and "已达上限 3 个" in full.get_json()["detail"]
    from sqlmodel import select

    from service.db import session_scope
    from service.models import Attachment

    with session_scope(app.extensions["perftrack.engine"]) as session:
        first = session.exec(select(Attachment).order_by(Attachment.id)).first().id
    assert xxh.post(f"/attachments/{first}/remove").status_code == 302
    over = attach(pdf, "2025Q1")  # another report of the same division and year: the same quota
    body = over.get_json()
    assert over.status_code == 413, body
    assert body["detail"].startswith(
        "电子商务和信息化处2025 年度的证明材料已用 0.9 MB / 限额 1.0 MB（含已移除但仍保存的文件）"
    )
    assert attach(b"%PDF-1.4 small").status_code == 201  # room for a small one, and a place in the report again
    page = xxh.get("/reports/XXH/2025Q2/indicators/2025-001.01/evidence").get_data(as_text=True)
    assert "年度证明材料已用 0.9 MB / 限额 1 MB；每份报告最多 3 个附件" in page
    app.extensions["perftrack.engine"].dispose()
