"""Which alerts are due on a day: dated targets and quarterly reports (pure).

Every alert has a deterministic key (kind, subject, due date, step), so planning the
same day twice, or a day and the next, yields keys that the database stores once.
Steps are chosen so that a missed day catches up with the latest step it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .periods import Period, periods_of
from .vocabulary import AlertKind

# Notices that ask the recipient to do something: shown above the others, never muted (§7).
ACTIONABLE_KINDS = frozenset(
    {
        AlertKind.RETURNED,
        AlertKind.REPORT_OVERDUE,
        AlertKind.DEADLINE_OVERDUE,
        AlertKind.SIGNOFF_REQUESTED,
        AlertKind.ESCALATION,
    }
)
# What a user may mute: information only.  Report reminders, due dates and everything actionable
# always arrive.
MUTABLE_KINDS = (AlertKind.DEADLINE_UPCOMING, AlertKind.LAGGING, AlertKind.BUDGET_DIGEST, AlertKind.DIGEST)


@dataclass(frozen=True)
class AlertSettings:
    upcoming_days: tuple[int, ...] = (30, 7, 1)
    overdue_every_days: int = 7
    report_due_soon_days: int = 3
    report_overdue_max: int = 5  # daily reminders for the first days late, then one a week
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
            # daily at first, then weekly: a division late for longer is still reminded (a missed
            # day catches up with the step it is in)
            step = f"day{late}" if late <= settings.report_overdue_max else f"week{late // 7}"
            if late <= settings.report_overdue_max or late >= 7:
                alerts.append(
                    AlertSpec(
                        AlertKind.REPORT_OVERDUE,
                        subject,
                        r.division_id,
                        due,
                        step,
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


# ---------------------------------------------------------------- budget execution, in a daily digest


@dataclass(frozen=True)
class BudgetLag:
    """A project whose budget execution trails 序时进度 on a day (§6.7)."""

    project_code: str
    project_name: str
    division_id: int
    division_code: str
    rate: Decimal | None
    expected: Decimal | None

    @property
    def text(self) -> str:
        rate = self.rate if self.rate is not None else 0
        return f"「{self.project_name}」执行率 {rate}%（序时进度 {self.expected}%）"


def week_of(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def budget_marks(lags: list[BudgetLag], day: date) -> list[AlertSpec]:
    """One mark per lagging project and ISO week, told to nobody by itself: the marks stored new
    today are what today's digests list, so a project is in at most one digest a week."""
    return [
        AlertSpec(
            AlertKind.LAGGING,
            f"{lag.project_code}-budget",
            lag.division_id,
            None,
            week_of(day),
            "digested",
            f"项目{lag.text}低于序时进度",
            f"/projects/{lag.project_code}",
        )
        for lag in lags
    ]


def budget_digests(new_lags: list[BudgetLag], day: date) -> list[AlertSpec]:
    """The day's budget digest: one per division with new lagging projects (to its people), and one
    for finance with all of them."""
    if not new_lags:
        return []
    by_division: dict[str, list[BudgetLag]] = {}
    for lag in new_lags:
        by_division.setdefault(lag.division_code, []).append(lag)
    specs = [
        AlertSpec(
            AlertKind.BUDGET_DIGEST,
            division_code,
            lags[0].division_id,
            None,
            day.isoformat(),
            "division",
            f"{len(lags)} 个项目预算执行滞后于序时进度：" + "；".join(lag.text for lag in lags),
            "/overview",
        )
        for division_code, lags in sorted(by_division.items())
    ]
    specs.append(
        AlertSpec(
            AlertKind.BUDGET_DIGEST,
            "finance",
            None,
            None,
            day.isoformat(),
            "finance",
            f"{len(new_lags)} 个项目预算执行滞后于序时进度（{len(by_division)} 个处室，本周首次提醒）："
            + "；".join(f"{lag.division_code} {lag.text}" for lag in new_lags),
            "/overview",
        )
    )
    return specs
