"""Closing the year on the demo data: final runs refused until the year can be closed, allowed once it can;
reviews carried across runs; the lock, the unlock with a reason and the archived versions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from service import reviews
from service.cli import main
from service.clock import clock
from service.closing import ClosingError, archived_workbook, archives, lock_run, unlock_year
from service.db import session_scope
from service.decision_error import DecisionError
from service.domain.closing import FINAL
from service.domain.scoring import ScoringPolicy
from service.evaluation import RunRefused, execute_run, results_of_run, start_run
from service.exports.self_evaluation import build_self_evaluation
from service.grades import grade_indicator
from service.models import (
    EvaluationLockEvent,
    EvaluationRun,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    Report,
)
from service.reporting.reports import load_scope, transition

from .closing_helpers import AFTER_THE_YEAR, close_the_year, user
from .workbooks import open_workbook


@pytest.fixture
def seeded_url(demo_url):
    """Every test here starts from the demo year (accounts and Q1–Q3 reports), copied from its template."""
    return demo_url


def _indicator(session, code):
    return session.exec(select(Indicator).where(Indicator.code == code)).one()


def _project(session, code):
    return session.exec(select(Project).where(Project.code == code)).one()


def _row(session, run, code):
    return session.exec(
        select(IndicatorResult)
        .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
        .where(IndicatorResult.run_id == run.id, Indicator.code == code)
    ).one()


def test_a_final_run_mid_year_is_refused_with_every_reason_and_where_to_fix_it(demo_year, client_as):
    with session_scope(demo_year) as session:
        with pytest.raises(RunRefused) as refused:
            start_run(session, 2025, "caiwu", kind=FINAL)
    blockers = refused.value.blockers
    assert {b.kind for b in blockers} == {"year_open", "report", "target_finding", "grade", "outcome"}
    messages = [b.message for b in blockers]
    assert "2025 年度尚未结束（今天是 2025-10-20），正式计算须在 2026-01-01 及以后进行；现在只能试算" in messages
    assert "对外贸易处 2025Q4 报告尚未填报，须提交并经财务处审核通过" in messages
    assert any(b.kind == "target_finding" and b.subject == "2025-001.06" for b in blockers)
    assert any(
        b.kind == "grade" and b.subject == "2025-001.05" and b.division == "电子商务和信息化处" for b in blockers
    )
    assert sum(b.kind == "outcome" for b in blockers) == 62
    finance = client_as("caiwu")
    page = finance.post(
        "/self-evaluation/runs", data={"year": "2025", "kind": "final"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "2025 年度尚不能进行正式计算" in page and "正式计算的前提" in page
    assert 'href="/reports/WMC/2025Q4"' in page and 'href="/projects/2025-001#2025-001.06"' in page
    with session_scope(demo_year) as session:
        assert session.exec(select(EvaluationRun)).all() == []  # nothing was queued


@pytest.mark.slow
def test_a_returned_annual_report_refuses_and_accepted_q4_after_the_year_allows_the_final_run(demo_year):
    with session_scope(demo_year) as session:
        close_the_year(session, skip_outcome=("2025-066",))
        scope = load_scope(session, 2025, "WMC", 4)
        transition(session, scope, user(session, "caiwu"), "return", "第四季度执行数与决算不符")
    with session_scope(demo_year) as session:
        with pytest.raises(RunRefused) as refused:
            start_run(session, 2025, "caiwu", kind=FINAL)
        assert [b.message for b in refused.value.blockers] == [
            "2025-066 尚未填写年度总体目标的实际完成情况（由财务处填写）",
            "对外贸易处 2025Q4 报告已退回，须经财务处审核通过",
        ]
        with pytest.raises(Exception, match="不纳入正式计算必须说明原因"):
            reviews.exclude(session, _project(session, "2025-066"), " ", "caiwu")
        reviews.exclude(session, _project(session, "2025-066"), "运转经费并入部门整体支出评价", "caiwu")
    with session_scope(demo_year) as session:
        with pytest.raises(RunRefused) as refused:
            start_run(session, 2025, "caiwu", kind=FINAL)
        assert [b.message for b in refused.value.blockers] == ["对外贸易处 2025Q4 报告已退回，须经财务处审核通过"]
        trial = execute_run(session, start_run(session, 2025, "caiwu"))  # a trial still runs, without that report
        wmc = results_of_run(session, trial)["2025-028"]
        assert wmc.source["report"]["period"] == "2025Q2"  # its Q3 is still a draft
        assert [f.message for f in wmc.result.findings if f.code == "report_not_counted"] == [
            "对外贸易处 2025Q4 报告已退回，未计入",
            "对外贸易处 2025Q3 报告尚为草稿，未计入",
        ]
    with session_scope(demo_year) as session:
        scope = load_scope(session, 2025, "WMC", 4)
        transition(session, scope, user(session, "wmc"), "submit")
        transition(session, scope, user(session, "caiwu"), "accept")
    assert clock.today() == AFTER_THE_YEAR
    with session_scope(demo_year) as session:
        run = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        assert (run.kind, run.state, run.total) == ("final", "done", 62)
        sheets = results_of_run(session, run)
        assert {(s.source["report"]["period"], s.source["report"]["state"]) for s in sheets.values()} == {
            ("2025Q4", "accepted")
        }
        codes = {f.code for s in sheets.values() for f in s.result.findings}
        assert not codes & {"awaiting_review", "not_due", "report_not_counted", "scored_corrected"}
        assert sheets["2025-066"].excluded.startswith(
            "经财务处决定，本项目不纳入本年度正式自评。原因：运转经费并入部门整体支出评价（caiwu，"
        )
        workbook = open_workbook(build_self_evaluation(session, 2025, run=run))
        assert workbook["2025-066"]["A4"].value == sheets["2025-066"].excluded  # printed on its sheet
        summary = {row[0]: row for row in workbook["汇总"].iter_rows(min_row=3, values_only=True)}
        assert summary["2025-066"][7] == "不纳入" and summary["2025-001"][7] in ("优", "良", "中", "差")
        corrected = sheets["2025-001"]
        assert corrected.targets["2025-001.06"] == "≥90%"
        assert corrected.source["revision"]["count"] == 1  # the target revision the run read
        assert "含 1 次修订" in corrected.source["text"]


@pytest.mark.slow
def test_reviews_are_kept_across_three_runs_and_a_changed_score_asks_to_reconfirm(demo_year):
    with session_scope(demo_year) as session:
        run1 = execute_run(session, start_run(session, 2025, "caiwu"))
        before = _row(session, run1, "2025-001.01").score
        reviews.override(session, _indicator(session, "2025-001.01"), "5", "活动记录不全，按实际核减", "caiwu")
        grade_indicator(
            session, _indicator(session, "2025-001.05"), "部分达成", "70", "成效一般", "caiwu", ScoringPolicy()
        )
        assert _row(session, run1, "2025-001.05").score == Decimal("21.00")  # the grade counts in this run
        close_the_year(session)
    with session_scope(demo_year) as session:
        run2 = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        carried = _row(session, run2, "2025-001.01")
        assert (carried.override_score, carried.override_reason) == (Decimal("5.00"), "活动记录不全，按实际核减")
        assert carried.score != before and carried.override_stale  # Q4 changed the computed score
        findings = session.exec(select(ProjectResult.findings).where(ProjectResult.run_id == run2.id)).all()
        assert any(f["code"] == "override_reconfirm" and f["subject"] == "2025-001.01" for fs in findings for f in fs)
        with pytest.raises(ClosingError, match="待重新确认：2025-001.01"):
            lock_run(session, run2, "caiwu")
        reviews.reconfirm(session, _indicator(session, "2025-001.01"), "caiwu")
        reviews.explain(session, _indicator(session, "2025-001.03"), "原因：设备老化；改进措施：更换", "xxh")
        assert _row(session, run2, "2025-001.03").division_note == "原因：设备老化；改进措施：更换"
    with session_scope(demo_year) as session:
        run3 = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        sheet = results_of_run(session, run3)["2025-001"]
        assert sheet.notes["2025-001.03"] == "原因：设备老化；改进措施：更换"
        assert sheet.overrides["2025-001.01"]["stale"] is False and sheet.result.indicators[0].score == Decimal("5.00")
        graded = next(s for s in sheet.result.indicators if s.code == "2025-001.05")
        assert graded.basis == "评定「部分达成」70% × 分值 30.00 = 21.00（成效一般）"
        assert sheet.outcome == "2025天津市商务局IDC机房租用项目：年度目标已按计划完成"


@pytest.mark.slow
def test_lock_unlock_with_a_reason_version_two_and_version_one_still_downloadable(demo_year, client_as, runner):
    with session_scope(demo_year) as session:
        close_the_year(session)
        first = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        lock_run(session, first, "caiwu")
        assert (first.locked, first.archive_version) == (True, 1)
        with pytest.raises(DecisionError, match="已锁定归档"):
            start_run(session, 2025, "caiwu")
        with pytest.raises(DecisionError, match="已锁定归档"):
            reviews.explain(session, _indicator(session, "2025-001.03"), "x", "xxh")
        version_one = archived_workbook(session, 2025, 1)
    assert "只能查看" in client_as("caiwu").post(
        "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01/override",
        data={"score": "1", "reason": "x"},
        follow_redirects=True,
    ).get_data(as_text=True)
    refused = runner.invoke(main, ["evaluation", "unlock", "--year", "2025", "--as", "xxh", "--reason", "x"])
    assert refused.exit_code != 0 and "没有权限解锁已归档的绩效自评" in refused.output
    with session_scope(demo_year) as session:
        with pytest.raises(ClosingError, match="解锁必须说明原因"):
            unlock_year(session, 2025, "caiwu", "  ")
    page = (
        client_as("admin")
        .post(
            "/self-evaluation/unlock",
            data={"year": "2025", "reason": "决算审计调整了两个项目的执行数"},
            follow_redirects=True,
        )
        .get_data(as_text=True)
    )
    assert "已解锁；归档版本 1 仍可下载，下次锁定的正式计算将成为版本 2" in page
    with session_scope(demo_year) as session:
        event = session.exec(select(EvaluationLockEvent).where(EvaluationLockEvent.action == "unlock")).one()
        assert (event.actor, event.reason, event.version) == ("admin", "决算审计调整了两个项目的执行数", 1)
        second = execute_run(session, start_run(session, 2025, "caiwu", kind=FINAL))
        lock_run(session, second, "caiwu")
        assert second.archive_version == 2
        assert [(a.version, bool(a.unlocked)) for a in archives(session, first.fiscal_year_id)] == [
            (2, False),
            (1, True),
        ]
        assert archived_workbook(session, 2025, 1) == version_one  # as it was filed
    finance = client_as("caiwu")
    download = finance.get("/self-evaluation/archives/2025/1.xlsx")
    assert download.status_code == 200 and download.data == version_one
    assert client_as("xxh").get("/self-evaluation/archives/2025/1.xlsx").status_code == 403
    sheet = open_workbook(version_one)["2025-001"]
    assert sheet["A1"].value == "项目支出绩效自评表" and sheet["A3"].value.startswith("正式计算 · 归档版本 1")
    page = finance.get("/self-evaluation?year=2025").get_data(as_text=True)
    assert "下载归档的自评表" in page and "admin 于" in page and "决算审计调整了两个项目的执行数" in page
    with session_scope(demo_year) as session:
        assert session.exec(select(Report).where(Report.quarter == 4, Report.state != "accepted")).all() == []
