"""Closing the year (pure): trial and final runs, which report feeds a project, what stops a final run.

A trial (试算) may run any time; it reads accepted or submitted reports and marks everything as a trial.
A final run (正式计算) only happens after the year has ended, on accepted reports, with every doubt about a
target settled, every judgement graded and every project's 实际完成情况 written (docs/domain.md §9).  Draft and
returned reports never feed a score; the project says which report was left out and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .vocabulary import BlockerKind, ReportState, RunKind, Severity

TRIAL, FINAL = RunKind.TRIAL, RunKind.FINAL
# Which report states may feed a run of each kind.
FEEDS: dict[str, tuple[str, ...]] = {
    TRIAL: (ReportState.ACCEPTED, ReportState.SUBMITTED),
    FINAL: (ReportState.ACCEPTED,),
}
# A report's state as the sentence about it says it (「……报告已退回，未计入」).
STATE_WORDS: dict[str, str] = {
    ReportState.DRAFT: "尚为草稿",
    ReportState.SIGNED: "已签认、尚未提交",
    ReportState.SUBMITTED: "已提交、尚未审核",
    ReportState.RETURNED: "已退回",
    ReportState.ACCEPTED: "已审核通过",
}
BLOCKING_SEVERITIES = (Severity.WARNING, Severity.ERROR)


@dataclass(frozen=True)
class ReportRef:
    """One division's report for a quarter, as a run sees it."""

    division: str  # the division's name
    year: int
    quarter: int
    state: str
    version: int
    id: int | None = None

    @property
    def period(self) -> str:
        return f"{self.year}Q{self.quarter}"

    def describe(self) -> str:
        return f"{self.division} {self.period} 报告第 {self.version} 版（{ReportState.label_of(self.state)}）"

    def to_dict(self) -> dict[str, Any]:
        return {
            "division": self.division,
            "period": self.period,
            "version": self.version,
            "state": self.state,
            "state_label": ReportState.label_of(self.state),
            "report_id": self.id,
        }


def choose_source(reports: list[ReportRef], kind: str) -> tuple[ReportRef | None, list[ReportRef]]:
    """The latest report of a division that may feed a run of KIND, and the later ones that may not
    (each of those becomes a finding on the division's projects)."""
    feeds = FEEDS[kind]
    skipped: list[ReportRef] = []
    for report in sorted(reports, key=lambda r: r.quarter, reverse=True):
        if report.state in feeds:
            return report, skipped
        skipped.append(report)
    return None, skipped


def not_counted(report: ReportRef, kind: str) -> str:
    """「对外贸易处 2025Q3 报告已退回，未计入」"""
    why = "（正式计算只采用财务处审核通过的报告）" if kind == FINAL and report.state == ReportState.SUBMITTED else ""
    return f"{report.division} {report.period} 报告{STATE_WORDS.get(report.state, report.state)}，未计入{why}"


def no_source(division: str, year: int, kind: str) -> str:
    wanted = "审核通过" if kind == FINAL else "已提交或审核通过"
    return f"{division} {year} 年度没有{wanted}的季度报告，各指标按未填报计"


def through(source: ReportRef | None) -> str:
    """ "Q3" when the values run only to the third quarter; "" for the year's (Q4) report."""
    return "" if source is None or source.quarter == 4 else f"Q{source.quarter}"


def provenance(source: ReportRef | None, revision: dict[str, Any] | None) -> str:
    """Where a project's values and targets came from, in one line for its sheet."""
    values = source.describe() if source is not None else "无可计入的报告"
    if not revision:
        targets = "导入原值（未修订）"
    else:
        targets = f"含 {revision['count']} 次修订，最近一次为修订 #{revision['id']}（{revision['date']}）"
    return f"数据来源：{values}；指标值：{targets}"


@dataclass(frozen=True)
class Blocker:
    """One thing that stops a final run, with where it is fixed (the division, project and subject)."""

    kind: str  # year_open | report | target_finding | grade | outcome
    message: str
    division: str = ""  # name; "" for the year itself
    division_code: str = ""
    project: str = ""  # code
    project_name: str = ""
    subject: str = ""  # a period, an indicator code
    finding_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": BlockerKind.label_of(self.kind),
            "message": self.message,
            "division": self.division,
            "division_code": self.division_code,
            "project": self.project,
            "project_name": self.project_name,
            "subject": self.subject,
            "finding_id": self.finding_id,
        }


