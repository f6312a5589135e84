"""Self-evaluation over the sample year with the demo actuals: CLI, grades, runs, the 自评表 workbook."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import event, inspect
from sqlmodel import func, select

from service import reviews
from service.cli import main
from service.closing import ClosingError, lock_run
from service.db import session_scope
from service.decision_error import DecisionError
from service.domain.scoring import ScoringPolicy
from service.evaluation import evaluate, execute_run, run_of_part, start_run
from service.exports.self_evaluation import form_texts_of_sheet
from service.grades import grade_indicator, read_grade
from service.models import (
    Division,
    DivisionExplanation,
    Indicator,
    IndicatorResult,
    Project,
    ProjectResult,
    Report,
    ReviewerGrade,
    ScoreOverride,
)

from .workbooks import open_workbook


@pytest.fixture
def seeded_url(demo_url):
    """Every test here starts from the demo year (accounts and Q1–Q3 reports), copied from its template."""
    return demo_url


def test_evaluate_json_per_project(runner, demo_year):
    result = runner.invoke(main, ["evaluate", "--year", "2025", "--project", "2025-001", "--json"])
    assert result.exit_code == 0, result.output
    [project] = json.loads(result.output)
    assert set(project) == {
        "project",
        "total",
        "grade",
        "budget",
        "indicators",
        "findings",
        "source",
        "outcome",
        "excluded",
        "kind",
        "as_of",
    }
    assert (project["kind"], project["as_of"]) == ("试算", "2025-10-20")  # read-only, and a trial mid-year
    assert project["source"]["report"] == {
        "division": "电子商务和信息化处",
        "period": "2025Q3",
        "version": 2,
        "state": "submitted",
        "state_label": "已提交待审核",
        "report_id": project["source"]["report"]["report_id"],
    }
    assert project["project"] == "2025-001" and set(project["budget"]) >= {"budget", "spent", "rate", "weight", "score"}
    first = project["indicators"][0]
    assert set(first) == {"code", "weight", "actual", "score", "basis"}
    assert first["basis"] == "实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00" and first["actual"] == "4项（截至 Q3）"
    total = sum(Decimal(str(i["score"])) for i in project["indicators"]) + Decimal(str(project["budget"]["score"]))
    assert Decimal(str(project["total"])) == total
    assert {f["label"] for f in project["findings"]} == {
        "待评定",
        "按更正理解计分",
    }  # every finding has its Chinese name
    whole = runner.invoke(main, ["evaluate", "--year", "2025"])
    assert len(whole.output.strip().splitlines()) == 1 + 62 and whole.output.startswith(
        "试算（截至 2025-10-20，不保存）"
    )
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
        "指标编号,评价档次,得分比例,说明\n2025-001.05,部分达成,85,\n2025-999.01,达成,,\n"
        "2025-003.06,很好,,\n2025-001.01,达成,,\n",
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
    assert "第 5 行 · 指标编号：指标 2025-001.01 是定量指标，按实际值计分，不需评定档次" in rejected.output
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


def test_a_trial_run_is_a_stored_snapshot_and_only_a_final_run_can_be_locked(demo_year):
    with session_scope(demo_year) as session:
        run = execute_run(session, start_run(session, 2025, "caiwu"))
        assert (run.kind, run.as_of.isoformat(), run.state, run.progress, run.total) == (
            "trial",
            "2025-10-20",
            "done",
            62,
            62,
        )
        assert run.policy["level_weights"] == {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
        # the report each division's projects read, with its version and state; and those left out
        assert {(r["division"], r["period"], r["state"]) for r in run.inputs["reports"].values()} >= {
            ("电子商务和信息化处", "2025Q3", "submitted"),
            ("对外贸易处", "2025Q2", "accepted"),
            ("市场运行和消费促进处", "2025Q2", "accepted"),
        }
        assert {(r["division"], r["period"], r["state"]) for r in run.inputs["not_counted"]} == {
            ("对外贸易处", "2025Q3", "draft"),
            ("市场运行和消费促进处", "2025Q3", "returned"),
        }
        assert run.inputs["grades"] == {} and "last_target_revision" in run.inputs
        stored = session.exec(select(ProjectResult).where(ProjectResult.run_id == run.id)).all()
        assert len(stored) == 62
        assert session.exec(select(func.count()).select_from(IndicatorResult)).one() == 482
        computed = {s.result.project: s.result.total for s in evaluate(session, 2025)}
        codes = dict(session.exec(select(Project.id, Project.code)).all())
        assert all(computed[codes[r.project_id]] == r.total for r in stored)
        wmc = next(r for r in stored if codes[r.project_id] == "2025-028")
        assert wmc.source["report"]["period"] == "2025Q2"
        assert {
            "code": "report_not_counted",
            "subject": "2025-028",
            "message": "对外贸易处 2025Q3 报告尚为草稿，未计入",
        } in wmc.findings
        with pytest.raises(ClosingError, match="试算结果不能锁定归档"):
            lock_run(session, run, "caiwu")


def test_a_run_selects_its_projects_by_id_range_whatever_their_number(demo_year):
    """A batch or part of a run is a range of project ids: no statement carries a parameter per project (at a
    province's size a list of 2,000 ids cost more to compile and send than the rows it selected), and the range
    bounds every project_id read, so that its index is used rather than the whole table read per batch."""
    widest: list[int] = []
    statements: list[str] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        widest.append(max((len(row) for row in (parameters if executemany else [parameters])), default=0))
        statements.append(" ".join(statement.split()))

    event.listen(demo_year, "before_cursor_execute", record)
    try:
        with session_scope(demo_year) as session:
            run = execute_run(session, start_run(session, 2025, "caiwu"))
    finally:
        event.remove(demo_year, "before_cursor_execute", record)
    with session_scope(demo_year) as session:
        reports = session.exec(select(func.count()).select_from(Report)).one()
    assert run.total == 62 and len(widest) > 10 and reports < 30
    # a result row's columns, or the year's reports that may feed it, at most; never the run's 62 projects
    assert max(widest) <= max(20, reports + 3), max(widest)
    by_project = [s for s in statements if s.startswith("SELECT") and ".project_id IN (SELECT project.id" in s]
    assert len(by_project) >= 5 and all(".project_id BETWEEN" in s for s in by_project), by_project


def test_a_part_of_a_run_reads_the_run_without_its_record_of_inputs(demo_year):
    with session_scope(demo_year) as session:
        run_id = execute_run(session, start_run(session, 2025, "caiwu")).id
    with session_scope(demo_year) as session:
        run = run_of_part(session, run_id)
        assert run is not None and run.total == 62 and "inputs" in inspect(run).unloaded


def test_a_run_scores_its_batches_without_the_cycle_collector_and_resumes_it(demo_year, monkeypatch):
    """A batch's sheets are freed by reference counting; full collections walking them cost a large year's
    run a share of its time, as they did the sweep's."""
    import gc

    from service import evaluation

    collecting = []
    store = evaluation.insert_many
    monkeypatch.setattr(evaluation, "insert_many", lambda *a, **k: (collecting.append(gc.isenabled()), store(*a, **k)))
    assert gc.isenabled()
    with session_scope(demo_year) as session:
        assert execute_run(session, start_run(session, 2025, "caiwu")).total == 62
    assert collecting and not any(collecting)
    assert gc.isenabled()


def test_self_evaluation_workbook_matches_the_engine_cell_by_cell(runner, demo_year, tmp_path):
    out = tmp_path / "zipingbiao.xlsx"
    result = runner.invoke(main, ["export", "self-evaluation", "--year", "2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    workbook = open_workbook(out)
    assert workbook.sheetnames[:2] == ["汇总", "待核查"] and len(workbook.sheetnames) == 64
    assert workbook["汇总"]["A1"].value == "2025 年度项目支出绩效自评汇总（试算：截至 2025-10-20，不是正式自评结果）"
    with session_scope(demo_year) as session:
        sheets = {s.result.project: s for s in evaluate(session, 2025)}
        targets = {i.code: i for i in session.exec(select(Indicator)).all()}
        projects = {p.code: p for p in session.exec(select(Project)).all()}
        divisions = dict(session.exec(select(Division.id, Division.name)).all())
    for code in ("2025-001", "2025-010", "2025-047", "2025-066"):
        sheet, expected, project = workbook[code], sheets[code].result, projects[code]
        cells = {c.coordinate: c.value for row in sheet.iter_rows() for c in row if c.value is not None}
        assert (cells["A1"], cells["A2"]) == ("项目支出绩效自评表（试算）", "（2025 年度）")
        assert cells["A3"] == "试算：按截至 2025-10-20 的数据计算，不是正式自评结果"
        # header block
        assert [cells["A4"], cells["C4"]] == ["项目名称", project.name]
        assert [cells["A5"], cells["C5"], cells["E5"], cells["F5"]] == [
            "主管部门",
            "天津市商务局",
            "实施单位",
            "天津市商务局",
        ]
        assert [cells["A6"], cells["C6"], cells["E6"], cells["F6"]] == [
            "项目负责处室",
            divisions[project.division_id],
            "项目编号",
            code,
        ]
        # funds block: the engine's budget score, rows 年度资金总额 / 其中：当年财政拨款 / 上年结转资金 / 其他资金
        assert [cells[f"{c}7"] for c in "ADEFGHI"] == [
            "项目资金（万元）",
            "年初预算数",
            "全年预算数",
            "全年执行数",
            "分值",
            "执行率",
            "得分",
        ]
        budget = expected.budget
        assert [cells.get(f"{c}8") for c in "BDEFGHI"] == [
            "年度资金总额",
            float(project.budget),
            float(budget.budget),
            float(budget.spent),
            float(budget.weight),
            f"{budget.rate:.2f}%",
            float(budget.score),
        ]
        assert [cells[f"B{r}"] for r in (9, 10, 11)] == ["其中：当年财政拨款", "上年结转资金", "其他资金"]
        assert sheet.merged_cells.ranges and "A7:A11" in {str(r) for r in sheet.merged_cells.ranges}
        # indicator block: merged 一级 cells with the level's points, then every line as the engine scored it
        assert [cells[f"{c}14"] for c in "ABCDEFGHI"] == [
            "绩效指标",
            "一级指标",
            "二级指标",
            "三级指标",
            "年度指标值",
            "实际完成值",
            "分值",
            "得分",
            "偏差原因分析及改进措施",
        ]
        level = None
        first = {}  # rows are grouped under their 一级 and 二级 (first appearance first), so each merges once
        for score in expected.indicators:
            first.setdefault(targets[score.code].level1, len(first))
            first.setdefault((targets[score.code].level1, targets[score.code].level2), len(first))
        ordered = sorted(
            expected.indicators,
            key=lambda s: (first[targets[s.code].level1], first[(targets[s.code].level1, targets[s.code].level2)]),
        )
        for offset, score in enumerate(ordered):
            row, indicator = 15 + offset, targets[score.code]
            if indicator.level1 != level:
                level = indicator.level1
                points = sum(s.weight for s in expected.indicators if targets[s.code].level1 == level)
                assert cells[f"B{row}"] == f"{level}（{points.normalize():f}分）"
            assert [cells.get(f"{c}{row}") for c in "DEFGH"] == [
                indicator.name,
                indicator.raw_value,
                score.actual or None,
                float(score.weight),
                float(score.score),
            ]
            assert cells.get(f"I{row}") == (sheets[code].notes.get(score.code) or None)
        total_row = 15 + len(expected.indicators)
        assert [cells[f"A{total_row}"], cells[f"H{total_row}"]] == ["总分", float(expected.total)]
        assert [cells[f"A{total_row + 1}"], cells[f"G{total_row + 1}"]] == ["评价等级", expected.grade]
        texts = form_texts_of_sheet(sheet)
        assert "说明：" in texts and "填表人：" in texts and "财务负责人：" in texts
        assert texts[-1] == sheets[code].source["text"]
    summary = list(workbook["汇总"].iter_rows(min_row=3, values_only=True))
    assert len(summary) == 62 and {r[7] for r in summary} <= {"优", "良", "中", "差"}
    checks = [[c for c in row] for row in workbook["待核查"].iter_rows(min_row=2, values_only=True)]
    labels = {row[2] for row in checks}
    assert not any(label.isascii() for label in labels)  # never an internal code such as awaiting_review
    assert [
        "2025-001",
        "2025-001.06",
        "指标值待核查（警告）",
        "满意度指标使用了上限「≤」，通常应为「≥」，请确认是否写反",
    ] in checks  # the open target findings too
    one = tmp_path / "kac.xlsx"
    assert (
        runner.invoke(
            main, ["export", "self-evaluation", "--year", "2025", "--division", "KAC", "--out", str(one)]
        ).exit_code
        == 0
    )
    assert len(open_workbook(one).sheetnames) == 2 + 7


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
        grade_indicator(session, indicator, "达成", "95", " 成效显著 ", "caiwu")
        assert session.exec(select(ReviewerGrade.note)).one() == "成效显著"
        grade_indicator(session, indicator, "部分达成", "", "", "admin")
        grades = session.exec(select(ReviewerGrade)).all()
        assert [(g.band, g.percent, g.note, g.actor) for g in grades] == [("部分达成", None, "", "admin")]
        numeric = session.exec(select(Indicator).where(Indicator.code == "2025-001.01")).one()
        with pytest.raises(DecisionError, match="是定量指标，按实际值计分，不需评定档次"):
            grade_indicator(session, numeric, "达成", "", "", "caiwu")


def test_overrides_and_notes_are_checked_and_kept_per_indicator(demo_year):
    with session_scope(demo_year) as session:
        execute_run(session, start_run(session, 2025, "caiwu"))
        indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.01")).one()
        row = session.exec(select(IndicatorResult).where(IndicatorResult.indicator_id == indicator.id)).one()
        for score, reason, message in (
            ("12", " ", "调整得分必须说明原因"),
            ("十二", "补报", "得分：「十二」不是数字"),
            ("Infinity", "补报", "得分：「Infinity」不是数字"),
            ("12.51", "补报", "应在 0 到分值 12.50 之间"),
            ("-1", "补报", "应在 0 到分值 12.50 之间"),
        ):
            with pytest.raises(DecisionError, match=message):
                reviews.override(session, indicator, score, reason, "caiwu")
        assert row.override_score is None and session.exec(select(ScoreOverride)).all() == []
        reviews.override(session, indicator, " 12 ", " 第四季度补报 ", "caiwu")
        assert (row.score, row.override_score, row.override_reason, row.override_by) == (
            10,
            12,
            "第四季度补报",
            "caiwu",
        )
        with pytest.raises(DecisionError, match="偏差原因分析及改进措施：不能超过 2000 个字"):
            reviews.explain(session, indicator, "原因：招标延期" + "。" * 3000, "xxh")
        reviews.explain(session, indicator, "  原因：招标延期\x0b改进措施：四季度集中推进  ", "xxh")
        assert row.division_note == "原因：招标延期\n改进措施：四季度集中推进"
        assert session.exec(select(DivisionExplanation.text)).one() == row.division_note
        reviews.withdraw_override(session, indicator, "caiwu")
        assert row.override_score is None and session.exec(select(ScoreOverride)).all() == []


def test_the_project_page_pairs_each_score_with_its_own_indicator(demo_year):
    """An indicator added after a run (a later import) is not in the run; the others keep their lines."""
    from service.evaluation_read import project_page

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
        page = project_page(session, run, project)
        names = [cell.text for row in page.form.rows for cell in row]
        assert "新增指标" not in names and "全年任务量" in names
        assert [s.code for s in page.sheet.result.indicators] == [f"2025-001.0{n}" for n in range(1, 7)]
