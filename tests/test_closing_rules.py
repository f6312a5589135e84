"""The pure rules of closing the year: which report feeds a run, what stops a final run, the new scoring
findings, and the 自评表 as one model of cells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from service.domain.closing import (
    FINAL,
    TRIAL,
    DivisionClosing,
    ProjectClosing,
    ReportRef,
    choose_source,
    final_run_blockers,
    grouped,
    not_counted,
    provenance,
    refusal_text,
    through,
)
from service.domain.evaluation_form import FormIndicator, FormProject, build_form, notes_for, place, unit_names
from service.domain.scoring import (
    IndicatorInput,
    ProjectInput,
    Review,
    ScoringPolicy,
    graded_score,
    needs_review,
    score_project,
)
from service.domain.targets import Target

D = Decimal


def ref(quarter, state, version=3, division="对外贸易处"):
    return ReportRef(division, 2025, quarter, state, version, quarter)


def test_a_final_run_reads_only_accepted_reports_a_trial_also_submitted_ones():
    reports = [ref(1, "accepted"), ref(2, "accepted"), ref(3, "submitted")]
    assert choose_source(reports, TRIAL) == (reports[2], [])
    assert choose_source(reports, FINAL) == (reports[1], [reports[2]])
    assert (
        not_counted(reports[2], FINAL)
        == "对外贸易处 2025Q3 报告已提交、尚未审核，未计入（正式计算只采用财务处审核通过的报告）"
    )


def test_draft_and_returned_reports_never_feed_a_score_and_say_so():
    returned = [ref(1, "accepted"), ref(2, "accepted"), ref(3, "returned")]
    source, skipped = choose_source(returned, TRIAL)
    assert source.quarter == 2 and [r.quarter for r in skipped] == [3]
    assert not_counted(skipped[0], TRIAL) == "对外贸易处 2025Q3 报告已退回，未计入"
    assert choose_source([ref(1, "draft")], TRIAL) == (None, [ref(1, "draft")])
    assert not_counted(ref(3, "draft"), TRIAL) == "对外贸易处 2025Q3 报告尚为草稿，未计入"
    assert through(source) == "Q2" and through(ref(4, "accepted")) == ""


def test_provenance_names_the_report_version_state_and_target_revision():
    assert (
        provenance(ref(4, "accepted", 12), None)
        == "数据来源：对外贸易处 2025Q4 报告第 12 版（已审核通过）；指标值：导入原值（未修订）"
    )
    assert (
        provenance(None, {"count": 2, "id": 41, "date": "2025-11-02"})
        == "数据来源：无可计入的报告；指标值：含 2 次修订，最近一次为修订 #41（2025-11-02）"
    )


def closing(state="accepted", **project):
    annual = None if state is None else ref(4, state, division="对外贸易处")
    return DivisionClosing("WMC", "对外贸易处", annual, [ProjectClosing("2025-028", "评审经费", **project)])


def test_a_final_run_mid_year_is_refused_for_each_reason_by_division_and_project():
    blockers = final_run_blockers(
        2025,
        date(2025, 10, 20),
        [
            closing(
                None,
                open_findings=[(7, "2025-028.10", "warning", "比率上限「≤100%」恒成立")],
                ungraded=[("2025-028.12", "合规性")],
                has_outcome=False,
            )
        ],
    )
    assert [b.kind for b in blockers] == ["year_open", "report", "target_finding", "grade", "outcome"]
    assert blockers[0].message.startswith("2025 年度尚未结束（今天是 2025-10-20）")
    assert blockers[1].message == "对外贸易处 2025Q4 报告尚未填报，须提交并经财务处审核通过"
    assert (blockers[2].division, blockers[2].project, blockers[2].finding_id) == ("对外贸易处", "2025-028", 7)
    assert blockers[3].message == "2025-028.12「合规性」尚待财务处评定档次"
    text = refusal_text(2025, blockers, lambda b: f"/fix/{b.kind}")
    assert text.splitlines()[:3] == [
        "2025 年度不能进行正式计算，尚有 5 项未完成：",
        "年度",
        "  - [年度未结束] " + blockers[0].message + "  → /fix/year_open",
    ]
    assert "对外贸易处" in text and "  2025-028 评审经费" in text
    assert [d for d, _ in grouped(blockers)] == ["年度", "对外贸易处"]


def test_a_returned_annual_report_blocks_and_an_accepted_one_with_everything_done_does_not():
    returned = final_run_blockers(2025, date(2026, 1, 10), [closing("returned", has_outcome=True)])
    assert [b.message for b in returned] == ["对外贸易处 2025Q4 报告已退回，须经财务处审核通过"]
    assert final_run_blockers(2025, date(2026, 1, 10), [closing("accepted", has_outcome=True)]) == []
    excluded = closing(None, excluded=True)  # finance left the division's only project out: nothing to wait for
    assert final_run_blockers(2025, date(2026, 1, 10), [excluded]) == []


def ind(
    code="P.01",
    level1="产出指标",
    comparator=">=",
    target="90",
    unit="%",
    actual="81",
    kind="numeric",
    name="满意度",
    due=None,
    raw=None,
    **extra,
):
    symbol = {">=": "≥", "<=": "≤"}.get(comparator, comparator or "")
    return IndicatorInput(
        code,
        level1,
        raw or f"{symbol}{target}{unit}",
        Target(kind, comparator, None if target is None else D(target), unit, due=due, name=name),
        actual=None if actual is None else D(actual),
        **extra,
    )


def test_a_flagged_inverted_target_is_scored_under_the_corrected_reading_with_a_finding():
    flagged = ind(comparator="<=", level1="满意度指标", weight=D(10), flags=("inverted_comparator",))
    result = score_project(ProjectInput("P", [flagged], D(10), spent=D(10)))
    [score] = result.indicators
    assert score.score == D("9.00")  # 81 ÷ 90 × 10, not full marks for 81% under "≤90%"
    assert score.basis == "指标值「≤90%」按「≥90%」理解：实际 81% ÷ 指标 ≥90% × 分值 10.00 = 9.00"
    assert [f.code for f in result.findings if f.subject == "P.01"] == ["scored_corrected"]
    as_written = score_project(ProjectInput("P", [ind(comparator="<=", level1="满意度指标", weight=D(10))], D(10)))
    assert as_written.indicators[0].score == D("10.00")  # accepted as written: scored as written


def test_a_missing_first_level_keeps_its_points_and_is_flagged_unless_the_policy_redistributes():
    items = [ind(code="A", actual="90"), ind(code="B", level1="满意度指标", actual="90")]
    kept = score_project(ProjectInput("P", items, D(10), spent=D(10)))
    assert kept.total == D("70.00") and kept.level_weights["效益指标"] == 30
    [missing] = [f for f in kept.findings if f.code == "missing_level"]
    assert missing.message == "项目没有效益指标，该级 30 分无从得分（请核实指标表是否缺项）"
    spread = score_project(ProjectInput("P", items, D(10), spent=D(10)), ScoringPolicy(missing_level="redistribute"))
    assert spread.total == D("100.00") and [i.weight for i in spread.indicators] == [D("75.00"), D("15.00")]
    assert "已按比例分配给其他一级指标" in spread.findings[0].message


def test_in_a_trial_a_deadline_not_yet_due_is_not_failed_but_scored_by_the_reported_likelihood():
    due = dict(
        kind="deadline",
        comparator=None,
        target=None,
        unit="",
        actual=None,
        due=date(2025, 12, 31),
        weight=D(10),
        raw="2025年底前",
        name="完成拨付",
    )
    trial = ProjectInput("P", [ind(**due, done=False, likelihood="有可能")], D(1), as_of=date(2025, 10, 20))
    [score] = score_project(trial).indicators
    assert score.actual == "未到期（截止 2025-12-31）" and score.score == D("6.00")
    assert score.basis.startswith("未到期，按完成可能性「有可能」暂计：评定「部分达成」60%")
    year_end = score_project(ProjectInput("P", [ind(**due, done=False, likelihood="有可能")], D(1)))
    assert year_end.indicators[0].actual == "年末未完成" and year_end.indicators[0].score == D("0.00")
    assert [f.code for f in year_end.findings if f.subject == "P.01"] == ["awaiting_review"]


def test_which_indicators_need_a_person_and_a_grade_as_a_score():
    deadline = dict(kind="deadline", comparator=None, target=None, unit="", actual=None, due=date(2025, 6, 30))
    assert needs_review(ind(kind="qualitative", comparator=None, target=None, unit="", actual=None))
    assert needs_review(ind(**deadline, done=True, done_on=date(2025, 7, 2)))
    assert needs_review(ind(**deadline, done=False))
    assert not needs_review(ind(**deadline, done=True, done_on=date(2025, 6, 2)))
    assert not needs_review(ind())
    assert graded_score("X", D("12.5"), Review("部分达成", D(70), "成效一般"), ScoringPolicy(), []) == (
        D("8.75"),
        "评定「部分达成」70% × 分值 12.50 = 8.75（成效一般）",
    )


def test_cumulative_values_before_the_annual_report_are_labelled_as_of_their_quarter():
    result = score_project(ProjectInput("P", [ind(target="5", unit="项", actual="4")], D(1), through="Q3"))
    assert result.indicators[0].actual == "4项（截至 Q3）"


def test_unit_names_come_from_the_organisation_or_a_setting_never_a_constant():
    """A name a person set wins; a setting comes before a name read from a header line; the 主管部门 is the
    unit itself unless named (docs/domain.md §10.1)."""
    assert unit_names("天津市商务局") == ("天津市商务局", "天津市商务局")
    assert unit_names("天津市商务局", "天津市人民政府") == ("天津市人民政府", "天津市商务局")
    assert unit_names("", unit_setting="湖北省商务厅本级", department_setting="湖北省商务厅") == (
        "湖北省商务厅",
        "湖北省商务厅本级",
    )
    read_from_table = {"unit_confirmed": False, "unit_setting": "北京市商务局本级"}
    assert unit_names("北京市商务局", **read_from_table) == ("北京市商务局本级", "北京市商务局本级")
    assert unit_names("天津市商务局", unit_setting="北京市商务局本级") == ("天津市商务局", "天津市商务局")
    assert unit_names("天津市商务局", department_setting="天津市人民政府") == ("天津市人民政府", "天津市商务局")
    assert unit_names("") == ("", "")


def _form(kind=FINAL, **extra):
    items = [
        ind(code="P.01", name="数量", target="5", unit="项", actual="4", weight=D(25)),
        ind(code="P.02", name="质量", target="100", actual="100", weight=D(25)),
        ind(
            code="P.03",
            level1="效益指标",
            kind="qualitative",
            comparator=None,
            target=None,
            unit="",
            actual=None,
            progress="进展顺利",
            review=Review("达成"),
            weight=D(30),
        ),
        ind(code="P.04", level1="满意度指标", actual="95", weight=D(10)),
    ]
    result = score_project(ProjectInput("P", items, D(100), D(120), D(108)))
    levels = {
        "P.01": ("产出指标", "数量指标"),
        "P.02": ("产出指标", "质量指标"),
        "P.03": ("效益指标", "社会效益指标"),
        "P.04": ("满意度指标", "服务对象满意度指标"),
    }
    lines = [
        FormIndicator(
            s.code,
            *levels[s.code],
            s.code,
            "t",
            s.actual,
            s.weight,
            s.score,
            "原因：招标延期" if s.score < s.weight else "",
        )
        for s in result.indicators
    ]
    project = FormProject(
        "P",
        "某项目",
        "天津市商务局",
        "天津市商务局",
        "对外贸易处",
        D(100),
        D(100),
        None,
        ["目标一", "目标二"],
        "已完成",
    )
    return build_form(2025, project, result, lines, ScoringPolicy(), kind=kind, **extra), result


def test_the_form_follows_the_central_layout_with_merged_levels_and_their_points():
    form, result = _form(archive_version=2, sources=["数据来源：…"])
    texts = [[c.text for c in row] for row in form.rows]
    assert form.title == "项目支出绩效自评表" and form.marks == ["正式计算 · 归档版本 2"]
    assert texts[1] == ["主管部门", "天津市商务局", "实施单位", "天津市商务局"]
    assert texts[3] == ["项目资金（万元）", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
    assert texts[4] == ["年度资金总额", "100.00", "120.00", "108.00", "10", "90.00%", "9.00"]
    assert [t[0] for t in texts[5:8]] == ["其中：当年财政拨款", "上年结转资金", "其他资金"]
    assert texts[5][:4] == ["其中：当年财政拨款", "100.00", "120.00", "108.00"]  # the whole budget is fiscal
    assert texts[8] == ["年度总体目标", "预期目标", "实际完成情况"] and texts[9] == ["目标一\n目标二", "已完成"]
    assert texts[10][0] == "绩效指标" and form.rows[10][0].rows == 5
    assert texts[11][:2] == ["产出指标（50分）", "数量指标"] and form.rows[11][0].rows == 2
    assert texts[11][2:] == ["P.01", "t", "4项", "25.00", "20.00", "原因：招标延期"]
    assert texts[12][0] == "质量指标"  # the merged 一级 cell is not repeated
    assert texts[13][:2] == ["效益指标（30分）", "社会效益指标"]
    assert texts[-2] == ["总分", "100", f"{result.total:.2f}", ""] and texts[-1] == ["评价等级", result.grade]
    assert form.signatures == ("填表人：", "项目负责人：", "财务负责人：", "填表日期：　　年　　月　　日")
    assert form.notes == notes_for(ScoringPolicy()) and len(form.notes) == 3
    assert form.notes[0].startswith("1. 金额单位：万元。总分 100 分：产出 50、效益 30、满意度 10，预算执行率 10")
    assert form.notes[2] == "3. 评价等级：90 分及以上优，80 分及以上良，60 分及以上中，其余差。"
    grid = {(r, c): cell.text for r, c, cell in place(form.rows)}
    assert grid[(13, 3)] == "质量指标" and grid[(13, 4)] == "P.02"  # 一级 spans rows 12–13 of column 2
    assert form.texts()[:3] == ["项目支出绩效自评表", "（2025 年度）", "正式计算 · 归档版本 2"]


def test_a_trial_form_says_so_with_its_date_and_an_exclusion_is_printed():
    form, _ = _form(
        kind=TRIAL, as_of=date(2025, 10, 20), exclusion="经财务处决定，本项目不纳入本年度正式自评。原因：项目终止"
    )
    assert form.title == "项目支出绩效自评表（试算）"
    assert form.marks == [
        "试算：按截至 2025-10-20 的数据计算，不是正式自评结果",
        "经财务处决定，本项目不纳入本年度正式自评。原因：项目终止",
    ]
    regional = notes_for(ScoringPolicy(lower_better="linear", deduct_far_above=True, cap_by_execution=True))
    assert any("达到两倍时为 0" in n for n in regional) and regional[-1].startswith("5. 执行率低于 50%")


def test_a_project_without_a_first_level_shows_the_level_unearned_on_the_form():
    items = [ind(code="A", actual="90"), ind(code="B", level1="满意度指标", actual="90")]
    result = score_project(ProjectInput("P", items, D(10), spent=D(10)))
    lines = [
        FormIndicator(s.code, i.level1, "二级", s.code, "t", s.actual, s.weight, s.score)
        for s, i in zip(result.indicators, items, strict=True)
    ]
    form = build_form(
        2025, FormProject("P", "p", "", "", "d", D(10), None, None, [], ""), result, lines, ScoringPolicy()
    )
    block = [[c.text for c in row] for row in form.rows if row[0].text.startswith("效益指标")]
    assert block == [["效益指标（30分）", "—", "项目无此级指标", "—", "—", "30.00", "0.00", ""]]
