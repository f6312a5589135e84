"""Locking a period: not before its due date has passed, and not over reports still in motion
unless finance confirms with a reason (recorded).  Service, page and API."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import make_engine, session_scope
from service.domain.periods import Period
from service.models import FiscalYear, PeriodLockEvent, User
from service.reporting.reports import ReportError, load_scope, lock_check, save, set_period_lock, transition

from .reporting_helpers import complete_rows


@pytest.fixture
def engine(seeded_database_url):
    engine = make_engine(seeded_database_url)
    clock.set_today(date(2025, 7, 3))
    yield engine
    engine.dispose()


def _user(session, name: str) -> User:
    return session.exec(select(User).where(User.username == name)).one()


def _submit(session, division: str, reporter: str, head: str | None = None) -> None:
    scope = load_scope(session, 2025, division, 2)
    actuals, spend = complete_rows(scope, date(2025, 6, 30))
    save(session, scope, _user(session, reporter), actuals, spend, "test")
    if head:
        transition(session, scope, _user(session, head), "sign")
    transition(session, scope, _user(session, reporter), "submit")


def test_a_period_is_lockable_from_the_day_after_it_is_due():
    q2 = Period(2025, 2)
    assert q2.due(10) == date(2025, 7, 10) and q2.lockable_from(10) == date(2025, 7, 11)
    assert not q2.is_lockable(date(2025, 7, 10), 10) and q2.is_lockable(date(2025, 7, 11), 10)
    assert not Period(2025, 4).is_lockable(date(2025, 10, 20), 10)  # Q4 before it even opens


def test_no_lock_before_the_due_date_has_passed(engine):
    clock.set_today(date(2025, 7, 10))
    with session_scope(engine) as session:
        year = session.exec(select(FiscalYear)).one()
        with pytest.raises(ReportError) as caught:
            set_period_lock(session, year, 2, _user(session, "caiwu"), True)
        assert caught.value.status == 409
        assert caught.value.message == "2025年第2季度的报告 2025-07-10 截止，2025-07-11 起才能锁定"
        with pytest.raises(ReportError, match="2026-01-11 起才能锁定"):
            set_period_lock(session, year, 4, _user(session, "caiwu"), True)
        assert session.exec(select(PeriodLockEvent)).all() == []


def test_reports_in_motion_block_the_lock_until_finance_confirms_with_a_reason(engine):
    with session_scope(engine) as session:
        _submit(session, "XXH", "xxh")
        _submit(session, "KAC", "kac", head="kac-head")
        kac = load_scope(session, 2025, "KAC", 2)
        transition(session, kac, _user(session, "caiwu"), "return", "请核实")
    clock.set_today(date(2025, 7, 11))
    with session_scope(engine) as session:
        year = session.exec(select(FiscalYear)).one()
        check = lock_check(session, year, 2)
        states = {o.division_code: o.state for o in check.outstanding}
        assert states["XXH"] == "submitted" and states["KAC"] == "returned"
        assert "not_started" in states.values()  # divisions that never started are listed too
        assert {o.division_code for o in check.in_motion} == {"XXH", "KAC"}
        finance = _user(session, "caiwu")
        with pytest.raises(ReportError) as refused:
            set_period_lock(session, year, 2, finance, True)
        assert refused.value.status == 409
        assert "还有 2 份报告未审核完毕" in refused.value.message
        assert (
            "口岸管理处（已退回修改）" in refused.value.message
            and "电子商务和信息化处（已提交待审核）" in refused.value.message
        )
        with pytest.raises(ReportError) as no_reason:
            set_period_lock(session, year, 2, finance, True, "", confirm_in_motion=True)
        assert no_reason.value.status == 422
        assert session.exec(select(PeriodLockEvent)).all() == []
        assert set_period_lock(session, year, 2, finance, True, "审计进场，先行封存", confirm_in_motion=True)
        event = session.exec(select(PeriodLockEvent)).one()
        assert (event.action, event.actor, event.reason) == ("lock", "caiwu", "审计进场，先行封存")


def test_drafts_alone_do_not_block_and_accepted_reports_are_not_listed(engine):
    with session_scope(engine) as session:
        _submit(session, "XXH", "xxh")
        transition(session, load_scope(session, 2025, "XXH", 2), _user(session, "caiwu"), "accept")
    clock.set_today(date(2025, 7, 11))
    with session_scope(engine) as session:
        year = session.exec(select(FiscalYear)).one()
        check = lock_check(session, year, 2)
        assert "XXH" not in {o.division_code for o in check.outstanding} and check.in_motion == []
        assert set_period_lock(session, year, 2, _user(session, "caiwu"), True)


def test_the_confirmation_page_lists_every_report_not_accepted(client_as, app):
    clock.set_today(date(2025, 7, 3))
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        _submit(session, "XXH", "xxh")
    clock.set_today(date(2025, 7, 11))
    finance = client_as("caiwu")
    overview = finance.get("/reports?year=2025").get_data(as_text=True)
    assert 'href="/periods/2025Q2/lock"' in overview
    assert "/periods/2025Q3/lock" not in overview and "2025-10-11 起可锁定" in overview
    page = finance.get("/periods/2025Q2/lock").get_data(as_text=True)
    assert 'data-division="XXH"' in page and "已提交待审核" in page and "财务处将不能再审核通过或退回" in page
    assert 'name="confirm"' in page and 'name="reason"' in page
    refused = finance.post("/periods/2025Q2/lock", data={}, follow_redirects=True).get_data(as_text=True)
    assert "还有 1 份报告未审核完毕" in refused and 'id="lock-form"' in refused  # back on the confirmation
    locked = finance.post(
        "/periods/2025Q2/lock", data={"confirm": "1", "reason": "年中检查"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "2025年第2季度已锁定" in locked and "原因：年中检查" in locked


def test_the_confirmation_page_refuses_an_early_lock(client_as):
    clock.set_today(date(2025, 10, 20))
    page = client_as("caiwu").get("/periods/2025Q4/lock").get_data(as_text=True)
    assert "2026-01-11 起才能锁定" in page and 'id="lock-form"' not in page


def test_the_api_needs_confirm_and_a_reason_over_reports_in_motion(client_as, app):
    clock.set_today(date(2025, 7, 3))
    with session_scope(app.extensions["perftrack.engine"]) as session:
        _submit(session, "XXH", "xxh")
    finance = client_as("caiwu")
    early = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": True})
    assert early.status_code == 409 and "起才能锁定" in early.get_json()["message"]
    clock.set_today(date(2025, 7, 11))
    blocked = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": True})
    assert blocked.status_code == 409 and "电子商务和信息化处（已提交待审核）" in blocked.get_json()["message"]
    confirmed = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": True, "confirm": True, "reason": "封存"})
    assert confirmed.get_json() == {"period": "2025Q2", "locked": True, "changed": True}
