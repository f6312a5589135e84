"""Self-evaluation over the sample year with the demo actuals: CLI, grades, runs, the 自评表 workbook."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.decision_error import DecisionError
from service.demo import DEMO_TODAY, demo_accounts, load_demo_reports
from service.domain.scoring import ScoringPolicy
from service.evaluation import evaluate, execute_run, lock_year, override_score, set_division_note, start_run
from service.exports.self_evaluation import COLUMNS
from service.grades import grade_indicator, read_grade
from service.models import ActualEntry, Indicator, IndicatorResult, Project, ProjectResult, Report, ReviewerGrade


@pytest.fixture
def demo_year(app):
    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        demo_accounts(session)
        load_demo_reports(session)
    return app.extensions["perftrack.engine"]


def test_evaluate_json_per_project(runner, demo_year):
    result = runner.invoke(main, ["evaluate", "--year", "2025", "--project", "2025-001", "--json"])
    assert result.exit_code == 0, result.output
    [project] = json.loads(result.output)
    assert set(project) == {"project", "total", "grade", "budget", "indicators", "findings"}
    assert project["project"] == "2025-001" and set(project["budget"]) >= {"budget", "spent", "rate", "weight", "score"}
    first = project["indicators"][0]
    assert set(first) == {"code", "weight", "actual", "score", "basis"}
    assert first["basis"] == "实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00"
    total = sum(Decimal(str(i["score"])) for i in project["indicators"]) + Decimal(str(project["budget"]["score"]))
    assert Decimal(str(project["total"])) == total
    whole = runner.invoke(main, ["evaluate", "--year", "2025"])
    assert len(whole.output.strip().splitlines()) == 62
    assert runner.invoke(main, ["evaluate", "--year", "2025", "--project", "nope"]).exit_code != 0


def test_a_policy_file_changes_the_rules(runner, demo_year, tmp_path):
    policy = tmp_path / "hubei.json"
    policy.write_text(json.dumps({"decimals": 0, "budget_weight": 20}), encoding="utf-8")
    result = runner.invoke(
        main, ["evaluate", "--year", "2025", "--project", "2025-001", "--policy", str(policy), "--json"]
    )
    [project] = json.loads(result.output)
    assert project["budget"]["weight"] == 20 and all(float(i["score"]).is_integer() for i in project["indicators"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"decimal": 0}', encoding="utf-8")
    assert "未知的设置" in runner.invoke(main, ["evaluate", "--year", "2025", "--policy", str(bad)]).output


def test_grades_import_all_or_nothing_then_scores_follow(runner, demo_year, tmp_path):
    good = tmp_path / "grades.csv"
    good.write_text("指标编号,评价档次,得分比例,说明\n2025-001.05,部分达成,70%,成效一般\n", encoding="gb18030")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "指标编号,评价档次,得分比例,说明\n2025-001.05,部分达成,85,\n2025-999.01,达成,,\n2025-001.06,很好,,\n",
        encoding="utf-8",
    )
    before = runner.invoke(main, ["evaluate", "--year", "2025", "--project", "2025-001", "--json"]).output
    rejected = runner.invoke(main, ["grades", "import", str(bad)])
    assert rejected.exit_code == 2
    assert "第 2 行 · 得分比例：85 不在「部分达成」档 60–80% 内" in rejected.output
    assert (
        "第 3 行 · 指标编号：指标编号「2025-999.01」不存在" in rejected.output
        and "第 4 行 · 评价档次" in rejected.output
    )
    with session_scope(demo_year) as session:
        assert session.exec(select(func.count()).select_from(ReviewerGrade)).one() == 0
    assert runner.invoke(main, ["grades", "import", str(good)]).output.strip() == "已导入评定 1 条"
    after = json.loads(runner.invoke(main, ["evaluate", "--year", "2025", "--project", "2025-001", "--json"]).output)[0]
    graded = next(i for i in after["indicators"] if i["code"] == "2025-001.05")
    assert graded["score"] == 21.0 and graded["basis"] == "评定「部分达成」70% × 分值 30.00 = 21.00（成效一般）"
    assert after != json.loads(before)[0]
    workbook = Workbook()
    workbook.active.append(["指标编号", "评价档次", "得分比例", "说明"])
    workbook.active.append(["2025-001.05", "达成", 90, ""])
    path = tmp_path / "grades.xlsx"
    workbook.save(path)
    assert runner.invoke(main, ["grades", "import", str(path)]).exit_code == 0


def test_a_run_is_a_stored_snapshot_and_a_locked_year_takes_no_new_run(demo_year):
    with session_scope(demo_year) as session:
        run = execute_run(session, start_run(session, 2025, "caiwu"))
        assert (run.state, run.progress, run.total) == ("done", 62, 62)
        assert run.policy["level_weights"] == {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
        assert len(run.inputs["reports"]) == 20  # every submitted report, with its version
        assert run.inputs["grades"] == {} and "last_target_revision" in run.inputs
        stored = session.exec(select(ProjectResult).where(ProjectResult.run_id == run.id)).all()
        assert len(stored) == 62
        assert session.exec(select(func.count()).select_from(IndicatorResult)).one() == 482
        computed = {r.project: r.total for r in evaluate(session, 2025)}
        codes = dict(session.exec(select(Project.id, Project.code)).all())
        assert all(computed[codes[r.project_id]] == r.total for r in stored)
        lock_year(session, run)
    with session_scope(demo_year) as session:
        with pytest.raises(ValueError, match="自评已锁定"):
            start_run(session, 2025, "caiwu")


def test_self_evaluation_workbook_matches_the_engine_cell_by_cell(runner, demo_year, tmp_path):
    out = tmp_path / "zipingbiao.xlsx"
    result = runner.invoke(main, ["export", "self-evaluation", "--year", "2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames[:2] == ["汇总", "待核查"] and len(workbook.sheetnames) == 64
    with session_scope(demo_year) as session:
        results = {r.project: r for r in evaluate(session, 2025)}
        targets = {i.code: i for i in session.exec(select(Indicator)).all()}
        explanations = {}  # the latest submitted cause and measure of each indicator, as the division wrote them
        for code, cause, measure in session.exec(
            select(Indicator.code, ActualEntry.cause_text, ActualEntry.measure_text)
            .join(ActualEntry, ActualEntry.indicator_id == Indicator.id)
            .join(Report, Report.id == ActualEntry.report_id)
            .where(ActualEntry.is_current.is_(True), Report.first_submitted_at.is_not(None))
            .order_by(Report.quarter)
        ).all():
            explanations[code] = f"原因：{cause}；改进措施：{measure}" if cause or measure else None
    for code in ("2025-001", "2025-010", "2025-047", "2025-066"):
        sheet, expected = workbook[code], results[code]
        assert sheet["A1"].value == "项目支出绩效自评表"
        assert [c.value for c in sheet[9]] == COLUMNS
        assert sheet["C6"].value == float(expected.budget.budget) and sheet["H6"].value == float(expected.budget.score)
        merged = {(r.min_row, r.min_col): r for r in sheet.merged_cells.ranges}
        for offset, score in enumerate(expected.indicators):
            row = [c.value for c in sheet[10 + offset]]
            indicator = targets[score.code]
            for col, level in ((1, indicator.level1), (2, indicator.level2)):  # merged down its run of indicators
                top = (
                    next(r for (first, c), r in merged.items() if c == col and first <= 10 + offset <= r.max_row)
                    if row[col - 1] is None
                    else None
                )
                assert (sheet.cell(top.min_row, col).value if top else row[col - 1]) == level
            assert row[2:4] == [indicator.name, indicator.raw_value]
            assert row[4] == (score.actual or None) and row[5] == float(score.weight) and row[6] == float(score.score)
            assert row[7] == (explanations.get(score.code) if score.score < score.weight else None)
        total_row = [c.value for c in sheet[10 + len(expected.indicators)]]
        assert (
            total_row[0] == "总分"
            and total_row[6] == float(expected.total)
            and total_row[7] == f"等级：{expected.grade}"
        )
    summary = list(workbook["汇总"].iter_rows(min_row=3, values_only=True))
    assert len(summary) == 62 and {r[7] for r in summary} <= {"优", "良", "中", "差"}
    one = tmp_path / "kac.xlsx"
    assert (
        runner.invoke(
            main, ["export", "self-evaluation", "--year", "2025", "--division", "KAC", "--out", str(one)]
        ).exit_code
        == 0
    )
    assert len(load_workbook(one).sheetnames) == 2 + 7


def test_the_regional_policy_is_a_setting(tmp_path, runner, demo_year):
    from service.settings import SettingsError, load_settings

    path = tmp_path / "policy.json"
    path.write_text('{"lower_better": "linear", "cap_by_execution": true}', encoding="utf-8")
    settings = load_settings(
        {"PERFTRACK_SCORING_POLICY": str(path), "PERFTRACK_INSTANCE": str(tmp_path), "SECRET_KEY": "x"}
    )
    assert settings.scoring_policy == {"lower_better": "linear", "cap_by_execution": True}
    path.write_text('{"lower_better": "hubei"}', encoding="utf-8")
    with pytest.raises(SettingsError, match="PERFTRACK_SCORING_POLICY 无效"):
        load_settings({"PERFTRACK_SCORING_POLICY": str(path), "PERFTRACK_INSTANCE": str(tmp_path), "SECRET_KEY": "x"})


def test_a_grade_is_checked_like_a_file_row_and_replaces_the_previous_one(app):
    policy = ScoringPolicy()
    assert read_grade("部分达成", "70％", policy) == ("部分达成", Decimal(70))
    assert read_grade(" 达成 ", "", policy) == ("达成", None)
    for band, percent, message in (
        ("", "", "评价档次：未填写，应为 达成 / 部分达成 / 未达成"),
        ("很好", "", "评价档次：「很好」应为 达成 / 部分达成 / 未达成"),
        ("达成", "abc", "得分比例：「abc」不是数字"),
        ("达成", "NaN", "得分比例：「NaN」不是数字"),
        ("部分达成", "85%", "得分比例：85% 不在「部分达成」档 60–80% 内"),
    ):
        with pytest.raises(DecisionError) as refused:
            read_grade(band, percent, policy)
        assert str(refused.value) == message
    with session_scope(app.extensions["perftrack.engine"]) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.05")).one()
        grade_indicator(session, indicator.id, "达成", "95", " 成效显著 ", "caiwu")
        assert session.exec(select(ReviewerGrade.note)).one() == "成效显著"
        grade_indicator(session, indicator.id, "部分达成", "", "", "admin")
        grades = session.exec(select(ReviewerGrade)).all()
        assert [(g.band, g.percent, g.note, g.actor) for g in grades] == [("部分达成", None, "", "admin")]


def test_overrides_and_notes_are_checked_and_refused_once_the_year_is_locked(demo_year):
    with session_scope(demo_year) as session:
        run = execute_run(session, start_run(session, 2025, "caiwu"))
        row = session.exec(
            select(IndicatorResult)
            .join(Indicator, Indicator.id == IndicatorResult.indicator_id)
            .where(Indicator.code == "2025-001.01")
        ).one()
        for score, reason, message in (
            ("12", " ", "调整得分必须说明原因"),
            ("十二", "补报", "得分：「十二」不是数字"),
            ("Infinity", "补报", "得分：「Infinity」不是数字"),
            ("12.51", "补报", "应在 0 到分值 12.50 之间"),
            ("-1", "补报", "应在 0 到分值 12.50 之间"),
        ):
            with pytest.raises(DecisionError, match=message):
                override_score(session, run, row, score, reason, "caiwu")
        assert row.override_score is None
        override_score(session, run, row, " 12 ", " 第四季度补报 ", "caiwu")
        assert (row.score, row.override_score, row.override_reason, row.override_by) == (
            10,
            12,
            "第四季度补报",
            "caiwu",
        )
        with pytest.raises(DecisionError, match="偏差原因分析及改进措施：不能超过 2000 个字"):
            set_division_note(session, run, row, "原因：招标延期" + "。" * 3000)
        set_division_note(session, run, row, "  原因：招标延期；改进措施：四季度集中实施 ")
        assert row.division_note == "原因：招标延期；改进措施：四季度集中实施"
        lock_year(session, run)
        with pytest.raises(DecisionError, match="只能查看"):
            override_score(session, run, row, "11", "再调", "caiwu")
        with pytest.raises(DecisionError, match="只能查看"):
            set_division_note(session, run, row, "再写")


def test_the_project_sheet_pairs_each_score_with_its_own_indicator(demo_year):
    """An indicator added after a run (a later import) is not in the run; the others keep their rows."""
    from service.evaluation_read import project_sheet

    with session_scope(demo_year) as session:
        run = execute_run(session, start_run(session, 2025, "caiwu"))
        project = session.exec(select(Project).where(Project.code == "2025-001")).one()
        session.add(
            Indicator(
                project_id=project.id,
                code="2025-001.99",
                row_order=0,
                level1="产出指标",
                level2="数量指标",
                name="新增指标",
                kind="numeric",
                direction="higher_better",
            )
        )
        session.flush()
        sheet = project_sheet(session, run, project)
        assert len(sheet.rows) == len(sheet.result.indicators) >= 2
        assert all(score.code == indicator.code for score, _line, indicator in sheet.rows)
        assert "2025-001.99" not in {indicator.code for _score, _line, indicator in sheet.rows}
