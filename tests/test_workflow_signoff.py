"""Sign-off made visible: the reporter sends the report to the head (who is told), the state line says
who acts next, an edit after sign-off asks before it voids the signature, and a return stays in view
for everyone who acts on the report until it is resubmitted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.models import Alert, Notification, Report, User
from service.reporting.reports import load_scope, save

from .reporting_helpers import complete_rows

CODE = "2025-010.01"  # 口岸管理处, a count


@pytest.fixture(autouse=True)
def _july():
    clock.set_today(date(2025, 7, 3))


def _fill_kac(app) -> None:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        scope = load_scope(session, 2025, "KAC", 2)
        actuals, spend = complete_rows(scope, date(2025, 6, 30))
        user = session.exec(select(User).where(User.username == "kac")).one()
        save(session, scope, user, actuals, spend, "test")


def _notices(app, username: str, kind: str) -> list[str]:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return list(
            session.exec(
                select(Alert.message)
                .join(Notification, Notification.alert_id == Alert.id)
                .join(User, User.id == Notification.user_id)
                .where(User.username == username, Alert.kind == kind, Notification.channel == "inbox")
            ).all()
        )


def _state(app) -> str:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return session.exec(select(Report.state).where(Report.quarter == 2)).one()


def test_the_reporter_sends_the_report_to_the_head_who_is_told(app, client_as):
    kac, head = client_as("kac"), client_as("kac-head")
    empty = kac.post("/reports/KAC/2025Q2/request-signoff", follow_redirects=True)
    assert empty.status_code == 422 and "报告尚未填写完整" in empty.get_data(as_text=True)
    assert _notices(app, "kac-head", "signoff_requested") == []
    _fill_kac(app)
    page = kac.get("/reports/KAC/2025Q2").get_data(as_text=True)
    assert 'id="request-signoff"' in page and 'value="submit"' not in page
    assert "填写完整后送处室负责人签认，签认后由填报人提交财务处" in page
    sent = kac.post("/reports/KAC/2025Q2/request-signoff", follow_redirects=True).get_data(as_text=True)
    assert "已送处室负责人签认，负责人已收到通知" in sent and "等待负责人签认" in sent
    assert 'id="request-signoff"' not in sent and 'id="signoff-requested"' in sent
    again = kac.post("/reports/KAC/2025Q2/request-signoff", follow_redirects=True).get_data(as_text=True)
    assert "报告已在等待处室负责人签认" in again
    assert _notices(app, "kac-head", "signoff_requested") == [
        "2025年第2季度绩效监控报告已填写完整，kac请您签认（截止 2025-07-10）"
    ]
    assert _notices(app, "kac", "signoff_requested") == [] and _notices(app, "caiwu", "signoff_requested") == []
    head_page = head.get("/reports/KAC/2025Q2").get_data(as_text=True)
    assert 'value="sign"' in head_page and 'id="request-signoff"' not in head_page
    head.post("/reports/KAC/2025Q2/action", data={"action": "sign"})
    assert _state(app) == "signed"
    signed = kac.get("/reports/KAC/2025Q2").get_data(as_text=True)
    assert "等待处室填报人提交财务处" in signed and 'value="submit"' in signed


def test_an_edit_after_sign_off_asks_before_it_voids_the_signature(app, client_as):
    _fill_kac(app)
    kac, head = client_as("kac"), client_as("kac-head")
    head.post("/reports/KAC/2025Q2/action", data={"action": "sign"})
    assert 'id="signed-hint"' in kac.get("/reports/KAC/2025Q2").get_data(as_text=True)
    typed = {f"v-{CODE}": "9", f"l-{CODE}": "确定能"}
    asked = kac.post("/reports/KAC/2025Q2/save", data=typed)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "保存这些修改将撤销签认" in page
    assert 'id="confirm-void"' in page and 'value="9"' in page  # what was typed is kept
    assert _state(app) == "signed"
    done = kac.post("/reports/KAC/2025Q2/save", data=typed | {"void_signoff": "1"}, follow_redirects=True)
    assert "负责人签认已撤销，请重新送处室负责人签认" in done.get_data(as_text=True)
    assert _state(app) == "draft"


def test_a_return_stays_in_view_for_everyone_until_it_is_resubmitted(app, client_as):
    _fill_kac(app)
    kac, head, finance = client_as("kac"), client_as("kac-head"), client_as("caiwu")
    head.post("/reports/KAC/2025Q2/action", data={"action": "sign"})
    kac.post("/reports/KAC/2025Q2/action", data={"action": "submit"})
    finance.post("/reports/KAC/2025Q2/action", data={"action": "return", f"rr-{CODE}": "次数与记录不符"})
    assert _notices(app, "kac", "returned") and _notices(app, "kac-head", "returned")
    for client in (kac, head, finance):
        page = client.get("/reports/KAC/2025Q2").get_data(as_text=True)
        assert 'id="return-notice"' in page and "退回原因：次数与记录不符" in page
    kac.post("/reports/KAC/2025Q2/save", data={f"v-{CODE}": "9", f"l-{CODE}": "确定能"})
    head.post("/reports/KAC/2025Q2/action", data={"action": "sign"})
    assert _state(app) == "signed"
    for client in (kac, head):  # signed, not yet resubmitted: the return is still what they answer
        page = client.get("/reports/KAC/2025Q2").get_data(as_text=True)
        assert 'id="return-notice"' in page and "退回原因：次数与记录不符" in page
    kac.post("/reports/KAC/2025Q2/action", data={"action": "submit"})
    assert 'id="return-notice"' in finance.get("/reports/KAC/2025Q2").get_data(as_text=True)  # reviewing it
    assert 'id="return-notice"' not in kac.get("/reports/KAC/2025Q2").get_data(as_text=True)
    finance.post("/reports/KAC/2025Q2/action", data={"action": "accept"})
    for client in (kac, head, finance):
        assert 'id="return-notice"' not in client.get("/reports/KAC/2025Q2").get_data(as_text=True)
