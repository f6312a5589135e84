"""Closing the year over the database: what still stops a final run, locking a final run as the year's
archived version (with its workbook as filed), unlocking with a reason (docs/domain.md §9.3, §9.5).  The
rules are pure, in `service.domain.closing`; this module gathers their inputs and records the decisions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from .clock import clock
from .decision_error import DecisionError
from .domain.closing import (
    BLOCKING_SEVERITIES,
    FINAL,
    Blocker,
    DivisionClosing,
    ProjectClosing,
    ReportRef,
    final_run_blockers,
)
from .domain.scoring import IndicatorInput, ScoringPolicy, needs_review
from .domain.targets import Target
from .domain.vocabulary import ArchiveAction, FindingState, RunKind, RunState, TargetKind
from .evaluation import current_run, locked_run, report_sources, saved_id, year_of
from .models import (
    ActualEntry,
    Division,
    EvaluationArchive,
    EvaluationLockEvent,
    EvaluationRun,
    FindingRow,
    FiscalYear,
    Indicator,
    IndicatorResult,
    Project,
    ProjectReview,
    Report,
    ReviewerGrade,
)


class ClosingError(DecisionError):
    """A lock or unlock that cannot be done; the message says why (Chinese)."""


def final_run_blockers_of(
    session: Session, fiscal_year: FiscalYear, policy: ScoringPolicy | None = None, today=None
) -> list[Blocker]:
    """Everything missing before a final run of the year, by division and project (empty: it may run)."""
    projects = session.execute(
        select(col(Project.id), col(Project.code), col(Project.name), col(Project.division_id))
        .where(col(Project.fiscal_year_id) == fiscal_year.id)
        .order_by(col(Project.code))
    ).all()
    divisions = (
        {
            d.id: d
            for d in session.execute(
                select(Division).where(col(Division.id).in_({p.division_id for p in projects}))
            ).scalars()
        }
        if projects
        else {}
    )
    annual = {
        r.division_id: r
        for r in session.execute(
            select(Report).where(col(Report.fiscal_year_id) == fiscal_year.id, col(Report.quarter) == 4)
        ).scalars()
    }
    reviews = {
        r.project_id: r
        for r in session.execute(
            select(col(ProjectReview.project_id), col(ProjectReview.excluded), col(ProjectReview.outcome))
            .join(Project, col(Project.id) == col(ProjectReview.project_id))
            .where(col(Project.fiscal_year_id) == fiscal_year.id)
        ).all()
    }  # columns, not objects: a province's year has 100,000 projects
    findings: dict[int, list] = {}
    for finding, indicator_code in session.execute(
        select(FindingRow, col(Indicator.code))
        .join(Project, col(Project.id) == col(FindingRow.project_id))
        .join(Indicator, col(Indicator.id) == col(FindingRow.indicator_id), isouter=True)
        .where(
            col(Project.fiscal_year_id) == fiscal_year.id,
            col(FindingRow.state) == FindingState.OPEN,
            col(FindingRow.severity).in_(BLOCKING_SEVERITIES),
        )
        .order_by(col(FindingRow.id))
    ).all():
        findings.setdefault(finding.project_id, []).append(
            (finding.id, indicator_code or "", finding.severity, finding.message)
        )
    ungraded = ungraded_indicators(session, fiscal_year)
    closing: dict[int, DivisionClosing] = {}
    for project in projects:
        division = divisions[project.division_id]
        if division.id not in closing:
            report = annual.get(division.id)
            ref = (
                ReportRef(division.name, fiscal_year.year, 4, report.state, report.version, report.id)
                if report
                else None
            )
            closing[division.id] = DivisionClosing(division.code, division.name, ref)
        review = reviews.get(project.id)
        closing[division.id].projects.append(
            ProjectClosing(
                project.code,
                project.name,
                excluded=bool(review and review.excluded),
                has_outcome=bool(review and review.outcome.strip()),
                open_findings=findings.get(project.id, []),
                ungraded=ungraded.get(project.id, []),
            )
        )
    return final_run_blockers(fiscal_year.year, today or clock.today(), list(closing.values()))


def ungraded_indicators(session: Session, fiscal_year: FiscalYear) -> dict[int, list[tuple[str, str]]]:
    """Per project, the qualitative and late-deadline indicators without a reviewer grade; deadlines are read
    from the year's Q4 report whatever its state (what the final run will read once it is accepted), else from
    the report a final run would read now."""
    rows = session.execute(
        select(
            col(Indicator.id),
            col(Indicator.project_id),
            col(Indicator.code),
            col(Indicator.name),
            col(Indicator.kind),
            col(Indicator.due),
            col(Project.division_id),
        )
        .join(Project, col(Project.id) == col(Indicator.project_id))
        .join(ReviewerGrade, col(ReviewerGrade.indicator_id) == col(Indicator.id), isouter=True)
        .where(
            col(Project.fiscal_year_id) == fiscal_year.id,
            col(ReviewerGrade.id).is_(None),
            col(Indicator.kind).in_((TargetKind.QUALITATIVE, TargetKind.DEADLINE)),
        )
        .order_by(col(Indicator.code))
    ).all()
    sources = report_sources(session, fiscal_year, FINAL)
    annual = dict(
        session.execute(
            select(col(Report.division_id), col(Report.id)).where(
                col(Report.fiscal_year_id) == fiscal_year.id, col(Report.quarter) == 4
            )
        ).all()
    )
    chosen = [annual.get(division_id) or (ref.id if ref else None) for division_id, ref in sources.chosen.items()]
    chosen = [rid for rid in chosen if rid is not None] + [rid for d, rid in annual.items() if d not in sources.chosen]
    deadlines = [r.id for r in rows if r.kind == TargetKind.DEADLINE]
    done = (
        {
            e.indicator_id: e
            for e in session.execute(
                select(col(ActualEntry.indicator_id), col(ActualEntry.done), col(ActualEntry.done_on)).where(
                    col(ActualEntry.indicator_id).in_(deadlines),
                    col(ActualEntry.is_current).is_(True),
                    col(ActualEntry.report_id).in_(chosen),
                )
            ).all()
        }
        if deadlines and chosen
        else {}
    )
    result: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        entry = done.get(r.id)
        probe = IndicatorInput(
            r.code,
            "",
            "",
            Target(r.kind, due=r.due, name=r.name),
            done=entry.done if entry else None,
            done_on=entry.done_on if entry else None,
        )
        if needs_review(probe):
            result.setdefault(r.project_id, []).append((r.code, r.name))
    return result


@dataclass
class Archive:
    version: int
    run_id: int
    locked_by: str
    locked_at: str
    unlocked: str  # "" while in force; else who, when and why it was unlocked
    size: int


def archives(session: Session, fiscal_year_id: int) -> list[Archive]:
    """Every archived version of the year, newest first, with its lock and unlock."""
    events = (
        session.execute(
            select(EvaluationLockEvent)
            .where(col(EvaluationLockEvent.fiscal_year_id) == fiscal_year_id)
            .order_by(col(EvaluationLockEvent.id))
        )
        .scalars()
        .all()
    )
    unlocks = {e.version: e for e in events if e.action == ArchiveAction.UNLOCK}
    locks = {e.version: e for e in events if e.action == ArchiveAction.LOCK}
    result = []
    for version, run_id, size in session.execute(
        select(
            col(EvaluationArchive.version), col(EvaluationArchive.run_id), func.length(col(EvaluationArchive.workbook))
        )
        .where(col(EvaluationArchive.fiscal_year_id) == fiscal_year_id)
        .order_by(col(EvaluationArchive.version).desc())
    ).all():
        lock, unlock = locks.get(version), unlocks.get(version)
        result.append(
            Archive(
                version,
                run_id,
                lock.actor if lock else "",
                _when(lock.created_at) if lock else "",
                f"{unlock.actor} 于 {_when(unlock.created_at)} 解锁：{unlock.reason}" if unlock else "",
                size or 0,
            )
        )
    return result


def _when(moment) -> str:
    return moment.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M")


def archived_workbook(session: Session, year: int, version: int) -> bytes:
    fiscal_year = year_of(session, year)
    data = session.execute(
        select(col(EvaluationArchive.workbook)).where(
            col(EvaluationArchive.fiscal_year_id) == fiscal_year.id, col(EvaluationArchive.version) == version
        )
    ).scalar()
    if data is None:
        raise ClosingError(f"{year} 年度没有归档版本 {version}")
    return data


def stale_overrides(session: Session, run: EvaluationRun) -> list[str]:
    return list(
        session.execute(
            select(col(Indicator.code))
            .join(IndicatorResult, col(IndicatorResult.indicator_id) == col(Indicator.id))
            .where(col(IndicatorResult.run_id) == run.id, col(IndicatorResult.override_stale).is_(True))
            .order_by(col(Indicator.code))
        ).scalars()
    )


def lock_run(session: Session, run: EvaluationRun, actor: str, settings=None) -> EvaluationRun:
    """Finance files the year on a final RUN: it becomes the next archived version, its workbook kept as filed."""
    from .exports.self_evaluation import build_self_evaluation

    if run.kind != RunKind.FINAL:
        raise ClosingError("试算结果不能锁定归档；请在年度结束、前提条件齐备后进行正式计算，再锁定")
    if run.state != RunState.DONE:
        raise ClosingError("只能锁定已完成的计算")
    if run.archive_version is not None:
        raise ClosingError(f"这次计算已是归档版本 {run.archive_version}；解锁后如需新版本，请重新进行正式计算")
    if locked_run(session, run.fiscal_year_id) is not None:
        raise ClosingError("该年度自评已锁定归档")
    latest = current_run(session, run.fiscal_year_id)
    if latest is None or latest.id != run.id:
        raise ClosingError("只能锁定本年度最新的一次计算（之后又有计算时，请在最新结果上重新正式计算）")
    stale = stale_overrides(session, run)
    if stale:
        raise ClosingError(f"尚有 {len(stale)} 项财务处调整在计算得分变化后待重新确认：{'、'.join(stale[:10])}")
    version = (
        session.execute(
            select(func.max(col(EvaluationRun.archive_version))).where(
                col(EvaluationRun.fiscal_year_id) == run.fiscal_year_id
            )
        ).scalar()
        or 0
    ) + 1
    run.locked, run.archive_version = True, version
    session.add(run)
    session.add(
        EvaluationLockEvent(
            fiscal_year_id=run.fiscal_year_id,
            run_id=saved_id(run.id),
            action=ArchiveAction.LOCK,
            version=version,
            actor=actor,
        )
    )
    session.flush()
    year = session.execute(select(col(FiscalYear.year)).where(col(FiscalYear.id) == run.fiscal_year_id)).scalar_one()
    data = build_self_evaluation(session, year, run=run, settings=settings).getvalue()
    session.add(
        EvaluationArchive(
            run_id=saved_id(run.id),
            fiscal_year_id=run.fiscal_year_id,
            version=version,
            workbook=data,
            sha256=hashlib.sha256(data).hexdigest(),
            actor=actor,
        )
    )
    session.flush()
    return run


def unlock_year(session: Session, year: int, actor: str, reason: str) -> EvaluationRun:
    """Reopen a locked year (finance or admin, with a reason, recorded); the archive stays, and the next
    locked final run becomes the next version."""
    fiscal_year = year_of(session, year)
    run = locked_run(session, fiscal_year.id)
    if run is None:
        raise ClosingError(f"{year} 年度自评没有锁定")
    reason = (reason or "").strip()
    if not reason:
        raise ClosingError("解锁必须说明原因")
    run.locked = False
    session.add(run)
    session.add(
        EvaluationLockEvent(
            fiscal_year_id=saved_id(fiscal_year.id),
            run_id=saved_id(run.id),
            action=ArchiveAction.UNLOCK,
            version=saved_id(run.archive_version),
            actor=actor,
            reason=reason,
        )
    )
    session.flush()
    return run


def blocker_path(blocker: Blocker, year: int, run_id: int | None) -> str:
    """Where a blocker is fixed, as a path of the web pages (the CLI prefixes the base URL)."""
    if blocker.kind == "report":
        return f"/reports/{blocker.division_code}/{blocker.subject}"
    if blocker.kind == "target_finding":
        return f"/projects/{blocker.project}" + (f"#{blocker.subject}" if blocker.subject else "")
    if blocker.kind in ("grade", "outcome") and run_id is not None:
        anchor = f"review-{blocker.subject}" if blocker.kind == "grade" else "outcome"
        return f"/self-evaluation/runs/{run_id}/projects/{blocker.project}#{anchor}"
    return f"/self-evaluation?year={year}"
