"""Self-evaluation in the web: a trial run as a background job with progress, reviews applied at once and
kept per indicator, divisions' explanations and 实际完成情况, the 自评表 page the same as its workbook."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY
from service.exports.self_evaluation import form_texts_of_sheet
from service.models import (
    DivisionExplanation,
    EvaluationRun,
    IndicatorResult,
    OutboxItem,
    ReviewerGrade,
    ScoreOverride,
)
from workers import jobs

from .workbooks import open_workbook


@pytest.fixture
def seeded_url(demo_url):
    """Every test here runs on the demo year (Q1–Q3 reported, as on 2025-10-20)."""
    return demo_url


def _total(page: str) -> str:
    """The 总分 cell of the 自评表 table."""
    return re.search(
        r"<th colspan=\"6\" class=\"center\">总分</th><td class=\"right\">100</td><td class=\"right\">([\d.]+)</td>",
        page,
    ).group(1)


def _table_texts(page: str) -> list[str]:
    """Every text of the 自评表 (title, marks, table cells, notes, signatures, sources) as the page shows it."""
    sheet = page.split('<div class="sheet" id="sheet">')[1].split("</div>\n\n<section")[0]
    return [unescape(t) for t in (s.strip() for s in re.sub(r"<[^>]+>", "\x00", sheet).split("\x00")) if t]


def test_trial_run_review_override_explain(client_as, app, worker_env):
    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]  # the demo year (seeded_url above)
    finance = client_as("caiwu")
    page = finance.post(
        "/self-evaluation/runs", data={"year": "2025", "kind": "trial"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已开始第 1 次计算（试算" in page and "排队中" in page and 'http-equiv="refresh"' in page
    with session_scope(engine) as session:
        assert [o.function for o in session.exec(select(OutboxItem)).all()][-1] == "workers.jobs.evaluation_run"
    assert jobs.evaluation_run(1) == {"projects": 62}
    assert jobs.evaluation_run(1) == {"skipped": True}  # a repeated job does nothing
    page = finance.get("/self-evaluation").get_data(as_text=True)
    scores = page.split('id="scores"')[1]
    assert "62/62" in page and "已完成" in page and scores.count("/self-evaluation/runs/1/projects/") == 62
    assert "第 1 次计算结果 · 试算（截至 2025-10-20，不是正式结果）" in page
    assert "2025Q3 第 2 版 · 已提交待审核" in page and "2025Q2 第 3 版 · 已审核通过" in page  # where values came from

    sheet = finance.get("/self-evaluation/runs/1/projects/2025-001").get_data(as_text=True)
    assert "项目支出绩效自评表（试算）" in sheet and "试算：按截至 2025-10-20 的数据计算，不是正式自评结果" in sheet
    assert "实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00" in sheet and "4项（截至 Q3）" in sheet
    assert "数据来源：电子商务和信息化处 2025Q3 报告第 2 版（已提交待审核）；指标值：导入原值（未修订）" in sheet
    assert "awaiting_review" not in sheet and "待评定" in sheet
    url = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01"
    refused = finance.post(f"{url}/override", data={"score": "12"}, follow_redirects=True).get_data(as_text=True)
    assert "调整得分必须说明原因" in refused
    too_much = finance.post(f"{url}/override", data={"score": "13", "reason": "x"}, follow_redirects=True)
    assert "应在 0 到分值 12.50 之间" in too_much.get_data(as_text=True)
    before = _total(sheet)
    after = finance.post(
        f"{url}/override", data={"score": "12", "reason": "第四季度补报活动记录"}, follow_redirects=True
    ).get_data(as_text=True)
    assert _total(after) == f"{float(before) + 2:.2f}"
    assert "财务处调整为 12.00（第四季度补报活动记录，caiwu）" in after
    with session_scope(engine) as session:
        row = session.exec(select(IndicatorResult).where(IndicatorResult.override_score.is_not(None))).one()
        assert row.score == 10 and row.override_score == 12  # the computed score is kept beside it
        assert session.exec(select(ScoreOverride.score)).one() == 12  # and the override is kept for later runs
    graded = finance.post(
        "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.05/grade",
        data={"band": "部分达成", "percent": "70", "note": "成效一般"},
        follow_redirects=True,
    )
    text = graded.get_data(as_text=True)
    assert "本次计算的得分已更新" in text and "评定「部分达成」70% × 分值 30.00 = 21.00（成效一般）" in text
    assert _total(text) == f"{float(before) + 2 - 9:.2f}"  # takes effect in this run, no re-run needed
    with session_scope(engine) as session:
        assert session.exec(select(ReviewerGrade.band)).one() == "部分达成"

    xxh = client_as("xxh")
    mine = xxh.get("/self-evaluation").get_data(as_text=True)
    assert "2025-001" in mine and "2025-010" not in mine  # a division sees its own projects' draft scores
    xxh.post(f"{url}/note", data={"note": "原因：招标延期；改进措施：四季度集中实施"})
    xxh.post("/self-evaluation/runs/1/projects/2025-001/outcome", data={"outcome": "IDC 机房托管全年正常运行"})
    assert client_as("kac").post(f"{url}/note", data={"note": "x"}).status_code == 403
    assert (
        client_as("kac").post("/self-evaluation/runs/1/projects/2025-001/outcome", data={"outcome": "x"}).status_code
        == 403
    )
    with session_scope(engine) as session:
        assert session.exec(select(DivisionExplanation.text)).one() == "原因：招标延期；改进措施：四季度集中实施"

    refused = finance.post("/self-evaluation/runs/1/lock", follow_redirects=True).get_data(as_text=True)
    assert "试算结果不能锁定归档" in refused

    page = finance.get("/self-evaluation/runs/1/projects/2025-001").get_data(as_text=True)
    workbook = open_workbook(finance.get("/self-evaluation/runs/1/workbook.xlsx").data)
    assert _table_texts(page) == form_texts_of_sheet(workbook["2025-001"])  # page, print and workbook: the same text
    texts = _table_texts(page)
    assert "IDC 机房托管全年正常运行" in texts and "原因：招标延期；改进措施：四季度集中实施" in texts
    assert "效益指标（30分）" in texts and "产出指标（50分）" in texts
    own = open_workbook(xxh.get("/self-evaluation/runs/1/workbook.xlsx").data)
    assert len(own.sheetnames) == 2 + 8  # 电子商务和信息化处's projects only


def test_a_locked_year_refuses_every_write_to_any_of_its_runs(client_as, app, worker_env):
    from service.decision_error import DecisionError
    from service.domain.closing import FINAL
    from service.evaluation import LOCKED_MESSAGE, execute_run, start_run
    from service.grades import import_grades
    from service.importing import ImportRejected

    from .closing_helpers import close_the_year

    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]
    finance, xxh = client_as("caiwu"), client_as("xxh")
    for _ in range(2):
        finance.post("/self-evaluation/runs", data={"year": "2025", "kind": "trial"})
    with session_scope(engine) as session:
        queued_late = start_run(session, 2025, "caiwu")  # queued before the lock, executed after it
    assert jobs.evaluation_run(1) == {"projects": 62} and jobs.evaluation_run(2) == {"projects": 62}
    older = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01"
    current = "/self-evaluation/runs/2/projects/2025-001/indicators/2025-001.01"
    qualitative = "/self-evaluation/runs/2/projects/2025-001/indicators/2025-001.05"
    nan = finance.post(f"{current}/override", data={"score": "NaN", "reason": "x"}, follow_redirects=True)
    assert nan.status_code == 200 and "得分：「NaN」不是数字" in nan.get_data(as_text=True)
    nan = finance.post(f"{qualitative}/grade", data={"band": "达成", "percent": "NaN"}, follow_redirects=True)
    assert "得分比例：「NaN」不是数字" in nan.get_data(as_text=True)
    long_note = xxh.post(f"{current}/note", data={"note": "字" * 2001}, follow_redirects=True)
    assert "偏差原因分析及改进措施：不能超过 2000 个字" in long_note.get_data(as_text=True)
    older_run = finance.post(f"{older}/override", data={"score": "11", "reason": "补记"}, follow_redirects=True)
    assert "这是较早的计算结果" in older_run.get_data(as_text=True)  # reviews go to the current run only

    with session_scope(engine) as session:
        close_the_year(session)
        final = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        graded = len(session.exec(select(ReviewerGrade)).all())
    assert "已锁定归档为版本 1" in finance.post(
        f"/self-evaluation/runs/{final.id}/lock", follow_redirects=True
    ).get_data(as_text=True)
    locked_message = LOCKED_MESSAGE.format(year=2025)
    final_url = f"/self-evaluation/runs/{final.id}/projects/2025-001/indicators/2025-001.01"
    writes = [
        (finance, f"{older}/override", {"score": "11", "reason": "补记"}),
        (finance, f"{final_url}/override", {"score": "11", "reason": "补记"}),
        (finance, f"{qualitative}/grade", {"band": "部分达成", "percent": "70", "note": "成效一般"}),
        (xxh, f"{final_url}/note", {"note": "原因：招标延期"}),
        (xxh, f"/self-evaluation/runs/{final.id}/projects/2025-001/outcome", {"outcome": "改写"}),
    ]
    for client, url, data in writes:
        page = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
        assert "2025 年度自评已锁定归档：只能查看" in page, url
    for run_id in (1, final.id):
        sheet = finance.get(f"/self-evaluation/runs/{run_id}/projects/2025-001").get_data(as_text=True)
        assert "/override" not in sheet and "/note" not in sheet  # no review tools on any run of the year
    with session_scope(engine) as session:
        assert session.exec(select(IndicatorResult).where(IndicatorResult.override_score.is_not(None))).all() == []
        assert (
            session.exec(select(IndicatorResult).where(IndicatorResult.division_note == "原因：招标延期")).all() == []
        )
        assert len(session.exec(select(ReviewerGrade)).all()) == graded
        with pytest.raises(DecisionError, match="已锁定"):
            execute_run(session, session.get(EvaluationRun, queued_late.id))
        with pytest.raises(ImportRejected) as rejected:
            import_grades(
                session, "grades.csv", "指标编号,评价档次,得分比例,说明\n2025-001.05,达成,90,\n".encode(), "caiwu"
            )
        assert "2025 年度自评已锁定" in rejected.value.problems[0].message
    assert jobs.evaluation_run(queued_late.id) == {"refused": locked_message}
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
