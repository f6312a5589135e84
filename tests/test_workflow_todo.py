"""我的待办 per role on the demo year (2025-10-20), and the long report page's aids: progress,
problems listed on demand, a jump list and, for finance, a summary and a problems-only filter."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_PASSWORD, DEMO_TODAY
from service.models import User
from service.todo import todo_of

from .conftest import PASSWORD, statements_run


@pytest.fixture
def seeded_url(demo_url):
    return demo_url


@pytest.fixture(autouse=True)
def _demo_day():
    clock.set_today(DEMO_TODAY)


def _as(app, username):
    client = app.test_client()
    with session_scope(app.extensions["perftrack.engine"]) as session:
        seeded = session.exec(select(User).where(User.username == username)).one().display_name == username
    response = client.post("/login", data={"username": username, "password": PASSWORD if seeded else DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def _todo(app, username):
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        return todo_of(session, user, DEMO_TODAY)


def test_login_lands_on_my_tasks(app):
    client = _as(app, "caiwu")
    assert client.get("/").headers["Location"] == "/todo"
    assert 'id="nav-todo"' in client.get("/todo").get_data(as_text=True)


def test_finance_sees_reports_to_review_returns_overdue_and_periods_to_lock(app):
    todo = _todo(app, "caiwu")
    assert {(t.division_code, t.period.code) for t in todo.reports} == {
        ("XXH", "2025Q3"),
        ("KAC", "2025Q3"),
        ("WZC", "2025Q3"),
        ("BGS", "2025Q3"),
    }
    assert [(t.division_code, t.period.code) for t in todo.returns] == [("NMC", "2025Q3")]
    assert ("WMC", "2025Q3") in {(t.division_code, t.period.code) for t in todo.overdue}
    assert [(lock.period.code, lock.in_motion) for lock in todo.locks] == [
        ("2025Q1", 0),
        ("2025Q2", 0),
        ("2025Q3", 5),
    ]
    assert todo.blockers is None and sum(todo.findings.values()) > 0
    page = _as(app, "caiwu").get("/todo").get_data(as_text=True)
    assert 'id="to-review"' in page and 'href="/reports/KAC/2025Q3"' in page and 'href="/periods/2025Q3/lock"' in page


def test_finance_tasks_read_each_report_not_what_it_covers(app):
    """Finance's list has a line for every division's report: reading each report's indicators and projects to
    draw a line made the page slower with every division (seconds for the demo year on a small machine)."""
    with statements_run(app.extensions["perftrack.engine"]) as statements:
        todo = _todo(app, "caiwu")
    assert len(todo.reports) + len(todo.returns) + len(todo.overdue) >= 6
    assert not [s for s in statements if "FROM indicator" in s or "JOIN indicator" in s]


def test_a_reporter_sees_the_returned_report_with_what_is_missing(app):
    todo = _todo(app, "nmc")
    assert [(t.period.code, t.state) for t in todo.returns] == [("2025Q3", "returned")]
    assert todo.reports == [] and todo.returns[0].missing == 0
    assert "财务处已退回" in todo.returns[0].next_step
    wmc = _todo(app, "wmc")
    assert [(t.period.code, t.state, t.days_late) for t in wmc.reports] == [("2025Q3", "draft", 10)]
    page = _as(app, "wmc").get("/todo").get_data(as_text=True)
    assert "已逾期 10 天" in page and 'id="open-reports"' in page


def test_the_head_sees_what_waits_for_a_signature(app):
    kac = _as(app, "kac")
    assert _todo(app, "kac-head").signoffs == []
    clock.set_today(DEMO_TODAY)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        from service.reporting.reports import load_scope, transition

        scope = load_scope(session, 2025, "KAC", 3)
        transition(session, scope, session.exec(select(User).where(User.username == "caiwu")).one(), "return", "补充")
    assert "request-signoff" in kac.get("/reports/KAC/2025Q3").get_data(as_text=True)
    kac.post("/reports/KAC/2025Q3/request-signoff")
    signoffs = _todo(app, "kac-head").signoffs
    assert [(t.period.code, t.signoff_requested) for t in signoffs] == [("2025Q3", True)]
    assert 'id="signoffs"' in _as(app, "kac-head").get("/todo").get_data(as_text=True)


def test_auditors_have_nothing_to_do(app):
    page = _as(app, "shenji").get("/todo").get_data(as_text=True)
    assert 'id="nothing"' in page and "不需要处理报告" in page


def test_the_check_lists_what_is_missing_and_jumps_to_it(app):
    from service.models import Division, Indicator, Project

    with session_scope(app.extensions["perftrack.engine"]) as session:
        code = session.exec(
            select(Indicator.code)
            .join(Project, Project.id == Indicator.project_id)
            .join(Division, Division.id == Project.division_id)
            .where(Division.code == "WMC", Indicator.kind == "numeric")
            .order_by(Indicator.code)
        ).first()
    wmc = _as(app, "wmc")
    wmc.post("/reports/WMC/2025Q3/save", data={f"v-{code}": "", f"l-{code}": ""})  # the draft loses one value
    assert _todo(app, "wmc").reports[0].missing >= 1
    assert 'href="/reports/WMC/2025Q3?check=1"' in wmc.get("/todo").get_data(as_text=True)
    page = wmc.get("/reports/WMC/2025Q3?check=1").get_data(as_text=True)
    problems = page.split('id="problem-list"')[1].split("</div>")[0]
    assert f'href="#i-{code}"' in problems and "请填写实际完成值" in problems
    assert f'href="#i-{code}" id="first-problem"' in page
    assert 'id="progress"' in page and 'id="toolbar-progress"' in page and 'id="jump-list"' in page


def test_finance_review_summary_and_problems_only_filter(app):
    page = _as(app, "caiwu").get("/reports/KAC/2025Q3").get_data(as_text=True)
    assert 'id="behind-count"' in page and 'data-problems-filter="report-table"' in page
    assert 'id="review-actions"' in page and "sticky-actions" in page
    problem_rows = page.count('class="indicator problem')
    assert problem_rows > 0 and "只看有问题的行（" in page
