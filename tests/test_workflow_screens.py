"""Screens offer only what the viewer may do: every form a page shows is one the server would take
from that user (the same permission and workflow rules), on the demo year as on 2025-10-20."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.demo import DEMO_TODAY
from service.domain.permissions import TRANSITION_NEEDS, Action, can
from service.domain.vocabulary import ReportState
from service.domain.workflow import Situation, may_edit, may_take, next_step
from service.models import Division, FindingRow, Project, User

from .test_access import POLICY

# What an endpoint's POLICY need asks of the permission table (None: any logged-in user).
NEEDS = {
    "login": None,
    "read": Action.READ_TARGETS,
    "view": Action.VIEW_REPORT,
    "edit": Action.EDIT_REPORT,
    "sign": Action.SIGN_REPORT,
    "review": Action.REVIEW_REPORT,
    "targets": Action.MANAGE_TARGETS,
    "lock": Action.LOCK_PERIOD,
    "users": Action.MANAGE_USERS,
}
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)


@pytest.fixture
def seeded_url(demo_url):
    return demo_url


@pytest.fixture(autouse=True)
def _demo_day():
    clock.set_today(DEMO_TODAY)


def _posted_forms(page: str):
    """(action path, the values of its submit buttons named `action`) of every POST form."""
    for attributes, body in FORM.findall(page):
        if 'method="post"' not in attributes:
            continue
        action = re.search(r'action="([^"]+)"', attributes).group(1).split("?")[0]
        buttons = re.findall(r'<button[^>]*name="action"[^>]*value="([^"]+)"', body)
        yield action, buttons


def _offered_but_refused(app, user, page: str, division_id: int | None) -> list[str]:
    adapter = app.url_map.bind("localhost")
    refused = []
    for action, buttons in _posted_forms(page):
        endpoint, _args = adapter.match(action, method="POST")
        if endpoint in ("web.logout", "web.login"):
            continue
        need = NEEDS[POLICY[endpoint]]
        if need is not None and not can(user, need, division_id):
            refused.append(action)
        for button in buttons:
            if not can(user, TRANSITION_NEEDS[button], division_id):
                refused.append(f"{action} {button}")
    return refused


@pytest.mark.slow
def test_no_page_offers_a_form_the_server_would_refuse(app, client_as):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        kac = session.exec(select(Division).where(Division.code == "KAC")).one()
        project_with_findings = session.exec(
            select(Project.code)
            .join(FindingRow, FindingRow.project_id == Project.id)
            .where(Project.division_id == kac.id, FindingRow.state == "open")
        ).first()
        users = {u.username: u for u in session.exec(select(User)).all()}
        session.expunge_all()
    pages = [
        "/reports/KAC/2025Q3",  # submitted
        "/reports/KAC/2025Q2",  # accepted
        "/reports/KAC/2025Q4",  # not open yet
        f"/projects/{project_with_findings}",
        "/reports?year=2025",
        "/findings",
    ]
    checked = 0
    for username in ("admin", "caiwu", "shenji", "xxh", "kac", "kac-head"):
        client = client_as(username)
        for url in pages:
            response = client.get(url)
            if response.status_code == 403:
                continue
            assert response.status_code == 200, (username, url)
            assert _offered_but_refused(app, users[username], response.get_data(as_text=True), kac.id) == [], (
                username,
                url,
            )
            checked += 1
    assert checked >= 25


def test_finding_tools_only_for_those_who_settle_findings(app, client_as):
    with session_scope(app.extensions["perftrack.engine"]) as session:
        code = session.exec(
            select(Project.code).join(FindingRow, FindingRow.project_id == Project.id).where(FindingRow.state == "open")
        ).first()
    for username in ("shenji", "xxh", "kac"):
        page = client_as(username).get(f"/projects/{code}").get_data(as_text=True)
        assert "确认解读" not in page and "更正指标值" not in page, username
    page = client_as("caiwu").get(f"/projects/{code}").get_data(as_text=True)
    assert "确认解读" in page and "更正指标值" in page


def test_an_accepted_report_shows_no_return_banner_or_tools(client_as):
    finance = client_as("caiwu")
    page = finance.get("/reports/XXH/2025Q2").get_data(as_text=True)  # returned, fixed and accepted in the demo
    assert "已审核通过" in page
    assert 'id="return-notice"' not in page and 'name="rr-' not in page and ">退回修改<" not in page
    assert 'id="reopen-accepted"' in page  # the one reopening step the server allows, behind a confirmation
    assert 'id="reopen-accepted"' not in client_as("shenji").get("/reports/XXH/2025Q2").get_data(as_text=True)


def test_a_submitted_report_offers_review_to_finance_only(client_as):
    finance = client_as("caiwu").get("/reports/KAC/2025Q3").get_data(as_text=True)
    assert 'value="accept"' in finance and 'value="return"' in finance and 'name="rr-' in finance
    for username in ("shenji", "kac", "kac-head", "admin"):
        page = client_as(username).get("/reports/KAC/2025Q3").get_data(as_text=True)
        assert 'value="accept"' not in page and 'name="rr-' not in page, username


def test_q4_is_read_only_until_it_opens(client_as):
    page = client_as("kac").get("/reports/KAC/2025Q4").get_data(as_text=True)
    assert 'name="then"' not in page and 'name="v-' not in page
    assert "本期间尚未开放填报" in page and "2025-12-31 起开放" in page
    clock.set_today(date(2025, 12, 31))
    assert 'name="then"' in client_as("kac").get("/reports/KAC/2025Q4").get_data(as_text=True)


def test_the_rules_of_the_workflow_in_one_place():
    class Someone:
        def __init__(self, role, division_id=1):
            self.role, self.division_id, self.active = role, division_id, True

    reporter, head, finance, auditor = (
        Someone("reporter"),
        Someone("head"),
        Someone("finance", None),
        Someone("auditor"),
    )
    draft = Situation(1, ReportState.DRAFT, True, True, False)
    assert may_edit(reporter, draft) and not may_edit(finance, draft) and not may_edit(auditor, draft)
    assert not may_take(reporter, draft, "submit") and may_take(head, draft, "submit")  # the head signs by submitting
    assert may_take(head, draft, "sign") and not may_take(reporter, draft, "sign")
    signed = Situation(1, ReportState.SIGNED, True, True, False)
    assert may_take(reporter, signed, "submit") and not may_take(head, signed, "sign")
    accepted = Situation(1, ReportState.ACCEPTED, False, True, False)
    assert may_take(finance, accepted, "return") and not may_take(finance, accepted, "accept")
    assert not may_edit(reporter, accepted)
    locked = Situation(1, ReportState.SUBMITTED, False, True, True)
    assert not may_take(finance, locked, "accept") and "期间已锁定" in next_step(locked)
    assert not may_edit(reporter, Situation(1, ReportState.DRAFT, False, False, False))
    assert next_step(Situation(1, ReportState.SUBMITTED, False, True, False)) == "等待财务处审核（审核通过或退回修改）"
    assert "送处室负责人签认" in next_step(draft)