@dataclass
class ProjectClosing:
    code: str
    name: str
    excluded: bool = False
    has_outcome: bool = False
    open_findings: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # (id, indicator code, severity, message)
    ungraded: list[tuple[str, str]] = field(default_factory=list)  # (indicator code, name) needing a grade


@dataclass
class DivisionClosing:
    code: str
    name: str
    annual_report: ReportRef | None  # the Q4 report, whatever its state
    projects: list[ProjectClosing] = field(default_factory=list)


def final_run_blockers(year: int, today: date, divisions: list[DivisionClosing]) -> list[Blocker]:
    """Everything that must be done before a final run of YEAR, by division and project (empty: go ahead)."""
    blockers = []
    if today <= date(year, 12, 31):
        blockers.append(
            Blocker(
                BlockerKind.YEAR_OPEN,
                f"{year} 年度尚未结束（今天是 {today.isoformat()}），正式计算须在 "
                f"{year + 1}-01-01 及以后进行；现在只能试算",
            )
        )
    for division in sorted(divisions, key=lambda d: d.code):
        counted = [p for p in division.projects if not p.excluded]
        if not counted:
            continue
        where: dict[str, Any] = {"division": division.name, "division_code": division.code}
        report = division.annual_report
        if report is None:
            blockers.append(
                Blocker(
                    BlockerKind.REPORT,
                    f"{division.name} {year}Q4 报告尚未填报，须提交并经财务处审核通过",
                    subject=f"{year}Q4",
                    **where,
                )
            )
        elif report.state != ReportState.ACCEPTED:
            blockers.append(
                Blocker(
                    BlockerKind.REPORT,
                    f"{division.name} {year}Q4 报告{STATE_WORDS.get(report.state, report.state)}，须经财务处审核通过",
                    subject=report.period,
                    **where,
                )
            )
        for project in sorted(counted, key=lambda p: p.code):
            own: dict[str, Any] = dict(where, project=project.code, project_name=project.name)
            for finding_id, indicator, severity, message in project.open_findings:
                blockers.append(
                    Blocker(
                        BlockerKind.TARGET_FINDING,
                        f"{indicator or project.code}（{Severity.label_of(severity)}）："
                        f"{message}；请确认原值或更正指标值",
                        subject=indicator,
                        finding_id=finding_id,
                        **own,
                    )
                )
            for indicator, name in project.ungraded:
                blockers.append(
                    Blocker(BlockerKind.GRADE, f"{indicator}「{name}」尚待财务处评定档次", subject=indicator, **own)
                )
            if not project.has_outcome:
                blockers.append(
                    Blocker(
                        BlockerKind.OUTCOME,
                        f"{project.code} 尚未填写年度总体目标的实际完成情况（由{division.name}填写）",
                        **own,
                    )
                )
    return blockers


def grouped(blockers: list[Blocker]) -> list[tuple[str, list[tuple[str, list[Blocker]]]]]:
    """[(division or "年度", [(project "code name" or "", [blockers])])], in the order found."""
    divisions: dict[str, dict[str, list[Blocker]]] = {}
    for blocker in blockers:
        project = f"{blocker.project} {blocker.project_name}".strip()
        divisions.setdefault(blocker.division or "年度", {}).setdefault(project, []).append(blocker)
    return [(division, list(projects.items())) for division, projects in divisions.items()]


def refusal_text(year: int, blockers: list[Blocker], link: Callable[[Blocker], str] = lambda blocker: "") -> str:
    """The refusal as lines of Chinese (the CLI prints it; LINK gives where each is fixed)."""
    lines = [f"{year} 年度不能进行正式计算，尚有 {len(blockers)} 项未完成："]
    for division, projects in grouped(blockers):
        lines.append(division)
        for project, items in projects:
            indent = "  "
            if project:
                lines.append(f"  {project}")
                indent = "    "
            for blocker in items:
                where = link(blocker)
                lines.append(
                    f"{indent}- [{BlockerKind.label_of(blocker.kind)}] {blocker.message}"
                    + (f"  → {where}" if where else "")
                )
    return "\n".join(lines)
