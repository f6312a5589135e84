"""Workbooks print as the forms people sign: each export of the demo year is rendered once per test
session by LibreOffice (headless, as a new user would print it) and the PDF is measured with poppler:
pages, orientation, the sheet each page belongs to (its footer), repeated headers and the size of
the text on paper.  The pages of the demo year are kept as PNG under test-artifacts/print/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import make_engine, session_scope
from service.demo import DEMO_TODAY, demo_accounts, load_demo_reports
from service.domain.closing import TRIAL
from service.domain.evaluation_form import FormIndicator, FormProject, build_form
from service.domain.scoring import BudgetScore, ProjectScore, ScoringPolicy
from service.exports.history import build_history_workbook
from service.exports.monitoring import build_monitoring_workbook
from service.exports.self_evaluation import build_self_evaluation, write_form
from service.exports.sheets import Book
from service.exports.template import build_flat_template
from service.models import Division, Indicator, Project
from service.reporting.read import indicator_history
from service.reporting.reports import load_scope
from service.reporting.workbook import build_workbook

from .conftest import ROOT

pytestmark = [pytest.mark.print, pytest.mark.xdist_group("print")]  # one LibreOffice run builds every page

ARTIFACTS = ROOT / "test-artifacts" / "print"
TOOLS = ("soffice", "pdftotext", "pdftoppm")
PICTURED_PAGES = 6
EXPLANATION = "原因：资金拨付和项目招标进度晚于计划；改进措施：加快采购流程，四季度集中推进"
LEVELS = ["产出指标", "效益指标", "满意度指标"]
FOOTER_PT = 50  # the bottom margin, where the footer (sheet name, page, mark) is printed
NINE_PT = 8.99  # 9 pt, measured to a hundredth
CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")


@dataclass
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Printed:
    width: float
    height: float
    words: list[Word]

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    @property
    def sheet(self) -> str:
        """The sheet the page belongs to: the footer's left-hand text."""
        footer = sorted((w for w in self.words if w.y0 > self.height - FOOTER_PT), key=lambda w: w.x0)
        return footer[0].text if footer else ""

    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def smallest_body_pt(self) -> float:
        """Printed size of the smallest text above the footer, from words of CJK characters only: each is
        exactly one em wide, so the word's width over its length is the font size on paper."""
        sizes = [
            (w.x1 - w.x0) / len(w.text) for w in self.words if CJK_WORD.match(w.text) and w.y1 < self.height - FOOTER_PT
        ]
        return min(sizes)


def _pages(pdf: Path) -> list[Printed]:
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for match in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        words = [
            Word(text, float(x0), float(y0), float(x1), float(y1))
            for x0, y0, x1, y1, text in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', match[3]
            )
        ]
        pages.append(Printed(float(match[1]), float(match[2]), words))
    return pages


def _form(project: Project, division: Division, indicators: list[Indicator], explained: int):
    """A trial form over real indicators of the sample year, in the engine's level order; the first
    EXPLAINED lost points and carry the division's explanation."""
    ordered = sorted(indicators, key=lambda i: (LEVELS.index(i.level1), i.level2))
    lines = [
        FormIndicator(
            i.code,
            i.level1,
            i.level2,
            i.name,
            i.raw_value,
            "部分完成",
            Decimal(5),
            Decimal(3 if n < explained else 5),
            EXPLANATION if n < explained else "",
        )
        for n, i in enumerate(ordered)
    ]
    result = ProjectScore(
        project.code,
        Decimal("88.5"),
        "良",
        BudgetScore(Decimal(14330), Decimal(10747.5), Decimal(75), Decimal(10), Decimal("7.5"), ""),
        [],
        [],
    )
    return build_form(
        2025,
        FormProject(
            project.code,
            project.name,
            "天津市商务局",
            "天津市商务局",
            division.name,
            project.budget,
            project.fiscal_funds,
            project.other_funds,
            list(project.goals),
            "年度目标已按计划完成",
        ),
        result,
        lines,
        ScoringPolicy(),
        kind=TRIAL,
        as_of=DEMO_TODAY,
        sources=["数据来源：市场运行和消费促进处 2025Q3 报告第 3 版（已提交待审核）；指标值：导入原值（未修订）"],
    )


