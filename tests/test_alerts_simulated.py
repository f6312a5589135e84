"""Alerts over a simulated stretch of the sample year, through real queues and a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from sqlmodel import func, select

from service.clock import clock
from service.db import make_engine, session_scope
from service.models import Alert, Indicator, Notification, Project, User
from service.reporting.reports import load_scope, save, transition
from workers.simulate import simulate

from .conftest import ROOT
from .reporting_helpers import complete_rows


@pytest.fixture
def engine(seeded_url):
    engine = make_engine(seeded_url)
    yield engine
    engine.dispose()


def test_a_dated_target_gets_its_30_7_1_day_and_due_notices_exactly_once(engine, worker_env):
    with session_scope(engine) as session:
        code = session.exec(
            select(Indicator.code)
            .join(Project, Project.id == Indicator.project_id)
            .where(Project.code == "2025-015", Indicator.due == date(2025, 3, 31))
        ).first()
    alerts = simulate(engine, worker_env["REDIS_URL"], date(2025, 2, 20), date(2025, 3, 31))
    mine = [(a["kind"], a["step"], a["as_of"]) for a in alerts if a["subject"] == code]
    assert mine == [
        ("deadline_upcoming", "d30", "2025-03-01"),
        ("deadline_upcoming", "d7", "2025-03-24"),
        ("deadline_upcoming", "d1", "2025-03-30"),
        ("deadline_due", "due", "2025-03-31"),
    ]
    assert all(a["recipients"] == ["kac", "kac-head"] for a in alerts if a["subject"] == code)
    assert simulate(engine, worker_env["REDIS_URL"], date(2025, 2, 20), date(2025, 3, 31)) == []  # replay


def _submit_q1(engine, division: str, username: str) -> None:
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, division, 1)
        actuals, spend = complete_rows(scope, date(2025, 3, 31))
        user = session.exec(select(User).where(User.username == username)).one()
        save(session, scope, user, actuals, spend, "test")
        transition(session, scope, user, "submit")


def test_reminders_to_a_division_that_does_not_report_then_stop_when_it_does(engine, worker_env):
    def on_day(day, _alerts):
        if day == date(2025, 4, 20):
            with clock.restored():
                clock.set_today(day)
                _submit_q1(engine, "XXH", "xxh")

    alerts = simulate(engine, worker_env["REDIS_URL"], date(2025, 4, 5), date(2025, 4, 30), on_day)
    xxh = [(a["kind"], a["step"], a["as_of"], a["recipients"]) for a in alerts if a["subject"] == "XXH-2025Q1"]
    assert xxh == [
        ("report_open", "open", "2025-04-05", ["xxh"]),
        ("report_due_soon", "soon", "2025-04-08", ["xxh"]),
        *[("report_overdue", f"day{n}", f"2025-04-{10 + n}", ["xxh"]) for n in range(1, 6)],
        ("report_overdue", "week1", "2025-04-17", ["xxh"]),  # then weekly while it is still late
        ("escalation", "7d", "2025-04-17", ["caiwu", "xxh"]),  # XXH has no head: its reporter hears it
    ]
    kac = [(a["kind"], a["as_of"]) for a in alerts if a["subject"] == "KAC-2025Q1"]
    assert ("escalation", "2025-04-17") in kac and kac[-1] == ("report_overdue", "2025-04-24")  # week2
    escalation = next(a for a in alerts if a["subject"] == "KAC-2025Q1" and a["kind"] == "escalation")
    assert escalation["recipients"] == ["caiwu", "kac-head"]


def test_two_schedulers_over_the_same_days_create_no_duplicates(engine, worker_env):
    env = dict(os.environ, **worker_env)
    command = [sys.executable, "-m", "service.cli", "simulate", "--from", "2025-03-28", "--to", "2025-04-12", "--json"]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    for run in runs:
        _out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()[-2000:]
    with session_scope(engine) as session:
        total = session.exec(select(func.count()).select_from(Alert)).one()
        keys = session.exec(select(func.count(func.distinct(Alert.key)))).one()
        per_alert = session.exec(
            select(Notification.alert_id, Notification.user_id, func.count())
            .group_by(Notification.alert_id, Notification.user_id, Notification.channel)
            .having(func.count() > 1)
        ).all()
    assert total == keys and per_alert == []
    # the same days once more, in this process: nothing new
    assert simulate(engine, worker_env["REDIS_URL"], date(2025, 3, 28), date(2025, 4, 12)) == []
    single = {
        "deadline_upcoming",
        "deadline_due",
        "report_open",
        "report_due_soon",
        "report_overdue",
        "deadline_overdue",
        "escalation",
        "digest",
        "budget_digest",
        "lagging",  # the weekly budget marks behind the digest (told to nobody by themselves)
    }
    with session_scope(engine) as session:
        kinds = set(session.exec(select(Alert.kind).distinct()).all())
    assert kinds <= single and "report_overdue" in kinds


def test_finance_gets_a_weekly_digest_on_mondays_only(engine, worker_env):
    alerts = simulate(engine, worker_env["REDIS_URL"], date(2025, 4, 12), date(2025, 4, 22))
    digests = [(a["as_of"], a["step"], a["recipients"]) for a in alerts if a["kind"] == "digest"]
    assert digests == [("2025-04-14", "2025-W16", ["caiwu"]), ("2025-04-21", "2025-W17", ["caiwu"])]


@pytest.mark.processes
def test_simulate_without_redis_url_starts_an_embedded_redis(seeded_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PERFTRACK_TODAY")}
    env |= {"DATABASE_URL": seeded_url, "PERFTRACK_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "test"}
    command = [sys.executable, "-m", "service.cli", "simulate", "--from", "2025-03-29", "--to", "2025-04-01"]
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2025-04-01  " in run.stdout and "report_open" in run.stdout, run.stdout
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        created = session.exec(select(func.count()).select_from(Alert)).one()
    engine.dispose()
    assert f"共生成提醒 {created} 条" in run.stdout and created > 0
