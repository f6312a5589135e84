"""The demo year that `make run` shows: every role can log in, Q1–Q3 tell the whole story."""

from __future__ import annotations

from sqlmodel import func, select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_PASSWORD, DEMO_TODAY, demo_accounts, load_demo_reports
from service.models import ActualEntry, Division, Report

from .conftest import make_app


def test_demo_year_has_every_kind_of_report(seeded_engine, tmp_path):
    clock.set_today(DEMO_TODAY)
    with session_scope(seeded_engine) as session:
        accounts = demo_accounts(session)
        written = load_demo_reports(session)
        again = load_demo_reports(session)  # a second `make run` adds nothing
    assert written == 21 and again == 0
    assert {"admin", "caiwu", "shenji", "kac-head"} <= {a[0] for a in accounts}
    with session_scope(seeded_engine) as session:
        divisions = session.exec(select(Division.code)).all()
        assert all(code.lower() in {a[0] for a in accounts} for code in divisions)  # a reporter per division
        reports = session.exec(select(Report)).all()
        states = {r.state for r in reports}
        assert {"accepted", "submitted", "returned", "draft"} <= states
        assert sum(r.late for r in reports) >= 4
        assert {r.quarter for r in reports} == {1, 2, 3}
        lagging = session.exec(
            select(func.count())
            .select_from(ActualEntry)
            .where(ActualEntry.is_current.is_(True), ActualEntry.likelihood == "有可能")
        ).one()
        assert lagging > 10
    app = make_app(str(seeded_engine.url), tmp_path / "instance", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    assert client.post("/login", data={"username": "nmc", "password": DEMO_PASSWORD}).status_code == 302
    page = client.get("/reports/NMC/2025Q3").get_data(as_text=True)
    assert "已退回修改" in page and "请核实" in page
    app.extensions["perftrack.engine"].dispose()