@pytest.fixture(scope="session")
def printed(seeded_template, tmp_path_factory) -> dict[str, list[Printed]]:
    """Every export of the demo year (and two long forms), rendered by one LibreOffice run."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing (apt install libreoffice-calc-nogui poppler-utils)")
        pytest.skip(f"{', '.join(missing)} not installed")
    work = tmp_path_factory.mktemp("print")
    database = work / "demo.db"
    shutil.copyfile(seeded_template[0], database)
    engine = make_engine(f"sqlite:///{database}")
    clock.set_today(DEMO_TODAY)
    try:
        with session_scope(engine) as session:
            demo_accounts(session)
            load_demo_reports(session)
        with session_scope(engine) as session:
            indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.03")).one()
            workbooks = {
                "zipingbiao-2025-001": build_self_evaluation(session, 2025, project="2025-001"),
                "monitoring-2025-07-31": build_monitoring_workbook(session, 2025, date(2025, 7, 31)),
                "period-XXH-2025Q3": build_workbook(session, load_scope(session, 2025, "XXH", 3)),
                "history-2025-001.03": build_history_workbook(indicator, indicator_history(session, indicator)),
                "import-template": build_flat_template(),
            }
            long_names = session.exec(
                select(Indicator)
                .join(Project)
                .where(Project.code.in_(["2025-022", "2025-023", "2025-055"]))
                .order_by(Project.code, Indicator.row_order)
            ).all()
            project = session.exec(select(Project).where(Project.code == "2025-022")).one()
            division = session.get(Division, project.division_id)
            for count, explained in ((8, 2), (30, 8)):
                book = Book()
                write_form(book, _form(project, division, long_names[:count], explained), "试算", project.code)
                workbooks[f"form-{count}-indicators"] = book.save()
    finally:
        clock.set_today(None)
        engine.dispose()
    for name, data in workbooks.items():
        (work / f"{name}.xlsx").write_bytes(data.getvalue())
    profile = work / "profile"  # a private profile: another LibreOffice running on the machine does not interfere
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            *[str(work / f"{name}.xlsx") for name in workbooks],
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    rendered = {}
    for name in workbooks:
        pdf = work / f"{name}.pdf"
        rendered[name] = _pages(pdf)
        # pictures of the first pages to look at; the tests read every page's text (the monitoring form has ~170)
        subprocess.run(
            ["pdftoppm", "-r", "60", "-l", str(PICTURED_PAGES), "-png", str(pdf), str(ARTIFACTS / name)], check=True
        )
    return rendered


def _sheet_pages(pages: list[Printed], sheet: str) -> list[Printed]:
    return [page for page in pages if page.sheet == sheet]


def test_the_self_evaluation_of_2025_001_is_summary_findings_and_one_form_page(printed):
    pages = printed["zipingbiao-2025-001"]
    assert len(pages) <= 3 and not any(page.landscape for page in pages)
    assert [page.sheet for page in pages] == ["汇总", "待核查", "2025-001"]
    form = _sheet_pages(pages, "2025-001")[0]
    assert "项目支出绩效自评表" in form.text() and "总分" in form.text() and "试算" in form.text()
    assert form.smallest_body_pt() >= NINE_PT
    summary = pages[0].text()  # the 8 summary columns on one page, the grade included
    assert all(title in summary for title in ("项目编号", "项目名称", "执行率", "得分", "等级"))


def test_a_short_form_fits_one_portrait_page_and_a_longer_one_continues_cleanly(printed):
    """The official layout (funds rows, goals, 说明, signatures) leaves room for about eight long-named indicators on
    one page at 9 pt; a longer form continues with the indicator header repeated and the levels written again,
    and keeps 说明 with the signature lines on its last page."""
    short = printed["form-8-indicators"]
    assert len(short) == 1 and not short[0].landscape and short[0].smallest_body_pt() >= NINE_PT
    assert "总分" in short[0].text() and "财务负责人：" in short[0].text()
    thirty = printed["form-30-indicators"]
    assert len(thirty) >= 2 and all(page.smallest_body_pt() >= NINE_PT for page in thirty)
    for page in thirty:  # the indicator header on every page, the levels written again where a page begins
        assert "三级指标" in page.text() and "偏差原因分析及改进措施" in page.text()
    for page in thirty[1:]:  # the page's rows start under the repeated header with their 一级指标 written again
        header = next(w for w in page.words if w.text == "一级指标")
        levels = [w for w in page.words if w.text.split("（")[0] in LEVELS and header.x0 - 5 <= w.x0 <= header.x1]
        assert levels and all(w.y0 > header.y1 for w in levels)
    last = thirty[-1].text()
    assert "总分" in last and "说明：" in last and "财务负责人：" in last
    assert not any("总分" in page.text() or "说明：" in page.text() for page in thirty[:-1])


def test_the_monitoring_form_prints_landscape_each_project_from_a_new_page(printed):
    pages = printed["monitoring-2025-07-31"]
    summary, projects, form, indicators = (_sheet_pages(pages, n) for n in ("汇总", "项目状态", "执行监控表", "指标"))
    assert len(summary) + len(projects) + len(form) + len(indicators) == len(pages)
    assert all(page.landscape for page in pages)
    assert len(summary) == 1 and "全局合计" in summary[0].text() and "状态颜色说明" in summary[0].text()
    assert all("各项目状态与预算执行" in page.text() and "项目名称" in page.text() for page in projects)
    starts: dict[str, list[int]] = {}
    for number, page in enumerate(form):
        text = page.text()
        assert "截至 2025-07-31（1–7月）" in text  # the footer
        for code in re.findall(r"（(2025-\d{3})）", text):
            starts.setdefault(code, []).append(number)
    assert len(starts) == 62 and all(len(found) == 1 for found in starts.values())  # each block's header once
    blocks = sorted(found[0] for found in starts.values())
    lengths = [later - earlier for earlier, later in zip(blocks, [*blocks[1:], len(form)], strict=True)]
    assert max(lengths) <= 3 and lengths.count(1) >= 15  # most fit one or two pages; 30 long-named indicators three
    assert all("项目支出绩效目标执行监控表" in form[start].text() for start in blocks)  # a block starts a page
    assert min(form[start].smallest_body_pt() for start in blocks) >= 8.4
    for page in indicators:
        text = page.text()
        assert "绩效指标执行情况（截至" in text and "三级指标" in text and "偏差原因分析" in text
    codes = [w.text for page in indicators for w in page.words if re.fullmatch(r"2025-\d{3}\.\d{2}", w.text)]
    assert len(codes) == len(set(codes)) == 482  # every indicator printed once, none clipped away
    assert min(page.smallest_body_pt() for page in indicators) >= 8.9


def test_the_other_exports_print_one_page_wide_with_their_headers(printed):
    period = printed["period-XXH-2025Q3"]
    assert {page.sheet for page in period} == {"说明", "指标", "资金"}
    assert all(page.landscape for page in _sheet_pages(period, "指标"))
    assert all("指标编号" in page.text() and "XXH" not in page.sheet for page in _sheet_pages(period, "指标"))
    assert all("报告版本" in page.text() for page in period)  # the footer: division, period, version
    history = printed["history-2025-001.03"]
    assert len(history) == 1 and history[0].landscape and "修改后" in history[0].text()
    template = printed["import-template"]
    assert len(template) == 1 and template[0].landscape and "指标值" in template[0].text()
    for pages in (period, history, template):
        assert min(page.smallest_body_pt() for page in pages) >= 7.0
