"""The demo year: accounts for every role and Q1–Q3 reports of the sample year, written
through the same service functions people use, on a simulated clock.

Deterministic (fixed seed), so screenshots and walkthroughs look the same every time.
Some reports are late, some were returned and resubmitted, one is returned right now,
and some indicators lag behind 序时进度.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, select

from .accounts import create_user
from .clock import clock
from .domain.actuals import RawActual, read_actual
from .domain.periods import Period
from .domain.vocabulary import CauseCategory, Direction, Likelihood, Measure, ReportAction, Role, TargetKind
from .models import Division, Indicator, Project, User
from .reporting.followup import follow_up
from .reporting.reports import (
    ActualRow,
    SpendRow,
    current_actuals,
    load_scope,
    previous_report,
    previous_spend,
    save,
    transition,
)
from .stored_targets import target_of

DEMO_TODAY = date(2025, 10, 20)
DEMO_PASSWORD = "perftrack2025"
DEMO_YEAR = 2025
HEAD_SIGNOFF_DIVISION = "KAC"
STAFF = [
    ("admin", "系统管理员", Role.ADMIN),
    ("caiwu", "财务处 王会计", Role.FINANCE),
    ("shenji", "审计 李审计", Role.AUDITOR),
]


def demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """(username, role label, division) of every demo login, creating the missing ones."""
    accounts = []
    existing = set(session.exec(select(User.username)).all())
    for username, name, role in STAFF:
        if username not in existing:
            create_user(session, username, name, role, None, DEMO_PASSWORD)
        accounts.append((username, name, ""))
    for division in session.exec(select(Division).order_by(Division.code)).all():
        username = division.code.lower()
        if username not in existing:
            create_user(session, username, f"{division.name}填报人", Role.REPORTER, division.code, DEMO_PASSWORD)
        accounts.append((username, "填报人", division.name))
        if division.code == HEAD_SIGNOFF_DIVISION:
            division.requires_head_signoff = True
            session.add(division)
            if f"{username}-head" not in existing:
                create_user(
                    session, f"{username}-head", f"{division.name}负责人", Role.HEAD, division.code, DEMO_PASSWORD
                )
            accounts.append((f"{username}-head", "处室负责人", division.name))
    session.flush()
    return accounts


# (division, quarter) -> how the story goes; anything not listed is submitted on time and accepted.
STORY = {
    ("NMC", 1): "late",
    ("WZC", 1): "late",
    ("XXH", 2): "returned_then_accepted",
    ("WMC", 2): "late",
    ("XXH", 3): "submitted",
    ("KAC", 3): "submitted",
    ("NMC", 3): "returned",
    ("WMC", 3): "draft",
    ("WZC", 3): "submitted",
    ("BGS", 3): "late_submitted",
}


def _at(day: date, hour: int = 10) -> None:
    clock.set_today(day, time(hour, 0))


def load_demo_reports(session: Session, year: int = DEMO_YEAR, quarters: tuple[int, ...] = (1, 2, 3)) -> int:
    """Write QUARTERS (Q1–Q3 for the demo day; Q4 after the year, to close it) for every division that has
    projects; returns how many reports were written."""
    rng = random.Random(2025)
    users = {u.username: u for u in session.exec(select(User)).all()}
    finance = users["caiwu"]
    divisions = session.exec(select(Division).order_by(Division.code)).all()
    pace = {}  # indicator id -> its own pace against 序时进度, stable across quarters
    written = 0
    with clock.restored():
        for quarter in quarters:
            for division in divisions:
                scope = load_scope(session, year, division.code, quarter)
                if not scope.indicators or scope.report.id is not None:
                    continue
                story = STORY.get((division.code, quarter), "accepted")
                reporter = users[division.code.lower()]
                head = users.get(f"{division.code.lower()}-head")
                due = scope.period.due(scope.year.report_due_days)
                _at(due - timedelta(days=6) if "late" not in story else due + timedelta(days=5), 9)
                earlier = previous_report(session, scope)  # a year-to-date value never falls below the last quarter's
                floors = {i: e.number for i, e in current_actuals(session, earlier.id).items()} if earlier else {}
                rows = [
                    _demo_row(code, indicator, quarter, pace, rng, floor=floors.get(indicator.id))
                    for code, (indicator, _p) in scope.indicators.items()
                ]
                spent_before = {p: e.spent for p, e in previous_spend(session, scope).items()}
                spend = [  # spend to date never falls below last quarter's (it would need a reason)
                    _demo_spend(project, quarter, rng, floor=spent_before.get(project.id))
                    for project in scope.projects.values()
                ]
                save(session, scope, reporter, rows, spend, "web")
                written += 1
                if story == "draft":
                    continue
                if head is not None:
                    transition(session, scope, head, ReportAction.SIGN)
                transition(session, scope, head or reporter, ReportAction.SUBMIT)
                if story in ("submitted", "late_submitted"):
                    continue
                _at(clock.today() + timedelta(days=2), 15)
                if story in ("returned", "returned_then_accepted"):
                    code, (indicator, _p) = next(iter(scope.indicators.items()))
                    transition(
                        session,
                        scope,
                        finance,
                        ReportAction.RETURN,
                        "请核实第一项指标的口径并补充佐证",
                        {code: f"「{indicator.name}」的实际值与上报的活动记录不一致，请核实"},
                    )
                    follow_up(session, scope, ReportAction.RETURN, None, "请核实第一项指标的口径并补充佐证")
                    if story == "returned":
                        continue
                    _at(clock.today() + timedelta(days=1), 11)
                    fixed = _demo_row(code, indicator, quarter, pace, rng, nudge=Decimal("1.05"))
                    save(session, scope, reporter, [fixed], [], "web")
                    if head is not None:
                        transition(session, scope, head, ReportAction.SIGN)
                    transition(session, scope, head or reporter, ReportAction.SUBMIT)
                    _at(clock.today() + timedelta(days=1), 16)
                transition(session, scope, finance, ReportAction.ACCEPT)
    return written


def _demo_row(
    code: str,
    indicator: Indicator,
    quarter: int,
    pace: dict,
    rng: random.Random,
    nudge: Decimal = Decimal(1),
    floor: Decimal | None = None,
) -> ActualRow:
    target = target_of(indicator)
    share = pace.setdefault(indicator.id, Decimal(str(rng.choice([0.55, 0.7, 0.95, 1.0, 1.05, 1.1, 1.2, 1.0, 1.0]))))
    share *= nudge
    raw = RawActual()
    end = date(DEMO_YEAR, 12, 31) if quarter == 4 else date(DEMO_YEAR, quarter * 3, 28)
    if target.kind == TargetKind.DEADLINE:
        if target.due and target.due <= end:
            raw.value = (target.due - timedelta(days=rng.randint(1, 20))).isoformat()
        else:
            raw.value, raw.expected_on = "未完成", (target.due or date(DEMO_YEAR, 12, 31)).isoformat()
    elif target.kind == TargetKind.QUALITATIVE:
        raw.value = [
            "按计划推进，阶段性工作已完成",
            "已完成年度工作的大部分内容",
            "正在组织实施，进展顺利",
            "年度工作已全部完成，达到预期效果",
        ][quarter - 1]
    elif target.value is not None:
        goal = target.value
        if target.measure == Measure.CUMULATIVE:
            value = (
                goal * Decimal(quarter) / 4 * (share if target.direction == Direction.HIGHER_BETTER else Decimal("0.9"))
            )
        else:
            value = goal * (min(share, Decimal(1)) if target.direction == Direction.HIGHER_BETTER else Decimal("0.9"))
        if target.is_rate:
            value = min(value, Decimal(100))
        if target.measure == Measure.CUMULATIVE and floor is not None:
            value = max(value, floor)
        places = Decimal(1) if goal == goal.to_integral_value() and target.unit != "万元" else Decimal("0.01")
        raw.value = str(value.quantize(places, rounding=ROUND_HALF_UP))
    else:  # the target has no number (a finding for finance); report something plausible
        raw.value = str(quarter * 5)
    behind = read_actual(target, raw, Period(DEMO_YEAR, quarter)).light.behind
    raw.likelihood = Likelihood.POSSIBLE if behind else Likelihood.CERTAIN
    if behind:
        raw.cause_category = rng.choice([CauseCategory.FUNDING, CauseCategory.RULES, CauseCategory.STAFF])
        raw.cause_text = "资金拨付和项目招标进度晚于计划"
        raw.measure_text = "加快采购流程，四季度集中推进"
    return ActualRow(code, raw, f"demo {code}")


def _demo_spend(project: Project, quarter: int, rng: random.Random, floor: Decimal | None = None) -> SpendRow:
    share = Decimal(quarter) / 4 * Decimal(str(rng.choice([0.6, 0.8, 0.9, 1.0])))
    spent = (project.budget * share).quantize(Decimal("0.01"))
    if floor is not None:
        spent = max(spent, floor)
    return SpendRow(project.code, str(spent), "", f"demo {project.code}")


def monitor_demo_day(session: Session, day: date = DEMO_TODAY) -> int:
    """Statuses and the day's reminders as the background jobs would have left them; returns alerts made."""
    from .alerting import create_alerts, plan_day, raise_budget_digests
    from .monitoring import lagging_alerts, sweep

    sweep(session, DEMO_YEAR, day)
    projects = list(session.exec(select(Project.id)).all())
    created, _deliveries = create_alerts(session, plan_day(session, day) + lagging_alerts(session, projects, day), day)
    digests, _deliveries = raise_budget_digests(session, day)
    return len(created) + len(digests)
