"""A synthetic bureau for benchmarks and load tests (`perftrack synth`).

Projects and indicators are cloned from the sample tables' patterns (so every target kind
appears in its real proportion), spread over divisions, and Q1–Q2 reports are filled in
and submitted for most divisions.  Bulk inserts: a few statements per thousand rows.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from .clock import clock
from .domain.vocabulary import Band, Likelihood, ReportState, TargetKind
from .models import (
    ActualEntry,
    Division,
    FiscalYear,
    Indicator,
    Project,
    ProjectReview,
    Report,
    ReviewerGrade,
    SpendEntry,
)

CHUNK = 5000

INDICATORS_PER_PROJECT = 7  # each synthetic project's indicators (the sample tables have 7.8 on average)


def synthesize(
    session: Session, year: int, indicators: int, divisions: int = 20, seed: int = 7, closed: bool = False
) -> dict:
    """CLOSED: a year ready for its final run instead: every division's Q1–Q4 accepted, every judgement
    graded and every project's 实际完成情况 written."""
    rng = random.Random(seed)
    patterns = session.execute(
        select(
            Indicator.level1,
            Indicator.level2,
            Indicator.name,
            Indicator.raw_value,
            Indicator.kind,
            Indicator.comparator,
            Indicator.target_value,
            Indicator.unit,
            Indicator.per,
            Indicator.direction,
            Indicator.due,
        )
    ).all()
    if not patterns:
        raise ValueError("先导入一个年度的绩效目标表，合成数据以其指标为样本")
    if session.execute(select(FiscalYear.id).where(FiscalYear.year == year)).first():
        raise ValueError(f"{year} 年度已存在")
    now = clock.now()
    fiscal_year = FiscalYear(year=year)
    session.add(fiscal_year)
    session.flush()
    division_ids = []
    for number in range(divisions):
        division = Division(code=f"S{year % 100:02d}{number:02d}", name=f"合成处室{number + 1}")
        session.add(division)
        session.flush()
        division_ids.append(division.id)
    per_project = INDICATORS_PER_PROJECT
    project_rows = [
        {
            "fiscal_year_id": fiscal_year.id,
            "code": f"{year}-S{n:05d}",
            "table_no": n,
            "title": f"合成项目{n}",
            "name": f"合成项目{n}",
            "prefix": None,
            "division_id": division_ids[n % divisions],
            "funding_level": "市级",
            "budget": Decimal(rng.randint(10, 2000)),
            "use_of_funds": "",
            "goals": [],
            "updated_at": now,
        }
        for n in range((indicators + per_project - 1) // per_project)
    ]
    _bulk(session, Project, project_rows)
    projects = session.execute(
        select(Project.id, Project.code, Project.division_id, Project.budget)
        .where(Project.fiscal_year_id == fiscal_year.id)
        .order_by(Project.id)
    ).all()
    indicator_rows = []
    for index in range(indicators):
        project = projects[index // per_project]
        p = patterns[rng.randrange(len(patterns))]
        indicator_rows.append(
            {
                "project_id": project.id,
                "code": f"{project.code}.{index % per_project + 1:02d}",
                "row_order": index % per_project + 1,
                "level1": p.level1,
                "level2": p.level2,
                "name": p.name,
                "description": "",
                "raw_value": p.raw_value,
                "source_value": p.raw_value,
                "weight": None,
                "kind": p.kind,
                "comparator": p.comparator,
                "target_value": p.target_value,
                "unit": p.unit,
                "per": p.per,
                "direction": p.direction,
                "due": p.due.replace(year=year) if p.due else None,
                "in_source": True,
                "updated_at": now,
            }
        )
    _bulk(session, Indicator, indicator_rows)
    reports = _submit_reports(session, fiscal_year, division_ids, projects, rng, now, closed)
    if closed:
        _close(session, fiscal_year, projects, now)
    if session.connection().dialect.name == "postgresql":
        # PostgreSQL plans from statistics that autovacuum gathers only some time after a bulk load: until then a
        # 1,000,000-indicator year's first queries read whole tables (a run's first part 37 s, the next 3 s).
        session.execute(text("ANALYZE"))
    return {
        "year": year,
        "divisions": divisions,
        "projects": len(projects),
        "indicators": indicators,
        "reports": reports,
    }


def _submit_reports(session, fiscal_year, division_ids, projects, rng, now, closed: bool = False) -> int:
    submitted_at = datetime(fiscal_year.year, 7, 8, 2, 0, tzinfo=UTC)
    report_ids = {}
    quarters = (1, 2, 3, 4) if closed else (1, 2)
    reporting = division_ids if closed else division_ids[: max(1, len(division_ids) * 9 // 10)]  # a tenth never report
    for quarter in quarters:
        for division_id in reporting:
            report = Report(
                fiscal_year_id=fiscal_year.id,
                division_id=division_id,
                quarter=quarter,
                state=ReportState.ACCEPTED,
                version=1,
                first_submitted_at=submitted_at,
            )
            session.add(report)
            session.flush()
            report_ids[(division_id, quarter)] = report.id
    targets = session.execute(
        select(Indicator.id, Indicator.project_id, Indicator.kind, Indicator.target_value, Project.division_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == fiscal_year.id)
    ).all()
    entries, spend = [], []
    for quarter in quarters:
        for indicator_id, _project_id, kind, target, division_id in targets:
            report_id = report_ids.get((division_id, quarter))
            if report_id is None:
                continue
            entry = {
                "indicator_id": indicator_id,
                "report_id": report_id,
                "report_version": 1,
                "is_current": True,
                "number": None,
                "done": None,
                "done_on": None,
                "expected_on": None,
                "progress": "",
                "likelihood": rng.choice([Likelihood.CERTAIN, Likelihood.CERTAIN, Likelihood.POSSIBLE]),
                "cause_category": "",
                "cause_text": "",
                "measure_text": "",
                "decrease_reason": "",
                "source": "synth",
                "actor": "synth",
                "created_at": now,
            }
            if kind == TargetKind.QUALITATIVE:
                entry["progress"] = "按计划推进"
            elif kind == TargetKind.DEADLINE:
                entry["done"] = rng.random() < (0.8 if quarter == 4 else 0.5)
            elif target is not None:
                entry["number"] = (target * Decimal(quarter) / 4 * Decimal(str(rng.uniform(0.6, 1.3)))).quantize(
                    Decimal("0.01")
                )
            entries.append(entry)
        for project in projects:
            report_id = report_ids.get((project.division_id, quarter))
            if report_id is not None:
                spend.append(
                    {
                        "project_id": project.id,
                        "report_id": report_id,
                        "report_version": 1,
                        "is_current": True,
                        "spent": (project.budget * Decimal(quarter) / 4 * Decimal(str(rng.uniform(0.5, 1.1)))).quantize(
                            Decimal("0.01")
                        ),
                        "budget": None,
                        "source": "synth",
                        "actor": "synth",
                        "created_at": now,
                    }
                )
    _bulk(session, ActualEntry, entries)
    _bulk(session, SpendEntry, spend)
    return len(report_ids)


def _close(session, fiscal_year, projects, now) -> None:
    """Grades for every qualitative indicator and every deadline not met, and each project's outcome."""
    annual = select(Report.id).where(Report.fiscal_year_id == fiscal_year.id, Report.quarter == 4)
    judged = session.execute(
        select(Indicator.id, Indicator.kind, ActualEntry.done)
        .join(Project, Project.id == Indicator.project_id)
        .join(ActualEntry, ActualEntry.indicator_id == Indicator.id)
        .where(
            Project.fiscal_year_id == fiscal_year.id,
            col(ActualEntry.report_id).in_(annual),
            col(Indicator.kind).in_((TargetKind.QUALITATIVE, TargetKind.DEADLINE)),
        )
    ).all()
    _bulk(
        session,
        ReviewerGrade,
        [
            {
                "indicator_id": indicator_id,
                "band": Band.ACHIEVED,
                "percent": Decimal(90),
                "note": "",
                "actor": "synth",
                "updated_at": now,
            }
            for indicator_id, kind, done in judged
            if kind == TargetKind.QUALITATIVE or not done
        ],
    )
    _bulk(
        session,
        ProjectReview,
        [
            {
                "project_id": p.id,
                "outcome": "年度目标已按计划完成",
                "outcome_by": "synth",
                "outcome_at": now,
                "excluded": False,
                "exclusion_reason": "",
            }
            for p in projects
        ],
    )


def _bulk(session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(model.__table__.insert(), rows[start : start + CHUNK])


def count_indicators(session: Session, year: int) -> int:
    return session.execute(
        select(func.count(Indicator.id))
        .join(Project, Project.id == Indicator.project_id)
        .join(FiscalYear, FiscalYear.id == Project.fiscal_year_id)
        .where(FiscalYear.year == year)
    ).scalar_one()
