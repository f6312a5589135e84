"""The batch path of the closing, end to end on the command line, on SQLite and PostgreSQL: year-end actuals
loaded and submitted, reports returned and accepted, findings settled, grades and 实际完成情况 loaded, the
final run refused with its reasons and then run, locked and exported."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.demo import demo_accounts
from service.models import Division, EvaluationArchive, Indicator, Project
from service.organisation import load_sample_divisions

from .closing_helpers import CORRECTIONS
from .conftest import SEED, make_app
from .reporting_helpers import on_track

YEAR_END = date(2025, 12, 20)
REPORTER = {"KAC": "kac-head"}  # 口岸管理处 signs off by its head; the head may submit directly


@pytest.fixture
def cli(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "instance")
    runner = app.test_cli_runner()

    def run(*args, code=0):
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result.output

    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        load_sample_divisions(session)  # a new database has no divisions until they are set up
    run("import", SEED)
    with session_scope(engine) as session:
        demo_accounts(session)
    clock.set_today(date(2026, 1, 5))
    yield run, engine, tmp_path
    engine.dispose()


def _write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _annual_files(engine, tmp_path) -> dict[str, tuple]:
    """Per division: its Q4 actuals file (every indicator on track) and its spend file."""
    files = {}
    with session_scope(engine) as session:
        for division in session.exec(select(Division).where(Division.id.in_(select(Project.division_id)))).all():
            indicators = session.exec(
                select(Indicator)
                .join(Project, Project.id == Indicator.project_id)
                .where(Project.division_id == division.id)
                .order_by(Indicator.code)
            ).all()
            projects = session.exec(select(Project).where(Project.division_id == division.id)).all()
            actuals = [[i.code, "2025Q4", on_track(i, YEAR_END).value, "", "确定能", ""] for i in indicators]
            spend = [
                [p.code, "2025Q4", "", str((p.budget * Decimal("0.95")).quantize(Decimal("0.01")))] for p in projects
            ]
            files[division.code] = (
                _write(
                    tmp_path / f"{division.code}-actuals.csv",
                    ["指标编号", "期间", "实际完成值", "偏差原因分析及改进措施", "完成可能性", "偏差原因类别"],
                    actuals,
                ),
                _write(tmp_path / f"{division.code}-spend.csv", ["项目编号", "期间", "全年预算数", "执行数"], spend),
                actuals,
            )
    return files


def _reports(run) -> dict[str, dict]:
    return {
        r["division"]: r for r in json.loads(run("reports", "list", "--year", 2025, "--period", "2025Q4", "--json"))
    }


@pytest.mark.slow
def test_the_closing_on_the_command_line(cli):
    run, engine, tmp_path = cli
    files = _annual_files(engine, tmp_path)
    for code, (_actuals, spend, _rows) in files.items():
        run("actuals", "import", spend, "--as", REPORTER.get(code, code.lower()))

    # an incomplete annual report cannot be submitted, and then nothing of the file is written
    _actuals, _spend, rows = files["XXH"]
    short = _write(
        tmp_path / "short.csv",
        ["指标编号", "期间", "实际完成值", "偏差原因分析及改进措施", "完成可能性", "偏差原因类别"],
        rows[1:],
    )
    before = _reports(run)["XXH"]
    refused = run("actuals", "import", short, "--as", "xxh", "--submit", code=2)
    assert "报告未能提交，没有写入任何数据" in refused and f"指标 {rows[0][0]}" in refused
    assert _reports(run)["XXH"] == before  # same version, still a draft

    for code, (actuals, _spend, _rows) in files.items():
        assert "已提交" in run("actuals", "import", actuals, "--as", REPORTER.get(code, code.lower()), "--submit")
    assert {r["state_label"] for r in _reports(run).values()} == {"已提交待审核"}

    run(
        "reports",
        "return",
        "--year",
        2025,
        "--period",
        "2025Q4",
        "--division",
        "WMC",
        "--as",
        "caiwu",
        "--comment",
        "执行数与决算不符，请核实",
    )
    refused = run("evaluation", "run", "--year", 2025, "--as", "caiwu", code=3)
    assert "对外贸易处 2025Q4 报告已退回，须经财务处审核通过  → http://127.0.0.1:5000/reports/WMC/2025Q4" in refused
    assert "对外贸易处 2025Q4 报告已退回，未计入" in run("evaluate", "--year", 2025, "--project", "2025-028", "--json")
    run("actuals", "import", files["WMC"][0], "--as", "wmc", "--submit")
    for code in files:
        assert "审核通过" in run(
            "reports", "accept", "--year", 2025, "--period", "2025Q4", "--division", code, "--as", "caiwu"
        )

    findings = json.loads(run("findings", "list", "--year", 2025, "--open", "--json"))
    assert {"id", "indicator", "project", "severity", "kind", "message"} <= set(findings[0])
    assert any(f["indicator"] == "2025-001.06" and f["kind"] == "inverted_comparator" for f in findings)
    for code, value in CORRECTIONS.items():
        run("targets", "correct", code, value, "--as", "caiwu", "--reason", "比较符号写反，按原意更正")
    open_now = json.loads(run("findings", "list", "--year", 2025, "--open", "--json"))
    assert not any(f["indicator"] in CORRECTIONS and f["severity"] != "info" for f in open_now)
    for finding in open_now:
        if finding["severity"] in ("warning", "error"):
            run("findings", "accept", finding["id"], "--as", "caiwu", "--reason", "已核实，按原文理解")

    missing = json.loads(run("evaluation", "run", "--year", 2025, "--as", "caiwu", "--json", code=3))["missing"]
    assert {m["kind"] for m in missing} == {"grade", "outcome"}
    grades = _write(
        tmp_path / "grades.csv",
        ["指标编号", "评价档次", "得分比例", "说明"],
        [[m["subject"], "达成", "90", "按期完成"] for m in missing if m["kind"] == "grade"],
    )
    run("grades", "import", grades, "--as", "caiwu")
    by_division: dict[str, list] = {}
    for m in missing:
        if m["kind"] == "outcome":
            by_division.setdefault(m["division_code"], []).append([m["project"], "年度目标已按计划完成"])
    for code, rows in by_division.items():
        path = _write(tmp_path / f"{code}-outcomes.csv", ["项目编号", "实际完成情况"], rows)
        run("evaluation", "outcomes", path, "--as", REPORTER.get(code, code.lower()))

    final = json.loads(run("evaluation", "run", "--year", 2025, "--as", "caiwu", "--json"))
    assert (final["kind"], final["kind_label"], final["projects"]) == ("final", "正式计算", 62)
    assert {(r["source"]["report"]["period"], r["source"]["report"]["state"]) for r in final["results"]} == {
        ("2025Q4", "accepted")
    }
    assert "归档版本 1" in run("evaluation", "lock", "--year", 2025, "--as", "caiwu")
    [project] = json.loads(run("evaluate", "--year", 2025, "--project", "2025-001", "--json"))
    assert project["source"]["report"]["period"] == "2025Q4" and project["source"]["revision"]["count"] == 1
    out = tmp_path / "v1.xlsx"
    run("export", "self-evaluation", "--year", 2025, "--version", 1, "--out", out)
    with session_scope(engine) as session:
        assert out.read_bytes() == session.exec(select(EvaluationArchive.workbook)).one()
    assert "不能进行正式计算" not in run(
        "evaluation", "unlock", "--year", 2025, "--as", "admin", "--reason", "决算调整"
    )
    trial = json.loads(run("evaluation", "run", "--year", 2025, "--trial", "--as", "caiwu", "--json"))
    assert (trial["kind_label"], trial["as_of"]) == ("试算", "2025-12-31")
