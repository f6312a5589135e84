"""The next year: rollover, links to last year's projects, 历史值 and last year's score, targets relative to
last year, the links confirmed in the import preview, and `perftrack indicators show`."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy.orm import aliased
from sqlmodel import select

from service.cli import main
from service.continuity import rollover
from service.db import session_scope
from service.decision_error import DecisionError
from service.domain.continuity import Candidate, IndicatorCandidate, match_indicators, match_projects, normalise_title
from service.domain.targets import History, parse_target
from service.evaluation import execute_run, start_run
from service.models import FindingRow, FiscalYear, Indicator, IndicatorLink, Project, ProjectLink

from .bureau_helpers import next_year_tables, submit_quarter
from .conftest import statements_run

RELATIVE = {
    "\t全年任务量\n\t全年任务量\n\t≥5项": "\t全年任务量\n\t全年任务量\n\t不低于上年",  # 2026-001.01 (信息化处)
    "\t各类价格及口岸评估报告\n\t≧2次": "\t各类价格及口岸评估报告\n\t较上年增长10%",
}  # 2026-010.01 (口岸处)


@pytest.mark.parametrize(
    "text, history, reading, finding",
    [
        ("不低于上年", Decimal(7), "≥ 7项", "from_history"),
        ("≥上年水平", Decimal(7), "≥ 7项", "from_history"),
        ("高于上年", Decimal(7), "> 7项", "from_history"),
        ("较上年增长10%", Decimal(200), "≥ 220项", "from_history"),
        ("同比下降5%", Decimal(200), "≤ 190项", "from_history"),
        ("较上年增加5项", Decimal(200), "≥ 205项", "from_history"),
        ("与上年持平", Decimal(3), "= 3项", "from_history"),
        ("不低于上年", None, "≥ ?", "history_missing"),
        ("较上年提高2个百分点", None, "≥ ?", "history_missing"),
    ],
)
def test_targets_relative_to_last_year_read_against_the_history(text, history, reading, finding):
    target = parse_target(
        text, "数量指标", "培训次数", fiscal_year=2026, history=None if history is None else History(history, "项")
    )
    assert target.reading() == reading
    assert finding in [f.code for f in target.findings]
    if history is None:
        assert target.value is None and next(f for f in target.findings if f.code == finding).severity == "error"
    # Prose that merely mentions last year is not a relative target.
    assert parse_target("2026年底前完成上年度项目验收", "时效指标", "验收", fiscal_year=2026).kind == "deadline"


def test_titles_and_indicators_pair_with_last_years():
    previous = [
        Candidate(1, "2025-001", "1.YW（市级）2025天津市商务局IDC机房租用项目 绩效目标表"),
        Candidate(2, "2025-002", "2.YW（市级）天津市商务局办公自动化系统运维项目（2025年）绩效目标表"),
        Candidate(3, "BUD-77", "档案数字化"),
    ]
    current = [
        Candidate(10, "2026-002", "2.YW（市级）天津市商务局办公自动化系统运维项目（2026年）绩效目标表"),
        Candidate(11, "2026-001", "1.YW（市级）2026天津市商务局IDC机房租用项目 绩效目标表"),
        Candidate(12, "BUD-77", "馆藏档案数字化加工"),
        Candidate(13, "2026-009", "全新的跨境电商培训"),
    ]
    found = match_projects(current, previous)
    assert {k: (p.previous, p.method) for k, p in found.items()} == {
        10: (2, "title"),
        11: (1, "title"),
        12: (3, "code"),
    }
    assert normalise_title(current[1].title) == normalise_title(previous[0].title) == "天津市商务局IDC机房租用"
    pairs = match_indicators(
        [
            IndicatorCandidate(1, "产出指标", "数量指标", "培训人次"),
            IndicatorCandidate(2, "产出指标", "质量指标", "验收合格率"),
            IndicatorCandidate(3, "满意度指标", "服务对象满意度指标", "学员满意度"),
        ],
        [
            IndicatorCandidate(7, "产出指标", "质量指标", "验收合格率"),
            IndicatorCandidate(8, "产出指标", "数量指标", "培训人数"),
            IndicatorCandidate(9, "效益指标", "社会效益指标", "学员满意度"),
        ],
    )
    assert {k: p.previous for k, p in pairs.items()} == {1: 8, 2: 7}  # never across 一级指标


@pytest.mark.slow
def test_an_import_writes_its_links_histories_in_one_pass(app, seed_bytes):
    """Storing 62 links then writing their 历史值 once reads last year's run once; writing each project's in
    turn read it (and the year's submitted reports) 62 times."""
    from service.importing import apply_plan, plan_import, read_source

    engine = app.extensions["perftrack.engine"]
    submit_quarter(engine, 2025, "XXH", 4, "xxh", {"2025-001.01": "7"})
    with session_scope(engine) as session:
        execute_run(session, start_run(session, 2025, "caiwu"))
        rollover(session, 2025, 2026)
    data = next_year_tables(seed_bytes, RELATIVE)
    with session_scope(engine) as session:
        plan = plan_import(session, read_source("2026.txt", data), 2026, "2026.txt", data)
        with statements_run(engine) as statements:
            apply_plan(session, plan, "caiwu")
    runs_read = [s for s in statements if s.startswith("SELECT") and "FROM evaluation_run" in s]
    assert len(runs_read) == 1, len(runs_read)
    with session_scope(engine) as session:
        relative = session.exec(select(Indicator).where(Indicator.code == "2026-001.01")).one()
        assert (relative.comparator, relative.target_value) == (">=", Decimal(7))
        assert len(session.exec(select(IndicatorLink)).all()) >= 400


def test_rollover_history_and_relative_targets(app, runner, seed_bytes, tmp_path):
    engine = app.extensions["perftrack.engine"]
    submit_quarter(engine, 2025, "XXH", 4, "xxh", {"2025-001.01": "7"})
    with session_scope(engine) as session:
        run = start_run(session, 2025, "caiwu")
        execute_run(session, run)
    opened = runner.invoke(main, ["years", "rollover", "--from", "2025", "--to", "2026", "--json"])
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.output) == {
        "year": 2026,
        "created": True,
        "projects": 0,
        "linked": 0,
        "confirmed": 0,
        "reread": 0,
    }
    with session_scope(engine) as session:
        years = {y.year: y.report_due_days for y in session.exec(select(FiscalYear))}
        assert years == {2025: 10, 2026: 10}
    tables = tmp_path / "2026.txt"
    tables.write_bytes(next_year_tables(seed_bytes, RELATIVE))
    imported = runner.invoke(main, ["import", str(tables), "--year", "2026", "--json"])
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.output)
    assert summary["links"] == {f"2026-{code[5:]}": code for code in summary["links"].values()}  # each to its 2025 self
    assert len(summary["links"]) == 62 and summary["findings"]["from_history"] == 1
    assert summary["findings"]["history_missing"] == 1

    shown = runner.invoke(main, ["indicators", "show", "2026-001.01", "--year", "2026", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert (data["raw_value"], data["comparator"], data["value"], data["unit"], data["reading"]) == (
        "不低于上年",
        ">=",
        7,
        "项",
        "≥ 7项",
    )
    assert data["history"] == {"value": 7, "unit": "项", "text": "7项"}
    assert data["last_year"]["indicator"] == "2025-001.01" and data["last_year"]["score"] is not None
    assert [f["code"] for f in data["findings"]] == ["from_history"]
    missing = json.loads(runner.invoke(main, ["indicators", "show", "2026-010.01", "--json"]).output)
    assert (missing["value"], missing["history"]) == (None, None)
    assert [f["code"] for f in missing["findings"]] == ["history_missing"]

    # 口岸处 sends its 2025 Q4 late: rolling over again refreshes the history and reads the target again.
    with session_scope(engine) as session:
        from service.accounts import create_user

        create_user(session, "kac2", "口岸处", "head", "KAC", "a-long-password-1")
    submit_quarter(engine, 2025, "KAC", 4, "kac2", {"2025-010.01": "5"})
    again = json.loads(runner.invoke(main, ["years", "rollover", "--from", "2025", "--to", "2026", "--json"]).output)
    assert (again["created"], again["projects"], again["linked"], again["confirmed"]) == (False, 62, 62, 0)
    assert again["reread"] == 2
    with session_scope(engine) as session:
        indicator = session.exec(
            select(Indicator)
            .join(Project)
            .join(FiscalYear)
            .where(Indicator.code == "2026-010.01", FiscalYear.year == 2026)
        ).one()
        assert (indicator.comparator, indicator.target_value) == (">=", Decimal("5.5"))
        codes = set(session.exec(select(FindingRow.code).where(FindingRow.indicator_id == indicator.id)).all())
        assert codes == {"from_history"}

    confirmed = runner.invoke(main, ["years", "links", "--year", "2026", "--confirm", "--as", "caiwu"])
    assert confirmed.exit_code == 0 and "已确认 62 个关联" in confirmed.output
    # A person unlinks one: its relative target has no history any more.
    unlinked = runner.invoke(main, ["years", "link", "2026-001", "--year", "2026", "--none"])
    assert unlinked.exit_code == 0, unlinked.output
    data = json.loads(runner.invoke(main, ["indicators", "show", "2026-001.01", "--json"]).output)
    assert data["last_year"] is None and [f["code"] for f in data["findings"]] == ["history_missing"]
    relinked = runner.invoke(main, ["years", "link", "2026-001", "--year", "2026", "--to", "2025-001"])
    assert relinked.exit_code == 0
    assert json.loads(runner.invoke(main, ["indicators", "show", "2026-001.01", "--json"]).output)["value"] == 7
    # The same codes name different projects in the two years; no code means the latest.
    assert json.loads(runner.invoke(main, ["indicators", "show", "2025-001.01", "--json"]).output)["year"] == 2025
    assert runner.invoke(main, ["indicators", "show", "2026-001.01", "--year", "2025"]).exit_code == 1


@pytest.mark.slow
def test_the_import_preview_shows_the_links_for_finance_to_confirm_or_change(app, client, seed_bytes):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        rollover(session, 2025, 2026)
        with pytest.raises(DecisionError, match="下一年度"):
            rollover(session, 2025, 2027)
    preview = client.post(
        "/imports/preview",
        data={"year": "2026", "file": (io.BytesIO(next_year_tables(seed_bytes)), "2026.txt")},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "与 2025 年度项目的对应" in page
    assert '<option value="2025-001" selected>' in page
    selects = re.findall(r'name="(link-2026-\d+)"', page)
    assert len(selects) == 62
    form = {"token": re.search(r'name="token" value="([^"]+)"', page).group(1), "file_name": "2026.txt", "year": "2026"}
    form |= {name: name.replace("link-2026", "2025") for name in selects}
    form |= {"link-2026-002": "", "link-2026-003": "", "link-2026-001": "2025-003"}  # finance changes three
    assert client.post("/imports/apply", data=form).status_code == 302
    old = aliased(Project)
    with session_scope(engine) as session:
        links = {
            code: (previous, by)
            for code, previous, by in session.exec(
                select(Project.code, old.code, ProjectLink.confirmed_by)
                .join(Project, Project.id == ProjectLink.project_id)
                .join(old, old.id == ProjectLink.previous_project_id)
            ).all()
        }
        assert session.exec(select(IndicatorLink)).first() is not None
    assert links["2026-001"] == ("2025-003", "caiwu") and len(links) == 60
    assert "2026-002" not in links and "2026-003" not in links
    page = client.get("/years/2026/links").get_data(as_text=True)
    assert "<b>0</b>个待确认" in page and "（新项目）" in page
    project_page = client.get("/projects/2026-004?year=2026").get_data(as_text=True)
    assert "本年与上年对照" in project_page and "2025-004" in project_page


def test_last_years_score_comes_from_the_locked_run_else_the_latest_final_run(engine):
    """A trial run after the final one does not replace last year's score; a locked run wins."""
    from service.continuity import scoring_run
    from service.domain.vocabulary import RunKind, RunState
    from service.importing import ensure_year
    from service.models import EvaluationRun

    with session_scope(engine) as session:
        year_id = ensure_year(session, 2025).id

        def run(kind: str, locked: bool = False) -> int:
            row = EvaluationRun(fiscal_year_id=year_id, kind=kind, actor="caiwu", state=RunState.DONE, locked=locked)
            session.add(row)
            session.flush()
            return row.id

        assert scoring_run(session, year_id) is None
        trial = run(RunKind.TRIAL)
        assert scoring_run(session, year_id).id == trial
        final = run(RunKind.FINAL)
        run(RunKind.TRIAL)
        assert scoring_run(session, year_id).id == final
        locked = run(RunKind.FINAL, locked=True)
        run(RunKind.FINAL)
        assert scoring_run(session, year_id).id == locked
