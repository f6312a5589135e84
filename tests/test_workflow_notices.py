"""Notices people act on: actionable ones first, opening marks read, informational kinds can be
muted, escalations reach someone in the division, late reports keep being reminded, and budget lags
arrive in a daily digest at most once a week per project.  Ends with a simulated quarter."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date
from types import SimpleNamespace

import pytest
from sqlmodel import select

from service.alerting import create_alerts, raise_budget_digests, recipients
from service.clock import clock
from service.db import make_engine, session_scope
from service.demo import demo_accounts
from service.domain.alerts import ACTIONABLE_KINDS, AlertSpec, DivisionReport, plan_reports, week_of
from service.domain.periods import Period
from service.domain.vocabulary import AlertKind
from service.models import Alert, Notification, User
from service.monitoring import sweep
from service.reporting.reports import load_scope, save, transition
from workers.simulate import simulate

from .conftest import ROOT
from .reporting_helpers import complete_rows


def _spec(kind, division_id, step="s", audience="division", message="提醒", link="/reports"):
    return AlertSpec(kind, f"{kind}-{step}", division_id, None, step, audience, message, link)


def _users(session) -> dict[str, User]:
    return {u.username: u for u in session.exec(select(User)).all()}


def test_actionable_notices_come_first_and_opening_one_marks_it_read(app, client_as):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        xxh = _users(session)["xxh"]
        create_alerts(session, [_spec(AlertKind.RETURNED, xxh.division_id, message="被财务处退回")], date(2025, 7, 1))
        create_alerts(
            session,
            [_spec(AlertKind.LAGGING, xxh.division_id, step=f"n{n}", audience="lagging") for n in range(7)],
            date(2025, 7, 2),
        )
    page = client_as("xxh").get("/inbox").get_data(as_text=True)
    actionable = page.split('id="actionable"')[1].split("</table>")[0]
    informational = page.split('id="informational"')[1].split("</table>")[0]
    assert "被财务处退回" in actionable and "returned" in actionable and "lagging" not in actionable
    assert informational.count('data-kind="lagging"') == 7
    assert page.index('id="actionable"') < page.index('id="informational"')
    assert "需要您处理（1 条未读）" in page and ">标为已读<" in page and "全部标为已读" in page
    with session_scope(engine) as session:
        notice = session.exec(
            select(Notification.id)
            .join(Alert, Alert.id == Notification.alert_id)
            .where(Alert.kind == "returned", Notification.channel == "inbox")
        ).one()
    opened = client_as("xxh").get(f"/inbox/{notice}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/reports"
    with session_scope(engine) as session:
        assert session.get(Notification, notice).read_at is not None
    assert client_as("kac").get(f"/inbox/{notice}").status_code == 404  # someone else's
    assert "需要您处理（0 条未读）" in client_as("xxh").get("/inbox").get_data(as_text=True)


def test_informational_kinds_can_be_muted_actionable_ones_cannot(app, client_as):
    xxh = client_as("xxh")
    page = xxh.get("/notifications/settings").get_data(as_text=True)
    assert 'value="lagging"' in page and 'value="returned"' not in page
    xxh.post("/notifications/settings", data={"notify_email": "1", "muted": ["lagging", "deadline_upcoming"]})
    refused = xxh.post("/notifications/settings", data={"muted": ["returned"]}, follow_redirects=True)
    assert "以下提醒不能关闭：报告被退回" in refused.get_data(as_text=True)
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        users = _users(session)
        assert users["xxh"].muted_kinds == ["deadline_upcoming", "lagging"]
        division = users["xxh"].division_id
        lagging = _spec(AlertKind.LAGGING, division, audience="lagging")
        returned = _spec(AlertKind.RETURNED, division)
        everyone = list(users.values())
        assert [u.username for u in recipients(everyone, lagging)] == ["caiwu"]  # xxh muted it
        assert [u.username for u in recipients(everyone, returned)] == ["xxh"]


def test_an_escalation_reaches_the_head_or_else_the_reporters():
    people = [
        SimpleNamespace(username="caiwu", role="finance", division_id=None, muted_kinds=[]),
        SimpleNamespace(username="kac", role="reporter", division_id=1, muted_kinds=[]),
        SimpleNamespace(username="kac-head", role="head", division_id=1, muted_kinds=[]),
        SimpleNamespace(username="wmc", role="reporter", division_id=2, muted_kinds=[]),
    ]
    with_head = recipients(people, _spec(AlertKind.ESCALATION, 1, audience="escalation"))
    without_head = recipients(people, _spec(AlertKind.ESCALATION, 2, audience="escalation"))
    assert [u.username for u in with_head] == ["caiwu", "kac-head"]
    assert [u.username for u in without_head] == ["caiwu", "wmc"]


def test_a_late_report_is_reminded_daily_then_weekly():
    q3 = Period(2025, 3)  # due 2025-10-10
    owed = [DivisionReport(5, "WMC", q3, False)]
    steps = {
        day: [(a.kind, a.step) for a in plan_reports(owed, date(2025, 10, day), 10) if a.kind != "escalation"]
        for day in (11, 15, 16, 17, 20, 24, 31)
    }
    assert steps == {
        11: [("report_overdue", "day1")],
        15: [("report_overdue", "day5")],
        16: [],
        17: [("report_overdue", "week1")],
        20: [("report_overdue", "week1")],  # first seen on the demo day: caught up, once (same key)
        24: [("report_overdue", "week2")],
        31: [("report_overdue", "week3")],
    }
    assert AlertKind.REPORT_OVERDUE in ACTIONABLE_KINDS


def test_budget_lags_are_gathered_once_a_week_per_project(app):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        sweep(session, 2025, date(2025, 7, 14))
        digests, _ = raise_budget_digests(session, date(2025, 7, 14))  # a Monday
        again, _ = raise_budget_digests(session, date(2025, 7, 15))
        next_week, _ = raise_budget_digests(session, date(2025, 7, 21))
        finance = next(a for a in digests if a.subject_code == "finance")
        per_division = [a for a in digests if a.subject_code != "finance"]
        marks = session.exec(select(Alert).where(Alert.kind == "lagging")).all()
        marked_notices = session.exec(
            select(Notification).join(Alert, Alert.id == Notification.alert_id).where(Alert.kind == "lagging")
        ).all()
    assert again == [] and {a.subject_code for a in next_week} == {a.subject_code for a in digests}
    assert len(marks) == 2 * finance.message.count("「") and marked_notices == []  # marks reach nobody alone
    assert finance.message.startswith("62 个项目预算执行滞后于序时进度")
    assert sum(a.message.count("「") for a in per_division) == 62


@pytest.fixture
def engine(seeded_url):
    engine = make_engine(seeded_url)
    yield engine
    engine.dispose()


def _submit(engine, division: str, reporter: str, head: str | None, quarter: int, on: date) -> None:
    with clock.restored():
        clock.set_today(on)
        with session_scope(engine) as session:
            scope = load_scope(session, 2025, division, quarter)
            actuals, spend = complete_rows(scope, Period(2025, quarter).end)
            users = _users(session)
            save(session, scope, users[reporter], actuals, spend, "test")
            if head:
                transition(session, scope, users[head], "sign")
            transition(session, scope, users[head or reporter], "submit")


def test_a_simulated_quarter_tells_each_role_what_it_must_know_once(engine, worker_env):
    """2025-06-30 … 2025-10-20: Q2 opens, XXH reports on time, KAC late (signed by its head), the
    rest never; Q3 opens and nobody reports it.  Every notice, per user, written to
    test-artifacts/notices-quarter.json."""

    def on_day(day, _alerts):
        if day == date(2025, 7, 8):
            _submit(engine, "XXH", "xxh", None, 2, day)
        if day == date(2025, 7, 22):
            _submit(engine, "KAC", "kac", "kac-head", 2, day)

    with session_scope(engine) as session:
        demo_accounts(session)  # a reporter for every division, as in the demo
    alerts = simulate(engine, worker_env["REDIS_URL"], date(2025, 6, 30), date(2025, 10, 20), on_day)
    with session_scope(engine) as session:
        rows = session.exec(
            select(Alert, Notification, User)
            .join(Notification, Notification.alert_id == Alert.id)
            .join(User, User.id == Notification.user_id)
            .where(Notification.channel == "inbox")
            .order_by(Alert.id)
        ).all()
        users = _users(session)
        unheard = session.exec(
            select(Alert).where(Alert.kind != "lagging", ~Alert.id.in_(select(Notification.alert_id)))
        ).all()
        received = [(a.kind, a.subject_code, a.step, a.as_of, a.message, u.username) for a, _n, u in rows]
    # none duplicated: one inbox notice per alert and user; none lost: every alert but a budget mark reached someone
    assert len(received) == len({(k, s, st, u) for k, s, st, _d, _m, u in received})
    assert unheard == []
    by_user: dict[str, Counter] = defaultdict(Counter)
    for kind, _s, _st, _d, _m, username in received:
        by_user[username][kind] += 1
    assert set(by_user["caiwu"]) == {"escalation", "budget_digest", "digest"}
    assert by_user["xxh"]["report_open"] == 2 and by_user["xxh"]["budget_digest"] >= 14
    assert by_user["kac"]["report_overdue"] >= 5
    assert "escalation" not in by_user["kac"]  # KAC has a head: the head is the one asked to act
    escalations = {(s, u) for k, s, _st, _d, _m, u in received if k == "escalation"}
    assert {("KAC-2025Q2", "kac-head"), ("KAC-2025Q2", "caiwu")} <= escalations
    assert ("XXH-2025Q3", "xxh") in escalations  # no head in XXH: its reporter hears it
    assert ("WMC-2025Q2", "wmc") in escalations
    # budget: at most one notice per project, recipient and week
    listed: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for kind, _s, _st, day, message, username in received:
        if kind == "budget_digest":
            for name in re.findall(r"「([^」]+)」", message):
                listed[(username, week_of(day))][name] += 1
    assert listed and all(count == 1 for counts in listed.values() for count in counts.values())
    assert max(sum(c.values()) for (u, _w), c in listed.items() if u == "caiwu") <= 62
    assert users["xxh"].muted_kinds == []
    summary = {username: dict(sorted(counts.items())) for username, counts in sorted(by_user.items())}
    out = ROOT / "test-artifacts" / "notices-quarter.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"from": "2025-06-30", "to": "2025-10-20", "per_user": summary}, ensure_ascii=False, indent=1)
    )
    assert "admin" not in summary and "shenji" not in summary  # nobody there acts on a report
    assert len(alerts) == len({(a["kind"], a["subject"], a["step"]) for a in alerts})
