"""Which alerts are due on a day: dated targets and quarterly reports (pure).

Every alert has a deterministic key (kind, subject, due date, step), so planning the
same day twice, or a day and the next, yields keys that the database stores once.
Steps are chosen so that a missed day catches up with the latest step it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .periods import Period, periods_of
from .vocabulary import AlertKind


@dataclass(frozen=True)
class AlertSettings:
    upcoming_days: tuple[int, ...] = (30, 7, 1)
    overdue_every_days: int = 7
    report_due_soon_days: int = 3
    report_overdue_max: int = 5
    escalate_after_days: int = 7


@dataclass(frozen=True)
class DatedTarget:
    code: str  # indicator code
    name: str
    division_id: int
    due: date
    done: bool


@dataclass(frozen=True)
class DivisionReport:
    division_id: int
    division_code: str
    period: Period
    submitted: bool


@dataclass(frozen=True)
class AlertSpec:
    kind: AlertKind
    subject_code: str
    division_id: int | None
    due: date | None
    step: str
    audience: str  # division (its reporters and head) | escalation (head and finance) | head | finance | lagging
    message: str
    link: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject_code}:{self.due.isoformat() if self.due else '-'}:{self.step}"


def plan_deadlines(
    targets: list[DatedTarget], today: date, settings: AlertSettings = AlertSettings()
) -> list[AlertSpec]:
    alerts = []
    for t in targets:
        if t.done:
            continue  # reminders stop the moment it is done
        link = f"/indicators/{t.code}"
        days_left = (t.due - today).days
        if days_left > 0:
            passed = [n for n in settings.upcoming_days if days_left <= n]
            if passed:
                step = min(passed)
                alerts.append(
                    AlertSpec(
                        AlertKind.DEADLINE_UPCOMING,
                        t.code,
                        t.division_id,
                        t.due,
                        f"d{step}",
                        "division",
                        f"「{t.name}」（{t.code}）将于 {t.due.isoformat()} 到期，还有 {days_left} 天",
                        link,
                    )
                )
        elif days_left == 0:
            alerts.append(
                AlertSpec(
                    AlertKind.DEADLINE_DUE,
                    t.code,
                    t.division_id,
                    t.due,
                    "due",
                    "division",
                    f"「{t.name}」（{t.code}）今天到期，请按时完成并在季度报告中填报",
                    link,
                )
            )
        else:
            late = -days_left
            week = (late - 1) // settings.overdue_every_days
            alerts.append(
                AlertSpec(
                    AlertKind.DEADLINE_OVERDUE,
                    t.code,
                    t.division_id,
                    t.due,
                    f"w{week}",
                    "division",
                    f"「{t.name}」（{t.code}）已逾期 {late} 天（截止 {t.due.isoformat()}）",
                    link,
                )
            )
            if late >= settings.escalate_after_days:
                alerts.append(
                    AlertSpec(
                        AlertKind.ESCALATION,
                        t.code,
                        t.division_id,
                        t.due,
                        "7d",
                        "escalation",
                        f"「{t.name}」（{t.code}）逾期已超过 {settings.escalate_after_days} 天，请处室负责人督办",
                        link,
                    )
                )
    return alerts


def plan_reports(
    reports: list[DivisionReport], today: date, due_days: int, settings: AlertSettings = AlertSettings()
) -> list[AlertSpec]:
    alerts = []
    for r in reports:
        if r.submitted:
            continue
        period, due = r.period, r.period.due(due_days)
        subject = f"{r.division_code}-{period.code}"
        link = f"/reports/{r.division_code}/{period.code}"
        if not period.is_open(today):
            continue
        if today <= due - timedelta(days=settings.report_due_soon_days):
            alerts.append(
                AlertSpec(
                    AlertKind.REPORT_OPEN,
                    subject,
                    r.division_id,
                    due,
                    "open",
                    "division",
                    f"{period.label}绩效监控报告已开放填报，请于 {due.isoformat()} 前提交",
                    link,
                )
            )
        elif today <= due:
            alerts.append(
                AlertSpec(
                    AlertKind.REPORT_DUE_SOON,
                    subject,
                    r.division_id,
                    due,
                    "soon",
                    "division",
                    f"{period.label}绩效监控报告将于 {due.isoformat()} 截止，尚未提交",
                    link,
                )
            )
        else:
            late = (today - due).days
            if late <= settings.report_overdue_max:
                alerts.append(
                    AlertSpec(
                        AlertKind.REPORT_OVERDUE,
                        subject,
                        r.division_id,
                        due,
                        f"day{late}",
                        "division",
                        f"{period.label}绩效监控报告已逾期 {late} 天，请尽快提交",
                        link,
                    )
                )
            if late >= settings.escalate_after_days:
                alerts.append(
                    AlertSpec(
                        AlertKind.ESCALATION,
                        subject,
                        r.division_id,
                        due,
                        "7d",
                        "escalation",
                        f"{period.label}绩效监控报告逾期已超过 {settings.escalate_after_days} 天仍未提交，"
                        "请处室负责人督办",
                        link,
                    )
                )
    return alerts


def reports_owed(
    year: int, today: date, divisions: list[tuple[int, str]], submitted: set[tuple[int, int]], due_days: int
) -> list[DivisionReport]:
    """Each division's reports of periods already open (year end included)."""
    return [
        DivisionReport(division_id, code, period, (division_id, period.quarter) in submitted)
        for division_id, code in divisions
        for period in periods_of(year)
        if period.is_open(today) and today <= period.due(due_days) + timedelta(days=60)
    ]
