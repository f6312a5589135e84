"""Closing the demo year for the tests: Q4 accepted, every target doubt settled, every judgement graded,
every 实际完成情况 written, as the people concerned would do it through the service."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from service.clock import clock
from service.closing import ungraded_indicators
from service.demo import load_demo_reports
from service.domain.scoring import ScoringPolicy
from service.domain.vocabulary import FindingState, Severity
from service.grades import grade_indicator
from service.models import FindingRow, FiscalYear, Indicator, Project, User
from service.reviews import write_outcome
from service.target_decisions import accept_finding, correct_target

AFTER_THE_YEAR = date(2026, 1, 10)
# the two targets the import flagged as written the wrong way round, as finance corrects them
CORRECTIONS = {"2025-001.06": "≥90%", "2025-028.10": "100%"}


def close_the_year(session, skip_outcome: tuple[str, ...] = ()) -> None:
    settle_findings(session)  # before Q4, so the annual report explains what falls short of a corrected target
    load_demo_reports(session, quarters=(4,))
    clock.set_today(AFTER_THE_YEAR)
    grade_the_rest(session)
    for project in session.exec(select(Project).order_by(Project.code)).all():
        if project.code not in skip_outcome:
            write_outcome(session, project, f"{project.name}：年度目标已按计划完成", "demo")


def settle_findings(session) -> None:
    for code, value in CORRECTIONS.items():
        indicator = session.exec(select(Indicator).where(Indicator.code == code)).one()
        correct_target(session, indicator, value, "caiwu", "导入时比较符号写反，按原意更正", resolve_open=True)
    for finding in session.exec(
        select(FindingRow).where(
            FindingRow.state == FindingState.OPEN, FindingRow.severity.in_((Severity.WARNING, Severity.ERROR))
        )
    ).all():
        accept_finding(session, finding, "caiwu", "已与处室核实，按原文理解")
    session.flush()


def grade_the_rest(session) -> None:
    year = session.exec(select(FiscalYear).where(FiscalYear.year == 2025)).one()
    for items in ungraded_indicators(session, year).values():
        for code, _name in items:
            indicator = session.exec(select(Indicator).where(Indicator.code == code)).one()
            grade_indicator(session, indicator, "达成", "90", "", "caiwu", ScoringPolicy())


def user(session, name: str) -> User:
    return session.exec(select(User).where(User.username == name)).one()
