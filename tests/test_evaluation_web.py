"""Self-evaluation in the web: a run as a background job with progress, review, overrides, notes, lock."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY
from service.models import EvaluationRun, IndicatorResult, OutboxItem, ReviewerGrade
from workers import jobs


@pytest.fixture
def seeded_url(demo_url) -> str:
    """Every test here runs on the demo year (its accounts and Q1–Q3 reports, built once per session)."""
    return demo_url


def test_run_review_override_explain_lock(client_as, app, worker_env):
    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]
    finance = client_as("caiwu")
    page = finance.post("/self-evaluation/runs", data={"year": "2025"}, follow_redirects=True).get_data(as_text=True)
    assert "已开始第 1 次自评计算" in page and "排队中" in page and 'http-equiv="refresh"' in page
    with session_scope(engine) as session:
        assert [o.function for o in session.exec(select(OutboxItem)).all()][-1] == "workers.jobs.evaluation_run"
    assert jobs.evaluation_run(1) == {"projects": 62}
    assert jobs.evaluation_run(1) == {"skipped": True}  # a repeated job does nothing
    page = finance.get("/self-evaluation").get_data(as_text=True)
    assert "62/62" in page and "已完成" in page and page.count("/self-evaluation/runs/1/projects/") == 62

    sheet = finance.get("/self-evaluation/runs/1/projects/2025-001").get_data(as_text=True)
    assert "项目支出绩效自评表" in sheet and "实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00" in sheet
    url = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01"
    refused = finance.post(f"{url}/override", data={"score": "12"}, follow_redirects=True).get_data(as_text=True)
    assert "调整得分必须说明原因" in refused
    too_much = finance.post(f"{url}/override", data={"score": "13", "reason": "x"}, follow_redirects=True)
    assert "应在 0 到分值 12.50 之间" in too_much.get_data(as_text=True)
    before = sheet.split('id="total">')[1].split("<")[0]
    after = finance.post(
        f"{url}/override", data={"score": "12", "reason": "第四季度补报活动记录"}, follow_redirects=True
    ).get_data(as_text=True)
    assert after.split('id="total">')[1].split("<")[0] == f"{float(before) + 2:.2f}"
    assert "财务处调整为 12.00（第四季度补报活动记录，caiwu）" in after
    with session_scope(engine) as session:
        row = session.exec(select(IndicatorResult).where(IndicatorResult.override_score.is_not(None))).one()
        assert row.score == 10 and row.override_score == 12  # the computed score is kept beside it
    finance.post(
        "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.05/grade",
        data={"band": "部分达成", "percent": "70", "note": "成效一般"},
    )
    with session_scope(engine) as session:
        assert session.exec(select(ReviewerGrade.band)).one() == "部分达成"

    xxh = client_as("xxh")
    mine = xxh.get("/self-evaluation").get_data(as_text=True)
    assert "2025-001" in mine and "2025-010" not in mine  # a division sees its own projects' draft scores
    xxh.post(f"{url}/note", data={"note": "原因：招标延期；改进措施：四季度集中实施"})
    assert client_as("kac").post(f"{url}/note", data={"note": "x"}).status_code == 403

    assert "已锁定归档" in finance.post("/self-evaluation/runs/1/lock", follow_redirects=True).get_data(as_text=True)
    locked = finance.post(f"{url}/override", data={"score": "11", "reason": "y"}, follow_redirects=True)
    assert "只能查看" in locked.get_data(as_text=True)
    again = finance.post("/self-evaluation/runs", data={"year": "2025"}, follow_redirects=True)
    assert "自评已锁定" in again.get_data(as_text=True)
    with session_scope(engine) as session:
        assert session.exec(select(EvaluationRun.final)).one() is True

    workbook = load_workbook(io.BytesIO(finance.get("/self-evaluation/runs/1/workbook.xlsx").data))
    rows = [[c.value for c in r] for r in workbook["2025-001"].iter_rows(min_row=10)]
    first = rows[0]
    assert first[6] == 12 and first[7] == "原因：招标延期；改进措施：四季度集中实施"
    own = load_workbook(io.BytesIO(xxh.get("/self-evaluation/runs/1/workbook.xlsx").data))
    assert len(own.sheetnames) == 2 + 8  # 电子商务和信息化处's projects only


def test_a_locked_year_refuses_every_write_to_any_of_its_runs(client_as, app, worker_env):
    from service.decision_error import DecisionError
    from service.evaluation import execute_run, start_run
    from service.grades import import_grades
    from service.importing import ImportRejected

    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]
    finance, xxh = client_as("caiwu"), client_as("xxh")
    for _ in range(2):
        finance.post("/self-evaluation/runs", data={"year": "2025"})
    with session_scope(engine) as session:
        queued_late = start_run(session, 2025, "caiwu")  # queued before the lock, executed after it
    assert jobs.evaluation_run(1) == {"projects": 62} and jobs.evaluation_run(2) == {"projects": 62}
    older = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01"
    qualitative = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.05"
    nan = finance.post(f"{older}/override", data={"score": "NaN", "reason": "x"}, follow_redirects=True)
    assert nan.status_code == 200 and "得分：「NaN」不是数字" in nan.get_data(as_text=True)
    nan = finance.post(f"{qualitative}/grade", data={"band": "达成", "percent": "NaN"}, follow_redirects=True)
    assert "得分比例：「NaN」不是数字" in nan.get_data(as_text=True)
    long_note = xxh.post(f"{older}/note", data={"note": "字" * 2001}, follow_redirects=True)
    assert "偏差原因分析及改进措施：不能超过 2000 个字" in long_note.get_data(as_text=True)

    finance.post("/self-evaluation/runs/2/lock")
    writes = [
        (finance, f"{older}/override", {"score": "11", "reason": "补记"}),
        (finance, f"{qualitative}/grade", {"band": "部分达成", "percent": "70", "note": "成效一般"}),
        (xxh, f"{older}/note", {"note": "原因：招标延期"}),
    ]
    for client, url, data in writes:
        page = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
        assert "2025 年度自评已锁定：只能查看" in page, url
    sheet = finance.get("/self-evaluation/runs/1/projects/2025-001").get_data(as_text=True)
    assert "/override" not in sheet and "/note" not in sheet  # no review tools on any run of the year
    with session_scope(engine) as session:
        assert session.exec(select(IndicatorResult).where(IndicatorResult.override_score.is_not(None))).all() == []
        assert session.exec(select(IndicatorResult).where(IndicatorResult.division_note != "")).all() == []
        assert session.exec(select(ReviewerGrade)).all() == []
        with pytest.raises(DecisionError, match="已锁定"):
            execute_run(session, session.get(EvaluationRun, queued_late.id))
        with pytest.raises(ImportRejected) as rejected:
            import_grades(
                session, "grades.csv", "指标编号,评价档次,得分比例,说明\n2025-001.05,达成,90,\n".encode(), "caiwu"
            )
        assert "2025 年度自评已锁定" in rejected.value.problems[0].message
    assert jobs.evaluation_run(queued_late.id) == {
        "refused": "2025 年度自评已锁定：只能查看，不能再计算、评定、调整或填写说明"
    }
    page = finance.get("/self-evaluation").get_data(as_text=True)
    assert "失败" in page and "2025 年度自评已锁定" in page


def test_a_run_that_fails_says_so_instead_of_staying_queued(client_as, app, worker_env):
    """An Infinity stored by an older version (before numbers had a domain) made the job die and the
    run stay "queued" with no word; now the run is failed with a reason and its partial rows are gone."""
    from sqlalchemy import text

    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE spend_entry SET spent = 9e999 WHERE id = (SELECT max(s.id) FROM spend_entry s "
                "JOIN report r ON r.id = s.report_id WHERE s.is_current AND s.spent IS NOT NULL "
                "AND r.first_submitted_at IS NOT NULL)"
            )
        )
    finance = client_as("caiwu")
    finance.post("/self-evaluation/runs", data={"year": "2025"})
    with pytest.raises(ArithmeticError):  # decimal.InvalidOperation on the stored Infinity
        jobs.evaluation_run(1)
    with session_scope(engine) as session:
        run = session.get(EvaluationRun, 1)
        assert run.state == "failed" and "计算出错" in run.error
        assert session.exec(select(IndicatorResult)).all() == []
    assert "计算出错" in finance.get("/self-evaluation").get_data(as_text=True)
